/* The backend vtable, private to claimcheck/. Every backend (fs, s3, the
 * plug-in adapter, test fakes) fills one and claimcheck_backend_open() /
 * claimcheck_backend_*() dispatch through it. */
#ifndef TERN_CLAIMCHECK_BACKEND_INTERNAL_H
#define TERN_CLAIMCHECK_BACKEND_INTERNAL_H

#include "claimcheck/claimcheck.h"

struct claimcheck_backend_ops {
	const char *name;
	/* Same contracts as claimcheck_backend_put/get/delete; ctx is the
	 * backend's own state. Called concurrently from worker threads. */
	int (*put)(void *ctx, const char *key, const uint8_t *data, size_t len, char *errbuf, size_t errlen);
	int (*get)(void *ctx, const char *key, size_t max_len, uint8_t **data, size_t *len, char *errbuf,
		   size_t errlen);
	int (*del)(void *ctx, const char *key, char *errbuf, size_t errlen);
	void (*close)(void *ctx);
};

struct claimcheck_backend {
	const struct claimcheck_backend_ops *ops;
	void *ctx;
};

/* Wraps ops + ctx into a backend (malloc'd; claimcheck_backend_close calls
 * ops->close(ctx) then frees it). NULL on OOM. */
struct claimcheck_backend *claimcheck_backend_wrap(const struct claimcheck_backend_ops *ops, void *ctx);

/* Constructors, one per backend file. Return 0 and *ctx, or a negative
 * error with a message. */
int claimcheck_fs_open(const struct claimcheck_config *cfg, void **ctx, char *errbuf, size_t errlen);
extern const struct claimcheck_backend_ops claimcheck_fs_ops;
int claimcheck_s3_open(const struct claimcheck_config *cfg, void **ctx, char *errbuf, size_t errlen);
extern const struct claimcheck_backend_ops claimcheck_s3_ops;
int claimcheck_plugin_open(const struct claimcheck_config *cfg, void **ctx, char *errbuf, size_t errlen);
extern const struct claimcheck_backend_ops claimcheck_plugin_ops;

#endif
