#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/allocate_producer_ids.h"
#include "protocol/codec_test.h"

static void allocate_producer_ids__round_trips(void **state)
{
	(void)state;
	struct allocate_producer_ids_request in = {.broker_id = 2, .broker_epoch = 1LL << 35};
	ROUNDTRIP(allocate_producer_ids_request, allocate_producer_ids_request, 0, &in, {
		assert_int_equal(out.broker_id, 2);
		assert_true(out.broker_epoch == 1LL << 35);
	});
	struct allocate_producer_ids_response resp = {
		.throttle_time_ms = 1,
		.error_code = 77,
		.producer_id_start = 5000,
		.producer_id_len = 1000,
	};
	ROUNDTRIP(allocate_producer_ids_response, allocate_producer_ids_response, 0, &resp, {
		assert_int_equal(out.throttle_time_ms, 1);
		assert_int_equal(out.error_code, 77);
		assert_true(out.producer_id_start == 5000);
		assert_int_equal(out.producer_id_len, 1000);
	});
}

/* AllocateProducerIds v0 from broker 1 at epoch 9, and the controller's
 * answer [2000, 3000). */
static const uint8_t request_bytes[] = {
	0x00, 0x00, 0x00, 0x01,                         /* broker_id */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, /* broker_epoch */
	0x00,                                           /* tags */
};
static const uint8_t response_bytes[] = {
	0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
	0x00, 0x00,                                     /* error_code */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0xd0, /* producer_id_start 2000 */
	0x00, 0x00, 0x03, 0xe8,                         /* producer_id_len 1000 */
	0x00,                                           /* tags */
};

static void allocate_producer_ids__matches_kafka_layout(void **state)
{
	(void)state;
	struct kreader r;
	struct allocate_producer_ids_request req;
	kr_init(&r, request_bytes, sizeof request_bytes);
	assert_int_equal(allocate_producer_ids_request_decode(&r, 0, &req), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(req.broker_id, 1);
	assert_true(req.broker_epoch == 9);

	struct allocate_producer_ids_response resp;
	kr_init(&r, response_bytes, sizeof response_bytes);
	assert_int_equal(allocate_producer_ids_response_decode(&r, 0, &resp), 0);
	assert_int_equal(r.left, 0);
	assert_true(resp.producer_id_start == 2000);
	assert_int_equal(resp.producer_id_len, 1000);
	struct kwriter w;
	kw_init(&w, 16);
	allocate_producer_ids_response_encode(&w, 0, &resp);
	assert_int_equal(w.len, sizeof response_bytes);
	assert_memory_equal(w.buf, response_bytes, w.len);
	kw_free(&w);
}

static void allocate_producer_ids__bad_input_fails(void **state)
{
	(void)state;
	struct kreader r;
	struct allocate_producer_ids_request req;
	struct allocate_producer_ids_response resp;
	kr_init(&r, request_bytes, sizeof request_bytes);
	assert_int_equal(allocate_producer_ids_request_decode(&r, 1, &req), -1);
	kr_init(&r, response_bytes, sizeof response_bytes);
	assert_int_equal(allocate_producer_ids_response_decode(&r, -1, &resp), -1);
	/* Tagged fields that do not fit. */
	uint8_t b[sizeof request_bytes];
	memcpy(b, request_bytes, sizeof b);
	b[sizeof b - 1] = 0x05;
	kr_init(&r, b, sizeof b);
	assert_int_equal(allocate_producer_ids_request_decode(&r, 0, &req), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allocate_producer_ids__round_trips),
		cmocka_unit_test(allocate_producer_ids__matches_kafka_layout),
		cmocka_unit_test(allocate_producer_ids__bad_input_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
