/* cleaner: log compaction (cleanup.policy=compact), after Kafka's LogCleaner.
 *
 * A pass over one partition log:
 *   1. The cleanable range runs from the log start to the first uncleanable
 *      offset: the smallest of the active segment's base offset, the high
 *      watermark, and the base of the first segment holding a record newer
 *      than min.compaction.lag.ms (KIP-58) - Kafka's firstUncleanableOffset.
 *      Only whole closed segments below it are cleaned.
 *   2. A map key -> latest offset is built over that range (Kafka's
 *      OffsetMap, here with the whole key rather than its MD5, so no two keys
 *      can collide). When the map passes `max_map_bytes`
 *      (log.cleaner.dedupe.buffer.size) the pass stops at the last segment
 *      that fit; the next pass goes on from there.
 *   3. Each segment of the range is rewritten keeping a record only when it
 *      is the latest for its key. A tombstone (null value) that is the
 *      latest is kept until delete.retention.ms has passed since the
 *      segment's largest timestamp, then dropped. Records without a key are
 *      dropped, as Kafka's cleaner does (produce refuses them on compacted
 *      topics). Offsets are preserved: a batch keeps its base offset, last
 *      offset delta, leader epoch, producer id/epoch and base sequence; its
 *      kept records are copied byte for byte (their deltas stay valid) and a
 *      compressed batch is decompressed and recompressed with its own codec.
 *      A batch nothing is left of is dropped; control batches are kept whole.
 *      (Kafka also keeps the emptied last batch of each producer so that its
 *      sequence survives a reload; Tern relies on the producer-state
 *      snapshots for that.)
 *   4. The rewritten segment is swapped in (log_replace_cleaned, log.h).
 *
 * Scheduling: cleaner_needed() says whether a log's dirty ratio - bytes of
 * the segments at or above the first dirty offset over the bytes of the
 * whole cleanable range - has reached min.cleanable.dirty.ratio. The first
 * dirty offset (where the last pass stopped) is kept in the partition's
 * "cleaner-offset-checkpoint" (Kafka keeps one such file per log dir).
 *
 * Runs on the thread that owns the log; blocks on disk I/O.
 */
#ifndef TERN_LOG_CLEANER_H
#define TERN_LOG_CLEANER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/log/log.h"

#define CLEANER_OFFSET_CHECKPOINT "cleaner-offset-checkpoint"
#define CLEANER_DEFAULT_DEDUPE_BUFFER_SIZE (128LL * 1024 * 1024) /* log.cleaner.dedupe.buffer.size */
#define CLEANER_DEFAULT_BACKOFF_MS 15000                          /* log.cleaner.backoff.ms */

struct cleaner_stats {
	int segments_cleaned;   /* segments rewritten or removed */
	int64_t bytes_before;   /* of those segments */
	int64_t bytes_after;
	int64_t records_kept;
	int64_t records_removed; /* superseded, keyless, or expired tombstones */
	int64_t tombstones_removed;
	int64_t end_offset;     /* the cleaned range ended here (first dirty offset now) */
};

/* The first offset the cleaner may not touch (see above). */
int64_t cleaner_first_uncleanable_offset(struct log *log, int64_t now_ms);

/* The dirty ratio of the log's cleanable range, 0 when nothing is cleanable. */
double cleaner_dirty_ratio(struct log *log, int64_t now_ms);

/* True when the log is compacted (cfg.compact) and its dirty ratio reached
 * min.cleanable.dirty.ratio. */
bool cleaner_needed(struct log *log, int64_t now_ms);

/* One compaction pass (see above), whatever the dirty ratio. `stats` may be
 * NULL. Returns 0 (also when there was nothing to clean) or -errno; a failed
 * pass leaves the log as it was, or with some segments already cleaned. */
int cleaner_clean(struct log *log, int64_t now_ms, int64_t max_map_bytes, struct cleaner_stats *stats);

#endif
