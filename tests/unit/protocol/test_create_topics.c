#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/create_topics.h"
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

static int32_t ids_a[] = {1, 2, 3};
static int32_t ids_b[] = {3, 1};
static struct create_topics_assignment assignments[] = {
	{.partition_index = 0, .broker_ids = ids_a, .broker_ids_count = 3},
	{.partition_index = 1, .broker_ids = ids_b, .broker_ids_count = 2},
};
static struct create_topics_config configs[] = {
	{.name = S("cleanup.policy"), .value = S("compact")},
	{.name = S("retention.ms"), .value = NULLSTR},
};
static struct create_topics_topic topics[] = {
	{.name = S("orders"),
	 .num_partitions = -1,
	 .replication_factor = -1,
	 .assignments = assignments,
	 .assignments_count = 2,
	 .configs = configs,
	 .configs_count = 2},
	{.name = S("events"), .num_partitions = 12, .replication_factor = 3},
};
static const struct create_topics_request request = {
	.topics = topics,
	.topics_count = 2,
	.timeout_ms = 12345,
	.validate_only = true,
};

static struct create_topics_result_config result_configs[] = {
	{.name = S("min.insync.replicas"), .value = S("2"), .read_only = true, .config_source = 5,
	 .is_sensitive = false},
	{.name = S("sasl.password"), .value = NULLSTR, .read_only = false, .config_source = 1,
	 .is_sensitive = true},
};
static struct create_topics_topic_result results[] = {
	{.name = S("orders"),
	 .topic_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
	 .error_code = 0,
	 .error_message = NULLSTR,
	 .topic_config_error_code = 29,
	 .num_partitions = 2,
	 .replication_factor = 3,
	 .configs = result_configs,
	 .configs_count = 2},
	{.name = S("bad topic"),
	 .error_code = 17,
	 .error_message = S("invalid name"),
	 .num_partitions = 7,
	 .replication_factor = 1,
	 .configs = NULL,
	 .configs_count = -1},
};
static const struct create_topics_response response = {
	.throttle_time_ms = 77,
	.topics = results,
	.topics_count = 2,
};

/* ---- helpers ---- */

static uint8_t *encode_request(int16_t v, const struct create_topics_request *req, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	create_topics_request_encode(&w, v, req);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static uint8_t *encode_response(int16_t v, const struct create_topics_response *resp, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	create_topics_response_encode(&w, v, resp);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static int decode_request_bytes(int16_t v, const uint8_t *buf, size_t len)
{
	/* An exact-size copy, so a read past the end is an ASan error. */
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	struct kreader r;
	struct create_topics_request req;
	kr_init(&r, copy, len);
	int rc = create_topics_request_decode(&r, v, &req);
	if (rc == 0)
		create_topics_request_free(&req);
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
	struct create_topics_response resp;
	kr_init(&r, copy, len);
	int rc = create_topics_response_decode(&r, v, &resp);
	if (rc == 0)
		create_topics_response_free(&resp);
	else
		assert_int_not_equal(r.err, 0);
	free(copy);
	return rc;
}

static void assert_request_equal(int16_t v, const struct create_topics_request *a,
				 const struct create_topics_request *b)
{
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		const struct create_topics_topic *x = &a->topics[i], *y = &b->topics[i];
		assert_kstr_equal(x->name, y->name);
		assert_int_equal(x->num_partitions, y->num_partitions);
		assert_int_equal(x->replication_factor, y->replication_factor);
		assert_int_equal(x->assignments_count, y->assignments_count);
		for (int32_t j = 0; j < x->assignments_count; j++) {
			assert_int_equal(x->assignments[j].partition_index, y->assignments[j].partition_index);
			assert_int_equal(x->assignments[j].broker_ids_count, y->assignments[j].broker_ids_count);
			for (int32_t k = 0; k < x->assignments[j].broker_ids_count; k++)
				assert_int_equal(x->assignments[j].broker_ids[k], y->assignments[j].broker_ids[k]);
		}
		assert_int_equal(x->configs_count, y->configs_count);
		for (int32_t j = 0; j < x->configs_count; j++) {
			assert_kstr_equal(x->configs[j].name, y->configs[j].name);
			assert_kstr_equal(x->configs[j].value, y->configs[j].value);
		}
	}
	assert_int_equal(a->timeout_ms, b->timeout_ms);
	assert_int_equal(a->validate_only, v >= 1 ? b->validate_only : false);
}

static void assert_response_equal(int16_t v, const struct create_topics_response *a,
				  const struct create_topics_response *b)
{
	static const uint8_t zero_id[16];
	assert_int_equal(a->throttle_time_ms, v >= 2 ? b->throttle_time_ms : 0);
	assert_int_equal(a->topics_count, b->topics_count);
	for (int32_t i = 0; i < a->topics_count; i++) {
		const struct create_topics_topic_result *x = &a->topics[i], *y = &b->topics[i];
		assert_kstr_equal(x->name, y->name);
		assert_memory_equal(x->topic_id, v >= 7 ? y->topic_id : zero_id, 16);
		assert_int_equal(x->error_code, y->error_code);
		if (v >= 1)
			assert_kstr_equal(x->error_message, y->error_message);
		else
			assert_kstr_equal(x->error_message, S(""));
		if (v < 5) {
			assert_int_equal(x->topic_config_error_code, 0);
			assert_int_equal(x->num_partitions, -1);
			assert_int_equal(x->replication_factor, -1);
			assert_int_equal(x->configs_count, 0);
			continue;
		}
		assert_int_equal(x->topic_config_error_code, y->topic_config_error_code);
		assert_int_equal(x->num_partitions, y->num_partitions);
		assert_int_equal(x->replication_factor, y->replication_factor);
		assert_int_equal(x->configs_count, y->configs_count);
		for (int32_t j = 0; j < x->configs_count; j++) {
			const struct create_topics_result_config *c = &x->configs[j], *d = &y->configs[j];
			assert_kstr_equal(c->name, d->name);
			assert_kstr_equal(c->value, d->value);
			assert_int_equal(c->read_only, d->read_only);
			assert_int_equal(c->config_source, d->config_source);
			assert_int_equal(c->is_sensitive, d->is_sensitive);
		}
	}
}

/* ---- round trips ---- */

static void create_topics_request__roundtrips_every_version(void **state)
{
	for (int16_t v = 0; v <= CREATE_TOPICS_MAX_VERSION; v++) {
		size_t len, len2;
		uint8_t *buf = encode_request(v, &request, &len);
		struct kreader r;
		struct create_topics_request got;
		kr_init(&r, buf, len);
		assert_int_equal(create_topics_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_request_equal(v, &got, &request);
		uint8_t *again = encode_request(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		create_topics_request_free(&got);
		assert_null(got.topics);
		free(again);
		free(buf);
	}
}

static void create_topics_response__roundtrips_every_version(void **state)
{
	for (int16_t v = 0; v <= CREATE_TOPICS_MAX_VERSION; v++) {
		size_t len, len2;
		uint8_t *buf = encode_response(v, &response, &len);
		struct kreader r;
		struct create_topics_response got;
		kr_init(&r, buf, len);
		assert_int_equal(create_topics_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_response_equal(v, &got, &response);
		uint8_t *again = encode_response(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		create_topics_response_free(&got);
		free(again);
		free(buf);
	}
}

/* ---- hand-made vectors ---- */

static void create_topics_request__v2_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x01,                    /* topics: 1 */
		0x00, 0x03, 'f', 'o', 'o',                 /* name */
		0x00, 0x00, 0x00, 0x03,                    /* num_partitions */
		0x00, 0x02,                                /* replication_factor */
		0x00, 0x00, 0x00, 0x00,                    /* assignments: 0 */
		0x00, 0x00, 0x00, 0x01,                    /* configs: 1 */
		0x00, 0x0e, 'c', 'l', 'e', 'a', 'n', 'u', 'p', '.', 'p', 'o', 'l', 'i', 'c', 'y',
		0x00, 0x07, 'c', 'o', 'm', 'p', 'a', 'c', 't',
		0x00, 0x00, 0x75, 0x30,                    /* timeout_ms 30000 */
		0x01,                                      /* validate_only */
	};
	struct kreader r;
	struct create_topics_request req;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(create_topics_request_decode(&r, 2, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.topics_count, 1);
	assert_true(kstr_eq(req.topics[0].name, "foo"));
	assert_int_equal(req.topics[0].num_partitions, 3);
	assert_int_equal(req.topics[0].replication_factor, 2);
	assert_int_equal(req.topics[0].assignments_count, 0);
	assert_int_equal(req.topics[0].configs_count, 1);
	assert_true(kstr_eq(req.topics[0].configs[0].name, "cleanup.policy"));
	assert_true(kstr_eq(req.topics[0].configs[0].value, "compact"));
	assert_int_equal(req.timeout_ms, 30000);
	assert_true(req.validate_only);

	size_t len;
	uint8_t *out = encode_request(2, &req, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	create_topics_request_free(&req);
}

static void create_topics_request__v5_skips_unknown_tags(void **state)
{
	static const uint8_t wire[] = {
		0x02,                         /* topics: compact 1 */
		0x04, 'f', 'o', 'o',          /* name */
		0xff, 0xff, 0xff, 0xff,       /* num_partitions -1 */
		0xff, 0xff,                   /* replication_factor -1 */
		0x02,                         /* assignments: 1 */
		0x00, 0x00, 0x00, 0x00,       /* partition_index 0 */
		0x03, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x06, /* broker_ids [5, 6] */
		0x00,                         /* assignment tags */
		0x01,                         /* configs: 0 */
		0x01, 0x07, 0x02, 0xab, 0xcd, /* topic tags: tag 7, 2 bytes */
		0x00, 0x00, 0x03, 0xe8,       /* timeout_ms 1000 */
		0x00,                         /* validate_only */
		0x00,                         /* tags */
	};
	struct kreader r;
	struct create_topics_request req;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(create_topics_request_decode(&r, 5, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.topics_count, 1);
	assert_int_equal(req.topics[0].num_partitions, -1);
	assert_int_equal(req.topics[0].assignments_count, 1);
	assert_int_equal(req.topics[0].assignments[0].broker_ids_count, 2);
	assert_int_equal(req.topics[0].assignments[0].broker_ids[1], 6);
	assert_int_equal(req.timeout_ms, 1000);
	assert_false(req.validate_only);
	create_topics_request_free(&req);
}

static void create_topics_response__v5_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x00,       /* throttle_time_ms */
		0x02,                         /* topics: compact 1 */
		0x04, 'f', 'o', 'o',          /* name */
		0x00, 0x00,                   /* error_code */
		0x00,                         /* error_message null */
		0x00, 0x00, 0x00, 0x03,       /* num_partitions */
		0x00, 0x01,                   /* replication_factor */
		0x02,                         /* configs: 1 */
		0x02, 'a',                    /* name */
		0x00,                         /* value null */
		0x01, 0x05, 0x00,             /* read_only, config_source 5, is_sensitive */
		0x00,                         /* config tags */
		0x01, 0x00, 0x02, 0x00, 0x1d, /* tags: TopicConfigErrorCode = 29 */
		0x00,                         /* tags */
	};
	struct kreader r;
	struct create_topics_response resp;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(create_topics_response_decode(&r, 5, &resp), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(resp.topics_count, 1);
	assert_true(kstr_eq(resp.topics[0].name, "foo"));
	assert_int_equal(resp.topics[0].error_message.len, -1);
	assert_int_equal(resp.topics[0].num_partitions, 3);
	assert_int_equal(resp.topics[0].replication_factor, 1);
	assert_int_equal(resp.topics[0].topic_config_error_code, 29);
	assert_int_equal(resp.topics[0].configs_count, 1);
	assert_true(resp.topics[0].configs[0].read_only);
	assert_int_equal(resp.topics[0].configs[0].config_source, 5);
	assert_int_equal(resp.topics[0].configs[0].value.len, -1);

	size_t len;
	uint8_t *out = encode_response(5, &resp, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	create_topics_response_free(&resp);
}

/* ---- malformed input ---- */

static void create_topics__truncated_input_fails_at_every_byte(void **state)
{
	for (int16_t v = 0; v <= CREATE_TOPICS_MAX_VERSION; v++) {
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

static void create_topics__bad_array_counts_fail_without_allocating(void **state)
{
	/* Classic: huge, negative, and null topic counts. */
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 0, 0};
	static const uint8_t null[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(2, huge, sizeof huge), -1);
	assert_int_equal(decode_request_bytes(2, neg, sizeof neg), -1);
	assert_int_equal(decode_request_bytes(2, null, sizeof null), -1);

	/* Flexible: a 5-byte uvarint count near UINT32_MAX. */
	static const uint8_t cbig[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(5, cbig, sizeof cbig), -1);

	/* A nested count (broker_ids) that cannot fit in what is left. */
	static const uint8_t nested[] = {
		0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 'a', 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x01,       /* assignments: 1 */
		0x00, 0x00, 0x00, 0x00,       /* partition_index */
		0x10, 0x00, 0x00, 0x00,       /* broker_ids: 268435456 */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	assert_int_equal(decode_request_bytes(2, nested, sizeof nested), -1);

	/* Response: huge topics count, negative configs count (only -1 means null). */
	static const uint8_t rhuge[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0};
	assert_int_equal(decode_response_bytes(2, rhuge, sizeof rhuge), -1);
	static const uint8_t rneg[] = {
		0, 0, 0, 0, 0x02, 0x02, 'a', 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
		0xff, 0xff, 0xff, 0xff, 0x0f, /* configs: uvarint 0xffffffff -> count 0xfffffffe */
		0x00, 0x00,
	};
	assert_int_equal(decode_response_bytes(5, rneg, sizeof rneg), -1);
}

static void create_topics__rejects_unknown_version(void **state)
{
	static const uint8_t wire[] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(CREATE_TOPICS_MAX_VERSION + 1, wire, sizeof wire), -1);
	assert_int_equal(decode_response_bytes(-1, wire, sizeof wire), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_topics_request__roundtrips_every_version),
		cmocka_unit_test(create_topics_response__roundtrips_every_version),
		cmocka_unit_test(create_topics_request__v2_matches_kafka_layout),
		cmocka_unit_test(create_topics_request__v5_skips_unknown_tags),
		cmocka_unit_test(create_topics_response__v5_matches_kafka_layout),
		cmocka_unit_test(create_topics__truncated_input_fails_at_every_byte),
		cmocka_unit_test(create_topics__bad_array_counts_fail_without_allocating),
		cmocka_unit_test(create_topics__rejects_unknown_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
