/* plugin: the adapter between the backend vtable and a third-party plug-in
 * loaded with dlopen (ABI: claimcheck/claimcheck_plugin.h).
 *
 * Everything a plug-in returns is checked before use: a missing symbol, a
 * wrong ABI version, a missing function or a failed open() is a clear error
 * at open, never a crash later. Results are mapped onto claimcheck's codes;
 * buffers from get are copied into malloc'd memory and handed back to the
 * plug-in's free_buffer, so callers free them with free() as usual.
 *
 * Ownership: the adapter context owns the dlopen handle and the plug-in's
 * context; close() calls the plug-in's close, then dlclose.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "claimcheck/backend_internal.h"
#include "claimcheck/claimcheck_plugin.h"
#include "broker/logger.h"

struct plugin_ctx {
	void *dl;                                /* dlopen handle (owned) */
	const struct tern_claimcheck_plugin *p;  /* descriptor, inside the .so */
	void *pctx;                              /* the plug-in's context (owned) */
};

static void plugin_err(char *errbuf, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void plugin_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (!errbuf || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

static const char *plugin_name(const struct plugin_ctx *c)
{
	return c->p->name ? c->p->name : "?";
}

/* Makes sure the plug-in left a terminated message, or writes a default. */
static void plugin_fix_msg(const struct plugin_ctx *c, const char *op, const char *key, char *errbuf, size_t errlen)
{
	if (!errbuf || errlen == 0)
		return;
	errbuf[errlen - 1] = '\0';
	if (!errbuf[0])
		plugin_err(errbuf, errlen, "plug-in %s: %s %s failed", plugin_name(c), op, key);
}

static int plugin_map(int rc)
{
	switch (rc) {
	case TERN_CLAIMCHECK_PLUGIN_OK:
		return 0;
	case TERN_CLAIMCHECK_PLUGIN_NOTFOUND:
		return CLAIMCHECK_ENOTFOUND;
	case TERN_CLAIMCHECK_PLUGIN_TOOBIG:
		return CLAIMCHECK_ETOOBIG;
	default:
		return CLAIMCHECK_EBACKEND;
	}
}

static int plugin_put(void *ctx, const char *key, const uint8_t *data, size_t len, char *errbuf, size_t errlen)
{
	struct plugin_ctx *c = ctx;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	int rc = plugin_map(c->p->put(c->pctx, key, data, len, errbuf, errlen));
	if (rc != 0)
		plugin_fix_msg(c, "put", key, errbuf, errlen);
	return rc == 0 ? 0 : CLAIMCHECK_EBACKEND;
}

static int plugin_get(void *ctx, const char *key, size_t max_len, uint8_t **data, size_t *len, char *errbuf,
		      size_t errlen)
{
	struct plugin_ctx *c = ctx;
	uint8_t *pdata = NULL;
	size_t plen = 0;
	*data = NULL;
	*len = 0;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	int rc = plugin_map(c->p->get(c->pctx, key, max_len, &pdata, &plen, errbuf, errlen));
	if (rc != 0) {
		if (pdata)
			c->p->free_buffer(c->pctx, pdata);
		plugin_fix_msg(c, "get", key, errbuf, errlen);
		return rc;
	}
	if (plen > max_len) {
		c->p->free_buffer(c->pctx, pdata);
		plugin_err(errbuf, errlen, "plug-in %s: get %s: object of %zu bytes is over the limit of %zu",
			   plugin_name(c), key, plen, max_len);
		return CLAIMCHECK_ETOOBIG;
	}
	if (!pdata && plen > 0) {
		plugin_err(errbuf, errlen, "plug-in %s: get %s: no data for %zu bytes", plugin_name(c), key, plen);
		return CLAIMCHECK_EBACKEND;
	}
	uint8_t *copy = malloc(plen ? plen : 1);
	if (!copy) {
		c->p->free_buffer(c->pctx, pdata);
		plugin_err(errbuf, errlen, "plug-in %s: get %s: out of memory for %zu bytes", plugin_name(c), key, plen);
		return CLAIMCHECK_EBACKEND;
	}
	if (plen)
		memcpy(copy, pdata, plen);
	c->p->free_buffer(c->pctx, pdata);
	*data = copy;
	*len = plen;
	return 0;
}

static int plugin_del(void *ctx, const char *key, char *errbuf, size_t errlen)
{
	struct plugin_ctx *c = ctx;
	if (errbuf && errlen)
		errbuf[0] = '\0';
	int rc = plugin_map(c->p->del(c->pctx, key, errbuf, errlen));
	if (rc == CLAIMCHECK_ENOTFOUND)
		return 0;
	if (rc != 0) {
		plugin_fix_msg(c, "delete", key, errbuf, errlen);
		return CLAIMCHECK_EBACKEND;
	}
	return 0;
}

static void plugin_close(void *ctx)
{
	struct plugin_ctx *c = ctx;
	if (!c)
		return;
	if (c->p && c->pctx)
		c->p->close(c->pctx);
	if (c->dl)
		dlclose(c->dl);
	free(c);
}

int claimcheck_plugin_open(const struct claimcheck_config *cfg, void **ctx, char *errbuf, size_t errlen)
{
	*ctx = NULL;
	const char *path = cfg->plugin_path;
	if (!path || !path[0]) {
		plugin_err(errbuf, errlen, "claimcheck.plugin.path: not set (needed by claimcheck.backend=plugin)");
		return CLAIMCHECK_EINVALID;
	}
	struct plugin_ctx *c = calloc(1, sizeof *c);
	if (!c) {
		plugin_err(errbuf, errlen, "claimcheck: out of memory");
		return CLAIMCHECK_ENOMEM;
	}
	dlerror();
	c->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!c->dl) {
		const char *why = dlerror();
		plugin_err(errbuf, errlen, "claimcheck.plugin.path %s: cannot load: %s", path, why ? why : "unknown error");
		plugin_close(c);
		return CLAIMCHECK_EINVALID;
	}
	dlerror();
	void *sym = dlsym(c->dl, TERN_CLAIMCHECK_PLUGIN_SYMBOL);
	if (!sym) {
		plugin_err(errbuf, errlen,
			   "claimcheck.plugin.path %s: no symbol %s (not a Tern claim-check plug-in, or built for "
			   "another ABI)",
			   path, TERN_CLAIMCHECK_PLUGIN_SYMBOL);
		plugin_close(c);
		return CLAIMCHECK_EINVALID;
	}
	tern_claimcheck_plugin_fn entry;
	/* POSIX: a function pointer and void * have the same representation. */
	memcpy(&entry, &sym, sizeof entry);
	const struct tern_claimcheck_plugin *p = entry();
	if (!p) {
		plugin_err(errbuf, errlen, "claimcheck.plugin.path %s: %s() returned no descriptor", path,
			   TERN_CLAIMCHECK_PLUGIN_SYMBOL);
		plugin_close(c);
		return CLAIMCHECK_EINVALID;
	}
	if (p->abi_version != TERN_CLAIMCHECK_PLUGIN_ABI_VERSION) {
		plugin_err(errbuf, errlen, "claimcheck.plugin.path %s: ABI version %u, this broker supports %u", path,
			   (unsigned)p->abi_version, (unsigned)TERN_CLAIMCHECK_PLUGIN_ABI_VERSION);
		plugin_close(c);
		return CLAIMCHECK_EINVALID;
	}
	const char *missing = !p->open	      ? "open"
			      : !p->put	      ? "put"
			      : !p->get	      ? "get"
			      : !p->del	      ? "del"
			      : !p->close       ? "close"
			      : !p->free_buffer ? "free_buffer"
						: NULL;
	if (missing) {
		plugin_err(errbuf, errlen, "claimcheck.plugin.path %s: the plug-in has no %s function", path, missing);
		plugin_close(c);
		return CLAIMCHECK_EINVALID;
	}
	c->p = p;
	char why[256] = "";
	c->pctx = p->open(cfg->plugin_config ? cfg->plugin_config : "", why, sizeof why);
	why[sizeof why - 1] = '\0';
	if (!c->pctx) {
		plugin_err(errbuf, errlen, "claimcheck plug-in %s (%s): open failed: %s", p->name ? p->name : "?",
			   path, why[0] ? why : "no reason given");
		plugin_close(c);
		return CLAIMCHECK_EBACKEND;
	}
	tlog(TLOG_INFO, "claimcheck", "plug-in %s loaded from %s", p->name ? p->name : "?", path);
	*ctx = c;
	return 0;
}

const struct claimcheck_backend_ops claimcheck_plugin_ops = {
	.name = "plugin",
	.put = plugin_put,
	.get = plugin_get,
	.del = plugin_del,
	.close = plugin_close,
};
