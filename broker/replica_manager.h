/* replica_manager: this broker's follower side of replication - one fetcher
 * (replication/fetcher.h) per leader broker it follows partitions of, and
 * the storage side of their answers: appending the leader's batches as they
 * are (offsets and leader epochs kept) and following its high watermark.
 *
 * replica_manager_update() runs after each metadata image was applied
 * (broker/publisher.c): fetchers start for new leaders, stop for leaders no
 * longer followed, and are poked to pick up changed partitions.
 *
 * On the leader side it keeps the ISR honest: every half
 * replica.lag.time.max.ms it compares each led partition's ISR with what
 * its followers' fetches say (replication/replica_set.h) and asks the
 * controller for the change with AlterPartition (in-process when this node
 * is the controller). The new ISR takes effect when it reaches the image.
 *
 * Not yet here (issue "Replicated partitions"): truncating a divergent
 * suffix by leader epoch before fetching (an ex-leader keeps records past
 * the new leader's end until the leader answers OFFSET_OUT_OF_RANGE, then
 * truncates to its high watermark).
 *
 * Threads: the broker's loop only.
 */
#ifndef TERN_BROKER_REPLICA_MANAGER_H
#define TERN_BROKER_REPLICA_MANAGER_H

struct broker;
struct replica_manager;

struct replica_manager *replica_manager_new(struct broker *b);
void replica_manager_free(struct replica_manager *rm);
void replica_manager_update(struct replica_manager *rm);

#endif
