#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/sync_group.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

#define KB(s) ((struct kbytes){(const uint8_t *)(s), (int32_t)sizeof(s) - 1})

static void sync_group_request__round_trips_every_version(void **state)
{
	(void)state;
	struct sync_group_request_assignment as[] = {{KS("m-1"), KB("\x00\x01xyz")}, {KS("m-2"), KB("")}};
	for (int16_t v = SYNC_GROUP_MIN_VERSION; v <= SYNC_GROUP_MAX_VERSION; v++) {
		struct sync_group_request in = {
			.group_id = KS("g1"),
			.generation_id = 3,
			.member_id = KS("m-1"),
			.group_instance_id = v >= 3 ? KS("inst") : KNULL,
			.protocol_type = v >= 5 ? KS("consumer") : KNULL,
			.protocol_name = v >= 5 ? KS("range") : KNULL,
			.assignments = as,
			.assignments_count = 2,
		};
		ROUNDTRIP(sync_group_request, sync_group_request, v, &in, {
			assert_int_equal(out.generation_id, 3);
			assert_true(ks_eq(out.group_instance_id, in.group_instance_id));
			assert_true(ks_eq(out.protocol_name, in.protocol_name));
			assert_int_equal(out.assignments_count, 2);
			assert_int_equal(out.assignments[0].assignment.len, 5);
		});
	}
}

static void sync_group_response__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = SYNC_GROUP_MIN_VERSION; v <= SYNC_GROUP_MAX_VERSION; v++) {
		struct sync_group_response in = {
			.throttle_time_ms = v >= 1 ? 9 : 0,
			.error_code = 27,
			.protocol_type = v >= 5 ? KS("consumer") : KNULL,
			.protocol_name = v >= 5 ? KS("range") : KNULL,
			.assignment = KB("assigned"),
		};
		ROUNDTRIP(sync_group_response, sync_group_response, v, &in, {
			assert_int_equal(out.error_code, 27);
			assert_int_equal(out.throttle_time_ms, in.throttle_time_ms);
			assert_true(ks_eq(out.protocol_type, in.protocol_type));
			assert_int_equal(out.assignment.len, 8);
		});
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sync_group_request__round_trips_every_version),
		cmocka_unit_test(sync_group_response__round_trips_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
