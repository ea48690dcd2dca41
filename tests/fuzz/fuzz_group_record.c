/* libFuzzer target: the __consumer_offsets record decoder (group_log_decode).
 *
 * The records are written by the broker itself, but a log is read back after
 * crashes and from other replicas: any bytes must decode or fail cleanly.
 * The first two bytes give the key's length; the key follows, then the
 * value (a null value when the input ends right after the key). */
#include <stddef.h>
#include <stdint.h>

#include "broker/group/group_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t klen = ((size_t)data[0] << 8) | data[1];
	data += 2;
	size -= 2;
	if (klen > size)
		klen = size;
	struct kbytes key = {data, (int32_t)klen};
	struct kbytes value = {size > klen ? data + klen : NULL, size > klen ? (int32_t)(size - klen) : -1};
	struct group_log_record r;
	(void)group_log_decode(key, value, &r);
	group_log_record_free(&r);
	return 0;
}
