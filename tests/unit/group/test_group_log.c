/* The __consumer_offsets record codec and Kafka's group -> partition hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "broker/group/group_log.h"

#define KS(s) ((struct kstr){(s), (int32_t)strlen(s)})
#define KNULL ((struct kstr){NULL, -1})

static struct kbytes wbytes(const struct kwriter *w)
{
	return (struct kbytes){w->buf, (int32_t)w->len};
}

static bool kstr_is(struct kstr s, const char *c)
{
	return s.len >= 0 && (size_t)s.len == strlen(c) && memcmp(s.p, c, (size_t)s.len) == 0;
}

/* Values from Java's String.hashCode (UTF-16 code units) and Kafka's
 * Utils.abs: "polygenelubricants" hashes to Integer.MIN_VALUE, which
 * Utils.abs maps to 0; U+1F600 counts as a surrogate pair. */
static void group_log_partition_for__matches_java_string_hash_code(void **state)
{
	(void)state;
	assert_int_equal(group_log_partition_for(KS(""), 50), 0);
	assert_int_equal(group_log_partition_for(KNULL, 50), 0);
	assert_int_equal(group_log_partition_for(KS("a"), 50), 47);
	assert_int_equal(group_log_partition_for(KS("hello"), 50), 22);
	assert_int_equal(group_log_partition_for(KS("g-failover"), 50), 0);
	assert_int_equal(group_log_partition_for(KS("g-failover"), 3), 1);
	assert_int_equal(group_log_partition_for(KS("zzzzzzzzzz"), 50), 36);
	assert_int_equal(group_log_partition_for(KS("polygenelubricants"), 50), 0);
	assert_int_equal(group_log_partition_for(KS("console-consumer-12345"), 50), 6);
	assert_int_equal(group_log_partition_for(KS("\xc3\xa9"), 50), 33);             /* é */
	assert_int_equal(group_log_partition_for(KS("\xf0\x9f\x98\x80"), 50), 49);     /* U+1F600 */
	assert_int_equal(group_log_partition_for(KS("my-group-\xc3\xa9\xc3\xbc\xf0\x9f\x98\x80"), 50), 43);
	/* Malformed UTF-8 still maps somewhere in range. */
	assert_in_range(group_log_partition_for(KS("\xff\xc3"), 7), 0, 6);
}

static void group_log_offset__key_and_value_are_kafkas_bytes(void **state)
{
	(void)state;
	struct kwriter k, v;
	kw_init(&k, 16);
	kw_init(&v, 16);
	group_log_offset_key(&k, KS("g"), KS("t"), 5);
	group_log_offset_value(&v, 42, 7, KS("md"), 1000);
	static const uint8_t key[] = {0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 5};
	static const uint8_t value[] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 7, 0, 2, 'm', 'd',
					0, 0, 0, 0, 0, 0, 0x03, 0xe8};
	assert_int_equal(k.len, sizeof key);
	assert_memory_equal(k.buf, key, sizeof key);
	assert_int_equal(v.len, sizeof value);
	assert_memory_equal(v.buf, value, sizeof value);

	struct group_log_record r;
	assert_int_equal(group_log_decode(wbytes(&k), wbytes(&v), &r), 0);
	assert_int_equal(r.kind, GROUP_LOG_OFFSET);
	assert_true(kstr_is(r.group, "g") && kstr_is(r.topic, "t") && kstr_is(r.metadata, "md"));
	assert_int_equal(r.partition, 5);
	assert_int_equal(r.offset, 42);
	assert_int_equal(r.leader_epoch, 7);
	assert_int_equal(r.commit_timestamp_ms, 1000);
	assert_false(r.tombstone);
	group_log_record_free(&r);

	/* A null value: the tombstone of that key. */
	assert_int_equal(group_log_decode(wbytes(&k), (struct kbytes){NULL, -1}, &r), 0);
	assert_true(r.tombstone);
	assert_int_equal(r.kind, GROUP_LOG_OFFSET);
	group_log_record_free(&r);
	kw_free(&k);
	kw_free(&v);
}

static void group_log_offset__older_and_flexible_values_decode(void **state)
{
	(void)state;
	static const uint8_t key0[] = {0, 0, 0, 1, 'g', 0, 1, 't', 0, 0, 0, 1};
	/* v1: offset, metadata, commit timestamp, expire timestamp */
	static const uint8_t v1[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
				     0, 0, 0, 0, 0, 0, 0, 3};
	/* v4 (flexible): offset, leader epoch, compact metadata, commit timestamp, tags */
	static const uint8_t v4[] = {0, 4, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 1, 3, 'x', 'y',
				     0, 0, 0, 0, 0, 0, 0, 5, 0};
	struct group_log_record r;
	assert_int_equal(group_log_decode((struct kbytes){key0, sizeof key0}, (struct kbytes){v1, sizeof v1}, &r), 0);
	assert_int_equal(r.offset, 9);
	assert_int_equal(r.leader_epoch, -1);
	assert_int_equal(r.commit_timestamp_ms, 2);
	assert_int_equal(r.expire_timestamp_ms, 3);
	group_log_record_free(&r);
	assert_int_equal(group_log_decode((struct kbytes){key0, sizeof key0}, (struct kbytes){v4, sizeof v4}, &r), 0);
	assert_int_equal(r.offset, 11);
	assert_int_equal(r.leader_epoch, 1);
	assert_true(kstr_is(r.metadata, "xy"));
	assert_int_equal(r.commit_timestamp_ms, 5);
	group_log_record_free(&r);
	/* Truncated, or a value version from the future: refused. */
	assert_int_equal(group_log_decode((struct kbytes){key0, sizeof key0}, (struct kbytes){v1, sizeof v1 - 1}, &r), -1);
	group_log_record_free(&r);
	uint8_t v9[sizeof v1];
	memcpy(v9, v1, sizeof v1);
	v9[1] = 9;
	assert_int_equal(group_log_decode((struct kbytes){key0, sizeof key0}, (struct kbytes){v9, sizeof v9}, &r), -1);
	group_log_record_free(&r);
}

static void group_log_group__value_round_trips_with_members(void **state)
{
	(void)state;
	struct group_store_member members[2] = {
		{.member_id = "m-1", .client_id = "client-a", .client_host = "/10.0.0.1", .session_timeout_ms = 3000,
		 .rebalance_timeout_ms = 5000, .metadata = {(const uint8_t *)"sub", 3},
		 .assignment = {(const uint8_t *)"assign", 6}},
		{.member_id = "m-2", .group_instance_id = "instance-2", .client_id = "client-b",
		 .client_host = "/10.0.0.2", .session_timeout_ms = 4000, .rebalance_timeout_ms = 6000},
	};
	struct group_store_group g = {"grp", "consumer", "range", "m-1", 4, 123456, members, 2};
	struct kwriter k, v;
	kw_init(&k, 16);
	kw_init(&v, 64);
	group_log_group_key(&k, KS("grp"));
	group_log_group_value(&v, &g);
	static const uint8_t key[] = {0, 2, 0, 3, 'g', 'r', 'p'};
	assert_int_equal(k.len, sizeof key);
	assert_memory_equal(k.buf, key, sizeof key);
	/* version 3, then protocol_type "consumer" as an INT16-length string */
	assert_int_equal(v.buf[0], 0);
	assert_int_equal(v.buf[1], 3);
	assert_int_equal(v.buf[3], 8);
	assert_memory_equal(v.buf + 4, "consumer", 8);

	struct group_log_record r;
	assert_int_equal(group_log_decode(wbytes(&k), wbytes(&v), &r), 0);
	assert_int_equal(r.kind, GROUP_LOG_GROUP);
	assert_int_equal(r.value_version, 3);
	assert_true(kstr_is(r.group, "grp") && kstr_is(r.protocol_type, "consumer"));
	assert_true(kstr_is(r.protocol, "range") && kstr_is(r.leader, "m-1"));
	assert_int_equal(r.generation, 4);
	assert_int_equal(r.current_state_timestamp_ms, 123456);
	assert_int_equal(r.members_count, 2);
	assert_true(kstr_is(r.members[0].member_id, "m-1"));
	assert_int_equal(r.members[0].group_instance_id.len, -1);
	assert_true(kstr_is(r.members[0].client_host, "/10.0.0.1"));
	assert_int_equal(r.members[0].rebalance_timeout_ms, 5000);
	assert_int_equal(r.members[0].session_timeout_ms, 3000);
	assert_int_equal(r.members[0].subscription.len, 3);
	assert_memory_equal(r.members[0].assignment.p, "assign", 6);
	assert_true(kstr_is(r.members[1].group_instance_id, "instance-2"));
	assert_int_equal(r.members[1].assignment.len, 0);
	group_log_record_free(&r);

	/* An Empty group: no protocol, no leader (null strings), no member. */
	struct group_store_group empty = {"grp", "consumer", NULL, NULL, 5, 7, NULL, 0};
	kw_free(&v);
	kw_init(&v, 64);
	group_log_group_value(&v, &empty);
	assert_int_equal(group_log_decode(wbytes(&k), wbytes(&v), &r), 0);
	assert_int_equal(r.protocol.len, -1);
	assert_int_equal(r.leader.len, -1);
	assert_int_equal(r.members_count, 0);
	group_log_record_free(&r);

	/* A member count the bytes cannot hold is refused before allocating. */
	uint8_t *bad = malloc(v.len);
	memcpy(bad, v.buf, v.len);
	bad[v.len - 1] = 0x7f;
	assert_int_equal(group_log_decode(wbytes(&k), (struct kbytes){bad, (int32_t)v.len}, &r), -1);
	group_log_record_free(&r);
	free(bad);
	kw_free(&k);
	kw_free(&v);
}

static void group_log_decode__other_key_versions_are_skipped(void **state)
{
	(void)state;
	static const uint8_t k3[] = {0, 3, 0, 1, 'g'};
	struct group_log_record r;
	assert_int_equal(group_log_decode((struct kbytes){k3, sizeof k3}, (struct kbytes){NULL, -1}, &r), 0);
	assert_int_equal(r.kind, GROUP_LOG_OTHER);
	group_log_record_free(&r);
	assert_int_equal(group_log_decode((struct kbytes){NULL, -1}, (struct kbytes){NULL, -1}, &r), -1);
	group_log_record_free(&r);
	static const uint8_t short_key[] = {0, 2, 0, 9, 'g'};
	assert_int_equal(group_log_decode((struct kbytes){short_key, sizeof short_key}, (struct kbytes){NULL, -1}, &r),
			 -1);
	group_log_record_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(group_log_partition_for__matches_java_string_hash_code),
		cmocka_unit_test(group_log_offset__key_and_value_are_kafkas_bytes),
		cmocka_unit_test(group_log_offset__older_and_flexible_values_decode),
		cmocka_unit_test(group_log_group__value_round_trips_with_members),
		cmocka_unit_test(group_log_decode__other_key_versions_are_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
