#include "cmd/tern/opts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *opts_trimmed_dup(const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return strndup(s, len);
}

int kv_list_put(struct kv_list *l, const char *key, const char *val)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 8;
		char **k = realloc(l->keys, (size_t)cap * sizeof(*k));
		if (!k)
			return -1;
		l->keys = k;
		char **v = realloc(l->vals, (size_t)cap * sizeof(*v));
		if (!v)
			return -1;
		l->vals = v;
		l->cap = cap;
	}
	char *kc = strdup(key);
	char *vc = strdup(val);
	if (!kc || !vc) {
		free(kc);
		free(vc);
		return -1;
	}
	l->keys[l->n] = kc;
	l->vals[l->n] = vc;
	l->n++;
	return 0;
}

static int kv_list_split(struct kv_list *l, const char *arg, bool trim)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		return -1;
	char *key = trim ? opts_trimmed_dup(arg, (size_t)(eq - arg)) : strndup(arg, (size_t)(eq - arg));
	char *val = trim ? opts_trimmed_dup(eq + 1, strlen(eq + 1)) : strdup(eq + 1);
	int rc = -1;
	if (key && val && key[0] != '\0')
		rc = kv_list_put(l, key, val);
	free(key);
	free(val);
	return rc;
}

int kv_list_add(struct kv_list *l, const char *arg)
{
	return kv_list_split(l, arg, false);
}

int kv_list_add_trimmed(struct kv_list *l, const char *arg)
{
	return kv_list_split(l, arg, true);
}

const char *kv_list_get(const struct kv_list *l, const char *key)
{
	for (int i = l->n - 1; i >= 0; i--)
		if (strcmp(l->keys[i], key) == 0)
			return l->vals[i];
	return NULL;
}

void kv_list_free(struct kv_list *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->keys[i]);
		free(l->vals[i]);
	}
	free(l->keys);
	free(l->vals);
	memset(l, 0, sizeof(*l));
}

int opts_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || *s == '\0')
		return -1;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	if (v < min || v > max)
		return -1;
	*out = (int64_t)v;
	return 0;
}

bool opts_parse_bool(const char *s)
{
	if (!s)
		return false;
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return len == 4 && strncasecmp(s, "true", 4) == 0;
}

int opts_load_properties(const char *path, struct kv_list *l, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		const char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0' || *p == '#' || *p == '!')
			continue;
		size_t klen = strcspn(p, "=:");
		if (p[klen] == '\0') {
			snprintf(err, errlen, "%s:%d: expected key=value", path, lineno);
			rc = -1;
			break;
		}
		char *key = opts_trimmed_dup(p, klen);
		char *val = opts_trimmed_dup(p + klen + 1, strlen(p + klen + 1));
		int put = key && val ? kv_list_put(l, key, val) : -1;
		free(key);
		free(val);
		if (put != 0) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}
