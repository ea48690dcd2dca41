/* Fuzz target for the AlterPartition codec. The first two bytes pick a version in
 * [ALTER_PARTITION_MIN_VERSION, ALTER_PARTITION_MAX_VERSION];
 * the rest is decoded as a request body and, separately, as a response
 * body. Whatever decodes must re-encode to bytes that decode again and
 * re-encode identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/alter_partition.h"

static void fuzz_alter_partition_request(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct alter_partition_request a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (alter_partition_request_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	alter_partition_request_encode(&w1, v, &a);
	alter_partition_request_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (alter_partition_request_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	alter_partition_request_encode(&w2, v, &b);
	alter_partition_request_free(&b);
	if (w2.len != w1.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len) != 0))
		abort();
	kw_free(&w1);
	kw_free(&w2);
}

static void fuzz_alter_partition_response(int16_t v, const uint8_t *p, size_t n)
{
	struct kreader r;
	struct alter_partition_response a, b;
	struct kwriter w1, w2;
	kr_init(&r, p, n);
	if (alter_partition_response_decode(&r, v, &a) != 0)
		return;
	kw_init(&w1, 64);
	alter_partition_response_encode(&w1, v, &a);
	alter_partition_response_free(&a);
	if (!kw_ok(&w1))
		abort();
	kr_init(&r, w1.buf, w1.len);
	if (alter_partition_response_decode(&r, v, &b) != 0 || r.left != 0)
		abort();
	kw_init(&w2, 64);
	alter_partition_response_encode(&w2, v, &b);
	alter_partition_response_free(&b);
	if (w2.len != w1.len || (w1.len && memcmp(w1.buf, w2.buf, w1.len) != 0))
		abort();
	kw_free(&w1);
	kw_free(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned sel = ((unsigned)data[0] << 8) | data[1];
	unsigned span = ALTER_PARTITION_MAX_VERSION - ALTER_PARTITION_MIN_VERSION + 1;
	int16_t v = (int16_t)(ALTER_PARTITION_MIN_VERSION + sel % span);
	fuzz_alter_partition_request(v, data + 2, size - 2);
	fuzz_alter_partition_response(v, data + 2, size - 2);
	return 0;
}
