#include "broker/protocol/allocate_producer_ids.h"

#include <assert.h>
#include <string.h>

static bool allocate_producer_ids_version_ok(struct kreader *r, int16_t version)
{
	if (version < ALLOCATE_PRODUCER_IDS_MIN_VERSION || version > ALLOCATE_PRODUCER_IDS_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

int allocate_producer_ids_request_decode(struct kreader *r, int16_t version,
					 struct allocate_producer_ids_request *out)
{
	memset(out, 0, sizeof *out);
	out->broker_epoch = -1;
	if (!allocate_producer_ids_version_ok(r, version))
		return -1;
	out->broker_id = kr_i32(r);
	out->broker_epoch = kr_i64(r);
	kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void allocate_producer_ids_request_encode(struct kwriter *w, int16_t version,
					  const struct allocate_producer_ids_request *in)
{
	assert(version >= ALLOCATE_PRODUCER_IDS_MIN_VERSION && version <= ALLOCATE_PRODUCER_IDS_MAX_VERSION);
	kw_i32(w, in->broker_id);
	kw_i64(w, in->broker_epoch);
	kw_tags_f(w, true);
}

void allocate_producer_ids_request_free(struct allocate_producer_ids_request *req)
{
	(void)req;
}

int allocate_producer_ids_response_decode(struct kreader *r, int16_t version,
					  struct allocate_producer_ids_response *out)
{
	memset(out, 0, sizeof *out);
	if (!allocate_producer_ids_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	out->producer_id_start = kr_i64(r);
	out->producer_id_len = kr_i32(r);
	kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void allocate_producer_ids_response_encode(struct kwriter *w, int16_t version,
					   const struct allocate_producer_ids_response *in)
{
	assert(version >= ALLOCATE_PRODUCER_IDS_MIN_VERSION && version <= ALLOCATE_PRODUCER_IDS_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	kw_i64(w, in->producer_id_start);
	kw_i32(w, in->producer_id_len);
	kw_tags_f(w, true);
}

void allocate_producer_ids_response_free(struct allocate_producer_ids_response *resp)
{
	(void)resp;
}
