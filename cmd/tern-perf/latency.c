#include "cmd/tern-perf/latency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int latency_init(struct latency *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	l->us = malloc((cap ? cap : 1) * sizeof(*l->us));
	if (!l->us)
		return -1;
	l->cap = cap;
	return 0;
}

void latency_free(struct latency *l)
{
	free(l->us);
	memset(l, 0, sizeof(*l));
}

void latency_add(struct latency *l, int64_t us)
{
	if (l->n < l->cap) {
		l->us[l->n++] = us;
		l->sorted = false;
	}
}

static int latency_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int64_t latency_percentile(struct latency *l, double q)
{
	if (l->n == 0)
		return 0;
	if (!l->sorted) {
		qsort(l->us, l->n, sizeof(*l->us), latency_cmp);
		l->sorted = true;
	}
	/* Nearest rank: the smallest sample with at least q% at or below it.
	 * q/100 is inexact in binary (99.9% of 1000 comes out 999.0000000000001):
	 * shave a relative hair before rounding up, or p99.9 becomes the max. */
	double exact = q / 100.0 * (double)l->n;
	double rank = ceil(exact - exact * 1e-12);
	size_t idx = rank < 1 ? 0 : (size_t)rank - 1;
	if (idx >= l->n)
		idx = l->n - 1;
	return l->us[idx];
}
