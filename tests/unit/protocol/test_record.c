#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/record.h"

static struct kbytes bytes_of(const char *s)
{
	struct kbytes b = {(const uint8_t *)s, s ? (int32_t)strlen(s) : -1};
	return b;
}

static const struct kbytes null_bytes = {NULL, -1};

static void record__roundtrip_with_headers(void **state)
{
	struct record_header hs[3] = {
		{{"trace", 5}, {(const uint8_t *)"abc", 3}},
		{{"nil", 3}, {NULL, -1}},
		{{"", 0}, {(const uint8_t *)"", 0}},
	};
	struct kwriter w;
	kw_init(&w, 8);
	record_encode(&w, -7, 3, bytes_of("key"), bytes_of("value"), hs, 3);
	record_encode(&w, 0, 4, null_bytes, null_bytes, NULL, 0);
	assert_int_equal(w.err, 0);
	assert_int_equal(w.len, record_encoded_size(-7, 3, bytes_of("key"), bytes_of("value"), hs, 3) +
					record_encoded_size(0, 4, null_bytes, null_bytes, NULL, 0));

	struct kreader r;
	struct record rec;
	kr_init(&r, w.buf, w.len);
	assert_int_equal(record_decode(&r, &rec), RECORD_OK);
	assert_int_equal(rec.attributes, 0);
	assert_true(rec.timestamp_delta == -7);
	assert_int_equal(rec.offset_delta, 3);
	assert_int_equal(rec.key.len, 3);
	assert_memory_equal(rec.key.p, "key", 3);
	assert_int_equal(rec.value.len, 5);
	assert_memory_equal(rec.value.p, "value", 5);
	assert_int_equal(rec.headers_count, 3);

	struct record_header_iter it;
	struct record_header h;
	record_header_iter_init(&it, &rec);
	assert_true(record_header_iter_next(&it, &h));
	assert_true(kstr_eq(h.key, "trace"));
	assert_int_equal(h.value.len, 3);
	assert_true(record_header_iter_next(&it, &h));
	assert_true(kstr_eq(h.key, "nil"));
	assert_int_equal(h.value.len, -1);
	assert_true(record_header_iter_next(&it, &h));
	assert_int_equal(h.key.len, 0);
	assert_int_equal(h.value.len, 0);
	assert_false(record_header_iter_next(&it, &h));

	assert_int_equal(record_decode(&r, &rec), RECORD_OK);
	assert_int_equal(rec.key.len, -1);
	assert_int_equal(rec.value.len, -1);
	assert_int_equal(rec.headers_count, 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(r.err, 0);
	kw_free(&w);
}

/* Encodes a record, then lets the test patch its bytes. */
static size_t encode_one(uint8_t *out, size_t cap)
{
	struct kwriter w;
	kw_init(&w, 8);
	record_encode(&w, 1, 0, bytes_of("k"), bytes_of("v"), NULL, 0);
	assert_true(w.len <= cap);
	memcpy(out, w.buf, w.len);
	size_t n = w.len;
	kw_free(&w);
	return n;
}

static void record__length_overrunning_buffer_fails(void **state)
{
	uint8_t b[64];
	size_t n = encode_one(b, sizeof b);
	struct kreader r;
	struct record rec;
	kr_init(&r, b, n - 1);
	assert_int_equal(record_decode(&r, &rec), RECORD_EMALFORMED);
	assert_int_not_equal(r.err, 0);
}

static void record__fields_must_end_at_declared_length(void **state)
{
	uint8_t b[64];
	size_t n = encode_one(b, sizeof b);
	/* Declared length one more than the fields: a byte left over. */
	b[0] = (uint8_t)(b[0] + 2); /* zig-zag: +2 is +1 */
	b[n] = 0;
	struct kreader r;
	struct record rec;
	kr_init(&r, b, n + 1);
	assert_int_equal(record_decode(&r, &rec), RECORD_EMALFORMED);

	/* Declared length one less: the header count is cut off. */
	n = encode_one(b, sizeof b);
	b[0] = (uint8_t)(b[0] - 2);
	kr_init(&r, b, n);
	assert_int_equal(record_decode(&r, &rec), RECORD_EMALFORMED);
}

static void record__bad_header_fields_fail(void **state)
{
	/* length, attributes, ts, offset, key null, value null, headers... */
	uint8_t neg_count[] = {12, 0, 0, 0, 1, 1, 1 /* -1 headers */};
	neg_count[0] = (uint8_t)((sizeof neg_count - 1) * 2);
	struct kreader r;
	struct record rec;
	kr_init(&r, neg_count, sizeof neg_count);
	assert_int_equal(record_decode(&r, &rec), RECORD_EMALFORMED);

	uint8_t null_key[] = {0, 0, 0, 0, 1, 1, 2 /* 1 header */, 1 /* key -1 */, 1 /* value -1 */};
	null_key[0] = (uint8_t)((sizeof null_key - 1) * 2);
	kr_init(&r, null_key, sizeof null_key);
	assert_int_equal(record_decode(&r, &rec), RECORD_EMALFORMED);

	uint8_t huge_count[] = {0, 0, 0, 0, 1, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f};
	huge_count[0] = (uint8_t)((sizeof huge_count - 1) * 2);
	kr_init(&r, huge_count, sizeof huge_count);
	assert_int_equal(record_decode(&r, &rec), RECORD_EMALFORMED);

	uint8_t neg_len[] = {3 /* -2 */, 0, 0};
	kr_init(&r, neg_len, sizeof neg_len);
	assert_int_equal(record_decode(&r, &rec), RECORD_EMALFORMED);

	uint8_t bad_key_len[] = {0, 0, 0, 0, 3 /* key -2 */, 1, 0};
	bad_key_len[0] = (uint8_t)((sizeof bad_key_len - 1) * 2);
	kr_init(&r, bad_key_len, sizeof bad_key_len);
	assert_int_equal(record_decode(&r, &rec), RECORD_EMALFORMED);
}

static void record__empty_is_not_null(void **state)
{
	struct kbytes empty = {NULL, 0};
	struct kwriter w;
	kw_init(&w, 8);
	record_encode(&w, 0, 0, empty, empty, NULL, 0);
	struct kreader r;
	struct record rec;
	kr_init(&r, w.buf, w.len);
	assert_int_equal(record_decode(&r, &rec), RECORD_OK);
	assert_int_equal(rec.key.len, 0);
	assert_int_equal(rec.value.len, 0);
	kw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record__roundtrip_with_headers),
		cmocka_unit_test(record__length_overrunning_buffer_fails),
		cmocka_unit_test(record__fields_must_end_at_declared_length),
		cmocka_unit_test(record__bad_header_fields_fail),
		cmocka_unit_test(record__empty_is_not_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
