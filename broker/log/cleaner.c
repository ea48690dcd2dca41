#include "broker/log/cleaner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/checkpoint.h"
#include "broker/log/fileio.h"
#include "broker/log/segment.h"
#include "broker/logger.h"
#include "broker/protocol/batch.h"
#include "broker/protocol/compress.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/record.h"

/* Bound on a decompressed records area while cleaning: far above any batch
 * max.message.bytes lets in, low enough that a corrupt one cannot exhaust
 * memory. A batch that cannot be opened is kept as it is. */
#define CLEANER_MAX_UNCOMPRESSED (256u * 1024 * 1024)

/* ---- key -> latest offset (Kafka's OffsetMap, exact keys) ---- */

struct cmap_entry {
	uint64_t hash;
	uint8_t *key; /* owned; NULL = free slot */
	int32_t len;
	int64_t offset;
};

struct cmap {
	struct cmap_entry *slots;
	size_t cap; /* power of two */
	size_t count;
	int64_t bytes; /* memory held, for the dedupe buffer bound */
};

static uint64_t cmap_hash(const uint8_t *p, int32_t len)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	for (int32_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h | 1; /* never 0 */
}

static void cmap_free(struct cmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	*m = (struct cmap){0};
}

static struct cmap_entry *cmap_slot(struct cmap_entry *slots, size_t cap, uint64_t h, const uint8_t *key, int32_t len)
{
	for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
		struct cmap_entry *e = &slots[i];
		if (e->key == NULL)
			return e;
		if (e->hash == h && e->len == len && memcmp(e->key, key, (size_t)len) == 0)
			return e;
	}
}

static int cmap_grow(struct cmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	struct cmap_entry *slots = calloc(cap, sizeof *slots);
	if (slots == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key != NULL)
			*cmap_slot(slots, cap, m->slots[i].hash, m->slots[i].key, m->slots[i].len) = m->slots[i];
	free(m->slots);
	m->bytes += (int64_t)((cap - m->cap) * sizeof *slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

static int cmap_put(struct cmap *m, const uint8_t *key, int32_t len, int64_t offset)
{
	if ((m->count + 1) * 4 > m->cap * 3) {
		int rc = cmap_grow(m);
		if (rc != 0)
			return rc;
	}
	uint64_t h = cmap_hash(key, len);
	struct cmap_entry *e = cmap_slot(m->slots, m->cap, h, key, len);
	if (e->key == NULL) {
		e->key = malloc(len > 0 ? (size_t)len : 1);
		if (e->key == NULL)
			return -ENOMEM;
		if (len > 0)
			memcpy(e->key, key, (size_t)len);
		e->hash = h;
		e->len = len;
		e->offset = offset;
		m->count++;
		m->bytes += len;
	} else if (offset > e->offset) {
		e->offset = offset;
	}
	return 0;
}

/* The latest offset of `key`, or -1 when the map does not know it. */
static int64_t cmap_get(const struct cmap *m, const uint8_t *key, int32_t len)
{
	if (m->cap == 0)
		return -1;
	struct cmap_entry *e = cmap_slot(m->slots, m->cap, cmap_hash(key, len), key, len);
	return e->key != NULL ? e->offset : -1;
}

/* ---- reading a segment batch by batch ---- */

struct seg_reader {
	struct segment *seg;
	int64_t pos;
	uint8_t *buf;
	size_t cap;
};

/* Next whole batch of the segment into r->buf. Returns 1 with *h and *len,
 * 0 at the end, or -errno. */
static int seg_reader_next(struct seg_reader *r, struct batch_header *h, size_t *len)
{
	if (r->pos >= r->seg->size)
		return 0;
	uint8_t hdr[BATCH_HEADER_SIZE];
	int rc = fileio_pread_all(r->seg->fd, hdr, sizeof hdr, r->pos);
	if (rc != 0)
		return rc == -ENODATA ? -EBADMSG : rc;
	if (batch_header_parse(hdr, sizeof hdr, h) != 0)
		return -EBADMSG;
	size_t total = batch_total_size(h);
	if (total > r->cap) {
		uint8_t *b = realloc(r->buf, total);
		if (b == NULL)
			return -ENOMEM;
		r->buf = b;
		r->cap = total;
	}
	rc = fileio_pread_all(r->seg->fd, r->buf, total, r->pos);
	if (rc != 0)
		return rc == -ENODATA ? -EBADMSG : rc;
	r->pos += (int64_t)total;
	*len = total;
	return 1;
}

/* Batches the cleaner leaves alone: control batches (transaction markers)
 * and anything that is not magic 2. */
static bool cleaner_skip_batch(const struct batch_header *h)
{
	return h->magic != 2 || (h->attributes & BATCH_ATTR_CONTROL) != 0;
}

/* Records every keyed record of segment `seg` in the map. */
static int cleaner_map_segment(struct cmap *m, struct segment *seg)
{
	struct seg_reader r = {.seg = seg};
	struct batch_header h;
	size_t len;
	int rc;
	while ((rc = seg_reader_next(&r, &h, &len)) == 1) {
		if (cleaner_skip_batch(&h))
			continue;
		struct batch_records recs;
		if (batch_records_open(r.buf, len, CLEANER_MAX_UNCOMPRESSED, &recs) != KERR_NONE)
			continue; /* kept whole when rewriting: no key of it matters */
		struct kreader kr;
		kr_init(&kr, recs.p, recs.len);
		struct record rec;
		while (kr.left > 0 && record_decode(&kr, &rec) == RECORD_OK) {
			if (rec.key.len < 0)
				continue;
			rc = cmap_put(m, rec.key.p, rec.key.len, h.base_offset + rec.offset_delta);
			if (rc != 0)
				break;
		}
		batch_records_free(&recs);
		if (rc != 0)
			break;
	}
	free(r.buf);
	return rc < 0 ? rc : 0;
}

/* ---- rewriting one batch ---- */

struct clean_ctx {
	const struct cmap *map;
	bool drop_tombstones;
	int64_t tombstone_due_ms; /* when the kept tombstones of this segment expire */
	int64_t due_ms;           /* earliest of those over the pass */
	struct cleaner_stats *st;
};

/* Filters one batch. Returns 0 with *out NULL and *out_len 0 (drop it),
 * *out == buf (keep it unchanged), or a malloc'd rewritten batch; -errno on
 * failure. */
static int cleaner_filter_batch(struct clean_ctx *c, const struct batch_header *h, const uint8_t *buf, size_t len,
				uint8_t **out, size_t *out_len)
{
	*out = (uint8_t *)buf;
	*out_len = len;
	if (cleaner_skip_batch(h))
		return 0;
	struct batch_records recs;
	if (batch_records_open(buf, len, CLEANER_MAX_UNCOMPRESSED, &recs) != KERR_NONE) {
		tlog(TLOG_WARN, "cleaner", "batch at offset %lld cannot be decoded: kept as it is",
		     (long long)h->base_offset);
		return 0;
	}
	uint8_t *area = malloc(recs.len > 0 ? recs.len : 1);
	if (area == NULL) {
		batch_records_free(&recs);
		return -ENOMEM;
	}
	size_t area_len = 0;
	int32_t kept = 0, total = 0;
	struct kreader kr;
	kr_init(&kr, recs.p, recs.len);
	struct record rec;
	bool bad = false;
	while (kr.left > 0) {
		const uint8_t *start = kr.p;
		if (record_decode(&kr, &rec) != RECORD_OK) {
			bad = true;
			break;
		}
		total++;
		int64_t offset = h->base_offset + rec.offset_delta;
		bool keep;
		if (rec.key.len < 0) {
			keep = false; /* Kafka's cleaner drops keyless records */
		} else {
			int64_t latest = cmap_get(c->map, rec.key.p, rec.key.len);
			keep = latest < 0 || latest <= offset;
			if (keep && rec.value.len < 0) {
				if (c->drop_tombstones) {
					keep = false;
					c->st->tombstones_removed++;
				} else if (c->tombstone_due_ms < c->due_ms) {
					c->due_ms = c->tombstone_due_ms;
				}
			}
		}
		if (keep) {
			size_t n = (size_t)(kr.p - start);
			memcpy(area + area_len, start, n);
			area_len += n;
			kept++;
		}
	}
	if (bad || total != h->records_count) {
		/* Not what validation let in: keep the batch rather than guess. */
		free(area);
		batch_records_free(&recs);
		return 0;
	}
	batch_records_free(&recs);
	c->st->records_kept += kept;
	c->st->records_removed += total - kept;
	if (kept == total) {
		free(area);
		return 0;
	}
	if (kept == 0) {
		free(area);
		*out = NULL;
		*out_len = 0;
		return 0;
	}
	int codec = h->attributes & BATCH_ATTR_COMPRESSION_MASK;
	uint8_t *body = area;
	size_t body_len = area_len;
	if (codec != BATCH_COMPRESSION_NONE) {
		int crc = compress_compress(codec, area, area_len, &body, &body_len);
		free(area);
		if (crc != COMPRESS_OK)
			return crc == COMPRESS_ENOMEM ? -ENOMEM : -EIO;
	}
	size_t n = BATCH_HEADER_SIZE + body_len;
	uint8_t *b = malloc(n);
	if (b == NULL) {
		free(body);
		return -ENOMEM;
	}
	/* Same header: base offset, last offset delta (Kafka keeps the last
	 * offset so the producer's sequence range stays whole), epochs,
	 * producer fields, timestamps; only length, count and CRC change. */
	memcpy(b, buf, BATCH_HEADER_SIZE);
	memcpy(b + BATCH_HEADER_SIZE, body, body_len);
	free(body);
	batch_put_i32(b + BATCH_OFF_LENGTH, (int32_t)(n - BATCH_LOG_OVERHEAD));
	batch_put_i32(b + BATCH_OFF_RECORDS_COUNT, kept);
	batch_update_crc(b, n);
	*out = b;
	*out_len = n;
	return 0;
}

/* Writes the kept batches of `seg` to "<base>.log.cleaned" (fsynced).
 * *changed is false when every batch was kept unchanged (no swap needed),
 * *empty when nothing is left. */
static int cleaner_rewrite_segment(struct clean_ctx *c, struct segment *seg, bool *changed, bool *empty,
				   int64_t *size_after)
{
	*changed = false;
	*empty = true;
	*size_after = 0;
	size_t plen = strlen(seg->prefix) + sizeof ".log.cleaned";
	char *path = malloc(plen);
	if (path == NULL)
		return -ENOMEM;
	snprintf(path, plen, "%s.log.cleaned", seg->prefix);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		int rc = -errno;
		free(path);
		return rc;
	}
	struct seg_reader r = {.seg = seg};
	struct batch_header h;
	size_t len;
	int64_t pos = 0;
	int rc;
	while ((rc = seg_reader_next(&r, &h, &len)) == 1) {
		uint8_t *out;
		size_t out_len;
		rc = cleaner_filter_batch(c, &h, r.buf, len, &out, &out_len);
		if (rc != 0)
			break;
		if (out != r.buf || out_len != len)
			*changed = true;
		if (out_len > 0) {
			rc = fileio_pwrite_all(fd, out, out_len, pos);
			pos += (int64_t)out_len;
			*empty = false;
		}
		if (out != r.buf)
			free(out);
		if (rc != 0)
			break;
	}
	free(r.buf);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc != 0 || !*changed)
		unlink(path);
	free(path);
	*size_after = pos;
	return rc;
}

/* ---- scheduling ---- */

int64_t cleaner_first_uncleanable_offset(struct log *log, int64_t now_ms)
{
	size_t n = log_segment_count(log);
	int64_t u = log_segment_at(log, n - 1)->base_offset;
	if (log_high_watermark(log) < u)
		u = log_high_watermark(log);
	int64_t lag = log_get_config(log)->min_compaction_lag_ms;
	if (lag > 0) {
		for (size_t i = 0; i + 1 < n; i++) {
			struct segment *seg = log_segment_at(log, i);
			if (seg->base_offset >= u)
				break;
			if (seg->size > 0 && now_ms - segment_largest_timestamp(seg) < lag) {
				u = seg->base_offset;
				break;
			}
		}
	}
	if (u < log_start_offset(log))
		u = log_start_offset(log);
	return u;
}

/* Closed segments wholly below the first uncleanable offset: [0, *count). */
static size_t cleaner_cleanable_count(struct log *log, int64_t now_ms)
{
	int64_t u = cleaner_first_uncleanable_offset(log, now_ms);
	size_t n = log_segment_count(log), k = 0;
	while (k + 1 < n && log_segment_at(log, k + 1)->base_offset <= u)
		k++;
	return k;
}

static int64_t cleaner_first_dirty(struct log *log)
{
	int64_t off = 0;
	if (checkpoint_read(log_dir(log), CLEANER_OFFSET_CHECKPOINT, &off) != 0)
		off = 0;
	if (off < log_start_offset(log))
		off = log_start_offset(log);
	return off;
}

double cleaner_dirty_ratio(struct log *log, int64_t now_ms)
{
	size_t k = cleaner_cleanable_count(log, now_ms);
	int64_t first_dirty = cleaner_first_dirty(log);
	int64_t total = 0, dirty = 0;
	for (size_t i = 0; i < k; i++) {
		struct segment *seg = log_segment_at(log, i);
		total += seg->size;
		/* The segment ends where the next one starts. */
		if (log_segment_at(log, i + 1)->base_offset > first_dirty)
			dirty += seg->size;
	}
	return total > 0 ? (double)dirty / (double)total : 0.0;
}

bool cleaner_needed(struct log *log, int64_t now_ms)
{
	const struct log_config *cfg = log_get_config(log);
	if (!cfg->compact)
		return false;
	int64_t due = log_cleaner_due_ms(log);
	if (due == INT64_MIN || now_ms >= due)
		return cleaner_cleanable_count(log, now_ms) > 0; /* tombstones to drop, or not known */
	double ratio = cleaner_dirty_ratio(log, now_ms);
	return ratio > 0.0 && ratio >= cfg->min_cleanable_dirty_ratio;
}

/* ---- a pass ---- */

int cleaner_clean(struct log *log, int64_t now_ms, int64_t max_map_bytes, struct cleaner_stats *stats)
{
	struct cleaner_stats local;
	struct cleaner_stats *st = stats ? stats : &local;
	*st = (struct cleaner_stats){0};
	size_t k = cleaner_cleanable_count(log, now_ms);
	st->end_offset = log_segment_at(log, k)->base_offset;
	if (k == 0) {
		log_set_cleaner_due_ms(log, INT64_MAX);
		return 0;
	}

	struct cmap map = {0};
	int rc = 0;
	for (size_t i = 0; i < k; i++) {
		rc = cleaner_map_segment(&map, log_segment_at(log, i));
		if (rc != 0)
			goto out;
		if (map.bytes > max_map_bytes && i + 1 < k) {
			/* Kafka's dedupe buffer is full: clean what the map covers. */
			k = i + 1;
			break;
		}
	}
	int64_t end = log_segment_at(log, k)->base_offset;
	st->end_offset = end;

	const struct log_config *cfg = log_get_config(log);
	struct clean_ctx c = {.map = &map, .st = st, .due_ms = INT64_MAX};
	size_t i = 0;
	while (i < k) {
		struct segment *seg = log_segment_at(log, i);
		int64_t largest = segment_largest_timestamp(seg);
		c.drop_tombstones = now_ms - largest > cfg->delete_retention_ms;
		if (largest < 0)
			largest = 0;
		c.tombstone_due_ms = cfg->delete_retention_ms < INT64_MAX - largest - 1
					     ? largest + cfg->delete_retention_ms + 1
					     : INT64_MAX;
		int64_t before = seg->size, after = 0;
		bool changed, empty;
		rc = cleaner_rewrite_segment(&c, seg, &changed, &empty, &after);
		if (rc != 0)
			goto out;
		if (!changed) {
			i++;
			continue;
		}
		bool removed = empty && i > 0;
		rc = log_replace_cleaned(log, i, empty, now_ms);
		if (rc != 0) {
			tlog(TLOG_WARN, "cleaner", "%s: swapping in the cleaned segment %lld failed: %s", log_dir(log),
			     (long long)log_segment_at(log, i)->base_offset, strerror(-rc));
			goto out;
		}
		st->segments_cleaned++;
		st->bytes_before += before;
		st->bytes_after += after;
		if (removed)
			k--; /* the next segment moved to index i */
		else
			i++;
	}
	rc = checkpoint_write(log_dir(log), CLEANER_OFFSET_CHECKPOINT, end);
	if (rc == 0)
		log_set_cleaner_due_ms(log, c.due_ms);
out:
	cmap_free(&map);
	return rc;
}
