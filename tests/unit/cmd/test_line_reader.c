/* Unit tests of cmd/tern/line_reader.c: kafka-console-producer's parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tern/line_reader.c"
#include "cmd/tern/opts.c"

struct fixture {
	struct kv_list props;
	struct line_reader lr;
	struct line_record rec;
	char err[256];
};

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	line_record_free(&fx->rec);
	kv_list_free(&fx->props);
	free(fx);
	return 0;
}

static int fixture_parse(struct fixture *fx, const char *line)
{
	assert_int_equal(line_reader_configure(&fx->lr, &fx->props, fx->err, sizeof(fx->err)), 0);
	line_record_free(&fx->rec);
	return line_reader_parse(&fx->lr, line, strlen(line), &fx->rec, fx->err, sizeof(fx->err));
}

static void assert_span(struct line_span s, const char *want)
{
	if (!want) {
		assert_null(s.p);
		return;
	}
	assert_non_null(s.p);
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void line_reader_parse__whole_line_is_value_by_default(void **state)
{
	struct fixture *fx = *state;
	assert_int_equal(fixture_parse(fx, "a\tb"), 0);
	assert_span(fx->rec.key, NULL);
	assert_span(fx->rec.value, "a\tb");
}

static void line_reader_parse__splits_key_at_first_separator(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "parse.key=true");
	kv_list_add(&fx->props, "key.separator=:");
	assert_int_equal(fixture_parse(fx, "user1:a:b"), 0);
	assert_span(fx->rec.key, "user1");
	assert_span(fx->rec.value, "a:b");
}

static void line_reader_parse__missing_key_separator_is_kafkas_error(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "parse.key=true");
	assert_int_equal(fixture_parse(fx, "novalue"), -1);
	assert_string_equal(fx->err, "No key separator found on line number 1: 'novalue'");
}

static void line_reader_parse__ignore_error_keeps_line_as_value(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "parse.key=true");
	kv_list_add(&fx->props, "ignore.error=true");
	assert_int_equal(fixture_parse(fx, "novalue"), 0);
	assert_span(fx->rec.key, NULL);
	assert_span(fx->rec.value, "novalue");
}

static void line_reader_parse__null_marker(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "parse.key=true");
	kv_list_add(&fx->props, "null.marker=<null>");
	assert_int_equal(fixture_parse(fx, "<null>\t<null>"), 0);
	assert_span(fx->rec.key, NULL);
	assert_span(fx->rec.value, NULL);
}

static void line_reader_parse__headers_then_key(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "parse.key=true");
	kv_list_add(&fx->props, "parse.headers=true");
	assert_int_equal(fixture_parse(fx, "h1:v1,h2:\tk\tv"), 0);
	assert_int_equal(fx->rec.header_cnt, 2);
	assert_span(fx->rec.headers[0].name, "h1");
	assert_span(fx->rec.headers[0].value, "v1");
	assert_span(fx->rec.headers[1].name, "h2");
	assert_span(fx->rec.headers[1].value, "");
	assert_span(fx->rec.key, "k");
	assert_span(fx->rec.value, "v");
}

static void line_reader_parse__header_without_key_separator_fails(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "parse.headers=true");
	assert_int_equal(fixture_parse(fx, "h1\tv"), -1);
	assert_string_equal(fx->err, "No header key separator found in pair 'h1' on line number 1");
}

static void line_reader_parse__counts_lines(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "parse.key=true");
	assert_int_equal(line_reader_configure(&fx->lr, &fx->props, fx->err, sizeof(fx->err)), 0);
	assert_int_equal(line_reader_parse(&fx->lr, "a\tb", 3, &fx->rec, fx->err, sizeof(fx->err)), 0);
	line_record_free(&fx->rec);
	assert_int_equal(line_reader_parse(&fx->lr, "x", 1, &fx->rec, fx->err, sizeof(fx->err)), -1);
	assert_string_equal(fx->err, "No key separator found on line number 2: 'x'");
}

static void line_reader_configure__refuses_clashing_separators(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "null.marker=\t");
	assert_int_equal(line_reader_configure(&fx->lr, &fx->props, fx->err, sizeof(fx->err)), -1);
	assert_string_equal(fx->err, "null.marker and key.separator may not be equal");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(line_reader_parse__whole_line_is_value_by_default, setup, teardown),
		cmocka_unit_test_setup_teardown(line_reader_parse__splits_key_at_first_separator, setup, teardown),
		cmocka_unit_test_setup_teardown(line_reader_parse__missing_key_separator_is_kafkas_error, setup, teardown),
		cmocka_unit_test_setup_teardown(line_reader_parse__ignore_error_keeps_line_as_value, setup, teardown),
		cmocka_unit_test_setup_teardown(line_reader_parse__null_marker, setup, teardown),
		cmocka_unit_test_setup_teardown(line_reader_parse__headers_then_key, setup, teardown),
		cmocka_unit_test_setup_teardown(line_reader_parse__header_without_key_separator_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(line_reader_parse__counts_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(line_reader_configure__refuses_clashing_separators, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
