/* record_format: prints a consumed record the way kafka-console-consumer's
 * DefaultMessageFormatter does, so scripts written against Kafka's tool read
 * tern's output unchanged.
 *
 * Columns, each only when enabled, joined by key.separator (default TAB):
 *   <CreateTime|LogAppendTime>:<ts> | NO_TIMESTAMP   (print.timestamp)
 *   Partition:<p>                                  (print.partition)
 *   Offset:<o>                                     (print.offset)
 *   k1:v1,k2:v2 | NO_HEADERS                       (print.headers)
 *   key                                            (print.key)
 *   value                                          (print.value, default on)
 * and line.separator (default "\n") after the value. A null key, value or
 * header value prints as null.literal ("null").
 */
#ifndef TERN_CMD_RECORD_FORMAT_H
#define TERN_CMD_RECORD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cmd/tern/opts.h"

/* Views into the properties list given to record_format_configure (or
 * static defaults); the list must outlive the format. */
struct record_format {
	bool print_timestamp;
	bool print_key;
	bool print_value;
	bool print_partition;
	bool print_offset;
	bool print_headers;
	const char *key_separator;
	const char *line_separator;
	const char *headers_separator;
	const char *null_literal;
};

enum record_ts_type {
	RECORD_TS_NONE = 0,
	RECORD_TS_CREATE_TIME = 1,
	RECORD_TS_LOG_APPEND_TIME = 2,
};

struct record_header {
	const char *name;  /* NUL-terminated */
	const void *value; /* NULL for a null value */
	size_t value_len;
};

/* A record to print; every pointer is borrowed for the call. */
struct record_view {
	int32_t partition;
	int64_t offset;
	enum record_ts_type ts_type;
	int64_t timestamp; /* ms since the epoch */
	const void *key;   /* NULL for a null key */
	size_t key_len;
	const void *value; /* NULL for a null value */
	size_t value_len;
	const struct record_header *headers;
	size_t header_cnt;
};

/* Kafka's defaults: value only, TAB between columns, "\n" after a record. */
void record_format_init(struct record_format *f);
/* Applies the print.* and separator properties of `props`; other keys are
 * ignored, as DefaultMessageFormatter ignores them. */
void record_format_configure(struct record_format *f, const struct kv_list *props);
/* Writes one record. Returns 0, or -1 when the stream reports an error. */
int record_format_write(const struct record_format *f, const struct record_view *r, FILE *out);

#endif
