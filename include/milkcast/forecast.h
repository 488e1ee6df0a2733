/*
 * Training, the model bundle, and forecasts.
 *
 * Strategy: recursive by default, a one-step XGBoost model run forward over
 * a panel extended with its own forecasts; or direct, one model for every
 * horizon with the horizon as a feature.  Both learn the change from the
 * last observed price (features.h).  docs/forecasting.md explains the choice
 * and the measurements behind it.
 *
 * Time-ordered split of the publication dates up to `until`, by target date:
 * train (targets before the validation window), validation (search, early
 * stopping, fallback choice and interval calibration), test (the latest
 * dates; reported only).  The shipped model is then refit on every row up to
 * `until` with the chosen hyperparameters and number of rounds.
 */
#ifndef MILKCAST_FORECAST_H
#define MILKCAST_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/features.h"
#include "milkcast/metrics.h"
#include "milkcast/panel.h"
#include "milkcast/search.h"
#include "milkcast/table.h"
#include "milkcast/xgb.h"

#define MC_MAX_HORIZONS 12

typedef enum mc_strategy {
	MC_STRATEGY_RECURSIVE = 0, /* a one-step model run forward (the default) */
	MC_STRATEGY_DIRECT = 1,	   /* one model for every horizon, h a feature */
} mc_strategy;

typedef struct mc_train_opts {
	int32_t until;	       /* last date used (INT32_MAX = all) */
	int trials;	       /* search budget */
	mc_search_algo search; /* TPE or random */
	int horizons;	       /* 1..MC_MAX_HORIZONS */
	mc_strategy strategy;
	uint64_t seed;		   /* search and XGBoost seed */
	int threads;		   /* total threads (trials run two at a time) */
	const char *space_path;	   /* NULL = the built-in space */
	double valid_frac;	   /* share of dates for validation (0.15) */
	double test_frac;	   /* share of dates for the test (0.15) */
	double interval_level;	   /* 0.9 */
	int early_stopping_rounds; /* 20 */
	/* Called after every trial (from the thread that finished it, serialised). */
	void (*on_trial)(void *ud, int done, int total, double loss, double best);
	void *ud;
} mc_train_opts;

void mc_train_opts_init(mc_train_opts *o);

typedef struct mc_trial {
	int id;
	double *x;	    /* the space's parameter vector */
	char *params_json;  /* the same as JSON */
	double valid_rmse;  /* at the best iteration (NaN = failed) */
	int best_iteration; /* 0-based */
	double *curve;	    /* validation RMSE per boosting round */
	size_t curve_n;
	double seconds;	    /* wall time of the trial */
	double xgb_seconds; /* of which inside XGBoost */
} mc_trial;

/* How each horizon is forecast, and how well, on validation and test. */
typedef struct mc_horizon_report {
	int h;
	bool use_model;		 /* false: the bundle falls back to the last value */
	double weight;		 /* forecast = last + weight · (model − last), in [0, 1] */
	double valid_rmse_model; /* validation RMSE of the model */
	double valid_rmse_blend; /* and of the weighted forecast */
	double valid_rmse_naive; /* and of the last value, same rows */
	double q_lower, q_upper; /* interval: [pred - q_lower, pred + q_upper] */
	mc_metrics test_bundle;	 /* the bundle's forecast (model or fallback) */
	mc_metrics test_model;	 /* the model alone */
	mc_metrics test_naive;	 /* last value */
	mc_metrics test_ma4;	 /* mean of the last 4 publications */
	mc_metrics test_ma12;	 /* mean of the last 12 */
} mc_horizon_report;

/* Test metrics per (milk_type, channel) for the bundle and the last value. */
typedef struct mc_group_report {
	char milk_type[32], channel[32];
	mc_metrics bundle, naive;
} mc_group_report;

typedef struct mc_train_result {
	mc_trial *trials;
	size_t ntrials;
	size_t best; /* index into trials */
	int horizons;
	mc_horizon_report hz[MC_MAX_HORIZONS];
	mc_group_report *groups;
	size_t ngroups;
	int32_t train_to, valid_from, valid_to, test_from, test_to; /* target dates */
	size_t rows_train, rows_valid, rows_test;
	double mase_scale;
	double seconds;	    /* whole run, wall clock */
	double xgb_seconds; /* thread-seconds inside XGBoost (trials summed, plus the refit) */
	/*
	 * Share of the run spent inside XGBoost, in thread-seconds: xgb_seconds
	 * over workers × the search's wall time plus the wall time of the serial
	 * rest (features, evaluation, writing).  A worker waiting for its turn
	 * counts as time outside XGBoost.
	 */
	double xgb_share;
	/* Wall seconds of each stage: features and rows, search, evaluation, refit, writing. */
	double phase[5];
	char bundle_dir[4096];
	char data_sha256[65];
} mc_train_result;

/*
 * Train on the lake rows (lake schema) up to o->until and write the bundle
 * (model.ubj, bundle.json, snapshot.parquet) into a new directory under
 * models_dir, then point models_dir/latest at it.
 */
mc_code mc_train(const mc_table *lake_rows, const mc_train_opts *o, const char *models_dir,
		 mc_train_result **out, mc_error *err);
void mc_train_result_free(mc_train_result *r);

/* ---- bundles and forecasts ---- */

typedef struct mc_bundle mc_bundle;

/* Load a bundle directory; every file is checked, errors name the file and field. */
mc_code mc_bundle_load(const char *dir, mc_bundle **out, mc_error *err);
void mc_bundle_free(mc_bundle *b);
int mc_bundle_horizons(const mc_bundle *b);
double mc_bundle_level(const mc_bundle *b);
const char *mc_bundle_dir(const mc_bundle *b);
int32_t mc_bundle_until(const mc_bundle *b);
/* The shipped model's XGBoost parameters (model.params of bundle.json), for refits. */
mc_code mc_bundle_params(const mc_bundle *b, mc_xgb_params *p, mc_error *err);
/* The recent lake rows kept with the bundle (lake schema). */
const mc_table *mc_bundle_snapshot(const mc_bundle *b);

/*
 * Open a bundle from wherever it is: a directory, or the URI of a bundle in
 * an artifact store ("s3://bucket/prefix/models/bundle-...", "file:///dir/
 * models/bundle-..."), as the registry records it.  A URI is fetched into
 * cache_dir/<name>/ (the CLI uses <home>/cache/bundles), bundle.json last,
 * and reused while it is complete and came from the same URI; a cache
 * directory appears whole or not at all.  Either way the SHA-256 and size of
 * every file bundle.json lists under "files" are checked (bundles written
 * before the list are accepted unchecked), then the bundle is loaded as
 * mc_bundle_load does.  Errors name the URI, key or file.  Free with
 * mc_bundle_free.
 */
mc_code mc_bundle_open(const char *source, const char *cache_dir, mc_bundle **out, mc_error *err);

/*
 * Copy the bundle directory `dir` into the artifact store at store_uri
 * (MILKCAST_ARTIFACTS: s3://bucket/prefix, file:///dir or a path) under
 * models/<name>/: every file, each listed one checked against bundle.json,
 * and bundle.json last, so a reader that finds bundle.json finds the rest.
 * Publishing the same bundle again is a no-op; a different bundle under the
 * name is refused.  uri_out gets the bundle's URI ("<store>/models/<name>"),
 * for the registry and mc_bundle_open.
 */
mc_code mc_bundle_publish(const char *dir, const char *store_uri, char *uri_out, size_t cap,
			  mc_error *err);

typedef struct mc_forecast {
	size_t series; /* panel series */
	int h;	       /* 1 = the first publication after as_of */
	int steps;     /* publications from the origin to the target (the model's h) */
	int32_t as_of, origin, target;
	double last, price, lower, upper;
	double model_price;  /* the model's own forecast, even where the bundle falls back */
	double model_output; /* XGBoost's raw output for the row (a change in price) */
	bool from_model;     /* false: the last value (fallback horizon) */
} mc_forecast;

/*
 * Forecasts for every usable series of the panel as of `as_of`: the origin is
 * the last panel date ≤ as_of, targets the next `horizons` publication dates
 * after as_of (Mon/Wed/Fri) — or, when `use_panel_targets` and the panel
 * holds them, the panel's own next dates (backtests).  Caller frees *out.
 */
mc_code mc_bundle_forecast(const mc_bundle *b, const mc_panel *p, int32_t as_of, int horizons,
			   bool use_panel_targets, mc_forecast **out, size_t *n, mc_error *err);

/*
 * The same, also handing over the feature rows (n × mc_features_count()
 * floats, NaN = missing) in *features when it is not NULL; caller frees.
 */
mc_code mc_bundle_forecast_rows(const mc_bundle *b, const mc_panel *p, int32_t as_of, int horizons,
				bool use_panel_targets, mc_forecast **out, size_t *n,
				float **features, mc_error *err);

/* ---- backtests ---- */

typedef struct mc_backtest_opts {
	int32_t from, to; /* targets dated in [from, to] are scored */
	int horizons;	  /* 1..the bundle's */
	int refit;	  /* 0: the bundle's model throughout; k: refit every k origins */
	int threads;	  /* XGBoost threads for refits */
} mc_backtest_opts;

typedef struct mc_backtest_horizon {
	int h;
	bool use_model; /* the bundle's policy for h */
	mc_metrics bundle, model, naive, ma4, ma12;
} mc_backtest_horizon;

typedef struct mc_backtest_result {
	int horizons;
	mc_backtest_horizon hz[MC_MAX_HORIZONS];
	mc_metrics all_bundle, all_naive; /* every horizon pooled */
	size_t origins, refits;
	int32_t first_origin, last_origin;
	int32_t model_until; /* the bundle's training cut-off */
	bool in_sample;	     /* the model saw dates inside the window */
} mc_backtest_result;

/*
 * Rolling-origin evaluation: every publication before `to` whose forecasts
 * reach into [from, to] is an origin; each forecast is scored against the
 * published price, next to the last value and moving averages on the same
 * rows.  Features at an origin see only the lake up to it.
 */
mc_code mc_backtest(const mc_bundle *b, const mc_table *lake_rows, const mc_backtest_opts *o,
		    mc_backtest_result *out, mc_error *err);

#endif
