#include "broker/protocol/heartbeat.h"

#include <assert.h>
#include <string.h>

static bool heartbeat_version_ok(struct kreader *r, int16_t version)
{
	if (version < 0 || version > HEARTBEAT_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* Non-nullable strings are written as "" when left null. */
static void heartbeat_str(struct kwriter *w, bool flex, struct kstr s)
{
	kw_str_f(w, flex, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

int heartbeat_request_decode(struct kreader *r, int16_t version, struct heartbeat_request *out)
{
	bool flex = version >= HEARTBEAT_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	out->group_instance_id.len = -1;
	if (!heartbeat_version_ok(r, version))
		return -1;
	kr_str_f(r, flex, &out->group_id);
	out->generation_id = kr_i32(r);
	kr_str_f(r, flex, &out->member_id);
	if (version >= 3)
		kr_nullable_str_f(r, flex, &out->group_instance_id);
	if (flex)
		kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void heartbeat_request_encode(struct kwriter *w, int16_t version, const struct heartbeat_request *in)
{
	bool flex = version >= HEARTBEAT_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= HEARTBEAT_MAX_VERSION);
	heartbeat_str(w, flex, in->group_id);
	kw_i32(w, in->generation_id);
	heartbeat_str(w, flex, in->member_id);
	if (version >= 3)
		kw_kstr_f(w, flex, in->group_instance_id);
	kw_tags_f(w, flex);
}

void heartbeat_request_free(struct heartbeat_request *req)
{
	(void)req;
}

int heartbeat_response_decode(struct kreader *r, int16_t version, struct heartbeat_response *out)
{
	bool flex = version >= HEARTBEAT_FLEXIBLE_VERSION;

	memset(out, 0, sizeof *out);
	if (!heartbeat_version_ok(r, version))
		return -1;
	if (version >= 1)
		out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	if (flex)
		kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void heartbeat_response_encode(struct kwriter *w, int16_t version, const struct heartbeat_response *in)
{
	bool flex = version >= HEARTBEAT_FLEXIBLE_VERSION;

	assert(version >= 0 && version <= HEARTBEAT_MAX_VERSION);
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	kw_tags_f(w, flex);
}

void heartbeat_response_free(struct heartbeat_response *resp)
{
	(void)resp;
}
