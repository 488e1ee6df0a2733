/*
 * `milkcast scheduler`: the pipeline's flows on cron schedules.  A daemon
 * (or, with --once, one pass over what is due): each fire becomes a flow run
 * keyed "scheduler:NAME:SECONDS", executed by mc_flow_run_start in a forked
 * child so the loop keeps ticking; one run at a time per flow; missed fires
 * caught up at start; SIGTERM/SIGINT stop it gracefully, SIGHUP reloads the
 * config.  The pure logic is in schedule.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/pipeline.h"
#include "sched/schedule.h"
#include "milkcast/alert.h"
#include "milkcast/buf.h"
#include "milkcast/cron.h"
#include "milkcast/flow.h"
#include "milkcast/store.h"
#include "milkcast/version.h"

#define DEFAULT_CONFIG_LABEL "(built-in defaults)"
#define GRACE_MAX_S 86400
/* After a cancel: the engine's poll (0.25 s) and kill grace (2 s), with room to spare. */
#define CANCEL_WAIT_MS 15000
#define NO_FIRE INT64_MAX

static const mc_command_help help = {
	"milkcast scheduler [--config FILE] [--once] [--now TIME] [--grace SECONDS] [options]",
	"Run the pipeline's flows on cron schedules, as a daemon.",
	"Reads the schedules from --config (default HOME/scheduler.conf; built-in defaults\n"
	"when that file does not exist: daily at 13:00 on Mon, Wed and Fri, train on Sundays\n"
	"at 06:00, in America/Mexico_City, catch_up = latest).  The file:\n"
	"  timezone = America/Mexico_City   catch_up = none|latest|all   max_catch_up = 10\n"
	"  [NAME]                           one section per schedule\n"
	"  flow = daily|train|backfill      (default: NAME)\n"
	"  cron = 0 13 * * 1,3,5            5 fields or @daily…, in the schedule's zone\n"
	"  timezone = …  catch_up = …  max_catch_up = …  (default: the global ones)\n"
	"  params = fetch=false alerts=false  enabled = true|false\n"
	"Each fire is a flow run keyed scheduler:NAME:SECONDS (a fire never runs twice);\n"
	"daily's date is the fire's local date.  Fires missed while the scheduler was down\n"
	"are skipped (none), reduced to the newest (latest) or all run in order (all, at most\n"
	"max_catch_up).  One run at a time per flow: a fire waits for the flow's run to end;\n"
	"waiting fires of one schedule collapse to the newest.  Log lines (one per event) go\n"
	"to stderr, JSON with --json.  SIGTERM/SIGINT: no new runs, wait --grace seconds\n"
	"(30) for running ones, then cancel them, exit 0.  SIGHUP: reload the config (a bad\n"
	"one is logged and the old one kept).  --once: run what is due at --now (default:\n"
	"now; TIME as 2025-03-14T13:00[:SS][Z|-06:00] or @SECONDS, without an offset in the\n"
	"config's timezone), catch-up included, wait for the runs and exit 0 when all\n"
	"Completed, 1 otherwise.  Exit 2: a usage or config error.\n"
	"\n"
	"The flows and their parameters:\n",
};

typedef struct sched_args {
	const char *config, *now;
	bool once;
	long grace;
} sched_args;

/* ---- structured log lines ---- */

typedef struct logger {
	bool json;
	int verbosity;
} logger;

static const char *level_name(mc_log_level level)
{
	return level >= MC_LOG_ERROR	 ? "error"
	       : level >= MC_LOG_WARNING ? "warning"
	       : level >= MC_LOG_INFO	 ? "info"
					 : "debug";
}

static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (; *s; s++)
		if (*s == ' ' || *s == '"' || *s == '=' || *s == '\\' || (unsigned char)*s < 0x20)
			return true;
	return false;
}

/* key=value, the value quoted when it has blanks, quotes or '='. */
static void append_field(char *buf, size_t size, size_t *len, const char *key, const json_t *v)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		if (!needs_quotes(s)) {
			mc_appendf(buf, size, len, " %s=%s", key, s);
			return;
		}
		mc_appendf(buf, size, len, " %s=\"", key);
		for (; *s; s++)
			mc_appendf(buf, size, len, *s == '"' || *s == '\\' ? "\\%c" : "%c",
				   (unsigned char)*s < 0x20 ? ' ' : *s);
		mc_appendf(buf, size, len, "\"");
	} else {
		char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(6));
		mc_appendf(buf, size, len, " %s=%s", key, text ? text : "?");
		free(text);
	}
}

/* One event as one line on stderr (a single write); fields is taken. */
static void emit(const logger *lg, mc_log_level level, const char *event, json_t *fields)
{
	int min = lg->verbosity >= 2   ? MC_LOG_DEBUG
		  : lg->verbosity >= 1 ? MC_LOG_INFO
				       : MC_LOG_WARNING;
	if ((int)level < min) {
		json_decref(fields);
		return;
	}
	char when[32], buf[8192];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	size_t len = 0;
	const char *key;
	json_t *v;
	if (lg->json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "time", when, "level", level_name(level),
				      "event", event);
		json_object_update(o, fields);
		char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
		mc_appendf(buf, sizeof buf - 1, &len, "%s", text ? text : "{}");
		free(text);
		json_decref(o);
	} else {
		mc_appendf(buf, sizeof buf - 1, &len, "%s %s %s", when, level_name(level), event);
		json_object_foreach(fields, key, v)
		{
			if (!json_is_null(v))
				append_field(buf, sizeof buf - 1, &len, key, v);
		}
	}
	json_decref(fields);
	if (len > sizeof buf - 2)
		len = sizeof buf - 2;
	buf[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, buf, len);
	(void)w;
}

/* ---- signals: flags and a self-pipe that wakes the loop ---- */

static volatile sig_atomic_t g_term, g_hup, g_signal;
static int g_wake[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGTERM || sig == SIGINT) {
		g_term = g_term + 1;
		g_signal = sig;
	} else if (sig == SIGHUP)
		g_hup = 1;
	if (g_wake[1] >= 0) {
		ssize_t w = write(g_wake[1], "x", 1);
		(void)w;
	}
	errno = saved;
}

static const int SIGNALS[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};

static int install_signals(void)
{
	if (pipe2(g_wake, O_CLOEXEC | O_NONBLOCK))
		return -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_NOCLDSTOP; /* no SA_RESTART: a signal ends the wait */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof SIGNALS / sizeof *SIGNALS; i++)
		sigaddset(&sa.sa_mask, SIGNALS[i]);
	for (size_t i = 0; i < sizeof SIGNALS / sizeof *SIGNALS; i++)
		if (sigaction(SIGNALS[i], &sa, NULL))
			return -1;
	return 0;
}

static void reset_signals(void)
{
	for (size_t i = 0; i < sizeof SIGNALS / sizeof *SIGNALS; i++)
		signal(SIGNALS[i], SIG_DFL);
	for (int i = 0; i < 2; i++)
		if (g_wake[i] >= 0) {
			close(g_wake[i]);
			g_wake[i] = -1;
		}
}

/* Sleep until a signal or timeout_ms. */
static void wait_event(int64_t timeout_ms)
{
	struct pollfd p = {g_wake[0], POLLIN, 0};
	if (timeout_ms < 0)
		timeout_ms = 0;
	if (poll(&p, 1, (int)(timeout_ms > 60000 ? 60000 : timeout_ms)) > 0) {
		char drain[64];
		while (read(g_wake[0], drain, sizeof drain) > 0)
			;
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the scheduler's state ---- */

typedef struct running {
	pid_t pid;
	char id[MC_FLOW_ID_LEN + 1];
	char *schedule, *flow;
	int64_t fire, started_ms;
} running;

typedef struct sched {
	mc_ctx *ctx;
	const sched_args *a;
	logger log;
	const char *config_path; /* NULL = the default file */
	mc_sched_config *cfg;
	int64_t *last, *next; /* per schedule: the newest fire handled, the next one */
	mc_sched_queue queue;
	running *runs;
	size_t nruns;
	bool has_now;
	int64_t fixed_now;
	size_t nfailed;
	pid_t self;
	int lock_fd;
} sched;

static int64_t sched_now(const sched *d)
{
	return d->has_now ? d->fixed_now : wall_ms() / 1000;
}

static json_t *fire_time(const mc_tz *tz, int64_t t)
{
	char buf[64];
	mc_tz_format(tz, t, buf, sizeof buf);
	return json_string(buf);
}

static const mc_schedule *find_schedule(const sched *d, const char *name)
{
	for (size_t i = 0; i < d->cfg->n; i++)
		if (!strcmp(d->cfg->items[i].name, name))
			return &d->cfg->items[i];
	return NULL;
}

/* A fire as the log shows it: in its schedule's zone when the schedule still exists. */
static json_t *fire_json(const sched *d, const char *schedule, int64_t fire)
{
	const mc_schedule *s = find_schedule(d, schedule);
	return s ? fire_time(s->tz, fire) : json_integer(fire);
}

/* ---- the config: parsed here, flows and parameters checked with the pipeline ---- */

static bool is_flow(const char *name)
{
	for (const char *const *f = mc_pipeline_names; *f; f++)
		if (!strcmp(*f, name))
			return true;
	return false;
}

/* The flow and its parameters, by building the pipeline for a fire now. */
static mc_code check_schedule(sched *d, const mc_sched_config *c, const mc_schedule *s,
			      mc_error *err)
{
	if (!is_flow(s->flow)) {
		if (!s->flow_line)
			return mc_fail(err, MC_ERR_INVALID,
				       "%s:%d: schedule [%s] has no 'flow' and '%s' is not a flow "
				       "(daily, train or backfill)",
				       c->path, s->line, s->name, s->name);
		return mc_fail(err, MC_ERR_INVALID,
			       "%s:%d: key 'flow' in [%s]: no flow '%s' (the flows are daily, "
			       "train and backfill)",
			       c->path, s->flow_line, s->name, s->flow);
	}
	int line = s->params_line ? s->params_line : s->line;
	if (!strcmp(s->flow, "daily") && json_object_get(s->params, "date"))
		return mc_fail(err, MC_ERR_INVALID,
			       "%s:%d: key 'params' in [%s]: 'date' is set by the scheduler (the "
			       "fire's local date)",
			       c->path, line, s->name);
	json_t *params = NULL;
	mc_pipeline *p = NULL;
	mc_code rc = mc_sched_fire_params(s, sched_now(d), &params, err);
	if (!rc)
		rc = mc_pipeline_build(d->ctx, s->flow, params, &p, err);
	json_decref(params);
	mc_pipeline_free(p);
	if (rc == MC_ERR_INVALID)
		return mc_error_prefix(err, "%s:%d: key 'params' in [%s]: ", c->path, line,
				       s->name);
	if (rc) /* e.g. a backfill over a lake without data yet: it may have some by then */
		emit(&d->log, MC_LOG_WARNING, "config_warning",
		     json_pack("{s:s, s:s}", "schedule", s->name, "error", err->msg));
	return MC_OK;
}

static mc_code load_config(sched *d, mc_sched_config **out, mc_error *err)
{
	char path[4200];
	const char *file = d->config_path;
	if (!file) {
		snprintf(path, sizeof path, "%s/scheduler.conf", d->ctx->home);
		file = path;
	}
	mc_code rc = mc_sched_config_load(file, out, err);
	if (rc == MC_ERR_NOT_FOUND && !d->config_path) {
		mc_error_clear(err);
		rc = mc_sched_config_parse(mc_sched_default_config, DEFAULT_CONFIG_LABEL, out, err);
	}
	for (size_t i = 0; !rc && i < (*out)->n; i++)
		rc = check_schedule(d, *out, &(*out)->items[i], err);
	if (rc) {
		mc_sched_config_free(*out);
		*out = NULL;
	}
	return rc;
}

/* Per-schedule arrays for cfg: last = none yet, next = no fire. */
static mc_code state_arrays(const mc_sched_config *cfg, int64_t **last, int64_t **next)
{
	size_t n = cfg->n ? cfg->n : 1;
	*last = malloc(n * sizeof **last);
	*next = malloc(n * sizeof **next);
	if (!*last || !*next) {
		free(*last);
		free(*next);
		return MC_ERR_NOMEM;
	}
	for (size_t i = 0; i < cfg->n; i++) {
		(*last)[i] = INT64_MIN;
		(*next)[i] = NO_FIRE;
	}
	return MC_OK;
}

/* ---- history: the newest fire handled per schedule ---- */

static mc_code load_history(sched *d, mc_error *err)
{
	mc_flow_filter f = {NULL, -1, 0};
	mc_flow_run_info *runs = NULL;
	size_t n = 0;
	mc_code rc = mc_flow_run_list(d->ctx->store, &f, &runs, &n, err);
	for (size_t r = 0; !rc && r < n; r++) {
		if (!runs[r].idempotency_key || runs[r].state == MC_STATE_SCHEDULED)
			continue; /* a run never started is not handled: its fire may run */
		for (size_t i = 0; i < d->cfg->n; i++) {
			int64_t fire;
			if (mc_sched_key_fire(runs[r].idempotency_key, d->cfg->items[i].name,
					      &fire) &&
			    fire > d->last[i])
				d->last[i] = fire;
		}
	}
	mc_flow_run_list_free(runs, n);
	return rc;
}

/* ---- firing: plans, the queue ---- */

static void log_next(sched *d, size_t i)
{
	const mc_schedule *s = &d->cfg->items[i];
	char desc[256];
	mc_cron_describe(s->cron, desc, sizeof desc);
	json_t *f =
		json_pack("{s:s, s:s, s:s, s:s, s:s}", "schedule", s->name, "flow", s->flow, "cron",
			  mc_cron_source(s->cron), "when", desc, "timezone", s->tz_name);
	json_object_set_new(f, "next",
			    d->next[i] == NO_FIRE ? json_null() : fire_time(s->tz, d->next[i]));
	emit(&d->log, MC_LOG_INFO, "next", f);
}

static void enqueue(sched *d, const mc_schedule *s, const mc_sched_slot *slot)
{
	mc_error err = MC_ERROR_INIT;
	json_t *params = NULL;
	mc_sched_fire f = {0};
	if (!mc_sched_fire_params(s, slot->fire, &params, &err)) {
		f = (mc_sched_fire){.schedule = strdup(s->name),
				    .flow = strdup(s->flow),
				    .params = params,
				    .fire = slot->fire,
				    .catch_up = slot->catch_up,
				    .keep = slot->catch_up && s->catch_up == MC_CATCH_UP_ALL};
		if (!f.schedule || !f.flow)
			mc_fail(&err, MC_ERR_NOMEM, "out of memory");
	}
	size_t ncollapsed = 0;
	int64_t dropped = 0;
	if (!err.code)
		mc_sched_queue_push(&d->queue, &f, &ncollapsed, &dropped, &err);
	else
		mc_sched_fire_release(&f);
	if (err.code) {
		d->nfailed++;
		emit(&d->log, MC_LOG_ERROR, "fire_failed",
		     json_pack("{s:s, s:o, s:s}", "schedule", s->name, "fire",
			       fire_time(s->tz, slot->fire), "error", err.msg));
		return;
	}
	emit(&d->log, MC_LOG_INFO, "fired",
	     json_pack("{s:s, s:s, s:o, s:b}", "schedule", s->name, "flow", s->flow, "fire",
		       fire_time(s->tz, slot->fire), "catch_up", slot->catch_up));
	if (ncollapsed)
		emit(&d->log, MC_LOG_WARNING, "collapsed",
		     json_pack("{s:s, s:i, s:o, s:o}", "schedule", s->name, "dropped",
			       (int)ncollapsed, "newest_dropped", fire_time(s->tz, dropped), "kept",
			       fire_time(s->tz, slot->fire)));
}

static void log_plan(sched *d, const mc_schedule *s, const mc_sched_plan *p)
{
	size_t caught = 0;
	for (size_t i = 0; i < p->nrun; i++)
		caught += p->run[i].catch_up;
	if (p->nskipped)
		emit(&d->log, MC_LOG_WARNING, "skipped",
		     json_pack("{s:s, s:i, s:o, s:o, s:s}", "schedule", s->name, "missed",
			       (int)p->nskipped, "first", fire_time(s->tz, p->first_skipped),
			       "last", fire_time(s->tz, p->last_skipped), "catch_up",
			       mc_catch_up_name(s->catch_up)));
	if (caught)
		emit(&d->log, MC_LOG_INFO, "catch_up",
		     json_pack("{s:s, s:s, s:i, s:i}", "schedule", s->name, "policy",
			       mc_catch_up_name(s->catch_up), "missed", (int)p->nmissed, "running",
			       (int)caught));
}

/* Every fire of schedule i up to now, as its catch-up policy says; then its next fire. */
static void plan_schedule(sched *d, size_t i, int64_t now)
{
	const mc_schedule *s = &d->cfg->items[i];
	mc_sched_plan p;
	mc_error err = MC_ERROR_INIT;
	if (mc_sched_plan_fires(s->cron, s->tz, s->catch_up, s->max_catch_up, d->last[i], now, &p,
				&err)) {
		emit(&d->log, MC_LOG_ERROR, "plan_failed",
		     json_pack("{s:s, s:s}", "schedule", s->name, "error", err.msg));
		d->next[i] = NO_FIRE;
		return;
	}
	log_plan(d, s, &p);
	for (size_t k = 0; k < p.nrun; k++)
		enqueue(d, s, &p.run[k]);
	if (p.latest > d->last[i])
		d->last[i] = p.latest;
	mc_sched_plan_release(&p);
	if (mc_cron_next(s->cron, s->tz, now, &d->next[i], &err))
		d->next[i] = NO_FIRE;
	if (!d->a->once)
		log_next(d, i);
}

static void fire_due(sched *d, int64_t now)
{
	for (size_t i = 0; i < d->cfg->n; i++)
		if (d->cfg->items[i].enabled && d->next[i] <= now)
			plan_schedule(d, i, now);
}

/* ---- running a fire ---- */

static void child_log(void *user, const char *run_id, const char *task, mc_log_level level,
		      const char *message)
{
	const logger *lg = user;
	json_t *f = json_pack("{s:s, s:s?, s:s, s:s}", "run", run_id, "task", task, "level",
			      level_name(level), "message", message);
	emit(lg, level >= MC_LOG_WARNING ? MC_LOG_WARNING : MC_LOG_DEBUG, "run_log", f);
}

/* In the forked child: execute the run and exit with 0 when it Completed. */
static void run_child(sched *d, const mc_pipeline *p, const char *id)
{
	setpgid(0, 0); /* a terminal's ^C is for the scheduler, which stops runs itself */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != d->self)
		_exit(1);
	reset_signals();
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	mc_error err = MC_ERROR_INIT;
	mc_store *store = NULL;
	mc_alerter *alerter = NULL;
	mc_alert_config cfg;
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	o.log = child_log;
	o.log_user = &d->log;
	mc_state final = MC_STATE_FAILED;
	mc_code rc = mc_store_open(d->ctx->home, &store, &err);
	if (!rc && !mc_alert_config_from_env(&cfg, &err) &&
	    !mc_alerter_open(&cfg, store, &alerter, &err)) {
		o.on_failure = mc_flow_alert_hook;
		o.hook_user = alerter;
	}
	if (!rc)
		rc = mc_flow_run_start(store, mc_pipeline_def(p), id, &o, &final, &err);
	if (rc)
		emit(&d->log, MC_LOG_ERROR, "run_error",
		     json_pack("{s:s, s:s}", "run", id, "error", err.msg));
	mc_alerter_free(alerter);
	mc_store_free(store);
	_exit(rc ? 2 : final == MC_STATE_COMPLETED ? 0 : 1);
}

static const running *busy_run(const sched *d, const char *flow)
{
	for (size_t i = 0; i < d->nruns; i++)
		if (!strcmp(d->runs[i].flow, flow))
			return &d->runs[i];
	return NULL;
}

static bool flow_busy(void *user, const char *flow)
{
	return busy_run(user, flow) != NULL;
}

/* The state of a run, or -1 when it cannot be read. */
static int run_state(sched *d, const char *id, char *message, size_t size)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_detail *det = NULL;
	if (mc_flow_detail_get(d->ctx->store, id, &det, &err)) {
		snprintf(message, size, "%s", err.msg);
		return -1;
	}
	int st = (int)det->run.state;
	snprintf(message, size, "%s", det->run.message ? det->run.message : "");
	mc_flow_detail_free(det);
	return st;
}

/* Create (or find) the fire's run; false when there is nothing to start. */
static bool create_run(sched *d, const mc_sched_fire *f, const mc_pipeline *p,
		       char id[MC_FLOW_ID_LEN + 1])
{
	char key[MC_SCHED_KEY_MAX], message[MC_ERRMSG_MAX];
	mc_sched_key(f->schedule, f->fire, key, sizeof key);
	mc_error err = MC_ERROR_INIT;
	bool existed = false;
	if (mc_flow_run_create(d->ctx->store, NULL, f->flow, mc_pipeline_params(p), f->fire * 1000,
			       key, id, &existed, &err)) {
		d->nfailed++;
		emit(&d->log, MC_LOG_ERROR, "fire_failed",
		     json_pack("{s:s, s:o, s:s}", "schedule", f->schedule, "fire",
			       fire_json(d, f->schedule, f->fire), "error", err.msg));
		return false;
	}
	int st = existed ? run_state(d, id, message, sizeof message) : MC_STATE_SCHEDULED;
	if (st == MC_STATE_SCHEDULED)
		return true;
	emit(&d->log, MC_LOG_INFO, "already_handled",
	     json_pack("{s:s, s:o, s:s, s:s}", "schedule", f->schedule, "fire",
		       fire_json(d, f->schedule, f->fire), "run", id, "state",
		       st < 0 ? "unknown" : mc_state_name((mc_state)st)));
	return false;
}

static void add_running(sched *d, const mc_sched_fire *f, pid_t pid, const char *id)
{
	running *grown = realloc(d->runs, (d->nruns + 1) * sizeof *grown);
	if (!grown) { /* cannot track it: wait for it here rather than lose it */
		waitpid(pid, NULL, 0);
		return;
	}
	d->runs = grown;
	running *r = &d->runs[d->nruns++];
	memset(r, 0, sizeof *r);
	r->pid = pid;
	snprintf(r->id, sizeof r->id, "%s", id);
	r->schedule = strdup(f->schedule);
	r->flow = strdup(f->flow);
	r->fire = f->fire;
	r->started_ms = mono_ms();
	if (!r->schedule || !r->flow) {
		free(r->schedule);
		free(r->flow);
		r->schedule = strdup("?");
		r->flow = strdup(f->flow);
	}
}

static void start_fire(sched *d, mc_sched_fire *f)
{
	mc_error err = MC_ERROR_INIT;
	mc_pipeline *p = NULL;
	char id[MC_FLOW_ID_LEN + 1];
	if (mc_pipeline_build(d->ctx, f->flow, f->params, &p, &err)) {
		d->nfailed++;
		emit(&d->log, MC_LOG_ERROR, "fire_failed",
		     json_pack("{s:s, s:o, s:s}", "schedule", f->schedule, "fire",
			       fire_json(d, f->schedule, f->fire), "error", err.msg));
		return;
	}
	if (!create_run(d, f, p, id)) {
		mc_pipeline_free(p);
		return;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		run_child(d, p, id);
	mc_pipeline_free(p);
	if (pid < 0) {
		int e = errno;
		mc_flow_opts o;
		mc_flow_opts_init(&o);
		mc_state now;
		mc_flow_cancel(d->ctx->store, id, &o, &now, &err);
		errno = e;
		d->nfailed++;
		char why[256];
		snprintf(why, sizeof why, "cannot fork: %s", strerror(errno));
		emit(&d->log, MC_LOG_ERROR, "fire_failed",
		     json_pack("{s:s, s:s, s:s}", "schedule", f->schedule, "run", id, "error",
			       why));
		return;
	}
	setpgid(pid, pid);
	add_running(d, f, pid, id);
	emit(&d->log, MC_LOG_INFO, "run_started",
	     json_pack("{s:s, s:s, s:o, s:s, s:i, s:b}", "schedule", f->schedule, "flow", f->flow,
		       "fire", fire_json(d, f->schedule, f->fire), "run", id, "pid", (int)pid,
		       "catch_up", f->catch_up));
}

/* Start every waiting fire whose flow is idle. */
static void dispatch(sched *d)
{
	mc_sched_fire f = {0};
	while (mc_sched_queue_take(&d->queue, flow_busy, d, &f)) {
		start_fire(d, &f);
		mc_sched_fire_release(&f);
	}
	for (size_t i = 0; i < d->queue.n; i++) {
		mc_sched_fire *w = &d->queue.items[i];
		const running *r = busy_run(d, w->flow);
		if (w->announced || !r)
			continue;
		w->announced = true;
		emit(&d->log, MC_LOG_INFO, "waiting",
		     json_pack("{s:s, s:s, s:o, s:s}", "schedule", w->schedule, "flow", w->flow,
			       "fire", fire_json(d, w->schedule, w->fire), "behind", r->id));
	}
}

/* ---- runs ending ---- */

static void finish_run(sched *d, running *r, int status)
{
	char message[MC_ERRMSG_MAX];
	int st = run_state(d, r->id, message, sizeof message);
	if (st >= 0 && !mc_state_is_final((mc_state)st)) {
		/* The child died: a started run is Crashed, one it never claimed Cancelled. */
		mc_error err = MC_ERROR_INIT;
		mc_flow_opts o;
		mc_flow_opts_init(&o);
		mc_state now;
		if (st == MC_STATE_SCHEDULED)
			mc_flow_cancel(d->ctx->store, r->id, &o, &now, &err);
		else
			mc_flow_recover(d->ctx->store, &o, NULL, &err);
		st = run_state(d, r->id, message, sizeof message);
	}
	bool ok = st == MC_STATE_COMPLETED;
	if (!ok)
		d->nfailed++;
	json_t *f = json_pack("{s:s, s:s, s:o, s:s, s:s, s:f}", "schedule", r->schedule, "flow",
			      r->flow, "fire", fire_json(d, r->schedule, r->fire), "run", r->id,
			      "state", st < 0 ? "unknown" : mc_state_name((mc_state)st), "seconds",
			      (double)(mono_ms() - r->started_ms) / 1000);
	if (*message)
		json_object_set_new(f, "message", json_string(message));
	if (WIFSIGNALED(status))
		json_object_set_new(f, "signal", json_integer(WTERMSIG(status)));
	emit(&d->log, ok ? MC_LOG_INFO : MC_LOG_WARNING, "run_ended", f);
}

static void drop_running(sched *d, size_t i)
{
	free(d->runs[i].schedule);
	free(d->runs[i].flow);
	memmove(&d->runs[i], &d->runs[i + 1], (d->nruns - i - 1) * sizeof *d->runs);
	d->nruns--;
}

static void reap(sched *d)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (size_t i = 0; i < d->nruns; i++)
			if (d->runs[i].pid == pid) {
				finish_run(d, &d->runs[i], status);
				drop_running(d, i);
				break;
			}
}

/* ---- reload, shutdown ---- */

static void reload(sched *d)
{
	mc_error err = MC_ERROR_INIT;
	mc_sched_config *cfg = NULL;
	int64_t *last = NULL, *next = NULL;
	if (d->a->once) {
		emit(&d->log, MC_LOG_WARNING, "reload_ignored",
		     json_pack("{s:s}", "why", "--once"));
		return;
	}
	if (load_config(d, &cfg, &err) || state_arrays(cfg, &last, &next)) {
		emit(&d->log, MC_LOG_ERROR, "reload_failed",
		     json_pack("{s:s, s:s}", "error", err.code ? err.msg : "out of memory", "kept",
			       d->cfg->path));
		mc_sched_config_free(cfg);
		return;
	}
	/* No catch-up on reload: each schedule goes on from now (or its newest fire). */
	int64_t now = sched_now(d), base = now - MC_SCHED_DUE_WINDOW_S;
	for (size_t i = 0; i < cfg->n; i++) {
		last[i] = base;
		for (size_t k = 0; k < d->cfg->n; k++)
			if (!strcmp(d->cfg->items[k].name, cfg->items[i].name) && d->last[k] > base)
				last[i] = d->last[k];
		next[i] = 0; /* planned right away */
	}
	mc_sched_config_free(d->cfg);
	free(d->last);
	free(d->next);
	d->cfg = cfg;
	d->last = last;
	d->next = next;
	emit(&d->log, MC_LOG_INFO, "reloaded",
	     json_pack("{s:s, s:i}", "config", cfg->path, "schedules", (int)cfg->n));
}

static void wait_runs(sched *d, int64_t deadline_ms)
{
	while (d->nruns && mono_ms() < deadline_ms) {
		int64_t left = deadline_ms - mono_ms();
		sig_atomic_t term = g_term;
		wait_event(left < 1000 ? left : 1000);
		reap(d);
		if (g_term > term && g_term >= 2)
			return; /* a second signal: stop waiting */
	}
}

static void cancel_runs(sched *d)
{
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	for (size_t i = 0; i < d->nruns; i++) {
		mc_error err = MC_ERROR_INIT;
		mc_state now = MC_STATE_RUNNING;
		mc_code rc = mc_flow_cancel(d->ctx->store, d->runs[i].id, &o, &now, &err);
		emit(&d->log, MC_LOG_WARNING, "cancel",
		     json_pack("{s:s, s:s, s:s}", "schedule", d->runs[i].schedule, "run",
			       d->runs[i].id, "result", rc ? err.msg : mc_state_name(now)));
	}
	wait_runs(d, mono_ms() + CANCEL_WAIT_MS);
	for (size_t i = 0; i < d->nruns; i++) /* still there: kill; recovery marks it Crashed */
		kill(d->runs[i].pid, SIGKILL);
	while (d->nruns) {
		int status;
		pid_t pid = waitpid(d->runs[0].pid, &status, 0);
		if (pid == d->runs[0].pid || (pid < 0 && errno != EINTR)) {
			finish_run(d, &d->runs[0], pid > 0 ? status : 0);
			drop_running(d, 0);
		}
	}
}

static void shutdown_runs(sched *d)
{
	emit(&d->log, MC_LOG_INFO, "shutting_down",
	     json_pack("{s:s, s:i, s:i, s:i}", "signal", g_signal == SIGINT ? "SIGINT" : "SIGTERM",
		       "running", (int)d->nruns, "waiting", (int)d->queue.n, "grace_s",
		       (int)d->a->grace));
	for (size_t i = 0; i < d->queue.n; i++)
		emit(&d->log, MC_LOG_WARNING, "dropped",
		     json_pack("{s:s, s:o}", "schedule", d->queue.items[i].schedule, "fire",
			       fire_json(d, d->queue.items[i].schedule, d->queue.items[i].fire)));
	mc_sched_queue_release(&d->queue);
	wait_runs(d, mono_ms() + d->a->grace * 1000);
	if (d->nruns)
		cancel_runs(d);
}

/* ---- the loop ---- */

static int64_t sleep_ms(const sched *d)
{
	if (d->a->once)
		return 1000;
	int64_t soonest = NO_FIRE;
	for (size_t i = 0; i < d->cfg->n; i++)
		if (d->cfg->items[i].enabled && d->next[i] < soonest)
			soonest = d->next[i];
	if (soonest == NO_FIRE)
		return 1000;
	int64_t ms = soonest * 1000 - wall_ms();
	return ms < 0 ? 0 : ms > 1000 ? 1000 : ms;
}

static void run_loop(sched *d)
{
	for (;;) {
		reap(d);
		if (g_term)
			break;
		if (g_hup) {
			g_hup = 0;
			reload(d);
		}
		if (!d->a->once)
			fire_due(d, sched_now(d));
		dispatch(d);
		if (d->a->once && !d->nruns && !d->queue.n)
			return;
		wait_event(sleep_ms(d));
	}
	shutdown_runs(d);
}

/* ---- start ---- */

/* HOME/scheduler.lock: one scheduler per workspace. */
static int take_lock(sched *d)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/scheduler.lock", d->ctx->home);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d->lock_fd < 0) {
		fprintf(stderr, "milkcast: error: cannot open '%s': %s\n", path, strerror(errno));
		return MC_EXIT_FAIL;
	}
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		char pid[32] = "";
		ssize_t n = pread(d->lock_fd, pid, sizeof pid - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		fprintf(stderr, "milkcast: error: another scheduler is running on '%s' (pid %s)\n",
			d->ctx->home, *pid ? pid : "unknown");
		return MC_EXIT_FAIL;
	}
	char text[32];
	int n = snprintf(text, sizeof text, "%ld\n", (long)d->self);
	/* The pid is for the message above; the lock holds without it. */
	if (ftruncate(d->lock_fd, 0) == 0) {
		ssize_t w = pwrite(d->lock_fd, text, (size_t)n, 0);
		(void)w;
	}
	return MC_EXIT_OK;
}

/* Runs whose process died (a killed scheduler's) become Crashed, alerted. */
static int recover(sched *d)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	mc_alerter *alerter = NULL;
	mc_alert_config cfg;
	if (!mc_alert_config_from_env(&cfg, &err) &&
	    !mc_alerter_open(&cfg, d->ctx->store, &alerter, &err)) {
		o.on_failure = mc_flow_alert_hook;
		o.hook_user = alerter;
	}
	mc_error_clear(&err);
	size_t n = 0;
	mc_code rc = mc_flow_recover(d->ctx->store, &o, &n, &err);
	mc_alerter_free(alerter);
	if (rc)
		return mc_die_error(&err);
	if (n)
		emit(&d->log, MC_LOG_WARNING, "recovered", json_pack("{s:i}", "crashed", (int)n));
	return MC_EXIT_OK;
}

static int parse_now(sched *d)
{
	if (!d->a->now)
		return MC_EXIT_OK;
	mc_error err = MC_ERROR_INIT;
	mc_tz *tz = NULL;
	mc_code rc = mc_tz_load(d->cfg->tz_name, &tz, &err);
	if (!rc)
		rc = mc_sched_parse_time(d->a->now, tz, &d->fixed_now, &err);
	mc_tz_free(tz);
	if (rc)
		return mc_usage_error(help.usage, "--now: %s", err.msg);
	d->has_now = true;
	return MC_EXIT_OK;
}

static void log_start(sched *d, int64_t now)
{
	json_t *f =
		json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:b}", "version", MC_VERSION_STRING,
			  "commit", mc_git_commit(), "pid", (int)d->self, "home", d->ctx->home,
			  "config", d->cfg->path, "schedules", (int)d->cfg->n, "once", d->a->once);
	if (d->has_now) {
		char when[32];
		time_t t = (time_t)now;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(f, "now", json_string(when));
	}
	emit(&d->log, MC_LOG_INFO, "started", f);
	for (size_t i = 0; i < d->cfg->n; i++)
		if (!d->cfg->items[i].enabled)
			emit(&d->log, MC_LOG_INFO, "disabled",
			     json_pack("{s:s}", "schedule", d->cfg->items[i].name));
}

/* The first pass: every schedule from its newest handled fire (catch-up), or,
 * the first time, from the due window before now. */
static void first_pass(sched *d)
{
	int64_t now = sched_now(d);
	log_start(d, now);
	for (size_t i = 0; i < d->cfg->n; i++) {
		if (!d->cfg->items[i].enabled)
			continue;
		if (d->last[i] == INT64_MIN)
			d->last[i] = now - MC_SCHED_DUE_WINDOW_S;
		plan_schedule(d, i, now);
	}
	if (d->a->once && !d->queue.n)
		emit(&d->log, MC_LOG_INFO, "nothing_due", json_object());
}

static int start(sched *d)
{
	mc_error err = MC_ERROR_INIT;
	int rc = mc_ctx_open_store(d->ctx);
	if (rc)
		return rc;
	if (load_config(d, &d->cfg, &err)) {
		mc_die_error(&err);
		return MC_EXIT_USAGE;
	}
	if ((rc = parse_now(d)) || (rc = take_lock(d)) || (rc = recover(d)))
		return rc;
	if (state_arrays(d->cfg, &d->last, &d->next))
		mc_fail(&err, MC_ERR_NOMEM, "out of memory");
	else
		load_history(d, &err);
	if (err.code)
		return mc_die_error(&err);
	if (install_signals()) {
		fprintf(stderr, "milkcast: error: cannot set up signals: %s\n", strerror(errno));
		return MC_EXIT_FAIL;
	}
	return MC_EXIT_OK;
}

static void release(sched *d)
{
	mc_sched_queue_release(&d->queue);
	for (size_t i = 0; i < d->nruns; i++) {
		free(d->runs[i].schedule);
		free(d->runs[i].flow);
	}
	free(d->runs);
	free(d->last);
	free(d->next);
	mc_sched_config_free(d->cfg);
	reset_signals();
	if (d->lock_fd >= 0)
		close(d->lock_fd);
}

static int check_args(const sched_args *a)
{
	if (a->now && !a->once)
		return mc_usage_error(help.usage, "--now needs --once");
	if (a->grace < 0 || a->grace > GRACE_MAX_S)
		return mc_usage_error(help.usage, "--grace: %ld is out of range 0..%d", a->grace,
				      GRACE_MAX_S);
	return -1;
}

int cmd_scheduler(int argc, char **argv, mc_ctx *ctx)
{
	sched_args a = {.grace = 30};
	const mc_option opts[] = {
		MC_OPT_STRING(0, "config", &a.config, "FILE",
			      "the schedules (default HOME/scheduler.conf, else built-in)"),
		MC_OPT_FLAG(0, "once", &a.once, "run what is due, wait for it, exit"),
		MC_OPT_STRING(0, "now", &a.now, "TIME", "with --once: the time to act at"),
		MC_OPT_INT(0, "grace", &a.grace, "SECONDS",
			   "on SIGTERM, wait this long for runs before cancelling them (30)"),
		MC_OPT_END(),
	};
	char description[4096];
	snprintf(description, sizeof description, "%s%s", help.description, mc_pipeline_help);
	const mc_command_help full = {help.usage, help.summary, description};
	int rc = mc_parse_flags_only(argc, argv, opts, &full, ctx);
	if (rc >= 0)
		return rc;
	if ((rc = check_args(&a)) >= 0)
		return rc;
	sched d = {.ctx = ctx, .a = &a, .config_path = a.config, .lock_fd = -1};
	d.log = (logger){ctx->json, ctx->verbosity};
	d.self = getpid();
	g_term = g_hup = 0;
	rc = start(&d);
	if (!rc) {
		first_pass(&d);
		run_loop(&d);
		emit(&d.log, MC_LOG_INFO, "stopped",
		     json_pack("{s:i}", "not_completed", (int)d.nfailed));
		rc = a.once && d.nfailed ? MC_EXIT_FAIL : MC_EXIT_OK;
	}
	release(&d);
	return rc;
}
