/* Unit tests of cmd/tern-perf/latency.c (compiled in). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cmd/tern-perf/latency.c"

static void latency_percentile__nearest_rank(void **state)
{
	struct latency l;
	assert_int_equal(latency_init(&l, 4), 0);
	assert_int_equal(latency_percentile(&l, 50), 0);
	latency_add(&l, 4);
	latency_add(&l, 1);
	latency_add(&l, 3);
	latency_add(&l, 2);
	latency_add(&l, 100); /* beyond capacity: dropped */
	assert_int_equal(latency_percentile(&l, 50), 2);
	assert_int_equal(latency_percentile(&l, 99), 4);
	assert_int_equal(latency_percentile(&l, 100), 4);
	assert_int_equal(latency_percentile(&l, 1), 1);
	latency_free(&l);
}

static void latency_percentile__single_sample(void **state)
{
	struct latency l;
	assert_int_equal(latency_init(&l, 8), 0);
	latency_add(&l, 7);
	assert_int_equal(latency_percentile(&l, 50), 7);
	assert_int_equal(latency_percentile(&l, 99), 7);
	latency_free(&l);
}

static void latency_percentile__fractional_and_max(void **state)
{
	struct latency l;
	assert_int_equal(latency_init(&l, 1000), 0);
	for (int64_t i = 1000; i >= 1; i--)
		latency_add(&l, i);
	/* p99.9 of 1..1000: rank ceil(999.0) = 999; p100 is the maximum. */
	assert_int_equal(latency_percentile(&l, 99.9), 999);
	assert_int_equal(latency_percentile(&l, 99), 990);
	assert_int_equal(latency_percentile(&l, 50), 500);
	assert_int_equal(latency_percentile(&l, 100), 1000);
	latency_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(latency_percentile__nearest_rank),
		cmocka_unit_test(latency_percentile__single_sample),
		cmocka_unit_test(latency_percentile__fractional_and_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
