/* leader_epochs: a partition log's leader-epoch history (KIP-101, KIP-279) -
 * for each leader epoch that wrote to the log, the first offset it wrote.
 *
 * A follower, or a restarted ex-leader, asks the leader where its latest epoch
 * ends (OffsetForLeaderEpoch) and truncates the suffix of its log that
 * diverges; a consumer does the same to detect truncation (KIP-320). The
 * history is what answers: leader_epochs_end_offset_for().
 *
 * Persisted in the partition directory as Kafka's `leader-epoch-checkpoint`:
 *   0                    version
 *   N                    number of entries
 *   <epoch> <start>      N lines, epochs increasing
 * each line ending in '\n'. Writes are atomic (temporary file + fsync +
 * rename + directory fsync, fileio_write_atomic).
 *
 * Invariant of the list: epochs strictly increasing, start offsets
 * non-decreasing, both >= 0. Nothing here does I/O except _load and _store;
 * the owner (broker/log/log.c) decides when to store. Not thread-safe: one
 * thread at a time, like the log.
 */
#ifndef TERN_LOG_LEADER_EPOCHS_H
#define TERN_LOG_LEADER_EPOCHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEADER_EPOCHS_CHECKPOINT "leader-epoch-checkpoint"
/* Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET. */
#define LEADER_EPOCHS_UNDEFINED_EPOCH (-1)
#define LEADER_EPOCHS_UNDEFINED_OFFSET (-1LL)
/* A checkpoint file larger than this is treated as corrupt (bounds what a
 * load allocates: about a million entries). */
#define LEADER_EPOCHS_MAX_FILE_BYTES (32 * 1024 * 1024)

struct leader_epoch_entry {
	int32_t epoch;        /* >= 0 */
	int64_t start_offset; /* first offset written in `epoch`, >= 0 */
};

struct leader_epochs {
	struct leader_epoch_entry *entries; /* [0, count), see the invariant above; owned */
	size_t count;
	size_t cap;                         /* allocated entries */
};

/* An empty history (no allocation). */
void leader_epochs_init(struct leader_epochs *le);
/* Frees the entries; `le` is empty and reusable afterwards. */
void leader_epochs_free(struct leader_epochs *le);
/* Drops every entry (keeps the allocation). */
void leader_epochs_clear(struct leader_epochs *le);

/* Makes room for `n` entries in all, so that an assign up to that count
 * cannot fail. Returns 0 or -ENOMEM. */
int leader_epochs_reserve(struct leader_epochs *le, size_t n);

/* Records that `epoch` starts at `start_offset`. Only an epoch above the
 * latest is recorded: returns 1 (added). The latest epoch again is the common
 * case of every append: returns 0 (nothing to do). A lower epoch is ignored,
 * as Kafka's first implementation did: returns -ERANGE so the caller can warn.
 * Entries starting at or after `start_offset` are dropped first (Kafka's
 * maybeTruncateNonMonotonicEntries): they describe offsets since rewritten,
 * or an epoch that wrote nothing. -EINVAL for a negative epoch or offset,
 * -ENOMEM (nothing changed). */
int leader_epochs_assign(struct leader_epochs *le, int32_t epoch, int64_t start_offset);

/* The latest epoch, or LEADER_EPOCHS_UNDEFINED_EPOCH when empty. */
int32_t leader_epochs_latest(const struct leader_epochs *le);

/* Where `epoch` ends, with Kafka's semantics (LeaderEpochFileCache.endOffsetFor
 * since KIP-279), given the log end offset:
 *   - epoch undefined (< 0), or above every known epoch (or the history is
 *     empty): (UNDEFINED_EPOCH, UNDEFINED_OFFSET);
 *   - epoch == the latest: (epoch, log_end_offset) - it is still being written;
 *   - otherwise *end_offset is the start offset of the first epoch above the
 *     requested one, and *out_epoch the largest known epoch <= the requested
 *     one; when there is none (the requested epoch is below the first known,
 *     e.g. removed by retention) *out_epoch is the requested epoch itself,
 *     so that a follower truncates to where the leader's history begins.
 * Returns true when the end offset is defined. */
bool leader_epochs_end_offset_for(const struct leader_epochs *le, int32_t epoch, int64_t log_end_offset,
				  int32_t *out_epoch, int64_t *end_offset);

/* The log lost every offset >= `offset` (truncation): drops the entries that
 * start at or after it. Returns true when something changed. */
bool leader_epochs_truncate_from_end(struct leader_epochs *le, int64_t offset);
/* The log starts at `offset` now (retention, DeleteRecords): entries that
 * start at or below it collapse into one, the last of them, starting at
 * `offset`. Returns true when something changed. */
bool leader_epochs_truncate_from_start(struct leader_epochs *le, int64_t offset);

/* Replaces the contents of `le` with dir/leader-epoch-checkpoint. Returns 0,
 * -ENOENT when the file is missing, -EBADMSG when it is malformed (bad
 * version, count not matching the lines, a field out of range, epochs not
 * increasing, offsets decreasing, larger than LEADER_EPOCHS_MAX_FILE_BYTES),
 * -ENOMEM or another -errno; on error `le` is left empty. */
int leader_epochs_load(struct leader_epochs *le, const char *dir);
/* Atomically replaces dir/leader-epoch-checkpoint with `le`. 0 or -errno. */
int leader_epochs_store(const struct leader_epochs *le, const char *dir);

#endif
