#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "broker/log/time_index.h"
#include "log/log_fixture.h"

static int fx_setup(void **state)
{
	*state = fx_tmpdir();
	return *state ? 0 : -1;
}

static int fx_teardown(void **state)
{
	fx_rmrf(*state);
	free(*state);
	return 0;
}

static void time_index_append__only_when_timestamp_grows(void **state)
{
	const char *dir = *state;
	struct time_index idx;
	assert_int_equal(time_index_open(&idx, fx_path(dir, "0.timeindex"), 50), 0);
	assert_int_equal(time_index_append(&idx, 1000, 55), 0);
	assert_int_equal(time_index_append(&idx, 1000, 60), 0); /* not larger: skipped */
	assert_int_equal(time_index_append(&idx, 900, 70), 0);
	assert_int_equal(idx.count, 1);
	assert_int_equal(time_index_append(&idx, 2000, 54), -EINVAL);
	assert_int_equal(time_index_append(&idx, 2000, 49), -ERANGE);
	assert_int_equal(time_index_append(&idx, 2000, 80), 0);
	assert_int_equal(idx.count, 2);
	assert_int_equal(fx_file_size(dir, "0.timeindex"), 24);
	time_index_close(&idx);

	assert_int_equal(time_index_open(&idx, fx_path(dir, "0.timeindex"), 50), 0);
	int64_t ts, off;
	assert_true(time_index_last(&idx, &ts, &off));
	assert_int_equal(ts, 2000);
	assert_int_equal(off, 80);
	assert_true(time_index_sane(&idx, 81));
	assert_false(time_index_sane(&idx, 80));
	time_index_close(&idx);
}

static void time_index_lookup__largest_entry_at_or_below(void **state)
{
	const char *dir = *state;
	struct time_index idx;
	assert_int_equal(time_index_open(&idx, fx_path(dir, "1.timeindex"), 0), 0);
	for (int i = 0; i < 500; i++)
		assert_int_equal(time_index_append(&idx, 10000 + 100 * i, 3 * i + 2), 0);
	assert_int_equal(time_index_lookup(&idx, 0), 0);
	assert_int_equal(time_index_lookup(&idx, 9999), 0);
	for (int i = 0; i < 500; i++) {
		assert_int_equal(time_index_lookup(&idx, 10000 + 100 * i), 3 * i + 2);
		assert_int_equal(time_index_lookup(&idx, 10000 + 100 * i + 99), 3 * i + 2);
	}
	assert_int_equal(time_index_truncate_offset(&idx, 302), 0);
	assert_int_equal(idx.count, 100);
	assert_int_equal(fx_file_size(dir, "1.timeindex"), 1200);
	time_index_close(&idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(time_index_append__only_when_timestamp_grows, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(time_index_lookup__largest_entry_at_or_below, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
