/* net client: round trips, pipelining, failures, timeouts, cancellation and
 * freeing from callbacks, against a net_server on 127.0.0.1 driven by the
 * test's own event loop. The server answers a request with its correlation id
 * and body (the frame minus api_key and api_version), so every response
 * carries the id the client sent. */
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

#define HELD_MAX 256
#define RES_MAX 1024

struct result {
	int status;
	bool resp_null;
	size_t len;
	int32_t corr;
	bool body_ok; /* the body bytes match the pattern of corr */
};

struct fixture {
	struct event_base *base;
	struct net_server *srv;
	struct net_client *client;
	int32_t max_response_bytes; /* for the client (re)made by client_make */
	int request_timeout_ms;

	/* Server behaviour. */
	bool hold;          /* keep requests instead of answering */
	bool no_response;   /* complete requests without a response */
	size_t resp_pad;    /* extra 'p' bytes after the echoed body */
	uint32_t corr_xor;  /* flips bits of the echoed correlation id */
	struct net_request *held[HELD_MAX];
	int n_held;
	int n_seen;

	/* Client callbacks. */
	struct result res[RES_MAX];
	int n_res;
	bool free_in_cb;      /* the first callback frees the client */
	int resend_left;      /* callbacks send one more request while > 0 */
	int32_t next_corr;    /* for resends */
	int send_rc_in_cb;    /* what the last send from a callback returned */
	int in_send;          /* > 0 while the test is inside net_client_send */
	bool cb_inside_send;  /* a callback ran inside net_client_send */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A request frame (no size prefix): api_key 18, api_version 3, corr, then
 * body bytes (corr + i). */
static size_t make_frame(uint8_t *out, int32_t corr, size_t body)
{
	out[0] = 0;
	out[1] = 18;
	out[2] = 0;
	out[3] = 3;
	put_be32(out + 4, (uint32_t)corr);
	for (size_t i = 0; i < body; i++)
		out[8 + i] = (uint8_t)(corr + (int32_t)i);
	return 8 + body;
}

static void on_request(struct net_request *req, const uint8_t *frame, size_t len, void *arg)
{
	struct fixture *f = arg;
	f->n_seen++;
	if (f->hold) {
		assert_true(f->n_held < HELD_MAX);
		f->held[f->n_held++] = req;
		return;
	}
	if (f->no_response) {
		net_request_respond(req, NULL, 0);
		return;
	}
	size_t n = len - 4 + f->resp_pad;
	uint8_t *resp = malloc(n);
	memcpy(resp, frame + 4, len - 4);
	memset(resp + len - 4, 'p', f->resp_pad);
	put_be32(resp, be32(resp) ^ f->corr_xor);
	net_request_respond(req, resp, n);
}

static void on_response(void *arg, int status, const uint8_t *resp, size_t len);

static int send_req(struct fixture *f, int32_t corr, size_t body, bool expect_response)
{
	uint8_t *buf = malloc(8 + body);
	size_t n = make_frame(buf, corr, body);
	f->in_send++;
	int rc = net_client_send(f->client, buf, n, expect_response, on_response, f);
	f->in_send--;
	free(buf);
	return rc;
}

static void on_response(void *arg, int status, const uint8_t *resp, size_t len)
{
	struct fixture *f = arg;
	if (f->in_send > 0)
		f->cb_inside_send = true;
	assert_true(f->n_res < RES_MAX);
	struct result *r = &f->res[f->n_res++];
	r->status = status;
	r->resp_null = resp == NULL;
	r->len = len;
	r->corr = -1;
	r->body_ok = false;
	if (resp != NULL && len >= 4) {
		r->corr = (int32_t)be32(resp);
		r->body_ok = true;
		size_t body = len - 4 - f->resp_pad;
		for (size_t i = 0; i < body; i++)
			if (resp[4 + i] != (uint8_t)(r->corr + (int32_t)i))
				r->body_ok = false;
		for (size_t i = 4 + body; i < len; i++)
			if (resp[i] != 'p')
				r->body_ok = false;
	}
	if (f->free_in_cb) {
		f->free_in_cb = false;
		struct net_client *c = f->client;
		f->client = NULL;
		net_client_free(c);
		return;
	}
	if (f->resend_left > 0 && f->client != NULL) {
		f->resend_left--;
		f->send_rc_in_cb = send_req(f, f->next_corr++, 3, true);
	}
}

static void client_make(struct fixture *f, const char *host, int port)
{
	struct net_client_config cfg = {
		.host = host,
		.port = port,
		.max_response_bytes = f->max_response_bytes,
		.request_timeout_ms = f->request_timeout_ms,
	};
	f->client = net_client_new(f->base, &cfg);
	assert_non_null(f->client);
}

static int setup(void **state)
{
	/* Closing on errors logs; keep the test output clean. */
	logger_set_level(TLOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	struct fixture *f = calloc(1, sizeof *f);
	f->base = event_base_new();
	struct net_server_config cfg = {
		.host = "127.0.0.1",
		.max_request_bytes = 1 << 20,
		.max_inflight = 1024,
	};
	f->srv = net_server_new(f->base, &cfg, on_request, f);
	assert_non_null(f->srv);
	f->max_response_bytes = 64 << 20;
	client_make(f, "127.0.0.1", net_server_port(f->srv));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	net_client_free(f->client);
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

static void pump_for(struct fixture *f, int ms)
{
	int64_t deadline = now_ms() + ms;
	while (now_ms() < deadline) {
		pump(f);
		usleep(200);
	}
}

/* A port on 127.0.0.1 where nothing listens. */
static int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	socklen_t len = sizeof sin;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void assert_echo(const struct fixture *f, int i, int32_t corr, size_t body)
{
	const struct result *r = &f->res[i];
	assert_int_equal(r->status, 0);
	assert_false(r->resp_null);
	assert_int_equal(r->corr, corr);
	assert_int_equal(r->len, 4 + body + f->resp_pad);
	assert_true(r->body_ok);
}

static void client__round_trip(void **state)
{
	struct fixture *f = *state;
	assert_false(net_client_connected(f->client));
	assert_int_equal(send_req(f, 7, 5, true), 0);
	assert_int_equal(net_client_inflight(f->client), 1);
	pump_until(f, &f->n_res, 1);
	assert_echo(f, 0, 7, 5);
	assert_true(net_client_connected(f->client));
	assert_int_equal(net_client_inflight(f->client), 0);
	assert_false(f->cb_inside_send);

	/* The connection stays up for the next request. */
	assert_int_equal(send_req(f, 8, 0, true), 0);
	pump_until(f, &f->n_res, 2);
	assert_echo(f, 1, 8, 0);
	assert_int_equal(net_server_conn_count(f->srv), 1);
}

static void client__pipelined_requests_answered_in_order(void **state)
{
	struct fixture *f = *state;
	enum { N = 100 };
	for (int i = 0; i < N; i++)
		assert_int_equal(send_req(f, 1000 + i, (size_t)i, true), 0);
	assert_int_equal(net_client_inflight(f->client), N);
	assert_int_equal(f->n_res, 0);
	pump_until(f, &f->n_res, N);
	for (int i = 0; i < N; i++)
		assert_echo(f, i, 1000 + i, (size_t)i);
	assert_int_equal(f->n_seen, N);
	assert_int_equal(net_client_inflight(f->client), 0);
	assert_int_equal(net_server_conn_count(f->srv), 1);
}

static void client__server_close_fails_inflight_then_reconnects(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	assert_int_equal(send_req(f, 1, 0, true), 0);
	assert_int_equal(send_req(f, 2, 0, true), 0);
	pump_until(f, &f->n_held, 2);
	assert_true(net_client_connected(f->client));

	/* The server drops the connection (held[1] goes dead with it). */
	net_request_close(f->held[0]);
	f->held[0] = NULL;
	pump_until(f, &f->n_res, 2);
	assert_int_equal(f->res[0].status, NET_CLIENT_EIO);
	assert_int_equal(f->res[1].status, NET_CLIENT_EIO);
	assert_true(f->res[0].resp_null && f->res[0].len == 0);
	assert_false(net_client_connected(f->client));
	assert_int_equal(net_client_inflight(f->client), 0);

	f->hold = false;
	assert_int_equal(send_req(f, 3, 4, true), 0);
	pump_until(f, &f->n_res, 3);
	assert_echo(f, 2, 3, 4);
	assert_true(net_client_connected(f->client));
}

static void client__connect_refused_fails_with_eio(void **state)
{
	struct fixture *f = *state;
	net_client_free(f->client);
	client_make(f, "127.0.0.1", closed_port());
	assert_int_equal(send_req(f, 1, 0, true), 0);
	assert_int_equal(send_req(f, 2, 0, false), 0);
	assert_int_equal(f->n_res, 0); /* never from inside send */
	assert_int_equal(net_client_inflight(f->client), 2);
	pump_until(f, &f->n_res, 2);
	assert_int_equal(f->res[0].status, NET_CLIENT_EIO);
	assert_int_equal(f->res[1].status, NET_CLIENT_EIO);
	assert_false(f->cb_inside_send);
	assert_false(net_client_connected(f->client));
	assert_int_equal(net_client_inflight(f->client), 0);

	/* Each send tries again. */
	assert_int_equal(send_req(f, 3, 0, true), 0);
	pump_until(f, &f->n_res, 3);
	assert_int_equal(f->res[2].status, NET_CLIENT_EIO);
}

static void client__resolves_host_names(void **state)
{
	struct fixture *f = *state;
	net_client_free(f->client);
	client_make(f, "localhost", net_server_port(f->srv));
	assert_int_equal(send_req(f, 5, 2, true), 0);
	pump_until(f, &f->n_res, 1);
	assert_echo(f, 0, 5, 2);

	net_client_free(f->client);
	client_make(f, "no-such-host.invalid", net_server_port(f->srv));
	assert_int_equal(send_req(f, 6, 2, true), 0);
	pump_until(f, &f->n_res, 2);
	assert_int_equal(f->res[1].status, NET_CLIENT_EIO);
}

static void client__request_timeout(void **state)
{
	struct fixture *f = *state;
	net_client_free(f->client);
	f->request_timeout_ms = 150;
	client_make(f, "127.0.0.1", net_server_port(f->srv));
	f->hold = true;
	int64_t start = now_ms();
	assert_int_equal(send_req(f, 1, 0, true), 0);
	assert_int_equal(send_req(f, 2, 0, true), 0);
	pump_until(f, &f->n_res, 2);
	int64_t took = now_ms() - start;
	assert_true(took >= 150);
	assert_true(took < 2000);
	assert_int_equal(f->n_held, 2);
	assert_int_equal(f->res[0].status, NET_CLIENT_ETIMEDOUT);
	assert_int_equal(f->res[1].status, NET_CLIENT_ETIMEDOUT);
	assert_false(net_client_connected(f->client));

	/* A later request on a fresh connection is answered. */
	f->hold = false;
	assert_int_equal(send_req(f, 3, 1, true), 0);
	pump_until(f, &f->n_res, 3);
	assert_echo(f, 2, 3, 1);
}

static void client__connect_timeout(void **state)
{
	struct fixture *f = *state;
	/* A listener that never accepts, its queue filled: the kernel drops
	 * further SYNs, so the client's connect hangs. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(lfd, 0), 0);
	socklen_t slen = sizeof sin;
	getsockname(lfd, (struct sockaddr *)&sin, &slen);
	int fillers[4];
	for (int i = 0; i < 4; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		(void)connect(fillers[i], (struct sockaddr *)&sin, sizeof sin);
	}
	usleep(50 * 1000);

	net_client_free(f->client);
	struct net_client_config cfg = {.host = "127.0.0.1", .port = ntohs(sin.sin_port), .connect_timeout_ms = 200};
	f->client = net_client_new(f->base, &cfg);
	assert_non_null(f->client);
	int64_t start = now_ms();
	assert_int_equal(send_req(f, 1, 0, true), 0);
	pump_until(f, &f->n_res, 1);
	int64_t took = now_ms() - start;
	assert_int_equal(f->res[0].status, NET_CLIENT_EIO);
	assert_true(took >= 200);
	assert_true(took < 2000);
	for (int i = 0; i < 4; i++)
		close(fillers[i]);
	close(lfd);
}

static void client__response_above_max_is_eproto(void **state)
{
	struct fixture *f = *state;
	net_client_free(f->client);
	f->max_response_bytes = 1024;
	client_make(f, "127.0.0.1", net_server_port(f->srv));
	f->resp_pad = 4096;
	assert_int_equal(send_req(f, 1, 0, true), 0);
	assert_int_equal(send_req(f, 2, 0, true), 0);
	pump_until(f, &f->n_res, 2);
	assert_int_equal(f->res[0].status, NET_CLIENT_EPROTO);
	assert_int_equal(f->res[1].status, NET_CLIENT_EPROTO);
	assert_false(net_client_connected(f->client));

	f->resp_pad = 0;
	assert_int_equal(send_req(f, 3, 0, true), 0);
	pump_until(f, &f->n_res, 3);
	assert_echo(f, 2, 3, 0);
}

static void client__unexpected_correlation_id_is_eproto(void **state)
{
	struct fixture *f = *state;
	f->corr_xor = 0x100;
	assert_int_equal(send_req(f, 1, 0, true), 0);
	assert_int_equal(send_req(f, 2, 0, true), 0);
	pump_until(f, &f->n_res, 2);
	assert_int_equal(f->res[0].status, NET_CLIENT_EPROTO);
	assert_int_equal(f->res[1].status, NET_CLIENT_EPROTO);
	assert_false(net_client_connected(f->client));
}

static void client__large_response(void **state)
{
	struct fixture *f = *state;
	f->resp_pad = 24 << 20;
	assert_int_equal(send_req(f, 1, 100, true), 0);
	assert_int_equal(send_req(f, 2, 10, true), 0);
	pump_until(f, &f->n_res, 2);
	assert_echo(f, 0, 1, 100);
	assert_echo(f, 1, 2, 10);

	/* Small responses after a big one come from the read buffer again. */
	f->resp_pad = 0;
	for (int i = 0; i < 10; i++)
		assert_int_equal(send_req(f, 3 + i, 20000, true), 0);
	pump_until(f, &f->n_res, 12);
	for (int i = 0; i < 10; i++)
		assert_echo(f, 2 + i, 3 + i, 20000);
}

static void client__free_with_inflight_cancels_each(void **state)
{
	struct fixture *f = *state;
	f->hold = true;
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_req(f, i, 0, true), 0);
	pump_until(f, &f->n_held, 5);
	/* Two more queued but not written yet. */
	assert_int_equal(send_req(f, 5, 0, true), 0);
	assert_int_equal(send_req(f, 6, 0, false), 0);
	assert_int_equal(net_client_inflight(f->client), 7);
	net_client_free(f->client);
	f->client = NULL;
	assert_int_equal(f->n_res, 7); /* before free returned */
	for (int i = 0; i < 7; i++) {
		assert_int_equal(f->res[i].status, NET_CLIENT_ECANCELED);
		assert_true(f->res[i].resp_null);
	}
	pump_for(f, 20);
	assert_int_equal(f->n_res, 7);
}

static void client__free_from_inside_response_callback(void **state)
{
	struct fixture *f = *state;
	f->free_in_cb = true;
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_req(f, i, 1, true), 0);
	pump_until(f, &f->n_res, 3);
	assert_null(f->client);
	assert_echo(f, 0, 0, 1);
	assert_int_equal(f->res[1].status, NET_CLIENT_ECANCELED);
	assert_int_equal(f->res[2].status, NET_CLIENT_ECANCELED);
	pump_for(f, 20);
	assert_int_equal(f->n_res, 3);
}

/* The client is freed (from a callback) while it is itself running the
 * callbacks of a failed connect. */
static void client__free_from_inside_failure_callback(void **state)
{
	struct fixture *f = *state;
	net_client_free(f->client);
	client_make(f, "127.0.0.1", closed_port());
	f->free_in_cb = true;
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_req(f, i, 0, true), 0);
	pump_until(f, &f->n_res, 3);
	assert_null(f->client);
	for (int i = 0; i < 3; i++)
		assert_int_equal(f->res[i].status, NET_CLIENT_EIO);
	pump_for(f, 20);
	assert_int_equal(f->n_res, 3);
}

static void cancel_and_resend_cb(void *arg, int status, const uint8_t *resp, size_t len)
{
	struct fixture *f = arg;
	on_response(arg, status, resp, len);
	if (status == NET_CLIENT_ECANCELED) {
		uint8_t buf[16];
		size_t n = make_frame(buf, 99, 0);
		f->send_rc_in_cb = net_client_send(f->client, buf, n, true, on_response, f);
	}
}

static void client__send_during_free_is_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16];
	size_t n = make_frame(buf, 1, 0);
	assert_int_equal(net_client_send(f->client, buf, n, true, cancel_and_resend_cb, f), 0);
	net_client_free(f->client);
	f->client = NULL;
	assert_int_equal(f->n_res, 1);
	assert_int_equal(f->send_rc_in_cb, NET_CLIENT_ECANCELED);
	pump_for(f, 20);
	assert_int_equal(f->n_res, 1);
}

static void client__fire_and_forget(void **state)
{
	struct fixture *f = *state;
	f->no_response = true;
	assert_int_equal(send_req(f, 1, 3, false), 0);
	assert_int_equal(send_req(f, 2, 3, false), 0);
	pump_until(f, &f->n_res, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f->res[i].status, 0);
		assert_true(f->res[i].resp_null);
		assert_int_equal(f->res[i].len, 0);
	}
	pump_until(f, &f->n_seen, 2);

	/* A request with a response after them matches its own. */
	f->no_response = false;
	assert_int_equal(send_req(f, 3, 3, true), 0);
	pump_until(f, &f->n_res, 3);
	assert_echo(f, 2, 3, 3);
	assert_int_equal(net_client_inflight(f->client), 0);
}

static void client__callback_may_send_again(void **state)
{
	struct fixture *f = *state;
	f->resend_left = 50;
	f->next_corr = 100;
	assert_int_equal(send_req(f, 99, 3, true), 0);
	pump_until(f, &f->n_res, 51);
	for (int i = 0; i < 51; i++)
		assert_echo(f, i, 99 + i, 3);
	assert_int_equal(f->send_rc_in_cb, 0);
	assert_false(f->cb_inside_send);
	assert_int_equal(net_client_inflight(f->client), 0);
}

static void client__free_null_and_idle(void **state)
{
	struct fixture *f = *state;
	net_client_free(NULL);
	/* Connected and idle, then freed: no callback, the server sees the
	 * close. */
	assert_int_equal(send_req(f, 1, 0, true), 0);
	pump_until(f, &f->n_res, 1);
	net_client_free(f->client);
	f->client = NULL;
	int64_t deadline = now_ms() + 5000;
	while (net_server_conn_count(f->srv) > 0 && now_ms() < deadline)
		pump_for(f, 1);
	assert_int_equal(net_server_conn_count(f->srv), 0);
	assert_int_equal(f->n_res, 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(client__round_trip),
		T(client__pipelined_requests_answered_in_order),
		T(client__server_close_fails_inflight_then_reconnects),
		T(client__connect_refused_fails_with_eio),
		T(client__resolves_host_names),
		T(client__request_timeout),
		T(client__connect_timeout),
		T(client__response_above_max_is_eproto),
		T(client__unexpected_correlation_id_is_eproto),
		T(client__large_response),
		T(client__free_with_inflight_cancels_each),
		T(client__free_from_inside_response_callback),
		T(client__free_from_inside_failure_callback),
		T(client__send_during_free_is_refused),
		T(client__fire_and_forget),
		T(client__callback_may_send_again),
		T(client__free_null_and_idle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
