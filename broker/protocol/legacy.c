#include "broker/protocol/legacy.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/compress.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/kreader.h"

/* Offsets inside a message (after offset and message_size). */
#define LEGACY_OFF_CRC 0
#define LEGACY_OFF_MAGIC 4
#define LEGACY_OFF_ATTRIBUTES 5
#define LEGACY_OFF_TIMESTAMP 6 /* magic 1 */

#define LEGACY_ATTR_CODEC_MASK 0x07
#define LEGACY_ATTR_LOG_APPEND_TIME 0x08 /* magic 1 */

/* The LZ4 frame magic number, little-endian on the wire. */
#define LEGACY_LZ4_FRAME_MAGIC 0x184D2204u

/* One decoded message: views into the buffer it was read from. */
struct legacy_message {
	int64_t offset;    /* absolute (magic 0) or relative (magic 1 inner) */
	int8_t magic;
	uint8_t attributes;
	int64_t timestamp; /* ms; -1 for magic 0 */
	struct kbytes key;   /* len -1 = null */
	struct kbytes value; /* len -1 = null */
};

uint32_t legacy_message_crc(const uint8_t *msg, size_t size)
{
	uLong crc = crc32(0L, Z_NULL, 0);
	const uint8_t *p = msg + LEGACY_OFF_MAGIC;
	size_t left = size - LEGACY_OFF_MAGIC;
	/* zlib counts in uInt; a message is at most INT32_MAX bytes. */
	while (left > 0) {
		uInt n = left > 0x40000000u ? 0x40000000u : (uInt)left;
		crc = crc32(crc, p, n);
		p += n;
		left -= n;
	}
	return (uint32_t)crc;
}

/* ---- XXH32, for the LZ4 frame header checksum --------------------------- */

#define XXH_P1 0x9E3779B1u
#define XXH_P2 0x85EBCA77u
#define XXH_P3 0xC2B2AE3Du
#define XXH_P4 0x27D4EB2Fu
#define XXH_P5 0x165667B1u

static uint32_t legacy_rotl(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static uint32_t legacy_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t legacy_xxh_round(uint32_t acc, uint32_t lane)
{
	return legacy_rotl(acc + lane * XXH_P2, 13) * XXH_P1;
}

uint32_t legacy_xxh32(const uint8_t *p, size_t n)
{
	const uint8_t *end = p + n;
	uint32_t h;
	if (n >= 16) {
		uint32_t v1 = XXH_P1 + XXH_P2, v2 = XXH_P2, v3 = 0, v4 = 0u - XXH_P1;
		do {
			v1 = legacy_xxh_round(v1, legacy_le32(p));
			v2 = legacy_xxh_round(v2, legacy_le32(p + 4));
			v3 = legacy_xxh_round(v3, legacy_le32(p + 8));
			v4 = legacy_xxh_round(v4, legacy_le32(p + 12));
			p += 16;
		} while (end - p >= 16);
		h = legacy_rotl(v1, 1) + legacy_rotl(v2, 7) + legacy_rotl(v3, 12) + legacy_rotl(v4, 18);
	} else {
		h = XXH_P5;
	}
	h += (uint32_t)n;
	for (; end - p >= 4; p += 4)
		h = legacy_rotl(h + legacy_le32(p) * XXH_P3, 17) * XXH_P4;
	for (; p < end; p++)
		h = legacy_rotl(h + *p * XXH_P5, 11) * XXH_P1;
	h ^= h >> 15;
	h *= XXH_P2;
	h ^= h >> 13;
	h *= XXH_P3;
	h ^= h >> 16;
	return h;
}

/* Magic 0 LZ4 (KIP-57): returns in *fixed a copy of the frame whose header
 * checksum byte is recomputed over the frame descriptor, the way the LZ4
 * frame format defines it, so the decoder accepts what old clients wrote.
 * Bytes that are not an LZ4 frame header are left to the decoder to refuse
 * (*fixed NULL). Returns 0, or -1 when out of memory. */
static int legacy_lz4_fix_header(const uint8_t *in, size_t n, uint8_t **fixed)
{
	*fixed = NULL;
	if (n < 7 || legacy_le32(in) != LEGACY_LZ4_FRAME_MAGIC)
		return 0;
	uint8_t flg = in[4];
	/* FLG, BD, then the optional content size and dictionary id. */
	size_t desc = 2 + ((flg & 0x08) ? 8 : 0) + ((flg & 0x01) ? 4 : 0);
	if (n < 4 + desc + 1)
		return 0;
	uint8_t *c = malloc(n);
	if (!c)
		return -1;
	memcpy(c, in, n);
	c[4 + desc] = (uint8_t)(legacy_xxh32(in + 4, desc) >> 8);
	*fixed = c;
	return 0;
}

/* ---- Reading messages ---------------------------------------------------- */

/* Decodes the fields after crc of a message whose size and CRC are checked. */
static int legacy_parse_fields(const uint8_t *msg, size_t size, struct legacy_message *m)
{
	m->magic = (int8_t)msg[LEGACY_OFF_MAGIC];
	m->attributes = msg[LEGACY_OFF_ATTRIBUTES];
	size_t pos = LEGACY_OFF_TIMESTAMP;
	m->timestamp = -1;
	if (m->magic == 1) {
		if (size < LEGACY_MIN_MESSAGE_V1)
			return KERR_INVALID_RECORD;
		m->timestamp = batch_get_i64(msg + LEGACY_OFF_TIMESTAMP);
		pos += 8;
	}
	struct kreader r;
	kr_init(&r, msg + pos, size - pos);
	kr_bytes(&r, &m->key);
	kr_bytes(&r, &m->value);
	if (!kr_ok(&r) || r.left != 0)
		return KERR_INVALID_RECORD;
	return KERR_NONE;
}

/* Reads the next message of an outer set (inner == false) or of a wrapper's
 * inner set. `want_magic` is the magic the message must have (-1: any legacy
 * magic, for the first outer message). Errors follow legacy.h's table. */
static int legacy_read(struct kreader *r, bool inner, int want_magic, struct legacy_message *m)
{
	int truncated = inner ? KERR_INVALID_RECORD : KERR_CORRUPT_MESSAGE;
	if (r->left < LEGACY_LOG_OVERHEAD)
		return truncated;
	m->offset = kr_i64(r);
	int32_t size = kr_i32(r);
	if (size < LEGACY_MIN_MESSAGE_V0)
		return KERR_CORRUPT_MESSAGE;
	if ((size_t)size > r->left)
		return truncated;
	const uint8_t *msg = kr_raw(r, (size_t)size);
	int8_t magic = (int8_t)msg[LEGACY_OFF_MAGIC];
	if (!inner && (magic < 0 || magic > 2))
		return KERR_CORRUPT_MESSAGE;
	if (want_magic >= 0 ? magic != want_magic : magic > 1)
		return KERR_INVALID_RECORD;
	if (legacy_message_crc(msg, (size_t)size) != (uint32_t)batch_get_i32(msg + LEGACY_OFF_CRC))
		return KERR_CORRUPT_MESSAGE;
	return legacy_parse_fields(msg, (size_t)size, m);
}

static int legacy_add(struct batch_builder *b, const struct legacy_message *m)
{
	struct batch_builder_record rec = {
		.timestamp = m->timestamp,
		.key = m->key,
		.value = m->value,
		.headers = NULL,
		.headers_count = 0,
	};
	return batch_builder_add(b, &rec) == 0 ? KERR_NONE : KERR_UNKNOWN_SERVER_ERROR;
}

static int legacy_decompress_error(int rc)
{
	switch (rc) {
	case COMPRESS_ETOOBIG:
		return KERR_MESSAGE_TOO_LARGE;
	case COMPRESS_ENOMEM:
		return KERR_UNKNOWN_SERVER_ERROR;
	default:
		return KERR_INVALID_RECORD;
	}
}

/* Decompresses a wrapper and adds its inner messages to b. */
static int legacy_unwrap(const struct legacy_message *w, int codec, size_t max_uncompressed,
			 struct batch_builder *b)
{
	if (w->value.len < 0)
		return KERR_INVALID_RECORD;
	const uint8_t *in = w->value.p;
	size_t in_len = (size_t)w->value.len;
	uint8_t *fixed = NULL;
	if (codec == BATCH_COMPRESSION_LZ4 && w->magic == 0) {
		if (legacy_lz4_fix_header(in, in_len, &fixed) != 0)
			return KERR_UNKNOWN_SERVER_ERROR;
		if (fixed)
			in = fixed;
	}
	uint8_t *plain;
	size_t plain_len;
	int rc = compress_decompress(codec, in, in_len, max_uncompressed, &plain, &plain_len);
	free(fixed);
	if (rc != COMPRESS_OK)
		return legacy_decompress_error(rc);

	struct kreader r;
	kr_init(&r, plain, plain_len);
	int err = KERR_NONE;
	int64_t last_offset = 0;
	int32_t n = 0;
	while (r.left > 0 && err == KERR_NONE) {
		struct legacy_message m;
		err = legacy_read(&r, true, w->magic, &m);
		if (err != KERR_NONE)
			break;
		if ((m.attributes & LEGACY_ATTR_CODEC_MASK) != 0) {
			err = KERR_INVALID_RECORD; /* "Inner messages must not be compressed" */
			break;
		}
		err = legacy_add(b, &m);
		last_offset = m.offset;
		n++;
	}
	free(plain);
	if (err != KERR_NONE)
		return err;
	if (n == 0)
		return KERR_INVALID_RECORD;
	/* Magic 1: the wrapper carries the last inner offset (relative ones
	 * are based on it), or 0 from some librdkafka versions. */
	if (w->magic == 1 && w->offset != 0 && w->offset < last_offset)
		return KERR_INVALID_RECORD;
	return KERR_NONE;
}

/* Checks a message's codec and timestamp type. Returns its codec in *codec. */
static int legacy_check_attributes(const struct legacy_message *m, int *codec)
{
	*codec = m->attributes & LEGACY_ATTR_CODEC_MASK;
	if (*codec > BATCH_COMPRESSION_ZSTD)
		return KERR_UNSUPPORTED_COMPRESSION_TYPE;
	if (*codec == BATCH_COMPRESSION_ZSTD)
		return KERR_INVALID_RECORD; /* zstd needs record batches v2 */
	if (m->magic == 1 && (m->attributes & LEGACY_ATTR_LOG_APPEND_TIME))
		return KERR_INVALID_TIMESTAMP;
	return KERR_NONE;
}

int legacy_upconvert(const uint8_t *buf, size_t len, size_t max_uncompressed, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	*out_len = 0;
	if (buf == NULL || len == 0)
		return KERR_INVALID_RECORD;
	/* The magic byte sits at offset 16 in both formats. */
	if (len <= BATCH_OFF_MAGIC)
		return KERR_CORRUPT_MESSAGE;
	if ((int8_t)buf[BATCH_OFF_MAGIC] == 2)
		return KERR_NONE;

	struct batch_builder_opts opts = batch_builder_opts_default();
	struct batch_builder b;
	batch_builder_init(&b, &opts);
	struct kreader r;
	kr_init(&r, buf, len);
	int err = KERR_NONE;
	int magic = -1;
	int32_t n = 0;
	while (r.left > 0) {
		struct legacy_message m;
		int codec;
		err = legacy_read(&r, false, magic, &m);
		if (err == KERR_NONE)
			err = legacy_check_attributes(&m, &codec);
		if (err != KERR_NONE)
			break;
		magic = m.magic;
		if (codec != BATCH_COMPRESSION_NONE) {
			/* A wrapper must be the set's only message. */
			if (n > 0 || r.left > 0) {
				err = KERR_INVALID_RECORD;
				break;
			}
			b.opts.codec = codec;
			err = legacy_unwrap(&m, codec, max_uncompressed, &b);
		} else {
			err = legacy_add(&b, &m);
		}
		if (err != KERR_NONE)
			break;
		n++;
	}
	if (err == KERR_NONE) {
		int rc = batch_builder_finish(&b, out, out_len);
		if (rc != COMPRESS_OK)
			err = rc == COMPRESS_ETOOBIG ? KERR_MESSAGE_TOO_LARGE : KERR_UNKNOWN_SERVER_ERROR;
	}
	batch_builder_free(&b);
	return err;
}
