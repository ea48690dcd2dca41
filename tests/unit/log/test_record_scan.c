#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "broker/log/record_scan.h"
#include "log/log_fixture.h"

static void record_scan_first_at_or_after__exact_record(void **state)
{
	int64_t ts[4] = {100, 300, 200, 400};
	size_t len;
	uint8_t *b = fx_batch_ts(50, 4, ts, 8, &len);
	int64_t off, t;
	assert_int_equal(record_scan_first_at_or_after(b, len, 150, 0, &off, &t), 0);
	assert_int_equal(off, 51);
	assert_int_equal(t, 300);
	assert_int_equal(record_scan_first_at_or_after(b, len, 150, 52, &off, &t), 0);
	assert_int_equal(off, 52);
	assert_int_equal(t, 200);
	assert_int_equal(record_scan_first_at_or_after(b, len, 401, 0, &off, &t), -ENOENT);
	assert_int_equal(record_scan_first_at_or_after(b, len, 0, 54, &off, &t), -ENOENT);
	assert_int_equal(record_scan_max_timestamp(b, len, &off, &t), 0);
	assert_int_equal(off, 53);
	assert_int_equal(t, 400);
	free(b);
}

static void record_scan__compressed_and_log_append_time_answer_per_batch(void **state)
{
	size_t len;
	uint8_t *b = fx_batch(10, 3, 500, 8, &len);
	int64_t off, t;
	b[BATCH_OFF_ATTRIBUTES + 1] |= BATCH_ATTR_TIMESTAMP_LOG_APPEND;
	batch_put_i64(b + BATCH_OFF_MAX_TIMESTAMP, 9000);
	assert_int_equal(record_scan_first_at_or_after(b, len, 8000, 11, &off, &t), 0);
	assert_int_equal(off, 11);
	assert_int_equal(t, 9000);
	assert_int_equal(record_scan_max_timestamp(b, len, &off, &t), 0);
	assert_int_equal(off, 10);

	b[BATCH_OFF_ATTRIBUTES + 1] = BATCH_COMPRESSION_LZ4;
	assert_int_equal(record_scan_max_timestamp(b, len, &off, &t), 0);
	assert_int_equal(off, 12); /* the batch's last offset */
	assert_int_equal(t, 9000);
	free(b);
}

static void record_scan__malformed_records_fall_back_to_batch(void **state)
{
	size_t len;
	uint8_t *b = fx_batch(0, 2, 500, 8, &len);
	b[BATCH_HEADER_SIZE] = 0x7f; /* first record length far beyond the batch */
	int64_t off, t;
	assert_int_equal(record_scan_first_at_or_after(b, len, 400, 0, &off, &t), 0);
	assert_int_equal(off, 0);
	assert_int_equal(record_scan_max_timestamp(b, len, &off, &t), 0);
	assert_int_equal(off, 1);
	assert_int_equal(record_scan_max_timestamp(b, 10, &off, &t), -ENOENT);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_scan_first_at_or_after__exact_record),
		cmocka_unit_test(record_scan__compressed_and_log_append_time_answer_per_batch),
		cmocka_unit_test(record_scan__malformed_records_fall_back_to_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
