/*
 * The two windows of a run: current = (as_of - current_days, as_of],
 * reference = the reference_days before it, or dates given explicitly;
 * and the lake's city rows dated inside each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/lake.h"
#include "monitor/monitor_int.h"

void mon_rows_release(mon_rows *w)
{
	free(w->ref);
	free(w->cur);
	memset(w, 0, sizeof *w);
}

/* The first and last publication of the lake (any kind), up to `until`. */
static void lake_span(const mc_table *lake, int32_t until, int32_t *first, int32_t *last)
{
	const int32_t *d = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
	*first = INT32_MAX;
	*last = INT32_MIN;
	for (size_t i = 0; i < lake->nrows; i++) {
		if (d[i] > until)
			continue;
		if (d[i] < *first)
			*first = d[i];
		if (d[i] > *last)
			*last = d[i];
	}
}

static int32_t pick(int32_t given, int32_t derived)
{
	return given != INT32_MIN ? given : derived;
}

static mc_code check_window(const char *what, const mc_monitor_window *w, mc_error *err)
{
	if (w->from <= w->to)
		return MC_OK;
	char a[11], b[11];
	mc_date_format_iso(w->from, a);
	mc_date_format_iso(w->to, b);
	return mc_fail(err, MC_ERR_INVALID, "the %s window is inverted: it starts on %s, after %s",
		       what, a, b);
}

static mc_code resolve(const mc_table *lake, const mc_monitor_opts *o, mc_monitor_result *r,
		       mc_error *err)
{
	int32_t first, last;
	lake_span(lake, INT32_MAX, &first, &last);
	if (last == INT32_MIN)
		return mc_fail(err, MC_ERR_EMPTY, "the lake is empty: nothing to monitor");
	r->as_of = pick(o->as_of, pick(o->cur_to, last));
	r->today = pick(o->today, mc_date_today());
	r->cur.to = pick(o->cur_to, r->as_of);
	r->cur.from = pick(o->cur_from, r->cur.to - o->current_days + 1);
	r->ref.to = pick(o->ref_to, r->cur.from - 1);
	r->ref.from = pick(o->ref_from, r->ref.to - o->reference_days + 1);
	lake_span(lake, r->as_of, &r->first_date, &r->last_date);
	mc_code rc = check_window("reference", &r->ref, err);
	if (!rc)
		rc = check_window("current", &r->cur, err);
	if (!rc && (r->cur.to > r->as_of || r->ref.to > r->as_of)) {
		char a[11];
		mc_date_format_iso(r->as_of, a);
		rc = mc_fail(err, MC_ERR_INVALID, "the %s window ends after --as-of %s",
			     r->cur.to > r->as_of ? "current" : "reference", a);
	}
	return rc;
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Rows of kind city inside w; w->rows and w->dates set. */
static mc_code collect(const mc_table *lake, mc_monitor_window *w, size_t **out, size_t *n,
		       mc_error *err)
{
	const int32_t *d = MC_COL_I32(&lake->cols[MC_LAKE_DATE]);
	size_t *idx = malloc((lake->nrows ? lake->nrows : 1) * sizeof *idx);
	int32_t *dates = malloc((lake->nrows ? lake->nrows : 1) * sizeof *dates);
	if (!idx || !dates) {
		free(idx);
		free(dates);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	size_t k = 0;
	for (size_t i = 0; i < lake->nrows; i++)
		if (d[i] >= w->from && d[i] <= w->to &&
		    mon_cell_is(&lake->cols[MC_LAKE_KIND], i, "city")) {
			dates[k] = d[i];
			idx[k++] = i;
		}
	qsort(dates, k, sizeof *dates, cmp_i32);
	w->rows = k;
	w->dates = 0;
	for (size_t i = 0; i < k; i++)
		w->dates += i == 0 || dates[i] != dates[i - 1];
	free(dates);
	*out = idx;
	*n = k;
	return MC_OK;
}

static mc_code empty_window(const char *what, const mc_monitor_window *w,
			    const mc_monitor_result *r, mc_error *err)
{
	char a[11], b[11], f[11], l[11];
	mc_date_format_iso(w->from, a);
	mc_date_format_iso(w->to, b);
	mc_date_format_iso(r->first_date, f);
	mc_date_format_iso(r->last_date, l);
	return mc_fail(err, MC_ERR_EMPTY,
		       "the %s window %s .. %s has no city rows in the lake (it holds %s .. %s "
		       "up to the as-of date)",
		       what, a, b, r->first_date == INT32_MAX ? "nothing" : f,
		       r->first_date == INT32_MAX ? "" : l);
}

mc_code mon_windows(const mc_table *lake, const mc_monitor_opts *o, mc_monitor_result *r,
		    mon_rows *rows, mc_error *err)
{
	memset(rows, 0, sizeof *rows);
	mc_code rc = resolve(lake, o, r, err);
	if (!rc)
		rc = collect(lake, &r->ref, &rows->ref, &rows->nref, err);
	if (!rc)
		rc = collect(lake, &r->cur, &rows->cur, &rows->ncur, err);
	if (!rc && !rows->nref)
		rc = empty_window("reference", &r->ref, r, err);
	if (!rc && !rows->ncur)
		rc = empty_window("current", &r->cur, r, err);
	if (!rc) {
		r->days_since = r->today - r->last_date;
		return MC_OK;
	}
	mon_rows_release(rows);
	return rc;
}
