/*
 * The flow engine: a linear flow's full state history; retries with a fixed
 * list and with exponential backoff (fake clock); timeouts (real time) and
 * the downstream task cancelled; crashed task processes; cache hits, expiry
 * and versions; concurrency within the limit; cancellation; kill -9 of the
 * engine mid-task, recovery and retry reusing the completed task; bad
 * definitions; queries; the failure hook and its alert.
 */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "milkcast/alert.h"
#include "milkcast/flow.h"
#include "milkcast/store.h"

static char home[64];
static mc_store *store;

static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof home, "/tmp/mc-flow-XXXXXX");
	if (!mkdtemp(home))
		return -1;
	mc_error err = MC_ERROR_INIT;
	return mc_store_open(home, &store, &err) == MC_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mc_store_free(store);
	store = NULL;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", home);
	return system(cmd);
}

/* --- the fake clock and the failure hook -------------------------------------------- */

typedef struct fake_clock {
	int64_t now;
	int64_t slept;
	int nsleeps;
} fake_clock;

static int64_t fake_now(void *user)
{
	return ((fake_clock *)user)->now;
}

static void fake_sleep(void *user, int64_t ms)
{
	fake_clock *c = user;
	c->now += ms;
	c->slept += ms;
	c->nsleeps++;
}

typedef struct hook_log {
	int calls;
	mc_state state;
	char run[MC_FLOW_ID_LEN + 1];
	char message[256];
} hook_log;

static void on_failure(void *user, const mc_flow_run_info *r)
{
	hook_log *h = user;
	h->calls++;
	h->state = r->state;
	snprintf(h->run, sizeof h->run, "%s", r->id);
	snprintf(h->message, sizeof h->message, "%s", r->message ? r->message : "");
}

static void opts_fake(mc_flow_opts *o, fake_clock *c)
{
	mc_flow_opts_init(o);
	memset(c, 0, sizeof *c);
	c->now = 1743508800000LL; /* 2025-04-01T12:00:00Z */
	o->clock.now_ms = fake_now;
	o->clock.sleep_ms = fake_sleep;
	o->clock.user = c;
	o->seed = 42;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- tasks (run in child processes; the user pointer is the test's directory) ------- */

/* Count calls of a task across processes: one line per call in <home>/<label>.count. */
static int bump(const char *label)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s.count", home, label);
	FILE *f = fopen(path, "a");
	if (!f)
		return -1;
	fputs("x\n", f);
	long n = ftell(f) / 2;
	fclose(f);
	return (int)n;
}

static int calls(const char *label)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s.count", home, label);
	return stat(path, &st) == 0 ? (int)(st.st_size / 2) : 0;
}

static bool exists(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", home, name);
	return access(path, F_OK) == 0;
}

static void remove_file(const char *name)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", home, name);
	assert_int_equal(unlink(path), 0);
}

static void touch(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", home, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* {"task": label, "n": call count, "inputs": inputs, "up": upstream results}. */
static mc_code t_echo(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	int n = bump(mc_task_label(ctx));
	mc_task_log(ctx, MC_LOG_INFO, "hello from %s, call %d", mc_task_label(ctx), n);
	*result = json_pack("{s:s, s:i, s:O, s:O}", "task", mc_task_label(ctx), "n", n, "inputs",
			    inputs, "up", mc_task_upstreams(ctx));
	return *result ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "pack");
}

/* Fails until the attempt given by the user pointer (an int: 0 = always). */
static mc_code t_flaky(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	int ok_at = *(const int *)mc_task_user(ctx);
	bump(mc_task_label(ctx));
	if (ok_at == 0 || mc_task_attempt(ctx) < ok_at)
		return mc_fail(err, MC_ERR_NETWORK, "SNIIM answered 503 on attempt %d",
			       mc_task_attempt(ctx));
	*result = json_integer(mc_task_attempt(ctx));
	return MC_OK;
}

static mc_code t_sleep10(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	bump(mc_task_label(ctx));
	sleep(10);
	return MC_OK;
}

static mc_code t_stubborn(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	signal(SIGTERM, SIG_IGN);
	bump(mc_task_label(ctx));
	sleep(10);
	return MC_OK;
}

static mc_code t_abort(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	bump(mc_task_label(ctx));
	abort();
}

static mc_code t_exit3(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	bump(mc_task_label(ctx));
	_exit(3);
}

/* Its own start and end (wall clock, ms) around a 300 ms sleep. */
static mc_code t_span(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	int64_t start = wall_ms();
	struct timespec ts = {0, 300 * 1000000L};
	nanosleep(&ts, NULL);
	*result = json_pack("{s:I, s:I}", "start", (json_int_t)start, "end", (json_int_t)wall_ms());
	return MC_OK;
}

/* Blocks while <home>/block exists, after writing its pid to <home>/t2.started; else
 * returns t1's result. */
static mc_code t_block(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	bump(mc_task_label(ctx));
	if (!exists("block")) {
		*result = json_deep_copy(mc_task_upstream(ctx, "t1"));
		return MC_OK;
	}
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	char path[256], tmp[256];
	snprintf(tmp, sizeof tmp, "%s/started.tmp", home);
	snprintf(path, sizeof path, "%s/t2.started", home);
	FILE *f = fopen(tmp, "w");
	if (f) {
		fputs(pid, f);
		fclose(f);
		rename(tmp, path);
	}
	sleep(30);
	return MC_OK;
}

/* Opens its own store, asks for its flow run to be cancelled, then waits to be stopped. */
static mc_code t_cancel_self(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	bump(mc_task_label(ctx));
	mc_store *s;
	mc_code rc = mc_store_open(mc_task_home(ctx), &s, err);
	if (rc)
		return rc;
	/* Before the request: once it is made, the engine may stop this process any time. */
	mc_task_log(ctx, MC_LOG_WARNING, "asking to cancel");
	mc_state now;
	rc = mc_flow_cancel(s, mc_task_flow_run_id(ctx), NULL, &now, err);
	mc_store_free(s);
	if (rc)
		return rc;
	sleep(30);
	return MC_OK;
}

/* Fails while <home>/<label>.fail exists. */
static mc_code t_failflag(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	char flag[128];
	snprintf(flag, sizeof flag, "%s.fail", mc_task_label(ctx));
	bump(mc_task_label(ctx));
	if (exists(flag))
		return mc_fail(err, MC_ERR_INVALID, "%s is there", flag);
	*result = json_string("done");
	return MC_OK;
}

/* Tries to retry its own (running) flow run; the result is what that said. */
static mc_code t_retry_self(mc_task_ctx *ctx, const json_t *inputs, json_t **result, mc_error *err)
{
	mc_store *s;
	mc_code rc = mc_store_open(mc_task_home(ctx), &s, err);
	if (rc)
		return rc;
	mc_error e = MC_ERROR_INIT;
	mc_state final;
	rc = mc_flow_retry(s, mc_task_user(ctx), mc_task_flow_run_id(ctx), NULL, &final, &e);
	mc_store_free(s);
	*result = json_pack("{s:i, s:s}", "code", (int)rc, "msg", e.msg);
	return MC_OK;
}

typedef struct log_seen {
	int lines;
	char last_b[256];
} log_seen;

static void on_log(void *user, const char *run, const char *label, mc_log_level level,
		   const char *msg)
{
	log_seen *l = user;
	l->lines++;
	if (label && !strcmp(label, "b") && level == MC_LOG_INFO && !strncmp(msg, "hello", 5))
		snprintf(l->last_b, sizeof l->last_b, "%s", msg);
}

static const char *const needs_a[] = {"a", NULL};
static const char *const needs_b[] = {"b", NULL};
static const char *const needs_c[] = {"c", NULL};
static const char *const needs_fetch[] = {"fetch", NULL};

/* --- helpers ------------------------------------------------------------------------ */

static mc_flow_detail *detail(const char *id)
{
	mc_flow_detail *d = NULL;
	mc_error err = MC_ERROR_INIT;
	if (mc_flow_detail_get(store, id, &d, &err) != MC_OK)
		fail_msg("detail of %s: %s", id, err.msg);
	return d;
}

static const mc_task_run_info *task_of(const mc_flow_detail *d, const char *label)
{
	for (size_t i = 0; i < d->ntasks; i++)
		if (!strcmp(d->tasks[i].label, label))
			return &d->tasks[i];
	fail_msg("no task run '%s'", label);
	return NULL;
}

/* The task run's history as "Pending,Running,..." and its entries' times. */
static void task_history(const mc_flow_detail *d, const char *label, char *out, size_t n,
			 int64_t *times, size_t *ntimes)
{
	const mc_task_run_info *t = task_of(d, label);
	out[0] = '\0';
	size_t k = 0;
	for (size_t i = 0; i < d->ntask_history; i++) {
		const mc_state_entry *h = &d->task_history[i];
		if (strcmp(h->run_id, t->id))
			continue;
		assert_int_equal(h->seq, (int)k + 1);
		if (times && k < *ntimes)
			times[k] = h->time_ms;
		k++;
		snprintf(out + strlen(out), n - strlen(out), "%s%s", out[0] ? "," : "",
			 mc_state_name(h->state));
	}
	if (ntimes)
		*ntimes = k;
}

static void run_history(const mc_flow_detail *d, char *out, size_t n)
{
	out[0] = '\0';
	for (size_t i = 0; i < d->nhistory; i++) {
		assert_int_equal(d->history[i].seq, (int)i + 1);
		snprintf(out + strlen(out), n - strlen(out), "%s%s", i ? "," : "",
			 mc_state_name(d->history[i].state));
	}
}

static void assert_task_history(const mc_flow_detail *d, const char *label, const char *want)
{
	char got[512];
	task_history(d, label, got, sizeof got, NULL, NULL);
	assert_string_equal(got, want);
}

static void assert_run_history(const mc_flow_detail *d, const char *want)
{
	char got[512];
	run_history(d, got, sizeof got);
	assert_string_equal(got, want);
}

static mc_state run_flow(const mc_flow_def *def, json_t *params, const mc_flow_opts *o,
			 char id[MC_FLOW_ID_LEN + 1])
{
	mc_error err = MC_ERROR_INIT;
	mc_state final = MC_STATE_PENDING;
	if (mc_flow_run(store, def, params, o, id, &final, &err) != MC_OK)
		fail_msg("flow '%s': %s", def->name, err.msg);
	json_decref(params);
	return final;
}

/* --- tests -------------------------------------------------------------------------- */

static void test_linear_history(void **state)
{
	(void)state;
	fake_clock fc;
	mc_flow_opts o;
	opts_fake(&o, &fc);
	mc_task_def tasks[] = {
		{.name = "a", .fn = t_echo},
		{.name = "b", .fn = t_echo, .depends_on = needs_a},
		{.name = "c", .fn = t_echo, .depends_on = needs_b},
	};
	mc_flow_def def = {"linear", tasks, 3};
	log_seen seen = {0};
	o.log = on_log;
	o.log_user = &seen;
	char id[MC_FLOW_ID_LEN + 1];
	assert_int_equal(run_flow(&def, json_pack("{s:s}", "date", "2025-03-31"), &o, id),
			 MC_STATE_COMPLETED);
	assert_int_equal(strlen(id), 32);
	mc_flow_detail *d = detail(id);
	assert_int_equal(d->run.state, MC_STATE_COMPLETED);
	assert_string_equal(d->run.flow, "linear");
	assert_string_equal(d->run.parameters, "{\"date\":\"2025-03-31\"}");
	assert_int_equal(d->run.pid, getpid());
	assert_int_equal(d->run.run_count, 1);
	assert_int_equal(d->run.started_ms, fc.now);
	assert_int_equal(d->run.ended_ms, fc.now);
	assert_run_history(d, "Scheduled,Pending,Running,Completed");
	assert_int_equal(d->ntasks, 3);
	const char *labels[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++) {
		assert_string_equal(d->tasks[i].label, labels[i]);
		assert_int_equal(d->tasks[i].position, i);
		assert_int_equal(d->tasks[i].attempts, 1);
		assert_null(d->tasks[i].error);
		assert_task_history(d, labels[i], "Pending,Running,Completed");
	}
	/* c saw b's result, which saw a's; each got the run's parameters as inputs. */
	json_t *c = json_loads(task_of(d, "c")->result, 0, NULL);
	assert_non_null(c);
	json_t *b = json_object_get(json_object_get(c, "up"), "b");
	assert_string_equal(json_string_value(json_object_get(b, "task")), "b");
	json_t *a = json_object_get(json_object_get(b, "up"), "a");
	assert_string_equal(json_string_value(json_object_get(a, "task")), "a");
	assert_int_equal(json_object_size(json_object_get(a, "up")), 0);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(a, "inputs"), "date")),
		"2025-03-31");
	json_decref(c);
	/* The tasks' own log lines are stored with their task run. */
	int found = 0;
	for (size_t i = 0; i < d->nlogs; i++)
		if (d->logs[i].task_run_id &&
		    !strcmp(d->logs[i].task_run_id, task_of(d, "b")->id) &&
		    !strcmp(d->logs[i].message, "hello from b, call 1")) {
			assert_int_equal(d->logs[i].level, MC_LOG_INFO);
			found++;
		}
	assert_int_equal(found, 1);
	/* The log callback saw every stored line as it was written. */
	assert_int_equal(seen.lines, (int)d->nlogs);
	assert_string_equal(seen.last_b, "hello from b, call 1");
	mc_flow_detail_free(d);
	assert_int_equal(calls("a") + calls("b") + calls("c"), 3);
}

static void test_retry_fixed(void **state)
{
	(void)state;
	fake_clock fc;
	mc_flow_opts o;
	opts_fake(&o, &fc);
	hook_log hook = {0};
	o.on_failure = on_failure;
	o.hook_user = &hook;
	static const int third = 3, never = 0;
	mc_task_def tasks[] = {{.name = "fetch",
				.fn = t_flaky,
				.user = (void *)&third,
				.retry = {.retries = 3, .ndelays = 3, .delays_s = {1, 5, 30}}}};
	mc_flow_def def = {"retry", tasks, 1};
	char id[MC_FLOW_ID_LEN + 1];
	int64_t t0 = fc.now;
	assert_int_equal(run_flow(&def, NULL, &o, id), MC_STATE_COMPLETED);
	assert_int_equal(calls("fetch"), 3);
	assert_int_equal(fc.slept, 6000); /* recorded, not slept */
	mc_flow_detail *d = detail(id);
	char h[256];
	int64_t times[16];
	size_t n = 16;
	task_history(d, "fetch", h, sizeof h, times, &n);
	assert_string_equal(h, "Pending,Running,Retrying,Running,Retrying,Running,Completed");
	int64_t want[] = {t0, t0, t0, t0 + 1000, t0 + 1000, t0 + 6000, t0 + 6000};
	for (size_t i = 0; i < n; i++)
		assert_int_equal(times[i], want[i]);
	assert_int_equal(task_of(d, "fetch")->attempts, 3);
	assert_string_equal(task_of(d, "fetch")->result, "3");
	/* The retry says why and when. */
	assert_non_null(strstr(d->task_history[2].message,
			       "attempt 1 failed: SNIIM answered 503 on attempt 1; retry 1 of 3 "
			       "in 1.000 s"));
	mc_flow_detail_free(d);
	assert_int_equal(hook.calls, 0);

	/* Retries used up: the last delay repeats; the run fails and the hook fires once. */
	tasks[0].user = (void *)&never;
	tasks[0].retry = (mc_retry_policy){.retries = 2, .ndelays = 1, .delays_s = {2}};
	fc.slept = 0;
	t0 = fc.now;
	assert_int_equal(run_flow(&def, NULL, &o, id), MC_STATE_FAILED);
	d = detail(id);
	n = 16;
	task_history(d, "fetch", h, sizeof h, times, &n);
	assert_string_equal(h, "Pending,Running,Retrying,Running,Retrying,Running,Failed");
	assert_int_equal(times[3] - times[2], 2000);
	assert_int_equal(times[5] - times[4], 2000);
	assert_int_equal(fc.slept, 4000);
	assert_string_equal(task_of(d, "fetch")->error, "SNIIM answered 503 on attempt 3");
	assert_int_equal(d->run.state, MC_STATE_FAILED);
	assert_non_null(strstr(d->run.message, "task 'fetch' Failed: SNIIM answered 503"));
	assert_int_equal(d->run.ended_ms, t0 + 4000);
	mc_flow_detail_free(d);
	assert_int_equal(hook.calls, 1);
	assert_int_equal(hook.state, MC_STATE_FAILED);
	assert_string_equal(hook.run, id);
}

/* The delays between Retrying and the next Running of an always failing task. */
static void backoff_delays(const mc_flow_def *def, uint64_t seed, int64_t *delays, size_t k)
{
	fake_clock fc;
	mc_flow_opts o;
	opts_fake(&o, &fc);
	o.seed = seed;
	char id[MC_FLOW_ID_LEN + 1];
	assert_int_equal(run_flow(def, NULL, &o, id), MC_STATE_FAILED);
	mc_flow_detail *d = detail(id);
	char h[512];
	int64_t times[32];
	size_t n = 32;
	task_history(d, "fetch", h, sizeof h, times, &n);
	assert_int_equal(n, 2 + 2 * k + 1); /* Pending, Running, (Retrying, Running)*k, Failed */
	for (size_t i = 0; i < k; i++)
		delays[i] = times[3 + 2 * i] - times[2 + 2 * i];
	mc_flow_detail_free(d);
}

static void test_retry_backoff(void **state)
{
	(void)state;
	static const int never = 0;
	mc_task_def tasks[] = {{.name = "fetch",
				.fn = t_flaky,
				.user = (void *)&never,
				.retry = {.retries = 6,
					  .kind = MC_RETRY_EXPONENTIAL,
					  .base_s = 1,
					  .factor = 2,
					  .max_s = 10,
					  .jitter = 0.2}}};
	mc_flow_def def = {"backoff", tasks, 1};
	int64_t d[6], again[6], other[6];
	backoff_delays(&def, 42, d, 6);
	for (int k = 0; k < 6; k++) {
		double base = 1000.0 * (1 << k);
		double lo = base * 0.8 < 10000 ? base * 0.8 : 10000;
		double hi = base * 1.2 < 10000 ? base * 1.2 : 10000;
		assert_true(d[k] >= (int64_t)lo && d[k] <= (int64_t)hi + 1);
		assert_true(d[k] <= 10000); /* capped */
		if (k > 0 && k < 4)
			assert_true(d[k] > d[k - 1]); /* grows (factor 2 beats the jitter band) */
	}
	assert_int_equal(d[4], 10000);
	assert_int_equal(d[5], 10000);
	/* Jitter is drawn from the seed: the same seed gives the same delays, another does not. */
	backoff_delays(&def, 42, again, 6);
	assert_memory_equal(d, again, sizeof d);
	backoff_delays(&def, 7, other, 6);
	assert_memory_not_equal(d, other, 4 * sizeof *d);
	/* Without jitter the delays are exact. */
	tasks[0].retry.jitter = 0;
	backoff_delays(&def, 42, d, 6);
	int64_t exact[] = {1000, 2000, 4000, 8000, 10000, 10000};
	assert_memory_equal(d, exact, sizeof exact);
}

static void test_timeout(void **state)
{
	(void)state;
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	o.kill_grace_s = 0.2;
	hook_log hook = {0};
	o.on_failure = on_failure;
	o.hook_user = &hook;
	mc_task_def tasks[] = {
		{.name = "slow",
		 .fn = t_sleep10,
		 .timeout_s = 0.2,
		 .retry = {.retries = 1, .ndelays = 1, .delays_s = {0.05}}},
		{.name = "after", .fn = t_echo, .depends_on = (const char *const[]){"slow", NULL}},
		{.name = "stubborn", .fn = t_stubborn, .timeout_s = 0.2},
	};
	mc_flow_def def = {"timeouts", tasks, 3};
	char id[MC_FLOW_ID_LEN + 1];
	int64_t t0 = wall_ms();
	assert_int_equal(run_flow(&def, NULL, &o, id), MC_STATE_FAILED);
	int64_t took = wall_ms() - t0;
	assert_true(took < 5000); /* not the 10 s the tasks sleep */
	assert_true(took >= 400); /* two attempts of 0.2 s */
	mc_flow_detail *d = detail(id);
	assert_task_history(d, "slow", "Pending,Running,Retrying,Running,TimedOut");
	assert_int_equal(task_of(d, "slow")->attempts, 2);
	assert_string_equal(task_of(d, "slow")->error, "timed out after 0.2 s");
	assert_task_history(d, "after", "Pending,Cancelled");
	/* SIGTERM ignored: SIGKILL after the grace, still TimedOut. */
	assert_task_history(d, "stubborn", "Pending,Running,TimedOut");
	assert_int_equal(calls("after"), 0);
	assert_int_equal(calls("slow"), 2);
	bool said = false;
	for (size_t i = 0; i < d->ntask_history; i++)
		if (!strcmp(d->task_history[i].run_id, task_of(d, "after")->id) &&
		    d->task_history[i].state == MC_STATE_CANCELLED)
			said = !strcmp(d->task_history[i].message,
				       "upstream task 'slow' is TimedOut");
	assert_true(said);
	assert_int_equal(hook.calls, 1);
	mc_flow_detail_free(d);
}

static void test_crash(void **state)
{
	(void)state;
	mc_task_def tasks[] = {
		{.name = "aborts", .fn = t_abort, .retry = {.retries = 2}},
		{.name = "exits", .fn = t_exit3},
		{.name = "fine", .fn = t_echo},
	};
	mc_flow_def def = {"crashes", tasks, 3};
	char id[MC_FLOW_ID_LEN + 1];
	assert_int_equal(run_flow(&def, NULL, NULL, id), MC_STATE_FAILED);
	mc_flow_detail *d = detail(id);
	/* A crash is final, as in Prefect: no retry. */
	assert_task_history(d, "aborts", "Pending,Running,Crashed");
	assert_int_equal(calls("aborts"), 1);
	assert_non_null(strstr(task_of(d, "aborts")->error, "killed by signal 6"));
	assert_task_history(d, "exits", "Pending,Running,Crashed");
	assert_string_equal(task_of(d, "exits")->error,
			    "the task process exited with status 3 without a result");
	/* The others are not disturbed. */
	assert_task_history(d, "fine", "Pending,Running,Completed");
	assert_int_equal(d->run.state, MC_STATE_FAILED);
	assert_non_null(strstr(d->run.message, "Crashed"));
	mc_flow_detail_free(d);
}

/* Rows of task_cache where `cond` (ending in a comparison) holds against v. */
static int64_t count_cache(const char *cond, int64_t v)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM task_cache WHERE %s?", cond);
	mc_error err = MC_ERROR_INIT;
	mc_stmt *q;
	bool row = false;
	assert_int_equal(mc_stmt_prepare(store, sql, &q, &err), MC_OK);
	assert_int_equal(mc_stmt_bind_int(q, 1, v), MC_OK);
	assert_int_equal(mc_stmt_step(q, &row, &err), MC_OK);
	assert_true(row);
	int64_t n = mc_stmt_int(q, 0);
	mc_stmt_free(q);
	return n;
}

static void test_cache(void **state)
{
	(void)state;
	fake_clock fc;
	mc_flow_opts o;
	opts_fake(&o, &fc);
	mc_task_def tasks[] = {
		{.name = "fetch", .fn = t_echo, .version = "1", .cache = {true, 60}},
		{.name = "train", .fn = t_echo, .depends_on = needs_fetch, .cache = {true, 0}},
	};
	mc_flow_def def = {"cached", tasks, 2};
	char id1[MC_FLOW_ID_LEN + 1], id[MC_FLOW_ID_LEN + 1];
	assert_int_equal(run_flow(&def, json_pack("{s:s}", "date", "2025-03-31"), &o, id1),
			 MC_STATE_COMPLETED);
	assert_int_equal(calls("fetch"), 1);
	/* The same inputs 30 s later: both hits, neither function called. */
	fc.now += 30000;
	assert_int_equal(run_flow(&def, json_pack("{s:s}", "date", "2025-03-31"), &o, id),
			 MC_STATE_COMPLETED);
	assert_int_equal(calls("fetch"), 1);
	assert_int_equal(calls("train"), 1);
	mc_flow_detail *d1 = detail(id1), *d = detail(id);
	assert_task_history(d, "fetch", "Pending,Cached");
	assert_task_history(d, "train", "Pending,Cached");
	assert_string_equal(task_of(d, "fetch")->result, task_of(d1, "fetch")->result);
	assert_string_equal(task_of(d, "fetch")->cache_key, task_of(d1, "fetch")->cache_key);
	assert_int_equal(strlen(task_of(d, "fetch")->cache_key), 64);
	assert_int_equal(task_of(d, "fetch")->attempts, 0);
	assert_non_null(strstr(d->run.message, "2 cached"));
	mc_flow_detail_free(d);
	mc_flow_detail_free(d1);
	/* Other inputs: a miss, and train's upstream result changed with it. */
	assert_int_equal(run_flow(&def, json_pack("{s:s}", "date", "2025-04-01"), &o, id),
			 MC_STATE_COMPLETED);
	assert_int_equal(calls("fetch"), 2);
	assert_int_equal(calls("train"), 2);
	/* After the expiry: a miss; train's never expires, but its upstream result differs. */
	fc.now += 31000;
	assert_int_equal(run_flow(&def, json_pack("{s:s}", "date", "2025-03-31"), &o, id),
			 MC_STATE_COMPLETED);
	assert_int_equal(calls("fetch"), 3);
	d = detail(id);
	assert_task_history(d, "fetch", "Pending,Running,Completed");
	mc_flow_detail_free(d);
	/* A new version: a miss even within the expiry. */
	tasks[0].version = "2";
	assert_int_equal(run_flow(&def, json_pack("{s:s}", "date", "2025-03-31"), &o, id),
			 MC_STATE_COMPLETED);
	assert_int_equal(calls("fetch"), 4);
	tasks[0].version = "1";
	assert_int_equal(run_flow(&def, json_pack("{s:s}", "date", "2025-03-31"), &o, id),
			 MC_STATE_COMPLETED);
	assert_int_equal(calls("fetch"), 4);
	/* Once every fetch entry has expired, the next one written drops them all
	 * (three dates/versions), so the table does not grow run after run. */
	fc.now += 61000;
	assert_int_equal(count_cache("expires IS NOT NULL AND expires <= ", fc.now), 3);
	assert_int_equal(run_flow(&def, json_pack("{s:s}", "date", "2025-04-02"), &o, id),
			 MC_STATE_COMPLETED);
	assert_int_equal(count_cache("expires IS NOT NULL AND expires <= ", fc.now), 0);
	assert_int_equal(count_cache("expires IS NOT NULL AND expires > ", fc.now), 1);
}

static int max_overlap(const int64_t *start, const int64_t *end, int n)
{
	int best = 0;
	for (int i = 0; i < n; i++) {
		int at = 0; /* tasks running at task i's start */
		for (int j = 0; j < n; j++)
			at += start[j] <= start[i] && end[j] > start[i];
		best = at > best ? at : best;
	}
	return best;
}

static void test_concurrency(void **state)
{
	(void)state;
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	o.concurrency = 2;
	mc_task_def tasks[] = {
		{.name = "s1", .fn = t_span},
		{.name = "s2", .fn = t_span},
		{.name = "s3", .fn = t_span},
		{.name = "s4", .fn = t_span},
	};
	mc_flow_def def = {"parallel", tasks, 4};
	char id[MC_FLOW_ID_LEN + 1];
	assert_int_equal(run_flow(&def, NULL, &o, id), MC_STATE_COMPLETED);
	mc_flow_detail *d = detail(id);
	int64_t cs[4], ce[4], ps[4], pe[4];
	for (int i = 0; i < 4; i++) {
		json_t *r = json_loads(d->tasks[i].result, 0, NULL);
		cs[i] = json_integer_value(json_object_get(r, "start"));
		ce[i] = json_integer_value(json_object_get(r, "end"));
		json_decref(r);
		int64_t times[4];
		size_t n = 4;
		char h[128];
		task_history(d, d->tasks[i].label, h, sizeof h, times, &n);
		ps[i] = times[1]; /* Running, as the engine recorded it */
		pe[i] = times[2];
	}
	/* Independent tasks overlap in time, and never more than two at once. */
	assert_int_equal(max_overlap(cs, ce, 4), 2);
	assert_int_equal(max_overlap(ps, pe, 4), 2);
	assert_true(cs[0] < ce[1] && cs[1] < ce[0]);
	mc_flow_detail_free(d);
	/* One at a time: no overlap at all. */
	o.concurrency = 1;
	assert_int_equal(run_flow(&def, NULL, &o, id), MC_STATE_COMPLETED);
	d = detail(id);
	for (int i = 0; i < 4; i++) {
		json_t *r = json_loads(d->tasks[i].result, 0, NULL);
		cs[i] = json_integer_value(json_object_get(r, "start"));
		ce[i] = json_integer_value(json_object_get(r, "end"));
		json_decref(r);
	}
	assert_int_equal(max_overlap(cs, ce, 4), 1);
	mc_flow_detail_free(d);
}

static void test_cancel(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	o.poll_ms = 50;
	o.kill_grace_s = 0.5;
	mc_task_def tasks[] = {
		{.name = "a", .fn = t_cancel_self},
		{.name = "b", .fn = t_echo, .depends_on = needs_a},
	};
	mc_flow_def def = {"cancelme", tasks, 2};
	char id[MC_FLOW_ID_LEN + 1];
	int64_t t0 = wall_ms();
	assert_int_equal(run_flow(&def, NULL, &o, id), MC_STATE_CANCELLED);
	assert_true(wall_ms() - t0 < 10000);
	mc_flow_detail *d = detail(id);
	assert_run_history(d, "Scheduled,Pending,Running,Cancelled");
	assert_task_history(d, "a", "Pending,Running,Cancelled");
	assert_task_history(d, "b", "Pending,Cancelled");
	assert_int_equal(calls("b"), 0);
	assert_true(d->run.cancel_requested);
	bool logged = false; /* a's line, written before it was stopped */
	for (size_t i = 0; i < d->nlogs; i++)
		logged |= !strcmp(d->logs[i].message, "asking to cancel");
	assert_true(logged);
	mc_flow_detail_free(d);

	/* A Scheduled run is cancelled at once, and cannot start afterwards. */
	mc_state now;
	bool existed = true;
	assert_int_equal(
		mc_flow_run_create(store, NULL, "cancelme", NULL, 0, NULL, id, &existed, &err),
		MC_OK);
	assert_false(existed);
	assert_int_equal(mc_flow_cancel(store, id, NULL, &now, &err), MC_OK);
	assert_int_equal(now, MC_STATE_CANCELLED);
	d = detail(id);
	assert_run_history(d, "Scheduled,Cancelled");
	assert_string_equal(d->run.message, "cancelled before it started");
	mc_flow_detail_free(d);
	assert_int_equal(mc_flow_cancel(store, id, NULL, &now, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "already ended Cancelled"));
	mc_state final;
	assert_int_equal(mc_flow_run_start(store, &def, id, NULL, &final, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "only a Scheduled run can start"));

	/* A live run is neither retried nor crashed by another process's recovery. */
	mc_flow_def selfdef;
	mc_task_def self[] = {{.name = "a", .fn = t_retry_self, .user = &selfdef}};
	selfdef = (mc_flow_def){"selfretry", self, 1};
	assert_int_equal(run_flow(&selfdef, NULL, NULL, id), MC_STATE_COMPLETED);
	d = detail(id);
	json_t *r = json_loads(d->tasks[0].result, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "code")), MC_ERR_INVALID);
	assert_non_null(strstr(json_string_value(json_object_get(r, "msg")), "is Running (pid "));
	json_decref(r);
	assert_run_history(d, "Scheduled,Pending,Running,Completed");
	mc_flow_detail_free(d);
}

/* The 3-task flow of the kill -9 test: t1, then t2 (blocks while <home>/block exists), t3. */
static mc_task_def kill_tasks[] = {
	{.name = "t1", .fn = t_echo},
	{.name = "t2", .fn = t_block, .depends_on = (const char *const[]){"t1", NULL}},
	{.name = "t3", .fn = t_echo, .depends_on = (const char *const[]){"t2", NULL}},
};
static const mc_flow_def kill_flow = {"daily", kill_tasks, 3};

static pid_t start_runner(const char *id)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		mc_store *s;
		mc_error err = MC_ERROR_INIT;
		mc_state final;
		if (mc_store_open(home, &s, &err) ||
		    mc_flow_run_start(s, &kill_flow, id, NULL, &final, &err))
			_exit(1);
		_exit(0);
	}
	return pid;
}

static long wait_started(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s/t2.started", home);
	for (int i = 0; i < 400; i++) {
		FILE *f = fopen(path, "r");
		long pid = 0;
		if (f && fscanf(f, "%ld", &pid) == 1 && pid > 0) {
			fclose(f);
			return pid;
		}
		if (f)
			fclose(f);
		usleep(50000);
	}
	fail_msg("task t2 did not start");
	return 0;
}

static void test_kill9_recovery(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	char id[MC_FLOW_ID_LEN + 1];
	json_t *params = json_pack("{s:s}", "date", "2025-03-31");
	assert_int_equal(mc_flow_run_create(store, NULL, "daily", params, 0, NULL, id, NULL, &err),
			 MC_OK);
	json_decref(params);
	touch("block", "");
	pid_t runner = start_runner(id);
	long task_pid = wait_started();
	assert_int_equal(kill(runner, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(runner, &status, 0), runner);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* The blocked task's process dies with its engine. */
	int i = 0;
	while (kill((pid_t)task_pid, 0) == 0 && i++ < 100)
		usleep(50000);
	assert_int_equal(kill((pid_t)task_pid, 0), -1);

	/* Seen from here the run is still Running; recovery finds its process gone. */
	mc_flow_detail *d = detail(id);
	assert_int_equal(d->run.state, MC_STATE_RUNNING);
	assert_int_equal(d->run.pid, runner);
	mc_flow_detail_free(d);
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	hook_log hook = {0};
	o.on_failure = on_failure;
	o.hook_user = &hook;
	size_t n = 0;
	assert_int_equal(mc_flow_recover(store, &o, &n, &err), MC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(hook.calls, 1);
	assert_int_equal(hook.state, MC_STATE_CRASHED);
	assert_string_equal(hook.run, id);
	d = detail(id);
	assert_run_history(d, "Scheduled,Pending,Running,Crashed");
	assert_non_null(strstr(d->run.message, "is gone"));
	assert_task_history(d, "t1", "Pending,Running,Completed");
	assert_task_history(d, "t2", "Pending,Running,Crashed");
	assert_task_history(d, "t3", "Pending");
	mc_flow_detail_free(d);
	assert_int_equal(mc_flow_recover(store, &o, &n, &err), MC_OK);
	assert_int_equal(n, 0); /* once */

	/* Retry: t1 is reused, t2 and t3 run, the same run ends Completed. */
	remove_file("block");
	mc_state final;
	assert_int_equal(mc_flow_retry(store, &kill_flow, id, &o, &final, &err), MC_OK);
	assert_int_equal(final, MC_STATE_COMPLETED);
	assert_int_equal(calls("t1"), 1);
	assert_int_equal(calls("t2"), 2);
	assert_int_equal(calls("t3"), 1);
	d = detail(id);
	assert_run_history(d, "Scheduled,Pending,Running,Crashed,Pending,Running,Completed");
	assert_int_equal(d->run.run_count, 2);
	assert_int_equal(d->run.pid, getpid());
	assert_task_history(d, "t1", "Pending,Running,Completed");
	assert_task_history(d, "t2", "Pending,Running,Crashed,Pending,Running,Completed");
	assert_task_history(d, "t3", "Pending,Running,Completed");
	assert_int_equal(task_of(d, "t2")->attempts, 2);
	/* t2 got t1's result as stored by the first execution. */
	assert_string_equal(task_of(d, "t2")->result, task_of(d, "t1")->result);
	assert_non_null(strstr(task_of(d, "t1")->result, "\"n\":1"));
	mc_flow_detail_free(d);
	/* A Completed run is not retried. */
	assert_int_equal(mc_flow_retry(store, &kill_flow, id, &o, &final, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "Completed: nothing to retry"));
}

static void test_retry_reuse(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_task_def tasks[] = {
		{.name = "a", .fn = t_echo},
		{.name = "b", .fn = t_echo, .depends_on = needs_a},
		{.name = "c", .fn = t_failflag, .depends_on = needs_b},
		{.name = "d", .fn = t_echo},
	};
	mc_flow_def def = {"reuse", tasks, 4};
	char id[MC_FLOW_ID_LEN + 1];
	touch("c.fail", "");
	assert_int_equal(run_flow(&def, NULL, NULL, id), MC_STATE_FAILED);
	/* A new version of a: a runs again, and so does b, whose input is a's result. */
	tasks[0].version = "2";
	mc_state final;
	assert_int_equal(mc_flow_retry(store, &def, id, NULL, &final, &err), MC_OK);
	assert_int_equal(final, MC_STATE_FAILED);
	assert_int_equal(calls("a"), 2);
	assert_int_equal(calls("b"), 2);
	assert_int_equal(calls("c"), 2);
	assert_int_equal(calls("d"), 1);
	/* Fixed: only c runs. */
	remove_file("c.fail");
	assert_int_equal(mc_flow_retry(store, &def, id, NULL, &final, &err), MC_OK);
	assert_int_equal(final, MC_STATE_COMPLETED);
	assert_int_equal(calls("a"), 2);
	assert_int_equal(calls("b"), 2);
	assert_int_equal(calls("c"), 3);
	mc_flow_detail *d = detail(id);
	assert_run_history(d, "Scheduled,Pending,Running,Failed,Pending,Running,Failed,Pending,"
			      "Running,Completed");
	assert_int_equal(d->run.run_count, 3);
	assert_task_history(d, "a", "Pending,Running,Completed,Pending,Running,Completed");
	assert_task_history(d, "b", "Pending,Running,Completed,Pending,Running,Completed");
	assert_task_history(d, "c",
			    "Pending,Running,Failed,Pending,Running,Failed,Pending,Running,"
			    "Completed");
	assert_task_history(d, "d", "Pending,Running,Completed");
	assert_string_equal(task_of(d, "a")->version, "2");
	assert_null(task_of(d, "c")->error); /* cleared by the success */
	bool said = false;
	for (size_t i = 0; i < d->ntask_history; i++)
		said |= d->task_history[i].message &&
			!strcmp(d->task_history[i].message,
				"the flow run is retried and an upstream task runs again");
	assert_true(said);
	mc_flow_detail_free(d);
}

static mc_code bad_def(const mc_task_def *tasks, size_t n, mc_error *err)
{
	mc_flow_def def = {"bad", tasks, n};
	return mc_flow_validate(&def, err);
}

static void test_bad_definitions(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_task_def unknown[] = {{.name = "a", .fn = t_echo},
				 {.name = "b", .fn = t_echo, .depends_on = needs_c}};
	assert_int_equal(bad_def(unknown, 2, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg,
			    "flow 'bad': task 'b' depends on 'c', which is not a task of the flow");
	mc_task_def cycle[] = {{.name = "a", .fn = t_echo, .depends_on = needs_c},
			       {.name = "b", .fn = t_echo, .depends_on = needs_a},
			       {.name = "c", .fn = t_echo, .depends_on = needs_b}};
	assert_int_equal(bad_def(cycle, 3, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg, "flow 'bad': tasks depend on each other in a cycle: "
				     "a needs c needs b needs a");
	mc_task_def self[] = {{.name = "a", .fn = t_echo, .depends_on = needs_a}};
	assert_int_equal(bad_def(self, 1, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "cycle: a needs a"));
	mc_task_def dup[] = {{.name = "a", .fn = t_echo},
			     {.name = "b", .fn = t_echo},
			     {.name = "a", .fn = t_echo}};
	assert_int_equal(bad_def(dup, 3, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg, "flow 'bad': task 'a' is defined twice (tasks 1 and 3)");
	mc_task_def dupkey[] = {{.name = "fetch", .key = "2025-03-31", .fn = t_echo},
				{.name = "fetch", .key = "2025-03-31", .fn = t_echo}};
	assert_int_equal(bad_def(dupkey, 2, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'fetch[2025-03-31]' is defined twice"));
	mc_task_def badname[] = {{.name = "Fetch Data", .fn = t_echo}};
	assert_int_equal(bad_def(badname, 1, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid name 'Fetch Data'"));
	mc_task_def nofn[] = {{.name = "a"}};
	assert_int_equal(bad_def(nofn, 1, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "task 'a' has no function"));
	mc_task_def badretry[] = {
		{.name = "a",
		 .fn = t_echo,
		 .retry = {
			 .retries = 2, .kind = MC_RETRY_EXPONENTIAL, .base_s = 1, .factor = 0.5}}};
	assert_int_equal(bad_def(badretry, 1, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "task 'a': exponential retry needs"));
	mc_task_def negdelay[] = {{.name = "a",
				   .fn = t_echo,
				   .retry = {.retries = 1, .ndelays = 1, .delays_s = {-1}}}};
	assert_int_equal(bad_def(negdelay, 1, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "retry delay 1"));
	/* A bad definition creates no run. */
	char id[MC_FLOW_ID_LEN + 1];
	mc_state final;
	mc_flow_def def = {"bad", cycle, 3};
	assert_int_equal(mc_flow_run(store, &def, NULL, NULL, id, &final, &err), MC_ERR_INVALID);
	mc_flow_run_info *runs;
	size_t n;
	assert_int_equal(mc_flow_run_list(store, NULL, &runs, &n, &err), MC_OK);
	assert_int_equal(n, 0);
	mc_flow_run_list_free(runs, n);
	/* Bad parameters and flow names. */
	json_t *arr = json_array();
	assert_int_equal(mc_flow_run_create(store, NULL, "x", arr, 0, NULL, id, NULL, &err),
			 MC_ERR_INVALID);
	json_decref(arr);
	assert_int_equal(mc_flow_run_create(store, NULL, "no way", NULL, 0, NULL, id, NULL, &err),
			 MC_ERR_INVALID);
	/* A run of one flow is not started with another's definition. */
	assert_int_equal(mc_flow_run_create(store, NULL, "train", NULL, 0, NULL, id, NULL, &err),
			 MC_OK);
	mc_task_def ok[] = {{.name = "a", .fn = t_echo}};
	mc_flow_def other = {"daily", ok, 1};
	assert_int_equal(mc_flow_run_start(store, &other, id, NULL, &final, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "is of flow 'train', not 'daily'"));
}

static void test_dynamic_keys_and_queries(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	json_t *in1 = json_pack("{s:s}", "date", "2025-03-28");
	json_t *in2 = json_pack("{s:s}", "date", "2025-03-31");
	mc_task_def tasks[] = {
		{.name = "fetch", .key = "2025-03-28", .fn = t_echo, .inputs = in1},
		{.name = "fetch", .key = "2025-03-31", .fn = t_echo, .inputs = in2},
		{.name = "ingest", .fn = t_echo, .depends_on = needs_fetch},
	};
	mc_flow_def def = {"backfill", tasks, 3};
	char id[MC_FLOW_ID_LEN + 1], first[MC_FLOW_ID_LEN + 1];
	assert_int_equal(run_flow(&def, NULL, NULL, first), MC_STATE_COMPLETED);
	mc_flow_detail *d = detail(first);
	assert_string_equal(d->tasks[1].label, "fetch[2025-03-31]");
	assert_string_equal(d->tasks[1].key, "2025-03-31");
	json_t *r = json_loads(task_of(d, "ingest")->result, 0, NULL);
	json_t *up = json_object_get(r, "up");
	assert_int_equal(json_object_size(up), 2);
	json_t *f2 = json_object_get(up, "fetch[2025-03-31]");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(f2, "inputs"), "date")),
		"2025-03-31");
	json_decref(r);
	mc_flow_detail_free(d);
	json_decref(in1);
	json_decref(in2);

	/* Idempotency keys: the scheduler's second attempt gets the first run. */
	bool existed = false;
	assert_int_equal(mc_flow_run_create(store, NULL, "daily", NULL, 1743508800000LL,
					    "daily@2025-04-01T13:00", id, &existed, &err),
			 MC_OK);
	assert_false(existed);
	char again[MC_FLOW_ID_LEN + 1];
	assert_int_equal(mc_flow_run_create(store, NULL, "daily", NULL, 1743508800000LL,
					    "daily@2025-04-01T13:00", again, &existed, &err),
			 MC_OK);
	assert_true(existed);
	assert_string_equal(id, again);

	/* Lists: newest first, filtered by flow and state, limited. */
	mc_flow_run_info *runs;
	size_t n;
	assert_int_equal(mc_flow_run_list(store, NULL, &runs, &n, &err), MC_OK);
	assert_int_equal(n, 2);
	mc_flow_run_list_free(runs, n);
	mc_flow_filter f = {.flow = "daily", .state = MC_STATE_SCHEDULED};
	assert_int_equal(mc_flow_run_list(store, &f, &runs, &n, &err), MC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(runs[0].id, id);
	assert_int_equal(runs[0].scheduled_ms, 1743508800000LL);
	assert_string_equal(runs[0].idempotency_key, "daily@2025-04-01T13:00");
	mc_flow_run_list_free(runs, n);
	f = (mc_flow_filter){.state = MC_STATE_COMPLETED, .limit = 1};
	assert_int_equal(mc_flow_run_list(store, &f, &runs, &n, &err), MC_OK);
	assert_int_equal(n, 1);
	assert_string_equal(runs[0].id, first);
	mc_flow_run_list_free(runs, n);
	/* Ids by prefix. */
	char full[MC_FLOW_ID_LEN + 1], prefix[9];
	snprintf(prefix, sizeof prefix, "%.8s", first);
	assert_int_equal(mc_flow_run_resolve(store, prefix, full, &err), MC_OK);
	assert_string_equal(full, first);
	assert_int_equal(mc_flow_run_resolve(store, "ab", full, &err), MC_ERR_INVALID);
	assert_int_equal(mc_flow_detail_get(store, "0000000000", &d, &err), MC_ERR_NOT_FOUND);
	mc_state s;
	assert_int_equal(mc_state_parse("timedout", &s, &err), MC_OK);
	assert_int_equal(s, MC_STATE_TIMED_OUT);
	assert_int_equal(mc_state_parse("done", &s, &err), MC_ERR_INVALID);
}

static void test_alert_hook(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_alert_config cfg;
	mc_alert_config_init(&cfg); /* no channel: the alert is logged and recorded only */
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&cfg, store, &al, &err), MC_OK);
	mc_flow_opts o;
	mc_flow_opts_init(&o);
	o.on_failure = mc_flow_alert_hook;
	o.hook_user = al;
	static const int never = 0;
	mc_task_def tasks[] = {{.name = "fetch", .fn = t_flaky, .user = (void *)&never}};
	mc_flow_def def = {"daily", tasks, 1};
	char id[MC_FLOW_ID_LEN + 1];
	assert_int_equal(run_flow(&def, NULL, &o, id), MC_STATE_FAILED);
	mc_alerter_free(al);
	mc_stmt *st;
	assert_int_equal(mc_stmt_prepare(store,
					 "SELECT rule, severity, title, dedup_key, status"
					 " FROM alerts_sent",
					 &st, &err),
			 MC_OK);
	bool row = false;
	assert_int_equal(mc_stmt_step(st, &row, &err), MC_OK);
	assert_true(row);
	assert_string_equal(mc_stmt_text(st, 0), "flow_failed");
	assert_string_equal(mc_stmt_text(st, 1), "critical");
	char title[128];
	snprintf(title, sizeof title, "Flow 'daily' run %.8s Failed", id);
	assert_string_equal(mc_stmt_text(st, 2), title);
	assert_non_null(strstr(mc_stmt_text(st, 3), id));
	assert_string_equal(mc_stmt_text(st, 4), "logged");
	assert_int_equal(mc_stmt_step(st, &row, &err), MC_OK);
	assert_false(row);
	mc_stmt_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linear_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_fixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_definitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dynamic_keys_and_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_hook, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
