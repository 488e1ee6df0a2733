/*
 * Experiment tracking in milkcast.db with MLflow's data model: experiments,
 * runs (a parent per search, a child per trial), params (immutable once
 * logged), metrics (key, value, step, timestamp in ms, full history) and tags.
 * Keys follow MLflow's rule: at most 250 characters of letters, digits and
 * `_ - . / space`.  Run ids are 32 hex characters, like MLflow's.
 */
#ifndef MILKCAST_TRACKING_H
#define MILKCAST_TRACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/store.h"

#define MC_RUN_ID_LEN 32
#define MC_KEY_MAX 250

/* Run states, as MLflow names them. */
#define MC_RUN_RUNNING "RUNNING"
#define MC_RUN_FINISHED "FINISHED"
#define MC_RUN_FAILED "FAILED"
#define MC_RUN_KILLED "KILLED"

/* Whether key is a valid param, metric or tag key (MLflow's rule). */
bool mc_tracking_key_valid(const char *key);

/* The experiment's id, created when it does not exist. */
mc_code mc_experiment_ensure(mc_store *s, const char *name, int64_t *id, mc_error *err);

/* A new RUNNING run; parent NULL for a top-level run. id gets 32 hex + NUL. */
mc_code mc_run_start(mc_store *s, int64_t experiment, const char *parent, const char *name,
		     char id[MC_RUN_ID_LEN + 1], mc_error *err);
/* Set the final status (FINISHED, FAILED, KILLED) and end time. */
mc_code mc_run_end(mc_store *s, const char *run, const char *status, mc_error *err);

/* Where the run's artifacts are (a directory or an artifact-store URI), as MLflow's artifact_uri.
 */
mc_code mc_run_set_artifact_uri(mc_store *s, const char *run, const char *uri, mc_error *err);

/* A param; logging the same key again with another value is an error (MLflow's rule). */
mc_code mc_run_log_param(mc_store *s, const char *run, const char *key, const char *value,
			 mc_error *err);
/* One metric value at a step (NaN and infinities are kept, as MLflow does). */
mc_code mc_run_log_metric(mc_store *s, const char *run, const char *key, double value, int64_t step,
			  int64_t timestamp_ms, mc_error *err);
/* A tag (set again: replaced). */
mc_code mc_run_set_tag(mc_store *s, const char *run, const char *key, const char *value,
		       mc_error *err);

/* Tags naming the code: milkcast's version and git commit (also as MLflow's
 * mlflow.source.git.commit), XGBoost's, SQLite's, jansson's and libcurl's versions. */
mc_code mc_run_tag_lineage(mc_store *s, const char *run, mc_error *err);

/* Milliseconds since the epoch. */
int64_t mc_now_ms(void);

/*
 * Runs still RUNNING whose process is gone are marked FAILED (with the tag
 * milkcast.error = "interrupted"); returns how many.  Call before starting runs.
 */
mc_code mc_runs_mark_interrupted(mc_store *s, size_t *n, mc_error *err);

/*
 * After a training run: a FINISHED child run per trial under `run` (params,
 * the validation curve per boosting round, the trial's result), the test
 * metrics per horizon and the lineage tags on `run`, then `run` FINISHED.
 * One transaction.
 */
struct mc_train_result;
mc_code mc_train_log(mc_store *s, int64_t experiment, const char *run,
		     const struct mc_train_result *r, mc_error *err);

/*
 * After a backtest: its params (window, horizons, refit, the bundle), the
 * metrics per horizon for the bundle, the model alone, the last value and the
 * moving averages, the lineage tags, then `run` FINISHED.  One transaction.
 */
struct mc_backtest_result;
mc_code mc_backtest_log(mc_store *s, const char *run, const struct mc_backtest_result *r,
			mc_error *err);

#endif
