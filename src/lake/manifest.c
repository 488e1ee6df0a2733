/* The ingest manifest in milkcast.db: runs, files, quarantined rows, revisions, partitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lake/ingest_int.h"
#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/sha256.h"

/*
 * Called with the ingest lock held, so no other ingest is running: a run
 * still marked 'running' belongs to a process that died.
 */
static mc_code close_interrupted_runs(mc_store *s, const char *now, mc_error *err)
{
	mc_stmt *q;
	mc_code rc =
		mc_stmt_prepare(s,
				"UPDATE ingest_runs SET status='failed', finished_at=?, "
				"error='interrupted: the process stopped before the run completed' "
				"WHERE status='running'",
				&q, err);
	if (rc)
		return rc;
	mc_stmt_bind_text(q, 1, now);
	rc = mc_stmt_run(q, err);
	mc_stmt_free(q);
	return rc;
}

mc_code mc_manifest_begin(mc_store *s, mc_ingest_state *st, mc_error *err)
{
	char now[32];
	mc_now_iso(now, sizeof now);
	mc_stmt *q;
	mc_code rc = close_interrupted_runs(s, now, err);
	if (rc)
		return rc;
	rc = mc_stmt_prepare(s, "INSERT INTO ingest_runs(started_at, status) VALUES (?, 'running')",
			     &q, err);
	if (rc)
		return rc;
	mc_stmt_bind_text(q, 1, now);
	rc = mc_stmt_run(q, err);
	mc_stmt_free(q);
	if (!rc)
		st->run_id = mc_store_last_id(s);
	return rc;
}

void mc_manifest_fail(mc_store *s, mc_ingest_state *st, const char *message)
{
	char now[32];
	mc_now_iso(now, sizeof now);
	mc_stmt *q;
	if (mc_stmt_prepare(s,
			    "UPDATE ingest_runs SET status='failed', finished_at=?, error=? "
			    "WHERE id=?",
			    &q, NULL))
		return;
	mc_stmt_bind_text(q, 1, now);
	mc_stmt_bind_text(q, 2, message);
	mc_stmt_bind_int(q, 3, st->run_id);
	mc_stmt_run(q, NULL);
	mc_stmt_free(q);
}

static mc_code insert_files(mc_store *s, mc_ingest_state *st, mc_error *err)
{
	mc_stmt *q;
	mc_code rc = mc_stmt_prepare(
		s,
		"INSERT INTO ingest_files(run_id, path, name, sha256, bytes, format, first_date, "
		"last_date, rows_read, rows_added, rows_quarantined, rows_changed) "
		"VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
		&q, err);
	for (size_t i = 0; i < st->nfiles && !rc; i++) {
		const mc_ingest_file *f = &st->files[i];
		char first[11], last[11];
		mc_date_format_iso(f->first_date, first);
		mc_date_format_iso(f->last_date, last);
		mc_stmt_bind_int(q, 1, st->run_id);
		mc_stmt_bind_text(q, 2, f->path);
		mc_stmt_bind_text(q, 3, f->name);
		mc_stmt_bind_text(q, 4, f->sha256);
		mc_stmt_bind_int(q, 5, (int64_t)f->bytes);
		mc_stmt_bind_text(q, 6, f->format);
		mc_stmt_bind_text(q, 7, f->first_date ? first : NULL);
		mc_stmt_bind_text(q, 8, f->last_date ? last : NULL);
		mc_stmt_bind_int(q, 9, (int64_t)f->rows_read);
		mc_stmt_bind_int(q, 10, (int64_t)f->rows_added);
		mc_stmt_bind_int(q, 11, (int64_t)f->rows_quarantined);
		mc_stmt_bind_int(q, 12, (int64_t)f->rows_changed);
		rc = mc_stmt_run(q, err);
	}
	mc_stmt_free(q);
	return rc;
}

static mc_code insert_quarantine(mc_store *s, mc_ingest_state *st, mc_error *err)
{
	mc_stmt *q;
	mc_code rc = mc_stmt_prepare(
		s,
		"INSERT INTO quarantine(run_id, source, position, date, state, city, milk_type, "
		"channel, raw_value, reason) VALUES (?,?,?,?,?,?,?,?,?,?)",
		&q, err);
	for (size_t i = 0; i < st->nquarantine && !rc; i++) {
		const mc_quarantined *r = &st->quarantine[i];
		mc_stmt_bind_int(q, 1, st->run_id);
		mc_stmt_bind_text(q, 2, st->files[r->file].name);
		mc_stmt_bind_text(q, 3, r->position);
		mc_stmt_bind_text(q, 4, r->date);
		mc_stmt_bind_text(q, 5, r->state);
		mc_stmt_bind_text(q, 6, r->city);
		mc_stmt_bind_text(q, 7, r->milk_type);
		mc_stmt_bind_text(q, 8, r->channel);
		mc_stmt_bind_text(q, 9, r->raw_value);
		mc_stmt_bind_text(q, 10, r->reason);
		rc = mc_stmt_run(q, err);
	}
	mc_stmt_free(q);
	return rc;
}

static void bind_price(mc_stmt *q, int i, bool missing, double v)
{
	if (missing)
		mc_stmt_bind_null(q, i);
	else
		mc_stmt_bind_double(q, i, v);
}

static mc_code insert_revisions(mc_store *s, mc_ingest_state *st, mc_error *err)
{
	mc_stmt *q;
	mc_code rc = mc_stmt_prepare(
		s,
		"INSERT INTO revisions(run_id, source, date, kind, state, city, milk_type, channel,"
		" old_price, new_price, applied) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
		&q, err);
	for (size_t i = 0; i < st->nrevisions && !rc; i++) {
		const mc_revision *r = &st->revisions[i];
		const mc_candidate *c = &r->candidate;
		char date[11];
		mc_date_format_iso(c->date, date);
		mc_stmt_bind_int(q, 1, st->run_id);
		mc_stmt_bind_text(q, 2, r->source);
		mc_stmt_bind_text(q, 3, date);
		mc_stmt_bind_text(q, 4, mc_kind_name(c->series.kind));
		mc_stmt_bind_text(q, 5, c->series.state);
		mc_stmt_bind_text(q, 6, c->series.city);
		mc_stmt_bind_text(q, 7, c->series.milk_type);
		mc_stmt_bind_text(q, 8, c->series.channel);
		bind_price(q, 9, r->old_missing, r->old_price);
		bind_price(q, 10, c->missing, c->price);
		mc_stmt_bind_int(q, 11, r->applied);
		rc = mc_stmt_run(q, err);
	}
	mc_stmt_free(q);
	return rc;
}

/* Record each written partition with its row count, date range and content hash. */
static mc_code upsert_partitions(mc_store *s, mc_ingest_state *st, mc_error *err)
{
	mc_stmt *q;
	mc_code rc = mc_stmt_prepare(
		s,
		"INSERT OR REPLACE INTO lake_partitions(year, month, path, rows, first_date, "
		"last_date, sha256, written_at, run_id) VALUES (?,?,?,?,?,?,?,?,?)",
		&q, err);
	char now[32];
	mc_now_iso(now, sizeof now);
	for (size_t i = 0; i < st->nmonths && !rc; i++) {
		int year, month;
		const mc_table *t;
		const char *sha;
		bool dirty;
		mc_ingest_month_info(st, i, &year, &month, &t, &dirty, &sha);
		if (!dirty)
			continue;
		char *path = mc_lake_partition_path(st->lake, year, month);
		char first[11] = "", last[11] = "";
		if (t->nrows) {
			const int32_t *d = MC_COL_I32(&t->cols[MC_LAKE_DATE]);
			mc_date_format_iso(d[0], first);
			mc_date_format_iso(d[t->nrows - 1], last);
		}
		mc_stmt_bind_int(q, 1, year);
		mc_stmt_bind_int(q, 2, month);
		mc_stmt_bind_text(q, 3, path);
		mc_stmt_bind_int(q, 4, (int64_t)t->nrows);
		mc_stmt_bind_text(q, 5, first);
		mc_stmt_bind_text(q, 6, last);
		mc_stmt_bind_text(q, 7, sha);
		mc_stmt_bind_text(q, 8, now);
		mc_stmt_bind_int(q, 9, st->run_id);
		rc = path ? mc_stmt_run(q, err) : mc_fail(err, MC_ERR_NOMEM, "out of memory");
		free(path);
	}
	mc_stmt_free(q);
	return rc;
}

static mc_code finish_run(mc_store *s, mc_ingest_state *st, mc_error *err)
{
	const mc_ingest_summary *m = st->sum;
	char now[32];
	mc_now_iso(now, sizeof now);
	mc_stmt *q;
	mc_code rc = mc_stmt_prepare(
		s,
		"UPDATE ingest_runs SET status='completed', finished_at=?, inputs=?, "
		"dates_added=?, rows_read=?, rows_added=?, rows_missing=?, rows_unchanged=?, "
		"rows_quarantined=?, rows_changed=? WHERE id=?",
		&q, err);
	if (rc)
		return rc;
	mc_stmt_bind_text(q, 1, now);
	int64_t v[] = {
		(int64_t)m->inputs,	      (int64_t)m->dates_added,	(int64_t)m->rows_read,
		(int64_t)m->rows_added,	      (int64_t)m->rows_missing, (int64_t)m->rows_unchanged,
		(int64_t)m->rows_quarantined, (int64_t)m->rows_changed, st->run_id};
	for (int i = 0; i < 9; i++)
		mc_stmt_bind_int(q, i + 2, v[i]);
	rc = mc_stmt_run(q, err);
	mc_stmt_free(q);
	return rc;
}

mc_code mc_manifest_commit(mc_store *s, mc_ingest_state *st, mc_error *err)
{
	mc_code rc = mc_store_begin(s, err);
	if (rc)
		return rc;
	rc = insert_files(s, st, err);
	rc = rc ? rc : insert_quarantine(s, st, err);
	rc = rc ? rc : insert_revisions(s, st, err);
	rc = rc ? rc : upsert_partitions(s, st, err);
	rc = rc ? rc : finish_run(s, st, err);
	rc = rc ? rc : mc_store_commit(s, err);
	if (rc)
		mc_store_rollback(s);
	return rc;
}
