/* ApiVersions: the advertised list is the dispatch table itself. */
#include <stdlib.h>

#include "broker/api/api.h"
#include "broker/protocol/api_versions.h"
#include "broker/protocol/errors.h"

/* Fills rows from the dispatch table entries `b` serves; returns a malloc'd
 * array (caller frees). */
static struct api_versions_key *api_versions_rows(const struct broker *b, int32_t *count)
{
	struct api_versions_key *keys = calloc((size_t)api_table_len, sizeof *keys);
	int32_t n = 0;
	if (!keys) {
		*count = 0;
		return NULL;
	}
	for (int i = 0; i < api_table_len; i++) {
		if (api_table[i].internal || (api_table[i].available != NULL && !api_table[i].available(b)))
			continue;
		keys[n].api_key = api_table[i].api_key;
		keys[n].min_version = api_table[i].min_version;
		keys[n].max_version = api_table[i].max_version;
		n++;
	}
	*count = n;
	return keys;
}

void api_versions_encode_table(const struct broker *b, struct kwriter *w, int16_t version, int16_t error_code)
{
	struct api_versions_response resp = {0};
	resp.api_keys = api_versions_rows(b, &resp.api_keys_count);
	if (error_code == KERR_UNSUPPORTED_VERSION)
		api_versions_response_encode_unsupported(w, resp.api_keys, resp.api_keys_count);
	else {
		resp.error_code = error_code;
		api_versions_response_encode(w, version, &resp);
	}
	free(resp.api_keys);
}

void api_versions_handle(struct api_request *req)
{
	struct api_versions_request ar;
	struct kwriter w;
	kw_init(&w, 512);
	if (api_versions_request_decode(&req->body, req->hdr.api_version, &ar) != 0) {
		/* KIP-511: a v3+ request whose body does not parse gets
		 * INVALID_REQUEST rather than a closed connection. */
		api_versions_encode_table(req->broker, &w, req->hdr.api_version, KERR_INVALID_REQUEST);
		api_respond(req, &w);
		return;
	}
	api_versions_request_free(&ar);
	api_versions_encode_table(req->broker, &w, req->hdr.api_version, KERR_NONE);
	api_respond(req, &w);
}
