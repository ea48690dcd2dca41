/* CreatePartitions (API key 37): request and response bodies.
 *
 * Layout from Kafka's CreatePartitionsRequest.json / CreatePartitionsResponse.json.
 *
 * Memory: decode fills `out` with strings that are VIEWS into the reader's
 * buffer (valid as long as that buffer is) and arrays malloc'd and owned by
 * the struct; *_free() releases the arrays (never the strings) and leaves the
 * struct empty. On failure decode returns -1 with r->err set and has already
 * freed what it allocated (freeing `out` again is harmless).
 *
 * Arrays: `<name>` + `<name>_count`; a count of -1 means a null array, used
 * only where the JSON allows null (noted on the field).
 */
#ifndef TERN_PROTOCOL_CREATE_PARTITIONS_H
#define TERN_PROTOCOL_CREATE_PARTITIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define CREATE_PARTITIONS_API_KEY 37
#define CREATE_PARTITIONS_MIN_VERSION 0
#define CREATE_PARTITIONS_MAX_VERSION 3
#define CREATE_PARTITIONS_FLEXIBLE_VERSION 2 /* first flexible version */

/* CreatePartitionsAssignment: the replicas of one new partition. */
struct create_partitions_assignment {
	int32_t *broker_ids; /* preferred leader first */
	int32_t broker_ids_count;
};

/* CreatePartitionsTopic */
struct create_partitions_topic {
	struct kstr name;
	int32_t count; /* the new total partition count */
	/* Nullable (count -1: the broker places the new partitions); otherwise
	 * one entry per new partition. */
	struct create_partitions_assignment *assignments;
	int32_t assignments_count;
};

struct create_partitions_request {
	struct create_partitions_topic *topics;
	int32_t topics_count;
	int32_t timeout_ms;
	bool validate_only;
};

/* CreatePartitionsTopicResult */
struct create_partitions_topic_result {
	struct kstr name;
	int16_t error_code;
	struct kstr error_message; /* nullable */
};

struct create_partitions_response {
	int32_t throttle_time_ms; /* ms */
	struct create_partitions_topic_result *results;
	int32_t results_count;
};

int create_partitions_request_decode(struct kreader *r, int16_t version, struct create_partitions_request *out);
void create_partitions_request_encode(struct kwriter *w, int16_t version,
				      const struct create_partitions_request *in);
void create_partitions_request_free(struct create_partitions_request *req);

int create_partitions_response_decode(struct kreader *r, int16_t version, struct create_partitions_response *out);
void create_partitions_response_encode(struct kwriter *w, int16_t version,
				       const struct create_partitions_response *in);
void create_partitions_response_free(struct create_partitions_response *resp);

#endif
