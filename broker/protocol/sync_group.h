/* SyncGroup (API key 14): request and response bodies.
 *
 * Layout from Kafka's SyncGroupRequest.json / SyncGroupResponse.json. The
 * leader sends every member's assignment; followers send none. v3+ carry
 * group_instance_id (KIP-345), v5+ protocol type and name (checked against
 * the group's, and echoed in the response).
 *
 * Memory: decode fills `out` with VIEWS into the reader's buffer and arrays
 * malloc'd and owned by the struct; *_free() releases the arrays (never the
 * views). On failure decode returns -1 with r->err set and has freed what it
 * allocated. Encode borrows everything.
 */
#ifndef TERN_PROTOCOL_SYNC_GROUP_H
#define TERN_PROTOCOL_SYNC_GROUP_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define SYNC_GROUP_API_KEY 14
#define SYNC_GROUP_MIN_VERSION 0
#define SYNC_GROUP_MAX_VERSION 5
#define SYNC_GROUP_FLEXIBLE_VERSION 4

struct sync_group_request_assignment {
	struct kstr member_id;
	struct kbytes assignment;
};

struct sync_group_request {
	struct kstr group_id;
	int32_t generation_id;
	struct kstr member_id;
	struct kstr group_instance_id; /* v3+, nullable, default null */
	struct kstr protocol_type;     /* v5+, nullable, default null */
	struct kstr protocol_name;     /* v5+, nullable, default null */
	struct sync_group_request_assignment *assignments;
	int32_t assignments_count;
};

struct sync_group_response {
	int32_t throttle_time_ms; /* v1+, ms */
	int16_t error_code;
	struct kstr protocol_type; /* v5+, nullable */
	struct kstr protocol_name; /* v5+, nullable */
	struct kbytes assignment;
};

int sync_group_request_decode(struct kreader *r, int16_t version, struct sync_group_request *out);
void sync_group_request_encode(struct kwriter *w, int16_t version, const struct sync_group_request *in);
void sync_group_request_free(struct sync_group_request *req);

int sync_group_response_decode(struct kreader *r, int16_t version, struct sync_group_response *out);
void sync_group_response_encode(struct kwriter *w, int16_t version, const struct sync_group_response *in);
void sync_group_response_free(struct sync_group_response *resp);

#endif
