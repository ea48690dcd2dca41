#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/describe_configs.h"
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

static struct kstr keys[] = {S("retention.ms"), S("cleanup.policy")};
static struct describe_configs_resource resources[] = {
	{.resource_type = DESCRIBE_CONFIGS_RESOURCE_TOPIC, .resource_name = S("orders"),
	 .configuration_keys = keys, .configuration_keys_count = 2},
	{.resource_type = DESCRIBE_CONFIGS_RESOURCE_BROKER, .resource_name = S("1"),
	 .configuration_keys = NULL, .configuration_keys_count = -1},
	{.resource_type = DESCRIBE_CONFIGS_RESOURCE_TOPIC, .resource_name = S("x"),
	 .configuration_keys = NULL, .configuration_keys_count = 0},
};
static const struct describe_configs_request request = {
	.resources = resources,
	.resources_count = 3,
	.include_synonyms = true,
	.include_documentation = true,
};

static struct describe_configs_synonym synonyms[] = {
	{.name = S("retention.ms"), .value = S("1000"), .source = DESCRIBE_CONFIGS_SOURCE_TOPIC_CONFIG},
	{.name = S("log.retention.ms"), .value = NULLSTR, .source = DESCRIBE_CONFIGS_SOURCE_DEFAULT_CONFIG},
};
static struct describe_configs_config configs[] = {
	{.name = S("retention.ms"),
	 .value = S("1000"),
	 .read_only = false,
	 .is_default = true,
	 .config_source = DESCRIBE_CONFIGS_SOURCE_TOPIC_CONFIG,
	 .is_sensitive = false,
	 .synonyms = synonyms,
	 .synonyms_count = 2,
	 .config_type = DESCRIBE_CONFIGS_TYPE_LONG,
	 .documentation = S("How long to keep a log segment.")},
	{.name = S("secret"),
	 .value = NULLSTR,
	 .read_only = true,
	 .config_source = DESCRIBE_CONFIGS_SOURCE_STATIC_BROKER_CONFIG,
	 .is_sensitive = true,
	 .config_type = DESCRIBE_CONFIGS_TYPE_PASSWORD,
	 .documentation = NULLSTR},
};
static struct describe_configs_result results[] = {
	{.error_code = 0, .error_message = NULLSTR, .resource_type = 2, .resource_name = S("orders"),
	 .configs = configs, .configs_count = 2},
	{.error_code = 29, .error_message = S("denied"), .resource_type = 2, .resource_name = S("hidden")},
};
static const struct describe_configs_response response = {
	.throttle_time_ms = 11,
	.results = results,
	.results_count = 2,
};

/* ---- helpers ---- */

static uint8_t *encode_request(int16_t v, const struct describe_configs_request *req, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	describe_configs_request_encode(&w, v, req);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static uint8_t *encode_response(int16_t v, const struct describe_configs_response *resp, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	describe_configs_response_encode(&w, v, resp);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static int decode_request_bytes(int16_t v, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1); /* exact size: overreads trip ASan */
	memcpy(copy, buf, len);
	struct kreader r;
	struct describe_configs_request req;
	kr_init(&r, copy, len);
	int rc = describe_configs_request_decode(&r, v, &req);
	if (rc == 0)
		describe_configs_request_free(&req);
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
	struct describe_configs_response resp;
	kr_init(&r, copy, len);
	int rc = describe_configs_response_decode(&r, v, &resp);
	if (rc == 0)
		describe_configs_response_free(&resp);
	else
		assert_int_not_equal(r.err, 0);
	free(copy);
	return rc;
}

static void assert_config_equal(int16_t v, const struct describe_configs_config *x,
				const struct describe_configs_config *y)
{
	assert_kstr_equal(x->name, y->name);
	assert_kstr_equal(x->value, y->value);
	assert_int_equal(x->read_only, y->read_only);
	assert_int_equal(x->is_sensitive, y->is_sensitive);
	if (v == 0) {
		assert_int_equal(x->is_default, y->is_default);
		assert_int_equal(x->config_source, -1);
		assert_int_equal(x->synonyms_count, 0);
	} else {
		assert_false(x->is_default);
		assert_int_equal(x->config_source, y->config_source);
		assert_int_equal(x->synonyms_count, y->synonyms_count);
		for (int32_t i = 0; i < x->synonyms_count; i++) {
			assert_kstr_equal(x->synonyms[i].name, y->synonyms[i].name);
			assert_kstr_equal(x->synonyms[i].value, y->synonyms[i].value);
			assert_int_equal(x->synonyms[i].source, y->synonyms[i].source);
		}
	}
	if (v >= 3) {
		assert_int_equal(x->config_type, y->config_type);
		assert_kstr_equal(x->documentation, y->documentation);
	} else {
		assert_int_equal(x->config_type, 0);
		assert_kstr_equal(x->documentation, S(""));
	}
}

/* ---- round trips ---- */

static void describe_configs_request__roundtrips_every_version(void **state)
{
	for (int16_t v = 0; v <= DESCRIBE_CONFIGS_MAX_VERSION; v++) {
		size_t len, len2;
		uint8_t *buf = encode_request(v, &request, &len);
		struct kreader r;
		struct describe_configs_request got;
		kr_init(&r, buf, len);
		assert_int_equal(describe_configs_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.resources_count, request.resources_count);
		for (int32_t i = 0; i < got.resources_count; i++) {
			const struct describe_configs_resource *x = &got.resources[i], *y = &request.resources[i];
			assert_int_equal(x->resource_type, y->resource_type);
			assert_kstr_equal(x->resource_name, y->resource_name);
			assert_int_equal(x->configuration_keys_count, y->configuration_keys_count);
			for (int32_t j = 0; j < x->configuration_keys_count; j++)
				assert_kstr_equal(x->configuration_keys[j], y->configuration_keys[j]);
		}
		assert_int_equal(got.include_synonyms, v >= 1);
		assert_int_equal(got.include_documentation, v >= 3);
		uint8_t *again = encode_request(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		describe_configs_request_free(&got);
		free(again);
		free(buf);
	}
}

static void describe_configs_response__roundtrips_every_version(void **state)
{
	for (int16_t v = 0; v <= DESCRIBE_CONFIGS_MAX_VERSION; v++) {
		size_t len, len2;
		uint8_t *buf = encode_response(v, &response, &len);
		struct kreader r;
		struct describe_configs_response got;
		kr_init(&r, buf, len);
		assert_int_equal(describe_configs_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.throttle_time_ms, response.throttle_time_ms);
		assert_int_equal(got.results_count, response.results_count);
		for (int32_t i = 0; i < got.results_count; i++) {
			const struct describe_configs_result *x = &got.results[i], *y = &response.results[i];
			assert_int_equal(x->error_code, y->error_code);
			assert_kstr_equal(x->error_message, y->error_message);
			assert_int_equal(x->resource_type, y->resource_type);
			assert_kstr_equal(x->resource_name, y->resource_name);
			assert_int_equal(x->configs_count, y->configs_count);
			for (int32_t j = 0; j < x->configs_count; j++)
				assert_config_equal(v, &x->configs[j], &y->configs[j]);
		}
		uint8_t *again = encode_response(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		describe_configs_response_free(&got);
		free(again);
		free(buf);
	}
}

/* ---- hand-made vectors ---- */

static void describe_configs_request__v1_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x01, /* resources: 1 */
		0x02,                   /* resource_type TOPIC */
		0x00, 0x01, 'a',        /* resource_name */
		0xff, 0xff, 0xff, 0xff, /* configuration_keys: null (all) */
		0x01,                   /* include_synonyms */
	};
	struct kreader r;
	struct describe_configs_request req;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(describe_configs_request_decode(&r, 1, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.resources_count, 1);
	assert_int_equal(req.resources[0].resource_type, DESCRIBE_CONFIGS_RESOURCE_TOPIC);
	assert_true(kstr_eq(req.resources[0].resource_name, "a"));
	assert_int_equal(req.resources[0].configuration_keys_count, -1);
	assert_null(req.resources[0].configuration_keys);
	assert_true(req.include_synonyms);
	assert_false(req.include_documentation);

	size_t len;
	uint8_t *out = encode_request(1, &req, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	describe_configs_request_free(&req);
}

static void describe_configs_response__v4_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
		0x02,                   /* results: compact 1 */
		0x00, 0x00,             /* error_code */
		0x00,                   /* error_message null */
		0x02,                   /* resource_type TOPIC */
		0x02, 'a',              /* resource_name */
		0x02,                   /* configs: 1 */
		0x03, 'r', 'm',         /* name */
		0x02, '5',              /* value */
		0x00,                   /* read_only */
		0x05,                   /* config_source DEFAULT_CONFIG */
		0x00,                   /* is_sensitive */
		0x02,                   /* synonyms: 1 */
		0x03, 'r', 'm', 0x02, '5', 0x05, 0x00, /* name, value, source, tags */
		0x03,                   /* config_type INT */
		0x00,                   /* documentation null */
		0x00,                   /* config tags */
		0x00,                   /* result tags */
		0x00,                   /* tags */
	};
	struct kreader r;
	struct describe_configs_response resp;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(describe_configs_response_decode(&r, 4, &resp), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(resp.results_count, 1);
	const struct describe_configs_result *res = &resp.results[0];
	assert_int_equal(res->error_message.len, -1);
	assert_true(kstr_eq(res->resource_name, "a"));
	assert_int_equal(res->configs_count, 1);
	assert_true(kstr_eq(res->configs[0].name, "rm"));
	assert_true(kstr_eq(res->configs[0].value, "5"));
	assert_int_equal(res->configs[0].config_source, DESCRIBE_CONFIGS_SOURCE_DEFAULT_CONFIG);
	assert_int_equal(res->configs[0].synonyms_count, 1);
	assert_int_equal(res->configs[0].synonyms[0].source, 5);
	assert_int_equal(res->configs[0].config_type, DESCRIBE_CONFIGS_TYPE_INT);
	assert_int_equal(res->configs[0].documentation.len, -1);

	size_t len;
	uint8_t *out = encode_response(4, &resp, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	describe_configs_response_free(&resp);
}

/* ---- malformed input ---- */

static void describe_configs__truncated_input_fails_at_every_byte(void **state)
{
	for (int16_t v = 0; v <= DESCRIBE_CONFIGS_MAX_VERSION; v++) {
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

static void describe_configs__bad_array_counts_fail_without_allocating(void **state)
{
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0x02, 0, 1, 'a', 0, 0, 0, 0, 1};
	static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xf0, 0x01};
	static const uint8_t null[] = {0xff, 0xff, 0xff, 0xff, 0x01};
	assert_int_equal(decode_request_bytes(1, huge, sizeof huge), -1);
	assert_int_equal(decode_request_bytes(1, neg, sizeof neg), -1);
	assert_int_equal(decode_request_bytes(1, null, sizeof null), -1);

	/* configuration_keys: only -1 means null; -2 is malformed. */
	static const uint8_t keys_neg[] = {0, 0, 0, 1, 0x02, 0, 1, 'a', 0xff, 0xff, 0xff, 0xfe, 0x01};
	assert_int_equal(decode_request_bytes(1, keys_neg, sizeof keys_neg), -1);
	static const uint8_t keys_huge[] = {0x02, 0x02, 0x02, 'a', 0xff, 0xff, 0xff, 0xff, 0x07, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(4, keys_huge, sizeof keys_huge), -1);

	/* Response: a synonyms count that cannot fit. */
	static const uint8_t syn_huge[] = {
		0, 0, 0, 0, 0x02, 0, 0, 0x00, 0x02, 0x02, 'a', 0x02, 0x02, 'n', 0x00, 0x00, 0x01, 0x00,
		0xf0, 0xff, 0xff, 0xff, 0x0f, /* synonyms */
		0x00, 0x00, 0x00, 0x00, 0x00,
	};
	assert_int_equal(decode_response_bytes(4, syn_huge, sizeof syn_huge), -1);
	static const uint8_t rhuge[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
	assert_int_equal(decode_response_bytes(1, rhuge, sizeof rhuge), -1);
}

static void describe_configs__rejects_unknown_version(void **state)
{
	static const uint8_t wire[] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(DESCRIBE_CONFIGS_MAX_VERSION + 1, wire, sizeof wire), -1);
	assert_int_equal(decode_response_bytes(-1, wire, sizeof wire), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(describe_configs_request__roundtrips_every_version),
		cmocka_unit_test(describe_configs_response__roundtrips_every_version),
		cmocka_unit_test(describe_configs_request__v1_matches_kafka_layout),
		cmocka_unit_test(describe_configs_response__v4_matches_kafka_layout),
		cmocka_unit_test(describe_configs__truncated_input_fails_at_every_byte),
		cmocka_unit_test(describe_configs__bad_array_counts_fail_without_allocating),
		cmocka_unit_test(describe_configs__rejects_unknown_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
