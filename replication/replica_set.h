/* replica_set: what a partition leader knows of its replicas - how far each
 * follower's log reaches (the offset of its last fetch) and when it last
 * fetched - and the high watermark that follows from it.
 *
 * The high watermark is the lowest log end offset among the in-sync
 * replicas, the leader's own included: every record below it is on every
 * ISR member, so it survives the loss of any of them. It never moves back
 * on a leader (a member leaving the ISR can only raise the minimum). A
 * follower counts once it has fetched; before, its end is unknown and holds
 * the high watermark where it is.
 *
 * Pure logic, no I/O and no clock: the caller passes times. Not thread-safe;
 * a replica set belongs to its partition's event loop.
 */
#ifndef TERN_REPLICATION_REPLICA_SET_H
#define TERN_REPLICATION_REPLICA_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLICA_SET_MAX 64

struct replica_progress {
	int32_t id;
	bool in_isr;
	bool fetched;          /* log_end_offset is known */
	int64_t log_end_offset; /* the follower's, from its last fetch offset */
	int64_t last_fetch_ms;
	int64_t last_caught_up_ms; /* its last fetch that reached the leader's log end */
	/* Asked into the ISR, the answer not in the image yet: it already counts
	 * for the high watermark (Kafka's "maximal ISR", KIP-497). Otherwise the
	 * high watermark could pass its log end meanwhile, and once the ISR takes
	 * it in, the controller could elect it while it lacks acknowledged
	 * records. */
	bool joining;
};

struct replica_set {
	int32_t self;
	size_t n;
	struct replica_progress r[REPLICA_SET_MAX]; /* followers (not self) */
	int64_t high_watermark;
};

/* Starts (or restarts, keeping what is known of continuing followers) the
 * leader's view for `replicas` / `isr` (ids; self skipped). The high
 * watermark keeps its value (a new leader starts from the one it knew as a
 * follower). Ids past REPLICA_SET_MAX are ignored. `keep_joining`: the
 * image does not reflect the last ISR request yet, so followers asked in
 * keep counting (see joining); otherwise the ISR is the image's alone. */
void replica_set_reset(struct replica_set *rs, int32_t self, const int32_t *replicas, size_t n_replicas,
		       const int32_t *isr, size_t n_isr, int64_t high_watermark, int64_t now_ms, bool keep_joining);

/* The leader asks for ISR `isr`: its new members count for the high
 * watermark from now on (joining). */
void replica_set_expanding(struct replica_set *rs, const int32_t *isr, size_t n);
/* The request was refused or its outcome is lost: nobody is joining. */
void replica_set_expansion_over(struct replica_set *rs);

/* A follower fetched at `fetch_offset`: its log ends there; it is caught up
 * when that reaches the leader's log end. Returns false for an id that is
 * not a replica. */
bool replica_set_fetched(struct replica_set *rs, int32_t id, int64_t fetch_offset, int64_t leader_log_end_offset,
			 int64_t now_ms);

/* The ISR the leader should ask for (replica.lag.time.max.ms = lag_ms):
 * itself; members caught up within lag_ms (a new member counts from when
 * it entered); non-members that fetched within lag_ms and reached the high
 * watermark. Writes it to isr[REPLICA_SET_MAX + 1] and returns true when it
 * differs from the current one. */
bool replica_set_wanted_isr(const struct replica_set *rs, int64_t now_ms, int64_t lag_ms, int32_t *isr, size_t *n);

/* Recomputes the high watermark with the leader's log end offset, over the
 * ISR and the followers joining it; returns it (never lower than before). */
int64_t replica_set_update(struct replica_set *rs, int64_t leader_log_end_offset);

/* Number of in-sync replicas, the leader included. */
size_t replica_set_isr_size(const struct replica_set *rs);

#endif
