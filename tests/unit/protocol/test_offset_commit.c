#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/offset_commit.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static void offset_commit_request__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = OFFSET_COMMIT_MIN_VERSION; v <= OFFSET_COMMIT_MAX_VERSION; v++) {
		struct offset_commit_request_partition p0[] = {
			{0, 100, v >= 6 ? 5 : -1, v == 1 ? 1700000000000 : -1, KS("meta")},
			{3, 42, -1, -1, KNULL},
		};
		struct offset_commit_request_partition p1[] = {{7, 9, -1, -1, KS("")}};
		struct offset_commit_request_topic ts[] = {{KS("orders"), p0, 2}, {KS("audit"), p1, 1}};
		struct offset_commit_request in = {
			.group_id = KS("g1"),
			.generation_id_or_member_epoch = v >= 1 ? 6 : -1,
			.member_id = v >= 1 ? KS("m-1") : KS(""),
			.group_instance_id = v >= 7 ? KS("inst") : KNULL,
			.retention_time_ms = (v >= 2 && v <= 4) ? 86400000 : -1,
			.topics = ts,
			.topics_count = 2,
		};
		ROUNDTRIP(offset_commit_request, offset_commit_request, v, &in, {
			assert_int_equal(out.generation_id_or_member_epoch, in.generation_id_or_member_epoch);
			assert_int_equal(out.retention_time_ms, in.retention_time_ms);
			assert_true(ks_eq(out.group_instance_id, in.group_instance_id));
			assert_int_equal(out.topics_count, 2);
			assert_int_equal(out.topics[0].partitions_count, 2);
			assert_int_equal(out.topics[0].partitions[0].committed_offset, 100);
			assert_int_equal(out.topics[0].partitions[0].committed_leader_epoch, p0[0].committed_leader_epoch);
			assert_int_equal(out.topics[0].partitions[0].commit_timestamp, p0[0].commit_timestamp);
			assert_int_equal(out.topics[0].partitions[1].committed_metadata.len, -1);
			assert_int_equal(out.topics[1].partitions[0].partition_index, 7);
		});
	}
}

static void offset_commit_response__round_trips_every_version(void **state)
{
	(void)state;
	struct offset_commit_response_partition p0[] = {{0, 0}, {1, 22}};
	struct offset_commit_response_topic ts[] = {{KS("orders"), p0, 2}, {KS("empty"), NULL, 0}};
	for (int16_t v = OFFSET_COMMIT_MIN_VERSION; v <= OFFSET_COMMIT_MAX_VERSION; v++) {
		struct offset_commit_response in = {.throttle_time_ms = v >= 3 ? 4 : 0, .topics = ts, .topics_count = 2};
		ROUNDTRIP(offset_commit_response, offset_commit_response, v, &in, {
			assert_int_equal(out.throttle_time_ms, in.throttle_time_ms);
			assert_int_equal(out.topics_count, 2);
			assert_int_equal(out.topics[0].partitions[1].error_code, 22);
			assert_int_equal(out.topics[1].partitions_count, 0);
		});
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offset_commit_request__round_trips_every_version),
		cmocka_unit_test(offset_commit_response__round_trips_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
