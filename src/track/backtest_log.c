/* What `backtest` logs: the scores per horizon of the bundle and the baselines. */
#include <stdio.h>

#include "milkcast/date.h"
#include "milkcast/forecast.h"
#include "milkcast/tracking.h"
#include "track/track_int.h"

static mc_code log_horizon(mc_store *s, const char *run, const mc_backtest_horizon *x, int64_t now,
			   mc_error *err)
{
	const struct {
		const char *name;
		const mc_metrics *m;
	} sets[] = {{"bundle", &x->bundle},
		    {"model", &x->model},
		    {"last_value", &x->naive},
		    {"ma4", &x->ma4},
		    {"ma12", &x->ma12}};
	mc_code rc = MC_OK;
	for (size_t i = 0; i < sizeof sets / sizeof *sets && !rc; i++) {
		char prefix[48];
		snprintf(prefix, sizeof prefix, "backtest_%s_h%d", sets[i].name, x->h);
		rc = mc_log_metric_set(s, run, prefix, sets[i].m, now, err);
	}
	char key[48];
	snprintf(key, sizeof key, "backtest_rows_h%d", x->h);
	if (!rc)
		rc = mc_run_log_metric(s, run, key, (double)x->bundle.n, 0, now, err);
	return rc;
}

static mc_code log_summary(mc_store *s, const char *run, const mc_backtest_result *r, int64_t now,
			   mc_error *err)
{
	mc_code rc = mc_log_metric_set(s, run, "backtest_bundle_all", &r->all_bundle, now, err);
	if (!rc)
		rc = mc_log_metric_set(s, run, "backtest_last_value_all", &r->all_naive, now, err);
	if (!rc)
		rc = mc_run_log_metric(s, run, "origins", (double)r->origins, 0, now, err);
	if (!rc)
		rc = mc_run_log_metric(s, run, "refits", (double)r->refits, 0, now, err);
	char f[11], l[11], u[11];
	mc_date_format_iso(r->first_origin, f);
	mc_date_format_iso(r->last_origin, l);
	mc_date_format_iso(r->model_until, u);
	const struct {
		const char *k;
		const char *v;
	} tags[] = {{"milkcast.first_origin", f},
		    {"milkcast.last_origin", l},
		    {"milkcast.model_until", u},
		    {"milkcast.in_sample", r->in_sample ? "true" : "false"}};
	for (size_t i = 0; i < sizeof tags / sizeof *tags && !rc; i++)
		rc = mc_run_set_tag(s, run, tags[i].k, tags[i].v, err);
	return rc;
}

mc_code mc_backtest_log(mc_store *s, const char *run, const struct mc_backtest_result *r,
			mc_error *err)
{
	int64_t now = mc_now_ms();
	mc_code rc = mc_store_begin(s, err);
	for (int h = 1; h <= r->horizons && !rc; h++)
		rc = log_horizon(s, run, &r->hz[h - 1], now, err);
	if (!rc)
		rc = log_summary(s, run, r, now, err);
	if (!rc)
		rc = mc_run_tag_lineage(s, run, err);
	if (!rc)
		rc = mc_run_end(s, run, MC_RUN_FINISHED, err);
	if (!rc)
		rc = mc_store_commit(s, err);
	else
		mc_store_rollback(s);
	return rc;
}
