/* `milkcast predict`: batch forecasts as of a date, a file and an HTML report. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/forecast_cli.h"
#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/monitor.h"
#include "milkcast/parquet.h"
#include "milkcast/registry.h"
#include "milkcast/report.h"

static const mc_command_help help = {
	"milkcast predict --as-of DATE --output FILE [options]",
	"Forecast every series with enough history, as of a date.",
	"Uses only lake data dated on or before --as-of, even when the lake holds later\n"
	"dates (an empty lake falls back to the model's snapshot).  Targets are the next\n"
	"publication dates (Mon/Wed/Fri) after --as-of.  FILE ends in .csv, .parquet or\n"
	".json; the CSV columns are\n"
	"  state,city,milk_type,channel,as_of,target_date,h,price,lower,upper\n"
	"Also writes HOME/reports/predictions/AS_OF.html, a page with a chart per state, and\n"
	"appends the forecasts to HOME/predictions/batch-AS_OF.jsonl for 'milkcast monitor'.",
};

typedef enum { OUT_CSV, OUT_PARQUET, OUT_JSON } out_kind;

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* One CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
static void csv_field(mc_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		mc_buf_append(b, s, strlen(s));
		return;
	}
	mc_buf_putc(b, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			mc_buf_putc(b, '"');
		mc_buf_putc(b, (uint8_t)*p);
	}
	mc_buf_putc(b, '"');
}

static void csv_rows(mc_buf *b, const mc_panel *p, const mc_forecast *f, size_t n)
{
	mc_buf_printf(b, "state,city,milk_type,channel,as_of,target_date,h,price,lower,upper\n");
	for (size_t i = 0; i < n; i++) {
		const mc_panel_series *s = &p->series[f[i].series];
		const char *names[4] = {s->state, s->city, s->milk_type, s->channel};
		for (int j = 0; j < 4; j++) {
			csv_field(b, names[j]);
			mc_buf_putc(b, ',');
		}
		char a[11], t[11];
		mc_date_format_iso(f[i].as_of, a);
		mc_date_format_iso(f[i].target, t);
		mc_buf_printf(b, "%s,%s,%d,%.4f,%.4f,%.4f\n", a, t, f[i].h, f[i].price, f[i].lower,
			      f[i].upper);
	}
}

static json_t *json_rows(const mc_panel *p, const mc_forecast *f, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		const mc_panel_series *s = &p->series[f[i].series];
		char d[11], t[11];
		mc_date_format_iso(f[i].as_of, d);
		mc_date_format_iso(f[i].target, t);
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:f, s:f, s:f, s:b}",
				     "state", s->state, "city", s->city, "milk_type", s->milk_type,
				     "channel", s->channel, "as_of", d, "target_date", t, "h",
				     f[i].h, "price", f[i].price, "lower", f[i].lower, "upper",
				     f[i].upper, "from_model", f[i].from_model));
	}
	return a;
}

static mc_table *table_rows(const mc_panel *p, const mc_forecast *f, size_t n)
{
	static const char *const strs[] = {"state", "city", "milk_type", "channel"};
	mc_table *t = mc_table_new();
	if (!t)
		return NULL;
	for (int j = 0; j < 4; j++)
		mc_table_add_column(t, strs[j], MC_T_STRING, false);
	mc_table_add_column(t, "as_of", MC_T_DATE, false);
	mc_table_add_column(t, "target_date", MC_T_DATE, false);
	mc_table_add_column(t, "h", MC_T_INT32, false);
	mc_table_add_column(t, "price", MC_T_DOUBLE, false);
	mc_table_add_column(t, "lower", MC_T_DOUBLE, false);
	mc_table_add_column(t, "upper", MC_T_DOUBLE, false);
	mc_code rc = t->ncols == 10 ? MC_OK : MC_ERR_NOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		const mc_panel_series *s = &p->series[f[i].series];
		const char *names[4] = {s->state, s->city, s->milk_type, s->channel};
		for (int j = 0; j < 4 && !rc; j++)
			rc = mc_column_push_str(&t->cols[j], names[j], strlen(names[j]));
		if (!rc)
			rc = mc_column_push_i32(&t->cols[4], f[i].as_of) ||
			     mc_column_push_i32(&t->cols[5], f[i].target) ||
			     mc_column_push_i32(&t->cols[6], f[i].h) ||
			     mc_column_push_f64(&t->cols[7], f[i].price) ||
			     mc_column_push_f64(&t->cols[8], f[i].lower) ||
			     mc_column_push_f64(&t->cols[9], f[i].upper);
		t->nrows++;
	}
	if (rc) {
		mc_table_free(t);
		return NULL;
	}
	return t;
}

static mc_code write_output(const char *path, out_kind kind, const mc_panel *p,
			    const mc_forecast *f, size_t n, mc_error *err)
{
	if (kind == OUT_PARQUET) {
		mc_table *t = table_rows(p, f, n);
		if (!t)
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		mc_parquet_write_opts o;
		mc_parquet_write_opts_init(&o);
		mc_code rc = mc_parquet_write_file(path, t, &o, err);
		mc_table_free(t);
		return rc;
	}
	mc_buf b = MC_BUF_INIT;
	if (kind == OUT_CSV) {
		csv_rows(&b, p, f, n);
	} else {
		json_t *a = json_rows(p, f, n);
		char *text = a ? json_dumps(a, JSON_INDENT(1)) : NULL;
		json_decref(a);
		if (text)
			mc_buf_printf(&b, "%s\n", text);
		free(text);
	}
	mc_code rc = b.data ? mc_write_file_atomic(path, b.data, b.len, err)
			    : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_buf_release(&b);
	return rc;
}

/*
 * --features FILE.csv: what the model saw, one row per forecast: the series,
 * target and horizon, every feature (empty = missing), and the model's raw
 * output (the predicted change before the horizon's weight).  For audits, and
 * for checking the model in another XGBoost client.
 */
static mc_code write_features(const char *path, const mc_panel *p, const mc_forecast *f, size_t n,
			      const float *X, mc_error *err)
{
	size_t nf = mc_features_count();
	mc_buf b = MC_BUF_INIT;
	mc_buf_printf(&b, "state,city,milk_type,channel,target_date,h");
	for (size_t j = 0; j < nf; j++)
		mc_buf_printf(&b, ",f_%s", mc_features_defs()[j].name); /* names repeat the ids */
	mc_buf_printf(&b, ",model_change\n");
	for (size_t i = 0; i < n; i++) {
		const mc_panel_series *s = &p->series[f[i].series];
		const char *names[4] = {s->state, s->city, s->milk_type, s->channel};
		for (int j = 0; j < 4; j++) {
			csv_field(&b, names[j]);
			mc_buf_putc(&b, ',');
		}
		char t[11];
		mc_date_format_iso(f[i].target, t);
		mc_buf_printf(&b, "%s,%d", t, f[i].h);
		for (size_t j = 0; j < nf; j++) {
			float v = X[i * nf + j];
			if (isnan(v))
				mc_buf_putc(&b, ',');
			else
				mc_buf_printf(&b, ",%.9g", (double)v);
		}
		mc_buf_printf(&b, ",%.9g\n", f[i].model_output);
	}
	mc_code rc = b.data ? mc_write_file_atomic(path, b.data, b.len, err)
			    : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_buf_release(&b);
	return rc;
}

/* ---- the HTML report ---- */

static mc_code write_report(const mc_ctx *ctx, const mc_bundle *b, const mc_panel *p, int32_t as_of,
			    const mc_forecast *f, size_t n, char *path, size_t cap, mc_error *err)
{
	char dir[4200], day[11];
	mc_date_format_iso(as_of, day);
	snprintf(dir, sizeof dir, "%s/reports/predictions", ctx->home);
	mc_code rc = mc_mkdirs(dir, err);
	if (rc)
		return rc;
	snprintf(path, cap, "%s/%s.html", dir, day);
	size_t m = n ? n : 1;
	mc_report_series *series = calloc(p->nseries ? p->nseries : 1, sizeof *series);
	double *price = malloc(m * sizeof *price), *lower = malloc(m * sizeof *lower),
	       *upper = malloc(m * sizeof *upper);
	int32_t *dates = malloc(m * sizeof *dates);
	if (!series || !price || !lower || !upper || !dates) {
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		price[i] = f[i].price;
		lower[i] = f[i].lower;
		upper[i] = f[i].upper;
		dates[i] = f[i].target;
	}
	/* Forecast rows come grouped by series in panel order: each series is a slice. */
	for (size_t s = 0, i = 0; s < p->nseries; s++) {
		const mc_panel_series *ps = &p->series[s];
		size_t start = i;
		while (i < n && f[i].series == s)
			i++;
		series[s] =
			(mc_report_series){ps->state,	  ps->city,	 ps->milk_type,
					   ps->channel,	  p->dates,	 p->price + s * p->ndates,
					   p->ndates,	  dates + start, price + start,
					   lower + start, upper + start, i - start};
	}
	char model[4300], generated[32];
	snprintf(model, sizeof model, "XGBoost bundle %s", mc_bundle_dir(b));
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(generated, sizeof generated, "%Y-%m-%dT%H:%M:%SZ", &tm);
	mc_report_meta meta = {as_of, model, mc_bundle_level(b), generated};
	rc = mc_report_predictions_html(path, &meta, series, p->nseries, err);
out:
	free(series);
	free(price);
	free(lower);
	free(upper);
	free(dates);
	return rc;
}

/*
 * Append the forecasts to HOME/predictions/batch-AS_OF.jsonl for monitoring,
 * with the registry version of the bundle when the workspace registers it.
 */
static mc_code log_batch(mc_ctx *ctx, const mc_bundle *b, const mc_panel *p, int32_t as_of,
			 const mc_forecast *f, size_t n, mc_error *err)
{
	char db[4200], dir[4200], version[64];
	snprintf(db, sizeof db, "%s/milkcast.db", ctx->home);
	snprintf(dir, sizeof dir, "%s/predictions", ctx->home);
	if (mc_exists(db))
		mc_ctx_open_store(ctx);
	mc_monitor_model_version(ctx->store, MC_MODEL_NAME, mc_bundle_dir(b), version,
				 sizeof version);
	return mc_monitor_log_batch(dir, p, f, n, as_of, version, err);
}

/* ---- the command ---- */

typedef struct predict_args {
	const char *as_of, *model, *output, *features;
	const char *state, *city, *milk_type, *channel; /* filters; NULL = any */
	long horizon;
	bool no_report;
} predict_args;

/* ---- series filters ---- */

static bool field_matches(const char *filter, const char *value)
{
	return !filter || !strcasecmp(filter, value);
}

static bool series_matches(const predict_args *a, const mc_panel_series *s)
{
	return field_matches(a->state, s->state) && field_matches(a->city, s->city) &&
	       field_matches(a->milk_type, s->milk_type) && field_matches(a->channel, s->channel);
}

/* Levenshtein distance, capped: for suggesting names close to a misspelt one. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na > 64 || nb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= nb; j++)
		row[j] = j;
	for (size_t i = 1; i <= na; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= nb; j++) {
			size_t up = row[j];
			size_t sub = diag + (tolower((unsigned char)a[i - 1]) !=
					     tolower((unsigned char)b[j - 1]));
			size_t best = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
			row[j] = sub < best ? sub : best;
			diag = up;
		}
	}
	return row[nb];
}

/* "state 'Jaliscoo' has no prices up to --as-of; close: Jalisco" for the first filter matching
 * nothing. */
static mc_code unknown_filter(const predict_args *a, const mc_panel *p, mc_error *err)
{
	const char *filters[4] = {a->state, a->city, a->milk_type, a->channel};
	static const char *const what[4] = {"state", "city", "milk type", "channel"};
	for (int f = 0; f < 4; f++) {
		if (!filters[f])
			continue;
		char close[256] = "";
		bool found = false;
		for (size_t s = 0; s < p->nseries && !found; s++) {
			const mc_panel_series *ps = &p->series[s];
			const char *v[4] = {ps->state, ps->city, ps->milk_type, ps->channel};
			found = !strcasecmp(filters[f], v[f]);
			if (!found && edit_distance(filters[f], v[f]) <= 3 &&
			    !strstr(close, v[f]) && strlen(close) + strlen(v[f]) + 3 < sizeof close)
				snprintf(close + strlen(close), sizeof close - strlen(close),
					 "%s%s", close[0] ? ", " : "", v[f]);
		}
		if (!found)
			return mc_fail(err, MC_ERR_NOT_FOUND,
				       "%s '%s' has no prices up to --as-of%s%s", what[f],
				       filters[f], close[0] ? "; close: " : "", close);
	}
	return mc_fail(err, MC_ERR_NOT_FOUND,
		       "no series with prices up to --as-of has all of%s%s%s%s%s%s%s%s "
		       "('milkcast lake stats' lists the series)",
		       a->state ? " state " : "", a->state ? a->state : "", a->city ? " city " : "",
		       a->city ? a->city : "", a->milk_type ? " milk type " : "",
		       a->milk_type ? a->milk_type : "", a->channel ? " channel " : "",
		       a->channel ? a->channel : "");
}

/* Keep the forecasts of the series the filters name; a named series without any is an error. */
static mc_code filter_forecasts(const predict_args *a, const mc_panel *p, mc_forecast *f, size_t *n,
				mc_error *err)
{
	if (!a->state && !a->city && !a->milk_type && !a->channel)
		return MC_OK;
	size_t kept = 0, matching = 0;
	for (size_t i = 0; i < *n; i++)
		if (series_matches(a, &p->series[f[i].series]))
			f[kept++] = f[i];
	for (size_t s = 0; s < p->nseries; s++)
		matching += series_matches(a, &p->series[s]);
	if (!matching)
		return unknown_filter(a, p, err);
	if (!kept)
		return mc_fail(err, MC_ERR_EMPTY,
			       "the %zu series matching have too little history on %s: a forecast "
			       "needs %d prices in the last %d publications",
			       matching, a->as_of, MC_FEATURES_MIN_OBS, MC_FEATURES_LOOKBACK);
	*n = kept;
	return MC_OK;
}

static int parse(int argc, char **argv, mc_ctx *ctx, predict_args *a, int32_t *as_of,
		 out_kind *kind)
{
	const mc_option opts[] = {
		MC_OPT_STRING(0, "as-of", &a->as_of, "DATE", "forecast as if today were DATE"),
		MC_OPT_INT(0, "horizon", &a->horizon, "H",
			   "publications ahead (default: all the model has)"),
		MC_OPT_STRING(0, "model", &a->model, "DIR|URI",
			      "bundle directory, or its URI in an artifact store (s3://…/models/"
			      "bundle-…, as 'models show' lists it); default HOME/models/latest"),
		MC_OPT_STRING('o', "output", &a->output, "FILE",
			      "forecasts: .csv, .parquet, .json"),
		MC_OPT_FLAG(0, "no-report", &a->no_report, "skip the HTML report"),
		MC_OPT_STRING(0, "state", &a->state, "NAME", "only this state (as in the lake)"),
		MC_OPT_STRING(0, "city", &a->city, "NAME", "only this city"),
		MC_OPT_STRING(0, "milk-type", &a->milk_type, "T",
			      "only pasteurizada or ultrapasteurizada"),
		MC_OPT_STRING(0, "channel", &a->channel, "C", "only tiendas or autoservicios"),
		MC_OPT_STRING(0, "features", &a->features, "FILE",
			      "also write each forecast's feature row and raw model output (CSV)"),
		MC_OPT_END(),
	};
	int prc = mc_parse_flags_only(argc, argv, opts, &help, ctx);
	if (prc >= 0)
		return prc;
	if (!a->as_of || !mc_date_parse_iso(a->as_of, as_of))
		return mc_usage_error(help.usage, "--as-of YYYY-MM-DD is required%s%s%s",
				      a->as_of ? " (got '" : "", a->as_of ? a->as_of : "",
				      a->as_of ? "')" : "");
	if (!a->output)
		return mc_usage_error(help.usage, "--output FILE is required");
	if (ends_with(a->output, ".csv"))
		*kind = OUT_CSV;
	else if (ends_with(a->output, ".parquet"))
		*kind = OUT_PARQUET;
	else if (ends_with(a->output, ".json"))
		*kind = OUT_JSON;
	else
		return mc_usage_error(help.usage, "--output must end in .csv, .parquet or .json");
	return -1;
}

static mc_code load_panel(const mc_ctx *ctx, const mc_bundle *b, int32_t as_of, mc_panel **p,
			  bool *from_snapshot, mc_error *err)
{
	mc_table *lake = NULL;
	mc_code rc = mc_cli_read_lake(ctx, &lake, err);
	*from_snapshot = rc == MC_ERR_EMPTY;
	if (*from_snapshot)
		return mc_panel_from_table(mc_bundle_snapshot(b), as_of, p, err);
	if (!rc)
		rc = mc_panel_from_table(lake, as_of, p, err);
	mc_table_free(lake);
	if (rc == MC_ERR_EMPTY) {
		char d[11];
		mc_date_format_iso(as_of, d);
		rc = mc_fail(err, MC_ERR_EMPTY, "the lake has no prices on or before %s", d);
	}
	return rc;
}

static void summary(const mc_ctx *ctx, const predict_args *a, const mc_panel *p,
		    const mc_forecast *f, size_t n, const char *output, const char *report,
		    bool from_snapshot)
{
	size_t considered = 0;
	for (size_t s = 0; s < p->nseries; s++)
		considered += series_matches(a, &p->series[s]);
	size_t series = 0;
	for (size_t i = 0; i < n; i++)
		series += i == 0 || f[i].series != f[i - 1].series;
	char origin[11];
	mc_date_format_iso(n ? f[0].origin : p->dates[p->ndates - 1], origin);
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:o, s:I, s:I, s:I, s:s, s:b}", "output", output,
				      "report", report[0] ? json_string(report) : json_null(),
				      "series", (json_int_t)series, "rows", (json_int_t)n,
				      "skipped", (json_int_t)(considered - series), "origin",
				      origin, "from_snapshot", from_snapshot);
		mc_print_json(o);
		return;
	}
	mc_info(ctx, "%zu forecasts for %zu series (last publication used: %s)%s\n", n, series,
		origin, from_snapshot ? ", from the model's snapshot (the lake is empty)" : "");
	if (considered > series)
		mc_info(ctx,
			"%zu series skipped: fewer than %d prices in the last %d "
			"publications\n",
			considered - series, MC_FEATURES_MIN_OBS, MC_FEATURES_LOOKBACK);
	mc_info(ctx, "forecasts: %s\n", output);
	if (report[0])
		mc_info(ctx, "report:    %s\n", report);
}

int cmd_predict(int argc, char **argv, mc_ctx *ctx)
{
	predict_args a = {0};
	int32_t as_of;
	out_kind kind = OUT_CSV;
	int prc = parse(argc, argv, ctx, &a, &as_of, &kind);
	if (prc >= 0)
		return prc;
	mc_error err = MC_ERROR_INIT;
	mc_bundle *b = NULL;
	mc_panel *p = NULL;
	mc_forecast *f = NULL;
	float *X = NULL;
	size_t n = 0;
	bool snap = false;
	char report[4300] = "";
	mc_code rc = mc_cli_load_bundle(ctx, a.model, &b, &err);
	if (!rc)
		rc = load_panel(ctx, b, as_of, &p, &snap, &err);
	if (!rc)
		rc = mc_bundle_forecast_rows(b, p, as_of,
					     a.horizon ? (int)a.horizon : mc_bundle_horizons(b),
					     false, &f, &n, a.features ? &X : NULL, &err);
	if (!rc && n)
		rc = filter_forecasts(&a, p, f, &n, &err);
	if (!rc && n == 0)
		rc = mc_fail(&err, MC_ERR_EMPTY,
			     "no series has enough history on %s (%d prices in the last %d "
			     "publications)",
			     a.as_of, MC_FEATURES_MIN_OBS, MC_FEATURES_LOOKBACK);
	if (!rc)
		rc = write_output(a.output, kind, p, f, n, &err);
	if (!rc && a.features)
		rc = write_features(a.features, p, f, n, X, &err);
	if (!rc && !a.no_report)
		rc = write_report(ctx, b, p, as_of, f, n, report, sizeof report, &err);
	if (!rc)
		rc = log_batch(ctx, b, p, as_of, f, n, &err);
	if (!rc)
		summary(ctx, &a, p, f, n, a.output, report, snap);
	if (!rc && as_of < mc_bundle_until(b)) {
		char u[11];
		mc_date_format_iso(mc_bundle_until(b), u);
		mc_info(ctx,
			"note: the model was trained on data up to %s, after --as-of; for an "
			"honest replay train with --until before %s\n",
			u, a.as_of);
	}
	free(f);
	free(X);
	mc_panel_free(p);
	mc_bundle_free(b);
	return rc ? mc_die_error(&err) : MC_EXIT_OK;
}
