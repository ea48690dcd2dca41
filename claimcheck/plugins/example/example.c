/* example: a claim-check backend plug-in, built as
 * plugins/libtern-claimcheck-example.so. It shows the plug-in ABI
 * (claimcheck/claimcheck_plugin.h) on a real, small store.
 *
 * claimcheck.plugin.config is a directory (created if missing). The object
 * under key K is the file <dir>/objects/K.blob, whose content is a 16-byte
 * header - the magic "TERNEX01" and the payload length as a big-endian
 * 64-bit number - followed by the payload. A get checks both, so a truncated
 * or foreign file is an error rather than wrong bytes. Writes go to a
 * temporary file that is fsynced and renamed into place.
 *
 * Keys: relative paths of ordinary components (no leading '/', no empty,
 * "." or ".." component).
 *
 * Only the plug-in header is included: this file is what a third party
 * would write.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "claimcheck/claimcheck_plugin.h"

#define EXAMPLE_MAGIC "TERNEX01"
#define EXAMPLE_HEADER 16

struct example_store {
	char root[PATH_MAX]; /* "<dir>/objects" */
};

static void example_err(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void example_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (!errbuf || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static bool example_key_ok(const char *key)
{
	if (!key || !key[0] || key[0] == '/')
		return false;
	for (const char *p = key;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* mkdir -p of every directory above the last component of path. */
static int example_mkdirs(char *path)
{
	for (char *p = path + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		int rc = mkdir(path, 0755);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	return 0;
}

static bool example_path(const struct example_store *st, const char *key, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s.blob", st->root, key);
	return n > 0 && (size_t)n < outlen;
}

static void *example_open(const char *config, char *errbuf, size_t errlen)
{
	if (!config || !config[0]) {
		example_err(errbuf, errlen, "example plug-in: claimcheck.plugin.config must name a directory");
		return NULL;
	}
	struct example_store *st = calloc(1, sizeof *st);
	if (!st) {
		example_err(errbuf, errlen, "example plug-in: out of memory");
		return NULL;
	}
	int n = snprintf(st->root, sizeof st->root, "%s/objects", config);
	char probe[PATH_MAX + 4];
	snprintf(probe, sizeof probe, "%s/x", st->root);
	if (n < 0 || (size_t)n >= sizeof st->root - 2 || example_mkdirs(probe) != 0) {
		example_err(errbuf, errlen, "example plug-in: cannot create %s: %s", st->root,
			    n < 0 || (size_t)n >= sizeof st->root - 2 ? "path too long" : strerror(errno));
		free(st);
		return NULL;
	}
	return st;
}

static int example_put(void *ctx, const char *key, const uint8_t *data, size_t len, char *errbuf, size_t errlen)
{
	struct example_store *st = ctx;
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	if (!example_key_ok(key) || !example_path(st, key, path, sizeof path)) {
		example_err(errbuf, errlen, "example put: bad key \"%s\"", key ? key : "");
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	if (example_mkdirs(path) != 0) {
		example_err(errbuf, errlen, "example put %s: mkdir: %s", key, strerror(errno));
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		example_err(errbuf, errlen, "example put %s: create: %s", key, strerror(errno));
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	uint8_t header[EXAMPLE_HEADER];
	memcpy(header, EXAMPLE_MAGIC, 8);
	for (int i = 0; i < 8; i++)
		header[8 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	const uint8_t *parts[2] = {header, data};
	size_t sizes[2] = {sizeof header, len};
	for (int k = 0; k < 2; k++) {
		const uint8_t *p = parts[k];
		size_t left = sizes[k];
		while (left > 0) {
			ssize_t w = write(fd, p, left);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				goto fail;
			p += w;
			left -= (size_t)w;
		}
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return TERN_CLAIMCHECK_PLUGIN_OK;
fail:
	example_err(errbuf, errlen, "example put %s: %s", key, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return TERN_CLAIMCHECK_PLUGIN_ERROR;
}

static int example_get(void *ctx, const char *key, size_t max_len, uint8_t **data, size_t *len, char *errbuf,
		       size_t errlen)
{
	struct example_store *st = ctx;
	char path[PATH_MAX];
	*data = NULL;
	*len = 0;
	if (!example_key_ok(key) || !example_path(st, key, path, sizeof path)) {
		example_err(errbuf, errlen, "example get: bad key \"%s\"", key ? key : "");
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	FILE *f = fopen(path, "rbe");
	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return TERN_CLAIMCHECK_PLUGIN_NOTFOUND;
		example_err(errbuf, errlen, "example get %s: %s", key, strerror(errno));
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	uint8_t header[EXAMPLE_HEADER];
	struct stat sb;
	if (fread(header, 1, sizeof header, f) != sizeof header || memcmp(header, EXAMPLE_MAGIC, 8) != 0 ||
	    fstat(fileno(f), &sb) != 0) {
		example_err(errbuf, errlen, "example get %s: not an example object", key);
		fclose(f);
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	uint64_t n = 0;
	for (int i = 0; i < 8; i++)
		n = (n << 8) | header[8 + i];
	if (n > (uint64_t)max_len) {
		fclose(f);
		example_err(errbuf, errlen, "example get %s: %llu bytes, over %zu", key, (unsigned long long)n, max_len);
		return TERN_CLAIMCHECK_PLUGIN_TOOBIG;
	}
	if ((uint64_t)sb.st_size != n + EXAMPLE_HEADER) {
		fclose(f);
		example_err(errbuf, errlen, "example get %s: file holds %lld bytes, header says %llu", key,
			    (long long)sb.st_size - EXAMPLE_HEADER, (unsigned long long)n);
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	uint8_t *buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		example_err(errbuf, errlen, "example get %s: %s", key, buf ? "short read" : "out of memory");
		free(buf);
		fclose(f);
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	fclose(f);
	*data = buf;
	*len = (size_t)n;
	return TERN_CLAIMCHECK_PLUGIN_OK;
}

static int example_del(void *ctx, const char *key, char *errbuf, size_t errlen)
{
	struct example_store *st = ctx;
	char path[PATH_MAX];
	if (!example_key_ok(key) || !example_path(st, key, path, sizeof path)) {
		example_err(errbuf, errlen, "example delete: bad key \"%s\"", key ? key : "");
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR) {
		example_err(errbuf, errlen, "example delete %s: %s", key, strerror(errno));
		return TERN_CLAIMCHECK_PLUGIN_ERROR;
	}
	return TERN_CLAIMCHECK_PLUGIN_OK;
}

static void example_close(void *ctx)
{
	free(ctx);
}

static void example_free_buffer(void *ctx, uint8_t *data)
{
	(void)ctx;
	free(data);
}

static const struct tern_claimcheck_plugin example_plugin = {
	.abi_version = TERN_CLAIMCHECK_PLUGIN_ABI_VERSION,
	.name = "example",
	.open = example_open,
	.put = example_put,
	.get = example_get,
	.del = example_del,
	.close = example_close,
	.free_buffer = example_free_buffer,
};

const struct tern_claimcheck_plugin *tern_claimcheck_plugin_v1(void)
{
	return &example_plugin;
}
