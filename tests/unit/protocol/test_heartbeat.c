#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "broker/protocol/heartbeat.h"

#define KS(s) ((struct kstr){(s), (int32_t)sizeof(s) - 1})
#define KNULL ((struct kstr){NULL, -1})

static bool ks_eq(struct kstr a, struct kstr b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

/* Encodes `in`, decodes it back, re-encodes the result and checks the bytes
 * are identical; every strict prefix of the encoding must fail to decode.
 * `check` runs on the decoded struct `out`. */
#define ROUNDTRIP(prefix, type, v, in, check)                                                                  \
	do {                                                                                                   \
		struct kwriter w1_, w2_;                                                                       \
		struct kreader r_;                                                                             \
		struct type out;                                                                               \
		kw_init(&w1_, 64);                                                                             \
		prefix##_encode(&w1_, (v), (in));                                                              \
		assert_true(kw_ok(&w1_));                                                                      \
		kr_init(&r_, w1_.buf, w1_.len);                                                                \
		assert_int_equal(prefix##_decode(&r_, (v), &out), 0);                                          \
		assert_int_equal(r_.left, 0);                                                                  \
		check;                                                                                         \
		kw_init(&w2_, 64);                                                                             \
		prefix##_encode(&w2_, (v), &out);                                                              \
		assert_int_equal(w1_.len, w2_.len);                                                            \
		assert_memory_equal(w1_.buf, w2_.buf, w1_.len);                                                \
		prefix##_free(&out);                                                                           \
		for (size_t k_ = 0; k_ < w1_.len; k_++) {                                                      \
			struct type t_;                                                                        \
			struct kreader tr_;                                                                    \
			kr_init(&tr_, w1_.buf, k_);                                                            \
			assert_int_equal(prefix##_decode(&tr_, (v), &t_), -1);                                 \
		}                                                                                              \
		kw_free(&w1_);                                                                                 \
		kw_free(&w2_);                                                                                 \
	} while (0)

static void heartbeat_request__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = HEARTBEAT_MIN_VERSION; v <= HEARTBEAT_MAX_VERSION; v++) {
		struct heartbeat_request in = {
			.group_id = KS("g1"),
			.generation_id = 12,
			.member_id = KS("m-1"),
			.group_instance_id = v >= 3 ? KS("inst") : KNULL,
		};
		ROUNDTRIP(heartbeat_request, heartbeat_request, v, &in, {
			assert_int_equal(out.generation_id, 12);
			assert_true(ks_eq(out.member_id, KS("m-1")));
			assert_true(ks_eq(out.group_instance_id, in.group_instance_id));
		});
	}
}

static void heartbeat_response__round_trips_every_version(void **state)
{
	(void)state;
	for (int16_t v = HEARTBEAT_MIN_VERSION; v <= HEARTBEAT_MAX_VERSION; v++) {
		struct heartbeat_response in = {.throttle_time_ms = v >= 1 ? 3 : 0, .error_code = 27};
		ROUNDTRIP(heartbeat_response, heartbeat_response, v, &in, {
			assert_int_equal(out.error_code, 27);
			assert_int_equal(out.throttle_time_ms, in.throttle_time_ms);
		});
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heartbeat_request__round_trips_every_version),
		cmocka_unit_test(heartbeat_response__round_trips_every_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
