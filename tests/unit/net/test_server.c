/* net server: framing, ordering, limits and dead requests, against real
 * sockets on 127.0.0.1 with the event loop driven by the test itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/logger.h"
#include "broker/net/net.h"

#define HELD_MAX 4096

struct fixture {
	struct event_base *base;
	struct net_server *srv;
	bool hold;       /* keep requests instead of echoing them */
	size_t resp_pad; /* echo responses get this many extra bytes */
	struct net_request *held[HELD_MAX];
	uint8_t *held_frame[HELD_MAX];
	size_t held_len[HELD_MAX];
	int n_held;
	int n_seen;
};

static uint8_t *dup_bytes(const uint8_t *p, size_t n, size_t pad)
{
	uint8_t *b = malloc(n + pad + 1);
	memcpy(b, p, n);
	memset(b + n, 'p', pad);
	return b;
}

static void on_request(struct net_request *req, const uint8_t *frame, size_t len, void *arg)
{
	struct fixture *f = arg;
	f->n_seen++;
	if (f->hold) {
		assert_true(f->n_held < HELD_MAX);
		f->held[f->n_held] = req;
		f->held_frame[f->n_held] = (uint8_t *)frame;
		f->held_len[f->n_held] = len;
		f->n_held++;
		return;
	}
	net_request_respond(req, dup_bytes(frame, len, f->resp_pad), len + f->resp_pad);
}

static struct fixture *fixture_new(int32_t max_request_bytes, int max_inflight)
{
	struct fixture *f = calloc(1, sizeof *f);
	f->base = event_base_new();
	struct net_server_config cfg = {
		.host = "127.0.0.1",
		.port = 0,
		.max_request_bytes = max_request_bytes,
		.max_inflight = max_inflight,
	};
	f->srv = net_server_new(f->base, &cfg, on_request, f);
	assert_non_null(f->srv);
	assert_true(net_server_port(f->srv) > 0);
	return f;
}

static int setup(void **state)
{
	/* Closing on bad frames logs warnings; keep the test output clean. */
	logger_set_level(TLOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	*state = fixture_new(1 << 20, 256);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->srv)
		net_server_free(f->srv);
	/* Requests still held are dead now; completing them only frees. */
	for (int i = 0; i < f->n_held; i++)
		if (f->held[i])
			net_request_respond(f->held[i], NULL, 0);
	event_base_free(f->base);
	free(f);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pump(struct fixture *f)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Runs the loop until *counter reaches target (or 5 s pass). */
static void pump_until(struct fixture *f, int *counter, int target)
{
	int64_t deadline = now_ms() + 5000;
	while (*counter < target && now_ms() < deadline) {
		pump(f);
		if (*counter < target)
			usleep(200);
	}
	assert_int_equal(*counter, target);
}

static int client_connect(struct fixture *f)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)net_server_port(f->srv))};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	return fd;
}

/* Writes everything without blocking the loop that has to read it. */
static void client_write(struct fixture *f, int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	int64_t deadline = now_ms() + 5000;
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		assert_true(w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		assert_true(now_ms() < deadline);
		pump(f);
	}
}

/* Reads exactly n bytes, driving the loop. Returns n, or the bytes read
 * before EOF/reset (0 for a closed connection). */
static size_t client_read(struct fixture *f, int fd, void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t got = 0;
	int64_t deadline = now_ms() + 5000;
	while (got < n) {
		ssize_t r = recv(fd, p + got, n - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return got;
		assert_true(now_ms() < deadline);
		pump(f);
		usleep(100);
	}
	return got;
}

/* True when the server closed fd (EOF or reset) within 5 s. */
static bool client_sees_close(struct fixture *f, int fd)
{
	uint8_t b[256];
	int64_t deadline = now_ms() + 5000;
	while (now_ms() < deadline) {
		ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return true;
		pump(f);
		usleep(200);
	}
	return false;
}

static bool client_has_nothing(struct fixture *f, int fd)
{
	for (int i = 0; i < 20; i++) {
		pump(f);
		usleep(100);
	}
	uint8_t b;
	ssize_t r = recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
	return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* A frame: size prefix, then an 8-byte "header" carrying `tag`, then body. */
static size_t make_frame(uint8_t *out, uint32_t tag, size_t body)
{
	uint32_t size = (uint32_t)(8 + body);
	out[0] = (uint8_t)(size >> 24);
	out[1] = (uint8_t)(size >> 16);
	out[2] = (uint8_t)(size >> 8);
	out[3] = (uint8_t)size;
	memset(out + 4, 0, 4);
	out[8] = (uint8_t)(tag >> 24);
	out[9] = (uint8_t)(tag >> 16);
	out[10] = (uint8_t)(tag >> 8);
	out[11] = (uint8_t)tag;
	for (size_t i = 0; i < body; i++)
		out[12 + i] = (uint8_t)(tag + i);
	return 4 + size;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads one echoed response and returns its tag (checking the size). */
static uint32_t read_echo(struct fixture *f, int fd, size_t body)
{
	uint8_t hdr[12];
	assert_int_equal(client_read(f, fd, hdr, sizeof hdr), sizeof hdr);
	assert_int_equal(be32(hdr), 8 + body + f->resp_pad);
	size_t rest = body + f->resp_pad;
	uint8_t *b = malloc(rest + 1);
	size_t got = client_read(f, fd, b, rest);
	if (got != rest) {
		free(b); /* the assert below leaves the test */
		b = NULL;
	}
	assert_int_equal(got, rest);
	assert_non_null(b);
	uint32_t tag = be32(hdr + 8);
	for (size_t i = 0; i < body; i++)
		assert_int_equal(b[i], (uint8_t)(tag + i));
	free(b);
	return tag;
}

static void server__responds_in_order_when_completed_reversed(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	int fd = client_connect(f);
	uint8_t buf[64];
	size_t n = make_frame(buf, 1, 4);
	client_write(f, fd, buf, n);
	n = make_frame(buf, 2, 4);
	client_write(f, fd, buf, n);
	pump_until(f, &f->n_held, 2);

	/* #2 completes first: it must wait for #1. */
	net_request_respond(f->held[1], dup_bytes(f->held_frame[1], f->held_len[1], 0), f->held_len[1]);
	f->held[1] = NULL;
	assert_true(client_has_nothing(f, fd));

	net_request_respond(f->held[0], dup_bytes(f->held_frame[0], f->held_len[0], 0), f->held_len[0]);
	f->held[0] = NULL;
	assert_int_equal(read_echo(f, fd, 4), 1);
	assert_int_equal(read_echo(f, fd, 4), 2);
	close(fd);
}

static void server__pipelined_requests_answered_in_order(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f);
	enum { N = 1000 };
	uint8_t *buf = malloc(N * 32);
	size_t n = 0;
	for (uint32_t i = 0; i < N; i++)
		n += make_frame(buf + n, i, 7);
	client_write(f, fd, buf, n);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(read_echo(f, fd, 7), i);
	assert_int_equal(f->n_seen, N);
	free(buf);
	close(fd);
}

static void server__oversized_frame_closes_only_that_connection(void **state)
{
	struct fixture *f = *state;
	int bad = client_connect(f);
	int good = client_connect(f);
	uint8_t hdr[4] = {0x00, 0x20, 0x00, 0x01}; /* 2 MiB + 1 > 1 MiB limit */
	client_write(f, bad, hdr, sizeof hdr);
	assert_true(client_sees_close(f, bad));
	assert_int_equal(f->n_seen, 0);

	uint8_t buf[64];
	size_t n = make_frame(buf, 42, 3);
	client_write(f, good, buf, n);
	assert_int_equal(read_echo(f, good, 3), 42);
	assert_int_equal(net_server_conn_count(f->srv), 1);
	close(bad);
	close(good);
}

static void server__negative_size_closes(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f);
	uint8_t hdr[4] = {0xff, 0xff, 0xff, 0xfe};
	client_write(f, fd, hdr, sizeof hdr);
	assert_true(client_sees_close(f, fd));
	assert_int_equal(f->n_seen, 0);
	close(fd);
}

static void server__frame_shorter_than_header_closes(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f);
	uint8_t frame[8] = {0, 0, 0, 4, 0, 1, 0, 0};
	client_write(f, fd, frame, sizeof frame);
	assert_true(client_sees_close(f, fd));
	assert_int_equal(f->n_seen, 0);
	close(fd);
}

static void server__large_frame_roundtrip(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f);
	size_t body = 900 * 1024;
	uint8_t *buf = malloc(body + 16);
	size_t n = make_frame(buf, 7, body);
	/* Dribble the first bytes so the frame starts in the read buffer and
	 * finishes in its own one. */
	client_write(f, fd, buf, 100);
	for (int i = 0; i < 5; i++)
		pump(f);
	client_write(f, fd, buf + 100, n - 100);
	assert_int_equal(read_echo(f, fd, body), 7);
	free(buf);
	close(fd);
}

static void server__dead_request_can_be_completed(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	int fd = client_connect(f);
	uint8_t buf[64];
	size_t n = make_frame(buf, 1, 0);
	client_write(f, fd, buf, n);
	n = make_frame(buf, 2, 0);
	client_write(f, fd, buf, n);
	pump_until(f, &f->n_held, 2);
	assert_true(net_request_conn_alive(f->held[0]));
	uint64_t id = net_request_conn_id(f->held[0]);
	assert_true(id > 0);
	assert_int_equal(net_request_local_port(f->held[0]), net_server_port(f->srv));

	/* #2 is answered but stuck behind #1 when the client goes away. */
	net_request_respond(f->held[1], dup_bytes(f->held_frame[1], f->held_len[1], 0), f->held_len[1]);
	f->held[1] = NULL;
	close(fd);
	int64_t deadline = now_ms() + 5000;
	while (net_server_conn_count(f->srv) > 0 && now_ms() < deadline) {
		pump(f);
		usleep(200);
	}
	assert_int_equal(net_server_conn_count(f->srv), 0);
	assert_false(net_request_conn_alive(f->held[0]));
	/* The frame and peer stay readable until completion. */
	assert_int_equal(f->held_frame[0][7], 1);
	assert_non_null(strstr(net_request_peer(f->held[0]), "127.0.0.1:"));
	assert_int_equal(net_request_conn_id(f->held[0]), id);
	net_request_respond(f->held[0], malloc(10), 10);
	f->held[0] = NULL;
}

static void server__request_close_drops_connection(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	int fd = client_connect(f);
	uint8_t buf[64];
	size_t n = make_frame(buf, 1, 0);
	client_write(f, fd, buf, n);
	pump_until(f, &f->n_held, 1);
	net_request_close(f->held[0]);
	f->held[0] = NULL;
	assert_true(client_sees_close(f, fd));
	assert_int_equal(net_server_conn_count(f->srv), 0);
	close(fd);
}

static void server__inflight_limit_pauses_reading(void **state)
{
	struct fixture *f = *state;
	net_server_free(f->srv);
	struct net_server_config cfg = {.host = "127.0.0.1", .max_request_bytes = 1 << 20, .max_inflight = 4};
	f->srv = net_server_new(f->base, &cfg, on_request, f);
	assert_non_null(f->srv);
	f->hold = true;
	int fd = client_connect(f);
	uint8_t buf[10 * 32];
	size_t n = 0;
	for (uint32_t i = 0; i < 10; i++)
		n += make_frame(buf + n, i, 2);
	client_write(f, fd, buf, n);
	pump_until(f, &f->n_held, 4);
	for (int i = 0; i < 20; i++)
		pump(f);
	assert_int_equal(f->n_held, 4); /* nothing more read */

	/* Answering frees slots; the rest is read from what is buffered. */
	for (int done = 0; done < 10; done++) {
		pump_until(f, &f->n_held, done + 4 > 10 ? 10 : done + 4);
		net_request_respond(f->held[done], dup_bytes(f->held_frame[done], f->held_len[done], 0),
				    f->held_len[done]);
		f->held[done] = NULL;
	}
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(read_echo(f, fd, 2), i);
	close(fd);
}

static void server__output_high_water_mark_pauses_reading(void **state)
{
	struct fixture *f = *state;
	net_server_free(f->srv);
	struct net_server_config cfg = {.host = "127.0.0.1",
					.max_request_bytes = 1 << 20,
					.max_inflight = 1000,
					.send_buffer_bytes = 4096,
					.output_hwm_bytes = 64 * 1024};
	f->srv = net_server_new(f->base, &cfg, on_request, f);
	assert_non_null(f->srv);
	f->resp_pad = 256 * 1024; /* each response is a quarter MiB */
	int fd = client_connect(f);
	/* Small enough that the kernel cannot absorb the responses, large
	 * enough to avoid silly-window stalls. */
	int rcvbuf = 64 * 1024;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	enum { N = 40 };
	uint8_t buf[N * 16];
	size_t n = 0;
	for (uint32_t i = 0; i < N; i++)
		n += make_frame(buf + n, i, 0);
	client_write(f, fd, buf, n);
	for (int i = 0; i < 50; i++) {
		pump(f);
		usleep(100);
	}
	/* The client reads nothing: the server stops reading its requests. */
	assert_true(f->n_seen < N);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(read_echo(f, fd, 0), i);
	assert_int_equal(f->n_seen, N);
	close(fd);
}

static void server__free_with_pending_requests(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	int fd = client_connect(f);
	uint8_t buf[64];
	size_t n = make_frame(buf, 1, 0);
	client_write(f, fd, buf, n);
	pump_until(f, &f->n_held, 1);
	net_server_free(f->srv);
	f->srv = NULL;
	assert_false(net_request_conn_alive(f->held[0]));
	assert_true(client_sees_close(f, fd));
	close(fd);
	/* teardown completes the held request after the server is gone */
}

static void server__bind_error_returns_null(void **state)
{
	struct fixture *f = *state;
	struct net_server_config cfg = {.host = "127.0.0.1", .port = net_server_port(f->srv)};
	assert_null(net_server_new(f->base, &cfg, on_request, f));
	cfg.host = "no-such-host.invalid";
	cfg.port = 0;
	assert_null(net_server_new(f->base, &cfg, on_request, f));
}

/* --- responses in pieces --- */

/* A piece source for the tests: a file range, or memory once `copy` is set
 * (what a log truncation does), or gone. */
struct src {
	int fd;
	int64_t offset;
	const uint8_t *copy;
	bool gone;
	int locates;
	int releases;
};

static int src_locate(void *arg, size_t from, struct net_where *out)
{
	struct src *s = arg;
	s->locates++;
	if (s->gone)
		return -1;
	if (s->copy != NULL) {
		out->data = s->copy + from;
		return 0;
	}
	out->data = NULL;
	out->fd = s->fd;
	out->offset = s->offset + (int64_t)from;
	return 0;
}

static void src_release(void *arg)
{
	((struct src *)arg)->releases++;
}

static int releases_of_memory;

static void memory_release(void *arg)
{
	releases_of_memory++;
}

/* A temporary file holding `n` bytes: byte i is (uint8_t)(i * 7 + seed). */
static int temp_file(size_t n, uint8_t seed)
{
	char path[] = "/tmp/tern-test-net-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	uint8_t *b = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 7 + seed);
	assert_int_equal(pwrite(fd, b, n, 0), (ssize_t)n);
	free(b);
	return fd;
}

/* The response `expect` (whole, after the size prefix) arrives intact. */
static void read_exact(struct fixture *f, int fd, const uint8_t *expect, size_t n)
{
	uint8_t size[4];
	assert_int_equal(client_read(f, fd, size, 4), 4);
	assert_int_equal(be32(size), n);
	uint8_t *got = malloc(n ? n : 1);
	assert_int_equal(client_read(f, fd, got, n), n);
	assert_memory_equal(got, expect, n);
	free(got);
}

static void hold_two(struct fixture *f, int fd)
{
	uint8_t buf[64];
	size_t n = make_frame(buf, 1, 0);
	client_write(f, fd, buf, n);
	n = make_frame(buf, 2, 0);
	client_write(f, fd, buf, n);
	pump_until(f, &f->n_held, 2);
}

static void server__pieces_from_memory_and_file_in_order(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	int fd = client_connect(f);
	hold_two(f, fd);

	size_t flen = 3 * 1024 * 1024 + 17; /* several sendfile calls */
	int file = temp_file(flen + 100, 3);
	struct src src = {.fd = file, .offset = 100};
	uint8_t *head = malloc(5);
	memcpy(head, "HEAD!", 5);
	static const uint8_t tail[] = "tail";
	releases_of_memory = 0;
	struct net_piece pieces[] = {
		{.len = 5, .data = head},
		{.len = flen, .locate = src_locate, .release = src_release, .arg = &src},
		{.len = 0, .data = tail},
		{.len = 4, .data = tail, .release = memory_release},
	};
	static const uint8_t hdr[] = {0xc0, 0xff, 0xee};
	/* #2 (pieces) completes before #1: it waits. */
	net_request_respond_pieces(f->held[1], hdr, sizeof hdr, pieces, 4, head);
	f->held[1] = NULL;
	assert_true(client_has_nothing(f, fd));
	net_request_respond(f->held[0], dup_bytes(f->held_frame[0], f->held_len[0], 0), f->held_len[0]);
	f->held[0] = NULL;

	assert_int_equal(read_echo(f, fd, 0), 1);
	size_t n = sizeof hdr + 5 + flen + 4;
	uint8_t *expect = malloc(n);
	memcpy(expect, hdr, sizeof hdr);
	memcpy(expect + sizeof hdr, "HEAD!", 5);
	for (size_t i = 0; i < flen; i++)
		expect[sizeof hdr + 5 + i] = (uint8_t)((i + 100) * 7 + 3);
	memcpy(expect + sizeof hdr + 5 + flen, "tail", 4);
	read_exact(f, fd, expect, n);
	free(expect);
	for (int i = 0; i < 10 && (src.releases == 0 || releases_of_memory == 0); i++)
		pump(f);
	assert_int_equal(src.releases, 1);
	assert_int_equal(releases_of_memory, 1);
	assert_true(src.locates >= 1);

	/* The connection goes on. */
	f->hold = false;
	uint8_t buf[64];
	size_t fl = make_frame(buf, 9, 2);
	client_write(f, fd, buf, fl);
	assert_int_equal(read_echo(f, fd, 2), 9);
	close(file);
	close(fd);
}

/* A file piece queued behind an unanswered request whose source moves to
 * memory before it is written (a log truncation): the client gets the bytes
 * the response was made with, not what the file holds later. */
static void server__piece_moved_to_memory_sends_original_bytes(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	int fd = client_connect(f);
	hold_two(f, fd);

	int file = temp_file(4096, 11);
	uint8_t original[1000];
	assert_int_equal(pread(file, original, sizeof original, 500), (ssize_t)sizeof original);
	struct src src = {.fd = file, .offset = 500};
	struct net_piece piece = {.len = sizeof original, .locate = src_locate, .release = src_release, .arg = &src};
	net_request_respond_pieces(f->held[1], NULL, 0, &piece, 1, NULL);
	f->held[1] = NULL;

	/* Truncated and rewritten meanwhile, with a copy taken first. */
	src.copy = original;
	assert_int_equal(ftruncate(file, 200), 0);
	uint8_t other[4096];
	memset(other, 0xee, sizeof other);
	assert_int_equal(pwrite(file, other, sizeof other, 200), (ssize_t)sizeof other);

	net_request_respond(f->held[0], dup_bytes(f->held_frame[0], f->held_len[0], 0), f->held_len[0]);
	f->held[0] = NULL;
	assert_int_equal(read_echo(f, fd, 0), 1);
	read_exact(f, fd, original, sizeof original);
	assert_int_equal(src.releases, 1);
	close(file);
	close(fd);
}

/* Bytes that cannot be had (a failed copy, a file shorter than the range)
 * close the connection: the client never gets a frame with other bytes. */
static void server__unavailable_piece_closes_the_connection(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	for (int variant = 0; variant < 2; variant++) {
		f->n_held = 0;
		int fd = client_connect(f);
		uint8_t buf[64];
		size_t n = make_frame(buf, 1, 0);
		client_write(f, fd, buf, n);
		pump_until(f, &f->n_held, 1);

		int file = temp_file(100, 1);
		/* variant 0: the source says gone; 1: the range passes the file's end. */
		struct src src = {.fd = file, .offset = variant == 0 ? 0 : 50, .gone = variant == 0};
		struct net_piece pieces[] = {
			{.len = 3, .data = (const uint8_t *)"abc"},
			{.len = 100, .locate = src_locate, .release = src_release, .arg = &src},
		};
		net_request_respond_pieces(f->held[0], NULL, 0, pieces, 2, NULL);
		f->held[0] = NULL;
		uint8_t got[4 + 3 + 100];
		size_t r = client_read(f, fd, got, sizeof got);
		assert_true(r < sizeof got);
		assert_true(client_sees_close(f, fd));
		assert_int_equal(src.releases, 1);
		assert_int_equal(net_server_conn_count(f->srv), 0);
		close(file);
		close(fd);
	}
}

/* Pieces handed to a request whose connection is gone are released at once. */
static void server__pieces_of_a_dead_request_are_released(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	int fd = client_connect(f);
	uint8_t buf[64];
	size_t n = make_frame(buf, 1, 0);
	client_write(f, fd, buf, n);
	pump_until(f, &f->n_held, 1);
	close(fd);
	int64_t deadline = now_ms() + 5000;
	while (net_server_conn_count(f->srv) > 0 && now_ms() < deadline) {
		pump(f);
		usleep(200);
	}
	assert_false(net_request_conn_alive(f->held[0]));
	struct src src = {.fd = -1};
	releases_of_memory = 0;
	struct net_piece pieces[] = {
		{.len = 10, .locate = src_locate, .release = src_release, .arg = &src},
		{.len = 1, .data = (const uint8_t *)"x", .release = memory_release},
	};
	net_request_respond_pieces(f->held[0], NULL, 0, pieces, 2, malloc(8));
	f->held[0] = NULL;
	assert_int_equal(src.releases, 1);
	assert_int_equal(src.locates, 0);
	assert_int_equal(releases_of_memory, 1);
}

/* A response of pieces still queued when the connection closes is released
 * with it. */
static void server__queued_pieces_released_on_close(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	int fd = client_connect(f);
	hold_two(f, fd);
	int file = temp_file(64, 5);
	struct src src = {.fd = file};
	struct net_piece piece = {.len = 64, .locate = src_locate, .release = src_release, .arg = &src};
	net_request_respond_pieces(f->held[1], NULL, 0, &piece, 1, NULL);
	f->held[1] = NULL;
	net_request_close(f->held[0]);
	f->held[0] = NULL;
	assert_int_equal(src.releases, 1);
	assert_int_equal(src.locates, 0);
	assert_true(client_sees_close(f, fd));
	close(file);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(server__responds_in_order_when_completed_reversed, setup, teardown),
		cmocka_unit_test_setup_teardown(server__pipelined_requests_answered_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(server__oversized_frame_closes_only_that_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(server__negative_size_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(server__frame_shorter_than_header_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(server__large_frame_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(server__dead_request_can_be_completed, setup, teardown),
		cmocka_unit_test_setup_teardown(server__request_close_drops_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(server__inflight_limit_pauses_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(server__output_high_water_mark_pauses_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(server__free_with_pending_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(server__bind_error_returns_null, setup, teardown),
		cmocka_unit_test_setup_teardown(server__pieces_from_memory_and_file_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(server__piece_moved_to_memory_sends_original_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(server__unavailable_piece_closes_the_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(server__pieces_of_a_dead_request_are_released, setup, teardown),
		cmocka_unit_test_setup_teardown(server__queued_pieces_released_on_close, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
