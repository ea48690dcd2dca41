#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/fetch.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "protocol/codec_test.h"

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

static struct fetch_partition sample_partitions[] = {
	{.partition = 0, .current_leader_epoch = 5, .fetch_offset = 100, .last_fetched_epoch = 4,
	 .log_start_offset = 10, .partition_max_bytes = 1048576},
	{.partition = 3, .current_leader_epoch = 6, .fetch_offset = 1LL << 40, .last_fetched_epoch = 2,
	 .log_start_offset = 0, .partition_max_bytes = 65536},
};

static struct fetch_topic sample_topics[] = {
	{.topic = KS("orders"), .partitions = sample_partitions, .partitions_count = 2},
	{.topic = KS("empty"), .partitions = NULL, .partitions_count = 0},
};

static int32_t forgotten_partitions[] = {1, 2, 9};

static struct fetch_forgotten_topic sample_forgotten[] = {
	{.topic = KS("old"), .partitions = forgotten_partitions, .partitions_count = 3},
};

static const struct fetch_request sample_request = {
	.replica_id = 2,
	.max_wait_ms = 500,
	.min_bytes = 1,
	.max_bytes = 52428800,
	.isolation_level = 1,
	.session_id = 77,
	.session_epoch = 3,
	.topics = sample_topics,
	.topics_count = 2,
	.forgotten_topics_data = sample_forgotten,
	.forgotten_topics_data_count = 1,
	.rack_id = KS("rack-a"),
};

static const uint8_t records_a[] = {0, 0, 0, 0, 0, 0, 0, 0x64, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef};

static struct fetch_aborted_transaction sample_aborted[] = {
	{.producer_id = 4000, .first_offset = 90},
	{.producer_id = 4001, .first_offset = 95},
};

static struct fetch_partition_data sample_partition_data[] = {
	{.partition_index = 0, .error_code = 0, .high_watermark = 120, .last_stable_offset = 110,
	 .log_start_offset = 10, .diverging_epoch = {3, 99}, .aborted_transactions = sample_aborted,
	 .aborted_transactions_count = 2, .preferred_read_replica = 1, .records = {records_a, sizeof records_a}},
	{.partition_index = 3, .error_code = 1, .high_watermark = -1, .last_stable_offset = -1,
	 .log_start_offset = -1, .diverging_epoch = {-1, -1}, .aborted_transactions = NULL,
	 .aborted_transactions_count = -1, .preferred_read_replica = -1, .records = {NULL, -1}},
	{.partition_index = 4, .error_code = 0, .high_watermark = 0, .last_stable_offset = 0,
	 .log_start_offset = 0, .diverging_epoch = {-1, -1}, .aborted_transactions = NULL,
	 .aborted_transactions_count = 0, .preferred_read_replica = -1, .records = {records_a, 0}},
};

static struct fetch_topic_response sample_topic_responses[] = {
	{.topic = KS("orders"), .partitions = sample_partition_data, .partitions_count = 3},
};

static const struct fetch_response sample_response = {
	.throttle_time_ms = 10,
	.error_code = 0,
	.session_id = 77,
	.responses = sample_topic_responses,
	.responses_count = 1,
};

static void check_request(int16_t v, const struct fetch_request *a, const struct fetch_request *b)
{
	assert_int_equal(a->replica_id, b->replica_id);
	assert_int_equal(a->max_wait_ms, b->max_wait_ms);
	assert_int_equal(a->min_bytes, b->min_bytes);
	assert_int_equal(a->max_bytes, b->max_bytes);
	assert_int_equal(a->isolation_level, b->isolation_level);
	assert_int_equal(b->session_id, v >= 7 ? a->session_id : 0);
	assert_int_equal(b->session_epoch, v >= 7 ? a->session_epoch : -1);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		assert_kstr_same(a->topics[i].topic, b->topics[i].topic);
		assert_int_equal(a->topics[i].partitions_count, b->topics[i].partitions_count);
		for (int32_t j = 0; j < a->topics[i].partitions_count; j++) {
			const struct fetch_partition *pa = &a->topics[i].partitions[j];
			const struct fetch_partition *pb = &b->topics[i].partitions[j];
			assert_int_equal(pa->partition, pb->partition);
			assert_int_equal(pb->current_leader_epoch, v >= 9 ? pa->current_leader_epoch : -1);
			assert_true(pa->fetch_offset == pb->fetch_offset);
			assert_int_equal(pb->last_fetched_epoch, v >= 12 ? pa->last_fetched_epoch : -1);
			assert_true(pb->log_start_offset == (v >= 5 ? pa->log_start_offset : -1));
			assert_int_equal(pa->partition_max_bytes, pb->partition_max_bytes);
		}
	}
	if (v >= 7) {
		assert_int_equal(a->forgotten_topics_data_count, b->forgotten_topics_data_count);
		for (int32_t i = 0; i < a->forgotten_topics_data_count; i++) {
			assert_kstr_same(a->forgotten_topics_data[i].topic, b->forgotten_topics_data[i].topic);
			assert_int_equal(a->forgotten_topics_data[i].partitions_count,
					 b->forgotten_topics_data[i].partitions_count);
			for (int32_t j = 0; j < a->forgotten_topics_data[i].partitions_count; j++)
				assert_int_equal(a->forgotten_topics_data[i].partitions[j],
						 b->forgotten_topics_data[i].partitions[j]);
		}
	} else {
		assert_int_equal(b->forgotten_topics_data_count, 0);
	}
	if (v >= 11)
		assert_kstr_same(a->rack_id, b->rack_id);
	else
		assert_int_equal(b->rack_id.len, 0);
}

static void check_response(int16_t v, const struct fetch_response *a, const struct fetch_response *b)
{
	assert_int_equal(a->throttle_time_ms, b->throttle_time_ms);
	assert_int_equal(b->error_code, v >= 7 ? a->error_code : 0);
	assert_int_equal(b->session_id, v >= 7 ? a->session_id : 0);
	assert_int_equal(a->responses_count, b->responses_count);
	for (int32_t i = 0; i < a->responses_count; i++) {
		assert_kstr_same(a->responses[i].topic, b->responses[i].topic);
		assert_int_equal(a->responses[i].partitions_count, b->responses[i].partitions_count);
		for (int32_t j = 0; j < a->responses[i].partitions_count; j++) {
			const struct fetch_partition_data *pa = &a->responses[i].partitions[j];
			const struct fetch_partition_data *pb = &b->responses[i].partitions[j];
			assert_int_equal(pa->partition_index, pb->partition_index);
			assert_int_equal(pa->error_code, pb->error_code);
			assert_true(pa->high_watermark == pb->high_watermark);
			assert_true(pa->last_stable_offset == pb->last_stable_offset);
			assert_true(pb->log_start_offset == (v >= 5 ? pa->log_start_offset : -1));
			if (v >= 12) {
				assert_int_equal(pa->diverging_epoch.epoch, pb->diverging_epoch.epoch);
				assert_true(pa->diverging_epoch.end_offset == pb->diverging_epoch.end_offset);
			} else {
				assert_int_equal(pb->diverging_epoch.epoch, -1);
				assert_true(pb->diverging_epoch.end_offset == -1);
			}
			assert_int_equal(pa->aborted_transactions_count, pb->aborted_transactions_count);
			for (int32_t k = 0; k < pa->aborted_transactions_count; k++) {
				assert_true(pa->aborted_transactions[k].producer_id ==
					    pb->aborted_transactions[k].producer_id);
				assert_true(pa->aborted_transactions[k].first_offset ==
					    pb->aborted_transactions[k].first_offset);
			}
			assert_int_equal(pb->preferred_read_replica, v >= 11 ? pa->preferred_read_replica : -1);
			assert_kbytes_same(pa->records, pb->records);
		}
	}
}

static void fetch_request__roundtrip_all_versions(void **state)
{
	for (int16_t v = FETCH_MIN_VERSION; v <= FETCH_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		fetch_request_encode(&w, v, &sample_request);
		assert_int_equal(w.err, 0);

		struct kreader r;
		struct fetch_request got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(fetch_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		check_request(v, &sample_request, &got);

		kw_init(&w2, 16);
		fetch_request_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		fetch_request_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

static void fetch_response__roundtrip_all_versions(void **state)
{
	for (int16_t v = FETCH_MIN_VERSION; v <= FETCH_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		fetch_response_encode(&w, v, &sample_response);
		assert_int_equal(w.err, 0);

		struct kreader r;
		struct fetch_response got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(fetch_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		check_response(v, &sample_response, &got);

		kw_init(&w2, 16);
		fetch_response_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		fetch_response_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

/* Fetch v4 from a consumer: one topic "t", partition 1 at offset 42. */
static const uint8_t request_v4_bytes[] = {
	0xff, 0xff, 0xff, 0xff, /* replica_id -1 */
	0x00, 0x00, 0x01, 0xf4, /* max_wait_ms 500 */
	0x00, 0x00, 0x00, 0x01, /* min_bytes 1 */
	0x7f, 0xff, 0xff, 0xff, /* max_bytes */
	0x01,                   /* isolation_level read_committed */
	0x00, 0x00, 0x00, 0x01, /* topics: 1 */
	0x00, 0x01, 't',        /* topic */
	0x00, 0x00, 0x00, 0x01, /* partitions: 1 */
	0x00, 0x00, 0x00, 0x01, /* partition */
	0, 0, 0, 0, 0, 0, 0, 42, /* fetch_offset */
	0x00, 0x10, 0x00, 0x00, /* partition_max_bytes 1 MiB */
};

static void fetch_request__v4_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct fetch_request got;
	kr_init(&r, request_v4_bytes, sizeof request_v4_bytes);
	assert_int_equal(fetch_request_decode(&r, 4, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.replica_id, -1);
	assert_int_equal(got.max_wait_ms, 500);
	assert_int_equal(got.max_bytes, INT32_MAX);
	assert_int_equal(got.isolation_level, 1);
	assert_int_equal(got.session_epoch, -1);
	assert_int_equal(got.topics_count, 1);
	assert_true(kstr_eq(got.topics[0].topic, "t"));
	assert_int_equal(got.topics[0].partitions[0].partition, 1);
	assert_true(got.topics[0].partitions[0].fetch_offset == 42);
	assert_true(got.topics[0].partitions[0].log_start_offset == -1);
	assert_int_equal(got.topics[0].partitions[0].partition_max_bytes, 1 << 20);

	struct kwriter w;
	kw_init(&w, 16);
	fetch_request_encode(&w, 4, &got);
	assert_int_equal(w.len, sizeof request_v4_bytes);
	assert_memory_equal(w.buf, request_v4_bytes, w.len);
	kw_free(&w);
	fetch_request_free(&got);
}

/* Fetch v12 response: partition 0 of "t" diverged at epoch 2 / offset 50;
 * no aborted transactions (null), no records (empty). */
static const uint8_t response_v12_bytes[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
	0x00, 0x00,             /* error_code */
	0x00, 0x00, 0x00, 0x00, /* session_id */
	0x02,                   /* responses: 1 */
	0x02, 't',              /* topic */
	0x02,                   /* partitions: 1 */
	0x00, 0x00, 0x00, 0x00, /* partition_index */
	0x00, 0x00,             /* error_code */
	0, 0, 0, 0, 0, 0, 0, 60, /* high_watermark */
	0, 0, 0, 0, 0, 0, 0, 60, /* last_stable_offset */
	0, 0, 0, 0, 0, 0, 0, 0, /* log_start_offset */
	0x00,                   /* aborted_transactions: null */
	0xff, 0xff, 0xff, 0xff, /* preferred_read_replica -1 */
	0x01,                   /* records: empty */
	0x01,                   /* partition tags: 1 */
	0x00, 0x0d,             /* tag 0 (diverging_epoch), 13 bytes */
	0x00, 0x00, 0x00, 0x02, /* epoch */
	0, 0, 0, 0, 0, 0, 0, 50, /* end_offset */
	0x00,                   /* its tags */
	0x00,                   /* topic tags */
	0x00,                   /* response tags */
};

static void fetch_response__v12_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct fetch_response got;
	kr_init(&r, response_v12_bytes, sizeof response_v12_bytes);
	assert_int_equal(fetch_response_decode(&r, 12, &got), 0);
	assert_int_equal(r.left, 0);
	const struct fetch_partition_data *p = &got.responses[0].partitions[0];
	assert_true(p->high_watermark == 60);
	assert_int_equal(p->aborted_transactions_count, -1);
	assert_int_equal(p->preferred_read_replica, -1);
	assert_int_equal(p->records.len, 0);
	assert_int_equal(p->diverging_epoch.epoch, 2);
	assert_true(p->diverging_epoch.end_offset == 50);

	struct kwriter w;
	kw_init(&w, 16);
	fetch_response_encode(&w, 12, &got);
	assert_int_equal(w.len, sizeof response_v12_bytes);
	assert_memory_equal(w.buf, response_v12_bytes, w.len);
	kw_free(&w);
	fetch_response_free(&got);
}

static void fetch_response__unknown_tags_skipped(void **state)
{
	/* Tag 1 (current_leader) before tag 0, as Kafka may send. */
	uint8_t b[sizeof response_v12_bytes + 11];
	size_t tags_at = 4 + 2 + 4 + 1 + 2 + 1 + 4 + 2 + 8 + 8 + 8 + 1 + 4 + 1;
	memcpy(b, response_v12_bytes, tags_at);
	uint8_t tags[] = {0x02, 0x01, 0x09, 0, 0, 0, 3, 0, 0, 0, 7, 0x00, 0x00, 0x0d};
	memcpy(b + tags_at, tags, sizeof tags);
	memcpy(b + tags_at + sizeof tags, response_v12_bytes + tags_at + 3,
	       sizeof response_v12_bytes - tags_at - 3);
	struct kreader r;
	struct fetch_response got;
	kr_init(&r, b, sizeof b);
	assert_int_equal(fetch_response_decode(&r, 12, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.responses[0].partitions[0].diverging_epoch.epoch, 2);
	fetch_response_free(&got);

	/* A diverging_epoch whose declared size is too small for its fields. */
	uint8_t bad[sizeof response_v12_bytes];
	memcpy(bad, response_v12_bytes, sizeof bad);
	bad[tags_at + 2] = 0x04;
	kr_init(&r, bad, sizeof bad);
	assert_int_equal(fetch_response_decode(&r, 12, &got), -1);
}

static void fetch__truncated_input_fails_everywhere(void **state)
{
	for (int16_t v = FETCH_MIN_VERSION; v <= FETCH_MAX_VERSION; v++) {
		struct kwriter wq, ws;
		kw_init(&wq, 16);
		kw_init(&ws, 16);
		fetch_request_encode(&wq, v, &sample_request);
		fetch_response_encode(&ws, v, &sample_response);
		for (size_t n = 0; n < wq.len; n++) {
			uint8_t *c = dup_exact(wq.buf, n);
			struct kreader r;
			struct fetch_request got;
			kr_init(&r, c, n);
			assert_int_equal(fetch_request_decode(&r, v, &got), -1);
			free(c);
		}
		for (size_t n = 0; n < ws.len; n++) {
			uint8_t *c = dup_exact(ws.buf, n);
			struct kreader r;
			struct fetch_response got;
			kr_init(&r, c, n);
			assert_int_equal(fetch_response_decode(&r, v, &got), -1);
			free(c);
		}
		kw_free(&wq);
		kw_free(&ws);
	}
}

static void fetch_request__bad_counts_fail_without_allocating(void **state)
{
	static const uint8_t counts[][4] = {
		{0x7f, 0xff, 0xff, 0xff}, {0xff, 0xff, 0xff, 0xfe}, {0xff, 0xff, 0xff, 0xff}};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		uint8_t b[sizeof request_v4_bytes];
		memcpy(b, request_v4_bytes, sizeof b);
		memcpy(b + 17, counts[i], 4); /* topics */
		struct kreader r;
		struct fetch_request got;
		kr_init(&r, b, sizeof b);
		assert_int_equal(fetch_request_decode(&r, 4, &got), -1);
		memcpy(b, request_v4_bytes, sizeof b);
		memcpy(b + 24, counts[i], 4); /* partitions */
		kr_init(&r, b, sizeof b);
		assert_int_equal(fetch_request_decode(&r, 4, &got), -1);
	}
	/* A huge aborted-transaction count in a response. */
	uint8_t b[sizeof response_v12_bytes];
	memcpy(b, response_v12_bytes, sizeof b);
	size_t at = 4 + 2 + 4 + 1 + 2 + 1 + 4 + 2 + 8 + 8 + 8;
	b[at] = 0x7f; /* 126 transactions cannot fit in what is left */
	struct kreader r;
	struct fetch_response got;
	kr_init(&r, b, sizeof b);
	assert_int_equal(fetch_response_decode(&r, 12, &got), -1);
}

/* Two topics, record sets of different sizes between empty and null ones. */
static const uint8_t records_b[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};

static struct fetch_partition_data holes_partition_data[] = {
	{.partition_index = 7, .high_watermark = 50, .last_stable_offset = 50, .log_start_offset = 0,
	 .diverging_epoch = {-1, -1}, .aborted_transactions_count = -1, .preferred_read_replica = -1,
	 .records = {records_b, sizeof records_b}},
	{.partition_index = 8, .high_watermark = 5, .last_stable_offset = 5, .log_start_offset = 0,
	 .diverging_epoch = {-1, -1}, .aborted_transactions_count = -1, .preferred_read_replica = -1,
	 .records = {records_b, 3}},
};

static struct fetch_topic_response holes_topic_responses[] = {
	{.topic = KS("orders"), .partitions = sample_partition_data, .partitions_count = 3},
	{.topic = KS("none"), .partitions = NULL, .partitions_count = 0},
	{.topic = KS("payments"), .partitions = holes_partition_data, .partitions_count = 2},
};

static const struct fetch_response holes_response = {
	.throttle_time_ms = 0,
	.responses = holes_topic_responses,
	.responses_count = 3,
};

/* The hollow encoding, with each record set put back at its hole, is the
 * ordinary encoding byte for byte; the holes do not depend on records.p. */
static void fetch_response__holes_filled_give_the_same_bytes(void **state)
{
	const uint8_t *sets[] = {records_a, records_b, records_b};
	const size_t lens[] = {sizeof records_a, sizeof records_b, 3};
	assert_int_equal(fetch_response_record_sets(&holes_response), 3);
	for (int16_t v = FETCH_MIN_VERSION; v <= FETCH_MAX_VERSION; v++) {
		struct kwriter whole, hollow;
		kw_init(&whole, 16);
		kw_init(&hollow, 16);
		fetch_response_encode(&whole, v, &holes_response);
		size_t holes[3];
		assert_int_equal(fetch_response_encode_holes(&hollow, v, &holes_response, holes), 3);
		assert_int_equal(whole.err, 0);
		assert_int_equal(hollow.err, 0);
		assert_int_equal(hollow.len + sizeof records_a + sizeof records_b + 3, whole.len);

		uint8_t *filled = malloc(whole.len);
		size_t at = 0, prev = 0;
		for (int k = 0; k < 3; k++) {
			assert_true(holes[k] >= prev && holes[k] <= hollow.len);
			memcpy(filled + at, hollow.buf + prev, holes[k] - prev);
			at += holes[k] - prev;
			memcpy(filled + at, sets[k], lens[k]);
			at += lens[k];
			prev = holes[k];
		}
		memcpy(filled + at, hollow.buf + prev, hollow.len - prev);
		at += hollow.len - prev;
		assert_int_equal(at, whole.len);
		assert_memory_equal(filled, whole.buf, whole.len);
		free(filled);

		/* A handler leaves records.p NULL for bytes it sends itself. */
		struct fetch_partition_data pd[2];
		memcpy(pd, holes_partition_data, sizeof pd);
		pd[0].records.p = NULL;
		pd[1].records.p = NULL;
		struct fetch_topic_response tr[3];
		memcpy(tr, holes_topic_responses, sizeof tr);
		tr[2].partitions = pd;
		struct fetch_response viewless = holes_response;
		viewless.responses = tr;
		struct kwriter again;
		kw_init(&again, 16);
		size_t holes2[3];
		assert_int_equal(fetch_response_encode_holes(&again, v, &viewless, holes2), 3);
		assert_int_equal(again.len, hollow.len);
		assert_memory_equal(again.buf, hollow.buf, hollow.len);
		assert_memory_equal(holes2, holes, sizeof holes);
		kw_free(&again);
		kw_free(&whole);
		kw_free(&hollow);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fetch_request__roundtrip_all_versions),
		cmocka_unit_test(fetch_response__roundtrip_all_versions),
		cmocka_unit_test(fetch_request__v4_matches_kafka_layout),
		cmocka_unit_test(fetch_response__v12_matches_kafka_layout),
		cmocka_unit_test(fetch_response__unknown_tags_skipped),
		cmocka_unit_test(fetch__truncated_input_fails_everywhere),
		cmocka_unit_test(fetch_request__bad_counts_fail_without_allocating),
		cmocka_unit_test(fetch_response__holes_filled_give_the_same_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
