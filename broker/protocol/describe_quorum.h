/* DescribeQuorum (API key 55): request and response bodies, v0-1.
 *
 * Layout from Kafka's DescribeQuorumRequest.json / DescribeQuorumResponse.json.
 * Asks the leader of a KRaft partition (in practice __cluster_metadata-0)
 * for its leader, epoch, high watermark and how far each voter and observer
 * has replicated. v1 adds the two fetch timestamps per replica. Every version
 * is flexible; neither side defines a tagged field, so all tags are skipped
 * on decode and none are written. The response has no throttle time.
 *
 * Memory: decode fills strings with VIEWS into the reader's buffer (valid as
 * long as that buffer is) and mallocs the arrays, owned by the struct;
 * *_free() releases the arrays (never the strings) and leaves the struct
 * empty. Decode returns 0, or -1 when the bytes are malformed (r->err set)
 * or memory ran out; `out` is then already freed. Encode only reads `in`;
 * a null view in a non-nullable string is written as "". Versions outside
 * [MIN, MAX] fail decode and are a bug for encode.
 */
#ifndef TERN_PROTOCOL_DESCRIBE_QUORUM_H
#define TERN_PROTOCOL_DESCRIBE_QUORUM_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define DESCRIBE_QUORUM_API_KEY 55
#define DESCRIBE_QUORUM_MIN_VERSION 0
#define DESCRIBE_QUORUM_MAX_VERSION 1
#define DESCRIBE_QUORUM_FLEXIBLE_VERSION 0 /* first flexible version */

/* PartitionData (request) */
struct describe_quorum_partition {
	int32_t partition_index;
};

/* TopicData (request) */
struct describe_quorum_topic {
	struct kstr topic_name;
	struct describe_quorum_partition *partitions;
	int32_t partitions_count;
};

struct describe_quorum_request {
	struct describe_quorum_topic *topics;
	int32_t topics_count;
};

/* ReplicaState */
struct describe_quorum_replica_state {
	int32_t replica_id;
	int64_t log_end_offset;          /* -1 when unknown */
	int64_t last_fetch_timestamp;    /* v1+, default -1; ms since the epoch, leader's clock */
	int64_t last_caught_up_timestamp; /* v1+, default -1; ms since the epoch, leader's clock */
};

/* PartitionData (response) */
struct describe_quorum_partition_result {
	int32_t partition_index;
	int16_t error_code;
	int32_t leader_id; /* -1 when unknown */
	int32_t leader_epoch;
	int64_t high_watermark;
	struct describe_quorum_replica_state *current_voters;
	int32_t current_voters_count;
	struct describe_quorum_replica_state *observers;
	int32_t observers_count;
};

/* TopicData (response) */
struct describe_quorum_topic_result {
	struct kstr topic_name;
	struct describe_quorum_partition_result *partitions;
	int32_t partitions_count;
};

struct describe_quorum_response {
	int16_t error_code;
	struct describe_quorum_topic_result *topics;
	int32_t topics_count;
};

int describe_quorum_request_decode(struct kreader *r, int16_t version, struct describe_quorum_request *out);
void describe_quorum_request_encode(struct kwriter *w, int16_t version, const struct describe_quorum_request *in);
void describe_quorum_request_free(struct describe_quorum_request *req);

int describe_quorum_response_decode(struct kreader *r, int16_t version, struct describe_quorum_response *out);
void describe_quorum_response_encode(struct kwriter *w, int16_t version,
				     const struct describe_quorum_response *in);
void describe_quorum_response_free(struct describe_quorum_response *resp);

#endif
