#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/incremental_alter_configs.h"
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

static struct incremental_alter_configs_config configs[] = {
	{.name = S("retention.ms"), .config_operation = INCREMENTAL_ALTER_CONFIGS_OP_SET, .value = S("60000")},
	{.name = S("cleanup.policy"), .config_operation = INCREMENTAL_ALTER_CONFIGS_OP_APPEND,
	 .value = S("compact")},
	{.name = S("max.message.bytes"), .config_operation = INCREMENTAL_ALTER_CONFIGS_OP_DELETE,
	 .value = NULLSTR},
};
static struct incremental_alter_configs_resource resources[] = {
	{.resource_type = 2, .resource_name = S("orders"), .configs = configs, .configs_count = 3},
	{.resource_type = 4, .resource_name = S(""), .configs = NULL, .configs_count = 0},
};
static const struct incremental_alter_configs_request request = {
	.resources = resources,
	.resources_count = 2,
	.validate_only = true,
};

static struct incremental_alter_configs_resource_response responses[] = {
	{.error_code = 0, .error_message = NULLSTR, .resource_type = 2, .resource_name = S("orders")},
	{.error_code = 40, .error_message = S("bad value"), .resource_type = 4, .resource_name = S("0")},
};
static const struct incremental_alter_configs_response response = {
	.throttle_time_ms = 3,
	.responses = responses,
	.responses_count = 2,
};

/* ---- helpers ---- */

static uint8_t *encode_request(int16_t v, const struct incremental_alter_configs_request *req, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	incremental_alter_configs_request_encode(&w, v, req);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static uint8_t *encode_response(int16_t v, const struct incremental_alter_configs_response *resp, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 16);
	incremental_alter_configs_response_encode(&w, v, resp);
	assert_int_equal(w.err, 0);
	return kw_steal(&w, len);
}

static int decode_request_bytes(int16_t v, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1); /* exact size: overreads trip ASan */
	memcpy(copy, buf, len);
	struct kreader r;
	struct incremental_alter_configs_request req;
	kr_init(&r, copy, len);
	int rc = incremental_alter_configs_request_decode(&r, v, &req);
	if (rc == 0)
		incremental_alter_configs_request_free(&req);
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
	struct incremental_alter_configs_response resp;
	kr_init(&r, copy, len);
	int rc = incremental_alter_configs_response_decode(&r, v, &resp);
	if (rc == 0)
		incremental_alter_configs_response_free(&resp);
	else
		assert_int_not_equal(r.err, 0);
	free(copy);
	return rc;
}

/* ---- round trips ---- */

static void incremental_alter_configs_request__roundtrips_every_version(void **state)
{
	for (int16_t v = INCREMENTAL_ALTER_CONFIGS_MIN_VERSION; v <= INCREMENTAL_ALTER_CONFIGS_MAX_VERSION; v++) {
		size_t len, len2;
		uint8_t *buf = encode_request(v, &request, &len);
		struct kreader r;
		struct incremental_alter_configs_request got;
		kr_init(&r, buf, len);
		assert_int_equal(incremental_alter_configs_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.resources_count, request.resources_count);
		for (int32_t i = 0; i < got.resources_count; i++) {
			const struct incremental_alter_configs_resource *x = &got.resources[i], *y = &request.resources[i];
			assert_int_equal(x->resource_type, y->resource_type);
			assert_kstr_equal(x->resource_name, y->resource_name);
			assert_int_equal(x->configs_count, y->configs_count);
			for (int32_t j = 0; j < x->configs_count; j++) {
				assert_kstr_equal(x->configs[j].name, y->configs[j].name);
				assert_int_equal(x->configs[j].config_operation, y->configs[j].config_operation);
				assert_kstr_equal(x->configs[j].value, y->configs[j].value);
			}
		}
		assert_int_equal(got.validate_only, request.validate_only);
		uint8_t *again = encode_request(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		incremental_alter_configs_request_free(&got);
		free(again);
		free(buf);
	}
}

static void incremental_alter_configs_response__roundtrips_every_version(void **state)
{
	for (int16_t v = INCREMENTAL_ALTER_CONFIGS_MIN_VERSION; v <= INCREMENTAL_ALTER_CONFIGS_MAX_VERSION; v++) {
		size_t len, len2;
		uint8_t *buf = encode_response(v, &response, &len);
		struct kreader r;
		struct incremental_alter_configs_response got;
		kr_init(&r, buf, len);
		assert_int_equal(incremental_alter_configs_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.throttle_time_ms, response.throttle_time_ms);
		assert_int_equal(got.responses_count, response.responses_count);
		for (int32_t i = 0; i < got.responses_count; i++) {
			const struct incremental_alter_configs_resource_response *x = &got.responses[i];
			const struct incremental_alter_configs_resource_response *y = &response.responses[i];
			assert_int_equal(x->error_code, y->error_code);
			assert_kstr_equal(x->error_message, y->error_message);
			assert_int_equal(x->resource_type, y->resource_type);
			assert_kstr_equal(x->resource_name, y->resource_name);
		}
		uint8_t *again = encode_response(v, &got, &len2);
		assert_int_equal(len, len2);
		assert_memory_equal(buf, again, len);
		incremental_alter_configs_response_free(&got);
		free(again);
		free(buf);
	}
}

/* ---- hand-made vectors ---- */

static void incremental_alter_configs_request__v0_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x01,  /* resources: 1 */
		0x02,                    /* resource_type TOPIC */
		0x00, 0x01, 't',         /* resource_name */
		0x00, 0x00, 0x00, 0x01,  /* configs: 1 */
		0x00, 0x02, 'r', 'm',    /* name */
		0x00,                    /* config_operation SET */
		0x00, 0x03, '1', '0', '0', /* value */
		0x01,                    /* validate_only */
	};
	struct kreader r;
	struct incremental_alter_configs_request req;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(incremental_alter_configs_request_decode(&r, 0, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.resources_count, 1);
	assert_int_equal(req.resources[0].resource_type, 2);
	assert_true(kstr_eq(req.resources[0].resource_name, "t"));
	assert_int_equal(req.resources[0].configs_count, 1);
	assert_true(kstr_eq(req.resources[0].configs[0].name, "rm"));
	assert_int_equal(req.resources[0].configs[0].config_operation, INCREMENTAL_ALTER_CONFIGS_OP_SET);
	assert_true(kstr_eq(req.resources[0].configs[0].value, "100"));
	assert_true(req.validate_only);

	size_t len;
	uint8_t *out = encode_request(0, &req, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	incremental_alter_configs_request_free(&req);
}

static void incremental_alter_configs_response__v1_matches_kafka_layout(void **state)
{
	static const uint8_t wire[] = {
		0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
		0x02,                   /* responses: compact 1 */
		0x00, 0x2c,             /* error_code POLICY_VIOLATION */
		0x03, 'n', 'o',         /* error_message */
		0x02,                   /* resource_type */
		0x02, 't',              /* resource_name */
		0x00,                   /* tags */
		0x00,                   /* tags */
	};
	struct kreader r;
	struct incremental_alter_configs_response resp;
	kr_init(&r, wire, sizeof wire);
	assert_int_equal(incremental_alter_configs_response_decode(&r, 1, &resp), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(resp.responses_count, 1);
	assert_int_equal(resp.responses[0].error_code, 44);
	assert_true(kstr_eq(resp.responses[0].error_message, "no"));
	assert_true(kstr_eq(resp.responses[0].resource_name, "t"));

	size_t len;
	uint8_t *out = encode_response(1, &resp, &len);
	assert_int_equal(len, sizeof wire);
	assert_memory_equal(out, wire, len);
	free(out);
	incremental_alter_configs_response_free(&resp);
}

/* ---- malformed input ---- */

static void incremental_alter_configs__truncated_input_fails_at_every_byte(void **state)
{
	for (int16_t v = INCREMENTAL_ALTER_CONFIGS_MIN_VERSION; v <= INCREMENTAL_ALTER_CONFIGS_MAX_VERSION; v++) {
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

static void incremental_alter_configs__bad_array_counts_fail_without_allocating(void **state)
{
	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 2, 0, 1, 't', 0, 0, 0, 0, 0};
	static const uint8_t neg[] = {0xff, 0xff, 0xff, 0x00, 0};
	static const uint8_t null[] = {0xff, 0xff, 0xff, 0xff, 0};
	assert_int_equal(decode_request_bytes(0, huge, sizeof huge), -1);
	assert_int_equal(decode_request_bytes(0, neg, sizeof neg), -1);
	assert_int_equal(decode_request_bytes(0, null, sizeof null), -1);

	/* A nested configs count that cannot fit, and a null one. */
	static const uint8_t cfg_huge[] = {0x02, 0x02, 0x02, 't', 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(1, cfg_huge, sizeof cfg_huge), -1);
	static const uint8_t cfg_null[] = {0x02, 0x02, 0x02, 't', 0x00, 0x00, 0x00, 0x00};
	assert_int_equal(decode_request_bytes(1, cfg_null, sizeof cfg_null), -1);

	static const uint8_t rhuge[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0};
	assert_int_equal(decode_response_bytes(0, rhuge, sizeof rhuge), -1);
}

static void incremental_alter_configs__rejects_unknown_version(void **state)
{
	static const uint8_t wire[] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(decode_request_bytes(INCREMENTAL_ALTER_CONFIGS_MAX_VERSION + 1, wire, sizeof wire), -1);
	assert_int_equal(decode_response_bytes(-1, wire, sizeof wire), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(incremental_alter_configs_request__roundtrips_every_version),
		cmocka_unit_test(incremental_alter_configs_response__roundtrips_every_version),
		cmocka_unit_test(incremental_alter_configs_request__v0_matches_kafka_layout),
		cmocka_unit_test(incremental_alter_configs_response__v1_matches_kafka_layout),
		cmocka_unit_test(incremental_alter_configs__truncated_input_fails_at_every_byte),
		cmocka_unit_test(incremental_alter_configs__bad_array_counts_fail_without_allocating),
		cmocka_unit_test(incremental_alter_configs__rejects_unknown_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
