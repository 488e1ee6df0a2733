/* `milkcast lambda`: the serving router as an AWS Lambda custom runtime. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "milkcast/lambda.h"
#include "milkcast/serve.h"

static const mc_command_help help = {
	"milkcast lambda [--model SOURCE] [options]",
	"Run as an AWS Lambda function (custom runtime, behind API Gateway).",
	"Talks to the Lambda Runtime API at $AWS_LAMBDA_RUNTIME_API: asks for the next\n"
	"event, answers it, forever.  API Gateway HTTP API events (payload format 2.0)\n"
	"are served by the same routes as `milkcast serve` (POST /v1/predict, GET\n"
	"/v1/forecast, /healthz, ...) and answered in the 2.0 response format; any\n"
	"other JSON event is a direct invocation, answered like POST /v1/predict.\n"
	"The model is loaded once, at init: --model or $MILKCAST_MODEL (a bundle\n"
	"directory or s3://bucket/prefix/models/bundle-...), else the registry's\n"
	"champion in HOME.  A failed init is reported to Lambda (init/error) and the\n"
	"process exits 1.",
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

static mc_code handle(void *router, const mc_lambda_invocation *inv, mc_buf *response,
		      mc_error *err)
{
	return mc_lambda_route(router, inv->event, inv->event_len, response, err);
}

int cmd_lambda(int argc, char **argv, mc_ctx *ctx)
{
	const char *model = getenv("MILKCAST_MODEL");
	long max = 0;
	const mc_option opts[] = {
		MC_OPT_STRING(0, "model", &model, "SOURCE",
			      "bundle directory or s3:// URI (default $MILKCAST_MODEL, else the "
			      "champion)"),
		MC_OPT_INT(0, "max-invocations", &max, "N",
			   "stop after N events (0 = never; for local runs and tests)"),
		MC_OPT_END(),
	};
	int prc = mc_parse_flags_only(argc, argv, opts, &help, ctx);
	if (prc >= 0)
		return prc;
	if (max < 0)
		return mc_usage_error(help.usage, "--max-invocations must be 0 or more");
	if (model && !*model)
		model = NULL;
	mc_error err = MC_ERROR_INIT;
	mc_lambda_runtime *rt = NULL;
	if (mc_lambda_runtime_open(getenv("AWS_LAMBDA_RUNTIME_API"), &rt, &err))
		return mc_die_error(&err);
	mc_router *router = NULL;
	if (open_router(ctx, model, &router, &err)) {
		mc_error e2 = MC_ERROR_INIT;
		if (mc_lambda_init_error(rt, &err, &e2))
			fprintf(stderr, "milkcast: could not report the init error: %s\n", e2.msg);
		mc_lambda_runtime_free(rt);
		return mc_die_error(&err);
	}
	mc_code rc = mc_lambda_loop(rt, handle, router, max, &err);
	mc_router_free(router);
	mc_lambda_runtime_free(rt);
	return rc ? mc_die_error(&err) : MC_EXIT_OK;
}
