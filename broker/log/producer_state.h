/* producer_state: a partition log's idempotent-producer state - for every
 * producer id that wrote to the log, its epoch and the metadata of its last
 * PRODUCER_STATE_BATCHES batches (Kafka's ProducerStateManager,
 * ProducerStateEntry, BatchMetadata, KIP-98).
 *
 * The leader asks producer_state_check() about each batch a producer sends,
 * before it assigns offsets: a retry of a batch already in the log is
 * acknowledged again with its original offsets instead of being appended
 * twice, a gap in the sequence numbers or a fenced epoch is refused. Every
 * replica, leader and follower alike, feeds every appended batch to
 * producer_state_update(), so a new leader knows the batches the old one
 * appended and deduplicates their retries.
 *
 * Batches without a producer id (-1) are not tracked. Tern has no
 * transactions (no transactional API is advertised): transactional and
 * control batches, should a log hold any, are tracked like plain ones.
 *
 * Snapshot files, in the partition directory under Kafka's name
 * `<20-digit offset>.snapshot`: the state after every batch below that
 * offset. Tern's own format (Kafka's keeps only the last batch of each
 * producer, which loses deduplication of the older in-flight batches on a
 * restart), all integers big-endian:
 *
 *   0  u32 magic 0x54505331 ("TPS1")
 *   4  u32 CRC-32C of every byte from offset 8 to the end
 *   8  i64 offset             equal to the offset in the file name
 *  16  u32 count              producers that follow, ids strictly increasing
 *  20  count x producer:
 *        i64 producer_id      >= 0
 *        i16 producer_epoch
 *        i64 last_timestamp   max timestamp of its last batch (expiration)
 *        u8  batch count      0..PRODUCER_STATE_BATCHES, oldest first
 *        batch count x batch:
 *          i32 first_seq, i32 last_seq, i64 last_offset, i32 offset_delta,
 *          i64 max_timestamp  (28 bytes; 0 <= offset_delta <= last_offset,
 *                              last_offset < the snapshot's offset and
 *                              increasing from batch to batch)
 *   the file ends right after the last producer.
 *
 * A file that fails any check is corrupt (-EBADMSG); the owner
 * (broker/log/log.c) deletes it and rebuilds from an older snapshot or from
 * the batches. Nothing is allocated for a file before its size is bounded
 * (PRODUCER_STATE_SNAPSHOT_MAX_BYTES) and counts are checked against the
 * bytes left.
 *
 * Not thread-safe: one thread at a time, like the log.
 */
#ifndef TERN_LOG_PRODUCER_STATE_H
#define TERN_LOG_PRODUCER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker/protocol/batch.h"

/* Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN: as many batches as a
 * producer may have in flight (max.in.flight.requests.per.connection <= 5
 * with idempotence). */
#define PRODUCER_STATE_BATCHES 5
/* Kafka's RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH / NO_SEQUENCE. */
#define PRODUCER_STATE_NO_PRODUCER_ID (-1LL)
#define PRODUCER_STATE_NO_EPOCH (-1)
#define PRODUCER_STATE_NO_SEQUENCE (-1)
/* Kafka's producer.id.expiration.ms default (1 day). */
#define PRODUCER_STATE_DEFAULT_EXPIRATION_MS 86400000LL

#define PRODUCER_STATE_SNAPSHOT_SUFFIX ".snapshot"
#define PRODUCER_STATE_SNAPSHOT_MAGIC 0x54505331u
/* A snapshot file larger than this is corrupt: bounds what a load allocates
 * (about 400,000 producers with five batches each). A state that would
 * encode larger is not written (-EFBIG). */
#define PRODUCER_STATE_SNAPSHOT_MAX_BYTES (64 * 1024 * 1024)

/* Kafka's BatchMetadata: one appended batch of a producer. */
struct producer_state_batch {
	int32_t first_seq;     /* base_sequence of the batch */
	int32_t last_seq;      /* first_seq + offset_delta, wrapping past INT32_MAX to 0 */
	int64_t last_offset;   /* offset of its last record */
	int32_t offset_delta;  /* last_offset - first offset (last_offset_delta), >= 0 */
	int64_t max_timestamp; /* the batch's max_timestamp */
};

struct producer_state_entry {
	int64_t producer_id;    /* >= 0 */
	int16_t producer_epoch; /* of the latest batch; a new epoch empties `batches` */
	uint8_t nbatches;       /* [0, PRODUCER_STATE_BATCHES] */
	int64_t last_timestamp; /* max_timestamp of the latest batch: producer.id.expiration.ms counts from it */
	struct producer_state_batch batches[PRODUCER_STATE_BATCHES]; /* [0, nbatches), oldest first */
};

struct producer_state {
	struct producer_state_entry *entries; /* [0, count) by strictly increasing producer_id; owned */
	size_t count;
	size_t cap; /* allocated entries */
};

/* What the leader does with a batch from a producer. */
enum producer_state_result {
	PRODUCER_STATE_NEW = 0,          /* append it */
	PRODUCER_STATE_DUPLICATE,        /* already in the log: acknowledge the original offsets, append nothing */
	PRODUCER_STATE_OUT_OF_ORDER,     /* OUT_OF_ORDER_SEQUENCE_NUMBER */
	PRODUCER_STATE_INVALID_EPOCH,    /* INVALID_PRODUCER_EPOCH: an epoch older than the known one */
};

struct producer_state_verdict {
	enum producer_state_result result;
	/* DUPLICATE: the original batch's offsets [first_offset, last_offset]
	 * and max timestamp (Kafka answers them, with log_append_time -1; with
	 * acks=all the response waits until the high watermark passes
	 * last_offset, as for the original). -1 otherwise. */
	int64_t first_offset;
	int64_t last_offset;
	int64_t max_timestamp;
	/* What the log knows of the producer, for error messages: its epoch
	 * and last sequence, PRODUCER_STATE_NO_EPOCH / NO_SEQUENCE when
	 * unknown. */
	int16_t known_epoch;
	int32_t known_last_seq;
};

/* An empty state (no allocation). */
void producer_state_init(struct producer_state *ps);
/* Frees the entries; `ps` is empty and reusable afterwards. */
void producer_state_free(struct producer_state *ps);
/* Drops every producer (keeps the allocation). */
void producer_state_clear(struct producer_state *ps);

/* Kafka's DefaultRecordBatch.lastSequence: base_sequence + last_offset_delta,
 * wrapping past INT32_MAX to 0; NO_SEQUENCE when base_sequence is. */
int32_t producer_state_last_seq(int32_t base_sequence, int32_t last_offset_delta);

/* The entry of `producer_id`, or NULL. Borrowed: valid until the next call
 * that changes `ps`. */
const struct producer_state_entry *producer_state_find(const struct producer_state *ps, int64_t producer_id);

/* Decides what the leader does with batch `h` from a producer (only
 * producer_id, producer_epoch, base_sequence and last_offset_delta are read;
 * offsets need not be assigned yet), in Kafka's order
 * (UnifiedLog.analyzeAndValidateProducerState, ProducerAppendInfo):
 *   - no producer id, or a producer the log does not know (new, expired, or
 *     its batches gone with retention): NEW, whatever the sequence (KIP-360);
 *   - same epoch and the exact first_seq..last_seq of one of the cached
 *     batches: DUPLICATE with that batch's offsets;
 *   - an older epoch: INVALID_EPOCH;
 *   - a newer epoch: NEW when base_sequence is 0, else OUT_OF_ORDER;
 *   - the same epoch: NEW when base_sequence follows the last sequence
 *     (last + 1, or 0 after INT32_MAX), else OUT_OF_ORDER - which is also
 *     the answer for a retry of a batch older than the cached five.
 * A known entry whose epoch is NO_EPOCH accepts any sequence, as Kafka's.
 * Pure: `ps` is not changed. */
void producer_state_check(const struct producer_state *ps, const struct batch_header *h,
			  struct producer_state_verdict *out);

/* Makes sure producer_state_update() of a batch of `producer_id` cannot
 * fail: room for one more entry when the producer is new. 0 or -ENOMEM. */
int producer_state_prepare(struct producer_state *ps, int64_t producer_id);

/* Records appended batch `h` (offsets assigned): a new epoch replaces the
 * producer's cached batches, the oldest cached batch goes when there are
 * PRODUCER_STATE_BATCHES already, last_timestamp becomes its max_timestamp.
 * No validation (a follower takes what its leader appended). A batch
 * without a producer id changes nothing. Returns 0 or -ENOMEM (nothing
 * changed; not after producer_state_prepare for the same producer). */
int producer_state_update(struct producer_state *ps, const struct batch_header *h);

/* Kafka's removeExpiredProducers: drops the producers whose last_timestamp
 * is expiration_ms or more before now_ms (producer.id.expiration.ms).
 * Returns how many went. */
size_t producer_state_expire(struct producer_state *ps, int64_t now_ms, int64_t expiration_ms);

/* ---- snapshots (format above) ---- */

/* Encodes `ps` as a snapshot at `offset`. Returns 0 with *out (malloc'd,
 * caller frees) and *len, -EFBIG beyond PRODUCER_STATE_SNAPSHOT_MAX_BYTES,
 * or -ENOMEM. */
int producer_state_encode(const struct producer_state *ps, int64_t offset, uint8_t **out, size_t *len);
/* Replaces the contents of `ps` with the snapshot in buf[0, len) (borrowed),
 * validating everything listed above; *offset gets its offset. Returns 0,
 * -EBADMSG (ps left empty) or -ENOMEM. Safe on any bytes. */
int producer_state_decode(struct producer_state *ps, const uint8_t *buf, size_t len, int64_t *offset);

/* "<20-digit offset>.snapshot" into name[0, 32). */
void producer_state_snapshot_name(int64_t offset, char name[32]);
/* Writes dir/<offset>.snapshot through a temporary file and a rename, so a
 * reader never sees a partial file. With `sync` the file and the directory
 * are fsynced; without, a crash of the machine may leave a torn file that
 * the CRC rejects. Returns 0 or -errno. */
int producer_state_snapshot_write(const struct producer_state *ps, const char *dir, int64_t offset, bool sync);
/* Replaces `ps` with dir/<offset>.snapshot. Returns 0, -ENOENT, -EBADMSG
 * (corrupt, or holding another offset), or -errno; on error `ps` is left
 * empty. */
int producer_state_snapshot_read(struct producer_state *ps, const char *dir, int64_t offset);
/* Offsets of the snapshot files in `dir`, increasing: *offsets malloc'd
 * (caller frees; NULL when *n is 0). Returns 0 or -errno. */
int producer_state_snapshot_list(const char *dir, int64_t **offsets, size_t *n);
/* Removes dir/<offset>.snapshot; a missing file is not an error. 0 or -errno. */
int producer_state_snapshot_delete(const char *dir, int64_t offset);

#endif
