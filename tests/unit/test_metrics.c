/*
 * Unit tests of the forecast metrics: hand-computed cases, NaN skipping,
 * zero actuals, conformal ranks, groups, and numpy as the oracle on random
 * data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milkcast/metrics.h"

#define PYTHON "/usr/bin/python3"
#define EPS 1e-12

static void near(double got, double want)
{
	if (!(fabs(got - want) <= EPS * fmax(1, fabs(want))))
		fail_msg("got %.17g, want %.17g", got, want);
}

static void test_point_metrics(void **state)
{
	(void)state;
	/* errors f - a: 0.5, 0, -1, 1 */
	const double a[] = {1, 2, 3, 4, NAN, 7}, f[] = {1.5, 2, 2, 5, 3, NAN};
	size_t used = 0;
	near(mc_mae(a, f, 6, &used), 0.625);
	assert_int_equal(used, 4); /* the pairs with a NaN are skipped */
	near(mc_rmse(a, f, 6, &used), 0.75);
	near(mc_mape(a, f, 6, &used), 100 * (0.5 + 0 + 1.0 / 3 + 0.25) / 4);
	assert_int_equal(used, 4);
	near(mc_smape(a, f, 6, &used), 100 * (1.0 / 2.5 + 0 + 2.0 / 5 + 2.0 / 9) / 4);
	near(mc_mase(a, f, 6, 0.5, &used), 1.25);
	assert_true(isnan(mc_mase(a, f, 6, 0, &used)));
	assert_true(isnan(mc_mase(a, f, 6, NAN, &used)));
	assert_int_equal(used, 4);
	/* Nothing usable: NaN and a count of 0. */
	assert_true(isnan(mc_mae(a + 4, f + 4, 2, &used)));
	assert_int_equal(used, 0);
	assert_true(isnan(mc_rmse(a, f, 0, NULL)));
}

static void test_zero_actuals(void **state)
{
	(void)state;
	const double a[] = {0, 0, 2}, f[] = {0, 1, 1};
	size_t used;
	/* MAPE skips zero actuals; sMAPE counts 0/0 as 0 and 0 vs 1 as 200. */
	near(mc_mape(a, f, 3, &used), 50);
	assert_int_equal(used, 1);
	near(mc_smape(a, f, 3, &used), (0 + 200 + 200.0 / 3) / 3);
	assert_int_equal(used, 3);
	const double z[] = {0, 0};
	assert_true(isnan(mc_mape(z, z, 2, &used)));
	assert_int_equal(used, 0);
	near(mc_smape(z, z, 2, &used), 0);
}

static void test_naive_scale(void **state)
{
	(void)state;
	/* |3 - 1| across the missing date, |2 - 3|, |5 - 5|; never 2 -> 5 across series. */
	const double s0[] = {1, NAN, 3, 2}, s1[] = {5, 5}, s2[] = {NAN};
	const double *series[] = {s0, s1, s2, NULL};
	const size_t len[] = {4, 2, 1, 0};
	size_t nd;
	near(mc_naive_scale(series, len, 4, &nd), 1);
	assert_int_equal(nd, 3);
	assert_true(isnan(mc_naive_scale(series + 2, len + 2, 2, &nd)));
	assert_int_equal(nd, 0);
}

static void test_coverage(void **state)
{
	(void)state;
	const double a[] = {1, 2, 3, 4, NAN}, lo[] = {0, 2, 3.5, NAN, 0}, hi[] = {1, 3, 4, 5, 1};
	size_t used;
	double width;
	/* Bounds are inclusive; rows missing a bound or the actual are skipped. */
	near(mc_interval_coverage(a, lo, hi, 5, &width, &used), 2.0 / 3);
	near(width, 2.5 / 3);
	assert_int_equal(used, 3);
	const double ninf[] = {-INFINITY}, pinf[] = {INFINITY};
	near(mc_interval_coverage(a, ninf, pinf, 1, &width, &used), 1);
	assert_true(isinf(width));
}

static void test_conformal_rank(void **state)
{
	(void)state;
	assert_int_equal(mc_conformal_rank(9, 0.9), 9);	  /* 10 * 0.9 = 9 */
	assert_int_equal(mc_conformal_rank(8, 0.9), 9);	  /* 8.1 -> 9 > n: unbounded */
	assert_int_equal(mc_conformal_rank(19, 0.9), 18); /* 18 */
	assert_int_equal(mc_conformal_rank(9, 0.7), 7);	  /* 7.000000000000001 is 7 */
	assert_int_equal(mc_conformal_rank(99, 0.95), 95);
	assert_int_equal(mc_conformal_rank(100, 0.95), 96); /* 95.95 */
	assert_int_equal(mc_conformal_rank(1, 0.4), 1);	    /* 0.8 */
	assert_int_equal(mc_conformal_rank(0, 0.5), 1);
	assert_int_equal(mc_conformal_rank(1000, 1e-12), 1);
}

static void test_conformal_quantile(void **state)
{
	(void)state;
	const double r[] = {5, 1, 4, NAN, 2, 3};
	double q;
	/* 5 residuals: rank ceil(6 * level). */
	assert_int_equal(mc_conformal_quantile(r, 6, 0.5, &q), MC_OK);
	near(q, 3);
	assert_int_equal(mc_conformal_quantile(r, 6, 0.8, &q), MC_OK);
	near(q, 5);
	assert_int_equal(mc_conformal_quantile(r, 6, 0.9, &q), MC_OK); /* rank 6 > 5 */
	assert_true(isinf(q) && q > 0);
	assert_int_equal(mc_conformal_quantile(r, 1, 0.4, &q), MC_OK); /* n = 1: rank 1 */
	near(q, 5);
	assert_int_equal(mc_conformal_quantile(r, 0, 0.5, &q), MC_OK); /* nothing: unbounded */
	assert_true(isinf(q));
	assert_int_equal(mc_conformal_quantile(r, 6, 0, &q), MC_ERR_INVALID);
	assert_true(isnan(q));
	assert_int_equal(mc_conformal_quantile(r, 6, 1, &q), MC_ERR_INVALID);
	assert_int_equal(mc_conformal_quantile(r, 6, NAN, &q), MC_ERR_INVALID);
}

static void test_conformal_signed(void **state)
{
	(void)state;
	const double r[] = {4, -3, 0, 5, -1, 1, NAN, 2, 3, -2};
	double lo, hi;
	/* 9 residuals -3..5; level 0.8: k = ceil(10 * 0.9) = 9. */
	assert_int_equal(mc_conformal_signed(r, 10, 0.8, &lo, &hi), MC_OK);
	near(lo, -3);
	near(hi, 5);
	/* level 0.6: k = 8 -> the 8th smallest and the 8th largest. */
	assert_int_equal(mc_conformal_signed(r, 10, 0.6, &lo, &hi), MC_OK);
	near(lo, -2);
	near(hi, 4);
	/* level 0.9: k = ceil(9.5) = 10 > 9. */
	assert_int_equal(mc_conformal_signed(r, 10, 0.9, &lo, &hi), MC_OK);
	assert_true(isinf(lo) && lo < 0 && isinf(hi) && hi > 0);
	/* level 0.2: k = 6: the 6th largest (0) and the 6th smallest (2). */
	assert_int_equal(mc_conformal_signed(r, 10, 0.2, &lo, &hi), MC_OK);
	near(lo, 0);
	near(hi, 2);
	assert_int_equal(mc_conformal_signed(r, 10, 1.5, &lo, &hi), MC_ERR_INVALID);
	assert_true(isnan(lo) && isnan(hi));
}

static void test_accumulator(void **state)
{
	(void)state;
	mc_metrics_acc a;
	mc_metrics_acc_init(&a);
	/* actual, pred, lower, upper, naive */
	mc_metrics_acc_add(&a, 10, 11, 9, 12, 10.5);
	mc_metrics_acc_add(&a, 20, 18, 17, 19, 21);
	mc_metrics_acc_add(&a, 0, 1, -1, 2, NAN);
	mc_metrics_acc_add(&a, NAN, 5, 4, 6, 5);     /* no actual: skipped everywhere */
	mc_metrics_acc_add(&a, 30, NAN, 29, 31, 30); /* no prediction: interval only */
	mc_metrics m;
	mc_metrics_acc_finish(&a, 2, &m);
	assert_int_equal(m.n, 3);
	near(m.mae, 4.0 / 3);
	near(m.rmse, sqrt(6.0 / 3));
	near(m.bias, 0);
	assert_int_equal(m.n_mape, 2);
	near(m.mape, 100 * (0.1 + 0.1) / 2);
	near(m.smape, 100 * (2.0 / 21 + 4.0 / 38 + 2.0) / 3);
	near(m.mase, 2.0 / 3);
	assert_int_equal(m.n_interval, 4);
	near(m.coverage, 3.0 / 4);
	near(m.width, (3 + 2 + 3 + 2) / 4.0);
	assert_int_equal(m.n_naive, 2);
	near(m.naive_mae, (0.5 + 1) / 2);
	near(m.naive_rmse, sqrt((0.25 + 1) / 2));
	near(m.model_mae_naive_rows, (1 + 2) / 2.0);
	/* Empty: every metric NaN, every count 0. */
	mc_metrics_acc_init(&a);
	mc_metrics_acc_finish(&a, 1, &m);
	assert_int_equal(m.n + m.n_mape + m.n_interval + m.n_naive, 0);
	assert_true(isnan(m.mae) && isnan(m.rmse) && isnan(m.coverage) && isnan(m.naive_mae));
}

static void test_groups(void **state)
{
	(void)state;
	mc_metrics_groups *g = mc_metrics_groups_new();
	assert_non_null(g);
	mc_error err = MC_ERROR_INIT;
	char key[16];
	for (int i = 0; i < 30; i++) {
		snprintf(key, sizeof key, "h%d", 1 + i % 12);
		assert_int_equal(
			mc_metrics_groups_add(g, key, 10, 10 + (i % 12), NAN, NAN, 10, &err),
			MC_OK);
	}
	assert_int_equal(mc_metrics_groups_count(g), 12);
	assert_string_equal(mc_metrics_groups_key(g, 0), "h1");
	assert_string_equal(mc_metrics_groups_key(g, 11), "h12");
	assert_null(mc_metrics_groups_key(g, 12));
	mc_metrics m;
	mc_metrics_groups_finish(g, 4, 1, &m); /* "h5": i = 4, 16, 28 */
	assert_int_equal(m.n, 3);
	near(m.mae, 4);
	near(m.naive_mae, 0);
	mc_metrics_groups_finish(g, 99, 1, &m);
	assert_int_equal(m.n, 0);
	mc_metrics_groups_free(g);
}

/* ---- numpy as the oracle -------------------------------------------------- */

/* Reads DIR/{a,f,lo,hi,r,s}.f64 and prints one metric a line, in the order of `names`. */
static const char oracle_py[] =
	"import math, sys\n"
	"from fractions import Fraction as F\n"
	"import numpy as np\n"
	"d = sys.argv[1]\n"
	"L = lambda n: np.fromfile(d + '/' + n + '.f64', dtype='<f8')\n"
	"a, f, lo, hi, r = L('a'), L('f'), L('lo'), L('hi'), L('r')\n"
	"s = L('s').reshape(20, -1)\n"
	"k = ~np.isnan(a) & ~np.isnan(f)\n"
	"e = f[k] - a[k]\n"
	"nz = a[k] != 0\n"
	"den = np.abs(a[k]) + np.abs(f[k])\n"
	"sm = np.where(den > 0, 2 * np.abs(e) / np.where(den > 0, den, 1), 0)\n"
	"diffs = np.concatenate([np.diff(x[~np.isnan(x)]) for x in s])\n"
	"scale = np.mean(np.abs(diffs))\n"
	"ki = ~np.isnan(a) & ~np.isnan(lo) & ~np.isnan(hi)\n"
	"rr = np.sort(r[~np.isnan(r)]); n = len(rr)\n"
	"q = np.sort(np.abs(rr))[math.ceil((n + 1) * F('0.9')) - 1]\n"
	"kk = math.ceil((n + 1) * F('0.95'))\n"
	"out = [np.mean(np.abs(e)), np.sqrt(np.mean(e * e)),\n"
	"       100 * np.mean(np.abs(e[nz]) / np.abs(a[k][nz])), 100 * np.mean(sm),\n"
	"       scale, np.mean(np.abs(e)) / scale,\n"
	"       np.mean((a[ki] >= lo[ki]) & (a[ki] <= hi[ki])), np.mean(hi[ki] - lo[ki]),\n"
	"       q, rr[n - kk], rr[kk - 1], k.sum(), nz.sum(), ki.sum(), len(diffs)]\n"
	"for v in out: print(repr(float(v)))\n";

static void write_f64(const char *dir, const char *name, const double *v, size_t n)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s.f64", dir, name);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(v, sizeof *v, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static double unif(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*s >> 11) * 0x1.0p-53;
}

static void test_against_numpy(void **state)
{
	(void)state;
	if (access(PYTHON, X_OK) != 0 || system(PYTHON " -c 'import numpy' >/dev/null 2>&1") != 0)
		skip();
	enum { N = 1000, S = 20, T = 60 };
	static double a[N], f[N], lo[N], hi[N], r[N], s[S * T];
	uint64_t seed = 2024;
	for (int i = 0; i < N; i++) {
		a[i] = unif(&seed) < 0.05 ? 0 : 15 + 10 * unif(&seed);
		f[i] = a[i] + 3 * (unif(&seed) - 0.45);
		lo[i] = f[i] - 2 * unif(&seed);
		hi[i] = f[i] + 2 * unif(&seed);
		r[i] = a[i] - f[i];
		if (unif(&seed) < 0.04)
			a[i] = NAN;
		if (unif(&seed) < 0.04)
			f[i] = NAN;
		if (unif(&seed) < 0.03)
			lo[i] = NAN;
		if (unif(&seed) < 0.05)
			r[i] = NAN;
	}
	for (int i = 0; i < S * T; i++)
		s[i] = unif(&seed) < 0.15 ? NAN : 20 + 5 * unif(&seed);
	char dir[] = "/tmp/mc-metrics-XXXXXX";
	assert_non_null(mkdtemp(dir));
	write_f64(dir, "a", a, N);
	write_f64(dir, "f", f, N);
	write_f64(dir, "lo", lo, N);
	write_f64(dir, "hi", hi, N);
	write_f64(dir, "r", r, N);
	write_f64(dir, "s", s, S * T);
	char script[64];
	snprintf(script, sizeof script, "%s/oracle.py", dir);
	FILE *fp = fopen(script, "w");
	assert_non_null(fp);
	fputs(oracle_py, fp);
	assert_int_equal(fclose(fp), 0);

	/* Ours, in the order the script prints. */
	double ours[15];
	size_t n_pt, n_mape, n_int, n_diff;
	const double *series[S];
	size_t len[S];
	for (int k = 0; k < S; k++) {
		series[k] = s + k * T;
		len[k] = T;
	}
	ours[0] = mc_mae(a, f, N, &n_pt);
	ours[1] = mc_rmse(a, f, N, NULL);
	ours[2] = mc_mape(a, f, N, &n_mape);
	ours[3] = mc_smape(a, f, N, NULL);
	ours[4] = mc_naive_scale(series, len, S, &n_diff);
	ours[5] = mc_mase(a, f, N, ours[4], NULL);
	ours[6] = mc_interval_coverage(a, lo, hi, N, &ours[7], &n_int);
	double absr[N];
	for (int i = 0; i < N; i++)
		absr[i] = fabs(r[i]);
	assert_int_equal(mc_conformal_quantile(absr, N, 0.9, &ours[8]), MC_OK);
	assert_int_equal(mc_conformal_signed(r, N, 0.9, &ours[9], &ours[10]), MC_OK);
	ours[11] = (double)n_pt;
	ours[12] = (double)n_mape;
	ours[13] = (double)n_int;
	ours[14] = (double)n_diff;

	char cmd[128];
	snprintf(cmd, sizeof cmd, PYTHON " %s %s", script, dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	static const char *const names[15] = {"mae",	     "rmse",	   "mape",	"smape",
					      "scale",	     "mase",	   "coverage",	"width",
					      "conformal q", "signed lo",  "signed hi", "n",
					      "n_mape",	     "n_interval", "n_diff"};
	double worst = 0;
	for (int k = 0; k < 15; k++) {
		double want;
		assert_int_equal(fscanf(p, "%lf", &want), 1);
		double rel = fabs(ours[k] - want) / fmax(fabs(want), 1e-300);
		if (!(rel <= EPS))
			fail_msg("%s: ours %.17g, numpy %.17g", names[k], ours[k], want);
		worst = fmax(worst, rel);
	}
	assert_int_equal(pclose(p), 0);
	print_message("numpy oracle: 15 values, max rel diff %g\n", worst);
	char rm[128];
	snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
	assert_int_equal(system(rm), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_point_metrics),	 cmocka_unit_test(test_zero_actuals),
		cmocka_unit_test(test_naive_scale),	 cmocka_unit_test(test_coverage),
		cmocka_unit_test(test_conformal_rank),	 cmocka_unit_test(test_conformal_quantile),
		cmocka_unit_test(test_conformal_signed), cmocka_unit_test(test_accumulator),
		cmocka_unit_test(test_groups),		 cmocka_unit_test(test_against_numpy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
