/*
 * The flow engine: a flow is a named DAG of tasks (C functions) run with
 * retries, timeouts, a result cache and at most `concurrency` tasks at once,
 * every task attempt in a forked child process.  Flow runs and task runs,
 * the full history of their states, their parameters, results and logs live
 * in milkcast.db (schema step 6).  States are named as Prefect's.  See
 * docs/internals/flow.md.
 *
 * Ownership: mc_flow_run_list() / mc_flow_run_list_free(),
 * mc_flow_detail_get() / mc_flow_detail_free().  Definitions (mc_flow_def,
 * mc_task_def and what they point to) are the caller's and only read.
 */
#ifndef MILKCAST_FLOW_H
#define MILKCAST_FLOW_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/store.h"

#define MC_FLOW_ID_LEN 32 /* run ids: 32 random hex digits, as MLflow's */
#define MC_FLOW_NAME_MAX 64
#define MC_FLOW_KEY_MAX 128
#define MC_RETRY_MAX_DELAYS 16
#define MC_RETRY_MAX 100

/* Prefect's state names.  Flow runs: Scheduled → Pending → Running → Completed,
 * Failed, Crashed or Cancelled.  Task runs: Pending → Running → (Retrying →
 * Running)* → Completed, Failed, TimedOut, Crashed or Cancelled; Pending →
 * Cached (cache hit) or Cancelled (an upstream task did not complete). */
typedef enum mc_state {
	MC_STATE_SCHEDULED = 0,
	MC_STATE_PENDING = 1,
	MC_STATE_RUNNING = 2,
	MC_STATE_RETRYING = 3,
	MC_STATE_COMPLETED = 4,
	MC_STATE_CACHED = 5,
	MC_STATE_FAILED = 6,
	MC_STATE_TIMED_OUT = 7,
	MC_STATE_CRASHED = 8,
	MC_STATE_CANCELLED = 9,
} mc_state;
#define MC_NSTATES 10

/* "Scheduled", "Pending", …, "TimedOut", "Crashed", "Cancelled". */
const char *mc_state_name(mc_state s);
/* A state name (case-insensitive); MC_ERR_INVALID naming the valid ones otherwise. */
mc_code mc_state_parse(const char *name, mc_state *out, mc_error *err);
/* Completed, Cached, Failed, TimedOut, Crashed, Cancelled. */
bool mc_state_is_final(mc_state s);
/* Completed or Cached: downstream tasks may use the result. */
bool mc_state_is_ok(mc_state s);

/* Log levels, numbered as Python's logging (Prefect's). */
typedef enum mc_log_level {
	MC_LOG_DEBUG = 10,
	MC_LOG_INFO = 20,
	MC_LOG_WARNING = 30,
	MC_LOG_ERROR = 40,
} mc_log_level;
const char *mc_log_level_name(mc_log_level level);

/* --- tasks -------------------------------------------------------------------------- */

/* What a running task sees; valid only inside its function (in the child process). */
typedef struct mc_task_ctx mc_task_ctx;

/*
 * A task's function, called in a forked child process.  `inputs` is the
 * definition's inputs or else the flow run's parameters.  On MC_OK,
 * *result (owned by the engine, NULL = JSON null) is the task's result;
 * otherwise err says why (the code and message are stored as the error).
 * The child must not use the parent's mc_store: open its own with
 * mc_task_home() if it needs the database.
 */
typedef mc_code (*mc_task_fn)(mc_task_ctx *ctx, const json_t *inputs, json_t **result,
			      mc_error *err);

/* A log line of the task run, stored in milkcast.db when the engine receives it. */
void mc_task_log(mc_task_ctx *ctx, mc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The result of an upstream task (a dependency, by label "name" or "name[key]"),
 * NULL when it is not one of this task's dependencies.  Borrowed. */
const json_t *mc_task_upstream(const mc_task_ctx *ctx, const char *label);
/* Every dependency's result as an object label → result.  Borrowed. */
const json_t *mc_task_upstreams(const mc_task_ctx *ctx);
const json_t *mc_task_params(const mc_task_ctx *ctx);
void *mc_task_user(const mc_task_ctx *ctx);
/* The attempt within this execution of the flow run, 1 for the first. */
int mc_task_attempt(const mc_task_ctx *ctx);
const char *mc_task_label(const mc_task_ctx *ctx);
const char *mc_task_run_id(const mc_task_ctx *ctx);
const char *mc_task_flow_run_id(const mc_task_ctx *ctx);
/* The workspace of the engine's store, for mc_store_open() in the task. */
const char *mc_task_home(const mc_task_ctx *ctx);

typedef enum mc_retry_kind {
	MC_RETRY_FIXED = 0,	  /* a list of delays */
	MC_RETRY_EXPONENTIAL = 1, /* base · factor^k with jitter, capped */
} mc_retry_kind;

/*
 * Retries after a Failed or TimedOut attempt (a Crashed one is final, as in
 * Prefect).  FIXED: the delay before retry k (0-based) is
 * delays_s[min(k, ndelays - 1)], 0 s without delays.  EXPONENTIAL: it is
 * min(max_s, base_s · factor^k · (1 + jitter · u)) with u uniform in
 * [-1, 1) from the engine's seedable generator.
 */
typedef struct mc_retry_policy {
	int retries; /* attempts after the first, 0 … MC_RETRY_MAX */
	mc_retry_kind kind;
	int ndelays;
	double delays_s[MC_RETRY_MAX_DELAYS];
	double base_s, factor, max_s, jitter; /* jitter: a fraction in [0, 1] */
} mc_retry_policy;

/*
 * The cache: the key is SHA-256 of the task's name, version, its inputs and
 * its upstream results as canonical JSON (sorted keys, compact); a Completed
 * result is kept under it and reused by any flow run until it expires.
 */
typedef struct mc_cache_policy {
	bool enabled;
	double expire_s; /* 0 = never */
} mc_cache_policy;

typedef struct mc_task_def {
	const char *name;    /* [a-z0-9_.-], 1 … MC_FLOW_NAME_MAX */
	const char *key;     /* NULL = none; tells apart tasks of one name ("fetch[2025-03-01]") */
	const char *version; /* part of the cache key; NULL = "1" */
	mc_task_fn fn;
	void *user;	      /* mc_task_user() */
	const json_t *inputs; /* NULL = the flow run's parameters */
	const char *const
		*depends_on; /* NULL-terminated labels or names (every task of that name) */
	mc_retry_policy retry;
	double timeout_s; /* per attempt, 0 = none: SIGTERM, then SIGKILL after the grace */
	mc_cache_policy cache;
} mc_task_def;

typedef struct mc_flow_def {
	const char *name; /* [a-z0-9_.-], 1 … MC_FLOW_NAME_MAX */
	const mc_task_def *tasks;
	size_t ntasks;
} mc_flow_def;

/* Names, keys, policies, dependencies (unknown ones, cycles) and duplicate
 * tasks; MC_ERR_INVALID naming the flow and the task. */
mc_code mc_flow_validate(const mc_flow_def *def, mc_error *err);

/* --- running ------------------------------------------------------------------------ */

/* The engine's clock: wall time of states, logs and the cache; retry waits.
 * Timeouts always use the monotonic clock. */
typedef struct mc_flow_clock {
	int64_t (*now_ms)(void *user);		  /* ms since the epoch */
	void (*sleep_ms)(void *user, int64_t ms); /* only called with no task running */
	void *user;
} mc_flow_clock;

typedef struct mc_flow_run_info mc_flow_run_info;

/* Called after a run ended Failed, Crashed or TimedOut (for alerts). */
typedef void (*mc_flow_hook)(void *user, const mc_flow_run_info *run);
/* Every log line as it is stored; task_label NULL for the run's own lines. */
typedef void (*mc_flow_log_fn)(void *user, const char *run_id, const char *task_label,
			       mc_log_level level, const char *message);

typedef struct mc_flow_opts {
	int concurrency;     /* task processes at once, 1 … 64 */
	mc_flow_clock clock; /* NULL functions = the real clock */
	uint64_t seed;	     /* of the jitter generator; 0 = random */
	double kill_grace_s; /* from SIGTERM to SIGKILL */
	int64_t poll_ms;     /* how often the cancel flag is read, ≤ 60000 */
	int64_t heartbeat_ms;
	int64_t stale_ms; /* a run of another host is Crashed when its heartbeat is older */
	mc_flow_hook on_failure;
	void *hook_user;
	mc_flow_log_fn log;
	void *log_user;
	/* When the caller's signal handler sets *stop to a signal number, the run
	 * stops: its tasks get SIGTERM (SIGKILL after at most 1 s, whatever
	 * kill_grace_s says: whoever sent the signal will not wait long) and the
	 * run ends Crashed, "terminated by SIGTERM".  NULL: no such stop. */
	const volatile sig_atomic_t *stop;
} mc_flow_opts;

/* 4 at once, real clock, random seed, 2 s grace, cancel polled every 250 ms,
 * heartbeat every 10 s, stale after 120 s, no hook, no log callback. */
void mc_flow_opts_init(mc_flow_opts *o);

/*
 * A new flow run in state Scheduled (params: a JSON object, NULL = {};
 * scheduled_ms 0 = now; o: its clock, NULL = defaults).  With an
 * idempotency key (NULL = none), a second create with the same key returns
 * the first run's id and sets *existed (nullable).
 */
mc_code mc_flow_run_create(mc_store *s, const mc_flow_opts *o, const char *flow,
			   const json_t *params, int64_t scheduled_ms, const char *idempotency_key,
			   char id[MC_FLOW_ID_LEN + 1], bool *existed, mc_error *err);

/*
 * Execute a Scheduled run of def (Pending → Running → final), in this
 * process, until every task is final; *final gets the run's state.  MC_OK
 * means the engine did its work, whatever the state (a task that cannot be
 * forked fails like any other attempt).  An error (the database, a bad
 * definition) leaves the run Failed when that can still be written.  A run
 * that is not Scheduled, or of another flow, is MC_ERR_INVALID.  Runs
 * mc_flow_recover() first.
 */
mc_code mc_flow_run_start(mc_store *s, const mc_flow_def *def, const char *run_id,
			  const mc_flow_opts *o, mc_state *final, mc_error *err);

/* mc_flow_run_create() then mc_flow_run_start(); id gets the run's id. */
mc_code mc_flow_run(mc_store *s, const mc_flow_def *def, const json_t *params,
		    const mc_flow_opts *o, char id[MC_FLOW_ID_LEN + 1], mc_state *final,
		    mc_error *err);

/*
 * Resume a Failed, Crashed or Cancelled run (after mc_flow_recover()): its
 * Completed and Cached task runs whose version is unchanged are kept with
 * their results, not run again; the others go back to Pending and run, with
 * a fresh retry budget.  The run's history goes on (… → Crashed → Pending →
 * Running → …).  MC_ERR_INVALID when the run is Completed, still running,
 * or of another flow.
 */
mc_code mc_flow_retry(mc_store *s, const mc_flow_def *def, const char *run_id,
		      const mc_flow_opts *o, mc_state *final, mc_error *err);

/*
 * Cancel a run: a Scheduled one (or one whose process is gone) becomes
 * Cancelled at once; a live one is flagged, and its engine stops its tasks
 * within poll_ms (SIGTERM, SIGKILL after the grace) and ends Cancelled.
 * *now: the state after the call (Cancelled, or Running until the engine
 * sees the flag).  MC_ERR_INVALID when the run already ended.
 */
mc_code mc_flow_cancel(mc_store *s, const char *run_id, const mc_flow_opts *o, mc_state *now,
		       mc_error *err);

/*
 * Mark Crashed every Pending or Running flow run whose process is gone
 * (not alive, or its pid reused by a process started at another time, or,
 * on another host, a heartbeat older than stale_ms), with its Running and
 * Retrying task runs; each gets a history entry and the run the failure
 * hook.  *ncrashed (nullable) counts the runs.
 */
mc_code mc_flow_recover(mc_store *s, const mc_flow_opts *o, size_t *ncrashed, mc_error *err);

/* --- queries ------------------------------------------------------------------------ */

struct mc_flow_run_info {
	char id[MC_FLOW_ID_LEN + 1];
	char *flow;
	char *parameters; /* JSON text */
	mc_state state;
	char *message; /* why it ended, NULL = none */
	int64_t created_ms, scheduled_ms, started_ms, ended_ms, heartbeat_ms; /* 0 = not yet */
	int64_t pid, pid_start; /* of the process running it; pid_start in clock ticks since boot */
	char *hostname;		/* NULL before it started */
	char *idempotency_key;	/* NULL = none */
	int run_count;		/* executions: 1 + retries of the run */
	bool cancel_requested;
};

typedef struct mc_task_run_info {
	char id[MC_FLOW_ID_LEN + 1];
	char *task, *key, *label, *version; /* key "" = none */
	int position;			    /* in the flow's definition */
	mc_state state;
	int attempts;	 /* every attempt across the run's executions */
	char *cache_key; /* NULL = not cached */
	char *result;	 /* JSON text, NULL until Completed or Cached */
	char *error;	 /* the last failure, NULL = none */
	int64_t started_ms, ended_ms;
} mc_task_run_info;

typedef struct mc_state_entry {
	char run_id[MC_FLOW_ID_LEN + 1]; /* the flow run's or the task run's */
	int seq;			 /* 1, 2, … per run */
	mc_state state;
	int64_t time_ms;
	char *message; /* NULL = none */
} mc_state_entry;

typedef struct mc_flow_log_entry {
	int64_t time_ms;
	mc_log_level level;
	char *task_run_id; /* NULL for the flow run's own lines */
	char *message;
} mc_flow_log_entry;

typedef struct mc_flow_detail {
	mc_flow_run_info run;
	mc_task_run_info *tasks; /* by position */
	size_t ntasks;
	mc_state_entry *history; /* the flow run's, by seq */
	size_t nhistory;
	mc_state_entry *task_history; /* every task run's, by task position then seq */
	size_t ntask_history;
	mc_flow_log_entry *logs; /* in the order written */
	size_t nlogs;
} mc_flow_detail;

typedef struct mc_flow_filter {
	const char *flow; /* NULL = any */
	int state;	  /* an mc_state, -1 = any */
	size_t limit;	  /* 0 = no limit */
} mc_flow_filter;

/* Runs, newest first. */
mc_code mc_flow_run_list(mc_store *s, const mc_flow_filter *f, mc_flow_run_info **out, size_t *n,
			 mc_error *err);
void mc_flow_run_list_free(mc_flow_run_info *runs, size_t n);

/* The full id of the run whose id starts with prefix (at least 4 hex digits);
 * MC_ERR_NOT_FOUND, or MC_ERR_INVALID when several match. */
mc_code mc_flow_run_resolve(mc_store *s, const char *prefix, char id[MC_FLOW_ID_LEN + 1],
			    mc_error *err);
/* One run (id or unique prefix) with its task runs, histories and logs. */
mc_code mc_flow_detail_get(mc_store *s, const char *run_id, mc_flow_detail **out, mc_error *err);
void mc_flow_detail_free(mc_flow_detail *d);

/*
 * An mc_flow_hook sending a critical "flow_failed" alert through the
 * mc_alerter given as user (see milkcast/alert.h), deduplicated per run
 * and state.  Delivery failures are recorded by the alerter.
 */
void mc_flow_alert_hook(void *alerter, const mc_flow_run_info *run);

#endif
