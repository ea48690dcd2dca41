/* Helpers shared by the batch rewriting drivers of claimcheck/ (rewrite.c,
 * rehydrate.c, scan_refs.c); private to the module. */
#ifndef TERN_CLAIMCHECK_REWRITE_INTERNAL_H
#define TERN_CLAIMCHECK_REWRITE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/record.h"

#define CLAIMCHECK_REWRITE_SHA256_LEN 32
#define CLAIMCHECK_REWRITE_HEX_LEN 64

/* The decompressed records area of one batch may not exceed this: a batch's
 * records are addressed with int32 lengths, and stored batches were validated
 * against tighter limits when produced. */
#define CLAIMCHECK_REWRITE_MAX_AREA ((size_t)INT32_MAX)

/* Which reference header a header key is. */
enum claimcheck_rewrite_ref_header {
	CLAIMCHECK_REWRITE_HDR_NONE = 0,
	CLAIMCHECK_REWRITE_HDR_KEY = 1,
	CLAIMCHECK_REWRITE_HDR_LENGTH = 2,
	CLAIMCHECK_REWRITE_HDR_SHA256 = 3,
};

int claimcheck_rewrite_ref_header(struct kstr key);

/* SHA-256 of len bytes (borrowed) into out. False when OpenSSL fails. */
bool claimcheck_rewrite_sha256(const uint8_t *p, size_t len, uint8_t out[CLAIMCHECK_REWRITE_SHA256_LEN]);
/* 64 lowercase hex digits and a NUL. */
void claimcheck_rewrite_hex(const uint8_t sha[CLAIMCHECK_REWRITE_SHA256_LEN], char out[CLAIMCHECK_REWRITE_HEX_LEN + 1]);

/* Maps a KERR_* code of batch_records_open() to a CLAIMCHECK_E* error. */
int claimcheck_rewrite_records_error(int kerr);

/* Makes room for n more bytes in w at once (one allocation for a large value
 * instead of repeated doubling). Sets w->err on failure. */
void claimcheck_rewrite_reserve(struct kwriter *w, size_t n);

/* Appends one record to w like record_encode(), keeping `attributes` (which
 * record_encode writes as 0). */
void claimcheck_rewrite_encode_record(struct kwriter *w, int8_t attributes, int64_t timestamp_delta,
				      int32_t offset_delta, struct kbytes key, struct kbytes value,
				      const struct record_header *headers, int32_t headers_count);

/* Finishes a batch in w: w holds, from `start`, BATCH_HEADER_SIZE reserved
 * bytes then the uncompressed records area up to w->len. The records area is
 * compressed in place with the codec of `orig` (the original batch, whose
 * header fields are copied: base offset, leader epoch, attributes, last
 * offset delta, timestamps, producer fields, records count), then the
 * batch length and CRC-32C are written. Returns 0 or a CLAIMCHECK_E* error
 * with a message. */
int claimcheck_rewrite_seal(struct kwriter *w, size_t start, const uint8_t *orig, char *errbuf, size_t errlen);

/* A growable array of record headers, reused across records (owned; free
 * with claimcheck_rewrite_headers_free). */
struct claimcheck_rewrite_headers {
	struct record_header *v;
	int32_t n;
	int32_t cap;
};

/* Ensures room for `need` entries and empties the array. False on OOM. */
bool claimcheck_rewrite_headers_reset(struct claimcheck_rewrite_headers *h, int32_t need);
void claimcheck_rewrite_headers_free(struct claimcheck_rewrite_headers *h);

#endif
