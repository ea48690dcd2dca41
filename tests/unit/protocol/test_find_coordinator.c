#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "broker/protocol/find_coordinator.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static void find_coordinator_request__round_trips_every_version(void **state)
{
	(void)state;
	struct kstr keys[] = {KS("group-a"), KS("group-b")};
	for (int16_t v = FIND_COORDINATOR_MIN_VERSION; v <= FIND_COORDINATOR_MAX_VERSION; v++) {
		struct find_coordinator_request in = {
			.key = KS("my-group"),
			.key_type = v >= 1 ? 1 : 0,
			.coordinator_keys = v >= 4 ? keys : NULL,
			.coordinator_keys_count = v >= 4 ? 2 : 0,
		};
		ROUNDTRIP(find_coordinator_request, find_coordinator_request, v, &in, {
			if (v <= 3)
				assert_true(ks_eq(out.key, KS("my-group")));
			assert_int_equal(out.key_type, in.key_type);
			if (v >= 4) {
				assert_int_equal(out.coordinator_keys_count, 2);
				assert_true(ks_eq(out.coordinator_keys[1], KS("group-b")));
			}
		});
	}
}

static void find_coordinator_response__round_trips_every_version(void **state)
{
	(void)state;
	struct find_coordinator_coordinator cs[] = {
		{KS("group-a"), 1, KS("host-a"), 9092, 0, KNULL},
		{KS("txn-b"), -1, KS(""), -1, 15, KS("not available")},
	};
	for (int16_t v = FIND_COORDINATOR_MIN_VERSION; v <= FIND_COORDINATOR_MAX_VERSION; v++) {
		struct find_coordinator_response in = {
			.throttle_time_ms = v >= 1 ? 7 : 0,
			.error_code = 0,
			.error_message = v >= 1 ? KS("fine") : KNULL,
			.node_id = 3,
			.host = KS("broker-3"),
			.port = 9094,
			.coordinators = v >= 4 ? cs : NULL,
			.coordinators_count = v >= 4 ? 2 : 0,
		};
		ROUNDTRIP(find_coordinator_response, find_coordinator_response, v, &in, {
			assert_int_equal(out.throttle_time_ms, in.throttle_time_ms);
			if (v <= 3) {
				assert_int_equal(out.node_id, 3);
				assert_int_equal(out.port, 9094);
				assert_true(ks_eq(out.host, KS("broker-3")));
			} else {
				assert_int_equal(out.coordinators_count, 2);
				assert_int_equal(out.coordinators[1].error_code, 15);
				assert_true(ks_eq(out.coordinators[1].error_message, KS("not available")));
				assert_true(ks_eq(out.coordinators[0].error_message, KNULL));
			}
		});
	}
}

static void find_coordinator_request__refuses_unknown_version(void **state)
{
	(void)state;
	uint8_t buf[8] = {0};
	struct kreader r;
	struct find_coordinator_request out;
	kr_init(&r, buf, sizeof buf);
	assert_int_equal(find_coordinator_request_decode(&r, FIND_COORDINATOR_MAX_VERSION + 1, &out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(find_coordinator_request__round_trips_every_version),
		cmocka_unit_test(find_coordinator_response__round_trips_every_version),
		cmocka_unit_test(find_coordinator_request__refuses_unknown_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
