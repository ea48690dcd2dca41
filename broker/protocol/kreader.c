#include "broker/protocol/kreader.h"

#include <stdlib.h>
#include <string.h>

void kr_init(struct kreader *r, const void *buf, size_t len)
{
	r->p = buf;
	r->left = len;
	r->err = 0;
}

static inline bool kr_need(struct kreader *r, size_t n)
{
	if (r->err)
		return false;
	if (r->left < n) {
		r->err = KR_EUNDERFLOW;
		r->left = 0;
		return false;
	}
	return true;
}

const uint8_t *kr_raw(struct kreader *r, size_t n)
{
	const uint8_t *p;
	if (!kr_need(r, n))
		return NULL;
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

void kr_skip(struct kreader *r, size_t n)
{
	(void)kr_raw(r, n);
}

void kr_sub(struct kreader *r, size_t n, struct kreader *sub)
{
	const uint8_t *p = kr_raw(r, n);
	if (p == NULL) {
		kr_init(sub, NULL, 0);
		sub->err = r->err;
		return;
	}
	kr_init(sub, p, n);
}

int8_t kr_i8(struct kreader *r)
{
	const uint8_t *p = kr_raw(r, 1);
	return p ? (int8_t)p[0] : 0;
}

int16_t kr_i16(struct kreader *r)
{
	const uint8_t *p = kr_raw(r, 2);
	return p ? (int16_t)(((uint16_t)p[0] << 8) | p[1]) : 0;
}

uint32_t kr_u32(struct kreader *r)
{
	const uint8_t *p = kr_raw(r, 4);
	if (!p)
		return 0;
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int32_t kr_i32(struct kreader *r)
{
	return (int32_t)kr_u32(r);
}

int64_t kr_i64(struct kreader *r)
{
	uint64_t hi = kr_u32(r);
	uint64_t lo = kr_u32(r);
	return (int64_t)((hi << 32) | lo);
}

bool kr_bool(struct kreader *r)
{
	return kr_i8(r) != 0;
}

double kr_f64(struct kreader *r)
{
	uint64_t u = (uint64_t)kr_i64(r);
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

static uint64_t kr_uvarint_n(struct kreader *r, unsigned max_bytes)
{
	uint64_t v = 0;
	unsigned shift = 0;
	for (unsigned i = 0; i < max_bytes; i++) {
		const uint8_t *p = kr_raw(r, 1);
		if (!p)
			return 0;
		v |= (uint64_t)(p[0] & 0x7f) << shift;
		if (!(p[0] & 0x80))
			return v;
		shift += 7;
	}
	if (!r->err)
		r->err = KR_EINVALID;
	return 0;
}

uint32_t kr_uvarint(struct kreader *r)
{
	uint64_t v = kr_uvarint_n(r, 5);
	if (v > UINT32_MAX) {
		if (!r->err)
			r->err = KR_EINVALID;
		return 0;
	}
	return (uint32_t)v;
}

int32_t kr_varint(struct kreader *r)
{
	uint32_t u = kr_uvarint(r);
	return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t kr_varlong(struct kreader *r)
{
	uint64_t u = kr_uvarint_n(r, 10);
	return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

void kr_uuid(struct kreader *r, uint8_t out[16])
{
	const uint8_t *p = kr_raw(r, 16);
	if (p)
		memcpy(out, p, 16);
	else
		memset(out, 0, 16);
}

static void kr_str_body(struct kreader *r, int64_t len, bool nullable, struct kstr *out)
{
	out->p = NULL;
	out->len = -1;
	if (r->err)
		return;
	if (len < 0) {
		if (len != -1 || !nullable)
			r->err = KR_EINVALID;
		return;
	}
	const uint8_t *p = kr_raw(r, (size_t)len);
	if (!p)
		return;
	out->p = (const char *)p;
	out->len = (int32_t)len;
}

void kr_string(struct kreader *r, struct kstr *out)
{
	int16_t len = kr_i16(r);
	kr_str_body(r, len, false, out);
}

void kr_nullable_string(struct kreader *r, struct kstr *out)
{
	int16_t len = kr_i16(r);
	kr_str_body(r, len, true, out);
}

void kr_compact_string(struct kreader *r, struct kstr *out)
{
	uint32_t n = kr_uvarint(r);
	kr_str_body(r, (int64_t)n - 1, false, out);
}

void kr_compact_nullable_string(struct kreader *r, struct kstr *out)
{
	uint32_t n = kr_uvarint(r);
	kr_str_body(r, (int64_t)n - 1, true, out);
}

void kr_str_f(struct kreader *r, bool flexible, struct kstr *out)
{
	if (flexible)
		kr_compact_string(r, out);
	else
		kr_string(r, out);
}

void kr_nullable_str_f(struct kreader *r, bool flexible, struct kstr *out)
{
	if (flexible)
		kr_compact_nullable_string(r, out);
	else
		kr_nullable_string(r, out);
}

static void kr_bytes_body(struct kreader *r, int64_t len, struct kbytes *out)
{
	struct kstr s;
	kr_str_body(r, len, true, &s);
	out->p = (const uint8_t *)s.p;
	out->len = s.len;
}

void kr_bytes(struct kreader *r, struct kbytes *out)
{
	int32_t len = kr_i32(r);
	kr_bytes_body(r, len, out);
}

void kr_compact_bytes(struct kreader *r, struct kbytes *out)
{
	uint32_t n = kr_uvarint(r);
	kr_bytes_body(r, (int64_t)n - 1, out);
}

void kr_bytes_f(struct kreader *r, bool flexible, struct kbytes *out)
{
	if (flexible)
		kr_compact_bytes(r, out);
	else
		kr_bytes(r, out);
}

static int32_t kr_check_count(struct kreader *r, int64_t n, size_t min_elem_size)
{
	if (r->err)
		return 0;
	if (n == -1)
		return -1;
	if (n < 0) {
		r->err = KR_EINVALID;
		return 0;
	}
	if (min_elem_size == 0)
		min_elem_size = 1;
	if ((uint64_t)n > r->left / min_elem_size) {
		r->err = KR_EUNDERFLOW;
		return 0;
	}
	return (int32_t)n;
}

int32_t kr_array_len(struct kreader *r, size_t min_elem_size)
{
	int32_t n = kr_i32(r);
	return kr_check_count(r, n, min_elem_size);
}

int32_t kr_compact_array_len(struct kreader *r, size_t min_elem_size)
{
	uint32_t n = kr_uvarint(r);
	return kr_check_count(r, (int64_t)n - 1, min_elem_size);
}

int32_t kr_array_len_f(struct kreader *r, bool flexible, size_t min_elem_size)
{
	return flexible ? kr_compact_array_len(r, min_elem_size) : kr_array_len(r, min_elem_size);
}

void kr_skip_tags(struct kreader *r)
{
	uint32_t n = kr_uvarint(r);
	if (r->err)
		return;
	if (n > r->left / 2) { /* each tagged field takes at least 2 bytes */
		r->err = KR_EUNDERFLOW;
		return;
	}
	for (uint32_t i = 0; i < n && !r->err; i++) {
		(void)kr_uvarint(r); /* tag */
		uint32_t size = kr_uvarint(r);
		kr_skip(r, size);
	}
}

void *kr_calloc(struct kreader *r, int32_t n, size_t size)
{
	if (r->err || n <= 0)
		return NULL;
	void *p = calloc((size_t)n, size);
	if (!p)
		r->err = KR_EINVALID;
	return p;
}

char *kstr_dup(struct kstr s)
{
	if (s.len < 0 || s.p == NULL)
		return s.len == 0 ? strdup("") : NULL;
	char *c = malloc((size_t)s.len + 1);
	if (!c)
		return NULL;
	memcpy(c, s.p, (size_t)s.len);
	c[s.len] = '\0';
	return c;
}

bool kstr_eq(struct kstr s, const char *c)
{
	if (s.len < 0)
		return c == NULL;
	if (c == NULL)
		return false;
	size_t n = strlen(c);
	return n == (size_t)s.len && memcmp(s.p, c, n) == 0;
}
