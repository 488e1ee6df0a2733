/* Tracking: MLflow's rules for keys and params, run lifecycle, interrupted runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/store.h"
#include "milkcast/tracking.h"

static void test_keys(void **state)
{
	(void)state;
	assert_true(mc_tracking_key_valid("valid_rmse"));
	assert_true(mc_tracking_key_valid("test h1/rmse-2.0"));
	assert_false(mc_tracking_key_valid(""));
	assert_false(mc_tracking_key_valid("a;b"));
	assert_false(mc_tracking_key_valid("caf\xc3\xa9"));
	char long_key[300];
	memset(long_key, 'k', sizeof long_key - 1);
	long_key[sizeof long_key - 1] = '\0';
	assert_false(mc_tracking_key_valid(long_key));
	long_key[MC_KEY_MAX] = '\0';
	assert_true(mc_tracking_key_valid(long_key));
}

static int64_t count(mc_store *s, const char *sql)
{
	mc_error err = MC_ERROR_INIT;
	mc_stmt *st;
	bool row = false;
	assert_int_equal(mc_stmt_prepare(s, sql, &st, &err), MC_OK);
	assert_int_equal(mc_stmt_step(st, &row, &err), MC_OK);
	assert_true(row);
	int64_t n = mc_stmt_int(st, 0);
	mc_stmt_free(st);
	return n;
}

static void test_runs(void **state)
{
	(void)state;
	char home[] = "/tmp/mc-track-XXXXXX";
	assert_non_null(mkdtemp(home));
	mc_error err = MC_ERROR_INIT;
	mc_store *s;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	int64_t e1, e2;
	assert_int_equal(mc_experiment_ensure(s, "forecast", &e1, &err), MC_OK);
	assert_int_equal(mc_experiment_ensure(s, "forecast", &e2, &err), MC_OK);
	assert_int_equal(e1, e2);
	char parent[MC_RUN_ID_LEN + 1], child[MC_RUN_ID_LEN + 1];
	assert_int_equal(mc_run_start(s, e1, NULL, "train", parent, &err), MC_OK);
	assert_int_equal(strlen(parent), 32);
	assert_int_equal(mc_run_start(s, e1, parent, "trial-1", child, &err), MC_OK);
	assert_string_not_equal(parent, child);
	/* Params are immutable: the same value again is fine, another is refused. */
	assert_int_equal(mc_run_log_param(s, child, "max_depth", "6", &err), MC_OK);
	assert_int_equal(mc_run_log_param(s, child, "max_depth", "6", &err), MC_OK);
	assert_int_equal(mc_run_log_param(s, child, "max_depth", "7", &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "param 'max_depth'"));
	assert_int_equal(mc_run_log_param(s, child, "bad key!", "1", &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid param key"));
	/* Metrics keep their history, NaN included. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(mc_run_log_metric(s, child, "curve", 1.0 / (i + 1), i, 1000, &err),
				 MC_OK);
	assert_int_equal(mc_run_log_metric(s, child, "loss", NAN, 0, 1000, &err), MC_OK);
	assert_int_equal(count(s, "SELECT count(*) FROM metrics WHERE key = 'curve'"), 5);
	assert_int_equal(count(s, "SELECT is_nan FROM metrics WHERE key = 'loss'"), 1);
	assert_int_equal(mc_run_set_tag(s, child, "note", "a", &err), MC_OK);
	assert_int_equal(mc_run_set_tag(s, child, "note", "b", &err), MC_OK);
	assert_int_equal(count(s, "SELECT count(*) FROM tags WHERE key = 'note'"), 1);
	assert_int_equal(mc_run_end(s, child, MC_RUN_FINISHED, &err), MC_OK);
	assert_int_equal(mc_run_end(s, child, "DONE", &err), MC_ERR_INVALID);
	/* The parent is RUNNING under this (live) process: not interrupted. */
	size_t n;
	assert_int_equal(mc_runs_mark_interrupted(s, &n, &err), MC_OK);
	assert_int_equal(n, 0);
	/* A run whose process is gone is. */
	assert_int_equal(mc_run_set_tag(s, parent, "milkcast.pid", "999999999", &err), MC_OK);
	assert_int_equal(mc_runs_mark_interrupted(s, &n, &err), MC_OK);
	assert_int_equal(n, 1);
	assert_int_equal(count(s, "SELECT count(*) FROM runs WHERE status = 'FAILED'"), 1);
	mc_store_free(s);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", home);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
