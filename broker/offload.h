/* offload: the broker's side of claim-check - which partitions reference
 * objects, and deleting objects when nothing references them any more.
 *
 * A partition of a topic with claimcheck.enable=true keeps a count of the
 * records referencing each object key (rebuilt from its log when attached,
 * so a restart loses no reference). Retention tells us of every batch it
 * deletes (log_set_drop_cb): keys whose count reaches zero are deleted from
 * the object store; deleting a topic deletes every key its partitions hold.
 * Deletes of a partition's objects and its batches in the stage are kept
 * apart (see offload_flush_deletes).
 */
#ifndef TERN_BROKER_OFFLOAD_H
#define TERN_BROKER_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

struct broker;
struct topic;
struct partition;

/* Starts tracking references for every partition of `t` that does not yet
 * (a no-op when the topic does not enable claim-check). */
void offload_attach_topic(struct broker *b, struct topic *t);
/* Records that `data` (whole batches just appended to p) may reference objects. */
void offload_appended(struct broker *b, struct partition *p, const uint8_t *data, size_t len);
/* Submits the deletes of objects `p` released, unless one of its batches is
 * in the claim-check stage: a content-addressed key deleted while a put of
 * the same content runs would leave a record without its value. Produce
 * calls it again when the stage is free; produce waits while deletes run. */
void offload_flush_deletes(struct partition *p);
/* Deletes every object the topic's partitions reference (the topic is being
 * deleted). */
void offload_release_topic(struct broker *b, struct topic *t);

#endif
