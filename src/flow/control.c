/* Crash recovery (runs whose process is gone become Crashed) and cancellation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"

#define ACTIVE "('Pending','Running')"

typedef struct owner {
	char id[MC_FLOW_ID_LEN + 1];
	int64_t pid, start, heartbeat;
	char host[256];
} owner;

static void owner_from_row(mc_stmt *st, owner *w)
{
	snprintf(w->id, sizeof w->id, "%s", mc_stmt_text(st, 0));
	w->pid = mc_stmt_is_null(st, 1) ? 0 : mc_stmt_int(st, 1);
	w->start = mc_stmt_is_null(st, 2) ? -1 : mc_stmt_int(st, 2);
	const char *h = mc_stmt_text(st, 3);
	snprintf(w->host, sizeof w->host, "%s", h ? h : "");
	w->heartbeat = mc_stmt_is_null(st, 4) ? 0 : mc_stmt_int(st, 4);
}

static bool owner_gone(const flow_proc *self, const owner *w, int64_t now, const mc_flow_opts *o)
{
	return !flow_proc_owns(self, w->pid, w->start, w->host, w->heartbeat, now, o->stale_ms);
}

/* The active runs whose process is gone, into a growing array. */
static mc_code find_dead(mc_store *s, const mc_flow_opts *o, const flow_proc *self, owner **out,
			 size_t *n, mc_error *err)
{
	*out = NULL;
	*n = 0;
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st,
			       "SELECT id, pid, pid_start, hostname, heartbeat FROM flow_runs"
			       " WHERE state IN " ACTIVE,
			       "");
	if (rc)
		return rc;
	int64_t now = flow_clock_now(o);
	bool row = false;
	while (!(rc = mc_stmt_step(st, &row, err)) && row) {
		owner w = {.pid = 0};
		owner_from_row(st, &w);
		if (!owner_gone(self, &w, now, o))
			continue;
		owner *p = realloc(*out, (*n + 1) * sizeof *p);
		if (!p) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		*out = p;
		p[(*n)++] = w;
	}
	mc_stmt_free(st);
	return rc;
}

/* Every unfinished task run of a run to st. */
static mc_code tasks_to(mc_store *s, const char *run, const char *from, mc_state st, int64_t now,
			const char *msg, mc_error *err)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT id FROM task_runs WHERE flow_run_id = ? AND state IN %s",
		 from);
	mc_stmt *q;
	mc_code rc = fdb_query(s, err, &q, sql, "t", run);
	if (rc)
		return rc;
	char(*ids)[MC_FLOW_ID_LEN + 1] = NULL;
	size_t n = 0;
	bool row = false;
	while (!(rc = mc_stmt_step(q, &row, err)) && row) {
		void *p = realloc(ids, (n + 1) * sizeof *ids);
		if (!p) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		ids = p;
		snprintf(ids[n++], MC_FLOW_ID_LEN + 1, "%s", mc_stmt_text(q, 0));
	}
	mc_stmt_free(q);
	for (size_t i = 0; i < n && !rc; i++)
		rc = flow_task_set_state(s, ids[i], st, now, msg, err);
	free(ids);
	return rc;
}

/* Whether the run is still active under the same process as when it was found dead. */
static mc_code still_dead(mc_store *s, const owner *w, bool *dead, mc_error *err)
{
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st,
			       "SELECT id, pid, pid_start, hostname, heartbeat FROM flow_runs"
			       " WHERE id = ? AND state IN " ACTIVE,
			       "t", w->id);
	bool row = false;
	if (!rc)
		rc = mc_stmt_step(st, &row, err);
	*dead = false;
	if (!rc && row) {
		owner now = {.pid = 0};
		owner_from_row(st, &now);
		*dead = now.pid == w->pid && now.start == w->start && now.heartbeat == w->heartbeat;
	}
	mc_stmt_free(st);
	return rc;
}

static mc_code crash_run(mc_store *s, const mc_flow_opts *o, const owner *w, bool *done,
			 mc_error *err)
{
	char msg[400];
	snprintf(msg, sizeof msg, "its process %lld on %s is gone", (long long)w->pid,
		 w->host[0] ? w->host : "an unknown host");
	int64_t now = flow_clock_now(o);
	mc_code rc = mc_store_begin(s, err);
	if (!rc)
		rc = still_dead(s, w, done, err);
	if (!rc && *done)
		rc = tasks_to(s, w->id, "('Running','Retrying')", MC_STATE_CRASHED, now,
			      "the flow run's process died", err);
	if (!rc && *done)
		rc = flow_run_set_state(s, w->id, MC_STATE_CRASHED, now, msg, err);
	if (!rc && *done)
		rc = flow_log_insert(s, w->id, NULL, now, MC_LOG_ERROR, msg, err);
	if (!rc)
		rc = mc_store_commit(s, err);
	if (rc)
		mc_store_rollback(s);
	return rc;
}

mc_code mc_flow_recover(mc_store *s, const mc_flow_opts *o, size_t *ncrashed, mc_error *err)
{
	mc_flow_opts opts;
	flow_opts_normalise(o, &opts);
	if (ncrashed)
		*ncrashed = 0;
	flow_proc self;
	owner *dead = NULL;
	size_t n = 0;
	mc_code rc = flow_proc_self(&self, err);
	if (!rc)
		rc = find_dead(s, &opts, &self, &dead, &n, err);
	for (size_t i = 0; i < n && !rc; i++) {
		bool done = false;
		rc = crash_run(s, &opts, &dead[i], &done, err);
		if (!rc && done) {
			if (ncrashed)
				(*ncrashed)++;
			flow_fire_hook(s, &opts, dead[i].id);
		}
	}
	free(dead);
	return rc;
}

/* --- cancel ----------------------------------------------------------------------- */

static mc_code cancel_now(mc_store *s, const mc_flow_run_info *r, int64_t now, const char *msg,
			  mc_error *err)
{
	mc_code rc = tasks_to(s, r->id, "('Pending','Running','Retrying')", MC_STATE_CANCELLED, now,
			      "the flow run was cancelled", err);
	if (!rc)
		rc = flow_run_set_state(s, r->id, MC_STATE_CANCELLED, now, msg, err);
	return rc;
}

static mc_code cancel_decide(mc_store *s, const mc_flow_opts *o, const mc_flow_run_info *r,
			     mc_state *now_state, mc_error *err)
{
	if (mc_state_is_final(r->state))
		return mc_fail(err, MC_ERR_INVALID, "flow run %s already ended %s", r->id,
			       mc_state_name(r->state));
	int64_t now = flow_clock_now(o);
	flow_proc self;
	mc_code rc = flow_proc_self(&self, err);
	if (rc)
		return rc;
	char msg[400];
	if (r->state == MC_STATE_SCHEDULED) {
		*now_state = MC_STATE_CANCELLED;
		return cancel_now(s, r, now, "cancelled before it started", err);
	}
	if (!flow_proc_owns(&self, r->pid, r->pid_start, r->hostname, r->heartbeat_ms, now,
			    o->stale_ms)) {
		snprintf(msg, sizeof msg, "cancelled; its process %lld on %s was gone",
			 (long long)r->pid, r->hostname ? r->hostname : "?");
		*now_state = MC_STATE_CANCELLED;
		return cancel_now(s, r, now, msg, err);
	}
	*now_state = r->state;
	snprintf(msg, sizeof msg, "Cancellation requested by pid %lld", (long long)self.pid);
	rc = fdb_exec(s, err, "UPDATE flow_runs SET cancel_requested = 1 WHERE id = ?", "t", r->id);
	return rc ? rc : flow_log_insert(s, r->id, NULL, now, MC_LOG_WARNING, msg, err);
}

mc_code mc_flow_cancel(mc_store *s, const char *run_id, const mc_flow_opts *o, mc_state *now,
		       mc_error *err)
{
	mc_flow_opts opts;
	flow_opts_normalise(o, &opts);
	mc_flow_run_info r;
	mc_state st = MC_STATE_CANCELLED;
	mc_code rc = mc_store_begin(s, err);
	if (rc)
		return rc;
	rc = flow_run_read(s, run_id, &r, err);
	if (!rc)
		rc = cancel_decide(s, &opts, &r, &st, err);
	if (!rc)
		rc = mc_store_commit(s, err);
	if (rc)
		mc_store_rollback(s);
	flow_run_info_release(&r);
	if (!rc && now)
		*now = st;
	return rc;
}
