#include "broker/protocol/delete_groups.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static bool delete_groups_version_ok(struct kreader *r, int16_t version)
{
	if (version < DELETE_GROUPS_MIN_VERSION || version > DELETE_GROUPS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Neither array is nullable in any version: null is malformed. The count is
 * bounded by the bytes left (min_elem per element) before anything is
 * allocated. */
static int32_t delete_groups_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

int delete_groups_request_decode(struct kreader *r, int16_t version, struct delete_groups_request *out)
{
	bool flex = version >= DELETE_GROUPS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!delete_groups_version_ok(r, version))
		return -1;
	int32_t n = delete_groups_array_len(r, flex, flex ? 1 : 2);
	out->groups_names = kr_calloc(r, n, sizeof *out->groups_names);
	if (!r->err)
		out->groups_names_count = n;
	for (int32_t i = 0; i < out->groups_names_count && !r->err; i++)
		kr_str_f(r, flex, &out->groups_names[i]);
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		delete_groups_request_free(out);
		return -1;
	}
	return 0;
}

void delete_groups_request_encode(struct kwriter *w, int16_t version, const struct delete_groups_request *in)
{
	bool flex = version >= DELETE_GROUPS_FLEXIBLE_VERSION;

	assert(version >= DELETE_GROUPS_MIN_VERSION && version <= DELETE_GROUPS_MAX_VERSION);
	kw_array_len_f(w, flex, in->groups_names_count < 0 ? 0 : in->groups_names_count);
	for (int32_t i = 0; i < in->groups_names_count; i++)
		kw_kstr_nonnull_f(w, flex, in->groups_names[i]);
	kw_tags_f(w, flex);
}

void delete_groups_request_free(struct delete_groups_request *req)
{
	free(req->groups_names);
	memset(req, 0, sizeof *req);
}

int delete_groups_response_decode(struct kreader *r, int16_t version, struct delete_groups_response *out)
{
	bool flex = version >= DELETE_GROUPS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!delete_groups_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	/* group_id, error_code, and the result's tag section when flexible. */
	size_t min = flex ? 1 + 2 + 1 : 2 + 2;
	int32_t n = delete_groups_array_len(r, flex, min);
	out->results = kr_calloc(r, n, sizeof *out->results);
	if (!r->err)
		out->results_count = n;
	for (int32_t i = 0; i < out->results_count && !r->err; i++) {
		struct delete_groups_result *g = &out->results[i];
		kr_str_f(r, flex, &g->group_id);
		g->error_code = kr_i16(r);
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		delete_groups_response_free(out);
		return -1;
	}
	return 0;
}

void delete_groups_response_encode(struct kwriter *w, int16_t version, const struct delete_groups_response *in)
{
	bool flex = version >= DELETE_GROUPS_FLEXIBLE_VERSION;

	assert(version >= DELETE_GROUPS_MIN_VERSION && version <= DELETE_GROUPS_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, flex, in->results_count < 0 ? 0 : in->results_count);
	for (int32_t i = 0; i < in->results_count; i++) {
		kw_kstr_nonnull_f(w, flex, in->results[i].group_id);
		kw_i16(w, in->results[i].error_code);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void delete_groups_response_free(struct delete_groups_response *resp)
{
	free(resp->results);
	memset(resp, 0, sizeof *resp);
}
