/* header: Kafka request and response headers.
 *
 * Request header v1 = api_key, api_version, correlation_id, client_id;
 * v2 adds a tagged-field section. The client_id stays a classic INT16
 * nullable string even in v2 (KIP-482 keeps it readable by every broker).
 * Response header v0 = correlation_id; v1 adds an empty tagged-field section.
 * ApiVersions responses always use v0 (KIP-511), whatever the request's
 * version: the caller picks the header version, this file only codes it.
 *
 * Ownership: decoded client_id is a view into the reader's buffer, valid as
 * long as that buffer. Nothing here allocates.
 */
#ifndef TERN_PROTOCOL_HEADER_H
#define TERN_PROTOCOL_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

struct request_header {
	int16_t api_key;
	int16_t api_version;
	int32_t correlation_id;
	struct kstr client_id; /* nullable, view into the frame */
};

/* header_version: 0 (no client id; only ControlledShutdown v0, not used), 1 (client_id INT16
 * nullable string), 2 (v1 + tagged fields). Returns 0 or -1 (reader err set). */
int request_header_decode(struct kreader *r, int16_t header_version, struct request_header *out);
void request_header_encode(struct kwriter *w, int16_t header_version, const struct request_header *h);
/* Response header v0 = correlation id; v1 = + empty tagged fields. */
void response_header_encode(struct kwriter *w, int16_t header_version, int32_t correlation_id);
int response_header_decode(struct kreader *r, int16_t header_version, int32_t *correlation_id);
/* Peeks api_key and api_version (first 4 bytes) without consuming; -1 if too short. */
int request_header_peek(const uint8_t *frame, size_t len, int16_t *api_key, int16_t *api_version);

#endif
