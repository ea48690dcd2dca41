/* hw_checkpoint: the high watermarks of every partition of a log directory,
 * kept in Kafka's `replication-offset-checkpoint` file there:
 *   0                               version
 *   N                               number of entries
 *   <topic> <partition> <offset>    N lines
 * each line ending in '\n'.
 *
 * Why: a restarted broker knows at once up to where its logs were committed
 * - consumers can read that far if it becomes leader before its followers
 * report in, and a follower that cannot place its suffix by leader epoch
 * truncates no lower than it. The broker writes it every
 * replica.high.watermark.checkpoint.interval.ms and at shutdown
 * (broker/replica_manager.c).
 *
 * Writes are atomic (temporary file, fsync, rename, directory fsync). A file
 * larger than HW_CHECKPOINT_MAX_BYTES or malformed in any way is refused as
 * a whole. Memory: a struct hw_checkpoint owns its entries and their topic
 * strings. Not thread-safe; no I/O except _load and _store.
 */
#ifndef TERN_REPLICATION_HW_CHECKPOINT_H
#define TERN_REPLICATION_HW_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HW_CHECKPOINT_FILE "replication-offset-checkpoint"
#define HW_CHECKPOINT_MAX_BYTES (64 * 1024 * 1024)
#define HW_CHECKPOINT_TOPIC_MAX 249 /* Kafka's topic name limit */

struct hw_checkpoint_entry {
	char *topic; /* owned */
	int32_t partition;
	int64_t offset;
};

struct hw_checkpoint {
	struct hw_checkpoint_entry *entries; /* [0, count), owned */
	size_t count;
	size_t cap;
};

void hw_checkpoint_init(struct hw_checkpoint *c);
/* Frees the entries; `c` is empty and reusable afterwards. */
void hw_checkpoint_free(struct hw_checkpoint *c);
/* Appends an entry (topic copied). -EINVAL for a topic name that cannot be
 * written (empty, too long, with whitespace), a negative partition or offset;
 * -ENOMEM. */
int hw_checkpoint_add(struct hw_checkpoint *c, const char *topic, int32_t partition, int64_t offset);
/* The offset recorded for topic-partition; false when none. */
bool hw_checkpoint_find(const struct hw_checkpoint *c, const char *topic, int32_t partition, int64_t *offset);
/* Replaces the contents of `c` with dir/replication-offset-checkpoint.
 * Returns 0, -ENOENT when the file is missing, -EBADMSG when malformed or
 * too large, -ENOMEM or another -errno; on error `c` is left empty. */
int hw_checkpoint_load(struct hw_checkpoint *c, const char *dir);
/* Atomically replaces dir/replication-offset-checkpoint. 0 or -errno. */
int hw_checkpoint_store(const struct hw_checkpoint *c, const char *dir);

#endif
