/* segment: one log segment - <base>.log with its .index and .timeindex.
 *
 * The .log file holds record batches (magic 2) exactly as on the wire, back to
 * back, offsets strictly increasing, every offset >= base_offset and within
 * base_offset + INT32_MAX (the indexes store int32 relative offsets). Appends
 * go to the page cache with pwrite; fsync happens only in segment_flush.
 *
 * Lifecycle: segment_open (create or existing), then exactly one of
 * segment_load (trust the indexes after a clean shutdown; -EBADMSG when they
 * or the tail disagree with the log) or segment_recover (validate every batch,
 * truncate at the first bad one, rebuild both indexes), then appends/reads,
 * then segment_close (keep files) or segment_destroy (remove them).
 *
 * Ownership: a segment owns its three descriptors and its path; the log owns
 * the segments. Read results are malloc'd copies the caller frees, or spans
 * (see segment_read_span).
 *
 * Spans: a span names a byte range of the .log file instead of copying it,
 * so Fetch can hand it to sendfile. While spans are out the .log descriptor
 * is shared with them (struct segment_file): closing or destroying the
 * segment leaves it open for them (an unlinked file keeps its bytes), and a
 * truncation first copies into memory every span that reaches the cut, since
 * later appends would write other bytes there. A span never sees bytes other
 * than those it was read with.
 */
#ifndef TERN_LOG_SEGMENT_H
#define TERN_LOG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/log/offset_index.h"
#include "broker/log/time_index.h"
#include "broker/protocol/batch.h"

struct segment {
	int64_t base_offset;          /* from the file name; every offset in the segment is >= it */
	char *prefix;                 /* "<dir>/<20-digit base_offset>", owned */
	int fd;                       /* the .log file, owned */
	int64_t size;                 /* bytes of whole batches = next append position */
	int64_t next_offset;          /* last offset + 1 of the last batch; base_offset while empty */
	int64_t max_timestamp;        /* largest batch max_timestamp, -1 while none */
	int64_t max_timestamp_offset; /* last offset of the first batch reaching max_timestamp, -1 while none */
	int64_t first_timestamp;      /* max_timestamp of the first batch (segment.ms), -1 while empty */
	int64_t created_ms;           /* when this process created or opened the segment */
	int64_t bytes_since_index;    /* log bytes appended since the last offset index entry */
	bool index_error;             /* an index write failed: indexes are incomplete until rebuilt */
	struct segment_file *file;    /* spans of the .log still out; NULL while none */
	struct offset_index oidx;
	struct time_index tidx;
};

/* Opens the segment of `dir` starting at `base_offset`; with `create` the
 * three files are created empty (truncating leftovers), else they must exist
 * except the indexes (created empty when missing, then rebuilt by recovery).
 * State is that of an empty segment until segment_load/segment_recover.
 * Returns 0 and *out (owned by the caller), or -errno. */
int segment_open(const char *dir, int64_t base_offset, bool create, int64_t now_ms, struct segment **out);

/* Derives the segment's state from its indexes and a header-only scan of the
 * batches after the last offset index entry. Returns 0, -EBADMSG when the
 * files disagree (the caller recovers the segment instead), or -errno. */
int segment_load(struct segment *seg);

/* Validates every batch (length, magic, CRC, increasing offsets), truncates
 * the .log at the first invalid one and rebuilds both indexes, writing an
 * index entry every `index_interval` bytes. *truncated gets the bytes cut off.
 * Returns 0 or -errno. */
int segment_recover(struct segment *seg, int32_t index_interval, int64_t *truncated);

/* Appends one whole batch `buf` (borrowed) whose header `h` was parsed and
 * checked by the caller (offsets above next_offset, relative offsets fit).
 * Returns 0, or -errno with nothing appended. */
int segment_append(struct segment *seg, const uint8_t *buf, size_t len, const struct batch_header *h,
		   int32_t index_interval);

/* Reads whole batches starting with the one holding `offset`: at most
 * `max_bytes`, but the first batch even when larger if `min_one`, and only
 * batches whose last offset is below `max_offset`. Returns 0 with *out
 * (malloc'd, caller frees; NULL when *out_len is 0), 1 when no batch of this
 * segment ends at or after `offset` (try the next segment), or -errno. */
int segment_read(struct segment *seg, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
		 uint8_t **out, size_t *out_len);

/* segment_read without the copy: the same batches as a span of the .log file
 * (struct log_span, log.h), or *out NULL when *out_len is 0. Returns what
 * segment_read returns. */
struct log_span;
int segment_read_span(struct segment *seg, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
		      struct log_span **out, size_t *out_len);

/* Position of the first batch whose last offset is >= `offset`, via the
 * offset index then a forward scan. Returns 0 with *pos and *h, 1 when there
 * is none (*pos = size), or -errno / -EBADMSG. */
int segment_locate(struct segment *seg, int64_t offset, int64_t *pos, struct batch_header *h);

/* The first record with timestamp >= `timestamp` and offset >= `min_offset`.
 * Returns 0 with *offset and *record_ts, -ENOENT, or -errno. */
int segment_find_timestamp(struct segment *seg, int64_t timestamp, int64_t min_offset, int64_t *offset,
			   int64_t *record_ts);

/* The record holding the segment's largest timestamp. 0, -ENOENT or -errno. */
int segment_max_timestamp(struct segment *seg, int64_t *offset, int64_t *record_ts);

/* Removes every batch whose last offset is >= `offset` (a batch straddling
 * `offset` goes whole), with their index entries. Returns 0 or -errno. */
int segment_truncate_to(struct segment *seg, int64_t offset);

/* The segment stops being active: writes the final time index entry so the
 * next load finds max_timestamp in the index. Returns 0 or -errno. */
int segment_seal(struct segment *seg);

/* fsync of the .log and both indexes. Returns 0 or -errno. */
int segment_flush(struct segment *seg);

/* Timestamp segment.ms is measured from: the first batch's max_timestamp, or
 * the creation time while there is none (Kafka's rollingBasedTimestamp). */
/* Starts writeback of the segment's data to disk without waiting for it
 * (sync_file_range); no durability promise. */
int segment_writeback(struct segment *seg);
int64_t segment_roll_base_ms(const struct segment *seg);

/* Timestamp retention.ms is measured against: max_timestamp, or the .log
 * file's modification time when no batch carries a timestamp. */
int64_t segment_largest_timestamp(const struct segment *seg);

/* Closes the files and frees; the files stay. NULL is a no-op. */
void segment_close(struct segment *seg);
/* Closes, unlinks the three files and frees. Returns 0 or the first -errno
 * (the segment is freed either way). */
int segment_destroy(struct segment *seg);

#endif
