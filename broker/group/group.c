/* The classic group membership state machine (Kafka's GroupCoordinator and
 * GroupMetadata before KIP-848), plus ListGroups/DescribeGroups views.
 *
 * Liveness: each member has a session timer, re-armed by every JoinGroup,
 * SyncGroup, Heartbeat and OffsetCommit from it. A member waiting for a
 * JoinGroup or SyncGroup answer is kept alive (Kafka's shouldKeepAlive): the
 * rebalance timeout bounds that wait instead.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "broker/group/group_internal.h"
#include "broker/logger.h"
#include "broker/protocol/errors.h"

static void group_prepare_rebalance(struct group *g, const char *reason);
static void group_try_complete_join(struct group *g);
static void group_session_expired_cb(evutil_socket_t fd, short what, void *arg);

int64_t group_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *group_state_name(enum group_state s)
{
	switch (s) {
	case GROUP_EMPTY:
		return "Empty";
	case GROUP_PREPARING_REBALANCE:
		return "PreparingRebalance";
	case GROUP_COMPLETING_REBALANCE:
		return "CompletingRebalance";
	case GROUP_STABLE:
		return "Stable";
	case GROUP_DEAD:
		return "Dead";
	}
	return "?";
}

static struct kstr group_kstr(const char *s)
{
	struct kstr k = {s, s ? (int32_t)strlen(s) : -1};
	return k;
}

static void group_timer_arm(struct event *ev, int32_t ms)
{
	struct timeval tv;
	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

static void group_set_state(struct group *g, enum group_state s)
{
	if (g->state != s)
		tlog(TLOG_DEBUG, "group", "group=%s: %s -> %s (generation %d)", g->group_id, group_state_name(g->state),
		     group_state_name(s), g->generation_id);
	g->state = s;
	g->state_timestamp_ms = group_now_ms();
}

/* Grows a pointer array by one slot. Returns 0, or -1 on out of memory. */
static int group_array_push(void ***items, int32_t *count, int32_t *cap, void *item)
{
	if (*count == *cap) {
		int32_t ncap = *cap ? *cap * 2 : 4;
		void **n = realloc(*items, (size_t)ncap * sizeof *n);
		if (!n)
			return -1;
		*items = n;
		*cap = ncap;
	}
	(*items)[(*count)++] = item;
	return 0;
}

static void group_array_remove(void **items, int32_t *count, void *item)
{
	for (int32_t i = 0; i < *count; i++) {
		if (items[i] == item) {
			memmove(&items[i], &items[i + 1], (size_t)(*count - i - 1) * sizeof *items);
			(*count)--;
			return;
		}
	}
}

/* ---- callbacks ---- */

static void group_join_fail(group_join_cb cb, void *arg, int16_t err, const char *member_id)
{
	struct group_join_result r = {
		.error_code = err,
		.generation_id = -1,
		.leader = "",
		.member_id = member_id ? member_id : "",
	};
	cb(arg, &r);
}

static void group_sync_fail(group_sync_cb cb, void *arg, int16_t err)
{
	struct group_sync_result r = {.error_code = err};
	cb(arg, &r);
}

/* Answers a member's pending JoinGroup / SyncGroup with an error, if any. */
static void group_member_fail_join(struct group_member *m, int16_t err)
{
	if (!m->join_cb)
		return;
	group_join_cb cb = m->join_cb;
	m->join_cb = NULL;
	group_join_fail(cb, m->join_arg, err, m->member_id);
}

static void group_member_fail_sync(struct group_member *m, int16_t err)
{
	if (!m->sync_cb)
		return;
	group_sync_cb cb = m->sync_cb;
	m->sync_cb = NULL;
	group_sync_fail(cb, m->sync_arg, err);
}

/* ---- registry ---- */

struct group *group_find(struct group_coordinator *c, struct kstr group_id)
{
	if (group_id.len < 0)
		return NULL;
	for (int32_t i = 0; i < c->groups_count; i++)
		if (kstr_eq(group_id, c->groups[i]->group_id))
			return c->groups[i];
	return NULL;
}

struct group *group_create(struct group_coordinator *c, struct kstr group_id)
{
	struct group *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->coord = c;
	g->group_id = kstr_dup(group_id);
	g->join_timer = NULL;
	if (!g->group_id)
		goto err_after_alloc;
	g->state = GROUP_EMPTY;
	g->state_timestamp_ms = group_now_ms();
	if (group_array_push((void ***)&c->groups, &c->groups_count, &c->groups_cap, g))
		goto err_after_id;
	return g;

err_after_id:
	free(g->group_id);
err_after_alloc:
	free(g);
	return NULL;
}

void group_member_free(struct group_member *m)
{
	if (m->session_timer)
		event_free(m->session_timer);
	for (int32_t i = 0; i < m->protocols_count; i++) {
		free(m->protocols[i].name);
		free(m->protocols[i].metadata);
	}
	free(m->protocols);
	free(m->assignment);
	free(m->member_id);
	free(m->group_instance_id);
	free(m->client_id);
	free(m->client_host);
	free(m);
}

static void group_pending_free(struct group_pending *pm)
{
	if (pm->timer)
		event_free(pm->timer);
	free(pm->member_id);
	free(pm);
}

/* Frees the group; pending callbacks are answered with `err`. */
static void group_free(struct group *g, int16_t err)
{
	for (int32_t i = 0; i < g->members_count; i++) {
		group_member_fail_join(g->members[i], err);
		group_member_fail_sync(g->members[i], err);
		group_member_free(g->members[i]);
	}
	free(g->members);
	for (int32_t i = 0; i < g->pending_count; i++)
		group_pending_free(g->pending[i]);
	free(g->pending);
	if (g->join_timer)
		event_free(g->join_timer);
	group_offsets_free(&g->offsets);
	free(g->protocol_type);
	free(g->protocol_name);
	free(g->leader_id);
	free(g->group_id);
	free(g);
}

void group_remove(struct group *g, int16_t err)
{
	struct group_coordinator *c = g->coord;
	group_array_remove((void **)c->groups, &c->groups_count, g);
	group_free(g, err);
}

static void group_store_ignore_cb(void *arg, int16_t err);

void group_maybe_forget(struct group *g)
{
	if (g->state != GROUP_EMPTY || g->members_count || g->pending_count || g->offsets.count)
		return;
	struct group_coordinator *c = g->coord;
	if (g->persisted && c->store->ops->delete_group) {
		/* Kafka writes the tombstone when a group without offsets goes
		 * (GroupMetadataManager.cleanupGroupMetadata): a reload must not
		 * bring it back. */
		char *id = strdup(g->group_id);
		if (id)
			c->store->ops->delete_group(c->store->impl, g->group_id, group_store_ignore_cb, id);
	}
	group_remove(g, KERR_NOT_COORDINATOR);
}

int16_t group_gate(struct group_coordinator *c, struct kstr group_id)
{
	const struct group_store_ops *ops = c->store->ops;
	return ops->gate ? ops->gate(c->store->impl, group_id) : KERR_NONE;
}

struct group_member *group_member_alloc(struct group *g, char *member_id)
{
	struct group_member *m = calloc(1, sizeof *m);
	if (!m) {
		free(member_id);
		return NULL;
	}
	m->group = g;
	m->member_id = member_id;
	m->session_timer = evtimer_new(g->coord->base, group_session_expired_cb, m);
	if (!m->session_timer) {
		group_member_free(m);
		return NULL;
	}
	return m;
}

int group_member_add(struct group *g, struct group_member *m)
{
	return group_array_push((void ***)&g->members, &g->members_count, &g->members_cap, m);
}

struct group_member *group_member_find(struct group *g, struct kstr member_id)
{
	if (member_id.len <= 0)
		return NULL;
	for (int32_t i = 0; i < g->members_count; i++)
		if (kstr_eq(member_id, g->members[i]->member_id))
			return g->members[i];
	return NULL;
}

struct group_member *group_static_member(struct group *g, struct kstr instance_id)
{
	if (instance_id.len < 0)
		return NULL;
	for (int32_t i = 0; i < g->members_count; i++)
		if (g->members[i]->group_instance_id && kstr_eq(instance_id, g->members[i]->group_instance_id))
			return g->members[i];
	return NULL;
}

static struct group_pending *group_pending_find(struct group *g, struct kstr member_id)
{
	if (member_id.len <= 0)
		return NULL;
	for (int32_t i = 0; i < g->pending_count; i++)
		if (kstr_eq(member_id, g->pending[i]->member_id))
			return g->pending[i];
	return NULL;
}

/* KIP-345: a request naming an instance id held by another member id comes
 * from a fenced (replaced) instance. */
static bool group_static_fenced(struct group *g, struct kstr instance_id, struct kstr member_id)
{
	struct group_member *s = group_static_member(g, instance_id);
	return s && !kstr_eq(member_id, s->member_id);
}

static bool group_is_leader(const struct group *g, const struct group_member *m)
{
	return g->leader_id && strcmp(g->leader_id, m->member_id) == 0;
}

/* "<prefix>-<uuid v4>", Kafka's member id form. */
static char *group_new_member_id(struct kstr prefix)
{
	uint8_t u[16];
	if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u) {
		/* getrandom(2) cannot fail for 16 bytes once the pool is ready;
		 * fall back on the clock rather than refuse the member. */
		int64_t t = group_now_ms();
		for (size_t i = 0; i < sizeof u; i++)
			u[i] = (uint8_t)(t >> (8 * (i % 8))) ^ (uint8_t)(i * 37 + rand());
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	int plen = prefix.len > 0 ? prefix.len : 0;
	size_t n = (size_t)plen + 1 + 36 + 1;
	char *s = malloc(n);
	if (!s)
		return NULL;
	snprintf(s, n,
		 "%.*s-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", plen,
		 plen ? prefix.p : "", u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
	return s;
}

/* ---- liveness ---- */

static void group_remove_member_and_update(struct group *g, struct group_member *m, const char *reason);

static void group_session_expired_cb(evutil_socket_t fd, short what, void *arg)
{
	struct group_member *m = arg;
	(void)fd;
	(void)what;
	if (m->join_cb || m->sync_cb) {
		group_member_heartbeat(m);
		return;
	}
	struct group *g = m->group;
	tlog(TLOG_INFO, "group", "group=%s member=%s: session timeout (%d ms) expired, removing", g->group_id,
	     m->member_id, m->session_timeout_ms);
	group_remove_member_and_update(g, m, "session timeout");
	group_maybe_forget(g);
}

void group_member_heartbeat(struct group_member *m)
{
	group_timer_arm(m->session_timer, m->session_timeout_ms);
}

static void group_pending_expired_cb(evutil_socket_t fd, short what, void *arg)
{
	struct group_pending *pm = arg;
	struct group *g = pm->group;
	(void)fd;
	(void)what;
	tlog(TLOG_DEBUG, "group", "group=%s: pending member %s never joined, forgetting it", g->group_id,
	     pm->member_id);
	group_array_remove((void **)g->pending, &g->pending_count, pm);
	group_pending_free(pm);
	if (g->state == GROUP_PREPARING_REBALANCE)
		group_try_complete_join(g);
	group_maybe_forget(g);
}

/* ---- members ---- */

static int group_member_set_protocols(struct group_member *m, const struct group_join_params *p)
{
	struct group_member_protocol *ps = NULL;
	int32_t n = p->protocols_count > 0 ? p->protocols_count : 0;
	if (n) {
		ps = calloc((size_t)n, sizeof *ps);
		if (!ps)
			return -1;
	}
	for (int32_t i = 0; i < n; i++) {
		ps[i].name = kstr_dup(p->protocols[i].name);
		int32_t len = p->protocols[i].metadata.len > 0 ? p->protocols[i].metadata.len : 0;
		ps[i].metadata = len ? malloc((size_t)len) : NULL;
		if (!ps[i].name || (len && !ps[i].metadata)) {
			for (int32_t j = 0; j <= i; j++) {
				free(ps[j].name);
				free(ps[j].metadata);
			}
			free(ps);
			return -1;
		}
		if (len)
			memcpy(ps[i].metadata, p->protocols[i].metadata.p, (size_t)len);
		ps[i].metadata_len = len;
	}
	for (int32_t i = 0; i < m->protocols_count; i++) {
		free(m->protocols[i].name);
		free(m->protocols[i].metadata);
	}
	free(m->protocols);
	m->protocols = ps;
	m->protocols_count = n;
	m->session_timeout_ms = p->session_timeout_ms;
	m->rebalance_timeout_ms = p->rebalance_timeout_ms;
	return 0;
}

static int group_member_set_client(struct group_member *m, const struct group_join_params *p)
{
	struct kstr empty = {"", 0};
	char *cid = kstr_dup(p->client_id.len < 0 ? empty : p->client_id);
	char *host = kstr_dup(p->client_host.len < 0 ? empty : p->client_host);
	if (!cid || !host) {
		free(cid);
		free(host);
		return -1;
	}
	free(m->client_id);
	free(m->client_host);
	m->client_id = cid;
	m->client_host = host;
	return 0;
}

/* Takes ownership of member_id (also on failure). */
static struct group_member *group_member_new(struct group *g, char *member_id, const struct group_join_params *p)
{
	struct group_member *m = group_member_alloc(g, member_id);
	if (!m)
		return NULL;
	if (p->group_instance_id.len >= 0) {
		m->group_instance_id = kstr_dup(p->group_instance_id);
		if (!m->group_instance_id)
			goto err;
	}
	if (group_member_set_protocols(m, p) || group_member_set_client(m, p))
		goto err;
	return m;
err:
	group_member_free(m);
	return NULL;
}

static const struct group_member_protocol *group_member_protocol(const struct group_member *m, const char *name)
{
	if (!name)
		return NULL;
	for (int32_t i = 0; i < m->protocols_count; i++)
		if (strcmp(m->protocols[i].name, name) == 0)
			return &m->protocols[i];
	return NULL;
}

static bool group_member_supports(const struct group_member *m, struct kstr name)
{
	for (int32_t i = 0; i < m->protocols_count; i++)
		if (kstr_eq(name, m->protocols[i].name))
			return true;
	return false;
}

/* Same protocols, in the same order, with the same metadata. */
static bool group_member_matches(const struct group_member *m, const struct group_join_params *p)
{
	if (m->protocols_count != p->protocols_count)
		return false;
	for (int32_t i = 0; i < m->protocols_count; i++) {
		const struct join_group_request_protocol *q = &p->protocols[i];
		int32_t qlen = q->metadata.len > 0 ? q->metadata.len : 0;
		if (!kstr_eq(q->name, m->protocols[i].name) || qlen != m->protocols[i].metadata_len ||
		    (qlen && memcmp(q->metadata.p, m->protocols[i].metadata, (size_t)qlen) != 0))
			return false;
	}
	return true;
}

/* Kafka's supportsProtocols: the first member sets the protocol type; later
 * ones must share it and support a protocol every member supports. */
static bool group_supports_protocols(struct group *g, const struct group_join_params *p)
{
	if (g->members_count == 0)
		return p->protocol_type.len > 0 && p->protocols_count > 0;
	if (!g->protocol_type || !kstr_eq(p->protocol_type, g->protocol_type))
		return false;
	for (int32_t i = 0; i < p->protocols_count; i++) {
		bool all = true;
		for (int32_t j = 0; j < g->members_count && all; j++)
			all = group_member_supports(g->members[j], p->protocols[i].name);
		if (all)
			return true;
	}
	return false;
}

/* Kafka's selectProtocol: among the protocols every member supports, each
 * member votes for its most preferred; the most votes wins (ties: the first
 * member's preference order). */
static const char *group_select_protocol(struct group *g)
{
	if (g->members_count == 0)
		return NULL;
	const struct group_member *first = g->members[0];
	const char *best = NULL;
	int32_t best_votes = -1;
	for (int32_t i = 0; i < first->protocols_count; i++) {
		const char *cand = first->protocols[i].name;
		struct kstr k = group_kstr(cand);
		bool all = true;
		for (int32_t j = 1; j < g->members_count && all; j++)
			all = group_member_supports(g->members[j], k);
		if (!all)
			continue;
		int32_t votes = 0;
		for (int32_t j = 0; j < g->members_count; j++) {
			const struct group_member *m = g->members[j];
			/* m's first protocol that every member supports */
			for (int32_t x = 0; x < m->protocols_count; x++) {
				struct kstr mk = group_kstr(m->protocols[x].name);
				bool every = true;
				for (int32_t y = 0; y < g->members_count && every; y++)
					every = group_member_supports(g->members[y], mk);
				if (every) {
					if (strcmp(m->protocols[x].name, cand) == 0)
						votes++;
					break;
				}
			}
		}
		if (votes > best_votes) {
			best = cand;
			best_votes = votes;
		}
	}
	return best;
}

static int32_t group_rebalance_timeout(const struct group *g)
{
	int32_t t = 0;
	for (int32_t i = 0; i < g->members_count; i++)
		if (g->members[i]->rebalance_timeout_ms > t)
			t = g->members[i]->rebalance_timeout_ms;
	return t;
}

static int group_set_str(char **dst, const char *src)
{
	char *s = NULL;
	if (src) {
		s = strdup(src);
		if (!s)
			return -1;
	}
	free(*dst);
	*dst = s;
	return 0;
}

/* Removes `m` from the group and frees it; the leadership passes to the
 * first remaining member. Pending callbacks are answered with `err`. */
static void group_member_remove(struct group *g, struct group_member *m, int16_t err)
{
	group_member_fail_join(m, err);
	group_member_fail_sync(m, err);
	group_array_remove((void **)g->members, &g->members_count, m);
	if (group_is_leader(g, m))
		(void)group_set_str(&g->leader_id, g->members_count ? g->members[0]->member_id : NULL);
	group_member_free(m);
}

/* ---- persistence ---- */

static void group_store_ignore_cb(void *arg, int16_t err)
{
	char *group_id = arg;
	if (err != KERR_NONE)
		tlog(TLOG_WARN, "group", "group=%s: storing group metadata failed: error %d", group_id, err);
	free(group_id);
}

/* Hands the group's current metadata to the store; `done` gets the outcome. */
static void group_persist(struct group *g, group_store_done_cb done, void *done_arg)
{
	struct group_store_member *ms = NULL;
	if (g->members_count) {
		ms = calloc((size_t)g->members_count, sizeof *ms);
		if (!ms) {
			done(done_arg, KERR_UNKNOWN_SERVER_ERROR);
			return;
		}
	}
	for (int32_t i = 0; i < g->members_count; i++) {
		const struct group_member *m = g->members[i];
		const struct group_member_protocol *pr = group_member_protocol(m, g->protocol_name);
		ms[i].member_id = m->member_id;
		ms[i].group_instance_id = m->group_instance_id;
		ms[i].client_id = m->client_id;
		ms[i].client_host = m->client_host;
		ms[i].session_timeout_ms = m->session_timeout_ms;
		ms[i].rebalance_timeout_ms = m->rebalance_timeout_ms;
		ms[i].metadata.p = pr ? pr->metadata : NULL;
		ms[i].metadata.len = pr ? pr->metadata_len : 0;
		ms[i].assignment.p = m->assignment;
		ms[i].assignment.len = m->assignment_len;
	}
	struct group_store_group rec = {
		.group_id = g->group_id,
		.protocol_type = g->protocol_type,
		.protocol_name = g->protocol_name,
		.leader = g->leader_id,
		.generation_id = g->generation_id,
		.current_state_timestamp_ms = g->state_timestamp_ms,
		.members = ms,
		.members_count = g->members_count,
	};
	struct group_store *s = g->coord->store;
	g->persisted = true;
	s->ops->store_group(s->impl, &rec, done, done_arg);
	free(ms);
}

static void group_persist_background(struct group *g)
{
	char *id = strdup(g->group_id);
	if (!id)
		return;
	group_persist(g, group_store_ignore_cb, id);
}

/* ---- rebalance ---- */

static void group_reset_and_fail_syncs(struct group *g, int16_t err)
{
	for (int32_t i = 0; i < g->members_count; i++) {
		struct group_member *m = g->members[i];
		free(m->assignment);
		m->assignment = NULL;
		m->assignment_len = 0;
		group_member_fail_sync(m, err);
	}
}

static void group_maybe_prepare_rebalance(struct group *g, const char *reason)
{
	if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE || g->state == GROUP_EMPTY)
		group_prepare_rebalance(g, reason);
}

static void group_join_timer_cb(evutil_socket_t fd, short what, void *arg);

static void group_prepare_rebalance(struct group *g, const char *reason)
{
	struct group_coordinator *c = g->coord;
	if (g->state == GROUP_COMPLETING_REBALANCE)
		group_reset_and_fail_syncs(g, KERR_REBALANCE_IN_PROGRESS);
	if (!g->join_timer)
		g->join_timer = evtimer_new(c->base, group_join_timer_cb, g);
	int32_t timeout = group_rebalance_timeout(g);
	if (g->state == GROUP_EMPTY) {
		/* group.initial.rebalance.delay.ms: let the other members of a
		 * starting application arrive before the first generation. */
		int32_t delay = c->cfg.initial_rebalance_delay_ms;
		g->initial_delay = true;
		g->new_member_added = false;
		g->initial_remaining_ms = timeout > delay ? timeout - delay : 0;
		timeout = delay;
	} else {
		g->initial_delay = false;
	}
	tlog(TLOG_INFO, "group", "group=%s: preparing to rebalance (generation %d): %s", g->group_id, g->generation_id,
	     reason);
	group_set_state(g, GROUP_PREPARING_REBALANCE);
	if (g->join_timer)
		group_timer_arm(g->join_timer, timeout);
	/* Without a timer (out of memory) the join can only complete when every
	 * member has rejoined; try now. */
	if (!g->join_timer)
		g->initial_delay = false;
}

/* Builds the JoinGroup answer of the current generation for `m` and calls
 * cb. The leader gets every member's metadata when `with_members`. */
static void group_join_answer(struct group *g, struct group_member *m, bool with_members, bool skip_assignment,
			      group_join_cb cb, void *arg)
{
	struct group_join_member *list = NULL;
	int32_t n = 0;
	if (with_members && g->members_count) {
		list = calloc((size_t)g->members_count, sizeof *list);
		if (!list) {
			group_join_fail(cb, arg, KERR_UNKNOWN_SERVER_ERROR, m->member_id);
			return;
		}
		for (int32_t i = 0; i < g->members_count; i++) {
			const struct group_member *o = g->members[i];
			const struct group_member_protocol *pr = group_member_protocol(o, g->protocol_name);
			list[n].member_id = o->member_id;
			list[n].group_instance_id = o->group_instance_id;
			list[n].metadata.p = pr ? pr->metadata : NULL;
			list[n].metadata.len = pr ? pr->metadata_len : 0;
			n++;
		}
	}
	struct group_join_result r = {
		.error_code = KERR_NONE,
		.generation_id = g->generation_id,
		.protocol_type = g->protocol_type,
		.protocol_name = g->protocol_name,
		.leader = g->leader_id ? g->leader_id : "",
		.member_id = m->member_id,
		.skip_assignment = skip_assignment,
		.members = list,
		.members_count = n,
	};
	cb(arg, &r);
	free(list);
}

/* Kafka's onCompleteJoin: members that did not rejoin are dropped, the
 * generation advances, and every waiting member gets its answer. */
static void group_complete_join(struct group *g)
{
	if (g->join_timer)
		evtimer_del(g->join_timer);
	g->initial_delay = false;
	for (int32_t i = 0; i < g->members_count;) {
		struct group_member *m = g->members[i];
		if (m->join_cb) {
			i++;
			continue;
		}
		tlog(TLOG_INFO, "group", "group=%s member=%s: did not rejoin in time, removing", g->group_id,
		     m->member_id);
		group_member_remove(g, m, KERR_UNKNOWN_MEMBER_ID);
	}
	if (g->state == GROUP_DEAD)
		return;
	g->generation_id++;
	if (g->members_count == 0) {
		(void)group_set_str(&g->protocol_name, NULL);
		(void)group_set_str(&g->leader_id, NULL);
		group_set_state(g, GROUP_EMPTY);
		group_persist_background(g);
		tlog(TLOG_INFO, "group", "group=%s: generation %d has no member", g->group_id, g->generation_id);
		return;
	}
	if (group_set_str(&g->protocol_name, group_select_protocol(g))) {
		/* Cannot even name the protocol: answer everyone with an error;
		 * they rejoin and the group rebalances again. */
		for (int32_t i = 0; i < g->members_count; i++)
			group_member_fail_join(g->members[i], KERR_UNKNOWN_SERVER_ERROR);
		group_set_state(g, GROUP_COMPLETING_REBALANCE);
		return;
	}
	group_set_state(g, GROUP_COMPLETING_REBALANCE);
	tlog(TLOG_INFO, "group", "group=%s: generation %d with %d member(s), protocol %s, leader %s", g->group_id,
	     g->generation_id, g->members_count, g->protocol_name ? g->protocol_name : "-",
	     g->leader_id ? g->leader_id : "-");
	for (int32_t i = 0; i < g->members_count; i++) {
		struct group_member *m = g->members[i];
		group_join_cb cb = m->join_cb;
		void *arg = m->join_arg;
		m->join_cb = NULL;
		m->is_new = false;
		group_member_heartbeat(m);
		group_join_answer(g, m, group_is_leader(g, m), false, cb, arg);
	}
}

static bool group_all_joined(const struct group *g)
{
	if (g->pending_count)
		return false;
	for (int32_t i = 0; i < g->members_count; i++)
		if (!g->members[i]->join_cb)
			return false;
	return true;
}

static void group_try_complete_join(struct group *g)
{
	if (g->state == GROUP_PREPARING_REBALANCE && !g->initial_delay && group_all_joined(g))
		group_complete_join(g);
}

static void group_join_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct group *g = arg;
	(void)fd;
	(void)what;
	if (g->state != GROUP_PREPARING_REBALANCE)
		return;
	if (g->initial_delay && g->new_member_added && g->initial_remaining_ms > 0) {
		/* Members keep arriving: wait another delay, within the
		 * rebalance timeout. */
		int32_t delay = g->coord->cfg.initial_rebalance_delay_ms;
		if (delay > g->initial_remaining_ms)
			delay = g->initial_remaining_ms;
		g->initial_remaining_ms -= delay;
		g->new_member_added = false;
		group_timer_arm(g->join_timer, delay);
		return;
	}
	group_complete_join(g);
	group_maybe_forget(g);
}

/* Replaces the member's protocols and callback, then rebalances (Kafka's
 * updateMemberAndRebalance). */
static void group_update_member_and_rebalance(struct group *g, struct group_member *m,
					      const struct group_join_params *p, group_join_cb cb, void *arg)
{
	if (group_member_set_protocols(m, p) || group_member_set_client(m, p)) {
		group_join_fail(cb, arg, KERR_UNKNOWN_SERVER_ERROR, m->member_id);
		return;
	}
	/* A retried JoinGroup replaces the earlier one, which still needs its
	 * answer. */
	group_member_fail_join(m, KERR_REBALANCE_IN_PROGRESS);
	m->join_cb = cb;
	m->join_arg = arg;
	group_member_heartbeat(m);
	group_maybe_prepare_rebalance(g, "a member rejoined with new metadata");
}

/* Takes ownership of member_id. */
static void group_add_member_and_rebalance(struct group *g, char *member_id, const struct group_join_params *p,
					   group_join_cb cb, void *arg)
{
	struct group_member *m = group_member_new(g, member_id, p);
	if (!m || group_array_push((void ***)&g->members, &g->members_count, &g->members_cap, m)) {
		if (m)
			group_member_free(m);
		group_join_fail(cb, arg, KERR_UNKNOWN_SERVER_ERROR, "");
		return;
	}
	if (g->members_count == 1 && group_set_str(&g->protocol_type, NULL) == 0) {
		g->protocol_type = kstr_dup(p->protocol_type);
	}
	if (!g->leader_id)
		(void)group_set_str(&g->leader_id, m->member_id);
	m->is_new = true;
	m->join_cb = cb;
	m->join_arg = arg;
	if (g->state == GROUP_PREPARING_REBALANCE && g->generation_id == 0)
		g->new_member_added = true;
	group_member_heartbeat(m);
	tlog(TLOG_INFO, "group", "group=%s: member %s%s%s joins (client %s, host %s)", g->group_id, m->member_id,
	     m->group_instance_id ? " instance " : "", m->group_instance_id ? m->group_instance_id : "", m->client_id,
	     m->client_host);
	group_maybe_prepare_rebalance(g, "a new member joined");
}

/* A static member rejoining under a new member id completes after the store
 * persisted the replacement. */
struct group_static_ctx {
	struct group_coordinator *coord;
	char *group_id;
	char *member_id;
	int32_t generation_id;
	bool skip_assignment;
	group_join_cb cb;
	void *arg;
};

static void group_static_stored_cb(void *arg, int16_t err)
{
	struct group_static_ctx *ctx = arg;
	struct group *g = group_find(ctx->coord, group_kstr(ctx->group_id));
	struct group_member *m = g ? group_member_find(g, group_kstr(ctx->member_id)) : NULL;
	if (err != KERR_NONE)
		group_join_fail(ctx->cb, ctx->arg, err, ctx->member_id);
	else if (!m)
		group_join_fail(ctx->cb, ctx->arg, KERR_UNKNOWN_MEMBER_ID, ctx->member_id);
	else if (g->generation_id != ctx->generation_id || g->state != GROUP_STABLE)
		group_join_fail(ctx->cb, ctx->arg, KERR_REBALANCE_IN_PROGRESS, ctx->member_id);
	else
		group_join_answer(g, m, ctx->skip_assignment, ctx->skip_assignment, ctx->cb, ctx->arg);
	free(ctx->group_id);
	free(ctx->member_id);
	free(ctx);
}

/* KIP-345: a known instance id rejoins without its member id (a restarted
 * static member). It takes over the old member, assignment included; the
 * old member id is fenced. Takes ownership of new_id. */
static void group_static_replace(struct group *g, struct group_member *m, char *new_id,
				 const struct group_join_params *p, group_join_cb cb, void *arg)
{
	group_member_fail_join(m, KERR_FENCED_INSTANCE_ID);
	group_member_fail_sync(m, KERR_FENCED_INSTANCE_ID);
	bool leader = group_is_leader(g, m);
	tlog(TLOG_INFO, "group", "group=%s: static member %s rejoins, member id %s replaces %s", g->group_id,
	     m->group_instance_id, new_id, m->member_id);
	if (leader && group_set_str(&g->leader_id, new_id)) {
		free(new_id);
		group_join_fail(cb, arg, KERR_UNKNOWN_SERVER_ERROR, "");
		return;
	}
	free(m->member_id);
	m->member_id = new_id;

	switch (g->state) {
	case GROUP_STABLE:
		/* Unchanged protocols: no rebalance, the member gets the current
		 * generation and then its old assignment from SyncGroup. A leader
		 * must see the members again; only v9+ (KIP-814) can be told to
		 * skip computing the assignment, older leaders rebalance. */
		if (group_member_matches(m, p) && (!leader || p->supports_skip_assignment)) {
			struct group_static_ctx *ctx = calloc(1, sizeof *ctx);
			if (ctx) {
				ctx->group_id = strdup(g->group_id);
				ctx->member_id = strdup(m->member_id);
			}
			if (!ctx || !ctx->group_id || !ctx->member_id || group_member_set_client(m, p)) {
				if (ctx) {
					free(ctx->group_id);
					free(ctx->member_id);
					free(ctx);
				}
				group_join_fail(cb, arg, KERR_UNKNOWN_SERVER_ERROR, m->member_id);
				return;
			}
			ctx->coord = g->coord;
			ctx->generation_id = g->generation_id;
			ctx->skip_assignment = leader;
			ctx->cb = cb;
			ctx->arg = arg;
			m->session_timeout_ms = p->session_timeout_ms;
			m->rebalance_timeout_ms = p->rebalance_timeout_ms;
			group_member_heartbeat(m);
			group_persist(g, group_static_stored_cb, ctx);
			return;
		}
		group_update_member_and_rebalance(g, m, p, cb, arg);
		return;
	case GROUP_COMPLETING_REBALANCE:
	case GROUP_PREPARING_REBALANCE:
		group_update_member_and_rebalance(g, m, p, cb, arg);
		return;
	default:
		group_join_fail(cb, arg, KERR_UNKNOWN_MEMBER_ID, m->member_id);
		return;
	}
}

static bool group_full(const struct group *g)
{
	return g->members_count + g->pending_count >= g->coord->cfg.max_size;
}

static void group_join_new_member(struct group *g, const struct group_join_params *p, group_join_cb cb, void *arg)
{
	if (!group_supports_protocols(g, p)) {
		group_join_fail(cb, arg, KERR_INCONSISTENT_GROUP_PROTOCOL, "");
		return;
	}
	struct group_member *old = group_static_member(g, p->group_instance_id);
	if (!old && group_full(g)) {
		group_join_fail(cb, arg, KERR_GROUP_MAX_SIZE_REACHED, "");
		return;
	}
	/* Kafka names a member after its client id, a static one after its
	 * instance id. */
	char *id = group_new_member_id(p->group_instance_id.len >= 0 ? p->group_instance_id : p->client_id);
	if (!id) {
		group_join_fail(cb, arg, KERR_UNKNOWN_SERVER_ERROR, "");
		return;
	}
	if (old) {
		group_static_replace(g, old, id, p, cb, arg);
		return;
	}
	if (p->group_instance_id.len < 0 && p->require_known_member_id) {
		/* KIP-394: hand out the id first, so a client that times out
		 * and retries rejoins as the same member instead of leaving a
		 * ghost behind. */
		struct group_pending *pm = calloc(1, sizeof *pm);
		if (pm) {
			pm->group = g;
			pm->member_id = id;
			pm->timer = evtimer_new(g->coord->base, group_pending_expired_cb, pm);
		}
		if (!pm || !pm->timer || group_array_push((void ***)&g->pending, &g->pending_count, &g->pending_cap, pm)) {
			if (pm)
				group_pending_free(pm);
			else
				free(id);
			group_join_fail(cb, arg, KERR_UNKNOWN_SERVER_ERROR, "");
			return;
		}
		group_timer_arm(pm->timer, p->session_timeout_ms);
		group_join_fail(cb, arg, KERR_MEMBER_ID_REQUIRED, pm->member_id);
		return;
	}
	group_add_member_and_rebalance(g, id, p, cb, arg);
}

static void group_join_current_member(struct group *g, const struct group_join_params *p, group_join_cb cb,
				      void *arg)
{
	if (!group_supports_protocols(g, p)) {
		group_join_fail(cb, arg, KERR_INCONSISTENT_GROUP_PROTOCOL, "");
		return;
	}
	struct group_pending *pm = group_pending_find(g, p->member_id);
	if (pm) {
		if (p->group_instance_id.len >= 0) {
			/* Static members never get a pending id. */
			group_join_fail(cb, arg, KERR_UNKNOWN_MEMBER_ID, "");
			return;
		}
		char *id = pm->member_id;
		pm->member_id = NULL;
		group_array_remove((void **)g->pending, &g->pending_count, pm);
		group_pending_free(pm);
		group_add_member_and_rebalance(g, id, p, cb, arg);
		return;
	}
	if (group_static_fenced(g, p->group_instance_id, p->member_id)) {
		group_join_fail(cb, arg, KERR_FENCED_INSTANCE_ID, "");
		return;
	}
	struct group_member *m = group_member_find(g, p->member_id);
	if (!m) {
		group_join_fail(cb, arg, KERR_UNKNOWN_MEMBER_ID, "");
		return;
	}
	switch (g->state) {
	case GROUP_PREPARING_REBALANCE:
		group_update_member_and_rebalance(g, m, p, cb, arg);
		return;
	case GROUP_COMPLETING_REBALANCE:
		if (group_member_matches(m, p)) {
			/* It missed the JoinGroup answer: repeat it. */
			group_member_heartbeat(m);
			group_join_answer(g, m, group_is_leader(g, m), false, cb, arg);
			return;
		}
		group_update_member_and_rebalance(g, m, p, cb, arg);
		return;
	case GROUP_STABLE:
		if (group_is_leader(g, m) || !group_member_matches(m, p)) {
			/* The leader rejoins to have metadata changes (new topics,
			 * partitions) reflected: rebalance. */
			group_update_member_and_rebalance(g, m, p, cb, arg);
			return;
		}
		group_member_heartbeat(m);
		group_join_answer(g, m, false, false, cb, arg);
		return;
	default:
		group_join_fail(cb, arg, KERR_UNKNOWN_MEMBER_ID, "");
		return;
	}
}

void group_join(struct group_coordinator *c, const struct group_join_params *p, group_join_cb cb, void *arg)
{
	if (p->group_id.len <= 0) {
		group_join_fail(cb, arg, KERR_INVALID_GROUP_ID, "");
		return;
	}
	int16_t gate = group_gate(c, p->group_id);
	if (gate != KERR_NONE) {
		group_join_fail(cb, arg, gate, "");
		return;
	}
	if (p->session_timeout_ms < c->cfg.min_session_timeout_ms ||
	    p->session_timeout_ms > c->cfg.max_session_timeout_ms) {
		group_join_fail(cb, arg, KERR_INVALID_SESSION_TIMEOUT, "");
		return;
	}
	if (p->group_instance_id.len == 0) {
		/* An empty instance id is no id: Kafka's clients reject it. */
		group_join_fail(cb, arg, KERR_INVALID_REQUEST, "");
		return;
	}
	bool unknown = p->member_id.len <= 0;
	struct group *g = group_find(c, p->group_id);
	if (!g) {
		if (!unknown) {
			group_join_fail(cb, arg, KERR_UNKNOWN_MEMBER_ID, "");
			return;
		}
		g = group_create(c, p->group_id);
		if (!g) {
			group_join_fail(cb, arg, KERR_UNKNOWN_SERVER_ERROR, "");
			return;
		}
	}
	if (g->state == GROUP_DEAD) {
		group_join_fail(cb, arg, KERR_COORDINATOR_NOT_AVAILABLE, "");
		return;
	}
	if (p->reason.len > 0)
		tlog(TLOG_DEBUG, "group", "group=%s member=%.*s: joining: %.*s", g->group_id, p->member_id.len,
		     p->member_id.p, p->reason.len, p->reason.p);
	if (unknown)
		group_join_new_member(g, p, cb, arg);
	else
		group_join_current_member(g, p, cb, arg);
	group_try_complete_join(g);
	group_maybe_forget(g);
}

/* ---- SyncGroup ---- */

struct group_sync_ctx {
	struct group_coordinator *coord;
	char *group_id;
	int32_t generation_id;
};

static void group_sync_propagate(struct group *g)
{
	for (int32_t i = 0; i < g->members_count; i++) {
		struct group_member *m = g->members[i];
		if (!m->sync_cb)
			continue;
		group_sync_cb cb = m->sync_cb;
		m->sync_cb = NULL;
		struct group_sync_result r = {
			.error_code = KERR_NONE,
			.protocol_type = g->protocol_type,
			.protocol_name = g->protocol_name,
			.assignment = {m->assignment, m->assignment_len},
		};
		group_member_heartbeat(m);
		cb(m->sync_arg, &r);
	}
}

static void group_sync_stored_cb(void *arg, int16_t err)
{
	struct group_sync_ctx *ctx = arg;
	struct group *g = group_find(ctx->coord, group_kstr(ctx->group_id));
	/* Another rebalance began meanwhile: it answered the waiting members. */
	if (g && g->state == GROUP_COMPLETING_REBALANCE && g->generation_id == ctx->generation_id) {
		if (err != KERR_NONE) {
			tlog(TLOG_WARN, "group", "group=%s: storing generation %d failed: error %d", g->group_id,
			     g->generation_id, err);
			group_reset_and_fail_syncs(g, err);
			group_maybe_prepare_rebalance(g, "storing the assignment failed");
		} else {
			group_set_state(g, GROUP_STABLE);
			tlog(TLOG_INFO, "group", "group=%s: generation %d is stable", g->group_id, g->generation_id);
			group_sync_propagate(g);
		}
	}
	free(ctx->group_id);
	free(ctx);
}

/* Applies the leader's assignments; members it left out get an empty one. */
static int group_apply_assignments(struct group *g, const struct group_sync_params *p)
{
	for (int32_t i = 0; i < g->members_count; i++) {
		struct group_member *m = g->members[i];
		struct kbytes a = {NULL, 0};
		for (int32_t j = 0; j < p->assignments_count; j++)
			if (kstr_eq(p->assignments[j].member_id, m->member_id))
				a = p->assignments[j].assignment;
		uint8_t *copy = NULL;
		if (a.len > 0) {
			copy = malloc((size_t)a.len);
			if (!copy)
				return -1;
			memcpy(copy, a.p, (size_t)a.len);
		}
		free(m->assignment);
		m->assignment = copy;
		m->assignment_len = a.len > 0 ? a.len : 0;
	}
	return 0;
}

void group_sync(struct group_coordinator *c, const struct group_sync_params *p, group_sync_cb cb, void *arg)
{
	if (p->group_id.len <= 0) {
		group_sync_fail(cb, arg, KERR_INVALID_GROUP_ID);
		return;
	}
	int16_t gate = group_gate(c, p->group_id);
	if (gate != KERR_NONE) {
		group_sync_fail(cb, arg, gate);
		return;
	}
	struct group *g = group_find(c, p->group_id);
	if (!g) {
		group_sync_fail(cb, arg, KERR_UNKNOWN_MEMBER_ID);
		return;
	}
	if (g->state == GROUP_DEAD) {
		group_sync_fail(cb, arg, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	if (group_static_fenced(g, p->group_instance_id, p->member_id)) {
		group_sync_fail(cb, arg, KERR_FENCED_INSTANCE_ID);
		return;
	}
	struct group_member *m = group_member_find(g, p->member_id);
	if (!m) {
		group_sync_fail(cb, arg, KERR_UNKNOWN_MEMBER_ID);
		return;
	}
	if (p->generation_id != g->generation_id) {
		group_sync_fail(cb, arg, KERR_ILLEGAL_GENERATION);
		return;
	}
	if ((p->protocol_type.len >= 0 && !kstr_eq(p->protocol_type, g->protocol_type)) ||
	    (p->protocol_name.len >= 0 && !kstr_eq(p->protocol_name, g->protocol_name))) {
		group_sync_fail(cb, arg, KERR_INCONSISTENT_GROUP_PROTOCOL);
		return;
	}
	switch (g->state) {
	case GROUP_EMPTY:
		group_sync_fail(cb, arg, KERR_UNKNOWN_MEMBER_ID);
		return;
	case GROUP_PREPARING_REBALANCE:
		group_sync_fail(cb, arg, KERR_REBALANCE_IN_PROGRESS);
		return;
	case GROUP_COMPLETING_REBALANCE: {
		group_member_fail_sync(m, KERR_REBALANCE_IN_PROGRESS);
		m->sync_cb = cb;
		m->sync_arg = arg;
		group_member_heartbeat(m);
		if (!group_is_leader(g, m))
			return; /* followers wait for the leader's assignments */
		struct group_sync_ctx *ctx = calloc(1, sizeof *ctx);
		if (ctx)
			ctx->group_id = strdup(g->group_id);
		if (!ctx || !ctx->group_id || group_apply_assignments(g, p)) {
			if (ctx)
				free(ctx->group_id);
			free(ctx);
			group_reset_and_fail_syncs(g, KERR_UNKNOWN_SERVER_ERROR);
			group_maybe_prepare_rebalance(g, "out of memory applying the assignment");
			return;
		}
		ctx->coord = c;
		ctx->generation_id = g->generation_id;
		group_persist(g, group_sync_stored_cb, ctx);
		return;
	}
	case GROUP_STABLE: {
		/* Already decided (a follower after the leader, or a retry). */
		group_member_heartbeat(m);
		struct group_sync_result r = {
			.error_code = KERR_NONE,
			.protocol_type = g->protocol_type,
			.protocol_name = g->protocol_name,
			.assignment = {m->assignment, m->assignment_len},
		};
		cb(arg, &r);
		return;
	}
	default:
		group_sync_fail(cb, arg, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
}

/* ---- Heartbeat ---- */

int16_t group_heartbeat(struct group_coordinator *c, struct kstr group_id, int32_t generation_id,
			struct kstr member_id, struct kstr group_instance_id)
{
	if (group_id.len <= 0)
		return KERR_INVALID_GROUP_ID;
	int16_t gate = group_gate(c, group_id);
	if (gate != KERR_NONE)
		return gate;
	struct group *g = group_find(c, group_id);
	if (!g)
		return KERR_UNKNOWN_MEMBER_ID;
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	if (group_static_fenced(g, group_instance_id, member_id))
		return KERR_FENCED_INSTANCE_ID;
	struct group_member *m = group_member_find(g, member_id);
	if (!m)
		return KERR_UNKNOWN_MEMBER_ID;
	if (generation_id != g->generation_id)
		return KERR_ILLEGAL_GENERATION;
	switch (g->state) {
	case GROUP_EMPTY:
		return KERR_UNKNOWN_MEMBER_ID;
	case GROUP_PREPARING_REBALANCE:
		group_member_heartbeat(m);
		return KERR_REBALANCE_IN_PROGRESS;
	case GROUP_COMPLETING_REBALANCE:
	case GROUP_STABLE:
		/* A member may heartbeat between its JoinGroup answer and its
		 * SyncGroup: that keeps it alive too. */
		group_member_heartbeat(m);
		return KERR_NONE;
	default:
		return KERR_COORDINATOR_NOT_AVAILABLE;
	}
}

/* ---- LeaveGroup ---- */

static void group_remove_member_and_update(struct group *g, struct group_member *m, const char *reason)
{
	group_member_remove(g, m, KERR_UNKNOWN_MEMBER_ID);
	switch (g->state) {
	case GROUP_STABLE:
	case GROUP_COMPLETING_REBALANCE:
		group_maybe_prepare_rebalance(g, reason);
		group_try_complete_join(g);
		break;
	case GROUP_PREPARING_REBALANCE:
		group_try_complete_join(g);
		break;
	default:
		break;
	}
}

static int16_t group_leave_one(struct group *g, const struct leave_group_request_member *lm)
{
	struct group_member *m;
	if (lm->member_id.len <= 0) {
		/* By instance id only (an operator removing a static member). */
		m = group_static_member(g, lm->group_instance_id);
		if (!m)
			return KERR_UNKNOWN_MEMBER_ID;
	} else {
		if (group_static_fenced(g, lm->group_instance_id, lm->member_id))
			return KERR_FENCED_INSTANCE_ID;
		struct group_pending *pm = group_pending_find(g, lm->member_id);
		if (pm) {
			group_array_remove((void **)g->pending, &g->pending_count, pm);
			group_pending_free(pm);
			if (g->state == GROUP_PREPARING_REBALANCE)
				group_try_complete_join(g);
			return KERR_NONE;
		}
		m = group_member_find(g, lm->member_id);
		if (!m)
			return KERR_UNKNOWN_MEMBER_ID;
	}
	tlog(TLOG_INFO, "group", "group=%s member=%s: leaves%s%.*s", g->group_id, m->member_id,
	     lm->reason.len > 0 ? ": " : "", lm->reason.len > 0 ? lm->reason.len : 0, lm->reason.len > 0 ? lm->reason.p : "");
	group_remove_member_and_update(g, m, "a member left");
	return KERR_NONE;
}

int16_t group_leave(struct group_coordinator *c, struct kstr group_id, const struct leave_group_request_member *members,
		    int32_t n, int16_t *member_errors)
{
	if (group_id.len <= 0)
		return KERR_INVALID_GROUP_ID;
	int16_t gate = group_gate(c, group_id);
	if (gate != KERR_NONE)
		return gate;
	struct group *g = group_find(c, group_id);
	if (!g) {
		for (int32_t i = 0; i < n; i++)
			member_errors[i] = KERR_UNKNOWN_MEMBER_ID;
		return KERR_NONE;
	}
	if (g->state == GROUP_DEAD)
		return KERR_COORDINATOR_NOT_AVAILABLE;
	for (int32_t i = 0; i < n; i++)
		member_errors[i] = group_leave_one(g, &members[i]);
	group_maybe_forget(g);
	return KERR_NONE;
}

/* ---- ListGroups, DescribeGroups ---- */

static void group_summarize(const struct group *g, struct group_summary *s)
{
	memset(s, 0, sizeof *s);
	s->group_id = g->group_id;
	s->state = group_state_name(g->state);
	s->protocol_type = g->protocol_type ? g->protocol_type : "";
	s->protocol_name = (g->state == GROUP_STABLE && g->protocol_name) ? g->protocol_name : "";
}

int16_t group_describe(struct group_coordinator *c, struct kstr group_id, struct group_summary *out)
{
	memset(out, 0, sizeof *out);
	if (group_id.len < 0)
		return KERR_INVALID_GROUP_ID;
	int16_t gate = group_gate(c, group_id);
	if (gate != KERR_NONE)
		return gate;
	struct group *g = group_find(c, group_id);
	if (!g) {
		out->group_id = NULL;
		out->state = group_state_name(GROUP_DEAD);
		out->protocol_type = "";
		out->protocol_name = "";
		return KERR_NONE;
	}
	group_summarize(g, out);
	if (g->members_count == 0)
		return KERR_NONE;
	out->members = calloc((size_t)g->members_count, sizeof *out->members);
	if (!out->members)
		return KERR_UNKNOWN_SERVER_ERROR;
	out->members_count = g->members_count;
	bool stable = g->state == GROUP_STABLE;
	for (int32_t i = 0; i < g->members_count; i++) {
		const struct group_member *m = g->members[i];
		struct group_member_summary *ms = &out->members[i];
		ms->member_id = m->member_id;
		ms->group_instance_id = m->group_instance_id;
		ms->client_id = m->client_id;
		ms->client_host = m->client_host;
		if (stable) {
			/* Metadata and assignment only mean something once stable. */
			const struct group_member_protocol *pr = group_member_protocol(m, g->protocol_name);
			ms->metadata.p = pr ? pr->metadata : NULL;
			ms->metadata.len = pr ? pr->metadata_len : 0;
			ms->assignment.p = m->assignment;
			ms->assignment.len = m->assignment_len;
		}
	}
	return KERR_NONE;
}

void group_summary_free(struct group_summary *s)
{
	free(s->members);
	s->members = NULL;
	s->members_count = 0;
}

int group_list(struct group_coordinator *c, struct group_summary **out, int32_t *n)
{
	*out = NULL;
	*n = 0;
	if (c->groups_count == 0)
		return 0;
	struct group_summary *s = calloc((size_t)c->groups_count, sizeof *s);
	if (!s)
		return -1;
	int32_t k = 0;
	for (int32_t i = 0; i < c->groups_count; i++) {
		/* Groups of a partition still loading are not listed yet. */
		const char *id = c->groups[i]->group_id;
		if (group_gate(c, (struct kstr){id, (int32_t)strlen(id)}) == KERR_NONE)
			group_summarize(c->groups[i], &s[k++]);
	}
	*out = s;
	*n = k;
	return 0;
}

/* ---- the coordinator ---- */

void group_config_defaults(struct group_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->node_id = 0;
	cfg->host = "localhost";
	cfg->port = 9092;
	cfg->min_session_timeout_ms = 6000;
	cfg->max_session_timeout_ms = 1800000;
	cfg->initial_rebalance_delay_ms = 3000;
	cfg->max_size = INT32_MAX;
	cfg->offset_metadata_max_bytes = 4096;
	cfg->store = NULL;
}

struct group_coordinator *group_coordinator_new(struct event_base *base, const struct group_config *cfg)
{
	struct group_coordinator *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->base = base;
	c->cfg = *cfg;
	c->host_copy = strdup(cfg->host ? cfg->host : "");
	if (!c->host_copy) {
		free(c);
		return NULL;
	}
	c->cfg.host = c->host_copy;
	c->store = cfg->store ? cfg->store : group_store_noop();
	return c;
}

void group_coordinator_set_store(struct group_coordinator *c, struct group_store *store)
{
	c->store = store ? store : group_store_noop();
}

struct group_store *group_coordinator_store(const struct group_coordinator *c)
{
	return c->store;
}

const struct group_config *group_coordinator_config(const struct group_coordinator *c)
{
	return &c->cfg;
}

int group_coordinator_set_endpoint(struct group_coordinator *c, int32_t node_id, const char *host, int32_t port)
{
	char *h = strdup(host ? host : "");
	if (!h)
		return -1;
	free(c->host_copy);
	c->host_copy = h;
	c->cfg.host = h;
	c->cfg.node_id = node_id;
	c->cfg.port = port;
	return 0;
}

void group_coordinator_free(struct group_coordinator *c)
{
	if (!c)
		return;
	/* Groups first: their waiting members are answered; then the store,
	 * whose pending writes complete and find no group left. */
	for (int32_t i = 0; i < c->groups_count; i++)
		group_free(c->groups[i], KERR_NOT_COORDINATOR);
	c->groups_count = 0;
	if (c->store->ops->free)
		c->store->ops->free(c->store->impl);
	c->store = group_store_noop();
	free(c->groups);
	free(c->host_copy);
	free(c);
}
