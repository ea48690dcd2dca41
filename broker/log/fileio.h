/* fileio: the few file primitives the partition log is built on - whole-buffer
 * positional reads and writes that retry short transfers and EINTR, directory
 * fsync, and atomic small-file replacement.
 *
 * Errors are negative errno values. Nothing here allocates except
 * fileio_join(), whose result the caller frees.
 */
#ifndef TERN_LOG_FILEIO_H
#define TERN_LOG_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/* Reads exactly `len` bytes at `off`. Returns 0, -ENODATA when the file ends
 * first, or -errno. */
int fileio_pread_all(int fd, void *buf, size_t len, int64_t off);
/* Writes exactly `len` bytes at `off`. Returns 0 or -errno (the file may then
 * hold a prefix of the buffer: callers truncate it back). */
int fileio_pwrite_all(int fd, const void *buf, size_t len, int64_t off);
/* fsync(2) on a directory, so that creations, renames and unlinks in it are
 * durable. Returns 0 or -errno. */
int fileio_fsync_dir(const char *dir);
/* Replaces dir/name with `len` bytes: written to dir/name.tmp, fsynced,
 * renamed over the old file, then the directory fsynced. A crash leaves the
 * old or the new content, never a mix. Returns 0 or -errno. */
int fileio_write_atomic(const char *dir, const char *name, const void *buf, size_t len);
/* "dir/name" in a fresh malloc'd string (caller frees), or NULL on OOM. */
char *fileio_join(const char *dir, const char *name);
/* Size of an open file in bytes, or -errno. */
int64_t fileio_size(int fd);

#endif
