#include "broker/replica_manager.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_internal.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "broker/metadata.h"
#include "broker/offload.h"
#include "broker/controller_channel.h"
#include "broker/controller_host.h"
#include "broker/lifecycle.h"
#include "broker/protocol/alter_partition.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/header.h"
#include "raft/controller.h"
#include "broker/protocol/errors.h"
#include "raft/image.h"
#include "replication/fetcher.h"
#include "replication/hw_checkpoint.h"
#include "replication/replica_set.h"

#define REPLICA_LOG "replica"
#define REPLICA_MAX_FETCHERS 64
#define REPLICA_BACKOFF_MS 100
#define REPLICA_ALTER_VERSION 2 /* topic ids, plain ISR */
#define REPLICA_RESPONSE_MAX_BYTES (10 * 1024 * 1024) /* replica.fetch.response.max.bytes */

struct replica_manager {
	struct broker *b; /* borrowed */
	struct fetcher *fetchers[REPLICA_MAX_FETCHERS];
	size_t n;
	struct event *isr_timer;
	struct event *hw_timer; /* replica.high.watermark.checkpoint.interval.ms */
	int32_t correlation_id;
};

/* ---- leader side: ISR changes through AlterPartition ---- */

/* A partition's AlterPartition on its way (owned until answered). */
struct replica_alter {
	struct replica_manager *rm;
	uint8_t topic_id[16];
	int32_t partition;
	struct controller_isr_change change;
	int32_t isr[REPLICA_SET_MAX + 1];
};

static void replica_alter_finish(struct replica_alter *a, int16_t err)
{
	struct topic *t = topics_find_id(&a->rm->b->topics, a->topic_id);
	struct partition *p = t != NULL && a->partition < t->partition_count ? t->partitions[a->partition] : NULL;
	if (p != NULL)
		p->alter_inflight = false;
	/* Refused by the controller: the followers asked in are not joining.
	 * A lost answer (network) may still have committed: they keep
	 * counting until the image tells (replica_isr_check gives up later). */
	if (p != NULL && p->replicas != NULL && err != KERR_NONE && err != KERR_NETWORK_EXCEPTION &&
	    err != KERR_REQUEST_TIMED_OUT)
		replica_set_expansion_over(p->replicas);
	if (err != KERR_NONE)
		tlog(TLOG_INFO, REPLICA_LOG, "%s-%d: AlterPartition refused: error %d", t ? t->name : "?", (int)a->partition,
		     (int)err);
	free(a);
}

static void replica_alter_local_cb(void *arg, int16_t err)
{
	struct replica_alter *a = arg;
	replica_alter_finish(a, err != KERR_NONE ? err : a->change.error_code);
}

static void replica_alter_remote_cb(void *arg, int status, const uint8_t *resp, size_t len)
{
	struct replica_alter *a = arg;
	int16_t err = KERR_NETWORK_EXCEPTION;
	struct kreader r;
	int32_t corr;
	struct alter_partition_response out;
	kr_init(&r, resp, len);
	if (status == 0 && response_header_decode(&r, 1, &corr) == 0 &&
	    alter_partition_response_decode(&r, REPLICA_ALTER_VERSION, &out) == 0) {
		err = out.error_code;
		if (err == KERR_NONE && out.topics_count > 0 && out.topics[0].partitions_count > 0)
			err = out.topics[0].partitions[0].error_code;
		alter_partition_response_free(&out);
	}
	replica_alter_finish(a, err);
}

static void replica_alter_send(struct replica_manager *rm, struct partition *p, const int32_t *isr, size_t n)
{
	struct broker *b = rm->b;
	struct replica_alter *a = calloc(1, sizeof *a);
	if (a == NULL)
		return;
	a->rm = rm;
	memcpy(a->topic_id, p->topic->id, 16);
	a->partition = p->index;
	memcpy(a->isr, isr, n * sizeof *isr);
	replica_set_expanding(p->replicas, isr, n);
	a->change = (struct controller_isr_change){
		.partition_id = p->index,
		.leader_epoch = p->leader_epoch,
		.partition_epoch = p->partition_epoch,
		.new_isr = a->isr,
		.n_new_isr = n,
	};
	memcpy(a->change.topic_id, p->topic->id, 16);
	int64_t epoch = lifecycle_broker_epoch(b->lifecycle);
	tlog(TLOG_INFO, REPLICA_LOG, "%s-%d: asking for an ISR of %zu (was %d)", p->topic->name, p->index, n,
	     (int)p->isr_count);
	p->alter_inflight = true;
	p->alter_partition_epoch = p->partition_epoch;
	p->alter_sent_ms = broker_mono_ms();
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl != NULL) {
		struct controller_proposal *prop = NULL;
		int16_t top = KERR_NONE;
		if (controller_alter_partition(ctl, b->cfg->node_id, epoch, &a->change, 1, controller_host_now_ms(), &top,
					       &prop) != 0 ||
		    top != KERR_NONE || controller_host_commit(b->controller, prop, replica_alter_local_cb, a) != 0) {
			p->alter_inflight = false;
			free(a);
		}
		return;
	}
	struct alter_partition_partition part = {
		.partition_index = p->index,
		.leader_epoch = p->leader_epoch,
		.new_isr = a->isr,
		.new_isr_count = (int32_t)n,
		.partition_epoch = p->partition_epoch,
	};
	struct alter_partition_topic topic = {.partitions = &part, .partitions_count = 1};
	memcpy(topic.topic_id, p->topic->id, 16);
	struct alter_partition_request req = {
		.broker_id = b->cfg->node_id,
		.broker_epoch = epoch,
		.topics = &topic,
		.topics_count = 1,
	};
	struct request_header h = {
		.api_key = ALTER_PARTITION_API_KEY,
		.api_version = REPLICA_ALTER_VERSION,
		.correlation_id = rm->correlation_id++ & 0x7fffffff,
		.client_id = {"tern-isr", 8},
	};
	struct kwriter w;
	kw_init(&w, 128);
	request_header_encode(&w, 2, &h);
	alter_partition_request_encode(&w, REPLICA_ALTER_VERSION, &req);
	if (!kw_ok(&w) || controller_channel_send(b->channel, w.buf, w.len, replica_alter_remote_cb, a) != 0) {
		p->alter_inflight = false;
		free(a);
	}
	kw_free(&w);
}

/* Asks for the ISR p's followers call for, when it differs from p's. */
static void replica_isr_check(struct replica_manager *rm, struct partition *p, int64_t now)
{
	if (p == NULL || !p->is_leader || p->replicas == NULL || p->alter_inflight)
		return;
	/* Answered but not in the image yet: give it a moment; after
	 * replica.lag.time.max.ms the answer is taken as lost. */
	if (p->alter_partition_epoch == p->partition_epoch && now - p->alter_sent_ms < 1000)
		return;
	if (p->alter_partition_epoch == p->partition_epoch &&
	    now - p->alter_sent_ms >= rm->b->cfg->replica_lag_time_max_ms)
		replica_set_expansion_over(p->replicas);
	int32_t isr[REPLICA_SET_MAX + 1];
	size_t n;
	if (replica_set_wanted_isr(p->replicas, now, rm->b->cfg->replica_lag_time_max_ms, isr, &n))
		replica_alter_send(rm, p, isr, n);
}

void replica_manager_follower_fetched(struct replica_manager *rm, struct partition *p, int32_t replica_id)
{
	/* Kafka expands the ISR on the fetch that brings a follower to the high
	 * watermark (Partition.maybeExpandIsr), not on a timer: a restarted
	 * replica is back in sync as soon as it caught up. */
	const struct replica_set *rs = p->replicas;
	if (rm == NULL || rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].id == replica_id) {
			if (!rs->r[i].in_isr && rs->r[i].fetched && rs->r[i].log_end_offset >= rs->high_watermark)
				replica_isr_check(rm, p, broker_mono_ms());
			return;
		}
}

static void replica_isr_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct replica_manager *rm = arg;
	struct broker *b = rm->b;
	int64_t now = broker_mono_ms();
	for (int i = 0; i < b->topics.count; i++) {
		struct topic *t = b->topics.items[i];
		for (int32_t k = 0; k < t->partition_count; k++)
			replica_isr_check(rm, t->partitions[k], now);
	}
}

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
				.last_fetched_epoch = log_latest_epoch(p->log),
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
		/* Past our end: the leader compacted the offsets between away. */
		if (h.base_offset < end) {
			tlog(TLOG_WARN, REPLICA_LOG, "%s-%d: leader batch at %" PRId64 " starts before our end %" PRId64,
			     p->topic->name, p->index, h.base_offset, end);
			break;
		}
		if (!batch_crc_ok(batch, size)) {
			tlog(TLOG_WARN, REPLICA_LOG, "%s-%d: corrupt batch from the leader at %" PRId64, p->topic->name,
			     p->index, h.base_offset);
			break;
		}
		int rc = log_append_from_leader(p->log, batch, size, now);
		if (rc != 0) {
			tlog(TLOG_ERROR, REPLICA_LOG, "%s-%d: append at %" PRId64 " failed: %s", p->topic->name, p->index,
			     h.base_offset, strerror(-rc));
			break;
		}
		offload_appended(rm->b, p, batch, size);
	}
}

/* Drops this log's suffix from `to` on; the high watermark cannot stay above
 * the log end (Kafka lowers it too, Log.truncateTo). */
static void replica_truncate(struct replica_manager *rm, struct partition *p, int64_t to, int32_t leader,
			     const char *why)
{
	int64_t end = log_end_offset(p->log);
	if (to >= end)
		return;
	tlog(TLOG_INFO, REPLICA_LOG, "%s-%d: %s (leader %d): truncating from %" PRId64 " to %" PRId64,
	     p->topic->name, p->index, why, (int)leader, end, to);
	int rc = log_truncate_to(p->log, to);
	if (rc != 0) {
		tlog(TLOG_ERROR, REPLICA_LOG, "%s-%d: truncation to %" PRId64 " failed: %s", p->topic->name, p->index, to,
		     strerror(-rc));
		return;
	}
	broker_partition_truncated(rm->b, p);
}

/* KIP-320 (Kafka's AbstractFetcherThread.truncateOnFetchResponse): the
 * leader says our last epoch ends at `div` in its log. We cut at the end of
 * that epoch in our own history when we have it (never past the leader's end
 * of it); when our history lacks that exact epoch, at the end of the largest
 * one we have below it - the next fetch names that epoch and the leader
 * checks again, until the logs agree. */
static void replica_diverged(struct replica_manager *rm, struct partition *p, int32_t leader,
			     const struct fetch_epoch_end_offset *div)
{
	int64_t end = log_end_offset(p->log);
	int64_t to = div->end_offset < end ? div->end_offset : end;
	int32_t ours;
	int64_t ours_end;
	if (log_end_offset_for_epoch(p->log, div->epoch, &ours, &ours_end) == 0) {
		if (ours != div->epoch)
			to = ours_end < end ? ours_end : end;
		else if (ours_end < to)
			to = ours_end;
	}
	if (to < 0)
		to = 0;
	replica_truncate(rm, p, to, leader, "diverging leader epoch");
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
		if (end > pd->high_watermark) {
			replica_truncate(rm, p, p->high_watermark, leader, "fetch offset out of range");
		} else if (pd->log_start_offset > end) {
			tlog(TLOG_INFO, REPLICA_LOG, "%s-%d: leader %d starts at %" PRId64 ", past our end %" PRId64
			     ": restarting the log there", p->topic->name, p->index, (int)leader, pd->log_start_offset, end);
			if (log_restart_at(p->log, pd->log_start_offset) == 0)
				broker_partition_truncated(rm->b, p);
		}
		return;
	}
	default:
		return; /* not the leader any more, stale epoch: wait for the metadata */
	}
	if (pd->diverging_epoch.epoch >= 0) {
		replica_diverged(rm, p, leader, &pd->diverging_epoch);
		return; /* the leader sends no records with a diverging epoch */
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

/* ---- replication-offset-checkpoint ---- */

static void replica_hw_store(struct replica_manager *rm)
{
	struct broker *b = rm->b;
	struct hw_checkpoint c;
	hw_checkpoint_init(&c);
	int rc = 0;
	for (int i = 0; i < b->topics.count && rc == 0; i++) {
		struct topic *t = b->topics.items[i];
		for (int32_t k = 0; k < t->partition_count && rc == 0; k++)
			if (t->partitions[k] != NULL)
				rc = hw_checkpoint_add(&c, t->name, k, t->partitions[k]->high_watermark);
	}
	if (rc == 0)
		rc = hw_checkpoint_store(&c, b->topics.log_dir);
	if (rc != 0)
		tlog(TLOG_WARN, REPLICA_LOG, "cannot write %s/%s: %s", b->topics.log_dir, HW_CHECKPOINT_FILE,
		     strerror(-rc));
	hw_checkpoint_free(&c);
}

/* At start: each local log's high watermark as it was saved, never past its
 * end (a crash may have cut the log below it). */
static void replica_hw_load(struct replica_manager *rm)
{
	struct broker *b = rm->b;
	struct hw_checkpoint c;
	hw_checkpoint_init(&c);
	int rc = hw_checkpoint_load(&c, b->topics.log_dir);
	if (rc != 0) {
		if (rc != -ENOENT)
			tlog(TLOG_WARN, REPLICA_LOG, "ignoring %s/%s: %s", b->topics.log_dir, HW_CHECKPOINT_FILE,
			     strerror(-rc));
		return;
	}
	for (int i = 0; i < b->topics.count; i++) {
		struct topic *t = b->topics.items[i];
		for (int32_t k = 0; k < t->partition_count; k++) {
			struct partition *p = t->partitions[k];
			int64_t hw;
			if (p == NULL || !hw_checkpoint_find(&c, t->name, k, &hw))
				continue;
			if (hw > log_end_offset(p->log))
				hw = log_end_offset(p->log);
			if (hw > p->high_watermark) {
				p->high_watermark = hw;
				log_set_high_watermark(p->log, hw);
			}
		}
	}
	hw_checkpoint_free(&c);
}

static void replica_hw_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	replica_hw_store(arg);
}

struct replica_manager *replica_manager_new(struct broker *b)
{
	struct replica_manager *rm = calloc(1, sizeof *rm);
	if (rm == NULL)
		return NULL;
	rm->b = b;
	rm->isr_timer = event_new(b->base, -1, EV_PERSIST, replica_isr_tick_cb, rm);
	int64_t every = b->cfg->replica_lag_time_max_ms / 2;
	if (every < 100)
		every = 100;
	struct timeval tv = {every / 1000, (every % 1000) * 1000};
	if (rm->isr_timer == NULL || event_add(rm->isr_timer, &tv) != 0) {
		replica_manager_free(rm);
		return NULL;
	}
	replica_hw_load(rm);
	int64_t cp = b->cfg->replica_high_watermark_checkpoint_interval_ms;
	struct timeval cpv = {cp / 1000, (cp % 1000) * 1000};
	rm->hw_timer = event_new(b->base, -1, EV_PERSIST, replica_hw_tick_cb, rm);
	if (rm->hw_timer == NULL || event_add(rm->hw_timer, &cpv) != 0) {
		replica_manager_free(rm);
		return NULL;
	}
	return rm;
}

void replica_manager_free(struct replica_manager *rm)
{
	if (rm == NULL)
		return;
	for (size_t i = 0; i < rm->n; i++)
		fetcher_free(rm->fetchers[i]);
	if (rm->isr_timer)
		event_free(rm->isr_timer);
	if (rm->hw_timer) {
		event_free(rm->hw_timer);
		replica_hw_store(rm); /* shutting down: the latest high watermarks */
	}
	free(rm);
}
