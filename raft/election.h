/* election: the leader and ISR a partition should have, given which brokers
 * are live (registered and unfenced).
 *
 * Pure computation, after KRaft's PartitionChangeBuilder:
 *  - the ISR loses every broker that is not live, but never its last member:
 *    when no live member is left the ISR keeps what it had, so the last
 *    broker to leave can come back as a clean leader;
 *  - a live leader that is still in the ISR stays leader;
 *  - otherwise the leader is the first live broker in ISR order;
 *  - with no live ISR member the partition goes offline (leader -1), unless
 *    unclean election is allowed: then the first live replica in replica
 *    order leads, alone in the ISR (it may lack committed records).
 * The caller writes a PartitionChange with the leader only when it changed
 * (the image then bumps leader_epoch) and the ISR only when it changed.
 */
#ifndef TERN_RAFT_ELECTION_H
#define TERN_RAFT_ELECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/image.h"

/* True when `broker_id` may lead or stay in an ISR. */
typedef bool (*election_live_fn)(int32_t broker_id, void *arg);

struct election_outcome {
	bool isr_changed;
	size_t n_isr;      /* entries written to the caller's isr buffer */
	bool leader_changed;
	int32_t leader;    /* METADATA_NO_LEADER when offline */
	bool unclean;      /* the leader was taken from outside the ISR */
};

/* Decides for `p` (borrowed). `isr` is the caller's buffer of at least
 * p->isr.n + 1 entries; it receives the new ISR (the old one when unchanged).
 * Never fails. */
void election_decide(const struct image_partition *p, bool unclean_allowed, election_live_fn live, void *arg,
		     int32_t *isr, struct election_outcome *out);

#endif
