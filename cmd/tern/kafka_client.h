/* kafka_client: creating librdkafka handles for the tern subcommands, and
 * turning their failures into one clear line on stderr.
 *
 * librdkafka logs connection failures itself, many times over while it
 * retries; a command-line tool should say once what went wrong. So every
 * handle made here routes logs to a callback that drops them (unless
 * TERN_RDKAFKA_DEBUG names librdkafka debug contexts, e.g. "broker,protocol",
 * which then go to stderr), and the tools report errors themselves.
 */
#ifndef TERN_CMD_KAFKA_CLIENT_H
#define TERN_CMD_KAFKA_CLIENT_H

#include <librdkafka/rdkafka.h>

#include "cmd/tern/opts.h"

/* How long a command waits for the first answer from the bootstrap server
 * before it gives up (TERN_CONNECT_TIMEOUT_MS overrides). */
#define KAFKA_CLIENT_CONNECT_TIMEOUT_MS 10000

/* Prints "tern: <message>" and a newline on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns the connect timeout in ms (the default or TERN_CONNECT_TIMEOUT_MS). */
int kafka_client_connect_timeout_ms(void);

/* Builds a configuration with bootstrap.servers = `bootstrap`, quiet logging,
 * then applies every pair of `extra` (may be NULL) in order. Returns an owned
 * conf (rd_kafka_conf_destroy, or handed to kafka_client_new), or NULL after
 * printing the offending key. */
rd_kafka_conf_t *kafka_client_conf(const char *bootstrap, const struct kv_list *extra);

/* Sets one property, printing a clear error on failure. Returns 0 or -1. */
int kafka_client_set(rd_kafka_conf_t *conf, const char *key, const char *val);

/* Creates a handle, taking ownership of `conf` (also on failure). Returns
 * the handle (rd_kafka_destroy) or NULL after printing why. */
rd_kafka_t *kafka_client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf);

/* Waits up to the connect timeout for a Metadata answer from the cluster.
 * Returns 0, or -1 after printing "cannot reach <bootstrap> ...". */
int kafka_client_check_reachable(rd_kafka_t *rk, const char *bootstrap);

/* Fetches metadata for one topic. Returns 0 with *out set (free with
 * rd_kafka_metadata_destroy) and *tmd pointing at the topic inside it; on a
 * missing topic
 * prints "Topic 'T' does not exist" and returns -1; other errors print a
 * line and return -1. */
int kafka_client_topic_metadata(rd_kafka_t *rk, const char *topic,
				const struct rd_kafka_metadata **out,
				const struct rd_kafka_metadata_topic **tmd);

#endif
