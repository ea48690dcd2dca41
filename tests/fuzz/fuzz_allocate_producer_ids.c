/* Fuzz target for the AllocateProducerIds codec. The first two bytes pick a version in
 * [ALLOCATE_PRODUCER_IDS_MIN_VERSION, ALLOCATE_PRODUCER_IDS_MAX_VERSION];
 * the rest is decoded as a request body and, separately, as a response
 * body. Whatever decodes must re-encode to bytes that decode again and
 * re-encode identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/allocate_producer_ids.h"

static void fuzz_allocate_producer_ids_request(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct allocate_producer_ids_request a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (allocate_producer_ids_request_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	allocate_producer_ids_request_encode(&w1, v, &a);
	allocate_producer_ids_request_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (allocate_producer_ids_request_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	allocate_producer_ids_request_encode(&w2, v, &b);
	allocate_producer_ids_request_free(&b);
	if (w2.len != w1.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len) != 0))
		abort();
	kw_free(&w1);
	kw_free(&w2);
}

static void fuzz_allocate_producer_ids_response(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct allocate_producer_ids_response a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (allocate_producer_ids_response_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	allocate_producer_ids_response_encode(&w1, v, &a);
	allocate_producer_ids_response_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (allocate_producer_ids_response_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	allocate_producer_ids_response_encode(&w2, v, &b);
	allocate_producer_ids_response_free(&b);
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
	unsigned span = ALLOCATE_PRODUCER_IDS_MAX_VERSION - ALLOCATE_PRODUCER_IDS_MIN_VERSION + 1;
	int16_t v = (int16_t)(ALLOCATE_PRODUCER_IDS_MIN_VERSION + sel % span);
	fuzz_allocate_producer_ids_request(v, data + 2, size - 2);
	fuzz_allocate_producer_ids_response(v, data + 2, size - 2);
	return 0;
}
