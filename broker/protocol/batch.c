#include "broker/protocol/batch.h"

#include <stdlib.h>

#include "broker/protocol/compress.h"
#include "broker/protocol/crc32c.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/record.h"

int64_t batch_get_i64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return (int64_t)v;
}

int32_t batch_get_i32(const uint8_t *p)
{
	return (int32_t)(((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]);
}

void batch_put_i64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)u;
		u >>= 8;
	}
}

void batch_put_i32(uint8_t *p, int32_t v)
{
	uint32_t u = (uint32_t)v;
	p[0] = (uint8_t)(u >> 24);
	p[1] = (uint8_t)(u >> 16);
	p[2] = (uint8_t)(u >> 8);
	p[3] = (uint8_t)u;
}

int batch_header_parse(const uint8_t *buf, size_t len, struct batch_header *h)
{
	if (len < BATCH_HEADER_SIZE)
		return -1;
	h->base_offset = batch_get_i64(buf + BATCH_OFF_BASE_OFFSET);
	h->batch_length = batch_get_i32(buf + BATCH_OFF_LENGTH);
	h->partition_leader_epoch = batch_get_i32(buf + BATCH_OFF_LEADER_EPOCH);
	h->magic = (int8_t)buf[BATCH_OFF_MAGIC];
	h->crc = (uint32_t)batch_get_i32(buf + BATCH_OFF_CRC);
	h->attributes = (int16_t)(((uint16_t)buf[BATCH_OFF_ATTRIBUTES] << 8) | buf[BATCH_OFF_ATTRIBUTES + 1]);
	h->last_offset_delta = batch_get_i32(buf + BATCH_OFF_LAST_OFFSET_DELTA);
	h->base_timestamp = batch_get_i64(buf + BATCH_OFF_BASE_TIMESTAMP);
	h->max_timestamp = batch_get_i64(buf + BATCH_OFF_MAX_TIMESTAMP);
	h->producer_id = batch_get_i64(buf + BATCH_OFF_PRODUCER_ID);
	h->producer_epoch = (int16_t)(((uint16_t)buf[BATCH_OFF_PRODUCER_EPOCH] << 8) | buf[BATCH_OFF_PRODUCER_EPOCH + 1]);
	h->base_sequence = batch_get_i32(buf + BATCH_OFF_BASE_SEQUENCE);
	h->records_count = batch_get_i32(buf + BATCH_OFF_RECORDS_COUNT);
	if (h->batch_length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD)
		return -1;
	return 0;
}

bool batch_crc_ok(const uint8_t *buf, size_t total)
{
	if (total < BATCH_HEADER_SIZE)
		return false;
	uint32_t want = (uint32_t)batch_get_i32(buf + BATCH_OFF_CRC);
	return crc32c(0, buf + BATCH_OFF_ATTRIBUTES, total - BATCH_OFF_ATTRIBUTES) == want;
}

void batch_assign_offsets(uint8_t *buf, size_t total, int64_t base_offset, int32_t leader_epoch,
			  int64_t log_append_time)
{
	/* Base offset and leader epoch lie before the CRC'd range (bytes 21..):
	 * only LogAppendTime, which rewrites attributes and max timestamp, needs
	 * the CRC computed again. */
	batch_put_i64(buf + BATCH_OFF_BASE_OFFSET, base_offset);
	batch_put_i32(buf + BATCH_OFF_LEADER_EPOCH, leader_epoch);
	if (log_append_time >= 0) {
		buf[BATCH_OFF_ATTRIBUTES + 1] |= BATCH_ATTR_TIMESTAMP_LOG_APPEND;
		batch_put_i64(buf + BATCH_OFF_MAX_TIMESTAMP, log_append_time);
		batch_update_crc(buf, total);
	}
}

void batch_update_crc(uint8_t *buf, size_t total)
{
	uint32_t crc = crc32c(0, buf + BATCH_OFF_ATTRIBUTES, total - BATCH_OFF_ATTRIBUTES);
	batch_put_i32(buf + BATCH_OFF_CRC, (int32_t)crc);
}

bool batch_set_max_timestamp(uint8_t *buf, int64_t max_timestamp)
{
	if (batch_get_i64(buf + BATCH_OFF_MAX_TIMESTAMP) == max_timestamp)
		return false;
	batch_put_i64(buf + BATCH_OFF_MAX_TIMESTAMP, max_timestamp);
	return true;
}

/* Smallest legacy message after the size field (LegacyRecord.RECORD_OVERHEAD_V0:
 * crc, magic, attributes, key length, value length). */
#define BATCH_MIN_LEGACY_LENGTH 14
/* Bytes through the magic byte: enough to tell formats apart. */
#define BATCH_MAGIC_PREFIX (BATCH_OFF_MAGIC + 1)

void batch_iter_init(struct batch_iter *it, const uint8_t *buf, size_t len)
{
	it->p = buf;
	it->left = len;
	it->err = KERR_NONE;
}

bool batch_iter_next(struct batch_iter *it, const uint8_t **batch, size_t *size)
{
	if (it->err != KERR_NONE || it->left == 0)
		return false;
	if (it->left < BATCH_MAGIC_PREFIX) {
		it->err = KERR_CORRUPT_MESSAGE;
		return false;
	}
	int32_t length = batch_get_i32(it->p + BATCH_OFF_LENGTH);
	int8_t magic = (int8_t)it->p[BATCH_OFF_MAGIC];
	if (length < BATCH_MIN_LEGACY_LENGTH || magic < 0 || magic > 2 ||
	    (magic == 2 && length < BATCH_HEADER_SIZE - BATCH_LOG_OVERHEAD) ||
	    (size_t)length > it->left - BATCH_LOG_OVERHEAD) {
		it->err = KERR_CORRUPT_MESSAGE;
		return false;
	}
	size_t total = (size_t)BATCH_LOG_OVERHEAD + (size_t)length;
	*batch = it->p;
	*size = total;
	it->p += total;
	it->left -= total;
	return true;
}

int batch_records_open(const uint8_t *buf, size_t total, size_t max_uncompressed, struct batch_records *out)
{
	out->p = NULL;
	out->len = 0;
	out->owned = NULL;
	if (total < BATCH_HEADER_SIZE)
		return KERR_CORRUPT_MESSAGE;
	int codec = buf[BATCH_OFF_ATTRIBUTES + 1] & BATCH_ATTR_COMPRESSION_MASK;
	const uint8_t *area = buf + BATCH_HEADER_SIZE;
	size_t area_len = total - BATCH_HEADER_SIZE;
	if (codec == BATCH_COMPRESSION_NONE) {
		out->p = area;
		out->len = area_len;
		return KERR_NONE;
	}
	if (codec > BATCH_COMPRESSION_ZSTD)
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	uint8_t *plain;
	size_t plain_len;
	int rc = compress_decompress(codec, area, area_len, max_uncompressed, &plain, &plain_len);
	switch (rc) {
	case COMPRESS_OK:
		break;
	case COMPRESS_ETOOBIG:
		return KERR_MESSAGE_TOO_LARGE;
	case COMPRESS_ENOMEM:
		return KERR_UNKNOWN_SERVER_ERROR;
	default:
		return KERR_INVALID_RECORD;
	}
	out->p = plain;
	out->len = plain_len;
	out->owned = plain;
	return KERR_NONE;
}

void batch_records_free(struct batch_records *r)
{
	free(r->owned);
	r->owned = NULL;
	r->p = NULL;
	r->len = 0;
}

/* Decodes every record of the records area against the header's promises. */
static int batch_validate_records(const struct batch_header *h, const struct batch_records *recs,
				  struct batch_info *info)
{
	struct kreader r;
	kr_init(&r, recs->p, recs->len);
	/* Each record takes at least 7 bytes (length, attributes, timestamp,
	 * offset, key, value, header count); a count that cannot fit fails
	 * before any work. */
	if ((uint64_t)h->records_count > recs->len / 7)
		return KERR_INVALID_RECORD;
	int64_t max_ts = -1;
	int64_t min_ts = -1;
	bool null_key = false;
	for (int32_t i = 0; i < h->records_count; i++) {
		struct record rec;
		if (record_decode(&r, &rec) != RECORD_OK)
			return KERR_INVALID_RECORD;
		if (rec.offset_delta != i)
			return KERR_INVALID_RECORD;
		/* Java adds with wrap-around; so does this (no signed overflow). */
		int64_t ts = (int64_t)((uint64_t)h->base_timestamp + (uint64_t)rec.timestamp_delta);
		if (ts > max_ts)
			max_ts = ts;
		if (ts != -1 && (min_ts == -1 || ts < min_ts))
			min_ts = ts;
		if (rec.key.len < 0)
			null_key = true;
	}
	if (r.left != 0)
		return KERR_INVALID_RECORD; /* "records still remaining" */
	if (info) {
		info->max_timestamp = max_ts;
		info->min_timestamp = min_ts;
		info->has_null_key = null_key;
		info->records_size = recs->len;
	}
	return KERR_NONE;
}

int batch_validate(const uint8_t *buf, size_t total, size_t max_uncompressed, struct batch_info *info)
{
	if (total < BATCH_MAGIC_PREFIX)
		return KERR_CORRUPT_MESSAGE;
	int32_t length = batch_get_i32(buf + BATCH_OFF_LENGTH);
	if (length < 0 || (size_t)length + BATCH_LOG_OVERHEAD != total)
		return KERR_CORRUPT_MESSAGE;
	int8_t magic = (int8_t)buf[BATCH_OFF_MAGIC];
	if (magic == 0 || magic == 1)
		return KERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
	if (magic != 2)
		return KERR_CORRUPT_MESSAGE;

	struct batch_header h;
	if (batch_header_parse(buf, total, &h) != 0)
		return KERR_CORRUPT_MESSAGE;
	if (h.base_offset != 0)
		return KERR_INVALID_RECORD;
	if (!batch_crc_ok(buf, total))
		return KERR_CORRUPT_MESSAGE;
	int codec = h.attributes & BATCH_ATTR_COMPRESSION_MASK;
	if (codec > BATCH_COMPRESSION_ZSTD)
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	if (h.last_offset_delta < 0 || h.records_count <= 0 || h.records_count != h.last_offset_delta + 1)
		return KERR_INVALID_RECORD;
	if (h.attributes & BATCH_ATTR_CONTROL)
		return KERR_INVALID_RECORD;
	if (h.producer_id >= 0 && h.base_sequence < 0)
		return KERR_INVALID_RECORD;
	if (h.attributes & BATCH_ATTR_TIMESTAMP_LOG_APPEND)
		return KERR_INVALID_TIMESTAMP;

	struct batch_records recs;
	int rc = batch_records_open(buf, total, max_uncompressed, &recs);
	if (rc != KERR_NONE)
		return rc;
	struct batch_info tmp;
	rc = batch_validate_records(&h, &recs, &tmp);
	batch_records_free(&recs);
	if (rc != KERR_NONE)
		return rc;
	if (info) {
		tmp.attributes = h.attributes;
		tmp.codec = codec;
		tmp.records_count = h.records_count;
		tmp.last_offset_delta = h.last_offset_delta;
		tmp.base_timestamp = h.base_timestamp;
		tmp.producer_id = h.producer_id;
		tmp.producer_epoch = h.producer_epoch;
		tmp.base_sequence = h.base_sequence;
		tmp.transactional = (h.attributes & BATCH_ATTR_TRANSACTIONAL) != 0;
		*info = tmp;
	}
	return KERR_NONE;
}
