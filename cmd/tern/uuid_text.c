#include "cmd/tern/uuid_text.h"

#include <string.h>

static const char uuid_text_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void uuid_text_format(const uint8_t uuid[16], char out[UUID_TEXT_LEN + 1])
{
	size_t o = 0;
	/* Five full 3-byte groups, then one byte left: 20 + 2 characters. */
	for (int i = 0; i < 15; i += 3) {
		uint32_t v = (uint32_t)uuid[i] << 16 | (uint32_t)uuid[i + 1] << 8 | uuid[i + 2];
		out[o++] = uuid_text_alphabet[(v >> 18) & 63];
		out[o++] = uuid_text_alphabet[(v >> 12) & 63];
		out[o++] = uuid_text_alphabet[(v >> 6) & 63];
		out[o++] = uuid_text_alphabet[v & 63];
	}
	out[o++] = uuid_text_alphabet[uuid[15] >> 2];
	out[o++] = uuid_text_alphabet[(uuid[15] & 3) << 4];
	out[o] = '\0';
}

static int uuid_text_value(char c)
{
	const char *p = c ? strchr(uuid_text_alphabet, c) : NULL;
	return p ? (int)(p - uuid_text_alphabet) : -1;
}

int uuid_text_parse(const char *s, uint8_t uuid[16])
{
	if (strlen(s) != UUID_TEXT_LEN)
		return -1;
	int v[UUID_TEXT_LEN];
	for (int i = 0; i < UUID_TEXT_LEN; i++)
		if ((v[i] = uuid_text_value(s[i])) < 0)
			return -1;
	/* The last character carries 2 data bits; the 4 low bits must be 0. */
	if (v[21] & 15)
		return -1;
	for (int g = 0; g < 5; g++) {
		uint32_t x = (uint32_t)v[4 * g] << 18 | (uint32_t)v[4 * g + 1] << 12 |
			     (uint32_t)v[4 * g + 2] << 6 | (uint32_t)v[4 * g + 3];
		uuid[3 * g] = (uint8_t)(x >> 16);
		uuid[3 * g + 1] = (uint8_t)(x >> 8);
		uuid[3 * g + 2] = (uint8_t)x;
	}
	uuid[15] = (uint8_t)(v[20] << 2 | v[21] >> 4);
	return 0;
}

bool uuid_text_is_zero(const uint8_t uuid[16])
{
	for (int i = 0; i < 16; i++)
		if (uuid[i])
			return false;
	return true;
}
