/* The model registry in milkcast.db; see milkcast/registry.h. */
#include "milkcast/registry.h"

#include <stdio.h>
#include <string.h>

#include "milkcast/fault.h"
#include "milkcast/tracking.h"

static mc_code one_int(mc_store *s, const char *sql, const char *a, const char *b, int64_t *out,
		       bool *found, mc_error *err)
{
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	bool row = false;
	rc = mc_stmt_bind_text(st, 1, a);
	if (!rc && b)
		rc = mc_stmt_bind_text(st, 2, b);
	if (!rc)
		rc = mc_stmt_step(st, &row, err);
	*found = !rc && row && !mc_stmt_is_null(st, 0);
	if (*found)
		*out = mc_stmt_int(st, 0);
	mc_stmt_free(st);
	return rc;
}

static mc_code check_name(const char *what, const char *name, mc_error *err)
{
	if (!mc_tracking_key_valid(name))
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid %s '%.60s': 1 to %d letters, digits and _ - . / or spaces",
			       what, name, MC_KEY_MAX);
	return MC_OK;
}

mc_code mc_registry_register(mc_store *s, const char *name, const mc_version_info *info,
			     int *version, mc_error *err)
{
	mc_code rc = check_name("model name", name, err);
	if (rc)
		return rc;
	int64_t now = mc_now_ms(), v = 0;
	bool found = false;
	mc_stmt *st = NULL;
	rc = mc_store_begin(s, err);
	if (!rc)
		rc = mc_stmt_prepare(s,
				     "INSERT OR IGNORE INTO registered_models(name, creation_time,"
				     " last_updated_time) VALUES (?, ?, ?)",
				     &st, err);
	if (!rc && !(rc = mc_stmt_bind_text(st, 1, name)) && !(rc = mc_stmt_bind_int(st, 2, now)) &&
	    !(rc = mc_stmt_bind_int(st, 3, now)))
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	if (!rc)
		rc = one_int(s, "SELECT max(version) FROM model_versions WHERE name = ?", name,
			     NULL, &v, &found, err);
	int next = (int)(found ? v + 1 : 1);
	st = NULL;
	if (!rc)
		rc = mc_stmt_prepare(s,
				     "INSERT INTO model_versions(name, version, creation_time,"
				     " last_updated_time, description, source, run_id, data_sha256,"
				     " code_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
				     &st, err);
	if (!rc) {
		const char *text[] = {info->description, info->source, info->run_id,
				      info->data_sha256, info->code_version};
		rc = mc_stmt_bind_text(st, 1, name);
		if (!rc)
			rc = mc_stmt_bind_int(st, 2, next);
		if (!rc)
			rc = mc_stmt_bind_int(st, 3, now);
		if (!rc)
			rc = mc_stmt_bind_int(st, 4, now);
		for (int i = 0; i < 5 && !rc; i++)
			rc = mc_stmt_bind_text(st, 5 + i, text[i]);
		if (!rc)
			rc = mc_stmt_run(st, err);
	}
	mc_stmt_free(st);
	if (!rc)
		rc = mc_store_commit(s, err);
	else
		mc_store_rollback(s);
	if (!rc)
		*version = next;
	mc_fault_point("registry.version");
	return rc;
}

mc_code mc_registry_alias(mc_store *s, const char *name, const char *alias, int *version,
			  mc_error *err)
{
	int64_t v;
	bool found = false;
	mc_code rc = one_int(
		s, "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
		name, alias, &v, &found, err);
	if (rc)
		return rc;
	if (!found)
		return mc_fail(err, MC_ERR_NOT_FOUND, "model '%s' has no alias '%s'", name, alias);
	*version = (int)v;
	return MC_OK;
}

/* Inside a transaction: point the alias, append the move to alias_history. */
static mc_code move_alias(mc_store *s, const char *name, const char *alias, int version,
			  const char *reason, mc_error *err)
{
	int old = 0;
	mc_error e2 = MC_ERROR_INIT;
	bool had = mc_registry_alias(s, name, alias, &old, &e2) == MC_OK;
	mc_stmt *st = NULL;
	mc_code rc = mc_stmt_prepare(s,
				     "INSERT OR REPLACE INTO registered_model_aliases(name, alias,"
				     " version) VALUES (?, ?, ?)",
				     &st, err);
	if (!rc && !(rc = mc_stmt_bind_text(st, 1, name)) &&
	    !(rc = mc_stmt_bind_text(st, 2, alias)) && !(rc = mc_stmt_bind_int(st, 3, version)))
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	st = NULL;
	if (!rc)
		rc = mc_stmt_prepare(
			s,
			"INSERT INTO alias_history(name, alias, old_version, new_version,"
			" time, reason) VALUES (?, ?, ?, ?, ?, ?)",
			&st, err);
	if (!rc) {
		rc = mc_stmt_bind_text(st, 1, name);
		if (!rc)
			rc = mc_stmt_bind_text(st, 2, alias);
		if (!rc)
			rc = had ? mc_stmt_bind_int(st, 3, old) : mc_stmt_bind_null(st, 3);
		if (!rc)
			rc = mc_stmt_bind_int(st, 4, version);
		if (!rc)
			rc = mc_stmt_bind_int(st, 5, mc_now_ms());
		if (!rc)
			rc = mc_stmt_bind_text(st, 6, reason);
		if (!rc)
			rc = mc_stmt_run(st, err);
	}
	mc_stmt_free(st);
	return rc;
}

static mc_code version_exists(mc_store *s, const char *name, int version, mc_error *err)
{
	int64_t exists;
	bool found = false;
	char v[16];
	snprintf(v, sizeof v, "%d", version);
	mc_code rc = one_int(s, "SELECT version FROM model_versions WHERE name = ? AND version = ?",
			     name, v, &exists, &found, err);
	if (!rc && !found)
		rc = mc_fail(err, MC_ERR_NOT_FOUND, "model '%s' has no version %d", name, version);
	return rc;
}

mc_code mc_registry_set_alias(mc_store *s, const char *name, const char *alias, int version,
			      const char *reason, mc_error *err)
{
	mc_code rc = check_name("alias", alias, err);
	if (rc)
		return rc;
	/* The old value is read inside the (immediate) transaction, so two
	 * concurrent moves record a consistent history. */
	rc = mc_store_begin(s, err);
	if (rc)
		return rc;
	rc = version_exists(s, name, version, err);
	if (!rc)
		rc = move_alias(s, name, alias, version, reason, err);
	mc_fault_point("registry.alias");
	if (!rc)
		rc = mc_store_commit(s, err);
	else
		mc_store_rollback(s);
	return rc;
}

mc_code mc_registry_rollback(mc_store *s, const char *name, int *version, mc_error *err)
{
	mc_code rc = mc_store_begin(s, err);
	if (rc)
		return rc;
	int64_t v = 0;
	bool found = false;
	rc = one_int(s,
		     "SELECT old_version FROM alias_history WHERE name = ? AND alias = ?"
		     " AND old_version IS NOT NULL ORDER BY id DESC LIMIT 1",
		     name, MC_ALIAS_CHAMPION, &v, &found, err);
	if (!rc && !found)
		rc = mc_fail(err, MC_ERR_NOT_FOUND,
			     "model '%s' has no earlier champion to roll back to", name);
	if (!rc)
		rc = move_alias(s, name, MC_ALIAS_CHAMPION, (int)v, "rollback", err);
	if (!rc)
		rc = mc_store_commit(s, err);
	else
		mc_store_rollback(s);
	if (!rc)
		*version = (int)v;
	return rc;
}

/* Run one statement binding (name, version or nothing, texts...) in a transaction
 * that first checks the model (version 0) or version exists. */
static mc_code write_one(mc_store *s, const char *sql, const char *name, int version, const char *a,
			 const char *b, mc_error *err)
{
	mc_code rc = mc_store_begin(s, err);
	if (rc)
		return rc;
	if (version > 0) {
		rc = version_exists(s, name, version, err);
	} else {
		int64_t x;
		bool found = false;
		rc = one_int(s, "SELECT 1 FROM registered_models WHERE name = ?", name, NULL, &x,
			     &found, err);
		if (!rc && !found)
			rc = mc_fail(err, MC_ERR_NOT_FOUND, "no registered model '%s'", name);
	}
	mc_stmt *st = NULL;
	if (!rc)
		rc = mc_stmt_prepare(s, sql, &st, err);
	int i = 1;
	if (!rc)
		rc = mc_stmt_bind_text(st, i++, name);
	if (!rc && version > 0)
		rc = mc_stmt_bind_int(st, i++, version);
	if (!rc && a)
		rc = mc_stmt_bind_text(st, i++, a);
	if (!rc && b)
		rc = mc_stmt_bind_text(st, i++, b);
	if (!rc)
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	if (!rc)
		rc = mc_store_commit(s, err);
	else
		mc_store_rollback(s);
	return rc;
}

mc_code mc_registry_set_version_tag(mc_store *s, const char *name, int version, const char *key,
				    const char *value, mc_error *err)
{
	if (!mc_tracking_key_valid(key))
		return check_name("tag key", key, err);
	if (strlen(value) > MC_TAG_VALUE_MAX)
		return mc_fail(err, MC_ERR_LIMIT, "tag '%s': value of %zu bytes, at most %d", key,
			       strlen(value), MC_TAG_VALUE_MAX);
	return write_one(s,
			 "INSERT OR REPLACE INTO model_version_tags(name, version, key, value)"
			 " VALUES (?, ?, ?, ?)",
			 name, version, key, value, err);
}

mc_code mc_registry_set_model_tag(mc_store *s, const char *name, const char *key, const char *value,
				  mc_error *err)
{
	if (!mc_tracking_key_valid(key))
		return check_name("tag key", key, err);
	if (strlen(value) > MC_TAG_VALUE_MAX)
		return mc_fail(err, MC_ERR_LIMIT, "tag '%s': value of %zu bytes, at most %d", key,
			       strlen(value), MC_TAG_VALUE_MAX);
	return write_one(s,
			 "INSERT OR REPLACE INTO registered_model_tags(name, key, value)"
			 " VALUES (?, ?, ?)",
			 name, 0, key, value, err);
}

mc_code mc_registry_delete_model_tag(mc_store *s, const char *name, const char *key, mc_error *err)
{
	return write_one(s, "DELETE FROM registered_model_tags WHERE name = ? AND key = ?", name, 0,
			 key, NULL, err);
}

mc_code mc_registry_delete_version_tag(mc_store *s, const char *name, int version, const char *key,
				       mc_error *err)
{
	return write_one(
		s, "DELETE FROM model_version_tags WHERE name = ? AND version = ? AND key = ?",
		name, version, key, NULL, err);
}

mc_code mc_registry_describe(mc_store *s, const char *name, int version, const char *text,
			     mc_error *err)
{
	if (strlen(text) > MC_DESCRIPTION_MAX)
		return mc_fail(err, MC_ERR_LIMIT, "description of %zu bytes, at most %d",
			       strlen(text), MC_DESCRIPTION_MAX);
	char sql[200];
	if (version > 0)
		snprintf(sql, sizeof sql,
			 "UPDATE model_versions SET description = ?3, last_updated_time = %lld"
			 " WHERE name = ?1 AND version = ?2",
			 (long long)mc_now_ms());
	else
		snprintf(sql, sizeof sql,
			 "UPDATE registered_models SET description = ?2, last_updated_time = %lld"
			 " WHERE name = ?1",
			 (long long)mc_now_ms());
	return write_one(s, sql, name, version, text, NULL, err);
}

mc_code mc_registry_source(mc_store *s, const char *name, int version, char *out, size_t cap,
			   mc_error *err)
{
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(
		s, "SELECT source FROM model_versions WHERE name = ? AND version = ?", &st, err);
	if (rc)
		return rc;
	bool row = false;
	rc = mc_stmt_bind_text(st, 1, name);
	if (!rc)
		rc = mc_stmt_bind_int(st, 2, version);
	if (!rc)
		rc = mc_stmt_step(st, &row, err);
	if (!rc && !row)
		rc = mc_fail(err, MC_ERR_NOT_FOUND, "model '%s' has no version %d", name, version);
	if (!rc)
		snprintf(out, cap, "%s", mc_stmt_text(st, 0));
	mc_stmt_free(st);
	return rc;
}
