/* record: one record of a v2 record batch, in the uncompressed records area.
 *
 * Layout (Kafka's DefaultRecord; every number a zig-zag varint/varlong):
 *   length varint          bytes of the record after this field
 *   attributes int8        unused by magic 2, written 0
 *   timestamp_delta varlong   from the batch's base_timestamp
 *   offset_delta varint       from the batch's base_offset
 *   key_length varint (-1 null), key bytes
 *   value_length varint (-1 null), value bytes
 *   headers_count varint, then per header:
 *     key_length varint (never null), key bytes (UTF-8),
 *     value_length varint (-1 null), value bytes
 *
 * Decoding allocates nothing: keys, values and headers are views into the
 * buffer the kreader reads, valid as long as that buffer is.
 */
#ifndef TERN_PROTOCOL_RECORD_H
#define TERN_PROTOCOL_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"

enum {
	RECORD_OK = 0,
	RECORD_EMALFORMED = -1, /* bad varint, negative or overrunning length,
				   bytes left over inside the declared length */
};

/* One record header: views. On decode key.len >= 0 always. */
struct record_header {
	struct kstr key;
	struct kbytes value; /* len -1 = null */
};

struct record {
	int32_t length;          /* bytes after the length varint */
	int8_t attributes;
	int64_t timestamp_delta; /* ms, relative to the batch's base_timestamp */
	int32_t offset_delta;    /* relative to the batch's base_offset */
	struct kbytes key;       /* len -1 = null */
	struct kbytes value;     /* len -1 = null */
	int32_t headers_count;   /* >= 0; checked to fit before any use */
	struct kbytes headers;   /* the raw headers area (after the count), already
				    validated; walk it with record_header_iter */
};

/* Decodes the next record from r. On success returns RECORD_OK, fills *out
 * with views into r's buffer, and advances r by exactly the record's size
 * (length varint + length). A record whose fields do not consume exactly its
 * declared length, or that overruns r, returns RECORD_EMALFORMED; r is then
 * left with its error set. Headers are fully validated here, so walking them
 * afterwards cannot fail. */
int record_decode(struct kreader *r, struct record *out);

/* Walks the headers of a decoded record. */
struct record_header_iter {
	struct kreader r;
	int32_t left; /* headers not yet returned */
};

void record_header_iter_init(struct record_header_iter *it, const struct record *rec);
/* Returns true and fills *out (views) while headers remain. */
bool record_header_iter_next(struct record_header_iter *it, struct record_header *out);

/* Bytes record_encode() writes for these fields, length varint included. */
size_t record_encoded_size(int64_t timestamp_delta, int32_t offset_delta, struct kbytes key,
			   struct kbytes value, const struct record_header *headers, int32_t headers_count);

/* Appends one record to w (attributes 0). key/value with len < 0 are null;
 * a len of 0 is an empty (not null) field and may come with p == NULL.
 * Header keys are never null on the wire: a key with len < 0 is written
 * empty. The inputs are borrowed. Errors (out of memory, a record over
 * INT32_MAX bytes) are left in w->err. */
void record_encode(struct kwriter *w, int64_t timestamp_delta, int32_t offset_delta, struct kbytes key,
		   struct kbytes value, const struct record_header *headers, int32_t headers_count);

#endif
