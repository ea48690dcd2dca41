/* publisher: turns metadata image changes into local state (KRaft's
 * BrokerMetadataPublisher).
 *
 * For every partition this broker is a replica of, the log exists locally
 * (created under the image's topic id) and the partition knows whether this
 * broker leads it and at which leader epoch; a partition it stopped being a
 * replica of loses its log; a topic removed from the image is deleted here
 * with its logs; topic config changes reach the logs. Data replication is
 * not here: a follower only holds its role.
 *
 * Nothing is done until this broker's metadata has caught up once (the
 * controller's heartbeat reply says its applied offset reached its own
 * registration, so every earlier entry is in the image): the first images
 * after a restart may be an older snapshot, and acting on one would delete
 * topics created since. The first pass then also removes "stray" local topics the
 * image does not know (deleted while this broker was down).
 *
 * Threads: the broker's loop only.
 */
#ifndef TERN_BROKER_PUBLISHER_H
#define TERN_BROKER_PUBLISHER_H

#include <stdbool.h>

struct broker;
struct publisher;
struct metadata_image;
struct quorum_status;

struct publisher *publisher_new(struct broker *b);
void publisher_free(struct publisher *p);

/* Applies what changed since the last image it acted on (borrowed; a
 * reference is kept). Does nothing until `caught_up` (lifecycle_caught_up:
 * the controller saw this broker's metadata reach its registration). */
void publisher_update(struct publisher *p, const struct metadata_image *img, bool caught_up);

/* The overrides of topic `name` as `img` holds them, into *ov (owned by the
 * caller: topic_overrides_free, also on error). Returns 0 or -ENOMEM. */
struct topic_overrides;
int publisher_topic_overrides(const struct metadata_image *img, const char *name, struct topic_overrides *ov);

/* True once the first image was acted on. */
bool publisher_ready(const struct publisher *p);

#endif
