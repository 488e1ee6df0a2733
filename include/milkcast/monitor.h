/*
 * Monitoring: is the data still like the data the model learnt from, is the
 * model still as good as its test said, is the data still arriving?  One
 * run compares a reference window of the lake with a current window and
 * yields an mc_monitor_result: data drift per column (drift.h) and dataset
 * drift, forecast performance of the logged predictions against the prices
 * published since, data health, and the alert rules that fired.  The result
 * is then sent as alerts (alert.h) and written as reports: a JSON summary, a
 * self-contained HTML page and a Prometheus textfile-collector file.
 *
 * Ownership: mc_monitor_run() / mc_monitor_result_free().  The library never
 * prints; docs/internals/monitor.md describes every number.
 */
#ifndef MILKCAST_MONITOR_H
#define MILKCAST_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/alert.h"
#include "milkcast/buf.h"
#include "milkcast/drift.h"
#include "milkcast/error.h"
#include "milkcast/forecast.h"
#include "milkcast/panel.h"
#include "milkcast/store.h"
#include "milkcast/table.h"

/* Window lengths in days. */
#define MC_MONITOR_REFERENCE_DAYS 180
#define MC_MONITOR_CURRENT_DAYS 30
/* Rule defaults (documented in docs/user-guide.md). */
#define MC_MONITOR_RMSE_TOLERANCE 0.25
#define MC_MONITOR_NAIVE_PUBLICATIONS 10
#define MC_MONITOR_MIN_ROWS 20
#define MC_MONITOR_STALE_DAYS 7
#define MC_MONITOR_SILENT_PUBLICATIONS 5
#define MC_MONITOR_QUARANTINE_SHARE 0.01 /* quarantine_spike: share of the current rows, */
#define MC_MONITOR_QUARANTINE_RATIO 3.0	 /* and this many times the reference share */
/* Files listed per window in the quarantine breakdown. */
#define MC_MONITOR_QUARANTINE_SOURCES 5
/* Categories drawn per categorical chart; the rest are one "other" bar. */
#define MC_MONITOR_TOP_CATEGORIES 15

/* The rules, in report order. */
typedef enum mc_monitor_rule_id {
	MC_RULE_DATASET_DRIFT,
	MC_RULE_RMSE_DEGRADED,
	MC_RULE_WORSE_THAN_NAIVE,
	MC_RULE_DATA_STALE,
	MC_RULE_QUARANTINE_SPIKE,
	MC_RULE_COUNT
} mc_monitor_rule_id;

/* "dataset_drift", "rmse_degraded", "worse_than_naive", "data_stale", "quarantine_spike". */
const char *mc_monitor_rule_name(mc_monitor_rule_id id);

typedef struct mc_monitor_opts {
	int32_t as_of;		    /* INT32_MIN: the lake's last date */
	int32_t today;		    /* staleness is measured to it; INT32_MIN: the real today */
	int reference_days;	    /* reference = (as_of - current - reference, as_of - current] */
	int current_days;	    /* current = (as_of - current, as_of] */
	int32_t ref_from, ref_to;   /* explicit reference window (inclusive); INT32_MIN = derived */
	int32_t cur_from, cur_to;   /* explicit current window; INT32_MIN = derived */
	const char *const *columns; /* names to test (mc_monitor_column_known); NULL = defaults */
	size_t ncolumns;
	mc_drift_options drift;	 /* tests, threshold, drift share (skip_empty is forced on) */
	double rmse_tolerance;	 /* rmse_degraded: RMSE > training test RMSE * (1 + this) */
	int naive_publications;	 /* worse_than_naive: over the last K publications */
	size_t min_rows;	 /* rows a performance rule needs before it may fire */
	int stale_days;		 /* data_stale: more days than this since the last publication */
	int silent_publications; /* a series is silent: no price in the last N publications */
	double quarantine_share; /* quarantine_spike: the current window's quarantined share above
				    this ... */
	double quarantine_ratio; /* ... and above this many times the reference window's */
	const char *predictions_dir; /* *.jsonl prediction logs; NULL = none */
	const char *model_name;	     /* registered model whose champion is judged (MC_MODEL_NAME) */
	const char *model_version;   /* score only this version's forecasts, and judge them; NULL =
					every version, the champion's judged */
} mc_monitor_opts;

void mc_monitor_opts_init(mc_monitor_opts *o);

/*
 * Columns: the data columns "price" (numeric), "state", "city", "milk_type",
 * "channel" (categorical) and the model's features as "f_NAME" (features.h
 * names).  The default list is the data columns and the features computed
 * from prices (every feature but the calendar ones, h, days_ahead,
 * target_weekday and target_month, whose distributions follow the choice of
 * windows, and the category codes, which repeat the data columns).
 */
bool mc_monitor_column_known(const char *name);
/* The default list (static strings); *n gets its length. */
const char *const *mc_monitor_default_columns(size_t *n);

typedef struct mc_monitor_window {
	int32_t from, to; /* inclusive */
	size_t rows;	  /* city rows of the lake in it */
	size_t dates;	  /* distinct publication dates */
} mc_monitor_window;

typedef struct mc_monitor_column {
	char *name;
	bool feature; /* a model feature (f_*) */
	bool skipped; /* a window has no value: not tested */
	mc_drift_result r;
	mc_drift_histogram hist; /* nbins 0 when skipped */
} mc_monitor_column;

/* Errors of one group of joined predictions; NAN where undefined. */
typedef struct mc_monitor_perf {
	int h; /* 0 = every horizon pooled */
	size_t n;
	double mae, rmse, mape, bias;
	double naive_mae, naive_rmse, naive_mape, naive_bias; /* last_price, same rows */
	double train_mae, train_rmse, train_naive_rmse; /* the version's test metrics (h > 0) */
} mc_monitor_perf;

/* The forecasts of one model version, scored as the pooled ones are. */
typedef struct mc_monitor_version {
	char version[48]; /* model_version as logged ("" = lines without one) */
	char run_id[40];  /* its training run ("" = not a version of the registered model) */
	bool champion;	  /* the registry's champion */
	bool judged;	  /* rmse_degraded and worse_than_naive judge these forecasts */
	size_t forecasts; /* distinct forecasts logged (scored or not) */
	size_t nperf;	  /* perf[0] pooled, perf[h] horizon h; train_* from its own run */
	mc_monitor_perf perf[MC_MAX_HORIZONS + 1];
	mc_monitor_perf last_k; /* targets on the last K publications */
} mc_monitor_version;

/* Quarantined rows of one source file dated in a window. */
typedef struct mc_monitor_source {
	char *source;
	int64_t rows;
} mc_monitor_source;

/* Pooled errors of the predictions for one target date. */
typedef struct mc_monitor_point {
	int32_t date;
	size_t n;
	double mae, naive_mae;
} mc_monitor_point;

/* A silent series: prices in the reference window, none in the last publications. */
typedef struct mc_monitor_silent {
	char *state, *city, *milk_type, *channel;
	int32_t last_price_date; /* 0 = none up to as_of */
} mc_monitor_silent;

typedef struct mc_monitor_rule {
	mc_monitor_rule_id id;
	bool evaluated; /* false: not enough data to judge */
	bool fired;
	mc_alert_severity severity;
	char title[256];
	char *details; /* malloc'd; NULL when not fired */
	/* delivery, filled by mc_monitor_send_alerts */
	bool sent;
	mc_alert_outcome outcome;
	mc_code send_code;
	char send_error[MC_ERRMSG_MAX];
} mc_monitor_rule;

typedef struct mc_monitor_result {
	int32_t as_of, today;
	mc_monitor_window ref, cur;
	mc_monitor_opts opts; /* as used (columns and directory pointers not kept) */
	char generated_at[32];
	/* the champion, when the registry has one */
	char model_name[64], model_version[32], run_id[40];
	char model_source[4096];
	/* data drift */
	size_t ncols;
	mc_monitor_column *cols;
	size_t n_tested, n_drifted;
	double share, drift_share;
	bool dataset_drift;
	/* forecast performance */
	size_t pred_files, pred_lines, pred_bad, pred_unique, pred_duplicates, pred_joined;
	size_t pred_other_versions;	    /* distinct forecasts left out by opts.model_version */
	char pred_bad_first[MC_ERRMSG_MAX]; /* where the first bad line is ("" = none) */
	char version_filter[48];	    /* opts.model_version ("" = every version) */
	/* every version pooled (or the filtered one); no training metrics */
	size_t nperf; /* perf[0]: every horizon pooled; perf[h], h < nperf: horizon h (n may be 0)
		       */
	mc_monitor_perf perf[MC_MAX_HORIZONS + 1];
	mc_monitor_perf last_k; /* pooled, targets on the last K publications */
	int32_t last_k_from;	/* the first of those dates (0 = none) */
	/* per version: numeric versions ascending, then the others by name; the judged one
	 * (the filter, else the champion) is listed even without forecasts */
	size_t nversions;
	mc_monitor_version *versions;
	int judged; /* index in versions; -1: no champion, the rules judge every forecast */
	size_t npoints;
	mc_monitor_point *points; /* by target date, ascending */
	/* data health */
	int32_t first_date, last_date;		  /* the lake's publications up to as_of */
	int days_since;				  /* today - last_date */
	int64_t quarantined_cur, quarantined_ref; /* distinct rows; -1 = no database */
	size_t lake_rows_cur, lake_rows_ref;	  /* lake rows of every kind in each window */
	double quarantine_share_cur, quarantine_share_ref; /* q / (q + lake rows); NAN: no db */
	size_t nsources;				   /* the current window's top files */
	mc_monitor_source *sources;
	size_t series_ref; /* city series with a price in the reference */
	size_t nsilent;
	mc_monitor_silent *silent;
	/* rules */
	mc_monitor_rule rules[MC_RULE_COUNT];
	size_t fired;
	/* where the reports are (set by mc_monitor_report_paths) */
	char json_path[4200], html_path[4200], prom_path[4200];
} mc_monitor_result;

/*
 * One monitoring run over `lake` (the whole lake, lake schema; only city
 * rows are judged) and the workspace database `store` (nullable: no
 * quarantine counts, no champion, no training metrics).  Errors: a window
 * that is empty or inverted (MC_ERR_EMPTY / MC_ERR_INVALID, naming the
 * window and its dates), an unknown column (MC_ERR_INVALID), an unreadable
 * prediction log (MC_ERR_IO naming the file).  Bad lines in a log are
 * counted, not errors.
 */
mc_code mc_monitor_run(const mc_table *lake, mc_store *store, const mc_monitor_opts *o,
		       mc_monitor_result **out, mc_error *err);
void mc_monitor_result_free(mc_monitor_result *r);

/* DIR/AS_OF.json, DIR/AS_OF.html into r->json_path, r->html_path; prom into r->prom_path. */
void mc_monitor_report_paths(mc_monitor_result *r, const char *report_dir, const char *prom_path);

/*
 * Send one alert per fired rule through `a`, linking r->html_path, and
 * record each outcome in the rule.  A failed delivery is recorded, not
 * returned: MC_OK unless an alert was invalid.
 */
mc_code mc_monitor_send_alerts(mc_monitor_result *r, mc_alerter *a, mc_error *err);

/* The reports as text (appended to out). */
mc_code mc_monitor_json(const mc_monitor_result *r, mc_buf *out, mc_error *err);
mc_code mc_monitor_html(const mc_monitor_result *r, mc_buf *out, mc_error *err);
mc_code mc_monitor_prom(const mc_monitor_result *r, mc_buf *out, mc_error *err);

/*
 * Write r->json_path, r->html_path and latest.json beside them, and
 * r->prom_path, each atomically (directories created).
 */
mc_code mc_monitor_write(const mc_monitor_result *r, mc_error *err);

/* ---- the batch prediction log ---- */

/*
 * Append forecasts to DIR/batch-AS_OF.jsonl in the serving log's line
 * format (src/serve/predlog.c) with route "batch": time, route,
 * series{state,city,milk_type,channel}, as_of, origin, horizon, target_date,
 * price, lower, upper, last_price, model_version.  One write(2) with
 * O_APPEND; the directory is created.
 */
mc_code mc_monitor_log_batch(const char *dir, const mc_panel *p, const mc_forecast *f, size_t n,
			     int32_t as_of, const char *model_version, mc_error *err);

/*
 * The registry version (decimal) of `model_name` whose source is the bundle
 * directory `dir` (compared through realpath), else dir's last component.
 * store may be NULL.
 */
void mc_monitor_model_version(mc_store *store, const char *model_name, const char *dir, char *out,
			      size_t cap);

#endif
