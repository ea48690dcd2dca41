#include "broker/protocol/alter_partition.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of each array element (every version is flexible:
 * 1-byte compact lengths and a 1-byte tagged-field section per struct). */
#define AP_MIN_BROKER_STATE (4 + 8 + 1)

static size_t alter_partition_min_topic(int16_t version)
{
	return (version >= 2 ? 16 : 1) + 1 + 1; /* id or name, partitions, tags */
}

static size_t alter_partition_min_partition(int16_t version)
{
	/* index, leader_epoch, ISR array, (recovery state,) partition_epoch, tags */
	return 4 + 4 + 1 + (version >= 1 ? 1 : 0) + 4 + 1;
}

static size_t alter_partition_min_partition_result(int16_t version)
{
	/* index, error, leader_id, leader_epoch, isr, (recovery state,) partition_epoch, tags */
	return 4 + 2 + 4 + 4 + 1 + (version >= 1 ? 1 : 0) + 4 + 1;
}

static bool alter_partition_version_ok(struct kreader *r, int16_t version)
{
	if (version < ALTER_PARTITION_MIN_VERSION || version > ALTER_PARTITION_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* A non-nullable compact array count: null is malformed. */
static int32_t alter_partition_count(struct kreader *r, size_t min_elem)
{
	int32_t n = kr_compact_array_len(r, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

/* Non-nullable strings are written as "" when left null. */
static void alter_partition_put_str(struct kwriter *w, struct kstr s)
{
	kw_compact_string(w, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

/* A compact []int32 of broker ids into *ids / *count. */
static void alter_partition_ids_decode(struct kreader *r, int32_t **ids, int32_t *count)
{
	int32_t n = alter_partition_count(r, 4);
	*ids = kr_calloc(r, n, sizeof **ids);
	if (r->err)
		return;
	*count = n;
	for (int32_t i = 0; i < n; i++)
		(*ids)[i] = kr_i32(r);
}

static void alter_partition_ids_encode(struct kwriter *w, const int32_t *ids, int32_t count)
{
	int32_t n = count < 0 ? 0 : count;
	kw_array_len_f(w, true, n);
	for (int32_t i = 0; i < n; i++)
		kw_i32(w, ids[i]);
}

/* Topic name (v0-1) or id (v2+); the other keeps its default. */
static void alter_partition_topic_key_decode(struct kreader *r, int16_t version, struct kstr *name,
					     uint8_t id[16])
{
	if (version >= 2) {
		*name = (struct kstr){"", 0};
		kr_uuid(r, id);
	} else {
		kr_compact_string(r, name);
	}
}

static void alter_partition_topic_key_encode(struct kwriter *w, int16_t version, struct kstr name,
					     const uint8_t id[16])
{
	if (version >= 2)
		kw_uuid(w, id);
	else
		alter_partition_put_str(w, name);
}

/* ---- request ---- */

static void alter_partition_partition_decode(struct kreader *r, int16_t version, struct alter_partition_partition *p)
{
	p->partition_index = kr_i32(r);
	p->leader_epoch = kr_i32(r);
	if (version <= 2) {
		alter_partition_ids_decode(r, &p->new_isr, &p->new_isr_count);
	} else {
		int32_t n = alter_partition_count(r, AP_MIN_BROKER_STATE);
		p->new_isr_with_epochs = kr_calloc(r, n, sizeof *p->new_isr_with_epochs);
		if (r->err)
			return;
		p->new_isr_with_epochs_count = n;
		for (int32_t i = 0; i < n && !r->err; i++) {
			p->new_isr_with_epochs[i].broker_id = kr_i32(r);
			p->new_isr_with_epochs[i].broker_epoch = kr_i64(r);
			kr_skip_tags(r);
		}
	}
	if (version >= 1)
		p->leader_recovery_state = kr_i8(r);
	p->partition_epoch = kr_i32(r);
	kr_skip_tags(r);
}

int alter_partition_request_decode(struct kreader *r, int16_t version, struct alter_partition_request *out)
{
	memset(out, 0, sizeof *out);
	out->broker_epoch = -1;
	if (!alter_partition_version_ok(r, version))
		return -1;
	out->broker_id = kr_i32(r);
	out->broker_epoch = kr_i64(r);
	int32_t nt = alter_partition_count(r, alter_partition_min_topic(version));
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (!r->err)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct alter_partition_topic *t = &out->topics[i];
		alter_partition_topic_key_decode(r, version, &t->topic_name, t->topic_id);
		int32_t np = alter_partition_count(r, alter_partition_min_partition(version));
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (r->err)
			break;
		t->partitions_count = np;
		for (int32_t j = 0; j < np && !r->err; j++)
			alter_partition_partition_decode(r, version, &t->partitions[j]);
		kr_skip_tags(r);
	}
	kr_skip_tags(r);

	if (r->err) {
		alter_partition_request_free(out);
		return -1;
	}
	return 0;
}

void alter_partition_request_encode(struct kwriter *w, int16_t version, const struct alter_partition_request *in)
{
	assert(version >= ALTER_PARTITION_MIN_VERSION && version <= ALTER_PARTITION_MAX_VERSION);
	kw_i32(w, in->broker_id);
	kw_i64(w, in->broker_epoch);
	int32_t nt = in->topics_count < 0 ? 0 : in->topics_count;
	kw_array_len_f(w, true, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct alter_partition_topic *t = &in->topics[i];
		alter_partition_topic_key_encode(w, version, t->topic_name, t->topic_id);
		int32_t np = t->partitions_count < 0 ? 0 : t->partitions_count;
		kw_array_len_f(w, true, np);
		for (int32_t j = 0; j < np; j++) {
			const struct alter_partition_partition *p = &t->partitions[j];
			kw_i32(w, p->partition_index);
			kw_i32(w, p->leader_epoch);
			if (version <= 2) {
				alter_partition_ids_encode(w, p->new_isr, p->new_isr_count);
			} else {
				int32_t nb = p->new_isr_with_epochs_count < 0 ? 0 : p->new_isr_with_epochs_count;
				kw_array_len_f(w, true, nb);
				for (int32_t k = 0; k < nb; k++) {
					kw_i32(w, p->new_isr_with_epochs[k].broker_id);
					kw_i64(w, p->new_isr_with_epochs[k].broker_epoch);
					kw_tags_f(w, true);
				}
			}
			if (version >= 1)
				kw_i8(w, p->leader_recovery_state);
			kw_i32(w, p->partition_epoch);
			kw_tags_f(w, true);
		}
		kw_tags_f(w, true);
	}
	kw_tags_f(w, true);
}

void alter_partition_request_free(struct alter_partition_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++) {
		struct alter_partition_topic *t = &req->topics[i];
		for (int32_t j = 0; j < t->partitions_count; j++) {
			free(t->partitions[j].new_isr);
			free(t->partitions[j].new_isr_with_epochs);
		}
		free(t->partitions);
	}
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

/* ---- response ---- */

static void alter_partition_partition_result_decode(struct kreader *r, int16_t version,
						    struct alter_partition_partition_result *p)
{
	p->partition_index = kr_i32(r);
	p->error_code = kr_i16(r);
	p->leader_id = kr_i32(r);
	p->leader_epoch = kr_i32(r);
	alter_partition_ids_decode(r, &p->isr, &p->isr_count);
	if (version >= 1)
		p->leader_recovery_state = kr_i8(r);
	p->partition_epoch = kr_i32(r);
	kr_skip_tags(r);
}

int alter_partition_response_decode(struct kreader *r, int16_t version, struct alter_partition_response *out)
{
	memset(out, 0, sizeof *out);
	if (!alter_partition_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	int32_t nt = alter_partition_count(r, alter_partition_min_topic(version));
	out->topics = kr_calloc(r, nt, sizeof *out->topics);
	if (!r->err)
		out->topics_count = nt;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct alter_partition_topic_result *t = &out->topics[i];
		alter_partition_topic_key_decode(r, version, &t->topic_name, t->topic_id);
		int32_t np = alter_partition_count(r, alter_partition_min_partition_result(version));
		t->partitions = kr_calloc(r, np, sizeof *t->partitions);
		if (r->err)
			break;
		t->partitions_count = np;
		for (int32_t j = 0; j < np && !r->err; j++)
			alter_partition_partition_result_decode(r, version, &t->partitions[j]);
		kr_skip_tags(r);
	}
	kr_skip_tags(r);

	if (r->err) {
		alter_partition_response_free(out);
		return -1;
	}
	return 0;
}

void alter_partition_response_encode(struct kwriter *w, int16_t version,
				     const struct alter_partition_response *in)
{
	assert(version >= ALTER_PARTITION_MIN_VERSION && version <= ALTER_PARTITION_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	int32_t nt = in->topics_count < 0 ? 0 : in->topics_count;
	kw_array_len_f(w, true, nt);
	for (int32_t i = 0; i < nt; i++) {
		const struct alter_partition_topic_result *t = &in->topics[i];
		alter_partition_topic_key_encode(w, version, t->topic_name, t->topic_id);
		int32_t np = t->partitions_count < 0 ? 0 : t->partitions_count;
		kw_array_len_f(w, true, np);
		for (int32_t j = 0; j < np; j++) {
			const struct alter_partition_partition_result *p = &t->partitions[j];
			kw_i32(w, p->partition_index);
			kw_i16(w, p->error_code);
			kw_i32(w, p->leader_id);
			kw_i32(w, p->leader_epoch);
			alter_partition_ids_encode(w, p->isr, p->isr_count);
			if (version >= 1)
				kw_i8(w, p->leader_recovery_state);
			kw_i32(w, p->partition_epoch);
			kw_tags_f(w, true);
		}
		kw_tags_f(w, true);
	}
	kw_tags_f(w, true);
}

void alter_partition_response_free(struct alter_partition_response *resp)
{
	for (int32_t i = 0; i < resp->topics_count; i++) {
		struct alter_partition_topic_result *t = &resp->topics[i];
		for (int32_t j = 0; j < t->partitions_count; j++)
			free(t->partitions[j].isr);
		free(t->partitions);
	}
	free(resp->topics);
	resp->topics = NULL;
	resp->topics_count = 0;
}
