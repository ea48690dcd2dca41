#include "broker/protocol/compress.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "broker/protocol/batch.h"

/* snappy-java's stream framing (SnappyCodec.MAGIC_HEADER + two int32 versions). */
static const uint8_t compress_xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define COMPRESS_XERIAL_HEADER_SIZE 16
#define COMPRESS_XERIAL_BLOCK_SIZE (32 * 1024) /* SnappyOutputStream's default */

/* zlib counts in uInt; batches are far below that (batch_length is an int32),
 * but a size_t input is bounded before it is narrowed. */
#define COMPRESS_MAX_INPUT ((size_t)INT32_MAX)

/* A growing output buffer that never holds more than limit + 1 bytes: holding
 * one byte more than the caller allows is how a decoder learns, without
 * decoding further, that the stream is too big. */
struct compress_out {
	uint8_t *p;
	size_t len;   /* bytes produced */
	size_t cap;   /* bytes allocated */
	size_t limit; /* max_out from the caller */
};

static size_t compress_out_hard_cap(const struct compress_out *o)
{
	return o->limit == SIZE_MAX ? SIZE_MAX : o->limit + 1;
}

/* Makes room for at least one more byte, growing geometrically from `hint`.
 * Returns 0, COMPRESS_ETOOBIG once limit + 1 bytes are held, or ENOMEM. */
static int compress_out_grow(struct compress_out *o, size_t hint)
{
	size_t hard = compress_out_hard_cap(o);
	if (o->len < o->cap)
		return 0;
	if (o->cap >= hard)
		return COMPRESS_ETOOBIG;
	size_t ncap = o->cap ? o->cap * 2 : (hint < 1024 ? 1024 : hint);
	if (ncap < o->cap || ncap > hard)
		ncap = hard;
	uint8_t *np = realloc(o->p, ncap);
	if (np == NULL)
		return COMPRESS_ENOMEM;
	o->p = np;
	o->cap = ncap;
	return 0;
}

/* Ensures room for exactly `need` more bytes (when the decoder announces its
 * output size). Returns 0, COMPRESS_ETOOBIG past the limit, or ENOMEM. */
static int compress_out_reserve(struct compress_out *o, size_t need)
{
	if (need > o->limit || o->len > o->limit - need)
		return COMPRESS_ETOOBIG;
	size_t want = o->len + need;
	if (want <= o->cap)
		return 0;
	size_t ncap = o->cap * 2 > want ? o->cap * 2 : want;
	if (ncap > o->limit)
		ncap = want;
	if (ncap == 0)
		ncap = 1;
	uint8_t *np = realloc(o->p, ncap);
	if (np == NULL)
		return COMPRESS_ENOMEM;
	o->p = np;
	o->cap = ncap;
	return 0;
}

/* Hands the buffer to the caller, or frees it on error. */
static int compress_out_finish(struct compress_out *o, int rc, uint8_t **out, size_t *out_len)
{
	if (rc == 0 && o->len > o->limit)
		rc = COMPRESS_ETOOBIG;
	if (rc == 0 && o->p == NULL) {
		o->p = malloc(1); /* an empty result is still a buffer to free */
		if (o->p == NULL)
			rc = COMPRESS_ENOMEM;
	}
	if (rc != 0) {
		free(o->p);
		*out = NULL;
		*out_len = 0;
		return rc;
	}
	*out = o->p;
	*out_len = o->len;
	return 0;
}

static int compress_gzip_decompress(const uint8_t *in, size_t in_len, struct compress_out *o)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	/* 15 + 32: gzip or zlib header, detected per member. */
	if (inflateInit2(&zs, 15 + 32) != Z_OK)
		return COMPRESS_ENOMEM;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)in_len;
	int rc = 0;
	for (;;) {
		rc = compress_out_grow(o, in_len * 4);
		if (rc)
			break;
		size_t room = o->cap - o->len;
		zs.next_out = o->p + o->len;
		zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
		uInt before = zs.avail_out;
		int z = inflate(&zs, Z_NO_FLUSH);
		o->len += before - zs.avail_out;
		if (z == Z_STREAM_END) {
			if (zs.avail_in == 0)
				break;
			/* Another member follows, as GZIPInputStream accepts. */
			if (inflateReset(&zs) != Z_OK) {
				rc = COMPRESS_ECORRUPT;
				break;
			}
			continue;
		}
		if (z == Z_OK)
			continue;
		if (z == Z_BUF_ERROR && zs.avail_out == 0)
			continue; /* output full: grow and go on */
		/* Z_BUF_ERROR with room left: the input ended inside the stream. */
		rc = z == Z_MEM_ERROR ? COMPRESS_ENOMEM : COMPRESS_ECORRUPT;
		break;
	}
	inflateEnd(&zs);
	return rc;
}

static int compress_gzip_compress(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	z_stream zs;
	memset(&zs, 0, sizeof zs);
	/* 15 + 16: a gzip wrapper, as GZIPOutputStream writes. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return COMPRESS_ENOMEM;
	uLong bound = deflateBound(&zs, (uLong)in_len);
	uint8_t *buf = malloc(bound);
	if (buf == NULL) {
		deflateEnd(&zs);
		return COMPRESS_ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)in_len;
	zs.next_out = buf;
	zs.avail_out = (uInt)bound;
	int z = deflate(&zs, Z_FINISH);
	size_t n = bound - zs.avail_out;
	deflateEnd(&zs);
	if (z != Z_STREAM_END) {
		free(buf);
		return COMPRESS_ENOMEM;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static uint32_t compress_get_u32be(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void compress_put_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Decodes one raw snappy block and appends it to o. */
static int compress_snappy_block(const uint8_t *in, size_t in_len, struct compress_out *o)
{
	size_t ulen;
	if (snappy_uncompressed_length((const char *)in, in_len, &ulen) != SNAPPY_OK)
		return COMPRESS_ECORRUPT;
	int rc = compress_out_reserve(o, ulen);
	if (rc)
		return rc;
	size_t got = ulen;
	if (ulen > 0 || o->p != NULL) {
		if (snappy_uncompress((const char *)in, in_len, (char *)o->p + o->len, &got) != SNAPPY_OK ||
		    got != ulen)
			return COMPRESS_ECORRUPT;
	} else if (snappy_validate_compressed_buffer((const char *)in, in_len) != SNAPPY_OK) {
		return COMPRESS_ECORRUPT;
	}
	o->len += got;
	return 0;
}

static int compress_snappy_decompress(const uint8_t *in, size_t in_len, struct compress_out *o)
{
	if (in_len < COMPRESS_XERIAL_HEADER_SIZE ||
	    memcmp(in, compress_xerial_magic, sizeof compress_xerial_magic) != 0)
		return compress_snappy_block(in, in_len, o); /* raw, as librdkafka writes */

	/* xerial framing; the two version ints are not checked, as librdkafka
	 * and kafka-python do not either. */
	size_t pos = COMPRESS_XERIAL_HEADER_SIZE;
	while (pos < in_len) {
		if (in_len - pos < 4)
			return COMPRESS_ECORRUPT;
		uint32_t blen = compress_get_u32be(in + pos);
		pos += 4;
		if (blen > in_len - pos)
			return COMPRESS_ECORRUPT;
		int rc = compress_snappy_block(in + pos, blen, o);
		if (rc)
			return rc;
		pos += blen;
	}
	return 0;
}

static int compress_snappy_compress(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	size_t nblocks = (in_len + COMPRESS_XERIAL_BLOCK_SIZE - 1) / COMPRESS_XERIAL_BLOCK_SIZE;
	size_t bound = COMPRESS_XERIAL_HEADER_SIZE +
		       nblocks * (4 + snappy_max_compressed_length(COMPRESS_XERIAL_BLOCK_SIZE));
	uint8_t *buf = malloc(bound);
	if (buf == NULL)
		return COMPRESS_ENOMEM;
	memcpy(buf, compress_xerial_magic, sizeof compress_xerial_magic);
	compress_put_u32be(buf + 8, 1);  /* version */
	compress_put_u32be(buf + 12, 1); /* minimum compatible version */
	size_t pos = COMPRESS_XERIAL_HEADER_SIZE;
	for (size_t off = 0; off < in_len; off += COMPRESS_XERIAL_BLOCK_SIZE) {
		size_t n = in_len - off < COMPRESS_XERIAL_BLOCK_SIZE ? in_len - off : COMPRESS_XERIAL_BLOCK_SIZE;
		size_t clen = bound - pos - 4;
		if (snappy_compress((const char *)in + off, n, (char *)buf + pos + 4, &clen) != SNAPPY_OK) {
			free(buf);
			return COMPRESS_ENOMEM;
		}
		compress_put_u32be(buf + pos, (uint32_t)clen);
		pos += 4 + clen;
	}
	*out = buf;
	*out_len = pos;
	return 0;
}

static int compress_lz4_decompress(const uint8_t *in, size_t in_len, struct compress_out *o)
{
	LZ4F_dctx *dctx;
	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return COMPRESS_ENOMEM;
	size_t pos = 0;
	size_t hint = 1; /* 0 once a frame has ended */
	int rc = 0;
	while (pos < in_len || hint != 0) {
		rc = compress_out_grow(o, in_len * 4);
		if (rc)
			break;
		size_t src = in_len - pos;
		size_t dst = o->cap - o->len;
		hint = LZ4F_decompress(dctx, o->p + o->len, &dst, in + pos, &src, NULL);
		if (LZ4F_isError(hint)) {
			rc = COMPRESS_ECORRUPT;
			break;
		}
		pos += src;
		o->len += dst;
		/* No progress with output room left: the input ended mid-frame. */
		if (src == 0 && dst == 0 && o->len < o->cap && hint != 0) {
			rc = COMPRESS_ECORRUPT;
			break;
		}
	}
	LZ4F_freeDecompressionContext(dctx);
	return rc;
}

static int compress_lz4_compress(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	LZ4F_preferences_t prefs;
	memset(&prefs, 0, sizeof prefs);
	prefs.frameInfo.blockSizeID = LZ4F_max64KB;
	prefs.frameInfo.blockMode = LZ4F_blockIndependent;
	prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
	prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
	size_t bound = LZ4F_compressFrameBound(in_len, &prefs);
	uint8_t *buf = malloc(bound);
	if (buf == NULL)
		return COMPRESS_ENOMEM;
	size_t n = LZ4F_compressFrame(buf, bound, in, in_len, &prefs);
	if (LZ4F_isError(n)) {
		free(buf);
		return COMPRESS_ENOMEM;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static int compress_zstd_decompress(const uint8_t *in, size_t in_len, struct compress_out *o)
{
	/* The window a frame may ask for stays at zstd's default maximum
	 * (2^27): Kafka allows compression.zstd.level up to 22, whose streaming
	 * frames declare that window even for small batches. */
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (d == NULL)
		return COMPRESS_ENOMEM;
	/* The producer's frame usually announces its size: one allocation
	 * instead of doubling (bounded by max_out; an overstated size only
	 * reserves address space that is never touched). */
	unsigned long long fcs = ZSTD_getFrameContentSize(in, in_len);
	if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ZSTD_CONTENTSIZE_ERROR && fcs > 0 && fcs <= o->limit &&
	    compress_out_reserve(o, (size_t)fcs + 1) == COMPRESS_ENOMEM) {
		ZSTD_freeDCtx(d);
		return COMPRESS_ENOMEM;
	}
	ZSTD_inBuffer ib = {in, in_len, 0};
	size_t hint = 1; /* 0 once a frame has ended */
	int rc = 0;
	while (ib.pos < ib.size || hint != 0) {
		rc = compress_out_grow(o, in_len * 4);
		if (rc)
			break;
		ZSTD_outBuffer ob = {o->p, o->cap, o->len};
		size_t in_before = ib.pos;
		hint = ZSTD_decompressStream(d, &ob, &ib);
		if (ZSTD_isError(hint)) {
			rc = ZSTD_getErrorCode(hint) == ZSTD_error_memory_allocation ? COMPRESS_ENOMEM
										: COMPRESS_ECORRUPT;
			break;
		}
		size_t produced = ob.pos - o->len;
		o->len = ob.pos;
		/* No progress with output room left: the input ended mid-frame. */
		if (ib.pos == in_before && produced == 0 && o->len < o->cap && hint != 0) {
			rc = COMPRESS_ECORRUPT;
			break;
		}
	}
	ZSTD_freeDCtx(d);
	return rc;
}

static int compress_zstd_compress(const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	size_t bound = ZSTD_compressBound(in_len);
	uint8_t *buf = malloc(bound);
	if (buf == NULL)
		return COMPRESS_ENOMEM;
	size_t n = ZSTD_compress(buf, bound, in, in_len, ZSTD_CLEVEL_DEFAULT);
	if (ZSTD_isError(n)) {
		free(buf);
		return COMPRESS_ENOMEM;
	}
	*out = buf;
	*out_len = n;
	return 0;
}

int compress_decompress(int codec, const uint8_t *in, size_t in_len, size_t max_out, uint8_t **out,
			size_t *out_len)
{
	struct compress_out o = {NULL, 0, 0, max_out};
	int rc;
	if (in_len > COMPRESS_MAX_INPUT)
		return compress_out_finish(&o, COMPRESS_ECORRUPT, out, out_len);
	switch (codec) {
	case BATCH_COMPRESSION_GZIP:
		rc = compress_gzip_decompress(in, in_len, &o);
		break;
	case BATCH_COMPRESSION_SNAPPY:
		rc = compress_snappy_decompress(in, in_len, &o);
		break;
	case BATCH_COMPRESSION_LZ4:
		rc = compress_lz4_decompress(in, in_len, &o);
		break;
	case BATCH_COMPRESSION_ZSTD:
		rc = compress_zstd_decompress(in, in_len, &o);
		break;
	default:
		rc = COMPRESS_EUNSUPPORTED;
		break;
	}
	return compress_out_finish(&o, rc, out, out_len);
}

int compress_compress(int codec, const uint8_t *in, size_t in_len, uint8_t **out, size_t *out_len)
{
	int rc;
	*out = NULL;
	*out_len = 0;
	if (in_len > COMPRESS_MAX_INPUT)
		return COMPRESS_ETOOBIG;
	switch (codec) {
	case BATCH_COMPRESSION_GZIP:
		rc = compress_gzip_compress(in, in_len, out, out_len);
		break;
	case BATCH_COMPRESSION_SNAPPY:
		rc = compress_snappy_compress(in, in_len, out, out_len);
		break;
	case BATCH_COMPRESSION_LZ4:
		rc = compress_lz4_compress(in, in_len, out, out_len);
		break;
	case BATCH_COMPRESSION_ZSTD:
		rc = compress_zstd_compress(in, in_len, out, out_len);
		break;
	default:
		rc = COMPRESS_EUNSUPPORTED;
		break;
	}
	return rc;
}

const char *compress_strerror(int err)
{
	switch (err) {
	case COMPRESS_OK:
		return "ok";
	case COMPRESS_EUNSUPPORTED:
		return "unsupported codec";
	case COMPRESS_ECORRUPT:
		return "corrupt compressed data";
	case COMPRESS_ETOOBIG:
		return "decompressed size over the limit";
	case COMPRESS_ENOMEM:
		return "out of memory";
	default:
		return "unknown error";
	}
}
