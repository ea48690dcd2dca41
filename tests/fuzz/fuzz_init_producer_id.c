/* Fuzz target for the InitProducerId codec. The first two bytes pick a version in
 * [INIT_PRODUCER_ID_MIN_VERSION, INIT_PRODUCER_ID_MAX_VERSION];
 * the rest is decoded as a request body and, separately, as a response
 * body. Whatever decodes must re-encode to bytes that decode again and
 * re-encode identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/init_producer_id.h"

static void fuzz_init_producer_id_request(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct init_producer_id_request a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (init_producer_id_request_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	init_producer_id_request_encode(&w1, v, &a);
	init_producer_id_request_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (init_producer_id_request_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	init_producer_id_request_encode(&w2, v, &b);
	init_producer_id_request_free(&b);
	if (w2.len != w1.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len) != 0))
		abort();
	kw_free(&w1);
	kw_free(&w2);
}

static void fuzz_init_producer_id_response(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct init_producer_id_response a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (init_producer_id_response_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	init_producer_id_response_encode(&w1, v, &a);
	init_producer_id_response_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (init_producer_id_response_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	init_producer_id_response_encode(&w2, v, &b);
	init_producer_id_response_free(&b);
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
	unsigned span = INIT_PRODUCER_ID_MAX_VERSION - INIT_PRODUCER_ID_MIN_VERSION + 1;
	int16_t v = (int16_t)(INIT_PRODUCER_ID_MIN_VERSION + sel % span);
	fuzz_init_producer_id_request(v, data + 2, size - 2);
	fuzz_init_producer_id_response(v, data + 2, size - 2);
	return 0;
}
