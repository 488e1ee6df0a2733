/*
 * The tests on numeric samples, both sorted ascending and clean: the
 * two-sample KS test (statistic and p-value as SciPy's ks_2samp), the
 * normed Wasserstein distance, the binned tests (Evidently's binning) and
 * the Hellinger distance on Sturges bins.  Each walks the two sorted
 * samples once, O(n + m); both end with a +inf sentinel.
 */
#include <math.h>
#include <stdlib.h>

#include "drift/drift_int.h"

/* Above this size (either sample) ks_2samp's method='auto' is asymptotic. */
#define KS_EXACT_MAX 10000
/* Evidently: a numeric column with more distinct reference values than this is
 * binned by Sturges' rule, otherwise by value. */
#define BIN_BY_VALUE_MAX 20
/* Evidently's floor on the reference std in the normed Wasserstein distance. */
#define WASSERSTEIN_MIN_STD 0.001

/* Neumaier's compensated sum. */
typedef struct ksum {
	double s, c;
} ksum;

static void ksum_add(ksum *k, double x)
{
	double t = k->s + x;
	k->c += fabs(k->s) >= fabs(x) ? (k->s - t) + x : (x - t) + k->s;
	k->s = t;
}

static double ksum_value(const ksum *k)
{
	return k->s + k->c;
}

/* ---- Kolmogorov–Smirnov ---- */

/*
 * max and -min of F_ref - F_cur over the pooled values, the ECDFs evaluated
 * after the last of each run of equal values, as SciPy's searchsorted
 * (side='right').  Without branches: the two samples interleave at random,
 * so a branch per value would be mispredicted half the time.  a[n] and
 * b[m] are +inf sentinels.
 */
static void ks_extremes(const double *a, size_t n, const double *b, size_t m, double *maxs,
			double *mins)
{
	double rn = 1.0 / (double)n, rm = 1.0 / (double)m, hi = 0, lo = 0;
	double x = a[0], y = b[0];
	size_t i = 0, j = 0;
	for (size_t k = 0; k + 1 < n + m; k++) { /* the last value gives 0 */
		bool from_a = x <= y;
		double v = from_a ? x : y;
		i += from_a;
		j += !from_a;
		x = a[i];
		y = b[j];
		double next = x < y ? x : y;
		double diff = (double)i * rn - (double)j * rm;
		diff *= (double)(v != next); /* only after the last of equal values */
		hi = diff > hi ? diff : hi;
		lo = diff < lo ? diff : lo;
	}
	*maxs = hi;
	*mins = lo;
}

/* D and the two-sided p-value of ks_2samp(method='auto'). */
static void ks_test(const double *a, size_t n, const double *b, size_t m, mc_drift_result *r)
{
	double dn = (double)n, dm = (double)m, maxs, mins;
	ks_extremes(a, n, b, m, &maxs, &mins);
	double d = -mins > maxs ? fmin(-mins, 1) : maxs;
	double p = NAN;
	if (n <= KS_EXACT_MAX && m <= KS_EXACT_MAX) {
		int64_t x = (int64_t)n, y = (int64_t)m, g = x, t = y;
		while (t) {
			int64_t u = g % t;
			g = t;
			t = u;
		}
		/* NOLINTNEXTLINE(bugprone-integer-division): g divides x */
		double lcm = (double)(x / g) * (double)y;
		int64_t h = (int64_t)nearbyint(d * lcm);
		d = (double)h / lcm;
		p = mc_ks_exact_p(x, y, h); /* NAN: SciPy's exact attempt fails too */
	}
	if (isnan(p)) {
		double big = fmax(dn, dm), small = fmin(dn, dm);
		double en = big * small / (big + small);
		p = mc_kstwo_sf((int64_t)nearbyint(en), d);
	}
	r->statistic = d;
	r->p_value = p < 0 ? 0 : p > 1 ? 1 : p;
}

/* ---- Wasserstein ---- */

/*
 * Σ |F_ref - F_cur| · (next pooled value - this one), as scipy's
 * _cdf_distance(1): terms inside a run of equal values have a zero width.
 * Branch-free as ks_extremes; the terms are summed in blocks, the block
 * sums with compensation.
 */
static double wasserstein(const double *a, size_t n, const double *b, size_t m)
{
	double rn = 1.0 / (double)n, rm = 1.0 / (double)m;
	double x = a[0], y = b[0];
	size_t i = 0, j = 0;
	ksum sum = {0, 0};
	double block = 0;
	for (size_t k = 0; k + 1 < n + m; k++) {
		bool from_a = x <= y;
		double v = from_a ? x : y;
		i += from_a;
		j += !from_a;
		x = a[i];
		y = b[j];
		double next = x < y ? x : y;
		block += fabs((double)i * rn - (double)j * rm) * (next - v);
		if ((k & 1023) == 1023) {
			ksum_add(&sum, block);
			block = 0;
		}
	}
	ksum_add(&sum, block);
	return ksum_value(&sum);
}

/* Σ f(a[i]) in blocks of SUM_BLOCK plain sums (four accumulators, no
 * dependency chain), the block sums added with compensation: ~1e-13
 * relative for any n, at the speed of a plain loop. */
#define SUM_BLOCK 1024

static double blocked_sum(const double *a, size_t n, double center, bool square)
{
	ksum total = {0, 0};
	for (size_t start = 0; start < n; start += SUM_BLOCK) {
		size_t end = start + SUM_BLOCK < n ? start + SUM_BLOCK : n, i = start;
		double s[4] = {0, 0, 0, 0};
		for (; i + 4 <= end; i += 4)
			for (int l = 0; l < 4; l++) {
				double x = a[i + l] - center;
				s[l] += square ? x * x : x;
			}
		for (; i < end; i++) {
			double x = a[i] - center;
			s[0] += square ? x * x : x;
		}
		ksum_add(&total, (s[0] + s[1]) + (s[2] + s[3]));
	}
	return ksum_value(&total);
}

/* Population standard deviation (np.std): mean, then mean squared deviation. */
static double population_std(const double *a, size_t n)
{
	double mean = blocked_sum(a, n, 0, false) / (double)n;
	return sqrt(blocked_sum(a, n, mean, true) / (double)n);
}

static void wasserstein_test(const double *a, size_t n, const double *b, size_t m,
			     mc_drift_result *r)
{
	double norm = fmax(population_std(a, n), WASSERSTEIN_MIN_STD);
	r->statistic = wasserstein(a, n, b, m) / norm;
	r->p_value = NAN;
}

/* ---- binned tests ---- */

/* Sturges bins over both samples: nbins, and edges (nbins + 1, allocated). */
static mc_code sturges_over(const double *a, size_t n, const double *b, size_t m, double **edges,
			    size_t *nbins)
{
	double lo = fmin(a[0], b[0]), hi = fmax(a[n - 1], b[m - 1]);
	*nbins = mc_sturges_bins(n + m, lo, hi);
	*edges = malloc((*nbins + 1) * sizeof **edges);
	if (!*edges)
		return MC_ERR_NOMEM;
	mc_sturges_edges(lo, hi, *nbins, *edges);
	return MC_OK;
}

mc_code mc_numeric_bins(const double *a, size_t n, const double *b, size_t m, mc_drift_histogram *h)
{
	mc_code rc;
	h->kind = MC_DRIFT_NUMERIC;
	h->n_ref = n;
	h->n_cur = m;
	if (mc_count_distinct_capped(a, n, NULL, 0, BIN_BY_VALUE_MAX) > BIN_BY_VALUE_MAX) {
		rc = sturges_over(a, n, b, m, &h->edges, &h->nbins);
		if (rc != MC_OK)
			return rc;
		h->ref = calloc(h->nbins, sizeof *h->ref);
		h->cur = calloc(h->nbins, sizeof *h->cur);
		if (!h->ref || !h->cur)
			return MC_ERR_NOMEM;
		mc_histogram_count(a, n, h->edges, h->nbins, h->ref);
		mc_histogram_count(b, m, h->edges, h->nbins, h->cur);
		return MC_OK;
	}
	return mc_distinct_counts(a, n, b, m, &h->values, &h->ref, &h->cur, &h->nbins);
}

static mc_code binned_test(mc_drift_test_id id, const double *a, size_t n, const double *b,
			   size_t m, mc_drift_result *r, mc_error *err)
{
	mc_drift_histogram h = {0};
	mc_code rc = mc_numeric_bins(a, n, b, m, &h);
	if (rc == MC_OK)
		rc = mc_binned_score(id, h.ref, h.cur, h.nbins, r, err);
	else
		mc_fail(err, rc, "out of memory binning %zu values", n + m);
	mc_drift_histogram_release(&h);
	return rc;
}

/*
 * Evidently's Hellinger distance on numeric data: Sturges bins over the
 * distinct values of both samples (not the values themselves), density
 * histograms, 1 - Σ sqrt(h_ref h_cur) · mean bin width, clipped to [0, 1].
 */
static mc_code hellinger_numeric(const double *a, size_t n, const double *b, size_t m,
				 mc_drift_result *r, mc_error *err)
{
	size_t nkeys = mc_count_distinct_capped(a, n, b, m, n + m);
	double lo = fmin(a[0], b[0]), hi = fmax(a[n - 1], b[m - 1]);
	size_t nb = mc_sturges_bins(nkeys, lo, hi);
	double *edges = malloc((nb + 1) * sizeof *edges);
	uint64_t *ca = calloc(nb, sizeof *ca), *cb = calloc(nb, sizeof *cb);
	if (!edges || !ca || !cb) {
		free(edges);
		free(ca);
		free(cb);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory binning %zu values", n + m);
	}
	mc_sturges_edges(lo, hi, nb, edges);
	mc_histogram_count(a, n, edges, nb, ca);
	mc_histogram_count(b, m, edges, nb, cb);
	double width = (edges[nb] - edges[0]) / (double)nb, s = 0;
	for (size_t i = 0; i < nb; i++) {
		double db = edges[i + 1] - edges[i];
		double ha = (double)ca[i] / db / (double)n, hb = (double)cb[i] / db / (double)m;
		s += sqrt(ha * hb) * width;
	}
	s = s < 0 ? 0 : s > 1 ? 1 : s;
	r->statistic = sqrt(1 - s);
	r->p_value = NAN;
	free(edges);
	free(ca);
	free(cb);
	return MC_OK;
}

/* Numeric data tested as categories: counts per distinct value. */
static mc_code by_value_test(mc_drift_test_id id, const double *a, size_t n, const double *b,
			     size_t m, mc_drift_result *r, mc_error *err)
{
	double *v;
	uint64_t *ca, *cb;
	size_t k;
	if (mc_distinct_counts(a, n, b, m, &v, &ca, &cb, &k) != MC_OK)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory counting %zu values", n + m);
	mc_code rc = mc_counts_test(id, ca, cb, k, r, err);
	free(v);
	free(ca);
	free(cb);
	return rc;
}

mc_code mc_numeric_test(mc_drift_test_id id, const double *ref, size_t n, const double *cur,
			size_t m, mc_drift_result *r, mc_error *err)
{
	switch (id) {
	case MC_TEST_KS: ks_test(ref, n, cur, m, r); return MC_OK;
	case MC_TEST_WASSERSTEIN: wasserstein_test(ref, n, cur, m, r); return MC_OK;
	case MC_TEST_JENSENSHANNON:
	case MC_TEST_PSI:
	case MC_TEST_KL_DIV: return binned_test(id, ref, n, cur, m, r, err);
	case MC_TEST_HELLINGER: return hellinger_numeric(ref, n, cur, m, r, err);
	case MC_TEST_CHISQUARE:
	case MC_TEST_Z: return by_value_test(id, ref, n, cur, m, r, err);
	default: return mc_fail(err, MC_ERR_INVALID, "unknown test %d", (int)id);
	}
}
