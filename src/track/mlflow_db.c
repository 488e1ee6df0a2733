/* What the MLflow export reads from milkcast.db, and its record of what a server accepted. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "milkcast/tracking.h"
#include "track/mlflow_int.h"

static mc_code bind_args(mc_stmt *st, const char *const *args, int nargs, mc_error *err)
{
	for (int i = 0; i < nargs; i++)
		if (mc_stmt_bind_text(st, i + 1, args[i]))
			return mc_fail(err, MC_ERR_DB, "cannot bind parameter %d of a query",
				       i + 1);
	return MC_OK;
}

static json_t *cell(mc_stmt *st, int i, char type)
{
	if (mc_stmt_is_null(st, i))
		return json_null();
	if (type == 'i')
		return json_integer(mc_stmt_int(st, i));
	return json_string(mc_stmt_text(st, i));
}

mc_code mlflow_rows(mc_store *s, const char *sql, const char *const *args, int nargs,
		    const char *types, json_t **out, mc_error *err)
{
	*out = NULL;
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	rc = bind_args(st, args, nargs, err);
	json_t *a = json_array();
	bool row = false;
	while (!rc && !(rc = mc_stmt_step(st, &row, err)) && row) {
		json_t *o = json_object();
		for (int i = 0; !rc && types[i]; i++) {
			json_t *v = cell(st, i, types[i]);
			if (!v)
				rc = mc_fail(
					err, MC_ERR_FORMAT,
					"column %s of milkcast.db holds text that is not UTF-8",
					mc_stmt_column_name(st, i));
			else
				json_object_set_new(o, mc_stmt_column_name(st, i), v);
		}
		json_array_append_new(a, o);
	}
	mc_stmt_free(st);
	if (rc) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return MC_OK;
}

mc_code mlflow_map_put(mlflow_exporter *ex, const char *kind, const char *local_id,
		       const char *local_key, const char *remote_id, mc_error *err)
{
	if (ex->o->dry_run)
		return MC_OK;
	mc_stmt *st;
	mc_code rc =
		mc_stmt_prepare(ex->s,
				"INSERT OR REPLACE INTO mlflow_exports(server, kind, local_id,"
				" local_key, remote_id, exported_at) VALUES (?, ?, ?, ?, ?, ?)",
				&st, err);
	if (rc)
		return rc;
	const char *t[] = {ex->server, kind, local_id, local_key, remote_id};
	rc = bind_args(st, t, 5, err);
	if (!rc && mc_stmt_bind_int(st, 6, mc_now_ms()))
		rc = mc_fail(err, MC_ERR_DB, "cannot bind the export time");
	if (!rc)
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	return rc ? mc_error_prefix(err, "cannot record the export of %s '%s': ", kind, local_id)
		  : MC_OK;
}

mc_code mlflow_map_progress(mlflow_exporter *ex, const char *run, size_t batches, bool done,
			    mc_error *err)
{
	if (ex->o->dry_run)
		return MC_OK;
	mc_stmt *st;
	mc_code rc =
		mc_stmt_prepare(ex->s,
				"UPDATE mlflow_exports SET batches = ?, done = ?, exported_at = ?"
				" WHERE server = ? AND kind = 'run' AND local_id = ?",
				&st, err);
	if (rc)
		return rc;
	if (mc_stmt_bind_int(st, 1, (int64_t)batches) || mc_stmt_bind_int(st, 2, done) ||
	    mc_stmt_bind_int(st, 3, mc_now_ms()) || mc_stmt_bind_text(st, 4, ex->server) ||
	    mc_stmt_bind_text(st, 5, run))
		rc = mc_fail(err, MC_ERR_DB, "cannot bind the progress of run %s", run);
	if (!rc)
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	return rc ? mc_error_prefix(err, "cannot record the export of run %s: ", run) : MC_OK;
}

/* {key, value} pairs of a run from params or tags. */
static mc_code load_pairs(mc_store *s, const char *sql, const char *what, const char *run,
			  json_t **out, mc_error *err)
{
	const char *args[] = {run};
	mc_code rc = mlflow_rows(s, sql, args, 1, "tt", out, err);
	return rc ? mc_error_prefix(err, "%s of run %s: ", what, run) : MC_OK;
}

static json_t *metric_json(mc_stmt *st)
{
	/* SQLite has no NaN: the tracking store keeps is_nan and 0 (NULL counts as NaN too). */
	double v = mc_stmt_int(st, 4) || mc_stmt_is_null(st, 1) ? NAN : mc_stmt_double(st, 1);
	json_t *key = json_string(mc_stmt_text(st, 0));
	if (!key)
		return NULL;
	return json_pack("{s:o, s:o, s:I, s:I}", "key", key, "value", mlflow_metric_value(v),
			 "timestamp", (json_int_t)mc_stmt_int(st, 2), "step",
			 (json_int_t)mc_stmt_int(st, 3));
}

static mc_code load_metrics(mc_store *s, const char *run, json_t **out, mc_error *err)
{
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s,
				     "SELECT key, value, timestamp, step, is_nan FROM metrics"
				     " WHERE run_uuid = ? ORDER BY rowid",
				     &st, err);
	if (rc)
		return rc;
	const char *args[] = {run};
	rc = bind_args(st, args, 1, err);
	json_t *a = json_array();
	bool row = false;
	while (!rc && !(rc = mc_stmt_step(st, &row, err)) && row) {
		json_t *m = metric_json(st);
		if (!m)
			rc = mc_fail(err, MC_ERR_FORMAT, "a metric key of run %s is not UTF-8",
				     run);
		else
			json_array_append_new(a, m);
	}
	mc_stmt_free(st);
	if (rc) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return MC_OK;
}

mc_code mlflow_load_run(mc_store *s, const char *run, mlflow_run_data *d, mc_error *err)
{
	*d = (mlflow_run_data){0};
	mc_code rc = load_pairs(s, "SELECT key, value FROM params WHERE run_uuid = ? ORDER BY key",
				"params", run, &d->params, err);
	if (!rc)
		rc = load_pairs(s, "SELECT key, value FROM tags WHERE run_uuid = ? ORDER BY key",
				"tags", run, &d->tags, err);
	if (!rc)
		rc = load_metrics(s, run, &d->metrics, err);
	if (rc)
		mlflow_run_data_release(d);
	return rc;
}
