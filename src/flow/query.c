/* Reading flow runs back for the CLI: lists, one run with its tasks, histories and logs. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"

mc_code mc_flow_run_list(mc_store *s, const mc_flow_filter *f, mc_flow_run_info **out, size_t *n,
			 mc_error *err)
{
	*out = NULL;
	*n = 0;
	const char *flow = f ? f->flow : NULL;
	const char *state = f && f->state >= 0 ? mc_state_name((mc_state)f->state) : NULL;
	int64_t limit = f && f->limit ? (int64_t)f->limit : -1;
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st,
			       "SELECT " FLOW_RUN_COLUMNS " FROM flow_runs"
			       " WHERE (?1 IS NULL OR flow = ?1) AND (?2 IS NULL OR state = ?2)"
			       " ORDER BY created DESC, rowid DESC LIMIT ?3",
			       "tti", flow, state, limit);
	if (rc)
		return rc;
	bool row = false;
	while (!(rc = mc_stmt_step(st, &row, err)) && row) {
		mc_flow_run_info *p = realloc(*out, (*n + 1) * sizeof *p);
		if (!p) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		*out = p;
		memset(&p[*n], 0, sizeof *p);
		rc = flow_run_from_row(st, &p[(*n)++], err);
		if (rc)
			break;
	}
	mc_stmt_free(st);
	if (rc) {
		mc_flow_run_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void mc_flow_run_list_free(mc_flow_run_info *runs, size_t n)
{
	for (size_t i = 0; runs && i < n; i++)
		flow_run_info_release(&runs[i]);
	free(runs);
}

static bool hex_prefix(const char *p)
{
	size_t n = strlen(p);
	if (n < 4 || n > MC_FLOW_ID_LEN)
		return false;
	for (; *p; p++)
		if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
			return false;
	return true;
}

mc_code mc_flow_run_resolve(mc_store *s, const char *prefix, char id[MC_FLOW_ID_LEN + 1],
			    mc_error *err)
{
	if (!prefix || !hex_prefix(prefix))
		return mc_fail(err, MC_ERR_INVALID,
			       "'%.40s' is not a flow run id (4 to 32 lower-case hex digits)",
			       prefix ? prefix : "(null)");
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st,
			       "SELECT id FROM flow_runs WHERE substr(id, 1, length(?1)) = ?1"
			       " LIMIT 2",
			       "t", prefix);
	if (rc)
		return rc;
	bool row = false;
	int found = 0;
	while (!(rc = mc_stmt_step(st, &row, err)) && row)
		if (found++ == 0)
			snprintf(id, MC_FLOW_ID_LEN + 1, "%s", mc_stmt_text(st, 0));
	mc_stmt_free(st);
	if (!rc && found == 0)
		rc = mc_fail(err, MC_ERR_NOT_FOUND, "no flow run '%s'", prefix);
	if (!rc && found > 1)
		rc = mc_fail(err, MC_ERR_INVALID, "flow run id '%s' is ambiguous: give more digits",
			     prefix);
	return rc;
}

/* --- detail ----------------------------------------------------------------------- */

static mc_code task_from_row(mc_stmt *st, mc_task_run_info *t, mc_error *err)
{
	mc_code rc = MC_OK;
	snprintf(t->id, sizeof t->id, "%s", mc_stmt_text(st, 0));
	t->task = fdb_strdup(st, 1, &rc);
	t->key = fdb_strdup(st, 2, &rc);
	t->version = fdb_strdup(st, 3, &rc);
	t->position = (int)mc_stmt_int(st, 4);
	t->cache_key = fdb_strdup(st, 5, &rc);
	t->attempts = (int)mc_stmt_int(st, 7);
	t->result = fdb_strdup(st, 8, &rc);
	t->error = fdb_strdup(st, 9, &rc);
	t->started_ms = mc_stmt_is_null(st, 10) ? 0 : mc_stmt_int(st, 10);
	t->ended_ms = mc_stmt_is_null(st, 11) ? 0 : mc_stmt_int(st, 11);
	if (!rc && t->task && t->key) {
		size_t n = strlen(t->task) + strlen(t->key) + 3;
		if ((t->label = malloc(n)))
			snprintf(t->label, n, *t->key ? "%s[%s]" : "%s", t->task, t->key);
		else
			rc = MC_ERR_NOMEM;
	}
	if (rc)
		return mc_fail(err, rc, "out of memory");
	return flow_state_from_db(mc_stmt_text(st, 6), &t->state, err);
}

static mc_code read_tasks(mc_store *s, mc_flow_detail *d, mc_error *err)
{
	mc_stmt *st;
	mc_code rc =
		fdb_query(s, err, &st,
			  "SELECT id, task, task_key, task_version, position, cache_key, state,"
			  " attempts, result, error, started, ended FROM task_runs"
			  " WHERE flow_run_id = ? ORDER BY position, rowid",
			  "t", d->run.id);
	bool row = false;
	while (!rc && !(rc = mc_stmt_step(st, &row, err)) && row) {
		mc_task_run_info *p = realloc(d->tasks, (d->ntasks + 1) * sizeof *p);
		if (!p) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		d->tasks = p;
		memset(&p[d->ntasks], 0, sizeof *p);
		rc = task_from_row(st, &p[d->ntasks++], err);
	}
	mc_stmt_free(st);
	return rc;
}

static mc_code read_states(mc_store *s, const char *sql, const char *run, mc_state_entry **out,
			   size_t *n, mc_error *err)
{
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st, sql, "t", run);
	bool row = false;
	while (!rc && !(rc = mc_stmt_step(st, &row, err)) && row) {
		mc_state_entry *p = realloc(*out, (*n + 1) * sizeof *p);
		if (!p) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		*out = p;
		mc_state_entry *e = &p[(*n)++];
		memset(e, 0, sizeof *e);
		snprintf(e->run_id, sizeof e->run_id, "%s", mc_stmt_text(st, 0));
		e->seq = (int)mc_stmt_int(st, 1);
		e->time_ms = mc_stmt_int(st, 3);
		e->message = fdb_strdup(st, 4, &rc);
		if (rc)
			rc = mc_fail(err, rc, "out of memory");
		else
			rc = flow_state_from_db(mc_stmt_text(st, 2), &e->state, err);
	}
	mc_stmt_free(st);
	return rc;
}

static mc_code read_logs(mc_store *s, mc_flow_detail *d, mc_error *err)
{
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st,
			       "SELECT time, level, task_run_id, message FROM flow_logs"
			       " WHERE flow_run_id = ? ORDER BY id",
			       "t", d->run.id);
	bool row = false;
	while (!rc && !(rc = mc_stmt_step(st, &row, err)) && row) {
		mc_flow_log_entry *p = realloc(d->logs, (d->nlogs + 1) * sizeof *p);
		if (!p) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		d->logs = p;
		mc_flow_log_entry *l = &p[d->nlogs++];
		memset(l, 0, sizeof *l);
		l->time_ms = mc_stmt_int(st, 0);
		l->level = (mc_log_level)mc_stmt_int(st, 1);
		l->task_run_id = fdb_strdup(st, 2, &rc);
		l->message = fdb_strdup(st, 3, &rc);
		if (rc)
			rc = mc_fail(err, rc, "out of memory");
	}
	mc_stmt_free(st);
	return rc;
}

mc_code mc_flow_detail_get(mc_store *s, const char *run_id, mc_flow_detail **out, mc_error *err)
{
	*out = NULL;
	char id[MC_FLOW_ID_LEN + 1];
	mc_code rc = mc_flow_run_resolve(s, run_id, id, err);
	if (rc)
		return rc;
	mc_flow_detail *d = calloc(1, sizeof *d);
	if (!d)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	rc = flow_run_read(s, id, &d->run, err);
	if (!rc)
		rc = read_tasks(s, d, err);
	if (!rc)
		rc = read_states(
			s,
			"SELECT flow_run_id, seq, state, time, message FROM flow_run_states"
			" WHERE flow_run_id = ? ORDER BY seq",
			id, &d->history, &d->nhistory, err);
	if (!rc)
		rc = read_states(s,
				 "SELECT h.task_run_id, h.seq, h.state, h.time, h.message"
				 " FROM task_run_states h JOIN task_runs t ON t.id = h.task_run_id"
				 " WHERE t.flow_run_id = ? ORDER BY t.position, t.rowid, h.seq",
				 id, &d->task_history, &d->ntask_history, err);
	if (!rc)
		rc = read_logs(s, d, err);
	if (rc) {
		mc_flow_detail_free(d);
		return rc;
	}
	*out = d;
	return MC_OK;
}

static void states_free(mc_state_entry *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++)
		free(h[i].message);
	free(h);
}

void mc_flow_detail_free(mc_flow_detail *d)
{
	if (!d)
		return;
	flow_run_info_release(&d->run);
	for (size_t i = 0; d->tasks && i < d->ntasks; i++) {
		mc_task_run_info *t = &d->tasks[i];
		free(t->task);
		free(t->key);
		free(t->label);
		free(t->version);
		free(t->cache_key);
		free(t->result);
		free(t->error);
	}
	free(d->tasks);
	states_free(d->history, d->nhistory);
	states_free(d->task_history, d->ntask_history);
	for (size_t i = 0; d->logs && i < d->nlogs; i++) {
		free(d->logs[i].task_run_id);
		free(d->logs[i].message);
	}
	free(d->logs);
	free(d);
}
