/* AllocateProducerIds (API key 67): request and response bodies, v0.
 *
 * Layout from Kafka's AllocateProducerIdsRequest.json /
 * AllocateProducerIdsResponse.json. A broker asks the active controller for
 * the next block of producer ids it may hand out through InitProducerId;
 * the controller answers [producer_id_start, producer_id_start +
 * producer_id_len). Every version is flexible. A broker-to-controller API:
 * never listed in ApiVersions.
 *
 * Tagged fields: none are defined; every tag is skipped on decode and an
 * empty section is written.
 *
 * Memory: nothing is allocated. Decode returns 0, or -1 when the bytes are
 * malformed (r->err set). Encode only reads `in`. Versions outside
 * [MIN, MAX] fail decode and are a bug for encode.
 */
#ifndef TERN_PROTOCOL_ALLOCATE_PRODUCER_IDS_H
#define TERN_PROTOCOL_ALLOCATE_PRODUCER_IDS_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define ALLOCATE_PRODUCER_IDS_API_KEY 67
#define ALLOCATE_PRODUCER_IDS_MIN_VERSION 0
#define ALLOCATE_PRODUCER_IDS_MAX_VERSION 0
#define ALLOCATE_PRODUCER_IDS_FLEXIBLE_VERSION 0 /* first flexible version */

struct allocate_producer_ids_request {
	int32_t broker_id;
	int64_t broker_epoch; /* -1 by default */
};

struct allocate_producer_ids_response {
	int32_t throttle_time_ms; /* ms */
	int16_t error_code;
	int64_t producer_id_start; /* the first id of the block, inclusive */
	int32_t producer_id_len;   /* ids in the block */
};

int allocate_producer_ids_request_decode(struct kreader *r, int16_t version,
					 struct allocate_producer_ids_request *out);
void allocate_producer_ids_request_encode(struct kwriter *w, int16_t version,
					  const struct allocate_producer_ids_request *in);
void allocate_producer_ids_request_free(struct allocate_producer_ids_request *req);

int allocate_producer_ids_response_decode(struct kreader *r, int16_t version,
					  struct allocate_producer_ids_response *out);
void allocate_producer_ids_response_encode(struct kwriter *w, int16_t version,
					   const struct allocate_producer_ids_response *in);
void allocate_producer_ids_response_free(struct allocate_producer_ids_response *resp);

#endif
