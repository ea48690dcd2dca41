#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/delete_topics.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define S(lit) ((struct kstr){(lit), (int32_t)(sizeof(lit) - 1)})
#define NULLSTR ((struct kstr){NULL, -1})

static const uint8_t zero_id[16];

static void assert_kstr_equal(struct kstr a, struct kstr b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.p, b.p, (size_t)a.len);
}

/* ---- fixtures ---- */

/* Before v6 topics are named only; v6 may name a topic by id alone. */
static struct delete_topics_topic topics_by_name[] = {
	{.name = S("orders")},
	{.name = S("")},
	{.name = S("events")},
};
static struct delete_topics_topic topics_v6[] = {
	{.name = S("orders"), .topic_id = {0}},
	{.name = NULLSTR, .topic_id = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
};

static struct delete_topics_request make_request(int16_t v)
{
	struct delete_topics_request req = {.timeout_ms = 15000};
	if (v >= 6) {
		req.topics = topics_v6;
		req.topics_count = 2;
	} else {
		req.topics = topics_by_name;
		req.topics_count = 3;
	}
	return req;
}

static struct delete_topics_topic_result results_by_name[] = {
	{.name = S("orders"), .error_code = 0, .error_message = NULLSTR},
	{.name = S("missing"), .error_code = 3, .error_message = S("unknown topic")},
};
static struct delete_topics_topic_result results_v6[] = {
	{.name = S("orders"), .topic_id = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, .error_code = 0,
	 .error_message = NULLSTR},
	{.name = NULLSTR, .topic_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, .error_code = 100,
	 .error_message = S("unknown topic id")},
};

static struct delete_topics_response make_response(int16_t v)
{
	struct delete_topics_response resp = {.throttle_time_ms = 42};
	resp.responses = v >= 6 ? results_v6 : results_by_name;
	resp.responses_count = 2;
	return resp;
}

/* ---- helpers ---- */

static uint8_t *encode_request(int16_t v, const struct delete_topics_request *req, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	delete_topics_request_encode(&w, v, req);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static uint8_t *encode_response(int16_t v, const struct delete_topics_response *resp, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	delete_topics_response_encode(&w, v, resp);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static int decode_request_bytes(int16_t v, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1); /* exact size: overreads trip ASan */
	memcpy(copy, buf, len);
	struct kreader r;
	struct delete_topics_request req;
	kr_init(&r, copy, len);
	int rc = delete_topics_request_decode(&r, v, &req);
	if (rc == 0)
		delete_topics_request_free(&req);
	else
		assert_int_not_equal(r.err, 0);
	free(copy);
	return rc;
}

static int decode_response_bytes(int16_t v, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	struct kreader r;
	struct delete_topics_response resp;
	kr_init(&r, copy, len);
	int rc = delete_topics_response_decode(&r, v, &resp);
	if (rc == 0)
		delete_topics_response_free(&resp);
	else
		assert_int_not_equal(r.err, 0);
	free(copy);
	return rc;
}

/* ---- round trips ---- */

static void delete_topics_request__roundtrips_every_version(void **state)
{
	for (int16_t v = 0; v <= DELETE_TOPICS_MAX_VERSION; v++) {
		struct delete_topics_request in = make_request(v);
		size_t len, len2;
		uint8_t *buf = encode_request(v, &in, &len);
		struct kreader r;
		struct delete_topics_request got;
		kr_init(&r, buf, len);
		assert_int_equal(delete_topics_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.timeout_ms, in.timeout_ms);
		assert_int_equal(got.topics_count, in.topics_count);
		for (int32_t i = 0; i < got.topics_count; i++) {
			assert_kstr_equal(got.topics[i].name, in.topics[i].name);
			assert_memory_equal(got.topics[i].topic_id, in.topics[i].topic_id, 16);
		}
		uint8_t *again = encode_request(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		delete_topics_request_free(&got);
		free(again);
		free(buf);
	}
}

static void delete_topics_request__v5_drops_ids(void **state)
{
	struct delete_topics_request in = {.topics = topics_v6, .topics_count = 1, .timeout_ms = 1};
	topics_v6[0].topic_id[0] = 7; /* an id is not part of the v5 layout */
	size_t len;
	uint8_t *buf = encode_request(5, &in, &len);
	topics_v6[0].topic_id[0] = 0;
	struct kreader r;
	struct delete_topics_request got;
	kr_init(&r, buf, len);
	assert_int_equal(delete_topics_request_decode(&r, 5, &got), 0);
	assert_true(kstr_eq(got.topics[0].name, "orders"));
	assert_memory_equal(got.topics[0].topic_id, zero_id, 16);
	delete_topics_request_free(&got);
	free(buf);
}

static void delete_topics_response__roundtrips_every_version(void **state)
{
	for (int16_t v = 0; v <= DELETE_TOPICS_MAX_VERSION; v++) {
		struct delete_topics_response in = make_response(v);
		size_t len, len2;
		uint8_t *buf = encode_response(v, &in, &len);
		struct kreader r;
		struct delete_topics_response got;
		kr_init(&r, buf, len);
		assert_int_equal(delete_topics_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.throttle_time_ms, v >= 1 ? in.throttle_time_ms : 0);
		assert_int_equal(got.responses_count, in.responses_count);
		for (int32_t i = 0; i < got.responses_count; i++) {
			const struct delete_topics_topic_result *x = &got.responses[i], *y = &in.responses[i];
			assert_kstr_equal(x->name, y->name);
			assert_memory_equal(x->topic_id, v >= 6 ? y->topic_id : zero_id, 16);
			assert_int_equal(x->error_code, y->error_code);
			assert_kstr_equal(x->error_message, v >= 5 ? y->error_message : NULLSTR);
		}
		uint8_t *again = encode_response(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		delete_topics_response_free(&got);
		free(again);
		free(buf);
	}
}

/* ---- hand-made vectors ---- */

static void delete_topics_request__v1_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x02,       /* topic_names: 2 */
		0x00, 0x01, 'a',              /* "a" */
		0x00, 0x02, 'b', 'c',         /* "bc" */
		0x00, 0x00, 0x27, 0x10,       /* timeout_ms 10000 */
	};
	struct kreader r;
	struct delete_topics_request req;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(delete_topics_request_decode(&r, 1, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.topics_count, 2);
	assert_true(kstr_eq(req.topics[0].name, "a"));
	assert_true(kstr_eq(req.topics[1].name, "bc"));
	assert_int_equal(req.timeout_ms, 10000);

	size_t len;
	uint8_t *out = encode_request(1, &req, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	delete_topics_request_free(&req);
}

static void delete_topics_request__v6_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x03,                                           /* topics: compact 2 */
		0x00,                                           /* name null */
		0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, /* topic_id */
		0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
		0x00,                                           /* tags */
		0x02, 'x',                                      /* name "x" */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* topic_id zero */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00,                                           /* tags */
		0x00, 0x00, 0x03, 0xe8,                         /* timeout_ms 1000 */
		0x00,                                           /* tags */
	};
	struct kreader r;
	struct delete_topics_request req;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(delete_topics_request_decode(&r, 6, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.topics_count, 2);
	assert_int_equal(req.topics[0].name.len, -1);
	assert_int_equal(req.topics[0].topic_id[0], 0x10);
	assert_int_equal(req.topics[0].topic_id[15], 0x1f);
	assert_true(kstr_eq(req.topics[1].name, "x"));
	assert_memory_equal(req.topics[1].topic_id, zero_id, 16);
	assert_int_equal(req.timeout_ms, 1000);

	size_t len;
	uint8_t *out = encode_request(6, &req, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	delete_topics_request_free(&req);
}

static void delete_topics_response__v4_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x05, /* throttle_time_ms */
		0x02,                   /* responses: compact 1 */
		0x02, 'a',              /* name */
		0x00, 0x03,             /* error_code UNKNOWN_TOPIC_OR_PARTITION */
		0x00,                   /* tags */
		0x00,                   /* tags */
	};
	struct kreader r;
	struct delete_topics_response resp;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(delete_topics_response_decode(&r, 4, &resp), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(resp.throttle_time_ms, 5);
	assert_int_equal(resp.responses_count, 1);
	assert_true(kstr_eq(resp.responses[0].name, "a"));
	assert_int_equal(resp.responses[0].error_code, 3);
	assert_int_equal(resp.responses[0].error_message.len, -1);

	size_t len;
	uint8_t *out = encode_response(4, &resp, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	delete_topics_response_free(&resp);
}

/* ---- malformed input ---- */

static void delete_topics__truncated_input_fails_at_every_byte(void **state)
{
	for (int16_t v = 0; v <= DELETE_TOPICS_MAX_VERSION; v++) {
		struct delete_topics_request req = make_request(v);
		struct delete_topics_response resp = make_response(v);
		size_t len;
		uint8_t *buf = encode_request(v, &req, &len);
		assert_int_equal(decode_request_bytes(v, buf, len), 0);
		for (size_t n = 0; n < len; n++)
			assert_int_equal(decode_request_bytes(v, buf, n), -1);
		free(buf);

		buf = encode_response(v, &resp, &len);
		assert_int_equal(decode_response_bytes(v, buf, len), 0);
		for (size_t n = 0; n < len; n++)
			assert_int_equal(decode_response_bytes(v, buf, n), -1);
		free(buf);
	}
}

static void delete_topics__bad_array_counts_fail_without_allocating(void **state)
{
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 'a', 0, 0, 0, 0};
	static const uint8_t neg[] = {0x80, 0x00, 0x00, 0x00, 0, 0, 0, 0};
	static const uint8_t null[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(1, huge, sizeof huge), -1);
	assert_int_equal(decode_request_bytes(1, neg, sizeof neg), -1);
	assert_int_equal(decode_request_bytes(1, null, sizeof null), -1);

	static const uint8_t cbig[] = {0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(6, cbig, sizeof cbig), -1);
	static const uint8_t cnull[] = {0x00, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(6, cnull, sizeof cnull), -1);
	/* Before v6 a topic name cannot be null. */
	static const uint8_t nullname[] = {0x02, 0x00, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(5, nullname, sizeof nullname), -1);

	static const uint8_t rhuge[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0};
	assert_int_equal(decode_response_bytes(1, rhuge, sizeof rhuge), -1);
}

static void delete_topics__rejects_unknown_version(void **state)
{
	static const uint8_t wire[] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(DELETE_TOPICS_MAX_VERSION + 1, wire, sizeof wire), -1);
	assert_int_equal(decode_response_bytes(-1, wire, sizeof wire), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delete_topics_request__roundtrips_every_version),
		cmocka_unit_test(delete_topics_request__v5_drops_ids),
		cmocka_unit_test(delete_topics_response__roundtrips_every_version),
		cmocka_unit_test(delete_topics_request__v1_matches_kafka_layout),
		cmocka_unit_test(delete_topics_request__v6_matches_kafka_layout),
		cmocka_unit_test(delete_topics_response__v4_matches_kafka_layout),
		cmocka_unit_test(delete_topics__truncated_input_fails_at_every_byte),
		cmocka_unit_test(delete_topics__bad_array_counts_fail_without_allocating),
		cmocka_unit_test(delete_topics__rejects_unknown_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
