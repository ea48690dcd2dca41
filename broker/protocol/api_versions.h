/* api_versions: ApiVersions (key 18) request and response, v0-3.
 *
 * v3 is flexible: the request carries client_software_name/version and every
 * structure ends with a tagged-field section. The response's v3 tagged fields
 * (supported/finalized features, ZK migration) are skipped on decode and not
 * written on encode: an absent tag means "none", which is what we have.
 *
 * Ownership: decode fills strings as views into the reader's buffer (valid as
 * long as it) and mallocs the api_keys array, released by *_free. Encode
 * borrows everything. Decode returns 0, or -1 when the bytes are malformed
 * (reader err set) or memory ran out; the struct is then already freed.
 */
#ifndef TERN_PROTOCOL_API_VERSIONS_H
#define TERN_PROTOCOL_API_VERSIONS_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define API_VERSIONS_MIN_VERSION 0
#define API_VERSIONS_MAX_VERSION 3
#define API_VERSIONS_FLEXIBLE_VERSION 3

struct api_versions_request {
	struct kstr client_software_name;    /* v3+; null below */
	struct kstr client_software_version; /* v3+; null below */
};

/* One ApiVersion row: an API key and the inclusive range of its versions. */
struct api_versions_key {
	int16_t api_key;
	int16_t min_version;
	int16_t max_version;
};

struct api_versions_response {
	int16_t error_code;
	struct api_versions_key *api_keys;
	int32_t api_keys_count;
	int32_t throttle_time_ms; /* v1+; 0 below */
};

int api_versions_request_decode(struct kreader *r, int16_t version, struct api_versions_request *out);
void api_versions_request_encode(struct kwriter *w, int16_t version, const struct api_versions_request *in);
void api_versions_request_free(struct api_versions_request *req);
int api_versions_response_decode(struct kreader *r, int16_t version, struct api_versions_response *out);
void api_versions_response_encode(struct kwriter *w, int16_t version, const struct api_versions_response *in);
void api_versions_response_free(struct api_versions_response *resp);

/* The body Kafka sends when a client asks for an ApiVersions version it does
 * not know (KIP-511): UNSUPPORTED_VERSION as an ApiVersions v0 body, with the
 * supported keys, so the client can retry with a version both sides speak.
 * The response header must be v0 too. Borrows keys (count rows). */
void api_versions_response_encode_unsupported(struct kwriter *w, const struct api_versions_key *keys,
					      int32_t count);

#endif
