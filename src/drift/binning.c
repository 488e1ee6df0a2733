/*
 * Binning as Evidently's get_binned_data does it with NumPy: Sturges bin
 * edges (np.histogram_bin_edges(x, "sturges"), edges from np.linspace),
 * counts as np.histogram with explicit edges (searchsorted semantics), and
 * the distinct values of two sorted samples with their counts.
 */
#include <math.h>
#include <stdlib.h>

#include "drift/drift_int.h"

size_t mc_sturges_bins(size_t n, double lo, double hi)
{
	double ptp = hi - lo;
	if (n == 0 || ptp == 0)
		return 1;
	double width = ptp / (log2((double)n) + 1.0);
	if (width == 0)
		return 1;
	return (size_t)ceil(ptp / width);
}

void mc_sturges_edges(double lo, double hi, size_t nbins, double *edges)
{
	if (lo == hi) { /* NumPy widens an empty range */
		lo -= 0.5;
		hi += 0.5;
	}
	/* np.linspace(lo, hi, nbins + 1): i * step + lo, the last edge exactly hi */
	double div = (double)nbins, delta = hi - lo, step = delta / div;
	for (size_t i = 0; i <= nbins; i++)
		edges[i] = (step == 0 ? (double)i / div * delta : (double)i * step) + lo;
	edges[nbins] = hi;
}

/* The bin of x: edges[i] <= x < edges[i+1], the last bin closed; -1 outside. */
static long bin_of(double x, const double *edges, size_t nbins, double scale)
{
	if (!(x >= edges[0] && x <= edges[nbins]))
		return -1;
	double guess = (x - edges[0]) * scale;
	long i = guess < 0 ? 0 : guess >= (double)nbins ? (long)nbins - 1 : (long)guess;
	while (i > 0 && x < edges[i])
		i--;
	while (i < (long)nbins - 1 && x >= edges[i + 1])
		i++;
	return i;
}

void mc_histogram_count(const double *x, size_t n, const double *edges, size_t nbins,
			uint64_t *counts)
{
	double range = edges[nbins] - edges[0];
	double scale = range > 0 ? (double)nbins / range : 0;
	for (size_t i = 0; i < n; i++) {
		long b = bin_of(x[i], edges, nbins, scale);
		if (b >= 0)
			counts[b]++;
	}
}

/* Length of the run of x[i] in a sorted array. */
static size_t run_len(const double *a, size_t n, size_t i)
{
	size_t j = i + 1;
	while (j < n && a[j] == a[i])
		j++;
	return j - i;
}

size_t mc_count_distinct_capped(const double *a, size_t n, const double *b, size_t m, size_t cap)
{
	size_t i = 0, j = 0, k = 0;
	while (i < n || j < m) {
		double v = j >= m || (i < n && a[i] <= b[j]) ? a[i] : b[j];
		while (i < n && a[i] == v)
			i++;
		while (j < m && b[j] == v)
			j++;
		if (++k > cap)
			return cap + 1;
	}
	return k;
}

mc_code mc_distinct_counts(const double *ref, size_t n, const double *cur, size_t m, double **v,
			   uint64_t **rc, uint64_t **cc, size_t *k)
{
	size_t total = mc_count_distinct_capped(ref, n, cur, m, n + m);
	*v = malloc((total ? total : 1) * sizeof **v);
	*rc = calloc(total ? total : 1, sizeof **rc);
	*cc = calloc(total ? total : 1, sizeof **cc);
	if (!*v || !*rc || !*cc) {
		free(*v);
		free(*rc);
		free(*cc);
		*v = NULL;
		*rc = *cc = NULL;
		return MC_ERR_NOMEM;
	}
	size_t i = 0, j = 0, t = 0;
	while (i < n || j < m) {
		double x = j >= m || (i < n && ref[i] <= cur[j]) ? ref[i] : cur[j];
		if (i < n && ref[i] == x) {
			size_t r = run_len(ref, n, i);
			(*rc)[t] = r;
			i += r;
		}
		if (j < m && cur[j] == x) {
			size_t r = run_len(cur, m, j);
			(*cc)[t] = r;
			j += r;
		}
		(*v)[t++] = x;
	}
	*k = t;
	return MC_OK;
}
