#include "broker/log/producer_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/fileio.h"
#include "broker/protocol/crc32c.h"

void producer_state_init(struct producer_state *ps)
{
	*ps = (struct producer_state){0};
}

void producer_state_free(struct producer_state *ps)
{
	free(ps->entries);
	producer_state_init(ps);
}

void producer_state_clear(struct producer_state *ps)
{
	ps->count = 0;
}

int32_t producer_state_last_seq(int32_t base_sequence, int32_t last_offset_delta)
{
	if (base_sequence == PRODUCER_STATE_NO_SEQUENCE)
		return PRODUCER_STATE_NO_SEQUENCE;
	/* Sequences wrap from INT32_MAX to 0 (the Java producer wraps them). */
	int64_t seq = (int64_t)base_sequence + last_offset_delta;
	return (int32_t)(seq > INT32_MAX ? seq - INT32_MAX - 1 : seq);
}

/* Index of the first entry whose producer_id is >= `producer_id`. */
static size_t producer_state_lower(const struct producer_state *ps, int64_t producer_id)
{
	size_t lo = 0, hi = ps->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ps->entries[mid].producer_id < producer_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct producer_state_entry *producer_state_find(const struct producer_state *ps, int64_t producer_id)
{
	size_t i = producer_state_lower(ps, producer_id);
	return i < ps->count && ps->entries[i].producer_id == producer_id ? &ps->entries[i] : NULL;
}

/* Kafka's inSequence. */
static bool producer_state_in_sequence(int32_t last_seq, int32_t next_seq)
{
	return (int64_t)next_seq == (int64_t)last_seq + 1 || (next_seq == 0 && last_seq == INT32_MAX);
}

void producer_state_check(const struct producer_state *ps, const struct batch_header *h,
			  struct producer_state_verdict *out)
{
	*out = (struct producer_state_verdict){
		.result = PRODUCER_STATE_NEW,
		.first_offset = -1,
		.last_offset = -1,
		.max_timestamp = -1,
		.known_epoch = PRODUCER_STATE_NO_EPOCH,
		.known_last_seq = PRODUCER_STATE_NO_SEQUENCE,
	};
	if (h->producer_id < 0)
		return;
	const struct producer_state_entry *e = producer_state_find(ps, h->producer_id);
	if (e == NULL)
		return; /* unknown: any sequence (KIP-360) */
	int32_t last_seq = e->nbatches > 0 ? e->batches[e->nbatches - 1].last_seq : PRODUCER_STATE_NO_SEQUENCE;
	out->known_epoch = e->producer_epoch;
	out->known_last_seq = last_seq;

	int32_t first = h->base_sequence;
	int32_t last = producer_state_last_seq(first, h->last_offset_delta);
	if (h->producer_epoch == e->producer_epoch) {
		for (size_t i = 0; i < e->nbatches; i++) {
			const struct producer_state_batch *b = &e->batches[i];
			if (b->first_seq == first && b->last_seq == last) {
				out->result = PRODUCER_STATE_DUPLICATE;
				out->first_offset = b->last_offset - b->offset_delta;
				out->last_offset = b->last_offset;
				out->max_timestamp = b->max_timestamp;
				return;
			}
		}
	}
	if (h->producer_epoch < e->producer_epoch) {
		out->result = PRODUCER_STATE_INVALID_EPOCH;
		return;
	}
	/* An entry without an epoch (possible only from a log written by
	 * someone else) gives no sequence to check against. */
	if (e->producer_epoch == PRODUCER_STATE_NO_EPOCH)
		return;
	if (h->producer_epoch != e->producer_epoch) {
		/* A bumped epoch starts its sequences over. */
		if (first != 0)
			out->result = PRODUCER_STATE_OUT_OF_ORDER;
		return;
	}
	if (!producer_state_in_sequence(last_seq, first))
		out->result = PRODUCER_STATE_OUT_OF_ORDER;
}

static int producer_state_reserve(struct producer_state *ps, size_t n)
{
	if (n <= ps->cap)
		return 0;
	size_t cap = ps->cap ? ps->cap : 8;
	while (cap < n)
		cap *= 2;
	struct producer_state_entry *e = realloc(ps->entries, cap * sizeof *e);
	if (e == NULL)
		return -ENOMEM;
	ps->entries = e;
	ps->cap = cap;
	return 0;
}

int producer_state_prepare(struct producer_state *ps, int64_t producer_id)
{
	if (producer_id < 0 || producer_state_find(ps, producer_id) != NULL)
		return 0;
	return producer_state_reserve(ps, ps->count + 1);
}

int producer_state_update(struct producer_state *ps, const struct batch_header *h)
{
	if (h->producer_id < 0)
		return 0;
	size_t i = producer_state_lower(ps, h->producer_id);
	if (i == ps->count || ps->entries[i].producer_id != h->producer_id) {
		/* Ids come from the controller in increasing blocks: a new
		 * producer is usually appended at the end, no move needed. */
		if (producer_state_reserve(ps, ps->count + 1) != 0)
			return -ENOMEM;
		memmove(ps->entries + i + 1, ps->entries + i, (ps->count - i) * sizeof *ps->entries);
		ps->count++;
		ps->entries[i] = (struct producer_state_entry){
			.producer_id = h->producer_id,
			.producer_epoch = h->producer_epoch,
		};
	}
	struct producer_state_entry *e = &ps->entries[i];
	if (e->producer_epoch != h->producer_epoch) {
		/* Kafka's maybeUpdateProducerEpoch: sequences of another epoch
		 * say nothing about this one. */
		e->producer_epoch = h->producer_epoch;
		e->nbatches = 0;
	}
	if (e->nbatches == PRODUCER_STATE_BATCHES) {
		memmove(e->batches, e->batches + 1, (PRODUCER_STATE_BATCHES - 1) * sizeof *e->batches);
		e->nbatches--;
	}
	e->batches[e->nbatches++] = (struct producer_state_batch){
		.first_seq = h->base_sequence,
		.last_seq = producer_state_last_seq(h->base_sequence, h->last_offset_delta),
		.last_offset = h->base_offset + h->last_offset_delta,
		.offset_delta = h->last_offset_delta,
		.max_timestamp = h->max_timestamp,
	};
	e->last_timestamp = h->max_timestamp;
	return 0;
}

size_t producer_state_expire(struct producer_state *ps, int64_t now_ms, int64_t expiration_ms)
{
	size_t kept = 0;
	for (size_t i = 0; i < ps->count; i++) {
		const struct producer_state_entry *e = &ps->entries[i];
		/* The difference is taken unsigned: a timestamp far in the
		 * past (or NO_TIMESTAMP, -1) must not overflow it. A timestamp
		 * ahead of the clock is not expired. */
		bool expired = e->last_timestamp <= now_ms &&
			       (expiration_ms <= 0 ||
				(uint64_t)now_ms - (uint64_t)e->last_timestamp >= (uint64_t)expiration_ms);
		if (!expired)
			ps->entries[kept++] = *e;
	}
	size_t gone = ps->count - kept;
	ps->count = kept;
	return gone;
}

/* ---- snapshot encoding ---- */

#define PS_HEADER_SIZE 20
#define PS_PRODUCER_SIZE 19 /* before its batches */
#define PS_BATCH_SIZE 28
#define PS_CRC_FROM 8

static uint8_t *ps_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *ps_put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return p + 4;
}

static uint8_t *ps_put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return p + 8;
}

int producer_state_encode(const struct producer_state *ps, int64_t offset, uint8_t **out, size_t *len)
{
	size_t size = PS_HEADER_SIZE;
	for (size_t i = 0; i < ps->count; i++)
		size += PS_PRODUCER_SIZE + (size_t)ps->entries[i].nbatches * PS_BATCH_SIZE;
	if (size > PRODUCER_STATE_SNAPSHOT_MAX_BYTES || ps->count > UINT32_MAX)
		return -EFBIG;
	uint8_t *buf = malloc(size);
	if (buf == NULL)
		return -ENOMEM;
	uint8_t *p = ps_put_u32(buf, PRODUCER_STATE_SNAPSHOT_MAGIC);
	p = ps_put_u32(p, 0); /* CRC, below */
	p = ps_put_u64(p, (uint64_t)offset);
	p = ps_put_u32(p, (uint32_t)ps->count);
	for (size_t i = 0; i < ps->count; i++) {
		const struct producer_state_entry *e = &ps->entries[i];
		p = ps_put_u64(p, (uint64_t)e->producer_id);
		p = ps_put_u16(p, (uint16_t)e->producer_epoch);
		p = ps_put_u64(p, (uint64_t)e->last_timestamp);
		*p++ = e->nbatches;
		for (size_t j = 0; j < e->nbatches; j++) {
			const struct producer_state_batch *b = &e->batches[j];
			p = ps_put_u32(p, (uint32_t)b->first_seq);
			p = ps_put_u32(p, (uint32_t)b->last_seq);
			p = ps_put_u64(p, (uint64_t)b->last_offset);
			p = ps_put_u32(p, (uint32_t)b->offset_delta);
			p = ps_put_u64(p, (uint64_t)b->max_timestamp);
		}
	}
	ps_put_u32(buf + 4, crc32c(0, buf + PS_CRC_FROM, size - PS_CRC_FROM));
	*out = buf;
	*len = size;
	return 0;
}

/* A bounded cursor: reads past the end set `bad` and return 0. */
struct ps_reader {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static uint64_t ps_get(struct ps_reader *r, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | r->p[i];
	r->p += n;
	r->left -= n;
	return v;
}

static int producer_state_parse(struct producer_state *ps, const uint8_t *buf, size_t len, int64_t *offset)
{
	struct ps_reader r = {.p = buf, .left = len};
	uint32_t magic = (uint32_t)ps_get(&r, 4);
	uint32_t crc = (uint32_t)ps_get(&r, 4);
	if (r.bad || magic != PRODUCER_STATE_SNAPSHOT_MAGIC || crc != crc32c(0, buf + PS_CRC_FROM, len - PS_CRC_FROM))
		return -EBADMSG;
	int64_t at = (int64_t)ps_get(&r, 8);
	uint32_t count = (uint32_t)ps_get(&r, 4);
	/* Bound the count by the bytes left before allocating. */
	if (r.bad || at < 0 || count > r.left / PS_PRODUCER_SIZE)
		return -EBADMSG;
	if (producer_state_reserve(ps, count) != 0)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		struct producer_state_entry e = {0};
		e.producer_id = (int64_t)ps_get(&r, 8);
		e.producer_epoch = (int16_t)(uint16_t)ps_get(&r, 2);
		e.last_timestamp = (int64_t)ps_get(&r, 8);
		e.nbatches = (uint8_t)ps_get(&r, 1);
		if (r.bad || e.producer_id < 0 || e.nbatches > PRODUCER_STATE_BATCHES)
			return -EBADMSG;
		if (ps->count > 0 && e.producer_id <= ps->entries[ps->count - 1].producer_id)
			return -EBADMSG;
		for (size_t j = 0; j < e.nbatches; j++) {
			struct producer_state_batch *b = &e.batches[j];
			b->first_seq = (int32_t)(uint32_t)ps_get(&r, 4);
			b->last_seq = (int32_t)(uint32_t)ps_get(&r, 4);
			b->last_offset = (int64_t)ps_get(&r, 8);
			b->offset_delta = (int32_t)(uint32_t)ps_get(&r, 4);
			b->max_timestamp = (int64_t)ps_get(&r, 8);
			if (r.bad || b->offset_delta < 0 || b->last_offset < b->offset_delta || b->last_offset >= at)
				return -EBADMSG;
			if (j > 0 && b->last_offset - b->offset_delta <= e.batches[j - 1].last_offset)
				return -EBADMSG;
		}
		ps->entries[ps->count++] = e;
	}
	if (r.left != 0)
		return -EBADMSG; /* more than announced */
	*offset = at;
	return 0;
}

int producer_state_decode(struct producer_state *ps, const uint8_t *buf, size_t len, int64_t *offset)
{
	producer_state_clear(ps);
	int rc = producer_state_parse(ps, buf, len, offset);
	if (rc != 0)
		producer_state_clear(ps);
	return rc;
}

/* ---- snapshot files ---- */

void producer_state_snapshot_name(int64_t offset, char name[32])
{
	snprintf(name, 32, "%020" PRId64 "%s", offset, PRODUCER_STATE_SNAPSHOT_SUFFIX);
}

/* Writes without fsync: tmp file, then rename. */
static int producer_state_write_nosync(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
	char tmp_name[48];
	snprintf(tmp_name, sizeof tmp_name, "%s.tmp", name);
	char *tmp = fileio_join(dir, tmp_name);
	char *path = fileio_join(dir, name);
	int rc = -ENOMEM;
	if (tmp == NULL || path == NULL)
		goto out;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = fileio_pwrite_all(fd, buf, len, 0);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
out:
	free(tmp);
	free(path);
	return rc;
}

int producer_state_snapshot_write(const struct producer_state *ps, const char *dir, int64_t offset, bool sync)
{
	uint8_t *buf;
	size_t len;
	int rc = producer_state_encode(ps, offset, &buf, &len);
	if (rc != 0)
		return rc;
	char name[32];
	producer_state_snapshot_name(offset, name);
	rc = sync ? fileio_write_atomic(dir, name, buf, len) : producer_state_write_nosync(dir, name, buf, len);
	free(buf);
	return rc;
}

int producer_state_snapshot_read(struct producer_state *ps, const char *dir, int64_t offset)
{
	producer_state_clear(ps);
	char name[32];
	producer_state_snapshot_name(offset, name);
	char *path = fileio_join(dir, name);
	if (path == NULL)
		return -ENOMEM;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -errno;
	uint8_t *buf = NULL;
	int64_t size = fileio_size(fd);
	int rc = size < 0 ? (int)size : 0;
	if (rc == 0 && (size > PRODUCER_STATE_SNAPSHOT_MAX_BYTES || size < PS_HEADER_SIZE))
		rc = -EBADMSG;
	if (rc == 0 && (buf = malloc((size_t)size)) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = fileio_pread_all(fd, buf, (size_t)size, 0);
	close(fd);
	if (rc == -ENODATA)
		rc = -EBADMSG; /* shrank while we read: not a file we wrote */
	int64_t at = -1;
	if (rc == 0)
		rc = producer_state_decode(ps, buf, (size_t)size, &at);
	if (rc == 0 && at != offset)
		rc = -EBADMSG;
	free(buf);
	if (rc != 0)
		producer_state_clear(ps);
	return rc;
}

/* Parses "<20 digits>.snapshot" exactly. */
static bool producer_state_parse_name(const char *name, int64_t *offset)
{
	int64_t v = 0;
	for (int i = 0; i < 20; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
		if (v > (INT64_MAX - (name[i] - '0')) / 10)
			return false;
		v = v * 10 + (name[i] - '0');
	}
	if (strcmp(name + 20, PRODUCER_STATE_SNAPSHOT_SUFFIX) != 0)
		return false;
	*offset = v;
	return true;
}

static int producer_state_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int producer_state_snapshot_list(const char *dir, int64_t **offsets, size_t *n)
{
	*offsets = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return -errno;
	int64_t *list = NULL;
	size_t count = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		int64_t offset;
		if (!producer_state_parse_name(e->d_name, &offset))
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 8;
			int64_t *l = realloc(list, cap * sizeof *l);
			if (l == NULL) {
				rc = -ENOMEM;
				break;
			}
			list = l;
		}
		list[count++] = offset;
	}
	closedir(d);
	if (rc != 0) {
		free(list);
		return rc;
	}
	if (count > 0)
		qsort(list, count, sizeof *list, producer_state_cmp_i64);
	*offsets = list;
	*n = count;
	return 0;
}

int producer_state_snapshot_delete(const char *dir, int64_t offset)
{
	char name[32];
	producer_state_snapshot_name(offset, name);
	char *path = fileio_join(dir, name);
	if (path == NULL)
		return -ENOMEM;
	int rc = unlink(path) < 0 && errno != ENOENT ? -errno : 0;
	free(path);
	return rc;
}
