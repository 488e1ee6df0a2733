/* `milkcast fetch`: download SNIIM milk workbooks into <home>/raw/, one date or a range. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "milkcast/date.h"
#include "milkcast/fetch.h"
#include "milkcast/fsutil.h"

enum { MAX_RANGE_DAYS = 3660, MAX_TIMEOUT_S = 3600, MAX_RETRIES = 10 };

typedef struct fetch_args {
	const char *date, *from, *to, *base_url;
	long timeout_s, retries;
	bool force;
	int32_t first, last; /* the dates to fetch */
	bool range;	     /* --from/--to: weekdays only, tolerant of unpublished dates */
} fetch_args;

typedef struct tally {
	int fetched, unchanged, replaced, not_published, conflict, failed;
} tally;

static const mc_command_help help = {
	"milkcast fetch [--date YYYY-MM-DD | --from YYYY-MM-DD [--to YYYY-MM-DD]] [options]",
	"Download SNIIM milk price workbooks into <home>/raw/.",
	"Downloads {base}/LecheDDMMYYYY.xlsx, checks that it is a complete xlsx (not an\n"
	"HTML error page, not truncated) and saves it atomically as\n"
	"<home>/raw/LecheDDMMYYYY.xlsx.  The base URL is --base-url, else\n"
	"$MILKCAST_SNIIM_URL, else the SNIIM server:\n"
	"  " MC_FETCH_DEFAULT_BASE_URL "\n"
	"--date defaults to today's date in UTC.\n"
	"\n"
	"--from/--to fetch every weekday (Mon-Fri) of a range (--to defaults to today);\n"
	"unpublished dates are reported and skipped, and the exit status is 1 only if\n"
	"a date failed.  For a single --date, 'not published yet' exits with 1.\n"
	"\n"
	"Requests that fail on the network, time out or get HTTP 5xx/429 are retried\n"
	"with exponential backoff; other HTTP errors are not.  A saved file with the\n"
	"same bytes is left alone (unchanged); if the upstream copy differs, the saved\n"
	"file is kept and the fetch fails (conflict) unless --force replaces it.",
};

static void log_line(void *user, const char *msg)
{
	mc_verbose(user, "%s\n", msg);
}

static void human_size(size_t n, char out[32])
{
	if (n < 1024)
		snprintf(out, 32, "%zu B", n);
	else if (n < (size_t)1 << 20)
		snprintf(out, 32, "%.0f KiB", (double)n / 1024);
	else
		snprintf(out, 32, "%.1f MiB", (double)n / (1 << 20));
}

static bool parse_date(const char *s, const char *opt, int32_t *out)
{
	if (mc_date_parse_iso(s, out))
		return true;
	mc_usage_error(help.usage, "option '--%s' expects a date YYYY-MM-DD, got '%s'", opt, s);
	return false;
}

/* Turn --date/--from/--to into a[first..last]; false after a usage error. */
static bool resolve_dates(fetch_args *a)
{
	if (a->date && (a->from || a->to)) {
		mc_usage_error(help.usage, "use --date or --from/--to, not both");
		return false;
	}
	if (a->to && !a->from) {
		mc_usage_error(help.usage, "option '--to' needs '--from'");
		return false;
	}
	a->range = a->from != NULL;
	a->first = a->last = mc_date_today();
	if (a->date) {
		if (!parse_date(a->date, "date", &a->first))
			return false;
		a->last = a->first;
		return true;
	}
	if (!a->range)
		return true;
	if (!parse_date(a->from, "from", &a->first) ||
	    (a->to && !parse_date(a->to, "to", &a->last)))
		return false;
	if (a->first > a->last || a->last - a->first > MAX_RANGE_DAYS) {
		mc_usage_error(help.usage, "--from must not be after --to, at most %d days apart",
			       MAX_RANGE_DAYS);
		return false;
	}
	return true;
}

static bool check_numbers(const fetch_args *a)
{
	if (a->timeout_s < 1 || a->timeout_s > MAX_TIMEOUT_S) {
		mc_usage_error(help.usage, "--timeout must be 1..%d seconds", MAX_TIMEOUT_S);
		return false;
	}
	if (a->retries < 0 || a->retries > MAX_RETRIES) {
		mc_usage_error(help.usage, "--retries must be 0..%d", MAX_RETRIES);
		return false;
	}
	return true;
}

static bool resolve_base_url(fetch_args *a)
{
	if (!a->base_url || !*a->base_url)
		a->base_url = getenv("MILKCAST_SNIIM_URL");
	if (!a->base_url || !*a->base_url)
		a->base_url = MC_FETCH_DEFAULT_BASE_URL;
	if (strncmp(a->base_url, "http://", 7) == 0 || strncmp(a->base_url, "https://", 8) == 0)
		return true;
	mc_usage_error(help.usage, "the base URL must start with http:// or https://, got '%s'",
		       a->base_url);
	return false;
}

/* --- reporting ------------------------------------------------------------ */

static json_t *jstr(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	return j ? j : json_null();
}

static json_t *result_json(const mc_fetch_result *r, const mc_error *err)
{
	char iso[11];
	mc_date_format_iso(r->date, iso);
	json_t *o = json_object();
	json_object_set_new(o, "date", json_string(iso));
	json_object_set_new(o, "url", jstr(r->url));
	if (mc_fetch_have_file(r) || r->status == MC_FETCH_CONFLICT) {
		json_object_set_new(o, "path", jstr(r->path));
		json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
	}
	if (r->status == MC_FETCH_CONFLICT)
		json_object_set_new(o, "saved_bytes", json_integer((json_int_t)r->saved_bytes));
	json_object_set_new(o, "status", json_string(mc_fetch_status_name(r->status)));
	json_object_set_new(o, "http_status", json_integer(r->http_status));
	json_object_set_new(o, "requests", json_integer(r->requests));
	if (r->status == MC_FETCH_FAILED) {
		json_object_set_new(o, "error", json_string(mc_strerror(err->code)));
		json_object_set_new(o, "message", jstr(err->msg));
	}
	return o;
}

static void report_problem(const mc_fetch_result *r, const mc_error *err)
{
	char iso[11];
	mc_date_format_iso(r->date, iso);
	mc_error e = MC_ERROR_INIT;
	if (r->status == MC_FETCH_NOT_PUBLISHED)
		mc_fail(&e, MC_ERR_NOT_FOUND, "%s is not published yet (HTTP %ld for %s)", iso,
			r->http_status, r->url);
	else if (r->status == MC_FETCH_CONFLICT)
		mc_fail(&e, MC_ERR_INVALID,
			"the upstream copy of %s differs from %s (%zu vs %zu bytes); kept the "
			"saved file, use --force to replace it",
			iso, r->path, r->bytes, r->saved_bytes);
	else
		e = *err;
	mc_die_error(&e);
}

static void report_human(const mc_ctx *ctx, const fetch_args *a, const mc_fetch_result *r,
			 const mc_error *err)
{
	char iso[11], size[32];
	mc_date_format_iso(r->date, iso);
	human_size(r->bytes, size);
	switch (r->status) {
	case MC_FETCH_FETCHED: mc_info(ctx, "fetched %s → %s (%s)\n", iso, r->path, size); break;
	case MC_FETCH_UNCHANGED:
		mc_info(ctx, "unchanged %s: %s (%s) is up to date\n", iso, r->path, size);
		break;
	case MC_FETCH_REPLACED:
		mc_info(ctx, "replaced %s → %s (%s; the upstream copy changed)\n", iso, r->path,
			size);
		break;
	case MC_FETCH_NOT_PUBLISHED:
		if (a->range) {
			mc_info(ctx, "not published %s (HTTP %ld)\n", iso, r->http_status);
			break;
		}
		/* fall through */
	case MC_FETCH_CONFLICT:
	case MC_FETCH_FAILED: report_problem(r, err); break;
	}
}

static void count(tally *t, mc_fetch_status s)
{
	switch (s) {
	case MC_FETCH_FETCHED: t->fetched++; break;
	case MC_FETCH_UNCHANGED: t->unchanged++; break;
	case MC_FETCH_REPLACED: t->replaced++; break;
	case MC_FETCH_NOT_PUBLISHED: t->not_published++; break;
	case MC_FETCH_CONFLICT: t->conflict++; break;
	case MC_FETCH_FAILED: t->failed++; break;
	}
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s)
		printf("%s\n", s);
	free(s);
}

static void print_range_json(const fetch_args *a, const tally *t, json_t *results)
{
	char from[11], to[11];
	mc_date_format_iso(a->first, from);
	mc_date_format_iso(a->last, to);
	json_t *o = json_pack("{s:s, s:s, s:o, s:i, s:i, s:i, s:i, s:i, s:i}", "from", from, "to",
			      to, "results", results, "fetched", t->fetched, "unchanged",
			      t->unchanged, "replaced", t->replaced, "not_published",
			      t->not_published, "conflict", t->conflict, "failed", t->failed);
	if (o)
		print_json(o);
	json_decref(o);
}

static void print_range_summary(const mc_ctx *ctx, const fetch_args *a, const tally *t)
{
	char from[11], to[11];
	mc_date_format_iso(a->first, from);
	mc_date_format_iso(a->last, to);
	mc_info(ctx, "%s..%s: %d fetched, %d unchanged, %d replaced, %d not published, %d failed\n",
		from, to, t->fetched, t->unchanged, t->replaced, t->not_published,
		t->failed + t->conflict);
}

/* --- running ---------------------------------------------------------------- */

/* Fetch one date, report it, and add it to the tally and the JSON list. */
static void fetch_one(mc_fetcher *f, const char *raw_dir, int32_t date, const fetch_args *a,
		      const mc_ctx *ctx, tally *t, json_t *results)
{
	mc_fetch_result r;
	mc_error err = MC_ERROR_INIT;
	mc_fetcher_get(f, date, raw_dir, &r, &err);
	count(t, r.status);
	if (ctx->json) {
		json_array_append_new(results, result_json(&r, &err));
		if (r.status == MC_FETCH_FAILED || r.status == MC_FETCH_CONFLICT ||
		    (!a->range && r.status == MC_FETCH_NOT_PUBLISHED))
			report_problem(&r, &err);
	} else {
		report_human(ctx, a, &r, &err);
	}
	mc_fetch_result_release(&r);
}

static void fetch_all(mc_fetcher *f, const char *raw_dir, const fetch_args *a, const mc_ctx *ctx,
		      tally *t)
{
	json_t *results = json_array();
	for (int32_t d = a->first; d <= a->last; d++)
		if (!a->range || mc_date_weekday(d) < 5)
			fetch_one(f, raw_dir, d, a, ctx, t, results);
	if (ctx->json && !a->range)
		print_json(json_array_get(results, 0));
	else if (ctx->json)
		print_range_json(a, t, json_incref(results));
	else if (a->range)
		print_range_summary(ctx, a, t);
	json_decref(results);
}

static int run(const fetch_args *a, const mc_ctx *ctx)
{
	mc_error err = MC_ERROR_INIT;
	mc_fetch_opts o;
	mc_fetch_opts_init(&o);
	o.base_url = a->base_url;
	o.timeout_s = a->timeout_s;
	o.retries = (int)a->retries;
	o.force = a->force;
	o.log = log_line;
	o.log_user = (void *)ctx;

	char *raw_dir = mc_path_join(ctx->home, "raw");
	if (!raw_dir)
		return mc_die_error(&(mc_error){MC_ERR_NOMEM, "out of memory"});
	mc_fetcher *f = NULL;
	tally t = {0};
	if (mc_fetch_global_init(&err) == MC_OK) {
		if (mc_fetcher_new(&o, &f, &err) == MC_OK)
			fetch_all(f, raw_dir, a, ctx, &t);
		mc_fetcher_free(f);
		mc_fetch_global_cleanup();
	}
	free(raw_dir);
	if (err.code)
		return mc_die_error(&err);
	if (t.failed || t.conflict || (!a->range && t.not_published))
		return MC_EXIT_FAIL;
	return MC_EXIT_OK;
}

int cmd_fetch(int argc, char **argv, mc_ctx *ctx)
{
	fetch_args a = {.timeout_s = 60, .retries = 3};
	const mc_option opts[] = {
		MC_OPT_STRING('d', "date", &a.date, "DATE",
			      "publication date (default: today, UTC)"),
		MC_OPT_STRING(0, "from", &a.from, "DATE", "fetch every weekday from DATE…"),
		MC_OPT_STRING(0, "to", &a.to, "DATE", "…to DATE inclusive (default: today)"),
		MC_OPT_STRING(0, "base-url", &a.base_url, "URL",
			      "where the workbooks are (default $MILKCAST_SNIIM_URL or SNIIM)"),
		MC_OPT_INT(0, "timeout", &a.timeout_s, "SECONDS",
			   "limit for each request (default 60)"),
		MC_OPT_INT(0, "retries", &a.retries, "N",
			   "retries after network errors, 5xx, 429 (default 3)"),
		MC_OPT_FLAG('f', "force", &a.force, "replace a saved file whose bytes differ"),
		MC_OPT_END(),
	};
	int prc = mc_parse_flags_only(argc, argv, opts, &help, ctx);
	if (prc >= 0)
		return prc;
	if (!resolve_dates(&a) || !check_numbers(&a) || !resolve_base_url(&a))
		return MC_EXIT_USAGE;
	/* libcurl runs with CURLOPT_NOSIGNAL; a peer closing a TLS socket must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return run(&a, ctx);
}
