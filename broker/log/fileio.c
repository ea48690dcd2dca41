#include "broker/log/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_pread_all(int fd, void *buf, size_t len, int64_t off)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int fileio_pwrite_all(int fd, const void *buf, size_t len, int64_t off)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int fileio_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

char *fileio_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *s = malloc(a + 1 + b + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, dir, a);
	s[a] = '/';
	memcpy(s + a + 1, name, b + 1);
	return s;
}

int64_t fileio_size(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	return (int64_t)st.st_size;
}

int fileio_write_atomic(const char *dir, const char *name, const void *buf, size_t len)
{
	char *path = fileio_join(dir, name);
	size_t plen = path ? strlen(path) : 0;
	char *tmp = path ? malloc(plen + 5) : NULL;
	int rc = -ENOMEM;
	if (tmp == NULL)
		goto err_after_alloc;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);

	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		goto err_after_alloc;
	}
	rc = fileio_pwrite_all(fd, buf, len, 0);
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc != 0)
		goto err_after_create;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto err_after_create;
	}
	rc = fileio_fsync_dir(dir);
	free(tmp);
	free(path);
	return rc;

err_after_create:
	unlink(tmp);
err_after_alloc:
	free(tmp);
	free(path);
	return rc;
}
