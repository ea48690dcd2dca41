#include "broker/log/segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/fileio.h"
#include "broker/log/record_scan.h"
#include "broker/protocol/crc32c.h"

#define SEGMENT_SCRATCH_BYTES (64 * 1024) /* CRC is checked in chunks of this size */
/* Batch headers for a span are read this many bytes at a time while batches
 * are small, so a run of small batches costs one pread per window, not one
 * per batch; after a batch this large only the next header is read. */
#define SEGMENT_SCAN_WINDOW (8 * 1024)

/* The .log descriptor while spans of it are out. */
struct segment_file {
	int fd;                 /* the segment's while it lives, then owned here */
	struct segment *seg;    /* NULL once the segment is closed */
	struct log_span *spans; /* spans still reading from the file, doubly linked */
};

struct log_span {
	struct segment_file *file; /* NULL once the bytes moved to `copy` */
	struct log_span *prev, *next;
	int64_t pos;
	size_t len;
	uint8_t *copy; /* the bytes, after a truncation would have cut them */
	bool lost;     /* that copy failed */
};

static void segment_span_detach(struct log_span *span);
static void segment_spans_preserve(struct segment *seg, int64_t cut);

static char *segment_path(const struct segment *seg, const char *suffix)
{
	size_t a = strlen(seg->prefix), b = strlen(suffix);
	char *s = malloc(a + b + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, seg->prefix, a);
	memcpy(s + a, suffix, b + 1);
	return s;
}

static void segment_reset_state(struct segment *seg)
{
	seg->size = 0;
	seg->next_offset = seg->base_offset;
	seg->max_timestamp = -1;
	seg->max_timestamp_offset = -1;
	seg->first_timestamp = -1;
	seg->bytes_since_index = 0;
}

int segment_open(const char *dir, int64_t base_offset, bool create, int64_t now_ms, struct segment **out)
{
	struct segment *seg = calloc(1, sizeof *seg);
	if (seg == NULL)
		return -ENOMEM;
	seg->fd = -1;
	seg->oidx.fd = -1;
	seg->tidx.fd = -1;
	seg->base_offset = base_offset;
	seg->created_ms = now_ms;
	segment_reset_state(seg);

	int rc = -ENOMEM;
	char name[32];
	snprintf(name, sizeof name, "%020" PRId64, base_offset);
	seg->prefix = fileio_join(dir, name);
	char *log_path = seg->prefix ? segment_path(seg, ".log") : NULL;
	char *idx_path = seg->prefix ? segment_path(seg, ".index") : NULL;
	char *tidx_path = seg->prefix ? segment_path(seg, ".timeindex") : NULL;
	if (log_path == NULL || idx_path == NULL || tidx_path == NULL)
		goto err;

	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0);
	seg->fd = open(log_path, flags, 0644);
	if (seg->fd < 0) {
		rc = -errno;
		goto err;
	}
	if (create) {
		/* Leftover indexes of an earlier segment at this offset are stale. */
		if ((truncate(idx_path, 0) < 0 && errno != ENOENT) || (truncate(tidx_path, 0) < 0 && errno != ENOENT)) {
			rc = -errno;
			goto err;
		}
	}
	rc = offset_index_open(&seg->oidx, idx_path, base_offset);
	if (rc != 0)
		goto err;
	rc = time_index_open(&seg->tidx, tidx_path, base_offset);
	if (rc != 0)
		goto err;
	free(log_path);
	free(idx_path);
	free(tidx_path);
	*out = seg;
	return 0;

err:
	free(log_path);
	free(idx_path);
	free(tidx_path);
	segment_close(seg);
	return rc;
}

/* Reads and parses the batch header at `pos` of a log whose valid bytes end at
 * `limit`. Returns 0, 1 at the end (pos == limit), -EBADMSG when the bytes
 * there are not a plausible magic-2 batch fitting before `limit`, or -errno. */
static int segment_read_header(struct segment *seg, int64_t pos, int64_t limit, struct batch_header *h)
{
	if (pos >= limit)
		return 1;
	if (limit - pos < BATCH_HEADER_SIZE)
		return -EBADMSG;
	uint8_t raw[BATCH_HEADER_SIZE];
	int rc = fileio_pread_all(seg->fd, raw, sizeof raw, pos);
	if (rc == -ENODATA)
		return -EBADMSG;
	if (rc != 0)
		return rc;
	if (batch_header_parse(raw, sizeof raw, h) != 0 || h->magic != 2 || h->last_offset_delta < 0)
		return -EBADMSG;
	if ((int64_t)batch_total_size(h) > limit - pos)
		return -EBADMSG;
	return 0;
}

/* Malloc'd copy of the whole batch at `pos` (caller frees). */
static int segment_read_batch(struct segment *seg, int64_t pos, const struct batch_header *h, uint8_t **out)
{
	size_t total = batch_total_size(h);
	uint8_t *buf = malloc(total);
	if (buf == NULL)
		return -ENOMEM;
	int rc = fileio_pread_all(seg->fd, buf, total, pos);
	if (rc != 0) {
		free(buf);
		return rc == -ENODATA ? -EBADMSG : rc;
	}
	*out = buf;
	return 0;
}

/* Offsets of `h` are usable after `prev_next`: increasing and within the
 * int32 range of the segment's relative offsets. */
static bool segment_offsets_ok(const struct segment *seg, const struct batch_header *h, int64_t prev_next)
{
	if (h->base_offset < prev_next || h->base_offset < seg->base_offset)
		return false;
	int64_t last = h->base_offset + h->last_offset_delta;
	return last - seg->base_offset <= INT32_MAX && last >= h->base_offset;
}

/* Accounts a batch now stored at `pos`: sizes, offsets, timestamps and the
 * sparse index entries (Kafka's LogSegment.append order: the max timestamp is
 * updated first, then an entry is written for this batch when more than
 * `index_interval` bytes went by since the previous one). */
static void segment_track(struct segment *seg, const struct batch_header *h, int64_t pos, int32_t index_interval)
{
	int64_t last = h->base_offset + h->last_offset_delta;
	int64_t total = (int64_t)batch_total_size(h);
	if (pos == 0)
		seg->first_timestamp = h->max_timestamp;
	if (h->max_timestamp > seg->max_timestamp) {
		seg->max_timestamp = h->max_timestamp;
		seg->max_timestamp_offset = last;
	}
	if (seg->bytes_since_index > index_interval) {
		/* A failed index write only leaves a gap in a sparse index: lookups
		 * scan further. The flag keeps the log from declaring a clean
		 * shutdown, so the next open rebuilds the indexes. */
		if (offset_index_append(&seg->oidx, last, pos) != 0)
			seg->index_error = true;
		if (seg->max_timestamp >= 0 &&
		    time_index_append(&seg->tidx, seg->max_timestamp, seg->max_timestamp_offset) != 0)
			seg->index_error = true;
		seg->bytes_since_index = 0;
	}
	seg->bytes_since_index += total;
	seg->next_offset = last + 1;
	seg->size = pos + total;
}

int segment_load(struct segment *seg)
{
	int64_t file_size = fileio_size(seg->fd);
	if (file_size < 0)
		return (int)file_size;
	if (file_size > INT32_MAX || !offset_index_sane(&seg->oidx, file_size))
		return -EBADMSG;
	segment_reset_state(seg);

	int64_t entry_offset = -1, pos = 0;
	bool have_entry = offset_index_last(&seg->oidx, &entry_offset, &pos);
	int64_t ts, ts_offset;
	if (time_index_last(&seg->tidx, &ts, &ts_offset)) {
		seg->max_timestamp = ts;
		seg->max_timestamp_offset = ts_offset;
	}

	/* Header-only walk of the tail the index does not cover. */
	struct batch_header h;
	int64_t p = pos, prev_next = seg->base_offset;
	for (;;) {
		int rc = segment_read_header(seg, p, file_size, &h);
		if (rc == 1)
			break;
		if (rc != 0)
			return rc;
		if (!segment_offsets_ok(seg, &h, prev_next))
			return -EBADMSG;
		int64_t last = h.base_offset + h.last_offset_delta;
		if (have_entry && p == pos && last != entry_offset)
			return -EBADMSG;
		if (h.max_timestamp > seg->max_timestamp) {
			seg->max_timestamp = h.max_timestamp;
			seg->max_timestamp_offset = last;
		}
		prev_next = last + 1;
		p += (int64_t)batch_total_size(&h);
	}
	if (have_entry && p == pos)
		return -EBADMSG; /* the indexed batch is missing */
	seg->size = p;
	seg->next_offset = p > 0 ? prev_next : seg->base_offset;
	seg->bytes_since_index = p - pos;
	if (have_entry && seg->next_offset <= entry_offset)
		return -EBADMSG;
	if (!time_index_sane(&seg->tidx, seg->next_offset))
		return -EBADMSG;
	if (seg->size > 0) {
		int rc = segment_read_header(seg, 0, seg->size, &h);
		if (rc != 0)
			return rc < 0 ? rc : -EBADMSG;
		seg->first_timestamp = h.max_timestamp;
	}
	return 0;
}

/* CRC-32C of the batch at `pos` checked in bounded chunks, so a corrupt length
 * never turns into a large allocation. `scratch` holds SEGMENT_SCRATCH_BYTES. */
static int segment_crc_ok(struct segment *seg, int64_t pos, const struct batch_header *h, uint8_t *scratch)
{
	size_t total = batch_total_size(h);
	if (total <= SEGMENT_SCRATCH_BYTES) {
		int rc = fileio_pread_all(seg->fd, scratch, total, pos);
		if (rc != 0)
			return rc == -ENODATA ? -EBADMSG : rc;
		return batch_crc_ok(scratch, total) ? 0 : -EBADMSG;
	}
	uint32_t crc = 0;
	int64_t at = pos + BATCH_OFF_ATTRIBUTES;
	size_t left = total - BATCH_OFF_ATTRIBUTES;
	while (left > 0) {
		size_t n = left < SEGMENT_SCRATCH_BYTES ? left : SEGMENT_SCRATCH_BYTES;
		int rc = fileio_pread_all(seg->fd, scratch, n, at);
		if (rc != 0)
			return rc == -ENODATA ? -EBADMSG : rc;
		crc = crc32c(crc, scratch, n);
		at += (int64_t)n;
		left -= n;
	}
	return crc == h->crc ? 0 : -EBADMSG;
}

int segment_recover(struct segment *seg, int32_t index_interval, int64_t *truncated)
{
	*truncated = 0;
	int64_t file_size = fileio_size(seg->fd);
	if (file_size < 0)
		return (int)file_size;
	int rc = offset_index_reset(&seg->oidx);
	if (rc == 0)
		rc = time_index_reset(&seg->tidx);
	if (rc != 0)
		return rc;
	uint8_t *scratch = malloc(SEGMENT_SCRATCH_BYTES);
	if (scratch == NULL)
		return -ENOMEM;
	segment_reset_state(seg);
	seg->index_error = false;

	/* Positions are int32 in the index: nothing past INT32_MAX is valid. */
	int64_t limit = file_size < INT32_MAX ? file_size : INT32_MAX;
	int64_t pos = 0;
	struct batch_header h;
	for (;;) {
		rc = segment_read_header(seg, pos, limit, &h);
		if (rc == 0 && !segment_offsets_ok(seg, &h, seg->next_offset))
			rc = -EBADMSG;
		if (rc == 0 && h.records_count < 0)
			rc = -EBADMSG;
		if (rc == 0)
			rc = segment_crc_ok(seg, pos, &h, scratch);
		if (rc != 0)
			break;
		segment_track(seg, &h, pos, index_interval);
		pos = seg->size;
	}
	free(scratch);
	if (rc < 0 && rc != -EBADMSG)
		return rc; /* an I/O error is not a torn batch: cut nothing */

	if (seg->size < file_size) {
		segment_spans_preserve(seg, seg->size);
		if (ftruncate(seg->fd, (off_t)seg->size) < 0)
			return -errno;
		*truncated = file_size - seg->size;
	}
	return 0;
}

int segment_append(struct segment *seg, const uint8_t *buf, size_t len, const struct batch_header *h,
		   int32_t index_interval)
{
	int rc = fileio_pwrite_all(seg->fd, buf, len, seg->size);
	if (rc != 0) {
		/* Leave no partial batch behind for a reader or the next append. */
		(void)!ftruncate(seg->fd, (off_t)seg->size);
		return rc;
	}
	segment_track(seg, h, seg->size, index_interval);
	return 0;
}

int segment_locate(struct segment *seg, int64_t offset, int64_t *pos, struct batch_header *h)
{
	int64_t entry_offset, p;
	offset_index_lookup(&seg->oidx, offset, &entry_offset, &p);
	for (;;) {
		int rc = segment_read_header(seg, p, seg->size, h);
		if (rc == 1) {
			*pos = seg->size;
			return 1;
		}
		if (rc != 0)
			return rc;
		if (h->base_offset + h->last_offset_delta >= offset) {
			*pos = p;
			return 0;
		}
		p += (int64_t)batch_total_size(h);
	}
}

int segment_read(struct segment *seg, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
		 uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	int64_t pos;
	struct batch_header h;
	int rc = segment_locate(seg, offset, &pos, &h);
	if (rc != 0)
		return rc;
	if (h.base_offset + h.last_offset_delta >= max_offset)
		return 0;

	/* One read covering the allowed bytes, then trimmed to whole batches. */
	size_t first = batch_total_size(&h);
	size_t avail = (size_t)(seg->size - pos);
	size_t want;
	if (first > max_bytes)
		want = min_one ? first : 0;
	else
		want = max_bytes < avail ? max_bytes : avail;
	if (want == 0)
		return 0;
	uint8_t *buf = malloc(want);
	if (buf == NULL)
		return -ENOMEM;
	rc = fileio_pread_all(seg->fd, buf, want, pos);
	if (rc != 0) {
		free(buf);
		return rc == -ENODATA ? -EIO : rc;
	}
	size_t used = 0;
	while (want - used >= BATCH_HEADER_SIZE) {
		struct batch_header b;
		if (batch_header_parse(buf + used, want - used, &b) != 0)
			break;
		size_t total = batch_total_size(&b);
		if (total > want - used || b.base_offset + b.last_offset_delta >= max_offset)
			break;
		used += total;
	}
	if (used == 0) {
		free(buf);
		return 0;
	}
	*out = buf;
	*out_len = used;
	return 0;
}

/* A window of the .log file, for header-only scans. */
struct segment_scan {
	int64_t start;
	size_t len;
	uint8_t buf[SEGMENT_SCAN_WINDOW];
};

/* The header of the batch at `pos` through the window; `small` says whether
 * the batches so far were small enough to read a whole window. Returns 0, 1
 * when fewer than a header's bytes are left before `limit`, or -errno /
 * -EBADMSG. */
static int segment_scan_header(struct segment *seg, struct segment_scan *w, int64_t pos, int64_t limit, bool small,
			       struct batch_header *h)
{
	if (limit - pos < BATCH_HEADER_SIZE)
		return 1;
	if (pos < w->start || pos + BATCH_HEADER_SIZE > w->start + (int64_t)w->len) {
		size_t n = small ? sizeof w->buf : BATCH_HEADER_SIZE;
		if ((int64_t)n > limit - pos)
			n = (size_t)(limit - pos);
		int rc = fileio_pread_all(seg->fd, w->buf, n, pos);
		if (rc != 0)
			return rc == -ENODATA ? -EBADMSG : rc;
		w->start = pos;
		w->len = n;
	}
	size_t at = (size_t)(pos - w->start);
	return batch_header_parse(w->buf + at, w->len - at, h) == 0 ? 0 : -EBADMSG;
}

int segment_read_span(struct segment *seg, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
		      struct log_span **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	int64_t pos;
	struct batch_header h;
	int rc = segment_locate(seg, offset, &pos, &h);
	if (rc != 0)
		return rc;
	if (h.base_offset + h.last_offset_delta >= max_offset)
		return 0;

	/* The batches segment_read would copy: whole ones within `want`
	 * bytes from the first, below max_offset. */
	size_t first = batch_total_size(&h);
	size_t avail = (size_t)(seg->size - pos);
	size_t want;
	if (first > max_bytes)
		want = min_one ? first : 0;
	else
		want = max_bytes < avail ? max_bytes : avail;
	if (want == 0 || first > want)
		return 0;
	size_t used = first;
	struct segment_scan *w = NULL;
	bool small = first < SEGMENT_SCAN_WINDOW;
	while (want - used >= BATCH_HEADER_SIZE) {
		if (w == NULL) {
			w = malloc(sizeof *w);
			if (w == NULL)
				return -ENOMEM;
			w->start = w->len = 0;
		}
		struct batch_header b;
		if (segment_scan_header(seg, w, pos + (int64_t)used, pos + (int64_t)want, small, &b) != 0)
			break; /* as a copy would: the batches before it */
		size_t total = batch_total_size(&b);
		if (total > want - used || b.base_offset + b.last_offset_delta >= max_offset)
			break;
		used += total;
		small = total < SEGMENT_SCAN_WINDOW;
	}
	free(w);

	struct log_span *span = calloc(1, sizeof *span);
	if (span == NULL)
		return -ENOMEM;
	if (seg->file == NULL) {
		seg->file = calloc(1, sizeof *seg->file);
		if (seg->file == NULL) {
			free(span);
			return -ENOMEM;
		}
		seg->file->fd = seg->fd;
		seg->file->seg = seg;
	}
	span->file = seg->file;
	span->pos = pos;
	span->len = used;
	span->next = seg->file->spans;
	if (span->next)
		span->next->prev = span;
	seg->file->spans = span;
	*out = span;
	*out_len = used;
	return 0;
}

/* Unlinks a span from its file; the last one out closes the descriptor
 * (segment gone) or hands it back (segment alive). */
static void segment_span_detach(struct log_span *span)
{
	struct segment_file *f = span->file;
	if (f == NULL)
		return;
	if (span->prev)
		span->prev->next = span->next;
	else
		f->spans = span->next;
	if (span->next)
		span->next->prev = span->prev;
	span->prev = span->next = NULL;
	span->file = NULL;
	if (f->spans != NULL)
		return;
	if (f->seg != NULL)
		f->seg->file = NULL;
	else
		close(f->fd);
	free(f);
}

/* Before the file is cut at `cut`: spans reaching past it move to memory. */
static void segment_spans_preserve(struct segment *seg, int64_t cut)
{
	struct log_span *span = seg->file ? seg->file->spans : NULL;
	while (span != NULL) {
		struct log_span *next = span->next;
		if (span->pos + (int64_t)span->len > cut) {
			span->copy = malloc(span->len ? span->len : 1);
			if (span->copy == NULL || fileio_pread_all(seg->fd, span->copy, span->len, span->pos) != 0) {
				free(span->copy);
				span->copy = NULL;
				span->lost = true;
			}
			segment_span_detach(span); /* may free seg->file: `next` is read first */
		}
		span = next;
	}
}

int log_span_locate(const struct log_span *span, size_t from, const uint8_t **data, int *fd, int64_t *offset)
{
	*data = NULL;
	*fd = -1;
	*offset = 0;
	if (span->lost || from > span->len)
		return -EIO;
	if (span->copy != NULL) {
		*data = span->copy + from;
		return 0;
	}
	*fd = span->file->fd;
	*offset = span->pos + (int64_t)from;
	return 0;
}

void log_span_release(struct log_span *span)
{
	if (span == NULL)
		return;
	segment_span_detach(span);
	free(span->copy);
	free(span);
}

int segment_find_timestamp(struct segment *seg, int64_t timestamp, int64_t min_offset, int64_t *offset,
			   int64_t *record_ts)
{
	if (seg->max_timestamp < timestamp || seg->next_offset <= min_offset)
		return -ENOENT;
	int64_t from = time_index_lookup(&seg->tidx, timestamp);
	if (from < min_offset)
		from = min_offset;
	int64_t pos;
	struct batch_header h;
	int rc = segment_locate(seg, from, &pos, &h);
	while (rc == 0) {
		if (h.max_timestamp >= timestamp) {
			uint8_t *batch;
			rc = segment_read_batch(seg, pos, &h, &batch);
			if (rc != 0)
				return rc;
			rc = record_scan_first_at_or_after(batch, batch_total_size(&h), timestamp, min_offset,
							   offset, record_ts);
			free(batch);
			if (rc == 0)
				return 0;
		}
		pos += (int64_t)batch_total_size(&h);
		rc = segment_read_header(seg, pos, seg->size, &h);
	}
	return rc == 1 ? -ENOENT : rc;
}

int segment_max_timestamp(struct segment *seg, int64_t *offset, int64_t *record_ts)
{
	if (seg->max_timestamp < 0)
		return -ENOENT;
	int64_t pos;
	struct batch_header h;
	int rc = segment_locate(seg, seg->max_timestamp_offset, &pos, &h);
	if (rc != 0)
		return rc == 1 ? -ENOENT : rc;
	uint8_t *batch;
	rc = segment_read_batch(seg, pos, &h, &batch);
	if (rc != 0)
		return rc;
	rc = record_scan_max_timestamp(batch, batch_total_size(&h), offset, record_ts);
	free(batch);
	return rc;
}

int segment_truncate_to(struct segment *seg, int64_t offset)
{
	int64_t pos;
	struct batch_header h;
	int rc = segment_locate(seg, offset, &pos, &h);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return rc;
	segment_spans_preserve(seg, pos);
	if (ftruncate(seg->fd, (off_t)pos) < 0)
		return -errno;
	rc = offset_index_truncate_position(&seg->oidx, pos);
	if (rc == 0)
		rc = time_index_truncate_offset(&seg->tidx, h.base_offset);
	if (rc == 0)
		rc = segment_load(seg);
	return rc;
}

int segment_seal(struct segment *seg)
{
	if (seg->max_timestamp < 0)
		return 0;
	return time_index_append(&seg->tidx, seg->max_timestamp, seg->max_timestamp_offset);
}

int segment_flush(struct segment *seg)
{
	if (fsync(seg->fd) < 0)
		return -errno;
	int rc = offset_index_sync(&seg->oidx);
	return rc != 0 ? rc : time_index_sync(&seg->tidx);
}

int segment_writeback(struct segment *seg)
{
	/* Starts writing the dirty pages out without waiting for the disk. */
	if (sync_file_range(seg->fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0)
		return -errno;
	return 0;
}

int64_t segment_roll_base_ms(const struct segment *seg)
{
	return seg->first_timestamp >= 0 ? seg->first_timestamp : seg->created_ms;
}

int64_t segment_largest_timestamp(const struct segment *seg)
{
	if (seg->max_timestamp >= 0)
		return seg->max_timestamp;
	struct stat st;
	if (fstat(seg->fd, &st) < 0)
		return seg->created_ms;
	return (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
}

void segment_close(struct segment *seg)
{
	if (seg == NULL)
		return;
	if (seg->file != NULL)
		seg->file->seg = NULL; /* the spans keep the descriptor */
	else if (seg->fd >= 0)
		close(seg->fd);
	offset_index_close(&seg->oidx);
	time_index_close(&seg->tidx);
	free(seg->prefix);
	free(seg);
}

int segment_destroy(struct segment *seg)
{
	static const char *const suffixes[] = {".index", ".timeindex", ".log"};
	int rc = 0;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		char *path = segment_path(seg, suffixes[i]);
		if (path == NULL) {
			rc = rc ? rc : -ENOMEM;
			continue;
		}
		if (unlink(path) < 0 && errno != ENOENT && rc == 0)
			rc = -errno;
		free(path);
	}
	segment_close(seg);
	return rc;
}
