#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/leave_group.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static void leave_group_request__round_trips_every_version(void **state)
{
	(void)state;
	struct leave_group_request_member ms[] = {{KS("m-1"), KNULL, KS("bye")}, {KS(""), KS("inst-2"), KNULL}};
	for (int16_t v = LEAVE_GROUP_MIN_VERSION; v <= LEAVE_GROUP_MAX_VERSION; v++) {
		struct leave_group_request_member mv[2];
		memcpy(mv, ms, sizeof ms);
		if (v < 5)
			mv[0].reason = KNULL;
		struct leave_group_request in = {
			.group_id = KS("g1"),
			.member_id = v <= 2 ? KS("m-1") : KNULL,
			.members = v >= 3 ? mv : NULL,
			.members_count = v >= 3 ? 2 : 0,
		};
		ROUNDTRIP(leave_group_request, leave_group_request, v, &in, {
			assert_true(ks_eq(out.group_id, KS("g1")));
			if (v <= 2) {
				assert_true(ks_eq(out.member_id, KS("m-1")));
			} else {
				assert_int_equal(out.members_count, 2);
				assert_true(ks_eq(out.members[1].group_instance_id, KS("inst-2")));
				assert_true(ks_eq(out.members[0].reason, mv[0].reason));
			}
		});
	}
}

static void leave_group_response__round_trips_every_version(void **state)
{
	(void)state;
	struct leave_group_response_member ms[] = {{KS("m-1"), KNULL, 0}, {KS("m-2"), KS("inst-2"), 25}};
	for (int16_t v = LEAVE_GROUP_MIN_VERSION; v <= LEAVE_GROUP_MAX_VERSION; v++) {
		struct leave_group_response in = {
			.throttle_time_ms = v >= 1 ? 1 : 0,
			.error_code = 0,
			.members = v >= 3 ? ms : NULL,
			.members_count = v >= 3 ? 2 : 0,
		};
		ROUNDTRIP(leave_group_response, leave_group_response, v, &in, {
			assert_int_equal(out.throttle_time_ms, in.throttle_time_ms);
			assert_int_equal(out.members_count, in.members_count);
			if (v >= 3)
				assert_int_equal(out.members[1].error_code, 25);
		});
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leave_group_request__round_trips_every_version),
		cmocka_unit_test(leave_group_response__round_trips_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
