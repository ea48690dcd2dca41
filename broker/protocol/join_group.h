/* JoinGroup (API key 11): request and response bodies.
 *
 * Layout from Kafka's JoinGroupRequest.json / JoinGroupResponse.json.
 * v4+ clients expect the MEMBER_ID_REQUIRED handshake (KIP-394), v5+ carry
 * group_instance_id for static membership (KIP-345), v7+ name the protocol
 * type in the response, v8 adds a reason, v9 skip_assignment (KIP-814).
 *
 * Memory: decode fills `out` with strings and bytes that are VIEWS into the
 * reader's buffer (valid as long as that buffer is) and arrays malloc'd and
 * owned by the struct; *_free() releases the arrays (never the views). On
 * failure decode returns -1 with r->err set and has freed what it allocated.
 * Encode borrows everything.
 */
#ifndef TERN_PROTOCOL_JOIN_GROUP_H
#define TERN_PROTOCOL_JOIN_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define JOIN_GROUP_API_KEY 11
#define JOIN_GROUP_MIN_VERSION 0
#define JOIN_GROUP_MAX_VERSION 9
#define JOIN_GROUP_FLEXIBLE_VERSION 6

struct join_group_request_protocol {
	struct kstr name;
	struct kbytes metadata;
};

struct join_group_request {
	struct kstr group_id;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;  /* v1+, default -1 (v0: the session timeout applies) */
	struct kstr member_id;         /* "" for a new member */
	struct kstr group_instance_id; /* v5+, nullable, default null */
	struct kstr protocol_type;
	struct join_group_request_protocol *protocols;
	int32_t protocols_count;
	struct kstr reason; /* v8+, nullable, default null */
};

struct join_group_response_member {
	struct kstr member_id;
	struct kstr group_instance_id; /* v5+, nullable */
	struct kbytes metadata;
};

struct join_group_response {
	int32_t throttle_time_ms; /* v2+, ms */
	int16_t error_code;
	int32_t generation_id;
	struct kstr protocol_type; /* v7+, nullable */
	struct kstr protocol_name; /* nullable from v7 ("" before) */
	struct kstr leader;
	bool skip_assignment; /* v9+ */
	struct kstr member_id;
	struct join_group_response_member *members;
	int32_t members_count;
};

int join_group_request_decode(struct kreader *r, int16_t version, struct join_group_request *out);
void join_group_request_encode(struct kwriter *w, int16_t version, const struct join_group_request *in);
void join_group_request_free(struct join_group_request *req);

int join_group_response_decode(struct kreader *r, int16_t version, struct join_group_response *out);
void join_group_response_encode(struct kwriter *w, int16_t version, const struct join_group_response *in);
void join_group_response_free(struct join_group_response *resp);

#endif
