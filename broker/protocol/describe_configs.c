#include "broker/protocol/describe_configs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of each element, so an array count is checked against
 * the bytes left before anything is allocated. Classic: INT16 string lengths
 * and INT32 array counts; flexible: 1-byte compact lengths plus a 1-byte
 * tagged-field section per struct. */
#define DC_MIN_KEY(flex) ((size_t)((flex) ? 1 : 2))
#define DC_MIN_RESOURCE(flex) ((size_t)((flex) ? 1 + 1 + 1 + 1 : 1 + 2 + 4))
#define DC_MIN_SYNONYM(flex) ((size_t)((flex) ? 1 + 1 + 1 + 1 : 2 + 2 + 1))

static size_t describe_configs_min_config(int16_t version, bool flex)
{
	size_t n = flex ? 1 + 1 : 2 + 2; /* name, value */
	n += 1 + 1 + 1;                  /* read_only, is_default or config_source, is_sensitive */
	if (version >= 1)
		n += flex ? 1 : 4; /* synonyms */
	if (version >= 3)
		n += 1 + (flex ? 1 : 2); /* config_type, documentation */
	if (flex)
		n += 1;
	return n;
}

static size_t describe_configs_min_result(bool flex)
{
	/* error_code, error_message, resource_type, resource_name, configs (, tags) */
	return flex ? 2 + 1 + 1 + 1 + 1 + 1 : 2 + 2 + 1 + 2 + 4;
}

/* A non-nullable array count: null is malformed. */
static int32_t describe_configs_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool describe_configs_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > DESCRIBE_CONFIGS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* ---- request ---- */

static void describe_configs_resource_decode(struct kreader *r, bool flex, struct describe_configs_resource *res)
{
	res->resource_type = kr_i8(r);
	kr_str_f(r, flex, &res->resource_name);
	int32_t n = kr_array_len_f(r, flex, DC_MIN_KEY(flex)); /* nullable: -1 = all keys */
	res->configuration_keys = kr_calloc(r, n, sizeof *res->configuration_keys);
	if (r->err)
		return;
	res->configuration_keys_count = n;
	for (int32_t i = 0; i < n; i++)
		kr_str_f(r, flex, &res->configuration_keys[i]);
	if (flex)
		kr_skip_tags(r);
}

int describe_configs_request_decode(struct kreader *r, int16_t version, struct describe_configs_request *out)
{
	bool flex = version >= DESCRIBE_CONFIGS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!describe_configs_version_ok(r, version))
		return -1;
	int32_t n = describe_configs_array_len(r, flex, DC_MIN_RESOURCE(flex));
	out->resources = kr_calloc(r, n, sizeof *out->resources);
	if (!r->err)
		out->resources_count = n;
	for (int32_t i = 0; i < out->resources_count && !r->err; i++)
		describe_configs_resource_decode(r, flex, &out->resources[i]);
	if (version >= 1)
		out->include_synonyms = kr_bool(r);
	if (version >= 3)
		out->include_documentation = kr_bool(r);
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		describe_configs_request_free(out);
		return -1;
	}
	return 0;
}

void describe_configs_request_encode(struct kwriter *w, int16_t version, const struct describe_configs_request *in)
{
	bool flex = version >= DESCRIBE_CONFIGS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= DESCRIBE_CONFIGS_MAX_VERSION);
	kw_array_len_f(w, flex, in->resources_count < 0 ? 0 : in->resources_count);
	for (int32_t i = 0; i < in->resources_count; i++) {
		const struct describe_configs_resource *res = &in->resources[i];
		kw_i8(w, res->resource_type);
		kw_kstr_f(w, flex, res->resource_name);
		kw_array_len_f(w, flex, res->configuration_keys_count);
		for (int32_t j = 0; j < res->configuration_keys_count; j++)
			kw_kstr_f(w, flex, res->configuration_keys[j]);
		kw_tags_f(w, flex);
	}
	if (version >= 1)
		kw_bool(w, in->include_synonyms);
	if (version >= 3)
		kw_bool(w, in->include_documentation);
	kw_tags_f(w, flex);
}

void describe_configs_request_free(struct describe_configs_request *req)
{
	for (int32_t i = 0; i < req->resources_count; i++)
		free(req->resources[i].configuration_keys);
	free(req->resources);
	req->resources = NULL;
	req->resources_count = 0;
}

/* ---- response ---- */

static void describe_configs_config_decode(struct kreader *r, int16_t version, bool flex,
					   struct describe_configs_config *c)
{
	kr_str_f(r, flex, &c->name);
	kr_nullable_str_f(r, flex, &c->value);
	c->read_only = kr_bool(r);
	c->config_source = -1;
	if (version == 0)
		c->is_default = kr_bool(r);
	else
		c->config_source = kr_i8(r);
	c->is_sensitive = kr_bool(r);
	if (version >= 1) {
		int32_t n = describe_configs_array_len(r, flex, DC_MIN_SYNONYM(flex));
		c->synonyms = kr_calloc(r, n, sizeof *c->synonyms);
		if (r->err)
			return;
		c->synonyms_count = n;
		for (int32_t i = 0; i < n && !r->err; i++) {
			struct describe_configs_synonym *s = &c->synonyms[i];
			kr_str_f(r, flex, &s->name);
			kr_nullable_str_f(r, flex, &s->value);
			s->source = kr_i8(r);
			if (flex)
				kr_skip_tags(r);
		}
	}
	if (version >= 3) {
		c->config_type = kr_i8(r);
		kr_nullable_str_f(r, flex, &c->documentation);
	} else {
		c->documentation = (struct kstr){"", 0};
	}
	if (flex)
		kr_skip_tags(r);
}

static void describe_configs_result_decode(struct kreader *r, int16_t version, bool flex,
					   struct describe_configs_result *res)
{
	res->error_code = kr_i16(r);
	kr_nullable_str_f(r, flex, &res->error_message);
	res->resource_type = kr_i8(r);
	kr_str_f(r, flex, &res->resource_name);
	int32_t n = describe_configs_array_len(r, flex, describe_configs_min_config(version, flex));
	res->configs = kr_calloc(r, n, sizeof *res->configs);
	if (r->err)
		return;
	res->configs_count = n;
	for (int32_t i = 0; i < n && !r->err; i++)
		describe_configs_config_decode(r, version, flex, &res->configs[i]);
	if (flex)
		kr_skip_tags(r);
}

int describe_configs_response_decode(struct kreader *r, int16_t version, struct describe_configs_response *out)
{
	bool flex = version >= DESCRIBE_CONFIGS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!describe_configs_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	int32_t n = describe_configs_array_len(r, flex, describe_configs_min_result(flex));
	out->results = kr_calloc(r, n, sizeof *out->results);
	if (!r->err)
		out->results_count = n;
	for (int32_t i = 0; i < out->results_count && !r->err; i++)
		describe_configs_result_decode(r, version, flex, &out->results[i]);
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		describe_configs_response_free(out);
		return -1;
	}
	return 0;
}

static void describe_configs_config_encode(struct kwriter *w, int16_t version, bool flex,
					   const struct describe_configs_config *c)
{
	kw_kstr_f(w, flex, c->name);
	kw_kstr_f(w, flex, c->value);
	kw_bool(w, c->read_only);
	if (version == 0)
		kw_bool(w, c->is_default);
	else
		kw_i8(w, c->config_source);
	kw_bool(w, c->is_sensitive);
	if (version >= 1) {
		kw_array_len_f(w, flex, c->synonyms_count < 0 ? 0 : c->synonyms_count);
		for (int32_t i = 0; i < c->synonyms_count; i++) {
			kw_kstr_f(w, flex, c->synonyms[i].name);
			kw_kstr_f(w, flex, c->synonyms[i].value);
			kw_i8(w, c->synonyms[i].source);
			kw_tags_f(w, flex);
		}
	}
	if (version >= 3) {
		kw_i8(w, c->config_type);
		kw_kstr_f(w, flex, c->documentation);
	}
	kw_tags_f(w, flex);
}

void describe_configs_response_encode(struct kwriter *w, int16_t version, const struct describe_configs_response *in)
{
	bool flex = version >= DESCRIBE_CONFIGS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= DESCRIBE_CONFIGS_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, flex, in->results_count < 0 ? 0 : in->results_count);
	for (int32_t i = 0; i < in->results_count; i++) {
		const struct describe_configs_result *res = &in->results[i];
		kw_i16(w, res->error_code);
		kw_kstr_f(w, flex, res->error_message);
		kw_i8(w, res->resource_type);
		kw_kstr_f(w, flex, res->resource_name);
		kw_array_len_f(w, flex, res->configs_count < 0 ? 0 : res->configs_count);
		for (int32_t j = 0; j < res->configs_count; j++)
			describe_configs_config_encode(w, version, flex, &res->configs[j]);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void describe_configs_response_free(struct describe_configs_response *resp)
{
	for (int32_t i = 0; i < resp->results_count; i++) {
		struct describe_configs_result *res = &resp->results[i];
		for (int32_t j = 0; j < res->configs_count; j++)
			free(res->configs[j].synonyms);
		free(res->configs);
	}
	free(resp->results);
	resp->results = NULL;
	resp->results_count = 0;
}
