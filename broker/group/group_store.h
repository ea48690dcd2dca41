/* group_store: where the coordinator persists what must outlive it.
 *
 * The coordinator's state machine decides; the store makes a decision
 * durable before it is acknowledged, as Kafka's GroupMetadataManager appends
 * to __consumer_offsets before answering SyncGroup and OffsetCommit. Two
 * stores exist: the no-op one (state in memory only; unit tests) and the
 * __consumer_offsets topic (group_topic.h), which also says which groups
 * this broker coordinates right now (the gate).
 *
 * Both operations complete through `done(done_arg, error)`, exactly once, now
 * or later, on the coordinator's thread, with KERR_NONE or a Kafka error code
 * (e.g. COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, REQUEST_TIMED_OUT).
 * Arguments are borrowed for the call only: a store that completes later
 * copies what it needs.
 */
#ifndef TERN_GROUP_GROUP_STORE_H
#define TERN_GROUP_GROUP_STORE_H

#include <stdint.h>

#include "broker/group/group.h"

typedef void (*group_store_done_cb)(void *done_arg, int16_t error_code);

/* One member as it is persisted after a rebalance. */
struct group_store_member {
	const char *member_id;
	const char *group_instance_id; /* NULL for a dynamic member */
	const char *client_id;
	const char *client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	struct kbytes metadata;   /* for the selected protocol */
	struct kbytes assignment;
};

/* A group's metadata record (Kafka's GroupMetadataValue). */
struct group_store_group {
	const char *group_id;
	const char *protocol_type; /* NULL when none */
	const char *protocol_name; /* NULL when none */
	const char *leader;        /* NULL when none */
	int32_t generation_id;
	int64_t current_state_timestamp_ms;
	const struct group_store_member *members;
	int32_t members_count;
};

struct group_store_ops {
	/* Persists a group's metadata (after a rebalance, or when it empties). */
	void (*store_group)(void *impl, const struct group_store_group *g, group_store_done_cb done, void *done_arg);
	/* Persists offset commits of one group (Kafka's OffsetCommitValue records);
	 * entries' `error` fields are not the store's to write; every entry's
	 * commit_timestamp_ms is set (>= 0). */
	void (*store_offsets)(void *impl, const char *group_id, const struct group_offset_entry *entries, int32_t n,
			      group_store_done_cb done, void *done_arg);
	/* Optional (NULL: nothing persisted). Tombstones: the group's metadata
	 * record, or the given offsets of the group, are deleted. */
	void (*delete_group)(void *impl, const char *group_id, group_store_done_cb done, void *done_arg);
	void (*delete_offsets)(void *impl, const char *group_id, const struct group_offset *offsets, int32_t n,
			       group_store_done_cb done, void *done_arg);
	/* Optional (NULL: this coordinator serves every group). KERR_NONE when
	 * it serves `group_id` now; otherwise the error every group API answers
	 * (Kafka's validateGroupStatus): NOT_COORDINATOR,
	 * COORDINATOR_LOAD_IN_PROGRESS or COORDINATOR_NOT_AVAILABLE. Must not
	 * call back into the coordinator. */
	int16_t (*gate)(void *impl, struct kstr group_id);
	/* Optional: frees the store. Called by group_coordinator_free once every
	 * group is gone; pending operations complete (with an error) from it. */
	void (*free)(void *impl);
};

struct group_store {
	const struct group_store_ops *ops;
	void *impl;
};

/* The store that persists nothing and succeeds at once (state in memory).
 * A static object; never freed. */
struct group_store *group_store_noop(void);

#endif
