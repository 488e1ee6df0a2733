/*
 * The Lambda runtime loop against the loopback fake Runtime API
 * (tests/oracle/fake_lambda_runtime.py, started here): a response, a handler
 * error, a response over 6 MB refused before it is sent, the headers of an
 * invocation, and bad AWS_LAMBDA_RUNTIME_API values.
 */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
static mc_code handler(void *ud, const mc_lambda_invocation *inv, mc_buf *out, mc_error *err)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_init_error),
		cmocka_unit_test(test_bad_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
