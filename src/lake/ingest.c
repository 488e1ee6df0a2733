/* Ingest: read inputs, normalise and validate rows, merge into month partitions, record the
 * manifest. */
#include "milkcast/ingest.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "lake/ingest_int.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/lake_remote.h"
#include "milkcast/strmap.h"
#include "milkcast/u64map.h"

void mc_ingest_opts_init(mc_ingest_opts *o)
{
	memset(o, 0, sizeof *o);
	o->revisions = MC_REVISIONS_KEEP;
	o->min_price = 5.0;
	o->max_price = 100.0;
	o->today = mc_date_today();
}

/* --- inputs ------------------------------------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int strptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static mc_code push_path(char ***list, size_t *n, char *p, mc_error *err)
{
	char **l = p ? realloc(*list, (*n + 1) * sizeof *l) : NULL;
	if (!l) {
		free(p);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	l[(*n)++] = p;
	*list = l;
	return MC_OK;
}

/* A directory contributes its *.xlsx and *.parquet files, sorted by name. */
static mc_code expand_dir(const char *dir, char ***list, size_t *n, mc_error *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return mc_fail(err, MC_ERR_IO, "cannot list directory '%s'", dir);
	size_t start = *n;
	struct dirent *e;
	mc_code rc = MC_OK;
	while (!rc && (e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    (has_suffix(e->d_name, ".xlsx") || has_suffix(e->d_name, ".parquet")))
			rc = push_path(list, n, mc_path_join(dir, e->d_name), err);
	closedir(d);
	if (rc)
		return rc;
	if (*n == start)
		return mc_fail(err, MC_ERR_EMPTY, "no .xlsx or .parquet files in directory '%s'",
			       dir);
	qsort(*list + start, *n - start, sizeof **list, strptr_cmp);
	return MC_OK;
}

static mc_code expand_inputs(const char *const *paths, size_t npaths, char ***list, size_t *n,
			     mc_error *err)
{
	*list = NULL;
	*n = 0;
	mc_code rc = MC_OK;
	for (size_t i = 0; i < npaths && !rc; i++) {
		if (mc_is_dir(paths[i]))
			rc = expand_dir(paths[i], list, n, err);
		else if (!mc_exists(paths[i]))
			rc = mc_fail(err, MC_ERR_NOT_FOUND, "cannot ingest '%s': no such file",
				     paths[i]);
		else
			rc = push_path(list, n, strdup(paths[i]), err);
	}
	if (!rc && *n == 0)
		rc = mc_fail(err, MC_ERR_EMPTY, "nothing to ingest");
	return rc;
}

/* --- working state: the month partitions being merged into --------------- */

/*
 * One month being merged.  Rows are identified by (date, series id) packed
 * in 64 bits; per row we keep its series id (for sorting) and which input
 * file and row last gave it (to spot duplicates inside one file).
 */
typedef struct month_state {
	int year, month;
	mc_table *table;      /* lake schema: existing rows, then added ones */
	mc_u64map *keys;      /* date << 32 | series id → row */
	uint32_t days_before; /* bit d: day d of the month was in the lake before */
	uint32_t days_added;  /* bit d: day d first added by this ingest */
	uint32_t *row_series; /* per row */
	uint32_t *touch_file; /* per row: 1 + the input file that last gave it */
	size_t *touch_row;    /* per row: that file's row */
	uint8_t *dropped;     /* per row: replaced by an applied revision */
	size_t rows_cap;      /* capacity of the per-row arrays */
	char sha256[65];      /* of the partition written */
	bool dirty;
} month_state;

static void month_free(month_state *m)
{
	mc_table_free(m->table);
	mc_u64map_free(m->keys);
	free(m->row_series);
	free(m->touch_file);
	free(m->touch_row);
	free(m->dropped);
}

static uint64_t row_id(int32_t date, uint32_t series)
{
	return (uint64_t)(uint32_t)date << 32 | series;
}

/* Make the per-row arrays hold row `row`. */
static mc_code reserve_rows(month_state *m, size_t row)
{
	if (row < m->rows_cap)
		return MC_OK;
	size_t cap = m->rows_cap ? m->rows_cap * 2 : 4096;
	while (cap <= row)
		cap *= 2;
	uint32_t *series = realloc(m->row_series, cap * sizeof *series);
	if (series)
		m->row_series = series;
	uint32_t *file = series ? realloc(m->touch_file, cap * sizeof *file) : NULL;
	if (file)
		m->touch_file = file;
	size_t *trow = file ? realloc(m->touch_row, cap * sizeof *trow) : NULL;
	if (trow)
		m->touch_row = trow;
	uint8_t *dropped = trow ? realloc(m->dropped, cap) : NULL;
	if (!dropped)
		return MC_ERR_NOMEM;
	m->dropped = dropped;
	memset(m->touch_file + m->rows_cap, 0, (cap - m->rows_cap) * sizeof *file);
	memset(m->dropped + m->rows_cap, 0, cap - m->rows_cap);
	m->rows_cap = cap;
	return MC_OK;
}

/* Index the rows a partition already holds. */
static mc_code index_existing(mc_ingest_state *st, month_state *m)
{
	const mc_table *t = m->table;
	const int32_t *date = MC_COL_I32(&t->cols[MC_LAKE_DATE]);
	for (size_t i = 0; i < t->nrows; i++) {
		const char *part[5];
		size_t len[5];
		for (int c = 0; c < 5; c++)
			part[c] = mc_column_str(&t->cols[MC_LAKE_KIND + c], i, &len[c]);
		uint32_t id;
		if (mc_ingest_series_id(st, part, len, &id) || reserve_rows(m, i) ||
		    mc_u64map_put(m->keys, row_id(date[i], id), (int64_t)i))
			return MC_ERR_NOMEM;
		m->row_series[i] = id;
		int y, mo, d;
		mc_date_to_ymd(date[i], &y, &mo, &d);
		m->days_before |= 1u << d;
	}
	return MC_OK;
}

static mc_code month_load(mc_ingest_state *st, int year, int month, month_state **out,
			  mc_error *err)
{
	if (st->nmonths && st->months[st->last_month].year == year &&
	    st->months[st->last_month].month == month) {
		*out = &st->months[st->last_month];
		return MC_OK;
	}
	char key[16];
	snprintf(key, sizeof key, "%04d-%02d", year % 10000, month % 100);
	int64_t idx;
	if (mc_strmap_get(st->month_index, key, strlen(key), &idx)) {
		st->last_month = (size_t)idx;
		*out = &st->months[idx];
		return MC_OK;
	}
	month_state *ms = realloc(st->months, (st->nmonths + 1) * sizeof *ms);
	if (!ms)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	st->months = ms;
	month_state *m = &ms[st->nmonths];
	memset(m, 0, sizeof *m);
	m->year = year;
	m->month = month;
	mc_code rc = mc_lake_read_month(st->lake, year, month, &m->table, err);
	if (rc)
		return rc;
	if (!m->table && !(m->table = mc_lake_table_new()))
		rc = MC_ERR_NOMEM;
	if (!rc && !(m->keys = mc_u64map_new(m->table->nrows + 4096)))
		rc = MC_ERR_NOMEM;
	if (!rc)
		rc = index_existing(st, m);
	if (!rc && mc_strmap_put(st->month_index, key, strlen(key), (int64_t)st->nmonths))
		rc = MC_ERR_NOMEM;
	if (rc) {
		month_free(m);
		return mc_fail(err, rc, "out of memory");
	}
	*out = m;
	st->last_month = st->nmonths++;
	return MC_OK;
}

/* --- merging one normalised row ------------------------------------------ */

static mc_code push_lake_row(month_state *m, const mc_candidate *c, const mc_series_entry *e,
			     const char *source, int64_t ingested_at)
{
	mc_table *t = m->table;
	mc_column *col = t->cols;
	mc_code rc = mc_column_push_i32(&col[MC_LAKE_DATE], c->date);
	for (int i = 0; i < 5 && !rc; i++)
		rc = mc_column_push_str(&col[MC_LAKE_KIND + i], e->part[i], e->len[i]);
	if (!rc)
		rc = c->missing ? mc_column_push_null(&col[MC_LAKE_PRICE])
				: mc_column_push_f64(&col[MC_LAKE_PRICE], c->price);
	if (!rc)
		rc = mc_column_push_str(&col[MC_LAKE_SOURCE], source, strlen(source));
	if (!rc)
		rc = mc_column_push_i64(&col[MC_LAKE_INGESTED_AT], ingested_at);
	if (!rc)
		t->nrows++;
	return rc;
}

static bool same_price(const mc_table *t, size_t row, const mc_candidate *c)
{
	const mc_column *p = &t->cols[MC_LAKE_PRICE];
	bool old_missing = mc_column_is_null(p, row);
	if (old_missing || c->missing)
		return old_missing == c->missing;
	return MC_COL_F64(p)[row] == c->price;
}

static mc_code record_revision(mc_ingest_state *st, month_state *m, size_t row,
			       const mc_candidate *c, const char *source)
{
	mc_revision *r = realloc(st->revisions, (st->nrevisions + 1) * sizeof *r);
	if (!r)
		return MC_ERR_NOMEM;
	st->revisions = r;
	r += st->nrevisions++;
	r->candidate = *c;
	r->source = source;
	const mc_column *p = &m->table->cols[MC_LAKE_PRICE];
	r->old_missing = mc_column_is_null(p, row);
	r->old_price = r->old_missing ? 0 : MC_COL_F64(p)[row];
	r->applied = st->opts->revisions == MC_REVISIONS_APPLY;
	return MC_OK;
}

/* Remember that `file` gave lake row `row` from its row `input_row`. */
static void touch(month_state *m, size_t row, size_t file, size_t input_row)
{
	m->touch_file[row] = (uint32_t)file + 1;
	m->touch_row[row] = input_row;
}

static mc_code add_row(mc_ingest_state *st, month_state *m, const mc_candidate *c, size_t file,
		       size_t input_row)
{
	size_t row = m->table->nrows;
	if (reserve_rows(m, row) ||
	    mc_u64map_put(m->keys, row_id(c->date, c->series_id), (int64_t)row) ||
	    push_lake_row(m, c, &st->series[c->series_id], st->files[file].name, st->now_us))
		return MC_ERR_NOMEM;
	m->row_series[row] = c->series_id;
	touch(m, row, file, input_row);
	m->dirty = true;
	return MC_OK;
}

static void count_added(mc_ingest_state *st, month_state *m, const mc_candidate *c)
{
	int y, mo, d;
	mc_date_to_ymd(c->date, &y, &mo, &d);
	uint32_t bit = 1u << d;
	st->sum->rows_added++;
	st->sum->rows_missing += c->missing;
	if (!(m->days_before & bit) && !(m->days_added & bit)) {
		m->days_added |= bit;
		st->sum->dates_added++;
	}
}

mc_code mc_ingest_merge(mc_ingest_state *st, const mc_candidate *c, size_t file, size_t input_row,
			size_t *dup_of, mc_error *err)
{
	*dup_of = SIZE_MAX;
	int y, mo, d;
	mc_date_to_ymd(c->date, &y, &mo, &d);
	month_state *m = NULL;
	mc_code rc = month_load(st, y, mo, &m, err);
	if (rc)
		return rc;
	int64_t row;
	if (!mc_u64map_get(m->keys, row_id(c->date, c->series_id), &row)) {
		if (add_row(st, m, c, file, input_row))
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		count_added(st, m, c);
		return MC_OK;
	}
	if (m->touch_file[row] == file + 1) {
		*dup_of = m->touch_row[row];
		return MC_OK;
	}
	touch(m, (size_t)row, file, input_row);
	if (same_price(m->table, (size_t)row, c)) {
		st->sum->rows_unchanged++;
		return MC_OK;
	}
	st->sum->rows_changed++;
	if (record_revision(st, m, (size_t)row, c, st->files[file].name))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (st->opts->revisions != MC_REVISIONS_APPLY)
		return MC_OK;
	m->dropped[row] = 1;
	if (add_row(st, m, c, file, input_row))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	return MC_OK;
}

void mc_ingest_month_info(const mc_ingest_state *st, size_t i, int *year, int *month,
			  const mc_table **t, bool *dirty, const char **sha256)
{
	const month_state *m = &st->months[i];
	*year = m->year;
	*month = m->month;
	*t = m->table;
	*dirty = m->dirty;
	*sha256 = m->sha256;
}

/* --- writing ------------------------------------------------------------ */

/* Drop the rows an applied revision replaced; turn series ids into ranks. */
static mc_code prepare_month(mc_ingest_state *st, month_state *m, mc_error *err)
{
	mc_table *t = m->table;
	size_t *keep = malloc((t->nrows ? t->nrows : 1) * sizeof *keep), n = 0;
	if (!keep)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < t->nrows; i++)
		if (!m->dropped[i]) {
			m->row_series[n] = st->series[m->row_series[i]].rank;
			keep[n++] = i;
		}
	if (n < t->nrows) {
		mc_table *kept = mc_table_take(t, keep, n);
		if (!kept) {
			free(keep);
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		}
		mc_table_free(m->table);
		m->table = kept;
	}
	free(keep);
	return MC_OK;
}

static void progress(const mc_ingest_state *st, const char *stage, double done, double total)
{
	if (st->opts->progress)
		st->opts->progress(st->opts->progress_ud, stage, done, total);
}

static mc_code write_months(mc_ingest_state *st, mc_error *err)
{
	mc_lake_month *batch = calloc(st->nmonths ? st->nmonths : 1, sizeof *batch);
	if (!batch || mc_ingest_rank_series(st)) {
		free(batch);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	size_t n = 0;
	mc_code rc = MC_OK;
	for (size_t i = 0; i < st->nmonths && !rc; i++) {
		month_state *m = &st->months[i];
		if (!m->dirty)
			continue;
		rc = prepare_month(st, m, err);
		batch[n++] = (mc_lake_month){m->year, m->month, m->table, m->row_series, "", 0};
	}
	if (!rc && n) {
		progress(st, "write", 0, (double)n);
		rc = mc_lake_write_months(st->lake, batch, n, err);
		progress(st, "write", (double)n, (double)n);
	}
	for (size_t i = 0, j = 0; !rc && i < st->nmonths; i++)
		if (st->months[i].dirty)
			memcpy(st->months[i].sha256, batch[j++].sha256, 65);
	if (!rc)
		st->sum->partitions_written = n;
	free(batch);
	return rc;
}

/* --- the whole ingest ---------------------------------------------------- */

static void state_release(mc_ingest_state *st)
{
	for (size_t i = 0; i < st->nmonths; i++)
		month_free(&st->months[i]);
	free(st->months);
	mc_strmap_free(st->month_index);
	mc_ingest_series_release(st);
	free(st->revisions);
	mc_quarantine_release(st);
	for (size_t i = 0; i < st->nfiles; i++) {
		free(st->files[i].path);
		free(st->files[i].name);
	}
	free(st->files);
}

static int64_t now_micros(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static mc_code read_all(mc_ingest_state *st, char **inputs, size_t n, mc_error *err)
{
	st->files = calloc(n, sizeof *st->files);
	if (!st->files)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		mc_ingest_file *f = &st->files[st->nfiles++];
		f->path = strdup(inputs[i]);
		f->name = strdup(mc_basename(inputs[i]));
		if (!f->path || !f->name)
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		mc_code rc = mc_ingest_read_file(st, f, err);
		if (rc)
			return rc;
		progress(st, "read", (double)(i + 1), (double)n);
	}
	return MC_OK;
}

mc_code mc_ingest(mc_store *s, mc_lake *l, const char *const *paths, size_t npaths,
		  const mc_ingest_opts *o, mc_ingest_summary *sum, mc_error *err)
{
	memset(sum, 0, sizeof *sum);
	char **inputs;
	size_t ninputs;
	mc_code rc = expand_inputs(paths, npaths, &inputs, &ninputs, err);
	if (rc) {
		for (size_t i = 0; i < ninputs; i++)
			free(inputs[i]);
		free(inputs);
		return rc;
	}
	sum->inputs = ninputs;
	mc_ingest_state st = {.lake = l, .opts = o, .sum = sum, .now_us = now_micros()};
	st.month_index = mc_strmap_new(64);
	st.series_index = mc_strmap_new(512);
	int lock = -1;
	/* With a remote lake, even a dry run merges against the remote's months. */
	bool remote = mc_lake_remote_uri(l) != NULL;
	if (!st.month_index || !st.series_index)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc && (!o->dry_run || remote))
		rc = mc_lake_lock(l, &lock, err);
	if (!rc && !o->dry_run)
		mc_lake_remove_stale_temps(l);
	if (!rc && !o->dry_run)
		rc = mc_manifest_begin(s, &st, err);
	/* Pull first, so months another workspace changed are merged into, not overwritten. */
	if (!rc && remote)
		rc = mc_lake_pull_held(l, err);
	if (!rc)
		rc = read_all(&st, inputs, ninputs, err);
	if (!rc && !o->dry_run)
		rc = write_months(&st, err);
	/* The partitions reach the remote before the run is recorded as completed. */
	if (!rc && !o->dry_run && remote && (rc = mc_lake_push_held(l, err)) != MC_OK &&
	    st.sum->partitions_written)
		mc_error_prefix(err, "the new partitions are in the local lake only: ");
	if (!rc && !o->dry_run)
		rc = mc_manifest_commit(s, &st, err);
	else if (rc && st.run_id)
		mc_manifest_fail(s, &st, err->msg);
	sum->run_id = st.run_id;
	mc_lake_unlock(lock);
	state_release(&st);
	for (size_t i = 0; i < ninputs; i++)
		free(inputs[i]);
	free(inputs);
	return rc;
}
