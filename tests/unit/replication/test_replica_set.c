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
	replica_set_reset(&rs, 0, all3, 3, all3, 3, 0, 0, false);
	assert_int_equal(replica_set_isr_size(&rs), 3);
	/* Followers have not fetched: nothing is known to be replicated. */
	assert_int_equal(replica_set_update(&rs, 10), 0);
	assert_true(replica_set_fetched(&rs, 1, 10, 100, 100));
	assert_int_equal(replica_set_update(&rs, 10), 0); /* 2 unknown */
	assert_true(replica_set_fetched(&rs, 2, 4, 100, 100));
	assert_int_equal(replica_set_update(&rs, 10), 4);
	assert_true(replica_set_fetched(&rs, 2, 10, 100, 200));
	assert_int_equal(replica_set_update(&rs, 12), 10); /* the leader is ahead */
	assert_false(replica_set_fetched(&rs, 7, 10, 100, 200)); /* not a replica */
}

static void replica_set__never_moves_back_and_follows_the_isr(void **state)
{
	(void)state;
	struct replica_set rs;
	memset(&rs, 0, sizeof rs);
	replica_set_reset(&rs, 0, all3, 3, all3, 3, 5, 0, false);
	replica_set_fetched(&rs, 1, 8, 100, 1);
	replica_set_fetched(&rs, 2, 3, 100, 1);
	assert_int_equal(replica_set_update(&rs, 8), 5); /* 3 < 5: held */
	/* Broker 2 leaves the ISR: only 0 and 1 count now; 1's progress is kept. */
	const int32_t isr01[] = {0, 1};
	replica_set_reset(&rs, 0, all3, 3, isr01, 2, 0, 0, false);
	assert_int_equal(replica_set_isr_size(&rs), 2);
	assert_int_equal(replica_set_update(&rs, 8), 8);
	/* Alone in the ISR: the leader's end is the high watermark. */
	const int32_t isr0[] = {0};
	replica_set_reset(&rs, 0, all3, 3, isr0, 1, 0, 0, false);
	assert_int_equal(replica_set_update(&rs, 11), 11);
}

static void replica_set__isr_shrinks_a_lagging_member_and_takes_it_back(void **state)
{
	(void)state;
	struct replica_set rs;
	memset(&rs, 0, sizeof rs);
	int32_t isr[REPLICA_SET_MAX + 1];
	size_t n;
	replica_set_reset(&rs, 0, all3, 3, all3, 3, 0, 1000, false);
	/* Within the lag time nobody leaves, fetching or not. */
	assert_false(replica_set_wanted_isr(&rs, 1500, 1000, isr, &n));
	assert_int_equal(n, 3);
	replica_set_fetched(&rs, 1, 50, 50, 1800); /* caught up */
	replica_set_fetched(&rs, 2, 10, 50, 1800); /* behind */
	replica_set_update(&rs, 50);
	/* Past it: 2 has not reached the leader's end since it entered. */
	assert_true(replica_set_wanted_isr(&rs, 2100, 1000, isr, &n));
	assert_int_equal(n, 2);
	assert_int_equal(isr[0], 0);
	assert_int_equal(isr[1], 1);
	const int32_t isr01[] = {0, 1};
	replica_set_reset(&rs, 0, all3, 3, isr01, 2, 0, 2100, false);
	/* 2 fetches again and reaches the high watermark: back in. */
	assert_int_equal(replica_set_update(&rs, 50), 50);
	replica_set_fetched(&rs, 2, 50, 60, 2200);
	assert_true(replica_set_wanted_isr(&rs, 2200, 1000, isr, &n));
	assert_int_equal(n, 3);
}

/* The race a restarted follower exposed: the leader asks for it at the high
 * watermark, the high watermark moves on while the request is out, the ISR
 * then holds a member below it - which the controller may elect. A joining
 * follower counts for the high watermark from the request on. */
static void replica_set__joining_follower_holds_the_high_watermark(void **state)
{
	(void)state;
	static const int32_t isr01[] = {0, 1};
	struct replica_set rs;
	memset(&rs, 0, sizeof rs);
	replica_set_reset(&rs, 0, all3, 3, isr01, 2, 100, 0, false);
	replica_set_fetched(&rs, 1, 100, 100, 10);
	replica_set_fetched(&rs, 2, 100, 100, 10);
	assert_int_equal(replica_set_update(&rs, 100), 100);
	int32_t want[REPLICA_SET_MAX + 1];
	size_t n;
	assert_true(replica_set_wanted_isr(&rs, 20, 1000, want, &n));
	assert_int_equal(n, 3);
	replica_set_expanding(&rs, want, n);
	/* Records arrive; follower 1 has them, the joining 2 not yet: held. */
	replica_set_fetched(&rs, 1, 150, 150, 30);
	assert_int_equal(replica_set_update(&rs, 150), 100);
	/* An unrelated image before the answer keeps it joining... */
	replica_set_reset(&rs, 0, all3, 3, isr01, 2, 100, 40, true);
	assert_int_equal(replica_set_update(&rs, 150), 100);
	/* ...the committed ISR takes it in for good... */
	replica_set_reset(&rs, 0, all3, 3, all3, 3, 100, 50, false);
	assert_int_equal(replica_set_update(&rs, 150), 100);
	replica_set_fetched(&rs, 2, 150, 150, 60);
	assert_int_equal(replica_set_update(&rs, 150), 150);
	/* ...and a refusal lets the others move on without it. */
	static const int32_t isr0[] = {0};
	memset(&rs, 0, sizeof rs);
	replica_set_reset(&rs, 0, all3, 3, isr0, 1, 0, 0, false);
	replica_set_fetched(&rs, 1, 0, 0, 10);
	replica_set_expanding(&rs, isr01, 2);
	assert_int_equal(replica_set_update(&rs, 50), 0);
	replica_set_expansion_over(&rs);
	assert_int_equal(replica_set_update(&rs, 50), 50);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replica_set__high_watermark_is_the_lowest_isr_end),
		cmocka_unit_test(replica_set__joining_follower_holds_the_high_watermark),
		cmocka_unit_test(replica_set__never_moves_back_and_follows_the_isr),
		cmocka_unit_test(replica_set__isr_shrinks_a_lagging_member_and_takes_it_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
