/* group_topic: the group coordinator's store on the replicated internal topic
 * __consumer_offsets (Kafka's GroupMetadataManager).
 *
 * - Creation on first use (FindCoordinator, or any group API on a broker
 *   without a quorum): offsets.topic.num.partitions partitions,
 *   offsets.topic.replication.factor replicas, through the controller as
 *   Kafka's AutoTopicCreationManager does. Kafka creates it with
 *   cleanup.policy=compact; Tern's logs do not compact yet, so it gets
 *   retention.ms=-1 instead (time retention never deletes offsets either
 *   way) and segment.bytes=offsets.topic.segment.bytes. While fewer brokers
 *   are live than the replication factor asks, it is not created and
 *   FindCoordinator answers COORDINATOR_NOT_AVAILABLE, as Kafka does. A
 *   broker without a quorum creates it locally (one partition copy: it is
 *   the whole cluster) and coordinates every group.
 * - Ownership: a group lives in partition group_log_partition_for(id, n);
 *   its coordinator is the leader of that partition. A broker that becomes
 *   leader (a new leader epoch) reads the partition from its log start to
 *   its end, in steps between other work, and rebuilds the groups; meanwhile
 *   their APIs answer COORDINATOR_LOAD_IN_PROGRESS. When it stops leading,
 *   it forgets them (NOT_COORDINATOR, so clients find the new leader).
 * - Writes: an OffsetCommit, a completed rebalance, a tombstone is one record
 *   batch appended to the partition's log like a produce with acks=all: the
 *   answer waits until the high watermark passes the batch (every in-sync
 *   replica has it), offsets.commit.timeout.ms at most; min.insync.replicas
 *   applies. Errors map as Kafka's GroupMetadataManager maps them.
 * - Retention: every offsets.retention.check.interval.ms, offsets of Empty
 *   groups older than offsets.retention.minutes go (tombstones).
 *
 * The store belongs to the broker's group coordinator (which frees it).
 * Threads: the broker's event loop only.
 */
#ifndef TERN_GROUP_GROUP_TOPIC_H
#define TERN_GROUP_GROUP_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"

struct broker;
struct group_topic;

/* The store of broker b: created and handed to b's group coordinator on
 * first use. NULL when out of memory or b has no coordinator. */
struct group_topic *group_topic_get(struct broker *b);

/* Called after every metadata image the broker acted on (broker/publisher.c):
 * loads the partitions this broker now leads, unloads those it lost. Creates
 * the store only when __consumer_offsets exists. */
void group_topic_sync(struct broker *b);

/* The high watermark of local partition `p` moved (broker.c): writes of
 * __consumer_offsets waiting for it complete on the next loop turn. */
struct partition;
void group_topic_hw_moved(struct broker *b, const struct partition *p);

/* Returned by group_topic_coordinator while the topic is being created. */
#define GROUP_TOPIC_PENDING (-1)

/* FindCoordinator for a group id: KERR_NONE with the coordinator's node id,
 * host (copied into host[hostlen]) and port; COORDINATOR_NOT_AVAILABLE; or
 * GROUP_TOPIC_PENDING when __consumer_offsets is being created (wait with
 * group_topic_when_ready, then ask again). Asking may start the creation. */
int group_topic_coordinator(struct group_topic *gt, struct kstr group_id, int32_t *node_id, char *host,
			    size_t hostlen, int32_t *port);

/* Calls cb(arg) once, later: when the topic exists with a leader for every
 * partition, after offsets.commit.timeout.ms, or when the store is freed.
 * Returns 0, or -1 on out of memory (cb is not called). */
int group_topic_when_ready(struct group_topic *gt, void (*cb)(void *arg), void *arg);

#endif
