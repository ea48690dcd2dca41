/* batch_builder: writes a complete record batch (magic 2) from records, with
 * any of Kafka's codecs and a correct CRC-32C, as a producer would send it:
 * base offset 0, offset deltas 0..n-1, base_timestamp = the first record's
 * timestamp, max_timestamp = the largest one (CreateTime).
 *
 * Used by log tests, fuzz seeds, and the claim-check stage, which decodes a
 * batch, replaces values and re-encodes it with its original codec and
 * producer fields.
 *
 * Ownership: the builder copies every record into its own buffer as it is
 * added, so the inputs are borrowed for the duration of the call only. The
 * finished batch is a malloc'd buffer owned by the caller (free()).
 */
#ifndef TERN_PROTOCOL_BATCH_BUILDER_H
#define TERN_PROTOCOL_BATCH_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/record.h"

/* Header fields of the batch to build. batch_builder_opts_default() gives a
 * plain producer's: no compression, no producer id, no epoch. */
struct batch_builder_opts {
	int codec;                      /* enum batch_compression */
	int16_t attributes;             /* extra bits: BATCH_ATTR_TRANSACTIONAL,
					   BATCH_ATTR_CONTROL; the codec bits are
					   taken from `codec` */
	int32_t partition_leader_epoch; /* -1 from producers */
	int64_t producer_id;            /* -1: none */
	int16_t producer_epoch;         /* -1: none */
	int32_t base_sequence;          /* -1: none */
};

struct batch_builder_opts batch_builder_opts_default(void);

/* One record to add (all views borrowed). */
struct batch_builder_record {
	int64_t timestamp;                    /* ms; -1 for none */
	struct kbytes key;                    /* len -1 = null */
	struct kbytes value;                  /* len -1 = null */
	const struct record_header *headers;  /* headers_count entries */
	int32_t headers_count;
};

struct batch_builder {
	struct batch_builder_opts opts;
	struct kwriter records; /* uncompressed records area */
	int32_t count;          /* records added */
	int64_t base_timestamp; /* the first record's */
	int64_t max_timestamp;  /* largest so far, at least -1 */
};

void batch_builder_init(struct batch_builder *b, const struct batch_builder_opts *opts);

/* Appends a record. Returns 0, or -1 when out of memory or past INT32_MAX
 * records (the builder stays usable only for batch_builder_free then). */
int batch_builder_add(struct batch_builder *b, const struct batch_builder_record *rec);

/* Compresses the records, writes the header and CRC, and returns the whole
 * batch in *out (malloc'd, the caller frees) of *out_len bytes. The builder
 * is then empty; free it with batch_builder_free. A batch without records
 * is written too (records_count 0, last_offset_delta -1), which is what
 * validation tests need. Returns 0 or a negative COMPRESS_E* code. */
int batch_builder_finish(struct batch_builder *b, uint8_t **out, size_t *out_len);

void batch_builder_free(struct batch_builder *b);

/* One call: builds a batch of n records. Returns 0 or negative. */
int batch_builder_build(const struct batch_builder_opts *opts, const struct batch_builder_record *recs,
			int32_t n, uint8_t **out, size_t *out_len);

#endif
