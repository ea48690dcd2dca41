/* placement: where a new partition's replicas go.
 *
 * Pure computation, Kafka's AdminUtils layout: partition p's first replica
 * (its preferred leader) is broker[(start + p) % n], so leaders of
 * consecutive partitions go round-robin over the brokers from a start the
 * caller rotates per topic; the other replicas follow the first at a shift
 * that grows each time p wraps around n, so followers spread too.
 *
 * Rack-aware when any broker has a rack (a broker without one counts as the
 * rack ""): brokers are first listed alternating racks (a0, b0, c0, a1, ...),
 * then each partition's next replica is the next broker in that walk whose
 * rack holds no replica of it yet, until every rack holds one; only then do
 * racks take a second replica. Replicas of a partition are always distinct.
 */
#ifndef TERN_RAFT_PLACEMENT_H
#define TERN_RAFT_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

struct placement_broker {
	int32_t id;
	const char *rack; /* NULL: none */
};

/* Places partitions [first_partition, first_partition + n_partitions) with
 * `rf` replicas each over `brokers[0..n_brokers)` (borrowed; distinct ids, in
 * any order: they are sorted here). `start` is the rotation (any value; the
 * same inputs always give the same layout). Writes partition i's replicas at
 * out[i * rf .. i * rf + rf), preferred leader first (`out` is the caller's,
 * n_partitions * rf entries). first_partition lets CreatePartitions continue
 * a topic's pattern. Returns 0, -EINVAL when rf < 1 or rf > n_brokers, or
 * -ENOMEM. */
int placement_assign(const struct placement_broker *brokers, size_t n_brokers, int32_t first_partition,
		     size_t n_partitions, size_t rf, uint32_t start, int32_t *out);

#endif
