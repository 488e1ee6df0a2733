/*
 * Forecast performance per model version: the accumulators perf.c fills
 * for each model_version it meets in the logs, the result's version list
 * (which one the rules judge), and each version's own test metrics from
 * the training run the registry records for it.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/strmap.h"
#include "monitor/monitor_int.h"

#define VERSION_MAX (sizeof(((mc_monitor_version *)0)->version) - 1)

typedef struct named_scores {
	char version[VERSION_MAX + 1];
	mon_scores s;
} named_scores;

struct mon_versions {
	mc_strmap *index; /* version → position in v */
	named_scores *v;
	size_t n, cap;
};

mon_versions *mon_versions_new(void)
{
	mon_versions *v = calloc(1, sizeof *v);
	if (v && !(v->index = mc_strmap_new(16))) {
		free(v);
		return NULL;
	}
	return v;
}

void mon_versions_free(mon_versions *v)
{
	if (!v)
		return;
	mc_strmap_free(v->index);
	free(v->v);
	free(v);
}

mon_scores *mon_versions_get(mon_versions *v, const char *version)
{
	size_t len = strnlen(version, VERSION_MAX);
	int64_t at;
	if (mc_strmap_get(v->index, version, len, &at))
		return &v->v[at].s;
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 4;
		named_scores *grown = realloc(v->v, cap * sizeof *grown);
		if (!grown)
			return NULL;
		v->v = grown;
		v->cap = cap;
	}
	if (mc_strmap_put(v->index, version, len, (int64_t)v->n))
		return NULL;
	named_scores *e = &v->v[v->n++];
	memcpy(e->version, version, len);
	e->version[len] = '\0';
	mon_scores_init(&e->s);
	return &e->s;
}

/* ---- the result's list ---- */

/* A registry version number: digits only, no leading zero. */
static bool numeric(const char *s)
{
	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 9)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Numeric versions by value, then the others by name. */
static int by_version(const void *a, const void *b)
{
	const char *x = ((const mc_monitor_version *)a)->version;
	const char *y = ((const mc_monitor_version *)b)->version;
	bool nx = numeric(x), ny = numeric(y);
	if (nx != ny)
		return nx ? -1 : 1;
	if (nx)
		return (atol(x) > atol(y)) - (atol(x) < atol(y));
	return strcmp(x, y);
}

static void version_result(const char *name, const mon_scores *s, mc_monitor_version *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->version, sizeof out->version, "%s", name);
	out->forecasts = s->forecasts;
	out->nperf = s->nperf;
	for (size_t h = 0; h <= MC_MAX_HORIZONS; h++)
		mon_pair_finish(&s->by_h[h], (int)h, &out->perf[h]);
	mon_pair_finish(&s->last_k, 0, &out->last_k);
}

/* The version the rules judge: --model-version, else the champion; "" = none. */
static const char *judged_name(const mc_monitor_result *r)
{
	return r->version_filter[0] ? r->version_filter : r->model_version;
}

mc_code mon_versions_finish(const mon_versions *v, mc_monitor_result *r, mc_error *err)
{
	const char *judged = judged_name(r);
	int64_t at;
	bool add = judged[0] && !mc_strmap_get(v->index, judged, strlen(judged), &at);
	r->versions = calloc(v->n + add + 1, sizeof *r->versions);
	if (!r->versions)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < v->n; i++)
		version_result(v->v[i].version, &v->v[i].s, &r->versions[i]);
	r->nversions = v->n;
	if (add) {
		mon_scores empty;
		mon_scores_init(&empty);
		version_result(judged, &empty, &r->versions[r->nversions++]);
	}
	qsort(r->versions, r->nversions, sizeof *r->versions, by_version);
	r->judged = -1;
	for (size_t i = 0; i < r->nversions; i++) {
		mc_monitor_version *e = &r->versions[i];
		e->champion = r->model_version[0] && !strcmp(e->version, r->model_version);
		e->judged = judged[0] && !strcmp(e->version, judged);
		if (e->judged)
			r->judged = (int)i;
	}
	return MC_OK;
}

/* ---- training metrics ---- */

/* One metric of the run: test_hN_rmse, test_hN_mae or test_last_value_hN_rmse. */
static void training_metric(mc_monitor_version *v, const char *key, double value)
{
	int h = 0, end = 0;
	char what[16];
	bool naive = false;
	if (sscanf(key, "test_last_value_h%d_%15[a-z]%n", &h, what, &end) == 2 && !key[end])
		naive = true;
	else if (!(sscanf(key, "test_h%d_%15[a-z]%n", &h, what, &end) == 2 && !key[end]))
		return;
	if (h < 1 || h > MC_MAX_HORIZONS)
		return;
	mc_monitor_perf *p = &v->perf[h];
	if (naive && !strcmp(what, "rmse"))
		p->train_naive_rmse = value;
	else if (!naive && !strcmp(what, "rmse"))
		p->train_rmse = value;
	else if (!naive && !strcmp(what, "mae"))
		p->train_mae = value;
	else
		return;
	if ((size_t)h + 1 > v->nperf)
		v->nperf = (size_t)h + 1;
}

/* The run that trained version v->version of `name` ("" when none). */
static mc_code version_run(mc_store *s, const char *name, mc_monitor_version *v, mc_error *err)
{
	v->run_id[0] = '\0';
	if (!numeric(v->version))
		return MC_OK;
	mc_stmt *st;
	bool row = false;
	mc_code rc = mc_stmt_prepare(
		s, "SELECT run_id FROM model_versions WHERE name = ? AND version = ?", &st, err);
	if (rc)
		return rc;
	mc_stmt_bind_text(st, 1, name);
	mc_stmt_bind_int(st, 2, atol(v->version));
	rc = mc_stmt_step(st, &row, err);
	if (!rc && row && !mc_stmt_is_null(st, 0))
		snprintf(v->run_id, sizeof v->run_id, "%s", mc_stmt_text(st, 0));
	mc_stmt_free(st);
	return rc;
}

static mc_code run_metrics(mc_store *s, mc_monitor_version *v, mc_error *err)
{
	mc_stmt *st;
	bool row = false;
	mc_code rc = mc_stmt_prepare(s,
				     "SELECT key, value, is_nan FROM metrics WHERE run_uuid = ? AND"
				     " key LIKE 'test%' ORDER BY timestamp, step, rowid",
				     &st, err);
	if (rc)
		return rc;
	mc_stmt_bind_text(st, 1, v->run_id);
	while (!(rc = mc_stmt_step(st, &row, err)) && row) {
		bool nan = mc_stmt_int(st, 2) || mc_stmt_is_null(st, 1);
		training_metric(v, mc_stmt_text(st, 0), nan ? NAN : mc_stmt_double(st, 1));
	}
	mc_stmt_free(st);
	return rc;
}

mc_code mon_version_metrics(mc_store *store, const mc_monitor_opts *o, mc_monitor_result *r,
			    mc_error *err)
{
	mc_code rc = MC_OK;
	for (size_t i = 0; store && i < r->nversions && !rc; i++) {
		mc_monitor_version *v = &r->versions[i];
		rc = version_run(store, o->model_name, v, err);
		if (!rc && v->run_id[0])
			rc = run_metrics(store, v, err);
		if (rc)
			mc_error_prefix(err, "cannot read the training metrics of version %s: ",
					v->version);
	}
	return rc;
}
