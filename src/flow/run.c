/* Creating, starting and retrying flow runs: claim the run, set up its task runs, run, end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "flow/flow_int.h"

#define CONCURRENCY_MAX 64

void mc_flow_opts_init(mc_flow_opts *o)
{
	memset(o, 0, sizeof *o);
	o->concurrency = 4;
	o->kill_grace_s = 2.0;
	o->poll_ms = 250;
	o->heartbeat_ms = 10000;
	o->stale_ms = 120000;
}

void flow_opts_normalise(const mc_flow_opts *in, mc_flow_opts *out)
{
	mc_flow_opts_init(out);
	if (!in)
		return;
	*out = *in;
	if (out->concurrency < 1)
		out->concurrency = 1;
	if (out->concurrency > CONCURRENCY_MAX)
		out->concurrency = CONCURRENCY_MAX;
	if (!(out->kill_grace_s >= 0) || out->kill_grace_s > 3600)
		out->kill_grace_s = 2.0;
	if (out->poll_ms <= 0 || out->poll_ms > 60000)
		out->poll_ms = 250;
	if (out->heartbeat_ms <= 0)
		out->heartbeat_ms = 10000;
	if (out->stale_ms <= 0)
		out->stale_ms = 120000;
}

static uint64_t random_seed(void)
{
	uint64_t s = 0;
	if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s || s == 0)
		s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	return s;
}

/* --- create ----------------------------------------------------------------------- */

static mc_code find_idempotent(mc_store *s, const char *key, char id[MC_FLOW_ID_LEN + 1],
			       bool *found, mc_error *err)
{
	*found = false;
	if (!key)
		return MC_OK;
	mc_stmt *st;
	mc_code rc = fdb_query(s, err, &st, "SELECT id FROM flow_runs WHERE idempotency_key = ?",
			       "t", key);
	bool row = false;
	if (!rc)
		rc = mc_stmt_step(st, &row, err);
	if (!rc && row) {
		snprintf(id, MC_FLOW_ID_LEN + 1, "%s", mc_stmt_text(st, 0));
		*found = true;
	}
	mc_stmt_free(st);
	return rc;
}

static mc_code insert_run(mc_store *s, const char *flow, const char *params, int64_t now,
			  int64_t scheduled, const char *key, const char *id, mc_error *err)
{
	mc_code rc =
		fdb_exec(s, err,
			 "INSERT INTO flow_runs(id, flow, parameters, state, created, scheduled,"
			 " idempotency_key) VALUES (?, ?, ?, 'Scheduled', ?, ?, ?)",
			 "tttiit", id, flow, params, now, scheduled, key);
	if (!rc)
		rc = fdb_exec(s, err,
			      "INSERT INTO flow_run_states(flow_run_id, seq, state, time, message)"
			      " VALUES (?, 1, 'Scheduled', ?, NULL)",
			      "ti", id, now);
	return rc;
}

mc_code mc_flow_run_create(mc_store *s, const mc_flow_opts *o, const char *flow,
			   const json_t *params, int64_t scheduled_ms, const char *idempotency_key,
			   char id[MC_FLOW_ID_LEN + 1], bool *existed, mc_error *err)
{
	if (existed)
		*existed = false;
	if (!flow_name_valid(flow))
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid flow name '%.80s' (1 to %d of a-z 0-9 _ . -)",
			       flow ? flow : "(null)", MC_FLOW_NAME_MAX);
	if (params && !json_is_object(params))
		return mc_fail(err, MC_ERR_INVALID, "flow '%s': parameters must be a JSON object",
			       flow);
	mc_flow_opts opts;
	flow_opts_normalise(o, &opts);
	char *text = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	if (!text)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	int64_t now = flow_clock_now(&opts);
	bool found = false;
	mc_code rc = mc_store_begin(s, err);
	if (!rc)
		rc = find_idempotent(s, idempotency_key, id, &found, err);
	if (!rc && !found && !(rc = flow_random_id(id, err)))
		rc = insert_run(s, flow, text, now, scheduled_ms ? scheduled_ms : now,
				idempotency_key, id, err);
	if (!rc)
		rc = mc_store_commit(s, err);
	if (rc)
		mc_store_rollback(s);
	free(text);
	if (!rc && existed)
		*existed = found;
	return rc;
}

/* --- claim: this process takes the run --------------------------------------------- */

static bool retryable(mc_state st)
{
	return st == MC_STATE_FAILED || st == MC_STATE_CRASHED || st == MC_STATE_CANCELLED ||
	       st == MC_STATE_TIMED_OUT;
}

static mc_code check_claim(const flow_engine *e, const mc_flow_run_info *r, bool retry,
			   mc_error *err)
{
	if (strcmp(r->flow, e->def->name) != 0)
		return mc_fail(err, MC_ERR_INVALID, "flow run %s is of flow '%s', not '%s'", r->id,
			       r->flow, e->def->name);
	if (!retry && r->state != MC_STATE_SCHEDULED)
		return mc_fail(err, MC_ERR_INVALID,
			       "flow run %s is %s: only a Scheduled run can start (use retry)",
			       r->id, mc_state_name(r->state));
	if (retry && r->state == MC_STATE_SCHEDULED)
		return mc_fail(err, MC_ERR_INVALID,
			       "flow run %s is Scheduled: it has not run yet (start it)", r->id);
	if (retry && r->state == MC_STATE_COMPLETED)
		return mc_fail(err, MC_ERR_INVALID, "flow run %s is Completed: nothing to retry",
			       r->id);
	if (retry && !retryable(r->state))
		return mc_fail(err, MC_ERR_INVALID,
			       "flow run %s is %s (pid %lld on %s): only a Failed, Crashed or "
			       "Cancelled run can be retried",
			       r->id, mc_state_name(r->state), (long long)r->pid,
			       r->hostname ? r->hostname : "?");
	return MC_OK;
}

static mc_code load_params(flow_engine *e, const mc_flow_run_info *r, mc_error *err)
{
	json_error_t je;
	e->params = json_loads(r->parameters ? r->parameters : "{}", 0, &je);
	if (!e->params || !json_is_object(e->params))
		return mc_fail(err, MC_ERR_FORMAT, "flow run %s: bad parameters in milkcast.db: %s",
			       r->id, e->params ? "not a JSON object" : je.text);
	return MC_OK;
}

static mc_code claim_write(flow_engine *e, const mc_flow_run_info *r, bool retry, int64_t now,
			   mc_error *err)
{
	flow_proc self;
	mc_code rc = flow_proc_self(&self, err);
	if (!rc)
		rc = fdb_exec(e->s, err,
			      "UPDATE flow_runs SET pid = ?, pid_start = ?, hostname = ?,"
			      " heartbeat = ?, run_count = run_count + 1, cancel_requested = 0"
			      " WHERE id = ?",
			      "iitit", self.pid, self.start, self.host, now, e->run);
	char msg[160];
	if (retry)
		snprintf(msg, sizeof msg, "retry %d, by pid %lld", r->run_count,
			 (long long)self.pid);
	else
		snprintf(msg, sizeof msg, "by pid %lld", (long long)self.pid);
	if (!rc)
		rc = flow_run_set_state(e->s, e->run, MC_STATE_PENDING, now, msg, err);
	return rc;
}

static mc_code claim(flow_engine *e, bool retry, mc_error *err)
{
	mc_flow_run_info r;
	mc_code rc = mc_store_begin(e->s, err);
	if (rc)
		return rc;
	rc = flow_run_read(e->s, e->run, &r, err);
	if (!rc)
		rc = check_claim(e, &r, retry, err);
	if (!rc)
		rc = load_params(e, &r, err);
	if (!rc)
		rc = claim_write(e, &r, retry, flow_clock_now(&e->o), err);
	if (!rc)
		rc = mc_store_commit(e->s, err);
	if (rc)
		mc_store_rollback(e->s);
	flow_run_info_release(&r);
	return rc;
}

/* --- task runs -------------------------------------------------------------------- */

static mc_code insert_task(flow_engine *e, flow_slot *t, size_t i, int64_t now, mc_error *err)
{
	mc_code rc = flow_random_id(t->id, err);
	if (!rc)
		rc = fdb_exec(e->s, err,
			      "INSERT INTO task_runs(id, flow_run_id, task, task_key, task_version,"
			      " position, state) VALUES (?, ?, ?, ?, ?, ?, 'Pending')",
			      "ttttti", t->id, e->run, t->def->name, t->def->key ? t->def->key : "",
			      flow_task_version(t->def), (int64_t)i);
	if (!rc)
		rc = fdb_exec(e->s, err,
			      "INSERT INTO task_run_states(task_run_id, seq, state, time, message)"
			      " VALUES (?, 1, 'Pending', ?, NULL)",
			      "ti", t->id, now);
	t->state = MC_STATE_PENDING;
	return rc;
}

/* A task run of an earlier execution: keep its result, or make it Pending again. */
static mc_code reuse_task(flow_engine *e, flow_slot *t, size_t i, mc_stmt *row, int64_t now,
			  mc_error *err)
{
	snprintf(t->id, sizeof t->id, "%s", mc_stmt_text(row, 0));
	mc_state st;
	mc_code rc = flow_state_from_db(mc_stmt_text(row, 1), &st, err);
	if (rc)
		return rc;
	const char *version = mc_stmt_text(row, 2);
	bool same = version && !strcmp(version, flow_task_version(t->def));
	if (mc_state_is_ok(st) && same && !mc_stmt_is_null(row, 3)) {
		t->result = json_loads(mc_stmt_text(row, 3), JSON_DECODE_ANY, NULL);
		if (t->result) {
			t->state = st;
			return MC_OK;
		}
	}
	rc = fdb_exec(e->s, err, "UPDATE task_runs SET position = ?, task_version = ? WHERE id = ?",
		      "itt", (int64_t)i, flow_task_version(t->def), t->id);
	t->state = MC_STATE_PENDING;
	if (!rc && st != MC_STATE_PENDING)
		rc = flow_task_set_state(e->s, t->id, MC_STATE_PENDING, now,
					 same ? "the flow run is retried"
					      : "the flow run is retried with a new task version",
					 err);
	return rc;
}

static mc_code setup_task(flow_engine *e, size_t i, int64_t now, mc_error *err)
{
	flow_slot *t = &e->slots[i];
	t->def = &e->def->tasks[i];
	t->label = e->g->labels[i];
	mc_stmt *st;
	mc_code rc = fdb_query(e->s, err, &st,
			       "SELECT id, state, task_version, result FROM task_runs"
			       " WHERE flow_run_id = ? AND task = ? AND task_key = ?",
			       "ttt", e->run, t->def->name, t->def->key ? t->def->key : "");
	if (rc)
		return rc;
	bool row = false;
	rc = mc_stmt_step(st, &row, err);
	if (!rc)
		rc = row ? reuse_task(e, t, i, st, now, err) : insert_task(e, t, i, now, err);
	mc_stmt_free(st);
	return rc;
}

/* A kept task whose upstream runs again runs again too: its inputs may change. */
static mc_code invalidate_downstream(flow_engine *e, int64_t now, mc_error *err)
{
	bool changed = true;
	mc_code rc = MC_OK;
	while (changed && !rc) {
		changed = false;
		for (size_t i = 0; i < e->g->n && !rc; i++) {
			flow_slot *t = &e->slots[i];
			bool stale = false;
			for (size_t k = 0; k < e->g->ndeps[i]; k++)
				stale |= e->slots[e->g->deps[i][k]].state == MC_STATE_PENDING;
			if (!mc_state_is_ok(t->state) || !stale)
				continue;
			json_decref(t->result);
			t->result = NULL;
			t->state = MC_STATE_PENDING;
			rc = flow_task_set_state(
				e->s, t->id, MC_STATE_PENDING, now,
				"the flow run is retried and an upstream task runs "
				"again",
				err);
			changed = true;
		}
	}
	return rc;
}

static mc_code setup_tasks(flow_engine *e, mc_error *err)
{
	e->slots = calloc(e->g->n + 1, sizeof *e->slots);
	if (!e->slots)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < e->g->n; i++)
		e->slots[i].child.fd = -1;
	int64_t now = flow_clock_now(&e->o);
	mc_code rc = mc_store_begin(e->s, err);
	for (size_t i = 0; i < e->g->n && !rc; i++)
		rc = setup_task(e, i, now, err);
	if (!rc)
		rc = invalidate_downstream(e, now, err);
	if (!rc)
		rc = flow_run_set_state(e->s, e->run, MC_STATE_RUNNING, now, NULL, err);
	if (!rc)
		rc = mc_store_commit(e->s, err);
	if (rc)
		mc_store_rollback(e->s);
	return rc;
}

static void log_reused(flow_engine *e)
{
	for (size_t i = 0; i < e->g->n; i++)
		if (mc_state_is_ok(e->slots[i].state))
			flow_engine_logf(e, &e->slots[i], MC_LOG_INFO,
					 "Task run '%s' stays %s from an earlier execution",
					 e->slots[i].label, mc_state_name(e->slots[i].state));
}

/* --- end -------------------------------------------------------------------------- */

void flow_fire_hook(mc_store *s, const mc_flow_opts *o, const char *run)
{
	if (!o->on_failure)
		return;
	mc_flow_run_info r;
	mc_error err = MC_ERROR_INIT;
	if (flow_run_read(s, run, &r, &err))
		return;
	o->on_failure(o->hook_user, &r);
	flow_run_info_release(&r);
}

/* The run's last state after an engine error; best effort, the error is what counts. */
static void fail_run(flow_engine *e, const mc_error *why)
{
	mc_error ignored = MC_ERROR_INIT;
	mc_store_rollback(e->s);
	for (size_t i = 0; e->slots && i < e->g->n; i++)
		if (!mc_state_is_final(e->slots[i].state) && e->slots[i].id[0])
			flow_task_transition(e->s, e->slots[i].id, MC_STATE_CRASHED,
					     flow_clock_now(&e->o), "the flow engine stopped",
					     &ignored);
	flow_run_transition(e->s, e->run, MC_STATE_FAILED, flow_clock_now(&e->o), why->msg,
			    &ignored);
	flow_fire_hook(e->s, &e->o, e->run);
}

static mc_code finish(flow_engine *e, mc_state *final, mc_error *err)
{
	char msg[MC_ERRMSG_MAX + 128];
	mc_state st = flow_engine_outcome(e, msg, sizeof msg);
	mc_code rc = flow_run_transition(e->s, e->run, st, flow_clock_now(&e->o), msg, err);
	if (rc)
		return rc;
	flow_engine_logf(e, NULL, st == MC_STATE_COMPLETED ? MC_LOG_INFO : MC_LOG_ERROR,
			 "Flow run '%s' is %s: %s", e->def->name, mc_state_name(st), msg);
	*final = st;
	if (st == MC_STATE_FAILED || st == MC_STATE_CRASHED || st == MC_STATE_TIMED_OUT)
		flow_fire_hook(e->s, &e->o, e->run);
	return e->rc;
}

static void engine_release(flow_engine *e)
{
	for (size_t i = 0; e->slots && i < e->g->n; i++) {
		json_decref(e->slots[i].result);
		json_decref(e->slots[i].upstreams);
		flow_child_release(&e->slots[i].child);
	}
	free(e->slots);
	flow_graph_free(e->g);
	json_decref(e->params);
}

static mc_code execute(mc_store *s, const mc_flow_def *def, const char *run_id, bool retry,
		       const mc_flow_opts *o, mc_state *final, mc_error *err)
{
	flow_engine e;
	memset(&e, 0, sizeof e);
	e.s = s;
	e.def = def;
	e.err = err;
	flow_opts_normalise(o, &e.o);
	flow_rng_seed(&e.rng, e.o.seed ? e.o.seed : random_seed());
	snprintf(e.run, sizeof e.run, "%s", run_id ? run_id : "");
	*final = MC_STATE_PENDING;
	mc_code rc = mc_flow_recover(s, &e.o, NULL, err);
	if (!rc && (!def || !def->name))
		rc = mc_fail(err, MC_ERR_INVALID, "no flow definition");
	if (!rc)
		rc = claim(&e, retry, err);
	if (rc) {
		engine_release(&e);
		return rc;
	}
	rc = flow_graph_build(def, &e.g, err);
	if (!rc)
		rc = setup_tasks(&e, err);
	if (!rc) {
		log_reused(&e);
		flow_engine_loop(&e);
		rc = e.rc ? e.rc : finish(&e, final, err);
	}
	if (rc) {
		fail_run(&e, err);
		*final = MC_STATE_FAILED;
	}
	engine_release(&e);
	return rc;
}

mc_code mc_flow_run_start(mc_store *s, const mc_flow_def *def, const char *run_id,
			  const mc_flow_opts *o, mc_state *final, mc_error *err)
{
	return execute(s, def, run_id, false, o, final, err);
}

mc_code mc_flow_retry(mc_store *s, const mc_flow_def *def, const char *run_id,
		      const mc_flow_opts *o, mc_state *final, mc_error *err)
{
	return execute(s, def, run_id, true, o, final, err);
}

mc_code mc_flow_run(mc_store *s, const mc_flow_def *def, const json_t *params,
		    const mc_flow_opts *o, char id[MC_FLOW_ID_LEN + 1], mc_state *final,
		    mc_error *err)
{
	*final = MC_STATE_PENDING;
	id[0] = '\0';
	mc_code rc = mc_flow_validate(def, err);
	if (!rc)
		rc = mc_flow_run_create(s, o, def->name, params, 0, NULL, id, NULL, err);
	return rc ? rc : mc_flow_run_start(s, def, id, o, final, err);
}
