/*
 * Unit tests of hyperparameter search: space parsing and its errors, the
 * built-in space, priors, determinism, the TPE internals against
 * hand-computed and SciPy values (tests/oracle/search_oracle.py), ask/tell
 * bookkeeping, and TPE beating random search on standard test functions.
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

#include "milkcast/search.h"
#include "search/search_int.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static mc_space *parse_ok(const char *json)
{
	mc_space *s = NULL;
	mc_error err = MC_ERROR_INIT;
	mc_code rc = mc_space_parse_json(json, strlen(json), "t.json", &s, &err);
	if (rc)
		fail_msg("unexpected error: %s", err.msg);
	return s;
}

/* ---- spaces ---- */

static const char *good_space =
	"{\n"
	"  \"depth\": {\"type\": \"quniform\", \"low\": 3, \"high\": 10, \"q\": 1},\n"
	"  \"lr\": {\"type\": \"loguniform\", \"low\": -4, \"high\": 0},\n"
	"  \"frac\": {\"type\": \"uniform\", \"low\": 0.5, \"high\": 1},\n"
	"  \"leaves\": {\"type\": \"qloguniform\", \"low\": 0, \"high\": 5, \"q\": 2},\n"
	"  \"half\": {\"type\": \"quniform\", \"low\": 0, \"high\": 1, \"q\": 0.25},\n"
	"  \"shift\": {\"type\": \"normal\", \"mu\": 1, \"sigma\": 2},\n"
	"  \"booster\": {\"type\": \"choice\", \"options\": [\"gbtree\", \"dart\", 3, 0.5]}\n"
	"}";

static const char *good_space_array =
	"[{\"name\": \"depth\", \"type\": \"quniform\", \"low\": 3, \"high\": 10, \"q\": 1},"
	" {\"name\": \"lr\", \"type\": \"loguniform\", \"low\": -4, \"high\": 0},"
	" {\"name\": \"frac\", \"type\": \"uniform\", \"low\": 0.5, \"high\": 1},"
	" {\"name\": \"leaves\", \"type\": \"qloguniform\", \"low\": 0, \"high\": 5, \"q\": 2},"
	" {\"name\": \"half\", \"type\": \"quniform\", \"low\": 0, \"high\": 1, \"q\": 0.25},"
	" {\"name\": \"shift\", \"type\": \"normal\", \"mu\": 1, \"sigma\": 2},"
	" {\"name\": \"booster\", \"type\": \"choice\", \"options\": [\"gbtree\", \"dart\", 3, "
	"0.5]}]";

static void test_space_parse_good(void **state)
{
	(void)state;
	mc_space *s = parse_ok(good_space);
	const char *names[] = {"depth", "lr", "frac", "leaves", "half", "shift", "booster"};
	const mc_param_type types[] = {MC_PARAM_QUNIFORM,    MC_PARAM_LOGUNIFORM, MC_PARAM_UNIFORM,
				       MC_PARAM_QLOGUNIFORM, MC_PARAM_QUNIFORM,	  MC_PARAM_NORMAL,
				       MC_PARAM_CHOICE};
	const bool integer[] = {true, false, false, true, false, false, true};
	assert_int_equal(mc_space_size(s), 7);
	for (size_t i = 0; i < 7; i++) {
		assert_string_equal(mc_space_name(s, i), names[i]); /* file order kept */
		assert_int_equal(mc_space_type(s, i), types[i]);
		assert_int_equal(mc_space_is_integer(s, i), integer[i]);
		assert_int_equal(mc_space_find(s, names[i]), i);
	}
	assert_int_equal(mc_space_find(s, "nope"), SIZE_MAX);
	mc_param_info info;
	mc_space_param(s, 0, &info);
	assert_true(info.low == 3 && info.high == 10 && info.q == 1 && info.integer);
	mc_space_param(s, 5, &info);
	assert_true(info.mu == 1 && info.sigma == 2);
	mc_space_param(s, 6, &info);
	assert_int_equal(info.n_options, 4);
	assert_string_equal(mc_space_option(s, 6, 0), "gbtree");
	assert_string_equal(mc_space_option(s, 6, 2), "3");
	assert_string_equal(mc_space_option(s, 6, 3), "0.5");
	assert_true(mc_space_option_is_number(s, 6, 2));
	assert_false(mc_space_option_is_number(s, 6, 1));
	assert_null(mc_space_option(s, 6, 4));
	assert_null(mc_space_option(s, 0, 0));
	assert_string_equal(mc_param_type_name(MC_PARAM_QLOGUNIFORM), "qloguniform");

	mc_space *a = parse_ok(good_space_array);
	assert_true(mc_space_equal(s, a));
	/* the space written back parses to the same space */
	mc_buf b = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_space_to_json(s, &b, &err), MC_OK);
	mc_space *r = parse_ok((const char *)b.data);
	assert_true(mc_space_equal(s, r));
	mc_buf_release(&b);
	mc_space_free(r);
	mc_space_free(a);
	mc_space_free(s);
}

typedef struct bad_case {
	const char *json;
	mc_code code;
	const char *msg; /* the whole message */
} bad_case;

static const bad_case bad_cases[] = {
	{"{\"max_depth\": {\"type\": \"quniform\", \"low\": 3, \"high\": 2, \"q\": 1}}",
	 MC_ERR_INVALID,
	 "t.json: parameter 'max_depth': 'high' (2) must be greater than 'low' (3)"},
	{"{\"a\": {\"type\": \"uniform\", \"low\": 1, \"high\": 1}}", MC_ERR_INVALID,
	 "t.json: parameter 'a': 'high' (1) must be greater than 'low' (1)"},
	{"{\n  \"a\": {\"type\": \"uniform\",\n \"low\": 0 \"high\": 1}}", MC_ERR_FORMAT,
	 "t.json: line 3 column 16: '}' expected near '\"high\"'"},
	{"{\"a\": {\"type\": \"triangular\", \"low\": 0, \"high\": 1}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': unknown 'type' 'triangular' (expected uniform, loguniform, "
	 "quniform, qloguniform, normal or choice)"},
	{"{\"a\": {\"low\": 0, \"high\": 1}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': 'type' is missing"},
	{"{\"a\": {\"type\": 3}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': 'type' must be a string, not a number"},
	{"{\"a\": {\"type\": \"uniform\", \"low\": 0}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': 'high' is missing"},
	{"{\"a\": {\"type\": \"quniform\", \"low\": 0, \"high\": 4}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': 'q' is missing"},
	{"{\"a\": {\"type\": \"uniform\", \"low\": \"0\", \"high\": 1}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': 'low' must be a number, not a string"},
	{"{\"a\": {\"type\": \"uniform\", \"low\": 0, \"hihg\": 1}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': unknown field 'hihg' for type 'uniform'"},
	{"{\"a\": {\"type\": \"quniform\", \"low\": 0, \"high\": 4, \"q\": 0}}", MC_ERR_INVALID,
	 "t.json: parameter 'a': 'q' (0) must be greater than 0"},
	{"{\"a\": {\"type\": \"qloguniform\", \"low\": 0, \"high\": 4, \"q\": -1}}", MC_ERR_INVALID,
	 "t.json: parameter 'a': 'q' (-1) must be greater than 0"},
	{"{\"a\": {\"type\": \"normal\", \"mu\": 0, \"sigma\": 0}}", MC_ERR_INVALID,
	 "t.json: parameter 'a': 'sigma' (0) must be greater than 0"},
	{"{\"a\": {\"type\": \"loguniform\", \"low\": 0, \"high\": 800}}", MC_ERR_INVALID,
	 "t.json: parameter 'a': 'high' (800) is in log space and must be below 700"},
	{"{\"a\": {\"type\": \"choice\", \"options\": []}}", MC_ERR_INVALID,
	 "t.json: parameter 'a': 'options' must not be empty"},
	{"{\"a\": {\"type\": \"choice\"}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': 'options' is missing"},
	{"{\"a\": {\"type\": \"choice\", \"options\": \"x\"}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': 'options' must be an array, not a string"},
	{"{\"a\": {\"type\": \"choice\", \"options\": [1, null]}}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': 'options'[1] must be a number or a string, not null"},
	{"{\"a\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1},\n"
	 " \"a\": {\"type\": \"uniform\", \"low\": 0, \"high\": 2}}",
	 MC_ERR_FORMAT, "t.json: line 2 column 4: duplicate object key near '\"a\"'"},
	{"[{\"name\": \"a\", \"type\": \"uniform\", \"low\": 0, \"high\": 1},"
	 " {\"name\": \"a\", \"type\": \"uniform\", \"low\": 0, \"high\": 2}]",
	 MC_ERR_INVALID, "t.json: parameter 'a': defined twice"},
	{"[{\"type\": \"uniform\", \"low\": 0, \"high\": 1}]", MC_ERR_FORMAT,
	 "t.json: parameter #1: 'name' is missing"},
	{"[{\"name\": \"a\", \"type\": \"uniform\", \"low\": 0, \"high\": 1}, 7]", MC_ERR_FORMAT,
	 "t.json: parameter #2: 'name' is missing"},
	{"{\"a\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1, \"name\": \"b\"}}",
	 MC_ERR_FORMAT, "t.json: parameter 'a': unknown field 'name' for type 'uniform'"},
	{"{\"a\": 5}", MC_ERR_FORMAT,
	 "t.json: parameter 'a': expected an object with a 'type', not a number"},
	{"{\"\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1}}", MC_ERR_FORMAT,
	 "t.json: parameter #1: the name must not be empty"},
	{"{}", MC_ERR_INVALID, "t.json: the space has no parameters"},
	{"\"x\"", MC_ERR_FORMAT, "t.json: line 1 column 3: '[' or '{' expected near '\"x\"'"},
};

static void test_space_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_OF(bad_cases); i++) {
		mc_space *s = (mc_space *)1;
		mc_error err = MC_ERROR_INIT;
		const char *j = bad_cases[i].json;
		mc_code rc = mc_space_parse_json(j, strlen(j), "t.json", &s, &err);
		if (rc != bad_cases[i].code || strcmp(err.msg, bad_cases[i].msg) != 0)
			fail_msg("case %zu: got %d '%s', want %d '%s'", i, rc, err.msg,
				 bad_cases[i].code, bad_cases[i].msg);
		assert_null(s);
	}
}

static void test_space_too_many(void **state)
{
	(void)state;
	mc_buf b = MC_BUF_INIT;
	mc_buf_printf(&b, "{");
	for (int i = 0; i <= MC_SPACE_MAX_PARAMS; i++)
		mc_buf_printf(&b, "%s\"p%d\": {\"type\": \"uniform\", \"low\": 0, \"high\": 1}",
			      i ? ", " : "", i);
	mc_buf_printf(&b, "}");
	mc_space *s;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_space_parse_json((char *)b.data, b.len, "big.json", &s, &err),
			 MC_ERR_LIMIT);
	assert_string_equal(err.msg, "big.json: 65 parameters, more than the 64 allowed");
	/* exactly 64 is fine */
	char *cut = strstr((char *)b.data, ", \"p64\"");
	strcpy(cut, "}");
	assert_int_equal(
		mc_space_parse_json((char *)b.data, strlen((char *)b.data), "ok.json", &s, &err),
		MC_OK);
	assert_int_equal(mc_space_size(s), 64);
	mc_space_free(s);
	mc_buf_release(&b);
}

static void test_space_default(void **state)
{
	(void)state;
	mc_space *d = mc_space_default(), *f = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_space_load_file("data/search-space.json", &f, &err), MC_OK);
	assert_true(mc_space_equal(d, f));
	assert_int_equal(mc_space_size(d), 9);
	mc_param_info p;
	mc_space_param(d, mc_space_find(d, "reg_alpha"), &p);
	assert_true(fabs(p.low - log(1e-3)) < 1e-15 && fabs(p.high - log(10)) < 1e-15);
	mc_space_param(d, mc_space_find(d, "reg_lambda"), &p);
	assert_true(fabs(p.low - log(1e-2)) < 1e-15 && fabs(p.high - log(100)) < 1e-15);
	mc_space_param(d, mc_space_find(d, "n_estimators"), &p);
	assert_true(p.type == MC_PARAM_QUNIFORM && p.low == 50 && p.high == 300 && p.q == 10);
	mc_space_param(d, mc_space_find(d, "learning_rate"), &p);
	assert_true(p.type == MC_PARAM_LOGUNIFORM && p.low == -4 && p.high == 0);
	mc_space_free(f);
	assert_int_equal(mc_space_load_file("data/no-such-space.json", &f, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "data/no-such-space.json"));
	mc_space_free(d);
}

static void test_space_format(void **state)
{
	(void)state;
	mc_space *s = parse_ok(good_space);
	const double x[] = {7, 0.0123, 0.75, 4, 0.25, -1.5, 1};
	mc_buf b = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_space_format_json(s, x, &b, &err), MC_OK);
	assert_string_equal((char *)b.data,
			    "{\"depth\": 7, \"lr\": 0.0123, \"frac\": 0.75, \"leaves\": 4, "
			    "\"half\": 0.25, \"shift\": -1.5, \"booster\": \"dart\"}");
	mc_buf_reset(&b);
	const double y[] = {3, 0.1, NAN, 0, 1, 0.1 + 0.2, 2};
	assert_int_equal(mc_space_format_json(s, y, &b, &err), MC_OK);
	assert_string_equal((char *)b.data,
			    "{\"depth\": 3, \"lr\": 0.1, \"frac\": null, \"leaves\": 0, "
			    "\"half\": 1, \"shift\": 0.30000000000000004, \"booster\": 3}");
	mc_buf_release(&b);
	mc_space_free(s);
}

/* ---- priors and random search ---- */

static void test_priors(void **state)
{
	(void)state;
	mc_space *s = parse_ok(good_space);
	mc_search *r;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_search_new(s, MC_SEARCH_RANDOM, 42, NULL, &r, &err), MC_OK);
	enum { N = 20000 };
	double x[7], log_lr_sum = 0, shift_sum = 0, shift_sq = 0;
	size_t lr_low_half = 0, choice_count[4] = {0}, depth_count[11] = {0};
	for (int t = 0; t < N; t++) {
		assert_int_equal(mc_search_ask(r, x, &err), MC_OK);
		assert_true(x[0] >= 3 && x[0] <= 10 && x[0] == floor(x[0]));
		depth_count[(int)x[0]]++;
		assert_true(x[1] >= exp(-4) && x[1] < 1);
		log_lr_sum += log(x[1]);
		lr_low_half += log(x[1]) < -2;
		assert_true(x[2] >= 0.5 && x[2] < 1);
		assert_true(x[3] >= 0 && x[3] <= 150 && fmod(x[3], 2) == 0);
		assert_true(x[4] >= 0 && x[4] <= 1 && fmod(x[4], 0.25) == 0);
		shift_sum += x[5];
		shift_sq += x[5] * x[5];
		assert_true(x[6] >= 0 && x[6] < 4 && x[6] == floor(x[6]));
		choice_count[(int)x[6]]++;
	}
	/* log(lr) uniform on [-4, 0]: mean -2 (sd of the mean 0.008), half below -2 */
	assert_true(fabs(log_lr_sum / N + 2) < 0.05);
	assert_true(fabs((double)lr_low_half / N - 0.5) < 0.02);
	double m = shift_sum / N;
	assert_true(fabs(m - 1) < 0.06 && fabs(sqrt(shift_sq / N - m * m) - 2) < 0.06);
	for (int k = 0; k < 4; k++)
		assert_true(fabs((double)choice_count[k] / N - 0.25) < 0.02);
	/* round(U(3, 10)): 3 and 10 get half a bin (1/14), the others 1/7 */
	assert_true(fabs((double)depth_count[3] / N - 1.0 / 14) < 0.01);
	assert_true(fabs((double)depth_count[6] / N - 1.0 / 7) < 0.015);
	assert_true(fabs((double)depth_count[10] / N - 1.0 / 14) < 0.01);
	mc_search_free(r);
	mc_space_free(s);
}

static void test_rng(void **state)
{
	(void)state;
	mc_rng a, b;
	mc_rng_seed(&a, 7);
	mc_rng_seed(&b, 7);
	for (int i = 0; i < 100; i++)
		assert_true(mc_rng_next(&a) == mc_rng_next(&b));
	mc_rng_seed(&b, 8);
	assert_true(mc_rng_next(&a) != mc_rng_next(&b));
	double sum = 0, sq = 0;
	for (int i = 0; i < 20000; i++) {
		double u = mc_rng_uniform(&a);
		assert_true(u >= 0 && u < 1);
		double z = mc_rng_normal(&a);
		sum += z;
		sq += z * z;
		assert_true(mc_rng_below(&a, 3) < 3);
	}
	assert_true(fabs(sum / 20000) < 0.03 && fabs(sq / 20000 - 1) < 0.05);
	const double p[] = {0, 1, 0, 3};
	size_t count[4] = {0};
	for (int i = 0; i < 8000; i++)
		count[mc_rng_categorical(&a, p, 4)]++;
	assert_true(count[0] == 0 && count[2] == 0);
	assert_true(fabs(count[1] / 8000.0 - 0.25) < 0.02);
}

/* ---- TPE internals ---- */

static void assert_close(double got, double want, double tol, const char *what, size_t i)
{
	if (!(fabs(got - want) <= tol * fmax(1, fabs(want))))
		fail_msg("%s[%zu]: got %.17g, want %.17g", what, i, got, want);
}

static void assert_all_close(const double *got, const double *want, size_t n, double tol,
			     const char *what)
{
	for (size_t i = 0; i < n; i++)
		assert_close(got[i], want[i], tol, what, i);
}

/* Values printed by tests/oracle/search_oracle.py (NumPy 1.24, SciPy 1.10). */
static const double lf30[] = {0.033333333333333333,
			      0.27500000000000002,
			      0.51666666666666672,
			      0.7583333333333333,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1};
static const double lf26[] = {0.038461538461538464,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1,
			      1};
/* obs30[k] = (k * 37 % 101) / 101, prior_pos = 16 */
static const double parzen30_w[] = {
	0.0011661807580174927, 0.034985422740524783, 0.034985422740524783, 0.026530612244897958,
	0.034985422740524783,  0.034985422740524783, 0.034985422740524783, 0.034985422740524783,
	0.034985422740524783,  0.034985422740524783, 0.034985422740524783, 0.0096209912536443162,
	0.034985422740524783,  0.034985422740524783, 0.034985422740524783, 0.034985422740524783,
	0.034985422740524783,  0.034985422740524783, 0.034985422740524783, 0.034985422740524783,
	0.034985422740524783,  0.034985422740524783, 0.034985422740524783, 0.018075801749271141,
	0.034985422740524783,  0.034985422740524783, 0.034985422740524783, 0.034985422740524783,
	0.034985422740524783,  0.034985422740524783, 0.034985422740524783};
static const double parzen30_mu[] = {0,
				     0.029702970297029702,
				     0.059405940594059403,
				     0.099009900990099015,
				     0.12871287128712872,
				     0.15841584158415842,
				     0.19801980198019803,
				     0.22772277227722773,
				     0.25742574257425743,
				     0.29702970297029702,
				     0.32673267326732675,
				     0.36633663366336633,
				     0.39603960396039606,
				     0.42574257425742573,
				     0.46534653465346537,
				     0.49504950495049505,
				     0.5,
				     0.52475247524752477,
				     0.5643564356435643,
				     0.59405940594059403,
				     0.62376237623762376,
				     0.6633663366336634,
				     0.69306930693069302,
				     0.73267326732673266,
				     0.76237623762376239,
				     0.79207920792079212,
				     0.83168316831683164,
				     0.86138613861386137,
				     0.8910891089108911,
				     0.93069306930693074,
				     0.96039603960396036};
static const double parzen30_sigma[] = {0.03125,
					0.03125,
					0.039603960396039611,
					0.039603960396039611,
					0.03125,
					0.039603960396039611,
					0.039603960396039611,
					0.03125,
					0.039603960396039584,
					0.039603960396039584,
					0.039603960396039584,
					0.039603960396039584,
					0.03125,
					0.039603960396039639,
					0.039603960396039639,
					0.03125,
					1,
					0.039603960396039528,
					0.039603960396039528,
					0.03125,
					0.039603960396039639,
					0.039603960396039639,
					0.039603960396039639,
					0.039603960396039639,
					0.03125,
					0.039603960396039528,
					0.039603960396039528,
					0.03125,
					0.039603960396039639,
					0.039603960396039639,
					0.03125};
static const double cat30_p[] = {0.25435356200527703, 0.24564643799472291, 0.23799472295514509,
				 0.26200527704485488};
static const double gmm_bounded[] = {-1.1553285744930821, 0.23317612234641524,
				     -0.42629794917125596};
static const double gmm_quant[] = {-4.1697933205808209, -1.7853722670944439, -3.3924833988886625};
static const double gmm_free[] = {-8.0466258635350609, 0.78163317464925608};
static const double lgmm_plain[] = {1.0845109099433365, 0.64088897745591566, -2.0820881223156662};
static const double lgmm_quant[] = {-3.0366252575464636, -3.651241434061351, -6.9347701176076564};

static void test_split_and_forgetting(void **state)
{
	(void)state;
	/* n_below = min(ceil(0.25 sqrt(N)), 25) */
	assert_int_equal(mc_tpe_n_below(20, 0.25, 25), 2);  /* ceil(1.118) */
	assert_int_equal(mc_tpe_n_below(16, 0.25, 25), 1);  /* exactly 1 */
	assert_int_equal(mc_tpe_n_below(100, 0.25, 25), 3); /* ceil(2.5) */
	assert_int_equal(mc_tpe_n_below(10000, 0.25, 25), 25);
	assert_int_equal(mc_tpe_n_below(20000, 0.25, 25), 25); /* 36 capped */
	assert_int_equal(mc_tpe_n_below(0, 0.25, 25), 0);
	double w[30];
	mc_tpe_lf_weights(30, 25, w);
	assert_all_close(w, lf30, 30, 1e-15, "lf30");
	mc_tpe_lf_weights(26, 25, w);
	assert_all_close(w, lf26, 26, 1e-15, "lf26");
	mc_tpe_lf_weights(25, 25, w);
	for (int k = 0; k < 25; k++)
		assert_true(w[k] == 1);
}

typedef struct parzen_case {
	double obs[4];
	size_t n;
	double w[5], mu[5], sigma[5];
} parzen_case;

/*
 * Hand-computed adaptive_parzen_normal, prior of uniform(0, 10): prior_mu 5,
 * prior_sigma 10, prior_weight 1.  minsigma = 10 / min(100, 1 + len(mus)).
 */
static const parzen_case parzen_cases[] = {
	/* no observations: the prior alone */
	{{0}, 0, {1}, {5}, {10}},
	/* one above the prior: prior first, the observation at sigma/2 */
	{{7}, 1, {0.5, 0.5}, {5, 7}, {10, 5}},
	/* one equal to the prior mean: the prior goes second */
	{{5}, 1, {0.5, 0.5}, {5, 5}, {5, 10}},
	/* sorted 2 3 [5] 8: gaps 1, max(1,2), -, 3; minsigma 10/5 = 2 */
	{{2, 8, 3}, 3, {0.25, 0.25, 0.25, 0.25}, {2, 3, 5, 8}, {2, 2, 10, 3}},
	/* ties: searchsorted puts the prior before the equal 5s: 1 [5] 5 5;
	 * gaps 4, 4, 0, 0 clipped to minsigma 2 */
	{{5, 1, 5}, 3, {0.25, 0.25, 0.25, 0.25}, {1, 5, 5, 5}, {4, 10, 2, 2}},
	/* 4 observations: minsigma 10/6; 0 0.5 [5] 9.5 10 → 0.5, 4.5, -, 4.5, 0.5→1.667 */
	{{10, 0, 9.5, 0.5},
	 4,
	 {0.2, 0.2, 0.2, 0.2, 0.2},
	 {0, 0.5, 5, 9.5, 10},
	 {10.0 / 6, 4.5, 10, 4.5, 10.0 / 6}},
};

static void test_parzen_hand(void **state)
{
	(void)state;
	for (size_t c = 0; c < N_OF(parzen_cases); c++) {
		const parzen_case *pc = &parzen_cases[c];
		double w[5], mu[5], sigma[5];
		mc_gmm g = {0, w, mu, sigma};
		assert_int_equal(mc_tpe_parzen(pc->obs, pc->n, 1.0, 5, 10, 25, &g), MC_OK);
		assert_int_equal(g.n, pc->n + 1);
		assert_all_close(w, pc->w, g.n, 1e-15, "w");
		assert_all_close(mu, pc->mu, g.n, 1e-15, "mu");
		assert_all_close(sigma, pc->sigma, g.n, 1e-15, "sigma");
	}
}

static void test_parzen_oracle(void **state)
{
	(void)state;
	double obs[30], w[31], mu[31], sigma[31];
	for (int k = 0; k < 30; k++)
		obs[k] = (double)(k * 37 % 101) / 101.0;
	mc_gmm g = {0, w, mu, sigma};
	assert_int_equal(mc_tpe_parzen(obs, 30, 1.0, 0.5, 1.0, 25, &g), MC_OK);
	assert_all_close(w, parzen30_w, 31, 1e-14, "parzen30_w");
	assert_all_close(mu, parzen30_mu, 31, 0, "parzen30_mu");
	assert_all_close(sigma, parzen30_sigma, 31, 1e-14, "parzen30_sigma");

	/* 200 observations 0.001 apart: minsigma = prior_sigma / 100 (the cap) */
	double many[200], w2[201], mu2[201], s2[201];
	for (int k = 0; k < 200; k++)
		many[k] = 0.001 * k;
	mc_gmm g2 = {0, w2, mu2, s2};
	assert_int_equal(mc_tpe_parzen(many, 200, 1.0, 0.5, 1.0, 25, &g2), MC_OK);
	assert_close(s2[100], 0.01, 1e-15, "minsigma", 100);
	/* the oldest trial weighs 1/200, the newest 25 weigh 1 */
	assert_close(w2[0] / w2[199], 1.0 / 200, 1e-12, "forgetting", 0);
}

static void test_categorical(void **state)
{
	(void)state;
	/* counts 1 1 3 0 plus a pseudocount of 1 each: 2 2 4 1 / 9 */
	const double obs[] = {0, 2, 2, 1, 2};
	double p[4];
	mc_tpe_categorical(obs, 5, 4, 1.0, 25, p);
	const double want[] = {2.0 / 9, 2.0 / 9, 4.0 / 9, 1.0 / 9};
	assert_all_close(p, want, 4, 1e-15, "p");
	double cat[30];
	for (int k = 0; k < 30; k++)
		cat[k] = k * 7 % 4;
	mc_tpe_categorical(cat, 30, 4, 1.0, 25, p);
	assert_all_close(p, cat30_p, 4, 1e-14, "cat30_p");
}

static void test_lpdf_oracle(void **state)
{
	(void)state;
	double w[] = {0.2, 0.5, 0.3}, mu[] = {0.1, 0.5, 0.9}, sg[] = {0.3, 0.1, 0.2};
	mc_gmm g = {3, w, mu, sg};
	mc_support bounded = {true, 0, 1, 0}, quant = {true, 0, 1, 0.1}, free_ = {false, 0, 0, 0};
	const double xb[] = {0.05, 0.37, 0.99}, xq[] = {0.0, 0.4, 1.0}, xf[] = {-1.0, 0.5};
	for (size_t i = 0; i < 3; i++) {
		assert_close(mc_tpe_gmm_lpdf(xb[i], &g, &bounded, mc_tpe_p_accept(&g, &bounded)),
			     gmm_bounded[i], 1e-12, "gmm_bounded", i);
		assert_close(mc_tpe_gmm_lpdf(xq[i], &g, &quant, mc_tpe_p_accept(&g, &quant)),
			     gmm_quant[i], 1e-12, "gmm_quant", i);
	}
	for (size_t i = 0; i < 2; i++)
		assert_close(mc_tpe_gmm_lpdf(xf[i], &g, &free_, mc_tpe_p_accept(&g, &free_)),
			     gmm_free[i], 1e-12, "gmm_free", i);

	double lw[] = {0.25, 0.5, 0.25}, lmu[] = {-3, -2, -0.5}, lsg[] = {1, 0.5, 0.8};
	mc_gmm lg = {3, lw, lmu, lsg};
	mc_support logu = {true, -4, 0, 0};
	const double xl[] = {exp(-3.2), 0.2, 0.9};
	for (size_t i = 0; i < 3; i++)
		assert_close(mc_tpe_lgmm_lpdf(xl[i], &lg, &logu, mc_tpe_p_accept(&lg, &logu)),
			     lgmm_plain[i], 1e-12, "lgmm_plain", i);
	double qw[] = {0.3, 0.3, 0.4}, qmu[] = {1, 2.5, 4}, qsg[] = {0.8, 1.2, 0.5};
	mc_gmm qg = {3, qw, qmu, qsg};
	mc_support qlog = {true, 0, log(100.0), 1};
	const double xql[] = {1, 7, 100};
	for (size_t i = 0; i < 3; i++)
		assert_close(mc_tpe_lgmm_lpdf(xql[i], &qg, &qlog, mc_tpe_p_accept(&qg, &qlog)),
			     lgmm_quant[i], 1e-12, "lgmm_quant", i);
}

static void test_mixture_samples(void **state)
{
	(void)state;
	/* Truncated draws stay in [low, high); quantised ones are multiples of q. */
	double w[] = {0.5, 0.5}, mu[] = {-0.5, 1.2}, sg[] = {0.4, 0.3};
	mc_gmm g = {2, w, mu, sg};
	mc_support s = {true, 0, 1, 0}, q = {true, 0, 1, 0.25};
	mc_rng r;
	mc_rng_seed(&r, 3);
	for (int i = 0; i < 2000; i++) {
		double x = mc_tpe_gmm_sample(&g, &s, &r);
		assert_true(x >= 0 && x < 1);
		double y = mc_tpe_gmm_sample(&g, &q, &r);
		assert_true(y >= 0 && y <= 1 && fmod(y, 0.25) == 0);
		double z = mc_tpe_lgmm_sample(&g, &s, &r);
		assert_true(z >= 1 && z < exp(1));
	}
}

/* With good trials near 0.2 and bad ones elsewhere, TPE proposes near 0.2. */
static void test_tpe_step(void **state)
{
	(void)state;
	mc_param p = {.name = "x", .type = MC_PARAM_UNIFORM, .low = 0, .high = 1};
	const double below[] = {0.19, 0.21, 0.2};
	double above[30];
	for (int k = 0; k < 30; k++)
		above[k] = 0.4 + 0.02 * k;
	mc_tpe_opts o;
	mc_tpe_opts_default(&o);
	mc_rng r;
	mc_rng_seed(&r, 11);
	for (int t = 0; t < 50; t++) {
		double x;
		assert_int_equal(mc_tpe_suggest_param(&p, below, 3, above, 30, &o, &r, &x), MC_OK);
		assert_true(x > 0.05 && x < 0.35);
	}
	/* unbounded normal: good trials near 2 */
	mc_param nrm = {.name = "n", .type = MC_PARAM_NORMAL, .mu = 0, .sigma = 3};
	const double nb[] = {1.9, 2.1, 2.0};
	double na[30];
	for (int k = 0; k < 30; k++)
		na[k] = -6 + 0.25 * k;
	/* qloguniform(log 1, log 1000, q=1): good trials 8..10, bad ones 1..2 and 100+ */
	mc_param ql = {
		.name = "q", .type = MC_PARAM_QLOGUNIFORM, .low = 0, .high = log(1000.0), .q = 1};
	const double qb[] = {8, 9, 10};
	double qa[30];
	for (int k = 0; k < 30; k++)
		qa[k] = k < 15 ? 1 + k % 2 : 100 + 50 * k;
	for (int t = 0; t < 50; t++) {
		double x;
		assert_int_equal(mc_tpe_suggest_param(&nrm, nb, 3, na, 30, &o, &r, &x), MC_OK);
		assert_true(x > 1 && x < 3);
		assert_int_equal(mc_tpe_suggest_param(&ql, qb, 3, qa, 30, &o, &r, &x), MC_OK);
		assert_true(x >= 3 && x <= 30 && x == floor(x));
	}
	/* a choice: option 2 is good, 0 and 1 are bad */
	mc_option opts[3] = {{"a", false}, {"b", false}, {"c", false}};
	mc_param c = {.name = "c", .type = MC_PARAM_CHOICE, .n_options = 3, .options = opts};
	const double cb[] = {2, 2, 2}, ca[] = {0, 1, 0, 1, 0, 1, 1, 0};
	for (int t = 0; t < 20; t++) {
		double x;
		assert_int_equal(mc_tpe_suggest_param(&c, cb, 3, ca, 8, &o, &r, &x), MC_OK);
		assert_true(x == 2);
	}
}

/* ---- ask / tell ---- */

static const char *small_space = "{\"x\": {\"type\": \"uniform\", \"low\": -5, \"high\": 10},"
				 " \"y\": {\"type\": \"uniform\", \"low\": 0, \"high\": 15}}";

static double branin(const double *x)
{
	const double a = 1, b = 5.1 / (4 * M_PI * M_PI), c = 5 / M_PI, r = 6, s = 10,
		     t = 1 / (8 * M_PI);
	double u = x[1] - b * x[0] * x[0] + c * x[0] - r;
	return a * u * u + s * (1 - t) * cos(x[0]) + s;
}

/* Asks and tells `n` trials, recording the points asked. */
static void run_trials(mc_search *s, int n, double *xs)
{
	mc_error err = MC_ERROR_INIT;
	for (int t = 0; t < n; t++) {
		assert_int_equal(mc_search_ask(s, xs + 2 * t, &err), MC_OK);
		assert_int_equal(mc_search_tell(s, xs + 2 * t, branin(xs + 2 * t), &err), MC_OK);
	}
}

static void test_determinism(void **state)
{
	(void)state;
	mc_space *sp = parse_ok(small_space);
	double a[80], b[80], c[80];
	mc_search *s1, *s2, *s3;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_search_new(sp, MC_SEARCH_TPE, 5, NULL, &s1, &err), MC_OK);
	assert_int_equal(mc_search_new(sp, MC_SEARCH_TPE, 5, NULL, &s2, &err), MC_OK);
	assert_int_equal(mc_search_new(sp, MC_SEARCH_TPE, 6, NULL, &s3, &err), MC_OK);
	mc_space_free(sp); /* the searches hold their own copies */
	run_trials(s1, 40, a);
	run_trials(s2, 40, b);
	run_trials(s3, 40, c);
	assert_memory_equal(a, b, sizeof a);
	assert_memory_not_equal(a, c, sizeof a);
	mc_search_free(s1);
	mc_search_free(s2);
	mc_search_free(s3);
}

static void test_ask_tell(void **state)
{
	(void)state;
	mc_space *sp = parse_ok(small_space);
	mc_search *s;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_search_new(sp, MC_SEARCH_TPE, 9, NULL, &s, &err), MC_OK);
	double x1[2], x2[2], best[2], loss;
	assert_int_equal(mc_search_best(s, best, &loss, &err), MC_ERR_EMPTY);
	/* two asks in flight, told out of order */
	assert_int_equal(mc_search_ask(s, x1, &err), MC_OK);
	assert_int_equal(mc_search_ask(s, x2, &err), MC_OK);
	assert_int_equal(mc_search_n_pending(s), 2);
	assert_int_equal(mc_search_tell(s, x2, 3.0, &err), MC_OK);
	assert_int_equal(mc_search_tell(s, x1, NAN, &err), MC_OK); /* failed */
	assert_int_equal(mc_search_n_pending(s), 0);
	assert_int_equal(mc_search_n_told(s), 2);
	assert_int_equal(mc_search_best(s, best, &loss, &err), MC_OK);
	assert_true(loss == 3.0 && best[0] == x2[0] && best[1] == x2[1]);
	/* a point never asked: added (warm start); the best moves to it */
	const double warm[] = {3.14, 2.27};
	assert_int_equal(mc_search_tell(s, warm, 0.5, &err), MC_OK);
	assert_int_equal(mc_search_n_told(s), 3);
	assert_int_equal(mc_search_best(s, best, &loss, &err), MC_OK);
	assert_true(loss == 0.5 && best[0] == 3.14);
	/* an infinite loss is a failure, not a best */
	const double bad[] = {0, 0};
	assert_int_equal(mc_search_tell(s, bad, -INFINITY, &err), MC_OK);
	assert_int_equal(mc_search_best(s, best, &loss, &err), MC_OK);
	assert_true(loss == 0.5);
	const double nan_x[] = {NAN, 1};
	assert_int_equal(mc_search_tell(s, nan_x, 1, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg,
			    "cannot record a trial: parameter 'x': nan is not a uniform value");
	mc_search_free(s);
	mc_space_free(sp);

	/* choice values must be option indices */
	mc_space *cs = parse_ok("{\"c\": {\"type\": \"choice\", \"options\": [\"a\", \"b\"]}}");
	assert_int_equal(mc_search_new(cs, MC_SEARCH_TPE, 1, NULL, &s, &err), MC_OK);
	const double c2[] = {2};
	assert_int_equal(mc_search_tell(s, c2, 1, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg,
			    "cannot record a trial: parameter 'c': 2 is not a choice value");
	mc_search_free(s);
	mc_space_free(cs);
}

/*
 * failed_as_worst: with hyperopt's rule, 20 failed trials complete the
 * start-up and the 21st ask is a TPE one; without it, TPE ignores them and
 * the 21st ask is still the 21st prior draw (the random search's).
 */
static void test_failed_trials(void **state)
{
	(void)state;
	mc_space *sp = parse_ok(small_space);
	mc_tpe_opts ignore;
	mc_tpe_opts_default(&ignore);
	ignore.failed_as_worst = false;
	mc_search *hyp, *ign, *rnd;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_search_new(sp, MC_SEARCH_TPE, 4, NULL, &hyp, &err), MC_OK);
	assert_int_equal(mc_search_new(sp, MC_SEARCH_TPE, 4, &ignore, &ign, &err), MC_OK);
	assert_int_equal(mc_search_new(sp, MC_SEARCH_RANDOM, 4, NULL, &rnd, &err), MC_OK);
	double xh[2], xi[2], xr[2];
	for (int t = 0; t < 21; t++) {
		assert_int_equal(mc_search_ask(hyp, xh, &err), MC_OK);
		assert_int_equal(mc_search_ask(ign, xi, &err), MC_OK);
		assert_int_equal(mc_search_ask(rnd, xr, &err), MC_OK);
		mc_search_tell(hyp, xh, NAN, &err);
		mc_search_tell(ign, xi, NAN, &err);
		mc_search_tell(rnd, xr, NAN, &err);
		if (t < 20)
			assert_true(xh[0] == xr[0] && xi[0] == xr[0]);
	}
	assert_true(xi[0] == xr[0] && xi[1] == xr[1]);
	assert_true(xh[0] != xr[0]);
	mc_search_free(hyp);
	mc_search_free(ign);
	mc_search_free(rnd);

	/* bad options are refused */
	ignore.gamma = 0;
	assert_int_equal(mc_search_new(sp, MC_SEARCH_TPE, 4, &ignore, &hyp, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg, "TPE option 'gamma' (0) must be in (0, 1]");
	mc_space_free(sp);
}

/* ---- TPE against random search ---- */

typedef struct bench {
	const char *name;
	const char *space;
	double (*f)(const double *x);
} bench;

static double quadratic(const double *x)
{
	const double c[] = {1.5, -2.0, 0.5};
	double s = 0;
	for (int i = 0; i < 3; i++)
		s += (x[i] - c[i]) * (x[i] - c[i]);
	return s;
}

/* A mixed space like the XGBoost one: quantised, log-scale and a choice. */
static double mixed(const double *x)
{
	double d = (x[0] - 6) / 3, l = log(x[1]) - log(0.05);
	return d * d + l * l + (x[2] == 2 ? 0 : 1) + (x[3] - 0.8) * (x[3] - 0.8);
}

static const bench benches[] = {
	{"quadratic-3d",
	 "[{\"name\": \"a\", \"type\": \"uniform\", \"low\": -5, \"high\": 5},"
	 " {\"name\": \"b\", \"type\": \"uniform\", \"low\": -5, \"high\": 5},"
	 " {\"name\": \"c\", \"type\": \"uniform\", \"low\": -5, \"high\": 5}]",
	 quadratic},
	{"branin",
	 "{\"x1\": {\"type\": \"uniform\", \"low\": -5, \"high\": 10},"
	 " \"x2\": {\"type\": \"uniform\", \"low\": 0, \"high\": 15}}",
	 branin},
	{"mixed",
	 "{\"depth\": {\"type\": \"quniform\", \"low\": 1, \"high\": 12, \"q\": 1},"
	 " \"lr\": {\"type\": \"loguniform\", \"low\": -7, \"high\": 0},"
	 " \"kind\": {\"type\": \"choice\", \"options\": [\"a\", \"b\", \"c\", \"d\"]},"
	 " \"frac\": {\"type\": \"uniform\", \"low\": 0.5, \"high\": 1}}",
	 mixed},
};

static mc_code bench_objective(const double *x, void *user, double *loss, mc_error *err)
{
	(void)err;
	*loss = ((const bench *)user)->f(x);
	return MC_OK;
}

static void test_tpe_beats_random(void **state)
{
	(void)state;
	enum { SEEDS = 40, BUDGET = 100 };
	for (size_t b = 0; b < N_OF(benches); b++) {
		mc_space *sp = parse_ok(benches[b].space);
		double mean[2] = {0, 0}, x[4];
		const mc_search_algo algos[2] = {MC_SEARCH_TPE, MC_SEARCH_RANDOM};
		for (int a = 0; a < 2; a++)
			for (uint64_t seed = 1; seed <= SEEDS; seed++) {
				double best;
				mc_error err = MC_ERROR_INIT;
				assert_int_equal(mc_search_minimize(sp, algos[a], seed, BUDGET,
								    bench_objective,
								    (void *)&benches[b], x, &best,
								    &err),
						 MC_OK);
				mean[a] += best / SEEDS;
			}
		printf("[ search ] %-12s mean best of %d seeds x %d trials: TPE %.6f, random "
		       "%.6f\n",
		       benches[b].name, SEEDS, BUDGET, mean[0], mean[1]);
		assert_true(mean[0] < mean[1]);
		mc_space_free(sp);
	}
}

static mc_code failing_objective(const double *x, void *user, double *loss, mc_error *err)
{
	int *calls = user;
	if (++*calls == 5)
		return mc_fail(err, MC_ERR_IO, "objective broke at call %d", *calls);
	*loss = x[0] > 100 ? 1 : NAN; /* never finite */
	return MC_OK;
}

static void test_minimize_errors(void **state)
{
	(void)state;
	mc_space *sp = parse_ok(small_space);
	double x[2], loss;
	int calls = 0;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_search_minimize(sp, MC_SEARCH_TPE, 1, 10, failing_objective, &calls, x,
					    &loss, &err),
			 MC_ERR_IO);
	assert_string_equal(err.msg, "objective broke at call 5");
	calls = -100;
	assert_int_equal(mc_search_minimize(sp, MC_SEARCH_RANDOM, 1, 10, failing_objective, &calls,
					    x, &loss, &err),
			 MC_ERR_EMPTY);
	assert_int_equal(mc_search_minimize(sp, MC_SEARCH_RANDOM, 1, 0, failing_objective, &calls,
					    x, &loss, &err),
			 MC_ERR_INVALID);
	mc_space_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_space_parse_good),
		cmocka_unit_test(test_space_parse_errors),
		cmocka_unit_test(test_space_too_many),
		cmocka_unit_test(test_space_default),
		cmocka_unit_test(test_space_format),
		cmocka_unit_test(test_priors),
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_split_and_forgetting),
		cmocka_unit_test(test_parzen_hand),
		cmocka_unit_test(test_parzen_oracle),
		cmocka_unit_test(test_categorical),
		cmocka_unit_test(test_lpdf_oracle),
		cmocka_unit_test(test_mixture_samples),
		cmocka_unit_test(test_tpe_step),
		cmocka_unit_test(test_determinism),
		cmocka_unit_test(test_ask_tell),
		cmocka_unit_test(test_failed_trials),
		cmocka_unit_test(test_tpe_beats_random),
		cmocka_unit_test(test_minimize_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
