/* Record batches (magic v2), as on the wire and on disk.
 *
 * Layout (big-endian), 61 bytes of header then the records:
 *   0 base_offset i64 | 8 batch_length i32 (bytes after this field)
 *  12 partition_leader_epoch i32 | 16 magic i8 | 17 crc u32 (CRC-32C of bytes 21..end)
 *  21 attributes i16 | 23 last_offset_delta i32 | 27 base_timestamp i64
 *  35 max_timestamp i64 | 43 producer_id i64 | 51 producer_epoch i16
 *  53 base_sequence i32 | 57 records_count i32 | 61 records...
 */
#ifndef TERN_PROTOCOL_BATCH_H
#define TERN_PROTOCOL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BATCH_HEADER_SIZE 61
#define BATCH_LOG_OVERHEAD 12 /* base_offset + batch_length */

#define BATCH_OFF_BASE_OFFSET 0
#define BATCH_OFF_LENGTH 8
#define BATCH_OFF_LEADER_EPOCH 12
#define BATCH_OFF_MAGIC 16
#define BATCH_OFF_CRC 17
#define BATCH_OFF_ATTRIBUTES 21
#define BATCH_OFF_LAST_OFFSET_DELTA 23
#define BATCH_OFF_BASE_TIMESTAMP 27
#define BATCH_OFF_MAX_TIMESTAMP 35
#define BATCH_OFF_PRODUCER_ID 43
#define BATCH_OFF_PRODUCER_EPOCH 51
#define BATCH_OFF_BASE_SEQUENCE 53
#define BATCH_OFF_RECORDS_COUNT 57

/* attributes */
#define BATCH_ATTR_COMPRESSION_MASK 0x07
#define BATCH_ATTR_TIMESTAMP_LOG_APPEND 0x08
#define BATCH_ATTR_TRANSACTIONAL 0x10
#define BATCH_ATTR_CONTROL 0x20

enum batch_compression {
	BATCH_COMPRESSION_NONE = 0,
	BATCH_COMPRESSION_GZIP = 1,
	BATCH_COMPRESSION_SNAPPY = 2,
	BATCH_COMPRESSION_LZ4 = 3,
	BATCH_COMPRESSION_ZSTD = 4,
};

struct batch_header {
	int64_t base_offset;
	int32_t batch_length; /* bytes after the length field */
	int32_t partition_leader_epoch;
	int8_t magic;
	uint32_t crc;
	int16_t attributes;
	int32_t last_offset_delta;
	int64_t base_timestamp;
	int64_t max_timestamp;
	int64_t producer_id;
	int16_t producer_epoch;
	int32_t base_sequence;
	int32_t records_count;
};

/* Total size of the batch on the wire: BATCH_LOG_OVERHEAD + batch_length. */
static inline size_t batch_total_size(const struct batch_header *h)
{
	return (size_t)BATCH_LOG_OVERHEAD + (size_t)h->batch_length;
}

/* Decodes the fixed header from `len` available bytes. Returns 0, or -1 when
 * fewer than BATCH_HEADER_SIZE bytes are there or batch_length is below the
 * header's own size. Does not check magic, CRC or that the body is present. */
int batch_header_parse(const uint8_t *buf, size_t len, struct batch_header *out);

/* True when the stored CRC matches CRC-32C over bytes 21..end. `buf` holds the
 * whole batch (batch_total_size bytes). */
bool batch_crc_ok(const uint8_t *buf, size_t total_size);

/* Rewrites base offset and partition leader epoch in place (outside the CRC's
 * range); with log_append_time >= 0 also sets LogAppendTime (attribute bit +
 * max_timestamp) and recomputes the CRC. The records are not touched (no
 * re-compression). */
void batch_assign_offsets(uint8_t *buf, size_t total_size, int64_t base_offset,
			  int32_t leader_epoch, int64_t log_append_time);

/* Big-endian helpers for fixed offsets in a batch. */
int64_t batch_get_i64(const uint8_t *p);
int32_t batch_get_i32(const uint8_t *p);
void batch_put_i64(uint8_t *p, int64_t v);
void batch_put_i32(uint8_t *p, int32_t v);

/* Sets max_timestamp in the header; returns true when it changed, and then
 * the caller must batch_update_crc(). Kafka's LogValidator rewrites
 * max_timestamp of a CreateTime batch with the largest record timestamp it
 * found (batch_info.max_timestamp), whatever the producer wrote. */
bool batch_set_max_timestamp(uint8_t *buf, int64_t max_timestamp);
/* Recomputes the CRC-32C of a whole batch in place. */
void batch_update_crc(uint8_t *buf, size_t total_size);

/* ---- Splitting a record set into batches --------------------------------
 *
 * A produce request's records field, a fetch response's or a segment file's
 * bytes are batches back to back. The iterator yields each whole batch; it
 * reads only the length and magic, never the body.
 */
struct batch_iter {
	const uint8_t *p; /* next unread byte (borrowed) */
	size_t left;      /* bytes after p */
	int err;          /* KERR_NONE, or KERR_CORRUPT_MESSAGE once it stopped on
			     bad bytes; sticky */
};

void batch_iter_init(struct batch_iter *it, const uint8_t *buf, size_t len);

/* Returns true with *batch / *size set to the next whole batch (a view into
 * the buffer). Returns false at the end: it->err is KERR_NONE when the bytes
 * ended exactly after a batch, KERR_CORRUPT_MESSAGE when a trailing partial
 * batch remains or a length or magic is impossible (batch_length below the
 * smallest legacy message, below the v2 header for magic 2, magic outside
 * 0..2). Kafka's ByteBufferLogInputStream throws CorruptRecordException for
 * the impossible cases and silently drops a trailing partial batch; a broker
 * that answers a produce with an error instead of dropping bytes is safer,
 * and log recovery needs to know where the valid bytes end. */
bool batch_iter_next(struct batch_iter *it, const uint8_t **batch, size_t *size);

/* Bytes consumed so far by the iterator from the start of its buffer. */
static inline size_t batch_iter_offset(const struct batch_iter *it, const uint8_t *start)
{
	return (size_t)(it->p - start);
}

/* ---- Validation of a batch from a producer ------------------------------ */

/* What batch_validate() learned about a valid batch. */
struct batch_info {
	int16_t attributes;
	int codec;               /* enum batch_compression */
	int32_t records_count;   /* > 0, equal to the records decoded */
	int32_t last_offset_delta; /* == records_count - 1 */
	int64_t base_timestamp;
	int64_t max_timestamp;   /* largest record timestamp, at least -1 (Kafka's
				    LogValidator writes this into the header) */
	int64_t min_timestamp;   /* smallest record timestamp other than -1
				    (NO_TIMESTAMP), or -1 when none has one */
	int64_t producer_id;     /* -1: not idempotent */
	int16_t producer_epoch;
	int32_t base_sequence;
	bool transactional;
	bool has_null_key;       /* some record has a null key (compacted topics
				    refuse it with INVALID_RECORD) */
	size_t records_size;     /* bytes of the records area, decompressed */
};

/* Full validation of one batch received from a producer (produce v3+), as
 * Kafka 3.8 does it across ProduceRequest.validateRecords,
 * UnifiedLog.analyzeAndValidateRecords, LogValidator and DefaultRecordBatch.
 * `buf` holds exactly one batch of `total_size` bytes (borrowed; not
 * modified). Checks, in Kafka's order, with the code answered:
 *
 *   fewer than 17 bytes, or batch_length + 12 != total_size
 *                                   CORRUPT_MESSAGE (Kafka: the batch is cut
 *                                   short, CorruptRecordException)
 *   magic 0 or 1                    UNSUPPORTED_FOR_MESSAGE_FORMAT, the
 *                                   project's choice (it names the cause).
 *                                   Kafka 3.8 answers INVALID_RECORD here:
 *                                   ProduceRequest.validateRecords throws
 *                                   InvalidRecordException ("only allowed to
 *                                   contain record batches with magic
 *                                   version 2") for produce v3+.
 *   any other magic                 CORRUPT_MESSAGE (Kafka's
 *                                   ByteBufferLogInputStream: "Invalid magic")
 *   fewer than 61 bytes             CORRUPT_MESSAGE (DefaultRecordBatch.isValid)
 *   base_offset != 0                INVALID_RECORD (analyzeAndValidateRecords)
 *   CRC-32C mismatch                CORRUPT_MESSAGE (analyzeAndValidateRecords)
 *   codec 5..7                      UNSUPPORTED_COMPRESSION_TYPE (Kafka throws
 *                                   IllegalArgumentException from
 *                                   CompressionType.forId, which reaches the
 *                                   client as UNKNOWN_SERVER_ERROR; the specific
 *                                   code says what is wrong)
 *   last_offset_delta < 0, records_count <= 0, or records_count !=
 *   last_offset_delta + 1           INVALID_RECORD (LogValidator.validateBatch)
 *   control batch                   INVALID_RECORD (validateBatch)
 *   producer_id >= 0 and base_sequence < 0
 *                                   INVALID_RECORD (validateBatch)
 *   LogAppendTime attribute set     INVALID_TIMESTAMP (validateTimestamp:
 *                                   "Producer should not set timestamp type
 *                                   to LogAppendTime")
 *   records area decompresses past max_uncompressed
 *                                   MESSAGE_TOO_LARGE (Tern's bound against
 *                                   decompression bombs; Kafka has none. The
 *                                   Java producer splits a batch answered so.)
 *   records area not decodable by its codec
 *                                   INVALID_RECORD (Kafka: KafkaException,
 *                                   i.e. UNKNOWN_SERVER_ERROR; a CRC-valid
 *                                   batch the client compressed wrong will
 *                                   never pass, so a non-retriable code)
 *   a record malformed, or not ending at its declared length, fewer or more
 *   records than records_count, bytes left after the last record
 *                                   INVALID_RECORD (DefaultRecord.readFrom,
 *                                   "Incorrect declared batch size")
 *   offset_delta of record i != i   INVALID_RECORD (Kafka 3.8 instead rebuilds
 *                                   such a batch for "some older clients"; Tern
 *                                   appends batches as received, and every
 *                                   current client writes 0..n-1)
 *
 * Not checked here, because they need topic configuration or the clock (the
 * caller does them with `info`): max.message.bytes (MESSAGE_TOO_LARGE),
 * keys on compacted topics (has_null_key -> INVALID_RECORD), the CreateTime
 * range (min/max_timestamp against message.timestamp.before/after.max.ms ->
 * INVALID_TIMESTAMP), and produce < v7 with zstd (UNSUPPORTED_COMPRESSION_TYPE).
 *
 * `max_uncompressed` bounds the decompressed records area; the memory is
 * freed before returning. `info` may be NULL; it is filled only on success.
 * Returns KERR_NONE or the Kafka error code. */
int batch_validate(const uint8_t *buf, size_t total_size, size_t max_uncompressed, struct batch_info *info);

/* ---- The records area of a batch ---------------------------------------- */

/* The records area of a batch, decompressed when the batch is compressed. */
struct batch_records {
	const uint8_t *p; /* first record: into the batch (uncompressed) or owned */
	size_t len;       /* bytes */
	uint8_t *owned;   /* decompressed copy or NULL; freed by batch_records_free */
};

/* Opens the records area of a batch of total_size >= BATCH_HEADER_SIZE bytes
 * (borrowed; for an uncompressed batch out->p points into it, so it must
 * outlive *out). The CRC is not checked here. Returns KERR_NONE,
 * KERR_UNSUPPORTED_COMPRESSION_TYPE, KERR_MESSAGE_TOO_LARGE (decompressed size
 * over max_uncompressed), KERR_INVALID_RECORD (undecodable) or
 * KERR_CORRUPT_MESSAGE (too short). On error nothing needs freeing. */
int batch_records_open(const uint8_t *buf, size_t total_size, size_t max_uncompressed,
		       struct batch_records *out);
void batch_records_free(struct batch_records *r);

#endif
