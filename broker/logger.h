/* logger: the broker's one logger.
 *
 * tlog(level, subsystem, fmt, ...) writes one line to stderr:
 *   2024-05-01T12:00:00.123Z INFO  net: conn=7 peer=127.0.0.1:5123 closed
 * The level is checked before anything is formatted, so a disabled debug line
 * costs one comparison (arguments are still evaluated; wrap expensive ones in
 * tlog_enabled()). Lines carry `conn=`, `peer=`, `api=NameVn`, `corr=` where
 * they apply.
 *
 * The threshold comes from the environment variable TERN_LOG_LEVEL
 * (error|warn|info|debug, default info), read on first use, and can be changed
 * with logger_set_level(). Each line goes out in one write(2), so lines from
 * several threads do not interleave.
 *
 * (Named logger_/tlog_ because broker/log/ is the partition log.)
 */
#ifndef TERN_BROKER_LOGGER_H
#define TERN_BROKER_LOGGER_H

#include <stdbool.h>

enum tlog_level {
	TLOG_ERROR = 0,
	TLOG_WARN = 1,
	TLOG_INFO = 2,
	TLOG_DEBUG = 3,
};

/* Writes one line if `level` is enabled. A trailing newline in fmt is not
 * needed (one is added); lines longer than 4 KiB are truncated. */
void tlog(int level, const char *subsystem, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* True when lines of `level` are written. */
bool tlog_enabled(int level);

/* Parses "error", "warn", "info" or "debug" (case-insensitive; "warning"
 * too). Returns the level, or -1 when the name is unknown. */
int logger_level_parse(const char *name);
/* "ERROR", "WARN", "INFO", "DEBUG" ("?" for anything else). */
const char *logger_level_name(int level);

/* Overrides the threshold (TLOG_ERROR..TLOG_DEBUG). */
void logger_set_level(int level);
int logger_level(void);

/* Redirects output to `fd` (default 2, stderr); the fd stays the caller's.
 * Meant for tests. */
void logger_set_fd(int fd);

#endif
