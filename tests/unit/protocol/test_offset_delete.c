/* Unit tests of broker/protocol/offset_delete.c (OffsetDelete, API key 47). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/offset_delete.h"
#include "protocol/codec_test.h"

static void offset_delete_request__round_trips(void **state)
{
	(void)state;
	int32_t p0[] = {0, 2, 1}, p1[] = {7};
	struct offset_delete_request_topic topics[] = {
		{KS("orders"), p0, 3},
		{KS("events"), p1, 1},
		{KS("empty"), NULL, 0},
	};
	struct offset_delete_request in = {.group_id = KS("orders-app"), .topics = topics, .topics_count = 3};
	ROUNDTRIP(offset_delete_request, offset_delete_request, 0, &in, {
		assert_true(ks_eq(out.group_id, KS("orders-app")));
		assert_int_equal(out.topics_count, 3);
		assert_true(ks_eq(out.topics[1].name, KS("events")));
		assert_int_equal(out.topics[0].partitions_count, 3);
		assert_int_equal(out.topics[0].partitions[1], 2);
		assert_int_equal(out.topics[1].partitions[0], 7);
		assert_int_equal(out.topics[2].partitions_count, 0);
	});
	struct offset_delete_request none = {.group_id = KS("g")};
	ROUNDTRIP(offset_delete_request, offset_delete_request, 0, &none,
		  { assert_int_equal(out.topics_count, 0); });
}

static void offset_delete_response__round_trips(void **state)
{
	(void)state;
	struct offset_delete_response_partition p0[] = {{0, 0}, {1, 86}}; /* GROUP_SUBSCRIBED_TO_TOPIC */
	struct offset_delete_response_partition p1[] = {{3, 3}};         /* UNKNOWN_TOPIC_OR_PARTITION */
	struct offset_delete_response_topic topics[] = {{KS("orders"), p0, 2}, {KS("gone"), p1, 1}};
	struct offset_delete_response in = {.error_code = 0, .throttle_time_ms = 5, .topics = topics,
					    .topics_count = 2};
	ROUNDTRIP(offset_delete_response, offset_delete_response, 0, &in, {
		assert_int_equal(out.error_code, 0);
		assert_int_equal(out.throttle_time_ms, 5);
		assert_int_equal(out.topics_count, 2);
		assert_int_equal(out.topics[0].partitions[1].partition_index, 1);
		assert_int_equal(out.topics[0].partitions[1].error_code, 86);
		assert_true(ks_eq(out.topics[1].name, KS("gone")));
	});
	/* A group-level error (NON_EMPTY_GROUP) with no topics. */
	struct offset_delete_response err = {.error_code = 68};
	ROUNDTRIP(offset_delete_response, offset_delete_response, 0, &err,
		  { assert_int_equal(out.error_code, 68); });
}

/* The bytes of OffsetDeleteRequest.json / OffsetDeleteResponse.json v0. */
static void offset_delete__exact_bytes(void **state)
{
	(void)state;
	int32_t parts[] = {1, 258};
	struct offset_delete_request_topic t = {KS("t"), parts, 2};
	struct offset_delete_request req = {.group_id = KS("g"), .topics = &t, .topics_count = 1};
	static const uint8_t want_req[] = {0, 1, 'g', 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 2};
	struct kwriter w;
	kw_init(&w, 8);
	offset_delete_request_encode(&w, 0, &req);
	assert_int_equal(w.len, sizeof want_req);
	assert_memory_equal(w.buf, want_req, sizeof want_req);
	kw_free(&w);

	struct offset_delete_response_partition rp = {2, 86};
	struct offset_delete_response_topic rt = {KS("t"), &rp, 1};
	struct offset_delete_response resp = {.error_code = 0, .throttle_time_ms = 3, .topics = &rt, .topics_count = 1};
	static const uint8_t want_resp[] = {0, 0, 0, 0, 0, 3, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 2, 0, 86};
	kw_init(&w, 8);
	offset_delete_response_encode(&w, 0, &resp);
	assert_int_equal(w.len, sizeof want_resp);
	assert_memory_equal(w.buf, want_resp, sizeof want_resp);
	kw_free(&w);
}

/* Counts larger than the bytes left are refused before any allocation;
 * null arrays and strings are malformed; only v0 exists. */
static void offset_delete__rejects_malformed(void **state)
{
	(void)state;
	struct kreader r;
	struct offset_delete_request rq;
	struct offset_delete_response rs;

	static const uint8_t huge_topics[] = {0, 1, 'g', 0x7f, 0xff, 0xff, 0xff, 0, 1, 't', 0, 0, 0, 0};
	kr_init(&r, huge_topics, sizeof huge_topics);
	assert_int_equal(offset_delete_request_decode(&r, 0, &rq), -1);
	assert_null(rq.topics);

	static const uint8_t huge_parts[] = {0, 1, 'g', 0, 0, 0, 1, 0, 1, 't', 0x40, 0, 0, 0, 0, 0, 0, 1};
	kr_init(&r, huge_parts, sizeof huge_parts);
	assert_int_equal(offset_delete_request_decode(&r, 0, &rq), -1);
	assert_null(rq.topics);
	assert_int_equal(rq.topics_count, 0);

	static const uint8_t null_topics[] = {0, 1, 'g', 0xff, 0xff, 0xff, 0xff};
	kr_init(&r, null_topics, sizeof null_topics);
	assert_int_equal(offset_delete_request_decode(&r, 0, &rq), -1);

	static const uint8_t null_group[] = {0xff, 0xff, 0, 0, 0, 0};
	kr_init(&r, null_group, sizeof null_group);
	assert_int_equal(offset_delete_request_decode(&r, 0, &rq), -1);

	static const uint8_t ok[] = {0, 1, 'g', 0, 0, 0, 0};
	kr_init(&r, ok, sizeof ok);
	assert_int_equal(offset_delete_request_decode(&r, 1, &rq), -1);
	kr_init(&r, ok, sizeof ok);
	assert_int_equal(offset_delete_request_decode(&r, 0, &rq), 0);
	offset_delete_request_free(&rq);

	/* Response: 1 topic claiming 2^30 partitions of 6 bytes each. */
	static const uint8_t huge_resp[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 't', 0x40, 0, 0, 0, 0, 0, 0, 1, 0, 0};
	kr_init(&r, huge_resp, sizeof huge_resp);
	assert_int_equal(offset_delete_response_decode(&r, 0, &rs), -1);
	assert_null(rs.topics);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offset_delete_request__round_trips),
		cmocka_unit_test(offset_delete_response__round_trips),
		cmocka_unit_test(offset_delete__exact_bytes),
		cmocka_unit_test(offset_delete__rejects_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
