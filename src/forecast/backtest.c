/* Rolling-origin backtests; see milkcast/forecast.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/forecast_int.h"
#include "milkcast/date.h"

mc_code mc_bundle_params(const mc_bundle *b, mc_xgb_params *p, mc_error *err)
{
	mc_xgb_params_init(p);
	json_t *j = json_object_get(json_object_get(b->meta, "model"), "params");
	struct {
		const char *key;
		double *d;
		int *i;
	} f[] = {
		{"max_depth", NULL, &p->max_depth},
		{"learning_rate", &p->learning_rate, NULL},
		{"num_round", NULL, &p->num_round},
		{"min_child_weight", &p->min_child_weight, NULL},
		{"gamma", &p->gamma, NULL},
		{"subsample", &p->subsample, NULL},
		{"colsample_bytree", &p->colsample_bytree, NULL},
		{"reg_alpha", &p->reg_alpha, NULL},
		{"reg_lambda", &p->reg_lambda, NULL},
	};
	for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
		json_t *v = json_object_get(j, f[i].key);
		if (!json_is_number(v))
			return mc_fail(err, MC_ERR_FORMAT,
				       "bundle '%s': bundle.json: model.params.%s is missing",
				       b->dir, f[i].key);
		if (f[i].d)
			*f[i].d = json_number_value(v);
		else
			*f[i].i = (int)json_number_value(v);
	}
	return MC_OK;
}

typedef struct accs {
	mc_metrics_acc bundle[MC_MAX_HORIZONS], model[MC_MAX_HORIZONS], naive[MC_MAX_HORIZONS],
		ma4[MC_MAX_HORIZONS], ma12[MC_MAX_HORIZONS], all_bundle, all_naive;
} accs;

static void accs_init(accs *a)
{
	for (int h = 0; h < MC_MAX_HORIZONS; h++) {
		mc_metrics_acc_init(&a->bundle[h]);
		mc_metrics_acc_init(&a->model[h]);
		mc_metrics_acc_init(&a->naive[h]);
		mc_metrics_acc_init(&a->ma4[h]);
		mc_metrics_acc_init(&a->ma12[h]);
	}
	mc_metrics_acc_init(&a->all_bundle);
	mc_metrics_acc_init(&a->all_naive);
}

/* Score one forecast whose target is in the window and published. */
static void score_one(accs *a, const mc_panel *p, const mc_forecast *f, size_t k, double actual)
{
	int i = f->h - 1;
	double lo = f->price - f->lower, hi = f->upper - f->price;
	double ma4 = mc_dataset_moving_average(p, f->series, k, 4);
	double ma12 = mc_dataset_moving_average(p, f->series, k, 12);
	mc_metrics_acc_add(&a->bundle[i], actual, f->price, f->lower, f->upper, f->last);
	mc_metrics_acc_add(&a->model[i], actual, f->model_price, f->model_price - lo,
			   f->model_price + hi, f->last);
	mc_metrics_acc_add(&a->naive[i], actual, f->last, f->last - lo, f->last + hi, f->last);
	mc_metrics_acc_add(&a->ma4[i], actual, ma4, ma4 - lo, ma4 + hi, f->last);
	mc_metrics_acc_add(&a->ma12[i], actual, ma12, ma12 - lo, ma12 + hi, f->last);
	mc_metrics_acc_add(&a->all_bundle, actual, f->price, f->lower, f->upper, f->last);
	mc_metrics_acc_add(&a->all_naive, actual, f->last, f->last - lo, f->last + hi, f->last);
}

/* Refit on every row whose target is at or before origin k. */
static mc_code refit_at(const mc_bundle *b, const mc_panel *p, size_t k, const mc_xgb_params *xp,
			mc_xgb_model **out, mc_error *err)
{
	mc_ds_spec spec = {.horizons = b->recursive ? 1 : b->horizons, .target_to = k + 1};
	mc_dataset *d;
	mc_code rc = mc_dataset_build(p, &b->vocabs, &spec, &d, err);
	if (!rc && d->n == 0)
		rc = mc_fail(err, MC_ERR_EMPTY, "no training rows before the first origin");
	if (!rc)
		rc = mc_xgb_train(d->X, d->y, d->n, NULL, NULL, 0, d->ncol, NULL, xp, out, NULL,
				  err);
	mc_dataset_free(d);
	return rc;
}

static void finish(accs *a, double scale, const mc_bundle *b, mc_backtest_result *r)
{
	for (int h = 1; h <= r->horizons; h++) {
		mc_backtest_horizon *hz = &r->hz[h - 1];
		hz->h = h;
		hz->use_model = b->use_model[h];
		mc_metrics_acc_finish(&a->bundle[h - 1], scale, &hz->bundle);
		mc_metrics_acc_finish(&a->model[h - 1], scale, &hz->model);
		mc_metrics_acc_finish(&a->naive[h - 1], scale, &hz->naive);
		mc_metrics_acc_finish(&a->ma4[h - 1], scale, &hz->ma4);
		mc_metrics_acc_finish(&a->ma12[h - 1], scale, &hz->ma12);
	}
	mc_metrics_acc_finish(&a->all_bundle, scale, &r->all_bundle);
	mc_metrics_acc_finish(&a->all_naive, scale, &r->all_naive);
}

static mc_code check(const mc_bundle *b, const mc_backtest_opts *o, mc_error *err)
{
	if (o->from > o->to)
		return mc_fail(err, MC_ERR_INVALID, "--from is after --to");
	if (o->horizons < 1 || o->horizons > b->horizons)
		return mc_fail(err, MC_ERR_INVALID,
			       "the model forecasts 1 to %d publications ahead, "
			       "not %d",
			       b->horizons, o->horizons);
	if (o->refit < 0)
		return mc_fail(err, MC_ERR_INVALID, "--refit must be 0 or more");
	return MC_OK;
}

/* Forecast from origin k and score what lands in the window. */
static mc_code origin(const mc_bundle *b, const mc_panel *p, size_t k, const mc_backtest_opts *o,
		      accs *a, mc_error *err)
{
	mc_forecast *f;
	size_t n;
	mc_code rc = mc_bundle_forecast(b, p, p->dates[k], o->horizons, true, &f, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (f[i].target < o->from || f[i].target > o->to)
			continue;
		double actual = mc_panel_price(p, f[i].series, k + (size_t)f[i].h);
		if (!isnan(actual))
			score_one(a, p, &f[i], k, actual);
	}
	free(f);
	return MC_OK;
}

static mc_code run_origins(const mc_bundle *b, const mc_panel *p, size_t k0,
			   const mc_backtest_opts *o, accs *a, mc_backtest_result *r, mc_error *err)
{
	mc_xgb_params xp;
	mc_code rc = o->refit ? mc_bundle_params(b, &xp, err) : MC_OK;
	xp.nthread = o->threads;
	mc_bundle local = *b; /* the same bundle with a refit model swapped in */
	mc_xgb_model *model = NULL;
	for (size_t k = k0; !rc && k + 1 < p->ndates; k++) {
		if (o->refit && (k - k0) % (size_t)o->refit == 0) {
			mc_xgb_free(model);
			model = NULL;
			rc = refit_at(b, p, k, &xp, &model, err);
			local.model = model;
			r->refits++;
		}
		if (!rc)
			rc = origin(&local, p, k, o, a, err);
		r->origins++;
		r->last_origin = p->dates[k];
	}
	mc_xgb_free(model);
	return rc;
}

mc_code mc_backtest(const mc_bundle *b, const mc_table *lake_rows, const mc_backtest_opts *o,
		    mc_backtest_result *r, mc_error *err)
{
	memset(r, 0, sizeof *r);
	mc_code rc = check(b, o, err);
	if (rc)
		return rc;
	mc_panel *p;
	rc = mc_panel_from_table(lake_rows, o->to, &p, err);
	if (rc)
		return rc;
	long last_before = mc_panel_date_index(p, o->from - 1);
	if (last_before < 0 || (size_t)last_before + 1 >= p->ndates) {
		mc_panel_free(p);
		return mc_fail(err, MC_ERR_EMPTY,
			       last_before < 0
				       ? "the lake has no prices before the backtest window"
				       : "the lake has no publications inside the backtest window");
	}
	/* The first origin whose furthest forecast lands in the window. */
	long k0 = last_before + 1 - o->horizons;
	if (k0 < 0)
		k0 = 0;
	r->horizons = o->horizons;
	r->model_until = b->until;
	r->in_sample = !o->refit && b->until >= o->from;
	r->first_origin = p->dates[k0];
	accs *a = malloc(sizeof *a);
	if (!a) {
		mc_panel_free(p);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	accs_init(a);
	rc = run_origins(b, p, (size_t)k0, o, a, r, err);
	if (!rc)
		finish(a, mc_dataset_naive_scale(p, (size_t)k0 + 1), b, r);
	free(a);
	mc_panel_free(p);
	return rc;
}
