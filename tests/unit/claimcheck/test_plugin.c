/* plugin: the example plug-in (plugins/libtern-claimcheck-example.so, built
 * next to this test's build tree) loaded through claimcheck_backend_open;
 * its own on-disk layout proves it was used. Bad paths, a shared object
 * that is not a plug-in and a failing open() are clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "claimcheck/claimcheck.h"
#include "claimcheck/claimcheck_plugin.h"
#include "broker/logger.h"

#define TEST_PLUGIN_NAME "libtern-claimcheck-example.so"

struct fixture {
	char dir[64];
	char plugin[PATH_MAX];
	struct claimcheck_backend *b;
	char err[1024];
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* CMake writes plug-ins to <build>/plugins and this test somewhere below
 * <build>: walk up from the executable until plugins/<name> exists. */
static bool find_plugin(char *out, size_t outlen)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *dir = dirname(exe);
	for (int depth = 0; depth < 6; depth++) {
		snprintf(out, outlen, "%s/plugins/" TEST_PLUGIN_NAME, dir);
		if (access(out, R_OK) == 0)
			return true;
		if (strcmp(dir, "/") == 0)
			break;
		dir = dirname(dir);
	}
	return false;
}

static struct claimcheck_config plugin_config(const char *path, const char *config)
{
	struct claimcheck_config cfg = {0};
	cfg.backend = "plugin";
	cfg.plugin_path = path;
	cfg.plugin_config = config;
	cfg.workers = 1;
	return cfg;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/tern-test-ccplug-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	if (!find_plugin(f->plugin, sizeof f->plugin))
		fail_msg("%s not found in a plugins/ directory above this test binary", TEST_PLUGIN_NAME);
	struct claimcheck_config cfg = plugin_config(f->plugin, f->dir);
	int rc = claimcheck_backend_open(&cfg, &f->b, f->err, sizeof f->err);
	if (rc != 0)
		fail_msg("open: %s", f->err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	claimcheck_backend_close(f->b);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void plugin__put_get_delete_through_the_example(void **state)
{
	struct fixture *f = *state;
	const char *key = "payments/2/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
	size_t n = 3u << 20;
	uint8_t *v = malloc(n);
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)(i * 7 + (i >> 11));
	assert_string_equal(claimcheck_backend_name(f->b), "plugin");
	assert_int_equal(claimcheck_backend_put(f->b, key, v, n, f->err, sizeof f->err), 0);

	/* The example's layout: <config>/objects/<key>.blob with a 16-byte
	 * header; nothing at the fs backend's <dir>/<key>. */
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof path, "%s/objects/%s.blob", f->dir, key);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, (off_t)n + 16);
	snprintf(path, sizeof path, "%s/%s", f->dir, key);
	assert_int_not_equal(access(path, F_OK), 0);

	uint8_t *got = NULL;
	size_t len = 0;
	assert_int_equal(claimcheck_backend_get(f->b, key, n, &got, &len, f->err, sizeof f->err), 0);
	assert_int_equal(len, n);
	assert_true(memcmp(got, v, n) == 0);
	free(got); /* the adapter's copy: plain free() */

	assert_int_equal(claimcheck_backend_get(f->b, key, n - 1, &got, &len, f->err, sizeof f->err),
			 CLAIMCHECK_ETOOBIG);
	assert_null(got);

	assert_int_equal(claimcheck_backend_delete(f->b, key, f->err, sizeof f->err), 0);
	assert_int_equal(claimcheck_backend_get(f->b, key, n, &got, &len, f->err, sizeof f->err),
			 CLAIMCHECK_ENOTFOUND);
	assert_int_equal(claimcheck_backend_delete(f->b, key, f->err, sizeof f->err), 0);
	free(v);
}

static void plugin__errors_of_the_plugin_reach_the_caller(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(claimcheck_backend_put(f->b, "t/0/k", (const uint8_t *)"hello", 5, f->err, sizeof f->err), 0);
	/* Truncate the object behind the plug-in's back: its header check
	 * fails, and the reason comes through. */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/objects/t/0/k.blob", f->dir);
	assert_int_equal(truncate(path, 18), 0);
	uint8_t *got = NULL;
	size_t len = 0;
	assert_int_equal(claimcheck_backend_get(f->b, "t/0/k", 100, &got, &len, f->err, sizeof f->err),
			 CLAIMCHECK_EBACKEND);
	assert_null(got);
	assert_non_null(strstr(f->err, "t/0/k"));

	assert_int_equal(claimcheck_backend_put(f->b, "../escape", (const uint8_t *)"x", 1, f->err, sizeof f->err),
			 CLAIMCHECK_EBACKEND);
	assert_non_null(strstr(f->err, "bad key"));
}

static void plugin__bad_path_is_a_clear_error(void **state)
{
	struct fixture *f = *state;
	struct claimcheck_backend *b = (struct claimcheck_backend *)1;
	char missing[PATH_MAX];
	snprintf(missing, sizeof missing, "%s/no-such-plugin.so", f->dir);
	struct claimcheck_config cfg = plugin_config(missing, f->dir);
	assert_int_equal(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err), CLAIMCHECK_EINVALID);
	assert_null(b);
	assert_non_null(strstr(f->err, missing));
	assert_non_null(strstr(f->err, "cannot load"));

	/* A file that is not a shared object at all. */
	char junk[PATH_MAX];
	snprintf(junk, sizeof junk, "%s/junk.so", f->dir);
	int fd = open(junk, O_CREAT | O_WRONLY, 0644);
	assert_int_equal(write(fd, "not an ELF file", 15), 15);
	close(fd);
	cfg = plugin_config(junk, f->dir);
	assert_int_equal(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err), CLAIMCHECK_EINVALID);
	assert_non_null(strstr(f->err, junk));

	cfg = plugin_config(NULL, f->dir);
	assert_int_equal(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err), CLAIMCHECK_EINVALID);
	assert_non_null(strstr(f->err, "claimcheck.plugin.path"));
}

static void plugin__shared_object_without_the_symbol(void **state)
{
	struct fixture *f = *state;
	/* libcmocka is a real shared object that is not a plug-in. */
	Dl_info info;
	assert_true(dladdr((void *)_cmocka_run_group_tests, &info) != 0);
	assert_non_null(info.dli_fname);
	struct claimcheck_backend *b = (struct claimcheck_backend *)1;
	struct claimcheck_config cfg = plugin_config(info.dli_fname, f->dir);
	assert_int_equal(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err), CLAIMCHECK_EINVALID);
	assert_null(b);
	assert_non_null(strstr(f->err, TERN_CLAIMCHECK_PLUGIN_SYMBOL));
	assert_non_null(strstr(f->err, info.dli_fname));
}

static void plugin__failing_open_reports_the_plugins_reason(void **state)
{
	struct fixture *f = *state;
	struct claimcheck_backend *b = (struct claimcheck_backend *)1;
	struct claimcheck_config cfg = plugin_config(f->plugin, NULL);
	assert_true(claimcheck_backend_open(&cfg, &b, f->err, sizeof f->err) < 0);
	assert_null(b);
	assert_non_null(strstr(f->err, "must name a directory"));
	assert_non_null(strstr(f->err, "example"));
}

int main(void)
{
	logger_set_level(TLOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(plugin__put_get_delete_through_the_example, setup, teardown),
		cmocka_unit_test_setup_teardown(plugin__errors_of_the_plugin_reach_the_caller, setup, teardown),
		cmocka_unit_test_setup_teardown(plugin__bad_path_is_a_clear_error, setup, teardown),
		cmocka_unit_test_setup_teardown(plugin__shared_object_without_the_symbol, setup, teardown),
		cmocka_unit_test_setup_teardown(plugin__failing_open_reports_the_plugins_reason, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
