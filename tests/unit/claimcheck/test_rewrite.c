/* rewrite, rehydrate, scan_refs: batches with large values through the
 * claim-check and back, against an in-memory backend, for every codec.
 *
 * The produced batches come from batch_builder (what a producer sends: keys,
 * null keys and values, empty values, headers with repeated keys and null
 * values, producer id/epoch/sequence). A rewritten batch must validate as a
 * producer's batch would, hold empty values plus the three reference headers,
 * and be small; rehydrating it must give back the original batch byte for
 * byte (same records area, same header fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/record.h"
#include "claimcheck/backend_internal.h"
#include "claimcheck/claimcheck.h"

#define MIB (1024 * 1024)
#define TS0 1700000000000LL
#define TOPIC "orders"
#define PARTITION 3
#define THRESHOLD 4096
#define BIG_AREA ((size_t)256 * MIB)

/* ---- An in-memory backend --------------------------------------------------- */

struct mem_object {
	char *key;
	uint8_t *data;
	size_t len;
	struct mem_object *next;
};

struct mem_store {
	struct mem_object *objects;
	int puts;
	int gets;
	bool fail_put; /* every put fails */
};

static struct mem_object *mem_find(struct mem_store *s, const char *key)
{
	for (struct mem_object *o = s->objects; o; o = o->next)
		if (strcmp(o->key, key) == 0)
			return o;
	return NULL;
}

static int mem_put(void *ctx, const char *key, const uint8_t *data, size_t len, char *errbuf, size_t errlen)
{
	struct mem_store *s = ctx;
	s->puts++;
	if (s->fail_put) {
		snprintf(errbuf, errlen, "store unavailable");
		return CLAIMCHECK_EBACKEND;
	}
	struct mem_object *o = mem_find(s, key);
	if (o == NULL) {
		o = calloc(1, sizeof(*o));
		assert_non_null(o);
		o->key = strdup(key);
		o->next = s->objects;
		s->objects = o;
	}
	free(o->data);
	o->data = malloc(len ? len : 1);
	assert_non_null(o->data);
	if (len)
		memcpy(o->data, data, len);
	o->len = len;
	return 0;
}

static int mem_get(void *ctx, const char *key, size_t max_len, uint8_t **data, size_t *len, char *errbuf,
		   size_t errlen)
{
	struct mem_store *s = ctx;
	s->gets++;
	struct mem_object *o = mem_find(s, key);
	if (o == NULL)
		return CLAIMCHECK_ENOTFOUND;
	if (o->len > max_len)
		return CLAIMCHECK_ETOOBIG;
	*data = malloc(o->len ? o->len : 1);
	assert_non_null(*data);
	if (o->len)
		memcpy(*data, o->data, o->len);
	*len = o->len;
	return 0;
}

static int mem_del(void *ctx, const char *key, char *errbuf, size_t errlen)
{
	struct mem_store *s = ctx;
	for (struct mem_object **pp = &s->objects; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->key, key) == 0) {
			struct mem_object *o = *pp;
			*pp = o->next;
			free(o->key);
			free(o->data);
			free(o);
			return 0;
		}
	}
	return 0;
}

static void mem_close(void *ctx)
{
	struct mem_store *s = ctx;
	while (s->objects) {
		struct mem_object *o = s->objects;
		s->objects = o->next;
		free(o->key);
		free(o->data);
		free(o);
	}
	free(s);
}

static const struct claimcheck_backend_ops mem_ops = {
	.name = "mem",
	.put = mem_put,
	.get = mem_get,
	.del = mem_del,
	.close = mem_close,
};

static int mem_count(struct mem_store *s)
{
	int n = 0;
	for (struct mem_object *o = s->objects; o; o = o->next)
		n++;
	return n;
}

struct fixture {
	struct mem_store *store;
	struct claimcheck_backend *backend;
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->store = calloc(1, sizeof(*f->store));
	assert_non_null(f->store);
	f->backend = claimcheck_backend_wrap(&mem_ops, f->store);
	assert_non_null(f->backend);
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	claimcheck_backend_close(f->backend);
	free(f);
	return 0;
}

/* ---- Helpers -------------------------------------------------------------------- */

static const struct claimcheck_policy policy = {.threshold_bytes = THRESHOLD, .max_value_bytes = 64 * MIB};

/* Deterministic bytes that compress somewhat (a value like a document, not
 * noise), different for each seed. */
static uint8_t *make_value(size_t len, uint32_t seed)
{
	uint8_t *v = malloc(len ? len : 1);
	assert_non_null(v);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		if ((i & 63) == 0) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
		}
		v[i] = (uint8_t)("abcdefghijklmnop"[(x >> ((i & 7) * 4)) & 15] + (i % 7 == 0 ? (x & 3) : 0));
	}
	return v;
}

static struct kbytes kb(const void *p, int32_t len)
{
	struct kbytes b = {.p = p, .len = len};
	return b;
}

static struct kbytes kbs(const char *s)
{
	return kb(s, s ? (int32_t)strlen(s) : -1);
}

static struct record_header hdr(const char *k, const char *v)
{
	struct record_header h;
	h.key.p = k;
	h.key.len = (int32_t)strlen(k);
	h.value = kbs(v);
	return h;
}

static struct batch_builder_opts producer_opts(int codec)
{
	struct batch_builder_opts o = batch_builder_opts_default();
	o.codec = codec;
	o.producer_id = 4242;
	o.producer_epoch = 7;
	o.base_sequence = 100;
	o.partition_leader_epoch = 5;
	return o;
}

static void sha_hex(const uint8_t *p, size_t len, char out[65])
{
	uint8_t sha[32];
	unsigned int n = 0;
	assert_int_equal(EVP_Digest(p, len, sha, &n, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", sha[i]);
}

/* The plain records area of a batch (malloc'd copy). */
static uint8_t *records_area(const uint8_t *batch, size_t len, size_t *area_len)
{
	struct batch_records r;
	assert_int_equal(batch_records_open(batch, len, BIG_AREA, &r), KERR_NONE);
	uint8_t *copy = malloc(r.len ? r.len : 1);
	assert_non_null(copy);
	memcpy(copy, r.p, r.len);
	*area_len = r.len;
	batch_records_free(&r);
	return copy;
}

/* The two batches hold the same records and the same header fields apart
 * from batch length and CRC. */
static void assert_same_records(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	assert_int_equal(batch_validate(b, blen, BIG_AREA, NULL), KERR_NONE);
	assert_memory_equal(a, b, BATCH_OFF_LENGTH);
	assert_memory_equal(a + BATCH_OFF_LEADER_EPOCH, b + BATCH_OFF_LEADER_EPOCH,
			    BATCH_OFF_CRC - BATCH_OFF_LEADER_EPOCH);
	assert_memory_equal(a + BATCH_OFF_ATTRIBUTES, b + BATCH_OFF_ATTRIBUTES,
			    BATCH_HEADER_SIZE - BATCH_OFF_ATTRIBUTES);
	size_t la, lb;
	uint8_t *ra = records_area(a, alen, &la);
	uint8_t *rb = records_area(b, blen, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(ra, rb, la);
	free(ra);
	free(rb);
}

/* ---- The mixed batch -------------------------------------------------------------- */

struct mixed {
	uint8_t *big1, *big2, *edge;
	size_t big1_len, big2_len;
	uint8_t *batch;
	size_t len;
};

/* Records:
 *  0 key "k0", small value, headers trace=a, trace=b (repeated), empty=null
 *  1 null key, big1 (several MiB), headers trace=x, n=null
 *  2 key "k2", null value
 *  3 key "k3", big2 (several MiB), no header
 *  4 key "k4", empty value, header trace=c
 *  5 key "k5", big1 again (same object)
 *  6 key "k6", exactly the threshold (moves), header z=1
 *  7 key "k7", one byte under the threshold (stays) */
static void mixed_build(struct mixed *m, int codec, size_t big1_len, size_t big2_len)
{
	m->big1_len = big1_len;
	m->big2_len = big2_len;
	m->big1 = make_value(big1_len, 1);
	m->big2 = make_value(big2_len, 2);
	m->edge = make_value(THRESHOLD, 3);
	struct record_header h0[] = {hdr("trace", "a"), hdr("trace", "b"), hdr("empty", NULL)};
	struct record_header h1[] = {hdr("trace", "x"), hdr("n", NULL)};
	struct record_header h4[] = {hdr("trace", "c")};
	struct record_header h6[] = {hdr("z", "1")};
	struct batch_builder_record recs[] = {
		{TS0, kbs("k0"), kbs("hello"), h0, 3},
		{TS0 + 5, kbs(NULL), kb(m->big1, (int32_t)big1_len), h1, 2},
		{TS0 + 2, kbs("k2"), kbs(NULL), NULL, 0},
		{TS0 + 9, kbs("k3"), kb(m->big2, (int32_t)big2_len), NULL, 0},
		{TS0 - 3, kbs("k4"), kbs(""), h4, 1},
		{TS0 + 1, kbs("k5"), kb(m->big1, (int32_t)big1_len), NULL, 0},
		{TS0 + 1, kbs("k6"), kb(m->edge, THRESHOLD), h6, 1},
		{TS0 + 1, kbs("k7"), kb(m->edge, THRESHOLD - 1), NULL, 0},
	};
	struct batch_builder_opts o = producer_opts(codec);
	assert_int_equal(batch_builder_build(&o, recs, 8, &m->batch, &m->len), 0);
	assert_int_equal(batch_validate(m->batch, m->len, BIG_AREA, NULL), KERR_NONE);
}

static void mixed_free(struct mixed *m)
{
	free(m->big1);
	free(m->big2);
	free(m->edge);
	free(m->batch);
}

/* Checks the rewritten batch's records against the mixed batch's. */
static void assert_rewritten_mixed(const struct mixed *m, const uint8_t *out, size_t out_len)
{
	struct batch_records area;
	assert_int_equal(batch_records_open(out, out_len, BIG_AREA, &area), KERR_NONE);
	struct kreader r;
	kr_init(&r, area.p, area.len);
	const uint8_t *moved[8] = {NULL, m->big1, NULL, m->big2, NULL, m->big1, m->edge, NULL};
	size_t moved_len[8] = {0, m->big1_len, 0, m->big2_len, 0, m->big1_len, THRESHOLD, 0};
	int32_t own_headers[8] = {3, 2, 0, 0, 1, 0, 1, 0};
	for (int i = 0; i < 8; i++) {
		struct record rec;
		assert_int_equal(record_decode(&r, &rec), RECORD_OK);
		assert_int_equal(rec.offset_delta, i);
		if (moved[i] == NULL) {
			assert_int_equal(rec.headers_count, own_headers[i]);
			continue;
		}
		assert_int_equal(rec.value.len, 0);
		assert_int_equal(rec.headers_count, own_headers[i] + 3);
		struct record_header_iter it;
		struct record_header h;
		record_header_iter_init(&it, &rec);
		for (int k = 0; k < own_headers[i]; k++) {
			assert_true(record_header_iter_next(&it, &h));
			assert_false(kstr_eq(h.key, CLAIMCHECK_HEADER_KEY));
		}
		char hex[65], key[128], length[32];
		sha_hex(moved[i], moved_len[i], hex);
		snprintf(key, sizeof(key), "%s/%d/%s", TOPIC, PARTITION, hex);
		snprintf(length, sizeof(length), "%zu", moved_len[i]);
		const char *names[3] = {CLAIMCHECK_HEADER_KEY, CLAIMCHECK_HEADER_LENGTH, CLAIMCHECK_HEADER_SHA256};
		const char *values[3] = {key, length, hex};
		for (int k = 0; k < 3; k++) {
			assert_true(record_header_iter_next(&it, &h));
			assert_true(kstr_eq(h.key, names[k]));
			assert_int_equal(h.value.len, (int32_t)strlen(values[k]));
			assert_memory_equal(h.value.p, values[k], strlen(values[k]));
		}
		assert_false(record_header_iter_next(&it, &h));
	}
	assert_int_equal(r.left, 0);
	batch_records_free(&area);
}

static void roundtrip(void **state, int codec)
{
	struct fixture *f = *state;
	struct mixed m;
	mixed_build(&m, codec, 3 * MIB, 5 * MIB + 17);

	char err[256] = "";
	uint8_t *out = NULL;
	size_t out_len = 0;
	int rc = claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &policy, m.batch, m.len, &out, &out_len,
					    err, sizeof(err));
	assert_int_equal(rc, CLAIMCHECK_OK);
	assert_non_null(out);
	/* What a producer could have sent: the log accepts it as such. */
	struct batch_info info;
	assert_int_equal(batch_validate(out, out_len, BIG_AREA, &info), KERR_NONE);
	assert_int_equal(info.codec, codec);
	assert_int_equal(info.records_count, 8);
	assert_true(out_len < 3 * THRESHOLD); /* the one value just under the threshold stays */
	assert_memory_equal(out, m.batch, BATCH_OFF_LENGTH);
	assert_memory_equal(out + BATCH_OFF_ATTRIBUTES, m.batch + BATCH_OFF_ATTRIBUTES,
			    BATCH_HEADER_SIZE - BATCH_OFF_ATTRIBUTES);
	assert_rewritten_mixed(&m, out, out_len);
	/* Three distinct values, the repeated one put once. */
	assert_int_equal(mem_count(f->store), 3);
	assert_int_equal(f->store->puts, 3);

	uint8_t *back = NULL;
	size_t back_len = 0;
	rc = claimcheck_rehydrate(f->backend, out, out_len, 64 * MIB, &back, &back_len, err, sizeof(err));
	assert_int_equal(rc, CLAIMCHECK_OK);
	assert_same_records(m.batch, m.len, back, back_len);
	/* The same encoder and the same compressor: the very same bytes. */
	assert_int_equal(back_len, m.len);
	assert_memory_equal(back, m.batch, m.len);

	free(back);
	free(out);
	mixed_free(&m);
}

static void rewrite__roundtrip_none(void **state)
{
	roundtrip(state, BATCH_COMPRESSION_NONE);
}

static void rewrite__roundtrip_gzip(void **state)
{
	roundtrip(state, BATCH_COMPRESSION_GZIP);
}

static void rewrite__roundtrip_snappy(void **state)
{
	roundtrip(state, BATCH_COMPRESSION_SNAPPY);
}

static void rewrite__roundtrip_lz4(void **state)
{
	roundtrip(state, BATCH_COMPRESSION_LZ4);
}

static void rewrite__roundtrip_zstd(void **state)
{
	roundtrip(state, BATCH_COMPRESSION_ZSTD);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 40 MiB values, uncompressed and with zstd, timed. */
static void forty_mib(void **state, int codec)
{
	struct fixture *f = *state;
	struct mixed m;
	mixed_build(&m, codec, 40 * MIB, 1 * MIB);
	char err[256] = "";
	uint8_t *out = NULL, *back = NULL;
	size_t out_len = 0, back_len = 0;
	double t0 = now_s();
	assert_int_equal(claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &policy, m.batch, m.len, &out,
						    &out_len, err, sizeof(err)),
			 CLAIMCHECK_OK);
	double t1 = now_s();
	assert_int_equal(batch_validate(out, out_len, BIG_AREA, NULL), KERR_NONE);
	assert_true(out_len < 3 * THRESHOLD);
	assert_rewritten_mixed(&m, out, out_len);
	double t2 = now_s();
	assert_int_equal(claimcheck_rehydrate(f->backend, out, out_len, 64 * MIB, &back, &back_len, err,
					      sizeof(err)),
			 CLAIMCHECK_OK);
	double t3 = now_s();
	assert_int_equal(batch_validate(back, back_len, BIG_AREA, NULL), KERR_NONE);
	assert_int_equal(back_len, m.len);
	assert_memory_equal(back, m.batch, m.len);
	print_message("codec %d: batch %zu bytes -> %zu; produce %.3f s, rehydrate %.3f s\n", codec, m.len,
		      out_len, t1 - t0, t3 - t2);
	free(out);
	free(back);
	mixed_free(&m);
}

static void rewrite__forty_mib_none(void **state)
{
	forty_mib(state, BATCH_COMPRESSION_NONE);
}

static void rewrite__forty_mib_zstd(void **state)
{
	forty_mib(state, BATCH_COMPRESSION_ZSTD);
}

/* ---- Produce: what does not move, what fails ------------------------------------ */

static void rewrite__nothing_qualifies_appends_original(void **state)
{
	struct fixture *f = *state;
	struct record_header h[] = {hdr("a", "b")};
	struct batch_builder_record recs[] = {
		{TS0, kbs("k"), kbs("small"), h, 1},
		{TS0, kbs(NULL), kbs(NULL), NULL, 0},
	};
	struct batch_builder_opts o = producer_opts(BATCH_COMPRESSION_LZ4);
	uint8_t *batch;
	size_t len;
	assert_int_equal(batch_builder_build(&o, recs, 2, &batch, &len), 0);
	uint8_t *out = (uint8_t *)&out; /* must become NULL */
	size_t out_len = 99;
	char err[256];
	assert_int_equal(claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &policy, batch, len, &out,
						    &out_len, err, sizeof(err)),
			 CLAIMCHECK_OK);
	assert_null(out);
	assert_int_equal(f->store->puts, 0);
	free(batch);
}

static void rewrite__backend_failure_fails_the_batch(void **state)
{
	struct fixture *f = *state;
	struct mixed m;
	mixed_build(&m, BATCH_COMPRESSION_GZIP, 100000, 200000);
	f->store->fail_put = true;
	uint8_t sentinel;
	uint8_t *out = &sentinel;
	size_t out_len = 12345;
	char err[256] = "";
	assert_int_equal(claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &policy, m.batch, m.len, &out,
						    &out_len, err, sizeof(err)),
			 CLAIMCHECK_EBACKEND);
	assert_ptr_equal(out, &sentinel);
	assert_int_equal(out_len, 12345);
	assert_non_null(strstr(err, "store unavailable"));
	assert_non_null(strstr(err, TOPIC "/3/"));
	mixed_free(&m);
}

static void rewrite__value_over_the_limit(void **state)
{
	struct fixture *f = *state;
	struct mixed m;
	mixed_build(&m, BATCH_COMPRESSION_NONE, 100000, 200000);
	struct claimcheck_policy p = {.threshold_bytes = THRESHOLD, .max_value_bytes = 150000};
	uint8_t *out = NULL;
	size_t out_len = 0;
	char err[256] = "";
	assert_int_equal(claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &p, m.batch, m.len, &out, &out_len,
						    err, sizeof(err)),
			 CLAIMCHECK_ETOOBIG);
	assert_null(out);
	assert_int_equal(f->store->puts, 0);
	mixed_free(&m);
}

/* A producer may not send reference headers: it could point a record at
 * any object, and that object's deletion would follow the record. */
static void rewrite__refuses_reference_headers_from_producers(void **state)
{
	struct fixture *f = *state;
	const char *names[3] = {CLAIMCHECK_HEADER_KEY, CLAIMCHECK_HEADER_LENGTH, CLAIMCHECK_HEADER_SHA256};
	for (int k = 0; k < 3; k++) {
		struct record_header h[] = {hdr("x", "y"), hdr(names[k], "other/0/abc")};
		struct batch_builder_record recs[] = {{TS0, kbs("k"), kbs("small"), h, 2}};
		struct batch_builder_opts o = producer_opts(BATCH_COMPRESSION_NONE);
		uint8_t *batch;
		size_t len;
		assert_int_equal(batch_builder_build(&o, recs, 1, &batch, &len), 0);
		uint8_t *out = NULL;
		size_t out_len = 0;
		char err[256] = "";
		assert_int_equal(claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &policy, batch, len, &out,
							    &out_len, err, sizeof(err)),
				 CLAIMCHECK_EINVALID);
		assert_non_null(strstr(err, names[k]));
		free(batch);
	}
}

/* Record attributes (unused by magic 2, but the producer's bytes) survive. */
static void rewrite__keeps_record_attributes(void **state)
{
	struct fixture *f = *state;
	uint8_t *big = make_value(50000, 9);
	struct batch_builder_record recs[] = {{TS0, kbs("k"), kb(big, 50000), NULL, 0}};
	struct batch_builder_opts o = producer_opts(BATCH_COMPRESSION_NONE);
	uint8_t *batch;
	size_t len;
	assert_int_equal(batch_builder_build(&o, recs, 1, &batch, &len), 0);
	size_t i = BATCH_HEADER_SIZE;
	while (batch[i] & 0x80)
		i++;
	batch[i + 1] = 0x40;
	batch_update_crc(batch, len);
	uint8_t *out = NULL, *back = NULL;
	size_t out_len = 0, back_len = 0;
	char err[256] = "";
	assert_int_equal(claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &policy, batch, len, &out, &out_len,
						    err, sizeof(err)),
			 CLAIMCHECK_OK);
	struct kreader r;
	struct record rec;
	kr_init(&r, out + BATCH_HEADER_SIZE, out_len - BATCH_HEADER_SIZE);
	assert_int_equal(record_decode(&r, &rec), RECORD_OK);
	assert_int_equal(rec.attributes, 0x40);
	assert_int_equal(claimcheck_rehydrate(f->backend, out, out_len, 64 * MIB, &back, &back_len, err, sizeof(err)),
			 CLAIMCHECK_OK);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, batch, len);
	free(back);
	free(out);
	free(batch);
	free(big);
}

/* ---- Rehydrate: failures --------------------------------------------------------- */

/* Rewrites a mixed batch (gzip) and returns it; the store holds the objects. */
static uint8_t *rewritten(struct fixture *f, struct mixed *m, size_t *out_len)
{
	mixed_build(m, BATCH_COMPRESSION_GZIP, 100000, 200000);
	uint8_t *out = NULL;
	char err[256] = "";
	assert_int_equal(claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &policy, m->batch, m->len, &out,
						    out_len, err, sizeof(err)),
			 CLAIMCHECK_OK);
	return out;
}

static struct mem_object *object_of(struct fixture *f, const uint8_t *value, size_t len)
{
	char hex[65], key[128];
	sha_hex(value, len, hex);
	snprintf(key, sizeof(key), "%s/%d/%s", TOPIC, PARTITION, hex);
	struct mem_object *o = mem_find(f->store, key);
	assert_non_null(o);
	return o;
}

static int rehydrate_rc(struct fixture *f, const uint8_t *data, size_t len, size_t max, char *err, size_t errlen)
{
	uint8_t sentinel;
	uint8_t *back = &sentinel;
	size_t back_len = 0;
	int rc = claimcheck_rehydrate(f->backend, data, len, max, &back, &back_len, err, errlen);
	if (rc == CLAIMCHECK_OK)
		free(back);
	else
		assert_ptr_equal(back, &sentinel);
	return rc;
}

static void rehydrate__corrupt_object(void **state)
{
	struct fixture *f = *state;
	struct mixed m;
	size_t len;
	uint8_t *stored = rewritten(f, &m, &len);
	char err[256] = "";
	struct mem_object *o = object_of(f, m.big2, m.big2_len);

	o->data[777] ^= 1; /* same length, other bytes */
	assert_int_equal(rehydrate_rc(f, stored, len, 64 * MIB, err, sizeof(err)), CLAIMCHECK_ECORRUPT);
	assert_non_null(strstr(err, "SHA-256"));
	o->data[777] ^= 1;
	assert_int_equal(rehydrate_rc(f, stored, len, 64 * MIB, err, sizeof(err)), CLAIMCHECK_OK);

	o->len--; /* shorter */
	assert_int_equal(rehydrate_rc(f, stored, len, 64 * MIB, err, sizeof(err)), CLAIMCHECK_ECORRUPT);
	o->len++;

	uint8_t *longer = realloc(o->data, o->len + 1); /* longer */
	assert_non_null(longer);
	o->data = longer;
	o->data[o->len++] = 'x';
	assert_int_equal(rehydrate_rc(f, stored, len, 64 * MIB, err, sizeof(err)), CLAIMCHECK_ECORRUPT);

	free(stored);
	mixed_free(&m);
}

static void rehydrate__missing_object(void **state)
{
	struct fixture *f = *state;
	struct mixed m;
	size_t len;
	uint8_t *stored = rewritten(f, &m, &len);
	char err[256] = "";
	struct mem_object *o = object_of(f, m.big1, m.big1_len);
	mem_del(f->store, o->key, err, sizeof(err));
	assert_int_equal(rehydrate_rc(f, stored, len, 64 * MIB, err, sizeof(err)), CLAIMCHECK_ENOTFOUND);
	assert_non_null(strstr(err, "missing"));
	free(stored);
	mixed_free(&m);
}

static void rehydrate__value_over_the_limit(void **state)
{
	struct fixture *f = *state;
	struct mixed m;
	size_t len;
	uint8_t *stored = rewritten(f, &m, &len);
	char err[256] = "";
	int gets = f->store->gets;
	assert_int_equal(rehydrate_rc(f, stored, len, 150000, err, sizeof(err)), CLAIMCHECK_ETOOBIG);
	assert_int_equal(f->store->gets, gets); /* refused before any transfer */
	free(stored);
	mixed_free(&m);
}

static void rehydrate__damaged_stored_batch(void **state)
{
	struct fixture *f = *state;
	struct mixed m;
	size_t len;
	uint8_t *stored = rewritten(f, &m, &len);
	char err[256] = "";
	stored[len - 5] ^= 0x10;
	assert_int_equal(rehydrate_rc(f, stored, len, 64 * MIB, err, sizeof(err)), CLAIMCHECK_EINVALID);
	free(stored);
	mixed_free(&m);
}

/* A stored record with these headers (as if written by something else). */
static int rehydrate_headers(struct fixture *f, const struct record_header *h, int32_t n, const char *value)
{
	struct batch_builder_record recs[] = {
		{TS0, kbs("ok"), kbs("fine"), NULL, 0},
		{TS0, kbs("k"), kbs(value), h, n},
	};
	struct batch_builder_opts o = producer_opts(BATCH_COMPRESSION_SNAPPY);
	uint8_t *batch;
	size_t len;
	assert_int_equal(batch_builder_build(&o, recs, 2, &batch, &len), 0);
	char err[256] = "";
	int rc = rehydrate_rc(f, batch, len, 64 * MIB, err, sizeof(err));
	free(batch);
	return rc;
}

static void rehydrate__malformed_references(void **state)
{
	struct fixture *f = *state;
	uint8_t *v = make_value(10000, 4);
	char hex[65], key[128], other[65];
	sha_hex(v, 10000, hex);
	snprintf(key, sizeof(key), "%s/%d/%s", TOPIC, PARTITION, hex);
	char err[256];
	assert_int_equal(claimcheck_backend_put(f->backend, key, v, 10000, err, sizeof(err)), 0);
	memset(other, 'a', 64);
	other[64] = '\0';

	/* The well-formed reference works (the baseline). */
	struct record_header good[] = {hdr("h", "1"), hdr(CLAIMCHECK_HEADER_KEY, key),
				       hdr(CLAIMCHECK_HEADER_LENGTH, "10000"), hdr(CLAIMCHECK_HEADER_SHA256, hex)};
	assert_int_equal(rehydrate_headers(f, good, 4, ""), CLAIMCHECK_OK);

	/* Some of the three only. */
	assert_int_equal(rehydrate_headers(f, good, 3, ""), CLAIMCHECK_EINVALID);
	struct record_header only_key[] = {hdr(CLAIMCHECK_HEADER_KEY, key)};
	assert_int_equal(rehydrate_headers(f, only_key, 1, ""), CLAIMCHECK_EINVALID);
	struct record_header only_sha[] = {hdr("h", "1"), hdr(CLAIMCHECK_HEADER_SHA256, hex)};
	assert_int_equal(rehydrate_headers(f, only_sha, 2, ""), CLAIMCHECK_EINVALID);
	/* One repeated. */
	struct record_header twice[] = {hdr(CLAIMCHECK_HEADER_KEY, key), hdr(CLAIMCHECK_HEADER_LENGTH, "10000"),
					hdr(CLAIMCHECK_HEADER_SHA256, hex), hdr(CLAIMCHECK_HEADER_KEY, key)};
	assert_int_equal(rehydrate_headers(f, twice, 4, ""), CLAIMCHECK_EINVALID);
	/* A value besides the reference. */
	assert_int_equal(rehydrate_headers(f, good, 4, "x"), CLAIMCHECK_EINVALID);
	assert_int_equal(rehydrate_headers(f, good, 4, NULL), CLAIMCHECK_EINVALID);

	/* Malformed header values. */
	const char *lengths[] = {"", "-1", "+10000", "010000", "10000x", "99999999999", NULL};
	for (int i = 0; i < 7; i++) {
		struct record_header h[] = {hdr(CLAIMCHECK_HEADER_KEY, key), hdr(CLAIMCHECK_HEADER_LENGTH, lengths[i]),
					    hdr(CLAIMCHECK_HEADER_SHA256, hex)};
		assert_int_equal(rehydrate_headers(f, h, 3, ""), CLAIMCHECK_EINVALID);
	}
	char upper[65], shorter[64];
	memcpy(upper, hex, 65);
	for (int i = 0; i < 64; i++)
		if (upper[i] >= 'a')
			upper[i] = (char)(upper[i] - 'a' + 'A');
	memcpy(shorter, hex, 63);
	shorter[63] = '\0';
	const char *shas[] = {upper, shorter, "", NULL};
	for (int i = 0; i < 4; i++) {
		struct record_header h[] = {hdr(CLAIMCHECK_HEADER_KEY, key), hdr(CLAIMCHECK_HEADER_LENGTH, "10000"),
					    hdr(CLAIMCHECK_HEADER_SHA256, shas[i])};
		assert_int_equal(rehydrate_headers(f, h, 3, ""), CLAIMCHECK_EINVALID);
	}
	/* A key that is not the hash's. */
	char wrong_key[128];
	snprintf(wrong_key, sizeof(wrong_key), "%s/%d/%s", TOPIC, PARTITION, other);
	const char *keys[] = {wrong_key, hex, "", NULL};
	for (int i = 0; i < 4; i++) {
		struct record_header h[] = {hdr(CLAIMCHECK_HEADER_KEY, keys[i]), hdr(CLAIMCHECK_HEADER_LENGTH, "10000"),
					    hdr(CLAIMCHECK_HEADER_SHA256, hex)};
		assert_int_equal(rehydrate_headers(f, h, 3, ""), CLAIMCHECK_EINVALID);
	}
	/* Well-formed, but the hash is not the object's. */
	char other_key[128];
	snprintf(other_key, sizeof(other_key), "%s/%d/%s", TOPIC, PARTITION, other);
	assert_int_equal(claimcheck_backend_put(f->backend, other_key, v, 10000, err, sizeof(err)), 0);
	struct record_header lie[] = {hdr(CLAIMCHECK_HEADER_KEY, other_key), hdr(CLAIMCHECK_HEADER_LENGTH, "10000"),
				      hdr(CLAIMCHECK_HEADER_SHA256, other)};
	assert_int_equal(rehydrate_headers(f, lie, 3, ""), CLAIMCHECK_ECORRUPT);
	free(v);
}

/* ---- Several batches, as the log stores them -------------------------------------- */

struct keys_seen {
	char keys[16][128];
	int n;
};

static void collect_key(void *arg, const char *key)
{
	struct keys_seen *s = arg;
	assert_true(s->n < 16);
	snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", key);
}

static void rehydrate__log_of_batches(void **state)
{
	struct fixture *f = *state;
	/* plain (lz4) | rewritten (zstd) | plain (none) | rewritten (none),
	 * with the offsets the log assigns. */
	struct record_header h[] = {hdr("a", NULL)};
	struct batch_builder_record small[] = {{TS0, kbs("s"), kbs("small value"), h, 1},
					       {TS0, kbs(NULL), kbs(""), NULL, 0}};
	struct batch_builder_opts o1 = producer_opts(BATCH_COMPRESSION_LZ4);
	struct batch_builder_opts o3 = producer_opts(BATCH_COMPRESSION_NONE);
	uint8_t *orig[4];
	size_t orig_len[4];
	struct mixed m2, m4;
	assert_int_equal(batch_builder_build(&o1, small, 2, &orig[0], &orig_len[0]), 0);
	mixed_build(&m2, BATCH_COMPRESSION_ZSTD, 300000, 400000);
	assert_int_equal(batch_builder_build(&o3, small, 2, &orig[2], &orig_len[2]), 0);
	mixed_build(&m4, BATCH_COMPRESSION_NONE, 500000, 600000);
	orig[1] = m2.batch;
	orig_len[1] = m2.len;
	orig[3] = m4.batch;
	orig_len[3] = m4.len;

	uint8_t *log = NULL, *expect = NULL;
	size_t log_len = 0, expect_len = 0;
	int64_t base = 1000;
	size_t stored_last = 0;
	char err[256] = "";
	for (int i = 0; i < 4; i++) {
		uint8_t *stored = NULL;
		size_t stored_len = 0;
		assert_int_equal(claimcheck_rewrite_produce(f->backend, TOPIC, PARTITION, &policy, orig[i], orig_len[i],
							    &stored, &stored_len, err, sizeof(err)),
				 CLAIMCHECK_OK);
		assert_true((stored == NULL) == (i % 2 == 0));
		if (stored == NULL) {
			stored = malloc(orig_len[i]);
			memcpy(stored, orig[i], orig_len[i]);
			stored_len = orig_len[i];
		}
		batch_assign_offsets(stored, stored_len, base, 9, -1);
		batch_assign_offsets(orig[i], orig_len[i], base, 9, -1);
		base += 8;
		log = realloc(log, log_len + stored_len);
		memcpy(log + log_len, stored, stored_len);
		log_len += stored_len;
		expect = realloc(expect, expect_len + orig_len[i]);
		memcpy(expect + expect_len, orig[i], orig_len[i]);
		expect_len += orig_len[i];
		stored_last = stored_len;
		free(stored);
	}
	assert_true(log_len < 16384);

	uint8_t *back = NULL;
	size_t back_len = 0;
	assert_int_equal(claimcheck_rehydrate(f->backend, log, log_len, 64 * MIB, &back, &back_len, err, sizeof(err)),
			 CLAIMCHECK_OK);
	assert_int_equal(back_len, expect_len);
	assert_memory_equal(back, expect, expect_len);
	free(back);

	/* A fetch cut inside the last batch: the partial bytes pass as they are. */
	size_t cut = log_len - 10;
	assert_int_equal(claimcheck_rehydrate(f->backend, log, cut, 64 * MIB, &back, &back_len, err, sizeof(err)),
			 CLAIMCHECK_OK);
	size_t whole3 = expect_len - orig_len[3];
	size_t partial = stored_last - 10;
	assert_int_equal(back_len, whole3 + partial);
	assert_memory_equal(back, expect, whole3);
	assert_memory_equal(back + whole3, log + (log_len - stored_last), partial);
	free(back);

	/* Every reference in the log, repeated ones included. */
	struct keys_seen seen = {.n = 0};
	assert_int_equal(claimcheck_scan_refs(log, log_len, collect_key, &seen), 8);
	assert_int_equal(seen.n, 8);
	for (int i = 0; i < seen.n; i++) {
		assert_int_equal(strncmp(seen.keys[i], TOPIC "/3/", strlen(TOPIC "/3/")), 0);
		assert_int_equal(strlen(seen.keys[i]), strlen(TOPIC "/3/") + 64);
		assert_non_null(mem_find(f->store, seen.keys[i]));
	}
	assert_string_equal(seen.keys[0], seen.keys[2]); /* big1 twice in a batch: records 1 and 5 */
	assert_string_equal(seen.keys[4], seen.keys[6]);
	/* Plain batches hold none; a cut log is refused. */
	assert_int_equal(claimcheck_scan_refs(orig[0], orig_len[0], NULL, NULL), 0);
	assert_true(claimcheck_scan_refs(log, cut, NULL, NULL) < 0);

	free(log);
	free(expect);
	free(orig[0]);
	free(orig[2]);
	mixed_free(&m2);
	mixed_free(&m4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(rewrite__roundtrip_none, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__roundtrip_gzip, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__roundtrip_snappy, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__roundtrip_lz4, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__roundtrip_zstd, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__forty_mib_none, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__forty_mib_zstd, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__nothing_qualifies_appends_original, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__backend_failure_fails_the_batch, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__value_over_the_limit, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__refuses_reference_headers_from_producers, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(rewrite__keeps_record_attributes, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rehydrate__corrupt_object, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rehydrate__missing_object, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rehydrate__value_over_the_limit, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rehydrate__damaged_stored_batch, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rehydrate__malformed_references, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(rehydrate__log_of_batches, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests_name("claimcheck/rewrite", tests, NULL, NULL);
}
