/*
 * `train`: panel → split → search → evaluation → refit → bundle.  See
 * milkcast/forecast.h for the strategy and docs/forecasting.md for why.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forecast/forecast_int.h"
#include "forecast/search_run.h"
#include "milkcast/date.h"

void mc_train_opts_init(mc_train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->until = INT32_MAX;
	o->trials = 25;
	o->search = MC_SEARCH_TPE;
	o->horizons = 6;
	o->seed = 42;
	o->threads = 2;
	o->valid_frac = 0.15;
	o->test_frac = 0.15;
	o->interval_level = 0.9;
	o->early_stopping_rounds = 20;
	o->strategy = MC_STRATEGY_RECURSIVE;
}

void mc_train_result_free(mc_train_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntrials; i++) {
		free(r->trials[i].x);
		free(r->trials[i].params_json);
		free(r->trials[i].curve);
	}
	free(r->trials);
	free(r->groups);
	free(r);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Date indexes where validation and test targets start. */
typedef struct split {
	size_t valid_from, test_from, end;
} split;

static mc_code choose_split(const mc_panel *p, const mc_train_opts *o, split *sp, mc_error *err)
{
	size_t n = p->ndates;
	size_t ntest = (size_t)lround(o->test_frac * (double)n);
	size_t nvalid = (size_t)lround(o->valid_frac * (double)n);
	if (ntest < 3 || nvalid < 3 || n < ntest + nvalid + 20)
		return mc_fail(err, MC_ERR_EMPTY,
			       "too little history to train: %zu publication dates up to the "
			       "cut-off; need at least %d (20 for training, 3 each for validation "
			       "and test at the chosen shares)",
			       n, 26);
	sp->end = n;
	sp->test_from = n - ntest;
	sp->valid_from = sp->test_from - nvalid;
	return MC_OK;
}

/* The rows each stage needs; a recursive model trains and is searched on h = 1 only. */
typedef struct sets {
	mc_dataset *fit, *stop;	  /* search: training rows, validation rows (early stopping) */
	mc_dataset *valid, *test; /* every horizon: weights, fallback, intervals; report */
	mc_dataset *all;	  /* the refit */
} sets;

static void sets_free(sets *s)
{
	mc_dataset_free(s->fit);
	mc_dataset_free(s->stop);
	mc_dataset_free(s->valid);
	mc_dataset_free(s->test);
	mc_dataset_free(s->all);
}

static mc_code build_sets(const mc_panel *p, const mc_vocabs *v, int H, bool recursive,
			  const split *sp, sets *out, mc_error *err)
{
	int Hs = recursive ? 1 : H;
	mc_ds_spec s = {Hs, 0, sp->valid_from, false};
	mc_code rc = mc_dataset_build(p, v, &s, &out->fit, err);
	s = (mc_ds_spec){Hs, sp->valid_from, sp->test_from, false};
	if (!rc)
		rc = mc_dataset_build(p, v, &s, &out->stop, err);
	/* Recursive forecasts are scored on these rows but computed from the panel. */
	s = (mc_ds_spec){H, sp->valid_from, sp->test_from, recursive};
	if (!rc)
		rc = mc_dataset_build(p, v, &s, &out->valid, err);
	s = (mc_ds_spec){H, sp->test_from, sp->end, recursive};
	if (!rc)
		rc = mc_dataset_build(p, v, &s, &out->test, err);
	s = (mc_ds_spec){Hs, 0, sp->end, false};
	if (!rc)
		rc = mc_dataset_build(p, v, &s, &out->all, err);
	if (!rc && (!out->fit->n || !out->stop->n || !out->test->n))
		rc = mc_fail(err, MC_ERR_EMPTY,
			     "no usable rows in the %s window (series need %d prices before an "
			     "origin)",
			     !out->fit->n    ? "training"
			     : !out->stop->n ? "validation"
					     : "test",
			     MC_FEATURES_MIN_OBS);
	return rc;
}

/*
 * Recursive forecasts for every row of d: for each origin in d, the model is
 * run forward from it for every series usable there, and each row takes the
 * forecast of its series and horizon.
 */
static mc_code recursive_rows(const mc_panel *p, const mc_vocabs *v, const mc_xgb_model *m,
			      const mc_dataset *d, double *price, mc_error *err)
{
	size_t *series = malloc((p->nseries ? p->nseries : 1) * sizeof *series);
	long *slot = malloc((p->nseries ? p->nseries : 1) * sizeof *slot);
	double *pred = malloc((p->nseries * MC_MAX_HORIZONS + 1) * sizeof *pred);
	mc_code rc = series && slot && pred ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	size_t lo = SIZE_MAX, hi = 0;
	for (size_t i = 0; i < d->n; i++) {
		lo = d->row[i].origin < lo ? d->row[i].origin : lo;
		hi = d->row[i].origin > hi ? d->row[i].origin : hi;
	}
	for (size_t k = lo; !rc && d->n && k <= hi; k++) {
		int steps = 0;
		for (size_t i = 0; i < d->n; i++)
			if (d->row[i].origin == k && d->row[i].h > steps)
				steps = d->row[i].h;
		if (!steps)
			continue;
		size_t nus = 0;
		for (size_t s = 0; s < p->nseries; s++) {
			slot[s] = -1;
			if (mc_features_usable(p, s, k)) {
				slot[s] = (long)nus;
				series[nus++] = s;
			}
		}
		int32_t targets[MC_MAX_HORIZONS];
		for (int j = 0; j < steps; j++)
			targets[j] = p->dates[k + 1 + (size_t)j];
		rc = mc_fc_recursive(m, v, p, k, targets, steps, series, nus, pred, NULL, NULL,
				     err);
		for (size_t i = 0; !rc && i < d->n; i++)
			if (d->row[i].origin == k)
				price[i] = pred[(size_t)slot[d->row[i].series] * (size_t)steps +
						(size_t)(d->row[i].h - 1)];
	}
	free(series);
	free(slot);
	free(pred);
	return rc;
}

mc_code mc_fc_predict_rows(const mc_xgb_model *m, const mc_dataset *d, double *price, mc_error *err)
{
	float *out = malloc((d->n ? d->n : 1) * sizeof *out);
	if (!out)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = d->n ? mc_xgb_predict(m, d->X, d->n, d->ncol, out, err) : MC_OK;
	for (size_t i = 0; !rc && i < d->n; i++)
		price[i] = d->row[i].last + (double)out[i];
	free(out);
	return rc;
}

/* ---- evaluation ---- */

typedef struct predictions {
	double *model, *naive, *ma4, *ma12;
} predictions;

static void predictions_free(predictions *pr)
{
	free(pr->model);
	free(pr->naive);
	free(pr->ma4);
	free(pr->ma12);
}

static mc_code predict_all(const mc_panel *p, const mc_vocabs *v, const mc_xgb_model *m,
			   bool recursive, const mc_dataset *d, predictions *pr, mc_error *err)
{
	size_t n = d->n ? d->n : 1;
	pr->model = malloc(n * sizeof(double));
	pr->naive = malloc(n * sizeof(double));
	pr->ma4 = malloc(n * sizeof(double));
	pr->ma12 = malloc(n * sizeof(double));
	if (!pr->model || !pr->naive || !pr->ma4 || !pr->ma12)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < d->n; i++) {
		const mc_ds_row *r = &d->row[i];
		pr->naive[i] = r->last;
		pr->ma4[i] = mc_dataset_moving_average(p, r->series, r->origin, 4);
		pr->ma12[i] = mc_dataset_moving_average(p, r->series, r->origin, 12);
	}
	return recursive ? recursive_rows(p, v, m, d, pr->model, err)
			 : mc_fc_predict_rows(m, d, pr->model, err);
}

static double rmse_h(const mc_dataset *d, const double *pred, int h)
{
	double sq = 0;
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		if (d->row[i].h == h && !isnan(pred[i])) {
			double e = d->row[i].actual - pred[i];
			sq += e * e;
			n++;
		}
	return n ? sqrt(sq / (double)n) : NAN;
}

/*
 * The weight w of the model's change, least squares on validation rows of
 * horizon h: minimise Σ (y − last − w·(model − last))², w clamped to [0, 1].
 * A pooled model's changes are noisy where the signal is weak; shrinking
 * them towards the last value per horizon keeps what generalises.
 */
static double change_weight(const mc_dataset *d, const double *model, int h)
{
	double sxy = 0, sxx = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (d->row[i].h != h)
			continue;
		double x = model[i] - d->row[i].last, y = d->row[i].actual - d->row[i].last;
		sxy += x * y;
		sxx += x * x;
	}
	double w = sxx > 0 ? sxy / sxx : 0;
	return w < 0 ? 0 : w > 1 ? 1 : w;
}

/* The bundle's forecast for rows of d: last + w_h · (model − last). */
static void blend(const mc_dataset *d, const double *model, const mc_train_result *r, double *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const mc_horizon_report *hz = &r->hz[d->row[i].h - 1];
		double last = d->row[i].last;
		out[i] = hz->use_model ? last + hz->weight * (model[i] - last) : last;
	}
}

/* Per horizon: weight, model or fallback (validation RMSE), then the conformal interval. */
static mc_code calibrate(const mc_dataset *valid, const predictions *pv, double level,
			 mc_train_result *r, mc_error *err)
{
	size_t n = valid->n ? valid->n : 1;
	double *res = malloc(n * sizeof *res), *mixed = malloc(n * sizeof *mixed);
	if (!res || !mixed) {
		free(res);
		free(mixed);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	for (int h = 1; h <= r->horizons; h++) {
		mc_horizon_report *hz = &r->hz[h - 1];
		hz->h = h;
		hz->weight = change_weight(valid, pv->model, h);
		hz->use_model = true;
		hz->valid_rmse_model = rmse_h(valid, pv->model, h);
		hz->valid_rmse_naive = rmse_h(valid, pv->naive, h);
	}
	blend(valid, pv->model, r, mixed);
	mc_code rc = MC_OK;
	for (int h = 1; h <= r->horizons && !rc; h++) {
		mc_horizon_report *hz = &r->hz[h - 1];
		hz->valid_rmse_blend = rmse_h(valid, mixed, h);
		hz->use_model = hz->weight > 0 && hz->valid_rmse_blend < hz->valid_rmse_naive;
		size_t m = 0;
		for (size_t i = 0; i < valid->n; i++)
			if (valid->row[i].h == h)
				res[m++] = valid->row[i].actual -
					   (hz->use_model ? mixed[i] : pv->naive[i]);
		double lo, hi;
		rc = mc_conformal_signed(res, m, level, &lo, &hi);
		if (rc)
			rc = mc_fail(err, rc, "cannot calibrate the interval of horizon %d", h);
		hz->q_lower = -lo;
		hz->q_upper = hi;
	}
	free(res);
	free(mixed);
	return rc;
}

static void score(const mc_dataset *d, const double *pred, int h, double qlo, double qhi,
		  const double *naive, double scale, const char *mt, const char *ch,
		  const mc_panel *p, mc_metrics *out)
{
	mc_metrics_acc a;
	mc_metrics_acc_init(&a);
	for (size_t i = 0; i < d->n; i++) {
		const mc_ds_row *r = &d->row[i];
		if (h && r->h != h)
			continue;
		const mc_panel_series *ps = &p->series[r->series];
		if (mt && (strcmp(ps->milk_type, mt) || strcmp(ps->channel, ch)))
			continue;
		mc_metrics_acc_add(&a, r->actual, pred[i], pred[i] - qlo, pred[i] + qhi, naive[i]);
	}
	mc_metrics_acc_finish(&a, scale, out);
}

static mc_code test_report(const mc_panel *p, const mc_dataset *test, const predictions *pt,
			   mc_train_result *r, mc_error *err)
{
	double *bundle = malloc((test->n ? test->n : 1) * sizeof *bundle);
	if (!bundle)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	blend(test, pt->model, r, bundle);
	double s = r->mase_scale;
	for (int h = 1; h <= r->horizons; h++) {
		mc_horizon_report *hz = &r->hz[h - 1];
		double lo = hz->q_lower, hi = hz->q_upper;
		score(test, bundle, h, lo, hi, pt->naive, s, NULL, NULL, p, &hz->test_bundle);
		score(test, pt->model, h, lo, hi, pt->naive, s, NULL, NULL, p, &hz->test_model);
		score(test, pt->naive, h, lo, hi, pt->naive, s, NULL, NULL, p, &hz->test_naive);
		score(test, pt->ma4, h, lo, hi, pt->naive, s, NULL, NULL, p, &hz->test_ma4);
		score(test, pt->ma12, h, lo, hi, pt->naive, s, NULL, NULL, p, &hz->test_ma12);
	}
	static const char *const types[] = {"pasteurizada", "ultrapasteurizada"};
	static const char *const channels[] = {"tiendas", "autoservicios"};
	r->groups = calloc(4, sizeof *r->groups);
	if (!r->groups) {
		free(bundle);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	/* Group intervals use the widest horizon's q: the table is about errors, not
	 * coverage, which is reported per horizon above. */
	for (int t = 0; t < 2; t++)
		for (int c = 0; c < 2; c++) {
			mc_group_report *g = &r->groups[r->ngroups++];
			snprintf(g->milk_type, sizeof g->milk_type, "%s", types[t]);
			snprintf(g->channel, sizeof g->channel, "%s", channels[c]);
			score(test, bundle, 0, 0, 0, pt->naive, s, types[t], channels[c], p,
			      &g->bundle);
			score(test, pt->naive, 0, 0, 0, pt->naive, s, types[t], channels[c], p,
			      &g->naive);
		}
	free(bundle);
	return MC_OK;
}

/* ---- the run ---- */

typedef struct run {
	const mc_train_opts *o;
	mc_panel *panel;
	mc_vocabs vocabs;
	mc_space *space;
	sets ds;
	mc_xgb_params base;
	mc_fc_search_result search;
	mc_xgb_model *final;
	split sp;
} run;

static void run_release(run *r)
{
	mc_panel_free(r->panel);
	mc_vocabs_free(&r->vocabs);
	mc_space_free(r->space);
	sets_free(&r->ds);
	mc_fc_search_result_release(&r->search);
	mc_xgb_free(r->final);
}

static mc_code check_opts(const mc_train_opts *o, mc_error *err)
{
	if (o->horizons < 1 || o->horizons > MC_MAX_HORIZONS)
		return mc_fail(err, MC_ERR_INVALID, "horizons must be 1 to %d (got %d)",
			       MC_MAX_HORIZONS, o->horizons);
	if (o->trials < 1 || o->trials > 10000)
		return mc_fail(err, MC_ERR_INVALID, "trials must be 1 to 10000 (got %d)",
			       o->trials);
	if (o->threads < 1 || o->threads > 256)
		return mc_fail(err, MC_ERR_INVALID, "threads must be 1 to 256 (got %d)",
			       o->threads);
	if (!(o->interval_level > 0 && o->interval_level < 1))
		return mc_fail(err, MC_ERR_INVALID, "the interval level must be in (0, 1)");
	return MC_OK;
}

static mc_code prepare(run *r, const mc_table *lake_rows, mc_error *err)
{
	const mc_train_opts *o = r->o;
	mc_code rc = check_opts(o, err);
	if (!rc)
		rc = mc_panel_from_table(lake_rows, o->until, &r->panel, err);
	if (!rc)
		rc = mc_vocabs_from_panel(r->panel, &r->vocabs, err);
	if (!rc && o->space_path)
		rc = mc_space_load_file(o->space_path, &r->space, err);
	else if (!rc && !(r->space = mc_space_default()))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = mc_fc_check_space(r->space, o->space_path ? o->space_path : "built-in space",
				       err);
	if (!rc)
		rc = choose_split(r->panel, o, &r->sp, err);
	if (!rc)
		rc = build_sets(r->panel, &r->vocabs, o->horizons,
				o->strategy == MC_STRATEGY_RECURSIVE, &r->sp, &r->ds, err);
	return rc;
}

static mc_code search(run *r, mc_error *err)
{
	const mc_train_opts *o = r->o;
	mc_xgb_params_init(&r->base);
	int workers = o->threads >= 2 && o->trials >= 2 ? 2 : 1;
	r->base.nthread = o->threads / workers;
	r->base.seed = o->seed;
	r->base.early_stopping_rounds = o->early_stopping_rounds;
	mc_fc_search job = {r->ds.fit, r->ds.stop, r->space, &r->base,	  o->search,
			    o->seed,   o->trials,  workers,  o->on_trial, o->ud};
	return mc_fc_search_run(&job, &r->search, err);
}

/* The shipped model: the best point, its rounds, every row up to the cut-off. */
static mc_code refit(run *r, const mc_train_result *res, int *rounds, mc_error *err)
{
	mc_xgb_params p = r->base;
	const mc_trial *best = &res->trials[res->best];
	mc_fc_params_from_x(r->space, best->x, &p);
	p.num_round = best->best_iteration + 1;
	p.early_stopping_rounds = 0;
	p.nthread = r->o->threads;
	*rounds = p.num_round;
	const mc_dataset *all = r->ds.all;
	return mc_xgb_train(all->X, all->y, all->n, NULL, NULL, 0, all->ncol, NULL, &p, &r->final,
			    NULL, err);
}

static mc_code evaluate(run *r, mc_train_result *res, mc_error *err)
{
	predictions pv = {0}, pt = {0};
	bool rec = r->o->strategy == MC_STRATEGY_RECURSIVE;
	const mc_xgb_model *m = r->search.model;
	mc_code rc = predict_all(r->panel, &r->vocabs, m, rec, r->ds.valid, &pv, err);
	if (!rc)
		rc = predict_all(r->panel, &r->vocabs, m, rec, r->ds.test, &pt, err);
	if (!rc)
		rc = calibrate(r->ds.valid, &pv, r->o->interval_level, res, err);
	if (!rc)
		rc = test_report(r->panel, r->ds.test, &pt, res, err);
	predictions_free(&pv);
	predictions_free(&pt);
	return rc;
}

static void fill_result(const run *r, mc_train_result *res)
{
	const mc_panel *p = r->panel;
	res->trials = r->search.trials;
	res->ntrials = r->search.ntrials;
	res->best = r->search.best;
	res->xgb_seconds = r->search.xgb_seconds;
	res->horizons = r->o->horizons;
	res->train_to = p->dates[r->sp.valid_from - 1];
	res->valid_from = p->dates[r->sp.valid_from];
	res->valid_to = p->dates[r->sp.test_from - 1];
	res->test_from = p->dates[r->sp.test_from];
	res->test_to = p->dates[r->sp.end - 1];
	res->rows_train = r->ds.fit->n;
	res->rows_valid = r->ds.valid->n;
	res->rows_test = r->ds.test->n;
	res->mase_scale = mc_dataset_naive_scale(p, r->sp.valid_from);
	mc_fc_panel_hash(p, res->data_sha256);
}

mc_code mc_train(const mc_table *lake_rows, const mc_train_opts *o, const char *models_dir,
		 mc_train_result **out, mc_error *err)
{
	*out = NULL;
	double t0 = now_s();
	run r = {.o = o};
	mc_train_result *res = calloc(1, sizeof *res);
	if (!res)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = prepare(&r, lake_rows, err);
	double t1 = now_s();
	if (!rc)
		rc = search(&r, err);
	double t2 = now_s();
	if (!rc) {
		fill_result(&r, res);
		r.search.trials = NULL; /* now owned by res */
		r.search.ntrials = 0;
		double before = mc_fc_recursive_xgb_seconds();
		rc = evaluate(&r, res, err);
		res->xgb_seconds += mc_fc_recursive_xgb_seconds() - before;
	}
	int rounds = 0;
	double t3 = now_s();
	if (!rc)
		rc = refit(&r, res, &rounds, err);
	double t4 = now_s();
	res->xgb_seconds += t4 - t3;
	res->phase[0] = t1 - t0;
	res->phase[1] = t2 - t1;
	res->phase[2] = t3 - t2;
	res->phase[3] = t4 - t3;
	json_t *meta = NULL;
	if (!rc) {
		res->seconds = now_s() - t0;
		double serial = res->seconds - r.search.wall_seconds;
		double thread_s = r.search.workers * r.search.wall_seconds + serial;
		res->xgb_share = thread_s > 0 ? res->xgb_seconds / thread_s : NAN;
		meta = mc_fc_bundle_json(res, o, r.panel, &r.vocabs, r.space, &r.base, rounds);
		rc = meta ? mc_fc_write_bundle(models_dir, r.final, meta, lake_rows, r.panel,
					       res->bundle_dir, sizeof res->bundle_dir, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
		res->phase[4] = now_s() - t4;
	}
	json_decref(meta);
	run_release(&r);
	if (rc) {
		mc_train_result_free(res);
		return rc;
	}
	*out = res;
	return MC_OK;
}
