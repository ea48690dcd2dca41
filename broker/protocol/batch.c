#include "broker/protocol/batch.h"

#include "broker/protocol/crc32c.h"

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
	batch_put_i64(buf + BATCH_OFF_BASE_OFFSET, base_offset);
	batch_put_i32(buf + BATCH_OFF_LEADER_EPOCH, leader_epoch);
	if (log_append_time >= 0) {
		buf[BATCH_OFF_ATTRIBUTES + 1] |= BATCH_ATTR_TIMESTAMP_LOG_APPEND;
		batch_put_i64(buf + BATCH_OFF_MAX_TIMESTAMP, log_append_time);
	}
	uint32_t crc = crc32c(0, buf + BATCH_OFF_ATTRIBUTES, total - BATCH_OFF_ATTRIBUTES);
	batch_put_i32(buf + BATCH_OFF_CRC, (int32_t)crc);
}
