/* CreateTopics, DeleteTopics and CreatePartitions on this broker's catalog,
 * without a metadata quorum (with one: api/topics_quorum.c).
 *
 * One broker is the whole cluster here: a replication factor above 1 cannot be
 * met (INVALID_REPLICATION_FACTOR, with Kafka's message), and a manual
 * assignment may only name this node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/logger.h"
#include "broker/offload.h"
#include "broker/protocol/create_partitions.h"
#include "broker/protocol/create_topics.h"
#include "broker/protocol/delete_topics.h"
#include "broker/protocol/errors.h"

#define KERR_TOPIC_DELETION_DISABLED 73
#define TOPICS_ERRMSG 512

static struct kstr topics_kstr(const char *s)
{
	struct kstr k = {s, s ? (int32_t)strlen(s) : -1};
	return k;
}

/* Checks one CreateTopics entry; returns KERR_* with a message, and the
 * partition count and validated overrides to create. */
static int16_t topics_check_create(struct broker *b, const struct create_topics_topic *t, char *name,
				   int32_t *partitions, int16_t *rf, struct topic_overrides *ov, char *msg)
{
	int32_t node = (int32_t)b->cfg->node_id;
	if (t->name.len <= 0 || t->name.len > TOPIC_NAME_MAX || !topics_name_valid(t->name.p, (size_t)t->name.len)) {
		snprintf(msg, TOPICS_ERRMSG, "Topic name is illegal, it can't be empty, '.' or '..', longer than %d "
		         "characters, or contain characters other than ASCII alphanumerics, '.', '_' and '-'",
			 TOPIC_NAME_MAX);
		return KERR_INVALID_TOPIC_EXCEPTION;
	}
	memcpy(name, t->name.p, (size_t)t->name.len);
	name[t->name.len] = '\0';
	if (topics_find_cstr(&b->topics, name)) {
		snprintf(msg, TOPICS_ERRMSG, "Topic '%s' already exists.", name);
		return KERR_TOPIC_ALREADY_EXISTS;
	}
	if (t->assignments_count > 0) {
		if (t->num_partitions != -1 || t->replication_factor != -1) {
			snprintf(msg, TOPICS_ERRMSG, "Both numPartitions or replicationFactor and replicasAssignments were set. "
				 "Both cannot be used at the same time.");
			return KERR_INVALID_REQUEST;
		}
		for (int32_t i = 0; i < t->assignments_count; i++) {
			const struct create_topics_assignment *a = &t->assignments[i];
			bool found = false;
			for (int32_t j = 0; j < t->assignments_count; j++)
				found |= t->assignments[j].partition_index == i;
			if (!found) {
				snprintf(msg, TOPICS_ERRMSG, "Partitions should be a consecutive 0-based integer sequence");
				return KERR_INVALID_REPLICA_ASSIGNMENT;
			}
			if (a->broker_ids_count != 1 || a->broker_ids[0] != node) {
				snprintf(msg, TOPICS_ERRMSG, "Replica assignment of partition %d names brokers that are not "
					 "registered (only %d is)", a->partition_index, node);
				return KERR_INVALID_REPLICA_ASSIGNMENT;
			}
		}
		*partitions = t->assignments_count;
		*rf = 1;
	} else {
		*partitions = t->num_partitions == -1 ? (int32_t)b->cfg->num_partitions : t->num_partitions;
		*rf = t->replication_factor == -1 ? (int16_t)b->cfg->default_replication_factor : t->replication_factor;
		if (*partitions <= 0) {
			snprintf(msg, TOPICS_ERRMSG, "Number of partitions must be larger than 0.");
			return KERR_INVALID_PARTITIONS;
		}
		if (*rf <= 0) {
			snprintf(msg, TOPICS_ERRMSG, "Replication factor must be larger than 0.");
			return KERR_INVALID_REPLICATION_FACTOR;
		}
		if (*rf > 1) {
			snprintf(msg, TOPICS_ERRMSG, "Unable to replicate the partition %d time(s): The target replication "
				 "factor of %d cannot be reached because only 1 broker(s) are registered.", *rf, *rf);
			return KERR_INVALID_REPLICATION_FACTOR;
		}
	}
	for (int32_t i = 0; i < t->configs_count; i++) {
		char k[256], v[4096];
		const struct create_topics_config *c = &t->configs[i];
		if (c->name.len < 0 || c->name.len >= (int32_t)sizeof k || c->value.len >= (int32_t)sizeof v) {
			snprintf(msg, TOPICS_ERRMSG, "Invalid config entry");
			return KERR_INVALID_CONFIG;
		}
		memcpy(k, c->name.p, (size_t)c->name.len);
		k[c->name.len] = '\0';
		if (c->value.len < 0) {
			snprintf(msg, TOPICS_ERRMSG, "Null value not supported for topic configs: %s", k);
			return KERR_INVALID_CONFIG;
		}
		memcpy(v, c->value.p, (size_t)c->value.len);
		v[c->value.len] = '\0';
		if (topic_config_validate(k, v, msg, TOPICS_ERRMSG) != 0)
			return KERR_INVALID_CONFIG;
		if (topic_overrides_set(ov, k, v) != 0)
			return KERR_UNKNOWN_SERVER_ERROR;
	}
	return KERR_NONE;
}

void api_topics_describe_created(struct broker *b, const struct topic_overrides *ov,
				 struct create_topics_topic_result *out, char (*vals)[API_TOPICS_CFGVAL])
{
	int n = topic_config_count();
	out->configs = calloc((size_t)n, sizeof *out->configs);
	if (!out->configs) {
		out->configs_count = 0;
		return;
	}
	out->configs_count = n;
	for (int i = 0; i < n; i++) {
		const char *name, *doc;
		int source;
		int8_t type;
		topic_config_describe(i, b->cfg, ov, &name, vals[i], API_TOPICS_CFGVAL, &source, &type, &doc);
		out->configs[i].name = topics_kstr(name);
		out->configs[i].value = topics_kstr(vals[i]);
		out->configs[i].read_only = false;
		out->configs[i].config_source = (int8_t)source;
		out->configs[i].is_sensitive = false;
	}
}

void api_create_topics_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	if (b->metadata != NULL) {
		api_create_topics_quorum(req);
		return;
	}
	struct create_topics_request cr;
	struct create_topics_response resp = {0};
	int16_t v = req->hdr.api_version;
	if (create_topics_request_decode(&req->body, v, &cr) != 0) {
		api_close(req);
		return;
	}
	int32_t n = cr.topics_count;
	int nconf = topic_config_count();
	resp.topics = calloc((size_t)n + 1, sizeof *resp.topics);
	char (*msgs)[TOPICS_ERRMSG] = calloc((size_t)n + 1, sizeof *msgs);
	char (*vals)[API_TOPICS_CFGVAL] = calloc((size_t)(n + 1) * (size_t)nconf, sizeof *vals);
	if (!resp.topics || !msgs || !vals) {
		free(resp.topics);
		free(msgs);
		free(vals);
		create_topics_request_free(&cr);
		api_close(req);
		return;
	}
	resp.topics_count = n;
	for (int32_t i = 0; i < n; i++) {
		const struct create_topics_topic *t = &cr.topics[i];
		struct create_topics_topic_result *out = &resp.topics[i];
		struct topic_overrides ov = {0};
		char name[TOPIC_NAME_MAX + 1];
		int32_t partitions = -1;
		int16_t rf = -1;
		out->name = t->name;
		out->num_partitions = -1;
		out->replication_factor = -1;
		out->configs_count = -1;
		out->error_message.len = -1;
		int16_t err = topics_check_create(b, t, name, &partitions, &rf, &ov, msgs[i]);
		/* The same name twice in one request is refused for both. */
		for (int32_t j = 0; err == KERR_NONE && j < n; j++) {
			if (j != i && cr.topics[j].name.len == t->name.len &&
			    memcmp(cr.topics[j].name.p, t->name.p, (size_t)t->name.len) == 0) {
				snprintf(msgs[i], TOPICS_ERRMSG, "Create topics request from client contains duplicate topic names");
				err = KERR_INVALID_REQUEST;
			}
		}
		struct topic *created = NULL;
		if (err == KERR_NONE && !cr.validate_only) {
			err = (int16_t)topics_create(&b->topics, name, partitions, &ov, broker_now_ms(), &created);
			if (err != KERR_NONE)
				snprintf(msgs[i], TOPICS_ERRMSG, "Cannot create topic %s", name);
			else {
				offload_attach_topic(b, created);
				tlog(TLOG_INFO, "topics", "created topic %s with %d partition(s)", name, partitions);
			}
		}
		out->error_code = err;
		if (err != KERR_NONE) {
			out->error_message = topics_kstr(msgs[i]);
		} else {
			out->num_partitions = partitions;
			out->replication_factor = rf;
			if (created)
				memcpy(out->topic_id, created->id, 16);
			api_topics_describe_created(b, &ov, out, &vals[(size_t)i * (size_t)nconf]);
		}
		topic_overrides_free(&ov);
	}
	struct kwriter w;
	kw_init(&w, 256);
	create_topics_response_encode(&w, v, &resp);
	for (int32_t i = 0; i < n; i++)
		free(resp.topics[i].configs);
	free(resp.topics);
	free(msgs);
	free(vals);
	create_topics_request_free(&cr);
	api_respond(req, &w);
}

void api_delete_topics_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	if (b->metadata != NULL) {
		api_delete_topics_quorum(req);
		return;
	}
	struct delete_topics_request dr;
	struct delete_topics_response resp = {0};
	int16_t v = req->hdr.api_version;
	if (delete_topics_request_decode(&req->body, v, &dr) != 0) {
		api_close(req);
		return;
	}
	resp.responses = calloc((size_t)dr.topics_count + 1, sizeof *resp.responses);
	if (!resp.responses) {
		delete_topics_request_free(&dr);
		api_close(req);
		return;
	}
	resp.responses_count = dr.topics_count;
	for (int32_t i = 0; i < dr.topics_count; i++) {
		struct delete_topics_topic *t = &dr.topics[i];
		struct delete_topics_topic_result *out = &resp.responses[i];
		struct topic *topic;
		out->name = t->name;
		memcpy(out->topic_id, t->topic_id, 16);
		out->error_message.len = -1;
		if (t->name.len >= 0) {
			topic = topics_find(&b->topics, t->name);
			if (!topic) {
				out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
				continue;
			}
		} else {
			topic = topics_find_id(&b->topics, t->topic_id);
			if (!topic) {
				out->error_code = KERR_UNKNOWN_TOPIC_ID;
				continue;
			}
		}
		if (!b->cfg->delete_topic_enable) {
			out->error_code = KERR_TOPIC_DELETION_DISABLED;
			continue;
		}
		memcpy(out->topic_id, topic->id, 16);
		if (t->name.len < 0) {
			/* The name view must outlive the topic we are deleting: the
			 * request names it by id, so answer with the id only. */
			out->name.len = -1;
		}
		out->error_code = (int16_t)broker_delete_topic(b, topic);
	}
	struct kwriter w;
	kw_init(&w, 128);
	delete_topics_response_encode(&w, v, &resp);
	free(resp.responses);
	delete_topics_request_free(&dr);
	api_respond(req, &w);
}

void api_create_partitions_handle(struct api_request *req)
{
	struct broker *b = req->broker;
	if (b->metadata != NULL) {
		api_create_partitions_quorum(req);
		return;
	}
	struct create_partitions_request cr;
	struct create_partitions_response resp = {0};
	int16_t v = req->hdr.api_version;
	int32_t node = (int32_t)b->cfg->node_id;
	if (create_partitions_request_decode(&req->body, v, &cr) != 0) {
		api_close(req);
		return;
	}
	resp.results = calloc((size_t)cr.topics_count + 1, sizeof *resp.results);
	char (*msgs)[TOPICS_ERRMSG] = calloc((size_t)cr.topics_count + 1, sizeof *msgs);
	if (!resp.results || !msgs) {
		free(resp.results);
		free(msgs);
		create_partitions_request_free(&cr);
		api_close(req);
		return;
	}
	resp.results_count = cr.topics_count;
	for (int32_t i = 0; i < cr.topics_count; i++) {
		struct create_partitions_topic *t = &cr.topics[i];
		struct create_partitions_topic_result *out = &resp.results[i];
		out->name = t->name;
		out->error_message.len = -1;
		struct topic *topic = topics_find(&b->topics, t->name);
		int16_t err = KERR_NONE;
		if (!topic) {
			err = KERR_UNKNOWN_TOPIC_OR_PARTITION;
			snprintf(msgs[i], TOPICS_ERRMSG, "The topic '%.*s' does not exist.", t->name.len, t->name.p);
		} else if (t->count <= topic->partition_count) {
			err = KERR_INVALID_PARTITIONS;
			snprintf(msgs[i], TOPICS_ERRMSG, "Topic currently has %d partitions, which is higher than the "
				 "requested %d.", topic->partition_count, t->count);
			if (t->count == topic->partition_count)
				snprintf(msgs[i], TOPICS_ERRMSG, "Topic already has %d partitions.", t->count);
		} else if (t->assignments_count >= 0) {
			if (t->assignments_count != t->count - topic->partition_count) {
				err = KERR_INVALID_REPLICA_ASSIGNMENT;
				snprintf(msgs[i], TOPICS_ERRMSG, "Increasing the number of partitions by %d but %d assignments "
					 "provided.", t->count - topic->partition_count, t->assignments_count);
			}
			for (int32_t j = 0; err == KERR_NONE && j < t->assignments_count; j++) {
				if (t->assignments[j].broker_ids_count != 1 || t->assignments[j].broker_ids[0] != node) {
					err = KERR_INVALID_REPLICA_ASSIGNMENT;
					snprintf(msgs[i], TOPICS_ERRMSG, "Assignment names brokers that are not registered");
				}
			}
		}
		if (err == KERR_NONE && !cr.validate_only) {
			err = (int16_t)topics_add_partitions(&b->topics, topic, t->count, broker_now_ms());
			if (err == KERR_NONE)
				offload_attach_topic(b, topic);
			if (err == KERR_NONE)
				tlog(TLOG_INFO, "topics", "topic %s now has %d partitions", topic->name, t->count);
		}
		out->error_code = err;
		if (err != KERR_NONE)
			out->error_message = topics_kstr(msgs[i]);
	}
	struct kwriter w;
	kw_init(&w, 128);
	create_partitions_response_encode(&w, v, &resp);
	free(resp.results);
	free(msgs);
	create_partitions_request_free(&cr);
	api_respond(req, &w);
}
