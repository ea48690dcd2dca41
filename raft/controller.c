/* controller: the active controller's decisions, free of I/O (see controller.h). */
#include "raft/controller.h"

#include <errno.h>
#include <inttypes.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/logger.h"
#include "broker/protocol/errors.h"
#include "raft/election.h"
#include "raft/placement.h"
#include "raft/record_batch.h"

#define CONTROLLER_LOG "controller"
#define CONTROLLER_UNCLEAN_KEY "unclean.leader.election.enable"
#define CONTROLLER_ARENA_BLOCK 4096

/* Memory the records of one proposal point into. */
struct controller_arena {
	struct controller_arena *next;
	size_t used, cap; /* bytes of data[] */
	alignas(max_align_t) unsigned char data[];
};

struct controller_proposal {
	struct controller_proposal *prev, *next; /* outstanding proposals, oldest first */
	uint64_t generation;                      /* the activation that made it */
	struct metadata_record *records;          /* [n], pointers into arena */
	size_t n, cap;
	struct controller_arena *arena;
	struct metadata_image *view; /* owned: the view with these records applied */
};

/* What the controller remembers of a broker, in memory only. */
struct controller_session {
	int32_t id;
	int64_t epoch;         /* the registration the session belongs to */
	int64_t deadline_ms;   /* fenced when now passes it */
	bool index_known;      /* registration_index is valid */
	uint64_t registration_index;
	/* The metadata offset its last heartbeat reported (-1: none yet). */
	int64_t metadata_offset;
	/* Controlled shutdown (KIP-631): the broker asked to shut down and this
	 * controller fenced it, moving its leaderships; shutdown_index is the
	 * index that proposal committed at (KRaft's controlledShutdownOffset). */
	bool shutting_down;
	bool shutdown_committed;
	bool shutdown_granted; /* said so once (logs) */
	uint64_t shutdown_index;
};

struct controller {
	struct controller_config cfg;
	bool active;
	uint64_t generation;            /* bumped by every activation and resignation */
	struct metadata_image *view;    /* owned; NULL when inactive */
	uint64_t committed_index;       /* highest index known committed */
	struct controller_session *sessions; /* [n_sessions], by id */
	size_t n_sessions, cap_sessions;
	struct controller_proposal *head, *tail; /* outstanding, all generations */
	int64_t balance_due_ms;         /* next preferred-leader check; INT64_MAX off */
	uint32_t placement_start;       /* rotates per placed topic */
	uint64_t rng;                   /* xorshift64* state, never 0 */
};

/* ---- arena and proposals ---------------------------------------------------- */

static void *controller_alloc(struct controller_proposal *p, size_t size)
{
	size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (size == 0)
		size = alignof(max_align_t);
	struct controller_arena *a = p->arena;
	if (a == NULL || a->cap - a->used < size) {
		size_t cap = size > CONTROLLER_ARENA_BLOCK ? size : CONTROLLER_ARENA_BLOCK;
		a = malloc(sizeof *a + cap);
		if (a == NULL)
			return NULL;
		a->used = 0;
		a->cap = cap;
		a->next = p->arena;
		p->arena = a;
	}
	void *r = a->data + a->used;
	a->used += size;
	return r;
}

static const char *controller_strdup(struct controller_proposal *p, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = controller_alloc(p, n);
	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

static const int32_t *controller_ids(struct controller_proposal *p, const int32_t *ids, size_t n)
{
	int32_t *d = controller_alloc(p, n * sizeof *d);
	if (d != NULL && n > 0)
		memcpy(d, ids, n * sizeof *d);
	return d;
}

static void controller_proposal_free(struct controller_proposal *p)
{
	while (p->arena != NULL) {
		struct controller_arena *next = p->arena->next;
		free(p->arena);
		p->arena = next;
	}
	free(p->records);
	image_unref(p->view);
	free(p);
}

static struct controller_proposal *controller_begin(struct controller *ctl)
{
	struct controller_proposal *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->generation = ctl->generation;
	p->view = image_ref(ctl->view);
	return p;
}

/* Appends `rec` (its pointers must be into p's arena or static) and applies
 * it to p's view. */
static int controller_add(struct controller_proposal *p, const struct metadata_record *rec)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		struct metadata_record *r = realloc(p->records, cap * sizeof *r);
		if (r == NULL)
			return -ENOMEM;
		p->records = r;
		p->cap = cap;
	}
	struct metadata_image *next;
	int rc = image_apply(p->view, rec, &next);
	if (rc != 0)
		return rc;
	image_unref(p->view);
	p->view = next;
	p->records[p->n++] = *rec;
	return 0;
}

/* Ends a handler: on success with records, `p` becomes outstanding and the
 * view moves to its; otherwise it is dropped. Returns rc. */
static int controller_finish(struct controller *ctl, struct controller_proposal *p, int rc,
			     struct controller_proposal **out)
{
	*out = NULL;
	if (p == NULL)
		return rc;
	if (rc != 0 || p->n == 0) {
		controller_proposal_free(p);
		return rc;
	}
	image_unref(ctl->view);
	ctl->view = image_ref(p->view);
	p->prev = ctl->tail;
	if (ctl->tail != NULL)
		ctl->tail->next = p;
	else
		ctl->head = p;
	ctl->tail = p;
	*out = p;
	return 0;
}

const struct metadata_record *controller_proposal_records(const struct controller_proposal *p, size_t *n)
{
	*n = p->n;
	return p->records;
}

int controller_proposal_encoded_size(const struct controller_proposal *p, size_t *len)
{
	return record_batch_encoded_size(p->records, p->n, len);
}

int controller_proposal_encode_into(const struct controller_proposal *p, uint8_t *buf, size_t len)
{
	return record_batch_encode_into(p->records, p->n, buf, len);
}

/* ---- lifetime and leadership -------------------------------------------------- */

struct controller *controller_new(const struct controller_config *cfg)
{
	if (cfg == NULL || cfg->session_timeout_ms <= 0)
		return NULL;
	struct controller *ctl = calloc(1, sizeof *ctl);
	if (ctl == NULL)
		return NULL;
	ctl->cfg = *cfg;
	ctl->rng = cfg->seed != 0 ? cfg->seed : 0x9e3779b97f4a7c15ull;
	return ctl;
}

void controller_deactivate(struct controller *ctl)
{
	if (!ctl->active)
		return;
	ctl->active = false;
	ctl->generation++;
	image_unref(ctl->view);
	ctl->view = NULL;
	ctl->n_sessions = 0;
}

void controller_free(struct controller *ctl)
{
	if (ctl == NULL)
		return;
	controller_deactivate(ctl);
	while (ctl->head != NULL) {
		struct controller_proposal *next = ctl->head->next;
		controller_proposal_free(ctl->head);
		ctl->head = next;
	}
	free(ctl->sessions);
	free(ctl);
}

bool controller_active(const struct controller *ctl)
{
	return ctl->active;
}

const struct metadata_image *controller_view(const struct controller *ctl)
{
	return ctl->view;
}

static struct controller_session *controller_session(struct controller *ctl, int32_t id)
{
	for (size_t i = 0; i < ctl->n_sessions; i++)
		if (ctl->sessions[i].id == id)
			return &ctl->sessions[i];
	return NULL;
}

/* The session of `id`, created when missing (kept sorted by id). */
static struct controller_session *controller_session_get(struct controller *ctl, int32_t id)
{
	struct controller_session *s = controller_session(ctl, id);
	if (s != NULL)
		return s;
	if (ctl->n_sessions == ctl->cap_sessions) {
		size_t cap = ctl->cap_sessions ? 2 * ctl->cap_sessions : 8;
		struct controller_session *n = realloc(ctl->sessions, cap * sizeof *n);
		if (n == NULL)
			return NULL;
		ctl->sessions = n;
		ctl->cap_sessions = cap;
	}
	size_t at = 0;
	while (at < ctl->n_sessions && ctl->sessions[at].id < id)
		at++;
	memmove(&ctl->sessions[at + 1], &ctl->sessions[at], (ctl->n_sessions - at) * sizeof *s);
	ctl->n_sessions++;
	s = &ctl->sessions[at];
	memset(s, 0, sizeof *s);
	s->id = id;
	s->metadata_offset = -1;
	return s;
}

struct controller_activation {
	struct controller *ctl;
	int64_t now_ms;
	uint64_t index;
};

static int controller_activate_broker_cb(const struct image_broker *b, void *arg)
{
	struct controller_activation *a = arg;
	struct controller_session *s = controller_session_get(a->ctl, b->id);
	if (s == NULL)
		return -ENOMEM;
	s->epoch = b->epoch;
	s->deadline_ms = a->now_ms + a->ctl->cfg.session_timeout_ms;
	s->index_known = true;
	s->registration_index = a->index;
	return 0;
}

int controller_activate(struct controller *ctl, const struct metadata_image *committed, int64_t now_ms)
{
	controller_deactivate(ctl);
	ctl->generation++;
	ctl->view = image_ref(committed);
	ctl->committed_index = image_last_index(committed);
	ctl->n_sessions = 0;
	/* A fresh session for every registered broker, starting now. */
	struct controller_activation a = {ctl, now_ms, ctl->committed_index};
	int rc = image_foreach_broker(committed, controller_activate_broker_cb, &a);
	if (rc != 0) {
		image_unref(ctl->view);
		ctl->view = NULL;
		ctl->n_sessions = 0;
		return -ENOMEM;
	}
	ctl->active = true;
	ctl->balance_due_ms = ctl->cfg.leader_balance_interval_ms > 0 ? now_ms + ctl->cfg.leader_balance_interval_ms
								       : INT64_MAX;
	tlog(TLOG_INFO, CONTROLLER_LOG, "active at index %" PRIu64 ": %zu brokers, %zu topics, sessions start now",
	     ctl->committed_index, image_broker_count(committed), image_topic_count(committed));
	return 0;
}

void controller_shorten_session(struct controller *ctl, int32_t id, int64_t deadline_ms)
{
	struct controller_session *s = ctl->active ? controller_session(ctl, id) : NULL;
	if (s != NULL && deadline_ms < s->deadline_ms)
		s->deadline_ms = deadline_ms;
}

static void controller_shutdown_committed(struct controller *ctl, const struct controller_proposal *p, uint64_t index);

void controller_proposal_done(struct controller *ctl, struct controller_proposal *p, int status, uint64_t index)
{
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		ctl->head = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	else
		ctl->tail = p->prev;
	if (ctl->active && p->generation == ctl->generation) {
		if (status == 0) {
			if (index > ctl->committed_index)
				ctl->committed_index = index;
			for (size_t i = 0; i < p->n; i++) {
				const struct metadata_record *r = &p->records[i];
				if (r->type != METADATA_REGISTER_BROKER)
					continue;
				struct controller_session *s = controller_session(ctl, r->register_broker.broker_id);
				if (s != NULL && s->epoch == r->register_broker.broker_epoch) {
					s->index_known = true;
					s->registration_index = index;
				}
			}
			controller_shutdown_committed(ctl, p, index);
		} else {
			tlog(TLOG_WARN, CONTROLLER_LOG, "proposal of %zu records failed (%d): resigning", p->n, status);
			controller_deactivate(ctl);
		}
	}
	controller_proposal_free(p);
}

/* ---- elections ------------------------------------------------------------------- */

static bool controller_live(int32_t id, void *arg)
{
	const struct image_broker *b = image_broker(arg, id);
	return b != NULL && !b->fenced;
}

static bool controller_contains(const struct metadata_id_list *l, int32_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ids[i] == id)
			return true;
	return false;
}

static bool controller_unclean_allowed(const struct metadata_image *img, const char *topic)
{
	const char *v = image_config(img, METADATA_RESOURCE_TOPIC, topic, CONTROLLER_UNCLEAN_KEY);
	if (v == NULL)
		v = image_config(img, METADATA_RESOURCE_BROKER, "", CONTROLLER_UNCLEAN_KEY);
	return v != NULL && strcmp(v, "true") == 0;
}

struct controller_elect {
	struct controller_proposal *p;
	int32_t broker; /* partitions it is in the ISR of or leads, and offline ones */
	int32_t *isr;   /* scratch */
	size_t isr_cap;
};

static int controller_elect_partition_cb(const struct image_topic *t, const struct image_partition *old, void *arg)
{
	struct controller_elect *e = arg;
	if (old->leader != METADATA_NO_LEADER && old->leader != e->broker && !controller_contains(&old->isr, e->broker))
		return 0;
	/* The partition as of the proposal's view (the snapshot we iterate is
	 * older only by this loop's own changes, which touch other partitions). */
	const struct image_partition *cur = image_partition(e->p->view, t->id, old->partition_id);
	if (cur == NULL)
		return 0;
	if (e->isr_cap < cur->isr.n + 1) {
		int32_t *n = realloc(e->isr, (cur->isr.n + 1) * sizeof *n);
		if (n == NULL)
			return -ENOMEM;
		e->isr = n;
		e->isr_cap = cur->isr.n + 1;
	}
	struct election_outcome o;
	election_decide(cur, controller_unclean_allowed(e->p->view, t->name), controller_live, e->p->view, e->isr, &o);
	if (!o.isr_changed && !o.leader_changed)
		return 0;
	struct metadata_record r = {.type = METADATA_PARTITION_CHANGE};
	struct metadata_partition_change *c = &r.partition_change;
	memcpy(c->topic_id, t->id, 16);
	c->partition_id = cur->partition_id;
	c->leader = o.leader_changed ? o.leader : METADATA_LEADER_UNCHANGED;
	if (o.isr_changed) {
		c->has_isr = true;
		c->isr.ids = controller_ids(e->p, e->isr, o.n_isr);
		c->isr.n = o.n_isr;
		if (c->isr.ids == NULL)
			return -ENOMEM;
	}
	if (o.leader_changed)
		tlog(TLOG_INFO, CONTROLLER_LOG, "%s-%" PRId32 ": leader %" PRId32 " -> %" PRId32 "%s", t->name,
		     cur->partition_id, cur->leader, o.leader,
		     o.unclean ? " (unclean)" : o.leader == METADATA_NO_LEADER ? " (offline)" : "");
	return controller_add(e->p, &r);
}

static int controller_elect_topic_cb(const struct image_topic *t, void *arg)
{
	return image_foreach_partition(t, controller_elect_partition_cb, arg);
}

/* Re-elects every partition `broker` leads or is in the ISR of, and every
 * offline one, against p's view. */
static int controller_elect(struct controller_proposal *p, int32_t broker)
{
	struct metadata_image *snap = image_ref(p->view);
	struct controller_elect e = {.p = p, .broker = broker};
	int rc = image_foreach_topic(snap, controller_elect_topic_cb, &e);
	free(e.isr);
	image_unref(snap);
	return rc;
}

static int controller_fence(struct controller_proposal *p, const struct image_broker *b, const char *why)
{
	struct metadata_record r = {.type = METADATA_FENCE_BROKER};
	r.fence_broker = (struct metadata_broker_epoch){.id = b->id, .epoch = b->epoch};
	int32_t id = b->id; /* b dies with the view the add replaces */
	tlog(TLOG_INFO, CONTROLLER_LOG, "fencing broker %" PRId32 " epoch %" PRId64 ": %s", id, b->epoch, why);
	int rc = controller_add(p, &r);
	return rc != 0 ? rc : controller_elect(p, id);
}

static int controller_unfence(struct controller_proposal *p, const struct image_broker *b)
{
	struct metadata_record r = {.type = METADATA_UNFENCE_BROKER};
	r.unfence_broker = (struct metadata_broker_epoch){.id = b->id, .epoch = b->epoch};
	int32_t id = b->id;
	tlog(TLOG_INFO, CONTROLLER_LOG, "unfencing broker %" PRId32 " epoch %" PRId64, id, b->epoch);
	int rc = controller_add(p, &r);
	return rc != 0 ? rc : controller_elect(p, id);
}

/* ---- brokers ------------------------------------------------------------------------ */

static int controller_max_epoch_cb(const struct image_broker *b, void *arg)
{
	int64_t *max = arg;
	if (b->epoch > *max)
		*max = b->epoch;
	return 0;
}

int controller_register_broker(struct controller *ctl, const struct controller_registration *req, int64_t now_ms,
			       struct controller_registration_reply *reply, struct controller_proposal **out)
{
	*out = NULL;
	reply->broker_epoch = -1;
	if (!ctl->active) {
		reply->error_code = KERR_NOT_CONTROLLER;
		return 0;
	}
	if (req->broker_id < 0 || req->n_endpoints > RECORDS_MAX_ENDPOINTS) {
		reply->error_code = KERR_INVALID_REQUEST;
		return 0;
	}
	const struct image_broker *old = image_broker(ctl->view, req->broker_id);
	struct controller_session *s = controller_session(ctl, req->broker_id);
	if (old != NULL && !old->fenced && memcmp(old->incarnation_id, req->incarnation_id, 16) != 0 && s != NULL &&
	    s->deadline_ms > now_ms) {
		reply->error_code = KERR_DUPLICATE_BROKER_REGISTRATION;
		return 0;
	}
	int64_t epoch = ctl->committed_index > INT64_MAX - 1 ? INT64_MAX - 1 : (int64_t)ctl->committed_index;
	image_foreach_broker(ctl->view, controller_max_epoch_cb, &epoch);
	epoch++;

	s = controller_session_get(ctl, req->broker_id);
	struct controller_proposal *p = s != NULL ? controller_begin(ctl) : NULL;
	if (p == NULL)
		return -ENOMEM;
	int rc = -ENOMEM;
	struct metadata_endpoint *eps = controller_alloc(p, req->n_endpoints * sizeof *eps);
	if (eps == NULL)
		goto out;
	for (size_t i = 0; i < req->n_endpoints; i++) {
		eps[i] = req->endpoints[i];
		eps[i].name = controller_strdup(p, req->endpoints[i].name);
		eps[i].host = controller_strdup(p, req->endpoints[i].host);
		if (eps[i].name == NULL || eps[i].host == NULL)
			goto out;
	}
	struct metadata_record r = {.type = METADATA_REGISTER_BROKER};
	struct metadata_register_broker *rb = &r.register_broker;
	rb->broker_id = req->broker_id;
	memcpy(rb->incarnation_id, req->incarnation_id, 16);
	rb->broker_epoch = epoch;
	rb->endpoints = eps;
	rb->n_endpoints = req->n_endpoints;
	rb->rack = controller_strdup(p, req->rack);
	rb->fenced = true;
	if (req->rack != NULL && rb->rack == NULL)
		goto out;
	rc = controller_add(p, &r);
	/* A previous incarnation that was unfenced is fenced by this record:
	 * its leaderships move now. */
	if (rc == 0 && old != NULL && !old->fenced)
		rc = controller_elect(p, req->broker_id);
out:
	rc = controller_finish(ctl, p, rc, out);
	if (rc != 0)
		return rc;
	s->epoch = epoch;
	s->deadline_ms = now_ms + ctl->cfg.session_timeout_ms;
	s->index_known = false;
	s->metadata_offset = -1; /* a new incarnation */
	s->shutting_down = s->shutdown_committed = s->shutdown_granted = false;
	reply->error_code = KERR_NONE;
	reply->broker_epoch = epoch;
	tlog(TLOG_INFO, CONTROLLER_LOG, "registering broker %" PRId32 " epoch %" PRId64 "%s%s", req->broker_id, epoch,
	     req->rack ? " rack " : "", req->rack ? req->rack : "");
	return 0;
}

/* ---- controlled shutdown ------------------------------------------------------------ */

/* KIP-631's controlled shutdown, after KRaft's BrokerHeartbeatManager
 * (calculateNextBrokerState) and ReplicationControlManager
 * (handleBrokerInControlledShutdown): the first heartbeat with want_shut_down
 * takes the broker out of every ISR but its last member and elects new
 * leaders for what it led; the broker may go (should_shut_down) once that
 * change committed and every active broker - unfenced, not shutting down -
 * reported a metadata offset at or past it (KRaft's lowestActiveOffset >=
 * controlledShutdownOffset), so the new leaders already serve when it stops.
 * A broker that leads nothing may go as soon as the change commits (KRaft's
 * "immediate shutdown"). KRaft keeps the broker unfenced but "in controlled
 * shutdown" meanwhile, which every election, placement and ISR check treats
 * as not live; fencing it at once is the same for all of them without a
 * separate replicated state. */

static int controller_count_led_cb(const struct image_topic *t, const struct image_partition *part, void *arg)
{
	(void)t;
	size_t *c = arg;
	if (part->leader == (int32_t)c[0])
		c[1]++;
	return 0;
}

static int controller_count_topic_cb(const struct image_topic *t, void *arg)
{
	return image_foreach_partition(t, controller_count_led_cb, arg);
}

/* Partitions `id` leads in `view`. */
static size_t controller_leaderships(const struct metadata_image *view, int32_t id)
{
	size_t c[2] = {(size_t)(uint32_t)id, 0};
	image_foreach_topic(view, controller_count_topic_cb, c);
	return c[1];
}

/* The lowest metadata offset reported by an active broker (INT64_MAX when
 * there is none; -1 while one has not heartbeated this controller yet). */
static int64_t controller_lowest_active_offset(const struct controller *ctl)
{
	int64_t lowest = INT64_MAX;
	for (size_t i = 0; i < ctl->n_sessions; i++) {
		const struct controller_session *s = &ctl->sessions[i];
		const struct image_broker *b = image_broker(ctl->view, s->id);
		if (b == NULL || b->fenced || b->epoch != s->epoch)
			continue;
		if (s->metadata_offset < lowest)
			lowest = s->metadata_offset;
	}
	return lowest;
}

/* The proposal `p` committed at `index`: a controlled shutdown it carries
 * now waits for the active brokers to apply it. */
static void controller_shutdown_committed(struct controller *ctl, const struct controller_proposal *p, uint64_t index)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct metadata_record *r = &p->records[i];
		if (r->type != METADATA_FENCE_BROKER)
			continue;
		struct controller_session *s = controller_session(ctl, r->fence_broker.id);
		if (s != NULL && s->shutting_down && !s->shutdown_committed && s->epoch == r->fence_broker.epoch) {
			s->shutdown_committed = true;
			s->shutdown_index = index;
		}
	}
}

/* A heartbeat with want_shut_down from `b` (session `s`): *p gets the
 * proposal that starts the shutdown, *should whether the broker may stop. */
static int controller_shutdown(struct controller *ctl, struct controller_session *s, const struct image_broker *b,
			       int64_t offset, struct controller_proposal **p, bool *should)
{
	*should = false;
	if (!b->fenced) {
		size_t led = controller_leaderships(ctl->view, b->id);
		if ((*p = controller_begin(ctl)) == NULL)
			return -ENOMEM;
		s->shutting_down = true;
		s->shutdown_committed = s->shutdown_granted = false;
		char why[96];
		snprintf(why, sizeof why, "controlled shutdown, moving %zu leadership(s)", led);
		int rc = controller_fence(*p, b, why);
		/* The reply goes out once the proposal committed. */
		*should = led == 0;
		s->shutdown_granted = *should;
		return rc;
	}
	if (!s->shutting_down) {
		/* Fenced before it asked (silence, or under an earlier
		 * controller): it leads nothing, it may go now. */
		*should = true;
		return 0;
	}
	if (s->shutdown_granted) {
		*should = true; /* said once, it stays said */
		return 0;
	}
	if (!s->shutdown_committed)
		return 0; /* the leader moves have not committed yet */
	/* The broker itself must have applied the move too (beyond KRaft): it
	 * then answers NOT_LEADER_OR_FOLLOWER, which sends clients to the new
	 * leaders, instead of vanishing under requests it still parks. */
	int64_t lowest = controller_lowest_active_offset(ctl);
	if (offset < lowest)
		lowest = offset;
	if (lowest < 0 || (uint64_t)lowest < s->shutdown_index)
		return 0;
	*should = true;
	if (!s->shutdown_granted) {
		s->shutdown_granted = true;
		tlog(TLOG_INFO, CONTROLLER_LOG,
		     "broker %" PRId32 " may shut down: it and every active broker applied index %" PRIu64
		     " (its leaderships moved)",
		     b->id, s->shutdown_index);
	}
	return 0;
}

int controller_heartbeat(struct controller *ctl, const struct controller_heartbeat *req, int64_t now_ms,
			 struct controller_heartbeat_reply *reply, struct controller_proposal **out)
{
	*out = NULL;
	memset(reply, 0, sizeof *reply);
	reply->is_fenced = true;
	if (!ctl->active) {
		reply->error_code = KERR_NOT_CONTROLLER;
		return 0;
	}
	const struct image_broker *b = image_broker(ctl->view, req->broker_id);
	if (b == NULL) {
		reply->error_code = KERR_BROKER_ID_NOT_REGISTERED;
		return 0;
	}
	if (b->epoch != req->broker_epoch) {
		reply->error_code = KERR_STALE_BROKER_EPOCH;
		return 0;
	}
	struct controller_session *s = controller_session_get(ctl, req->broker_id);
	if (s == NULL)
		return -ENOMEM;
	if (s->epoch != b->epoch) { /* defensive: a session always follows the view */
		s->epoch = b->epoch;
		s->index_known = false;
	}
	s->deadline_ms = now_ms + ctl->cfg.session_timeout_ms;
	s->metadata_offset = req->current_metadata_offset;
	reply->is_caught_up = s->index_known && req->current_metadata_offset >= 0 &&
			      (uint64_t)req->current_metadata_offset >= s->registration_index;
	struct controller_proposal *p = NULL;
	int rc = 0;
	bool fenced = b->fenced;
	bool should = false;
	if (req->want_shut_down) {
		rc = controller_shutdown(ctl, s, b, req->current_metadata_offset, &p, &should);
		fenced = true;
	} else if (req->want_fence && !b->fenced) {
		p = controller_begin(ctl);
		rc = p == NULL ? -ENOMEM : controller_fence(p, b, "asked to");
		fenced = true;
	} else if (!req->want_fence && b->fenced && reply->is_caught_up) {
		p = controller_begin(ctl);
		rc = p == NULL ? -ENOMEM : controller_unfence(p, b);
		fenced = false;
	}
	rc = controller_finish(ctl, p, rc, out);
	if (rc != 0)
		return rc;
	reply->is_fenced = fenced;
	reply->should_shut_down = should;
	return 0;
}

/* ---- preferred leaders ----------------------------------------------------------- */

struct controller_balance {
	struct controller *ctl;
	struct controller_proposal **p; /* begun on the first election */
	size_t n;
};

static int controller_balance_partition_cb(const struct image_topic *t, const struct image_partition *old, void *arg)
{
	struct controller_balance *bl = arg;
	if (bl->n >= CONTROLLER_MAX_BALANCE || old->replicas.n == 0 || old->leader == old->replicas.ids[0])
		return 0;
	const struct metadata_image *view = *bl->p != NULL ? (*bl->p)->view : bl->ctl->view;
	const struct image_partition *cur = image_partition(view, t->id, old->partition_id);
	if (cur == NULL || cur->replicas.n == 0)
		return 0;
	int32_t preferred = cur->replicas.ids[0];
	if (cur->leader == preferred || !controller_contains(&cur->isr, preferred) ||
	    !controller_live(preferred, (void *)view))
		return 0;
	if (*bl->p == NULL && (*bl->p = controller_begin(bl->ctl)) == NULL)
		return -ENOMEM;
	struct metadata_record r = {.type = METADATA_PARTITION_CHANGE};
	memcpy(r.partition_change.topic_id, t->id, 16);
	r.partition_change.partition_id = cur->partition_id;
	r.partition_change.leader = preferred;
	tlog(TLOG_INFO, CONTROLLER_LOG, "%s-%" PRId32 ": leader %" PRId32 " -> %" PRId32 " (preferred replica)", t->name,
	     cur->partition_id, cur->leader, preferred);
	bl->n++;
	return controller_add(*bl->p, &r);
}

static int controller_balance_topic_cb(const struct image_topic *t, void *arg)
{
	return image_foreach_partition(t, controller_balance_partition_cb, arg);
}

/* Adds the preferred-leader elections due to *p (begun when needed). */
static int controller_balance(struct controller *ctl, struct controller_proposal **p)
{
	struct metadata_image *snap = image_ref(*p != NULL ? (*p)->view : ctl->view);
	struct controller_balance bl = {.ctl = ctl, .p = p};
	int rc = image_foreach_topic(snap, controller_balance_topic_cb, &bl);
	image_unref(snap);
	return rc;
}

int controller_tick(struct controller *ctl, int64_t now_ms, struct controller_proposal **out)
{
	*out = NULL;
	if (!ctl->active)
		return 0;
	struct controller_proposal *p = NULL;
	int rc = 0;
	for (size_t i = 0; i < ctl->n_sessions && rc == 0; i++) {
		struct controller_session *s = &ctl->sessions[i];
		if (s->deadline_ms > now_ms)
			continue;
		const struct image_broker *b = image_broker(p != NULL ? p->view : ctl->view, s->id);
		if (b == NULL || b->fenced)
			continue;
		if (p == NULL && (p = controller_begin(ctl)) == NULL)
			return -ENOMEM;
		char why[64];
		snprintf(why, sizeof why, "no heartbeat for %" PRId64 " ms", now_ms - s->deadline_ms +
			 ctl->cfg.session_timeout_ms);
		rc = controller_fence(p, b, why);
	}
	if (rc == 0 && now_ms >= ctl->balance_due_ms) {
		ctl->balance_due_ms = now_ms + ctl->cfg.leader_balance_interval_ms;
		rc = controller_balance(ctl, &p);
	}
	return controller_finish(ctl, p, rc, out);
}

int64_t controller_next_deadline_ms(const struct controller *ctl)
{
	int64_t next = INT64_MAX;
	if (!ctl->active)
		return next;
	next = ctl->balance_due_ms;
	for (size_t i = 0; i < ctl->n_sessions; i++) {
		const struct image_broker *b = image_broker(ctl->view, ctl->sessions[i].id);
		if (b != NULL && !b->fenced && ctl->sessions[i].deadline_ms < next)
			next = ctl->sessions[i].deadline_ms;
	}
	return next;
}

/* ---- topics ------------------------------------------------------------------------- */

static int16_t controller_fail(char *msg, int16_t code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int16_t controller_fail(char *msg, int16_t code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, CONTROLLER_ERRMSG, fmt, ap);
	va_end(ap);
	return code;
}

static bool controller_topic_name_valid(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;
	if (n == 0 || n > CONTROLLER_TOPIC_NAME_MAX || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

static uint64_t controller_random(struct controller *ctl)
{
	uint64_t x = ctl->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ctl->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A version-4 uuid no topic of the view has (and never zero). */
static void controller_new_topic_id(struct controller *ctl, const struct metadata_image *view, uint8_t id[16])
{
	do {
		uint64_t a = controller_random(ctl), b = controller_random(ctl);
		for (int i = 0; i < 8; i++) {
			id[i] = (uint8_t)(a >> (8 * i));
			id[8 + i] = (uint8_t)(b >> (8 * i));
		}
		id[6] = (uint8_t)((id[6] & 0x0f) | 0x40);
		id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	} while (image_topic_by_id(view, id) != NULL);
}

struct controller_live_set {
	struct placement_broker *brokers;
	size_t n, cap;
};

static int controller_live_cb(const struct image_broker *b, void *arg)
{
	struct controller_live_set *l = arg;
	if (b->fenced)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct placement_broker *n = realloc(l->brokers, cap * sizeof *n);
		if (n == NULL)
			return -ENOMEM;
		l->brokers = n;
		l->cap = cap;
	}
	l->brokers[l->n++] = (struct placement_broker){.id = b->id, .rack = b->rack};
	return 0;
}

static int16_t controller_rf_error(char *msg, long rf, size_t live)
{
	return controller_fail(msg, KERR_INVALID_REPLICATION_FACTOR,
			       "Unable to replicate the partition %ld time(s): The target replication factor of %ld "
			       "cannot be reached because only %zu broker(s) are registered.",
			       rf, rf, live);
}

/* Checks one manual assignment against the view; writes its live replicas
 * (the ISR, in replica order) into isr and their count into *n_isr. */
static int16_t controller_check_assignment(const struct metadata_image *view, const struct controller_assignment *a,
					   int32_t partition, int32_t *isr, size_t *n_isr, char *msg)
{
	if (a->n_broker_ids == 0 || a->n_broker_ids > RECORDS_MAX_IDS)
		return controller_fail(msg, KERR_INVALID_REPLICA_ASSIGNMENT,
				       "The manual partition assignment for partition %" PRId32 " is empty.", partition);
	*n_isr = 0;
	for (size_t i = 0; i < a->n_broker_ids; i++) {
		int32_t id = a->broker_ids[i];
		for (size_t j = 0; j < i; j++)
			if (a->broker_ids[j] == id)
				return controller_fail(msg, KERR_INVALID_REPLICA_ASSIGNMENT,
						       "The manual partition assignment for partition %" PRId32
						       " contains a duplicate broker id %" PRId32 ".",
						       partition, id);
		const struct image_broker *b = image_broker(view, id);
		if (b == NULL)
			return controller_fail(msg, KERR_INVALID_REPLICA_ASSIGNMENT,
					       "The manual partition assignment includes broker %" PRId32
					       ", but no such broker is registered.",
					       id);
		if (!b->fenced)
			isr[(*n_isr)++] = id;
	}
	if (*n_isr == 0)
		return controller_fail(msg, KERR_INVALID_REPLICA_ASSIGNMENT,
				       "All brokers specified in the partition assignment for partition %" PRId32
				       " are fenced.",
				       partition);
	return KERR_NONE;
}

static int controller_add_partition(struct controller_proposal *p, const uint8_t topic_id[16], int32_t partition,
				    const int32_t *replicas, size_t n_replicas, const int32_t *isr, size_t n_isr)
{
	struct metadata_record r = {.type = METADATA_PARTITION};
	struct metadata_partition *rp = &r.partition;
	memcpy(rp->topic_id, topic_id, 16);
	rp->partition_id = partition;
	rp->replicas.ids = controller_ids(p, replicas, n_replicas);
	rp->replicas.n = n_replicas;
	rp->isr.ids = controller_ids(p, isr, n_isr);
	rp->isr.n = n_isr;
	rp->leader = isr[0];
	if (rp->replicas.ids == NULL || rp->isr.ids == NULL)
		return -ENOMEM;
	return controller_add(p, &r);
}

/* Adds partitions [first, first + count) of a topic, from `a` (manual, count
 * of them) or placed over the live brokers with `rf` replicas. Validation
 * happened before: this only fails with -ENOMEM. */
static int controller_add_partitions(struct controller *ctl, struct controller_proposal *p, const uint8_t topic_id[16],
				     int32_t first, int32_t count, const struct controller_assignment *a, bool by_index,
				     size_t rf, const struct controller_live_set *live)
{
	if (a != NULL) {
		int32_t isr[RECORDS_MAX_IDS];
		for (int32_t i = 0; i < count; i++) {
			const struct controller_assignment *one = &a[i];
			for (int32_t j = 0; by_index && j < count; j++)
				if (a[j].partition_index == first + i)
					one = &a[j];
			size_t n_isr = 0;
			char msg[CONTROLLER_ERRMSG];
			if (controller_check_assignment(p->view, one, first + i, isr, &n_isr, msg) != KERR_NONE)
				return -EINVAL; /* checked before: a bug */
			int rc = controller_add_partition(p, topic_id, first + i, one->broker_ids, one->n_broker_ids, isr,
							  n_isr);
			if (rc != 0)
				return rc;
		}
		return 0;
	}
	int32_t *layout = malloc((size_t)count * rf * sizeof *layout);
	if (layout == NULL)
		return -ENOMEM;
	int rc = placement_assign(live->brokers, live->n, first, (size_t)count, rf, ctl->placement_start++, layout);
	for (int32_t i = 0; rc == 0 && i < count; i++) {
		const int32_t *replicas = layout + (size_t)i * rf;
		rc = controller_add_partition(p, topic_id, first + i, replicas, rf, replicas, rf);
	}
	free(layout);
	return rc;
}

static int16_t controller_check_config(const struct controller *ctl, const char *name, const char *value, char *msg)
{
	if (name == NULL || name[0] == '\0')
		return controller_fail(msg, KERR_INVALID_CONFIG, "A config name is empty.");
	if (value == NULL)
		return controller_fail(msg, KERR_INVALID_CONFIG, "Null value not supported for topic configs: %s", name);
	if (strlen(name) > RECORDS_MAX_STRING || strlen(value) > RECORDS_MAX_STRING)
		return controller_fail(msg, KERR_INVALID_CONFIG, "Config %s is too long.", name);
	if (ctl->cfg.config_validate_cb != NULL && ctl->cfg.config_validate_cb(name, value, msg, CONTROLLER_ERRMSG) != 0)
		return KERR_INVALID_CONFIG;
	return KERR_NONE;
}

/* Validates one CreateTopics entry against p's view; sets its counts. */
static int16_t controller_check_new_topic(struct controller *ctl, const struct controller_proposal *p,
					  struct controller_new_topic *t, const struct controller_live_set *live)
{
	char *msg = t->error_message;
	if (!controller_topic_name_valid(t->name))
		return controller_fail(msg, KERR_INVALID_TOPIC_EXCEPTION,
				       "Topic name is illegal, it can't be empty, '.' or '..', longer than %d "
				       "characters, or contain characters other than ASCII alphanumerics, '.', '_' and '-'",
				       CONTROLLER_TOPIC_NAME_MAX);
	if (image_topic_by_name(p->view, t->name) != NULL)
		return controller_fail(msg, KERR_TOPIC_ALREADY_EXISTS, "Topic '%s' already exists.", t->name);
	if (t->n_assignments > 0) {
		if (t->num_partitions != -1 || t->replication_factor != -1)
			return controller_fail(msg, KERR_INVALID_REQUEST,
					       "Both numPartitions or replicationFactor and replicasAssignments were set. "
					       "Both cannot be used at the same time.");
		if (t->n_assignments > CONTROLLER_MAX_PARTITIONS)
			return controller_fail(msg, KERR_INVALID_PARTITIONS, "Number of partitions must be at most %d.",
					       CONTROLLER_MAX_PARTITIONS);
		for (size_t i = 0; i < t->n_assignments; i++) {
			size_t seen = 0;
			for (size_t j = 0; j < t->n_assignments; j++)
				seen += t->assignments[j].partition_index == (int32_t)i;
			if (seen != 1)
				return controller_fail(msg, KERR_INVALID_REPLICA_ASSIGNMENT,
						       "Partitions should be a consecutive 0-based integer sequence");
		}
		int32_t isr[RECORDS_MAX_IDS];
		for (size_t i = 0; i < t->n_assignments; i++) {
			size_t n_isr;
			int16_t err = controller_check_assignment(p->view, &t->assignments[i],
								  t->assignments[i].partition_index, isr, &n_isr, msg);
			if (err != KERR_NONE)
				return err;
		}
		t->num_partitions_out = (int32_t)t->n_assignments;
		t->replication_factor_out = (int16_t)t->assignments[0].n_broker_ids;
	} else {
		int32_t parts = t->num_partitions == -1 ? ctl->cfg.default_partitions : t->num_partitions;
		int32_t rf = t->replication_factor == -1 ? ctl->cfg.default_replication_factor : t->replication_factor;
		if (parts <= 0)
			return controller_fail(msg, KERR_INVALID_PARTITIONS, "Number of partitions must be larger than 0.");
		if (parts > CONTROLLER_MAX_PARTITIONS)
			return controller_fail(msg, KERR_INVALID_PARTITIONS, "Number of partitions must be at most %d.",
					       CONTROLLER_MAX_PARTITIONS);
		if (rf <= 0)
			return controller_fail(msg, KERR_INVALID_REPLICATION_FACTOR,
					       "Replication factor must be larger than 0.");
		if ((size_t)rf > live->n)
			return controller_rf_error(msg, rf, live->n);
		t->num_partitions_out = parts;
		t->replication_factor_out = (int16_t)rf;
	}
	for (size_t i = 0; i < t->n_configs; i++) {
		int16_t err = controller_check_config(ctl, t->configs[i].name, t->configs[i].value, msg);
		if (err != KERR_NONE)
			return err;
	}
	return KERR_NONE;
}

static int controller_add_topic(struct controller *ctl, struct controller_proposal *p, struct controller_new_topic *t,
				const struct controller_live_set *live)
{
	controller_new_topic_id(ctl, p->view, t->topic_id);
	struct metadata_record r = {.type = METADATA_TOPIC};
	r.topic.name = controller_strdup(p, t->name);
	memcpy(r.topic.topic_id, t->topic_id, 16);
	if (r.topic.name == NULL)
		return -ENOMEM;
	int rc = controller_add(p, &r);
	if (rc == 0)
		rc = controller_add_partitions(ctl, p, t->topic_id, 0, t->num_partitions_out,
					       t->n_assignments > 0 ? t->assignments : NULL, true,
					       (size_t)t->replication_factor_out, live);
	for (size_t i = 0; rc == 0 && i < t->n_configs; i++) {
		struct metadata_record c = {.type = METADATA_CONFIG};
		c.config.resource_type = METADATA_RESOURCE_TOPIC;
		c.config.resource_name = r.topic.name;
		c.config.name = controller_strdup(p, t->configs[i].name);
		c.config.value = controller_strdup(p, t->configs[i].value);
		rc = c.config.name == NULL || c.config.value == NULL ? -ENOMEM : controller_add(p, &c);
	}
	return rc;
}

int controller_create_topics(struct controller *ctl, struct controller_new_topic *topics, size_t n,
			     bool validate_only, int64_t now_ms, struct controller_proposal **out)
{
	(void)now_ms;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		topics[i].error_code = KERR_NONE;
		topics[i].error_message[0] = '\0';
		memset(topics[i].topic_id, 0, 16);
		topics[i].num_partitions_out = -1;
		topics[i].replication_factor_out = -1;
		if (!ctl->active)
			topics[i].error_code = KERR_NOT_CONTROLLER;
	}
	if (!ctl->active)
		return 0;
	struct controller_proposal *p = controller_begin(ctl);
	if (p == NULL)
		return -ENOMEM;
	struct controller_live_set live = {0};
	int rc = image_foreach_broker(p->view, controller_live_cb, &live);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct controller_new_topic *t = &topics[i];
		bool dup = false;
		for (size_t j = 0; j < n && t->name != NULL; j++)
			dup |= j != i && topics[j].name != NULL && strcmp(topics[j].name, t->name) == 0;
		if (dup) {
			t->error_code = controller_fail(t->error_message, KERR_INVALID_REQUEST, "Duplicate topic name.");
			continue;
		}
		t->error_code = controller_check_new_topic(ctl, p, t, &live);
		if (t->error_code != KERR_NONE || validate_only)
			continue;
		rc = controller_add_topic(ctl, p, t, &live);
		if (rc == 0)
			tlog(TLOG_INFO, CONTROLLER_LOG, "creating topic %s: %" PRId32 " partitions, rf %" PRId16, t->name,
			     t->num_partitions_out, t->replication_factor_out);
	}
	free(live.brokers);
	return controller_finish(ctl, p, rc, out);
}

int controller_delete_topics(struct controller *ctl, struct controller_delete_topic *topics, size_t n,
			     int64_t now_ms, struct controller_proposal **out)
{
	(void)now_ms;
	*out = NULL;
	struct controller_proposal *p = ctl->active ? controller_begin(ctl) : NULL;
	if (ctl->active && p == NULL)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		struct controller_delete_topic *d = &topics[i];
		memset(d->topic_id_out, 0, 16);
		if (p == NULL) {
			d->error_code = KERR_NOT_CONTROLLER;
			continue;
		}
		const struct image_topic *t =
			d->name != NULL ? image_topic_by_name(p->view, d->name) : image_topic_by_id(p->view, d->topic_id);
		if (t == NULL) {
			d->error_code = d->name != NULL ? KERR_UNKNOWN_TOPIC_OR_PARTITION : KERR_UNKNOWN_TOPIC_ID;
			continue;
		}
		d->error_code = KERR_NONE;
		memcpy(d->topic_id_out, t->id, 16);
		if (rc != 0)
			continue;
		tlog(TLOG_INFO, CONTROLLER_LOG, "deleting topic %s", t->name);
		struct metadata_record r = {.type = METADATA_REMOVE_TOPIC};
		memcpy(r.remove_topic.topic_id, t->id, 16);
		rc = controller_add(p, &r);
	}
	return controller_finish(ctl, p, rc, out);
}

struct controller_first_partition {
	const struct image_partition *p;
};

static int controller_first_partition_cb(const struct image_topic *t, const struct image_partition *p, void *arg)
{
	(void)t;
	((struct controller_first_partition *)arg)->p = p;
	return 1; /* stop at the first */
}

static int16_t controller_check_new_partitions(const struct controller_proposal *p,
					       struct controller_new_partitions *np, const struct image_topic *t,
					       const struct controller_live_set *live, size_t *rf)
{
	char *msg = np->error_message;
	int32_t cur = (int32_t)t->n_partitions;
	if (np->count < cur)
		return controller_fail(msg, KERR_INVALID_PARTITIONS,
				       "Topic currently has %" PRId32
				       " partitions, which is higher than the requested %" PRId32 ".",
				       cur, np->count);
	if (np->count == cur)
		return controller_fail(msg, KERR_INVALID_PARTITIONS, "Topic already has %" PRId32 " partitions.", cur);
	if (np->count > CONTROLLER_MAX_PARTITIONS)
		return controller_fail(msg, KERR_INVALID_PARTITIONS, "Number of partitions must be at most %d.",
				       CONTROLLER_MAX_PARTITIONS);
	if (np->assignments != NULL) {
		if (np->n_assignments != (size_t)(np->count - cur))
			return controller_fail(msg, KERR_INVALID_REPLICA_ASSIGNMENT,
					       "Attempted to add %" PRId32 " additional partition(s), but only %zu "
					       "assignment(s) were specified.",
					       np->count - cur, np->n_assignments);
		int32_t isr[RECORDS_MAX_IDS];
		for (size_t i = 0; i < np->n_assignments; i++) {
			size_t n_isr;
			int16_t err = controller_check_assignment(p->view, &np->assignments[i], cur + (int32_t)i, isr,
								  &n_isr, msg);
			if (err != KERR_NONE)
				return err;
		}
		return KERR_NONE;
	}
	struct controller_first_partition first = {0};
	image_foreach_partition(t, controller_first_partition_cb, &first);
	*rf = first.p != NULL ? first.p->replicas.n : 1;
	if (*rf > live->n)
		return controller_rf_error(msg, (long)*rf, live->n);
	return KERR_NONE;
}

int controller_create_partitions(struct controller *ctl, struct controller_new_partitions *topics, size_t n,
				 bool validate_only, int64_t now_ms, struct controller_proposal **out)
{
	(void)now_ms;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		topics[i].error_code = ctl->active ? KERR_NONE : KERR_NOT_CONTROLLER;
		topics[i].error_message[0] = '\0';
	}
	if (!ctl->active)
		return 0;
	struct controller_proposal *p = controller_begin(ctl);
	if (p == NULL)
		return -ENOMEM;
	struct controller_live_set live = {0};
	int rc = image_foreach_broker(p->view, controller_live_cb, &live);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct controller_new_partitions *np = &topics[i];
		const struct image_topic *t = np->name != NULL ? image_topic_by_name(p->view, np->name) : NULL;
		if (t == NULL) {
			np->error_code = controller_fail(np->error_message, KERR_UNKNOWN_TOPIC_OR_PARTITION,
							 "This server does not host this topic-partition.");
			continue;
		}
		size_t rf = 0;
		np->error_code = controller_check_new_partitions(p, np, t, &live, &rf);
		if (np->error_code != KERR_NONE || validate_only)
			continue;
		uint8_t id[16];
		memcpy(id, t->id, 16);
		int32_t cur = (int32_t)t->n_partitions; /* t dies with the view the adds replace */
		tlog(TLOG_INFO, CONTROLLER_LOG, "growing topic %s: %" PRId32 " -> %" PRId32 " partitions", np->name, cur,
		     np->count);
		rc = controller_add_partitions(ctl, p, id, cur, np->count - cur, np->assignments, false, rf, &live);
	}
	free(live.brokers);
	return controller_finish(ctl, p, rc, out);
}

/* ---- configs --------------------------------------------------------------------- */

/* Writes `list` (a comma-separated list, NULL for none) with `item` appended
 * (unless present) or removed into `out` of `cap` bytes. Returns false when
 * it does not fit. */
static bool controller_list_edit(const char *list, const char *item, bool append, char *out, size_t cap)
{
	size_t o = 0, item_len = strlen(item);
	bool present = false;
	out[0] = '\0';
	for (const char *s = list != NULL ? list : ""; *s != '\0';) {
		const char *e = strchr(s, ',');
		size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
		bool match = len == item_len && memcmp(s, item, len) == 0;
		present |= match;
		if (len > 0 && !(match && !append)) {
			if (o + len + 2 > cap)
				return false;
			if (o > 0)
				out[o++] = ',';
			memcpy(out + o, s, len);
			o += len;
			out[o] = '\0';
		}
		s += len + (e != NULL ? 1 : 0);
	}
	if (append && !present && item_len > 0) {
		if (o + item_len + 2 > cap)
			return false;
		if (o > 0)
			out[o++] = ',';
		memcpy(out + o, item, item_len + 1);
	}
	return true;
}

static int controller_alter_one(struct controller *ctl, struct controller_proposal *p,
				struct controller_alter_configs *res, bool validate_only)
{
	char *msg = res->error_message;
	if (res->resource_type != METADATA_RESOURCE_TOPIC) {
		res->error_code = controller_fail(msg, KERR_INVALID_REQUEST,
						  "Only topic configs are altered by the controller.");
		return 0;
	}
	if (res->resource_name == NULL || image_topic_by_name(p->view, res->resource_name) == NULL) {
		res->error_code = controller_fail(msg, KERR_UNKNOWN_TOPIC_OR_PARTITION,
						  "This server does not host this topic-partition.");
		return 0;
	}
	const char **values = calloc(res->n_ops + 1, sizeof *values); /* the value each op writes */
	if (values == NULL)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; i < res->n_ops && res->error_code == KERR_NONE; i++) {
		const struct controller_config_op *op = &res->ops[i];
		for (size_t j = 0; j < i; j++)
			if (op->name != NULL && res->ops[j].name != NULL && strcmp(op->name, res->ops[j].name) == 0)
				res->error_code = controller_fail(msg, KERR_INVALID_REQUEST,
								  "Error due to duplicate config keys");
		if (res->error_code != KERR_NONE)
			break;
		const char *cur = op->name != NULL ? image_config(p->view, METADATA_RESOURCE_TOPIC, res->resource_name,
								   op->name)
						   : NULL;
		switch (op->op) {
		case CONTROLLER_CONFIG_SET:
			values[i] = op->value;
			res->error_code = controller_check_config(ctl, op->name, op->value, msg);
			break;
		case CONTROLLER_CONFIG_DELETE:
			if (op->name == NULL || op->name[0] == '\0')
				res->error_code = controller_fail(msg, KERR_INVALID_CONFIG, "A config name is empty.");
			break;
		case CONTROLLER_CONFIG_APPEND:
		case CONTROLLER_CONFIG_SUBTRACT: {
			if (op->value == NULL) {
				res->error_code = controller_fail(msg, KERR_INVALID_CONFIG, "Null value for %s.",
								  op->name ? op->name : "");
				break;
			}
			size_t cap = (cur != NULL ? strlen(cur) : 0) + strlen(op->value) + 2;
			char *v = controller_alloc(p, cap);
			if (v == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			controller_list_edit(cur, op->value, op->op == CONTROLLER_CONFIG_APPEND, v, cap);
			values[i] = v;
			res->error_code = controller_check_config(ctl, op->name, v, msg);
			break;
		}
		default:
			res->error_code = controller_fail(msg, KERR_INVALID_REQUEST, "Unknown config operation %d.",
							  (int)op->op);
		}
	}
	if (res->error_code != KERR_NONE || validate_only)
		goto out;
	const char *resource = controller_strdup(p, res->resource_name);
	if (resource == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < res->n_ops; i++) {
		const struct controller_config_op *op = &res->ops[i];
		struct metadata_record r = {.type = METADATA_CONFIG};
		r.config.resource_type = METADATA_RESOURCE_TOPIC;
		r.config.resource_name = resource;
		r.config.name = controller_strdup(p, op->name);
		r.config.value = op->op == CONTROLLER_CONFIG_DELETE ? NULL : controller_strdup(p, values[i]);
		if (r.config.name == NULL || (op->op != CONTROLLER_CONFIG_DELETE && r.config.value == NULL))
			rc = -ENOMEM;
		else
			rc = controller_add(p, &r);
	}
out:
	free(values);
	return rc;
}

int controller_alter_configs(struct controller *ctl, struct controller_alter_configs *resources, size_t n,
			     bool validate_only, int64_t now_ms, struct controller_proposal **out)
{
	(void)now_ms;
	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		resources[i].error_code = ctl->active ? KERR_NONE : KERR_NOT_CONTROLLER;
		resources[i].error_message[0] = '\0';
	}
	if (!ctl->active)
		return 0;
	struct controller_proposal *p = controller_begin(ctl);
	if (p == NULL)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = controller_alter_one(ctl, p, &resources[i], validate_only);
	return controller_finish(ctl, p, rc, out);
}

/* ---- AlterPartition ----------------------------------------------------------------- */

static int16_t controller_check_isr(const struct controller_proposal *p, const struct image_partition *part,
				    int32_t leader, const struct controller_isr_change *c)
{
	if (c->n_new_isr == 0 || c->n_new_isr > part->replicas.n)
		return KERR_INVALID_REQUEST;
	bool has_leader = false;
	for (size_t i = 0; i < c->n_new_isr; i++) {
		int32_t id = c->new_isr[i];
		for (size_t j = 0; j < i; j++)
			if (c->new_isr[j] == id)
				return KERR_INVALID_REQUEST;
		if (!controller_contains(&part->replicas, id))
			return KERR_INELIGIBLE_REPLICA;
		if (!controller_live(id, p->view))
			return KERR_INELIGIBLE_REPLICA;
		has_leader |= id == leader;
	}
	return has_leader ? KERR_NONE : KERR_INVALID_REQUEST;
}

int controller_alter_partition(struct controller *ctl, int32_t broker_id, int64_t broker_epoch,
			       struct controller_isr_change *changes, size_t n, int64_t now_ms, int16_t *top_error,
			       struct controller_proposal **out)
{
	(void)now_ms;
	*out = NULL;
	*top_error = KERR_NONE;
	if (!ctl->active) {
		*top_error = KERR_NOT_CONTROLLER;
		return 0;
	}
	const struct image_broker *b = image_broker(ctl->view, broker_id);
	if (b == NULL || b->epoch != broker_epoch) {
		*top_error = KERR_STALE_BROKER_EPOCH;
		return 0;
	}
	struct controller_proposal *p = controller_begin(ctl);
	if (p == NULL)
		return -ENOMEM;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct controller_isr_change *c = &changes[i];
		c->leader_id = METADATA_NO_LEADER;
		c->leader_epoch_out = -1;
		c->partition_epoch_out = -1;
		const struct image_topic *t = image_topic_by_id(p->view, c->topic_id);
		const struct image_partition *part = image_topic_partition(t, c->partition_id);
		if (t == NULL) {
			c->error_code = KERR_UNKNOWN_TOPIC_ID;
			continue;
		}
		if (part == NULL) {
			c->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			continue;
		}
		if (part->leader != broker_id)
			c->error_code = KERR_NOT_LEADER_OR_FOLLOWER;
		else if (c->leader_epoch != part->leader_epoch)
			c->error_code = KERR_FENCED_LEADER_EPOCH;
		else if (c->partition_epoch != part->partition_epoch)
			c->error_code = KERR_INVALID_UPDATE_VERSION;
		else
			c->error_code = controller_check_isr(p, part, broker_id, c);
		if (c->error_code != KERR_NONE)
			continue;
		c->leader_id = part->leader;
		c->leader_epoch_out = part->leader_epoch;
		c->partition_epoch_out = part->partition_epoch;
		bool same = c->n_new_isr == part->isr.n &&
			    memcmp(c->new_isr, part->isr.ids, part->isr.n * sizeof(int32_t)) == 0;
		if (same)
			continue;
		struct metadata_record r = {.type = METADATA_PARTITION_CHANGE};
		struct metadata_partition_change *pc = &r.partition_change;
		memcpy(pc->topic_id, c->topic_id, 16);
		pc->partition_id = c->partition_id;
		pc->leader = METADATA_LEADER_UNCHANGED;
		pc->has_isr = true;
		pc->isr.ids = controller_ids(p, c->new_isr, c->n_new_isr);
		pc->isr.n = c->n_new_isr;
		if (pc->isr.ids == NULL) {
			rc = -ENOMEM;
			break;
		}
		rc = controller_add(p, &r);
		c->partition_epoch_out++;
	}
	return controller_finish(ctl, p, rc, out);
}

/* ---- AllocateProducerIds ------------------------------------------------------------ */

int controller_allocate_producer_ids(struct controller *ctl, int32_t broker_id, int64_t broker_epoch, int64_t now_ms,
				     struct controller_producer_ids_reply *reply, struct controller_proposal **out)
{
	(void)now_ms;
	*out = NULL;
	reply->producer_id_start = -1;
	reply->producer_id_len = 0;
	if (!ctl->active) {
		reply->error_code = KERR_NOT_CONTROLLER;
		return 0;
	}
	const struct image_broker *b = image_broker(ctl->view, broker_id);
	if (b == NULL || b->epoch != broker_epoch) {
		reply->error_code = KERR_STALE_BROKER_EPOCH;
		return 0;
	}
	int64_t start = image_next_producer_id(ctl->view);
	if (start < 0 || start > INT64_MAX - CONTROLLER_PRODUCER_ID_BLOCK) {
		/* KRaft's answer once every id of int64 was handed out. */
		tlog(TLOG_ERROR, CONTROLLER_LOG, "producer ids exhausted: the next block would pass int64 (next %" PRId64 ")",
		     start);
		reply->error_code = KERR_UNKNOWN_SERVER_ERROR;
		return 0;
	}
	struct controller_proposal *p = controller_begin(ctl);
	if (p == NULL)
		return -ENOMEM;
	struct metadata_record r = {.type = METADATA_PRODUCER_IDS};
	r.producer_ids = (struct metadata_producer_ids){
		.broker_id = broker_id,
		.broker_epoch = broker_epoch,
		.next_producer_id = start + CONTROLLER_PRODUCER_ID_BLOCK,
	};
	int rc = controller_finish(ctl, p, controller_add(p, &r), out);
	if (rc != 0)
		return rc;
	reply->error_code = KERR_NONE;
	reply->producer_id_start = start;
	reply->producer_id_len = CONTROLLER_PRODUCER_ID_BLOCK;
	tlog(TLOG_DEBUG, CONTROLLER_LOG, "producer ids [%" PRId64 ", %" PRId64 ") to broker %" PRId32, start,
	     start + CONTROLLER_PRODUCER_ID_BLOCK, broker_id);
	return 0;
}
