/* net internals shared by server.c (listener, lifecycle) and conn.c
 * (framing, request order, writes). Not for use outside broker/net/. */
#ifndef TERN_NET_NET_INTERNAL_H
#define TERN_NET_NET_INTERNAL_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "broker/net/net.h"

struct event;
struct evconnlistener;
struct net_conn;

#define NET_DEFAULT_MAX_REQUEST_BYTES (100 * 1024 * 1024)
#define NET_DEFAULT_MAX_INFLIGHT 128
#define NET_DEFAULT_OUTPUT_HWM ((size_t)16 << 20)

struct net_server {
	struct event_base *base;
	net_request_cb cb;
	void *arg;
	char *host;                /* owned copy of cfg.host */
	int port;                  /* bound port */
	int32_t max_request_bytes; /* > 0 */
	int max_inflight;          /* > 0 */
	int send_buffer_bytes;
	int recv_buffer_bytes;
	size_t output_hwm;
	struct evconnlistener *listener;
	struct event *accept_retry; /* re-enables accepting after EMFILE */
	uint64_t next_conn_id;
	struct net_conn *conns; /* open connections, doubly linked */
	int n_conns;
};

/* Takes an accepted, non-blocking socket. Returns the open connection (owned
 * by the server's list until it closes), or NULL after closing fd. */
struct net_conn *net_conn_new(struct net_server *srv, evutil_socket_t fd, const struct sockaddr *peer,
			      int peer_len);
/* Closes the connection now (idempotent): stops its events, closes the
 * socket, drops requests already answered and marks unanswered ones dead.
 * The memory goes when the last dead request completes; safe to call from
 * any callback, including the connection's own. */
void net_conn_close(struct net_conn *c, const char *reason);
/* Closes every open connection of srv. */
void net_conn_close_all(struct net_server *srv, const char *reason);

#endif
