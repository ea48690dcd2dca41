/* opts: small command-line helpers shared by the tern subcommands.
 *
 * Kafka's tools take repeated `--config k=v`, `--property k=v` and
 * `--producer-property k=v` options; a kv_list collects them in order, and a
 * later value for the same key wins on lookup, as with Java Properties.
 * Numbers are parsed with strtoll and an end-pointer check, never atoi.
 */
#ifndef TERN_CMD_OPTS_H
#define TERN_CMD_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An ordered list of key=value pairs. Owns copies of every string. */
struct kv_list {
	char **keys;
	char **vals;
	int n;   /* pairs in use */
	int cap; /* pairs allocated */
};

/* Splits `arg` at its first '=' and appends copies of both halves, as is
 * (Kafka's --property parsing keeps blanks, so key.separator can be a
 * space). Returns 0, or -1 when `arg` has no '=' or an empty key, or on
 * allocation failure. */
int kv_list_add(struct kv_list *l, const char *arg);
/* The same with both halves trimmed of blanks, as kafka-topics treats
 * --config. */
int kv_list_add_trimmed(struct kv_list *l, const char *arg);
/* Appends an already split pair (copies both). Returns 0 or -1 on OOM. */
int kv_list_put(struct kv_list *l, const char *key, const char *val);
/* Returns the last value set for `key` (a view owned by the list), or NULL. */
const char *kv_list_get(const struct kv_list *l, const char *key);
void kv_list_free(struct kv_list *l);

/* Parses a whole decimal string into [min, max]. Returns 0 or -1. */
int opts_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Kafka's boolean parse: "true" in any case (surrounding blanks ignored) is
 * true, anything else false. */
bool opts_parse_bool(const char *s);

/* Reads a Java-style properties file (key=value or key: value lines, # and !
 * comments, blank lines skipped; no line continuations) and appends its pairs
 * to `l`. Returns 0, or -1 with a message in err. */
int opts_load_properties(const char *path, struct kv_list *l, char *err, size_t errlen);

#endif
