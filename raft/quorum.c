/* quorum: canonical/raft on its own libuv thread. See quorum.h.
 *
 * Threads. The raft thread runs `loop` and is the only one that touches
 * `raft`, `io` and `transport` once quorum_start() has returned. Other threads
 * only take `lock` to push onto `inbox`, read `status`, or flip `accepting`.
 * Completions cross back through a quorum_sink (its own lock).
 *
 * Stop sequence (raft thread, driven by the wake-up that carries `stopping`):
 *   fail queued ops → leader? raft_transfer → transfer cb → raft_close →
 *   close cb: raft_uv_close, raft_uv_tcp_close, uv_close(wake, publish) →
 *   uv_run returns → quorum_stop() joins and closes the loop.
 */
#include "raft/quorum.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "broker/logger.h"

#define QUORUM_LOG "quorum"
/* Largest entry accepted by quorum_propose (bytes). A metadata record is a
 * few hundred bytes; this only stops a runaway caller. */
#define QUORUM_ENTRY_MAX (8u << 20)

enum quorum_state {
	QUORUM_STATE_NEW,      /* quorum_new() done, nothing running */
	QUORUM_STATE_RUNNING,  /* raft thread running, proposals accepted */
	QUORUM_STATE_STOPPING, /* quorum_stop() in progress */
	QUORUM_STATE_STOPPED,  /* thread joined, loop closed; final */
};

enum quorum_op_kind {
	QUORUM_OP_PROPOSE,
	QUORUM_OP_ADD_STANDBY,
	QUORUM_OP_BARRIER,
};

/* One request from another thread; it becomes its own completion. Owned by
 * the inbox, then by raft (while a raft request inside is pending), then by
 * the sink, and freed after its callback ran. */
struct quorum_completion {
	struct quorum_completion *next; /* inbox or sink FIFO link */
	enum quorum_op_kind kind;
	struct quorum *q;
	struct quorum_sink *sink; /* NULL: callback on the raft thread */
	quorum_propose_cb cb;
	void *arg;
	int status;     /* result, 0 or QUORUM_E* */
	uint64_t index; /* result: the entry's index */
	/* QUORUM_OP_PROPOSE */
	void *buf; /* raft_malloc'd; raft owns it once raft_apply returned 0 */
	size_t len;
	struct raft_apply apply;
	/* QUORUM_OP_ADD_STANDBY */
	raft_id id;
	char address[QUORUM_ADDRESS_MAX + 1];
	struct raft_change change;
	/* QUORUM_OP_BARRIER */
	struct raft_barrier barrier;
};

struct quorum {
	/* Copied configuration (immutable after quorum_new). */
	int32_t node_id;
	raft_id raft_id; /* node_id + 1 */
	char *data_dir;
	char address[QUORUM_ADDRESS_MAX + 1];
	char bind_address[QUORUM_ADDRESS_MAX + 1]; /* "" = listen on address */
	struct quorum_voter *voters;               /* addresses owned (strdup) */
	size_t n_voters;
	bool is_voter; /* node_id is in voters */
	unsigned election_timeout_ms;
	unsigned heartbeat_ms;
	unsigned snapshot_threshold;
	unsigned snapshot_trailing;
	size_t segment_size;
	unsigned connect_retry_ms;
	struct quorum_fsm fsm;

	/* Raft thread only (and the starting thread before it exists). */
	uv_loop_t loop;
	struct raft_uv_transport transport;
	struct raft_io io;
	struct raft raft;
	struct raft_fsm raft_fsm;
	uv_async_t wake;       /* inbox non-empty or stop requested */
	uv_prepare_t publish;  /* copies raft state into `status` each iteration */
	struct raft_transfer transfer;
	bool closing;          /* stop sequence begun: no more raft requests */
	bool raft_closed;      /* raft_close called: raft state no longer read */
	bool wake_ready;       /* `wake` initialised (closed in the close cb) */
	bool publish_ready;    /* `publish` initialised (closed in the close cb) */
	int last_role;         /* as last passed to role_cb */
	int32_t last_leader;
	uint64_t last_term;
	pthread_t thread;

	/* Shared, under lock. */
	pthread_mutex_t lock;
	enum quorum_state state;
	bool accepting;                        /* proposals may be queued */
	bool stopping;                         /* raft thread must shut down */
	struct quorum_completion *inbox_head;  /* FIFO of ops for the raft thread */
	struct quorum_completion *inbox_tail;
	struct quorum_status status;           /* last published */
};

/* ---- errors ---- */

const char *quorum_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case QUORUM_ENOTLEADER: return "not the leader";
	case QUORUM_EUNKNOWN: return "leadership lost before commit (outcome unknown)";
	case QUORUM_ESHUTDOWN: return "quorum is shut down";
	case QUORUM_ENOMEM: return "out of memory";
	case QUORUM_EINVAL: return "invalid argument";
	case QUORUM_EIO: return "storage or network error";
	case QUORUM_EBUSY: return "a membership change is in progress";
	default: return "unknown error";
	}
}

const char *quorum_role_name(int role)
{
	switch (role) {
	case QUORUM_UNAVAILABLE: return "unavailable";
	case QUORUM_FOLLOWER: return "follower";
	case QUORUM_CANDIDATE: return "candidate";
	case QUORUM_LEADER: return "leader";
	default: return "?";
	}
}

/* A raft error from a request that never reached the log. */
static int quorum_error_sync(int rv)
{
	switch (rv) {
	case 0: return 0;
	case RAFT_NOTLEADER: return QUORUM_ENOTLEADER;
	case RAFT_NOMEM: return QUORUM_ENOMEM;
	case RAFT_CANTCHANGE: return QUORUM_EBUSY;
	case RAFT_SHUTDOWN: return QUORUM_ESHUTDOWN;
	case RAFT_BADID:
	case RAFT_DUPLICATEID:
	case RAFT_DUPLICATEADDRESS:
	case RAFT_BADROLE: return QUORUM_EINVAL;
	default: return QUORUM_EIO;
	}
}

/* A raft error delivered to a request that had been appended. */
static int quorum_error_async(int rv)
{
	switch (rv) {
	case 0: return 0;
	case RAFT_NOTLEADER: return QUORUM_ENOTLEADER;
	case RAFT_LEADERSHIPLOST:
	case RAFT_SHUTDOWN:
	case RAFT_CANCELED: return QUORUM_EUNKNOWN;
	default: return quorum_error_sync(rv);
	}
}

/* ---- completion sinks ---- */

void quorum_sink_init(struct quorum_sink *sink, void (*notify_cb)(void *), void *notify_arg)
{
	memset(sink, 0, sizeof *sink);
	sink->notify_cb = notify_cb;
	sink->notify_arg = notify_arg;
	pthread_mutex_init(&sink->lock, NULL);
}

size_t quorum_sink_drain(struct quorum_sink *sink)
{
	pthread_mutex_lock(&sink->lock);
	struct quorum_completion *c = sink->head;
	sink->head = sink->tail = NULL;
	pthread_mutex_unlock(&sink->lock);

	size_t n = 0;
	while (c != NULL) {
		struct quorum_completion *next = c->next;
		c->cb(c->arg, c->status, c->index);
		free(c);
		c = next;
		n++;
	}
	return n;
}

void quorum_sink_close(struct quorum_sink *sink)
{
	quorum_sink_drain(sink);
	pthread_mutex_destroy(&sink->lock);
}

/* Hands a finished op to its caller: inline on the raft thread, or through
 * its sink. Takes ownership of `c`. */
static void quorum_complete(struct quorum_completion *c, int status, uint64_t index)
{
	c->status = status;
	c->index = status == 0 ? index : 0;
	c->next = NULL;
	struct quorum_sink *sink = c->sink;
	if (sink == NULL) {
		c->cb(c->arg, c->status, c->index);
		free(c);
		return;
	}
	pthread_mutex_lock(&sink->lock);
	if (sink->tail != NULL)
		sink->tail->next = c;
	else
		sink->head = c;
	sink->tail = c;
	pthread_mutex_unlock(&sink->lock);
	if (sink->notify_cb != NULL)
		sink->notify_cb(sink->notify_arg);
}

/* ---- FSM adapter (raft thread) ---- */

/* The term of the entry raft is applying. raft 0.15's apply callback does not
 * pass it; raft hands us `&entry->buf` of the entry at last_applied + 1 in its
 * in-memory log (struct raft_log, a ring: used slots [front, back), index of
 * the first entry offset + 1). Checked against `buf` so a different raft
 * layout gives 0 rather than a wrong term. */
static uint64_t quorum_entry_term(const struct raft *r, const struct raft_buffer *buf, raft_index index)
{
	const struct raft_log *l = &r->log;
	if (l->size == 0 || index <= l->offset)
		return 0;
	size_t n = l->back >= l->front ? l->back - l->front : l->size - l->front + l->back;
	raft_index rel = index - 1 - l->offset;
	if (rel >= n)
		return 0;
	const struct raft_entry *e = &l->entries[(l->front + rel) % l->size];
	return &e->buf == buf ? e->term : 0;
}

/* Entries are padded to a multiple of 8 bytes: raft 0.15 (Debian) hands
 * entries reloaded from its segment files at wrong offsets when their
 * lengths are not multiples of 8 (seen: a restarted member applied shifted
 * bytes). The padding is 1..8 bytes whose last one gives its count. */
static size_t quorum_padded_len(size_t len)
{
	return len + (8 - len % 8);
}

static size_t quorum_unpadded_len(const void *buf, size_t len)
{
	if (len == 0 || len % 8 != 0)
		return len;
	uint8_t pad = ((const uint8_t *)buf)[len - 1];
	return pad >= 1 && pad <= 8 && pad <= len ? len - pad : len;
}

static int quorum_fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct quorum *q = fsm->data;
	raft_index index = q->raft.last_applied + 1;
	size_t len = quorum_unpadded_len(buf->base, buf->len);
	q->fsm.apply_cb(q->fsm.arg, buf->base, len, index, quorum_entry_term(&q->raft, buf, index));
	*result = NULL;
	return 0;
}

static int quorum_fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct quorum *q = fsm->data;
	void *data = NULL;
	size_t len = 0;
	if (q->fsm.snapshot_cb(q->fsm.arg, &data, &len) != 0) {
		free(data);
		tlog(TLOG_WARN, QUORUM_LOG, "node=%" PRId32 " snapshot skipped by the state machine", q->node_id);
		return RAFT_BUSY; /* raft: transient, retried at the next apply */
	}
	struct raft_buffer *b = raft_malloc(sizeof *b);
	void *copy = raft_malloc(len > 0 ? len : 1);
	if (b == NULL || copy == NULL) {
		raft_free(b);
		raft_free(copy);
		free(data);
		return RAFT_BUSY;
	}
	if (len > 0)
		memcpy(copy, data, len);
	free(data);
	b->base = copy;
	b->len = len;
	*bufs = b; /* raft frees both (fsm version 1) */
	*n_bufs = 1;
	tlog(TLOG_DEBUG, QUORUM_LOG, "node=%" PRId32 " snapshot at index=%llu bytes=%zu", q->node_id,
	     q->raft.last_applied, len);
	return 0;
}

static int quorum_fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct quorum *q = fsm->data;
	if (q->fsm.restore_cb(q->fsm.arg, buf->base, buf->len) != 0) {
		tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " snapshot of %zu bytes refused by the state machine",
		     q->node_id, buf->len);
		return RAFT_MALFORMED; /* raft keeps and frees the buffer */
	}
	raft_free(buf->base); /* on success the buffer is ours */
	tlog(TLOG_INFO, QUORUM_LOG, "node=%" PRId32 " restored a snapshot of %zu bytes", q->node_id, buf->len);
	return 0;
}

/* ---- published state (raft thread) ---- */

static int quorum_membership_of(int raft_role)
{
	switch (raft_role) {
	case RAFT_VOTER: return QUORUM_VOTER;
	case RAFT_STANDBY: return QUORUM_STANDBY;
	default: return QUORUM_SPARE;
	}
}

static void quorum_copy_address(char *dst, const char *src)
{
	snprintf(dst, QUORUM_ADDRESS_MAX + 1, "%s", src != NULL ? src : "");
}

/* Reads raft's state into `s` (raft thread). */
static void quorum_read_state(struct quorum *q, struct quorum_status *s)
{
	struct raft *r = &q->raft;
	memset(s, 0, sizeof *s);
	s->node_id = q->node_id;
	s->role = raft_state(r);
	raft_id leader = 0;
	const char *leader_address = NULL;
	if (s->role != QUORUM_UNAVAILABLE)
		raft_leader(r, &leader, &leader_address);
	s->leader_id = leader > 0 ? (int32_t)(leader - 1) : -1;
	quorum_copy_address(s->leader_address, leader > 0 ? leader_address : NULL);
	s->term = r->current_term;
	s->commit_index = r->commit_index;
	s->last_applied = raft_last_applied(r);
	s->last_index = raft_last_index(r);
	s->is_leader_view = s->role == QUORUM_LEADER && r->leader_state.progress != NULL;
	for (unsigned i = 0; i < r->configuration.n && s->n_members < QUORUM_MEMBERS_MAX; i++) {
		const struct raft_server *srv = &r->configuration.servers[i];
		struct quorum_member *m = &s->members[s->n_members++];
		m->node_id = (int32_t)(srv->id - 1);
		m->membership = quorum_membership_of(srv->role);
		quorum_copy_address(m->address, srv->address);
		if (!s->is_leader_view)
			continue;
		if (srv->id == r->id) {
			m->match_index = s->last_index;
			m->recent_contact = true;
		} else {
			m->match_index = r->leader_state.progress[i].match_index;
			m->recent_contact = r->leader_state.progress[i].recent_recv;
		}
	}
}

/* Stores `s` as the published state and reports role changes. */
static void quorum_publish(struct quorum *q, struct quorum_status *s)
{
	pthread_mutex_lock(&q->lock);
	s->published = q->status.published + 1;
	q->status = *s;
	pthread_mutex_unlock(&q->lock);

	if (s->role == q->last_role && s->leader_id == q->last_leader && s->term == q->last_term)
		return;
	q->last_role = s->role;
	q->last_leader = s->leader_id;
	q->last_term = s->term;
	tlog(TLOG_INFO, QUORUM_LOG, "node=%" PRId32 " role=%s term=%" PRIu64 " leader=%" PRId32, q->node_id,
	     quorum_role_name(s->role), s->term, s->leader_id);
	if (q->fsm.role_cb != NULL)
		q->fsm.role_cb(q->fsm.arg, s->role, s->leader_id, s->term);
}

static void quorum_publish_now(struct quorum *q)
{
	struct quorum_status s;
	quorum_read_state(q, &s);
	quorum_publish(q, &s);
}

/* After raft_close: raft's memory is going away, keep the last numbers and
 * show the member as unavailable. */
static void quorum_publish_stopped(struct quorum *q)
{
	struct quorum_status s;
	pthread_mutex_lock(&q->lock);
	s = q->status;
	pthread_mutex_unlock(&q->lock);
	s.role = QUORUM_UNAVAILABLE;
	s.leader_id = -1;
	s.leader_address[0] = '\0';
	s.is_leader_view = false;
	quorum_publish(q, &s);
}

/* A uv_prepare handle runs right before the loop blocks, after every
 * callback of the iteration (a uv_check handle was seen to publish stale
 * state). */
static void quorum_publish_cb(uv_prepare_t *h)
{
	struct quorum *q = h->data;
	if (!q->raft_closed)
		quorum_publish_now(q);
}

/* ---- requests (raft thread) ---- */

static void quorum_apply_cb(struct raft_apply *req, int status, void *result)
{
	(void)result;
	struct quorum_completion *c = req->data;
	quorum_complete(c, quorum_error_async(status), req->index);
}

static void quorum_submit_propose(struct quorum *q, struct quorum_completion *c)
{
	struct raft_buffer b = {.base = c->buf, .len = c->len};
	c->apply.data = c;
	int rv = raft_apply(&q->raft, &c->apply, &b, 1, quorum_apply_cb);
	if (rv != 0) {
		raft_free(c->buf); /* raft took it only on success */
		c->buf = NULL;
		quorum_complete(c, quorum_error_sync(rv), 0);
		return;
	}
	c->buf = NULL; /* raft's now */
}

static void quorum_assign_cb(struct raft_change *req, int status)
{
	struct quorum_completion *c = req->data;
	if (status != 0)
		tlog(TLOG_WARN, QUORUM_LOG, "node=%" PRId32 " assigning standby role to node=%lld: %s",
		     c->q->node_id, (long long)c->id - 1, raft_strerror(status));
	else
		tlog(TLOG_INFO, QUORUM_LOG, "node=%" PRId32 " node=%lld joined as a standby", c->q->node_id,
		     (long long)c->id - 1);
	quorum_complete(c, quorum_error_async(status), 0);
}

static void quorum_assign_standby(struct quorum *q, struct quorum_completion *c)
{
	c->change.data = c;
	int rv = raft_assign(&q->raft, &c->change, c->id, RAFT_STANDBY, quorum_assign_cb);
	if (rv != 0)
		quorum_complete(c, quorum_error_sync(rv), 0);
}

static void quorum_add_cb(struct raft_change *req, int status)
{
	struct quorum_completion *c = req->data;
	if (status != 0 || c->q->closing) {
		quorum_complete(c, status != 0 ? quorum_error_async(status) : QUORUM_ESHUTDOWN, 0);
		return;
	}
	quorum_assign_standby(c->q, c);
}

/* Adds a server as a spare, then makes it a standby; a server already in the
 * configuration is only promoted from spare, never demoted. */
static void quorum_submit_add_standby(struct quorum *q, struct quorum_completion *c)
{
	if (raft_state(&q->raft) != RAFT_LEADER) {
		quorum_complete(c, QUORUM_ENOTLEADER, 0);
		return;
	}
	for (unsigned i = 0; i < q->raft.configuration.n; i++) {
		const struct raft_server *srv = &q->raft.configuration.servers[i];
		if (srv->id != c->id)
			continue;
		if (srv->role == RAFT_SPARE)
			quorum_assign_standby(q, c);
		else
			quorum_complete(c, 0, 0);
		return;
	}
	c->change.data = c;
	int rv = raft_add(&q->raft, &c->change, c->id, c->address, quorum_add_cb);
	if (rv != 0)
		quorum_complete(c, quorum_error_sync(rv), 0);
}

static void quorum_barrier_cb(struct raft_barrier *req, int status)
{
	struct quorum_completion *c = req->data;
	quorum_complete(c, quorum_error_async(status), req->index);
}

static void quorum_submit_barrier(struct quorum *q, struct quorum_completion *c)
{
	c->barrier.data = c;
	int rv = raft_barrier(&q->raft, &c->barrier, quorum_barrier_cb);
	if (rv != 0)
		quorum_complete(c, quorum_error_sync(rv), 0);
}

static void quorum_fail_op(struct quorum_completion *c, int status)
{
	raft_free(c->buf);
	c->buf = NULL;
	quorum_complete(c, status, 0);
}

/* ---- stop sequence (raft thread) ---- */

static void quorum_handle_close_cb(uv_handle_t *h)
{
	(void)h;
}

/* Raft has released its state (its address, log and configuration are
 * freed by now: nothing of `raft` may be read here). */
static void quorum_raft_close_cb(struct raft *r)
{
	struct quorum *q = r->data;
	raft_uv_close(&q->io);
	raft_uv_tcp_close(&q->transport);
	quorum_publish_stopped(q);
	if (q->publish_ready)
		uv_close((uv_handle_t *)&q->publish, quorum_handle_close_cb);
	if (q->wake_ready)
		uv_close((uv_handle_t *)&q->wake, quorum_handle_close_cb);
	q->publish_ready = q->wake_ready = false;
}

static void quorum_close_raft(struct quorum *q)
{
	quorum_publish_now(q); /* the last real state */
	q->closing = true;
	q->raft_closed = true;
	raft_close(&q->raft, quorum_raft_close_cb);
}

static void quorum_transfer_cb(struct raft_transfer *req)
{
	struct quorum *q = req->data;
	raft_id leader = 0;
	const char *address = NULL;
	raft_leader(&q->raft, &leader, &address);
	tlog(TLOG_INFO, QUORUM_LOG, "node=%" PRId32 " leadership transfer %s (leader=%lld)", q->node_id,
	     leader != 0 && leader != q->raft_id ? "done" : "timed out", (long long)leader - 1);
	quorum_close_raft(q);
}

/* True when another voter could take over. */
static bool quorum_has_other_voter(const struct raft *r)
{
	for (unsigned i = 0; i < r->configuration.n; i++)
		if (r->configuration.servers[i].role == RAFT_VOTER && r->configuration.servers[i].id != r->id)
			return true;
	return false;
}

static void quorum_begin_stop(struct quorum *q)
{
	q->closing = true;
	if (raft_state(&q->raft) == RAFT_LEADER && quorum_has_other_voter(&q->raft)) {
		/* As a KRaft controller resigns on SIGTERM: the survivors skip the
		 * election timeout. Raft calls back when the target leads or after
		 * one election timeout. */
		q->transfer.data = q;
		int rv = raft_transfer(&q->raft, &q->transfer, 0, quorum_transfer_cb);
		if (rv == 0)
			return;
		tlog(TLOG_WARN, QUORUM_LOG, "node=%" PRId32 " leadership transfer: %s", q->node_id, raft_strerror(rv));
	}
	quorum_close_raft(q);
}

/* Drains the whole inbox (wake-ups coalesce), then starts the stop sequence
 * when asked. */
static void quorum_wake_cb(uv_async_t *h)
{
	struct quorum *q = h->data;
	pthread_mutex_lock(&q->lock);
	struct quorum_completion *c = q->inbox_head;
	q->inbox_head = q->inbox_tail = NULL;
	bool stopping = q->stopping;
	pthread_mutex_unlock(&q->lock);

	while (c != NULL) {
		struct quorum_completion *next = c->next;
		if (stopping || q->closing)
			quorum_fail_op(c, QUORUM_ESHUTDOWN);
		else if (c->kind == QUORUM_OP_PROPOSE)
			quorum_submit_propose(q, c);
		else if (c->kind == QUORUM_OP_BARRIER)
			quorum_submit_barrier(q, c);
		else
			quorum_submit_add_standby(q, c);
		c = next;
	}
	if (stopping && !q->closing)
		quorum_begin_stop(q);
}

static void *quorum_thread_main(void *arg)
{
	struct quorum *q = arg;
	pthread_setname_np(pthread_self(), "tern-raft");
	uv_run(&q->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* ---- lifecycle ---- */

/* "host:port" with a non-empty host and a port in 1..65535. */
static bool quorum_address_valid(const char *a)
{
	if (a == NULL || strlen(a) == 0 || strlen(a) > QUORUM_ADDRESS_MAX)
		return false;
	const char *colon = strrchr(a, ':');
	if (colon == NULL || colon == a)
		return false;
	char *end = NULL;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	return errno == 0 && end != colon + 1 && *end == '\0' && port >= 1 && port <= 65535;
}

/* raft 0.15's transport takes IPv4 literals only ("localhost:9093" fails
 * with RAFT_NOCONNECTION): resolve a host name once, here, to its first IPv4
 * address. Writes "a.b.c.d:port" into out[QUORUM_ADDRESS_MAX + 1]. */
static int quorum_resolve(const char *address, char *out)
{
	const char *colon = strrchr(address, ':');
	char host[QUORUM_ADDRESS_MAX + 1];
	snprintf(host, sizeof host, "%.*s", (int)(colon - address), address);
	struct in_addr in;
	if (inet_pton(AF_INET, host, &in) == 1) {
		quorum_copy_address(out, address);
		return 0;
	}
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	int rv = getaddrinfo(host, NULL, &hints, &res);
	if (rv != 0 || res == NULL) {
		tlog(TLOG_ERROR, QUORUM_LOG, "cannot resolve %s to an IPv4 address: %s", host, gai_strerror(rv));
		return QUORUM_EINVAL;
	}
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
	freeaddrinfo(res);
	snprintf(out, QUORUM_ADDRESS_MAX + 1, "%s%s", ip, colon);
	return 0;
}

static void quorum_free_config(struct quorum *q)
{
	if (q->voters != NULL)
		for (size_t i = 0; i < q->n_voters; i++)
			free((char *)q->voters[i].address);
	free(q->voters);
	free(q->data_dir);
}

static int quorum_invalid(const char *field, const char *why)
{
	tlog(TLOG_ERROR, QUORUM_LOG, "invalid quorum configuration: %s %s", field, why);
	return QUORUM_EINVAL;
}

static int quorum_validate(const struct quorum_config *cfg, const struct quorum_fsm *fsm)
{
	if (fsm == NULL || fsm->apply_cb == NULL || fsm->snapshot_cb == NULL || fsm->restore_cb == NULL)
		return quorum_invalid("fsm", "needs apply, snapshot and restore callbacks");
	if (cfg->node_id < 0)
		return quorum_invalid("node.id", "must be >= 0");
	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0')
		return quorum_invalid("data_dir", "is missing");
	if (cfg->n_voters == 0 || cfg->voters == NULL)
		return quorum_invalid("controller.quorum.voters", "is empty");
	if (cfg->n_voters > QUORUM_MEMBERS_MAX)
		return quorum_invalid("controller.quorum.voters", "lists too many voters");
	bool self = false;
	for (size_t i = 0; i < cfg->n_voters; i++) {
		const struct quorum_voter *v = &cfg->voters[i];
		if (v->node_id < 0)
			return quorum_invalid("controller.quorum.voters", "has a negative node id");
		if (!quorum_address_valid(v->address))
			return quorum_invalid("controller.quorum.voters", "has an address that is not host:port");
		for (size_t j = 0; j < i; j++) {
			if (cfg->voters[j].node_id == v->node_id)
				return quorum_invalid("controller.quorum.voters", "lists a node id twice");
			if (strcmp(cfg->voters[j].address, v->address) == 0)
				return quorum_invalid("controller.quorum.voters", "lists an address twice");
		}
		if (v->node_id == cfg->node_id) {
			self = true;
			if (cfg->address != NULL && strcmp(cfg->address, v->address) != 0)
				return quorum_invalid("address", "differs from this node's voter entry");
		}
	}
	if (!self && !quorum_address_valid(cfg->address))
		return quorum_invalid("address", "is required (host:port) for a node outside the voters");
	if (cfg->bind_address != NULL && !quorum_address_valid(cfg->bind_address))
		return quorum_invalid("bind_address", "is not host:port");
	unsigned et = cfg->election_timeout_ms ? cfg->election_timeout_ms : 1000;
	unsigned hb = cfg->heartbeat_ms ? cfg->heartbeat_ms : 100;
	if (hb >= et)
		return quorum_invalid("heartbeat_ms", "must be below the election timeout");
	return 0;
}

struct quorum *quorum_new(const struct quorum_config *cfg, const struct quorum_fsm *fsm, int *err)
{
	int dummy;
	if (err == NULL)
		err = &dummy;
	*err = quorum_validate(cfg, fsm);
	if (*err != 0)
		return NULL;
	struct quorum *q = calloc(1, sizeof *q);
	if (q == NULL)
		goto err_nomem;
	q->node_id = cfg->node_id;
	q->raft_id = (raft_id)cfg->node_id + 1;
	q->fsm = *fsm;
	q->election_timeout_ms = cfg->election_timeout_ms ? cfg->election_timeout_ms : 1000;
	q->heartbeat_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 100;
	q->snapshot_threshold = cfg->snapshot_threshold ? cfg->snapshot_threshold : 1024;
	q->snapshot_trailing = cfg->snapshot_trailing ? cfg->snapshot_trailing : 128;
	q->segment_size = cfg->segment_size;
	q->connect_retry_ms = cfg->connect_retry_ms ? cfg->connect_retry_ms : 100;
	q->data_dir = strdup(cfg->data_dir);
	q->voters = calloc(cfg->n_voters, sizeof *q->voters);
	if (q->data_dir == NULL || q->voters == NULL)
		goto err_after_alloc;
	q->n_voters = cfg->n_voters;
	char resolved[QUORUM_ADDRESS_MAX + 1];
	for (size_t i = 0; i < cfg->n_voters; i++) {
		q->voters[i].node_id = cfg->voters[i].node_id;
		if ((*err = quorum_resolve(cfg->voters[i].address, resolved)) != 0)
			goto err_after_alloc;
		q->voters[i].address = strdup(resolved);
		if (q->voters[i].address == NULL)
			goto err_after_alloc;
		if (cfg->voters[i].node_id == cfg->node_id) {
			q->is_voter = true;
			quorum_copy_address(q->address, resolved);
		}
	}
	if (!q->is_voter && (*err = quorum_resolve(cfg->address, q->address)) != 0)
		goto err_after_alloc;
	if (cfg->bind_address != NULL && (*err = quorum_resolve(cfg->bind_address, q->bind_address)) != 0)
		goto err_after_alloc;
	pthread_mutex_init(&q->lock, NULL);
	q->state = QUORUM_STATE_NEW;
	q->status.node_id = q->node_id;
	q->status.leader_id = -1;
	q->last_leader = -1;
	return q;

err_after_alloc:
	quorum_free_config(q);
	free(q);
	if (*err != 0)
		return NULL;
err_nomem:
	*err = QUORUM_ENOMEM;
	return NULL;
}

/* Writes the voter configuration on first boot; later boots already hold one
 * (RAFT_CANTBOOTSTRAP, ignored). */
static int quorum_bootstrap(struct quorum *q)
{
	struct raft_configuration conf;
	raft_configuration_init(&conf);
	int rv = 0;
	for (size_t i = 0; i < q->n_voters && rv == 0; i++)
		rv = raft_configuration_add(&conf, (raft_id)q->voters[i].node_id + 1, q->voters[i].address,
					    RAFT_VOTER);
	if (rv == 0) {
		rv = raft_bootstrap(&q->raft, &conf);
		if (rv == 0)
			tlog(TLOG_INFO, QUORUM_LOG, "node=%" PRId32 " bootstrapped %zu voters in %s", q->node_id,
			     q->n_voters, q->data_dir);
		else if (rv == RAFT_CANTBOOTSTRAP)
			rv = 0; /* not the first boot */
		else
			tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " bootstrap in %s: %s (%s)", q->node_id,
			     q->data_dir, raft_strerror(rv), raft_errmsg(&q->raft));
	}
	raft_configuration_close(&conf);
	return rv;
}

int quorum_start(struct quorum *q)
{
	pthread_mutex_lock(&q->lock);
	bool fresh = q->state == QUORUM_STATE_NEW;
	pthread_mutex_unlock(&q->lock);
	if (!fresh)
		return QUORUM_EINVAL;

	int err = QUORUM_EIO;
	int rv = uv_loop_init(&q->loop);
	if (rv != 0) {
		tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " uv_loop_init: %s", q->node_id, uv_strerror(rv));
		goto err;
	}
	rv = raft_uv_tcp_init(&q->transport, &q->loop);
	if (rv != 0) {
		tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " raft transport: %s", q->node_id, raft_strerror(rv));
		goto err_after_loop;
	}
	if (q->bind_address[0] != '\0') {
		rv = raft_uv_tcp_set_bind_address(&q->transport, q->bind_address);
		if (rv != 0) {
			tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " bind address %s: %s", q->node_id,
			     q->bind_address, raft_strerror(rv));
			goto err_after_transport;
		}
	}
	rv = raft_uv_init(&q->io, &q->loop, q->data_dir, &q->transport);
	if (rv != 0) {
		tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " data dir %s: %s (%s)", q->node_id, q->data_dir,
		     raft_strerror(rv), q->io.errmsg);
		goto err_after_transport;
	}
	if (q->segment_size != 0)
		raft_uv_set_segment_size(&q->io, q->segment_size);
	raft_uv_set_connect_retry_delay(&q->io, q->connect_retry_ms);

	q->raft_fsm.version = 1;
	q->raft_fsm.data = q;
	q->raft_fsm.apply = quorum_fsm_apply;
	q->raft_fsm.snapshot = quorum_fsm_snapshot;
	q->raft_fsm.restore = quorum_fsm_restore;
	rv = raft_init(&q->raft, &q->io, &q->raft_fsm, q->raft_id, q->address);
	if (rv != 0) {
		tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " raft_init: %s (%s)", q->node_id, raft_strerror(rv),
		     raft_errmsg(&q->raft));
		goto err_after_io;
	}
	q->raft.data = q;
	raft_set_election_timeout(&q->raft, q->election_timeout_ms);
	raft_set_heartbeat_timeout(&q->raft, q->heartbeat_ms); /* also raft's tick: before raft_start */
	raft_set_snapshot_threshold(&q->raft, q->snapshot_threshold);
	raft_set_snapshot_trailing(&q->raft, q->snapshot_trailing);
	raft_set_pre_vote(&q->raft, true); /* a live follower refuses votes: one round instead of two */

	/* A node outside the voters waits to be added as a standby. */
	if (q->is_voter) {
		rv = quorum_bootstrap(q);
		if (rv != 0)
			goto err_after_raft;
	}
	rv = raft_start(&q->raft);
	if (rv != 0) {
		/* A busy port is RAFT_IOERR with an empty message. */
		const char *msg = raft_errmsg(&q->raft);
		tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " start on %s: %s (%s)", q->node_id, q->address,
		     raft_strerror(rv),
		     msg[0] != '\0' ? msg : rv == RAFT_IOERR ? "is the port in use?" : "no detail");
		goto err_after_raft;
	}

	q->wake.data = q;
	q->publish.data = q;
	rv = uv_async_init(&q->loop, &q->wake, quorum_wake_cb);
	if (rv != 0)
		goto err_after_raft;
	q->wake_ready = true;
	uv_prepare_init(&q->loop, &q->publish); /* cannot fail */
	q->publish_ready = true;
	uv_prepare_start(&q->publish, quorum_publish_cb);
	quorum_publish_now(q);

	pthread_mutex_lock(&q->lock);
	q->state = QUORUM_STATE_RUNNING;
	q->accepting = true;
	pthread_mutex_unlock(&q->lock);
	rv = pthread_create(&q->thread, NULL, quorum_thread_main, q);
	if (rv != 0) {
		tlog(TLOG_ERROR, QUORUM_LOG, "node=%" PRId32 " raft thread: %s", q->node_id, strerror(rv));
		pthread_mutex_lock(&q->lock);
		q->accepting = false;
		pthread_mutex_unlock(&q->lock);
		rv = RAFT_NOMEM;
		goto err_after_raft;
	}
	tlog(TLOG_INFO, QUORUM_LOG, "node=%" PRId32 " started on %s as %s, data in %s", q->node_id, q->address,
	     q->is_voter ? "a voter" : "a standby-to-be", q->data_dir);
	return 0;

err_after_raft:
	/* Its close callback releases io and transport and closes our handles;
	 * the loop runs here, on the caller's thread, until that is done. */
	if (rv == RAFT_NOMEM)
		err = QUORUM_ENOMEM;
	quorum_close_raft(q);
	goto err_after_loop;
err_after_io:
	raft_uv_close(&q->io);
err_after_transport:
	raft_uv_tcp_close(&q->transport);
err_after_loop:
	uv_run(&q->loop, UV_RUN_DEFAULT);
	uv_loop_close(&q->loop);
err:
	pthread_mutex_lock(&q->lock);
	q->state = QUORUM_STATE_STOPPED;
	q->accepting = false;
	pthread_mutex_unlock(&q->lock);
	return err;
}

void quorum_stop(struct quorum *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->state != QUORUM_STATE_RUNNING) {
		if (q->state == QUORUM_STATE_NEW)
			q->state = QUORUM_STATE_STOPPED;
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->state = QUORUM_STATE_STOPPING;
	q->accepting = false;
	q->stopping = true;
	uv_async_send(&q->wake); /* under lock: the handle is open while accepting/stopping is unseen */
	pthread_mutex_unlock(&q->lock);

	pthread_join(q->thread, NULL);
	int rv = uv_loop_close(&q->loop);
	if (rv != 0)
		tlog(TLOG_WARN, QUORUM_LOG, "node=%" PRId32 " loop close: %s", q->node_id, uv_strerror(rv));

	/* Nothing can be queued once accepting is false, and the last wake-up
	 * drained the inbox; this is only a guard. */
	pthread_mutex_lock(&q->lock);
	struct quorum_completion *c = q->inbox_head;
	q->inbox_head = q->inbox_tail = NULL;
	q->state = QUORUM_STATE_STOPPED;
	pthread_mutex_unlock(&q->lock);
	while (c != NULL) {
		struct quorum_completion *next = c->next;
		quorum_fail_op(c, QUORUM_ESHUTDOWN);
		c = next;
	}
}

void quorum_free(struct quorum *q)
{
	if (q == NULL)
		return;
	quorum_stop(q);
	pthread_mutex_destroy(&q->lock);
	quorum_free_config(q);
	free(q);
}

/* Queues `c` for the raft thread; takes ownership on success. */
static int quorum_enqueue(struct quorum *q, struct quorum_completion *c)
{
	pthread_mutex_lock(&q->lock);
	if (!q->accepting) {
		pthread_mutex_unlock(&q->lock);
		return QUORUM_ESHUTDOWN;
	}
	c->next = NULL;
	if (q->inbox_tail != NULL)
		q->inbox_tail->next = c;
	else
		q->inbox_head = c;
	q->inbox_tail = c;
	uv_async_send(&q->wake);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int quorum_propose(struct quorum *q, const void *buf, size_t len, struct quorum_sink *sink,
		   quorum_propose_cb cb, void *arg)
{
	if (cb == NULL || buf == NULL || len == 0 || len > QUORUM_ENTRY_MAX)
		return QUORUM_EINVAL;
	struct quorum_completion *c = calloc(1, sizeof *c);
	if (c == NULL)
		return QUORUM_ENOMEM;
	size_t padded = quorum_padded_len(len);
	c->buf = raft_malloc(padded);
	if (c->buf == NULL) {
		free(c);
		return QUORUM_ENOMEM;
	}
	memcpy(c->buf, buf, len);
	memset((uint8_t *)c->buf + len, 0, padded - len);
	((uint8_t *)c->buf)[padded - 1] = (uint8_t)(padded - len);
	c->len = padded;
	c->kind = QUORUM_OP_PROPOSE;
	c->q = q;
	c->sink = sink;
	c->cb = cb;
	c->arg = arg;
	int rv = quorum_enqueue(q, c);
	if (rv != 0) {
		raft_free(c->buf);
		free(c);
	}
	return rv;
}

int quorum_add_standby(struct quorum *q, int32_t node_id, const char *address, struct quorum_sink *sink,
		       quorum_propose_cb cb, void *arg)
{
	if (cb == NULL || node_id < 0 || !quorum_address_valid(address))
		return QUORUM_EINVAL;
	struct quorum_completion *c = calloc(1, sizeof *c);
	if (c == NULL)
		return QUORUM_ENOMEM;
	c->kind = QUORUM_OP_ADD_STANDBY;
	c->q = q;
	c->sink = sink;
	c->cb = cb;
	c->arg = arg;
	c->id = (raft_id)node_id + 1;
	quorum_copy_address(c->address, address);
	int rv = quorum_enqueue(q, c);
	if (rv != 0)
		free(c);
	return rv;
}

int quorum_barrier(struct quorum *q, struct quorum_sink *sink, quorum_propose_cb cb, void *arg)
{
	if (cb == NULL)
		return QUORUM_EINVAL;
	struct quorum_completion *c = calloc(1, sizeof *c);
	if (c == NULL)
		return QUORUM_ENOMEM;
	c->kind = QUORUM_OP_BARRIER;
	c->q = q;
	c->sink = sink;
	c->cb = cb;
	c->arg = arg;
	int rv = quorum_enqueue(q, c);
	if (rv != 0)
		free(c);
	return rv;
}

void quorum_status(struct quorum *q, struct quorum_status *out)
{
	pthread_mutex_lock(&q->lock);
	*out = q->status;
	pthread_mutex_unlock(&q->lock);
}
