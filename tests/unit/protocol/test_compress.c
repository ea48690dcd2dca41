#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/compress.h"

static const int codecs[] = {BATCH_COMPRESSION_GZIP, BATCH_COMPRESSION_SNAPPY, BATCH_COMPRESSION_LZ4,
			     BATCH_COMPRESSION_ZSTD};
#define NCODECS (sizeof codecs / sizeof codecs[0])

/* Half text-like (compressible), half pseudo-random (not), so that every
 * codec goes through several blocks (snappy 32 KiB, lz4 64 KiB). */
static uint8_t *make_input(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < n; i++) {
		if ((i / 4096) % 2 == 0) {
			p[i] = (uint8_t)"the quick brown fox "[i % 20];
		} else {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			p[i] = (uint8_t)x;
		}
	}
	return p;
}

static void roundtrip(int codec, const uint8_t *in, size_t n)
{
	uint8_t *c, *d;
	size_t clen, dlen;
	assert_int_equal(compress_compress(codec, in, n, &c, &clen), COMPRESS_OK);
	assert_non_null(c);
	assert_int_equal(compress_decompress(codec, c, clen, n, &d, &dlen), COMPRESS_OK);
	assert_non_null(d);
	assert_int_equal(dlen, n);
	if (n)
		assert_memory_equal(d, in, n);
	free(c);
	free(d);
}

static void compress__roundtrip_every_codec(void **state)
{
	size_t sizes[] = {1, 100, 32 * 1024, 32 * 1024 + 1, 200000};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		uint8_t *in = make_input(sizes[s]);
		for (size_t i = 0; i < NCODECS; i++)
			roundtrip(codecs[i], in, sizes[s]);
		free(in);
	}
}

static void compress__empty_input_roundtrips(void **state)
{
	for (size_t i = 0; i < NCODECS; i++)
		roundtrip(codecs[i], NULL, 0);
}

static void compress__bomb_is_bounded(void **state)
{
	size_t n = 8 * 1024 * 1024;
	uint8_t *zeros = calloc(1, n);
	for (size_t i = 0; i < NCODECS; i++) {
		uint8_t *c, *d;
		size_t clen, dlen;
		assert_int_equal(compress_compress(codecs[i], zeros, n, &c, &clen), COMPRESS_OK);
		assert_true(clen < n / 10);
		assert_int_equal(compress_decompress(codecs[i], c, clen, 1024 * 1024, &d, &dlen), COMPRESS_ETOOBIG);
		assert_null(d);
		assert_int_equal(dlen, 0);
		/* One byte under the real size still fails; the exact size passes. */
		assert_int_equal(compress_decompress(codecs[i], c, clen, n - 1, &d, &dlen), COMPRESS_ETOOBIG);
		assert_int_equal(compress_decompress(codecs[i], c, clen, n, &d, &dlen), COMPRESS_OK);
		assert_int_equal(dlen, n);
		free(d);
		free(c);
	}
	free(zeros);
}

static void compress__truncated_or_garbage_input_fails(void **state)
{
	uint8_t *in = make_input(70000);
	for (size_t i = 0; i < NCODECS; i++) {
		uint8_t *c, *d;
		size_t clen, dlen;
		assert_int_equal(compress_compress(codecs[i], in, 70000, &c, &clen), COMPRESS_OK);
		assert_int_equal(compress_decompress(codecs[i], c, clen / 2, 1 << 20, &d, &dlen), COMPRESS_ECORRUPT);
		assert_null(d);
		free(c);

		uint8_t garbage[64];
		memset(garbage, 0xa5, sizeof garbage);
		assert_int_equal(compress_decompress(codecs[i], garbage, sizeof garbage, 1 << 20, &d, &dlen),
				 COMPRESS_ECORRUPT);
		assert_int_equal(compress_decompress(codecs[i], garbage, 0, 1 << 20, &d, &dlen), COMPRESS_ECORRUPT);
	}
	free(in);
}

static void compress__snappy_reads_raw_and_xerial(void **state)
{
	uint8_t *in = make_input(100000);
	/* Raw snappy, as librdkafka writes it. */
	size_t clen = snappy_max_compressed_length(100000);
	char *raw = malloc(clen);
	assert_int_equal(snappy_compress((const char *)in, 100000, raw, &clen), SNAPPY_OK);
	uint8_t *d;
	size_t dlen;
	assert_int_equal(compress_decompress(BATCH_COMPRESSION_SNAPPY, (uint8_t *)raw, clen, 100000, &d, &dlen),
			 COMPRESS_OK);
	assert_int_equal(dlen, 100000);
	assert_memory_equal(d, in, dlen);
	free(d);
	free(raw);

	/* What we write is xerial-framed, as the Java producer writes. */
	uint8_t *c;
	assert_int_equal(compress_compress(BATCH_COMPRESSION_SNAPPY, in, 100000, &c, &clen), COMPRESS_OK);
	assert_memory_equal(c, "\x82SNAPPY\0", 8);
	assert_memory_equal(c + 8, "\0\0\0\1\0\0\0\1", 8);
	/* A block length running past the end is corrupt. */
	c[16] = 0x7f;
	assert_int_equal(compress_decompress(BATCH_COMPRESSION_SNAPPY, c, clen, 1 << 20, &d, &dlen),
			 COMPRESS_ECORRUPT);
	free(c);
	free(in);
}

static void compress__gzip_reads_concatenated_members(void **state)
{
	uint8_t *a, *b;
	size_t alen, blen;
	assert_int_equal(compress_compress(BATCH_COMPRESSION_GZIP, (const uint8_t *)"hello ", 6, &a, &alen), 0);
	assert_int_equal(compress_compress(BATCH_COMPRESSION_GZIP, (const uint8_t *)"world", 5, &b, &blen), 0);
	uint8_t *both = malloc(alen + blen);
	memcpy(both, a, alen);
	memcpy(both + alen, b, blen);
	uint8_t *d;
	size_t dlen;
	assert_int_equal(compress_decompress(BATCH_COMPRESSION_GZIP, both, alen + blen, 100, &d, &dlen), 0);
	assert_int_equal(dlen, 11);
	assert_memory_equal(d, "hello world", 11);
	free(d);
	free(both);
	free(a);
	free(b);
}

static void compress__lz4_frame_is_what_kafka_writes(void **state)
{
	uint8_t *c;
	size_t clen;
	assert_int_equal(compress_compress(BATCH_COMPRESSION_LZ4, (const uint8_t *)"abc", 3, &c, &clen), 0);
	assert_memory_equal(c, "\x04\x22\x4d\x18", 4);
	/* FLG: version 01, independent blocks, no checksums, no content size. */
	assert_int_equal(c[4], 0x60);
	/* BD: 64 KiB maximum block size. */
	assert_int_equal(c[5], 0x40);
	free(c);
}

static void compress__unknown_codec_fails(void **state)
{
	uint8_t *d;
	size_t dlen;
	assert_int_equal(compress_decompress(0, (const uint8_t *)"x", 1, 10, &d, &dlen), COMPRESS_EUNSUPPORTED);
	assert_int_equal(compress_decompress(5, (const uint8_t *)"x", 1, 10, &d, &dlen), COMPRESS_EUNSUPPORTED);
	assert_int_equal(compress_compress(7, (const uint8_t *)"x", 1, &d, &dlen), COMPRESS_EUNSUPPORTED);
	assert_string_equal(compress_strerror(COMPRESS_ETOOBIG), "decompressed size over the limit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compress__roundtrip_every_codec),
		cmocka_unit_test(compress__empty_input_roundtrips),
		cmocka_unit_test(compress__bomb_is_bounded),
		cmocka_unit_test(compress__truncated_or_garbage_input_fails),
		cmocka_unit_test(compress__snappy_reads_raw_and_xerial),
		cmocka_unit_test(compress__gzip_reads_concatenated_members),
		cmocka_unit_test(compress__lz4_frame_is_what_kafka_writes),
		cmocka_unit_test(compress__unknown_codec_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
