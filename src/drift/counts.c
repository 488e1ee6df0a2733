/*
 * The tests on counts per category (or per bin): chi-square, the
 * two-proportion z-test, Jensen–Shannon, PSI, Kullback–Leibler and
 * Hellinger, as Evidently computes them with SciPy and NumPy, including
 * Evidently's filling of empty bins for PSI and KL.  O(k) for k categories.
 */
#include <math.h>
#include <stdlib.h>

#include "drift/drift_int.h"

/* Evidently's fill for empty bins (get_binned_data, feel_zeroes): the
 * smallest non-zero share / 10^6 when that share is <= 10^-4, else 10^-4. */
#define FILL_SMALL 0.0001
#define FILL_DIVISOR 1e6

static uint64_t total(const uint64_t *c, size_t k)
{
	uint64_t t = 0;
	for (size_t i = 0; i < k; i++)
		t += c[i];
	return t;
}

/* Shares c[i] / n, as Evidently's percents. */
static void shares(const uint64_t *c, size_t k, double *p)
{
	double n = (double)total(c, k);
	for (size_t i = 0; i < k; i++)
		p[i] = (double)c[i] / n;
}

static void fill_zeroes(double *p, size_t k)
{
	double mn = INFINITY;
	for (size_t i = 0; i < k; i++)
		if (p[i] != 0 && p[i] < mn)
			mn = p[i];
	double fill = mn <= FILL_SMALL ? mn / FILL_DIVISOR : FILL_SMALL;
	for (size_t i = 0; i < k; i++)
		if (p[i] == 0)
			p[i] = fill;
}

static double sum(const double *p, size_t k)
{
	double s = 0;
	for (size_t i = 0; i < k; i++)
		s += p[i];
	return s;
}

/* scipy.special.rel_entr */
static double rel_entr(double x, double y)
{
	if (x > 0 && y > 0)
		return x * log(x / y);
	if (x == 0 && y >= 0)
		return 0;
	return INFINITY;
}

/* scipy.spatial.distance.jensenshannon(p, q), natural log; a sum that
 * rounding takes below 0 counts as 0 (SciPy would return NaN). */
static double jensenshannon(double *p, double *q, size_t k)
{
	double sp = sum(p, k), sq = sum(q, k), left = 0, right = 0;
	for (size_t i = 0; i < k; i++) {
		double a = p[i] / sp, b = q[i] / sq, mid = (a + b) / 2.0;
		left += rel_entr(a, mid);
		right += rel_entr(b, mid);
	}
	double js = left + right;
	return js > 0 ? sqrt(js / 2.0) : 0;
}

/* Σ (p - q) ln(p / q) */
static double psi(const double *p, const double *q, size_t k)
{
	double s = 0;
	for (size_t i = 0; i < k; i++)
		s += (p[i] - q[i]) * log(p[i] / q[i]);
	return s;
}

/* scipy.stats.entropy(p, q): both normalised, Σ p ln(p / q) */
static double kl_div(const double *p, const double *q, size_t k)
{
	double sp = sum(p, k), sq = sum(q, k), s = 0;
	for (size_t i = 0; i < k; i++)
		s += rel_entr(p[i] / sp, q[i] / sq);
	return s;
}

mc_code mc_binned_score(mc_drift_test_id id, const uint64_t *rc, const uint64_t *cc, size_t k,
			mc_drift_result *r, mc_error *err)
{
	double *p = malloc(2 * (k ? k : 1) * sizeof *p);
	if (!p)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory for %zu bins", k);
	double *q = p + k;
	shares(rc, k, p);
	shares(cc, k, q);
	if (id != MC_TEST_JENSENSHANNON) {
		fill_zeroes(p, k);
		fill_zeroes(q, k);
	}
	r->statistic = id == MC_TEST_JENSENSHANNON ? jensenshannon(p, q, k)
		       : id == MC_TEST_PSI	   ? psi(p, q, k)
						   : kl_div(p, q, k);
	r->p_value = NAN;
	free(p);
	return MC_OK;
}

/*
 * scipy.stats.chisquare(f_obs = current counts, f_exp = reference counts ·
 * n_cur / n_ref): Σ (o - e)² / e with k - 1 degrees of freedom.  A category
 * absent from the reference makes the statistic infinite (p = 0); a single
 * category leaves no degree of freedom (p = NaN, as SciPy).
 */
static void chisquare(const uint64_t *rc, const uint64_t *cc, size_t k, mc_drift_result *r)
{
	double norm = (double)total(cc, k) / (double)total(rc, k), stat = 0;
	for (size_t i = 0; i < k; i++) {
		double e = (double)rc[i] * norm, d = (double)cc[i] - e;
		stat += d * d / e;
	}
	r->statistic = stat;
	r->p_value = mc_chi2_sf(stat, (double)k - 1);
}

/*
 * Evidently's z-test: each sample coded 0 for the first (smallest)
 * category and 1 for any other, then the pooled two-proportion z statistic
 * and p = 2 (1 - Φ(|z|)).  One category on both sides: p = 1, z = 0.
 */
static void z_test(const uint64_t *rc, const uint64_t *cc, size_t k, mc_drift_result *r)
{
	if (k == 1) {
		r->statistic = 0;
		r->p_value = 1;
		return;
	}
	double n1 = (double)total(rc, k), n2 = (double)total(cc, k);
	double p1 = (n1 - (double)rc[0]) / n1, p2 = (n2 - (double)cc[0]) / n2;
	double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
	double z = (p1 - p2) / sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
	r->statistic = z;
	r->p_value = 2 * (1 - mc_norm_cdf(fabs(z)));
}

/* Evidently's Hellinger distance on categories: sqrt(1 - Σ sqrt(p q)). */
static void hellinger(const uint64_t *rc, const uint64_t *cc, size_t k, mc_drift_result *r)
{
	double n1 = (double)total(rc, k), n2 = (double)total(cc, k), s = 0;
	for (size_t i = 0; i < k; i++)
		s += sqrt((double)rc[i] / n1 * ((double)cc[i] / n2));
	s = s < 0 ? 0 : s > 1 ? 1 : s;
	r->statistic = sqrt(1 - s);
	r->p_value = NAN;
}

mc_code mc_counts_test(mc_drift_test_id id, const uint64_t *rc, const uint64_t *cc, size_t k,
		       mc_drift_result *r, mc_error *err)
{
	switch (id) {
	case MC_TEST_CHISQUARE: chisquare(rc, cc, k, r); return MC_OK;
	case MC_TEST_Z: z_test(rc, cc, k, r); return MC_OK;
	case MC_TEST_HELLINGER: hellinger(rc, cc, k, r); return MC_OK;
	case MC_TEST_JENSENSHANNON:
	case MC_TEST_PSI:
	case MC_TEST_KL_DIV: return mc_binned_score(id, rc, cc, k, r, err);
	default:
		return mc_fail(err, MC_ERR_INVALID, "test '%s' does not apply to categorical data",
			       mc_drift_tests[id].name);
	}
}
