/* claimcheck: large record values moved to object storage on the partition
 * leader's produce path, and handed back whole to consumers.
 *
 * This header is the module's only door. Three layers:
 *
 *  1. Backends (blocking): an object store with put/get/delete by key - `fs`
 *     (a directory), `s3` (libs3), or a plug-in loaded with dlopen
 *     (claimcheck/claimcheck_plugin.h is the plug-in ABI). Called only on
 *     worker threads, possibly concurrently.
 *  2. Rewriting (blocking, pure apart from the backend): a produced batch
 *     becomes a batch whose large values are replaced by references; a stored
 *     batch becomes the batch the producer sent. Also on worker threads.
 *  3. The stage (asynchronous): a worker pool that runs layers 1-2 and
 *     completes each job back on the event loop that asked. The network loop
 *     never blocks on a transfer, a hash or a (de)compression of a large batch.
 *
 * References. A record whose value is at least the topic's
 * claimcheck.threshold.bytes is stored under the key
 *     <topic>/<partition>/<sha256 of the value, 64 hex digits>
 * and replaced in the batch by an EMPTY value plus three headers appended
 * after the record's own headers (whose order is kept):
 *     claimcheck.key     the object key
 *     claimcheck.length  the value's length in bytes, decimal
 *     claimcheck.sha256  the value's SHA-256, 64 lowercase hex digits
 * The batch keeps its codec (re-compressed), its offsets delta, timestamps,
 * producer fields; its CRC is recomputed. Rehydration removes exactly those
 * three headers and restores the value after checking its length and SHA-256:
 * a mismatch is an error, never silently wrong bytes.
 */
#ifndef TERN_CLAIMCHECK_CLAIMCHECK_H
#define TERN_CLAIMCHECK_CLAIMCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define CLAIMCHECK_HEADER_KEY "claimcheck.key"
#define CLAIMCHECK_HEADER_LENGTH "claimcheck.length"
#define CLAIMCHECK_HEADER_SHA256 "claimcheck.sha256"

/* Errors (negative): */
enum {
	CLAIMCHECK_OK = 0,
	CLAIMCHECK_EBACKEND = -1,  /* the store failed (retriable: KAFKA_STORAGE_ERROR) */
	CLAIMCHECK_ENOTFOUND = -2, /* an object is missing */
	CLAIMCHECK_ECORRUPT = -3,  /* an object's length or SHA-256 does not match */
	CLAIMCHECK_EINVALID = -4,  /* the batch cannot be decoded or re-encoded */
	CLAIMCHECK_ETOOBIG = -5,   /* a value above claimcheck.max.value.bytes */
	CLAIMCHECK_ENOMEM = -6,
};

/* ---- 1. Backends ------------------------------------------------------- */

struct claimcheck_backend;

/* Broker-level configuration (server.properties `claimcheck.*`). Strings are
 * borrowed for the duration of claimcheck_backend_open(). */
struct claimcheck_config {
	const char *backend;       /* "fs" | "s3" | "plugin" */
	const char *fs_dir;        /* fs: the directory (created if missing) */
	const char *s3_endpoint;   /* s3: "host:port" */
	const char *s3_bucket;     /* s3: an existing bucket */
	const char *s3_access_key; /* s3 */
	const char *s3_secret_key; /* s3: never logged */
	bool s3_https;             /* s3: false = plain HTTP */
	bool s3_virtual_host;      /* s3: false = path-style URIs */
	const char *plugin_path;   /* plugin: the shared object to dlopen */
	const char *plugin_config; /* plugin: an opaque string given to its open() */
	int workers;               /* stage worker threads (>= 1) */
};

/* Opens a backend. Returns 0, or a negative error with a message in errbuf
 * (never containing the secret key). */
int claimcheck_backend_open(const struct claimcheck_config *cfg, struct claimcheck_backend **out, char *errbuf,
			    size_t errlen);
void claimcheck_backend_close(struct claimcheck_backend *b);
const char *claimcheck_backend_name(const struct claimcheck_backend *b);

/* Blocking object operations (worker threads only). put and delete return 0
 * or CLAIMCHECK_EBACKEND; delete of a missing key succeeds. get returns 0
 * with a malloc'd *data (caller frees), CLAIMCHECK_ENOTFOUND,
 * CLAIMCHECK_ETOOBIG (object larger than max_len) or CLAIMCHECK_EBACKEND.
 * errbuf gets a one-line reason. */
int claimcheck_backend_put(struct claimcheck_backend *b, const char *key, const uint8_t *data, size_t len,
			   char *errbuf, size_t errlen);
int claimcheck_backend_get(struct claimcheck_backend *b, const char *key, size_t max_len, uint8_t **data,
			   size_t *len, char *errbuf, size_t errlen);
int claimcheck_backend_delete(struct claimcheck_backend *b, const char *key, char *errbuf, size_t errlen);

/* ---- 2. Rewriting (blocking) ------------------------------------------- */

struct claimcheck_policy {
	int64_t threshold_bytes; /* claimcheck.threshold.bytes: values >= this move */
	int64_t max_value_bytes; /* claimcheck.max.value.bytes: larger ones are refused */
};

/* Produce side. `batch` is one validated magic-2 batch (borrowed). Every
 * value >= threshold is hashed and put to the backend under
 * "<topic>/<partition>/<sha256>"; the batch is rebuilt with references and
 * the same codec. Returns 0 with *out a malloc'd new batch (caller frees), or
 * 0 with *out NULL when no value qualified (append the original), or a
 * negative error (nothing was appended; objects already written may remain -
 * content-addressed, so a retry rewrites the same keys). */
int claimcheck_rewrite_produce(struct claimcheck_backend *b, const char *topic, int32_t partition,
			       const struct claimcheck_policy *policy, const uint8_t *batch, size_t len,
			       uint8_t **out, size_t *out_len, char *errbuf, size_t errlen);

/* Fetch side. `data` holds whole batches back to back as the log stores them
 * (borrowed). Each batch with references is rebuilt with the values fetched
 * back (length and SHA-256 checked) and the reference headers removed; other
 * batches are copied unchanged. Returns 0 with *out malloc'd (caller frees),
 * or a negative error (CLAIMCHECK_ECORRUPT for a mismatch). */
int claimcheck_rehydrate(struct claimcheck_backend *b, const uint8_t *data, size_t len, size_t max_value_bytes,
			 uint8_t **out, size_t *out_len, char *errbuf, size_t errlen);

/* Calls fn(arg, key) for every reference in the whole batches of `data`
 * (used for object lifecycle: retention and topic deletion). Returns the
 * number of references, or a negative error for undecodable data. */
int claimcheck_scan_refs(const uint8_t *data, size_t len, void (*fn)(void *arg, const char *key), void *arg);

/* ---- 3. The stage (asynchronous) ---------------------------------------- */

struct claimcheck_stage;

/* Starts `workers` threads; completions run on `base`'s loop thread (the
 * caller must have called evthread_use_pthreads()). Takes ownership of the
 * backend. */
struct claimcheck_stage *claimcheck_stage_new(struct event_base *base, struct claimcheck_backend *backend,
					      int workers);
/* Finishes running jobs, cancels queued ones (their callbacks run with
 * CLAIMCHECK_EBACKEND before this returns), joins the threads, closes the
 * backend. */
void claimcheck_stage_free(struct claimcheck_stage *s);
struct claimcheck_backend *claimcheck_stage_backend(struct claimcheck_stage *s);

/* Called on the loop thread with the job's result. On success *out (maybe
 * NULL, see claimcheck_rewrite_produce) belongs to the callback. errmsg is
 * valid during the call only. */
typedef void (*claimcheck_done_cb)(void *arg, int err, const char *errmsg, uint8_t *out, size_t out_len);

/* Asynchronous forms of layer 2 and of delete. Inputs are borrowed until the
 * callback runs (strings are copied). */
void claimcheck_stage_produce(struct claimcheck_stage *s, const char *topic, int32_t partition,
			      const struct claimcheck_policy *policy, const uint8_t *batch, size_t len,
			      claimcheck_done_cb cb, void *arg);
void claimcheck_stage_fetch(struct claimcheck_stage *s, const uint8_t *data, size_t len, size_t max_value_bytes,
			    claimcheck_done_cb cb, void *arg);
/* cb may be NULL (fire and forget; failures are logged). */
void claimcheck_stage_delete(struct claimcheck_stage *s, const char *key, claimcheck_done_cb cb, void *arg);

/* ---- References held by a partition's log -------------------------------- */

/* A count of log records referencing each key, per partition, rebuilt from
 * the log at open; an object is deleted when its count drops to zero. */
struct claimcheck_refs;
struct claimcheck_refs *claimcheck_refs_new(void);
void claimcheck_refs_free(struct claimcheck_refs *r);
/* Adds the references of `data` (whole batches). */
void claimcheck_refs_add(struct claimcheck_refs *r, const uint8_t *data, size_t len);
/* Removes the references of `data`; calls gone(arg, key) for each key whose
 * count reached zero. */
void claimcheck_refs_remove(struct claimcheck_refs *r, const uint8_t *data, size_t len,
			    void (*gone)(void *arg, const char *key), void *arg);
/* How many records reference `key` now (0 when none). */
int64_t claimcheck_refs_count(struct claimcheck_refs *r, const char *key);
/* Calls fn for every key still referenced (topic deletion). */
void claimcheck_refs_foreach(struct claimcheck_refs *r, void (*fn)(void *arg, const char *key), void *arg);

#endif
