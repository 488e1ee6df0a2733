/* Unit tests of the workspace database wrapper: creation, migrations, statements, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "milkcast/fsutil.h"
#include "milkcast/store.h"

static char home[64];

static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof home, "/tmp/mc-store-XXXXXX");
	return mkdtemp(home) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", home);
	return system(cmd);
}

static void test_open_creates_workspace(void **state)
{
	(void)state;
	mc_store *s;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	assert_true(mc_store_schema_version(s) >= 1);
	const char *dirs[] = {"raw", "lake", "artifacts", "reports", "milkcast.db"};
	for (size_t i = 0; i < 5; i++) {
		char *p = mc_path_join(home, dirs[i]);
		assert_true(mc_exists(p));
		free(p);
	}
	mc_store_free(s);
	/* Reopening is a no-op migration. */
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	mc_store_free(s);
}

static void test_statements(void **state)
{
	(void)state;
	mc_store *s;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	assert_int_equal(mc_store_begin(s, &err), MC_OK);
	mc_stmt *q;
	assert_int_equal(mc_stmt_prepare(s,
					 "INSERT INTO ingest_runs(started_at, status) "
					 "VALUES (?, ?)",
					 &q, &err),
			 MC_OK);
	mc_stmt_bind_text(q, 1, "2025-01-01T00:00:00Z");
	mc_stmt_bind_text(q, 2, "running");
	assert_int_equal(mc_stmt_run(q, &err), MC_OK);
	int64_t id = mc_store_last_id(s);
	/* A CHECK constraint violation is an error naming the database. */
	mc_stmt_bind_text(q, 1, "x");
	mc_stmt_bind_text(q, 2, "bogus");
	assert_int_equal(mc_stmt_run(q, &err), MC_ERR_DB);
	assert_non_null(strstr(err.msg, "milkcast.db"));
	mc_stmt_free(q);
	assert_int_equal(mc_store_commit(s, &err), MC_OK);

	assert_int_equal(mc_stmt_prepare(s, "SELECT id, status, error FROM ingest_runs", &q, &err),
			 MC_OK);
	bool row;
	assert_int_equal(mc_stmt_step(q, &row, &err), MC_OK);
	assert_true(row);
	assert_int_equal(mc_stmt_int(q, 0), id);
	assert_string_equal(mc_stmt_text(q, 1), "running");
	assert_true(mc_stmt_is_null(q, 2));
	assert_string_equal(mc_stmt_column_name(q, 1), "status");
	assert_int_equal(mc_stmt_step(q, &row, &err), MC_OK);
	assert_false(row);
	mc_stmt_free(q);

	assert_int_equal(mc_stmt_prepare(s, "SELECT nonsense FROM nowhere", &q, &err), MC_ERR_DB);
	assert_non_null(strstr(err.msg, "no such table"));
	mc_store_free(s);
}

static void test_newer_schema_refused(void **state)
{
	(void)state;
	mc_store *s;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	assert_int_equal(mc_store_exec(s, "PRAGMA user_version = 999", &err), MC_OK);
	mc_store_free(s);
	assert_int_equal(mc_store_open(home, &s, &err), MC_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "schema version 999"));
	assert_null(s);
}

static void test_unwritable_home(void **state)
{
	(void)state;
	mc_store *s;
	mc_error err = MC_ERROR_INIT;
	char *file = mc_path_join(home, "plainfile");
	assert_int_equal(mc_write_file_atomic(file, "x", 1, &err), MC_OK);
	char *inside = mc_path_join(file, "ws");
	assert_int_not_equal(mc_store_open(inside, &s, &err), MC_OK);
	assert_non_null(strstr(err.msg, "plainfile"));
	free(inside);
	free(file);
}

/* A snapshot taken while the store is open holds the rows still in its WAL; the check
 * accepts it and refuses garbage and a truncated copy, naming the file. */
static void test_snapshot_and_check(void **state)
{
	(void)state;
	mc_store *s;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	assert_int_equal(mc_store_exec(s, "CREATE TABLE t(x); INSERT INTO t VALUES (42);", &err),
			 MC_OK);
	char db[128], snap[128], bad[128];
	snprintf(db, sizeof db, "%s/milkcast.db", home);
	snprintf(snap, sizeof snap, "%s/snap.db", home);
	snprintf(bad, sizeof bad, "%s/bad.db", home);
	assert_int_equal(mc_store_snapshot(db, snap, &err), MC_OK);
	assert_int_equal(mc_store_snapshot(db, snap, &err), MC_ERR_DB); /* dest exists */
	assert_non_null(strstr(err.msg, "snap.db"));
	mc_store_free(s);
	assert_int_equal(mc_store_check_file(snap, &err), MC_OK);
	char home2[96];
	snprintf(home2, sizeof home2, "%s/copy", home);
	assert_int_equal(mc_mkdirs(home2, &err), MC_OK);
	char copy[128];
	snprintf(copy, sizeof copy, "%s/milkcast.db", home2);
	assert_int_equal(rename(snap, copy), 0);
	assert_int_equal(mc_store_open(home2, &s, &err), MC_OK);
	mc_stmt *q;
	bool row = false;
	assert_int_equal(mc_stmt_prepare(s, "SELECT x FROM t", &q, &err), MC_OK);
	assert_int_equal(mc_stmt_step(q, &row, &err), MC_OK);
	assert_true(row);
	assert_int_equal(mc_stmt_int(q, 0), 42);
	mc_stmt_free(q);
	mc_store_free(s);

	assert_int_equal(mc_write_file_atomic(bad, "not a database at all", 21, &err), MC_OK);
	assert_int_equal(mc_store_check_file(bad, &err), MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "bad.db"));
	mc_buf b;
	mc_buf_init(&b, 0);
	assert_int_equal(mc_buf_read_file(&b, copy, &err), MC_OK);
	assert_true(b.len > 8192);
	assert_int_equal(mc_write_file_atomic(bad, b.data, b.len / 2, &err), MC_OK);
	mc_buf_release(&b);
	assert_int_equal(mc_store_check_file(bad, &err), MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "bad.db"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_workspace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statements, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_home, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_and_check, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
