/* OffsetCommit (API key 8): request and response bodies.
 *
 * Layout from Kafka's OffsetCommitRequest.json / OffsetCommitResponse.json.
 * v1 adds generation/member and a per-partition commit timestamp (v1 only),
 * v2-4 a retention time, v6 the committed leader epoch, v7 group_instance_id.
 * v9 (KIP-848 member epochs) is not spoken.
 *
 * Memory: decode fills `out` with VIEWS into the reader's buffer and arrays
 * malloc'd and owned by the struct (topics, and each topic's partitions);
 * *_free() releases the arrays (never the views). On failure decode returns
 * -1 with r->err set and has freed what it allocated. Encode borrows
 * everything.
 */
#ifndef TERN_PROTOCOL_OFFSET_COMMIT_H
#define TERN_PROTOCOL_OFFSET_COMMIT_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define OFFSET_COMMIT_API_KEY 8
#define OFFSET_COMMIT_MIN_VERSION 0
#define OFFSET_COMMIT_MAX_VERSION 8
#define OFFSET_COMMIT_FLEXIBLE_VERSION 8

struct offset_commit_request_partition {
	int32_t partition_index;
	int64_t committed_offset;
	int32_t committed_leader_epoch; /* v6+, default -1 */
	int64_t commit_timestamp;       /* v1 only, ms, default -1 */
	struct kstr committed_metadata; /* nullable */
};

struct offset_commit_request_topic {
	struct kstr name;
	struct offset_commit_request_partition *partitions;
	int32_t partitions_count;
};

struct offset_commit_request {
	struct kstr group_id;
	int32_t generation_id_or_member_epoch; /* v1+, default -1 */
	struct kstr member_id;                 /* v1+, default "" */
	struct kstr group_instance_id;         /* v7+, nullable, default null */
	int64_t retention_time_ms;             /* v2-4, default -1 */
	struct offset_commit_request_topic *topics;
	int32_t topics_count;
};

struct offset_commit_response_partition {
	int32_t partition_index;
	int16_t error_code;
};

struct offset_commit_response_topic {
	struct kstr name;
	struct offset_commit_response_partition *partitions;
	int32_t partitions_count;
};

struct offset_commit_response {
	int32_t throttle_time_ms; /* v3+, ms */
	struct offset_commit_response_topic *topics;
	int32_t topics_count;
};

int offset_commit_request_decode(struct kreader *r, int16_t version, struct offset_commit_request *out);
void offset_commit_request_encode(struct kwriter *w, int16_t version, const struct offset_commit_request *in);
void offset_commit_request_free(struct offset_commit_request *req);

int offset_commit_response_decode(struct kreader *r, int16_t version, struct offset_commit_response *out);
void offset_commit_response_encode(struct kwriter *w, int16_t version, const struct offset_commit_response *in);
void offset_commit_response_free(struct offset_commit_response *resp);

#endif
