/* `runs export --mlflow`: experiments and runs to an MLflow server; see milkcast/mlflow.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/tracking.h"
#include "track/mlflow_int.h"

void mc_mlflow_opts_init(mc_mlflow_opts *o)
{
	*o = (mc_mlflow_opts){.retries = 3, .backoff_ms = 500, .timeout_s = 60};
	o->token = getenv("MLFLOW_TRACKING_TOKEN");
	o->username = getenv("MLFLOW_TRACKING_USERNAME");
	o->password = getenv("MLFLOW_TRACKING_PASSWORD");
}

char *mc_mlflow_server_key(const char *url, mc_error *err)
{
	const char *rest = !strncmp(url, "http://", 7)	  ? url + 7
			   : !strncmp(url, "https://", 8) ? url + 8
							  : NULL;
	if (!rest || !*rest || *rest == '/') {
		mc_fail(err, MC_ERR_INVALID,
			"MLflow URL '%.200s': expected http://HOST[:PORT][/PREFIX] or https://...",
			url);
		return NULL;
	}
	size_t authority = strcspn(rest, "/");
	if (memchr(rest, '@', authority)) {
		mc_fail(err, MC_ERR_INVALID,
			"MLflow URL: put credentials in MLFLOW_TRACKING_TOKEN or "
			"MLFLOW_TRACKING_USERNAME/PASSWORD, not in the URL");
		return NULL;
	}
	if (strpbrk(url, "?# \t\r\n")) {
		mc_fail(err, MC_ERR_INVALID,
			"MLflow URL '%.200s': no query, fragment or spaces, just the server's base",
			url);
		return NULL;
	}
	size_t n = strlen(url);
	while (n > 0 && url[n - 1] == '/')
		n--;
	char *key = strndup(url, n);
	if (!key)
		mc_fail(err, MC_ERR_NOMEM, "out of memory");
	return key;
}

mc_code mlflow_append_tag(json_t *a, const char *k, const char *v)
{
	if (!v)
		return MC_OK;
	json_t *t = json_pack("{s:s, s:s}", "key", k, "value", v);
	return t && !json_array_append_new(a, t) ? MC_OK : MC_ERR_NOMEM;
}

mc_code mlflow_send(mlflow_exporter *ex, const char *method, const char *endpoint,
		    const char *query, json_t *body, mlflow_reply *r, mc_error *err)
{
	*r = (mlflow_reply){0};
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
	if (body && !text)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (ex->o->on_request) {
		char path[512];
		snprintf(path, sizeof path, MLFLOW_API_PATH "%s%s%s", endpoint, query ? "?" : "",
			 query ? query : "");
		ex->o->on_request(ex->o->user, method, path, text, ex->o->dry_run);
	}
	mc_code rc = MC_OK;
	if (ex->o->dry_run) {
		ex->sum->requests++;
	} else {
		int attempts = 0;
		rc = mlflow_call(ex->client, method, endpoint, query, text, r, &attempts, err);
		ex->sum->requests += (size_t)attempts;
		ex->sum->retries += attempts > 1 ? (size_t)attempts - 1 : 0;
	}
	free(text);
	return rc;
}

/* --- experiments ---------------------------------------------------------------- */

/* The experiment's id by name; *missing when the server has no such experiment. */
static mc_code get_experiment(mlflow_exporter *ex, const char *name, const char **id, bool *missing,
			      mc_error *err)
{
	*missing = false;
	char *q = mlflow_query_param("experiment_name", name);
	if (!q)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mlflow_reply r = {0};
	mc_code rc = mlflow_send(ex, "GET", "experiments/get-by-name", q, NULL, &r, err);
	free(q);
	if (rc && !strcmp(r.error_code, "RESOURCE_DOES_NOT_EXIST")) {
		*missing = true;
		mc_error_clear(err);
		return MC_OK;
	}
	if (rc)
		return rc;
	json_t *e = json_object_get(r.body, "experiment");
	const char *stage = json_string_value(json_object_get(e, "lifecycle_stage"));
	*id = json_string_value(json_object_get(e, "experiment_id"));
	if (stage && !strcmp(stage, "deleted"))
		rc = mc_fail(err, MC_ERR_INVALID,
			     "experiment '%s' is deleted on %s: restore it there (or rename the "
			     "local one)",
			     name, ex->server);
	else if (ex->o->dry_run)
		*id = "dry-run:experiment";
	else if (!*id)
		rc = mc_fail(err, MC_ERR_FORMAT,
			     "GET experiments/get-by-name: the reply for '%s' has no "
			     "experiment.experiment_id",
			     name);
	if (!rc && json_object_set_new(ex->experiments, name, json_string(*id)))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mlflow_reply_release(&r);
	if (!rc)
		*id = json_string_value(json_object_get(ex->experiments, name));
	return rc;
}

static mc_code create_experiment(mlflow_exporter *ex, const char *name, mc_error *err)
{
	json_t *body = json_pack("{s:s}", "name", name);
	if (!body)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mlflow_reply r = {0};
	mc_code rc = mlflow_send(ex, "POST", "experiments/create", NULL, body, &r, err);
	json_decref(body);
	if (!rc) {
		ex->sum->experiments_created++;
	} else if (!strcmp(r.error_code, "RESOURCE_ALREADY_EXISTS")) {
		rc = MC_OK; /* created meanwhile by someone else */
		mc_error_clear(err);
	}
	mlflow_reply_release(&r);
	return rc;
}

/* The remote id of an experiment by name, created when the server has none. */
static mc_code experiment_id(mlflow_exporter *ex, const char *name, const char **id, mc_error *err)
{
	*id = json_string_value(json_object_get(ex->experiments, name));
	if (*id)
		return MC_OK;
	bool missing;
	mc_code rc = get_experiment(ex, name, id, &missing, err);
	if (rc || !missing)
		return rc;
	rc = create_experiment(ex, name, err);
	if (!rc)
		rc = get_experiment(ex, name, id, &missing, err);
	if (!rc && missing)
		rc = mc_fail(err, MC_ERR_NOT_FOUND,
			     "experiment '%s' was created on %s but cannot be found there", name,
			     ex->server);
	return rc;
}

/* --- runs ----------------------------------------------------------------------- */

static const char *field(json_t *row, const char *k)
{
	return json_string_value(json_object_get(row, k));
}

static mc_code create_run(mlflow_exporter *ex, json_t *row, const char **remote, mc_error *err)
{
	const char *id = field(row, "run_id"), *name = field(row, "name"),
		   *parent = field(row, "parent"), *exp;
	mc_code rc = experiment_id(ex, field(row, "experiment"), &exp, err);
	if (rc)
		return rc;
	json_t *tags = json_array();
	if (mlflow_append_tag(tags, "mlflow.runName", name) ||
	    mlflow_append_tag(tags, "mlflow.parentRunId",
			      parent ? json_string_value(json_object_get(ex->runs, parent))
				     : NULL) ||
	    mlflow_append_tag(tags, "milkcast.run_id", id)) {
		json_decref(tags);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	json_t *body = json_pack("{s:s, s:O, s:o}", "experiment_id", exp, "start_time",
				 json_object_get(row, "start_time"), "tags", tags);
	if (body && name)
		json_object_set_new(body, "run_name", json_string(name));
	mlflow_reply r = {0};
	rc = body ? mlflow_send(ex, "POST", "runs/create", NULL, body, &r, err)
		  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	json_decref(body);
	if (rc)
		return mc_error_prefix(err, "cannot export run %s: ", id);
	char placeholder[MC_RUN_ID_LEN + 16];
	snprintf(placeholder, sizeof placeholder, "dry-run:%s", id);
	json_t *info = json_object_get(json_object_get(r.body, "run"), "info");
	const char *got =
		ex->o->dry_run ? placeholder : json_string_value(json_object_get(info, "run_id"));
	if (!got)
		rc = mc_fail(err, MC_ERR_FORMAT,
			     "POST runs/create: the reply has no run.info.run_id");
	else if (json_object_set_new(ex->runs, id, json_string(got)))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mlflow_reply_release(&r);
	if (!rc)
		*remote = json_string_value(json_object_get(ex->runs, id));
	return rc ? rc : mlflow_map_put(ex, "run", id, "", *remote, err);
}

static size_t count_non_finite(json_t *body)
{
	size_t n = 0, i;
	json_t *m;
	json_array_foreach(json_object_get(body, "metrics"), i, m)
	{
		n += json_is_string(json_object_get(m, "value"));
	}
	return n;
}

/* The log-batch requests of a run from number `from` on, each recorded once accepted. */
static mc_code send_batches(mlflow_exporter *ex, const char *id, const char *remote, size_t from,
			    size_t *total, mc_error *err)
{
	mlflow_run_data d;
	mc_code rc = mlflow_load_run(ex->s, id, &d, err);
	mlflow_batch *plan = NULL;
	size_t n = 0;
	if (!rc && mlflow_plan_batches(&d, &plan, &n))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t k = from; !rc && k < n; k++) {
		json_t *body = mlflow_batch_json(remote, &d, &plan[k]);
		mlflow_reply r = {0};
		rc = body ? mlflow_send(ex, "POST", "runs/log-batch", NULL, body, &r, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
		mlflow_reply_release(&r);
		if (!rc) {
			ex->sum->batches++;
			ex->sum->params += plan[k].np;
			ex->sum->tags += plan[k].nt;
			ex->sum->metrics += plan[k].nm;
			ex->sum->non_finite += count_non_finite(body);
			rc = mlflow_map_progress(ex, id, k + 1, false, err);
		} else {
			mc_error_prefix(err, "cannot export run %s (batch %zu of %zu): ", id, k + 1,
					n);
		}
		json_decref(body);
	}
	*total = n;
	free(plan);
	mlflow_run_data_release(&d);
	return rc;
}

static mc_code finish_run(mlflow_exporter *ex, json_t *row, const char *remote, size_t batches,
			  mc_error *err)
{
	const char *id = field(row, "run_id");
	json_t *body = json_pack("{s:s, s:s}", "run_id", remote, "status", field(row, "status"));
	json_t *end = json_object_get(row, "end_time");
	if (body && json_is_integer(end))
		json_object_set(body, "end_time", end);
	mlflow_reply r = {0};
	mc_code rc = body ? mlflow_send(ex, "POST", "runs/update", NULL, body, &r, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	json_decref(body);
	mlflow_reply_release(&r);
	if (rc)
		return mc_error_prefix(err, "cannot export run %s: ", id);
	return mlflow_map_progress(ex, id, batches, true, err);
}

static mc_code export_run(mlflow_exporter *ex, json_t *row, mc_error *err)
{
	const char *id = field(row, "run_id"), *parent = field(row, "parent");
	const char *remote = field(row, "remote_id");
	if (json_integer_value(json_object_get(row, "done"))) {
		ex->sum->runs_before++;
		return MC_OK;
	}
	if (!strcmp(field(row, "status"), MC_RUN_RUNNING) ||
	    (parent && !json_object_get(ex->runs, parent))) {
		ex->sum->runs_pending++;
		return MC_OK;
	}
	mc_code rc = MC_OK;
	if (remote)
		ex->sum->runs_resumed++;
	else
		rc = create_run(ex, row, &remote, err);
	size_t from = (size_t)json_integer_value(json_object_get(row, "batches")), n = 0;
	if (!rc)
		rc = send_batches(ex, id, remote, from, &n, err);
	if (!rc)
		rc = finish_run(ex, row, remote, n > from ? n : from, err);
	if (!rc)
		ex->sum->runs++;
	return rc;
}

/* Runs of the chosen experiments, top-level ones first, each with what the server has of it. */
static mc_code export_runs(mlflow_exporter *ex, mc_error *err)
{
	const char *args[] = {ex->server, ex->o->experiment};
	json_t *rows;
	mc_code rc = mlflow_rows(
		ex->s,
		"SELECT r.run_uuid AS run_id, e.name AS experiment, r.parent_run_uuid AS parent,"
		" r.name, r.status, r.start_time, r.end_time, x.remote_id, x.batches, x.done"
		" FROM runs r JOIN experiments e ON e.experiment_id = r.experiment_id"
		" LEFT JOIN mlflow_exports x ON x.server = ?1 AND x.kind = 'run'"
		" AND x.local_id = r.run_uuid WHERE ?2 IS NULL OR e.name = ?2"
		" ORDER BY r.parent_run_uuid IS NOT NULL, r.start_time, r.rowid",
		args, 2, "tttttiitii", &rows, err);
	if (rc)
		return rc;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		const char *remote = field(row, "remote_id");
		if (remote &&
		    json_object_set_new(ex->runs, field(row, "run_id"), json_string(remote)))
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	json_array_foreach(rows, i, row)
	{
		if (rc || (rc = export_run(ex, row, err)))
			break;
	}
	json_decref(rows);
	return rc;
}

/* Every run already exported to this server, so versions can name their remote run. */
static mc_code load_run_map(mlflow_exporter *ex, mc_error *err)
{
	const char *args[] = {ex->server};
	json_t *rows;
	mc_code rc = mlflow_rows(ex->s,
				 "SELECT local_id, remote_id FROM mlflow_exports WHERE server = ?"
				 " AND kind = 'run'",
				 args, 1, "tt", &rows, err);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		if (!rc && json_object_set(ex->runs, field(row, "local_id"),
					   json_object_get(row, "remote_id")))
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	json_decref(rows);
	return rc;
}

static mc_code check_experiment(mc_store *s, const char *name, mc_error *err)
{
	if (!name)
		return MC_OK;
	const char *args[] = {name};
	json_t *rows;
	mc_code rc = mlflow_rows(s, "SELECT experiment_id FROM experiments WHERE name = ?", args, 1,
				 "i", &rows, err);
	if (!rc && json_array_size(rows) == 0)
		rc = mc_fail(err, MC_ERR_NOT_FOUND,
			     "no experiment '%s' in milkcast.db ('milkcast runs list' shows runs)",
			     name);
	json_decref(rows);
	return rc;
}

static void exporter_release(mlflow_exporter *ex)
{
	mlflow_client_free(ex->client);
	free(ex->server);
	json_decref(ex->runs);
	json_decref(ex->experiments);
	json_decref(ex->versions);
}

mc_code mc_mlflow_export(mc_store *s, const mc_mlflow_opts *o, mc_mlflow_summary *sum,
			 mc_error *err)
{
	*sum = (mc_mlflow_summary){0};
	mlflow_exporter ex = {.s = s, .o = o, .sum = sum};
	if (!o->url)
		return mc_fail(err, MC_ERR_INVALID, "no MLflow URL given");
	if (!(ex.server = mc_mlflow_server_key(o->url, err)))
		return err->code;
	ex.runs = json_object();
	ex.experiments = json_object();
	ex.versions = json_object();
	mc_code rc = !ex.runs || !ex.experiments || !ex.versions
			     ? mc_fail(err, MC_ERR_NOMEM, "out of memory")
			     : check_experiment(s, o->experiment, err);
	if (!rc && !o->dry_run)
		rc = mlflow_client_new(o, ex.server, &ex.client, err);
	if (!rc)
		rc = load_run_map(&ex, err);
	if (!rc)
		rc = export_runs(&ex, err);
	if (!rc)
		rc = mlflow_export_registry(&ex, err);
	exporter_release(&ex);
	return rc;
}
