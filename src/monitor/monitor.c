/* A monitoring run: windows, drift, performance, health, rules; the result's lifetime. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/lake.h"
#include "milkcast/registry.h"
#include "monitor/monitor_int.h"

void mc_monitor_opts_init(mc_monitor_opts *o)
{
	memset(o, 0, sizeof *o);
	o->as_of = o->today = INT32_MIN;
	o->ref_from = o->ref_to = o->cur_from = o->cur_to = INT32_MIN;
	o->reference_days = MC_MONITOR_REFERENCE_DAYS;
	o->current_days = MC_MONITOR_CURRENT_DAYS;
	o->drift = (mc_drift_options)MC_DRIFT_OPTIONS_INIT;
	o->rmse_tolerance = MC_MONITOR_RMSE_TOLERANCE;
	o->naive_publications = MC_MONITOR_NAIVE_PUBLICATIONS;
	o->min_rows = MC_MONITOR_MIN_ROWS;
	o->stale_days = MC_MONITOR_STALE_DAYS;
	o->silent_publications = MC_MONITOR_SILENT_PUBLICATIONS;
	o->quarantine_share = MC_MONITOR_QUARANTINE_SHARE;
	o->quarantine_ratio = MC_MONITOR_QUARANTINE_RATIO;
	o->model_name = MC_MODEL_NAME;
}

static mc_code check_opts(const mc_monitor_opts *o, mc_error *err)
{
	if (o->reference_days < 1 || o->current_days < 1)
		return mc_fail(err, MC_ERR_INVALID, "window lengths must be at least one day");
	if (o->naive_publications < 1 || o->silent_publications < 1)
		return mc_fail(err, MC_ERR_INVALID, "publication counts must be at least 1");
	if (!(o->rmse_tolerance >= 0) || o->stale_days < 0)
		return mc_fail(err, MC_ERR_INVALID,
			       "the RMSE tolerance and stale days must be >= 0");
	if (!(o->quarantine_share >= 0 && o->quarantine_share < 1) || !(o->quarantine_ratio >= 0))
		return mc_fail(err, MC_ERR_INVALID,
			       "the quarantine share must be in [0, 1) and the ratio >= 0");
	if (o->model_version &&
	    (!o->model_version[0] ||
	     strlen(o->model_version) >= sizeof(((mc_monitor_version *)0)->version)))
		return mc_fail(err, MC_ERR_INVALID, "the model version must be 1 to 47 bytes");
	return MC_OK;
}

static void result_init(mc_monitor_result *r, const mc_monitor_opts *o)
{
	r->opts = *o;
	r->opts.columns = NULL;
	r->opts.ncolumns = 0;
	r->opts.predictions_dir = NULL;
	r->opts.model_name = NULL;
	r->opts.model_version = NULL;
	snprintf(r->version_filter, sizeof r->version_filter, "%s",
		 o->model_version ? o->model_version : "");
	r->judged = -1;
	r->share = r->drift_share = NAN;
	r->quarantine_share_cur = r->quarantine_share_ref = NAN;
	for (int h = 0; h <= MC_MAX_HORIZONS; h++)
		r->perf[h].train_mae = r->perf[h].train_rmse = r->perf[h].train_naive_rmse = NAN;
	mc_now_iso(r->generated_at, sizeof r->generated_at);
}

mc_code mc_monitor_run(const mc_table *lake, mc_store *store, const mc_monitor_opts *o,
		       mc_monitor_result **out, mc_error *err)
{
	*out = NULL;
	mc_code rc = check_opts(o, err);
	if (rc)
		return rc;
	if (mc_lake_check_schema(lake, "the lake", err))
		return err->code;
	mc_monitor_result *r = calloc(1, sizeof *r);
	if (!r)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	result_init(r, o);
	mon_rows rows;
	rc = mon_windows(lake, o, r, &rows, err);
	if (rc) {
		mc_monitor_result_free(r);
		return rc;
	}
	rc = mon_drift(lake, &rows, o, r, err);
	if (!rc)
		rc = mon_champion(store, o, r, err);
	if (!rc)
		rc = mon_performance(lake, o, r, err);
	if (!rc)
		rc = mon_version_metrics(store, o, r, err);
	if (!rc)
		rc = mon_health(lake, &rows, store, o, r, err);
	if (!rc)
		rc = mon_rules(r, err);
	mon_rows_release(&rows);
	if (rc) {
		mc_monitor_result_free(r);
		return rc;
	}
	*out = r;
	return MC_OK;
}

void mc_monitor_result_free(mc_monitor_result *r)
{
	if (!r)
		return;
	for (size_t c = 0; c < r->ncols; c++) {
		free(r->cols[c].name);
		mc_drift_histogram_release(&r->cols[c].hist);
	}
	free(r->cols);
	free(r->points);
	for (size_t i = 0; i < r->nsilent; i++) {
		free(r->silent[i].state);
		free(r->silent[i].city);
		free(r->silent[i].milk_type);
		free(r->silent[i].channel);
	}
	free(r->silent);
	free(r->versions);
	for (size_t i = 0; i < r->nsources; i++)
		free(r->sources[i].source);
	free(r->sources);
	for (int i = 0; i < MC_RULE_COUNT; i++)
		free(r->rules[i].details);
	free(r);
}

void mc_monitor_report_paths(mc_monitor_result *r, const char *report_dir, const char *prom_path)
{
	char d[11];
	mc_date_format_iso(r->as_of, d);
	snprintf(r->json_path, sizeof r->json_path, "%s/%s.json", report_dir, d);
	snprintf(r->html_path, sizeof r->html_path, "%s/%s.html", report_dir, d);
	snprintf(r->prom_path, sizeof r->prom_path, "%s", prom_path ? prom_path : "");
}

/* The directory part of path (mkdir -p'd). */
static mc_code parent_dir(const char *path, mc_error *err)
{
	char dir[4200];
	if ((size_t)snprintf(dir, sizeof dir, "%s", path) >= sizeof dir)
		return mc_fail(err, MC_ERR_INVALID, "report path too long: %.80s...", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return MC_OK;
	*slash = '\0';
	return mc_mkdirs(dir, err);
}

static mc_code write_text(const char *path,
			  mc_code (*fn)(const mc_monitor_result *, mc_buf *, mc_error *),
			  const mc_monitor_result *r, mc_error *err)
{
	mc_buf b = MC_BUF_INIT;
	mc_code rc = parent_dir(path, err);
	if (!rc)
		rc = fn(r, &b, err);
	if (!rc)
		rc = mc_write_file_atomic(path, b.data, b.len, err);
	mc_buf_release(&b);
	return rc;
}

mc_code mc_monitor_write(const mc_monitor_result *r, mc_error *err)
{
	if (!r->json_path[0] || !r->html_path[0])
		return mc_fail(err, MC_ERR_INVALID, "no report path: call mc_monitor_report_paths");
	char latest[4300];
	snprintf(latest, sizeof latest, "%s", r->json_path);
	char *slash = strrchr(latest, '/');
	snprintf(slash ? slash + 1 : latest,
		 sizeof latest - (size_t)(slash ? slash + 1 - latest : 0), "latest.json");
	mc_code rc = write_text(r->json_path, mc_monitor_json, r, err);
	if (!rc)
		rc = write_text(r->html_path, mc_monitor_html, r, err);
	if (!rc)
		rc = write_text(latest, mc_monitor_json, r, err);
	if (!rc && r->prom_path[0])
		rc = write_text(r->prom_path, mc_monitor_prom, r, err);
	return rc;
}
