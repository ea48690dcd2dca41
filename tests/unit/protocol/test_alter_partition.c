#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/alter_partition.h"
#include "protocol/codec_test.h"

static int32_t isr_a[] = {1, 2, 3};
static struct alter_partition_broker_state isr_epochs_a[] = {
	{.broker_id = 1, .broker_epoch = 100},
	{.broker_id = 2, .broker_epoch = -1},
	{.broker_id = 3, .broker_epoch = 1LL << 40},
};

static struct alter_partition_partition sample_partitions[] = {
	{.partition_index = 0, .leader_epoch = 7, .new_isr = isr_a, .new_isr_count = 3,
	 .new_isr_with_epochs = isr_epochs_a, .new_isr_with_epochs_count = 3, .leader_recovery_state = 1,
	 .partition_epoch = 12},
	{.partition_index = 5, .leader_epoch = 0, .new_isr = NULL, .new_isr_count = 0, .new_isr_with_epochs = NULL,
	 .new_isr_with_epochs_count = 0, .leader_recovery_state = 0, .partition_epoch = -1},
};

static struct alter_partition_topic sample_topics[] = {
	{.topic_name = KS("orders"), .topic_id = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6},
	 .partitions = sample_partitions, .partitions_count = 2},
	{.topic_name = KS("idle"), .topic_id = {0xff}, .partitions = NULL, .partitions_count = 0},
};

static const struct alter_partition_request sample_request = {
	.broker_id = 2,
	.broker_epoch = 33,
	.topics = sample_topics,
	.topics_count = 2,
};

static struct alter_partition_partition_result sample_results[] = {
	{.partition_index = 0, .error_code = 0, .leader_id = 2, .leader_epoch = 7, .isr = isr_a, .isr_count = 3,
	 .leader_recovery_state = 1, .partition_epoch = 13},
	{.partition_index = 5, .error_code = 3, .leader_id = -1, .leader_epoch = -1, .isr = NULL, .isr_count = 0,
	 .leader_recovery_state = 0, .partition_epoch = -1},
};

static struct alter_partition_topic_result sample_topic_results[] = {
	{.topic_name = KS("orders"), .topic_id = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6},
	 .partitions = sample_results, .partitions_count = 2},
};

static const struct alter_partition_response sample_response = {
	.throttle_time_ms = 0,
	.error_code = 0,
	.topics = sample_topic_results,
	.topics_count = 1,
};

static void check_topic_key(int16_t v, struct kstr an, const uint8_t *aid, struct kstr bn, const uint8_t *bid)
{
	static const uint8_t zero[16];
	if (v >= 2) {
		assert_memory_equal(aid, bid, 16);
		assert_int_equal(bn.len, 0);
	} else {
		assert_true(ks_eq(an, bn));
		assert_memory_equal(bid, zero, 16);
	}
}

static void check_request(int16_t v, const struct alter_partition_request *a, const struct alter_partition_request *b)
{
	assert_int_equal(a->broker_id, b->broker_id);
	assert_true(a->broker_epoch == b->broker_epoch);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		const struct alter_partition_topic *ta = &a->topics[i], *tb = &b->topics[i];
		check_topic_key(v, ta->topic_name, ta->topic_id, tb->topic_name, tb->topic_id);
		assert_int_equal(ta->partitions_count, tb->partitions_count);
		for (int32_t j = 0; j < ta->partitions_count; j++) {
			const struct alter_partition_partition *pa = &ta->partitions[j], *pb = &tb->partitions[j];
			assert_int_equal(pa->partition_index, pb->partition_index);
			assert_int_equal(pa->leader_epoch, pb->leader_epoch);
			if (v <= 2) {
				assert_int_equal(pb->new_isr_with_epochs_count, 0);
				assert_int_equal(pa->new_isr_count, pb->new_isr_count);
				for (int32_t k = 0; k < pa->new_isr_count; k++)
					assert_int_equal(pa->new_isr[k], pb->new_isr[k]);
			} else {
				assert_int_equal(pb->new_isr_count, 0);
				assert_int_equal(pa->new_isr_with_epochs_count, pb->new_isr_with_epochs_count);
				for (int32_t k = 0; k < pa->new_isr_with_epochs_count; k++) {
					assert_int_equal(pa->new_isr_with_epochs[k].broker_id,
							 pb->new_isr_with_epochs[k].broker_id);
					assert_true(pa->new_isr_with_epochs[k].broker_epoch ==
						    pb->new_isr_with_epochs[k].broker_epoch);
				}
			}
			assert_int_equal(pb->leader_recovery_state, v >= 1 ? pa->leader_recovery_state : 0);
			assert_int_equal(pa->partition_epoch, pb->partition_epoch);
		}
	}
}

static void check_response(int16_t v, const struct alter_partition_response *a,
			   const struct alter_partition_response *b)
{
	assert_int_equal(a->throttle_time_ms, b->throttle_time_ms);
	assert_int_equal(a->error_code, b->error_code);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		const struct alter_partition_topic_result *ta = &a->topics[i], *tb = &b->topics[i];
		check_topic_key(v, ta->topic_name, ta->topic_id, tb->topic_name, tb->topic_id);
		assert_int_equal(ta->partitions_count, tb->partitions_count);
		for (int32_t j = 0; j < ta->partitions_count; j++) {
			const struct alter_partition_partition_result *pa = &ta->partitions[j];
			const struct alter_partition_partition_result *pb = &tb->partitions[j];
			assert_int_equal(pa->partition_index, pb->partition_index);
			assert_int_equal(pa->error_code, pb->error_code);
			assert_int_equal(pa->leader_id, pb->leader_id);
			assert_int_equal(pa->leader_epoch, pb->leader_epoch);
			assert_int_equal(pa->isr_count, pb->isr_count);
			for (int32_t k = 0; k < pa->isr_count; k++)
				assert_int_equal(pa->isr[k], pb->isr[k]);
			assert_int_equal(pb->leader_recovery_state, v >= 1 ? pa->leader_recovery_state : 0);
			assert_int_equal(pa->partition_epoch, pb->partition_epoch);
		}
	}
}

static void alter_partition_request__round_trips_every_version(void **state)
{
	for (int16_t v = ALTER_PARTITION_MIN_VERSION; v <= ALTER_PARTITION_MAX_VERSION; v++)
		ROUNDTRIP(alter_partition_request, alter_partition_request, v, &sample_request,
			  check_request(v, &sample_request, &out));
}

static void alter_partition_response__round_trips_every_version(void **state)
{
	for (int16_t v = ALTER_PARTITION_MIN_VERSION; v <= ALTER_PARTITION_MAX_VERSION; v++)
		ROUNDTRIP(alter_partition_response, alter_partition_response, v, &sample_response,
			  check_response(v, &sample_response, &out));
}

/* AlterPartition v3 from broker 1 (epoch 10): partition 0 of one topic, leader
 * epoch 4, new ISR {1 @ 10, 2 @ 11}, no recovery, partition epoch 6. */
static const uint8_t request_v3_bytes[] = {
	0x00, 0x00, 0x00, 0x01,                         /* broker_id */
	0, 0, 0, 0, 0, 0, 0, 10,                        /* broker_epoch */
	0x02,                                           /* topics: 1 */
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, /* topic_id */
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
	0x02,                                           /* partitions: 1 */
	0x00, 0x00, 0x00, 0x00,                         /* partition_index */
	0x00, 0x00, 0x00, 0x04,                         /* leader_epoch */
	0x03,                                           /* new_isr_with_epochs: 2 */
	0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 10, 0x00, /* broker 1 @ 10, tags */
	0x00, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0, 0, 0, 11, 0x00, /* broker 2 @ 11, tags */
	0x00,                                           /* leader_recovery_state */
	0x00, 0x00, 0x00, 0x06,                         /* partition_epoch */
	0x00,                                           /* partition tags */
	0x00,                                           /* topic tags */
	0x00,                                           /* tags */
};

static void alter_partition_request__v3_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct alter_partition_request got;
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(alter_partition_request_decode(&r, 3, &got), 0);
	assert_int_equal(r.left, 0);
	assert_true(got.broker_epoch == 10);
	assert_int_equal(got.topics_count, 1);
	assert_int_equal(got.topics[0].topic_id[0], 0xa0);
	const struct alter_partition_partition *p = &got.topics[0].partitions[0];
	assert_int_equal(p->leader_epoch, 4);
	assert_int_equal(p->new_isr_with_epochs_count, 2);
	assert_int_equal(p->new_isr_with_epochs[1].broker_id, 2);
	assert_true(p->new_isr_with_epochs[1].broker_epoch == 11);
	assert_int_equal(p->partition_epoch, 6);

	struct kwriter w;
	kw_init(&w, 16);
	alter_partition_request_encode(&w, 3, &got);
	assert_int_equal(w.len, sizeof request_v3_bytes);
	assert_memory_equal(w.buf, request_v3_bytes, w.len);
	kw_free(&w);
	alter_partition_request_free(&got);
}

/* AlterPartition v1 response: topic "t" partition 2 committed with ISR {1, 3}. */
static const uint8_t response_v1_bytes[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
	0x00, 0x00,             /* error_code */
	0x02,                   /* topics: 1 */
	0x02, 't',              /* topic_name */
	0x02,                   /* partitions: 1 */
	0x00, 0x00, 0x00, 0x02, /* partition_index */
	0x00, 0x00,             /* error_code */
	0x00, 0x00, 0x00, 0x01, /* leader_id */
	0x00, 0x00, 0x00, 0x05, /* leader_epoch */
	0x03,                   /* isr: 2 */
	0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x03,
	0x00,                   /* leader_recovery_state */
	0x00, 0x00, 0x00, 0x09, /* partition_epoch */
	0x00,                   /* partition tags */
	0x00,                   /* topic tags */
	0x00,                   /* tags */
};

static void alter_partition_response__v1_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct alter_partition_response got;
	kr_init(&r, response_v1_bytes, sizeof response_v1_bytes);
	assert_int_equal(alter_partition_response_decode(&r, 1, &got), 0);
	assert_int_equal(r.left, 0);
	assert_true(kstr_eq(got.topics[0].topic_name, "t"));
	const struct alter_partition_partition_result *p = &got.topics[0].partitions[0];
	assert_int_equal(p->partition_index, 2);
	assert_int_equal(p->isr_count, 2);
	assert_int_equal(p->isr[1], 3);
	assert_int_equal(p->partition_epoch, 9);

	struct kwriter w;
	kw_init(&w, 16);
	alter_partition_response_encode(&w, 1, &got);
	assert_int_equal(w.len, sizeof response_v1_bytes);
	assert_memory_equal(w.buf, response_v1_bytes, w.len);
	kw_free(&w);
	alter_partition_response_free(&got);
}

static void alter_partition__bad_counts_fail(void **state)
{
	const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	/* Request: topics, partitions, new_isr_with_epochs counts. */
	const size_t req_at[] = {12, 29, 38};
	for (size_t i = 0; i < sizeof req_at / sizeof req_at[0]; i++) {
		uint8_t b[sizeof request_v3_bytes];
		struct kreader r;
		struct alter_partition_request got;
		memcpy(b, request_v3_bytes, sizeof b);
		assert_true(b[req_at[i]] == 0x02 || b[req_at[i]] == 0x03);
		b[req_at[i]] = 0x00; /* null */
		kr_init(&r, b, sizeof b);
		assert_int_equal(alter_partition_request_decode(&r, 3, &got), -1);
		b[req_at[i]] = 0x7f; /* cannot fit */
		kr_init(&r, b, sizeof b);
		assert_int_equal(alter_partition_request_decode(&r, 3, &got), -1);
		memcpy(b + req_at[i], huge, sizeof huge);
		kr_init(&r, b, sizeof b);
		assert_int_equal(alter_partition_request_decode(&r, 3, &got), -1);
	}
	/* Response: topics, partitions, isr counts. */
	const size_t resp_at[] = {6, 9, 24};
	for (size_t i = 0; i < sizeof resp_at / sizeof resp_at[0]; i++) {
		uint8_t b[sizeof response_v1_bytes];
		struct kreader r;
		struct alter_partition_response got;
		memcpy(b, response_v1_bytes, sizeof b);
		assert_true(b[resp_at[i]] == 0x02 || b[resp_at[i]] == 0x03);
		b[resp_at[i]] = 0x00;
		kr_init(&r, b, sizeof b);
		assert_int_equal(alter_partition_response_decode(&r, 1, &got), -1);
		b[resp_at[i]] = 0x7f;
		kr_init(&r, b, sizeof b);
		assert_int_equal(alter_partition_response_decode(&r, 1, &got), -1);
		memcpy(b + resp_at[i], huge, sizeof huge);
		kr_init(&r, b, sizeof b);
		assert_int_equal(alter_partition_response_decode(&r, 1, &got), -1);
	}
}

static void alter_partition__bad_version_fails(void **state)
{
	struct kreader r;
	struct alter_partition_request req;
	struct alter_partition_response resp;
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(alter_partition_request_decode(&r, 4, &req), -1);
	kr_init(&r, response_v1_bytes, sizeof response_v1_bytes);
	assert_int_equal(alter_partition_response_decode(&r, -1, &resp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alter_partition_request__round_trips_every_version),
		cmocka_unit_test(alter_partition_response__round_trips_every_version),
		cmocka_unit_test(alter_partition_request__v3_matches_kafka_layout),
		cmocka_unit_test(alter_partition_response__v1_matches_kafka_layout),
		cmocka_unit_test(alter_partition__bad_counts_fail),
		cmocka_unit_test(alter_partition__bad_version_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
