#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "broker/protocol/crc32c.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

static void kreader__roundtrip_scalars(void **state)
{
	struct kwriter w;
	kw_init(&w, 4);
	kw_i8(&w, -3);
	kw_i16(&w, -300);
	kw_i32(&w, 123456789);
	kw_i64(&w, -9876543210LL);
	kw_uvarint(&w, 300);
	kw_varint(&w, -64);
	kw_varlong(&w, INT64_MIN);
	kw_compact_string(&w, "abc", 3);
	kw_string(&w, NULL, -1);
	assert_int_equal(w.err, 0);

	struct kreader r;
	struct kstr s;
	kr_init(&r, w.buf, w.len);
	assert_int_equal(kr_i8(&r), -3);
	assert_int_equal(kr_i16(&r), -300);
	assert_int_equal(kr_i32(&r), 123456789);
	assert_true(kr_i64(&r) == -9876543210LL);
	assert_int_equal(kr_uvarint(&r), 300);
	assert_int_equal(kr_varint(&r), -64);
	assert_true(kr_varlong(&r) == INT64_MIN);
	kr_compact_string(&r, &s);
	assert_true(kstr_eq(s, "abc"));
	kr_nullable_string(&r, &s);
	assert_int_equal(s.len, -1);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.left, 0);
	kw_free(&w);
}

static void kreader__underflow_is_sticky(void **state)
{
	uint8_t b[3] = {0, 0, 1};
	struct kreader r;
	kr_init(&r, b, sizeof b);
	(void)kr_i32(&r);
	assert_int_not_equal(r.err, 0);
	assert_int_equal(kr_i8(&r), 0);
}

static void kreader__array_len_bounded_by_bytes_left(void **state)
{
	uint8_t b[8] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4};
	struct kreader r;
	kr_init(&r, b, sizeof b);
	assert_int_equal(kr_array_len(&r, 4), 0);
	assert_int_not_equal(r.err, 0);

	uint8_t neg[4] = {0xff, 0xff, 0xff, 0xfe}; /* -2 */
	kr_init(&r, neg, sizeof neg);
	(void)kr_array_len(&r, 1);
	assert_int_equal(r.err, KR_EINVALID);
}

static void crc32c__known_vector(void **state)
{
	/* RFC 3720 B.4: 32 bytes of zeros -> 0x8a9136aa */
	uint8_t z[32] = {0};
	assert_int_equal(crc32c(0, z, sizeof z), 0x8a9136aa);
	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	/* Incremental over odd splits equals one pass (hardware and table paths
	 * handle the 8-byte blocks and the tail differently). */
	uint8_t buf[1031];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	uint32_t whole = crc32c(0, buf, sizeof buf);
	for (size_t cut = 0; cut < 20; cut++)
		assert_int_equal(crc32c(crc32c(0, buf, cut), buf + cut, sizeof buf - cut), whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kreader__roundtrip_scalars),
		cmocka_unit_test(kreader__underflow_is_sticky),
		cmocka_unit_test(kreader__array_len_bounded_by_bytes_left),
		cmocka_unit_test(crc32c__known_vector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
