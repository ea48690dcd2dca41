/* log: one partition's log on disk - the public API of broker/log.
 *
 * Layout (Kafka's, DESIGN.md §6): the partition directory holds segments
 * <20-digit base offset>.log / .index / .timeindex, plus
 *   log-start-offset-checkpoint       the log start offset (survives restart)
 *   recovery-point-offset-checkpoint  offsets below it are known to be fsynced
 *   .kafka_cleanshutdown              present only while the log is closed cleanly
 *   leader-epoch-checkpoint           the leader-epoch history (broker/log/leader_epochs.h)
 *   <20-digit offset>.snapshot        idempotent-producer state as of that offset
 *                                     (broker/log/producer_state.h, see below)
 *
 * Durability: appends go to the page cache (pwrite); fsync happens on segment
 * roll, log_flush, log_close, and when flush.messages / flush.ms say so. After a
 * crash, log_open validates every batch from the recovery point on and cuts the
 * log at the first torn or invalid one.
 *
 * Errors are negative errno values: -ERANGE for an offset outside the log,
 * -ENOENT for "no such timestamp", -EINVAL for a batch that does not fit the
 * log (wrong base offset, bad header), anything else is a storage error
 * (KAFKA_STORAGE_ERROR at the API border).
 *
 * Threading: a log is used by one thread at a time; calls block on disk I/O only.
 */
#ifndef TERN_LOG_LOG_H
#define TERN_LOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/log/producer_state.h"

struct log_config {
	int64_t segment_bytes;        /* segment.bytes / log.segment.bytes (default 1 GiB) */
	int64_t segment_ms;           /* segment.ms / log.roll.ms (default 7 days) */
	int64_t retention_ms;         /* retention.ms (-1 = unlimited) */
	int64_t retention_bytes;      /* retention.bytes (-1 = unlimited), per partition */
	int32_t index_interval_bytes; /* index.interval.bytes */
	int64_t flush_messages;       /* flush.messages: fsync after this many records (INT64_MAX = never) */
	int64_t flush_ms;             /* flush.ms (INT64_MAX = never) */
	/* Compaction (broker/log/cleaner.h). */
	bool compact;                       /* cleanup.policy contains compact */
	int64_t delete_retention_ms;        /* delete.retention.ms: how long tombstones stay */
	int64_t min_compaction_lag_ms;      /* min.compaction.lag.ms (KIP-58) */
	double min_cleanable_dirty_ratio;   /* min.cleanable.dirty.ratio */
};

/* Kafka's defaults. */
#define LOG_DEFAULT_SEGMENT_BYTES (1024LL * 1024 * 1024)
#define LOG_DEFAULT_SEGMENT_MS (7LL * 24 * 60 * 60 * 1000)
#define LOG_DEFAULT_RETENTION_MS (7LL * 24 * 60 * 60 * 1000)
#define LOG_DEFAULT_RETENTION_BYTES (-1LL)
#define LOG_DEFAULT_INDEX_INTERVAL_BYTES 4096
#define LOG_CLEAN_SHUTDOWN_FILE ".kafka_cleanshutdown"
#define LOG_DEFAULT_DELETE_RETENTION_MS (24LL * 60 * 60 * 1000)
#define LOG_DEFAULT_MIN_CLEANABLE_DIRTY_RATIO 0.5

/* Fills `cfg` with Kafka's defaults (flush.* = never). */
void log_config_default(struct log_config *cfg);

struct log;

/* Opens or creates the partition directory `dir` (full path; its parent must
 * exist) and recovers it: without the clean-shutdown marker, segments from the
 * recovery point on are scanned batch by batch and truncated at the first
 * torn/invalid batch (short length, bad CRC, offsets not increasing), later
 * segments dropped, indexes rebuilt; with the marker the indexes are loaded
 * and sanity-checked (rebuilt when they fail). `cfg` is copied. Returns the
 * log (freed by log_close/log_delete) or NULL with *err set (negative errno). */
struct log *log_open(const char *dir, const struct log_config *cfg, int64_t now_ms, int *err);
/* Seals and fsyncs the active segment, checkpoints, writes the clean-shutdown
 * marker (unless an index write failed earlier, so the next open rebuilds),
 * frees. NULL is a no-op. */
void log_close(struct log *log);
/* Closes and removes the directory with every file in it; frees the log.
 * Returns 0 or -errno. */
int log_delete(struct log *log);
/* Replaces the configuration (copied); takes effect from the next append or
 * retention pass. */
void log_set_config(struct log *log, const struct log_config *cfg);

int64_t log_start_offset(const struct log *log); /* log.start.offset */
int64_t log_end_offset(const struct log *log);   /* next offset to assign (LEO) */
/* Bytes of all segments (the partition's size, DescribeLogDirs). */
int64_t log_size_bytes(const struct log *log);
/* Number of segments, the active one included (>= 1). */
size_t log_segment_count(const struct log *log);
/* The partition directory (borrowed; valid until the log is freed). */
const char *log_dir(const struct log *log);

/* Upper bound for retention: Kafka never deletes a segment holding offsets at
 * or above the high watermark. Until set, there is no bound (single replica). */
void log_set_high_watermark(struct log *log, int64_t high_watermark);

/* Appends one batch whose offsets are already assigned (base offset ==
 * log_end_offset()). `buf` is the whole batch (borrowed, copied to the
 * segment). Rolls first when the active segment would pass segment_bytes or
 * is older than segment_ms. Returns 0, -EINVAL for a batch that is not a whole
 * magic-2 batch at the log end offset, or another negative error (storage). */
int log_append(struct log *log, const uint8_t *buf, size_t len, int64_t now_ms);

/* A follower's append of its leader's batch: as log_append, except that the
 * batch may start past the log end - the leader's compaction removed the
 * offsets between (Kafka's followers append with gaps as long as offsets
 * increase). -EINVAL for a batch below the log end. */
int log_append_from_leader(struct log *log, const uint8_t *buf, size_t len, int64_t now_ms);
/* Reads batches starting with the one that contains `offset`, up to
 * `max_bytes` but always at least one whole batch when `min_one` (KIP-74),
 * never a batch reaching `max_offset` (exclusive: high watermark). Only whole
 * batches, from one segment. Returns 0 and a malloc'd copy in *out and *out_len
 * (caller frees; *out_len may be 0 with *out NULL), -ERANGE when offset is
 * outside [log_start_offset, log_end_offset], or another negative error. */
int log_read(struct log *log, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
	     uint8_t **out, size_t *out_len);

/* ---- Reads without a copy (Fetch, DESIGN.md §6: sendfile) ----------------
 *
 * log_read_span returns the batches log_read would, as a span: a reference to
 * the byte range of the segment file that holds them. A span stays valid
 * whatever happens to the log afterwards - retention deleting the segment,
 * truncation, log_close - and always yields the bytes it was read with: the
 * file stays open while a span of it is out, and a truncation copies the
 * spans it would cut into memory first. Single-threaded like the log. */
struct log_span;
/* Returns what log_read returns, with *out NULL when *out_len is 0. */
int log_read_span(struct log *log, int64_t offset, int64_t max_offset, size_t max_bytes, bool min_one,
		  struct log_span **out, size_t *out_len);
/* Where the span's bytes are from byte `from` on: in memory (*data) or in
 * file *fd at *offset (*data NULL). The answer may change after the log is
 * truncated (file -> memory). Returns 0, or -EIO when the copy taken for a
 * truncation failed: the bytes are gone. */
int log_span_locate(const struct log_span *span, size_t from, const uint8_t **data, int *fd, int64_t *offset);
/* Drops the span (NULL is ignored). */
void log_span_release(struct log_span *span);

/* ListOffsets by timestamp: the first record at or after log_start_offset
 * whose timestamp is >= ts (exact for uncompressed batches; the batch's first
 * offset for compressed ones), via the time index. Returns 0 with *offset and
 * *timestamp, -ENOENT when none (Kafka answers offset -1), or -errno. */
int log_offset_for_timestamp(struct log *log, int64_t ts, int64_t *offset, int64_t *timestamp);
/* ListOffsets -3 (KIP-734): offset and timestamp of the record with the
 * largest timestamp (first such record). -ENOENT on an empty log. */
int log_max_timestamp(struct log *log, int64_t *offset, int64_t *timestamp);

/* Retention: rolls an idle active segment older than segment_ms, then deletes
 * whole segments, oldest first, that are older than retention_ms (by their
 * largest timestamp), beyond retention_bytes, or entirely below
 * log_start_offset. The active segment goes too when it qualifies (non-empty,
 * below the high watermark): a new empty one is rolled first, as Kafka does.
 * Moves log_start_offset forward (checkpointed). Returns segments deleted or
 * a negative error. Also performs a due flush.ms flush. */
int log_enforce_retention(struct log *log, int64_t now_ms);

/* Drops everything >= offset. A batch straddling `offset` is dropped whole, so
 * the new log end offset may be below `offset`. An offset below the first
 * segment empties the log and restarts it at `offset` (log start = offset).
 * Returns 0 or a negative error. */
int log_truncate_to(struct log *log, int64_t offset);
/* Drops every segment and restarts the log empty at `offset` (log start and
 * end = offset, no epoch history): a follower whose log ends before what its
 * leader still keeps (Kafka's truncateFullyAndStartAt). 0 or -errno. */
int log_restart_at(struct log *log, int64_t offset);
/* fsync of the active segment and indexes; checkpoints the recovery point. */
int log_flush(struct log *log);
/* DeleteRecords: log_start_offset = offset when higher (checkpointed);
 * segments below it go at the next retention pass. -ERANGE when offset >
 * log_end_offset. */
int log_advance_start_offset(struct log *log, int64_t offset);

/* ---- Leader epochs (KIP-101 / KIP-279) --------------------------------------
 *
 * The log keeps, for every leader epoch that wrote to it, the first offset it
 * wrote, taken from the batches' partition_leader_epoch: log_append records a
 * batch's epoch when it is >= 0 and above the latest (-1 records nothing; a
 * lower one is ignored with a warning). log_truncate_to drops the epochs that
 * start at or after the new end (all of them when it empties the log below its
 * start), retention and log_advance_start_offset collapse the epochs below the
 * new log start into one starting there. Every change is written to
 * leader-epoch-checkpoint (atomically); log_open loads it, or rebuilds it from
 * the batch headers when it is missing or malformed (a log written before
 * epochs were recorded), and after a crash re-reads the epochs of the batches
 * above the recovery point. */

/* This replica became leader in `epoch`: the epoch starts at the log end
 * now, before anything is written in it (Kafka's makeLeader assigns it), so
 * a follower whose last epoch this log never saw learns where the epochs
 * before it end (a diverging epoch) rather than an offset out of range.
 * Nothing when `epoch` is not above the latest. 0 or -errno. */
int log_assign_leader_epoch(struct log *log, int32_t epoch);
/* The latest leader epoch that wrote to the log; -1 when none. */
int32_t log_latest_epoch(const struct log *log);
/* OffsetForLeaderEpoch: where leader epoch `epoch` ends in this log, with
 * Kafka's semantics (LeaderEpochFileCache.endOffsetFor):
 *   - `epoch` is the latest: (epoch, log_end_offset()) - still being written;
 *   - an older epoch: *end_offset = the start offset of the first epoch above
 *     it, *out_epoch = the largest known epoch <= `epoch`, or `epoch` itself
 *     when it is below every known epoch (its data is gone: a follower
 *     truncates to where this history begins);
 *   - `epoch` < 0, above every known epoch, or no epoch known: -ENOENT with
 *     (*out_epoch, *end_offset) = (-1, -1) (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
 * Returns 0 when the end offset is defined. */
int log_end_offset_for_epoch(struct log *log, int32_t epoch, int32_t *out_epoch, int64_t *end_offset);

/* ---- Idempotent producers (KIP-98, KIP-360) ---------------------------------
 *
 * The log keeps the state of every idempotent producer that wrote to it
 * (broker/log/producer_state.h): log_append records each batch that carries
 * a producer id, on the leader and on followers alike, so whichever replica
 * leads next deduplicates retries of batches appended before.
 *
 * Snapshots `<20-digit offset>.snapshot` (Kafka's name, Tern's format) hold
 * the state as of their offset: one is written when a segment rolls (at the
 * new segment's base offset; not fsynced, its CRC catches a torn file) and
 * one at log_close (at the log end, fsynced). Only snapshots within [log
 * start, log end] are kept, at most LOG_PRODUCER_SNAPSHOTS_KEPT of them, the
 * newest. log_open loads the latest valid one and re-reads the batch headers
 * from its offset to the log end (from the log start without one: a log
 * written before snapshots existed, or a crash before the first roll),
 * which is also how the state of a crashed log is recovered. log_truncate_to
 * drops the snapshots above the new end and rebuilds the same way;
 * log_restart_at empties the state and removes every snapshot.
 *
 * Retention does not forget the producers whose batches it deletes (Kafka
 * since KIP-360); log_expire_producers does (producer.id.expiration.ms). A
 * reopen forgets a producer only when no snapshot at or above the log start
 * remembers it; it is then unknown, and accepted with any sequence. */

/* Snapshots kept: enough that a truncation into one of the last few
 * segments rebuilds from a snapshot rather than from the log start. */
#define LOG_PRODUCER_SNAPSHOTS_KEPT 3

/* Before appending a batch from a producer: what to do with it
 * (producer_state_check against the state as of the log end). `batch` is
 * the whole batch as received (borrowed; offsets need not be assigned).
 * Returns 0 with *out, or -EINVAL when the header does not parse or the
 * batch is not magic 2 (older formats carry no producer id: append them). */
int log_producer_check(const struct log *log, const uint8_t *batch, size_t len, struct producer_state_verdict *out);
/* Producers the log knows. */
size_t log_producer_count(const struct log *log);
/* The state of `producer_id`, or NULL when unknown. Borrowed: valid until
 * the next call that changes the log. */
const struct producer_state_entry *log_producer_entry(const struct log *log, int64_t producer_id);
/* Forgets the producers whose latest batch's max timestamp is
 * `producer_id_expiration_ms` or more before now_ms (Kafka's
 * removeExpiredProducers; producer.id.expiration.ms, default
 * PRODUCER_STATE_DEFAULT_EXPIRATION_MS). The broker calls it periodically
 * (producer.id.expiration.check.interval.ms). Returns how many went. */
size_t log_expire_producers(struct log *log, int64_t now_ms, int64_t producer_id_expiration_ms);

/* Calls fn with consecutive chunks of whole batches (borrowed, valid during
 * the call) from `offset` (at least the log start) to the log end. A non-zero
 * return from fn stops the walk and is returned. */
int log_visit(struct log *log, int64_t offset, int (*fn)(void *arg, const uint8_t *data, size_t len), void *arg);

/* Retention hook: before a segment is deleted, cb sees its batches in chunks
 * (borrowed). Used to release what the records reference (claim-check
 * objects). */
typedef void (*log_drop_cb)(void *arg, const uint8_t *data, size_t len);
void log_set_drop_cb(struct log *log, log_drop_cb cb, void *arg);

/* ---- Compaction support (used by broker/log/cleaner.c) ----------------------
 *
 * The cleaner rewrites closed segments one at a time: it writes the kept
 * batches of segment i to "<base>.log.cleaned" (fsynced), then
 * log_replace_cleaned swaps the file in, Kafka's way: .cleaned is renamed to
 * .swap (a complete, durable replacement), the old indexes are removed, .swap
 * is renamed over .log, and the segment is reopened with rebuilt indexes. On
 * open, a leftover .cleaned is deleted (the swap never started) and a .swap is
 * completed (its indexes are rebuilt). Offsets are preserved, so the rewritten
 * segment has gaps; reads already return the next batch at or after an offset
 * that falls into one. */

/* Segment i (0 = oldest, log_segment_count()-1 = active). Borrowed. */
struct segment *log_segment_at(struct log *log, size_t i);
/* The high watermark set by log_set_high_watermark (INT64_MAX until set). */
int64_t log_high_watermark(const struct log *log);
/* The configuration in force (borrowed). */
const struct log_config *log_get_config(const struct log *log);
/* Swaps "<base>.log.cleaned" of closed segment i in (see above). With
 * `empty` (the cleaned file holds no batch) and i > 0, the segment is deleted
 * instead: reads of offsets in its range go on to the next segment. Returns 0
 * or -errno; after a failure past the rename the old segment keeps serving
 * (its descriptors still hold the old bytes) and its indexes are rebuilt at
 * the next open. */
int log_replace_cleaned(struct log *log, size_t i, bool empty, int64_t now_ms);
/* When a tombstone the cleaner kept becomes removable (delete.retention.ms
 * after its segment's largest timestamp), so that a pass runs then even if
 * nothing new is dirty. INT64_MIN until the first pass since open (not
 * known: a pass is due), INT64_MAX when no tombstone waits. */
int64_t log_cleaner_due_ms(const struct log *log);
void log_set_cleaner_due_ms(struct log *log, int64_t due_ms);

#endif
