/* backend_s3: the s3 backend against a real S3 server (s3rver, from
 * tests/node_modules, installed by deploy/deps.sh): put/get/delete of a
 * 40 MiB value and of small ones, a missing key, an object above max_len,
 * a wrong secret (never echoed), a missing bucket, concurrent workers, a
 * stalled server (an error after libs3's 15 s stall limit, not a hang) and a
 * stopped one (a prompt error; objects survive a restart).
 *
 * The server runs for the whole group, in its own temporary directory, and
 * is killed at group teardown whatever happened (and by the kernel if this
 * process dies first). Without node or s3rver the group fails with a message
 * saying what is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "claimcheck/backend_internal.h"

#define BUCKET "tern"
#define ACCESS "S3RVER"
#define SECRET "S3RVER"
#define WRONG_SECRET "Wr0ngSecret-7c1d9e"
#define BIG (40u * 1024u * 1024u)
#define START_TIMEOUT_MS 20000

struct s3rver {
	char root[PATH_MAX]; /* the repository */
	char dir[PATH_MAX];  /* our temporary directory (data/ and s3rver.log) */
	char endpoint[64];   /* "127.0.0.1:PORT" while running */
	pid_t pid;           /* 0 when stopped */
};

static struct s3rver server;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_root(const char *dir)
{
	char probe[PATH_MAX + 64];
	snprintf(probe, sizeof probe, "%s/claimcheck/backend_internal.h", dir);
	return access(probe, R_OK) == 0;
}

/* The repository root: $TERN_SOURCE_DIR when set, else the directory this
 * file was compiled from (<root>/tests/unit/claimcheck/...), else the first
 * parent of the executable holding claimcheck/ (build dirs sit in the root). */
static int find_root(char *out, size_t len)
{
	const char *env = getenv("TERN_SOURCE_DIR");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return 0;
	}
	const char *suffix = "/tests/unit/claimcheck/test_backend_s3.c";
	const char *file = __FILE__;
	size_t fl = strlen(file), sl = strlen(suffix);
	if (file[0] == '/' && fl > sl && strcmp(file + fl - sl, suffix) == 0) {
		snprintf(out, len, "%.*s", (int)(fl - sl), file);
		if (is_root(out))
			return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	char *slash;
	while ((slash = strrchr(exe, '/')) != NULL && slash != exe) {
		*slash = '\0';
		if (is_root(exe)) {
			snprintf(out, len, "%s", exe);
			return 0;
		}
	}
	return -1;
}

static void print_log(void)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/s3rver.log", server.dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char line[512];
	fprintf(stderr, "---- %s\n", path);
	while (fgets(line, sizeof line, f))
		fputs(line, stderr);
	fclose(f);
}

/* Starts s3rver on a free port (same data directory every time, so objects
 * survive a stop/start). Returns 0, or -1 with a message on stderr. */
static int s3rver_start(void)
{
	char script[PATH_MAX + 64], data[PATH_MAX + 16], logp[PATH_MAX + 16];
	snprintf(script, sizeof script, "%s/tests/node_modules/s3rver/bin/s3rver.js", server.root);
	snprintf(data, sizeof data, "%s/data", server.dir);
	snprintf(logp, sizeof logp, "%s/s3rver.log", server.dir);
	if (access(script, R_OK) != 0) {
		fprintf(stderr,
			"test_backend_s3: s3rver is not installed (%s missing): run deploy/deps.sh "
			"(npm ci in tests/)\n",
			script);
		return -1;
	}
	int logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (logfd < 0) {
		fprintf(stderr, "test_backend_s3: %s: %s\n", logp, strerror(errno));
		return -1;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(logfd);
		return -1;
	}
	if (pid == 0) {
		/* Dies with the test process, whatever kills it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		dup2(logfd, 1);
		dup2(logfd, 2);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		execlp("node", "node", script, "-d", data, "-a", "127.0.0.1", "-p", "0", "-s",
		       "--no-vhost-buckets", "--configure-bucket", BUCKET, (char *)NULL);
		dprintf(2, "test_backend_s3: cannot run node: %s (install Node.js: deploy/deps.sh)\n",
			strerror(errno));
		_exit(127);
	}
	close(logfd);
	server.pid = pid;

	/* Wait for "S3rver listening on 127.0.0.1:PORT". */
	int64_t deadline = now_ms() + START_TIMEOUT_MS;
	while (now_ms() < deadline) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			server.pid = 0;
			fprintf(stderr, "test_backend_s3: s3rver exited before listening (status %d)\n", status);
			print_log();
			return -1;
		}
		FILE *f = fopen(logp, "r");
		if (f) {
			char line[512];
			while (fgets(line, sizeof line, f)) {
				unsigned port;
				if (sscanf(line, "S3rver listening on 127.0.0.1:%u", &port) == 1) {
					fclose(f);
					snprintf(server.endpoint, sizeof server.endpoint, "127.0.0.1:%u", port);
					return 0;
				}
			}
			fclose(f);
		}
		usleep(20 * 1000);
	}
	fprintf(stderr, "test_backend_s3: s3rver did not listen within %d ms\n", START_TIMEOUT_MS);
	print_log();
	return -1;
}

static void s3rver_stop(void)
{
	if (server.pid <= 0)
		return;
	kill(server.pid, SIGTERM);
	kill(server.pid, SIGCONT); /* in case a test left it stopped */
	int64_t deadline = now_ms() + 5000;
	for (;;) {
		int status;
		pid_t r = waitpid(server.pid, &status, WNOHANG);
		if (r == server.pid || (r < 0 && errno == ECHILD))
			break;
		if (now_ms() > deadline) {
			kill(server.pid, SIGKILL);
			waitpid(server.pid, &status, 0);
			break;
		}
		usleep(10 * 1000);
	}
	server.pid = 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	memset(&server, 0, sizeof server);
	if (find_root(server.root, sizeof server.root) != 0) {
		fprintf(stderr, "test_backend_s3: cannot find the repository root (set TERN_SOURCE_DIR)\n");
		return -1;
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(server.dir, sizeof server.dir, "%s/tern-test-s3-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(server.dir)) {
		fprintf(stderr, "test_backend_s3: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	if (s3rver_start() != 0) {
		nftw(server.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	s3rver_stop();
	if (server.dir[0])
		nftw(server.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- helpers -------------------------------------------------------------- */

static struct claimcheck_config config(const char *secret, const char *bucket)
{
	struct claimcheck_config cfg = {
		.backend = "s3",
		.s3_endpoint = server.endpoint,
		.s3_bucket = bucket,
		.s3_access_key = ACCESS,
		.s3_secret_key = secret,
		.workers = 1,
	};
	return cfg;
}

static void *open_backend(const char *secret, const char *bucket)
{
	struct claimcheck_config cfg = config(secret, bucket);
	void *ctx = NULL;
	char err[256] = "";
	int rc = claimcheck_s3_open(&cfg, &ctx, err, sizeof err);
	if (rc != 0)
		fail_msg("claimcheck_s3_open: %d %s", rc, err);
	assert_non_null(ctx);
	return ctx;
}

static void fill_random(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 24);
	}
}

static void put_ok(void *ctx, const char *key, const uint8_t *data, size_t len)
{
	char err[512] = "";
	int rc = claimcheck_s3_ops.put(ctx, key, data, len, err, sizeof err);
	if (rc != 0)
		fail_msg("put %s: %d %s", key, rc, err);
}

static void get_equal(void *ctx, const char *key, const uint8_t *want, size_t want_len)
{
	char err[512] = "";
	uint8_t *got = NULL;
	size_t got_len = 12345;
	int rc = claimcheck_s3_ops.get(ctx, key, want_len + 16, &got, &got_len, err, sizeof err);
	if (rc != 0)
		fail_msg("get %s: %d %s", key, rc, err);
	assert_non_null(got);
	assert_int_equal(got_len, want_len);
	assert_true(want_len == 0 || memcmp(got, want, want_len) == 0);
	free(got);
}

static void expect_not_found(void *ctx, const char *key)
{
	char err[512] = "";
	uint8_t *got = (uint8_t *)1;
	size_t got_len = 1;
	assert_int_equal(claimcheck_s3_ops.get(ctx, key, 1024, &got, &got_len, err, sizeof err),
			 CLAIMCHECK_ENOTFOUND);
	assert_null(got);
	assert_non_null(strstr(err, key));
}

/* ---- tests ---------------------------------------------------------------- */

static void backend_s3__big_value_round_trips_and_deletes(void **state)
{
	(void)state;
	void *ctx = open_backend(SECRET, BUCKET);
	uint8_t *big = malloc(BIG);
	assert_non_null(big);
	fill_random(big, BIG, 40);
	const char *key = "big-topic/3/4f1c0a5e9b2d7c3e8a6f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c";

	int64_t t0 = now_ms();
	put_ok(ctx, key, big, BIG);
	int64_t t1 = now_ms();
	get_equal(ctx, key, big, BIG);
	int64_t t2 = now_ms();
	print_message("40 MiB put %lld ms, get %lld ms\n", (long long)(t1 - t0), (long long)(t2 - t1));

	/* Written once under its own key: a put of the same key again (a retried
	 * produce) succeeds and leaves the same bytes. */
	put_ok(ctx, key, big, BIG);
	get_equal(ctx, key, big, BIG);

	char err[512] = "";
	assert_int_equal(claimcheck_s3_ops.del(ctx, key, err, sizeof err), 0);
	expect_not_found(ctx, key);
	/* Deleting a missing key is a success. */
	assert_int_equal(claimcheck_s3_ops.del(ctx, key, err, sizeof err), 0);
	free(big);
	claimcheck_s3_ops.close(ctx);
}

static void backend_s3__small_values_round_trip(void **state)
{
	(void)state;
	void *ctx = open_backend(SECRET, BUCKET);
	static const size_t sizes[] = {0, 1, 17, 1000, 65536, 65537, 1000003};
	uint8_t *buf = malloc(1000003);
	assert_non_null(buf);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char key[128];
		snprintf(key, sizeof key, "small.topic_x-1/%zu/value-%zu", i, sizes[i]);
		fill_random(buf, sizes[i], i + 1);
		put_ok(ctx, key, buf, sizes[i]);
		get_equal(ctx, key, buf, sizes[i]);
	}
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char key[128], err[512] = "";
		snprintf(key, sizeof key, "small.topic_x-1/%zu/value-%zu", i, sizes[i]);
		assert_int_equal(claimcheck_s3_ops.del(ctx, key, err, sizeof err), 0);
		expect_not_found(ctx, key);
	}
	free(buf);
	claimcheck_s3_ops.close(ctx);
}

static void backend_s3__missing_key_is_not_found(void **state)
{
	(void)state;
	void *ctx = open_backend(SECRET, BUCKET);
	expect_not_found(ctx, "no-such-topic/0/0000000000000000000000000000000000000000000000000000000000000000");
	claimcheck_s3_ops.close(ctx);
}

static void backend_s3__object_above_max_len_is_too_big(void **state)
{
	(void)state;
	void *ctx = open_backend(SECRET, BUCKET);
	uint8_t buf[4096];
	fill_random(buf, sizeof buf, 7);
	const char *key = "limits/0/four-kib";
	put_ok(ctx, key, buf, sizeof buf);

	char err[512] = "";
	uint8_t *got = NULL;
	size_t got_len = 0;
	assert_int_equal(claimcheck_s3_ops.get(ctx, key, sizeof buf - 1, &got, &got_len, err, sizeof err),
			 CLAIMCHECK_ETOOBIG);
	assert_null(got);
	assert_non_null(strstr(err, key));
	/* Exactly max_len is allowed. */
	assert_int_equal(claimcheck_s3_ops.get(ctx, key, sizeof buf, &got, &got_len, err, sizeof err), 0);
	assert_int_equal(got_len, sizeof buf);
	assert_memory_equal(got, buf, sizeof buf);
	free(got);
	assert_int_equal(claimcheck_s3_ops.del(ctx, key, err, sizeof err), 0);
	claimcheck_s3_ops.close(ctx);
}

static void assert_no_secret(const char *msg)
{
	if (strstr(msg, WRONG_SECRET) || strstr(msg, "Wr0ng"))
		fail_msg("the secret key leaked into an error message: %s", msg);
}

static void backend_s3__wrong_secret_fails_without_echoing_it(void **state)
{
	(void)state;
	void *good = open_backend(SECRET, BUCKET);
	void *bad = open_backend(WRONG_SECRET, BUCKET);
	const char *key = "secrets/0/abc";
	const uint8_t v[] = "value";
	put_ok(good, key, v, sizeof v);

	char err[512] = "";
	assert_int_equal(claimcheck_s3_ops.put(bad, "secrets/0/def", v, sizeof v, err, sizeof err),
			 CLAIMCHECK_EBACKEND);
	print_message("put with a wrong secret: %s\n", err);
	assert_non_null(strstr(err, "SignatureDoesNotMatch"));
	assert_non_null(strstr(err, "secrets/0/def"));
	assert_no_secret(err);

	uint8_t *got = NULL;
	size_t got_len = 0;
	err[0] = '\0';
	assert_int_equal(claimcheck_s3_ops.get(bad, key, 1024, &got, &got_len, err, sizeof err), CLAIMCHECK_EBACKEND);
	assert_null(got);
	assert_non_null(strstr(err, "SignatureDoesNotMatch"));
	assert_no_secret(err);

	err[0] = '\0';
	assert_int_equal(claimcheck_s3_ops.del(bad, key, err, sizeof err), CLAIMCHECK_EBACKEND);
	assert_non_null(strstr(err, "SignatureDoesNotMatch"));
	assert_no_secret(err);

	/* The object is untouched. */
	get_equal(good, key, v, sizeof v);
	assert_int_equal(claimcheck_s3_ops.del(good, key, err, sizeof err), 0);
	claimcheck_s3_ops.close(bad);
	claimcheck_s3_ops.close(good);
}

static void backend_s3__missing_bucket_is_a_backend_error(void **state)
{
	(void)state;
	void *ctx = open_backend(SECRET, "no-such-bucket");
	char err[512] = "";
	uint8_t *got = NULL;
	size_t got_len = 0;
	/* A configuration problem, not a missing object. */
	assert_int_equal(claimcheck_s3_ops.get(ctx, "t/0/x", 1024, &got, &got_len, err, sizeof err),
			 CLAIMCHECK_EBACKEND);
	assert_non_null(strstr(err, "no-such-bucket"));
	const uint8_t v[] = "x";
	assert_int_equal(claimcheck_s3_ops.put(ctx, "t/0/x", v, 1, err, sizeof err), CLAIMCHECK_EBACKEND);
	claimcheck_s3_ops.close(ctx);
}

static void backend_s3__open_checks_the_configuration(void **state)
{
	(void)state;
	char err[256];
	void *ctx = (void *)1;
	struct claimcheck_config cfg = config(WRONG_SECRET, BUCKET);

	cfg.s3_endpoint = NULL;
	assert_int_equal(claimcheck_s3_open(&cfg, &ctx, err, sizeof err), CLAIMCHECK_EINVALID);
	assert_null(ctx);
	assert_non_null(strstr(err, "endpoint"));
	assert_no_secret(err);

	cfg = config(WRONG_SECRET, "");
	assert_int_equal(claimcheck_s3_open(&cfg, &ctx, err, sizeof err), CLAIMCHECK_EINVALID);
	assert_non_null(strstr(err, "bucket"));

	cfg = config(NULL, BUCKET);
	assert_int_equal(claimcheck_s3_open(&cfg, &ctx, err, sizeof err), CLAIMCHECK_EINVALID);
	assert_non_null(strstr(err, "secret"));

	cfg = config(WRONG_SECRET, BUCKET);
	cfg.s3_access_key = "";
	assert_int_equal(claimcheck_s3_open(&cfg, &ctx, err, sizeof err), CLAIMCHECK_EINVALID);
	assert_no_secret(err);

	cfg = config(WRONG_SECRET, BUCKET);
	cfg.s3_endpoint = "http://127.0.0.1:9000/";
	assert_int_equal(claimcheck_s3_open(&cfg, &ctx, err, sizeof err), CLAIMCHECK_EINVALID);
	assert_non_null(strstr(err, "host:port"));
	assert_no_secret(err);

	cfg = config(WRONG_SECRET, "Bad_Bucket!");
	assert_int_equal(claimcheck_s3_open(&cfg, &ctx, err, sizeof err), CLAIMCHECK_EINVALID);
	assert_no_secret(err);
}

/* Workers share one backend and call it concurrently. */
struct worker {
	void *ctx;
	int id;
	int failures;
	char err[512];
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	size_t len = 3 * 1024 * 1024 + (size_t)w->id * 777;
	uint8_t *buf = malloc(len);
	if (!buf) {
		w->failures++;
		return NULL;
	}
	for (int round = 0; round < 3; round++) {
		char key[96];
		snprintf(key, sizeof key, "concurrent/%d/round-%d", w->id, round);
		fill_random(buf, len, (uint64_t)(w->id * 100 + round));
		if (claimcheck_s3_ops.put(w->ctx, key, buf, len, w->err, sizeof w->err) != 0) {
			w->failures++;
			continue;
		}
		uint8_t *got = NULL;
		size_t got_len = 0;
		if (claimcheck_s3_ops.get(w->ctx, key, len, &got, &got_len, w->err, sizeof w->err) != 0 ||
		    got_len != len || memcmp(got, buf, len) != 0)
			w->failures++;
		free(got);
		if (claimcheck_s3_ops.del(w->ctx, key, w->err, sizeof w->err) != 0)
			w->failures++;
	}
	free(buf);
	return NULL;
}

static void backend_s3__concurrent_workers_share_a_backend(void **state)
{
	(void)state;
	void *ctx = open_backend(SECRET, BUCKET);
	enum { N = 4 };
	pthread_t th[N];
	struct worker w[N];
	for (int i = 0; i < N; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].ctx = ctx;
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < N; i++)
		if (w[i].failures)
			fail_msg("worker %d: %d failures, last: %s", i, w[i].failures, w[i].err);
	claimcheck_s3_ops.close(ctx);
}

/* A server that accepts connections but never answers (SIGSTOP): libs3
 * gives up after 15 s without progress, and the backend does not retry a
 * request that already took that long. */
static void backend_s3__stalled_server_fails_within_the_stall_limit(void **state)
{
	(void)state;
	void *ctx = open_backend(SECRET, BUCKET);
	assert_int_equal(kill(server.pid, SIGSTOP), 0);
	char err[512] = "";
	uint8_t *got = NULL;
	size_t got_len = 0;
	int64_t t0 = now_ms();
	int rc = claimcheck_s3_ops.get(ctx, "stall/0/x", 1024, &got, &got_len, err, sizeof err);
	int64_t took = now_ms() - t0;
	kill(server.pid, SIGCONT);
	print_message("get from a stalled server: %d after %lld ms: %s\n", rc, (long long)took, err);
	assert_int_equal(rc, CLAIMCHECK_EBACKEND);
	assert_null(got);
	assert_true(took < 30000);
	/* And it answers again once resumed. */
	expect_not_found(ctx, "stall/0/x");
	claimcheck_s3_ops.close(ctx);
}

/* Last: stops the server, then starts it again on a new port. */
static void backend_s3__stopped_server_fails_promptly_and_objects_survive(void **state)
{
	(void)state;
	void *ctx = open_backend(SECRET, BUCKET);
	const char *key = "outage/0/kept";
	uint8_t v[1000];
	fill_random(v, sizeof v, 99);
	put_ok(ctx, key, v, sizeof v);
	claimcheck_s3_ops.close(ctx);

	s3rver_stop();
	/* The backend keeps the old endpoint: nothing listens there now. */
	ctx = open_backend(SECRET, BUCKET);

	char err[512] = "";
	int64_t t0 = now_ms();
	assert_int_equal(claimcheck_s3_ops.put(ctx, "outage/0/new", v, sizeof v, err, sizeof err),
			 CLAIMCHECK_EBACKEND);
	print_message("put with the server down: %s\n", err);
	assert_non_null(strstr(err, "outage/0/new"));
	uint8_t *got = NULL;
	size_t got_len = 0;
	assert_int_equal(claimcheck_s3_ops.get(ctx, key, 4096, &got, &got_len, err, sizeof err), CLAIMCHECK_EBACKEND);
	assert_null(got);
	assert_int_equal(claimcheck_s3_ops.del(ctx, key, err, sizeof err), CLAIMCHECK_EBACKEND);
	int64_t took = now_ms() - t0;
	print_message("three requests against a stopped server: %lld ms\n", (long long)took);
	assert_true(took < 5000);
	claimcheck_s3_ops.close(ctx);

	/* Back up (on another port): the object written before is there. */
	if (s3rver_start() != 0)
		fail_msg("s3rver did not restart");
	ctx = open_backend(SECRET, BUCKET);
	get_equal(ctx, key, v, sizeof v);
	assert_int_equal(claimcheck_s3_ops.del(ctx, key, err, sizeof err), 0);
	claimcheck_s3_ops.close(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backend_s3__open_checks_the_configuration),
		cmocka_unit_test(backend_s3__big_value_round_trips_and_deletes),
		cmocka_unit_test(backend_s3__small_values_round_trip),
		cmocka_unit_test(backend_s3__missing_key_is_not_found),
		cmocka_unit_test(backend_s3__object_above_max_len_is_too_big),
		cmocka_unit_test(backend_s3__wrong_secret_fails_without_echoing_it),
		cmocka_unit_test(backend_s3__missing_bucket_is_a_backend_error),
		cmocka_unit_test(backend_s3__concurrent_workers_share_a_backend),
		cmocka_unit_test(backend_s3__stalled_server_fails_within_the_stall_limit),
		cmocka_unit_test(backend_s3__stopped_server_fails_promptly_and_objects_survive),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
