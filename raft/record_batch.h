/* record_batch: several metadata records in one Raft entry, applied as one.
 *
 * A topic is a Topic record plus one Partition record per partition; fencing a
 * broker is a FenceBroker plus a PartitionChange per partition it led. If
 * those were separate entries, a controller that loses leadership halfway
 * would leave half a topic, or a fenced leader still leading, in the log for
 * good. A batch puts them in one entry: every member applies all or none.
 *
 * Entry layout (records.h's envelope, with a type of its own):
 *
 *   type     u16 big-endian   RECORD_BATCH_TYPE
 *   version  u16 big-endian   RECORD_BATCH_VERSION
 *   count    u32 big-endian   number of records, >= 2
 *   frames   count x (u32 big-endian length | record entry), records_frame_next()
 *
 * A batch of one record is written as that record's plain entry, so an entry
 * holding a single record reads the same with or without this file. A build
 * that predates batches sees RECORD_BATCH_TYPE as an unknown record type
 * (-ENOTSUP) and skips the whole entry, never half of it.
 */
#ifndef TERN_RAFT_RECORD_BATCH_H
#define TERN_RAFT_RECORD_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "raft/image.h"
#include "raft/records.h"

/* Outside KRaft's apiKey range, so it never collides with a record type. */
#define RECORD_BATCH_TYPE 0x7f00
#define RECORD_BATCH_VERSION 0
#define RECORD_BATCH_HEADER (RECORDS_ENVELOPE_BYTES + 4)
/* Most records one batch may hold (a decoder's bound, before allocating). */
#define RECORD_BATCH_MAX_RECORDS (1u << 20)

/* Bytes of the entry holding `recs[0..n)` (borrowed; n >= 1): a plain record
 * entry when n == 1, a batch otherwise. Returns 0 with *len set, -EINVAL (n
 * is 0 or past the bound, or a record is invalid) or -EMSGSIZE. */
int record_batch_encoded_size(const struct metadata_record *recs, size_t n, size_t *len);
/* Writes exactly record_batch_encoded_size() bytes into `buf` (the caller's,
 * e.g. from raft_malloc). Returns 0, -EINVAL (another length or an invalid
 * record) or -EMSGSIZE. */
int record_batch_encode_into(const struct metadata_record *recs, size_t n, uint8_t *buf, size_t len);

/* Decodes an entry of `len` bytes (borrowed), batch or plain record. On
 * success *out is an owned array of *n owned records, freed with
 * record_batch_free(). Records of a type this build does not know are left
 * out (as a plain entry's would be skipped); a plain entry of an unknown type
 * gives *n == 0. Returns 0, -EBADMSG (malformed: then nothing of the entry is
 * returned), -EMSGSIZE or -ENOMEM. */
int record_batch_decode(const uint8_t *buf, size_t len, struct metadata_record ***out, size_t *n);
void record_batch_free(struct metadata_record **recs, size_t n);

/* What an FSM does with an entry: decodes it and applies every record in
 * order to `cur` (borrowed, unchanged). *next is always set to an owned image:
 * the result, or `cur` re-referenced when the entry was malformed (returns
 * -EBADMSG / -EMSGSIZE after a logged warning: skip it, never stop raft).
 * Returns -ENOMEM with *next untouched when memory ran out. The position is
 * carried over from `cur` (see image_set_position()). */
int record_batch_apply(const struct metadata_image *cur, const uint8_t *buf, size_t len,
		       struct metadata_image **next);

#endif
