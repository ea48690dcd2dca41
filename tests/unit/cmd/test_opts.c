/* Unit tests of cmd/tern/opts.c (compiled in: the CLI is not a library). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/tern/opts.c"

static void kv_list_add__keeps_blanks(void **state)
{
	struct kv_list l = {0};
	assert_int_equal(kv_list_add(&l, "key.separator= "), 0);
	assert_string_equal(kv_list_get(&l, "key.separator"), " ");
	kv_list_free(&l);
}

static void kv_list_add_trimmed__splits_trims_and_last_wins(void **state)
{
	struct kv_list l = {0};
	assert_int_equal(kv_list_add_trimmed(&l, " acks = all "), 0);
	assert_int_equal(kv_list_add(&l, "a=b=c"), 0);
	assert_int_equal(kv_list_add(&l, "acks=1"), 0);
	assert_string_equal(kv_list_get(&l, "acks"), "1");
	assert_string_equal(kv_list_get(&l, "a"), "b=c");
	assert_null(kv_list_get(&l, "missing"));
	assert_int_equal(kv_list_add(&l, "novalue"), -1);
	assert_int_equal(kv_list_add(&l, "=x"), -1);
	kv_list_free(&l);
}

static void opts_parse_i64__whole_string_in_range(void **state)
{
	int64_t v;
	assert_int_equal(opts_parse_i64("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(opts_parse_i64("0", 1, 100, &v), -1);
	assert_int_equal(opts_parse_i64("4x", 1, 100, &v), -1);
	assert_int_equal(opts_parse_i64("", 1, 100, &v), -1);
	assert_int_equal(opts_parse_i64("99999999999999999999", 1, INT64_MAX, &v), -1);
}

static void opts_parse_bool__true_in_any_case_only(void **state)
{
	assert_true(opts_parse_bool("true"));
	assert_true(opts_parse_bool(" TRUE "));
	assert_false(opts_parse_bool("yes"));
	assert_false(opts_parse_bool("1"));
	assert_false(opts_parse_bool(NULL));
}

static void opts_load_properties__reads_java_properties(void **state)
{
	char path[] = "/tmp/tern-opts-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "# comment\n! also\n\nsecurity.protocol=PLAINTEXT\nlinger.ms : 5\r\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct kv_list l = {0};
	char err[256];
	assert_int_equal(opts_load_properties(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(kv_list_get(&l, "security.protocol"), "PLAINTEXT");
	assert_string_equal(kv_list_get(&l, "linger.ms"), "5");
	kv_list_free(&l);
	unlink(path);
	assert_int_equal(opts_load_properties(path, &l, err, sizeof(err)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kv_list_add__keeps_blanks),
		cmocka_unit_test(kv_list_add_trimmed__splits_trims_and_last_wins),
		cmocka_unit_test(opts_parse_i64__whole_string_in_range),
		cmocka_unit_test(opts_parse_bool__true_in_any_case_only),
		cmocka_unit_test(opts_load_properties__reads_java_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
