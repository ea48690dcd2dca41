/* IncrementalAlterConfigs with a metadata quorum: topic configs are Config
 * records decided by the active controller (forwarded to it from any other
 * broker, as CreateTopics is: see api/topics_quorum.c). Every broker applies
 * them to its logs from the image (broker/publisher.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/controller_host.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/incremental_alter_configs.h"
#include "raft/controller.h"

struct alter_call {
	struct api_request *req;
	struct incremental_alter_configs_request ar;
	int32_t n;
	struct controller_alter_configs *res; /* [n] */
	struct controller_config_op **ops;    /* [n][configs_count] */
};

static void alter_call_free(struct alter_call *c)
{
	for (int32_t i = 0; i < c->n; i++) {
		free((char *)c->res[i].resource_name);
		for (size_t j = 0; c->ops[i] && j < c->res[i].n_ops; j++) {
			free((char *)c->ops[i][j].name);
			free((char *)c->ops[i][j].value);
		}
		free(c->ops[i]);
	}
	free(c->res);
	free(c->ops);
	incremental_alter_configs_request_free(&c->ar);
	free(c);
}

static void alter_call_respond(struct alter_call *c, int16_t top)
{
	struct api_request *req = c->req;
	struct incremental_alter_configs_response resp = {0};
	resp.responses = calloc((size_t)c->n + 1, sizeof *resp.responses);
	if (resp.responses == NULL) {
		alter_call_free(c);
		api_close(req);
		return;
	}
	resp.responses_count = c->n;
	for (int32_t i = 0; i < c->n; i++) {
		const struct controller_alter_configs *r = &c->res[i];
		struct incremental_alter_configs_resource_response *out = &resp.responses[i];
		out->resource_type = c->ar.resources[i].resource_type;
		out->resource_name = c->ar.resources[i].resource_name;
		out->error_code = r->error_code != KERR_NONE ? r->error_code : top;
		out->error_message.p = NULL;
		out->error_message.len = -1;
		if (r->error_code != KERR_NONE && r->error_message[0] != '\0') {
			out->error_message.p = r->error_message;
			out->error_message.len = (int32_t)strlen(r->error_message);
		}
	}
	struct kwriter w;
	kw_init(&w, 256);
	incremental_alter_configs_response_encode(&w, req->hdr.api_version, &resp);
	free(resp.responses);
	alter_call_free(c);
	api_respond(req, &w);
}

static void alter_call_done(void *arg, int16_t error)
{
	alter_call_respond(arg, error);
}

static char *alter_strdup(struct kstr s, bool *oom)
{
	if (s.len < 0)
		return NULL;
	char *c = strndup(s.p, (size_t)s.len);
	if (c == NULL)
		*oom = true;
	return c;
}

static struct alter_call *alter_call_new(struct api_request *req)
{
	struct alter_call *c = calloc(1, sizeof *c);
	if (c == NULL) {
		api_close(req);
		return NULL;
	}
	c->req = req;
	if (incremental_alter_configs_request_decode(&req->body, req->hdr.api_version, &c->ar) != 0) {
		free(c);
		api_close(req);
		return NULL;
	}
	int32_t n = c->ar.resources_count > 0 ? c->ar.resources_count : 0;
	c->res = calloc((size_t)n + 1, sizeof *c->res);
	c->ops = calloc((size_t)n + 1, sizeof *c->ops);
	bool oom = c->res == NULL || c->ops == NULL;
	for (int32_t i = 0; !oom && i < n; i++) {
		const struct incremental_alter_configs_resource *in = &c->ar.resources[i];
		struct controller_alter_configs *r = &c->res[i];
		c->n = i + 1;
		r->resource_type = in->resource_type;
		r->resource_name = alter_strdup(in->resource_name, &oom);
		if (in->configs_count > 0) {
			c->ops[i] = calloc((size_t)in->configs_count, sizeof *c->ops[i]);
			oom |= c->ops[i] == NULL;
			for (int32_t j = 0; !oom && j < in->configs_count; j++) {
				c->ops[i][j].name = alter_strdup(in->configs[j].name, &oom);
				c->ops[i][j].op = in->configs[j].config_operation;
				c->ops[i][j].value = alter_strdup(in->configs[j].value, &oom);
				r->n_ops = (size_t)j + 1;
			}
			r->ops = c->ops[i];
		}
	}
	if (oom) {
		alter_call_free(c);
		api_close(req);
		return NULL;
	}
	return c;
}

static void alter_not_controller(struct api_request *req)
{
	struct alter_call *c = alter_call_new(req);
	if (c != NULL)
		alter_call_respond(c, KERR_NOT_CONTROLLER);
}

void api_incremental_alter_configs_quorum(struct api_request *req)
{
	struct broker *b = req->broker;
	struct controller *ctl = controller_host_active(b->controller);
	if (ctl == NULL) {
		if (!api_forward(req, alter_not_controller))
			alter_not_controller(req);
		return;
	}
	struct alter_call *c = alter_call_new(req);
	if (c == NULL)
		return;
	struct controller_proposal *p = NULL;
	int rc = controller_alter_configs(ctl, c->res, (size_t)c->n, c->ar.validate_only, controller_host_now_ms(), &p);
	if (rc != 0 || controller_host_commit(b->controller, p, alter_call_done, c) != 0)
		alter_call_respond(c, rc != 0 ? KERR_UNKNOWN_SERVER_ERROR : KERR_NOT_CONTROLLER);
}
