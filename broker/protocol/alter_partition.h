/* AlterPartition (API key 56): request and response bodies, v0-3.
 *
 * Layout from Kafka's AlterPartitionRequest.json / AlterPartitionResponse.json.
 * A partition leader sends this to the controller to change its ISR; the
 * reply carries the state the controller committed. Every version is
 * flexible; neither side defines a tagged field, so all tags are skipped on
 * decode and none are written.
 *
 * Versions differ in how a topic and the new ISR are named:
 *   - topic_name on v0-1, topic_id on v2+ (the other is left at its default:
 *     "" and all-zero, and is not written);
 *   - the request's new_isr (plain broker ids) on v0-2, new_isr_with_epochs
 *     on v3+ (KIP-903). The codec does not convert one into the other: the
 *     caller fills the field the version carries, the other stays empty.
 *
 * Memory: decode fills strings with VIEWS into the reader's buffer (valid as
 * long as that buffer is) and mallocs the arrays, owned by the struct;
 * *_free() releases the arrays (never the strings) and leaves the struct
 * empty. Decode returns 0, or -1 when the bytes are malformed (r->err set)
 * or memory ran out; `out` is then already freed. Encode only reads `in`;
 * a null view in a non-nullable string is written as "". Versions outside
 * [MIN, MAX] fail decode and are a bug for encode.
 */
#ifndef TERN_PROTOCOL_ALTER_PARTITION_H
#define TERN_PROTOCOL_ALTER_PARTITION_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define ALTER_PARTITION_API_KEY 56
#define ALTER_PARTITION_MIN_VERSION 0
#define ALTER_PARTITION_MAX_VERSION 3
#define ALTER_PARTITION_FLEXIBLE_VERSION 0 /* first flexible version */

/* BrokerState (request, v3+) */
struct alter_partition_broker_state {
	int32_t broker_id;
	int64_t broker_epoch; /* -1 when the epoch check is not supported */
};

/* PartitionData (request) */
struct alter_partition_partition {
	int32_t partition_index;
	int32_t leader_epoch;
	int32_t *new_isr; /* v0-2: broker ids */
	int32_t new_isr_count;
	struct alter_partition_broker_state *new_isr_with_epochs; /* v3+ */
	int32_t new_isr_with_epochs_count;
	int8_t leader_recovery_state; /* v1+, default 0; 1 = recovering from unclean election */
	int32_t partition_epoch;      /* the epoch the leader expects to replace */
};

/* TopicData (request) */
struct alter_partition_topic {
	struct kstr topic_name;  /* v0-1 */
	uint8_t topic_id[16];    /* v2+ */
	struct alter_partition_partition *partitions;
	int32_t partitions_count;
};

struct alter_partition_request {
	int32_t broker_id;
	int64_t broker_epoch; /* default -1 */
	struct alter_partition_topic *topics;
	int32_t topics_count;
};

/* PartitionData (response) */
struct alter_partition_partition_result {
	int32_t partition_index;
	int16_t error_code;
	int32_t leader_id;
	int32_t leader_epoch;
	int32_t *isr; /* broker ids */
	int32_t isr_count;
	int8_t leader_recovery_state; /* v1+, default 0 */
	int32_t partition_epoch;
};

/* TopicData (response) */
struct alter_partition_topic_result {
	struct kstr topic_name; /* v0-1 */
	uint8_t topic_id[16];   /* v2+ */
	struct alter_partition_partition_result *partitions;
	int32_t partitions_count;
};

struct alter_partition_response {
	int32_t throttle_time_ms; /* ms */
	int16_t error_code;
	struct alter_partition_topic_result *topics;
	int32_t topics_count;
};

int alter_partition_request_decode(struct kreader *r, int16_t version, struct alter_partition_request *out);
void alter_partition_request_encode(struct kwriter *w, int16_t version, const struct alter_partition_request *in);
void alter_partition_request_free(struct alter_partition_request *req);

int alter_partition_response_decode(struct kreader *r, int16_t version, struct alter_partition_response *out);
void alter_partition_response_encode(struct kwriter *w, int16_t version,
				     const struct alter_partition_response *in);
void alter_partition_response_free(struct alter_partition_response *resp);

#endif
