#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "raft/placement.h"

static bool distinct(const int32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (ids[i] == ids[j])
				return false;
	return true;
}

static void placement_assign__six_partitions_rf3_each_broker_leads_two(void **state)
{
	(void)state;
	/* Listed out of order: placement sorts by id. */
	const struct placement_broker b[] = {{2, NULL}, {0, NULL}, {1, NULL}};
	for (uint32_t start = 0; start < 5; start++) {
		int32_t out[6 * 3];
		assert_int_equal(placement_assign(b, 3, 0, 6, 3, start, out), 0);
		int leads[3] = {0}, replicas[3] = {0};
		for (int p = 0; p < 6; p++) {
			assert_true(distinct(out + 3 * p, 3));
			leads[out[3 * p]]++;
			for (int j = 0; j < 3; j++)
				replicas[out[3 * p + j]]++;
		}
		for (int i = 0; i < 3; i++) {
			assert_int_equal(leads[i], 2);
			assert_int_equal(replicas[i], 6);
		}
	}
}

static void placement_assign__start_rotates_the_first_leader(void **state)
{
	(void)state;
	const struct placement_broker b[] = {{0, NULL}, {1, NULL}, {2, NULL}};
	int32_t a[3], c[3];
	assert_int_equal(placement_assign(b, 3, 0, 1, 3, 0, a), 0);
	assert_int_equal(placement_assign(b, 3, 0, 1, 3, 1, c), 0);
	assert_int_not_equal(a[0], c[0]);
	/* Followers spread: over 5 brokers RF 2, partitions 0..9 pair each
	 * leader with two different followers (the shift grows on wrap). */
	const struct placement_broker five[] = {{0, NULL}, {1, NULL}, {2, NULL}, {3, NULL}, {4, NULL}};
	int32_t out[10 * 2];
	assert_int_equal(placement_assign(five, 5, 0, 10, 2, 0, out), 0);
	for (int p = 0; p < 5; p++) {
		assert_int_equal(out[2 * p], out[2 * (p + 5)]);
		assert_int_not_equal(out[2 * p + 1], out[2 * (p + 5) + 1]);
	}
}

static void placement_assign__rack_aware_spreads_racks_first(void **state)
{
	(void)state;
	/* Racks a: 0 3, b: 1 4, c: 2 5. */
	const struct placement_broker b[] = {{0, "a"}, {1, "b"}, {2, "c"}, {3, "a"}, {4, "b"}, {5, "c"}};
	for (uint32_t start = 0; start < 6; start++) {
		int32_t out[12 * 3];
		assert_int_equal(placement_assign(b, 6, 0, 12, 3, start, out), 0);
		int leads[6] = {0};
		for (int p = 0; p < 12; p++) {
			const int32_t *r = out + 3 * p;
			assert_true(distinct(r, 3));
			/* One replica per rack: ids mod 3 are the racks. */
			bool rack[3] = {false};
			for (int j = 0; j < 3; j++)
				rack[r[j] % 3] = true;
			assert_true(rack[0] && rack[1] && rack[2]);
			leads[r[0]]++;
		}
		for (int i = 0; i < 6; i++)
			assert_int_equal(leads[i], 2);
	}
	/* Two racks, RF 3: both racks hold a replica, the third goes anywhere. */
	const struct placement_broker two[] = {{0, "x"}, {1, "x"}, {2, "y"}, {3, "y"}};
	int32_t out[4 * 3];
	assert_int_equal(placement_assign(two, 4, 0, 4, 3, 0, out), 0);
	for (int p = 0; p < 4; p++) {
		const int32_t *r = out + 3 * p;
		assert_true(distinct(r, 3));
		bool x = false, y = false;
		for (int j = 0; j < 3; j++) {
			x |= r[j] < 2;
			y |= r[j] >= 2;
		}
		assert_true(x && y);
	}
}

static void placement_assign__continues_a_topic_and_rejects_bad_rf(void **state)
{
	(void)state;
	const struct placement_broker b[] = {{0, NULL}, {1, NULL}, {2, NULL}};
	int32_t all[6], tail[3];
	assert_int_equal(placement_assign(b, 3, 0, 6, 1, 0, all), 0);
	assert_int_equal(placement_assign(b, 3, 3, 3, 1, 0, tail), 0);
	assert_memory_equal(all + 3, tail, sizeof tail);
	int32_t out[4];
	assert_int_equal(placement_assign(b, 3, 0, 1, 4, 0, out), -EINVAL);
	assert_int_equal(placement_assign(b, 3, 0, 1, 0, 0, out), -EINVAL);
	assert_int_equal(placement_assign(b, 0, 0, 1, 1, 0, out), -EINVAL);
	/* One broker, RF 1. */
	assert_int_equal(placement_assign(b, 1, 0, 4, 1, 7, out), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(out[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(placement_assign__six_partitions_rf3_each_broker_leads_two),
		cmocka_unit_test(placement_assign__start_rotates_the_first_leader),
		cmocka_unit_test(placement_assign__rack_aware_spreads_racks_first),
		cmocka_unit_test(placement_assign__continues_a_topic_and_rejects_bad_rf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
