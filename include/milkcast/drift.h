/*
 * Data drift between a reference and a current sample: the statistical
 * tests, thresholds and default choice rule of Evidently's DataDriftPreset,
 * with SciPy's numbers (ks_2samp, wasserstein_distance, jensenshannon,
 * chisquare).  docs/internals/drift.md has every formula and its source.
 *
 * Tests by name (NULL = the default rule):
 *   ks            two-sample Kolmogorov–Smirnov, two-sided; score = p-value
 *                 (exact when both sizes <= 10,000, else asymptotic, as SciPy's
 *                 method='auto'); drift when p <= threshold (0.05)
 *   chisquare     chi-square of the current counts against the reference
 *                 proportions; score = p-value; drift when p < threshold (0.05)
 *   z             two-proportion z-test (the smallest category against the
 *                 rest); score = p-value; drift when p < threshold (0.05)
 *   wasserstein   1-D Wasserstein distance / max(reference std, 0.001);
 *                 drift when >= threshold (0.1)
 *   jensenshannon Jensen–Shannon distance (natural log); >= threshold (0.1)
 *   psi           population stability index; >= threshold (0.1)
 *   kl_div        Kullback–Leibler divergence of reference from current;
 *                 >= threshold (0.1)
 *   hellinger     Hellinger distance; >= threshold (0.1)
 *
 * Default rule: reference size (after removing missing values) <= 1000:
 * ks for numeric data, chisquare for categorical (z when there are at most
 * two distinct values); above 1000: wasserstein for numeric, jensenshannon
 * for categorical.  Numeric data with at most 5 distinct values over both
 * samples is tested as categorical (chisquare, z or jensenshannon).
 *
 * Missing values are removed first: NaN and ±inf in numeric data, NULL
 * strings and null table cells.  A sample with nothing left is an error
 * (MC_ERR_EMPTY, as Evidently refuses an empty column).
 */
#ifndef MILKCAST_DRIFT_H
#define MILKCAST_DRIFT_H

#include <math.h> /* NAN in MC_DRIFT_OPTIONS_INIT */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/table.h"

/* Evidently's default share of drifted columns for dataset drift (>=). */
#define MC_DRIFT_SHARE 0.5

typedef enum mc_drift_kind { MC_DRIFT_NUMERIC, MC_DRIFT_CATEGORICAL } mc_drift_kind;

typedef struct mc_drift_result {
	const char *test;    /* static name of the test run: "ks", "wasserstein", ... */
	double statistic;    /* ks: D; chisquare: chi²; z: z; distance tests: the distance */
	double p_value;	     /* ks, chisquare, z; NAN for the distance tests */
	double score;	     /* what is compared with the threshold: p_value or statistic */
	double threshold;    /* the one used (the test's default unless given) */
	bool drift;	     /* the verdict; false when score is NAN */
	mc_drift_kind kind;  /* of the data (numeric data may be tested as categories) */
	size_t n_ref, n_cur; /* values used, after removing missing ones */
} mc_drift_result;

/* True when name is one of the tests above. */
bool mc_drift_test_known(const char *name);
/* The test's default threshold; NAN for an unknown name. */
double mc_drift_default_threshold(const char *name);

/*
 * One numeric column.  test: a name above or NULL for the default rule;
 * threshold: NAN for the test's default.  Time O((n + m) log(n + m)) (a
 * radix sort), plus the exact KS p-value's O(n·m·D) when it is used.
 * MC_ERR_EMPTY when a sample has no value left, MC_ERR_INVALID for an
 * unknown test or a bad threshold, MC_ERR_NOMEM.
 */
mc_code mc_drift_numeric(const double *ref, size_t n, const double *cur, size_t m, const char *test,
			 double threshold, mc_drift_result *out, mc_error *err);

/* One categorical column of strings (NULL = missing).  ks and wasserstein do
 * not apply (MC_ERR_INVALID). */
mc_code mc_drift_categorical(const char *const *ref, size_t n, const char *const *cur, size_t m,
			     const char *test, double threshold, mc_drift_result *out,
			     mc_error *err);

/*
 * Categorical data already counted: k categories in ascending order of
 * their keys (the z-test opposes the first to the rest), ref[i] and cur[i]
 * their counts (a category may have 0 on one side, not on both).  For data
 * held as codes: count the codes, drop the empty ones, call this.
 */
mc_code mc_drift_counts(const uint64_t *ref, const uint64_t *cur, size_t k, const char *test,
			double threshold, mc_drift_result *out, mc_error *err);

/*
 * The column named `column` of two tables.  BOOL and STRING columns are
 * categorical; INT32, INT64, FLOAT and DOUBLE numeric; DATE and TIMESTAMP
 * are refused (MC_ERR_UNSUPPORTED).  Errors name the column.
 */
mc_code mc_drift_column(const mc_table *ref, const mc_table *cur, const char *column,
			const char *test, double threshold, mc_drift_result *out, mc_error *err);

/* ---- several columns: dataset drift ---- */

typedef struct mc_drift_options {
	const char *num_test; /* NULL: the default rule */
	const char *cat_test; /* NULL: the default rule */
	double threshold;     /* NAN: each test's default */
	double drift_share;   /* NAN: MC_DRIFT_SHARE */
	bool skip_empty;      /* a column with a sample left empty is skipped, not an error */
} mc_drift_options;

#define MC_DRIFT_OPTIONS_INIT               \
	{                                   \
		NULL, NULL, NAN, NAN, false \
	}

typedef struct mc_drift_column_result {
	const char *column; /* the caller's string */
	bool skipped;	    /* skip_empty: a sample had no value; result not set */
	mc_drift_result result;
} mc_drift_column_result;

typedef struct mc_drift_dataset {
	size_t ncols;
	mc_drift_column_result *cols; /* ncols, in the order asked */
	size_t n_tested;	      /* columns not skipped */
	size_t n_drifted;
	double share;	    /* n_drifted / n_tested; NAN when nothing was tested */
	double drift_share; /* the share that makes dataset drift */
	bool drift;	    /* share >= drift_share */
} mc_drift_dataset;

/*
 * Drift of each of columns[0..ncols) between two tables with those columns,
 * and dataset drift.  opt NULL = MC_DRIFT_OPTIONS_INIT.  out is caller-owned;
 * mc_drift_dataset_release() frees what it holds (also after a failure).
 */
mc_code mc_drift_dataset_compute(const mc_table *ref, const mc_table *cur,
				 const char *const *columns, size_t ncols,
				 const mc_drift_options *opt, mc_drift_dataset *out, mc_error *err);
void mc_drift_dataset_release(mc_drift_dataset *d);

/* ---- distributions for reports ---- */

/*
 * The reference and current distributions binned as the binned tests see
 * them (Evidently's get_binned_data): numeric data with more than 20
 * distinct reference values in Sturges bins over both samples (`edges`);
 * other numeric data by distinct value (`values`); categorical data by
 * category (`labels`, ascending byte order).  Exactly one of edges, values
 * and labels is set.
 */
typedef struct mc_drift_histogram {
	mc_drift_kind kind;
	size_t nbins;
	double *edges;	     /* nbins + 1; bin i = [edges[i], edges[i+1]), the last one closed */
	double *values;	     /* nbins distinct values, ascending */
	char **labels;	     /* nbins NUL-terminated category names */
	uint64_t *ref, *cur; /* nbins counts */
	size_t n_ref, n_cur;
} mc_drift_histogram;

mc_code mc_drift_histogram_numeric(const double *ref, size_t n, const double *cur, size_t m,
				   mc_drift_histogram *out, mc_error *err);
mc_code mc_drift_histogram_categorical(const char *const *ref, size_t n, const char *const *cur,
				       size_t m, mc_drift_histogram *out, mc_error *err);
mc_code mc_drift_histogram_column(const mc_table *ref, const mc_table *cur, const char *column,
				  mc_drift_histogram *out, mc_error *err);
/* Frees what the histogram holds and zeroes it. */
void mc_drift_histogram_release(mc_drift_histogram *h);

#endif
