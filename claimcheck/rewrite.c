/* rewrite: the produce side of the claim-check (large values out to the
 * backend, references in), and the helpers the fetch side and the reference
 * scan share (rewrite_internal.h).
 *
 * Memory: a value that moves is hashed and put straight from the records area
 * (the batch itself when uncompressed, else its one decompressed copy); the
 * new records area holds only small records. */
#include "claimcheck/claimcheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/compress.h"
#include "broker/protocol/errors.h"
#include "claimcheck/rewrite_internal.h"

/* ---- Shared helpers ------------------------------------------------------ */

int claimcheck_rewrite_ref_header(struct kstr key)
{
	if (key.len <= 0)
		return CLAIMCHECK_REWRITE_HDR_NONE;
	if (kstr_eq(key, CLAIMCHECK_HEADER_KEY))
		return CLAIMCHECK_REWRITE_HDR_KEY;
	if (kstr_eq(key, CLAIMCHECK_HEADER_LENGTH))
		return CLAIMCHECK_REWRITE_HDR_LENGTH;
	if (kstr_eq(key, CLAIMCHECK_HEADER_SHA256))
		return CLAIMCHECK_REWRITE_HDR_SHA256;
	return CLAIMCHECK_REWRITE_HDR_NONE;
}

bool claimcheck_rewrite_sha256(const uint8_t *p, size_t len, uint8_t out[CLAIMCHECK_REWRITE_SHA256_LEN])
{
	static const uint8_t empty = 0;
	unsigned int n = 0;
	if (EVP_Digest(p != NULL ? p : &empty, len, out, &n, EVP_sha256(), NULL) != 1)
		return false;
	return n == CLAIMCHECK_REWRITE_SHA256_LEN;
}

void claimcheck_rewrite_hex(const uint8_t sha[CLAIMCHECK_REWRITE_SHA256_LEN], char out[CLAIMCHECK_REWRITE_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < CLAIMCHECK_REWRITE_SHA256_LEN; i++) {
		out[2 * i] = digits[sha[i] >> 4];
		out[2 * i + 1] = digits[sha[i] & 0x0f];
	}
	out[CLAIMCHECK_REWRITE_HEX_LEN] = '\0';
}

int claimcheck_rewrite_records_error(int kerr)
{
	switch (kerr) {
	case KERR_NONE:
		return CLAIMCHECK_OK;
	case KERR_MESSAGE_TOO_LARGE:
		return CLAIMCHECK_ETOOBIG;
	case KERR_UNKNOWN_SERVER_ERROR:
		return CLAIMCHECK_ENOMEM;
	default:
		return CLAIMCHECK_EINVALID;
	}
}

void claimcheck_rewrite_reserve(struct kwriter *w, size_t n)
{
	if (w->err || w->cap - w->len >= n)
		return;
	if (n > SIZE_MAX - w->len) {
		w->err = -1;
		return;
	}
	uint8_t *b = realloc(w->buf, w->len + n);
	if (b == NULL) {
		w->err = -1;
		return;
	}
	w->buf = b;
	w->cap = w->len + n;
}

void claimcheck_rewrite_encode_record(struct kwriter *w, int8_t attributes, int64_t timestamp_delta,
				      int32_t offset_delta, struct kbytes key, struct kbytes value,
				      const struct record_header *headers, int32_t headers_count)
{
	size_t at = w->len;
	record_encode(w, timestamp_delta, offset_delta, key, value, headers, headers_count);
	if (attributes == 0 || !kw_ok(w))
		return;
	/* The attributes byte follows the record's length varint. */
	size_t i = at;
	while (i < w->len && (w->buf[i] & 0x80))
		i++;
	if (i + 1 < w->len)
		w->buf[i + 1] = (uint8_t)attributes;
}

int claimcheck_rewrite_seal(struct kwriter *w, size_t start, const uint8_t *orig, char *errbuf, size_t errlen)
{
	if (!kw_ok(w)) {
		snprintf(errbuf, errlen, "out of memory rebuilding a batch");
		return CLAIMCHECK_ENOMEM;
	}
	int codec = orig[BATCH_OFF_ATTRIBUTES + 1] & BATCH_ATTR_COMPRESSION_MASK;
	size_t area_len = w->len - start - BATCH_HEADER_SIZE;
	if (codec != BATCH_COMPRESSION_NONE) {
		uint8_t *packed = NULL;
		size_t packed_len = 0;
		int rc = compress_compress(codec, w->buf + start + BATCH_HEADER_SIZE, area_len, &packed, &packed_len);
		if (rc != COMPRESS_OK) {
			snprintf(errbuf, errlen, "cannot re-compress a batch (codec %d): %s", codec,
				 compress_strerror(rc));
			return rc == COMPRESS_ENOMEM ? CLAIMCHECK_ENOMEM : CLAIMCHECK_EINVALID;
		}
		/* The compressed area replaces the plain one, which is never
		 * shorter than what the writer already holds room for. */
		w->len = start + BATCH_HEADER_SIZE;
		kw_raw(w, packed, packed_len);
		free(packed);
		if (!kw_ok(w)) {
			snprintf(errbuf, errlen, "out of memory rebuilding a batch");
			return CLAIMCHECK_ENOMEM;
		}
		area_len = packed_len;
	}
	size_t total = BATCH_HEADER_SIZE + area_len;
	if (total - BATCH_LOG_OVERHEAD > (size_t)INT32_MAX) {
		snprintf(errbuf, errlen, "rebuilt batch of %zu bytes is too large", total);
		return CLAIMCHECK_ETOOBIG;
	}
	uint8_t *b = w->buf + start;
	memcpy(b, orig, BATCH_HEADER_SIZE);
	batch_put_i32(b + BATCH_OFF_LENGTH, (int32_t)(total - BATCH_LOG_OVERHEAD));
	batch_update_crc(b, total);
	return CLAIMCHECK_OK;
}

bool claimcheck_rewrite_headers_reset(struct claimcheck_rewrite_headers *h, int32_t need)
{
	h->n = 0;
	if (need <= h->cap)
		return true;
	int32_t cap = h->cap > 0 ? h->cap : 8;
	while (cap < need)
		cap = cap > INT32_MAX / 2 ? need : cap * 2;
	struct record_header *v = realloc(h->v, (size_t)cap * sizeof(*v));
	if (v == NULL)
		return false;
	h->v = v;
	h->cap = cap;
	return true;
}

void claimcheck_rewrite_headers_free(struct claimcheck_rewrite_headers *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

/* ---- Produce --------------------------------------------------------------- */

/* What the first pass over a produced batch found. */
struct claimcheck_rewrite_scan {
	int32_t moving;      /* records whose value moves */
	size_t moving_bytes; /* their values' bytes */
};

static bool claimcheck_rewrite_moves(const struct claimcheck_policy *policy, const struct record *rec)
{
	int64_t threshold = policy->threshold_bytes > 0 ? policy->threshold_bytes : 1;
	return rec->value.len >= 0 && (int64_t)rec->value.len >= threshold;
}

/* First pass: every record decodes, none carries a reference header of its
 * own (a producer could otherwise forge a reference to any object, and the
 * object's lifecycle would follow its record), no value is over the limit. */
static int claimcheck_rewrite_check(const struct batch_header *h, const struct batch_records *recs,
				    const struct claimcheck_policy *policy, struct claimcheck_rewrite_scan *scan,
				    char *errbuf, size_t errlen)
{
	struct kreader r;
	kr_init(&r, recs->p, recs->len);
	scan->moving = 0;
	scan->moving_bytes = 0;
	for (int32_t i = 0; i < h->records_count; i++) {
		struct record rec;
		if (record_decode(&r, &rec) != RECORD_OK) {
			snprintf(errbuf, errlen, "record %" PRId32 " cannot be decoded", i);
			return CLAIMCHECK_EINVALID;
		}
		struct record_header_iter it;
		struct record_header hd;
		record_header_iter_init(&it, &rec);
		while (record_header_iter_next(&it, &hd)) {
			if (claimcheck_rewrite_ref_header(hd.key) != CLAIMCHECK_REWRITE_HDR_NONE) {
				snprintf(errbuf, errlen, "record %" PRId32 " carries the reserved header %.*s", i,
					 (int)hd.key.len, hd.key.p);
				return CLAIMCHECK_EINVALID;
			}
		}
		if (policy->max_value_bytes > 0 && (int64_t)rec.value.len > policy->max_value_bytes) {
			snprintf(errbuf, errlen,
				 "record %" PRId32 ": a value of %" PRId32
				 " bytes is over claimcheck.max.value.bytes (%" PRId64 ")",
				 i, rec.value.len, policy->max_value_bytes);
			return CLAIMCHECK_ETOOBIG;
		}
		if (claimcheck_rewrite_moves(policy, &rec)) {
			scan->moving++;
			scan->moving_bytes += (size_t)rec.value.len;
		}
	}
	if (r.left != 0) {
		snprintf(errbuf, errlen, "%zu bytes after the last record", r.left);
		return CLAIMCHECK_EINVALID;
	}
	return CLAIMCHECK_OK;
}

/* Puts one value unless this batch already put the same bytes. `done` holds
 * the hashes already put (scan->moving entries of room). */
static int claimcheck_rewrite_put(struct claimcheck_backend *b, const char *key, const uint8_t sha[32],
				  uint8_t (*done)[CLAIMCHECK_REWRITE_SHA256_LEN], int32_t *ndone, struct kbytes value,
				  char *errbuf, size_t errlen)
{
	for (int32_t i = 0; i < *ndone; i++)
		if (memcmp(done[i], sha, CLAIMCHECK_REWRITE_SHA256_LEN) == 0)
			return CLAIMCHECK_OK;
	char why[256] = "";
	int rc = claimcheck_backend_put(b, key, value.p, (size_t)value.len, why, sizeof(why));
	if (rc != CLAIMCHECK_OK) {
		snprintf(errbuf, errlen, "put %s: %s", key, why[0] ? why : "backend failure");
		return rc == CLAIMCHECK_ENOMEM ? CLAIMCHECK_ENOMEM : CLAIMCHECK_EBACKEND;
	}
	memcpy(done[*ndone], sha, CLAIMCHECK_REWRITE_SHA256_LEN);
	(*ndone)++;
	return CLAIMCHECK_OK;
}

/* Second pass: writes the records area into w (after the header slot at 0),
 * putting every moving value. */
static int claimcheck_rewrite_records(struct claimcheck_backend *b, const char *topic, int32_t partition,
				      const struct claimcheck_policy *policy, const struct batch_header *h,
				      const struct batch_records *recs, const struct claimcheck_rewrite_scan *scan,
				      struct kwriter *w, char *errbuf, size_t errlen)
{
	uint8_t(*done)[CLAIMCHECK_REWRITE_SHA256_LEN] = malloc((size_t)scan->moving * CLAIMCHECK_REWRITE_SHA256_LEN);
	size_t key_cap = strlen(topic) + 16 + CLAIMCHECK_REWRITE_HEX_LEN;
	char *key = malloc(key_cap);
	struct claimcheck_rewrite_headers hdrs = {0};
	int rc = CLAIMCHECK_OK;
	int32_t ndone = 0;
	if (done == NULL || key == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		rc = CLAIMCHECK_ENOMEM;
		goto out;
	}
	struct kreader r;
	kr_init(&r, recs->p, recs->len);
	for (int32_t i = 0; i < h->records_count; i++) {
		const uint8_t *raw = r.p;
		struct record rec;
		if (record_decode(&r, &rec) != RECORD_OK) { /* checked by the first pass */
			snprintf(errbuf, errlen, "record %" PRId32 " cannot be decoded", i);
			rc = CLAIMCHECK_EINVALID;
			goto out;
		}
		if (!claimcheck_rewrite_moves(policy, &rec)) {
			kw_raw(w, raw, (size_t)(r.p - raw));
			continue;
		}
		uint8_t sha[CLAIMCHECK_REWRITE_SHA256_LEN];
		char hex[CLAIMCHECK_REWRITE_HEX_LEN + 1];
		if (!claimcheck_rewrite_sha256(rec.value.p, (size_t)rec.value.len, sha)) {
			snprintf(errbuf, errlen, "SHA-256 failed");
			rc = CLAIMCHECK_ENOMEM;
			goto out;
		}
		claimcheck_rewrite_hex(sha, hex);
		snprintf(key, key_cap, "%s/%" PRId32 "/%s", topic, partition, hex);
		rc = claimcheck_rewrite_put(b, key, sha, done, &ndone, rec.value, errbuf, errlen);
		if (rc != CLAIMCHECK_OK)
			goto out;

		if (!claimcheck_rewrite_headers_reset(&hdrs, rec.headers_count + 3)) {
			snprintf(errbuf, errlen, "out of memory");
			rc = CLAIMCHECK_ENOMEM;
			goto out;
		}
		struct record_header_iter it;
		record_header_iter_init(&it, &rec);
		while (record_header_iter_next(&it, &hdrs.v[hdrs.n]))
			hdrs.n++;
		char length[24];
		int length_len = snprintf(length, sizeof(length), "%" PRId32, rec.value.len);
		const char *names[3] = {CLAIMCHECK_HEADER_KEY, CLAIMCHECK_HEADER_LENGTH, CLAIMCHECK_HEADER_SHA256};
		const char *values[3] = {key, length, hex};
		int32_t lens[3] = {(int32_t)strlen(key), length_len, CLAIMCHECK_REWRITE_HEX_LEN};
		for (int k = 0; k < 3; k++) {
			hdrs.v[hdrs.n].key.p = names[k];
			hdrs.v[hdrs.n].key.len = (int32_t)strlen(names[k]);
			hdrs.v[hdrs.n].value.p = (const uint8_t *)values[k];
			hdrs.v[hdrs.n].value.len = lens[k];
			hdrs.n++;
		}
		struct kbytes empty = {.p = NULL, .len = 0};
		claimcheck_rewrite_encode_record(w, rec.attributes, rec.timestamp_delta, rec.offset_delta, rec.key,
						 empty, hdrs.v, hdrs.n);
	}
	if (!kw_ok(w)) {
		snprintf(errbuf, errlen, "out of memory rebuilding a batch");
		rc = CLAIMCHECK_ENOMEM;
	}
out:
	claimcheck_rewrite_headers_free(&hdrs);
	free(key);
	free(done);
	return rc;
}

int claimcheck_rewrite_produce(struct claimcheck_backend *b, const char *topic, int32_t partition,
			       const struct claimcheck_policy *policy, const uint8_t *batch, size_t len,
			       uint8_t **out, size_t *out_len, char *errbuf, size_t errlen)
{
	struct batch_header h;
	if (batch_header_parse(batch, len, &h) != 0 || batch_total_size(&h) != len || h.magic != 2) {
		snprintf(errbuf, errlen, "not one magic-2 batch");
		return CLAIMCHECK_EINVALID;
	}
	if (h.attributes & BATCH_ATTR_CONTROL) {
		*out = NULL;
		*out_len = 0;
		return CLAIMCHECK_OK;
	}
	struct batch_records recs;
	int rc = claimcheck_rewrite_records_error(batch_records_open(batch, len, CLAIMCHECK_REWRITE_MAX_AREA, &recs));
	if (rc != CLAIMCHECK_OK) {
		snprintf(errbuf, errlen, "the records of the batch cannot be read");
		return rc;
	}
	struct claimcheck_rewrite_scan scan;
	rc = claimcheck_rewrite_check(&h, &recs, policy, &scan, errbuf, errlen);
	if (rc != CLAIMCHECK_OK || scan.moving == 0) {
		batch_records_free(&recs);
		if (rc == CLAIMCHECK_OK) {
			*out = NULL;
			*out_len = 0;
		}
		return rc;
	}

	/* Every moving value leaves at most its bytes; each reference costs the
	 * key twice (key and hash) plus the header names and length. */
	struct kwriter w;
	size_t per_ref = 2 * (strlen(topic) + 16 + CLAIMCHECK_REWRITE_HEX_LEN) + 96;
	kw_init(&w, BATCH_HEADER_SIZE + (recs.len - scan.moving_bytes) + (size_t)scan.moving * per_ref);
	kw_reserve(&w, BATCH_HEADER_SIZE);
	rc = claimcheck_rewrite_records(b, topic, partition, policy, &h, &recs, &scan, &w, errbuf, errlen);
	batch_records_free(&recs);
	if (rc == CLAIMCHECK_OK)
		rc = claimcheck_rewrite_seal(&w, 0, batch, errbuf, errlen);
	if (rc != CLAIMCHECK_OK) {
		kw_free(&w);
		return rc;
	}
	*out = kw_steal(&w, out_len);
	return CLAIMCHECK_OK;
}
