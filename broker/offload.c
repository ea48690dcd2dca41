#include "broker/offload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_internal.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "claimcheck/claimcheck.h"

/* A delete in flight: the partition is looked up again when it completes
 * (its topic may have been deleted, or deleted and created again). */
struct offload_delete {
	struct broker *broker;
	char topic[TOPIC_NAME_MAX + 1];
	uint8_t topic_id[16];
	int32_t partition;
};

static void offload_delete_done(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len)
{
	struct offload_delete *d = arg;
	free(out);
	if (err != 0)
		tlog(TLOG_WARN, "claimcheck", "%s-%d: deleting an unreferenced object failed: %s", d->topic,
		     d->partition, errmsg);
	struct topic *t = topics_find_cstr(&d->broker->topics, d->topic);
	if (t && memcmp(t->id, d->topic_id, 16) == 0 && d->partition < t->partition_count) {
		struct partition *p = t->partitions[d->partition];
		if (p && --p->cc_deletes_inflight == 0)
			api_produce_resume(p);
	}
	free(d);
}

/* refs_remove's callback: nothing references `key` any more. The delete
 * waits until no batch of the partition is in the stage (see
 * offload_flush_deletes). */
static void offload_gone_cb(void *arg, const char *key)
{
	struct partition *p = arg;
	char **grown = realloc(p->cc_deferred, sizeof *grown * (p->cc_deferred_n + 1));
	char *copy = strdup(key);
	if (!grown || !copy) {
		/* The object outlives its last reference: a leak, never a loss. */
		free(copy);
		if (grown)
			p->cc_deferred = grown;
		tlog(TLOG_ERROR, "claimcheck", "out of memory: object %s is not deleted", key);
		return;
	}
	p->cc_deferred = grown;
	p->cc_deferred[p->cc_deferred_n++] = copy;
}

void offload_flush_deletes(struct partition *p)
{
	struct broker *b = p->cc_broker;
	if (!p->cc_deferred_n || !b || !b->cc || api_produce_in_stage(p))
		return;
	for (size_t i = 0; i < p->cc_deferred_n; i++) {
		char *key = p->cc_deferred[i];
		/* A batch appended since may reference the same content again. */
		struct offload_delete *d = claimcheck_refs_count(p->cc_refs, key) == 0 ? calloc(1, sizeof *d) : NULL;
		if (d) {
			d->broker = b;
			snprintf(d->topic, sizeof d->topic, "%s", p->topic->name);
			memcpy(d->topic_id, p->topic->id, 16);
			d->partition = p->index;
			p->cc_deletes_inflight++;
			tlog(TLOG_DEBUG, "claimcheck", "deleting object %s: no record references it any more", key);
			claimcheck_stage_delete(b->cc, key, offload_delete_done, d);
		}
		free(key);
	}
	free(p->cc_deferred);
	p->cc_deferred = NULL;
	p->cc_deferred_n = 0;
}

/* log_drop_cb: retention is deleting these batches. */
static void offload_drop_cb(void *arg, const uint8_t *data, size_t len)
{
	struct partition *p = arg;
	claimcheck_refs_remove(p->cc_refs, data, len, offload_gone_cb, p);
	offload_flush_deletes(p);
}

static int offload_scan_cb(void *arg, const uint8_t *data, size_t len)
{
	claimcheck_refs_add(arg, data, len);
	return 0;
}

void offload_attach_topic(struct broker *b, struct topic *t)
{
	if (!t->config.claimcheck_enable || !b->cc)
		return;
	for (int32_t i = 0; i < t->partition_count; i++) {
		struct partition *p = t->partitions[i];
		if (!p || p->cc_refs)
			continue;
		p->cc_refs = claimcheck_refs_new();
		if (!p->cc_refs) {
			tlog(TLOG_ERROR, "claimcheck", "%s-%d: out of memory tracking references", t->name, i);
			continue;
		}
		p->cc_broker = b;
		int rc = log_visit(p->log, log_start_offset(p->log), offload_scan_cb, p->cc_refs);
		if (rc != 0)
			tlog(TLOG_ERROR, "claimcheck", "%s-%d: reading the log for references failed (%d): objects "
			     "it references may outlive it", t->name, i, rc);
		log_set_drop_cb(p->log, offload_drop_cb, p);
	}
}

void offload_appended(struct broker *b, struct partition *p, const uint8_t *data, size_t len)
{
	if (p->cc_refs)
		claimcheck_refs_add(p->cc_refs, data, len);
}

static void offload_delete_now(void *arg, const char *key)
{
	struct broker *b = arg;
	claimcheck_stage_delete(b->cc, key, NULL, NULL);
}

void offload_release_topic(struct broker *b, struct topic *t)
{
	if (!b->cc)
		return;
	for (int32_t i = 0; i < t->partition_count; i++) {
		struct partition *p = t->partitions[i];
		if (!p)
			continue;
		if (p->cc_refs)
			claimcheck_refs_foreach(p->cc_refs, offload_delete_now, b);
		for (size_t k = 0; k < p->cc_deferred_n; k++)
			offload_delete_now(b, p->cc_deferred[k]);
	}
}
