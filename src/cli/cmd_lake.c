/* `milkcast lake ls|stats|export|quarantine|revisions|pull|push`: what the lake holds. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/forecast_cli.h"
#include "milkcast/lake_stats.h"
#include "milkcast/date.h"
#include "milkcast/lake.h"
#include "milkcast/lake_remote.h"
#include "milkcast/parquet.h"
#include "milkcast/store.h"

static const mc_command_help help = {
	"milkcast lake ls|stats|export|quarantine|revisions|pull|push [options]",
	"List, summarise and export what the lake holds.",
	"  ls          the month partitions: rows, dates, size\n"
	"  stats       per series: first and last date, observations, missing share, last price\n"
	"  export      the rows as CSV or Parquet (--format, --output, --from, --to)\n"
	"  quarantine  rows that ingest rejected, with the reason\n"
	"  revisions   past values that a later input changed\n"
	"  pull        bring the local lake up to MILKCAST_LAKE's manifest\n"
	"  push        upload the months changed here since the last sync, then the manifest\n"
	"With MILKCAST_LAKE set (s3://bucket/prefix, file:///dir or a path), ls, stats and\n"
	"export pull first; ingest pulls and pushes by itself.",
};

static int open_lake(mc_ctx *ctx, bool pull, mc_lake **lake)
{
	mc_error err = MC_ERROR_INIT;
	if (mc_cli_open_lake(ctx, pull, lake, &err))
		return mc_die_error(&err);
	return MC_EXIT_OK;
}

/* --- pull and push ------------------------------------------------------- */

static int lake_sync(mc_ctx *ctx, mc_lake *lake, bool push)
{
	const char *uri = mc_lake_remote_uri(lake);
	if (!uri) {
		fprintf(stderr,
			"milkcast: error: MILKCAST_LAKE is not set: 'lake %s' needs a "
			"remote lake (s3://bucket/prefix, file:///dir or a path)\n",
			push ? "push" : "pull");
		return MC_EXIT_FAIL;
	}
	mc_error err = MC_ERROR_INIT;
	if (push ? mc_lake_push(lake, &err) : mc_lake_pull(lake, &err))
		return mc_die_error(&err);
	mc_lake_sync_stats s;
	mc_lake_sync_stats_get(lake, &s);
	if (ctx->json) {
		mc_print_json(json_pack("{s:s, s:I, s:I, s:b, s:I, s:I}", "uri", uri, "downloaded",
					(json_int_t)s.downloaded, "uploaded",
					(json_int_t)s.uploaded, "manifest_written",
					s.manifest_written, "generation", (json_int_t)s.generation,
					"partitions", (json_int_t)s.remote_partitions));
	} else if (push && !s.manifest_written) {
		mc_info(ctx,
			"nothing to upload: no month changed here since the last sync with %s\n",
			uri);
	} else {
		mc_info(ctx,
			"%zu partition%s %s %s (manifest generation %" PRId64 ", %zu partitions)\n",
			push ? s.uploaded : s.downloaded,
			(push ? s.uploaded : s.downloaded) == 1 ? "" : "s",
			push ? "uploaded to" : "downloaded from", uri, s.generation,
			s.remote_partitions);
	}
	return MC_EXIT_OK;
}

/* --- ls ------------------------------------------------------------------ */

static int lake_ls(mc_ctx *ctx, mc_lake *lake)
{
	mc_error err = MC_ERROR_INIT;
	mc_lake_partition *parts;
	size_t n;
	if (mc_lake_partitions(lake, &parts, &n, &err))
		return mc_die_error(&err);
	json_t *arr = ctx->json ? json_array() : NULL;
	if (!ctx->json)
		printf("%-8s %7s %6s  %-10s  %-10s %9s  %s\n", "month", "rows", "dates", "first",
		       "last", "bytes", "path");
	int rc = MC_EXIT_OK;
	size_t total = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		mc_table *t;
		if (mc_lake_read_month(lake, parts[i].year, parts[i].month, &t, &err)) {
			rc = mc_die_error(&err);
			break;
		}
		mc_lake_date_range r = mc_lake_dates(t);
		struct stat st;
		long long bytes = stat(parts[i].path, &st) == 0 ? (long long)st.st_size : -1;
		char month[16], first[11] = "-", last[11] = "-";
		snprintf(month, sizeof month, "%04d-%02d", parts[i].year % 10000,
			 parts[i].month % 100);
		if (r.ndates) {
			mc_date_format_iso(r.first, first);
			mc_date_format_iso(r.last, last);
		}
		total += t->nrows;
		if (arr)
			json_array_append_new(
				arr,
				json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:s}", "month", month,
					  "rows", (json_int_t)t->nrows, "dates",
					  (json_int_t)r.ndates, "first_date", first, "last_date",
					  last, "bytes", (json_int_t)bytes, "path", parts[i].path));
		else
			printf("%-8s %7zu %6zu  %-10s  %-10s %9lld  %s\n", month, t->nrows,
			       r.ndates, first, last, bytes, parts[i].path);
		mc_table_free(t);
	}
	if (arr)
		mc_print_json(arr);
	else if (!rc)
		printf("%zu partition%s, %zu rows\n", n, n == 1 ? "" : "s", total);
	mc_lake_partitions_free(parts, n);
	return rc;
}

/* --- stats --------------------------------------------------------------- */

static void print_stat(const mc_lake_series_stat *s, json_t *arr)
{
	char first[11] = "-", last[11] = "-", last_obs[11] = "-";
	if (s->count) {
		mc_date_format_iso(s->first, first);
		mc_date_format_iso(s->last, last);
	}
	if (s->observed)
		mc_date_format_iso(s->last_observed, last_obs);
	double missing_share = s->count ? (double)(s->count - s->observed) / (double)s->count : 0;
	if (arr) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:f}", "kind",
				      s->kind, "state", s->state, "city", s->city, "milk_type",
				      s->milk_type, "channel", s->channel, "first_date", first,
				      "last_date", last, "count", (json_int_t)s->count, "observed",
				      (json_int_t)s->observed, "missing_share", missing_share);
		json_object_set_new(o, "last_price",
				    s->observed ? json_real(s->last_price) : json_null());
		json_object_set_new(o, "last_observed",
				    s->observed ? json_string(last_obs) : json_null());
		json_array_append_new(arr, o);
		return;
	}
	char price[16] = "-";
	if (s->observed)
		snprintf(price, sizeof price, "%.2f", s->last_price);
	printf("%-22s %-26s %-17s %-13s %-10s %-10s %5zu %6.1f%% %7s\n", s->state, s->city,
	       s->milk_type, s->channel, first, last, s->count, 100 * missing_share, price);
}

static int lake_stats(mc_ctx *ctx, mc_lake *lake)
{
	mc_error err = MC_ERROR_INIT;
	mc_table *t;
	if (mc_lake_read(lake, INT32_MIN, INT32_MAX, &t, &err))
		return mc_die_error(&err);
	mc_lake_series_stat *stats;
	size_t n;
	if (mc_lake_series_stats(t, &stats, &n, &err)) {
		mc_table_free(t);
		return mc_die_error(&err);
	}
	json_t *arr = ctx->json ? json_array() : NULL;
	if (!arr)
		printf("%-22s %-26s %-17s %-13s %-10s %-10s %5s %7s %7s\n", "state", "city",
		       "milk_type", "channel", "first", "last", "n", "missing", "last");
	size_t empty = 0;
	for (size_t i = 0; i < n; i++) {
		print_stat(&stats[i], arr);
		empty += stats[i].observed == 0;
	}
	if (arr)
		mc_print_json(arr);
	else
		printf("%zu series (%zu with no observed price), %zu rows\n", n, empty, t->nrows);
	mc_lake_series_stats_free(stats, n);
	mc_table_free(t);
	return MC_EXIT_OK;
}

/* --- export -------------------------------------------------------------- */

static int lake_export(mc_ctx *ctx, mc_lake *lake, const char *format, const char *output,
		       const char *from_s, const char *to_s)
{
	int32_t from = INT32_MIN, to = INT32_MAX;
	if (from_s && !mc_date_parse_iso(from_s, &from))
		return mc_usage_error(help.usage, "--from expects YYYY-MM-DD, got '%s'", from_s);
	if (to_s && !mc_date_parse_iso(to_s, &to))
		return mc_usage_error(help.usage, "--to expects YYYY-MM-DD, got '%s'", to_s);
	bool csv = !format || !strcmp(format, "csv");
	if (!csv && strcmp(format, "parquet"))
		return mc_usage_error(help.usage, "--format is csv or parquet, not '%s'", format);
	if (!csv && (!output || !strcmp(output, "-")))
		return mc_usage_error(help.usage, "Parquet export needs --output FILE");
	mc_error err = MC_ERROR_INIT;
	mc_table *t;
	if (mc_lake_read(lake, from, to, &t, &err))
		return mc_die_error(&err);
	mc_code rc;
	if (csv) {
		rc = mc_lake_write_csv(t, output && strcmp(output, "-") ? output : NULL, &err);
	} else {
		mc_parquet_write_opts o;
		mc_parquet_write_opts_init(&o);
		rc = mc_parquet_write_file(output, t, &o, &err);
	}
	size_t rows = t->nrows;
	mc_table_free(t);
	if (rc)
		return mc_die_error(&err);
	if (output && strcmp(output, "-"))
		mc_info(ctx, "exported %zu rows to %s\n", rows, output);
	return MC_EXIT_OK;
}

/* --- quarantine and revisions (from milkcast.db) ------------------------- */

static int print_query(mc_ctx *ctx, const char *sql, long limit)
{
	int rc = mc_ctx_open_store(ctx);
	if (rc)
		return rc;
	mc_error err = MC_ERROR_INIT;
	mc_stmt *q;
	if (mc_stmt_prepare(ctx->store, sql, &q, &err))
		return mc_die_error(&err);
	mc_stmt_bind_int(q, 1, limit > 0 ? limit : INT64_MAX);
	json_t *arr = ctx->json ? json_array() : NULL;
	bool row;
	size_t count = 0;
	int ncols = mc_stmt_columns(q);
	while (!mc_stmt_step(q, &row, &err) && row) {
		json_t *o = arr ? json_object() : NULL;
		for (int c = 0; c < ncols; c++) {
			const char *v = mc_stmt_text(q, c);
			if (o)
				json_object_set_new(o, mc_stmt_column_name(q, c),
						    v ? json_string(v) : json_null());
			else
				printf("%s%s", c ? "\t" : "", v ? v : "");
		}
		if (o)
			json_array_append_new(arr, o);
		else
			putchar('\n');
		count++;
	}
	mc_stmt_free(q);
	if (err.code) {
		json_decref(arr);
		return mc_die_error(&err);
	}
	if (arr)
		mc_print_json(arr);
	else if (!count)
		mc_info(ctx, "(none)\n");
	return MC_EXIT_OK;
}

int cmd_lake(int argc, char **argv, mc_ctx *ctx)
{
	const char *format = NULL, *output = NULL, *from = NULL, *to = NULL;
	long limit = 0;
	const mc_option opts[] = {
		MC_OPT_STRING(0, "format", &format, "FMT", "export: csv (default) or parquet"),
		MC_OPT_STRING('o', "output", &output, "FILE", "export: output file ('-' = stdout)"),
		MC_OPT_STRING(0, "from", &from, "DATE", "export: first date (YYYY-MM-DD)"),
		MC_OPT_STRING(0, "to", &to, "DATE", "export: last date (YYYY-MM-DD)"),
		MC_OPT_INT(0, "limit", &limit, "N", "quarantine, revisions: at most N rows"),
		MC_OPT_END(),
	};
	int n = mc_parse_options(argc, argv, opts, &help, ctx);
	if (n < 0)
		return mc_parse_exit(n);
	if (n != 1)
		return mc_usage_error(help.usage, n ? "one subcommand at a time" : "no subcommand");
	const char *sub = argv[0];
	if (!strcmp(sub, "quarantine"))
		return print_query(
			ctx,
			"SELECT q.run_id, q.source, q.position, q.date, q.state, q.city, "
			"q.milk_type, q.channel, q.raw_value, q.reason FROM quarantine q "
			"ORDER BY q.id DESC LIMIT ?",
			limit);
	if (!strcmp(sub, "revisions"))
		return print_query(ctx,
				   "SELECT run_id, source, date, kind, state, city, milk_type, "
				   "channel, old_price, new_price, applied FROM revisions "
				   "ORDER BY id DESC LIMIT ?",
				   limit);
	bool sync = !strcmp(sub, "pull") || !strcmp(sub, "push");
	if (strcmp(sub, "ls") && strcmp(sub, "stats") && strcmp(sub, "export") && !sync)
		return mc_usage_error(help.usage, "unknown subcommand '%s'", sub);
	mc_lake *lake;
	int rc = open_lake(ctx, !sync, &lake);
	if (rc)
		return rc;
	if (sync)
		rc = lake_sync(ctx, lake, !strcmp(sub, "push"));
	else if (!strcmp(sub, "ls"))
		rc = lake_ls(ctx, lake);
	else if (!strcmp(sub, "stats"))
		rc = lake_stats(ctx, lake);
	else
		rc = lake_export(ctx, lake, format, output, from, to);
	mc_lake_free(lake);
	return rc;
}
