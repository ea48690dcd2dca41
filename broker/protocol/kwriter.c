#include "broker/protocol/kwriter.h"

#include <stdlib.h>
#include <string.h>

void kw_init(struct kwriter *w, size_t initial_cap)
{
	w->len = 0;
	w->err = 0;
	w->cap = initial_cap ? initial_cap : 64;
	w->buf = malloc(w->cap);
	if (!w->buf) {
		w->cap = 0;
		w->err = -1;
	}
}

void kw_free(struct kwriter *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

uint8_t *kw_steal(struct kwriter *w, size_t *len)
{
	uint8_t *b = w->buf;
	*len = w->len;
	w->buf = NULL;
	w->len = w->cap = 0;
	return b;
}

static bool kw_grow(struct kwriter *w, size_t n)
{
	if (w->err)
		return false;
	if (w->len + n <= w->cap)
		return true;
	size_t cap = w->cap ? w->cap : 64;
	while (cap < w->len + n)
		cap *= 2;
	uint8_t *b = realloc(w->buf, cap);
	if (!b) {
		w->err = -1;
		return false;
	}
	w->buf = b;
	w->cap = cap;
	return true;
}

void kw_raw(struct kwriter *w, const void *p, size_t n)
{
	if (n == 0 || !kw_grow(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void kw_i8(struct kwriter *w, int8_t v)
{
	uint8_t b = (uint8_t)v;
	kw_raw(w, &b, 1);
}

void kw_i16(struct kwriter *w, int16_t v)
{
	uint8_t b[2] = {(uint8_t)((uint16_t)v >> 8), (uint8_t)v};
	kw_raw(w, b, 2);
}

void kw_u32(struct kwriter *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	kw_raw(w, b, 4);
}

void kw_i32(struct kwriter *w, int32_t v)
{
	kw_u32(w, (uint32_t)v);
}

void kw_i64(struct kwriter *w, int64_t v)
{
	kw_u32(w, (uint32_t)((uint64_t)v >> 32));
	kw_u32(w, (uint32_t)v);
}

void kw_bool(struct kwriter *w, bool v)
{
	kw_i8(w, v ? 1 : 0);
}

void kw_f64(struct kwriter *w, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	kw_i64(w, (int64_t)u);
}

static void kw_uvarint64(struct kwriter *w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	kw_raw(w, b, n);
}

void kw_uvarint(struct kwriter *w, uint32_t v)
{
	kw_uvarint64(w, v);
}

void kw_varint(struct kwriter *w, int32_t v)
{
	kw_uvarint64(w, (uint32_t)(((uint32_t)v << 1) ^ (uint32_t)(v >> 31)));
}

void kw_varlong(struct kwriter *w, int64_t v)
{
	kw_uvarint64(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void kw_uuid(struct kwriter *w, const uint8_t uuid[16])
{
	kw_raw(w, uuid, 16);
}

void kw_string(struct kwriter *w, const char *s, int32_t len)
{
	if (len < 0 || s == NULL) {
		kw_i16(w, -1);
		return;
	}
	kw_i16(w, (int16_t)len);
	kw_raw(w, s, (size_t)len);
}

void kw_compact_string(struct kwriter *w, const char *s, int32_t len)
{
	if (len < 0 || s == NULL) {
		kw_uvarint(w, 0);
		return;
	}
	kw_uvarint(w, (uint32_t)len + 1);
	kw_raw(w, s, (size_t)len);
}

void kw_str_f(struct kwriter *w, bool flexible, const char *s, int32_t len)
{
	if (flexible)
		kw_compact_string(w, s, len);
	else
		kw_string(w, s, len);
}

void kw_cstr_f(struct kwriter *w, bool flexible, const char *s)
{
	kw_str_f(w, flexible, s, s ? (int32_t)strlen(s) : -1);
}

void kw_kstr_f(struct kwriter *w, bool flexible, struct kstr s)
{
	kw_str_f(w, flexible, s.len < 0 ? NULL : (s.p ? s.p : ""), s.len);
}

void kw_kstr_nonnull_f(struct kwriter *w, bool flexible, struct kstr s)
{
	if (s.len < 0 || s.p == NULL)
		kw_str_f(w, flexible, "", 0);
	else
		kw_str_f(w, flexible, s.p, s.len);
}

void kw_bytes(struct kwriter *w, const void *p, int32_t len)
{
	if (len < 0) {
		kw_i32(w, -1);
		return;
	}
	kw_i32(w, len);
	kw_raw(w, p, (size_t)len);
}

void kw_compact_bytes(struct kwriter *w, const void *p, int32_t len)
{
	if (len < 0) {
		kw_uvarint(w, 0);
		return;
	}
	kw_uvarint(w, (uint32_t)len + 1);
	kw_raw(w, p, (size_t)len);
}

void kw_bytes_f(struct kwriter *w, bool flexible, const void *p, int32_t len)
{
	if (flexible)
		kw_compact_bytes(w, p, len);
	else
		kw_bytes(w, p, len);
}

void kw_array_len_f(struct kwriter *w, bool flexible, int32_t n)
{
	if (flexible)
		kw_uvarint(w, n < 0 ? 0 : (uint32_t)n + 1);
	else
		kw_i32(w, n < 0 ? -1 : n);
}

void kw_tags_f(struct kwriter *w, bool flexible)
{
	if (flexible)
		kw_uvarint(w, 0);
}

size_t kw_reserve(struct kwriter *w, size_t n)
{
	size_t off = w->len;
	if (!kw_grow(w, n))
		return off;
	memset(w->buf + w->len, 0, n);
	w->len += n;
	return off;
}

void kw_put_u32_at(struct kwriter *w, size_t off, uint32_t v)
{
	if (w->err || off + 4 > w->len)
		return;
	w->buf[off] = (uint8_t)(v >> 24);
	w->buf[off + 1] = (uint8_t)(v >> 16);
	w->buf[off + 2] = (uint8_t)(v >> 8);
	w->buf[off + 3] = (uint8_t)v;
}

void kw_put_i32_at(struct kwriter *w, size_t off, int32_t v)
{
	kw_put_u32_at(w, off, (uint32_t)v);
}
