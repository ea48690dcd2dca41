#include "broker/protocol/offset_delete.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* v0 is not flexible: classic INT16 strings and INT32 array counts. */
#define OFFSET_DELETE_STR_MIN 2
#define OFFSET_DELETE_ARRAY_MIN 4

static bool offset_delete_version_ok(struct kreader *r, int16_t version)
{
	if (version < OFFSET_DELETE_MIN_VERSION || version > OFFSET_DELETE_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* No array is nullable: null is malformed. The count is bounded by the bytes
 * left (min_elem per element) before anything is allocated. */
static int32_t offset_delete_array_len(struct kreader *r, size_t min_elem)
{
	int32_t n = kr_array_len(r, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

int offset_delete_request_decode(struct kreader *r, int16_t version, struct offset_delete_request *out)
{
	memset(out, 0, sizeof *out);
	if (!offset_delete_version_ok(r, version))
		return -1;
	kr_string(r, &out->group_id);
	int32_t n = offset_delete_array_len(r, OFFSET_DELETE_STR_MIN + OFFSET_DELETE_ARRAY_MIN);
	out->topics = kr_calloc(r, n, sizeof *out->topics);
	if (!r->err)
		out->topics_count = n;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct offset_delete_request_topic *t = &out->topics[i];
		kr_string(r, &t->name);
		int32_t pn = offset_delete_array_len(r, 4);
		t->partitions = kr_calloc(r, pn, sizeof *t->partitions);
		if (!r->err)
			t->partitions_count = pn;
		for (int32_t j = 0; j < t->partitions_count && !r->err; j++)
			t->partitions[j] = kr_i32(r);
	}
	if (r->err) {
		offset_delete_request_free(out);
		return -1;
	}
	return 0;
}

void offset_delete_request_encode(struct kwriter *w, int16_t version, const struct offset_delete_request *in)
{
	assert(version >= OFFSET_DELETE_MIN_VERSION && version <= OFFSET_DELETE_MAX_VERSION);
	kw_kstr_nonnull_f(w, false, in->group_id);
	kw_array_len_f(w, false, in->topics_count < 0 ? 0 : in->topics_count);
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct offset_delete_request_topic *t = &in->topics[i];
		kw_kstr_nonnull_f(w, false, t->name);
		kw_array_len_f(w, false, t->partitions_count < 0 ? 0 : t->partitions_count);
		for (int32_t j = 0; j < t->partitions_count; j++)
			kw_i32(w, t->partitions[j]);
	}
}

void offset_delete_request_free(struct offset_delete_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++)
		free(req->topics[i].partitions);
	free(req->topics);
	memset(req, 0, sizeof *req);
}

int offset_delete_response_decode(struct kreader *r, int16_t version, struct offset_delete_response *out)
{
	memset(out, 0, sizeof *out);
	if (!offset_delete_version_ok(r, version))
		return -1;
	out->error_code = kr_i16(r);
	out->throttle_time_ms = kr_i32(r);
	int32_t n = offset_delete_array_len(r, OFFSET_DELETE_STR_MIN + OFFSET_DELETE_ARRAY_MIN);
	out->topics = kr_calloc(r, n, sizeof *out->topics);
	if (!r->err)
		out->topics_count = n;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct offset_delete_response_topic *t = &out->topics[i];
		kr_string(r, &t->name);
		int32_t pn = offset_delete_array_len(r, 4 + 2);
		t->partitions = kr_calloc(r, pn, sizeof *t->partitions);
		if (!r->err)
			t->partitions_count = pn;
		for (int32_t j = 0; j < t->partitions_count && !r->err; j++) {
			t->partitions[j].partition_index = kr_i32(r);
			t->partitions[j].error_code = kr_i16(r);
		}
	}
	if (r->err) {
		offset_delete_response_free(out);
		return -1;
	}
	return 0;
}

void offset_delete_response_encode(struct kwriter *w, int16_t version, const struct offset_delete_response *in)
{
	assert(version >= OFFSET_DELETE_MIN_VERSION && version <= OFFSET_DELETE_MAX_VERSION);
	kw_i16(w, in->error_code);
	kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, false, in->topics_count < 0 ? 0 : in->topics_count);
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct offset_delete_response_topic *t = &in->topics[i];
		kw_kstr_nonnull_f(w, false, t->name);
		kw_array_len_f(w, false, t->partitions_count < 0 ? 0 : t->partitions_count);
		for (int32_t j = 0; j < t->partitions_count; j++) {
			kw_i32(w, t->partitions[j].partition_index);
			kw_i16(w, t->partitions[j].error_code);
		}
	}
}

void offset_delete_response_free(struct offset_delete_response *resp)
{
	for (int32_t i = 0; i < resp->topics_count; i++)
		free(resp->topics[i].partitions);
	free(resp->topics);
	memset(resp, 0, sizeof *resp);
}
