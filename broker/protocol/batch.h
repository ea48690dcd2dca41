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

/* Rewrites base offset and partition leader epoch (and, with log_append_time
 * >= 0, sets LogAppendTime: attribute bit + max_timestamp) and recomputes the
 * CRC in place. The records are not touched (no re-compression). */
void batch_assign_offsets(uint8_t *buf, size_t total_size, int64_t base_offset,
			  int32_t leader_epoch, int64_t log_append_time);

/* Big-endian helpers for fixed offsets in a batch. */
int64_t batch_get_i64(const uint8_t *p);
int32_t batch_get_i32(const uint8_t *p);
void batch_put_i64(uint8_t *p, int64_t v);
void batch_put_i32(uint8_t *p, int32_t v);

#endif
