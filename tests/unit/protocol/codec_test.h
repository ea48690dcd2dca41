/* Shared by the codec tests: an exact-size copy (so ASan catches a read past
 * the end), a round trip that also checks every strict prefix fails, and
 * string view helpers. */
#ifndef TERN_TESTS_UNIT_PROTOCOL_CODEC_TEST_H
#define TERN_TESTS_UNIT_PROTOCOL_CODEC_TEST_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

/* An exact-size heap copy, so a read past the end is caught by ASan. */
static inline uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

/* Encodes `in`, decodes it back into `out`, runs `check`, re-encodes and
 * checks the bytes are identical; every strict prefix must fail to decode. */
#define ROUNDTRIP(prefix, type, v, in, check)                                                          \
	do {                                                                                           \
		struct kwriter w1_, w2_;                                                               \
		struct kreader r_;                                                                     \
		struct type out;                                                                       \
		kw_init(&w1_, 16);                                                                     \
		prefix##_encode(&w1_, (v), (in));                                                      \
		assert_true(kw_ok(&w1_));                                                              \
		kr_init(&r_, w1_.buf, w1_.len);                                                        \
		assert_int_equal(prefix##_decode(&r_, (v), &out), 0);                                  \
		assert_int_equal(r_.left, 0);                                                          \
		check;                                                                                 \
		kw_init(&w2_, 16);                                                                     \
		prefix##_encode(&w2_, (v), &out);                                                      \
		assert_int_equal(w1_.len, w2_.len);                                                    \
		assert_memory_equal(w1_.buf, w2_.buf, w1_.len);                                        \
		prefix##_free(&out);                                                                   \
		for (size_t k_ = 0; k_ < w1_.len; k_++) {                                              \
			uint8_t *c_ = dup_exact(w1_.buf, k_);                                          \
			struct type t_;                                                                \
			struct kreader tr_;                                                            \
			kr_init(&tr_, c_, k_);                                                         \
			assert_int_equal(prefix##_decode(&tr_, (v), &t_), -1);                         \
			free(c_);                                                                      \
		}                                                                                      \
		kw_free(&w1_);                                                                         \
		kw_free(&w2_);                                                                         \
	} while (0)

#define KS(s) ((struct kstr){(s), (int32_t)sizeof(s) - 1})

static inline bool ks_eq(struct kstr a, struct kstr b)
{
	return a.len == b.len && (a.len <= 0 || memcmp(a.p, b.p, (size_t)a.len) == 0);
}

#endif
