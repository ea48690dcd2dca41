/* pace: the send schedule of a rate-limited run.
 *
 * Record i (from 0) is due at t0 + i / rate seconds. The schedule is open
 * loop: a sender that fell behind (a full queue, a descheduled process)
 * sends every overdue record at once instead of shifting the rest of the
 * schedule, so the offered load stays the requested rate, and pace_late_us
 * says how far behind a send was. All times are microseconds of one
 * monotonic clock; rate 0 means no limit (every record is due at t0).
 */
#ifndef TERN_PERF_PACE_H
#define TERN_PERF_PACE_H

#include <stdint.h>

/* Keeps the arithmetic below in int64_t for runs of up to a day. */
#define PACE_MAX_RATE 100000000

struct pace {
	int64_t t0_us;
	int64_t rate; /* records per second, 0: unlimited */
};

void pace_init(struct pace *p, int64_t rate, int64_t t0_us);
/* The time record i is due. */
int64_t pace_due_at(const struct pace *p, int64_t i);
/* How many records are due at now_us (records 0 .. n-1). */
int64_t pace_due_count(const struct pace *p, int64_t now_us);
/* Microseconds from now_us until record i is due; 0 when it is due. */
int64_t pace_wait_us(const struct pace *p, int64_t i, int64_t now_us);
/* How late record i is when sent at now_us; 0 when on time or early. */
int64_t pace_late_us(const struct pace *p, int64_t i, int64_t now_us);

#endif
