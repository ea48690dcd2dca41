/* Fuzz target for the fetch codec: the first two bytes pick a version in
 * [FETCH_MIN_VERSION, FETCH_MAX_VERSION], the rest is decoded as a request
 * body and, separately, as a response body. Whatever decodes must re-encode
 * to bytes that decode again and re-encode identically, and a response
 * encoded with holes for its record sets must give the same bytes once the
 * record sets are put back at the holes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/fetch.h"

static void fuzz_fetch_request(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct fetch_request a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (fetch_request_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	fetch_request_encode(&w1, v, &a);
	fetch_request_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (fetch_request_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	fetch_request_encode(&w2, v, &b);
	fetch_request_free(&b);
	if (w2.len != w1.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len) != 0))
		abort();
	kw_free(&w1);
	kw_free(&w2);
}

/* fetch_response_encode_holes + the record sets at their holes == `whole`. */
static void fetch_response_check_holes(int16_t v, const struct fetch_response *in, const struct kwriter *whole)
{
	size_t nsets = fetch_response_record_sets(in);
	size_t *holes = malloc((nsets + 1) * sizeof *holes);
	struct kwriter w;
	if (holes == NULL)
		return;
	kw_init(&w, 64);
	if (fetch_response_encode_holes(&w, v, in, holes) != nsets || !kw_ok(&w) || !kw_ok(whole))
		abort();
	size_t prev = 0, at = 0, k = 0;
	for (int32_t i = 0; i < in->responses_count; i++)
		for (int32_t j = 0; j < in->responses[i].partitions_count; j++) {
			const struct kbytes *rec = &in->responses[i].partitions[j].records;
			if (rec->len <= 0)
				continue;
			size_t gap = holes[k] - prev;
			if (holes[k] < prev || at + gap + (size_t)rec->len > whole->len ||
			    memcmp(whole->buf + at, w.buf + prev, gap) != 0 ||
			    memcmp(whole->buf + at + gap, rec->p, (size_t)rec->len) != 0)
				abort();
			at += gap + (size_t)rec->len;
			prev = holes[k++];
		}
	if (w.len - prev != whole->len - at || memcmp(whole->buf + at, w.buf + prev, w.len - prev) != 0)
		abort();
	kw_free(&w);
	free(holes);
}

static void fuzz_fetch_response(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct fetch_response a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (fetch_response_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	fetch_response_encode(&w1, v, &a);
	fetch_response_check_holes(v, &a, &w1);
	fetch_response_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (fetch_response_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	fetch_response_encode(&w2, v, &b);
	fetch_response_free(&b);
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
	int16_t v = (int16_t)(FETCH_MIN_VERSION + sel % (FETCH_MAX_VERSION - FETCH_MIN_VERSION + 1));
	fuzz_fetch_request(v, data + 2, size - 2);
	fuzz_fetch_response(v, data + 2, size - 2);
	return 0;
}
