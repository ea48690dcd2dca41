/* The producer id manager's bookkeeping: blocks, prefetch point, the
 * standalone block file. (Its requests to the controller run in the
 * integration tests.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/producer_ids.h"

static void producer_ids__hands_out_a_block_in_order_and_prefetches_at_90_percent(void **state)
{
	(void)state;
	struct producer_id_blocks s;
	producer_id_blocks_init(&s);
	int64_t id;
	bool fetch;
	/* Nothing yet: ask for a block. */
	assert_int_equal(producer_id_blocks_claim(&s, &id, &fetch), -EAGAIN);
	assert_true(fetch);
	assert_int_equal(producer_id_blocks_add(&s, 0, 1000), 0);
	for (int64_t i = 0; i < 1000; i++) {
		assert_int_equal(producer_id_blocks_claim(&s, &id, &fetch), 0);
		assert_true(id == i);
		/* From the 900th id on, the next block is wanted. */
		assert_int_equal(fetch, i + 1 >= 900);
	}
	assert_int_equal(producer_id_blocks_claim(&s, &id, &fetch), -EAGAIN);
	assert_true(fetch);

	/* A block arriving early waits behind the current one; no more
	 * prefetching while it waits. */
	assert_int_equal(producer_id_blocks_add(&s, 5000, 1000), 0);
	assert_int_equal(producer_id_blocks_add(&s, 7000, 1000), -EBUSY);
	assert_int_equal(producer_id_blocks_claim(&s, &id, &fetch), 0);
	assert_true(id == 5000);
	assert_false(fetch);
	for (int i = 1; i < 899; i++)
		assert_int_equal(producer_id_blocks_claim(&s, &id, &fetch), 0);
	assert_false(fetch);
	assert_int_equal(producer_id_blocks_add(&s, 6000, 1000), 0);
	for (int i = 899; i < 1000; i++) {
		assert_int_equal(producer_id_blocks_claim(&s, &id, &fetch), 0);
		assert_false(fetch); /* the next block is already here */
	}
	assert_true(id == 5999);
	assert_int_equal(producer_id_blocks_claim(&s, &id, &fetch), 0);
	assert_true(id == 6000);
}

static void producer_ids__refuses_blocks_that_go_back_or_overflow(void **state)
{
	(void)state;
	struct producer_id_blocks s;
	producer_id_blocks_init(&s);
	int64_t id;
	bool fetch;
	assert_int_equal(producer_id_blocks_add(&s, 1000, 1000), 0);
	assert_int_equal(producer_id_blocks_claim(&s, &id, &fetch), 0);
	/* Overlapping the current block (Kafka's "not monotonic"). */
	assert_int_equal(producer_id_blocks_add(&s, 1500, 1000), -EINVAL);
	assert_int_equal(producer_id_blocks_add(&s, 0, 1000), -EINVAL);
	/* Empty, negative, past int64. */
	assert_int_equal(producer_id_blocks_add(&s, 3000, 0), -EINVAL);
	assert_int_equal(producer_id_blocks_add(&s, -5, 10), -EINVAL);
	assert_int_equal(producer_id_blocks_add(&s, INT64_MAX - 10, 1000), -EINVAL);
	/* Right after the current block is fine. */
	assert_int_equal(producer_id_blocks_add(&s, 2000, 1000), 0);
}

static void producer_ids__block_file_moves_on_durably(void **state)
{
	(void)state;
	char dir[] = "/tmp/tern-test-pids-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, PRODUCER_IDS_FILE);

	int64_t start = -1;
	assert_int_equal(producer_id_file_allocate(dir, &start), 0);
	assert_true(start == 0);
	assert_int_equal(producer_id_file_allocate(dir, &start), 0);
	assert_true(start == 1000);
	/* The file names the next block (checkpoint format). */
	char buf[64] = {0};
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(buf, 1, sizeof buf - 1, f) > 0);
	fclose(f);
	assert_string_equal(buf, "0\n2000\n");

	/* Corrupt: refused rather than starting over at 0. */
	f = fopen(path, "w");
	fputs("0\nbanana\n", f);
	fclose(f);
	assert_int_equal(producer_id_file_allocate(dir, &start), -EBADMSG);
	/* Exhausted. */
	f = fopen(path, "w");
	fprintf(f, "0\n%lld\n", (long long)(INT64_MAX - 10));
	fclose(f);
	assert_int_equal(producer_id_file_allocate(dir, &start), -EOVERFLOW);

	/* A directory that is not there. */
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
	assert_true(producer_id_file_allocate(dir, &start) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(producer_ids__hands_out_a_block_in_order_and_prefetches_at_90_percent),
		cmocka_unit_test(producer_ids__refuses_blocks_that_go_back_or_overflow),
		cmocka_unit_test(producer_ids__block_file_moves_on_durably),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
