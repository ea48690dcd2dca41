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
 * A follower whose suffix is not its leader's (an ex-leader's unreplicated
 * records) cuts it where the leader says its last epoch ends (KIP-320:
 * Fetch's diverging epoch), then fetches on. The high watermarks of all local
 * partitions are saved in replication-offset-checkpoint
 * (replication/hw_checkpoint.h) every
 * replica.high.watermark.checkpoint.interval.ms and at shutdown, and loaded
 * when the broker starts.
 *
 * Threads: the broker's loop only.
 */
#ifndef TERN_BROKER_REPLICA_MANAGER_H
#define TERN_BROKER_REPLICA_MANAGER_H

#include <stdint.h>

struct broker;
struct partition;
struct replica_manager;

struct replica_manager *replica_manager_new(struct broker *b);
void replica_manager_free(struct replica_manager *rm);
void replica_manager_update(struct replica_manager *rm);
/* Leader: follower `replica_id` fetched `p` (after the replica set took
 * it in): one outside the ISR that reached the high watermark is asked back
 * in at once. */
void replica_manager_follower_fetched(struct replica_manager *rm, struct partition *p, int32_t replica_id);

#endif
