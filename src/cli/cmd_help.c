/* `milkcast help [COMMAND]` and `milkcast version`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void print_overview(void)
{
	printf("usage: milkcast [--home DIR] [--json] [-q|-v] COMMAND [options]\n\n"
	       "Forecast consumer milk prices in Mexico from SNIIM publications.\n\n"
	       "commands:\n");
	for (const mc_command *c = mc_commands; c->name; c++)
		printf("  %-10s %s\n", c->name, c->summary);
	printf("\n'milkcast COMMAND --help' shows a command's options.\n"
	       "exit status: 0 ok, 1 failure, 2 usage error\n");
}

int cmd_help(int argc, char **argv, mc_ctx *ctx)
{
	if (argc < 2 || strcmp(argv[0], "help") != 0 || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		if (argc >= 2 && strcmp(argv[0], "help") == 0)
			printf("usage: milkcast help [COMMAND]\n\nShow the commands, or one "
			       "command's "
			       "help.\n\n");
		print_overview();
		return MC_EXIT_OK;
	}
	for (const mc_command *c = mc_commands; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0) {
			char *args[] = {argv[1], "--help", NULL};
			return c->fn(2, args, ctx);
		}
	}
	return mc_usage_error("milkcast help [COMMAND]", "no such command '%s'", argv[1]);
}

int cmd_version(int argc, char **argv, mc_ctx *ctx)
{
	static const mc_command_help help = {"milkcast version", "Print the version.", NULL};
	static const mc_option opts[] = {MC_OPT_END()};
	if (argc > 1) {
		int n = mc_parse_options(argc, argv, opts, &help, ctx);
		if (n < 0)
			return mc_parse_exit(n);
	}
	if (ctx->json)
		printf("{\"version\":\"%s\"}\n", MC_VERSION);
	else
		printf("milkcast %s\n", MC_VERSION);
	return MC_EXIT_OK;
}
