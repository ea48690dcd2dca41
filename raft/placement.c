/* placement: where a new partition's replicas go (see placement.h). */
#include "raft/placement.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A broker of the walk: its id and the index of its rack in sorted order. */
struct placement_slot {
	int32_t id;
	const char *rack; /* "" for none */
	size_t rack_index;
};

static int placement_by_id(const void *a, const void *b)
{
	const struct placement_slot *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static int placement_by_rack_then_id(const void *a, const void *b)
{
	const struct placement_slot *x = a, *y = b;
	int c = strcmp(x->rack, y->rack);
	return c != 0 ? c : placement_by_id(a, b);
}

/* Kafka's replicaIndex: the replica after `first` at `shift + k` among the
 * n - 1 other slots. */
static size_t placement_follower(size_t first, size_t shift, size_t k, size_t n)
{
	return (first + 1 + (shift + k) % (n - 1)) % n;
}

/* Reorders slots[0..n) (sorted by rack, then id) into the rack-alternating
 * walk a0 b0 c0 a1 b1 ...; sets each slot's rack_index; returns the number of
 * racks. `tmp` has room for n slots. */
static size_t placement_alternate_racks(struct placement_slot *slots, size_t n, struct placement_slot *tmp,
					size_t *rack_start)
{
	size_t racks = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(slots[i].rack, slots[i - 1].rack) != 0)
			rack_start[racks++] = i;
		slots[i].rack_index = racks - 1;
	}
	rack_start[racks] = n;
	size_t o = 0;
	for (size_t round = 0; o < n; round++)
		for (size_t r = 0; r < racks; r++)
			if (rack_start[r] + round < rack_start[r + 1])
				tmp[o++] = slots[rack_start[r] + round];
	memcpy(slots, tmp, n * sizeof *slots);
	return racks;
}

int placement_assign(const struct placement_broker *brokers, size_t n_brokers, int32_t first_partition,
		     size_t n_partitions, size_t rf, uint32_t start, int32_t *out)
{
	size_t n = n_brokers;
	if (rf < 1 || rf > n || first_partition < 0)
		return -EINVAL;
	struct placement_slot *slots = calloc(2 * n, sizeof *slots);
	size_t *rack_start = calloc(n + 1, sizeof *rack_start);
	bool *used_rack = calloc(n, sizeof *used_rack);
	bool *used_broker = calloc(n, sizeof *used_broker);
	int rc = -ENOMEM;
	if (slots == NULL || rack_start == NULL || used_rack == NULL || used_broker == NULL)
		goto out;
	bool racked = false;
	for (size_t i = 0; i < n; i++) {
		slots[i].id = brokers[i].id;
		slots[i].rack = brokers[i].rack != NULL ? brokers[i].rack : "";
		racked |= brokers[i].rack != NULL;
	}
	size_t racks = 1;
	if (racked) {
		qsort(slots, n, sizeof *slots, placement_by_rack_then_id);
		racks = placement_alternate_racks(slots, n, slots + n, rack_start);
	} else {
		qsort(slots, n, sizeof *slots, placement_by_id);
	}
	size_t start_index = start % n;
	size_t shift = start % n;
	for (size_t i = 0; i < n_partitions; i++) {
		size_t p = (size_t)first_partition + i;
		if (i > 0 && p % n == 0)
			shift++;
		size_t first = (p + start_index) % n;
		int32_t *replicas = out + i * rf;
		replicas[0] = slots[first].id;
		if (!racked) {
			for (size_t j = 1; j < rf; j++)
				replicas[j] = slots[placement_follower(first, shift, j - 1, n)].id;
			continue;
		}
		memset(used_rack, 0, n * sizeof *used_rack);
		memset(used_broker, 0, n * sizeof *used_broker);
		used_rack[slots[first].rack_index] = true;
		used_broker[first] = true;
		size_t n_racks_used = 1, k = 0;
		for (size_t j = 1; j < rf; j++) {
			/* Every other slot comes up within n - 1 steps; a rack still
			 * missing a replica is found within those. */
			for (;;) {
				size_t s = placement_follower(first, shift * racks, k++, n);
				bool rack_ok = !used_rack[slots[s].rack_index] || n_racks_used == racks;
				if (rack_ok && !used_broker[s]) {
					replicas[j] = slots[s].id;
					used_broker[s] = true;
					if (!used_rack[slots[s].rack_index]) {
						used_rack[slots[s].rack_index] = true;
						n_racks_used++;
					}
					break;
				}
			}
		}
	}
	rc = 0;
out:
	free(used_broker);
	free(used_rack);
	free(rack_start);
	free(slots);
	return rc;
}
