/* Metadata: this broker's view of brokers, topics and partitions.
 *
 * Without a quorum every partition is led by this node with an ISR of one.
 * With one, everything comes from this broker's metadata image: the
 * unfenced brokers, every topic with its leaders, replicas, ISR and offline
 * replicas (fenced brokers), and this broker as the controller id: admin
 * requests sent here are forwarded to the active controller.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/logger.h"
#include "broker/metadata.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/metadata.h"

static void metadata_fill_topic(struct broker *b, struct topic *t, struct metadata_response_topic *out,
				int32_t *node)
{
	out->error_code = KERR_NONE;
	out->name.p = t->name;
	out->name.len = (int32_t)strlen(t->name);
	memcpy(out->topic_id, t->id, 16);
	out->is_internal = t->internal;
	out->topic_authorized_operations = METADATA_AUTHORIZED_OPERATIONS_UNKNOWN;
	out->partitions = calloc((size_t)t->partition_count, sizeof *out->partitions);
	if (!out->partitions) {
		out->error_code = KERR_UNKNOWN_SERVER_ERROR;
		return;
	}
	out->partitions_count = t->partition_count;
	for (int32_t i = 0; i < t->partition_count; i++) {
		struct metadata_response_partition *p = &out->partitions[i];
		p->error_code = KERR_NONE;
		p->partition_index = i;
		p->leader_id = *node;
		p->leader_epoch = t->partitions[i]->leader_epoch;
		p->replica_nodes = node;
		p->replica_nodes_count = 1;
		p->isr_nodes = node;
		p->isr_nodes_count = 1;
		p->offline_replicas = NULL;
		p->offline_replicas_count = 0;
	}
}

/* ---- with a quorum: from the image -------------------------------------- */

struct metadata_build {
	const struct metadata_image *img;
	struct metadata_response_broker *brokers;
	int32_t n_brokers, cap_brokers;
	struct metadata_response_topic *topics;
	int32_t n_topics, cap_topics;
	bool oom;
};

static int metadata_broker_cb(const struct image_broker *br, void *arg)
{
	struct metadata_build *mb = arg;
	if (br->fenced || br->n_endpoints == 0)
		return 0;
	if (mb->n_brokers == mb->cap_brokers) {
		int32_t cap = mb->cap_brokers ? mb->cap_brokers * 2 : 8;
		void *nb = realloc(mb->brokers, sizeof *mb->brokers * (size_t)cap);
		if (!nb) {
			mb->oom = true;
			return 1;
		}
		mb->brokers = nb;
		mb->cap_brokers = cap;
	}
	const struct metadata_endpoint *ep = &br->endpoints[0];
	mb->brokers[mb->n_brokers++] = (struct metadata_response_broker){
		.node_id = br->id,
		.host = {ep->host, (int32_t)strlen(ep->host)},
		.port = ep->port,
		.rack = {br->rack, br->rack ? (int32_t)strlen(br->rack) : -1},
	};
	return 0;
}

static bool metadata_broker_live(const struct metadata_image *img, int32_t id)
{
	const struct image_broker *br = image_broker(img, id);
	return br != NULL && !br->fenced;
}

struct metadata_fill {
	struct metadata_response_topic *out;
	const struct metadata_image *img;
	bool oom;
};

static int metadata_partition_cb(const struct image_topic *t, const struct image_partition *ip, void *arg)
{
	(void)t;
	struct metadata_fill *f = arg;
	struct metadata_response_partition *p = &f->out->partitions[f->out->partitions_count++];
	p->partition_index = ip->partition_id;
	p->leader_id = ip->leader;
	p->leader_epoch = ip->leader_epoch;
	p->error_code = ip->leader < 0 ? KERR_LEADER_NOT_AVAILABLE : KERR_NONE;
	/* Views into the image, which outlives the encoding. */
	p->replica_nodes = (int32_t *)ip->replicas.ids;
	p->replica_nodes_count = (int32_t)ip->replicas.n;
	p->isr_nodes = (int32_t *)ip->isr.ids;
	p->isr_nodes_count = (int32_t)ip->isr.n;
	p->offline_replicas = calloc(ip->replicas.n + 1, sizeof *p->offline_replicas);
	if (!p->offline_replicas) {
		f->oom = true;
		return 1;
	}
	for (size_t i = 0; i < ip->replicas.n; i++)
		if (!metadata_broker_live(f->img, ip->replicas.ids[i]))
			p->offline_replicas[p->offline_replicas_count++] = ip->replicas.ids[i];
	return 0;
}

static void metadata_fill_image_topic(const struct metadata_image *img, const struct image_topic *t,
				      struct metadata_response_topic *out, bool *oom)
{
	out->error_code = KERR_NONE;
	out->name.p = t->name;
	out->name.len = (int32_t)strlen(t->name);
	memcpy(out->topic_id, t->id, 16);
	out->is_internal = t->name[0] == '_' && t->name[1] == '_';
	out->topic_authorized_operations = METADATA_AUTHORIZED_OPERATIONS_UNKNOWN;
	out->partitions = calloc(t->n_partitions + 1, sizeof *out->partitions);
	if (!out->partitions) {
		*oom = true;
		return;
	}
	struct metadata_fill f = {out, img, false};
	image_foreach_partition(t, metadata_partition_cb, &f);
	*oom |= f.oom;
}

static int metadata_all_topics_cb(const struct image_topic *t, void *arg)
{
	struct metadata_build *mb = arg;
	metadata_fill_image_topic(mb->img, t, &mb->topics[mb->n_topics++], &mb->oom);
	return mb->oom ? 1 : 0;
}

static void metadata_handle_quorum(struct api_request *req, struct metadata_request *mr)
{
	struct broker *b = req->broker;
	int16_t v = req->hdr.api_version;
	struct metadata_image *img = metadata_image(b->metadata);
	struct metadata_build mb = {.img = img};
	struct metadata_response resp = {0};

	image_foreach_broker(img, metadata_broker_cb, &mb);
	int32_t n = mr->topics_count < 0 ? (int32_t)image_topic_count(img) : mr->topics_count;
	mb.topics = calloc((size_t)n + 1, sizeof *mb.topics);
	if (!mb.topics)
		mb.oom = true;
	if (!mb.oom && mr->topics_count < 0)
		image_foreach_topic(img, metadata_all_topics_cb, &mb);
	for (int32_t i = 0; !mb.oom && mr->topics_count >= 0 && i < n; i++) {
		struct metadata_response_topic *out = &mb.topics[mb.n_topics++];
		struct metadata_request_topic *rt = &mr->topics[i];
		out->topic_authorized_operations = METADATA_AUTHORIZED_OPERATIONS_UNKNOWN;
		const struct image_topic *t;
		if (rt->name.len < 0) {
			t = image_topic_by_id(img, rt->topic_id);
			if (!t) {
				out->error_code = KERR_UNKNOWN_TOPIC_ID;
				out->name.len = -1;
				memcpy(out->topic_id, rt->topic_id, 16);
				continue;
			}
		} else {
			char name[TOPIC_NAME_MAX + 1];
			out->name = rt->name;
			if (!topics_name_valid(rt->name.p, (size_t)rt->name.len)) {
				out->error_code = KERR_INVALID_TOPIC_EXCEPTION;
				continue;
			}
			memcpy(name, rt->name.p, (size_t)rt->name.len);
			name[rt->name.len] = '\0';
			t = image_topic_by_name(img, name);
			if (!t) {
				/* Kafka answers LEADER_NOT_AVAILABLE while it creates the
				 * topic; the client asks again. */
				if (mr->allow_auto_topic_creation && b->cfg->auto_create_topics_enable) {
					api_auto_create_topic_quorum(b, name);
					out->error_code = KERR_LEADER_NOT_AVAILABLE;
				} else {
					out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				}
				continue;
			}
		}
		metadata_fill_image_topic(img, t, out, &mb.oom);
	}
	if (mb.oom) {
		tlog(TLOG_ERROR, "api", "out of memory building a Metadata response");
	} else {
		resp.brokers = mb.brokers;
		resp.brokers_count = mb.n_brokers;
		resp.cluster_id.p = b->topics.cluster_id;
		resp.cluster_id.len = (int32_t)strlen(b->topics.cluster_id);
		/* KRaft hides the controller from clients and names a live
		 * broker instead (any broker forwards admin requests): this
		 * one, which the client just reached, if it is listed (it is
		 * not while fenced, e.g. just restarted: a client would wait
		 * for a controller it cannot see), else the first listed. The
		 * Raft leader itself may have died a moment ago. */
		resp.controller_id = mb.n_brokers > 0 ? mb.brokers[0].node_id : -1;
		for (int32_t i = 0; i < mb.n_brokers; i++)
			if (mb.brokers[i].node_id == b->cfg->node_id)
				resp.controller_id = b->cfg->node_id;
		resp.cluster_authorized_operations = METADATA_AUTHORIZED_OPERATIONS_UNKNOWN;
		resp.topics = mb.topics;
		resp.topics_count = mb.n_topics;
	}
	struct kwriter w;
	kw_init(&w, 512);
	if (!mb.oom)
		metadata_response_encode(&w, v, &resp);
	for (int32_t i = 0; i < mb.n_topics; i++) {
		for (int32_t j = 0; j < mb.topics[i].partitions_count; j++)
			free(mb.topics[i].partitions[j].offline_replicas);
		free(mb.topics[i].partitions);
	}
	free(mb.topics);
	free(mb.brokers);
	image_unref(img);
	metadata_request_free(mr);
	if (mb.oom) {
		kw_free(&w);
		api_close(req);
		return;
	}
	api_respond(req, &w);
}

void api_metadata_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	struct metadata_request mr;
	struct metadata_response resp = {0};
	int16_t v = req->hdr.api_version;
	int32_t node = (int32_t)b->cfg->node_id;

	if (metadata_request_decode(&req->body, v, &mr) != 0) {
		api_close(req);
		return;
	}
	if (b->metadata != NULL) {
		metadata_handle_quorum(req, &mr);
		return;
	}
	struct metadata_response_broker self = {
		.node_id = node,
		.host = {b->advertised_host, (int32_t)strlen(b->advertised_host)},
		.port = b->advertised_port,
		.rack = {b->cfg->broker_rack, b->cfg->broker_rack ? (int32_t)strlen(b->cfg->broker_rack) : -1},
	};
	resp.brokers = &self;
	resp.brokers_count = 1;
	resp.cluster_id.p = b->topics.cluster_id;
	resp.cluster_id.len = (int32_t)strlen(b->topics.cluster_id);
	resp.controller_id = node;
	resp.cluster_authorized_operations = METADATA_AUTHORIZED_OPERATIONS_UNKNOWN;

	int32_t n = mr.topics_count < 0 ? b->topics.count : mr.topics_count;
	resp.topics = calloc((size_t)n + 1, sizeof *resp.topics);
	if (!resp.topics) {
		metadata_request_free(&mr);
		api_close(req);
		return;
	}
	resp.topics_count = n;
	for (int32_t i = 0; i < n; i++) {
		struct metadata_response_topic *out = &resp.topics[i];
		struct topic *t;
		out->topic_authorized_operations = METADATA_AUTHORIZED_OPERATIONS_UNKNOWN;
		if (mr.topics_count < 0) {
			metadata_fill_topic(b, b->topics.items[i], out, &node);
			continue;
		}
		struct metadata_request_topic *rt = &mr.topics[i];
		if (rt->name.len < 0) {
			/* Asked by topic id (v10+). */
			t = topics_find_id(&b->topics, rt->topic_id);
			if (!t) {
				out->error_code = KERR_UNKNOWN_TOPIC_ID;
				out->name.len = -1;
				memcpy(out->topic_id, rt->topic_id, 16);
				continue;
			}
		} else {
			t = topics_find(&b->topics, rt->name);
			if (!t) {
				char name[TOPIC_NAME_MAX + 1];
				out->name = rt->name;
				if (!topics_name_valid(rt->name.p, (size_t)rt->name.len)) {
					out->error_code = KERR_INVALID_TOPIC_EXCEPTION;
					continue;
				}
				memcpy(name, rt->name.p, (size_t)rt->name.len);
				name[rt->name.len] = '\0';
				/* Metadata v4+ lets the client forbid auto-creation. */
				int rc = mr.allow_auto_topic_creation ? broker_auto_create_topic(b, name, &t)
								      : KERR_UNKNOWN_TOPIC_OR_PARTITION;
				if (rc != KERR_NONE) {
					out->error_code = (int16_t)(rc == KERR_TOPIC_ALREADY_EXISTS ? KERR_NONE : rc);
					if (rc != KERR_TOPIC_ALREADY_EXISTS)
						continue;
					t = topics_find(&b->topics, rt->name);
				}
			}
		}
		metadata_fill_topic(b, t, out, &node);
	}

	struct kwriter w;
	kw_init(&w, 256);
	metadata_response_encode(&w, v, &resp);
	for (int32_t i = 0; i < resp.topics_count; i++)
		free(resp.topics[i].partitions);
	free(resp.topics);
	metadata_request_free(&mr);
	api_respond(req, &w);
}
