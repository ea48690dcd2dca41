/* Fuzzes batch splitting, validation, the record decoder and the four
 * decompressors with bytes as a producer could send them.
 *
 * A random CRC-32C is out of the fuzzer's reach, so each input is also
 * validated once more with its CRC fixed up: that reaches decompression and
 * record decoding. Decompression is bounded by a small max_uncompressed, so
 * a bomb shows up as an error, not as memory use.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/protocol/batch.h"
#include "broker/protocol/compress.h"
#include "broker/protocol/crc32c.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/record.h"

#define FUZZ_MAX_UNCOMPRESSED (64 * 1024)

static void fuzz_check_info(const struct batch_info *info)
{
	/* Invariants of a valid batch; a violation is a bug. */
	if (info->records_count <= 0 || info->last_offset_delta != info->records_count - 1 ||
	    info->records_size > FUZZ_MAX_UNCOMPRESSED || info->codec < 0 || info->codec > 4)
		abort();
}

static void fuzz_one_batch(const uint8_t *p, size_t n)
{
	struct batch_info info;
	if (batch_validate(p, n, FUZZ_MAX_UNCOMPRESSED, &info) == KERR_NONE)
		fuzz_check_info(&info);
	if (n < BATCH_HEADER_SIZE)
		return;

	uint8_t *copy = malloc(n);
	if (copy == NULL)
		return;
	memcpy(copy, p, n);
	uint32_t crc = crc32c(0, copy + BATCH_OFF_ATTRIBUTES, n - BATCH_OFF_ATTRIBUTES);
	batch_put_i32(copy + BATCH_OFF_CRC, (int32_t)crc);
	if (batch_validate(copy, n, FUZZ_MAX_UNCOMPRESSED, &info) == KERR_NONE)
		fuzz_check_info(&info);

	/* Whatever the header says, the records area must decode safely. */
	struct batch_records recs;
	if (batch_records_open(copy, n, FUZZ_MAX_UNCOMPRESSED, &recs) == KERR_NONE) {
		struct kreader r;
		struct record rec;
		kr_init(&r, recs.p, recs.len);
		while (r.left > 0 && record_decode(&r, &rec) == RECORD_OK) {
			struct record_header_iter it;
			struct record_header h;
			record_header_iter_init(&it, &rec);
			while (record_header_iter_next(&it, &h)) {
				if (h.key.len < 0)
					abort();
			}
		}
		batch_records_free(&recs);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct batch_iter it;
	const uint8_t *p;
	size_t n;
	batch_iter_init(&it, data, size);
	while (batch_iter_next(&it, &p, &n))
		fuzz_one_batch(p, n);
	if (it.err == KERR_NONE && batch_iter_offset(&it, data) != size)
		abort();
	/* The whole input as one batch, which also covers bad lengths. */
	fuzz_one_batch(data, size);

	/* The decompressors on raw bytes: first byte picks the codec. */
	if (size > 0) {
		uint8_t *out;
		size_t out_len;
		if (compress_decompress(1 + data[0] % 4, data + 1, size - 1, FUZZ_MAX_UNCOMPRESSED, &out,
					&out_len) == COMPRESS_OK) {
			if (out_len > FUZZ_MAX_UNCOMPRESSED)
				abort();
			free(out);
		}
	}
	return 0;
}
