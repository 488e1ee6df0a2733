/* File-system helpers: atomic writes (temp, fsync, rename) and directories. */
#ifndef MILKCAST_FSUTIL_H
#define MILKCAST_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "milkcast/error.h"

/*
 * An atomic file write: bytes go to "<path>.tmp.<pid>.<n>" in the same
 * directory; commit fsyncs it, renames it over `path` and fsyncs the
 * directory; abort removes it.  Readers see the old file or the new one,
 * never a part.
 */
typedef struct mc_atomic_file {
	int fd;
	char *path;
	char *tmp_path;
} mc_atomic_file;

mc_code mc_atomic_open(mc_atomic_file *af, const char *path, mc_error *err);
mc_code mc_atomic_write(mc_atomic_file *af, const void *p, size_t n, mc_error *err);
mc_code mc_atomic_commit(mc_atomic_file *af, mc_error *err);
void mc_atomic_abort(mc_atomic_file *af);

/*
 * Commit several atomic files at once: write-back of all started together,
 * fdatasync each, rename each into place, fsync each parent directory once.
 * On error, files not yet renamed are removed; the ones renamed stay (each
 * is complete).
 */
mc_code mc_atomic_commit_all(mc_atomic_file *files, size_t n, mc_error *err);

/* Write a whole buffer atomically. */
mc_code mc_write_file_atomic(const char *path, const void *p, size_t n, mc_error *err);

/* mkdir -p; errors name the directory. */
mc_code mc_mkdirs(const char *path, mc_error *err);
bool mc_is_dir(const char *path);
bool mc_exists(const char *path);
/* fsync a directory so a rename inside it is durable. */
mc_code mc_fsync_dir(const char *dir, mc_error *err);

/* Join two path parts with one '/'; returns malloc'd string or NULL. */
char *mc_path_join(const char *a, const char *b);
/* Last path component (points into `path`). */
const char *mc_basename(const char *path);

#endif
