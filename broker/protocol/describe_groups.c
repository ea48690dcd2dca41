#include "broker/protocol/describe_groups.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const struct kstr describe_groups_null = {NULL, -1};

/* A non-nullable array count: null is malformed. */
static int32_t describe_groups_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool describe_groups_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > DESCRIBE_GROUPS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when left null. */
static void describe_groups_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

static void describe_groups_read_bytes(struct kreader *r, bool flex, struct kbytes *out)
{
	kr_bytes_f(r, flex, out);
	if (!r->err && out->len < 0)
		r->err = KR_EINVALID; /* not nullable */
}

int describe_groups_request_decode(struct kreader *r, int16_t version, struct describe_groups_request *out)
{
	bool flex = version >= DESCRIBE_GROUPS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!describe_groups_version_ok(r, version))
		return -1;
	int32_t n = describe_groups_array_len(r, flex, flex ? 1 : 2);
	out->groups = kr_calloc(r, n, sizeof *out->groups);
	if (!r->err)
		out->groups_count = n;
	for (int32_t i = 0; i < out->groups_count && !r->err; i++)
		kr_str_f(r, flex, &out->groups[i]);
	if (version >= 3)
		out->include_authorized_operations = kr_bool(r);
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		describe_groups_request_free(out);
		return -1;
	}
	return 0;
}

void describe_groups_request_encode(struct kwriter *w, int16_t version, const struct describe_groups_request *in)
{
	bool flex = version >= DESCRIBE_GROUPS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= DESCRIBE_GROUPS_MAX_VERSION);
	kw_array_len_f(w, flex, in->groups_count < 0 ? 0 : in->groups_count);
	for (int32_t i = 0; i < in->groups_count; i++)
		describe_groups_str(w, flex, in->groups[i]);
	if (version >= 3)
		kw_bool(w, in->include_authorized_operations);
	kw_tags_f(w, flex);
}

void describe_groups_request_free(struct describe_groups_request *req)
{
	free(req->groups);
	req->groups = NULL;
	req->groups_count = 0;
}

int describe_groups_response_decode(struct kreader *r, int16_t version, struct describe_groups_response *out)
{
	bool flex = version >= DESCRIBE_GROUPS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!describe_groups_version_ok(r, version))
		return -1;
	if (version >= 1)
		out->throttle_time_ms = kr_i32(r);
	size_t s = flex ? 1 : 2;
	size_t gmin = 2 + 4 * s + (flex ? 1 : 4) + (version >= 3 ? 4 : 0) + (flex ? 1 : 0);
	size_t mmin = 3 * s + 2 * (flex ? 1 : 4) + (version >= 4 ? s : 0) + (flex ? 1 : 0);
	int32_t n = describe_groups_array_len(r, flex, gmin);
	out->groups = kr_calloc(r, n, sizeof *out->groups);
	if (!r->err)
		out->groups_count = n;
	for (int32_t i = 0; i < out->groups_count && !r->err; i++) {
		struct describe_groups_group *g = &out->groups[i];
		g->error_code = kr_i16(r);
		kr_str_f(r, flex, &g->group_id);
		kr_str_f(r, flex, &g->group_state);
		kr_str_f(r, flex, &g->protocol_type);
		kr_str_f(r, flex, &g->protocol_data);
		int32_t mn = describe_groups_array_len(r, flex, mmin);
		g->members = kr_calloc(r, mn, sizeof *g->members);
		if (!r->err)
			g->members_count = mn;
		for (int32_t j = 0; j < g->members_count && !r->err; j++) {
			struct describe_groups_member *m = &g->members[j];
			kr_str_f(r, flex, &m->member_id);
			if (version >= 4)
				kr_nullable_str_f(r, flex, &m->group_instance_id);
			else
				m->group_instance_id = describe_groups_null;
			kr_str_f(r, flex, &m->client_id);
			kr_str_f(r, flex, &m->client_host);
			describe_groups_read_bytes(r, flex, &m->member_metadata);
			describe_groups_read_bytes(r, flex, &m->member_assignment);
			if (flex)
				kr_skip_tags(r);
		}
		g->authorized_operations = version >= 3 ? kr_i32(r) : DESCRIBE_GROUPS_OPS_NOT_REQUESTED;
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		describe_groups_response_free(out);
		return -1;
	}
	return 0;
}

void describe_groups_response_encode(struct kwriter *w, int16_t version,
				     const struct describe_groups_response *in)
{
	bool flex = version >= DESCRIBE_GROUPS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= DESCRIBE_GROUPS_MAX_VERSION);
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, flex, in->groups_count < 0 ? 0 : in->groups_count);
	for (int32_t i = 0; i < in->groups_count; i++) {
		const struct describe_groups_group *g = &in->groups[i];
		kw_i16(w, g->error_code);
		describe_groups_str(w, flex, g->group_id);
		describe_groups_str(w, flex, g->group_state);
		describe_groups_str(w, flex, g->protocol_type);
		describe_groups_str(w, flex, g->protocol_data);
		kw_array_len_f(w, flex, g->members_count < 0 ? 0 : g->members_count);
		for (int32_t j = 0; j < g->members_count; j++) {
			const struct describe_groups_member *m = &g->members[j];
			describe_groups_str(w, flex, m->member_id);
			if (version >= 4)
				kw_kstr_f(w, flex, m->group_instance_id);
			describe_groups_str(w, flex, m->client_id);
			describe_groups_str(w, flex, m->client_host);
			kw_bytes_f(w, flex, m->member_metadata.p, m->member_metadata.len < 0 ? 0 : m->member_metadata.len);
			kw_bytes_f(w, flex, m->member_assignment.p,
				   m->member_assignment.len < 0 ? 0 : m->member_assignment.len);
			kw_tags_f(w, flex);
		}
		if (version >= 3)
			kw_i32(w, g->authorized_operations);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void describe_groups_response_free(struct describe_groups_response *resp)
{
	for (int32_t i = 0; i < resp->groups_count; i++)
		free(resp->groups[i].members);
	free(resp->groups);
	resp->groups = NULL;
	resp->groups_count = 0;
}
