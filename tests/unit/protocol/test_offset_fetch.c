#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/offset_fetch.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static void offset_fetch_request__round_trips_every_version(void **state)
{
	(void)state;
	int32_t parts[] = {0, 1, 5};
	struct offset_fetch_request_topic ts[] = {{KS("orders"), parts, 3}, {KS("audit"), NULL, 0}};
	struct offset_fetch_request_group gs[] = {{KS("g1"), ts, 2}, {KS("g2"), NULL, -1}};
	for (int16_t v = OFFSET_FETCH_MIN_VERSION; v <= OFFSET_FETCH_MAX_VERSION; v++) {
		struct offset_fetch_request in = {
			.group_id = v <= 7 ? KS("g1") : KNULL,
			.topics = v <= 7 ? ts : NULL,
			.topics_count = v <= 7 ? 2 : 0,
			.groups = v >= 8 ? gs : NULL,
			.groups_count = v >= 8 ? 2 : 0,
			.require_stable = v >= 7,
		};
		ROUNDTRIP(offset_fetch_request, offset_fetch_request, v, &in, {
			assert_int_equal(out.require_stable, in.require_stable);
			if (v <= 7) {
				assert_int_equal(out.topics_count, 2);
				assert_int_equal(out.topics[0].partition_indexes[2], 5);
			} else {
				assert_int_equal(out.groups_count, 2);
				assert_true(ks_eq(out.groups[0].group_id, KS("g1")));
				assert_int_equal(out.groups[1].topics_count, -1);
				assert_null(out.groups[1].topics);
				assert_int_equal(out.groups[0].topics[0].partition_indexes_count, 3);
			}
		});
	}
}

static void offset_fetch_request__null_topics_from_v2_means_all(void **state)
{
	(void)state;
	for (int16_t v = 2; v <= 7; v++) {
		struct offset_fetch_request in = {.group_id = KS("g1"), .topics = NULL, .topics_count = -1};
		ROUNDTRIP(offset_fetch_request, offset_fetch_request, v, &in, {
			assert_int_equal(out.topics_count, -1);
		});
	}
	/* v0-1 cannot say null: the decoder refuses it. */
	uint8_t v1_null[] = {0, 2, 'g', '1', 0xff, 0xff, 0xff, 0xff};
	struct kreader r;
	struct offset_fetch_request out;
	kr_init(&r, v1_null, sizeof v1_null);
	assert_int_equal(offset_fetch_request_decode(&r, 1, &out), -1);
}

static void offset_fetch_response__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = OFFSET_FETCH_MIN_VERSION; v <= OFFSET_FETCH_MAX_VERSION; v++) {
		struct offset_fetch_response_partition ps[] = {
			{0, 100, v >= 5 ? 3 : -1, KS("m"), 0},
			{1, -1, -1, KS(""), 0},
		};
		struct offset_fetch_response_topic ts[] = {{KS("orders"), ps, 2}};
		struct offset_fetch_response_group gs[] = {{KS("g1"), ts, 1, 0}, {KS("g2"), NULL, 0, 16}};
		struct offset_fetch_response in = {
			.throttle_time_ms = v >= 3 ? 2 : 0,
			.topics = v <= 7 ? ts : NULL,
			.topics_count = v <= 7 ? 1 : 0,
			.error_code = (v >= 2 && v <= 7) ? 14 : 0,
			.groups = v >= 8 ? gs : NULL,
			.groups_count = v >= 8 ? 2 : 0,
		};
		ROUNDTRIP(offset_fetch_response, offset_fetch_response, v, &in, {
			assert_int_equal(out.throttle_time_ms, in.throttle_time_ms);
			assert_int_equal(out.error_code, in.error_code);
			if (v <= 7) {
				assert_int_equal(out.topics[0].partitions[0].committed_offset, 100);
				assert_int_equal(out.topics[0].partitions[0].committed_leader_epoch, ps[0].committed_leader_epoch);
			} else {
				assert_int_equal(out.groups_count, 2);
				assert_int_equal(out.groups[1].error_code, 16);
				assert_int_equal(out.groups[0].topics[0].partitions[1].committed_offset, -1);
			}
		});
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offset_fetch_request__round_trips_every_version),
		cmocka_unit_test(offset_fetch_request__null_topics_from_v2_means_all),
		cmocka_unit_test(offset_fetch_response__round_trips_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
