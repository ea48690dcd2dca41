/* Unit tests of cmd/tern/topic_describe.c: kafka-topics --describe's shape. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tern/opts.c"
#include "cmd/tern/topic_describe.c"
#include "cmd/tern/uuid_text.c"

static char *describe(struct topic_describe *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	topic_describe_print(d, out);
	fclose(out);
	return buf;
}

static void topic_describe_print__kafka_shape(void **state)
{
	static const int32_t r0[] = {0, 2, 1}, i0[] = {0, 2, 1};
	static const int32_t r1[] = {1, 0, 2}, i1[] = {1, 0};
	struct topic_describe_partition parts[] = {
		/* Out of order on purpose: printed by partition. */
		{.partition = 1, .leader = 1, .replicas = r1, .replica_cnt = 3, .isr = i1, .isr_cnt = 2},
		{.partition = 0, .leader = 0, .replicas = r0, .replica_cnt = 3, .isr = i0, .isr_cnt = 3},
	};
	struct kv_list cfg = {0};
	kv_list_put(&cfg, "cleanup.policy", "compact");
	kv_list_put(&cfg, "segment.bytes", "1048576");
	struct topic_describe d = {.name = "orders", .partitions = parts, .partition_cnt = 2, .configs = &cfg};
	for (int i = 0; i < 16; i++)
		d.id[i] = (uint8_t)i;
	char *got = describe(&d);
	assert_string_equal(got,
			    "Topic: orders\tTopicId: AAECAwQFBgcICQoLDA0ODw\tPartitionCount: 2\tReplicationFactor: 3\t"
			    "Configs: cleanup.policy=compact,segment.bytes=1048576\n"
			    "\tTopic: orders\tPartition: 0\tLeader: 0\tReplicas: 0,2,1\tIsr: 0,2,1\n"
			    "\tTopic: orders\tPartition: 1\tLeader: 1\tReplicas: 1,0,2\tIsr: 1,0\n");
	free(got);
	kv_list_free(&cfg);
}

static void topic_describe_print__no_id_no_leader_no_configs(void **state)
{
	static const int32_t r0[] = {3};
	struct topic_describe_partition parts[] = {
		{.partition = 0, .leader = -1, .replicas = r0, .replica_cnt = 1, .isr = NULL, .isr_cnt = 0},
	};
	struct topic_describe d = {.name = "t", .partitions = parts, .partition_cnt = 1};
	char *got = describe(&d);
	assert_string_equal(got, "Topic: t\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: \n"
				 "\tTopic: t\tPartition: 0\tLeader: none\tReplicas: 3\tIsr: \n");
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(topic_describe_print__kafka_shape),
		cmocka_unit_test(topic_describe_print__no_id_no_leader_no_configs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
