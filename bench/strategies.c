/*
 * Experiment, run by hand (not part of `make bench`): which multi-step
 * strategy forecasts the shipped data best, on the same rows and with the
 * same hyperparameters.
 *
 *   pooled     direct, one model over rows of every horizon with h as a
 *              feature (what milkcast ships);
 *   per-h      direct, one model per horizon, each on its own rows;
 *   recursive  one h = 1 model applied to its own forecasts: from origin k it
 *              forecasts the next publication of every usable series, the
 *              forecasts are appended to the lake rows as if published, the
 *              panel is rebuilt (forward fills and group means include them)
 *              and the model is applied again from k + 1, up to h = H.
 *
 * Protocol, the same for all three: the panel of the lake up to EVAL_TO;
 * training rows are those with targets up to UNTIL except the last
 * VALID_FRAC of those publication dates (train.c's split), which are the
 * validation rows: early stopping (PATIENCE rounds) and, per horizon, the
 * weight w_h of the model's change and the fallback to the last value,
 * exactly as calibrate() in src/forecast/train.c.  Evaluation: every origin
 * from the last publication before EVAL_FROM on (as mc_backtest), targets
 * dated in [EVAL_FROM, EVAL_TO]; a (series, origin, h) row counts only when
 * every strategy forecast it.  Scores are given weighted (last + w_h ·
 * (model − last), or the last value where that did not beat it on
 * validation) and unweighted (the model alone), next to the last value.
 *
 * The h = 1 model of the recursion is the per-h model for h = 1 (same rows,
 * same validation, same seed: training it twice would give the same trees).
 *
 * usage: build/bench_strategies [--seeds N] [BUNDLE_DIR]
 *   run from the repository root; prints Markdown (docs/strategies-results.md
 *   holds a run).  BUNDLE_DIR (e.g. WORKSPACE/models/latest): take the
 *   hyperparameters from its bundle.json instead of the fixed set below (the
 *   round limit is then max(the bundle's, 300); early stopping still
 *   decides).  --seeds N (default 3, at most 10) repeats the whole comparison
 *   with XGBoost seeds 42 .. 42 + N − 1: the detailed tables are seed 42's,
 *   then RMSE per seed; times are the minimum over the seeds.
 */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "milkcast/dataset.h"
#include "milkcast/date.h"
#include "milkcast/features.h"
#include "milkcast/forecast.h"
#include "milkcast/ingest.h"
#include "milkcast/lake.h"
#include "milkcast/metrics.h"
#include "milkcast/panel.h"
#include "milkcast/store.h"
#include "milkcast/xgb.h"

#define WORKBOOK "data/sniim/raw/Leche31032025.xlsx"
#define UNTIL "2024-12-31"
#define EVAL_FROM "2025-01-01"
#define EVAL_TO "2025-03-31"
#define H 6
#define VALID_FRAC 0.15
#define PATIENCE 20
#define THREADS 2
#define SEED 42
#define BOOT 2000
#define MAX_SEEDS 10

enum { S_POOLED, S_PERH, S_REC, NS };
static const char *const sname[NS] = {"pooled", "per-h", "recursive"};

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static double cpu_s(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static mc_code nomem(mc_error *err)
{
	return mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

/* ---- data ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* The workbook ingested into a throw-away workspace and read back (lake_fixture.h). */
static mc_code load_lake(mc_table **out, mc_error *err)
{
	char home[] = "/tmp/mc-strategies-XXXXXX";
	if (!mkdtemp(home))
		return mc_fail(err, MC_ERR_IO, "mkdtemp: %s", strerror(errno));
	mc_store *s = NULL;
	mc_lake *l = NULL;
	mc_ingest_opts o;
	mc_ingest_opts_init(&o);
	mc_ingest_summary sum;
	const char *wb = WORKBOOK;
	mc_code rc = mc_store_open(home, &s, err);
	if (!rc)
		rc = mc_lake_open(home, &l, err);
	if (!rc)
		rc = mc_ingest(s, l, &wb, 1, &o, &sum, err);
	if (!rc)
		rc = mc_lake_read(l, INT32_MIN, INT32_MAX, out, err);
	mc_lake_free(l);
	mc_store_free(s);
	if (nftw(home, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "bench_strategies: could not remove %s\n", home);
	return rc;
}

/* The fixed hyperparameters of the brief. */
static void fixed_params(mc_xgb_params *p)
{
	mc_xgb_params_init(p);
	p->max_depth = 8;
	p->learning_rate = 0.03;
	p->num_round = 300;
	p->min_child_weight = 5;
	p->subsample = 0.8;
	p->colsample_bytree = 0.8;
	p->reg_lambda = 5;
	p->gamma = 0.5;
}

/* model.params of the bundle in DIR, with at least 300 rounds (early stopping decides). */
static mc_code bundle_params(const char *dir, mc_xgb_params *p, mc_error *err)
{
	mc_bundle *b;
	mc_code rc = mc_bundle_load(dir, &b, err);
	if (!rc)
		rc = mc_bundle_params(b, p, err);
	mc_bundle_free(b);
	if (!rc && p->num_round < 300)
		p->num_round = 300;
	return rc;
}

/* Rows idx[0..n) of d as a new dataset. */
static mc_code take_rows(const mc_dataset *d, const size_t *idx, size_t n, mc_dataset **out,
			 mc_error *err)
{
	mc_dataset *t = calloc(1, sizeof *t);
	size_t m = n ? n : 1;
	if (t) {
		t->ncol = d->ncol;
		t->X = malloc(m * d->ncol * sizeof *t->X);
		t->y = malloc(m * sizeof *t->y);
		t->row = malloc(m * sizeof *t->row);
	}
	if (!t || !t->X || !t->y || !t->row) {
		mc_dataset_free(t);
		return nomem(err);
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(t->X + i * d->ncol, d->X + idx[i] * d->ncol, d->ncol * sizeof *t->X);
		t->y[i] = d->y[idx[i]];
		t->row[i] = d->row[idx[i]];
	}
	t->n = n;
	*out = t;
	return MC_OK;
}

/* Indexes of the rows of d with horizon h (0: every row) and origin ≥ min_origin. */
static size_t select_rows(const mc_dataset *d, int h, size_t min_origin, size_t *idx)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		if ((!h || d->row[i].h == h) && d->row[i].origin >= min_origin)
			idx[n++] = i;
	return n;
}

/* ---- models ---- */

/* Prices (last + model change) of the rows of d into pred[idx[i]] (idx NULL: pred[i]). */
static mc_code predict_rows(const mc_xgb_model *m, const mc_dataset *d, const size_t *idx,
			    double *pred, mc_error *err)
{
	float *out = malloc((d->n ? d->n : 1) * sizeof *out);
	if (!out)
		return nomem(err);
	mc_code rc = d->n ? mc_xgb_predict(m, d->X, d->n, d->ncol, out, err) : MC_OK;
	for (size_t i = 0; !rc && i < d->n; i++)
		pred[idx ? idx[i] : i] = d->row[i].last + (double)out[i];
	free(out);
	return rc;
}

/* Train with early stopping on va; wall and CPU seconds are added to seconds[0..1]. */
static mc_code fit(const mc_dataset *tr, const mc_dataset *va, const mc_xgb_params *xp,
		   mc_xgb_model **m, double seconds[2], int *rounds, mc_error *err)
{
	double t0 = now_s(), c0 = cpu_s();
	mc_code rc = mc_xgb_train(tr->X, tr->y, tr->n, va->X, va->y, va->n, tr->ncol, NULL, xp, m,
				  NULL, err);
	seconds[0] += now_s() - t0;
	seconds[1] += cpu_s() - c0;
	if (!rc)
		*rounds = mc_xgb_num_rounds(*m);
	return rc;
}

/* ---- the recursion ---- */

typedef struct recur {
	const mc_table *lake;
	const mc_panel *p; /* the lake's panel: dates and series of every row */
	const mc_vocabs *v;
	const mc_xgb_model *m; /* the h = 1 model */
	size_t panels;	       /* panels rebuilt */
	size_t checked, mismatched;
	double seconds[2]; /* wall, CPU */
} recur;

static int series_cmp(const mc_panel_series *a, const mc_panel_series *b)
{
	const char *x[5] = {a->kind, a->state, a->city, a->milk_type, a->channel};
	const char *y[5] = {b->kind, b->state, b->city, b->milk_type, b->channel};
	for (int i = 0; i < 5; i++) {
		int r = strcmp(x[i], y[i]);
		if (r)
			return r;
	}
	return 0;
}

/* to_p[s]: the index in p of q's series s (both in lake order; q's are a subset). */
static void map_series(const mc_panel *q, const mc_panel *p, long *to_p)
{
	size_t j = 0;
	for (size_t s = 0; s < q->nseries; s++) {
		while (j < p->nseries && series_cmp(&p->series[j], &q->series[s]) < 0)
			j++;
		to_p[s] =
			j < p->nseries && !series_cmp(&p->series[j], &q->series[s]) ? (long)j : -1;
	}
}

static bool same_row(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(a[i] == b[i] || (isnan(a[i]) && isnan(b[i]))))
			return false;
	return true;
}

/* A forecast appended to a lake-schema table as if it had been published. */
static mc_code append_forecast(mc_table *t, const mc_panel_series *ps, int32_t date, double price)
{
	static const char source[] = "recursive forecast";
	mc_column *c = t->cols;
	const char *name[5] = {ps->kind, ps->state, ps->city, ps->milk_type, ps->channel};
	mc_code rc = mc_column_push_i32(&c[MC_LAKE_DATE], date);
	for (int i = 0; i < 5 && !rc; i++)
		rc = mc_column_push_str(&c[MC_LAKE_KIND + i], name[i], strlen(name[i]));
	if (!rc)
		rc = mc_column_push_f64(&c[MC_LAKE_PRICE], price);
	if (!rc)
		rc = mc_column_push_str(&c[MC_LAKE_SOURCE], source, sizeof source - 1);
	if (!rc)
		rc = mc_column_push_i64(&c[MC_LAKE_INGESTED_AT], 0);
	return rc;
}

/*
 * One step from the table t (lake rows up to origin k plus the forecasts for
 * k + 1 .. k + j − 1): the panel of t, its last date is the step's origin;
 * every usable series is forecast for p->dates[k + j] into out[s * (H + 1) + j]
 * and appended to t.  At j = 1 the rows are checked against the lake panel's.
 */
static mc_code recurse_step(recur *r, mc_table *t, size_t k, int j, float *X, float *y, size_t *who,
			    long *to_p, double *out, mc_error *err)
{
	const mc_panel *p = r->p;
	size_t ncol = mc_features_count();
	mc_panel *q;
	mc_code rc = mc_panel_from_table(t, INT32_MAX, &q, err);
	if (rc)
		return rc;
	r->panels++;
	size_t kq = q->ndates - 1;
	int32_t target = p->dates[k + (size_t)j];
	if (q->dates[kq] != p->dates[k + (size_t)j - 1]) {
		mc_panel_free(q);
		return mc_fail(err, MC_ERR_INVALID,
			       "internal: the step's panel ends on the wrong date");
	}
	map_series(q, p, to_p);
	size_t m = 0;
	for (size_t s = 0; s < q->nseries; s++) {
		if (to_p[s] < 0 || !mc_features_usable(q, s, kq))
			continue;
		float *x = X + m * ncol;
		mc_features_row(q, r->v, s, kq, 1, target, x);
		if (j == 1) {
			float *ref = X + q->nseries * ncol; /* scratch row after the batch */
			size_t sp = (size_t)to_p[s];
			r->checked++;
			if (!mc_features_usable(p, sp, k))
				r->mismatched++;
			else {
				mc_features_row(p, r->v, sp, k, 1, target, ref);
				r->mismatched += !same_row(x, ref, ncol);
			}
		}
		who[m++] = s;
	}
	if (j == 1) { /* and no series usable in the lake panel is missing here */
		size_t usable = 0;
		for (size_t s = 0; s < p->nseries; s++)
			usable += (size_t)mc_features_usable(p, s, k);
		r->mismatched += usable > m ? usable - m : m - usable;
	}
	rc = m ? mc_xgb_predict(r->m, X, m, ncol, y, err) : MC_OK;
	for (size_t i = 0; !rc && i < m; i++) {
		size_t s = who[i];
		double price = mc_features_last(q, s, kq) + (double)y[i];
		out[(size_t)to_p[s] * (H + 1) + (size_t)j] = price;
		rc = append_forecast(t, &q->series[s], target, price);
		if (rc)
			rc = nomem(err);
	}
	if (!rc)
		rc = mc_table_seal(t, err);
	mc_panel_free(q);
	return rc;
}

/*
 * Forecasts of every series from origin k, steps 1..steps, into
 * out[s * (H + 1) + j] (NaN where none).  The lake rows of the last
 * MC_FEATURES_HISTORY publications up to k are enough for every feature
 * (features.h); the j = 1 check confirms it.
 */
static mc_code recurse(recur *r, size_t k, int steps, double *out, mc_error *err)
{
	const mc_panel *p = r->p;
	size_t lo = k >= MC_FEATURES_HISTORY ? k - MC_FEATURES_HISTORY : 0;
	int32_t from = p->dates[lo], to = p->dates[k];
	const int32_t *date = MC_COL_I32(&r->lake->cols[MC_LAKE_DATE]);
	size_t ncol = mc_features_count(), ns = p->nseries;
	size_t *idx = malloc((r->lake->nrows ? r->lake->nrows : 1) * sizeof *idx);
	float *X = malloc((ns + 1) * ncol * sizeof *X), *y = malloc((ns ? ns : 1) * sizeof *y);
	size_t *who = malloc((ns ? ns : 1) * sizeof *who);
	long *to_p = malloc((ns ? ns : 1) * sizeof *to_p);
	mc_table *t = NULL;
	mc_code rc = idx && X && y && who && to_p ? MC_OK : nomem(err);
	if (!rc) {
		size_t n = 0;
		for (size_t i = 0; i < r->lake->nrows; i++)
			if (date[i] >= from && date[i] <= to)
				idx[n++] = i;
		if (!(t = mc_table_take(r->lake, idx, n)))
			rc = nomem(err);
	}
	for (size_t i = 0; i < ns * (H + 1); i++)
		out[i] = NAN;
	for (int j = 1; j <= steps && !rc; j++)
		rc = recurse_step(r, t, k, j, X, y, who, to_p, out, err);
	mc_table_free(t);
	free(idx);
	free(X);
	free(y);
	free(who);
	free(to_p);
	return rc;
}

/* Recursive forecasts for every row of d into pred[]: one recursion per origin. */
static mc_code recursive_rows(recur *r, const mc_dataset *d, double *pred, mc_error *err)
{
	double t0 = now_s(), c0 = cpu_s();
	const mc_panel *p = r->p;
	int *need = calloc(p->ndates, sizeof *need);
	double *out = malloc(p->nseries * (H + 1) * sizeof *out);
	size_t *start = calloc(p->ndates + 1, sizeof *start), *order = NULL;
	mc_code rc = need && out && start ? MC_OK : nomem(err);
	if (!rc && !(order = malloc((d->n ? d->n : 1) * sizeof *order)))
		rc = nomem(err);
	/* Rows bucketed by origin (counting sort). */
	for (size_t i = 0; !rc && i < d->n; i++) {
		size_t k = d->row[i].origin;
		if (d->row[i].h > need[k])
			need[k] = d->row[i].h;
		start[k + 1]++;
	}
	for (size_t k = 0; !rc && k < p->ndates; k++)
		start[k + 1] += start[k];
	for (size_t i = 0; !rc && i < d->n; i++)
		order[start[d->row[i].origin]++] = i;
	for (size_t k = p->ndates; !rc && k > 0; k--)
		start[k] = start[k - 1];
	if (!rc)
		start[0] = 0;
	for (size_t k = 0; !rc && k < p->ndates; k++) {
		if (!need[k])
			continue;
		rc = recurse(r, k, need[k], out, err);
		for (size_t a = start[k]; !rc && a < start[k + 1]; a++) {
			const mc_ds_row *row = &d->row[order[a]];
			pred[order[a]] = out[(size_t)row->series * (H + 1) + (size_t)row->h];
		}
	}
	free(need);
	free(out);
	free(start);
	free(order);
	r->seconds[0] += now_s() - t0;
	r->seconds[1] += cpu_s() - c0;
	return rc;
}

/* ---- per-horizon weights, as calibrate() in src/forecast/train.c ---- */

typedef struct policy {
	bool use_model;
	double w;
} policy;

static double change_weight(const mc_dataset *d, const double *model, int h)
{
	double sxy = 0, sxx = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (d->row[i].h != h || isnan(model[i]))
			continue;
		double x = model[i] - d->row[i].last, yv = d->row[i].actual - d->row[i].last;
		sxy += x * yv;
		sxx += x * x;
	}
	double w = sxx > 0 ? sxy / sxx : 0;
	return w < 0 ? 0 : w > 1 ? 1 : w;
}

static double apply(const policy *pol, double last, double model)
{
	return pol->use_model ? last + pol->w * (model - last) : last;
}

static void fit_policy(const mc_dataset *va, const double *model, policy *pol)
{
	for (int h = 1; h <= H; h++) {
		pol[h].w = change_weight(va, model, h);
		pol[h].use_model = true;
		double sb = 0, sn = 0;
		size_t n = 0;
		for (size_t i = 0; i < va->n; i++) {
			const mc_ds_row *r = &va->row[i];
			if (r->h != h || isnan(model[i]))
				continue;
			double eb = r->actual - apply(&pol[h], r->last, model[i]);
			double en = r->actual - r->last;
			sb += eb * eb;
			sn += en * en;
			n++;
		}
		pol[h].use_model = n && pol[h].w > 0 && sb < sn;
	}
}

/* ---- one comparison ---- */

typedef struct setup {
	const mc_table *lake;
	mc_panel *p;
	mc_vocabs v;
	mc_dataset *train, *valid, *eval;
	mc_dataset *train_h[H + 1], *valid_h[H + 1], *eval_h[H + 1];
	size_t *valid_idx[H + 1], *eval_idx[H + 1]; /* rows of valid_h / eval_h in valid / eval */
	size_t valid_from, ndates_until, k0;
	int32_t until, from, to;
} setup;

typedef struct result {
	uint64_t seed;
	mc_metrics raw[NS][H + 1], wtd[NS][H + 1], naive[H + 1]; /* [0]: every horizon */
	policy pol[NS][H + 1];
	double train_s[NS][2]; /* wall, CPU */
	int rounds[NS][H + 1]; /* pooled at [0], per-h at [h] */
	double rec_s[2];
	size_t panels, checked, mismatched, skipped, nan_valid;
	/* 95% bootstrap interval (origins resampled) of RMSE differences, weighted:
	 * [0] pooled − per-h, [1] pooled − recursive, [2] pooled − last value. */
	double boot[3][H + 1][2];
} result;

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Origins resampled with replacement (the rows of one origin move together:
 * they share the same news), RMSE differences recomputed; 2.5% and 97.5%.
 * sq[c][o] squared errors summed by origin slot o, c: pooled, per-h,
 * recursive, last value; cnt[o] rows.
 */
static void bootstrap(double *const sq[4], const size_t *cnt, size_t nslots, double out[3][2])
{
	size_t used = 0;
	size_t *slot = malloc((nslots ? nslots : 1) * sizeof *slot);
	double *diff = malloc(3 * BOOT * sizeof *diff);
	for (int c = 0; c < 3; c++)
		out[c][0] = out[c][1] = NAN;
	if (!slot || !diff) {
		free(slot);
		free(diff);
		return;
	}
	for (size_t o = 0; o < nslots; o++)
		if (cnt[o])
			slot[used++] = o;
	uint64_t st = 0x9e3779b97f4a7c15ull;
	for (int b = 0; b < BOOT && used; b++) {
		double s[4] = {0, 0, 0, 0};
		size_t n = 0;
		for (size_t i = 0; i < used; i++) {
			size_t o = slot[rng_next(&st) % used];
			for (int c = 0; c < 4; c++)
				s[c] += sq[c][o];
			n += cnt[o];
		}
		double rm[4];
		for (int c = 0; c < 4; c++)
			rm[c] = sqrt(s[c] / (double)n);
		diff[0 * BOOT + b] = rm[0] - rm[1];
		diff[1 * BOOT + b] = rm[0] - rm[2];
		diff[2 * BOOT + b] = rm[0] - rm[3];
	}
	for (int c = 0; c < 3 && used; c++) {
		qsort(diff + c * BOOT, BOOT, sizeof *diff, cmp_double);
		out[c][0] = diff[c * BOOT + (size_t)(0.025 * BOOT)];
		out[c][1] = diff[c * BOOT + (size_t)(0.975 * BOOT) - 1];
	}
	free(slot);
	free(diff);
}

static mc_code score(const setup *su, double *const pv[NS], double *const pe[NS], result *res,
		     mc_error *err)
{
	for (int st = 0; st < NS; st++)
		fit_policy(su->valid, pv[st], res->pol[st]);
	for (size_t i = 0; i < su->valid->n; i++)
		for (int st = 0; st < NS; st++)
			res->nan_valid += isnan(pv[st][i]);
	mc_metrics_acc raw[NS][H + 1], wtd[NS][H + 1], naive[H + 1];
	for (int h = 0; h <= H; h++) {
		mc_metrics_acc_init(&naive[h]);
		for (int st = 0; st < NS; st++) {
			mc_metrics_acc_init(&raw[st][h]);
			mc_metrics_acc_init(&wtd[st][h]);
		}
	}
	size_t nslots = su->p->ndates - su->k0;
	double *sq[H + 1][4];
	size_t *cnt[H + 1];
	mc_code rc = MC_OK;
	for (int h = 0; h <= H; h++) {
		cnt[h] = calloc(nslots, sizeof *cnt[h]);
		for (int c = 0; c < 4; c++)
			sq[h][c] = calloc(nslots, sizeof *sq[h][c]);
		if (!cnt[h] || !sq[h][0] || !sq[h][1] || !sq[h][2] || !sq[h][3])
			rc = nomem(err);
	}
	const mc_dataset *d = su->eval;
	for (size_t i = 0; !rc && i < d->n; i++) {
		const mc_ds_row *r = &d->row[i];
		bool all = !isnan(r->actual);
		for (int st = 0; st < NS; st++)
			all = all && !isnan(pe[st][i]);
		if (!all) {
			res->skipped++;
			continue;
		}
		size_t o = r->origin - su->k0;
		double wf[NS];
		for (int st = 0; st < NS; st++)
			wf[st] = apply(&res->pol[st][r->h], r->last, pe[st][i]);
		const int at[2] = {0, r->h}; /* every horizon, and this one */
		for (int a = 0; a < 2; a++) {
			int h = at[a];
			mc_metrics_acc_add(&naive[h], r->actual, r->last, NAN, NAN, r->last);
			for (int st = 0; st < NS; st++) {
				mc_metrics_acc_add(&raw[st][h], r->actual, pe[st][i], NAN, NAN,
						   r->last);
				mc_metrics_acc_add(&wtd[st][h], r->actual, wf[st], NAN, NAN,
						   r->last);
				sq[h][st][o] += (r->actual - wf[st]) * (r->actual - wf[st]);
			}
			sq[h][3][o] += (r->actual - r->last) * (r->actual - r->last);
			cnt[h][o]++;
		}
	}
	for (int h = 0; !rc && h <= H; h++) {
		mc_metrics_acc_finish(&naive[h], NAN, &res->naive[h]);
		for (int st = 0; st < NS; st++) {
			mc_metrics_acc_finish(&raw[st][h], NAN, &res->raw[st][h]);
			mc_metrics_acc_finish(&wtd[st][h], NAN, &res->wtd[st][h]);
		}
		double b[3][2];
		bootstrap(sq[h], cnt[h], nslots, b);
		for (int c = 0; c < 3; c++) {
			res->boot[c][h][0] = b[c][0];
			res->boot[c][h][1] = b[c][1];
		}
	}
	for (int h = 0; h <= H; h++) {
		free(cnt[h]);
		for (int c = 0; c < 4; c++)
			free(sq[h][c]);
	}
	return rc;
}

static mc_code compare(const setup *su, const mc_xgb_params *base, uint64_t seed, result *res,
		       mc_error *err)
{
	memset(res, 0, sizeof *res);
	res->seed = seed;
	mc_xgb_params xp = *base;
	xp.seed = seed;
	double *pv[NS] = {0}, *pe[NS] = {0};
	mc_code rc = MC_OK;
	for (int st = 0; st < NS; st++) {
		pv[st] = malloc((su->valid->n ? su->valid->n : 1) * sizeof *pv[st]);
		pe[st] = malloc((su->eval->n ? su->eval->n : 1) * sizeof *pe[st]);
		if (!pv[st] || !pe[st])
			rc = nomem(err);
		for (size_t i = 0; pv[st] && i < su->valid->n; i++)
			pv[st][i] = NAN;
		for (size_t i = 0; pe[st] && i < su->eval->n; i++)
			pe[st][i] = NAN;
	}
	/* pooled */
	mc_xgb_model *m = NULL, *m1 = NULL;
	if (!rc)
		rc = fit(su->train, su->valid, &xp, &m, res->train_s[S_POOLED],
			 &res->rounds[S_POOLED][0], err);
	if (!rc)
		rc = predict_rows(m, su->valid, NULL, pv[S_POOLED], err);
	if (!rc)
		rc = predict_rows(m, su->eval, NULL, pe[S_POOLED], err);
	mc_xgb_free(m);
	/* per horizon; the h = 1 model is kept for the recursion */
	for (int h = 1; h <= H && !rc; h++) {
		m = NULL;
		double before[2] = {res->train_s[S_PERH][0], res->train_s[S_PERH][1]};
		rc = fit(su->train_h[h], su->valid_h[h], &xp, &m, res->train_s[S_PERH],
			 &res->rounds[S_PERH][h], err);
		if (!rc)
			rc = predict_rows(m, su->valid_h[h], su->valid_idx[h], pv[S_PERH], err);
		if (!rc)
			rc = predict_rows(m, su->eval_h[h], su->eval_idx[h], pe[S_PERH], err);
		if (h == 1 && !rc) {
			m1 = m;
			res->train_s[S_REC][0] = res->train_s[S_PERH][0] - before[0];
			res->train_s[S_REC][1] = res->train_s[S_PERH][1] - before[1];
		} else
			mc_xgb_free(m);
	}
	/* recursive */
	if (!rc) {
		recur r = {su->lake, su->p, &su->v, m1, 0, 0, 0, {0, 0}};
		rc = recursive_rows(&r, su->valid, pv[S_REC], err);
		if (!rc)
			rc = recursive_rows(&r, su->eval, pe[S_REC], err);
		res->rec_s[0] = r.seconds[0];
		res->rec_s[1] = r.seconds[1];
		res->panels = r.panels;
		res->checked = r.checked;
		res->mismatched = r.mismatched;
	}
	mc_xgb_free(m1);
	if (!rc)
		rc = score(su, pv, pe, res, err);
	for (int st = 0; st < NS; st++) {
		free(pv[st]);
		free(pe[st]);
	}
	return rc;
}

/* ---- set-up ---- */

static mc_code prepare(setup *su, mc_error *err)
{
	mc_date_parse_iso(UNTIL, &su->until);
	mc_date_parse_iso(EVAL_FROM, &su->from);
	mc_date_parse_iso(EVAL_TO, &su->to);
	mc_panel *pu = NULL;
	/* The panel mc_backtest scores on; the vocabularies of a model trained to UNTIL. */
	mc_code rc = mc_panel_from_table(su->lake, su->to, &su->p, err);
	if (!rc)
		rc = mc_panel_from_table(su->lake, su->until, &pu, err);
	if (!rc)
		rc = mc_vocabs_from_panel(pu, &su->v, err);
	if (!rc) {
		size_t n = pu->ndates, nvalid = (size_t)lround(VALID_FRAC * (double)n);
		su->ndates_until = n;
		su->valid_from = n - nvalid;
		long k0 = mc_panel_date_index(su->p, su->from - 1);
		if (nvalid < 3 || n < nvalid + 20 || k0 < 0 || (size_t)k0 + 1 >= su->p->ndates ||
		    (size_t)k0 + 1 != n)
			rc = mc_fail(err, MC_ERR_EMPTY, "unexpected data: %zu dates up to %s", n,
				     UNTIL);
		su->k0 = (size_t)k0;
	}
	mc_panel_free(pu);
	mc_ds_spec s = {H, 0, su->valid_from, false};
	if (!rc)
		rc = mc_dataset_build(su->p, &su->v, &s, &su->train, err);
	s = (mc_ds_spec){H, su->valid_from, su->ndates_until, false};
	if (!rc)
		rc = mc_dataset_build(su->p, &su->v, &s, &su->valid, err);
	/* mc_backtest's rows: origins from k0 (the last date before EVAL_FROM) on. */
	mc_dataset *all = NULL;
	s = (mc_ds_spec){H, su->k0 + 1, su->p->ndates, false};
	if (!rc)
		rc = mc_dataset_build(su->p, &su->v, &s, &all, err);
	size_t *idx = NULL;
	if (!rc && !(idx = malloc((all->n ? all->n : 1) * sizeof *idx)))
		rc = nomem(err);
	if (!rc)
		rc = take_rows(all, idx, select_rows(all, 0, su->k0, idx), &su->eval, err);
	mc_dataset_free(all);
	free(idx);
	const mc_dataset *src[3] = {su->train, su->valid, su->eval};
	for (int h = 1; h <= H && !rc; h++)
		for (int w = 0; w < 3 && !rc; w++) {
			size_t *ix = malloc((src[w]->n ? src[w]->n : 1) * sizeof *ix);
			if (!ix) {
				rc = nomem(err);
				break;
			}
			mc_dataset **dst = w == 0   ? &su->train_h[h]
					   : w == 1 ? &su->valid_h[h]
						    : &su->eval_h[h];
			rc = take_rows(src[w], ix, select_rows(src[w], h, 0, ix), dst, err);
			if (w == 0)
				free(ix);
			else if (w == 1)
				su->valid_idx[h] = ix;
			else
				su->eval_idx[h] = ix;
		}
	return rc;
}

static void setup_release(setup *su)
{
	mc_panel_free(su->p);
	mc_vocabs_free(&su->v);
	mc_dataset_free(su->train);
	mc_dataset_free(su->valid);
	mc_dataset_free(su->eval);
	for (int h = 1; h <= H; h++) {
		mc_dataset_free(su->train_h[h]);
		mc_dataset_free(su->valid_h[h]);
		mc_dataset_free(su->eval_h[h]);
		free(su->valid_idx[h]);
		free(su->eval_idx[h]);
	}
}

/* ---- output (Markdown) ---- */

/* Other processes on the cores slow XGBoost's threads: say so next to the times. */
static void print_load(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double load;
	if (f && fscanf(f, "%lf", &load) == 1)
		printf("load average before the run: %.2f on %ld cores\n\n", load,
		       sysconf(_SC_NPROCESSORS_ONLN));
	if (f)
		fclose(f);
}

static void print_params(const mc_xgb_params *p, const char *bundle)
{
	printf("hyperparameters (%s): max_depth %d, learning_rate %g, num_round %d (early "
	       "stopping %d), min_child_weight %g, subsample %g, colsample_bytree %g, reg_alpha "
	       "%g, reg_lambda %g, gamma %g, nthread %d\n\n",
	       bundle ? bundle : "fixed", p->max_depth, p->learning_rate, p->num_round,
	       p->early_stopping_rounds, p->min_child_weight, p->subsample, p->colsample_bytree,
	       p->reg_alpha, p->reg_lambda, p->gamma, p->nthread);
}

static void print_setup(const setup *su)
{
	char d[5][11];
	const mc_panel *p = su->p;
	mc_date_format_iso(p->dates[0], d[0]);
	mc_date_format_iso(p->dates[su->valid_from - 1], d[1]);
	mc_date_format_iso(p->dates[su->valid_from], d[2]);
	mc_date_format_iso(p->dates[su->ndates_until - 1], d[3]);
	mc_date_format_iso(p->dates[su->k0], d[4]);
	printf("data: %s, %zu series, %zu publication dates %s..%s\n", WORKBOOK, p->nseries,
	       p->ndates, d[0], EVAL_TO);
	printf("training targets %s..%s: %zu rows; validation targets %s..%s: %zu rows "
	       "(all horizons)\n",
	       d[0], d[1], su->train->n, d[2], d[3], su->valid->n);
	size_t norig = p->ndates - 1 - su->k0;
	printf("evaluation: origins %s.. (%zu), targets %s..%s: %zu rows (all horizons)\n\n", d[4],
	       norig, EVAL_FROM, EVAL_TO, su->eval->n);
}

static void print_table(const result *r, bool weighted)
{
	printf("%s\n\n", weighted ? "**Weighted** (forecast = last + w_h·(model − last); the last "
				    "value where that did not beat it on validation)"
				  : "**Unweighted** (the model's own forecast)");
	printf("| h | rows | last RMSE | pooled RMSE | per-h RMSE | recursive RMSE | last MAE | "
	       "pooled MAE | per-h MAE | recursive MAE |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int h = 1; h <= H + 1; h++) {
		int i = h <= H ? h : 0;
		const mc_metrics(*m)[H + 1] = weighted ? r->wtd : r->raw;
		double best = INFINITY;
		for (int st = 0; st < NS; st++)
			if (m[st][i].rmse < best)
				best = m[st][i].rmse;
		char label[8];
		snprintf(label, sizeof label, h <= H ? "%d" : "all", h);
		printf("| %s | %zu | %.4f |", label, r->naive[i].n, r->naive[i].rmse);
		for (int st = 0; st < NS; st++)
			printf(m[st][i].rmse == best ? " **%.4f** |" : " %.4f |", m[st][i].rmse);
		printf(" %.4f |", r->naive[i].mae);
		double bmae = INFINITY;
		for (int st = 0; st < NS; st++)
			if (m[st][i].mae < bmae)
				bmae = m[st][i].mae;
		for (int st = 0; st < NS; st++)
			printf(m[st][i].mae == bmae ? " **%.4f** |" : " %.4f |", m[st][i].mae);
		printf("\n");
	}
	printf("\n");
}

static void print_policy(const result *r)
{
	printf("Per-horizon weights w_h fitted on validation (\"last\": falls back to the last "
	       "value)\n\n| h | pooled | per-h | recursive |\n|---|---:|---:|---:|\n");
	for (int h = 1; h <= H; h++) {
		printf("| %d |", h);
		for (int st = 0; st < NS; st++)
			if (r->pol[st][h].use_model)
				printf(" %.3f |", r->pol[st][h].w);
			else
				printf(" last (%.3f) |", r->pol[st][h].w);
		printf("\n");
	}
	printf("\n");
}

static void print_boot(const result *r)
{
	printf("Weighted RMSE differences, pooled minus the other, with a 95%% bootstrap interval "
	       "(%d resamples of the evaluation origins; negative = pooled better)\n\n",
	       BOOT);
	printf("| h | pooled − per-h | pooled − recursive | pooled − last "
	       "|\n|---|---:|---:|---:|\n");
	for (int h = 1; h <= H + 1; h++) {
		int i = h <= H ? h : 0;
		const mc_metrics *po = &r->wtd[S_POOLED][i];
		double d[3] = {po->rmse - r->wtd[S_PERH][i].rmse, po->rmse - r->wtd[S_REC][i].rmse,
			       po->rmse - r->naive[i].rmse};
		if (h <= H)
			printf("| %d |", h);
		else
			printf("| all |");
		for (int c = 0; c < 3; c++)
			printf(" %+.4f [%+.4f, %+.4f] |", d[c], r->boot[c][i][0], r->boot[c][i][1]);
		printf("\n");
	}
	printf("\n");
}

static double min_over(const result *r, int n, size_t off)
{
	double m = INFINITY;
	for (int i = 0; i < n; i++) {
		double v;
		memcpy(&v, (const char *)&r[i] + off, sizeof v);
		if (v < m)
			m = v;
	}
	return m;
}

#define MIN_OF(r, n, field) min_over(r, n, offsetof(result, field))

static void print_costs(const result *r, int n)
{
	printf("Cost: wall and process CPU seconds, %d XGBoost threads; %s.  The machine's cores "
	       "are shared, so single times vary by 2-4x from run to run.\n\n",
	       THREADS, n > 1 ? "the minimum over the seeds" : "one run");
	printf("| strategy | models | boosting rounds kept (seed %d) | training wall | training "
	       "CPU | forecasting the validation and evaluation rows |\n"
	       "|---|---:|---|---:|---:|---|\n",
	       SEED);
	printf("| pooled | 1 | %d | %.2f s | %.2f s | one batch prediction |\n",
	       r->rounds[S_POOLED][0], MIN_OF(r, n, train_s[S_POOLED][0]),
	       MIN_OF(r, n, train_s[S_POOLED][1]));
	char rounds[128];
	int at = 0;
	for (int h = 1; h <= H; h++)
		at += snprintf(rounds + at, sizeof rounds - (size_t)at, "%s%d", h > 1 ? ", " : "",
			       r->rounds[S_PERH][h]);
	printf("| per-h | %d | %s | %.2f s | %.2f s | one batch prediction per model |\n", H,
	       rounds, MIN_OF(r, n, train_s[S_PERH][0]), MIN_OF(r, n, train_s[S_PERH][1]));
	printf("| recursive | 1 (per-h's h = 1) | %d | %.2f s | %.2f s | %.2f s wall, %.2f s CPU: "
	       "%zu panels rebuilt |\n\n",
	       r->rounds[S_PERH][1], MIN_OF(r, n, train_s[S_REC][0]),
	       MIN_OF(r, n, train_s[S_REC][1]), MIN_OF(r, n, rec_s[0]), MIN_OF(r, n, rec_s[1]),
	       r->panels);
}

static void print_result(const result *r, int n)
{
	print_table(r, true);
	print_table(r, false);
	print_policy(r);
	print_boot(r);
	print_costs(r, n);
	printf("checks: recursive step 1 rebuilt %zu feature rows from the truncated lake, %zu "
	       "differ from the lake panel's (must be 0); %zu evaluation rows lacked a "
	       "forecast from some strategy; %zu validation forecasts missing\n\n",
	       r->checked, r->mismatched, r->skipped, r->nan_valid);
}

static void print_seeds(const result *r, int n)
{
	printf("Weighted RMSE by XGBoost seed (the same protocol repeated)\n\n| seed | h |");
	for (int st = 0; st < NS; st++)
		printf(" %s |", sname[st]);
	printf(" last |\n|---|---|---:|---:|---:|---:|\n");
	for (int s = 0; s < n; s++)
		for (int h = 1; h <= H + 1; h++) {
			int i = h <= H ? h : 0;
			printf("| %llu | %s%.0d |", (unsigned long long)r[s].seed,
			       h <= H ? "" : "all", h <= H ? h : 0);
			for (int st = 0; st < NS; st++)
				printf(" %.4f |", r[s].wtd[st][i].rmse);
			printf(" %.4f |\n", r[s].naive[i].rmse);
		}
	printf("\nMean over seeds\n\n| h | pooled | per-h | recursive | last |\n"
	       "|---|---:|---:|---:|---:|\n");
	for (int h = 1; h <= H + 1; h++) {
		int i = h <= H ? h : 0;
		printf(h <= H ? "| %d |" : "| all |", h);
		for (int st = 0; st < NS; st++) {
			double sum = 0;
			for (int s = 0; s < n; s++)
				sum += r[s].wtd[st][i].rmse;
			printf(" %.4f |", sum / n);
		}
		printf(" %.4f |\n", r[0].naive[i].rmse);
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *bundle = NULL;
	int seeds = 3;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seeds") && i + 1 < argc) {
			seeds = atoi(argv[++i]);
			if (seeds < 1 || seeds > MAX_SEEDS) {
				fprintf(stderr, "bench_strategies: --seeds must be 1 to %d\n",
					MAX_SEEDS);
				return 2;
			}
		} else if (argv[i][0] == '-' || bundle) {
			fprintf(stderr, "usage: bench_strategies [--seeds N] [BUNDLE_DIR]\n");
			return 2;
		} else {
			bundle = argv[i];
		}
	}
	mc_error err = MC_ERROR_INIT;
	mc_xgb_params xp;
	if (bundle) {
		if (bundle_params(bundle, &xp, &err)) {
			fprintf(stderr, "bench_strategies: %s\n", err.msg);
			return 1;
		}
	} else {
		fixed_params(&xp);
	}
	xp.nthread = THREADS;
	xp.seed = SEED;
	xp.early_stopping_rounds = PATIENCE;

	double t0 = now_s();
	mc_table *lake = NULL;
	setup su = {0};
	result *res = calloc((size_t)seeds, sizeof *res);
	mc_code rc = res ? load_lake(&lake, &err) : nomem(&err);
	su.lake = lake;
	if (!rc)
		rc = prepare(&su, &err);
	if (!rc) {
		printf("# Forecasting strategies on the shipped data\n\n");
		print_load();
		print_params(&xp, bundle);
		print_setup(&su);
		fflush(stdout);
	}
	for (int s = 0; s < seeds && !rc; s++)
		rc = compare(&su, &xp, SEED + (uint64_t)s, &res[s], &err);
	if (!rc) {
		print_result(res, seeds);
		if (seeds > 1)
			print_seeds(res, seeds);
		printf("total %.1f s\n", now_s() - t0);
	}
	setup_release(&su);
	mc_table_free(lake);
	free(res);
	if (rc) {
		fprintf(stderr, "bench_strategies: %s\n", err.msg);
		return 1;
	}
	return 0;
}
