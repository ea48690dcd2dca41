/* Private to broker/group/: the coordinator's data structures, shared by
 * group.c (membership state machine) and group_offsets.c (committed offsets).
 */
#ifndef TERN_GROUP_GROUP_INTERNAL_H
#define TERN_GROUP_GROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/group/group.h"
#include "broker/group/group_log.h"
#include "broker/group/group_store.h"

struct event;
struct event_base;

enum group_state {
	GROUP_EMPTY,
	GROUP_PREPARING_REBALANCE,
	GROUP_COMPLETING_REBALANCE,
	GROUP_STABLE,
	GROUP_DEAD,
};

/* A group's committed offsets, sorted by (topic, partition). */
struct group_offsets {
	struct group_offset *items; /* [0, count) sorted, owned */
	int32_t count;
	int32_t cap;
};

struct group_member_protocol {
	char *name;
	uint8_t *metadata; /* owned, may be NULL when metadata_len == 0 */
	int32_t metadata_len;
};

struct group_member {
	struct group *group; /* owner */
	char *member_id;
	char *group_instance_id; /* NULL: dynamic member */
	char *client_id;
	char *client_host;
	int32_t session_timeout_ms;
	int32_t rebalance_timeout_ms;
	struct group_member_protocol *protocols; /* in the member's order of preference */
	int32_t protocols_count;
	uint8_t *assignment; /* from the leader's last SyncGroup; owned */
	int32_t assignment_len;
	struct event *session_timer; /* re-armed by every sign of life */
	group_join_cb join_cb;       /* set while the member awaits a JoinGroup response */
	void *join_arg;
	group_sync_cb sync_cb; /* set while the member awaits a SyncGroup response */
	void *sync_arg;
	bool is_new; /* joined during the current rebalance */
};

/* A member id handed out with MEMBER_ID_REQUIRED (KIP-394), not yet used to
 * join. It counts as a member the rebalance waits for. */
struct group_pending {
	struct group *group; /* owner */
	char *member_id;
	struct event *timer; /* session timeout: forgotten when it fires */
};

struct group {
	struct group_coordinator *coord; /* owner */
	char *group_id;
	enum group_state state;
	int64_t state_timestamp_ms; /* wall clock of the last transition */
	int32_t generation_id;
	char *protocol_type; /* set by the first member to join; NULL before */
	char *protocol_name; /* the selected protocol; NULL unless Completing/Stable */
	char *leader_id;     /* NULL when no member */
	struct group_member **members; /* [0, members_count), in joining order */
	int32_t members_count;
	int32_t members_cap;
	struct group_pending **pending;
	int32_t pending_count;
	int32_t pending_cap;
	struct event *join_timer;     /* PreparingRebalance: initial delay or rebalance timeout */
	bool initial_delay;           /* join_timer runs group.initial.rebalance.delay.ms */
	int32_t initial_remaining_ms; /* what is left of the rebalance timeout after the delays */
	bool new_member_added;        /* a member joined during the current initial delay */
	struct group_offsets offsets;
	/* A metadata record of the group is in the store (written or loaded):
	 * forgetting the group writes its tombstone. */
	bool persisted;
};

struct group_coordinator {
	struct event_base *base; /* borrowed */
	struct group_config cfg; /* cfg.host points at host_copy */
	char *host_copy;
	struct group_store *store; /* borrowed, owned (ops->free), or the no-op store */
	struct group **groups;     /* in creation order */
	int32_t groups_count;
	int32_t groups_cap;
};

/* group.c */
struct group *group_find(struct group_coordinator *c, struct kstr group_id);
struct group *group_create(struct group_coordinator *c, struct kstr group_id);
/* Frees `g` if nothing keeps it (Empty, no member, no offset). */
void group_maybe_forget(struct group *g);
struct group_member *group_member_find(struct group *g, struct kstr member_id);
/* The member currently holding a static instance id, or NULL. */
struct group_member *group_static_member(struct group *g, struct kstr instance_id);
/* Re-arms the member's session timer (a sign of life). */
void group_member_heartbeat(struct group_member *m);
const char *group_state_name(enum group_state s);
int64_t group_now_ms(void);

/* A member with no protocol, client or timeouts yet and an unarmed session
 * timer. Takes ownership of member_id (also on failure). NULL: no memory. */
struct group_member *group_member_alloc(struct group *g, char *member_id);
/* Appends `m` to g's members. Returns 0, or -1 on out of memory. */
int group_member_add(struct group *g, struct group_member *m);
void group_member_free(struct group_member *m);
/* The store's verdict on serving `group_id` now (KERR_NONE: go on). */
int16_t group_gate(struct group_coordinator *c, struct kstr group_id);
/* Removes the group from the registry and frees it; pending callbacks are
 * answered with `err`. No tombstone is written. */
void group_remove(struct group *g, int16_t err);

/* group_offsets.c */
const struct group_offset *group_offsets_get(const struct group_offsets *o, struct kstr topic, int32_t partition);
/* Inserts or replaces. Returns 0, or -1 on out of memory. */
int group_offsets_put(struct group_offsets *o, struct kstr topic, int32_t partition, int64_t offset,
		      int32_t leader_epoch, struct kstr metadata, int64_t commit_timestamp_ms);
/* Removes one offset; returns whether it was there. */
bool group_offsets_remove(struct group_offsets *o, struct kstr topic, int32_t partition);
void group_offsets_free(struct group_offsets *o);

/* A predicate over group ids: which groups an operation concerns (those of
 * one __consumer_offsets partition, say). */
typedef bool (*group_match_fn)(void *arg, const char *group_id);

/* Offset retention (offsets.retention.minutes, KIP-211): removes the offsets
 * of matching groups that expired at `now_ms` and writes their tombstones;
 * a group left Empty without offsets goes too (with its metadata
 * tombstone). An offset expires `retention_ms` after the group became
 * Empty (a group with a protocol type), or after its commit (a group that
 * only commits: no protocol type, no members). Groups with members keep
 * their offsets. Returns how many offsets expired. */
int32_t group_expire_offsets(struct group_coordinator *c, int64_t now_ms, int64_t retention_ms, group_match_fn match,
			     void *arg);

/* ---- Loading (group_load.c applies records; the coordinator rebuilds) ----
 *
 * Records are applied in log order, the latest per key wins and tombstones
 * delete. Loaded members get no session timer until group_restore_done:
 * nothing expires or rebalances while the partition is still loading. */

/* An OffsetCommit record (or its tombstone). Returns 0, or -1 on no memory. */
int group_restore_offset(struct group_coordinator *c, const struct group_log_record *r);
/* A GroupMetadata record (or its tombstone): the group as of its last
 * rebalance, Stable with its members, Empty without. Returns 0 or -1. */
int group_restore_group(struct group_coordinator *c, const struct group_log_record *r);
/* The matching groups are loaded: their members' session timers start. */
void group_restore_done(struct group_coordinator *c, group_match_fn match, void *arg);
/* Forgets the matching groups (this broker stopped coordinating them):
 * pending JoinGroup/SyncGroup answers get NOT_COORDINATOR. */
void group_unload(struct group_coordinator *c, group_match_fn match, void *arg);

#endif
