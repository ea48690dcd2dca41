/* InitProducerId (API key 22): request and response bodies, v0-4.
 *
 * Layout from Kafka's InitProducerIdRequest.json / InitProducerIdResponse.json.
 * A producer asks for a producer id and epoch before its first idempotent
 * (or transactional) batch. v1 is v0; v2 is the first flexible version; v3
 * adds the producer's current id and epoch to the request (KIP-360, so a
 * producer may ask to resume); v4 only allows the PRODUCER_FENCED error.
 * v5 (KIP-890's TRANSACTION_ABORTABLE) is not served.
 *
 * Tagged fields: none are defined; every tag is skipped on decode and an
 * empty section is written.
 *
 * Memory: nothing is allocated; transactional_id is a view into the reader's
 * buffer. Decode returns 0, or -1 when the bytes are malformed (r->err set).
 * Encode only reads `in`. Versions outside [MIN, MAX] fail decode and are a
 * bug for encode.
 */
#ifndef TERN_PROTOCOL_INIT_PRODUCER_ID_H
#define TERN_PROTOCOL_INIT_PRODUCER_ID_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define INIT_PRODUCER_ID_API_KEY 22
#define INIT_PRODUCER_ID_MIN_VERSION 0
#define INIT_PRODUCER_ID_MAX_VERSION 4
#define INIT_PRODUCER_ID_FLEXIBLE_VERSION 2 /* first flexible version */

struct init_producer_id_request {
	struct kstr transactional_id;   /* len -1: null (an idempotent producer) */
	int32_t transaction_timeout_ms; /* ms; only meaningful with a transactional id */
	int64_t producer_id;            /* v3+; -1 (the default) when the producer has none */
	int16_t producer_epoch;         /* v3+; -1 by default */
};

struct init_producer_id_response {
	int32_t throttle_time_ms; /* ms */
	int16_t error_code;
	int64_t producer_id; /* -1 on error */
	int16_t producer_epoch;
};

int init_producer_id_request_decode(struct kreader *r, int16_t version, struct init_producer_id_request *out);
void init_producer_id_request_encode(struct kwriter *w, int16_t version, const struct init_producer_id_request *in);
void init_producer_id_request_free(struct init_producer_id_request *req);

int init_producer_id_response_decode(struct kreader *r, int16_t version, struct init_producer_id_response *out);
void init_producer_id_response_encode(struct kwriter *w, int16_t version, const struct init_producer_id_response *in);
void init_producer_id_response_free(struct init_producer_id_response *resp);

#endif
