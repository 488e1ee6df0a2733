/*
 * The pipeline's flows: parameters, task definitions, and the tasks, each a
 * milkcast subcommand run in the engine's child process.
 *
 *   daily     fetch → ingest → predict → monitor → alert      (one date)
 *   train     train → notify
 *   backfill  per publication day, in order:
 *             [fetch → ingest →] predict → monitor [→ alert]
 *
 * `train` keeps features, search, registration and promotion in one task:
 * `milkcast train` orders them so that a crash leaves no half-registered
 * version (bundle, then version row, then alias), which separate processes
 * could not promise.
 */
#include "cli/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli/forecast_cli.h"
#include "milkcast/alert.h"
#include "milkcast/cron.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/lake.h"
#include "milkcast/store.h"
#include "milkcast/text.h"
#include "milkcast/table.h"

const char *const mc_pipeline_names[] = {"daily", "train", "backfill", NULL};

const char mc_pipeline_help[] =
	"  daily     fetch → ingest → predict → monitor → alert for one publication date\n"
	"            date=today (in America/Mexico_City)  fetch=true  base_url=  alerts=true\n"
	"            retries=3 (of the fetch, exponential backoff from 60 s; the other\n"
	"            tasks retry once after 10 s; retries=0: no retries at all)\n"
	"  train     train → notify\n"
	"            until= (all data)  trials=25  notify=true\n"
	"  backfill  per publication day of the lake from..to, in order:\n"
	"            [fetch → ingest →] predict → monitor [→ alert]\n"
	"            from= to= (required)  fetch=false  base_url=  alerts=false  retries=3\n";

/* ---- parameters ---- */

typedef enum param_kind { P_DATE, P_BOOL, P_INT, P_STRING } param_kind;

typedef struct param_spec {
	const char *name;
	param_kind kind;
	const char *def; /* textual default; NULL = none (omitted), "" = required */
} param_spec;

static const param_spec DAILY_PARAMS[] = {
	{"date", P_DATE, "today"},  {"fetch", P_BOOL, "true"}, {"base_url", P_STRING, NULL},
	{"alerts", P_BOOL, "true"}, {"retries", P_INT, "3"},   {NULL, 0, NULL},
};
static const param_spec TRAIN_PARAMS[] = {
	{"until", P_DATE, NULL},
	{"trials", P_INT, "25"},
	{"notify", P_BOOL, "true"},
	{NULL, 0, NULL},
};
static const param_spec BACKFILL_PARAMS[] = {
	{"from", P_DATE, ""},
	{"to", P_DATE, ""},
	{"fetch", P_BOOL, "false"},
	{"base_url", P_STRING, NULL},
	{"alerts", P_BOOL, "false"},
	{"retries", P_INT, "3"},
	{NULL, 0, NULL},
};

/* Today's date where SNIIM publishes. */
static mc_code today_in_mexico(int32_t *out, mc_error *err)
{
	mc_tz *tz = NULL;
	mc_local_time lt = {0};
	mc_code rc = mc_tz_load(MC_CRON_DEFAULT_TZ, &tz, err);
	if (!rc)
		rc = mc_tz_to_local(tz, (int64_t)time(NULL), &lt, NULL, err);
	mc_tz_free(tz);
	if (!rc)
		*out = mc_date_from_ymd(lt.year, lt.month, lt.day);
	return rc;
}

/* One parameter's value, from its JSON (a string from the command line, or
 * the type itself) or its default, as the JSON stored with the run. */
static mc_code param_value(const param_spec *p, const json_t *given, json_t **out, mc_error *err)
{
	const char *text = json_string_value(given);
	*out = NULL;
	if (!given) {
		if (p->def && !*p->def)
			return mc_fail(err, MC_ERR_INVALID, "parameter '%s' is required", p->name);
		if (!p->def)
			return MC_OK;
		text = p->def;
	}
	switch (p->kind) {
	case P_STRING:
		if (!text)
			break;
		*out = json_string(text);
		return *out ? MC_OK
			    : mc_fail(err, MC_ERR_INVALID, "parameter '%s': not UTF-8", p->name);
	case P_BOOL: {
		bool b;
		if (json_is_boolean(given))
			b = json_is_true(given);
		else if (!text || !mc_parse_bool(text, &b))
			break;
		*out = json_boolean(b);
		return MC_OK;
	}
	case P_INT: {
		long long v;
		char *end = NULL;
		if (json_is_integer(given))
			v = json_integer_value(given);
		else if (text) {
			errno = 0;
			v = strtoll(text, &end, 10);
			if (errno || end == text || *end)
				break;
		} else
			break;
		if (v < 0 || v > 1000000)
			return mc_fail(err, MC_ERR_INVALID,
				       "parameter '%s': %lld is out of range 0..1000000", p->name,
				       v);
		*out = json_integer(v);
		return MC_OK;
	}
	case P_DATE: {
		int32_t d;
		if (!text)
			break;
		if (!strcmp(text, "today")) {
			mc_code rc = today_in_mexico(&d, err);
			if (rc)
				return mc_error_prefix(err, "parameter '%s': ", p->name);
		} else if (!mc_date_parse_iso(text, &d))
			return mc_fail(err, MC_ERR_INVALID,
				       "parameter '%s': '%s' is not a date (YYYY-MM-DD or today)",
				       p->name, text);
		char iso[11];
		mc_date_format_iso(d, iso);
		*out = json_string(iso);
		return MC_OK;
	}
	}
	static const char *const kinds[] = {"a date", "true or false", "an integer", "a string"};
	return mc_fail(err, MC_ERR_INVALID, "parameter '%s' must be %s", p->name, kinds[p->kind]);
}

/* Params checked against specs, defaults filled in: a new object in *out. */
static mc_code resolve_params(const char *flow, const param_spec *specs, const json_t *given,
			      json_t **out, mc_error *err)
{
	const char *key;
	json_t *v;
	if (given && !json_is_object(given))
		return mc_fail(err, MC_ERR_INVALID, "flow '%s': parameters must be an object",
			       flow);
	json_object_foreach((json_t *)given, key, v)
	{
		const param_spec *p = specs;
		while (p->name && strcmp(p->name, key))
			p++;
		if (!p->name)
			return mc_fail(
				err, MC_ERR_INVALID,
				"flow '%s' has no parameter '%s' (see 'milkcast flow --help')",
				flow, key);
	}
	json_t *o = json_object();
	for (const param_spec *p = specs; o && p->name; p++) {
		json_t *val;
		mc_code rc =
			param_value(p, given ? json_object_get(given, p->name) : NULL, &val, err);
		if (rc) {
			json_decref(o);
			return mc_error_prefix(err, "flow '%s': ", flow);
		}
		if (val)
			json_object_set_new(o, p->name, val);
	}
	*out = o;
	return o ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

static const char *pstr(const json_t *params, const char *key)
{
	return json_string_value(json_object_get(params, key));
}

static bool pbool(const json_t *params, const char *key)
{
	return json_is_true(json_object_get(params, key));
}

/* ---- running a subcommand in the task's process ---- */

/* The whole of a temporary file, NUL-terminated; NULL when it cannot be read. */
static char *slurp(FILE *f)
{
	if (fflush(f) || fseek(f, 0, SEEK_END))
		return NULL;
	long n = ftell(f);
	char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (s) {
		rewind(f);
		size_t got = fread(s, 1, (size_t)n, f);
		s[got] = '\0';
	}
	return s;
}

/* The command's stderr as the task's log; *last gets its last line. */
static void log_lines(mc_task_ctx *t, char *text, bool failed, char *last, size_t cap)
{
	last[0] = '\0';
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line)
			continue;
		bool error = !strncmp(line, "milkcast: error: ", 17);
		mc_task_log(t,
			    error    ? MC_LOG_ERROR
			    : failed ? MC_LOG_WARNING
				     : MC_LOG_INFO,
			    "%s", line);
		snprintf(last, cap, "%s", error ? line + 17 : line);
	}
}

/* Redirects fd to file f; returns the saved fd, or -1. */
static int redirect(int fd, FILE *f)
{
	int saved = dup(fd);
	if (saved >= 0 && dup2(fileno(f), fd) < 0) {
		close(saved);
		return -1;
	}
	return saved;
}

static void restore(int fd, int saved)
{
	if (saved >= 0) {
		dup2(saved, fd);
		close(saved);
	}
}

/*
 * Run `milkcast --json ARGS` in this (the task's) process: the result is
 * {"command": "...", "exit": N, "output": <its JSON or text>}; exit 0, or
 * 3 when alert_ok (monitor: a rule fired), is success, anything else fails
 * with the command's last error line.
 */
static mc_code run_command(mc_task_ctx *t, const char *const *args, bool alert_ok, json_t **result,
			   mc_error *err)
{
	int argc = 0;
	char *argv[24], line[1024] = "milkcast";
	for (; argc < 23 && args[argc]; argc++) {
		argv[argc] = (char *)args[argc];
		size_t n = strlen(line);
		snprintf(line + n, sizeof line - n, " %s", args[argc]);
	}
	argv[argc] = NULL;
	if (!mc_find_command(argv[0]))
		return mc_fail(err, MC_ERR_INVALID, "no milkcast command '%s'", argv[0]);
	mc_task_log(t, MC_LOG_INFO, "%s", line);
	FILE *out = tmpfile(), *errs = tmpfile();
	if (!out || !errs) {
		if (out)
			fclose(out);
		if (errs)
			fclose(errs);
		return mc_fail(err, MC_ERR_IO, "cannot create a temporary file: %s",
			       strerror(errno));
	}
	fflush(stdout);
	fflush(stderr);
	int so = redirect(STDOUT_FILENO, out), se = redirect(STDERR_FILENO, errs);
	int code = mc_run_command_json(mc_task_home(t), 1, argc, argv);
	fflush(stdout);
	fflush(stderr);
	restore(STDOUT_FILENO, so);
	restore(STDERR_FILENO, se);

	char *text = slurp(out), *log = slurp(errs), last[MC_ERRMSG_MAX];
	fclose(out);
	fclose(errs);
	bool ok = code == 0 || (alert_ok && code == 3);
	log_lines(t, log, !ok, last, sizeof last);
	json_t *output = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	if (!output && text && *text)
		output = json_string(text);
	*result = json_pack("{s:s, s:i, s:o}", "command", line, "exit", code, "output",
			    output ? output : json_null());
	free(text);
	free(log);
	if (!ok)
		return mc_fail(err, code == 2 ? MC_ERR_INVALID : MC_ERR_IO,
			       "'%s' exited with %d: %s", line, code,
			       last[0] ? last : "no message");
	return *result ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

/* The output of the first upstream task whose label starts with prefix. */
static const json_t *upstream_output(mc_task_ctx *t, const char *prefix)
{
	const char *label;
	json_t *v;
	json_object_foreach((json_t *)mc_task_upstreams(t), label, v)
	{
		if (!strncmp(label, prefix, strlen(prefix)))
			return json_object_get(v, "output");
	}
	return NULL;
}

/* ---- the tasks ---- */

static mc_code task_fetch(mc_task_ctx *t, const json_t *in, json_t **result, mc_error *err)
{
	const char *date = pstr(in, "date"), *base = pstr(in, "base_url");
	const char *args[] = {"fetch", "--from", date, "--to", date, base ? "--base-url" : NULL,
			      base,    NULL};
	return run_command(t, args, false, result, err);
}

/* Ingest what the fetch saved; nothing when the date was not published. */
static mc_code task_ingest(mc_task_ctx *t, const json_t *in, json_t **result, mc_error *err)
{
	const json_t *fetched = upstream_output(t, "fetch");
	const json_t *first = json_array_get(json_object_get(fetched, "results"), 0);
	const char *status = json_string_value(json_object_get(first, "status"));
	const char *path = json_string_value(json_object_get(first, "path"));
	if (!path || !status || !strcmp(status, "not_published")) {
		mc_task_log(t, MC_LOG_INFO, "no workbook for %s (%s): nothing to ingest",
			    pstr(in, "date"), status ? status : "not a weekday");
		*result = json_pack("{s:s, s:s}", "skipped", "nothing published", "date",
				    pstr(in, "date"));
		return MC_OK;
	}
	const char *args[] = {"ingest", path, NULL};
	return run_command(t, args, false, result, err);
}

static mc_code task_predict(mc_task_ctx *t, const json_t *in, json_t **result, mc_error *err)
{
	const char *date = pstr(in, "date");
	char dir[4200], out[4300];
	snprintf(dir, sizeof dir, "%s/reports/forecasts", mc_task_home(t));
	snprintf(out, sizeof out, "%s/forecast-%s.csv", dir, date);
	mc_code rc = mc_mkdirs(dir, err);
	if (rc)
		return rc;
	const char *args[] = {"predict", "--as-of", date, "--output", out, NULL};
	return run_command(t, args, false, result, err);
}

static mc_code task_monitor(mc_task_ctx *t, const json_t *in, json_t **result, mc_error *err)
{
	const char *args[] = {"monitor", "--as-of", pstr(in, "date"), "--no-alerts", NULL};
	return run_command(t, args, true, result, err);
}

static void alert_log(void *user, const char *line)
{
	mc_task_log(user, MC_LOG_INFO, "alert: %s", line);
}

/* Send alerts through the channels configured in the environment. */
static mc_code send_each(mc_task_ctx *t, const mc_alert *alerts, size_t n, json_t *sent,
			 mc_error *err)
{
	mc_alert_config cfg;
	mc_store *store = NULL;
	mc_alerter *al = NULL;
	mc_code rc = mc_alert_config_from_env(&cfg, err);
	cfg.log = alert_log;
	cfg.log_user = t;
	if (!rc)
		rc = mc_store_open(mc_task_home(t), &store, err);
	if (!rc)
		rc = mc_alerter_open(&cfg, store, &al, err);
	for (size_t i = 0; !rc && i < n; i++) {
		mc_alert_outcome o;
		rc = mc_alert_send(al, &alerts[i], &o, err);
		if (!rc && o.failed)
			rc = mc_fail(err, MC_ERR_NETWORK, "alert '%s' not delivered: %s",
				     alerts[i].rule,
				     o.channel[MC_ALERT_TELEGRAM].status == MC_ALERT_FAILED
					     ? o.channel[MC_ALERT_TELEGRAM].error
					     : o.channel[MC_ALERT_WEBHOOK].error);
		if (!rc)
			json_array_append_new(sent, json_pack("{s:s, s:i, s:i, s:b}", "rule",
							      alerts[i].rule, "sent", o.sent,
							      "suppressed", o.suppressed,
							      "logged_only", o.logged_only));
	}
	mc_alerter_free(al);
	mc_store_free(store);
	return rc;
}

/* The monitor's fired rules (from its JSON report) as alerts. */
static mc_code task_alert(mc_task_ctx *t, const json_t *in, json_t **result, mc_error *err)
{
	(void)in;
	const json_t *mon = upstream_output(t, "monitor");
	const char *path = json_string_value(json_object_get(mon, "summary"));
	const char *html = json_string_value(json_object_get(mon, "report"));
	json_error_t je;
	json_t *report = path ? json_load_file(path, 0, &je) : NULL;
	if (!report)
		return mc_fail(err, MC_ERR_FORMAT, "cannot read the monitoring report '%s': %s",
			       path ? path : "(none)", path ? je.text : "monitor gave no path");
	json_t *rules = json_object_get(report, "rules"), *rule, *sent = json_array();
	mc_alert alerts[16];
	size_t n = 0, i;
	json_array_foreach(rules, i, rule)
	{
		mc_alert_severity sev = MC_ALERT_WARNING;
		mc_error ignored = MC_ERROR_INIT;
		if (!json_is_true(json_object_get(rule, "fired")) || n == 16)
			continue;
		mc_alert_severity_parse(json_string_value(json_object_get(rule, "severity")), &sev,
					&ignored);
		alerts[n++] = (mc_alert){json_string_value(json_object_get(rule, "rule")),
					 sev,
					 json_string_value(json_object_get(rule, "title")),
					 json_string_value(json_object_get(rule, "details")),
					 html,
					 NULL};
	}
	mc_code rc = send_each(t, alerts, n, sent, err);
	json_decref(report);
	if (rc) {
		json_decref(sent);
		return rc;
	}
	*result = json_pack("{s:i, s:o}", "fired", (int)n, "alerts", sent);
	return MC_OK;
}

static mc_code task_train(mc_task_ctx *t, const json_t *in, json_t **result, mc_error *err)
{
	char trials[24];
	snprintf(trials, sizeof trials, "%lld",
		 (long long)json_integer_value(json_object_get(in, "trials")));
	const char *until = pstr(in, "until");
	const char *args[] = {"train", "--trials", trials, until ? "--until" : NULL, until, NULL};
	return run_command(t, args, false, result, err);
}

/* What training decided, as an info alert (deduplicated per run). */
static mc_code task_notify(mc_task_ctx *t, const json_t *in, json_t **result, mc_error *err)
{
	(void)in;
	const json_t *out = upstream_output(t, "train");
	const char *said = json_string_value(json_object_get(out, "registry"));
	const char *run = json_string_value(json_object_get(out, "run_id"));
	if (!said || !run)
		return mc_fail(err, MC_ERR_FORMAT,
			       "the train task's result has no registry outcome");
	char title[700], key[80];
	snprintf(title, sizeof title, "Training finished: %s", said);
	snprintf(key, sizeof key, "model_trained:%s", run);
	mc_alert a = {"model_trained", MC_ALERT_INFO, title, NULL, NULL, key};
	json_t *sent = json_array();
	mc_code rc = send_each(t, &a, 1, sent, err);
	if (rc) {
		json_decref(sent);
		return rc;
	}
	*result = json_pack("{s:s, s:o}", "registry", said, "alerts", sent);
	return MC_OK;
}

/* ---- building flows ---- */

struct mc_pipeline {
	mc_flow_def def;
	mc_task_def *tasks;
	size_t cap;
	json_t *params;
	json_t *owned;	/* every task's inputs */
	char **strings; /* labels, keys, dependency lists */
	size_t nstrings, capstrings;
};

static const char *keep(mc_pipeline *p, char *s)
{
	if (!s)
		return NULL;
	if (p->nstrings == p->capstrings) {
		size_t cap = p->capstrings ? 2 * p->capstrings : 64;
		char **grown = realloc(p->strings, cap * sizeof *grown);
		if (!grown) {
			free(s);
			return NULL;
		}
		p->strings = grown;
		p->capstrings = cap;
	}
	return p->strings[p->nstrings++] = s;
}

static mc_retry_policy fixed_retry(int retries, double delay_s)
{
	mc_retry_policy r = {.retries = retries, .kind = MC_RETRY_FIXED, .ndelays = 1};
	r.delays_s[0] = delay_s;
	return r;
}

static mc_retry_policy backoff_retry(int retries, double base_s)
{
	return (mc_retry_policy){.retries = retries,
				 .kind = MC_RETRY_EXPONENTIAL,
				 .base_s = base_s,
				 .factor = 2,
				 .max_s = 900,
				 .jitter = 0.2};
}

/* Appends a task: its inputs (taken), an optional key, and the label it
 * depends on (NULL = none). */
static mc_code add_task(mc_pipeline *p, const char *name, mc_task_fn fn, const char *key,
			json_t *inputs, const char *after, mc_retry_policy retry, double timeout_s,
			mc_error *err)
{
	if (p->def.ntasks == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		mc_task_def *grown = realloc(p->tasks, cap * sizeof *grown);
		if (!grown) {
			json_decref(inputs);
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		}
		p->tasks = grown;
		p->cap = cap;
	}
	const char **deps = NULL;
	if (after) {
		deps = calloc(2, sizeof *deps);
		if (!deps || !keep(p, (char *)deps) || !(deps[0] = keep(p, strdup(after)))) {
			json_decref(inputs);
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		}
	}
	if (!inputs || json_array_append_new(p->owned, inputs))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	p->tasks[p->def.ntasks++] = (mc_task_def){
		.name = name,
		.key = key ? keep(p, strdup(key)) : NULL,
		.version = "1",
		.fn = fn,
		.inputs = inputs,
		.depends_on = deps,
		.retry = retry,
		.timeout_s = timeout_s,
	};
	p->def.tasks = p->tasks;
	return MC_OK;
}

/* "name" or "name[key]": the label the engine gives a task. */
static const char *label_of(mc_pipeline *p, const char *name, const char *key)
{
	char buf[MC_FLOW_NAME_MAX + MC_FLOW_KEY_MAX + 3];
	if (key)
		snprintf(buf, sizeof buf, "%s[%s]", name, key);
	else
		snprintf(buf, sizeof buf, "%s", name);
	return keep(p, strdup(buf));
}

/* The daily chain for one date after `after`; *tail gets its last label. */
static mc_code add_day(mc_pipeline *p, const char *date, bool keyed, const char *after,
		       const char **tail, mc_error *err)
{
	const json_t *pr = p->params;
	const char *key = keyed ? date : NULL, *base = pstr(pr, "base_url");
	/* retries: the fetch's (SNIIM may be late or down); the other tasks retry
	 * once after 10 s, unless retries=0 turns every retry off */
	int retries = (int)json_integer_value(json_object_get(pr, "retries"));
	mc_retry_policy once = fixed_retry(retries ? 1 : 0, 10);
	mc_code rc = MC_OK;
	if (pbool(pr, "fetch")) {
		json_t *in = json_pack("{s:s}", "date", date);
		if (in && base)
			json_object_set_new(in, "base_url", json_string(base));
		rc = add_task(p, "fetch", task_fetch, key, in, after, backoff_retry(retries, 60),
			      900, err);
		after = label_of(p, "fetch", key);
		if (!rc)
			rc = add_task(p, "ingest", task_ingest, key,
				      json_pack("{s:s}", "date", date), after, once, 900, err);
		after = label_of(p, "ingest", key);
	}
	if (!rc)
		rc = add_task(p, "predict", task_predict, key, json_pack("{s:s}", "date", date),
			      after, once, 600, err);
	after = label_of(p, "predict", key);
	if (!rc)
		rc = add_task(p, "monitor", task_monitor, key, json_pack("{s:s}", "date", date),
			      after, once, 900, err);
	after = label_of(p, "monitor", key);
	if (!rc && pbool(pr, "alerts")) {
		rc = add_task(p, "alert", task_alert, key, json_object(), after,
			      backoff_retry(retries ? 2 : 0, 30), 300, err);
		after = label_of(p, "alert", key);
	}
	*tail = after;
	return rc || after ? rc : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

static mc_code build_daily(const mc_ctx *ctx, mc_pipeline *p, mc_error *err)
{
	(void)ctx;
	const char *tail;
	return add_day(p, pstr(p->params, "date"), false, NULL, &tail, err);
}

static mc_code build_train(const mc_ctx *ctx, mc_pipeline *p, mc_error *err)
{
	(void)ctx;
	json_t *in = json_pack("{s:O}", "trials", json_object_get(p->params, "trials"));
	if (in && pstr(p->params, "until"))
		json_object_set(in, "until", json_object_get(p->params, "until"));
	mc_code rc =
		add_task(p, "train", task_train, NULL, in, NULL, fixed_retry(0, 0), 6 * 3600, err);
	if (!rc && pbool(p->params, "notify"))
		rc = add_task(p, "notify", task_notify, NULL, json_object(), "train",
			      backoff_retry(2, 30), 300, err);
	return rc;
}

/* The days to replay: the lake's publication dates in from..to, or with
 * fetch=true every weekday (they are not in the lake yet). */
static mc_code backfill_days(const mc_ctx *ctx, const json_t *params, int32_t **days, size_t *n,
			     mc_error *err)
{
	int32_t from, to;
	mc_date_parse_iso(pstr(params, "from"), &from);
	mc_date_parse_iso(pstr(params, "to"), &to);
	if (to < from || to - from > 3660)
		return mc_fail(err, MC_ERR_INVALID,
			       "flow 'backfill': from..to must be ordered and at most 10 years");
	int32_t *d = malloc(((size_t)(to - from) + 1) * sizeof *d);
	if (!d)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	*n = 0;
	if (pbool(params, "fetch")) {
		for (int32_t x = from; x <= to; x++)
			if (mc_date_weekday(x) < 5)
				d[(*n)++] = x;
		*days = d;
		return MC_OK;
	}
	mc_table *lake = NULL;
	mc_code rc = mc_cli_read_lake(ctx, &lake, err);
	if (!rc) {
		const int32_t *col = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
		char *seen = calloc((size_t)(to - from) + 1, 1);
		for (size_t i = 0; seen && i < lake->nrows; i++)
			if (col[i] >= from && col[i] <= to)
				seen[col[i] - from] = 1;
		for (int32_t x = from; seen && x <= to; x++)
			if (seen[x - from])
				d[(*n)++] = x;
		rc = seen ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
		free(seen);
	}
	mc_table_free(lake);
	if (!rc && !*n)
		rc = mc_fail(err, MC_ERR_EMPTY,
			     "flow 'backfill': the lake has no publication in %s..%s",
			     pstr(params, "from"), pstr(params, "to"));
	if (rc)
		free(d);
	else
		*days = d;
	return rc;
}

static mc_code build_backfill(const mc_ctx *ctx, mc_pipeline *p, mc_error *err)
{
	int32_t *days = NULL;
	size_t n = 0;
	mc_code rc = backfill_days(ctx, p->params, &days, &n, err);
	const char *tail = NULL;
	for (size_t i = 0; !rc && i < n; i++) {
		char iso[11];
		mc_date_format_iso(days[i], iso);
		rc = add_day(p, iso, true, tail, &tail, err);
	}
	free(days);
	return rc;
}

typedef struct flow_kind {
	const char *name;
	const param_spec *params;
	mc_code (*build)(const mc_ctx *, mc_pipeline *, mc_error *);
} flow_kind;

static const flow_kind KINDS[] = {
	{"daily", DAILY_PARAMS, build_daily},
	{"train", TRAIN_PARAMS, build_train},
	{"backfill", BACKFILL_PARAMS, build_backfill},
};

mc_code mc_pipeline_build(const mc_ctx *ctx, const char *name, const json_t *params,
			  mc_pipeline **out, mc_error *err)
{
	*out = NULL;
	const flow_kind *k = NULL;
	for (size_t i = 0; i < sizeof KINDS / sizeof *KINDS; i++)
		if (!strcmp(KINDS[i].name, name))
			k = &KINDS[i];
	if (!k)
		return mc_fail(err, MC_ERR_NOT_FOUND,
			       "no flow '%s' (the flows are daily, train and backfill)", name);
	mc_pipeline *p = calloc(1, sizeof *p);
	if (!p || !(p->owned = json_array())) {
		free(p);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	p->def.name = k->name;
	mc_code rc = resolve_params(name, k->params, params, &p->params, err);
	if (!rc)
		rc = k->build(ctx, p, err);
	if (!rc)
		rc = mc_flow_validate(&p->def, err);
	if (rc) {
		mc_pipeline_free(p);
		return rc;
	}
	*out = p;
	return MC_OK;
}

void mc_pipeline_free(mc_pipeline *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p->tasks);
	json_decref(p->params);
	json_decref(p->owned);
	free(p);
}

const mc_flow_def *mc_pipeline_def(const mc_pipeline *p)
{
	return &p->def;
}

const json_t *mc_pipeline_params(const mc_pipeline *p)
{
	return p->params;
}
