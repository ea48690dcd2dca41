/* record_batch: several metadata records in one Raft entry (see record_batch.h). */
#include "raft/record_batch.h"

#include <errno.h>
#include <stdlib.h>

#include "broker/logger.h"

#define RECORD_BATCH_LOG "raft"

static void record_batch_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void record_batch_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t record_batch_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t record_batch_get_u16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

int record_batch_encoded_size(const struct metadata_record *recs, size_t n, size_t *len)
{
	if (n == 0 || n > RECORD_BATCH_MAX_RECORDS)
		return -EINVAL;
	if (n == 1)
		return records_encoded_size(&recs[0], len);
	size_t total = RECORD_BATCH_HEADER;
	for (size_t i = 0; i < n; i++) {
		size_t one;
		int rc = records_encoded_size(&recs[i], &one);
		if (rc != 0)
			return rc;
		total += RECORDS_FRAME_HEADER + one;
	}
	*len = total;
	return 0;
}

int record_batch_encode_into(const struct metadata_record *recs, size_t n, uint8_t *buf, size_t len)
{
	size_t want;
	int rc = record_batch_encoded_size(recs, n, &want);
	if (rc != 0)
		return rc;
	if (want != len)
		return -EINVAL;
	if (n == 1)
		return records_encode_into(&recs[0], buf, len);
	record_batch_put_u16(buf, RECORD_BATCH_TYPE);
	record_batch_put_u16(buf + 2, RECORD_BATCH_VERSION);
	record_batch_put_u32(buf + 4, (uint32_t)n);
	uint8_t *p = buf + RECORD_BATCH_HEADER;
	for (size_t i = 0; i < n; i++) {
		size_t one;
		rc = records_encoded_size(&recs[i], &one);
		if (rc != 0)
			return rc;
		record_batch_put_u32(p, (uint32_t)one);
		rc = records_encode_into(&recs[i], p + RECORDS_FRAME_HEADER, one);
		if (rc != 0)
			return rc;
		p += RECORDS_FRAME_HEADER + one;
	}
	return 0;
}

void record_batch_free(struct metadata_record **recs, size_t n)
{
	if (recs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		records_free(recs[i]);
	free(recs);
}

static int record_batch_decode_plain(const uint8_t *buf, size_t len, struct metadata_record ***out, size_t *n)
{
	struct metadata_record *rec;
	int rc = records_decode(buf, len, &rec);
	if (rc == -ENOTSUP) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (rc != 0)
		return rc;
	struct metadata_record **recs = malloc(sizeof *recs);
	if (recs == NULL) {
		records_free(rec);
		return -ENOMEM;
	}
	recs[0] = rec;
	*out = recs;
	*n = 1;
	return 0;
}

int record_batch_decode(const uint8_t *buf, size_t len, struct metadata_record ***out, size_t *n)
{
	if (len < RECORDS_ENVELOPE_BYTES)
		return -EBADMSG;
	if (record_batch_get_u16(buf) != RECORD_BATCH_TYPE)
		return record_batch_decode_plain(buf, len, out, n);
	if (len < RECORD_BATCH_HEADER || record_batch_get_u16(buf + 2) != RECORD_BATCH_VERSION)
		return -EBADMSG;
	uint32_t count = record_batch_get_u32(buf + 4);
	const uint8_t *p = buf + RECORD_BATCH_HEADER;
	size_t left = len - RECORD_BATCH_HEADER;
	/* Every frame takes at least a frame header and an envelope. */
	if (count < 2 || count > RECORD_BATCH_MAX_RECORDS ||
	    count > left / (RECORDS_FRAME_HEADER + RECORDS_ENVELOPE_BYTES))
		return -EBADMSG;
	struct metadata_record **recs = calloc(count, sizeof *recs);
	if (recs == NULL)
		return -ENOMEM;
	size_t got = 0;
	int rc = 0;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *entry;
		size_t entry_len;
		rc = records_frame_next(&p, &left, &entry, &entry_len);
		if (rc != 1) {
			rc = -EBADMSG; /* fewer frames than counted */
			goto err_after_alloc;
		}
		rc = records_decode(entry, entry_len, &recs[got]);
		if (rc == -ENOTSUP)
			continue; /* a newer broker's record: skip it alone */
		if (rc != 0)
			goto err_after_alloc;
		got++;
	}
	if (left != 0) {
		rc = -EBADMSG; /* trailing bytes */
		goto err_after_alloc;
	}
	*out = recs;
	*n = got;
	return 0;

err_after_alloc:
	record_batch_free(recs, got);
	return rc;
}

int record_batch_apply(const struct metadata_image *cur, const uint8_t *buf, size_t len,
		       struct metadata_image **next)
{
	struct metadata_record **recs;
	size_t n;
	int rc = record_batch_decode(buf, len, &recs, &n);
	if (rc == -ENOMEM)
		return rc;
	if (rc != 0) {
		tlog(TLOG_WARN, RECORD_BATCH_LOG, "metadata entry of %zu bytes skipped: malformed (%d)", len, rc);
		*next = image_ref(cur);
		return rc;
	}
	struct metadata_image *img = image_ref(cur);
	for (size_t i = 0; i < n; i++) {
		struct metadata_image *after;
		rc = image_apply(img, recs[i], &after);
		if (rc != 0) {
			image_unref(img);
			record_batch_free(recs, n);
			return rc;
		}
		image_unref(img);
		img = after;
	}
	record_batch_free(recs, n);
	*next = img;
	return 0;
}
