#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/log/log.h"
#include "log/log_fixture.h"

#define NOW 1700000000000LL

struct fx {
	char *root;   /* mkdtemp directory, removed in teardown */
	char dir[512]; /* the partition directory inside it */
	struct log_config cfg;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->root = fx_tmpdir();
	assert_non_null(f->root);
	snprintf(f->dir, sizeof f->dir, "%s/topic-0", f->root);
	log_config_default(&f->cfg);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	fx_rmrf(f->root);
	free(f->root);
	free(f);
	return 0;
}

static struct log *fx_open(struct fx *f, int64_t now)
{
	int err = 0;
	struct log *log = log_open(f->dir, &f->cfg, now, &err);
	assert_non_null(log);
	assert_int_equal(err, 0);
	return log;
}

/* Appends a batch of n records at the log end offset, all stamped ts. */
static size_t fx_append(struct log *log, int n, int64_t ts, size_t value_len, int64_t now)
{
	size_t len;
	uint8_t *b = fx_batch(log_end_offset(log), n, ts, value_len, &len);
	assert_int_equal(log_append(log, b, len, now), 0);
	free(b);
	return len;
}

/* Reads at `offset` (min_one, no max_offset) and returns the first batch's header. */
static struct batch_header fx_read_first(struct log *log, int64_t offset)
{
	uint8_t *out = NULL;
	size_t len = 0;
	assert_int_equal(log_read(log, offset, INT64_MAX, 1, true, &out, &len), 0);
	struct batch_header h;
	assert_int_equal(batch_header_parse(out, len, &h), 0);
	assert_int_equal(batch_total_size(&h), len);
	assert_true(batch_crc_ok(out, len));
	free(out);
	return h;
}

static void fx_assert_contains(struct log *log, int64_t offset)
{
	struct batch_header h = fx_read_first(log, offset);
	assert_true(h.base_offset <= offset);
	assert_true(h.base_offset + h.last_offset_delta >= offset);
}

static void log_append__read_round_trip(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	assert_int_equal(log_start_offset(log), 0);
	assert_int_equal(log_end_offset(log), 0);
	assert_true(fx_exists(f->dir, "00000000000000000000.log"));

	uint8_t *want = NULL;
	size_t want_len = 0;
	for (int i = 0; i < 3; i++) {
		size_t len;
		uint8_t *b = fx_batch(log_end_offset(log), 5, NOW + i, 20, &len);
		assert_int_equal(log_append(log, b, len, NOW), 0);
		want = realloc(want, want_len + len);
		memcpy(want + want_len, b, len);
		want_len += len;
		free(b);
	}
	assert_int_equal(log_end_offset(log), 15);

	uint8_t *out;
	size_t len;
	assert_int_equal(log_read(log, 0, INT64_MAX, 1 << 20, false, &out, &len), 0);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, len);
	free(out);
	free(want);
	log_close(log);
}

static void log_append__rejects_wrong_base_offset(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	size_t len;
	uint8_t *b = fx_batch(3, 1, NOW, 10, &len);
	assert_int_equal(log_append(log, b, len, NOW), -EINVAL);
	batch_put_i64(b, 0);
	assert_int_equal(log_append(log, b, len - 1, NOW), -EINVAL); /* not the whole batch */
	assert_int_equal(log_end_offset(log), 0);
	free(b);
	log_close(log);
}

static void log_read__middle_offset_returns_containing_batch(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 3; i++)
		fx_append(log, 5, NOW, 10, NOW);
	struct batch_header h = fx_read_first(log, 7);
	assert_int_equal(h.base_offset, 5);
	assert_int_equal(h.last_offset_delta, 4);
	log_close(log);
}

static void log_read__min_one_with_small_max_bytes(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	size_t first = fx_append(log, 5, NOW, 100, NOW);
	size_t second = fx_append(log, 5, NOW, 100, NOW);

	uint8_t *out;
	size_t len;
	assert_int_equal(log_read(log, 0, INT64_MAX, 10, true, &out, &len), 0);
	assert_int_equal(len, first); /* one whole batch despite max_bytes */
	free(out);

	assert_int_equal(log_read(log, 0, INT64_MAX, 10, false, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_null(out);

	/* Only whole batches fit: one and a half batches' worth returns one. */
	assert_int_equal(log_read(log, 0, INT64_MAX, first + second / 2, false, &out, &len), 0);
	assert_int_equal(len, first);
	free(out);
	log_close(log);
}

static void log_read__stops_before_max_offset(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	size_t a = fx_append(log, 5, NOW, 10, NOW);
	size_t b = fx_append(log, 5, NOW, 10, NOW);
	fx_append(log, 5, NOW, 10, NOW);

	uint8_t *out;
	size_t len;
	assert_int_equal(log_read(log, 0, 10, 1 << 20, true, &out, &len), 0);
	assert_int_equal(len, a + b);
	free(out);
	/* The high watermark inside a batch hides that batch. */
	assert_int_equal(log_read(log, 5, 7, 1 << 20, true, &out, &len), 0);
	assert_int_equal(len, 0);
	log_close(log);
}

static void log_read__outside_range(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	fx_append(log, 5, NOW, 10, NOW);
	fx_append(log, 5, NOW, 10, NOW);

	uint8_t *out;
	size_t len;
	assert_int_equal(log_read(log, 11, INT64_MAX, 100, true, &out, &len), -ERANGE);
	assert_int_equal(log_read(log, -1, INT64_MAX, 100, true, &out, &len), -ERANGE);
	assert_int_equal(log_read(log, 10, INT64_MAX, 100, true, &out, &len), 0);
	assert_int_equal(len, 0);

	assert_int_equal(log_advance_start_offset(log, 7), 0);
	assert_int_equal(log_start_offset(log), 7);
	assert_int_equal(log_read(log, 6, INT64_MAX, 100, true, &out, &len), -ERANGE);
	struct batch_header h = fx_read_first(log, 7);
	assert_int_equal(h.base_offset, 5);
	assert_int_equal(log_advance_start_offset(log, 11), -ERANGE);
	log_close(log);
}

static void log_append__rolls_by_size(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len); /* two batches per segment */
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fx_append(log, 2, NOW, 50, NOW), len);
	assert_int_equal(log_segment_count(log), 3);
	assert_true(fx_exists(f->dir, "00000000000000000004.log"));
	assert_true(fx_exists(f->dir, "00000000000000000008.index"));
	assert_true(fx_exists(f->dir, "00000000000000000008.timeindex"));
	assert_int_equal(fx_file_size(f->dir, "00000000000000000000.log"), 2 * len);
	for (int64_t o = 0; o < 10; o++)
		fx_assert_contains(log, o);
	/* A read stays within one segment. */
	uint8_t *out;
	size_t n;
	assert_int_equal(log_read(log, 0, INT64_MAX, 1 << 20, false, &out, &n), 0);
	assert_int_equal(n, 2 * len);
	free(out);
	log_close(log);
}

static void log_append__rolls_by_time(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_ms = 1000;
	struct log *log = fx_open(f, NOW);
	fx_append(log, 1, NOW, 10, NOW);
	fx_append(log, 1, NOW + 500, 10, NOW + 500);
	assert_int_equal(log_segment_count(log), 1);
	fx_append(log, 1, NOW + 1500, 10, NOW + 1500);
	assert_int_equal(log_segment_count(log), 2);
	assert_true(fx_exists(f->dir, "00000000000000000002.log"));

	/* An idle active segment is rolled by the retention pass. */
	assert_int_equal(log_enforce_retention(log, NOW + 5000), 0);
	assert_int_equal(log_segment_count(log), 3);
	assert_true(fx_exists(f->dir, "00000000000000000003.log"));
	assert_int_equal(log_end_offset(log), 3);
	log_close(log);
}

static void log_open__reopens_after_clean_close(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 1000;
	f->cfg.index_interval_bytes = 100;
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 40; i++)
		fx_append(log, 3, NOW + i, 30, NOW);
	size_t segs = log_segment_count(log);
	int64_t end = log_end_offset(log);
	log_close(log);
	assert_true(fx_exists(f->dir, LOG_CLEAN_SHUTDOWN_FILE));

	log = fx_open(f, NOW);
	assert_false(fx_exists(f->dir, LOG_CLEAN_SHUTDOWN_FILE));
	assert_int_equal(log_segment_count(log), segs);
	assert_int_equal(log_end_offset(log), end);
	for (int64_t o = 0; o < end; o++)
		fx_assert_contains(log, o);
	int64_t off, ts;
	assert_int_equal(log_max_timestamp(log, &off, &ts), 0);
	assert_int_equal(ts, NOW + 39);
	assert_int_equal(off, end - 3);
	fx_append(log, 1, NOW, 10, NOW);
	assert_int_equal(log_end_offset(log), end + 1);
	log_close(log);
}

/* Closes cleanly, then removes the marker: what a crash after the last write
 * reached the page cache looks like to the next open. */
static void fx_close_as_crash(struct fx *f, struct log *log)
{
	log_close(log);
	assert_int_equal(unlink(fx_path(f->dir, LOG_CLEAN_SHUTDOWN_FILE)), 0);
}

static void fx_truncate_file(const char *dir, const char *name, long size)
{
	assert_int_equal(truncate(fx_path(dir, name), size), 0);
}

static void fx_append_file(const char *dir, const char *name, const void *p, size_t n)
{
	FILE *fp = fopen(fx_path(dir, name), "ab");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

static void log_open__recovers_torn_tail(void **state)
{
	struct fx *f = *state;
	f->cfg.index_interval_bytes = 100;
	struct log *log = fx_open(f, NOW);
	size_t len = 0;
	for (int i = 0; i < 20; i++)
		len = fx_append(log, 4, NOW + i, 40, NOW);
	assert_int_equal(log_end_offset(log), 80);
	fx_close_as_crash(f, log);

	/* The last batch torn in the middle. */
	const char *seg = "00000000000000000000.log";
	fx_truncate_file(f->dir, seg, (long)(20 * len - len / 2));
	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), 76);
	assert_int_equal(fx_file_size(f->dir, seg), 19 * len);
	for (int64_t o = 0; o < 76; o++)
		fx_assert_contains(log, o);
	/* Appending continues where the whole batches end. */
	fx_append(log, 4, NOW, 40, NOW);
	assert_int_equal(log_end_offset(log), 80);
	fx_close_as_crash(f, log);

	/* Garbage after the last whole batch. */
	uint8_t junk[300];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	fx_append_file(f->dir, seg, junk, sizeof junk);
	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), 80);
	assert_int_equal(fx_file_size(f->dir, seg), 20 * len);
	fx_close_as_crash(f, log);

	/* A flipped byte in batch 15: batches 15.. fail their CRC. */
	FILE *fp = fopen(fx_path(f->dir, seg), "r+b");
	assert_non_null(fp);
	fseek(fp, (long)(15 * len + 70), SEEK_SET);
	int c = fgetc(fp);
	fseek(fp, (long)(15 * len + 70), SEEK_SET);
	fputc(c ^ 0x40, fp);
	fclose(fp);
	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), 60);
	for (int64_t o = 0; o < 60; o++)
		fx_assert_contains(log, o);
	int64_t off, ts;
	assert_int_equal(log_max_timestamp(log, &off, &ts), 0);
	assert_int_equal(ts, NOW + 14);
	log_close(log);
}

static void log_open__recovery_keeps_whole_batches_at_any_cut(void **state)
{
	struct fx *f = *state;
	f->cfg.index_interval_bytes = 90;
	struct log *log = fx_open(f, NOW);
	size_t len = 0;
	for (int i = 0; i < 8; i++)
		len = fx_append(log, 2, NOW + i, 30, NOW);
	fx_close_as_crash(f, log);
	const char *seg = "00000000000000000000.log";
	/* Cut from the end backwards so each cut shortens the file further. */
	for (long cut = (long)(8 * len); cut >= 0; cut -= 29) {
		fx_truncate_file(f->dir, seg, cut);
		log = fx_open(f, NOW);
		int64_t whole = cut / (long)len;
		assert_int_equal(log_end_offset(log), 2 * whole);
		assert_int_equal(fx_file_size(f->dir, seg), whole * (long)len);
		if (whole > 0)
			fx_assert_contains(log, 2 * whole - 1);
		fx_close_as_crash(f, log);
	}
}

static void log_open__recovery_drops_segments_after_torn_one(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(3 * len);
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 9; i++)
		fx_append(log, 2, NOW, 50, NOW);
	assert_int_equal(log_segment_count(log), 3);
	fx_close_as_crash(f, log);
	/* No recovery point: every segment is scanned; the first is torn. */
	assert_int_equal(unlink(fx_path(f->dir, "recovery-point-offset-checkpoint")), 0);
	fx_truncate_file(f->dir, "00000000000000000000.log", (long)(2 * len + 5));

	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), 4);
	assert_int_equal(log_segment_count(log), 1);
	assert_false(fx_exists(f->dir, "00000000000000000006.log"));
	assert_false(fx_exists(f->dir, "00000000000000000012.index"));
	log_close(log);
}

static void log_open__rebuilds_stale_index_after_crash(void **state)
{
	struct fx *f = *state;
	f->cfg.index_interval_bytes = 64;
	struct log *log = fx_open(f, NOW);
	size_t len = 0;
	for (int i = 0; i < 50; i++)
		len = fx_append(log, 1, NOW + i, 40, NOW);
	fx_close_as_crash(f, log);
	/* The log lost its tail but the index still points into it. */
	fx_truncate_file(f->dir, "00000000000000000000.log", (long)(10 * len));
	long idx_before = fx_file_size(f->dir, "00000000000000000000.index");
	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), 10);
	assert_true(fx_file_size(f->dir, "00000000000000000000.index") < idx_before);
	for (int64_t o = 0; o < 10; o++)
		fx_assert_contains(log, o);
	log_close(log);

	/* A clean marker but a corrupt index (torn entry) is rebuilt too. */
	fx_append_file(f->dir, "00000000000000000000.index", "xyz", 3);
	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), 10);
	assert_int_equal(fx_file_size(f->dir, "00000000000000000000.index") % 8, 0);
	for (int64_t o = 0; o < 10; o++)
		fx_assert_contains(log, o);
	log_close(log);
}

static void log_read__index_lookups_after_many_appends(void **state)
{
	struct fx *f = *state;
	f->cfg.index_interval_bytes = 256;
	f->cfg.segment_bytes = 64 * 1024;
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 2000; i++)
		fx_append(log, 1 + i % 3, NOW + i, 20 + i % 50, NOW);
	int64_t end = log_end_offset(log);
	assert_true(log_segment_count(log) > 2);
	for (int64_t o = 0; o < end; o++)
		fx_assert_contains(log, o);
	log_close(log);

	/* Same answers from loaded indexes, and from rebuilt ones. */
	log = fx_open(f, NOW);
	for (int64_t o = 0; o < end; o += 7)
		fx_assert_contains(log, o);
	fx_close_as_crash(f, log);
	assert_int_equal(unlink(fx_path(f->dir, "recovery-point-offset-checkpoint")), 0);
	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), end);
	for (int64_t o = 0; o < end; o += 5)
		fx_assert_contains(log, o);
	log_close(log);
}

static void log_offset_for_timestamp__finds_first_record_at_or_after(void **state)
{
	struct fx *f = *state;
	f->cfg.index_interval_bytes = 100;
	f->cfg.segment_bytes = 2000;
	struct log *log = fx_open(f, NOW);
	/* Batch i holds records stamped 1000 + 10*i + {0, 2, 4}. */
	for (int i = 0; i < 100; i++) {
		int64_t ts[3] = {1000 + 10 * i, 1000 + 10 * i + 2, 1000 + 10 * i + 4};
		size_t len;
		uint8_t *b = fx_batch_ts(log_end_offset(log), 3, ts, 30, &len);
		assert_int_equal(log_append(log, b, len, NOW), 0);
		free(b);
	}
	assert_true(log_segment_count(log) > 1);
	int64_t off, ts;
	assert_int_equal(log_offset_for_timestamp(log, 0, &off, &ts), 0);
	assert_int_equal(off, 0);
	assert_int_equal(ts, 1000);
	assert_int_equal(log_offset_for_timestamp(log, 1503, &off, &ts), 0);
	assert_int_equal(off, 50 * 3 + 2);
	assert_int_equal(ts, 1504);
	assert_int_equal(log_offset_for_timestamp(log, 1505, &off, &ts), 0);
	assert_int_equal(off, 51 * 3);
	assert_int_equal(ts, 1510);
	assert_int_equal(log_offset_for_timestamp(log, 1994, &off, &ts), 0);
	assert_int_equal(off, 299);
	assert_int_equal(log_offset_for_timestamp(log, 1995, &off, &ts), -ENOENT);

	/* Never below the log start offset. */
	assert_int_equal(log_advance_start_offset(log, 10), 0);
	assert_int_equal(log_offset_for_timestamp(log, 0, &off, &ts), 0);
	assert_int_equal(off, 10);
	assert_int_equal(ts, 1032);

	/* Survives a clean reopen (indexes loaded, final time entries read). */
	log_close(log);
	log = fx_open(f, NOW);
	assert_int_equal(log_offset_for_timestamp(log, 1503, &off, &ts), 0);
	assert_int_equal(off, 152);
	assert_int_equal(log_max_timestamp(log, &off, &ts), 0);
	assert_int_equal(off, 299);
	assert_int_equal(ts, 1994);
	log_close(log);
}

static void log_max_timestamp__exact_record(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	int64_t off, ts;
	assert_int_equal(log_max_timestamp(log, &off, &ts), -ENOENT);
	assert_int_equal(log_offset_for_timestamp(log, 0, &off, &ts), -ENOENT);
	int64_t a[3] = {100, 500, 200};
	int64_t b[4] = {300, 900, 100, 900};
	int64_t c[2] = {400, 450};
	const int64_t *all[3] = {a, b, c};
	int n[3] = {3, 4, 2};
	for (int i = 0; i < 3; i++) {
		size_t len;
		uint8_t *p = fx_batch_ts(log_end_offset(log), n[i], all[i], 5, &len);
		assert_int_equal(log_append(log, p, len, NOW), 0);
		free(p);
	}
	assert_int_equal(log_max_timestamp(log, &off, &ts), 0);
	assert_int_equal(off, 4);
	assert_int_equal(ts, 900);
	/* Timestamps out of order inside a batch: first record at or after. */
	assert_int_equal(log_offset_for_timestamp(log, 250, &off, &ts), 0);
	assert_int_equal(off, 1);
	assert_int_equal(ts, 500);
	assert_int_equal(log_offset_for_timestamp(log, 600, &off, &ts), 0);
	assert_int_equal(off, 4);
	log_close(log);
}


/* Counts batches and the offsets they cover, for log_visit and the drop hook. */
struct visit_count {
	int batches;
	int64_t first;
	int64_t next;
};

static void visit_count_add(struct visit_count *v, const uint8_t *data, size_t len)
{
	size_t pos = 0;
	struct batch_header h;
	while (pos < len && batch_header_parse(data + pos, len - pos, &h) == 0) {
		if (v->batches == 0)
			v->first = h.base_offset;
		assert_true(h.base_offset == (v->batches == 0 ? v->first : v->next));
		v->next = h.base_offset + h.last_offset_delta + 1;
		v->batches++;
		pos += batch_total_size(&h);
	}
	assert_int_equal(pos, len);
}

static int visit_count_cb(void *arg, const uint8_t *data, size_t len)
{
	visit_count_add(arg, data, len);
	return 0;
}

static void drop_count_cb(void *arg, const uint8_t *data, size_t len)
{
	visit_count_add(arg, data, len);
}

static void log_visit__walks_every_batch_across_segments(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(3 * len);
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 10; i++)
		fx_append(log, 2, NOW, 50, NOW);
	assert_true(log_segment_count(log) > 1);
	struct visit_count v = {0};
	assert_int_equal(log_visit(log, 0, visit_count_cb, &v), 0);
	assert_int_equal(v.batches, 10);
	assert_int_equal(v.next, 20);
	/* From the middle: starts at the batch holding the offset. */
	struct visit_count w = {0};
	assert_int_equal(log_visit(log, 7, visit_count_cb, &w), 0);
	assert_int_equal(w.first, 6);
	assert_int_equal(w.batches, 7);
	log_close(log);
}

static void log_set_drop_cb__sees_batches_retention_deletes(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len);
	f->cfg.retention_ms = -1;
	f->cfg.retention_bytes = (int64_t)(5 * len);
	struct log *log = fx_open(f, NOW);
	struct visit_count dropped = {0};
	log_set_drop_cb(log, drop_count_cb, &dropped);
	for (int i = 0; i < 10; i++)
		fx_append(log, 2, NOW, 50, NOW);
	assert_int_equal(log_enforce_retention(log, NOW), 2);
	/* Exactly the batches below the new log start offset. */
	assert_int_equal(dropped.batches, 4);
	assert_int_equal(dropped.first, 0);
	assert_int_equal(dropped.next, log_start_offset(log));
	log_close(log);
}

static void log_enforce_retention__by_bytes(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len);
	f->cfg.retention_ms = -1;
	f->cfg.retention_bytes = (int64_t)(5 * len);
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 10; i++)
		fx_append(log, 2, NOW, 50, NOW);
	assert_int_equal(log_segment_count(log), 5);
	assert_int_equal(log_size_bytes(log), 10 * len);

	/* 10 batches, limit 5: segments go while what stays is still at least
	 * retention.bytes, so two 2-batch segments go and 6 batches stay. */
	assert_int_equal(log_enforce_retention(log, NOW), 2);
	assert_int_equal(log_segment_count(log), 3);
	assert_int_equal(log_start_offset(log), 8);
	assert_int_equal(log_end_offset(log), 20);
	assert_false(fx_exists(f->dir, "00000000000000000000.log"));
	assert_false(fx_exists(f->dir, "00000000000000000004.index"));
	assert_false(fx_exists(f->dir, "00000000000000000004.timeindex"));
	assert_true(fx_exists(f->dir, "00000000000000000008.log"));
	uint8_t *out;
	size_t n;
	assert_int_equal(log_read(log, 7, INT64_MAX, 100, true, &out, &n), -ERANGE);
	fx_assert_contains(log, 8);
	assert_int_equal(log_enforce_retention(log, NOW), 0);
	log_close(log);

	log = fx_open(f, NOW);
	assert_int_equal(log_start_offset(log), 8);
	assert_int_equal(log_end_offset(log), 20);
	log_close(log);
}

static void log_enforce_retention__by_time_rolls_and_deletes_all(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len);
	f->cfg.retention_ms = 60000;
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 3; i++)
		fx_append(log, 2, NOW - 120000, 50, NOW);
	for (int i = 0; i < 2; i++)
		fx_append(log, 2, NOW, 50, NOW);
	assert_int_equal(log_segment_count(log), 3);

	/* Only the first segment (offsets 0-3) is wholly older than 60 s; the
	 * second holds a recent batch. */
	assert_int_equal(log_enforce_retention(log, NOW), 1);
	assert_int_equal(log_start_offset(log), 4);

	/* Much later everything has expired: the active segment is rolled
	 * first so the log keeps an (empty) active segment at its end offset. */
	assert_int_equal(log_enforce_retention(log, NOW + 3600000), 2);
	assert_int_equal(log_segment_count(log), 1);
	assert_int_equal(log_start_offset(log), 10);
	assert_int_equal(log_end_offset(log), 10);
	assert_true(fx_exists(f->dir, "00000000000000000010.log"));
	assert_false(fx_exists(f->dir, "00000000000000000008.log"));
	uint8_t *out;
	size_t n;
	assert_int_equal(log_read(log, 10, INT64_MAX, 100, true, &out, &n), 0);
	assert_int_equal(n, 0);
	log_close(log);

	log = fx_open(f, NOW + 3600000);
	assert_int_equal(log_start_offset(log), 10);
	assert_int_equal(log_end_offset(log), 10);
	fx_append(log, 1, NOW + 3600000, 5, NOW + 3600000);
	assert_int_equal(log_end_offset(log), 11);
	log_close(log);
}

static void log_enforce_retention__respects_high_watermark(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len);
	f->cfg.retention_ms = 1;
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 6; i++)
		fx_append(log, 2, NOW, 50, NOW);
	log_set_high_watermark(log, 8);
	assert_int_equal(log_enforce_retention(log, NOW + 10000), 2);
	assert_int_equal(log_start_offset(log), 8);
	log_close(log);
}

static void log_advance_start_offset__deletes_segments_below_and_persists(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len);
	f->cfg.retention_ms = -1;
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 6; i++)
		fx_append(log, 2, NOW, 50, NOW);
	assert_int_equal(log_advance_start_offset(log, 9), 0);
	assert_int_equal(log_advance_start_offset(log, 3), 0); /* never backwards */
	assert_int_equal(log_start_offset(log), 9);
	assert_int_equal(log_enforce_retention(log, NOW), 2);
	assert_int_equal(log_start_offset(log), 9);
	assert_true(fx_exists(f->dir, "00000000000000000008.log"));
	assert_false(fx_exists(f->dir, "00000000000000000004.log"));
	fx_close_as_crash(f, log);

	log = fx_open(f, NOW);
	assert_int_equal(log_start_offset(log), 9);
	struct batch_header h = fx_read_first(log, 9);
	assert_int_equal(h.base_offset, 8);
	log_close(log);
}

static void log_truncate_to__drops_suffix(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 5, NOW, 20, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len);
	f->cfg.index_interval_bytes = 1;
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 6; i++)
		fx_append(log, 5, NOW + i, 20, NOW);
	assert_int_equal(log_end_offset(log), 30);
	assert_int_equal(log_segment_count(log), 3);

	assert_int_equal(log_truncate_to(log, 40), 0); /* beyond the end: no-op */
	assert_int_equal(log_end_offset(log), 30);

	/* 22 is inside the batch 20-24 (third segment's first): it goes whole. */
	assert_int_equal(log_truncate_to(log, 22), 0);
	assert_int_equal(log_end_offset(log), 20);
	assert_int_equal(log_segment_count(log), 3);
	fx_append(log, 5, NOW, 20, NOW);
	assert_int_equal(log_end_offset(log), 25);

	/* Back into the first segment: later segments are removed. */
	assert_int_equal(log_truncate_to(log, 5), 0);
	assert_int_equal(log_end_offset(log), 5);
	assert_int_equal(log_segment_count(log), 1);
	assert_false(fx_exists(f->dir, "00000000000000000010.log"));
	assert_int_equal(fx_file_size(f->dir, "00000000000000000000.log"), len);
	int64_t off, ts;
	assert_int_equal(log_max_timestamp(log, &off, &ts), 0);
	assert_int_equal(ts, NOW);
	fx_append(log, 5, NOW, 20, NOW);
	for (int64_t o = 0; o < 10; o++)
		fx_assert_contains(log, o);

	/* The truncated state is what a crash-recovery sees too. */
	fx_close_as_crash(f, log);
	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), 10);
	log_close(log);
}

static void log_truncate_to__below_first_segment_restarts_empty(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 5, NOW, 20, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len);
	f->cfg.retention_bytes = (int64_t)len;
	f->cfg.retention_ms = -1;
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 5; i++)
		fx_append(log, 5, NOW, 20, NOW);
	assert_true(log_enforce_retention(log, NOW) > 0);
	assert_int_equal(log_start_offset(log), 20);

	assert_int_equal(log_truncate_to(log, 12), 0);
	assert_int_equal(log_start_offset(log), 12);
	assert_int_equal(log_end_offset(log), 12);
	assert_int_equal(log_segment_count(log), 1);
	assert_true(fx_exists(f->dir, "00000000000000000012.log"));
	assert_false(fx_exists(f->dir, "00000000000000000020.log"));
	fx_append(log, 1, NOW, 5, NOW);
	assert_int_equal(log_end_offset(log), 13);
	log_close(log);

	log = fx_open(f, NOW);
	assert_int_equal(log_start_offset(log), 12);
	assert_int_equal(log_end_offset(log), 13);
	log_close(log);
}

static long fx_read_checkpoint(const char *dir, const char *name)
{
	FILE *fp = fopen(fx_path(dir, name), "r");
	if (fp == NULL)
		return -1;
	long version = -1, v = -1;
	if (fscanf(fp, "%ld %ld", &version, &v) != 2)
		v = -1;
	fclose(fp);
	return version == 0 ? v : -1;
}

static void log_append__roll_leaves_recovery_point_to_flush(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 2, NOW, 50, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)(2 * len);
	struct log *log = fx_open(f, NOW);
	for (int i = 0; i < 5; i++)
		fx_append(log, 2, NOW, 50, NOW);
	assert_true(log_segment_count(log) >= 3);
	/* Rolling does not fsync on the produce path: the recovery point stays
	 * until a flush has made every rolled segment durable. */
	assert_true(fx_read_checkpoint(f->dir, "recovery-point-offset-checkpoint") <= 0);
	assert_int_equal(log_flush(log), 0);
	assert_int_equal(fx_read_checkpoint(f->dir, "recovery-point-offset-checkpoint"), 10);
	log_close(log);
}

static void log_flush__moves_recovery_point(void **state)
{
	struct fx *f = *state;
	f->cfg.flush_messages = 4;
	struct log *log = fx_open(f, NOW);
	fx_append(log, 3, NOW, 5, NOW);
	assert_true(fx_read_checkpoint(f->dir, "recovery-point-offset-checkpoint") <= 0);
	fx_append(log, 3, NOW, 5, NOW);
	assert_int_equal(fx_read_checkpoint(f->dir, "recovery-point-offset-checkpoint"), 6);
	fx_append(log, 1, NOW, 5, NOW);
	assert_int_equal(log_flush(log), 0);
	assert_int_equal(fx_read_checkpoint(f->dir, "recovery-point-offset-checkpoint"), 7);
	log_close(log);
}

static void log_delete__removes_directory(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	fx_append(log, 3, NOW, 5, NOW);
	assert_int_equal(log_advance_start_offset(log, 1), 0);
	assert_int_equal(log_delete(log), 0);
	assert_int_equal(access(f->dir, F_OK), -1);
}

static void log_open__fails_without_parent(void **state)
{
	struct fx *f = *state;
	char dir[600];
	snprintf(dir, sizeof dir, "%s/missing/topic-0", f->root);
	int err = 0;
	assert_null(log_open(dir, &f->cfg, NOW, &err));
	assert_int_equal(err, -ENOENT);
}

/* ---- leader epochs ---- */

/* Appends a batch of n records stamped with leader epoch `epoch`. */
static void fx_append_epoch(struct log *log, int n, int32_t epoch)
{
	size_t len;
	uint8_t *b = fx_batch(log_end_offset(log), n, NOW, 10, &len);
	batch_put_i32(b + BATCH_OFF_LEADER_EPOCH, epoch); /* outside the CRC */
	assert_int_equal(log_append(log, b, len, NOW), 0);
	free(b);
}

static void fx_assert_epoch_end(struct log *log, int32_t epoch, int32_t want_epoch, int64_t want_end)
{
	int32_t e = -2;
	int64_t end = -2;
	int rc = log_end_offset_for_epoch(log, epoch, &e, &end);
	assert_int_equal(rc, want_end < 0 ? -ENOENT : 0);
	assert_int_equal(e, want_epoch);
	assert_int_equal(end, want_end);
}

static void fx_write_file(const char *dir, const char *name, const char *text)
{
	FILE *fp = fopen(fx_path(dir, name), "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static const char *fx_read_file(const char *dir, const char *name)
{
	static char buf[1024];
	FILE *fp = fopen(fx_path(dir, name), "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Batches of 5 records with epochs 0, 0, 1, 3: epoch 0 starts at 0, 1 at
 * 10, 3 at 15; the log ends at 20. */
static void fx_append_0013(struct log *log)
{
	fx_append_epoch(log, 5, 0);
	fx_append_epoch(log, 5, 0);
	fx_append_epoch(log, 5, 1);
	fx_append_epoch(log, 5, 3);
	assert_int_equal(log_end_offset(log), 20);
}

static void fx_assert_0013(struct log *log)
{
	assert_int_equal(log_latest_epoch(log), 3);
	fx_assert_epoch_end(log, 0, 0, 10);
	fx_assert_epoch_end(log, 1, 1, 15);
	fx_assert_epoch_end(log, 2, 1, 15); /* never seen: the one below it */
	fx_assert_epoch_end(log, 3, 3, log_end_offset(log));
	fx_assert_epoch_end(log, 4, -1, -1);
	fx_assert_epoch_end(log, -1, -1, -1);
}

static void log_append__records_leader_epochs(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	assert_int_equal(log_latest_epoch(log), -1);
	fx_assert_epoch_end(log, 0, -1, -1);
	/* No epoch (-1, NO_PARTITION_LEADER_EPOCH) records nothing. */
	fx_append_epoch(log, 2, -1);
	assert_int_equal(log_latest_epoch(log), -1);
	assert_int_equal(log_truncate_to(log, 0), 0);

	fx_append_0013(log);
	fx_assert_0013(log);
	assert_string_equal(fx_read_file(f->dir, "leader-epoch-checkpoint"), "0\n3\n0 0\n1 10\n3 15\n");
	/* A lower epoch is appended but not recorded. */
	fx_append_epoch(log, 5, 2);
	assert_int_equal(log_end_offset(log), 25);
	fx_assert_0013(log);
	log_close(log);
}

static void log_append_from_leader__accepts_a_gap_left_by_compaction(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	size_t len;
	uint8_t *b = fx_batch(0, 5, NOW, 10, &len);
	assert_int_equal(log_append(log, b, len, NOW), 0);
	free(b);
	/* The leader compacted offsets 5-9 away. */
	b = fx_batch(10, 5, NOW, 10, &len);
	assert_int_equal(log_append(log, b, len, NOW), -EINVAL); /* a producer's append has no gaps */
	assert_int_equal(log_append_from_leader(log, b, len, NOW), 0);
	free(b);
	assert_int_equal(log_end_offset(log), 15);
	/* Never backwards. */
	b = fx_batch(12, 5, NOW, 10, &len);
	assert_int_equal(log_append_from_leader(log, b, len, NOW), -EINVAL);
	free(b);
	/* A read inside the gap starts at the next batch. */
	uint8_t *out;
	size_t out_len;
	assert_int_equal(log_read(log, 7, INT64_MAX, 1 << 20, true, &out, &out_len), 0);
	assert_true(out_len >= 8);
	int64_t base = 0;
	for (int i = 0; i < 8; i++)
		base = (base << 8) | out[i];
	assert_int_equal(base, 10);
	free(out);
	log_close(log);
	log = fx_open(f, NOW); /* the gap survives recovery */
	assert_int_equal(log_end_offset(log), 15);
	log_close(log);
}

static void log_assign_leader_epoch__starts_the_epoch_at_the_log_end(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	fx_append_0013(log); /* epochs 0@0, 1@10, 3@15, end 20 */
	/* A new leader in epoch 5 has written nothing yet: a follower that
	 * last saw epoch 4 (which this log never had) learns that epoch 3, the
	 * largest below it, ends at 20 - a diverging epoch, not "unknown". */
	fx_assert_epoch_end(log, 4, -1, -1);
	assert_int_equal(log_assign_leader_epoch(log, 5), 0);
	assert_int_equal(log_latest_epoch(log), 5);
	fx_assert_epoch_end(log, 4, 3, 20);
	fx_assert_epoch_end(log, 5, 5, 20);
	assert_string_equal(fx_read_file(f->dir, "leader-epoch-checkpoint"), "0\n4\n0 0\n1 10\n3 15\n5 20\n");
	/* Not above the latest: nothing. */
	assert_int_equal(log_assign_leader_epoch(log, 5), 0);
	assert_int_equal(log_assign_leader_epoch(log, 2), 0);
	assert_int_equal(log_latest_epoch(log), 5);
	/* Its batches follow in the same epoch; a later truncation into the
	 * old epochs drops it again. */
	fx_append_epoch(log, 2, 5);
	fx_assert_epoch_end(log, 5, 5, 22);
	assert_int_equal(log_truncate_to(log, 20), 0);
	assert_int_equal(log_latest_epoch(log), 3);
	log_close(log);
}

static void log_open__keeps_leader_epochs(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 300; /* a few segments */
	struct log *log = fx_open(f, NOW);
	fx_append_0013(log);
	assert_true(log_segment_count(log) > 1);
	log_close(log);

	log = fx_open(f, NOW);
	fx_assert_0013(log);
	/* After a crash too (the history is re-read above the recovery point). */
	fx_close_as_crash(f, log);
	log = fx_open(f, NOW);
	fx_assert_0013(log);
	fx_append_epoch(log, 1, 4);
	fx_assert_epoch_end(log, 3, 3, 20);
	fx_assert_epoch_end(log, 4, 4, 21);
	log_close(log);
}

static void log_open__crash_recovers_epochs_missing_from_checkpoint(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	fx_append_0013(log);
	fx_close_as_crash(f, log);
	/* What a crash between the append of epoch 3's first batch and the
	 * write of the file leaves: the file lacks epoch 3, and the recovery
	 * point is below that batch. */
	fx_write_file(f->dir, "leader-epoch-checkpoint", "0\n2\n0 0\n1 10\n");
	fx_write_file(f->dir, "recovery-point-offset-checkpoint", "0\n10\n");
	log = fx_open(f, NOW);
	fx_assert_0013(log);
	assert_string_equal(fx_read_file(f->dir, "leader-epoch-checkpoint"), "0\n3\n0 0\n1 10\n3 15\n");
	log_close(log);

	/* A torn last batch takes its epoch with it. */
	log = fx_open(f, NOW);
	fx_close_as_crash(f, log);
	fx_truncate_file(f->dir, "00000000000000000000.log", fx_file_size(f->dir, "00000000000000000000.log") - 3);
	fx_write_file(f->dir, "recovery-point-offset-checkpoint", "0\n10\n");
	log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), 15);
	assert_int_equal(log_latest_epoch(log), 1);
	fx_assert_epoch_end(log, 1, 1, 15);
	fx_assert_epoch_end(log, 3, -1, -1);
	log_close(log);
}

static void log_truncate_to__trims_leader_epochs(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	fx_append_0013(log);
	/* 17 is inside epoch 3's only batch (15-19): the batch and the epoch go. */
	assert_int_equal(log_truncate_to(log, 17), 0);
	assert_int_equal(log_end_offset(log), 15);
	assert_int_equal(log_latest_epoch(log), 1);
	fx_assert_epoch_end(log, 1, 1, 15);
	fx_assert_epoch_end(log, 3, -1, -1);
	/* A new leader's epoch continues from there. */
	fx_append_epoch(log, 5, 4);
	assert_int_equal(log_latest_epoch(log), 4);
	fx_assert_epoch_end(log, 1, 1, 15);
	fx_assert_epoch_end(log, 3, 1, 15);
	fx_assert_epoch_end(log, 4, 4, 20);
	log_close(log);
	log = fx_open(f, NOW);
	fx_assert_epoch_end(log, 3, 1, 15);
	fx_assert_epoch_end(log, 4, 4, 20);
	log_close(log);
}

static void log_truncate_to__below_log_start_clears_leader_epochs(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	fx_append_0013(log);
	assert_int_equal(log_advance_start_offset(log, 12), 0);
	/* Into the first segment, below the log start: nothing visible is left. */
	assert_int_equal(log_truncate_to(log, 5), 0);
	assert_int_equal(log_end_offset(log), 5);
	assert_int_equal(log_start_offset(log), 5);
	assert_int_equal(log_latest_epoch(log), -1);
	assert_string_equal(fx_read_file(f->dir, "leader-epoch-checkpoint"), "0\n0\n");
	fx_append_epoch(log, 1, 2);
	fx_assert_epoch_end(log, 2, 2, 6);
	fx_assert_epoch_end(log, 0, 0, 5);
	log_close(log);
}

static void log_truncate_to__below_first_segment_clears_leader_epochs(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 5, NOW, 10, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)len;
	f->cfg.retention_ms = -1;
	struct log *log = fx_open(f, NOW);
	fx_append_0013(log);
	assert_int_equal(log_advance_start_offset(log, 10), 0);
	assert_true(log_enforce_retention(log, NOW) > 0);
	/* 3 is below the first segment (10): the log restarts empty there. */
	assert_int_equal(log_truncate_to(log, 3), 0);
	assert_int_equal(log_end_offset(log), 3);
	assert_int_equal(log_latest_epoch(log), -1);
	log_close(log);
	log = fx_open(f, NOW);
	assert_int_equal(log_latest_epoch(log), -1);
	log_close(log);
}

static void log_advance_start_offset__collapses_leader_epochs(void **state)
{
	struct fx *f = *state;
	size_t len;
	uint8_t *b = fx_batch(0, 5, NOW, 10, &len);
	free(b);
	f->cfg.segment_bytes = (int64_t)len; /* one batch per segment */
	f->cfg.retention_ms = -1;
	struct log *log = fx_open(f, NOW);
	fx_append_0013(log);
	/* DeleteRecords to 12: epochs 0 is gone, 1 starts at 12. */
	assert_int_equal(log_advance_start_offset(log, 12), 0);
	assert_string_equal(fx_read_file(f->dir, "leader-epoch-checkpoint"), "0\n2\n1 12\n3 15\n");
	fx_assert_epoch_end(log, 0, 0, 12); /* below the first known: where the history begins */
	fx_assert_epoch_end(log, 1, 1, 15);
	/* Retention deletes the segments below: the start stays 12. */
	assert_true(log_enforce_retention(log, NOW) > 0);
	assert_int_equal(log_start_offset(log), 12);
	fx_assert_epoch_end(log, 1, 1, 15);
	/* retention.bytes: only the last segment stays (start 15). */
	f->cfg.retention_bytes = (int64_t)len;
	log_set_config(log, &f->cfg);
	assert_true(log_enforce_retention(log, NOW) > 0);
	assert_int_equal(log_start_offset(log), 15);
	assert_string_equal(fx_read_file(f->dir, "leader-epoch-checkpoint"), "0\n1\n3 15\n");
	fx_assert_epoch_end(log, 1, 1, 15);
	fx_assert_epoch_end(log, 3, 3, 20);
	log_close(log);
	log = fx_open(f, NOW);
	fx_assert_epoch_end(log, 1, 1, 15);
	log_close(log);
}

static void log_open__rebuilds_missing_or_corrupt_epoch_checkpoint(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 300;
	struct log *log = fx_open(f, NOW);
	fx_append_0013(log);
	log_close(log);

	/* A log written before epochs were recorded has no file. */
	assert_int_equal(unlink(fx_path(f->dir, "leader-epoch-checkpoint")), 0);
	log = fx_open(f, NOW);
	fx_assert_0013(log);
	assert_true(fx_exists(f->dir, "leader-epoch-checkpoint"));
	assert_string_equal(fx_read_file(f->dir, "leader-epoch-checkpoint"), "0\n3\n0 0\n1 10\n3 15\n");
	log_close(log);

	fx_write_file(f->dir, "leader-epoch-checkpoint", "0\n3\n0 0\nzz\n");
	log = fx_open(f, NOW);
	fx_assert_0013(log);
	log_close(log);

	/* Missing after a crash as well, and with a moved log start. */
	log = fx_open(f, NOW);
	assert_int_equal(log_advance_start_offset(log, 12), 0);
	fx_close_as_crash(f, log);
	assert_int_equal(unlink(fx_path(f->dir, "leader-epoch-checkpoint")), 0);
	log = fx_open(f, NOW);
	assert_string_equal(fx_read_file(f->dir, "leader-epoch-checkpoint"), "0\n2\n1 12\n3 15\n");
	fx_assert_epoch_end(log, 1, 1, 15);
	log_close(log);
}

/* ---- idempotent producers ---- */

/* A batch of n records at base_offset from producer pid with epoch and
 * base sequence, all stamped ts. */
static uint8_t *fx_idem_batch(int64_t base_offset, int n, int64_t pid, int16_t epoch, int32_t seq, int64_t ts,
			      size_t *len)
{
	uint8_t *b = fx_batch(base_offset, n, ts, 10, len);
	batch_put_i64(b + BATCH_OFF_PRODUCER_ID, pid);
	b[BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)epoch >> 8);
	b[BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)epoch;
	batch_put_i32(b + BATCH_OFF_BASE_SEQUENCE, seq);
	batch_update_crc(b, *len);
	return b;
}

/* The headers of every batch appended so far, to compute the state the
 * log must have at any end offset. */
struct fx_history {
	struct batch_header h[256];
	size_t n;
};

/* Appends an idempotent batch at the log end; returns 0 or the error
 * (usable in a child process, where cmocka's asserts must not run). */
static int fx_try_append_idem(struct log *log, struct fx_history *hist, int n, int64_t pid, int16_t epoch,
			      int32_t seq, int64_t ts)
{
	size_t len;
	uint8_t *b = fx_idem_batch(log_end_offset(log), n, pid, epoch, seq, ts, &len);
	int rc = log_append(log, b, len, NOW);
	if (rc == 0 && hist != NULL && hist->n < 256)
		batch_header_parse(b, len, &hist->h[hist->n++]);
	free(b);
	return rc;
}

static void fx_append_idem(struct log *log, struct fx_history *hist, int n, int64_t pid, int16_t epoch, int32_t seq)
{
	assert_int_equal(fx_try_append_idem(log, hist, n, pid, epoch, seq, NOW), 0);
}

/* Batch i of a fixed plan: three producers taking turns, two records each,
 * producer 300 bumping its epoch at batch 12, one non-idempotent batch
 * every seventh. Sequences follow per producer. */
static int fx_plan_append(struct log *log, struct fx_history *hist, int i, int32_t seqs[3])
{
	if (i % 7 == 6) {
		size_t len;
		uint8_t *b = fx_batch(log_end_offset(log), 1, NOW, 10, &len);
		int rc = log_append(log, b, len, NOW);
		free(b);
		return rc;
	}
	int p = i % 3;
	int16_t epoch = 0;
	if (p == 2 && i >= 12) {
		epoch = 1;
		if (i < 15)
			seqs[p] = 0; /* the first batch of the new epoch */
	}
	int rc = fx_try_append_idem(log, hist, 2, 100 * (p + 1), epoch, seqs[p], NOW + i);
	seqs[p] += 2;
	return rc;
}

static void fx_plan(struct log *log, struct fx_history *hist, int batches)
{
	int32_t seqs[3] = {0, 0, 0};
	for (int i = 0; i < batches; i++)
		assert_int_equal(fx_plan_append(log, hist, i, seqs), 0);
}

/* What the state must be when the log ends at `end`. */
static void fx_expect(const struct fx_history *hist, int64_t end, struct producer_state *out)
{
	producer_state_init(out);
	for (size_t i = 0; i < hist->n; i++)
		if (hist->h[i].base_offset + hist->h[i].last_offset_delta < end)
			assert_int_equal(producer_state_update(out, &hist->h[i]), 0);
}

static void fx_assert_producers(struct log *log, const struct fx_history *hist)
{
	struct producer_state want;
	fx_expect(hist, log_end_offset(log), &want);
	assert_int_equal(log_producer_count(log), want.count);
	for (size_t i = 0; i < want.count; i++) {
		const struct producer_state_entry *w = &want.entries[i];
		const struct producer_state_entry *e = log_producer_entry(log, w->producer_id);
		assert_non_null(e);
		assert_int_equal(e->producer_epoch, w->producer_epoch);
		assert_int_equal(e->last_timestamp, w->last_timestamp);
		assert_int_equal(e->nbatches, w->nbatches);
		for (size_t j = 0; j < w->nbatches; j++) {
			assert_int_equal(e->batches[j].first_seq, w->batches[j].first_seq);
			assert_int_equal(e->batches[j].last_seq, w->batches[j].last_seq);
			assert_int_equal(e->batches[j].last_offset, w->batches[j].last_offset);
			assert_int_equal(e->batches[j].offset_delta, w->batches[j].offset_delta);
			assert_int_equal(e->batches[j].max_timestamp, w->batches[j].max_timestamp);
		}
	}
	producer_state_free(&want);
}

/* What the leader's check answers for a batch a producer sends. */
static enum producer_state_result fx_producer_check(struct log *log, int n, int64_t pid, int16_t epoch, int32_t seq,
						    struct producer_state_verdict *v)
{
	size_t len;
	uint8_t *b = fx_idem_batch(0, n, pid, epoch, seq, NOW, &len);
	assert_int_equal(log_producer_check(log, b, len, v), 0);
	free(b);
	return v->result;
}

/* Snapshot offsets on disk; asserts they are at most the number kept and
 * within [log start, log end]. Returns how many. */
static size_t fx_snapshots(struct fx *f, struct log *log, int64_t *latest)
{
	int64_t *offsets;
	size_t n;
	assert_int_equal(producer_state_snapshot_list(f->dir, &offsets, &n), 0);
	assert_true(n <= LOG_PRODUCER_SNAPSHOTS_KEPT);
	for (size_t i = 0; i < n; i++) {
		assert_true(offsets[i] >= log_start_offset(log));
		assert_true(offsets[i] <= log_end_offset(log));
	}
	if (latest != NULL)
		*latest = n > 0 ? offsets[n - 1] : -1;
	free(offsets);
	return n;
}

static void fx_remove_snapshots(struct fx *f)
{
	int64_t *offsets;
	size_t n;
	assert_int_equal(producer_state_snapshot_list(f->dir, &offsets, &n), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(producer_state_snapshot_delete(f->dir, offsets[i]), 0);
	free(offsets);
}

static void log_append__tracks_idempotent_producers(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f, NOW);
	struct fx_history hist = {0};
	fx_append_idem(log, &hist, 3, 1, 0, 0); /* 0-2 */
	fx_append(log, 2, NOW, 10, NOW);         /* 3-4, no producer */
	fx_append_idem(log, &hist, 2, 1, 0, 3); /* 5-6 */
	fx_append_idem(log, &hist, 1, 2, 7, 0); /* 7 */
	assert_int_equal(log_producer_count(log), 2);
	const struct producer_state_entry *e = log_producer_entry(log, 1);
	assert_non_null(e);
	assert_int_equal(e->producer_epoch, 0);
	assert_int_equal(e->nbatches, 2);
	assert_int_equal(e->batches[1].last_seq, 4);
	assert_int_equal(e->batches[1].last_offset, 6);
	assert_null(log_producer_entry(log, 3));
	fx_assert_producers(log, &hist);

	struct producer_state_verdict v;
	/* A retry of the first batch: its offsets, nothing to append. */
	assert_int_equal(fx_producer_check(log, 3, 1, 0, 0, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(v.first_offset, 0);
	assert_int_equal(v.last_offset, 2);
	assert_int_equal(fx_producer_check(log, 2, 1, 0, 3, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(v.first_offset, 5);
	assert_int_equal(fx_producer_check(log, 1, 1, 0, 5, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_producer_check(log, 1, 1, 0, 6, &v), PRODUCER_STATE_OUT_OF_ORDER);
	assert_int_equal(v.known_last_seq, 4);
	assert_int_equal(fx_producer_check(log, 1, 2, 6, 0, &v), PRODUCER_STATE_INVALID_EPOCH);
	assert_int_equal(fx_producer_check(log, 1, 99, 0, 0, &v), PRODUCER_STATE_NEW);
	/* Not a batch. */
	uint8_t junk[10] = {0};
	assert_int_equal(log_producer_check(log, junk, sizeof junk, &v), -EINVAL);

	/* producer.id.expiration.ms after their last timestamp (NOW). */
	const int64_t exp = PRODUCER_STATE_DEFAULT_EXPIRATION_MS;
	assert_int_equal(log_expire_producers(log, NOW + exp - 1, exp), 0);
	assert_int_equal(log_expire_producers(log, NOW + exp, exp), 2);
	assert_int_equal(log_producer_count(log), 0);
	assert_int_equal(fx_producer_check(log, 1, 1, 0, 6, &v), PRODUCER_STATE_NEW);
	log_close(log);
}

static void log_open__restores_producers_from_snapshot_or_batches(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 300; /* about three batches a segment */
	struct log *log = fx_open(f, NOW);
	struct fx_history hist = {0};
	fx_plan(log, &hist, 20);
	assert_true(log_segment_count(log) > 4);
	fx_assert_producers(log, &hist);
	int64_t end = log_end_offset(log);
	/* One snapshot per roll, the newest kept. */
	int64_t latest;
	assert_int_equal(fx_snapshots(f, log, &latest), LOG_PRODUCER_SNAPSHOTS_KEPT);
	assert_true(latest < end);
	log_close(log);

	/* Clean close: a snapshot at the end, read back. */
	char name[32];
	producer_state_snapshot_name(end, name);
	assert_true(fx_exists(f->dir, name));
	log = fx_open(f, NOW);
	assert_int_equal(fx_snapshots(f, log, &latest), LOG_PRODUCER_SNAPSHOTS_KEPT);
	assert_int_equal(latest, end);
	fx_assert_producers(log, &hist);
	struct producer_state_verdict v;
	assert_int_equal(fx_producer_check(log, 2, 200, 0, 10, &v), PRODUCER_STATE_DUPLICATE);
	log_close(log);

	/* A corrupt one is dropped: an older one and the batches after it. */
	FILE *fp = fopen(fx_path(f->dir, name), "r+b");
	assert_non_null(fp);
	fseek(fp, 30, SEEK_SET);
	fputc(0x5a, fp);
	fclose(fp);
	log = fx_open(f, NOW);
	fx_assert_producers(log, &hist);
	assert_true(fx_snapshots(f, log, &latest) < LOG_PRODUCER_SNAPSHOTS_KEPT);
	assert_true(latest < end);
	log_close(log);

	/* None at all (a log written before snapshots): every batch. */
	fx_remove_snapshots(f);
	log = fx_open(f, NOW);
	fx_assert_producers(log, &hist);
	assert_int_equal(fx_producer_check(log, 2, 300, 1, 2, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(fx_producer_check(log, 1, 300, 0, 30, &v), PRODUCER_STATE_INVALID_EPOCH);
	/* And the same without a clean shutdown. */
	fx_close_as_crash(f, log);
	fx_remove_snapshots(f);
	log = fx_open(f, NOW);
	fx_assert_producers(log, &hist);
	/* Producer 100 wrote batches 0, 3, 9, 12, 15 and 18: 12 sequences. */
	assert_int_equal(fx_producer_check(log, 2, 100, 0, 12, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_plan_append(log, &hist, 21, (int32_t[3]){12, 0, 0}), 0);
	assert_int_equal(fx_producer_check(log, 2, 100, 0, 12, &v), PRODUCER_STATE_DUPLICATE);
	fx_assert_producers(log, &hist);
	log_close(log);
}

static void log_truncate_to__producer_state_as_of_new_end(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 300;
	struct log *log = fx_open(f, NOW);
	struct fx_history hist = {0};
	fx_plan(log, &hist, 24);
	int64_t end = log_end_offset(log);
	/* Inside the active segment, into the previous ones (past the kept
	 * snapshots), mid-batch, then back to one batch. */
	int64_t cuts[] = {end - 2, end - 5, end - 20, 13, 2};
	for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
		assert_int_equal(log_truncate_to(log, cuts[k]), 0);
		assert_true(log_end_offset(log) <= cuts[k]);
		fx_snapshots(f, log, NULL); /* none above the new end */
		fx_assert_producers(log, &hist);
	}
	assert_int_equal(log_end_offset(log), 2);
	assert_int_equal(log_producer_count(log), 1);
	/* What was cut is not a duplicate any more: a retry appends again. */
	struct producer_state_verdict v;
	assert_int_equal(fx_producer_check(log, 2, 100, 0, 2, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_producer_check(log, 2, 200, 0, 0, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_producer_check(log, 2, 100, 0, 0, &v), PRODUCER_STATE_DUPLICATE);
	/* The log grows back past where the old snapshots were. */
	hist.n = 1;
	fx_append_idem(log, &hist, 2, 100, 0, 2);
	fx_append_idem(log, &hist, 40, 200, 0, 0);
	fx_assert_producers(log, &hist);
	fx_close_as_crash(f, log);
	log = fx_open(f, NOW);
	fx_assert_producers(log, &hist);

	/* Back to empty, and restarted elsewhere: nothing is known. */
	assert_int_equal(log_truncate_to(log, 0), 0);
	assert_int_equal(log_producer_count(log), 0);
	fx_append_idem(log, NULL, 1, 100, 0, 7);
	assert_int_equal(log_restart_at(log, 500), 0);
	assert_int_equal(log_producer_count(log), 0);
	assert_int_equal(fx_snapshots(f, log, NULL), 0);
	assert_int_equal(fx_producer_check(log, 1, 100, 0, 8, &v), PRODUCER_STATE_NEW);
	log_close(log);
	log = fx_open(f, NOW);
	assert_int_equal(log_producer_count(log), 0);
	log_close(log);
}

static void log_open__recovers_producers_after_crash(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 300;
	/* A real crash: a child appends and exits without closing the log; what
	 * it wrote is in the page cache, as after kill -9. */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int err = 0;
		struct log *log = log_open(f->dir, &f->cfg, NOW, &err);
		int32_t seqs[3] = {0, 0, 0};
		for (int i = 0; log != NULL && i < 17; i++)
			if (fx_plan_append(log, NULL, i, seqs) != 0)
				_exit(2);
		_exit(log != NULL ? 0 : 1);
	}
	int status = 0;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_false(fx_exists(f->dir, LOG_CLEAN_SHUTDOWN_FILE));

	/* The same appends, to know what the state must be. */
	struct fx_history hist = {0};
	char scratch[600];
	snprintf(scratch, sizeof scratch, "%s/scratch-0", f->root);
	int err = 0;
	struct log *ref = log_open(scratch, &f->cfg, NOW, &err);
	assert_non_null(ref);
	fx_plan(ref, &hist, 17);
	int64_t end = log_end_offset(ref);
	log_close(ref);

	struct log *log = fx_open(f, NOW);
	assert_int_equal(log_end_offset(log), end);
	fx_assert_producers(log, &hist);
	struct producer_state_verdict v;
	assert_int_equal(fx_producer_check(log, 2, 100, 0, 8, &v), PRODUCER_STATE_DUPLICATE);
	assert_int_equal(fx_producer_check(log, 2, 100, 0, 10, &v), PRODUCER_STATE_NEW);
	log_close(log);
}

static void log_enforce_retention__keeps_producers_drops_old_snapshots(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 300;
	f->cfg.retention_bytes = 600;
	f->cfg.retention_ms = -1;
	struct log *log = fx_open(f, NOW);
	struct fx_history hist = {0};
	fx_append_idem(log, &hist, 2, 7, 0, 0); /* producer 7 writes once, first */
	fx_plan(log, &hist, 20);
	assert_true(log_enforce_retention(log, NOW) > 0);
	assert_true(log_start_offset(log) > 1);
	/* Its batch is gone, not what the log knows of it (KIP-360). */
	fx_snapshots(f, log, NULL);
	assert_non_null(log_producer_entry(log, 7));
	fx_assert_producers(log, &hist);
	log_close(log);

	log = fx_open(f, NOW);
	assert_non_null(log_producer_entry(log, 7));
	struct producer_state_verdict v;
	assert_int_equal(fx_producer_check(log, 1, 7, 0, 2, &v), PRODUCER_STATE_NEW);
	assert_int_equal(fx_producer_check(log, 1, 7, 0, 3, &v), PRODUCER_STATE_OUT_OF_ORDER);
	log_close(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(log_append__read_round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_append__rejects_wrong_base_offset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_read__middle_offset_returns_containing_batch, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_read__min_one_with_small_max_bytes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_read__stops_before_max_offset, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_read__outside_range, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_append__rolls_by_size, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_append__rolls_by_time, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__reopens_after_clean_close, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__recovers_torn_tail, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__recovery_keeps_whole_batches_at_any_cut, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__recovery_drops_segments_after_torn_one, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__rebuilds_stale_index_after_crash, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_read__index_lookups_after_many_appends, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_offset_for_timestamp__finds_first_record_at_or_after, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_max_timestamp__exact_record, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_enforce_retention__by_bytes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_enforce_retention__by_time_rolls_and_deletes_all, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_enforce_retention__respects_high_watermark, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_advance_start_offset__deletes_segments_below_and_persists, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_truncate_to__drops_suffix, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_truncate_to__below_first_segment_restarts_empty, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_flush__moves_recovery_point, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_append__roll_leaves_recovery_point_to_flush, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_delete__removes_directory, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_visit__walks_every_batch_across_segments, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_set_drop_cb__sees_batches_retention_deletes, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__fails_without_parent, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_append__records_leader_epochs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_assign_leader_epoch__starts_the_epoch_at_the_log_end, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_append_from_leader__accepts_a_gap_left_by_compaction, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__keeps_leader_epochs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__crash_recovers_epochs_missing_from_checkpoint, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_truncate_to__trims_leader_epochs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_truncate_to__below_log_start_clears_leader_epochs, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_advance_start_offset__collapses_leader_epochs, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_truncate_to__below_first_segment_clears_leader_epochs, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__rebuilds_missing_or_corrupt_epoch_checkpoint, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_append__tracks_idempotent_producers, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__restores_producers_from_snapshot_or_batches, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(log_truncate_to__producer_state_as_of_new_end, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__recovers_producers_after_crash, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_enforce_retention__keeps_producers_drops_old_snapshots, fx_setup,
						fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
