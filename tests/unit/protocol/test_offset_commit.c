#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/offset_commit.h"

#define KS(s) ((struct kstr){(s), (int32_t)sizeof(s) - 1})
#define KNULL ((struct kstr){NULL, -1})

static bool ks_eq(struct kstr a, struct kstr b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* Encodes `in`, decodes it back, re-encodes the result and checks the bytes
 * are identical; every strict prefix of the encoding must fail to decode.
 * `check` runs on the decoded struct `out`. */
#define ROUNDTRIP(prefix, type, v, in, check)                                                                  \
	do {                                                                                                   \
		struct kwriter w1_, w2_;                                                                       \
		struct kreader r_;                                                                             \
		struct type out;                                                                               \
		kw_init(&w1_, 64);                                                                             \
		prefix##_encode(&w1_, (v), (in));                                                              \
		assert_true(kw_ok(&w1_));                                                                      \
		kr_init(&r_, w1_.buf, w1_.len);                                                                \
		assert_int_equal(prefix##_decode(&r_, (v), &out), 0);                                          \
		assert_int_equal(r_.left, 0);                                                                  \
		check;                                                                                         \
		kw_init(&w2_, 64);                                                                             \
		prefix##_encode(&w2_, (v), &out);                                                              \
		assert_int_equal(w1_.len, w2_.len);                                                            \
		assert_memory_equal(w1_.buf, w2_.buf, w1_.len);                                                \
		prefix##_free(&out);                                                                           \
		for (size_t k_ = 0; k_ < w1_.len; k_++) {                                                      \
			struct type t_;                                                                        \
			struct kreader tr_;                                                                    \
			kr_init(&tr_, w1_.buf, k_);                                                            \
			assert_int_equal(prefix##_decode(&tr_, (v), &t_), -1);                                 \
		}                                                                                              \
		kw_free(&w1_);                                                                                 \
		kw_free(&w2_);                                                                                 \
	} while (0)

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
