#include "broker/log/record_scan.h"

#include <errno.h>
#include <stdbool.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/kreader.h"

/* Record v2, as far as needed here: length varint, attributes int8,
 * timestampDelta varlong, offsetDelta varint, then key/value/headers. */
struct record_scan_cursor {
	struct kreader r;
	int64_t base_offset;
	int64_t base_timestamp;
	int32_t left; /* records still announced by records_count */
};

/* Next record's offset and timestamp; false at the end or on malformed bytes
 * (the caller then falls back to the batch-level answer). */
static bool record_scan_next(struct record_scan_cursor *c, int64_t *offset, int64_t *ts)
{
	if (c->left <= 0 || c->r.left == 0)
		return false;
	int32_t len = kr_varint(&c->r);
	if (!kr_ok(&c->r) || len < 0 || (size_t)len > c->r.left)
		return false;
	struct kreader rec;
	kr_sub(&c->r, (size_t)len, &rec);
	(void)kr_i8(&rec);
	int64_t ts_delta = kr_varlong(&rec);
	int32_t off_delta = kr_varint(&rec);
	if (!kr_ok(&rec) || off_delta < 0)
		return false;
	c->left--;
	*offset = c->base_offset + off_delta;
	*ts = c->base_timestamp + ts_delta;
	return true;
}

/* Returns true when the batch can be walked record by record. */
static bool record_scan_open(const uint8_t *buf, size_t len, const struct batch_header *h,
			     struct record_scan_cursor *c)
{
	if ((h->attributes & BATCH_ATTR_COMPRESSION_MASK) != BATCH_COMPRESSION_NONE ||
	    (h->attributes & BATCH_ATTR_TIMESTAMP_LOG_APPEND))
		return false;
	size_t total = batch_total_size(h);
	if (total > len)
		return false;
	kr_init(&c->r, buf + BATCH_HEADER_SIZE, total - BATCH_HEADER_SIZE);
	c->base_offset = h->base_offset;
	c->base_timestamp = h->base_timestamp;
	c->left = h->records_count;
	return true;
}

int record_scan_first_at_or_after(const uint8_t *buf, size_t len, int64_t timestamp, int64_t min_offset,
				  int64_t *offset, int64_t *record_ts)
{
	struct batch_header h;
	if (batch_header_parse(buf, len, &h) != 0)
		return -ENOENT;
	int64_t last = h.base_offset + h.last_offset_delta;
	if (h.max_timestamp < timestamp || last < min_offset)
		return -ENOENT;

	struct record_scan_cursor c;
	if (record_scan_open(buf, len, &h, &c)) {
		int64_t off, ts;
		while (record_scan_next(&c, &off, &ts)) {
			if (ts >= timestamp && off >= min_offset) {
				*offset = off;
				*record_ts = ts;
				return 0;
			}
		}
		if (c.left == 0)
			return -ENOENT; /* walked every record cleanly: none qualifies */
	}
	/* Compressed, LogAppendTime, or unreadable records: answer for the batch. */
	*offset = h.base_offset > min_offset ? h.base_offset : min_offset;
	*record_ts = h.max_timestamp;
	return 0;
}

int record_scan_max_timestamp(const uint8_t *buf, size_t len, int64_t *offset, int64_t *record_ts)
{
	struct batch_header h;
	if (batch_header_parse(buf, len, &h) != 0 || h.max_timestamp < 0)
		return -ENOENT;
	if (h.attributes & BATCH_ATTR_TIMESTAMP_LOG_APPEND) {
		*offset = h.base_offset;
		*record_ts = h.max_timestamp;
		return 0;
	}
	struct record_scan_cursor c;
	if (record_scan_open(buf, len, &h, &c)) {
		int64_t off, ts, best_off = -1, best_ts = -1;
		while (record_scan_next(&c, &off, &ts)) {
			if (ts > best_ts) {
				best_ts = ts;
				best_off = off;
			}
		}
		if (c.left == 0 && best_off >= 0) {
			*offset = best_off;
			*record_ts = best_ts;
			return 0;
		}
	}
	*offset = h.base_offset + h.last_offset_delta;
	*record_ts = h.max_timestamp;
	return 0;
}
