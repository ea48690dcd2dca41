/* Rebuilding groups from __consumer_offsets records (group_restore.c), the
 * store's gate in front of every group API, unloading, offset retention and
 * DeleteGroups with their tombstones, against a recording store on a real
 * event_base with short timeouts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "broker/group/group_internal.h"
#include "broker/logger.h"
#include "broker/protocol/errors.h"

#define KS(s) ((struct kstr){(s), (int32_t)strlen(s)})
#define KNULL ((struct kstr){NULL, -1})
#define KB(s) ((struct kbytes){(const uint8_t *)(s), (int32_t)strlen(s)})

#define SESSION_MS 60

/* Records what the coordinator asked of its store. */
struct fake_store {
	struct group_store store;
	int16_t gate;
	int groups_stored;
	int groups_deleted;
	int offsets_deleted_calls;
	int32_t offsets_deleted;
	char last_group[64];
};

struct fixture {
	struct event_base *base;
	struct group_coordinator *c;
	struct fake_store fs;
};

static void fake_store_group(void *impl, const struct group_store_group *g, group_store_done_cb done, void *arg)
{
	struct fake_store *s = impl;
	s->groups_stored++;
	snprintf(s->last_group, sizeof s->last_group, "%s", g->group_id);
	done(arg, KERR_NONE);
}

static void fake_store_offsets(void *impl, const char *group_id, const struct group_offset_entry *e, int32_t n,
			       group_store_done_cb done, void *arg)
{
	(void)impl;
	(void)group_id;
	(void)e;
	(void)n;
	done(arg, KERR_NONE);
}

static void fake_delete_group(void *impl, const char *group_id, group_store_done_cb done, void *arg)
{
	struct fake_store *s = impl;
	s->groups_deleted++;
	snprintf(s->last_group, sizeof s->last_group, "%s", group_id);
	done(arg, KERR_NONE);
}

static void fake_delete_offsets(void *impl, const char *group_id, const struct group_offset *o, int32_t n,
				group_store_done_cb done, void *arg)
{
	struct fake_store *s = impl;
	(void)o;
	s->offsets_deleted_calls++;
	s->offsets_deleted += n;
	snprintf(s->last_group, sizeof s->last_group, "%s", group_id);
	done(arg, KERR_NONE);
}

static int16_t fake_gate(void *impl, struct kstr group_id)
{
	(void)group_id;
	return ((struct fake_store *)impl)->gate;
}

static const struct group_store_ops fake_ops = {
	.store_group = fake_store_group,
	.store_offsets = fake_store_offsets,
	.delete_group = fake_delete_group,
	.delete_offsets = fake_delete_offsets,
	.gate = fake_gate,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	struct group_config cfg;
	logger_set_level(TLOG_ERROR);
	group_config_defaults(&cfg);
	cfg.min_session_timeout_ms = 10;
	cfg.initial_rebalance_delay_ms = 20;
	f->base = event_base_new();
	f->c = group_coordinator_new(f->base, &cfg);
	assert_non_null(f->c);
	f->fs.store = (struct group_store){&fake_ops, &f->fs};
	group_coordinator_set_store(f->c, &f->fs.store);
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

static struct group_log_member one_member = {
	.member_id = {"m-1", 3},
	.group_instance_id = {NULL, -1},
	.client_id = {"client", 6},
	.client_host = {"/10.0.0.1", 9},
	.rebalance_timeout_ms = 1000,
	.session_timeout_ms = SESSION_MS,
	.subscription = {(const uint8_t *)"sub", 3},
	.assignment = {(const uint8_t *)"asg", 3},
};

static struct group_log_record group_record(const char *group, int32_t generation, bool with_member)
{
	struct group_log_record r = {
		.kind = GROUP_LOG_GROUP,
		.group = KS(group),
		.protocol_type = KS("consumer"),
		.generation = generation,
		.protocol = with_member ? KS("range") : KNULL,
		.leader = with_member ? KS("m-1") : KNULL,
		.current_state_timestamp_ms = 1000,
		.members = with_member ? &one_member : NULL,
		.members_count = with_member ? 1 : 0,
	};
	return r;
}

static struct group_log_record offset_record(const char *group, const char *topic, int32_t partition, int64_t offset)
{
	struct group_log_record r = {
		.kind = GROUP_LOG_OFFSET,
		.group = KS(group),
		.topic = KS(topic),
		.partition = partition,
		.offset = offset,
		.leader_epoch = 2,
		.metadata = KS(""),
		.commit_timestamp_ms = 5000,
	};
	return r;
}

static const char *state_of(struct fixture *f, const char *group, int32_t *members)
{
	static char buf[32];
	struct group_summary s;
	assert_int_equal(group_describe(f->c, KS(group), &s), KERR_NONE);
	snprintf(buf, sizeof buf, "%s", s.state);
	if (members)
		*members = s.members_count;
	group_summary_free(&s);
	return buf;
}

struct join_slot {
	int calls;
	int16_t err;
};

static void join_cb(void *arg, const struct group_join_result *r)
{
	struct join_slot *s = arg;
	s->calls++;
	s->err = r->error_code;
}

struct sync_slot {
	int calls;
	int16_t err;
};

static void sync_cb(void *arg, const struct group_sync_result *r)
{
	struct sync_slot *s = arg;
	s->calls++;
	s->err = r->error_code;
}

static void commit_cb(void *arg, int16_t err)
{
	*(int16_t *)arg = err;
}

static const struct join_group_request_protocol range_protocol[] = {{{"range", 5}, {(const uint8_t *)"sub", 3}}};

static void join(struct fixture *f, const char *group, struct join_slot *slot)
{
	memset(slot, 0, sizeof *slot);
	struct group_join_params p = {
		.group_id = KS(group),
		.member_id = KS(""),
		.group_instance_id = KNULL,
		.client_id = KS("client"),
		.client_host = KS("/127.0.0.1"),
		.protocol_type = KS("consumer"),
		.protocols = range_protocol,
		.protocols_count = 1,
		.session_timeout_ms = SESSION_MS,
		.rebalance_timeout_ms = 1000,
		.reason = KNULL,
	};
	group_join(f->c, &p, join_cb, slot);
}

static void group_restore__group_and_offsets_come_back_stable(void **state)
{
	struct fixture *f = *state;
	struct group_log_record g = group_record("g", 3, true);
	struct group_log_record o = offset_record("g", "t", 0, 42);
	assert_int_equal(group_restore_offset(f->c, &o), 0);
	assert_int_equal(group_restore_group(f->c, &g), 0);
	group_restore_done(f->c, NULL, NULL);

	struct group_summary s;
	assert_int_equal(group_describe(f->c, KS("g"), &s), KERR_NONE);
	assert_string_equal(s.state, "Stable");
	assert_string_equal(s.protocol_type, "consumer");
	assert_string_equal(s.protocol_name, "range");
	assert_int_equal(s.members_count, 1);
	assert_string_equal(s.members[0].member_id, "m-1");
	assert_string_equal(s.members[0].client_host, "/10.0.0.1");
	assert_int_equal(s.members[0].assignment.len, 3);
	assert_memory_equal(s.members[0].assignment.p, "asg", 3);
	assert_memory_equal(s.members[0].metadata.p, "sub", 3);
	group_summary_free(&s);
	/* The member carries on with its generation: no rejoin needed. */
	assert_int_equal(group_heartbeat(f->c, KS("g"), 3, KS("m-1"), KNULL), KERR_NONE);
	assert_int_equal(group_heartbeat(f->c, KS("g"), 2, KS("m-1"), KNULL), KERR_ILLEGAL_GENERATION);
	struct sync_slot ss = {0};
	struct group_sync_params sp = {KS("g"), 3, KS("m-1"), KNULL, KS("consumer"), KS("range"), NULL, 0};
	group_sync(f->c, &sp, sync_cb, &ss);
	assert_int_equal(ss.calls, 1);
	assert_int_equal(ss.err, KERR_NONE);
	const struct group_offset *off = group_offset_get(f->c, KS("g"), KS("t"), 0);
	assert_non_null(off);
	assert_int_equal(off->offset, 42);
	assert_int_equal(off->leader_epoch, 2);
	/* Loading writes nothing back. */
	assert_int_equal(f->fs.groups_stored, 0);
}

static void group_restore__latest_record_wins_and_tombstones_delete(void **state)
{
	struct fixture *f = *state;
	struct group_log_record o1 = offset_record("g", "t", 0, 10);
	struct group_log_record o2 = offset_record("g", "t", 0, 20);
	struct group_log_record o3 = offset_record("g", "t", 1, 30);
	struct group_log_record g1 = group_record("g", 1, true);
	struct group_log_record g2 = group_record("g", 2, false);
	assert_int_equal(group_restore_offset(f->c, &o1), 0);
	assert_int_equal(group_restore_group(f->c, &g1), 0);
	assert_int_equal(group_restore_offset(f->c, &o2), 0);
	assert_int_equal(group_restore_offset(f->c, &o3), 0);
	assert_int_equal(group_restore_group(f->c, &g2), 0);
	group_restore_done(f->c, NULL, NULL);
	int32_t n;
	assert_string_equal(state_of(f, "g", &n), "Empty");
	assert_int_equal(n, 0);
	assert_int_equal(group_offset_get(f->c, KS("g"), KS("t"), 0)->offset, 20);

	struct group_log_record t1 = o3;
	t1.tombstone = true;
	assert_int_equal(group_restore_offset(f->c, &t1), 0);
	assert_null(group_offset_get(f->c, KS("g"), KS("t"), 1));
	/* The group's tombstone: its metadata goes; its offset stays (offsets
	 * have records of their own), so it stays as a group without protocol. */
	struct group_log_record tg = g2;
	tg.tombstone = true;
	assert_int_equal(group_restore_group(f->c, &tg), 0);
	struct group_summary s;
	assert_int_equal(group_describe(f->c, KS("g"), &s), KERR_NONE);
	assert_string_equal(s.protocol_type, "");
	group_summary_free(&s);
	struct group_log_record t0 = o2;
	t0.tombstone = true;
	assert_int_equal(group_restore_offset(f->c, &t0), 0);
	/* Nothing left: the group is gone (described as Dead, Kafka's unknown). */
	assert_string_equal(state_of(f, "g", NULL), "Dead");
}

static void group_restore__sessions_start_only_once_loaded(void **state)
{
	struct fixture *f = *state;
	struct group_log_record g = group_record("g", 3, true);
	struct group_log_record o = offset_record("g", "t", 0, 42);
	assert_int_equal(group_restore_group(f->c, &g), 0);
	assert_int_equal(group_restore_offset(f->c, &o), 0);
	run_ms(f, 3 * SESSION_MS);
	int32_t n;
	assert_string_equal(state_of(f, "g", &n), "Stable");
	assert_int_equal(n, 1);
	group_restore_done(f->c, NULL, NULL);
	/* The member never heartbeats to this coordinator: it expires, the
	 * group rebalances to Empty and stores that. */
	run_ms(f, 4 * SESSION_MS);
	assert_string_equal(state_of(f, "g", &n), "Empty");
	assert_int_equal(n, 0);
	assert_int_equal(f->fs.groups_stored, 1);
	assert_string_equal(f->fs.last_group, "g");
}

static void group_gate__answers_every_api_for_groups_not_served(void **state)
{
	struct fixture *f = *state;
	struct group_log_record o = offset_record("g", "t", 0, 42);
	assert_int_equal(group_restore_offset(f->c, &o), 0);
	int16_t codes[] = {KERR_COORDINATOR_LOAD_IN_PROGRESS, KERR_NOT_COORDINATOR};
	for (size_t i = 0; i < 2; i++) {
		f->fs.gate = codes[i];
		struct join_slot js;
		join(f, "g", &js);
		assert_int_equal(js.calls, 1);
		assert_int_equal(js.err, codes[i]);
		struct sync_slot ss = {0};
		struct group_sync_params sp = {KS("g"), 1, KS("m"), KNULL, KNULL, KNULL, NULL, 0};
		group_sync(f->c, &sp, sync_cb, &ss);
		assert_int_equal(ss.err, codes[i]);
		assert_int_equal(group_heartbeat(f->c, KS("g"), 1, KS("m"), KNULL), codes[i]);
		struct leave_group_request_member lm = {KS("m"), KNULL, KNULL};
		int16_t merr = 0;
		assert_int_equal(group_leave(f->c, KS("g"), &lm, 1, &merr), codes[i]);
		int16_t e = 0, cerr = 0;
		struct group_offset_entry ent = {KS("t"), 0, 7, -1, KNULL, -1, &e};
		struct group_commit_params cp = {KS("g"), -1, KS(""), KNULL};
		group_offset_commit(f->c, &cp, &ent, 1, commit_cb, &cerr);
		assert_int_equal(e, codes[i]);
		assert_int_equal(group_offset_fetch_check(f->c, KS("g")), codes[i]);
		struct group_summary s;
		assert_int_equal(group_describe(f->c, KS("g"), &s), codes[i]);
		group_summary_free(&s);
		struct group_summary *all;
		int32_t n;
		assert_int_equal(group_list(f->c, &all, &n), 0);
		assert_int_equal(n, 0);
		free(all);
	}
	f->fs.gate = KERR_NONE;
	assert_int_equal(group_offset_get(f->c, KS("g"), KS("t"), 0)->offset, 42);
	struct group_summary *all;
	int32_t n;
	assert_int_equal(group_list(f->c, &all, &n), 0);
	assert_int_equal(n, 1);
	free(all);
}

static bool match_g(void *arg, const char *group_id)
{
	(void)arg;
	return strcmp(group_id, "g") == 0;
}

static void group_unload__answers_waiting_members_not_coordinator(void **state)
{
	struct fixture *f = *state;
	struct join_slot js;
	join(f, "g", &js); /* waits out group.initial.rebalance.delay.ms */
	assert_int_equal(js.calls, 0);
	struct group_log_record o = offset_record("other", "t", 0, 1);
	assert_int_equal(group_restore_offset(f->c, &o), 0);
	group_unload(f->c, match_g, NULL);
	assert_int_equal(js.calls, 1);
	assert_int_equal(js.err, KERR_NOT_COORDINATOR);
	assert_string_equal(state_of(f, "g", NULL), "Dead");
	/* Other partitions' groups stay; unloading writes no tombstone. */
	assert_non_null(group_offset_get(f->c, KS("other"), KS("t"), 0));
	assert_int_equal(f->fs.groups_deleted, 0);
	run_ms(f, 50);
}

static void group_expire__offsets_of_empty_groups_go_after_retention(void **state)
{
	struct fixture *f = *state;
	const int64_t retention = 1000000;
	/* A consumer group, Empty since t=1000 (its record's state timestamp). */
	struct group_log_record g = group_record("cg", 4, false);
	struct group_log_record o1 = offset_record("cg", "t", 0, 5);
	struct group_log_record o2 = offset_record("cg", "t", 1, 6);
	assert_int_equal(group_restore_group(f->c, &g), 0);
	assert_int_equal(group_restore_offset(f->c, &o1), 0);
	assert_int_equal(group_restore_offset(f->c, &o2), 0);
	/* A group that only commits (no protocol type): by commit time (5000). */
	struct group_log_record s1 = offset_record("simple", "t", 0, 7);
	assert_int_equal(group_restore_offset(f->c, &s1), 0);
	/* A Stable group keeps its offsets whatever their age. */
	struct group_log_record sg = group_record("stable", 1, true);
	struct group_log_record so = offset_record("stable", "t", 0, 8);
	assert_int_equal(group_restore_group(f->c, &sg), 0);
	assert_int_equal(group_restore_offset(f->c, &so), 0);
	group_restore_done(f->c, NULL, NULL);

	assert_int_equal(group_expire_offsets(f->c, 1000 + retention - 1, retention, NULL, NULL), 0);
	/* cg's state timestamp is past retention, simple's commit is not yet. */
	assert_int_equal(group_expire_offsets(f->c, 1000 + retention, retention, NULL, NULL), 2);
	assert_int_equal(f->fs.offsets_deleted, 2);
	assert_int_equal(f->fs.groups_deleted, 1); /* cg: Empty, nothing left, its record goes */
	assert_string_equal(state_of(f, "cg", NULL), "Dead");
	assert_non_null(group_offset_get(f->c, KS("simple"), KS("t"), 0));
	assert_int_equal(group_expire_offsets(f->c, 5000 + retention, retention, NULL, NULL), 1);
	assert_null(group_offset_get(f->c, KS("simple"), KS("t"), 0));
	assert_int_equal(f->fs.groups_deleted, 1); /* never had a record: no tombstone */
	assert_int_equal(group_offset_get(f->c, KS("stable"), KS("t"), 0)->offset, 8);
}

static void group_delete__empty_group_goes_with_tombstones(void **state)
{
	struct fixture *f = *state;
	struct group_log_record g = group_record("cg", 4, false);
	struct group_log_record o1 = offset_record("cg", "t", 0, 5);
	struct group_log_record o2 = offset_record("cg", "t", 1, 6);
	struct group_log_record sg = group_record("stable", 1, true);
	assert_int_equal(group_restore_group(f->c, &g), 0);
	assert_int_equal(group_restore_offset(f->c, &o1), 0);
	assert_int_equal(group_restore_offset(f->c, &o2), 0);
	assert_int_equal(group_restore_group(f->c, &sg), 0);
	group_restore_done(f->c, NULL, NULL);

	assert_int_equal(group_delete(f->c, KS("stable")), KERR_NON_EMPTY_GROUP);
	assert_int_equal(group_delete(f->c, KS("nobody")), KERR_GROUP_ID_NOT_FOUND);
	assert_int_equal(group_delete(f->c, KS("")), KERR_INVALID_GROUP_ID);
	f->fs.gate = KERR_NOT_COORDINATOR;
	assert_int_equal(group_delete(f->c, KS("cg")), KERR_NOT_COORDINATOR);
	f->fs.gate = KERR_NONE;
	assert_int_equal(group_delete(f->c, KS("cg")), KERR_NONE);
	assert_int_equal(f->fs.offsets_deleted, 2);
	assert_int_equal(f->fs.groups_deleted, 1);
	assert_string_equal(state_of(f, "cg", NULL), "Dead");
	assert_null(group_offset_get(f->c, KS("cg"), KS("t"), 0));
	assert_int_equal(group_delete(f->c, KS("cg")), KERR_GROUP_ID_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(group_restore__group_and_offsets_come_back_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(group_restore__latest_record_wins_and_tombstones_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(group_restore__sessions_start_only_once_loaded, setup, teardown),
		cmocka_unit_test_setup_teardown(group_gate__answers_every_api_for_groups_not_served, setup, teardown),
		cmocka_unit_test_setup_teardown(group_unload__answers_waiting_members_not_coordinator, setup, teardown),
		cmocka_unit_test_setup_teardown(group_expire__offsets_of_empty_groups_go_after_retention, setup,
						teardown),
		cmocka_unit_test_setup_teardown(group_delete__empty_group_goes_with_tombstones, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
