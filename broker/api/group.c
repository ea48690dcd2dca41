/* Handlers of the classic consumer-group APIs: FindCoordinator, JoinGroup,
 * SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, ListGroups,
 * DescribeGroups, DeleteGroups, OffsetDelete. Each decodes with its codec,
 * asks the coordinator (broker/group/group.h) and encodes the answer.
 *
 * JoinGroup, SyncGroup, OffsetCommit and OffsetDelete may complete later:
 * their context
 * keeps the api_request (and with it the frame the decoded views point into)
 * until the coordinator's callback responds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/metadata.h"
#include "broker/group/group.h"
#include "broker/group/group_topic.h"
#include "broker/logger.h"
#include "broker/net/net.h"
#include "broker/protocol/delete_groups.h"
#include "broker/protocol/describe_groups.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/find_coordinator.h"
#include "broker/protocol/heartbeat.h"
#include "broker/protocol/join_group.h"
#include "broker/protocol/leave_group.h"
#include "broker/protocol/list_groups.h"
#include "broker/protocol/offset_commit.h"
#include "broker/protocol/offset_delete.h"
#include "broker/protocol/offset_fetch.h"
#include "broker/protocol/sync_group.h"
#include "broker/topics.h"

/* Kafka's AclOperation codes a group supports (READ 3, DELETE 6, DESCRIBE
 * 8): with no authorizer every one is allowed. */
#define API_GROUP_AUTHORIZED_OPS ((1 << 3) | (1 << 6) | (1 << 8))

static const struct kstr api_group_null = {NULL, -1};

static struct kstr api_group_kstr(const char *s)
{
	struct kstr k = {s, s ? (int32_t)strlen(s) : -1};
	return k;
}

static struct kstr api_group_kstr_or_empty(const char *s)
{
	struct kstr k = {s ? s : "", s ? (int32_t)strlen(s) : 0};
	return k;
}

static void api_group_respond(struct api_request *req, struct kwriter *w)
{
	api_respond(req, w);
}

/* Kafka's client host: "/" + the peer's address without the port. */
static void api_group_client_host(struct api_request *req, char *buf, size_t len)
{
	const char *peer = req->net ? net_request_peer(req->net) : NULL;
	if (!peer)
		peer = "";
	const char *colon = strrchr(peer, ':');
	size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
	if (n >= 2 && peer[0] == '[' && peer[n - 1] == ']') {
		peer++;
		n -= 2;
	}
	if (n > len - 2)
		n = len - 2;
	buf[0] = '/';
	memcpy(buf + 1, peer, n);
	buf[n + 1] = '\0';
}

/* The coordinator, with its __consumer_offsets store attached (on the first
 * group request of the broker's life). */
static struct group_coordinator *api_group_coord(struct api_request *req)
{
	if (req->broker == NULL)
		return NULL;
	(void)group_topic_get(req->broker);
	return broker_group_coordinator(req->broker);
}

/* ---- FindCoordinator ---- */

/* A FindCoordinator in progress: it waits (once) while __consumer_offsets is
 * being created, so the client's first request gets its coordinator instead
 * of a round of COORDINATOR_NOT_AVAILABLE retries. */
struct api_find_ctx {
	struct api_request *req;
	struct find_coordinator_request in; /* views into req's frame */
	bool waited;
};

static void api_find_coordinator_one(struct group_topic *gt, struct kstr key, int8_t key_type,
				     struct find_coordinator_coordinator *out, char *host, size_t hostlen,
				     bool *pending)
{
	memset(out, 0, sizeof *out);
	out->key = key;
	out->node_id = -1;
	out->host = api_group_kstr("");
	out->port = -1;
	out->error_message = api_group_null;
	if (key_type != FIND_COORDINATOR_KEY_TYPE_GROUP && key_type != FIND_COORDINATOR_KEY_TYPE_TRANSACTION) {
		out->error_code = KERR_INVALID_REQUEST;
		out->error_message = api_group_kstr("unknown key type");
		return;
	}
	int32_t node = -1, port = -1;
	int rc = KERR_COORDINATOR_NOT_AVAILABLE;
	/* No transaction coordinator runs here (yet). */
	if (key_type == FIND_COORDINATOR_KEY_TYPE_GROUP && gt != NULL)
		rc = group_topic_coordinator(gt, key, &node, host, hostlen, &port);
	if (rc == GROUP_TOPIC_PENDING) {
		*pending = true;
		rc = KERR_COORDINATOR_NOT_AVAILABLE;
	}
	if (rc != KERR_NONE) {
		out->error_code = (int16_t)rc;
		out->error_message = api_group_kstr("The coordinator is not available.");
		return;
	}
	out->node_id = node;
	out->host = api_group_kstr(host);
	out->port = port;
	out->error_code = KERR_NONE;
}

static void api_find_ctx_free(struct api_find_ctx *ctx)
{
	find_coordinator_request_free(&ctx->in);
	free(ctx);
}

static void api_find_coordinator_wait_cb(void *arg);

/* Answers, or waits once for the offsets topic when it is being created. */
static void api_find_coordinator_run(struct api_find_ctx *ctx)
{
	struct api_request *req = ctx->req;
	int16_t v = req->hdr.api_version;
	struct find_coordinator_request *in = &ctx->in;
	struct group_topic *gt = req->broker != NULL ? group_topic_get(req->broker) : NULL;
	struct find_coordinator_response out;
	memset(&out, 0, sizeof out);
	bool pending = false;
	struct kwriter w;
	kw_init(&w, 128);
	int32_t n = v <= 3 ? 1 : in->coordinator_keys_count;
	struct find_coordinator_coordinator *cs = calloc((size_t)n + 1, sizeof *cs);
	char (*hosts)[256] = calloc((size_t)n + 1, sizeof *hosts);
	if (cs == NULL || hosts == NULL) {
		free(cs);
		free(hosts);
		kw_free(&w);
		api_find_ctx_free(ctx);
		api_close(req);
		return;
	}
	for (int32_t i = 0; i < n; i++)
		api_find_coordinator_one(gt, v <= 3 ? in->key : in->coordinator_keys[i], in->key_type, &cs[i], hosts[i],
					 sizeof hosts[i], &pending);
	if (pending && !ctx->waited && gt != NULL && group_topic_when_ready(gt, api_find_coordinator_wait_cb, ctx) == 0) {
		ctx->waited = true;
		free(cs);
		free(hosts);
		kw_free(&w);
		return;
	}
	if (v <= 3) {
		out.error_code = cs[0].error_code;
		out.error_message = cs[0].error_message;
		out.node_id = cs[0].node_id;
		out.host = cs[0].host;
		out.port = cs[0].port;
	} else {
		out.coordinators = cs;
		out.coordinators_count = n;
	}
	find_coordinator_response_encode(&w, v, &out);
	free(cs);
	free(hosts);
	api_find_ctx_free(ctx);
	api_group_respond(req, &w);
}

static void api_find_coordinator_wait_cb(void *arg)
{
	api_find_coordinator_run(arg);
}

void api_find_coordinator_handle(struct api_request *req)
{
	struct api_find_ctx *ctx = calloc(1, sizeof *ctx);
	if (ctx == NULL) {
		api_close(req);
		return;
	}
	ctx->req = req;
	if (find_coordinator_request_decode(&req->body, req->hdr.api_version, &ctx->in) != 0) {
		free(ctx);
		api_close(req);
		return;
	}
	api_find_coordinator_run(ctx);
}

/* ---- JoinGroup ---- */

struct api_join_ctx {
	struct api_request *req;
	int16_t version;
};

static void api_join_group_done(void *arg, const struct group_join_result *res)
{
	struct api_join_ctx *ctx = arg;
	int16_t v = ctx->version;
	struct join_group_response out;
	memset(&out, 0, sizeof out);
	out.error_code = res->error_code;
	out.generation_id = res->generation_id;
	out.protocol_type = api_group_kstr(res->protocol_type);
	out.protocol_name = api_group_kstr(res->protocol_name);
	out.leader = api_group_kstr_or_empty(res->leader);
	out.skip_assignment = res->skip_assignment;
	out.member_id = api_group_kstr_or_empty(res->member_id);
	struct kwriter w;
	kw_init(&w, 256);
	if (res->members_count > 0) {
		out.members = calloc((size_t)res->members_count, sizeof *out.members);
		if (!out.members) {
			w.err = -1; /* api_respond closes the connection */
		} else {
			out.members_count = res->members_count;
			for (int32_t i = 0; i < res->members_count; i++) {
				out.members[i].member_id = api_group_kstr(res->members[i].member_id);
				out.members[i].group_instance_id = api_group_kstr(res->members[i].group_instance_id);
				out.members[i].metadata = res->members[i].metadata;
			}
		}
	}
	if (kw_ok(&w))
		join_group_response_encode(&w, v, &out);
	free(out.members);
	api_group_respond(ctx->req, &w);
	free(ctx);
}

void api_join_group_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct join_group_request in;
	if (join_group_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	struct api_join_ctx *ctx = malloc(sizeof *ctx);
	if (!ctx) {
		join_group_request_free(&in);
		api_close(req);
		return;
	}
	ctx->req = req;
	ctx->version = v;
	struct group_coordinator *c = api_group_coord(req);
	if (!c) {
		struct group_join_result r = {.error_code = KERR_COORDINATOR_NOT_AVAILABLE, .generation_id = -1};
		join_group_request_free(&in);
		api_join_group_done(ctx, &r);
		return;
	}
	char host[80];
	api_group_client_host(req, host, sizeof host);
	struct group_join_params p = {
		.group_id = in.group_id,
		.member_id = in.member_id,
		.group_instance_id = in.group_instance_id,
		.client_id = req->hdr.client_id,
		.client_host = api_group_kstr(host),
		.protocol_type = in.protocol_type,
		.protocols = in.protocols,
		.protocols_count = in.protocols_count,
		.session_timeout_ms = in.session_timeout_ms,
		/* v0 has no rebalance timeout: the session timeout serves. */
		.rebalance_timeout_ms = (v == 0 || in.rebalance_timeout_ms < 0) ? in.session_timeout_ms
										  : in.rebalance_timeout_ms,
		.require_known_member_id = v >= 4,
		.supports_skip_assignment = v >= 9,
		.reason = in.reason,
	};
	/* ctx may be freed (answered) before group_join returns. */
	group_join(c, &p, api_join_group_done, ctx);
	join_group_request_free(&in);
}

/* ---- SyncGroup ---- */

struct api_sync_ctx {
	struct api_request *req;
	int16_t version;
};

static void api_sync_group_done(void *arg, const struct group_sync_result *res)
{
	struct api_sync_ctx *ctx = arg;
	struct sync_group_response out;
	memset(&out, 0, sizeof out);
	out.error_code = res->error_code;
	out.protocol_type = api_group_kstr(res->protocol_type);
	out.protocol_name = api_group_kstr(res->protocol_name);
	out.assignment = res->assignment;
	struct kwriter w;
	kw_init(&w, 64 + (size_t)(res->assignment.len > 0 ? res->assignment.len : 0));
	sync_group_response_encode(&w, ctx->version, &out);
	api_group_respond(ctx->req, &w);
	free(ctx);
}

void api_sync_group_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct sync_group_request in;
	if (sync_group_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	struct api_sync_ctx *ctx = malloc(sizeof *ctx);
	if (!ctx) {
		sync_group_request_free(&in);
		api_close(req);
		return;
	}
	ctx->req = req;
	ctx->version = v;
	struct group_coordinator *c = api_group_coord(req);
	if (!c) {
		struct group_sync_result r = {.error_code = KERR_COORDINATOR_NOT_AVAILABLE};
		sync_group_request_free(&in);
		api_sync_group_done(ctx, &r);
		return;
	}
	struct group_sync_params p = {
		.group_id = in.group_id,
		.generation_id = in.generation_id,
		.member_id = in.member_id,
		.group_instance_id = in.group_instance_id,
		.protocol_type = in.protocol_type,
		.protocol_name = in.protocol_name,
		.assignments = in.assignments,
		.assignments_count = in.assignments_count,
	};
	group_sync(c, &p, api_sync_group_done, ctx);
	sync_group_request_free(&in);
}

/* ---- Heartbeat ---- */

void api_heartbeat_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct heartbeat_request in;
	if (heartbeat_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	struct group_coordinator *c = api_group_coord(req);
	struct heartbeat_response out = {0};
	out.error_code = c ? group_heartbeat(c, in.group_id, in.generation_id, in.member_id, in.group_instance_id)
			   : KERR_COORDINATOR_NOT_AVAILABLE;
	struct kwriter w;
	kw_init(&w, 16);
	heartbeat_response_encode(&w, v, &out);
	api_group_respond(req, &w);
}

/* ---- LeaveGroup ---- */

void api_leave_group_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct leave_group_request in;
	if (leave_group_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	/* v0-2 name one member: the same as a batch of one. */
	struct leave_group_request_member single = {in.member_id, api_group_null, api_group_null};
	const struct leave_group_request_member *members = v <= 2 ? &single : in.members;
	int32_t n = v <= 2 ? 1 : in.members_count;
	int16_t *errs = calloc((size_t)(n > 0 ? n : 1), sizeof *errs);
	struct leave_group_response out;
	memset(&out, 0, sizeof out);
	if (n > 0)
		out.members = calloc((size_t)n, sizeof *out.members);
	if (!errs || (n > 0 && !out.members)) {
		free(errs);
		free(out.members);
		leave_group_request_free(&in);
		api_close(req);
		return;
	}
	struct group_coordinator *c = api_group_coord(req);
	int16_t top = c ? group_leave(c, in.group_id, members, n, errs) : KERR_COORDINATOR_NOT_AVAILABLE;
	if (v <= 2) {
		out.error_code = top != KERR_NONE ? top : errs[0];
	} else {
		out.error_code = top;
		if (top == KERR_NONE) {
			out.members_count = n;
			for (int32_t i = 0; i < n; i++) {
				out.members[i].member_id = members[i].member_id;
				out.members[i].group_instance_id = members[i].group_instance_id;
				out.members[i].error_code = errs[i];
			}
		}
	}
	struct kwriter w;
	kw_init(&w, 64);
	leave_group_response_encode(&w, v, &out);
	free(out.members);
	free(errs);
	leave_group_request_free(&in);
	api_group_respond(req, &w);
}

/* ---- OffsetCommit ---- */

struct api_commit_ctx {
	struct api_request *req;
	int16_t version;
	struct offset_commit_request in; /* views into req's frame */
	struct offset_commit_response out;
	struct group_offset_entry *entries;
};

static void api_commit_ctx_free(struct api_commit_ctx *ctx)
{
	offset_commit_response_free(&ctx->out);
	offset_commit_request_free(&ctx->in);
	free(ctx->entries);
	free(ctx);
}

static void api_offset_commit_done(void *arg, int16_t err)
{
	struct api_commit_ctx *ctx = arg;
	(void)err; /* already written into every partition */
	struct kwriter w;
	kw_init(&w, 128);
	offset_commit_response_encode(&w, ctx->version, &ctx->out);
	struct api_request *req = ctx->req;
	api_commit_ctx_free(ctx);
	api_group_respond(req, &w);
}

void api_offset_commit_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct api_commit_ctx *ctx = calloc(1, sizeof *ctx);
	if (!ctx) {
		api_close(req);
		return;
	}
	ctx->req = req;
	ctx->version = v;
	if (offset_commit_request_decode(&req->body, v, &ctx->in) != 0) {
		free(ctx);
		api_close(req);
		return;
	}
	struct offset_commit_request *in = &ctx->in;
	struct offset_commit_response *out = &ctx->out;
	int32_t total = 0;
	bool oom = false;
	if (in->topics_count > 0) {
		out->topics = calloc((size_t)in->topics_count, sizeof *out->topics);
		oom = !out->topics;
	}
	for (int32_t i = 0; !oom && i < in->topics_count; i++) {
		const struct offset_commit_request_topic *t = &in->topics[i];
		struct offset_commit_response_topic *rt = &out->topics[i];
		out->topics_count = i + 1;
		rt->name = t->name;
		if (t->partitions_count > 0) {
			rt->partitions = calloc((size_t)t->partitions_count, sizeof *rt->partitions);
			if (!rt->partitions) {
				oom = true;
				break;
			}
		}
		rt->partitions_count = t->partitions_count;
		for (int32_t j = 0; j < t->partitions_count; j++)
			rt->partitions[j].partition_index = t->partitions[j].partition_index;
		total += t->partitions_count;
	}
	if (!oom && total > 0) {
		ctx->entries = calloc((size_t)total, sizeof *ctx->entries);
		oom = !ctx->entries;
	}
	if (oom) {
		api_commit_ctx_free(ctx);
		api_close(req);
		return;
	}

	/* Partitions of topics this broker does not have are refused here,
	 * as Kafka does from its metadata cache. */
	int32_t n = 0;
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct offset_commit_request_topic *t = &in->topics[i];
		for (int32_t j = 0; j < t->partitions_count; j++) {
			const struct offset_commit_request_partition *p = &t->partitions[j];
			int16_t *err = &out->topics[i].partitions[j].error_code;
			int16_t lookup_err = KERR_NONE;
			if (req->broker && !broker_leader_partition(req->broker, t->name, p->partition_index, &lookup_err) &&
			    lookup_err == KERR_UNKNOWN_TOPIC_OR_PARTITION) {
				/* Led elsewhere is fine: the group coordinator commits
				 * offsets of any partition that exists. */
				*err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			struct group_offset_entry *e = &ctx->entries[n++];
			e->topic = t->name;
			e->partition = p->partition_index;
			e->offset = p->committed_offset;
			e->leader_epoch = p->committed_leader_epoch;
			e->metadata = p->committed_metadata;
			e->commit_timestamp_ms = p->commit_timestamp;
			e->error = err;
		}
	}
	struct group_coordinator *c = api_group_coord(req);
	if (!c) {
		for (int32_t i = 0; i < n; i++)
			*ctx->entries[i].error = KERR_COORDINATOR_NOT_AVAILABLE;
		api_offset_commit_done(ctx, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	struct group_commit_params gp = {
		.group_id = in->group_id,
		.generation_id = in->generation_id_or_member_epoch,
		.member_id = in->member_id,
		.group_instance_id = in->group_instance_id,
	};
	group_offset_commit(c, &gp, ctx->entries, n, api_offset_commit_done, ctx);
}

/* ---- OffsetFetch ---- */

static void api_fetch_fill_partition(const struct group_offset *o, int32_t partition,
				     struct offset_fetch_response_partition *rp)
{
	rp->partition_index = partition;
	rp->committed_offset = o ? o->offset : -1;
	rp->committed_leader_epoch = o ? o->leader_epoch : -1;
	rp->metadata = api_group_kstr_or_empty(o ? o->metadata : "");
	rp->error_code = KERR_NONE;
}

static void api_fetch_topics_free(struct offset_fetch_response_topic *topics, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		free(topics[i].partitions);
	free(topics);
}

/* Answers one group: the requested partitions, or (topics_count < 0) every
 * committed one. On a group-level error, requested partitions carry it too
 * (v0-1 have no other place for it). Returns 0, or -1 on out of memory. */
static int api_fetch_group(struct group_coordinator *c, struct kstr group_id,
			   const struct offset_fetch_request_topic *topics, int32_t topics_count,
			   struct offset_fetch_response_topic **out, int32_t *out_count, int16_t *group_err)
{
	*out = NULL;
	*out_count = 0;
	*group_err = c ? group_offset_fetch_check(c, group_id) : KERR_COORDINATOR_NOT_AVAILABLE;
	if (topics_count >= 0) {
		struct offset_fetch_response_topic *rt = topics_count ? calloc((size_t)topics_count, sizeof *rt) : NULL;
		if (topics_count && !rt)
			return -1;
		for (int32_t i = 0; i < topics_count; i++) {
			const struct offset_fetch_request_topic *t = &topics[i];
			rt[i].name = t->name;
			if (t->partition_indexes_count > 0) {
				rt[i].partitions = calloc((size_t)t->partition_indexes_count, sizeof *rt[i].partitions);
				if (!rt[i].partitions) {
					api_fetch_topics_free(rt, i);
					return -1;
				}
			}
			rt[i].partitions_count = t->partition_indexes_count;
			for (int32_t j = 0; j < t->partition_indexes_count; j++) {
				int32_t part = t->partition_indexes[j];
				const struct group_offset *o =
					*group_err == KERR_NONE ? group_offset_get(c, group_id, t->name, part) : NULL;
				api_fetch_fill_partition(o, part, &rt[i].partitions[j]);
				rt[i].partitions[j].error_code = *group_err;
			}
		}
		*out = rt;
		*out_count = topics_count;
		return 0;
	}
	if (*group_err != KERR_NONE)
		return 0;
	/* Every committed partition, grouped by topic (the list is sorted). */
	int32_t n = 0;
	const struct group_offset *all = group_offset_list(c, group_id, &n);
	int32_t ntopics = 0;
	for (int32_t i = 0; i < n; i++)
		if (i == 0 || strcmp(all[i].topic, all[i - 1].topic) != 0)
			ntopics++;
	if (ntopics == 0)
		return 0;
	struct offset_fetch_response_topic *rt = calloc((size_t)ntopics, sizeof *rt);
	if (!rt)
		return -1;
	int32_t ti = -1;
	for (int32_t i = 0; i < n; i++) {
		if (i == 0 || strcmp(all[i].topic, all[i - 1].topic) != 0) {
			int32_t count = 0;
			while (i + count < n && strcmp(all[i + count].topic, all[i].topic) == 0)
				count++;
			ti++;
			rt[ti].name = api_group_kstr(all[i].topic);
			rt[ti].partitions = calloc((size_t)count, sizeof *rt[ti].partitions);
			if (!rt[ti].partitions) {
				api_fetch_topics_free(rt, ti);
				return -1;
			}
		}
		api_fetch_fill_partition(&all[i], all[i].partition, &rt[ti].partitions[rt[ti].partitions_count++]);
	}
	*out = rt;
	*out_count = ntopics;
	return 0;
}

void api_offset_fetch_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct offset_fetch_request in;
	if (offset_fetch_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	struct group_coordinator *c = api_group_coord(req);
	struct offset_fetch_response out;
	memset(&out, 0, sizeof out);
	int rc = 0;
	if (v <= 7) {
		rc = api_fetch_group(c, in.group_id, in.topics, in.topics_count, &out.topics, &out.topics_count,
				     &out.error_code);
	} else {
		if (in.groups_count > 0) {
			out.groups = calloc((size_t)in.groups_count, sizeof *out.groups);
			rc = out.groups ? 0 : -1;
		}
		for (int32_t i = 0; rc == 0 && i < in.groups_count; i++) {
			struct offset_fetch_response_group *g = &out.groups[i];
			g->group_id = in.groups[i].group_id;
			rc = api_fetch_group(c, in.groups[i].group_id, in.groups[i].topics, in.groups[i].topics_count,
					     &g->topics, &g->topics_count, &g->error_code);
			out.groups_count = i + 1;
		}
	}
	struct kwriter w;
	kw_init(&w, 256);
	if (rc == 0)
		offset_fetch_response_encode(&w, v, &out);
	else
		w.err = -1;
	/* The response arrays are views of our own allocations: the codec's
	 * free releases exactly them. */
	offset_fetch_response_free(&out);
	offset_fetch_request_free(&in);
	api_group_respond(req, &w);
}

/* ---- ListGroups ---- */

static bool api_list_groups_match(const struct kstr *filter, int32_t n, const char *value)
{
	if (n <= 0)
		return true;
	size_t len = strlen(value);
	for (int32_t i = 0; i < n; i++)
		if (filter[i].len >= 0 && (size_t)filter[i].len == len && strncasecmp(filter[i].p, value, len) == 0)
			return true;
	return false;
}

void api_list_groups_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct list_groups_request in;
	if (list_groups_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	struct group_coordinator *c = api_group_coord(req);
	struct list_groups_response out;
	memset(&out, 0, sizeof out);
	struct group_summary *all = NULL;
	int32_t n = 0;
	struct kwriter w;
	kw_init(&w, 128);
	if (!c) {
		out.error_code = KERR_COORDINATOR_NOT_AVAILABLE;
	} else if (group_list(c, &all, &n) != 0) {
		w.err = -1;
	} else if (n > 0) {
		out.groups = calloc((size_t)n, sizeof *out.groups);
		if (!out.groups)
			w.err = -1;
		for (int32_t i = 0; out.groups && i < n; i++) {
			if (!api_list_groups_match(in.states_filter, in.states_filter_count, all[i].state) ||
			    !api_list_groups_match(in.types_filter, in.types_filter_count, "classic"))
				continue;
			struct list_groups_group *g = &out.groups[out.groups_count++];
			g->group_id = api_group_kstr(all[i].group_id);
			g->protocol_type = api_group_kstr_or_empty(all[i].protocol_type);
			g->group_state = api_group_kstr(all[i].state);
			g->group_type = api_group_kstr("classic");
		}
	}
	if (kw_ok(&w))
		list_groups_response_encode(&w, v, &out);
	free(out.groups);
	free(all);
	list_groups_request_free(&in);
	api_group_respond(req, &w);
}

/* ---- DeleteGroups ---- */

/* Kafka's handleDeleteGroups: each group on its own - an Empty one goes with
 * its offsets (tombstones in __consumer_offsets), one with members answers
 * NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND, one coordinated
 * elsewhere NOT_COORDINATOR. */
void api_delete_groups_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct delete_groups_request in;
	if (delete_groups_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	struct group_coordinator *c = api_group_coord(req);
	struct delete_groups_response out;
	memset(&out, 0, sizeof out);
	struct kwriter w;
	kw_init(&w, 64);
	if (in.groups_names_count > 0) {
		out.results = calloc((size_t)in.groups_names_count, sizeof *out.results);
		if (out.results == NULL)
			w.err = -1;
	}
	for (int32_t i = 0; out.results != NULL && i < in.groups_names_count; i++) {
		out.results[i].group_id = in.groups_names[i];
		out.results[i].error_code =
			c != NULL ? group_delete(c, in.groups_names[i]) : KERR_COORDINATOR_NOT_AVAILABLE;
		out.results_count++;
	}
	if (kw_ok(&w))
		delete_groups_response_encode(&w, v, &out);
	free(out.results);
	delete_groups_request_free(&in);
	api_group_respond(req, &w);
}

/* ---- OffsetDelete ---- */

struct api_offset_delete_ctx {
	struct api_request *req;
	struct offset_delete_request in; /* views into req's frame */
	struct offset_delete_response out;
	struct group_offset_delete_entry *entries;
};

static void api_offset_delete_ctx_free(struct api_offset_delete_ctx *ctx)
{
	offset_delete_response_free(&ctx->out);
	offset_delete_request_free(&ctx->in);
	free(ctx->entries);
	free(ctx);
}

static void api_offset_delete_done(void *arg, int16_t err)
{
	struct api_offset_delete_ctx *ctx = arg;
	struct api_request *req = ctx->req;
	struct offset_delete_response *out = &ctx->out;
	if (err != KERR_NONE) {
		/* Kafka's OffsetDeleteRequest.getErrorResponse: the group's error
		 * alone, no partition. */
		out->error_code = err;
		for (int32_t i = 0; i < out->topics_count; i++)
			free(out->topics[i].partitions);
		free(out->topics);
		out->topics = NULL;
		out->topics_count = 0;
	}
	struct kwriter w;
	kw_init(&w, 64);
	offset_delete_response_encode(&w, req->hdr.api_version, out);
	api_offset_delete_ctx_free(ctx);
	api_group_respond(req, &w);
}

/* Kafka's handleOffsetDeleteRequest: partitions of topics (or partition
 * indexes) the cluster does not have answer UNKNOWN_TOPIC_OR_PARTITION here,
 * from the metadata; the coordinator decides the others (group.h,
 * group_offset_delete). The answer keeps the request's topics and order. */
void api_offset_delete_handle(struct api_request *req)
{
	struct api_offset_delete_ctx *ctx = calloc(1, sizeof *ctx);
	if (ctx == NULL) {
		api_close(req);
		return;
	}
	ctx->req = req;
	if (offset_delete_request_decode(&req->body, req->hdr.api_version, &ctx->in) != 0) {
		free(ctx);
		api_close(req);
		return;
	}
	struct offset_delete_request *in = &ctx->in;
	struct offset_delete_response *out = &ctx->out;
	int64_t total = 0;
	bool oom = false;
	if (in->topics_count > 0) {
		out->topics = calloc((size_t)in->topics_count, sizeof *out->topics);
		oom = out->topics == NULL;
	}
	for (int32_t i = 0; !oom && i < in->topics_count; i++) {
		const struct offset_delete_request_topic *t = &in->topics[i];
		struct offset_delete_response_topic *rt = &out->topics[i];
		out->topics_count = i + 1;
		rt->name = t->name;
		if (t->partitions_count > 0) {
			rt->partitions = calloc((size_t)t->partitions_count, sizeof *rt->partitions);
			if (rt->partitions == NULL) {
				oom = true;
				break;
			}
		}
		rt->partitions_count = t->partitions_count;
		total += t->partitions_count;
	}
	if (!oom && total > 0) {
		ctx->entries = calloc((size_t)total, sizeof *ctx->entries);
		oom = ctx->entries == NULL;
	}
	if (oom) {
		api_offset_delete_ctx_free(ctx);
		api_close(req);
		return;
	}
	int32_t n = 0;
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct offset_delete_request_topic *t = &in->topics[i];
		for (int32_t j = 0; j < t->partitions_count; j++) {
			struct offset_delete_response_partition *rp = &out->topics[i].partitions[j];
			rp->partition_index = t->partitions[j];
			int16_t lookup_err = KERR_NONE;
			if (req->broker != NULL &&
			    !broker_leader_partition(req->broker, t->name, t->partitions[j], &lookup_err) &&
			    lookup_err == KERR_UNKNOWN_TOPIC_OR_PARTITION) {
				rp->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
			struct group_offset_delete_entry *e = &ctx->entries[n++];
			e->topic = t->name;
			e->partition = t->partitions[j];
			e->error = &rp->error_code;
		}
	}
	struct group_coordinator *c = api_group_coord(req);
	if (c == NULL) {
		api_offset_delete_done(ctx, KERR_COORDINATOR_NOT_AVAILABLE);
		return;
	}
	group_offset_delete(c, in->group_id, ctx->entries, n, api_offset_delete_done, ctx);
}

/* ---- DescribeGroups ---- */

void api_describe_groups_handle(struct api_request *req)
{
	int16_t v = req->hdr.api_version;
	struct describe_groups_request in;
	if (describe_groups_request_decode(&req->body, v, &in) != 0) {
		api_close(req);
		return;
	}
	struct group_coordinator *c = api_group_coord(req);
	struct describe_groups_response out;
	memset(&out, 0, sizeof out);
	struct group_summary *sums = NULL;
	struct kwriter w;
	kw_init(&w, 256);
	if (in.groups_count > 0) {
		out.groups = calloc((size_t)in.groups_count, sizeof *out.groups);
		sums = calloc((size_t)in.groups_count, sizeof *sums);
		if (!out.groups || !sums)
			w.err = -1;
	}
	for (int32_t i = 0; kw_ok(&w) && i < in.groups_count; i++) {
		struct describe_groups_group *g = &out.groups[i];
		out.groups_count = i + 1;
		g->group_id = in.groups[i];
		g->authorized_operations =
			in.include_authorized_operations ? API_GROUP_AUTHORIZED_OPS : DESCRIBE_GROUPS_OPS_NOT_REQUESTED;
		g->group_state = api_group_kstr("");
		g->protocol_type = api_group_kstr("");
		g->protocol_data = api_group_kstr("");
		g->error_code = c ? group_describe(c, in.groups[i], &sums[i]) : KERR_COORDINATOR_NOT_AVAILABLE;
		if (g->error_code != KERR_NONE)
			continue;
		g->group_state = api_group_kstr_or_empty(sums[i].state);
		g->protocol_type = api_group_kstr_or_empty(sums[i].protocol_type);
		g->protocol_data = api_group_kstr_or_empty(sums[i].protocol_name);
		if (sums[i].members_count > 0) {
			g->members = calloc((size_t)sums[i].members_count, sizeof *g->members);
			if (!g->members) {
				w.err = -1;
				break;
			}
			g->members_count = sums[i].members_count;
		}
		for (int32_t j = 0; j < g->members_count; j++) {
			const struct group_member_summary *ms = &sums[i].members[j];
			struct describe_groups_member *m = &g->members[j];
			m->member_id = api_group_kstr_or_empty(ms->member_id);
			m->group_instance_id = api_group_kstr(ms->group_instance_id);
			m->client_id = api_group_kstr_or_empty(ms->client_id);
			m->client_host = api_group_kstr_or_empty(ms->client_host);
			m->member_metadata = ms->metadata;
			m->member_assignment = ms->assignment;
		}
	}
	if (kw_ok(&w))
		describe_groups_response_encode(&w, v, &out);
	for (int32_t i = 0; sums && i < in.groups_count; i++)
		group_summary_free(&sums[i]);
	free(sums);
	describe_groups_response_free(&out);
	describe_groups_request_free(&in);
	api_group_respond(req, &w);
}
