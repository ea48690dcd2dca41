/* BrokerHeartbeat (API key 63): request and response bodies, v0-1.
 *
 * Layout from Kafka's BrokerHeartbeatRequest.json / BrokerHeartbeatResponse.json.
 * A broker sends this to the active controller to keep its registration
 * alive, report how far it has replayed the metadata log, and ask to be
 * fenced or shut down. Every version is flexible.
 *
 * Tagged fields: the request's offline_log_dirs (v1+, tag 0) is coded; it is
 * written only when non-empty, as Kafka does for a field at its default. A
 * repeated tag 0 is malformed. Every other tag is skipped on decode.
 *
 * Memory: decode mallocs offline_log_dirs (released by *_free, which leaves
 * the struct empty); nothing else is allocated. Decode returns 0, or -1 when
 * the bytes are malformed (r->err set) or memory ran out; `out` is then
 * already freed. Encode only reads `in`. Versions outside [MIN, MAX] fail
 * decode and are a bug for encode.
 */
#ifndef TERN_PROTOCOL_BROKER_HEARTBEAT_H
#define TERN_PROTOCOL_BROKER_HEARTBEAT_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define BROKER_HEARTBEAT_API_KEY 63
#define BROKER_HEARTBEAT_MIN_VERSION 0
#define BROKER_HEARTBEAT_MAX_VERSION 1
#define BROKER_HEARTBEAT_FLEXIBLE_VERSION 0 /* first flexible version */

struct broker_heartbeat_request {
	int32_t broker_id;
	int64_t broker_epoch;            /* -1 before registration completes */
	int64_t current_metadata_offset; /* highest metadata log offset replayed */
	bool want_fence;
	bool want_shut_down;
	/* v1+, tag 0: directory ids of failed log dirs; empty when absent. */
	uint8_t (*offline_log_dirs)[16];
	int32_t offline_log_dirs_count;
};

struct broker_heartbeat_response {
	int32_t throttle_time_ms; /* ms */
	int16_t error_code;
	bool is_caught_up;     /* default false */
	bool is_fenced;        /* default true */
	bool should_shut_down;
};

int broker_heartbeat_request_decode(struct kreader *r, int16_t version, struct broker_heartbeat_request *out);
void broker_heartbeat_request_encode(struct kwriter *w, int16_t version, const struct broker_heartbeat_request *in);
void broker_heartbeat_request_free(struct broker_heartbeat_request *req);

int broker_heartbeat_response_decode(struct kreader *r, int16_t version, struct broker_heartbeat_response *out);
void broker_heartbeat_response_encode(struct kwriter *w, int16_t version,
				      const struct broker_heartbeat_response *in);
void broker_heartbeat_response_free(struct broker_heartbeat_response *resp);

#endif
