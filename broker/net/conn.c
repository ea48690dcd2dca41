/* conn: one client connection - framing, the per-connection request FIFO that
 * keeps responses in request order, and zero-copy writes. See net.h.
 *
 * Connection states: OPEN (reading and writing) -> CLOSED (socket closed,
 * events freed, unanswered requests dead). A CLOSED connection's memory stays
 * until its last dead request completes, so a request can always reach its
 * connection (peer string, id) without a lookup.
 *
 * Reading: small frames are read into a per-connection buffer and copied out
 * once; a frame of NET_BIG_FRAME bytes or more gets its own buffer as soon as
 * its size is known and the rest is read straight into it, so a large produce
 * is copied by the kernel only. Writing: responses are written from the
 * owner's buffers with sendmsg, several per call, each behind a 4-byte size
 * prefix kept in the request. A response is a list of pieces (a plain one has
 * a single memory piece); a piece in a file goes out with sendfile, the memory
 * before it with MSG_MORE so the two leave in full segments despite
 * TCP_NODELAY.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "broker/logger.h"
#include "broker/net/net_internal.h"

#define NET_RBUF_SIZE (64 * 1024)
#define NET_BIG_FRAME (16 * 1024)
/* Frames handed to the owner per read event, so one busy client cannot
 * starve the others on the loop. */
#define NET_READ_BUDGET 32
#define NET_IOV_MAX 64
/* The smallest request header: api_key, api_version, correlation_id. */
#define NET_MIN_FRAME 8

enum net_conn_state {
	NET_CONN_OPEN,
	NET_CONN_CLOSED,
};

struct net_request {
	struct net_conn *conn;    /* holds a reference to it */
	struct net_request *next; /* arrival order; NULL once dead */
	uint8_t *frame;           /* owned until completion */
	size_t frame_len;
	/* The response, once done: pieces[0, npieces) after the prefix, NULL
	 * when there is nothing to send. `one` holds a single piece without an
	 * allocation; `owned` is freed after the pieces are released. */
	struct net_piece *pieces;
	size_t npieces;
	struct net_piece one;
	void *owned;
	size_t body_len; /* bytes of all pieces */
	uint8_t prefix[4 + NET_RESPONSE_HEADER_MAX]; /* big-endian size, then the owner's header */
	uint8_t prefix_len;                          /* 4 + header bytes */
	bool done;         /* the owner completed it */
	bool dead;         /* its connection closed first */
};

struct net_conn {
	struct net_server *srv; /* NULL once closed */
	struct net_conn *prev, *next; /* in srv->conns while open */
	uint64_t id;
	enum net_conn_state state;
	int refs; /* 1 while open + 1 per request + guards on the stack */
	evutil_socket_t fd;
	struct event *ev_read;
	struct event *ev_write;
	char peer[INET6_ADDRSTRLEN + 8]; /* "ip:port" */
	int local_port;

	/* Limits, copied so a closed connection never needs srv. */
	int32_t max_request_bytes;
	int max_inflight;
	size_t output_hwm;

	/* Read side. Unparsed bytes are rbuf[rstart, rend). While `big` is set
	 * the bytes of one frame go straight into big[big_have, big_len). */
	uint8_t *rbuf;
	size_t rstart, rend;
	uint8_t *big;
	size_t big_len, big_have;
	bool reading;       /* ev_read is added */
	bool output_paused; /* out_pending passed the high-water mark */
	bool in_read_cb;    /* defer writes until the read callback ends */
	bool flush_wanted;  /* a response completed during the read callback */

	/* Requests in arrival order, [head, tail]; `inflight` counts them. */
	struct net_request *head, *tail;
	int inflight;
	size_t head_sent;   /* bytes of head's prefix + response already written */
	size_t out_pending; /* bytes of completed responses not yet written */
	bool write_armed;   /* ev_write is added */
};

static void net_conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void net_conn_write_cb(evutil_socket_t fd, short what, void *arg);
static void net_conn_flush(struct net_conn *c);

static void net_conn_ref(struct net_conn *c)
{
	c->refs++;
}

static void net_conn_unref(struct net_conn *c)
{
	if (--c->refs > 0)
		return;
	/* Only a closed connection loses its last reference: the open state
	 * holds one. */
	free(c);
}

/* Runs the pieces' releases and frees what they point into. */
static void net_pieces_release(struct net_piece *pieces, size_t n, void *owned)
{
	for (size_t i = 0; i < n; i++)
		if (pieces[i].release)
			pieces[i].release(pieces[i].arg);
	free(owned);
}

static void net_request_free(struct net_request *r)
{
	struct net_conn *c = r->conn;
	free(r->frame);
	net_pieces_release(r->pieces, r->npieces, r->owned);
	if (r->pieces != &r->one)
		free(r->pieces);
	free(r);
	net_conn_unref(c);
}

static void net_conn_format_peer(char *out, size_t len, const struct sockaddr *sa)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		port = ntohs(in->sin_port);
		snprintf(out, len, "%s:%d", ip, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		port = ntohs(in6->sin6_port);
		snprintf(out, len, "[%s]:%d", ip, port);
	} else {
		snprintf(out, len, "?");
	}
}

struct net_conn *net_conn_new(struct net_server *srv, evutil_socket_t fd, const struct sockaddr *peer,
			      int peer_len)
{
	struct net_conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		goto err;
	c->rbuf = malloc(NET_RBUF_SIZE);
	if (c->rbuf == NULL)
		goto err_after_conn;
	c->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, net_conn_read_cb, c);
	c->ev_write = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, net_conn_write_cb, c);
	if (c->ev_read == NULL || c->ev_write == NULL)
		goto err_after_events;

	c->srv = srv;
	c->id = srv->next_conn_id++;
	c->state = NET_CONN_OPEN;
	c->refs = 1;
	c->fd = fd;
	c->max_request_bytes = srv->max_request_bytes;
	c->max_inflight = srv->max_inflight;
	c->output_hwm = srv->output_hwm;
	if (peer != NULL && peer_len > 0)
		net_conn_format_peer(c->peer, sizeof c->peer, peer);
	else
		snprintf(c->peer, sizeof c->peer, "?");
	struct sockaddr_storage local;
	socklen_t llen = sizeof local;
	if (getsockname(fd, (struct sockaddr *)&local, &llen) == 0) {
		if (local.ss_family == AF_INET)
			c->local_port = ntohs(((struct sockaddr_in *)&local)->sin_port);
		else if (local.ss_family == AF_INET6)
			c->local_port = ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
	}

	/* Kafka responses are small and latency-bound: no Nagle. */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (srv->send_buffer_bytes > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &srv->send_buffer_bytes, sizeof srv->send_buffer_bytes);
	if (srv->recv_buffer_bytes > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &srv->recv_buffer_bytes, sizeof srv->recv_buffer_bytes);
	(void)evutil_make_socket_nonblocking(fd);

	if (event_add(c->ev_read, NULL) != 0)
		goto err_after_events;
	c->reading = true;

	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
	tlog(TLOG_DEBUG, "net", "conn=%llu peer=%s accepted on port %d", (unsigned long long)c->id, c->peer,
	     c->local_port);
	return c;

err_after_events:
	if (c->ev_read)
		event_free(c->ev_read);
	if (c->ev_write)
		event_free(c->ev_write);
	free(c->rbuf);
err_after_conn:
	free(c);
err:
	tlog(TLOG_WARN, "net", "dropping a new connection: out of memory");
	evutil_closesocket(fd);
	return NULL;
}

void net_conn_close(struct net_conn *c, const char *reason)
{
	if (c->state != NET_CONN_OPEN)
		return;
	c->state = NET_CONN_CLOSED;
	tlog(TLOG_DEBUG, "net", "conn=%llu peer=%s closed: %s", (unsigned long long)c->id, c->peer, reason);

	/* Freeing our own events is safe even from their callbacks: libevent
	 * does not touch an event after its callback returns. */
	event_free(c->ev_read);
	event_free(c->ev_write);
	c->ev_read = c->ev_write = NULL;
	evutil_closesocket(c->fd);
	c->fd = -1;

	struct net_server *srv = c->srv;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	srv->n_conns--;
	c->srv = NULL;

	free(c->rbuf);
	free(c->big);
	c->rbuf = c->big = NULL;

	/* Answered requests are ours to drop; unanswered ones still belong to
	 * their owner, who completes (and so frees) them later. Hold a guard:
	 * freeing requests drops references. */
	net_conn_ref(c);
	struct net_request *r = c->head;
	c->head = c->tail = NULL;
	c->inflight = 0;
	c->out_pending = 0;
	while (r != NULL) {
		struct net_request *next = r->next;
		r->next = NULL;
		if (r->done)
			net_request_free(r);
		else
			r->dead = true;
		r = next;
	}
	/* Drop the guard and the open state's reference together: the guard
	 * alone can never be the last one. */
	c->refs--;
	net_conn_unref(c);
}

void net_conn_close_all(struct net_server *srv, const char *reason)
{
	while (srv->conns != NULL)
		net_conn_close(srv->conns, reason);
}

static bool net_conn_can_read(const struct net_conn *c)
{
	return c->state == NET_CONN_OPEN && c->inflight < c->max_inflight && !c->output_paused;
}

/* Adds or removes the read event to match the limits. On resuming, the
 * callback is also made active once: frames may already sit in rbuf with
 * nothing new arriving on the socket. */
static void net_conn_update_reading(struct net_conn *c)
{
	if (c->state != NET_CONN_OPEN)
		return;
	if (c->output_paused && c->out_pending <= c->output_hwm / 2)
		c->output_paused = false;
	else if (!c->output_paused && c->out_pending > c->output_hwm)
		c->output_paused = true;
	bool want = net_conn_can_read(c);
	if (want && !c->reading) {
		if (event_add(c->ev_read, NULL) == 0) {
			c->reading = true;
			event_active(c->ev_read, EV_READ, 0);
		}
	} else if (!want && c->reading) {
		event_del(c->ev_read);
		c->reading = false;
	}
}

/* Queues a complete frame (taking ownership) and hands it to the owner. */
static void net_conn_dispatch(struct net_conn *c, uint8_t *frame, size_t len)
{
	struct net_request *r = calloc(1, sizeof *r);
	if (r == NULL) {
		free(frame);
		tlog(TLOG_WARN, "net", "conn=%llu peer=%s out of memory for a request", (unsigned long long)c->id,
		     c->peer);
		net_conn_close(c, "out of memory");
		return;
	}
	r->conn = c;
	net_conn_ref(c);
	r->frame = frame;
	r->frame_len = len;
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->inflight++;
	struct net_server *srv = c->srv;
	srv->cb(r, frame, len, srv->arg);
}

static uint32_t net_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Checks a frame's size prefix before anything is allocated for it. */
static bool net_conn_size_ok(struct net_conn *c, int32_t size)
{
	if (size < 0) {
		tlog(TLOG_WARN, "net", "conn=%llu peer=%s invalid request size %d, closing",
		     (unsigned long long)c->id, c->peer, size);
		net_conn_close(c, "negative frame size");
		return false;
	}
	if (size > c->max_request_bytes) {
		tlog(TLOG_WARN, "net",
		     "conn=%llu peer=%s request size %d exceeds socket.request.max.bytes %d, closing",
		     (unsigned long long)c->id, c->peer, size, c->max_request_bytes);
		net_conn_close(c, "frame too large");
		return false;
	}
	if (size < NET_MIN_FRAME) {
		tlog(TLOG_WARN, "net", "conn=%llu peer=%s request size %d cannot hold a request header, closing",
		     (unsigned long long)c->id, c->peer, size);
		net_conn_close(c, "frame too small");
		return false;
	}
	return true;
}

/* Hands out the complete frames buffered in rbuf, within the budget and the
 * in-flight limit. A frame too big for rbuf moves to its own buffer. */
static void net_conn_parse(struct net_conn *c, int *budget)
{
	while (c->state == NET_CONN_OPEN && c->big == NULL && *budget > 0) {
		if (!net_conn_can_read(c)) {
			net_conn_update_reading(c);
			return;
		}
		size_t avail = c->rend - c->rstart;
		if (avail < 4)
			return;
		int32_t size = (int32_t)net_be32(c->rbuf + c->rstart);
		if (!net_conn_size_ok(c, size))
			return;
		size_t need = (size_t)size;
		if (avail - 4 >= need) {
			uint8_t *frame = malloc(need);
			if (frame == NULL) {
				net_conn_close(c, "out of memory");
				return;
			}
			memcpy(frame, c->rbuf + c->rstart + 4, need);
			c->rstart += 4 + need;
			(*budget)--;
			net_conn_dispatch(c, frame, need);
			continue;
		}
		if (need >= NET_BIG_FRAME) {
			c->big = malloc(need);
			if (c->big == NULL) {
				net_conn_close(c, "out of memory");
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

static bool net_conn_has_frame(const struct net_conn *c)
{
	if (c->big != NULL || c->rbuf == NULL)
		return c->big != NULL && c->big_have == c->big_len;
	size_t avail = c->rend - c->rstart;
	if (avail < 4)
		return false;
	int32_t size = (int32_t)net_be32(c->rbuf + c->rstart);
	/* A bad size counts: parsing it closes the connection. */
	return size < 0 || size > c->max_request_bytes || avail - 4 >= (size_t)size;
}

/* One read(2) into the big frame or rbuf. Returns false when the connection
 * closed. */
static bool net_conn_read_once(struct net_conn *c)
{
	ssize_t n;
	if (c->big != NULL) {
		n = read(c->fd, c->big + c->big_have, c->big_len - c->big_have);
	} else {
		if (c->rstart == c->rend) {
			c->rstart = c->rend = 0;
		} else if (c->rstart > 0) {
			/* At most one partial frame under NET_BIG_FRAME bytes. */
			memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
			c->rend -= c->rstart;
			c->rstart = 0;
		}
		n = read(c->fd, c->rbuf + c->rend, NET_RBUF_SIZE - c->rend);
	}
	if (n == 0) {
		net_conn_close(c, "peer closed");
		return false;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return true;
		char why[128];
		snprintf(why, sizeof why, "read: %s", strerror(errno));
		net_conn_close(c, why);
		return false;
	}
	if (c->big != NULL)
		c->big_have += (size_t)n;
	else
		c->rend += (size_t)n;
	return true;
}

static void net_conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_conn *c = arg;
	int budget = NET_READ_BUDGET;
	net_conn_ref(c);
	c->in_read_cb = true;

	net_conn_parse(c, &budget); /* frames left over from the last event */
	if (budget > 0 && net_conn_can_read(c) && net_conn_read_once(c)) {
		if (c->big != NULL && c->big_have == c->big_len) {
			uint8_t *frame = c->big;
			size_t len = c->big_len;
			c->big = NULL;
			c->big_len = c->big_have = 0;
			budget--;
			net_conn_dispatch(c, frame, len);
		}
		net_conn_parse(c, &budget);
	}

	if (c->state == NET_CONN_OPEN) {
		c->in_read_cb = false;
		/* Out of budget with whole frames still buffered: come back
		 * after the other ready connections (the socket may stay
		 * silent, so level triggering alone would not). */
		if (budget == 0 && net_conn_can_read(c) && net_conn_has_frame(c))
			event_active(c->ev_read, EV_READ, 0);
		if (c->flush_wanted) {
			c->flush_wanted = false;
			net_conn_flush(c);
		}
	}
	net_conn_unref(c);
}

static void net_conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_conn *c = arg;
	net_conn_ref(c);
	net_conn_flush(c);
	net_conn_unref(c);
}

/* Accounts `w` written bytes against the head of the queue and pops every
 * request that is done and fully written (with w == 0: pops the leading
 * requests that had nothing to send). */
static void net_conn_advance(struct net_conn *c, size_t w)
{
	while (c->head != NULL && c->head->done) {
		struct net_request *r = c->head;
		size_t total = r->pieces ? r->prefix_len + r->body_len : 0;
		size_t left = total - c->head_sent;
		if (w < left) {
			c->head_sent += w;
			c->out_pending -= w;
			return;
		}
		w -= left;
		c->out_pending -= left;
		c->head_sent = 0;
		c->head = r->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->inflight--;
		net_request_free(r); /* the guard the caller holds keeps c */
	}
}

/* What one write call sends: iovecs of memory, or one file range. */
struct net_batch {
	struct iovec iov[NET_IOV_MAX];
	int n;
	size_t want;
	bool more;         /* a file range follows the iovecs: MSG_MORE */
	bool file;         /* send file_fd [file_off, +want) instead */
	int file_fd;
	int64_t file_off;
	bool unavailable;  /* a piece's bytes cannot be had: close */
};

static bool net_batch_add(struct net_batch *b, const void *p, size_t len)
{
	if (b->n == NET_IOV_MAX)
		return false;
	b->iov[b->n].iov_base = (void *)p;
	b->iov[b->n].iov_len = len;
	b->n++;
	b->want += len;
	return true;
}

/* Gathers what to write next from the completed responses at the head of
 * the queue, in order: as many memory bytes as fit in the iovecs, stopping
 * before a file range - or that file range alone when it comes first. */
static void net_conn_gather(struct net_conn *c, struct net_batch *b)
{
	size_t off = c->head_sent; /* within the first request only */
	for (struct net_request *r = c->head; r != NULL && r->done; r = r->next, off = 0) {
		if (r->pieces == NULL)
			continue; /* nothing to send; popped in order by advance */
		size_t pl = r->prefix_len;
		if (off < pl) {
			if (!net_batch_add(b, r->prefix + off, pl - off))
				return;
			off = pl;
		}
		size_t start = pl;
		for (size_t i = 0; i < r->npieces; i++) {
			const struct net_piece *p = &r->pieces[i];
			size_t end = start + p->len;
			if (off >= end) {
				start = end;
				continue;
			}
			size_t from = off - start, left = p->len - from;
			struct net_where w = {.data = p->data ? p->data + from : NULL, .fd = -1};
			if (p->data == NULL && p->locate(p->arg, from, &w) != 0) {
				/* Bytes already gathered go out first; the
				 * connection closes when this piece is next. */
				b->unavailable = b->n == 0;
				return;
			}
			if (w.data == NULL) {
				if (b->n == 0) {
					b->file = true;
					b->file_fd = w.fd;
					b->file_off = w.offset;
					b->want = left;
				} else {
					b->more = true;
				}
				return;
			}
			if (!net_batch_add(b, w.data, left))
				return;
			off = start = end;
		}
	}
}

/* Writes the completed responses at the head of the queue, in order, until
 * the socket would block or an unfinished request is reached. The caller
 * holds a reference on c. */
static void net_conn_flush(struct net_conn *c)
{
	while (c->state == NET_CONN_OPEN) {
		net_conn_advance(c, 0);
		struct net_batch b;
		b.n = 0;
		b.want = 0;
		b.more = b.file = b.unavailable = false;
		net_conn_gather(c, &b);
		if (b.unavailable) {
			tlog(TLOG_ERROR, "net", "conn=%llu peer=%s bytes of a queued response are gone, closing",
			     (unsigned long long)c->id, c->peer);
			net_conn_close(c, "response bytes unavailable");
			return;
		}
		if (!b.file && b.n == 0)
			break;
		ssize_t w;
		const char *op = "write";
		if (b.file) {
			op = "sendfile";
			off_t pos = (off_t)b.file_off;
			w = sendfile(c->fd, b.file_fd, &pos, b.want);
			if (w == 0) {
				/* The file ends before the range: its bytes are
				 * gone and the frame cannot be finished. */
				errno = ENODATA;
				w = -1;
			}
		} else {
			struct msghdr msg = {.msg_iov = b.iov, .msg_iovlen = (size_t)b.n};
			w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | (b.more ? MSG_MORE : 0));
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			char why[128];
			snprintf(why, sizeof why, "%s: %s", op, strerror(errno));
			if (b.file)
				tlog(TLOG_ERROR, "net", "conn=%llu peer=%s %s, closing", (unsigned long long)c->id,
				     c->peer, why);
			net_conn_close(c, why);
			return;
		}
		net_conn_advance(c, (size_t)w);
		if ((size_t)w < b.want)
			break; /* the socket buffer is full */
	}
	if (c->state != NET_CONN_OPEN)
		return;

	/* Wait for writability only while a completed response is unsent. */
	bool pending = c->head != NULL && c->head->done;
	if (pending && !c->write_armed) {
		if (event_add(c->ev_write, NULL) == 0)
			c->write_armed = true;
	} else if (!pending && c->write_armed) {
		event_del(c->ev_write);
		c->write_armed = false;
	}
	net_conn_update_reading(c);
}

/* --- the owner's side --- */

void net_request_respond(struct net_request *r, uint8_t *resp, size_t len)
{
	net_request_respond_with_header(r, NULL, 0, resp, len);
}

/* Takes the pieces into r (already stored) and queues it for writing. */
static void net_request_finish(struct net_request *r, const uint8_t *hdr, size_t hdr_len)
{
	struct net_conn *c = r->conn;
	free(r->frame);
	r->frame = NULL;
	if (r->dead || c->state != NET_CONN_OPEN) {
		net_request_free(r);
		return;
	}
	size_t len = 0;
	if (r->pieces != NULL) {
		len = hdr_len;
		for (size_t i = 0; i < r->npieces && len <= INT32_MAX; i++)
			len += r->pieces[i].len;
	}
	if (len > INT32_MAX || hdr_len > NET_RESPONSE_HEADER_MAX) {
		/* A bug in the owner: no size prefix can carry it. */
		tlog(TLOG_ERROR, "net", "conn=%llu peer=%s response of %zu bytes cannot be framed, closing",
		     (unsigned long long)c->id, c->peer, len);
		net_conn_ref(c);
		r->done = true;
		net_conn_close(c, "response too large"); /* frees r: it is done */
		net_conn_unref(c);
		return;
	}
	r->done = true;
	if (r->pieces != NULL) {
		r->body_len = len - hdr_len;
		r->prefix[0] = (uint8_t)(len >> 24);
		r->prefix[1] = (uint8_t)(len >> 16);
		r->prefix[2] = (uint8_t)(len >> 8);
		r->prefix[3] = (uint8_t)len;
		r->prefix_len = (uint8_t)(4 + hdr_len);
		if (hdr_len > 0)
			memcpy(r->prefix + 4, hdr, hdr_len);
		c->out_pending += r->prefix_len + r->body_len;
	}

	if (r != c->head) {
		/* Waits behind an earlier request; it only counts toward the
		 * high-water mark for now. */
		net_conn_update_reading(c);
		return;
	}
	if (c->in_read_cb) {
		/* Answered synchronously from the read callback: write once
		 * when it ends, several responses per call. */
		c->flush_wanted = true;
		return;
	}
	net_conn_ref(c);
	net_conn_flush(c);
	net_conn_unref(c);
}

void net_request_respond_with_header(struct net_request *r, const uint8_t *hdr, size_t hdr_len, uint8_t *resp,
				     size_t len)
{
	if (resp != NULL) {
		r->one = (struct net_piece){.len = len, .data = resp};
		r->pieces = &r->one;
		r->npieces = 1;
		r->owned = resp;
	}
	net_request_finish(r, hdr, hdr_len);
}

void net_request_respond_pieces(struct net_request *r, const uint8_t *hdr, size_t hdr_len,
				const struct net_piece *pieces, size_t n, void *owned)
{
	struct net_piece *copy = n == 1 ? &r->one : malloc((n ? n : 1) * sizeof *copy);
	if (copy == NULL) {
		struct net_conn *c = r->conn;
		net_pieces_release((struct net_piece *)pieces, n, owned);
		if (!r->dead && c->state == NET_CONN_OPEN) {
			tlog(TLOG_WARN, "net", "conn=%llu peer=%s out of memory for a response, closing",
			     (unsigned long long)c->id, c->peer);
			net_conn_ref(c);
			net_conn_close(c, "out of memory"); /* marks r dead */
			net_conn_unref(c);
		}
		net_request_free(r);
		return;
	}
	if (n > 0)
		memcpy(copy, pieces, n * sizeof *copy);
	r->pieces = copy;
	r->npieces = n;
	r->owned = owned;
	net_request_finish(r, hdr, hdr_len);
}

void net_request_close(struct net_request *r)
{
	struct net_conn *c = r->conn;
	if (!r->dead && c->state == NET_CONN_OPEN) {
		tlog(TLOG_INFO, "net", "conn=%llu peer=%s closing on an unparseable request", (unsigned long long)c->id,
		     c->peer);
		net_conn_ref(c);
		net_conn_close(c, "unparseable request"); /* marks r dead */
		net_conn_unref(c);
	}
	net_request_free(r);
}

bool net_request_conn_alive(const struct net_request *r)
{
	return !r->dead && r->conn->state == NET_CONN_OPEN;
}

const char *net_request_peer(const struct net_request *r)
{
	return r->conn->peer;
}

uint64_t net_request_conn_id(const struct net_request *r)
{
	return r->conn->id;
}

int net_request_local_port(const struct net_request *r)
{
	return r->conn->local_port;
}
