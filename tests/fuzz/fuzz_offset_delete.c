/* libFuzzer target: the OffsetDelete (API key 47) request and response
 * decoders.
 *
 * The first byte picks the version (only v0 exists today; the byte is kept
 * so the input layout matches the other targets); the rest is the body.
 * Whatever decodes must re-encode, and the re-encoding must decode to the
 * same bytes again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/offset_delete.h"

#define FUZZ_ROUNDTRIP(prefix, type, v, data, size)                                                   \
	do {                                                                                          \
		struct type m_;                                                                       \
		struct kreader r_;                                                                    \
		kr_init(&r_, (data), (size));                                                         \
		if (prefix##_decode(&r_, (v), &m_) != 0)                                              \
			break;                                                                        \
		struct kwriter w1_, w2_;                                                              \
		kw_init(&w1_, 64);                                                                    \
		prefix##_encode(&w1_, (v), &m_);                                                      \
		prefix##_free(&m_);                                                                   \
		if (!kw_ok(&w1_))                                                                     \
			abort();                                                                      \
		struct type m2_;                                                                      \
		kr_init(&r_, w1_.buf, w1_.len);                                                       \
		if (prefix##_decode(&r_, (v), &m2_) != 0 || r_.left != 0)                             \
			abort();                                                                      \
		kw_init(&w2_, 64);                                                                    \
		prefix##_encode(&w2_, (v), &m2_);                                                     \
		prefix##_free(&m2_);                                                                  \
		if (w1_.len != w2_.len || memcmp(w1_.buf, w2_.buf, w1_.len) != 0)                     \
			abort();                                                                      \
		kw_free(&w1_);                                                                        \
		kw_free(&w2_);                                                                        \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int16_t v = (int16_t)(OFFSET_DELETE_MIN_VERSION +
			      data[0] % (OFFSET_DELETE_MAX_VERSION - OFFSET_DELETE_MIN_VERSION + 1));
	FUZZ_ROUNDTRIP(offset_delete_request, offset_delete_request, v, data + 1, size - 1);
	FUZZ_ROUNDTRIP(offset_delete_response, offset_delete_response, v, data + 1, size - 1);
	return 0;
}
