/* net: the Kafka-facing TCP server on libevent.
 *
 * The server frames requests (4-byte big-endian size, then the request) and
 * hands each complete frame to the owner's callback. It knows nothing about
 * API keys: the owner parses the header, builds the whole response (response
 * header + body, without the size prefix) and calls net_request_respond(),
 * now or later. Responses go out on each connection in request order, however
 * they complete (the protocol requires it): a finished response waits behind
 * an unfinished earlier one.
 *
 * Limits: a frame larger than max_request_bytes (socket.request.max.bytes) is
 * refused before anything is allocated and the connection closed; a negative
 * size closes it too. An output high-water mark pauses reading from a client
 * that does not read its responses.
 *
 * Threading: everything runs on the event_base's thread.
 */
#ifndef TERN_NET_NET_H
#define TERN_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct net_server;
struct net_request;

struct net_server_config {
	const char *host;          /* bind address, e.g. "0.0.0.0" or "127.0.0.1" */
	int port;                  /* 0 picks a free port (see net_server_port) */
	int32_t max_request_bytes; /* socket.request.max.bytes */
	int max_inflight;          /* requests read ahead of their responses per connection */
	/* Optional (zero = default): */
	int send_buffer_bytes;   /* SO_SNDBUF (socket.send.buffer.bytes); <= 0: OS default */
	int recv_buffer_bytes;   /* SO_RCVBUF (socket.receive.buffer.bytes); <= 0: OS default */
	size_t output_hwm_bytes; /* pending output that pauses reading; 0: 16 MiB */
};

/* Called once per complete frame. `frame` (len bytes, the request header and
 * body) belongs to `req` and stays valid until the request is completed with
 * net_request_respond() or net_request_close(), which the owner must call
 * exactly once, on the server's thread. */
typedef void (*net_request_cb)(struct net_request *req, const uint8_t *frame, size_t len, void *arg);

/* Returns NULL and logs on failure (bind error: the message names host:port). */
struct net_server *net_server_new(struct event_base *base, const struct net_server_config *cfg,
				  net_request_cb cb, void *arg);
/* The port actually bound. */
int net_server_port(const struct net_server *srv);
/* Stops accepting and closes every connection; pending requests become dead
 * (responding to them just frees them). */
void net_server_free(struct net_server *srv);

/* Open connections (for tests and metrics). */
int net_server_conn_count(const struct net_server *srv);

/* Completes `req` with a response: takes ownership of `resp` (malloc'd, freed
 * by net). resp == NULL sends nothing (acks=0 produce) but still releases the
 * request's place in the order. If the connection is gone, it only frees. */
void net_request_respond(struct net_request *req, uint8_t *resp, size_t len);
/* The same, with a small response header (at most NET_RESPONSE_HEADER_MAX
 * bytes, copied) sent between the size prefix and `resp`: the owner need not
 * copy a large body only to put a few header bytes in front of it. */
#define NET_RESPONSE_HEADER_MAX 8
void net_request_respond_with_header(struct net_request *req, const uint8_t *hdr, size_t hdr_len, uint8_t *resp,
				     size_t len);
/* Completes `req` by closing its connection (unparseable request): responses
 * queued before it are dropped, as Kafka does. */
void net_request_close(struct net_request *req);

/* True while the connection that sent `req` is open. */
bool net_request_conn_alive(const struct net_request *req);
/* "ip:port" of the peer, for logs. Valid until the request completes. */
const char *net_request_peer(const struct net_request *req);
uint64_t net_request_conn_id(const struct net_request *req);
/* The connection's local port (which listener answered). */
int net_request_local_port(const struct net_request *req);

#endif
