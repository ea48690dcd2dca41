/* controller_host: runs this node's active controller (raft/controller.h) on
 * the broker's event loop.
 *
 * The controller's logic is free of I/O; this file gives it its inputs and
 * carries out its outputs:
 *  - leadership: when this member becomes the Raft leader in a new term, a
 *    barrier is appended (quorum_barrier) and, once everything before it is
 *    applied, the controller is activated on the published image (so its
 *    view holds every earlier term's entries). Losing leadership deactivates
 *    it at once.
 *  - proposals: a handler that got a proposal from the controller passes it
 *    to controller_host_commit(), which appends it to the Raft log and calls
 *    back once it is committed and applied here (or failed: then the caller
 *    answers NOT_CONTROLLER, as KRaft does when a write cannot commit).
 *  - time: a timer calls controller_tick() so silent brokers are fenced
 *    after broker.session.timeout.ms.
 *
 * Everything runs on the broker's loop thread; the controller is never
 * touched from the raft thread. All times given to the controller are
 * monotonic milliseconds (broker_mono_ms).
 */
#ifndef TERN_BROKER_CONTROLLER_HOST_H
#define TERN_BROKER_CONTROLLER_HOST_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct controller;
struct controller_proposal;
struct controller_host;

/* A new host (owned: controller_host_free), inactive. NULL when out of
 * memory. Borrows b (b->metadata must be set before the first role change
 * is delivered). */
struct controller_host *controller_host_new(struct broker *b);
/* Frees the controller and its outstanding proposals. Call only after the
 * quorum stopped and its completions ran. NULL is fine. */
void controller_host_free(struct controller_host *h);

/* The member's role, leader or term changed (from metadata.c, on the loop). */
void controller_host_role_changed(struct controller_host *h, int role, int32_t leader_id, uint64_t term);

/* The controller logic, when it is active on this node; NULL otherwise. The
 * pointer is valid for the current call chain only. */
struct controller *controller_host_active(struct controller_host *h);

/* Outcome of a commit: KERR_NONE once the proposal committed and this
 * member applied it, KERR_NOT_CONTROLLER when it did not (leadership lost,
 * shutdown, no memory). Runs on the loop, never inside controller_host_commit. */
typedef void (*controller_host_done_cb)(void *arg, int16_t error);

/* Appends `p` (from a handler of the active controller; NULL is allowed and
 * completes with KERR_NONE on the next loop turn) and calls `cb` exactly
 * once. Returns 0, or -1 when nothing could be queued (`cb` is not called;
 * the proposal was released and the controller resigned). */
int controller_host_commit(struct controller_host *h, struct controller_proposal *p, controller_host_done_cb cb,
			   void *arg);

/* A broker beyond controller.quorum.voters heartbeats: if the quorum does
 * not count it yet, add it as a standby (it then replicates the metadata
 * log without voting), at the controller endpoint it registered. One change
 * at a time; a later heartbeat retries. */
void controller_host_ensure_member(struct controller_host *h, int32_t node_id);

/* The monotonic clock the controller runs on. */
int64_t controller_host_now_ms(void);

#endif
