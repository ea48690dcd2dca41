/* compress: the four codecs of Kafka record batches (magic 2), as clients
 * write and read them. Codec ids are enum batch_compression (batch.h):
 *
 *   gzip   (1) a gzip stream (RFC 1952), as java.util.zip.GZIPOutputStream
 *              writes; concatenated members are accepted on input.
 *   snappy (2) input: raw snappy (librdkafka writes this) or the xerial
 *              framing of snappy-java ("\x82SNAPPY\0", two big-endian int32
 *              versions, then [int32 BE length][raw snappy block]...), which
 *              the Java producer writes. Output: xerial framing with 32 KiB
 *              blocks like the Java producer, because every client reads it
 *              (snappy-java's SnappyInputStream, librdkafka, kafka-python,
 *              Sarama, franz-go), whereas raw snappy relies on each reader's
 *              fallback for unframed data.
 *   lz4    (3) the standard LZ4 frame format. KIP-57 fixed the frame header
 *              checksum for magic >= 1; the broken pre-KIP-57 checksum only
 *              concerns magic 0 and is not supported. Output: independent
 *              64 KiB blocks without block or content checksums, the frame
 *              Kafka's KafkaLZ4BlockOutputStream writes and the only shape
 *              its KafkaLZ4BlockInputStream is sure to read (it decodes each
 *              block on its own, so linked blocks would break Java consumers).
 *   zstd   (4) one or more zstd frames, with or without a content size.
 *
 * Decompression output is bounded by the caller (max_out) so that a small
 * batch cannot expand into gigabytes (a decompression bomb): the decoders
 * stop as soon as the output would pass the bound.
 *
 * Nothing here keeps state between calls; all functions are thread-safe.
 */
#ifndef TERN_PROTOCOL_COMPRESS_H
#define TERN_PROTOCOL_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

enum {
	COMPRESS_OK = 0,
	COMPRESS_EUNSUPPORTED = -1, /* codec id not 1..4 */
	COMPRESS_ECORRUPT = -2,     /* input is not a valid stream of that codec */
	COMPRESS_ETOOBIG = -3,      /* output would exceed max_out */
	COMPRESS_ENOMEM = -4,       /* allocation failed */
};

/* Decompresses `in` (borrowed) with `codec` into a malloc'd buffer returned in
 * *out / *out_len; the caller frees *out with free(). The output never exceeds
 * max_out bytes: a stream that would produce more fails with COMPRESS_ETOOBIG.
 * On error *out is NULL and *out_len 0. An empty output is returned as a
 * non-NULL 1-byte allocation with *out_len == 0.
 * Returns COMPRESS_OK or a negative COMPRESS_E* code. */
int compress_decompress(int codec, const uint8_t *in, size_t in_len, size_t max_out,
			uint8_t **out, size_t *out_len);

/* Compresses `in` (borrowed; in_len may be 0) with `codec` into a malloc'd
 * buffer returned in *out / *out_len, freed by the caller with free().
 * Returns COMPRESS_OK or a negative COMPRESS_E* code (*out NULL then). */
int compress_compress(int codec, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len);

/* A short name for a COMPRESS_E* code, for log lines. */
const char *compress_strerror(int err);

#endif
