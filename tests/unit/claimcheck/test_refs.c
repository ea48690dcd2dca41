/* refs: per-partition reference counts built from stored batches (the real
 * claimcheck_scan_refs), objects reported when the last reference goes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/logger.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/batch_builder.h"
#include "claimcheck/claimcheck.h"

/* A batch whose records reference keys[i] (NULL: an ordinary record). */
static uint8_t *refs_batch(int codec, const char *const *keys, int n, size_t *len)
{
	struct batch_builder_record recs[64];
	struct record_header hdrs[64][3];
	assert_true(n <= 64);
	for (int i = 0; i < n; i++) {
		memset(&recs[i], 0, sizeof recs[i]);
		recs[i].timestamp = 1000 + i;
		recs[i].key = (struct kbytes){(const uint8_t *)"k", 1};
		if (!keys[i]) {
			recs[i].value = (struct kbytes){(const uint8_t *)"plain value", 11};
			continue;
		}
		recs[i].value = (struct kbytes){NULL, 0};
		hdrs[i][0] = (struct record_header){{CLAIMCHECK_HEADER_KEY, (int32_t)strlen(CLAIMCHECK_HEADER_KEY)},
						    {(const uint8_t *)keys[i], (int32_t)strlen(keys[i])}};
		hdrs[i][1] = (struct record_header){{CLAIMCHECK_HEADER_LENGTH, (int32_t)strlen(CLAIMCHECK_HEADER_LENGTH)},
						    {(const uint8_t *)"5", 1}};
		hdrs[i][2] = (struct record_header){
			{CLAIMCHECK_HEADER_SHA256, (int32_t)strlen(CLAIMCHECK_HEADER_SHA256)},
			{(const uint8_t *)"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", 64}};
		recs[i].headers = hdrs[i];
		recs[i].headers_count = 3;
	}
	struct batch_builder_opts opts = batch_builder_opts_default();
	opts.codec = codec;
	uint8_t *out;
	assert_int_equal(batch_builder_build(&opts, recs, n, &out, len), 0);
	return out;
}

/* Two batches back to back, as a segment stores them. */
static uint8_t *concat(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, size_t *len)
{
	uint8_t *p = malloc(alen + blen);
	memcpy(p, a, alen);
	memcpy(p + alen, b, blen);
	*len = alen + blen;
	return p;
}

struct seen {
	char keys[64][128];
	int n;
	struct claimcheck_refs *r; /* for callbacks that call back in */
	int nested;
};

static void seen_add(void *arg, const char *key)
{
	struct seen *s = arg;
	assert_true(s->n < 64);
	snprintf(s->keys[s->n++], sizeof s->keys[0], "%s", key);
}

static bool seen_has(const struct seen *s, const char *key)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], key) == 0)
			return true;
	return false;
}

static void refs__last_reference_gone_reports_the_key(void **state)
{
	const char *seg1_keys[] = {"t/0/aaaa", "t/0/aaaa", "t/0/bbbb", NULL};
	const char *seg2_keys[] = {"t/0/aaaa", "t/0/cccc"};
	size_t l1, l2;
	uint8_t *s1 = refs_batch(BATCH_COMPRESSION_NONE, seg1_keys, 4, &l1);
	uint8_t *s2 = refs_batch(BATCH_COMPRESSION_GZIP, seg2_keys, 2, &l2);

	struct claimcheck_refs *r = claimcheck_refs_new();
	assert_non_null(r);
	claimcheck_refs_add(r, s1, l1);
	claimcheck_refs_add(r, s2, l2);

	struct seen all = {0};
	claimcheck_refs_foreach(r, seen_add, &all);
	assert_int_equal(all.n, 3);
	assert_true(seen_has(&all, "t/0/aaaa") && seen_has(&all, "t/0/bbbb") && seen_has(&all, "t/0/cccc"));

	/* Retention deletes the first segment: aaaa is still referenced by
	 * the second. */
	struct seen gone = {0};
	claimcheck_refs_remove(r, s1, l1, seen_add, &gone);
	assert_int_equal(gone.n, 1);
	assert_string_equal(gone.keys[0], "t/0/bbbb");

	gone.n = 0;
	claimcheck_refs_remove(r, s2, l2, seen_add, &gone);
	assert_int_equal(gone.n, 2);
	assert_true(seen_has(&gone, "t/0/aaaa") && seen_has(&gone, "t/0/cccc"));

	all.n = 0;
	claimcheck_refs_foreach(r, seen_add, &all);
	assert_int_equal(all.n, 0);

	/* Removing again (or what was never added) reports nothing. */
	gone.n = 0;
	claimcheck_refs_remove(r, s2, l2, seen_add, &gone);
	assert_int_equal(gone.n, 0);
	claimcheck_refs_free(r);
	free(s1);
	free(s2);
}

static void refs__rebuilt_from_the_log_after_a_restart(void **state)
{
	const char *k1[] = {"t/1/x", "t/1/y"};
	const char *k2[] = {"t/1/y", NULL, "t/1/z"};
	size_t l1, l2, all_len;
	uint8_t *b1 = refs_batch(BATCH_COMPRESSION_ZSTD, k1, 2, &l1);
	uint8_t *b2 = refs_batch(BATCH_COMPRESSION_LZ4, k2, 3, &l2);
	uint8_t *segment = concat(b1, l1, b2, l2, &all_len);

	/* At open, the whole segment at once. */
	struct claimcheck_refs *r = claimcheck_refs_new();
	claimcheck_refs_add(r, segment, all_len);
	struct seen gone = {0};
	claimcheck_refs_remove(r, b1, l1, seen_add, &gone);
	assert_int_equal(gone.n, 1);
	assert_string_equal(gone.keys[0], "t/1/x");
	gone.n = 0;
	claimcheck_refs_remove(r, b2, l2, seen_add, &gone);
	assert_int_equal(gone.n, 2);
	assert_true(seen_has(&gone, "t/1/y") && seen_has(&gone, "t/1/z"));
	claimcheck_refs_free(r);
	free(segment);
	free(b1);
	free(b2);
}

static void refs__batches_without_references_and_bad_bytes(void **state)
{
	const char *none[] = {NULL, NULL};
	size_t len;
	uint8_t *b = refs_batch(BATCH_COMPRESSION_SNAPPY, none, 2, &len);
	struct claimcheck_refs *r = claimcheck_refs_new();
	claimcheck_refs_add(r, b, len);
	claimcheck_refs_add(r, NULL, 0);
	uint8_t junk[100];
	memset(junk, 0xee, sizeof junk);
	claimcheck_refs_add(r, junk, sizeof junk);
	claimcheck_refs_add(r, b, len - 3); /* a torn tail */
	struct seen all = {0};
	claimcheck_refs_foreach(r, seen_add, &all);
	assert_int_equal(all.n, 0);
	claimcheck_refs_remove(r, junk, sizeof junk, seen_add, &all);
	assert_int_equal(all.n, 0);
	claimcheck_refs_free(r);
	claimcheck_refs_free(NULL);
	free(b);
}

struct counter {
	int calls;
	unsigned char *hit; /* per key index */
};

static void count_gone(void *arg, const char *key)
{
	struct counter *c = arg;
	unsigned idx;
	assert_int_equal(sscanf(key, "big/0/%u", &idx), 1);
	assert_int_equal(c->hit[idx], 0);
	c->hit[idx] = 1;
	c->calls++;
}

static void refs__many_keys(void **state)
{
	enum { N = 20000, PER = 50 };
	struct claimcheck_refs *r = claimcheck_refs_new();
	uint8_t *batches[N / PER];
	size_t lens[N / PER];
	char names[PER][32];
	const char *keys[PER];
	for (int b = 0; b < N / PER; b++) {
		for (int i = 0; i < PER; i++) {
			snprintf(names[i], sizeof names[i], "big/0/%d", b * PER + i);
			keys[i] = names[i];
		}
		batches[b] = refs_batch(BATCH_COMPRESSION_NONE, keys, PER, &lens[b]);
		claimcheck_refs_add(r, batches[b], lens[b]);
		claimcheck_refs_add(r, batches[b], lens[b]); /* every key twice */
	}
	struct counter c = {.hit = calloc(N, 1)};
	for (int b = 0; b < N / PER; b++)
		claimcheck_refs_remove(r, batches[b], lens[b], count_gone, &c);
	assert_int_equal(c.calls, 0);
	for (int b = 0; b < N / PER; b++) {
		claimcheck_refs_remove(r, batches[b], lens[b], count_gone, &c);
		free(batches[b]);
	}
	assert_int_equal(c.calls, N);
	free(c.hit);
	claimcheck_refs_free(r);
}

static void nested_foreach(void *arg, const char *key)
{
	struct seen *s = arg;
	s->nested++;
	struct seen inner = {0};
	claimcheck_refs_foreach(s->r, seen_add, &inner); /* would deadlock under the lock */
	seen_add(s, key);
}

static void refs__callbacks_may_call_back_in(void **state)
{
	const char *k[] = {"t/2/a", "t/2/b"};
	size_t len;
	uint8_t *b = refs_batch(BATCH_COMPRESSION_NONE, k, 2, &len);
	struct claimcheck_refs *r = claimcheck_refs_new();
	claimcheck_refs_add(r, b, len);
	struct seen s = {.r = r};
	claimcheck_refs_foreach(r, nested_foreach, &s);
	assert_int_equal(s.nested, 2);
	s.n = 0;
	claimcheck_refs_remove(r, b, len, nested_foreach, &s);
	assert_int_equal(s.n, 2);
	claimcheck_refs_free(r);
	free(b);
}

int main(void)
{
	logger_set_level(TLOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refs__last_reference_gone_reports_the_key),
		cmocka_unit_test(refs__rebuilt_from_the_log_after_a_restart),
		cmocka_unit_test(refs__batches_without_references_and_bad_bytes),
		cmocka_unit_test(refs__many_keys),
		cmocka_unit_test(refs__callbacks_may_call_back_in),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
