/* net: the Kafka-facing TCP server on libevent.
 *
 * The server frames requests (4-byte big-endian size, then the request) and
 * hands each complete frame to the owner's callback. It knows nothing about
 * API keys: the owner parses the header, builds the whole response (response
 * header + body, without the size prefix) and calls net_request_respond(),
 * now or later, or hands it over in pieces (net_request_respond_pieces) that
 * may include file ranges sent with sendfile. Responses go out on each connection in request order, however
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
/* --- Responses in pieces ---
 *
 * A response may be sent as a sequence of pieces instead of one buffer, so a
 * large part (Fetch's record sets) goes out from where it already is: memory
 * the owner keeps until the piece is released, or a file range written with
 * sendfile(2) straight from the page cache. */

/* Where the bytes of a piece are, from a given byte of it on. */
struct net_where {
	const uint8_t *data; /* in memory; NULL: in file `fd` from `offset` */
	int fd;
	int64_t offset;
};

struct net_piece {
	size_t len;
	/* A memory piece: the bytes, borrowed until release. NULL: `locate`
	 * says where they are. */
	const uint8_t *data;
	/* Called each time before bytes [from, len) of the piece are written
	 * (after a partial write too): fills *out for byte `from` and returns
	 * 0, or returns -1 when the bytes cannot be had any more - the
	 * connection then closes, since a frame cut short or filled with other
	 * bytes would be worse. The answer may change between calls (a file
	 * range copied into memory). */
	int (*locate)(void *arg, size_t from, struct net_where *out);
	/* Runs exactly once when net is done with the piece (written, or the
	 * connection is gone). May be NULL. */
	void (*release)(void *arg);
	void *arg;
};

/* Completes `req` with a response made of `n` pieces sent in order behind
 * the size prefix and `hdr` (as net_request_respond_with_header). The array is
 * copied; the pieces belong to net from now on, whatever happens (their
 * releases run exactly once, even when the connection is already gone).
 * `owned` (may be NULL) is freed after the releases: memory the pieces
 * point into. */
void net_request_respond_pieces(struct net_request *req, const uint8_t *hdr, size_t hdr_len,
				const struct net_piece *pieces, size_t n, void *owned);

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

/* --- net_client: one outgoing connection to another broker ---
 *
 * Used for broker-to-broker traffic on the broker's event_base
 * (BrokerRegistration/BrokerHeartbeat to the controller, forwarded requests,
 * replica fetches). The caller builds whole request frames (header + body,
 * without the size prefix) and gets whole response frames back; the client
 * frames, pipelines and matches responses to requests in order (Kafka
 * answers in order on a connection).
 *
 * Connection: not opened by net_client_new; the first send connects
 * (non-blocking, TCP_NODELAY, each address getaddrinfo returns in turn).
 * Losing the connection (peer closed, I/O error, bad frame, timeout) fails
 * every queued and in-flight request; the next send connects again. A
 * request still unanswered request_timeout_ms after it was queued closes
 * the connection (a later response could not be matched otherwise): the
 * requests past their deadline fail with NET_CLIENT_ETIMEDOUT, the others
 * with NET_CLIENT_EIO. A connect not done within connect_timeout_ms fails
 * like a refused one.
 *
 * Callbacks run on the event loop, never inside net_client_send; they may
 * call net_client_send and net_client_free on the same client.
 *
 * Threading: everything runs on the event_base's thread.
 */
struct net_client;

struct net_client_config {
	const char *host;           /* IPv4/IPv6 literal or name, resolved at each connect; copied */
	int port;                   /* 1..65535 */
	int32_t max_response_bytes; /* larger size prefix: connection closed, NET_CLIENT_EPROTO; <= 0: 100 MiB */
	int connect_timeout_ms;     /* <= 0: 5000 */
	int request_timeout_ms;     /* <= 0: 30000; per request, from when it was queued */
};

enum {
	NET_CLIENT_EIO = -1,       /* connect failed / connection lost */
	NET_CLIENT_ETIMEDOUT = -2, /* request_timeout_ms passed */
	NET_CLIENT_EPROTO = -3,    /* bad frame size or unexpected correlation id */
	NET_CLIENT_ECANCELED = -4, /* client freed */
	NET_CLIENT_ENOMEM = -5,
};

/* status 0: `resp` is the whole response frame without the 4-byte size
 * prefix (it starts with the correlation id the caller put in the request),
 * a view valid only during the call. Otherwise (and for fire-and-forget
 * requests) resp is NULL and len 0. */
typedef void (*net_client_cb)(void *arg, int status, const uint8_t *resp, size_t len);

/* Does not connect yet. Returns an owned client freed with net_client_free,
 * or NULL when out of memory. */
struct net_client *net_client_new(struct event_base *base, const struct net_client_config *cfg);

/* Queues one request. `frame` (len bytes: request header + body, no size
 * prefix, at least api_key, api_version and correlation_id) is copied. Its
 * correlation id (bytes 4..7) goes out unchanged: the caller keeps ids unique
 * among its in-flight requests on this client; a response whose id is not
 * that of the oldest outstanding request fails everything with
 * NET_CLIENT_EPROTO. expect_response false = fire and forget (acks=0): cb
 * runs with status 0 and resp NULL once the request is written. Connects if
 * not connected.
 * Returns 0: cb (may be NULL) runs exactly once, later, never from inside
 * this call. Returns NET_CLIENT_ENOMEM, or NET_CLIENT_ECANCELED when called
 * from a callback run by net_client_free: cb will not run. */
int net_client_send(struct net_client *c, const uint8_t *frame, size_t len, bool expect_response, net_client_cb cb,
		    void *arg);

/* Fails every queued and in-flight request with NET_CLIENT_ECANCELED (and
 * runs the callbacks of requests whose outcome was already known) before it
 * returns, closes the connection and frees the client. Safe from inside one
 * of the client's callbacks (the memory goes when that callback returns).
 * NULL is ignored. */
void net_client_free(struct net_client *c);

/* True once connected, until the connection is lost. */
bool net_client_connected(const struct net_client *c);

/* Requests whose callback has not run yet: queued, awaiting a response, or
 * failed with the callback still to come. */
size_t net_client_inflight(const struct net_client *c);

#endif
