#include "broker/protocol/header.h"

int request_header_decode(struct kreader *r, int16_t header_version, struct request_header *out)
{
	out->api_key = kr_i16(r);
	out->api_version = kr_i16(r);
	out->correlation_id = kr_i32(r);
	out->client_id.p = NULL;
	out->client_id.len = -1;
	if (header_version >= 1)
		kr_nullable_string(r, &out->client_id); /* never compact, see header.h */
	if (header_version >= 2)
		kr_skip_tags(r);
	return kr_ok(r) ? 0 : -1;
}

void request_header_encode(struct kwriter *w, int16_t header_version, const struct request_header *h)
{
	kw_i16(w, h->api_key);
	kw_i16(w, h->api_version);
	kw_i32(w, h->correlation_id);
	if (header_version >= 1)
		kw_string(w, h->client_id.len < 0 ? NULL : (h->client_id.p ? h->client_id.p : ""),
			  h->client_id.len);
	kw_tags_f(w, header_version >= 2);
}

void response_header_encode(struct kwriter *w, int16_t header_version, int32_t correlation_id)
{
	kw_i32(w, correlation_id);
	kw_tags_f(w, header_version >= 1);
}

int response_header_decode(struct kreader *r, int16_t header_version, int32_t *correlation_id)
{
	*correlation_id = kr_i32(r);
	if (header_version >= 1)
		kr_skip_tags(r);
	return kr_ok(r) ? 0 : -1;
}

int request_header_peek(const uint8_t *frame, size_t len, int16_t *api_key, int16_t *api_version)
{
	if (frame == NULL || len < 4)
		return -1;
	*api_key = (int16_t)(((uint16_t)frame[0] << 8) | frame[1]);
	*api_version = (int16_t)(((uint16_t)frame[2] << 8) | frame[3]);
	return 0;
}
