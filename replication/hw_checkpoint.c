#include "replication/hw_checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/fileio.h"

void hw_checkpoint_init(struct hw_checkpoint *c)
{
	memset(c, 0, sizeof *c);
}

void hw_checkpoint_free(struct hw_checkpoint *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->entries[i].topic);
	free(c->entries);
	hw_checkpoint_init(c);
}

static bool hw_checkpoint_topic_ok(const char *topic, size_t len)
{
	if (len == 0 || len > HW_CHECKPOINT_TOPIC_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (topic[i] == ' ' || topic[i] == '\n' || topic[i] == '\t' || topic[i] == '\r' || topic[i] == '\0')
			return false;
	return true;
}

static int hw_checkpoint_add_n(struct hw_checkpoint *c, const char *topic, size_t len, int32_t partition,
			       int64_t offset)
{
	if (!hw_checkpoint_topic_ok(topic, len) || partition < 0 || offset < 0)
		return -EINVAL;
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct hw_checkpoint_entry *e = realloc(c->entries, cap * sizeof *e);
		if (e == NULL)
			return -ENOMEM;
		c->entries = e;
		c->cap = cap;
	}
	char *name = strndup(topic, len);
	if (name == NULL)
		return -ENOMEM;
	c->entries[c->count++] = (struct hw_checkpoint_entry){name, partition, offset};
	return 0;
}

int hw_checkpoint_add(struct hw_checkpoint *c, const char *topic, int32_t partition, int64_t offset)
{
	return hw_checkpoint_add_n(c, topic, strlen(topic), partition, offset);
}

bool hw_checkpoint_find(const struct hw_checkpoint *c, const char *topic, int32_t partition, int64_t *offset)
{
	for (size_t i = 0; i < c->count; i++)
		if (c->entries[i].partition == partition && strcmp(c->entries[i].topic, topic) == 0) {
			*offset = c->entries[i].offset;
			return true;
		}
	return false;
}

/* A non-negative decimal without sign or leading junk, ending at `*end`. */
static int hw_checkpoint_number(const char *p, const char *limit, int64_t max, int64_t *out, const char **end)
{
	int64_t v = 0;
	const char *q = p;
	while (q < limit && *q >= '0' && *q <= '9') {
		if (v > (max - (*q - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (*q - '0');
		q++;
	}
	if (q == p || q - p > 19)
		return -EBADMSG;
	*out = v;
	*end = q;
	return 0;
}

static int hw_checkpoint_parse(struct hw_checkpoint *c, const char *buf, size_t len)
{
	const char *p = buf, *limit = buf + len, *q;
	int64_t version, n;
	if (hw_checkpoint_number(p, limit, INT64_MAX, &version, &q) != 0 || version != 0 || q >= limit || *q != '\n')
		return -EBADMSG;
	p = q + 1;
	if (hw_checkpoint_number(p, limit, INT64_MAX, &n, &q) != 0 || q >= limit || *q != '\n')
		return -EBADMSG;
	p = q + 1;
	for (int64_t i = 0; i < n; i++) {
		const char *sp = memchr(p, ' ', (size_t)(limit - p));
		if (sp == NULL)
			return -EBADMSG;
		const char *topic = p;
		size_t tlen = (size_t)(sp - p);
		int64_t part, off;
		if (hw_checkpoint_number(sp + 1, limit, INT32_MAX, &part, &q) != 0 || q >= limit || *q != ' ')
			return -EBADMSG;
		if (hw_checkpoint_number(q + 1, limit, INT64_MAX, &off, &q) != 0 || q >= limit || *q != '\n')
			return -EBADMSG;
		int rc = hw_checkpoint_add_n(c, topic, tlen, (int32_t)part, off);
		if (rc != 0)
			return rc == -EINVAL ? -EBADMSG : rc;
		p = q + 1;
	}
	return p == limit ? 0 : -EBADMSG;
}

int hw_checkpoint_load(struct hw_checkpoint *c, const char *dir)
{
	hw_checkpoint_free(c);
	char *path = fileio_join(dir, HW_CHECKPOINT_FILE);
	if (path == NULL)
		return -ENOMEM;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -errno;
	int64_t size = fileio_size(fd);
	int rc = size < 0 ? (int)size : size > HW_CHECKPOINT_MAX_BYTES ? -EBADMSG : 0;
	char *buf = rc == 0 ? malloc((size_t)size + 1) : NULL;
	if (rc == 0 && buf == NULL)
		rc = -ENOMEM;
	if (rc == 0)
		rc = fileio_pread_all(fd, buf, (size_t)size, 0);
	close(fd);
	if (rc == -ENODATA)
		rc = -EBADMSG; /* shrank while read: not a whole checkpoint */
	if (rc == 0)
		rc = hw_checkpoint_parse(c, buf, (size_t)size);
	free(buf);
	if (rc != 0)
		hw_checkpoint_free(c);
	return rc;
}

int hw_checkpoint_store(const struct hw_checkpoint *c, const char *dir)
{
	size_t cap = 64;
	for (size_t i = 0; i < c->count; i++)
		cap += strlen(c->entries[i].topic) + 2 * 21 + 3;
	char *buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	size_t len = (size_t)snprintf(buf, cap, "0\n%zu\n", c->count);
	for (size_t i = 0; i < c->count; i++)
		len += (size_t)snprintf(buf + len, cap - len, "%s %" PRId32 " %" PRId64 "\n", c->entries[i].topic,
					c->entries[i].partition, c->entries[i].offset);
	int rc = fileio_write_atomic(dir, HW_CHECKPOINT_FILE, buf, len);
	free(buf);
	return rc;
}
