#include "broker/log/leader_epochs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/fileio.h"

void leader_epochs_init(struct leader_epochs *le)
{
	*le = (struct leader_epochs){0};
}

void leader_epochs_free(struct leader_epochs *le)
{
	free(le->entries);
	leader_epochs_init(le);
}

void leader_epochs_clear(struct leader_epochs *le)
{
	le->count = 0;
}

int leader_epochs_reserve(struct leader_epochs *le, size_t n)
{
	if (n <= le->cap)
		return 0;
	size_t cap = le->cap ? le->cap : 8;
	while (cap < n)
		cap *= 2;
	struct leader_epoch_entry *e = realloc(le->entries, cap * sizeof *e);
	if (e == NULL)
		return -ENOMEM;
	le->entries = e;
	le->cap = cap;
	return 0;
}

static const struct leader_epoch_entry *leader_epochs_last(const struct leader_epochs *le)
{
	return le->count > 0 ? &le->entries[le->count - 1] : NULL;
}

int leader_epochs_assign(struct leader_epochs *le, int32_t epoch, int64_t start_offset)
{
	if (epoch < 0 || start_offset < 0)
		return -EINVAL;
	const struct leader_epoch_entry *last = leader_epochs_last(le);
	if (last != NULL && epoch == last->epoch)
		return 0;
	if (last != NULL && epoch < last->epoch)
		return -ERANGE;
	if (leader_epochs_reserve(le, le->count + 1) != 0)
		return -ENOMEM;
	/* Kafka's maybeTruncateNonMonotonicEntries: entries starting at or
	 * after the new one describe offsets since rewritten (or none at all). */
	while (le->count > 0 && le->entries[le->count - 1].start_offset >= start_offset)
		le->count--;
	le->entries[le->count++] = (struct leader_epoch_entry){.epoch = epoch, .start_offset = start_offset};
	return 1;
}

int32_t leader_epochs_latest(const struct leader_epochs *le)
{
	const struct leader_epoch_entry *last = leader_epochs_last(le);
	return last != NULL ? last->epoch : LEADER_EPOCHS_UNDEFINED_EPOCH;
}

/* Index of the first entry whose epoch is > `epoch`, or le->count. */
static size_t leader_epochs_higher(const struct leader_epochs *le, int32_t epoch)
{
	size_t lo = 0, hi = le->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (le->entries[mid].epoch <= epoch)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool leader_epochs_end_offset_for(const struct leader_epochs *le, int32_t epoch, int64_t log_end_offset,
				  int32_t *out_epoch, int64_t *end_offset)
{
	*out_epoch = LEADER_EPOCHS_UNDEFINED_EPOCH;
	*end_offset = LEADER_EPOCHS_UNDEFINED_OFFSET;
	if (epoch < 0 || le->count == 0)
		return false;
	if (epoch == leader_epochs_latest(le)) {
		/* Still being written: a consumer verifying its position after a
		 * rebalance gets the log end, which makes its check pass. */
		*out_epoch = epoch;
		*end_offset = log_end_offset;
		return true;
	}
	size_t higher = leader_epochs_higher(le, epoch);
	if (higher == le->count)
		return false; /* above every epoch we know */
	*end_offset = le->entries[higher].start_offset;
	/* No entry <= epoch: its data is gone (retention) or was never here;
	 * Kafka answers the requested epoch so the follower truncates to where
	 * our history starts. */
	*out_epoch = higher > 0 ? le->entries[higher - 1].epoch : epoch;
	return true;
}

bool leader_epochs_truncate_from_end(struct leader_epochs *le, int64_t offset)
{
	size_t n = le->count;
	while (n > 0 && le->entries[n - 1].start_offset >= offset)
		n--;
	bool changed = n != le->count;
	le->count = n;
	return changed;
}

bool leader_epochs_truncate_from_start(struct leader_epochs *le, int64_t offset)
{
	/* k = entries starting at or below offset; the last of them survives. */
	size_t k = 0;
	while (k < le->count && le->entries[k].start_offset <= offset)
		k++;
	if (k == 0)
		return false;
	struct leader_epoch_entry keep = le->entries[k - 1];
	bool changed = k > 1 || keep.start_offset != offset;
	keep.start_offset = offset;
	memmove(le->entries + 1, le->entries + k, (le->count - k) * sizeof *le->entries);
	le->entries[0] = keep;
	le->count -= k - 1;
	return changed;
}

/* ---- the checkpoint file ---- */

/* Parses a non-negative decimal at *p (no sign, at most INT64_MAX), advancing
 * *p. Returns 0 or -EBADMSG. */
static int leader_epochs_parse_u63(const char **p, const char *end, int64_t *out)
{
	const char *s = *p;
	int64_t v = 0;
	if (s == end || *s < '0' || *s > '9')
		return -EBADMSG;
	while (s < end && *s >= '0' && *s <= '9') {
		int d = *s - '0';
		if (v > (INT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
		s++;
	}
	*p = s;
	*out = v;
	return 0;
}

/* Consumes a line end: '\n', or the end of the file. */
static int leader_epochs_parse_eol(const char **p, const char *end)
{
	if (*p == end)
		return 0;
	if (**p != '\n')
		return -EBADMSG;
	(*p)++;
	return 0;
}

static int leader_epochs_parse(struct leader_epochs *le, const char *p, const char *end)
{
	int64_t version, count;
	if (leader_epochs_parse_u63(&p, end, &version) != 0 || version != 0 || leader_epochs_parse_eol(&p, end) != 0)
		return -EBADMSG;
	if (leader_epochs_parse_u63(&p, end, &count) != 0 || leader_epochs_parse_eol(&p, end) != 0)
		return -EBADMSG;
	/* Every entry takes at least 4 bytes ("0 0\n"): bound before allocating. */
	if (count > (end - p) / 3)
		return -EBADMSG;
	if (leader_epochs_reserve(le, (size_t)count) != 0)
		return -ENOMEM;
	for (int64_t i = 0; i < count; i++) {
		int64_t epoch, start;
		if (leader_epochs_parse_u63(&p, end, &epoch) != 0 || epoch > INT32_MAX)
			return -EBADMSG;
		/* Kafka splits on any whitespace; it writes one space. */
		const char *sep = p;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == sep || leader_epochs_parse_u63(&p, end, &start) != 0 || leader_epochs_parse_eol(&p, end) != 0)
			return -EBADMSG;
		const struct leader_epoch_entry *last = leader_epochs_last(le);
		if (last != NULL && (epoch <= last->epoch || start < last->start_offset))
			return -EBADMSG;
		le->entries[le->count++] = (struct leader_epoch_entry){.epoch = (int32_t)epoch, .start_offset = start};
	}
	return p == end ? 0 : -EBADMSG; /* more lines than announced */
}

int leader_epochs_load(struct leader_epochs *le, const char *dir)
{
	leader_epochs_clear(le);
	char *path = fileio_join(dir, LEADER_EPOCHS_CHECKPOINT);
	if (path == NULL)
		return -ENOMEM;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -errno;
	char *buf = NULL;
	int64_t size = fileio_size(fd);
	int rc = size < 0 ? (int)size : 0;
	if (rc == 0 && size > LEADER_EPOCHS_MAX_FILE_BYTES)
		rc = -EBADMSG;
	if (rc == 0 && (buf = malloc((size_t)size + 1)) == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = fileio_pread_all(fd, buf, (size_t)size, 0);
	close(fd);
	if (rc == -ENODATA)
		rc = -EBADMSG; /* shrank while we read: not a file we wrote */
	if (rc == 0)
		rc = leader_epochs_parse(le, buf, buf + size);
	free(buf);
	if (rc != 0)
		leader_epochs_clear(le);
	return rc;
}

/* "<epoch> <offset>\n": 10 + 1 + 19 + 1 digits and separators, with room. */
#define LEADER_EPOCHS_LINE_MAX 40

int leader_epochs_store(const struct leader_epochs *le, const char *dir)
{
	size_t cap = 2 * LEADER_EPOCHS_LINE_MAX + le->count * LEADER_EPOCHS_LINE_MAX;
	char *buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	size_t n = (size_t)snprintf(buf, cap, "0\n%zu\n", le->count);
	for (size_t i = 0; i < le->count; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%" PRId32 " %" PRId64 "\n", le->entries[i].epoch,
				      le->entries[i].start_offset);
	int rc = fileio_write_atomic(dir, LEADER_EPOCHS_CHECKPOINT, buf, n);
	free(buf);
	return rc;
}
