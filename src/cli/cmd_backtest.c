/* `milkcast backtest`: rolling-origin evaluation of a model against the baselines. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/forecast_cli.h"
#include "milkcast/date.h"
#include "milkcast/tracking.h"

static const mc_command_help help = {
	"milkcast backtest --from DATE --to DATE [options]",
	"Score forecasts made at every publication against what was published.",
	"Every publication before --to whose forecasts land in [--from, --to] is an\n"
	"origin; features at an origin see only the lake up to it.  The model is the\n"
	"bundle's, trained once (train it with --until before --from for an honest\n"
	"test), or refit every K origins with --refit K on everything published up to\n"
	"the origin.  Prints RMSE and MAE per horizon for the model, the last value and\n"
	"moving averages of 4 and 12 publications, scored on the same rows, and the\n"
	"coverage of the prediction interval.  Everything is logged as a run named\n"
	"'backtest' in the experiment milkcast-forecast ('milkcast runs list').",
};

/* The backtest's run, with its parameters; RUNNING until the scores are logged. */
static mc_code start_run(mc_ctx *ctx, const mc_backtest_opts *o, const char *bundle, char *run,
			 mc_error *err)
{
	int64_t exp;
	size_t stale;
	mc_code rc = mc_runs_mark_interrupted(ctx->store, &stale, err);
	if (!rc)
		rc = mc_experiment_ensure(ctx->store, "milkcast-forecast", &exp, err);
	if (!rc)
		rc = mc_run_start(ctx->store, exp, NULL, "backtest", run, err);
	char from[11], to[11], h[16], k[16], t[16];
	mc_date_format_iso(o->from, from);
	mc_date_format_iso(o->to, to);
	snprintf(h, sizeof h, "%d", o->horizons);
	snprintf(k, sizeof k, "%d", o->refit);
	snprintf(t, sizeof t, "%d", o->threads);
	const char *params[][2] = {{"from", from}, {"to", to},	   {"horizons", h},
				   {"refit", k},   {"threads", t}, {"bundle", bundle}};
	for (size_t i = 0; i < sizeof params / sizeof *params && !rc; i++)
		rc = mc_run_log_param(ctx->store, run, params[i][0], params[i][1], err);
	if (!rc)
		rc = mc_run_set_tag(ctx->store, run, "milkcast.command", "backtest", err);
	if (!rc)
		rc = mc_run_set_tag(ctx->store, run, "milkcast.bundle", bundle, err);
	return rc;
}

static void fail_run(mc_ctx *ctx, const char *run, const mc_error *err)
{
	mc_error e2 = MC_ERROR_INIT;
	mc_run_set_tag(ctx->store, run, "milkcast.error", err->msg, &e2);
	mc_run_end(ctx->store, run, MC_RUN_FAILED, &e2);
}

/* JSON has no NaN: a metric over no rows is null. */
static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *metrics_json(const mc_metrics *m)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)m->n, "mae",
			 num(m->mae), "rmse", num(m->rmse), "mape", num(m->mape), "smape",
			 num(m->smape), "mase", num(m->mase), "coverage", num(m->coverage), "width",
			 num(m->width));
}

static void print_json(const mc_backtest_result *r, const char *run)
{
	json_t *hz = json_array();
	for (int h = 1; h <= r->horizons; h++) {
		const mc_backtest_horizon *x = &r->hz[h - 1];
		json_array_append_new(
			hz, json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:o}", "h", h, "forecast",
				      x->use_model ? "model" : "last_value", "bundle",
				      metrics_json(&x->bundle), "model", metrics_json(&x->model),
				      "last_value", metrics_json(&x->naive), "moving_average_4",
				      metrics_json(&x->ma4), "moving_average_12",
				      metrics_json(&x->ma12)));
	}
	char f[11], l[11], u[11];
	mc_date_format_iso(r->first_origin, f);
	mc_date_format_iso(r->last_origin, l);
	mc_date_format_iso(r->model_until, u);
	mc_print_json(json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:s, s:s, s:s, s:b}", "run_id", run,
				"horizons", hz, "all_bundle", metrics_json(&r->all_bundle),
				"all_last_value", metrics_json(&r->all_naive), "origins",
				(json_int_t)r->origins, "refits", (json_int_t)r->refits,
				"first_origin", f, "last_origin", l, "model_until", u, "in_sample",
				r->in_sample));
}

static void print_table(const mc_ctx *ctx, const mc_backtest_result *r, const char *from,
			const char *to)
{
	char f[11], l[11], u[11];
	mc_date_format_iso(r->first_origin, f);
	mc_date_format_iso(r->last_origin, l);
	mc_date_format_iso(r->model_until, u);
	mc_info(ctx,
		"backtest of targets %s to %s: %zu origins (%s to %s), model trained to %s%s\n",
		from, to, r->origins, f, l, u,
		r->refits ? "" : (r->in_sample ? " (IN SAMPLE: it saw this window)" : ""));
	if (r->refits)
		mc_info(ctx, "refit %zu times\n", r->refits);
	mc_info(ctx, "\nRMSE, MXN per litre (lower is better)\n");
	mc_info(ctx, "  %-2s %-6s %-10s %-9s %-9s %-9s %-9s %-7s %-7s\n", "h", "rows", "forecast",
		"bundle", "model", "last", "MA4", "MA12", "cover");
	for (int h = 1; h <= r->horizons; h++) {
		const mc_backtest_horizon *x = &r->hz[h - 1];
		mc_info(ctx, "  %-2d %-6zu %-10s %-9.4f %-9.4f %-9.4f %-9.4f %-7.4f %-7.3f\n", h,
			x->bundle.n, x->use_model ? "model" : "last value", x->bundle.rmse,
			x->model.rmse, x->naive.rmse, x->ma4.rmse, x->ma12.rmse,
			x->bundle.coverage);
	}
	mc_info(ctx, "\nMAE: bundle %.4f, last value %.4f; MASE %.3f; MAPE %.3f%%; sMAPE %.3f%%\n",
		r->all_bundle.mae, r->all_naive.mae, r->all_bundle.mase, r->all_bundle.mape,
		r->all_bundle.smape);
	mc_info(ctx, "(bundle: the model where it beat the last value on validation, else the "
		     "last value; cover: share inside the interval)\n");
}

int cmd_backtest(int argc, char **argv, mc_ctx *ctx)
{
	const char *from = NULL, *to = NULL, *model = NULL;
	long horizons = 0, refit = 0, threads = 2;
	const mc_option opts[] = {
		MC_OPT_STRING(0, "from", &from, "DATE", "first target date scored"),
		MC_OPT_STRING(0, "to", &to, "DATE", "last target date scored"),
		MC_OPT_INT(0, "horizons", &horizons, "H",
			   "publications ahead (default: the model's)"),
		MC_OPT_STRING(0, "model", &model, "DIR", "bundle (default HOME/models/latest)"),
		MC_OPT_INT(0, "refit", &refit, "K", "refit the model every K origins (0 = never)"),
		MC_OPT_INT(0, "threads", &threads, "T", "XGBoost threads for refits (default 2)"),
		MC_OPT_END(),
	};
	int prc = mc_parse_flags_only(argc, argv, opts, &help, ctx);
	if (prc >= 0)
		return prc;
	mc_backtest_opts o = {.refit = (int)refit, .threads = (int)threads};
	if (!from || !mc_date_parse_iso(from, &o.from))
		return mc_usage_error(help.usage, "--from YYYY-MM-DD is required");
	if (!to || !mc_date_parse_iso(to, &o.to))
		return mc_usage_error(help.usage, "--to YYYY-MM-DD is required");
	mc_error err = MC_ERROR_INIT;
	mc_bundle *b = NULL;
	mc_table *lake = NULL;
	mc_backtest_result r;
	char run[MC_RUN_ID_LEN + 1] = "";
	mc_code rc = mc_cli_load_bundle(ctx, model, &b, &err);
	if (!rc)
		rc = mc_cli_read_lake(ctx, &lake, &err);
	if (!rc) {
		o.horizons = horizons ? (int)horizons : mc_bundle_horizons(b);
		/* The bundle's real directory, not the `latest` link that moves on. */
		char *real = realpath(mc_bundle_dir(b), NULL);
		rc = mc_ctx_open_store(ctx)
			     ? mc_fail(&err, MC_ERR_DB, "cannot open milkcast.db")
			     : start_run(ctx, &o, real ? real : mc_bundle_dir(b), run, &err);
		free(real);
	}
	if (!rc) {
		rc = mc_backtest(b, lake, &o, &r, &err);
		if (!rc)
			rc = mc_backtest_log(ctx->store, run, &r, &err);
		if (rc)
			fail_run(ctx, run, &err);
	}
	if (!rc && ctx->json)
		print_json(&r, run);
	else if (!rc) {
		print_table(ctx, &r, from, to);
		mc_info(ctx, "run %s ('milkcast runs show %s')\n", run, run);
	}
	mc_table_free(lake);
	mc_bundle_free(b);
	return rc ? mc_die_error(&err) : MC_EXIT_OK;
}
