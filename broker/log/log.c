#include "broker/log/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/log/checkpoint.h"
#include "broker/log/fileio.h"
#include "broker/log/leader_epochs.h"
#include "broker/log/segment.h"
#include "broker/logger.h"
#include "broker/protocol/batch.h"

struct log {
	char *dir;              /* partition directory, owned */
	struct log_config cfg;
	struct segment **segs;  /* [0, nsegs) by increasing base offset, offsets not overlapping; last = active */
	size_t nsegs;           /* >= 1 once open */
	size_t cap;
	int64_t start_offset;   /* segs[0]->base_offset <= start_offset <= log end offset */
	int64_t recovery_point; /* every offset below is fsynced; checkpointed */
	int64_t high_watermark; /* retention never deletes at or above it; INT64_MAX until set */
	int64_t unflushed;      /* records appended since the last flush (flush.messages) */
	int64_t last_flush_ms;  /* flush.ms reference */
	int64_t now_ms;         /* latest clock reading passed in */
	log_drop_cb drop_cb;    /* told of every batch before retention deletes it */
	void *drop_arg;
	/* Leader-epoch history of the batches in [start_offset, log end), kept
	 * in leader-epoch-checkpoint on every change. */
	struct leader_epochs epochs;
	/* The last write of leader-epoch-checkpoint failed: it lags `epochs`.
	 * log_flush retries it before moving the recovery point, so the file
	 * is accurate for every offset below the recovery point. */
	bool epochs_dirty;
	/* The latest epoch when log_append last warned of a batch with a lower
	 * one (-1: never), so that a stream of such batches warns once. */
	int32_t epochs_warned;
	/* Idempotent producers as of the log end offset (see log.h). */
	struct producer_state producers;
	/* Compaction: when a kept tombstone expires (log_cleaner_due_ms). */
	int64_t cleaner_due_ms;
};

void log_config_default(struct log_config *cfg)
{
	*cfg = (struct log_config){
		.segment_bytes = LOG_DEFAULT_SEGMENT_BYTES,
		.segment_ms = LOG_DEFAULT_SEGMENT_MS,
		.retention_ms = LOG_DEFAULT_RETENTION_MS,
		.retention_bytes = LOG_DEFAULT_RETENTION_BYTES,
		.index_interval_bytes = LOG_DEFAULT_INDEX_INTERVAL_BYTES,
		.flush_messages = INT64_MAX,
		.flush_ms = INT64_MAX,
		.compact = false,
		.delete_retention_ms = LOG_DEFAULT_DELETE_RETENTION_MS,
		.min_compaction_lag_ms = 0,
		.min_cleanable_dirty_ratio = LOG_DEFAULT_MIN_CLEANABLE_DIRTY_RATIO,
	};
}

static struct segment *log_active(const struct log *log)
{
	return log->segs[log->nsegs - 1];
}

int64_t log_start_offset(const struct log *log)
{
	return log->start_offset;
}

int64_t log_end_offset(const struct log *log)
{
	return log_active(log)->next_offset;
}

int64_t log_size_bytes(const struct log *log)
{
	int64_t total = 0;
	for (size_t i = 0; i < log->nsegs; i++)
		total += log->segs[i]->size;
	return total;
}

size_t log_segment_count(const struct log *log)
{
	return log->nsegs;
}

const char *log_dir(const struct log *log)
{
	return log->dir;
}

void log_set_config(struct log *log, const struct log_config *cfg)
{
	log->cfg = *cfg;
}

void log_set_high_watermark(struct log *log, int64_t high_watermark)
{
	log->high_watermark = high_watermark;
}

static int log_push_segment(struct log *log, struct segment *seg)
{
	if (log->nsegs == log->cap) {
		size_t cap = log->cap ? log->cap * 2 : 8;
		struct segment **s = realloc(log->segs, cap * sizeof *s);
		if (s == NULL)
			return -ENOMEM;
		log->segs = s;
		log->cap = cap;
	}
	log->segs[log->nsegs++] = seg;
	return 0;
}

static int log_checkpoint_start(struct log *log, int64_t start)
{
	log->start_offset = start;
	return checkpoint_write(log->dir, CHECKPOINT_LOG_START_OFFSET, start);
}

static int log_checkpoint_recovery(struct log *log, int64_t point)
{
	log->recovery_point = point;
	return checkpoint_write(log->dir, CHECKPOINT_RECOVERY_POINT, point);
}

/* Writes leader-epoch-checkpoint after a change of log->epochs; on failure
 * the log remembers to retry (log_flush). */
static int log_epochs_persist(struct log *log)
{
	int rc = leader_epochs_store(&log->epochs, log->dir);
	log->epochs_dirty = rc != 0;
	if (rc != 0)
		tlog(TLOG_WARN, "log", "%s: writing %s failed: %s (retried at the next flush)", log->dir,
		     LEADER_EPOCHS_CHECKPOINT, strerror(-rc));
	return rc;
}

/* The log start offset moved up: epochs wholly below it collapse into one. */
static int log_epochs_start_moved(struct log *log)
{
	return leader_epochs_truncate_from_start(&log->epochs, log->start_offset) ? log_epochs_persist(log) : 0;
}

/* ---- idempotent producers (log.h) ---- */

static size_t log_find_segment(const struct log *log, int64_t offset);

/* Removes the snapshot files outside [log start, log end] and all but the
 * newest LOG_PRODUCER_SNAPSHOTS_KEPT. One above the end must go: once the
 * log grows past it again it would look valid. Returns how many went, or
 * the first error. */
static int log_producers_prune(struct log *log)
{
	int64_t *offsets;
	size_t n;
	int rc = producer_state_snapshot_list(log->dir, &offsets, &n);
	if (rc != 0)
		return rc;
	int64_t end = log_end_offset(log);
	size_t kept = 0;
	int deleted = 0;
	for (size_t i = n; i-- > 0;) {
		if (offsets[i] >= log->start_offset && offsets[i] <= end && kept < LOG_PRODUCER_SNAPSHOTS_KEPT) {
			kept++;
			continue;
		}
		int r = producer_state_snapshot_delete(log->dir, offsets[i]);
		if (rc == 0)
			rc = r;
		deleted++;
	}
	free(offsets);
	return rc != 0 ? rc : deleted;
}

static int log_producers_delete_all(struct log *log)
{
	int64_t *offsets;
	size_t n;
	int rc = producer_state_snapshot_list(log->dir, &offsets, &n);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = producer_state_snapshot_delete(log->dir, offsets[i]);
	free(offsets);
	return rc;
}

/* Writes a snapshot at the log end offset, then prunes. A failure only
 * warns: the state can always be rebuilt from an older snapshot or the
 * batches. */
static void log_producers_snapshot(struct log *log, bool sync)
{
	int64_t end = log_end_offset(log);
	int rc = producer_state_snapshot_write(&log->producers, log->dir, end, sync);
	if (rc == 0)
		rc = log_producers_prune(log);
	if (rc < 0)
		tlog(TLOG_WARN, "log", "%s: producer state snapshot at offset %lld: %s", log->dir, (long long)end,
		     strerror(-rc));
}

/* Feeds the producer state every batch from the one holding `from` to the
 * log end: one header read per batch, the records are not read. */
static int log_producers_scan(struct log *log, int64_t from)
{
	for (size_t i = log_find_segment(log, from); i < log->nsegs; i++) {
		struct segment *seg = log->segs[i];
		int64_t pos;
		struct batch_header h;
		int rc = segment_locate(seg, from, &pos, &h);
		if (rc == 1)
			continue;
		if (rc != 0)
			return rc;
		while (pos < seg->size) {
			uint8_t hdr[BATCH_HEADER_SIZE];
			rc = fileio_pread_all(seg->fd, hdr, sizeof hdr, pos);
			if (rc != 0)
				return rc == -ENODATA ? -EBADMSG : rc;
			if (batch_header_parse(hdr, sizeof hdr, &h) != 0)
				return -EBADMSG; /* the segment was loaded or recovered: corruption */
			if (h.magic == 2 && h.base_offset + h.last_offset_delta >= from) {
				rc = producer_state_update(&log->producers, &h);
				if (rc != 0)
					return rc;
			}
			pos += (int64_t)batch_total_size(&h);
		}
	}
	return 0;
}

/* Rebuilds the producer state as of the log end: the latest valid snapshot
 * within [log start, log end] (corrupt ones are deleted), then the batches
 * above it. *pruned tells whether snapshot files were removed. */
static int log_producers_load(struct log *log, bool *pruned)
{
	producer_state_clear(&log->producers);
	int rc = log_producers_prune(log);
	if (rc < 0)
		return rc;
	*pruned = rc > 0;
	int64_t *offsets;
	size_t n;
	rc = producer_state_snapshot_list(log->dir, &offsets, &n);
	if (rc != 0)
		return rc;
	int64_t end = log_end_offset(log);
	int64_t from = log->start_offset;
	for (size_t i = n; i-- > 0;) {
		if (offsets[i] < log->start_offset || offsets[i] > end)
			continue;
		rc = producer_state_snapshot_read(&log->producers, log->dir, offsets[i]);
		if (rc == 0) {
			from = offsets[i];
			break;
		}
		if (rc == -ENOMEM)
			break;
		tlog(TLOG_WARN, "log", "%s: producer state snapshot at offset %lld unreadable (%s), using an older one",
		     log->dir, (long long)offsets[i], strerror(-rc));
		if (rc == -EBADMSG)
			(void)producer_state_snapshot_delete(log->dir, offsets[i]);
		rc = 0;
	}
	free(offsets);
	if (rc == 0 && from < end)
		rc = log_producers_scan(log, from);
	if (rc == -EBADMSG) {
		/* A header that does not parse in a segment open trusted: the
		 * partition still serves what it can, and producers the log
		 * does not know are accepted with any sequence - better than a
		 * stale last sequence refusing a live producer. */
		tlog(TLOG_WARN, "log", "%s: unreadable batch header after offset %lld, producer state starts empty",
		     log->dir, (long long)from);
		rc = 0;
		producer_state_clear(&log->producers);
	}
	if (rc != 0)
		producer_state_clear(&log->producers);
	return rc;
}

/* Creates an empty segment at `base` as the new active one. */
static int log_add_segment(struct log *log, int64_t base, int64_t now_ms)
{
	struct segment *seg;
	int rc = segment_open(log->dir, base, true, now_ms, &seg);
	if (rc != 0)
		return rc;
	rc = log_push_segment(log, seg);
	if (rc != 0) {
		segment_destroy(seg);
		return rc;
	}
	return fileio_fsync_dir(log->dir);
}

/* Seals and fsyncs the active segment, then starts a new one at the log end
 * offset. Rolling an empty active segment is a no-op: it already starts at the
 * log end offset. */
static int log_roll(struct log *log, int64_t now_ms)
{
	struct segment *active = log_active(log);
	if (active->size == 0)
		return 0;
	int rc = segment_seal(active);
	/* No fsync here: a roll happens on the produce path, and an fsync of a
	 * whole segment (1 GiB by default) would stall the event loop for
	 * seconds. As Kafka flushes a rolled segment in the background, we start
	 * its writeback and leave the recovery point where it is: it moves at
	 * the next log_flush or clean close, and a crash before that rescans
	 * the segment (recovery keeps every whole batch). */
	if (rc == 0)
		(void)segment_writeback(active);
	if (rc == 0)
		rc = log_add_segment(log, active->next_offset, now_ms);
	/* The state as of the new segment's base: a crash or a truncation
	 * into this segment re-reads this segment only. */
	if (rc == 0)
		log_producers_snapshot(log, false);
	return rc;
}

#define LOG_VISIT_CHUNK (1024 * 1024)

static size_t log_find_segment(const struct log *log, int64_t offset);

/* Hands fn the whole batches of one segment from `offset`, in chunks of about
 * LOG_VISIT_CHUNK bytes (one batch may be larger). */
static int log_visit_segment(struct segment *seg, int64_t offset, int (*fn)(void *arg, const uint8_t *data, size_t len),
			     void *arg)
{
	for (;;) {
		uint8_t *buf = NULL;
		size_t len = 0;
		int rc = segment_read(seg, offset, INT64_MAX, LOG_VISIT_CHUNK, true, &buf, &len);
		if (rc == 1 || (rc == 0 && len == 0)) {
			free(buf);
			return 0;
		}
		if (rc < 0)
			return rc;
		/* The next offset follows the last whole batch of the chunk. */
		size_t pos = 0;
		struct batch_header h;
		while (pos < len && batch_header_parse(buf + pos, len - pos, &h) == 0 && pos + batch_total_size(&h) <= len) {
			offset = h.base_offset + h.last_offset_delta + 1;
			pos += batch_total_size(&h);
		}
		rc = fn(arg, buf, pos);
		free(buf);
		if (rc != 0)
			return rc;
		if (pos == 0)
			return -EBADMSG;
	}
}

int log_visit(struct log *log, int64_t offset, int (*fn)(void *arg, const uint8_t *data, size_t len), void *arg)
{
	if (offset < log->start_offset)
		offset = log->start_offset;
	for (size_t i = log_find_segment(log, offset); i < log->nsegs; i++) {
		int rc = log_visit_segment(log->segs[i], offset, fn, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void log_set_drop_cb(struct log *log, log_drop_cb cb, void *arg)
{
	log->drop_cb = cb;
	log->drop_arg = arg;
}

static int log_drop_visit_cb(void *arg, const uint8_t *data, size_t len)
{
	struct log *log = arg;
	log->drop_cb(log->drop_arg, data, len);
	return 0;
}

/* Removes the oldest `k` segments (rolling first when that is all of them),
 * moves the log start offset to the new first segment, then unlinks. The start
 * offset is checkpointed before any file goes, so a crash in between leaves
 * files that the next retention pass removes, never a start offset that
 * points at deleted data. */
static int log_delete_oldest(struct log *log, size_t k, int64_t now_ms)
{
	if (k == 0)
		return 0;
	if (k == log->nsegs) {
		int rc = log_roll(log, now_ms);
		if (rc != 0)
			return rc;
		if (k == log->nsegs)
			return 0; /* nothing to roll: the only segment is empty */
	}
	struct segment **doomed = malloc(k * sizeof *doomed);
	if (doomed == NULL)
		return -ENOMEM;
	memcpy(doomed, log->segs, k * sizeof *doomed);
	memmove(log->segs, log->segs + k, (log->nsegs - k) * sizeof *log->segs);
	log->nsegs -= k;
	int rc = 0;
	if (log->segs[0]->base_offset > log->start_offset)
		rc = log_checkpoint_start(log, log->segs[0]->base_offset);
	int r = log_epochs_start_moved(log);
	if (rc == 0)
		rc = r;
	/* Snapshots below the new start describe batches that are gone. */
	r = log_producers_prune(log);
	if (rc == 0 && r < 0)
		rc = r;
	for (size_t i = 0; i < k; i++) {
		if (log->drop_cb)
			(void)log_visit_segment(doomed[i], doomed[i]->base_offset, log_drop_visit_cb, log);
		int r = segment_destroy(doomed[i]);
		if (rc == 0)
			rc = r;
	}
	free(doomed);
	return rc == 0 ? (int)k : rc;
}

/* Drops every segment and restarts the log empty at `offset`. */
static int log_truncate_fully(struct log *log, int64_t offset, int64_t now_ms)
{
	int rc = 0;
	while (log->nsegs > 0) {
		int r = segment_destroy(log->segs[--log->nsegs]);
		if (rc == 0)
			rc = r;
	}
	/* No producers either (Kafka's truncateFullyAndStartAt); a snapshot
	 * at `offset` from an earlier life of the log would look valid, so
	 * every one goes, before the directory fsync of log_add_segment. */
	producer_state_clear(&log->producers);
	int r = log_producers_delete_all(log);
	if (rc == 0)
		rc = r;
	r = log_add_segment(log, offset, now_ms);
	if (r != 0)
		return r; /* the log has no segment: it is unusable, only log_close is safe */
	if (rc == 0)
		rc = log_checkpoint_start(log, offset);
	/* No data, no epoch history (Kafka's truncateFullyAndStartAt). */
	leader_epochs_clear(&log->epochs);
	r = log_epochs_persist(log);
	if (rc == 0)
		rc = r;
	if (rc == 0)
		rc = log_checkpoint_recovery(log, offset);
	return rc;
}

/* Parses "<20 digits><suffix>"; returns the suffix or NULL. */
static const char *log_parse_name(const char *name, int64_t *base)
{
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return NULL;
		if (v > (INT64_MAX - (name[i] - '0')) / 10)
			return NULL;
		v = v * 10 + (name[i] - '0');
	}
	*base = v;
	return name + 20;
}

static int log_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void log_unlink_in(const char *dir, const char *name)
{
	char *path = fileio_join(dir, name);
	if (path != NULL)
		unlink(path);
	free(path);
}

static bool log_has_base(const int64_t *bases, size_t n, int64_t base)
{
	return bsearch(&base, bases, n, sizeof *bases, log_cmp_i64) != NULL;
}

static bool log_ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Lists the base offsets of the directory's .log files (sorted, malloc'd into
 * *out) and removes leftovers: temporary files of interrupted writes and
 * indexes whose .log is gone. */
static int log_finish_swaps(const char *dir);

static int log_list_segments(const char *dir, int64_t **out, size_t *count)
{
	/* A compaction swap interrupted by a crash (log_replace_cleaned). */
	int swap_rc = log_finish_swaps(dir);
	if (swap_rc != 0)
		return swap_rc;
	DIR *d = opendir(dir);
	if (d == NULL)
		return -errno;
	int64_t *bases = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int64_t base;
		const char *suffix = log_parse_name(e->d_name, &base);
		if (log_ends_with(e->d_name, ".tmp") || log_ends_with(e->d_name, ".deleted") ||
		    log_ends_with(e->d_name, ".cleaned") || log_ends_with(e->d_name, ".swap")) {
			log_unlink_in(dir, e->d_name);
			continue;
		}
		if (suffix == NULL || strcmp(suffix, ".log") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			int64_t *b = realloc(bases, cap * sizeof *b);
			if (b == NULL) {
				rc = -ENOMEM;
				break;
			}
			bases = b;
		}
		bases[n++] = base;
	}
	if (rc != 0) {
		closedir(d);
		free(bases);
		return rc;
	}
	if (n > 0)
		qsort(bases, n, sizeof *bases, log_cmp_i64);

	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		int64_t base;
		const char *suffix = log_parse_name(e->d_name, &base);
		if (suffix == NULL || (strcmp(suffix, ".index") != 0 && strcmp(suffix, ".timeindex") != 0))
			continue;
		if (!log_has_base(bases, n, base))
			log_unlink_in(dir, e->d_name);
	}
	closedir(d);
	*out = bases;
	*count = n;
	return 0;
}

static void log_free(struct log *log)
{
	for (size_t i = 0; i < log->nsegs; i++)
		segment_close(log->segs[i]);
	free(log->segs);
	leader_epochs_free(&log->epochs);
	producer_state_free(&log->producers);
	free(log->dir);
	free(log);
}

/* Opens every listed segment and brings it to a trusted state; see log_open. */
static int log_load_segments(struct log *log, const int64_t *bases, size_t n, bool clean, int64_t now_ms,
			     bool *recovered)
{
	*recovered = false;
	for (size_t i = 0; i < n; i++) {
		struct segment *seg;
		int rc = segment_open(log->dir, bases[i], false, now_ms, &seg);
		if (rc != 0)
			return rc;
		rc = log_push_segment(log, seg);
		if (rc != 0) {
			segment_close(seg);
			return rc;
		}
	}
	for (size_t i = 0; i < log->nsegs; i++) {
		struct segment *seg = log->segs[i];
		/* Below the recovery point everything was fsynced: trust it like a
		 * clean shutdown (Kafka recovers from the recovery point on). */
		bool trusted = clean || (i + 1 < log->nsegs && log->segs[i + 1]->base_offset <= log->recovery_point);
		int rc = trusted ? segment_load(seg) : -EBADMSG;
		int64_t truncated = 0;
		if (rc == -EBADMSG) {
			rc = segment_recover(seg, log->cfg.index_interval_bytes, &truncated);
			if (rc == 0) {
				rc = segment_flush(seg);
				*recovered = true;
			}
		}
		if (rc != 0)
			return rc;
		if (i > 0 && seg->base_offset < log->segs[i - 1]->next_offset)
			return -EBADMSG; /* overlapping segments: not something to repair silently */
		if (truncated > 0) {
			/* Everything after a torn batch was written after it: drop it. */
			while (log->nsegs > i + 1) {
				rc = segment_destroy(log->segs[--log->nsegs]);
				if (rc != 0)
					return rc;
			}
		}
	}
	return 0;
}

/* Records the leader epoch of every batch from the one holding `offset` to
 * the log end: one header read per batch, the records are not read. Sets
 * *changed when an epoch was added. */
static int log_epochs_scan(struct log *log, int64_t offset, bool *changed)
{
	for (size_t i = log_find_segment(log, offset); i < log->nsegs; i++) {
		struct segment *seg = log->segs[i];
		int64_t pos;
		struct batch_header h;
		int rc = segment_locate(seg, offset, &pos, &h);
		if (rc == 1)
			continue;
		if (rc != 0)
			return rc;
		while (pos < seg->size) {
			uint8_t hdr[BATCH_HEADER_SIZE];
			rc = fileio_pread_all(seg->fd, hdr, sizeof hdr, pos);
			if (rc != 0)
				return rc == -ENODATA ? -EBADMSG : rc;
			/* The segment was loaded or recovered: a bad header here is
			 * corruption that open did not catch. */
			if (batch_header_parse(hdr, sizeof hdr, &h) != 0)
				return -EBADMSG;
			if (h.magic == 2 && h.partition_leader_epoch >= 0) {
				rc = leader_epochs_assign(&log->epochs, h.partition_leader_epoch, h.base_offset);
				if (rc == -ENOMEM)
					return rc;
				if (rc == 1)
					*changed = true;
			}
			pos += (int64_t)batch_total_size(&h);
		}
	}
	return 0;
}

/* Loads the leader-epoch history once the segments are recovered and the
 * start offset is known. `recovery_point` is the checkpointed one, from
 * before this open: the file is accurate below it (see epochs_dirty). */
static int log_epochs_open(struct log *log, bool clean, int64_t recovery_point)
{
	int64_t end = log_end_offset(log);
	int64_t from = end; /* where batch headers must be scanned from */
	bool changed = false;
	int rc = leader_epochs_load(&log->epochs, log->dir);
	if (rc == -ENOENT || rc == -EBADMSG) {
		/* Missing (a log written before epochs were recorded, or a new
		 * one) or unreadable: rebuild it from the batches. */
		if (rc == -EBADMSG || end > log->start_offset)
			tlog(TLOG_INFO, "log", "%s: %s %s, rebuilding it from the batch headers", log->dir,
			     LEADER_EPOCHS_CHECKPOINT, rc == -ENOENT ? "missing" : "malformed");
		from = log->start_offset;
		changed = true;
	} else if (rc != 0) {
		return rc;
	} else if (!clean) {
		/* After a crash, batches above the recovery point may be there
		 * whose epoch never reached the file: take them from the data. */
		from = recovery_point > log->start_offset ? recovery_point : log->start_offset;
		changed = leader_epochs_truncate_from_end(&log->epochs, from);
	}
	if (from < end) {
		rc = log_epochs_scan(log, from, &changed);
		if (rc != 0)
			return rc;
	}
	/* Recovery may have cut the log; retention may have moved its start
	 * after the file was written. */
	changed |= leader_epochs_truncate_from_end(&log->epochs, end);
	changed |= leader_epochs_truncate_from_start(&log->epochs, log->start_offset);
	return changed ? log_epochs_persist(log) : 0;
}

struct log *log_open(const char *dir, const struct log_config *cfg, int64_t now_ms, int *err)
{
	int rc;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		*err = -errno;
		return NULL;
	}
	struct log *log = calloc(1, sizeof *log);
	if (log == NULL || (log->dir = strdup(dir)) == NULL) {
		free(log);
		*err = -ENOMEM;
		return NULL;
	}
	log->cfg = *cfg;
	log->high_watermark = INT64_MAX;
	log->cleaner_due_ms = INT64_MIN;
	log->epochs_warned = -1;
	log->now_ms = now_ms;
	log->last_flush_ms = now_ms;

	int64_t start = 0;
	rc = checkpoint_read(dir, CHECKPOINT_LOG_START_OFFSET, &start);
	if (rc != 0 && rc != -ENOENT && rc != -EBADMSG)
		goto err;
	if (rc != 0)
		start = 0;
	rc = checkpoint_read(dir, CHECKPOINT_RECOVERY_POINT, &log->recovery_point);
	if (rc != 0 && rc != -ENOENT && rc != -EBADMSG)
		goto err;
	if (rc != 0)
		log->recovery_point = 0; /* unknown: recover every segment */
	int64_t recovery_point = log->recovery_point;

	char *marker = fileio_join(dir, LOG_CLEAN_SHUTDOWN_FILE);
	if (marker == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	bool clean = access(marker, F_OK) == 0;

	int64_t *bases = NULL;
	size_t n = 0;
	rc = log_list_segments(dir, &bases, &n);
	bool recovered = false;
	if (rc == 0)
		rc = log_load_segments(log, bases, n, clean, now_ms, &recovered);
	free(bases);
	if (rc == 0 && log->nsegs == 0)
		rc = log_add_segment(log, start, now_ms);
	if (rc != 0)
		goto err_after_marker;

	/* Kafka: log start offset = max(checkpoint, first segment's base). */
	if (start < log->segs[0]->base_offset)
		start = log->segs[0]->base_offset;
	if (start > log_end_offset(log)) {
		/* The checkpoint is ahead of what survived: restart empty there. */
		rc = log_truncate_fully(log, start, now_ms);
	} else if (start != log->start_offset) {
		rc = log_checkpoint_start(log, start);
	}
	if (rc == 0)
		rc = log_epochs_open(log, clean, recovery_point);
	bool pruned = false;
	if (rc == 0)
		rc = log_producers_load(log, &pruned);
	/* A snapshot above the end that came back after a machine crash
	 * would look valid once the log grows past it. */
	if (rc == 0 && pruned)
		rc = fileio_fsync_dir(dir);
	/* Everything is fsynced now: recovered segments were, and a clean
	 * shutdown flushed the rest. */
	if (rc == 0 && (recovered || clean || log->recovery_point != log_end_offset(log)))
		rc = log_checkpoint_recovery(log, log_end_offset(log));
	if (rc != 0)
		goto err_after_marker;

	/* From here on a crash must trigger recovery. */
	if (clean) {
		rc = unlink(marker) < 0 ? -errno : fileio_fsync_dir(dir);
		if (rc != 0)
			goto err_after_marker;
	}
	free(marker);
	return log;

err_after_marker:
	free(marker);
err:
	log_free(log);
	*err = rc;
	return NULL;
}

int log_flush(struct log *log)
{
	struct segment *active = log_active(log);
	/* The epoch history first: the recovery point must not pass a batch
	 * whose epoch is not in the file (log_epochs_open relies on it). */
	int rc = log->epochs_dirty ? log_epochs_persist(log) : 0;
	if (rc != 0)
		return rc;
	/* Segments rolled since the last flush were only written back
	 * (log_roll): fsync everything above the recovery point. */
	for (size_t i = 0; i + 1 < log->nsegs && rc == 0; i++)
		if (log->segs[i]->next_offset > log->recovery_point)
			rc = segment_flush(log->segs[i]);
	if (rc == 0)
		rc = segment_flush(active);
	if (rc != 0)
		return rc;
	log->unflushed = 0;
	log->last_flush_ms = log->now_ms;
	if (log->recovery_point != active->next_offset)
		rc = log_checkpoint_recovery(log, active->next_offset);
	return rc;
}

/* flush.messages / flush.ms (Kafka's defaults: never). */
static int log_maybe_flush(struct log *log)
{
	bool by_count = log->unflushed >= log->cfg.flush_messages;
	bool by_time = log->cfg.flush_ms != INT64_MAX && log->unflushed > 0 &&
		       log->now_ms - log->last_flush_ms >= log->cfg.flush_ms;
	return by_count || by_time ? log_flush(log) : 0;
}

void log_close(struct log *log)
{
	if (log == NULL)
		return;
	struct segment *active = log_active(log);
	int rc = segment_seal(active);
	/* The next open then reads no batch header at all. */
	log_producers_snapshot(log, true);
	if (rc == 0)
		rc = log_flush(log);
	for (size_t i = 0; i < log->nsegs && rc == 0; i++)
		if (log->segs[i]->index_error)
			rc = -EIO;
	if (rc == 0) {
		/* The marker says "indexes and recovery point are trustworthy". */
		char *marker = fileio_join(log->dir, LOG_CLEAN_SHUTDOWN_FILE);
		int fd = marker ? open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
		if (fd >= 0) {
			if (fsync(fd) == 0)
				(void)fileio_fsync_dir(log->dir);
			close(fd);
		}
		free(marker);
	}
	log_free(log);
}

int log_delete(struct log *log)
{
	char *dir = log->dir;
	log->dir = NULL;
	log_free(log);

	int rc = 0;
	DIR *d = opendir(dir);
	if (d == NULL) {
		rc = -errno;
		free(dir);
		return rc;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *path = fileio_join(dir, e->d_name);
		if (path == NULL || (unlink(path) < 0 && errno != ENOENT)) {
			if (rc == 0)
				rc = path ? -errno : -ENOMEM;
		}
		free(path);
	}
	closedir(d);
	if (rmdir(dir) < 0 && rc == 0)
		rc = -errno;
	free(dir);
	return rc;
}

static int log_append_batch(struct log *log, const uint8_t *buf, size_t len, int64_t now_ms, bool gap_allowed);

int log_append(struct log *log, const uint8_t *buf, size_t len, int64_t now_ms)
{
	return log_append_batch(log, buf, len, now_ms, false);
}

int log_append_from_leader(struct log *log, const uint8_t *buf, size_t len, int64_t now_ms)
{
	return log_append_batch(log, buf, len, now_ms, true);
}

static int log_append_batch(struct log *log, const uint8_t *buf, size_t len, int64_t now_ms, bool gap_allowed)
{
	struct batch_header h;
	if (batch_header_parse(buf, len, &h) != 0 || batch_total_size(&h) != len || h.magic != 2 ||
	    h.last_offset_delta < 0 || h.records_count < 0 || len > INT32_MAX)
		return -EINVAL;
	if (h.base_offset != log_end_offset(log) && !(gap_allowed && h.base_offset > log_end_offset(log)))
		return -EINVAL;
	log->now_ms = now_ms;

	/* Room for a new epoch entry before anything is written, so that
	 * recording it cannot fail once the batch is in. */
	int32_t epoch = h.partition_leader_epoch;
	bool new_epoch = epoch >= 0 && epoch > leader_epochs_latest(&log->epochs);
	if (new_epoch && leader_epochs_reserve(&log->epochs, log->epochs.count + 1) != 0)
		return -ENOMEM;
	/* Likewise room for a new producer. */
	if (producer_state_prepare(&log->producers, h.producer_id) != 0)
		return -ENOMEM;

	struct segment *active = log_active(log);
	int64_t last = h.base_offset + h.last_offset_delta;
	int64_t limit = log->cfg.segment_bytes < INT32_MAX ? log->cfg.segment_bytes : INT32_MAX;
	bool roll = active->size > 0 &&
		    ((int64_t)len > limit - active->size || now_ms - segment_roll_base_ms(active) > log->cfg.segment_ms ||
		     last - active->base_offset > INT32_MAX);
	int rc = roll ? log_roll(log, now_ms) : 0;
	if (rc != 0)
		return rc;
	rc = segment_append(log_active(log), buf, len, &h, log->cfg.index_interval_bytes);
	if (rc != 0)
		return rc;
	log->unflushed += h.records_count;
	if (h.magic == 2)
		(void)producer_state_update(&log->producers, &h); /* prepared: cannot fail */
	/* -1 (NO_PARTITION_LEADER_EPOCH) records nothing. A failed write of
	 * the file does not fail the append: the batch is in, the history is
	 * right in memory, and log_flush retries the file before the recovery
	 * point passes this batch. */
	if (new_epoch && leader_epochs_assign(&log->epochs, epoch, h.base_offset) == 1)
		(void)log_epochs_persist(log);
	else if (epoch >= 0 && epoch < leader_epochs_latest(&log->epochs) &&
		 log->epochs_warned != leader_epochs_latest(&log->epochs)) {
		log->epochs_warned = leader_epochs_latest(&log->epochs);
		tlog(TLOG_WARN, "log",
		     "%s: batch at offset %lld has leader epoch %d, below the latest %d: not recorded (said once per "
		     "latest epoch)",
		     log->dir, (long long)h.base_offset, (int)epoch, (int)log->epochs_warned);
	}
	return log_maybe_flush(log);
}

/* Index of the segment holding `offset`: the last whose base is <= offset. */
static size_t log_find_segment(const struct log *log, int64_t offset)
{
	size_t lo = 0, hi = log->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (log->segs[mid]->base_offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == 0 ? 0 : lo - 1;
}

int log_read(struct log *log, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
	     uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (offset < log->start_offset || offset > log_end_offset(log))
		return -ERANGE;
	for (size_t i = log_find_segment(log, offset); i < log->nsegs; i++) {
		int rc = segment_read(log->segs[i], offset, max_offset, max_bytes, min_one, out, out_len);
		if (rc <= 0)
			return rc;
	}
	return 0; /* offset == log end offset */
}

int log_read_span(struct log *log, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
		  struct log_span **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (offset < log->start_offset || offset > log_end_offset(log))
		return -ERANGE;
	for (size_t i = log_find_segment(log, offset); i < log->nsegs; i++) {
		int rc = segment_read_span(log->segs[i], offset, max_offset, max_bytes, min_one, out, out_len);
		if (rc <= 0)
			return rc;
	}
	return 0; /* offset == log end offset */
}

int log_offset_for_timestamp(struct log *log, int64_t ts, int64_t *offset, int64_t *timestamp)
{
	for (size_t i = 0; i < log->nsegs; i++) {
		struct segment *seg = log->segs[i];
		if (seg->next_offset <= log->start_offset || seg->max_timestamp < ts)
			continue;
		int rc = segment_find_timestamp(seg, ts, log->start_offset, offset, timestamp);
		if (rc != -ENOENT)
			return rc;
	}
	return -ENOENT;
}

int log_max_timestamp(struct log *log, int64_t *offset, int64_t *timestamp)
{
	struct segment *best = NULL;
	for (size_t i = 0; i < log->nsegs; i++)
		if (log->segs[i]->max_timestamp >= 0 &&
		    (best == NULL || log->segs[i]->max_timestamp > best->max_timestamp))
			best = log->segs[i];
	if (best == NULL)
		return -ENOENT;
	return segment_max_timestamp(best, offset, timestamp);
}

/* First offset after segment i: the next segment's base, or the log end offset. */
static int64_t log_upper_bound(const struct log *log, size_t i)
{
	return i + 1 < log->nsegs ? log->segs[i + 1]->base_offset : log_end_offset(log);
}

/* Kafka's deletableSegments: whole segments below the high watermark; the
 * active one only when it holds data. */
static bool log_deletable(const struct log *log, size_t i)
{
	if (log_upper_bound(log, i) > log->high_watermark)
		return false;
	return i + 1 < log->nsegs || log->segs[i]->size > 0;
}

int log_enforce_retention(struct log *log, int64_t now_ms)
{
	log->now_ms = now_ms;
	struct segment *active = log_active(log);
	if (active->size > 0 && now_ms - segment_roll_base_ms(active) > log->cfg.segment_ms) {
		int rc = log_roll(log, now_ms);
		if (rc != 0)
			return rc;
	}

	int deleted = 0;
	size_t k = 0;
	/* retention.ms, by the newest timestamp of each segment. */
	if (log->cfg.retention_ms >= 0) {
		while (k < log->nsegs && log_deletable(log, k) &&
		       now_ms - segment_largest_timestamp(log->segs[k]) > log->cfg.retention_ms)
			k++;
		int rc = log_delete_oldest(log, k, now_ms);
		if (rc < 0)
			return rc;
		deleted += rc;
	}
	/* retention.bytes: drop the oldest while the rest still exceeds it. */
	if (log->cfg.retention_bytes >= 0) {
		int64_t excess = log_size_bytes(log) - log->cfg.retention_bytes;
		k = 0;
		while (k < log->nsegs && log_deletable(log, k) && excess - log->segs[k]->size >= 0) {
			excess -= log->segs[k]->size;
			k++;
		}
		int rc = log_delete_oldest(log, k, now_ms);
		if (rc < 0)
			return rc;
		deleted += rc;
	}
	/* Segments wholly below log_start_offset (DeleteRecords); Kafka keeps
	 * the last one, which still defines the log end offset. */
	k = 0;
	while (k + 1 < log->nsegs && log->segs[k + 1]->base_offset <= log->start_offset && log_deletable(log, k))
		k++;
	int rc = log_delete_oldest(log, k, now_ms);
	if (rc < 0)
		return rc;
	deleted += rc;

	rc = log_maybe_flush(log);
	return rc < 0 ? rc : deleted;
}

int log_truncate_to(struct log *log, int64_t offset)
{
	if (offset < 0)
		return -EINVAL;
	if (offset >= log_end_offset(log))
		return 0;
	if (offset < log->segs[0]->base_offset)
		return log_truncate_fully(log, offset, log->now_ms);

	int rc = 0;
	bool removed = false;
	while (log->nsegs > 1 && log_active(log)->base_offset > offset) {
		rc = segment_destroy(log->segs[--log->nsegs]);
		removed = true;
		if (rc != 0)
			return rc;
	}
	rc = segment_truncate_to(log_active(log), offset);
	if (rc != 0)
		return rc;
	int64_t end = log_end_offset(log);
	/* Epochs that start at or after the new end wrote nothing that is
	 * left (the end may be below `offset`: a straddling batch goes whole).
	 * Below the log start nothing visible is left: no history, as Kafka. */
	bool changed = log->start_offset > end ? log->epochs.count > 0
					       : leader_epochs_truncate_from_end(&log->epochs, end);
	if (log->start_offset > end)
		leader_epochs_clear(&log->epochs);
	/* A failed write is retried by log_flush; the checkpoints below must
	 * follow the truncation regardless. */
	int epochs_rc = changed ? log_epochs_persist(log) : 0;
	if (log->start_offset > end)
		rc = log_checkpoint_start(log, end);
	if (rc == 0 && log->recovery_point > end)
		rc = log_checkpoint_recovery(log, end);
	/* The producer state as of the new end: snapshots above it go, the
	 * latest one left plus the batches after it rebuild it. */
	bool pruned = false;
	int producers_rc = log_producers_load(log, &pruned);
	if (rc == 0 && producers_rc != 0)
		rc = producers_rc;
	/* Removed segments and snapshots must stay removed. */
	if (rc == 0 && (removed || pruned))
		rc = fileio_fsync_dir(log->dir);
	return rc != 0 ? rc : epochs_rc;
}

int log_restart_at(struct log *log, int64_t offset)
{
	if (offset < 0)
		return -EINVAL;
	return log_truncate_fully(log, offset, log->now_ms);
}

int log_advance_start_offset(struct log *log, int64_t offset)
{
	if (offset > log_end_offset(log))
		return -ERANGE;
	if (offset <= log->start_offset)
		return 0;
	int rc = log_checkpoint_start(log, offset);
	int r = log_epochs_start_moved(log);
	return rc != 0 ? rc : r;
}

int log_assign_leader_epoch(struct log *log, int32_t epoch)
{
	if (epoch < 0 || epoch <= leader_epochs_latest(&log->epochs))
		return 0;
	int rc = leader_epochs_assign(&log->epochs, epoch, log_end_offset(log));
	if (rc < 0)
		return rc;
	return rc == 1 ? log_epochs_persist(log) : 0;
}

int32_t log_latest_epoch(const struct log *log)
{
	return leader_epochs_latest(&log->epochs);
}

int log_end_offset_for_epoch(struct log *log, int32_t epoch, int32_t *out_epoch, int64_t *end_offset)
{
	bool known = leader_epochs_end_offset_for(&log->epochs, epoch, log_end_offset(log), out_epoch, end_offset);
	return known ? 0 : -ENOENT;
}

/* ---- idempotent producers ---- */

int log_producer_check(const struct log *log, const uint8_t *batch, size_t len, struct producer_state_verdict *out)
{
	struct batch_header h;
	if (batch_header_parse(batch, len, &h) != 0 || h.magic != 2)
		return -EINVAL;
	producer_state_check(&log->producers, &h, out);
	return 0;
}

size_t log_producer_count(const struct log *log)
{
	return log->producers.count;
}

const struct producer_state_entry *log_producer_entry(const struct log *log, int64_t producer_id)
{
	return producer_state_find(&log->producers, producer_id);
}

size_t log_expire_producers(struct log *log, int64_t now_ms, int64_t producer_id_expiration_ms)
{
	return producer_state_expire(&log->producers, now_ms, producer_id_expiration_ms);
}

/* ---- Compaction support (log.h) ---- */

struct segment *log_segment_at(struct log *log, size_t i)
{
	return i < log->nsegs ? log->segs[i] : NULL;
}

int64_t log_high_watermark(const struct log *log)
{
	return log->high_watermark;
}

const struct log_config *log_get_config(const struct log *log)
{
	return &log->cfg;
}

/* "<prefix><suffix>" into a fresh string. */
static char *log_seg_path(const struct segment *seg, const char *suffix)
{
	size_t n = strlen(seg->prefix) + strlen(suffix) + 1;
	char *p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s%s", seg->prefix, suffix);
	return p;
}

/* Completes "<base>.log.swap" files left by a crash during a swap: the .swap
 * is complete and durable (it was fsynced before the rename from .cleaned),
 * so it replaces the .log, as Kafka's recovery does; the old indexes describe
 * the old file and go, to be rebuilt. */
static int log_finish_swaps(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -errno;
	int rc = 0;
	bool any = false;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && rc == 0) {
		int64_t base;
		const char *suffix = log_parse_name(e->d_name, &base);
		if (suffix == NULL || strcmp(suffix, ".log.swap") != 0)
			continue;
		char name[64];
		snprintf(name, sizeof name, "%020lld.index", (long long)base);
		log_unlink_in(dir, name);
		snprintf(name, sizeof name, "%020lld.timeindex", (long long)base);
		log_unlink_in(dir, name);
		snprintf(name, sizeof name, "%020lld.log", (long long)base);
		char *from = fileio_join(dir, e->d_name);
		char *to = fileio_join(dir, name);
		if (from == NULL || to == NULL)
			rc = -ENOMEM;
		else if (rename(from, to) < 0)
			rc = -errno;
		else
			tlog(TLOG_INFO, "log", "%s: completed the interrupted compaction swap of segment %lld", dir,
			     (long long)base);
		free(from);
		free(to);
		any = true;
	}
	closedir(d);
	if (rc == 0 && any)
		rc = fileio_fsync_dir(dir);
	return rc;
}

int log_replace_cleaned(struct log *log, size_t i, bool empty, int64_t now_ms)
{
	if (i + 1 >= log->nsegs)
		return -EINVAL; /* never the active segment */
	struct segment *old = log->segs[i];
	char *cleaned = log_seg_path(old, ".log.cleaned");
	char *swap = log_seg_path(old, ".log.swap");
	char *logp = log_seg_path(old, ".log");
	char *idx = log_seg_path(old, ".index");
	char *tidx = log_seg_path(old, ".timeindex");
	int rc = 0;
	if (cleaned == NULL || swap == NULL || logp == NULL || idx == NULL || tidx == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if (empty && i > 0) {
		/* Nothing of the segment is left: the whole segment goes. Its
		 * records are all superseded, so removing it is safe whenever a
		 * crash interrupts it. */
		unlink(cleaned);
		memmove(log->segs + i, log->segs + i + 1, (log->nsegs - i - 1) * sizeof *log->segs);
		log->nsegs--;
		rc = segment_destroy(old);
		if (rc == 0)
			rc = fileio_fsync_dir(log->dir);
		goto out;
	}
	if (rename(cleaned, swap) < 0) {
		rc = -errno;
		unlink(cleaned);
		goto out;
	}
	rc = fileio_fsync_dir(log->dir);
	if (rc != 0) {
		unlink(swap);
		goto out;
	}
	/* From here on the old indexes are wrong for the file on disk: until
	 * the new segment is open, a close must not claim they are good. */
	old->index_error = true;
	if ((unlink(idx) < 0 && errno != ENOENT) || (unlink(tidx) < 0 && errno != ENOENT) || rename(swap, logp) < 0) {
		rc = -errno;
		goto out;
	}
	rc = fileio_fsync_dir(log->dir);
	struct segment *seg = NULL;
	if (rc == 0)
		rc = segment_open(log->dir, old->base_offset, false, now_ms, &seg);
	int64_t truncated = 0;
	if (rc == 0)
		rc = segment_recover(seg, log->cfg.index_interval_bytes, &truncated);
	if (rc == 0)
		rc = segment_flush(seg);
	if (rc == 0 && truncated > 0)
		rc = -EBADMSG; /* the cleaner wrote something recovery does not accept */
	if (rc != 0) {
		segment_close(seg);
		goto out;
	}
	/* Spans of the old segment keep its (now unlinked) bytes. */
	log->segs[i] = seg;
	segment_close(old);
out:
	free(cleaned);
	free(swap);
	free(logp);
	free(idx);
	free(tidx);
	return rc;
}

int64_t log_cleaner_due_ms(const struct log *log)
{
	return log->cleaner_due_ms;
}

void log_set_cleaner_due_ms(struct log *log, int64_t due_ms)
{
	log->cleaner_due_ms = due_ms;
}
