#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/compress.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/legacy.h"
#include "broker/protocol/record.h"
#include "protocol/codec_test.h"

#define MAX_UNCOMPRESSED ((size_t)64 << 20)

/* ---- Hand-made legacy messages ------------------------------------------ */

struct msg_spec {
	int64_t offset;
	int8_t magic;
	uint8_t attributes;
	int64_t timestamp;       /* magic 1 */
	const uint8_t *key;      /* NULL + key_len -1 = null */
	int32_t key_len;
	const uint8_t *value;
	int32_t value_len;
};

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Appends offset, size and message with a correct CRC-32. */
static void put_msg(struct kwriter *w, const struct msg_spec *m)
{
	kw_i64(w, m->offset);
	size_t size_at = kw_reserve(w, 4);
	size_t start = w->len;
	kw_u32(w, 0); /* crc, filled below */
	kw_i8(w, m->magic);
	kw_i8(w, (int8_t)m->attributes);
	if (m->magic == 1)
		kw_i64(w, m->timestamp);
	kw_bytes(w, m->key, m->key_len);
	kw_bytes(w, m->value, m->value_len);
	assert_true(kw_ok(w));
	size_t size = w->len - start;
	kw_put_i32_at(w, size_at, (int32_t)size);
	put_u32(w->buf + start, legacy_message_crc(w->buf + start, size));
}

static struct msg_spec plain(int64_t offset, int8_t magic, int64_t ts, const char *key, const char *value)
{
	struct msg_spec m = {
		.offset = offset,
		.magic = magic,
		.attributes = 0,
		.timestamp = ts,
		.key = (const uint8_t *)key,
		.key_len = key ? (int32_t)strlen(key) : -1,
		.value = (const uint8_t *)value,
		.value_len = value ? (int32_t)strlen(value) : -1,
	};
	return m;
}

/* The pre-KIP-57 LZ4 header checksum: over the frame magic and descriptor. */
static void break_lz4_header_checksum(uint8_t *frame, size_t len)
{
	uint8_t flg = frame[4];
	size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
	assert_true(len > 4 + desc);
	frame[4 + desc] = (uint8_t)(legacy_xxh32(frame, 4 + desc) >> 8);
}

/* A wrapper message of `magic` compressing the messages in `inner`. */
static void put_wrapper(struct kwriter *w, int64_t offset, int8_t magic, int codec, int64_t ts,
			const struct kwriter *inner, int broken_lz4)
{
	uint8_t *packed;
	size_t packed_len;
	assert_int_equal(compress_compress(codec, inner->buf, inner->len, &packed, &packed_len), COMPRESS_OK);
	if (broken_lz4)
		break_lz4_header_checksum(packed, packed_len);
	struct msg_spec m = {
		.offset = offset,
		.magic = magic,
		.attributes = (uint8_t)codec,
		.timestamp = ts,
		.key = NULL,
		.key_len = -1,
		.value = packed,
		.value_len = (int32_t)packed_len,
	};
	put_msg(w, &m);
	free(packed);
}

static int convert(const struct kwriter *w, uint8_t **out, size_t *out_len)
{
	uint8_t *c = dup_exact(w->buf, w->len);
	int err = legacy_upconvert(c, w->len, MAX_UNCOMPRESSED, out, out_len);
	free(c);
	return err;
}

static int convert_err(const struct kwriter *w)
{
	uint8_t *out;
	size_t len;
	int err = convert(w, &out, &len);
	if (err != KERR_NONE)
		assert_null(out);
	free(out);
	return err;
}

/* ---- Checking the converted batch ---------------------------------------- */

struct want_record {
	int64_t timestamp;
	const char *key;   /* NULL = null */
	const char *value; /* NULL = null */
};

static void assert_field(struct kbytes got, const char *want)
{
	if (want == NULL) {
		assert_int_equal(got.len, -1);
		return;
	}
	assert_int_equal(got.len, (int32_t)strlen(want));
	if (got.len > 0)
		assert_memory_equal(got.p, want, (size_t)got.len);
}

static void assert_batch(const uint8_t *batch, size_t len, int codec, const struct want_record *want, int32_t n)
{
	struct batch_info info;
	assert_int_equal(batch_validate(batch, len, MAX_UNCOMPRESSED, &info), KERR_NONE);
	assert_int_equal(info.codec, codec);
	assert_int_equal(info.records_count, n);
	assert_true(info.producer_id == -1);
	assert_int_equal(info.attributes & ~BATCH_ATTR_COMPRESSION_MASK, 0);
	struct batch_header h;
	assert_int_equal(batch_header_parse(batch, len, &h), 0);
	assert_true(h.base_offset == 0);
	assert_int_equal(h.partition_leader_epoch, -1);
	int64_t max_ts = -1;
	for (int32_t i = 0; i < n; i++)
		if (want[i].timestamp > max_ts)
			max_ts = want[i].timestamp;
	assert_true(h.base_timestamp == want[0].timestamp);
	assert_true(h.max_timestamp == max_ts);

	struct batch_records recs;
	assert_int_equal(batch_records_open(batch, len, MAX_UNCOMPRESSED, &recs), KERR_NONE);
	struct kreader r;
	kr_init(&r, recs.p, recs.len);
	for (int32_t i = 0; i < n; i++) {
		struct record rec;
		assert_int_equal(record_decode(&r, &rec), RECORD_OK);
		assert_int_equal(rec.offset_delta, i);
		assert_true(h.base_timestamp + rec.timestamp_delta == want[i].timestamp);
		assert_field(rec.key, want[i].key);
		assert_field(rec.value, want[i].value);
		assert_int_equal(rec.headers_count, 0);
	}
	assert_int_equal(r.left, 0);
	batch_records_free(&recs);
}

static const struct want_record three_v0[] = {
	{-1, "k0", "v0"},
	{-1, NULL, "no key"},
	{-1, "k2", ""},
	{-1, "tombstone", NULL},
};

static const struct want_record three_v1[] = {
	{1700000000000LL, "k0", "v0"},
	{1700000000500LL, NULL, "no key"},
	{1699999999000LL, "k2", ""},
	{1700000000001LL, "tombstone", NULL},
};

#define NWANT 4

/* The four records as uncompressed messages of `magic`, offsets base..base+3. */
static void put_plain_set(struct kwriter *w, int8_t magic, int64_t base)
{
	const struct want_record *want = magic == 0 ? three_v0 : three_v1;
	for (int i = 0; i < NWANT; i++) {
		struct msg_spec m = plain(base + i, magic, want[i].timestamp, want[i].key, want[i].value);
		put_msg(w, &m);
	}
}

/* ---- XXH32 ---------------------------------------------------------------- */

static void legacy_xxh32__known_vectors(void **state)
{
	assert_int_equal(legacy_xxh32((const uint8_t *)"", 0), 0x02CC5D05u);
	assert_int_equal(legacy_xxh32((const uint8_t *)"abc", 3), 0x32D153FFu);
	const char *s = "Nobody inspects the spammish repetition";
	assert_int_equal(legacy_xxh32((const uint8_t *)s, strlen(s)), 0xE2293B2Fu);
}

static void legacy_xxh32__matches_lz4_frame_header_checksum(void **state)
{
	/* liblz4 writes a correct header checksum: the second byte of XXH32
	 * over the descriptor, with and without a content size. */
	for (int with_size = 0; with_size < 2; with_size++) {
		LZ4F_preferences_t prefs;
		memset(&prefs, 0, sizeof prefs);
		prefs.frameInfo.contentSize = with_size ? 5 : 0;
		uint8_t frame[128];
		size_t n = LZ4F_compressFrame(frame, sizeof frame, "hello", 5, &prefs);
		assert_false(LZ4F_isError(n));
		size_t desc = with_size ? 10 : 2;
		assert_int_equal(frame[4 + desc], (uint8_t)(legacy_xxh32(frame + 4, desc) >> 8));
	}
}

/* ---- Conversions ---------------------------------------------------------- */

static void legacy_upconvert__magic0_uncompressed(void **state)
{
	struct kwriter w;
	kw_init(&w, 64);
	put_plain_set(&w, 0, 0);
	uint8_t *out;
	size_t len;
	assert_int_equal(convert(&w, &out, &len), KERR_NONE);
	assert_non_null(out);
	assert_batch(out, len, BATCH_COMPRESSION_NONE, three_v0, NWANT);
	free(out);
	kw_free(&w);
}

static void legacy_upconvert__magic1_uncompressed_keeps_timestamps(void **state)
{
	struct kwriter w;
	kw_init(&w, 64);
	/* Offsets as a client wrote them do not matter: the broker assigns. */
	put_plain_set(&w, 1, 77);
	uint8_t *out;
	size_t len;
	assert_int_equal(convert(&w, &out, &len), KERR_NONE);
	assert_batch(out, len, BATCH_COMPRESSION_NONE, three_v1, NWANT);
	free(out);
	kw_free(&w);
}

static void check_wrapper(int8_t magic, int codec, int64_t wrapper_offset, int broken_lz4)
{
	struct kwriter inner, w;
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_plain_set(&inner, magic, 0);
	put_wrapper(&w, wrapper_offset, magic, codec, 1700000009999LL, &inner, broken_lz4);
	uint8_t *out;
	size_t len;
	assert_int_equal(convert(&w, &out, &len), KERR_NONE);
	/* Re-compressed with the wrapper's codec; magic 1 inner timestamps are
	 * the messages' own (CreateTime), not the wrapper's. */
	assert_batch(out, len, codec, magic == 0 ? three_v0 : three_v1, NWANT);
	free(out);
	kw_free(&inner);
	kw_free(&w);
}

static void legacy_upconvert__wrappers_keep_their_codec(void **state)
{
	static const int codecs[] = {BATCH_COMPRESSION_GZIP, BATCH_COMPRESSION_SNAPPY, BATCH_COMPRESSION_LZ4};
	for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++) {
		check_wrapper(0, codecs[i], 0, 0);
		/* magic 1: wrapper offset = last relative inner offset, or 0
		 * (librdkafka), or anything larger (absolute, from a log). */
		check_wrapper(1, codecs[i], NWANT - 1, 0);
		check_wrapper(1, codecs[i], 0, 0);
		check_wrapper(1, codecs[i], 1000, 0);
	}
}

static void legacy_upconvert__magic0_lz4_with_old_header_checksum(void **state)
{
	/* KIP-57: magic 0 clients computed the checksum over the frame magic
	 * too; accepted as Kafka does. */
	check_wrapper(0, BATCH_COMPRESSION_LZ4, 0, 1);
	/* For magic 1 the checksum must be right. */
	struct kwriter inner, w;
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_plain_set(&inner, 1, 0);
	put_wrapper(&w, NWANT - 1, 1, BATCH_COMPRESSION_LZ4, 0, &inner, 1);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&inner);
	kw_free(&w);
}

static void legacy_upconvert__magic2_is_left_alone(void **state)
{
	uint8_t batch[BATCH_HEADER_SIZE] = {0};
	batch[BATCH_OFF_MAGIC] = 2;
	uint8_t *out = (uint8_t *)1;
	size_t len = 1;
	assert_int_equal(legacy_upconvert(batch, sizeof batch, MAX_UNCOMPRESSED, &out, &len), KERR_NONE);
	assert_null(out);
	assert_int_equal(len, 0);
}

static void legacy_upconvert__magic0_ignores_timestamp_type_bit(void **state)
{
	struct kwriter w;
	kw_init(&w, 64);
	struct msg_spec m = plain(0, 0, -1, "k", "v");
	m.attributes = 0x08;
	put_msg(&w, &m);
	assert_int_equal(convert_err(&w), KERR_NONE);
	kw_free(&w);
}

/* ---- Refusals ------------------------------------------------------------- */

static void legacy_upconvert__empty_or_null_is_invalid(void **state)
{
	uint8_t *out;
	size_t len;
	uint8_t one = 0;
	assert_int_equal(legacy_upconvert(NULL, 0, MAX_UNCOMPRESSED, &out, &len), KERR_INVALID_RECORD);
	assert_int_equal(legacy_upconvert(&one, 0, MAX_UNCOMPRESSED, &out, &len), KERR_INVALID_RECORD);
	assert_null(out);
}

static void legacy_upconvert__bad_crc_is_corrupt(void **state)
{
	struct kwriter w;
	kw_init(&w, 64);
	put_plain_set(&w, 1, 0);
	w.buf[w.len - 1] ^= 0x01; /* the last message's value */
	assert_int_equal(convert_err(&w), KERR_CORRUPT_MESSAGE);
	kw_free(&w);
}

static void legacy_upconvert__bad_inner_crc_is_corrupt(void **state)
{
	struct kwriter inner, w;
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_plain_set(&inner, 0, 0);
	inner.buf[LEGACY_LOG_OVERHEAD + 10] ^= 0x40; /* first message's key */
	put_wrapper(&w, 0, 0, BATCH_COMPRESSION_GZIP, 0, &inner, 0);
	assert_int_equal(convert_err(&w), KERR_CORRUPT_MESSAGE);
	kw_free(&inner);
	kw_free(&w);
}

static void legacy_upconvert__every_truncation_is_refused(void **state)
{
	struct kwriter w;
	kw_init(&w, 64);
	size_t ends[NWANT];
	for (int i = 0; i < NWANT; i++) {
		struct msg_spec m = plain(i, 1, three_v1[i].timestamp, three_v1[i].key, three_v1[i].value);
		put_msg(&w, &m);
		ends[i] = w.len;
	}
	for (size_t n = 1; n < w.len; n++) {
		uint8_t *c = dup_exact(w.buf, n);
		uint8_t *out;
		size_t len;
		int err = legacy_upconvert(c, n, MAX_UNCOMPRESSED, &out, &len);
		int boundary = 0;
		for (int i = 0; i < NWANT; i++)
			boundary |= ends[i] == n;
		/* A cut at a message boundary is a shorter, valid set. */
		assert_int_equal(err, boundary ? KERR_NONE : KERR_CORRUPT_MESSAGE);
		free(out);
		free(c);
	}
	kw_free(&w);
}

static void legacy_upconvert__truncated_inner_set_is_invalid(void **state)
{
	struct kwriter inner, w;
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_plain_set(&inner, 0, 0);
	inner.len -= 3; /* cut into the last inner message */
	put_wrapper(&w, 0, 0, BATCH_COMPRESSION_SNAPPY, 0, &inner, 0);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&inner);
	kw_free(&w);
}

static void legacy_upconvert__nested_wrapper_is_invalid(void **state)
{
	struct kwriter in1, in2, w;
	kw_init(&in1, 64);
	kw_init(&in2, 64);
	kw_init(&w, 64);
	put_plain_set(&in1, 1, 0);
	put_wrapper(&in2, 0, 1, BATCH_COMPRESSION_GZIP, 0, &in1, 0);
	put_wrapper(&w, 0, 1, BATCH_COMPRESSION_GZIP, 0, &in2, 0);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&in1);
	kw_free(&in2);
	kw_free(&w);
}

static void legacy_upconvert__decompression_bomb_is_too_large(void **state)
{
	/* 8 MiB of zeros gzip to a few KiB; the bound is 1 MiB. */
	size_t big = (size_t)8 << 20;
	uint8_t *zeros = calloc(1, big);
	assert_non_null(zeros);
	struct kwriter inner, w;
	kw_init(&inner, big + 64);
	kw_init(&w, 64);
	struct msg_spec m = {.offset = 0, .magic = 0, .key = NULL, .key_len = -1, .value = zeros,
			     .value_len = (int32_t)big};
	put_msg(&inner, &m);
	put_wrapper(&w, 0, 0, BATCH_COMPRESSION_GZIP, 0, &inner, 0);
	assert_true(w.len < 64 * 1024);
	uint8_t *out;
	size_t len;
	assert_int_equal(legacy_upconvert(w.buf, w.len, (size_t)1 << 20, &out, &len), KERR_MESSAGE_TOO_LARGE);
	assert_null(out);
	free(zeros);
	kw_free(&inner);
	kw_free(&w);
}

/* Rewrites the int32 at `at` of a one-message set and fixes its CRC. */
static void patch_i32(struct kwriter *w, size_t at, int32_t v)
{
	put_u32(w->buf + at, (uint32_t)v);
	size_t size = w->len - LEGACY_LOG_OVERHEAD;
	put_u32(w->buf + LEGACY_LOG_OVERHEAD, legacy_message_crc(w->buf + LEGACY_LOG_OVERHEAD, size));
}

static void legacy_upconvert__size_fields_are_bounded(void **state)
{
	static const int32_t sizes[] = {INT32_MAX, -1, INT32_MIN, 0, 13};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct kwriter w;
		kw_init(&w, 64);
		struct msg_spec m = plain(0, 0, -1, "k", "v");
		put_msg(&w, &m);
		put_u32(w.buf + 8, (uint32_t)sizes[i]);
		assert_int_equal(convert_err(&w), KERR_CORRUPT_MESSAGE);
		kw_free(&w);
	}
	/* Key and value lengths: overrunning, negative other than -1, or
	 * leaving bytes after the value (CRC-valid). Key length at 12 + 6. */
	static const int32_t key_lens[] = {INT32_MAX, 100, -2, INT32_MIN, 0};
	for (size_t i = 0; i < sizeof key_lens / sizeof key_lens[0]; i++) {
		struct kwriter w;
		kw_init(&w, 64);
		struct msg_spec m = plain(0, 0, -1, "k", "v");
		put_msg(&w, &m);
		patch_i32(&w, LEGACY_LOG_OVERHEAD + 6, key_lens[i]);
		assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
		kw_free(&w);
	}
	/* An inner message claiming more bytes than the inner set holds. */
	struct kwriter inner, w;
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_plain_set(&inner, 0, 0);
	put_u32(inner.buf + 8, (uint32_t)INT32_MAX);
	put_wrapper(&w, 0, 0, BATCH_COMPRESSION_GZIP, 0, &inner, 0);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&inner);
	kw_free(&w);
	/* An inner message_size below the smallest message. */
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_plain_set(&inner, 0, 0);
	put_u32(inner.buf + 8, 3);
	put_wrapper(&w, 0, 0, BATCH_COMPRESSION_GZIP, 0, &inner, 0);
	assert_int_equal(convert_err(&w), KERR_CORRUPT_MESSAGE);
	kw_free(&inner);
	kw_free(&w);
}

static void legacy_upconvert__magic_rules(void **state)
{
	struct kwriter w;
	/* Mixed magics in one set. */
	kw_init(&w, 64);
	struct msg_spec a = plain(0, 0, -1, "a", "1"), b = plain(1, 1, 5, "b", "2");
	put_msg(&w, &a);
	put_msg(&w, &b);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&w);
	/* Magic 3 (any unknown magic) is corrupt. */
	kw_init(&w, 64);
	struct msg_spec c = plain(0, 0, -1, "c", "3");
	put_msg(&w, &c);
	w.buf[LEGACY_LOG_OVERHEAD + 4] = 3;
	patch_i32(&w, LEGACY_LOG_OVERHEAD + 6, 1); /* recompute the CRC */
	assert_int_equal(convert_err(&w), KERR_CORRUPT_MESSAGE);
	kw_free(&w);
	/* A magic 1 message too short for its timestamp. */
	kw_init(&w, 64);
	struct msg_spec d = plain(0, 0, -1, NULL, NULL); /* 14 bytes */
	put_msg(&w, &d);
	w.buf[LEGACY_LOG_OVERHEAD + 4] = 1;
	patch_i32(&w, LEGACY_LOG_OVERHEAD + 6, -1);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&w);
	/* Inner magic differing from the wrapper's. */
	struct kwriter inner;
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_plain_set(&inner, 0, 0);
	put_wrapper(&w, 0, 1, BATCH_COMPRESSION_GZIP, 0, &inner, 0);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&inner);
	kw_free(&w);
}

static void legacy_upconvert__wrapper_rules(void **state)
{
	struct kwriter inner, w;
	struct msg_spec extra = plain(9, 1, 5, "x", "y");
	/* A wrapper followed by another message, or after one. */
	for (int order = 0; order < 2; order++) {
		kw_init(&inner, 64);
		kw_init(&w, 64);
		put_plain_set(&inner, 1, 0);
		if (order)
			put_msg(&w, &extra);
		put_wrapper(&w, NWANT - 1, 1, BATCH_COMPRESSION_GZIP, 0, &inner, 0);
		if (!order)
			put_msg(&w, &extra);
		assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
		kw_free(&inner);
		kw_free(&w);
	}
	/* Magic 1 wrapper offset below the last inner offset (and not 0). */
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_plain_set(&inner, 1, 0);
	put_wrapper(&w, NWANT - 2, 1, BATCH_COMPRESSION_GZIP, 0, &inner, 0);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&inner);
	kw_free(&w);
	/* A wrapper with a null value, and one with no inner messages. */
	kw_init(&w, 64);
	struct msg_spec nullv = plain(0, 0, -1, NULL, NULL);
	nullv.attributes = BATCH_COMPRESSION_GZIP;
	put_msg(&w, &nullv);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&w);
	kw_init(&inner, 64);
	kw_init(&w, 64);
	put_wrapper(&w, 0, 0, BATCH_COMPRESSION_SNAPPY, 0, &inner, 0);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&inner);
	kw_free(&w);
	/* A value that is not a stream of its codec. */
	kw_init(&w, 64);
	struct msg_spec junk = plain(0, 0, -1, NULL, "definitely not gzip");
	junk.attributes = BATCH_COMPRESSION_GZIP;
	put_msg(&w, &junk);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&w);
}

static void legacy_upconvert__codec_and_timestamp_rules(void **state)
{
	struct kwriter w;
	struct msg_spec m = plain(0, 1, 5, "k", "v");
	/* zstd has no legacy framing; 5..7 are no codec at all. */
	m.attributes = BATCH_COMPRESSION_ZSTD;
	kw_init(&w, 64);
	put_msg(&w, &m);
	assert_int_equal(convert_err(&w), KERR_INVALID_RECORD);
	kw_free(&w);
	m.attributes = 6;
	kw_init(&w, 64);
	put_msg(&w, &m);
	assert_int_equal(convert_err(&w), KERR_UNSUPPORTED_COMPRESSION_TYPE);
	kw_free(&w);
	/* LogAppendTime is the broker's to set. */
	m.attributes = 0x08;
	kw_init(&w, 64);
	put_msg(&w, &m);
	assert_int_equal(convert_err(&w), KERR_INVALID_TIMESTAMP);
	kw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(legacy_xxh32__known_vectors),
		cmocka_unit_test(legacy_xxh32__matches_lz4_frame_header_checksum),
		cmocka_unit_test(legacy_upconvert__magic0_uncompressed),
		cmocka_unit_test(legacy_upconvert__magic1_uncompressed_keeps_timestamps),
		cmocka_unit_test(legacy_upconvert__wrappers_keep_their_codec),
		cmocka_unit_test(legacy_upconvert__magic0_lz4_with_old_header_checksum),
		cmocka_unit_test(legacy_upconvert__magic2_is_left_alone),
		cmocka_unit_test(legacy_upconvert__magic0_ignores_timestamp_type_bit),
		cmocka_unit_test(legacy_upconvert__empty_or_null_is_invalid),
		cmocka_unit_test(legacy_upconvert__bad_crc_is_corrupt),
		cmocka_unit_test(legacy_upconvert__bad_inner_crc_is_corrupt),
		cmocka_unit_test(legacy_upconvert__every_truncation_is_refused),
		cmocka_unit_test(legacy_upconvert__truncated_inner_set_is_invalid),
		cmocka_unit_test(legacy_upconvert__nested_wrapper_is_invalid),
		cmocka_unit_test(legacy_upconvert__decompression_bomb_is_too_large),
		cmocka_unit_test(legacy_upconvert__size_fields_are_bounded),
		cmocka_unit_test(legacy_upconvert__magic_rules),
		cmocka_unit_test(legacy_upconvert__wrapper_rules),
		cmocka_unit_test(legacy_upconvert__codec_and_timestamp_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
