#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/produce.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static void assert_kstr_same(struct kstr a, struct kstr b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.p, b.p, (size_t)a.len);
}

static void assert_kbytes_same(struct kbytes a, struct kbytes b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.p, b.p, (size_t)a.len);
}

static const uint8_t records_a[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static struct produce_partition_data sample_partitions[] = {
	{.index = 0, .records = {records_a, sizeof records_a}},
	{.index = 7, .records = {NULL, -1}},
};

static struct produce_topic_data sample_topics[] = {
	{.name = KS("orders"), .partition_data = sample_partitions, .partition_data_count = 2},
	{.name = KS("logs"), .partition_data = NULL, .partition_data_count = 0},
};

static const struct produce_request sample_request = {
	.transactional_id = KS("txn-1"),
	.acks = -1,
	.timeout_ms = 30000,
	.topic_data = sample_topics,
	.topic_data_count = 2,
};

static struct produce_batch_index_and_error_message sample_record_errors[] = {
	{.batch_index = 3, .batch_index_error_message = KS("bad key")},
	{.batch_index = 4, .batch_index_error_message = KNULL},
};

static struct produce_partition_response sample_partition_responses[] = {
	{.index = 0, .error_code = 0, .base_offset = 1234567890123LL, .log_append_time_ms = 1700000000000LL,
	 .log_start_offset = 17, .record_errors = sample_record_errors, .record_errors_count = 2,
	 .error_message = KS("some records were invalid")},
	{.index = 1, .error_code = 6, .base_offset = -1, .log_append_time_ms = -1, .log_start_offset = -1,
	 .record_errors = NULL, .record_errors_count = 0, .error_message = KNULL},
};

static struct produce_topic_response sample_topic_responses[] = {
	{.name = KS("orders"), .partition_responses = sample_partition_responses, .partition_responses_count = 2},
};

static const struct produce_response sample_response = {
	.responses = sample_topic_responses,
	.responses_count = 1,
	.throttle_time_ms = 250,
};

static void check_request(int16_t v, const struct produce_request *a, const struct produce_request *b)
{
	/* transactional_id is v3+; below it decodes as null. */
	if (v >= 3)
		assert_kstr_same(a->transactional_id, b->transactional_id);
	else
		assert_int_equal(b->transactional_id.len, -1);
	assert_int_equal(a->acks, b->acks);
	assert_int_equal(a->timeout_ms, b->timeout_ms);
	assert_int_equal(a->topic_data_count, b->topic_data_count);
	for (int32_t i = 0; i < a->topic_data_count; i++) {
		const struct produce_topic_data *ta = &a->topic_data[i], *tb = &b->topic_data[i];
		assert_kstr_same(ta->name, tb->name);
		assert_int_equal(ta->partition_data_count, tb->partition_data_count);
		for (int32_t j = 0; j < ta->partition_data_count; j++) {
			assert_int_equal(ta->partition_data[j].index, tb->partition_data[j].index);
			assert_kbytes_same(ta->partition_data[j].records, tb->partition_data[j].records);
		}
	}
	(void)v;
}

static void check_response(int16_t v, const struct produce_response *want, const struct produce_response *got)
{
	assert_int_equal(got->throttle_time_ms, v >= 1 ? want->throttle_time_ms : 0);
	assert_int_equal(want->responses_count, got->responses_count);
	for (int32_t i = 0; i < want->responses_count; i++) {
		const struct produce_topic_response *ta = &want->responses[i], *tb = &got->responses[i];
		assert_kstr_same(ta->name, tb->name);
		assert_int_equal(ta->partition_responses_count, tb->partition_responses_count);
		for (int32_t j = 0; j < ta->partition_responses_count; j++) {
			const struct produce_partition_response *pa = &ta->partition_responses[j];
			const struct produce_partition_response *pb = &tb->partition_responses[j];
			assert_int_equal(pa->index, pb->index);
			assert_int_equal(pa->error_code, pb->error_code);
			assert_true(pa->base_offset == pb->base_offset);
			assert_true(pb->log_append_time_ms == (v >= 2 ? pa->log_append_time_ms : -1));
			/* Fields the version lacks come back as Kafka's defaults. */
			assert_true(pb->log_start_offset == (v >= 5 ? pa->log_start_offset : -1));
			if (v >= 8) {
				assert_int_equal(pa->record_errors_count, pb->record_errors_count);
				for (int32_t k = 0; k < pa->record_errors_count; k++) {
					assert_int_equal(pa->record_errors[k].batch_index, pb->record_errors[k].batch_index);
					assert_kstr_same(pa->record_errors[k].batch_index_error_message,
							 pb->record_errors[k].batch_index_error_message);
				}
				assert_kstr_same(pa->error_message, pb->error_message);
			} else {
				assert_int_equal(pb->record_errors_count, 0);
				assert_int_equal(pb->error_message.len, -1);
			}
		}
	}
}

static void produce_request__roundtrip_all_versions(void **state)
{
	for (int16_t v = PRODUCE_MIN_VERSION; v <= PRODUCE_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		produce_request_encode(&w, v, &sample_request);
		assert_int_equal(w.err, 0);

		struct kreader r;
		struct produce_request got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(produce_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		check_request(v, &sample_request, &got);

		kw_init(&w2, 16);
		produce_request_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		produce_request_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

static void produce_response__roundtrip_all_versions(void **state)
{
	for (int16_t v = PRODUCE_MIN_VERSION; v <= PRODUCE_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		produce_response_encode(&w, v, &sample_response);
		assert_int_equal(w.err, 0);

		struct kreader r;
		struct produce_response got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(produce_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		check_response(v, &sample_response, &got);

		kw_init(&w2, 16);
		produce_response_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		produce_response_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

/* Produce v3: transactional_id null, acks 1, timeout 30000, one topic "t"
 * with partition 0 and a 3-byte record set. */
static const uint8_t request_v3_bytes[] = {
	0xff, 0xff,             /* transactional_id: null */
	0x00, 0x01,             /* acks */
	0x00, 0x00, 0x75, 0x30, /* timeout_ms */
	0x00, 0x00, 0x00, 0x01, /* topic_data: 1 */
	0x00, 0x01, 't',        /* name */
	0x00, 0x00, 0x00, 0x01, /* partition_data: 1 */
	0x00, 0x00, 0x00, 0x00, /* index */
	0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc, /* records */
};

/* The same request in v9 (compact lengths and tag sections). */
static const uint8_t request_v9_bytes[] = {
	0x00,                   /* transactional_id: null */
	0x00, 0x01,             /* acks */
	0x00, 0x00, 0x75, 0x30, /* timeout_ms */
	0x02,                   /* topic_data: 1 */
	0x02, 't',              /* name */
	0x02,                   /* partition_data: 1 */
	0x00, 0x00, 0x00, 0x00, /* index */
	0x04, 0xaa, 0xbb, 0xcc, /* records */
	0x00,                   /* partition tags */
	0x00,                   /* topic tags */
	0x00,                   /* request tags */
};

/* The same request in v0-v2, which have no transactional_id. */
static const uint8_t request_v0_bytes[] = {
	0x00, 0x01,             /* acks */
	0x00, 0x00, 0x75, 0x30, /* timeout_ms */
	0x00, 0x00, 0x00, 0x01, /* topic_data: 1 */
	0x00, 0x01, 't',        /* name */
	0x00, 0x00, 0x00, 0x01, /* partition_data: 1 */
	0x00, 0x00, 0x00, 0x00, /* index */
	0x00, 0x00, 0x00, 0x03, 0xaa, 0xbb, 0xcc, /* records */
};

static void check_handmade_request(int16_t v, const uint8_t *bytes, size_t len)
{
	struct kreader r;
	struct produce_request got;
	kr_init(&r, bytes, len);
	assert_int_equal(produce_request_decode(&r, v, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.transactional_id.len, -1);
	assert_int_equal(got.acks, 1);
	assert_int_equal(got.timeout_ms, 30000);
	assert_int_equal(got.topic_data_count, 1);
	assert_true(kstr_eq(got.topic_data[0].name, "t"));
	assert_int_equal(got.topic_data[0].partition_data_count, 1);
	assert_int_equal(got.topic_data[0].partition_data[0].index, 0);
	assert_int_equal(got.topic_data[0].partition_data[0].records.len, 3);
	assert_int_equal(got.topic_data[0].partition_data[0].records.p[2], 0xcc);

	struct kwriter w;
	kw_init(&w, 16);
	produce_request_encode(&w, v, &got);
	assert_int_equal(w.len, len);
	assert_memory_equal(w.buf, bytes, len);
	kw_free(&w);
	produce_request_free(&got);
}

static void produce_request__matches_kafka_layout(void **state)
{
	for (int16_t v = 0; v <= 2; v++)
		check_handmade_request(v, request_v0_bytes, sizeof request_v0_bytes);
	check_handmade_request(3, request_v3_bytes, sizeof request_v3_bytes);
	check_handmade_request(9, request_v9_bytes, sizeof request_v9_bytes);
}

/* Produce response v8: one topic "t", partition 2, error 0, base offset 5,
 * no log-append time, log start 0, no record errors, null message, no throttle. */
static const uint8_t response_v8_bytes[] = {
	0x00, 0x00, 0x00, 0x01, /* responses: 1 */
	0x00, 0x01, 't',        /* name */
	0x00, 0x00, 0x00, 0x01, /* partition_responses: 1 */
	0x00, 0x00, 0x00, 0x02, /* index */
	0x00, 0x00,             /* error_code */
	0, 0, 0, 0, 0, 0, 0, 5, /* base_offset */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* log_append_time_ms */
	0, 0, 0, 0, 0, 0, 0, 0, /* log_start_offset */
	0x00, 0x00, 0x00, 0x00, /* record_errors: 0 */
	0xff, 0xff,             /* error_message: null */
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
};

static void produce_response__matches_kafka_layout(void **state)
{
	struct kreader r;
	struct produce_response got;
	kr_init(&r, response_v8_bytes, sizeof response_v8_bytes);
	assert_int_equal(produce_response_decode(&r, 8, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.responses_count, 1);
	const struct produce_partition_response *p = &got.responses[0].partition_responses[0];
	assert_int_equal(p->index, 2);
	assert_true(p->base_offset == 5);
	assert_true(p->log_append_time_ms == -1);
	assert_true(p->log_start_offset == 0);
	assert_int_equal(p->record_errors_count, 0);
	assert_int_equal(p->error_message.len, -1);

	struct kwriter w;
	kw_init(&w, 16);
	produce_response_encode(&w, 8, &got);
	assert_int_equal(w.len, sizeof response_v8_bytes);
	assert_memory_equal(w.buf, response_v8_bytes, w.len);
	kw_free(&w);
	produce_response_free(&got);
}

/* Produce responses v0, v1 and v2 for partition 2 of "t", error 0, base
 * offset 5: v0 has neither throttle_time_ms (v1+) nor log_append_time_ms
 * (v2+). */
static const uint8_t response_v0_bytes[] = {
	0x00, 0x00, 0x00, 0x01, /* responses: 1 */
	0x00, 0x01, 't',        /* name */
	0x00, 0x00, 0x00, 0x01, /* partition_responses: 1 */
	0x00, 0x00, 0x00, 0x02, /* index */
	0x00, 0x00,             /* error_code */
	0, 0, 0, 0, 0, 0, 0, 5, /* base_offset */
};

static const uint8_t response_v1_bytes[] = {
	0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 5,
	0x00, 0x00, 0x00, 0x64, /* throttle_time_ms: 100 */
};

static const uint8_t response_v2_bytes[] = {
	0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 5,
	0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, /* log_append_time_ms: 1700000000000 */
	0x00, 0x00, 0x00, 0x64, /* throttle_time_ms: 100 */
};

static void check_handmade_response(int16_t v, const uint8_t *bytes, size_t len, int32_t throttle,
				    int64_t append_time)
{
	struct kreader r;
	struct produce_response got;
	kr_init(&r, bytes, len);
	assert_int_equal(produce_response_decode(&r, v, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.throttle_time_ms, throttle);
	const struct produce_partition_response *p = &got.responses[0].partition_responses[0];
	assert_int_equal(p->index, 2);
	assert_true(p->base_offset == 5);
	assert_true(p->log_append_time_ms == append_time);
	assert_true(p->log_start_offset == -1);

	struct kwriter w;
	kw_init(&w, 16);
	produce_response_encode(&w, v, &got);
	assert_int_equal(w.len, len);
	assert_memory_equal(w.buf, bytes, len);
	kw_free(&w);
	produce_response_free(&got);
}

static void produce_response__legacy_versions_match_kafka_layout(void **state)
{
	check_handmade_response(0, response_v0_bytes, sizeof response_v0_bytes, 0, -1);
	check_handmade_response(1, response_v1_bytes, sizeof response_v1_bytes, 100, -1);
	check_handmade_response(2, response_v2_bytes, sizeof response_v2_bytes, 100, 1700000000000LL);
}

static void produce_request__free_releases_converted_records(void **state)
{
	/* The handler may hang an up-converted batch on a partition; freeing
	 * the request frees it (ASan/LeakSanitizer would report a leak). */
	struct kreader r;
	struct produce_request got;
	kr_init(&r, request_v0_bytes, sizeof request_v0_bytes);
	assert_int_equal(produce_request_decode(&r, 0, &got), 0);
	assert_null(got.topic_data[0].partition_data[0].converted);
	got.topic_data[0].partition_data[0].converted = malloc(32);
	assert_non_null(got.topic_data[0].partition_data[0].converted);
	produce_request_free(&got);
}

static void produce__truncated_input_fails_everywhere(void **state)
{
	for (int16_t v = PRODUCE_MIN_VERSION; v <= PRODUCE_MAX_VERSION; v++) {
		struct kwriter wq, ws;
		kw_init(&wq, 16);
		kw_init(&ws, 16);
		produce_request_encode(&wq, v, &sample_request);
		produce_response_encode(&ws, v, &sample_response);
		for (size_t n = 0; n < wq.len; n++) {
			uint8_t *c = dup_exact(wq.buf, n);
			struct kreader r;
			struct produce_request got;
			kr_init(&r, c, n);
			assert_int_equal(produce_request_decode(&r, v, &got), -1);
			assert_int_not_equal(r.err, 0);
			free(c);
		}
		for (size_t n = 0; n < ws.len; n++) {
			uint8_t *c = dup_exact(ws.buf, n);
			struct kreader r;
			struct produce_response got;
			kr_init(&r, c, n);
			assert_int_equal(produce_response_decode(&r, v, &got), -1);
			free(c);
		}
		kw_free(&wq);
		kw_free(&ws);
	}
}

static void produce_request__bad_counts_fail_without_allocating(void **state)
{
	/* Classic arrays: huge, negative and null topic counts. */
	static const uint8_t counts[][4] = {
		{0x7f, 0xff, 0xff, 0xff}, {0xff, 0xff, 0xff, 0xfb}, {0xff, 0xff, 0xff, 0xff}, {0x80, 0, 0, 0}};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		uint8_t b[8 + 4 + 8] = {0xff, 0xff, 0, 1, 0, 0, 0, 0};
		memcpy(b + 8, counts[i], 4);
		struct kreader r;
		struct produce_request got;
		kr_init(&r, b, sizeof b);
		assert_int_equal(produce_request_decode(&r, 3, &got), -1);
		assert_null(got.topic_data);
	}
	/* A valid topic whose partition count is huge. */
	uint8_t b2[] = {0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 't', 0x7f, 0xff, 0xff, 0xff, 0, 0};
	struct kreader r;
	struct produce_request got;
	kr_init(&r, b2, sizeof b2);
	assert_int_equal(produce_request_decode(&r, 3, &got), -1);
	/* Compact (v9): a 5-byte varint count of 2^32-1. */
	uint8_t b3[] = {0x00, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0};
	kr_init(&r, b3, sizeof b3);
	assert_int_equal(produce_request_decode(&r, 9, &got), -1);
	/* Compact null (0) for a non-nullable array. */
	uint8_t b4[] = {0x00, 0, 1, 0, 0, 0, 0, 0x00, 0};
	kr_init(&r, b4, sizeof b4);
	assert_int_equal(produce_request_decode(&r, 9, &got), -1);
}

static void produce__version_out_of_range_fails(void **state)
{
	struct kreader r;
	struct produce_request got;
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(produce_request_decode(&r, -1, &got), -1);
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(produce_request_decode(&r, 10, &got), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(produce_request__roundtrip_all_versions),
		cmocka_unit_test(produce_response__roundtrip_all_versions),
		cmocka_unit_test(produce_request__matches_kafka_layout),
		cmocka_unit_test(produce_response__matches_kafka_layout),
		cmocka_unit_test(produce_response__legacy_versions_match_kafka_layout),
		cmocka_unit_test(produce_request__free_releases_converted_records),
		cmocka_unit_test(produce__truncated_input_fails_everywhere),
		cmocka_unit_test(produce_request__bad_counts_fail_without_allocating),
		cmocka_unit_test(produce__version_out_of_range_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
