#include "broker/protocol/crc32c.h"

#include <pthread.h>

/* Slicing-by-8 tables, built once: no Debian package ships a CRC-32C library.
 * On x86-64 with SSE4.2 the crc32 instruction does the work instead (about 10x
 * faster: the produce path checks the CRC of every batch). */
static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;

static void crc32c_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc32c_table[0][n] = c;
	}
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = crc32c_table[0][n];
		for (int k = 1; k < 8; k++) {
			c = crc32c_table[0][c & 0xff] ^ (c >> 8);
			crc32c_table[k][n] = c;
		}
	}
}

#if defined(__x86_64__)
#include <nmmintrin.h>
#include <string.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p, size_t n)
{
	uint64_t c = ~crc;
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = _mm_crc32_u64(c, v);
		p += 8;
		n -= 8;
	}
	uint32_t c32 = (uint32_t)c;
	while (n--)
		c32 = _mm_crc32_u8(c32, *p++);
	return ~c32;
}

static int crc32c_have_hw = -1;
#endif

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n);

uint32_t crc32c(uint32_t crc, const void *buf, size_t n)
{
#if defined(__x86_64__)
	if (crc32c_have_hw < 0)
		crc32c_have_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
	if (crc32c_have_hw)
		return crc32c_hw(crc, buf, n);
#endif
	return crc32c_sw(crc, buf, n);
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n)
{
	pthread_once(&crc32c_once, crc32c_init);
	crc = ~crc;
	while (n >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
		      crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
