/* Fuzz target for the CreatePartitions codec: the first 2 bytes pick a version in
 * [MIN, MAX], the rest is a request body and, separately, a response body.
 * Whatever decodes must re-encode, and encoding is a fixed point: decoding
 * the re-encoded bytes and encoding again gives the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/create_partitions.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

static void fuzz_create_partitions_check_fixed_point(const struct kwriter *a, const struct kwriter *b)
{
	if (a->err || b->err)
		return; /* out of memory: nothing to compare */
	if (a->len != b->len || memcmp(a->buf, b->buf, a->len) != 0)
		abort();
}

static void fuzz_create_partitions_request(int16_t version, const uint8_t *body, size_t len)
{
	struct kreader r;
	struct create_partitions_request req, again;
	struct kwriter w1, w2;

	kr_init(&r, body, len);
	if (create_partitions_request_decode(&r, version, &req) != 0)
		return;
	kw_init(&w1, 64);
	create_partitions_request_encode(&w1, version, &req);
	create_partitions_request_free(&req);
	if (w1.err) {
		kw_free(&w1);
		return;
	}
	kr_init(&r, w1.buf, w1.len);
	if (create_partitions_request_decode(&r, version, &again) != 0 || r.left != 0)
		abort(); /* our own encoding must decode, exactly */
	kw_init(&w2, 64);
	create_partitions_request_encode(&w2, version, &again);
	fuzz_create_partitions_check_fixed_point(&w1, &w2);
	create_partitions_request_free(&again);
	kw_free(&w2);
	kw_free(&w1);
}

static void fuzz_create_partitions_response(int16_t version, const uint8_t *body, size_t len)
{
	struct kreader r;
	struct create_partitions_response resp, again;
	struct kwriter w1, w2;

	kr_init(&r, body, len);
	if (create_partitions_response_decode(&r, version, &resp) != 0)
		return;
	kw_init(&w1, 64);
	create_partitions_response_encode(&w1, version, &resp);
	create_partitions_response_free(&resp);
	if (w1.err) {
		kw_free(&w1);
		return;
	}
	kr_init(&r, w1.buf, w1.len);
	if (create_partitions_response_decode(&r, version, &again) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	create_partitions_response_encode(&w2, version, &again);
	fuzz_create_partitions_check_fixed_point(&w1, &w2);
	create_partitions_response_free(&again);
	kw_free(&w2);
	kw_free(&w1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned span = CREATE_PARTITIONS_MAX_VERSION - CREATE_PARTITIONS_MIN_VERSION + 1;
	int16_t version = (int16_t)(CREATE_PARTITIONS_MIN_VERSION + (((unsigned)data[0] << 8 | data[1]) % span));
	fuzz_create_partitions_request(version, data + 2, size - 2);
	fuzz_create_partitions_response(version, data + 2, size - 2);
	return 0;
}
