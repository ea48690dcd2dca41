/* BrokerRegistration (API key 62): request and response bodies, v0-3.
 *
 * Layout from Kafka's BrokerRegistrationRequest.json /
 * BrokerRegistrationResponse.json. A broker sends this to the active
 * controller at startup to announce its listeners, supported features and
 * rack; the reply carries the broker epoch it must use afterwards. Every
 * version is flexible; neither side defines a tagged field, so all tags are
 * skipped on decode and none are written.
 *
 * Memory: decode fills strings with VIEWS into the reader's buffer (valid as
 * long as that buffer is) and mallocs the arrays, owned by the struct;
 * *_free() releases the arrays (never the strings) and leaves the struct
 * empty. Decode returns 0, or -1 when the bytes are malformed (r->err set)
 * or memory ran out; `out` is then already freed. Encode only reads `in`;
 * a null view in a non-nullable string is written as "". Versions outside
 * [MIN, MAX] fail decode and are a bug for encode.
 */
#ifndef TERN_PROTOCOL_BROKER_REGISTRATION_H
#define TERN_PROTOCOL_BROKER_REGISTRATION_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define BROKER_REGISTRATION_API_KEY 62
#define BROKER_REGISTRATION_MIN_VERSION 0
#define BROKER_REGISTRATION_MAX_VERSION 3
#define BROKER_REGISTRATION_FLEXIBLE_VERSION 0 /* first flexible version */

/* Listener */
struct broker_registration_listener {
	struct kstr name; /* listener name, unique in the request */
	struct kstr host;
	uint16_t port;
	int16_t security_protocol; /* 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL */
};

/* Feature */
struct broker_registration_feature {
	struct kstr name; /* feature name, unique in the request */
	int16_t min_supported_version;
	int16_t max_supported_version;
};

struct broker_registration_request {
	int32_t broker_id;
	struct kstr cluster_id;
	uint8_t incarnation_id[16]; /* fresh each time the process starts */
	struct broker_registration_listener *listeners;
	int32_t listeners_count;
	struct broker_registration_feature *features;
	int32_t features_count;
	struct kstr rack;            /* nullable */
	bool is_migrating_zk_broker; /* v1+, default false */
	uint8_t (*log_dirs)[16];     /* v2+: directory ids available on this broker */
	int32_t log_dirs_count;
	int64_t previous_broker_epoch; /* v3+, default -1: epoch before a clean shutdown */
};

struct broker_registration_response {
	int32_t throttle_time_ms; /* ms */
	int16_t error_code;
	int64_t broker_epoch; /* default -1: none assigned */
};

int broker_registration_request_decode(struct kreader *r, int16_t version,
				       struct broker_registration_request *out);
void broker_registration_request_encode(struct kwriter *w, int16_t version,
					const struct broker_registration_request *in);
void broker_registration_request_free(struct broker_registration_request *req);

int broker_registration_response_decode(struct kreader *r, int16_t version,
					struct broker_registration_response *out);
void broker_registration_response_encode(struct kwriter *w, int16_t version,
					 const struct broker_registration_response *in);
void broker_registration_response_free(struct broker_registration_response *resp);

#endif
