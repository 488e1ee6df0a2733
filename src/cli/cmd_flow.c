/* `milkcast flow run|runs|show|logs|retry|cancel`: the pipeline's flows on the flow engine. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/pipeline.h"
#include "milkcast/alert.h"
#include "milkcast/flow.h"

static const mc_command_help help = {
	"milkcast flow run NAME [--param KEY=VALUE]... | runs | show RUN | logs RUN |\n"
	"       retry RUN | cancel RUN [options]",
	"Run the pipeline's flows, with retries, timeouts and a history, as Prefect does.",
	"  run NAME   run flow NAME now, in this process, until it ends\n"
	"  runs       flow runs, newest first (--flow, --state, --limit)\n"
	"  show RUN   a run: parameters, each task's state, attempts, time and error, and\n"
	"             the state history of the run and of its tasks\n"
	"  logs RUN   the run's log lines (--task LABEL: one task's)\n"
	"  retry RUN  resume a Failed, Crashed or Cancelled run: tasks that completed keep\n"
	"             their results; the others run again\n"
	"  cancel RUN stop a run (a running one within a second)\n"
	"RUN is a run id or a unique prefix of at least 4 digits.  Runs whose process\n"
	"died (kill -9, power loss) are marked Crashed by the next flow command.\n"
	"\n"
	"The flows and their parameters (--param KEY=VALUE, defaults shown):\n",
};

typedef struct flow_args {
	mc_strlist params;
	const char *flow, *state, *task;
	long limit, concurrency;
} flow_args;

/* ---- output ---- */

static void format_ms(int64_t ms, char out[24])
{
	if (!ms) {
		strcpy(out, "-");
		return;
	}
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	strftime(out, 24, "%Y-%m-%d %H:%M:%S", &tm);
}

static void format_duration(int64_t from, int64_t to, char out[16])
{
	if (!from || !to)
		strcpy(out, "-");
	else
		snprintf(out, 16, "%.1fs", (double)(to - from) / 1000);
}

static json_t *run_json(const mc_flow_run_info *r)
{
	json_t *params = r->parameters ? json_loads(r->parameters, 0, NULL) : NULL;
	return json_pack("{s:s, s:s, s:s, s:o, s:s?, s:I, s:I, s:I, s:I, s:i}", "id", r->id, "flow",
			 r->flow, "state", mc_state_name(r->state), "parameters",
			 params ? params : json_object(), "message", r->message, "created_ms",
			 (json_int_t)r->created_ms, "started_ms", (json_int_t)r->started_ms,
			 "ended_ms", (json_int_t)r->ended_ms, "pid", (json_int_t)r->pid,
			 "executions", r->run_count);
}

static json_t *history_json(const mc_state_entry *h, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			a, json_pack("{s:s, s:i, s:s, s:I, s:s?}", "run_id", h[i].run_id, "seq",
				     h[i].seq, "state", mc_state_name(h[i].state), "time_ms",
				     (json_int_t)h[i].time_ms, "message", h[i].message));
	return a;
}

static json_t *detail_json(const mc_flow_detail *d)
{
	json_t *o = run_json(&d->run), *tasks = json_array();
	for (size_t i = 0; i < d->ntasks; i++) {
		const mc_task_run_info *t = &d->tasks[i];
		json_t *result = t->result ? json_loads(t->result, JSON_DECODE_ANY, NULL) : NULL;
		json_array_append_new(
			tasks,
			json_pack("{s:s, s:s, s:s, s:i, s:s?, s:o, s:s?, s:I, s:I}", "id", t->id,
				  "label", t->label, "state", mc_state_name(t->state), "attempts",
				  t->attempts, "cache_key", t->cache_key, "result",
				  result ? result : json_null(), "error", t->error, "started_ms",
				  (json_int_t)t->started_ms, "ended_ms", (json_int_t)t->ended_ms));
	}
	json_object_set_new(o, "tasks", tasks);
	json_object_set_new(o, "history", history_json(d->history, d->nhistory));
	json_object_set_new(o, "task_history", history_json(d->task_history, d->ntask_history));
	return o;
}

static void print_tasks(const mc_flow_detail *d)
{
	printf("%-28s %-10s %-8s %-9s %s\n", "task", "state", "attempts", "time", "error");
	for (size_t i = 0; i < d->ntasks; i++) {
		const mc_task_run_info *t = &d->tasks[i];
		char dur[16];
		format_duration(t->started_ms, t->ended_ms, dur);
		printf("%-28s %-10s %-8d %-9s %s\n", t->label, mc_state_name(t->state), t->attempts,
		       dur, t->error ? t->error : "");
	}
}

static void print_detail(const mc_flow_detail *d)
{
	char when[24], dur[16];
	format_ms(d->run.started_ms, when);
	format_duration(d->run.started_ms, d->run.ended_ms, dur);
	printf("run         %s\nflow        %s\nstate       %s%s%s\nparameters  %s\n"
	       "started     %s UTC (%s)\nexecutions  %d\n\n",
	       d->run.id, d->run.flow, mc_state_name(d->run.state), d->run.message ? ": " : "",
	       d->run.message ? d->run.message : "", d->run.parameters ? d->run.parameters : "{}",
	       when, dur, d->run.run_count);
	print_tasks(d);
	printf("\nhistory\n");
	for (size_t i = 0; i < d->nhistory; i++) {
		format_ms(d->history[i].time_ms, when);
		printf("  %s  %-10s %s\n", when, mc_state_name(d->history[i].state),
		       d->history[i].message ? d->history[i].message : "");
	}
}

/* ---- engine options ---- */

static void on_log(void *user, const char *run_id, const char *task, mc_log_level level,
		   const char *message)
{
	(void)run_id;
	const mc_ctx *ctx = user;
	bool show = level >= MC_LOG_WARNING || ctx->verbosity >= 2 || (ctx->verbosity && !task);
	if (show && task)
		fprintf(stderr, "[%s] %s\n", task, message);
	else if (show)
		fprintf(stderr, "%s\n", message);
}

typedef struct engine {
	mc_flow_opts opts;
	mc_alerter *alerter;
	struct sigaction old_term, old_int;
} engine;

/* SIGTERM or SIGINT during a run: the engine stops its tasks and records the run
 * Crashed at once (else it would stay Running until the next start recovers it). */
static volatile sig_atomic_t g_stop;

static void on_stop_signal(int sig)
{
	g_stop = sig;
}

static void catch_stop_signals(engine *e)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	g_stop = 0;
	sigaction(SIGTERM, &sa, &e->old_term);
	sigaction(SIGINT, &sa, &e->old_int);
	e->opts.stop = &g_stop;
}

/* Engine options; failed runs are alerted through the configured channels. */
static void engine_init(engine *e, mc_ctx *ctx, long concurrency)
{
	mc_flow_opts_init(&e->opts);
	catch_stop_signals(e);
	if (concurrency > 0)
		e->opts.concurrency = (int)concurrency;
	e->opts.log = on_log;
	e->opts.log_user = ctx;
	e->alerter = NULL;
	mc_alert_config cfg;
	mc_error err = MC_ERROR_INIT;
	if (mc_alert_config_from_env(&cfg, &err) ||
	    mc_alerter_open(&cfg, ctx->store, &e->alerter, &err)) {
		fprintf(stderr, "milkcast: warning: failed runs will not be alerted: %s\n",
			err.msg);
		return;
	}
	e->opts.on_failure = mc_flow_alert_hook;
	e->opts.hook_user = e->alerter;
}

static void engine_release(engine *e)
{
	mc_alerter_free(e->alerter);
	sigaction(SIGTERM, &e->old_term, NULL);
	sigaction(SIGINT, &e->old_int, NULL);
}

/* ---- subcommands ---- */

/* --param KEY=VALUE... as a JSON object of strings. */
static int params_object(const mc_strlist *l, json_t **out)
{
	json_t *o = json_object();
	for (int i = 0; o && i < l->n; i++) {
		const char *eq = strchr(l->items[i], '=');
		if (!eq || eq == l->items[i]) {
			json_decref(o);
			return mc_usage_error(help.usage, "--param '%s': expected KEY=VALUE",
					      l->items[i]);
		}
		char key[128];
		snprintf(key, sizeof key, "%.*s", (int)(eq - l->items[i]), l->items[i]);
		json_object_set_new(o, key, json_string(eq + 1));
	}
	*out = o;
	return MC_EXIT_OK;
}

/* Prints the outcome of an execution; exit 0 when it Completed. */
static int report(mc_ctx *ctx, const char *id, mc_state final)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_detail *d = NULL;
	if (mc_flow_detail_get(ctx->store, id, &d, &err))
		return mc_die_error(&err);
	if (ctx->json)
		mc_print_json(detail_json(d));
	else {
		print_tasks(d);
		printf("\nflow run %s: %s%s%s\n", id, mc_state_name(final),
		       d->run.message ? ": " : "", d->run.message ? d->run.message : "");
	}
	mc_flow_detail_free(d);
	return final == MC_STATE_COMPLETED ? MC_EXIT_OK : MC_EXIT_FAIL;
}

static int flow_run(mc_ctx *ctx, const char *name, const flow_args *a)
{
	json_t *given = NULL;
	int rc = params_object(&a->params, &given);
	if (rc)
		return rc;
	mc_error err = MC_ERROR_INIT;
	mc_pipeline *p = NULL;
	if (mc_pipeline_build(ctx, name, given, &p, &err)) {
		json_decref(given);
		return err.code == MC_ERR_INVALID || err.code == MC_ERR_NOT_FOUND
			       ? mc_usage_error(help.usage, "%s", err.msg)
			       : mc_die_error(&err);
	}
	json_decref(given);
	engine e;
	engine_init(&e, ctx, a->concurrency);
	char id[MC_FLOW_ID_LEN + 1];
	mc_state final = MC_STATE_FAILED;
	mc_code code = mc_flow_run(ctx->store, mc_pipeline_def(p), mc_pipeline_params(p), &e.opts,
				   id, &final, &err);
	engine_release(&e);
	mc_pipeline_free(p);
	return code ? mc_die_error(&err) : report(ctx, id, final);
}

static int flow_runs(mc_ctx *ctx, const flow_args *a)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_filter f = {a->flow, -1, a->limit > 0 ? (size_t)a->limit : 50};
	if (a->state) {
		mc_state s;
		if (mc_state_parse(a->state, &s, &err))
			return mc_usage_error(help.usage, "%s", err.msg);
		f.state = (int)s;
	}
	mc_flow_run_info *runs = NULL;
	size_t n = 0;
	if (mc_flow_run_list(ctx->store, &f, &runs, &n, &err))
		return mc_die_error(&err);
	if (ctx->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, run_json(&runs[i]));
		mc_print_json(arr);
	} else {
		printf("%-32s  %-9s %-10s %-19s  %-8s %s\n", "run", "flow", "state",
		       "started (UTC)", "time", "parameters");
		for (size_t i = 0; i < n; i++) {
			char when[24], dur[16];
			format_ms(runs[i].started_ms, when);
			format_duration(runs[i].started_ms, runs[i].ended_ms, dur);
			printf("%-32s  %-9s %-10s %-19s  %-8s %s\n", runs[i].id, runs[i].flow,
			       mc_state_name(runs[i].state), when, dur,
			       runs[i].parameters ? runs[i].parameters : "{}");
		}
	}
	mc_flow_run_list_free(runs, n);
	return MC_EXIT_OK;
}

static int flow_show(mc_ctx *ctx, const char *run)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_detail *d = NULL;
	if (mc_flow_detail_get(ctx->store, run, &d, &err))
		return mc_die_error(&err);
	if (ctx->json)
		mc_print_json(detail_json(d));
	else
		print_detail(d);
	mc_flow_detail_free(d);
	return MC_EXIT_OK;
}

static const char *task_label(const mc_flow_detail *d, const char *task_run_id)
{
	for (size_t i = 0; task_run_id && i < d->ntasks; i++)
		if (!strcmp(d->tasks[i].id, task_run_id))
			return d->tasks[i].label;
	return NULL;
}

static int flow_logs(mc_ctx *ctx, const char *run, const char *only)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_detail *d = NULL;
	if (mc_flow_detail_get(ctx->store, run, &d, &err))
		return mc_die_error(&err);
	json_t *arr = ctx->json ? json_array() : NULL;
	for (size_t i = 0; i < d->nlogs; i++) {
		const mc_flow_log_entry *l = &d->logs[i];
		const char *label = task_label(d, l->task_run_id);
		if (only && (!label || strcmp(label, only)))
			continue;
		char when[24];
		format_ms(l->time_ms, when);
		if (arr)
			json_array_append_new(arr, json_pack("{s:I, s:s, s:s?, s:s}", "time_ms",
							     (json_int_t)l->time_ms, "level",
							     mc_log_level_name(l->level), "task",
							     label, "message", l->message));
		else
			printf("%s %-7s %s%s%s%s\n", when, mc_log_level_name(l->level),
			       label ? "[" : "", label ? label : "", label ? "] " : "", l->message);
	}
	if (arr)
		mc_print_json(arr);
	mc_flow_detail_free(d);
	return MC_EXIT_OK;
}

static int flow_retry(mc_ctx *ctx, const char *run, const flow_args *a)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_detail *d = NULL;
	if (mc_flow_detail_get(ctx->store, run, &d, &err))
		return mc_die_error(&err);
	/* The run's own parameters, defaults included: the same flow again. */
	json_t *params = d->run.parameters ? json_loads(d->run.parameters, 0, NULL) : NULL;
	char id[MC_FLOW_ID_LEN + 1], name[MC_FLOW_NAME_MAX + 1];
	snprintf(id, sizeof id, "%s", d->run.id);
	snprintf(name, sizeof name, "%s", d->run.flow);
	mc_flow_detail_free(d);
	mc_pipeline *p = NULL;
	mc_code code = mc_pipeline_build(ctx, name, params, &p, &err);
	json_decref(params);
	if (code)
		return mc_die_error(&err);
	engine e;
	engine_init(&e, ctx, a->concurrency);
	mc_state final = MC_STATE_FAILED;
	code = mc_flow_retry(ctx->store, mc_pipeline_def(p), id, &e.opts, &final, &err);
	engine_release(&e);
	mc_pipeline_free(p);
	return code ? mc_die_error(&err) : report(ctx, id, final);
}

static int flow_cancel(mc_ctx *ctx, const char *run)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	char id[MC_FLOW_ID_LEN + 1];
	mc_state now;
	if (mc_flow_run_resolve(ctx->store, run, id, &err) ||
	    mc_flow_cancel(ctx->store, id, &o, &now, &err))
		return mc_die_error(&err);
	if (ctx->json)
		mc_print_json(json_pack("{s:s, s:s}", "id", id, "state", mc_state_name(now)));
	else
		printf("flow run %s: %s\n", id,
		       now == MC_STATE_CANCELLED ? "Cancelled"
						 : "cancel requested (still running)");
	return MC_EXIT_OK;
}

/* Crashed runs are found before anything is shown or run. */
static int recover(mc_ctx *ctx)
{
	mc_error err = MC_ERROR_INIT;
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	size_t n = 0;
	if (mc_flow_recover(ctx->store, &o, &n, &err))
		return mc_die_error(&err);
	if (n)
		mc_info(ctx, "%zu flow run%s whose process is gone marked Crashed\n", n,
			n == 1 ? "" : "s");
	return MC_EXIT_OK;
}

static int dispatch(mc_ctx *ctx, char **argv, int n, const flow_args *a)
{
	const char *sub = argv[0];
	if (!strcmp(sub, "run") && n == 2)
		return flow_run(ctx, argv[1], a);
	if (!strcmp(sub, "runs") && n == 1)
		return flow_runs(ctx, a);
	if (!strcmp(sub, "show") && n == 2)
		return flow_show(ctx, argv[1]);
	if (!strcmp(sub, "logs") && n == 2)
		return flow_logs(ctx, argv[1], a->task);
	if (!strcmp(sub, "retry") && n == 2)
		return flow_retry(ctx, argv[1], a);
	if (!strcmp(sub, "cancel") && n == 2)
		return flow_cancel(ctx, argv[1]);
	return mc_usage_error(help.usage, "unknown or incomplete subcommand '%s'", sub);
}

int cmd_flow(int argc, char **argv, mc_ctx *ctx)
{
	flow_args a = {0};
	const mc_option opts[] = {
		MC_OPT_LIST('p', "param", &a.params, "KEY=VALUE", "a flow parameter (run)"),
		MC_OPT_INT(0, "concurrency", &a.concurrency, "N", "tasks at once (default 4)"),
		MC_OPT_STRING(0, "flow", &a.flow, "NAME", "only runs of this flow (runs)"),
		MC_OPT_STRING(0, "state", &a.state, "STATE", "only runs in this state (runs)"),
		MC_OPT_INT(0, "limit", &a.limit, "N", "at most N runs (runs; default 50)"),
		MC_OPT_STRING(0, "task", &a.task, "LABEL", "only this task's lines (logs)"),
		MC_OPT_END(),
	};
	char description[2048];
	snprintf(description, sizeof description, "%s%s", help.description, mc_pipeline_help);
	const mc_command_help full = {help.usage, help.summary, description};
	int n = mc_parse_options(argc, argv, opts, &full, ctx);
	int rc = n < 0	  ? mc_parse_exit(n)
		 : n == 0 ? mc_usage_error(help.usage, "say run, runs, show, logs, retry or cancel")
			  : mc_ctx_open_store(ctx);
	if (n > 0 && !rc)
		rc = recover(ctx);
	if (n > 0 && !rc)
		rc = dispatch(ctx, argv, n, &a);
	mc_strlist_release(&a.params);
	return rc;
}
