/* Fuzz target for the produce codec: the first two bytes pick a version in
 * [PRODUCE_MIN_VERSION, PRODUCE_MAX_VERSION], the rest is decoded as a request
 * body and, separately, as a response body. Whatever decodes must re-encode
 * to bytes that decode again and re-encode identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/produce.h"

static void fuzz_produce_request(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct produce_request a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (produce_request_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	produce_request_encode(&w1, v, &a);
	produce_request_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (produce_request_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	produce_request_encode(&w2, v, &b);
	produce_request_free(&b);
	if (w2.len != w1.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len) != 0))
		abort();
	kw_free(&w1);
	kw_free(&w2);
}

static void fuzz_produce_response(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct produce_response a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (produce_response_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	produce_response_encode(&w1, v, &a);
	produce_response_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (produce_response_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	produce_response_encode(&w2, v, &b);
	produce_response_free(&b);
	if (w2.len != w1.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len) != 0))
		abort();
	kw_free(&w1);
	kw_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned sel = ((unsigned)data[0] << 8) | data[1];
	int16_t v = (int16_t)(PRODUCE_MIN_VERSION + sel % (PRODUCE_MAX_VERSION - PRODUCE_MIN_VERSION + 1));
	fuzz_produce_request(v, data + 2, size - 2);
	fuzz_produce_response(v, data + 2, size - 2);
	return 0;
}
