#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/cleaner.h"
#include "broker/log/log.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/record.h"
#include "log/log_fixture.h"

#define NOW 1700000000000LL
#define DAY (24LL * 60 * 60 * 1000)

struct fx {
	char *root;
	char dir[512];
	struct log_config cfg;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->root = fx_tmpdir();
	assert_non_null(f->root);
	snprintf(f->dir, sizeof f->dir, "%s/topic-0", f->root);
	log_config_default(&f->cfg);
	f->cfg.compact = true;
	f->cfg.retention_ms = -1;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	fx_rmrf(f->root);
	free(f->root);
	free(f);
	return 0;
}

static struct log *fx_open(struct fx *f)
{
	int err = 0;
	struct log *log = log_open(f->dir, &f->cfg, NOW, &err);
	assert_non_null(log);
	assert_int_equal(err, 0);
	return log;
}

/* One record: key "k<key>" (key < 0: no key), value "v<val>" (val < 0: a
 * tombstone). */
struct kv {
	int key;
	int val;
};

/* Appends one batch of the records at the log end, with `codec`, stamped ts. */
static void fx_append_kv(struct log *log, const struct kv *kvs, int n, int codec, int64_t ts)
{
	char keys[64][16], vals[64][16];
	struct batch_builder_record recs[64];
	assert_true(n <= 64);
	for (int i = 0; i < n; i++) {
		snprintf(keys[i], sizeof keys[i], "k%d", kvs[i].key);
		snprintf(vals[i], sizeof vals[i], "v%d", kvs[i].val);
		recs[i] = (struct batch_builder_record){
			.timestamp = ts,
			.key = {.p = (const uint8_t *)keys[i], .len = kvs[i].key < 0 ? -1 : (int32_t)strlen(keys[i])},
			.value = {.p = (const uint8_t *)vals[i], .len = kvs[i].val < 0 ? -1 : (int32_t)strlen(vals[i])},
		};
	}
	struct batch_builder_opts o = batch_builder_opts_default();
	o.codec = codec;
	o.partition_leader_epoch = 0;
	uint8_t *b;
	size_t len;
	assert_int_equal(batch_builder_build(&o, recs, n, &b, &len), 0);
	batch_assign_offsets(b, len, log_end_offset(log), 0, -1);
	assert_int_equal(log_append(log, b, len, NOW), 0);
	free(b);
}

/* What a consumer from offset 0 sees: (offset, key, value) per record. */
struct seen {
	int64_t offset[256];
	int key[256];
	int val[256];
	int codec[256];
	int n;
};

static void fx_read_all(struct log *log, struct seen *s)
{
	memset(s, 0, sizeof *s);
	int64_t off = log_start_offset(log);
	while (off < log_end_offset(log)) {
		uint8_t *buf;
		size_t len;
		assert_int_equal(log_read(log, off, INT64_MAX, 1 << 20, true, &buf, &len), 0);
		if (len == 0)
			break;
		struct batch_iter it;
		batch_iter_init(&it, buf, len);
		const uint8_t *b;
		size_t blen;
		while (batch_iter_next(&it, &b, &blen)) {
			assert_true(batch_crc_ok(b, blen));
			struct batch_header h;
			assert_int_equal(batch_header_parse(b, blen, &h), 0);
			struct batch_records recs;
			assert_int_equal(batch_records_open(b, blen, 1 << 24, &recs), KERR_NONE);
			struct kreader kr;
			kr_init(&kr, recs.p, recs.len);
			struct record rec;
			int count = 0;
			while (kr.left > 0) {
				assert_int_equal(record_decode(&kr, &rec), RECORD_OK);
				assert_true(s->n < 256);
				s->offset[s->n] = h.base_offset + rec.offset_delta;
				s->key[s->n] = rec.key.len < 0 ? -1 : atoi((const char *)rec.key.p + 1);
				s->val[s->n] = rec.value.len < 0 ? -1 : atoi((const char *)rec.value.p + 1);
				s->codec[s->n] = h.attributes & BATCH_ATTR_COMPRESSION_MASK;
				s->n++;
				count++;
			}
			assert_int_equal(count, h.records_count);
			batch_records_free(&recs);
			off = h.base_offset + h.last_offset_delta + 1;
		}
		free(buf);
	}
}

/* Keys 0..3 written 3 rounds (values = offsets), 4 records a batch, one
 * batch a segment; then an active segment with one more batch. */
static void fx_fill(struct fx *f, struct log *log, int codec)
{
	(void)f;
	for (int round = 0; round < 3; round++) {
		struct kv kvs[4];
		for (int k = 0; k < 4; k++)
			kvs[k] = (struct kv){k, (int)log_end_offset(log) + k};
		fx_append_kv(log, kvs, 4, codec, NOW - 2 * DAY);
	}
}

static void cleaner__keeps_latest_per_key_offsets_preserved(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 1; /* every batch in its own segment */
	struct log *log = fx_open(f);
	fx_fill(f, log, BATCH_COMPRESSION_NONE);
	/* Active segment: key 0 again, which must win but is not cleanable. */
	struct kv last = {0, 100};
	fx_append_kv(log, &last, 1, BATCH_COMPRESSION_NONE, NOW);
	assert_int_equal(log_segment_count(log), 4);
	assert_true(cleaner_needed(log, NOW));

	struct cleaner_stats st;
	assert_int_equal(cleaner_clean(log, NOW, 1 << 20, &st), 0);
	assert_int_equal(st.end_offset, 12);
	assert_int_equal(st.records_removed, 8);
	/* The first two segments are empty now: the first stays (it holds the
	 * log start), the second goes. */
	assert_int_equal(log_segment_count(log), 3);
	assert_int_equal(log_start_offset(log), 0);
	assert_int_equal(log_end_offset(log), 13);
	assert_false(cleaner_needed(log, NOW));

	struct seen s;
	fx_read_all(log, &s);
	/* Offsets 8..11 (k0..k3 latest in the cleanable range), then 12. */
	assert_int_equal(s.n, 5);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(s.offset[i], 8 + i);
		assert_int_equal(s.key[i], i);
		assert_int_equal(s.val[i], 8 + i);
	}
	assert_int_equal(s.offset[4], 12);
	assert_int_equal(s.val[4], 100);

	/* Reads of offsets inside a gap return the next batch. */
	uint8_t *buf;
	size_t len;
	assert_int_equal(log_read(log, 3, INT64_MAX, 1 << 20, true, &buf, &len), 0);
	assert_true(len > 0);
	struct batch_header h;
	assert_int_equal(batch_header_parse(buf, len, &h), 0);
	assert_int_equal(h.base_offset, 8);
	free(buf);

	/* Survives a reopen (indexes, segments). */
	log_close(log);
	log = fx_open(f);
	struct seen s2;
	fx_read_all(log, &s2);
	assert_int_equal(s2.n, 5);
	assert_memory_equal(s.offset, s2.offset, sizeof s.offset[0] * 5);
	log_close(log);
}

static void cleaner__partial_batch_keeps_header_fields(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 1;
	struct log *log = fx_open(f);
	struct kv a[4] = {{1, 0}, {2, 1}, {1, 2}, {3, 3}}; /* k1 at 0 superseded by 2 */
	fx_append_kv(log, a, 4, BATCH_COMPRESSION_NONE, NOW);
	struct kv b = {9, 4};
	fx_append_kv(log, &b, 1, BATCH_COMPRESSION_NONE, NOW);
	assert_int_equal(cleaner_clean(log, NOW, 1 << 20, NULL), 0);
	uint8_t *buf;
	size_t len;
	assert_int_equal(log_read(log, 0, INT64_MAX, 1 << 20, true, &buf, &len), 0);
	struct batch_header h;
	assert_int_equal(batch_header_parse(buf, len, &h), 0);
	assert_int_equal(h.base_offset, 0);
	assert_int_equal(h.last_offset_delta, 3); /* the batch's last offset is kept */
	assert_int_equal(h.records_count, 3);
	assert_int_equal(h.partition_leader_epoch, 0);
	free(buf);
	struct seen s;
	fx_read_all(log, &s);
	assert_int_equal(s.n, 4);
	int64_t want[] = {1, 2, 3, 4};
	for (int i = 0; i < 4; i++)
		assert_int_equal(s.offset[i], want[i]);
	log_close(log);
}

static void cleaner__tombstones_kept_until_delete_retention(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 1;
	struct log *log = fx_open(f);
	struct kv a[3] = {{1, 0}, {2, 1}, {1, -1}}; /* k1 deleted */
	fx_append_kv(log, a, 3, BATCH_COMPRESSION_NONE, NOW - 2 * DAY);
	struct kv b = {9, 3};
	fx_append_kv(log, &b, 1, BATCH_COMPRESSION_NONE, NOW);

	/* Within delete.retention.ms (3 days > 2 days): the tombstone stays. */
	log_close(log);
	f->cfg.delete_retention_ms = 3 * DAY;
	log = fx_open(f);
	assert_int_equal(cleaner_clean(log, NOW, 1 << 20, NULL), 0);
	struct seen s;
	fx_read_all(log, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.offset[0], 1);
	assert_int_equal(s.offset[1], 2);
	assert_int_equal(s.key[1], 1);
	assert_int_equal(s.val[1], -1);
	/* A pass is due when the kept tombstone expires, dirty or not. */
	assert_int_equal(log_cleaner_due_ms(log), NOW - 2 * DAY + 3 * DAY + 1);
	assert_false(cleaner_needed(log, NOW));
	assert_true(cleaner_needed(log, NOW + DAY + 1));

	/* Past it (default: 1 day): the tombstone goes too. */
	log_close(log);
	f->cfg.delete_retention_ms = LOG_DEFAULT_DELETE_RETENTION_MS;
	log = fx_open(f);
	struct cleaner_stats st;
	assert_int_equal(cleaner_clean(log, NOW, 1 << 20, &st), 0);
	assert_int_equal(st.tombstones_removed, 1);
	fx_read_all(log, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.offset[0], 1);
	assert_int_equal(s.offset[1], 3);
	log_close(log);
}

static void cleaner__compressed_batches_keep_codec(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 1;
	int codecs[] = {BATCH_COMPRESSION_GZIP, BATCH_COMPRESSION_SNAPPY, BATCH_COMPRESSION_LZ4, BATCH_COMPRESSION_ZSTD};
	struct log *log = fx_open(f);
	for (int c = 0; c < 4; c++) {
		struct kv a[2] = {{c, 0}, {10 + c, 1}};
		fx_append_kv(log, a, 2, codecs[c], NOW);
	}
	/* Supersede the first record of each batch. */
	struct kv b[4] = {{0, 9}, {1, 9}, {2, 9}, {3, 9}};
	fx_append_kv(log, b, 4, BATCH_COMPRESSION_NONE, NOW);
	struct kv tail = {99, 0};
	fx_append_kv(log, &tail, 1, BATCH_COMPRESSION_NONE, NOW);
	assert_int_equal(cleaner_clean(log, NOW, 1 << 20, NULL), 0);
	struct seen s;
	fx_read_all(log, &s);
	assert_int_equal(s.n, 4 + 4 + 1);
	for (int c = 0; c < 4; c++) {
		assert_int_equal(s.offset[c], 2 * c + 1);
		assert_int_equal(s.key[c], 10 + c);
		assert_int_equal(s.codec[c], codecs[c]);
	}
	log_close(log);
}

static void cleaner__min_compaction_lag_and_high_watermark(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 1;
	f->cfg.min_compaction_lag_ms = DAY;
	struct log *log = fx_open(f);
	struct kv a = {1, 0};
	fx_append_kv(log, &a, 1, BATCH_COMPRESSION_NONE, NOW - 2 * DAY);
	fx_append_kv(log, &a, 1, BATCH_COMPRESSION_NONE, NOW - 2 * DAY);
	fx_append_kv(log, &a, 1, BATCH_COMPRESSION_NONE, NOW); /* too new */
	fx_append_kv(log, &a, 1, BATCH_COMPRESSION_NONE, NOW); /* active */
	assert_int_equal(cleaner_first_uncleanable_offset(log, NOW), 2);
	log_set_high_watermark(log, 1);
	assert_int_equal(cleaner_first_uncleanable_offset(log, NOW), 1);
	assert_int_equal(cleaner_clean(log, NOW, 1 << 20, NULL), 0);
	struct seen s;
	fx_read_all(log, &s);
	assert_int_equal(s.n, 4); /* nothing cleanable holds a superseded record */
	log_set_high_watermark(log, INT64_MAX);
	assert_int_equal(cleaner_clean(log, NOW, 1 << 20, NULL), 0);
	fx_read_all(log, &s);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.offset[0], 1);
	log_close(log);
}

static void cleaner__not_needed_for_delete_policy(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 1;
	f->cfg.compact = false;
	struct log *log = fx_open(f);
	fx_fill(f, log, BATCH_COMPRESSION_NONE);
	assert_false(cleaner_needed(log, NOW));
	log_close(log);
}

/* A crash in the middle of a swap: a .cleaned is discarded, a .swap is
 * completed (Kafka's recovery of cleaner leftovers). */
static void log_open__finishes_or_discards_cleaner_leftovers(void **state)
{
	struct fx *f = *state;
	f->cfg.segment_bytes = 1;
	struct log *log = fx_open(f);
	fx_fill(f, log, BATCH_COMPRESSION_NONE);
	struct kv last = {7, 0};
	fx_append_kv(log, &last, 1, BATCH_COMPRESSION_NONE, NOW);
	log_close(log);

	/* Segment 4 (keys 0..3, offsets 4..7) cleaned to nothing but key 3,
	 * left as .swap; segment 8 left as a stray .cleaned of garbage. */
	char path[1024];
	snprintf(path, sizeof path, "%s/%020d.log", f->dir, 4);
	FILE *in = fopen(path, "rb");
	assert_non_null(in);
	uint8_t orig[4096];
	size_t n = fread(orig, 1, sizeof orig, in);
	fclose(in);
	assert_true(n > 0);
	struct batch_builder_record r = {.timestamp = NOW,
					 .key = {.p = (const uint8_t *)"k3", .len = 2},
					 .value = {.p = (const uint8_t *)"v7", .len = 2}};
	struct batch_builder_opts o = batch_builder_opts_default();
	uint8_t *b;
	size_t blen;
	assert_int_equal(batch_builder_build(&o, &r, 1, &b, &blen), 0);
	batch_assign_offsets(b, blen, 7, 0, -1);
	snprintf(path, sizeof path, "%s/%020d.log.swap", f->dir, 4);
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(b, 1, blen, out), blen);
	fclose(out);
	free(b);
	snprintf(path, sizeof path, "%s/%020d.log.cleaned", f->dir, 8);
	out = fopen(path, "wb");
	assert_non_null(out);
	fputs("garbage", out);
	fclose(out);

	log = fx_open(f);
	struct seen s;
	fx_read_all(log, &s);
	/* 0..3, then only 7 of segment 4, then 8..11, then 12. */
	assert_int_equal(s.n, 4 + 1 + 4 + 1);
	assert_int_equal(s.offset[4], 7);
	assert_int_equal(s.offset[5], 8);
	char name[64];
	snprintf(name, sizeof name, "%020d.log.cleaned", 8);
	assert_false(fx_exists(f->dir, name));
	snprintf(name, sizeof name, "%020d.log.swap", 4);
	assert_false(fx_exists(f->dir, name));
	log_close(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(cleaner__keeps_latest_per_key_offsets_preserved, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(cleaner__partial_batch_keeps_header_fields, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(cleaner__tombstones_kept_until_delete_retention, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(cleaner__compressed_batches_keep_codec, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(cleaner__min_compaction_lag_and_high_watermark, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(cleaner__not_needed_for_delete_policy, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(log_open__finishes_or_discards_cleaner_leftovers, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
