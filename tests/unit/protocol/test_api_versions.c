#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/api_versions.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "protocol/codec_test.h"

static void assert_kstr_same(struct kstr a, struct kstr b)
{
	assert_int_equal(a.len, b.len);
	if (a.len > 0)
		assert_memory_equal(a.p, b.p, (size_t)a.len);
}

static const struct api_versions_request sample_request = {
	.client_software_name = KS("tern-client"),
	.client_software_version = KS("1.2.3"),
};

static struct api_versions_key sample_keys[] = {
	{0, 3, 9}, {1, 4, 12}, {2, 1, 7}, {3, 0, 12}, {18, 0, 3},
};

static const struct api_versions_response sample_response = {
	.error_code = 0,
	.api_keys = sample_keys,
	.api_keys_count = 5,
	.throttle_time_ms = 12,
};

static void api_versions_request__roundtrip_all_versions(void **state)
{
	for (int16_t v = API_VERSIONS_MIN_VERSION; v <= API_VERSIONS_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		api_versions_request_encode(&w, v, &sample_request);
		assert_int_equal(w.err, 0);
		struct kreader r;
		struct api_versions_request got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(api_versions_request_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		if (v >= 3) {
			assert_kstr_same(sample_request.client_software_name, got.client_software_name);
			assert_kstr_same(sample_request.client_software_version, got.client_software_version);
		} else {
			assert_int_equal(w.len, 0);
			assert_int_equal(got.client_software_name.len, -1);
		}
		kw_init(&w2, 16);
		api_versions_request_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		if (w.len)
			assert_memory_equal(w2.buf, w.buf, w.len);
		api_versions_request_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

static void api_versions_response__roundtrip_all_versions(void **state)
{
	for (int16_t v = API_VERSIONS_MIN_VERSION; v <= API_VERSIONS_MAX_VERSION; v++) {
		struct kwriter w, w2;
		kw_init(&w, 16);
		api_versions_response_encode(&w, v, &sample_response);
		assert_int_equal(w.err, 0);
		struct kreader r;
		struct api_versions_response got;
		kr_init(&r, w.buf, w.len);
		assert_int_equal(api_versions_response_decode(&r, v, &got), 0);
		assert_int_equal(r.left, 0);
		assert_int_equal(got.error_code, sample_response.error_code);
		assert_int_equal(got.api_keys_count, sample_response.api_keys_count);
		for (int32_t i = 0; i < got.api_keys_count; i++) {
			assert_int_equal(got.api_keys[i].api_key, sample_keys[i].api_key);
			assert_int_equal(got.api_keys[i].min_version, sample_keys[i].min_version);
			assert_int_equal(got.api_keys[i].max_version, sample_keys[i].max_version);
		}
		assert_int_equal(got.throttle_time_ms, v >= 1 ? sample_response.throttle_time_ms : 0);
		kw_init(&w2, 16);
		api_versions_response_encode(&w2, v, &got);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(w2.buf, w.buf, w.len);
		api_versions_response_free(&got);
		kw_free(&w);
		kw_free(&w2);
	}
}

/* ApiVersions v3 request as librdkafka sends it. */
static const uint8_t request_v3_bytes[] = {
	0x0b, 'l', 'i', 'b', 'r', 'd', 'k', 'a', 'f', 'k', 'a', /* client_software_name */
	0x06, '2', '.', '0', '.', '2',                           /* client_software_version */
	0x00,                                                    /* tags */
};

/* ApiVersions v3 response with one key and a supported_features tag (0),
 * which we skip. */
static const uint8_t response_v3_bytes[] = {
	0x00, 0x00,             /* error_code */
	0x02,                   /* api_keys: 1 */
	0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00, /* ApiVersions 0..3, tags */
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
	0x01,                   /* tags: 1 */
	0x00, 0x0a,             /* tag 0, 10 bytes */
	0x02, 0x04, 'a', 'b', 'c', 0x00, 0x01, 0x00, 0x02, 0x00, /* [("abc", 1, 2)] */
};

static void api_versions__matches_kafka_layout(void **state)
{
	struct kreader r;
	struct api_versions_request req;
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(api_versions_request_decode(&r, 3, &req), 0);
	assert_int_equal(r.left, 0);
	assert_true(kstr_eq(req.client_software_name, "librdkafka"));
	assert_true(kstr_eq(req.client_software_version, "2.0.2"));
	struct kwriter w;
	kw_init(&w, 16);
	api_versions_request_encode(&w, 3, &req);
	assert_int_equal(w.len, sizeof request_v3_bytes);
	assert_memory_equal(w.buf, request_v3_bytes, w.len);
	kw_free(&w);

	struct api_versions_response resp;
	kr_init(&r, response_v3_bytes, sizeof response_v3_bytes);
	assert_int_equal(api_versions_response_decode(&r, 3, &resp), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(resp.api_keys_count, 1);
	assert_int_equal(resp.api_keys[0].api_key, 18);
	assert_int_equal(resp.api_keys[0].max_version, 3);
	api_versions_response_free(&resp);
}

static void api_versions_response__unsupported_is_a_v0_body(void **state)
{
	struct api_versions_key keys[] = {{0, 3, 9}, {18, 0, 3}};
	static const uint8_t want[] = {
		0x00, 0x23,             /* UNSUPPORTED_VERSION */
		0x00, 0x00, 0x00, 0x02, /* api_keys: 2 */
		0x00, 0x00, 0x00, 0x03, 0x00, 0x09,
		0x00, 0x12, 0x00, 0x00, 0x00, 0x03,
	};
	struct kwriter w;
	kw_init(&w, 16);
	api_versions_response_encode_unsupported(&w, keys, 2);
	assert_int_equal(w.len, sizeof want);
	assert_memory_equal(w.buf, want, sizeof want);

	struct kreader r;
	struct api_versions_response resp;
	kr_init(&r, w.buf, w.len);
	assert_int_equal(api_versions_response_decode(&r, 0, &resp), 0);
	assert_int_equal(resp.error_code, KERR_UNSUPPORTED_VERSION);
	assert_int_equal(resp.api_keys_count, 2);
	api_versions_response_free(&resp);
	kw_free(&w);
}

static void api_versions__truncated_input_fails_everywhere(void **state)
{
	for (int16_t v = API_VERSIONS_MIN_VERSION; v <= API_VERSIONS_MAX_VERSION; v++) {
		struct kwriter wq, ws;
		kw_init(&wq, 16);
		kw_init(&ws, 16);
		api_versions_request_encode(&wq, v, &sample_request);
		api_versions_response_encode(&ws, v, &sample_response);
		for (size_t n = 0; n < wq.len; n++) {
			uint8_t *c = dup_exact(wq.buf, n);
			struct kreader r;
			struct api_versions_request got;
			kr_init(&r, c, n);
			assert_int_equal(api_versions_request_decode(&r, v, &got), -1);
			free(c);
		}
		for (size_t n = 0; n < ws.len; n++) {
			uint8_t *c = dup_exact(ws.buf, n);
			struct kreader r;
			struct api_versions_response got;
			kr_init(&r, c, n);
			assert_int_equal(api_versions_response_decode(&r, v, &got), -1);
			free(c);
		}
		kw_free(&wq);
		kw_free(&ws);
	}
}

static void api_versions_response__bad_counts_fail_without_allocating(void **state)
{
	struct kreader r;
	struct api_versions_response resp;
	uint8_t huge[] = {0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0};
	kr_init(&r, huge, sizeof huge);
	assert_int_equal(api_versions_response_decode(&r, 1, &resp), -1);
	assert_null(resp.api_keys);
	uint8_t negative[] = {0, 0, 0xff, 0xff, 0xff, 0x00, 0, 0, 0, 0};
	kr_init(&r, negative, sizeof negative);
	assert_int_equal(api_versions_response_decode(&r, 1, &resp), -1);
	uint8_t null_array[] = {0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
	kr_init(&r, null_array, sizeof null_array);
	assert_int_equal(api_versions_response_decode(&r, 1, &resp), -1);
	uint8_t compact_huge[] = {0, 0, 0xff, 0xff, 0xff, 0xff, 0x07, 0, 0, 0, 0, 0};
	kr_init(&r, compact_huge, sizeof compact_huge);
	assert_int_equal(api_versions_response_decode(&r, 3, &resp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(api_versions_request__roundtrip_all_versions),
		cmocka_unit_test(api_versions_response__roundtrip_all_versions),
		cmocka_unit_test(api_versions__matches_kafka_layout),
		cmocka_unit_test(api_versions_response__unsupported_is_a_v0_body),
		cmocka_unit_test(api_versions__truncated_input_fails_everywhere),
		cmocka_unit_test(api_versions_response__bad_counts_fail_without_allocating),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
