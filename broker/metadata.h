/* metadata: this broker's member of the metadata quorum, and the metadata
 * image it feeds.
 *
 * Runs only when controller.quorum.voters is set. Without voters the broker
 * keeps b->metadata NULL: no quorum, no thread, nothing advertised.
 *
 * With voters, metadata_start() starts a quorum (raft/quorum.h) on the
 * controller listener, with its data in
 * <metadata.log.dir, else the first log dir>/__cluster_metadata-0 (Kafka's
 * name for the metadata partition). Its state machine runs on the raft thread:
 * every committed entry goes through record_batch_apply() into a new image,
 * which is then published; snapshots are the image written as records
 * (image_encode_snapshot / image_from_snapshot).
 *
 * Threads: metadata_start / metadata_stop / metadata_quorum_status /
 * metadata_image run on the broker's event loop thread. Proposal outcomes come
 * back on that thread too: the quorum's completion sink is drained by a
 * libevent event on the broker's event_base (the process must have called
 * evthread_use_pthreads() and ignore SIGPIPE; cmd/tern-broker/main.c does).
 */
#ifndef TERN_BROKER_METADATA_H
#define TERN_BROKER_METADATA_H

#include <stdbool.h>

#include "raft/image.h"
#include "raft/quorum.h"

struct broker;
struct metadata;

/* Starts the quorum when b->cfg sets controller.quorum.voters; otherwise
 * does nothing. On success b->metadata is the running member (or stays NULL
 * without voters) and 0 is returned; -1 after logging why (bad address, busy
 * controller port, unreadable data dir). Borrows b, which must outlive the
 * member (metadata_stop). */
int metadata_start(struct broker *b);

/* Stops the quorum (a leader hands leadership to another voter first), runs
 * the completions still queued, and frees b->metadata (NULL afterwards).
 * Safe when nothing was started. */
void metadata_stop(struct broker *b);

/* SIGTERM's controlled shutdown (KIP-631; broker/lifecycle.h): asks the
 * active controller to move this broker's leaderships and waits, bounded,
 * for its go-ahead; `cb` runs once on the loop when the broker may stop
 * (granted false: the bound passed first). Returns -1 when there is nothing
 * to wait for (no quorum, not registered, no other live broker): stop at
 * once, `cb` is not called.
 * If this node leads the quorum, metadata_stop() hands that over later. */
int metadata_controlled_shutdown(struct broker *b, void (*cb)(void *arg, bool granted), void *arg);

/* Copies the quorum's last published state. `m` must be running. */
void metadata_quorum_status(struct metadata *m, struct quorum_status *out);

/* Appends an entry / a barrier (raft/quorum.h) from the broker's loop; `cb`
 * runs on the loop. Return 0 or a QUORUM_E* code (cb not called). */
int metadata_propose(struct metadata *m, const void *buf, size_t len, quorum_propose_cb cb, void *arg);
int metadata_barrier(struct metadata *m, quorum_propose_cb cb, void *arg);
/* Asks the quorum (this member must lead) to add `node_id` at `address`
 * ("host:port" of its controller listener) as a standby; `cb` on the loop. */
int metadata_add_standby(struct metadata *m, int32_t node_id, const char *address, quorum_propose_cb cb, void *arg);

/* Runs the publisher on the current image soon (on the loop). */
void metadata_notify_image(struct metadata *m);

/* The last published image, as an owned reference (image_unref() when done);
 * never NULL while `m` runs. Any thread. */
struct metadata_image *metadata_image(struct metadata *m);

#endif
