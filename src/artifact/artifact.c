/* The artifact store front: URI parsing, key checks, and dispatch to the file or S3 backend. */
#include "milkcast/artifact.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact/artifact_int.h"
#include "milkcast/fsutil.h"

#define KEY_MAX 1024

void mc_artifact_opts_init(mc_artifact_opts *o)
{
	*o = (mc_artifact_opts){
		.retries = -1,	  /* MILKCAST_S3_RETRIES, AWS_MAX_ATTEMPTS - 1, profile, 3 */
		.backoff_ms = -1, /* MILKCAST_S3_BACKOFF_MS, else 200 */
		.timeout_s = 300,
		.part_size = MC_ARTIFACT_PART_SIZE,
		.max_get_bytes = (size_t)2 << 30,
	};
}

static bool bad_segment(const char *seg, size_t n)
{
	return n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.');
}

/* The key for an error message: control bytes as '?', cut to the buffer. */
static void printable(const char *key, char *out, size_t cap)
{
	size_t i = 0;
	for (; key[i] && i + 1 < cap; i++)
		out[i] = (unsigned char)key[i] < 0x20 || key[i] == 0x7f ? '?' : key[i];
	out[i] = '\0';
}

mc_code mc_artifact_key_check(const char *key, mc_error *err)
{
	if (!key || !key[0])
		return mc_fail(err, MC_ERR_INVALID, "invalid artifact key '': empty");
	size_t len = strlen(key);
	if (len > KEY_MAX)
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid artifact key '%.64s...': over %d bytes", key, KEY_MAX);
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '\\') {
			char shown[80];
			printable(key, shown, sizeof shown);
			return mc_fail(
				err, MC_ERR_INVALID,
				"invalid artifact key '%s': control byte or backslash at byte %zu",
				shown, (size_t)(p - (const unsigned char *)key));
		}
	if (key[0] == '/')
		return mc_fail(err, MC_ERR_INVALID, "invalid artifact key '%s': absolute path",
			       key);
	const char *seg = key;
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
		if (bad_segment(seg, n))
			return mc_fail(err, MC_ERR_INVALID,
				       "invalid artifact key '%s': empty, '.' or '..' segment",
				       key);
		if (!slash)
			return MC_OK;
		seg = slash + 1;
	}
}

/* An absolute directory for a file store: file:// URI or a path relative to the workspace. */
static mc_code file_dir(const char *uri, const mc_artifact_opts *o, char **out, mc_error *err)
{
	if (strncmp(uri, "file://", 7) == 0) {
		if (uri[7] != '/')
			return mc_fail(err, MC_ERR_INVALID,
				       "invalid store URI '%s': file:// needs an absolute path",
				       uri);
		*out = strdup(uri + 7);
	} else if (uri[0] == '/') {
		*out = strdup(uri);
	} else {
		char cwd[4096];
		const char *base = o->workspace;
		if (!base && !(base = getcwd(cwd, sizeof cwd)))
			return mc_fail(err, MC_ERR_IO, "cannot resolve store path '%s'", uri);
		*out = mc_path_join(base, uri);
	}
	if (!*out)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	size_t n = strlen(*out);
	while (n > 1 && (*out)[n - 1] == '/')
		(*out)[--n] = '\0';
	return MC_OK;
}

static mc_code open_backend(mc_artifact_store *s, const char *uri, mc_error *err)
{
	if (strncmp(uri, "s3://", 5) == 0)
		return artifact_s3_open(s, uri + 5, err);
	const char *colon = strstr(uri, "://");
	if (colon && strncmp(uri, "file://", 7) != 0)
		return mc_fail(err, MC_ERR_UNSUPPORTED,
			       "unsupported store URI '%s': use file:// or s3://", uri);
	char *dir = NULL;
	mc_code rc = file_dir(uri, &s->opts, &dir, err);
	if (!rc)
		rc = artifact_file_open(s, dir, err);
	free(dir);
	return rc;
}

mc_code mc_artifact_open(const char *uri, const mc_artifact_opts *opts, mc_artifact_store **out,
			 mc_error *err)
{
	*out = NULL;
	if (!uri || !uri[0])
		return mc_fail(err, MC_ERR_INVALID, "empty artifact store URI");
	mc_artifact_store *s = calloc(1, sizeof *s);
	if (!s)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (opts)
		s->opts = *opts;
	else
		mc_artifact_opts_init(&s->opts);
	if (s->opts.part_size < ((size_t)5 << 20))
		s->opts.part_size = (size_t)5 << 20; /* S3's minimum part size */
	mc_code rc = open_backend(s, uri, err);
	if (rc) {
		mc_artifact_free(s);
		return rc;
	}
	*out = s;
	return MC_OK;
}

void mc_artifact_free(mc_artifact_store *s)
{
	if (!s)
		return;
	if (s->ops && s->ops->free)
		s->ops->free(s);
	free(s->uri);
	free(s);
}

const char *mc_artifact_uri(const mc_artifact_store *s)
{
	return s->uri;
}

mc_code mc_artifact_put(mc_artifact_store *s, const char *key, const void *p, size_t n,
			mc_error *err)
{
	mc_code rc = mc_artifact_key_check(key, err);
	return rc ? rc : s->ops->put(s, key, p, n, err);
}

mc_code mc_artifact_get(mc_artifact_store *s, const char *key, mc_buf *out, mc_error *err)
{
	mc_code rc = mc_artifact_key_check(key, err);
	if (rc)
		return rc;
	mc_buf_reset(out);
	return s->ops->get(s, key, out, err);
}

mc_code mc_artifact_exists(mc_artifact_store *s, const char *key, bool *exists, mc_error *err)
{
	*exists = false;
	mc_code rc = mc_artifact_key_check(key, err);
	return rc ? rc : s->ops->exists(s, key, exists, err);
}

mc_code mc_artifact_delete(mc_artifact_store *s, const char *key, mc_error *err)
{
	mc_code rc = mc_artifact_key_check(key, err);
	return rc ? rc : s->ops->del(s, key, err);
}

mc_code mc_artifact_list(mc_artifact_store *s, const char *prefix, mc_artifact_keys *out,
			 mc_error *err)
{
	*out = (mc_artifact_keys){0};
	mc_code rc = s->ops->list(s, prefix ? prefix : "", out, err);
	if (rc)
		mc_artifact_keys_release(out);
	else
		artifact_list_sort(out);
	return rc;
}

void mc_artifact_keys_release(mc_artifact_keys *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->keys[i]);
	free(l->keys);
	*l = (mc_artifact_keys){0};
}

mc_code artifact_list_add(mc_artifact_keys *l, const char *key, size_t *cap)
{
	if (l->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **k = realloc(l->keys, ncap * sizeof *k);
		if (!k)
			return MC_ERR_NOMEM;
		l->keys = k;
		*cap = ncap;
	}
	if (!(l->keys[l->n] = strdup(key)))
		return MC_ERR_NOMEM;
	l->n++;
	return MC_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void artifact_list_sort(mc_artifact_keys *l)
{
	if (l->n > 1)
		qsort(l->keys, l->n, sizeof *l->keys, cmp_str);
}
