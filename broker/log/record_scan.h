/* record_scan: finds single records inside one stored record batch, for the
 * timestamp lookups of ListOffsets.
 *
 * Only uncompressed batches are opened record by record. For a compressed
 * batch the answers are batch-level: the batch's first offset (not below
 * `min_offset`) for "first record at or after a timestamp", and the batch's
 * last offset for "record holding the largest timestamp" (Kafka's "shallow"
 * offset before KIP-734's exact answer). LogAppendTime batches need no record
 * walk: every record carries the batch's max_timestamp.
 *
 * Borrows the batch bytes for the duration of the call; allocates nothing.
 */
#ifndef TERN_LOG_RECORD_SCAN_H
#define TERN_LOG_RECORD_SCAN_H

#include <stddef.h>
#include <stdint.h>

/* The first record of the batch `buf` (whole batch, `len` bytes) whose
 * timestamp is >= `timestamp` and whose offset is >= `min_offset`. Returns 0
 * with *offset and *record_ts, or -ENOENT. */
int record_scan_first_at_or_after(const uint8_t *buf, size_t len, int64_t timestamp, int64_t min_offset,
				  int64_t *offset, int64_t *record_ts);

/* The first record of the batch holding its largest timestamp. Returns 0 with
 * *offset and *record_ts, or -ENOENT for a batch without timestamps. */
int record_scan_max_timestamp(const uint8_t *buf, size_t len, int64_t *offset, int64_t *record_ts);

#endif
