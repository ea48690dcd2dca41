#include "broker/protocol/broker_registration.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Smallest wire size of each array element (every version is flexible:
 * 1-byte compact lengths and a 1-byte tagged-field section per struct). */
#define BR_MIN_LISTENER (1 + 1 + 2 + 2 + 1) /* name, host, port, protocol, tags */
#define BR_MIN_FEATURE (1 + 2 + 2 + 1)      /* name, min, max, tags */
#define BR_MIN_UUID 16

static bool broker_registration_version_ok(struct kreader *r, int16_t version)
{
	if (version < BROKER_REGISTRATION_MIN_VERSION || version > BROKER_REGISTRATION_MAX_VERSION) {
		if (!r->err)
			r->err = KR_EINVALID;
		return false;
	}
	return true;
}

/* A non-nullable compact array count: null is malformed. */
static int32_t broker_registration_count(struct kreader *r, size_t min_elem)
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
static void broker_registration_put_str(struct kwriter *w, struct kstr s)
{
	kw_compact_string(w, s.len < 0 || !s.p ? "" : s.p, s.len < 0 ? 0 : s.len);
}

int broker_registration_request_decode(struct kreader *r, int16_t version,
				       struct broker_registration_request *out)
{
	int32_t n;

	memset(out, 0, sizeof *out);
	out->rack.len = -1;
	out->previous_broker_epoch = -1;
	if (!broker_registration_version_ok(r, version))
		return -1;
	out->broker_id = kr_i32(r);
	kr_compact_string(r, &out->cluster_id);
	kr_uuid(r, out->incarnation_id);

	n = broker_registration_count(r, BR_MIN_LISTENER);
	out->listeners = kr_calloc(r, n, sizeof *out->listeners);
	if (!r->err)
		out->listeners_count = n;
	for (int32_t i = 0; i < out->listeners_count && !r->err; i++) {
		struct broker_registration_listener *l = &out->listeners[i];
		kr_compact_string(r, &l->name);
		kr_compact_string(r, &l->host);
		l->port = (uint16_t)kr_i16(r);
		l->security_protocol = kr_i16(r);
		kr_skip_tags(r);
	}

	n = broker_registration_count(r, BR_MIN_FEATURE);
	out->features = kr_calloc(r, n, sizeof *out->features);
	if (!r->err)
		out->features_count = n;
	for (int32_t i = 0; i < out->features_count && !r->err; i++) {
		struct broker_registration_feature *f = &out->features[i];
		kr_compact_string(r, &f->name);
		f->min_supported_version = kr_i16(r);
		f->max_supported_version = kr_i16(r);
		kr_skip_tags(r);
	}

	kr_compact_nullable_string(r, &out->rack);
	if (version >= 1)
		out->is_migrating_zk_broker = kr_bool(r);
	if (version >= 2) {
		n = broker_registration_count(r, BR_MIN_UUID);
		out->log_dirs = kr_calloc(r, n, sizeof *out->log_dirs);
		if (!r->err)
			out->log_dirs_count = n;
		for (int32_t i = 0; i < out->log_dirs_count && !r->err; i++)
			kr_uuid(r, out->log_dirs[i]);
	}
	if (version >= 3)
		out->previous_broker_epoch = kr_i64(r);
	kr_skip_tags(r);

	if (r->err) {
		broker_registration_request_free(out);
		return -1;
	}
	return 0;
}

void broker_registration_request_encode(struct kwriter *w, int16_t version,
					const struct broker_registration_request *in)
{
	assert(version >= BROKER_REGISTRATION_MIN_VERSION && version <= BROKER_REGISTRATION_MAX_VERSION);
	kw_i32(w, in->broker_id);
	broker_registration_put_str(w, in->cluster_id);
	kw_uuid(w, in->incarnation_id);

	int32_t n = in->listeners_count < 0 ? 0 : in->listeners_count;
	kw_array_len_f(w, true, n);
	for (int32_t i = 0; i < n; i++) {
		const struct broker_registration_listener *l = &in->listeners[i];
		broker_registration_put_str(w, l->name);
		broker_registration_put_str(w, l->host);
		kw_i16(w, (int16_t)l->port);
		kw_i16(w, l->security_protocol);
		kw_tags_f(w, true);
	}

	n = in->features_count < 0 ? 0 : in->features_count;
	kw_array_len_f(w, true, n);
	for (int32_t i = 0; i < n; i++) {
		const struct broker_registration_feature *f = &in->features[i];
		broker_registration_put_str(w, f->name);
		kw_i16(w, f->min_supported_version);
		kw_i16(w, f->max_supported_version);
		kw_tags_f(w, true);
	}

	kw_kstr_f(w, true, in->rack);
	if (version >= 1)
		kw_bool(w, in->is_migrating_zk_broker);
	if (version >= 2) {
		n = in->log_dirs_count < 0 ? 0 : in->log_dirs_count;
		kw_array_len_f(w, true, n);
		for (int32_t i = 0; i < n; i++)
			kw_uuid(w, in->log_dirs[i]);
	}
	if (version >= 3)
		kw_i64(w, in->previous_broker_epoch);
	kw_tags_f(w, true);
}

void broker_registration_request_free(struct broker_registration_request *req)
{
	free(req->listeners);
	free(req->features);
	free(req->log_dirs);
	req->listeners = NULL;
	req->listeners_count = 0;
	req->features = NULL;
	req->features_count = 0;
	req->log_dirs = NULL;
	req->log_dirs_count = 0;
}

int broker_registration_response_decode(struct kreader *r, int16_t version,
					struct broker_registration_response *out)
{
	memset(out, 0, sizeof *out);
	out->broker_epoch = -1;
	if (!broker_registration_version_ok(r, version))
		return -1;
	out->throttle_time_ms = kr_i32(r);
	out->error_code = kr_i16(r);
	out->broker_epoch = kr_i64(r);
	kr_skip_tags(r);
	return r->err ? -1 : 0;
}

void broker_registration_response_encode(struct kwriter *w, int16_t version,
					 const struct broker_registration_response *in)
{
	assert(version >= BROKER_REGISTRATION_MIN_VERSION && version <= BROKER_REGISTRATION_MAX_VERSION);
	kw_i32(w, in->throttle_time_ms);
	kw_i16(w, in->error_code);
	kw_i64(w, in->broker_epoch);
	kw_tags_f(w, true);
}

void broker_registration_response_free(struct broker_registration_response *resp)
{
	(void)resp;
}
