/* fetch: Fetch (key 1) request and response, v4-12 (v12 flexible).
 *
 * v4 is the floor (isolation level and last stable offset exist); v13+
 * address topics by id and are not implemented. Of the response's v12 tagged
 * fields only diverging_epoch (tag 0) is coded, because follower truncation
 * needs it; current_leader (1) and snapshot_id (2) are skipped on decode and
 * never written. The request's cluster_id tag (0) is skipped.
 *
 * Ownership: decode fills strings and record sets as views into the reader's
 * buffer (valid as long as it) and mallocs the arrays, all released by *_free
 * (which leaves the views alone). Encode borrows everything; the records of
 * a partition are copied into the writer once (kw_raw), so a handler can pass
 * a view of log bytes it holds until encode returns - or left out by
 * fetch_response_encode_holes, for a handler that sends them itself. Decode
 * returns 0, or -1 when the bytes are malformed (reader err set) or memory
 * ran out; the struct is then already freed. Versions outside [MIN, MAX]
 * fail decode and are a bug for encode.
 */
#ifndef TERN_PROTOCOL_FETCH_H
#define TERN_PROTOCOL_FETCH_H

#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define FETCH_MIN_VERSION 4
#define FETCH_MAX_VERSION 12
#define FETCH_FLEXIBLE_VERSION 12

struct fetch_partition {
	int32_t partition;
	int32_t current_leader_epoch; /* v9+; -1 below */
	int64_t fetch_offset;
	int32_t last_fetched_epoch; /* v12+; -1 below */
	int64_t log_start_offset;   /* v5+; -1 below (followers only) */
	int32_t partition_max_bytes;
};

struct fetch_topic {
	struct kstr topic;
	struct fetch_partition *partitions;
	int32_t partitions_count;
};

struct fetch_forgotten_topic {
	struct kstr topic;
	int32_t *partitions; /* partition indexes */
	int32_t partitions_count;
};

struct fetch_request {
	int32_t replica_id; /* -1 for consumers, the broker id for followers */
	int32_t max_wait_ms;
	int32_t min_bytes;
	int32_t max_bytes;
	int8_t isolation_level; /* 0 read uncommitted, 1 read committed */
	int32_t session_id;     /* v7+; 0 below */
	int32_t session_epoch;  /* v7+; -1 below */
	struct fetch_topic *topics;
	int32_t topics_count;
	struct fetch_forgotten_topic *forgotten_topics_data; /* v7+ */
	int32_t forgotten_topics_data_count;
	struct kstr rack_id; /* v11+; "" below */
};

/* Absent (both -1) unless the leader detected a divergence. */
struct fetch_epoch_end_offset {
	int32_t epoch;
	int64_t end_offset;
};

struct fetch_aborted_transaction {
	int64_t producer_id;
	int64_t first_offset;
};

struct fetch_partition_data {
	int32_t partition_index;
	int16_t error_code;
	int64_t high_watermark;
	int64_t last_stable_offset;
	int64_t log_start_offset; /* v5+; -1 below */
	struct fetch_epoch_end_offset diverging_epoch; /* v12+ tag 0; {-1, -1} = absent */
	struct fetch_aborted_transaction *aborted_transactions;
	int32_t aborted_transactions_count; /* -1 = null array */
	int32_t preferred_read_replica;     /* v11+; -1 below */
	struct kbytes records;              /* nullable */
};

struct fetch_topic_response {
	struct kstr topic;
	struct fetch_partition_data *partitions;
	int32_t partitions_count;
};

struct fetch_response {
	int32_t throttle_time_ms;
	int16_t error_code; /* v7+; 0 below */
	int32_t session_id; /* v7+; 0 below */
	struct fetch_topic_response *responses;
	int32_t responses_count;
};

int fetch_request_decode(struct kreader *r, int16_t version, struct fetch_request *out);
void fetch_request_encode(struct kwriter *w, int16_t version, const struct fetch_request *in);
void fetch_request_free(struct fetch_request *req);
int fetch_response_decode(struct kreader *r, int16_t version, struct fetch_response *out);
void fetch_response_encode(struct kwriter *w, int16_t version, const struct fetch_response *in);
/* Record sets with bytes (records.len > 0) in a response. */
size_t fetch_response_record_sets(const struct fetch_response *in);
/* fetch_response_encode without the record bytes, so they can be sent from
 * where they are (a segment file, with sendfile) rather than copied into the
 * writer: for every partition with records.len > 0, in encoding order
 * (topics, then their partitions), only the size prefix is written and
 * holes[k] gets the writer position where the len bytes belong; records.p is
 * not read for them. The whole response is the writer's bytes with each
 * record set inserted at its hole. `holes` has room for
 * fetch_response_record_sets(in) entries; returns that count. */
size_t fetch_response_encode_holes(struct kwriter *w, int16_t version, const struct fetch_response *in,
				   size_t *holes);
void fetch_response_free(struct fetch_response *resp);

#endif
