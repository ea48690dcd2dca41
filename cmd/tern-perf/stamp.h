/* stamp: what an end-to-end run writes at the head of each record value,
 * so that the consumer can tell which record it got and when it was sent.
 *
 *   bytes 0-3   "TRN1" (a record without it is not ours: skipped)
 *   bytes 4-11  sequence number, big endian (negative: a warm-up probe)
 *   bytes 12-19 send time in microseconds of the sender's monotonic clock,
 *               big endian (sender and consumer share one process, so one
 *               clock)
 *
 * The rest of the value is payload, untouched.
 */
#ifndef TERN_PERF_STAMP_H
#define TERN_PERF_STAMP_H

#include <stddef.h>
#include <stdint.h>

#define STAMP_SIZE 20

/* Writes the stamp at p; returns 0, or -1 when len < STAMP_SIZE. */
int stamp_write(void *p, size_t len, int64_t seq, int64_t sent_us);
/* Reads the stamp at p; returns 0, or -1 when the value is too short or
 * does not start with the magic. */
int stamp_read(const void *p, size_t len, int64_t *seq, int64_t *sent_us);

#endif
