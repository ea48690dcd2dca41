/* DeleteTopics (API key 20): request and response bodies.
 *
 * Layout from Kafka's DeleteTopicsRequest.json / DeleteTopicsResponse.json.
 * The broker advertises versions [MIN, MAX]; the codec follows the JSON's
 * whole range 0..MAX so an older version is never misparsed.
 *
 * Versions before 6 name topics in `TopicNames` ([]string); v6 sends
 * `Topics` [name (nullable), topic_id]. Both decode into the one `topics`
 * array: before v6 every id is all zero; from v6 a topic is named either by
 * name or by a non-zero id. Encoding before v6 writes the names only.
 *
 * Memory: decode fills `out` with strings that are VIEWS into the reader's
 * buffer (valid as long as that buffer is) and arrays malloc'd and owned by
 * the struct; *_free() releases the arrays (never the strings) and leaves the
 * struct empty. On failure decode returns -1 with r->err set and has already
 * freed what it allocated (freeing `out` again is harmless).
 */
#ifndef TERN_PROTOCOL_DELETE_TOPICS_H
#define TERN_PROTOCOL_DELETE_TOPICS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define DELETE_TOPICS_API_KEY 20
#define DELETE_TOPICS_MIN_VERSION 1
#define DELETE_TOPICS_MAX_VERSION 6
#define DELETE_TOPICS_FLEXIBLE_VERSION 4 /* first flexible version */

/* DeleteTopicState (v6), or one entry of TopicNames (v0-5). */
struct delete_topics_topic {
	struct kstr name;     /* nullable in v6 (topic named by id); never null before */
	uint8_t topic_id[16]; /* v6+, all zero when named by name */
};

struct delete_topics_request {
	struct delete_topics_topic *topics;
	int32_t topics_count;
	int32_t timeout_ms;
};

/* DeletableTopicResult */
struct delete_topics_topic_result {
	struct kstr name;          /* nullable in v6+ */
	uint8_t topic_id[16];      /* v6+, default all zero */
	int16_t error_code;
	struct kstr error_message; /* v5+, nullable, default null */
};

struct delete_topics_response {
	int32_t throttle_time_ms; /* v1+, ms */
	struct delete_topics_topic_result *responses;
	int32_t responses_count;
};

int delete_topics_request_decode(struct kreader *r, int16_t version, struct delete_topics_request *out);
void delete_topics_request_encode(struct kwriter *w, int16_t version, const struct delete_topics_request *in);
void delete_topics_request_free(struct delete_topics_request *req);

int delete_topics_response_decode(struct kreader *r, int16_t version, struct delete_topics_response *out);
void delete_topics_response_encode(struct kwriter *w, int16_t version,
				   const struct delete_topics_response *in);
void delete_topics_response_free(struct delete_topics_response *resp);

#endif
