/* `milkcast serve`: the HTTP prediction service, its reload loop and graceful stop. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "milkcast/serve.h"

static const mc_command_help help = {
	"milkcast serve [--listen HOST:PORT] [--threads N] [options]",
	"Serve forecasts over HTTP from the registry's champion model.",
	"Routes: POST /v1/predict, GET /v1/forecast, /v1/series, /v1/models, /healthz,\n"
	"/readyz, /metrics (Prometheus), and POST /admin/reload, which needs\n"
	"'Authorization: Bearer TOKEN' with TOKEN from $MILKCAST_ADMIN_TOKEN (unset:\n"
	"disabled).  The champion alias and the lake are checked every --poll seconds\n"
	"and on SIGHUP: a new model is loaded whole before it replaces the old one, and\n"
	"one that fails to load is refused while the old one keeps serving.  SIGTERM and\n"
	"SIGINT stop gracefully.  One JSON line per request goes to stderr or\n"
	"--access-log FILE (none: nowhere); every forecast served is logged to\n"
	"HOME/predictions/serve-DATE.jsonl.",
};

typedef struct serve_args {
	const char *listen, *model, *access_log;
	long threads, poll, timeout, max_body, max_instances;
	bool no_lake, no_log;
} serve_args;

/* ---- the service's own log: JSON lines on stderr ---- */

static void serve_log(const char *level, const char *event, json_t *fields)
{
	char t[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *o = fields ? fields : json_object();
	json_object_set_new(o, "time", json_string(t));
	json_object_set_new(o, "level", json_string(level));
	json_object_set_new(o, "event", json_string(event));
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (line) {
		size_t n = strlen(line);
		line[n] = '\n'; /* replaces the NUL: written with its length */
		if (write(STDERR_FILENO, line, n + 1) < 0)
			errno = 0;
	}
	free(line);
}

static void log_model(mc_router *r, const char *event)
{
	char what[512];
	mc_router_describe(r, what, sizeof what);
	serve_log("info", event, json_pack("{s:s}", "model", what));
}

static void reload(mc_router *r, bool force)
{
	mc_error err = MC_ERROR_INIT;
	bool swapped = false;
	if (mc_router_reload(r, force, &swapped, &err)) {
		char what[512];
		mc_router_describe(r, what, sizeof what);
		serve_log("error", "reload_refused",
			  json_pack("{s:s, s:s}", "error", err.msg, "serving", what));
	} else if (swapped) {
		log_model(r, "reloaded");
	}
}

/* ---- options ---- */

static int parse(int argc, char **argv, mc_ctx *ctx, serve_args *a)
{
	const mc_option opts[] = {
		MC_OPT_STRING(0, "listen", &a->listen, "HOST:PORT",
			      "address to listen on (127.0.0.1:8080; port 0 = any free one)"),
		MC_OPT_INT(0, "threads", &a->threads, "N", "polling threads (default: the CPUs)"),
		MC_OPT_STRING(0, "model", &a->model, "DIR",
			      "serve this bundle (followed if it is a symlink) instead of the "
			      "champion"),
		MC_OPT_INT(0, "poll", &a->poll, "SECONDS",
			   "check the champion and the lake this often (5; 0 = only on SIGHUP)"),
		MC_OPT_STRING(0, "access-log", &a->access_log, "FILE",
			      "append the access log to FILE ('-' = stderr, the default; "
			      "'none' = no access log)"),
		MC_OPT_INT(0, "timeout", &a->timeout, "SECONDS",
			   "close connections idle or slow for this long (10)"),
		MC_OPT_INT(0, "max-body", &a->max_body, "BYTES", "request body limit (1048576)"),
		MC_OPT_INT(0, "max-instances", &a->max_instances, "N",
			   "instances per /v1/predict request (1000)"),
		MC_OPT_FLAG(0, "no-lake", &a->no_lake,
			    "forecast from the bundle's snapshot only, not the lake"),
		MC_OPT_FLAG(0, "no-prediction-log", &a->no_log, "do not log served forecasts"),
		MC_OPT_END(),
	};
	int prc = mc_parse_flags_only(argc, argv, opts, &help, ctx);
	if (prc >= 0)
		return prc;
	if (a->threads < 1 || a->threads > 256)
		return mc_usage_error(help.usage, "--threads must be from 1 to 256");
	if (a->poll < 0 || a->poll > 86400)
		return mc_usage_error(help.usage, "--poll must be from 0 to 86400 seconds");
	if (a->timeout < 1 || a->timeout > 3600)
		return mc_usage_error(help.usage, "--timeout must be from 1 to 3600 seconds");
	if (a->max_body < 1 || a->max_body > (256L << 20))
		return mc_usage_error(help.usage, "--max-body must be from 1 byte to 256 MiB");
	if (a->max_instances < 1 || a->max_instances > 100000)
		return mc_usage_error(help.usage, "--max-instances must be from 1 to 100000");
	return -1;
}

/* The access log's descriptor: stderr, a file, or -1 for none (*failed when it cannot be opened).
 */
static int open_access_log(const char *path, bool *failed)
{
	*failed = false;
	if (!path || !strcmp(path, "-"))
		return STDERR_FILENO;
	if (!strcmp(path, "none"))
		return -1;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	*failed = fd < 0;
	return fd;
}

/* ---- the loop ---- */

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wait for signals; poll the model source on time, reload on SIGHUP; return on a stop. */
static void run(mc_router *r, const sigset_t *signals, long poll)
{
	double next = monotonic_s() + (double)poll;
	for (;;) {
		double wait = poll ? next - monotonic_s() : 3600;
		if (wait < 0)
			wait = 0;
		struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
		int sig = sigtimedwait(signals, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			serve_log("info", "stopping",
				  json_pack("{s:s}", "signal", sig == SIGTERM ? "TERM" : "INT"));
			return;
		}
		if (sig == SIGHUP)
			reload(r, true);
		else if (sig < 0 && errno == EAGAIN && poll)
			reload(r, false);
		if (poll && monotonic_s() >= next)
			next = monotonic_s() + (double)poll;
	}
}

static int serve(mc_ctx *ctx, const serve_args *a, const sigset_t *signals)
{
	mc_error err = MC_ERROR_INIT;
	mc_router_opts ro;
	mc_router_opts_init(&ro);
	ro.home = ctx->home;
	ro.model_dir = a->model;
	ro.admin_token = getenv("MILKCAST_ADMIN_TOKEN");
	ro.max_body = (size_t)a->max_body;
	ro.max_instances = (size_t)a->max_instances;
	ro.use_lake = !a->no_lake;
	ro.lake_uri = getenv("MILKCAST_LAKE");
	ro.prediction_log = !a->no_log;
	mc_router *r = NULL;
	if (mc_router_new(&ro, &r, &err))
		return mc_die_error(&err);
	mc_http_opts ho;
	mc_http_opts_init(&ho);
	ho.listen = a->listen;
	ho.threads = (int)a->threads;
	ho.timeout_s = (int)a->timeout;
	bool log_failed;
	ho.access_log_fd = open_access_log(a->access_log, &log_failed);
	mc_http_server *s = NULL;
	if (log_failed)
		mc_fail(&err, MC_ERR_IO, "cannot open the access log '%s': %s", a->access_log,
			strerror(errno));
	if (log_failed || mc_http_server_start(r, &ho, &s, &err)) {
		mc_router_free(r);
		return mc_die_error(&err);
	}
	char what[512];
	mc_router_describe(r, what, sizeof what);
	serve_log("info", "listening",
		  json_pack("{s:s, s:i, s:s, s:b}", "listen", a->listen, "port",
			    (int)mc_http_server_port(s), "model", what, "admin",
			    ro.admin_token && *ro.admin_token));
	run(r, signals, a->poll);
	mc_router_set_draining(r, true);
	mc_http_server_stop(s, 10.0);
	mc_router_free(r);
	serve_log("info", "stopped", NULL);
	if (ho.access_log_fd > STDERR_FILENO)
		close(ho.access_log_fd);
	return MC_EXIT_OK;
}

/*
 * One OpenMP thread for the main thread, where models are loaded: XGBoost
 * 1.7 reads a model's trees with a team of every CPU before the booster's
 * nthread=1 (mc_xgb_load) applies, and the team's idle worker then spins
 * beside the server (about 15 ms of CPU at start on two cores, half the
 * start's CPU without it).  Requests predict on one thread each anyway.
 * Looked up at run time: milkcast does not link OpenMP itself.
 */
static void one_openmp_thread(void)
{
	void (*set_threads)(int);
	*(void **)&set_threads = dlsym(RTLD_DEFAULT, "omp_set_num_threads");
	if (set_threads)
		set_threads(1);
}

int cmd_serve(int argc, char **argv, mc_ctx *ctx)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	serve_args a = {.listen = "127.0.0.1:8080",
			.threads = cpus > 0 ? cpus : 2,
			.poll = 5,
			.timeout = 10,
			.max_body = 1 << 20,
			.max_instances = 1000};
	int prc = parse(argc, argv, ctx, &a);
	if (prc >= 0)
		return prc;
	/* Signals go to the loop only: block them before any thread starts. */
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGHUP);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	one_openmp_thread();
	return serve(ctx, &a, &signals);
}
