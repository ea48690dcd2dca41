#include "broker/log/offset_index.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "broker/log/fileio.h"
#include "broker/protocol/batch.h"

static int offset_index_reserve(struct offset_index *idx, size_t want)
{
	if (want <= idx->cap)
		return 0;
	size_t cap = idx->cap ? idx->cap : 64;
	while (cap < want)
		cap *= 2;
	struct offset_index_entry *e = realloc(idx->entries, cap * sizeof *e);
	if (e == NULL)
		return -ENOMEM;
	idx->entries = e;
	idx->cap = cap;
	return 0;
}

int offset_index_open(struct offset_index *idx, const char *path, int64_t base_offset)
{
	*idx = (struct offset_index){.fd = -1, .base_offset = base_offset};
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	idx->fd = fd;

	int64_t size = fileio_size(fd);
	int rc = size < 0 ? (int)size : 0;
	if (rc != 0)
		goto err_after_open;
	idx->torn = size % OFFSET_INDEX_ENTRY_SIZE != 0;
	size_t n = (size_t)size / OFFSET_INDEX_ENTRY_SIZE;
	if (n == 0)
		return 0;

	uint8_t *raw = malloc(n * OFFSET_INDEX_ENTRY_SIZE);
	rc = raw ? offset_index_reserve(idx, n) : -ENOMEM;
	if (rc == 0)
		rc = fileio_pread_all(fd, raw, n * OFFSET_INDEX_ENTRY_SIZE, 0);
	if (rc == 0) {
		for (size_t i = 0; i < n; i++) {
			idx->entries[i].rel_offset = batch_get_i32(raw + i * OFFSET_INDEX_ENTRY_SIZE);
			idx->entries[i].position = batch_get_i32(raw + i * OFFSET_INDEX_ENTRY_SIZE + 4);
		}
		idx->count = n;
	}
	free(raw);
	if (rc != 0)
		goto err_after_open;
	return 0;

err_after_open:
	offset_index_close(idx);
	return rc;
}

void offset_index_close(struct offset_index *idx)
{
	if (idx->fd >= 0)
		close(idx->fd);
	free(idx->entries);
	*idx = (struct offset_index){.fd = -1};
}

bool offset_index_sane(const struct offset_index *idx, int64_t log_size)
{
	if (idx->torn)
		return false;
	for (size_t i = 0; i < idx->count; i++) {
		const struct offset_index_entry *e = &idx->entries[i];
		if (e->rel_offset < 0 || e->position < 0 || e->position >= log_size)
			return false;
		if (i > 0 && (e->rel_offset <= e[-1].rel_offset || e->position <= e[-1].position))
			return false;
	}
	return true;
}

int offset_index_reset(struct offset_index *idx)
{
	idx->count = 0;
	idx->torn = false;
	return ftruncate(idx->fd, 0) < 0 ? -errno : 0;
}

int offset_index_append(struct offset_index *idx, int64_t offset, int64_t position)
{
	int64_t rel = offset - idx->base_offset;
	if (rel < 0 || rel > INT32_MAX || position < 0 || position > INT32_MAX)
		return -ERANGE;
	if (idx->count > 0) {
		const struct offset_index_entry *last = &idx->entries[idx->count - 1];
		if (rel <= last->rel_offset || position <= last->position)
			return -EINVAL;
	}
	int rc = offset_index_reserve(idx, idx->count + 1);
	if (rc != 0)
		return rc;
	uint8_t raw[OFFSET_INDEX_ENTRY_SIZE];
	batch_put_i32(raw, (int32_t)rel);
	batch_put_i32(raw + 4, (int32_t)position);
	off_t at = (off_t)(idx->count * OFFSET_INDEX_ENTRY_SIZE);
	rc = fileio_pwrite_all(idx->fd, raw, sizeof raw, at);
	if (rc != 0) {
		/* A torn entry would shift every later one: cut it off. */
		(void)!ftruncate(idx->fd, at);
		return rc;
	}
	idx->entries[idx->count++] = (struct offset_index_entry){(int32_t)rel, (int32_t)position};
	return 0;
}

void offset_index_lookup(const struct offset_index *idx, int64_t offset, int64_t *entry_offset,
			 int64_t *position)
{
	int64_t rel = offset - idx->base_offset;
	/* Largest i with entries[i].rel_offset <= rel, over [lo, hi). */
	size_t lo = 0, hi = idx->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (idx->entries[mid].rel_offset <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) {
		*entry_offset = idx->base_offset - 1;
		*position = 0;
		return;
	}
	*entry_offset = idx->base_offset + idx->entries[lo - 1].rel_offset;
	*position = idx->entries[lo - 1].position;
}

int offset_index_truncate_position(struct offset_index *idx, int64_t position)
{
	size_t n = idx->count;
	while (n > 0 && idx->entries[n - 1].position >= position)
		n--;
	if (n == idx->count && !idx->torn)
		return 0;
	idx->count = n;
	idx->torn = false;
	return ftruncate(idx->fd, (off_t)(n * OFFSET_INDEX_ENTRY_SIZE)) < 0 ? -errno : 0;
}

bool offset_index_last(const struct offset_index *idx, int64_t *offset, int64_t *position)
{
	if (idx->count == 0)
		return false;
	*offset = idx->base_offset + idx->entries[idx->count - 1].rel_offset;
	*position = idx->entries[idx->count - 1].position;
	return true;
}

int offset_index_sync(struct offset_index *idx)
{
	return fsync(idx->fd) < 0 ? -errno : 0;
}
