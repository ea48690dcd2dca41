/* Fuzz target for the IncrementalAlterConfigs codec: the first 2 bytes pick a version in
 * [MIN, MAX], the rest is a request body and, separately, a response body.
 * Whatever decodes must re-encode, and encoding is a fixed point: decoding
 * the re-encoded bytes and encoding again gives the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/incremental_alter_configs.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

static void fuzz_incremental_alter_configs_check_fixed_point(const struct kwriter *a, const struct kwriter *b)
{
	if (a->err || b->err)
		return; /* out of memory: nothing to compare */
	if (a->len != b->len || memcmp(a->buf, b->buf, a->len) != 0)
		abort();
}

static void fuzz_incremental_alter_configs_request(int16_t version, const uint8_t *body, size_t len)
{
	struct kreader r;
	struct incremental_alter_configs_request req, again;
	struct kwriter w1, w2;

	kr_init(&r, body, len);
	if (incremental_alter_configs_request_decode(&r, version, &req) != 0)
		return;
	kw_init(&w1, 64);
	incremental_alter_configs_request_encode(&w1, version, &req);
	incremental_alter_configs_request_free(&req);
	if (w1.err) {
		kw_free(&w1);
		return;
	}
	kr_init(&r, w1.buf, w1.len);
	if (incremental_alter_configs_request_decode(&r, version, &again) != 0 || r.left != 0)
		abort(); /* our own encoding must decode, exactly */
	kw_init(&w2, 64);
	incremental_alter_configs_request_encode(&w2, version, &again);
	fuzz_incremental_alter_configs_check_fixed_point(&w1, &w2);
	incremental_alter_configs_request_free(&again);
	kw_free(&w2);
	kw_free(&w1);
}

static void fuzz_incremental_alter_configs_response(int16_t version, const uint8_t *body, size_t len)
{
	struct kreader r;
	struct incremental_alter_configs_response resp, again;
	struct kwriter w1, w2;

	kr_init(&r, body, len);
	if (incremental_alter_configs_response_decode(&r, version, &resp) != 0)
		return;
	kw_init(&w1, 64);
	incremental_alter_configs_response_encode(&w1, version, &resp);
	incremental_alter_configs_response_free(&resp);
	if (w1.err) {
		kw_free(&w1);
		return;
	}
	kr_init(&r, w1.buf, w1.len);
	if (incremental_alter_configs_response_decode(&r, version, &again) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	incremental_alter_configs_response_encode(&w2, version, &again);
	fuzz_incremental_alter_configs_check_fixed_point(&w1, &w2);
	incremental_alter_configs_response_free(&again);
	kw_free(&w2);
	kw_free(&w1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned span = INCREMENTAL_ALTER_CONFIGS_MAX_VERSION - INCREMENTAL_ALTER_CONFIGS_MIN_VERSION + 1;
	int16_t version = (int16_t)(INCREMENTAL_ALTER_CONFIGS_MIN_VERSION + (((unsigned)data[0] << 8 | data[1]) % span));
	fuzz_incremental_alter_configs_request(version, data + 2, size - 2);
	fuzz_incremental_alter_configs_response(version, data + 2, size - 2);
	return 0;
}
