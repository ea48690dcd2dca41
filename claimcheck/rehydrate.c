/* rehydrate: the fetch side of the claim-check. Stored batches whose records
 * carry references are rebuilt with the values fetched back from the backend
 * (length and SHA-256 checked) and the three reference headers removed; every
 * other batch is copied unchanged.
 *
 * Memory: the output is one buffer sized up front (stored bytes plus the
 * recorded lengths); each value is fetched, checked, copied once into it and
 * freed before the next. */
#include "claimcheck/claimcheck.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/batch.h"
#include "claimcheck/rewrite_internal.h"

/* Object keys are "<topic>/<partition>/<hash>": a topic name is at most 249
 * characters, so anything longer is not one of ours. */
#define CLAIMCHECK_REHYDRATE_MAX_KEY 1024

/* One record's reference, parsed from its headers. */
struct claimcheck_rehydrate_ref {
	char key[CLAIMCHECK_REHYDRATE_MAX_KEY + 1];
	size_t length;
	uint8_t sha[CLAIMCHECK_REWRITE_SHA256_LEN];
};

static int claimcheck_rehydrate_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Canonical decimal ("0" or no leading zero), at most INT32_MAX. */
static bool claimcheck_rehydrate_parse_length(struct kbytes v, size_t *out)
{
	if (v.len <= 0 || v.len > 10 || (v.len > 1 && v.p[0] == '0'))
		return false;
	uint64_t n = 0;
	for (int32_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(v.p[i] - '0');
	}
	if (n > INT32_MAX)
		return false;
	*out = (size_t)n;
	return true;
}

static bool claimcheck_rehydrate_parse_sha(struct kbytes v, uint8_t out[CLAIMCHECK_REWRITE_SHA256_LEN])
{
	if (v.len != CLAIMCHECK_REWRITE_HEX_LEN)
		return false;
	for (int i = 0; i < CLAIMCHECK_REWRITE_SHA256_LEN; i++) {
		int hi = claimcheck_rehydrate_hexval(v.p[2 * i]);
		int lo = claimcheck_rehydrate_hexval(v.p[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* A key we could have written: no NUL, bounded, ending in "/<the hash>". */
static bool claimcheck_rehydrate_parse_key(struct kbytes v, struct kbytes sha_hex, char *out)
{
	if (v.len <= CLAIMCHECK_REWRITE_HEX_LEN || v.len > CLAIMCHECK_REHYDRATE_MAX_KEY)
		return false;
	if (memchr(v.p, '\0', (size_t)v.len) != NULL)
		return false;
	const uint8_t *tail = v.p + v.len - CLAIMCHECK_REWRITE_HEX_LEN;
	if (tail[-1] != '/' || memcmp(tail, sha_hex.p, CLAIMCHECK_REWRITE_HEX_LEN) != 0)
		return false;
	memcpy(out, v.p, (size_t)v.len);
	out[v.len] = '\0';
	return true;
}

/* Returns 0 when the record holds no reference, 1 with *ref filled when it
 * holds one (exactly one of each header, an empty value), or
 * CLAIMCHECK_EINVALID. */
static int claimcheck_rehydrate_ref_of(const struct record *rec, int32_t index,
				       struct claimcheck_rehydrate_ref *ref, char *errbuf, size_t errlen)
{
	struct kbytes found[4] = {{NULL, -1}, {NULL, -1}, {NULL, -1}, {NULL, -1}};
	int seen[4] = {0, 0, 0, 0};
	struct record_header_iter it;
	struct record_header hd;
	record_header_iter_init(&it, rec);
	while (record_header_iter_next(&it, &hd)) {
		int which = claimcheck_rewrite_ref_header(hd.key);
		if (which == CLAIMCHECK_REWRITE_HDR_NONE)
			continue;
		seen[which]++;
		found[which] = hd.value;
	}
	int total = seen[1] + seen[2] + seen[3];
	if (total == 0)
		return 0;
	if (seen[1] != 1 || seen[2] != 1 || seen[3] != 1) {
		snprintf(errbuf, errlen, "record %" PRId32 " has an incomplete or repeated claim-check reference",
			 index);
		return CLAIMCHECK_EINVALID;
	}
	if (rec->value.len != 0) {
		snprintf(errbuf, errlen, "record %" PRId32 " has a reference and a non-empty value", index);
		return CLAIMCHECK_EINVALID;
	}
	struct kbytes sha_hex = found[CLAIMCHECK_REWRITE_HDR_SHA256];
	if (!claimcheck_rehydrate_parse_length(found[CLAIMCHECK_REWRITE_HDR_LENGTH], &ref->length) ||
	    !claimcheck_rehydrate_parse_sha(sha_hex, ref->sha) ||
	    !claimcheck_rehydrate_parse_key(found[CLAIMCHECK_REWRITE_HDR_KEY], sha_hex, ref->key)) {
		snprintf(errbuf, errlen, "record %" PRId32 " has a malformed claim-check reference", index);
		return CLAIMCHECK_EINVALID;
	}
	return 1;
}

/* Fetches and checks one value; on success *data is malloc'd (caller frees)
 * and holds exactly ref->length bytes with the recorded hash. */
static int claimcheck_rehydrate_fetch(struct claimcheck_backend *b, const struct claimcheck_rehydrate_ref *ref,
				      uint8_t **data, char *errbuf, size_t errlen)
{
	char why[256] = "";
	uint8_t *p = NULL;
	size_t n = 0;
	int rc = claimcheck_backend_get(b, ref->key, ref->length, &p, &n, why, sizeof(why));
	switch (rc) {
	case CLAIMCHECK_OK:
		break;
	case CLAIMCHECK_ENOTFOUND:
		snprintf(errbuf, errlen, "object %s is missing", ref->key);
		return CLAIMCHECK_ENOTFOUND;
	case CLAIMCHECK_ETOOBIG:
		snprintf(errbuf, errlen, "object %s is longer than its recorded %zu bytes", ref->key, ref->length);
		return CLAIMCHECK_ECORRUPT;
	case CLAIMCHECK_ENOMEM:
		snprintf(errbuf, errlen, "get %s: out of memory", ref->key);
		return CLAIMCHECK_ENOMEM;
	default:
		snprintf(errbuf, errlen, "get %s: %s", ref->key, why[0] ? why : "backend failure");
		return CLAIMCHECK_EBACKEND;
	}
	if (n != ref->length) {
		snprintf(errbuf, errlen, "object %s has %zu bytes, its reference says %zu", ref->key, n, ref->length);
		free(p);
		return CLAIMCHECK_ECORRUPT;
	}
	uint8_t sha[CLAIMCHECK_REWRITE_SHA256_LEN];
	if (!claimcheck_rewrite_sha256(p, n, sha)) {
		snprintf(errbuf, errlen, "SHA-256 failed");
		free(p);
		return CLAIMCHECK_ENOMEM;
	}
	if (memcmp(sha, ref->sha, sizeof(sha)) != 0) {
		snprintf(errbuf, errlen, "object %s does not match its SHA-256", ref->key);
		free(p);
		return CLAIMCHECK_ECORRUPT;
	}
	*data = p;
	return CLAIMCHECK_OK;
}

/* First pass over a batch's records: counts the references and the bytes
 * they will bring back; checks every one against max_value_bytes. */
static int claimcheck_rehydrate_survey(const struct batch_header *h, const struct batch_records *recs,
				       size_t max_value_bytes, int32_t *refs, size_t *bytes, char *errbuf,
				       size_t errlen)
{
	struct kreader r;
	kr_init(&r, recs->p, recs->len);
	*refs = 0;
	*bytes = 0;
	for (int32_t i = 0; i < h->records_count; i++) {
		struct record rec;
		if (record_decode(&r, &rec) != RECORD_OK) {
			snprintf(errbuf, errlen, "stored record %" PRId32 " cannot be decoded", i);
			return CLAIMCHECK_EINVALID;
		}
		struct claimcheck_rehydrate_ref ref;
		int rc = claimcheck_rehydrate_ref_of(&rec, i, &ref, errbuf, errlen);
		if (rc < 0)
			return rc;
		if (rc == 0)
			continue;
		if (max_value_bytes > 0 && ref.length > max_value_bytes) {
			snprintf(errbuf, errlen, "object %s of %zu bytes is over the limit of %zu", ref.key, ref.length,
				 max_value_bytes);
			return CLAIMCHECK_ETOOBIG;
		}
		(*refs)++;
		*bytes += ref.length;
	}
	return CLAIMCHECK_OK;
}

/* Second pass: the rebuilt records area, appended to o. */
static int claimcheck_rehydrate_records(struct claimcheck_backend *b, const struct batch_header *h,
					const struct batch_records *recs, struct kwriter *o, char *errbuf,
					size_t errlen)
{
	struct claimcheck_rewrite_headers hdrs = {0};
	struct kreader r;
	int rc = CLAIMCHECK_OK;
	kr_init(&r, recs->p, recs->len);
	for (int32_t i = 0; i < h->records_count && rc == CLAIMCHECK_OK; i++) {
		const uint8_t *raw = r.p;
		struct record rec;
		if (record_decode(&r, &rec) != RECORD_OK) { /* checked by the survey */
			rc = CLAIMCHECK_EINVALID;
			break;
		}
		struct claimcheck_rehydrate_ref ref;
		rc = claimcheck_rehydrate_ref_of(&rec, i, &ref, errbuf, errlen);
		if (rc < 0)
			break;
		if (rc == 0) {
			kw_raw(o, raw, (size_t)(r.p - raw));
			continue;
		}
		uint8_t *data = NULL;
		rc = claimcheck_rehydrate_fetch(b, &ref, &data, errbuf, errlen);
		if (rc != CLAIMCHECK_OK)
			break;
		if (!claimcheck_rewrite_headers_reset(&hdrs, rec.headers_count)) {
			free(data);
			snprintf(errbuf, errlen, "out of memory");
			rc = CLAIMCHECK_ENOMEM;
			break;
		}
		struct record_header_iter it;
		record_header_iter_init(&it, &rec);
		while (record_header_iter_next(&it, &hdrs.v[hdrs.n]))
			if (claimcheck_rewrite_ref_header(hdrs.v[hdrs.n].key) == CLAIMCHECK_REWRITE_HDR_NONE)
				hdrs.n++;
		struct kbytes value = {.p = data, .len = (int32_t)ref.length};
		claimcheck_rewrite_encode_record(o, rec.attributes, rec.timestamp_delta, rec.offset_delta, rec.key,
						 value, hdrs.v, hdrs.n);
		free(data);
	}
	claimcheck_rewrite_headers_free(&hdrs);
	if (rc == CLAIMCHECK_OK && !kw_ok(o)) {
		snprintf(errbuf, errlen, "out of memory rebuilding a batch");
		rc = CLAIMCHECK_ENOMEM;
	}
	return rc;
}

/* Appends one stored batch to o, rehydrated when it holds references. */
static int claimcheck_rehydrate_batch(struct claimcheck_backend *b, const uint8_t *batch, size_t size,
				      size_t max_value_bytes, struct kwriter *o, char *errbuf, size_t errlen)
{
	struct batch_header h;
	if (batch_header_parse(batch, size, &h) != 0 || h.magic != 2 || (h.attributes & BATCH_ATTR_CONTROL) ||
	    h.records_count <= 0) {
		kw_raw(o, batch, size);
		return CLAIMCHECK_OK;
	}
	/* An uncompressed batch without the header name anywhere has no
	 * reference: copied without decoding. */
	int codec = h.attributes & BATCH_ATTR_COMPRESSION_MASK;
	if (codec == BATCH_COMPRESSION_NONE &&
	    memmem(batch + BATCH_HEADER_SIZE, size - BATCH_HEADER_SIZE, CLAIMCHECK_HEADER_SHA256,
		   strlen(CLAIMCHECK_HEADER_SHA256)) == NULL) {
		kw_raw(o, batch, size);
		return CLAIMCHECK_OK;
	}
	/* A batch rebuilt here gets a fresh CRC, so a damaged one must not
	 * pass through. */
	if (!batch_crc_ok(batch, size)) {
		snprintf(errbuf, errlen, "stored batch at offset %" PRId64 " fails its CRC", h.base_offset);
		return CLAIMCHECK_EINVALID;
	}
	struct batch_records recs;
	int rc = claimcheck_rewrite_records_error(batch_records_open(batch, size, CLAIMCHECK_REWRITE_MAX_AREA, &recs));
	if (rc != CLAIMCHECK_OK) {
		snprintf(errbuf, errlen, "stored batch at offset %" PRId64 " cannot be decompressed", h.base_offset);
		return rc == CLAIMCHECK_ENOMEM ? rc : CLAIMCHECK_EINVALID;
	}
	int32_t refs;
	size_t bytes;
	rc = claimcheck_rehydrate_survey(&h, &recs, max_value_bytes, &refs, &bytes, errbuf, errlen);
	if (rc != CLAIMCHECK_OK || refs == 0) {
		batch_records_free(&recs);
		if (rc == CLAIMCHECK_OK)
			kw_raw(o, batch, size);
		return rc;
	}
	/* Room for the plain records area with every value back, once. */
	claimcheck_rewrite_reserve(o, BATCH_HEADER_SIZE + recs.len + bytes + (size_t)refs * 16);
	size_t start = o->len;
	kw_reserve(o, BATCH_HEADER_SIZE);
	rc = claimcheck_rehydrate_records(b, &h, &recs, o, errbuf, errlen);
	batch_records_free(&recs);
	if (rc == CLAIMCHECK_OK)
		rc = claimcheck_rewrite_seal(o, start, batch, errbuf, errlen);
	return rc;
}

int claimcheck_rehydrate(struct claimcheck_backend *b, const uint8_t *data, size_t len, size_t max_value_bytes,
			 uint8_t **out, size_t *out_len, char *errbuf, size_t errlen)
{
	struct kwriter o;
	kw_init(&o, len);
	struct batch_iter it;
	batch_iter_init(&it, data, len);
	const uint8_t *batch;
	size_t size;
	while (batch_iter_next(&it, &batch, &size)) {
		int rc = claimcheck_rehydrate_batch(b, batch, size, max_value_bytes, &o, errbuf, errlen);
		if (rc == CLAIMCHECK_OK && !kw_ok(&o)) {
			snprintf(errbuf, errlen, "out of memory");
			rc = CLAIMCHECK_ENOMEM;
		}
		if (rc != CLAIMCHECK_OK) {
			kw_free(&o);
			return rc;
		}
	}
	/* Bytes after the last whole batch (a fetch cut at its size limit)
	 * go out as they are, as they would without the claim-check. */
	kw_raw(&o, it.p, it.left);
	if (!kw_ok(&o)) {
		kw_free(&o);
		snprintf(errbuf, errlen, "out of memory");
		return CLAIMCHECK_ENOMEM;
	}
	*out = kw_steal(&o, out_len);
	return CLAIMCHECK_OK;
}
