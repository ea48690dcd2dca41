#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log/leader_epochs.h"
#include "log/log_fixture.h"

struct fx {
	char *dir; /* mkdtemp directory, removed in teardown */
	struct leader_epochs le;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->dir = fx_tmpdir();
	leader_epochs_init(&f->le);
	*state = f;
	return f->dir ? 0 : -1;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	leader_epochs_free(&f->le);
	fx_rmrf(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void fx_assert_entries(const struct leader_epochs *le, const int64_t (*want)[2], size_t n)
{
	assert_int_equal(le->count, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(le->entries[i].epoch, want[i][0]);
		assert_int_equal(le->entries[i].start_offset, want[i][1]);
	}
}

static void fx_write(const char *dir, const char *text)
{
	FILE *fp = fopen(fx_path(dir, LEADER_EPOCHS_CHECKPOINT), "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static char *fx_read(const char *dir)
{
	FILE *fp = fopen(fx_path(dir, LEADER_EPOCHS_CHECKPOINT), "r");
	assert_non_null(fp);
	static char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* (0,0) (1,5) (3,10) (7,20): the history most lookups below are made on. */
static void fx_fill(struct leader_epochs *le)
{
	assert_int_equal(leader_epochs_assign(le, 0, 0), 1);
	assert_int_equal(leader_epochs_assign(le, 1, 5), 1);
	assert_int_equal(leader_epochs_assign(le, 3, 10), 1);
	assert_int_equal(leader_epochs_assign(le, 7, 20), 1);
}

static void leader_epochs_assign__only_higher_epochs(void **state)
{
	struct fx *f = *state;
	assert_int_equal(leader_epochs_latest(&f->le), LEADER_EPOCHS_UNDEFINED_EPOCH);
	assert_int_equal(leader_epochs_assign(&f->le, 2, 0), 1);
	assert_int_equal(leader_epochs_latest(&f->le), 2);
	/* The latest again (every append of the epoch): nothing to do. */
	assert_int_equal(leader_epochs_assign(&f->le, 2, 4), 0);
	assert_int_equal(leader_epochs_assign(&f->le, 5, 10), 1);
	/* Lower epochs are ignored. */
	assert_int_equal(leader_epochs_assign(&f->le, 4, 12), -ERANGE);
	assert_int_equal(leader_epochs_assign(&f->le, 2, 12), -ERANGE);
	assert_int_equal(leader_epochs_assign(&f->le, -1, 12), -EINVAL);
	assert_int_equal(leader_epochs_assign(&f->le, 6, -1), -EINVAL);
	const int64_t want[][2] = {{2, 0}, {5, 10}};
	fx_assert_entries(&f->le, want, 2);
	assert_int_equal(leader_epochs_latest(&f->le), 5);
}

static void leader_epochs_assign__drops_entries_not_below_new_start(void **state)
{
	struct fx *f = *state;
	fx_fill(&f->le);
	/* Epoch 9 at offset 10: (3,10) and (7,20) describe rewritten offsets. */
	assert_int_equal(leader_epochs_assign(&f->le, 9, 10), 1);
	const int64_t want[][2] = {{0, 0}, {1, 5}, {9, 10}};
	fx_assert_entries(&f->le, want, 3);
}

static void leader_epochs_end_offset_for__kafka_semantics(void **state)
{
	struct fx *f = *state;
	int32_t e;
	int64_t off;
	/* Empty history: nothing is known. */
	assert_false(leader_epochs_end_offset_for(&f->le, 0, 30, &e, &off));
	assert_int_equal(e, -1);
	assert_int_equal(off, -1);

	fx_fill(&f->le);
	/* The latest epoch ends at the log end offset. */
	assert_true(leader_epochs_end_offset_for(&f->le, 7, 30, &e, &off));
	assert_int_equal(e, 7);
	assert_int_equal(off, 30);
	/* A known older epoch ends where the next one starts. */
	assert_true(leader_epochs_end_offset_for(&f->le, 0, 30, &e, &off));
	assert_int_equal(e, 0);
	assert_int_equal(off, 5);
	assert_true(leader_epochs_end_offset_for(&f->le, 3, 30, &e, &off));
	assert_int_equal(e, 3);
	assert_int_equal(off, 20);
	/* An epoch we never saw (2, 4..6): the largest known epoch below it,
	 * and the start of the first one above it. */
	assert_true(leader_epochs_end_offset_for(&f->le, 2, 30, &e, &off));
	assert_int_equal(e, 1);
	assert_int_equal(off, 10);
	assert_true(leader_epochs_end_offset_for(&f->le, 5, 30, &e, &off));
	assert_int_equal(e, 3);
	assert_int_equal(off, 20);
	/* Above every known epoch, or undefined: unknown. */
	assert_false(leader_epochs_end_offset_for(&f->le, 8, 30, &e, &off));
	assert_int_equal(e, -1);
	assert_int_equal(off, -1);
	assert_false(leader_epochs_end_offset_for(&f->le, -1, 30, &e, &off));
	assert_int_equal(e, -1);
	assert_int_equal(off, -1);
}

static void leader_epochs_end_offset_for__below_first_known_epoch(void **state)
{
	struct fx *f = *state;
	assert_int_equal(leader_epochs_assign(&f->le, 4, 100), 1);
	assert_int_equal(leader_epochs_assign(&f->le, 6, 150), 1);
	int32_t e;
	int64_t off;
	/* KIP-279: the requested epoch itself and where our history begins, so
	 * a follower truncates to the leader's first known epoch. */
	assert_true(leader_epochs_end_offset_for(&f->le, 2, 200, &e, &off));
	assert_int_equal(e, 2);
	assert_int_equal(off, 100);
	assert_true(leader_epochs_end_offset_for(&f->le, 0, 200, &e, &off));
	assert_int_equal(e, 0);
	assert_int_equal(off, 100);
	assert_true(leader_epochs_end_offset_for(&f->le, 5, 200, &e, &off));
	assert_int_equal(e, 4);
	assert_int_equal(off, 150);
}

static void leader_epochs_truncate_from_end__drops_entries_at_or_after(void **state)
{
	struct fx *f = *state;
	fx_fill(&f->le);
	assert_false(leader_epochs_truncate_from_end(&f->le, 21));
	assert_int_equal(f->le.count, 4);
	assert_true(leader_epochs_truncate_from_end(&f->le, 20));
	const int64_t want[][2] = {{0, 0}, {1, 5}, {3, 10}};
	fx_assert_entries(&f->le, want, 3);
	assert_true(leader_epochs_truncate_from_end(&f->le, 6));
	fx_assert_entries(&f->le, want, 2);
	/* After truncation a new epoch goes on top of what is left. */
	assert_int_equal(leader_epochs_assign(&f->le, 4, 6), 1);
	assert_int_equal(leader_epochs_latest(&f->le), 4);
	assert_true(leader_epochs_truncate_from_end(&f->le, 0));
	assert_int_equal(f->le.count, 0);
	assert_false(leader_epochs_truncate_from_end(&f->le, 0));
}

static void leader_epochs_truncate_from_start__collapses_entries_below(void **state)
{
	struct fx *f = *state;
	fx_fill(&f->le);
	assert_false(leader_epochs_truncate_from_start(&f->le, 0)); /* already starts there */
	/* Start 12: (0,0) and (1,5) go, (3,10) now starts at 12. */
	assert_true(leader_epochs_truncate_from_start(&f->le, 12));
	const int64_t want[][2] = {{3, 12}, {7, 20}};
	fx_assert_entries(&f->le, want, 2);
	assert_false(leader_epochs_truncate_from_start(&f->le, 12));
	/* Exactly at an epoch's start: that epoch is first and unchanged. */
	assert_true(leader_epochs_truncate_from_start(&f->le, 20));
	const int64_t want2[][2] = {{7, 20}};
	fx_assert_entries(&f->le, want2, 1);
	/* Past every start: the last epoch starts at the new log start. */
	assert_true(leader_epochs_truncate_from_start(&f->le, 25));
	const int64_t want3[][2] = {{7, 25}};
	fx_assert_entries(&f->le, want3, 1);
	int32_t e;
	int64_t off;
	assert_true(leader_epochs_end_offset_for(&f->le, 7, 30, &e, &off));
	assert_int_equal(off, 30);
}

static void leader_epochs_truncate_from_start__empty_is_noop(void **state)
{
	struct fx *f = *state;
	assert_false(leader_epochs_truncate_from_start(&f->le, 10));
	assert_int_equal(f->le.count, 0);
}

static void leader_epochs_store__round_trip(void **state)
{
	struct fx *f = *state;
	assert_int_equal(leader_epochs_load(&f->le, f->dir), -ENOENT);
	fx_fill(&f->le);
	assert_int_equal(leader_epochs_assign(&f->le, INT32_MAX, 9000000000000000000LL), 1);
	assert_int_equal(leader_epochs_store(&f->le, f->dir), 0);
	assert_string_equal(fx_read(f->dir), "0\n5\n0 0\n1 5\n3 10\n7 20\n2147483647 9000000000000000000\n");
	assert_false(fx_exists(f->dir, LEADER_EPOCHS_CHECKPOINT ".tmp"));

	struct leader_epochs back;
	leader_epochs_init(&back);
	assert_int_equal(leader_epochs_load(&back, f->dir), 0);
	assert_int_equal(back.count, f->le.count);
	for (size_t i = 0; i < back.count; i++) { /* field by field: the struct has padding */
		assert_int_equal(back.entries[i].epoch, f->le.entries[i].epoch);
		assert_int_equal(back.entries[i].start_offset, f->le.entries[i].start_offset);
	}

	/* An empty history round-trips too; a load replaces what was there. */
	leader_epochs_clear(&f->le);
	assert_int_equal(leader_epochs_store(&f->le, f->dir), 0);
	assert_string_equal(fx_read(f->dir), "0\n0\n");
	assert_int_equal(leader_epochs_load(&back, f->dir), 0);
	assert_int_equal(back.count, 0);
	leader_epochs_free(&back);
}

static void leader_epochs_load__accepts_kafka_spacing(void **state)
{
	struct fx *f = *state;
	/* Kafka splits on whitespace; the last newline may be missing. */
	fx_write(f->dir, "0\n2\n0\t0\n4  17");
	assert_int_equal(leader_epochs_load(&f->le, f->dir), 0);
	const int64_t want[][2] = {{0, 0}, {4, 17}};
	fx_assert_entries(&f->le, want, 2);
}

static void leader_epochs_load__rejects_corrupt_file(void **state)
{
	struct fx *f = *state;
	const char *bad[] = {
		"",                             /* empty */
		"1\n0\n",                       /* unknown version */
		"0\n",                          /* no count */
		"0\n2\n0 0\n",                  /* fewer entries than announced */
		"0\n1\n0 0\n1 5\n",             /* more */
		"0\n1\n0\n",                    /* one field */
		"0\n1\n0 0 0\n",                /* three fields */
		"0\n1\n-1 0\n",                 /* negative epoch */
		"0\n1\n0 -5\n",                 /* negative offset */
		"0\n1\n2147483648 0\n",         /* epoch beyond int32 */
		"0\n1\n0 99999999999999999999\n", /* offset beyond int64 */
		"0\n2\n3 0\n3 5\n",             /* epochs not increasing */
		"0\n2\n3 10\n4 5\n",            /* offsets decreasing */
		"0\n1\nx y\n",                  /* not numbers */
		"0\n1000000000\n0 0\n",         /* huge count: refused before allocating */
		"0\n1\n0 0\r\n",                /* stray byte */
	};
	/* A previous content is dropped even when the load fails. */
	fx_fill(&f->le);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fx_write(f->dir, bad[i]);
		assert_int_equal(leader_epochs_load(&f->le, f->dir), -EBADMSG);
		assert_int_equal(f->le.count, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(leader_epochs_assign__only_higher_epochs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_assign__drops_entries_not_below_new_start, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_end_offset_for__kafka_semantics, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_end_offset_for__below_first_known_epoch, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_truncate_from_end__drops_entries_at_or_after, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_truncate_from_start__collapses_entries_below, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_truncate_from_start__empty_is_noop, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_store__round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_load__accepts_kafka_spacing, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(leader_epochs_load__rejects_corrupt_file, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
