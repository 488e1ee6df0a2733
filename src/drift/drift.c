/*
 * The drift API on arrays: the table of tests (names, default thresholds,
 * comparison direction), Evidently's default choice rule, removal of
 * missing values, and the numeric, categorical and counted entry points.
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drift/drift_int.h"

/* Evidently's DataDriftPreset: up to this many reference values the
 * p-value tests are the default, above it the distances. */
#define DEFAULT_SMALL_REFERENCE 1000
/* Numeric data with at most this many distinct values is tested as categories. */
#define DEFAULT_FEW_VALUES 5
/* Categorical data with at most this many distinct values gets the z-test. */
#define DEFAULT_BINARY_VALUES 2

/* name, default threshold, p-value test, inclusive comparison, numeric, categorical */
const mc_drift_test_info mc_drift_tests[MC_TEST_COUNT_] = {
	[MC_TEST_KS] = {"ks", 0.05, true, true, true, false},
	[MC_TEST_WASSERSTEIN] = {"wasserstein", 0.1, false, true, true, false},
	[MC_TEST_JENSENSHANNON] = {"jensenshannon", 0.1, false, true, true, true},
	[MC_TEST_CHISQUARE] = {"chisquare", 0.05, true, false, true, true},
	[MC_TEST_Z] = {"z", 0.05, true, false, true, true},
	[MC_TEST_PSI] = {"psi", 0.1, false, true, true, true},
	[MC_TEST_KL_DIV] = {"kl_div", 0.1, false, true, true, true},
	[MC_TEST_HELLINGER] = {"hellinger", 0.1, false, true, true, true},
};

int mc_drift_test_lookup(const char *name)
{
	for (int i = 0; name && i < MC_TEST_COUNT_; i++)
		if (strcmp(mc_drift_tests[i].name, name) == 0)
			return i;
	return -1;
}

bool mc_drift_test_known(const char *name)
{
	return mc_drift_test_lookup(name) >= 0;
}

double mc_drift_default_threshold(const char *name)
{
	int id = mc_drift_test_lookup(name);
	return id < 0 ? NAN : mc_drift_tests[id].default_threshold;
}

void mc_drift_decide(mc_drift_result *r, mc_drift_test_id id, double threshold)
{
	const mc_drift_test_info *t = &mc_drift_tests[id];
	r->test = t->name;
	r->threshold = threshold;
	r->score = t->p_value ? r->p_value : r->statistic;
	if (t->p_value)
		r->drift = t->inclusive ? r->score <= threshold : r->score < threshold;
	else
		r->drift = r->score >= threshold; /* NaN: false */
}

mc_drift_test_id mc_drift_default_test(bool numeric, size_t n_ref, size_t n_values)
{
	bool few = !numeric || n_values <= DEFAULT_FEW_VALUES;
	if (n_ref <= DEFAULT_SMALL_REFERENCE) {
		if (!few)
			return MC_TEST_KS;
		return n_values > DEFAULT_BINARY_VALUES ? MC_TEST_CHISQUARE : MC_TEST_Z;
	}
	return few ? MC_TEST_JENSENSHANNON : MC_TEST_WASSERSTEIN;
}

/* The test asked for (NULL: none yet) and the threshold to use. */
static mc_code resolve(const char *test, double threshold, bool numeric, int *id, mc_error *err)
{
	*id = -1;
	if (!isnan(threshold) && !(threshold >= 0 && isfinite(threshold)))
		return mc_fail(err, MC_ERR_INVALID, "bad drift threshold %g", threshold);
	if (!test)
		return MC_OK;
	*id = mc_drift_test_lookup(test);
	if (*id < 0)
		return mc_fail(err, MC_ERR_INVALID,
			       "unknown drift test '%s' (ks, wasserstein, jensenshannon, "
			       "chisquare, z, psi, kl_div, hellinger)",
			       test);
	const mc_drift_test_info *t = &mc_drift_tests[*id];
	if (numeric ? !t->numeric : !t->categorical)
		return mc_fail(err, MC_ERR_INVALID, "test '%s' does not apply to %s data", test,
			       numeric ? "numeric" : "categorical");
	return MC_OK;
}

static void finish(mc_drift_result *r, int id, double threshold, mc_drift_kind kind, size_t n,
		   size_t m)
{
	r->kind = kind;
	r->n_ref = n;
	r->n_cur = m;
	mc_drift_decide(r, id, isnan(threshold) ? mc_drift_tests[id].default_threshold : threshold);
}

static mc_code empty_sample(mc_error *err, const char *side, size_t total)
{
	return mc_fail(err, MC_ERR_EMPTY, "the %s sample has no values (%zu of %zu missing)", side,
		       total, total);
}

/* One sample's sort, run by a second thread for big samples. */
typedef struct sort_job {
	const double *x;
	size_t n;
	double *out;
	size_t kept;
	mc_code rc;
} sort_job;

static void *sort_job_run(void *arg)
{
	sort_job *j = arg;
	j->rc = mc_drift_sorted_copy(j->x, j->n, NULL, &j->out, &j->kept);
	return NULL;
}

/*
 * Both sorted copies.  Above PARALLEL_MIN values the current sample is
 * sorted on a second thread while this one sorts the reference (the sorts
 * are independent and memory-bound on one core); below, or when no thread
 * can be made, one after the other sharing one scratch (less memory to
 * fault in).
 */
#define PARALLEL_MIN (1u << 18)

static mc_code sort_both(const double *ref, size_t n, const double *cur, size_t m, double **a,
			 size_t *na, double **b, size_t *nb)
{
	sort_job job = {.x = cur, .n = m};
	pthread_t tid;
	bool threaded = m >= PARALLEL_MIN && sysconf(_SC_NPROCESSORS_ONLN) > 1 &&
			pthread_create(&tid, NULL, sort_job_run, &job) == 0;
	if (threaded) {
		mc_code rc = mc_drift_sorted_copy(ref, n, NULL, a, na);
		pthread_join(tid, NULL);
		*b = job.out;
		*nb = job.kept;
		return rc != MC_OK ? rc : job.rc;
	}
	uint64_t *scratch = mc_drift_block_alloc((n > m ? n : m) * sizeof *scratch + 8);
	mc_code rc = scratch ? mc_drift_sorted_copy(ref, n, scratch, a, na) : MC_ERR_NOMEM;
	if (rc == MC_OK)
		rc = mc_drift_sorted_copy(cur, m, scratch, b, nb);
	free(scratch);
	return rc;
}

mc_code mc_drift_clean_sorted(const double *ref, size_t n, const double *cur, size_t m, double **a,
			      size_t *na, double **b, size_t *nb, mc_error *err)
{
	*a = *b = NULL;
	mc_code rc = sort_both(ref, n, cur, m, a, na, b, nb);
	if (rc != MC_OK)
		rc = mc_fail(err, rc, "cannot sort %zu values: %s", n + m, mc_strerror(rc));
	else if (*na == 0)
		rc = empty_sample(err, "reference", n);
	else if (*nb == 0)
		rc = empty_sample(err, "current", m);
	if (rc != MC_OK) {
		free(*a);
		free(*b);
		*a = *b = NULL;
	}
	return rc;
}

mc_code mc_drift_numeric(const double *ref, size_t n, const double *cur, size_t m, const char *test,
			 double threshold, mc_drift_result *out, mc_error *err)
{
	int id;
	mc_code rc = resolve(test, threshold, true, &id, err);
	if (rc != MC_OK)
		return rc;
	double *a, *b;
	size_t na, nb;
	rc = mc_drift_clean_sorted(ref, n, cur, m, &a, &na, &b, &nb, err);
	if (rc != MC_OK)
		return rc;
	if (id < 0) {
		size_t nv = mc_count_distinct_capped(a, na, b, nb, DEFAULT_FEW_VALUES);
		id = mc_drift_default_test(true, na, nv);
	}
	memset(out, 0, sizeof *out);
	rc = mc_numeric_test(id, a, na, b, nb, out, err);
	if (rc == MC_OK)
		finish(out, id, threshold, MC_DRIFT_NUMERIC, na, nb);
	free(a);
	free(b);
	return rc;
}

/* The categorical tests on counts already checked. */
static mc_code counts_core(const uint64_t *rc, const uint64_t *cc, size_t k, uint64_t n, uint64_t m,
			   int id, double threshold, mc_drift_result *out, mc_error *err)
{
	if (id < 0)
		id = mc_drift_default_test(false, n, k);
	memset(out, 0, sizeof *out);
	mc_code code = mc_counts_test(id, rc, cc, k, out, err);
	if (code == MC_OK)
		finish(out, id, threshold, MC_DRIFT_CATEGORICAL, n, m);
	return code;
}

mc_code mc_drift_counts(const uint64_t *ref, const uint64_t *cur, size_t k, const char *test,
			double threshold, mc_drift_result *out, mc_error *err)
{
	int id;
	mc_code rc = resolve(test, threshold, false, &id, err);
	if (rc != MC_OK)
		return rc;
	uint64_t n = 0, m = 0;
	for (size_t i = 0; i < k; i++) {
		if (ref[i] == 0 && cur[i] == 0)
			return mc_fail(err, MC_ERR_INVALID,
				       "category %zu has no value in either sample", i);
		n += ref[i];
		m += cur[i];
	}
	if (n == 0 || m == 0)
		return mc_fail(err, MC_ERR_EMPTY, "the %s sample has no values",
			       n == 0 ? "reference" : "current");
	return counts_core(ref, cur, k, n, m, id, threshold, out, err);
}

mc_code mc_drift_catcount_test(mc_catcount *c, size_t n, size_t m, const char *test,
			       double threshold, mc_drift_result *out, mc_error *err)
{
	int id;
	mc_code rc = resolve(test, threshold, false, &id, err);
	if (rc != MC_OK)
		return rc;
	if (c->n_ref == 0)
		return empty_sample(err, "reference", n);
	if (c->n_cur == 0)
		return empty_sample(err, "current", m);
	uint64_t *ca, *cb;
	if (mc_catcount_finish(c, &ca, &cb) != MC_OK)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory counting categories");
	rc = counts_core(ca, cb, c->k, c->n_ref, c->n_cur, id, threshold, out, err);
	free(ca);
	free(cb);
	return rc;
}

/* Counts the non-NULL strings of both samples. */
static mc_code count_strings(mc_catcount *c, const char *const *ref, size_t n,
			     const char *const *cur, size_t m, mc_error *err)
{
	for (int side = 0; side < 2; side++) {
		const char *const *x = side ? cur : ref;
		for (size_t i = 0, len = side ? m : n; i < len; i++)
			if (x[i] && mc_catcount_add(c, side, x[i], strlen(x[i])) != MC_OK)
				return mc_fail(err, MC_ERR_NOMEM,
					       "out of memory counting categories");
	}
	return MC_OK;
}

mc_code mc_drift_categorical(const char *const *ref, size_t n, const char *const *cur, size_t m,
			     const char *test, double threshold, mc_drift_result *out,
			     mc_error *err)
{
	mc_catcount c;
	mc_catcount_init(&c);
	mc_code rc = count_strings(&c, ref, n, cur, m, err);
	if (rc == MC_OK)
		rc = mc_drift_catcount_test(&c, n, m, test, threshold, out, err);
	mc_catcount_release(&c);
	return rc;
}
