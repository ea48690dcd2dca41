#include "broker/protocol/offset_commit.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const struct kstr offset_commit_null = {NULL, -1};

/* A non-nullable array count: null is malformed. */
static int32_t offset_commit_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool offset_commit_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > OFFSET_COMMIT_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when left null. */
static void offset_commit_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

int offset_commit_request_decode(struct kreader *r, int16_t version, struct offset_commit_request *out)
{
	bool flex = version >= OFFSET_COMMIT_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->generation_id_or_member_epoch = -1;
	out->member_id.p = "";
	out->group_instance_id = offset_commit_null;
	out->retention_time_ms = -1;
	if (!offset_commit_version_ok(r, version))
		return -1;
	kr_str_f(r, flex, &out->group_id);
	if (version >= 1) {
		out->generation_id_or_member_epoch = kr_i32(r);
		kr_str_f(r, flex, &out->member_id);
	}
	if (version >= 7)
		kr_nullable_str_f(r, flex, &out->group_instance_id);
	if (version >= 2 && version <= 4)
		out->retention_time_ms = kr_i64(r);

	int32_t n = offset_commit_array_len(r, flex, flex ? 3 : 6); /* name + partitions (+ tags) */
	out->topics = kr_calloc(r, n, sizeof *out->topics);
	if (!r->err)
		out->topics_count = n;
	size_t pmin = 4 + 8 + (flex ? 1 : 2);
	if (version >= 6)
		pmin += 4;
	if (version == 1)
		pmin += 8;
	if (flex)
		pmin += 1;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct offset_commit_request_topic *t = &out->topics[i];
		kr_str_f(r, flex, &t->name);
		int32_t pn = offset_commit_array_len(r, flex, pmin);
		t->partitions = kr_calloc(r, pn, sizeof *t->partitions);
		if (!r->err)
			t->partitions_count = pn;
		for (int32_t j = 0; j < t->partitions_count && !r->err; j++) {
			struct offset_commit_request_partition *p = &t->partitions[j];
			p->partition_index = kr_i32(r);
			p->committed_offset = kr_i64(r);
			p->committed_leader_epoch = version >= 6 ? kr_i32(r) : -1;
			p->commit_timestamp = version == 1 ? kr_i64(r) : -1;
			kr_nullable_str_f(r, flex, &p->committed_metadata);
			if (flex)
				kr_skip_tags(r);
		}
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		offset_commit_request_free(out);
		return -1;
	}
	return 0;
}

void offset_commit_request_encode(struct kwriter *w, int16_t version, const struct offset_commit_request *in)
{
	bool flex = version >= OFFSET_COMMIT_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= OFFSET_COMMIT_MAX_VERSION);
	offset_commit_str(w, flex, in->group_id);
	if (version >= 1) {
		kw_i32(w, in->generation_id_or_member_epoch);
		offset_commit_str(w, flex, in->member_id);
	}
	if (version >= 7)
		kw_kstr_f(w, flex, in->group_instance_id);
	if (version >= 2 && version <= 4)
		kw_i64(w, in->retention_time_ms);
	kw_array_len_f(w, flex, in->topics_count < 0 ? 0 : in->topics_count);
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct offset_commit_request_topic *t = &in->topics[i];
		offset_commit_str(w, flex, t->name);
		kw_array_len_f(w, flex, t->partitions_count < 0 ? 0 : t->partitions_count);
		for (int32_t j = 0; j < t->partitions_count; j++) {
			const struct offset_commit_request_partition *p = &t->partitions[j];
			kw_i32(w, p->partition_index);
			kw_i64(w, p->committed_offset);
			if (version >= 6)
				kw_i32(w, p->committed_leader_epoch);
			if (version == 1)
				kw_i64(w, p->commit_timestamp);
			kw_kstr_f(w, flex, p->committed_metadata);
			kw_tags_f(w, flex);
		}
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void offset_commit_request_free(struct offset_commit_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++)
		free(req->topics[i].partitions);
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

int offset_commit_response_decode(struct kreader *r, int16_t version, struct offset_commit_response *out)
{
	bool flex = version >= OFFSET_COMMIT_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!offset_commit_version_ok(r, version))
		return -1;
	if (version >= 3)
		out->throttle_time_ms = kr_i32(r);
	int32_t n = offset_commit_array_len(r, flex, flex ? 3 : 6);
	out->topics = kr_calloc(r, n, sizeof *out->topics);
	if (!r->err)
		out->topics_count = n;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct offset_commit_response_topic *t = &out->topics[i];
		kr_str_f(r, flex, &t->name);
		int32_t pn = offset_commit_array_len(r, flex, flex ? 7 : 6);
		t->partitions = kr_calloc(r, pn, sizeof *t->partitions);
		if (!r->err)
			t->partitions_count = pn;
		for (int32_t j = 0; j < t->partitions_count && !r->err; j++) {
			t->partitions[j].partition_index = kr_i32(r);
			t->partitions[j].error_code = kr_i16(r);
			if (flex)
				kr_skip_tags(r);
		}
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		offset_commit_response_free(out);
		return -1;
	}
	return 0;
}

void offset_commit_response_encode(struct kwriter *w, int16_t version, const struct offset_commit_response *in)
{
	bool flex = version >= OFFSET_COMMIT_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= OFFSET_COMMIT_MAX_VERSION);
	if (version >= 3)
		kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, flex, in->topics_count < 0 ? 0 : in->topics_count);
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct offset_commit_response_topic *t = &in->topics[i];
		offset_commit_str(w, flex, t->name);
		kw_array_len_f(w, flex, t->partitions_count < 0 ? 0 : t->partitions_count);
		for (int32_t j = 0; j < t->partitions_count; j++) {
			kw_i32(w, t->partitions[j].partition_index);
			kw_i16(w, t->partitions[j].error_code);
			kw_tags_f(w, flex);
		}
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void offset_commit_response_free(struct offset_commit_response *resp)
{
	for (int32_t i = 0; i < resp->topics_count; i++)
		free(resp->topics[i].partitions);
	free(resp->topics);
	resp->topics = NULL;
	resp->topics_count = 0;
}
