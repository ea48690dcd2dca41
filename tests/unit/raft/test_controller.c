/* The controller on a 3-node raft_fixture (in-memory raft, virtual time).
 *
 * Each node runs an FSM that applies entries (record_batch.h) to its own
 * metadata image, and owns a controller; only the raft leader's is active.
 * Proposals go through raft_apply on the leader and the test steps the
 * fixture until every node applied them. Brokers are simulated by the test:
 * they register, heartbeat and send AlterPartition at chosen virtual times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <raft.h>
#include <raft/fixture.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/errors.h"
#include "raft/controller.h"
#include "raft/image.h"
#include "raft/record_batch.h"

#define N 3
#define SESSION_MS 1000
#define MAX_APPLIES 64

struct node {
	struct metadata_image *img; /* owned */
	struct raft_fixture *f;
	unsigned i;
};

struct apply {
	struct raft_apply req;
	struct controller *ctl;
	struct controller_proposal *p;
	bool done;
	int status;
};

struct cluster {
	struct raft_fixture f;
	struct raft_fsm fsms[N];
	struct node nodes[N];
	struct controller *ctl[N];
	struct apply *applies[MAX_APPLIES];
	size_t n_applies;
};

/* ---- FSM --------------------------------------------------------------------- */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct node *n = fsm->data;
	struct metadata_image *next;
	assert_int_equal(record_batch_apply(n->img, buf->base, buf->len, &next), 0);
	struct raft *r = raft_fixture_get(n->f, n->i);
	if (next != n->img)
		image_set_position(next, r->last_applied + 1, r->current_term);
	image_unref(n->img);
	n->img = next;
	*result = NULL;
	return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct node *n = fsm->data;
	size_t len;
	assert_int_equal(image_snapshot_size(n->img, &len), 0);
	struct raft_buffer *b = raft_malloc(sizeof *b);
	b->base = raft_malloc(len);
	b->len = len;
	assert_int_equal(image_snapshot_write(n->img, b->base, len), 0);
	*bufs = b;
	*n_bufs = 1;
	return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct node *n = fsm->data;
	struct metadata_image *img;
	if (image_from_snapshot(buf->base, buf->len, &img) != 0)
		return RAFT_MALFORMED;
	image_unref(n->img);
	n->img = img;
	raft_free(buf->base);
	return 0;
}

/* ---- cluster ----------------------------------------------------------------------- */

/* leader_balance_interval_ms of the next cluster_setup (0: no balancing). */
static int64_t setup_balance_ms;

static int cluster_setup(void **state)
{
	struct cluster *c = calloc(1, sizeof *c);
	assert_non_null(c);
	assert_int_equal(raft_fixture_initialize(&c->f), 0);
	struct controller_config cfg = {
		.session_timeout_ms = SESSION_MS,
		.default_partitions = 1,
		.default_replication_factor = 1,
		.seed = 42,
		.leader_balance_interval_ms = setup_balance_ms,
	};
	for (unsigned i = 0; i < N; i++) {
		c->nodes[i] = (struct node){.img = image_empty(), .f = &c->f, .i = i};
		c->fsms[i] = (struct raft_fsm){.version = 1,
					       .data = &c->nodes[i],
					       .apply = fsm_apply,
					       .snapshot = fsm_snapshot,
					       .restore = fsm_restore};
		assert_int_equal(raft_fixture_grow(&c->f, &c->fsms[i]), 0);
		cfg.seed = 42 + i; /* as random per process in the broker */
		c->ctl[i] = controller_new(&cfg);
		assert_non_null(c->ctl[i]);
	}
	struct raft_configuration conf;
	assert_int_equal(raft_fixture_configuration(&c->f, N, &conf), 0);
	assert_int_equal(raft_fixture_bootstrap(&c->f, &conf), 0);
	raft_configuration_close(&conf);
	assert_int_equal(raft_fixture_start(&c->f), 0);
	*state = c;
	return 0;
}

static int cluster_teardown(void **state)
{
	struct cluster *c = *state;
	raft_fixture_close(&c->f); /* pending applies fail into live controllers */
	for (unsigned i = 0; i < N; i++)
		controller_free(c->ctl[i]);
	for (size_t i = 0; i < c->n_applies; i++)
		free(c->applies[i]);
	for (unsigned i = 0; i < N; i++)
		image_unref(c->nodes[i].img);
	free(c);
	return 0;
}

static int64_t now(struct cluster *c)
{
	return (int64_t)raft_fixture_time(&c->f);
}

static unsigned leader(struct cluster *c)
{
	unsigned l = raft_fixture_leader_index(&c->f);
	assert_true(l < N);
	return l;
}

static bool barrier_done;

static void barrier_cb(struct raft_barrier *req, int status)
{
	(void)req;
	assert_int_equal(status, 0);
	barrier_done = true;
}

static bool barrier_stop(struct raft_fixture *f, void *arg)
{
	(void)f;
	(void)arg;
	return barrier_done;
}

/* What the quorum does on leadership: a barrier, then the controller starts
 * on the image that holds every earlier entry. */
static struct controller *activate(struct cluster *c, unsigned i)
{
	struct raft_barrier req;
	barrier_done = false;
	assert_int_equal(raft_barrier(raft_fixture_get(&c->f, i), &req, barrier_cb), 0);
	assert_true(raft_fixture_step_until(&c->f, barrier_stop, NULL, 5000));
	assert_int_equal(controller_activate(c->ctl[i], c->nodes[i].img, now(c)), 0);
	return c->ctl[i];
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
	(void)result;
	struct apply *a = req->data;
	a->done = true;
	a->status = status;
	if (a->p != NULL)
		controller_proposal_done(a->ctl, a->p, status, req->index);
	a->p = NULL;
}

/* Appends `p` (NULL: nothing) on node i; returns its tracker. */
static struct apply *propose(struct cluster *c, unsigned i, struct controller_proposal *p)
{
	if (p == NULL)
		return NULL;
	size_t len;
	assert_int_equal(controller_proposal_encoded_size(p, &len), 0);
	struct raft_buffer buf = {.base = raft_malloc(len), .len = len};
	assert_int_equal(controller_proposal_encode_into(p, buf.base, len), 0);
	struct apply *a = calloc(1, sizeof *a);
	assert_non_null(a);
	assert_true(c->n_applies < MAX_APPLIES);
	c->applies[c->n_applies++] = a;
	a->ctl = c->ctl[i];
	a->p = p;
	a->req.data = a;
	int rv = raft_apply(raft_fixture_get(&c->f, i), &a->req, &buf, 1, apply_cb);
	if (rv != 0) {
		raft_free(buf.base);
		apply_cb(&a->req, rv, NULL);
	}
	return a;
}

static bool apply_stop(struct raft_fixture *f, void *arg)
{
	(void)f;
	return ((struct apply *)arg)->done;
}

/* Proposes and steps until every node applied it. */
static void commit(struct cluster *c, unsigned i, struct controller_proposal *p)
{
	struct apply *a = propose(c, i, p);
	if (a == NULL)
		return;
	assert_true(raft_fixture_step_until(&c->f, apply_stop, a, 5000));
	assert_int_equal(a->status, 0);
	assert_true(raft_fixture_step_until_applied(&c->f, N, a->req.index, 5000));
}

static uint64_t applied(struct cluster *c, unsigned i)
{
	return raft_last_applied(raft_fixture_get(&c->f, i));
}

static int64_t register_broker(struct cluster *c, unsigned l, int32_t id, const char *rack)
{
	static const struct metadata_endpoint ep = {.name = "PLAINTEXT", .host = "localhost", .port = 9092};
	struct controller_registration req = {.broker_id = id, .endpoints = &ep, .n_endpoints = 1, .rack = rack};
	req.incarnation_id[0] = (uint8_t)(id + 1);
	struct controller_registration_reply reply;
	struct controller_proposal *p;
	assert_int_equal(controller_register_broker(c->ctl[l], &req, now(c), &reply, &p), 0);
	assert_int_equal(reply.error_code, 0);
	assert_non_null(p);
	commit(c, l, p);
	return reply.broker_epoch;
}

static struct controller_heartbeat_reply heartbeat(struct cluster *c, unsigned l, int32_t id, int64_t epoch, bool fence)
{
	struct controller_heartbeat req = {.broker_id = id,
					   .broker_epoch = epoch,
					   .current_metadata_offset = (int64_t)applied(c, l),
					   .want_fence = fence};
	struct controller_heartbeat_reply reply;
	struct controller_proposal *p;
	assert_int_equal(controller_heartbeat(c->ctl[l], &req, now(c), &reply, &p), 0);
	commit(c, l, p);
	return reply;
}

/* Registers brokers 0..n-1 and unfences them; epochs into `epochs`. */
static void start_brokers(struct cluster *c, unsigned l, int n, const char *const *racks, int64_t *epochs)
{
	for (int id = 0; id < n; id++)
		epochs[id] = register_broker(c, l, id, racks != NULL ? racks[id] : NULL);
	for (int id = 0; id < n; id++) {
		struct controller_heartbeat_reply r = heartbeat(c, l, id, epochs[id], false);
		assert_int_equal(r.error_code, 0);
		assert_true(r.is_caught_up);
		assert_false(r.is_fenced);
	}
}

/* Every node's image has the same view of broker `id`. */
static void assert_broker_everywhere(struct cluster *c, int32_t id, int64_t epoch, bool fenced)
{
	for (unsigned i = 0; i < N; i++) {
		const struct image_broker *b = image_broker(c->nodes[i].img, id);
		assert_non_null(b);
		assert_int_equal(b->epoch, epoch);
		assert_int_equal(b->fenced, fenced);
	}
}

static const struct image_partition *partition_on(struct cluster *c, unsigned node, const char *topic, int32_t p)
{
	const struct image_topic *t = image_topic_by_name(c->nodes[node].img, topic);
	assert_non_null(t);
	const struct image_partition *part = image_topic_partition(t, p);
	assert_non_null(part);
	return part;
}

/* Every node agrees on the partition; returns node 0's. */
static const struct image_partition *partition(struct cluster *c, const char *topic, int32_t p)
{
	const struct image_partition *a = partition_on(c, 0, topic, p);
	for (unsigned i = 1; i < N; i++) {
		const struct image_partition *b = partition_on(c, i, topic, p);
		assert_int_equal(a->leader, b->leader);
		assert_int_equal(a->leader_epoch, b->leader_epoch);
		assert_int_equal(a->partition_epoch, b->partition_epoch);
		assert_int_equal(a->isr.n, b->isr.n);
		assert_memory_equal(a->isr.ids, b->isr.ids, a->isr.n * sizeof(int32_t));
		assert_int_equal(a->replicas.n, b->replicas.n);
		assert_memory_equal(a->replicas.ids, b->replicas.ids, a->replicas.n * sizeof(int32_t));
	}
	return a;
}

static int16_t create_topic(struct cluster *c, unsigned l, const char *name, int32_t parts, int16_t rf,
			    const struct controller_assignment *a, size_t n_a, const struct controller_topic_config *cfg,
			    size_t n_cfg)
{
	struct controller_new_topic t = {.name = name,
					 .num_partitions = parts,
					 .replication_factor = rf,
					 .assignments = a,
					 .n_assignments = n_a,
					 .configs = cfg,
					 .n_configs = n_cfg};
	struct controller_proposal *p;
	assert_int_equal(controller_create_topics(c->ctl[l], &t, 1, false, now(c), &p), 0);
	commit(c, l, p);
	return t.error_code;
}

/* Steps virtual time by `ms`, with brokers in `alive` heartbeating every
 * 100 ms and the controller ticking. */
static void run(struct cluster *c, unsigned l, unsigned ms, const bool *alive, const int64_t *epochs, int n)
{
	for (unsigned t = 0; t < ms; t += 100) {
		raft_fixture_step_until_elapsed(&c->f, 100);
		for (int id = 0; id < n; id++)
			if (alive[id])
				heartbeat(c, l, id, epochs[id], false);
		struct controller_proposal *p;
		assert_int_equal(controller_tick(c->ctl[l], now(c), &p), 0);
		commit(c, l, p);
	}
}

static bool node1_leads(struct raft_fixture *f, void *arg)
{
	(void)arg;
	return raft_state(raft_fixture_get(f, 1)) == RAFT_LEADER;
}

static void elect_first(struct cluster *c)
{
	raft_fixture_elect(&c->f, 0);
	assert_int_equal(leader(c), 0);
	activate(c, 0);
}

/* ---- tests ------------------------------------------------------------------------------ */

static void controller__registration_reaches_every_image(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t e0 = register_broker(c, 0, 0, NULL);
	int64_t e1 = register_broker(c, 0, 1, "r1");
	assert_true(e1 > e0);
	assert_broker_everywhere(c, 0, e0, true);
	assert_broker_everywhere(c, 1, e1, true);
	for (unsigned i = 0; i < N; i++)
		assert_string_equal(image_broker(c->nodes[i].img, 1)->rack, "r1");

	/* Not caught up yet (offset before its registration): stays fenced. */
	struct controller_heartbeat req = {.broker_id = 0, .broker_epoch = e0, .current_metadata_offset = 1};
	struct controller_heartbeat_reply reply;
	struct controller_proposal *p;
	assert_int_equal(controller_heartbeat(c->ctl[0], &req, now(c), &reply, &p), 0);
	assert_null(p);
	assert_false(reply.is_caught_up);
	assert_true(reply.is_fenced);

	/* Caught up: unfenced on every node. */
	reply = heartbeat(c, 0, 0, e0, false);
	assert_true(reply.is_caught_up);
	assert_false(reply.is_fenced);
	assert_broker_everywhere(c, 0, e0, false);

	/* A stale epoch and an unknown broker. */
	req.broker_epoch = e0 - 1;
	assert_int_equal(controller_heartbeat(c->ctl[0], &req, now(c), &reply, &p), 0);
	assert_int_equal(reply.error_code, KERR_STALE_BROKER_EPOCH);
	req.broker_id = 9;
	assert_int_equal(controller_heartbeat(c->ctl[0], &req, now(c), &reply, &p), 0);
	assert_int_equal(reply.error_code, KERR_BROKER_ID_NOT_REGISTERED);

	/* Another incarnation of a live broker is refused; a restart of the
	 * same one after its session is a new, fenced epoch. */
	static const struct metadata_endpoint ep = {.name = "PLAINTEXT", .host = "h", .port = 1};
	struct controller_registration dup = {.broker_id = 0, .endpoints = &ep, .n_endpoints = 1};
	dup.incarnation_id[0] = 0xee;
	struct controller_registration_reply rr;
	assert_int_equal(controller_register_broker(c->ctl[0], &dup, now(c), &rr, &p), 0);
	assert_int_equal(rr.error_code, KERR_DUPLICATE_BROKER_REGISTRATION);
	assert_null(p);

	/* A node that is not the leader answers NOT_CONTROLLER. */
	assert_int_equal(controller_register_broker(c->ctl[1], &dup, now(c), &rr, &p), 0);
	assert_int_equal(rr.error_code, KERR_NOT_CONTROLLER);
}

static void controller__fences_a_silent_broker_after_the_session_timeout(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	int64_t last = now(c);
	const bool alive[3] = {true, true, false};
	run(c, 0, 100, alive, ep, 3);
	/* The next deadline is broker 2's, at most a session after it was heard. */
	int64_t deadline = controller_next_deadline_ms(c->ctl[0]);
	assert_true(deadline <= last + SESSION_MS);
	assert_true(deadline > last + SESSION_MS - 300);
	/* Just before it nobody is fenced. */
	run(c, 0, (unsigned)(deadline - now(c) - 150), alive, ep, 3);
	assert_true(now(c) < deadline);
	assert_broker_everywhere(c, 2, ep[2], false);
	/* After it, broker 2 is, on every node; the others are not. */
	run(c, 0, 400, alive, ep, 3);
	assert_broker_everywhere(c, 2, ep[2], true);
	assert_broker_everywhere(c, 0, ep[0], false);
	assert_broker_everywhere(c, 1, ep[1], false);
	/* It comes back with its epoch: unfenced again. */
	struct controller_heartbeat_reply r = heartbeat(c, 0, 2, ep[2], false);
	assert_false(r.is_fenced);
	assert_broker_everywhere(c, 2, ep[2], false);
}

static void controller__places_six_partitions_rf3_two_leaders_each(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	assert_int_equal(create_topic(c, 0, "spread", 6, 3, NULL, 0, NULL, 0), 0);
	int leads[3] = {0};
	for (int32_t p = 0; p < 6; p++) {
		const struct image_partition *part = partition(c, "spread", p);
		assert_int_equal(part->replicas.n, 3);
		assert_int_equal(part->isr.n, 3);
		assert_int_equal(part->leader, part->replicas.ids[0]); /* preferred leader */
		assert_int_equal(part->leader_epoch, 0);
		leads[part->leader]++;
	}
	assert_int_equal(leads[0], 2);
	assert_int_equal(leads[1], 2);
	assert_int_equal(leads[2], 2);

	/* A second topic starts elsewhere (the start rotates). */
	assert_int_equal(create_topic(c, 0, "next", 1, 1, NULL, 0, NULL, 0), 0);
	assert_int_not_equal(partition(c, "next", 0)->leader, partition(c, "spread", 0)->leader);

	/* Errors as Kafka's. */
	struct controller_new_topic bad[] = {
		{.name = "spread", .num_partitions = 1, .replication_factor = 1},
		{.name = "big", .num_partitions = 1, .replication_factor = 4},
		{.name = "zero", .num_partitions = 0, .replication_factor = 1},
		{.name = "bad/name", .num_partitions = 1, .replication_factor = 1},
		{.name = "..", .num_partitions = 1, .replication_factor = 1},
	};
	struct controller_proposal *p;
	assert_int_equal(controller_create_topics(c->ctl[0], bad, 5, false, now(c), &p), 0);
	assert_null(p);
	assert_int_equal(bad[0].error_code, KERR_TOPIC_ALREADY_EXISTS);
	assert_int_equal(bad[1].error_code, KERR_INVALID_REPLICATION_FACTOR);
	assert_string_equal(bad[1].error_message,
			    "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be "
			    "reached because only 3 broker(s) are registered.");
	assert_int_equal(bad[2].error_code, KERR_INVALID_PARTITIONS);
	assert_int_equal(bad[3].error_code, KERR_INVALID_TOPIC_EXCEPTION);
	assert_int_equal(bad[4].error_code, KERR_INVALID_TOPIC_EXCEPTION);

	/* A pending create counts: the same name again before it commits. */
	struct controller_new_topic t1 = {.name = "pending", .num_partitions = 1, .replication_factor = 1};
	struct controller_new_topic t2 = t1;
	struct controller_proposal *p1, *p2;
	assert_int_equal(controller_create_topics(c->ctl[0], &t1, 1, false, now(c), &p1), 0);
	assert_int_equal(controller_create_topics(c->ctl[0], &t2, 1, false, now(c), &p2), 0);
	assert_int_equal(t1.error_code, 0);
	assert_int_equal(t2.error_code, KERR_TOPIC_ALREADY_EXISTS);
	assert_null(p2);
	commit(c, 0, p1);
	assert_non_null(image_topic_by_name(c->nodes[2].img, "pending"));
}

static void controller__rack_aware_placement(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	static const char *const racks[] = {"a", "a", "b", "b"};
	int64_t ep[4];
	start_brokers(c, 0, 4, racks, ep);
	assert_int_equal(create_topic(c, 0, "racked", 8, 2, NULL, 0, NULL, 0), 0);
	for (int32_t p = 0; p < 8; p++) {
		const struct image_partition *part = partition(c, "racked", p);
		/* Brokers 0,1 are rack a; 2,3 rack b: one replica in each. */
		assert_int_not_equal(part->replicas.ids[0] / 2, part->replicas.ids[1] / 2);
	}
}

static void controller__grows_deletes_and_configures_topics(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	const struct controller_topic_config cfg[] = {{"retention.ms", "1000"}};
	assert_int_equal(create_topic(c, 0, "grow", 2, 2, NULL, 0, cfg, 1), 0);
	assert_string_equal(image_config(c->nodes[1].img, METADATA_RESOURCE_TOPIC, "grow", "retention.ms"), "1000");

	struct controller_new_partitions np[] = {{.name = "grow", .count = 5}, {.name = "grow", .count = 1},
						 {.name = "nope", .count = 3}};
	struct controller_proposal *p;
	assert_int_equal(controller_create_partitions(c->ctl[0], np, 3, false, now(c), &p), 0);
	assert_int_equal(np[0].error_code, 0);
	assert_int_equal(np[1].error_code, KERR_INVALID_PARTITIONS);
	assert_int_equal(np[2].error_code, KERR_UNKNOWN_TOPIC_OR_PARTITION);
	commit(c, 0, p);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(image_topic_by_name(c->nodes[i].img, "grow")->n_partitions, 5);
	assert_int_equal(partition(c, "grow", 4)->replicas.n, 2);

	const struct controller_config_op ops[] = {{"cleanup.policy", CONTROLLER_CONFIG_APPEND, "compact"},
						   {"retention.ms", CONTROLLER_CONFIG_DELETE, NULL}};
	struct controller_alter_configs res = {
		.resource_type = METADATA_RESOURCE_TOPIC, .resource_name = "grow", .ops = ops, .n_ops = 2};
	assert_int_equal(controller_alter_configs(c->ctl[0], &res, 1, false, now(c), &p), 0);
	assert_int_equal(res.error_code, 0);
	commit(c, 0, p);
	for (unsigned i = 0; i < N; i++) {
		assert_string_equal(image_config(c->nodes[i].img, METADATA_RESOURCE_TOPIC, "grow", "cleanup.policy"),
				    "compact");
		assert_null(image_config(c->nodes[i].img, METADATA_RESOURCE_TOPIC, "grow", "retention.ms"));
	}

	struct controller_delete_topic del[] = {{.name = "grow"}, {.name = "grow"}};
	assert_int_equal(controller_delete_topics(c->ctl[0], del, 2, now(c), &p), 0);
	assert_int_equal(del[0].error_code, 0);
	assert_int_equal(del[1].error_code, KERR_UNKNOWN_TOPIC_OR_PARTITION); /* gone in the view */
	commit(c, 0, p);
	for (unsigned i = 0; i < N; i++)
		assert_null(image_topic_by_name(c->nodes[i].img, "grow"));
}

static void controller__elects_a_new_leader_when_the_leader_is_fenced(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	assert_int_equal(create_topic(c, 0, "t", 1, 3, NULL, 0, NULL, 0), 0);
	const struct image_partition *before = partition(c, "t", 0);
	int32_t old = before->leader;
	int32_t isr[3];
	memcpy(isr, before->isr.ids, sizeof isr);
	int32_t le = before->leader_epoch, pe = before->partition_epoch;

	bool alive[3] = {true, true, true};
	alive[old] = false;
	run(c, 0, SESSION_MS + 200, alive, ep, 3);
	assert_broker_everywhere(c, old, ep[old], true);
	const struct image_partition *after = partition(c, "t", 0);
	/* The first live replica in ISR order leads, epochs bumped once. */
	assert_int_equal(after->leader, isr[1]);
	assert_int_equal(after->leader_epoch, le + 1);
	assert_int_equal(after->partition_epoch, pe + 1);
	assert_int_equal(after->isr.n, 2);
	assert_int_equal(after->isr.ids[0], isr[1]);
	assert_int_equal(after->isr.ids[1], isr[2]);

	/* AlterPartition from the new leader, checked as Kafka's. */
	int32_t nl = after->leader;
	int32_t grown[3] = {isr[1], isr[2], old};
	struct controller_isr_change ch = {.partition_id = 0,
					   .leader_epoch = after->leader_epoch,
					   .partition_epoch = after->partition_epoch,
					   .new_isr = grown,
					   .n_new_isr = 3};
	memcpy(ch.topic_id, image_topic_by_name(c->nodes[0].img, "t")->id, 16);
	int16_t top;
	struct controller_proposal *p;
	/* The old leader is fenced: it may not rejoin the ISR. */
	assert_int_equal(controller_alter_partition(c->ctl[0], nl, ep[nl], &ch, 1, now(c), &top, &p), 0);
	assert_int_equal(top, 0);
	assert_int_equal(ch.error_code, KERR_INELIGIBLE_REPLICA);
	assert_null(p);
	/* Stale epochs, a broker that is not the leader, a stale broker epoch. */
	struct controller_isr_change stale = ch;
	stale.leader_epoch--;
	assert_int_equal(controller_alter_partition(c->ctl[0], nl, ep[nl], &stale, 1, now(c), &top, &p), 0);
	assert_int_equal(stale.error_code, KERR_FENCED_LEADER_EPOCH);
	stale = ch;
	stale.partition_epoch--;
	assert_int_equal(controller_alter_partition(c->ctl[0], nl, ep[nl], &stale, 1, now(c), &top, &p), 0);
	assert_int_equal(stale.error_code, KERR_INVALID_UPDATE_VERSION);
	stale = ch;
	assert_int_equal(controller_alter_partition(c->ctl[0], isr[2], ep[isr[2]], &stale, 1, now(c), &top, &p), 0);
	assert_int_equal(stale.error_code, KERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(controller_alter_partition(c->ctl[0], nl, ep[nl] + 100, &stale, 1, now(c), &top, &p), 0);
	assert_int_equal(top, KERR_STALE_BROKER_EPOCH);

	/* The old leader comes back; the new leader adds it to the ISR. */
	assert_false(heartbeat(c, 0, old, ep[old], false).is_fenced);
	assert_int_equal(partition(c, "t", 0)->leader, nl); /* no move back */
	assert_int_equal(controller_alter_partition(c->ctl[0], nl, ep[nl], &ch, 1, now(c), &top, &p), 0);
	assert_int_equal(ch.error_code, 0);
	assert_int_equal(ch.partition_epoch_out, after->partition_epoch + 1);
	commit(c, 0, p);
	const struct image_partition *back = partition(c, "t", 0);
	assert_int_equal(back->isr.n, 3);
	assert_int_equal(back->leader_epoch, le + 1); /* an ISR change keeps the leader epoch */
	assert_int_equal(back->partition_epoch, ch.partition_epoch_out);
}

#define BALANCE_MS 500

static int cluster_setup_balancing(void **state)
{
	setup_balance_ms = BALANCE_MS;
	int rc = cluster_setup(state);
	setup_balance_ms = 0;
	return rc;
}

static void controller__preferred_replica_leads_again_once_in_sync(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	assert_int_equal(create_topic(c, 0, "t", 1, 3, NULL, 0, NULL, 0), 0);
	const struct image_partition *p0 = partition(c, "t", 0);
	int32_t preferred = p0->replicas.ids[0];
	assert_int_equal(p0->leader, preferred);
	int32_t le = p0->leader_epoch;

	/* The preferred replica dies: another leads. */
	bool alive[3] = {true, true, true};
	alive[preferred] = false;
	run(c, 0, SESSION_MS + 200, alive, ep, 3);
	const struct image_partition *p1 = partition(c, "t", 0);
	int32_t nl = p1->leader;
	assert_int_not_equal(nl, preferred);
	assert_int_equal(p1->isr.n, 2);

	/* Back and unfenced, but not in the ISR yet: several balance checks
	 * pass without a move. */
	alive[preferred] = true;
	run(c, 0, 3 * BALANCE_MS, alive, ep, 3);
	assert_int_equal(partition(c, "t", 0)->leader, nl);
	assert_int_equal(partition(c, "t", 0)->leader_epoch, le + 1);

	/* The leader takes it back into the ISR; the next check moves the
	 * leadership home, with a new leader epoch and the ISR unchanged. */
	const struct image_partition *p2 = partition(c, "t", 0);
	int32_t grown[3] = {p2->isr.ids[0], p2->isr.ids[1], preferred};
	struct controller_isr_change ch = {.partition_id = 0,
					   .leader_epoch = p2->leader_epoch,
					   .partition_epoch = p2->partition_epoch,
					   .new_isr = grown,
					   .n_new_isr = 3};
	memcpy(ch.topic_id, image_topic_by_name(c->nodes[0].img, "t")->id, 16);
	int16_t top;
	struct controller_proposal *prop;
	assert_int_equal(controller_alter_partition(c->ctl[0], nl, ep[nl], &ch, 1, now(c), &top, &prop), 0);
	assert_int_equal(ch.error_code, 0);
	commit(c, 0, prop);
	run(c, 0, BALANCE_MS + 200, alive, ep, 3);
	const struct image_partition *p3 = partition(c, "t", 0);
	assert_int_equal(p3->leader, preferred);
	assert_int_equal(p3->leader_epoch, le + 2);
	assert_int_equal(p3->isr.n, 3);
	for (unsigned i = 0; i < N; i++) {
		const struct image_topic *t = image_topic_by_name(c->nodes[i].img, "t");
		assert_int_equal(image_topic_partition(t, 0)->leader, preferred);
	}
}

static void controller__no_balancing_when_disabled(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	assert_int_equal(create_topic(c, 0, "t", 1, 3, NULL, 0, NULL, 0), 0);
	int32_t preferred = partition(c, "t", 0)->replicas.ids[0];
	bool alive[3] = {true, true, true};
	alive[preferred] = false;
	run(c, 0, SESSION_MS + 200, alive, ep, 3);
	const struct image_partition *p1 = partition(c, "t", 0);
	int32_t nl = p1->leader;
	int32_t grown[3] = {p1->isr.ids[0], p1->isr.ids[1], preferred};
	alive[preferred] = true;
	run(c, 0, 200, alive, ep, 3);
	struct controller_isr_change ch = {.partition_id = 0,
					   .leader_epoch = partition(c, "t", 0)->leader_epoch,
					   .partition_epoch = partition(c, "t", 0)->partition_epoch,
					   .new_isr = grown,
					   .n_new_isr = 3};
	memcpy(ch.topic_id, image_topic_by_name(c->nodes[0].img, "t")->id, 16);
	int16_t top;
	struct controller_proposal *prop;
	assert_int_equal(controller_alter_partition(c->ctl[0], nl, ep[nl], &ch, 1, now(c), &top, &prop), 0);
	commit(c, 0, prop);
	run(c, 0, 3 * BALANCE_MS, alive, ep, 3);
	assert_int_equal(partition(c, "t", 0)->leader, nl);
	assert_int_equal(partition(c, "t", 0)->isr.n, 3);
}

static void controller__no_election_from_an_empty_isr(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	static const int32_t r12[] = {1, 2};
	const struct controller_assignment a = {.partition_index = 0, .broker_ids = r12, .n_broker_ids = 2};
	const struct controller_topic_config unclean[] = {{"unclean.leader.election.enable", "true"}};
	assert_int_equal(create_topic(c, 0, "clean", -1, -1, &a, 1, NULL, 0), 0);
	assert_int_equal(create_topic(c, 0, "dirty", -1, -1, &a, 1, unclean, 1), 0);
	/* Leader 1 shrinks both ISRs to itself (broker 2 fell behind). */
	static const int32_t only1[] = {1};
	const char *names[] = {"clean", "dirty"};
	for (int i = 0; i < 2; i++) {
		const struct image_partition *part = partition(c, names[i], 0);
		assert_int_equal(part->leader, 1);
		struct controller_isr_change ch = {.leader_epoch = part->leader_epoch,
						   .partition_epoch = part->partition_epoch,
						   .new_isr = only1,
						   .n_new_isr = 1};
		memcpy(ch.topic_id, image_topic_by_name(c->nodes[0].img, names[i])->id, 16);
		int16_t top;
		struct controller_proposal *p;
		assert_int_equal(controller_alter_partition(c->ctl[0], 1, ep[1], &ch, 1, now(c), &top, &p), 0);
		assert_int_equal(ch.error_code, 0);
		commit(c, 0, p);
	}
	/* Broker 1 goes silent. */
	const bool alive[3] = {true, false, true};
	run(c, 0, SESSION_MS + 200, alive, ep, 3);
	assert_broker_everywhere(c, 1, ep[1], true);
	/* clean: offline, the ISR keeps its last member. */
	const struct image_partition *cl = partition(c, "clean", 0);
	assert_int_equal(cl->leader, METADATA_NO_LEADER);
	assert_int_equal(cl->isr.n, 1);
	assert_int_equal(cl->isr.ids[0], 1);
	assert_int_equal(cl->leader_epoch, 1);
	/* dirty: the topic allows an unclean election of broker 2. */
	const struct image_partition *di = partition(c, "dirty", 0);
	assert_int_equal(di->leader, 2);
	assert_int_equal(di->isr.n, 1);
	assert_int_equal(di->isr.ids[0], 2);
	/* Broker 1 returns: the offline partition is led by it again. */
	assert_false(heartbeat(c, 0, 1, ep[1], false).is_fenced);
	cl = partition(c, "clean", 0);
	assert_int_equal(cl->leader, 1);
	assert_int_equal(cl->leader_epoch, 2);
}

static void controller__want_fence_moves_leadership(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	assert_int_equal(create_topic(c, 0, "s", 3, 2, NULL, 0, NULL, 0), 0);
	assert_true(heartbeat(c, 0, 1, ep[1], true).is_fenced);
	assert_broker_everywhere(c, 1, ep[1], true);
	for (int32_t i = 0; i < 3; i++) {
		const struct image_partition *part = partition(c, "s", i);
		assert_int_not_equal(part->leader, 1);
		assert_int_not_equal(part->leader, METADATA_NO_LEADER);
	}
}

/* A broker's heartbeat at a chosen metadata offset, asking to shut down or
 * not; its proposal (if any) is committed before the reply is returned, as
 * the host sends it. */
static struct controller_heartbeat_reply heartbeat_at(struct cluster *c, unsigned l, int32_t id, int64_t epoch,
						      int64_t offset, bool shut_down, bool *proposed)
{
	struct controller_heartbeat req = {.broker_id = id,
					   .broker_epoch = epoch,
					   .current_metadata_offset = offset,
					   .want_shut_down = shut_down};
	struct controller_heartbeat_reply reply;
	struct controller_proposal *p;
	assert_int_equal(controller_heartbeat(c->ctl[l], &req, now(c), &reply, &p), 0);
	assert_int_equal(reply.error_code, 0);
	if (proposed != NULL)
		*proposed = p != NULL;
	commit(c, l, p);
	return reply;
}

static void controller__controlled_shutdown_moves_leaders_then_lets_the_broker_go(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	/* Broker 0 leads three RF3 partitions and one it holds alone. */
	static const int32_t r012[] = {0, 1, 2}, r021[] = {0, 2, 1}, r0[] = {0};
	const struct controller_assignment a[] = {{0, r012, 3}, {1, r021, 3}, {2, r012, 3}};
	const struct controller_assignment solo = {0, r0, 1};
	assert_int_equal(create_topic(c, 0, "s", -1, -1, a, 3, NULL, 0), 0);
	assert_int_equal(create_topic(c, 0, "solo", -1, -1, &solo, 1, NULL, 0), 0);
	int32_t le[3];
	for (int32_t i = 0; i < 3; i++) {
		assert_int_equal(partition(c, "s", i)->leader, 0);
		le[i] = partition(c, "s", i)->leader_epoch;
	}
	/* Brokers 1 and 2 have applied everything so far. */
	int64_t before = (int64_t)applied(c, 0);
	heartbeat_at(c, 0, 1, ep[1], before, false, NULL);
	heartbeat_at(c, 0, 2, ep[2], before, false, NULL);

	/* SIGTERM on broker 0: fenced, leaders moved, but not yet told to go. */
	bool proposed;
	struct controller_heartbeat_reply r = heartbeat_at(c, 0, 0, ep[0], before, true, &proposed);
	assert_true(proposed);
	assert_true(r.is_fenced);
	assert_false(r.should_shut_down);
	uint64_t moved = applied(c, 0);
	assert_true(moved > (uint64_t)before);
	assert_broker_everywhere(c, 0, ep[0], true);
	for (int32_t i = 0; i < 3; i++) {
		const struct image_partition *part = partition(c, "s", i);
		assert_int_equal(part->leader, part->replicas.ids[1]); /* the next in ISR order */
		assert_int_equal(part->leader_epoch, le[i] + 1);
		assert_int_equal(part->isr.n, 2);
		assert_int_not_equal(part->isr.ids[0], 0);
		assert_int_not_equal(part->isr.ids[1], 0);
	}
	/* Nobody else can lead "solo": it goes offline, its ISR keeps broker 0
	 * (KRaft's controlled shutdown does the same). */
	const struct image_partition *so = partition(c, "solo", 0);
	assert_int_equal(so->leader, METADATA_NO_LEADER);
	assert_int_equal(so->isr.n, 1);
	assert_int_equal(so->isr.ids[0], 0);

	/* Until every active broker has applied the move, broker 0 waits. */
	r = heartbeat_at(c, 0, 0, ep[0], (int64_t)moved, true, &proposed);
	assert_false(proposed);
	assert_true(r.is_fenced);
	assert_false(r.should_shut_down);
	heartbeat_at(c, 0, 1, ep[1], (int64_t)moved, false, NULL);
	r = heartbeat_at(c, 0, 0, ep[0], (int64_t)moved, true, NULL);
	assert_false(r.should_shut_down); /* broker 2 is still behind */
	heartbeat_at(c, 0, 2, ep[2], (int64_t)moved - 1, false, NULL);
	assert_false(heartbeat_at(c, 0, 0, ep[0], (int64_t)moved, true, NULL).should_shut_down);
	heartbeat_at(c, 0, 2, ep[2], (int64_t)moved, false, NULL);
	/* ... and the broker itself has applied it (it stopped leading). */
	assert_false(heartbeat_at(c, 0, 0, ep[0], before, true, NULL).should_shut_down);
	r = heartbeat_at(c, 0, 0, ep[0], (int64_t)moved, true, &proposed);
	assert_false(proposed);
	assert_true(r.should_shut_down);
	assert_true(r.is_fenced);

	/* While it stops it may not come back into an ISR: the new leader of
	 * s-0 asks and is refused. */
	const struct image_partition *p0 = partition(c, "s", 0);
	int32_t grown[3] = {p0->isr.ids[0], p0->isr.ids[1], 0};
	struct controller_isr_change ch = {.partition_id = 0,
					   .leader_epoch = p0->leader_epoch,
					   .partition_epoch = p0->partition_epoch,
					   .new_isr = grown,
					   .n_new_isr = 3};
	memcpy(ch.topic_id, image_topic_by_name(c->nodes[0].img, "s")->id, 16);
	int16_t top;
	struct controller_proposal *p;
	assert_int_equal(controller_alter_partition(c->ctl[0], p0->leader, ep[p0->leader], &ch, 1, now(c), &top, &p),
			 0);
	assert_int_equal(ch.error_code, KERR_INELIGIBLE_REPLICA);
	assert_null(p);
}

static void controller__controlled_shutdown_without_leaderships_is_immediate(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);
	static const int32_t r120[] = {1, 2, 0};
	const struct controller_assignment a = {0, r120, 3};
	assert_int_equal(create_topic(c, 0, "f", -1, -1, &a, 1, NULL, 0), 0);
	int32_t le = partition(c, "f", 0)->leader_epoch;

	/* Broker 0 only follows: told to go at once, out of the ISR, the
	 * leader untouched. */
	bool proposed;
	struct controller_heartbeat_reply r = heartbeat_at(c, 0, 0, ep[0], -1, true, &proposed);
	assert_true(proposed);
	assert_true(r.should_shut_down);
	assert_true(r.is_fenced);
	assert_broker_everywhere(c, 0, ep[0], true);
	const struct image_partition *part = partition(c, "f", 0);
	assert_int_equal(part->leader, 1);
	assert_int_equal(part->leader_epoch, le);
	assert_int_equal(part->isr.n, 2);
	assert_int_equal(part->isr.ids[0], 1);
	assert_int_equal(part->isr.ids[1], 2);
	/* Asked again: still yes, nothing more to do. */
	assert_true(heartbeat_at(c, 0, 0, ep[0], -1, true, &proposed).should_shut_down);
	assert_false(proposed);

	/* A broker fenced before it asks leads nothing either. */
	assert_true(heartbeat(c, 0, 2, ep[2], true).is_fenced);
	r = heartbeat_at(c, 0, 2, ep[2], -1, true, &proposed);
	assert_false(proposed);
	assert_true(r.should_shut_down);

	/* A new controller (failover) knows nothing of the shutdown in
	 * progress; the broker is fenced in the image: it may go. */
	controller_deactivate(c->ctl[0]);
	activate(c, 0);
	assert_true(heartbeat_at(c, 0, 0, ep[0], -1, true, NULL).should_shut_down);
}

static void controller__deposed_controller_is_rejected_and_the_new_one_carries_on(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[3];
	start_brokers(c, 0, 3, NULL, ep);

	/* Node 0 proposes a topic, then is cut off before it commits. */
	struct controller_new_topic t = {.name = "lost", .num_partitions = 1, .replication_factor = 1};
	struct controller_proposal *p;
	assert_int_equal(controller_create_topics(c->ctl[0], &t, 1, false, now(c), &p), 0);
	assert_int_equal(t.error_code, 0);
	/* Node 1 will campaign first; node 0, once deposed, not at all. The
	 * followers pick these up at their next heartbeat from node 0. */
	raft_fixture_set_randomized_election_timeout(&c->f, 0, 100000);
	raft_fixture_set_randomized_election_timeout(&c->f, 1, 1000);
	raft_fixture_set_randomized_election_timeout(&c->f, 2, 3000);
	raft_fixture_step_until_elapsed(&c->f, 200);
	for (unsigned j = 1; j < N; j++) {
		raft_fixture_disconnect(&c->f, 0, j);
		raft_fixture_disconnect(&c->f, j, 0);
	}
	struct apply *a = propose(c, 0, p);
	assert_true(raft_fixture_step_until(&c->f, apply_stop, a, 10000));
	assert_int_not_equal(a->status, 0); /* leadership lost */
	assert_false(controller_active(c->ctl[0])); /* resigned */
	struct controller_new_topic again = t;
	assert_int_equal(controller_create_topics(c->ctl[0], &again, 1, false, now(c), &p), 0);
	assert_int_equal(again.error_code, KERR_NOT_CONTROLLER);

	/* Node 1 or 2 leads. Brokers have been silent longer than a session. */
	/* (The fixture's own leader detection waits for node 0 to hear of the
	 * new term, so look at the raft states.) */
	assert_true(raft_fixture_step_until(&c->f, node1_leads, NULL, 10000));
	unsigned l = 1;
	raft_fixture_step_until_elapsed(&c->f, SESSION_MS);
	struct controller *ctl = activate(c, l);
	int64_t t_act = now(c);
	/* A fresh session for everyone: nobody fenced now. */
	assert_int_equal(controller_tick(ctl, now(c), &p), 0);
	assert_null(p);
	assert_int_equal(controller_next_deadline_ms(ctl), t_act + SESSION_MS);
	/* The lost topic never committed; the new controller creates it. */
	assert_null(image_topic_by_name(c->nodes[l].img, "lost"));
	for (unsigned j = 1; j < N; j++) {
		raft_fixture_reconnect(&c->f, 0, j);
		raft_fixture_reconnect(&c->f, j, 0);
	}
	assert_int_equal(create_topic(c, l, "lost", 1, 1, NULL, 0, NULL, 0), 0);
	const struct image_topic *t0 = image_topic_by_name(c->nodes[0].img, "lost");
	assert_non_null(t0);
	assert_memory_not_equal(t0->id, t.topic_id, 16); /* the new controller's, not the deposed one's */
	assert_int_equal(image_topic_count(c->nodes[0].img), 1);
	partition(c, "lost", 0);

	/* The deposed controller's own broker may get a shorter session
	 * (combined mode: its process most likely died); the others keep
	 * theirs. A heartbeat gives it a whole session again. */
	controller_shorten_session(ctl, 0, t_act + SESSION_MS / 2);
	assert_int_equal(controller_next_deadline_ms(ctl), t_act + SESSION_MS / 2);
	controller_shorten_session(ctl, 0, t_act + SESSION_MS); /* never lengthens */
	assert_int_equal(controller_next_deadline_ms(ctl), t_act + SESSION_MS / 2);
	assert_false(heartbeat(c, l, 0, ep[0], false).is_fenced);
	assert_int_equal(controller_next_deadline_ms(ctl), t_act + SESSION_MS);

	/* Sessions run from the activation: a broker silent for a whole
	 * session after it is fenced then, not before. */
	const bool alive[3] = {true, true, false};
	assert_true(now(c) < t_act + SESSION_MS - 300);
	run(c, l, (unsigned)(t_act + SESSION_MS - 300 - now(c)), alive, ep, 3);
	assert_true(now(c) < t_act + SESSION_MS);
	assert_broker_everywhere(c, 2, ep[2], false);
	run(c, l, 500, alive, ep, 3);
	assert_broker_everywhere(c, 2, ep[2], true);
	assert_broker_everywhere(c, 0, ep[0], false);
}

/* AllocateProducerIds: blocks of 1000 from the image's next id, distinct
 * while proposals are pending, replicated, and continued by a new
 * controller after a failover. */
static void controller__allocates_producer_id_blocks_across_a_failover(void **state)
{
	struct cluster *c = *state;
	elect_first(c);
	int64_t ep[2];
	start_brokers(c, 0, 2, NULL, ep);
	struct controller_producer_ids_reply r1, r2, r3;
	struct controller_proposal *p1, *p2, *p;

	assert_int_equal(controller_allocate_producer_ids(c->ctl[0], 0, ep[0], now(c), &r1, &p1), 0);
	assert_int_equal(r1.error_code, 0);
	assert_non_null(p1);
	assert_true(r1.producer_id_start == 0);
	assert_int_equal(r1.producer_id_len, CONTROLLER_PRODUCER_ID_BLOCK);
	/* The first is not committed yet: the next block still follows it. */
	assert_int_equal(controller_allocate_producer_ids(c->ctl[0], 1, ep[1], now(c), &r2, &p2), 0);
	assert_int_equal(r2.error_code, 0);
	assert_true(r2.producer_id_start == 1000);
	commit(c, 0, p1);
	commit(c, 0, p2);
	for (unsigned i = 0; i < N; i++)
		assert_true(image_next_producer_id(c->nodes[i].img) == 2000);

	/* A stale epoch, an unknown broker, a node that is not the controller. */
	assert_int_equal(controller_allocate_producer_ids(c->ctl[0], 0, ep[0] - 1, now(c), &r3, &p), 0);
	assert_int_equal(r3.error_code, KERR_STALE_BROKER_EPOCH);
	assert_null(p);
	assert_true(r3.producer_id_start == -1);
	assert_int_equal(controller_allocate_producer_ids(c->ctl[0], 7, 1, now(c), &r3, &p), 0);
	assert_int_equal(r3.error_code, KERR_STALE_BROKER_EPOCH);
	assert_null(p);
	assert_int_equal(controller_allocate_producer_ids(c->ctl[1], 0, ep[0], now(c), &r3, &p), 0);
	assert_int_equal(r3.error_code, KERR_NOT_CONTROLLER);
	assert_null(p);

	/* Node 1 takes over: it carries on from the committed record. */
	controller_deactivate(c->ctl[0]);
	raft_fixture_depose(&c->f);
	raft_fixture_elect(&c->f, 1);
	assert_int_equal(leader(c), 1);
	activate(c, 1);
	assert_int_equal(controller_allocate_producer_ids(c->ctl[1], 1, ep[1], now(c), &r3, &p), 0);
	assert_int_equal(r3.error_code, 0);
	assert_true(r3.producer_id_start == 2000);
	commit(c, 1, p);
	for (unsigned i = 0; i < N; i++)
		assert_true(image_next_producer_id(c->nodes[i].img) == 3000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(controller__registration_reaches_every_image, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__fences_a_silent_broker_after_the_session_timeout,
						cluster_setup, cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__places_six_partitions_rf3_two_leaders_each, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__rack_aware_placement, cluster_setup, cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__grows_deletes_and_configures_topics, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__elects_a_new_leader_when_the_leader_is_fenced,
						cluster_setup, cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__no_election_from_an_empty_isr, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__preferred_replica_leads_again_once_in_sync,
						cluster_setup_balancing, cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__no_balancing_when_disabled, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__want_fence_moves_leadership, cluster_setup,
						cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__controlled_shutdown_moves_leaders_then_lets_the_broker_go,
						cluster_setup, cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__controlled_shutdown_without_leaderships_is_immediate,
						cluster_setup, cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__deposed_controller_is_rejected_and_the_new_one_carries_on,
						cluster_setup, cluster_teardown),
		cmocka_unit_test_setup_teardown(controller__allocates_producer_id_blocks_across_a_failover, cluster_setup,
						cluster_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
