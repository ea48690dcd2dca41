/* OffsetFetch (API key 9): request and response bodies.
 *
 * Layout from Kafka's OffsetFetchRequest.json / OffsetFetchResponse.json.
 * v0-7 ask about one group (`group_id`, `topics`; from v2 a null `topics`
 * means every committed partition); v8 (KIP-709) batches `groups`, each with
 * its own nullable `topics`. v5+ return the committed leader epoch, v7 adds
 * require_stable. v9 (KIP-848 member epochs) is not spoken.
 *
 * A null array is `x == NULL && x_count == -1`.
 *
 * Memory: decode fills `out` with VIEWS into the reader's buffer and arrays
 * malloc'd and owned by the struct (at every level); *_free() releases the
 * arrays (never the views). On failure decode returns -1 with r->err set and
 * has freed what it allocated. Encode borrows everything.
 */
#ifndef TERN_PROTOCOL_OFFSET_FETCH_H
#define TERN_PROTOCOL_OFFSET_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define OFFSET_FETCH_API_KEY 9
#define OFFSET_FETCH_MIN_VERSION 0
#define OFFSET_FETCH_MAX_VERSION 8
#define OFFSET_FETCH_FLEXIBLE_VERSION 6

struct offset_fetch_request_topic {
	struct kstr name;
	int32_t *partition_indexes;
	int32_t partition_indexes_count;
};

struct offset_fetch_request_group {
	struct kstr group_id;
	struct offset_fetch_request_topic *topics; /* nullable: every committed partition */
	int32_t topics_count;                      /* -1 when null */
};

struct offset_fetch_request {
	struct kstr group_id;                      /* v0-7 */
	struct offset_fetch_request_topic *topics; /* v0-7, nullable from v2 */
	int32_t topics_count;                      /* -1 when null */
	struct offset_fetch_request_group *groups; /* v8+ */
	int32_t groups_count;
	bool require_stable; /* v7+ */
};

struct offset_fetch_response_partition {
	int32_t partition_index;
	int64_t committed_offset;       /* -1: none */
	int32_t committed_leader_epoch; /* v5+, default -1 */
	struct kstr metadata;           /* nullable */
	int16_t error_code;
};

struct offset_fetch_response_topic {
	struct kstr name;
	struct offset_fetch_response_partition *partitions;
	int32_t partitions_count;
};

struct offset_fetch_response_group {
	struct kstr group_id;
	struct offset_fetch_response_topic *topics;
	int32_t topics_count;
	int16_t error_code;
};

struct offset_fetch_response {
	int32_t throttle_time_ms; /* v3+, ms */
	struct offset_fetch_response_topic *topics; /* v0-7 */
	int32_t topics_count;
	int16_t error_code; /* v2-7 */
	struct offset_fetch_response_group *groups; /* v8+ */
	int32_t groups_count;
};

int offset_fetch_request_decode(struct kreader *r, int16_t version, struct offset_fetch_request *out);
void offset_fetch_request_encode(struct kwriter *w, int16_t version, const struct offset_fetch_request *in);
void offset_fetch_request_free(struct offset_fetch_request *req);

int offset_fetch_response_decode(struct kreader *r, int16_t version, struct offset_fetch_response *out);
void offset_fetch_response_encode(struct kwriter *w, int16_t version, const struct offset_fetch_response *in);
void offset_fetch_response_free(struct offset_fetch_response *resp);

#endif
