#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "broker/log/checkpoint.h"
#include "log/log_fixture.h"

static int fx_setup(void **state)
{
	*state = fx_tmpdir();
	return *state ? 0 : -1;
}

static int fx_teardown(void **state)
{
	fx_rmrf(*state);
	free(*state);
	return 0;
}

static void checkpoint_write__round_trip(void **state)
{
	const char *dir = *state;
	int64_t v = -1;
	assert_int_equal(checkpoint_read(dir, "cp", &v), -ENOENT);
	assert_int_equal(checkpoint_write(dir, "cp", 1234567890123LL), 0);
	assert_int_equal(checkpoint_read(dir, "cp", &v), 0);
	assert_int_equal(v, 1234567890123LL);
	assert_int_equal(checkpoint_write(dir, "cp", 7), 0);
	assert_int_equal(checkpoint_read(dir, "cp", &v), 0);
	assert_int_equal(v, 7);
	assert_false(fx_exists(dir, "cp.tmp"));
}

static void checkpoint_read__rejects_malformed(void **state)
{
	const char *dir = *state;
	const char *bad[] = {"", "1\n5\n", "0\n", "0\nabc\n", "0\n5", "0\n5\n6\n", "0\n-3\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		FILE *fp = fopen(fx_path(dir, "cp"), "w");
		fputs(bad[i], fp);
		fclose(fp);
		int64_t v;
		assert_int_equal(checkpoint_read(dir, "cp", &v), -EBADMSG);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(checkpoint_write__round_trip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(checkpoint_read__rejects_malformed, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
