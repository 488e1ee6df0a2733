/*
 * Internals of the drift module: the special functions the tests need
 * (Kolmogorov–Smirnov distributions, regularized incomplete gamma, normal
 * CDF), the sort of doubles, and the binning shared by the tests and the
 * histograms.  Not installed; the unit tests include it to check each piece
 * against SciPy on its own.
 */
#ifndef MILKCAST_DRIFT_INT_H
#define MILKCAST_DRIFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/drift.h"

/* ---- special functions (special.c, kolmogorov.c) ---- */

/* Q(a, x) = Γ(a, x) / Γ(a), the regularized upper incomplete gamma function;
 * NAN unless a > 0 and x >= 0 (x = +inf gives 0). */
double mc_gamma_q(double a, double x);
/* P(X > x) for X ~ chi-square with df degrees of freedom (SciPy's chi2.sf);
 * NAN unless df > 0. */
double mc_chi2_sf(double x, double df);
/* Standard normal CDF. */
double mc_norm_cdf(double x);

/*
 * P(D_n >= x) for the one-sample two-sided Kolmogorov–Smirnov statistic D_n
 * (SciPy's kstwo.sf(x, n), the algorithm choice of Simard and L'Ecuyer as in
 * scipy/stats/_ksstats.py).
 */
double mc_kstwo_sf(int64_t n, double x);
/* P(D_n^+ >= x), the one-sided statistic (SciPy's special.smirnov). */
double mc_smirnov_sf(int64_t n, double x);

/*
 * Exact two-sided p-value of the two-sample statistic D = h / lcm(n1, n2):
 * P(D_{n1,n2} >= D) under the null hypothesis, as SciPy's ks_2samp
 * method='exact'.  h is an integer in [0, lcm].  NAN when rounding takes the
 * result out of [0, 1] (1 + 2^-52 happens): SciPy then reports the exact
 * attempt failed and uses the asymptotic p-value, and so do we.
 */
double mc_ks_exact_p(int64_t n1, int64_t n2, int64_t h);

/* ---- sorting (sort.c) ---- */

/*
 * The finite values of x[0..n) (NaN and ±inf dropped, -0.0 as 0.0), sorted
 * ascending, in a new array *out (free it) of *kept values followed by a
 * +inf sentinel at (*out)[*kept].  scratch: n uint64_t the sort may use, or
 * NULL to have it allocated.  MC_ERR_NOMEM, or MC_ERR_LIMIT beyond 2^32
 * values.
 */
mc_code mc_drift_sorted_copy(const double *x, size_t n, uint64_t *scratch, double **out,
			     size_t *kept);
/* malloc, or for blocks of several MiB memory advised for huge pages;
 * release with free(). */
void *mc_drift_block_alloc(size_t bytes);

/* ---- binning (binning.c) ---- */

/*
 * NumPy's histogram_bin_edges(x, bins="sturges") for n values whose minimum
 * and maximum are lo and hi: the number of bins (ceil(ptp / (ptp / (log2(n)
 * + 1))), 1 when ptp is 0) and, when edges is not NULL, the nbins + 1 edges
 * as np.linspace computes them.
 */
size_t mc_sturges_bins(size_t n, double lo, double hi);
void mc_sturges_edges(double lo, double hi, size_t nbins, double *edges);
/* Adds to counts[nbins] the values x[0..n) by bin, as np.histogram with the
 * given edges: bin i is [edges[i], edges[i+1]), the last bin also takes
 * edges[nbins]; values outside are not counted. */
void mc_histogram_count(const double *x, size_t n, const double *edges, size_t nbins,
			uint64_t *counts);

/*
 * Distinct values of two sorted samples: v[k] ascending, with their counts
 * in each sample.  The arrays are allocated (free them); *k gets their
 * length.
 */
mc_code mc_distinct_counts(const double *ref, size_t n, const double *cur, size_t m, double **v,
			   uint64_t **rc, uint64_t **cc, size_t *k);

/* Number of distinct values among the sorted a[0..n) and b[0..m), counting
 * at most to cap (returns cap + 1 as soon as more are seen). */
size_t mc_count_distinct_capped(const double *a, size_t n, const double *b, size_t m, size_t cap);

/* ---- the tests on prepared samples (numeric.c, counts.c) ---- */

typedef enum mc_drift_test_id {
	MC_TEST_KS,
	MC_TEST_WASSERSTEIN,
	MC_TEST_JENSENSHANNON,
	MC_TEST_CHISQUARE,
	MC_TEST_Z,
	MC_TEST_PSI,
	MC_TEST_KL_DIV,
	MC_TEST_HELLINGER,
	MC_TEST_COUNT_
} mc_drift_test_id;

typedef struct mc_drift_test_info {
	const char *name;
	double default_threshold;
	bool p_value;	  /* the score is a p-value: drift when score < (or <=) threshold */
	bool inclusive;	  /* the comparison includes the threshold (<= or >=) */
	bool numeric;	  /* applies to numeric data */
	bool categorical; /* applies to categorical data */
} mc_drift_test_info;

extern const mc_drift_test_info mc_drift_tests[MC_TEST_COUNT_];

/* The id of a test name; -1 when unknown. */
int mc_drift_test_lookup(const char *name);
/* Fills threshold, score and drift of r from its statistic/p_value. */
void mc_drift_decide(mc_drift_result *r, mc_drift_test_id id, double threshold);

/*
 * Numeric tests on clean samples (no NaN, no inf, -0.0 as 0.0) that are
 * sorted ascending, n, m >= 1.  Fill statistic and p_value of r.
 */
mc_code mc_numeric_test(mc_drift_test_id id, const double *ref, size_t n, const double *cur,
			size_t m, mc_drift_result *r, mc_error *err);

/*
 * Categorical tests on counts per category, categories in ascending order
 * of their keys, every category seen in at least one sample, both totals
 * > 0.  Fill statistic and p_value of r.
 */
mc_code mc_counts_test(mc_drift_test_id id, const uint64_t *rc, const uint64_t *cc, size_t k,
		       mc_drift_result *r, mc_error *err);

/*
 * The binned tests (jensenshannon, psi, kl_div) on counts per bin, every
 * value of each sample in some bin (a bin may be empty on both sides).
 */
mc_code mc_binned_score(mc_drift_test_id id, const uint64_t *rc, const uint64_t *cc, size_t k,
			mc_drift_result *r, mc_error *err);

/* Evidently's binning of two clean sorted numeric samples into h (edges or
 * values, and counts); see mc_drift_histogram. */
mc_code mc_numeric_bins(const double *ref, size_t n, const double *cur, size_t m,
			mc_drift_histogram *h);

/* The default rule of Evidently's DataDriftPreset for n_ref reference values
 * and n_values distinct values over both samples (only "<= 5" and "<= 2"
 * matter). */
mc_drift_test_id mc_drift_default_test(bool numeric, size_t n_ref, size_t n_values);

/* ---- entry points shared by drift.c and table.c ---- */

/* Clean copies (finite values, -0.0 as 0.0) of both samples, sorted, each
 * followed by a +inf sentinel; *a and *b allocated on success.
 * MC_ERR_EMPTY when a sample has nothing left. */
mc_code mc_drift_clean_sorted(const double *ref, size_t n, const double *cur, size_t m, double **a,
			      size_t *na, double **b, size_t *nb, mc_error *err);

/* ---- categories (categories.c) ---- */

/* One category: its key (not owned: it points into the caller's data) and
 * its counts in the reference and the current sample. */
typedef struct mc_category {
	const char *key;
	size_t len;
	uint64_t hash;
	uint64_t rc, cc;
} mc_category;

/* Distinct strings of two samples with their counts. */
typedef struct mc_catcount {
	size_t k, cap; /* categories held, allocated */
	mc_category *cat;
	uint64_t n_ref, n_cur;
	uint32_t *slots; /* hash table of indexes into cat */
	size_t nslots;
} mc_catcount;

void mc_catcount_init(mc_catcount *c);
void mc_catcount_release(mc_catcount *c);
/* Counts one string in the reference (side 0) or current (side 1) sample. */
mc_code mc_catcount_add(mc_catcount *c, int side, const char *s, size_t len);
/* Sorts the categories by key (bytes, then length) and copies their counts
 * into rc and cc (k each, allocated). */
mc_code mc_catcount_finish(mc_catcount *c, uint64_t **rc, uint64_t **cc);

/* The categorical test on counted categories (finishes c); n and m are the
 * sample sizes before missing values were dropped (for the messages). */
mc_code mc_drift_catcount_test(mc_catcount *c, size_t n, size_t m, const char *test,
			       double threshold, mc_drift_result *out, mc_error *err);

#endif
