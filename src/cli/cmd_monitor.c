/* `milkcast monitor`: data drift, forecast performance, data health, alerts and reports. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/forecast_cli.h"
#include "milkcast/date.h"
#include "milkcast/monitor.h"

/* Exit status when an alert rule fired (documented in docs/user-guide.md). */
#define MC_EXIT_ALERT 3

static const mc_command_help help = {
	"milkcast monitor [--as-of DATE] [--reference 180d] [--current 30d] [options]",
	"Compare recent data and forecasts with the past; report and alert.",
	"Windows: current = (as-of - current, as-of], reference = the days before it\n"
	"(or dates given with --reference-from/--reference-to/--current-from/--current-to);\n"
	"--as-of defaults to the lake's last publication.  Tests each column (price, state,\n"
	"city, milk_type, channel and the model's features as f_NAME) for drift, scores the\n"
	"logged forecasts (HOME/predictions/*.jsonl) against the prices published since\n"
	"next to the last value, pooled and per model version next to that version's own\n"
	"test metrics (--model-version N: that version only), checks data health, and\n"
	"judges the rules:\n"
	"  dataset_drift     the share of drifted columns reaches --drift-share (0.5)\n"
	"  rmse_degraded     a horizon's RMSE is above the training test RMSE by more than\n"
	"                    --rmse-tolerance percent (25), with --min-rows forecasts (20)\n"
	"  worse_than_naive  the model's RMSE is above the last value's over the last\n"
	"                    --naive-publications publications (10), with --min-rows forecasts\n"
	"                    (both judge the champion's forecasts, or --model-version's)\n"
	"  data_stale        more than --stale-days days (7) since the last publication,\n"
	"                    counted to --today (default: --as-of when given, else today)\n"
	"  quarantine_spike  the current window's quarantined share of rows is above\n"
	"                    --quarantine-share percent (1) and --quarantine-ratio (3) times\n"
	"                    the reference window's\n"
	"Each fired rule is sent as an alert (Telegram and/or webhook, from the\n"
	"MILKCAST_TELEGRAM_* and MILKCAST_ALERT_* variables; --no-alerts: none), at most once\n"
	"per MILKCAST_ALERT_WINDOW (24h).  Writes HOME/reports/monitoring/AS_OF.json,\n"
	"AS_OF.html and latest.json, and HOME/metrics/milkcast_monitor.prom.\n"
	"Exit status: 0 healthy, 3 an alert rule fired, 1 failure, 2 usage error.",
};

typedef struct monitor_args {
	const char *as_of, *today, *reference, *current;
	const char *ref_from, *ref_to, *cur_from, *cur_to;
	const char *num_test, *cat_test, *threshold, *drift_share, *rmse_tolerance;
	const char *quarantine_share, *quarantine_ratio, *model_version;
	long naive_publications, min_rows, stale_days, silent_publications;
	mc_strlist columns;
	bool no_alerts;
} monitor_args;

/* ---- option values ---- */

/* "180d", "26w" or "180": days. */
static bool parse_days(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	long mult = !*end ? 1 : !strcmp(end, "d") ? 1 : !strcmp(end, "w") ? 7 : 0;
	if (errno || end == s || !mult || v < 1 || v > 100000)
		return false;
	*out = (int)(v * mult);
	return true;
}

static bool parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*end == '%' && !end[1])
		end++;
	if (errno || end == s || *end || !isfinite(v))
		return false;
	*out = v;
	return true;
}

static int date_opt(const char *name, const char *value, int32_t *out)
{
	if (!value)
		return 0;
	if (mc_date_parse_iso(value, out))
		return 0;
	return mc_usage_error(help.usage, "--%s expects a date YYYY-MM-DD, got '%s'", name, value);
}

static int dates(const monitor_args *a, mc_monitor_opts *o)
{
	int rc = date_opt("as-of", a->as_of, &o->as_of);
	if (!rc)
		rc = date_opt("today", a->today, &o->today);
	if (!rc)
		rc = date_opt("reference-from", a->ref_from, &o->ref_from);
	if (!rc)
		rc = date_opt("reference-to", a->ref_to, &o->ref_to);
	if (!rc)
		rc = date_opt("current-from", a->cur_from, &o->cur_from);
	if (!rc)
		rc = date_opt("current-to", a->cur_to, &o->cur_to);
	if (!rc && a->as_of && !a->today)
		o->today = o->as_of; /* a replay: staleness as of that day */
	return rc;
}

static int windows(const monitor_args *a, mc_monitor_opts *o)
{
	if (a->reference && !parse_days(a->reference, &o->reference_days))
		return mc_usage_error(help.usage,
				      "--reference expects days such as 180d or 26w, got '%s'",
				      a->reference);
	if (a->current && !parse_days(a->current, &o->current_days))
		return mc_usage_error(help.usage,
				      "--current expects days such as 30d or 4w, got '%s'",
				      a->current);
	return 0;
}

static int drift_opts(const monitor_args *a, mc_monitor_opts *o)
{
	const char *tests[2] = {a->num_test, a->cat_test};
	for (int i = 0; i < 2; i++)
		if (tests[i] && !mc_drift_test_known(tests[i]))
			return mc_usage_error(
				help.usage,
				"unknown drift test '%s' (ks, wasserstein, "
				"jensenshannon, chisquare, z, psi, kl_div, hellinger)",
				tests[i]);
	o->drift.num_test = a->num_test;
	o->drift.cat_test = a->cat_test;
	if (a->threshold &&
	    !(parse_double(a->threshold, &o->drift.threshold) && o->drift.threshold > 0))
		return mc_usage_error(help.usage, "--threshold expects a positive number, got '%s'",
				      a->threshold);
	if (a->drift_share && !(parse_double(a->drift_share, &o->drift.drift_share) &&
				o->drift.drift_share > 0 && o->drift.drift_share <= 1))
		return mc_usage_error(help.usage,
				      "--drift-share expects a number in (0, 1], got '%s'",
				      a->drift_share);
	return 0;
}

static int quarantine_opts(const monitor_args *a, mc_monitor_opts *o)
{
	double pct = 100 * MC_MONITOR_QUARANTINE_SHARE;
	if (a->quarantine_share &&
	    !(parse_double(a->quarantine_share, &pct) && pct >= 0 && pct < 100))
		return mc_usage_error(
			help.usage, "--quarantine-share expects a percentage in [0, 100), got '%s'",
			a->quarantine_share);
	o->quarantine_share = pct / 100;
	if (a->quarantine_ratio &&
	    !(parse_double(a->quarantine_ratio, &o->quarantine_ratio) && o->quarantine_ratio >= 0))
		return mc_usage_error(help.usage,
				      "--quarantine-ratio expects a number >= 0, got '%s'",
				      a->quarantine_ratio);
	return 0;
}

static int version_opt(const monitor_args *a, mc_monitor_opts *o)
{
	if (!a->model_version)
		return 0;
	size_t n = strlen(a->model_version);
	bool ok = n > 0 && n < 48;
	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)a->model_version[i] >= 0x20;
	if (!ok)
		return mc_usage_error(help.usage,
				      "--model-version expects a version as logged (1 to 47 "
				      "printable bytes), got '%s'",
				      a->model_version);
	o->model_version = a->model_version;
	return 0;
}

static int rule_opts(const monitor_args *a, mc_monitor_opts *o)
{
	double pct = 100 * MC_MONITOR_RMSE_TOLERANCE;
	if (a->rmse_tolerance && !(parse_double(a->rmse_tolerance, &pct) && pct >= 0))
		return mc_usage_error(help.usage,
				      "--rmse-tolerance expects a percentage >= 0, got '%s'",
				      a->rmse_tolerance);
	o->rmse_tolerance = pct / 100;
	const long v[4] = {a->naive_publications, a->min_rows, a->stale_days,
			   a->silent_publications};
	static const char *const names[4] = {"naive-publications", "min-rows", "stale-days",
					     "silent-publications"};
	for (int i = 0; i < 4; i++)
		if (v[i] < (i == 2 ? 0 : 1) || v[i] > 1000000)
			return mc_usage_error(help.usage, "--%s must be %s, got %ld", names[i],
					      i == 2 ? "0 or more" : "at least 1", v[i]);
	o->naive_publications = (int)a->naive_publications;
	o->min_rows = (size_t)a->min_rows;
	o->stale_days = (int)a->stale_days;
	o->silent_publications = (int)a->silent_publications;
	return quarantine_opts(a, o);
}

/* --columns a,b --columns c: split on commas into `store` (caller frees). */
static int columns(const monitor_args *a, mc_monitor_opts *o, char **copy, const char ***list)
{
	size_t total = 0;
	for (int i = 0; i < a->columns.n; i++)
		total += strlen(a->columns.items[i]) + 1;
	if (a->columns.n <= 0)
		return 0;
	*copy = malloc(total);
	*list = malloc(total * sizeof **list);
	if (!*copy || !*list)
		return mc_usage_error(help.usage, "out of memory");
	char *p = *copy;
	size_t n = 0;
	for (int i = 0; i < a->columns.n; i++) {
		strcpy(p, a->columns.items[i]);
		for (char *tok = strtok(p, ","); tok; tok = strtok(NULL, ","))
			if (*tok)
				(*list)[n++] = tok;
		p += strlen(a->columns.items[i]) + 1;
	}
	for (size_t i = 0; i < n; i++)
		if (!mc_monitor_column_known((*list)[i]))
			return mc_usage_error(help.usage,
					      "unknown column '%s': price, state, city, milk_type, "
					      "channel or f_NAME of a model feature",
					      (*list)[i]);
	if (!n)
		return mc_usage_error(help.usage, "--columns names no column");
	o->columns = *list;
	o->ncolumns = n;
	return 0;
}

static int parse(int argc, char **argv, mc_ctx *ctx, monitor_args *a)
{
	const mc_option opts[] = {
		MC_OPT_STRING(0, "as-of", &a->as_of, "DATE",
			      "monitor as if today were DATE (default: the lake's last date)"),
		MC_OPT_STRING(0, "reference", &a->reference, "DAYS",
			      "reference window length, e.g. 180d or 26w (180d)"),
		MC_OPT_STRING(0, "current", &a->current, "DAYS", "current window length (30d)"),
		MC_OPT_STRING(0, "reference-from", &a->ref_from, "DATE", "reference window start"),
		MC_OPT_STRING(0, "reference-to", &a->ref_to, "DATE", "reference window end"),
		MC_OPT_STRING(0, "current-from", &a->cur_from, "DATE", "current window start"),
		MC_OPT_STRING(0, "current-to", &a->cur_to, "DATE",
			      "current window end (and the default --as-of)"),
		MC_OPT_LIST(0, "columns", &a->columns, "LIST",
			    "columns to test, comma-separated (default: the data columns and the "
			    "price features)"),
		MC_OPT_STRING(0, "num-test", &a->num_test, "TEST",
			      "test for numeric columns (default: Evidently's rule)"),
		MC_OPT_STRING(0, "cat-test", &a->cat_test, "TEST", "test for categorical columns"),
		MC_OPT_STRING(0, "threshold", &a->threshold, "X", "drift threshold of every test"),
		MC_OPT_STRING(0, "drift-share", &a->drift_share, "X",
			      "share of drifted columns that is dataset drift (0.5)"),
		MC_OPT_STRING(0, "rmse-tolerance", &a->rmse_tolerance, "PCT",
			      "rmse_degraded: percent above the training test RMSE (25)"),
		MC_OPT_INT(0, "naive-publications", &a->naive_publications, "K",
			   "worse_than_naive: over the last K publications (10)"),
		MC_OPT_INT(0, "min-rows", &a->min_rows, "N",
			   "forecasts a performance rule needs (20)"),
		MC_OPT_INT(0, "stale-days", &a->stale_days, "N",
			   "data_stale: days without a publication (7)"),
		MC_OPT_INT(0, "silent-publications", &a->silent_publications, "N",
			   "a series without a price in the last N publications is silent (5)"),
		MC_OPT_STRING(0, "quarantine-share", &a->quarantine_share, "PCT",
			      "quarantine_spike: percent of the current rows quarantined (1)"),
		MC_OPT_STRING(0, "quarantine-ratio", &a->quarantine_ratio, "K",
			      "quarantine_spike: and K times the reference share (3)"),
		MC_OPT_STRING(0, "model-version", &a->model_version, "N",
			      "score and judge only this model version's forecasts"),
		MC_OPT_STRING(0, "today", &a->today, "DATE",
			      "count the data's age to DATE (default: --as-of, else today)"),
		MC_OPT_FLAG(0, "no-alerts", &a->no_alerts, "judge the rules, send nothing"),
		MC_OPT_END(),
	};
	int prc = mc_parse_flags_only(argc, argv, opts, &help, ctx);
	if (prc >= 0)
		return prc;
	return -1;
}

static int options(const monitor_args *a, mc_monitor_opts *o, char **copy, const char ***list)
{
	int rc = dates(a, o);
	if (!rc)
		rc = windows(a, o);
	if (!rc)
		rc = drift_opts(a, o);
	if (!rc)
		rc = rule_opts(a, o);
	if (!rc)
		rc = version_opt(a, o);
	if (!rc)
		rc = columns(a, o, copy, list);
	return rc;
}

/* ---- alerts ---- */

static void alert_log(void *user, const char *line)
{
	mc_verbose(user, "alert: %s\n", line);
}

static mc_code send_alerts(mc_ctx *ctx, mc_monitor_result *r, mc_error *err)
{
	mc_alert_config cfg;
	mc_code rc = mc_alert_config_from_env(&cfg, err);
	cfg.log = alert_log;
	cfg.log_user = ctx;
	mc_alerter *al = NULL;
	if (!rc)
		rc = mc_alerter_open(&cfg, ctx->store, &al, err);
	if (!rc)
		rc = mc_monitor_send_alerts(r, al, err);
	mc_alerter_free(al);
	if (rc)
		mc_error_prefix(err, "alerts not sent: ");
	return rc;
}

/* ---- output ---- */

static void print_delivery(const mc_ctx *ctx, const mc_monitor_rule *rule)
{
	if (!rule->sent) {
		mc_info(ctx, " (not sent)\n");
		return;
	}
	if (rule->outcome.logged_only) {
		mc_info(ctx, " (no alert channel configured)\n");
		return;
	}
	for (int ch = 0; ch < MC_ALERT_NCHANNELS; ch++) {
		const mc_alert_delivery *d = &rule->outcome.channel[ch];
		if (d->status != MC_ALERT_NOT_CONFIGURED)
			mc_info(ctx, " [%s: %s]", mc_alert_channel_name((mc_alert_channel)ch),
				mc_alert_status_name(d->status));
	}
	mc_info(ctx, "\n");
	if (rule->send_code)
		fprintf(stderr, "milkcast: warning: alert %s: %s\n", mc_monitor_rule_name(rule->id),
			rule->send_error);
}

static void print_drift(const mc_ctx *ctx, const mc_monitor_result *r)
{
	mc_info(ctx, "data drift:  %zu of %zu columns drifted (share %.2f): %s", r->n_drifted,
		r->n_tested, r->share, r->dataset_drift ? "DATASET DRIFT" : "no dataset drift");
	const char *sep = "; ";
	for (size_t c = 0; c < r->ncols; c++)
		if (!r->cols[c].skipped && r->cols[c].r.drift) {
			mc_info(ctx, "%s%s", sep, r->cols[c].name);
			sep = ", ";
		}
	mc_info(ctx, "\n");
}

static void print_horizons(const mc_ctx *ctx, const mc_monitor_perf *perf, size_t nperf,
			   bool training, const char *indent)
{
	for (size_t h = 1; h < nperf; h++) {
		const mc_monitor_perf *p = &perf[h];
		if (!p->n)
			continue;
		mc_info(ctx, "%sh%zu: %zu forecasts, MAE %.4f, RMSE %.4f (last value %.4f", indent,
			h, p->n, p->mae, p->rmse, p->naive_rmse);
		if (training)
			mc_info(ctx, "; training test %.4f", p->train_rmse);
		mc_info(ctx, ")\n");
	}
}

static void print_perf(const mc_ctx *ctx, const mc_monitor_result *r)
{
	mc_info(ctx,
		"performance: %zu distinct forecasts (%zu repeats), %zu with a published price "
		"in the current window\n",
		r->pred_unique, r->pred_duplicates, r->pred_joined);
	if (r->version_filter[0])
		mc_info(ctx, "  model version %s only (%zu forecasts of other versions left out)\n",
			r->version_filter, r->pred_other_versions);
	print_horizons(ctx, r->perf, r->nperf, false, "  ");
	for (size_t i = 0; i < r->nversions; i++) {
		const mc_monitor_version *v = &r->versions[i];
		mc_info(ctx, "  version %s%s%s: %zu forecasts scored\n",
			v->version[0] ? v->version : "(none)", v->champion ? ", champion" : "",
			v->judged ? ", judged by the rules" : "", v->perf[0].n);
		print_horizons(ctx, v->perf, v->nperf, true, "    ");
	}
	if (r->judged < 0)
		mc_info(ctx, "  no champion: the rules judge every forecast\n");
}

static void print_text(const mc_ctx *ctx, const mc_monitor_result *r)
{
	char a[11], rf[11], rt[11], cf[11], ct[11], last[11];
	mc_date_format_iso(r->as_of, a);
	mc_date_format_iso(r->ref.from, rf);
	mc_date_format_iso(r->ref.to, rt);
	mc_date_format_iso(r->cur.from, cf);
	mc_date_format_iso(r->cur.to, ct);
	mc_date_format_iso(r->last_date, last);
	mc_info(ctx,
		"monitoring as of %s: reference %s .. %s (%zu rows), current %s .. %s (%zu rows)\n",
		a, rf, rt, r->ref.rows, cf, ct, r->cur.rows);
	print_drift(ctx, r);
	print_perf(ctx, r);
	mc_info(ctx, "health:      last publication %s (%d days), %zu silent series", last,
		r->days_since, r->nsilent);
	if (r->quarantined_cur >= 0)
		mc_info(ctx, ", quarantined %.2f%% of the current rows (reference %.2f%%)",
			100 * r->quarantine_share_cur, 100 * r->quarantine_share_ref);
	mc_info(ctx, "\n");
	for (int i = 0; i < MC_RULE_COUNT; i++)
		if (r->rules[i].fired) {
			mc_info(ctx, "ALERT %s: %s", mc_monitor_rule_name(r->rules[i].id),
				r->rules[i].title);
			print_delivery(ctx, &r->rules[i]);
		}
	mc_info(ctx, "%s\nreport:  %s\nsummary: %s\nmetrics: %s\n",
		r->fired ? "status: alert" : "status: healthy", r->html_path, r->json_path,
		r->prom_path);
}

static void print_json(const mc_monitor_result *r)
{
	json_t *fired = json_array();
	for (int i = 0; fired && i < MC_RULE_COUNT; i++)
		if (r->rules[i].fired)
			json_array_append_new(fired,
					      json_string(mc_monitor_rule_name(r->rules[i].id)));
	char a[11];
	mc_date_format_iso(r->as_of, a);
	mc_print_json(json_pack("{s:s, s:s, s:o, s:b, s:o, s:I, s:s, s:s, s:s}", "status",
				r->fired ? "alert" : "healthy", "as_of", a, "alerts", fired,
				"dataset_drift", r->dataset_drift, "drift_share",
				isfinite(r->share) ? json_real(r->share) : json_null(), "joined",
				(json_int_t)r->pred_joined, "report", r->html_path, "summary",
				r->json_path, "metrics", r->prom_path));
}

/* ---- the command ---- */

/* Compute, alert, write.  *alert_rc: the alerts could not be sent (reports written anyway). */
static mc_code run(mc_ctx *ctx, const monitor_args *a, const mc_monitor_opts *o,
		   mc_monitor_result **out, mc_code *alert_rc, mc_error *alert_err, mc_error *err)
{
	mc_table *lake = NULL;
	mc_code rc = mc_cli_read_lake(ctx, &lake, err);
	if (!rc)
		rc = mc_monitor_run(lake, ctx->store, o, out, err);
	mc_table_free(lake);
	if (rc)
		return rc;
	char dir[4200], prom[4200];
	snprintf(dir, sizeof dir, "%s/reports/monitoring", ctx->home);
	snprintf(prom, sizeof prom, "%s/metrics/milkcast_monitor.prom", ctx->home);
	mc_monitor_report_paths(*out, dir, prom);
	if ((*out)->fired && !a->no_alerts)
		*alert_rc = send_alerts(ctx, *out, alert_err);
	return mc_monitor_write(*out, err);
}

static void release_args(monitor_args *a, char *copy, const char **list)
{
	free(copy);
	free(list);
	mc_strlist_release(&a->columns);
}

int cmd_monitor(int argc, char **argv, mc_ctx *ctx)
{
	monitor_args a = {0};
	a.naive_publications = MC_MONITOR_NAIVE_PUBLICATIONS;
	a.min_rows = MC_MONITOR_MIN_ROWS;
	a.stale_days = MC_MONITOR_STALE_DAYS;
	a.silent_publications = MC_MONITOR_SILENT_PUBLICATIONS;
	mc_monitor_opts o;
	mc_monitor_opts_init(&o);
	char *copy = NULL;
	const char **list = NULL;
	int prc = parse(argc, argv, ctx, &a);
	if (prc >= 0) { /* --help shown, or a usage error */
		release_args(&a, copy, list);
		return prc;
	}
	prc = options(&a, &o, &copy, &list);
	if (prc != 0 || mc_ctx_open_store(ctx)) {
		release_args(&a, copy, list);
		return prc ? prc : MC_EXIT_FAIL;
	}
	char preds[4200];
	snprintf(preds, sizeof preds, "%s/predictions", ctx->home);
	o.predictions_dir = preds;
	mc_error err = MC_ERROR_INIT, alert_err = MC_ERROR_INIT;
	mc_code alert_rc = MC_OK;
	mc_monitor_result *r = NULL;
	mc_code rc = run(ctx, &a, &o, &r, &alert_rc, &alert_err, &err);
	int exit = r && r->fired ? MC_EXIT_ALERT : MC_EXIT_OK;
	if (r && r->judged >= 0 && r->version_filter[0] && !r->versions[r->judged].forecasts)
		fprintf(stderr, "milkcast: warning: no logged forecast of model version %s\n",
			r->version_filter);
	if (!rc && ctx->json)
		print_json(r);
	else if (!rc)
		print_text(ctx, r);
	if (rc)
		exit = mc_die_error(&err);
	else if (alert_rc)
		exit = mc_die_error(&alert_err);
	mc_monitor_result_free(r);
	release_args(&a, copy, list);
	return exit;
}
