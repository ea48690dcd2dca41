#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "broker/log/offset_index.h"
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

static void offset_index_lookup__binary_search_over_many_entries(void **state)
{
	const char *dir = *state;
	struct offset_index idx;
	assert_int_equal(offset_index_open(&idx, fx_path(dir, "00000000000000001000.index"), 1000), 0);
	/* Entry i: last offset 1000 + 10i + 9 at position 500i. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(offset_index_append(&idx, 1000 + 10 * i + 9, 500 * i), 0);

	int64_t off, pos;
	offset_index_lookup(&idx, 999, &off, &pos);
	assert_int_equal(off, 999);
	assert_int_equal(pos, 0);
	offset_index_lookup(&idx, 1008, &off, &pos); /* before the first entry */
	assert_int_equal(off, 999);
	assert_int_equal(pos, 0);
	for (int i = 0; i < 1000; i++) {
		offset_index_lookup(&idx, 1000 + 10 * i + 9, &off, &pos);
		assert_int_equal(off, 1000 + 10 * i + 9);
		assert_int_equal(pos, 500 * i);
		offset_index_lookup(&idx, 1000 + 10 * i + 12, &off, &pos);
		assert_int_equal(pos, 500 * i);
	}
	offset_index_lookup(&idx, INT64_MAX / 2, &off, &pos);
	assert_int_equal(pos, 500 * 999);
	offset_index_close(&idx);
}

static void offset_index_append__rejects_non_increasing_and_overflow(void **state)
{
	const char *dir = *state;
	struct offset_index idx;
	assert_int_equal(offset_index_open(&idx, fx_path(dir, "a.index"), 100), 0);
	assert_int_equal(offset_index_append(&idx, 110, 40), 0);
	assert_int_equal(offset_index_append(&idx, 110, 80), -EINVAL);
	assert_int_equal(offset_index_append(&idx, 120, 40), -EINVAL);
	assert_int_equal(offset_index_append(&idx, 99, 90), -ERANGE);
	assert_int_equal(offset_index_append(&idx, 100 + (int64_t)INT32_MAX + 1, 90), -ERANGE);
	assert_int_equal(offset_index_append(&idx, 120, (int64_t)INT32_MAX + 1), -ERANGE);
	assert_int_equal(idx.count, 1);
	assert_int_equal(fx_file_size(dir, "a.index"), 8);
	offset_index_close(&idx);
}

static void offset_index_open__reloads_big_endian_entries(void **state)
{
	const char *dir = *state;
	struct offset_index idx;
	assert_int_equal(offset_index_open(&idx, fx_path(dir, "b.index"), 0), 0);
	assert_int_equal(offset_index_append(&idx, 0x01020304, 0x0a0b0c0d), 0);
	assert_int_equal(offset_index_append(&idx, 0x01020305, 0x0a0b0c0e), 0);
	offset_index_close(&idx);

	FILE *fp = fopen(fx_path(dir, "b.index"), "rb");
	uint8_t raw[16];
	assert_int_equal(fread(raw, 1, 16, fp), 16);
	fclose(fp);
	const uint8_t want[8] = {1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d};
	assert_memory_equal(raw, want, 8);

	assert_int_equal(offset_index_open(&idx, fx_path(dir, "b.index"), 0), 0);
	assert_int_equal(idx.count, 2);
	assert_true(offset_index_sane(&idx, 0x0a0b0c0f));
	assert_false(offset_index_sane(&idx, 0x0a0b0c0e)); /* a position past the log */
	int64_t off, pos;
	assert_true(offset_index_last(&idx, &off, &pos));
	assert_int_equal(off, 0x01020305);
	assert_int_equal(pos, 0x0a0b0c0e);
	offset_index_close(&idx);
}

static void offset_index_sane__rejects_torn_file(void **state)
{
	const char *dir = *state;
	struct offset_index idx;
	assert_int_equal(offset_index_open(&idx, fx_path(dir, "c.index"), 0), 0);
	assert_int_equal(offset_index_append(&idx, 5, 100), 0);
	offset_index_close(&idx);
	FILE *fp = fopen(fx_path(dir, "c.index"), "ab");
	fputc(7, fp);
	fclose(fp);
	assert_int_equal(offset_index_open(&idx, fx_path(dir, "c.index"), 0), 0);
	assert_false(offset_index_sane(&idx, 1000));
	assert_int_equal(offset_index_reset(&idx), 0);
	assert_true(offset_index_sane(&idx, 1000));
	assert_int_equal(fx_file_size(dir, "c.index"), 0);
	offset_index_close(&idx);
}

static void offset_index_truncate_position__drops_tail(void **state)
{
	const char *dir = *state;
	struct offset_index idx;
	assert_int_equal(offset_index_open(&idx, fx_path(dir, "d.index"), 0), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(offset_index_append(&idx, i * 2 + 1, i * 100 + 50), 0);
	assert_int_equal(offset_index_truncate_position(&idx, 450), 0);
	assert_int_equal(idx.count, 4);
	assert_int_equal(fx_file_size(dir, "d.index"), 32);
	assert_int_equal(offset_index_append(&idx, 9, 460), 0);
	offset_index_close(&idx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(offset_index_lookup__binary_search_over_many_entries, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(offset_index_append__rejects_non_increasing_and_overflow, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(offset_index_open__reloads_big_endian_entries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(offset_index_sane__rejects_torn_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(offset_index_truncate_position__drops_tail, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
