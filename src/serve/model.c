/*
 * The served model: a bundle with the panel it forecasts from, the
 * forecasts of every series as of the latest data (so the common request is
 * a hash lookup), an index of series names and the /v1/series document.
 * Built whole before it serves; shared by reference count so a reload can
 * swap it while requests still use the old one.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/lake.h"
#include "serve/serve_int.h"

/*
 * Where a bundle comes from: the one place that opens a registry source, a
 * directory or an artifact-store URI (fetched into cache_dir first).
 */
static mc_code open_bundle(const char *source, const char *cache_dir, mc_bundle **out,
			   mc_error *err)
{
	/* Loaded bundles predict on one XGBoost thread (mc_xgb_load):
	 * right for a server, whose requests run in parallel already. */
	return mc_bundle_open(source, cache_dir, out, err);
}

/* ---- the lake ---- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ULL;
	return h;
}

static bool has_lake(const char *home)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/lake/prices", home);
	return mc_is_dir(path);
}

uint64_t mc_served_lake_stamp(const char *home)
{
	if (!home || !has_lake(home))
		return 0;
	mc_error err = MC_ERROR_INIT;
	mc_lake *l = NULL;
	mc_lake_partition *parts = NULL;
	size_t n = 0;
	uint64_t h = 14695981039346656037ULL;
	if (mc_lake_open(home, &l, &err) || mc_lake_partitions(l, &parts, &n, &err)) {
		mc_lake_free(l);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		h = fnv1a(h, parts[i].path, strlen(parts[i].path));
		if (stat(parts[i].path, &st) == 0) {
			int64_t v[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
					(int64_t)st.st_mtim.tv_nsec};
			h = fnv1a(h, v, sizeof v);
		}
	}
	mc_lake_partitions_free(parts, n);
	mc_lake_free(l);
	return h ? h : 1;
}

static int32_t last_date(const mc_table *t)
{
	int32_t best = INT32_MIN;
	const int32_t *d = MC_COL_I32(&t->cols[MC_LAKE_DATE]);
	for (size_t i = 0; i < t->nrows; i++)
		if (d[i] > best)
			best = d[i];
	return best;
}

/* The panel: from the lake when it holds data at least as new as the snapshot's. */
static mc_code build_panel(mc_served *m, const char *home, mc_error *err)
{
	const mc_table *snap = mc_bundle_snapshot(m->bundle);
	mc_table *lake = NULL;
	mc_lake *l = NULL;
	if (home && has_lake(home)) {
		mc_code rc = mc_lake_open(home, &l, err);
		if (!rc)
			rc = mc_lake_read(l, INT32_MIN, INT32_MAX, &lake, err);
		mc_lake_free(l);
		if (rc)
			return mc_error_prefix(err, "cannot read the lake of '%s': ", home);
	}
	m->from_lake = lake && lake->nrows && last_date(lake) >= last_date(snap);
	mc_code rc = mc_panel_from_table(m->from_lake ? lake : snap, INT32_MAX, &m->panel, err);
	mc_table_free(lake);
	return rc;
}

/* ---- forecast sets ---- */

void mc_fcset_release(mc_fcset *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	free(s->fc);
	free(s->first);
	free(s);
}

static mc_code fcset_compute(const mc_served *m, int32_t as_of, mc_fcset **out, mc_error *err)
{
	*out = NULL;
	mc_fcset *s = calloc(1, sizeof *s);
	long *first = malloc((m->panel->nseries ? m->panel->nseries : 1) * sizeof *first);
	mc_code rc = s && first ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = mc_bundle_forecast(m->bundle, m->panel, as_of, m->horizons, false, &s->fc,
					&s->n, err);
	if (rc) {
		free(first);
		free(s);
		return rc;
	}
	for (size_t i = 0; i < m->panel->nseries; i++)
		first[i] = -1;
	for (size_t i = 0; i < s->n; i += (size_t)m->horizons)
		first[s->fc[i].series] = (long)i;
	atomic_init(&s->refs, 1);
	s->as_of = as_of;
	s->first = first;
	*out = s;
	return MC_OK;
}

static mc_fcset *cache_find(mc_served *m, int32_t as_of)
{
	for (size_t i = 0; i < MC_FCSET_CACHE; i++)
		if (m->cache[i] && m->cache[i]->as_of == as_of) {
			atomic_fetch_add(&m->cache[i]->refs, 1);
			return m->cache[i];
		}
	return NULL;
}

mc_code mc_served_forecasts(mc_served *m, int32_t as_of, mc_fcset **out, mc_error *err)
{
	if (as_of == m->latest->as_of) {
		atomic_fetch_add(&m->latest->refs, 1);
		*out = m->latest;
		return MC_OK;
	}
	pthread_mutex_lock(&m->cache_lock);
	*out = cache_find(m, as_of);
	pthread_mutex_unlock(&m->cache_lock);
	if (*out)
		return MC_OK;
	mc_fcset *s;
	mc_code rc = fcset_compute(m, as_of, &s, err); /* outside the lock: others keep going */
	if (rc)
		return rc;
	pthread_mutex_lock(&m->cache_lock);
	*out = cache_find(m, as_of); /* another thread may have been quicker */
	if (!*out) {
		mc_fcset_release(m->cache[m->cache_next]);
		m->cache[m->cache_next] = s;
		m->cache_next = (m->cache_next + 1) % MC_FCSET_CACHE;
		atomic_fetch_add(&s->refs, 1);
		*out = s;
		s = NULL;
	}
	pthread_mutex_unlock(&m->cache_lock);
	mc_fcset_release(s);
	return MC_OK;
}

/* ---- the series index and document ---- */

size_t mc_served_key(const char *state, const char *city, const char *milk_type,
		     const char *channel, char *out)
{
	const char *parts[4] = {state, city, milk_type, channel};
	size_t lens[4];
	for (int i = 0; i < 4; i++)
		lens[i] = strlen(parts[i]);
	return mc_key_join(out, parts, lens, 4, 96);
}

long mc_served_find(const mc_served *m, const char *state, const char *city, const char *milk_type,
		    const char *channel)
{
	char key[4 * 97];
	size_t n = mc_served_key(state, city, milk_type, channel, key);
	int64_t v;
	return mc_strmap_get(m->index, key, n, &v) ? (long)v : -1;
}

static mc_code build_index(mc_served *m, mc_error *err)
{
	m->index = mc_strmap_new(m->panel->nseries);
	for (size_t s = 0; m->index && s < m->panel->nseries; s++) {
		const mc_panel_series *ps = &m->panel->series[s];
		char key[4 * 97];
		size_t n = mc_served_key(ps->state, ps->city, ps->milk_type, ps->channel, key);
		if (mc_strmap_put(m->index, key, n, (int64_t)s))
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	return m->index ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

static json_t *date_json(int32_t d)
{
	char s[11];
	mc_date_format_iso(d, s);
	return json_string(s);
}

static json_t *series_entry(const mc_served *m, size_t s)
{
	const mc_panel *p = m->panel;
	const mc_panel_series *ps = &p->series[s];
	long last = -1;
	for (long d = (long)p->ndates - 1; d >= 0 && last < 0; d--)
		if (!isnan(mc_panel_price(p, s, (size_t)d)))
			last = d;
	return json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:b}", "kind", ps->kind, "state",
		ps->state, "city", ps->city, "milk_type", ps->milk_type, "channel", ps->channel,
		"first_date",
		ps->first_obs < p->ndates ? date_json(p->dates[ps->first_obs]) : json_null(),
		"last_date", last >= 0 ? date_json(p->dates[last]) : json_null(), "last_price",
		last >= 0 ? json_real(mc_panel_price(p, s, (size_t)last)) : json_null(), "prices",
		(json_int_t)ps->nobs, "forecast", m->latest->first[s] >= 0);
}

static mc_code build_series_json(mc_served *m, mc_error *err)
{
	json_t *a = json_array();
	for (size_t s = 0; a && s < m->panel->nseries; s++)
		if (json_array_append_new(a, series_entry(m, s)))
			break;
	json_t *doc =
		a && json_array_size(a) == m->panel->nseries
			? json_pack("{s:I, s:o, s:s, s:o}", "count", (json_int_t)m->panel->nseries,
				    "as_of", date_json(m->latest->as_of), "data",
				    m->from_lake ? "lake" : "snapshot", "series", a)
			: NULL;
	if (!doc)
		json_decref(a);
	m->series_json = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return m->series_json ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

/* ---- load and release ---- */

void mc_served_release(mc_served *m)
{
	if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	for (size_t i = 0; i < MC_FCSET_CACHE; i++)
		mc_fcset_release(m->cache[i]);
	pthread_mutex_destroy(&m->cache_lock);
	mc_fcset_release(m->latest);
	mc_strmap_free(m->index);
	free(m->series_json);
	mc_panel_free(m->panel);
	mc_bundle_free(m->bundle);
	free(m);
}

static mc_code served_build(mc_served *m, const mc_served_source *src, mc_error *err)
{
	mc_code rc = open_bundle(src->dir, src->cache_dir, &m->bundle, err);
	if (rc)
		return rc;
	m->horizons = mc_bundle_horizons(m->bundle);
	rc = build_panel(m, src->home, err);
	if (!rc)
		rc = fcset_compute(m, m->panel->dates[m->panel->ndates - 1], &m->latest, err);
	if (!rc)
		rc = build_index(m, err);
	if (!rc)
		rc = build_series_json(m, err);
	return rc;
}

mc_code mc_served_load(const mc_served_source *src, mc_served **out, mc_error *err)
{
	*out = NULL;
	mc_served *m = calloc(1, sizeof *m);
	if (!m)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	atomic_init(&m->refs, 1);
	pthread_mutex_init(&m->cache_lock, NULL);
	snprintf(m->name, sizeof m->name, "%s", src->name ? src->name : "");
	snprintf(m->version, sizeof m->version, "%s", src->version ? src->version : "");
	snprintf(m->source, sizeof m->source, "%s", src->dir);
	m->lake_stamp = src->lake_stamp;
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(m->loaded_at, sizeof m->loaded_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
	mc_code rc = served_build(m, src, err);
	if (rc) {
		mc_served_release(m);
		return rc;
	}
	*out = m;
	return MC_OK;
}
