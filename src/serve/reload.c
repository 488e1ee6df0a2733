/*
 * Which model to serve and when to change it: the registry's champion (or a
 * bundle directory, followed through symlinks such as models/latest), the
 * lake's files, and the registry listing of /v1/models.  A new model is
 * built whole, then swapped in under a lock held for one pointer store; the
 * old one is freed when its last request lets go of it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/registry.h"
#include "milkcast/store.h"
#include "milkcast/lake_remote.h"
#include "serve/serve_int.h"

typedef struct source {
	char dir[4096];
	char version[48];
} source;

/* ---- the registry listing ---- */

static json_t *column_json(mc_stmt *st, int i)
{
	return mc_stmt_is_null(st, i) ? json_null() : json_string(mc_stmt_text(st, i));
}

static mc_code query_rows(mc_store *s, const char *sql, const char *name, json_t *out,
			  void (*row)(mc_stmt *st, json_t *out), mc_error *err)
{
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s, sql, &st, err);
	bool more = false;
	if (!rc)
		rc = mc_stmt_bind_text(st, 1, name);
	while (!rc && !(rc = mc_stmt_step(st, &more, err)) && more)
		row(st, out);
	mc_stmt_free(st);
	return rc;
}

static void version_row(mc_stmt *st, json_t *out)
{
	json_array_append_new(out, json_pack("{s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "version",
					     (json_int_t)mc_stmt_int(st, 0), "creation_time",
					     (json_int_t)mc_stmt_int(st, 1), "source",
					     column_json(st, 2), "run_id", column_json(st, 3),
					     "data_sha256", column_json(st, 4), "code_version",
					     column_json(st, 5), "description", column_json(st, 6),
					     "aliases", column_json(st, 7)));
}

static void alias_row(mc_stmt *st, json_t *out)
{
	json_object_set_new(out, mc_stmt_text(st, 0), json_integer(mc_stmt_int(st, 1)));
}

void mc_router_refresh_registry(mc_router *r)
{
	if (!r->store)
		return;
	mc_error err = MC_ERROR_INIT;
	json_t *versions = json_array(), *aliases = json_object();
	mc_code rc = query_rows(r->store,
				"SELECT version, creation_time, source, run_id, data_sha256,"
				" code_version, description, (SELECT group_concat(alias) FROM"
				" registered_model_aliases a WHERE a.name = v.name AND a.version"
				" = v.version) FROM model_versions v WHERE name = ? ORDER BY"
				" version",
				r->model_name, versions, version_row, &err);
	if (!rc)
		rc = query_rows(r->store,
				"SELECT alias, version FROM registered_model_aliases WHERE name = ?"
				" ORDER BY alias",
				r->model_name, aliases, alias_row, &err);
	json_t *doc = json_pack("{s:s, s:o, s:o}", "name", r->model_name, "aliases", aliases,
				"versions", versions);
	char *text = !rc && doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return; /* keep the last good listing */
	pthread_mutex_lock(&r->registry_lock);
	free(r->registry_json);
	r->registry_json = text;
	pthread_mutex_unlock(&r->registry_lock);
}

/* ---- sources ---- */

static mc_code champion_source(mc_router *r, source *src, mc_error *err)
{
	int v = 0;
	mc_code rc = mc_registry_alias(r->store, r->model_name, MC_ALIAS_CHAMPION, &v, err);
	if (rc == MC_ERR_NOT_FOUND)
		return mc_fail(err, rc,
			       "model '%s' has no champion: train one with 'milkcast train' or "
			       "serve a bundle with --model DIR",
			       r->model_name);
	if (!rc)
		rc = mc_registry_source(r->store, r->model_name, v, src->dir, sizeof src->dir, err);
	snprintf(src->version, sizeof src->version, "%d", v);
	return rc;
}

/* The registry version whose bundle is `dir` (same file), or "" when none. */
static void version_of_dir(mc_router *r, const char *dir, char *out, size_t cap)
{
	out[0] = 0;
	mc_error err = MC_ERROR_INIT;
	mc_stmt *st = NULL;
	bool row = false;
	if (!r->store || mc_stmt_prepare(r->store,
					 "SELECT version, source FROM model_versions WHERE name = ?"
					 " ORDER BY version DESC",
					 &st, &err))
		return;
	if (!mc_stmt_bind_text(st, 1, r->model_name))
		while (!out[0] && !mc_stmt_step(st, &row, &err) && row) {
			char real[PATH_MAX];
			const char *s = mc_stmt_text(st, 1);
			if (s && (!strcmp(s, dir) || (realpath(s, real) && !strcmp(real, dir))))
				snprintf(out, cap, "%lld", (long long)mc_stmt_int(st, 0));
		}
	mc_stmt_free(st);
}

static mc_code dir_source(mc_router *r, source *src, mc_error *err)
{
	char real[PATH_MAX];
	if (strstr(r->model_dir, "://")) { /* a URI: the registry may know it as it is */
		snprintf(src->dir, sizeof src->dir, "%s", r->model_dir);
		version_of_dir(r, r->model_dir, src->version, sizeof src->version);
		if (!src->version[0])
			snprintf(src->version, sizeof src->version, "%.47s",
				 strrchr(r->model_dir, '/') + 1);
		return MC_OK;
	}
	if (!realpath(r->model_dir, real))
		return mc_fail(err, MC_ERR_NOT_FOUND, "no bundle directory '%s'", r->model_dir);
	snprintf(src->dir, sizeof src->dir, "%s", real);
	version_of_dir(r, real, src->version, sizeof src->version);
	if (!src->version[0]) /* unregistered: the bundle's own name tells it apart */
		snprintf(src->version, sizeof src->version, "%.47s", strrchr(real, '/') + 1);
	return MC_OK;
}

static mc_code resolve(mc_router *r, source *src, mc_error *err)
{
	memset(src, 0, sizeof *src);
	return r->model_dir ? dir_source(r, src, err) : champion_source(r, src, err);
}

static mc_code load(mc_router *r, const source *src, uint64_t stamp, mc_served **out, mc_error *err)
{
	mc_served_source s = {.dir = src->dir,
			      .cache_dir = r->cache_dir,
			      .name = r->model_name,
			      .version = src->version,
			      .home = r->use_lake ? r->home : NULL,
			      .lake_stamp = stamp};
	mc_code rc = mc_served_load(&s, out, err);
	if (rc)
		mc_error_prefix(err, "cannot load model %s version %s from '%s': ", r->model_name,
				src->version, src->dir);
	return rc;
}

/* Put m in service; the old model goes when its last request releases it. */
static void swap_in(mc_router *r, mc_served *m)
{
	pthread_mutex_lock(&r->swap_lock);
	mc_served *old = r->current;
	r->current = m;
	pthread_mutex_unlock(&r->swap_lock);
	mc_served_release(old);
}

/*
 * The lake's fingerprint, after pulling a remote lake (MILKCAST_LAKE) into
 * the workspace: only changed partitions are fetched, checked, then swapped
 * in.  When the remote cannot be read the local copy keeps serving.
 */
static uint64_t lake_stamp(mc_router *r)
{
	if (!r->use_lake)
		return 0;
	if (r->lake_uri && r->home) {
		mc_error err = MC_ERROR_INIT;
		mc_lake *l = NULL;
		if (!mc_lake_open(r->home, &l, &err) &&
		    !mc_lake_attach_remote(l, r->lake_uri, &err))
			mc_lake_pull(l, &err);
		mc_lake_free(l);
	}
	return mc_served_lake_stamp(r->home);
}

mc_code mc_router_load_first(mc_router *r, mc_error *err)
{
	pthread_mutex_lock(&r->reload_lock);
	mc_router_refresh_registry(r);
	source src;
	mc_served *m = NULL;
	uint64_t stamp = lake_stamp(r);
	mc_code rc = resolve(r, &src, err);
	if (!rc)
		rc = load(r, &src, stamp, &m, err);
	if (!rc)
		swap_in(r, m);
	pthread_mutex_unlock(&r->reload_lock);
	return rc;
}

mc_served *mc_router_history(mc_router *r, mc_served *m)
{
	if (!m || !m->lake_deferred || atomic_load(&m->history_failed))
		return m;
	mc_served_release(m);
	pthread_mutex_lock(&r->reload_lock); /* no reload meanwhile: one load at a time */
	m = mc_router_acquire(r);
	if (m && m->lake_deferred && !atomic_load(&m->history_failed)) {
		mc_served_source s = {.dir = m->source,
				      .cache_dir = r->cache_dir,
				      .name = m->name,
				      .version = m->version,
				      .home = r->home,
				      .lake_stamp = m->lake_stamp,
				      .whole_lake = true};
		mc_served *full = NULL;
		mc_error err = MC_ERROR_INIT;
		if (mc_served_load(&s, &full, &err) == MC_OK) {
			swap_in(r, full);
			mc_served_release(m);
			m = mc_router_acquire(r);
		} else {
			atomic_store(&m->history_failed, true); /* it serves on from its snapshot */
		}
	}
	pthread_mutex_unlock(&r->reload_lock);
	return m;
}

static bool serves(const mc_served *m, const source *src, uint64_t stamp)
{
	return m && !strcmp(m->source, src->dir) && !strcmp(m->version, src->version) &&
	       m->lake_stamp == stamp;
}

static mc_code reload_locked(mc_router *r, bool force, bool *swapped, mc_error *err)
{
	mc_router_refresh_registry(r);
	source src;
	mc_code rc = resolve(r, &src, err);
	if (rc)
		return rc;
	uint64_t stamp = lake_stamp(r);
	char key[sizeof r->failed];
	snprintf(key, sizeof key, "%s|%s|%llx", src.dir, src.version, (unsigned long long)stamp);
	mc_served *cur = mc_router_acquire(r);
	bool same = serves(cur, &src, stamp);
	mc_served_release(cur);
	if (!force && (same || !strcmp(key, r->failed)))
		return MC_OK; /* nothing new, or already refused */
	mc_served *m;
	rc = load(r, &src, stamp, &m, err);
	if (rc) {
		snprintf(r->failed, sizeof r->failed, "%s", key);
		atomic_fetch_add(&r->metrics.reloads_failed, 1);
		return rc;
	}
	swap_in(r, m);
	r->failed[0] = 0;
	atomic_fetch_add(&r->metrics.reloads_ok, 1);
	*swapped = true;
	return MC_OK;
}

mc_code mc_router_reload(mc_router *r, bool force, bool *swapped, mc_error *err)
{
	*swapped = false;
	pthread_mutex_lock(&r->reload_lock);
	mc_code rc = reload_locked(r, force, swapped, err);
	pthread_mutex_unlock(&r->reload_lock);
	return rc;
}
