#include "broker/protocol/create_partitions.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of each element, so an array count is checked against
 * the bytes left before anything is allocated. Classic: INT16 string lengths
 * and INT32 array counts; flexible: 1-byte compact lengths plus a 1-byte
 * tagged-field section per struct. */
#define CP_MIN_ASSIGNMENT(flex) ((size_t)((flex) ? 1 + 1 : 4))
#define CP_MIN_TOPIC(flex) ((size_t)((flex) ? 1 + 4 + 1 + 1 : 2 + 4 + 4))
#define CP_MIN_RESULT(flex) ((size_t)((flex) ? 1 + 2 + 1 + 1 : 2 + 2 + 2))

/* A non-nullable array count: null is malformed. */
static int32_t create_partitions_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool create_partitions_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > CREATE_PARTITIONS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* ---- request ---- */

static void create_partitions_topic_decode(struct kreader *r, bool flex, struct create_partitions_topic *t)
{
	kr_str_f(r, flex, &t->name);
	t->count = kr_i32(r);
	int32_t n = kr_array_len_f(r, flex, CP_MIN_ASSIGNMENT(flex)); /* nullable */
	t->assignments = kr_calloc(r, n, sizeof *t->assignments);
	if (r->err)
		return;
	t->assignments_count = n;
	for (int32_t i = 0; i < n && !r->err; i++) {
		struct create_partitions_assignment *a = &t->assignments[i];
		int32_t m = create_partitions_array_len(r, flex, 4);
		a->broker_ids = kr_calloc(r, m, sizeof *a->broker_ids);
		if (r->err)
			return;
		a->broker_ids_count = m;
		for (int32_t j = 0; j < m; j++)
			a->broker_ids[j] = kr_i32(r);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
}

int create_partitions_request_decode(struct kreader *r, int16_t version, struct create_partitions_request *out)
{
	bool flex = version >= CREATE_PARTITIONS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!create_partitions_version_ok(r, version))
		return -1;
	int32_t n = create_partitions_array_len(r, flex, CP_MIN_TOPIC(flex));
	out->topics = kr_calloc(r, n, sizeof *out->topics);
	if (!r->err)
		out->topics_count = n;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++)
		create_partitions_topic_decode(r, flex, &out->topics[i]);
	out->timeout_ms = kr_i32(r);
	out->validate_only = kr_bool(r);
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		create_partitions_request_free(out);
		return -1;
	}
	return 0;
}

void create_partitions_request_encode(struct kwriter *w, int16_t version,
				      const struct create_partitions_request *in)
{
	bool flex = version >= CREATE_PARTITIONS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= CREATE_PARTITIONS_MAX_VERSION);
	kw_array_len_f(w, flex, in->topics_count < 0 ? 0 : in->topics_count);
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct create_partitions_topic *t = &in->topics[i];
		kw_kstr_f(w, flex, t->name);
		kw_i32(w, t->count);
		kw_array_len_f(w, flex, t->assignments_count);
		for (int32_t j = 0; j < t->assignments_count; j++) {
			const struct create_partitions_assignment *a = &t->assignments[j];
			kw_array_len_f(w, flex, a->broker_ids_count < 0 ? 0 : a->broker_ids_count);
			for (int32_t k = 0; k < a->broker_ids_count; k++)
				kw_i32(w, a->broker_ids[k]);
			kw_tags_f(w, flex);
		}
		kw_tags_f(w, flex);
	}
	kw_i32(w, in->timeout_ms);
	kw_bool(w, in->validate_only);
	kw_tags_f(w, flex);
}

void create_partitions_request_free(struct create_partitions_request *req)
{
	for (int32_t i = 0; i < req->topics_count; i++) {
		struct create_partitions_topic *t = &req->topics[i];
		for (int32_t j = 0; j < t->assignments_count; j++)
			free(t->assignments[j].broker_ids);
		free(t->assignments);
	}
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

/* ---- response ---- */

int create_partitions_response_decode(struct kreader *r, int16_t version, struct create_partitions_response *out)
{
	bool flex = version >= CREATE_PARTITIONS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!create_partitions_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	int32_t n = create_partitions_array_len(r, flex, CP_MIN_RESULT(flex));
	out->results = kr_calloc(r, n, sizeof *out->results);
	if (!r->err)
		out->results_count = n;
	for (int32_t i = 0; i < out->results_count && !r->err; i++) {
		struct create_partitions_topic_result *t = &out->results[i];
		kr_str_f(r, flex, &t->name);
		t->error_code = kr_i16(r);
		kr_nullable_str_f(r, flex, &t->error_message);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		create_partitions_response_free(out);
		return -1;
	}
	return 0;
}

void create_partitions_response_encode(struct kwriter *w, int16_t version,
				       const struct create_partitions_response *in)
{
	bool flex = version >= CREATE_PARTITIONS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= CREATE_PARTITIONS_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, flex, in->results_count < 0 ? 0 : in->results_count);
	for (int32_t i = 0; i < in->results_count; i++) {
		const struct create_partitions_topic_result *t = &in->results[i];
		kw_kstr_f(w, flex, t->name);
		kw_i16(w, t->error_code);
		kw_kstr_f(w, flex, t->error_message);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void create_partitions_response_free(struct create_partitions_response *resp)
{
	free(resp->results);
	resp->results = NULL;
	resp->results_count = 0;
}
