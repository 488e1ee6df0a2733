/*
 * What the workspace says besides the lake's prices: the champion,
 * quarantined rows per window (and their share of the rows ingested), and
 * series that stopped publishing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/lake.h"
#include "milkcast/registry.h"
#include "milkcast/strmap.h"
#include "monitor/monitor_int.h"

/* ---- the champion ---- */

static mc_code champion_version(mc_store *s, const char *name, int version, mc_monitor_result *r,
				mc_error *err)
{
	mc_stmt *st;
	bool row = false;
	mc_code rc = mc_stmt_prepare(s,
				     "SELECT source, run_id FROM model_versions WHERE name = ? AND"
				     " version = ?",
				     &st, err);
	if (rc)
		return rc;
	mc_stmt_bind_text(st, 1, name);
	mc_stmt_bind_int(st, 2, version);
	rc = mc_stmt_step(st, &row, err);
	if (!rc && row) {
		snprintf(r->model_name, sizeof r->model_name, "%s", name);
		snprintf(r->model_version, sizeof r->model_version, "%d", version);
		snprintf(r->model_source, sizeof r->model_source, "%s",
			 mc_stmt_is_null(st, 0) ? "" : mc_stmt_text(st, 0));
		snprintf(r->run_id, sizeof r->run_id, "%s",
			 mc_stmt_is_null(st, 1) ? "" : mc_stmt_text(st, 1));
	}
	mc_stmt_free(st);
	return rc;
}

mc_code mon_champion(mc_store *store, const mc_monitor_opts *o, mc_monitor_result *r, mc_error *err)
{
	if (!store)
		return MC_OK;
	int v = 0;
	mc_error e2 = MC_ERROR_INIT;
	if (mc_registry_alias(store, o->model_name, MC_ALIAS_CHAMPION, &v, &e2))
		return e2.code == MC_ERR_NOT_FOUND ? MC_OK : (*err = e2, e2.code);
	mc_code rc = champion_version(store, o->model_name, v, r, err);
	if (rc)
		mc_error_prefix(err, "cannot read the champion: ");
	return rc;
}

/* ---- quarantine ---- */

/*
 * Distinct quarantined rows dated in w: a bad row read again from a later
 * workbook (SNIIM's files repeat their history) counts once.
 */
static mc_code quarantined(mc_store *s, const mc_monitor_window *w, int64_t *out, mc_error *err)
{
	char a[11], b[11];
	mc_date_format_iso(w->from, a);
	mc_date_format_iso(w->to, b);
	mc_stmt *st;
	bool row = false;
	mc_code rc = mc_stmt_prepare(s,
				     "SELECT count(*) FROM (SELECT DISTINCT date, state, city,"
				     " milk_type, channel, raw_value, reason FROM quarantine"
				     " WHERE date BETWEEN ? AND ?)",
				     &st, err);
	if (rc)
		return rc;
	mc_stmt_bind_text(st, 1, a);
	mc_stmt_bind_text(st, 2, b);
	rc = mc_stmt_step(st, &row, err);
	*out = !rc && row ? mc_stmt_int(st, 0) : 0;
	mc_stmt_free(st);
	return rc;
}

/* The files that brought the current window's quarantined rows, most rows first. */
static mc_code quarantine_sources(mc_store *s, mc_monitor_result *r, mc_error *err)
{
	char a[11], b[11];
	mc_date_format_iso(r->cur.from, a);
	mc_date_format_iso(r->cur.to, b);
	r->sources = calloc(MC_MONITOR_QUARANTINE_SOURCES, sizeof *r->sources);
	mc_stmt *st = NULL;
	bool row = false;
	mc_code rc = r->sources ? mc_stmt_prepare(s,
						  "SELECT source, count(*) FROM quarantine WHERE"
						  " date BETWEEN ? AND ? GROUP BY source"
						  " ORDER BY 2 DESC, 1 LIMIT ?",
						  &st, err)
				: mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (rc)
		return rc;
	mc_stmt_bind_text(st, 1, a);
	mc_stmt_bind_text(st, 2, b);
	mc_stmt_bind_int(st, 3, MC_MONITOR_QUARANTINE_SOURCES);
	while (!(rc = mc_stmt_step(st, &row, err)) && row) {
		mc_monitor_source *e = &r->sources[r->nsources];
		if (!(e->source = strdup(mc_stmt_text(st, 0)))) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		e->rows = mc_stmt_int(st, 1);
		r->nsources++;
	}
	mc_stmt_free(st);
	return rc;
}

/* Lake rows of every kind dated in each window (the rows ingest accepted). */
static void lake_rows(const mc_table *lake, mc_monitor_result *r)
{
	const int32_t *d = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
	r->lake_rows_cur = r->lake_rows_ref = 0;
	for (size_t i = 0; i < lake->nrows; i++) {
		r->lake_rows_cur += d[i] >= r->cur.from && d[i] <= r->cur.to;
		r->lake_rows_ref += d[i] >= r->ref.from && d[i] <= r->ref.to;
	}
}

static double q_share(int64_t q, size_t rows)
{
	return q + (double)rows > 0 ? (double)q / ((double)q + (double)rows) : NAN;
}

static mc_code quarantine(const mc_table *lake, mc_store *s, mc_monitor_result *r, mc_error *err)
{
	lake_rows(lake, r);
	mc_code rc = quarantined(s, &r->cur, &r->quarantined_cur, err);
	if (!rc)
		rc = quarantined(s, &r->ref, &r->quarantined_ref, err);
	if (!rc)
		rc = quarantine_sources(s, r, err);
	if (rc) {
		r->quarantined_cur = r->quarantined_ref = -1;
		return mc_error_prefix(err, "cannot count quarantined rows: ");
	}
	r->quarantine_share_cur = q_share(r->quarantined_cur, r->lake_rows_cur);
	r->quarantine_share_ref = q_share(r->quarantined_ref, r->lake_rows_ref);
	return MC_OK;
}

/* ---- silent series ---- */

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* The first of the last N publication dates among the current window's rows. */
static int32_t silent_from(const mc_table *lake, const mon_rows *rows, int n)
{
	const int32_t *d = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
	int32_t *dates = malloc(rows->ncur * sizeof *dates);
	if (!dates)
		return INT32_MIN;
	for (size_t i = 0; i < rows->ncur; i++)
		dates[i] = d[rows->cur[i]];
	qsort(dates, rows->ncur, sizeof *dates, cmp_i32);
	int32_t from = dates[rows->ncur - 1];
	int seen = 0;
	for (size_t i = rows->ncur; i-- > 0 && seen < n;)
		if (i + 1 == rows->ncur || dates[i] != dates[i + 1]) {
			from = dates[i];
			seen++;
		}
	free(dates);
	return from;
}

typedef struct cand {
	size_t row;   /* a reference row of the series */
	bool heard;   /* a price in the last publications */
	int32_t last; /* the last date with a price up to as_of */
} cand;

static mc_code reference_series(const mc_table *lake, const mon_rows *rows, mc_strmap *m,
				cand **out, size_t *n, mc_error *err)
{
	const mc_column *price = &lake->cols[MC_LAKE_PRICE];
	cand *c = malloc((rows->nref ? rows->nref : 1) * sizeof *c);
	if (!c)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	*n = 0;
	for (size_t i = 0; i < rows->nref; i++) {
		size_t row = rows->ref[i];
		char key[MON_KEY_MAX];
		size_t k = mon_row_key(lake, row, key);
		int64_t v;
		if (mc_column_is_null(price, row) || mc_strmap_get(m, key, k, &v))
			continue;
		if (mc_strmap_put(m, key, k, (int64_t)*n)) {
			free(c);
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		}
		c[(*n)++] = (cand){row, false, 0};
	}
	*out = c;
	return MC_OK;
}

static void listen_to(const mc_table *lake, const mc_monitor_result *r, int32_t from, mc_strmap *m,
		      cand *c)
{
	const int32_t *d = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
	const mc_column *price = &lake->cols[MC_LAKE_PRICE];
	for (size_t i = 0; i < lake->nrows; i++) {
		if (d[i] > r->as_of || mc_column_is_null(price, i) ||
		    !mon_cell_is(&lake->cols[MC_LAKE_KIND], i, "city"))
			continue;
		char key[MON_KEY_MAX];
		int64_t v;
		if (!mc_strmap_get(m, key, mon_row_key(lake, i, key), &v))
			continue;
		/* NOLINTNEXTLINE(clang-analyzer-core.UndefinedBinaryOperatorResult): v < *n */
		if (d[i] > c[v].last)
			c[v].last = d[i];
		if (d[i] >= from && d[i] >= r->cur.from && d[i] <= r->cur.to)
			c[v].heard = true;
	}
}

static mc_code keep_silent(const mc_table *lake, const cand *c, size_t n, mc_monitor_result *r,
			   mc_error *err)
{
	r->silent = calloc(n ? n : 1, sizeof *r->silent);
	if (!r->silent)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (c[i].heard)
			continue;
		mc_monitor_silent *s = &r->silent[r->nsilent++];
		s->state = mon_cell_dup(&lake->cols[MC_LAKE_STATE], c[i].row);
		s->city = mon_cell_dup(&lake->cols[MC_LAKE_CITY], c[i].row);
		s->milk_type = mon_cell_dup(&lake->cols[MC_LAKE_MILK_TYPE], c[i].row);
		s->channel = mon_cell_dup(&lake->cols[MC_LAKE_CHANNEL], c[i].row);
		s->last_price_date = c[i].last;
		if (!s->state || !s->city || !s->milk_type || !s->channel)
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	return MC_OK;
}

static mc_code silent_series(const mc_table *lake, const mon_rows *rows, const mc_monitor_opts *o,
			     mc_monitor_result *r, mc_error *err)
{
	mc_strmap *m = mc_strmap_new(1024);
	cand *c = NULL;
	size_t n = 0;
	mc_code rc = m ? reference_series(lake, rows, m, &c, &n, err)
		       : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc) {
		r->series_ref = n;
		listen_to(lake, r, silent_from(lake, rows, o->silent_publications), m, c);
		rc = keep_silent(lake, c, n, r, err);
	}
	free(c);
	mc_strmap_free(m);
	return rc;
}

mc_code mon_health(const mc_table *lake, const mon_rows *rows, mc_store *store,
		   const mc_monitor_opts *o, mc_monitor_result *r, mc_error *err)
{
	r->quarantined_cur = r->quarantined_ref = -1;
	mc_code rc = store ? quarantine(lake, store, r, err) : MC_OK;
	if (!rc)
		rc = silent_series(lake, rows, o, r, err);
	return rc;
}
