/* logger: level filtering, line format, level names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/logger.h"

struct fixture {
	int fds[2];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_int_equal(pipe(f->fds), 0);
	fcntl(f->fds[0], F_SETFL, O_NONBLOCK);
	logger_set_fd(f->fds[1]);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	logger_set_fd(2);
	logger_set_level(TLOG_INFO);
	close(f->fds[0]);
	close(f->fds[1]);
	free(f);
	return 0;
}

static size_t drain(struct fixture *f, char *buf, size_t len)
{
	ssize_t n = read(f->fds[0], buf, len - 1);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return (size_t)n;
}

static void logger__writes_one_line_with_timestamp_level_and_subsystem(void **state)
{
	struct fixture *f = *state;
	logger_set_level(TLOG_INFO);
	tlog(TLOG_INFO, "net", "conn=%d peer=%s closed", 7, "127.0.0.1:5000");
	char buf[512];
	size_t n = drain(f, buf, sizeof buf);
	assert_true(n > 0);
	/* 2024-05-01T12:00:00.123Z INFO  net: ... */
	assert_int_equal(buf[4], '-');
	assert_int_equal(buf[10], 'T');
	assert_int_equal(buf[23], 'Z');
	assert_non_null(strstr(buf, " INFO "));
	assert_non_null(strstr(buf, "net: conn=7 peer=127.0.0.1:5000 closed\n"));
	assert_int_equal(buf[n - 1], '\n');
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1); /* one line */
}

static void logger__filters_below_level(void **state)
{
	struct fixture *f = *state;
	char buf[512];
	logger_set_level(TLOG_WARN);
	tlog(TLOG_INFO, "x", "hidden");
	tlog(TLOG_DEBUG, "x", "hidden");
	assert_int_equal(drain(f, buf, sizeof buf), 0);
	assert_false(tlog_enabled(TLOG_INFO));
	assert_true(tlog_enabled(TLOG_ERROR));
	tlog(TLOG_ERROR, "x", "shown\n"); /* its own newline is not doubled */
	size_t n = drain(f, buf, sizeof buf);
	assert_non_null(strstr(buf, "ERROR x: shown\n"));
	assert_int_not_equal(buf[n - 2], '\n');
}

static void logger__truncates_long_lines(void **state)
{
	struct fixture *f = *state;
	logger_set_level(TLOG_DEBUG);
	char *big = malloc(10000);
	memset(big, 'a', 9999);
	big[9999] = '\0';
	tlog(TLOG_DEBUG, "x", "%s", big);
	char buf[8192];
	size_t n = drain(f, buf, sizeof buf);
	assert_true(n > 0 && n <= 4096);
	assert_int_equal(buf[n - 1], '\n');
	free(big);
}

static void logger__level_names(void **state)
{
	assert_int_equal(logger_level_parse("error"), TLOG_ERROR);
	assert_int_equal(logger_level_parse("WARN"), TLOG_WARN);
	assert_int_equal(logger_level_parse("info"), TLOG_INFO);
	assert_int_equal(logger_level_parse("Debug"), TLOG_DEBUG);
	assert_int_equal(logger_level_parse("loud"), -1);
	assert_int_equal(logger_level_parse(NULL), -1);
	assert_string_equal(logger_level_name(TLOG_WARN), "WARN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(logger__writes_one_line_with_timestamp_level_and_subsystem, setup,
						teardown),
		cmocka_unit_test_setup_teardown(logger__filters_below_level, setup, teardown),
		cmocka_unit_test_setup_teardown(logger__truncates_long_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(logger__level_names, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
