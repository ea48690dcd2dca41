#include "broker/protocol/delete_topics.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const struct kstr delete_topics_null = {NULL, -1};

/* A non-nullable array count: null is malformed. */
static int32_t delete_topics_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool delete_topics_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > DELETE_TOPICS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* ---- request ---- */

int delete_topics_request_decode(struct kreader *r, int16_t version, struct delete_topics_request *out)
{
	bool flex = version >= DELETE_TOPICS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!delete_topics_version_ok(r, version))
		return -1;

	/* v6: name (1-byte compact length) + 16-byte id + tags; before: a string. */
	size_t min_elem = version >= 6 ? 1 + 16 + 1 : (flex ? 1 : 2);
	int32_t n = delete_topics_array_len(r, flex, min_elem);
	out->topics = kr_calloc(r, n, sizeof *out->topics);
	if (!r->err)
		out->topics_count = n;
	for (int32_t i = 0; i < out->topics_count && !r->err; i++) {
		struct delete_topics_topic *t = &out->topics[i];
		if (version >= 6) {
			kr_nullable_str_f(r, flex, &t->name);
			kr_uuid(r, t->topic_id);
			kr_skip_tags(r);
		} else {
			kr_str_f(r, flex, &t->name);
		}
	}
	out->timeout_ms = kr_i32(r);
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		delete_topics_request_free(out);
		return -1;
	}
	return 0;
}

void delete_topics_request_encode(struct kwriter *w, int16_t version, const struct delete_topics_request *in)
{
	bool flex = version >= DELETE_TOPICS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= DELETE_TOPICS_MAX_VERSION);
	kw_array_len_f(w, flex, in->topics_count < 0 ? 0 : in->topics_count);
	for (int32_t i = 0; i < in->topics_count; i++) {
		const struct delete_topics_topic *t = &in->topics[i];
		kw_kstr_f(w, flex, t->name);
		if (version >= 6) {
			kw_uuid(w, t->topic_id);
			kw_tags_f(w, flex);
		}
	}
	kw_i32(w, in->timeout_ms);
	kw_tags_f(w, flex);
}

void delete_topics_request_free(struct delete_topics_request *req)
{
	free(req->topics);
	req->topics = NULL;
	req->topics_count = 0;
}

/* ---- response ---- */

static size_t delete_topics_min_result(int16_t version, bool flex)
{
	size_t n = (flex ? 1 : 2) + 2; /* name, error_code */
	if (version >= 6)
		n += 16;
	if (version >= 5)
		n += 1; /* error_message (v5+ is flexible) */
	if (flex)
		n += 1; /* tags */
	return n;
}

int delete_topics_response_decode(struct kreader *r, int16_t version, struct delete_topics_response *out)
{
	bool flex = version >= DELETE_TOPICS_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!delete_topics_version_ok(r, version))
		return -1;
	if (version >= 1)
		out->throttle_time_ms = kr_i32(r);
	int32_t n = delete_topics_array_len(r, flex, delete_topics_min_result(version, flex));
	out->responses = kr_calloc(r, n, sizeof *out->responses);
	if (!r->err)
		out->responses_count = n;
	for (int32_t i = 0; i < out->responses_count && !r->err; i++) {
		struct delete_topics_topic_result *t = &out->responses[i];
		if (version >= 6)
			kr_nullable_str_f(r, flex, &t->name);
		else
			kr_str_f(r, flex, &t->name);
		if (version >= 6)
			kr_uuid(r, t->topic_id);
		t->error_code = kr_i16(r);
		if (version >= 5)
			kr_nullable_str_f(r, flex, &t->error_message);
		else
			t->error_message = delete_topics_null;
		if (flex)
			kr_skip_tags(r);
	}
	if (flex)
		kr_skip_tags(r);

	if (r->err) {
		delete_topics_response_free(out);
		return -1;
	}
	return 0;
}

void delete_topics_response_encode(struct kwriter *w, int16_t version, const struct delete_topics_response *in)
{
	bool flex = version >= DELETE_TOPICS_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= DELETE_TOPICS_MAX_VERSION);
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	kw_array_len_f(w, flex, in->responses_count < 0 ? 0 : in->responses_count);
	for (int32_t i = 0; i < in->responses_count; i++) {
		const struct delete_topics_topic_result *t = &in->responses[i];
		kw_kstr_f(w, flex, t->name);
		if (version >= 6)
			kw_uuid(w, t->topic_id);
		kw_i16(w, t->error_code);
		if (version >= 5)
			kw_kstr_f(w, flex, t->error_message);
		kw_tags_f(w, flex);
	}
	kw_tags_f(w, flex);
}

void delete_topics_response_free(struct delete_topics_response *resp)
{
	free(resp->responses);
	resp->responses = NULL;
	resp->responses_count = 0;
}
