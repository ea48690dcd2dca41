#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/join_group.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

#define KB(s) ((struct kbytes){(const uint8_t *)(s), (int32_t)sizeof(s) - 1})

static void join_group_request__round_trips_every_version(void **state)
{
	(void)state;
	struct join_group_request_protocol protos[] = {{KS("range"), KB("\x00\x01meta")}, {KS("roundrobin"), KB("")}};
	for (int16_t v = JOIN_GROUP_MIN_VERSION; v <= JOIN_GROUP_MAX_VERSION; v++) {
		struct join_group_request in = {
			.group_id = KS("g1"),
			.session_timeout_ms = 10000,
			.rebalance_timeout_ms = v >= 1 ? 30000 : -1,
			.member_id = KS("m-1"),
			.group_instance_id = v >= 5 ? KS("inst-1") : KNULL,
			.protocol_type = KS("consumer"),
			.protocols = protos,
			.protocols_count = 2,
			.reason = v >= 8 ? KS("because") : KNULL,
		};
		ROUNDTRIP(join_group_request, join_group_request, v, &in, {
			assert_true(ks_eq(out.group_id, KS("g1")));
			assert_int_equal(out.session_timeout_ms, 10000);
			assert_int_equal(out.rebalance_timeout_ms, in.rebalance_timeout_ms);
			assert_true(ks_eq(out.group_instance_id, in.group_instance_id));
			assert_int_equal(out.protocols_count, 2);
			assert_int_equal(out.protocols[0].metadata.len, 6);
			assert_memory_equal(out.protocols[0].metadata.p, "\x00\x01meta", 6);
			assert_true(ks_eq(out.reason, in.reason));
		});
	}
}

static void join_group_response__round_trips_every_version(void **state)
{
	(void)state;
	struct join_group_response_member ms[] = {{KS("m-1"), KS("inst-1"), KB("abc")}, {KS("m-2"), KNULL, KB("")}};
	for (int16_t v = JOIN_GROUP_MIN_VERSION; v <= JOIN_GROUP_MAX_VERSION; v++) {
		struct join_group_response_member mv[2];
		memcpy(mv, ms, sizeof ms);
		if (v < 5)
			mv[0].group_instance_id = KNULL;
		struct join_group_response in = {
			.throttle_time_ms = v >= 2 ? 5 : 0,
			.error_code = 0,
			.generation_id = 4,
			.protocol_type = v >= 7 ? KS("consumer") : KNULL,
			.protocol_name = KS("range"),
			.leader = KS("m-1"),
			.skip_assignment = v >= 9,
			.member_id = KS("m-1"),
			.members = mv,
			.members_count = 2,
		};
		ROUNDTRIP(join_group_response, join_group_response, v, &in, {
			assert_int_equal(out.generation_id, 4);
			assert_int_equal(out.throttle_time_ms, in.throttle_time_ms);
			assert_true(ks_eq(out.protocol_type, in.protocol_type));
			assert_true(ks_eq(out.protocol_name, KS("range")));
			assert_int_equal(out.skip_assignment, in.skip_assignment);
			assert_int_equal(out.members_count, 2);
			assert_true(ks_eq(out.members[0].group_instance_id, mv[0].group_instance_id));
			assert_int_equal(out.members[0].metadata.len, 3);
		});
	}
}

static void join_group_response__null_protocol_name_before_v7_is_empty(void **state)
{
	(void)state;
	struct join_group_response in = {.error_code = 79, .generation_id = -1, .protocol_name = KNULL};
	struct kwriter w;
	struct kreader r;
	struct join_group_response out;
	kw_init(&w, 64);
	join_group_response_encode(&w, 4, &in);
	kr_init(&r, w.buf, w.len);
	assert_int_equal(join_group_response_decode(&r, 4, &out), 0);
	assert_int_equal(out.protocol_name.len, 0);
	assert_int_equal(out.error_code, 79);
	join_group_response_free(&out);
	kw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(join_group_request__round_trips_every_version),
		cmocka_unit_test(join_group_response__round_trips_every_version),
		cmocka_unit_test(join_group_response__null_protocol_name_before_v7_is_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
