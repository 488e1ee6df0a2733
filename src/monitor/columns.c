/*
 * Data drift: a table per window with the columns asked for (the lake's
 * price and names, and the model's features computed for each lake row as
 * training computes them), tested column by column with the drift module,
 * plus the binned distributions the report draws.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/features.h"
#include "milkcast/lake.h"
#include "milkcast/strmap.h"
#include "monitor/monitor_int.h"

static const char *const data_columns[] = {"price", "state", "city", "milk_type", "channel"};
#define NDATA (sizeof data_columns / sizeof *data_columns)

/* Features left out of the default list: calendar values and category codes. */
static const char *const not_default[] = {"h",	    "days_ahead", "target_weekday", "target_month",
					  "kind",   "state",	  "city",	    "milk_type",
					  "channel"};

static bool is_default_feature(const char *name)
{
	for (size_t i = 0; i < sizeof not_default / sizeof *not_default; i++)
		if (!strcmp(name, not_default[i]))
			return false;
	return true;
}

/* "f_NAME" → the feature's column, or -1. */
static int feature_of(const char *column)
{
	return strncmp(column, "f_", 2) ? -1 : mc_features_index(column + 2);
}

static int data_of(const char *column)
{
	for (size_t i = 0; i < NDATA; i++)
		if (!strcmp(column, data_columns[i]))
			return (int)i;
	return -1;
}

bool mc_monitor_column_known(const char *name)
{
	return data_of(name) >= 0 || feature_of(name) >= 0;
}

/* The default list, built once: data columns, then "f_NAME" of each default feature. */
static char default_names[64][40];
static const char *default_list[64];
static size_t default_n;

const char *const *mc_monitor_default_columns(size_t *n)
{
	if (!default_n) {
		size_t k = 0;
		for (size_t i = 0; i < NDATA; i++)
			default_list[k++] = data_columns[i];
		const mc_feature_def *d = mc_features_defs();
		for (size_t i = 0; i < mc_features_count() && k < 64; i++) {
			if (!is_default_feature(d[i].name))
				continue;
			snprintf(default_names[k], sizeof default_names[k], "f_%s", d[i].name);
			default_list[k] = default_names[k];
			k++;
		}
		default_n = k;
	}
	*n = default_n;
	return default_list;
}

/* ---- feature rows ---- */

typedef struct feats {
	mc_panel *panel;
	mc_vocabs vocabs;
	mc_strmap *series; /* series key → panel series (city series only) */
	float *row;
} feats;

static void feats_release(feats *f)
{
	mc_panel_free(f->panel);
	mc_vocabs_free(&f->vocabs);
	mc_strmap_free(f->series);
	free(f->row);
	memset(f, 0, sizeof *f);
}

static mc_code feats_init(const mc_table *lake, int32_t until, feats *f, mc_error *err)
{
	memset(f, 0, sizeof *f);
	mc_code rc = mc_panel_from_table(lake, until, &f->panel, err);
	if (!rc)
		rc = mc_vocabs_from_panel(f->panel, &f->vocabs, err);
	if (rc)
		return rc;
	f->series = mc_strmap_new(f->panel->nseries * 2);
	f->row = malloc(mc_features_count() * sizeof *f->row);
	if (!f->series || !f->row)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t s = 0; s < f->panel->nseries && !rc; s++) {
		const mc_panel_series *ps = &f->panel->series[s];
		if (strcmp(ps->kind, "city"))
			continue;
		char key[MON_KEY_MAX];
		size_t n = mon_names_key(ps->state, ps->city, ps->milk_type, ps->channel, key);
		rc = mc_strmap_put(f->series, key, n, (int64_t)s);
	}
	return rc ? mc_fail(err, rc, "out of memory") : MC_OK;
}

/*
 * The features of lake row i: its series at its own date as the origin,
 * aimed at the next publication (h = 1), as training builds them.  False
 * when the series cannot be forecast there (too little history).
 */
static bool feature_row(const mc_table *lake, size_t i, feats *f)
{
	char key[MON_KEY_MAX];
	int64_t s;
	if (!mc_strmap_get(f->series, key, mon_row_key(lake, i, key), &s))
		return false;
	int32_t day = MC_COL_I32(&lake->cols[MC_LAKE_DATE])[i];
	long k = mc_panel_date_index(f->panel, day);
	if (k < 0 || f->panel->dates[k] != day ||
	    !mc_features_usable(f->panel, (size_t)s, (size_t)k))
		return false;
	int32_t target;
	if ((size_t)k + 1 < f->panel->ndates)
		target = f->panel->dates[k + 1];
	else
		mc_features_next_publications(day, 1, &target);
	mc_features_row(f->panel, &f->vocabs, (size_t)s, (size_t)k, 1, target, f->row);
	return true;
}

/* ---- window tables ---- */

static mc_code add_columns(mc_table *t, const char *const *cols, size_t ncols, mc_error *err)
{
	for (size_t c = 0; c < ncols; c++) {
		int d = data_of(cols[c]);
		mc_type type = d > 0 ? MC_T_STRING : MC_T_DOUBLE;
		if (mc_table_add_column(t, cols[c], type, true) < 0)
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	return MC_OK;
}

static mc_code push_data(mc_column *dst, const mc_table *lake, size_t i, int d)
{
	static const int lake_col[NDATA] = {MC_LAKE_PRICE, MC_LAKE_STATE, MC_LAKE_CITY,
					    MC_LAKE_MILK_TYPE, MC_LAKE_CHANNEL};
	const mc_column *src = &lake->cols[lake_col[d]];
	if (mc_column_is_null(src, i))
		return mc_column_push_null(dst);
	if (d == 0)
		return mc_column_push_f64(dst, MC_COL_F64(src)[i]);
	size_t n;
	const char *s = mc_column_str(src, i, &n);
	return mc_column_push_str(dst, s, n);
}

static mc_code push_row(mc_table *t, const mc_table *lake, size_t i, const char *const *cols,
			feats *f, bool have_features)
{
	bool usable = have_features && feature_row(lake, i, f);
	mc_code rc = MC_OK;
	for (size_t c = 0; c < t->ncols && !rc; c++) {
		int d = data_of(cols[c]);
		if (d >= 0) {
			rc = push_data(&t->cols[c], lake, i, d);
			continue;
		}
		float v = usable ? f->row[feature_of(cols[c])] : NAN;
		rc = isnan(v) ? mc_column_push_null(&t->cols[c])
			      : mc_column_push_f64(&t->cols[c], (double)v);
	}
	return rc;
}

static mc_code window_table(const mc_table *lake, const size_t *idx, size_t n,
			    const char *const *cols, size_t ncols, feats *f, bool have_features,
			    mc_table **out, mc_error *err)
{
	mc_table *t = mc_table_new();
	mc_code rc =
		t ? add_columns(t, cols, ncols, err) : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t r = 0; r < n && !rc; r++)
		if ((rc = push_row(t, lake, idx[r], cols, f, have_features)) != MC_OK)
			rc = mc_fail(err, rc, "out of memory");
	if (!rc)
		rc = mc_table_seal(t, err);
	if (rc) {
		mc_table_free(t);
		return rc;
	}
	*out = t;
	return MC_OK;
}

/* ---- results ---- */

static mc_code check_columns(const char *const *cols, size_t ncols, bool *features, mc_error *err)
{
	*features = false;
	for (size_t c = 0; c < ncols; c++) {
		if (!mc_monitor_column_known(cols[c]))
			return mc_fail(
				err, MC_ERR_INVALID,
				"unknown column '%s': price, state, city, milk_type, channel "
				"or a model feature as f_NAME (e.g. f_last)",
				cols[c]);
		for (size_t k = 0; k < c; k++)
			if (!strcmp(cols[k], cols[c]))
				return mc_fail(err, MC_ERR_INVALID, "column '%s' is listed twice",
					       cols[c]);
		*features |= feature_of(cols[c]) >= 0;
	}
	if (!ncols)
		return mc_fail(err, MC_ERR_INVALID, "no column to test");
	return MC_OK;
}

static mc_code keep_results(const mc_table *ref, const mc_table *cur, const mc_drift_dataset *ds,
			    mc_monitor_result *r, mc_error *err)
{
	r->cols = calloc(ds->ncols, sizeof *r->cols);
	if (!r->cols)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	r->ncols = ds->ncols;
	mc_code rc = MC_OK;
	for (size_t c = 0; c < ds->ncols && !rc; c++) {
		mc_monitor_column *mc = &r->cols[c];
		mc->name = strdup(ds->cols[c].column);
		if (!mc->name)
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		mc->feature = feature_of(mc->name) >= 0;
		mc->skipped = ds->cols[c].skipped;
		mc->r = ds->cols[c].result;
		if (!mc->skipped)
			rc = mc_drift_histogram_column(ref, cur, mc->name, &mc->hist, err);
	}
	r->n_tested = ds->n_tested;
	r->n_drifted = ds->n_drifted;
	r->share = ds->share;
	r->drift_share = ds->drift_share;
	r->dataset_drift = ds->drift;
	return rc;
}

mc_code mon_drift(const mc_table *lake, const mon_rows *rows, const mc_monitor_opts *o,
		  mc_monitor_result *r, mc_error *err)
{
	size_t ncols = o->ncolumns;
	const char *const *cols = o->columns ? o->columns : mc_monitor_default_columns(&ncols);
	bool want_features;
	mc_code rc = check_columns(cols, ncols, &want_features, err);
	if (rc)
		return rc;
	feats f = {0};
	int32_t until = r->cur.to > r->ref.to ? r->cur.to : r->ref.to;
	if (want_features)
		rc = feats_init(lake, until, &f, err);
	mc_table *ref = NULL, *cur = NULL;
	if (!rc)
		rc = window_table(lake, rows->ref, rows->nref, cols, ncols, &f, want_features, &ref,
				  err);
	if (!rc)
		rc = window_table(lake, rows->cur, rows->ncur, cols, ncols, &f, want_features, &cur,
				  err);
	feats_release(&f);
	mc_drift_dataset ds = {0};
	mc_drift_options opt = o->drift;
	opt.skip_empty = true;
	if (!rc)
		rc = mc_drift_dataset_compute(ref, cur, cols, ncols, &opt, &ds, err);
	if (!rc)
		rc = keep_results(ref, cur, &ds, r, err);
	mc_drift_dataset_release(&ds);
	mc_table_free(ref);
	mc_table_free(cur);
	return rc;
}
