/* produce: Produce (key 0) request and response, v0-9 (v9+ flexible).
 *
 * v0-v2 carry legacy message sets (magic 0/1; legacy.h up-converts them),
 * v3 adds transactional_id and requires record batches v2. The response
 * gains throttle_time_ms in v1 and log_append_time_ms in v2. Record sets stay
 * opaque bytes here: validating batches is the handler's and log's job.
 *
 * Ownership: decode fills strings and record sets as views into the reader's
 * buffer (valid as long as it) and mallocs the arrays, all released by *_free
 * (which leaves the views alone, and frees a partition's `converted`). Encode borrows everything. Decode returns
 * 0, or -1 when the bytes are malformed (reader err set) or memory ran out;
 * the struct is then already freed. Versions outside [MIN, MAX] fail decode
 * and are a bug for encode.
 */
#ifndef TERN_PROTOCOL_PRODUCE_H
#define TERN_PROTOCOL_PRODUCE_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define PRODUCE_MIN_VERSION 0
#define PRODUCE_MAX_VERSION 9
#define PRODUCE_FLEXIBLE_VERSION 9

struct produce_partition_data {
	int32_t index;
	struct kbytes records; /* nullable; one or more record batches */
	uint8_t *converted;    /* owned, NULL after decode: set by the handler
				  when it replaces `records` with a batch
				  up-converted from a legacy message set;
				  freed by produce_request_free */
};

struct produce_topic_data {
	struct kstr name;
	struct produce_partition_data *partition_data;
	int32_t partition_data_count;
};

struct produce_request {
	struct kstr transactional_id; /* v3+, nullable; null below */
	int16_t acks;                 /* 0, 1 or -1 (all) */
	int32_t timeout_ms;
	struct produce_topic_data *topic_data;
	int32_t topic_data_count;
};

struct produce_batch_index_and_error_message {
	int32_t batch_index;
	struct kstr batch_index_error_message; /* nullable */
};

struct produce_partition_response {
	int32_t index;
	int16_t error_code;
	int64_t base_offset;
	int64_t log_append_time_ms; /* v2+; -1 unless the topic uses LogAppendTime,
				       and -1 below v2 */
	int64_t log_start_offset;   /* v5+; -1 below */
	struct produce_batch_index_and_error_message *record_errors; /* v8+ */
	int32_t record_errors_count;
	struct kstr error_message; /* v8+, nullable; null below */
};

struct produce_topic_response {
	struct kstr name;
	struct produce_partition_response *partition_responses;
	int32_t partition_responses_count;
};

struct produce_response {
	struct produce_topic_response *responses;
	int32_t responses_count;
	int32_t throttle_time_ms; /* v1+; 0 below */
};

int produce_request_decode(struct kreader *r, int16_t version, struct produce_request *out);
void produce_request_encode(struct kwriter *w, int16_t version, const struct produce_request *in);
void produce_request_free(struct produce_request *req);
int produce_response_decode(struct kreader *r, int16_t version, struct produce_response *out);
void produce_response_encode(struct kwriter *w, int16_t version, const struct produce_response *in);
void produce_response_free(struct produce_response *resp);

#endif
