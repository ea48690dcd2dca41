/* Heartbeat (API key 12): request and response bodies.
 *
 * Layout from Kafka's HeartbeatRequest.json / HeartbeatResponse.json; v3+
 * carry group_instance_id (KIP-345).
 *
 * Memory: decoded strings are VIEWS into the reader's buffer; nothing is
 * allocated, so *_free() only exists for symmetry with the other codecs.
 */
#ifndef TERN_PROTOCOL_HEARTBEAT_H
#define TERN_PROTOCOL_HEARTBEAT_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define HEARTBEAT_API_KEY 12
#define HEARTBEAT_MIN_VERSION 0
#define HEARTBEAT_MAX_VERSION 4
#define HEARTBEAT_FLEXIBLE_VERSION 4

struct heartbeat_request {
	struct kstr group_id;
	int32_t generation_id;
	struct kstr member_id;
	struct kstr group_instance_id; /* v3+, nullable, default null */
};

struct heartbeat_response {
	int32_t throttle_time_ms; /* v1+, ms */
	int16_t error_code;
};

int heartbeat_request_decode(struct kreader *r, int16_t version, struct heartbeat_request *out);
void heartbeat_request_encode(struct kwriter *w, int16_t version, const struct heartbeat_request *in);
void heartbeat_request_free(struct heartbeat_request *req);

int heartbeat_response_decode(struct kreader *r, int16_t version, struct heartbeat_response *out);
void heartbeat_response_encode(struct kwriter *w, int16_t version, const struct heartbeat_response *in);
void heartbeat_response_free(struct heartbeat_response *resp);

#endif
