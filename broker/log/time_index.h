/* time_index: a segment's sparse time index (<base>.timeindex), Kafka's layout.
 *
 * The file is a sequence of 12-byte big-endian entries: a timestamp (int64, ms)
 * and an offset relative to the segment's base offset (int32). Each entry says
 * "the largest timestamp in the segment up to here is `timestamp`, first
 * reached by the batch whose last offset is `offset`", so every batch before
 * that one has a smaller max_timestamp. Entries are written alongside offset
 * index entries, only when the timestamp grew, plus one final entry when the
 * segment stops being active; timestamps and offsets therefore never decrease.
 *
 * As with offset_index, entries are mirrored in memory; the file is trusted
 * only after a clean shutdown and a sanity check, else rebuilt.
 *
 * Ownership: the index owns its descriptor and array; release with
 * time_index_close.
 */
#ifndef TERN_LOG_TIME_INDEX_H
#define TERN_LOG_TIME_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIME_INDEX_ENTRY_SIZE 12

struct time_index_entry {
	int64_t timestamp;  /* ms */
	int32_t rel_offset; /* offset - base_offset */
};

struct time_index {
	int fd;                           /* owned; -1 when closed */
	int64_t base_offset;              /* the segment's base offset */
	struct time_index_entry *entries; /* [0, count): timestamp strictly increasing, rel_offset non-decreasing */
	size_t count;
	size_t cap;
	bool torn; /* the file's size was not a whole number of entries when loaded */
};

/* Opens (creating if missing) the file at `path` and loads it. Returns 0 or
 * -errno; on failure nothing is left open. */
int time_index_open(struct time_index *idx, const char *path, int64_t base_offset);
void time_index_close(struct time_index *idx);

/* True when the entries can be trusted for a segment whose offsets are below
 * `next_offset`. */
bool time_index_sane(const struct time_index *idx, int64_t next_offset);

/* Empties the index (memory and file). Returns 0 or -errno. */
int time_index_reset(struct time_index *idx);

/* Appends (timestamp, offset) when `timestamp` is above the last entry's; a
 * no-op returning 0 otherwise. -EINVAL when `offset` is below the last entry's,
 * -ERANGE when it does not fit the relative int32. Returns 0 or a negative errno. */
int time_index_append(struct time_index *idx, int64_t timestamp, int64_t offset);

/* The entry with the largest timestamp <= `timestamp`: its absolute offset,
 * or base_offset when there is none (scan from the start). Binary search. */
int64_t time_index_lookup(const struct time_index *idx, int64_t timestamp);

/* Drops every entry whose offset is >= `offset`. Returns 0 or -errno. */
int time_index_truncate_offset(struct time_index *idx, int64_t offset);

/* The last entry, or false when empty. */
bool time_index_last(const struct time_index *idx, int64_t *timestamp, int64_t *offset);

int time_index_sync(struct time_index *idx);

#endif
