/* The registry part of the MLflow export: registered models, versions and aliases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/store.h"
#include "track/mlflow_int.h"

static const char *field(json_t *row, const char *k)
{
	return json_string_value(json_object_get(row, k));
}

/* "model\nversion": names cannot hold a newline (the tracking key rule). */
static void version_key(char *out, size_t cap, const char *model, json_int_t version)
{
	snprintf(out, cap, "%s\n%lld", model, (long long)version);
}

/* The registered model of a version row, created (with its description) when the server has none.
 */
static mc_code ensure_model(mlflow_exporter *ex, json_t *known, json_t *row, mc_error *err)
{
	const char *name = field(row, "name"), *description = field(row, "model_description");
	if (json_object_get(known, name))
		return MC_OK;
	json_t *body = json_pack("{s:s}", "name", name);
	if (body && description)
		json_object_set_new(body, "description", json_string(description));
	mlflow_reply r = {0};
	mc_code rc = body ? mlflow_send(ex, "POST", "registered-models/create", NULL, body, &r, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	json_decref(body);
	if (!rc) {
		ex->sum->models_created++;
	} else if (!strcmp(r.error_code, "RESOURCE_ALREADY_EXISTS")) {
		rc = MC_OK; /* it is there: versions are added to it */
		mc_error_clear(err);
	}
	mlflow_reply_release(&r);
	if (!rc && json_object_set_new(known, name, json_true()))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = mlflow_map_put(ex, "model", name, "", name, err);
	return rc ? mc_error_prefix(err, "cannot export registered model '%s': ", name) : MC_OK;
}

/*
 * Where the bundle is, for MLflow: a URI stays as it is; a path under the
 * workspace becomes source_base + the rest when a base is given; another absolute
 * path becomes a file:// URI.
 */
static char *version_source(mlflow_exporter *ex, const char *source)
{
	const char *home = mc_store_home(ex->s), *base = ex->o->source_base;
	size_t nh = strlen(home);
	char *out = NULL;
	if (strstr(source, "://") || (!base && source[0] != '/'))
		return strdup(source);
	if (base && !strncmp(source, home, nh) && source[nh] == '/') {
		size_t nb = strlen(base);
		while (nb > 0 && base[nb - 1] == '/')
			nb--;
		if (asprintf(&out, "%.*s%s", (int)nb, base, source + nh) < 0)
			out = NULL;
	} else if (source[0] == '/') {
		if (asprintf(&out, "file://%s", source) < 0)
			out = NULL;
	} else {
		out = strdup(source);
	}
	return out;
}

/* The version's own tags (model_version_tags), after the lineage tags, whose keys win. */
static mc_code version_tags(mlflow_exporter *ex, json_t *row, const char *local, json_t *tags,
			    mc_error *err)
{
	const char *args[] = {field(row, "name"), local};
	json_t *rows;
	mc_code rc = mlflow_rows(ex->s,
				 "SELECT key, value FROM model_version_tags WHERE name = ?"
				 " AND version = CAST(? AS INTEGER) AND key NOT LIKE 'milkcast.%'"
				 " ORDER BY key",
				 args, 2, "tt", &rows, err);
	size_t i;
	json_t *t;
	json_array_foreach(rows, i, t)
	{
		if (!rc && json_array_append(tags, t))
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	json_decref(rows);
	return rc;
}

static mc_code version_body(mlflow_exporter *ex, json_t *row, const char *source, json_t **out,
			    mc_error *err)
{
	const char *run = field(row, "run_id");
	char local[32];
	snprintf(local, sizeof local, "%lld",
		 (long long)json_integer_value(json_object_get(row, "version")));
	json_t *tags = json_array();
	if (mlflow_append_tag(tags, "milkcast.version", local) ||
	    mlflow_append_tag(tags, "milkcast.run_id", run) ||
	    mlflow_append_tag(tags, "milkcast.data_sha256", field(row, "data_sha256")) ||
	    mlflow_append_tag(tags, "milkcast.code_version", field(row, "code_version")) ||
	    mlflow_append_tag(tags, "milkcast.source", field(row, "source"))) {
		json_decref(tags);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	mc_code rc = version_tags(ex, row, local, tags, err);
	json_t *body = rc ? NULL
			  : json_pack("{s:s, s:s, s:O}", "name", field(row, "name"), "source",
				      source, "tags", tags);
	json_decref(tags);
	if (!rc && !body)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (body && run)
		json_object_set(body, "run_id", json_object_get(ex->runs, run));
	if (body && field(row, "description"))
		json_object_set(body, "description", json_object_get(row, "description"));
	*out = body;
	return rc;
}

/* The remote version number of a created version, remembered for the aliases. */
static mc_code remember_version(mlflow_exporter *ex, const char *name, const char *local,
				const mlflow_reply *r, mc_error *err)
{
	char key[600], dry[64];
	snprintf(key, sizeof key, "%s\n%s", name, local);
	snprintf(dry, sizeof dry, "dry-run:%s", local);
	json_t *mv = json_object_get(r->body, "model_version");
	const char *got = ex->o->dry_run ? dry : json_string_value(json_object_get(mv, "version"));
	if (!got)
		return mc_fail(
			err, MC_ERR_FORMAT,
			"POST model-versions/create: the reply has no model_version.version");
	if (json_object_set_new(ex->versions, key, json_string(got)))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	return mlflow_map_put(ex, "version", name, local, got, err);
}

static mc_code create_version(mlflow_exporter *ex, json_t *known, json_t *row, mc_error *err)
{
	const char *name = field(row, "name");
	char local[32];
	snprintf(local, sizeof local, "%lld",
		 (long long)json_integer_value(json_object_get(row, "version")));
	mc_code rc = ensure_model(ex, known, row, err);
	char *source = rc ? NULL : version_source(ex, field(row, "source"));
	json_t *body = NULL;
	if (!rc && !source)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = version_body(ex, row, source, &body, err);
	mlflow_reply r = {0};
	if (!rc)
		rc = mlflow_send(ex, "POST", "model-versions/create", NULL, body, &r, err);
	bool local_source = rc && source && !strncmp(source, "file://", 7) &&
			    !strcmp(r.error_code, "INVALID_PARAMETER_VALUE");
	json_decref(body);
	free(source);
	if (!rc)
		rc = remember_version(ex, name, local, &r, err);
	mlflow_reply_release(&r);
	if (!rc)
		ex->sum->versions++;
	else if (local_source)
		mc_error_prefix(err,
				"cannot export version %s of model '%s' (its source is a local "
				"path: give --source-base URI): ",
				local, name);
	else
		mc_error_prefix(err, "cannot export version %s of model '%s': ", local, name);
	return rc;
}

static mc_code export_versions(mlflow_exporter *ex, json_t *known, mc_error *err)
{
	const char *args[] = {ex->server};
	json_t *rows;
	mc_code rc = mlflow_rows(
		ex->s,
		"SELECT v.name, v.version, v.source, v.run_id, v.description, v.data_sha256,"
		" v.code_version, x.remote_id, (SELECT m.description FROM registered_models m"
		" WHERE m.name = v.name) AS model_description"
		" FROM model_versions v LEFT JOIN mlflow_exports x"
		" ON x.server = ?1 AND x.kind = 'version' AND x.local_id = v.name"
		" AND x.local_key = CAST(v.version AS TEXT) ORDER BY v.name, v.version",
		args, 1, "tittttttt", &rows, err);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		if (rc)
			break;
		const char *remote = field(row, "remote_id"), *run = field(row, "run_id");
		char key[600];
		version_key(key, sizeof key, field(row, "name"),
			    json_integer_value(json_object_get(row, "version")));
		if (remote) {
			ex->sum->versions_before++;
			if (json_object_set_new(ex->versions, key, json_string(remote)))
				rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
		} else if (run && !json_object_get(ex->runs, run)) {
			ex->sum->versions_pending++;
		} else {
			rc = create_version(ex, known, row, err);
		}
	}
	json_decref(rows);
	return rc;
}

static mc_code set_alias(mlflow_exporter *ex, json_t *row, const char *version, mc_error *err)
{
	const char *name = field(row, "name"), *alias = field(row, "alias");
	/* SetRegisteredModelAlias takes the version as a string. */
	json_t *body =
		json_pack("{s:s, s:s, s:s}", "name", name, "alias", alias, "version", version);
	mlflow_reply r = {0};
	mc_code rc = body ? mlflow_send(ex, "POST", "registered-models/alias", NULL, body, &r, err)
			  : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	json_decref(body);
	mlflow_reply_release(&r);
	if (!rc)
		rc = mlflow_map_put(ex, "alias", name, alias, version, err);
	if (!rc)
		ex->sum->aliases++;
	return rc ? mc_error_prefix(err, "cannot export alias '%s' of model '%s': ", alias, name)
		  : MC_OK;
}

/* Aliases whose version is on the server and that point elsewhere there (or nowhere yet). */
static mc_code export_aliases(mlflow_exporter *ex, mc_error *err)
{
	const char *args[] = {ex->server};
	json_t *rows;
	mc_code rc = mlflow_rows(ex->s,
				 "SELECT a.name, a.alias, a.version, x.remote_id"
				 " FROM registered_model_aliases a LEFT JOIN mlflow_exports x"
				 " ON x.server = ?1 AND x.kind = 'alias' AND x.local_id = a.name"
				 " AND x.local_key = a.alias ORDER BY a.name, a.alias",
				 args, 1, "ttit", &rows, err);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		if (rc)
			break;
		char key[600];
		version_key(key, sizeof key, field(row, "name"),
			    json_integer_value(json_object_get(row, "version")));
		const char *want = json_string_value(json_object_get(ex->versions, key));
		const char *sent = field(row, "remote_id");
		if (want && (!sent || strcmp(sent, want)))
			rc = set_alias(ex, row, want, err);
	}
	json_decref(rows);
	return rc;
}

mc_code mlflow_export_registry(mlflow_exporter *ex, mc_error *err)
{
	const char *args[] = {ex->server};
	json_t *rows, *known = json_object();
	mc_code rc = mlflow_rows(ex->s,
				 "SELECT local_id FROM mlflow_exports WHERE server = ?"
				 " AND kind = 'model'",
				 args, 1, "t", &rows, err);
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		json_object_set_new(known, field(row, "local_id"), json_true());
	}
	json_decref(rows);
	if (!rc)
		rc = export_versions(ex, known, err);
	if (!rc)
		rc = export_aliases(ex, err);
	json_decref(known);
	return rc;
}
