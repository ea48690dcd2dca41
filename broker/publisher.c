#include "broker/publisher.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/broker_internal.h"
#include "broker/group/group_topic.h"
#include "broker/logger.h"
#include "broker/log/log.h"
#include "broker/offload.h"
#include "broker/replica_manager.h"
#include "broker/protocol/errors.h"
#include "raft/image.h"
#include "raft/quorum.h"
#include "replication/replica_set.h"

#define PUBLISHER_LOG "publisher"

struct publisher {
	struct broker *b;                  /* borrowed */
	const struct metadata_image *last; /* the image acted on last (owned ref); NULL before the first */
	bool ready;
};

struct publisher *publisher_new(struct broker *b)
{
	struct publisher *p = calloc(1, sizeof *p);
	if (p != NULL)
		p->b = b;
	return p;
}

void publisher_free(struct publisher *p)
{
	if (p == NULL)
		return;
	image_unref(p->last);
	free(p);
}

bool publisher_ready(const struct publisher *p)
{
	return p != NULL && p->ready;
}

static bool publisher_in(const struct metadata_id_list *l, int32_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

struct publisher_configs {
	const char *topic;
	struct topic_overrides *ov;
	int rc;
};

static int publisher_config_cb(int8_t type, const char *name, const char *key, const char *value, void *arg)
{
	struct publisher_configs *c = arg;
	if (type == METADATA_RESOURCE_TOPIC && strcmp(name, c->topic) == 0 && value != NULL &&
	    topic_overrides_set(c->ov, key, value) != 0)
		c->rc = -ENOMEM;
	return 0;
}

int publisher_topic_overrides(const struct metadata_image *img, const char *topic, struct topic_overrides *ov)
{
	struct publisher_configs c = {topic, ov, 0};
	memset(ov, 0, sizeof *ov);
	image_foreach_config(img, publisher_config_cb, &c);
	return c.rc;
}

/* The local topic for image topic `it`, entered into the catalog if needed.
 * A local topic of the same name but another id is an older incarnation
 * (deleted and re-created while this broker was away): it goes. */
static struct topic *publisher_local_topic(struct publisher *p, const struct metadata_image *img,
					   const struct image_topic *it)
{
	struct broker *b = p->b;
	struct topic *t = topics_find_id(&b->topics, it->id);
	if (t != NULL) {
		if (t->partition_count < (int32_t)it->n_partitions)
			(void)topics_resize(&b->topics, t, (int32_t)it->n_partitions);
		return t;
	}
	struct topic *old = topics_find_cstr(&b->topics, it->name);
	if (old != NULL) {
		tlog(TLOG_INFO, PUBLISHER_LOG, "topic %s: the local log belongs to an earlier topic of that name", it->name);
		broker_delete_topic(b, old);
	}
	struct topic_overrides ov;
	if (publisher_topic_overrides(img, it->name, &ov) != 0) {
		topic_overrides_free(&ov);
		return NULL;
	}
	int rc = topics_adopt(&b->topics, it->name, it->id, (int32_t)it->n_partitions, &ov, &t);
	topic_overrides_free(&ov);
	if (rc != KERR_NONE) {
		tlog(TLOG_ERROR, PUBLISHER_LOG, "topic %s: cannot enter it in the local catalog (error %d)", it->name, rc);
		return NULL;
	}
	return t;
}

static void publisher_partition(struct publisher *p, const struct metadata_image *img, const struct image_topic *it,
				const struct image_partition *ip)
{
	struct broker *b = p->b;
	int32_t self = b->cfg->node_id;
	if (!publisher_in(&ip->replicas, self)) {
		/* Not (or no longer) a replica: drop a local copy. */
		struct topic *t = topics_find_id(&b->topics, it->id);
		if (t != NULL && ip->partition_id < t->partition_count && t->partitions[ip->partition_id] != NULL) {
			tlog(TLOG_INFO, PUBLISHER_LOG, "%s-%d: no longer a replica here, deleting the local log", it->name,
			     (int)ip->partition_id);
			api_produce_abandon(t->partitions[ip->partition_id]);
			topics_drop_partition(&b->topics, t, ip->partition_id);
		}
		return;
	}
	struct topic *t = publisher_local_topic(p, img, it);
	if (t == NULL)
		return;
	bool fresh = ip->partition_id >= t->partition_count || t->partitions[ip->partition_id] == NULL;
	if (topics_host_partition(&b->topics, t, ip->partition_id, broker_now_ms()) != KERR_NONE)
		return;
	struct partition *part = t->partitions[ip->partition_id];
	if (fresh)
		offload_attach_topic(b, t);
	bool leads = ip->leader == self;
	bool was_leader = part->is_leader;
	if (fresh || leads != part->is_leader || part->leader_epoch != ip->leader_epoch)
		tlog(TLOG_INFO, PUBLISHER_LOG, "%s-%d: %s at leader epoch %d (leader %d)", it->name, (int)ip->partition_id,
		     leads ? "leader" : "follower", (int)ip->leader_epoch, (int)ip->leader);
	part->is_leader = leads;
	part->leader_epoch = ip->leader_epoch;
	part->partition_epoch = ip->partition_epoch;
	part->leader_id = ip->leader;
	part->isr_count = (int32_t)ip->isr.n;
	if (leads) {
		if (log_assign_leader_epoch(part->log, ip->leader_epoch) != 0)
			tlog(TLOG_WARN, PUBLISHER_LOG, "%s-%d: cannot record leader epoch %d", it->name,
			     (int)ip->partition_id, (int)ip->leader_epoch);
		/* The leader tracks its followers; the ISR may have changed. */
		if (part->replicas == NULL)
			part->replicas = calloc(1, sizeof *part->replicas);
		if (part->replicas != NULL) {
			/* An ISR request sent against this partition epoch is not
			 * answered in the image yet: who it adds keeps counting. */
			replica_set_reset(part->replicas, self, ip->replicas.ids, ip->replicas.n, ip->isr.ids, ip->isr.n,
					  part->high_watermark, broker_mono_ms(),
					  ip->partition_epoch <= part->alter_partition_epoch);
			if (broker_partition_set_hw(b, part, replica_set_update(part->replicas, log_end_offset(part->log))))
				api_fetch_wake(b, part);
		}
	} else {
		free(part->replicas);
		part->replicas = NULL;
		if (was_leader) /* acks=all produces cannot complete here any more */
			api_produce_hw_fail(part, KERR_NOT_LEADER_OR_FOLLOWER);
	}
}

static void publisher_topic_deleted(struct publisher *p, const struct image_topic *it)
{
	struct topic *t = topics_find_id(&p->b->topics, it->id);
	if (t != NULL)
		broker_delete_topic(p->b, t);
}

static void publisher_topic_config(struct publisher *p, const struct metadata_image *img, const char *name)
{
	struct topic *t = topics_find_cstr(&p->b->topics, name);
	if (t == NULL)
		return;
	struct topic_overrides ov;
	if (publisher_topic_overrides(img, name, &ov) == 0 && topics_set_overrides(&p->b->topics, t, &ov) == KERR_NONE)
		offload_attach_topic(p->b, t);
	topic_overrides_free(&ov);
}

struct publisher_diff {
	struct publisher *p;
	const struct metadata_image *img;
};

static int publisher_change_cb(const struct image_change *c, void *arg)
{
	struct publisher_diff *d = arg;
	switch (c->kind) {
	case IMAGE_PARTITION_CHANGED:
		if (c->new_partition != NULL)
			publisher_partition(d->p, d->img, c->topic, c->new_partition);
		break;
	case IMAGE_TOPIC_DELETED:
		publisher_topic_deleted(d->p, c->topic);
		break;
	case IMAGE_CONFIG_CHANGED:
		if (c->resource_type == METADATA_RESOURCE_TOPIC)
			publisher_topic_config(d->p, d->img, c->resource_name);
		break;
	default:
		break;
	}
	return 0;
}

/* Local topics the image does not hold were deleted while this broker was
 * away (KIP-858's stray logs): they go on the first pass. */
static void publisher_remove_strays(struct publisher *p, const struct metadata_image *img)
{
	struct topics *ts = &p->b->topics;
	for (int i = 0; i < ts->count;) {
		struct topic *t = ts->items[i];
		const struct image_topic *it = image_topic_by_id(img, t->id);
		if (it == NULL) {
			tlog(TLOG_INFO, PUBLISHER_LOG, "topic %s is not in the metadata: deleting the local log", t->name);
			if (broker_delete_topic(p->b, t) == KERR_NONE)
				continue; /* the catalog moved its last item here */
		}
		i++;
	}
}

void publisher_update(struct publisher *p, const struct metadata_image *img, bool caught_up)
{
	if (!p->ready) {
		if (!caught_up)
			return;
		p->ready = true;
		tlog(TLOG_INFO, PUBLISHER_LOG, "metadata caught up at index %" PRIu64 ": %zu topic(s)",
		     image_last_index(img), image_topic_count(img));
		publisher_remove_strays(p, img);
	}
	if (p->last == img)
		return;
	struct publisher_diff d = {p, img};
	int rc = image_diff(p->last, img, publisher_change_cb, &d);
	if (rc != 0) {
		tlog(TLOG_ERROR, PUBLISHER_LOG, "cannot compare metadata images: %s", strerror(-rc));
		return; /* retried against the same base on the next image */
	}
	image_unref(p->last);
	p->last = image_ref(img);
	replica_manager_update(p->b->replica_manager);
	/* Group coordination follows the leadership of __consumer_offsets. */
	group_topic_sync(p->b);
}
