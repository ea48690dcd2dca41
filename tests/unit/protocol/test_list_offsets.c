#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/list_offsets.h"
#include "protocol/codec_test.h"

static void assert_kstr_same(struct kstr a, struct kstr b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.p, b.p, (size_t)a.len);
}

static struct list_offsets_partition sample_partitions[] = {
	{.partition_index = 0, .current_leader_epoch = 4, .timestamp = LIST_OFFSETS_EARLIEST_TIMESTAMP},
	{.partition_index = 2, .current_leader_epoch = 9, .timestamp = 1700000000123LL},
};

static struct list_offsets_topic sample_topics[] = {
	{.name = KS("orders"), .partitions = sample_partitions, .partitions_count = 2},
	{.name = KS("none"), .partitions = NULL, .partitions_count = 0},
};

static const struct list_offsets_request sample_request = {
	.replica_id = -1,
	.isolation_level = 1,
	.topics = sample_topics,
	.topics_count = 2,
};

static struct list_offsets_partition_response sample_partition_responses[] = {
	{.partition_index = 0, .error_code = 0, .timestamp = -1, .offset = 42, .leader_epoch = 4},
	{.partition_index = 2, .error_code = 6, .timestamp = 1700000000123LL, .offset = 1LL << 35,
	 .leader_epoch = 9},
};

static struct list_offsets_topic_response sample_topic_responses[] = {
	{.name = KS("orders"), .partitions = sample_partition_responses, .partitions_count = 2},
};

static const struct list_offsets_response sample_response = {
	.throttle_time_ms = 3,
	.topics = sample_topic_responses,
	.topics_count = 1,
};

static void check_request(int16_t v, const struct list_offsets_request *a, const struct list_offsets_request *b)
{
	assert_int_equal(a->replica_id, b->replica_id);
	assert_int_equal(b->isolation_level, v >= 2 ? a->isolation_level : 0);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		assert_kstr_same(a->topics[i].name, b->topics[i].name);
		assert_int_equal(a->topics[i].partitions_count, b->topics[i].partitions_count);
		for (int32_t j = 0; j < a->topics[i].partitions_count; j++) {
			const struct list_offsets_partition *pa = &a->topics[i].partitions[j];
			const struct list_offsets_partition *pb = &b->topics[i].partitions[j];
			assert_int_equal(pa->partition_index, pb->partition_index);
			assert_int_equal(pb->current_leader_epoch, v >= 4 ? pa->current_leader_epoch : -1);
			assert_true(pa->timestamp == pb->timestamp);
		}
	}
}

static void check_response(int16_t v, const struct list_offsets_response *a,
			   const struct list_offsets_response *b)
{
	assert_int_equal(b->throttle_time_ms, v >= 2 ? a->throttle_time_ms : 0);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		assert_kstr_same(a->topics[i].name, b->topics[i].name);
		assert_int_equal(a->topics[i].partitions_count, b->topics[i].partitions_count);
		for (int32_t j = 0; j < a->topics[i].partitions_count; j++) {
			const struct list_offsets_partition_response *pa = &a->topics[i].partitions[j];
			const struct list_offsets_partition_response *pb = &b->topics[i].partitions[j];
			assert_int_equal(pa->partition_index, pb->partition_index);
			assert_int_equal(pa->error_code, pb->error_code);
			assert_true(pa->timestamp == pb->timestamp);
			assert_true(pa->offset == pb->offset);
			assert_int_equal(pb->leader_epoch, v >= 4 ? pa->leader_epoch : -1);
		}
	}
}

static void list_offsets_request__roundtrip_all_versions(void **state)
{
	for (int16_t v = LIST_OFFSETS_MIN_VERSION; v <= LIST_OFFSETS_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		list_offsets_request_encode(&w, v, &sample_request);
		assert_int_equal(w.err, 0);
		struct kreader r;
		struct list_offsets_request got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(list_offsets_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		check_request(v, &sample_request, &got);
		kw_init(&w2, 16);
		list_offsets_request_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		list_offsets_request_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

static void list_offsets_response__roundtrip_all_versions(void **state)
{
	for (int16_t v = LIST_OFFSETS_MIN_VERSION; v <= LIST_OFFSETS_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		list_offsets_response_encode(&w, v, &sample_response);
		assert_int_equal(w.err, 0);
		struct kreader r;
		struct list_offsets_response got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(list_offsets_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		check_response(v, &sample_response, &got);
		kw_init(&w2, 16);
		list_offsets_response_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		list_offsets_response_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

/* ListOffsets v1: consumer asks the latest offset of "t" partition 0. */
static const uint8_t request_v1_bytes[] = {
	0xff, 0xff, 0xff, 0xff, /* replica_id -1 */
	0x00, 0x00, 0x00, 0x01, /* topics: 1 */
	0x00, 0x01, 't',        /* name */
	0x00, 0x00, 0x00, 0x01, /* partitions: 1 */
	0x00, 0x00, 0x00, 0x00, /* partition_index */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* timestamp: latest */
};

/* ListOffsets v6 request: same, plus isolation level and leader epoch. */
static const uint8_t request_v6_bytes[] = {
	0xff, 0xff, 0xff, 0xff, /* replica_id -1 */
	0x00,                   /* isolation_level */
	0x02,                   /* topics: 1 */
	0x02, 't',              /* name */
	0x02,                   /* partitions: 1 */
	0x00, 0x00, 0x00, 0x00, /* partition_index */
	0x00, 0x00, 0x00, 0x05, /* current_leader_epoch */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* timestamp: earliest */
	0x00, 0x00, 0x00,       /* partition, topic, request tags */
};

/* ListOffsets v4 response: "t" partition 0 at offset 7, epoch 2. */
static const uint8_t response_v4_bytes[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
	0x00, 0x00, 0x00, 0x01, /* topics: 1 */
	0x00, 0x01, 't',        /* name */
	0x00, 0x00, 0x00, 0x01, /* partitions: 1 */
	0x00, 0x00, 0x00, 0x00, /* partition_index */
	0x00, 0x00,             /* error_code */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* timestamp -1 */
	0, 0, 0, 0, 0, 0, 0, 7, /* offset */
	0x00, 0x00, 0x00, 0x02, /* leader_epoch */
};

static void list_offsets__matches_kafka_layout(void **state)
{
	struct kreader r;
	struct kwriter w;
	struct list_offsets_request req;
	kr_init(&r, request_v1_bytes, sizeof request_v1_bytes);
	assert_int_equal(list_offsets_request_decode(&r, 1, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.replica_id, -1);
	assert_true(kstr_eq(req.topics[0].name, "t"));
	assert_true(req.topics[0].partitions[0].timestamp == LIST_OFFSETS_LATEST_TIMESTAMP);
	assert_int_equal(req.topics[0].partitions[0].current_leader_epoch, -1);
	kw_init(&w, 16);
	list_offsets_request_encode(&w, 1, &req);
	assert_int_equal(w.len, sizeof request_v1_bytes);
	assert_memory_equal(w.buf, request_v1_bytes, w.len);
	kw_free(&w);
	list_offsets_request_free(&req);

	kr_init(&r, request_v6_bytes, sizeof request_v6_bytes);
	assert_int_equal(list_offsets_request_decode(&r, 6, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.topics[0].partitions[0].current_leader_epoch, 5);
	assert_true(req.topics[0].partitions[0].timestamp == LIST_OFFSETS_EARLIEST_TIMESTAMP);
	kw_init(&w, 16);
	list_offsets_request_encode(&w, 6, &req);
	assert_int_equal(w.len, sizeof request_v6_bytes);
	assert_memory_equal(w.buf, request_v6_bytes, w.len);
	kw_free(&w);
	list_offsets_request_free(&req);

	struct list_offsets_response resp;
	kr_init(&r, response_v4_bytes, sizeof response_v4_bytes);
	assert_int_equal(list_offsets_response_decode(&r, 4, &resp), 0);
	assert_int_equal(r.left, 0);
	assert_true(resp.topics[0].partitions[0].offset == 7);
	assert_int_equal(resp.topics[0].partitions[0].leader_epoch, 2);
	kw_init(&w, 16);
	list_offsets_response_encode(&w, 4, &resp);
	assert_int_equal(w.len, sizeof response_v4_bytes);
	assert_memory_equal(w.buf, response_v4_bytes, w.len);
	kw_free(&w);
	list_offsets_response_free(&resp);
}

static void list_offsets__truncated_input_fails_everywhere(void **state)
{
	for (int16_t v = LIST_OFFSETS_MIN_VERSION; v <= LIST_OFFSETS_MAX_VERSION; v++) {
		struct kwriter wq, ws;
		kw_init(&wq, 16);
		kw_init(&ws, 16);
		list_offsets_request_encode(&wq, v, &sample_request);
		list_offsets_response_encode(&ws, v, &sample_response);
		for (size_t n = 0; n < wq.len; n++) {
			uint8_t *c = dup_exact(wq.buf, n);
			struct kreader r;
			struct list_offsets_request got;
			kr_init(&r, c, n);
			assert_int_equal(list_offsets_request_decode(&r, v, &got), -1);
			free(c);
		}
		for (size_t n = 0; n < ws.len; n++) {
			uint8_t *c = dup_exact(ws.buf, n);
			struct kreader r;
			struct list_offsets_response got;
			kr_init(&r, c, n);
			assert_int_equal(list_offsets_response_decode(&r, v, &got), -1);
			free(c);
		}
		kw_free(&wq);
		kw_free(&ws);
	}
}

static void list_offsets__bad_counts_fail_without_allocating(void **state)
{
	static const uint8_t counts[][4] = {
		{0x7f, 0xff, 0xff, 0xff}, {0xff, 0xff, 0xff, 0xfe}, {0xff, 0xff, 0xff, 0xff}};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		uint8_t b[sizeof request_v1_bytes];
		struct kreader r;
		struct list_offsets_request req;
		memcpy(b, request_v1_bytes, sizeof b);
		memcpy(b + 4, counts[i], 4); /* topics */
		kr_init(&r, b, sizeof b);
		assert_int_equal(list_offsets_request_decode(&r, 1, &req), -1);
		memcpy(b, request_v1_bytes, sizeof b);
		memcpy(b + 11, counts[i], 4); /* partitions */
		kr_init(&r, b, sizeof b);
		assert_int_equal(list_offsets_request_decode(&r, 1, &req), -1);

		uint8_t c[sizeof response_v4_bytes];
		struct list_offsets_response resp;
		memcpy(c, response_v4_bytes, sizeof c);
		memcpy(c + 11, counts[i], 4); /* partitions */
		kr_init(&r, c, sizeof c);
		assert_int_equal(list_offsets_response_decode(&r, 4, &resp), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_offsets_request__roundtrip_all_versions),
		cmocka_unit_test(list_offsets_response__roundtrip_all_versions),
		cmocka_unit_test(list_offsets__matches_kafka_layout),
		cmocka_unit_test(list_offsets__truncated_input_fails_everywhere),
		cmocka_unit_test(list_offsets__bad_counts_fail_without_allocating),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
