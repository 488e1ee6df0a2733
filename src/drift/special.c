/*
 * Special functions the p-values need: the regularized upper incomplete
 * gamma function (chi-square survival) and the normal CDF.  Written here
 * rather than taken from GSL (GPL); checked against SciPy's gammaincc,
 * chi2.sf and norm.cdf in tests/unit/test_drift.c.
 */
#include <float.h>
#include <math.h>

#include "drift/drift_int.h"

#define GAMMA_EPS (DBL_EPSILON / 2)
#define GAMMA_TINY 1e-300
#define GAMMA_MAX_ITER 100000

/* log of x^a e^-x / Γ(a), the common factor of both expansions. */
static double gamma_log_prefactor(double a, double x)
{
	return a * log(x) - x - lgamma(a);
}

/* P(a, x) by its power series; converges fast for x < a + 1. */
static double gamma_p_series(double a, double x)
{
	double ap = a, term = 1 / a, sum = term;
	for (int i = 0; i < GAMMA_MAX_ITER; i++) {
		ap += 1;
		term *= x / ap;
		sum += term;
		if (fabs(term) < fabs(sum) * GAMMA_EPS)
			break;
	}
	return sum * exp(gamma_log_prefactor(a, x));
}

/* Q(a, x) by its continued fraction (modified Lentz); for x >= a + 1. */
static double gamma_q_fraction(double a, double x)
{
	double b = x + 1 - a, c = 1 / GAMMA_TINY, d = 1 / b, h = d;
	for (int i = 1; i < GAMMA_MAX_ITER; i++) {
		double an = -i * (i - a);
		b += 2;
		d = an * d + b;
		if (fabs(d) < GAMMA_TINY)
			d = GAMMA_TINY;
		c = b + an / c;
		if (fabs(c) < GAMMA_TINY)
			c = GAMMA_TINY;
		d = 1 / d;
		double delta = d * c;
		h *= delta;
		if (fabs(delta - 1) < GAMMA_EPS)
			break;
	}
	return exp(gamma_log_prefactor(a, x)) * h;
}

double mc_gamma_q(double a, double x)
{
	if (!(a > 0) || !(x >= 0))
		return NAN;
	if (x == 0)
		return 1;
	if (isinf(x))
		return 0;
	if (x < a + 1) {
		double q = 1 - gamma_p_series(a, x);
		return q < 0 ? 0 : q;
	}
	return gamma_q_fraction(a, x);
}

double mc_chi2_sf(double x, double df)
{
	if (!(df > 0) || isnan(x))
		return NAN;
	if (x <= 0)
		return 1; /* below the support, as rv_continuous.sf */
	return mc_gamma_q(df / 2, x / 2);
}

double mc_norm_cdf(double x)
{
	return 0.5 * erfc(-x / M_SQRT2);
}
