/* Unit tests of broker/protocol/delete_groups.c (DeleteGroups, API key 42). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/delete_groups.h"
#include "protocol/codec_test.h"

static void delete_groups_request__round_trips_every_version(void **state)
{
	(void)state;
	struct kstr names[] = {KS("orders-app"), KS(""), KS("billing")};
	for (int16_t v = DELETE_GROUPS_MIN_VERSION; v <= DELETE_GROUPS_MAX_VERSION; v++) {
		struct delete_groups_request in = {.groups_names = names, .groups_names_count = 3};
		ROUNDTRIP(delete_groups_request, delete_groups_request, v, &in, {
			assert_int_equal(out.groups_names_count, 3);
			assert_true(ks_eq(out.groups_names[0], KS("orders-app")));
			assert_true(ks_eq(out.groups_names[1], KS("")));
			assert_true(ks_eq(out.groups_names[2], KS("billing")));
		});
	}
}

static void delete_groups_request__empty_list_round_trips(void **state)
{
	(void)state;
	for (int16_t v = DELETE_GROUPS_MIN_VERSION; v <= DELETE_GROUPS_MAX_VERSION; v++) {
		struct delete_groups_request in = {0};
		ROUNDTRIP(delete_groups_request, delete_groups_request, v, &in,
			  { assert_int_equal(out.groups_names_count, 0); });
	}
}

static void delete_groups_response__round_trips_every_version(void **state)
{
	(void)state;
	struct delete_groups_result res[] = {
		{KS("orders-app"), 0},
		{KS("busy"), 68},   /* NON_EMPTY_GROUP */
		{KS("nobody"), 69}, /* GROUP_ID_NOT_FOUND */
	};
	for (int16_t v = DELETE_GROUPS_MIN_VERSION; v <= DELETE_GROUPS_MAX_VERSION; v++) {
		struct delete_groups_response in = {.throttle_time_ms = 7, .results = res, .results_count = 3};
		ROUNDTRIP(delete_groups_response, delete_groups_response, v, &in, {
			assert_int_equal(out.throttle_time_ms, 7);
			assert_int_equal(out.results_count, 3);
			assert_true(ks_eq(out.results[1].group_id, KS("busy")));
			assert_int_equal(out.results[1].error_code, 68);
			assert_int_equal(out.results[2].error_code, 69);
		});
	}
}

/* The bytes of DeleteGroupsRequest.json: v0/v1 an INT32 count and INT16
 * strings, v2 a compact array, compact strings and a tag section. */
static void delete_groups_request__exact_bytes(void **state)
{
	(void)state;
	struct kstr names[] = {KS("g1"), KS("abc")};
	struct delete_groups_request in = {.groups_names = names, .groups_names_count = 2};
	static const uint8_t v0[] = {0, 0, 0, 2, 0, 2, 'g', '1', 0, 3, 'a', 'b', 'c'};
	static const uint8_t v2[] = {3, 3, 'g', '1', 4, 'a', 'b', 'c', 0};
	struct kwriter w;
	for (int16_t v = 0; v <= 1; v++) {
		kw_init(&w, 8);
		delete_groups_request_encode(&w, v, &in);
		assert_int_equal(w.len, sizeof v0);
		assert_memory_equal(w.buf, v0, sizeof v0);
		kw_free(&w);
	}
	kw_init(&w, 8);
	delete_groups_request_encode(&w, 2, &in);
	assert_int_equal(w.len, sizeof v2);
	assert_memory_equal(w.buf, v2, sizeof v2);
	kw_free(&w);
}

static void delete_groups_response__exact_bytes(void **state)
{
	(void)state;
	struct delete_groups_result res[] = {{KS("g"), 68}};
	struct delete_groups_response in = {.throttle_time_ms = 1, .results = res, .results_count = 1};
	static const uint8_t v1[] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 'g', 0, 68};
	static const uint8_t v2[] = {0, 0, 0, 1, 2, 2, 'g', 0, 68, 0, 0};
	struct kwriter w;
	kw_init(&w, 8);
	delete_groups_response_encode(&w, 1, &in);
	assert_int_equal(w.len, sizeof v1);
	assert_memory_equal(w.buf, v1, sizeof v1);
	kw_free(&w);
	kw_init(&w, 8);
	delete_groups_response_encode(&w, 2, &in);
	assert_int_equal(w.len, sizeof v2);
	assert_memory_equal(w.buf, v2, sizeof v2);
	kw_free(&w);
}

/* Unknown tagged fields (v2) are skipped, at every level. */
static void delete_groups__v2_skips_tagged_fields(void **state)
{
	(void)state;
	static const uint8_t req[] = {2, 2, 'g', 1, 5, 2, 0xAA, 0xBB};
	struct kreader r;
	struct delete_groups_request rq;
	kr_init(&r, req, sizeof req);
	assert_int_equal(delete_groups_request_decode(&r, 2, &rq), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(rq.groups_names_count, 1);
	assert_true(ks_eq(rq.groups_names[0], KS("g")));
	delete_groups_request_free(&rq);

	static const uint8_t resp[] = {0, 0, 0, 0, 2, 2, 'g', 0, 0, 1, 9, 1, 0x11, 0};
	struct delete_groups_response rs;
	kr_init(&r, resp, sizeof resp);
	assert_int_equal(delete_groups_response_decode(&r, 2, &rs), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(rs.results_count, 1);
	delete_groups_response_free(&rs);
}

/* A count larger than the bytes left is refused before any allocation, a
 * null array or null group name is malformed, and so is an unknown version. */
static void delete_groups__rejects_malformed(void **state)
{
	(void)state;
	struct kreader r;
	struct delete_groups_request rq;
	struct delete_groups_response rs;

	static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 0, 1, 'g'};
	kr_init(&r, huge, sizeof huge);
	assert_int_equal(delete_groups_request_decode(&r, 0, &rq), -1);
	assert_null(rq.groups_names);

	static const uint8_t huge_flex[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 2, 'g', 0};
	kr_init(&r, huge_flex, sizeof huge_flex);
	assert_int_equal(delete_groups_request_decode(&r, 2, &rq), -1);
	assert_null(rq.groups_names);

	static const uint8_t null_arr[] = {0xff, 0xff, 0xff, 0xff};
	kr_init(&r, null_arr, sizeof null_arr);
	assert_int_equal(delete_groups_request_decode(&r, 1, &rq), -1);
	static const uint8_t null_arr_flex[] = {0, 0};
	kr_init(&r, null_arr_flex, sizeof null_arr_flex);
	assert_int_equal(delete_groups_request_decode(&r, 2, &rq), -1);

	static const uint8_t null_name[] = {0, 0, 0, 1, 0xff, 0xff};
	kr_init(&r, null_name, sizeof null_name);
	assert_int_equal(delete_groups_request_decode(&r, 0, &rq), -1);
	assert_null(rq.groups_names);
	assert_int_equal(rq.groups_names_count, 0);

	static const uint8_t empty[] = {0, 0, 0, 0};
	kr_init(&r, empty, sizeof empty);
	assert_int_equal(delete_groups_request_decode(&r, 3, &rq), -1);
	kr_init(&r, empty, sizeof empty);
	assert_int_equal(delete_groups_request_decode(&r, -1, &rq), -1);

	/* Response: 2^31-1 results in 6 bytes. */
	static const uint8_t huge_resp[] = {0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0};
	kr_init(&r, huge_resp, sizeof huge_resp);
	assert_int_equal(delete_groups_response_decode(&r, 0, &rs), -1);
	assert_null(rs.results);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(delete_groups_request__round_trips_every_version),
		cmocka_unit_test(delete_groups_request__empty_list_round_trips),
		cmocka_unit_test(delete_groups_response__round_trips_every_version),
		cmocka_unit_test(delete_groups_request__exact_bytes),
		cmocka_unit_test(delete_groups_response__exact_bytes),
		cmocka_unit_test(delete_groups__v2_skips_tagged_fields),
		cmocka_unit_test(delete_groups__rejects_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
