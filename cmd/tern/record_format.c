#include "cmd/tern/record_format.h"

#include <inttypes.h>
#include <string.h>

void record_format_init(struct record_format *f)
{
	memset(f, 0, sizeof(*f));
	f->print_value = true;
	f->key_separator = "\t";
	f->line_separator = "\n";
	f->headers_separator = ",";
	f->null_literal = "null";
}

void record_format_configure(struct record_format *f, const struct kv_list *props)
{
	const char *v;
	if ((v = kv_list_get(props, "print.timestamp")))
		f->print_timestamp = opts_parse_bool(v);
	if ((v = kv_list_get(props, "print.key")))
		f->print_key = opts_parse_bool(v);
	if ((v = kv_list_get(props, "print.value")))
		f->print_value = opts_parse_bool(v);
	if ((v = kv_list_get(props, "print.partition")))
		f->print_partition = opts_parse_bool(v);
	if ((v = kv_list_get(props, "print.offset")))
		f->print_offset = opts_parse_bool(v);
	if ((v = kv_list_get(props, "print.headers")))
		f->print_headers = opts_parse_bool(v);
	if ((v = kv_list_get(props, "key.separator")))
		f->key_separator = v;
	if ((v = kv_list_get(props, "line.separator")))
		f->line_separator = v;
	if ((v = kv_list_get(props, "headers.separator")))
		f->headers_separator = v;
	if ((v = kv_list_get(props, "null.literal")))
		f->null_literal = v;
}

/* After a column: the column separator when another column follows, else
 * the line separator (a record whose last column is not the value still
 * ends its line, as Kafka's formatter does). */
static void record_format_sep(const struct record_format *f, bool more, FILE *out)
{
	fputs(more ? f->key_separator : f->line_separator, out);
}

static void record_format_bytes(const struct record_format *f, const void *p, size_t len, FILE *out)
{
	if (!p)
		fputs(f->null_literal, out);
	else if (len > 0)
		fwrite(p, 1, len, out);
}

int record_format_write(const struct record_format *f, const struct record_view *r, FILE *out)
{
	if (f->print_timestamp) {
		if (r->ts_type == RECORD_TS_CREATE_TIME)
			fprintf(out, "CreateTime:%" PRId64, r->timestamp);
		else if (r->ts_type == RECORD_TS_LOG_APPEND_TIME)
			fprintf(out, "LogAppendTime:%" PRId64, r->timestamp);
		else
			fputs("NO_TIMESTAMP", out);
		record_format_sep(f, f->print_partition || f->print_offset || f->print_headers ||
					     f->print_key || f->print_value, out);
	}
	if (f->print_partition) {
		fprintf(out, "Partition:%" PRId32, r->partition);
		record_format_sep(f, f->print_offset || f->print_headers || f->print_key || f->print_value,
				  out);
	}
	if (f->print_offset) {
		fprintf(out, "Offset:%" PRId64, r->offset);
		record_format_sep(f, f->print_headers || f->print_key || f->print_value, out);
	}
	if (f->print_headers) {
		if (r->header_cnt == 0)
			fputs("NO_HEADERS", out);
		for (size_t i = 0; i < r->header_cnt; i++) {
			if (i > 0)
				fputs(f->headers_separator, out);
			fputs(r->headers[i].name, out);
			fputc(':', out);
			record_format_bytes(f, r->headers[i].value, r->headers[i].value_len, out);
		}
		record_format_sep(f, f->print_key || f->print_value, out);
	}
	if (f->print_key) {
		record_format_bytes(f, r->key, r->key_len, out);
		record_format_sep(f, f->print_value, out);
	}
	if (f->print_value) {
		record_format_bytes(f, r->value, r->value_len, out);
		fputs(f->line_separator, out);
	}
	return ferror(out) ? -1 : 0;
}
