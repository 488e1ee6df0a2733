/* Atomic file writes and directory helpers (POSIX). */
#define _POSIX_C_SOURCE 200809L
#include "milkcast/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint tmp_counter;

char *mc_path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	while (la > 1 && a[la - 1] == '/')
		la--;
	char *p = malloc(la + lb + 2);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

const char *mc_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

bool mc_is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool mc_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

mc_code mc_mkdirs(const char *path, mc_error *err)
{
	char *p = strdup(path);
	if (!p)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0777) != 0 && errno != EEXIST) {
				mc_fail(err, MC_ERR_IO, "cannot create directory '%s': %s", p,
					strerror(errno));
				free(p);
				return MC_ERR_IO;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	if (!mc_is_dir(path))
		return mc_fail(err, MC_ERR_IO, "cannot create directory '%s': not a directory",
			       path);
	return MC_OK;
}

mc_code mc_fsync_dir(const char *dir, mc_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return mc_fail(err, MC_ERR_IO, "cannot open directory '%s': %s", dir,
			       strerror(errno));
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	if (rc != 0 && e != EINVAL)
		return mc_fail(err, MC_ERR_IO, "cannot fsync directory '%s': %s", dir, strerror(e));
	return MC_OK;
}

/* Parent directory of a path ("." when none); malloc'd. */
static char *parent_dir(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return NULL;
	char *slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return dir;
}

mc_code mc_atomic_open(mc_atomic_file *af, const char *path, mc_error *err)
{
	af->fd = -1;
	af->path = strdup(path);
	size_t n = strlen(path) + 64;
	af->tmp_path = malloc(n);
	if (!af->path || !af->tmp_path) {
		mc_atomic_abort(af);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	snprintf(af->tmp_path, n, "%s.tmp.%ld.%u", path, (long)getpid(),
		 atomic_fetch_add(&tmp_counter, 1));
	af->fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (af->fd < 0) {
		mc_fail(err, MC_ERR_IO, "cannot create '%s': %s", af->tmp_path, strerror(errno));
		mc_atomic_abort(af);
		return MC_ERR_IO;
	}
	return MC_OK;
}

mc_code mc_atomic_write(mc_atomic_file *af, const void *p, size_t n, mc_error *err)
{
	const char *s = p;
	while (n) {
		ssize_t w = write(af->fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return mc_fail(err, MC_ERR_IO, "cannot write '%s': %s", af->tmp_path,
				       strerror(errno));
		}
		s += w;
		n -= (size_t)w;
	}
	return MC_OK;
}

mc_code mc_atomic_commit(mc_atomic_file *af, mc_error *err)
{
	mc_code rc = MC_OK;
	if (fsync(af->fd) != 0)
		rc = mc_fail(err, MC_ERR_IO, "cannot fsync '%s': %s", af->tmp_path,
			     strerror(errno));
	if (close(af->fd) != 0 && !rc)
		rc = mc_fail(err, MC_ERR_IO, "cannot close '%s': %s", af->tmp_path,
			     strerror(errno));
	af->fd = -1;
	if (!rc && rename(af->tmp_path, af->path) != 0)
		rc = mc_fail(err, MC_ERR_IO, "cannot rename '%s' to '%s': %s", af->tmp_path,
			     af->path, strerror(errno));
	if (!rc) {
		char *dir = parent_dir(af->path);
		rc = dir ? mc_fsync_dir(dir, err) : mc_fail(err, MC_ERR_NOMEM, "out of memory");
		free(dir);
		free(af->tmp_path);
		af->tmp_path = NULL;
	}
	mc_atomic_abort(af);
	return rc;
}

void mc_atomic_abort(mc_atomic_file *af)
{
	if (af->fd >= 0)
		close(af->fd);
	af->fd = -1;
	if (af->tmp_path)
		unlink(af->tmp_path);
	free(af->tmp_path);
	free(af->path);
	af->tmp_path = af->path = NULL;
}

/* fsync each distinct parent directory of files[0..n) once. */
static mc_code sync_parent_dirs(mc_atomic_file *files, size_t n, mc_error *err)
{
	mc_code rc = MC_OK;
	char *prev = NULL;
	for (size_t i = 0; i < n && !rc; i++) {
		char *dir = parent_dir(files[i].path);
		if (!dir)
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
		else if (!prev || strcmp(prev, dir) != 0)
			rc = mc_fsync_dir(dir, err);
		free(prev);
		prev = dir;
	}
	free(prev);
	return rc;
}

/*
 * Commit a batch: start write-back of every file at once, then wait for each
 * (fdatasync), rename them all, and fsync their directories. Waiting on
 * files whose I/O is already in flight costs about one journal commit for the
 * batch instead of one per file, and unlike syncfs() it does not wait for
 * unrelated dirty data elsewhere on the file system.
 */
mc_code mc_atomic_commit_all(mc_atomic_file *files, size_t n, mc_error *err)
{
	mc_code rc = MC_OK;
	for (size_t i = 0; i < n; i++)
		(void)sync_file_range(files[i].fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	for (size_t i = 0; i < n && !rc; i++)
		if (fdatasync(files[i].fd) != 0)
			rc = mc_fail(err, MC_ERR_IO, "cannot fsync '%s': %s", files[i].tmp_path,
				     strerror(errno));
	for (size_t i = 0; i < n; i++) {
		if (close(files[i].fd) != 0 && !rc)
			rc = mc_fail(err, MC_ERR_IO, "cannot close '%s': %s", files[i].tmp_path,
				     strerror(errno));
		files[i].fd = -1;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		if (rename(files[i].tmp_path, files[i].path) != 0) {
			rc = mc_fail(err, MC_ERR_IO, "cannot rename '%s' to '%s': %s",
				     files[i].tmp_path, files[i].path, strerror(errno));
			break;
		}
		free(files[i].tmp_path);
		files[i].tmp_path = NULL;
	}
	if (!rc)
		rc = sync_parent_dirs(files, n, err);
	for (size_t i = 0; i < n; i++)
		mc_atomic_abort(&files[i]);
	return rc;
}

mc_code mc_write_file_atomic(const char *path, const void *p, size_t n, mc_error *err)
{
	mc_atomic_file af;
	mc_code rc = mc_atomic_open(&af, path, err);
	if (rc)
		return rc;
	rc = mc_atomic_write(&af, p, n, err);
	if (rc) {
		mc_atomic_abort(&af);
		return rc;
	}
	return mc_atomic_commit(&af, err);
}
