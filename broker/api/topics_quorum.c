/* CreateTopics, DeleteTopics and CreatePartitions with a metadata quorum.
 *
 * The active controller (raft/controller.h) decides; this file turns the
 * wire request into the controller's input, and its output into the
 * response once the records committed. A broker that is not the active
 * controller forwards the request (api/forward.c), or answers
 * NOT_CONTROLLER when it cannot: clients then refresh metadata and retry.
 * Local logs are created and deleted later, by every replica, from the
 * image (broker/publisher.c), as in KRaft.
 *
 * Memory: a call's struct owns the decoded request (views into the frame,
 * which lives as long as the request) and the NUL-terminated copies the
 * controller reads; everything goes when the response is sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/controller_channel.h"
#include "broker/controller_host.h"
#include "broker/logger.h"
#include "broker/protocol/create_partitions.h"
#include "broker/protocol/create_topics.h"
#include "broker/protocol/delete_topics.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/header.h"
#include "raft/controller.h"

#define KERR_TOPIC_DELETION_DISABLED 73

static struct kstr tq_kstr(const char *s)
{
	struct kstr k = {s, s ? (int32_t)strlen(s) : -1};
	return k;
}

/* A NUL-terminated copy of a wire string (NULL for a null one, or no memory:
 * *oom set). */
static char *tq_strdup(struct kstr s, bool *oom)
{
	if (s.len < 0)
		return NULL;
	char *c = strndup(s.p, (size_t)s.len);
	if (c == NULL)
		*oom = true;
	return c;
}

/* ---- CreateTopics ---------------------------------------------------------- */

struct create_call {
	struct api_request *req;
	struct create_topics_request cr;
	int32_t n;
	struct controller_new_topic *topics;       /* [n] */
	struct controller_topic_config **configs;  /* [n][configs_count] */
	struct controller_assignment **assignments; /* [n][assignments_count] */
};

static void create_call_free(struct create_call *c)
{
	for (int32_t i = 0; i < c->n; i++) {
		free((char *)c->topics[i].name);
		for (size_t j = 0; c->configs[i] && j < c->topics[i].n_configs; j++) {
			free((char *)c->configs[i][j].name);
			free((char *)c->configs[i][j].value);
		}
		free(c->configs[i]);
		free(c->assignments[i]);
	}
	free(c->topics);
	free(c->configs);
	free(c->assignments);
	create_topics_request_free(&c->cr);
	free(c);
}

/* Answers every topic; `top` (KERR_NOT_CONTROLLER after a failed commit)
 * replaces the success of topics that had none. */
static void create_call_respond(struct create_call *c, int16_t top)
{
	struct api_request *req = c->req;
	struct broker *b = req->broker;
	int16_t v = req->hdr.api_version;
	int32_t n = c->n;
	int nconf = topic_config_count();
	struct create_topics_response resp = {0};
	resp.topics = calloc((size_t)n + 1, sizeof *resp.topics);
	char (*vals)[API_TOPICS_CFGVAL] = calloc((size_t)(n + 1) * (size_t)nconf, sizeof *vals);
	if (resp.topics == NULL || vals == NULL) {
		free(resp.topics);
		free(vals);
		create_call_free(c);
		api_close(req);
		return;
	}
	resp.topics_count = n;
	for (int32_t i = 0; i < n; i++) {
		struct controller_new_topic *t = &c->topics[i];
		struct create_topics_topic_result *out = &resp.topics[i];
		out->name = c->cr.topics[i].name;
		out->error_code = t->error_code != KERR_NONE ? t->error_code : top;
		out->num_partitions = -1;
		out->replication_factor = -1;
		out->configs_count = -1;
		out->error_message.len = -1;
		if (out->error_code != KERR_NONE) {
			if (t->error_code != KERR_NONE && t->error_message[0] != '\0')
				out->error_message = tq_kstr(t->error_message);
			continue;
		}
		memcpy(out->topic_id, t->topic_id, 16);
		out->num_partitions = t->num_partitions_out;
		out->replication_factor = t->replication_factor_out;
		struct topic_overrides ov = {0};
		for (size_t j = 0; j < t->n_configs; j++)
			(void)topic_overrides_set(&ov, t->configs[j].name, t->configs[j].value);
		api_topics_describe_created(b, &ov, out, &vals[(size_t)i * (size_t)nconf]);
		topic_overrides_free(&ov);
		if (!c->cr.validate_only)
			tlog(TLOG_INFO, "topics", "created topic %s: %d partition(s), replication factor %d", t->name,
			     (int)t->num_partitions_out, (int)t->replication_factor_out);
	}
	struct kwriter w;
	kw_init(&w, 256);
	create_topics_response_encode(&w, v, &resp);
	for (int32_t i = 0; i < n; i++)
		free(resp.topics[i].configs);
	free(resp.topics);
	free(vals);
	create_call_free(c);
	api_respond(req, &w);
}

static void create_call_done(void *arg, int16_t error)
{
	create_call_respond(arg, error);
}

/* Decodes the request into a call. NULL after closing the connection
 * (malformed) or answering (no memory). */
static struct create_call *create_call_new(struct api_request *req)
{
	struct create_call *c = calloc(1, sizeof *c);
	if (c == NULL) {
		api_close(req);
		return NULL;
	}
	c->req = req;
	if (create_topics_request_decode(&req->body, req->hdr.api_version, &c->cr) != 0) {
		free(c);
		api_close(req);
		return NULL;
	}
	int32_t n = c->cr.topics_count > 0 ? c->cr.topics_count : 0;
	c->topics = calloc((size_t)n + 1, sizeof *c->topics);
	c->configs = calloc((size_t)n + 1, sizeof *c->configs);
	c->assignments = calloc((size_t)n + 1, sizeof *c->assignments);
	bool oom = c->topics == NULL || c->configs == NULL || c->assignments == NULL;
	for (int32_t i = 0; !oom && i < n; i++) {
		const struct create_topics_topic *in = &c->cr.topics[i];
		struct controller_new_topic *t = &c->topics[i];
		c->n = i + 1;
		t->name = in->name.len >= 0 ? tq_strdup(in->name, &oom) : strdup("");
		if (t->name == NULL)
			oom = true;
		t->num_partitions = in->num_partitions;
		t->replication_factor = in->replication_factor;
		if (in->configs_count > 0) {
			c->configs[i] = calloc((size_t)in->configs_count, sizeof *c->configs[i]);
			oom |= c->configs[i] == NULL;
			for (int32_t j = 0; !oom && j < in->configs_count; j++) {
				c->configs[i][j].name = tq_strdup(in->configs[j].name, &oom);
				c->configs[i][j].value = tq_strdup(in->configs[j].value, &oom);
				t->n_configs = (size_t)j + 1;
			}
			t->configs = c->configs[i];
		}
		if (in->assignments_count > 0) {
			c->assignments[i] = calloc((size_t)in->assignments_count, sizeof *c->assignments[i]);
			oom |= c->assignments[i] == NULL;
			for (int32_t j = 0; !oom && j < in->assignments_count; j++) {
				const struct create_topics_assignment *a = &in->assignments[j];
				c->assignments[i][j] = (struct controller_assignment){
					a->partition_index, a->broker_ids, a->broker_ids_count > 0 ? (size_t)a->broker_ids_count : 0};
			}
			t->assignments = c->assignments[i];
			t->n_assignments = (size_t)in->assignments_count;
		}
	}
	if (oom) {
		create_call_free(c);
		/* Answer rather than close: the request itself was fine. */
		api_close(req);
		return NULL;
	}
	return c;
}

static void create_not_controller(struct api_request *req)
{
	struct create_call *c = create_call_new(req);
	if (c != NULL)
		create_call_respond(c, KERR_NOT_CONTROLLER);
}

void api_create_topics_quorum(struct api_request *req)
{
	struct broker *b = req->broker;
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl == NULL) {
		if (!api_forward(req, create_not_controller))
			create_not_controller(req);
		return;
	}
	struct create_call *c = create_call_new(req);
	if (c == NULL)
		return;
	struct controller_proposal *p = NULL;
	int rc = controller_create_topics(ctl, c->topics, (size_t)c->n, c->cr.validate_only, controller_host_now_ms(), &p);
	if (rc != 0 || controller_host_commit(b->controller, p, create_call_done, c) != 0)
		create_call_respond(c, rc != 0 ? KERR_UNKNOWN_SERVER_ERROR : KERR_NOT_CONTROLLER);
}

/* ---- DeleteTopics ---------------------------------------------------------- */

struct delete_call {
	struct api_request *req;
	struct delete_topics_request dr;
	int32_t n;
	struct controller_delete_topic *topics; /* [n] */
};

static void delete_call_free(struct delete_call *c)
{
	for (int32_t i = 0; i < c->n; i++)
		free((char *)c->topics[i].name);
	free(c->topics);
	delete_topics_request_free(&c->dr);
	free(c);
}

static void delete_call_respond(struct delete_call *c, int16_t top)
{
	struct api_request *req = c->req;
	struct delete_topics_response resp = {0};
	resp.responses = calloc((size_t)c->n + 1, sizeof *resp.responses);
	if (resp.responses == NULL) {
		delete_call_free(c);
		api_close(req);
		return;
	}
	resp.responses_count = c->n;
	for (int32_t i = 0; i < c->n; i++) {
		struct delete_topics_topic_result *out = &resp.responses[i];
		const struct controller_delete_topic *t = &c->topics[i];
		out->name = c->dr.topics[i].name;
		out->error_message.len = -1;
		out->error_code = t->error_code != KERR_NONE ? t->error_code : top;
		memcpy(out->topic_id, out->error_code == KERR_NONE ? t->topic_id_out : c->dr.topics[i].topic_id, 16);
		if (out->error_code == KERR_NONE)
			tlog(TLOG_INFO, "topics", "deleted topic %s", t->name != NULL ? t->name : "(by id)");
	}
	struct kwriter w;
	kw_init(&w, 128);
	delete_topics_response_encode(&w, req->hdr.api_version, &resp);
	free(resp.responses);
	delete_call_free(c);
	api_respond(req, &w);
}

static void delete_call_done(void *arg, int16_t error)
{
	delete_call_respond(arg, error);
}

static struct delete_call *delete_call_new(struct api_request *req)
{
	struct delete_call *c = calloc(1, sizeof *c);
	if (c == NULL) {
		api_close(req);
		return NULL;
	}
	c->req = req;
	if (delete_topics_request_decode(&req->body, req->hdr.api_version, &c->dr) != 0) {
		free(c);
		api_close(req);
		return NULL;
	}
	int32_t n = c->dr.topics_count > 0 ? c->dr.topics_count : 0;
	c->topics = calloc((size_t)n + 1, sizeof *c->topics);
	bool oom = c->topics == NULL;
	for (int32_t i = 0; !oom && i < n; i++) {
		c->n = i + 1;
		c->topics[i].name = tq_strdup(c->dr.topics[i].name, &oom);
		memcpy(c->topics[i].topic_id, c->dr.topics[i].topic_id, 16);
	}
	if (oom) {
		delete_call_free(c);
		api_close(req);
		return NULL;
	}
	return c;
}

static void delete_not_controller(struct api_request *req)
{
	struct delete_call *c = delete_call_new(req);
	if (c != NULL)
		delete_call_respond(c, KERR_NOT_CONTROLLER);
}

void api_delete_topics_quorum(struct api_request *req)
{
	struct broker *b = req->broker;
	if (!b->cfg->delete_topic_enable) {
		struct delete_call *c = delete_call_new(req);
		if (c != NULL)
			delete_call_respond(c, KERR_TOPIC_DELETION_DISABLED);
		return;
	}
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl == NULL) {
		if (!api_forward(req, delete_not_controller))
			delete_not_controller(req);
		return;
	}
	struct delete_call *c = delete_call_new(req);
	if (c == NULL)
		return;
	struct controller_proposal *p = NULL;
	int rc = controller_delete_topics(ctl, c->topics, (size_t)c->n, controller_host_now_ms(), &p);
	if (rc != 0 || controller_host_commit(b->controller, p, delete_call_done, c) != 0)
		delete_call_respond(c, rc != 0 ? KERR_UNKNOWN_SERVER_ERROR : KERR_NOT_CONTROLLER);
}

/* ---- CreatePartitions ------------------------------------------------------ */

struct partitions_call {
	struct api_request *req;
	struct create_partitions_request cr;
	int32_t n;
	struct controller_new_partitions *topics;   /* [n] */
	struct controller_assignment **assignments; /* [n][assignments_count] */
};

static void partitions_call_free(struct partitions_call *c)
{
	for (int32_t i = 0; i < c->n; i++) {
		free((char *)c->topics[i].name);
		free(c->assignments[i]);
	}
	free(c->topics);
	free(c->assignments);
	create_partitions_request_free(&c->cr);
	free(c);
}

static void partitions_call_respond(struct partitions_call *c, int16_t top)
{
	struct api_request *req = c->req;
	struct create_partitions_response resp = {0};
	resp.results = calloc((size_t)c->n + 1, sizeof *resp.results);
	if (resp.results == NULL) {
		partitions_call_free(c);
		api_close(req);
		return;
	}
	resp.results_count = c->n;
	for (int32_t i = 0; i < c->n; i++) {
		struct create_partitions_topic_result *out = &resp.results[i];
		const struct controller_new_partitions *t = &c->topics[i];
		out->name = c->cr.topics[i].name;
		out->error_code = t->error_code != KERR_NONE ? t->error_code : top;
		out->error_message.len = -1;
		if (t->error_code != KERR_NONE && t->error_message[0] != '\0')
			out->error_message = tq_kstr(t->error_message);
		if (out->error_code == KERR_NONE && !c->cr.validate_only)
			tlog(TLOG_INFO, "topics", "topic %s now has %d partitions", t->name, (int)t->count);
	}
	struct kwriter w;
	kw_init(&w, 128);
	create_partitions_response_encode(&w, req->hdr.api_version, &resp);
	free(resp.results);
	partitions_call_free(c);
	api_respond(req, &w);
}

static void partitions_call_done(void *arg, int16_t error)
{
	partitions_call_respond(arg, error);
}

static struct partitions_call *partitions_call_new(struct api_request *req)
{
	struct partitions_call *c = calloc(1, sizeof *c);
	if (c == NULL) {
		api_close(req);
		return NULL;
	}
	c->req = req;
	if (create_partitions_request_decode(&req->body, req->hdr.api_version, &c->cr) != 0) {
		free(c);
		api_close(req);
		return NULL;
	}
	int32_t n = c->cr.topics_count > 0 ? c->cr.topics_count : 0;
	c->topics = calloc((size_t)n + 1, sizeof *c->topics);
	c->assignments = calloc((size_t)n + 1, sizeof *c->assignments);
	bool oom = c->topics == NULL || c->assignments == NULL;
	for (int32_t i = 0; !oom && i < n; i++) {
		const struct create_partitions_topic *in = &c->cr.topics[i];
		struct controller_new_partitions *t = &c->topics[i];
		c->n = i + 1;
		t->name = in->name.len >= 0 ? tq_strdup(in->name, &oom) : strdup("");
		if (t->name == NULL)
			oom = true;
		t->count = in->count;
		if (in->assignments_count >= 0) {
			c->assignments[i] = calloc((size_t)in->assignments_count + 1, sizeof *c->assignments[i]);
			oom |= c->assignments[i] == NULL;
			for (int32_t j = 0; !oom && j < in->assignments_count; j++) {
				const struct create_partitions_assignment *a = &in->assignments[j];
				c->assignments[i][j] = (struct controller_assignment){
					j, a->broker_ids, a->broker_ids_count > 0 ? (size_t)a->broker_ids_count : 0};
			}
			t->assignments = c->assignments[i];
			t->n_assignments = (size_t)in->assignments_count;
		}
	}
	if (oom) {
		partitions_call_free(c);
		api_close(req);
		return NULL;
	}
	return c;
}

static void partitions_not_controller(struct api_request *req)
{
	struct partitions_call *c = partitions_call_new(req);
	if (c != NULL)
		partitions_call_respond(c, KERR_NOT_CONTROLLER);
}

void api_create_partitions_quorum(struct api_request *req)
{
	struct broker *b = req->broker;
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl == NULL) {
		if (!api_forward(req, partitions_not_controller))
			partitions_not_controller(req);
		return;
	}
	struct partitions_call *c = partitions_call_new(req);
	if (c == NULL)
		return;
	struct controller_proposal *p = NULL;
	int rc = controller_create_partitions(ctl, c->topics, (size_t)c->n, c->cr.validate_only,
					      controller_host_now_ms(), &p);
	if (rc != 0 || controller_host_commit(b->controller, p, partitions_call_done, c) != 0)
		partitions_call_respond(c, rc != 0 ? KERR_UNKNOWN_SERVER_ERROR : KERR_NOT_CONTROLLER);
}

/* ---- auto-creation (Metadata with allow_auto_topic_creation) ----------------- */

static void auto_create_ignore(void *arg, int16_t error)
{
	(void)arg;
	(void)error;
}

static void auto_create_remote_cb(void *arg, int status, const uint8_t *resp, size_t len)
{
	(void)arg;
	(void)status;
	(void)resp;
	(void)len;
}

#define AUTO_CREATE_VERSION 5
#define AUTO_CREATE_CLIENT_ID "tern-auto-create"

void api_auto_create_topic_quorum(struct broker *b, const char *name)
{
	api_create_topic_quorum(b, name, -1, -1, NULL, 0);
}

void api_create_topic_quorum(struct broker *b, const char *name, int32_t partitions, int16_t replication_factor,
			     const struct controller_topic_config *configs, size_t n_configs)
{
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl != NULL) {
		struct controller_new_topic t = {.name = name, .num_partitions = partitions,
						 .replication_factor = replication_factor, .configs = configs,
						 .n_configs = n_configs};
		struct controller_proposal *p = NULL;
		if (controller_create_topics(ctl, &t, 1, false, controller_host_now_ms(), &p) == 0)
			(void)controller_host_commit(b->controller, p, auto_create_ignore, NULL);
		if (t.error_code == KERR_NONE)
			tlog(TLOG_INFO, "topics", "auto-creating topic %s", name);
		return;
	}
	/* Another broker leads: ask it with a CreateTopics of our own (its
	 * answer does not matter; the client retries its Metadata). */
	struct create_topics_config cfgs[8];
	size_t nc = n_configs < 8 ? n_configs : 8;
	for (size_t i = 0; i < nc; i++)
		cfgs[i] = (struct create_topics_config){tq_kstr(configs[i].name), tq_kstr(configs[i].value)};
	struct create_topics_topic topic = {
		.name = {name, (int32_t)strlen(name)},
		.num_partitions = partitions,
		.replication_factor = replication_factor,
		.configs = nc ? cfgs : NULL,
		.configs_count = (int32_t)nc,
	};
	struct create_topics_request req = {.topics = &topic, .topics_count = 1, .timeout_ms = 30000};
	struct request_header h = {
		.api_key = CREATE_TOPICS_API_KEY,
		.api_version = AUTO_CREATE_VERSION,
		.client_id = {AUTO_CREATE_CLIENT_ID, (int32_t)strlen(AUTO_CREATE_CLIENT_ID)},
	};
	struct kwriter w;
	kw_init(&w, 128);
	request_header_encode(&w, 2, &h);
	create_topics_request_encode(&w, AUTO_CREATE_VERSION, &req);
	if (kw_ok(&w))
		(void)controller_channel_send(b->channel, w.buf, w.len, auto_create_remote_cb, NULL);
	kw_free(&w);
}
