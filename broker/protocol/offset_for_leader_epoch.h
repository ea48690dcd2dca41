/* OffsetForLeaderEpoch (API key 23): request and response bodies, v0-4.
 *
 * Layout from Kafka's OffsetForLeaderEpochRequest.json /
 * OffsetForLeaderEpochResponse.json; v4 is the first flexible version.
 * A follower (or a consumer validating its position) asks the leader where
 * a leader epoch ends, to find the offset it must truncate to. Neither side
 * defines a tagged field, so all tags are skipped on decode and none are
 * written. Kafka deprecates v0-1; the codec still reads and writes them.
 *
 * Memory: decode fills strings with VIEWS into the reader's buffer (valid as
 * long as that buffer is) and mallocs the arrays, owned by the struct;
 * *_free() releases the arrays (never the strings) and leaves the struct
 * empty. Decode returns 0, or -1 when the bytes are malformed (r->err set)
 * or memory ran out; `out` is then already freed. Encode only reads `in`;
 * a null view in a non-nullable string is written as "". Versions outside
 * [MIN, MAX] fail decode and are a bug for encode.
 */
#ifndef TERN_PROTOCOL_OFFSET_FOR_LEADER_EPOCH_H
#define TERN_PROTOCOL_OFFSET_FOR_LEADER_EPOCH_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define OFFSET_FOR_LEADER_EPOCH_API_KEY 23
#define OFFSET_FOR_LEADER_EPOCH_MIN_VERSION 0
#define OFFSET_FOR_LEADER_EPOCH_MAX_VERSION 4
#define OFFSET_FOR_LEADER_EPOCH_FLEXIBLE_VERSION 4 /* first flexible version */

/* Default replica_id below v3: the request predates the field, so whether it
 * came from a follower or a consumer is not known. */
#define OFFSET_FOR_LEADER_EPOCH_REPLICA_UNKNOWN (-2)

/* OffsetForLeaderPartition */
struct offset_for_leader_epoch_partition {
	int32_t partition;
	int32_t current_leader_epoch; /* v2+, default -1: no fencing check */
	int32_t leader_epoch;         /* the epoch whose end offset is wanted */
};

/* OffsetForLeaderTopic */
struct offset_for_leader_epoch_topic {
	struct kstr topic;
	struct offset_for_leader_epoch_partition *partitions;
	int32_t partitions_count;
};

struct offset_for_leader_epoch_request {
	int32_t replica_id; /* v3+; follower's broker id, -1 for a consumer; default -2 */
	struct offset_for_leader_epoch_topic *topics;
	int32_t topics_count;
};

/* EpochEndOffset */
struct offset_for_leader_epoch_end_offset {
	int16_t error_code;
	int32_t partition;
	int32_t leader_epoch; /* v1+, default -1: largest epoch <= the requested one */
	int64_t end_offset;   /* default -1: first offset after that epoch */
};

/* OffsetForLeaderTopicResult */
struct offset_for_leader_epoch_topic_result {
	struct kstr topic;
	struct offset_for_leader_epoch_end_offset *partitions;
	int32_t partitions_count;
};

struct offset_for_leader_epoch_response {
	int32_t throttle_time_ms; /* v2+, ms; 0 below */
	struct offset_for_leader_epoch_topic_result *topics;
	int32_t topics_count;
};

int offset_for_leader_epoch_request_decode(struct kreader *r, int16_t version,
					   struct offset_for_leader_epoch_request *out);
void offset_for_leader_epoch_request_encode(struct kwriter *w, int16_t version,
					    const struct offset_for_leader_epoch_request *in);
void offset_for_leader_epoch_request_free(struct offset_for_leader_epoch_request *req);

int offset_for_leader_epoch_response_decode(struct kreader *r, int16_t version,
					    struct offset_for_leader_epoch_response *out);
void offset_for_leader_epoch_response_encode(struct kwriter *w, int16_t version,
					     const struct offset_for_leader_epoch_response *in);
void offset_for_leader_epoch_response_free(struct offset_for_leader_epoch_response *resp);

#endif
