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

enum { G_MAE, G_RMSE, G_BIAS, G_NAIVE_MAE, G_NAIVE_RMSE, G_TRAIN_RMSE, G_COUNT };

static double perf_value(const mc_monitor_perf *p, int g)
{
	switch (g) {
	case G_MAE: return p->mae;
	case G_RMSE: return p->rmse;
	case G_BIAS: return p->bias;
	case G_NAIVE_MAE: return p->naive_mae;
	case G_NAIVE_RMSE: return p->naive_rmse;
	default: return p->train_rmse;
	}
}

static void perf_metrics(const mc_monitor_result *r, mc_buf *b)
{
	static const char *const names[G_COUNT] = {
		"milkcast_rolling_mae", "milkcast_rolling_rmse", "milkcast_rolling_bias",
		"milkcast_naive_mae",	"milkcast_naive_rmse",	 "milkcast_training_test_rmse"};
	static const char *const helps[G_COUNT] = {
		"MAE of the logged forecasts in the current window.",
		"RMSE of the logged forecasts in the current window.",
		"Mean forecast minus actual in the current window.",
		"MAE of the last value on the same rows.",
		"RMSE of the last value on the same rows.",
		"The champion's test RMSE from training."};
	for (int k = 0; k < G_COUNT; k++) {
		family(b, names[k], helps[k]);
		for (size_t h = 0; h < r->nperf; h++) {
			double v = perf_value(&r->perf[h], k);
			if (!isfinite(v))
				continue;
			if (h)
				mc_buf_printf(b, "%s{horizon=\"%zu\"} %.17g\n", names[k], h, v);
			else
				mc_buf_printf(b, "%s{horizon=\"all\"} %.17g\n", names[k], v);
		}
	}
	family(b, "milkcast_rolling_rows", "Forecasts joined with published prices, by horizon.");
	for (size_t h = 0; h < r->nperf; h++) {
		char hz[16];
		snprintf(hz, sizeof hz, h ? "%zu" : "all", h);
		mc_buf_printf(b, "milkcast_rolling_rows{horizon=\"%s\"} %zu\n", hz, r->perf[h].n);
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
	health_metrics(r, out);
	alert_metrics(r, out);
	if (!out->data) {
		out->len = start;
		return mc_fail(err, MC_ERR_NOMEM, "cannot build the metrics: out of memory");
	}
	return MC_OK;
}
