#include "cmd/tern/raw_conn.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t raw_conn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on fd until the deadline. Returns 0 or -1. */
static int raw_conn_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - raw_conn_now_ms();
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

int raw_conn_connect(const char *host, const char *port, int64_t deadline)
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
		if (errno == EINPROGRESS && raw_conn_wait(fd, POLLOUT, deadline) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* All n bytes out (send) or in (recv) before the deadline. */
static int raw_conn_io(int fd, uint8_t *p, size_t n, int out, int64_t deadline)
{
	while (n > 0) {
		ssize_t k = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
			return -1;
		} else if (raw_conn_wait(fd, out ? POLLOUT : POLLIN, deadline) != 0) {
			return -1;
		}
	}
	return 0;
}

int raw_conn_round_trip(int fd, const uint8_t *frame, size_t len, size_t max, uint8_t **body, size_t *body_len,
			int64_t deadline)
{
	*body = NULL;
	*body_len = 0;
	uint8_t szb[4];
	if (raw_conn_io(fd, (uint8_t *)(uintptr_t)frame, len, 1, deadline) != 0 ||
	    raw_conn_io(fd, szb, 4, 0, deadline) != 0)
		return -1;
	uint32_t size = (uint32_t)szb[0] << 24 | (uint32_t)szb[1] << 16 | (uint32_t)szb[2] << 8 | szb[3];
	if (size < 4 || size > max)
		return -1; /* bounded before anything is allocated */
	uint8_t *b = malloc(size);
	if (b == NULL || raw_conn_io(fd, b, size, 0, deadline) != 0) {
		free(b);
		return -1;
	}
	*body = b;
	*body_len = size;
	return 0;
}

int raw_conn_each_server(const char *bootstrap, int64_t deadline, int (*fn)(int fd, void *arg), void *arg)
{
	char *list = strdup(bootstrap);
	if (list == NULL)
		return -1;
	int rc = -1;
	char *save = NULL;
	for (char *srv = strtok_r(list, ",", &save); srv && rc < 0; srv = strtok_r(NULL, ",", &save)) {
		while (*srv == ' ')
			srv++;
		char *scheme = strstr(srv, "://");
		if (scheme)
			srv = scheme + 3;
		char *colon = strrchr(srv, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		char *host = srv, *port = colon + 1;
		if (host[0] == '[') {
			host++;
			char *close_br = strchr(host, ']');
			if (close_br)
				*close_br = '\0';
		}
		int fd = raw_conn_connect(host, port, deadline);
		if (fd < 0)
			continue;
		rc = fn(fd, arg);
		close(fd);
	}
	free(list);
	return rc;
}
