/* The broker instance's state, shared by the request handlers in broker/api/.
 * Private to the broker module: other modules use broker/broker.h. */
#ifndef TERN_BROKER_BROKER_INTERNAL_H
#define TERN_BROKER_BROKER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/broker.h"
#include "broker/config.h"
#include "broker/topics.h"

struct event;
struct event_base;
struct net_server;
struct fetch_parked;
struct group_coordinator;
struct claimcheck_stage;
struct metadata;
struct controller_host;
struct controller_channel;
struct lifecycle;
struct publisher;
struct replica_manager;
struct producer_ids;

struct broker {
	struct event_base *base;          /* borrowed */
	const struct broker_config *cfg;  /* borrowed */
	struct topics topics;
	struct net_server *net;
	struct event *retention_timer;
	struct event *producer_expiry_timer; /* producer.id.expiration.check.interval.ms */
	struct event *cleaner_timer;         /* log.cleaner.backoff.ms; NULL when log.cleaner.enable=false */
	struct fetch_parked *parked;      /* long-poll fetches waiting for data (api/fetch.c) */
	struct group_coordinator *groups;
	struct claimcheck_stage *cc;      /* the claim-check stage (worker pool + object store) */
	struct metadata *metadata;        /* the metadata quorum member; NULL without controller.quorum.voters */
	/* With a quorum only (NULL otherwise), created by metadata_start: */
	struct controller_host *controller; /* the active controller when this node leads */
	struct controller_channel *channel; /* requests to the active controller */
	struct lifecycle *lifecycle;        /* registration and heartbeats */
	struct publisher *publisher;        /* image -> local logs and roles */
	struct replica_manager *replica_manager; /* follower fetchers */
	/* InitProducerId's ids, from the controller or (without a quorum) a
	 * local file; created by metadata_start, freed by metadata_stop. */
	struct producer_ids *producer_ids;
	char advertised_host[256];
	int advertised_port;
};

/* Wall-clock milliseconds (record timestamps, retention) and monotonic
 * milliseconds (timeouts). */
int64_t broker_now_ms(void);
int64_t broker_mono_ms(void);

/* Called after records were appended to `p`: on a leader, moves the high
 * watermark (an ISR of one follows the log end at once); wakes long-poll
 * fetches. */
void broker_partition_appended(struct broker *b, struct partition *p);

/* What consumers may read of `p`: its high watermark (the log end offset
 * without a quorum: one broker is the whole ISR). */
int64_t broker_partition_hw(const struct broker *b, const struct partition *p);
/* Raises p's high watermark to `hw` (never lowers it); completes the acks=all
 * produces it covers. Returns true when it moved: the caller then wakes
 * parked consumer fetches (api_fetch_wake), outside any fetch iteration. */
bool broker_partition_set_hw(struct broker *b, struct partition *p, int64_t hw);
/* A follower's log was truncated: its high watermark comes down to the new
 * log end when above it. */
void broker_partition_truncated(struct broker *b, struct partition *p);
/* Leader: follower `replica_id` fetched `p` at `fetch_offset` (its log end).
 * Returns true when the high watermark moved (see above). */
bool broker_follower_fetched(struct broker *b, struct partition *p, int32_t replica_id, int64_t fetch_offset);

/* api/topics_quorum.c: asks the active controller (in-process, or with a
 * CreateTopics to the remote one) to create a topic with `partitions` and
 * `replication_factor` (-1: the defaults) and up to 8 configs (borrowed for
 * the call). The outcome shows in the metadata image. */
struct controller_topic_config;
void api_create_topic_quorum(struct broker *b, const char *name, int32_t partitions, int16_t replication_factor,
			     const struct controller_topic_config *configs, size_t n_configs);

/* Creates a topic with the broker's defaults (auto.create.topics.enable,
 * num.partitions). Returns KERR_*. */
int broker_auto_create_topic(struct broker *b, const char *name, struct topic **out);

/* The partition if this broker leads it (produce, consumer fetch, list
 * offsets); otherwise NULL with *err NOT_LEADER_OR_FOLLOWER (it exists, led
 * elsewhere: the client refreshes its metadata) or
 * UNKNOWN_TOPIC_OR_PARTITION. */
struct partition *broker_leader_partition(struct broker *b, struct kstr topic, int32_t index, int16_t *err);

/* KIP-320: a client's current_leader_epoch against p's. KERR_NONE for a
 * match or -1 (no check); UNKNOWN_LEADER_EPOCH when the client knows a newer
 * epoch than ours (we are behind), FENCED_LEADER_EPOCH for an older one. */
int16_t broker_leader_epoch_check(const struct partition *p, int32_t current_leader_epoch);

/* Deletes a local topic: releases its claim-check objects, fails its queued
 * produce requests, removes its logs and catalog entry. Returns KERR_*. */
int broker_delete_topic(struct broker *b, struct topic *topic);

/* api/produce.c: fails the produce requests queued on a partition that is
 * being deleted. */
void api_produce_abandon(struct partition *p);
/* The high watermark of `p` moved up: completes acks=all produces it covers. */
void api_produce_hw_advanced(struct partition *p);
/* Fails every acks=all produce waiting on `p` with `err` (leadership lost,
 * partition gone). */
void api_produce_hw_fail(struct partition *p, int16_t err);
/* True while a batch of `p` is in the claim-check stage. */
bool api_produce_in_stage(const struct partition *p);
/* Lets batches waiting on `p` proceed (its object deletes finished). */
void api_produce_resume(struct partition *p);

/* api/fetch.c: wake parked fetches that wait on `p`; free all on shutdown. */
void api_fetch_wake(struct broker *b, struct partition *p);
void api_fetch_shutdown(struct broker *b);

#endif
