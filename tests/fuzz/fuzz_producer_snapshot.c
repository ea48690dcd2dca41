/* libFuzzer target: producer-state snapshots (producer_state_decode), read
 * from `<offset>.snapshot` files that a crash may have torn. Each input is
 * tried as it is and with its checksum made right (so the fuzzer reaches the
 * parser behind the CRC). Whatever decodes must encode again and decode to
 * the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "broker/log/producer_state.h"
#include "broker/protocol/crc32c.h"

static void fuzz_snapshot(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_snapshot(data, size);
	if (size >= 8) {
		uint8_t *fixed = malloc(size);
		if (fixed == NULL)
			return 0;
		memcpy(fixed, data, size);
		uint32_t crc = crc32c(0, fixed + 8, size - 8);
		fixed[4] = (uint8_t)(crc >> 24);
		fixed[5] = (uint8_t)(crc >> 16);
		fixed[6] = (uint8_t)(crc >> 8);
		fixed[7] = (uint8_t)crc;
		fuzz_snapshot(fixed, size);
		free(fixed);
	}
	return 0;
}

static void fuzz_snapshot(const uint8_t *data, size_t size)
{
	struct producer_state ps;
	producer_state_init(&ps);
	int64_t offset;
	if (producer_state_decode(&ps, data, size, &offset) == 0) {
		uint8_t *out = NULL;
		size_t len = 0;
		if (producer_state_encode(&ps, offset, &out, &len) != 0)
			abort();
		struct producer_state again;
		producer_state_init(&again);
		int64_t offset2;
		if (producer_state_decode(&again, out, len, &offset2) != 0 || offset2 != offset)
			abort();
		uint8_t *out2 = NULL;
		size_t len2 = 0;
		if (producer_state_encode(&again, offset2, &out2, &len2) != 0 || len2 != len || memcmp(out, out2, len) != 0)
			abort();
		free(out);
		free(out2);
		producer_state_free(&again);
	}
	producer_state_free(&ps);
}
