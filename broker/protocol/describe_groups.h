/* DescribeGroups (API key 15): request and response bodies.
 *
 * Layout from Kafka's DescribeGroupsRequest.json / DescribeGroupsResponse.json.
 * v3+ may ask for authorized operations (KIP-430), v4+ list each member's
 * group_instance_id.
 *
 * Memory: decode fills `out` with VIEWS into the reader's buffer and arrays
 * malloc'd and owned by the struct; *_free() releases the arrays (never the
 * views). On failure decode returns -1 with r->err set and has freed what it
 * allocated. Encode borrows everything.
 */
#ifndef TERN_PROTOCOL_DESCRIBE_GROUPS_H
#define TERN_PROTOCOL_DESCRIBE_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define DESCRIBE_GROUPS_API_KEY 15
#define DESCRIBE_GROUPS_MIN_VERSION 0
#define DESCRIBE_GROUPS_MAX_VERSION 5
#define DESCRIBE_GROUPS_FLEXIBLE_VERSION 5

/* authorized_operations when the client did not ask for them. */
#define DESCRIBE_GROUPS_OPS_NOT_REQUESTED INT32_MIN

struct describe_groups_request {
	struct kstr *groups;
	int32_t groups_count;
	bool include_authorized_operations; /* v3+ */
};

struct describe_groups_member {
	struct kstr member_id;
	struct kstr group_instance_id; /* v4+, nullable */
	struct kstr client_id;
	struct kstr client_host;
	struct kbytes member_metadata;
	struct kbytes member_assignment;
};

struct describe_groups_group {
	int16_t error_code;
	struct kstr group_id;
	struct kstr group_state;
	struct kstr protocol_type;
	struct kstr protocol_data; /* the selected protocol's name */
	struct describe_groups_member *members;
	int32_t members_count;
	int32_t authorized_operations; /* v3+, bit set of ACL operations */
};

struct describe_groups_response {
	int32_t throttle_time_ms; /* v1+, ms */
	struct describe_groups_group *groups;
	int32_t groups_count;
};

int describe_groups_request_decode(struct kreader *r, int16_t version, struct describe_groups_request *out);
void describe_groups_request_encode(struct kwriter *w, int16_t version, const struct describe_groups_request *in);
void describe_groups_request_free(struct describe_groups_request *req);

int describe_groups_response_decode(struct kreader *r, int16_t version, struct describe_groups_response *out);
void describe_groups_response_encode(struct kwriter *w, int16_t version,
				     const struct describe_groups_response *in);
void describe_groups_response_free(struct describe_groups_response *resp);

#endif
