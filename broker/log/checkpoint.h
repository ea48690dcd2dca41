/* checkpoint: one int64 kept durably in a small text file of the partition
 * directory - the log start offset (Kafka's log-start-offset-checkpoint) and
 * the recovery point (recovery-point-offset-checkpoint).
 *
 * Kafka keeps one such file per log dir listing every partition; Tern keeps
 * one per partition directory so a log owns all of its state. Format, after
 * Kafka's checkpoint files: a version line "0", then the offset, each ending
 * in '\n'. Writes are atomic (temporary file + rename).
 */
#ifndef TERN_LOG_CHECKPOINT_H
#define TERN_LOG_CHECKPOINT_H

#include <stdint.h>

#define CHECKPOINT_LOG_START_OFFSET "log-start-offset-checkpoint"
#define CHECKPOINT_RECOVERY_POINT "recovery-point-offset-checkpoint"

/* Reads dir/name into *value. Returns 0, -ENOENT when the file is missing,
 * -EBADMSG when it is malformed, or another -errno. */
int checkpoint_read(const char *dir, const char *name, int64_t *value);
/* Atomically replaces dir/name with `value`. Returns 0 or -errno. */
int checkpoint_write(const char *dir, const char *name, int64_t value);

#endif
