#include "broker/protocol/incremental_alter_configs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of each element, so an array count is checked against
 * the bytes left before anything is allocated. Classic: INT16 string lengths
 * and INT32 array counts; flexible: 1-byte compact lengths plus a 1-byte
 * tagged-field section per struct. */
#define IAC_MIN_CONFIG(flex) ((size_t)((flex) ? 1 + 1 + 1 + 1 : 2 + 1 + 2))
#define IAC_MIN_RESOURCE(flex) ((size_t)((flex) ? 1 + 1 + 1 + 1 : 1 + 2 + 4))
#define IAC_MIN_RESPONSE(flex) ((size_t)((flex) ? 2 + 1 + 1 + 1 + 1 : 2 + 2 + 1 + 2))

/* A non-nullable array count: null is malformed. */
static int32_t incremental_alter_configs_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool incremental_alter_configs_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > INCREMENTAL_ALTER_CONFIGS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* ---- request ---- */

static void incremental_alter_configs_resource_decode(struct kreader *r, bool flex,
						      struct incremental_alter_configs_resource *res)
{
	res->resource_type = kr_i8(r);
	kr_str_f(r, flex, &res->resource_name);
	int32_t n = incremental_alter_configs_array_len(r, flex, IAC_MIN_CONFIG(flex));
	res->configs = kr_calloc(r, n, sizeof *res->configs);
	if (r->err)
		return;
	res->configs_count = n;
	for (int32_t i = 0; i < n && !r->err; i++) {
		struct incremental_alter_configs_config *c = &res->configs[i];
		kr_str_f(r, flex, &c->name);
		c->config_operation = kr_i8(r);
		kr_nullable_str_f(r, flex, &c->value);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
}

int incremental_alter_configs_request_decode(struct kreader *r, int16_t version,
					     struct incremental_alter_configs_request *out)
{
	bool flex = version >= INCREMENTAL_ALTER_CONFIGS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!incremental_alter_configs_version_ok(r, version))
		return -1;
	int32_t n = incremental_alter_configs_array_len(r, flex, IAC_MIN_RESOURCE(flex));
	out->resources = kr_calloc(r, n, sizeof *out->resources);
	if (!r->err)
		out->resources_count = n;
	for (int32_t i = 0; i < out->resources_count && !r->err; i++)
		incremental_alter_configs_resource_decode(r, flex, &out->resources[i]);
	out->validate_only = kr_bool(r);
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		incremental_alter_configs_request_free(out);
		return -1;
	}
	return 0;
}

void incremental_alter_configs_request_encode(struct kwriter *w, int16_t version,
					      const struct incremental_alter_configs_request *in)
{
	bool flex = version >= INCREMENTAL_ALTER_CONFIGS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= INCREMENTAL_ALTER_CONFIGS_MAX_VERSION);
	kw_array_len_f(w, flex, in->resources_count < 0 ? 0 : in->resources_count);
	for (int32_t i = 0; i < in->resources_count; i++) {
		const struct incremental_alter_configs_resource *res = &in->resources[i];
		kw_i8(w, res->resource_type);
		kw_kstr_f(w, flex, res->resource_name);
		kw_array_len_f(w, flex, res->configs_count < 0 ? 0 : res->configs_count);
		for (int32_t j = 0; j < res->configs_count; j++) {
			const struct incremental_alter_configs_config *c = &res->configs[j];
			kw_kstr_f(w, flex, c->name);
			kw_i8(w, c->config_operation);
			kw_kstr_f(w, flex, c->value);
			kw_tags_f(w, flex);
		}
		kw_tags_f(w, flex);
	}
	kw_bool(w, in->validate_only);
	kw_tags_f(w, flex);
}

void incremental_alter_configs_request_free(struct incremental_alter_configs_request *req)
{
	for (int32_t i = 0; i < req->resources_count; i++)
		free(req->resources[i].configs);
	free(req->resources);
	req->resources = NULL;
	req->resources_count = 0;
}

/* ---- response ---- */

int incremental_alter_configs_response_decode(struct kreader *r, int16_t version,
					      struct incremental_alter_configs_response *out)
{
	bool flex = version >= INCREMENTAL_ALTER_CONFIGS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!incremental_alter_configs_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	int32_t n = incremental_alter_configs_array_len(r, flex, IAC_MIN_RESPONSE(flex));
	out->responses = kr_calloc(r, n, sizeof *out->responses);
	if (!r->err)
		out->responses_count = n;
	for (int32_t i = 0; i < out->responses_count && !r->err; i++) {
		struct incremental_alter_configs_resource_response *res = &out->responses[i];
		res->error_code = kr_i16(r);
		kr_nullable_str_f(r, flex, &res->error_message);
		res->resource_type = kr_i8(r);
		kr_str_f(r, flex, &res->resource_name);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		incremental_alter_configs_response_free(out);
		return -1;
	}
	return 0;
}

void incremental_alter_configs_response_encode(struct kwriter *w, int16_t version,
					       const struct incremental_alter_configs_response *in)
{
	bool flex = version >= INCREMENTAL_ALTER_CONFIGS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= INCREMENTAL_ALTER_CONFIGS_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, flex, in->responses_count < 0 ? 0 : in->responses_count);
	for (int32_t i = 0; i < in->responses_count; i++) {
		const struct incremental_alter_configs_resource_response *res = &in->responses[i];
		kw_i16(w, res->error_code);
		kw_kstr_f(w, flex, res->error_message);
		kw_i8(w, res->resource_type);
		kw_kstr_f(w, flex, res->resource_name);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void incremental_alter_configs_response_free(struct incremental_alter_configs_response *resp)
{
	free(resp->responses);
	resp->responses = NULL;
	resp->responses_count = 0;
}
