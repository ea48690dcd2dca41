#include "cmd/tern/line_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool line_reader_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int line_reader_configure(struct line_reader *lr, const struct kv_list *props, char *err, size_t errlen)
{
	memset(lr, 0, sizeof(*lr));
	lr->key_separator = "\t";
	lr->headers_delimiter = "\t";
	lr->headers_separator = ",";
	lr->headers_key_separator = ":";
	if (props) {
		const char *v;
		if ((v = kv_list_get(props, "parse.key")))
			lr->parse_key = opts_parse_bool(v);
		if ((v = kv_list_get(props, "key.separator")))
			lr->key_separator = v;
		if ((v = kv_list_get(props, "parse.headers")))
			lr->parse_headers = opts_parse_bool(v);
		if ((v = kv_list_get(props, "headers.delimiter")))
			lr->headers_delimiter = v;
		if ((v = kv_list_get(props, "headers.separator")))
			lr->headers_separator = v;
		if ((v = kv_list_get(props, "headers.key.separator")))
			lr->headers_key_separator = v;
		if ((v = kv_list_get(props, "ignore.error")))
			lr->ignore_error = opts_parse_bool(v);
		lr->null_marker = kv_list_get(props, "null.marker");
	}
	static const struct {
		size_t a, b;
		const char *msg;
	} clashes[] = {
		{offsetof(struct line_reader, headers_delimiter), offsetof(struct line_reader, headers_separator),
		 "headers.delimiter and headers.separator may not be equal"},
		{offsetof(struct line_reader, headers_delimiter), offsetof(struct line_reader, headers_key_separator),
		 "headers.delimiter and headers.key.separator may not be equal"},
		{offsetof(struct line_reader, headers_separator), offsetof(struct line_reader, headers_key_separator),
		 "headers.separator and headers.key.separator may not be equal"},
		{offsetof(struct line_reader, null_marker), offsetof(struct line_reader, key_separator),
		 "null.marker and key.separator may not be equal"},
		{offsetof(struct line_reader, null_marker), offsetof(struct line_reader, headers_separator),
		 "null.marker and headers.separator may not be equal"},
		{offsetof(struct line_reader, null_marker), offsetof(struct line_reader, headers_delimiter),
		 "null.marker and headers.delimiter may not be equal"},
		{offsetof(struct line_reader, null_marker), offsetof(struct line_reader, headers_key_separator),
		 "null.marker and headers.key.separator may not be equal"},
	};
	for (size_t i = 0; i < sizeof(clashes) / sizeof(clashes[0]); i++) {
		const char *a = *(const char *const *)((const char *)lr + clashes[i].a);
		const char *b = *(const char *const *)((const char *)lr + clashes[i].b);
		if (line_reader_streq(a, b)) {
			snprintf(err, errlen, "%s", clashes[i].msg);
			return -1;
		}
	}
	if (lr->key_separator[0] == '\0' || lr->headers_delimiter[0] == '\0' ||
	    lr->headers_separator[0] == '\0' || lr->headers_key_separator[0] == '\0') {
		snprintf(err, errlen, "separators may not be empty");
		return -1;
	}
	return 0;
}

/* memmem over a span: the offset of `needle` at or after `from`, or -1. */
static long line_reader_find(const char *p, size_t len, size_t from, const char *needle)
{
	size_t nlen = strlen(needle);
	if (from > len)
		return -1;
	const char *hit = memmem(p + from, len - from, needle, nlen);
	return hit ? (long)(hit - p) : -1;
}

static bool line_reader_is_null(const struct line_reader *lr, const char *p, size_t len)
{
	return lr->null_marker && strlen(lr->null_marker) == len && memcmp(lr->null_marker, p, len) == 0;
}

static struct line_span line_reader_span(const struct line_reader *lr, const char *p, size_t len)
{
	struct line_span s = {p, len};
	if (line_reader_is_null(lr, p, len))
		s.p = NULL, s.len = 0;
	return s;
}

static int line_reader_headers(struct line_reader *lr, const char *p, size_t len, struct line_record *rec,
			       char *err, size_t errlen)
{
	size_t sep_len = strlen(lr->headers_separator);
	size_t ksep_len = strlen(lr->headers_key_separator);
	size_t cap = 1;
	for (long at = 0; (at = line_reader_find(p, len, (size_t)at, lr->headers_separator)) >= 0; at += (long)sep_len)
		cap++;
	rec->headers = calloc(cap, sizeof(*rec->headers));
	if (!rec->headers)
		return -2;
	size_t start = 0;
	while (start <= len) {
		long end = line_reader_find(p, len, start, lr->headers_separator);
		size_t pair_len = (end < 0 ? len : (size_t)end) - start;
		const char *pair = p + start;
		long k = line_reader_find(pair, pair_len, 0, lr->headers_key_separator);
		struct line_header *h = &rec->headers[rec->header_cnt];
		if (k < 0) {
			if (!lr->ignore_error) {
				snprintf(err, errlen, "No header key separator found in pair '%.*s' on line number %lld",
					 (int)pair_len, pair, (long long)lr->line_number);
				return -1;
			}
			h->name = (struct line_span){pair, pair_len};
			h->value = (struct line_span){NULL, 0};
		} else {
			if (line_reader_is_null(lr, pair, (size_t)k)) {
				snprintf(err, errlen,
					 "Header keys should not be equal to the null marker '%s' as they can't be null",
					 lr->null_marker);
				return -1;
			}
			h->name = (struct line_span){pair, (size_t)k};
			h->value = line_reader_span(lr, pair + k + ksep_len, pair_len - (size_t)k - ksep_len);
		}
		rec->header_cnt++;
		if (end < 0)
			break;
		start = (size_t)end + sep_len;
	}
	return 0;
}

int line_reader_parse(struct line_reader *lr, const char *line, size_t len, struct line_record *rec,
		      char *err, size_t errlen)
{
	memset(rec, 0, sizeof(*rec));
	lr->line_number++;
	size_t off = 0;
	if (lr->parse_headers) {
		long at = line_reader_find(line, len, 0, lr->headers_delimiter);
		if (at < 0 && !lr->ignore_error) {
			snprintf(err, errlen, "No headers delimiter found on line number %lld: '%.*s'",
				 (long long)lr->line_number, (int)len, line);
			return -1;
		}
		if (at >= 0) {
			off = (size_t)at + strlen(lr->headers_delimiter);
			if (!line_reader_is_null(lr, line, (size_t)at)) {
				int rc = line_reader_headers(lr, line, (size_t)at, rec, err, errlen);
				if (rc != 0) {
					line_record_free(rec);
					return rc;
				}
			}
		}
	}
	if (lr->parse_key) {
		long at = line_reader_find(line, len, off, lr->key_separator);
		if (at < 0 && !lr->ignore_error) {
			snprintf(err, errlen, "No key separator found on line number %lld: '%.*s'",
				 (long long)lr->line_number, (int)len, line);
			line_record_free(rec);
			return -1;
		}
		if (at >= 0) {
			rec->key = line_reader_span(lr, line + off, (size_t)at - off);
			off = (size_t)at + strlen(lr->key_separator);
		}
	}
	rec->value = line_reader_span(lr, line + off, len - off);
	return 0;
}

void line_record_free(struct line_record *rec)
{
	free(rec->headers);
	rec->headers = NULL;
	rec->header_cnt = 0;
}
