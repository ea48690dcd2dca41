/* group_describe: the pure part of `tern groups` (kafka-consumer-groups.sh):
 * which rows --describe shows, their lag, the reset plan's offsets, and the
 * text both print, in the shape of Kafka's ConsumerGroupCommand. No I/O
 * besides the FILE streams given, so it is unit-tested without a broker.
 *
 * Offsets use Kafka's -1 for "none/unknown": a committed offset of -1 is no
 * commit, a log-end offset of -1 means the partition's leader did not
 * answer. Either prints as "-", and so does the lag then.
 */
#ifndef TERN_CMD_GROUP_DESCRIBE_H
#define TERN_CMD_GROUP_DESCRIBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* "-": Kafka's MISSING_COLUMN_VALUE. */
#define GROUP_DESCRIBE_MISSING "-"

/* A partition with an offset: a committed one (from OffsetFetch) or a new
 * one (the reset plan). */
struct group_describe_offset {
	const char *topic;
	int32_t partition;
	int64_t offset; /* -1: none */
};

/* A partition of a member's assignment. */
struct group_describe_tp {
	const char *topic;
	int32_t partition;
};

/* A member of the group, as DescribeGroups reports it. */
struct group_describe_member {
	const char *consumer_id;
	const char *host;
	const char *client_id;
	const struct group_describe_tp *assigned;
	int assigned_cnt;
};

/* One line of --describe. Strings are borrowed from the members and
 * offsets the rows were built from. */
struct group_describe_row {
	const char *topic;
	int32_t partition;
	int64_t offset;          /* committed, -1: none */
	int64_t log_end;         /* -1: unknown (filled in by the caller) */
	const char *consumer_id; /* NULL: "-" (partition not assigned) */
	const char *host;
	const char *client_id;
};

/* Kafka's rows: for each member with an assignment (most partitions first,
 * ties in the order given), its partitions sorted by topic then partition,
 * with their committed offsets; then every committed partition no member
 * holds, sorted, without a consumer. log_end is left -1. Returns the row
 * count with *out malloc'd (free(); NULL for zero rows), or -1 on OOM. */
int group_describe_rows(const struct group_describe_member *members, int member_cnt,
			const struct group_describe_offset *committed, int committed_cnt,
			struct group_describe_row **out);

/* Kafka's lag: log_end - offset when both are known (it can be negative
 * after a truncation, and is shown so). Returns false when either is -1. */
bool group_describe_lag(int64_t offset, int64_t log_end, int64_t *lag);

/* What group_describe_print did. */
enum group_describe_outcome {
	GROUP_DESCRIBE_PRINTED = 0, /* the table (or just a notice when there are no rows) */
	GROUP_DESCRIBE_NOT_FOUND,   /* Dead: nothing printed */
};

/* kafka-consumer-groups --describe: a notice on `err` by state (Empty:
 * "Consumer group 'G' has no active members.", a rebalance in progress:
 * "Warning: Consumer group 'G' is rebalancing."), then, when there are
 * rows, a blank line, the header and one line per row on `out`, columns
 * padded as Kafka pads them (GROUP, TOPIC, CONSUMER-ID and HOST at least 15
 * wide or as wide as their longest value). `state` is Kafka's name
 * ("Stable", "Empty", "PreparingRebalance", "CompletingRebalance", "Dead",
 * ...; NULL or another name print no notice). A Dead group (Kafka's
 * answer for a group it does not know) prints nothing: NOT_FOUND. */
enum group_describe_outcome group_describe_print(const char *group, const char *state,
						  const struct group_describe_row *rows, int row_cnt, FILE *out,
						  FILE *err);

/* --reset-offsets --to-offset: Kafka clamps the requested offset into
 * [log_start, log_end] (either bound -1: not checked). Returns the offset to
 * use; *clamped tells whether it differs from `requested`. */
int64_t group_describe_reset_clamp(int64_t requested, int64_t log_start, int64_t log_end, bool *clamped);

/* The reset plan, as Kafka prints it for a dry run and after --execute: a
 * blank line, "GROUP TOPIC PARTITION NEW-OFFSET" and a line per partition
 * (sorted by topic, then partition; `plan` is sorted in place). */
void group_describe_reset_print(const char *group, struct group_describe_offset *plan, int n, FILE *out);

/* Parses a --topic argument: "T" (every partition: *parts = NULL, *n = 0)
 * or Kafka's "T:0,2,5". *topic is malloc'd, *parts too when n > 0. Returns
 * 0, or -1 with a message in err (empty topic, a bad partition number, a
 * second ':'). */
int group_describe_parse_topic(const char *arg, char **topic, int32_t **parts, int *n, char *err, size_t errlen);

#endif
