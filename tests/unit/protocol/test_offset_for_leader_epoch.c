#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/offset_for_leader_epoch.h"
#include "protocol/codec_test.h"

static struct offset_for_leader_epoch_partition sample_partitions[] = {
	{.partition = 0, .current_leader_epoch = 5, .leader_epoch = 3},
	{.partition = 9, .current_leader_epoch = -1, .leader_epoch = 0},
};

static struct offset_for_leader_epoch_topic sample_topics[] = {
	{.topic = KS("orders"), .partitions = sample_partitions, .partitions_count = 2},
	{.topic = KS("empty"), .partitions = NULL, .partitions_count = 0},
};

static const struct offset_for_leader_epoch_request sample_request = {
	.replica_id = 4,
	.topics = sample_topics,
	.topics_count = 2,
};

static struct offset_for_leader_epoch_end_offset sample_end_offsets[] = {
	{.error_code = 0, .partition = 0, .leader_epoch = 3, .end_offset = 1LL << 35},
	{.error_code = 74, .partition = 9, .leader_epoch = -1, .end_offset = -1},
};

static struct offset_for_leader_epoch_topic_result sample_topic_results[] = {
	{.topic = KS("orders"), .partitions = sample_end_offsets, .partitions_count = 2},
};

static const struct offset_for_leader_epoch_response sample_response = {
	.throttle_time_ms = 12,
	.topics = sample_topic_results,
	.topics_count = 1,
};

static void check_request(int16_t v, const struct offset_for_leader_epoch_request *a,
			  const struct offset_for_leader_epoch_request *b)
{
	assert_int_equal(b->replica_id, v >= 3 ? a->replica_id : OFFSET_FOR_LEADER_EPOCH_REPLICA_UNKNOWN);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		assert_true(ks_eq(a->topics[i].topic, b->topics[i].topic));
		assert_int_equal(a->topics[i].partitions_count, b->topics[i].partitions_count);
		for (int32_t j = 0; j < a->topics[i].partitions_count; j++) {
			const struct offset_for_leader_epoch_partition *pa = &a->topics[i].partitions[j];
			const struct offset_for_leader_epoch_partition *pb = &b->topics[i].partitions[j];
			assert_int_equal(pa->partition, pb->partition);
			assert_int_equal(pb->current_leader_epoch, v >= 2 ? pa->current_leader_epoch : -1);
			assert_int_equal(pa->leader_epoch, pb->leader_epoch);
		}
	}
}

static void check_response(int16_t v, const struct offset_for_leader_epoch_response *a,
			   const struct offset_for_leader_epoch_response *b)
{
	assert_int_equal(b->throttle_time_ms, v >= 2 ? a->throttle_time_ms : 0);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		assert_true(ks_eq(a->topics[i].topic, b->topics[i].topic));
		assert_int_equal(a->topics[i].partitions_count, b->topics[i].partitions_count);
		for (int32_t j = 0; j < a->topics[i].partitions_count; j++) {
			const struct offset_for_leader_epoch_end_offset *pa = &a->topics[i].partitions[j];
			const struct offset_for_leader_epoch_end_offset *pb = &b->topics[i].partitions[j];
			assert_int_equal(pa->error_code, pb->error_code);
			assert_int_equal(pa->partition, pb->partition);
			assert_int_equal(pb->leader_epoch, v >= 1 ? pa->leader_epoch : -1);
			assert_true(pa->end_offset == pb->end_offset);
		}
	}
}

static void offset_for_leader_epoch_request__round_trips_every_version(void **state)
{
	for (int16_t v = OFFSET_FOR_LEADER_EPOCH_MIN_VERSION; v <= OFFSET_FOR_LEADER_EPOCH_MAX_VERSION; v++)
		ROUNDTRIP(offset_for_leader_epoch_request, offset_for_leader_epoch_request, v, &sample_request,
			  check_request(v, &sample_request, &out));
}

static void offset_for_leader_epoch_response__round_trips_every_version(void **state)
{
	for (int16_t v = OFFSET_FOR_LEADER_EPOCH_MIN_VERSION; v <= OFFSET_FOR_LEADER_EPOCH_MAX_VERSION; v++)
		ROUNDTRIP(offset_for_leader_epoch_response, offset_for_leader_epoch_response, v, &sample_response,
			  check_response(v, &sample_response, &out));
}

/* v3 from follower 2: where does epoch 4 of "t"-1 end (current epoch 6)? */
static const uint8_t request_v3_bytes[] = {
	0x00, 0x00, 0x00, 0x02, /* replica_id */
	0x00, 0x00, 0x00, 0x01, /* topics: 1 */
	0x00, 0x01, 't',        /* topic */
	0x00, 0x00, 0x00, 0x01, /* partitions: 1 */
	0x00, 0x00, 0x00, 0x01, /* partition */
	0x00, 0x00, 0x00, 0x06, /* current_leader_epoch */
	0x00, 0x00, 0x00, 0x04, /* leader_epoch */
};

static void offset_for_leader_epoch_request__v3_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct offset_for_leader_epoch_request got;
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(offset_for_leader_epoch_request_decode(&r, 3, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.replica_id, 2);
	assert_true(kstr_eq(got.topics[0].topic, "t"));
	assert_int_equal(got.topics[0].partitions[0].partition, 1);
	assert_int_equal(got.topics[0].partitions[0].current_leader_epoch, 6);
	assert_int_equal(got.topics[0].partitions[0].leader_epoch, 4);

	struct kwriter w;
	kw_init(&w, 16);
	offset_for_leader_epoch_request_encode(&w, 3, &got);
	assert_int_equal(w.len, sizeof request_v3_bytes);
	assert_memory_equal(w.buf, request_v3_bytes, w.len);
	kw_free(&w);
	offset_for_leader_epoch_request_free(&got);
}

/* v4 (flexible) answer: epoch 4 of "t"-1 is epoch 3 ending at offset 200. */
static const uint8_t response_v4_bytes[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
	0x02,                   /* topics: 1 */
	0x02, 't',              /* topic */
	0x02,                   /* partitions: 1 */
	0x00, 0x00,             /* error_code */
	0x00, 0x00, 0x00, 0x01, /* partition */
	0x00, 0x00, 0x00, 0x03, /* leader_epoch */
	0, 0, 0, 0, 0, 0, 0, 200, /* end_offset */
	0x00,                   /* partition tags */
	0x00,                   /* topic tags */
	0x00,                   /* tags */
};

static void offset_for_leader_epoch_response__v4_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct offset_for_leader_epoch_response got;
	kr_init(&r, response_v4_bytes, sizeof response_v4_bytes);
	assert_int_equal(offset_for_leader_epoch_response_decode(&r, 4, &got), 0);
	assert_int_equal(r.left, 0);
	const struct offset_for_leader_epoch_end_offset *p = &got.topics[0].partitions[0];
	assert_int_equal(p->partition, 1);
	assert_int_equal(p->leader_epoch, 3);
	assert_true(p->end_offset == 200);

	struct kwriter w;
	kw_init(&w, 16);
	offset_for_leader_epoch_response_encode(&w, 4, &got);
	assert_int_equal(w.len, sizeof response_v4_bytes);
	assert_memory_equal(w.buf, response_v4_bytes, w.len);
	kw_free(&w);
	offset_for_leader_epoch_response_free(&got);
}

static void offset_for_leader_epoch__bad_counts_fail(void **state)
{
	/* Classic (v3) request: INT32 counts; -1 (null), -2, INT32_MAX. */
	static const uint8_t counts[][4] = {
		{0xff, 0xff, 0xff, 0xff}, {0xff, 0xff, 0xff, 0xfe}, {0x7f, 0xff, 0xff, 0xff}};
	const size_t req_at[] = {4, 11};
	for (size_t i = 0; i < sizeof req_at / sizeof req_at[0]; i++) {
		for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
			uint8_t b[sizeof request_v3_bytes];
			struct kreader r;
			struct offset_for_leader_epoch_request got;
			memcpy(b, request_v3_bytes, sizeof b);
			memcpy(b + req_at[i], counts[c], 4);
			kr_init(&r, b, sizeof b);
			assert_int_equal(offset_for_leader_epoch_request_decode(&r, 3, &got), -1);
		}
	}
	/* Flexible (v4) response: compact counts; null, too many, 5-byte huge. */
	const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	const size_t resp_at[] = {4, 7};
	for (size_t i = 0; i < sizeof resp_at / sizeof resp_at[0]; i++) {
		uint8_t b[sizeof response_v4_bytes];
		struct kreader r;
		struct offset_for_leader_epoch_response got;
		memcpy(b, response_v4_bytes, sizeof b);
		assert_int_equal(b[resp_at[i]], 0x02);
		b[resp_at[i]] = 0x00;
		kr_init(&r, b, sizeof b);
		assert_int_equal(offset_for_leader_epoch_response_decode(&r, 4, &got), -1);
		b[resp_at[i]] = 0x7f;
		kr_init(&r, b, sizeof b);
		assert_int_equal(offset_for_leader_epoch_response_decode(&r, 4, &got), -1);
		memcpy(b + resp_at[i], huge, sizeof huge);
		kr_init(&r, b, sizeof b);
		assert_int_equal(offset_for_leader_epoch_response_decode(&r, 4, &got), -1);
	}
}

static void offset_for_leader_epoch__bad_version_fails(void **state)
{
	struct kreader r;
	struct offset_for_leader_epoch_request req;
	struct offset_for_leader_epoch_response resp;
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(offset_for_leader_epoch_request_decode(&r, 5, &req), -1);
	kr_init(&r, response_v4_bytes, sizeof response_v4_bytes);
	assert_int_equal(offset_for_leader_epoch_response_decode(&r, -1, &resp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offset_for_leader_epoch_request__round_trips_every_version),
		cmocka_unit_test(offset_for_leader_epoch_response__round_trips_every_version),
		cmocka_unit_test(offset_for_leader_epoch_request__v3_matches_kafka_layout),
		cmocka_unit_test(offset_for_leader_epoch_response__v4_matches_kafka_layout),
		cmocka_unit_test(offset_for_leader_epoch__bad_counts_fail),
		cmocka_unit_test(offset_for_leader_epoch__bad_version_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
