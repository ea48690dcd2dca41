#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/broker_heartbeat.h"
#include "protocol/codec_test.h"

static uint8_t sample_dirs[2][16] = {
	{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00},
	{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10},
};

static void broker_heartbeat_request__round_trips_every_version(void **state)
{
	for (int16_t v = BROKER_HEARTBEAT_MIN_VERSION; v <= BROKER_HEARTBEAT_MAX_VERSION; v++) {
		for (int32_t ndirs = 0; ndirs <= 2; ndirs += 2) {
			struct broker_heartbeat_request in = {
				.broker_id = 3,
				.broker_epoch = 1LL << 33,
				.current_metadata_offset = 4711,
				.want_fence = v == 0,
				.want_shut_down = true,
				.offline_log_dirs = sample_dirs,
				.offline_log_dirs_count = ndirs,
			};
			ROUNDTRIP(broker_heartbeat_request, broker_heartbeat_request, v, &in, {
				assert_int_equal(out.broker_id, 3);
				assert_true(out.broker_epoch == 1LL << 33);
				assert_true(out.current_metadata_offset == 4711);
				assert_int_equal(out.want_fence, v == 0);
				assert_true(out.want_shut_down);
				int32_t want = v >= 1 ? ndirs : 0;
				assert_int_equal(out.offline_log_dirs_count, want);
				if (want)
					assert_memory_equal(out.offline_log_dirs, sample_dirs, sizeof sample_dirs);
			});
		}
	}
}

static void broker_heartbeat_response__round_trips_every_version(void **state)
{
	for (int16_t v = BROKER_HEARTBEAT_MIN_VERSION; v <= BROKER_HEARTBEAT_MAX_VERSION; v++) {
		struct broker_heartbeat_response in = {
			.throttle_time_ms = 7,
			.error_code = 0,
			.is_caught_up = true,
			.is_fenced = false,
			.should_shut_down = true,
		};
		ROUNDTRIP(broker_heartbeat_response, broker_heartbeat_response, v, &in, {
			assert_int_equal(out.throttle_time_ms, 7);
			assert_true(out.is_caught_up);
			assert_false(out.is_fenced);
			assert_true(out.should_shut_down);
		});
	}
}

/* BrokerHeartbeat v1 from broker 1 at epoch 5, replayed to offset 100,
 * with one failed log dir reported in tag 0. */
static const uint8_t request_v1_bytes[] = {
	0x00, 0x00, 0x00, 0x01,                         /* broker_id 1 */
	0, 0, 0, 0, 0, 0, 0, 5,                         /* broker_epoch */
	0, 0, 0, 0, 0, 0, 0, 100,                       /* current_metadata_offset */
	0x00,                                           /* want_fence */
	0x00,                                           /* want_shut_down */
	0x01,                                           /* tags: 1 */
	0x00, 0x11,                                     /* tag 0 (offline_log_dirs), 17 bytes */
	0x02,                                           /* 1 dir */
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, /* uuid */
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
};

static void broker_heartbeat_request__v1_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct broker_heartbeat_request got;
	kr_init(&r, request_v1_bytes, sizeof request_v1_bytes);
	assert_int_equal(broker_heartbeat_request_decode(&r, 1, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.broker_id, 1);
	assert_true(got.broker_epoch == 5);
	assert_true(got.current_metadata_offset == 100);
	assert_false(got.want_fence);
	assert_int_equal(got.offline_log_dirs_count, 1);
	assert_int_equal(got.offline_log_dirs[0][0], 0xa0);
	assert_int_equal(got.offline_log_dirs[0][15], 0xaf);

	struct kwriter w;
	kw_init(&w, 16);
	broker_heartbeat_request_encode(&w, 1, &got);
	assert_int_equal(w.len, sizeof request_v1_bytes);
	assert_memory_equal(w.buf, request_v1_bytes, w.len);
	kw_free(&w);
	broker_heartbeat_request_free(&got);

	/* v0 knows no tag 0: the same bytes decode with the field skipped. */
	kr_init(&r, request_v1_bytes, sizeof request_v1_bytes);
	assert_int_equal(broker_heartbeat_request_decode(&r, 0, &got), 0);
	assert_int_equal(got.offline_log_dirs_count, 0);
	broker_heartbeat_request_free(&got);
}

static const uint8_t response_v0_bytes[] = {
	0x00, 0x00, 0x00, 0x00, /* throttle_time_ms */
	0x00, 0x00,             /* error_code */
	0x01,                   /* is_caught_up */
	0x00,                   /* is_fenced */
	0x00,                   /* should_shut_down */
	0x00,                   /* tags */
};

static void broker_heartbeat_response__v0_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct broker_heartbeat_response got;
	kr_init(&r, response_v0_bytes, sizeof response_v0_bytes);
	assert_int_equal(broker_heartbeat_response_decode(&r, 0, &got), 0);
	assert_int_equal(r.left, 0);
	assert_true(got.is_caught_up);
	assert_false(got.is_fenced);
	struct kwriter w;
	kw_init(&w, 16);
	broker_heartbeat_response_encode(&w, 0, &got);
	assert_int_equal(w.len, sizeof response_v0_bytes);
	assert_memory_equal(w.buf, response_v0_bytes, w.len);
	kw_free(&w);
}

static void broker_heartbeat_request__tags_bounded_and_unique(void **state)
{
	const size_t tags_at = 4 + 8 + 8 + 1 + 1;
	struct kreader r;
	struct broker_heartbeat_request got;
	uint8_t b[sizeof request_v1_bytes];

	/* An unknown tag before tag 0 is skipped. */
	uint8_t two[sizeof request_v1_bytes + 3];
	memcpy(two, request_v1_bytes, tags_at);
	const uint8_t head[] = {0x02, 0x05, 0x01, 0xee};
	memcpy(two + tags_at, head, sizeof head);
	memcpy(two + tags_at + sizeof head, request_v1_bytes + tags_at + 1, sizeof request_v1_bytes - tags_at - 1);
	kr_init(&r, two, sizeof two);
	assert_int_equal(broker_heartbeat_request_decode(&r, 1, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.offline_log_dirs_count, 1);
	broker_heartbeat_request_free(&got);

	/* A dir count the field's declared size cannot hold. */
	memcpy(b, request_v1_bytes, sizeof b);
	b[tags_at + 3] = 0x03;
	kr_init(&r, b, sizeof b);
	assert_int_equal(broker_heartbeat_request_decode(&r, 1, &got), -1);

	/* A huge dir count (uvarint 0xffffffff) and a null array. */
	uint8_t huge[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0,
			  0x01, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f};
	kr_init(&r, huge, sizeof huge);
	assert_int_equal(broker_heartbeat_request_decode(&r, 1, &got), -1);
	uint8_t null_dirs[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0,
			       0x01, 0x00, 0x01, 0x00};
	kr_init(&r, null_dirs, sizeof null_dirs);
	assert_int_equal(broker_heartbeat_request_decode(&r, 1, &got), -1);

	/* Tag 0 twice. */
	uint8_t dup[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0,
			 0x02, 0x00, 0x01, 0x01, 0x00, 0x01, 0x01};
	kr_init(&r, dup, sizeof dup);
	assert_int_equal(broker_heartbeat_request_decode(&r, 1, &got), -1);

	/* More tagged fields than bytes left. */
	uint8_t many[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0x7f, 0x00, 0x00};
	kr_init(&r, many, sizeof many);
	assert_int_equal(broker_heartbeat_request_decode(&r, 1, &got), -1);
}

static void broker_heartbeat__bad_version_fails(void **state)
{
	struct kreader r;
	struct broker_heartbeat_request req;
	struct broker_heartbeat_response resp;
	kr_init(&r, request_v1_bytes, sizeof request_v1_bytes);
	assert_int_equal(broker_heartbeat_request_decode(&r, 2, &req), -1);
	kr_init(&r, response_v0_bytes, sizeof response_v0_bytes);
	assert_int_equal(broker_heartbeat_response_decode(&r, -1, &resp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(broker_heartbeat_request__round_trips_every_version),
		cmocka_unit_test(broker_heartbeat_response__round_trips_every_version),
		cmocka_unit_test(broker_heartbeat_request__v1_matches_kafka_layout),
		cmocka_unit_test(broker_heartbeat_response__v0_matches_kafka_layout),
		cmocka_unit_test(broker_heartbeat_request__tags_bounded_and_unique),
		cmocka_unit_test(broker_heartbeat__bad_version_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
