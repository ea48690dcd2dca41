/* Metadata: this broker's view of brokers, topics and partitions.
 *
 * On a single broker every partition is led by this node with an ISR of one;
 * the Raft metadata image replaces this source when the quorum exists.
 */
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
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
