/* `milkcast train`: search, evaluate and write a model bundle. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/forecast_cli.h"
#include "milkcast/date.h"
#include "milkcast/forecast.h"
#include "milkcast/registry.h"
#include "milkcast/tracking.h"

static const mc_command_help help = {
	"milkcast train [options]",
	"Train the forecaster on the lake and write a model bundle.",
	"Builds leak-free features from the lake up to --until, splits the publication\n"
	"dates in time order into train / validation / test (the latest dates, reported\n"
	"only), runs the hyperparameter search (TPE as hyperopt 0.2.7, or random) with\n"
	"XGBoost trials two at a time, and compares the best model with the last value\n"
	"and moving averages on the same rows.  A horizon where the model does not beat\n"
	"the last value on validation falls back to it.  Intervals are calibrated on\n"
	"validation residuals (split conformal).  The model is then refit on every row\n"
	"up to --until and written with bundle.json and snapshot.parquet under\n"
	"HOME/models/ (HOME/models/latest points at it).  With MILKCAST_ARTIFACTS=\n"
	"s3://bucket/prefix (or file:///dir) the bundle is also uploaded there under\n"
	"models/NAME/, bundle.json last, and registered with that URI as its source.",
};

typedef struct trial_bar {
	mc_progress bar;
	const mc_ctx *ctx;
} trial_bar;

static void on_trial(void *ud, int done, int total, double loss, double best)
{
	trial_bar *tb = ud;
	(void)total;
	mc_progress_update(&tb->bar, done);
	mc_verbose(tb->ctx, "trial %d: validation RMSE %.4f (best %.4f)\n", done, loss, best);
}

static int trial_cmp(const void *a, const void *b)
{
	const mc_trial *x = *(const mc_trial *const *)a, *y = *(const mc_trial *const *)b;
	double lx = isnan(x->valid_rmse) ? INFINITY : x->valid_rmse;
	double ly = isnan(y->valid_rmse) ? INFINITY : y->valid_rmse;
	return (lx > ly) - (lx < ly);
}

static void print_leaderboard(const mc_ctx *ctx, const mc_train_result *r)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	const mc_trial **order = malloc(r->ntrials * sizeof *order);
	if (!order)
		return;
	for (size_t i = 0; i < r->ntrials; i++)
		order[i] = &r->trials[i];
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	qsort(order, r->ntrials, sizeof *order, trial_cmp);
	mc_info(ctx, "\nleaderboard (validation RMSE, MXN; %zu trials)\n", r->ntrials);
	mc_info(ctx, "  %-5s %-10s %-7s %-7s %s\n", "trial", "RMSE", "rounds", "seconds", "params");
	for (size_t i = 0; i < r->ntrials && i < 5; i++)
		mc_info(ctx, "  %-5d %-10.4f %-7d %-7.1f %s\n", order[i]->id + 1,
			order[i]->valid_rmse, order[i]->best_iteration + 1, order[i]->seconds,
			order[i]->params_json ? order[i]->params_json : "");
	free(order);
}

static void print_test(const mc_ctx *ctx, const mc_train_result *r, double level)
{
	char a[11], b[11];
	mc_date_format_iso(r->test_from, a);
	mc_date_format_iso(r->test_to, b);
	mc_info(ctx, "\ntest window %s to %s (%zu rows, never used for fitting or choosing)\n", a,
		b, r->rows_test);
	mc_info(ctx, "  %-2s %-10s %-9s %-9s %-9s %-9s %-8s %-7s %-8s\n", "h", "forecast", "RMSE",
		"naive", "MAE", "MAPE %", "MASE", "cover", "width");
	for (int h = 1; h <= r->horizons; h++) {
		const mc_horizon_report *hz = &r->hz[h - 1];
		const mc_metrics *m = &hz->test_bundle;
		mc_info(ctx, "  %-2d %-10s %-9.4f %-9.4f %-9.4f %-9.3f %-8.3f %-7.3f %-8.3f\n", h,
			hz->use_model ? "model" : "last value", m->rmse, hz->test_naive.rmse,
			m->mae, m->mape, m->mase, m->coverage, m->width);
	}
	mc_info(ctx, "  (cover: share of actual prices inside the %.0f%% interval)\n", level * 100);
	mc_info(ctx, "\nby milk type and channel, all horizons (test RMSE / MAE)\n");
	for (size_t i = 0; i < r->ngroups; i++) {
		const mc_group_report *g = &r->groups[i];
		mc_info(ctx, "  %-18s %-14s forecast %.4f / %.4f   last value %.4f / %.4f\n",
			g->milk_type, g->channel, g->bundle.rmse, g->bundle.mae, g->naive.rmse,
			g->naive.mae);
	}
}

static int parse_train_opts(int argc, char **argv, mc_ctx *ctx, mc_train_opts *o)
{
	const char *until = NULL, *search = NULL, *space = NULL, *strategy = NULL;
	long trials = o->trials, horizons = o->horizons, seed = (long)o->seed, threads = o->threads;
	const mc_option opts[] = {
		MC_OPT_STRING(0, "until", &until, "DATE", "train on lake data dated up to DATE"),
		MC_OPT_INT(0, "trials", &trials, "N", "search budget (default 25)"),
		MC_OPT_STRING(0, "search", &search, "ALGO", "tpe (default) or random"),
		MC_OPT_INT(0, "horizons", &horizons, "H", "publications ahead, 1-12 (default 6)"),
		MC_OPT_STRING(0, "strategy", &strategy, "S",
			      "recursive (default: a one-step model run forward) or direct (one "
			      "model, the horizon a feature)"),
		MC_OPT_INT(0, "seed", &seed, "S", "seed of the search and XGBoost (default 42)"),
		MC_OPT_INT(0, "threads", &threads, "T", "threads in all (default 2)"),
		MC_OPT_STRING(0, "space", &space, "FILE",
			      "search space JSON (default: data/search-space.json's, built in)"),
		MC_OPT_END(),
	};
	int prc = mc_parse_flags_only(argc, argv, opts, &help, ctx);
	if (prc >= 0)
		return prc;
	if (until && !mc_date_parse_iso(until, &o->until))
		return mc_usage_error(help.usage, "--until expects YYYY-MM-DD, got '%s'", until);
	if (search && strcmp(search, "tpe") && strcmp(search, "random"))
		return mc_usage_error(help.usage, "--search is tpe or random, not '%s'", search);
	o->search = search && !strcmp(search, "random") ? MC_SEARCH_RANDOM : MC_SEARCH_TPE;
	if (strategy && strcmp(strategy, "recursive") && strcmp(strategy, "direct"))
		return mc_usage_error(help.usage, "--strategy is recursive or direct, not '%s'",
				      strategy);
	o->strategy = strategy && !strcmp(strategy, "direct") ? MC_STRATEGY_DIRECT
							      : MC_STRATEGY_RECURSIVE;
	if (seed < 0)
		return mc_usage_error(help.usage, "--seed must be 0 or more");
	o->trials = (int)trials;
	o->horizons = (int)horizons;
	o->seed = (uint64_t)seed;
	o->threads = (int)threads;
	o->space_path = space;
	return -1;
}

/* Mean over horizons of the RMSE of a set of per-horizon metrics. */
static double mean_rmse(const mc_metrics *m, size_t stride, int horizons)
{
	double sum = 0;
	for (int h = 0; h < horizons; h++)
		sum += ((const mc_metrics *)((const char *)m + (size_t)h * stride))->rmse;
	return sum / horizons;
}

/*
 * Register the bundle as a new version; it becomes champion when there is
 * none or when it beats the champion on its own (most recent) test window,
 * by mean RMSE over the horizons, else challenger.  The champion is scored
 * with its parameters refit on the data before that window, the new version
 * with its model trained before its validation window: neither saw the test
 * window, and the champion has the more recent data.
 */
static mc_code register_version(mc_ctx *ctx, const char *run, const mc_train_result *r,
				const char *source, const mc_table *lake, char *said, size_t cap,
				mc_error *err)
{
	mc_version_info info = {source, run, r->data_sha256, MC_VERSION, NULL};
	int v, champ;
	mc_code rc = mc_registry_register(ctx->store, MC_MODEL_NAME, &info, &v, err);
	if (rc)
		return rc;
	mc_error e2 = MC_ERROR_INIT;
	if (mc_registry_alias(ctx->store, MC_MODEL_NAME, MC_ALIAS_CHAMPION, &champ, &e2)) {
		snprintf(said, cap, "version %d is the champion (the first)", v);
		return mc_registry_set_alias(ctx->store, MC_MODEL_NAME, MC_ALIAS_CHAMPION, v,
					     "first version", err);
	}
	char src[4200], cache[4200];
	mc_bundle *b = NULL;
	mc_backtest_result bt;
	mc_cli_bundle_cache(ctx, cache, sizeof cache);
	rc = mc_registry_source(ctx->store, MC_MODEL_NAME, champ, src, sizeof src, err);
	if (!rc)
		rc = mc_bundle_open(src, cache, &b, err);
	int H = 0;
	if (!rc) {
		H = r->horizons < mc_bundle_horizons(b) ? r->horizons : mc_bundle_horizons(b);
		/* Refit once, at the window's first origin, so the champion never saw it
		 * either (its bundle was refit on everything up to its cut-off). */
		mc_backtest_opts o = {r->test_from, r->test_to, H, 1 << 30, 2};
		rc = mc_backtest(b, lake, &o, &bt, err);
	}
	mc_bundle_free(b);
	if (rc)
		return mc_error_prefix(err, "cannot score the champion (version %d): ", champ);
	double mine = mean_rmse(&r->hz[0].test_bundle, sizeof r->hz[0], H);
	double theirs = mean_rmse(&bt.hz[0].bundle, sizeof bt.hz[0], H);
	char a[11], z[11], reason[256];
	mc_date_format_iso(r->test_from, a);
	mc_date_format_iso(r->test_to, z);
	bool better = mine < theirs;
	snprintf(reason, sizeof reason,
		 "%s champion version %d on %s..%s: mean RMSE over %d horizons %.4f vs %.4f",
		 better ? "beats" : "does not beat", champ, a, z, H, mine, theirs);
	snprintf(said, cap, "version %d %s (%s)", v,
		 better ? "is the new champion" : "is the challenger", reason);
	return mc_registry_set_alias(ctx->store, MC_MODEL_NAME,
				     better ? MC_ALIAS_CHAMPION : MC_ALIAS_CHALLENGER, v, reason,
				     err);
}

/* The search's run: RUNNING from the start, so an interrupted train is visible. */
static mc_code start_run(mc_ctx *ctx, const mc_train_opts *o, int64_t *exp, char *run,
			 mc_error *err)
{
	size_t stale;
	mc_code rc = mc_runs_mark_interrupted(ctx->store, &stale, err);
	if (!rc)
		rc = mc_experiment_ensure(ctx->store, "milkcast-forecast", exp, err);
	if (!rc)
		rc = mc_run_start(ctx->store, *exp, NULL, "train", run, err);
	char v[64], until[11] = "all";
	if (o->until != INT32_MAX)
		mc_date_format_iso(o->until, until);
	const struct {
		const char *k;
		const char *v;
	} text[] = {{"until", until},
		    {"search", o->search == MC_SEARCH_TPE ? "tpe" : "random"},
		    {"strategy", o->strategy == MC_STRATEGY_RECURSIVE ? "recursive" : "direct"},
		    {"space", o->space_path ? o->space_path : "built-in"}};
	for (size_t i = 0; i < sizeof text / sizeof *text && !rc; i++)
		rc = mc_run_log_param(ctx->store, run, text[i].k, text[i].v, err);
	const struct {
		const char *k;
		long long v;
	} num[] = {{"trials", o->trials},
		   {"horizons", o->horizons},
		   {"seed", (long long)o->seed},
		   {"threads", o->threads}};
	for (size_t i = 0; i < sizeof num / sizeof *num && !rc; i++) {
		snprintf(v, sizeof v, "%lld", num[i].v);
		rc = mc_run_log_param(ctx->store, run, num[i].k, v, err);
	}
	if (!rc)
		rc = mc_run_set_tag(ctx->store, run, "milkcast.command", "train", err);
	return rc;
}

/*
 * Where the registry will find the bundle: uploaded to $MILKCAST_ARTIFACTS
 * (complete, bundle.json last) and its URI, or the local directory as it is.
 */
static mc_code publish(const mc_train_result *r, char *source, size_t cap, mc_error *err)
{
	const char *store = getenv("MILKCAST_ARTIFACTS");
	if (!store || !store[0]) {
		snprintf(source, cap, "%s", r->bundle_dir);
		return MC_OK;
	}
	return mc_bundle_publish(r->bundle_dir, store, source, cap, err);
}

int cmd_train(int argc, char **argv, mc_ctx *ctx)
{
	mc_train_opts o;
	mc_train_opts_init(&o);
	int prc = parse_train_opts(argc, argv, ctx, &o);
	if (prc >= 0)
		return prc;
	mc_error err = MC_ERROR_INIT;
	mc_table *lake = NULL;
	if (mc_cli_read_lake(ctx, &lake, &err))
		return mc_die_error(&err);
	int64_t exp = 0;
	char run[MC_RUN_ID_LEN + 1] = "";
	if (mc_ctx_open_store(ctx) || start_run(ctx, &o, &exp, run, &err)) {
		mc_table_free(lake);
		return err.code ? mc_die_error(&err) : MC_EXIT_FAIL;
	}
	trial_bar tb = {.ctx = ctx};
	mc_progress_start(&tb.bar, ctx, "trials", o.trials);
	o.on_trial = on_trial;
	o.ud = &tb;
	char models[4200];
	snprintf(models, sizeof models, "%s/models", ctx->home);
	mc_train_result *r = NULL;
	mc_code rc = mc_train(lake, &o, models, &r, &err);
	mc_progress_finish(&tb.bar);
	char said[600] = "", source[4400] = "";
	/* The artifacts are complete before the version row, and that before its alias. */
	if (!rc)
		rc = publish(r, source, sizeof source, &err);
	if (!rc)
		rc = mc_train_log(ctx->store, exp, run, r, &err);
	if (!rc && strcmp(source, r->bundle_dir) != 0)
		rc = mc_run_set_tag(ctx->store, run, "milkcast.bundle_uri", source, &err);
	if (!rc)
		rc = mc_run_set_artifact_uri(ctx->store, run, source, &err);
	if (!rc)
		rc = register_version(ctx, run, r, source, lake, said, sizeof said, &err);
	mc_table_free(lake);
	if (rc) {
		mc_error e2 = MC_ERROR_INIT;
		mc_run_set_tag(ctx->store, run, "milkcast.error", err.msg, &e2);
		mc_run_end(ctx->store, run, MC_RUN_FAILED, &e2);
		if (r)
			mc_train_result_free(r);
		return mc_die_error(&err);
	}
	if (ctx->json) {
		char path[4300];
		snprintf(path, sizeof path, "%s/bundle.json", r->bundle_dir);
		json_t *meta = json_load_file(path, 0, NULL);
		json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:o}", "bundle", r->bundle_dir,
					"source", source, "run_id", run, "registry", said,
					"summary", meta ? meta : json_null());
		mc_print_json(out);
	} else {
		print_leaderboard(ctx, r);
		print_test(ctx, r, o.interval_level);
		mc_info(ctx, "\n%.1f s in all, %.0f%% of the threads' time inside XGBoost\n",
			r->seconds, 100 * r->xgb_share);
		mc_verbose(ctx,
			   "stages: features and rows %.2f s, search %.2f s, evaluation %.2f s, "
			   "refit %.2f s, writing %.2f s\n",
			   r->phase[0], r->phase[1], r->phase[2], r->phase[3], r->phase[4]);
		mc_info(ctx, "bundle written to %s\n", r->bundle_dir);
		if (strcmp(source, r->bundle_dir) != 0)
			mc_info(ctx, "bundle uploaded to %s\n", source);
		mc_info(ctx, "run %s ('milkcast runs show %s')\n", run, run);
		mc_info(ctx, "registry: %s\n", said);
	}
	mc_train_result_free(r);
	return MC_EXIT_OK;
}
