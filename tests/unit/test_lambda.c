/*
 * The Lambda runtime loop against the loopback fake Runtime API
 * (tests/oracle/fake_lambda_runtime.py, started here): a response, a handler
 * error, a response over 6 MB refused before it is sent, the headers of an
 * invocation, and bad AWS_LAMBDA_RUNTIME_API values.  Then `--run`'s
 * command per invocation (src/lambda/command.c) with child functions that
 * print, fail, crash, ignore SIGTERM or leave a grandchild behind.
 */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "milkcast/lambda.h"

typedef struct fake {
	pid_t pid;
	char dir[64], api[64], record[128];
} fake;

static void fake_start(fake *f, const char *events_json)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/mc-lambda-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char events[128], port[128];
	snprintf(events, sizeof events, "%s/events.json", f->dir);
	snprintf(port, sizeof port, "%s/port", f->dir);
	snprintf(f->record, sizeof f->record, "%s/record.json", f->dir);
	FILE *fp = fopen(events, "w");
	assert_non_null(fp);
	fputs(events_json, fp);
	fclose(fp);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		execl("/usr/bin/python3", "python3", "tests/oracle/fake_lambda_runtime.py", events,
		      f->record, port, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *p = fopen(port, "r");
		int n = 0;
		if (p && fscanf(p, "%d", &n) == 1 && n > 0) {
			fclose(p);
			snprintf(f->api, sizeof f->api, "127.0.0.1:%d", n);
			return;
		}
		if (p)
			fclose(p);
		usleep(25000);
	}
	fail_msg("the fake runtime API did not start");
}

static json_t *fake_stop(fake *f)
{
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	json_t *rec = json_load_file(f->record, 0, NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_non_null(rec);
	return rec;
}

/* Event {"do": "ok" | "fail" | "huge"}: answers accordingly. */
static mc_code handler(void *ud, mc_lambda_invocation *inv, mc_buf *out, mc_error *err)
{
	int *calls = ud;
	(*calls)++;
	assert_true(strlen(inv->request_id) > 10);
	assert_true(inv->deadline_ms > 1700000000000LL);
	assert_non_null(strstr(inv->function_arn, "arn:aws:lambda:"));
	json_t *ev = json_loadb((const char *)inv->event, inv->event_len, 0, NULL);
	const char *what = json_string_value(json_object_get(ev, "do"));
	mc_code rc = MC_OK;
	if (what && !strcmp(what, "fail")) {
		rc = mc_fail(err, MC_ERR_INVALID, "field 'do' asked to fail");
	} else if (what && !strcmp(what, "huge")) {
		rc = mc_buf_append(out, "\"", 1);
		for (int i = 0; !rc && i < 7 * 1024; i++) {
			char block[1024];
			memset(block, 'x', sizeof block);
			rc = mc_buf_append(out, block, sizeof block);
		}
		if (!rc)
			rc = mc_buf_append(out, "\"", 1);
	} else {
		rc = mc_buf_printf(out, "{\"echo\":\"%s\"}", what ? what : "");
	}
	json_decref(ev);
	return rc;
}

static void test_loop(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, "[{\"do\":\"ok\"},{\"do\":\"fail\"},{\"do\":\"huge\"},{\"do\":\"again\"}]");
	mc_error err = MC_ERROR_INIT;
	mc_lambda_runtime *rt = NULL;
	assert_int_equal(mc_lambda_runtime_open(f.api, &rt, &err), MC_OK);
	int calls = 0;
	assert_int_equal(mc_lambda_loop(rt, handler, &calls, 4, &err), MC_OK);
	mc_lambda_runtime_free(rt);
	json_t *rec = fake_stop(&f);
	assert_int_equal(calls, 4);
	assert_int_equal(json_array_size(json_object_get(rec, "protocol_errors")), 0);
	json_t *resp = json_object_get(rec, "responses"), *errs = json_object_get(rec, "errors");
	assert_int_equal(json_array_size(resp), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(resp, 1), "body"), "echo")),
			    "again");
	assert_int_equal(json_array_size(errs), 2);
	json_t *e0 = json_array_get(errs, 0), *e1 = json_array_get(errs, 1);
	assert_string_equal(json_string_value(json_object_get(e0, "type")), "milkcast.invalid");
	assert_non_null(strstr(
		json_string_value(json_object_get(json_object_get(e0, "body"), "errorMessage")),
		"asked to fail"));
	/* Refused here: the fake never saw a 7 MB body. */
	assert_string_equal(json_string_value(json_object_get(e1, "type")),
			    "Function.ResponseSizeTooLong");
	json_decref(rec);
}

static void test_init_error(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, "[]");
	mc_error err = MC_ERROR_INIT, failure = MC_ERROR_INIT;
	mc_lambda_runtime *rt = NULL;
	assert_int_equal(mc_lambda_runtime_open(f.api, &rt, &err), MC_OK);
	mc_fail(&failure, MC_ERR_NOT_FOUND, "no bundle at 's3://b/models/x'");
	assert_int_equal(mc_lambda_init_error(rt, &failure, &err), MC_OK);
	int calls = 0;
	/* After init/error the API answers next with 500: the loop stops. */
	assert_int_equal(mc_lambda_loop(rt, handler, &calls, 1, &err), MC_ERR_NETWORK);
	assert_non_null(strstr(err.msg, "500"));
	mc_lambda_runtime_free(rt);
	json_t *rec = fake_stop(&f);
	json_t *ie = json_array_get(json_object_get(rec, "init_errors"), 0);
	assert_string_equal(json_string_value(json_object_get(ie, "type")),
			    "milkcast.Init.not_found");
	assert_int_equal(calls, 0);
	json_decref(rec);
}

static void test_bad_api(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_lambda_runtime *rt = NULL;
	assert_int_equal(mc_lambda_runtime_open(NULL, &rt, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "AWS_LAMBDA_RUNTIME_API"));
	assert_int_equal(mc_lambda_runtime_open("host:1/evil path", &rt, &err), MC_ERR_INVALID);
	assert_null(rt);
	/* Nothing listens on port 1: the next call fails with a network error. */
	assert_int_equal(mc_lambda_runtime_open("127.0.0.1:1", &rt, &err), MC_OK);
	int calls = 0;
	assert_int_equal(mc_lambda_loop(rt, handler, &calls, 1, &err), MC_ERR_NETWORK);
	assert_non_null(strstr(err.msg, "/invocation/next"));
	mc_lambda_runtime_free(rt);
}

/* --- --run: a command per invocation ------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void write_pids(const char *path, pid_t a, pid_t b)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "%d %d\n", (int)a, (int)b);
		fclose(f);
	}
}

/*
 * The child's "command", by argv[0]: json (prints its argv as a JSON array),
 * text, big N (N bytes of 'x'), exit N, abort, sleep PIDFILE (SIGTERM ends it),
 * stubborn PIDFILE (ignores SIGTERM, leaves a sleeping grandchild in its
 * group), touch FILE.  No cmocka assertions here: this is another process.
 */
static int child_command(void *ud, int argc, char **argv)
{
	(void)ud;
	const char *m = argv[0];
	if (!strcmp(m, "json")) {
		json_t *a = json_array();
		for (int i = 0; i < argc; i++)
			json_array_append_new(a, json_string(argv[i]));
		char *t = json_dumps(a, JSON_COMPACT);
		printf("%s\n", t);
		free(t);
		json_decref(a);
		fprintf(stderr, "first line\nsecond line\n");
		return 0;
	}
	if (!strcmp(m, "text")) {
		printf("plain \xff\xfe text\n");
		return 0;
	}
	if (!strcmp(m, "big")) {
		for (long i = strtol(argv[1], NULL, 10); i > 0; i--)
			putchar('x');
		return 0;
	}
	if (!strcmp(m, "exit")) {
		fprintf(stderr, "working\nmilkcast: error: cannot go on with '%s'\n", argv[1]);
		return (int)strtol(argv[1], NULL, 10);
	}
	if (!strcmp(m, "abort")) {
		fprintf(stderr, "about to abort");
		abort();
	}
	if (!strcmp(m, "sleep") || !strcmp(m, "stubborn")) {
		pid_t grand = 0;
		if (!strcmp(m, "stubborn")) {
			signal(SIGTERM, SIG_IGN);
			grand = fork();
			if (grand == 0) {
				sleep(30);
				_exit(0);
			}
		}
		write_pids(argv[1], getpid(), grand);
		fprintf(stderr, "sleeping\n");
		sleep(30);
		return 0;
	}
	if (!strcmp(m, "touch"))
		write_pids(argv[1], getpid(), 0);
	return 0;
}

typedef struct run_case {
	mc_lambda_command c;
	mc_lambda_invocation inv;
	mc_buf response, log;
	mc_error err;
	json_t *doc; /* the response, parsed */
} run_case;

static void collect_stderr(void *ud, const char *data, size_t n)
{
	assert_int_equal(mc_buf_append(ud, data, n), MC_OK);
}

/* argv (NULL-terminated) with the event; deadline_in_ms 0 = no deadline. */
static mc_code run(run_case *rc, const char *const *argv, const char *event, long deadline_in_ms)
{
	json_decref(rc->doc);
	rc->doc = NULL;
	mc_buf_release(&rc->response);
	mc_buf_release(&rc->log);
	if (!rc->c.run) {
		mc_lambda_command_init(&rc->c);
		rc->c.run = child_command;
		rc->c.on_stderr = collect_stderr;
		rc->c.stderr_ud = &rc->log;
	}
	rc->c.argv = argv;
	memset(&rc->inv, 0, sizeof rc->inv);
	snprintf(rc->inv.request_id, sizeof rc->inv.request_id, "req-1");
	rc->inv.deadline_ms = deadline_in_ms ? now_ms() + deadline_in_ms : 0;
	rc->inv.event = (const uint8_t *)event;
	rc->inv.event_len = strlen(event);
	mc_error_clear(&rc->err);
	mc_code code = mc_lambda_command_run(&rc->c, &rc->inv, &rc->response, &rc->err);
	if (!code)
		rc->doc = json_loadb((const char *)rc->response.data, rc->response.len, 0, NULL);
	return code;
}

static void run_case_release(run_case *rc)
{
	json_decref(rc->doc);
	mc_buf_release(&rc->response);
	mc_buf_release(&rc->log);
}

/* The pid is gone, or a zombie waiting for init. */
static bool gone(pid_t pid)
{
	char path[64], stat[256] = "";
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(stat, 1, sizeof stat - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *p = strrchr(stat, ')');
	return p && p[1] == ' ' && p[2] == 'Z';
}

static void read_pids(const char *path, pid_t *a, pid_t *b)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int x = 0, y = 0;
	assert_int_equal(fscanf(f, "%d %d", &x, &y), 2);
	fclose(f);
	*a = x;
	*b = y;
}

static void test_run_success(void **state)
{
	(void)state;
	run_case rc = {0};
	const char *json_cmd[] = {"json", "--fixed", NULL};
	const char *ev = "{\"args\": [\"--param\", \"date=2025-03-31\", \"it's a b\"]}";
	assert_int_equal(run(&rc, json_cmd, ev, 60000), MC_OK);
	assert_non_null(rc.doc);
	assert_string_equal(json_string_value(json_object_get(rc.doc, "command")),
			    "milkcast json --fixed --param date=2025-03-31 'it'\\''s a b'");
	assert_int_equal(json_integer_value(json_object_get(rc.doc, "exit")), 0);
	char *out = json_dumps(json_object_get(rc.doc, "output"), JSON_COMPACT);
	assert_string_equal(out,
			    "[\"json\",\"--fixed\",\"--param\",\"date=2025-03-31\",\"it's a b\"]");
	free(out);
	assert_null(json_object_get(rc.doc, "truncated"));
	assert_string_equal((const char *)rc.log.data, "first line\nsecond line\n");
	assert_string_equal(rc.inv.error_type, "");

	/* EventBridge Scheduler's payload, {}, null and nothing add no argument. */
	const char *none[] = {"{\"source\": \"milkcast.schedule\", \"flow\": \"daily\"}", "{}",
			      "null", " \n", ""};
	for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
		assert_int_equal(run(&rc, json_cmd, none[i], 0), MC_OK);
		assert_int_equal(json_array_size(json_object_get(rc.doc, "output")), 2);
	}

	/* Text: a JSON string, bytes that are not UTF-8 replaced. */
	const char *text[] = {"text", NULL};
	assert_int_equal(run(&rc, text, "{}", 0), MC_OK);
	assert_string_equal(json_string_value(json_object_get(rc.doc, "output")),
			    "plain ?? text\n");
	/* No output: null. */
	const char *quiet[] = {"touch", "/dev/null", NULL};
	assert_int_equal(run(&rc, quiet, "{}", 0), MC_OK);
	assert_true(json_is_null(json_object_get(rc.doc, "output")));
	run_case_release(&rc);
}

static void test_run_truncated(void **state)
{
	(void)state;
	run_case rc = {0};
	mc_lambda_command_init(&rc.c);
	rc.c.run = child_command;
	rc.c.max_output = 100;
	/* 300 kB: more than a pipe holds, so the child blocks unless it is read. */
	const char *big[] = {"big", "300000", NULL};
	assert_int_equal(run(&rc, big, "{}", 0), MC_OK);
	const char *out = json_string_value(json_object_get(rc.doc, "output"));
	assert_non_null(out);
	assert_int_equal(strspn(out, "x"), 100);
	assert_non_null(strstr(out + 100, "truncated: the first 100 of 300000 bytes"));
	assert_true(json_is_true(json_object_get(rc.doc, "truncated")));
	assert_int_equal(json_integer_value(json_object_get(rc.doc, "output_bytes")), 300000);
	/* Under the cap: the output is JSON-less text, whole. */
	const char *small[] = {"big", "100", NULL};
	assert_int_equal(run(&rc, small, "{}", 0), MC_OK);
	assert_int_equal(strlen(json_string_value(json_object_get(rc.doc, "output"))), 100);
	assert_null(json_object_get(rc.doc, "truncated"));
	run_case_release(&rc);
}

static void test_run_failures(void **state)
{
	(void)state;
	run_case rc = {0};
	const char *exit3[] = {"exit", "3", NULL};
	assert_int_equal(run(&rc, exit3, "{}", 0), MC_ERR_IO);
	assert_string_equal(rc.inv.error_type, "CommandFailed");
	/* The command, the status and the last stderr line without its prefix. */
	assert_string_equal(rc.err.msg, "'milkcast exit 3' exited with 3: cannot go on with '3'");
	/* 3 made a success: the response carries it. */
	assert_int_equal(mc_lambda_ok_exits_parse(&rc.c, "0,3", &rc.err), MC_OK);
	assert_int_equal(run(&rc, exit3, "{}", 0), MC_OK);
	assert_int_equal(json_integer_value(json_object_get(rc.doc, "exit")), 3);
	const char *exit2[] = {"exit", "2", NULL};
	assert_int_equal(run(&rc, exit2, "{}", 0), MC_ERR_INVALID);
	assert_string_equal(rc.inv.error_type, "CommandFailed");

	const char *crash[] = {"abort", NULL};
	assert_int_equal(run(&rc, crash, "{}", 0), MC_ERR_IO);
	assert_string_equal(rc.inv.error_type, "Crashed");
	assert_non_null(strstr(rc.err.msg, "'milkcast abort' was killed by signal 6"));
	/* The last line counts without its newline. */
	assert_non_null(strstr(rc.err.msg, ": about to abort"));

	/* A bad event: nothing runs, the error names the field. */
	char dir[] = "/tmp/mc-lambda-run-XXXXXX", file[64];
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof file, "%s/ran", dir);
	const char *touch[] = {"touch", file, NULL};
	struct {
		const char *event, *says;
	} bad[] = {
		{"{\"args\": \"--param\"}",
		 "event field 'args': expected an array of strings, got a string"},
		{"{\"args\": [\"a\", 7]}",
		 "event field 'args[1]': expected a string, got a number"},
		{"{\"args\": {}}",
		 "event field 'args': expected an array of strings, got an object"},
		{"[\"--param\"]", "the event must be a JSON object"},
		{"\"lake ls\"", "got a string"},
		{"{\"args\": [", "the event is not JSON"},
		{"{\"args\": [\"a\\u0000b\"]}", "the event is not JSON"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(run(&rc, touch, bad[i].event, 0), MC_ERR_INVALID);
		assert_non_null(strstr(rc.err.msg, bad[i].says));
		assert_string_equal(rc.inv.error_type, "");
	}
	/* 64 arguments of 1024 bytes pass; 65, or one of 1025 bytes, do not. */
	json_t *args = json_array();
	char arg[1026];
	memset(arg, 'a', 1025);
	arg[1024] = '\0';
	for (int i = 0; i < 64; i++)
		json_array_append_new(args, json_string(arg));
	json_t *ev = json_pack("{s:O}", "args", args);
	char *text = json_dumps(ev, JSON_COMPACT);
	const char *count[] = {"json", NULL};
	assert_int_equal(run(&rc, count, text, 0), MC_OK);
	assert_int_equal(json_array_size(json_object_get(rc.doc, "output")), 65);
	free(text);
	json_array_append_new(args, json_string("b"));
	text = json_dumps(ev, JSON_COMPACT);
	assert_int_equal(run(&rc, count, text, 0), MC_ERR_INVALID);
	assert_string_equal(rc.err.msg, "event field 'args': 65 items, at most 64");
	free(text);
	arg[1024] = 'a';
	arg[1025] = '\0';
	json_array_clear(args);
	json_array_append_new(args, json_string("ok"));
	json_array_append_new(args, json_string(arg));
	text = json_dumps(ev, JSON_COMPACT);
	assert_int_equal(run(&rc, count, text, 0), MC_ERR_INVALID);
	assert_string_equal(rc.err.msg, "event field 'args[1]': 1025 bytes, at most 1024");
	free(text);
	json_decref(ev);
	json_decref(args);
	struct stat st;
	assert_int_equal(stat(file, &st), -1);
	/* The same command with a good event does run. */
	assert_int_equal(run(&rc, touch, "{}", 0), MC_OK);
	assert_int_equal(stat(file, &st), 0);
	unlink(file);
	rmdir(dir);
	run_case_release(&rc);
}

static void test_run_deadline(void **state)
{
	(void)state;
	run_case rc = {0};
	mc_lambda_command_init(&rc.c);
	rc.c.run = child_command;
	rc.c.on_stderr = collect_stderr;
	rc.c.stderr_ud = &rc.log;
	rc.c.grace_ms = 300;
	rc.c.reserve_ms = 400;
	char dir[] = "/tmp/mc-lambda-run-XXXXXX", file[64];
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof file, "%s/pids", dir);

	/* SIGTERM ends it: stopped 700 ms before the deadline, reported before it. */
	const char *sleeper[] = {"sleep", file, NULL};
	int64_t t0 = now_ms();
	assert_int_equal(run(&rc, sleeper, "{}", 1200), MC_ERR_LIMIT);
	int64_t took = now_ms() - t0;
	assert_string_equal(rc.inv.error_type, "Timeout");
	assert_non_null(strstr(rc.err.msg, "'milkcast sleep "));
	assert_non_null(strstr(rc.err.msg, "was still running 700 ms before the invocation's "
					   "deadline: stopped with SIGTERM: sleeping"));
	assert_true(took >= 450 && took < 1200);
	pid_t child, grand;
	read_pids(file, &child, &grand);
	assert_true(gone(child));

	/* It ignores SIGTERM and leaves a grandchild: SIGKILL for the whole group. */
	const char *stubborn[] = {"stubborn", file, NULL};
	t0 = now_ms();
	assert_int_equal(run(&rc, stubborn, "{}", 1500), MC_ERR_LIMIT);
	took = now_ms() - t0;
	assert_string_equal(rc.inv.error_type, "Timeout");
	assert_non_null(strstr(rc.err.msg, "stopped with SIGTERM, then SIGKILL"));
	assert_true(took >= 1050 && took < 1500);
	read_pids(file, &child, &grand);
	assert_true(grand > 0);
	assert_true(gone(child));
	for (int i = 0; i < 100 && !gone(grand); i++)
		usleep(10000);
	assert_true(gone(grand));

	/* Too close to the deadline to start: nothing runs. */
	unlink(file);
	const char *touch[] = {"touch", file, NULL};
	assert_int_equal(run(&rc, touch, "{}", 400), MC_ERR_LIMIT);
	assert_string_equal(rc.inv.error_type, "Timeout");
	assert_non_null(strstr(rc.err.msg, "not started"));
	struct stat st;
	assert_int_equal(stat(file, &st), -1);
	/* Done well before the deadline: the response. */
	assert_int_equal(run(&rc, touch, "{}", 5000), MC_OK);
	assert_int_equal(stat(file, &st), 0);
	unlink(file);
	rmdir(dir);
	run_case_release(&rc);
}

static void test_ok_exits(void **state)
{
	(void)state;
	mc_lambda_command c;
	mc_lambda_command_init(&c);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_lambda_ok_exits_parse(&c, "0,3", &err), MC_OK);
	assert_int_equal(c.n_ok_exits, 2);
	assert_int_equal(c.ok_exits[1], 3);
	assert_int_equal(mc_lambda_ok_exits_parse(&c, "255", &err), MC_OK);
	const char *bad[] = {
		"", "3,", "x", "256", "-1", "0;3", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(mc_lambda_ok_exits_parse(&c, bad[i], &err), MC_ERR_INVALID);
		assert_non_null(strstr(err.msg, "--ok-exit"));
	}
}

/* Through the loop: the error types reach the Runtime API. */
static mc_code run_handler(void *c, mc_lambda_invocation *inv, mc_buf *out, mc_error *err)
{
	return mc_lambda_command_run(c, inv, out, err);
}

static void test_run_loop(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, "[{\"args\": [\"0\"]}, {\"args\": [\"1\"]}, {\"args\": 5}]");
	mc_error err = MC_ERROR_INIT;
	mc_lambda_runtime *rt = NULL;
	assert_int_equal(mc_lambda_runtime_open(f.api, &rt, &err), MC_OK);
	mc_lambda_command c;
	mc_lambda_command_init(&c);
	const char *argv[] = {"exit", NULL};
	c.argv = argv;
	c.run = child_command;
	assert_int_equal(mc_lambda_loop(rt, run_handler, &c, 3, &err), MC_OK);
	mc_lambda_runtime_free(rt);
	json_t *rec = fake_stop(&f);
	assert_int_equal(json_array_size(json_object_get(rec, "protocol_errors")), 0);
	json_t *r0 = json_object_get(json_array_get(json_object_get(rec, "responses"), 0), "body");
	assert_string_equal(json_string_value(json_object_get(r0, "command")), "milkcast exit 0");
	json_t *errs = json_object_get(rec, "errors");
	assert_int_equal(json_array_size(errs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 0), "type")),
			    "CommandFailed");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(json_array_get(errs, 0), "body"),
						  "errorMessage")),
		"'milkcast exit 1' exited with 1: cannot go on with '1'");
	assert_string_equal(json_string_value(json_object_get(json_array_get(errs, 1), "type")),
			    "milkcast.invalid");
	json_decref(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop),	     cmocka_unit_test(test_init_error),
		cmocka_unit_test(test_bad_api),	     cmocka_unit_test(test_ok_exits),
		cmocka_unit_test(test_run_success),  cmocka_unit_test(test_run_truncated),
		cmocka_unit_test(test_run_failures), cmocka_unit_test(test_run_deadline),
		cmocka_unit_test(test_run_loop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
