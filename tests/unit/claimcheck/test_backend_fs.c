/* backend_fs: objects as files under a directory; atomic writes, size bound
 * on get, idempotent delete, key checks, stale temporaries, concurrency.
 * Also the backend dispatch of claimcheck_backend_open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "claimcheck/backend_internal.h"
#include "claimcheck/claimcheck.h"
#include "broker/logger.h"

struct fixture {
	char dir[64];
	char store[96]; /* <dir>/store: the backend's directory */
	struct claimcheck_backend *b;
	char err[512];
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct claimcheck_config fs_config(const char *dir)
{
	struct claimcheck_config cfg = {0};
	cfg.backend = "fs";
	cfg.fs_dir = dir;
	cfg.workers = 1;
	return cfg;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/tern-test-ccfs-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->store, sizeof f->store, "%s/store", f->dir);
	struct claimcheck_config cfg = fs_config(f->store);
	assert_int_equal(claimcheck_backend_open(&cfg, &f->b, f->err, sizeof f->err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	claimcheck_backend_close(f->b);
	rm_tree(f->dir);
	free(f);
	return 0;
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *p = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int count_tmp;
static int count_tmp_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	if (strncmp(path + ftw->base, ".claimcheck-tmp.", 16) == 0)
		count_tmp++;
	return 0;
}

static int temporaries(const char *dir)
{
	count_tmp = 0;
	nftw(dir, count_tmp_one, 16, FTW_PHYS);
	return count_tmp;
}

static void backend_fs__round_trip_under_the_key_path(void **state)
{
	struct fixture *f = *state;
	const char *key = "orders/3/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	uint8_t *v = pattern(100000, 1);
	assert_string_equal(claimcheck_backend_name(f->b), "fs");
	assert_int_equal(claimcheck_backend_put(f->b, key, v, 100000, f->err, sizeof f->err), 0);

	char path[512];
	snprintf(path, sizeof path, "%s/%s", f->store, key);
	assert_int_equal(file_size(path), 100000);
	assert_int_equal(temporaries(f->store), 0);

	uint8_t *got = NULL;
	size_t len = 0;
	assert_int_equal(claimcheck_backend_get(f->b, key, 100000, &got, &len, f->err, sizeof f->err), 0);
	assert_int_equal(len, 100000);
	assert_memory_equal(got, v, len);
	free(got);

	assert_int_equal(claimcheck_backend_delete(f->b, key, f->err, sizeof f->err), 0);
	assert_int_equal(file_size(path), -1);
	assert_int_equal(claimcheck_backend_get(f->b, key, 100000, &got, &len, f->err, sizeof f->err),
			 CLAIMCHECK_ENOTFOUND);
	assert_null(got);
	assert_int_equal(len, 0);
	free(v);
}

static void backend_fs__forty_mib_value(void **state)
{
	struct fixture *f = *state;
	size_t n = 40u << 20;
	uint8_t *v = pattern(n, 40);
	assert_int_equal(claimcheck_backend_put(f->b, "big/0/x", v, n, f->err, sizeof f->err), 0);
	uint8_t *got = NULL;
	size_t len = 0;
	assert_int_equal(claimcheck_backend_get(f->b, "big/0/x", n, &got, &len, f->err, sizeof f->err), 0);
	assert_int_equal(len, n);
	assert_true(memcmp(got, v, n) == 0);
	free(got);
	free(v);
}

static void backend_fs__empty_object_and_overwrite(void **state)
{
	struct fixture *f = *state;
	uint8_t *got = NULL;
	size_t len = 7;
	assert_int_equal(claimcheck_backend_put(f->b, "t/0/empty", NULL, 0, f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_get(f->b, "t/0/empty", 10, &got, &len, f->err, sizeof f->err), 0);
	assert_non_null(got);
	assert_int_equal(len, 0);
	free(got);

	assert_int_equal(claimcheck_backend_put(f->b, "t/0/k", (const uint8_t *)"first value", 11, f->err,
						sizeof f->err),
			 0);
	assert_int_equal(claimcheck_backend_put(f->b, "t/0/k", (const uint8_t *)"second", 6, f->err, sizeof f->err),
			 0);
	assert_int_equal(claimcheck_backend_get(f->b, "t/0/k", 100, &got, &len, f->err, sizeof f->err), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(got, "second", 6);
	free(got);
	assert_int_equal(temporaries(f->store), 0);
}

static void backend_fs__get_checks_the_bound_before_reading(void **state)
{
	struct fixture *f = *state;
	uint8_t *v = pattern(1000, 2);
	assert_int_equal(claimcheck_backend_put(f->b, "t/1/b", v, 1000, f->err, sizeof f->err), 0);
	uint8_t *got = (uint8_t *)"sentinel";
	size_t len = 5;
	assert_int_equal(claimcheck_backend_get(f->b, "t/1/b", 999, &got, &len, f->err, sizeof f->err),
			 CLAIMCHECK_ETOOBIG);
	assert_null(got);
	assert_int_equal(len, 0);
	assert_non_null(strstr(f->err, "t/1/b"));
	assert_int_equal(claimcheck_backend_get(f->b, "t/1/b", 1000, &got, &len, f->err, sizeof f->err), 0);
	assert_int_equal(len, 1000);
	free(got);
	free(v);
}

static void backend_fs__delete_missing_is_success(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(claimcheck_backend_delete(f->b, "never/0/written", f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_put(f->b, "d/0/k", (const uint8_t *)"x", 1, f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_delete(f->b, "d/0/k", f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_delete(f->b, "d/0/k", f->err, sizeof f->err), 0);
	/* A path through a file, not a directory: still "missing". */
	assert_int_equal(claimcheck_backend_put(f->b, "d/1", (const uint8_t *)"x", 1, f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_delete(f->b, "d/1/k", f->err, sizeof f->err), 0);
	uint8_t *got;
	size_t len;
	assert_int_equal(claimcheck_backend_get(f->b, "d/1/k", 10, &got, &len, f->err, sizeof f->err),
			 CLAIMCHECK_ENOTFOUND);
}

static void backend_fs__delete_prunes_empty_directories_not_the_root(void **state)
{
	struct fixture *f = *state;
	char path[256];
	assert_int_equal(claimcheck_backend_put(f->b, "gone/0/a", (const uint8_t *)"a", 1, f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_put(f->b, "gone/0/b", (const uint8_t *)"b", 1, f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_delete(f->b, "gone/0/a", f->err, sizeof f->err), 0);
	snprintf(path, sizeof path, "%s/gone/0", f->store);
	assert_int_equal(access(path, F_OK), 0); /* still holds b */
	assert_int_equal(claimcheck_backend_delete(f->b, "gone/0/b", f->err, sizeof f->err), 0);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof path, "%s/gone", f->store);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(access(f->store, F_OK), 0);
	/* And the topic can be written again. */
	assert_int_equal(claimcheck_backend_put(f->b, "gone/0/c", (const uint8_t *)"c", 1, f->err, sizeof f->err), 0);
}

static void backend_fs__rejects_keys_escaping_the_directory(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = {"",	  "/etc/passwd", "../outside", "t/../../outside", "t/..",	"..",
			     "t//k",	  "t/./k",	 "./k",	       "t/0/",		  ".claimcheck-tmp.x", "t/.claimcheck-tmp.1"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		f->err[0] = '\0';
		assert_int_equal(claimcheck_backend_put(f->b, bad[i], (const uint8_t *)"x", 1, f->err, sizeof f->err),
				 CLAIMCHECK_EBACKEND);
		assert_non_null(strstr(f->err, "invalid key"));
		uint8_t *got;
		size_t len;
		assert_int_equal(claimcheck_backend_get(f->b, bad[i], 10, &got, &len, f->err, sizeof f->err),
				 CLAIMCHECK_EBACKEND);
		assert_int_equal(claimcheck_backend_delete(f->b, bad[i], f->err, sizeof f->err), CLAIMCHECK_EBACKEND);
	}
	char path[256];
	snprintf(path, sizeof path, "%s/outside", f->dir);
	assert_int_not_equal(access(path, F_OK), 0);
	/* Dots inside a name are fine (Kafka allows "a..b" as a topic). */
	assert_int_equal(claimcheck_backend_put(f->b, "a..b/0/k", (const uint8_t *)"x", 1, f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_put(f->b, "..a/0/k", (const uint8_t *)"x", 1, f->err, sizeof f->err), 0);
}

static void backend_fs__open_creates_the_directory_and_sweeps_stale_temporaries(void **state)
{
	struct fixture *f = *state;
	char sub[256], stale[300], fresh[300];
	snprintf(sub, sizeof sub, "%s/t/0", f->store);
	assert_int_equal(claimcheck_backend_put(f->b, "t/0/k", (const uint8_t *)"x", 1, f->err, sizeof f->err), 0);
	snprintf(stale, sizeof stale, "%s/.claimcheck-tmp.AAAAAA", sub);
	snprintf(fresh, sizeof fresh, "%s/.claimcheck-tmp.BBBBBB", sub);
	for (int i = 0; i < 2; i++) {
		int fd = open(i ? fresh : stale, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "partial", 7), 7);
		close(fd);
	}
	struct timeval old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
	assert_int_equal(utimes(stale, old), 0);

	struct claimcheck_backend *b2;
	struct claimcheck_config cfg = fs_config(f->store);
	assert_int_equal(claimcheck_backend_open(&cfg, &b2, f->err, sizeof f->err), 0);
	assert_int_not_equal(access(stale, F_OK), 0);
	assert_int_equal(access(fresh, F_OK), 0); /* may belong to a live writer */
	uint8_t *got;
	size_t len;
	assert_int_equal(claimcheck_backend_get(b2, "t/0/k", 10, &got, &len, f->err, sizeof f->err), 0);
	free(got);
	claimcheck_backend_close(b2);

	/* Nested missing directories are created; a trailing '/' is fine. */
	char deep[256];
	snprintf(deep, sizeof deep, "%s/a/b/c/", f->dir);
	cfg = fs_config(deep);
	assert_int_equal(claimcheck_backend_open(&cfg, &b2, f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_put(b2, "t/0/k", (const uint8_t *)"x", 1, f->err, sizeof f->err), 0);
	claimcheck_backend_close(b2);
	snprintf(deep, sizeof deep, "%s/a/b/c/t/0/k", f->dir);
	assert_int_equal(file_size(deep), 1);
}

static void backend_fs__open_errors(void **state)
{
	struct fixture *f = *state;
	struct claimcheck_backend *b = (struct claimcheck_backend *)1;
	struct claimcheck_config cfg = fs_config(NULL);
	assert_int_equal(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err), CLAIMCHECK_EINVALID);
	assert_null(b);
	assert_non_null(strstr(f->err, "claimcheck.fs.dir"));

	char file[256];
	snprintf(file, sizeof file, "%s/plainfile", f->dir);
	int fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	cfg = fs_config(file);
	assert_true(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err) < 0);
	assert_null(b);
	assert_non_null(strstr(f->err, file));

	cfg = fs_config(f->store);
	cfg.backend = "tape";
	assert_int_equal(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err), CLAIMCHECK_EINVALID);
	assert_non_null(strstr(f->err, "tape"));

	/* No backend named: fs, the default. */
	cfg.backend = NULL;
	assert_int_equal(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err), 0);
	assert_string_equal(claimcheck_backend_name(b), "fs");
	claimcheck_backend_close(b);
	claimcheck_backend_close(NULL);
}

/* Writers on distinct and shared keys, plus a writer/deleter pair fighting
 * over one directory (the delete prunes it, the put must still succeed). */
struct hammer {
	struct claimcheck_backend *b;
	int id;
	int failures;
	char last[512];
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	char key[64], err[256];
	uint8_t *v = pattern(4096, (unsigned)h->id);
	for (int i = 0; i < 150; i++) {
		if (h->id % 2 == 0)
			snprintf(key, sizeof key, "race/0/k%d", h->id);
		else
			snprintf(key, sizeof key, "shared/%d/same", i % 3);
		if (claimcheck_backend_put(h->b, key, v, 4096, err, sizeof err) != 0) {
			h->failures++;
			snprintf(h->last, sizeof h->last, "%s", err);
			continue;
		}
		uint8_t *got = NULL;
		size_t len = 0;
		int rc = claimcheck_backend_get(h->b, key, 4096, &got, &len, err, sizeof err);
		/* The shared keys may be deleted by a peer in between. */
		if ((h->id % 2 == 0 && (rc != 0 || len != 4096 || memcmp(got, v, 4096) != 0)) ||
		    (h->id % 2 != 0 && rc == 0 && len != 4096)) {
			h->failures++;
			snprintf(h->last, sizeof h->last, "get %s: %d %s", key, rc, err);
		}
		free(got);
		if (claimcheck_backend_delete(h->b, key, err, sizeof err) != 0) {
			h->failures++;
			snprintf(h->last, sizeof h->last, "%s", err);
		}
	}
	free(v);
	return NULL;
}

static void backend_fs__concurrent_puts_gets_deletes(void **state)
{
	struct fixture *f = *state;
	pthread_t t[8];
	struct hammer h[8];
	for (int i = 0; i < 8; i++) {
		h[i] = (struct hammer){.b = f->b, .id = i};
		assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		if (h[i].failures)
			fail_msg("thread %d: %d failures, last: %s", i, h[i].failures, h[i].last);
	}
	assert_int_equal(temporaries(f->store), 0);
}

int main(void)
{
	logger_set_level(TLOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(backend_fs__round_trip_under_the_key_path, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_fs__forty_mib_value, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_fs__empty_object_and_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_fs__get_checks_the_bound_before_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_fs__delete_missing_is_success, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_fs__delete_prunes_empty_directories_not_the_root, setup,
						teardown),
		cmocka_unit_test_setup_teardown(backend_fs__rejects_keys_escaping_the_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_fs__open_creates_the_directory_and_sweeps_stale_temporaries,
						setup, teardown),
		cmocka_unit_test_setup_teardown(backend_fs__open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(backend_fs__concurrent_puts_gets_deletes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
