/* group: the classic consumer-group coordinator of one broker.
 *
 * Kafka's group state machine (GroupCoordinator / GroupMetadata, before
 * KIP-848):
 *
 *   Empty --join--> PreparingRebalance --all joined / rebalance timeout-->
 *   CompletingRebalance --leader's SyncGroup--> Stable --join / leave /
 *   session expiry--> PreparingRebalance ...; a rebalance that ends with no
 *   member goes back to Empty. Dead is a group being removed.
 *
 * The coordinator answers JoinGroup and SyncGroup later (when the rebalance
 * completes), through a callback; every other operation answers at once,
 * except OffsetCommit, which completes when the store has persisted the
 * commit. Every callback is called exactly once, also when the coordinator is
 * freed (with NOT_COORDINATOR), so a caller holding a network request can
 * always complete it. Callbacks may run before the call that registered them
 * returns, and must not call back into the coordinator.
 *
 * State is in memory; what must survive a restart goes through the store
 * interface of group_store.h: the replicated __consumer_offsets topic
 * (group_topic.h), from which a coordinator that becomes leader of one of its
 * partitions loads that partition's groups. The store's gate decides which
 * groups this coordinator serves; every API answers the gate's error
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS) for the others. Timers
 * (session expiry, rebalance timeout, group.initial.rebalance.delay.ms) run
 * on the event_base.
 *
 * Threading: everything runs on the event_base's thread.
 */
#ifndef TERN_GROUP_GROUP_H
#define TERN_GROUP_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/protocol/join_group.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/sync_group.h"

struct broker;
struct event_base;
struct group_coordinator;
struct group_store;

/* Implemented by the broker (broker/broker.c): the coordinator of broker b. */
struct group_coordinator *broker_group_coordinator(struct broker *b);

struct group_config {
	int32_t node_id;                    /* node.id: FindCoordinator answers this broker */
	const char *host;                   /* advertised host; copied */
	int32_t port;                       /* advertised port */
	int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms (Kafka: 6000) */
	int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms (Kafka: 1800000) */
	int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms (Kafka: 3000) */
	int32_t max_size;                   /* group.max.size (Kafka: INT32_MAX) */
	int32_t offset_metadata_max_bytes;  /* offset.metadata.max.bytes (Kafka: 4096) */
	struct group_store *store;          /* borrowed, must outlive the coordinator; NULL: no-op */
};

/* Fills `cfg` with Kafka's defaults (node 0, host "localhost", port 9092). */
void group_config_defaults(struct group_config *cfg);

/* Returns NULL on out of memory. `base` is borrowed; `cfg` is copied. */
struct group_coordinator *group_coordinator_new(struct event_base *base, const struct group_config *cfg);
/* Completes every pending join/sync with NOT_COORDINATOR, then frees all. */
void group_coordinator_free(struct group_coordinator *c);
/* The configuration in use (host is the coordinator's copy). */
const struct group_config *group_coordinator_config(const struct group_coordinator *c);
/* Replaces the store. `store` is borrowed, unless its ops have `free`: then
 * the coordinator owns it and frees it in group_coordinator_free. Set it
 * before any group exists (groups already in memory were not persisted). */
void group_coordinator_set_store(struct group_coordinator *c, struct group_store *store);
/* The store in use (the no-op store when none was set). */
struct group_store *group_coordinator_store(const struct group_coordinator *c);
/* Changes the advertised endpoint (a listener bound to port 0 learns its port
 * late). `host` is copied. Returns 0, or -1 on out of memory. */
int group_coordinator_set_endpoint(struct group_coordinator *c, int32_t node_id, const char *host, int32_t port);

/* ---- JoinGroup ---- */

struct group_join_params {
	struct kstr group_id;
	struct kstr member_id;         /* "" for a member without an id yet */
	struct kstr group_instance_id; /* null: dynamic member (KIP-345) */
	struct kstr client_id;         /* from the request header */
	struct kstr client_host;       /* "/ip", as Kafka shows it */
	struct kstr protocol_type;
	const struct join_group_request_protocol *protocols;
	int32_t protocols_count;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;  /* the session timeout for v0 */
	bool require_known_member_id;  /* v4+: KIP-394 MEMBER_ID_REQUIRED handshake */
	bool supports_skip_assignment; /* v9+: KIP-814 */
	struct kstr reason;            /* v8+, for the log; nullable */
};

struct group_join_member {
	const char *member_id;
	const char *group_instance_id; /* NULL for a dynamic member */
	struct kbytes metadata;        /* for the selected protocol */
};

/* Views valid only during the callback. */
struct group_join_result {
	int16_t error_code;
	int32_t generation_id;     /* -1 on error */
	const char *protocol_type; /* NULL when none */
	const char *protocol_name; /* NULL when none */
	const char *leader;        /* "" when none */
	const char *member_id;     /* "" when none */
	bool skip_assignment;
	const struct group_join_member *members; /* the leader only, else none */
	int32_t members_count;
};

typedef void (*group_join_cb)(void *arg, const struct group_join_result *res);

/* Borrows `p` for the call only (what the group keeps is copied). */
void group_join(struct group_coordinator *c, const struct group_join_params *p, group_join_cb cb, void *arg);

/* ---- SyncGroup ---- */

struct group_sync_params {
	struct kstr group_id;
	int32_t generation_id;
	struct kstr member_id;
	struct kstr group_instance_id; /* nullable */
	struct kstr protocol_type;     /* nullable (before v5) */
	struct kstr protocol_name;     /* nullable (before v5) */
	const struct sync_group_request_assignment *assignments; /* the leader's, else none */
	int32_t assignments_count;
};

/* Views valid only during the callback. */
struct group_sync_result {
	int16_t error_code;
	const char *protocol_type; /* NULL when none */
	const char *protocol_name; /* NULL when none */
	struct kbytes assignment;  /* empty on error */
};

typedef void (*group_sync_cb)(void *arg, const struct group_sync_result *res);

/* Borrows `p` for the call only. */
void group_sync(struct group_coordinator *c, const struct group_sync_params *p, group_sync_cb cb, void *arg);

/* ---- Heartbeat, LeaveGroup ---- */

/* Returns the Heartbeat error code. */
int16_t group_heartbeat(struct group_coordinator *c, struct kstr group_id, int32_t generation_id,
			struct kstr member_id, struct kstr group_instance_id);

/* Removes each member (by member id, or by instance id when member_id is "")
 * and writes its error to member_errors[i] (caller's array of n). Returns the
 * request-level error (an unknown group is a per-member UNKNOWN_MEMBER_ID). */
int16_t group_leave(struct group_coordinator *c, struct kstr group_id, const struct leave_group_request_member *members,
		    int32_t n, int16_t *member_errors);

/* ---- Offsets ---- */

/* One partition of an OffsetCommit. The views and `error` must stay valid
 * until the commit's callback ran. */
struct group_offset_entry {
	struct kstr topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;        /* -1: unknown */
	struct kstr metadata;        /* nullable: stored as "" */
	int64_t commit_timestamp_ms; /* -1: now */
	int16_t *error;              /* where this partition's outcome is written */
};

struct group_commit_params {
	struct kstr group_id;
	int32_t generation_id; /* -1: a commit from outside group management */
	struct kstr member_id; /* "" with generation -1 */
	struct kstr group_instance_id;
};

/* Called once the commit is decided. On a request-level error every entry's
 * *error has been set to it; else each entry holds its own outcome. */
typedef void (*group_commit_cb)(void *arg, int16_t error_code);

void group_offset_commit(struct group_coordinator *c, const struct group_commit_params *p,
			 struct group_offset_entry *entries, int32_t n, group_commit_cb cb, void *arg);

/* A committed offset. Strings owned by the coordinator. */
struct group_offset {
	char *topic;
	int32_t partition;
	int64_t offset;
	int32_t leader_epoch;
	char *metadata; /* never NULL */
	int64_t commit_timestamp_ms;
};

/* The group-level error of an OffsetFetch of `group_id` (KERR_NONE when the
 * offsets can be read; an unknown group has none committed). */
int16_t group_offset_fetch_check(struct group_coordinator *c, struct kstr group_id);
/* The committed offset of one partition, or NULL when none. Valid until the
 * next call into the coordinator. */
const struct group_offset *group_offset_get(struct group_coordinator *c, struct kstr group_id, struct kstr topic,
					    int32_t partition);
/* Every committed offset of the group, sorted by (topic, partition); *n = 0
 * for an unknown group. Valid until the next call into the coordinator. */
const struct group_offset *group_offset_list(struct group_coordinator *c, struct kstr group_id, int32_t *n);

/* DeleteGroups of one group (Kafka's handleDeleteGroups): an Empty group
 * goes with its committed offsets; their tombstones are written to the
 * store (not awaited, as Kafka appends them without waiting). Returns
 * KERR_NONE, INVALID_GROUP_ID, GROUP_ID_NOT_FOUND (unknown), NON_EMPTY_GROUP
 * (it has members or a rebalance is under way), or the gate's error
 * (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS). */
int16_t group_delete(struct group_coordinator *c, struct kstr group_id);

/* One partition of an OffsetDelete. The view and `error` must stay valid
 * until the deletion's callback ran. */
struct group_offset_delete_entry {
	struct kstr topic;
	int32_t partition;
	int16_t *error; /* where this partition's outcome is written */
};

/* Called once the deletion is decided: KERR_NONE, every entry's *error
 * written; or the group-level error, entries untouched (Kafka's response
 * then carries no partition). */
typedef void (*group_offset_delete_cb)(void *arg, int16_t error_code);

/* OffsetDelete of one group (KIP-496, Kafka's handleDeleteOffsets).
 * Group-level errors: INVALID_GROUP_ID, the gate's (NOT_COORDINATOR,
 * COORDINATOR_LOAD_IN_PROGRESS), GROUP_ID_NOT_FOUND (unknown or Dead),
 * NON_EMPTY_GROUP (members, protocol type other than "consumer": their
 * subscriptions cannot be read), or the store's error when the tombstones
 * could not be written. Otherwise per partition: GROUP_SUBSCRIBED_TO_TOPIC
 * for a topic a member of a non-Empty consumer group subscribes to (the
 * offset stays), else NONE, the offset (if any) removed and its tombstone
 * written. The callback runs once the tombstones are as durable as an
 * OffsetCommit (acks=all), as Kafka's coordinator answers after its write
 * committed. A group left Empty without offsets goes, with its metadata
 * tombstone. */
void group_offset_delete(struct group_coordinator *c, struct kstr group_id, struct group_offset_delete_entry *entries,
			 int32_t n, group_offset_delete_cb cb, void *arg);

/* ---- ListGroups, DescribeGroups ---- */

struct group_member_summary {
	const char *member_id;
	const char *group_instance_id; /* NULL for a dynamic member */
	const char *client_id;
	const char *client_host;
	struct kbytes metadata;   /* empty unless Stable */
	struct kbytes assignment; /* empty unless Stable */
};

/* Views into the coordinator, valid until the next call into it; `members`
 * is malloc'd and freed by group_summary_free(). */
struct group_summary {
	const char *group_id;
	const char *state;         /* "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead" */
	const char *protocol_type; /* "" when none */
	const char *protocol_name; /* "" unless Stable */
	struct group_member_summary *members;
	int32_t members_count;
};

/* DescribeGroups of one group: KERR_NONE and the summary (state "Dead" with
 * no member for an unknown group), or an error code. */
int16_t group_describe(struct group_coordinator *c, struct kstr group_id, struct group_summary *out);
void group_summary_free(struct group_summary *s);

/* ListGroups: a malloc'd array (freed with free()) of summaries without
 * members, in creation order. Returns 0, or -1 on out of memory. */
int group_list(struct group_coordinator *c, struct group_summary **out, int32_t *n);

#endif
