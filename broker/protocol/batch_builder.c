#include "broker/protocol/batch_builder.h"

#include <stdlib.h>
#include <string.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/compress.h"
#include "broker/protocol/crc32c.h"

struct batch_builder_opts batch_builder_opts_default(void)
{
	struct batch_builder_opts o = {
		.codec = BATCH_COMPRESSION_NONE,
		.attributes = 0,
		.partition_leader_epoch = -1,
		.producer_id = -1,
		.producer_epoch = -1,
		.base_sequence = -1,
	};
	return o;
}

void batch_builder_init(struct batch_builder *b, const struct batch_builder_opts *opts)
{
	b->opts = *opts;
	kw_init(&b->records, 256);
	b->count = 0;
	b->base_timestamp = -1;
	b->max_timestamp = -1;
}

int batch_builder_add(struct batch_builder *b, const struct batch_builder_record *rec)
{
	if (b->count == INT32_MAX)
		return -1;
	if (b->count == 0)
		b->base_timestamp = rec->timestamp;
	int64_t delta = (int64_t)((uint64_t)rec->timestamp - (uint64_t)b->base_timestamp);
	record_encode(&b->records, delta, b->count, rec->key, rec->value, rec->headers, rec->headers_count);
	if (!kw_ok(&b->records))
		return -1;
	if (rec->timestamp > b->max_timestamp)
		b->max_timestamp = rec->timestamp;
	b->count++;
	return 0;
}

int batch_builder_finish(struct batch_builder *b, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (!kw_ok(&b->records))
		return COMPRESS_ENOMEM;

	const uint8_t *area = b->records.buf;
	size_t area_len = b->records.len;
	uint8_t *packed = NULL;
	int codec = b->opts.codec & BATCH_ATTR_COMPRESSION_MASK;
	if (codec != BATCH_COMPRESSION_NONE) {
		int rc = compress_compress(codec, area, area_len, &packed, &area_len);
		if (rc)
			return rc;
		area = packed;
	}
	if (area_len > (size_t)INT32_MAX - BATCH_HEADER_SIZE) {
		free(packed);
		return COMPRESS_ETOOBIG;
	}

	size_t total = BATCH_HEADER_SIZE + area_len;
	uint8_t *buf = malloc(total);
	if (buf == NULL) {
		free(packed);
		return COMPRESS_ENOMEM;
	}
	int16_t attributes = (int16_t)((b->opts.attributes & ~BATCH_ATTR_COMPRESSION_MASK) | codec);
	batch_put_i64(buf + BATCH_OFF_BASE_OFFSET, 0);
	batch_put_i32(buf + BATCH_OFF_LENGTH, (int32_t)(total - BATCH_LOG_OVERHEAD));
	batch_put_i32(buf + BATCH_OFF_LEADER_EPOCH, b->opts.partition_leader_epoch);
	buf[BATCH_OFF_MAGIC] = 2;
	buf[BATCH_OFF_ATTRIBUTES] = (uint8_t)((uint16_t)attributes >> 8);
	buf[BATCH_OFF_ATTRIBUTES + 1] = (uint8_t)attributes;
	batch_put_i32(buf + BATCH_OFF_LAST_OFFSET_DELTA, b->count - 1);
	batch_put_i64(buf + BATCH_OFF_BASE_TIMESTAMP, b->base_timestamp);
	batch_put_i64(buf + BATCH_OFF_MAX_TIMESTAMP, b->max_timestamp);
	batch_put_i64(buf + BATCH_OFF_PRODUCER_ID, b->opts.producer_id);
	buf[BATCH_OFF_PRODUCER_EPOCH] = (uint8_t)((uint16_t)b->opts.producer_epoch >> 8);
	buf[BATCH_OFF_PRODUCER_EPOCH + 1] = (uint8_t)b->opts.producer_epoch;
	batch_put_i32(buf + BATCH_OFF_BASE_SEQUENCE, b->opts.base_sequence);
	batch_put_i32(buf + BATCH_OFF_RECORDS_COUNT, b->count);
	if (area_len > 0)
		memcpy(buf + BATCH_HEADER_SIZE, area, area_len);
	free(packed);
	uint32_t crc = crc32c(0, buf + BATCH_OFF_ATTRIBUTES, total - BATCH_OFF_ATTRIBUTES);
	batch_put_i32(buf + BATCH_OFF_CRC, (int32_t)crc);

	kw_free(&b->records);
	kw_init(&b->records, 256);
	b->count = 0;
	b->base_timestamp = -1;
	b->max_timestamp = -1;
	*out = buf;
	*out_len = total;
	return 0;
}

void batch_builder_free(struct batch_builder *b)
{
	kw_free(&b->records);
	b->count = 0;
}

int batch_builder_build(const struct batch_builder_opts *opts, const struct batch_builder_record *recs,
			int32_t n, uint8_t **out, size_t *out_len)
{
	struct batch_builder b;
	batch_builder_init(&b, opts);
	for (int32_t i = 0; i < n; i++) {
		if (batch_builder_add(&b, &recs[i]) != 0) {
			batch_builder_free(&b);
			*out = NULL;
			*out_len = 0;
			return COMPRESS_ENOMEM;
		}
	}
	int rc = batch_builder_finish(&b, out, out_len);
	batch_builder_free(&b);
	return rc;
}
