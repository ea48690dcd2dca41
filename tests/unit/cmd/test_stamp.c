/* Unit tests of cmd/tern-perf/stamp.c (compiled in). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cmd/tern-perf/stamp.c"

static void stamp__round_trip_big_endian(void **state)
{
	uint8_t v[32];
	memset(v, 'x', sizeof(v));
	assert_int_equal(stamp_write(v, sizeof(v), 0x0102030405060708LL, 1234567890123LL), 0);
	assert_memory_equal(v, "TRN1\x01\x02\x03\x04\x05\x06\x07\x08", 12);
	assert_int_equal(v[STAMP_SIZE], 'x'); /* the payload after it is untouched */
	int64_t seq = 0, us = 0;
	assert_int_equal(stamp_read(v, sizeof(v), &seq, &us), 0);
	assert_int_equal(seq, 0x0102030405060708LL);
	assert_int_equal(us, 1234567890123LL);
}

static void stamp__negative_sequence_for_probes(void **state)
{
	uint8_t v[STAMP_SIZE];
	int64_t seq = 0, us = 0;
	assert_int_equal(stamp_write(v, sizeof(v), -1, 0), 0);
	assert_int_equal(stamp_read(v, sizeof(v), &seq, &us), 0);
	assert_int_equal(seq, -1);
	assert_int_equal(us, 0);
}

static void stamp__rejects_short_and_foreign_values(void **state)
{
	uint8_t v[STAMP_SIZE];
	int64_t seq, us;
	assert_int_equal(stamp_write(v, STAMP_SIZE - 1, 1, 1), -1);
	assert_int_equal(stamp_write(v, sizeof(v), 1, 1), 0);
	assert_int_equal(stamp_read(v, STAMP_SIZE - 1, &seq, &us), -1);
	assert_int_equal(stamp_read(NULL, 0, &seq, &us), -1);
	v[0] = 't';
	assert_int_equal(stamp_read(v, sizeof(v), &seq, &us), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stamp__round_trip_big_endian),
		cmocka_unit_test(stamp__negative_sequence_for_probes),
		cmocka_unit_test(stamp__rejects_short_and_foreign_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
