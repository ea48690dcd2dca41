/* topic_describe: prints `tern topics --describe` in kafka-topics.sh's shape
 * (Kafka 3.8, tab-separated):
 *
 *   Topic: T<TAB>TopicId: <22 chars><TAB>PartitionCount: N<TAB>ReplicationFactor: R<TAB>Configs: k=v,...
 *   <TAB>Topic: T<TAB>Partition: 0<TAB>Leader: 0<TAB>Replicas: 0,1<TAB>Isr: 0,1
 *
 * TopicId is left out when the id is unknown (all zero), as Kafka does;
 * Leader prints "none" without a leader. Kafka 3.8 adds Elr/LastKnownElr only
 * when its DescribeTopicPartitions API supplies them, which Metadata does
 * not, so they never appear here. Partitions print in partition order.
 */
#ifndef TERN_CMD_TOPIC_DESCRIBE_H
#define TERN_CMD_TOPIC_DESCRIBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd/tern/opts.h"

/* Borrowed views, for the duration of the print. */
struct topic_describe_partition {
	int32_t partition;
	int32_t leader; /* -1: none */
	const int32_t *replicas;
	int replica_cnt;
	const int32_t *isr;
	int isr_cnt;
};

struct topic_describe {
	const char *name;
	uint8_t id[16]; /* all zero: unknown */
	struct topic_describe_partition *partitions; /* sorted in place by print */
	int partition_cnt;
	const struct kv_list *configs; /* the topic's own (non-default) configs; may be NULL */
};

void topic_describe_print(struct topic_describe *d, FILE *out);

#endif
