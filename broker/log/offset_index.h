/* offset_index: a segment's sparse offset index (<base>.index), Kafka's layout.
 *
 * The file is a sequence of 8-byte big-endian entries: the offset relative to
 * the segment's base offset (int32) of the last record of a batch, and the byte
 * position (int32) of that batch in the .log file. One entry is written every
 * index.interval.bytes of log, so a lookup lands at most that far before the
 * batch it wants and the reader scans forward from there.
 *
 * The entries are also kept in memory (8 bytes per index.interval.bytes of log)
 * for lookups; the file exists for the next open. It grows by appends, is not
 * preallocated, and is trusted only after a clean shutdown and a sanity check
 * (offset_index_sane); otherwise the segment rebuilds it (offset_index_reset,
 * then appends).
 *
 * Ownership: the index owns its file descriptor and entry array; release with
 * offset_index_close.
 */
#ifndef TERN_LOG_OFFSET_INDEX_H
#define TERN_LOG_OFFSET_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFSET_INDEX_ENTRY_SIZE 8

struct offset_index_entry {
	int32_t rel_offset; /* last offset of the batch - base_offset */
	int32_t position;   /* bytes from the start of the .log file */
};

struct offset_index {
	int fd;                             /* owned; -1 when closed */
	int64_t base_offset;                /* the segment's base offset */
	struct offset_index_entry *entries; /* [0, count): rel_offset and position strictly increasing */
	size_t count;
	size_t cap;
	bool torn; /* the file's size was not a whole number of entries when loaded */
};

/* Opens (creating if missing) the index file at `path` and loads its entries.
 * Returns 0 or -errno. On failure nothing is left open. */
int offset_index_open(struct offset_index *idx, const char *path, int64_t base_offset);
void offset_index_close(struct offset_index *idx);

/* True when the loaded entries can be trusted for a .log of `log_size` bytes:
 * whole entries, increasing, every position inside the log. */
bool offset_index_sane(const struct offset_index *idx, int64_t log_size);

/* Empties the index (memory and file). Returns 0 or -errno. */
int offset_index_reset(struct offset_index *idx);

/* Appends an entry for the batch at `position` whose last offset is `offset`.
 * Both must exceed the last entry's (else -EINVAL) and fit the int32 fields
 * (else -ERANGE). On a failed write the file is cut back to whole entries and
 * the entry is not added. Returns 0 or a negative errno. */
int offset_index_append(struct offset_index *idx, int64_t offset, int64_t position);

/* The entry with the largest offset <= `offset`: its absolute offset and
 * position, or (base_offset - 1, 0) when there is none, meaning "scan from the
 * start of the segment". Binary search. */
void offset_index_lookup(const struct offset_index *idx, int64_t offset, int64_t *entry_offset,
			 int64_t *position);

/* Drops every entry whose position is >= `position` (the batches there were
 * truncated away). Returns 0 or -errno. */
int offset_index_truncate_position(struct offset_index *idx, int64_t position);

/* The last entry, or false when empty. */
bool offset_index_last(const struct offset_index *idx, int64_t *offset, int64_t *position);

/* fsync of the index file. Returns 0 or -errno. */
int offset_index_sync(struct offset_index *idx);

#endif
