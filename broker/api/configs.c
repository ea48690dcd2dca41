/* DescribeConfigs for topics (overrides over broker defaults) and for this
 * broker (server.properties), and IncrementalAlterConfigs for topics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/api/api.h"
#include "broker/broker_internal.h"
#include "broker/metadata.h"
#include "broker/offload.h"
#include "broker/publisher.h"
#include "broker/protocol/describe_configs.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/incremental_alter_configs.h"

#define CONFIGS_VALLEN 64

static struct kstr configs_kstr(const char *s)
{
	struct kstr k = {s, s ? (int32_t)strlen(s) : -1};
	return k;
}

static bool configs_wanted(const struct describe_configs_resource *res, const char *name)
{
	if (res->configuration_keys_count < 0)
		return true;
	for (int32_t i = 0; i < res->configuration_keys_count; i++)
		if (kstr_eq(res->configuration_keys[i], name))
			return true;
	return false;
}

/* Value storage for one resource's entries: malloc'd, freed after encoding. */
struct configs_vals {
	char (*v)[CONFIGS_VALLEN];
};

static void configs_topic_entries(struct broker *b, const struct describe_configs_request *req,
				  const struct describe_configs_resource *res, struct describe_configs_result *out,
				  struct configs_vals *vals, const struct topic_overrides *ov);

static void configs_topic(struct broker *b, const struct describe_configs_request *req,
			  const struct describe_configs_resource *res, struct describe_configs_result *out,
			  struct configs_vals *vals)
{
	struct topic *t = topics_find(&b->topics, res->resource_name);
	struct topic_overrides image_ov = {0};
	const struct topic_overrides *ov = t ? &t->overrides : NULL;
	if (b->metadata != NULL) {
		/* With a quorum the image is the truth, also for topics this
		 * broker hosts no partition of. */
		char name[TOPIC_NAME_MAX + 1];
		snprintf(name, sizeof name, "%.*s", res->resource_name.len > 0 ? (int)res->resource_name.len : 0,
			 res->resource_name.p);
		struct metadata_image *img = metadata_image(b->metadata);
		bool found = image_topic_by_name(img, name) != NULL;
		if (found && publisher_topic_overrides(img, name, &image_ov) != 0)
			found = false;
		image_unref(img);
		ov = found ? &image_ov : NULL;
	}
	if (!ov) {
		out->error_code = KERR_UNKNOWN_TOPIC_OR_PARTITION;
		out->error_message = configs_kstr("Topic does not exist");
		return;
	}
	configs_topic_entries(b, req, res, out, vals, ov);
	topic_overrides_free(&image_ov);
}

static void configs_topic_entries(struct broker *b, const struct describe_configs_request *req,
				  const struct describe_configs_resource *res, struct describe_configs_result *out,
				  struct configs_vals *vals, const struct topic_overrides *ov)
{
	int n = topic_config_count();
	out->configs = calloc((size_t)n, sizeof *out->configs);
	vals->v = calloc((size_t)n * 2, sizeof *vals->v);
	if (!out->configs || !vals->v) {
		out->error_code = KERR_UNKNOWN_SERVER_ERROR;
		return;
	}
	int k = 0;
	for (int i = 0; i < n; i++) {
		const char *name, *doc;
		int source;
		int8_t type;
		topic_config_describe(i, b->cfg, ov, &name, vals->v[2 * i], CONFIGS_VALLEN, &source, &type, &doc);
		if (!configs_wanted(res, name))
			continue;
		struct describe_configs_config *c = &out->configs[k++];
		c->name = configs_kstr(name);
		c->value = configs_kstr(vals->v[2 * i]);
		c->read_only = false;
		c->is_default = source == DESCRIBE_CONFIGS_SOURCE_DEFAULT_CONFIG;
		c->config_source = (int8_t)source;
		c->is_sensitive = false;
		c->config_type = type;
		c->documentation = req->include_documentation ? configs_kstr(doc) : configs_kstr(NULL);
		c->synonyms_count = 0;
		if (req->include_synonyms && source == DESCRIBE_CONFIGS_SOURCE_TOPIC_CONFIG) {
			/* The topic override is its own first synonym, as Kafka lists it. */
			c->synonyms = calloc(1, sizeof *c->synonyms);
			if (c->synonyms) {
				c->synonyms[0].name = c->name;
				c->synonyms[0].value = c->value;
				c->synonyms[0].source = (int8_t)source;
				c->synonyms_count = 1;
			}
		}
	}
	out->configs_count = k;
}

static void configs_broker(struct broker *b, const struct describe_configs_request *req,
			   const struct describe_configs_resource *res, struct describe_configs_result *out,
			   struct configs_vals *vals)
{
	char self[16];
	snprintf(self, sizeof self, "%d", (int)b->cfg->node_id);
	/* An empty name is the cluster-wide default resource. */
	if (res->resource_name.len > 0 && !kstr_eq(res->resource_name, self)) {
		out->error_code = KERR_INVALID_REQUEST;
		out->error_message = configs_kstr("Unexpected broker id");
		return;
	}
	int n = config_count();
	out->configs = calloc((size_t)n, sizeof *out->configs);
	vals->v = calloc((size_t)n, sizeof *vals->v);
	if (!out->configs || !vals->v) {
		out->error_code = KERR_UNKNOWN_SERVER_ERROR;
		return;
	}
	int k = 0;
	for (int i = 0; i < n; i++) {
		struct config_description d;
		if (!config_describe(b->cfg, i, vals->v[i], CONFIGS_VALLEN, &d))
			break;
		if (!configs_wanted(res, d.name))
			continue;
		struct describe_configs_config *c = &out->configs[k++];
		c->name = configs_kstr(d.name);
		c->value = d.sensitive ? configs_kstr(NULL) : configs_kstr(d.value);
		c->read_only = d.read_only;
		c->is_default = d.is_default;
		c->config_source = d.is_default ? DESCRIBE_CONFIGS_SOURCE_DEFAULT_CONFIG
						: DESCRIBE_CONFIGS_SOURCE_STATIC_BROKER_CONFIG;
		c->is_sensitive = d.sensitive;
		c->config_type = d.config_type;
		c->documentation = req->include_documentation ? configs_kstr(d.doc) : configs_kstr(NULL);
	}
	out->configs_count = k;
}

void api_describe_configs_handle(struct api_request *req)
{
	struct describe_configs_request dr;
	struct describe_configs_response resp = {0};
	int16_t v = req->hdr.api_version;
	if (describe_configs_request_decode(&req->body, v, &dr) != 0) {
		api_close(req);
		return;
	}
	resp.results = calloc((size_t)dr.resources_count + 1, sizeof *resp.results);
	struct configs_vals *vals = calloc((size_t)dr.resources_count + 1, sizeof *vals);
	if (!resp.results || !vals) {
		free(resp.results);
		free(vals);
		describe_configs_request_free(&dr);
		api_close(req);
		return;
	}
	resp.results_count = dr.resources_count;
	for (int32_t i = 0; i < dr.resources_count; i++) {
		const struct describe_configs_resource *res = &dr.resources[i];
		struct describe_configs_result *out = &resp.results[i];
		out->resource_type = res->resource_type;
		out->resource_name = res->resource_name;
		out->error_message.len = -1;
		if (res->resource_type == DESCRIBE_CONFIGS_RESOURCE_TOPIC)
			configs_topic(req->broker, &dr, res, out, &vals[i]);
		else if (res->resource_type == DESCRIBE_CONFIGS_RESOURCE_BROKER)
			configs_broker(req->broker, &dr, res, out, &vals[i]);
		else {
			out->error_code = KERR_INVALID_REQUEST;
			out->error_message = configs_kstr("Unsupported resource type");
		}
	}
	struct kwriter w;
	kw_init(&w, 4096);
	describe_configs_response_encode(&w, v, &resp);
	for (int32_t i = 0; i < resp.results_count; i++) {
		for (int32_t j = 0; j < resp.results[i].configs_count; j++)
			free(resp.results[i].configs[j].synonyms);
		free(resp.results[i].configs);
		free(vals[i].v);
	}
	free(resp.results);
	free(vals);
	describe_configs_request_free(&dr);
	api_respond(req, &w);
}

/* IncrementalAlterConfigs (KIP-339) on topics: SET and DELETE change the
 * overrides; the whole resource is validated before anything changes. Broker
 * configs are static (server.properties) until dynamic broker configs exist. */
static int16_t configs_alter_topic(struct broker *b, const struct incremental_alter_configs_resource *res,
				   bool validate_only, char *msg, size_t msglen)
{
	struct topic *t = topics_find(&b->topics, res->resource_name);
	if (!t) {
		snprintf(msg, msglen, "Topic %.*s does not exist", res->resource_name.len, res->resource_name.p);
		return KERR_UNKNOWN_TOPIC_OR_PARTITION;
	}
	struct topic_overrides ov = {0};
	int16_t err = KERR_NONE;
	for (int i = 0; i < t->overrides.count; i++)
		if (topic_overrides_set(&ov, t->overrides.items[i].name, t->overrides.items[i].value) != 0)
			err = KERR_UNKNOWN_SERVER_ERROR;
	for (int32_t i = 0; err == KERR_NONE && i < res->configs_count; i++) {
		const struct incremental_alter_configs_config *c = &res->configs[i];
		char k[256], v[4096];
		if (c->name.len < 0 || c->name.len >= (int32_t)sizeof k || c->value.len >= (int32_t)sizeof v) {
			snprintf(msg, msglen, "Invalid config entry");
			err = KERR_INVALID_CONFIG;
			break;
		}
		memcpy(k, c->name.p, (size_t)c->name.len);
		k[c->name.len] = '\0';
		if (c->value.len >= 0)
			memcpy(v, c->value.p, (size_t)c->value.len);
		v[c->value.len >= 0 ? c->value.len : 0] = '\0';
		switch (c->config_operation) {
		case INCREMENTAL_ALTER_CONFIGS_OP_SET:
			if (c->value.len < 0 || topic_config_validate(k, v, msg, msglen) != 0) {
				if (c->value.len < 0)
					snprintf(msg, msglen, "Null value not supported for: %s", k);
				err = KERR_INVALID_CONFIG;
			} else if (topic_overrides_set(&ov, k, v) != 0) {
				err = KERR_UNKNOWN_SERVER_ERROR;
			}
			break;
		case INCREMENTAL_ALTER_CONFIGS_OP_DELETE:
			if (topic_config_validate(k, "0", msg, msglen) != 0 && strstr(msg, "Unknown")) {
				err = KERR_INVALID_CONFIG;
				break;
			}
			topic_overrides_remove(&ov, k);
			break;
		default:
			snprintf(msg, msglen, "Config operation %d on %s is not supported: it is not a list config",
				 c->config_operation, k);
			err = KERR_INVALID_CONFIG;
			break;
		}
	}
	if (err == KERR_NONE && !validate_only) {
		err = (int16_t)topics_set_overrides(&b->topics, t, &ov);
		if (err == KERR_NONE)
			offload_attach_topic(b, t);
	}
	topic_overrides_free(&ov);
	return err;
}

void api_incremental_alter_configs_handle(struct api_request *req)
{
	if (req->broker->metadata != NULL) {
		api_incremental_alter_configs_quorum(req);
		return;
	}
	struct incremental_alter_configs_request ar;
	struct incremental_alter_configs_response resp = {0};
	int16_t v = req->hdr.api_version;
	if (incremental_alter_configs_request_decode(&req->body, v, &ar) != 0) {
		api_close(req);
		return;
	}
	resp.responses = calloc((size_t)ar.resources_count + 1, sizeof *resp.responses);
	char (*msgs)[512] = calloc((size_t)ar.resources_count + 1, sizeof *msgs);
	if (!resp.responses || !msgs) {
		free(resp.responses);
		free(msgs);
		incremental_alter_configs_request_free(&ar);
		api_close(req);
		return;
	}
	resp.responses_count = ar.resources_count;
	for (int32_t i = 0; i < ar.resources_count; i++) {
		const struct incremental_alter_configs_resource *res = &ar.resources[i];
		struct incremental_alter_configs_resource_response *out = &resp.responses[i];
		out->resource_type = res->resource_type;
		out->resource_name = res->resource_name;
		if (res->resource_type == DESCRIBE_CONFIGS_RESOURCE_TOPIC) {
			out->error_code = configs_alter_topic(req->broker, res, ar.validate_only, msgs[i], sizeof msgs[i]);
		} else {
			snprintf(msgs[i], sizeof msgs[i], "Dynamic broker configs are not supported: edit server.properties");
			out->error_code = KERR_INVALID_REQUEST;
		}
		out->error_message = out->error_code == KERR_NONE ? configs_kstr(NULL) : configs_kstr(msgs[i]);
	}
	struct kwriter w;
	kw_init(&w, 256);
	incremental_alter_configs_response_encode(&w, v, &resp);
	free(resp.responses);
	free(msgs);
	incremental_alter_configs_request_free(&ar);
	api_respond(req, &w);
}
