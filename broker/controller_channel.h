/* controller_channel: requests from this broker to the active controller.
 *
 * The active controller is the Raft leader; it answers the controller APIs
 * (BrokerRegistration, BrokerHeartbeat, and forwarded admin requests) on its
 * broker listener, found in the metadata image under the leader's
 * registration. (KRaft serves them on the controller listener; here that
 * port carries canonical/raft's own protocol, so the Kafka-protocol side of
 * the controller lives on the broker listener.)
 *
 * One connection, re-aimed whenever the leader changes: requests queued on a
 * connection to a former leader fail (NET_CLIENT_ECANCELED) and the caller
 * retries. Requests on one connection are answered in order.
 *
 * Threads: the broker's loop only.
 */
#ifndef TERN_BROKER_CONTROLLER_CHANNEL_H
#define TERN_BROKER_CONTROLLER_CHANNEL_H

#include <stddef.h>
#include <stdint.h>

#include "broker/net/net.h"

struct broker;
struct controller_channel;

struct controller_channel *controller_channel_new(struct broker *b);
void controller_channel_free(struct controller_channel *ch);

/* Where a request for the controller goes now. */
enum controller_channel_target {
	CONTROLLER_CHANNEL_NONE = 0,  /* no leader known, or its endpoint is not in the image yet */
	CONTROLLER_CHANNEL_LOCAL = 1, /* this node leads: call the controller in-process */
	CONTROLLER_CHANNEL_REMOTE = 2,
};
/* The target, and the leader's node id (-1 when none). */
int controller_channel_target(struct controller_channel *ch, int32_t *leader_id);

/* The Raft leader changed: requests waiting on the former leader fail now
 * (NET_CLIENT_ECANCELED) instead of at their timeout, so a heartbeat is
 * retried towards the new controller before that one's session for this
 * broker runs out. */
void controller_channel_leader_changed(struct controller_channel *ch);

/* Sends a whole request frame (header + body, no size prefix; copied) to the
 * remote controller. The channel writes its own correlation id into the
 * frame it sends (bytes 4..7): the response handed to `cb` starts with that
 * id, so a forwarder restores its client's id itself. Returns 0 (cb runs
 * once, later) or -1 when the target is not REMOTE or memory ran out (cb not
 * called). */
int controller_channel_send(struct controller_channel *ch, const uint8_t *frame, size_t len, net_client_cb cb,
			    void *arg);

#endif
