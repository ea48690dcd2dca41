#include "cmd/tern/topic_id.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "broker/protocol/header.h"
#include "broker/protocol/kreader.h"
#include "broker/protocol/kwriter.h"
#include "broker/protocol/metadata.h"

#define TOPIC_ID_API_KEY 3
#define TOPIC_ID_VERSION 12
/* A Metadata answer for a handful of topics is small; this bounds what a
 * misbehaving peer can make us allocate. */
#define TOPIC_ID_MAX_RESPONSE (64 << 20)

static int64_t topic_id_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline. Returns 0 or -1. */
static int topic_id_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - topic_id_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return (p.revents & (events | POLLHUP | POLLERR)) ? 0 : -1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Connects to host:port (non-blocking socket) before the deadline. */
static int topic_id_connect(const char *host, const char *port, int64_t deadline)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		int err = 0;
		socklen_t len = sizeof(err);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && topic_id_wait(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int topic_id_send(int fd, const uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		} else if (topic_id_wait(fd, POLLOUT, deadline) != 0) {
			return -1;
		}
	}
	return 0;
}

static int topic_id_recv(int fd, uint8_t *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t r = recv(fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			return -1;
		} else if (topic_id_wait(fd, POLLIN, deadline) != 0) {
			return -1;
		}
	}
	return 0;
}

/* One Metadata v12 round trip on a connected socket; fills ids. */
static int topic_id_ask(int fd, const char *const *names, int n, uint8_t (*ids)[16], int64_t deadline)
{
	struct metadata_request_topic *topics = calloc((size_t)n + 1, sizeof(*topics));
	if (!topics)
		return -1;
	for (int i = 0; i < n; i++)
		topics[i].name = (struct kstr){names[i], (int32_t)strlen(names[i])};
	struct metadata_request req = {.topics = topics, .topics_count = n};
	const int32_t corr = 1;
	struct request_header h = {
		.api_key = TOPIC_ID_API_KEY,
		.api_version = TOPIC_ID_VERSION,
		.correlation_id = corr,
		.client_id = {"tern", 4},
	};
	struct kwriter w;
	kw_init(&w, 256);
	size_t size_at = kw_reserve(&w, 4);
	request_header_encode(&w, 2, &h); /* flexible request: header v2 */
	metadata_request_encode(&w, TOPIC_ID_VERSION, &req);
	kw_put_i32_at(&w, size_at, (int32_t)(w.len - 4));
	free(topics);
	int rc = -1;
	uint8_t *body = NULL;
	if (!kw_ok(&w) || topic_id_send(fd, w.buf, w.len, deadline) != 0)
		goto out;

	uint8_t szb[4];
	if (topic_id_recv(fd, szb, 4, deadline) != 0)
		goto out;
	uint32_t size = (uint32_t)szb[0] << 24 | (uint32_t)szb[1] << 16 | (uint32_t)szb[2] << 8 | szb[3];
	if (size < 4 || size > TOPIC_ID_MAX_RESPONSE)
		goto out;
	body = malloc(size);
	if (!body || topic_id_recv(fd, body, size, deadline) != 0)
		goto out;

	struct kreader r;
	kr_init(&r, body, size);
	int32_t got_corr = 0;
	struct metadata_response resp;
	if (response_header_decode(&r, 1, &got_corr) != 0 || got_corr != corr ||
	    metadata_response_decode(&r, TOPIC_ID_VERSION, &resp) != 0)
		goto out;
	for (int32_t t = 0; t < resp.topics_count; t++) {
		const struct metadata_response_topic *mt = &resp.topics[t];
		if (mt->error_code != 0 || mt->name.len < 0)
			continue;
		for (int i = 0; i < n; i++)
			if (kstr_eq(mt->name, names[i]))
				memcpy(ids[i], mt->topic_id, 16);
	}
	metadata_response_free(&resp);
	rc = 0;
out:
	free(body);
	kw_free(&w);
	return rc;
}

int topic_id_fetch(const char *bootstrap, const char *const *names, int n, uint8_t (*ids)[16],
		   int timeout_ms)
{
	memset(ids, 0, (size_t)n * 16);
	char *list = strdup(bootstrap);
	if (!list)
		return -1;
	int64_t deadline = topic_id_now_ms() + timeout_ms;
	int rc = -1;
	char *save = NULL;
	for (char *srv = strtok_r(list, ",", &save); srv && rc != 0; srv = strtok_r(NULL, ",", &save)) {
		while (*srv == ' ')
			srv++;
		/* host:port, [v6]:port; a scheme prefix (PLAINTEXT://) is allowed. */
		char *scheme = strstr(srv, "://");
		if (scheme)
			srv = scheme + 3;
		char *colon = strrchr(srv, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *host = srv, *port = colon + 1;
		if (host[0] == '[') {
			host++;
			char *close_br = strchr(host, ']');
			if (close_br)
				*close_br = '\0';
		}
		int fd = topic_id_connect(host, port, deadline);
		if (fd < 0)
			continue;
		rc = topic_id_ask(fd, names, n, ids, deadline);
		close(fd);
	}
	free(list);
	return rc;
}
