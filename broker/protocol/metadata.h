/* metadata: Metadata (key 3) request and response, v0-12 (v9+ flexible).
 *
 * v10+ carry topic ids (request and response); v12 lets a response topic
 * name be null (a topic asked for by an unknown id). The request's topic list
 * is normalised: topics_count == -1 (topics NULL) means "all topics" in
 * every version, including v0 where the wire form of "all" is an empty list
 * (an empty v0 list decodes to -1, and -1 encodes as an empty v0 list).
 *
 * Ownership: decode fills strings as views into the reader's buffer (valid
 * as long as it) and mallocs the arrays, all released by *_free (which
 * leaves the views alone). Encode borrows everything. Decode returns 0, or
 * -1 when the bytes are malformed (reader err set) or memory ran out; the
 * struct is then already freed. Versions outside [MIN, MAX] fail decode and
 * are a bug for encode.
 */
#ifndef TERN_PROTOCOL_METADATA_H
#define TERN_PROTOCOL_METADATA_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define METADATA_MIN_VERSION 0
#define METADATA_MAX_VERSION 12
#define METADATA_FLEXIBLE_VERSION 9

/* Default of the authorized-operations bitfields: "not asked for". */
#define METADATA_AUTHORIZED_OPERATIONS_UNKNOWN INT32_MIN

struct metadata_request_topic {
	uint8_t topic_id[16]; /* v10+; all zero = by name */
	struct kstr name;     /* nullable in v10+ (asked by id) */
};

struct metadata_request {
	struct metadata_request_topic *topics;
	int32_t topics_count;                       /* -1 = all topics (see above) */
	bool allow_auto_topic_creation;             /* v4+; true below */
	bool include_cluster_authorized_operations; /* v8-10; false otherwise */
	bool include_topic_authorized_operations;   /* v8+; false below */
};

struct metadata_response_broker {
	int32_t node_id;
	struct kstr host;
	int32_t port;
	struct kstr rack; /* v1+, nullable; null below */
};

struct metadata_response_partition {
	int16_t error_code;
	int32_t partition_index;
	int32_t leader_id;
	int32_t leader_epoch; /* v7+; -1 below */
	int32_t *replica_nodes;
	int32_t replica_nodes_count;
	int32_t *isr_nodes;
	int32_t isr_nodes_count;
	int32_t *offline_replicas; /* v5+ */
	int32_t offline_replicas_count;
};

struct metadata_response_topic {
	int16_t error_code;
	struct kstr name;     /* nullable in v12+ only */
	uint8_t topic_id[16]; /* v10+; all zero when unknown */
	bool is_internal;     /* v1+; false below */
	struct metadata_response_partition *partitions;
	int32_t partitions_count;
	int32_t topic_authorized_operations; /* v8+; METADATA_AUTHORIZED_OPERATIONS_UNKNOWN below */
};

struct metadata_response {
	int32_t throttle_time_ms; /* v3+; 0 below */
	struct metadata_response_broker *brokers;
	int32_t brokers_count;
	struct kstr cluster_id; /* v2+, nullable; null below */
	int32_t controller_id;  /* v1+; -1 below */
	struct metadata_response_topic *topics;
	int32_t topics_count;
	int32_t cluster_authorized_operations; /* v8-10; METADATA_AUTHORIZED_OPERATIONS_UNKNOWN otherwise */
};

int metadata_request_decode(struct kreader *r, int16_t version, struct metadata_request *out);
void metadata_request_encode(struct kwriter *w, int16_t version, const struct metadata_request *in);
void metadata_request_free(struct metadata_request *req);
int metadata_response_decode(struct kreader *r, int16_t version, struct metadata_response *out);
void metadata_response_encode(struct kwriter *w, int16_t version, const struct metadata_response *in);
void metadata_response_free(struct metadata_response *resp);

#endif
