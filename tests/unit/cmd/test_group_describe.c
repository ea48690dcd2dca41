/* Unit tests of cmd/tern/group_describe.c: kafka-consumer-groups'
 * --describe rows, lag and layout, and the --reset-offsets plan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tern/group_describe.c"

struct printed {
	char *out;
	char *err;
	enum group_describe_outcome outcome;
};

static struct printed print(const char *group, const char *state, const struct group_describe_row *rows, int n)
{
	struct printed p = {0};
	size_t ol = 0, el = 0;
	FILE *out = open_memstream(&p.out, &ol);
	FILE *err = open_memstream(&p.err, &el);
	p.outcome = group_describe_print(group, state, rows, n, out, err);
	fclose(out);
	fclose(err);
	return p;
}

static void printed_free(struct printed *p)
{
	free(p->out);
	free(p->err);
}

static void group_describe_lag__known_unknown_and_negative(void **state)
{
	(void)state;
	int64_t lag = 99;
	assert_true(group_describe_lag(60, 100, &lag));
	assert_int_equal(lag, 40);
	assert_true(group_describe_lag(0, 0, &lag));
	assert_int_equal(lag, 0);
	/* Committed past the end (the log was truncated): Kafka shows it. */
	assert_true(group_describe_lag(12, 10, &lag));
	assert_int_equal(lag, -2);
	assert_false(group_describe_lag(-1, 10, &lag));
	assert_false(group_describe_lag(5, -1, &lag));
}

/* Members with the most partitions first, each member's partitions by
 * topic then partition; committed partitions no member holds last. */
static void group_describe_rows__kafka_order(void **state)
{
	(void)state;
	struct group_describe_tp a_parts[] = {{"orders", 2}};
	struct group_describe_tp b_parts[] = {{"orders", 1}, {"audit", 0}, {"orders", 0}};
	struct group_describe_member members[] = {
		{"consumer-a", "/10.0.0.1", "app-a", a_parts, 1},
		{"consumer-idle", "/10.0.0.3", "app-c", NULL, 0},
		{"consumer-b", "/10.0.0.2", "app-b", b_parts, 3},
	};
	struct group_describe_offset committed[] = {
		{"orders", 0, 17}, {"orders", 2, 5}, {"zeta", 1, 3}, {"old", 0, 9}, {"audit", 0, 1},
	};
	struct group_describe_row *rows = NULL;
	int n = group_describe_rows(members, 3, committed, 5, &rows);
	assert_int_equal(n, 6);
	struct {
		const char *topic;
		int32_t partition;
		int64_t offset;
		const char *consumer;
	} want[] = {
		{"audit", 0, 1, "consumer-b"}, {"orders", 0, 17, "consumer-b"}, {"orders", 1, -1, "consumer-b"},
		{"orders", 2, 5, "consumer-a"}, {"old", 0, 9, NULL},             {"zeta", 1, 3, NULL},
	};
	for (int i = 0; i < n; i++) {
		assert_string_equal(rows[i].topic, want[i].topic);
		assert_int_equal(rows[i].partition, want[i].partition);
		assert_int_equal(rows[i].offset, want[i].offset);
		assert_int_equal(rows[i].log_end, -1);
		if (want[i].consumer)
			assert_string_equal(rows[i].consumer_id, want[i].consumer);
		else
			assert_null(rows[i].consumer_id);
	}
	assert_string_equal(rows[0].host, "/10.0.0.2");
	assert_string_equal(rows[3].client_id, "app-a");
	free(rows);

	assert_int_equal(group_describe_rows(NULL, 0, NULL, 0, &rows), 0);
	assert_null(rows);
	assert_int_equal(group_describe_rows(&members[1], 1, NULL, 0, &rows), 0);
	assert_null(rows);
}

/* The exact layout of kafka-consumer-groups --describe for an active group. */
static void group_describe_print__stable_group(void **state)
{
	(void)state;
	struct group_describe_row rows[] = {
		{"orders", 0, 20, 33, "rdkafka-0e5c2b4c-8f8e-4c8a-a3b5-0d7a0e2f1f11", "/127.0.0.1", "rdkafka"},
		{"orders", 1, -1, 32, "rdkafka-0e5c2b4c-8f8e-4c8a-a3b5-0d7a0e2f1f11", "/127.0.0.1", "rdkafka"},
		{"orders", 2, 35, -1, NULL, NULL, NULL},
	};
	struct printed p = print("G", "Stable", rows, 3);
	assert_int_equal(p.outcome, GROUP_DESCRIBE_PRINTED);
	assert_string_equal(p.err, "");
	assert_string_equal(
		p.out,
		"\n"
		"GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             "
		"CONSUMER-ID                                  HOST            CLIENT-ID\n"
		"G               orders          0          20              33              13              "
		"rdkafka-0e5c2b4c-8f8e-4c8a-a3b5-0d7a0e2f1f11 /127.0.0.1      rdkafka\n"
		"G               orders          1          -               32              -               "
		"rdkafka-0e5c2b4c-8f8e-4c8a-a3b5-0d7a0e2f1f11 /127.0.0.1      rdkafka\n"
		"G               orders          2          35              -               -               "
		"-                                            -               -\n");
	printed_free(&p);
}

/* Columns widen to the longest group and topic name. */
static void group_describe_print__wide_names(void **state)
{
	(void)state;
	struct group_describe_row rows[] = {{"a-rather-long-topic-name", 7, 1, 4, NULL, NULL, NULL}};
	struct printed p = print("payments-settlement", "Empty", rows, 1);
	assert_string_equal(p.err, "\nConsumer group 'payments-settlement' has no active members.\n");
	assert_string_equal(p.out, "\n"
				   "GROUP               TOPIC                    PARTITION  CURRENT-OFFSET  "
				   "LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID\n"
				   "payments-settlement a-rather-long-topic-name 7          1               "
				   "4               3               -               -               -\n");
	printed_free(&p);
}

static void group_describe_print__states(void **state)
{
	(void)state;
	struct printed p = print("G", "Dead", NULL, 0);
	assert_int_equal(p.outcome, GROUP_DESCRIBE_NOT_FOUND);
	assert_string_equal(p.out, "");
	assert_string_equal(p.err, "");
	printed_free(&p);

	/* Empty and nothing committed: the notice, no table. */
	p = print("G", "Empty", NULL, 0);
	assert_int_equal(p.outcome, GROUP_DESCRIBE_PRINTED);
	assert_string_equal(p.out, "");
	assert_string_equal(p.err, "\nConsumer group 'G' has no active members.\n");
	printed_free(&p);

	static const char *const rebalancing[] = {"PreparingRebalance", "CompletingRebalance", "Assigning",
						  "Reconciling"};
	for (size_t i = 0; i < sizeof rebalancing / sizeof *rebalancing; i++) {
		p = print("G", rebalancing[i], NULL, 0);
		assert_int_equal(p.outcome, GROUP_DESCRIBE_PRINTED);
		assert_string_equal(p.err, "\nWarning: Consumer group 'G' is rebalancing.\n");
		printed_free(&p);
	}
	p = print("G", "Unknown", NULL, 0);
	assert_int_equal(p.outcome, GROUP_DESCRIBE_PRINTED);
	assert_string_equal(p.err, "");
	printed_free(&p);
}

static void group_describe_reset_clamp__into_log_range(void **state)
{
	(void)state;
	bool clamped = true;
	assert_int_equal(group_describe_reset_clamp(10, 0, 33, &clamped), 10);
	assert_false(clamped);
	assert_int_equal(group_describe_reset_clamp(5000, 0, 33, &clamped), 33);
	assert_true(clamped);
	assert_int_equal(group_describe_reset_clamp(2, 7, 33, &clamped), 7);
	assert_true(clamped);
	assert_int_equal(group_describe_reset_clamp(33, 7, 33, &clamped), 33);
	assert_false(clamped);
	/* Unknown bounds are not checked. */
	assert_int_equal(group_describe_reset_clamp(5000, -1, -1, &clamped), 5000);
	assert_false(clamped);
}

static void group_describe_reset_print__sorted_plan(void **state)
{
	(void)state;
	struct group_describe_offset plan[] = {{"orders", 2, 35}, {"orders", 0, 0}, {"orders", 10, 7}, {"audit", 1, 4}};
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	group_describe_reset_print("G", plan, 4, out);
	fclose(out);
	assert_string_equal(buf, "\n"
				 "GROUP           TOPIC           PARTITION  NEW-OFFSET\n"
				 "G               audit           1          4\n"
				 "G               orders          0          0\n"
				 "G               orders          2          35\n"
				 "G               orders          10         7\n");
	free(buf);

	out = open_memstream(&buf, &len);
	group_describe_reset_print("G", NULL, 0, out);
	fclose(out);
	assert_string_equal(buf, "");
	free(buf);
}

static void group_describe_parse_topic__forms(void **state)
{
	(void)state;
	char err[256];
	char *topic;
	int32_t *parts;
	int n;
	assert_int_equal(group_describe_parse_topic("orders", &topic, &parts, &n, err, sizeof err), 0);
	assert_string_equal(topic, "orders");
	assert_null(parts);
	assert_int_equal(n, 0);
	free(topic);

	assert_int_equal(group_describe_parse_topic("orders:0,2,11", &topic, &parts, &n, err, sizeof err), 0);
	assert_string_equal(topic, "orders");
	assert_int_equal(n, 3);
	assert_int_equal(parts[0], 0);
	assert_int_equal(parts[1], 2);
	assert_int_equal(parts[2], 11);
	free(topic);
	free(parts);

	static const char *const bad[] = {"", ":1", "orders:", "orders:1,", "orders:x", "orders:-1",
					  "orders:1:2", "orders:99999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err[0] = '\0';
		assert_int_equal(group_describe_parse_topic(bad[i], &topic, &parts, &n, err, sizeof err), -1);
		assert_null(topic);
		assert_null(parts);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(group_describe_parse_topic("orders:x", &topic, &parts, &n, err, sizeof err), -1);
	assert_string_equal(err, "Invalid partition 'x' specified in topic arg 'orders:x'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(group_describe_lag__known_unknown_and_negative),
		cmocka_unit_test(group_describe_rows__kafka_order),
		cmocka_unit_test(group_describe_print__stable_group),
		cmocka_unit_test(group_describe_print__wide_names),
		cmocka_unit_test(group_describe_print__states),
		cmocka_unit_test(group_describe_reset_clamp__into_log_range),
		cmocka_unit_test(group_describe_reset_print__sorted_plan),
		cmocka_unit_test(group_describe_parse_topic__forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
