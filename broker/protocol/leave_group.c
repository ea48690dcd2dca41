#include "broker/protocol/leave_group.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const struct kstr leave_group_null = {NULL, -1};

/* A non-nullable array count: null is malformed. */
static int32_t leave_group_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool leave_group_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > LEAVE_GROUP_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when left null. */
static void leave_group_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

int leave_group_request_decode(struct kreader *r, int16_t version, struct leave_group_request *out)
{
	bool flex = version >= LEAVE_GROUP_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->member_id = leave_group_null;
	if (!leave_group_version_ok(r, version))
		return -1;
	kr_str_f(r, flex, &out->group_id);
	if (version <= 2) {
		kr_str_f(r, flex, &out->member_id);
	} else {
		size_t min = flex ? 2 : 4; /* member_id, instance id */
		if (version >= 5)
			min += 1;
		if (flex)
			min += 1;
		int32_t n = leave_group_array_len(r, flex, min);
		out->members = kr_calloc(r, n, sizeof *out->members);
		if (!r->err)
			out->members_count = n;
		for (int32_t i = 0; i < out->members_count && !r->err; i++) {
			struct leave_group_request_member *m = &out->members[i];
			kr_str_f(r, flex, &m->member_id);
			kr_nullable_str_f(r, flex, &m->group_instance_id);
			if (version >= 5)
				kr_nullable_str_f(r, flex, &m->reason);
			else
				m->reason = leave_group_null;
			if (flex)
				kr_skip_tags(r);
		}
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		leave_group_request_free(out);
		return -1;
	}
	return 0;
}

void leave_group_request_encode(struct kwriter *w, int16_t version, const struct leave_group_request *in)
{
	bool flex = version >= LEAVE_GROUP_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= LEAVE_GROUP_MAX_VERSION);
	leave_group_str(w, flex, in->group_id);
	if (version <= 2) {
		leave_group_str(w, flex, in->member_id);
	} else {
		kw_array_len_f(w, flex, in->members_count < 0 ? 0 : in->members_count);
		for (int32_t i = 0; i < in->members_count; i++) {
			const struct leave_group_request_member *m = &in->members[i];
			leave_group_str(w, flex, m->member_id);
			kw_kstr_f(w, flex, m->group_instance_id);
			if (version >= 5)
				kw_kstr_f(w, flex, m->reason);
			kw_tags_f(w, flex);
		}
	}
	kw_tags_f(w, flex);
}

void leave_group_request_free(struct leave_group_request *req)
{
	free(req->members);
	req->members = NULL;
	req->members_count = 0;
}

int leave_group_response_decode(struct kreader *r, int16_t version, struct leave_group_response *out)
{
	bool flex = version >= LEAVE_GROUP_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!leave_group_version_ok(r, version))
		return -1;
	if (version >= 1)
		out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	if (version >= 3) {
		int32_t n = leave_group_array_len(r, flex, flex ? 5 : 6);
		out->members = kr_calloc(r, n, sizeof *out->members);
		if (!r->err)
			out->members_count = n;
		for (int32_t i = 0; i < out->members_count && !r->err; i++) {
			struct leave_group_response_member *m = &out->members[i];
			kr_str_f(r, flex, &m->member_id);
			kr_nullable_str_f(r, flex, &m->group_instance_id);
			m->error_code = kr_i16(r);
			if (flex)
				kr_skip_tags(r);
		}
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		leave_group_response_free(out);
		return -1;
	}
	return 0;
}

void leave_group_response_encode(struct kwriter *w, int16_t version, const struct leave_group_response *in)
{
	bool flex = version >= LEAVE_GROUP_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= LEAVE_GROUP_MAX_VERSION);
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	if (version >= 3) {
		kw_array_len_f(w, flex, in->members_count < 0 ? 0 : in->members_count);
		for (int32_t i = 0; i < in->members_count; i++) {
			const struct leave_group_response_member *m = &in->members[i];
			leave_group_str(w, flex, m->member_id);
			kw_kstr_f(w, flex, m->group_instance_id);
			kw_i16(w, m->error_code);
			kw_tags_f(w, flex);
		}
	}
	kw_tags_f(w, flex);
}

void leave_group_response_free(struct leave_group_response *resp)
{
	free(resp->members);
	resp->members = NULL;
	resp->members_count = 0;
}
