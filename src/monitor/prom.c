/*
 * The Prometheus textfile-collector file (exposition format 0.0.4): gauges
 * of the last run, for node_exporter's textfile collector and for
 * `milkcast serve`'s /metrics.  Every family has HELP and TYPE lines; no
 * family is written twice; NaN values are left out.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "monitor/monitor_int.h"

static void family(mc_buf *b, const char *name, const char *help)
{
	mc_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static void label(mc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			mc_buf_putc(b, '\\');
		if (*s == '\n')
			mc_buf_append(b, "\\n", 2);
		else
			mc_buf_putc(b, (uint8_t)*s);
	}
}

static void sample(mc_buf *b, const char *name, double v)
{
	if (isfinite(v))
		mc_buf_printf(b, "%s %.17g\n", name, v);
}

static double day_seconds(int32_t d)
{
	return (double)d * 86400.0;
}

static void drift_metrics(const mc_monitor_result *r, mc_buf *b)
{
	family(b, "milkcast_drift_share", "Share of the tested columns that drifted.");
	sample(b, "milkcast_drift_share", r->share);
	family(b, "milkcast_dataset_drift",
	       "1 when the drift share reached the dataset threshold.");
	sample(b, "milkcast_dataset_drift", r->dataset_drift ? 1 : 0);
	family(b, "milkcast_drift_columns_tested", "Columns tested for drift.");
	sample(b, "milkcast_drift_columns_tested", (double)r->n_tested);
	static const char *const names[2] = {"milkcast_column_drift_score",
					     "milkcast_column_drift"};
	static const char *const helps[2] = {
		"Drift score per column: the p-value or distance its test compares with the "
		"threshold.",
		"1 when the column drifted."};
	for (int k = 0; k < 2; k++) {
		family(b, names[k], helps[k]);
		for (size_t c = 0; c < r->ncols; c++) {
			const mc_monitor_column *col = &r->cols[c];
			double v = k ? (col->r.drift ? 1 : 0) : col->r.score;
			if (col->skipped || !isfinite(v))
				continue;
			mc_buf_printf(b, "%s{column=\"", names[k]);
			label(b, col->name);
			mc_buf_printf(b, "\",test=\"");
			label(b, col->r.test);
			mc_buf_printf(b, "\"} %.17g\n", v);
		}
	}
}

enum { G_MAE, G_RMSE, G_BIAS, G_NAIVE_MAE, G_NAIVE_RMSE, G_TRAIN_RMSE, G_ROWS, G_COUNT };

static double perf_value(const mc_monitor_perf *p, int g)
{
	switch (g) {
	case G_MAE: return p->mae;
	case G_RMSE: return p->rmse;
	case G_BIAS: return p->bias;
	case G_NAIVE_MAE: return p->naive_mae;
	case G_NAIVE_RMSE: return p->naive_rmse;
	case G_TRAIN_RMSE: return p->train_rmse;
	default: return (double)p->n;
	}
}

/* `horizon="1"` or `horizon="all"`. */
static void horizon_label(mc_buf *b, size_t h)
{
	if (h)
		mc_buf_printf(b, "horizon=\"%zu\"", h);
	else
		mc_buf_printf(b, "horizon=\"all\"");
}

static void perf_metrics(const mc_monitor_result *r, mc_buf *b)
{
	static const char *const names[G_COUNT] = {"milkcast_rolling_mae",  "milkcast_rolling_rmse",
						   "milkcast_rolling_bias", "milkcast_naive_mae",
						   "milkcast_naive_rmse",   NULL,
						   "milkcast_rolling_rows"};
	static const char *const helps[G_COUNT] = {
		"MAE of the logged forecasts in the current window, every model version.",
		"RMSE of the logged forecasts in the current window, every model version.",
		"Mean forecast minus actual in the current window, every model version.",
		"MAE of the last value on the same rows.",
		"RMSE of the last value on the same rows.",
		NULL,
		"Forecasts joined with published prices, by horizon."};
	for (int k = 0; k < G_COUNT; k++) {
		if (!names[k])
			continue;
		family(b, names[k], helps[k]);
		for (size_t h = 0; h < r->nperf; h++) {
			double v = perf_value(&r->perf[h], k);
			if (!isfinite(v))
				continue;
			mc_buf_printf(b, "%s{", names[k]);
			horizon_label(b, h);
			mc_buf_printf(b, "} %.17g\n", v);
		}
	}
}

static void version_metrics(const mc_monitor_result *r, mc_buf *b)
{
	static const int g[5] = {G_MAE, G_RMSE, G_NAIVE_RMSE, G_ROWS, G_TRAIN_RMSE};
	static const char *const names[5] = {
		"milkcast_version_rolling_mae", "milkcast_version_rolling_rmse",
		"milkcast_version_naive_rmse", "milkcast_version_rolling_rows",
		"milkcast_training_test_rmse"};
	static const char *const helps[5] = {
		"MAE of one model version's forecasts in the current window.",
		"RMSE of one model version's forecasts in the current window.",
		"RMSE of the last value on the same rows as the version's forecasts.",
		"One model version's forecasts joined with published prices.",
		"The model version's own test RMSE from training."};
	for (int k = 0; k < 5; k++) {
		family(b, names[k], helps[k]);
		for (size_t i = 0; i < r->nversions; i++) {
			const mc_monitor_version *v = &r->versions[i];
			for (size_t h = g[k] == G_TRAIN_RMSE; h < v->nperf; h++) {
				double x = perf_value(&v->perf[h], g[k]);
				if (!isfinite(x))
					continue;
				mc_buf_printf(b, "%s{model_version=\"", names[k]);
				label(b, v->version);
				mc_buf_printf(b, "\",");
				horizon_label(b, h);
				mc_buf_printf(b, "} %.17g\n", x);
			}
		}
	}
	family(b, "milkcast_version_judged",
	       "1 for the model version whose forecasts the performance rules judge.");
	if (r->judged >= 0) {
		mc_buf_printf(b, "milkcast_version_judged{model_version=\"");
		label(b, r->versions[r->judged].version);
		mc_buf_printf(b, "\"} 1\n");
	}
}

static void health_metrics(const mc_monitor_result *r, mc_buf *b)
{
	family(b, "milkcast_last_ingested_date_seconds",
	       "The lake's last publication date up to the as-of date, seconds since the epoch.");
	sample(b, "milkcast_last_ingested_date_seconds", day_seconds(r->last_date));
	family(b, "milkcast_data_age_seconds",
	       "Time from the last publication to the day checked (whole days), seconds.");
	sample(b, "milkcast_data_age_seconds", (double)r->days_since * 86400.0);
	family(b, "milkcast_monitor_as_of_date_seconds", "The as-of date of the last monitor run.");
	sample(b, "milkcast_monitor_as_of_date_seconds", day_seconds(r->as_of));
	family(b, "milkcast_quarantined_rows", "Quarantined rows dated in each window.");
	if (r->quarantined_cur >= 0)
		mc_buf_printf(b,
			      "milkcast_quarantined_rows{window=\"current\"} %lld\n"
			      "milkcast_quarantined_rows{window=\"reference\"} %lld\n",
			      (long long)r->quarantined_cur, (long long)r->quarantined_ref);
	family(b, "milkcast_quarantined_share",
	       "Quarantined rows over quarantined plus lake rows, dated in each window.");
	const char *const win[2] = {"current", "reference"};
	const double share[2] = {r->quarantine_share_cur, r->quarantine_share_ref};
	for (int i = 0; i < 2; i++)
		if (isfinite(share[i]))
			mc_buf_printf(b, "milkcast_quarantined_share{window=\"%s\"} %.17g\n",
				      win[i], share[i]);
	family(b, "milkcast_silent_series",
	       "Series with prices in the reference window and none in the last publications.");
	sample(b, "milkcast_silent_series", (double)r->nsilent);
}

static void alert_metrics(const mc_monitor_result *r, mc_buf *b)
{
	family(b, "milkcast_alerts_fired", "1 when the alert rule fired on the last run.");
	for (int i = 0; i < MC_RULE_COUNT; i++)
		mc_buf_printf(b, "milkcast_alerts_fired{rule=\"%s\"} %d\n",
			      mc_monitor_rule_name((mc_monitor_rule_id)i),
			      r->rules[i].fired ? 1 : 0);
	family(b, "milkcast_alerts_firing", "Alert rules that fired on the last run.");
	mc_buf_printf(b, "milkcast_alerts_firing %zu\n", r->fired);
}

mc_code mc_monitor_prom(const mc_monitor_result *r, mc_buf *out, mc_error *err)
{
	size_t start = out->len;
	drift_metrics(r, out);
	perf_metrics(r, out);
	version_metrics(r, out);
	health_metrics(r, out);
	alert_metrics(r, out);
	if (!out->data) {
		out->len = start;
		return mc_fail(err, MC_ERR_NOMEM, "cannot build the metrics: out of memory");
	}
	return MC_OK;
}
