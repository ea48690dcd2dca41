/* Fuzz target for the DeleteTopics codec: the first 2 bytes pick a version in
 * [MIN, MAX], the rest is a request body and, separately, a response body.
 * Whatever decodes must re-encode, and encoding is a fixed point: decoding
 * the re-encoded bytes and encoding again gives the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/delete_topics.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

static void fuzz_delete_topics_check_fixed_point(const struct kwriter *a, const struct kwriter *b)
{
	if (a->err || b->err)
		return; /* out of memory: nothing to compare */
	if (a->len != b->len || memcmp(a->buf, b->buf, a->len) != 0)
		abort();
}

static void fuzz_delete_topics_request(int16_t version, const uint8_t *body, size_t len)
{
	struct kreader r;
	struct delete_topics_request req, again;
	struct kwriter w1, w2;

	kr_init(&r, body, len);
	if (delete_topics_request_decode(&r, version, &req) != 0)
		return;
	kw_init(&w1, 64);
	delete_topics_request_encode(&w1, version, &req);
	delete_topics_request_free(&req);
	if (w1.err) {
		kw_free(&w1);
		return;
	}
	kr_init(&r, w1.buf, w1.len);
	if (delete_topics_request_decode(&r, version, &again) != 0 || r.left != 0)
		abort(); /* our own encoding must decode, exactly */
	kw_init(&w2, 64);
	delete_topics_request_encode(&w2, version, &again);
	fuzz_delete_topics_check_fixed_point(&w1, &w2);
	delete_topics_request_free(&again);
	kw_free(&w2);
	kw_free(&w1);
}

static void fuzz_delete_topics_response(int16_t version, const uint8_t *body, size_t len)
{
	struct kreader r;
	struct delete_topics_response resp, again;
	struct kwriter w1, w2;

	kr_init(&r, body, len);
	if (delete_topics_response_decode(&r, version, &resp) != 0)
		return;
	kw_init(&w1, 64);
	delete_topics_response_encode(&w1, version, &resp);
	delete_topics_response_free(&resp);
	if (w1.err) {
		kw_free(&w1);
		return;
	}
	kr_init(&r, w1.buf, w1.len);
	if (delete_topics_response_decode(&r, version, &again) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	delete_topics_response_encode(&w2, version, &again);
	fuzz_delete_topics_check_fixed_point(&w1, &w2);
	delete_topics_response_free(&again);
	kw_free(&w2);
	kw_free(&w1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned span = DELETE_TOPICS_MAX_VERSION - DELETE_TOPICS_MIN_VERSION + 1;
	int16_t version = (int16_t)(DELETE_TOPICS_MIN_VERSION + (((unsigned)data[0] << 8 | data[1]) % span));
	fuzz_delete_topics_request(version, data + 2, size - 2);
	fuzz_delete_topics_response(version, data + 2, size - 2);
	return 0;
}
