/* Rebuilding groups from __consumer_offsets records, and forgetting them.
 *
 * Kafka's GroupMetadataManager.loadGroupsAndOffsets: the latest record per
 * key wins, a tombstone deletes. A group record brings the group back as of
 * its last completed rebalance: Stable with its members (each with the
 * selected protocol's subscription and its assignment), or Empty. The
 * members keep their ids and generation, so consumers that were in the group
 * carry on with a Heartbeat to the new coordinator instead of rejoining.
 */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "broker/group/group_internal.h"
#include "broker/logger.h"
#include "broker/protocol/errors.h"

static struct group *group_restore_find_or_create(struct group_coordinator *c, struct kstr group_id)
{
	struct group *g = group_find(c, group_id);
	if (g == NULL)
		g = group_create(c, group_id);
	return g;
}

/* A group with nothing to keep (no metadata record, no offset) goes. */
static void group_restore_maybe_drop(struct group *g)
{
	if (!g->persisted && g->members_count == 0 && g->offsets.count == 0)
		group_remove(g, KERR_NOT_COORDINATOR);
}

int group_restore_offset(struct group_coordinator *c, const struct group_log_record *r)
{
	if (r->tombstone) {
		struct group *g = group_find(c, r->group);
		if (g == NULL)
			return 0;
		(void)group_offsets_remove(&g->offsets, r->topic, r->partition);
		group_restore_maybe_drop(g);
		return 0;
	}
	struct group *g = group_restore_find_or_create(c, r->group);
	if (g == NULL)
		return -1;
	int rc = group_offsets_put(&g->offsets, r->topic, r->partition, r->offset, r->leader_epoch, r->metadata,
				   r->commit_timestamp_ms);
	if (rc != 0)
		group_restore_maybe_drop(g);
	return rc;
}

static void group_restore_clear(struct group *g)
{
	for (int32_t i = 0; i < g->members_count; i++)
		group_member_free(g->members[i]);
	g->members_count = 0;
	free(g->protocol_type);
	free(g->protocol_name);
	free(g->leader_id);
	g->protocol_type = NULL;
	g->protocol_name = NULL;
	g->leader_id = NULL;
	g->generation_id = 0;
	g->state = GROUP_EMPTY;
	g->persisted = false;
}

static int group_restore_member(struct group *g, const struct group_log_member *lm)
{
	struct group_member *m = group_member_alloc(g, kstr_dup(lm->member_id));
	if (m == NULL)
		return -1;
	if (m->member_id == NULL)
		goto err;
	struct kstr empty = {"", 0};
	if (lm->group_instance_id.len >= 0 && (m->group_instance_id = kstr_dup(lm->group_instance_id)) == NULL)
		goto err;
	m->client_id = kstr_dup(lm->client_id.len >= 0 ? lm->client_id : empty);
	m->client_host = kstr_dup(lm->client_host.len >= 0 ? lm->client_host : empty);
	if (m->client_id == NULL || m->client_host == NULL)
		goto err;
	m->session_timeout_ms = lm->session_timeout_ms;
	m->rebalance_timeout_ms = lm->rebalance_timeout_ms;
	/* The record keeps the selected protocol's metadata only: that is the
	 * member's one protocol now (as Kafka's loaded MemberMetadata). */
	if (g->protocol_name != NULL) {
		m->protocols = calloc(1, sizeof *m->protocols);
		if (m->protocols == NULL)
			goto err;
		m->protocols_count = 1;
		m->protocols[0].name = strdup(g->protocol_name);
		if (m->protocols[0].name == NULL)
			goto err;
		int32_t len = lm->subscription.len > 0 ? lm->subscription.len : 0;
		if (len > 0) {
			m->protocols[0].metadata = malloc((size_t)len);
			if (m->protocols[0].metadata == NULL)
				goto err;
			memcpy(m->protocols[0].metadata, lm->subscription.p, (size_t)len);
		}
		m->protocols[0].metadata_len = len;
	}
	int32_t alen = lm->assignment.len > 0 ? lm->assignment.len : 0;
	if (alen > 0) {
		m->assignment = malloc((size_t)alen);
		if (m->assignment == NULL)
			goto err;
		memcpy(m->assignment, lm->assignment.p, (size_t)alen);
	}
	m->assignment_len = alen;
	if (group_member_add(g, m) != 0)
		goto err;
	return 0;
err:
	group_member_free(m);
	return -1;
}

int group_restore_group(struct group_coordinator *c, const struct group_log_record *r)
{
	if (r->tombstone) {
		struct group *g = group_find(c, r->group);
		if (g == NULL)
			return 0;
		/* The group's metadata is gone; offsets have records of their own. */
		group_restore_clear(g);
		group_restore_maybe_drop(g);
		return 0;
	}
	struct group *g = group_restore_find_or_create(c, r->group);
	if (g == NULL)
		return -1;
	group_restore_clear(g);
	g->persisted = true;
	g->generation_id = r->generation;
	/* Kafka reads an empty protocol type as none. */
	if (r->protocol_type.len > 0 && (g->protocol_type = kstr_dup(r->protocol_type)) == NULL)
		goto err;
	if (r->protocol.len >= 0 && (g->protocol_name = kstr_dup(r->protocol)) == NULL)
		goto err;
	if (r->leader.len >= 0 && (g->leader_id = kstr_dup(r->leader)) == NULL)
		goto err;
	g->state_timestamp_ms = r->current_state_timestamp_ms;
	for (int32_t i = 0; i < r->members_count; i++)
		if (group_restore_member(g, &r->members[i]) != 0)
			goto err;
	g->state = g->members_count > 0 ? GROUP_STABLE : GROUP_EMPTY;
	return 0;
err:
	/* Half a group is worse than none: it loads as Empty. */
	group_restore_clear(g);
	group_restore_maybe_drop(g);
	return -1;
}

void group_restore_done(struct group_coordinator *c, group_match_fn match, void *arg)
{
	for (int32_t i = 0; i < c->groups_count; i++) {
		struct group *g = c->groups[i];
		if (match && !match(arg, g->group_id))
			continue;
		if (g->state_timestamp_ms < 0)
			g->state_timestamp_ms = group_now_ms();
		for (int32_t j = 0; j < g->members_count; j++)
			group_member_heartbeat(g->members[j]);
		if (g->members_count > 0)
			tlog(TLOG_INFO, "group", "group=%s: loaded generation %d, %s, %d member(s)", g->group_id,
			     g->generation_id, group_state_name(g->state), g->members_count);
	}
}

void group_unload(struct group_coordinator *c, group_match_fn match, void *arg)
{
	for (int32_t i = 0; i < c->groups_count;) {
		struct group *g = c->groups[i];
		if (match && !match(arg, g->group_id)) {
			i++;
			continue;
		}
		group_remove(g, KERR_NOT_COORDINATOR);
	}
}
