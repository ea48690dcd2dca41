#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/header.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

/* Metadata v12, correlation id 42, client "tern". */
static const uint8_t request_v1_bytes[] = {
	0x00, 0x03, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x04, 't', 'e', 'r', 'n',
};

static void request_header__v1_layout(void **state)
{
	struct kreader r;
	struct request_header h;
	kr_init(&r, request_v1_bytes, sizeof request_v1_bytes);
	assert_int_equal(request_header_decode(&r, 1, &h), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(h.api_key, 3);
	assert_int_equal(h.api_version, 12);
	assert_int_equal(h.correlation_id, 42);
	assert_true(kstr_eq(h.client_id, "tern"));

	struct kwriter w;
	kw_init(&w, 4);
	request_header_encode(&w, 1, &h);
	assert_int_equal(w.len, sizeof request_v1_bytes);
	assert_memory_equal(w.buf, request_v1_bytes, w.len);
	kw_free(&w);
}

static void request_header__v2_keeps_classic_client_id(void **state)
{
	/* KIP-482: the client id stays INT16-prefixed; a tag section follows. */
	uint8_t b[sizeof request_v1_bytes + 1];
	memcpy(b, request_v1_bytes, sizeof request_v1_bytes);
	b[sizeof request_v1_bytes] = 0x00;
	struct kreader r;
	struct request_header h;
	kr_init(&r, b, sizeof b);
	assert_int_equal(request_header_decode(&r, 2, &h), 0);
	assert_int_equal(r.left, 0);
	assert_true(kstr_eq(h.client_id, "tern"));

	struct kwriter w;
	kw_init(&w, 4);
	request_header_encode(&w, 2, &h);
	assert_int_equal(w.len, sizeof b);
	assert_memory_equal(w.buf, b, w.len);
	kw_free(&w);

	/* Null client id, and a tag section holding an unknown tag. */
	uint8_t c[] = {0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x01, 0x05, 0x02, 0xaa, 0xbb};
	kr_init(&r, c, sizeof c);
	assert_int_equal(request_header_decode(&r, 2, &h), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(h.client_id.len, -1);
	assert_null(h.client_id.p);
}

static void request_header__v0_has_no_client_id(void **state)
{
	struct request_header h = {.api_key = 7, .api_version = 0, .correlation_id = -5,
				   .client_id = {"x", 1}};
	struct kwriter w;
	kw_init(&w, 4);
	request_header_encode(&w, 0, &h);
	assert_int_equal(w.len, 8);
	struct kreader r;
	struct request_header got;
	kr_init(&r, w.buf, w.len);
	assert_int_equal(request_header_decode(&r, 0, &got), 0);
	assert_int_equal(got.correlation_id, -5);
	assert_int_equal(got.client_id.len, -1);
	kw_free(&w);
}

static void request_header__truncated_fails(void **state)
{
	uint8_t b[sizeof request_v1_bytes + 1];
	memcpy(b, request_v1_bytes, sizeof request_v1_bytes);
	b[sizeof request_v1_bytes] = 0x00;
	for (int16_t hv = 1; hv <= 2; hv++) {
		size_t full = hv == 2 ? sizeof b : sizeof request_v1_bytes;
		for (size_t n = 0; n < full; n++) {
			uint8_t *c = malloc(n ? n : 1);
			assert_non_null(c);
			memcpy(c, b, n);
			struct kreader r;
			struct request_header h;
			kr_init(&r, c, n);
			assert_int_equal(request_header_decode(&r, hv, &h), -1);
			free(c);
		}
	}
	/* A client id longer than the frame, and a negative one other than -1. */
	uint8_t long_id[] = {0, 3, 0, 12, 0, 0, 0, 1, 0x7f, 0xff, 'a'};
	uint8_t neg_id[] = {0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xfe};
	struct kreader r;
	struct request_header h;
	kr_init(&r, long_id, sizeof long_id);
	assert_int_equal(request_header_decode(&r, 1, &h), -1);
	kr_init(&r, neg_id, sizeof neg_id);
	assert_int_equal(request_header_decode(&r, 1, &h), -1);
}

static void response_header__layout(void **state)
{
	struct kwriter w;
	kw_init(&w, 4);
	response_header_encode(&w, 0, 0x01020304);
	response_header_encode(&w, 1, 7);
	static const uint8_t want[] = {1, 2, 3, 4, 0, 0, 0, 7, 0};
	assert_int_equal(w.len, sizeof want);
	assert_memory_equal(w.buf, want, sizeof want);

	struct kreader r;
	int32_t corr;
	kr_init(&r, w.buf, w.len);
	assert_int_equal(response_header_decode(&r, 0, &corr), 0);
	assert_int_equal(corr, 0x01020304);
	assert_int_equal(response_header_decode(&r, 1, &corr), 0);
	assert_int_equal(corr, 7);
	assert_int_equal(r.left, 0);
	kr_init(&r, w.buf, 3);
	assert_int_equal(response_header_decode(&r, 0, &corr), -1);
	kr_init(&r, want + 4, 4);
	assert_int_equal(response_header_decode(&r, 1, &corr), -1);
	kw_free(&w);
}

static void request_header__peek(void **state)
{
	int16_t key = 0, version = 0;
	assert_int_equal(request_header_peek(request_v1_bytes, sizeof request_v1_bytes, &key, &version), 0);
	assert_int_equal(key, 3);
	assert_int_equal(version, 12);
	assert_int_equal(request_header_peek(request_v1_bytes, 3, &key, &version), -1);
	assert_int_equal(request_header_peek(NULL, 0, &key, &version), -1);
	uint8_t neg[] = {0xff, 0xff, 0x80, 0x00};
	assert_int_equal(request_header_peek(neg, 4, &key, &version), 0);
	assert_int_equal(key, -1);
	assert_int_equal(version, INT16_MIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_header__v1_layout),
		cmocka_unit_test(request_header__v2_keeps_classic_client_id),
		cmocka_unit_test(request_header__v0_has_no_client_id),
		cmocka_unit_test(request_header__truncated_fails),
		cmocka_unit_test(response_header__layout),
		cmocka_unit_test(request_header__peek),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
