/* Fuzz target for legacy message sets (Produce v0-v2): the input is a record
 * set handed to legacy_upconvert with a 1 MiB decompression bound. Whatever
 * converts must be a record batch v2 that batch_validate accepts, with the
 * codec of the input's wrapper; failures must be one of the documented Kafka
 * codes and leave nothing allocated.
 *
 * A first byte of 0xFF (then a codec byte and a magic byte) makes the rest
 * the value of a compressed wrapper, built here with a correct CRC, so the
 * fuzzer reaches the inner-set parser without having to forge CRC-32s. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/legacy.h"

#define FUZZ_MAX_UNCOMPRESSED ((size_t)1 << 20)

static void fuzz_legacy_check(const uint8_t *p, size_t n)
{
	uint8_t *out = NULL;
	size_t len = 0;
	int err = legacy_upconvert(p, n, FUZZ_MAX_UNCOMPRESSED, &out, &len);
	switch (err) {
	case KERR_NONE:
		if (out == NULL)
			return; /* a magic-2 batch: left to batch_validate */
		if (batch_validate(out, len, FUZZ_MAX_UNCOMPRESSED * 2, NULL) != KERR_NONE)
			abort();
		free(out);
		return;
	case KERR_CORRUPT_MESSAGE:
	case KERR_INVALID_RECORD:
	case KERR_INVALID_TIMESTAMP:
	case KERR_UNSUPPORTED_COMPRESSION_TYPE:
	case KERR_MESSAGE_TOO_LARGE:
		if (out != NULL || len != 0)
			abort();
		return;
	default:
		abort();
	}
}

/* offset, size, crc, magic, attributes, [timestamp,] null key, value. */
static void fuzz_legacy_wrap(uint8_t codec, uint8_t magic, const uint8_t *value, size_t n)
{
	struct kwriter w;
	kw_init(&w, n + 64);
	kw_i64(&w, 0);
	size_t size_at = kw_reserve(&w, 4);
	size_t start = w.len;
	kw_u32(&w, 0);
	kw_i8(&w, (int8_t)(magic & 1));
	kw_i8(&w, (int8_t)(codec & 0x0f));
	if (magic & 1)
		kw_i64(&w, 1700000000000LL);
	kw_i32(&w, -1);
	kw_bytes(&w, value, (int32_t)n);
	if (!kw_ok(&w))
		abort();
	size_t size = w.len - start;
	kw_put_i32_at(&w, size_at, (int32_t)size);
	kw_put_u32_at(&w, start, legacy_message_crc(w.buf + start, size));
	fuzz_legacy_check(w.buf, w.len);
	kw_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > ((size_t)1 << 22))
		return 0;
	if (size >= 3 && data[0] == 0xFF) {
		fuzz_legacy_wrap(data[1], data[2], data + 3, size - 3);
		return 0;
	}
	/* An exact copy, so reading past the end is caught. */
	uint8_t *c = malloc(size ? size : 1);
	if (!c)
		return 0;
	if (size)
		memcpy(c, data, size);
	fuzz_legacy_check(c, size);
	free(c);
	return 0;
}
