#include "broker/protocol/find_coordinator.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const struct kstr find_coordinator_null = {NULL, -1};

/* A non-nullable array count: null is malformed. */
static int32_t find_coordinator_array_len(struct kreader *r, bool flex, size_t min_elem)
{
	int32_t n = kr_array_len_f(r, flex, min_elem);
	if (n < 0) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return n;
}

static bool find_coordinator_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > FIND_COORDINATOR_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when the caller left them null, so
 * the encoder never produces a frame a Kafka client would reject. */
static void find_coordinator_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

int find_coordinator_request_decode(struct kreader *r, int16_t version, struct find_coordinator_request *out)
{
	bool flex = version >= FIND_COORDINATOR_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->key = find_coordinator_null;
	if (!find_coordinator_version_ok(r, version))
		return -1;
	if (version <= 3)
		kr_str_f(r, flex, &out->key);
	if (version >= 1)
		out->key_type = kr_i8(r);
	if (version >= 4) {
		int32_t n = find_coordinator_array_len(r, flex, 1);
		out->coordinator_keys = kr_calloc(r, n, sizeof *out->coordinator_keys);
		if (!r->err)
			out->coordinator_keys_count = n;
		for (int32_t i = 0; i < out->coordinator_keys_count && !r->err; i++)
			kr_str_f(r, flex, &out->coordinator_keys[i]);
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		find_coordinator_request_free(out);
		return -1;
	}
	return 0;
}

void find_coordinator_request_encode(struct kwriter *w, int16_t version, const struct find_coordinator_request *in)
{
	bool flex = version >= FIND_COORDINATOR_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= FIND_COORDINATOR_MAX_VERSION);
	if (version <= 3)
		find_coordinator_str(w, flex, in->key);
	if (version >= 1)
		kw_i8(w, in->key_type);
	if (version >= 4) {
		kw_array_len_f(w, flex, in->coordinator_keys_count);
		for (int32_t i = 0; i < in->coordinator_keys_count; i++)
			find_coordinator_str(w, flex, in->coordinator_keys[i]);
	}
	kw_tags_f(w, flex);
}

void find_coordinator_request_free(struct find_coordinator_request *req)
{
	free(req->coordinator_keys);
	req->coordinator_keys = NULL;
	req->coordinator_keys_count = 0;
}

int find_coordinator_response_decode(struct kreader *r, int16_t version, struct find_coordinator_response *out)
{
	bool flex = version >= FIND_COORDINATOR_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->error_message = find_coordinator_null;
	out->host = find_coordinator_null;
	if (!find_coordinator_version_ok(r, version))
		return -1;
	if (version >= 1)
		out->throttle_time_ms = kr_i32(r);
	if (version <= 3) {
		out->error_code = kr_i16(r);
		if (version >= 1)
			kr_nullable_str_f(r, flex, &out->error_message);
		out->node_id = kr_i32(r);
		kr_str_f(r, flex, &out->host);
		out->port = kr_i32(r);
	} else {
		/* key, node, host, port, error, message, tags */
		int32_t n = find_coordinator_array_len(r, flex, 1 + 4 + 1 + 4 + 2 + 1 + 1);
		out->coordinators = kr_calloc(r, n, sizeof *out->coordinators);
		if (!r->err)
			out->coordinators_count = n;
		for (int32_t i = 0; i < out->coordinators_count && !r->err; i++) {
			struct find_coordinator_coordinator *c = &out->coordinators[i];
			kr_str_f(r, flex, &c->key);
			c->node_id = kr_i32(r);
			kr_str_f(r, flex, &c->host);
			c->port = kr_i32(r);
			c->error_code = kr_i16(r);
			kr_nullable_str_f(r, flex, &c->error_message);
			kr_skip_tags(r);
		}
	}
	if (flex)
		kr_skip_tags(r);
	if (r->err) {
		find_coordinator_response_free(out);
		return -1;
	}
	return 0;
}

void find_coordinator_response_encode(struct kwriter *w, int16_t version,
				      const struct find_coordinator_response *in)
{
	bool flex = version >= FIND_COORDINATOR_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= FIND_COORDINATOR_MAX_VERSION);
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	if (version <= 3) {
		kw_i16(w, in->error_code);
		if (version >= 1)
			kw_kstr_f(w, flex, in->error_message);
		kw_i32(w, in->node_id);
		find_coordinator_str(w, flex, in->host);
		kw_i32(w, in->port);
	} else {
		kw_array_len_f(w, flex, in->coordinators_count);
		for (int32_t i = 0; i < in->coordinators_count; i++) {
			const struct find_coordinator_coordinator *c = &in->coordinators[i];
			find_coordinator_str(w, flex, c->key);
			kw_i32(w, c->node_id);
			find_coordinator_str(w, flex, c->host);
			kw_i32(w, c->port);
			kw_i16(w, c->error_code);
			kw_kstr_f(w, flex, c->error_message);
			kw_tags_f(w, flex);
		}
	}
	kw_tags_f(w, flex);
}

void find_coordinator_response_free(struct find_coordinator_response *resp)
{
	free(resp->coordinators);
	resp->coordinators = NULL;
	resp->coordinators_count = 0;
}
