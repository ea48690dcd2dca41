/* DeleteGroups (API key 42): request and response bodies.
 *
 * Layout from Kafka's DeleteGroupsRequest.json / DeleteGroupsResponse.json
 * (KIP-229). v1 is v0 with throttling after the response; v2 is the first
 * flexible version. A group can be deleted only when it is Empty (or Dead);
 * otherwise its result carries NON_EMPTY_GROUP.
 *
 * Memory: decode fills `out` with VIEWS into the reader's buffer and arrays
 * malloc'd and owned by the struct; *_free() releases the arrays (never the
 * views) and leaves the struct empty. On failure decode returns -1 with
 * r->err set and has freed what it allocated. Encode borrows everything.
 */
#ifndef TERN_PROTOCOL_DELETE_GROUPS_H
#define TERN_PROTOCOL_DELETE_GROUPS_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define DELETE_GROUPS_API_KEY 42
#define DELETE_GROUPS_MIN_VERSION 0
#define DELETE_GROUPS_MAX_VERSION 2
#define DELETE_GROUPS_FLEXIBLE_VERSION 2 /* first flexible version */

struct delete_groups_request {
	struct kstr *groups_names;
	int32_t groups_names_count;
};

/* DeletableGroupResult */
struct delete_groups_result {
	struct kstr group_id;
	int16_t error_code;
};

struct delete_groups_response {
	int32_t throttle_time_ms; /* ms */
	struct delete_groups_result *results;
	int32_t results_count;
};

int delete_groups_request_decode(struct kreader *r, int16_t version, struct delete_groups_request *out);
void delete_groups_request_encode(struct kwriter *w, int16_t version, const struct delete_groups_request *in);
void delete_groups_request_free(struct delete_groups_request *req);

int delete_groups_response_decode(struct kreader *r, int16_t version, struct delete_groups_response *out);
void delete_groups_response_encode(struct kwriter *w, int16_t version, const struct delete_groups_response *in);
void delete_groups_response_free(struct delete_groups_response *resp);

#endif
