/* raw_conn: Kafka-protocol round trips on a plain socket, for the few
 * requests the tern tools make with the project's own codecs where
 * librdkafka has no call (topic ids from Metadata v12) or must not be
 * trusted blindly (ApiVersions before an admin request librdkafka 2.0 would
 * crash on). Everything has a deadline (monotonic ms); nothing logs.
 */
#ifndef TERN_CMD_RAW_CONN_H
#define TERN_CMD_RAW_CONN_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds, for deadlines. */
int64_t raw_conn_now_ms(void);

/* A connected non-blocking socket to host:port, or -1. */
int raw_conn_connect(const char *host, const char *port, int64_t deadline);

/* Sends `frame` (size prefix included) and reads one response frame: its
 * bytes after the size (correlation id first) in a malloc'd *body (caller
 * frees) of *body_len bytes, at most `max`. Returns 0 or -1. */
int raw_conn_round_trip(int fd, const uint8_t *frame, size_t len, size_t max, uint8_t **body, size_t *body_len,
			int64_t deadline);

/* Tries the servers of a bootstrap list ("h:p,[v6]:p", a scheme prefix such
 * as PLAINTEXT:// allowed) in order: connects, calls fn(fd, arg), closes,
 * and stops at the first fn result >= 0, which it returns; -1 when no server
 * gave one. */
int raw_conn_each_server(const char *bootstrap, int64_t deadline, int (*fn)(int fd, void *arg), void *arg);

#endif
