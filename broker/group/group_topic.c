/* The __consumer_offsets store: creation, ownership of partitions, writes
 * that wait for the high watermark, offset retention (see group_topic.h).
 * Reading a partition back is group_load.c.
 */
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_internal.h"
#include "broker/group/group_log.h"
#include "broker/group/group_topic_internal.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "broker/metadata.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/errors.h"
#include "raft/controller.h"
#include "raft/image.h"

#define GT_LOG "group"
/* How often writes look at the high watermark while they wait: a follower's
 * fetch moves it, and nothing tells this module when (produce's waiters are
 * completed from broker_partition_set_hw). The kernel rounds the wait up:
 * a commit with replicas takes ~4 ms here where a produce takes ~0.2 ms. */
/* Waiting writes are completed when the high watermark of their partition
 * moves (group_topic_hw_moved); this poll only catches their deadlines. */
#define GT_HW_POLL_MS 50
/* How often a FindCoordinator waiting for the topic's creation looks again. */
#define GT_READY_POLL_MS 20
/* A creation request is repeated at most this often while clients ask. */
#define GT_CREATE_RETRY_MS 1000
#define GT_REFUSAL_LOG_MS 10000

#define KERR_RECORD_LIST_TOO_LARGE 18
#define KERR_INVALID_FETCH_SIZE 4

static const struct group_store_ops group_topic_ops;

/* ---- helpers ---- */

static void gt_timer_arm(struct event *ev, int32_t ms)
{
	if (ev == NULL || evtimer_pending(ev, NULL))
		return;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	evtimer_add(ev, &tv);
}

static struct kstr gt_kstr(const char *s)
{
	struct kstr k = {s, s ? (int32_t)strlen(s) : -1};
	return k;
}

static struct topic *gt_local_topic(struct group_topic *gt)
{
	return topics_find_cstr(&gt->b->topics, GROUP_LOG_TOPIC);
}

struct partition *group_topic_local_leader(struct group_topic *gt, int32_t p)
{
	struct topic *t = gt_local_topic(gt);
	if (t == NULL || p < 0 || p >= t->partition_count)
		return NULL;
	struct partition *part = t->partitions[p];
	return part != NULL && part->is_leader ? part : NULL;
}

bool group_topic_match_partition(void *arg, const char *group_id)
{
	const struct group_topic_match *m = arg;
	return m->gt->n > 0 && group_log_partition_for(gt_kstr(group_id), m->gt->n) == m->partition;
}

static bool gt_match_loaded(void *arg, const char *group_id)
{
	struct group_topic *gt = arg;
	if (gt->n <= 0)
		return false;
	int32_t p = group_log_partition_for(gt_kstr(group_id), gt->n);
	return gt->parts[p].state == GROUP_TOPIC_LOADED;
}

/* Kafka's GroupMetadataManager error mapping of an append's outcome. */
static int16_t gt_map_error(int16_t err, bool offsets)
{
	switch (err) {
	case KERR_NONE:
		return KERR_NONE;
	case KERR_UNKNOWN_TOPIC_OR_PARTITION:
	case KERR_NOT_ENOUGH_REPLICAS:
	case KERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
		return KERR_COORDINATOR_NOT_AVAILABLE;
	case KERR_NOT_LEADER_OR_FOLLOWER:
	case KERR_KAFKA_STORAGE_ERROR:
		return KERR_NOT_COORDINATOR;
	case KERR_MESSAGE_TOO_LARGE:
	case KERR_RECORD_LIST_TOO_LARGE:
	case KERR_INVALID_FETCH_SIZE:
		return offsets ? KERR_INVALID_COMMIT_OFFSET_SIZE : KERR_UNKNOWN_SERVER_ERROR;
	case KERR_REQUEST_TIMED_OUT:
		return offsets ? KERR_REQUEST_TIMED_OUT : KERR_COORDINATOR_NOT_AVAILABLE;
	default:
		return err;
	}
}

/* ---- partition count, creation ---- */

/* Grows the partition table to n (a count never shrinks while the topic
 * lives; a deleted topic reads as 0 and is handled by the caller). */
static int gt_resize(struct group_topic *gt, int32_t n)
{
	if (n <= gt->n)
		return 0;
	struct group_topic_partition *parts = realloc(gt->parts, (size_t)n * sizeof *parts);
	if (parts == NULL)
		return -1;
	memset(&parts[gt->n], 0, (size_t)(n - gt->n) * sizeof *parts);
	gt->parts = parts;
	gt->n = n;
	return 0;
}

/* The topic's partition count as the metadata (or the local catalog, without
 * a quorum) has it now; 0 when it does not exist. */
static int32_t gt_current_count(struct group_topic *gt)
{
	if (!gt->quorum) {
		struct topic *t = gt_local_topic(gt);
		return t != NULL ? t->partition_count : 0;
	}
	if (gt->b->metadata == NULL)
		return 0;
	struct metadata_image *img = metadata_image(gt->b->metadata);
	const struct image_topic *it = image_topic_by_name(img, GROUP_LOG_TOPIC);
	int32_t n = it != NULL ? (int32_t)it->n_partitions : 0;
	image_unref(img);
	return n;
}

/* The configs __consumer_offsets is created with, Kafka's:
 * cleanup.policy=compact (the log cleaner keeps the latest record of each
 * group and offset key; retention deletes nothing) and
 * segment.bytes=offsets.topic.segment.bytes. */
struct gt_configs {
	char segment_bytes[24];
	struct controller_topic_config items[2];
};

static void gt_configs_init(struct group_topic *gt, struct gt_configs *c)
{
	snprintf(c->segment_bytes, sizeof c->segment_bytes, "%d", (int)gt->b->cfg->offsets_topic_segment_bytes);
	c->items[0] = (struct controller_topic_config){"cleanup.policy", "compact"};
	c->items[1] = (struct controller_topic_config){"segment.bytes", c->segment_bytes};
}

/* Without a quorum: creates the topic in the local catalog. */
static void gt_create_local(struct group_topic *gt)
{
	struct gt_configs c;
	gt_configs_init(gt, &c);
	struct topic_overrides ov = {0};
	for (size_t i = 0; i < 2; i++)
		if (topic_overrides_set(&ov, c.items[i].name, c.items[i].value) != 0) {
			topic_overrides_free(&ov);
			return;
		}
	int32_t n = gt->b->cfg->offsets_topic_num_partitions;
	struct topic *t = NULL;
	int rc = topics_create(&gt->b->topics, GROUP_LOG_TOPIC, n, &ov, broker_now_ms(), &t);
	topic_overrides_free(&ov);
	if (rc == KERR_NONE)
		tlog(TLOG_INFO, GT_LOG, "created %s with %d partition(s)", GROUP_LOG_TOPIC, (int)n);
	else
		tlog(TLOG_ERROR, GT_LOG, "cannot create %s: error %d", GROUP_LOG_TOPIC, rc);
}

static int gt_count_live_cb(const struct image_broker *br, void *arg)
{
	if (!br->fenced)
		(*(int32_t *)arg)++;
	return 0;
}

/* With a quorum: asks the controller to create the topic, unless fewer
 * brokers are live than its replication factor (Kafka refuses that with
 * INVALID_REPLICATION_FACTOR, and FindCoordinator answers
 * COORDINATOR_NOT_AVAILABLE until enough brokers are there). Returns
 * GROUP_TOPIC_PENDING or COORDINATOR_NOT_AVAILABLE. */
static int gt_create_quorum(struct group_topic *gt, const struct metadata_image *img)
{
	const struct broker_config *cfg = gt->b->cfg;
	int32_t live = 0;
	image_foreach_broker(img, gt_count_live_cb, &live);
	int64_t now = broker_mono_ms();
	if (live < cfg->offsets_topic_replication_factor) {
		if (gt->last_refusal_log_ms < 0 || now - gt->last_refusal_log_ms >= GT_REFUSAL_LOG_MS) {
			gt->last_refusal_log_ms = now;
			tlog(TLOG_WARN, GT_LOG,
			     "not creating %s yet: offsets.topic.replication.factor=%d but only %d broker(s) are live",
			     GROUP_LOG_TOPIC, (int)cfg->offsets_topic_replication_factor, (int)live);
		}
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
	if (gt->last_create_ms < 0 || now - gt->last_create_ms >= GT_CREATE_RETRY_MS) {
		gt->last_create_ms = now;
		struct gt_configs c;
		gt_configs_init(gt, &c);
		api_create_topic_quorum(gt->b, GROUP_LOG_TOPIC, cfg->offsets_topic_num_partitions,
					(int16_t)cfg->offsets_topic_replication_factor, c.items, 2);
	}
	return GROUP_TOPIC_PENDING;
}

/* ---- ownership ---- */

static void gt_fail_appends(struct group_topic *gt, int32_t p, int16_t err)
{
	struct group_topic_partition *st = &gt->parts[p];
	while (st->head != NULL) {
		struct group_topic_append *a = st->head;
		st->head = a->next;
		if (st->head == NULL)
			st->tail = NULL;
		a->done(a->done_arg, gt_map_error(err, a->offsets));
		free(a);
	}
}

void group_topic_unload(struct group_topic *gt, int32_t p, const char *why)
{
	struct group_topic_partition *st = &gt->parts[p];
	if (st->state == GROUP_TOPIC_NONE)
		return;
	tlog(TLOG_INFO, GT_LOG, "%s-%d: %s, unloading its groups", GROUP_LOG_TOPIC, (int)p, why);
	/* First NONE, so what the failed writes' callbacks try next is refused
	 * at once; then the groups go. */
	st->state = GROUP_TOPIC_NONE;
	gt_fail_appends(gt, p, KERR_NOT_LEADER_OR_FOLLOWER);
	struct group_topic_match m = {gt, p};
	group_unload(gt->coord, group_topic_match_partition, &m);
}

/* Loads what this broker leads now, unloads what it does not. */
static void gt_reconcile(struct group_topic *gt)
{
	int32_t n = gt_current_count(gt);
	if (n > gt->n && gt_resize(gt, n) != 0)
		return;
	for (int32_t p = 0; p < gt->n; p++) {
		struct group_topic_partition *st = &gt->parts[p];
		struct partition *local = p < n ? group_topic_local_leader(gt, p) : NULL;
		if (st->state != GROUP_TOPIC_NONE && local == NULL)
			group_topic_unload(gt, p, "no longer the leader");
		else if (st->state != GROUP_TOPIC_NONE && local->leader_epoch != st->epoch)
			group_topic_unload(gt, p, "a new leader epoch");
		if (st->state == GROUP_TOPIC_NONE && local != NULL)
			group_load_start(gt, p, local);
	}
}

/* ---- the gate ---- */

static int16_t gt_gate(void *impl, struct kstr group_id)
{
	struct group_topic *gt = impl;
	int32_t n = gt_current_count(gt);
	if (n <= 0)
		return gt->quorum ? KERR_NOT_COORDINATOR : KERR_COORDINATOR_NOT_AVAILABLE;
	if (n > gt->n && gt_resize(gt, n) != 0)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	int32_t p = group_log_partition_for(group_id, n);
	struct group_topic_partition *st = &gt->parts[p];
	struct partition *local = group_topic_local_leader(gt, p);
	/* A lost leadership is unloaded by the next reconcile; until then the
	 * answer already sends the client on. */
	bool same = local != NULL && local->leader_epoch == st->epoch;
	switch (st->state) {
	case GROUP_TOPIC_LOADED:
		return same ? KERR_NONE : KERR_NOT_COORDINATOR;
	case GROUP_TOPIC_LOADING:
		return same ? KERR_COORDINATOR_LOAD_IN_PROGRESS : KERR_NOT_COORDINATOR;
	case GROUP_TOPIC_NONE:
		break;
	}
	if (local == NULL)
		return KERR_NOT_COORDINATOR;
	/* Led here, never loaded (the publisher has not run since, or there is
	 * no quorum): start now. */
	group_load_start(gt, p, local);
	return gt->parts[p].state == GROUP_TOPIC_LOADED ? KERR_NONE : KERR_COORDINATOR_LOAD_IN_PROGRESS;
}

/* ---- writes ---- */

static void gt_hw_cb(evutil_socket_t fd, short what, void *arg)
{
	struct group_topic *gt = arg;
	(void)fd;
	(void)what;
	int64_t now = broker_mono_ms();
	bool waiting = false;
	for (int32_t p = 0; p < gt->n; p++) {
		struct group_topic_partition *st = &gt->parts[p];
		while (st->head != NULL) {
			struct group_topic_append *a = st->head;
			struct partition *local = group_topic_local_leader(gt, p);
			if (local == NULL || local->leader_epoch != a->leader_epoch) {
				gt_fail_appends(gt, p, KERR_NOT_LEADER_OR_FOLLOWER);
				break;
			}
			int16_t err;
			if (broker_partition_hw(gt->b, local) >= a->required)
				err = KERR_NONE;
			else if (now >= a->deadline_ms)
				err = KERR_REQUEST_TIMED_OUT;
			else
				break;
			st->head = a->next;
			if (st->head == NULL)
				st->tail = NULL;
			a->done(a->done_arg, gt_map_error(err, a->offsets));
			free(a);
		}
		waiting |= st->head != NULL;
	}
	if (waiting)
		gt_timer_arm(gt->hw_timer, GT_HW_POLL_MS);
}

/* Appends one batch of n records (values with len -1 are tombstones) to the
 * group's partition; `done` gets the mapped outcome, now or once the high
 * watermark passed the batch. */
static void gt_append(struct group_topic *gt, struct kstr group_id, const struct kbytes *keys,
		      const struct kbytes *values, int32_t n, bool offsets, group_store_done_cb done, void *done_arg)
{
	if (n <= 0) {
		done(done_arg, KERR_NONE);
		return;
	}
	if (gt->n <= 0) {
		done(done_arg, gt_map_error(KERR_NOT_LEADER_OR_FOLLOWER, offsets));
		return;
	}
	int32_t p = group_log_partition_for(group_id, gt->n);
	struct group_topic_partition *st = &gt->parts[p];
	struct partition *part = group_topic_local_leader(gt, p);
	if (st->state != GROUP_TOPIC_LOADED || part == NULL || part->leader_epoch != st->epoch) {
		done(done_arg, gt_map_error(KERR_NOT_LEADER_OR_FOLLOWER, offsets));
		return;
	}
	const struct topic_config *tc = &part->topic->config;
	/* acks=all: min.insync.replicas, as a produce (Kafka appends group
	 * records with requiredAcks -1). */
	if (gt->quorum && tc->min_insync_replicas > part->isr_count) {
		done(done_arg, gt_map_error(KERR_NOT_ENOUGH_REPLICAS, offsets));
		return;
	}
	struct group_topic_append *a = calloc(1, sizeof *a);
	struct batch_builder_record *recs = calloc((size_t)n, sizeof *recs);
	if (a == NULL || recs == NULL) {
		free(a);
		free(recs);
		done(done_arg, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	int64_t now = broker_now_ms();
	for (int32_t i = 0; i < n; i++)
		recs[i] = (struct batch_builder_record){.timestamp = now, .key = keys[i], .value = values[i]};
	struct batch_builder_opts opts = batch_builder_opts_default();
	uint8_t *batch = NULL;
	size_t len = 0;
	int rc = batch_builder_build(&opts, recs, n, &batch, &len);
	free(recs);
	if (rc != 0) {
		free(a);
		done(done_arg, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	if (len > (size_t)tc->max_message_bytes) {
		tlog(TLOG_WARN, GT_LOG, "%s-%d: a %zu-byte batch exceeds max.message.bytes %d", GROUP_LOG_TOPIC, (int)p,
		     len, (int)tc->max_message_bytes);
		free(batch);
		free(a);
		done(done_arg, gt_map_error(KERR_MESSAGE_TOO_LARGE, offsets));
		return;
	}
	int64_t base = log_end_offset(part->log);
	batch_assign_offsets(batch, len, base, part->leader_epoch, -1);
	rc = log_append(part->log, batch, len, now);
	free(batch);
	if (rc != 0) {
		tlog(TLOG_ERROR, GT_LOG, "%s-%d: append at offset %" PRId64 " failed: %s", GROUP_LOG_TOPIC, (int)p, base,
		     strerror(-rc));
		free(a);
		done(done_arg, gt_map_error(KERR_KAFKA_STORAGE_ERROR, offsets));
		return;
	}
	broker_partition_appended(gt->b, part);
	a->required = log_end_offset(part->log);
	if (broker_partition_hw(gt->b, part) >= a->required) {
		/* One in-sync replica (or no quorum): durable as far as acks=all goes. */
		free(a);
		done(done_arg, KERR_NONE);
		return;
	}
	a->leader_epoch = part->leader_epoch;
	a->deadline_ms = broker_mono_ms() + gt->b->cfg->offsets_commit_timeout_ms;
	a->offsets = offsets;
	a->done = done;
	a->done_arg = done_arg;
	if (st->tail != NULL)
		st->tail->next = a;
	else
		st->head = a;
	st->tail = a;
	gt_timer_arm(gt->hw_timer, GT_HW_POLL_MS);
}

/* ---- the store operations ---- */

static void gt_store_group(void *impl, const struct group_store_group *g, group_store_done_cb done, void *done_arg)
{
	struct group_topic *gt = impl;
	struct kwriter k, v;
	kw_init(&k, 64);
	kw_init(&v, 256);
	group_log_group_key(&k, gt_kstr(g->group_id));
	group_log_group_value(&v, g);
	if (!kw_ok(&k) || !kw_ok(&v)) {
		kw_free(&k);
		kw_free(&v);
		done(done_arg, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	struct kbytes key = {k.buf, (int32_t)k.len};
	struct kbytes value = {v.buf, (int32_t)v.len};
	gt_append(gt, gt_kstr(g->group_id), &key, &value, 1, false, done, done_arg);
	kw_free(&k);
	kw_free(&v);
}

static void gt_delete_group(void *impl, const char *group_id, group_store_done_cb done, void *done_arg)
{
	struct group_topic *gt = impl;
	struct kwriter k;
	kw_init(&k, 64);
	group_log_group_key(&k, gt_kstr(group_id));
	if (!kw_ok(&k)) {
		kw_free(&k);
		done(done_arg, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	struct kbytes key = {k.buf, (int32_t)k.len};
	struct kbytes tomb = {NULL, -1};
	gt_append(gt, gt_kstr(group_id), &key, &tomb, 1, false, done, done_arg);
	kw_free(&k);
}

/* Builds n offset records (tombstones when `values` is false) and appends
 * them as one batch. */
struct gt_offset_rec {
	struct kstr topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	struct kstr metadata;
	int64_t commit_timestamp_ms;
};

static void gt_append_offsets(struct group_topic *gt, const char *group_id, const struct gt_offset_rec *recs,
			      int32_t n, bool values, group_store_done_cb done, void *done_arg)
{
	struct kwriter *kw = calloc((size_t)n + 1, sizeof *kw);
	struct kwriter *vw = calloc((size_t)n + 1, sizeof *vw);
	struct kbytes *keys = calloc((size_t)n + 1, sizeof *keys);
	struct kbytes *vals = calloc((size_t)n + 1, sizeof *vals);
	bool ok = kw != NULL && vw != NULL && keys != NULL && vals != NULL;
	struct kstr gid = gt_kstr(group_id);
	for (int32_t i = 0; ok && i < n; i++) {
		kw_init(&kw[i], 64);
		kw_init(&vw[i], 64);
		group_log_offset_key(&kw[i], gid, recs[i].topic, recs[i].partition);
		keys[i] = (struct kbytes){kw[i].buf, (int32_t)kw[i].len};
		if (values) {
			group_log_offset_value(&vw[i], recs[i].offset, recs[i].leader_epoch, recs[i].metadata,
					       recs[i].commit_timestamp_ms);
			vals[i] = (struct kbytes){vw[i].buf, (int32_t)vw[i].len};
		} else {
			vals[i] = (struct kbytes){NULL, -1};
		}
		ok = kw_ok(&kw[i]) && kw_ok(&vw[i]);
	}
	if (ok)
		gt_append(gt, gid, keys, vals, n, true, done, done_arg);
	for (int32_t i = 0; kw != NULL && vw != NULL && i < n; i++) {
		kw_free(&kw[i]);
		kw_free(&vw[i]);
	}
	free(kw);
	free(vw);
	free(keys);
	free(vals);
	if (!ok)
		done(done_arg, KERR_UNKNOWN_SERVER_ERROR);
}

static void gt_store_offsets(void *impl, const char *group_id, const struct group_offset_entry *entries, int32_t n,
			     group_store_done_cb done, void *done_arg)
{
	struct gt_offset_rec *recs = calloc((size_t)n + 1, sizeof *recs);
	if (recs == NULL) {
		done(done_arg, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	for (int32_t i = 0; i < n; i++)
		recs[i] = (struct gt_offset_rec){entries[i].topic, entries[i].partition, entries[i].offset,
						 entries[i].leader_epoch, entries[i].metadata,
						 entries[i].commit_timestamp_ms};
	gt_append_offsets(impl, group_id, recs, n, true, done, done_arg);
	free(recs);
}

static void gt_delete_offsets(void *impl, const char *group_id, const struct group_offset *offsets, int32_t n,
			      group_store_done_cb done, void *done_arg)
{
	struct gt_offset_rec *recs = calloc((size_t)n + 1, sizeof *recs);
	if (recs == NULL) {
		done(done_arg, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	for (int32_t i = 0; i < n; i++)
		recs[i] = (struct gt_offset_rec){.topic = gt_kstr(offsets[i].topic), .partition = offsets[i].partition};
	gt_append_offsets(impl, group_id, recs, n, false, done, done_arg);
	free(recs);
}

static void gt_free(void *impl)
{
	struct group_topic *gt = impl;
	for (int32_t p = 0; p < gt->n; p++) {
		gt->parts[p].state = GROUP_TOPIC_NONE;
		gt_fail_appends(gt, p, KERR_NOT_LEADER_OR_FOLLOWER);
	}
	while (gt->waiters != NULL) {
		struct group_topic_waiter *w = gt->waiters;
		gt->waiters = w->next;
		w->cb(w->arg);
		free(w);
	}
	if (gt->hw_timer)
		event_free(gt->hw_timer);
	if (gt->ready_timer)
		event_free(gt->ready_timer);
	if (gt->load_ev)
		event_free(gt->load_ev);
	if (gt->expire_ev)
		event_free(gt->expire_ev);
	free(gt->parts);
	free(gt);
}

static const struct group_store_ops group_topic_ops = {
	.store_group = gt_store_group,
	.store_offsets = gt_store_offsets,
	.delete_group = gt_delete_group,
	.delete_offsets = gt_delete_offsets,
	.gate = gt_gate,
	.free = gt_free,
};

/* ---- retention ---- */

static void gt_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct group_topic *gt = arg;
	(void)fd;
	(void)what;
	int64_t retention_ms = (int64_t)gt->b->cfg->offsets_retention_minutes * 60 * 1000;
	int32_t n = group_expire_offsets(gt->coord, broker_now_ms(), retention_ms, gt_match_loaded, gt);
	if (n > 0)
		tlog(TLOG_INFO, GT_LOG, "removed %d expired offset(s)", (int)n);
}

/* ---- FindCoordinator ---- */

/* True once the topic is in the image with a leader for every partition. */
static bool gt_ready(struct group_topic *gt)
{
	if (!gt->quorum)
		return gt_local_topic(gt) != NULL;
	if (gt->b->metadata == NULL)
		return false;
	struct metadata_image *img = metadata_image(gt->b->metadata);
	const struct image_topic *it = image_topic_by_name(img, GROUP_LOG_TOPIC);
	bool ready = it != NULL;
	for (int32_t p = 0; ready && p < (int32_t)it->n_partitions; p++) {
		const struct image_partition *ip = image_topic_partition(it, p);
		ready = ip != NULL && ip->leader >= 0;
	}
	image_unref(img);
	return ready;
}

static void gt_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct group_topic *gt = arg;
	(void)fd;
	(void)what;
	bool ready = gt_ready(gt);
	int64_t now = broker_mono_ms();
	struct group_topic_waiter **pp = &gt->waiters;
	while (*pp != NULL) {
		struct group_topic_waiter *w = *pp;
		if (ready || now >= w->deadline_ms) {
			*pp = w->next;
			w->cb(w->arg);
			free(w);
		} else {
			pp = &w->next;
		}
	}
	if (gt->waiters != NULL)
		gt_timer_arm(gt->ready_timer, GT_READY_POLL_MS);
}

int group_topic_when_ready(struct group_topic *gt, void (*cb)(void *arg), void *arg)
{
	struct group_topic_waiter *w = calloc(1, sizeof *w);
	if (w == NULL)
		return -1;
	w->deadline_ms = broker_mono_ms() + gt->b->cfg->offsets_commit_timeout_ms;
	w->cb = cb;
	w->arg = arg;
	w->next = gt->waiters;
	gt->waiters = w;
	gt_timer_arm(gt->ready_timer, GT_READY_POLL_MS);
	return 0;
}

int group_topic_coordinator(struct group_topic *gt, struct kstr group_id, int32_t *node_id, char *host,
			    size_t hostlen, int32_t *port)
{
	*node_id = -1;
	*port = -1;
	if (hostlen > 0)
		host[0] = '\0';
	if (!gt->quorum) {
		if (gt_local_topic(gt) == NULL)
			gt_create_local(gt);
		if (gt_local_topic(gt) == NULL)
			return KERR_COORDINATOR_NOT_AVAILABLE;
		/* One broker: it coordinates every group. */
		const struct group_config *cfg = group_coordinator_config(gt->coord);
		*node_id = cfg->node_id;
		snprintf(host, hostlen, "%s", cfg->host);
		*port = cfg->port;
		return KERR_NONE;
	}
	if (gt->b->metadata == NULL)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	struct metadata_image *img = metadata_image(gt->b->metadata);
	const struct image_topic *it = image_topic_by_name(img, GROUP_LOG_TOPIC);
	int rc = KERR_COORDINATOR_NOT_AVAILABLE;
	if (it == NULL) {
		rc = gt_create_quorum(gt, img);
	} else if (it->n_partitions > 0) {
		int32_t p = group_log_partition_for(group_id, (int32_t)it->n_partitions);
		const struct image_partition *ip = image_topic_partition(it, p);
		const struct image_broker *br = ip != NULL && ip->leader >= 0 ? image_broker(img, ip->leader) : NULL;
		/* Kafka answers only with a live leader's endpoint. */
		if (br != NULL && !br->fenced && br->n_endpoints > 0) {
			*node_id = br->id;
			snprintf(host, hostlen, "%s", br->endpoints[0].host);
			*port = br->endpoints[0].port;
			rc = KERR_NONE;
		}
	}
	image_unref(img);
	return rc;
}

/* ---- creation of the store ---- */

void group_topic_hw_moved(struct broker *b, const struct partition *p)
{
	if (b == NULL || b->groups == NULL || p == NULL || strcmp(p->topic->name, GROUP_LOG_TOPIC) != 0)
		return;
	struct group_store *s = group_coordinator_store(b->groups);
	if (s->ops != &group_topic_ops)
		return;
	struct group_topic *gt = s->impl;
	/* On the next loop turn: the caller may be in the middle of a fetch. */
	if (gt->hw_timer != NULL && evtimer_pending(gt->hw_timer, NULL))
		event_active(gt->hw_timer, EV_TIMEOUT, 1);
}

struct group_topic *group_topic_get(struct broker *b)
{
	if (b == NULL || b->groups == NULL)
		return NULL;
	struct group_store *s = group_coordinator_store(b->groups);
	if (s->ops == &group_topic_ops)
		return s->impl;
	struct group_topic *gt = calloc(1, sizeof *gt);
	if (gt == NULL)
		return NULL;
	gt->store.ops = &group_topic_ops;
	gt->store.impl = gt;
	gt->b = b;
	gt->coord = b->groups;
	gt->quorum = b->metadata != NULL;
	gt->last_create_ms = -1;
	gt->last_refusal_log_ms = -1;
	gt->hw_timer = evtimer_new(b->base, gt_hw_cb, gt);
	gt->ready_timer = evtimer_new(b->base, gt_ready_cb, gt);
	gt->load_ev = event_new(b->base, -1, 0, group_load_step_cb, gt);
	gt->expire_ev = event_new(b->base, -1, EV_PERSIST, gt_expire_cb, gt);
	int64_t iv = b->cfg->offsets_retention_check_interval_ms;
	struct timeval tv = {(time_t)(iv / 1000), (suseconds_t)((iv % 1000) * 1000)};
	if (gt->hw_timer == NULL || gt->ready_timer == NULL || gt->load_ev == NULL || gt->expire_ev == NULL ||
	    event_add(gt->expire_ev, &tv) != 0) {
		gt_free(gt);
		return NULL;
	}
	group_coordinator_set_store(b->groups, &gt->store);
	/* Without a quorum the one broker coordinates everything: its copy of
	 * the topic exists from the first use. */
	if (!gt->quorum && gt_local_topic(gt) == NULL)
		gt_create_local(gt);
	gt_reconcile(gt);
	return gt;
}

void group_topic_sync(struct broker *b)
{
	if (b == NULL || b->groups == NULL)
		return;
	struct group_store *s = group_coordinator_store(b->groups);
	struct group_topic *gt = s->ops == &group_topic_ops ? s->impl : NULL;
	if (gt == NULL) {
		/* Nothing to load before the topic exists here. */
		if (topics_find_cstr(&b->topics, GROUP_LOG_TOPIC) == NULL)
			return;
		(void)group_topic_get(b); /* reconciles */
		return;
	}
	gt_reconcile(gt);
}
