#include "broker/log/checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/log/fileio.h"

#define CHECKPOINT_MAX_BYTES 64 /* "0\n" + 20 digits and sign + "\n" fits with room */

int checkpoint_read(const char *dir, const char *name, int64_t *value)
{
	char *path = fileio_join(dir, name);
	if (path == NULL)
		return -ENOMEM;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -errno;
	char buf[CHECKPOINT_MAX_BYTES + 1];
	ssize_t n;
	do {
		n = pread(fd, buf, CHECKPOINT_MAX_BYTES, 0);
	} while (n < 0 && errno == EINTR);
	int rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc != 0)
		return rc;
	buf[n] = '\0';

	/* Version line, then the offset line; anything else is corruption. */
	if (strncmp(buf, "0\n", 2) != 0)
		return -EBADMSG;
	const char *p = buf + 2;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(p, &end, 10);
	if (errno != 0 || end == p || *end != '\n' || end[1] != '\0' || v < 0)
		return -EBADMSG;
	*value = (int64_t)v;
	return 0;
}

int checkpoint_write(const char *dir, const char *name, int64_t value)
{
	char buf[CHECKPOINT_MAX_BYTES];
	int n = snprintf(buf, sizeof buf, "0\n%" PRId64 "\n", value);
	return fileio_write_atomic(dir, name, buf, (size_t)n);
}
