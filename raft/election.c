/* election: the leader and ISR a partition should have (see election.h). */
#include "raft/election.h"

#include <string.h>

static bool election_contains(const int32_t *ids, size_t n, int32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

void election_decide(const struct image_partition *p, bool unclean_allowed, election_live_fn live, void *arg,
		     int32_t *isr, struct election_outcome *out)
{
	memset(out, 0, sizeof *out);
	size_t n = 0;
	for (size_t i = 0; i < p->isr.n; i++)
		if (live(p->isr.ids[i], arg))
			isr[n++] = p->isr.ids[i];
	int32_t leader;
	if (n > 0) {
		leader = p->leader >= 0 && election_contains(isr, n, p->leader) ? p->leader : isr[0];
	} else {
		/* No live ISR member: keep the ISR as it is (its last members
		 * hold every committed record). */
		n = p->isr.n;
		if (n > 0)
			memcpy(isr, p->isr.ids, n * sizeof *isr);
		leader = METADATA_NO_LEADER;
		if (unclean_allowed) {
			for (size_t i = 0; i < p->replicas.n; i++) {
				if (live(p->replicas.ids[i], arg)) {
					leader = p->replicas.ids[i];
					isr[0] = leader;
					n = 1;
					out->unclean = true;
					break;
				}
			}
		}
	}
	out->n_isr = n;
	out->isr_changed = n != p->isr.n || (n > 0 && memcmp(isr, p->isr.ids, n * sizeof *isr) != 0);
	out->leader = leader;
	out->leader_changed = leader != p->leader;
}
