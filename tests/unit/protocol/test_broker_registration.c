#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/broker_registration.h"
#include "protocol/codec_test.h"

#define KNULL ((struct kstr){NULL, -1})

static struct broker_registration_listener sample_listeners[] = {
	{.name = KS("PLAINTEXT"), .host = KS("broker-1.local"), .port = 9092, .security_protocol = 0},
	{.name = KS("SSL"), .host = KS("10.0.0.1"), .port = 65535, .security_protocol = 1},
};

static struct broker_registration_feature sample_features[] = {
	{.name = KS("metadata.version"), .min_supported_version = 1, .max_supported_version = 19},
};

static uint8_t sample_dirs[2][16] = {
	{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
	{0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff},
};

static void check_request(int16_t v, const struct broker_registration_request *a,
			  const struct broker_registration_request *b)
{
	assert_int_equal(a->broker_id, b->broker_id);
	assert_true(ks_eq(a->cluster_id, b->cluster_id));
	assert_memory_equal(a->incarnation_id, b->incarnation_id, 16);
	assert_int_equal(a->listeners_count, b->listeners_count);
	for (int32_t i = 0; i < a->listeners_count; i++) {
		assert_true(ks_eq(a->listeners[i].name, b->listeners[i].name));
		assert_true(ks_eq(a->listeners[i].host, b->listeners[i].host));
		assert_int_equal(a->listeners[i].port, b->listeners[i].port);
		assert_int_equal(a->listeners[i].security_protocol, b->listeners[i].security_protocol);
	}
	assert_int_equal(a->features_count, b->features_count);
	for (int32_t i = 0; i < a->features_count; i++) {
		assert_true(ks_eq(a->features[i].name, b->features[i].name));
		assert_int_equal(a->features[i].min_supported_version, b->features[i].min_supported_version);
		assert_int_equal(a->features[i].max_supported_version, b->features[i].max_supported_version);
	}
	assert_true(ks_eq(a->rack, b->rack));
	assert_int_equal(b->is_migrating_zk_broker, v >= 1 ? a->is_migrating_zk_broker : false);
	assert_int_equal(b->log_dirs_count, v >= 2 ? a->log_dirs_count : 0);
	if (v >= 2 && a->log_dirs_count)
		assert_memory_equal(a->log_dirs, b->log_dirs, (size_t)a->log_dirs_count * 16);
	assert_true(b->previous_broker_epoch == (v >= 3 ? a->previous_broker_epoch : -1));
}

static void broker_registration_request__round_trips_every_version(void **state)
{
	for (int16_t v = BROKER_REGISTRATION_MIN_VERSION; v <= BROKER_REGISTRATION_MAX_VERSION; v++) {
		for (int variant = 0; variant < 2; variant++) {
			struct broker_registration_request in = {
				.broker_id = 1,
				.cluster_id = KS("MkU3OEVBNTcwNTJENDM2Qg"),
				.incarnation_id = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
				.listeners = sample_listeners,
				.listeners_count = variant ? 0 : 2,
				.features = sample_features,
				.features_count = variant ? 0 : 1,
				.rack = variant ? KNULL : KS("rack-a"),
				.is_migrating_zk_broker = !variant,
				.log_dirs = sample_dirs,
				.log_dirs_count = variant ? 0 : 2,
				.previous_broker_epoch = variant ? -1 : 42,
			};
			ROUNDTRIP(broker_registration_request, broker_registration_request, v, &in,
				  check_request(v, &in, &out));
		}
	}
}

static void broker_registration_response__round_trips_every_version(void **state)
{
	for (int16_t v = BROKER_REGISTRATION_MIN_VERSION; v <= BROKER_REGISTRATION_MAX_VERSION; v++) {
		struct broker_registration_response in = {.throttle_time_ms = 5, .error_code = 0, .broker_epoch = 17};
		ROUNDTRIP(broker_registration_response, broker_registration_response, v, &in, {
			assert_int_equal(out.throttle_time_ms, 5);
			assert_int_equal(out.error_code, 0);
			assert_true(out.broker_epoch == 17);
		});
	}
}

/* BrokerRegistration v3 from broker 2 of cluster "c": one listener
 * "P" on h:9092 (PLAINTEXT), one feature "f" [1, 3], no rack, one log dir,
 * after a clean shutdown at epoch 8. */
static const uint8_t request_v3_bytes[] = {
	0x00, 0x00, 0x00, 0x02,                         /* broker_id */
	0x02, 'c',                                      /* cluster_id */
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, /* incarnation_id */
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
	0x02,                                           /* listeners: 1 */
	0x02, 'P',                                      /* name */
	0x02, 'h',                                      /* host */
	0x23, 0x84,                                     /* port 9092 */
	0x00, 0x00,                                     /* security_protocol */
	0x00,                                           /* listener tags */
	0x02,                                           /* features: 1 */
	0x02, 'f',                                      /* name */
	0x00, 0x01,                                     /* min_supported_version */
	0x00, 0x03,                                     /* max_supported_version */
	0x00,                                           /* feature tags */
	0x00,                                           /* rack: null */
	0x00,                                           /* is_migrating_zk_broker */
	0x02,                                           /* log_dirs: 1 */
	0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, /* uuid */
	0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	0, 0, 0, 0, 0, 0, 0, 8,                         /* previous_broker_epoch */
	0x00,                                           /* tags */
};

static void broker_registration_request__v3_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct broker_registration_request got;
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(broker_registration_request_decode(&r, 3, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.broker_id, 2);
	assert_true(kstr_eq(got.cluster_id, "c"));
	assert_int_equal(got.incarnation_id[15], 0x1f);
	assert_int_equal(got.listeners_count, 1);
	assert_true(kstr_eq(got.listeners[0].host, "h"));
	assert_int_equal(got.listeners[0].port, 9092);
	assert_int_equal(got.features_count, 1);
	assert_int_equal(got.features[0].max_supported_version, 3);
	assert_int_equal(got.rack.len, -1);
	assert_int_equal(got.log_dirs_count, 1);
	assert_int_equal(got.log_dirs[0][0], 0xc0);
	assert_true(got.previous_broker_epoch == 8);

	struct kwriter w;
	kw_init(&w, 16);
	broker_registration_request_encode(&w, 3, &got);
	assert_int_equal(w.len, sizeof request_v3_bytes);
	assert_memory_equal(w.buf, request_v3_bytes, w.len);
	kw_free(&w);
	broker_registration_request_free(&got);
}

static const uint8_t response_v0_bytes[] = {
	0x00, 0x00, 0x00, 0x00,                         /* throttle_time_ms */
	0x00, 0x33,                                     /* error_code 51 (DUPLICATE_BROKER_REGISTRATION) */
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* broker_epoch -1 */
	0x00,                                           /* tags */
};

static void broker_registration_response__v0_matches_kafka_layout(void **state)
{
	struct kreader r;
	struct broker_registration_response got;
	kr_init(&r, response_v0_bytes, sizeof response_v0_bytes);
	assert_int_equal(broker_registration_response_decode(&r, 0, &got), 0);
	assert_int_equal(r.left, 0);
	assert_int_equal(got.error_code, 51);
	assert_true(got.broker_epoch == -1);
	struct kwriter w;
	kw_init(&w, 16);
	broker_registration_response_encode(&w, 0, &got);
	assert_int_equal(w.len, sizeof response_v0_bytes);
	assert_memory_equal(w.buf, response_v0_bytes, w.len);
	kw_free(&w);
}

static void broker_registration_request__bad_counts_fail(void **state)
{
	/* Offsets of the listener, feature and log-dir counts in request_v3_bytes. */
	const size_t at[] = {4 + 2 + 16, 4 + 2 + 16 + 1 + 9, 4 + 2 + 16 + 1 + 9 + 1 + 7 + 1 + 1};
	/* Null (0), too many for what is left (0x7f), and a 5-byte huge count
	 * that replaces the count and the bytes after it. */
	for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
		uint8_t b[sizeof request_v3_bytes];
		struct kreader r;
		struct broker_registration_request got;

		memcpy(b, request_v3_bytes, sizeof b);
		assert_int_equal(b[at[i]], 0x02);
		b[at[i]] = 0x00;
		kr_init(&r, b, sizeof b);
		assert_int_equal(broker_registration_request_decode(&r, 3, &got), -1);

		b[at[i]] = 0x7f;
		kr_init(&r, b, sizeof b);
		assert_int_equal(broker_registration_request_decode(&r, 3, &got), -1);

		const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
		memcpy(b + at[i], huge, sizeof huge);
		kr_init(&r, b, sizeof b);
		assert_int_equal(broker_registration_request_decode(&r, 3, &got), -1);
	}
	/* A null cluster_id is malformed. */
	uint8_t b[sizeof request_v3_bytes];
	memcpy(b, request_v3_bytes, sizeof b);
	b[4] = 0x00;
	struct kreader r;
	struct broker_registration_request got;
	kr_init(&r, b, sizeof b);
	assert_int_equal(broker_registration_request_decode(&r, 3, &got), -1);
}

static void broker_registration__bad_version_fails(void **state)
{
	struct kreader r;
	struct broker_registration_request req;
	struct broker_registration_response resp;
	kr_init(&r, request_v3_bytes, sizeof request_v3_bytes);
	assert_int_equal(broker_registration_request_decode(&r, 4, &req), -1);
	kr_init(&r, response_v0_bytes, sizeof response_v0_bytes);
	assert_int_equal(broker_registration_response_decode(&r, -1, &resp), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(broker_registration_request__round_trips_every_version),
		cmocka_unit_test(broker_registration_response__round_trips_every_version),
		cmocka_unit_test(broker_registration_request__v3_matches_kafka_layout),
		cmocka_unit_test(broker_registration_response__v0_matches_kafka_layout),
		cmocka_unit_test(broker_registration_request__bad_counts_fail),
		cmocka_unit_test(broker_registration__bad_version_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
