/* The consumer-group coordinator, driven directly on a real event_base with
 * short timeouts (milliseconds instead of Kafka's seconds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "broker/group/group.h"
#include "broker/group/group_store.h"
#include "broker/logger.h"
#include "broker/protocol/errors.h"

#define KS(s) ((struct kstr){(s), (int32_t)strlen(s)})
#define KNULL ((struct kstr){NULL, -1})
#define KB(s) ((struct kbytes){(const uint8_t *)(s), (int32_t)strlen(s)})

#define INITIAL_DELAY_MS 20
#define SESSION_MS 200

struct fixture {
	struct event_base *base;
	struct group_coordinator *c;
};

/* What a JoinGroup callback received. */
struct join_slot {
	int calls;
	int16_t err;
	int32_t generation;
	char member_id[128];
	char leader[128];
	char protocol[32];
	int32_t members_count;
	bool skip_assignment;
};

struct sync_slot {
	int calls;
	int16_t err;
	char assignment[64];
};

struct commit_slot {
	int calls;
	int16_t err;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct group_config cfg;
	logger_set_level(TLOG_ERROR);
	group_config_defaults(&cfg);
	cfg.node_id = 1;
	cfg.host = "broker-1";
	cfg.port = 9093;
	cfg.min_session_timeout_ms = 10;
	cfg.max_session_timeout_ms = 60000;
	cfg.initial_rebalance_delay_ms = INITIAL_DELAY_MS;
	cfg.offset_metadata_max_bytes = 16;
	f->base = event_base_new();
	f->c = group_coordinator_new(f->base, &cfg);
	assert_non_null(f->c);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	group_coordinator_free(f->c);
	event_base_free(f->base);
	free(f);
	return 0;
}

static void run_ms(struct fixture *f, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

static void join_cb(void *arg, const struct group_join_result *r)
{
	struct join_slot *s = arg;
	s->calls++;
	s->err = r->error_code;
	s->generation = r->generation_id;
	snprintf(s->member_id, sizeof s->member_id, "%s", r->member_id);
	snprintf(s->leader, sizeof s->leader, "%s", r->leader);
	snprintf(s->protocol, sizeof s->protocol, "%s", r->protocol_name ? r->protocol_name : "");
	s->members_count = r->members_count;
	s->skip_assignment = r->skip_assignment;
}

static void sync_cb(void *arg, const struct group_sync_result *r)
{
	struct sync_slot *s = arg;
	s->calls++;
	s->err = r->error_code;
	snprintf(s->assignment, sizeof s->assignment, "%.*s", r->assignment.len, (const char *)r->assignment.p);
}

static void commit_cb(void *arg, int16_t err)
{
	struct commit_slot *s = arg;
	s->calls++;
	s->err = err;
}

static const struct join_group_request_protocol range_protocol[] = {{{"range", 5}, {(const uint8_t *)"sub", 3}}};

/* JoinGroup as a v3 client would send it (no KIP-394 handshake). */
static void join_full(struct fixture *f, const char *group, const char *member_id, const char *instance,
		      const char *protocol_type, bool require_known, bool skip, struct join_slot *slot)
{
	memset(slot, 0, sizeof *slot);
	struct group_join_params p = {
		.group_id = KS(group),
		.member_id = KS(member_id),
		.group_instance_id = instance ? KS(instance) : KNULL,
		.client_id = KS("client"),
		.client_host = KS("/127.0.0.1"),
		.protocol_type = KS(protocol_type),
		.protocols = range_protocol,
		.protocols_count = 1,
		.session_timeout_ms = SESSION_MS,
		.rebalance_timeout_ms = 1000,
		.require_known_member_id = require_known,
		.supports_skip_assignment = skip,
		.reason = KNULL,
	};
	group_join(f->c, &p, join_cb, slot);
}

static void join(struct fixture *f, const char *group, const char *member_id, struct join_slot *slot)
{
	join_full(f, group, member_id, NULL, "consumer", false, false, slot);
}

static void sync_leader(struct fixture *f, const char *group, int32_t gen, const char *member_id, const char *a_id,
			const char *a_asg, const char *b_id, const char *b_asg, struct sync_slot *slot)
{
	memset(slot, 0, sizeof *slot);
	struct sync_group_request_assignment as[2] = {{KS(a_id), KB(a_asg)}, {KNULL, {NULL, 0}}};
	int32_t n = 1;
	if (b_id) {
		as[1].member_id = KS(b_id);
		as[1].assignment = KB(b_asg);
		n = 2;
	}
	struct group_sync_params p = {
		.group_id = KS(group),
		.generation_id = gen,
		.member_id = KS(member_id),
		.group_instance_id = KNULL,
		.protocol_type = KS("consumer"),
		.protocol_name = KS("range"),
		.assignments = as,
		.assignments_count = n,
	};
	group_sync(f->c, &p, sync_cb, slot);
}

static void sync_follower(struct fixture *f, const char *group, int32_t gen, const char *member_id,
			  struct sync_slot *slot)
{
	memset(slot, 0, sizeof *slot);
	struct group_sync_params p = {
		.group_id = KS(group),
		.generation_id = gen,
		.member_id = KS(member_id),
		.group_instance_id = KNULL,
		.protocol_type = KNULL,
		.protocol_name = KNULL,
	};
	group_sync(f->c, &p, sync_cb, slot);
}

static int16_t heartbeat(struct fixture *f, const char *group, int32_t gen, const char *member_id)
{
	return group_heartbeat(f->c, KS(group), gen, KS(member_id), KNULL);
}

static const char *state_of(struct fixture *f, const char *group)
{
	struct group_summary s;
	assert_int_equal(group_describe(f->c, KS(group), &s), KERR_NONE);
	const char *st = s.state;
	group_summary_free(&s);
	return st;
}

/* Two members A and B in a Stable group of generation 1; A leads. */
static void make_stable_pair(struct fixture *f, const char *group, struct join_slot *a, struct join_slot *b)
{
	struct sync_slot sa, sb;
	join(f, group, "", a);
	join(f, group, "", b);
	assert_int_equal(a->calls, 0);
	run_ms(f, INITIAL_DELAY_MS * 3);
	assert_int_equal(a->calls, 1);
	assert_int_equal(b->calls, 1);
	sync_follower(f, group, b->generation, b->member_id, &sb);
	assert_int_equal(sb.calls, 0); /* waits for the leader */
	sync_leader(f, group, a->generation, a->member_id, a->member_id, "for-a", b->member_id, "for-b", &sa);
	assert_int_equal(sa.calls, 1);
	assert_int_equal(sb.calls, 1);
	assert_string_equal(sa.assignment, "for-a");
	assert_string_equal(sb.assignment, "for-b");
	assert_string_equal(state_of(f, group), "Stable");
}

static void group_join__two_members_one_leader_both_get_assignment(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b;
	make_stable_pair(f, "g", &a, &b);
	assert_int_equal(a.err, KERR_NONE);
	assert_int_equal(b.err, KERR_NONE);
	assert_int_equal(a.generation, 1);
	assert_int_equal(b.generation, 1);
	assert_string_equal(a.leader, a.member_id);
	assert_string_equal(b.leader, a.member_id);
	assert_string_not_equal(a.member_id, b.member_id);
	assert_int_equal(a.members_count, 2); /* the leader sees everyone */
	assert_int_equal(b.members_count, 0);
	assert_string_equal(a.protocol, "range");
	assert_int_equal(strncmp(a.member_id, "client-", 7), 0);
}

static void group_join__third_member_triggers_rebalance(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b, c, a2, b2;
	make_stable_pair(f, "g", &a, &b);
	join(f, "g", "", &c);
	assert_int_equal(c.calls, 0);
	assert_string_equal(state_of(f, "g"), "PreparingRebalance");
	assert_int_equal(heartbeat(f, "g", 1, a.member_id), KERR_REBALANCE_IN_PROGRESS);
	assert_int_equal(heartbeat(f, "g", 1, b.member_id), KERR_REBALANCE_IN_PROGRESS);
	join(f, "g", a.member_id, &a2);
	assert_int_equal(a2.calls, 0);
	join(f, "g", b.member_id, &b2);
	/* Everyone rejoined: the join completes without waiting. */
	assert_int_equal(a2.calls, 1);
	assert_int_equal(b2.calls, 1);
	assert_int_equal(c.calls, 1);
	assert_int_equal(a2.generation, 2);
	assert_int_equal(c.generation, 2);
	assert_int_equal(a2.members_count, 3);
	assert_string_equal(c.leader, a.member_id);
	assert_int_equal(heartbeat(f, "g", 1, a.member_id), KERR_ILLEGAL_GENERATION);
	assert_int_equal(heartbeat(f, "g", 2, a.member_id), KERR_NONE); /* CompletingRebalance */
}

static void group_session__timeout_removes_silent_member(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b, a2;
	make_stable_pair(f, "g", &a, &b);
	int16_t err = KERR_NONE;
	for (int i = 0; i < 40 && err == KERR_NONE; i++) {
		run_ms(f, 20);
		err = heartbeat(f, "g", 1, a.member_id); /* only A shows signs of life */
	}
	assert_int_equal(err, KERR_REBALANCE_IN_PROGRESS);
	join(f, "g", a.member_id, &a2);
	assert_int_equal(a2.calls, 1); /* B is gone: nobody else to wait for */
	assert_int_equal(a2.generation, 2);
	assert_int_equal(a2.members_count, 1);
	assert_int_equal(heartbeat(f, "g", 2, b.member_id), KERR_UNKNOWN_MEMBER_ID);
}

static void group_rebalance__member_that_does_not_rejoin_is_dropped(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b, c, a2;
	make_stable_pair(f, "g", &a, &b);
	join(f, "g", "", &c); /* rebalance; B never rejoins, A does */
	join(f, "g", a.member_id, &a2);
	for (int i = 0; i < 80 && a2.calls == 0; i++) {
		run_ms(f, 20);
		if (a2.calls == 0)
			heartbeat(f, "g", 1, b.member_id); /* alive, but not rejoining */
	}
	assert_int_equal(a2.calls, 1); /* after the 1 s rebalance timeout */
	assert_int_equal(a2.generation, 2);
	assert_int_equal(a2.members_count, 2);
	assert_int_equal(c.generation, 2);
	assert_int_equal(heartbeat(f, "g", 2, b.member_id), KERR_UNKNOWN_MEMBER_ID);
}

static void group_offset_commit__stale_generation_is_illegal(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b;
	make_stable_pair(f, "g", &a, &b);
	int16_t e1 = -99, e2 = -99;
	struct group_offset_entry ents[] = {
		{KS("t"), 0, 10, -1, KS("m"), -1, &e1},
		{KS("t"), 1, 20, -1, KNULL, -1, &e2},
	};
	struct group_commit_params stale = {KS("g"), 0, KS(a.member_id), KNULL};
	struct commit_slot cs = {0};
	group_offset_commit(f->c, &stale, ents, 2, commit_cb, &cs);
	assert_int_equal(cs.calls, 1);
	assert_int_equal(cs.err, KERR_ILLEGAL_GENERATION);
	assert_int_equal(e1, KERR_ILLEGAL_GENERATION);
	assert_null(group_offset_get(f->c, KS("g"), KS("t"), 0));

	struct group_commit_params anon = {KS("g"), -1, KS(""), KNULL};
	memset(&cs, 0, sizeof cs);
	group_offset_commit(f->c, &anon, ents, 2, commit_cb, &cs);
	assert_int_equal(cs.err, KERR_UNKNOWN_MEMBER_ID); /* the group has members */

	struct group_commit_params good = {KS("g"), 1, KS(a.member_id), KNULL};
	memset(&cs, 0, sizeof cs);
	group_offset_commit(f->c, &good, ents, 2, commit_cb, &cs);
	assert_int_equal(cs.calls, 1);
	assert_int_equal(cs.err, KERR_NONE);
	assert_int_equal(e1, KERR_NONE);
	assert_int_equal(e2, KERR_NONE);
	const struct group_offset *o = group_offset_get(f->c, KS("g"), KS("t"), 1);
	assert_non_null(o);
	assert_int_equal(o->offset, 20);
	assert_string_equal(o->metadata, "");
}

static void group_membership__unknown_member_is_refused(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b, x;
	struct sync_slot s;
	make_stable_pair(f, "g", &a, &b);
	assert_int_equal(heartbeat(f, "g", 1, "nobody"), KERR_UNKNOWN_MEMBER_ID);
	assert_int_equal(heartbeat(f, "nogroup", 1, "nobody"), KERR_UNKNOWN_MEMBER_ID);
	sync_follower(f, "g", 1, "nobody", &s);
	assert_int_equal(s.err, KERR_UNKNOWN_MEMBER_ID);
	join(f, "g", "nobody", &x);
	assert_int_equal(x.calls, 1);
	assert_int_equal(x.err, KERR_UNKNOWN_MEMBER_ID);
	join(f, "nogroup", "nobody", &x);
	assert_int_equal(x.err, KERR_UNKNOWN_MEMBER_ID);
	struct group_commit_params p = {KS("g"), 1, KS("nobody"), KNULL};
	int16_t e = 0;
	struct group_offset_entry ent = {KS("t"), 0, 1, -1, KNULL, -1, &e};
	struct commit_slot cs = {0};
	group_offset_commit(f->c, &p, &ent, 1, commit_cb, &cs);
	assert_int_equal(e, KERR_UNKNOWN_MEMBER_ID);
}

static void group_join__v4_without_member_id_gets_member_id_required(void **state)
{
	struct fixture *f = *state;
	struct join_slot first, second;
	join_full(f, "g", "", NULL, "consumer", true, false, &first);
	assert_int_equal(first.calls, 1);
	assert_int_equal(first.err, KERR_MEMBER_ID_REQUIRED);
	assert_int_equal(first.generation, -1);
	assert_true(strlen(first.member_id) > 0);
	join_full(f, "g", first.member_id, NULL, "consumer", true, false, &second);
	assert_int_equal(second.calls, 0); /* initial rebalance delay */
	run_ms(f, INITIAL_DELAY_MS * 3);
	assert_int_equal(second.calls, 1);
	assert_int_equal(second.err, KERR_NONE);
	assert_string_equal(second.member_id, first.member_id);
	assert_string_equal(second.leader, first.member_id);
	assert_int_equal(second.generation, 1);
}

static void group_join__pending_member_id_expires(void **state)
{
	struct fixture *f = *state;
	struct join_slot first, late;
	join_full(f, "g", "", NULL, "consumer", true, false, &first);
	assert_int_equal(first.err, KERR_MEMBER_ID_REQUIRED);
	run_ms(f, SESSION_MS * 2);
	join_full(f, "g", first.member_id, NULL, "consumer", true, false, &late);
	assert_int_equal(late.calls, 1);
	assert_int_equal(late.err, KERR_UNKNOWN_MEMBER_ID);
}

static void group_static__rejoin_keeps_assignment(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b, b2;
	struct sync_slot sa, sb, sb2;
	join_full(f, "g", "", "inst-a", "consumer", true, false, &a);
	join_full(f, "g", "", "inst-b", "consumer", true, false, &b);
	assert_int_equal(a.calls, 0); /* static members skip MEMBER_ID_REQUIRED */
	run_ms(f, INITIAL_DELAY_MS * 3);
	assert_int_equal(a.err, KERR_NONE);
	assert_int_equal(strncmp(a.member_id, "inst-a-", 7), 0);
	sync_follower(f, "g", 1, b.member_id, &sb);
	sync_leader(f, "g", 1, a.member_id, a.member_id, "asg-a", b.member_id, "asg-b", &sa);
	assert_string_equal(sb.assignment, "asg-b");

	/* B restarts: same instance id, no member id. */
	join_full(f, "g", "", "inst-b", "consumer", true, false, &b2);
	assert_int_equal(b2.calls, 1); /* no rebalance */
	assert_int_equal(b2.err, KERR_NONE);
	assert_int_equal(b2.generation, 1);
	assert_string_not_equal(b2.member_id, b.member_id);
	assert_string_equal(state_of(f, "g"), "Stable");
	assert_int_equal(group_heartbeat(f->c, KS("g"), 1, KS(b.member_id), KS("inst-b")), KERR_FENCED_INSTANCE_ID);
	assert_int_equal(group_heartbeat(f->c, KS("g"), 1, KS(b2.member_id), KS("inst-b")), KERR_NONE);
	sync_follower(f, "g", 1, b2.member_id, &sb2);
	assert_int_equal(sb2.err, KERR_NONE);
	assert_string_equal(sb2.assignment, "asg-b");
	assert_int_equal(heartbeat(f, "g", 1, a.member_id), KERR_NONE);
}

static void group_static__leader_rejoin_with_v9_skips_assignment(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b, a2;
	struct sync_slot sa, sb;
	join_full(f, "g", "", "inst-a", "consumer", true, true, &a);
	join_full(f, "g", "", "inst-b", "consumer", true, true, &b);
	run_ms(f, INITIAL_DELAY_MS * 3);
	sync_follower(f, "g", 1, b.member_id, &sb);
	sync_leader(f, "g", 1, a.member_id, a.member_id, "asg-a", b.member_id, "asg-b", &sa);
	join_full(f, "g", "", "inst-a", "consumer", true, true, &a2);
	assert_int_equal(a2.calls, 1);
	assert_true(a2.skip_assignment);
	assert_string_equal(a2.leader, a2.member_id);
	assert_int_equal(a2.members_count, 2);
	assert_string_equal(state_of(f, "g"), "Stable");
}

static void group_join__protocol_type_mismatch_is_inconsistent(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b;
	join(f, "g", "", &a);
	join_full(f, "g", "", NULL, "connect", false, false, &b);
	assert_int_equal(b.calls, 1);
	assert_int_equal(b.err, KERR_INCONSISTENT_GROUP_PROTOCOL);
	run_ms(f, INITIAL_DELAY_MS * 3);
	assert_int_equal(a.err, KERR_NONE);
}

static void group_join__session_timeout_out_of_bounds_is_invalid(void **state)
{
	struct fixture *f = *state;
	struct join_slot a;
	struct group_join_params p = {
		.group_id = KS("g"),
		.member_id = KS(""),
		.group_instance_id = KNULL,
		.protocol_type = KS("consumer"),
		.protocols = range_protocol,
		.protocols_count = 1,
		.session_timeout_ms = 5,
		.rebalance_timeout_ms = 1000,
	};
	memset(&a, 0, sizeof a);
	group_join(f->c, &p, join_cb, &a);
	assert_int_equal(a.err, KERR_INVALID_SESSION_TIMEOUT);
	p.session_timeout_ms = 60001;
	group_join(f->c, &p, join_cb, &a);
	assert_int_equal(a.err, KERR_INVALID_SESSION_TIMEOUT);
	p.group_id = KS("");
	p.session_timeout_ms = 100;
	group_join(f->c, &p, join_cb, &a);
	assert_int_equal(a.err, KERR_INVALID_GROUP_ID);
}

static void group_leave__triggers_rebalance_and_batch_by_instance(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b, a2;
	make_stable_pair(f, "g", &a, &b);
	struct leave_group_request_member lm[] = {{KS(b.member_id), KNULL, KNULL}, {KS("ghost"), KNULL, KNULL}};
	int16_t errs[2];
	assert_int_equal(group_leave(f->c, KS("g"), lm, 2, errs), KERR_NONE);
	assert_int_equal(errs[0], KERR_NONE);
	assert_int_equal(errs[1], KERR_UNKNOWN_MEMBER_ID);
	assert_int_equal(heartbeat(f, "g", 1, a.member_id), KERR_REBALANCE_IN_PROGRESS);
	join(f, "g", a.member_id, &a2);
	assert_int_equal(a2.calls, 1);
	assert_int_equal(a2.members_count, 1);
	/* The last member leaving empties the group. */
	struct leave_group_request_member last[] = {{KS(a.member_id), KNULL, KNULL}};
	struct sync_slot s;
	sync_leader(f, "g", 2, a.member_id, a.member_id, "x", NULL, NULL, &s);
	assert_int_equal(group_leave(f->c, KS("g"), last, 1, errs), KERR_NONE);
	assert_int_equal(errs[0], KERR_NONE);
	assert_string_equal(state_of(f, "g"), "Dead"); /* nothing left: forgotten */
}

static void group_leave__static_member_by_instance_id(void **state)
{
	struct fixture *f = *state;
	struct join_slot a;
	join_full(f, "g", "", "inst-a", "consumer", false, false, &a);
	run_ms(f, INITIAL_DELAY_MS * 3);
	struct leave_group_request_member fenced[] = {{KS("wrong-id"), KS("inst-a"), KNULL}};
	struct leave_group_request_member by_instance[] = {{KS(""), KS("inst-a"), KNULL}};
	int16_t err;
	group_leave(f->c, KS("g"), fenced, 1, &err);
	assert_int_equal(err, KERR_FENCED_INSTANCE_ID);
	group_leave(f->c, KS("g"), by_instance, 1, &err);
	assert_int_equal(err, KERR_NONE);
}

static void group_offsets__commit_and_fetch_without_membership(void **state)
{
	struct fixture *f = *state;
	int16_t e[3];
	struct group_offset_entry ents[] = {
		{KS("b-topic"), 2, 200, 4, KS("meta"), -1, &e[0]},
		{KS("a-topic"), 0, 7, -1, KNULL, 1234, &e[1]},
		{KS("a-topic"), 1, 8, -1, KS("this metadata is far too long"), -1, &e[2]},
	};
	struct group_commit_params p = {KS("simple"), -1, KS(""), KNULL};
	struct commit_slot cs = {0};
	group_offset_commit(f->c, &p, ents, 3, commit_cb, &cs);
	assert_int_equal(cs.calls, 1);
	assert_int_equal(e[0], KERR_NONE);
	assert_int_equal(e[1], KERR_NONE);
	assert_int_equal(e[2], KERR_OFFSET_METADATA_TOO_LARGE);
	assert_int_equal(group_offset_fetch_check(f->c, KS("simple")), KERR_NONE);
	const struct group_offset *o = group_offset_get(f->c, KS("simple"), KS("b-topic"), 2);
	assert_non_null(o);
	assert_int_equal(o->offset, 200);
	assert_int_equal(o->leader_epoch, 4);
	assert_string_equal(o->metadata, "meta");
	assert_null(group_offset_get(f->c, KS("simple"), KS("a-topic"), 1));
	assert_null(group_offset_get(f->c, KS("other"), KS("a-topic"), 0));
	int32_t n;
	const struct group_offset *all = group_offset_list(f->c, KS("simple"), &n);
	assert_int_equal(n, 2);
	assert_string_equal(all[0].topic, "a-topic");
	assert_int_equal(all[0].commit_timestamp_ms, 1234);
	assert_string_equal(all[1].topic, "b-topic");
	/* A later commit replaces. */
	struct group_offset_entry again = {KS("a-topic"), 0, 9, -1, KNULL, -1, &e[0]};
	group_offset_commit(f->c, &p, &again, 1, commit_cb, &cs);
	assert_int_equal(group_offset_get(f->c, KS("simple"), KS("a-topic"), 0)->offset, 9);
	/* A generation on a group that never existed is stale. */
	struct group_commit_params ghost = {KS("ghost"), 3, KS("m"), KNULL};
	group_offset_commit(f->c, &ghost, &again, 1, commit_cb, &cs);
	assert_int_equal(e[0], KERR_ILLEGAL_GENERATION);
	assert_string_equal(state_of(f, "simple"), "Empty");
}

static void group_list__and_describe(void **state)
{
	struct fixture *f = *state;
	struct join_slot a, b;
	make_stable_pair(f, "g", &a, &b);
	struct group_summary *all;
	int32_t n;
	assert_int_equal(group_list(f->c, &all, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(all[0].group_id, "g");
	assert_string_equal(all[0].state, "Stable");
	assert_string_equal(all[0].protocol_type, "consumer");
	free(all);
	struct group_summary s;
	assert_int_equal(group_describe(f->c, KS("g"), &s), KERR_NONE);
	assert_int_equal(s.members_count, 2);
	assert_string_equal(s.protocol_name, "range");
	assert_string_equal(s.members[0].client_host, "/127.0.0.1");
	assert_int_equal(s.members[1].assignment.len, 5);
	assert_int_equal(s.members[0].metadata.len, 3);
	group_summary_free(&s);
	assert_int_equal(group_describe(f->c, KS("missing"), &s), KERR_NONE);
	assert_string_equal(s.state, "Dead");
	assert_int_equal(s.members_count, 0);
}

static void group_coordinator__free_answers_pending_requests(void **state)
{
	struct fixture *f = *state;
	struct join_slot a;
	join(f, "g", "", &a);
	assert_int_equal(a.calls, 0);
	group_coordinator_free(f->c);
	f->c = NULL;
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.err, KERR_NOT_COORDINATOR);
}

static void group_sync__wrong_protocol_name_is_inconsistent(void **state)
{
	struct fixture *f = *state;
	struct join_slot a;
	struct sync_slot s;
	join(f, "g", "", &a);
	run_ms(f, INITIAL_DELAY_MS * 3);
	struct group_sync_params p = {
		.group_id = KS("g"),
		.generation_id = 1,
		.member_id = KS(a.member_id),
		.group_instance_id = KNULL,
		.protocol_type = KS("consumer"),
		.protocol_name = KS("roundrobin"),
	};
	memset(&s, 0, sizeof s);
	group_sync(f->c, &p, sync_cb, &s);
	assert_int_equal(s.err, KERR_INCONSISTENT_GROUP_PROTOCOL);
	p.protocol_name = KNULL;
	p.generation_id = 7;
	group_sync(f->c, &p, sync_cb, &s);
	assert_int_equal(s.err, KERR_ILLEGAL_GENERATION);
}

/* ---- OffsetDelete ---- */

/* A store that records the tombstones it is asked for and completes them
 * at once, or (defer) when the test says so. */
struct od_store {
	struct group_store store;
	int16_t gate;
	int16_t fail; /* what delete_offsets completes with */
	bool defer;
	group_store_done_cb pending_done;
	void *pending_arg;
	int delete_offsets_calls;
	int groups_deleted;
	char tombstones[8][64]; /* "topic/partition", in the order written */
	int32_t tombstones_count;
};

static struct od_store od;

static void od_store_group(void *impl, const struct group_store_group *g, group_store_done_cb done, void *arg)
{
	(void)impl;
	(void)g;
	done(arg, KERR_NONE);
}

static void od_store_offsets(void *impl, const char *group_id, const struct group_offset_entry *e, int32_t n,
			     group_store_done_cb done, void *arg)
{
	(void)impl;
	(void)group_id;
	(void)e;
	(void)n;
	done(arg, KERR_NONE);
}

static void od_delete_group(void *impl, const char *group_id, group_store_done_cb done, void *arg)
{
	struct od_store *s = impl;
	(void)group_id;
	s->groups_deleted++;
	done(arg, KERR_NONE);
}

static void od_delete_offsets(void *impl, const char *group_id, const struct group_offset *o, int32_t n,
			      group_store_done_cb done, void *arg)
{
	struct od_store *s = impl;
	(void)group_id;
	s->delete_offsets_calls++;
	for (int32_t i = 0; i < n && s->tombstones_count < 8; i++)
		snprintf(s->tombstones[s->tombstones_count++], sizeof s->tombstones[0], "%s/%d", o[i].topic,
			 (int)o[i].partition);
	if (s->defer) {
		s->pending_done = done;
		s->pending_arg = arg;
		return;
	}
	done(arg, s->fail);
}

static int16_t od_gate(void *impl, struct kstr group_id)
{
	(void)group_id;
	return ((struct od_store *)impl)->gate;
}

static const struct group_store_ops od_ops = {
	.store_group = od_store_group,
	.store_offsets = od_store_offsets,
	.delete_group = od_delete_group,
	.delete_offsets = od_delete_offsets,
	.gate = od_gate,
};

static void od_attach(struct fixture *f)
{
	memset(&od, 0, sizeof od);
	od.store.ops = &od_ops;
	od.store.impl = &od;
	group_coordinator_set_store(f->c, &od.store);
}

/* A consumer-protocol Subscription (ConsumerProtocolSubscription.json) of
 * `version`: 0 has topics and user_data, 1 adds owned_partitions. Returns
 * its length in buf. */
static int32_t subscription(uint8_t *buf, int16_t version, const char *const *topics, int32_t n)
{
	int32_t len = 0;
	buf[len++] = (uint8_t)(version >> 8);
	buf[len++] = (uint8_t)version;
	buf[len++] = 0;
	buf[len++] = 0;
	buf[len++] = 0;
	buf[len++] = (uint8_t)n;
	for (int32_t i = 0; i < n; i++) {
		size_t tl = strlen(topics[i]);
		buf[len++] = 0;
		buf[len++] = (uint8_t)tl;
		memcpy(buf + len, topics[i], tl);
		len += (int32_t)tl;
	}
	for (int k = 0; k < 4; k++)
		buf[len++] = 0xff; /* user_data: null */
	if (version >= 1)
		for (int k = 0; k < 4; k++)
			buf[len++] = 0; /* owned_partitions: none */
	return len;
}

static void join_protocols(struct fixture *f, const char *group, const struct join_group_request_protocol *protocols,
			   int32_t n, struct join_slot *slot)
{
	memset(slot, 0, sizeof *slot);
	struct group_join_params p = {
		.group_id = KS(group),
		.member_id = KS(""),
		.group_instance_id = KNULL,
		.client_id = KS("client"),
		.client_host = KS("/127.0.0.1"),
		.protocol_type = KS("consumer"),
		.protocols = protocols,
		.protocols_count = n,
		.session_timeout_ms = SESSION_MS,
		.rebalance_timeout_ms = 1000,
		.reason = KNULL,
	};
	group_join(f->c, &p, join_cb, slot);
}

static void commit_one(struct fixture *f, const char *group, int32_t gen, const char *member, const char *topic,
		       int32_t partition, int64_t offset)
{
	int16_t e = -1;
	struct group_offset_entry ent = {KS(topic), partition, offset, -1, KNULL, -1, &e};
	struct group_commit_params p = {KS(group), gen, KS(member), KNULL};
	struct commit_slot cs = {0};
	group_offset_commit(f->c, &p, &ent, 1, commit_cb, &cs);
	assert_int_equal(cs.calls, 1);
	assert_int_equal(e, KERR_NONE);
}

/* OffsetDelete of (topics[i], parts[i]) for i < n (n <= 4), answered at
 * once; returns the group-level error, the partitions' in errs (-1 when
 * not written). */
static int16_t offset_delete(struct fixture *f, const char *group, const char *const *topics, const int32_t *parts,
			     int32_t n, int16_t *errs)
{
	struct group_offset_delete_entry ents[4];
	assert_true(n <= 4);
	for (int32_t i = 0; i < n; i++) {
		errs[i] = -1;
		ents[i] = (struct group_offset_delete_entry){KS(topics[i]), parts[i], &errs[i]};
	}
	struct commit_slot ds = {0};
	group_offset_delete(f->c, KS(group), ents, n, commit_cb, &ds);
	assert_int_equal(ds.calls, 1);
	return ds.err;
}

static void group_offset_delete__empty_group_tombstones_what_it_removes(void **state)
{
	struct fixture *f = *state;
	od_attach(f);
	commit_one(f, "simple", -1, "", "t1", 0, 10);
	commit_one(f, "simple", -1, "", "t1", 1, 11);
	commit_one(f, "simple", -1, "", "t2", 0, 20);

	/* t1/7 has no committed offset: NONE all the same, no tombstone. The
	 * answer waits for the tombstone to be written. */
	od.defer = true;
	int16_t e[2] = {-1, -1};
	struct group_offset_delete_entry ents[] = {{KS("t1"), 0, &e[0]}, {KS("t1"), 7, &e[1]}};
	struct commit_slot ds = {0};
	group_offset_delete(f->c, KS("simple"), ents, 2, commit_cb, &ds);
	assert_int_equal(ds.calls, 0);
	assert_int_equal(od.delete_offsets_calls, 1);
	assert_int_equal(od.tombstones_count, 1);
	assert_string_equal(od.tombstones[0], "t1/0");
	assert_null(group_offset_get(f->c, KS("simple"), KS("t1"), 0));
	od.pending_done(od.pending_arg, KERR_NONE);
	assert_int_equal(ds.calls, 1);
	assert_int_equal(ds.err, KERR_NONE);
	assert_int_equal(e[0], KERR_NONE);
	assert_int_equal(e[1], KERR_NONE);
	/* The others stay. */
	assert_int_equal(group_offset_get(f->c, KS("simple"), KS("t1"), 1)->offset, 11);
	assert_int_equal(group_offset_get(f->c, KS("simple"), KS("t2"), 0)->offset, 20);
	assert_string_equal(state_of(f, "simple"), "Empty");

	/* The last offsets go, and the group with them (Kafka's
	 * cleanupGroupMetadata); a second delete finds no group. */
	od.defer = false;
	static const char *const rest_t[] = {"t2", "t1"};
	static const int32_t rest_p[] = {0, 1};
	assert_int_equal(offset_delete(f, "simple", rest_t, rest_p, 2, e), KERR_NONE);
	assert_int_equal(e[0], KERR_NONE);
	assert_int_equal(e[1], KERR_NONE);
	assert_int_equal(od.tombstones_count, 3);
	assert_string_equal(od.tombstones[1], "t2/0");
	assert_string_equal(od.tombstones[2], "t1/1");
	assert_string_equal(state_of(f, "simple"), "Dead");
	assert_int_equal(offset_delete(f, "simple", rest_t, rest_p, 2, e), KERR_GROUP_ID_NOT_FOUND);
	assert_int_equal(e[0], -1); /* a group-level error writes no partition */
	assert_int_equal(od.delete_offsets_calls, 2);
}

static void group_offset_delete__group_level_errors(void **state)
{
	struct fixture *f = *state;
	od_attach(f);
	static const char *const t[] = {"t"};
	static const int32_t p0[] = {0};
	int16_t e[1];
	assert_int_equal(offset_delete(f, "", t, p0, 1, e), KERR_INVALID_GROUP_ID);
	assert_int_equal(offset_delete(f, "nobody", t, p0, 1, e), KERR_GROUP_ID_NOT_FOUND);
	assert_int_equal(e[0], -1);
	int16_t ne = -1;
	struct group_offset_delete_entry null_group = {KS("t"), 0, &ne};
	struct commit_slot ds = {0};
	group_offset_delete(f->c, KNULL, &null_group, 1, commit_cb, &ds);
	assert_int_equal(ds.err, KERR_INVALID_GROUP_ID);

	/* Members of another protocol type: their metadata cannot be read, so
	 * the group's offsets are out of reach while it has members. */
	commit_one(f, "connect-group", -1, "", "t", 0, 5);
	struct join_slot a;
	join_full(f, "connect-group", "", NULL, "connect", false, false, &a);
	run_ms(f, INITIAL_DELAY_MS * 3);
	assert_int_equal(a.err, KERR_NONE);
	assert_int_equal(offset_delete(f, "connect-group", t, p0, 1, e), KERR_NON_EMPTY_GROUP);
	assert_int_equal(group_offset_get(f->c, KS("connect-group"), KS("t"), 0)->offset, 5);
	assert_int_equal(od.delete_offsets_calls, 0);

	/* Once it is Empty the same request deletes. */
	struct leave_group_request_member leave[] = {{KS(a.member_id), KNULL, KNULL}};
	int16_t le;
	assert_int_equal(group_leave(f->c, KS("connect-group"), leave, 1, &le), KERR_NONE);
	assert_string_equal(state_of(f, "connect-group"), "Empty");
	assert_int_equal(offset_delete(f, "connect-group", t, p0, 1, e), KERR_NONE);
	assert_int_equal(e[0], KERR_NONE);
	assert_null(group_offset_get(f->c, KS("connect-group"), KS("t"), 0));
	assert_int_equal(od.tombstones_count, 1);

	/* A tombstone the store cannot write: the group's error. */
	commit_one(f, "s", -1, "", "t", 0, 1);
	od.fail = KERR_NOT_COORDINATOR;
	assert_int_equal(offset_delete(f, "s", t, p0, 1, e), KERR_NOT_COORDINATOR);

	/* The gate answers before anything is looked at. */
	od.gate = KERR_COORDINATOR_LOAD_IN_PROGRESS;
	assert_int_equal(offset_delete(f, "s", t, p0, 1, e), KERR_COORDINATOR_LOAD_IN_PROGRESS);
	od.gate = KERR_NOT_COORDINATOR;
	assert_int_equal(offset_delete(f, "nobody", t, p0, 1, e), KERR_NOT_COORDINATOR);
}

static void group_offset_delete__consumer_group_keeps_subscribed_topics(void **state)
{
	struct fixture *f = *state;
	od_attach(f);
	/* Offsets committed before anyone joined (a reset, say). */
	commit_one(f, "cg", -1, "", "orders", 0, 5);
	commit_one(f, "cg", -1, "", "payments", 0, 6);
	commit_one(f, "cg", -1, "", "old", 0, 7);
	commit_one(f, "cg", -1, "", "old", 1, 8);

	uint8_t sub_a[64], sub_b[64];
	static const char *const topics_a[] = {"orders"};
	static const char *const topics_b[] = {"payments", "orders"};
	int32_t la = subscription(sub_a, 0, topics_a, 1);
	int32_t lb = subscription(sub_b, 1, topics_b, 2);
	struct join_group_request_protocol pa[] = {{KS("range"), {sub_a, la}}};
	struct join_group_request_protocol pb[] = {{KS("cooperative-sticky"), {sub_b, lb}}, {KS("range"), {sub_b, lb}}};
	struct join_slot a, b;
	join_protocols(f, "cg", pa, 1, &a);
	join_protocols(f, "cg", pb, 2, &b);
	assert_string_equal(state_of(f, "cg"), "PreparingRebalance");

	/* No protocol selected yet: each member's every protocol counts. */
	static const char *const t1[] = {"orders", "payments", "old", "never-committed"};
	static const int32_t p1[] = {0, 0, 0, 3};
	int16_t e[4];
	assert_int_equal(offset_delete(f, "cg", t1, p1, 4, e), KERR_NONE);
	assert_int_equal(e[0], KERR_GROUP_SUBSCRIBED_TO_TOPIC);
	assert_int_equal(e[1], KERR_GROUP_SUBSCRIBED_TO_TOPIC);
	assert_int_equal(e[2], KERR_NONE);
	assert_int_equal(e[3], KERR_NONE);
	assert_int_equal(group_offset_get(f->c, KS("cg"), KS("orders"), 0)->offset, 5);
	assert_int_equal(group_offset_get(f->c, KS("cg"), KS("payments"), 0)->offset, 6);
	assert_null(group_offset_get(f->c, KS("cg"), KS("old"), 0));
	assert_int_equal(od.tombstones_count, 1);
	assert_string_equal(od.tombstones[0], "old/0");

	/* Stable on "range": the members' range subscriptions decide. */
	run_ms(f, INITIAL_DELAY_MS * 3);
	assert_int_equal(a.err, KERR_NONE);
	assert_string_equal(a.protocol, "range");
	struct sync_slot sa, sb;
	sync_follower(f, "cg", b.generation, b.member_id, &sb);
	sync_leader(f, "cg", a.generation, a.member_id, a.member_id, "x", b.member_id, "y", &sa);
	assert_string_equal(state_of(f, "cg"), "Stable");
	static const char *const t2[] = {"payments", "old"};
	static const int32_t p2[] = {0, 1};
	assert_int_equal(offset_delete(f, "cg", t2, p2, 2, e), KERR_NONE);
	assert_int_equal(e[0], KERR_GROUP_SUBSCRIBED_TO_TOPIC);
	assert_int_equal(e[1], KERR_NONE);
	assert_null(group_offset_get(f->c, KS("cg"), KS("old"), 1));
	assert_int_equal(group_offset_get(f->c, KS("cg"), KS("payments"), 0)->offset, 6);
	assert_string_equal(state_of(f, "cg"), "Stable");

	/* Once every member left, nothing is subscribed. */
	struct leave_group_request_member leave[] = {{KS(a.member_id), KNULL, KNULL}, {KS(b.member_id), KNULL, KNULL}};
	int16_t le[2];
	assert_int_equal(group_leave(f->c, KS("cg"), leave, 2, le), KERR_NONE);
	assert_string_equal(state_of(f, "cg"), "Empty");
	assert_int_equal(offset_delete(f, "cg", t2, p2, 1, e), KERR_NONE);
	assert_int_equal(e[0], KERR_NONE);
	assert_null(group_offset_get(f->c, KS("cg"), KS("payments"), 0));
	assert_int_equal(group_offset_get(f->c, KS("cg"), KS("orders"), 0)->offset, 5);
}

static void group_offset_delete__unreadable_subscription_keeps_everything(void **state)
{
	struct fixture *f = *state;
	od_attach(f);
	/* "sub" is no Subscription: the coordinator cannot tell what the
	 * member consumes, so every topic counts as subscribed. */
	struct join_slot a;
	struct sync_slot sa;
	join(f, "opaque", "", &a);
	run_ms(f, INITIAL_DELAY_MS * 3);
	assert_int_equal(a.err, KERR_NONE);
	sync_leader(f, "opaque", a.generation, a.member_id, a.member_id, "x", NULL, NULL, &sa);
	assert_string_equal(state_of(f, "opaque"), "Stable");
	commit_one(f, "opaque", a.generation, a.member_id, "anything", 0, 3);
	static const char *const t[] = {"anything", "other"};
	static const int32_t p[] = {0, 0};
	int16_t e[2];
	assert_int_equal(offset_delete(f, "opaque", t, p, 2, e), KERR_NONE);
	assert_int_equal(e[0], KERR_GROUP_SUBSCRIBED_TO_TOPIC);
	assert_int_equal(e[1], KERR_GROUP_SUBSCRIBED_TO_TOPIC);
	assert_int_equal(group_offset_get(f->c, KS("opaque"), KS("anything"), 0)->offset, 3);
	assert_int_equal(od.delete_offsets_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(group_join__two_members_one_leader_both_get_assignment, setup, teardown),
		cmocka_unit_test_setup_teardown(group_join__third_member_triggers_rebalance, setup, teardown),
		cmocka_unit_test_setup_teardown(group_session__timeout_removes_silent_member, setup, teardown),
		cmocka_unit_test_setup_teardown(group_rebalance__member_that_does_not_rejoin_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(group_offset_commit__stale_generation_is_illegal, setup, teardown),
		cmocka_unit_test_setup_teardown(group_membership__unknown_member_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(group_join__v4_without_member_id_gets_member_id_required, setup, teardown),
		cmocka_unit_test_setup_teardown(group_join__pending_member_id_expires, setup, teardown),
		cmocka_unit_test_setup_teardown(group_static__rejoin_keeps_assignment, setup, teardown),
		cmocka_unit_test_setup_teardown(group_static__leader_rejoin_with_v9_skips_assignment, setup, teardown),
		cmocka_unit_test_setup_teardown(group_join__protocol_type_mismatch_is_inconsistent, setup, teardown),
		cmocka_unit_test_setup_teardown(group_join__session_timeout_out_of_bounds_is_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(group_leave__triggers_rebalance_and_batch_by_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(group_leave__static_member_by_instance_id, setup, teardown),
		cmocka_unit_test_setup_teardown(group_offsets__commit_and_fetch_without_membership, setup, teardown),
		cmocka_unit_test_setup_teardown(group_list__and_describe, setup, teardown),
		cmocka_unit_test_setup_teardown(group_coordinator__free_answers_pending_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(group_sync__wrong_protocol_name_is_inconsistent, setup, teardown),
		cmocka_unit_test_setup_teardown(group_offset_delete__empty_group_tombstones_what_it_removes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(group_offset_delete__group_level_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(group_offset_delete__consumer_group_keeps_subscribed_topics, setup,
						teardown),
		cmocka_unit_test_setup_teardown(group_offset_delete__unreadable_subscription_keeps_everything, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
