#include "broker/protocol/join_group.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const struct kstr join_group_null = {NULL, -1};

/* A non-nullable array count: null is malformed. */
static int32_t join_group_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool join_group_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > JOIN_GROUP_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when left null. */
static void join_group_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

/* Non-nullable bytes are written empty when left null. */
static void join_group_bytes(struct kwriter *w, bool flex, struct kbytes b)
{
	kw_bytes_f(w, flex, b.p, b.len < 0 ? 0 : b.len);
}

static void join_group_read_bytes(struct kreader *r, bool flex, struct kbytes *out)
{
	kr_bytes_f(r, flex, out);
	if (!r->err && out->len < 0)
		r->err = KR_EINVALID; /* not nullable */
}

int join_group_request_decode(struct kreader *r, int16_t version, struct join_group_request *out)
{
	bool flex = version >= JOIN_GROUP_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->group_instance_id = join_group_null;
	out->reason = join_group_null;
	out->rebalance_timeout_ms = -1;
	if (!join_group_version_ok(r, version))
		return -1;
	kr_str_f(r, flex, &out->group_id);
	out->session_timeout_ms = kr_i32(r);
	if (version >= 1)
		out->rebalance_timeout_ms = kr_i32(r);
	kr_str_f(r, flex, &out->member_id);
	if (version >= 5)
		kr_nullable_str_f(r, flex, &out->group_instance_id);
	kr_str_f(r, flex, &out->protocol_type);
	/* name + metadata (+ tags) */
	int32_t n = join_group_array_len(r, flex, flex ? 3 : 6);
	out->protocols = kr_calloc(r, n, sizeof *out->protocols);
	if (!r->err)
		out->protocols_count = n;
	for (int32_t i = 0; i < out->protocols_count && !r->err; i++) {
		kr_str_f(r, flex, &out->protocols[i].name);
		join_group_read_bytes(r, flex, &out->protocols[i].metadata);
		if (flex)
			kr_skip_tags(r);
	}
	if (version >= 8)
		kr_nullable_str_f(r, flex, &out->reason);
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		join_group_request_free(out);
		return -1;
	}
	return 0;
}

void join_group_request_encode(struct kwriter *w, int16_t version, const struct join_group_request *in)
{
	bool flex = version >= JOIN_GROUP_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= JOIN_GROUP_MAX_VERSION);
	join_group_str(w, flex, in->group_id);
	kw_i32(w, in->session_timeout_ms);
	if (version >= 1)
		kw_i32(w, in->rebalance_timeout_ms);
	join_group_str(w, flex, in->member_id);
	if (version >= 5)
		kw_kstr_f(w, flex, in->group_instance_id);
	join_group_str(w, flex, in->protocol_type);
	kw_array_len_f(w, flex, in->protocols_count < 0 ? 0 : in->protocols_count);
	for (int32_t i = 0; i < in->protocols_count; i++) {
		join_group_str(w, flex, in->protocols[i].name);
		join_group_bytes(w, flex, in->protocols[i].metadata);
		kw_tags_f(w, flex);
	}
	if (version >= 8)
		kw_kstr_f(w, flex, in->reason);
	kw_tags_f(w, flex);
}

void join_group_request_free(struct join_group_request *req)
{
	free(req->protocols);
	req->protocols = NULL;
	req->protocols_count = 0;
}

int join_group_response_decode(struct kreader *r, int16_t version, struct join_group_response *out)
{
	bool flex = version >= JOIN_GROUP_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->protocol_type = join_group_null;
	out->protocol_name = join_group_null;
	if (!join_group_version_ok(r, version))
		return -1;
	if (version >= 2)
		out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	out->generation_id = kr_i32(r);
	if (version >= 7) {
		kr_nullable_str_f(r, flex, &out->protocol_type);
		kr_nullable_str_f(r, flex, &out->protocol_name);
	} else {
		kr_str_f(r, flex, &out->protocol_name);
	}
	kr_str_f(r, flex, &out->leader);
	if (version >= 9)
		out->skip_assignment = kr_bool(r);
	kr_str_f(r, flex, &out->member_id);
	/* member_id + (instance id) + metadata (+ tags) */
	size_t min = flex ? 3 : 6;
	if (version >= 5)
		min += flex ? 1 : 2;
	int32_t n = join_group_array_len(r, flex, min);
	out->members = kr_calloc(r, n, sizeof *out->members);
	if (!r->err)
		out->members_count = n;
	for (int32_t i = 0; i < out->members_count && !r->err; i++) {
		struct join_group_response_member *m = &out->members[i];
		kr_str_f(r, flex, &m->member_id);
		if (version >= 5)
			kr_nullable_str_f(r, flex, &m->group_instance_id);
		else
			m->group_instance_id = join_group_null;
		join_group_read_bytes(r, flex, &m->metadata);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		join_group_response_free(out);
		return -1;
	}
	return 0;
}

void join_group_response_encode(struct kwriter *w, int16_t version, const struct join_group_response *in)
{
	bool flex = version >= JOIN_GROUP_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= JOIN_GROUP_MAX_VERSION);
	if (version >= 2)
		kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	kw_i32(w, in->generation_id);
	if (version >= 7) {
		kw_kstr_f(w, flex, in->protocol_type);
		kw_kstr_f(w, flex, in->protocol_name);
	} else {
		join_group_str(w, flex, in->protocol_name);
	}
	join_group_str(w, flex, in->leader);
	if (version >= 9)
		kw_bool(w, in->skip_assignment);
	join_group_str(w, flex, in->member_id);
	kw_array_len_f(w, flex, in->members_count < 0 ? 0 : in->members_count);
	for (int32_t i = 0; i < in->members_count; i++) {
		const struct join_group_response_member *m = &in->members[i];
		join_group_str(w, flex, m->member_id);
		if (version >= 5)
			kw_kstr_f(w, flex, m->group_instance_id);
		join_group_bytes(w, flex, m->metadata);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void join_group_response_free(struct join_group_response *resp)
{
	free(resp->members);
	resp->members = NULL;
	resp->members_count = 0;
}
