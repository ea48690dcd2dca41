#include "broker/protocol/api_versions.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/errors.h"

static bool api_versions_in_range(int16_t version)
{
	return version >= API_VERSIONS_MIN_VERSION && version <= API_VERSIONS_MAX_VERSION;
}

int api_versions_request_decode(struct kreader *r, int16_t version, struct api_versions_request *out)
{
	bool flexible = version >= API_VERSIONS_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	out->client_software_name.len = -1;
	out->client_software_version.len = -1;
	if (!api_versions_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	if (version >= 3) {
		kr_str_f(r, flexible, &out->client_software_name);
		kr_str_f(r, flexible, &out->client_software_version);
	}
	if (flexible)
		kr_skip_tags(r);
	return kr_ok(r) ? 0 : -1;
}

void api_versions_request_encode(struct kwriter *w, int16_t version, const struct api_versions_request *in)
{
	bool flexible = version >= API_VERSIONS_FLEXIBLE_VERSION;
	assert(api_versions_in_range(version));
	if (version >= 3) {
		kw_kstr_nonnull_f(w, flexible, in->client_software_name);
		kw_kstr_nonnull_f(w, flexible, in->client_software_version);
	}
	kw_tags_f(w, flexible);
}

void api_versions_request_free(struct api_versions_request *req)
{
	(void)req; /* only views */
}

int api_versions_response_decode(struct kreader *r, int16_t version, struct api_versions_response *out)
{
	bool flexible = version >= API_VERSIONS_FLEXIBLE_VERSION;
	memset(out, 0, sizeof *out);
	if (!api_versions_in_range(version)) {
		r->err = KR_EINVALID;
		return -1;
	}
	out->error_code = kr_i16(r);
	/* A row is 6 bytes (+1 for its tag section when flexible). */
	int32_t n = kr_array_len_f(r, flexible, flexible ? 7 : 6);
	if (n < 0 && kr_ok(r))
		r->err = KR_EINVALID; /* not a nullable array */
	if (n > 0 && kr_ok(r)) {
		out->api_keys = calloc((size_t)n, sizeof *out->api_keys);
		if (!out->api_keys) {
			r->err = KR_EINVALID;
			goto fail;
		}
		out->api_keys_count = n;
	}
	for (int32_t i = 0; i < out->api_keys_count && kr_ok(r); i++) {
		struct api_versions_key *k = &out->api_keys[i];
		k->api_key = kr_i16(r);
		k->min_version = kr_i16(r);
		k->max_version = kr_i16(r);
		if (flexible)
			kr_skip_tags(r);
	}
	if (version >= 1)
		out->throttle_time_ms = kr_i32(r);
	if (flexible)
		kr_skip_tags(r);
	if (kr_ok(r))
		return 0;
fail:
	api_versions_response_free(out);
	return -1;
}

static void api_versions_put_keys(struct kwriter *w, bool flexible, const struct api_versions_key *keys,
				  int32_t count)
{
	if (count < 0)
		count = 0;
	kw_array_len_f(w, flexible, count);
	for (int32_t i = 0; i < count; i++) {
		kw_i16(w, keys[i].api_key);
		kw_i16(w, keys[i].min_version);
		kw_i16(w, keys[i].max_version);
		kw_tags_f(w, flexible);
	}
}

void api_versions_response_encode(struct kwriter *w, int16_t version, const struct api_versions_response *in)
{
	bool flexible = version >= API_VERSIONS_FLEXIBLE_VERSION;
	assert(api_versions_in_range(version));
	kw_i16(w, in->error_code);
	api_versions_put_keys(w, flexible, in->api_keys, in->api_keys_count);
	if (version >= 1)
		kw_i32(w, in->throttle_time_ms);
	kw_tags_f(w, flexible);
}

void api_versions_response_free(struct api_versions_response *resp)
{
	free(resp->api_keys);
	resp->api_keys = NULL;
	resp->api_keys_count = 0;
}

void api_versions_response_encode_unsupported(struct kwriter *w, const struct api_versions_key *keys,
					      int32_t count)
{
	kw_i16(w, KERR_UNSUPPORTED_VERSION);
	api_versions_put_keys(w, false, keys, count);
}
