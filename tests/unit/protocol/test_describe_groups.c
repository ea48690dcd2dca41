#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/describe_groups.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

#define KB(s) ((struct kbytes){(const uint8_t *)(s), (int32_t)sizeof(s) - 1})

static void describe_groups_request__round_trips_every_version(void **state)
{
	(void)state;
	struct kstr gs[] = {KS("g1"), KS("g2")};
	for (int16_t v = DESCRIBE_GROUPS_MIN_VERSION; v <= DESCRIBE_GROUPS_MAX_VERSION; v++) {
		struct describe_groups_request in = {.groups = gs, .groups_count = 2, .include_authorized_operations = v >= 3};
		ROUNDTRIP(describe_groups_request, describe_groups_request, v, &in, {
			assert_int_equal(out.groups_count, 2);
			assert_true(ks_eq(out.groups[1], KS("g2")));
			assert_int_equal(out.include_authorized_operations, in.include_authorized_operations);
		});
	}
}

static void describe_groups_response__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = DESCRIBE_GROUPS_MIN_VERSION; v <= DESCRIBE_GROUPS_MAX_VERSION; v++) {
		struct describe_groups_member ms[] = {
			{KS("m-1"), v >= 4 ? KS("inst") : KNULL, KS("client"), KS("/127.0.0.1"), KB("md"), KB("asg")},
			{KS("m-2"), KNULL, KS("c2"), KS("/10.0.0.1"), KB(""), KB("")},
		};
		struct describe_groups_group gs[] = {
			{0, KS("g1"), KS("Stable"), KS("consumer"), KS("range"), ms, 2, v >= 3 ? 328 : 0},
			{0, KS("g2"), KS("Dead"), KS(""), KS(""), NULL, 0, v >= 3 ? INT32_MIN : 0},
		};
		struct describe_groups_response in = {.throttle_time_ms = v >= 1 ? 2 : 0, .groups = gs, .groups_count = 2};
		ROUNDTRIP(describe_groups_response, describe_groups_response, v, &in, {
			assert_int_equal(out.groups_count, 2);
			assert_int_equal(out.groups[0].members_count, 2);
			assert_true(ks_eq(out.groups[0].members[0].group_instance_id, ms[0].group_instance_id));
			assert_int_equal(out.groups[0].members[0].member_assignment.len, 3);
			if (v >= 3)
				assert_int_equal(out.groups[1].authorized_operations, INT32_MIN);
		});
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(describe_groups_request__round_trips_every_version),
		cmocka_unit_test(describe_groups_response__round_trips_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
