/* logger: level-filtered, one write(2) per line. See logger.h. */
#include "broker/logger.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOGGER_LINE_MAX 4096

/* -1 until the environment has been read; then a TLOG_* value. Atomic because
 * the raft and worker threads log too. */
static atomic_int logger_threshold = -1;
static atomic_int logger_fd = 2;

int logger_level_parse(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcasecmp(name, "error") == 0)
		return TLOG_ERROR;
	if (strcasecmp(name, "warn") == 0 || strcasecmp(name, "warning") == 0)
		return TLOG_WARN;
	if (strcasecmp(name, "info") == 0)
		return TLOG_INFO;
	if (strcasecmp(name, "debug") == 0)
		return TLOG_DEBUG;
	return -1;
}

const char *logger_level_name(int level)
{
	switch (level) {
	case TLOG_ERROR:
		return "ERROR";
	case TLOG_WARN:
		return "WARN";
	case TLOG_INFO:
		return "INFO";
	case TLOG_DEBUG:
		return "DEBUG";
	default:
		return "?";
	}
}

int logger_level(void)
{
	int t = atomic_load_explicit(&logger_threshold, memory_order_relaxed);
	if (t >= 0)
		return t;
	/* First use: the environment decides. A bad name falls back to info
	 * rather than silencing the broker. */
	t = logger_level_parse(getenv("TERN_LOG_LEVEL"));
	if (t < 0)
		t = TLOG_INFO;
	int expected = -1;
	/* Lose gracefully to a concurrent logger_set_level(). */
	if (!atomic_compare_exchange_strong(&logger_threshold, &expected, t))
		t = expected;
	return t;
}

void logger_set_level(int level)
{
	if (level < TLOG_ERROR)
		level = TLOG_ERROR;
	if (level > TLOG_DEBUG)
		level = TLOG_DEBUG;
	atomic_store(&logger_threshold, level);
}

void logger_set_fd(int fd)
{
	atomic_store(&logger_fd, fd);
}

bool tlog_enabled(int level)
{
	return level <= logger_level();
}

void tlog(int level, const char *subsystem, const char *fmt, ...)
{
	if (level > logger_level())
		return;

	char line[LOGGER_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
			 logger_level_name(level), subsystem ? subsystem : "-");
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;

	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
	va_end(ap);
	if (m > 0)
		len += (size_t)m < sizeof line - len ? (size_t)m : sizeof line - len - 1;

	/* Exactly one newline, even when the message brought its own or was
	 * truncated. */
	while (len > 0 && line[len - 1] == '\n')
		len--;
	if (len >= sizeof line - 1)
		len = sizeof line - 2;
	line[len++] = '\n';

	int fd = atomic_load(&logger_fd);
	const char *p = line;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report it */
		}
		p += w;
		len -= (size_t)w;
	}
}
