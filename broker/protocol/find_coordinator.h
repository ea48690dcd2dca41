/* FindCoordinator (API key 10): request and response bodies.
 *
 * Layout from Kafka's FindCoordinatorRequest.json / FindCoordinatorResponse.json.
 * Versions 0-3 ask for one key (`key`, with `key_type` from v1: 0 group,
 * 1 transaction); v4 (KIP-699) batches them in `coordinator_keys` and answers
 * one `coordinators` entry per key.
 *
 * Memory: decode fills `out` with strings that are VIEWS into the reader's
 * buffer (valid as long as that buffer is) and arrays malloc'd and owned by
 * the struct; *_free() releases the arrays (never the strings). On failure
 * decode returns -1 with r->err set and has freed what it allocated. Encode
 * borrows everything.
 */
#ifndef TERN_PROTOCOL_FIND_COORDINATOR_H
#define TERN_PROTOCOL_FIND_COORDINATOR_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define FIND_COORDINATOR_API_KEY 10
#define FIND_COORDINATOR_MIN_VERSION 0
#define FIND_COORDINATOR_MAX_VERSION 4
#define FIND_COORDINATOR_FLEXIBLE_VERSION 3

#define FIND_COORDINATOR_KEY_TYPE_GROUP 0
#define FIND_COORDINATOR_KEY_TYPE_TRANSACTION 1

struct find_coordinator_request {
	struct kstr key;               /* v0-3 */
	int8_t key_type;               /* v1+, default 0 (group) */
	struct kstr *coordinator_keys; /* v4+ */
	int32_t coordinator_keys_count;
};

struct find_coordinator_coordinator {
	struct kstr key;
	int32_t node_id;
	struct kstr host;
	int32_t port;
	int16_t error_code;
	struct kstr error_message; /* nullable */
};

struct find_coordinator_response {
	int32_t throttle_time_ms;  /* v1+, ms */
	int16_t error_code;        /* v0-3 */
	struct kstr error_message; /* v1-3, nullable */
	int32_t node_id;           /* v0-3 */
	struct kstr host;          /* v0-3 */
	int32_t port;              /* v0-3 */
	struct find_coordinator_coordinator *coordinators; /* v4+ */
	int32_t coordinators_count;
};

int find_coordinator_request_decode(struct kreader *r, int16_t version, struct find_coordinator_request *out);
void find_coordinator_request_encode(struct kwriter *w, int16_t version, const struct find_coordinator_request *in);
void find_coordinator_request_free(struct find_coordinator_request *req);

int find_coordinator_response_decode(struct kreader *r, int16_t version, struct find_coordinator_response *out);
void find_coordinator_response_encode(struct kwriter *w, int16_t version,
				      const struct find_coordinator_response *in);
void find_coordinator_response_free(struct find_coordinator_response *resp);

#endif
