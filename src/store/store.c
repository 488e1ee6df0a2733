/* SQLite wrapper for milkcast.db: open in WAL mode, migrate, prepared statements. */
#include "milkcast/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "milkcast/fsutil.h"
#include "store/schema.h"

struct mc_store {
	sqlite3 *db;
	char *home;
	char *path;
	int version;
};

struct mc_stmt {
	sqlite3_stmt *st;
	mc_store *s;
};

static mc_code db_error(mc_store *s, mc_error *err, const char *what)
{
	return mc_fail(err, MC_ERR_DB, "%s '%s': %s", what, s->path, sqlite3_errmsg(s->db));
}

mc_code mc_store_exec(mc_store *s, const char *sql, mc_error *err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		mc_fail(err, MC_ERR_DB, "database '%s': %s", s->path, msg ? msg : "error");
		sqlite3_free(msg);
		return MC_ERR_DB;
	}
	return MC_OK;
}

static mc_code migrate(mc_store *s, mc_error *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return db_error(s, err, "cannot read schema version of");
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	if (version > mc_schema_count)
		return mc_fail(err, MC_ERR_UNSUPPORTED,
			       "database '%s' has schema version %d, newer than this milkcast (%d)",
			       s->path, version, mc_schema_count);
	for (int v = version; v < mc_schema_count; v++) {
		char bump[64];
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d;", v + 1);
		if (mc_store_begin(s, err) || mc_store_exec(s, mc_schema_steps[v], err) ||
		    mc_store_exec(s, bump, err) || mc_store_commit(s, err)) {
			mc_store_rollback(s);
			return mc_error_prefix(err, "cannot migrate schema to version %d: ", v + 1);
		}
	}
	s->version = mc_schema_count;
	return MC_OK;
}

static mc_code make_workspace(const char *home, mc_error *err)
{
	static const char *const dirs[] = {"", "raw", "lake", "artifacts", "reports"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		char *p = *dirs[i] ? mc_path_join(home, dirs[i]) : strdup(home);
		if (!p)
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		mc_code rc = mc_mkdirs(p, err);
		free(p);
		if (rc)
			return rc;
	}
	return MC_OK;
}

mc_code mc_store_open(const char *home, mc_store **out, mc_error *err)
{
	*out = NULL;
	mc_code rc = make_workspace(home, err);
	if (rc)
		return rc;
	mc_store *s = calloc(1, sizeof *s);
	if (!s || !(s->home = strdup(home)) || !(s->path = mc_path_join(home, "milkcast.db"))) {
		mc_store_free(s);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		rc = db_error(s, err, "cannot open database");
		mc_store_free(s);
		return rc;
	}
	sqlite3_busy_timeout(s->db, 10000);
	rc = mc_store_exec(s,
			   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			   "PRAGMA foreign_keys=ON;",
			   err);
	if (!rc)
		rc = migrate(s, err);
	if (rc) {
		mc_store_free(s);
		return rc;
	}
	*out = s;
	return MC_OK;
}

void mc_store_free(mc_store *s)
{
	if (!s)
		return;
	if (s->db)
		sqlite3_close_v2(s->db);
	free(s->home);
	free(s->path);
	free(s);
}

const char *mc_store_home(const mc_store *s)
{
	return s->home;
}

int mc_store_schema_version(const mc_store *s)
{
	return s->version;
}

mc_code mc_store_begin(mc_store *s, mc_error *err)
{
	return mc_store_exec(s, "BEGIN IMMEDIATE", err);
}

mc_code mc_store_commit(mc_store *s, mc_error *err)
{
	return mc_store_exec(s, "COMMIT", err);
}

void mc_store_rollback(mc_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int64_t mc_store_last_id(mc_store *s)
{
	return sqlite3_last_insert_rowid(s->db);
}

mc_code mc_stmt_prepare(mc_store *s, const char *sql, mc_stmt **out, mc_error *err)
{
	*out = NULL;
	mc_stmt *st = calloc(1, sizeof *st);
	if (!st)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	st->s = s;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st->st, NULL) != SQLITE_OK) {
		free(st);
		return db_error(s, err, "cannot prepare a statement on");
	}
	*out = st;
	return MC_OK;
}

void mc_stmt_free(mc_stmt *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->st);
	free(st);
}

static mc_code bind_rc(int rc)
{
	return rc == SQLITE_OK ? MC_OK : rc == SQLITE_NOMEM ? MC_ERR_NOMEM : MC_ERR_DB;
}

mc_code mc_stmt_bind_text(mc_stmt *st, int i, const char *v)
{
	if (!v)
		return bind_rc(sqlite3_bind_null(st->st, i));
	return bind_rc(sqlite3_bind_text(st->st, i, v, -1, SQLITE_TRANSIENT));
}

mc_code mc_stmt_bind_int(mc_stmt *st, int i, int64_t v)
{
	return bind_rc(sqlite3_bind_int64(st->st, i, v));
}

mc_code mc_stmt_bind_double(mc_stmt *st, int i, double v)
{
	return bind_rc(sqlite3_bind_double(st->st, i, v));
}

mc_code mc_stmt_bind_null(mc_stmt *st, int i)
{
	return bind_rc(sqlite3_bind_null(st->st, i));
}

mc_code mc_stmt_step(mc_stmt *st, bool *row, mc_error *err)
{
	int rc = sqlite3_step(st->st);
	if (rc == SQLITE_ROW) {
		*row = true;
		return MC_OK;
	}
	*row = false;
	if (rc == SQLITE_DONE)
		return MC_OK;
	return db_error(st->s, err, "statement failed on");
}

mc_code mc_stmt_run(mc_stmt *st, mc_error *err)
{
	bool row = true;
	mc_code rc = MC_OK;
	while (row && !rc)
		rc = mc_stmt_step(st, &row, err);
	mc_stmt_reset(st);
	return rc;
}

void mc_stmt_reset(mc_stmt *st)
{
	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
}

const char *mc_stmt_text(mc_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st->st, i);
}

int64_t mc_stmt_int(mc_stmt *st, int i)
{
	return sqlite3_column_int64(st->st, i);
}

double mc_stmt_double(mc_stmt *st, int i)
{
	return sqlite3_column_double(st->st, i);
}

bool mc_stmt_is_null(mc_stmt *st, int i)
{
	return sqlite3_column_type(st->st, i) == SQLITE_NULL;
}

int mc_stmt_columns(mc_stmt *st)
{
	return sqlite3_column_count(st->st);
}

const char *mc_stmt_column_name(mc_stmt *st, int i)
{
	return sqlite3_column_name(st->st, i);
}

void mc_now_iso(char *out, size_t n)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char base[24];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, n, "%s.%03ldZ", base, (long)(tv.tv_usec / 1000));
}

const char *mc_store_sqlite_version(void)
{
	return sqlite3_libversion();
}

mc_code mc_store_snapshot(const char *db_path, const char *dest, mc_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	mc_code rc = MC_OK;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, dest, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		rc = mc_fail(err, MC_ERR_DB, "cannot snapshot '%s' into '%s': %s", db_path, dest,
			     db ? sqlite3_errmsg(db) : "cannot open");
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

mc_code mc_store_check_file(const char *path, mc_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	mc_code rc = MC_OK;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
		rc = mc_fail(err, MC_ERR_FORMAT, "'%s' is not a SQLite database: %s", path,
			     db ? sqlite3_errmsg(db) : "cannot open");
	} else if (sqlite3_step(st) != SQLITE_ROW) {
		rc = mc_fail(err, MC_ERR_FORMAT, "'%s' fails its check: %s", path,
			     sqlite3_errmsg(db));
	} else {
		const char *finding = (const char *)sqlite3_column_text(st, 0);
		if (!finding || strcmp(finding, "ok") != 0)
			rc = mc_fail(err, MC_ERR_FORMAT, "'%s' fails its check: %s", path,
				     finding ? finding : "no answer");
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
