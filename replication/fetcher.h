/* fetcher: a follower's fetch session with one leader broker.
 *
 * One connection per leader carries every partition this broker follows
 * from it (Kafka's ReplicaFetcherThread, on the event loop instead of a
 * thread). A round: ask the owner which partitions to fetch and from which
 * offsets, send one Fetch (v12, replica_id = this broker, long-polling for
 * replica.fetch.wait.max.ms), hand each partition's answer to the owner,
 * start the next round. With nothing to fetch it idles until poked; after
 * a failed round (leader unreachable, bad answer) it waits a backoff.
 *
 * The owner (the broker) does the storage side: appending the records,
 * following the high watermark, handling errors. Threads: the event loop
 * only. Memory: what the owner fills is copied before the call returns;
 * what the owner is handed is valid during the call only.
 */
#ifndef TERN_REPLICATION_FETCHER_H
#define TERN_REPLICATION_FETCHER_H

#include <stddef.h>
#include <stdint.h>

#include "broker/protocol/fetch.h"

struct event_base;
struct fetcher;

/* One partition to fetch. */
struct fetcher_partition {
	const char *topic;   /* borrowed for the collect call */
	int32_t partition;
	int64_t fetch_offset; /* the follower's log end */
	int32_t current_leader_epoch;
	/* The epoch of the follower's last batch (-1: none): the leader checks
	 * it against its own history and answers a diverging epoch when the
	 * follower's suffix is not its own (KIP-320). */
	int32_t last_fetched_epoch;
	int64_t log_start_offset;
};

struct fetcher_ops {
	void *arg;
	/* Fills at most `max` partitions followed from this fetcher's leader,
	 * those of one topic next to each other; returns how many. */
	size_t (*collect)(void *arg, int32_t leader, struct fetcher_partition *out, size_t max);
	/* The leader's answer for one partition of the last round. */
	void (*apply)(void *arg, int32_t leader, const char *topic, size_t topic_len, const struct fetch_partition_data *pd);
};

struct fetcher_config {
	int32_t self;            /* this broker's id: the fetch's replica_id */
	int32_t leader;          /* the leader's broker id */
	const char *host;        /* its broker listener */
	int port;
	int32_t max_wait_ms;     /* replica.fetch.wait.max.ms */
	int32_t min_bytes;       /* replica.fetch.min.bytes */
	int32_t max_bytes;       /* replica.fetch.response.max.bytes */
	int32_t partition_max_bytes; /* replica.fetch.max.bytes */
	int32_t backoff_ms;      /* replica.fetch.backoff.ms */
};

/* A new idle fetcher (owned: fetcher_free), or NULL when out of memory.
 * Strings in cfg are copied; ops is copied. */
struct fetcher *fetcher_new(struct event_base *base, const struct fetcher_config *cfg, const struct fetcher_ops *ops);
/* Stops (a round in flight is dropped: its answer is never applied) and frees. */
void fetcher_free(struct fetcher *f);
/* Partitions changed: start a round soon if none is in flight. */
void fetcher_poke(struct fetcher *f);
int32_t fetcher_leader(const struct fetcher *f);
/* True when it still points at host:port. */
int fetcher_same_endpoint(const struct fetcher *f, const char *host, int port);

#endif
