/* lifecycle: this broker's registration with the active controller and its
 * heartbeats (KRaft's BrokerLifecycleManager).
 *
 * On start the broker registers (BrokerRegistration: node id, a fresh
 * incarnation id, its broker listener, rack) and then heartbeats every
 * broker.heartbeat.interval.ms with the metadata offset it has applied; the
 * controller unfences it once that offset reaches its registration, and
 * fences it when heartbeats stop for broker.session.timeout.ms. When this
 * node is itself the controller the same calls are made in-process.
 *
 * A heartbeat answered STALE_BROKER_EPOCH or BROKER_ID_NOT_REGISTERED (the
 * controller lost the registration, e.g. a new one came in) re-registers.
 * DUPLICATE_BROKER_REGISTRATION means another live process uses this
 * node.id: the broker stops (a configuration error, named in one line).
 *
 * Controlled shutdown (KIP-631, KRaft's BrokerLifecycleManager): once asked,
 * every heartbeat carries want_shut_down, sent every 50 ms, until the
 * controller answers should_shut_down (it moved this broker's leaderships
 * and the other brokers applied that) or 2 x broker.session.timeout.ms
 * passed, the bound Kafka 3.x's BrokerServer waits - or, sooner, the
 * metadata quorum has had no leader for 2 x
 * controller.quorum.election.timeout.ms (too few voters left: nobody can
 * answer). Then the lifecycle stops sending anything and tells its owner,
 * who stops the broker.
 *
 * Threads: the broker's loop only.
 */
#ifndef TERN_BROKER_LIFECYCLE_H
#define TERN_BROKER_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct lifecycle;

struct lifecycle *lifecycle_new(struct broker *b);
void lifecycle_free(struct lifecycle *l);

/* Runs the next registration or heartbeat now (e.g. this node just became
 * the controller) instead of at its timer. */
void lifecycle_poke(struct lifecycle *l);

/* True once the controller said this broker's metadata caught up with its
 * registration (a heartbeat's is_caught_up): the image then holds
 * everything committed before this process started. Stays true. */
bool lifecycle_caught_up(const struct lifecycle *l);

/* The epoch the controller gave this broker, -1 before registration. */
int64_t lifecycle_broker_epoch(const struct lifecycle *l);

/* `granted`: the controller said this broker may stop; false when the
 * bound passed first. */
typedef void (*lifecycle_shutdown_cb)(void *arg, bool granted);

/* Starts the controlled shutdown (see above); `cb` runs once, on the loop,
 * when it ends - never from this call. Returns 0, or -1 when there is
 * nothing to wait for (not registered, no other unfenced broker in the
 * image to take anything over, or a shutdown already asked): `cb` is then
 * not called. */
int lifecycle_controlled_shutdown(struct lifecycle *l, lifecycle_shutdown_cb cb, void *arg);

#endif
