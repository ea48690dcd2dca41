/* Committed offsets: the per-group table, OffsetCommit, OffsetFetch,
 * retention, DeleteGroups and OffsetDelete.
 *
 * OffsetCommit validation follows Kafka's GroupCoordinator.validateOffsetCommit:
 * a commit that names a member (generation >= 0, a member id or an instance
 * id) must come from a current member of the current generation; an
 * anonymous commit (generation -1, as kafka-python's or a manual
 * assignment's) is only allowed while the group has no members.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/group/group_internal.h"
#include "broker/logger.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/kreader.h"

/* Orders a (topic, partition) key against a stored offset. */
static int group_offsets_cmp(struct kstr topic, int32_t partition, const struct group_offset *o)
{
	size_t olen = strlen(o->topic);
	size_t tlen = topic.len < 0 ? 0 : (size_t)topic.len;
	size_t n = tlen < olen ? tlen : olen;
	int c = n ? memcmp(topic.p, o->topic, n) : 0;
	if (c)
		return c;
	if (tlen != olen)
		return tlen < olen ? -1 : 1;
	return partition < o->partition ? -1 : partition > o->partition ? 1 : 0;
}

/* Index of the key, or -(insertion point) - 1. */
static int32_t group_offsets_search(const struct group_offsets *o, struct kstr topic, int32_t partition)
{
	int32_t lo = 0, hi = o->count;
	while (lo < hi) {
		int32_t mid = lo + (hi - lo) / 2;
		int c = group_offsets_cmp(topic, partition, &o->items[mid]);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -lo - 1;
}

const struct group_offset *group_offsets_get(const struct group_offsets *o, struct kstr topic, int32_t partition)
{
	int32_t i = group_offsets_search(o, topic, partition);
	return i >= 0 ? &o->items[i] : NULL;
}

int group_offsets_put(struct group_offsets *o, struct kstr topic, int32_t partition, int64_t offset,
		      int32_t leader_epoch, struct kstr metadata, int64_t commit_timestamp_ms)
{
	struct kstr empty = {"", 0};
	char *md = kstr_dup(metadata.len < 0 ? empty : metadata);
	if (!md)
		return -1;
	int32_t i = group_offsets_search(o, topic, partition);
	if (i < 0) {
		i = -i - 1;
		if (o->count == o->cap) {
			int32_t cap = o->cap ? o->cap * 2 : 16;
			struct group_offset *items = realloc(o->items, (size_t)cap * sizeof *items);
			if (!items) {
				free(md);
				return -1;
			}
			o->items = items;
			o->cap = cap;
		}
		char *t = kstr_dup(topic.len < 0 ? empty : topic);
		if (!t) {
			free(md);
			return -1;
		}
		memmove(&o->items[i + 1], &o->items[i], (size_t)(o->count - i) * sizeof *o->items);
		o->count++;
		o->items[i].topic = t;
		o->items[i].partition = partition;
		o->items[i].metadata = NULL;
	}
	struct group_offset *e = &o->items[i];
	free(e->metadata);
	e->metadata = md;
	e->offset = offset;
	e->leader_epoch = leader_epoch;
	e->commit_timestamp_ms = commit_timestamp_ms;
	return 0;
}

bool group_offsets_remove(struct group_offsets *o, struct kstr topic, int32_t partition)
{
	int32_t i = group_offsets_search(o, topic, partition);
	if (i < 0)
		return false;
	free(o->items[i].topic);
	free(o->items[i].metadata);
	memmove(&o->items[i], &o->items[i + 1], (size_t)(o->count - i - 1) * sizeof *o->items);
	o->count--;
	return true;
}

void group_offsets_free(struct group_offsets *o)
{
	for (int32_t i = 0; i < o->count; i++) {
		free(o->items[i].topic);
		free(o->items[i].metadata);
	}
	free(o->items);
	memset(o, 0, sizeof *o);
}

/* ---- OffsetCommit ---- */

/* A commit waiting for the store. */
struct group_commit_ctx {
	struct group_coordinator *coord;
	char *group_id;
	struct group_offset_entry *entries; /* the valid ones (copies; `error` still the caller's) */
	int32_t count;
	int64_t now_ms;
	group_commit_cb cb;
	void *arg;
};

static int16_t group_offsets_validate(struct group *g, const struct group_commit_params *p)
{
	bool named = p->generation_id >= 0 || p->member_id.len > 0 || p->group_instance_id.len >= 0;
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	if (named) {
		struct group_member *s = p->group_instance_id.len >= 0 ? group_static_member(g, p->group_instance_id) : NULL;
		if (s && !kstr_eq(p->member_id, s->member_id))
			return KERR_FENCED_INSTANCE_ID;
		struct group_member *m = group_member_find(g, p->member_id);
		if (!m)
			return KERR_UNKNOWN_MEMBER_ID;
		if (p->generation_id != g->generation_id)
			return KERR_ILLEGAL_GENERATION;
	} else if (g->state != GROUP_EMPTY) {
		/* Only members may commit for a group that has some. */
		return KERR_UNKNOWN_MEMBER_ID;
	}
	switch (g->state) {
	case GROUP_EMPTY:
		return KERR_NONE;
	case GROUP_STABLE:
	case GROUP_PREPARING_REBALANCE: {
		/* During PreparingRebalance a commit is still accepted: the member
		 * learns of the rebalance from its next heartbeat. */
		struct group_member *m = group_member_find(g, p->member_id);
		if (m)
			group_member_heartbeat(m);
		return KERR_NONE;
	}
	case GROUP_COMPLETING_REBALANCE:
		/* The member has its new generation but not its assignment yet. */
		return KERR_REBALANCE_IN_PROGRESS;
	default:
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
}

static void group_commit_done(void *arg, int16_t err)
{
	struct group_commit_ctx *ctx = arg;
	struct kstr gid = {ctx->group_id, (int32_t)strlen(ctx->group_id)};
	struct group *g = group_find(ctx->coord, gid);

	for (int32_t i = 0; i < ctx->count; i++) {
		struct group_offset_entry *e = &ctx->entries[i];
		if (err != KERR_NONE) {
			*e->error = err;
			continue;
		}
		if (!g) {
			/* The group went away while the commit was persisted. */
			*e->error = KERR_COORDINATOR_NOT_AVAILABLE;
			continue;
		}
		int64_t ts = e->commit_timestamp_ms >= 0 ? e->commit_timestamp_ms : ctx->now_ms;
		if (group_offsets_put(&g->offsets, e->topic, e->partition, e->offset, e->leader_epoch, e->metadata, ts))
			*e->error = KERR_UNKNOWN_SERVER_ERROR;
	}
	if (err != KERR_NONE)
		tlog(TLOG_WARN, "group", "group=%s: storing %d offset(s) failed: error %d", ctx->group_id, ctx->count,
		     err);
	ctx->cb(ctx->arg, KERR_NONE);
	free(ctx->entries);
	free(ctx->group_id);
	free(ctx);
}

static void group_commit_fail(struct group_offset_entry *entries, int32_t n, int16_t err, group_commit_cb cb,
			      void *arg)
{
	for (int32_t i = 0; i < n; i++)
		*entries[i].error = err;
	cb(arg, err);
}

void group_offset_commit(struct group_coordinator *c, const struct group_commit_params *p,
			 struct group_offset_entry *entries, int32_t n, group_commit_cb cb, void *arg)
{
	if (p->group_id.len < 0) {
		group_commit_fail(entries, n, KERR_INVALID_GROUP_ID, cb, arg);
		return;
	}
	int16_t gate = group_gate(c, p->group_id);
	if (gate != KERR_NONE) {
		group_commit_fail(entries, n, gate, cb, arg);
		return;
	}
	struct group *g = group_find(c, p->group_id);
	bool created = false;
	if (!g) {
		if (p->generation_id >= 0) {
			/* A member of a generation this coordinator never had. */
			group_commit_fail(entries, n, KERR_ILLEGAL_GENERATION, cb, arg);
			return;
		}
		/* Offsets only: the group does not use Kafka's membership. */
		g = group_create(c, p->group_id);
		if (!g) {
			group_commit_fail(entries, n, KERR_UNKNOWN_SERVER_ERROR, cb, arg);
			return;
		}
		created = true;
	}
	int16_t err = group_offsets_validate(g, p);
	if (err != KERR_NONE) {
		if (created)
			group_maybe_forget(g);
		group_commit_fail(entries, n, err, cb, arg);
		return;
	}

	struct group_commit_ctx *ctx = calloc(1, sizeof *ctx);
	if (ctx) {
		ctx->group_id = strdup(g->group_id);
		ctx->entries = n > 0 ? calloc((size_t)n, sizeof *ctx->entries) : NULL;
	}
	if (!ctx || !ctx->group_id || (n > 0 && !ctx->entries)) {
		if (ctx) {
			free(ctx->group_id);
			free(ctx->entries);
			free(ctx);
		}
		if (created)
			group_maybe_forget(g);
		group_commit_fail(entries, n, KERR_UNKNOWN_SERVER_ERROR, cb, arg);
		return;
	}
	ctx->coord = c;
	ctx->cb = cb;
	ctx->arg = arg;
	ctx->now_ms = group_now_ms();
	for (int32_t i = 0; i < n; i++) {
		struct group_offset_entry *e = &entries[i];
		if (e->metadata.len > c->cfg.offset_metadata_max_bytes) {
			*e->error = KERR_OFFSET_METADATA_TOO_LARGE;
			continue;
		}
		*e->error = KERR_NONE;
		ctx->entries[ctx->count] = *e;
		/* The broker's clock, unless the request named a time (v1). */
		if (e->commit_timestamp_ms < 0)
			ctx->entries[ctx->count].commit_timestamp_ms = ctx->now_ms;
		ctx->count++;
	}
	c->store->ops->store_offsets(c->store->impl, ctx->group_id, ctx->entries, ctx->count, group_commit_done, ctx);
}

/* ---- OffsetFetch ---- */

int16_t group_offset_fetch_check(struct group_coordinator *c, struct kstr group_id)
{
	if (group_id.len < 0)
		return KERR_INVALID_GROUP_ID;
	return group_gate(c, group_id);
}

const struct group_offset *group_offset_get(struct group_coordinator *c, struct kstr group_id, struct kstr topic,
					    int32_t partition)
{
	struct group *g = group_find(c, group_id);
	if (!g || g->state == GROUP_DEAD)
		return NULL;
	return group_offsets_get(&g->offsets, topic, partition);
}

const struct group_offset *group_offset_list(struct group_coordinator *c, struct kstr group_id, int32_t *n)
{
	struct group *g = group_find(c, group_id);
	if (!g || g->state == GROUP_DEAD) {
		*n = 0;
		return NULL;
	}
	*n = g->offsets.count;
	return g->offsets.items;
}

/* ---- retention ---- */

static void group_tombstones_logged_cb(void *arg, int16_t err)
{
	char *group_id = arg;
	if (err != KERR_NONE)
		tlog(TLOG_WARN, "group", "group=%s: writing offset tombstones failed: error %d", group_id, err);
	free(group_id);
}

/* Expires the offsets of one group; returns how many went. */
static int32_t group_expire_group(struct group *g, int64_t now_ms, int64_t retention_ms)
{
	bool empty = g->state == GROUP_EMPTY && g->members_count == 0 && g->pending_count == 0;
	if (!empty || g->offsets.count == 0)
		return 0;
	/* KIP-211: a consumer group's offsets expire together, counted from
	 * the moment it became Empty; offsets committed outside group
	 * management (no protocol type) each from its own commit. */
	bool by_state = g->protocol_type != NULL && g->state_timestamp_ms >= 0;
	struct group_offset *gone = calloc((size_t)g->offsets.count, sizeof *gone);
	if (!gone)
		return 0;
	int32_t n = 0;
	for (int32_t i = 0; i < g->offsets.count; i++) {
		const struct group_offset *o = &g->offsets.items[i];
		int64_t base = by_state ? g->state_timestamp_ms : o->commit_timestamp_ms;
		if (base + retention_ms <= now_ms)
			gone[n++] = *o; /* strings still owned by the table */
	}
	if (n == 0) {
		free(gone);
		return 0;
	}
	struct group_coordinator *c = g->coord;
	tlog(TLOG_INFO, "group", "group=%s: %d committed offset(s) expired (offsets.retention.minutes)", g->group_id,
	     (int)n);
	if (c->store->ops->delete_offsets) {
		char *id = strdup(g->group_id);
		if (id)
			c->store->ops->delete_offsets(c->store->impl, g->group_id, gone, n, group_tombstones_logged_cb, id);
	}
	for (int32_t i = 0; i < n; i++) {
		struct kstr t = {gone[i].topic, (int32_t)strlen(gone[i].topic)};
		/* Removing frees the topic string: copy the key first. */
		char *topic = kstr_dup(t);
		int32_t part = gone[i].partition;
		if (topic) {
			struct kstr tk = {topic, t.len};
			(void)group_offsets_remove(&g->offsets, tk, part);
			free(topic);
		}
	}
	free(gone);
	return n;
}

int32_t group_expire_offsets(struct group_coordinator *c, int64_t now_ms, int64_t retention_ms, group_match_fn match,
			     void *arg)
{
	int32_t total = 0;
	for (int32_t i = 0; i < c->groups_count;) {
		struct group *g = c->groups[i];
		if (match && !match(arg, g->group_id)) {
			i++;
			continue;
		}
		int32_t n = group_expire_group(g, now_ms, retention_ms);
		total += n;
		int32_t before = c->groups_count;
		if (n > 0)
			group_maybe_forget(g); /* Empty without offsets: the group goes too */
		if (c->groups_count == before)
			i++;
	}
	return total;
}

/* ---- DeleteGroups ---- */

int16_t group_delete(struct group_coordinator *c, struct kstr group_id)
{
	if (group_id.len <= 0)
		return KERR_INVALID_GROUP_ID;
	int16_t gate = group_gate(c, group_id);
	if (gate != KERR_NONE)
		return gate;
	struct group *g = group_find(c, group_id);
	if (g == NULL || g->state == GROUP_DEAD)
		return KERR_GROUP_ID_NOT_FOUND;
	if (g->state != GROUP_EMPTY || g->members_count > 0 || g->pending_count > 0)
		return KERR_NON_EMPTY_GROUP;
	const struct group_store_ops *ops = c->store->ops;
	if (g->offsets.count > 0 && ops->delete_offsets) {
		char *id = strdup(g->group_id);
		if (id)
			ops->delete_offsets(c->store->impl, g->group_id, g->offsets.items, g->offsets.count,
					    group_tombstones_logged_cb, id);
	}
	tlog(TLOG_INFO, "group", "group=%s: deleted with %d committed offset(s)", g->group_id, (int)g->offsets.count);
	group_offsets_free(&g->offsets);
	/* Empty without offsets now: forgetting it writes its metadata
	 * tombstone when it had a record. */
	group_maybe_forget(g);
	return KERR_NONE;
}

/* ---- OffsetDelete ---- */

/* The protocol type of groups whose members' metadata is a consumer
 * Subscription (Kafka's ConsumerProtocol.PROTOCOL_TYPE). */
#define GROUP_CONSUMER_PROTOCOL_TYPE "consumer"

/* Reads one member's consumer-protocol Subscription as Kafka's
 * ClassicGroup.computeSubscribedTopics does: the version (any, >= 0), then
 * the v0 fields every later version starts with (topics [string],
 * user_data nullable bytes). Returns false when the bytes are not one;
 * *subscribed is set when `topic` is among its topics. */
static bool group_subscription_lists(const uint8_t *p, int32_t len, struct kstr topic, bool *subscribed)
{
	struct kreader r;
	kr_init(&r, p, len > 0 ? (size_t)len : 0);
	int16_t version = kr_i16(&r);
	int32_t n = kr_array_len(&r, 2);
	if (r.err || version < 0 || n < 0)
		return false;
	for (int32_t i = 0; i < n; i++) {
		struct kstr t;
		kr_string(&r, &t);
		if (r.err)
			return false;
		if (t.len == topic.len && (t.len == 0 || memcmp(t.p, topic.p, (size_t)t.len) == 0))
			*subscribed = true;
	}
	struct kbytes user_data;
	kr_bytes(&r, &user_data);
	return r.err == 0;
}

/* Whether a member of the non-Empty consumer group `g` may be consuming
 * `topic`. Each member's metadata for the selected protocol is read; before
 * a protocol is selected (the first rebalance), or for a member that lacks
 * it, every protocol it offered (the selected one is among them, so the
 * union never misses a topic). A member without metadata, or with bytes
 * that are not a Subscription, makes every topic count as subscribed, as
 * Kafka's newer coordinator (ClassicGroup.isSubscribedToTopic) answers for
 * a consumer group whose subscriptions it cannot read: no offset a member
 * may be using goes. */
static bool group_subscribed_to(const struct group *g, struct kstr topic)
{
	bool subscribed = false;
	for (int32_t i = 0; i < g->members_count; i++) {
		const struct group_member *m = g->members[i];
		const struct group_member_protocol *sel = NULL;
		for (int32_t j = 0; g->protocol_name && j < m->protocols_count; j++)
			if (strcmp(m->protocols[j].name, g->protocol_name) == 0)
				sel = &m->protocols[j];
		int32_t from = 0, to = m->protocols_count;
		if (sel) {
			from = (int32_t)(sel - m->protocols);
			to = from + 1;
		}
		if (from == to)
			return true; /* nothing says what it consumes */
		for (int32_t j = from; j < to; j++)
			if (!group_subscription_lists(m->protocols[j].metadata, m->protocols[j].metadata_len, topic,
						      &subscribed))
				return true;
	}
	return subscribed;
}

/* An OffsetDelete waiting for its tombstones. */
struct group_offset_delete_ctx {
	char *group_id;
	int32_t count;
	group_offset_delete_cb cb;
	void *arg;
};

static void group_offset_delete_done(void *arg, int16_t err)
{
	struct group_offset_delete_ctx *ctx = arg;
	if (err != KERR_NONE)
		tlog(TLOG_WARN, "group", "group=%s: writing %d offset tombstone(s) failed: error %d", ctx->group_id,
		     (int)ctx->count, err);
	ctx->cb(ctx->arg, err);
	free(ctx->group_id);
	free(ctx);
}

void group_offset_delete(struct group_coordinator *c, struct kstr group_id, struct group_offset_delete_entry *entries,
			 int32_t n, group_offset_delete_cb cb, void *arg)
{
	/* Only the offset APIs, DescribeGroups and DeleteGroups accept "" (Kafka's
	 * GroupCoordinator.isValidGroupId); OffsetDelete is not among them. */
	if (group_id.len <= 0) {
		cb(arg, KERR_INVALID_GROUP_ID);
		return;
	}
	int16_t gate = group_gate(c, group_id);
	if (gate != KERR_NONE) {
		cb(arg, gate);
		return;
	}
	struct group *g = group_find(c, group_id);
	if (g == NULL || g->state == GROUP_DEAD) {
		cb(arg, KERR_GROUP_ID_NOT_FOUND);
		return;
	}
	bool consumer = g->protocol_type != NULL && strcmp(g->protocol_type, GROUP_CONSUMER_PROTOCOL_TYPE) == 0;
	bool empty = g->state == GROUP_EMPTY;
	if (!empty && !consumer) {
		cb(arg, KERR_NON_EMPTY_GROUP);
		return;
	}

	/* The removed rows move here with their strings: the tombstones name
	 * them after the table forgot them. */
	struct group_offset *gone = n > 0 ? calloc((size_t)n, sizeof *gone) : NULL;
	struct group_offset_delete_ctx *ctx = calloc(1, sizeof *ctx);
	char *id = strdup(g->group_id);
	if ((n > 0 && gone == NULL) || ctx == NULL || id == NULL) {
		free(gone);
		free(ctx);
		free(id);
		cb(arg, KERR_UNKNOWN_SERVER_ERROR);
		return;
	}
	int32_t removed = 0;
	for (int32_t i = 0; i < n; i++) {
		struct group_offset_delete_entry *e = &entries[i];
		if (!empty && group_subscribed_to(g, e->topic)) {
			*e->error = KERR_GROUP_SUBSCRIBED_TO_TOPIC;
			continue;
		}
		/* A partition without a committed offset has nothing to delete:
		 * NONE all the same, as Kafka answers. */
		*e->error = KERR_NONE;
		int32_t at = group_offsets_search(&g->offsets, e->topic, e->partition);
		if (at < 0)
			continue;
		gone[removed++] = g->offsets.items[at];
		memmove(&g->offsets.items[at], &g->offsets.items[at + 1],
			(size_t)(g->offsets.count - at - 1) * sizeof *g->offsets.items);
		g->offsets.count--;
	}
	ctx->group_id = id;
	ctx->count = removed;
	ctx->cb = cb;
	ctx->arg = arg;
	if (removed > 0)
		tlog(TLOG_INFO, "group", "group=%s: %d committed offset(s) deleted, %d left", g->group_id, (int)removed,
		     (int)g->offsets.count);
	/* From here on neither `entries` nor `ctx` may be touched: the
	 * callback may run inside the store's call and free them. */
	const struct group_store_ops *ops = c->store->ops;
	if (removed > 0 && ops->delete_offsets)
		ops->delete_offsets(c->store->impl, g->group_id, gone, removed, group_offset_delete_done, ctx);
	else
		group_offset_delete_done(ctx, KERR_NONE);
	for (int32_t i = 0; i < removed; i++) {
		free(gone[i].topic);
		free(gone[i].metadata);
	}
	free(gone);
	/* Kafka's cleanupGroupMetadata: an Empty group left without offsets
	 * goes (with its metadata tombstone, after the offsets'). */
	if (removed > 0)
		group_maybe_forget(g);
}
