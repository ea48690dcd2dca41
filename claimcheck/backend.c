/* backend: opens the configured object store and dispatches the blocking
 * object operations through its vtable (backend_internal.h).
 *
 * Ownership: claimcheck_backend_wrap() takes ctx; claimcheck_backend_close()
 * hands it back to ops->close and frees the wrapper. Keys and data passed to
 * put/get/delete are borrowed for the call; get's *data is malloc'd and owned
 * by the caller.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claimcheck/backend_internal.h"

static void backend_err(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void backend_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (!errbuf || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* errbuf always ends up a string, even when a backend forgot to write one. */
static void backend_err_default(int rc, const char *op, const char *key, char *errbuf, size_t errlen)
{
	if (rc == 0 || !errbuf || errlen == 0 || errbuf[0])
		return;
	const char *what = rc == CLAIMCHECK_ENOTFOUND ? "not found"
			   : rc == CLAIMCHECK_ETOOBIG ? "object too large"
						      : "backend error";
	backend_err(errbuf, errlen, "%s %s: %s", op, key ? key : "(null)", what);
}

struct claimcheck_backend *claimcheck_backend_wrap(const struct claimcheck_backend_ops *ops, void *ctx)
{
	struct claimcheck_backend *b = malloc(sizeof *b);
	if (!b)
		return NULL;
	b->ops = ops;
	b->ctx = ctx;
	return b;
}

int claimcheck_backend_open(const struct claimcheck_config *cfg, struct claimcheck_backend **out, char *errbuf,
			    size_t errlen)
{
	if (errbuf && errlen)
		errbuf[0] = '\0';
	*out = NULL;
	if (!cfg) {
		backend_err(errbuf, errlen, "claimcheck: no configuration");
		return CLAIMCHECK_EINVALID;
	}
	const char *kind = cfg->backend && cfg->backend[0] ? cfg->backend : "fs";
	const struct claimcheck_backend_ops *ops;
	int (*open_fn)(const struct claimcheck_config *, void **, char *, size_t);
	if (strcmp(kind, "fs") == 0) {
		ops = &claimcheck_fs_ops;
		open_fn = claimcheck_fs_open;
	} else if (strcmp(kind, "s3") == 0) {
		ops = &claimcheck_s3_ops;
		open_fn = claimcheck_s3_open;
	} else if (strcmp(kind, "plugin") == 0) {
		ops = &claimcheck_plugin_ops;
		open_fn = claimcheck_plugin_open;
	} else {
		backend_err(errbuf, errlen, "claimcheck.backend: unknown backend \"%s\" (fs, s3 or plugin)", kind);
		return CLAIMCHECK_EINVALID;
	}

	void *ctx = NULL;
	int rc = open_fn(cfg, &ctx, errbuf, errlen);
	if (rc != 0) {
		if (errbuf && errlen && !errbuf[0])
			backend_err(errbuf, errlen, "claimcheck: cannot open the %s backend", kind);
		return rc < 0 ? rc : CLAIMCHECK_EBACKEND;
	}
	struct claimcheck_backend *b = claimcheck_backend_wrap(ops, ctx);
	if (!b) {
		ops->close(ctx);
		backend_err(errbuf, errlen, "claimcheck: out of memory");
		return CLAIMCHECK_ENOMEM;
	}
	*out = b;
	return 0;
}

void claimcheck_backend_close(struct claimcheck_backend *b)
{
	if (!b)
		return;
	if (b->ops && b->ops->close)
		b->ops->close(b->ctx);
	free(b);
}

const char *claimcheck_backend_name(const struct claimcheck_backend *b)
{
	return b && b->ops && b->ops->name ? b->ops->name : "?";
}

int claimcheck_backend_put(struct claimcheck_backend *b, const char *key, const uint8_t *data, size_t len,
			   char *errbuf, size_t errlen)
{
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!key || (!data && len)) {
		backend_err(errbuf, errlen, "put: invalid arguments");
		return CLAIMCHECK_EBACKEND;
	}
	int rc = b->ops->put(b->ctx, key, data, len, errbuf, errlen);
	if (rc != 0)
		rc = CLAIMCHECK_EBACKEND;
	backend_err_default(rc, "put", key, errbuf, errlen);
	return rc;
}

int claimcheck_backend_get(struct claimcheck_backend *b, const char *key, size_t max_len, uint8_t **data,
			   size_t *len, char *errbuf, size_t errlen)
{
	if (errbuf && errlen)
		errbuf[0] = '\0';
	*data = NULL;
	*len = 0;
	if (!key) {
		backend_err(errbuf, errlen, "get: invalid arguments");
		return CLAIMCHECK_EBACKEND;
	}
	int rc = b->ops->get(b->ctx, key, max_len, data, len, errbuf, errlen);
	if (rc == 0 && *len > max_len) {
		/* A backend that ignored the bound: never hand out more. */
		free(*data);
		*data = NULL;
		*len = 0;
		rc = CLAIMCHECK_ETOOBIG;
		backend_err(errbuf, errlen, "get %s: object larger than %zu bytes", key, max_len);
	}
	if (rc == 0 && !*data) {
		/* Callers may rely on a non-NULL buffer, even for 0 bytes. */
		*data = malloc(1);
		if (!*data) {
			rc = CLAIMCHECK_EBACKEND;
			backend_err(errbuf, errlen, "get %s: out of memory", key);
		}
	}
	if (rc != 0) {
		if (rc != CLAIMCHECK_ENOTFOUND && rc != CLAIMCHECK_ETOOBIG)
			rc = CLAIMCHECK_EBACKEND;
		if (*data) {
			free(*data);
			*data = NULL;
		}
		*len = 0;
	}
	backend_err_default(rc, "get", key, errbuf, errlen);
	return rc;
}

int claimcheck_backend_delete(struct claimcheck_backend *b, const char *key, char *errbuf, size_t errlen)
{
	if (errbuf && errlen)
		errbuf[0] = '\0';
	if (!key) {
		backend_err(errbuf, errlen, "delete: invalid arguments");
		return CLAIMCHECK_EBACKEND;
	}
	int rc = b->ops->del(b->ctx, key, errbuf, errlen);
	if (rc == CLAIMCHECK_ENOTFOUND)
		rc = 0; /* a missing key is already deleted */
	else if (rc != 0)
		rc = CLAIMCHECK_EBACKEND;
	if (rc == 0 && errbuf && errlen)
		errbuf[0] = '\0';
	backend_err_default(rc, "delete", key, errbuf, errlen);
	return rc;
}
