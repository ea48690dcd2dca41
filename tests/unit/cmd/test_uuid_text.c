/* Unit tests of cmd/tern/uuid_text.c (compiled in: the CLI is not a library). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "cmd/tern/uuid_text.c"

static void uuid_text_format__matches_java_base64url(void **state)
{
	/* Bytes 00..0f as Java's Base64.getUrlEncoder().withoutPadding() prints them. */
	uint8_t id[16];
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)i;
	char out[UUID_TEXT_LEN + 1];
	uuid_text_format(id, out);
	assert_string_equal(out, "AAECAwQFBgcICQoLDA0ODw");
}

static void uuid_text_format__uses_url_alphabet(void **state)
{
	uint8_t id[16];
	memset(id, 0xff, sizeof(id));
	char out[UUID_TEXT_LEN + 1];
	uuid_text_format(id, out);
	assert_string_equal(out, "_____________________w");
	memset(id, 0xfb, sizeof(id));
	uuid_text_format(id, out);
	assert_non_null(strchr(out, '-'));
	assert_null(strchr(out, '+'));
	assert_null(strchr(out, '/'));
}

static void uuid_text_parse__round_trips(void **state)
{
	uint8_t id[16], back[16];
	for (int i = 0; i < 16; i++)
		id[i] = (uint8_t)(i * 37 + 11);
	char out[UUID_TEXT_LEN + 1];
	uuid_text_format(id, out);
	assert_int_equal(strlen(out), 22);
	assert_int_equal(uuid_text_parse(out, back), 0);
	assert_memory_equal(id, back, 16);
}

static void uuid_text_parse__rejects_bad_text(void **state)
{
	uint8_t id[16];
	assert_int_equal(uuid_text_parse("short", id), -1);
	assert_int_equal(uuid_text_parse("AAECAwQFBgcICQoLDA0OD+", id), -1);
	/* The last character may only carry two bits. */
	assert_int_equal(uuid_text_parse("AAECAwQFBgcICQoLDA0ODx", id), -1);
}

static void uuid_text_is_zero__only_for_zero(void **state)
{
	uint8_t id[16] = {0};
	assert_true(uuid_text_is_zero(id));
	id[15] = 1;
	assert_false(uuid_text_is_zero(id));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uuid_text_format__matches_java_base64url),
		cmocka_unit_test(uuid_text_format__uses_url_alphabet),
		cmocka_unit_test(uuid_text_parse__round_trips),
		cmocka_unit_test(uuid_text_parse__rejects_bad_text),
		cmocka_unit_test(uuid_text_is_zero__only_for_zero),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
