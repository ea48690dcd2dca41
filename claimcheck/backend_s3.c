/* backend_s3: the `s3` claim-check backend, an S3 bucket reached with libs3.
 *
 * libs3 2.0 signs with AWS Signature V2 and sends one PUT per object (length
 * known up front), which is all a claim-check needs: objects are written
 * once, read whole, and deleted. Only object requests are made (no bucket
 * create/list): the bucket must exist.
 *
 * Every request is a blocking libs3 call with a NULL request context, made on
 * the calling worker thread; libs3 allows any number of threads to do that at
 * once. Retryable statuses (connection refused, timeouts, SlowDown, ...) are
 * tried again a few times with a short backoff, then reported as
 * CLAIMCHECK_EBACKEND.
 *
 * The secret key lives only in this backend's context and in libs3's
 * signing; error messages name the operation, the bucket, the key and the
 * libs3 status, never the secret (a server message that happens to contain
 * it is redacted).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libs3.h>

#include "claimcheck/backend_internal.h"

/* Attempts per request (the first plus retries) and the backoff before each
 * retry, in milliseconds. A retry is made only while the request has taken
 * less than CLAIMCHECK_S3_RETRY_BUDGET_MS: a refused connection is retried,
 * but a server that accepts and then stalls (libs3 gives up after 15 s below
 * 1 KiB/s) is not waited for three times over. */
#define CLAIMCHECK_S3_ATTEMPTS 3
#define CLAIMCHECK_S3_RETRY_BUDGET_MS 3000
static const int claimcheck_s3_backoff_ms[CLAIMCHECK_S3_ATTEMPTS] = {0, 50, 200};

/* The backend's state; every string is owned (copied at open). Read-only
 * after open, so worker threads share it without locking. */
struct claimcheck_s3 {
	char *endpoint;
	char *bucket;
	char *access_key;
	char *secret_key;
	S3BucketContext ctx; /* points into the strings above */
};

/* ---- libs3 initialisation ------------------------------------------------ */

/* S3_initialize is not thread-safe and may run only once at a time: it runs
 * exactly once per process, on the first open, and libs3 stays initialised
 * until exit (it holds only a pool of idle curl handles). */
static pthread_once_t claimcheck_s3_once = PTHREAD_ONCE_INIT;
static S3Status claimcheck_s3_init_status = S3StatusOK;

static void claimcheck_s3_init_once(void)
{
	claimcheck_s3_init_status = S3_initialize("tern", S3_INIT_ALL, NULL);
}

/* ---- helpers -------------------------------------------------------------- */

static void claimcheck_s3_free(struct claimcheck_s3 *s)
{
	if (!s)
		return;
	free(s->endpoint);
	free(s->bucket);
	free(s->access_key);
	if (s->secret_key) {
		/* Do not leave the secret behind in freed memory. */
		volatile char *p = s->secret_key;
		while (*p)
			*p++ = '\0';
		free(s->secret_key);
	}
	free(s);
}

static int64_t claimcheck_s3_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True when a request that failed with `status` may be tried again. */
static bool claimcheck_s3_should_retry(S3Status status, int attempt, int64_t started_ms)
{
	return S3_status_is_retryable(status) && attempt + 1 < CLAIMCHECK_S3_ATTEMPTS &&
	       claimcheck_s3_now_ms() - started_ms < CLAIMCHECK_S3_RETRY_BUDGET_MS;
}

static void claimcheck_s3_sleep_ms(int ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

/* Replaces every occurrence of `secret` in `buf` by "***" (in place; the
 * result is never longer than the input). */
static void claimcheck_s3_redact(char *buf, const char *secret)
{
	size_t sl = secret ? strlen(secret) : 0;
	if (sl == 0)
		return;
	char *p;
	while ((p = strstr(buf, secret)) != NULL) {
		size_t rest = strlen(p + sl);
		size_t put = sl < 3 ? sl : 3;
		memset(p, '*', put);
		memmove(p + put, p + sl, rest + 1);
	}
}

/* Collapses control characters (a server message may hold newlines) so the
 * reason stays one line. */
static void claimcheck_s3_one_line(char *buf)
{
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* Formats "s3 <op> <bucket>/<key>: <status>[: <server message>]" into
 * errbuf, without the secret. */
static void claimcheck_s3_error(const struct claimcheck_s3 *s, char *errbuf, size_t errlen, const char *op,
				const char *key, S3Status status, const char *server_msg, const char *extra)
{
	if (!errbuf || errlen == 0)
		return;
	snprintf(errbuf, errlen, "s3 %s %s/%s at %s: %s%s%s%s%s", op, s->bucket, key, s->endpoint,
		 S3_get_status_name(status), server_msg && *server_msg ? ": " : "", server_msg ? server_msg : "",
		 extra ? " " : "", extra ? extra : "");
	claimcheck_s3_one_line(errbuf);
	claimcheck_s3_redact(errbuf, s->secret_key);
}

/* The final status and the server's error message of one request. */
struct claimcheck_s3_result {
	S3Status status;
	char message[256];
};

static void claimcheck_s3_result_set(struct claimcheck_s3_result *r, S3Status status, const S3ErrorDetails *details)
{
	r->status = status;
	r->message[0] = '\0';
	if (status != S3StatusOK && details && details->message)
		snprintf(r->message, sizeof r->message, "%s", details->message);
}

/* ---- open / close --------------------------------------------------------- */

static char *claimcheck_s3_strdup(const char *v)
{
	return v ? strdup(v) : NULL;
}

int claimcheck_s3_open(const struct claimcheck_config *cfg, void **ctx, char *errbuf, size_t errlen)
{
	*ctx = NULL;
	const char *missing = NULL;
	if (!cfg->s3_endpoint || !*cfg->s3_endpoint)
		missing = "claimcheck.s3.endpoint";
	else if (!cfg->s3_bucket || !*cfg->s3_bucket)
		missing = "claimcheck.s3.bucket";
	else if (!cfg->s3_access_key || !*cfg->s3_access_key)
		missing = "claimcheck.s3.access.key";
	else if (!cfg->s3_secret_key || !*cfg->s3_secret_key)
		missing = "claimcheck.s3.secret.key";
	if (missing) {
		snprintf(errbuf, errlen, "s3 backend: %s is not set", missing);
		return CLAIMCHECK_EINVALID;
	}
	if (strchr(cfg->s3_endpoint, '/')) {
		snprintf(errbuf, errlen, "s3 backend: endpoint '%s' must be host:port (no scheme or path)",
			 cfg->s3_endpoint);
		return CLAIMCHECK_EINVALID;
	}
	S3UriStyle style = cfg->s3_virtual_host ? S3UriStyleVirtualHost : S3UriStylePath;
	S3Status st = S3_validate_bucket_name(cfg->s3_bucket, style);
	if (st != S3StatusOK) {
		snprintf(errbuf, errlen, "s3 backend: bucket name '%s' is invalid: %s", cfg->s3_bucket,
			 S3_get_status_name(st));
		return CLAIMCHECK_EINVALID;
	}

	pthread_once(&claimcheck_s3_once, claimcheck_s3_init_once);
	if (claimcheck_s3_init_status != S3StatusOK) {
		snprintf(errbuf, errlen, "s3 backend: libs3 initialisation failed: %s",
			 S3_get_status_name(claimcheck_s3_init_status));
		return CLAIMCHECK_EBACKEND;
	}

	struct claimcheck_s3 *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(errbuf, errlen, "s3 backend: out of memory");
		return CLAIMCHECK_ENOMEM;
	}
	s->endpoint = claimcheck_s3_strdup(cfg->s3_endpoint);
	s->bucket = claimcheck_s3_strdup(cfg->s3_bucket);
	s->access_key = claimcheck_s3_strdup(cfg->s3_access_key);
	s->secret_key = claimcheck_s3_strdup(cfg->s3_secret_key);
	if (!s->endpoint || !s->bucket || !s->access_key || !s->secret_key) {
		claimcheck_s3_free(s);
		snprintf(errbuf, errlen, "s3 backend: out of memory");
		return CLAIMCHECK_ENOMEM;
	}
	s->ctx.hostName = s->endpoint;
	s->ctx.bucketName = s->bucket;
	s->ctx.protocol = cfg->s3_https ? S3ProtocolHTTPS : S3ProtocolHTTP;
	s->ctx.uriStyle = style;
	s->ctx.accessKeyId = s->access_key;
	s->ctx.secretAccessKey = s->secret_key;
	*ctx = s;
	return CLAIMCHECK_OK;
}

static void claimcheck_s3_close(void *ctx)
{
	claimcheck_s3_free(ctx);
}

/* ---- put ------------------------------------------------------------------ */

struct claimcheck_s3_put_state {
	const uint8_t *data; /* borrowed */
	size_t len;
	size_t off;
	struct claimcheck_s3_result result;
};

static S3Status claimcheck_s3_put_props(const S3ResponseProperties *props, void *arg)
{
	(void)props;
	(void)arg;
	return S3StatusOK;
}

static void claimcheck_s3_put_done(S3Status status, const S3ErrorDetails *details, void *arg)
{
	struct claimcheck_s3_put_state *st = arg;
	claimcheck_s3_result_set(&st->result, status, details);
}

static int claimcheck_s3_put_data(int size, char *buf, void *arg)
{
	struct claimcheck_s3_put_state *st = arg;
	size_t left = st->len - st->off;
	size_t n = size > 0 ? (size_t)size : 0;
	if (n > left)
		n = left;
	if (n > 0) {
		memcpy(buf, st->data + st->off, n);
		st->off += n;
	}
	return (int)n;
}

static int claimcheck_s3_put(void *ctx, const char *key, const uint8_t *data, size_t len, char *errbuf,
			     size_t errlen)
{
	struct claimcheck_s3 *s = ctx;
	static const S3PutObjectHandler handler = {
		.responseHandler = {.propertiesCallback = claimcheck_s3_put_props,
				    .completeCallback = claimcheck_s3_put_done},
		.putObjectDataCallback = claimcheck_s3_put_data,
	};
	struct claimcheck_s3_put_state st;
	int64_t started = claimcheck_s3_now_ms();
	for (int attempt = 0; attempt < CLAIMCHECK_S3_ATTEMPTS; attempt++) {
		claimcheck_s3_sleep_ms(claimcheck_s3_backoff_ms[attempt]);
		memset(&st, 0, sizeof st);
		st.data = data;
		st.len = len;
		st.result.status = S3StatusInternalError;
		S3_put_object(&s->ctx, key, (uint64_t)len, NULL, NULL, &handler, &st);
		if (st.result.status == S3StatusOK)
			return CLAIMCHECK_OK;
		if (!claimcheck_s3_should_retry(st.result.status, attempt, started))
			break;
	}
	char extra[64];
	snprintf(extra, sizeof extra, "(%zu bytes)", len);
	claimcheck_s3_error(s, errbuf, errlen, "put", key, st.result.status, st.result.message, extra);
	return CLAIMCHECK_EBACKEND;
}

/* ---- get ------------------------------------------------------------------ */

struct claimcheck_s3_get_state {
	size_t max_len;
	uint8_t *buf; /* owned until handed to the caller */
	size_t cap;
	size_t len;
	uint64_t content_length; /* from the response headers (0: not given) */
	bool too_big;
	bool nomem;
	struct claimcheck_s3_result result;
};

static bool claimcheck_s3_get_reserve(struct claimcheck_s3_get_state *st, size_t want)
{
	if (want <= st->cap)
		return true;
	size_t cap = st->cap ? st->cap : 64 * 1024;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (cap > st->max_len && want <= st->max_len)
		cap = st->max_len;
	uint8_t *p = realloc(st->buf, cap ? cap : 1);
	if (!p)
		return false;
	st->buf = p;
	st->cap = cap;
	return true;
}

static S3Status claimcheck_s3_get_props(const S3ResponseProperties *props, void *arg)
{
	struct claimcheck_s3_get_state *st = arg;
	st->content_length = props->contentLength;
	if (props->contentLength > (uint64_t)st->max_len) {
		st->too_big = true;
		return S3StatusAbortedByCallback;
	}
	if (props->contentLength > 0 && !claimcheck_s3_get_reserve(st, (size_t)props->contentLength)) {
		st->nomem = true;
		return S3StatusOutOfMemory;
	}
	return S3StatusOK;
}

static S3Status claimcheck_s3_get_data(int size, const char *buf, void *arg)
{
	struct claimcheck_s3_get_state *st = arg;
	size_t n = size > 0 ? (size_t)size : 0;
	if (n > st->max_len - st->len) {
		st->too_big = true;
		return S3StatusAbortedByCallback;
	}
	if (!claimcheck_s3_get_reserve(st, st->len + n)) {
		st->nomem = true;
		return S3StatusOutOfMemory;
	}
	memcpy(st->buf + st->len, buf, n);
	st->len += n;
	return S3StatusOK;
}

static void claimcheck_s3_get_done(S3Status status, const S3ErrorDetails *details, void *arg)
{
	struct claimcheck_s3_get_state *st = arg;
	claimcheck_s3_result_set(&st->result, status, details);
}

static bool claimcheck_s3_is_not_found(S3Status status)
{
	return status == S3StatusErrorNoSuchKey || status == S3StatusHttpErrorNotFound;
}

static int claimcheck_s3_get(void *ctx, const char *key, size_t max_len, uint8_t **data, size_t *len, char *errbuf,
			     size_t errlen)
{
	struct claimcheck_s3 *s = ctx;
	static const S3GetObjectHandler handler = {
		.responseHandler = {.propertiesCallback = claimcheck_s3_get_props,
				    .completeCallback = claimcheck_s3_get_done},
		.getObjectDataCallback = claimcheck_s3_get_data,
	};
	*data = NULL;
	*len = 0;
	struct claimcheck_s3_get_state st;
	int64_t started = claimcheck_s3_now_ms();
	for (int attempt = 0; attempt < CLAIMCHECK_S3_ATTEMPTS; attempt++) {
		claimcheck_s3_sleep_ms(claimcheck_s3_backoff_ms[attempt]);
		memset(&st, 0, sizeof st);
		st.max_len = max_len;
		st.result.status = S3StatusInternalError;
		S3_get_object(&s->ctx, key, NULL, 0, 0, NULL, &handler, &st);
		if (st.too_big) {
			free(st.buf);
			snprintf(errbuf, errlen, "s3 get %s/%s: object larger than %zu bytes", s->bucket, key, max_len);
			return CLAIMCHECK_ETOOBIG;
		}
		if (st.nomem) {
			free(st.buf);
			snprintf(errbuf, errlen, "s3 get %s/%s: out of memory", s->bucket, key);
			return CLAIMCHECK_ENOMEM;
		}
		if (st.result.status == S3StatusOK) {
			if (st.content_length != 0 && st.content_length != (uint64_t)st.len) {
				/* A body cut short: count it like a failed
				 * connection and try again. */
				free(st.buf);
				st.buf = NULL;
				st.result.status = S3StatusConnectionFailed;
				snprintf(st.result.message, sizeof st.result.message,
					 "short body: %zu of %llu bytes", st.len,
					 (unsigned long long)st.content_length);
				if (!claimcheck_s3_should_retry(st.result.status, attempt, started))
					break;
				continue;
			}
			if (!st.buf) {
				st.buf = malloc(1); /* an empty object: still a buffer */
				if (!st.buf) {
					snprintf(errbuf, errlen, "s3 get %s/%s: out of memory", s->bucket, key);
					return CLAIMCHECK_ENOMEM;
				}
			}
			*data = st.buf;
			*len = st.len;
			return CLAIMCHECK_OK;
		}
		free(st.buf);
		st.buf = NULL;
		if (claimcheck_s3_is_not_found(st.result.status)) {
			claimcheck_s3_error(s, errbuf, errlen, "get", key, st.result.status, st.result.message, NULL);
			return CLAIMCHECK_ENOTFOUND;
		}
		if (!claimcheck_s3_should_retry(st.result.status, attempt, started))
			break;
	}
	claimcheck_s3_error(s, errbuf, errlen, "get", key, st.result.status, st.result.message, NULL);
	return CLAIMCHECK_EBACKEND;
}

/* ---- delete --------------------------------------------------------------- */

static S3Status claimcheck_s3_del_props(const S3ResponseProperties *props, void *arg)
{
	(void)props;
	(void)arg;
	return S3StatusOK;
}

static void claimcheck_s3_del_done(S3Status status, const S3ErrorDetails *details, void *arg)
{
	claimcheck_s3_result_set(arg, status, details);
}

static int claimcheck_s3_del(void *ctx, const char *key, char *errbuf, size_t errlen)
{
	struct claimcheck_s3 *s = ctx;
	static const S3ResponseHandler handler = {
		.propertiesCallback = claimcheck_s3_del_props,
		.completeCallback = claimcheck_s3_del_done,
	};
	struct claimcheck_s3_result r;
	int64_t started = claimcheck_s3_now_ms();
	for (int attempt = 0; attempt < CLAIMCHECK_S3_ATTEMPTS; attempt++) {
		claimcheck_s3_sleep_ms(claimcheck_s3_backoff_ms[attempt]);
		memset(&r, 0, sizeof r);
		r.status = S3StatusInternalError;
		S3_delete_object(&s->ctx, key, NULL, &handler, &r);
		/* Deleting what is already gone is what the caller wanted. */
		if (r.status == S3StatusOK || claimcheck_s3_is_not_found(r.status))
			return CLAIMCHECK_OK;
		if (!claimcheck_s3_should_retry(r.status, attempt, started))
			break;
	}
	claimcheck_s3_error(s, errbuf, errlen, "delete", key, r.status, r.message, NULL);
	return CLAIMCHECK_EBACKEND;
}

const struct claimcheck_backend_ops claimcheck_s3_ops = {
	.name = "s3",
	.put = claimcheck_s3_put,
	.get = claimcheck_s3_get,
	.del = claimcheck_s3_del,
	.close = claimcheck_s3_close,
};
