#include "broker/protocol/broker_heartbeat.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Request tagged fields (v1+). */
#define BROKER_HEARTBEAT_TAG_OFFLINE_LOG_DIRS 0

static bool broker_heartbeat_version_ok(struct kreader *r, int16_t version)
{
	if (version < BROKER_HEARTBEAT_MIN_VERSION || version > BROKER_HEARTBEAT_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* offline_log_dirs from its tagged-field slice: a non-nullable compact array
 * of UUIDs, bounded by the slice before anything is allocated. */
static void broker_heartbeat_offline_dirs_decode(struct kreader *field, struct broker_heartbeat_request *out)
{
	int32_t n = kr_compact_array_len(field, 16);
	if (n < 0 && !field->err)
		field->err = KR_EINVALID; /* null is not allowed */
	if (field->err || n <= 0)
		return;
	out->offline_log_dirs = calloc((size_t)n, sizeof *out->offline_log_dirs);
	if (!out->offline_log_dirs) {
		field->err = KR_EINVALID; /* out of memory closes the connection like bad bytes */
		return;
	}
	out->offline_log_dirs_count = n;
	for (int32_t i = 0; i < n; i++)
		kr_uuid(field, out->offline_log_dirs[i]);
}

/* The request's tagged-field section: keeps offline_log_dirs (v1+), skips
 * the rest. Each field is read from its own size-bounded slice, so a wrong
 * inner length cannot read past it. */
static void broker_heartbeat_request_tags_decode(struct kreader *r, int16_t version,
						 struct broker_heartbeat_request *out)
{
	bool seen = false;
	uint32_t n = kr_uvarint(r);
	if (r->err)
		return;
	if (n > r->left / 2) { /* each tagged field takes at least 2 bytes */
		r->err = KR_EUNDERFLOW;
		return;
	}
	for (uint32_t i = 0; i < n && !r->err; i++) {
		uint32_t tag = kr_uvarint(r);
		uint32_t size = kr_uvarint(r);
		struct kreader field;
		kr_sub(r, size, &field);
		if (r->err || version < 1 || tag != BROKER_HEARTBEAT_TAG_OFFLINE_LOG_DIRS)
			continue;
		if (seen) {
			r->err = KR_EINVALID;
			return;
		}
		seen = true;
		broker_heartbeat_offline_dirs_decode(&field, out);
		if (field.err)
			r->err = field.err;
	}
}

static void broker_heartbeat_request_tags_encode(struct kwriter *w, int16_t version,
						 const struct broker_heartbeat_request *in)
{
	int32_t n = in->offline_log_dirs_count;
	if (version < 1 || n <= 0) {
		kw_uvarint(w, 0);
		return;
	}
	/* The size prefix counts the compact array length varint too. */
	struct kwriter field;
	kw_init(&field, 1 + (size_t)n * 16);
	kw_array_len_f(&field, true, n);
	for (int32_t i = 0; i < n; i++)
		kw_uuid(&field, in->offline_log_dirs[i]);
	if (!kw_ok(&field)) {
		w->err = field.err;
		kw_free(&field);
		return;
	}
	kw_uvarint(w, 1); /* one tagged field */
	kw_uvarint(w, BROKER_HEARTBEAT_TAG_OFFLINE_LOG_DIRS);
	kw_uvarint(w, (uint32_t)field.len);
	kw_raw(w, field.buf, field.len);
	kw_free(&field);
}

int broker_heartbeat_request_decode(struct kreader *r, int16_t version, struct broker_heartbeat_request *out)
{
	memset(out, 0, sizeof *out);
	out->broker_epoch = -1;
	if (!broker_heartbeat_version_ok(r, version))
		return -1;
	out->broker_id = kr_i32(r);
	out->broker_epoch = kr_i64(r);
	out->current_metadata_offset = kr_i64(r);
	out->want_fence = kr_bool(r);
	out->want_shut_down = kr_bool(r);
	broker_heartbeat_request_tags_decode(r, version, out);
	if (r->err) {
		broker_heartbeat_request_free(out);
		return -1;
	}
	return 0;
}

void broker_heartbeat_request_encode(struct kwriter *w, int16_t version, const struct broker_heartbeat_request *in)
{
	assert(version >= BROKER_HEARTBEAT_MIN_VERSION && version <= BROKER_HEARTBEAT_MAX_VERSION);
	kw_i32(w, in->broker_id);
	kw_i64(w, in->broker_epoch);
	kw_i64(w, in->current_metadata_offset);
	kw_bool(w, in->want_fence);
	kw_bool(w, in->want_shut_down);
	broker_heartbeat_request_tags_encode(w, version, in);
}

void broker_heartbeat_request_free(struct broker_heartbeat_request *req)
{
	free(req->offline_log_dirs);
	req->offline_log_dirs = NULL;
	req->offline_log_dirs_count = 0;
}

int broker_heartbeat_response_decode(struct kreader *r, int16_t version, struct broker_heartbeat_response *out)
{
	memset(out, 0, sizeof *out);
	out->is_fenced = true;
	if (!broker_heartbeat_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	out->is_caught_up = kr_bool(r);
	out->is_fenced = kr_bool(r);
	out->should_shut_down = kr_bool(r);
	kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void broker_heartbeat_response_encode(struct kwriter *w, int16_t version,
				      const struct broker_heartbeat_response *in)
{
	assert(version >= BROKER_HEARTBEAT_MIN_VERSION && version <= BROKER_HEARTBEAT_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	kw_bool(w, in->is_caught_up);
	kw_bool(w, in->is_fenced);
	kw_bool(w, in->should_shut_down);
	kw_tags_f(w, true);
}

void broker_heartbeat_response_free(struct broker_heartbeat_response *resp)
{
	(void)resp;
}
