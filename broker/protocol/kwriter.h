/* kwriter: a growable output buffer for Kafka wire bytes.
 *
 * Appends grow the buffer; on allocation failure `err` is set and later writes
 * are ignored (check once at the end). Sizes, counts and CRCs that are known
 * only later are written into a slot reserved with kw_reserve() and filled with
 * kw_put_i32_at() / kw_put_u32_at().
 *
 * Ownership: the buffer belongs to the writer until kw_steal() hands it to the
 * caller (freed with free()); kw_free() releases it otherwise.
 */
#ifndef TERN_PROTOCOL_KWRITER_H
#define TERN_PROTOCOL_KWRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"

struct kwriter {
	uint8_t *buf;
	size_t len; /* bytes written */
	size_t cap; /* bytes allocated */
	int err;    /* sticky: 0 ok, -1 out of memory */
};

void kw_init(struct kwriter *w, size_t initial_cap);
void kw_free(struct kwriter *w);
/* Returns the buffer (owned by the caller, free()) and resets the writer. */
uint8_t *kw_steal(struct kwriter *w, size_t *len);

void kw_raw(struct kwriter *w, const void *p, size_t n);
void kw_i8(struct kwriter *w, int8_t v);
void kw_i16(struct kwriter *w, int16_t v);
void kw_i32(struct kwriter *w, int32_t v);
void kw_u32(struct kwriter *w, uint32_t v);
void kw_i64(struct kwriter *w, int64_t v);
void kw_bool(struct kwriter *w, bool v);
void kw_f64(struct kwriter *w, double v);
void kw_uvarint(struct kwriter *w, uint32_t v);
void kw_varint(struct kwriter *w, int32_t v);   /* zig-zag */
void kw_varlong(struct kwriter *w, int64_t v);  /* zig-zag */
void kw_uuid(struct kwriter *w, const uint8_t uuid[16]);

/* Strings from (ptr, len); len < 0 writes a null string. */
void kw_string(struct kwriter *w, const char *s, int32_t len);
void kw_compact_string(struct kwriter *w, const char *s, int32_t len);
void kw_str_f(struct kwriter *w, bool flexible, const char *s, int32_t len);
/* C-string conveniences: NULL writes a null string. */
void kw_cstr_f(struct kwriter *w, bool flexible, const char *s);
void kw_kstr_f(struct kwriter *w, bool flexible, struct kstr s);
/* A non-nullable string field: a null view is written as "" so the bytes
 * stay valid for the receiver. */
void kw_kstr_nonnull_f(struct kwriter *w, bool flexible, struct kstr s);

void kw_bytes(struct kwriter *w, const void *p, int32_t len);
void kw_compact_bytes(struct kwriter *w, const void *p, int32_t len);
void kw_bytes_f(struct kwriter *w, bool flexible, const void *p, int32_t len);

/* Array length; n < 0 writes a null array. */
void kw_array_len_f(struct kwriter *w, bool flexible, int32_t n);
/* An empty tagged-field section (flexible versions only; no-op otherwise). */
void kw_tags_f(struct kwriter *w, bool flexible);

/* Reserves n bytes and returns their offset, to be filled later. */
size_t kw_reserve(struct kwriter *w, size_t n);
void kw_put_i32_at(struct kwriter *w, size_t off, int32_t v);
void kw_put_u32_at(struct kwriter *w, size_t off, uint32_t v);

static inline bool kw_ok(const struct kwriter *w)
{
	return w->err == 0;
}

#endif
