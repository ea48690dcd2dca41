#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/describe_quorum.h"
#include "protocol/codec_test.h"

static struct describe_quorum_partition sample_partitions[] = {{.partition_index = 0}, {.partition_index = 7}};

static struct describe_quorum_topic sample_topics[] = {
	{.topic_name = KS("__cluster_metadata"), .partitions = sample_partitions, .partitions_count = 2},
	{.topic_name = KS("other"), .partitions = NULL, .partitions_count = 0},
};

static const struct describe_quorum_request sample_request = {.topics = sample_topics, .topics_count = 2};

static struct describe_quorum_replica_state sample_voters[] = {
	{.replica_id = 1, .log_end_offset = 500, .last_fetch_timestamp = -1, .last_caught_up_timestamp = 1700000000000},
	{.replica_id = 2, .log_end_offset = 480, .last_fetch_timestamp = 1699999999000,
	 .last_caught_up_timestamp = 1699999998000},
	{.replica_id = 3, .log_end_offset = -1, .last_fetch_timestamp = -1, .last_caught_up_timestamp = -1},
};

static struct describe_quorum_replica_state sample_observers[] = {
	{.replica_id = 10, .log_end_offset = 499, .last_fetch_timestamp = 5, .last_caught_up_timestamp = 6},
};

static struct describe_quorum_partition_result sample_results[] = {
	{.partition_index = 0, .error_code = 0, .leader_id = 1, .leader_epoch = 9, .high_watermark = 495,
	 .current_voters = sample_voters, .current_voters_count = 3, .observers = sample_observers,
	 .observers_count = 1},
	{.partition_index = 7, .error_code = 3, .leader_id = -1, .leader_epoch = -1, .high_watermark = -1,
	 .current_voters = NULL, .current_voters_count = 0, .observers = NULL, .observers_count = 0},
};

static struct describe_quorum_topic_result sample_topic_results[] = {
	{.topic_name = KS("__cluster_metadata"), .partitions = sample_results, .partitions_count = 2},
};

static const struct describe_quorum_response sample_response = {
	.error_code = 0,
	.topics = sample_topic_results,
	.topics_count = 1,
};

static void check_request(const struct describe_quorum_request *a, const struct describe_quorum_request *b)
{
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		assert_true(ks_eq(a->topics[i].topic_name, b->topics[i].topic_name));
		assert_int_equal(a->topics[i].partitions_count, b->topics[i].partitions_count);
		for (int32_t j = 0; j < a->topics[i].partitions_count; j++)
			assert_int_equal(a->topics[i].partitions[j].partition_index,
					 b->topics[i].partitions[j].partition_index);
	}
}

static void check_replicas(int16_t v, const struct describe_quorum_replica_state *a, int32_t na,
			   const struct describe_quorum_replica_state *b, int32_t nb)
{
	assert_int_equal(na, nb);
	for (int32_t i = 0; i < na; i++) {
		assert_int_equal(a[i].replica_id, b[i].replica_id);
		assert_true(a[i].log_end_offset == b[i].log_end_offset);
		assert_true(b[i].last_fetch_timestamp == (v >= 1 ? a[i].last_fetch_timestamp : -1));
		assert_true(b[i].last_caught_up_timestamp == (v >= 1 ? a[i].last_caught_up_timestamp : -1));
	}
}

static void check_response(int16_t v, const struct describe_quorum_response *a,
			   const struct describe_quorum_response *b)
{
	assert_int_equal(a->error_code, b->error_code);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		const struct describe_quorum_topic_result *ta = &a->topics[i], *tb = &b->topics[i];
		assert_true(ks_eq(ta->topic_name, tb->topic_name));
		assert_int_equal(ta->partitions_count, tb->partitions_count);
		for (int32_t j = 0; j < ta->partitions_count; j++) {
			const struct describe_quorum_partition_result *pa = &ta->partitions[j];
			const struct describe_quorum_partition_result *pb = &tb->partitions[j];
			assert_int_equal(pa->partition_index, pb->partition_index);
			assert_int_equal(pa->error_code, pb->error_code);
			assert_int_equal(pa->leader_id, pb->leader_id);
			assert_int_equal(pa->leader_epoch, pb->leader_epoch);
			assert_true(pa->high_watermark == pb->high_watermark);
			check_replicas(v, pa->current_voters, pa->current_voters_count, pb->current_voters,
				       pb->current_voters_count);
			check_replicas(v, pa->observers, pa->observers_count, pb->observers, pb->observers_count);
		}
	}
}

static void describe_quorum_request__round_trips_every_version(void **state)
{
	for (int16_t v = DESCRIBE_QUORUM_MIN_VERSION; v <= DESCRIBE_QUORUM_MAX_VERSION; v++)
		ROUNDTRIP(describe_quorum_request, describe_quorum_request, v, &sample_request,
			  check_request(&sample_request, &out));
}

static void describe_quorum_response__round_trips_every_version(void **state)
{
	for (int16_t v = DESCRIBE_QUORUM_MIN_VERSION; v <= DESCRIBE_QUORUM_MAX_VERSION; v++)
		ROUNDTRIP(describe_quorum_response, describe_quorum_response, v, &sample_response,
			  check_response(v, &sample_response, &out));
}

/* What kafka-metadata-quorum.sh sends: __cluster_metadata partition 0. */
static const uint8_t request_v1_bytes[] = {
	0x02,                                                                 /* topics: 1 */
	0x13, '_', '_', 'c', 'l', 'u', 's', 't', 'e', 'r', '_', 'm', 'e', 't', /* topic_name */
	'a', 'd', 'a', 't', 'a',
	0x02,                   /* partitions: 1 */
	0x00, 0x00, 0x00, 0x00, /* partition_index */
	0x00,                   /* partition tags */
	0x00,                   /* topic tags */
	0x00,                   /* tags */
};

static void describe_quorum_request__v1_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct describe_quorum_request got;
	kr_init(&r, request_v1_bytes, sizeof request_v1_bytes);
	assert_int_equal(describe_quorum_request_decode(&r, 1, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.topics_count, 1);
	assert_true(kstr_eq(got.topics[0].topic_name, "__cluster_metadata"));
	assert_int_equal(got.topics[0].partitions_count, 1);
	assert_int_equal(got.topics[0].partitions[0].partition_index, 0);

	struct kwriter w;
	kw_init(&w, 16);
	describe_quorum_request_encode(&w, 1, &got);
	assert_int_equal(w.len, sizeof request_v1_bytes);
	assert_memory_equal(w.buf, request_v1_bytes, w.len);
	kw_free(&w);
	describe_quorum_request_free(&got);
}

/* v1 response: topic "m" partition 0, leader 1 at epoch 2, high watermark 10;
 * voter 1 (the leader) and no observers. */
static const uint8_t response_v1_bytes[] = {
	0x00, 0x00,             /* error_code */
	0x02,                   /* topics: 1 */
	0x02, 'm',              /* topic_name */
	0x02,                   /* partitions: 1 */
	0x00, 0x00, 0x00, 0x00, /* partition_index */
	0x00, 0x00,             /* error_code */
	0x00, 0x00, 0x00, 0x01, /* leader_id */
	0x00, 0x00, 0x00, 0x02, /* leader_epoch */
	0, 0, 0, 0, 0, 0, 0, 10, /* high_watermark */
	0x02,                   /* current_voters: 1 */
	0x00, 0x00, 0x00, 0x01, /* replica_id */
	0, 0, 0, 0, 0, 0, 0, 11, /* log_end_offset */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* last_fetch_timestamp -1 */
	0, 0, 0, 0, 0, 0, 0x03, 0xe8, /* last_caught_up_timestamp 1000 */
	0x00,                   /* replica tags */
	0x01,                   /* observers: 0 */
	0x00,                   /* partition tags */
	0x00,                   /* topic tags */
	0x00,                   /* tags */
};

static void describe_quorum_response__v1_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct describe_quorum_response got;
	kr_init(&r, response_v1_bytes, sizeof response_v1_bytes);
	assert_int_equal(describe_quorum_response_decode(&r, 1, &got), 0);
	assert_int_equal(r.left, 0);
	const struct describe_quorum_partition_result *p = &got.topics[0].partitions[0];
	assert_int_equal(p->leader_id, 1);
	assert_int_equal(p->leader_epoch, 2);
	assert_true(p->high_watermark == 10);
	assert_int_equal(p->current_voters_count, 1);
	assert_true(p->current_voters[0].log_end_offset == 11);
	assert_true(p->current_voters[0].last_fetch_timestamp == -1);
	assert_true(p->current_voters[0].last_caught_up_timestamp == 1000);
	assert_int_equal(p->observers_count, 0);

	struct kwriter w;
	kw_init(&w, 16);
	describe_quorum_response_encode(&w, 1, &got);
	assert_int_equal(w.len, sizeof response_v1_bytes);
	assert_memory_equal(w.buf, response_v1_bytes, w.len);
	kw_free(&w);
	describe_quorum_response_free(&got);

	/* v0 has no timestamps: it reads their 0xff bytes as the voter's
	 * tagged-field count, an over-long varint, and fails. */
	kr_init(&r, response_v1_bytes, sizeof response_v1_bytes);
	assert_int_equal(describe_quorum_response_decode(&r, 0, &got), -1);
}

static void describe_quorum__bad_counts_fail(void **state)
{
	const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	const size_t req_at[] = {0, 20};
	for (size_t i = 0; i < sizeof req_at / sizeof req_at[0]; i++) {
		uint8_t b[sizeof request_v1_bytes];
		struct kreader r;
		struct describe_quorum_request got;
		memcpy(b, request_v1_bytes, sizeof b);
		assert_int_equal(b[req_at[i]], 0x02);
		b[req_at[i]] = 0x00;
		kr_init(&r, b, sizeof b);
		assert_int_equal(describe_quorum_request_decode(&r, 1, &got), -1);
		b[req_at[i]] = 0x7f;
		kr_init(&r, b, sizeof b);
		assert_int_equal(describe_quorum_request_decode(&r, 1, &got), -1);
		memcpy(b + req_at[i], huge, sizeof huge);
		kr_init(&r, b, sizeof b);
		assert_int_equal(describe_quorum_request_decode(&r, 1, &got), -1);
	}
	/* Response: topics, partitions, current_voters, observers. */
	const size_t resp_at[] = {2, 5, 28, 58};
	for (size_t i = 0; i < sizeof resp_at / sizeof resp_at[0]; i++) {
		uint8_t b[sizeof response_v1_bytes];
		struct kreader r;
		struct describe_quorum_response got;
		memcpy(b, response_v1_bytes, sizeof b);
		assert_true(b[resp_at[i]] == 0x02 || b[resp_at[i]] == 0x01);
		b[resp_at[i]] = 0x00;
		kr_init(&r, b, sizeof b);
		assert_int_equal(describe_quorum_response_decode(&r, 1, &got), -1);
		b[resp_at[i]] = 0x7f;
		kr_init(&r, b, sizeof b);
		assert_int_equal(describe_quorum_response_decode(&r, 1, &got), -1);
		if (resp_at[i] + sizeof huge <= sizeof b) {
			memcpy(b + resp_at[i], huge, sizeof huge);
			kr_init(&r, b, sizeof b);
			assert_int_equal(describe_quorum_response_decode(&r, 1, &got), -1);
		}
	}
}

static void describe_quorum__bad_version_fails(void **state)
{
	struct kreader r;
	struct describe_quorum_request req;
	struct describe_quorum_response resp;
	kr_init(&r, request_v1_bytes, sizeof request_v1_bytes);
	assert_int_equal(describe_quorum_request_decode(&r, 2, &req), -1);
	kr_init(&r, response_v1_bytes, sizeof response_v1_bytes);
	assert_int_equal(describe_quorum_response_decode(&r, -1, &resp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(describe_quorum_request__round_trips_every_version),
		cmocka_unit_test(describe_quorum_response__round_trips_every_version),
		cmocka_unit_test(describe_quorum_request__v1_matches_kafka_layout),
		cmocka_unit_test(describe_quorum_response__v1_matches_kafka_layout),
		cmocka_unit_test(describe_quorum__bad_counts_fail),
		cmocka_unit_test(describe_quorum__bad_version_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
