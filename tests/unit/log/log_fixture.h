/* Helpers shared by the broker/log unit tests: valid magic-2 batches built
 * locally (uncompressed, CRC-32C set) and scratch directories.
 *
 * Include after <cmocka.h>. Everything returned is malloc'd; the test frees it.
 */
#ifndef TERN_TESTS_UNIT_LOG_FIXTURE_H
#define TERN_TESTS_UNIT_LOG_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/crc32c.h"
#include "broker/protocol/kwriter.h"

/* A batch of `n` records at `base_offset`. Record i has timestamp ts[i] (or
 * 1000 + i when ts is NULL) and a value of `value_len` bytes of 'a' + i. */
static inline uint8_t *fx_batch_ts(int64_t base_offset, int n, const int64_t *ts, size_t value_len, size_t *len)
{
	struct kwriter w;
	kw_init(&w, 128);
	size_t hdr = kw_reserve(&w, BATCH_HEADER_SIZE);
	(void)hdr;
	int64_t base_ts = ts ? ts[0] : 1000;
	int64_t max_ts = -1;
	char *value = malloc(value_len + 1);
	for (int i = 0; i < n; i++) {
		int64_t t = ts ? ts[i] : 1000 + i;
		if (t > max_ts)
			max_ts = t;
		memset(value, 'a' + (i % 26), value_len);
		struct kwriter r;
		kw_init(&r, 32 + value_len);
		kw_i8(&r, 0);
		kw_varlong(&r, t - base_ts);
		kw_varint(&r, i);
		kw_varint(&r, -1); /* null key */
		kw_varint(&r, (int32_t)value_len);
		kw_raw(&r, value, value_len);
		kw_varint(&r, 0); /* no headers */
		kw_varint(&w, (int32_t)r.len);
		kw_raw(&w, r.buf, r.len);
		kw_free(&r);
	}
	free(value);
	size_t total;
	uint8_t *b = kw_steal(&w, &total);
	batch_put_i64(b + BATCH_OFF_BASE_OFFSET, base_offset);
	batch_put_i32(b + BATCH_OFF_LENGTH, (int32_t)(total - BATCH_LOG_OVERHEAD));
	batch_put_i32(b + BATCH_OFF_LEADER_EPOCH, 0);
	b[BATCH_OFF_MAGIC] = 2;
	b[BATCH_OFF_ATTRIBUTES] = 0;
	b[BATCH_OFF_ATTRIBUTES + 1] = 0;
	batch_put_i32(b + BATCH_OFF_LAST_OFFSET_DELTA, n - 1);
	batch_put_i64(b + BATCH_OFF_BASE_TIMESTAMP, base_ts);
	batch_put_i64(b + BATCH_OFF_MAX_TIMESTAMP, max_ts);
	batch_put_i64(b + BATCH_OFF_PRODUCER_ID, -1);
	b[BATCH_OFF_PRODUCER_EPOCH] = 0xff;
	b[BATCH_OFF_PRODUCER_EPOCH + 1] = 0xff;
	batch_put_i32(b + BATCH_OFF_BASE_SEQUENCE, -1);
	batch_put_i32(b + BATCH_OFF_RECORDS_COUNT, n);
	batch_put_i32(b + BATCH_OFF_CRC, (int32_t)crc32c(0, b + BATCH_OFF_ATTRIBUTES, total - BATCH_OFF_ATTRIBUTES));
	*len = total;
	return b;
}

/* A batch of `n` records all stamped `ts`. */
static inline uint8_t *fx_batch(int64_t base_offset, int n, int64_t ts, size_t value_len, size_t *len)
{
	int64_t *t = malloc(sizeof *t * (size_t)(n > 0 ? n : 1));
	for (int i = 0; i < n; i++)
		t[i] = ts;
	uint8_t *b = fx_batch_ts(base_offset, n, t, value_len, len);
	free(t);
	return b;
}

static inline char *fx_tmpdir(void)
{
	char *d = strdup("/tmp/tern-log-test-XXXXXX");
	if (mkdtemp(d) == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static inline int fx_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static inline void fx_rmrf(const char *dir)
{
	nftw(dir, fx_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name into a static buffer (tests are single-threaded). */
static inline const char *fx_path(const char *dir, const char *name)
{
	static char buf[4096];
	snprintf(buf, sizeof buf, "%s/%s", dir, name);
	return buf;
}

static inline bool fx_exists(const char *dir, const char *name)
{
	return access(fx_path(dir, name), F_OK) == 0;
}

static inline long fx_file_size(const char *dir, const char *name)
{
	FILE *f = fopen(fx_path(dir, name), "rb");
	if (f == NULL)
		return -1;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

#endif
