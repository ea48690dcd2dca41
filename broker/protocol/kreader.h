/* kreader: a bounds-checked read cursor over Kafka wire bytes.
 *
 * Every read checks `left` first; on any overrun or malformed value the
 * reader's sticky `err` is set, all later reads return zero values, and the
 * caller checks `err` once per structure. Nothing here allocates: strings and
 * byte fields are views into the underlying buffer, valid as long as it is.
 *
 * Array counts are bounded by the bytes left before anything is allocated:
 * kr_array_len() fails when count * min_elem_size > left.
 */
#ifndef TERN_PROTOCOL_KREADER_H
#define TERN_PROTOCOL_KREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A string view; len == -1 means a null string (p == NULL). Not NUL-terminated. */
struct kstr {
	const char *p;
	int32_t len;
};

/* A bytes view; len == -1 means null. */
struct kbytes {
	const uint8_t *p;
	int32_t len;
};

struct kreader {
	const uint8_t *p; /* next unread byte */
	size_t left;      /* bytes left after p */
	int err;          /* sticky: 0 ok, else KR_E* */
};

enum {
	KR_OK = 0,
	KR_EUNDERFLOW = 1, /* read past the end */
	KR_EINVALID = 2,   /* malformed value (negative length, varint too long, ...) */
};

void kr_init(struct kreader *r, const void *buf, size_t len);

int8_t kr_i8(struct kreader *r);
int16_t kr_i16(struct kreader *r);
int32_t kr_i32(struct kreader *r);
int64_t kr_i64(struct kreader *r);
uint32_t kr_u32(struct kreader *r);
bool kr_bool(struct kreader *r);
double kr_f64(struct kreader *r);
/* Unsigned LEB128 varint, at most 5 bytes (32 bits). */
uint32_t kr_uvarint(struct kreader *r);
/* Zig-zag signed varint (32 bits) and varlong (64 bits), as in record v2. */
int32_t kr_varint(struct kreader *r);
int64_t kr_varlong(struct kreader *r);
void kr_uuid(struct kreader *r, uint8_t out[16]);

/* INT16-length string; a null string (-1) sets err unless nullable. */
void kr_string(struct kreader *r, struct kstr *out);
void kr_nullable_string(struct kreader *r, struct kstr *out);
/* COMPACT_STRING: uvarint length+1 (0 = null). */
void kr_compact_string(struct kreader *r, struct kstr *out);
void kr_compact_nullable_string(struct kreader *r, struct kstr *out);
/* Picks compact or classic by `flexible` (the API version's encoding). */
void kr_str_f(struct kreader *r, bool flexible, struct kstr *out);
void kr_nullable_str_f(struct kreader *r, bool flexible, struct kstr *out);

/* INT32-length bytes (-1 = null), COMPACT_BYTES, and the pick-by-flexible form. */
void kr_bytes(struct kreader *r, struct kbytes *out);
void kr_compact_bytes(struct kreader *r, struct kbytes *out);
void kr_bytes_f(struct kreader *r, bool flexible, struct kbytes *out);

/* Array counts. Return -1 for a null array, else the count, which is
 * guaranteed to satisfy count * min_elem_size <= left (min_elem_size >= 1).
 * A negative count other than -1, or one that cannot fit, sets err and
 * returns 0. */
int32_t kr_array_len(struct kreader *r, size_t min_elem_size);
int32_t kr_compact_array_len(struct kreader *r, size_t min_elem_size);
int32_t kr_array_len_f(struct kreader *r, bool flexible, size_t min_elem_size);

/* Skips a tagged-field section (flexible versions): count, then tag/size/data. */
void kr_skip_tags(struct kreader *r);

/* Returns a pointer to the next n raw bytes and advances, or NULL (err set). */
const uint8_t *kr_raw(struct kreader *r, size_t n);
void kr_skip(struct kreader *r, size_t n);
/* Narrows: `sub` covers the next n bytes; r advances past them. */
void kr_sub(struct kreader *r, size_t n, struct kreader *sub);

static inline bool kr_ok(const struct kreader *r)
{
	return r->err == 0;
}

/* A zeroed array of n elements for a decoded struct (caller frees), NULL
 * for n <= 0 or when the reader already failed. Out of memory fails the
 * reader (KR_EINVALID), so the decoder unwinds as for malformed bytes. */
void *kr_calloc(struct kreader *r, int32_t n, size_t size);

/* Copies a view into a fresh NUL-terminated malloc'd string (NULL for a null
 * string or on OOM). The caller frees it. */
char *kstr_dup(struct kstr s);
/* Compares a view with a C string. */
bool kstr_eq(struct kstr s, const char *c);

#endif
