/* list_offsets: ListOffsets (key 2) request and response, v1-7 (v6+ flexible).
 *
 * v1 replaced v0's offset lists with one (timestamp, offset) per partition.
 * The request timestamp is a time in ms or a special value: -1 latest,
 * -2 earliest, -3 max timestamp (v7+, KIP-734).
 *
 * Ownership: decode fills strings as views into the reader's buffer (valid
 * as long as it) and mallocs the arrays, all released by *_free (which
 * leaves the views alone). Encode borrows everything. Decode returns 0, or
 * -1 when the bytes are malformed (reader err set) or memory ran out; the
 * struct is then already freed. Versions outside [MIN, MAX] fail decode and
 * are a bug for encode.
 */
#ifndef TERN_PROTOCOL_LIST_OFFSETS_H
#define TERN_PROTOCOL_LIST_OFFSETS_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define LIST_OFFSETS_MIN_VERSION 1
#define LIST_OFFSETS_MAX_VERSION 7
#define LIST_OFFSETS_FLEXIBLE_VERSION 6

/* Special request timestamps. */
#define LIST_OFFSETS_LATEST_TIMESTAMP (-1)
#define LIST_OFFSETS_EARLIEST_TIMESTAMP (-2)
#define LIST_OFFSETS_MAX_TIMESTAMP (-3)

struct list_offsets_partition {
	int32_t partition_index;
	int32_t current_leader_epoch; /* v4+; -1 below */
	int64_t timestamp;            /* ms, or a special value above */
};

struct list_offsets_topic {
	struct kstr name;
	struct list_offsets_partition *partitions;
	int32_t partitions_count;
};

struct list_offsets_request {
	int32_t replica_id;     /* -1 for consumers */
	int8_t isolation_level; /* v2+; 0 below */
	struct list_offsets_topic *topics;
	int32_t topics_count;
};

struct list_offsets_partition_response {
	int32_t partition_index;
	int16_t error_code;
	int64_t timestamp;    /* of the returned offset, -1 if none */
	int64_t offset;       /* -1 if none */
	int32_t leader_epoch; /* v4+; -1 below */
};

struct list_offsets_topic_response {
	struct kstr name;
	struct list_offsets_partition_response *partitions;
	int32_t partitions_count;
};

struct list_offsets_response {
	int32_t throttle_time_ms; /* v2+; 0 below */
	struct list_offsets_topic_response *topics;
	int32_t topics_count;
};

int list_offsets_request_decode(struct kreader *r, int16_t version, struct list_offsets_request *out);
void list_offsets_request_encode(struct kwriter *w, int16_t version, const struct list_offsets_request *in);
void list_offsets_request_free(struct list_offsets_request *req);
int list_offsets_response_decode(struct kreader *r, int16_t version, struct list_offsets_response *out);
void list_offsets_response_encode(struct kwriter *w, int16_t version, const struct list_offsets_response *in);
void list_offsets_response_free(struct list_offsets_response *resp);

#endif
