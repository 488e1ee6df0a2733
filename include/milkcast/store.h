/*
 * The workspace database (milkcast.db, SQLite in WAL mode) behind a thin
 * wrapper: schema migrations, transactions and prepared statements whose
 * errors come back as mc_error.  src/store/ is the only includer of sqlite3.h.
 *
 * mc_store_open() / mc_store_free(); mc_stmt_prepare() / mc_stmt_free().
 */
#ifndef MILKCAST_STORE_H
#define MILKCAST_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "milkcast/error.h"

typedef struct mc_store mc_store;
typedef struct mc_stmt mc_stmt;

/* Open (creating) <home>/milkcast.db and the workspace directories; migrate the schema. */
mc_code mc_store_open(const char *home, mc_store **out, mc_error *err);
void mc_store_free(mc_store *s);
const char *mc_store_home(const mc_store *s);
int mc_store_schema_version(const mc_store *s);
/* The SQLite library's version ("3.40.1"). */
const char *mc_store_sqlite_version(void);

/* A consistent copy of the database file db_path (its WAL folded in; writers not
 * blocked) written to dest, which must not exist: SQLite's VACUUM INTO. */
mc_code mc_store_snapshot(const char *db_path, const char *dest, mc_error *err);
/* PRAGMA quick_check of the database file at path, opened read-only: MC_OK when
 * it says "ok", else MC_ERR_FORMAT naming the file and the finding. */
mc_code mc_store_check_file(const char *path, mc_error *err);

mc_code mc_store_exec(mc_store *s, const char *sql, mc_error *err);
/* BEGIN IMMEDIATE (waits on other writers up to the busy timeout) / COMMIT / ROLLBACK. */
mc_code mc_store_begin(mc_store *s, mc_error *err);
mc_code mc_store_commit(mc_store *s, mc_error *err);
void mc_store_rollback(mc_store *s);
int64_t mc_store_last_id(mc_store *s);

mc_code mc_stmt_prepare(mc_store *s, const char *sql, mc_stmt **out, mc_error *err);
void mc_stmt_free(mc_stmt *st);
/* Binds are 1-based; NULL text binds SQL NULL. */
mc_code mc_stmt_bind_text(mc_stmt *st, int i, const char *v);
mc_code mc_stmt_bind_int(mc_stmt *st, int i, int64_t v);
mc_code mc_stmt_bind_double(mc_stmt *st, int i, double v);
mc_code mc_stmt_bind_null(mc_stmt *st, int i);
/* Step: *row = true when a row is available, false when done. */
mc_code mc_stmt_step(mc_stmt *st, bool *row, mc_error *err);
/* Run to completion ignoring rows, then reset for reuse (bindings cleared). */
mc_code mc_stmt_run(mc_stmt *st, mc_error *err);
void mc_stmt_reset(mc_stmt *st);
/* Column accessors (0-based) for the current row; text is valid until the next step. */
const char *mc_stmt_text(mc_stmt *st, int i);
int64_t mc_stmt_int(mc_stmt *st, int i);
double mc_stmt_double(mc_stmt *st, int i);
bool mc_stmt_is_null(mc_stmt *st, int i);
int mc_stmt_columns(mc_stmt *st);
const char *mc_stmt_column_name(mc_stmt *st, int i);

/* Current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" (out: at least 32 bytes). */
void mc_now_iso(char *out, size_t n);

#endif
