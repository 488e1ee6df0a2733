/* Option-table parsing for every subcommand, and the --help it generates. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static bool common_json, common_quiet, common_verbose, common_help;
static const char *common_home;

static const mc_option common_opts[] = {
	MC_OPT_STRING(0, "home", &common_home, "DIR",
		      "workspace directory (default $MILKCAST_HOME or ./milkcast-home)"),
	MC_OPT_FLAG(0, "json", &common_json, "machine-readable JSON output on stdout"),
	MC_OPT_FLAG('q', "quiet", &common_quiet, "only errors"),
	MC_OPT_FLAG('v', "verbose", &common_verbose, "more detail"),
	MC_OPT_FLAG('h', "help", &common_help, "show this help"),
	MC_OPT_END(),
};

static const mc_option *find_long(const mc_option *opts, const char *name, size_t n)
{
	for (const mc_option *o = opts; o && o->kind != MC_OPT_END; o++)
		if (strlen(o->long_name) == n && strncmp(o->long_name, name, n) == 0)
			return o;
	return NULL;
}

static const mc_option *find_short(const mc_option *opts, char c)
{
	for (const mc_option *o = opts; o && o->kind != MC_OPT_END; o++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

static int set_value(const mc_option *o, const char *val, const mc_command_help *help)
{
	switch (o->kind) {
	case MC_OPT_FLAG: *(bool *)o->value = true; return 0;
	case MC_OPT_STRING: *(const char **)o->value = val; return 0;
	case MC_OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(val, &end, 10);
		if (errno || end == val || *end) {
			mc_usage_error(help->usage,
				       "option '--%s' expects a whole number, got '%s'",
				       o->long_name, val);
			return -1;
		}
		*(long *)o->value = v;
		return 0;
	}
	case MC_OPT_LIST: {
		mc_strlist *l = o->value;
		const char **items = realloc(l->items, (size_t)(l->n + 1) * sizeof *items);
		if (!items)
			return -1;
		items[l->n++] = val;
		l->items = items;
		return 0;
	}
	case MC_OPT_END: break;
	}
	return -1;
}

void mc_strlist_release(mc_strlist *l)
{
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static const mc_option *lookup_long(const mc_option *opts, const char *name, size_t n)
{
	const mc_option *o = find_long(opts, name, n);
	return o ? o : find_long(common_opts, name, n);
}

static const mc_option *lookup_short(const mc_option *opts, char c)
{
	const mc_option *o = find_short(opts, c);
	return o ? o : find_short(common_opts, c);
}

/* Handle argv[*i], an option; may consume the next argument. 0 ok, -2 usage error. */
static int parse_one(int argc, char **argv, int *i, const mc_option *opts,
		     const mc_command_help *help)
{
	char *arg = argv[*i];
	const mc_option *o;
	const char *val = NULL;
	if (arg[1] == '-') {
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t n = eq ? (size_t)(eq - name) : strlen(name);
		o = lookup_long(opts, name, n);
		if (!o) {
			mc_usage_error(help->usage, "unknown option '--%.*s'", (int)n, name);
			return -2;
		}
		if (eq) {
			if (o->kind == MC_OPT_FLAG) {
				mc_usage_error(help->usage, "option '--%s' takes no value",
					       o->long_name);
				return -2;
			}
			val = eq + 1;
		}
	} else {
		o = lookup_short(opts, arg[1]);
		if (!o || arg[2]) {
			mc_usage_error(help->usage, "unknown option '%s'", arg);
			return -2;
		}
	}
	if (o->kind != MC_OPT_FLAG && !val) {
		if (*i + 1 >= argc) {
			mc_usage_error(help->usage, "option '--%s' needs a value (%s)",
				       o->long_name, o->arg_name ? o->arg_name : "VALUE");
			return -2;
		}
		val = argv[++*i];
	}
	return set_value(o, val, help) ? -2 : 0;
}

int mc_parse_options(int argc, char **argv, const mc_option *opts, const mc_command_help *help,
		     mc_ctx *ctx)
{
	common_json = common_quiet = common_verbose = common_help = false;
	common_home = NULL;
	int npos = 0;
	bool only_positional = false;
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		if (only_positional || arg[0] != '-' || arg[1] == '\0') {
			argv[npos++] = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (parse_one(argc, argv, &i, opts, help))
			return -2;
	}
	if (common_help) {
		mc_print_help(stdout, opts, help);
		return -1;
	}
	if (common_json)
		ctx->json = true;
	if (common_quiet)
		ctx->verbosity = 0;
	if (common_verbose)
		ctx->verbosity = 2;
	if (common_home)
		ctx->home = common_home;
	return npos;
}

static void print_table(FILE *out, const mc_option *opts)
{
	for (const mc_option *o = opts; o && o->kind != MC_OPT_END; o++) {
		char left[64];
		const char *arg =
			o->kind == MC_OPT_FLAG ? "" : (o->arg_name ? o->arg_name : "VALUE");
		if (o->short_name)
			snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->long_name,
				 *arg ? " " : "", arg);
		else
			snprintf(left, sizeof left, "    --%s%s%s", o->long_name, *arg ? " " : "",
				 arg);
		fprintf(out, "  %-28s %s%s\n", left, o->help,
			o->kind == MC_OPT_LIST ? " (repeatable)" : "");
	}
}

void mc_print_help(FILE *out, const mc_option *opts, const mc_command_help *help)
{
	fprintf(out, "usage: %s\n\n%s\n", help->usage, help->summary);
	if (help->description)
		fprintf(out, "\n%s\n", help->description);
	if (opts && opts->kind != MC_OPT_END) {
		fprintf(out, "\noptions:\n");
		print_table(out, opts);
	}
	fprintf(out, "\ncommon options:\n");
	print_table(out, common_opts);
	fprintf(out, "\nexit status: 0 ok, 1 failure, 2 usage error\n");
}

int mc_parse_flags_only(int argc, char **argv, const mc_option *opts, const mc_command_help *help,
			mc_ctx *ctx)
{
	int n = mc_parse_options(argc, argv, opts, help, ctx);
	if (n < 0)
		return mc_parse_exit(n);
	if (n > 0)
		return mc_usage_error(help->usage, "unexpected argument '%s'", argv[0]);
	return -1;
}
