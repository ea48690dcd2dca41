/* latency: delivery-latency samples and their percentiles.
 *
 * One sample per record (microseconds); percentiles use the nearest-rank
 * method on the sorted samples, so p50 of {1,2,3,4} is 2 and p100 is the
 * maximum. The sample array is preallocated for the expected record count:
 * nothing allocates while the benchmark runs.
 */
#ifndef TERN_PERF_LATENCY_H
#define TERN_PERF_LATENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct latency {
	int64_t *us;  /* samples, [0, n) */
	size_t n;
	size_t cap;
	bool sorted;
};

/* Returns 0, or -1 when the array cannot be allocated. */
int latency_init(struct latency *l, size_t cap);
void latency_free(struct latency *l);
/* Adds a sample; samples beyond cap are dropped (counted by no one). */
void latency_add(struct latency *l, int64_t us);
/* The q-th percentile (0 < q <= 100) in microseconds; 0 with no samples.
 * Sorts the samples on first use. */
int64_t latency_percentile(struct latency *l, double q);

#endif
