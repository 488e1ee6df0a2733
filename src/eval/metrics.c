/*
 * Forecast accuracy metrics and split-conformal calibration (metrics.h).
 * Every point metric is one formula in mc_metrics_acc_add()/finish(); the
 * array functions run the accumulator over their pairs.
 */
#include "milkcast/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/strmap.h"

/* ---- accumulator ----------------------------------------------------- */

void mc_metrics_acc_init(mc_metrics_acc *a)
{
	memset(a, 0, sizeof *a);
}

void mc_metrics_acc_add(mc_metrics_acc *a, double actual, double pred, double lower, double upper,
			double naive_pred)
{
	if (isnan(actual))
		return;
	if (!isnan(lower) && !isnan(upper)) {
		a->n_interval++;
		a->covered += actual >= lower && actual <= upper;
		a->width += upper - lower;
	}
	if (isnan(pred))
		return;
	double e = pred - actual, ae = fabs(e);
	a->n++;
	a->abs += ae;
	a->sq += e * e;
	a->err += e;
	double denom = fabs(actual) + fabs(pred);
	a->sape += denom > 0 ? 2 * ae / denom : 0; /* both zero: a perfect forecast */
	if (actual != 0) {
		a->n_mape++;
		a->ape += ae / fabs(actual);
	}
	if (!isnan(naive_pred)) {
		double ne = naive_pred - actual;
		a->n_naive++;
		a->naive_abs += fabs(ne);
		a->naive_sq += ne * ne;
		a->model_abs_naive_rows += ae;
	}
}

static double mean_of(double sum, size_t n)
{
	return n ? sum / (double)n : NAN;
}

void mc_metrics_acc_finish(const mc_metrics_acc *a, double mase_scale, mc_metrics *out)
{
	out->n = a->n;
	out->mae = mean_of(a->abs, a->n);
	out->rmse = sqrt(mean_of(a->sq, a->n));
	out->bias = mean_of(a->err, a->n);
	out->n_mape = a->n_mape;
	out->mape = 100 * mean_of(a->ape, a->n_mape);
	out->smape = 100 * mean_of(a->sape, a->n);
	out->mase = mase_scale > 0 && isfinite(mase_scale) ? out->mae / mase_scale : NAN;
	out->n_interval = a->n_interval;
	out->coverage = mean_of(a->covered, a->n_interval);
	out->width = mean_of(a->width, a->n_interval);
	out->n_naive = a->n_naive;
	out->naive_mae = mean_of(a->naive_abs, a->n_naive);
	out->naive_rmse = sqrt(mean_of(a->naive_sq, a->n_naive));
	out->model_mae_naive_rows = mean_of(a->model_abs_naive_rows, a->n_naive);
}

/* ---- array functions ------------------------------------------------- */

static void point_metrics(const double *actual, const double *pred, size_t n, double scale,
			  mc_metrics *out)
{
	mc_metrics_acc a;
	mc_metrics_acc_init(&a);
	for (size_t i = 0; i < n; i++)
		mc_metrics_acc_add(&a, actual[i], pred[i], NAN, NAN, NAN);
	mc_metrics_acc_finish(&a, scale, out);
}

static double report(double value, size_t count, size_t *used)
{
	if (used)
		*used = count;
	return value;
}

double mc_mae(const double *actual, const double *pred, size_t n, size_t *used)
{
	mc_metrics m;
	point_metrics(actual, pred, n, NAN, &m);
	return report(m.mae, m.n, used);
}

double mc_rmse(const double *actual, const double *pred, size_t n, size_t *used)
{
	mc_metrics m;
	point_metrics(actual, pred, n, NAN, &m);
	return report(m.rmse, m.n, used);
}

double mc_mape(const double *actual, const double *pred, size_t n, size_t *used)
{
	mc_metrics m;
	point_metrics(actual, pred, n, NAN, &m);
	return report(m.mape, m.n_mape, used);
}

double mc_smape(const double *actual, const double *pred, size_t n, size_t *used)
{
	mc_metrics m;
	point_metrics(actual, pred, n, NAN, &m);
	return report(m.smape, m.n, used);
}

double mc_mase(const double *actual, const double *pred, size_t n, double scale, size_t *used)
{
	mc_metrics m;
	point_metrics(actual, pred, n, scale, &m);
	return report(m.mase, m.n, used);
}

double mc_naive_scale(const double *const *series, const size_t *len, size_t nseries, size_t *ndiff)
{
	double sum = 0;
	size_t count = 0;
	for (size_t s = 0; s < nseries; s++) {
		double prev = NAN;
		for (size_t t = 0; t < len[s]; t++) {
			double y = series[s][t];
			if (isnan(y))
				continue;
			if (!isnan(prev)) {
				sum += fabs(y - prev);
				count++;
			}
			prev = y;
		}
	}
	return report(mean_of(sum, count), count, ndiff);
}

double mc_interval_coverage(const double *actual, const double *lower, const double *upper,
			    size_t n, double *mean_width, size_t *used)
{
	mc_metrics_acc a;
	mc_metrics_acc_init(&a);
	for (size_t i = 0; i < n; i++)
		mc_metrics_acc_add(&a, actual[i], NAN, lower[i], upper[i], NAN);
	mc_metrics m;
	mc_metrics_acc_finish(&a, NAN, &m);
	if (mean_width)
		*mean_width = m.width;
	return report(m.coverage, m.n_interval, used);
}

/* ---- conformal ------------------------------------------------------- */

size_t mc_conformal_rank(size_t n, double level)
{
	double x = ((double)n + 1) * level;
	double nearest = round(x);
	double k = fabs(x - nearest) <= 1e-9 * ((double)n + 1) ? nearest : ceil(x);
	return k < 1 ? 1 : (size_t)k;
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	return (a > b) - (a < b);
}

/* The non-NAN values of v, sorted ascending, in a new array (NULL: out of memory). */
static double *sorted_present(const double *v, size_t n, size_t *count)
{
	double *s = malloc((n ? n : 1) * sizeof *s);
	if (!s)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]))
			s[k++] = v[i];
	qsort(s, k, sizeof *s, cmp_double);
	*count = k;
	return s;
}

static bool level_ok(double level)
{
	return level > 0 && level < 1;
}

mc_code mc_conformal_quantile(const double *abs_resid, size_t n, double level, double *q)
{
	*q = NAN;
	if (!level_ok(level))
		return MC_ERR_INVALID;
	size_t m;
	double *s = sorted_present(abs_resid, n, &m);
	if (!s)
		return MC_ERR_NOMEM;
	size_t k = mc_conformal_rank(m, level);
	*q = k > m ? INFINITY : s[k - 1];
	free(s);
	return MC_OK;
}

mc_code mc_conformal_signed(const double *resid, size_t n, double level, double *lo, double *hi)
{
	*lo = *hi = NAN;
	if (!level_ok(level))
		return MC_ERR_INVALID;
	size_t m;
	double *s = sorted_present(resid, n, &m);
	if (!s)
		return MC_ERR_NOMEM;
	size_t k = mc_conformal_rank(m, (1 + level) / 2);
	if (k > m) {
		*lo = -INFINITY;
		*hi = INFINITY;
	} else {
		*hi = s[k - 1]; /* k-th smallest */
		*lo = s[m - k]; /* k-th largest */
	}
	free(s);
	return MC_OK;
}

/* ---- groups ---------------------------------------------------------- */

struct mc_metrics_groups {
	mc_strmap *index; /* key -> position */
	char **keys;
	mc_metrics_acc *acc;
	size_t n, cap;
};

mc_metrics_groups *mc_metrics_groups_new(void)
{
	mc_metrics_groups *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->index = mc_strmap_new(16);
	if (!g->index) {
		free(g);
		return NULL;
	}
	return g;
}

void mc_metrics_groups_free(mc_metrics_groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++)
		free(g->keys[i]);
	free(g->keys);
	free(g->acc);
	mc_strmap_free(g->index);
	free(g);
}

static mc_code groups_grow(mc_metrics_groups *g)
{
	size_t cap = g->cap ? 2 * g->cap : 8;
	char **keys = realloc(g->keys, cap * sizeof *keys);
	if (!keys)
		return MC_ERR_NOMEM;
	g->keys = keys;
	mc_metrics_acc *acc = realloc(g->acc, cap * sizeof *acc);
	if (!acc)
		return MC_ERR_NOMEM;
	g->acc = acc;
	g->cap = cap;
	return MC_OK;
}

/* The position of key, appending a new group when it is first seen. */
static mc_code groups_find(mc_metrics_groups *g, const char *key, size_t *at)
{
	size_t len = strlen(key);
	int64_t pos;
	if (mc_strmap_get(g->index, key, len, &pos)) {
		*at = (size_t)pos;
		return MC_OK;
	}
	if (g->n == g->cap && groups_grow(g))
		return MC_ERR_NOMEM;
	char *copy = strdup(key);
	if (!copy)
		return MC_ERR_NOMEM;
	if (mc_strmap_put(g->index, key, len, (int64_t)g->n)) {
		free(copy);
		return MC_ERR_NOMEM;
	}
	g->keys[g->n] = copy;
	mc_metrics_acc_init(&g->acc[g->n]);
	*at = g->n++;
	return MC_OK;
}

mc_code mc_metrics_groups_add(mc_metrics_groups *g, const char *key, double actual, double pred,
			      double lower, double upper, double naive_pred, mc_error *err)
{
	size_t at;
	if (groups_find(g, key, &at))
		return mc_fail(err, MC_ERR_NOMEM, "cannot add metrics group '%s': out of memory",
			       key);
	mc_metrics_acc_add(&g->acc[at], actual, pred, lower, upper, naive_pred);
	return MC_OK;
}

size_t mc_metrics_groups_count(const mc_metrics_groups *g)
{
	return g->n;
}

const char *mc_metrics_groups_key(const mc_metrics_groups *g, size_t i)
{
	return i < g->n ? g->keys[i] : NULL;
}

void mc_metrics_groups_finish(const mc_metrics_groups *g, size_t i, double mase_scale,
			      mc_metrics *out)
{
	mc_metrics_acc empty;
	mc_metrics_acc_init(&empty);
	mc_metrics_acc_finish(i < g->n ? &g->acc[i] : &empty, mase_scale, out);
}
