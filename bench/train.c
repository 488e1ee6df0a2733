/*
 * Benchmark: `mc_train()` end to end — 25 trials of TPE search, seed 42, two
 * threads, six horizons, on the shipped workbook up to 2024-12-31 — with the
 * share of the time spent inside XGBoost.  bench/run-train.sh runs it next to
 * bench/train_peer.py (pandas + xgboost + optuna) and prints the ratio.
 *
 * usage: bench_train WORKBOOK WORKDIR [CSV_OUT|-] [TRIALS] [direct|recursive]
 *
 * The strategy is direct unless asked (one model for every horizon, h a
 * feature); bench/run-train.sh asks for both, recursive (milkcast's default)
 * for the headline, and runs the peer with the same --strategy, so both sides
 * do the same work.
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

static void print_result(const mc_train_result *r, double wall, double cpu, int workers)
{
	double trial_sum = 0, trial_xgb = 0;
	size_t rounds = 0;
	for (size_t i = 0; i < r->ntrials; i++) {
		trial_sum += r->trials[i].seconds;
		trial_xgb += r->trials[i].xgb_seconds;
		rounds += r->trials[i].curve_n;
	}
	const double *ph = r->phase; /* features and rows, search, evaluation, refit, writing */
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
	printf("train_phases features %.3f s search %.3f s evaluate %.3f s refit %.3f s write "
	       "%.3f s\n",
	       ph[0], ph[1], ph[2], ph[3], ph[4]);
	printf("train_search_idle %.3f worker-s (%d workers x %.3f s search - trial time)\n",
	       workers * ph[1] - trial_sum, workers, ph[1]);
	printf("train_xgboost_seconds %.3f thread-s (trials %.3f, summed over workers; the rest "
	       "refit and evaluation)\n",
	       r->xgb_seconds, trial_xgb);
	printf("train_xgboost_share %.2f (XGBoost thread-s / (%d workers x search + the serial "
	       "rest), as mc_train_result)\n",
	       r->xgb_share, workers);
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
		fprintf(stderr, "usage: bench_train WORKBOOK WORKDIR [CSV_OUT|-] [TRIALS] "
				"[direct|recursive]\n");
		return 2;
	}
	mc_train_opts o;
	mc_train_opts_init(&o);
	if (!mc_date_parse_iso(UNTIL, &o.until))
		return 1;
	o.trials = argc > 4 ? atoi(argv[4]) : 25;
	o.search = MC_SEARCH_TPE;
	o.seed = SEED;
	o.threads = THREADS;
	o.horizons = HORIZONS;
	/* Direct unless asked; bench/run-train.sh passes the strategy to both sides. */
	bool recursive = argc > 5 && !strcmp(argv[5], "recursive");
	o.strategy = recursive ? MC_STRATEGY_RECURSIVE : MC_STRATEGY_DIRECT;

	mc_error err = MC_ERROR_INIT;
	char *home = mc_path_join(argv[2], "home");
	char *models = mc_path_join(home, "models");
	mc_table *lake = NULL;
	if (load_lake(home, argv[1], argc > 3 ? argv[3] : NULL, &lake, &err))
		return die(&err);
	printf("train_lake_rows %zu\n", lake->nrows);
	printf("train_strategy %s\n", recursive ? "recursive" : "direct");

	mc_train_result *r = NULL;
	double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = now_s();
	mc_code rc = mc_train(lake, &o, models, &r, &err);
	double t1 = now_s(), cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	if (rc)
		return die(&err);
	/* As mc_train runs the trials: two at a time when it has two threads. */
	print_result(r, t1 - t0, cpu, o.threads >= 2 && o.trials >= 2 ? 2 : 1);

	mc_train_result_free(r);
	mc_table_free(lake);
	free(models);
	free(home);
	return 0;
}
