/*
 * The scheduler of one flow run, single-threaded: starts ready tasks (cache
 * first, else a child process) up to the concurrency limit, waits with poll()
 * on the children's pipes until the nearest deadline, enforces timeouts and
 * cancellation, and records every state change.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "flow/flow_int.h"

/* --- logs ------------------------------------------------------------------------- */

static mc_log_level level_valid(int level)
{
	if (level >= MC_LOG_ERROR)
		return MC_LOG_ERROR;
	if (level >= MC_LOG_WARNING)
		return MC_LOG_WARNING;
	if (level >= MC_LOG_INFO)
		return MC_LOG_INFO;
	return MC_LOG_DEBUG;
}

void flow_engine_log(flow_engine *e, const flow_slot *t, mc_log_level level, const char *msg)
{
	level = level_valid(level);
	if (!e->rc)
		e->rc = flow_log_insert(e->s, e->run, t ? t->id : NULL, flow_clock_now(&e->o),
					level, msg, e->err);
	if (e->o.log)
		e->o.log(e->o.log_user, e->run, t ? t->label : NULL, level, msg);
}

void flow_engine_logf(flow_engine *e, const flow_slot *t, mc_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	flow_engine_log(e, t, level, msg);
}

typedef struct line_ctx {
	flow_engine *e;
	flow_slot *t;
} line_ctx;

static void on_line(void *user, mc_log_level level, const char *msg)
{
	line_ctx *c = user;
	flow_engine_log(c->e, c->t, level, msg);
}

/* --- state changes ---------------------------------------------------------------- */

static mc_log_level level_of(mc_state st)
{
	if (st == MC_STATE_FAILED || st == MC_STATE_TIMED_OUT || st == MC_STATE_CRASHED)
		return MC_LOG_ERROR;
	return st == MC_STATE_RETRYING || st == MC_STATE_CANCELLED ? MC_LOG_WARNING : MC_LOG_INFO;
}

static mc_code write_finish(flow_engine *e, flow_slot *t, mc_state st, const char *msg,
			    const char *result, const char *error, int64_t now)
{
	mc_code rc = MC_OK;
	if (result)
		rc = fdb_exec(e->s, e->err,
			      "UPDATE task_runs SET result = ?, error = NULL, cache_key = ?"
			      " WHERE id = ?",
			      "ttt", result, t->cache_key[0] ? t->cache_key : NULL, t->id);
	else if (error)
		rc = fdb_exec(e->s, e->err, "UPDATE task_runs SET error = ? WHERE id = ?", "tt",
			      error, t->id);
	if (!rc)
		rc = flow_task_set_state(e->s, t->id, st, now, msg, e->err);
	if (!rc && st == MC_STATE_COMPLETED && t->def->cache.enabled && t->cache_key[0])
		rc = flow_cache_put(e->s, t->cache_key, t->def, result, now, e->run, t->id, e->err);
	return rc;
}

/* A state change of a task with its result or error, in one transaction, and a log line. */
static void task_finish(flow_engine *e, flow_slot *t, mc_state st, const char *msg,
			const char *result, const char *error)
{
	if (e->rc)
		return;
	int64_t now = flow_clock_now(&e->o);
	mc_code rc = mc_store_begin(e->s, e->err);
	if (!rc)
		rc = write_finish(e, t, st, msg, result, error, now);
	if (!rc)
		rc = mc_store_commit(e->s, e->err);
	if (rc) {
		mc_store_rollback(e->s);
		e->rc = rc;
		return;
	}
	t->state = st;
	flow_engine_logf(e, t, level_of(st), "Task run '%s' is %s%s%s", t->label, mc_state_name(st),
			 msg ? ": " : "", msg ? msg : "");
}

static void task_to(flow_engine *e, flow_slot *t, mc_state st, const char *msg)
{
	task_finish(e, t, st, msg, NULL, NULL);
}

/* --- dependencies ----------------------------------------------------------------- */

/* 1: every dependency is Completed or Cached; 0: some are not final yet; -1: dependency
 * *bad ended otherwise. */
static int deps_check(const flow_engine *e, size_t i, size_t *bad)
{
	int r = 1;
	for (size_t k = 0; k < e->g->ndeps[i]; k++) {
		size_t d = e->g->deps[i][k];
		mc_state st = e->slots[d].state;
		if (mc_state_is_ok(st))
			continue;
		if (mc_state_is_final(st)) {
			*bad = d;
			return -1;
		}
		r = 0;
	}
	return r;
}

/* Pending tasks that cannot run any more become Cancelled, until nothing changes. */
static void settle_blocked(flow_engine *e)
{
	bool changed = true;
	while (changed && !e->rc) {
		changed = false;
		for (size_t i = 0; i < e->g->n && !e->rc; i++) {
			flow_slot *t = &e->slots[i];
			size_t bad = 0;
			char msg[MC_FLOW_NAME_MAX + MC_FLOW_KEY_MAX + 64];
			if (t->state == MC_STATE_RETRYING && e->cancel) {
				task_to(e, t, MC_STATE_CANCELLED, "the flow run was cancelled");
			} else if (t->state != MC_STATE_PENDING) {
				continue;
			} else if (e->cancel) {
				task_to(e, t, MC_STATE_CANCELLED, "the flow run was cancelled");
			} else if (deps_check(e, i, &bad) < 0) {
				snprintf(msg, sizeof msg, "upstream task '%s' is %s",
					 e->slots[bad].label, mc_state_name(e->slots[bad].state));
				task_to(e, t, MC_STATE_CANCELLED, msg);
			} else {
				continue;
			}
			changed = true;
		}
	}
}

static mc_code ensure_upstreams(flow_engine *e, flow_slot *t, size_t i)
{
	if (t->upstreams)
		return MC_OK;
	t->upstreams = json_object();
	if (!t->upstreams)
		return mc_fail(e->err, MC_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < e->g->ndeps[i]; k++) {
		const flow_slot *d = &e->slots[e->g->deps[i][k]];
		if (json_object_set(t->upstreams, d->label, d->result ? d->result : json_null()))
			return mc_fail(e->err, MC_ERR_NOMEM, "out of memory");
	}
	return MC_OK;
}

static const json_t *task_inputs(const flow_engine *e, const flow_slot *t)
{
	return t->def->inputs ? t->def->inputs : e->params;
}

/* --- the cache -------------------------------------------------------------------- */

static bool cache_hit(flow_engine *e, flow_slot *t, size_t i)
{
	t->cache_checked = true;
	if (!t->def->cache.enabled || (e->rc = ensure_upstreams(e, t, i)))
		return false;
	e->rc = flow_cache_key(t->def, task_inputs(e, t), t->upstreams, t->cache_key, e->err);
	char *text = NULL;
	if (!e->rc)
		e->rc = flow_cache_get(e->s, t->cache_key, flow_clock_now(&e->o), &text, e->err);
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	if (!v) {
		free(text);
		return false; /* a miss, or an entry that is not JSON: run the task */
	}
	char msg[128];
	snprintf(msg, sizeof msg, "cache hit, key %.12s", t->cache_key);
	t->result = v;
	task_finish(e, t, MC_STATE_CACHED, msg, text, NULL);
	free(text);
	return true;
}

/* --- attempts --------------------------------------------------------------------- */

static void task_completed(flow_engine *e, flow_slot *t)
{
	char *text = json_dumps(t->child.result, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text) {
		e->rc = mc_fail(e->err, MC_ERR_NOMEM, "out of memory");
		return;
	}
	t->result = json_incref(t->child.result);
	task_finish(e, t, MC_STATE_COMPLETED, NULL, text, NULL);
	free(text);
}

/* An attempt ended in st: Completed, a retry, or final. */
static void attempt_ended(flow_engine *e, flow_slot *t, mc_state st, const char *why)
{
	const mc_retry_policy *p = &t->def->retry;
	if (st == MC_STATE_COMPLETED) {
		task_completed(e, t);
		return;
	}
	bool retry = (st == MC_STATE_FAILED || st == MC_STATE_TIMED_OUT) && !e->cancel &&
		     t->tries <= p->retries;
	snprintf(t->error, sizeof t->error, "%s", why);
	if (!retry) {
		task_finish(e, t, st, why, NULL, why);
		return;
	}
	int64_t delay = flow_retry_delay_ms(p, t->tries - 1, &e->rng);
	t->due = flow_clock_now(&e->o) + delay;
	char msg[MC_ERRMSG_MAX + 128];
	snprintf(msg, sizeof msg, "attempt %d %s: %s; retry %d of %d in %.3f s", t->tries,
		 st == MC_STATE_TIMED_OUT ? "timed out" : "failed", why, t->tries, p->retries,
		 (double)delay / 1000.0);
	task_finish(e, t, MC_STATE_RETRYING, msg, NULL, why);
}

static void spawn(flow_engine *e, flow_slot *t, size_t i)
{
	if ((e->rc = ensure_upstreams(e, t, i)))
		return;
	t->tries++;
	char msg[64];
	snprintf(msg, sizeof msg, "attempt %d of %d", t->tries, t->def->retry.retries + 1);
	task_to(e, t, MC_STATE_RUNNING, msg);
	if (e->rc)
		return;
	flow_attempt a = {.def = t->def,
			  .label = t->label,
			  .task_run = t->id,
			  .flow_run = e->run,
			  .home = mc_store_home(e->s),
			  .inputs = task_inputs(e, t),
			  .params = e->params,
			  .upstreams = t->upstreams,
			  .attempt = t->tries};
	mc_error ferr = MC_ERROR_INIT;
	if (flow_child_spawn(&a, &t->child, &ferr)) {
		flow_child_release(&t->child);
		attempt_ended(e, t, MC_STATE_FAILED, ferr.msg);
		return;
	}
	if (t->def->timeout_s > 0)
		t->child.deadline_mono = flow_mono_ms() + (int64_t)(t->def->timeout_s * 1000.0);
	t->running = true;
	e->nrunning++;
}

static void start_ready(flow_engine *e)
{
	int64_t now = flow_clock_now(&e->o);
	for (size_t i = 0; i < e->g->n && !e->rc && !e->cancel; i++) {
		flow_slot *t = &e->slots[i];
		size_t bad;
		if (t->state == MC_STATE_PENDING) {
			if (deps_check(e, i, &bad) != 1)
				continue;
			if (!t->cache_checked && cache_hit(e, t, i))
				continue;
		} else if (t->state != MC_STATE_RETRYING || t->due > now) {
			continue;
		}
		if (e->nrunning < e->o.concurrency && !e->rc)
			spawn(e, t, i);
	}
}

/* --- children --------------------------------------------------------------------- */

#define STOP_GRACE_MS 1000 /* after a stop signal: the sender will not wait long */

static void stop_child(flow_engine *e, flow_child *c, int64_t mono)
{
	int64_t grace = (int64_t)(e->o.kill_grace_s * 1000.0);
	if (e->stopped_by && grace > STOP_GRACE_MS)
		grace = STOP_GRACE_MS;
	flow_child_signal(c, SIGTERM);
	c->kill_mono = mono + grace;
}

static void check_deadlines(flow_engine *e, flow_slot *t, int64_t mono)
{
	flow_child *c = &t->child;
	if (c->deadline_mono && !c->timed_out && !c->cancelled && mono >= c->deadline_mono) {
		c->timed_out = true;
		flow_engine_logf(e, t, MC_LOG_WARNING,
				 "Task run '%s' timed out after %g s: stopping it", t->label,
				 t->def->timeout_s);
		stop_child(e, c, mono);
	}
	if ((c->timed_out || c->cancelled) && !c->killed && mono >= c->kill_mono) {
		flow_child_signal(c, SIGKILL);
		c->killed = true;
	}
}

static void service_children(flow_engine *e)
{
	for (size_t i = 0; i < e->g->n; i++) {
		flow_slot *t = &e->slots[i];
		if (!t->running)
			continue;
		line_ctx lc = {e, t};
		flow_child_read(&t->child, on_line, &lc);
		check_deadlines(e, t, flow_mono_ms());
		if (!flow_child_reap(&t->child, on_line, &lc))
			continue;
		char msg[MC_ERRMSG_MAX];
		mc_state st = flow_child_outcome(&t->child, msg, sizeof msg);
		if (st == MC_STATE_TIMED_OUT)
			snprintf(msg, sizeof msg, "timed out after %g s", t->def->timeout_s);
		t->running = false;
		e->nrunning--;
		attempt_ended(e, t, st, msg);
		flow_child_release(&t->child);
	}
}

static void cancel_running(flow_engine *e)
{
	int64_t mono = flow_mono_ms();
	for (size_t i = 0; i < e->g->n; i++) {
		flow_child *c = &e->slots[i].child;
		if (e->slots[i].running && !c->cancelled && !c->timed_out) {
			c->cancelled = true;
			stop_child(e, c, mono);
		}
	}
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Wait for output, an exit, a deadline, a due retry or the next control poll. */
static void wait_events(flow_engine *e)
{
	struct pollfd pf[64];
	nfds_t np = 0;
	int64_t mono = flow_mono_ms(), now = flow_clock_now(&e->o);
	int64_t wait = min64(e->o.poll_ms, e->next_poll - mono);
	for (size_t i = 0; i < e->g->n; i++) {
		const flow_slot *t = &e->slots[i];
		const flow_child *c = &t->child;
		if (t->state == MC_STATE_RETRYING)
			wait = min64(wait, t->due - now);
		if (!t->running)
			continue;
		if (c->fd >= 0 && np < sizeof pf / sizeof *pf)
			pf[np++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
		else
			wait = min64(wait, 10); /* exited, or a grandchild holds the pipe */
		if (c->deadline_mono && !c->timed_out)
			wait = min64(wait, c->deadline_mono - mono);
		if ((c->timed_out || c->cancelled) && !c->killed)
			wait = min64(wait, c->kill_mono - mono);
	}
	poll(pf, np, (int)(wait < 0 ? 0 : wait));
}

/* --- control: heartbeat and the cancel flag ---------------------------------------- */

static void poll_control(flow_engine *e)
{
	int64_t mono = flow_mono_ms();
	if (!e->rc && mono >= e->next_beat) {
		e->rc = fdb_exec(e->s, e->err, "UPDATE flow_runs SET heartbeat = ? WHERE id = ?",
				 "it", flow_clock_now(&e->o), e->run);
		e->next_beat = mono + e->o.heartbeat_ms;
	}
	if (e->rc || mono < e->next_poll)
		return;
	e->next_poll = mono + e->o.poll_ms;
	mc_stmt *st;
	if ((e->rc = fdb_query(e->s, e->err, &st,
			       "SELECT cancel_requested FROM flow_runs WHERE id = ?", "t", e->run)))
		return;
	bool row = false;
	e->rc = mc_stmt_step(st, &row, e->err);
	bool want = !e->rc && row && mc_stmt_int(st, 0) != 0;
	mc_stmt_free(st);
	if (want && !e->cancel) {
		e->cancel = true;
		flow_engine_log(e, NULL, MC_LOG_WARNING,
				"Cancellation requested: stopping the tasks");
	}
}

/* --- the loop --------------------------------------------------------------------- */

/* The nearest due retry; false when no task waits for one. */
static bool next_due(const flow_engine *e, int64_t *due)
{
	bool any = false;
	for (size_t i = 0; i < e->g->n; i++)
		if (e->slots[i].state == MC_STATE_RETRYING && (!any || e->slots[i].due < *due)) {
			*due = e->slots[i].due;
			any = true;
		}
	return any;
}

static bool all_final(const flow_engine *e)
{
	for (size_t i = 0; i < e->g->n; i++)
		if (!mc_state_is_final(e->slots[i].state))
			return false;
	return true;
}

/* After an error: no child outlives the engine. */
static void kill_all(flow_engine *e)
{
	for (size_t i = 0; i < e->g->n; i++) {
		flow_slot *t = &e->slots[i];
		if (!t->running)
			continue;
		flow_child_signal(&t->child, SIGKILL);
		while (waitpid(t->child.pid, NULL, 0) < 0 && errno == EINTR)
			;
		flow_child_release(&t->child);
		t->running = false;
		e->nrunning--;
	}
}

/* "TERM" for SIGTERM ("?" for a number that is no signal). */
static const char *signal_name(int sig)
{
	const char *name = sigabbrev_np(sig);
	return name ? name : "?";
}

/* The caller's stop signal (o.stop): stop the tasks as a cancel does. */
static void check_stop(flow_engine *e)
{
	if (!e->o.stop || !*e->o.stop || e->stopped_by)
		return;
	e->stopped_by = (int)*e->o.stop;
	e->cancel = true;
	flow_engine_logf(e, NULL, MC_LOG_WARNING, "Terminated by SIG%s: stopping the tasks",
			 signal_name(e->stopped_by));
}

void flow_engine_loop(flow_engine *e)
{
	while (!e->rc) {
		check_stop(e);
		poll_control(e);
		if (e->cancel)
			cancel_running(e);
		settle_blocked(e);
		start_ready(e);
		if (e->rc)
			break;
		if (e->nrunning > 0) {
			wait_events(e);
			service_children(e);
			continue;
		}
		int64_t due = 0;
		if (!next_due(e, &due))
			break;
		flow_clock_sleep(&e->o, min64(due - flow_clock_now(&e->o), e->o.poll_ms));
	}
	if (!e->rc && !all_final(e))
		e->rc = mc_fail(e->err, MC_ERR_INVALID, "flow '%s': no task can start",
				e->def->name);
	kill_all(e);
}

mc_state flow_engine_outcome(const flow_engine *e, char *msg, size_t n)
{
	size_t ok = 0, cached = 0, bad = e->g->n;
	for (size_t i = 0; i < e->g->n; i++) {
		mc_state st = e->slots[i].state;
		ok += mc_state_is_ok(st);
		cached += st == MC_STATE_CACHED;
		if (!mc_state_is_ok(st) &&
		    (bad == e->g->n ||
		     (e->slots[bad].state == MC_STATE_CANCELLED && st != MC_STATE_CANCELLED)))
			bad = i;
	}
	if (ok == e->g->n) {
		snprintf(msg, n, "%zu tasks completed (%zu cached)", ok, cached);
		return MC_STATE_COMPLETED;
	}
	if (e->stopped_by) {
		snprintf(msg, n, "terminated by SIG%s; %zu of %zu tasks completed",
			 signal_name(e->stopped_by), ok, e->g->n);
		return MC_STATE_CRASHED;
	}
	if (e->cancel) {
		snprintf(msg, n, "cancelled on request; %zu of %zu tasks completed", ok, e->g->n);
		return MC_STATE_CANCELLED;
	}
	const flow_slot *b = &e->slots[bad];
	snprintf(msg, n, "task '%s' %s%s%s; %zu of %zu tasks completed", b->label,
		 mc_state_name(b->state), b->error[0] ? ": " : "", b->error, ok, e->g->n);
	return MC_STATE_FAILED;
}
