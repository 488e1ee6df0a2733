/*
 * Benchmark: `mc_train()` end to end — 25 trials of TPE search, seed 42, two
 * threads, six horizons, on the shipped workbook up to 2024-12-31 — with the
 * share of the time spent inside XGBoost.  bench/run-train.sh runs it next to
 * bench/train_peer.py (pandas + xgboost + optuna) and prints the ratio.
 *
 * usage: bench_train WORKBOOK WORKDIR [CSV_OUT|-] [TRIALS]
 *
 * The workbook is ingested into WORKDIR/home (created; the caller removes
 * WORKDIR) and read back from the lake; CSV_OUT gets the same lake rows for
 * the peer.  Neither is timed.  The clock runs around mc_train() only:
 * panel, features, split, search, evaluation, refit and the bundle written
 * under WORKDIR/home/models.  Prints one "name value [note]" line per
 * measure.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milkcast/date.h"
#include "milkcast/forecast.h"
#include "milkcast/fsutil.h"
#include "milkcast/ingest.h"
#include "milkcast/lake.h"
#include "milkcast/lake_stats.h"
#include "milkcast/store.h"

#define UNTIL "2024-12-31"
#define THREADS 2
#define HORIZONS 6
#define SEED 42

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static int die(const mc_error *err)
{
	fprintf(stderr, "bench_train: %s\n", err->msg);
	return 1;
}

/* When each trial finished and with what loss (on_trial calls are serialised). */
typedef struct trial_log {
	int n, cap;
	double *at, *loss;
} trial_log;

static void on_trial(void *ud, int done, int total, double loss, double best)
{
	(void)done;
	(void)best;
	trial_log *log = ud;
	if (log->n < log->cap && log->n < total) {
		log->at[log->n] = now_s();
		log->loss[log->n] = loss;
		log->n++;
	}
}

/*
 * When the search started and ended.  It ends with the last trial's callback;
 * it started when the first trial to finish began: that trial is found by its
 * loss (the callback does not name it) and its own wall time subtracted.
 * *tail: from the last-but-one trial's end to the last one's, when a worker
 * has nothing left to run.
 */
static void search_window(const trial_log *log, const mc_train_result *r, double *from, double *to,
			  double *tail)
{
	*from = *to = NAN;
	*tail = 0;
	if (log->n == 0)
		return;
	*to = log->at[log->n - 1];
	if (log->n >= 2)
		*tail = log->at[log->n - 1] - log->at[log->n - 2];
	for (int k = 0; k < log->n; k++)
		for (size_t i = 0; i < r->ntrials; i++) {
			const mc_trial *t = &r->trials[i];
			bool same = t->valid_rmse == log->loss[k] ||
				    (isnan(t->valid_rmse) && isnan(log->loss[k]));
			double start = log->at[k] - t->seconds;
			if (same && (isnan(*from) || start < *from))
				*from = start;
		}
}

/* Ingest the workbook into home, read the lake back, optionally write it as CSV. */
static mc_code load_lake(const char *home, const char *workbook, const char *csv, mc_table **out,
			 mc_error *err)
{
	mc_store *s = NULL;
	mc_lake *l = NULL;
	mc_ingest_opts o;
	mc_ingest_opts_init(&o);
	mc_ingest_summary sum;
	mc_code rc = mc_mkdirs(home, err);
	if (!rc)
		rc = mc_store_open(home, &s, err);
	if (!rc)
		rc = mc_lake_open(home, &l, err);
	if (!rc)
		rc = mc_ingest(s, l, &workbook, 1, &o, &sum, err);
	if (!rc)
		rc = mc_lake_read(l, INT32_MIN, INT32_MAX, out, err);
	if (!rc && csv && strcmp(csv, "-"))
		rc = mc_lake_write_csv(*out, csv, err);
	mc_lake_free(l);
	mc_store_free(s);
	return rc;
}

static void print_result(const mc_train_result *r, double wall, double cpu, const trial_log *log,
			 double t0, double t1, int threads)
{
	int workers = threads >= 2 && r->ntrials >= 2 ? 2 : 1; /* as mc_train runs them */
	double trial_sum = 0, trial_xgb = 0;
	size_t rounds = 0;
	for (size_t i = 0; i < r->ntrials; i++) {
		trial_sum += r->trials[i].seconds;
		trial_xgb += r->trials[i].xgb_seconds;
		rounds += r->trials[i].curve_n;
	}
	double refit_xgb = r->xgb_seconds - trial_xgb;
	/* Core-seconds inside XGBoost: each trial holds threads / workers
	 * threads, the refit all of them. */
	double xgb_core = trial_xgb * (threads / workers) + refit_xgb * threads;
	double from, to, tail;
	search_window(log, r, &from, &to, &tail);
	const mc_trial *best = &r->trials[r->best];

	printf("train_rows train %zu valid %zu test %zu (series x origin x horizon)\n",
	       r->rows_train, r->rows_valid, r->rows_test);
	char d[4][11];
	mc_date_format_iso(r->valid_from, d[0]);
	mc_date_format_iso(r->valid_to, d[1]);
	mc_date_format_iso(r->test_from, d[2]);
	mc_date_format_iso(r->test_to, d[3]);
	printf("train_split valid %s..%s test %s..%s (target dates)\n", d[0], d[1], d[2], d[3]);
	printf("train_trials %zu\n", r->ntrials);
	printf("train_seconds %.3f s (mc_train end to end, bundle written; cpu %.3f s)\n", wall,
	       cpu);
	printf("train_seconds_per_trial %.3f s (end to end / trials)\n", wall / (double)r->ntrials);
	printf("train_trial_seconds_mean %.3f s (one trial's own wall time, %d at a time)\n",
	       trial_sum / (double)r->ntrials, workers);
	printf("train_rounds %zu (boosting rounds trained in all trials)\n", rounds);
	printf("train_ms_per_round %.2f ms (trial wall time / rounds)\n",
	       rounds ? 1e3 * trial_sum / (double)rounds : NAN);
	printf("train_phases features %.3f s search %.3f s after %.3f s (evaluate, refit, "
	       "bundle)\n",
	       from - t0, to - from, t1 - to);
	printf("train_search_idle %.3f worker-s (%d workers x %.3f s - trial time; %.3f s of it "
	       "after the last-but-one trial ended)\n",
	       workers * (to - from) - trial_sum, workers, to - from, tail);
	printf("train_xgboost_seconds trials %.3f s (summed over %d workers) refit %.3f s\n",
	       trial_xgb, workers, refit_xgb);
	printf("train_xgboost_share %.2f (XGBoost core-seconds %.2f / (%d cores x %.2f s))\n",
	       xgb_core / (threads * wall), xgb_core, threads, wall);
	printf("train_xgboost_share_summed %.2f (mc_train_result xgb_seconds / seconds, as "
	       "'milkcast train' prints it)\n",
	       r->seconds > 0 ? r->xgb_seconds / r->seconds : NAN);
	printf("train_best_valid_rmse %.5f (trial %d, %d rounds: %s)\n", best->valid_rmse, best->id,
	       best->best_iteration + 1, best->params_json ? best->params_json : "?");
	printf("train_test_rmse");
	for (int h = 0; h < r->horizons; h++)
		printf(" h%d %.4f/%.4f", h + 1, r->hz[h].test_bundle.rmse,
		       r->hz[h].test_naive.rmse);
	printf(" (bundle/last value)\n");
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_train WORKBOOK WORKDIR [CSV_OUT|-] [TRIALS]\n");
		return 2;
	}
	mc_error err = MC_ERROR_INIT;
	char *home = mc_path_join(argv[2], "home");
	char *models = mc_path_join(home, "models");
	mc_table *lake = NULL;
	if (load_lake(home, argv[1], argc > 3 ? argv[3] : NULL, &lake, &err))
		return die(&err);
	printf("train_lake_rows %zu\n", lake->nrows);

	mc_train_opts o;
	mc_train_opts_init(&o);
	if (!mc_date_parse_iso(UNTIL, &o.until))
		return 1;
	o.trials = argc > 4 ? atoi(argv[4]) : 25;
	o.search = MC_SEARCH_TPE;
	o.seed = SEED;
	o.threads = THREADS;
	o.horizons = HORIZONS;
	trial_log log = {0, o.trials, calloc((size_t)o.trials + 1, sizeof(double)),
			 calloc((size_t)o.trials + 1, sizeof(double))};
	o.on_trial = on_trial;
	o.ud = &log;

	mc_train_result *r = NULL;
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = now_s();
	mc_code rc = mc_train(lake, &o, models, &r, &err);
	double t1 = now_s(), cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (rc)
		return die(&err);
	print_result(r, t1 - t0, cpu, &log, t0, t1, o.threads);

	mc_train_result_free(r);
	mc_table_free(lake);
	free(log.at);
	free(log.loss);
	free(models);
	free(home);
	return 0;
}
