#include "broker/offload.h"

#include "broker/broker_internal.h"
#include "broker/log/log.h"
#include "broker/logger.h"
#include "claimcheck/claimcheck.h"

static void offload_delete_key(void *arg, const char *key)
{
	struct broker *b = arg;
	tlog(TLOG_DEBUG, "claimcheck", "deleting object %s: no record references it any more", key);
	claimcheck_stage_delete(b->cc, key, NULL, NULL);
}

/* log_drop_cb: retention is deleting these batches. */
static void offload_drop_cb(void *arg, const uint8_t *data, size_t len)
{
	struct partition *p = arg;
	claimcheck_refs_remove(p->cc_refs, data, len, offload_delete_key, p->cc_broker);
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
		if (p->cc_refs)
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

void offload_release_topic(struct broker *b, struct topic *t)
{
	for (int32_t i = 0; i < t->partition_count; i++) {
		struct partition *p = t->partitions[i];
		if (p->cc_refs && b->cc)
			claimcheck_refs_foreach(p->cc_refs, offload_delete_key, b);
	}
}
