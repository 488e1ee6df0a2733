/*
 * Bundles in an artifact store (MILKCAST_ARTIFACTS): publishing a bundle
 * directory under models/<name>/, and opening a bundle from a directory or a
 * store URI through a local cache.  The hashes in bundle.json's "files" are
 * checked on every open.  See milkcast/forecast.h.
 */
#include <errno.h>
#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "forecast/forecast_int.h"
#include "milkcast/artifact.h"
#include "milkcast/fsutil.h"
#include "milkcast/sha256.h"

#define SOURCE_FILE ".milkcast-source" /* in a cached bundle: the URI it came from */
#define META_MAX ((size_t)64 << 20)

/* A file a bundle.json lists, with its hash when the bundle has one. */
typedef struct listed {
	const char *name; /* into the parsed bundle.json */
	const char *sha256;
	uint64_t bytes;
	bool hashed;
} listed;

/* Bundles written before the hash list: these files, unchecked. */
static const char *const old_files[] = {"model.ubj", "snapshot.parquet"};

static bool plain_name(const char *s)
{
	return s && s[0] && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\') &&
	       strcmp(s, "bundle.json") != 0 && mc_artifact_key_check(s, NULL) == MC_OK;
}

static bool sha_hex(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* The files bundle.json describes; `what` names it in errors. */
static mc_code listed_files(json_t *meta, const char *what, listed **out, size_t *n, mc_error *err)
{
	*out = NULL;
	*n = 0;
	json_t *files = json_object_get(meta, "files");
	size_t count = files ? json_object_size(files) : 2;
	if (files && (!json_is_object(files) || count == 0))
		return mc_fail(err, MC_ERR_FORMAT, "%s: 'files' must be an object of files", what);
	listed *l = calloc(count, sizeof *l);
	if (!l)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!files) {
		for (size_t i = 0; i < count; i++)
			l[i] = (listed){old_files[i], NULL, 0, false};
		*out = l;
		*n = count;
		return MC_OK;
	}
	const char *name;
	json_t *e;
	size_t i = 0;
	json_object_foreach(files, name, e)
	{
		const char *sha = json_string_value(json_object_get(e, "sha256"));
		json_t *bytes = json_object_get(e, "bytes");
		if (!plain_name(name) || !sha_hex(sha) || !json_is_integer(bytes) ||
		    json_integer_value(bytes) < 0) {
			free(l);
			return mc_fail(err, MC_ERR_FORMAT,
				       "%s: files.%s needs a plain file name, a sha256 (64 hex "
				       "digits) and bytes",
				       what, name);
		}
		l[i++] = (listed){name, sha, (uint64_t)json_integer_value(bytes), true};
	}
	*out = l;
	*n = i;
	return MC_OK;
}

/* Bytes against their listing; `what` names the file (path or URI). */
static mc_code check_listed(const listed *f, const mc_buf *b, const char *what, mc_error *err)
{
	if (!f->hashed)
		return MC_OK;
	char sha[65];
	mc_sha256_hex(b->data ? b->data : (const uint8_t *)"", b->len, sha);
	if (b->len == f->bytes && !strcmp(sha, f->sha256))
		return MC_OK;
	return mc_fail(err, MC_ERR_FORMAT,
		       "'%s' is corrupt: %zu bytes with sha256 %.16s..., bundle.json lists %" PRIu64
		       " bytes with sha256 %.16s...",
		       what, b->len, sha, f->bytes, f->sha256);
}

/* Every listed file of dir exists and matches its hash. */
static mc_code verify_dir(const char *dir, json_t *meta, mc_error *err)
{
	char what[4300];
	snprintf(what, sizeof what, "%s/bundle.json", dir);
	listed *l;
	size_t n;
	mc_code rc = listed_files(meta, what, &l, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		char *path = mc_path_join(dir, l[i].name);
		mc_buf b = MC_BUF_INIT;
		if (!path)
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
		else if (!l[i].hashed && !mc_exists(path))
			rc = mc_fail(err, MC_ERR_NOT_FOUND, "bundle '%s' lacks %s", dir, l[i].name);
		else if (l[i].hashed && !(rc = mc_buf_read_file(&b, path, err)))
			rc = check_listed(&l[i], &b, path, err);
		mc_buf_release(&b);
		free(path);
	}
	free(l);
	return rc;
}

/*
 * Check the hashes a bundle directory's bundle.json lists, then load it: no
 * byte that fails its hash reaches a parser.  An unreadable bundle.json is
 * left to mc_bundle_load, whose error names the line and column.
 */
static mc_code load_verified(const char *dir, mc_bundle **out, mc_error *err)
{
	char *json = mc_path_join(dir, "bundle.json");
	if (!json)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	json_t *meta = json_load_file(json, JSON_REJECT_DUPLICATES, NULL);
	mc_code rc = meta ? verify_dir(dir, meta, err) : MC_OK;
	json_decref(meta);
	free(json);
	return rc ? rc : mc_bundle_load(dir, out, err);
}

/* --- source URIs ------------------------------------------------------------- */

/* "s3://b/p/models/bundle-x" → store "s3://b/p/models", name "bundle-x". */
static mc_code split_source(const char *source, char **store, char **name, mc_error *err)
{
	*store = *name = NULL;
	size_t n = strlen(source);
	while (n && source[n - 1] == '/')
		n--;
	const char *scheme = strstr(source, "://");
	const char *slash = n ? memrchr(source, '/', n) : NULL;
	if (!scheme || !slash || slash <= scheme + 2 || slash + 1 >= source + n)
		return mc_fail(err, MC_ERR_INVALID,
			       "bundle URI '%s' must be STORE/NAME (e.g. s3://bucket/prefix/models/"
			       "bundle-...)",
			       source);
	*store = strndup(source, (size_t)(slash - source));
	*name = strndup(slash + 1, (size_t)(source + n - slash - 1));
	if (!*store || !*name) {
		free(*store);
		free(*name);
		*store = *name = NULL;
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	if (!plain_name(*name)) {
		mc_fail(err, MC_ERR_INVALID, "bundle URI '%s': '%s' is not a bundle name", source,
			*name);
		free(*store);
		free(*name);
		*store = *name = NULL;
		return MC_ERR_INVALID;
	}
	return MC_OK;
}

/* --- the cache ----------------------------------------------------------------- */

/* Remove a flat directory (a bundle: files only) and what it holds. */
static void remove_flat_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = mc_path_join(dir, e->d_name);
		if (p)
			unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

/* A cached bundle is usable when it came from `source` and every listed file checks out. */
static bool cache_usable(const char *dir, const char *source)
{
	char *marker = mc_path_join(dir, SOURCE_FILE), *json = mc_path_join(dir, "bundle.json");
	mc_buf b = MC_BUF_INIT;
	mc_error e = MC_ERROR_INIT;
	bool ok = marker && json && !mc_buf_read_file(&b, marker, &e) && b.data &&
		  !strcmp((const char *)b.data, source);
	json_t *meta = ok ? json_load_file(json, JSON_REJECT_DUPLICATES, NULL) : NULL;
	ok = meta && !verify_dir(dir, meta, &e);
	json_decref(meta);
	mc_buf_release(&b);
	free(marker);
	free(json);
	return ok;
}

/* Write one file of the bundle being assembled. */
static mc_code put_local(const char *dir, const char *name, const void *p, size_t n, mc_error *err)
{
	char *path = mc_path_join(dir, name);
	mc_code rc = path ? mc_write_file_atomic(path, p, n, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	free(path);
	return rc;
}

/* Download every listed file into tmp, each checked against bundle.json. */
static mc_code download_files(mc_artifact_store *s, const char *source, const char *name,
			      json_t *meta, const char *tmp, mc_error *err)
{
	char what[4300];
	snprintf(what, sizeof what, "%s/bundle.json", source);
	listed *l;
	size_t n;
	mc_code rc = listed_files(meta, what, &l, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		char key[1100], uri[4400];
		snprintf(key, sizeof key, "%s/%s", name, l[i].name);
		snprintf(uri, sizeof uri, "%s/%s", source, l[i].name);
		mc_buf b = MC_BUF_INIT;
		rc = mc_artifact_get(s, key, &b, err);
		if (!rc && (rc = check_listed(&l[i], &b, uri, err)))
			mc_error_prefix(err, "cannot fetch bundle '%s': ", source);
		if (!rc)
			rc = put_local(tmp, l[i].name, b.data ? b.data : (const uint8_t *)"", b.len,
				       err);
		mc_buf_release(&b);
	}
	free(l);
	return rc;
}

/* Move the complete tmp directory to dir, replacing an unusable copy there. */
static mc_code install(const char *cache_dir, const char *tmp, const char *dir, const char *name,
		       const char *source, mc_error *err)
{
	if (rename(tmp, dir) == 0)
		return mc_fsync_dir(cache_dir, err);
	if (errno != ENOTEMPTY && errno != EEXIST)
		return mc_fail(err, MC_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, dir,
			       strerror(errno));
	if (cache_usable(dir, source)) { /* another process got there first */
		remove_flat_dir(tmp);
		return MC_OK;
	}
	char old[4300];
	snprintf(old, sizeof old, "%s/.old-%s.%ld", cache_dir, name, (long)getpid());
	remove_flat_dir(old);
	if (rename(dir, old) != 0 || rename(tmp, dir) != 0)
		return mc_fail(err, MC_ERR_IO, "cannot replace the cached bundle '%s': %s", dir,
			       strerror(errno));
	remove_flat_dir(old);
	return mc_fsync_dir(cache_dir, err);
}

/* Fetch source (store/name) into cache_dir/name, complete and checked, or not at all. */
static mc_code fetch(const char *source, const char *store_uri, const char *name,
		     const char *cache_dir, const char *dir, mc_error *err)
{
	mc_artifact_store *s = NULL;
	mc_buf text;
	mc_buf_init(&text, META_MAX);
	json_t *meta = NULL;
	char tmp[4300], key[1100];
	snprintf(tmp, sizeof tmp, "%s/.tmp-%s.%ld", cache_dir, name, (long)getpid());
	snprintf(key, sizeof key, "%s/bundle.json", name);
	mc_code rc = mc_artifact_open(store_uri, NULL, &s, err);
	if (!rc && (rc = mc_artifact_get(s, key, &text, err)) == MC_ERR_NOT_FOUND)
		rc = mc_fail(err, MC_ERR_NOT_FOUND, "no bundle at '%s': '%s' is missing", source,
			     key);
	if (!rc) {
		json_error_t je;
		meta = json_loadb(text.data ? (const char *)text.data : "", text.len,
				  JSON_REJECT_DUPLICATES, &je);
		if (!meta)
			rc = mc_fail(err, MC_ERR_FORMAT, "'%s/bundle.json': line %d column %d: %s",
				     source, je.line, je.column, je.text);
	}
	if (!rc)
		rc = mc_mkdirs(cache_dir, err);
	if (!rc) {
		remove_flat_dir(tmp); /* a leftover of an interrupted fetch by this pid */
		if (mkdir(tmp, 0755) != 0)
			rc = mc_fail(err, MC_ERR_IO, "cannot create '%s': %s", tmp,
				     strerror(errno));
	}
	bool made = !rc;
	if (!rc)
		rc = download_files(s, source, name, meta, tmp, err);
	/* bundle.json and the marker last: a directory without them is never used. */
	if (!rc)
		rc = put_local(tmp, "bundle.json", text.data, text.len, err);
	if (!rc)
		rc = put_local(tmp, SOURCE_FILE, source, strlen(source), err);
	if (!rc)
		rc = install(cache_dir, tmp, dir, name, source, err);
	if (rc && made)
		remove_flat_dir(tmp);
	json_decref(meta);
	mc_buf_release(&text);
	mc_artifact_free(s);
	return rc;
}

mc_code mc_bundle_open(const char *source, const char *cache_dir, mc_bundle **out, mc_error *err)
{
	*out = NULL;
	if (!source || !source[0])
		return mc_fail(err, MC_ERR_INVALID, "empty bundle source");
	if (!strstr(source, "://"))
		return load_verified(source, out, err);
	if (!cache_dir || !cache_dir[0])
		return mc_fail(err, MC_ERR_INVALID, "bundle '%s': a URI needs a cache directory",
			       source);
	/* One spelling per bundle: without trailing slashes (the cache records it). */
	char *src = strdup(source), *store = NULL, *name = NULL, *dir = NULL;
	size_t n = src ? strlen(src) : 0;
	while (n > 1 && src[n - 1] == '/')
		src[--n] = '\0';
	mc_code rc = src ? split_source(src, &store, &name, err)
			 : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc && !(dir = mc_path_join(cache_dir, name)))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc && !cache_usable(dir, src))
		rc = fetch(src, store, name, cache_dir, dir, err);
	if (!rc)
		rc = load_verified(dir, out, err);
	free(src);
	free(store);
	free(name);
	free(dir);
	return rc;
}

/* --- publishing ---------------------------------------------------------------- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The bundle directory's regular files (not hidden), sorted; bundle.json among them. */
static mc_code dir_files(const char *dir, char ***out, size_t *n, mc_error *err)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(dir);
	if (!d)
		return mc_fail(err, MC_ERR_NOT_FOUND, "cannot list bundle '%s': %s", dir,
			       strerror(errno));
	mc_code rc = MC_OK;
	struct dirent *e;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp."))
			continue;
		char *p = mc_path_join(dir, e->d_name);
		struct stat st;
		bool file = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
		free(p);
		if (!file)
			continue;
		char **l = realloc(*out, (*n + 1) * sizeof *l);
		char *name = l ? strdup(e->d_name) : NULL;
		if (l)
			*out = l;
		if (!name)
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
		else
			l[(*n)++] = name;
	}
	closedir(d);
	if (!rc && *n > 1)
		qsort(*out, *n, sizeof **out, str_cmp);
	return rc;
}

static void names_free(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* Upload one file of the bundle (checked when bundle.json lists it). */
static mc_code upload_file(mc_artifact_store *s, const char *dir, const char *name,
			   const char *bundle, const listed *l, size_t nl, mc_error *err)
{
	char *path = mc_path_join(dir, name);
	mc_buf b = MC_BUF_INIT;
	mc_code rc = path ? mc_buf_read_file(&b, path, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < nl; i++)
		if (!strcmp(l[i].name, name))
			rc = check_listed(&l[i], &b, path, err);
	char key[1200];
	snprintf(key, sizeof key, "models/%s/%s", bundle, name);
	if (!rc)
		rc = mc_artifact_put(s, key, b.data ? b.data : (const uint8_t *)"", b.len, err);
	mc_buf_release(&b);
	free(path);
	return rc;
}

/* Is models/<name>/ taken?  By the same bundle (same bundle.json) is fine: *done. */
static mc_code check_taken(mc_artifact_store *s, const char *name, const mc_buf *meta, bool *done,
			   mc_error *err)
{
	*done = false;
	char key[1200];
	snprintf(key, sizeof key, "models/%s/bundle.json", name);
	mc_buf there;
	mc_buf_init(&there, META_MAX);
	mc_code rc = mc_artifact_get(s, key, &there, err);
	if (rc == MC_ERR_NOT_FOUND) {
		mc_error_clear(err);
		rc = MC_OK;
	} else if (!rc && there.len == meta->len &&
		   /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): never empty */
		   !memcmp(there.data, meta->data, meta->len)) {
		*done = true;
	} else if (!rc) {
		rc = mc_fail(err, MC_ERR_INVALID,
			     "cannot publish bundle '%s': '%s' in '%s' holds another bundle", name,
			     key, mc_artifact_uri(s));
	}
	mc_buf_release(&there);
	return rc;
}

mc_code mc_bundle_publish(const char *dir, const char *store_uri, char *uri_out, size_t cap,
			  mc_error *err)
{
	char real[PATH_MAX];
	if (!realpath(dir, real))
		return mc_fail(err, MC_ERR_NOT_FOUND, "cannot publish bundle '%s': %s", dir,
			       strerror(errno));
	const char *name = mc_basename(real);
	if (!plain_name(name))
		return mc_fail(err, MC_ERR_INVALID, "cannot publish bundle '%s': bad name", dir);
	mc_artifact_store *s = NULL;
	char **files = NULL, *json = mc_path_join(real, "bundle.json");
	size_t nfiles = 0, nl = 0;
	listed *l = NULL;
	mc_buf text;
	mc_buf_init(&text, META_MAX);
	json_t *meta = NULL;
	bool done = false;
	mc_code rc = json ? mc_buf_read_file(&text, json, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc && !(meta = json_loadb(text.data ? (const char *)text.data : "", text.len,
				       JSON_REJECT_DUPLICATES, NULL)))
		rc = mc_fail(err, MC_ERR_FORMAT, "cannot publish bundle '%s': bad bundle.json",
			     real);
	if (!rc)
		rc = listed_files(meta, json, &l, &nl, err);
	for (size_t i = 0; !rc && i < nl; i++) {
		char *p = mc_path_join(real, l[i].name);
		if (!p || !mc_exists(p))
			rc = mc_fail(err, MC_ERR_NOT_FOUND,
				     "cannot publish bundle '%s': it lacks %s (listed in "
				     "bundle.json)",
				     real, l[i].name);
		free(p);
	}
	if (!rc)
		rc = dir_files(real, &files, &nfiles, err);
	if (!rc && (rc = mc_artifact_open(store_uri, NULL, &s, err)))
		mc_error_prefix(err, "MILKCAST_ARTIFACTS: ");
	if (!rc)
		rc = check_taken(s, name, &text, &done, err);
	/* Everything else first, bundle.json last: who finds bundle.json finds the rest. */
	for (size_t i = 0; !rc && !done && i < nfiles; i++)
		if (strcmp(files[i], "bundle.json") != 0)
			rc = upload_file(s, real, files[i], name, l, nl, err);
	if (!rc && !done)
		rc = upload_file(s, real, "bundle.json", name, l, nl, err);
	if (!rc) {
		const char *uri = mc_artifact_uri(s);
		size_t n = strlen(uri);
		while (n && uri[n - 1] == '/')
			n--;
		if ((size_t)snprintf(uri_out, cap, "%.*s/models/%s", (int)n, uri, name) >= cap)
			rc = mc_fail(err, MC_ERR_LIMIT, "bundle URI too long for '%s'", uri);
	}
	json_decref(meta);
	mc_buf_release(&text);
	free(l);
	names_free(files, nfiles);
	free(json);
	mc_artifact_free(s);
	return rc;
}
