/* ListGroups (API key 16): request and response bodies.
 *
 * Layout from Kafka's ListGroupsRequest.json / ListGroupsResponse.json. v4
 * filters by state (KIP-518), v5 by group type (KIP-848: "classic" or
 * "consumer").
 *
 * Memory: decode fills `out` with VIEWS into the reader's buffer and arrays
 * malloc'd and owned by the struct; *_free() releases the arrays (never the
 * views). On failure decode returns -1 with r->err set and has freed what it
 * allocated. Encode borrows everything.
 */
#ifndef TERN_PROTOCOL_LIST_GROUPS_H
#define TERN_PROTOCOL_LIST_GROUPS_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define LIST_GROUPS_API_KEY 16
#define LIST_GROUPS_MIN_VERSION 0
#define LIST_GROUPS_MAX_VERSION 5
#define LIST_GROUPS_FLEXIBLE_VERSION 3

struct list_groups_request {
	struct kstr *states_filter; /* v4+; empty: every state */
	int32_t states_filter_count;
	struct kstr *types_filter; /* v5+; empty: every type */
	int32_t types_filter_count;
};

struct list_groups_group {
	struct kstr group_id;
	struct kstr protocol_type;
	struct kstr group_state; /* v4+ */
	struct kstr group_type;  /* v5+ */
};

struct list_groups_response {
	int32_t throttle_time_ms; /* v1+, ms */
	int16_t error_code;
	struct list_groups_group *groups;
	int32_t groups_count;
};

int list_groups_request_decode(struct kreader *r, int16_t version, struct list_groups_request *out);
void list_groups_request_encode(struct kwriter *w, int16_t version, const struct list_groups_request *in);
void list_groups_request_free(struct list_groups_request *req);

int list_groups_response_decode(struct kreader *r, int16_t version, struct list_groups_response *out);
void list_groups_response_encode(struct kwriter *w, int16_t version, const struct list_groups_response *in);
void list_groups_response_free(struct list_groups_response *resp);

#endif
