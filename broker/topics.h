/* topics: the broker's catalog of topics and their partition logs.
 *
 * On one broker (before the Raft metadata quorum) the catalog is persisted in
 * the first log dir: `topics.meta/<topic>` holds the topic id, partition count
 * and config overrides; each partition directory also carries Kafka's
 * `partition.metadata` (the topic id) and the log dir a `meta.properties`
 * (node id and cluster id), so the layout is what Kafka operators expect.
 *
 * Ownership: the catalog owns every topic, partition and log. Pointers to them
 * are valid until the topic is deleted: code that waits (a parked fetch) keeps
 * names and looks partitions up again rather than holding pointers.
 */
#ifndef TERN_BROKER_TOPICS_H
#define TERN_BROKER_TOPICS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/config.h"
#include "broker/protocol/kreader.h"
#include "broker/topic_config.h"

struct broker;
struct log;
struct topic;
struct claimcheck_refs;
struct produce_job;
struct produce_waiter;
struct replica_set;

struct partition {
	struct topic *topic; /* owner */
	int32_t index;
	struct log *log;
	int32_t leader_epoch;
	/* This broker leads the partition: it takes produce and serves
	 * consumers. Always true on a broker without a quorum; otherwise set
	 * from the metadata image (broker/publisher.c). */
	bool is_leader;
	int32_t partition_epoch; /* the image's, -1 without a quorum */
	/* Replication, with a quorum (broker/replica_manager.c): */
	int32_t leader_id;        /* the leader per the image, -1 none */
	int32_t isr_count;        /* members of the ISR per the image (1 without a quorum) */
	int64_t high_watermark;   /* offsets below it are on every ISR member */
	struct replica_set *replicas; /* the leader's view of its followers (owned); NULL when following */
	struct produce_waiter *hw_waiters; /* acks=all produces waiting for the high watermark (api/produce.c) */
	bool hw_moved; /* set by a follower's fetch, cleared once consumer fetches were woken */
	/* The leader's last AlterPartition (broker/replica_manager.c). */
	bool alter_inflight;
	int32_t alter_partition_epoch; /* the partition epoch it was sent against */
	int64_t alter_sent_ms;
	/* Claim-check (broker/offload.c): the objects this log references, NULL
	 * until the topic enables claimcheck; owned. */
	struct claimcheck_refs *cc_refs;
	struct broker *cc_broker; /* whose stage deletes released objects; borrowed */
	/* Object deletes and produce rewrites of one partition never overlap
	 * (broker/offload.c): deletes wait while a batch is in the stage, and
	 * batches wait while deletes run. */
	int cc_deletes_inflight;
	char **cc_deferred; /* keys to delete once the stage is free; owned */
	size_t cc_deferred_n;
	/* Produce requests waiting on this partition, in arrival order, while an
	 * earlier one is in the claim-check stage (api/produce.c). */
	struct produce_job *pending_head, *pending_tail;
};

struct topic {
	char *name;
	uint8_t id[16];
	int32_t partition_count;
	/* [partition_count]; with a quorum, NULL for a partition this broker
	 * does not host (not among its replicas). */
	struct partition **partitions;
	struct topic_overrides overrides;
	struct topic_config config; /* effective values */
	bool internal;
};

struct topics {
	const struct broker_config *cfg; /* borrowed */
	char *log_dir;                   /* the first of log.dirs */
	char cluster_id[32];             /* base64url, from meta.properties */
	struct topic **items;
	int count;
};

#define TOPIC_NAME_MAX 249

/* Opens the catalog: creates the log dir and meta.properties if needed, and
 * opens (recovering) every partition of every topic. Returns 0, or -1 with a
 * message in errbuf. */
int topics_open(struct topics *t, const struct broker_config *cfg, int64_t now_ms, char *errbuf,
		size_t errlen);
/* Closes every log cleanly and frees the catalog. */
void topics_close(struct topics *t);

struct topic *topics_find(const struct topics *t, struct kstr name);
struct topic *topics_find_cstr(const struct topics *t, const char *name);
struct topic *topics_find_id(const struct topics *t, const uint8_t id[16]);
/* NULL when the topic or partition does not exist. */
struct partition *topics_partition(const struct topics *t, struct kstr topic, int32_t index);

/* Kafka's topic-name rules: 1..249 chars of [a-zA-Z0-9._-], not "." or "..". */
bool topics_name_valid(const char *name, size_t len);

/* Creates a topic with `partitions` partitions and validated overrides (may
 * be NULL). Returns KERR_NONE or a Kafka error code; *out gets the topic. */
int topics_create(struct topics *t, const char *name, int32_t partitions,
		  const struct topic_overrides *ov, int64_t now_ms, struct topic **out);
/* Deletes the topic, its logs and its catalog entry. Returns KERR_*. */
int topics_delete(struct topics *t, struct topic *topic);
/* Grows the topic to `count` partitions. Returns KERR_*. */
int topics_add_partitions(struct topics *t, struct topic *topic, int32_t count, int64_t now_ms);
/* Replaces the topic's overrides (validated), persists them and applies the
 * new effective config to its logs. Returns KERR_*. */
int topics_set_overrides(struct topics *t, struct topic *topic, const struct topic_overrides *ov);

/* With a metadata quorum the image decides what exists (broker/publisher.c):
 *
 * topics_adopt() enters a topic of the image into the catalog under the
 * image's id, with no local partition yet; topics_resize() follows a
 * partition count that grew; topics_host_partition() opens (creating if
 * needed) the log of a partition this broker is a replica of, and
 * topics_drop_partition() deletes the log of one it no longer is. On open,
 * a quorum member loads only the partitions that have a directory. */
int topics_adopt(struct topics *t, const char *name, const uint8_t id[16], int32_t partition_count,
		 const struct topic_overrides *ov, struct topic **out);
int topics_resize(struct topics *t, struct topic *topic, int32_t count);
int topics_host_partition(struct topics *t, struct topic *topic, int32_t index, int64_t now_ms);
void topics_drop_partition(struct topics *t, struct topic *topic, int32_t index);

/* Kafka's printed form of a uuid: base64url without padding (22 chars + NUL). */
void topics_uuid_str(const uint8_t id[16], char out[23]);

#endif
