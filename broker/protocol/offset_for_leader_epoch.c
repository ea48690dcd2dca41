#include "broker/protocol/offset_for_leader_epoch.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of each array element. Classic: INT16 string lengths and
 * INT32 array counts; flexible: 1-byte compact lengths plus a 1-byte
 * tagged-field section per struct. */
#define OFLE_MIN_TOPIC(flex) ((flex) ? 1 + 1 + 1 : 2 + 4) /* name, partitions(, tags) */

static size_t offset_for_leader_epoch_min_partition(int16_t version, bool flex)
{
	return 4 + (version >= 2 ? 4 : 0) + 4 + (flex ? 1 : 0);
}

static size_t offset_for_leader_epoch_min_end_offset(int16_t version, bool flex)
{
	return 2 + 4 + (version >= 1 ? 4 : 0) + 8 + (flex ? 1 : 0);
}

static bool offset_for_leader_epoch_version_ok(struct kreader *r, int16_t version)
{
	if (version < OFFSET_FOR_LEADER_EPOCH_MIN_VERSION || version > OFFSET_FOR_LEADER_EPOCH_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* A non-nullable array count: null is malformed. */
static int32_t offset_for_leader_epoch_count(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

/* ---- request ---- */

int offset_for_leader_epoch_request_decode(struct kreader *r, int16_t version,
					   struct offset_for_leader_epoch_request *out)
{
	bool flex = version >= OFFSET_FOR_LEADER_EPOCH_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->replica_id = OFFSET_FOR_LEADER_EPOCH_REPLICA_UNKNOWN;
	if (!offset_for_leader_epoch_version_ok(r, version))
		return -1;
	if (version >= 3)
		out->replica_id = kr_i32(r);
	int32_t nt = offset_for_leader_epoch_count(r, flex, OFLE_MIN_TOPIC(flex));
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (!r->err)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct offset_for_leader_epoch_topic *t = &out->topics[i];
		kr_str_f(r, flex, &t->topic);
		int32_t np =
			offset_for_leader_epoch_count(r, flex, offset_for_leader_epoch_min_partition(version, flex));
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (r->err)
			break;
		t->partitions_count = np;
		for (int32_t j = 0; j < np && !r->err; j++) {
			struct offset_for_leader_epoch_partition *p = &t->partitions[j];
			p->partition = kr_i32(r);
			p->current_leader_epoch = version >= 2 ? kr_i32(r) : -1;
			p->leader_epoch = kr_i32(r);
			if (flex)
				kr_skip_tags(r);
		}
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		offset_for_leader_epoch_request_free(out);
		return -1;
	}
	return 0;
}

void offset_for_leader_epoch_request_encode(struct kwriter *w, int16_t version,
					    const struct offset_for_leader_epoch_request *in)
{
	bool flex = version >= OFFSET_FOR_LEADER_EPOCH_FLEXIBLE_VERSION;

	assert(version >= OFFSET_FOR_LEADER_EPOCH_MIN_VERSION && version <= OFFSET_FOR_LEADER_EPOCH_MAX_VERSION);
	if (version >= 3)
		kw_i32(w, in->replica_id);
	int32_t nt = in->topics_count < 0 ? 0 : in->topics_count;
	kw_array_len_f(w, flex, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct offset_for_leader_epoch_topic *t = &in->topics[i];
		kw_kstr_nonnull_f(w, flex, t->topic);
		int32_t np = t->partitions_count < 0 ? 0 : t->partitions_count;
		kw_array_len_f(w, flex, np);
		for (int32_t j = 0; j < np; j++) {
			const struct offset_for_leader_epoch_partition *p = &t->partitions[j];
			kw_i32(w, p->partition);
			if (version >= 2)
				kw_i32(w, p->current_leader_epoch);
			kw_i32(w, p->leader_epoch);
			kw_tags_f(w, flex);
		}
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void offset_for_leader_epoch_request_free(struct offset_for_leader_epoch_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++)
		free(req->topics[i].partitions);
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

/* ---- response ---- */

int offset_for_leader_epoch_response_decode(struct kreader *r, int16_t version,
					    struct offset_for_leader_epoch_response *out)
{
	bool flex = version >= OFFSET_FOR_LEADER_EPOCH_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!offset_for_leader_epoch_version_ok(r, version))
		return -1;
	if (version >= 2)
		out->throttle_time_ms = kr_i32(r);
	int32_t nt = offset_for_leader_epoch_count(r, flex, OFLE_MIN_TOPIC(flex));
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (!r->err)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct offset_for_leader_epoch_topic_result *t = &out->topics[i];
		kr_str_f(r, flex, &t->topic);
		int32_t np =
			offset_for_leader_epoch_count(r, flex, offset_for_leader_epoch_min_end_offset(version, flex));
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (r->err)
			break;
		t->partitions_count = np;
		for (int32_t j = 0; j < np && !r->err; j++) {
			struct offset_for_leader_epoch_end_offset *p = &t->partitions[j];
			p->error_code = kr_i16(r);
			p->partition = kr_i32(r);
			p->leader_epoch = version >= 1 ? kr_i32(r) : -1;
			p->end_offset = kr_i64(r);
			if (flex)
				kr_skip_tags(r);
		}
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		offset_for_leader_epoch_response_free(out);
		return -1;
	}
	return 0;
}

void offset_for_leader_epoch_response_encode(struct kwriter *w, int16_t version,
					     const struct offset_for_leader_epoch_response *in)
{
	bool flex = version >= OFFSET_FOR_LEADER_EPOCH_FLEXIBLE_VERSION;

	assert(version >= OFFSET_FOR_LEADER_EPOCH_MIN_VERSION && version <= OFFSET_FOR_LEADER_EPOCH_MAX_VERSION);
	if (version >= 2)
		kw_i32(w, in->throttle_time_ms);
	int32_t nt = in->topics_count < 0 ? 0 : in->topics_count;
	kw_array_len_f(w, flex, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct offset_for_leader_epoch_topic_result *t = &in->topics[i];
		kw_kstr_nonnull_f(w, flex, t->topic);
		int32_t np = t->partitions_count < 0 ? 0 : t->partitions_count;
		kw_array_len_f(w, flex, np);
		for (int32_t j = 0; j < np; j++) {
			const struct offset_for_leader_epoch_end_offset *p = &t->partitions[j];
			kw_i16(w, p->error_code);
			kw_i32(w, p->partition);
			if (version >= 1)
				kw_i32(w, p->leader_epoch);
			kw_i64(w, p->end_offset);
			kw_tags_f(w, flex);
		}
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void offset_for_leader_epoch_response_free(struct offset_for_leader_epoch_response *resp)
{
	for (int32_t i = 0; i < resp->topics_count; i++)
		free(resp->topics[i].partitions);
	free(resp->topics);
	resp->topics = NULL;
	resp->topics_count = 0;
}
