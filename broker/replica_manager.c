#include "broker/replica_manager.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_internal.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "broker/metadata.h"
#include "broker/offload.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/errors.h"
#include "raft/image.h"
#include "replication/fetcher.h"

#define REPLICA_LOG "replica"
#define REPLICA_MAX_FETCHERS 64
#define REPLICA_BACKOFF_MS 100
#define REPLICA_RESPONSE_MAX_BYTES (10 * 1024 * 1024) /* replica.fetch.response.max.bytes */

struct replica_manager {
	struct broker *b; /* borrowed */
	struct fetcher *fetchers[REPLICA_MAX_FETCHERS];
	size_t n;
};

/* ---- fetcher callbacks ---- */

static size_t replica_collect(void *arg, int32_t leader, struct fetcher_partition *out, size_t max)
{
	struct replica_manager *rm = arg;
	struct topics *ts = &rm->b->topics;
	size_t n = 0;
	for (int i = 0; i < ts->count && n < max; i++) {
		struct topic *t = ts->items[i];
		for (int32_t k = 0; k < t->partition_count && n < max; k++) {
			struct partition *p = t->partitions[k];
			if (p == NULL || p->is_leader || p->leader_id != leader)
				continue;
			out[n++] = (struct fetcher_partition){
				.topic = t->name,
				.partition = k,
				.fetch_offset = log_end_offset(p->log),
				.current_leader_epoch = p->leader_epoch,
				.log_start_offset = log_start_offset(p->log),
			};
		}
	}
	return n;
}

/* Appends the leader's batches after this log's end, as they are. */
static void replica_append(struct replica_manager *rm, struct partition *p, const uint8_t *data, size_t len)
{
	struct batch_iter it;
	const uint8_t *batch;
	size_t size;
	int64_t now = broker_now_ms();
	batch_iter_init(&it, data, len);
	while (batch_iter_next(&it, &batch, &size)) {
		struct batch_header h;
		if (batch_header_parse(batch, size, &h) != 0)
			break;
		int64_t end = log_end_offset(p->log);
		if (h.base_offset + h.last_offset_delta < end)
			continue; /* already here (a batch the leader sent again) */
		if (h.base_offset != end) {
			tlog(TLOG_WARN, REPLICA_LOG, "%s-%d: leader batch at %" PRId64 " does not start at our end %" PRId64,
			     p->topic->name, p->index, h.base_offset, end);
			break;
		}
		if (!batch_crc_ok(batch, size)) {
			tlog(TLOG_WARN, REPLICA_LOG, "%s-%d: corrupt batch from the leader at %" PRId64, p->topic->name,
			     p->index, h.base_offset);
			break;
		}
		int rc = log_append(p->log, batch, size, now);
		if (rc != 0) {
			tlog(TLOG_ERROR, REPLICA_LOG, "%s-%d: append at %" PRId64 " failed: %s", p->topic->name, p->index,
			     h.base_offset, strerror(-rc));
			break;
		}
		offload_appended(rm->b, p, batch, size);
	}
}

static void replica_apply(void *arg, int32_t leader, const char *topic, size_t topic_len,
			  const struct fetch_partition_data *pd)
{
	struct replica_manager *rm = arg;
	struct kstr name = {topic, (int32_t)topic_len};
	struct partition *p = topics_partition(&rm->b->topics, name, pd->partition_index);
	if (p == NULL || p->is_leader || p->leader_id != leader)
		return; /* the metadata moved on meanwhile */
	switch (pd->error_code) {
	case KERR_NONE:
		break;
	case KERR_OFFSET_OUT_OF_RANGE: {
		/* Our log ends past the leader's (an ex-leader's unreplicated
		 * suffix), or starts before what the leader still keeps. */
		int64_t end = log_end_offset(p->log);
		int64_t to = end > pd->high_watermark ? p->high_watermark : pd->log_start_offset;
		if (to < 0)
			return;
		tlog(TLOG_INFO, REPLICA_LOG, "%s-%d: out of range at %" PRId64 " on leader %d: truncating to %" PRId64,
		     p->topic->name, p->index, end, (int)leader, to);
		(void)log_truncate_to(p->log, to);
		return;
	}
	default:
		return; /* not the leader any more, stale epoch: wait for the metadata */
	}
	if (pd->records.len > 0 && pd->records.p != NULL)
		replica_append(rm, p, pd->records.p, (size_t)pd->records.len);
	/* A follower's high watermark is the leader's, within its own log. */
	int64_t hw = pd->high_watermark < log_end_offset(p->log) ? pd->high_watermark : log_end_offset(p->log);
	broker_partition_set_hw(rm->b, p, hw);
}

/* ---- fetchers ---- */

struct replica_leaders {
	int32_t ids[REPLICA_MAX_FETCHERS];
	size_t n;
};

static void replica_leaders_add(struct replica_leaders *l, int32_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return;
	if (l->n < REPLICA_MAX_FETCHERS)
		l->ids[l->n++] = id;
}

static struct fetcher *replica_fetcher_new(struct replica_manager *rm, int32_t leader, const char *host, int port)
{
	const struct broker_config *cfg = rm->b->cfg;
	struct fetcher_config fc = {
		.self = cfg->node_id,
		.leader = leader,
		.host = host,
		.port = port,
		.max_wait_ms = cfg->replica_fetch_wait_max_ms,
		.min_bytes = cfg->replica_fetch_min_bytes > 0 ? cfg->replica_fetch_min_bytes : 1,
		.max_bytes = REPLICA_RESPONSE_MAX_BYTES,
		.partition_max_bytes = cfg->replica_fetch_max_bytes,
		.backoff_ms = REPLICA_BACKOFF_MS,
	};
	struct fetcher_ops ops = {.arg = rm, .collect = replica_collect, .apply = replica_apply};
	return fetcher_new(rm->b->base, &fc, &ops);
}

void replica_manager_update(struct replica_manager *rm)
{
	struct broker *b = rm->b;
	struct replica_leaders want = {0};
	for (int i = 0; i < b->topics.count; i++) {
		struct topic *t = b->topics.items[i];
		for (int32_t k = 0; k < t->partition_count; k++) {
			struct partition *p = t->partitions[k];
			if (p != NULL && !p->is_leader && p->leader_id >= 0 && p->leader_id != b->cfg->node_id)
				replica_leaders_add(&want, p->leader_id);
		}
	}
	struct metadata_image *img = metadata_image(b->metadata);
	/* Stop fetchers no longer needed or whose leader moved to another
	 * endpoint (a restart on new ports). */
	for (size_t i = 0; i < rm->n;) {
		struct fetcher *f = rm->fetchers[i];
		int32_t id = fetcher_leader(f);
		const struct image_broker *br = image_broker(img, id);
		bool needed = false;
		for (size_t j = 0; j < want.n; j++)
			needed |= want.ids[j] == id;
		if (!needed || br == NULL || br->n_endpoints == 0 ||
		    !fetcher_same_endpoint(f, br->endpoints[0].host, br->endpoints[0].port)) {
			fetcher_free(f);
			rm->fetchers[i] = rm->fetchers[--rm->n];
			continue;
		}
		i++;
	}
	for (size_t j = 0; j < want.n; j++) {
		bool have = false;
		for (size_t i = 0; i < rm->n; i++)
			have |= fetcher_leader(rm->fetchers[i]) == want.ids[j];
		const struct image_broker *br = image_broker(img, want.ids[j]);
		if (have || br == NULL || br->n_endpoints == 0 || rm->n == REPLICA_MAX_FETCHERS)
			continue;
		struct fetcher *f = replica_fetcher_new(rm, want.ids[j], br->endpoints[0].host, br->endpoints[0].port);
		if (f != NULL)
			rm->fetchers[rm->n++] = f;
	}
	image_unref(img);
	for (size_t i = 0; i < rm->n; i++)
		fetcher_poke(rm->fetchers[i]);
}

struct replica_manager *replica_manager_new(struct broker *b)
{
	struct replica_manager *rm = calloc(1, sizeof *rm);
	if (rm != NULL)
		rm->b = b;
	return rm;
}

void replica_manager_free(struct replica_manager *rm)
{
	if (rm == NULL)
		return;
	for (size_t i = 0; i < rm->n; i++)
		fetcher_free(rm->fetchers[i]);
	free(rm);
}
