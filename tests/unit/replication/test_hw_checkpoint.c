#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_fixture.h"
#include "replication/hw_checkpoint.h"

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

static void fx_write(const char *dir, const char *content)
{
	FILE *fp = fopen(fx_path(dir, HW_CHECKPOINT_FILE), "w");
	assert_non_null(fp);
	fputs(content, fp);
	fclose(fp);
}

static char *fx_read(const char *dir)
{
	static char buf[4096];
	FILE *fp = fopen(fx_path(dir, HW_CHECKPOINT_FILE), "r");
	assert_non_null(fp);
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static void hw_checkpoint_store__kafka_format_and_round_trip(void **state)
{
	const char *dir = *state;
	struct hw_checkpoint c, back;
	hw_checkpoint_init(&c);
	hw_checkpoint_init(&back);
	assert_int_equal(hw_checkpoint_load(&back, dir), -ENOENT);
	assert_int_equal(hw_checkpoint_add(&c, "orders", 0, 42), 0);
	assert_int_equal(hw_checkpoint_add(&c, "orders", 3, 0), 0);
	assert_int_equal(hw_checkpoint_add(&c, "__consumer_offsets", 17, 9223372036854775807LL), 0);
	assert_int_equal(hw_checkpoint_store(&c, dir), 0);
	assert_string_equal(fx_read(dir), "0\n3\norders 0 42\norders 3 0\n__consumer_offsets 17 9223372036854775807\n");
	assert_false(fx_exists(dir, HW_CHECKPOINT_FILE ".tmp"));

	assert_int_equal(hw_checkpoint_load(&back, dir), 0);
	assert_int_equal(back.count, 3);
	int64_t off = -1;
	assert_true(hw_checkpoint_find(&back, "orders", 3, &off));
	assert_int_equal(off, 0);
	assert_true(hw_checkpoint_find(&back, "orders", 0, &off));
	assert_int_equal(off, 42);
	assert_true(hw_checkpoint_find(&back, "__consumer_offsets", 17, &off));
	assert_int_equal(off, 9223372036854775807LL);
	assert_false(hw_checkpoint_find(&back, "orders", 1, &off));
	assert_false(hw_checkpoint_find(&back, "order", 0, &off));

	/* An empty set is a valid file too. */
	hw_checkpoint_free(&c);
	assert_int_equal(hw_checkpoint_store(&c, dir), 0);
	assert_string_equal(fx_read(dir), "0\n0\n");
	assert_int_equal(hw_checkpoint_load(&back, dir), 0);
	assert_int_equal(back.count, 0);
	hw_checkpoint_free(&back);
}

static void hw_checkpoint_add__refuses_what_cannot_be_written(void **state)
{
	(void)state;
	struct hw_checkpoint c;
	hw_checkpoint_init(&c);
	char long_name[HW_CHECKPOINT_TOPIC_MAX + 2];
	memset(long_name, 'a', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_int_equal(hw_checkpoint_add(&c, "", 0, 1), -EINVAL);
	assert_int_equal(hw_checkpoint_add(&c, "a b", 0, 1), -EINVAL);
	assert_int_equal(hw_checkpoint_add(&c, "a\nb", 0, 1), -EINVAL);
	assert_int_equal(hw_checkpoint_add(&c, long_name, 0, 1), -EINVAL);
	assert_int_equal(hw_checkpoint_add(&c, "t", -1, 1), -EINVAL);
	assert_int_equal(hw_checkpoint_add(&c, "t", 0, -1), -EINVAL);
	assert_int_equal(c.count, 0);
	long_name[HW_CHECKPOINT_TOPIC_MAX] = '\0';
	assert_int_equal(hw_checkpoint_add(&c, long_name, 0, 1), 0);
	hw_checkpoint_free(&c);
}

static void hw_checkpoint_load__rejects_malformed(void **state)
{
	const char *dir = *state;
	const char *bad[] = {
		"",
		"1\n0\n",                    /* unknown version */
		"0\n",                       /* no count */
		"0\n2\nt 0 5\n",             /* fewer lines than counted */
		"0\n1\nt 0 5\nu 1 6\n",      /* more */
		"0\n1\nt 0 5",               /* no final newline */
		"0\n1\nt 0 -5\n",            /* negative offset */
		"0\n1\nt -1 5\n",            /* negative partition */
		"0\n1\nt 2147483648 5\n",    /* partition past int32 */
		"0\n1\nt 0 99999999999999999999\n", /* offset past int64 */
		"0\n1\nt 0\n",               /* missing field */
		"0\n1\n 0 5\n",              /* empty topic */
		"0\n1\nt  0 5\n",            /* double space */
		"0\n1\nt 0 5 \n",            /* trailing junk */
		"0\n99999999999999\n",       /* absurd count */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fx_write(dir, bad[i]);
		struct hw_checkpoint c;
		hw_checkpoint_init(&c);
		assert_int_equal(hw_checkpoint_add(&c, "left", 0, 1), 0);
		int rc = hw_checkpoint_load(&c, dir);
		if (rc != -EBADMSG)
			fail_msg("case %zu (%s): %d", i, bad[i], rc);
		assert_int_equal(c.count, 0);
		hw_checkpoint_free(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hw_checkpoint_store__kafka_format_and_round_trip, fx_setup, fx_teardown),
		cmocka_unit_test(hw_checkpoint_add__refuses_what_cannot_be_written),
		cmocka_unit_test_setup_teardown(hw_checkpoint_load__rejects_malformed, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
