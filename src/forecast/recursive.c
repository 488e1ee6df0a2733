/*
 * Recursive multi-step forecasts: a one-step model applied again and again.
 * From origin k it forecasts the next publication of every usable series;
 * those forecasts are appended to a copy of the panel as if published (so
 * forward fills and group means include them) and the model runs again one
 * publication later, up to the last target.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "forecast/forecast_int.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Seconds spent in XGBoost by recursive forecasts in this thread (for training's report). */
static _Thread_local double xgb_seconds;

double mc_fc_recursive_xgb_seconds(void)
{
	return xgb_seconds;
}

static mc_code step(const mc_xgb_model *m, const mc_vocabs *v, mc_panel *q, const size_t *series,
		    size_t nus, int32_t target, float *X, double *out, double *delta,
		    double *column, mc_error *err)
{
	size_t nf = mc_features_count(), k = q->ndates - 1;
	for (size_t i = 0; i < nus; i++)
		mc_features_row(q, v, series[i], k, 1, target, X + i * nf);
	float *change = malloc((nus ? nus : 1) * sizeof *change);
	if (!change)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	double t0 = now_s();
	mc_code rc = nus ? mc_xgb_predict(m, X, nus, nf, change, err) : MC_OK;
	xgb_seconds += now_s() - t0;
	for (size_t s = 0; s < q->nseries; s++)
		column[s] = NAN;
	for (size_t i = 0; !rc && i < nus; i++) {
		out[i] = mc_features_last(q, series[i], k) + (double)change[i];
		delta[i] = (double)change[i];
		column[series[i]] = out[i];
	}
	free(change);
	if (!rc)
		rc = mc_panel_append(q, target, column, err);
	return rc;
}

mc_code mc_fc_recursive(const mc_xgb_model *m, const mc_vocabs *v, const mc_panel *p, size_t k,
			const int32_t *targets, int steps, const size_t *series, size_t nus,
			double *pred, double *changes, float *X, mc_error *err)
{
	mc_panel *q;
	mc_code rc = mc_panel_head(p, k, &q, err);
	if (rc)
		return rc;
	size_t nf = mc_features_count();
	double *out = malloc((nus ? nus : 1) * sizeof *out);
	double *delta = malloc((nus ? nus : 1) * sizeof *delta);
	double *column = malloc((p->nseries ? p->nseries : 1) * sizeof *column);
	float *scratch = X ? NULL : malloc((nus ? nus : 1) * nf * sizeof *scratch);
	if (!out || !delta || !column || (!X && !scratch))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (int j = 0; !rc && j < steps; j++) {
		float *rows = X ? X + (size_t)j * nus * nf : scratch;
		rc = step(m, v, q, series, nus, targets[j], rows, out, delta, column, err);
		for (size_t i = 0; !rc && i < nus; i++) {
			pred[i * (size_t)steps + (size_t)j] = out[i];
			if (changes)
				changes[i * (size_t)steps + (size_t)j] = delta[i];
		}
	}
	free(out);
	free(delta);
	free(column);
	free(scratch);
	mc_panel_free(q);
	return rc;
}
