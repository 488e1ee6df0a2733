/* `milkcast ingest PATH...`: add SNIIM workbooks and Parquet files to the lake. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/forecast_cli.h"
#include "milkcast/date.h"
#include "milkcast/ingest.h"
#include "milkcast/lake.h"
#include "milkcast/lake_remote.h"

static const mc_command_help help = {
	"milkcast ingest [options] PATH...",
	"Add SNIIM workbooks (.xlsx) and Parquet files to the lake.",
	"Each PATH is a workbook, a Parquet file (columns Fecha, Estado, Ciudad, Tipo,\n"
	"Canal, Precio, or the lake's own schema) or a directory of them.  Names are\n"
	"normalised, 0 / blank / N.d. prices are stored as missing, and rows that fail\n"
	"validation go to the quarantine with their reason ('milkcast lake quarantine').\n"
	"Every input is read and checked before the lake is touched: one bad file and\n"
	"nothing is written.  Ingest is idempotent: rows already in the lake are counted\n"
	"as unchanged; a different value for a past date is a revision, recorded and,\n"
	"unless --apply-revisions, not applied.\n"
	"With MILKCAST_LAKE=s3://bucket/prefix (or file:///dir) the lake is shared: the\n"
	"remote's months are pulled first, and the partitions written are uploaded,\n"
	"then the remote's manifest, before the run counts as completed.",
};

static void on_progress(void *ud, const char *stage, double done, double total)
{
	mc_progress *p = ud;
	if (strcmp(p->label, stage) != 0) {
		mc_progress_finish(p);
		mc_progress_start(p, p->ctx, stage, total);
	}
	p->total = total > 0 ? total : 1;
	mc_progress_update(p, done);
}

/* The remote lake's part of the summary: null without one. */
static json_t *remote_json(const mc_lake *l)
{
	const char *uri = mc_lake_remote_uri(l);
	if (!uri)
		return json_null();
	mc_lake_sync_stats s;
	mc_lake_sync_stats_get(l, &s);
	return json_pack("{s:s, s:I, s:I, s:b, s:I, s:I}", "uri", uri, "downloaded",
			 (json_int_t)s.downloaded, "uploaded", (json_int_t)s.uploaded,
			 "manifest_written", s.manifest_written, "generation",
			 (json_int_t)s.generation, "partitions", (json_int_t)s.remote_partitions);
}

static void print_remote(const mc_ctx *ctx, const mc_lake *l, bool dry_run)
{
	const char *uri = mc_lake_remote_uri(l);
	if (!uri)
		return;
	mc_lake_sync_stats s;
	mc_lake_sync_stats_get(l, &s);
	mc_info(ctx, "  remote lake %s: %zu partition%s downloaded", uri, s.downloaded,
		s.downloaded == 1 ? "" : "s");
	if (!dry_run)
		mc_info(ctx, ", %zu uploaded%s", s.uploaded,
			s.manifest_written ? ", manifest written" : "");
	mc_info(ctx, " (generation %" PRId64 ", %zu partitions)\n", s.generation,
		s.remote_partitions);
}

static void print_summary(const mc_ctx *ctx, const mc_ingest_summary *s, bool dry_run,
			  const char *home, const mc_lake *lake)
{
	char first[11] = "-", last[11] = "-";
	if (s->rows_read) {
		mc_date_format_iso(s->first_date, first);
		mc_date_format_iso(s->last_date, last);
	}
	if (ctx->json) {
		json_t *o = json_pack("{s:I, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "run_id", (json_int_t)s->run_id, "dry_run", dry_run, "inputs",
				      (json_int_t)s->inputs, "rows_read", (json_int_t)s->rows_read,
				      "dates_added", (json_int_t)s->dates_added, "rows_added",
				      (json_int_t)s->rows_added, "rows_missing",
				      (json_int_t)s->rows_missing, "rows_unchanged",
				      (json_int_t)s->rows_unchanged, "rows_quarantined",
				      (json_int_t)s->rows_quarantined, "rows_changed",
				      (json_int_t)s->rows_changed, "partitions_written",
				      (json_int_t)s->partitions_written);
		json_object_set_new(o, "first_date",
				    s->rows_read ? json_string(first) : json_null());
		json_object_set_new(o, "last_date", s->rows_read ? json_string(last) : json_null());
		json_object_set_new(o, "remote", remote_json(lake));
		mc_print_json(o);
		return;
	}
	mc_info(ctx, "%s%zu input%s, %zu rows read (%s to %s)\n", dry_run ? "dry run: " : "",
		s->inputs, s->inputs == 1 ? "" : "s", s->rows_read, first, last);
	mc_info(ctx, "  dates added       %zu\n", s->dates_added);
	mc_info(ctx, "  rows added        %zu (%zu with price missing)\n", s->rows_added,
		s->rows_missing);
	mc_info(ctx, "  rows unchanged    %zu\n", s->rows_unchanged);
	mc_info(ctx, "  rows quarantined  %zu%s\n", s->rows_quarantined,
		s->rows_quarantined ? "  (see 'milkcast lake quarantine')" : "");
	mc_info(ctx, "  past values changed %zu%s\n", s->rows_changed,
		s->rows_changed ? "  (see 'milkcast lake revisions')" : "");
	if (!dry_run)
		mc_info(ctx, "  partitions written %zu under %s/lake/prices (run %lld)\n",
			s->partitions_written, home, (long long)s->run_id);
	print_remote(ctx, lake, dry_run);
}

int cmd_ingest(int argc, char **argv, mc_ctx *ctx)
{
	bool apply = false, dry_run = false;
	const char *today = NULL;
	const mc_option opts[] = {
		MC_OPT_FLAG(0, "apply-revisions", &apply,
			    "replace past values that a newer input changes (recorded either way)"),
		MC_OPT_FLAG('n', "dry-run", &dry_run, "validate and count; write nothing"),
		MC_OPT_STRING(0, "today", &today, "DATE",
			      "treat DATE as today for the future-date check (replays, tests)"),
		MC_OPT_END(),
	};
	int n = mc_parse_options(argc, argv, opts, &help, ctx);
	if (n < 0)
		return mc_parse_exit(n);
	if (n == 0)
		return mc_usage_error(help.usage, "no PATH given");
	mc_ingest_opts o;
	mc_ingest_opts_init(&o);
	o.revisions = apply ? MC_REVISIONS_APPLY : MC_REVISIONS_KEEP;
	o.dry_run = dry_run;
	if (today && !mc_date_parse_iso(today, &o.today))
		return mc_usage_error(help.usage, "--today expects YYYY-MM-DD, got '%s'", today);
	int rc = mc_ctx_open_store(ctx);
	if (rc)
		return rc;
	mc_error err = MC_ERROR_INIT;
	mc_lake *lake;
	if (mc_cli_open_lake(ctx, false, &lake, &err)) /* ingest pulls under its lock */
		return mc_die_error(&err);
	mc_progress bar;
	mc_progress_start(&bar, ctx, "read", 1);
	o.progress = on_progress;
	o.progress_ud = &bar;
	mc_ingest_summary sum;
	mc_code code =
		mc_ingest(ctx->store, lake, (const char *const *)argv, (size_t)n, &o, &sum, &err);
	mc_progress_finish(&bar);
	if (code) {
		mc_lake_free(lake);
		return mc_die_error(&err);
	}
	print_summary(ctx, &sum, dry_run, ctx->home, lake);
	mc_lake_free(lake);
	return MC_EXIT_OK;
}
