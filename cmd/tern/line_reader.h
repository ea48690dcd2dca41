/* line_reader: turns one input line into a record the way
 * kafka-console-producer's LineMessageReader does.
 *
 * Properties (all optional, Kafka's names and defaults):
 *   parse.key=false, key.separator=TAB      "key<sep>value"
 *   parse.headers=false, headers.delimiter=TAB, headers.separator=",",
 *   headers.key.separator=":"               "h1:v1,h2:v2<delim>[key<sep>]value"
 *   ignore.error=false                      a missing separator keeps going
 *   null.marker (unset)                     a key/value/header value equal to
 *                                           it is sent as null
 * headers.separator is taken literally (Kafka compiles it as a regex).
 */
#ifndef TERN_CMD_LINE_READER_H
#define TERN_CMD_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/tern/opts.h"

/* Settings are views into the kv_list given to line_reader_configure. */
struct line_reader {
	bool parse_key;
	const char *key_separator;
	bool parse_headers;
	const char *headers_delimiter;
	const char *headers_separator;
	const char *headers_key_separator;
	bool ignore_error;
	const char *null_marker; /* NULL: none */
	int64_t line_number;     /* of the last parsed line, from 1 */
};

/* A view into a line: ptr == NULL means null. */
struct line_span {
	const char *p;
	size_t len;
};

struct line_header {
	struct line_span name; /* never null */
	struct line_span value;
};

/* The parsed record: spans point into the line given to line_reader_parse;
 * `headers` is owned by the record (line_record_free). */
struct line_record {
	struct line_span key;
	struct line_span value;
	struct line_header *headers;
	size_t header_cnt;
};

/* Applies `props` (may be NULL) over Kafka's defaults. Returns 0, or -1 with
 * a message in err when two separators clash as Kafka refuses them. */
int line_reader_configure(struct line_reader *lr, const struct kv_list *props, char *err, size_t errlen);

/* Parses `line` (len bytes, no line terminator). Returns 0 with *rec filled,
 * or -1 with Kafka's message in err ("No key separator found on line number
 * 3: 'abc'"); -2 on allocation failure. */
int line_reader_parse(struct line_reader *lr, const char *line, size_t len, struct line_record *rec,
		      char *err, size_t errlen);

void line_record_free(struct line_record *rec);

#endif
