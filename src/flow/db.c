/* The flow engine's rows in milkcast.db: statements, state changes with their history, logs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "flow/flow_int.h"

mc_code fdb_bindv(mc_stmt *st, const char *types, va_list ap)
{
	mc_code rc = MC_OK;
	for (int i = 0; types[i] && !rc; i++) {
		if (types[i] == 't') {
			rc = mc_stmt_bind_text(st, i + 1, va_arg(ap, const char *));
		} else {
			int64_t v = va_arg(ap, int64_t);
			rc = types[i] == 'T' && v == 0 ? mc_stmt_bind_null(st, i + 1)
						       : mc_stmt_bind_int(st, i + 1, v);
		}
	}
	return rc;
}

static mc_code bind_failed(mc_code rc, mc_error *err)
{
	return mc_fail(err, rc, "cannot bind a value to a statement on milkcast.db (flow tables)");
}

mc_code fdb_query(mc_store *s, mc_error *err, mc_stmt **out, const char *sql, const char *types,
		  ...)
{
	mc_code rc = mc_stmt_prepare(s, sql, out, err);
	if (rc)
		return rc;
	va_list ap;
	va_start(ap, types);
	rc = fdb_bindv(*out, types, ap);
	va_end(ap);
	if (rc) {
		mc_stmt_free(*out);
		*out = NULL;
		return bind_failed(rc, err);
	}
	return MC_OK;
}

mc_code fdb_exec(mc_store *s, mc_error *err, const char *sql, const char *types, ...)
{
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	va_list ap;
	va_start(ap, types);
	rc = fdb_bindv(st, types, ap);
	va_end(ap);
	rc = rc ? bind_failed(rc, err) : mc_stmt_run(st, err);
	mc_stmt_free(st);
	return rc;
}

char *fdb_strdup(mc_stmt *st, int col, mc_code *rc)
{
	if (mc_stmt_is_null(st, col))
		return NULL;
	const char *t = mc_stmt_text(st, col);
	char *c = strdup(t ? t : "");
	if (!c)
		*rc = MC_ERR_NOMEM;
	return c;
}

mc_code flow_random_id(char out[MC_FLOW_ID_LEN + 1], mc_error *err)
{
	unsigned char b[MC_FLOW_ID_LEN / 2];
	ssize_t got = getrandom(b, sizeof b, 0);
	if (got != (ssize_t)sizeof b)
		return mc_fail(err, MC_ERR_IO, "cannot draw a random run id: %s", strerror(errno));
	for (size_t i = 0; i < sizeof b; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return MC_OK;
}

#define FINAL_STATES "('Completed','Cached','Failed','TimedOut','Crashed','Cancelled')"

mc_code flow_run_set_state(mc_store *s, const char *run, mc_state st, int64_t now, const char *msg,
			   mc_error *err)
{
	const char *name = mc_state_name(st);
	mc_code rc = fdb_exec(
		s, err,
		"UPDATE flow_runs SET state = ?1, message = ?2,"
		" started = CASE WHEN ?1 = 'Running' AND started IS NULL THEN ?3 ELSE started END,"
		" ended = CASE WHEN ?1 IN " FINAL_STATES " THEN ?3"
		"   WHEN ?1 IN ('Pending','Running') THEN NULL ELSE ended END"
		" WHERE id = ?4",
		"ttit", name, msg, now, run);
	if (!rc)
		rc = fdb_exec(s, err,
			      "INSERT INTO flow_run_states(flow_run_id, seq, state, time, message)"
			      " SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3, ?4"
			      " FROM flow_run_states WHERE flow_run_id = ?1",
			      "ttit", run, name, now, msg);
	return rc;
}

mc_code flow_task_set_state(mc_store *s, const char *task_run, mc_state st, int64_t now,
			    const char *msg, mc_error *err)
{
	const char *name = mc_state_name(st);
	mc_code rc = fdb_exec(
		s, err,
		"UPDATE task_runs SET state = ?1, attempts = attempts + (?1 = 'Running'),"
		" started = CASE WHEN ?1 = 'Running' AND started IS NULL THEN ?2 ELSE started END,"
		" ended = CASE WHEN ?1 IN " FINAL_STATES " THEN ?2"
		"   WHEN ?1 = 'Pending' THEN NULL ELSE ended END"
		" WHERE id = ?3",
		"tit", name, now, task_run);
	if (!rc)
		rc = fdb_exec(s, err,
			      "INSERT INTO task_run_states(task_run_id, seq, state, time, message)"
			      " SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3, ?4"
			      " FROM task_run_states WHERE task_run_id = ?1",
			      "ttit", task_run, name, now, msg);
	return rc;
}

static mc_code in_transaction(mc_store *s, mc_code rc, mc_error *err)
{
	if (!rc)
		rc = mc_store_commit(s, err);
	if (rc)
		mc_store_rollback(s);
	return rc;
}

mc_code flow_run_transition(mc_store *s, const char *run, mc_state st, int64_t now, const char *msg,
			    mc_error *err)
{
	mc_code rc = mc_store_begin(s, err);
	if (rc)
		return rc;
	return in_transaction(s, flow_run_set_state(s, run, st, now, msg, err), err);
}

mc_code flow_task_transition(mc_store *s, const char *task_run, mc_state st, int64_t now,
			     const char *msg, mc_error *err)
{
	mc_code rc = mc_store_begin(s, err);
	if (rc)
		return rc;
	return in_transaction(s, flow_task_set_state(s, task_run, st, now, msg, err), err);
}

mc_code flow_log_insert(mc_store *s, const char *run, const char *task_run, int64_t now,
			mc_log_level level, const char *msg, mc_error *err)
{
	return fdb_exec(s, err,
			"INSERT INTO flow_logs(flow_run_id, task_run_id, time, level, message)"
			" VALUES (?, ?, ?, ?, ?)",
			"ttiit", run, task_run, now, (int64_t)level, msg);
}

static int64_t int_or_zero(mc_stmt *st, int col)
{
	return mc_stmt_is_null(st, col) ? 0 : mc_stmt_int(st, col);
}

/* One row of FLOW_RUN_COLUMNS into r (zeroed by the caller). */
mc_code flow_run_from_row(mc_stmt *st, mc_flow_run_info *r, mc_error *err)
{
	mc_code rc = MC_OK;
	snprintf(r->id, sizeof r->id, "%s", mc_stmt_text(st, 0));
	r->flow = fdb_strdup(st, 1, &rc);
	r->parameters = fdb_strdup(st, 2, &rc);
	r->message = fdb_strdup(st, 4, &rc);
	r->created_ms = int_or_zero(st, 5);
	r->scheduled_ms = int_or_zero(st, 6);
	r->started_ms = int_or_zero(st, 7);
	r->ended_ms = int_or_zero(st, 8);
	r->heartbeat_ms = int_or_zero(st, 9);
	r->pid = int_or_zero(st, 10);
	r->pid_start = int_or_zero(st, 11);
	r->hostname = fdb_strdup(st, 12, &rc);
	r->idempotency_key = fdb_strdup(st, 13, &rc);
	r->run_count = (int)mc_stmt_int(st, 14);
	r->cancel_requested = mc_stmt_int(st, 15) != 0;
	if (rc)
		return mc_fail(err, rc, "out of memory");
	return flow_state_from_db(mc_stmt_text(st, 3), &r->state, err);
}

mc_code flow_run_read(mc_store *s, const char *id, mc_flow_run_info *out, mc_error *err)
{
	memset(out, 0, sizeof *out);
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st,
			       "SELECT " FLOW_RUN_COLUMNS " FROM flow_runs WHERE id = ?", "t", id);
	if (rc)
		return rc;
	bool row = false;
	rc = mc_stmt_step(st, &row, err);
	if (!rc && !row)
		rc = mc_fail(err, MC_ERR_NOT_FOUND, "no flow run '%.40s'", id);
	if (!rc)
		rc = flow_run_from_row(st, out, err);
	mc_stmt_free(st);
	if (rc)
		flow_run_info_release(out);
	return rc;
}

void flow_run_info_release(mc_flow_run_info *r)
{
	free(r->flow);
	free(r->parameters);
	free(r->message);
	free(r->hostname);
	free(r->idempotency_key);
	memset(r, 0, sizeof *r);
}
