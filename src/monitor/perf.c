/*
 * Forecast performance: every prediction logged under the predictions
 * directory (serve-*.jsonl from `milkcast serve`, batch-*.jsonl from
 * `milkcast predict`), each distinct forecast counted once, joined with the
 * price the lake holds for its series and target date, and scored next to
 * the last-value forecast it was made from (last_price): every version
 * pooled and each model version apart (versions.c).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/lake.h"
#include "milkcast/metrics.h"
#include "milkcast/strmap.h"
#include "monitor/monitor_int.h"

typedef struct perf_state {
	const mc_monitor_opts *o;
	mc_monitor_result *r;
	mc_strmap *actual; /* series key + date → lake row */
	const mc_table *lake;
	mc_strmap *seen;   /* forecasts already counted */
	mon_scores all;	   /* every version (or the filtered one) */
	mon_versions *per; /* per model version */
	size_t *day_n;	   /* per day of the current window */
	double *day_abs, *day_naive_abs;
} perf_state;

void mon_pair_init(mon_pair *p)
{
	mc_metrics_acc_init(&p->model);
	mc_metrics_acc_init(&p->naive);
}

void mon_pair_add(mon_pair *p, double actual, double pred, double naive)
{
	mc_metrics_acc_add(&p->model, actual, pred, NAN, NAN, naive);
	mc_metrics_acc_add(&p->naive, actual, naive, NAN, NAN, NAN);
}

void mon_pair_finish(const mon_pair *p, int h, mc_monitor_perf *out)
{
	mc_metrics m, n;
	mc_metrics_acc_finish(&p->model, NAN, &m);
	mc_metrics_acc_finish(&p->naive, NAN, &n);
	*out = (mc_monitor_perf){h,	 m.n,	 m.mae,	 m.rmse, m.mape, m.bias, n.mae,
				 n.rmse, n.mape, n.bias, NAN,	 NAN,	 NAN};
}

void mon_scores_init(mon_scores *s)
{
	for (int h = 0; h <= MC_MAX_HORIZONS; h++)
		mon_pair_init(&s->by_h[h]);
	mon_pair_init(&s->last_k);
	s->nperf = 1;
	s->forecasts = 0;
}

/* ---- the lake's prices ---- */

static size_t actual_key(const char *series, size_t n, int32_t date, char *out)
{
	memcpy(out, series, n);
	return n + (size_t)snprintf(out + n, 16, "%d", (int)date);
}

static mc_code index_actuals(perf_state *st, mc_error *err)
{
	const mc_table *lake = st->lake;
	const int32_t *d = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
	const mc_column *price = &lake->cols[MC_LAKE_PRICE];
	st->actual = mc_strmap_new(lake->nrows);
	if (!st->actual)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < lake->nrows; i++) {
		if (d[i] > st->r->as_of || mc_column_is_null(price, i))
			continue;
		char key[MON_KEY_MAX + 16], series[MON_KEY_MAX];
		size_t n = mon_row_key(lake, i, series);
		if (mc_strmap_put(st->actual, key, actual_key(series, n, d[i], key), (int64_t)i))
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	return MC_OK;
}

/* The first of the last K publication dates up to as_of (0 when the lake has none). */
static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static mc_code last_k_from(perf_state *st, mc_error *err)
{
	const mc_table *lake = st->lake;
	const int32_t *d = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
	int32_t *dates = malloc((lake->nrows ? lake->nrows : 1) * sizeof *dates);
	if (!dates)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	size_t n = 0;
	for (size_t i = 0; i < lake->nrows; i++)
		if (d[i] <= st->r->as_of)
			dates[n++] = d[i];
	qsort(dates, n, sizeof *dates, cmp_i32);
	int seen = 0;
	st->r->last_k_from = 0;
	for (size_t i = n; i-- > 0 && seen < st->o->naive_publications;)
		if (i + 1 == n || dates[i] != dates[i + 1]) {
			st->r->last_k_from = dates[i];
			seen++;
		}
	free(dates);
	return MC_OK;
}

/* ---- one logged forecast ---- */

typedef struct logged {
	const char *state, *city, *milk_type, *channel, *version;
	int32_t origin, target;
	int h;
	double price, last;
} logged;

static const char *str_field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool date_field(json_t *o, const char *k, int32_t *out)
{
	const char *s = str_field(o, k);
	return s && mc_date_parse_iso(s, out);
}

static double num_field(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* NULL when the line is a forecast, else what is wrong with it. */
static const char *parse_logged(json_t *j, logged *e)
{
	json_t *s = json_object_get(j, "series");
	if (!json_is_object(s))
		return "no \"series\" object";
	e->state = str_field(s, "state");
	e->city = str_field(s, "city");
	e->milk_type = str_field(s, "milk_type");
	e->channel = str_field(s, "channel");
	if (!e->state || !e->city || !e->milk_type || !e->channel)
		return "\"series\" lacks state, city, milk_type or channel";
	if (!date_field(j, "origin", &e->origin) || !date_field(j, "target_date", &e->target))
		return "\"origin\" or \"target_date\" is not a YYYY-MM-DD date";
	json_t *h = json_object_get(j, "horizon");
	if (!json_is_integer(h) || json_integer_value(h) < 1)
		return "\"horizon\" is not a positive integer";
	e->h = json_integer_value(h) > MC_MAX_HORIZONS ? MC_MAX_HORIZONS + 1
						       : (int)json_integer_value(h);
	e->price = num_field(j, "price");
	e->last = num_field(j, "last_price");
	if (!isfinite(e->price))
		return "\"price\" is not a number";
	e->version = str_field(j, "model_version");
	if (!e->version)
		e->version = "";
	return NULL;
}

/* A scored forecast into one group. */
static void score(mon_scores *s, const mc_monitor_result *r, const logged *e, double actual)
{
	if (e->target >= r->last_k_from && r->last_k_from && e->target <= r->as_of)
		mon_pair_add(&s->last_k, actual, e->price, e->last);
	if (e->target < r->cur.from || e->target > r->cur.to || e->h > MC_MAX_HORIZONS)
		return;
	mon_pair_add(&s->by_h[0], actual, e->price, e->last);
	mon_pair_add(&s->by_h[e->h], actual, e->price, e->last);
	if ((size_t)e->h + 1 > s->nperf)
		s->nperf = (size_t)e->h + 1;
}

static void add_joined(perf_state *st, mon_scores *version, const logged *e, double actual)
{
	mc_monitor_result *r = st->r;
	score(&st->all, r, e, actual);
	score(version, r, e, actual);
	if (e->target < r->cur.from || e->target > r->cur.to || e->h > MC_MAX_HORIZONS)
		return;
	r->pred_joined++;
	size_t day = (size_t)(e->target - r->cur.from);
	st->day_n[day]++;
	st->day_abs[day] += fabs(actual - e->price);
	st->day_naive_abs[day] += isfinite(e->last) ? fabs(actual - e->last) : NAN;
}

static mc_code take(perf_state *st, const logged *e, mc_error *err)
{
	char series[MON_KEY_MAX], key[MON_KEY_MAX + 64 + 48];
	size_t n = mon_names_key(e->state, e->city, e->milk_type, e->channel, series);
	memcpy(key, series, n);
	size_t k = n + (size_t)snprintf(key + n, sizeof key - n, "%d\x1f%d\x1f%.47s",
					(int)e->origin, e->h, e->version);
	int64_t row;
	if (mc_strmap_get(st->seen, key, k, &row)) {
		st->r->pred_duplicates++;
		return MC_OK;
	}
	if (mc_strmap_put(st->seen, key, k, 0))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	st->r->pred_unique++;
	if (st->o->model_version && strcmp(st->o->model_version, e->version)) {
		st->r->pred_other_versions++;
		return MC_OK;
	}
	mon_scores *version = mon_versions_get(st->per, e->version);
	if (!version)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	version->forecasts++;
	st->all.forecasts++;
	char ak[MON_KEY_MAX + 16];
	if (e->target > st->r->as_of ||
	    !mc_strmap_get(st->actual, ak, actual_key(series, n, e->target, ak), &row))
		return MC_OK;
	add_joined(st, version, e, MC_COL_F64(&st->lake->cols[MC_LAKE_PRICE])[row]);
	return MC_OK;
}

static void bad_line(perf_state *st, const char *file, size_t line, const char *why)
{
	if (!st->r->pred_bad++)
		snprintf(st->r->pred_bad_first, sizeof st->r->pred_bad_first, "%s line %zu: %s",
			 file, line, why);
}

static mc_code read_log(perf_state *st, const char *path, mc_error *err)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return mc_fail(err, MC_ERR_IO, "cannot read the prediction log '%s': %s", path,
			       strerror(errno));
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	mc_code rc = MC_OK;
	while (!rc && getline(&line, &cap, f) > 0) {
		lineno++;
		if (line[0] == '\n')
			continue;
		st->r->pred_lines++;
		json_error_t jerr;
		json_t *j = json_loads(line, JSON_DECODE_ANY, &jerr);
		logged e;
		const char *why = !json_is_object(j) ? "not a JSON object" : parse_logged(j, &e);
		if (why)
			bad_line(st, path, lineno, why);
		else
			rc = take(st, &e, err);
		json_decref(j);
	}
	free(line);
	fclose(f);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_log(const char *name)
{
	size_t n = strlen(name);
	return n > 6 && name[0] != '.' && !strcmp(name + n - 6, ".jsonl");
}

/* The *.jsonl files of dir, sorted; none when dir does not exist. */
static mc_code list_logs(const char *dir, char ***out, size_t *n, mc_error *err)
{
	*out = NULL;
	*n = 0;
	DIR *d = dir ? opendir(dir) : NULL;
	if (!d)
		return !dir || errno == ENOENT ? MC_OK
					       : mc_fail(err, MC_ERR_IO, "cannot list '%s': %s",
							 dir, strerror(errno));
	size_t cap = 0;
	mc_code rc = MC_OK;
	for (struct dirent *e; !rc && (e = readdir(d));) {
		if (!is_log(e->d_name))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **grown = realloc(*out, cap * sizeof *grown);
			if (!grown) {
				rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
				break;
			}
			*out = grown;
		}
		if (!((*out)[*n] = mc_path_join(dir, e->d_name)))
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
		else
			(*n)++;
	}
	closedir(d);
	if (!rc && *n)
		qsort(*out, *n, sizeof **out, cmp_str);
	return rc;
}

/* ---- results ---- */

static mc_code keep_points(perf_state *st, mc_error *err)
{
	mc_monitor_result *r = st->r;
	size_t days = (size_t)(r->cur.to - r->cur.from) + 1, k = 0;
	for (size_t d = 0; d < days; d++)
		k += st->day_n[d] > 0;
	r->points = calloc(k ? k : 1, sizeof *r->points);
	if (!r->points)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t d = 0; d < days; d++) {
		if (!st->day_n[d])
			continue;
		double n = (double)st->day_n[d];
		r->points[r->npoints++] =
			(mc_monitor_point){r->cur.from + (int32_t)d, st->day_n[d],
					   st->day_abs[d] / n, st->day_naive_abs[d] / n};
	}
	return MC_OK;
}

static void finish(perf_state *st)
{
	mc_monitor_result *r = st->r;
	r->nperf = st->all.nperf;
	for (size_t h = 0; h < r->nperf; h++)
		mon_pair_finish(&st->all.by_h[h], (int)h, &r->perf[h]);
	mon_pair_finish(&st->all.last_k, 0, &r->last_k);
}

static mc_code read_logs(perf_state *st, mc_error *err)
{
	char **files = NULL;
	size_t n = 0;
	mc_code rc = list_logs(st->o->predictions_dir, &files, &n, err);
	st->r->pred_files = n;
	for (size_t i = 0; i < n && !rc; i++)
		rc = read_log(st, files[i], err);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	return rc;
}

mc_code mon_performance(const mc_table *lake, const mc_monitor_opts *o, mc_monitor_result *r,
			mc_error *err)
{
	perf_state st = {.o = o, .r = r, .lake = lake};
	mon_scores_init(&st.all);
	size_t days = (size_t)(r->cur.to - r->cur.from) + 1;
	st.seen = mc_strmap_new(1024);
	st.per = mon_versions_new();
	st.day_n = calloc(days, sizeof *st.day_n);
	st.day_abs = calloc(days, sizeof *st.day_abs);
	st.day_naive_abs = calloc(days, sizeof *st.day_naive_abs);
	mc_code rc = st.seen && st.per && st.day_n && st.day_abs && st.day_naive_abs
			     ? MC_OK
			     : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = index_actuals(&st, err);
	if (!rc)
		rc = last_k_from(&st, err);
	if (!rc)
		rc = read_logs(&st, err);
	if (!rc)
		rc = keep_points(&st, err);
	if (!rc)
		finish(&st);
	if (!rc)
		rc = mon_versions_finish(st.per, r, err);
	mc_strmap_free(st.actual);
	mc_strmap_free(st.seen);
	mon_versions_free(st.per);
	free(st.day_n);
	free(st.day_abs);
	free(st.day_naive_abs);
	return rc;
}
