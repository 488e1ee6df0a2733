/* milkcast entry point: global options, then dispatch to one cmd_*.c per subcommand. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

/*
 * Every subcommand.  To add one: cmd_NAME.c, its declaration in cli.h, a row
 * here, tests in tests/cli/, a section in docs/user-guide.md.
 */
const mc_command mc_commands[] = {
	{"ingest", cmd_ingest, "add SNIIM workbooks or Parquet files to the lake"},
	{"fetch", cmd_fetch, "download a SNIIM publication into raw/"},
	{"lake", cmd_lake, "list, summarise and export what the lake holds"},
	{"train", cmd_train, "train the forecaster and write a model bundle"},
	{"predict", cmd_predict, "forecast every series as of a date"},
	{"backtest", cmd_backtest, "score forecasts against published prices"},
	{"runs", cmd_runs, "list, show and compare tracked training runs"},
	{"models", cmd_models, "the model registry: versions, champion, promote, rollback"},
	{"serve", cmd_serve, "serve forecasts over HTTP from the champion model"},
	{"lambda", cmd_lambda, "run as an AWS Lambda function behind API Gateway"},
	{"monitor", cmd_monitor, "data drift, forecast performance and health; reports and alerts"},
	{"flow", cmd_flow, "run the pipeline's flows (daily, train, backfill) and see their runs"},
	{"scheduler", cmd_scheduler, "run the flows on cron schedules, as a daemon"},
	{"help", cmd_help, "show help for milkcast or a command"},
	{"version", cmd_version, "print the version"},
	{NULL, NULL, NULL},
};

const mc_command *mc_find_command(const char *name)
{
	for (const mc_command *c = mc_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int mc_run_command_json(const char *home, int verbosity, int argc, char **argv)
{
	const mc_command *cmd = mc_find_command(argv[0]);
	if (!cmd)
		return mc_usage_error(NULL, "'%s' is not a milkcast command (see 'milkcast help')",
				      argv[0]);
	mc_ctx c = {.home = home, .json = true, .verbosity = verbosity};
	int code = cmd->fn(argc, argv, &c);
	mc_ctx_release(&c);
	return code;
}

int main(int argc, char **argv)
{
	mc_ctx ctx = {0};
	ctx.home = getenv("MILKCAST_HOME");
	if (!ctx.home || !*ctx.home)
		ctx.home = "milkcast-home";
	ctx.verbosity = 1;
	ctx.tty = isatty(STDOUT_FILENO);

	/* Global options before the command name. */
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--version"))
			return cmd_version(1, argv, &ctx);
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return cmd_help(1, argv, &ctx);
		if (!strcmp(a, "--json"))
			ctx.json = true;
		else if (!strcmp(a, "-q") || !strcmp(a, "--quiet"))
			ctx.verbosity = 0;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			ctx.verbosity = 2;
		else if (!strcmp(a, "--home") && i + 1 < argc)
			ctx.home = argv[++i];
		else if (!strncmp(a, "--home=", 7))
			ctx.home = a + 7;
		else
			return mc_usage_error(NULL, "unknown option '%s'", a);
	}
	if (i >= argc) {
		cmd_help(1, argv, &ctx);
		return MC_EXIT_USAGE;
	}
	const mc_command *cmd = mc_find_command(argv[i]);
	if (!cmd)
		return mc_usage_error(NULL, "'%s' is not a milkcast command (see 'milkcast help')",
				      argv[i]);
	int rc = cmd->fn(argc - i, argv + i, &ctx);
	mc_ctx_release(&ctx);
	return rc;
}
