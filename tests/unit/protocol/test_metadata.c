#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/metadata.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static void assert_kstr_same(struct kstr a, struct kstr b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.p, b.p, (size_t)a.len);
}

static void assert_i32s_same(const int32_t *a, int32_t na, const int32_t *b, int32_t nb)
{
	assert_int_equal(na, nb);
	for (int32_t i = 0; i < na; i++)
		assert_int_equal(a[i], b[i]);
}

static struct metadata_request_topic sample_request_topics[] = {
	{.topic_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, .name = KS("orders")},
	{.topic_id = {0}, .name = KS("logs")},
};

static const struct metadata_request sample_request = {
	.topics = sample_request_topics,
	.topics_count = 2,
	.allow_auto_topic_creation = false,
	.include_cluster_authorized_operations = true,
	.include_topic_authorized_operations = true,
};

static struct metadata_response_broker sample_brokers[] = {
	{.node_id = 0, .host = KS("localhost"), .port = 9092, .rack = KS("rack-a")},
	{.node_id = 1, .host = KS("10.0.0.2"), .port = 9093, .rack = KNULL},
};

static int32_t replicas[] = {0, 1, 2};
static int32_t isr[] = {0, 2};
static int32_t offline[] = {1};

static struct metadata_response_partition sample_partitions[] = {
	{.error_code = 0, .partition_index = 0, .leader_id = 0, .leader_epoch = 7, .replica_nodes = replicas,
	 .replica_nodes_count = 3, .isr_nodes = isr, .isr_nodes_count = 2, .offline_replicas = offline,
	 .offline_replicas_count = 1},
	{.error_code = 5, .partition_index = 1, .leader_id = -1, .leader_epoch = -1, .replica_nodes = replicas,
	 .replica_nodes_count = 1, .isr_nodes = NULL, .isr_nodes_count = 0, .offline_replicas = NULL,
	 .offline_replicas_count = 0},
};

static struct metadata_response_topic sample_topics[] = {
	{.error_code = 0, .name = KS("orders"), .topic_id = {0xaa, 0xbb, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0xff},
	 .is_internal = true, .partitions = sample_partitions, .partitions_count = 2,
	 .topic_authorized_operations = 0x0ff8},
	{.error_code = 3, .name = KS("missing"), .topic_id = {0}, .is_internal = false, .partitions = NULL,
	 .partitions_count = 0, .topic_authorized_operations = INT32_MIN},
};

static const struct metadata_response sample_response = {
	.throttle_time_ms = 5,
	.brokers = sample_brokers,
	.brokers_count = 2,
	.cluster_id = KS("tern-cluster-1"),
	.controller_id = 1,
	.topics = sample_topics,
	.topics_count = 2,
	.cluster_authorized_operations = 0x1234,
};

static void check_request(int16_t v, const struct metadata_request *a, const struct metadata_request *b)
{
	static const uint8_t zero[16] = {0};
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		assert_memory_equal(b->topics[i].topic_id, v >= 10 ? a->topics[i].topic_id : zero, 16);
		assert_kstr_same(a->topics[i].name, b->topics[i].name);
	}
	assert_int_equal(b->allow_auto_topic_creation, v >= 4 ? a->allow_auto_topic_creation : true);
	assert_int_equal(b->include_cluster_authorized_operations,
			 v >= 8 && v <= 10 ? a->include_cluster_authorized_operations : false);
	assert_int_equal(b->include_topic_authorized_operations,
			 v >= 8 ? a->include_topic_authorized_operations : false);
}

static void check_response(int16_t v, const struct metadata_response *a, const struct metadata_response *b)
{
	static const uint8_t zero[16] = {0};
	assert_int_equal(b->throttle_time_ms, v >= 3 ? a->throttle_time_ms : 0);
	assert_int_equal(a->brokers_count, b->brokers_count);
	for (int32_t i = 0; i < a->brokers_count; i++) {
		assert_int_equal(a->brokers[i].node_id, b->brokers[i].node_id);
		assert_kstr_same(a->brokers[i].host, b->brokers[i].host);
		assert_int_equal(a->brokers[i].port, b->brokers[i].port);
		assert_kstr_same(v >= 1 ? a->brokers[i].rack : KNULL, b->brokers[i].rack);
	}
	assert_kstr_same(v >= 2 ? a->cluster_id : KNULL, b->cluster_id);
	assert_int_equal(b->controller_id, v >= 1 ? a->controller_id : -1);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		const struct metadata_response_topic *ta = &a->topics[i], *tb = &b->topics[i];
		assert_int_equal(ta->error_code, tb->error_code);
		assert_kstr_same(ta->name, tb->name);
		assert_memory_equal(tb->topic_id, v >= 10 ? ta->topic_id : zero, 16);
		assert_int_equal(tb->is_internal, v >= 1 ? ta->is_internal : false);
		assert_int_equal(tb->topic_authorized_operations,
				 v >= 8 ? ta->topic_authorized_operations : METADATA_AUTHORIZED_OPERATIONS_UNKNOWN);
		assert_int_equal(ta->partitions_count, tb->partitions_count);
		for (int32_t j = 0; j < ta->partitions_count; j++) {
			const struct metadata_response_partition *pa = &ta->partitions[j], *pb = &tb->partitions[j];
			assert_int_equal(pa->error_code, pb->error_code);
			assert_int_equal(pa->partition_index, pb->partition_index);
			assert_int_equal(pa->leader_id, pb->leader_id);
			assert_int_equal(pb->leader_epoch, v >= 7 ? pa->leader_epoch : -1);
			assert_i32s_same(pa->replica_nodes, pa->replica_nodes_count, pb->replica_nodes,
					 pb->replica_nodes_count);
			assert_i32s_same(pa->isr_nodes, pa->isr_nodes_count, pb->isr_nodes, pb->isr_nodes_count);
			if (v >= 5)
				assert_i32s_same(pa->offline_replicas, pa->offline_replicas_count, pb->offline_replicas,
						 pb->offline_replicas_count);
			else
				assert_int_equal(pb->offline_replicas_count, 0);
		}
	}
	assert_int_equal(b->cluster_authorized_operations,
			 v >= 8 && v <= 10 ? a->cluster_authorized_operations : METADATA_AUTHORIZED_OPERATIONS_UNKNOWN);
}

static void metadata_request__roundtrip_all_versions(void **state)
{
	for (int16_t v = METADATA_MIN_VERSION; v <= METADATA_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		metadata_request_encode(&w, v, &sample_request);
		assert_int_equal(w.err, 0);

		struct kreader r;
		struct metadata_request got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(metadata_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		check_request(v, &sample_request, &got);

		kw_init(&w2, 16);
		metadata_request_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		metadata_request_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

static void metadata_request__all_topics_in_every_version(void **state)
{
	struct metadata_request all = {.topics = NULL, .topics_count = -1, .allow_auto_topic_creation = true};
	for (int16_t v = METADATA_MIN_VERSION; v <= METADATA_MAX_VERSION; v++) {
		struct kwriter w;
		kw_init(&w, 16);
		metadata_request_encode(&w, v, &all);
		/* v0 says "all" with an empty list, later versions with a null one. */
		if (v == 0)
			assert_memory_equal(w.buf, ((uint8_t[]){0, 0, 0, 0}), 4);
		else if (v < METADATA_FLEXIBLE_VERSION)
			assert_memory_equal(w.buf, ((uint8_t[]){0xff, 0xff, 0xff, 0xff}), 4);
		else
			assert_int_equal(w.buf[0], 0);
		struct kreader r;
		struct metadata_request got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(metadata_request_decode(&r, v, &got), 0);
		assert_int_equal(got.topics_count, -1);
		assert_null(got.topics);
		metadata_request_free(&got);
		kw_free(&w);
	}
	/* An empty list from v1 on means no topic at all. */
	struct metadata_request none = {.topics = NULL, .topics_count = 0, .allow_auto_topic_creation = true};
	struct kwriter w;
	kw_init(&w, 16);
	metadata_request_encode(&w, 1, &none);
	struct kreader r;
	struct metadata_request got;
	kr_init(&r, w.buf, w.len);
	assert_int_equal(metadata_request_decode(&r, 1, &got), 0);
	assert_int_equal(got.topics_count, 0);
	metadata_request_free(&got);
	kw_free(&w);
}

static void metadata_response__roundtrip_all_versions(void **state)
{
	for (int16_t v = METADATA_MIN_VERSION; v <= METADATA_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		metadata_response_encode(&w, v, &sample_response);
		assert_int_equal(w.err, 0);

		struct kreader r;
		struct metadata_response got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(metadata_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		check_response(v, &sample_response, &got);

		kw_init(&w2, 16);
		metadata_response_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		metadata_response_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

/* Metadata v12 request for topic "t" by name (what `tern topics` sends). */
static const uint8_t request_v12_bytes[] = {
	0x02,                                           /* topics: 1 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* topic_id: none */
	0x02, 't',                                      /* name */
	0x00,                                           /* topic tags */
	0x00,                                           /* allow_auto_topic_creation */
	0x00,                                           /* include_topic_authorized_operations */
	0x00,                                           /* request tags */
};

/* Metadata v1 request for topic "t". */
static const uint8_t request_v1_bytes[] = {0, 0, 0, 1, 0, 1, 't'};

static void metadata_request__matches_kafka_layout(void **state)
{
	struct kreader r;
	struct metadata_request got;
	kr_init(&r, request_v12_bytes, sizeof request_v12_bytes);
	assert_int_equal(metadata_request_decode(&r, 12, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.topics_count, 1);
	assert_true(kstr_eq(got.topics[0].name, "t"));
	assert_false(got.allow_auto_topic_creation);
	struct kwriter w;
	kw_init(&w, 16);
	metadata_request_encode(&w, 12, &got);
	assert_int_equal(w.len, sizeof request_v12_bytes);
	assert_memory_equal(w.buf, request_v12_bytes, w.len);
	kw_free(&w);
	metadata_request_free(&got);

	kr_init(&r, request_v1_bytes, sizeof request_v1_bytes);
	assert_int_equal(metadata_request_decode(&r, 1, &got), 0);
	assert_int_equal(r.left, 0);
	assert_true(kstr_eq(got.topics[0].name, "t"));
	assert_true(got.allow_auto_topic_creation);
	metadata_request_free(&got);
}

/* Metadata v12 response: broker 0 at "h":9092, no rack, cluster "c",
 * controller 0, topic "t" (id 0x11..), one partition led by 0. */
static const uint8_t response_v12_bytes[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
	0x02,                   /* brokers: 1 */
	0x00, 0x00, 0x00, 0x00, /* node_id */
	0x02, 'h',              /* host */
	0x00, 0x00, 0x23, 0x84, /* port 9092 */
	0x00,                   /* rack: null */
	0x00,                   /* broker tags */
	0x02, 'c',              /* cluster_id */
	0x00, 0x00, 0x00, 0x00, /* controller_id */
	0x02,                   /* topics: 1 */
	0x00, 0x00,             /* error_code */
	0x02, 't',              /* name */
	0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
	0x00,                   /* is_internal */
	0x02,                   /* partitions: 1 */
	0x00, 0x00,             /* error_code */
	0x00, 0x00, 0x00, 0x00, /* partition_index */
	0x00, 0x00, 0x00, 0x00, /* leader_id */
	0x00, 0x00, 0x00, 0x03, /* leader_epoch */
	0x02, 0x00, 0x00, 0x00, 0x00, /* replica_nodes [0] */
	0x02, 0x00, 0x00, 0x00, 0x00, /* isr_nodes [0] */
	0x01,                   /* offline_replicas [] */
	0x00,                   /* partition tags */
	0x80, 0x00, 0x00, 0x00, /* topic_authorized_operations */
	0x00,                   /* topic tags */
	0x00,                   /* response tags */
};

static void metadata_response__v12_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct metadata_response got;
	kr_init(&r, response_v12_bytes, sizeof response_v12_bytes);
	assert_int_equal(metadata_response_decode(&r, 12, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.brokers_count, 1);
	assert_true(kstr_eq(got.brokers[0].host, "h"));
	assert_int_equal(got.brokers[0].port, 9092);
	assert_int_equal(got.brokers[0].rack.len, -1);
	assert_true(kstr_eq(got.cluster_id, "c"));
	assert_int_equal(got.topics_count, 1);
	assert_true(kstr_eq(got.topics[0].name, "t"));
	assert_int_equal(got.topics[0].topic_id[15], 0x11);
	assert_int_equal(got.topics[0].partitions[0].leader_epoch, 3);
	assert_int_equal(got.topics[0].partitions[0].isr_nodes_count, 1);
	assert_int_equal(got.topics[0].topic_authorized_operations, INT32_MIN);
	struct kwriter w;
	kw_init(&w, 16);
	metadata_response_encode(&w, 12, &got);
	assert_int_equal(w.len, sizeof response_v12_bytes);
	assert_memory_equal(w.buf, response_v12_bytes, w.len);
	kw_free(&w);
	metadata_response_free(&got);
}

static void metadata_response__v12_null_topic_name(void **state)
{
	struct metadata_response_topic t = {.error_code = 100, .name = KNULL, .topic_id = {9}};
	struct metadata_response resp = {.controller_id = -1, .topics = &t, .topics_count = 1};
	struct kwriter w;
	kw_init(&w, 16);
	metadata_response_encode(&w, 12, &resp);
	struct kreader r;
	struct metadata_response got;
	kr_init(&r, w.buf, w.len);
	assert_int_equal(metadata_response_decode(&r, 12, &got), 0);
	assert_int_equal(got.topics[0].name.len, -1);
	assert_int_equal(got.topics[0].topic_id[0], 9);
	metadata_response_free(&got);
	kw_free(&w);
	/* Before v12 a null name is not representable: it is written as "". */
	kw_init(&w, 16);
	metadata_response_encode(&w, 11, &resp);
	kr_init(&r, w.buf, w.len);
	assert_int_equal(metadata_response_decode(&r, 11, &got), 0);
	assert_int_equal(got.topics[0].name.len, 0);
	metadata_response_free(&got);
	kw_free(&w);
}

static void metadata__truncated_input_fails_everywhere(void **state)
{
	for (int16_t v = METADATA_MIN_VERSION; v <= METADATA_MAX_VERSION; v++) {
		struct kwriter wq, ws;
		kw_init(&wq, 16);
		kw_init(&ws, 16);
		metadata_request_encode(&wq, v, &sample_request);
		metadata_response_encode(&ws, v, &sample_response);
		for (size_t n = 0; n < wq.len; n++) {
			uint8_t *c = dup_exact(wq.buf, n);
			struct kreader r;
			struct metadata_request got;
			kr_init(&r, c, n);
			assert_int_equal(metadata_request_decode(&r, v, &got), -1);
			free(c);
		}
		for (size_t n = 0; n < ws.len; n++) {
			uint8_t *c = dup_exact(ws.buf, n);
			struct kreader r;
			struct metadata_response got;
			kr_init(&r, c, n);
			assert_int_equal(metadata_response_decode(&r, v, &got), -1);
			free(c);
		}
		kw_free(&wq);
		kw_free(&ws);
	}
}

static void metadata__bad_counts_fail_without_allocating(void **state)
{
	struct kreader r;
	struct metadata_request req;
	struct metadata_response resp;
	uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0};
	kr_init(&r, huge, sizeof huge);
	assert_int_equal(metadata_request_decode(&r, 1, &req), -1);
	uint8_t negative[] = {0xff, 0xff, 0xff, 0xf0, 0, 0};
	kr_init(&r, negative, sizeof negative);
	assert_int_equal(metadata_request_decode(&r, 1, &req), -1);
	/* v0 has no null list. */
	uint8_t null_v0[] = {0xff, 0xff, 0xff, 0xff};
	kr_init(&r, null_v0, sizeof null_v0);
	assert_int_equal(metadata_request_decode(&r, 0, &req), -1);
	/* Response: a huge broker count, then a huge replica count. */
	kr_init(&r, huge, sizeof huge);
	assert_int_equal(metadata_response_decode(&r, 0, &resp), -1);
	uint8_t b[sizeof response_v12_bytes];
	memcpy(b, response_v12_bytes, sizeof b);
	size_t replicas_at = 4 + 1 + 4 + 2 + 4 + 1 + 1 + 2 + 4 + 1 + 2 + 2 + 16 + 1 + 1 + 2 + 4 + 4 + 4;
	assert_int_equal(b[replicas_at], 0x02);
	b[replicas_at] = 0x7f;
	kr_init(&r, b, sizeof b);
	assert_int_equal(metadata_response_decode(&r, 12, &resp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(metadata_request__roundtrip_all_versions),
		cmocka_unit_test(metadata_request__all_topics_in_every_version),
		cmocka_unit_test(metadata_response__roundtrip_all_versions),
		cmocka_unit_test(metadata_request__matches_kafka_layout),
		cmocka_unit_test(metadata_response__v12_matches_kafka_layout),
		cmocka_unit_test(metadata_response__v12_null_topic_name),
		cmocka_unit_test(metadata__truncated_input_fails_everywhere),
		cmocka_unit_test(metadata__bad_counts_fail_without_allocating),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
