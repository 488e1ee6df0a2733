/* The task cache: results keyed by SHA-256 of a task's name, version and inputs, with expiry. */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"
#include "milkcast/sha256.h"

static mc_code hash_json(mc_sha256 *h, const json_t *v, mc_error *err)
{
	char *text =
		json_dumps(v ? v : json_null(), JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return mc_fail(err, MC_ERR_NOMEM,
			       "cannot serialise a task's inputs for its cache key");
	mc_sha256_update(h, text, strlen(text));
	mc_sha256_update(h, "\n", 1);
	free(text);
	return MC_OK;
}

static void hash_line(mc_sha256 *h, const char *s)
{
	mc_sha256_update(h, s, strlen(s));
	mc_sha256_update(h, "\n", 1);
}

mc_code flow_cache_key(const mc_task_def *t, const json_t *inputs, const json_t *upstream,
		       char out[65], mc_error *err)
{
	mc_sha256 h;
	mc_sha256_init(&h);
	hash_line(&h, "milkcast task cache 1");
	hash_line(&h, t->name);
	hash_line(&h, flow_task_version(t));
	mc_code rc = hash_json(&h, inputs, err);
	if (!rc)
		rc = hash_json(&h, upstream, err);
	if (rc)
		return rc;
	uint8_t d[32];
	mc_sha256_final(&h, d);
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
	return MC_OK;
}

mc_code flow_cache_get(mc_store *s, const char *key, int64_t now, char **result, mc_error *err)
{
	*result = NULL;
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st,
			       "SELECT result FROM task_cache WHERE cache_key = ?"
			       " AND (expires IS NULL OR expires > ?)",
			       "ti", key, now);
	if (rc)
		return rc;
	bool row = false;
	rc = mc_stmt_step(st, &row, err);
	if (!rc && row && !(*result = fdb_strdup(st, 0, &rc)))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_stmt_free(st);
	return rc;
}

mc_code flow_cache_put(mc_store *s, const char *key, const mc_task_def *t, const char *result,
		       int64_t now, const char *flow_run, const char *task_run, mc_error *err)
{
	int64_t expires = t->cache.expire_s > 0 ? now + (int64_t)(t->cache.expire_s * 1000.0) : 0;
	/* Expired entries can never hit again: drop them as new ones come, so the table
	 * does not grow with every daily run. */
	mc_code rc = fdb_exec(s, err,
			      "DELETE FROM task_cache WHERE expires IS NOT NULL AND expires <= ?",
			      "i", now);
	if (rc)
		return rc;
	return fdb_exec(
		s, err,
		"INSERT OR REPLACE INTO task_cache(cache_key, task, task_version, result,"
		" created, expires, flow_run_id, task_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		"ttttiTtt", key, t->name, flow_task_version(t), result, now, expires, flow_run,
		task_run);
}
