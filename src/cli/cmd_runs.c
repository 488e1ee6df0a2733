/* `milkcast runs list|show|compare|export`: the tracked training runs. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "milkcast/artifact.h"
#include "milkcast/mlflow.h"
#include "milkcast/store.h"
#include "milkcast/tracking.h"

static const mc_command_help help = {
	"milkcast runs list|show RUN|compare RUN RUN...|export --mlflow URL [options]",
	"The tracked runs: what each training searched, found and wrote.",
	"  list      top-level runs, newest first (--all: trial runs too)\n"
	"  show      one run: status, times, params, latest metrics, tags, child runs\n"
	"  compare   params and metrics of several runs side by side\n"
	"  export    push runs (params, metric histories, tags, statuses) and the\n"
	"            registry (models, versions, aliases) to an MLflow tracking server\n"
	"            (REST API 2.0); only what that server has not received yet\n"
	"Runs follow MLflow's model: a run per `train` with a child run per trial;\n"
	"params never change once logged; metrics keep their history (a trial's\n"
	"valid_rmse_curve has one value per boosting round).\n"
	"export: URL defaults to $MLFLOW_TRACKING_URI; credentials come from the\n"
	"environment only and are never printed: basic auth with\n"
	"$MLFLOW_TRACKING_USERNAME and $MLFLOW_TRACKING_PASSWORD, else the bearer\n"
	"token $MLFLOW_TRACKING_TOKEN (as MLflow's own client).\n"
	"RUNNING runs wait for a later export. NaN and infinite metric values are sent\n"
	"as \"NaN\", \"Infinity\", \"-Infinity\". An export that fails half way keeps\n"
	"what the server accepted; run it again to continue.",
};

static const char *field(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static int runs_list(mc_ctx *ctx, bool all)
{
	mc_error err = MC_ERROR_INIT;
	json_t *rows = mc_cli_query_json(
		ctx,
		all ? "SELECT r.run_uuid AS run_id, r.name, r.status, r.start_time, "
		      "r.end_time, r.parent_run_uuid AS parent, "
		      "(SELECT value FROM metrics m WHERE m.run_uuid = r.run_uuid AND "
		      "m.key IN ('best_valid_rmse','valid_rmse') ORDER BY m.rowid DESC "
		      "LIMIT 1) AS valid_rmse FROM runs r ORDER BY r.start_time DESC, r.rowid "
		      "DESC"
		    : "SELECT r.run_uuid AS run_id, r.name, r.status, r.start_time, "
		      "r.end_time, (SELECT count(*) FROM runs c WHERE c.parent_run_uuid = "
		      "r.run_uuid) AS trials, (SELECT value FROM metrics m WHERE m.run_uuid "
		      "= r.run_uuid AND m.key = 'best_valid_rmse' ORDER BY m.rowid DESC "
		      "LIMIT 1) AS valid_rmse FROM runs r WHERE r.parent_run_uuid IS NULL "
		      "ORDER BY r.start_time DESC, r.rowid DESC",
		NULL, &err);
	if (!rows)
		return mc_die_error(&err);
	if (ctx->json) {
		mc_print_json(rows);
		return MC_EXIT_OK;
	}
	printf("%-32s  %-10s %-9s %-7s %s\n", "run", "name", "status", "trials", "valid RMSE");
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		printf("%-32s  %-10s %-9s %-7s %s\n", field(r, "run_id"), field(r, "name"),
		       field(r, "status"), all ? "" : field(r, "trials"), field(r, "valid_rmse"));
	}
	json_decref(rows);
	return MC_EXIT_OK;
}

/* One run as JSON: the row, params, latest metrics, tags, children. */
static json_t *run_json(mc_ctx *ctx, const char *id, mc_error *err)
{
	static const struct {
		const char *key, *sql;
	} parts[] = {
		{"run",
		 "SELECT run_uuid AS run_id, experiment_id, parent_run_uuid AS parent, name, "
		 "status, start_time, end_time, artifact_uri FROM runs WHERE run_uuid = ?"},
		{"params", "SELECT key, value FROM params WHERE run_uuid = ? ORDER BY key"},
		{"metrics", "SELECT key, value, step, timestamp FROM metrics m WHERE run_uuid = ? "
			    "AND step = (SELECT max(step) FROM metrics n WHERE n.run_uuid = "
			    "m.run_uuid AND n.key = m.key) GROUP BY key ORDER BY key"},
		{"tags", "SELECT key, value FROM tags WHERE run_uuid = ? ORDER BY key"},
		{"children",
		 "SELECT r.run_uuid AS run_id, r.name, r.status, (SELECT value FROM "
		 "metrics m WHERE m.run_uuid = r.run_uuid AND m.key = 'valid_rmse' LIMIT "
		 "1) AS valid_rmse FROM runs r WHERE parent_run_uuid = ? ORDER BY "
		 "r.start_time, r.rowid"},
	};
	json_t *out = json_object();
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
		json_t *rows = mc_cli_query_json(ctx, parts[i].sql, id, err);
		if (!rows) {
			json_decref(out);
			return NULL;
		}
		if (i == 0 && json_array_size(rows) == 0) {
			json_decref(rows);
			json_decref(out);
			mc_fail(err, MC_ERR_NOT_FOUND,
				"no run '%s' ('milkcast runs list' lists them)", id);
			return NULL;
		}
		json_object_set_new(out, parts[i].key,
				    i == 0 ? json_incref(json_array_get(rows, 0))
					   : json_incref(rows));
		json_decref(rows);
	}
	return out;
}

/* The run's artifacts: the keys under its artifact_uri (null when it has none or the
 * store cannot be read, with the reason in "artifacts_error"). */
static void add_artifacts(json_t *j)
{
	const char *uri =
		json_string_value(json_object_get(json_object_get(j, "run"), "artifact_uri"));
	if (!uri) {
		json_object_set_new(j, "artifacts", json_null());
		return;
	}
	mc_error err = MC_ERROR_INIT;
	mc_artifact_store *st = NULL;
	mc_artifact_keys keys = {NULL, 0};
	if (mc_artifact_open(uri, NULL, &st, &err) || mc_artifact_list(st, "", &keys, &err)) {
		json_object_set_new(j, "artifacts", json_null());
		json_object_set_new(j, "artifacts_error", json_string(err.msg));
	} else {
		json_t *a = json_array();
		for (size_t i = 0; i < keys.n; i++)
			json_array_append_new(a, json_string(keys.keys[i]));
		json_object_set_new(j, "artifacts", a);
	}
	mc_artifact_keys_release(&keys);
	mc_artifact_free(st);
}

static void print_pairs(const char *title, json_t *rows, const char *k, const char *v)
{
	printf("%s\n", title);
	size_t i;
	json_t *r;
	json_array_foreach(rows, i, r)
	{
		printf("  %-28s %s\n", field(r, k), field(r, v));
	}
}

static int runs_show(mc_ctx *ctx, const char *id)
{
	mc_error err = MC_ERROR_INIT;
	json_t *j = run_json(ctx, id, &err);
	if (!j)
		return mc_die_error(&err);
	add_artifacts(j);
	if (ctx->json) {
		mc_print_json(j);
		return MC_EXIT_OK;
	}
	json_t *run = json_object_get(j, "run");
	printf("run %s (%s) %s, started %s ms, ended %s ms\n", field(run, "run_id"),
	       field(run, "name"), field(run, "status"), field(run, "start_time"),
	       field(run, "end_time"));
	print_pairs("params", json_object_get(j, "params"), "key", "value");
	print_pairs("metrics (latest)", json_object_get(j, "metrics"), "key", "value");
	print_pairs("tags", json_object_get(j, "tags"), "key", "value");
	json_t *arts = json_object_get(j, "artifacts");
	if (json_is_array(arts)) {
		printf("artifacts in %s\n", field(run, "artifact_uri"));
		size_t i;
		json_t *a;
		json_array_foreach(arts, i, a)
		{
			printf("  %s\n", json_string_value(a));
		}
	} else if (json_object_get(j, "artifacts_error")) {
		printf("artifacts: %s\n", json_string_value(json_object_get(j, "artifacts_error")));
	}
	json_t *kids = json_object_get(j, "children");
	if (json_array_size(kids)) {
		printf("child runs\n");
		size_t i;
		json_t *r;
		json_array_foreach(kids, i, r)
		{
			printf("  %s  %-10s %-9s valid RMSE %s\n", field(r, "run_id"),
			       field(r, "name"), field(r, "status"), field(r, "valid_rmse"));
		}
	}
	json_decref(j);
	return MC_EXIT_OK;
}

static int runs_compare(mc_ctx *ctx, int n, char **ids)
{
	mc_error err = MC_ERROR_INIT;
	json_t *all = json_array();
	for (int i = 0; i < n; i++) {
		json_t *j = run_json(ctx, ids[i], &err);
		if (!j) {
			json_decref(all);
			return mc_die_error(&err);
		}
		json_array_append_new(all, j);
	}
	if (ctx->json) {
		mc_print_json(all);
		return MC_EXIT_OK;
	}
	/* Rows: every param and metric key of the first run; columns: the runs. */
	static const char *const kinds[] = {"params", "metrics"};
	for (int k = 0; k < 2; k++) {
		printf("%s\n", kinds[k]);
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(json_array_get(all, 0), kinds[k]), i, r)
		{
			const char *key = field(r, "key");
			printf("  %-24s", key);
			for (int c = 0; c < n; c++) {
				const char *v = "-";
				size_t m;
				json_t *x;
				json_array_foreach(
					json_object_get(json_array_get(all, (size_t)c), kinds[k]),
					m, x)
				{
					if (!strcmp(field(x, "key"), key))
						v = field(x, "value");
				}
				printf(" %-20.20s", v);
			}
			printf("\n");
		}
	}
	json_decref(all);
	return MC_EXIT_OK;
}

/* --- export --------------------------------------------------------------------- */

typedef struct export_out {
	mc_ctx *ctx;
	json_t *requests; /* --json --dry-run: what would be sent */
} export_out;

static void on_request(void *user, const char *method, const char *path, const char *body,
		       bool dry_run)
{
	export_out *out = user;
	if (dry_run && out->requests) {
		json_t *b = body ? json_loads(body, 0, NULL) : json_null();
		json_array_append_new(out->requests, json_pack("{s:s, s:s, s:o*}", "method", method,
							       "path", path, "body", b));
	} else if (dry_run) {
		printf("%s %s%s%s\n", method, path, body ? " " : "", body ? body : "");
	} else {
		mc_verbose(out->ctx, "%s %s\n", method, path);
	}
}

static json_t *summary_json(const char *server, bool dry_run, const mc_mlflow_summary *s)
{
	json_t *j = json_pack("{s:s, s:b}", "server", server, "dry_run", dry_run);
	const struct {
		const char *k;
		size_t v;
	} f[] = {{"experiments_created", s->experiments_created},
		 {"runs", s->runs},
		 {"runs_resumed", s->runs_resumed},
		 {"runs_already_exported", s->runs_before},
		 {"runs_pending", s->runs_pending},
		 {"params", s->params},
		 {"tags", s->tags},
		 {"metrics", s->metrics},
		 {"non_finite_metrics", s->non_finite},
		 {"batches", s->batches},
		 {"models_created", s->models_created},
		 {"versions", s->versions},
		 {"versions_already_exported", s->versions_before},
		 {"versions_pending", s->versions_pending},
		 {"aliases", s->aliases},
		 {"requests", s->requests},
		 {"retries", s->retries}};
	for (size_t i = 0; j && i < sizeof f / sizeof *f; i++)
		json_object_set_new(j, f[i].k, json_integer((json_int_t)f[i].v));
	return j;
}

static void print_summary(mc_ctx *ctx, const char *server, bool dry_run, const mc_mlflow_summary *s)
{
	mc_info(ctx,
		"%s %s: %zu runs (%zu resumed), %zu params, %zu metric values (%zu non-finite), "
		"%zu tags in %zu batches; %zu model versions, %zu aliases\n",
		dry_run ? "would export to" : "exported to", server, s->runs, s->runs_resumed,
		s->params, s->metrics, s->non_finite, s->tags, s->batches, s->versions, s->aliases);
	mc_info(ctx,
		"  already there: %zu runs, %zu versions; left for later: %zu runs (running or "
		"parent not exported), %zu versions; %zu requests, %zu retries\n",
		s->runs_before, s->versions_before, s->runs_pending, s->versions_pending,
		s->requests, s->retries);
}

typedef struct export_args {
	const char *url, *experiment, *source_base;
	bool dry_run;
	long retries;
} export_args;

static int runs_export(mc_ctx *ctx, const export_args *a)
{
	mc_mlflow_opts o;
	mc_mlflow_opts_init(&o);
	o.url = a->url ? a->url : getenv("MLFLOW_TRACKING_URI");
	if (!o.url || !*o.url)
		return mc_usage_error(help.usage,
				      "export needs --mlflow URL (or MLFLOW_TRACKING_URI)");
	if (a->retries < 0 || a->retries > 10)
		return mc_usage_error(help.usage, "--retries is 0 to 10, not %ld", a->retries);
	o.experiment = a->experiment;
	o.source_base = a->source_base;
	o.dry_run = a->dry_run;
	o.retries = (int)a->retries;
	mc_error err = MC_ERROR_INIT;
	char *server = mc_mlflow_server_key(o.url, &err);
	if (!server)
		return mc_usage_error(help.usage, "%s", err.msg);
	export_out out = {ctx, ctx->json && a->dry_run ? json_array() : NULL};
	o.on_request = on_request;
	o.user = &out;
	mc_mlflow_summary sum;
	mc_code rc = mc_mlflow_export(ctx->store, &o, &sum, &err);
	if (rc) {
		json_decref(out.requests);
		free(server);
		if (sum.runs || sum.versions || sum.aliases || sum.batches)
			mc_error_prefix(&err,
					"export stopped (what the server accepted is recorded; "
					"run it again to continue): ");
		return mc_die_error(&err);
	}
	if (ctx->json) {
		json_t *j = summary_json(server, a->dry_run, &sum);
		if (out.requests)
			json_object_set_new(j, "requests", out.requests);
		mc_print_json(j);
	} else {
		print_summary(ctx, server, a->dry_run, &sum);
	}
	free(server);
	return MC_EXIT_OK;
}

int cmd_runs(int argc, char **argv, mc_ctx *ctx)
{
	bool all = false;
	export_args ex = {.retries = 3};
	const mc_option opts[] = {
		MC_OPT_FLAG(0, "all", &all, "list: trial runs too"),
		MC_OPT_STRING(0, "mlflow", &ex.url, "URL",
			      "export: the MLflow tracking server (default $MLFLOW_TRACKING_URI)"),
		MC_OPT_STRING(0, "experiment", &ex.experiment, "NAME",
			      "export: only this experiment's runs (default all)"),
		MC_OPT_FLAG(0, "dry-run", &ex.dry_run,
			    "export: print the requests that would be sent, send nothing"),
		MC_OPT_STRING(0, "source-base", &ex.source_base, "URI",
			      "export: model version sources are URI + the bundle's path in the "
			      "workspace (default a file:// URI)"),
		MC_OPT_INT(0, "retries", &ex.retries, "N",
			   "export: retries on 5xx, 429 and transport errors (default 3)"),
		MC_OPT_END(),
	};
	int n = mc_parse_options(argc, argv, opts, &help, ctx);
	if (n < 0)
		return mc_parse_exit(n);
	if (n == 0)
		return mc_usage_error(
			help.usage,
			"say list, show RUN, compare RUN RUN... or export --mlflow URL");
	int rc = mc_ctx_open_store(ctx);
	if (rc)
		return rc;
	if (!strcmp(argv[0], "list") && n == 1)
		return runs_list(ctx, all);
	if (!strcmp(argv[0], "show") && n == 2)
		return runs_show(ctx, argv[1]);
	if (!strcmp(argv[0], "compare") && n >= 3)
		return runs_compare(ctx, n - 1, argv + 1);
	if (!strcmp(argv[0], "export") && n == 1)
		return runs_export(ctx, &ex);
	return mc_usage_error(help.usage, "unknown or incomplete subcommand '%s'", argv[0]);
}
