/* What `train` logs: a child run per trial under the search's run, and the results. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/forecast.h"
#include "milkcast/tracking.h"
#include "milkcast/xgb.h"
#include "track/track_int.h"

/* Every parameter of a trial, from its JSON, as text. */
static mc_code log_params_json(mc_store *s, const char *run, const char *json, mc_error *err)
{
	json_t *o = json ? json_loads(json, 0, NULL) : NULL;
	const char *key;
	json_t *v;
	mc_code rc = MC_OK;
	json_object_foreach(o, key, v)
	{
		char text[64];
		if (json_is_integer(v))
			snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(text, sizeof text, "%.17g", json_real_value(v));
		else if (json_is_string(v))
			snprintf(text, sizeof text, "%s", json_string_value(v));
		else
			continue;
		if ((rc = mc_run_log_param(s, run, key, text, err)))
			break;
	}
	json_decref(o);
	return rc;
}

static mc_code log_trial(mc_store *s, int64_t exp, const char *parent, const mc_trial *t,
			 int64_t now, mc_error *err)
{
	char id[MC_RUN_ID_LEN + 1], name[32];
	snprintf(name, sizeof name, "trial-%d", t->id + 1);
	mc_code rc = mc_run_start(s, exp, parent, name, id, err);
	if (!rc)
		rc = log_params_json(s, id, t->params_json, err);
	for (size_t r = 0; !rc && r < t->curve_n; r++)
		rc = mc_run_log_metric(s, id, "valid_rmse_curve", t->curve[r], (int64_t)r, now,
				       err);
	if (!rc)
		rc = mc_run_log_metric(s, id, "valid_rmse", t->valid_rmse, 0, now, err);
	if (!rc)
		rc = mc_run_log_metric(s, id, "best_iteration", t->best_iteration, 0, now, err);
	if (!rc)
		rc = mc_run_log_metric(s, id, "seconds", t->seconds, 0, now, err);
	if (!rc)
		rc = mc_run_end(s, id, isnan(t->valid_rmse) ? MC_RUN_FAILED : MC_RUN_FINISHED, err);
	return rc;
}

mc_code mc_log_metric_set(mc_store *s, const char *run, const char *prefix, const mc_metrics *m,
			  int64_t now, mc_error *err)
{
	const struct {
		const char *name;
		double v;
	} f[] = {{"rmse", m->rmse},   {"mae", m->mae},	 {"mape", m->mape},
		 {"smape", m->smape}, {"mase", m->mase}, {"coverage", m->coverage},
		 {"width", m->width}};
	mc_code rc = MC_OK;
	for (size_t i = 0; i < sizeof f / sizeof *f && !rc; i++) {
		char key[96];
		snprintf(key, sizeof key, "%s_%s", prefix, f[i].name);
		rc = mc_run_log_metric(s, run, key, f[i].v, 0, now, err);
	}
	return rc;
}

static mc_code log_results(mc_store *s, const char *run, const mc_train_result *r, int64_t now,
			   mc_error *err)
{
	mc_code rc = MC_OK;
	for (int h = 1; h <= r->horizons && !rc; h++) {
		const mc_horizon_report *hz = &r->hz[h - 1];
		char p[48];
		snprintf(p, sizeof p, "test_h%d", h);
		rc = mc_log_metric_set(s, run, p, &hz->test_bundle, now, err);
		snprintf(p, sizeof p, "test_last_value_h%d", h);
		if (!rc)
			rc = mc_log_metric_set(s, run, p, &hz->test_naive, now, err);
		snprintf(p, sizeof p, "weight_h%d", h);
		if (!rc)
			rc = mc_run_log_metric(s, run, p, hz->use_model ? hz->weight : 0, 0, now,
					       err);
		snprintf(p, sizeof p, "valid_rmse_h%d", h);
		if (!rc)
			rc = mc_run_log_metric(s, run, p, hz->valid_rmse_blend, 0, now, err);
	}
	const struct {
		const char *k;
		double v;
	} totals[] = {{"best_valid_rmse", r->trials[r->best].valid_rmse},
		      {"seconds", r->seconds},
		      {"xgboost_share", r->xgb_share},
		      {"rows_train", (double)r->rows_train},
		      {"rows_test", (double)r->rows_test}};
	for (size_t i = 0; i < sizeof totals / sizeof *totals && !rc; i++)
		rc = mc_run_log_metric(s, run, totals[i].k, totals[i].v, 0, now, err);
	if (!rc)
		rc = mc_run_set_tag(s, run, "milkcast.bundle", r->bundle_dir, err);
	if (!rc)
		rc = mc_run_set_tag(s, run, "milkcast.data_sha256", r->data_sha256, err);
	if (!rc)
		rc = mc_run_tag_lineage(s, run, err);
	return rc;
}

mc_code mc_train_log(mc_store *s, int64_t experiment, const char *run,
		     const struct mc_train_result *r, mc_error *err)
{
	int64_t now = mc_now_ms();
	mc_code rc = mc_store_begin(s, err);
	for (size_t i = 0; !rc && i < r->ntrials; i++)
		rc = log_trial(s, experiment, run, &r->trials[i], now, err);
	if (!rc)
		rc = log_results(s, run, r, now, err);
	if (!rc)
		rc = mc_run_end(s, run, MC_RUN_FINISHED, err);
	if (!rc)
		rc = mc_store_commit(s, err);
	else
		mc_store_rollback(s);
	return rc;
}
