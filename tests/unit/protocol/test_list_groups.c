#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/list_groups.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static void list_groups_request__round_trips_every_version(void **state)
{
	(void)state;
	struct kstr states[] = {KS("Stable"), KS("Empty")};
	struct kstr types[] = {KS("classic")};
	for (int16_t v = LIST_GROUPS_MIN_VERSION; v <= LIST_GROUPS_MAX_VERSION; v++) {
		struct list_groups_request in = {
			.states_filter = v >= 4 ? states : NULL,
			.states_filter_count = v >= 4 ? 2 : 0,
			.types_filter = v >= 5 ? types : NULL,
			.types_filter_count = v >= 5 ? 1 : 0,
		};
		ROUNDTRIP(list_groups_request, list_groups_request, v, &in, {
			assert_int_equal(out.states_filter_count, in.states_filter_count);
			assert_int_equal(out.types_filter_count, in.types_filter_count);
			if (v >= 4)
				assert_true(ks_eq(out.states_filter[1], KS("Empty")));
		});
	}
}

static void list_groups_response__round_trips_every_version(void **state)
{
	(void)state;
	struct list_groups_group gs[] = {
		{KS("g1"), KS("consumer"), KS("Stable"), KS("classic")},
		{KS("g2"), KS(""), KS("Empty"), KS("classic")},
	};
	for (int16_t v = LIST_GROUPS_MIN_VERSION; v <= LIST_GROUPS_MAX_VERSION; v++) {
		struct list_groups_group gv[2];
		memcpy(gv, gs, sizeof gs);
		for (int i = 0; i < 2; i++) {
			if (v < 4)
				gv[i].group_state = KS("");
			if (v < 5)
				gv[i].group_type = KS("");
		}
		struct list_groups_response in = {.throttle_time_ms = v >= 1 ? 1 : 0, .groups = gv, .groups_count = 2};
		ROUNDTRIP(list_groups_response, list_groups_response, v, &in, {
			assert_int_equal(out.groups_count, 2);
			assert_true(ks_eq(out.groups[0].protocol_type, KS("consumer")));
			if (v >= 4)
				assert_true(ks_eq(out.groups[0].group_state, KS("Stable")));
		});
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_groups_request__round_trips_every_version),
		cmocka_unit_test(list_groups_response__round_trips_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
