#include "cmd/tern-perf/pace.h"

void pace_init(struct pace *p, int64_t rate, int64_t t0_us)
{
	p->t0_us = t0_us;
	p->rate = rate > 0 ? (rate > PACE_MAX_RATE ? PACE_MAX_RATE : rate) : 0;
}

int64_t pace_due_at(const struct pace *p, int64_t i)
{
	if (p->rate == 0 || i <= 0)
		return p->t0_us;
	/* Rounded up: a record is never due before its exact time. Computed
	 * from t0 each time, so no rounding error accumulates. */
	return p->t0_us + (i * 1000000 + p->rate - 1) / p->rate;
}

int64_t pace_due_count(const struct pace *p, int64_t now_us)
{
	if (now_us < p->t0_us)
		return 0;
	if (p->rate == 0)
		return INT64_MAX;
	/* Records i with i * 1e6 / rate <= elapsed, i.e. i <= elapsed * rate / 1e6. */
	return (now_us - p->t0_us) * p->rate / 1000000 + 1;
}

int64_t pace_wait_us(const struct pace *p, int64_t i, int64_t now_us)
{
	int64_t at = pace_due_at(p, i);
	return at > now_us ? at - now_us : 0;
}

int64_t pace_late_us(const struct pace *p, int64_t i, int64_t now_us)
{
	int64_t at = pace_due_at(p, i);
	return now_us > at ? now_us - at : 0;
}
