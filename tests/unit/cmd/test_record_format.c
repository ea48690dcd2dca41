/* Unit tests of cmd/tern/record_format.c: kafka-console-consumer's output. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/tern/opts.c"
#include "cmd/tern/record_format.c"

struct fixture {
	struct kv_list props;
	struct record_format f;
	char *buf;
	size_t len;
	FILE *out;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	fx->out = open_memstream(&fx->buf, &fx->len);
	record_format_init(&fx->f);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	fclose(fx->out);
	free(fx->buf);
	kv_list_free(&fx->props);
	free(fx);
	return 0;
}

static const char *fixture_print(struct fixture *fx, const struct record_view *r)
{
	record_format_configure(&fx->f, &fx->props);
	assert_int_equal(record_format_write(&fx->f, r, fx->out), 0);
	fflush(fx->out);
	return fx->buf;
}

static const struct record_view plain = {
	.partition = 2, .offset = 41, .ts_type = RECORD_TS_CREATE_TIME, .timestamp = 1700000000000,
	.key = "k", .key_len = 1, .value = "hello", .value_len = 5,
};

static void record_format_write__value_only_by_default(void **state)
{
	assert_string_equal(fixture_print(*state, &plain), "hello\n");
}

static void record_format_write__columns_in_kafka_order(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "print.key=true");
	kv_list_add(&fx->props, "print.offset=true");
	kv_list_add(&fx->props, "print.partition=true");
	kv_list_add(&fx->props, "print.timestamp=true");
	assert_string_equal(fixture_print(fx, &plain), "CreateTime:1700000000000\tPartition:2\tOffset:41\tk\thello\n");
}

static void record_format_write__null_key_and_value_print_null(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "print.key=TRUE");
	struct record_view r = {.value = NULL, .key = NULL};
	assert_string_equal(fixture_print(fx, &r), "null\tnull\n");
}

static void record_format_write__headers(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "print.headers=true");
	struct record_header h[] = {{"a", "1", 1}, {"b", NULL, 0}};
	struct record_view r = plain;
	r.headers = h;
	r.header_cnt = 2;
	assert_string_equal(fixture_print(fx, &r), "a:1,b:null\thello\n");
}

static void record_format_write__no_headers_marker(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "print.headers=true");
	assert_string_equal(fixture_print(fx, &plain), "NO_HEADERS\thello\n");
}

static void record_format_write__custom_separators_and_no_value(void **state)
{
	struct fixture *fx = *state;
	kv_list_add(&fx->props, "print.key=true");
	kv_list_add(&fx->props, "print.value=false");
	kv_list_add(&fx->props, "key.separator=:");
	kv_list_add(&fx->props, "line.separator=|");
	/* The last column printed ends the line. */
	assert_string_equal(fixture_print(fx, &plain), "k|");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(record_format_write__value_only_by_default, setup, teardown),
		cmocka_unit_test_setup_teardown(record_format_write__columns_in_kafka_order, setup, teardown),
		cmocka_unit_test_setup_teardown(record_format_write__null_key_and_value_print_null, setup, teardown),
		cmocka_unit_test_setup_teardown(record_format_write__headers, setup, teardown),
		cmocka_unit_test_setup_teardown(record_format_write__no_headers_marker, setup, teardown),
		cmocka_unit_test_setup_teardown(record_format_write__custom_separators_and_no_value, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
