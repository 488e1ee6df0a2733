/* The file backend of the artifact store: one file per key under a directory, written atomically.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact/artifact_int.h"
#include "milkcast/fsutil.h"

typedef struct file_store {
	char *dir;
} file_store;

static char *key_path(mc_artifact_store *s, const char *key)
{
	return mc_path_join(((file_store *)s->backend)->dir, key);
}

static mc_code file_put(mc_artifact_store *s, const char *key, const void *p, size_t n,
			mc_error *err)
{
	char *path = key_path(s, key);
	if (!path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	char *parent = strdup(path);
	mc_code rc = parent ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc) {
		*strrchr(parent, '/') = '\0';
		rc = mc_mkdirs(parent, err);
	}
	if (!rc)
		rc = mc_write_file_atomic(path, p, n, err);
	if (rc)
		mc_error_prefix(err, "cannot put '%s' in '%s': ", key, s->uri);
	free(parent);
	free(path);
	return rc;
}

static mc_code file_get(mc_artifact_store *s, const char *key, mc_buf *out, mc_error *err)
{
	char *path = key_path(s, key);
	if (!path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = MC_OK;
	if (mc_is_dir(path))
		rc = mc_fail(err, MC_ERR_NOT_FOUND, "no artifact '%s' in '%s'", key, s->uri);
	else if ((rc = mc_buf_read_file(out, path, err)) == MC_ERR_NOT_FOUND)
		rc = mc_fail(err, MC_ERR_NOT_FOUND, "no artifact '%s' in '%s'", key, s->uri);
	else if (rc)
		mc_error_prefix(err, "cannot get '%s' from '%s': ", key, s->uri);
	free(path);
	return rc;
}

static mc_code file_exists(mc_artifact_store *s, const char *key, bool *exists, mc_error *err)
{
	char *path = key_path(s, key);
	if (!path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	struct stat st;
	*exists = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	free(path);
	return MC_OK;
}

static mc_code file_del(mc_artifact_store *s, const char *key, mc_error *err)
{
	char *path = key_path(s, key);
	if (!path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = MC_OK;
	if (!mc_is_dir(path) && unlink(path) != 0 && errno != ENOENT)
		rc = mc_fail(err, MC_ERR_IO, "cannot delete '%s' from '%s': %s", key, s->uri,
			     strerror(errno));
	free(path);
	return rc;
}

/* A temp file of mc_atomic_open ("name.tmp.<pid>.<n>") left by a writer: not an artifact. */
static bool temp_name(const char *name)
{
	const char *t = strstr(name, ".tmp.");
	while (t && strstr(t + 1, ".tmp."))
		t = strstr(t + 1, ".tmp.");
	if (!t)
		return false;
	const char *p = t + 5;
	size_t digits = strspn(p, "0123456789");
	if (digits == 0 || p[digits] != '.')
		return false;
	p += digits + 1;
	digits = strspn(p, "0123456789");
	return digits > 0 && p[digits] == '\0';
}

typedef struct walk {
	const char *prefix;
	mc_artifact_keys *out;
	size_t cap;
	mc_buf rel;
} walk;

static mc_code walk_dir(walk *w, const char *dir, mc_error *err);

static mc_code walk_entry(walk *w, const char *dir, const char *name, mc_error *err)
{
	size_t mark = w->rel.len;
	mc_code rc = mc_buf_printf(&w->rel, "%s%s", mark ? "/" : "", name);
	char *path = rc ? NULL : mc_path_join(dir, name);
	if (!path) {
		w->rel.len = mark;
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	const char *rel = (const char *)w->rel.data;
	struct stat st;
	size_t plen = strlen(w->prefix);
	if (lstat(path, &st) != 0) {
		rc = MC_OK; /* removed while we walked */
	} else if (S_ISDIR(st.st_mode)) {
		/* descend only where keys could still match the prefix */
		size_t n = w->rel.len < plen ? w->rel.len : plen;
		if (strncmp(rel, w->prefix, n) == 0)
			rc = walk_dir(w, path, err);
	} else if (S_ISREG(st.st_mode) && !temp_name(name) && strncmp(rel, w->prefix, plen) == 0) {
		if (artifact_list_add(w->out, rel, &w->cap))
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	free(path);
	w->rel.len = mark;
	if (w->rel.data)
		w->rel.data[mark] = '\0';
	return rc;
}

static mc_code walk_dir(walk *w, const char *dir, mc_error *err)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return MC_OK;
		return mc_fail(err, MC_ERR_IO, "cannot list '%s': %s", dir, strerror(errno));
	}
	mc_code rc = MC_OK;
	struct dirent *e;
	while (!rc && (e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rc = walk_entry(w, dir, e->d_name, err);
	closedir(d);
	return rc;
}

static mc_code file_list(mc_artifact_store *s, const char *prefix, mc_artifact_keys *out,
			 mc_error *err)
{
	walk w = {.prefix = prefix, .out = out};
	mc_buf_init(&w.rel, 0);
	mc_code rc = walk_dir(&w, ((file_store *)s->backend)->dir, err);
	mc_buf_release(&w.rel);
	return rc;
}

static void file_free(mc_artifact_store *s)
{
	file_store *f = s->backend;
	if (f)
		free(f->dir);
	free(f);
}

static const artifact_ops file_ops = {
	.put = file_put,
	.get = file_get,
	.exists = file_exists,
	.del = file_del,
	.list = file_list,
	.free = file_free,
};

mc_code artifact_file_open(mc_artifact_store *s, const char *dir, mc_error *err)
{
	file_store *f = calloc(1, sizeof *f);
	if (!f)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	s->backend = f;
	s->ops = &file_ops;
	f->dir = strdup(dir);
	size_t n = strlen(dir) + 8;
	s->uri = malloc(n);
	if (!f->dir || !s->uri)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	snprintf(s->uri, n, "file://%s", dir);
	if (mc_exists(dir) && !mc_is_dir(dir))
		return mc_fail(err, MC_ERR_INVALID, "cannot open store '%s': not a directory",
			       s->uri);
	return mc_mkdirs(dir, err);
}
