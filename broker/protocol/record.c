#include "broker/protocol/record.h"

/* Smallest possible header: a key length and a value length, one byte each. */
#define RECORD_MIN_HEADER_SIZE 2

static void record_fail(struct kreader *r)
{
	if (!r->err)
		r->err = KR_EINVALID;
}

/* A varint length then that many bytes; -1 is null, below -1 is malformed. */
static void record_read_varbytes(struct kreader *r, bool nullable, struct kbytes *out)
{
	int32_t len = kr_varint(r);
	out->p = NULL;
	out->len = -1;
	if (r->err)
		return;
	if (len < 0) {
		if (len != -1 || !nullable)
			record_fail(r);
		return;
	}
	const uint8_t *p = kr_raw(r, (size_t)len);
	if (p == NULL)
		return;
	out->p = p;
	out->len = len;
}

/* Reads one header from b; used by decode (to check) and by the iterator. */
static bool record_read_header(struct kreader *b, struct record_header *out)
{
	struct kbytes k;
	record_read_varbytes(b, false, &k);
	record_read_varbytes(b, true, &out->value);
	out->key.p = (const char *)k.p;
	out->key.len = k.len;
	return b->err == 0;
}

int record_decode(struct kreader *r, struct record *out)
{
	int32_t len = kr_varint(r);
	if (r->err)
		return RECORD_EMALFORMED;
	if (len < 0 || (size_t)len > r->left) {
		/* Kafka: "Invalid record size: expected to read N bytes". */
		record_fail(r);
		return RECORD_EMALFORMED;
	}
	struct kreader b;
	kr_sub(r, (size_t)len, &b);
	out->length = len;
	out->attributes = kr_i8(&b);
	out->timestamp_delta = kr_varlong(&b);
	out->offset_delta = kr_varint(&b);
	record_read_varbytes(&b, true, &out->key);
	record_read_varbytes(&b, true, &out->value);
	int32_t count = kr_varint(&b);
	if (b.err || count < 0 || (size_t)count > b.left / RECORD_MIN_HEADER_SIZE) {
		record_fail(r);
		return RECORD_EMALFORMED;
	}
	out->headers_count = count;
	out->headers.p = b.p;
	size_t before = b.left;
	for (int32_t i = 0; i < count; i++) {
		struct record_header h;
		if (!record_read_header(&b, &h))
			break;
	}
	out->headers.len = (int32_t)(before - b.left);
	/* Every field must end exactly at the declared length. */
	if (b.err || b.left != 0) {
		record_fail(r);
		return RECORD_EMALFORMED;
	}
	return RECORD_OK;
}

void record_header_iter_init(struct record_header_iter *it, const struct record *rec)
{
	kr_init(&it->r, rec->headers.p, rec->headers.len > 0 ? (size_t)rec->headers.len : 0);
	it->left = rec->headers_count;
}

bool record_header_iter_next(struct record_header_iter *it, struct record_header *out)
{
	if (it->left <= 0)
		return false;
	it->left--;
	return record_read_header(&it->r, out);
}

/* Bytes of a zig-zag varint/varlong. */
static size_t record_varlong_size(int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 1;
	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

/* A length < 0 means null; a length of 0 may come with a NULL pointer. */
static size_t record_varbytes_size(int32_t len)
{
	if (len < 0)
		return record_varlong_size(-1);
	return record_varlong_size(len) + (size_t)len;
}

static size_t record_body_size(int64_t timestamp_delta, int32_t offset_delta, struct kbytes key,
			       struct kbytes value, const struct record_header *headers, int32_t headers_count)
{
	size_t n = 1; /* attributes */
	n += record_varlong_size(timestamp_delta);
	n += record_varlong_size(offset_delta);
	n += record_varbytes_size(key.len);
	n += record_varbytes_size(value.len);
	n += record_varlong_size(headers_count);
	for (int32_t i = 0; i < headers_count; i++) {
		n += record_varbytes_size(headers[i].key.len < 0 ? 0 : headers[i].key.len);
		n += record_varbytes_size(headers[i].value.len);
	}
	return n;
}

size_t record_encoded_size(int64_t timestamp_delta, int32_t offset_delta, struct kbytes key,
			   struct kbytes value, const struct record_header *headers, int32_t headers_count)
{
	size_t body = record_body_size(timestamp_delta, offset_delta, key, value, headers, headers_count);
	return record_varlong_size((int64_t)body) + body;
}

static void record_write_varbytes(struct kwriter *w, const void *p, int32_t len)
{
	if (len < 0) {
		kw_varint(w, -1);
		return;
	}
	kw_varint(w, len);
	if (len > 0)
		kw_raw(w, p, (size_t)len);
}

void record_encode(struct kwriter *w, int64_t timestamp_delta, int32_t offset_delta, struct kbytes key,
		   struct kbytes value, const struct record_header *headers, int32_t headers_count)
{
	size_t body = record_body_size(timestamp_delta, offset_delta, key, value, headers, headers_count);
	if (body > INT32_MAX) {
		w->err = -1;
		return;
	}
	kw_varint(w, (int32_t)body);
	kw_i8(w, 0);
	kw_varlong(w, timestamp_delta);
	kw_varint(w, offset_delta);
	record_write_varbytes(w, key.p, key.len);
	record_write_varbytes(w, value.p, value.len);
	kw_varint(w, headers_count);
	for (int32_t i = 0; i < headers_count; i++) {
		/* A header key is never null on the wire: a null key is written empty. */
		record_write_varbytes(w, headers[i].key.p, headers[i].key.len < 0 ? 0 : headers[i].key.len);
		record_write_varbytes(w, headers[i].value.p, headers[i].value.len);
	}
}
