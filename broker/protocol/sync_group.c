#include "broker/protocol/sync_group.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const struct kstr sync_group_null = {NULL, -1};

static bool sync_group_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > SYNC_GROUP_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when left null. */
static void sync_group_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

static void sync_group_read_bytes(struct kreader *r, bool flex, struct kbytes *out)
{
	kr_bytes_f(r, flex, out);
	if (!r->err && out->len < 0)
		r->err = KR_EINVALID; /* not nullable */
}

int sync_group_request_decode(struct kreader *r, int16_t version, struct sync_group_request *out)
{
	bool flex = version >= SYNC_GROUP_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->group_instance_id = sync_group_null;
	out->protocol_type = sync_group_null;
	out->protocol_name = sync_group_null;
	if (!sync_group_version_ok(r, version))
		return -1;
	kr_str_f(r, flex, &out->group_id);
	out->generation_id = kr_i32(r);
	kr_str_f(r, flex, &out->member_id);
	if (version >= 3)
		kr_nullable_str_f(r, flex, &out->group_instance_id);
	if (version >= 5) {
		kr_nullable_str_f(r, flex, &out->protocol_type);
		kr_nullable_str_f(r, flex, &out->protocol_name);
	}
	/* member_id + assignment (+ tags) */
	int32_t n = kr_array_len_f(r, flex, flex ? 3 : 6);
	if (n < 0 && !r->err)
		r->err = KR_EINVALID;
	if (!r->err && n > 0) {
		out->assignments = calloc((size_t)n, sizeof *out->assignments);
		if (!out->assignments)
			r->err = KR_EINVALID;
		else
			out->assignments_count = n;
	}
	for (int32_t i = 0; i < out->assignments_count && !r->err; i++) {
		kr_str_f(r, flex, &out->assignments[i].member_id);
		sync_group_read_bytes(r, flex, &out->assignments[i].assignment);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		sync_group_request_free(out);
		return -1;
	}
	return 0;
}

void sync_group_request_encode(struct kwriter *w, int16_t version, const struct sync_group_request *in)
{
	bool flex = version >= SYNC_GROUP_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= SYNC_GROUP_MAX_VERSION);
	sync_group_str(w, flex, in->group_id);
	kw_i32(w, in->generation_id);
	sync_group_str(w, flex, in->member_id);
	if (version >= 3)
		kw_kstr_f(w, flex, in->group_instance_id);
	if (version >= 5) {
		kw_kstr_f(w, flex, in->protocol_type);
		kw_kstr_f(w, flex, in->protocol_name);
	}
	kw_array_len_f(w, flex, in->assignments_count < 0 ? 0 : in->assignments_count);
	for (int32_t i = 0; i < in->assignments_count; i++) {
		const struct sync_group_request_assignment *a = &in->assignments[i];
		sync_group_str(w, flex, a->member_id);
		kw_bytes_f(w, flex, a->assignment.p, a->assignment.len < 0 ? 0 : a->assignment.len);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void sync_group_request_free(struct sync_group_request *req)
{
	free(req->assignments);
	req->assignments = NULL;
	req->assignments_count = 0;
}

int sync_group_response_decode(struct kreader *r, int16_t version, struct sync_group_response *out)
{
	bool flex = version >= SYNC_GROUP_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->protocol_type = sync_group_null;
	out->protocol_name = sync_group_null;
	if (!sync_group_version_ok(r, version))
		return -1;
	if (version >= 1)
		out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	if (version >= 5) {
		kr_nullable_str_f(r, flex, &out->protocol_type);
		kr_nullable_str_f(r, flex, &out->protocol_name);
	}
	sync_group_read_bytes(r, flex, &out->assignment);
	if (flex)
		kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void sync_group_response_encode(struct kwriter *w, int16_t version, const struct sync_group_response *in)
{
	bool flex = version >= SYNC_GROUP_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= SYNC_GROUP_MAX_VERSION);
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	if (version >= 5) {
		kw_kstr_f(w, flex, in->protocol_type);
		kw_kstr_f(w, flex, in->protocol_name);
	}
	kw_bytes_f(w, flex, in->assignment.p, in->assignment.len < 0 ? 0 : in->assignment.len);
	kw_tags_f(w, flex);
}

void sync_group_response_free(struct sync_group_response *resp)
{
	(void)resp; /* nothing allocated: every field is a view */
}
