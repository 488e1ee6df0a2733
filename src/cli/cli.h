/*
 * The milkcast command line: the context every subcommand receives, the
 * option-table parser that generates --help, and output helpers.
 *
 * Adding a command: write src/cli/cmd_NAME.c with `int cmd_NAME(int argc,
 * char **argv, mc_ctx *ctx)`, declare it below, add a row to commands[] in
 * main.c, add tests under tests/cli/, and document it in docs/user-guide.md.
 */
#ifndef MILKCAST_CLI_H
#define MILKCAST_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "milkcast/error.h"

/* Exit codes, documented in docs/user-guide.md. */
enum { MC_EXIT_OK = 0, MC_EXIT_FAIL = 1, MC_EXIT_USAGE = 2 };

typedef struct mc_ctx {
	const char *home;	/* workspace directory */
	bool json;		/* --json: machine-readable output on stdout */
	int verbosity;		/* 0 = -q, 1 = normal, 2+ = -v */
	bool tty;		/* stdout is a terminal (progress bars) */
	struct mc_store *store; /* opened when the command's table row asks for it */
} mc_ctx;

/* --- option tables ------------------------------------------------------ */

typedef enum mc_opt_kind {
	MC_OPT_FLAG,   /* bool *, no value */
	MC_OPT_STRING, /* const char **, takes a value */
	MC_OPT_INT,    /* long *, takes a value */
	MC_OPT_LIST,   /* mc_strlist *, repeatable value */
	MC_OPT_END,
} mc_opt_kind;

typedef struct mc_strlist {
	const char **items;
	int n;
} mc_strlist;

typedef struct mc_option {
	mc_opt_kind kind;
	char short_name;       /* 0 = none */
	const char *long_name; /* without "--" */
	void *value;
	const char *arg_name; /* "DATE", "DIR"… */
	const char *help;
} mc_option;

#define MC_OPT_FLAG(s, l, v, h)                       \
	{                                             \
		MC_OPT_FLAG, (s), (l), (v), NULL, (h) \
	}
#define MC_OPT_STRING(s, l, v, a, h)                   \
	{                                              \
		MC_OPT_STRING, (s), (l), (v), (a), (h) \
	}
#define MC_OPT_INT(s, l, v, a, h)                   \
	{                                           \
		MC_OPT_INT, (s), (l), (v), (a), (h) \
	}
#define MC_OPT_LIST(s, l, v, a, h)                   \
	{                                            \
		MC_OPT_LIST, (s), (l), (v), (a), (h) \
	}
#define MC_OPT_END()                                  \
	{                                             \
		MC_OPT_END, 0, NULL, NULL, NULL, NULL \
	}

typedef struct mc_command_help {
	const char *usage;	 /* "milkcast ingest [options] PATH..." */
	const char *summary;	 /* one line */
	const char *description; /* paragraphs, may be NULL */
} mc_command_help;

/*
 * Parse argv[1..] against opts (the common options --json, -q, -v, --home
 * and --help are accepted everywhere).  Positional arguments are moved to
 * the front of argv; returns their count, or -1 after printing the help
 * (exit 0) and -2 after a usage error (exit 2).  `--` ends options.
 */
int mc_parse_options(int argc, char **argv, const mc_option *opts, const mc_command_help *help,
		     mc_ctx *ctx);
void mc_print_help(FILE *out, const mc_option *opts, const mc_command_help *help);
void mc_strlist_release(mc_strlist *l);

/* mc_parse_options for commands without positional arguments: -1 to go on,
 * else the exit code (help shown, usage error, or an unexpected argument). */
int mc_parse_flags_only(int argc, char **argv, const mc_option *opts, const mc_command_help *help,
			mc_ctx *ctx);

/* Map a parse result to an exit code: -1 → 0 (help shown), -2 → 2. */
static inline int mc_parse_exit(int n)
{
	return n == -1 ? MC_EXIT_OK : MC_EXIT_USAGE;
}

/* --- output ------------------------------------------------------------- */

/* "milkcast: error: <message>" on stderr; returns MC_EXIT_FAIL. */
int mc_die_error(const mc_error *err);
/* Usage error with a hint to --help; returns MC_EXIT_USAGE. */
int mc_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__
/* For clang-tidy's analyzer, which sees one file at a time (see mc_fail in error.h). */
#define mc_usage_error(cmd, ...) (mc_usage_error((cmd), __VA_ARGS__), MC_EXIT_USAGE)
#endif
void mc_info(const mc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mc_verbose(const mc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A progress bar on stderr, drawn only when stdout is a terminal and not -q. */
typedef struct mc_progress {
	const mc_ctx *ctx;
	const char *label;
	double total;
	double last_drawn;
	bool active;
} mc_progress;
void mc_progress_start(mc_progress *p, const mc_ctx *ctx, const char *label, double total);
void mc_progress_update(mc_progress *p, double done);
void mc_progress_finish(mc_progress *p);

/* Open ctx->store on ctx->home (creating the workspace); error → message printed. */
int mc_ctx_open_store(mc_ctx *ctx);
void mc_ctx_release(mc_ctx *ctx);

/* Print a jansson value as one line of JSON on stdout and release it. */
struct json_t;
void mc_print_json(struct json_t *v);

/* The rows of a query on ctx->store (one optional text parameter) as an array
 * of objects keyed by column name, values as text; NULL with err filled. */
struct json_t *mc_cli_query_json(mc_ctx *ctx, const char *sql, const char *arg, mc_error *err);

/* --- commands ----------------------------------------------------------- */

int cmd_help(int argc, char **argv, mc_ctx *ctx);
int cmd_version(int argc, char **argv, mc_ctx *ctx);
int cmd_ingest(int argc, char **argv, mc_ctx *ctx);
int cmd_fetch(int argc, char **argv, mc_ctx *ctx);
int cmd_lake(int argc, char **argv, mc_ctx *ctx);
int cmd_train(int argc, char **argv, mc_ctx *ctx);
int cmd_predict(int argc, char **argv, mc_ctx *ctx);
int cmd_backtest(int argc, char **argv, mc_ctx *ctx);
int cmd_runs(int argc, char **argv, mc_ctx *ctx);
int cmd_models(int argc, char **argv, mc_ctx *ctx);
int cmd_serve(int argc, char **argv, mc_ctx *ctx);
int cmd_lambda(int argc, char **argv, mc_ctx *ctx);
int cmd_monitor(int argc, char **argv, mc_ctx *ctx);
int cmd_flow(int argc, char **argv, mc_ctx *ctx);
int cmd_scheduler(int argc, char **argv, mc_ctx *ctx);

/* For `milkcast help`: the table lives in main.c. */
typedef struct mc_command {
	const char *name;
	int (*fn)(int argc, char **argv, mc_ctx *ctx);
	const char *summary;
} mc_command;
extern const mc_command mc_commands[];
/* The command called name; NULL when there is none. */
const mc_command *mc_find_command(const char *name);
/*
 * Run command argv[0] in this process as `milkcast --json ARGV...` would, in
 * workspace home; returns its exit status (MC_EXIT_USAGE, with a message on
 * stderr, when argv[0] is not a command).  Flow tasks and `lambda --run`.
 */
int mc_run_command_json(const char *home, int verbosity, int argc, char **argv);

#endif
