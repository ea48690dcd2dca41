#include "broker/protocol/list_offsets.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool list_offsets_in_range(int16_t version)
{
	return version >= LIST_OFFSETS_MIN_VERSION && version <= LIST_OFFSETS_MAX_VERSION;
}

/* Count of a non-nullable array; null (-1) is malformed. The count is
 * already bounded by bytes left / min_elem. */
static int32_t list_offsets_count(struct kreader *r, bool flexible, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flexible, min_elem);
	if (n < 0) {
		if (kr_ok(r))
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static int32_t list_offsets_nonneg(int32_t n)
{
	return n < 0 ? 0 : n;
}

int list_offsets_request_decode(struct kreader *r, int16_t version, struct list_offsets_request *out)
{
	bool flexible = version >= LIST_OFFSETS_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	if (!list_offsets_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	out->replica_id = kr_i32(r);
	if (version >= 2)
		out->isolation_level = kr_i8(r);
	int32_t nt = list_offsets_count(r, flexible, flexible ? 3 : 6);
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (out->topics)
		out->topics_count = nt;
	/* partition_index, current_leader_epoch (v4+), timestamp (, tags) */
	size_t pmin = 4 + 8 + (version >= 4 ? 4 : 0) + (flexible ? 1 : 0);
	for (int32_t i = 0; i < out->topics_count && kr_ok(r); i++) {
		struct list_offsets_topic *t = &out->topics[i];
		kr_str_f(r, flexible, &t->name);
		int32_t np = list_offsets_count(r, flexible, pmin);
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (t->partitions)
			t->partitions_count = np;
		for (int32_t j = 0; j < t->partitions_count && kr_ok(r); j++) {
			struct list_offsets_partition *p = &t->partitions[j];
			p->partition_index = kr_i32(r);
			p->current_leader_epoch = version >= 4 ? kr_i32(r) : -1;
			p->timestamp = kr_i64(r);
			if (flexible)
				kr_skip_tags(r);
		}
		if (flexible)
			kr_skip_tags(r);
	}
	if (flexible)
		kr_skip_tags(r);
	if (kr_ok(r))
		return 0;
	list_offsets_request_free(out);
	return -1;
}

void list_offsets_request_encode(struct kwriter *w, int16_t version, const struct list_offsets_request *in)
{
	bool flexible = version >= LIST_OFFSETS_FLEXIBLE_VERSION;
	assert(list_offsets_in_range(version));
	kw_i32(w, in->replica_id);
	if (version >= 2)
		kw_i8(w, in->isolation_level);
	int32_t nt = list_offsets_nonneg(in->topics_count);
	kw_array_len_f(w, flexible, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct list_offsets_topic *t = &in->topics[i];
		kw_kstr_nonnull_f(w, flexible, t->name);
		int32_t np = list_offsets_nonneg(t->partitions_count);
		kw_array_len_f(w, flexible, np);
		for (int32_t j = 0; j < np; j++) {
			const struct list_offsets_partition *p = &t->partitions[j];
			kw_i32(w, p->partition_index);
			if (version >= 4)
				kw_i32(w, p->current_leader_epoch);
			kw_i64(w, p->timestamp);
			kw_tags_f(w, flexible);
		}
		kw_tags_f(w, flexible);
	}
	kw_tags_f(w, flexible);
}

void list_offsets_request_free(struct list_offsets_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++)
		free(req->topics[i].partitions);
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

int list_offsets_response_decode(struct kreader *r, int16_t version, struct list_offsets_response *out)
{
	bool flexible = version >= LIST_OFFSETS_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	if (!list_offsets_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	if (version >= 2)
		out->throttle_time_ms = kr_i32(r);
	int32_t nt = list_offsets_count(r, flexible, flexible ? 3 : 6);
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (out->topics)
		out->topics_count = nt;
	/* partition_index, error_code, timestamp, offset, leader_epoch (v4+) (, tags) */
	size_t pmin = 4 + 2 + 8 + 8 + (version >= 4 ? 4 : 0) + (flexible ? 1 : 0);
	for (int32_t i = 0; i < out->topics_count && kr_ok(r); i++) {
		struct list_offsets_topic_response *t = &out->topics[i];
		kr_str_f(r, flexible, &t->name);
		int32_t np = list_offsets_count(r, flexible, pmin);
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (t->partitions)
			t->partitions_count = np;
		for (int32_t j = 0; j < t->partitions_count && kr_ok(r); j++) {
			struct list_offsets_partition_response *p = &t->partitions[j];
			p->partition_index = kr_i32(r);
			p->error_code = kr_i16(r);
			p->timestamp = kr_i64(r);
			p->offset = kr_i64(r);
			p->leader_epoch = version >= 4 ? kr_i32(r) : -1;
			if (flexible)
				kr_skip_tags(r);
		}
		if (flexible)
			kr_skip_tags(r);
	}
	if (flexible)
		kr_skip_tags(r);
	if (kr_ok(r))
		return 0;
	list_offsets_response_free(out);
	return -1;
}

void list_offsets_response_encode(struct kwriter *w, int16_t version, const struct list_offsets_response *in)
{
	bool flexible = version >= LIST_OFFSETS_FLEXIBLE_VERSION;
	assert(list_offsets_in_range(version));
	if (version >= 2)
		kw_i32(w, in->throttle_time_ms);
	int32_t nt = list_offsets_nonneg(in->topics_count);
	kw_array_len_f(w, flexible, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct list_offsets_topic_response *t = &in->topics[i];
		kw_kstr_nonnull_f(w, flexible, t->name);
		int32_t np = list_offsets_nonneg(t->partitions_count);
		kw_array_len_f(w, flexible, np);
		for (int32_t j = 0; j < np; j++) {
			const struct list_offsets_partition_response *p = &t->partitions[j];
			kw_i32(w, p->partition_index);
			kw_i16(w, p->error_code);
			kw_i64(w, p->timestamp);
			kw_i64(w, p->offset);
			if (version >= 4)
				kw_i32(w, p->leader_epoch);
			kw_tags_f(w, flexible);
		}
		kw_tags_f(w, flexible);
	}
	kw_tags_f(w, flexible);
}

void list_offsets_response_free(struct list_offsets_response *resp)
{
	for (int32_t i = 0; i < resp->topics_count; i++)
		free(resp->topics[i].partitions);
	free(resp->topics);
	resp->topics = NULL;
	resp->topics_count = 0;
}
