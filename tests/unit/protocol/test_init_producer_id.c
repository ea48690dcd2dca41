#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/init_producer_id.h"
#include "protocol/codec_test.h"

static void init_producer_id_request__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = INIT_PRODUCER_ID_MIN_VERSION; v <= INIT_PRODUCER_ID_MAX_VERSION; v++) {
		for (int txn = 0; txn < 2; txn++) {
			struct init_producer_id_request in = {
				.transactional_id = txn ? KS("orders-tx") : (struct kstr){NULL, -1},
				.transaction_timeout_ms = 60000,
				.producer_id = 1LL << 40,
				.producer_epoch = 7,
			};
			ROUNDTRIP(init_producer_id_request, init_producer_id_request, v, &in, {
				if (txn)
					assert_true(ks_eq(out.transactional_id, KS("orders-tx")));
				else
					assert_int_equal(out.transactional_id.len, -1);
				assert_int_equal(out.transaction_timeout_ms, 60000);
				/* v0-2 carry no id and epoch: the defaults. */
				assert_true(out.producer_id == (v >= 3 ? 1LL << 40 : -1));
				assert_int_equal(out.producer_epoch, v >= 3 ? 7 : -1);
			});
		}
	}
}

static void init_producer_id_response__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = INIT_PRODUCER_ID_MIN_VERSION; v <= INIT_PRODUCER_ID_MAX_VERSION; v++) {
		struct init_producer_id_response in = {
			.throttle_time_ms = 3,
			.error_code = 0,
			.producer_id = 4242,
			.producer_epoch = 0,
		};
		ROUNDTRIP(init_producer_id_response, init_producer_id_response, v, &in, {
			assert_int_equal(out.throttle_time_ms, 3);
			assert_int_equal(out.error_code, 0);
			assert_true(out.producer_id == 4242);
			assert_int_equal(out.producer_epoch, 0);
		});
	}
}

/* What librdkafka sends for an idempotent producer at v0 and v3. */
static const uint8_t request_v0_bytes[] = {
	0xff, 0xff,             /* transactional_id: null */
	0x00, 0x00, 0xea, 0x60, /* transaction_timeout_ms 60000 */
};
static const uint8_t request_v3_bytes[] = {
	0x00,                                           /* transactional_id: null (compact) */
	0xff, 0xff, 0xff, 0xff,                         /* transaction_timeout_ms -1 */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* producer_id -1 */
	0xff, 0xff,                                     /* producer_epoch -1 */
	0x00,                                           /* tags */
};

static void init_producer_id_request__matches_kafka_layout(void **state)
{
	(void)state;
	struct kreader r;
	struct init_producer_id_request got;
	kr_init(&r, request_v0_bytes, sizeof request_v0_bytes);
	assert_int_equal(init_producer_id_request_decode(&r, 0, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.transactional_id.len, -1);
	assert_int_equal(got.transaction_timeout_ms, 60000);
	assert_true(got.producer_id == -1);

	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(init_producer_id_request_decode(&r, 3, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.transactional_id.len, -1);
	assert_int_equal(got.transaction_timeout_ms, -1);
	assert_true(got.producer_id == -1);
	assert_int_equal(got.producer_epoch, -1);
	struct kwriter w;
	kw_init(&w, 16);
	init_producer_id_request_encode(&w, 3, &got);
	assert_int_equal(w.len, sizeof request_v3_bytes);
	assert_memory_equal(w.buf, request_v3_bytes, w.len);
	kw_free(&w);

	/* v2 is the same as v3 without id and epoch. */
	const uint8_t v2[] = {0x03, 't', 'x', 0x00, 0x00, 0x03, 0xe8, 0x00};
	kr_init(&r, v2, sizeof v2);
	assert_int_equal(init_producer_id_request_decode(&r, 2, &got), 0);
	assert_true(ks_eq(got.transactional_id, KS("tx")));
	assert_int_equal(got.transaction_timeout_ms, 1000);
	assert_true(got.producer_id == -1);
}

static const uint8_t response_v4_bytes[] = {
	0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
	0x00, 0x00,                                     /* error_code */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe9, /* producer_id 1001 */
	0x00, 0x00,                                     /* producer_epoch */
	0x00,                                           /* tags */
};

static void init_producer_id_response__matches_kafka_layout(void **state)
{
	(void)state;
	struct init_producer_id_response in = {.producer_id = 1001};
	struct kwriter w;
	kw_init(&w, 16);
	init_producer_id_response_encode(&w, 4, &in);
	assert_int_equal(w.len, sizeof response_v4_bytes);
	assert_memory_equal(w.buf, response_v4_bytes, w.len);
	kw_free(&w);
	/* v0/v1: no tags. */
	kw_init(&w, 16);
	init_producer_id_response_encode(&w, 1, &in);
	assert_int_equal(w.len, sizeof response_v4_bytes - 1);
	assert_memory_equal(w.buf, response_v4_bytes, w.len);
	kw_free(&w);
}

static void init_producer_id__bad_input_fails(void **state)
{
	(void)state;
	struct kreader r;
	struct init_producer_id_request req;
	struct init_producer_id_response resp;
	/* Versions outside 0-4. */
	kr_init(&r, request_v0_bytes, sizeof request_v0_bytes);
	assert_int_equal(init_producer_id_request_decode(&r, 5, &req), -1);
	kr_init(&r, response_v4_bytes, sizeof response_v4_bytes);
	assert_int_equal(init_producer_id_response_decode(&r, -1, &resp), -1);
	/* A string length past the end, and a negative one other than -1. */
	const uint8_t long_str[] = {0x00, 0x40, 'a', 0, 0, 0, 1};
	kr_init(&r, long_str, sizeof long_str);
	assert_int_equal(init_producer_id_request_decode(&r, 0, &req), -1);
	const uint8_t neg_str[] = {0xff, 0xfe, 0, 0, 0, 1};
	kr_init(&r, neg_str, sizeof neg_str);
	assert_int_equal(init_producer_id_request_decode(&r, 1, &req), -1);
	/* More tagged fields than bytes. */
	const uint8_t tags[] = {0x00, 0, 0, 0, 1, 0x7f, 0x00};
	kr_init(&r, tags, sizeof tags);
	assert_int_equal(init_producer_id_request_decode(&r, 2, &req), -1);
	/* An unknown tagged field is skipped. */
	const uint8_t tag_ok[] = {0x00, 0, 0, 0, 1, 0x01, 0x05, 0x01, 0xee};
	kr_init(&r, tag_ok, sizeof tag_ok);
	assert_int_equal(init_producer_id_request_decode(&r, 2, &req), 0);
	assert_int_equal(r.left, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_producer_id_request__round_trips_every_version),
		cmocka_unit_test(init_producer_id_response__round_trips_every_version),
		cmocka_unit_test(init_producer_id_request__matches_kafka_layout),
		cmocka_unit_test(init_producer_id_response__matches_kafka_layout),
		cmocka_unit_test(init_producer_id__bad_input_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
