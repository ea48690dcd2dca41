#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/heartbeat.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static void heartbeat_request__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = HEARTBEAT_MIN_VERSION; v <= HEARTBEAT_MAX_VERSION; v++) {
		struct heartbeat_request in = {
			.group_id = KS("g1"),
			.generation_id = 12,
			.member_id = KS("m-1"),
			.group_instance_id = v >= 3 ? KS("inst") : KNULL,
		};
		ROUNDTRIP(heartbeat_request, heartbeat_request, v, &in, {
			assert_int_equal(out.generation_id, 12);
			assert_true(ks_eq(out.member_id, KS("m-1")));
			assert_true(ks_eq(out.group_instance_id, in.group_instance_id));
		});
	}
}

static void heartbeat_response__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = HEARTBEAT_MIN_VERSION; v <= HEARTBEAT_MAX_VERSION; v++) {
		struct heartbeat_response in = {.throttle_time_ms = v >= 1 ? 3 : 0, .error_code = 27};
		ROUNDTRIP(heartbeat_response, heartbeat_response, v, &in, {
			assert_int_equal(out.error_code, 27);
			assert_int_equal(out.throttle_time_ms, in.throttle_time_ms);
		});
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heartbeat_request__round_trips_every_version),
		cmocka_unit_test(heartbeat_response__round_trips_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
