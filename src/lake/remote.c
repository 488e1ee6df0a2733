/*
 * The remote lake (MILKCAST_LAKE): content-addressed partitions and a
 * manifest in an artifact store, pulled into and pushed from the local lake.
 * See milkcast/lake_remote.h and docs/internals/lake.md.
 */
#include "milkcast/lake_remote.h"

#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/lake_int.h"
#include "milkcast/artifact.h"
#include "milkcast/buf.h"
#include "milkcast/fsutil.h"
#include "milkcast/sha256.h"
#include "milkcast/store.h"

#define MANIFEST_KEY "manifest.json"
#define MANIFEST_FORMAT "milkcast-lake/1"
#define SYNC_FORMAT "milkcast-lake-sync/1"
#define SYNC_FILE "remote-sync.json" /* in <home>/lake, next to prices/ */
#define MANIFEST_MAX ((size_t)64 << 20)

struct mc_lake_remote {
	mc_artifact_store *store;
	mc_lake_sync_stats stats;
};

/* One month as a manifest (or the sync record) lists it. */
typedef struct part {
	int year, month;
	char sha256[65];
	uint64_t bytes;
	char *key; /* the store key (manifest only) */
} part;

typedef struct part_list {
	int64_t generation;
	part *p;
	size_t n;
} part_list;

void mc_lake_remote_free(mc_lake_remote *r)
{
	if (!r)
		return;
	mc_artifact_free(r->store);
	free(r);
}

static void parts_release(part_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->p[i].key);
	free(l->p);
	*l = (part_list){0};
}

static part *parts_find(const part_list *l, int year, int month)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->p[i].year == year && l->p[i].month == month)
			return &l->p[i];
	return NULL;
}

/* Add or replace the entry for e's month (its key copied). */
static mc_code parts_set(part_list *l, const part *e, mc_error *err)
{
	char *key = e->key ? strdup(e->key) : NULL;
	if (e->key && !key)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	part *dst = parts_find(l, e->year, e->month);
	if (!dst) {
		part *p = realloc(l->p, (l->n + 1) * sizeof *p);
		if (!p) {
			free(key);
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		}
		l->p = p;
		dst = &p[l->n++];
	} else {
		free(dst->key);
	}
	*dst = *e;
	dst->key = key;
	return MC_OK;
}

static int part_cmp(const void *a, const void *b)
{
	const part *x = a, *y = b;
	int kx = x->year * 12 + x->month, ky = y->year * 12 + y->month;
	return (kx > ky) - (kx < ky);
}

static bool is_sha256_hex(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/*
 * "prices/YYYY-MM/<sha256>.parquet".  Not Hive's year=/month= directories: a
 * month has several versions here, so only the manifest says which is the
 * lake (and moto, our test server, mis-verifies signatures of keys with '=').
 */
static void partition_key(int year, int month, const char *sha, char out[128])
{
	snprintf(out, 128, "prices/%04d-%02d/%s.parquet", year % 10000, month % 100, sha);
}

/* --- the manifest and the sync record as JSON ------------------------------ */

static mc_code parse_part(json_t *o, size_t i, const char *what, bool with_key, part *e,
			  mc_error *err)
{
	const char *month = json_string_value(json_object_get(o, "month"));
	const char *sha = json_string_value(json_object_get(o, "sha256"));
	json_t *bytes = json_object_get(o, "bytes");
	const char *key = json_string_value(json_object_get(o, "key"));
	char tail;
	*e = (part){0};
	if (!month || sscanf(month, "%4d-%2d%c", &e->year, &e->month, &tail) != 2 ||
	    strlen(month) != 7 || e->year < 1 || e->month < 1 || e->month > 12)
		return mc_fail(err, MC_ERR_FORMAT, "%s: partitions[%zu].month must be YYYY-MM",
			       what, i);
	if (!is_sha256_hex(sha))
		return mc_fail(err, MC_ERR_FORMAT,
			       "%s: partitions[%zu] (%s): sha256 must be 64 lower-case hex digits",
			       what, i, month);
	if (!json_is_integer(bytes) || json_integer_value(bytes) < 0)
		return mc_fail(err, MC_ERR_FORMAT,
			       "%s: partitions[%zu] (%s): bytes must be a non-negative integer",
			       what, i, month);
	if (with_key) {
		mc_error kerr = MC_ERROR_INIT;
		if (!key || mc_artifact_key_check(key, &kerr))
			return mc_fail(err, MC_ERR_FORMAT, "%s: partitions[%zu] (%s): bad key: %s",
				       what, i, month, key ? kerr.msg : "missing");
		if (!(e->key = strdup(key)))
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	memcpy(e->sha256, sha, 65);
	e->bytes = (uint64_t)json_integer_value(bytes);
	return MC_OK;
}

/* Parse {"format": F, "generation": G, "partitions": [...]}; errors start with `what`. */
static mc_code parse_parts(const char *text, size_t len, const char *what, const char *format,
			   bool with_key, part_list *out, json_t **root_out, mc_error *err)
{
	*out = (part_list){0};
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return mc_fail(err, MC_ERR_FORMAT, "%s: line %d column %d: %s", what, je.line,
			       je.column, je.text);
	const char *fmt = json_string_value(json_object_get(root, "format"));
	json_t *gen = json_object_get(root, "generation");
	json_t *arr = json_object_get(root, "partitions");
	mc_code rc = MC_OK;
	if (!fmt || strcmp(fmt, format) != 0)
		rc = mc_fail(err, MC_ERR_FORMAT, "%s: 'format' is not %s", what, format);
	else if (!json_is_integer(gen) || json_integer_value(gen) < 0)
		rc = mc_fail(err, MC_ERR_FORMAT, "%s: 'generation' must be a non-negative integer",
			     what);
	else if (!json_is_array(arr))
		rc = mc_fail(err, MC_ERR_FORMAT, "%s: 'partitions' must be an array", what);
	out->generation = rc ? 0 : json_integer_value(gen);
	for (size_t i = 0; !rc && i < json_array_size(arr); i++) {
		part e;
		rc = parse_part(json_array_get(arr, i), i, what, with_key, &e, err);
		if (!rc && parts_find(out, e.year, e.month))
			rc = mc_fail(err, MC_ERR_FORMAT, "%s: month %04d-%02d is listed twice",
				     what, e.year, e.month);
		if (!rc)
			rc = parts_set(out, &e, err);
		free(e.key);
	}
	if (rc || !root_out)
		json_decref(root);
	else
		*root_out = root;
	if (rc)
		parts_release(out);
	return rc;
}

/* The list as JSON text (sorted by month); NULL when out of memory. */
static char *parts_dump(part_list *l, const char *format, const char *uri, bool with_key)
{
	if (l->n > 1)
		qsort(l->p, l->n, sizeof *l->p, part_cmp);
	char now[32];
	mc_now_iso(now, sizeof now);
	json_t *arr = json_array();
	json_t *root = json_pack("{s:s, s:I, s:s}", "format", format, "generation",
				 (json_int_t)l->generation, "updated_at", now);
	if (root && uri)
		json_object_set_new(root, "uri", json_string(uri));
	for (size_t i = 0; arr && i < l->n; i++) {
		const part *e = &l->p[i];
		char month[16];
		snprintf(month, sizeof month, "%04d-%02d", e->year % 10000, e->month % 100);
		json_t *o = json_pack("{s:s, s:s, s:I}", "month", month, "sha256", e->sha256,
				      "bytes", (json_int_t)e->bytes);
		if (o && with_key)
			json_object_set_new(o, "key", json_string(e->key));
		json_array_append_new(arr, o);
	}
	char *text = NULL;
	if (root && arr) {
		json_object_set_new(root, "partitions", arr);
		arr = NULL;
		text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	}
	json_decref(arr);
	json_decref(root);
	return text;
}

/* --- the remote manifest ------------------------------------------------------ */

/* The remote's manifest; an empty list (generation 0) when there is none yet. */
static mc_code fetch_manifest(mc_lake_remote *r, part_list *out, mc_error *err)
{
	*out = (part_list){0};
	mc_buf b;
	mc_buf_init(&b, MANIFEST_MAX);
	mc_code rc = mc_artifact_get(r->store, MANIFEST_KEY, &b, err);
	if (rc == MC_ERR_NOT_FOUND) {
		mc_error_clear(err);
		rc = MC_OK;
	} else if (!rc) {
		char what[1200];
		snprintf(what, sizeof what, "'%s' in '%s'", MANIFEST_KEY,
			 mc_artifact_uri(r->store));
		rc = parse_parts(b.data ? (const char *)b.data : "", b.len, what, MANIFEST_FORMAT,
				 true, out, NULL, err);
	}
	mc_buf_release(&b);
	return rc;
}

static mc_code put_manifest(mc_lake_remote *r, part_list *m, mc_error *err)
{
	char *text = parts_dump(m, MANIFEST_FORMAT, NULL, true);
	if (!text)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = mc_artifact_put(r->store, MANIFEST_KEY, text, strlen(text), err);
	free(text);
	return rc;
}

/* --- the sync record: which remote version each local month came from ---------- */

static char *sync_path(const mc_lake *l)
{
	char *dir = strdup(mc_lake_root(l)); /* <home>/lake/prices */
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = '\0';
	char *path = dir ? mc_path_join(slash ? dir : ".", SYNC_FILE) : NULL;
	free(dir);
	return path;
}

/*
 * The months as last synchronised with this remote.  A missing or unreadable
 * record, or one for another remote, is an empty one: every local month then
 * counts as changed, and a push refuses the months the remote holds otherwise.
 */
static void sync_load(const mc_lake *l, const char *uri, part_list *out)
{
	*out = (part_list){0};
	char *path = sync_path(l);
	mc_buf b = MC_BUF_INIT;
	mc_error e = MC_ERROR_INIT;
	json_t *root = NULL;
	if (path && mc_exists(path) && !mc_buf_read_file(&b, path, &e) &&
	    !parse_parts(b.data ? (const char *)b.data : "", b.len, path, SYNC_FORMAT, false, out,
			 &root, &e)) {
		const char *was = json_string_value(json_object_get(root, "uri"));
		if (!was || strcmp(was, uri) != 0)
			parts_release(out);
	}
	json_decref(root);
	mc_buf_release(&b);
	free(path);
}

static mc_code sync_save(const mc_lake *l, const char *uri, part_list *s, mc_error *err)
{
	char *path = sync_path(l);
	char *text = path ? parts_dump(s, SYNC_FORMAT, uri, false) : NULL;
	mc_code rc = text ? mc_write_file_atomic(path, text, strlen(text), err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	free(text);
	free(path);
	return rc;
}

/* --- attaching ------------------------------------------------------------------ */

/* A file store at or inside <home>/lake would mix remote objects into the working copy. */
static mc_code check_not_inside(const mc_lake *l, const char *uri, mc_error *err)
{
	if (strncmp(uri, "file://", 7) != 0)
		return MC_OK;
	char *lake = strdup(mc_lake_root(l));
	char *slash = lake ? strrchr(lake, '/') : NULL;
	if (!lake)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (slash)
		*slash = '\0';
	char real_lake[PATH_MAX], real_dir[PATH_MAX];
	bool inside = false;
	if (realpath(slash ? lake : ".", real_lake) && realpath(uri + 7, real_dir)) {
		size_t n = strlen(real_lake);
		inside = strncmp(real_dir, real_lake, n) == 0 &&
			 (real_dir[n] == '\0' || real_dir[n] == '/');
	}
	free(lake);
	if (inside)
		return mc_fail(err, MC_ERR_INVALID,
			       "MILKCAST_LAKE '%s' is inside the workspace's own lake '%s': "
			       "point it at another directory or bucket",
			       uri, real_lake);
	return MC_OK;
}

mc_code mc_lake_attach_remote(mc_lake *l, const char *uri, mc_error *err)
{
	mc_lake_remote *r = calloc(1, sizeof *r);
	if (!r)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = mc_artifact_open(uri, NULL, &r->store, err);
	if (rc)
		mc_error_prefix(err, "remote lake: ");
	else
		rc = check_not_inside(l, mc_artifact_uri(r->store), err);
	if (rc) {
		mc_lake_remote_free(r);
		return rc;
	}
	mc_lake_remote_set(l, r);
	return MC_OK;
}

const char *mc_lake_remote_uri(const mc_lake *l)
{
	const mc_lake_remote *r = mc_lake_remote_of(l);
	return r ? mc_artifact_uri(r->store) : NULL;
}

void mc_lake_sync_stats_get(const mc_lake *l, mc_lake_sync_stats *out)
{
	const mc_lake_remote *r = mc_lake_remote_of(l);
	*out = r ? r->stats : (mc_lake_sync_stats){0};
}

/* --- pull ------------------------------------------------------------------------ */

/* SHA-256 and size of a local file; *present = false when it does not exist. */
static mc_code hash_file(const char *path, char sha[65], uint64_t *bytes, bool *present,
			 mc_error *err)
{
	*present = mc_exists(path);
	if (!*present)
		return MC_OK;
	mc_buf b = MC_BUF_INIT;
	mc_code rc = mc_buf_read_file(&b, path, err);
	if (!rc) {
		mc_sha256_hex(b.data ? b.data : (const uint8_t *)"", b.len, sha);
		*bytes = b.len;
	}
	mc_buf_release(&b);
	return rc;
}

/* Download e and check it; stage it as an atomic file over the local partition. */
static mc_code fetch_partition(mc_lake_remote *r, mc_lake *l, const part *e, mc_atomic_file *af,
			       mc_error *err)
{
	const char *uri = mc_artifact_uri(r->store);
	mc_buf b = MC_BUF_INIT;
	mc_code rc = mc_artifact_get(r->store, e->key, &b, err);
	if (rc == MC_ERR_NOT_FOUND)
		rc = mc_fail(err, MC_ERR_NOT_FOUND,
			     "the remote lake '%s' is missing partition '%s' (%04d-%02d) that "
			     "its manifest lists; the local copy was kept",
			     uri, e->key, e->year, e->month);
	char sha[65];
	if (!rc) {
		mc_sha256_hex(b.data ? b.data : (const uint8_t *)"", b.len, sha);
		if (b.len != e->bytes || strcmp(sha, e->sha256) != 0)
			rc = mc_fail(err, MC_ERR_FORMAT,
				     "partition '%s' in '%s' is corrupt: %zu bytes with sha256 "
				     "%.16s..., the manifest says %" PRIu64
				     " bytes with sha256 %.16s...; the local copy was kept",
				     e->key, uri, b.len, sha, e->bytes, e->sha256);
	}
	char *path = rc ? NULL : mc_lake_partition_path(l, e->year, e->month);
	char *dir = path ? strdup(path) : NULL;
	if (!rc && !dir)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc) {
		*strrchr(dir, '/') = '\0';
		rc = mc_mkdirs(dir, err);
	}
	if (!rc)
		rc = mc_atomic_open(af, path, err);
	if (!rc && (rc = mc_atomic_write(af, b.data, b.len, err)))
		mc_atomic_abort(af);
	free(dir);
	free(path);
	mc_buf_release(&b);
	return rc;
}

mc_code mc_lake_pull_held(mc_lake *l, mc_error *err)
{
	mc_lake_remote *r = mc_lake_remote_of(l);
	if (!r)
		return MC_OK;
	const char *uri = mc_artifact_uri(r->store);
	part_list m;
	mc_code rc = fetch_manifest(r, &m, err);
	if (rc)
		return mc_error_prefix(err, "cannot pull the lake: ");
	mc_atomic_file *files = calloc(m.n ? m.n : 1, sizeof *files);
	size_t staged = 0;
	if (!files)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < m.n; i++) {
		const part *e = &m.p[i];
		char *path = mc_lake_partition_path(l, e->year, e->month);
		char sha[65];
		uint64_t bytes = 0;
		bool present = false;
		rc = path ? hash_file(path, sha, &bytes, &present, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
		free(path);
		if (rc || (present && bytes == e->bytes && !strcmp(sha, e->sha256)))
			continue;
		files[staged].fd = -1;
		rc = fetch_partition(r, l, e, &files[staged], err);
		if (!rc)
			staged++;
	}
	/* Every download checked out: only now does any local partition change. */
	if (!rc)
		rc = mc_atomic_commit_all(files, staged, err);
	else
		for (size_t i = 0; i < staged; i++)
			mc_atomic_abort(&files[i]);
	free(files);
	if (!rc) {
		/* The local copy now derives from this manifest, month by month. */
		rc = sync_save(l, uri, &m, err);
		r->stats.pulls++;
		r->stats.downloaded += staged;
		r->stats.remote_partitions = m.n;
		r->stats.generation = m.generation;
	}
	parts_release(&m);
	return rc;
}

/* --- push ------------------------------------------------------------------------ */

/* Upload every local month whose content differs from the sync record; list them in *changed. */
static mc_code upload_changed(mc_lake_remote *r, mc_lake *l, const part_list *base,
			      part_list *changed, mc_error *err)
{
	mc_lake_partition *parts;
	size_t n;
	mc_code rc = mc_lake_partitions(l, &parts, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		mc_buf b = MC_BUF_INIT;
		rc = mc_buf_read_file(&b, parts[i].path, err);
		part e = {.year = parts[i].year, .month = parts[i].month, .bytes = b.len};
		if (!rc)
			mc_sha256_hex(b.data ? b.data : (const uint8_t *)"", b.len, e.sha256);
		const part *was = rc ? NULL : parts_find(base, e.year, e.month);
		if (!rc && (!was || strcmp(was->sha256, e.sha256) != 0)) {
			char key[128];
			partition_key(e.year, e.month, e.sha256, key);
			e.key = key;
			rc = mc_artifact_put(r->store, key, b.data ? b.data : (const uint8_t *)"",
					     b.len, err);
			if (rc)
				mc_error_prefix(err, "cannot upload partition %04d-%02d: ", e.year,
						e.month);
			else
				rc = parts_set(changed, &e, err);
		}
		mc_buf_release(&b);
	}
	mc_lake_partitions_free(parts, n);
	return rc;
}

/* A month this push changed that another writer changed too since our last sync. */
static mc_code check_conflicts(const part_list *fresh, const part_list *base,
			       const part_list *changed, const char *uri, mc_error *err)
{
	for (size_t i = 0; i < changed->n; i++) {
		const part *c = &changed->p[i];
		const part *now = parts_find(fresh, c->year, c->month);
		const part *was = parts_find(base, c->year, c->month);
		if (!now || !strcmp(now->sha256, c->sha256))
			continue; /* new there, or already the same bytes */
		if (was && !strcmp(now->sha256, was->sha256))
			continue; /* unchanged there since this workspace synced */
		return mc_fail(err, MC_ERR_INVALID,
			       "cannot push month %04d-%02d to '%s': the remote lake changed it "
			       "(manifest generation %" PRId64
			       ") since this workspace last synchronised; "
			       "'milkcast lake pull' takes the remote's version (and drops this "
			       "workspace's), then redo the change (ingest again)",
			       c->year, c->month, uri, fresh->generation);
	}
	return MC_OK;
}

mc_code mc_lake_push_held(mc_lake *l, mc_error *err)
{
	mc_lake_remote *r = mc_lake_remote_of(l);
	if (!r)
		return MC_OK;
	const char *uri = mc_artifact_uri(r->store);
	part_list base, changed = {0}, fresh = {0};
	sync_load(l, uri, &base);
	mc_code rc = upload_changed(r, l, &base, &changed, err);
	if (!rc && changed.n == 0) {
		r->stats.pushes++;
		parts_release(&base);
		return MC_OK;
	}
	/* The manifest as it is now, as late as possible: other writers' months are kept. */
	if (!rc)
		rc = fetch_manifest(r, &fresh, err);
	if (!rc)
		rc = check_conflicts(&fresh, &base, &changed, uri, err);
	for (size_t i = 0; !rc && i < changed.n; i++)
		rc = parts_set(&fresh, &changed.p[i], err);
	if (!rc) {
		fresh.generation++;
		rc = put_manifest(r, &fresh, err);
		if (rc)
			mc_error_prefix(err, "cannot write the remote lake's manifest: ");
	}
	/* This workspace's months now derive from what it just wrote (others: unchanged). */
	for (size_t i = 0; !rc && i < changed.n; i++) {
		part e = changed.p[i];
		e.key = NULL;
		rc = parts_set(&base, &e, err);
	}
	if (!rc) {
		base.generation = fresh.generation;
		rc = sync_save(l, uri, &base, err);
		r->stats.pushes++;
		r->stats.uploaded += changed.n;
		r->stats.remote_partitions = fresh.n;
		r->stats.generation = fresh.generation;
		r->stats.manifest_written = true;
	}
	parts_release(&base);
	parts_release(&changed);
	parts_release(&fresh);
	return rc;
}

/* --- with the lock --------------------------------------------------------------- */

mc_code mc_lake_pull(mc_lake *l, mc_error *err)
{
	if (!mc_lake_remote_of(l))
		return MC_OK;
	int fd;
	mc_code rc = mc_lake_lock(l, &fd, err);
	if (!rc) {
		mc_lake_remove_stale_temps(l);
		rc = mc_lake_pull_held(l, err);
	}
	mc_lake_unlock(fd);
	return rc;
}

mc_code mc_lake_push(mc_lake *l, mc_error *err)
{
	if (!mc_lake_remote_of(l))
		return MC_OK;
	int fd;
	mc_code rc = mc_lake_lock(l, &fd, err);
	if (!rc)
		rc = mc_lake_push_held(l, err);
	mc_lake_unlock(fd);
	return rc;
}
