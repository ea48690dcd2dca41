/* quorum: three (and four) real raft members in one process, on 127.0.0.1
 * ports and temp dirs, election/heartbeat 200/20 ms: election, ordered
 * replication, not-leader answers, failover, rejoin through a snapshot, a
 * standby joining, bad configurations, stop with proposals in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "broker/logger.h"
#include "raft/quorum.h"

#define N_VOTERS 3
#define MAX_NODES 4
#define ELECTION_MS 200
#define HEARTBEAT_MS 20

/* ---- a state machine that records every value it applies ---- */

struct tfsm {
	pthread_mutex_t lock;
	uint64_t *values; /* applied payloads, in order */
	size_t n, cap;
	uint64_t last_index; /* index of the last apply; 0 after a restore */
	int out_of_order;    /* applies whose index did not grow */
	int zero_terms;      /* applies given term 0 */
	int restores;
	int snapshots;
	int role_changes;
};

static void tfsm_init(struct tfsm *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->lock, NULL);
}

static void tfsm_close(struct tfsm *f)
{
	free(f->values);
	pthread_mutex_destroy(&f->lock);
}

static void tfsm_push(struct tfsm *f, uint64_t v)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->values = realloc(f->values, f->cap * sizeof *f->values);
		assert_non_null(f->values);
	}
	f->values[f->n++] = v;
}

static void tfsm_apply_cb(void *arg, const void *buf, size_t len, uint64_t index, uint64_t term)
{
	struct tfsm *f = arg;
	pthread_mutex_lock(&f->lock);
	if (index <= f->last_index)
		f->out_of_order++;
	if (term == 0)
		f->zero_terms++;
	f->last_index = index;
	uint64_t v = UINT64_MAX; /* a payload we cannot read is recorded, not fatal */
	if (len == sizeof v)
		memcpy(&v, buf, sizeof v);
	tfsm_push(f, v);
	pthread_mutex_unlock(&f->lock);
}

/* Snapshot: [u64 count][u64 values...]. */
static int tfsm_snapshot_cb(void *arg, void **buf, size_t *len)
{
	struct tfsm *f = arg;
	pthread_mutex_lock(&f->lock);
	size_t bytes = (f->n + 1) * sizeof(uint64_t);
	uint64_t *out = malloc(bytes);
	out[0] = f->n;
	memcpy(out + 1, f->values, f->n * sizeof(uint64_t));
	f->snapshots++;
	pthread_mutex_unlock(&f->lock);
	*buf = out;
	*len = bytes;
	return 0;
}

static int tfsm_restore_cb(void *arg, const void *buf, size_t len)
{
	struct tfsm *f = arg;
	uint64_t count;
	if (len < sizeof count)
		return -1;
	memcpy(&count, buf, sizeof count);
	if (count != len / sizeof(uint64_t) - 1)
		return -1;
	pthread_mutex_lock(&f->lock);
	f->n = 0;
	for (size_t i = 0; i < count; i++) {
		uint64_t v;
		memcpy(&v, (const uint8_t *)buf + (i + 1) * sizeof v, sizeof v);
		tfsm_push(f, v);
	}
	f->last_index = 0;
	f->restores++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static void tfsm_role_cb(void *arg, int role, int32_t leader_id, uint64_t term)
{
	struct tfsm *f = arg;
	pthread_mutex_lock(&f->lock);
	f->role_changes++;
	pthread_mutex_unlock(&f->lock);
}

static size_t tfsm_count(struct tfsm *f)
{
	pthread_mutex_lock(&f->lock);
	size_t n = f->n;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* ---- a cluster of members in this process ---- */

struct node {
	struct quorum *q; /* NULL while down */
	struct tfsm fsm;
	char dir[128];
	char address[32];
	int32_t node_id;
};

struct cluster {
	char base_dir[64];
	struct quorum_voter voters[N_VOTERS];
	struct node nodes[MAX_NODES];
	unsigned snapshot_threshold;
	unsigned snapshot_trailing;
	/* Completions of proposals made from the test thread arrive through a
	 * libevent loop, the way a broker's network thread would get them. */
	struct event_base *base;
	struct event *drain_ev;
	struct event *tick_ev;
	struct quorum_sink sink;
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A port nobody listens on right now (the kernel's pick). */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t alen = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void sink_notify_cb(void *arg)
{
	event_active(arg, 0, 0); /* from the raft thread: libevent is thread-safe here */
}

static void sink_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	quorum_sink_drain(arg);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

static void node_start(struct cluster *c, int i)
{
	struct node *n = &c->nodes[i];
	struct quorum_config cfg = {
		.node_id = n->node_id,
		.data_dir = n->dir,
		.address = n->address,
		.voters = c->voters,
		.n_voters = N_VOTERS,
		.election_timeout_ms = ELECTION_MS,
		.heartbeat_ms = HEARTBEAT_MS,
		.snapshot_threshold = c->snapshot_threshold,
		.snapshot_trailing = c->snapshot_trailing,
		.segment_size = 64 * 1024,
	};
	struct quorum_fsm fsm = {
		.arg = &n->fsm,
		.apply_cb = tfsm_apply_cb,
		.snapshot_cb = tfsm_snapshot_cb,
		.restore_cb = tfsm_restore_cb,
		.role_cb = tfsm_role_cb,
	};
	int err = 0;
	n->q = quorum_new(&cfg, &fsm, &err);
	assert_non_null(n->q);
	assert_int_equal(quorum_start(n->q), 0);
}

static void node_stop(struct cluster *c, int i)
{
	quorum_free(c->nodes[i].q);
	c->nodes[i].q = NULL;
}

static int cluster_setup_with(void **state, unsigned threshold, unsigned trailing)
{
	struct cluster *c = calloc(1, sizeof *c);
	snprintf(c->base_dir, sizeof c->base_dir, "/tmp/tern-quorum-XXXXXX");
	assert_non_null(mkdtemp(c->base_dir));
	char base_dir[sizeof c->base_dir];
	memcpy(base_dir, c->base_dir, sizeof base_dir);
	c->snapshot_threshold = threshold;
	c->snapshot_trailing = trailing;
	for (int i = 0; i < MAX_NODES; i++) {
		struct node *n = &c->nodes[i];
		tfsm_init(&n->fsm);
		n->node_id = i; /* Kafka ids start at 0 */
		snprintf(n->dir, sizeof n->dir, "%s/node-%d", base_dir, i);
		assert_int_equal(mkdir(n->dir, 0700), 0);
		snprintf(n->address, sizeof n->address, "127.0.0.1:%d", free_port());
		if (i < N_VOTERS) {
			c->voters[i].node_id = n->node_id;
			c->voters[i].address = n->address;
		}
	}
	c->base = event_base_new();
	assert_non_null(c->base);
	c->drain_ev = event_new(c->base, -1, 0, sink_drain_cb, &c->sink);
	quorum_sink_init(&c->sink, sink_notify_cb, c->drain_ev);
	c->tick_ev = event_new(c->base, -1, EV_PERSIST, tick_cb, NULL);
	struct timeval tv = {0, 5000};
	event_add(c->tick_ev, &tv);
	*state = c;
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int cluster_teardown(void **state)
{
	struct cluster *c = *state;
	for (int i = 0; i < MAX_NODES; i++)
		if (c->nodes[i].q != NULL)
			node_stop(c, i);
	quorum_sink_close(&c->sink);
	event_free(c->tick_ev);
	event_free(c->drain_ev);
	event_base_free(c->base);
	for (int i = 0; i < MAX_NODES; i++)
		tfsm_close(&c->nodes[i].fsm);
	nftw(c->base_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(c);
	return 0;
}

static int cluster_setup(void **state)
{
	return cluster_setup_with(state, 0, 0); /* raft's defaults: 1024 / 128 */
}

/* Small threshold and trailing: snapshots are taken, and a member that was
 * down for a while is sent one. */
static int cluster_setup_snapshots(void **state)
{
	return cluster_setup_with(state, 16, 4);
}

static void cluster_start_voters(struct cluster *c)
{
	for (int i = 0; i < N_VOTERS; i++)
		node_start(c, i);
}

/* The member every running voter agrees leads, or -1 after `timeout_ms`. */
static int wait_leader(struct cluster *c, uint64_t timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	do {
		for (int i = 0; i < N_VOTERS; i++) {
			if (c->nodes[i].q == NULL)
				continue;
			struct quorum_status s;
			quorum_status(c->nodes[i].q, &s);
			if (s.role != QUORUM_LEADER)
				continue;
			bool agreed = true;
			for (int j = 0; j < N_VOTERS; j++) {
				if (c->nodes[j].q == NULL)
					continue;
				struct quorum_status o;
				quorum_status(c->nodes[j].q, &o);
				agreed = agreed && o.leader_id == c->nodes[i].node_id;
			}
			if (agreed)
				return i;
		}
		usleep(2000);
	} while (now_ms() < deadline);
	return -1;
}

static bool wait_applied(struct cluster *c, int i, size_t count, uint64_t timeout_ms)
{
	uint64_t deadline = now_ms() + timeout_ms;
	while (tfsm_count(&c->nodes[i].fsm) < count) {
		if (now_ms() > deadline)
			return false;
		usleep(2000);
	}
	return true;
}

/* Node i's FSM holds exactly first..first+count-1, once each, in order. */
static void assert_values(struct cluster *c, int i, uint64_t count)
{
	struct tfsm *f = &c->nodes[i].fsm;
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->n, count);
	for (uint64_t k = 0; k < count; k++)
		assert_int_equal(f->values[k], k);
	assert_int_equal(f->out_of_order, 0);
	assert_int_equal(f->zero_terms, 0);
	pthread_mutex_unlock(&f->lock);
}

struct prop {
	int status;
	uint64_t index;
	int calls;
	pthread_t thread; /* where the callback ran */
	size_t *n_done;
};

static void prop_cb(void *arg, int status, uint64_t index)
{
	struct prop *p = arg;
	p->status = status;
	p->index = index;
	p->calls++;
	p->thread = pthread_self();
	(*p->n_done)++;
}

/* Proposes values first..first+count-1 to node i from this (non-raft) thread
 * and runs the libevent loop until every completion came back. */
static uint64_t propose_values(struct cluster *c, int i, uint64_t first, size_t count)
{
	struct prop *props = calloc(count, sizeof *props);
	size_t n_done = 0;
	for (size_t k = 0; k < count; k++) {
		uint64_t v = first + k;
		props[k].n_done = &n_done;
		assert_int_equal(quorum_propose(c->nodes[i].q, &v, sizeof v, &c->sink, prop_cb, &props[k]), 0);
	}
	uint64_t deadline = now_ms() + 5000;
	while (n_done < count && now_ms() < deadline)
		event_base_loop(c->base, EVLOOP_ONCE);
	assert_int_equal(n_done, count);
	uint64_t last = 0;
	for (size_t k = 0; k < count; k++) {
		assert_int_equal(props[k].status, 0);
		assert_int_equal(props[k].calls, 1);
		assert_true(pthread_equal(props[k].thread, pthread_self()));
		assert_true(props[k].index > last); /* log order = proposal order */
		last = props[k].index;
	}
	free(props);
	return last;
}

struct sync_result {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int status;
	uint64_t index;
};

static void sync_cb(void *arg, int status, uint64_t index)
{
	struct sync_result *r = arg;
	pthread_mutex_lock(&r->lock);
	r->done = true;
	r->status = status;
	r->index = index;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void sync_wait(struct sync_result *r)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&r->lock);
	while (!r->done)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&r->lock);
	assert_true(r->done);
}

/* ---- tests ---- */

static void quorum__elects_a_leader_and_applies_in_order_everywhere(void **state)
{
	struct cluster *c = *state;
	cluster_start_voters(c);
	int leader = wait_leader(c, 5000);
	assert_true(leader >= 0);

	uint64_t last = propose_values(c, leader, 0, 100);
	for (int i = 0; i < N_VOTERS; i++) {
		assert_true(wait_applied(c, i, 100, 5000));
		assert_values(c, i, 100);
	}

	/* Published state: every member knows the leader and has applied the
	 * last entry; the leader sees every voter's match index reach it. */
	uint64_t deadline = now_ms() + 3000;
	struct quorum_status s;
	for (;;) {
		quorum_status(c->nodes[leader].q, &s);
		bool caught_up = s.is_leader_view && s.n_members == N_VOTERS;
		for (size_t m = 0; caught_up && m < s.n_members; m++)
			caught_up = s.members[m].match_index >= last;
		if (caught_up || now_ms() > deadline)
			break;
		usleep(2000);
	}
	assert_int_equal(s.role, QUORUM_LEADER);
	assert_int_equal(s.leader_id, c->nodes[leader].node_id);
	assert_string_equal(s.leader_address, c->nodes[leader].address);
	assert_true(s.term > 0);
	assert_true(s.commit_index >= last);
	assert_true(s.last_applied >= last);
	assert_true(s.is_leader_view);
	assert_int_equal(s.n_members, N_VOTERS);
	for (size_t m = 0; m < s.n_members; m++) {
		assert_int_equal(s.members[m].node_id, (int32_t)m); /* bootstrap order */
		assert_int_equal(s.members[m].membership, QUORUM_VOTER);
		assert_string_equal(s.members[m].address, c->nodes[m].address);
		assert_true(s.members[m].match_index >= last);
	}
	for (int i = 0; i < N_VOTERS; i++) {
		if (i == leader)
			continue;
		/* Published at the end of the loop iteration that applied it. */
		deadline = now_ms() + 1000;
		do
			quorum_status(c->nodes[i].q, &s);
		while (s.last_applied < last && now_ms() < deadline && usleep(1000) == 0);
		assert_int_equal(s.role, QUORUM_FOLLOWER);
		assert_int_equal(s.leader_id, c->nodes[leader].node_id);
		assert_false(s.is_leader_view);
		assert_true(s.last_applied >= last);
	}
	pthread_mutex_lock(&c->nodes[leader].fsm.lock);
	assert_true(c->nodes[leader].fsm.role_changes > 0);
	pthread_mutex_unlock(&c->nodes[leader].fsm.lock);
}

static void quorum__follower_answers_not_leader(void **state)
{
	struct cluster *c = *state;
	cluster_start_voters(c);
	int leader = wait_leader(c, 5000);
	assert_true(leader >= 0);
	int follower = (leader + 1) % N_VOTERS;

	/* No sink: the callback runs on the follower's raft thread. */
	struct sync_result r = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	uint64_t v = 7;
	assert_int_equal(quorum_propose(c->nodes[follower].q, &v, sizeof v, NULL, sync_cb, &r), 0);
	sync_wait(&r);
	assert_int_equal(r.status, QUORUM_ENOTLEADER);
	assert_int_equal(r.index, 0);
	assert_string_equal(quorum_strerror(r.status), "not the leader");

	/* The follower points at the leader; nothing was applied anywhere. */
	struct quorum_status s;
	quorum_status(c->nodes[follower].q, &s);
	assert_int_equal(s.leader_id, c->nodes[leader].node_id);
	assert_string_equal(s.leader_address, c->nodes[leader].address);
	for (int i = 0; i < N_VOTERS; i++)
		assert_int_equal(tfsm_count(&c->nodes[i].fsm), 0);
}

static void quorum__failover_then_rejoin_from_snapshot(void **state)
{
	struct cluster *c = *state;
	cluster_start_voters(c);
	int old = wait_leader(c, 5000);
	assert_true(old >= 0);
	propose_values(c, old, 0, 40);
	for (int i = 0; i < N_VOTERS; i++)
		assert_true(wait_applied(c, i, 40, 5000));

	/* Stop the leader: it hands leadership over first. */
	uint64_t t0 = now_ms();
	node_stop(c, old);
	int leader = wait_leader(c, 3000);
	assert_true(leader >= 0);
	assert_int_not_equal(leader, old);
	print_message("stop of the leader to a new leader: %llu ms\n", (unsigned long long)(now_ms() - t0));

	/* Proposals continue; the stopped member misses them. */
	propose_values(c, leader, 40, 40);
	for (int i = 0; i < N_VOTERS; i++) {
		if (i == old)
			continue;
		assert_true(wait_applied(c, i, 80, 5000));
		assert_values(c, i, 80);
	}

	/* Restart from its data dir with an empty FSM, as a new process would:
	 * its own snapshot is restored, then the leader (whose log starts past
	 * the entries it lacks) sends a snapshot or the missing entries. */
	tfsm_close(&c->nodes[old].fsm);
	tfsm_init(&c->nodes[old].fsm);
	t0 = now_ms();
	node_start(c, old);
	assert_true(wait_applied(c, old, 80, 5000));
	print_message("restarted member caught up after %llu ms\n", (unsigned long long)(now_ms() - t0));
	/* A restore leaves the FSM with what the snapshot held, then the rest
	 * is applied: the end result is every value once, in order. */
	uint64_t deadline = now_ms() + 3000;
	while (now_ms() < deadline) {
		struct quorum_status s;
		quorum_status(c->nodes[old].q, &s);
		if (s.last_applied >= s.commit_index && s.commit_index > 0 && tfsm_count(&c->nodes[old].fsm) == 80)
			break;
		usleep(2000);
	}
	struct tfsm *f = &c->nodes[old].fsm;
	pthread_mutex_lock(&f->lock);
	assert_int_equal(f->n, 80);
	for (uint64_t k = 0; k < 80; k++)
		assert_int_equal(f->values[k], k);
	assert_true(f->restores >= 1);
	assert_int_equal(f->zero_terms, 0);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_lock(&c->nodes[leader].fsm.lock);
	assert_true(c->nodes[leader].fsm.snapshots >= 1);
	pthread_mutex_unlock(&c->nodes[leader].fsm.lock);

	/* It is a follower of the new leader again, and the quorum still takes
	 * proposals with all three. */
	assert_int_equal(wait_leader(c, 3000), leader);
	propose_values(c, leader, 80, 10);
	assert_true(wait_applied(c, old, 90, 5000));
}

static void quorum__standby_joins_and_replicates(void **state)
{
	struct cluster *c = *state;
	cluster_start_voters(c);
	int leader = wait_leader(c, 5000);
	assert_true(leader >= 0);
	propose_values(c, leader, 0, 20);

	/* Node 3 is not in the voters: it starts without bootstrapping. */
	node_start(c, 3);
	struct quorum_status s;
	quorum_status(c->nodes[3].q, &s);
	assert_int_equal(s.n_members, 0);

	struct sync_result r = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	assert_int_equal(quorum_add_standby(c->nodes[leader].q, 3, c->nodes[3].address, NULL, sync_cb, &r), 0);
	sync_wait(&r);
	assert_int_equal(r.status, 0);

	propose_values(c, leader, 20, 10);
	assert_true(wait_applied(c, 3, 30, 5000));
	assert_values(c, 3, 30);

	quorum_status(c->nodes[leader].q, &s);
	assert_int_equal(s.n_members, 4);
	assert_int_equal(s.members[3].node_id, 3);
	assert_int_equal(s.members[3].membership, QUORUM_STANDBY);
	quorum_status(c->nodes[3].q, &s);
	assert_int_equal(s.role, QUORUM_FOLLOWER);
	assert_int_equal(s.leader_id, c->nodes[leader].node_id);

	/* Adding it again is a no-op; a follower cannot add. */
	memset(&r, 0, sizeof r);
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	assert_int_equal(quorum_add_standby(c->nodes[leader].q, 3, c->nodes[3].address, NULL, sync_cb, &r), 0);
	sync_wait(&r);
	assert_int_equal(r.status, 0);
	memset(&r, 0, sizeof r);
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	int follower = (leader + 1) % N_VOTERS;
	assert_int_equal(quorum_add_standby(c->nodes[follower].q, 3, c->nodes[3].address, NULL, sync_cb, &r), 0);
	sync_wait(&r);
	assert_int_equal(r.status, QUORUM_ENOTLEADER);
}

static void quorum__stop_completes_every_proposal(void **state)
{
	struct cluster *c = *state;
	cluster_start_voters(c);
	int leader = wait_leader(c, 5000);
	assert_true(leader >= 0);

	enum { N = 300 };
	struct prop props[N];
	size_t n_done = 0;
	memset(props, 0, sizeof props);
	for (size_t k = 0; k < N; k++) {
		uint64_t v = k;
		props[k].n_done = &n_done;
		assert_int_equal(quorum_propose(c->nodes[leader].q, &v, sizeof v, &c->sink, prop_cb, &props[k]), 0);
	}
	/* Stop while proposals are queued, appended and committed: wait for the
	 * first completions so that some are in raft when it closes. */
	uint64_t deadline = now_ms() + 5000;
	while (n_done < 10 && now_ms() < deadline)
		event_base_loop(c->base, EVLOOP_ONCE);
	assert_true(n_done >= 10);
	/* Every completion is posted by the time quorum_stop returns. */
	struct quorum *q = c->nodes[leader].q;
	quorum_stop(q);
	uint64_t t0 = now_ms();
	struct quorum_status s;
	quorum_status(q, &s);
	assert_int_equal(s.role, QUORUM_UNAVAILABLE);
	assert_int_equal(s.leader_id, -1);
	uint64_t v = 1;
	assert_int_equal(quorum_propose(q, &v, sizeof v, &c->sink, prop_cb, &props[0]), QUORUM_ESHUTDOWN);
	quorum_stop(q); /* idempotent */
	node_stop(c, leader);

	quorum_sink_drain(&c->sink);
	assert_int_equal(n_done, N);
	size_t ok = 0;
	for (size_t k = 0; k < N; k++) {
		assert_int_equal(props[k].calls, 1);
		int st = props[k].status;
		assert_true(st == 0 || st == QUORUM_EUNKNOWN || st == QUORUM_ESHUTDOWN || st == QUORUM_ENOTLEADER);
		ok += st == 0;
	}
	assert_true(ok >= 10);
	print_message("%zu of %d committed before the stop\n", ok, N);

	/* The leadership transfer spares the survivors an election timeout. */
	int next = wait_leader(c, 3000);
	assert_true(next >= 0);
	print_message("new leader after %llu ms\n", (unsigned long long)(now_ms() - t0));
	/* Survivors hold the committed prefix, each value at most once. */
	propose_values(c, next, 1000, 1);
}

/* A leader left alone appends but cannot commit: its proposals end with the
 * "outcome unknown" error, never success, never silence. */
static void quorum__uncommitted_proposals_end_unknown(void **state)
{
	struct cluster *c = *state;
	cluster_start_voters(c);
	int leader = wait_leader(c, 5000);
	assert_true(leader >= 0);
	propose_values(c, leader, 0, 5);
	for (int i = 0; i < N_VOTERS; i++)
		if (i != leader)
			node_stop(c, i);

	struct quorum_status before;
	quorum_status(c->nodes[leader].q, &before);
	enum { N = 50 };
	struct prop props[N];
	size_t n_done = 0;
	memset(props, 0, sizeof props);
	for (size_t k = 0; k < N; k++) {
		uint64_t v = 100 + k;
		props[k].n_done = &n_done;
		assert_int_equal(quorum_propose(c->nodes[leader].q, &v, sizeof v, &c->sink, prop_cb, &props[k]), 0);
	}
	/* Wait until they are in its log (appended, not committed). */
	uint64_t deadline = now_ms() + 3000;
	struct quorum_status s;
	do {
		usleep(1000);
		quorum_status(c->nodes[leader].q, &s);
	} while (s.last_index < before.last_index + N && now_ms() < deadline);
	assert_true(s.last_index >= before.last_index + N);
	assert_true(s.commit_index <= before.last_index);
	node_stop(c, leader);
	quorum_sink_drain(&c->sink);
	assert_int_equal(n_done, N);
	for (size_t k = 0; k < N; k++) {
		assert_int_equal(props[k].calls, 1);
		assert_int_equal(props[k].status, QUORUM_EUNKNOWN);
	}
	assert_int_equal(tfsm_count(&c->nodes[leader].fsm), 5);
}

/* A one-voter quorum leads alone; a host name in the voters is resolved. */
static void quorum__single_voter_on_a_host_name_leads_alone(void **state)
{
	struct cluster *c = *state;
	struct node *n = &c->nodes[0];
	const char *port = strrchr(n->address, ':') + 1;
	char by_name[40];
	snprintf(by_name, sizeof by_name, "localhost:%s", port);
	struct quorum_voter one[1] = {{0, by_name}};
	struct quorum_config cfg = {.node_id = 0, .data_dir = n->dir, .voters = one, .n_voters = 1,
				    .election_timeout_ms = ELECTION_MS, .heartbeat_ms = HEARTBEAT_MS,
				    .segment_size = 64 * 1024};
	struct quorum_fsm fsm = {.arg = &n->fsm, .apply_cb = tfsm_apply_cb, .snapshot_cb = tfsm_snapshot_cb,
				 .restore_cb = tfsm_restore_cb};
	int err = 0;
	n->q = quorum_new(&cfg, &fsm, &err);
	assert_non_null(n->q);
	assert_int_equal(quorum_start(n->q), 0);
	uint64_t deadline = now_ms() + 3000;
	struct quorum_status s;
	do {
		usleep(2000);
		quorum_status(n->q, &s);
	} while (s.role != QUORUM_LEADER && now_ms() < deadline);
	assert_int_equal(s.role, QUORUM_LEADER);
	assert_int_equal(s.n_members, 1);
	assert_string_equal(s.members[0].address, n->address); /* 127.0.0.1:port */
	propose_values(c, 0, 0, 3);
	assert_values(c, 0, 3);

	struct quorum_voter nowhere[1] = {{0, "no-such-host.invalid:9093"}};
	cfg.voters = nowhere;
	assert_null(quorum_new(&cfg, &fsm, &err));
	assert_int_equal(err, QUORUM_EINVAL);
}

static void quorum__rejects_bad_configurations(void **state)
{
	struct cluster *c = *state;
	struct quorum_fsm fsm = {
		.arg = &c->nodes[0].fsm,
		.apply_cb = tfsm_apply_cb,
		.snapshot_cb = tfsm_snapshot_cb,
		.restore_cb = tfsm_restore_cb,
	};
	struct quorum_voter dup[2] = {{0, "127.0.0.1:1"}, {0, "127.0.0.1:2"}};
	struct quorum_voter bad[1] = {{0, "127.0.0.1"}};
	struct quorum_voter one[1] = {{0, c->nodes[0].address}};
	struct quorum_config cfg = {.node_id = 0, .data_dir = c->nodes[0].dir, .voters = dup, .n_voters = 2};
	int err = 0;

	assert_null(quorum_new(&cfg, &fsm, &err));
	assert_int_equal(err, QUORUM_EINVAL);
	cfg.voters = bad;
	cfg.n_voters = 1;
	assert_null(quorum_new(&cfg, &fsm, &err));
	assert_int_equal(err, QUORUM_EINVAL);
	cfg.voters = one;
	cfg.heartbeat_ms = 300;
	cfg.election_timeout_ms = 300;
	assert_null(quorum_new(&cfg, &fsm, &err));
	assert_int_equal(err, QUORUM_EINVAL);
	cfg.heartbeat_ms = 0;
	cfg.election_timeout_ms = 0;
	cfg.node_id = 5; /* not a voter and no address of its own */
	assert_null(quorum_new(&cfg, &fsm, &err));
	assert_int_equal(err, QUORUM_EINVAL);
	cfg.node_id = 0;
	struct quorum_fsm no_snapshot = fsm;
	no_snapshot.snapshot_cb = NULL;
	assert_null(quorum_new(&cfg, &no_snapshot, &err));
	assert_int_equal(err, QUORUM_EINVAL);

	/* A missing data dir fails at start, with nothing left running. */
	char missing[160];
	snprintf(missing, sizeof missing, "%s/absent", c->base_dir);
	cfg.data_dir = missing;
	struct quorum *q = quorum_new(&cfg, &fsm, &err);
	assert_non_null(q);
	uint64_t v = 1;
	struct sync_result r = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	assert_int_equal(quorum_propose(q, &v, sizeof v, NULL, sync_cb, &r), QUORUM_ESHUTDOWN);
	assert_int_equal(quorum_start(q), QUORUM_EIO);
	quorum_free(q);

	/* A busy port too. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = free_port();
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 1), 0);
	char busy[32];
	snprintf(busy, sizeof busy, "127.0.0.1:%d", port);
	struct quorum_voter busy_voter[1] = {{0, busy}};
	cfg.voters = busy_voter;
	cfg.data_dir = c->nodes[0].dir;
	q = quorum_new(&cfg, &fsm, &err);
	assert_non_null(q);
	assert_int_equal(quorum_start(q), QUORUM_EIO);
	assert_int_equal(quorum_start(q), QUORUM_EINVAL); /* at most once */
	quorum_free(q);
	close(fd);
}

int main(void)
{
	/* The process's job, as quorum.h says: raft writes to dead peers. */
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	if (getenv("TERN_LOG_LEVEL") == NULL)
		logger_set_level(TLOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(quorum__elects_a_leader_and_applies_in_order_everywhere,
						cluster_setup, cluster_teardown),
		cmocka_unit_test_setup_teardown(quorum__follower_answers_not_leader, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(quorum__failover_then_rejoin_from_snapshot,
						cluster_setup_snapshots, cluster_teardown),
		cmocka_unit_test_setup_teardown(quorum__standby_joins_and_replicates, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(quorum__stop_completes_every_proposal, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(quorum__uncommitted_proposals_end_unknown, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(quorum__single_voter_on_a_host_name_leads_alone, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(quorum__rejects_bad_configurations, cluster_setup,
						cluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
