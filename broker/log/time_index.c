#include "broker/log/time_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "broker/log/fileio.h"
#include "broker/protocol/batch.h"

static int time_index_reserve(struct time_index *idx, size_t want)
{
	if (want <= idx->cap)
		return 0;
	size_t cap = idx->cap ? idx->cap : 64;
	while (cap < want)
		cap *= 2;
	struct time_index_entry *e = realloc(idx->entries, cap * sizeof *e);
	if (e == NULL)
		return -ENOMEM;
	idx->entries = e;
	idx->cap = cap;
	return 0;
}

int time_index_open(struct time_index *idx, const char *path, int64_t base_offset)
{
	*idx = (struct time_index){.fd = -1, .base_offset = base_offset};
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	idx->fd = fd;

	int64_t size = fileio_size(fd);
	int rc = size < 0 ? (int)size : 0;
	if (rc != 0)
		goto err_after_open;
	idx->torn = size % TIME_INDEX_ENTRY_SIZE != 0;
	size_t n = (size_t)size / TIME_INDEX_ENTRY_SIZE;
	if (n == 0)
		return 0;

	uint8_t *raw = malloc(n * TIME_INDEX_ENTRY_SIZE);
	rc = raw ? time_index_reserve(idx, n) : -ENOMEM;
	if (rc == 0)
		rc = fileio_pread_all(fd, raw, n * TIME_INDEX_ENTRY_SIZE, 0);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++) {
			idx->entries[i].timestamp = batch_get_i64(raw + i * TIME_INDEX_ENTRY_SIZE);
			idx->entries[i].rel_offset = batch_get_i32(raw + i * TIME_INDEX_ENTRY_SIZE + 8);
		}
		idx->count = n;
	}
	free(raw);
	if (rc != 0)
		goto err_after_open;
	return 0;

err_after_open:
	time_index_close(idx);
	return rc;
}

void time_index_close(struct time_index *idx)
{
	if (idx->fd >= 0)
		close(idx->fd);
	free(idx->entries);
	*idx = (struct time_index){.fd = -1};
}

bool time_index_sane(const struct time_index *idx, int64_t next_offset)
{
	if (idx->torn)
		return false;
	for (size_t i = 0; i < idx->count; i++) {
		const struct time_index_entry *e = &idx->entries[i];
		if (e->rel_offset < 0 || idx->base_offset + e->rel_offset >= next_offset)
			return false;
		if (i > 0 && (e->timestamp <= e[-1].timestamp || e->rel_offset < e[-1].rel_offset))
			return false;
	}
	return true;
}

int time_index_reset(struct time_index *idx)
{
	idx->count = 0;
	idx->torn = false;
	return ftruncate(idx->fd, 0) < 0 ? -errno : 0;
}

int time_index_append(struct time_index *idx, int64_t timestamp, int64_t offset)
{
	int64_t rel = offset - idx->base_offset;
	if (rel < 0 || rel > INT32_MAX)
		return -ERANGE;
	if (idx->count > 0) {
		const struct time_index_entry *last = &idx->entries[idx->count - 1];
		if (rel < last->rel_offset)
			return -EINVAL;
		if (timestamp <= last->timestamp)
			return 0;
	}
	int rc = time_index_reserve(idx, idx->count + 1);
	if (rc != 0)
		return rc;
	uint8_t raw[TIME_INDEX_ENTRY_SIZE];
	batch_put_i64(raw, timestamp);
	batch_put_i32(raw + 8, (int32_t)rel);
	off_t at = (off_t)(idx->count * TIME_INDEX_ENTRY_SIZE);
	rc = fileio_pwrite_all(idx->fd, raw, sizeof raw, at);
	if (rc != 0) {
		(void)!ftruncate(idx->fd, at);
		return rc;
	}
	idx->entries[idx->count++] = (struct time_index_entry){timestamp, (int32_t)rel};
	return 0;
}

int64_t time_index_lookup(const struct time_index *idx, int64_t timestamp)
{
	size_t lo = 0, hi = idx->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx->entries[mid].timestamp <= timestamp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return idx->base_offset;
	return idx->base_offset + idx->entries[lo - 1].rel_offset;
}

int time_index_truncate_offset(struct time_index *idx, int64_t offset)
{
	size_t n = idx->count;
	while (n > 0 && idx->base_offset + idx->entries[n - 1].rel_offset >= offset)
		n--;
	if (n == idx->count && !idx->torn)
		return 0;
	idx->count = n;
	idx->torn = false;
	return ftruncate(idx->fd, (off_t)(n * TIME_INDEX_ENTRY_SIZE)) < 0 ? -errno : 0;
}

bool time_index_last(const struct time_index *idx, int64_t *timestamp, int64_t *offset)
{
	if (idx->count == 0)
		return false;
	*timestamp = idx->entries[idx->count - 1].timestamp;
	*offset = idx->base_offset + idx->entries[idx->count - 1].rel_offset;
	return true;
}

int time_index_sync(struct time_index *idx)
{
	return fsync(idx->fd) < 0 ? -errno : 0;
}
