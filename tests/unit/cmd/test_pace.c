/* Unit tests of cmd/tern-perf/pace.c (compiled in). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cmd/tern-perf/pace.c"

static void pace__schedule_at_rate(void **state)
{
	struct pace p;
	pace_init(&p, 10000, 1000); /* one record every 100 us from t=1000 */
	assert_int_equal(pace_due_at(&p, 0), 1000);
	assert_int_equal(pace_due_at(&p, 1), 1100);
	assert_int_equal(pace_due_at(&p, 10000), 1000 + 1000000);
	assert_int_equal(pace_due_count(&p, 999), 0);
	assert_int_equal(pace_due_count(&p, 1000), 1);
	assert_int_equal(pace_due_count(&p, 1099), 1);
	assert_int_equal(pace_due_count(&p, 1100), 2);
	assert_int_equal(pace_wait_us(&p, 1, 1040), 60);
	assert_int_equal(pace_wait_us(&p, 1, 1100), 0);
	assert_int_equal(pace_wait_us(&p, 1, 5000), 0);
}

static void pace__uneven_interval_does_not_drift(void **state)
{
	struct pace p;
	pace_init(&p, 3, 0); /* 333,333.3 us apart: rounded up, never early */
	assert_int_equal(pace_due_at(&p, 1), 333334);
	assert_int_equal(pace_due_at(&p, 2), 666667);
	assert_int_equal(pace_due_at(&p, 3), 1000000);
	assert_int_equal(pace_due_at(&p, 3000), 1000000000);
	/* due_count and due_at agree: record i is due exactly from due_at(i). */
	for (int64_t i = 1; i < 50; i++) {
		assert_int_equal(pace_due_count(&p, pace_due_at(&p, i)), i + 1);
		assert_int_equal(pace_due_count(&p, pace_due_at(&p, i) - 1), i);
	}
}

static void pace__late_sender_is_not_shifted(void **state)
{
	struct pace p;
	pace_init(&p, 1000, 0);
	/* Stalled for 10.5 ms: 11 records are overdue, the schedule stays. */
	assert_int_equal(pace_due_count(&p, 10500), 11);
	assert_int_equal(pace_late_us(&p, 0, 10500), 10500);
	assert_int_equal(pace_late_us(&p, 10, 10500), 500);
	assert_int_equal(pace_late_us(&p, 11, 10500), 0);
	assert_int_equal(pace_due_at(&p, 11), 11000);
}

static void pace__unlimited_and_bounds(void **state)
{
	struct pace p;
	pace_init(&p, 0, 500);
	assert_int_equal(pace_due_at(&p, 123456), 500);
	assert_int_equal(pace_wait_us(&p, 123456, 500), 0);
	assert_true(pace_due_count(&p, 500) > INT32_MAX);
	assert_int_equal(pace_due_count(&p, 499), 0);
	pace_init(&p, -5, 0);
	assert_int_equal(p.rate, 0);
	pace_init(&p, INT64_MAX, 0);
	assert_int_equal(p.rate, PACE_MAX_RATE);
	/* A day at the highest rate stays in range. */
	int64_t day = 86400LL * 1000000;
	assert_int_equal(pace_due_count(&p, day), 86400LL * PACE_MAX_RATE + 1);
	assert_int_equal(pace_due_at(&p, INT32_MAX), (INT32_MAX * 1000000LL + PACE_MAX_RATE - 1) / PACE_MAX_RATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pace__schedule_at_rate),
		cmocka_unit_test(pace__uneven_interval_does_not_drift),
		cmocka_unit_test(pace__late_sender_is_not_shifted),
		cmocka_unit_test(pace__unlimited_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
