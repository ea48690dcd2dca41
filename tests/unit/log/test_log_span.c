/* log_read_span: the batches log_read copies, as a span of the segment file,
 * and the promise that a span keeps yielding the bytes it was read with
 * whatever the log does afterwards (retention, truncation, close). */
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
#include <unistd.h>

#include "broker/log/log.h"
#include "log/log_fixture.h"

#define NOW 1700000000000LL

struct fx {
	char *root;
	char dir[512];
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

static struct log *fx_open(struct fx *f)
{
	int err = 0;
	struct log *log = log_open(f->dir, &f->cfg, NOW, &err);
	assert_non_null(log);
	assert_int_equal(err, 0);
	return log;
}

static size_t fx_append(struct log *log, int n, size_t value_len)
{
	size_t len;
	uint8_t *b = fx_batch(log_end_offset(log), n, NOW, value_len, &len);
	assert_int_equal(log_append(log, b, len, NOW), 0);
	free(b);
	return len;
}

/* The span's bytes, gathered through log_span_locate from a few starting
 * points (as net does after partial writes). */
static uint8_t *span_bytes(const struct log_span *span, size_t len, bool *in_memory)
{
	uint8_t *out = malloc(len ? len : 1);
	size_t starts[] = {0, len / 3, len / 2};
	for (size_t s = 0; s < sizeof starts / sizeof starts[0]; s++) {
		size_t from = starts[s];
		const uint8_t *data;
		int fd;
		int64_t off;
		assert_int_equal(log_span_locate(span, from, &data, &fd, &off), 0);
		if (in_memory)
			*in_memory = data != NULL;
		if (data != NULL)
			memcpy(out + from, data, len - from);
		else
			assert_int_equal(pread(fd, out + from, len - from, off), (ssize_t)(len - from));
	}
	return out;
}

/* Same result as log_read for every combination of start, limit and size,
 * over small batches (one window read covers several) and large ones (only
 * headers are read), across segments. */
static void log_read_span__matches_log_read(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 200 * 1024;
	struct log *log = fx_open(f);
	for (int i = 0; i < 60; i++)
		fx_append(log, 1 + i % 3, (i % 10 == 9) ? 20000 : (size_t)(10 + 40 * (i % 5)));
	assert_true(log_segment_count(log) > 1);
	int64_t end = log_end_offset(log);
	size_t sizes[] = {0, 1, 100, 5000, 9000, 30000, 100000, 1 << 20};
	int64_t limits[] = {INT64_MAX, end - 1, 20, 3};
	int checked = 0;
	for (int64_t off = 0; off <= end; off += 7) {
		for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
			for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++)
				for (int min_one = 0; min_one < 2; min_one++) {
					uint8_t *copy = NULL;
					size_t clen = 0;
					struct log_span *span = NULL;
					size_t slen = 0;
					int rc1 = log_read(log, off, limits[li], sizes[si], min_one, &copy, &clen);
					int rc2 = log_read_span(log, off, limits[li], sizes[si], min_one, &span, &slen);
					assert_int_equal(rc1, rc2);
					assert_int_equal(clen, slen);
					assert_true((span != NULL) == (slen > 0));
					if (slen > 0) {
						uint8_t *got = span_bytes(span, slen, NULL);
						assert_memory_equal(got, copy, clen);
						free(got);
						checked++;
					}
					free(copy);
					log_span_release(span);
				}
	}
	assert_true(checked > 100);
	assert_int_equal(log_read_span(log, end + 1, INT64_MAX, 100, true, &(struct log_span *){NULL},
				       &(size_t){0}),
			 -ERANGE);
	log_close(log);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Retention deletes the segment a span reads from, then the log closes:
 * the span still has its bytes (from the unlinked file), and the file is
 * closed when the last span goes. */
static void log_span__outlives_retention_and_close(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 4096;
	struct log *log = fx_open(f);
	for (int i = 0; i < 20; i++)
		fx_append(log, 2, 300);
	assert_true(log_segment_count(log) > 3);
	uint8_t *copy = NULL;
	size_t clen = 0;
	assert_int_equal(log_read(log, 0, INT64_MAX, 1 << 20, true, &copy, &clen), 0);
	struct log_span *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	assert_int_equal(log_read_span(log, 0, INT64_MAX, 1 << 20, true, &a, &alen), 0);
	assert_int_equal(log_read_span(log, 1, INT64_MAX, 1 << 20, true, &b, &blen), 0);
	assert_int_equal(alen, clen);
	const uint8_t *data;
	int fd;
	int64_t off;
	assert_int_equal(log_span_locate(a, 0, &data, &fd, &off), 0);
	assert_null(data);

	log_set_high_watermark(log, log_end_offset(log));
	assert_int_equal(log_advance_start_offset(log, 30), 0);
	assert_true(log_enforce_retention(log, NOW) > 0);
	assert_false(fx_exists(f->dir, "00000000000000000000.log"));
	uint8_t *got = span_bytes(a, alen, NULL);
	assert_memory_equal(got, copy, clen);
	free(got);

	log_close(log);
	got = span_bytes(b, blen, NULL);
	assert_memory_equal(got, copy, blen);
	free(got);
	log_span_release(a);
	assert_true(fd_open(fd)); /* b still reads from it */
	log_span_release(b);
	assert_false(fd_open(fd));
	free(copy);
}

/* A truncation cuts into a span: the span moves to memory first, and
 * what is appended at the same positions later does not show through. A
 * span wholly below the cut stays in the file. */
static void log_span__survives_truncation_and_rewrite(void **state)
{
	struct fx *f = *state;
	struct log *log = fx_open(f);
	for (int i = 0; i < 10; i++)
		fx_append(log, 1, 100);
	uint8_t *before = NULL;
	size_t blen = 0;
	assert_int_equal(log_read(log, 5, INT64_MAX, 1 << 20, true, &before, &blen), 0);
	struct log_span *tail = NULL, *head = NULL;
	size_t tlen = 0, hlen = 0;
	assert_int_equal(log_read_span(log, 5, INT64_MAX, 1 << 20, true, &tail, &tlen), 0);
	assert_int_equal(log_read_span(log, 0, 3, 1 << 20, true, &head, &hlen), 0);
	assert_int_equal(tlen, blen);

	assert_int_equal(log_truncate_to(log, 7), 0);
	for (int i = 0; i < 10; i++)
		fx_append(log, 2, 150); /* other bytes where the tail was */

	bool in_memory = false;
	uint8_t *got = span_bytes(tail, tlen, &in_memory);
	assert_true(in_memory);
	assert_memory_equal(got, before, blen);
	free(got);
	got = span_bytes(head, hlen, &in_memory);
	assert_false(in_memory);
	uint8_t *h = NULL;
	size_t hl = 0;
	assert_int_equal(log_read(log, 0, 3, 1 << 20, true, &h, &hl), 0);
	assert_int_equal(hl, hlen);
	assert_memory_equal(got, h, hl);
	free(got);
	free(h);
	free(before);
	log_span_release(tail);
	log_span_release(head);

	/* Truncating below the first segment (restart) and a span of it. */
	struct log_span *all = NULL;
	size_t alen = 0;
	uint8_t *copy = NULL;
	size_t clen = 0;
	assert_int_equal(log_read(log, 0, INT64_MAX, 1 << 20, true, &copy, &clen), 0);
	assert_int_equal(log_read_span(log, 0, INT64_MAX, 1 << 20, true, &all, &alen), 0);
	assert_int_equal(log_restart_at(log, 1000), 0);
	for (int i = 0; i < 5; i++)
		fx_append(log, 3, 80);
	got = span_bytes(all, alen, NULL);
	assert_int_equal(alen, clen);
	assert_memory_equal(got, copy, clen);
	free(got);
	free(copy);
	log_span_release(all);
	log_close(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(log_read_span__matches_log_read, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_span__outlives_retention_and_close, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_span__survives_truncation_and_rewrite, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
