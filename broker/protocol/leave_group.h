/* LeaveGroup (API key 13): request and response bodies.
 *
 * Layout from Kafka's LeaveGroupRequest.json / LeaveGroupResponse.json.
 * v0-2 name one `member_id`; v3+ batch `members` (KIP-345, so an operator
 * can remove static members by instance id) and answer per member; v5 adds a
 * reason per member.
 *
 * Memory: decode fills `out` with VIEWS into the reader's buffer and arrays
 * malloc'd and owned by the struct; *_free() releases the arrays (never the
 * views). On failure decode returns -1 with r->err set and has freed what it
 * allocated. Encode borrows everything.
 */
#ifndef TERN_PROTOCOL_LEAVE_GROUP_H
#define TERN_PROTOCOL_LEAVE_GROUP_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define LEAVE_GROUP_API_KEY 13
#define LEAVE_GROUP_MIN_VERSION 0
#define LEAVE_GROUP_MAX_VERSION 5
#define LEAVE_GROUP_FLEXIBLE_VERSION 4

struct leave_group_request_member {
	struct kstr member_id;
	struct kstr group_instance_id; /* nullable, default null */
	struct kstr reason;            /* v5+, nullable, default null */
};

struct leave_group_request {
	struct kstr group_id;
	struct kstr member_id; /* v0-2 */
	struct leave_group_request_member *members; /* v3+ */
	int32_t members_count;
};

struct leave_group_response_member {
	struct kstr member_id;
	struct kstr group_instance_id; /* nullable */
	int16_t error_code;
};

struct leave_group_response {
	int32_t throttle_time_ms; /* v1+, ms */
	int16_t error_code;
	struct leave_group_response_member *members; /* v3+ */
	int32_t members_count;
};

int leave_group_request_decode(struct kreader *r, int16_t version, struct leave_group_request *out);
void leave_group_request_encode(struct kwriter *w, int16_t version, const struct leave_group_request *in);
void leave_group_request_free(struct leave_group_request *req);

int leave_group_response_decode(struct kreader *r, int16_t version, struct leave_group_response *out);
void leave_group_response_encode(struct kwriter *w, int16_t version, const struct leave_group_response *in);
void leave_group_response_free(struct leave_group_response *resp);

#endif
