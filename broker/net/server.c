/* server: the listening socket and the server's lifetime. Connections live in
 * conn.c. See net.h. */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/logger.h"
#include "broker/net/net_internal.h"

#define NET_LISTEN_BACKLOG 1024
#define NET_ACCEPT_RETRY_MS 100

static void net_server_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *addr, int len,
				 void *arg)
{
	struct net_server *srv = arg;
	(void)net_conn_new(srv, fd, addr, len);
}

static void net_server_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_server *srv = arg;
	evconnlistener_enable(srv->listener);
}

/* Accept failed. Out of descriptors is the usual cause: pause accepting for a
 * moment instead of spinning on a listener that stays readable. */
static void net_server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct net_server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();
	tlog(TLOG_WARN, "net", "accept on port %d failed: %s; pausing accepts %d ms", srv->port,
	     evutil_socket_error_to_string(err), NET_ACCEPT_RETRY_MS);
	evconnlistener_disable(srv->listener);
	struct timeval tv = {0, NET_ACCEPT_RETRY_MS * 1000};
	evtimer_add(srv->accept_retry, &tv);
}

/* Binds host:port, trying each address getaddrinfo returns. Returns the
 * listening socket or -1 (errno-style message in err). */
static evutil_socket_t net_server_bind(const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", port);
	/* An empty host binds every interface (Kafka's PLAINTEXT://:9092). */
	const char *node = host && host[0] ? host : NULL;
	if (node == NULL)
		hints.ai_family = AF_INET;
	int gai = getaddrinfo(node, portstr, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "%s", gai_strerror(gai));
		return -1;
	}
	evutil_socket_t fd = -1;
	snprintf(err, errlen, "no usable address");
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			continue;
		}
		int one = 1;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, NET_LISTEN_BACKLOG) == 0)
			break;
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int net_server_bound_port(evutil_socket_t fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

struct net_server *net_server_new(struct event_base *base, const struct net_server_config *cfg,
				  net_request_cb cb, void *arg)
{
	const char *host = cfg->host ? cfg->host : "";
	struct net_server *srv = calloc(1, sizeof *srv);
	if (srv == NULL) {
		tlog(TLOG_ERROR, "net", "listen on %s:%d: out of memory", host, cfg->port);
		return NULL;
	}
	srv->base = base;
	srv->cb = cb;
	srv->arg = arg;
	srv->max_request_bytes = cfg->max_request_bytes > 0 ? cfg->max_request_bytes : NET_DEFAULT_MAX_REQUEST_BYTES;
	srv->max_inflight = cfg->max_inflight > 0 ? cfg->max_inflight : NET_DEFAULT_MAX_INFLIGHT;
	srv->send_buffer_bytes = cfg->send_buffer_bytes;
	srv->recv_buffer_bytes = cfg->recv_buffer_bytes;
	srv->output_hwm = cfg->output_hwm_bytes > 0 ? cfg->output_hwm_bytes : NET_DEFAULT_OUTPUT_HWM;
	srv->next_conn_id = 1;
	srv->host = strdup(host);
	if (srv->host == NULL)
		goto err_after_alloc;

	char err[256];
	evutil_socket_t fd = net_server_bind(host, cfg->port, err, sizeof err);
	if (fd < 0) {
		tlog(TLOG_ERROR, "net", "cannot listen on %s:%d: %s", host, cfg->port, err);
		goto err_after_alloc;
	}
	srv->port = net_server_bound_port(fd);
	srv->listener = evconnlistener_new(base, net_server_accept_cb, srv,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (srv->listener == NULL) {
		tlog(TLOG_ERROR, "net", "cannot listen on %s:%d: libevent listener failed", host, cfg->port);
		close(fd);
		goto err_after_alloc;
	}
	evconnlistener_set_error_cb(srv->listener, net_server_accept_error_cb);
	srv->accept_retry = evtimer_new(base, net_server_retry_cb, srv);
	if (srv->accept_retry == NULL) {
		tlog(TLOG_ERROR, "net", "listen on %s:%d: out of memory", host, cfg->port);
		goto err_after_listener;
	}
	tlog(TLOG_DEBUG, "net", "listening on %s:%d", host[0] ? host : "0.0.0.0", srv->port);
	return srv;

err_after_listener:
	evconnlistener_free(srv->listener);
err_after_alloc:
	free(srv->host);
	free(srv);
	return NULL;
}

int net_server_port(const struct net_server *srv)
{
	return srv->port;
}

int net_server_conn_count(const struct net_server *srv)
{
	return srv->n_conns;
}

void net_server_free(struct net_server *srv)
{
	if (srv == NULL)
		return;
	evconnlistener_free(srv->listener);
	event_free(srv->accept_retry);
	net_conn_close_all(srv, "server shutting down");
	free(srv->host);
	free(srv);
}
