#include "broker/protocol/init_producer_id.h"

#include <assert.h>
#include <string.h>

static bool init_producer_id_version_ok(struct kreader *r, int16_t version)
{
	if (version < INIT_PRODUCER_ID_MIN_VERSION || version > INIT_PRODUCER_ID_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

int init_producer_id_request_decode(struct kreader *r, int16_t version, struct init_producer_id_request *out)
{
	bool flex = version >= INIT_PRODUCER_ID_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	out->transactional_id = (struct kstr){NULL, -1};
	out->producer_id = -1;
	out->producer_epoch = -1;
	if (!init_producer_id_version_ok(r, version))
		return -1;
	kr_nullable_str_f(r, flex, &out->transactional_id);
	out->transaction_timeout_ms = kr_i32(r);
	if (version >= 3) {
		out->producer_id = kr_i64(r);
		out->producer_epoch = kr_i16(r);
	}
	if (flex)
		kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void init_producer_id_request_encode(struct kwriter *w, int16_t version, const struct init_producer_id_request *in)
{
	bool flex = version >= INIT_PRODUCER_ID_FLEXIBLE_VERSION;
	assert(version >= INIT_PRODUCER_ID_MIN_VERSION && version <= INIT_PRODUCER_ID_MAX_VERSION);
	kw_kstr_f(w, flex, in->transactional_id);
	kw_i32(w, in->transaction_timeout_ms);
	if (version >= 3) {
		kw_i64(w, in->producer_id);
		kw_i16(w, in->producer_epoch);
	}
	kw_tags_f(w, flex);
}

void init_producer_id_request_free(struct init_producer_id_request *req)
{
	(void)req;
}

int init_producer_id_response_decode(struct kreader *r, int16_t version, struct init_producer_id_response *out)
{
	bool flex = version >= INIT_PRODUCER_ID_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	out->producer_id = -1;
	if (!init_producer_id_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	out->producer_id = kr_i64(r);
	out->producer_epoch = kr_i16(r);
	if (flex)
		kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void init_producer_id_response_encode(struct kwriter *w, int16_t version, const struct init_producer_id_response *in)
{
	bool flex = version >= INIT_PRODUCER_ID_FLEXIBLE_VERSION;
	assert(version >= INIT_PRODUCER_ID_MIN_VERSION && version <= INIT_PRODUCER_ID_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	kw_i64(w, in->producer_id);
	kw_i16(w, in->producer_epoch);
	kw_tags_f(w, flex);
}

void init_producer_id_response_free(struct init_producer_id_response *resp)
{
	(void)resp;
}
