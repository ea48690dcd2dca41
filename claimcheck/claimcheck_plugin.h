/* claimcheck_plugin.h: the ABI of a Tern claim-check backend plug-in.
 *
 * A plug-in is a shared object that stores claim-check objects somewhere the
 * broker has no built-in backend for. This header is standalone (C99, no
 * other Tern header): compile a plug-in against it alone, e.g.
 *
 *     cc -shared -fPIC -o libmy-store.so my_store.c
 *
 * and point the broker at it:
 *
 *     claimcheck.backend=plugin
 *     claimcheck.plugin.path=/opt/tern/plugins/libmy-store.so
 *     claimcheck.plugin.config=<any string; handed to open() as is>
 *
 * The shared object exports one function, TERN_CLAIMCHECK_PLUGIN_SYMBOL:
 *
 *     const struct tern_claimcheck_plugin *tern_claimcheck_plugin_v1(void);
 *
 * returning a static descriptor whose abi_version is
 * TERN_CLAIMCHECK_PLUGIN_ABI_VERSION. The broker loads it with
 * dlopen(RTLD_NOW | RTLD_LOCAL), so every symbol it needs must resolve at
 * load time.
 *
 * Threads. open() and close() are called once each, from one thread. put,
 * get and del are called from the broker's claim-check worker threads,
 * concurrently (several calls on the same ctx at once) and may block as long
 * as a transfer takes; they never run on a network thread.
 *
 * Keys are NUL-terminated UTF-8 strings such as
 * "<topic>/<partition>/<64 hex digits of the value's SHA-256>"; they may
 * contain '/'. Values are arbitrary bytes (up to the broker's
 * claimcheck.max.value.bytes, tens of MiB).
 *
 * Errors. Functions return TERN_CLAIMCHECK_PLUGIN_OK or one of the negative
 * codes below, and may write a one-line, NUL-terminated reason into
 * errbuf[errlen] (it is logged: never put credentials in it).
 */
#ifndef TERN_CLAIMCHECK_PLUGIN_H
#define TERN_CLAIMCHECK_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERN_CLAIMCHECK_PLUGIN_ABI_VERSION 1u
#define TERN_CLAIMCHECK_PLUGIN_SYMBOL "tern_claimcheck_plugin_v1"

enum {
	TERN_CLAIMCHECK_PLUGIN_OK = 0,
	TERN_CLAIMCHECK_PLUGIN_ERROR = -1,    /* the store failed (the broker retries later) */
	TERN_CLAIMCHECK_PLUGIN_NOTFOUND = -2, /* get: no object under the key */
	TERN_CLAIMCHECK_PLUGIN_TOOBIG = -5,   /* get: the object is larger than max_len */
};

struct tern_claimcheck_plugin {
	/* TERN_CLAIMCHECK_PLUGIN_ABI_VERSION. */
	uint32_t abi_version;
	/* A short name for logs ("example", "my-store"). */
	const char *name;

	/* Opens the store described by `config` (the claimcheck.plugin.config
	 * string, "" when unset; borrowed for the call). Returns the plug-in's
	 * context (any non-NULL pointer), or NULL with a reason in errbuf. */
	void *(*open)(const char *config, char *errbuf, size_t errlen);

	/* Stores len bytes under key, replacing any previous object. Must not
	 * return OK before the object is durable and complete: the broker
	 * drops its own copy of the value once put returns. Inputs are
	 * borrowed for the call. */
	int (*put)(void *ctx, const char *key, const uint8_t *data, size_t len, char *errbuf, size_t errlen);

	/* Reads the whole object under key into a buffer the plug-in allocates:
	 * *data (may be NULL when *len is 0) and *len. The broker copies it and
	 * then hands it back through free_buffer. An object larger than max_len
	 * answers TOOBIG without reading it. */
	int (*get)(void *ctx, const char *key, size_t max_len, uint8_t **data, size_t *len, char *errbuf,
		   size_t errlen);

	/* Deletes the object under key. A missing key is success. */
	int (*del)(void *ctx, const char *key, char *errbuf, size_t errlen);

	/* Releases ctx; no call is in flight or follows. */
	void (*close)(void *ctx);

	/* Frees a buffer returned by get (called with NULL too). */
	void (*free_buffer)(void *ctx, uint8_t *data);
};

/* The one symbol a plug-in exports. */
typedef const struct tern_claimcheck_plugin *(*tern_claimcheck_plugin_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
