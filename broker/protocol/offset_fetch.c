#include "broker/protocol/offset_fetch.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Array count; null is allowed only when `nullable` (returns -1 then). */
static int32_t offset_fetch_array_len(struct kreader *r, bool flex, bool nullable, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0 && !nullable) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool offset_fetch_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > OFFSET_FETCH_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when left null. */
static void offset_fetch_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

/* ---- request ---- */

static void offset_fetch_request_topics_free(struct offset_fetch_request_topic *topics, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		free(topics[i].partition_indexes);
	free(topics);
}

/* Reads a topics array into *topics / *count (count -1 for a null array). */
static void offset_fetch_read_req_topics(struct kreader *r, bool flex, bool nullable,
					 struct offset_fetch_request_topic **topics, int32_t *count)
{
	*topics = NULL;
	*count = 0;
	int32_t n = offset_fetch_array_len(r, flex, nullable, flex ? 3 : 6);
	if (r->err)
		return;
	if (n < 0) {
		*count = -1;
		return;
	}
	*topics = kr_calloc(r, n, sizeof **topics);
	if (r->err)
		return;
	*count = n;
	for (int32_t i = 0; i < n && !r->err; i++) {
		struct offset_fetch_request_topic *t = &(*topics)[i];
		kr_str_f(r, flex, &t->name);
		int32_t pn = offset_fetch_array_len(r, flex, false, 4);
		t->partition_indexes = kr_calloc(r, pn, sizeof *t->partition_indexes);
		if (!r->err)
			t->partition_indexes_count = pn;
		for (int32_t j = 0; j < t->partition_indexes_count && !r->err; j++)
			t->partition_indexes[j] = kr_i32(r);
		if (flex)
			kr_skip_tags(r);
	}
}

static void offset_fetch_write_req_topics(struct kwriter *w, bool flex, const struct offset_fetch_request_topic *topics,
					  int32_t count)
{
	kw_array_len_f(w, flex, count);
	for (int32_t i = 0; i < count; i++) {
		const struct offset_fetch_request_topic *t = &topics[i];
		offset_fetch_str(w, flex, t->name);
		kw_array_len_f(w, flex, t->partition_indexes_count < 0 ? 0 : t->partition_indexes_count);
		for (int32_t j = 0; j < t->partition_indexes_count; j++)
			kw_i32(w, t->partition_indexes[j]);
		kw_tags_f(w, flex);
	}
}

int offset_fetch_request_decode(struct kreader *r, int16_t version, struct offset_fetch_request *out)
{
	bool flex = version >= OFFSET_FETCH_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!offset_fetch_version_ok(r, version))
		return -1;
	if (version <= 7) {
		kr_str_f(r, flex, &out->group_id);
		offset_fetch_read_req_topics(r, flex, version >= 2, &out->topics, &out->topics_count);
	} else {
		/* group_id, topics, tags */
		int32_t n = offset_fetch_array_len(r, flex, false, 3);
		out->groups = kr_calloc(r, n, sizeof *out->groups);
		if (!r->err)
			out->groups_count = n;
		for (int32_t i = 0; i < out->groups_count && !r->err; i++) {
			struct offset_fetch_request_group *g = &out->groups[i];
			kr_str_f(r, flex, &g->group_id);
			offset_fetch_read_req_topics(r, flex, true, &g->topics, &g->topics_count);
			if (flex)
				kr_skip_tags(r);
		}
	}
	if (version >= 7)
		out->require_stable = kr_bool(r);
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		offset_fetch_request_free(out);
		return -1;
	}
	return 0;
}

void offset_fetch_request_encode(struct kwriter *w, int16_t version, const struct offset_fetch_request *in)
{
	bool flex = version >= OFFSET_FETCH_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= OFFSET_FETCH_MAX_VERSION);
	if (version <= 7) {
		offset_fetch_str(w, flex, in->group_id);
		/* v0-1 cannot say "all topics": an empty list is the closest. */
		offset_fetch_write_req_topics(w, flex, in->topics,
					      version < 2 && in->topics_count < 0 ? 0 : in->topics_count);
	} else {
		kw_array_len_f(w, flex, in->groups_count < 0 ? 0 : in->groups_count);
		for (int32_t i = 0; i < in->groups_count; i++) {
			offset_fetch_str(w, flex, in->groups[i].group_id);
			offset_fetch_write_req_topics(w, flex, in->groups[i].topics, in->groups[i].topics_count);
			kw_tags_f(w, flex);
		}
	}
	if (version >= 7)
		kw_bool(w, in->require_stable);
	kw_tags_f(w, flex);
}

void offset_fetch_request_free(struct offset_fetch_request *req)
{
	offset_fetch_request_topics_free(req->topics, req->topics_count);
	for (int32_t i = 0; i < req->groups_count; i++)
		offset_fetch_request_topics_free(req->groups[i].topics, req->groups[i].topics_count);
	free(req->groups);
	memset(req, 0, sizeof *req);
}

/* ---- response ---- */

static void offset_fetch_response_topics_free(struct offset_fetch_response_topic *topics, int32_t n)
{
	for (int32_t i = 0; i < n; i++)
		free(topics[i].partitions);
	free(topics);
}

static void offset_fetch_read_resp_topics(struct kreader *r, int16_t version, bool flex,
					  struct offset_fetch_response_topic **topics, int32_t *count)
{
	*topics = NULL;
	*count = 0;
	int32_t n = offset_fetch_array_len(r, flex, false, flex ? 3 : 6);
	*topics = kr_calloc(r, n, sizeof **topics);
	if (r->err)
		return;
	*count = n;
	size_t pmin = 4 + 8 + 2 + (flex ? 1 : 2) + (flex ? 1 : 0);
	if (version >= 5)
		pmin += 4;
	for (int32_t i = 0; i < n && !r->err; i++) {
		struct offset_fetch_response_topic *t = &(*topics)[i];
		kr_str_f(r, flex, &t->name);
		int32_t pn = offset_fetch_array_len(r, flex, false, pmin);
		t->partitions = kr_calloc(r, pn, sizeof *t->partitions);
		if (!r->err)
			t->partitions_count = pn;
		for (int32_t j = 0; j < t->partitions_count && !r->err; j++) {
			struct offset_fetch_response_partition *p = &t->partitions[j];
			p->partition_index = kr_i32(r);
			p->committed_offset = kr_i64(r);
			p->committed_leader_epoch = version >= 5 ? kr_i32(r) : -1;
			kr_nullable_str_f(r, flex, &p->metadata);
			p->error_code = kr_i16(r);
			if (flex)
				kr_skip_tags(r);
		}
		if (flex)
			kr_skip_tags(r);
	}
}

static void offset_fetch_write_resp_topics(struct kwriter *w, int16_t version, bool flex,
					   const struct offset_fetch_response_topic *topics, int32_t count)
{
	kw_array_len_f(w, flex, count < 0 ? 0 : count);
	for (int32_t i = 0; i < count; i++) {
		const struct offset_fetch_response_topic *t = &topics[i];
		offset_fetch_str(w, flex, t->name);
		kw_array_len_f(w, flex, t->partitions_count < 0 ? 0 : t->partitions_count);
		for (int32_t j = 0; j < t->partitions_count; j++) {
			const struct offset_fetch_response_partition *p = &t->partitions[j];
			kw_i32(w, p->partition_index);
			kw_i64(w, p->committed_offset);
			if (version >= 5)
				kw_i32(w, p->committed_leader_epoch);
			kw_kstr_f(w, flex, p->metadata);
			kw_i16(w, p->error_code);
			kw_tags_f(w, flex);
		}
		kw_tags_f(w, flex);
	}
}

int offset_fetch_response_decode(struct kreader *r, int16_t version, struct offset_fetch_response *out)
{
	bool flex = version >= OFFSET_FETCH_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!offset_fetch_version_ok(r, version))
		return -1;
	if (version >= 3)
		out->throttle_time_ms = kr_i32(r);
	if (version <= 7) {
		offset_fetch_read_resp_topics(r, version, flex, &out->topics, &out->topics_count);
		if (version >= 2)
			out->error_code = kr_i16(r);
	} else {
		/* group_id, topics, error_code, tags */
		int32_t n = offset_fetch_array_len(r, flex, false, 1 + 1 + 2 + 1);
		out->groups = kr_calloc(r, n, sizeof *out->groups);
		if (!r->err)
			out->groups_count = n;
		for (int32_t i = 0; i < out->groups_count && !r->err; i++) {
			struct offset_fetch_response_group *g = &out->groups[i];
			kr_str_f(r, flex, &g->group_id);
			offset_fetch_read_resp_topics(r, version, flex, &g->topics, &g->topics_count);
			g->error_code = kr_i16(r);
			if (flex)
				kr_skip_tags(r);
		}
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		offset_fetch_response_free(out);
		return -1;
	}
	return 0;
}

void offset_fetch_response_encode(struct kwriter *w, int16_t version, const struct offset_fetch_response *in)
{
	bool flex = version >= OFFSET_FETCH_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= OFFSET_FETCH_MAX_VERSION);
	if (version >= 3)
		kw_i32(w, in->throttle_time_ms);
	if (version <= 7) {
		offset_fetch_write_resp_topics(w, version, flex, in->topics, in->topics_count);
		if (version >= 2)
			kw_i16(w, in->error_code);
	} else {
		kw_array_len_f(w, flex, in->groups_count < 0 ? 0 : in->groups_count);
		for (int32_t i = 0; i < in->groups_count; i++) {
			const struct offset_fetch_response_group *g = &in->groups[i];
			offset_fetch_str(w, flex, g->group_id);
			offset_fetch_write_resp_topics(w, version, flex, g->topics, g->topics_count);
			kw_i16(w, g->error_code);
			kw_tags_f(w, flex);
		}
	}
	kw_tags_f(w, flex);
}

void offset_fetch_response_free(struct offset_fetch_response *resp)
{
	offset_fetch_response_topics_free(resp->topics, resp->topics_count);
	for (int32_t i = 0; i < resp->groups_count; i++)
		offset_fetch_response_topics_free(resp->groups[i].topics, resp->groups[i].topics_count);
	free(resp->groups);
	memset(resp, 0, sizeof *resp);
}
