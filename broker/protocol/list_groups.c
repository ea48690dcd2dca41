#include "broker/protocol/list_groups.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static bool list_groups_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > LIST_GROUPS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when left null. */
static void list_groups_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

/* Reads a non-nullable array of strings into a malloc'd array of views. */
static void list_groups_read_strings(struct kreader *r, bool flex, struct kstr **out, int32_t *count)
{
	*out = NULL;
	*count = 0;
	int32_t n = kr_array_len_f(r, flex, 1);
	if (r->err)
		return;
	if (n < 0) {
		r->err = KR_EINVALID;
		return;
	}
	if (n == 0)
		return;
	*out = calloc((size_t)n, sizeof **out);
	if (!*out) {
		r->err = KR_EINVALID;
		return;
	}
	*count = n;
	for (int32_t i = 0; i < n && !r->err; i++)
		kr_str_f(r, flex, &(*out)[i]);
}

static void list_groups_write_strings(struct kwriter *w, bool flex, const struct kstr *s, int32_t count)
{
	kw_array_len_f(w, flex, count < 0 ? 0 : count);
	for (int32_t i = 0; i < count; i++)
		list_groups_str(w, flex, s[i]);
}

int list_groups_request_decode(struct kreader *r, int16_t version, struct list_groups_request *out)
{
	bool flex = version >= LIST_GROUPS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!list_groups_version_ok(r, version))
		return -1;
	if (version >= 4)
		list_groups_read_strings(r, flex, &out->states_filter, &out->states_filter_count);
	if (version >= 5)
		list_groups_read_strings(r, flex, &out->types_filter, &out->types_filter_count);
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		list_groups_request_free(out);
		return -1;
	}
	return 0;
}

void list_groups_request_encode(struct kwriter *w, int16_t version, const struct list_groups_request *in)
{
	bool flex = version >= LIST_GROUPS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= LIST_GROUPS_MAX_VERSION);
	if (version >= 4)
		list_groups_write_strings(w, flex, in->states_filter, in->states_filter_count);
	if (version >= 5)
		list_groups_write_strings(w, flex, in->types_filter, in->types_filter_count);
	kw_tags_f(w, flex);
}

void list_groups_request_free(struct list_groups_request *req)
{
	free(req->states_filter);
	free(req->types_filter);
	memset(req, 0, sizeof *req);
}

int list_groups_response_decode(struct kreader *r, int16_t version, struct list_groups_response *out)
{
	bool flex = version >= LIST_GROUPS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!list_groups_version_ok(r, version))
		return -1;
	if (version >= 1)
		out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	size_t min = flex ? 2 : 4;
	if (version >= 4)
		min += 1;
	if (version >= 5)
		min += 1;
	if (flex)
		min += 1;
	int32_t n = kr_array_len_f(r, flex, min);
	if (n < 0 && !r->err)
		r->err = KR_EINVALID;
	if (!r->err && n > 0) {
		out->groups = calloc((size_t)n, sizeof *out->groups);
		if (!out->groups)
			r->err = KR_EINVALID;
		else
			out->groups_count = n;
	}
	for (int32_t i = 0; i < out->groups_count && !r->err; i++) {
		struct list_groups_group *g = &out->groups[i];
		kr_str_f(r, flex, &g->group_id);
		kr_str_f(r, flex, &g->protocol_type);
		if (version >= 4)
			kr_str_f(r, flex, &g->group_state);
		if (version >= 5)
			kr_str_f(r, flex, &g->group_type);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		list_groups_response_free(out);
		return -1;
	}
	return 0;
}

void list_groups_response_encode(struct kwriter *w, int16_t version, const struct list_groups_response *in)
{
	bool flex = version >= LIST_GROUPS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= LIST_GROUPS_MAX_VERSION);
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	kw_array_len_f(w, flex, in->groups_count < 0 ? 0 : in->groups_count);
	for (int32_t i = 0; i < in->groups_count; i++) {
		const struct list_groups_group *g = &in->groups[i];
		list_groups_str(w, flex, g->group_id);
		list_groups_str(w, flex, g->protocol_type);
		if (version >= 4)
			list_groups_str(w, flex, g->group_state);
		if (version >= 5)
			list_groups_str(w, flex, g->group_type);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void list_groups_response_free(struct list_groups_response *resp)
{
	free(resp->groups);
	memset(resp, 0, sizeof *resp);
}
