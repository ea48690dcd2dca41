/* Private to group_topic.c (store, ownership, writes) and group_load.c
 * (reading a partition back into the coordinator). */
#ifndef TERN_GROUP_GROUP_TOPIC_INTERNAL_H
#define TERN_GROUP_GROUP_TOPIC_INTERNAL_H

#include <event2/util.h>
#include <stdbool.h>
#include <stdint.h>

#include "broker/group/group_internal.h"
#include "broker/group/group_store.h"
#include "broker/group/group_topic.h"

struct event;
struct partition;

/* A partition of __consumer_offsets as this coordinator sees it:
 *
 *   NONE --leader here--> LOADING --read to the end--> LOADED
 *   LOADING/LOADED --not leader, or another leader epoch--> NONE (unloaded)
 */
enum group_topic_state {
	GROUP_TOPIC_NONE,
	GROUP_TOPIC_LOADING,
	GROUP_TOPIC_LOADED,
};

/* A write waiting for the high watermark. */
struct group_topic_append {
	struct group_topic_append *next;
	int64_t required;     /* the high watermark that completes it (its batch's end) */
	int32_t leader_epoch; /* the epoch it was appended in */
	int64_t deadline_ms;  /* monotonic: offsets.commit.timeout.ms */
	bool offsets;         /* OffsetCommit (else group metadata): which error mapping */
	group_store_done_cb done;
	void *done_arg;
};

struct group_topic_partition {
	enum group_topic_state state;
	int32_t epoch;     /* the leader epoch it was loaded in (LOADING, LOADED) */
	int64_t load_next; /* LOADING: next offset to read */
	int64_t load_end;  /* LOADING: the log end offset when the load began */
	int64_t load_started_ms;
	int64_t load_records; /* records applied so far */
	struct group_topic_append *head, *tail; /* in offset order */
};

/* Someone waiting for the topic to be created (FindCoordinator). */
struct group_topic_waiter {
	struct group_topic_waiter *next;
	int64_t deadline_ms; /* monotonic */
	void (*cb)(void *arg);
	void *arg;
};

struct group_topic {
	struct group_store store; /* ops + impl = this */
	struct broker *b;         /* borrowed */
	struct group_coordinator *coord; /* borrowed: it owns this store */
	bool quorum;              /* a metadata quorum decides leadership (else: one broker) */
	int32_t n;                /* partitions known; 0 until the topic exists */
	struct group_topic_partition *parts; /* [n] */
	struct event *hw_timer;   /* armed while writes wait for the high watermark */
	struct event *ready_timer; /* armed while someone waits for the topic */
	struct event *load_ev;    /* activated while a partition is loading */
	struct event *expire_ev;  /* offsets.retention.check.interval.ms */
	int32_t load_cursor;      /* the partition the next load step starts at */
	struct group_topic_waiter *waiters;
	int64_t last_create_ms;   /* monotonic: the last creation request (-1: none) */
	int64_t last_refusal_log_ms;
};

/* group_topic.c */

/* The local partition `p` if this broker leads it, else NULL. */
struct partition *group_topic_local_leader(struct group_topic *gt, int32_t p);
/* Forgets partition p's groups and fails its waiting writes (NOT_COORDINATOR
 * after mapping). */
void group_topic_unload(struct group_topic *gt, int32_t p, const char *why);
/* True for a group id whose partition is p (arg: a struct group_topic_match). */
struct group_topic_match {
	struct group_topic *gt;
	int32_t partition;
};
bool group_topic_match_partition(void *arg, const char *group_id);

/* group_load.c */

/* Starts loading partition p, led here at `local` (state NONE). */
void group_load_start(struct group_topic *gt, int32_t p, struct partition *local);
/* The load_ev callback: one read step per loading partition. */
void group_load_step_cb(evutil_socket_t fd, short what, void *arg);

#endif
