/* backend_fs: objects as files in a directory, <fs_dir>/<key>.
 *
 * Keys contain '/' ("<topic>/<partition>/<sha256>"): each component becomes
 * a subdirectory, created on demand. A put writes a temporary file next to
 * the final name, fsyncs it, renames it over the final name and fsyncs the
 * directory, so a crash leaves either the whole previous state or the whole
 * new object under the key, never a partial one. Temporaries left behind by a
 * crash are named ".claimcheck-tmp.*" and removed at open once they are old
 * enough that no other live writer can own them (several brokers may share
 * one directory).
 *
 * Keys are relative paths made of ordinary components: no leading '/', no
 * empty, "." or ".." component, no component starting like a temporary.
 *
 * Thread safety: every operation works on its own file descriptors; the
 * context is read-only after open.
 * Ownership: the context owns its copy of the directory name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "claimcheck/backend_internal.h"
#include "broker/logger.h"

#define BACKEND_FS_TMP_PREFIX ".claimcheck-tmp."
/* Temporaries older than this at open are leftovers of a crash. */
#define BACKEND_FS_TMP_STALE_SECONDS (15 * 60)
/* Attempts for a put racing with a delete that removes an emptied parent
 * directory between our mkdir and our create. */
#define BACKEND_FS_PUT_ATTEMPTS 8

struct backend_fs {
	char *dir; /* owned; no trailing '/' (except for "/" itself) */
};

static void backend_fs_err(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void backend_fs_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (!errbuf || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* True when key is an acceptable relative path (see the file comment). */
static bool backend_fs_key_ok(const char *key)
{
	if (!key || !key[0] || key[0] == '/')
		return false;
	size_t plen = strlen(BACKEND_FS_TMP_PREFIX);
	const char *p = key;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n > NAME_MAX)
			return false;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (n >= plen && memcmp(p, BACKEND_FS_TMP_PREFIX, plen) == 0)
			return false;
		for (size_t i = 0; i < n; i++)
			if (p[i] == '\0' || p[i] == '\\')
				return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* Builds "<dir>/<key>" into out. Returns false when too long. */
static bool backend_fs_path(const struct backend_fs *fs, const char *key, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", fs->dir, key);
	return n > 0 && (size_t)n < outlen;
}

/* fsyncs a directory (best effort on filesystems that refuse it). */
static int backend_fs_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	if (rc != 0 && (errno == EINVAL || errno == ENOTSUP))
		rc = 0;
	int saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* Creates every directory of `path` up to (excluding) its last component,
 * starting below `root_len` bytes (the backend's own directory). A new
 * directory's parent is fsynced so the new entry survives a crash. */
static int backend_fs_mkdirs(char *path, size_t root_len)
{
	for (char *p = path + root_len + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		int rc = mkdir(path, 0755);
		int saved = errno;
		if (rc == 0) {
			char *parent_end = strrchr(path, '/');
			if (!parent_end) {
				backend_fs_sync_dir(".");
			} else if (parent_end == path) {
				backend_fs_sync_dir("/");
			} else {
				*parent_end = '\0';
				backend_fs_sync_dir(path);
				*parent_end = '/';
			}
		}
		*p = '/';
		if (rc != 0 && saved != EEXIST) {
			errno = saved;
			return -1;
		}
	}
	return 0;
}

static int backend_fs_write_all(int fd, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int backend_fs_put(void *ctx, const char *key, const uint8_t *data, size_t len, char *errbuf, size_t errlen)
{
	struct backend_fs *fs = ctx;
	if (!backend_fs_key_ok(key)) {
		backend_fs_err(errbuf, errlen, "fs put: invalid key \"%s\"", key ? key : "");
		return CLAIMCHECK_EBACKEND;
	}
	char path[PATH_MAX], tmp[PATH_MAX];
	if (!backend_fs_path(fs, key, path, sizeof path)) {
		backend_fs_err(errbuf, errlen, "fs put %s: path too long", key);
		return CLAIMCHECK_EBACKEND;
	}
	size_t dir_len = (size_t)(strrchr(path, '/') - path);
	int n = snprintf(tmp, sizeof tmp, "%.*s/" BACKEND_FS_TMP_PREFIX "XXXXXX", (int)dir_len, path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		backend_fs_err(errbuf, errlen, "fs put %s: path too long", key);
		return CLAIMCHECK_EBACKEND;
	}

	int fd = -1, dfd = -1;
	for (int attempt = 0; attempt < BACKEND_FS_PUT_ATTEMPTS && fd < 0; attempt++) {
		if (backend_fs_mkdirs(path, strlen(fs->dir)) != 0) {
			if (errno == ENOENT)
				continue; /* a parent was pruned under us */
			backend_fs_err(errbuf, errlen, "fs put %s: cannot create directories: %s", key,
				       strerror(errno));
			return CLAIMCHECK_EBACKEND;
		}
		/* The directory's fd, held until its fsync: a concurrent delete
		 * of the same key may prune the directory after our rename. */
		path[dir_len] = '\0';
		dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		path[dir_len] = '/';
		if (dfd < 0) {
			if (errno == ENOENT)
				continue;
			break;
		}
		memcpy(tmp + n - 6, "XXXXXX", 6);
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0) {
			int saved = errno;
			close(dfd);
			dfd = -1;
			errno = saved;
			if (errno != ENOENT)
				break;
		}
	}
	if (fd < 0 && errno == ENOENT) {
		backend_fs_err(errbuf, errlen, "fs put %s: its directory keeps disappearing", key);
		return CLAIMCHECK_EBACKEND;
	}
	if (fd < 0) {
		backend_fs_err(errbuf, errlen, "fs put %s: cannot create a temporary file: %s", key, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return CLAIMCHECK_EBACKEND;
	}
	const char *step = "write";
	if (backend_fs_write_all(fd, data, len) != 0)
		goto fail;
	step = "fsync";
	if (fsync(fd) != 0)
		goto fail;
	step = "close";
	int rc = close(fd);
	fd = -1;
	if (rc != 0)
		goto fail;
	step = "rename";
	if (rename(tmp, path) != 0)
		goto fail;
	rc = fsync(dfd);
	if (rc != 0 && errno != EINVAL && errno != ENOTSUP) {
		/* The object is complete under its name; only its durability
		 * across a crash is in doubt. Report it so the batch is retried. */
		backend_fs_err(errbuf, errlen, "fs put %s: fsync of the directory: %s", key, strerror(errno));
		close(dfd);
		return CLAIMCHECK_EBACKEND;
	}
	close(dfd);
	return 0;

fail:;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	close(dfd);
	unlink(tmp);
	backend_fs_err(errbuf, errlen, "fs put %s: %s: %s", key, step, strerror(saved));
	return CLAIMCHECK_EBACKEND;
}

static int backend_fs_get(void *ctx, const char *key, size_t max_len, uint8_t **data, size_t *len, char *errbuf,
			  size_t errlen)
{
	struct backend_fs *fs = ctx;
	*data = NULL;
	*len = 0;
	if (!backend_fs_key_ok(key)) {
		backend_fs_err(errbuf, errlen, "fs get: invalid key \"%s\"", key ? key : "");
		return CLAIMCHECK_EBACKEND;
	}
	char path[PATH_MAX];
	if (!backend_fs_path(fs, key, path, sizeof path)) {
		backend_fs_err(errbuf, errlen, "fs get %s: path too long", key);
		return CLAIMCHECK_EBACKEND;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			backend_fs_err(errbuf, errlen, "fs get %s: not found", key);
			return CLAIMCHECK_ENOTFOUND;
		}
		backend_fs_err(errbuf, errlen, "fs get %s: open: %s", key, strerror(errno));
		return CLAIMCHECK_EBACKEND;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		backend_fs_err(errbuf, errlen, "fs get %s: fstat: %s", key, strerror(errno));
		close(fd);
		return CLAIMCHECK_EBACKEND;
	}
	if (!S_ISREG(st.st_mode)) {
		backend_fs_err(errbuf, errlen, "fs get %s: not a regular file", key);
		close(fd);
		return CLAIMCHECK_EBACKEND;
	}
	if ((uint64_t)st.st_size > (uint64_t)max_len) {
		backend_fs_err(errbuf, errlen, "fs get %s: object of %lld bytes is over the limit of %zu", key,
			       (long long)st.st_size, max_len);
		close(fd);
		return CLAIMCHECK_ETOOBIG;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf) {
		backend_fs_err(errbuf, errlen, "fs get %s: out of memory for %zu bytes", key, size);
		close(fd);
		return CLAIMCHECK_EBACKEND;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r < 0)
				backend_fs_err(errbuf, errlen, "fs get %s: read: %s", key, strerror(errno));
			else
				backend_fs_err(errbuf, errlen, "fs get %s: object shrank while reading", key);
			free(buf);
			close(fd);
			return CLAIMCHECK_EBACKEND;
		}
		got += (size_t)r;
	}
	close(fd);
	*data = buf;
	*len = size;
	return 0;
}

static int backend_fs_del(void *ctx, const char *key, char *errbuf, size_t errlen)
{
	struct backend_fs *fs = ctx;
	if (!backend_fs_key_ok(key)) {
		backend_fs_err(errbuf, errlen, "fs delete: invalid key \"%s\"", key ? key : "");
		return CLAIMCHECK_EBACKEND;
	}
	char path[PATH_MAX];
	if (!backend_fs_path(fs, key, path, sizeof path)) {
		backend_fs_err(errbuf, errlen, "fs delete %s: path too long", key);
		return CLAIMCHECK_EBACKEND;
	}
	if (unlink(path) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		backend_fs_err(errbuf, errlen, "fs delete %s: %s", key, strerror(errno));
		return CLAIMCHECK_EBACKEND;
	}
	/* Drop parent directories left empty (a deleted topic's), never the
	 * backend's own directory. A put racing with this retries its mkdir. */
	size_t root_len = strlen(fs->dir);
	for (char *slash; (slash = strrchr(path, '/')) && (size_t)(slash - path) > root_len;) {
		*slash = '\0';
		if (rmdir(path) != 0)
			break;
	}
	return 0;
}

static int backend_fs_sweep_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	const char *base = path + ftw->base;
	if (type == FTW_F && strncmp(base, BACKEND_FS_TMP_PREFIX, strlen(BACKEND_FS_TMP_PREFIX)) == 0 &&
	    st->st_mtime + BACKEND_FS_TMP_STALE_SECONDS < time(NULL)) {
		if (unlink(path) == 0)
			tlog(TLOG_INFO, "claimcheck", "fs: removed a stale temporary file %s", path);
	}
	return 0;
}

static void backend_fs_close(void *ctx)
{
	struct backend_fs *fs = ctx;
	if (!fs)
		return;
	free(fs->dir);
	free(fs);
}

int claimcheck_fs_open(const struct claimcheck_config *cfg, void **ctx, char *errbuf, size_t errlen)
{
	*ctx = NULL;
	if (!cfg->fs_dir || !cfg->fs_dir[0]) {
		backend_fs_err(errbuf, errlen, "claimcheck.fs.dir: not set");
		return CLAIMCHECK_EINVALID;
	}
	struct backend_fs *fs = calloc(1, sizeof *fs);
	if (!fs || !(fs->dir = strdup(cfg->fs_dir))) {
		free(fs);
		backend_fs_err(errbuf, errlen, "claimcheck: out of memory");
		return CLAIMCHECK_ENOMEM;
	}
	size_t n = strlen(fs->dir);
	while (n > 1 && fs->dir[n - 1] == '/')
		fs->dir[--n] = '\0';
	if (n + 2 >= PATH_MAX) {
		backend_fs_err(errbuf, errlen, "claimcheck.fs.dir %s: path too long", cfg->fs_dir);
		backend_fs_close(fs);
		return CLAIMCHECK_EINVALID;
	}

	/* mkdir -p <dir>: reuse the key helper on "<dir>/x". */
	char probe[PATH_MAX];
	snprintf(probe, sizeof probe, "%s/x", fs->dir);
	if (backend_fs_mkdirs(probe, 0) != 0 && errno != EEXIST) {
		backend_fs_err(errbuf, errlen, "claimcheck.fs.dir %s: cannot create: %s", fs->dir, strerror(errno));
		backend_fs_close(fs);
		return CLAIMCHECK_EBACKEND;
	}
	struct stat st;
	if (stat(fs->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		backend_fs_err(errbuf, errlen, "claimcheck.fs.dir %s: not a directory", fs->dir);
		backend_fs_close(fs);
		return CLAIMCHECK_EBACKEND;
	}
	if (access(fs->dir, W_OK | X_OK) != 0) {
		backend_fs_err(errbuf, errlen, "claimcheck.fs.dir %s: not writable: %s", fs->dir, strerror(errno));
		backend_fs_close(fs);
		return CLAIMCHECK_EBACKEND;
	}
	nftw(fs->dir, backend_fs_sweep_one, 16, FTW_PHYS);
	*ctx = fs;
	return 0;
}

const struct claimcheck_backend_ops claimcheck_fs_ops = {
	.name = "fs",
	.put = backend_fs_put,
	.get = backend_fs_get,
	.del = backend_fs_del,
	.close = backend_fs_close,
};
