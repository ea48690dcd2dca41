/* legacy: message sets of magic 0 and 1, as Produce v0-v2 carry them,
 * validated and up-converted into one record batch v2, which is what the log
 * stores (Kafka 3.x's LogValidator does the same conversion on append).
 *
 * A legacy message set is messages back to back (big-endian):
 *
 *   offset i64 | message_size i32 | message (message_size bytes):
 *     crc u32          CRC-32 (zlib's, IEEE) of magic..end of the message
 *     magic i8         0 or 1
 *     attributes i8    bits 0-2 codec (0 none, 1 gzip, 2 snappy, 3 lz4),
 *                      bit 3 (magic 1) timestamp type: 1 = LogAppendTime
 *     timestamp i64    magic 1 only (ms); magic 0 has none (-1 after conversion)
 *     key_length i32 (-1 null), key | value_length i32 (-1 null), value
 *
 * A compressed message (a "wrapper") has a null key and, as its value, the
 * compressed bytes of an inner message set of uncompressed messages of the
 * wrapper's magic. Inner offsets are absolute for magic 0 (producers write
 * 0..n-1) and relative for magic 1, where the wrapper's offset is the last
 * inner offset, or 0 as some librdkafka versions write it. The broker assigns
 * offsets anyway, so only Kafka's consistency check on them is kept.
 *
 * Codec framings accepted in wrappers are compress.h's, plus the LZ4 quirk of
 * magic 0 (KIP-57): clients before Kafka 0.10 computed the LZ4 frame header
 * checksum over the frame magic too, so for magic 0 that byte is ignored,
 * as Kafka's KafkaLZ4BlockInputStream does; magic 1 LZ4 must be correct.
 *
 * Nothing here keeps state; all functions are thread-safe.
 */
#ifndef TERN_PROTOCOL_LEGACY_H
#define TERN_PROTOCOL_LEGACY_H

#include <stddef.h>
#include <stdint.h>

/* Log overhead (offset + message_size) and the smallest message of each
 * magic (crc, magic, attributes, [timestamp,] key and value lengths). */
#define LEGACY_LOG_OVERHEAD 12
#define LEGACY_MIN_MESSAGE_V0 14
#define LEGACY_MIN_MESSAGE_V1 22

/* Validates the record set `buf` / `len` (borrowed) of one partition of a
 * Produce v0-v2 request and converts it into one record batch v2 as a
 * producer would send it: base offset 0, offset deltas 0..n-1, no producer
 * id, CreateTime, the messages' timestamps (-1 for magic 0), keys and values,
 * no headers, compressed with the wrapper's codec (none for a set of
 * uncompressed messages), CRC-32C set. Offsets, leader epoch and
 * LogAppendTime are the appender's job, as for any v2 batch.
 *
 * When the set starts with a magic 2 batch there is nothing to convert:
 * returns KERR_NONE with *out NULL, and the caller checks the batch like a
 * v3+ one (Kafka accepts record batches v2 in Produce v0-v2).
 *
 * Otherwise, on success *out is a malloc'd batch of *out_len bytes owned by
 * the caller (free()). Errors, as Kafka 3.8 answers them where it can:
 *
 *   empty set, or null                      INVALID_RECORD (Kafka: "no batches")
 *   message_size < 14, a truncated message,
 *   or magic not 0..2                       CORRUPT_MESSAGE (Kafka's
 *                                           ByteBufferLogInputStream; Kafka
 *                                           drops a trailing partial message
 *                                           silently, Tern refuses the set)
 *   CRC mismatch, outer or inner            CORRUPT_MESSAGE
 *   a magic differing from the first
 *   message's, or an inner message's magic
 *   differing from its wrapper's            INVALID_RECORD
 *   key or value length negative (not -1),
 *   overrunning, or bytes after the value;
 *   a magic 1 message under 22 bytes        INVALID_RECORD (Kafka fails with an
 *                                           unchecked exception, which reaches
 *                                           the client as UNKNOWN_SERVER_ERROR)
 *   LogAppendTime set by the producer       INVALID_TIMESTAMP (as batch.h for
 *                                           v2; Kafka lets it pass when the
 *                                           topic uses CreateTime)
 *   codec 4 (zstd) in a wrapper             INVALID_RECORD (Kafka's
 *                                           DeepRecordsIterator)
 *   codec 5..7                              UNSUPPORTED_COMPRESSION_TYPE
 *   a wrapper that is not the only message  INVALID_RECORD ("Compressed outer
 *                                           record has more than one batch")
 *   a wrapper with a null value, no inner
 *   messages, or an inner message that is
 *   itself compressed (nesting)             INVALID_RECORD
 *   an inner message_size < 14              CORRUPT_MESSAGE
 *   a truncated inner message or trailing
 *   bytes in the inner set                  INVALID_RECORD (Kafka drops them)
 *   magic 1 wrapper offset neither 0 nor at
 *   least the last inner offset             INVALID_RECORD
 *   wrapper value undecodable by its codec  INVALID_RECORD (as batch.h)
 *   decompressed past max_uncompressed      MESSAGE_TOO_LARGE (a bound against
 *                                           decompression bombs)
 *   out of memory                           UNKNOWN_SERVER_ERROR
 *
 * Checks that need topic configuration (max.message.bytes, keys of compacted
 * topics, timestamp ranges) apply to the converted batch, as for v3+.
 * Returns KERR_NONE or the Kafka error code; *out is NULL on error. */
int legacy_upconvert(const uint8_t *buf, size_t len, size_t max_uncompressed, uint8_t **out, size_t *out_len);

/* CRC-32 (zlib's) of a legacy message as stored in its crc field: over bytes
 * 4..size of the message (magic to end). `msg` holds size >= 5 bytes. */
uint32_t legacy_message_crc(const uint8_t *msg, size_t size);

/* XXH32 with seed 0, which the LZ4 frame header checksum uses. */
uint32_t legacy_xxh32(const uint8_t *p, size_t n);

#endif
