/* CreateTopics (API key 19): request and response bodies.
 *
 * Layout from Kafka's CreateTopicsRequest.json / CreateTopicsResponse.json.
 * The broker advertises versions [MIN, MAX]; the codec follows the JSON's
 * whole range 0..MAX so an older version is never misparsed.
 *
 * Memory: decode fills `out` with strings that are VIEWS into the reader's
 * buffer (valid as long as that buffer is) and arrays malloc'd and owned by
 * the struct; *_free() releases the arrays (never the strings) and leaves the
 * struct empty. On failure decode returns -1 with r->err set and has already
 * freed what it allocated, so `out` needs no free (freeing it is harmless).
 * Encode only reads `in`; a caller building a struct by hand may use malloc'd
 * arrays and release them with *_free().
 *
 * Arrays: `<name>` + `<name>_count`; a count of -1 means a null array and is
 * only used where the JSON allows null (noted on the field).
 */
#ifndef TERN_PROTOCOL_CREATE_TOPICS_H
#define TERN_PROTOCOL_CREATE_TOPICS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define CREATE_TOPICS_API_KEY 19
#define CREATE_TOPICS_MIN_VERSION 2
#define CREATE_TOPICS_MAX_VERSION 7
#define CREATE_TOPICS_FLEXIBLE_VERSION 5 /* first flexible version */

/* CreatableReplicaAssignment */
struct create_topics_assignment {
	int32_t partition_index;
	int32_t *broker_ids; /* replica list, preferred leader first */
	int32_t broker_ids_count;
};

/* CreateableTopicConfig */
struct create_topics_config {
	struct kstr name;
	struct kstr value; /* nullable */
};

/* CreatableTopic */
struct create_topics_topic {
	struct kstr name;
	int32_t num_partitions;     /* -1: broker default or manual assignment */
	int16_t replication_factor; /* -1: broker default or manual assignment */
	struct create_topics_assignment *assignments; /* empty for automatic placement */
	int32_t assignments_count;
	struct create_topics_config *configs;
	int32_t configs_count;
};

struct create_topics_request {
	struct create_topics_topic *topics;
	int32_t topics_count;
	int32_t timeout_ms;
	bool validate_only; /* v1+, default false */
};

/* CreatableTopicConfigs (response, v5+) */
struct create_topics_result_config {
	struct kstr name;
	struct kstr value; /* nullable */
	bool read_only;
	int8_t config_source; /* default -1 */
	bool is_sensitive;
};

/* CreatableTopicResult */
struct create_topics_topic_result {
	struct kstr name;
	uint8_t topic_id[16];   /* v7+, default all zero */
	int16_t error_code;
	struct kstr error_message; /* v1+, nullable; default "" when absent */
	/* v5+, tagged field 0: written only when non-zero. */
	int16_t topic_config_error_code;
	int32_t num_partitions;     /* v5+, default -1 */
	int16_t replication_factor; /* v5+, default -1 */
	/* v5+, nullable (count -1); default empty when absent. */
	struct create_topics_result_config *configs;
	int32_t configs_count;
};

struct create_topics_response {
	int32_t throttle_time_ms; /* v2+, ms */
	struct create_topics_topic_result *topics;
	int32_t topics_count;
};

int create_topics_request_decode(struct kreader *r, int16_t version, struct create_topics_request *out);
void create_topics_request_encode(struct kwriter *w, int16_t version, const struct create_topics_request *in);
void create_topics_request_free(struct create_topics_request *req);

int create_topics_response_decode(struct kreader *r, int16_t version, struct create_topics_response *out);
void create_topics_response_encode(struct kwriter *w, int16_t version,
				   const struct create_topics_response *in);
void create_topics_response_free(struct create_topics_response *resp);

#endif
