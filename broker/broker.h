/* broker: one Tern broker instance - its configuration, topics and partition
 * logs, and its Kafka listener - on one libevent loop.
 *
 * Threading: every function runs on the event_base's thread.
 */
#ifndef TERN_BROKER_BROKER_H
#define TERN_BROKER_BROKER_H

#include "broker/config.h"

struct event_base;
struct broker;

/* Opens (and recovers) every partition log under log.dirs and starts the
 * listener. `cfg` is borrowed and must outlive the broker. Returns NULL after
 * logging why. */
struct broker *broker_new(struct event_base *base, const struct broker_config *cfg);
/* The port the Kafka listener bound (listeners may say port 0). */
int broker_port(const struct broker *b);
/* Clean shutdown: stops listening, flushes and closes every log (writing the
 * clean-shutdown marker), frees everything. */
void broker_free(struct broker *b);

#endif
