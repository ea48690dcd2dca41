#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/create_partitions.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

#define S(lit) ((struct kstr){(lit), (int32_t)(sizeof(lit) - 1)})
#define NULLSTR ((struct kstr){NULL, -1})

static void assert_kstr_equal(struct kstr a, struct kstr b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.p, b.p, (size_t)a.len);
}

/* ---- fixtures: non-default values in every field ---- */

static int32_t ids_a[] = {2, 0, 1};
static int32_t ids_b[] = {1};
static struct create_partitions_assignment assignments[] = {
	{.broker_ids = ids_a, .broker_ids_count = 3},
	{.broker_ids = ids_b, .broker_ids_count = 1},
	{.broker_ids = NULL, .broker_ids_count = 0},
};
static struct create_partitions_topic topics[] = {
	{.name = S("orders"), .count = 6, .assignments = assignments, .assignments_count = 3},
	{.name = S("events"), .count = 4, .assignments = NULL, .assignments_count = -1},
};
static const struct create_partitions_request request = {
	.topics = topics,
	.topics_count = 2,
	.timeout_ms = 25000,
	.validate_only = true,
};

static struct create_partitions_topic_result results[] = {
	{.name = S("orders"), .error_code = 0, .error_message = NULLSTR},
	{.name = S("events"), .error_code = 37, .error_message = S("invalid partitions")},
};
static const struct create_partitions_response response = {
	.throttle_time_ms = 9,
	.results = results,
	.results_count = 2,
};

/* ---- helpers ---- */

static uint8_t *encode_request(int16_t v, const struct create_partitions_request *req, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	create_partitions_request_encode(&w, v, req);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static uint8_t *encode_response(int16_t v, const struct create_partitions_response *resp, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	create_partitions_response_encode(&w, v, resp);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static int decode_request_bytes(int16_t v, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1); /* exact size: overreads trip ASan */
	memcpy(copy, buf, len);
	struct kreader r;
	struct create_partitions_request req;
	kr_init(&r, copy, len);
	int rc = create_partitions_request_decode(&r, v, &req);
	if (rc == 0)
		create_partitions_request_free(&req);
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
	struct create_partitions_response resp;
	kr_init(&r, copy, len);
	int rc = create_partitions_response_decode(&r, v, &resp);
	if (rc == 0)
		create_partitions_response_free(&resp);
	else
		assert_int_not_equal(r.err, 0);
	free(copy);
	return rc;
}

/* ---- round trips ---- */

static void create_partitions_request__roundtrips_every_version(void **state)
{
	for (int16_t v = CREATE_PARTITIONS_MIN_VERSION; v <= CREATE_PARTITIONS_MAX_VERSION; v++) {
		size_t len, len2;
		uint8_t *buf = encode_request(v, &request, &len);
		struct kreader r;
		struct create_partitions_request got;
		kr_init(&r, buf, len);
		assert_int_equal(create_partitions_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.topics_count, request.topics_count);
		for (int32_t i = 0; i < got.topics_count; i++) {
			const struct create_partitions_topic *x = &got.topics[i], *y = &request.topics[i];
			assert_kstr_equal(x->name, y->name);
			assert_int_equal(x->count, y->count);
			assert_int_equal(x->assignments_count, y->assignments_count);
			for (int32_t j = 0; j < x->assignments_count; j++) {
				assert_int_equal(x->assignments[j].broker_ids_count, y->assignments[j].broker_ids_count);
				for (int32_t k = 0; k < x->assignments[j].broker_ids_count; k++)
					assert_int_equal(x->assignments[j].broker_ids[k], y->assignments[j].broker_ids[k]);
			}
		}
		assert_int_equal(got.timeout_ms, request.timeout_ms);
		assert_int_equal(got.validate_only, request.validate_only);
		uint8_t *again = encode_request(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		create_partitions_request_free(&got);
		free(again);
		free(buf);
	}
}

static void create_partitions_response__roundtrips_every_version(void **state)
{
	for (int16_t v = CREATE_PARTITIONS_MIN_VERSION; v <= CREATE_PARTITIONS_MAX_VERSION; v++) {
		size_t len, len2;
		uint8_t *buf = encode_response(v, &response, &len);
		struct kreader r;
		struct create_partitions_response got;
		kr_init(&r, buf, len);
		assert_int_equal(create_partitions_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.throttle_time_ms, response.throttle_time_ms);
		assert_int_equal(got.results_count, response.results_count);
		for (int32_t i = 0; i < got.results_count; i++) {
			assert_kstr_equal(got.results[i].name, response.results[i].name);
			assert_int_equal(got.results[i].error_code, response.results[i].error_code);
			assert_kstr_equal(got.results[i].error_message, response.results[i].error_message);
		}
		uint8_t *again = encode_response(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		create_partitions_response_free(&got);
		free(again);
		free(buf);
	}
}

/* ---- hand-made vectors ---- */

static void create_partitions_request__v1_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x01, /* topics: 1 */
		0x00, 0x01, 't',        /* name */
		0x00, 0x00, 0x00, 0x03, /* count */
		0x00, 0x00, 0x00, 0x01, /* assignments: 1 */
		0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x05, /* [4, 5] */
		0x00, 0x00, 0x13, 0x88, /* timeout_ms 5000 */
		0x00,                   /* validate_only */
	};
	struct kreader r;
	struct create_partitions_request req;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(create_partitions_request_decode(&r, 1, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.topics_count, 1);
	assert_true(kstr_eq(req.topics[0].name, "t"));
	assert_int_equal(req.topics[0].count, 3);
	assert_int_equal(req.topics[0].assignments_count, 1);
	assert_int_equal(req.topics[0].assignments[0].broker_ids_count, 2);
	assert_int_equal(req.topics[0].assignments[0].broker_ids[0], 4);
	assert_int_equal(req.topics[0].assignments[0].broker_ids[1], 5);
	assert_int_equal(req.timeout_ms, 5000);
	assert_false(req.validate_only);

	size_t len;
	uint8_t *out = encode_request(1, &req, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	create_partitions_request_free(&req);
}

static void create_partitions_request__v3_null_assignments(void **state)
{
	static const uint8_t wire[] = {
		0x02,                   /* topics: compact 1 */
		0x02, 't',              /* name */
		0x00, 0x00, 0x00, 0x08, /* count */
		0x00,                   /* assignments: null */
		0x00,                   /* topic tags */
		0x00, 0x00, 0x13, 0x88, /* timeout_ms 5000 */
		0x01,                   /* validate_only */
		0x00,                   /* tags */
	};
	struct kreader r;
	struct create_partitions_request req;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(create_partitions_request_decode(&r, 3, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.topics[0].count, 8);
	assert_int_equal(req.topics[0].assignments_count, -1);
	assert_null(req.topics[0].assignments);
	assert_true(req.validate_only);

	size_t len;
	uint8_t *out = encode_request(3, &req, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	create_partitions_request_free(&req);
}

static void create_partitions_response__v0_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
		0x00, 0x00, 0x00, 0x01, /* results: 1 */
		0x00, 0x01, 't',        /* name */
		0x00, 0x25,             /* error_code INVALID_PARTITIONS */
		0x00, 0x02, 'n', 'o',   /* error_message */
	};
	struct kreader r;
	struct create_partitions_response resp;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(create_partitions_response_decode(&r, 0, &resp), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(resp.results_count, 1);
	assert_int_equal(resp.results[0].error_code, 37);
	assert_true(kstr_eq(resp.results[0].error_message, "no"));

	size_t len;
	uint8_t *out = encode_response(0, &resp, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	create_partitions_response_free(&resp);
}

/* ---- malformed input ---- */

static void create_partitions__truncated_input_fails_at_every_byte(void **state)
{
	for (int16_t v = CREATE_PARTITIONS_MIN_VERSION; v <= CREATE_PARTITIONS_MAX_VERSION; v++) {
		size_t len;
		uint8_t *buf = encode_request(v, &request, &len);
		assert_int_equal(decode_request_bytes(v, buf, len), 0);
		for (size_t n = 0; n < len; n++)
			assert_int_equal(decode_request_bytes(v, buf, n), -1);
		free(buf);

		buf = encode_response(v, &response, &len);
		assert_int_equal(decode_response_bytes(v, buf, len), 0);
		for (size_t n = 0; n < len; n++)
			assert_int_equal(decode_response_bytes(v, buf, n), -1);
		free(buf);
	}
}

static void create_partitions__bad_array_counts_fail_without_allocating(void **state)
{
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 't', 0, 0, 0, 1, 0, 0, 0, 0};
	static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfd, 0, 0, 0, 0, 0};
	static const uint8_t null[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(0, huge, sizeof huge), -1);
	assert_int_equal(decode_request_bytes(0, neg, sizeof neg), -1);
	assert_int_equal(decode_request_bytes(0, null, sizeof null), -1);

	/* broker_ids cannot be null, nor larger than what is left. */
	static const uint8_t ids_null[] = {
		0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0,
	};
	assert_int_equal(decode_request_bytes(0, ids_null, sizeof ids_null), -1);
	static const uint8_t ids_huge[] = {
		0x02, 0x02, 't', 0, 0, 0, 2, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	assert_int_equal(decode_request_bytes(2, ids_huge, sizeof ids_huge), -1);

	static const uint8_t rhuge[] = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0};
	assert_int_equal(decode_response_bytes(2, rhuge, sizeof rhuge), -1);
}

static void create_partitions__rejects_unknown_version(void **state)
{
	static const uint8_t wire[] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(CREATE_PARTITIONS_MAX_VERSION + 1, wire, sizeof wire), -1);
	assert_int_equal(decode_response_bytes(-1, wire, sizeof wire), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_partitions_request__roundtrips_every_version),
		cmocka_unit_test(create_partitions_response__roundtrips_every_version),
		cmocka_unit_test(create_partitions_request__v1_matches_kafka_layout),
		cmocka_unit_test(create_partitions_request__v3_null_assignments),
		cmocka_unit_test(create_partitions_response__v0_matches_kafka_layout),
		cmocka_unit_test(create_partitions__truncated_input_fails_at_every_byte),
		cmocka_unit_test(create_partitions__bad_array_counts_fail_without_allocating),
		cmocka_unit_test(create_partitions__rejects_unknown_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
