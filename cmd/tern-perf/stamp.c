#include "cmd/tern-perf/stamp.h"

#include <string.h>

static const char stamp_magic[4] = {'T', 'R', 'N', '1'};

static void stamp_put64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (uint8_t)u;
}

static int64_t stamp_get64(const uint8_t *p)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (int64_t)u;
}

int stamp_write(void *p, size_t len, int64_t seq, int64_t sent_us)
{
	if (len < STAMP_SIZE)
		return -1;
	uint8_t *b = p;
	memcpy(b, stamp_magic, sizeof(stamp_magic));
	stamp_put64(b + 4, seq);
	stamp_put64(b + 12, sent_us);
	return 0;
}

int stamp_read(const void *p, size_t len, int64_t *seq, int64_t *sent_us)
{
	const uint8_t *b = p;
	if (!p || len < STAMP_SIZE || memcmp(b, stamp_magic, sizeof(stamp_magic)) != 0)
		return -1;
	*seq = stamp_get64(b + 4);
	*sent_us = stamp_get64(b + 12);
	return 0;
}
