/*
 * Drift on mc_table columns: numeric columns become arrays of doubles (null
 * cells as NaN, then dropped), STRING and BOOL columns are counted as
 * categories; dataset drift over a list of columns; and the binned
 * distributions the monitoring report draws.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drift/drift_int.h"

static bool is_numeric(mc_type t)
{
	return t == MC_T_INT32 || t == MC_T_INT64 || t == MC_T_FLOAT || t == MC_T_DOUBLE;
}

static bool is_categorical(mc_type t)
{
	return t == MC_T_STRING || t == MC_T_BOOL;
}

/* The column in both tables, of kinds that can be compared. */
static mc_code find_pair(const mc_table *ref, const mc_table *cur, const char *name,
			 const mc_column **a, const mc_column **b, mc_error *err)
{
	int ia = mc_table_find(ref, name), ib = mc_table_find(cur, name);
	if (ia < 0 || ib < 0)
		return mc_fail(err, MC_ERR_NOT_FOUND, "column '%s': not in the %s table", name,
			       ia < 0 ? "reference" : "current");
	*a = &ref->cols[ia];
	*b = &cur->cols[ib];
	mc_type ta = (*a)->type, tb = (*b)->type;
	if (!(is_numeric(ta) || is_categorical(ta)))
		return mc_fail(err, MC_ERR_UNSUPPORTED, "column '%s': no drift test for type %s",
			       name, mc_type_name(ta));
	if (is_numeric(ta) != is_numeric(tb) || (is_categorical(ta) && ta != tb))
		return mc_fail(err, MC_ERR_INVALID,
			       "column '%s': %s in the reference table but %s in the current one",
			       name, mc_type_name(ta), mc_type_name(tb));
	return MC_OK;
}

/* Row i of a numeric column as a double; NaN when null. */
static double cell(const mc_column *c, size_t i)
{
	if (mc_column_is_null(c, i))
		return NAN;
	switch (c->type) {
	case MC_T_INT32: return (double)MC_COL_I32(c)[i];
	case MC_T_INT64: return (double)MC_COL_I64(c)[i];
	case MC_T_FLOAT: return (double)MC_COL_F32(c)[i];
	default: return MC_COL_F64(c)[i];
	}
}

/* The column's values as doubles in *x: its own array when it is DOUBLE
 * with no nulls (*owned NULL), else a converted copy (*owned = *x). */
static mc_code as_doubles(const mc_column *c, const double **x, double **owned)
{
	*owned = NULL;
	if (c->type == MC_T_DOUBLE && !c->valid) {
		*x = MC_COL_F64(c);
		return MC_OK;
	}
	double *y = malloc((c->len ? c->len : 1) * sizeof *y);
	if (!y)
		return MC_ERR_NOMEM;
	for (size_t i = 0; i < c->len; i++)
		y[i] = cell(c, i);
	*x = *owned = y;
	return MC_OK;
}

/* Counts the non-null cells of a STRING or BOOL column as one sample. */
static mc_code count_column(mc_catcount *cc, int side, const mc_column *c)
{
	static const char *const bools[2] = {"false", "true"};
	for (size_t i = 0; i < c->len; i++) {
		if (mc_column_is_null(c, i))
			continue;
		const char *s;
		size_t n;
		if (c->type == MC_T_BOOL) {
			s = bools[MC_COL_BOOL(c)[i] != 0];
			n = strlen(s);
		} else {
			s = mc_column_str(c, i, &n);
		}
		if (mc_catcount_add(cc, side, s, n) != MC_OK)
			return MC_ERR_NOMEM;
	}
	return MC_OK;
}

static mc_code column_numeric(const mc_column *a, const mc_column *b, const char *test,
			      double threshold, mc_drift_result *out, mc_error *err)
{
	double *oa = NULL, *ob = NULL;
	const double *xa, *xb;
	mc_code rc = as_doubles(a, &xa, &oa) == MC_OK && as_doubles(b, &xb, &ob) == MC_OK
			     ? mc_drift_numeric(xa, a->len, xb, b->len, test, threshold, out, err)
			     : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	free(oa);
	free(ob);
	return rc;
}

static mc_code column_categorical(const mc_column *a, const mc_column *b, const char *test,
				  double threshold, mc_drift_result *out, mc_error *err)
{
	mc_catcount cc;
	mc_catcount_init(&cc);
	mc_code rc = count_column(&cc, 0, a);
	if (rc == MC_OK)
		rc = count_column(&cc, 1, b);
	if (rc == MC_OK)
		rc = mc_drift_catcount_test(&cc, a->len, b->len, test, threshold, out, err);
	else
		mc_fail(err, rc, "out of memory counting categories");
	mc_catcount_release(&cc);
	return rc;
}

mc_code mc_drift_column(const mc_table *ref, const mc_table *cur, const char *column,
			const char *test, double threshold, mc_drift_result *out, mc_error *err)
{
	const mc_column *a, *b;
	mc_code rc = find_pair(ref, cur, column, &a, &b, err);
	if (rc != MC_OK)
		return rc;
	rc = is_numeric(a->type) ? column_numeric(a, b, test, threshold, out, err)
				 : column_categorical(a, b, test, threshold, out, err);
	if (rc != MC_OK)
		mc_error_prefix(err, "column '%s': ", column);
	return rc;
}

/* ---- dataset ---- */

static const char *test_for(const mc_table *ref, const char *column, const mc_drift_options *o)
{
	int i = mc_table_find(ref, column);
	return i >= 0 && is_categorical(ref->cols[i].type) ? o->cat_test : o->num_test;
}

mc_code mc_drift_dataset_compute(const mc_table *ref, const mc_table *cur,
				 const char *const *columns, size_t ncols,
				 const mc_drift_options *opt, mc_drift_dataset *out, mc_error *err)
{
	static const mc_drift_options defaults = MC_DRIFT_OPTIONS_INIT;
	const mc_drift_options *o = opt ? opt : &defaults;
	memset(out, 0, sizeof *out);
	out->drift_share = isnan(o->drift_share) ? MC_DRIFT_SHARE : o->drift_share;
	out->share = NAN;
	out->cols = calloc(ncols ? ncols : 1, sizeof *out->cols);
	if (!out->cols)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory for %zu columns", ncols);
	for (size_t i = 0; i < ncols; i++) {
		mc_drift_column_result *c = &out->cols[out->ncols++];
		c->column = columns[i];
		mc_code rc = mc_drift_column(ref, cur, columns[i], test_for(ref, columns[i], o),
					     o->threshold, &c->result, err);
		if (rc == MC_ERR_EMPTY && o->skip_empty) {
			c->skipped = true;
			mc_error_clear(err);
			continue;
		}
		if (rc != MC_OK)
			return rc;
		out->n_tested++;
		out->n_drifted += c->result.drift;
	}
	if (out->n_tested) {
		out->share = (double)out->n_drifted / (double)out->n_tested;
		out->drift = out->share >= out->drift_share;
	}
	return MC_OK;
}

void mc_drift_dataset_release(mc_drift_dataset *d)
{
	free(d->cols);
	memset(d, 0, sizeof *d);
}

/* ---- histograms ---- */

void mc_drift_histogram_release(mc_drift_histogram *h)
{
	if (h->labels)
		for (size_t i = 0; i < h->nbins; i++)
			free(h->labels[i]);
	free(h->labels);
	free(h->edges);
	free(h->values);
	free(h->ref);
	free(h->cur);
	memset(h, 0, sizeof *h);
}

mc_code mc_drift_histogram_numeric(const double *ref, size_t n, const double *cur, size_t m,
				   mc_drift_histogram *out, mc_error *err)
{
	memset(out, 0, sizeof *out);
	double *a, *b;
	size_t na, nb;
	mc_code rc = mc_drift_clean_sorted(ref, n, cur, m, &a, &na, &b, &nb, err);
	if (rc != MC_OK)
		return rc;
	rc = mc_numeric_bins(a, na, b, nb, out);
	free(a);
	free(b);
	if (rc != MC_OK) {
		mc_drift_histogram_release(out);
		return mc_fail(err, rc, "out of memory binning %zu values", n + m);
	}
	return MC_OK;
}

/* Labels and counts of counted categories, in key order. */
static mc_code histogram_from(mc_catcount *cc, size_t n, size_t m, mc_drift_histogram *out,
			      mc_error *err)
{
	memset(out, 0, sizeof *out);
	out->kind = MC_DRIFT_CATEGORICAL;
	if (cc->n_ref == 0 || cc->n_cur == 0)
		return mc_fail(err, MC_ERR_EMPTY,
			       "the %s sample has no values (%zu of %zu missing)",
			       cc->n_ref == 0 ? "reference" : "current", cc->n_ref == 0 ? n : m,
			       cc->n_ref == 0 ? n : m);
	if (mc_catcount_finish(cc, &out->ref, &out->cur) != MC_OK)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory counting categories");
	out->labels = calloc(cc->k ? cc->k : 1, sizeof *out->labels);
	if (!out->labels) {
		mc_drift_histogram_release(out);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory for %zu labels", cc->k);
	}
	out->nbins = cc->k;
	out->n_ref = cc->n_ref;
	out->n_cur = cc->n_cur;
	for (size_t i = 0; i < cc->k; i++) {
		out->labels[i] = strndup(cc->cat[i].key, cc->cat[i].len);
		if (!out->labels[i]) {
			mc_drift_histogram_release(out);
			return mc_fail(err, MC_ERR_NOMEM, "out of memory for %zu labels", cc->k);
		}
	}
	return MC_OK;
}

mc_code mc_drift_histogram_categorical(const char *const *ref, size_t n, const char *const *cur,
				       size_t m, mc_drift_histogram *out, mc_error *err)
{
	mc_catcount cc;
	mc_catcount_init(&cc);
	mc_code rc = MC_OK;
	for (int side = 0; side < 2 && rc == MC_OK; side++) {
		const char *const *x = side ? cur : ref;
		for (size_t i = 0, len = side ? m : n; i < len && rc == MC_OK; i++)
			if (x[i])
				rc = mc_catcount_add(&cc, side, x[i], strlen(x[i]));
	}
	rc = rc == MC_OK ? histogram_from(&cc, n, m, out, err)
			 : mc_fail(err, rc, "out of memory counting categories");
	mc_catcount_release(&cc);
	return rc;
}

static mc_code histogram_numeric_column(const mc_column *a, const mc_column *b,
					mc_drift_histogram *out, mc_error *err)
{
	double *oa = NULL, *ob = NULL;
	const double *xa, *xb;
	mc_code rc = as_doubles(a, &xa, &oa) == MC_OK && as_doubles(b, &xb, &ob) == MC_OK
			     ? mc_drift_histogram_numeric(xa, a->len, xb, b->len, out, err)
			     : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	free(oa);
	free(ob);
	return rc;
}

mc_code mc_drift_histogram_column(const mc_table *ref, const mc_table *cur, const char *column,
				  mc_drift_histogram *out, mc_error *err)
{
	memset(out, 0, sizeof *out);
	const mc_column *a, *b;
	mc_code rc = find_pair(ref, cur, column, &a, &b, err);
	if (rc != MC_OK)
		return rc;
	if (is_numeric(a->type)) {
		rc = histogram_numeric_column(a, b, out, err);
	} else {
		mc_catcount cc;
		mc_catcount_init(&cc);
		rc = count_column(&cc, 0, a);
		if (rc == MC_OK)
			rc = count_column(&cc, 1, b);
		rc = rc == MC_OK ? histogram_from(&cc, a->len, b->len, out, err)
				 : mc_fail(err, rc, "out of memory counting categories");
		mc_catcount_release(&cc);
	}
	if (rc != MC_OK)
		mc_error_prefix(err, "column '%s': ", column);
	return rc;
}
