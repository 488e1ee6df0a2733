/* `milkcast lambda`: the serving router as an AWS Lambda custom runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "milkcast/lambda.h"
#include "milkcast/serve.h"
#include "milkcast/ssm.h"

static const mc_command_help help = {
	"milkcast lambda [--model SOURCE] [options] [--run COMMAND [ARGS...]]",
	"Run as an AWS Lambda function (custom runtime, behind API Gateway).",
	"Talks to the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API: asks for the next\n"
	"event, answers it, forever.  API Gateway HTTP API events (payload format 2.0)\n"
	"are served by the same routes as `milkcast serve` (POST /v1/predict, GET\n"
	"/v1/forecast, /healthz, ...) and answered in the 2.0 response format; any\n"
	"other JSON event is a direct invocation, answered like POST /v1/predict.\n"
	"The model is loaded once, at init: --model or $MILKCAST_MODEL (a bundle\n"
	"directory or s3://bucket/prefix/models/bundle-...), else the registry's\n"
	"champion in HOME.  A failed init is reported to Lambda (init/error) and the\n"
	"process exits 1.\n"
	"\n"
	"With --run (last: every argument after it belongs to the command), each event\n"
	"runs `milkcast --json COMMAND ARGS...` once instead, in a child process.  An\n"
	"event {\"args\": [\"--param\", \"date=2025-03-31\"]} appends its strings (at most\n"
	"64, of 1024 bytes each); an event without \"args\" adds none.  Exit 0, or an\n"
	"--ok-exit status, answers {\"command\", \"exit\", \"output\"} with the command's\n"
	"JSON; another status is the error CommandFailed, a signal Crashed.  A command\n"
	"still running 2.5 s before the invocation's deadline gets SIGTERM, SIGKILL 2 s\n"
	"later, and the error Timeout.  Its stderr goes to the function's log.\n"
	"Lambda's /tmp does not outlive the execution environment: with\n"
	"$MILKCAST_REPORTS (s3://bucket/prefix or a directory) every file under\n"
	"HOME/reports that is new or changed is copied there after each event; with\n"
	"$MILKCAST_STATE a snapshot of HOME/milkcast.db (flow runs, alert\n"
	"deduplication) is saved there when it changed, and brought back at init into\n"
	"a HOME without one.  A failed copy fails the event (SyncFailed).\n"
	"\n"
	"At init, every NAME_PARAMETER=/ssm/parameter/name in the environment becomes\n"
	"NAME=<its value> (SSM GetParameter, decrypted), unless NAME is already set;\n"
	"a parameter that cannot be read is an init error.\n"
	"Example (the daily flow): milkcast lambda --run flow run daily",
};

/* The router for the function: the model named, or the workspace's champion. */
static mc_code open_router(const mc_ctx *ctx, const char *model, mc_router **out, mc_error *err)
{
	mc_router_opts o;
	mc_router_opts_init(&o);
	struct stat st;
	/* Lambda's filesystem is read-only but /tmp: use the workspace only if it exists. */
	o.home = stat(ctx->home, &st) == 0 ? ctx->home : NULL;
	o.model_dir = model;
	o.prediction_log = false;
	o.use_lake = o.home != NULL;
	if (!o.home && !model)
		return mc_fail(err, MC_ERR_NOT_FOUND,
			       "no model: give --model or MILKCAST_MODEL, or a workspace at '%s' "
			       "with a champion",
			       ctx->home);
	return mc_router_new(&o, out, err);
}

static mc_code handle(void *router, mc_lambda_invocation *inv, mc_buf *response, mc_error *err)
{
	return mc_lambda_route(router, inv->event, inv->event_len, response, err);
}

/* --- --run: a milkcast command per event ---------------------------------- */

/* In the forked child: the command as `milkcast --json ARGS` runs it. */
static int run_child(void *parent_ctx, int argc, char **argv)
{
	const mc_ctx *parent = parent_ctx;
	return mc_run_command_json(parent->home, parent->verbosity, argc, argv);
}

/* The command's stderr, as it comes, into the function's log. */
static void pass_stderr(void *ud, const char *data, size_t n)
{
	fwrite(data, 1, n, stderr);
}

/* What --run's handler needs: the command and where HOME's files are kept. */
typedef struct run_state {
	mc_lambda_command command;
	mc_lambda_sync *sync; /* NULL when neither MILKCAST_REPORTS nor MILKCAST_STATE is set */
} run_state;

/* After a command, copy its reports and the flow history out of /tmp.  A failed copy
 * fails an invocation that succeeded (so it is retried and alarmed on). */
static mc_code keep_files(run_state *r, mc_lambda_invocation *inv, mc_code rc, mc_error *err)
{
	mc_lambda_sync_stats st;
	mc_error e = MC_ERROR_INIT;
	if (!r->sync)
		return rc;
	if (mc_lambda_sync_push(r->sync, &st, &e)) {
		fprintf(stderr, "milkcast lambda: request %s: keeping HOME's files: %s\n",
			inv->request_id, e.msg);
		if (!rc) {
			snprintf(inv->error_type, sizeof inv->error_type, "SyncFailed");
			*err = e;
			return e.code;
		}
		return rc;
	}
	fprintf(stderr, "milkcast lambda: request %s: %zu report(s) copied, %zu unchanged%s\n",
		inv->request_id, st.reports_uploaded, st.reports_unchanged,
		st.state_uploaded ? ", flow history saved" : "");
	return rc;
}

static mc_code handle_run(void *ud, mc_lambda_invocation *inv, mc_buf *response, mc_error *err)
{
	run_state *r = ud;
	mc_code rc = mc_lambda_command_run(&r->command, inv, response, err);
	if (rc)
		fprintf(stderr, "milkcast lambda: request %s: %s: %s\n", inv->request_id,
			inv->error_type[0] ? inv->error_type : mc_strerror(rc), err->msg);
	return keep_files(r, inv, rc, err);
}

/* MILKCAST_REPORTS and MILKCAST_STATE, and the flow history brought back. */
static mc_code open_sync(const mc_ctx *ctx, mc_lambda_sync **out, mc_error *err)
{
	const char *reports = getenv("MILKCAST_REPORTS"), *state = getenv("MILKCAST_STATE");
	*out = NULL;
	if ((!reports || !*reports) && (!state || !*state))
		return MC_OK;
	bool restored = false;
	mc_code rc = mc_lambda_sync_new(ctx->home, reports, state, out, err);
	if (!rc)
		rc = mc_lambda_sync_restore(*out, &restored, err);
	if (rc) {
		mc_lambda_sync_free(*out);
		*out = NULL;
	} else if (restored) {
		fprintf(stderr, "milkcast lambda: flow history restored from %s\n", state);
	}
	return rc;
}

/* --run's command: a milkcast command, not lambda itself. */
static mc_code check_run(char **run, const char *ok_exit, mc_lambda_command *c, mc_error *err)
{
	if (!run[0] || !*run[0])
		return mc_fail(err, MC_ERR_INVALID,
			       "--run needs a milkcast command, like --run flow run daily");
	if (!strcmp(run[0], "lambda"))
		return mc_fail(err, MC_ERR_INVALID, "--run lambda: lambda cannot run itself");
	if (!mc_find_command(run[0]))
		return mc_fail(err, MC_ERR_INVALID,
			       "--run %.100s: not a milkcast command (see 'milkcast help')",
			       run[0]);
	return mc_lambda_ok_exits_parse(c, ok_exit, err);
}

/* Every NAME_PARAMETER=/ssm/name into NAME (Terraform's secret_parameters), before any
 * thread starts (setenv) and before --run's children (they inherit them). */
static mc_code resolve_secrets(mc_error *err)
{
	int n = 0;
	mc_code rc = mc_ssm_resolve_env(&n, err);
	if (!rc && n > 0)
		fprintf(stderr, "milkcast lambda: %d secret(s) read from SSM Parameter Store\n", n);
	return rc;
}

/* Report a failed init to Lambda and exit with the error. */
static int init_failed(mc_lambda_runtime *rt, mc_error *failure)
{
	mc_error e2 = MC_ERROR_INIT;
	if (mc_lambda_init_error(rt, failure, &e2))
		fprintf(stderr, "milkcast: could not report the init error: %s\n", e2.msg);
	mc_lambda_runtime_free(rt);
	return mc_die_error(failure);
}

/* Loop over events running `run` (NULL-terminated) with the options given. */
static int run_mode(mc_ctx *ctx, char **run, const char *ok_exit, long max)
{
	mc_lambda_command c;
	mc_lambda_command_init(&c);
	mc_error bad = MC_ERROR_INIT, err = MC_ERROR_INIT;
	mc_code invalid = check_run(run, ok_exit, &c, &bad);
	mc_lambda_runtime *rt = NULL;
	if (mc_lambda_runtime_open(getenv("AWS_LAMBDA_RUNTIME_API"), &rt, &err)) {
		if (invalid)
			return mc_usage_error(help.usage, "%s", bad.msg);
		return mc_die_error(&err);
	}
	if (invalid) {
		if (mc_lambda_init_error(rt, &bad, &err))
			fprintf(stderr, "milkcast: could not report the init error: %s\n", err.msg);
		mc_lambda_runtime_free(rt);
		return mc_usage_error(help.usage, "%s", bad.msg);
	}
	run_state r = {.command = c};
	if (resolve_secrets(&bad) || open_sync(ctx, &r.sync, &bad))
		return init_failed(rt, &bad);
	r.command.argv = (const char *const *)run;
	r.command.run = run_child;
	r.command.run_ud = ctx;
	r.command.on_stderr = pass_stderr;
	mc_code rc = mc_lambda_loop(rt, handle_run, &r, max, &err);
	mc_lambda_sync_free(r.sync);
	mc_lambda_runtime_free(rt);
	return rc ? mc_die_error(&err) : MC_EXIT_OK;
}

/* Serve predictions: the router on the model named, or the workspace's champion. */
static int serve_mode(mc_ctx *ctx, const char *model, long max)
{
	if (!model)
		model = getenv("MILKCAST_MODEL");
	if (model && !*model)
		model = NULL;
	mc_error err = MC_ERROR_INIT;
	mc_lambda_runtime *rt = NULL;
	if (mc_lambda_runtime_open(getenv("AWS_LAMBDA_RUNTIME_API"), &rt, &err))
		return mc_die_error(&err);
	mc_router *router = NULL;
	if (resolve_secrets(&err) || open_router(ctx, model, &router, &err))
		return init_failed(rt, &err);
	mc_code rc = mc_lambda_loop(rt, handle, router, max, &err);
	mc_router_free(router);
	mc_lambda_runtime_free(rt);
	return rc ? mc_die_error(&err) : MC_EXIT_OK;
}

/* The index of the first "--run" in argv (argc when none). */
static int run_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--"))
			return argc;
		else if (!strcmp(argv[i], "--run"))
			return i;
	return argc;
}

int cmd_lambda(int argc, char **argv, mc_ctx *ctx)
{
	const char *model = NULL, *ok_exit = NULL, *run_eq = NULL;
	long max = 0;
	const mc_option opts[] = {
		MC_OPT_STRING(0, "model", &model, "SOURCE",
			      "bundle directory or s3:// URI (default $MILKCAST_MODEL, else the "
			      "champion)"),
		MC_OPT_INT(0, "max-invocations", &max, "N",
			   "stop after N events (0 = never; for local runs and tests)"),
		MC_OPT_STRING(0, "run", &run_eq, "CMD [ARGS...]",
			      "run this milkcast command per event instead of serving (last: "
			      "what follows is the command's)"),
		MC_OPT_STRING(0, "ok-exit", &ok_exit, "LIST",
			      "with --run: exit statuses that are success, like 0,3 (default 0)"),
		MC_OPT_END(),
	};
	int at = run_index(argc, argv);
	int prc = mc_parse_flags_only(at, argv, opts, &help, ctx);
	if (prc >= 0)
		return prc;
	if (max < 0)
		return mc_usage_error(help.usage, "--max-invocations must be 0 or more");
	char *run_one[] = {(char *)run_eq, NULL};
	char **run = at < argc ? argv + at + 1 : run_eq ? run_one : NULL;
	if (run && model)
		return mc_usage_error(help.usage, "--model and --run do not go together");
	if (!run && ok_exit)
		return mc_usage_error(help.usage, "--ok-exit goes with --run");
	return run ? run_mode(ctx, run, ok_exit ? ok_exit : "0", max) : serve_mode(ctx, model, max);
}
