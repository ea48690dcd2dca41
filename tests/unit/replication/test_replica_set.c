/* replica_set: the leader's high watermark from its followers' fetches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "replication/replica_set.h"

static const int32_t all3[] = {0, 1, 2};

static void replica_set__high_watermark_is_the_lowest_isr_end(void **state)
{
	(void)state;
	struct replica_set rs;
	memset(&rs, 0, sizeof rs);
	replica_set_reset(&rs, 0, all3, 3, all3, 3, 0);
	assert_int_equal(replica_set_isr_size(&rs), 3);
	/* Followers have not fetched: nothing is known to be replicated. */
	assert_int_equal(replica_set_update(&rs, 10), 0);
	assert_true(replica_set_fetched(&rs, 1, 10, 100));
	assert_int_equal(replica_set_update(&rs, 10), 0); /* 2 unknown */
	assert_true(replica_set_fetched(&rs, 2, 4, 100));
	assert_int_equal(replica_set_update(&rs, 10), 4);
	assert_true(replica_set_fetched(&rs, 2, 10, 200));
	assert_int_equal(replica_set_update(&rs, 12), 10); /* the leader is ahead */
	assert_false(replica_set_fetched(&rs, 7, 10, 200)); /* not a replica */
}

static void replica_set__never_moves_back_and_follows_the_isr(void **state)
{
	(void)state;
	struct replica_set rs;
	memset(&rs, 0, sizeof rs);
	replica_set_reset(&rs, 0, all3, 3, all3, 3, 5);
	replica_set_fetched(&rs, 1, 8, 1);
	replica_set_fetched(&rs, 2, 3, 1);
	assert_int_equal(replica_set_update(&rs, 8), 5); /* 3 < 5: held */
	/* Broker 2 leaves the ISR: only 0 and 1 count now; 1's progress is kept. */
	const int32_t isr01[] = {0, 1};
	replica_set_reset(&rs, 0, all3, 3, isr01, 2, 0);
	assert_int_equal(replica_set_isr_size(&rs), 2);
	assert_int_equal(replica_set_update(&rs, 8), 8);
	/* Alone in the ISR: the leader's end is the high watermark. */
	const int32_t isr0[] = {0};
	replica_set_reset(&rs, 0, all3, 3, isr0, 1, 0);
	assert_int_equal(replica_set_update(&rs, 11), 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replica_set__high_watermark_is_the_lowest_isr_end),
		cmocka_unit_test(replica_set__never_moves_back_and_follows_the_isr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
