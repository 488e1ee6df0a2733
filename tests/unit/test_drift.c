/*
 * Unit tests of src/drift: every test against SciPy (tests/oracle/
 * drift_oracle.py restates Evidently's steps with pandas, NumPy and SciPy)
 * on random and edge cases — ties, constant columns, tiny samples, missing
 * values, all-missing samples, one category, categories on one side only,
 * sizes on both sides of ks_2samp's exact/asymptotic switch — to 1e-9
 * relative on statistics and 1e-6 absolute on p-values; the special
 * functions on grids; Evidently's published values; the API's tables,
 * dataset drift, histograms and errors.  The SciPy comparisons are skipped
 * when /usr/bin/python3 lacks scipy or pandas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drift/drift_int.h"
#include "milkcast/drift.h"

#define PYTHON "/usr/bin/python3"
#define ORACLE "tests/oracle/drift_oracle.py"
#define STAT_RTOL 1e-9
#define STAT_ATOL 1e-12 /* floor for statistics that are 0 up to rounding */
#define P_ATOL 1e-6
#define SPECIAL_ATOL 1e-8
#define KS_EXACT_RTOL 1e-9
/* the exact KS p-value's documented absolute bound (docs/internals/drift.md):
 * below it, values agree in absolute terms only */
#define KS_EXACT_ATOL 1e-25

/* ---- random data ---- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static double uniform(void)
{
	return (double)(rng_next() >> 11) * 0x1p-53;
}

static double normal(void)
{
	double u = uniform(), v = uniform();
	return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

typedef enum gen {
	G_NORMAL,  /* N(loc, scale) */
	G_EXP,	   /* Exp(1) * scale + loc */
	G_ROUND1,  /* N(loc, scale) rounded to 1 decimal: ties */
	G_INT,	   /* integers 0 .. scale-1, shifted by loc */
	G_CONST,   /* loc */
	G_MISSING, /* N(loc, scale) with 30% NaN and a few ±inf */
	G_NAN,	   /* all NaN */
	G_SEQ,	   /* i + loc */
	G_SIGNED0, /* 0.0, -0.0, 1.0 at random */
} gen;

static double *make(gen g, size_t n, double loc, double scale)
{
	double *x = malloc((n ? n : 1) * sizeof *x);
	for (size_t i = 0; i < n; i++) {
		switch (g) {
		case G_NORMAL: x[i] = loc + scale * normal(); break;
		case G_EXP: x[i] = loc - scale * log(1 - uniform()); break;
		case G_ROUND1: x[i] = round((loc + scale * normal()) * 10) / 10; break;
		case G_INT: x[i] = loc + (double)(rng_next() % (uint64_t)scale); break;
		case G_CONST: x[i] = loc; break;
		case G_MISSING: {
			double u = uniform();
			x[i] = u < 0.3	  ? NAN
			       : u < 0.31 ? INFINITY
			       : u < 0.32 ? -INFINITY
					  : loc + scale * normal();
			break;
		}
		case G_NAN: x[i] = NAN; break;
		case G_SEQ: x[i] = (double)i + loc; break;
		case G_SIGNED0: {
			uint64_t r = rng_next() % 3;
			x[i] = r == 0 ? 0.0 : r == 1 ? -0.0 : 1.0;
			break;
		}
		}
	}
	return x;
}

/* ---- the oracle run: cases written to a directory, SciPy's answers read back ---- */

typedef enum outcome_kind { O_COLUMN, O_SPECIAL } outcome_kind;

typedef struct outcome {
	outcome_kind kind;
	char label[96];
	/* column: ours */
	mc_code rc;
	mc_drift_result r;
	/* special: ours */
	double value;
} outcome;

typedef struct oracle_run {
	char dir[64];
	FILE *cases;
	outcome *out;
	size_t n, cap;
} oracle_run;

static bool oracle_available(void)
{
	return system(PYTHON " -c 'import scipy, pandas' >/dev/null 2>&1") == 0;
}

static void run_open(oracle_run *o)
{
	memset(o, 0, sizeof *o);
	snprintf(o->dir, sizeof o->dir, "/tmp/mc-drift-XXXXXX");
	assert_non_null(mkdtemp(o->dir));
	char path[128];
	snprintf(path, sizeof path, "%s/cases.txt", o->dir);
	o->cases = fopen(path, "w");
	assert_non_null(o->cases);
}

static outcome *run_add(oracle_run *o)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 256;
		o->out = realloc(o->out, o->cap * sizeof *o->out);
		assert_non_null(o->out);
	}
	outcome *x = &o->out[o->n++];
	memset(x, 0, sizeof *x);
	return x;
}

static void write_f64(const oracle_run *o, const char *id, const char *side, const double *x,
		      size_t n)
{
	char path[160];
	snprintf(path, sizeof path, "%s/%s.%s", o->dir, id, side);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(x, sizeof *x, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void write_strings(const oracle_run *o, const char *id, const char *side,
			  const char *const *x, size_t n)
{
	char path[160];
	snprintf(path, sizeof path, "%s/%s.%s", o->dir, id, side);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", x[i] ? x[i] : "<NA>");
	assert_int_equal(fclose(f), 0);
}

static const char *const NUM_TESTS[] = {"default", "ks",     "wasserstein", "jensenshannon",
					"psi",	   "kl_div", "hellinger",   NULL};
static const char *const DISCRETE_TESTS[] = {"chisquare", "z", NULL};
static const char *const CAT_TESTS[] = {"default", "chisquare", "z",	     "jensenshannon",
					"psi",	   "kl_div",	"hellinger", NULL};

/* Runs each test on a numeric case, ours now and SciPy's later. */
static void num_case(oracle_run *o, const char *id, const double *a, size_t n, const double *b,
		     size_t m, const char *const *tests)
{
	write_f64(o, id, "ref", a, n);
	write_f64(o, id, "cur", b, m);
	for (size_t t = 0; tests[t]; t++) {
		outcome *x = run_add(o);
		x->kind = O_COLUMN;
		snprintf(x->label, sizeof x->label, "num %s %s", id, tests[t]);
		const char *name = strcmp(tests[t], "default") ? tests[t] : NULL;
		mc_error err = MC_ERROR_INIT;
		x->rc = mc_drift_numeric(a, n, b, m, name, NAN, &x->r, &err);
		fprintf(o->cases, "num %s %s nan\n", id, tests[t]);
	}
}

static void cat_case(oracle_run *o, const char *id, const char *const *a, size_t n,
		     const char *const *b, size_t m)
{
	write_strings(o, id, "ref", a, n);
	write_strings(o, id, "cur", b, m);
	for (size_t t = 0; CAT_TESTS[t]; t++) {
		outcome *x = run_add(o);
		x->kind = O_COLUMN;
		snprintf(x->label, sizeof x->label, "cat %s %s", id, CAT_TESTS[t]);
		const char *name = strcmp(CAT_TESTS[t], "default") ? CAT_TESTS[t] : NULL;
		mc_error err = MC_ERROR_INIT;
		x->rc = mc_drift_categorical(a, n, b, m, name, NAN, &x->r, &err);
		fprintf(o->cases, "cat %s %s nan\n", id, CAT_TESTS[t]);
	}
}

static void special_case(oracle_run *o, const char *fn, double p1, double p2, double ours)
{
	outcome *x = run_add(o);
	x->kind = O_SPECIAL;
	x->value = ours;
	snprintf(x->label, sizeof x->label, "%s %.17g %.17g", fn, p1, p2);
	fprintf(o->cases, "%s %.17g %.17g\n", fn, p1, p2);
}

/* The exact two-sample p-value for D = h / lcm(n1, n2), compared relatively. */
static void ks_exact_case(oracle_run *o, int64_t n1, int64_t n2, int64_t h)
{
	outcome *x = run_add(o);
	x->kind = O_SPECIAL;
	x->value = mc_ks_exact_p(n1, n2, h);
	snprintf(x->label, sizeof x->label, "ksexact %lld %lld %lld", (long long)n1, (long long)n2,
		 (long long)h);
	fprintf(o->cases, "%s\n", x->label);
}

typedef struct worst {
	double stat, p, special, ks_exact;
	size_t columns, specials;
} worst;

/* Relative difference (0 when both are the same NaN or infinity, or when
 * both are within STAT_ATOL of 0, where relative differences mean nothing). */
static double rel_err(double got, double want)
{
	if ((isnan(got) && isnan(want)) || (isinf(got) && got == want))
		return 0;
	if (fabs(got) <= STAT_ATOL && fabs(want) <= STAT_ATOL)
		return 0;
	return fabs(got - want) / fabs(want);
}

static void check_column(const outcome *x, const char *line, worst *w)
{
	if (strncmp(line, "EMPTY", 5) == 0) {
		if (x->rc != MC_ERR_EMPTY)
			fail_msg("%s: SciPy side refuses an empty sample, ours gave code %d",
				 x->label, x->rc);
		w->columns++;
		return;
	}
	char test[32];
	double stat, p;
	int drift;
	if (sscanf(line, "%31s %lf %lf %d", test, &stat, &p, &drift) != 4)
		fail_msg("%s: bad oracle line '%s'", x->label, line);
	if (x->rc != MC_OK)
		fail_msg("%s: ours failed with code %d", x->label, x->rc);
	if (strcmp(test, x->r.test) != 0)
		fail_msg("%s: test chosen: ours %s, Evidently's rule %s", x->label, x->r.test,
			 test);
	double es = rel_err(x->r.statistic, stat);
	if (!(es <= STAT_RTOL))
		fail_msg("%s: statistic ours %.17g, SciPy %.17g", x->label, x->r.statistic, stat);
	double ep = isnan(p) && isnan(x->r.p_value) ? 0 : fabs(x->r.p_value - p);
	if (!(ep <= P_ATOL))
		fail_msg("%s: p-value ours %.17g, SciPy %.17g", x->label, x->r.p_value, p);
	bool near = fabs(x->r.score - x->r.threshold) <= 1e-9 * x->r.threshold;
	if ((int)x->r.drift != drift && !near)
		fail_msg("%s: drift ours %d, Evidently %d", x->label, x->r.drift, drift);
	w->stat = fmax(w->stat, es);
	w->p = fmax(w->p, ep);
	w->columns++;
}

static void check_special(const outcome *x, const char *line, worst *w)
{
	double want = strtod(line, NULL);
	if (strncmp(x->label, "ksexact", 7) == 0) { /* relative, down to tiny p-values */
		double r = (isnan(want) && isnan(x->value)) || x->value == want
				   ? 0
				   : fabs(x->value - want) / fmax(fabs(want), DBL_MIN);
		if (!(r <= KS_EXACT_RTOL) && !(fabs(x->value - want) <= KS_EXACT_ATOL))
			fail_msg("%s: ours %.17g, SciPy %.17g", x->label, x->value, want);
		if (want >= KS_EXACT_ATOL)
			w->ks_exact = fmax(w->ks_exact, r);
		w->specials++;
		return;
	}
	double e = isnan(want) && isnan(x->value) ? 0 : fabs(x->value - want);
	if (!(e <= SPECIAL_ATOL))
		fail_msg("%s: ours %.17g, SciPy %.17g", x->label, x->value, want);
	w->special = fmax(w->special, e);
	w->specials++;
}

/* Runs the oracle over the cases and compares every line. */
static void run_check(oracle_run *o, worst *w)
{
	assert_int_equal(fclose(o->cases), 0);
	char cmd[256];
	snprintf(cmd, sizeof cmd, PYTHON " " ORACLE " %s", o->dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[512];
	for (size_t i = 0; i < o->n; i++) {
		if (!fgets(line, sizeof line, p))
			fail_msg("oracle stopped after %zu of %zu lines", i, o->n);
		if (o->out[i].kind == O_COLUMN)
			check_column(&o->out[i], line, w);
		else
			check_special(&o->out[i], line, w);
	}
	assert_int_equal(pclose(p), 0);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", o->dir);
	assert_int_equal(system(cmd), 0);
	free(o->out);
}

/* ---- the SciPy agreement tests ---- */

typedef struct num_spec {
	const char *id;
	size_t n, m;
	gen ga, gb;
	double la, sa, lb, sb; /* location and scale of each sample */
	bool discrete;	       /* also chisquare and z */
} num_spec;

static const num_spec NUM_CASES[] = {
	{"n1x1", 1, 1, G_NORMAL, G_NORMAL, 0, 1, 0, 1, false},
	{"n1x3", 1, 3, G_NORMAL, G_NORMAL, 0, 1, 0.5, 1, false},
	{"n3x2", 3, 2, G_NORMAL, G_NORMAL, 0, 1, 1, 1, false},
	{"n2x2same", 2, 2, G_CONST, G_CONST, 7, 0, 7, 0, true},
	{"n5x7", 5, 7, G_NORMAL, G_NORMAL, 0, 1, 0.5, 1, false},
	{"n20x30", 20, 30, G_NORMAL, G_NORMAL, 0, 1, 1, 1, false},
	{"n100x80", 100, 80, G_EXP, G_EXP, 0, 1, 0, 1.3, false},
	{"n200x200", 200, 200, G_NORMAL, G_NORMAL, 10, 2, 10, 2, false},
	{"n1000x999", 1000, 999, G_NORMAL, G_NORMAL, 0, 1, 0.1, 1, false},
	{"n1000x1000", 1000, 1000, G_NORMAL, G_NORMAL, 0, 1, 0, 1, false},
	{"n1001x500", 1001, 500, G_NORMAL, G_NORMAL, 0, 1, 0.2, 1, false},
	{"n3000x2000", 3000, 2000, G_EXP, G_EXP, 0, 1, 0, 1.05, false},
	{"n10000x9999", 10000, 9999, G_NORMAL, G_NORMAL, 0, 1, 0.05, 1, false},
	{"n10000x7500", 10000, 7500, G_NORMAL, G_NORMAL, 0, 1, 0.5, 1, false},
	{"n10000x10000", 10000, 10000, G_NORMAL, G_NORMAL, 0, 1, 0, 1, false},
	{"n10001x5000", 10001, 5000, G_NORMAL, G_NORMAL, 0, 1, 0.03, 1, false},
	{"n20000x30000", 20000, 30000, G_NORMAL, G_NORMAL, 0, 1, 0, 1, false},
	{"n50000x100", 50000, 100, G_NORMAL, G_NORMAL, 0, 1, 0.2, 1, false},
	{"n50000x60", 50000, 60, G_NORMAL, G_NORMAL, 0, 1, 0, 1, false},
	{"n12000x3", 12000, 3, G_NORMAL, G_NORMAL, 0, 1, 0, 1, false},
	{"n100000x100000", 100000, 100000, G_NORMAL, G_NORMAL, 0, 1, 0.012, 1, false},
	{"n200000x150000", 200000, 150000, G_NORMAL, G_NORMAL, 0, 1, 0, 1, false},
	/* big enough that the two samples are sorted on two threads */
	{"n400000x300000", 400000, 300000, G_NORMAL, G_NORMAL, 0, 1, 0.004, 1, false},
	{"missing_huge", 300000, 280000, G_MISSING, G_MISSING, 0, 1, 0, 1.01, false},
	{"ties", 500, 400, G_ROUND1, G_ROUND1, 0, 1, 0.2, 1, false},
	{"ties_big", 20000, 15000, G_INT, G_INT, 0, 100, 1, 100, false},
	{"ints16", 2000, 1500, G_INT, G_INT, 0, 16, 0, 16, true},
	{"ints16_shift", 800, 700, G_INT, G_INT, 0, 16, 2, 16, true},
	{"few4", 800, 600, G_INT, G_INT, 1, 4, 1, 4, true},
	{"few4_big", 3000, 2000, G_INT, G_INT, 1, 4, 2, 4, true},
	{"binary", 900, 700, G_INT, G_INT, 0, 2, 0, 2, true},
	{"binary_big", 2000, 2000, G_INT, G_INT, 0, 2, 0, 2, true},
	{"const_same", 300, 200, G_CONST, G_CONST, 5, 0, 5, 0, true},
	{"const_diff", 300, 200, G_CONST, G_CONST, 5, 0, 6, 0, true},
	{"const_big", 1500, 1200, G_CONST, G_CONST, 5, 0, 5, 0, true},
	{"signed_zero", 400, 300, G_SIGNED0, G_SIGNED0, 0, 0, 0, 0, true},
	{"missing", 700, 500, G_MISSING, G_MISSING, 0, 1, 0.3, 1, false},
	{"missing_big", 3000, 2500, G_MISSING, G_MISSING, 0, 1, 0, 1.2, false},
	{"wide", 600, 500, G_NORMAL, G_NORMAL, 0, 1e6, 1e5, 1e6, false},
	{"exact_fails", 10000, 10000, G_SEQ, G_SEQ, 0, 0, 0.5, 0, false},
	{"all_missing_ref", 50, 40, G_NAN, G_NORMAL, 0, 0, 0, 1, false},
	{"all_missing_cur", 50, 40, G_NORMAL, G_NAN, 0, 1, 0, 0, false},
};

static void test_numeric_vs_scipy(void **state)
{
	(void)state;
	if (!oracle_available())
		skip();
	oracle_run o;
	run_open(&o);
	rng_state = 20250331;
	for (size_t c = 0; c < sizeof NUM_CASES / sizeof NUM_CASES[0]; c++) {
		const num_spec *s = &NUM_CASES[c];
		double *a = make(s->ga, s->n, s->la, s->sa), *b = make(s->gb, s->m, s->lb, s->sb);
		num_case(&o, s->id, a, s->n, b, s->m, NUM_TESTS);
		if (s->discrete)
			num_case(&o, s->id, a, s->n, b, s->m, DISCRETE_TESTS);
		free(a);
		free(b);
	}
	worst w = {0};
	run_check(&o, &w);
	print_message("numeric vs SciPy: %zu results, max rel diff of statistics %.3g, max abs "
		      "diff of p-values %.3g\n",
		      w.columns, w.stat, w.p);
}

/* Categories with weights, drawn n times; NULL where missing. */
static const char **draw(const char *const *pool, const double *weights, size_t k, size_t n,
			 double missing)
{
	const char **x = malloc((n ? n : 1) * sizeof *x);
	double total = 0;
	for (size_t i = 0; i < k; i++)
		total += weights[i];
	for (size_t i = 0; i < n; i++) {
		if (uniform() < missing) {
			x[i] = NULL;
			continue;
		}
		double u = uniform() * total;
		size_t j = 0;
		while (j + 1 < k && u >= weights[j])
			u -= weights[j++];
		x[i] = pool[j];
	}
	return x;
}

static const char *const CITIES[] = {"Aguascalientes", "Cd. Juárez", "Culiacán", "León",
				     "Mérida",	       "Monterrey",  "Oaxaca",	 "Tijuana"};

typedef struct cat_spec {
	const char *id;
	size_t n, m, k;
	const char *const *pool_a, *const *pool_b;
	double wa[8], wb[8];
	double missing_a, missing_b;
} cat_spec;

static const char *const MILK[] = {"pasteurizada", "ultrapasteurizada"};
static const char *const ONE[] = {"tiendas"};
static const char *const AB[] = {"a", "b"};
static const char *const BC[] = {"b", "c"};
static const char *const BB[] = {"b", "b"};

static const cat_spec CAT_CASES[] = {
	{"cities",
	 500,
	 400,
	 8,
	 CITIES,
	 CITIES,
	 {1, 2, 3, 4, 5, 6, 7, 8},
	 {1, 2, 3, 4, 5, 6, 9, 6},
	 0,
	 0},
	{"cities_same",
	 600,
	 600,
	 8,
	 CITIES,
	 CITIES,
	 {1, 1, 1, 1, 1, 1, 1, 1},
	 {1, 1, 1, 1, 1, 1, 1, 1},
	 0,
	 0},
	{"cities_big",
	 5000,
	 3000,
	 8,
	 CITIES,
	 CITIES,
	 {1, 2, 3, 4, 5, 6, 7, 8},
	 {2, 2, 3, 4, 5, 6, 7, 5},
	 0,
	 0},
	{"cities_rare",
	 3000,
	 2000,
	 8,
	 CITIES,
	 CITIES,
	 {1000, 1000, 1000, 1000, 1000, 1000, 1000, 0.2},
	 {1000, 1000, 1000, 1000, 1000, 1000, 1000, 0},
	 0,
	 0},
	{"milk", 600, 500, 2, MILK, MILK, {3, 1}, {2, 1}, 0, 0},
	{"milk_big", 4000, 1000, 2, MILK, MILK, {3, 1}, {3, 1}, 0, 0},
	{"one_category", 300, 200, 1, ONE, ONE, {1}, {1}, 0, 0},
	{"one_side_only", 300, 200, 2, AB, BC, {1, 1}, {1, 1}, 0, 0},
	{"ref_a_cur_b", 6, 6, 1, AB, BB, {1}, {1}, 0, 0},
	{"with_nulls",
	 700,
	 600,
	 8,
	 CITIES,
	 CITIES,
	 {1, 2, 3, 4, 5, 6, 7, 8},
	 {8, 7, 6, 5, 4, 3, 2, 1},
	 0.2,
	 0.4},
	{"all_null_cur", 50, 40, 2, AB, AB, {1, 1}, {1, 1}, 0, 1},
	{"tiny", 1, 2, 2, AB, AB, {1, 1}, {1, 1}, 0, 0},
};

static void test_categorical_vs_scipy(void **state)
{
	(void)state;
	if (!oracle_available())
		skip();
	oracle_run o;
	run_open(&o);
	rng_state = 777;
	for (size_t c = 0; c < sizeof CAT_CASES / sizeof CAT_CASES[0]; c++) {
		const cat_spec *s = &CAT_CASES[c];
		const char **a = draw(s->pool_a, s->wa, s->k, s->n, s->missing_a);
		const char **b = draw(s->pool_b, s->wb, s->k, s->m, s->missing_b);
		cat_case(&o, s->id, a, s->n, b, s->m);
		free(a);
		free(b);
	}
	/* Evidently's published case (tests/stattests/test_stattests.py) */
	const char *ev_a[88], *ev_b[88];
	static const char *const digits[] = {"1", "2", "3", "4", "5", "6"};
	static const int ra[] = {16, 18, 16, 14, 12, 12}, rb[] = {16, 16, 16, 16, 16, 8};
	size_t na = 0, nb = 0;
	for (int i = 0; i < 6; i++) {
		for (int j = 0; j < ra[i]; j++)
			ev_a[na++] = digits[i];
		for (int j = 0; j < rb[i]; j++)
			ev_b[nb++] = digits[i];
	}
	cat_case(&o, "evidently", ev_a, na, ev_b, nb);
	worst w = {0};
	run_check(&o, &w);
	print_message("categorical vs SciPy: %zu results, max rel diff of statistics %.3g, max abs "
		      "diff of p-values %.3g\n",
		      w.columns, w.stat, w.p);
}

static void test_special_vs_scipy(void **state)
{
	(void)state;
	if (!oracle_available())
		skip();
	oracle_run o;
	run_open(&o);
	/* kstwo.sf over every branch of SciPy's algorithm choice */
	static const int64_t ns[] = {1,	  2,	3,     7,     20,     80,     139,     140,    141,
				     500, 4000, 30000, 99999, 100001, 400000, 1000001, 3000000};
	static const double zs[] = {0.3, 0.6, 0.85, 0.9, 1.2, 1.45, 1.6, 2.0, 3.0, 5.0, 14.0, 20.0};
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		double n = (double)ns[i];
		for (size_t j = 0; j < sizeof zs / sizeof zs[0]; j++) {
			double x = zs[j] / sqrt(n);
			if (x < 1)
				special_case(&o, "kstwo", n, x, mc_kstwo_sf(ns[i], x));
		}
		const double xs[] = {0.75 / n, 1.5 / n, 0.3, 0.5, 0.7, 1 - 1.0 / n, 1 - 0.5 / n};
		for (size_t j = 0; j < sizeof xs / sizeof xs[0]; j++)
			if (xs[j] > 0 && xs[j] < 1)
				special_case(&o, "kstwo", n, xs[j], mc_kstwo_sf(ns[i], xs[j]));
	}
	/* the exact two-sample p-value, from p near 1 to far below double's
	 * reach, on both sides of the switch between path counting and
	 * Viehmann's recursion (p = 1e-3, about lambda = 1.95) */
	static const int64_t kn[][2] = {{1, 5},	    {7, 3},	  {10, 7},	{100, 73},
					{500, 250}, {990, 742},	  {1000, 999},	{3000, 2000},
					{4096, 12}, {9900, 7420}, {10000, 9999}};
	static const double kl[] = {0.2, 0.5, 0.8, 1.0, 1.3, 1.6, 1.85, 1.95, 2.05, 2.5, 4, 8};
	for (size_t i = 0; i < sizeof kn / sizeof kn[0]; i++) {
		int64_t n1 = kn[i][0], n2 = kn[i][1], g = n1, r = n2;
		while (r) {
			int64_t t = g % r;
			g = r;
			r = t;
		}
		int64_t lcm = n1 / g * n2;
		double en = (double)n1 * (double)n2 / (double)(n1 + n2);
		for (size_t j = 0; j < sizeof kl / sizeof kl[0]; j++) {
			int64_t h = llround(kl[j] / sqrt(en) * (double)lcm);
			ks_exact_case(&o, n1, n2, h < 1 ? 1 : h > lcm ? lcm : h);
		}
	}
	static const int64_t sn[] = {1, 2, 10, 1000, 100000, 1000000, 2000000};
	static const double sx[] = {0.001, 0.01, 0.1, 0.5, 0.9};
	for (size_t i = 0; i < sizeof sn / sizeof sn[0]; i++)
		for (size_t j = 0; j < sizeof sx / sizeof sx[0]; j++)
			special_case(&o, "smirnov", (double)sn[i], sx[j],
				     mc_smirnov_sf(sn[i], sx[j]));
	static const double ga[] = {0.5, 1, 2.5, 10, 100, 1000, 5000};
	static const double gr[] = {0.01, 0.5, 0.9, 1, 1.1, 2, 5};
	for (size_t i = 0; i < sizeof ga / sizeof ga[0]; i++)
		for (size_t j = 0; j < sizeof gr / sizeof gr[0]; j++) {
			special_case(&o, "gammaq", ga[i], ga[i] * gr[j],
				     mc_gamma_q(ga[i], ga[i] * gr[j]));
			special_case(&o, "chi2", 2 * ga[i] * gr[j], 2 * ga[i],
				     mc_chi2_sf(2 * ga[i] * gr[j], 2 * ga[i]));
		}
	worst w = {0};
	run_check(&o, &w);
	print_message("special functions vs SciPy: %zu values, max abs diff %.3g, exact KS "
		      "p-values >= 1e-25 "
		      "max rel diff %.3g\n",
		      w.specials, w.special, w.ks_exact);
}

/* ---- no oracle needed ---- */

static void near(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

/* Evidently's own expected values (tests/stattests/test_stattests.py, test_registry.py). */
static void test_evidently_published(void **state)
{
	(void)state;
	uint64_t a[] = {16, 18, 16, 14, 12, 12}, b[] = {16, 16, 16, 16, 16, 8};
	uint64_t a2[] = {32, 36, 32, 28, 24, 24};
	mc_drift_result r;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_drift_counts(a, b, 6, "chisquare", 0.5, &r, &err), MC_OK);
	near(r.p_value, 0.67309, 1e-5, "chisquare p");
	assert_false(r.drift);
	assert_int_equal(mc_drift_counts(a2, b, 6, "chisquare", 0.5, &r, &err), MC_OK);
	near(r.p_value, 0.67309, 1e-5, "chisquare p, reference doubled");
	assert_int_equal(mc_drift_counts(a, b, 6, "hellinger", 0.1, &r, &err), MC_OK);
	near(r.statistic, 0.06812, 1e-5, "hellinger");
	assert_false(r.drift);
	uint64_t ab[] = {10, 10}, abc[] = {10, 10, 10};
	assert_int_equal(mc_drift_counts(ab, ab, 2, "chisquare", 0.5, &r, &err), MC_OK);
	near(r.p_value, 1, 1e-5, "chisquare equal");
	assert_int_equal(mc_drift_counts(abc, abc, 3, "chisquare", 0.5, &r, &err), MC_OK);
	near(r.p_value, 1, 1e-5, "chisquare a b c");
	assert_int_equal(mc_drift_counts(ab, ab, 2, "hellinger", 0.1, &r, &err), MC_OK);
	near(r.statistic, 0, 1e-5, "hellinger equal");
	assert_int_equal(mc_drift_counts(ab, ab, 2, "z", 0.5, &r, &err), MC_OK);
	near(r.p_value, 1, 1e-5, "z a b");
	assert_false(r.drift);
	const double same[] = {38.7, 41.5, 43.8, 44.5, 45.5, 46.0, 47.7, 58.0, NAN};
	assert_int_equal(mc_drift_numeric(same, 9, same, 9, "hellinger", 0.1, &r, &err), MC_OK);
	near(r.statistic, 0, 1e-5, "hellinger numeric");
	double ones[50];
	for (int i = 0; i < 50; i++)
		ones[i] = 1;
	assert_int_equal(mc_drift_numeric(ones, 50, ones, 50, "hellinger", 0.1, &r, &err), MC_OK);
	near(r.statistic, 0, 1e-3, "hellinger ones");
}

/* test_registry.py::test_get_default_stattest */
static void test_default_rule(void **state)
{
	(void)state;
	mc_drift_result r;
	mc_error err = MC_ERROR_INIT;
	double x[11000];
	for (int i = 0; i < 10; i++)
		x[i] = 1.0;
	assert_int_equal(mc_drift_numeric(x, 10, x, 10, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "z");
	for (int i = 0; i < 11000; i++)
		x[i] = 1 + i % 11;
	assert_int_equal(mc_drift_numeric(x, 11, x, 11, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "ks");
	assert_int_equal(mc_drift_numeric(x, 11000, x, 11000, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "wasserstein");
	for (int i = 0; i < 5000; i++)
		x[i] = 1 + i % 5;
	assert_int_equal(mc_drift_numeric(x, 5000, x, 5000, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "jensenshannon");
	uint64_t c3[] = {10, 10, 10}, c2[] = {10, 10}, big[] = {10000, 10000};
	assert_int_equal(mc_drift_counts(c3, c3, 3, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "chisquare");
	assert_int_equal(mc_drift_counts(c2, c2, 2, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "z");
	assert_int_equal(mc_drift_counts(big, big, 2, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "jensenshannon");
	/* the boundary: 1000 reference values is still "small" */
	for (int i = 0; i < 1001; i++)
		x[i] = i;
	assert_int_equal(mc_drift_numeric(x, 1000, x, 10, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "ks");
	assert_int_equal(mc_drift_numeric(x, 1001, x, 10, NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "wasserstein");
	assert_int_equal(r.n_ref, 1001);
	assert_int_equal(r.kind, MC_DRIFT_NUMERIC);
}

static void test_thresholds_and_direction(void **state)
{
	(void)state;
	mc_drift_result r;
	mc_error err = MC_ERROR_INIT;
	near(mc_drift_default_threshold("ks"), 0.05, 0, "ks");
	near(mc_drift_default_threshold("chisquare"), 0.05, 0, "chisquare");
	near(mc_drift_default_threshold("z"), 0.05, 0, "z");
	const char *dist[] = {"wasserstein", "jensenshannon", "psi", "kl_div", "hellinger"};
	for (int i = 0; i < 5; i++)
		near(mc_drift_default_threshold(dist[i]), 0.1, 0, dist[i]);
	assert_true(isnan(mc_drift_default_threshold("t_test")));
	assert_false(mc_drift_test_known("anderson"));
	assert_true(mc_drift_test_known("kl_div"));
	/* identical samples: ks p = 1; with threshold 1 it is drift (p <= t), chisquare not (p < t)
	 */
	const double x[] = {1, 2, 3, 4, 5, 6, 7};
	assert_int_equal(mc_drift_numeric(x, 7, x, 7, "ks", 1.0, &r, &err), MC_OK);
	near(r.p_value, 1, 0, "ks p");
	assert_true(r.drift);
	near(r.score, r.p_value, 0, "ks score");
	uint64_t c[] = {5, 5};
	assert_int_equal(mc_drift_counts(c, c, 2, "chisquare", 1.0, &r, &err), MC_OK);
	near(r.p_value, 1, 1e-15, "chisquare p");
	assert_false(r.drift);
	assert_int_equal(mc_drift_counts(c, c, 2, "z", 1.0, &r, &err), MC_OK);
	assert_false(r.drift);
	/* distance 0 with threshold 0: drift (>=) */
	assert_int_equal(mc_drift_numeric(x, 7, x, 7, "wasserstein", 0.0, &r, &err), MC_OK);
	near(r.statistic, 0, 0, "wasserstein");
	assert_true(r.drift);
	assert_true(isnan(r.p_value));
	near(r.threshold, 0, 0, "threshold");
	/* default threshold when NAN */
	assert_int_equal(mc_drift_numeric(x, 7, x, 7, "psi", NAN, &r, &err), MC_OK);
	near(r.threshold, 0.1, 0, "psi threshold");
}

static void test_errors(void **state)
{
	(void)state;
	mc_drift_result r;
	mc_error err = MC_ERROR_INIT;
	const double x[] = {1, 2, 3}, nan3[] = {NAN, INFINITY, -INFINITY};
	const char *s[] = {"a", NULL, "b"}, *nulls[] = {NULL, NULL};
	assert_int_equal(mc_drift_numeric(x, 3, x, 3, "anderson", NAN, &r, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "anderson"));
	assert_int_equal(mc_drift_numeric(x, 3, x, 3, "ks", -1, &r, &err), MC_ERR_INVALID);
	assert_int_equal(mc_drift_numeric(x, 3, x, 3, "ks", INFINITY, &r, &err), MC_ERR_INVALID);
	assert_int_equal(mc_drift_categorical(s, 3, s, 3, "ks", NAN, &r, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "categorical"));
	assert_int_equal(mc_drift_categorical(s, 3, s, 3, "wasserstein", NAN, &r, &err),
			 MC_ERR_INVALID);
	assert_int_equal(mc_drift_numeric(nan3, 3, x, 3, NULL, NAN, &r, &err), MC_ERR_EMPTY);
	assert_non_null(strstr(err.msg, "reference"));
	assert_int_equal(mc_drift_numeric(x, 3, nan3, 3, NULL, NAN, &r, &err), MC_ERR_EMPTY);
	assert_non_null(strstr(err.msg, "current"));
	assert_int_equal(mc_drift_numeric(x, 0, x, 3, NULL, NAN, &r, &err), MC_ERR_EMPTY);
	assert_int_equal(mc_drift_categorical(s, 3, nulls, 2, NULL, NAN, &r, &err), MC_ERR_EMPTY);
	uint64_t z[] = {0, 3}, w[] = {0, 4};
	assert_int_equal(mc_drift_counts(z, w, 2, NULL, NAN, &r, &err), MC_ERR_INVALID);
	uint64_t zero[] = {0, 0}, some[] = {1, 2};
	assert_int_equal(mc_drift_counts(zero, some, 2, NULL, NAN, &r, &err), MC_ERR_EMPTY);
	assert_int_equal(mc_drift_counts(some, zero, 2, NULL, NAN, &r, &err), MC_ERR_EMPTY);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Against qsort on the finite values: sizes around the thresholds, signs,
 * subnormals, huge magnitudes, heavy ties, clustered values, missing ones. */
static void test_sort(void **state)
{
	(void)state;
	rng_state = 99;
	static const size_t sizes[] = {0, 1, 2, 31, 32, 33, 65, 1000, 4097, 70000, 300000};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (int kind = 0; kind < 4; kind++) {
			size_t n = sizes[s], kept, m = 0;
			double *a = malloc((n ? n : 1) * sizeof *a),
			       *want = malloc((n ? n : 1) * sizeof *a);
			for (size_t i = 0; i < n; i++) {
				uint64_t r = rng_next() % 12;
				double v = kind == 0   ? normal() * 1e3
					   : kind == 1 ? (double)(rng_next() % 7)
					   : kind == 2 ? 20 + normal() * 1e-9
						       : normal();
				a[i] = r == 0	? -0.0
				       : r == 1 ? -1e300
				       : r == 2 ? 5e-324
				       : r == 3 ? NAN
						: v;
				if (isfinite(a[i]))
					want[m++] = a[i] + 0.0;
			}
			qsort(want, m, sizeof *want, cmp_double);
			double *got;
			assert_int_equal(mc_drift_sorted_copy(a, n, NULL, &got, &kept), MC_OK);
			assert_int_equal(kept, m);
			assert_true(isinf(got[m]) && got[m] > 0); /* the sentinel */
			for (size_t i = 0; i < m; i++)
				if (got[i] != want[i] || (got[i] == 0 && signbit(got[i])))
					fail_msg("n %zu kind %d: [%zu] = %g, want %g", n, kind, i,
						 got[i], want[i]);
			free(got);
			free(a);
			free(want);
		}
}

/* ---- tables, dataset drift, histograms ---- */

static mc_table *table_of(size_t n, double shift, bool with_nulls)
{
	mc_table *t = mc_table_new();
	int price = mc_table_add_column(t, "price", MC_T_DOUBLE, true);
	int state = mc_table_add_column(t, "state", MC_T_STRING, true);
	int count = mc_table_add_column(t, "count", MC_T_INT32, false);
	int flag = mc_table_add_column(t, "flag", MC_T_BOOL, false);
	int date = mc_table_add_column(t, "date", MC_T_DATE, false);
	static const char *const states[] = {"Jalisco", "Nuevo León", "Yucatán"};
	for (size_t i = 0; i < n; i++) {
		if (with_nulls && i % 10 == 0)
			assert_int_equal(mc_column_push_null(&t->cols[price]), MC_OK);
		else
			assert_int_equal(mc_column_push_f64(&t->cols[price], 20 + shift + normal()),
					 MC_OK);
		if (with_nulls && i % 7 == 0) {
			assert_int_equal(mc_column_push_null(&t->cols[state]), MC_OK);
		} else {
			const char *s = states[(i + (size_t)shift) % 3];
			assert_int_equal(mc_column_push_str(&t->cols[state], s, strlen(s)), MC_OK);
		}
		assert_int_equal(mc_column_push_i32(&t->cols[count], (int32_t)(i % 9)), MC_OK);
		assert_int_equal(mc_column_push_bool(&t->cols[flag], i % 3 == 0), MC_OK);
		assert_int_equal(mc_column_push_i32(&t->cols[date], (int32_t)i), MC_OK);
	}
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_table_seal(t, &err), MC_OK);
	return t;
}

static void test_columns(void **state)
{
	(void)state;
	rng_state = 5;
	mc_table *ref = table_of(400, 0, true), *cur = table_of(300, 3, false);
	mc_drift_result r, q;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_drift_column(ref, cur, "price", NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "ks");
	assert_int_equal(r.n_ref, 360); /* 40 nulls dropped */
	assert_int_equal(r.n_cur, 300);
	assert_true(r.drift);
	/* the same numbers through the array API */
	double *a = malloc(400 * sizeof *a), *b = malloc(300 * sizeof *b);
	for (size_t i = 0; i < 400; i++)
		a[i] = mc_column_is_null(&ref->cols[0], i) ? NAN : MC_COL_F64(&ref->cols[0])[i];
	for (size_t i = 0; i < 300; i++)
		b[i] = MC_COL_F64(&cur->cols[0])[i];
	assert_int_equal(mc_drift_numeric(a, 400, b, 300, NULL, NAN, &q, &err), MC_OK);
	near(q.statistic, r.statistic, 0, "same statistic");
	near(q.p_value, r.p_value, 0, "same p");
	free(a);
	free(b);
	assert_int_equal(mc_drift_column(ref, cur, "state", NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "chisquare");
	assert_int_equal(r.kind, MC_DRIFT_CATEGORICAL);
	assert_int_equal(r.n_ref, 400 - 58);
	assert_int_equal(mc_drift_column(ref, cur, "count", NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "ks"); /* 9 distinct values > 5 */
	assert_int_equal(mc_drift_column(ref, cur, "flag", NULL, NAN, &r, &err), MC_OK);
	assert_string_equal(r.test, "z");
	assert_int_equal(mc_drift_column(ref, cur, "date", NULL, NAN, &r, &err),
			 MC_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "'date'"));
	assert_int_equal(mc_drift_column(ref, cur, "nope", NULL, NAN, &r, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "'nope'"));
	assert_int_equal(mc_drift_column(ref, cur, "state", "ks", NAN, &r, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "column 'state'"));
	mc_table_free(ref);
	mc_table_free(cur);
}

static void test_dataset(void **state)
{
	(void)state;
	rng_state = 6;
	mc_table *ref = table_of(400, 0, false), *cur = table_of(300, 3, false);
	const char *cols[] = {"price", "state", "count", "flag"};
	mc_drift_dataset d;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_drift_dataset_compute(ref, cur, cols, 4, NULL, &d, &err), MC_OK);
	assert_int_equal(d.ncols, 4);
	assert_int_equal(d.n_tested, 4);
	size_t drifted = 0;
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(d.cols[i].column, cols[i]);
		drifted += d.cols[i].result.drift;
	}
	assert_int_equal(d.n_drifted, drifted);
	near(d.share, (double)drifted / 4, 0, "share");
	assert_int_equal(d.drift, d.share >= 0.5);
	mc_drift_dataset_release(&d);
	/* share exactly at the threshold is dataset drift (>=) */
	mc_drift_options o = MC_DRIFT_OPTIONS_INIT;
	o.num_test = "wasserstein";
	o.cat_test = "jensenshannon";
	o.threshold = 0.0; /* every distance >= 0: all drift */
	assert_int_equal(mc_drift_dataset_compute(ref, cur, cols, 4, &o, &d, &err), MC_OK);
	assert_int_equal(d.n_drifted, 4);
	assert_true(d.drift);
	mc_drift_dataset_release(&d);
	const char *two[] = {"price", "state"};
	o.threshold = NAN;
	o.drift_share = 0.5;
	assert_int_equal(mc_drift_dataset_compute(ref, ref, two, 2, &o, &d, &err), MC_OK);
	assert_int_equal(d.n_drifted, 0);
	assert_false(d.drift);
	mc_drift_dataset_release(&d);
	/* an empty column: an error naming it, or skipped on request */
	mc_table *empty = mc_table_clone_schema(ref);
	assert_int_equal(mc_table_seal(empty, &err), MC_OK);
	assert_int_equal(mc_drift_dataset_compute(ref, empty, cols, 4, NULL, &d, &err),
			 MC_ERR_EMPTY);
	assert_non_null(strstr(err.msg, "column 'price'"));
	mc_drift_dataset_release(&d);
	o.skip_empty = true;
	assert_int_equal(mc_drift_dataset_compute(ref, empty, cols, 4, &o, &d, &err), MC_OK);
	assert_int_equal(d.n_tested, 0);
	assert_true(d.cols[0].skipped);
	assert_true(isnan(d.share));
	assert_false(d.drift);
	mc_drift_dataset_release(&d);
	mc_table_free(empty);
	mc_table_free(ref);
	mc_table_free(cur);
}

static void test_histograms(void **state)
{
	(void)state;
	rng_state = 7;
	mc_drift_histogram h;
	mc_error err = MC_ERROR_INIT;
	double *a = make(G_NORMAL, 1000, 0, 1), *b = make(G_NORMAL, 500, 1, 1);
	a[3] = NAN;
	assert_int_equal(mc_drift_histogram_numeric(a, 1000, b, 500, &h, &err), MC_OK);
	assert_non_null(h.edges);
	assert_null(h.values);
	assert_null(h.labels);
	/* Sturges over 1499 values: ceil(log2(1499) + 1) = 12 bins */
	assert_int_equal(h.nbins, 12);
	uint64_t ta = 0, tb = 0;
	for (size_t i = 0; i < h.nbins; i++) {
		assert_true(h.edges[i] < h.edges[i + 1]);
		ta += h.ref[i];
		tb += h.cur[i];
	}
	assert_int_equal(ta, 999);
	assert_int_equal(tb, 500);
	assert_int_equal(h.n_ref, 999);
	mc_drift_histogram_release(&h);
	assert_null(h.edges);
	free(a);
	free(b);
	/* few distinct values: one bin per value */
	const double x[] = {1, 2, 2, 3}, y[] = {2, 4};
	assert_int_equal(mc_drift_histogram_numeric(x, 4, y, 2, &h, &err), MC_OK);
	assert_int_equal(h.nbins, 4);
	assert_non_null(h.values);
	near(h.values[3], 4, 0, "value");
	assert_int_equal(h.ref[1], 2);
	assert_int_equal(h.cur[3], 1);
	assert_int_equal(h.ref[3], 0);
	mc_drift_histogram_release(&h);
	const char *s[] = {"b", "a", NULL, "b"}, *t[] = {"c", "b"};
	assert_int_equal(mc_drift_histogram_categorical(s, 4, t, 2, &h, &err), MC_OK);
	assert_int_equal(h.nbins, 3);
	assert_string_equal(h.labels[0], "a");
	assert_string_equal(h.labels[2], "c");
	assert_int_equal(h.ref[1], 2);
	assert_int_equal(h.cur[2], 1);
	assert_int_equal(h.n_ref, 3);
	mc_drift_histogram_release(&h);
	mc_table *ref = table_of(100, 0, true), *cur = table_of(80, 1, false);
	assert_int_equal(mc_drift_histogram_column(ref, cur, "state", &h, &err), MC_OK);
	assert_int_equal(h.nbins, 3);
	assert_string_equal(h.labels[1], "Nuevo León");
	mc_drift_histogram_release(&h);
	assert_int_equal(mc_drift_histogram_column(ref, cur, "flag", &h, &err), MC_OK);
	assert_string_equal(h.labels[0], "false");
	mc_drift_histogram_release(&h);
	assert_int_equal(mc_drift_histogram_column(ref, cur, "price", &h, &err), MC_OK);
	assert_non_null(h.edges);
	mc_drift_histogram_release(&h);
	mc_table_free(ref);
	mc_table_free(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evidently_published),
		cmocka_unit_test(test_default_rule),
		cmocka_unit_test(test_thresholds_and_direction),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_dataset),
		cmocka_unit_test(test_histograms),
		cmocka_unit_test(test_special_vs_scipy),
		cmocka_unit_test(test_numeric_vs_scipy),
		cmocka_unit_test(test_categorical_vs_scipy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
