#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "broker/log/segment.h"
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

static size_t fx_seg_append(struct segment *seg, int n, int64_t ts, size_t value_len, int32_t interval)
{
	size_t len;
	uint8_t *b = fx_batch(seg->next_offset, n, ts, value_len, &len);
	struct batch_header h;
	assert_int_equal(batch_header_parse(b, len, &h), 0);
	assert_int_equal(segment_append(seg, b, len, &h, interval), 0);
	free(b);
	return len;
}

static void segment_append__indexes_every_interval(void **state)
{
	const char *dir = *state;
	struct segment *seg;
	assert_int_equal(segment_open(dir, 100, true, 5, &seg), 0);
	assert_true(fx_exists(dir, "00000000000000000100.log"));
	size_t len = 0;
	for (int i = 0; i < 20; i++)
		len = fx_seg_append(seg, 2, 1000 + i, 60, 300);
	assert_int_equal(seg->next_offset, 140);
	assert_int_equal(seg->size, 20 * len);
	assert_int_equal(seg->max_timestamp, 1019);
	assert_int_equal(seg->max_timestamp_offset, 139);
	assert_int_equal(seg->first_timestamp, 1000);
	/* More than 300 bytes between entries: every few batches, none at 0. */
	assert_true(seg->oidx.count > 2);
	assert_true(seg->oidx.entries[0].position > 300);

	for (int64_t o = 100; o < 140; o++) {
		int64_t pos;
		struct batch_header h;
		assert_int_equal(segment_locate(seg, o, &pos, &h), 0);
		assert_int_equal(h.base_offset, o - (o - 100) % 2);
		assert_int_equal(pos, (o - 100) / 2 * (int64_t)len);
	}
	int64_t pos;
	struct batch_header h;
	assert_int_equal(segment_locate(seg, 140, &pos, &h), 1);
	assert_int_equal(pos, seg->size);
	segment_close(seg);
}

static void segment_load__matches_state_after_append(void **state)
{
	const char *dir = *state;
	struct segment *seg;
	assert_int_equal(segment_open(dir, 0, true, 5, &seg), 0);
	for (int i = 0; i < 30; i++)
		fx_seg_append(seg, 3, 2000 - i, 40, 200);
	int64_t size = seg->size, next = seg->next_offset, maxts = seg->max_timestamp;
	int64_t maxoff = seg->max_timestamp_offset;
	assert_int_equal(segment_seal(seg), 0);
	segment_close(seg);

	assert_int_equal(segment_open(dir, 0, false, 5, &seg), 0);
	assert_int_equal(segment_load(seg), 0);
	assert_int_equal(seg->size, size);
	assert_int_equal(seg->next_offset, next);
	assert_int_equal(seg->max_timestamp, maxts);
	assert_int_equal(seg->max_timestamp_offset, maxoff);
	assert_int_equal(seg->first_timestamp, 2000);
	segment_close(seg);
}

static void segment_load__detects_index_past_log(void **state)
{
	const char *dir = *state;
	struct segment *seg;
	assert_int_equal(segment_open(dir, 0, true, 5, &seg), 0);
	size_t len = 0;
	for (int i = 0; i < 30; i++)
		len = fx_seg_append(seg, 1, 10, 40, 50);
	segment_close(seg);
	assert_int_equal(truncate(fx_path(dir, "00000000000000000000.log"), (off_t)(len * 10)), 0);
	assert_int_equal(segment_open(dir, 0, false, 5, &seg), 0);
	assert_int_equal(segment_load(seg), -EBADMSG);
	int64_t cut;
	assert_int_equal(segment_recover(seg, 50, &cut), 0);
	assert_int_equal(cut, 0);
	assert_int_equal(seg->next_offset, 10);
	assert_true(offset_index_sane(&seg->oidx, seg->size));
	segment_close(seg);
}

static void segment_recover__checks_crc_of_large_batch(void **state)
{
	const char *dir = *state;
	struct segment *seg;
	assert_int_equal(segment_open(dir, 0, true, 5, &seg), 0);
	fx_seg_append(seg, 1, 10, 100, 4096);
	size_t big = fx_seg_append(seg, 3, 10, 50000, 4096); /* > 64 KiB: chunked CRC */
	fx_seg_append(seg, 1, 10, 100, 4096);
	segment_close(seg);

	assert_int_equal(segment_open(dir, 0, false, 5, &seg), 0);
	int64_t cut;
	assert_int_equal(segment_recover(seg, 4096, &cut), 0);
	assert_int_equal(cut, 0);
	assert_int_equal(seg->next_offset, 5);
	segment_close(seg);

	/* Flip a byte deep in the large batch. */
	FILE *fp = fopen(fx_path(dir, "00000000000000000000.log"), "r+b");
	fseek(fp, 200 + 100000, SEEK_SET);
	int c = fgetc(fp);
	fseek(fp, 200 + 100000, SEEK_SET);
	fputc(c ^ 1, fp);
	fclose(fp);
	assert_int_equal(segment_open(dir, 0, false, 5, &seg), 0);
	assert_int_equal(segment_recover(seg, 4096, &cut), 0);
	assert_true(cut > (int64_t)big);
	assert_int_equal(seg->next_offset, 1);
	assert_int_equal(fx_file_size(dir, "00000000000000000000.log"), seg->size);
	segment_close(seg);
}

static void segment_recover__stops_at_non_increasing_offsets(void **state)
{
	const char *dir = *state;
	struct segment *seg;
	assert_int_equal(segment_open(dir, 10, true, 5, &seg), 0);
	fx_seg_append(seg, 2, 10, 10, 4096);
	fx_seg_append(seg, 2, 10, 10, 4096);
	/* A valid batch whose offsets go backwards, written raw. */
	size_t len;
	uint8_t *b = fx_batch(11, 1, 10, 10, &len);
	FILE *fp = fopen(fx_path(dir, "00000000000000000010.log"), "ab");
	assert_int_equal(fwrite(b, 1, len, fp), len);
	fclose(fp);
	free(b);
	segment_close(seg);
	assert_int_equal(segment_open(dir, 10, false, 5, &seg), 0);
	assert_int_equal(segment_load(seg), -EBADMSG);
	int64_t cut;
	assert_int_equal(segment_recover(seg, 4096, &cut), 0);
	assert_int_equal(cut, len);
	assert_int_equal(seg->next_offset, 14);
	segment_close(seg);
}

static void segment_truncate_to__drops_batches_and_entries(void **state)
{
	const char *dir = *state;
	struct segment *seg;
	assert_int_equal(segment_open(dir, 0, true, 5, &seg), 0);
	size_t len = 0;
	for (int i = 0; i < 10; i++)
		len = fx_seg_append(seg, 4, 100 + i, 20, 0);
	assert_int_equal(segment_seal(seg), 0);
	assert_int_equal(segment_truncate_to(seg, 22), 0); /* inside batch 20-23 */
	assert_int_equal(seg->next_offset, 20);
	assert_int_equal(seg->size, 5 * len);
	assert_int_equal(seg->max_timestamp, 104);
	assert_int_equal(seg->max_timestamp_offset, 19);
	int64_t off, pos;
	assert_true(offset_index_last(&seg->oidx, &off, &pos));
	assert_true(pos < seg->size);
	assert_int_equal(segment_truncate_to(seg, 0), 0);
	assert_int_equal(seg->size, 0);
	assert_int_equal(seg->next_offset, 0);
	assert_int_equal(seg->max_timestamp, -1);
	assert_int_equal(segment_destroy(seg), 0);
	assert_false(fx_exists(dir, "00000000000000000000.log"));
	assert_false(fx_exists(dir, "00000000000000000000.index"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(segment_append__indexes_every_interval, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(segment_load__matches_state_after_append, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(segment_load__detects_index_past_log, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(segment_recover__checks_crc_of_large_batch, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(segment_recover__stops_at_non_increasing_offsets, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(segment_truncate_to__drops_batches_and_entries, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
