/* Private to broker/group/: the coordinator's data structures, shared by
 * group.c (membership state machine) and group_offsets.c (committed offsets).
 */
#ifndef TERN_GROUP_GROUP_INTERNAL_H
#define TERN_GROUP_GROUP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "broker/group/group.h"
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
};

struct group_coordinator {
	struct event_base *base; /* borrowed */
	struct group_config cfg; /* cfg.host points at host_copy */
	char *host_copy;
	struct group_store *store; /* borrowed or the no-op store */
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

/* group_offsets.c */
const struct group_offset *group_offsets_get(const struct group_offsets *o, struct kstr topic, int32_t partition);
/* Inserts or replaces. Returns 0, or -1 on out of memory. */
int group_offsets_put(struct group_offsets *o, struct kstr topic, int32_t partition, int64_t offset,
		      int32_t leader_epoch, struct kstr metadata, int64_t commit_timestamp_ms);
void group_offsets_free(struct group_offsets *o);

#endif
