/* Shared between the flow engine's files; see milkcast/flow.h and docs/internals/flow.md. */
#ifndef MC_FLOW_INT_H
#define MC_FLOW_INT_H

#include <stdarg.h>
#include <sys/types.h>

#include "milkcast/buf.h"
#include "milkcast/flow.h"

/* --- the definition as a graph (dag.c) --------------------------------------------- */

typedef struct flow_graph {
	size_t n;
	char **labels; /* "name" or "name[key]" */
	size_t **deps; /* indices of each task's dependencies, without repeats */
	size_t *ndeps;
} flow_graph;

mc_code flow_graph_build(const mc_flow_def *def, flow_graph **out, mc_error *err);
void flow_graph_free(flow_graph *g);
/* [a-z0-9_.-], 1 … MC_FLOW_NAME_MAX. */
bool flow_name_valid(const char *s);
const char *flow_task_version(const mc_task_def *t);

/* --- retry delays (retry.c) --------------------------------------------------------- */

typedef struct flow_rng {
	uint64_t s;
} flow_rng;

void flow_rng_seed(flow_rng *r, uint64_t seed);
/* Uniform in [0, 1). */
double flow_rng_unit(flow_rng *r);
/* The delay before retry k (0-based) of policy p, in ms. */
int64_t flow_retry_delay_ms(const mc_retry_policy *p, int k, flow_rng *r);
mc_code flow_retry_check(const mc_retry_policy *p, const char *where, mc_error *err);

/* --- the task cache (cache.c) ------------------------------------------------------- */

/* Hex SHA-256 of name, version, canonical inputs and canonical upstream results. */
mc_code flow_cache_key(const mc_task_def *t, const json_t *inputs, const json_t *upstream,
		       char out[65], mc_error *err);
/* *result: the cached JSON text (caller frees), NULL on a miss or an expired entry. */
mc_code flow_cache_get(mc_store *s, const char *key, int64_t now, char **result, mc_error *err);
mc_code flow_cache_put(mc_store *s, const char *key, const mc_task_def *t, const char *result,
		       int64_t now, const char *flow_run, const char *task_run, mc_error *err);

/* --- database helpers (db.c) -------------------------------------------------------- */

/*
 * Prepare sql, bind the arguments described by types ('t' const char *, NULL
 * = SQL NULL; 'i' int64_t; 'T' int64_t, 0 = SQL NULL), run it.
 */
mc_code fdb_exec(mc_store *s, mc_error *err, const char *sql, const char *types, ...);
mc_code fdb_bindv(mc_stmt *st, const char *types, va_list ap);
/* A prepared and bound statement (caller frees). */
mc_code fdb_query(mc_store *s, mc_error *err, mc_stmt **out, const char *sql, const char *types,
		  ...);
/* A copy of a text column, NULL for SQL NULL; *rc = MC_ERR_NOMEM when it cannot be copied. */
char *fdb_strdup(mc_stmt *st, int col, mc_code *rc);

mc_code flow_random_id(char out[MC_FLOW_ID_LEN + 1], mc_error *err);

/* Set a flow run's state and append it to its history, in the caller's transaction. */
mc_code flow_run_set_state(mc_store *s, const char *run, mc_state st, int64_t now, const char *msg,
			   mc_error *err);
/* The same for a task run; Running sets started, a final state ended. */
mc_code flow_task_set_state(mc_store *s, const char *task_run, mc_state st, int64_t now,
			    const char *msg, mc_error *err);
/* Both of the above in their own transaction. */
mc_code flow_run_transition(mc_store *s, const char *run, mc_state st, int64_t now, const char *msg,
			    mc_error *err);
mc_code flow_task_transition(mc_store *s, const char *task_run, mc_state st, int64_t now,
			     const char *msg, mc_error *err);
mc_code flow_log_insert(mc_store *s, const char *run, const char *task_run, int64_t now,
			mc_log_level level, const char *msg, mc_error *err);
mc_code flow_run_read(mc_store *s, const char *id, mc_flow_run_info *out, mc_error *err);
void flow_run_info_release(mc_flow_run_info *r);
/* The columns flow_run_from_row() reads, in order: "SELECT " FLOW_RUN_COLUMNS " FROM flow_runs". */
#define FLOW_RUN_COLUMNS                                                                       \
	"id, flow, parameters, state, message, created, scheduled, started, ended, heartbeat," \
	" pid, pid_start, hostname, idempotency_key, run_count, cancel_requested"
mc_code flow_run_from_row(mc_stmt *st, mc_flow_run_info *r, mc_error *err);
mc_code flow_state_from_db(const char *name, mc_state *out, mc_error *err);

/* --- processes (proc.c) ------------------------------------------------------------- */

typedef struct flow_proc {
	int64_t pid;
	int64_t start; /* /proc/PID/stat field 22, clock ticks since boot; -1 = gone */
	char host[256];
} flow_proc;

mc_code flow_proc_self(flow_proc *p, mc_error *err);
/* Start time of a live, non-zombie pid; -1 when it does not exist or is a zombie. */
int64_t flow_proc_start_time(pid_t pid);
/* Whether the process recorded for a run still runs it (see mc_flow_recover()). */
bool flow_proc_owns(const flow_proc *self, int64_t pid, int64_t start, const char *host,
		    int64_t heartbeat, int64_t now, int64_t stale_ms);
int64_t flow_mono_ms(void);
int64_t flow_clock_now(const mc_flow_opts *o);
void flow_clock_sleep(const mc_flow_opts *o, int64_t ms);

/* --- task processes (child.c) ------------------------------------------------------- */

/* What a child process reported and how it ended. */
typedef struct flow_child {
	pid_t pid;
	int fd;	     /* read end of the pipe, -1 once closed */
	mc_buf in;   /* unparsed bytes */
	bool reaped; /* waitpid() returned it */
	int status;  /* from waitpid() */
	json_t *result;
	bool has_result, has_error, bad_frame;
	mc_code error_code;
	char error[MC_ERRMSG_MAX];
	int64_t deadline_mono; /* 0 = no timeout */
	int64_t kill_mono;     /* when SIGKILL follows SIGTERM, 0 = SIGTERM not sent */
	bool timed_out, cancelled, killed;
} flow_child;

/* What the child needs to run one attempt. */
typedef struct flow_attempt {
	const mc_task_def *def;
	const char *label, *task_run, *flow_run, *home;
	const json_t *inputs, *params, *upstreams;
	int attempt;
} flow_attempt;

/* Fork a child running a->def->fn; c is initialised. */
mc_code flow_child_spawn(const flow_attempt *a, flow_child *c, mc_error *err);
/* A log line read from a child. */
typedef void (*flow_line_fn)(void *user, mc_log_level level, const char *msg);
/* Read what is available (non-blocking); parse frames; lines go to fn. */
void flow_child_read(flow_child *c, flow_line_fn fn, void *user);
/* waitpid(WNOHANG); true once reaped (then the pipe is drained and closed). */
bool flow_child_reap(flow_child *c, flow_line_fn fn, void *user);
/* Send sig to the child's process group. */
void flow_child_signal(flow_child *c, int sig);
void flow_child_release(flow_child *c);
/* The final state of a reaped child and a message (into msg). */
mc_state flow_child_outcome(const flow_child *c, char *msg, size_t n);

/* --- the engine (engine.c, run.c) ------------------------------------------------- */

typedef struct flow_slot {
	const mc_task_def *def;
	const char *label;
	char id[MC_FLOW_ID_LEN + 1]; /* task run */
	mc_state state;
	int tries;	    /* attempts in this execution */
	int64_t due;	    /* Retrying: the clock's ms when the next attempt may start */
	json_t *result;	    /* Completed or Cached */
	json_t *upstreams;  /* label → result of each dependency */
	char cache_key[65]; /* "" until computed */
	bool cache_checked;
	bool running;
	char error[MC_ERRMSG_MAX]; /* why it last failed, "" = never */
	flow_child child;
} flow_slot;

typedef struct flow_engine {
	mc_store *s;
	const mc_flow_def *def;
	mc_flow_opts o;
	flow_graph *g;
	flow_slot *slots;
	char run[MC_FLOW_ID_LEN + 1];
	json_t *params;
	flow_rng rng;
	int nrunning;
	bool cancel;
	int stopped_by;		      /* the signal that stopped the run (o.stop), 0 = none */
	int64_t next_poll, next_beat; /* monotonic ms */
	mc_code rc;		      /* the first error; the engine stops on it */
	mc_error *err;
} flow_engine;

/* Run the tasks until every one is final (or e->rc); children are gone on return. */
void flow_engine_loop(flow_engine *e);
/* The run's final state from its tasks' states, and why. */
mc_state flow_engine_outcome(const flow_engine *e, char *msg, size_t n);
/* A log line of the run (t NULL) or of a task run: to the database and the callback. */
void flow_engine_log(flow_engine *e, const flow_slot *t, mc_log_level level, const char *msg);
void flow_engine_logf(flow_engine *e, const flow_slot *t, mc_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Defaults for a NULL opts and for unset fields. */
void flow_opts_normalise(const mc_flow_opts *in, mc_flow_opts *out);
void flow_fire_hook(mc_store *s, const mc_flow_opts *o, const char *run);

#endif
