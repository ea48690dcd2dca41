/* client: one outgoing Kafka-protocol connection to another broker. See
 * net.h.
 *
 * Connection states: DISCONNECTED -> CONNECTING (non-blocking connect to each
 * address getaddrinfo returned, in turn) -> CONNECTED -> DISCONNECTED (peer
 * closed, I/O error, bad frame, timeout, free). A send while DISCONNECTED
 * connects; leaving CONNECTING or CONNECTED fails every request in sendq and
 * waitq, so those queues are empty while DISCONNECTED.
 *
 * A request moves through three FIFOs: sendq (not completely written; the
 * head may be partly written) -> waitq (written, awaiting its response; Kafka
 * answers in order, so a response belongs to waitq's head) -> doneq (outcome
 * known, callback not run yet). A response's callback runs as soon as it is
 * parsed; every other outcome goes through doneq, drained at the end of each
 * of the client's event callbacks (and by `deferred`, made active when doneq
 * fills outside one), so no callback ever runs inside net_client_send.
 *
 * Lifetime: `busy` counts the client's event callbacks and net_client_free
 * calls on the stack. net_client_free cancels everything at once and runs the
 * callbacks, but the memory goes only when busy drops to 0: code that ran a
 * callback checks `freed` before touching the client again.
 *
 * Reading (as conn.c): small responses are read into a per-client buffer and
 * handed out in place, without a copy; a response of NET_CLIENT_BIG_FRAME
 * bytes or more gets its own buffer once its size is known, and the rest is
 * read straight into it (one allocation, no copy beyond the kernel's, for a
 * 64 MiB fetch response). Writing: the queued requests, each stored behind its
 * size prefix, go out with one sendmsg per writable event.
 */
#include <assert.h>
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "broker/logger.h"
#include "broker/net/net.h"

#define NET_CLIENT_RBUF_SIZE (64 * 1024)
#define NET_CLIENT_BIG_FRAME (16 * 1024)
#define NET_CLIENT_IOV_MAX 64
/* A request header holds api_key, api_version and correlation_id; a response
 * header at least the correlation id. */
#define NET_CLIENT_MIN_REQUEST 8
#define NET_CLIENT_MIN_RESPONSE 4
#define NET_CLIENT_DEFAULT_MAX_RESPONSE (100 * 1024 * 1024)
#define NET_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 5000
#define NET_CLIENT_DEFAULT_REQUEST_TIMEOUT_MS 30000

enum net_client_state {
	NET_CLIENT_DISCONNECTED,
	NET_CLIENT_CONNECTING,
	NET_CLIENT_CONNECTED,
};

static const char *net_client_state_name(enum net_client_state s)
{
	switch (s) {
	case NET_CLIENT_DISCONNECTED:
		return "disconnected";
	case NET_CLIENT_CONNECTING:
		return "connecting";
	case NET_CLIENT_CONNECTED:
		return "connected";
	}
	return "?";
}

struct net_client_req {
	struct net_client_req *next; /* in the queue it is in */
	uint8_t *data;               /* size prefix + frame; owned, freed once written */
	size_t data_len;             /* bytes, > NET_CLIENT_MIN_REQUEST */
	int32_t corr;                /* the frame's correlation id */
	bool expect_response;
	int status;          /* the outcome, once in doneq */
	int64_t deadline_ms; /* monotonic: when queued + request timeout */
	net_client_cb cb;    /* may be NULL */
	void *arg;
};

struct net_client_queue {
	struct net_client_req *head, *tail;
};

struct net_client {
	struct event_base *base;
	char *host; /* owned copy */
	int port;
	int32_t max_response_bytes; /* > 0 */
	int connect_timeout_ms;     /* > 0 */
	int request_timeout_ms;     /* > 0 */

	enum net_client_state state;
	uint64_t conn_id;             /* counts connection attempts, for logs */
	evutil_socket_t fd;           /* -1 while DISCONNECTED or between addresses */
	struct event *ev_read;        /* per socket; NULL without one */
	struct event *ev_write;       /* connect completion, then output space */
	bool write_armed;             /* ev_write is added */
	struct addrinfo *addrs;       /* owned while CONNECTING */
	struct addrinfo *next_addr;   /* in addrs: tried if the current one fails */
	int64_t connect_deadline_ms;  /* monotonic, while CONNECTING */

	struct event *timer;       /* the earliest deadline */
	int64_t timer_deadline_ms; /* what timer is armed for; -1: not armed */
	struct event *deferred;    /* drains doneq from the loop */

	struct net_client_queue sendq, waitq, doneq;
	size_t head_sent; /* bytes of sendq.head->data already written */
	size_t pending;   /* requests in the three queues (callback not run) */

	/* Unparsed bytes are rbuf[rstart, rend). While `big` is set, the bytes
	 * of one response go straight into big[big_have, big_len). */
	uint8_t *rbuf;
	size_t rstart, rend;
	uint8_t *big;
	size_t big_len, big_have;

	int busy;   /* callbacks / net_client_free on the stack */
	bool freed; /* net_client_free was called; destroyed when busy is 0 */
};

static void net_client_read_cb(evutil_socket_t fd, short what, void *arg);
static void net_client_write_cb(evutil_socket_t fd, short what, void *arg);

static int64_t net_client_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t net_client_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void net_client_queue_push(struct net_client_queue *q, struct net_client_req *r)
{
	r->next = NULL;
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
}

static struct net_client_req *net_client_queue_pop(struct net_client_queue *q)
{
	struct net_client_req *r = q->head;
	if (r == NULL)
		return NULL;
	q->head = r->next;
	if (q->head == NULL)
		q->tail = NULL;
	r->next = NULL;
	return r;
}

/* The oldest request still without an outcome: every request has the same
 * timeout and keeps its queue order, so it has the earliest deadline. */
static struct net_client_req *net_client_oldest(const struct net_client *c)
{
	return c->waitq.head ? c->waitq.head : c->sendq.head;
}

/* Arms the single timer for the earliest deadline (connect or request), or
 * disarms it. Cheap when nothing changed. */
static void net_client_timer_update(struct net_client *c)
{
	int64_t d = -1;
	if (c->state == NET_CLIENT_CONNECTING)
		d = c->connect_deadline_ms;
	const struct net_client_req *oldest = net_client_oldest(c);
	if (oldest != NULL && (d < 0 || oldest->deadline_ms < d))
		d = oldest->deadline_ms;
	if (d == c->timer_deadline_ms)
		return;
	c->timer_deadline_ms = d;
	if (d < 0) {
		evtimer_del(c->timer);
		return;
	}
	int64_t wait = d - net_client_now_ms();
	if (wait < 0)
		wait = 0;
	struct timeval tv = {.tv_sec = (time_t)(wait / 1000), .tv_usec = (suseconds_t)(wait % 1000) * 1000};
	if (evtimer_add(c->timer, &tv) != 0)
		c->timer_deadline_ms = -1; /* retried at the next update */
}

/* Frees the socket and its events (safe from their own callbacks: libevent
 * does not touch an event after its callback returns). */
static void net_client_close_socket(struct net_client *c)
{
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	c->ev_read = c->ev_write = NULL;
	c->write_armed = false;
	if (c->fd >= 0)
		evutil_closesocket(c->fd);
	c->fd = -1;
}

/* Moves q's requests to doneq with `status`, or NET_CLIENT_ETIMEDOUT for
 * those past their deadline when `timed`. */
static void net_client_fail_queue(struct net_client *c, struct net_client_queue *q, int status, bool timed,
				  int64_t now)
{
	struct net_client_req *r;
	while ((r = net_client_queue_pop(q)) != NULL) {
		r->status = timed && r->deadline_ms <= now ? NET_CLIENT_ETIMEDOUT : status;
		net_client_queue_push(&c->doneq, r);
	}
}

/* Leaves CONNECTING or CONNECTED: closes the socket and gives every queued
 * and in-flight request its outcome (see net_client_fail_queue). Runs no
 * callback. */
static void net_client_disconnect(struct net_client *c, int status, bool timed, const char *why)
{
	if (c->state == NET_CLIENT_DISCONNECTED)
		return;
	size_t lost = 0;
	for (const struct net_client_req *r = c->waitq.head; r != NULL; r = r->next)
		lost++;
	for (const struct net_client_req *r = c->sendq.head; r != NULL; r = r->next)
		lost++;
	/* Quiet when nothing was lost (an idle link the peer closed), the
	 * owner asked for it, or the peer was never reached (a dead broker is
	 * retried every few ms during a failover). */
	tlog(lost > 0 && status != NET_CLIENT_ECANCELED && c->state == NET_CLIENT_CONNECTED ? TLOG_INFO : TLOG_DEBUG,
	     "net",
	     "client conn=%llu peer=%s:%d %s, closing: %s (%zu requests failed)", (unsigned long long)c->conn_id,
	     c->host, c->port, net_client_state_name(c->state), why, lost);

	net_client_close_socket(c);
	if (c->addrs != NULL)
		freeaddrinfo(c->addrs);
	c->addrs = c->next_addr = NULL;
	c->state = NET_CLIENT_DISCONNECTED;
	c->rstart = c->rend = 0;
	free(c->big);
	c->big = NULL;
	c->big_len = c->big_have = 0;
	c->head_sent = 0;

	int64_t now = net_client_now_ms();
	net_client_fail_queue(c, &c->waitq, status, timed, now); /* older first */
	net_client_fail_queue(c, &c->sendq, status, timed, now);
	if (c->doneq.head != NULL)
		event_active(c->deferred, EV_TIMEOUT, 0);
	net_client_timer_update(c);
}

/* Starts a non-blocking connect to the next untried address. Returns 0
 * (ev_write reports the outcome) or an errno value when none is left. */
static int net_client_try_next_addr(struct net_client *c)
{
	int err = ECONNREFUSED;
	while (c->next_addr != NULL) {
		struct addrinfo *ai = c->next_addr;
		c->next_addr = ai->ai_next;
		evutil_socket_t fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		/* Inter-broker requests are small and latency-bound: no Nagle. */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
			err = errno;
			evutil_closesocket(fd);
			continue;
		}
		/* Even a connect that completed at once is finished in the
		 * write callback, so there is one path to CONNECTED. */
		c->fd = fd;
		c->ev_read = event_new(c->base, fd, EV_READ | EV_PERSIST, net_client_read_cb, c);
		c->ev_write = event_new(c->base, fd, EV_WRITE | EV_PERSIST, net_client_write_cb, c);
		if (c->ev_read == NULL || c->ev_write == NULL || event_add(c->ev_write, NULL) != 0) {
			net_client_close_socket(c);
			return ENOMEM;
		}
		c->write_armed = true;
		return 0;
	}
	return err;
}

static void net_client_connect(struct net_client *c)
{
	assert(c->state == NET_CLIENT_DISCONNECTED);
	c->conn_id++;
	c->state = NET_CLIENT_CONNECTING;
	c->connect_deadline_ms = net_client_now_ms() + c->connect_timeout_ms;
	tlog(TLOG_DEBUG, "net", "client conn=%llu peer=%s:%d connecting", (unsigned long long)c->conn_id, c->host,
	     c->port);

	struct addrinfo hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	char portstr[16];
	snprintf(portstr, sizeof portstr, "%d", c->port);
	int gai = getaddrinfo(c->host, portstr, &hints, &c->addrs);
	if (gai != 0) {
		c->addrs = NULL;
		char why[160];
		snprintf(why, sizeof why, "resolve: %s", gai_strerror(gai));
		net_client_disconnect(c, gai == EAI_MEMORY ? NET_CLIENT_ENOMEM : NET_CLIENT_EIO, false, why);
		return;
	}
	c->next_addr = c->addrs;
	int err = net_client_try_next_addr(c);
	if (err != 0) {
		char why[160];
		snprintf(why, sizeof why, "connect: %s", strerror(err));
		net_client_disconnect(c, err == ENOMEM ? NET_CLIENT_ENOMEM : NET_CLIENT_EIO, false, why);
	}
}

/* Runs the callbacks of doneq, in order. A callback may queue requests
 * (they go to sendq, or to doneq after a failed connect: drained here too)
 * or free the client (which drains doneq itself). */
static void net_client_drain(struct net_client *c)
{
	struct net_client_req *r;
	while ((r = net_client_queue_pop(&c->doneq)) != NULL) {
		c->pending--;
		if (r->cb != NULL)
			r->cb(r->arg, r->status, NULL, 0);
		free(r->data);
		free(r);
	}
}

static void net_client_destroy(struct net_client *c)
{
	assert(c->busy == 0 && c->doneq.head == NULL && c->sendq.head == NULL && c->waitq.head == NULL);
	net_client_close_socket(c);
	if (c->addrs != NULL)
		freeaddrinfo(c->addrs);
	if (c->timer)
		event_free(c->timer);
	if (c->deferred)
		event_free(c->deferred);
	free(c->rbuf);
	free(c->big);
	free(c->host);
	free(c);
}

/* Every event callback runs between enter and leave; leave runs the
 * callbacks of the outcomes it produced and frees a client freed meanwhile.
 * c must not be touched after leave. */
static void net_client_enter(struct net_client *c)
{
	c->busy++;
}

static void net_client_leave(struct net_client *c)
{
	net_client_drain(c);
	if (--c->busy > 0)
		return;
	if (c->freed)
		net_client_destroy(c);
	else
		net_client_timer_update(c);
}

/* --- writing --- */

/* Accounts w written bytes: requests written completely leave sendq, for
 * waitq or (fire and forget) doneq. */
static void net_client_advance(struct net_client *c, size_t w)
{
	while (w > 0) {
		struct net_client_req *r = c->sendq.head;
		assert(r != NULL);
		size_t left = r->data_len - c->head_sent;
		if (w < left) {
			c->head_sent += w;
			return;
		}
		w -= left;
		c->head_sent = 0;
		net_client_queue_pop(&c->sendq);
		free(r->data);
		r->data = NULL;
		if (r->expect_response) {
			net_client_queue_push(&c->waitq, r);
		} else {
			r->status = 0;
			net_client_queue_push(&c->doneq, r);
		}
	}
}

/* Writes sendq until it is empty or the socket is full, and waits for
 * writability only while something is left. */
static void net_client_flush(struct net_client *c)
{
	while (c->state == NET_CLIENT_CONNECTED && c->sendq.head != NULL) {
		struct iovec iov[NET_CLIENT_IOV_MAX];
		int n = 0;
		size_t want = 0;
		size_t off = c->head_sent;
		for (struct net_client_req *r = c->sendq.head; r != NULL && n < NET_CLIENT_IOV_MAX; r = r->next) {
			iov[n].iov_base = r->data + off;
			iov[n].iov_len = r->data_len - off;
			want += iov[n++].iov_len;
			off = 0;
		}
		struct msghdr msg;
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)n;
		/* MSG_NOSIGNAL: a peer gone away is an error, not a SIGPIPE. */
		ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			char why[128];
			snprintf(why, sizeof why, "write: %s", strerror(errno));
			net_client_disconnect(c, NET_CLIENT_EIO, false, why);
			return;
		}
		net_client_advance(c, (size_t)w);
		if ((size_t)w < want)
			break; /* the socket buffer is full */
	}
	if (c->state != NET_CLIENT_CONNECTED)
		return;
	bool pending = c->sendq.head != NULL;
	if (pending && !c->write_armed) {
		if (event_add(c->ev_write, NULL) != 0) {
			net_client_disconnect(c, NET_CLIENT_EIO, false, "cannot watch the socket");
			return;
		}
		c->write_armed = true;
	} else if (!pending && c->write_armed) {
		event_del(c->ev_write);
		c->write_armed = false;
	}
}

/* The socket of a CONNECTING client became writable: connected, or failed
 * (then the next address is tried). */
static void net_client_connect_done(struct net_client *c)
{
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err != 0) {
		tlog(TLOG_DEBUG, "net", "client conn=%llu peer=%s:%d connect: %s", (unsigned long long)c->conn_id,
		     c->host, c->port, strerror(err));
		net_client_close_socket(c);
		int next = net_client_try_next_addr(c);
		if (next != 0) {
			char why[160];
			snprintf(why, sizeof why, "connect: %s", strerror(err));
			net_client_disconnect(c, next == ENOMEM ? NET_CLIENT_ENOMEM : NET_CLIENT_EIO, false, why);
		}
		return;
	}
	freeaddrinfo(c->addrs);
	c->addrs = c->next_addr = NULL;
	c->state = NET_CLIENT_CONNECTED;
	if (event_add(c->ev_read, NULL) != 0) {
		net_client_disconnect(c, NET_CLIENT_EIO, false, "cannot watch the socket");
		return;
	}
	tlog(TLOG_DEBUG, "net", "client conn=%llu peer=%s:%d connected", (unsigned long long)c->conn_id, c->host,
	     c->port);
	net_client_flush(c);
}

static void net_client_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_client *c = arg;
	net_client_enter(c);
	if (c->state == NET_CLIENT_CONNECTING)
		net_client_connect_done(c);
	else if (c->state == NET_CLIENT_CONNECTED)
		net_client_flush(c);
	net_client_leave(c);
}

/* --- reading --- */

/* True while the connection that `conn_id` names is still the one open (a
 * callback may have freed the client; a failure closes the connection). */
static bool net_client_live(const struct net_client *c, uint64_t conn_id)
{
	return !c->freed && c->state == NET_CLIENT_CONNECTED && c->conn_id == conn_id;
}

/* Hands a complete response to the oldest outstanding request. */
static void net_client_deliver(struct net_client *c, const uint8_t *frame, size_t len)
{
	struct net_client_req *r = c->waitq.head;
	int32_t corr = (int32_t)net_client_be32(frame);
	if (r == NULL || r->corr != corr) {
		tlog(TLOG_WARN, "net", "client conn=%llu peer=%s:%d response corr=%d, expected %s%d",
		     (unsigned long long)c->conn_id, c->host, c->port, corr, r ? "corr=" : "none",
		     r ? r->corr : 0);
		net_client_disconnect(c, NET_CLIENT_EPROTO, false, "unexpected correlation id");
		return;
	}
	net_client_queue_pop(&c->waitq);
	c->pending--;
	if (r->cb != NULL)
		r->cb(r->arg, 0, frame, len);
	free(r);
}

/* Checks a response's size prefix before anything is allocated for it. */
static bool net_client_size_ok(struct net_client *c, int32_t size)
{
	if (size >= NET_CLIENT_MIN_RESPONSE && size <= c->max_response_bytes)
		return true;
	tlog(TLOG_WARN, "net", "client conn=%llu peer=%s:%d response size %d outside [%d, %d], closing",
	     (unsigned long long)c->conn_id, c->host, c->port, size, NET_CLIENT_MIN_RESPONSE,
	     c->max_response_bytes);
	net_client_disconnect(c, NET_CLIENT_EPROTO, false, "bad response size");
	return false;
}

/* Delivers every complete response in rbuf; moves a big incomplete one to its
 * own buffer. Leaves at most one partial response of less than
 * NET_CLIENT_BIG_FRAME bytes in rbuf. */
static void net_client_parse(struct net_client *c, uint64_t conn_id)
{
	while (net_client_live(c, conn_id) && c->big == NULL) {
		size_t avail = c->rend - c->rstart;
		if (avail < 4)
			return;
		int32_t size = (int32_t)net_client_be32(c->rbuf + c->rstart);
		if (!net_client_size_ok(c, size))
			return;
		size_t need = (size_t)size;
		if (avail - 4 >= need) {
			const uint8_t *frame = c->rbuf + c->rstart + 4;
			c->rstart += 4 + need;
			/* rbuf is freed only with the client: the view
			 * survives a net_client_free from the callback. */
			net_client_deliver(c, frame, need);
			continue;
		}
		if (need >= NET_CLIENT_BIG_FRAME) {
			c->big = malloc(need);
			if (c->big == NULL) {
				tlog(TLOG_WARN, "net", "client conn=%llu peer=%s:%d no memory for a %zu-byte response",
				     (unsigned long long)c->conn_id, c->host, c->port, need);
				net_client_disconnect(c, NET_CLIENT_ENOMEM, false, "out of memory");
				return;
			}
			c->big_len = need;
			c->big_have = avail - 4;
			memcpy(c->big, c->rbuf + c->rstart + 4, c->big_have);
			c->rstart = c->rend = 0;
		}
		return;
	}
}

/* One read(2) into the big response or rbuf. Returns false when the
 * connection closed. */
static bool net_client_read_once(struct net_client *c)
{
	ssize_t n;
	if (c->big != NULL) {
		n = read(c->fd, c->big + c->big_have, c->big_len - c->big_have);
	} else {
		if (c->rstart == c->rend) {
			c->rstart = c->rend = 0;
		} else if (c->rstart > 0) {
			memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
			c->rend -= c->rstart;
			c->rstart = 0;
		}
		assert(c->rend < NET_CLIENT_RBUF_SIZE); /* parse leaves less than a big frame */
		n = read(c->fd, c->rbuf + c->rend, NET_CLIENT_RBUF_SIZE - c->rend);
	}
	if (n == 0) {
		net_client_disconnect(c, NET_CLIENT_EIO, false, "peer closed");
		return false;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return true;
		char why[128];
		snprintf(why, sizeof why, "read: %s", strerror(errno));
		net_client_disconnect(c, NET_CLIENT_EIO, false, why);
		return false;
	}
	if (c->big != NULL)
		c->big_have += (size_t)n;
	else
		c->rend += (size_t)n;
	return true;
}

static void net_client_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_client *c = arg;
	net_client_enter(c);
	uint64_t conn_id = c->conn_id;
	if (c->state == NET_CLIENT_CONNECTED && net_client_read_once(c)) {
		if (c->big != NULL && c->big_have == c->big_len) {
			uint8_t *frame = c->big;
			size_t len = c->big_len;
			c->big = NULL;
			c->big_len = c->big_have = 0;
			net_client_deliver(c, frame, len);
			free(frame);
		}
		net_client_parse(c, conn_id);
	}
	net_client_leave(c);
}

/* --- timer and deferred completions --- */

static void net_client_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_client *c = arg;
	net_client_enter(c);
	c->timer_deadline_ms = -1; /* no longer pending; leave re-arms */
	int64_t now = net_client_now_ms();
	const struct net_client_req *oldest = net_client_oldest(c);
	if (oldest != NULL && oldest->deadline_ms <= now)
		net_client_disconnect(c, NET_CLIENT_EIO, true, "request timed out");
	else if (c->state == NET_CLIENT_CONNECTING && c->connect_deadline_ms <= now)
		net_client_disconnect(c, NET_CLIENT_EIO, true, "connect timed out");
	net_client_leave(c);
}

static void net_client_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_client *c = arg;
	net_client_enter(c);
	net_client_leave(c);
}

/* --- public --- */

struct net_client *net_client_new(struct event_base *base, const struct net_client_config *cfg)
{
	assert(base != NULL && cfg != NULL && cfg->host != NULL);
	assert(cfg->port > 0 && cfg->port <= 65535);
	struct net_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->base = base;
	c->fd = -1;
	c->timer_deadline_ms = -1;
	c->state = NET_CLIENT_DISCONNECTED;
	c->port = cfg->port;
	c->max_response_bytes = cfg->max_response_bytes > 0 ? cfg->max_response_bytes
							     : NET_CLIENT_DEFAULT_MAX_RESPONSE;
	c->connect_timeout_ms =
		cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : NET_CLIENT_DEFAULT_CONNECT_TIMEOUT_MS;
	c->request_timeout_ms =
		cfg->request_timeout_ms > 0 ? cfg->request_timeout_ms : NET_CLIENT_DEFAULT_REQUEST_TIMEOUT_MS;
	c->host = strdup(cfg->host);
	c->rbuf = malloc(NET_CLIENT_RBUF_SIZE);
	c->timer = evtimer_new(base, net_client_timer_cb, c);
	c->deferred = event_new(base, -1, 0, net_client_deferred_cb, c);
	if (c->host == NULL || c->rbuf == NULL || c->timer == NULL || c->deferred == NULL) {
		net_client_destroy(c);
		return NULL;
	}
	return c;
}

int net_client_send(struct net_client *c, const uint8_t *frame, size_t len, bool expect_response, net_client_cb cb,
		    void *arg)
{
	/* A frame without a request header, or too big for a size prefix, is
	 * a bug in the caller. */
	assert(frame != NULL && len >= NET_CLIENT_MIN_REQUEST && len <= INT32_MAX);
	if (c->freed)
		return NET_CLIENT_ECANCELED;
	struct net_client_req *r = calloc(1, sizeof *r);
	uint8_t *data = malloc(4 + len);
	if (r == NULL || data == NULL) {
		free(r);
		free(data);
		return NET_CLIENT_ENOMEM;
	}
	data[0] = (uint8_t)(len >> 24);
	data[1] = (uint8_t)(len >> 16);
	data[2] = (uint8_t)(len >> 8);
	data[3] = (uint8_t)len;
	memcpy(data + 4, frame, len);
	r->data = data;
	r->data_len = 4 + len;
	r->corr = (int32_t)net_client_be32(frame + 4);
	r->expect_response = expect_response;
	r->deadline_ms = net_client_now_ms() + c->request_timeout_ms;
	r->cb = cb;
	r->arg = arg;
	net_client_queue_push(&c->sendq, r);
	c->pending++;

	switch (c->state) {
	case NET_CLIENT_DISCONNECTED:
		net_client_connect(c); /* a failure lands in doneq, drained later */
		break;
	case NET_CLIENT_CONNECTING:
		break; /* written once connected */
	case NET_CLIENT_CONNECTED:
		/* Written from the loop, so that requests queued together go
		 * out in one sendmsg. */
		if (!c->write_armed)
			event_active(c->ev_write, EV_WRITE, 0);
		break;
	}
	net_client_timer_update(c);
	return 0;
}

void net_client_free(struct net_client *c)
{
	if (c == NULL || c->freed)
		return;
	c->freed = true;
	c->busy++;
	net_client_disconnect(c, NET_CLIENT_ECANCELED, false, "client freed");
	net_client_drain(c);
	if (--c->busy == 0)
		net_client_destroy(c);
}

bool net_client_connected(const struct net_client *c)
{
	return c->state == NET_CLIENT_CONNECTED;
}

size_t net_client_inflight(const struct net_client *c)
{
	return c->pending;
}
