#include "broker/broker.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/group/group.h"
#include "broker/group/group_topic.h"
#include "broker/log/cleaner.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "broker/metadata.h"
#include "broker/net/net.h"
#include "broker/offload.h"
#include "broker/protocol/errors.h"
#include "broker/replica_manager.h"
#include "replication/replica_set.h"
#include "claimcheck/claimcheck.h"

int64_t broker_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t broker_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t broker_partition_hw(const struct broker *b, const struct partition *p)
{
	return b->metadata != NULL ? p->high_watermark : log_end_offset(p->log);
}

bool broker_partition_set_hw(struct broker *b, struct partition *p, int64_t hw)
{
	if (hw <= p->high_watermark)
		return false;
	p->high_watermark = hw;
	log_set_high_watermark(p->log, hw);
	api_produce_hw_advanced(p);
	group_topic_hw_moved(b, p);
	return true;
}

void broker_partition_truncated(struct broker *b, struct partition *p)
{
	(void)b;
	int64_t end = log_end_offset(p->log);
	if (p->high_watermark > end) {
		p->high_watermark = end;
		log_set_high_watermark(p->log, end);
	}
}

/* The leader's high watermark after its own log or a follower moved. */
static bool broker_partition_leader_hw(struct broker *b, struct partition *p)
{
	if (p->replicas == NULL)
		return false;
	return broker_partition_set_hw(b, p, replica_set_update(p->replicas, log_end_offset(p->log)));
}

bool broker_follower_fetched(struct broker *b, struct partition *p, int32_t replica_id, int64_t fetch_offset)
{
	if (p->replicas == NULL ||
	    !replica_set_fetched(p->replicas, replica_id, fetch_offset, log_end_offset(p->log), broker_mono_ms()))
		return false;
	bool moved = broker_partition_leader_hw(b, p);
	replica_manager_follower_fetched(b->replica_manager, p, replica_id);
	return moved;
}

void broker_partition_appended(struct broker *b, struct partition *p)
{
	broker_partition_leader_hw(b, p);
	api_fetch_wake(b, p);
}

int broker_auto_create_topic(struct broker *b, const char *name, struct topic **out)
{
	if (!b->cfg->auto_create_topics_enable)
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	int rc = topics_create(&b->topics, name, b->cfg->num_partitions, NULL, broker_now_ms(), out);
	if (rc == KERR_NONE)
		tlog(TLOG_INFO, "broker", "auto-created topic %s with %d partition(s)", name,
		     (int)b->cfg->num_partitions);
	return rc;
}

struct partition *broker_leader_partition(struct broker *b, struct kstr topic, int32_t index, int16_t *err)
{
	struct partition *p = topics_partition(&b->topics, topic, index);
	if (p != NULL && p->is_leader)
		return p;
	*err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
	if (p != NULL) {
		*err = KERR_NOT_LEADER_OR_FOLLOWER;
	} else if (b->metadata != NULL && topic.len > 0 && topic.len <= TOPIC_NAME_MAX) {
		/* Hosted elsewhere: the client's metadata is stale. */
		char name[TOPIC_NAME_MAX + 1];
		memcpy(name, topic.p, (size_t)topic.len);
		name[topic.len] = '\0';
		struct metadata_image *img = metadata_image(b->metadata);
		const struct image_topic *t = image_topic_by_name(img, name);
		if (t != NULL && image_topic_partition(t, index) != NULL)
			*err = KERR_NOT_LEADER_OR_FOLLOWER;
		image_unref(img);
	}
	return NULL;
}

int16_t broker_leader_epoch_check(const struct partition *p, int32_t current_leader_epoch)
{
	if (current_leader_epoch < 0 || current_leader_epoch == p->leader_epoch)
		return KERR_NONE;
	return current_leader_epoch > p->leader_epoch ? KERR_UNKNOWN_LEADER_EPOCH : KERR_FENCED_LEADER_EPOCH;
}

int broker_delete_topic(struct broker *b, struct topic *topic)
{
	char name[TOPIC_NAME_MAX + 1];
	snprintf(name, sizeof name, "%s", topic->name);
	/* Objects the topic references go with it; queued produces fail. */
	offload_release_topic(b, topic);
	for (int32_t p = 0; p < topic->partition_count; p++)
		api_produce_abandon(topic->partitions[p]);
	int rc = topics_delete(&b->topics, topic);
	if (rc == KERR_NONE)
		tlog(TLOG_INFO, "topics", "deleted topic %s", name);
	return rc;
}

/* producer.id.expiration.check.interval.ms: partitions forget producers
 * idle for producer.id.expiration.ms (Kafka's removeExpiredProducers). */
static void broker_producer_expiry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct broker *b = arg;
	int64_t now = broker_now_ms();
	for (int i = 0; i < b->topics.count; i++) {
		struct topic *t = b->topics.items[i];
		for (int32_t p = 0; p < t->partition_count; p++)
			if (t->partitions[p] != NULL)
				(void)log_expire_producers(t->partitions[p]->log, now, b->cfg->producer_id_expiration_ms);
	}
}

/* log.retention.check.interval.ms: retention and time-based roll. */
static void broker_retention_cb(evutil_socket_t fd, short what, void *arg)
{
	struct broker *b = arg;
	int64_t now = broker_now_ms();
	for (int i = 0; i < b->topics.count; i++) {
		struct topic *t = b->topics.items[i];
		for (int32_t p = 0; p < t->partition_count; p++) {
			if (!t->partitions[p])
				continue; /* hosted by other brokers */
			int n = log_enforce_retention(t->partitions[p]->log, now);
			if (n > 0)
				tlog(TLOG_INFO, "log", "%s-%d: retention deleted %d segment(s), log start offset %lld",
				     t->name, p, n, (long long)log_start_offset(t->partitions[p]->log));
		}
	}
}

/* ---- The log cleaner (log.cleaner.*, broker/log/cleaner.h) ----
 *
 * Every log.cleaner.backoff.ms the compacted logs whose dirty ratio reached
 * min.cleanable.dirty.ratio get a cleaning pass, on every replica (Kafka's
 * cleaner compacts followers' logs too, each below its own high
 * watermark). The pass runs on the event loop thread, which owns the logs. */
static void broker_cleaner_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct broker *b = arg;
	for (int i = 0; i < b->topics.count; i++) {
		struct topic *t = b->topics.items[i];
		for (int32_t p = 0; p < t->partition_count; p++) {
			if (!t->partitions[p])
				continue;
			struct log *log = t->partitions[p]->log;
			int64_t now = broker_now_ms();
			if (!cleaner_needed(log, now))
				continue;
			struct cleaner_stats st;
			int rc = cleaner_clean(log, now, b->cfg->log_cleaner_dedupe_buffer_size, &st);
			if (rc != 0)
				tlog(TLOG_WARN, "cleaner", "%s-%d: cleaning failed: %s", t->name, p, strerror(-rc));
			else if (st.segments_cleaned > 0)
				tlog(TLOG_INFO, "cleaner",
				     "%s-%d: cleaned %d segment(s) below offset %lld: %lld -> %lld bytes, %lld record(s) "
				     "removed (%lld tombstone(s))",
				     t->name, p, st.segments_cleaned, (long long)st.end_offset, (long long)st.bytes_before,
				     (long long)st.bytes_after, (long long)st.records_removed,
				     (long long)st.tombstones_removed);
		}
	}
}

static int broker_cleaner_start(struct broker *b)
{
	if (!b->cfg->log_cleaner_enable)
		return 0;
	int64_t every = b->cfg->log_cleaner_backoff_ms;
	struct timeval tv = {.tv_sec = every / 1000, .tv_usec = (every % 1000) * 1000};
	b->cleaner_timer = event_new(b->base, -1, EV_PERSIST, broker_cleaner_cb, b);
	return b->cleaner_timer != NULL && event_add(b->cleaner_timer, &tv) == 0 ? 0 : -1;
}

static void broker_cleaner_stop(struct broker *b)
{
	if (b->cleaner_timer != NULL)
		event_free(b->cleaner_timer);
	b->cleaner_timer = NULL;
}

/* The claim-check stage: the configured object store behind a worker pool.
 * The secret key is handed to the backend and never logged. */
static int broker_open_claimcheck(struct broker *b)
{
	const struct broker_config *cfg = b->cfg;
	char dir[4096], err[512];
	if (cfg->claimcheck_fs_dir)
		snprintf(dir, sizeof dir, "%s", cfg->claimcheck_fs_dir);
	else
		snprintf(dir, sizeof dir, "%s/claimcheck", b->topics.log_dir);
	struct claimcheck_config cc = {
		.backend = cfg->claimcheck_backend,
		.fs_dir = dir,
		.s3_endpoint = cfg->claimcheck_s3_endpoint,
		.s3_bucket = cfg->claimcheck_s3_bucket,
		.s3_access_key = cfg->claimcheck_s3_access_key,
		.s3_secret_key = cfg->claimcheck_s3_secret_key,
		.s3_https = cfg->claimcheck_s3_protocol && strcmp(cfg->claimcheck_s3_protocol, "https") == 0,
		.s3_virtual_host = cfg->claimcheck_s3_uri_style && strcmp(cfg->claimcheck_s3_uri_style, "virtual") == 0,
		.plugin_path = cfg->claimcheck_plugin_path,
		.plugin_config = cfg->claimcheck_plugin_config,
		.workers = cfg->claimcheck_worker_threads,
	};
	struct claimcheck_backend *backend;
	if (claimcheck_backend_open(&cc, &backend, err, sizeof err) != 0) {
		tlog(TLOG_ERROR, "broker", "claimcheck.backend=%s: %s", cfg->claimcheck_backend, err);
		return -1;
	}
	b->cc = claimcheck_stage_new(b->base, backend, cfg->claimcheck_worker_threads);
	if (!b->cc) {
		claimcheck_backend_close(backend);
		tlog(TLOG_ERROR, "broker", "cannot start the claim-check stage");
		return -1;
	}
	tlog(TLOG_INFO, "broker", "claim-check backend %s ready", claimcheck_backend_name(backend));
	for (int i = 0; i < b->topics.count; i++)
		offload_attach_topic(b, b->topics.items[i]);
	return 0;
}

struct broker *broker_new(struct event_base *base, const struct broker_config *cfg)
{
	char err[512];
	struct broker *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->base = base;
	b->cfg = cfg;
	if (topics_open(&b->topics, cfg, broker_now_ms(), err, sizeof err) != 0) {
		tlog(TLOG_ERROR, "broker", "%s", err);
		free(b);
		return NULL;
	}

	struct net_server_config ncfg = {
		.host = cfg->listener_host,
		.port = cfg->listener_port,
		.max_request_bytes = cfg->socket_request_max_bytes,
		.max_inflight = 100,
	};
	b->net = net_server_new(base, &ncfg, api_dispatch, b);
	if (!b->net)
		goto err;
	snprintf(b->advertised_host, sizeof b->advertised_host, "%s",
		 cfg->advertised_host ? cfg->advertised_host : cfg->listener_host);
	b->advertised_port = cfg->advertised_port > 0 ? cfg->advertised_port : net_server_port(b->net);
	if (cfg->listener_port == 0 || cfg->advertised_port == 0)
		b->advertised_port = net_server_port(b->net);

	if (broker_open_claimcheck(b) != 0)
		goto err;

	struct group_config gc;
	group_config_defaults(&gc);
	gc.node_id = cfg->node_id;
	gc.host = b->advertised_host;
	gc.port = b->advertised_port;
	gc.initial_rebalance_delay_ms = cfg->group_initial_rebalance_delay_ms;
	gc.min_session_timeout_ms = cfg->group_min_session_timeout_ms;
	gc.max_session_timeout_ms = cfg->group_max_session_timeout_ms;
	gc.max_size = cfg->group_max_size;
	b->groups = group_coordinator_new(base, &gc);
	if (!b->groups) {
		tlog(TLOG_ERROR, "broker", "cannot start the group coordinator");
		goto err;
	}

	if (metadata_start(b) != 0)
		goto err;

	int64_t interval = cfg->log_retention_check_interval_ms;
	struct timeval tv = {.tv_sec = interval / 1000, .tv_usec = (interval % 1000) * 1000};
	b->retention_timer = event_new(base, -1, EV_PERSIST, broker_retention_cb, b);
	if (!b->retention_timer || event_add(b->retention_timer, &tv) != 0)
		goto err;
	int64_t every = cfg->producer_id_expiration_check_interval_ms;
	struct timeval etv = {.tv_sec = every / 1000, .tv_usec = (every % 1000) * 1000};
	b->producer_expiry_timer = event_new(base, -1, EV_PERSIST, broker_producer_expiry_cb, b);
	if (!b->producer_expiry_timer || event_add(b->producer_expiry_timer, &etv) != 0)
		goto err;
	if (broker_cleaner_start(b) != 0)
		goto err;
	tlog(TLOG_INFO, "broker", "node %d: %d topic(s) open in %s, cluster id %s", (int)cfg->node_id,
	     b->topics.count, b->topics.log_dir, b->topics.cluster_id);
	return b;
err:
	broker_free(b);
	return NULL;
}

struct group_coordinator *broker_group_coordinator(struct broker *b)
{
	return b->groups;
}

int broker_port(const struct broker *b)
{
	return net_server_port(b->net);
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	if (b->retention_timer)
		event_free(b->retention_timer);
	if (b->producer_expiry_timer)
		event_free(b->producer_expiry_timer);
	broker_cleaner_stop(b);
	metadata_stop(b); /* first: a leader hands leadership over while the rest still runs */
	api_fetch_shutdown(b);
	if (b->net)
		net_server_free(b->net);
	if (b->groups)
		group_coordinator_free(b->groups);
	/* Completes (with an error) what is still queued in the stage; the
	 * requests are dead by now, the partitions still exist. */
	if (b->cc)
		claimcheck_stage_free(b->cc);
	topics_close(&b->topics);
	free(b);
}
