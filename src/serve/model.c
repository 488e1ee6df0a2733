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
		/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): bytes of v */
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

/* What the lake holds next to the snapshot's last date. */
typedef enum { LAKE_EMPTY, LAKE_OLDER, LAKE_SAME, LAKE_NEWER } lake_news;

/*
 * Without reading the lake whole: its newest partition (month) before the
 * snapshot's last month means older data; the same month is read to compare
 * its last date; a later month (or anything unexpected) means newer data.
 */
static mc_code lake_news_of(const mc_lake *l, int32_t snap_last, lake_news *out, mc_error *err)
{
	mc_lake_partition *parts = NULL;
	size_t n = 0;
	mc_code rc = mc_lake_partitions(l, &parts, &n, err);
	if (rc)
		return rc;
	int y = 0, mo = 0, d;
	if (snap_last != INT32_MIN) /* else (an empty snapshot) any lake is newer */
		mc_date_to_ymd(snap_last, &y, &mo, &d);
	long snap_month = (long)y * 12 + mo;
	long newest = n ? (long)parts[n - 1].year * 12 + parts[n - 1].month : 0;
	*out = !n		     ? LAKE_EMPTY
	       : newest > snap_month ? LAKE_NEWER
	       : newest < snap_month ? LAKE_OLDER
				     : LAKE_SAME; /* until the month is read */
	mc_table *month = NULL;
	if (*out == LAKE_SAME)
		rc = mc_lake_read_month(l, parts[n - 1].year, parts[n - 1].month, &month, err);
	if (!rc && *out == LAKE_SAME) {
		int32_t last = month && month->nrows ? last_date(month) : INT32_MAX;
		*out = last < snap_last ? LAKE_OLDER : last == snap_last ? LAKE_SAME : LAKE_NEWER;
	}
	mc_table_free(month);
	mc_lake_partitions_free(parts, n);
	return rc;
}

/* The whole lake when it holds data newer than the snapshot's (or when asked: whole_lake). */
static mc_code read_lake(mc_served *m, const char *home, bool whole_lake, mc_table **out,
			 mc_error *err)
{
	mc_lake *l = NULL;
	lake_news news = LAKE_NEWER;
	mc_code rc = mc_lake_open(home, &l, err);
	if (!rc && !whole_lake)
		rc = lake_news_of(l, last_date(mc_bundle_snapshot(m->bundle)), &news, err);
	if (!rc && news == LAKE_NEWER)
		rc = mc_lake_read(l, INT32_MIN, INT32_MAX, out, err);
	/* the same last date: the snapshot gives the same forecasts; older history on demand */
	m->lake_deferred = !rc && news == LAKE_SAME;
	mc_lake_free(l);
	return rc ? mc_error_prefix(err, "cannot read the lake of '%s': ", home) : MC_OK;
}

/*
 * The panel: from the lake when it holds data at least as new as the
 * snapshot's.  When its last date is the snapshot's, the snapshot serves
 * (the same forecasts: no feature looks further back than it holds) and the
 * lake is read only when a request needs older history (lake_deferred).
 */
static mc_code build_panel(mc_served *m, const char *home, bool whole_lake, mc_error *err)
{
	const mc_table *snap = mc_bundle_snapshot(m->bundle);
	mc_table *lake = NULL;
	if (home && has_lake(home)) {
		mc_code rc = read_lake(m, home, whole_lake, &lake, err);
		if (rc)
			return rc;
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

/* The memo's key of four names, each NUL-terminated; its length, 0 when one is over 200 bytes. */
static size_t names_key(const char *const names[4], char out[4 * 201], size_t *slot)
{
	size_t n = 0;
	uint64_t h = 14695981039346656037ULL;
	for (int i = 0; i < 4; i++) {
		size_t len = strlen(names[i]);
		if (len > 200)
			return 0;
		memcpy(out + n, names[i], len + 1);
		n += len + 1;
	}
	h = fnv1a(h, out, n);
	*slot = (size_t)(h >> 32) % MC_NAME_MEMO;
	return n;
}

long mc_served_names_get(mc_served *m, const char *const names[4])
{
	char key[4 * 201];
	size_t slot, n = names_key(names, key, &slot);
	const mc_name_memo *e =
		n ? atomic_load_explicit(&m->names[slot], memory_order_acquire) : NULL;
	return e && e->len == n && !memcmp(e->key, key, n) ? e->series : -1;
}

void mc_served_names_put(mc_served *m, const char *const names[4], long series)
{
	char key[4 * 201];
	size_t slot, n = names_key(names, key, &slot);
	mc_name_memo *e = n && !atomic_load(&m->names[slot]) ? malloc(sizeof *e + n) : NULL;
	if (!e)
		return;
	e->series = series;
	e->len = n;
	memcpy(e->key, key, n);
	mc_name_memo *none = NULL;
	if (!atomic_compare_exchange_strong_explicit(&m->names[slot], &none, e,
						     memory_order_release, memory_order_relaxed))
		free(e); /* another thread was first */
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

static char *series_text(const mc_served *m)
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
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

const char *mc_served_series_json(mc_served *m)
{
	pthread_mutex_lock(&m->series_lock);
	if (!m->series_json)
		m->series_json = series_text(m);
	pthread_mutex_unlock(&m->series_lock);
	return m->series_json;
}

/* ---- load and release ---- */

void mc_served_release(mc_served *m)
{
	if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
		return;
	for (size_t i = 0; i < MC_FCSET_CACHE; i++)
		mc_fcset_release(m->cache[i]);
	for (size_t i = 0; i < MC_NAME_MEMO; i++)
		free(atomic_load(&m->names[i]));
	pthread_mutex_destroy(&m->cache_lock);
	pthread_mutex_destroy(&m->series_lock);
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
	rc = build_panel(m, src->home, src->whole_lake, err);
	if (!rc)
		rc = fcset_compute(m, m->panel->dates[m->panel->ndates - 1], &m->latest, err);
	if (!rc)
		rc = build_index(m, err);
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
	pthread_mutex_init(&m->series_lock, NULL);
	atomic_init(&m->history_failed, false);
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
