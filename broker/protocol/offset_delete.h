/* OffsetDelete (API key 47): request and response bodies.
 *
 * Layout from Kafka's OffsetDeleteRequest.json / OffsetDeleteResponse.json
 * (KIP-496): deletes a group's committed offsets for the given partitions.
 * Only v0 exists and it is not flexible. The coordinator refuses partitions
 * of topics the group is still subscribed to (GROUP_SUBSCRIBED_TO_TOPIC per
 * partition), and a non-empty group whose members do not use the "consumer"
 * protocol type, whose subscriptions it cannot read (NON_EMPTY_GROUP at the
 * top level).
 *
 * Memory: decode fills `out` with VIEWS into the reader's buffer and arrays
 * malloc'd and owned by the struct; *_free() releases the arrays (never the
 * views) and leaves the struct empty. On failure decode returns -1 with
 * r->err set and has freed what it allocated. Encode borrows everything.
 */
#ifndef TERN_PROTOCOL_OFFSET_DELETE_H
#define TERN_PROTOCOL_OFFSET_DELETE_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define OFFSET_DELETE_API_KEY 47
#define OFFSET_DELETE_MIN_VERSION 0
#define OFFSET_DELETE_MAX_VERSION 0
/* "flexibleVersions": "none": one past the last version, so no version is
 * flexible (request header v1, response header v0). */
#define OFFSET_DELETE_FLEXIBLE_VERSION 1

/* OffsetDeleteRequestTopic */
struct offset_delete_request_topic {
	struct kstr name;
	int32_t *partitions; /* partition indexes */
	int32_t partitions_count;
};

struct offset_delete_request {
	struct kstr group_id;
	struct offset_delete_request_topic *topics;
	int32_t topics_count;
};

/* OffsetDeleteResponsePartition */
struct offset_delete_response_partition {
	int32_t partition_index;
	int16_t error_code;
};

/* OffsetDeleteResponseTopic */
struct offset_delete_response_topic {
	struct kstr name;
	struct offset_delete_response_partition *partitions;
	int32_t partitions_count;
};

struct offset_delete_response {
	int16_t error_code;       /* top level: the group as a whole */
	int32_t throttle_time_ms; /* ms */
	struct offset_delete_response_topic *topics;
	int32_t topics_count;
};

int offset_delete_request_decode(struct kreader *r, int16_t version, struct offset_delete_request *out);
void offset_delete_request_encode(struct kwriter *w, int16_t version, const struct offset_delete_request *in);
void offset_delete_request_free(struct offset_delete_request *req);

int offset_delete_response_decode(struct kreader *r, int16_t version, struct offset_delete_response *out);
void offset_delete_response_encode(struct kwriter *w, int16_t version, const struct offset_delete_response *in);
void offset_delete_response_free(struct offset_delete_response *resp);

#endif
