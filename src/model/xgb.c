/*
 * The XGBoost wrapper: the only includer of xgboost/c_api.h.  Every XGBoost
 * failure becomes an mc_error saying what we were doing, followed by
 * XGBGetLastError()'s text.  See include/milkcast/xgb.h for the contract and
 * docs/internals/model.md for the early-stopping rule and thread safety.
 */
#include "milkcast/xgb.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xgboost/c_api.h>

#include "model/xgb_int.h"

/* Caps on what we hand to XGBoost: a round count and a text length. */
#define MC_XGB_MAX_ROUNDS 1000000
#define MC_XGB_ATTR_MAX 64

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define MC_XGB_F4 "<f4"
#else
#define MC_XGB_F4 ">f4"
#endif

struct mc_xgb_model {
	BoosterHandle booster;
	size_t ncol;	    /* features per row */
	int rounds;	    /* boosted rounds (one tree each) */
	int best_iteration; /* attribute, or rounds - 1 */
	double best_score;  /* attribute, or NAN */
};

/* ---- logging and errors ---------------------------------------------- */

/* XGBoost's log level lives in a per-thread global configuration: each
 * thread applies the process-wide wish before its first call. */
static atomic_int want_verbosity = 0;
static _Thread_local int applied_verbosity = -1;

static void xgb_apply_verbosity(int level)
{
	char cfg[48];
	snprintf(cfg, sizeof cfg, "{\"verbosity\":%d}", level);
	if (XGBSetGlobalConfig(cfg) == 0)
		applied_verbosity = level;
}

static void xgb_quiet(void)
{
	int level = atomic_load(&want_verbosity);
	if (applied_verbosity != level)
		xgb_apply_verbosity(level);
}

void mc_xgb_set_verbosity(int level)
{
	atomic_store(&want_verbosity, level < 0 ? 0 : level > 3 ? 3 : level);
}

/* Past the "[hh:mm:ss] " and "path/file.cc:123: " that start some of XGBoost's messages. */
static const char *xgb_skip_log_prefix(const char *s)
{
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close && close - s <= 12)
			s = close + 1 + (close[1] == ' ');
	}
	size_t word = strcspn(s, " \n");
	if (word > 1 && s[word] == ' ' && s[word - 1] == ':' && memchr(s, '.', word))
		s += word + 1;
	return s;
}

/* XGBoost's message on one line: no log prefix, no stack trace, lines joined by "; ". */
static void xgb_clean_message(const char *in, char *out, size_t cap)
{
	const char *s = xgb_skip_log_prefix(in ? in : "");
	const char *stack = strstr(s, "Stack trace:");
	size_t len = stack ? (size_t)(stack - s) : strlen(s), j = 0;
	for (size_t i = 0; i < len && j + 3 < cap; i++) {
		if (s[i] != '\n') {
			out[j++] = s[i];
		} else if (j && out[j - 1] != ' ') {
			out[j++] = ';';
			out[j++] = ' ';
		}
	}
	while (j && (out[j - 1] == ' ' || out[j - 1] == ';'))
		j--;
	out[j] = '\0';
}

/* mc_fail with "<what>: <XGBoost's message>". */
static mc_code xgb_fail(mc_error *err, mc_code code, const char *what)
{
	char msg[MC_ERRMSG_MAX];
	xgb_clean_message(XGBGetLastError(), msg, sizeof msg);
	return mc_fail(err, code, "%s: xgboost: %s", what, msg[0] ? msg : "unknown error");
}

/* ---- numbers as text ------------------------------------------------- */

/* v as Python's repr(float) writes it: the shortest digits that read back
 * as v, positional for exponents -4..15, else scientific ("1e-05").  Used
 * for parameters and attributes so they match what the Python package sets. */
static void xgb_format_double(char *out, size_t cap, double v)
{
	if (isnan(v)) {
		snprintf(out, cap, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(out, cap, v < 0 ? "-inf" : "inf");
		return;
	}
	if (v == 0) {
		snprintf(out, cap, signbit(v) ? "-0.0" : "0.0");
		return;
	}
	char sci[40];
	int digits = 1;
	for (; digits < 17; digits++) {
		snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
		if (strtod(sci, NULL) == v)
			break;
	}
	snprintf(sci, sizeof sci, "%.*e", digits - 1, v);
	int exp10 = atoi(strchr(sci, 'e') + 1);
	if (exp10 < -4 || exp10 >= 16) {
		snprintf(out, cap, "%s", sci);
		return;
	}
	int decimals = digits - 1 - exp10;
	snprintf(out, cap, "%.*f", decimals < 1 ? 1 : decimals, v);
}

/* ---- parameters ------------------------------------------------------ */

void mc_xgb_params_init(mc_xgb_params *p)
{
	p->max_depth = 6;
	p->learning_rate = 0.3;
	p->num_round = 100;
	p->min_child_weight = 1;
	p->gamma = 0;
	p->subsample = 1;
	p->colsample_bytree = 1;
	p->reg_alpha = 0;
	p->reg_lambda = 1;
	p->nthread = 0;
	p->seed = 0;
	p->early_stopping_rounds = 0;
	p->max_bin = 256;
	p->verbosity = 0;
}

static bool in_range(double v, double lo, double hi)
{
	return v >= lo && v <= hi; /* false for NAN */
}

/* Our own checks, so the message names the field as milkcast spells it. */
static mc_code xgb_params_check(const mc_xgb_params *p, size_t nvalid, mc_error *err)
{
	const char *bad = NULL;
	if (p->max_depth < 0 || p->max_depth > 64)
		bad = "max_depth must be in [0, 64]";
	else if (!in_range(p->learning_rate, 0, 1) || p->learning_rate == 0)
		bad = "learning_rate must be in (0, 1]";
	else if (p->num_round < 1 || p->num_round > MC_XGB_MAX_ROUNDS)
		bad = "num_round must be in [1, 1000000]";
	else if (!in_range(p->min_child_weight, 0, INFINITY))
		bad = "min_child_weight must be >= 0";
	else if (!in_range(p->gamma, 0, INFINITY))
		bad = "gamma must be >= 0";
	else if (!in_range(p->subsample, 0, 1) || p->subsample == 0)
		bad = "subsample must be in (0, 1]";
	else if (!in_range(p->colsample_bytree, 0, 1) || p->colsample_bytree == 0)
		bad = "colsample_bytree must be in (0, 1]";
	else if (!in_range(p->reg_alpha, 0, INFINITY) || !in_range(p->reg_lambda, 0, INFINITY))
		bad = "reg_alpha and reg_lambda must be >= 0";
	else if (p->nthread < 0)
		bad = "nthread must be >= 0";
	else if (p->seed > (uint64_t)INT64_MAX)
		bad = "seed must be at most 2^63 - 1";
	else if (p->early_stopping_rounds < 0)
		bad = "early_stopping_rounds must be >= 0";
	else if (p->early_stopping_rounds > 0 && nvalid == 0)
		bad = "early stopping needs a validation set";
	else if (p->max_bin < 2)
		bad = "max_bin must be >= 2";
	if (bad)
		return mc_fail(err, MC_ERR_INVALID, "cannot train: %s", bad);
	return MC_OK;
}

static mc_code xgb_set(BoosterHandle h, const char *name, const char *value, mc_error *err)
{
	if (XGBoosterSetParam(h, name, value) == 0)
		return MC_OK;
	char what[96];
	snprintf(what, sizeof what, "cannot set parameter %s='%s'", name, value);
	return xgb_fail(err, MC_ERR_INVALID, what);
}

static mc_code xgb_set_int(BoosterHandle h, const char *name, long long v, mc_error *err)
{
	char text[32];
	snprintf(text, sizeof text, "%lld", v);
	return xgb_set(h, name, text, err);
}

static mc_code xgb_set_double(BoosterHandle h, const char *name, double v, mc_error *err)
{
	char text[40];
	xgb_format_double(text, sizeof text, v);
	return xgb_set(h, name, text, err);
}

static mc_code xgb_configure(BoosterHandle h, const mc_xgb_params *p, mc_error *err)
{
	mc_code rc;
	if ((rc = xgb_set(h, "objective", "reg:squarederror", err)) ||
	    (rc = xgb_set(h, "eval_metric", "rmse", err)) ||
	    (rc = xgb_set(h, "tree_method", "hist", err)) ||
	    (rc = xgb_set_int(h, "max_bin", p->max_bin, err)) ||
	    (rc = xgb_set_int(h, "max_depth", p->max_depth, err)) ||
	    (rc = xgb_set_double(h, "eta", p->learning_rate, err)) ||
	    (rc = xgb_set_double(h, "min_child_weight", p->min_child_weight, err)) ||
	    (rc = xgb_set_double(h, "gamma", p->gamma, err)) ||
	    (rc = xgb_set_double(h, "subsample", p->subsample, err)) ||
	    (rc = xgb_set_double(h, "colsample_bytree", p->colsample_bytree, err)) ||
	    (rc = xgb_set_double(h, "alpha", p->reg_alpha, err)) ||
	    (rc = xgb_set_double(h, "lambda", p->reg_lambda, err)) ||
	    (rc = xgb_set_int(h, "nthread", p->nthread, err)) ||
	    (rc = xgb_set_int(h, "seed", (long long)p->seed, err)))
		return rc;
	return MC_OK;
}

/* ---- data ------------------------------------------------------------ */

/* Features: finite or NAN (missing); never infinite. */
static mc_code xgb_check_features(const char *set, const float *X, size_t nrow, size_t ncol,
				  mc_error *err)
{
	for (size_t i = 0; i < nrow; i++)
		for (size_t j = 0; j < ncol; j++)
			if (isinf(X[i * ncol + j]))
				return mc_fail(err, MC_ERR_INVALID,
					       "%s row %zu column %zu: infinite feature value", set,
					       i, j);
	return MC_OK;
}

static mc_code xgb_check_finite(const char *set, const char *what, const float *v, size_t n,
				bool nonnegative, mc_error *err)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]) || (nonnegative && v[i] < 0))
			return mc_fail(err, MC_ERR_INVALID, "%s row %zu: %s %g is not %s", set, i,
				       what, (double)v[i],
				       nonnegative ? "finite and >= 0" : "finite");
	return MC_OK;
}

static mc_code xgb_check_shape(const char *set, const float *X, size_t nrow, size_t ncol,
			       mc_error *err)
{
	if (ncol == 0 || ncol > INT32_MAX)
		return mc_fail(err, MC_ERR_INVALID, "%s: %zu feature columns", set, ncol);
	if (nrow > SIZE_MAX / sizeof(float) / ncol)
		return mc_fail(err, MC_ERR_LIMIT, "%s: %zu rows x %zu columns is too large", set,
			       nrow, ncol);
	if (nrow && !X)
		return mc_fail(err, MC_ERR_INVALID, "%s: no feature matrix", set);
	return MC_OK;
}

/* A DMatrix of X with NAN as missing, labels y and optional weights w. */
static mc_code xgb_dmatrix(const char *set, const float *X, const float *y, const float *w,
			   size_t nrow, size_t ncol, DMatrixHandle *out, mc_error *err)
{
	mc_code rc;
	if ((rc = xgb_check_shape(set, X, nrow, ncol, err)) ||
	    (rc = xgb_check_features(set, X, nrow, ncol, err)) ||
	    (rc = xgb_check_finite(set, "label", y, nrow, false, err)) ||
	    (w && (rc = xgb_check_finite(set, "weight", w, nrow, true, err))))
		return rc;
	char what[64];
	snprintf(what, sizeof what, "cannot build the %s matrix", set);
	DMatrixHandle d = NULL;
	if (XGDMatrixCreateFromMat(X, nrow, ncol, NAN, &d) != 0)
		return xgb_fail(err, MC_ERR_INVALID, what);
	if (XGDMatrixSetFloatInfo(d, "label", y, nrow) != 0 ||
	    (w && XGDMatrixSetFloatInfo(d, "weight", w, nrow) != 0)) {
		rc = xgb_fail(err, MC_ERR_INVALID, what);
		XGDMatrixFree(d);
		return rc;
	}
	*out = d;
	return MC_OK;
}

/* ---- evaluation text ------------------------------------------------- */

/*
 * "[3]\ttrain-rmse:0.51...\tvalid-rmse:0.62..." into the per-set scores, as
 * the Python package reads it: split on white space, then name:value, the
 * value through float() (here strtod).  XGBoost 1.7 prints 17 digits after
 * the point, so the parsed value can differ from its double in the last bits;
 * early stopping must compare the parsed values to decide as Python does.
 */
static mc_code xgb_parse_eval(const char *msg, int nsets, double *scores, mc_error *err)
{
	static const char *const names[] = {"train-rmse:", "valid-rmse:"};
	const char *s = msg;
	int k = 0;
	while (*s && !isspace((unsigned char)*s))
		s++; /* "[i]" */
	while (*s && k < nsets) {
		while (isspace((unsigned char)*s))
			s++;
		size_t len = strlen(names[k]);
		if (strncmp(s, names[k], len) != 0)
			break;
		char *end;
		scores[k] = strtod(s + len, &end);
		if (end == s + len)
			break;
		s = end;
		k++;
	}
	if (k != nsets)
		return mc_fail(err, MC_ERR_FORMAT, "cannot read XGBoost's evaluation '%.200s'",
			       msg);
	return MC_OK;
}

/* ---- model handle ---------------------------------------------------- */

static mc_code xgb_attr_get(BoosterHandle h, const char *key, char *out, size_t cap, bool *found,
			    mc_error *err)
{
	const char *v = NULL;
	int success = 0;
	if (XGBoosterGetAttr(h, key, &v, &success) != 0)
		return xgb_fail(err, MC_ERR_FORMAT, "cannot read the model's attributes");
	*found = success && v;
	snprintf(out, cap, "%s", *found ? v : "");
	return MC_OK;
}

/* Rounds, features, attributes of a freshly loaded booster into m. */
static mc_code xgb_model_describe(mc_xgb_model *m, mc_error *err)
{
	bst_ulong nfeat = 0;
	int rounds = 0;
	if (XGBoosterGetNumFeature(m->booster, &nfeat) != 0 ||
	    XGBoosterBoostedRounds(m->booster, &rounds) != 0)
		return xgb_fail(err, MC_ERR_FORMAT, "cannot inspect the model");
	if (nfeat == 0 || nfeat > INT32_MAX || rounds < 0)
		return mc_fail(err, MC_ERR_FORMAT, "model has %" PRIu64 " features and %d rounds",
			       (uint64_t)nfeat, rounds);
	m->ncol = (size_t)nfeat;
	m->rounds = rounds;
	m->best_iteration = rounds - 1;
	m->best_score = NAN;
	char text[MC_XGB_ATTR_MAX];
	bool found = false;
	mc_code rc = xgb_attr_get(m->booster, "best_iteration", text, sizeof text, &found, err);
	if (rc)
		return rc;
	if (found) {
		char *end;
		long v = strtol(text, &end, 10);
		if (end == text || *end || v < 0 || v > INT_MAX)
			return mc_fail(err, MC_ERR_FORMAT, "model attribute best_iteration='%s'",
				       text);
		m->best_iteration = (int)v;
	}
	if ((rc = xgb_attr_get(m->booster, "best_score", text, sizeof text, &found, err)))
		return rc;
	if (found)
		m->best_score = strtod(text, NULL);
	return MC_OK;
}

/* One prediction on a row of missing values: configures the booster in this
 * thread, so concurrent predictions later never race to configure it. */
static mc_code xgb_warm_up(mc_xgb_model *m, mc_error *err)
{
	float *row = malloc(m->ncol * sizeof *row);
	if (!row)
		return mc_fail(err, MC_ERR_NOMEM, "cannot load the model: out of memory");
	for (size_t j = 0; j < m->ncol; j++)
		row[j] = NAN;
	float out;
	mc_code rc = mc_xgb_predict(m, row, 1, m->ncol, &out, err);
	free(row);
	return rc;
}

/*
 * Parse and check the bytes ourselves before XGBoost does (xgb_int.h): its
 * reader and predictor trust lengths and indices in the input.  XGBoost tells
 * UBJSON from JSON text and its legacy binary format by the first two bytes,
 * '{' and a key's 'L'; we accept only UBJSON.
 */
static mc_code xgb_check_bytes(const void *p, size_t n, mc_error *err)
{
	const uint8_t *b = p;
	if (n < 2 || b[0] != '{' || b[1] != 'L')
		return mc_fail(err, MC_ERR_FORMAT, "not a UBJSON XGBoost model (%zu bytes)", n);
	mc_ubj_doc doc;
	mc_code rc = mc_ubj_parse(&doc, b, n, err);
	if (rc)
		return rc;
	rc = mc_xgb_check_model(&doc, err);
	mc_ubj_release(&doc);
	return rc;
}

void mc_xgb_free(mc_xgb_model *m)
{
	if (!m)
		return;
	if (m->booster)
		XGBoosterFree(m->booster);
	free(m);
}

mc_code mc_xgb_load(const void *p, size_t n, mc_xgb_model **out, mc_error *err)
{
	*out = NULL;
	xgb_quiet();
	mc_code rc = xgb_check_bytes(p, n, err);
	if (rc) {
		mc_error_prefix(err, "cannot load the model: ");
		return rc;
	}
	mc_xgb_model *m = calloc(1, sizeof *m);
	if (!m)
		return mc_fail(err, MC_ERR_NOMEM, "cannot load the model: out of memory");
	if (XGBoosterCreate(NULL, 0, &m->booster) != 0) {
		rc = xgb_fail(err, MC_ERR_NOMEM, "cannot create a booster");
		goto fail;
	}
	/* A loaded model works on one thread unless told otherwise (before the load
	 * too, which reads trees in parallel): its batches are small, and an OpenMP
	 * team would keep spinning beside the caller after each of them. */
	if ((rc = xgb_set_int(m->booster, "nthread", 1, err)))
		goto fail;
	if (XGBoosterLoadModelFromBuffer(m->booster, p, n) != 0) {
		rc = xgb_fail(err, MC_ERR_FORMAT, "cannot load the model");
		goto fail;
	}
	if ((rc = xgb_set_int(m->booster, "nthread", 1, err)) ||
	    (rc = xgb_model_describe(m, err)) || (rc = xgb_warm_up(m, err))) {
		mc_error_prefix(err, "cannot load the model: ");
		goto fail;
	}
	*out = m;
	return MC_OK;
fail:
	mc_xgb_free(m);
	return rc;
}

mc_code mc_xgb_save(const mc_xgb_model *m, mc_buf *out, mc_error *err)
{
	xgb_quiet();
	bst_ulong len = 0;
	const char *bytes = NULL;
	if (XGBoosterSaveModelToBuffer(m->booster, "{\"format\":\"ubj\"}", &len, &bytes) != 0)
		return xgb_fail(err, MC_ERR_INVALID, "cannot save the model");
	mc_code rc = mc_buf_append(out, bytes, (size_t)len);
	if (rc)
		return mc_fail(err, rc, "cannot save the model: %s",
			       rc == MC_ERR_LIMIT ? "buffer size limit" : "out of memory");
	return MC_OK;
}

/* ---- training -------------------------------------------------------- */

/* What one training run holds while it runs. */
typedef struct xgb_run {
	DMatrixHandle dtrain;
	DMatrixHandle dvalid; /* NULL without a validation set */
	bool borrowed;	      /* the matrices belong to mc_xgb_data handles */
	BoosterHandle booster;
	mc_xgb_stopper stop;
	double *train_rmse; /* [num_round] */
	double *valid_rmse; /* [num_round] */
	int rounds;	    /* trained so far */
	bool stopped_early;
} xgb_run;

static void xgb_run_release(xgb_run *r)
{
	if (r->booster)
		XGBoosterFree(r->booster);
	if (r->dtrain && !r->borrowed)
		XGDMatrixFree(r->dtrain);
	if (r->dvalid && !r->borrowed)
		XGDMatrixFree(r->dvalid);
	free(r->train_rmse);
	free(r->valid_rmse);
}

static mc_code xgb_run_booster(xgb_run *r, const mc_xgb_params *p, mc_error *err);

static mc_code xgb_run_setup(xgb_run *r, const float *Xtrain, const float *ytrain, size_t ntrain,
			     const float *Xvalid, const float *yvalid, size_t nvalid, size_t ncol,
			     const float *wtrain, const mc_xgb_params *p, mc_error *err)
{
	mc_code rc;
	if (ntrain == 0)
		return mc_fail(err, MC_ERR_EMPTY, "cannot train: no training rows");
	if (!ytrain || (nvalid && !yvalid))
		return mc_fail(err, MC_ERR_INVALID, "cannot train: no labels");
	if ((rc = xgb_dmatrix("training", Xtrain, ytrain, wtrain, ntrain, ncol, &r->dtrain, err)))
		return rc;
	if (nvalid &&
	    (rc = xgb_dmatrix("validation", Xvalid, yvalid, NULL, nvalid, ncol, &r->dvalid, err)))
		return rc;
	return xgb_run_booster(r, p, err);
}

/* The booster over the run's matrices, configured, and the curve arrays. */
static mc_code xgb_run_booster(xgb_run *r, const mc_xgb_params *p, mc_error *err)
{
	mc_code rc;
	bool nvalid = r->dvalid != NULL;
	r->train_rmse = malloc((size_t)p->num_round * sizeof(double));
	r->valid_rmse = malloc((size_t)p->num_round * sizeof(double));
	if (!r->train_rmse || !r->valid_rmse)
		return mc_fail(err, MC_ERR_NOMEM, "cannot train: out of memory");
	DMatrixHandle cache[2] = {r->dtrain, r->dvalid};
	if (XGBoosterCreate(cache, nvalid ? 2 : 1, &r->booster) != 0)
		return xgb_fail(err, MC_ERR_NOMEM, "cannot create a booster");
	if ((rc = xgb_configure(r->booster, p, err)))
		return rc;
	mc_xgb_stopper_init(&r->stop, p->early_stopping_rounds);
	return MC_OK;
}

/* Boost round i, evaluate it, and tell whether early stopping says stop. */
static mc_code xgb_run_round(xgb_run *r, int i, bool early, bool *stop, mc_error *err)
{
	char what[64];
	if (XGBoosterUpdateOneIter(r->booster, i, r->dtrain) != 0) {
		snprintf(what, sizeof what, "cannot train round %d", i);
		return xgb_fail(err, MC_ERR_INVALID, what);
	}
	DMatrixHandle sets[2] = {r->dtrain, r->dvalid};
	const char *names[2] = {"train", "valid"};
	bst_ulong nsets = r->dvalid ? 2 : 1;
	const char *msg = NULL;
	if (XGBoosterEvalOneIter(r->booster, i, sets, names, nsets, &msg) != 0) {
		snprintf(what, sizeof what, "cannot evaluate round %d", i);
		return xgb_fail(err, MC_ERR_INVALID, what);
	}
	double scores[2] = {NAN, NAN};
	mc_code rc = xgb_parse_eval(msg, (int)nsets, scores, err);
	if (rc)
		return rc;
	r->train_rmse[i] = scores[0];
	r->valid_rmse[i] = scores[1];
	r->rounds = i + 1;
	/* The last metric of the last evaluation set decides. */
	*stop = early && mc_xgb_stopper_update(&r->stop, scores[nsets - 1]);
	return MC_OK;
}

/* Keep rounds 0..best and record the attributes the Python package sets. */
static mc_code xgb_run_finish(xgb_run *r, bool early, mc_error *err)
{
	int best = early ? r->stop.best_iteration : r->rounds - 1;
	if (best + 1 < r->rounds) {
		BoosterHandle sliced = NULL;
		if (XGBoosterSlice(r->booster, 0, best + 1, 1, &sliced) != 0)
			return xgb_fail(err, MC_ERR_INVALID, "cannot keep the best rounds");
		XGBoosterFree(r->booster);
		r->booster = sliced;
	}
	/* Set after slicing: XGBoost's Slice drops best_iteration and best_score. */
	char text[MC_XGB_ATTR_MAX];
	snprintf(text, sizeof text, "%d", best);
	if (XGBoosterSetAttr(r->booster, "best_iteration", text) != 0)
		return xgb_fail(err, MC_ERR_INVALID, "cannot set best_iteration");
	snprintf(text, sizeof text, "%d", best + 1);
	if (XGBoosterSetAttr(r->booster, "best_ntree_limit", text) != 0)
		return xgb_fail(err, MC_ERR_INVALID, "cannot set best_ntree_limit");
	if (early) {
		xgb_format_double(text, sizeof text, r->stop.best_score);
		if (XGBoosterSetAttr(r->booster, "best_score", text) != 0)
			return xgb_fail(err, MC_ERR_INVALID, "cannot set best_score");
	}
	return MC_OK;
}

/* Hand the learning curve to the caller; the run keeps nothing of it. */
static void xgb_run_curve(xgb_run *r, bool early, mc_xgb_curve *curve)
{
	mc_xgb_curve_release(curve);
	curve->n = (size_t)r->rounds;
	curve->train_rmse = r->train_rmse;
	curve->valid_rmse = r->valid_rmse;
	r->train_rmse = r->valid_rmse = NULL;
	int best = early ? r->stop.best_iteration : r->rounds - 1;
	const double *deciding = r->dvalid ? curve->valid_rmse : curve->train_rmse;
	curve->best_iteration = best;
	curve->best_score = deciding[best];
	curve->stopped_early = r->stopped_early;
}

/*
 * The trained booster through its UBJSON bytes into a fresh one: frees the
 * training state and makes the returned model the saved model, byte for
 * byte, so mc_xgb_predict() and any client loading model.ubj agree.
 */
static mc_code xgb_run_reload(xgb_run *r, int nthread, mc_xgb_model **out, mc_error *err)
{
	mc_xgb_model tmp = {.booster = r->booster};
	mc_buf bytes;
	mc_buf_init(&bytes, 0);
	mc_code rc = mc_xgb_save(&tmp, &bytes, err);
	if (!rc)
		rc = mc_xgb_load(bytes.data, bytes.len, out, err);
	mc_buf_release(&bytes);
	if (!rc && (rc = mc_xgb_set_nthread(*out, nthread, err))) {
		mc_xgb_free(*out);
		*out = NULL;
	}
	return rc;
}

/* Boost until the round limit or early stopping, then hand over the model. */
static mc_code xgb_run_all(xgb_run *r, const mc_xgb_params *p, mc_xgb_model **out,
			   mc_xgb_curve *curve, mc_error *err)
{
	bool early = p->early_stopping_rounds > 0;
	mc_code rc = MC_OK;
	for (int i = 0; !rc && i < p->num_round; i++) {
		bool stop = false;
		rc = xgb_run_round(r, i, early, &stop, err);
		if (!rc && stop) {
			r->stopped_early = i + 1 < p->num_round;
			break;
		}
	}
	if (!rc)
		rc = xgb_run_finish(r, early, err);
	xgb_quiet(); /* back to the process-wide level */
	if (!rc)
		rc = xgb_run_reload(r, p->nthread, out, err);
	if (!rc && curve)
		xgb_run_curve(r, early, curve);
	return rc;
}

mc_code mc_xgb_train(const float *Xtrain, const float *ytrain, size_t ntrain, const float *Xvalid,
		     const float *yvalid, size_t nvalid, size_t ncol, const float *wtrain,
		     const mc_xgb_params *p, mc_xgb_model **out, mc_xgb_curve *curve, mc_error *err)
{
	*out = NULL;
	mc_code rc = xgb_params_check(p, nvalid, err);
	if (rc)
		return rc;
	xgb_apply_verbosity(p->verbosity < 0 ? 0 : p->verbosity);
	xgb_run r = {0};
	rc = xgb_run_setup(&r, Xtrain, ytrain, ntrain, Xvalid, yvalid, nvalid, ncol, wtrain, p,
			   err);
	if (!rc)
		rc = xgb_run_all(&r, p, out, curve, err);
	else
		xgb_quiet();
	xgb_run_release(&r);
	return rc;
}

/* ---- matrices kept between trainings ---------------------------------- */

struct mc_xgb_data {
	DMatrixHandle d;
	size_t nrow, ncol;
};

mc_code mc_xgb_data_new(const char *set, const float *X, const float *y, const float *w,
			size_t nrow, size_t ncol, mc_xgb_data **out, mc_error *err)
{
	*out = NULL;
	if (nrow == 0)
		return mc_fail(err, MC_ERR_EMPTY, "cannot build the %s matrix: no rows", set);
	if (!y)
		return mc_fail(err, MC_ERR_INVALID, "cannot build the %s matrix: no labels", set);
	mc_xgb_data *d = calloc(1, sizeof *d);
	if (!d)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	xgb_quiet();
	mc_code rc = xgb_dmatrix(set, X, y, w, nrow, ncol, &d->d, err);
	if (rc) {
		free(d);
		return rc;
	}
	d->nrow = nrow;
	d->ncol = ncol;
	*out = d;
	return MC_OK;
}

void mc_xgb_data_free(mc_xgb_data *d)
{
	if (!d)
		return;
	XGDMatrixFree(d->d);
	free(d);
}

mc_code mc_xgb_train_data(mc_xgb_data *train, mc_xgb_data *valid, const mc_xgb_params *p,
			  mc_xgb_model **out, mc_xgb_curve *curve, mc_error *err)
{
	*out = NULL;
	if (valid && valid->ncol != train->ncol)
		return mc_fail(err, MC_ERR_INVALID,
			       "cannot train: %zu training columns but %zu validation columns",
			       train->ncol, valid->ncol);
	mc_code rc = xgb_params_check(p, valid ? valid->nrow : 0, err);
	if (rc)
		return rc;
	xgb_apply_verbosity(p->verbosity < 0 ? 0 : p->verbosity);
	xgb_run r = {.dtrain = train->d, .dvalid = valid ? valid->d : NULL, .borrowed = true};
	rc = xgb_run_booster(&r, p, err);
	if (!rc)
		rc = xgb_run_all(&r, p, out, curve, err);
	else
		xgb_quiet();
	xgb_run_release(&r);
	return rc;
}

/* ---- prediction ------------------------------------------------------ */

mc_code mc_xgb_predict(const mc_xgb_model *m, const float *X, size_t nrow, size_t ncol, float *out,
		       mc_error *err)
{
	if (ncol != m->ncol)
		return mc_fail(err, MC_ERR_INVALID,
			       "cannot predict: %zu feature columns, the model expects %zu", ncol,
			       m->ncol);
	mc_code rc = xgb_check_shape("prediction", X, nrow, ncol, err);
	if (rc || nrow == 0)
		return rc;
	if ((rc = xgb_check_features("prediction", X, nrow, ncol, err)))
		return rc;
	xgb_quiet();
	char values[160];
	snprintf(values, sizeof values,
		 "{\"data\":[%" PRIuPTR ",true],\"shape\":[%zu,%zu],\"typestr\":\"" MC_XGB_F4
		 "\",\"version\":3}",
		 (uintptr_t)X, nrow, ncol);
	static const char config[] = "{\"type\":0,\"training\":false,\"iteration_begin\":0,"
				     "\"iteration_end\":0,\"strict_shape\":false,"
				     "\"missing\":NaN,\"cache_id\":0}";
	const bst_ulong *shape = NULL;
	bst_ulong dim = 0;
	const float *result = NULL;
	if (XGBoosterPredictFromDense(m->booster, values, config, NULL, &shape, &dim, &result) != 0)
		return xgb_fail(err, MC_ERR_INVALID, "cannot predict");
	bst_ulong count = 1;
	for (bst_ulong k = 0; k < dim; k++)
		count *= shape[k];
	if (count != nrow)
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot predict: XGBoost returned %" PRIu64 " values for %zu rows",
			       (uint64_t)count, nrow);
	memcpy(out, result, nrow * sizeof *out);
	return MC_OK;
}

/* ---- accessors ------------------------------------------------------- */

int mc_xgb_num_rounds(const mc_xgb_model *m)
{
	return m->rounds;
}

size_t mc_xgb_num_features(const mc_xgb_model *m)
{
	return m->ncol;
}

int mc_xgb_best_iteration(const mc_xgb_model *m)
{
	return m->best_iteration;
}

double mc_xgb_best_score(const mc_xgb_model *m)
{
	return m->best_score;
}

mc_code mc_xgb_set_nthread(mc_xgb_model *m, int nthread, mc_error *err)
{
	if (nthread < 0)
		return mc_fail(err, MC_ERR_INVALID, "nthread must be >= 0, not %d", nthread);
	xgb_quiet();
	mc_code rc = xgb_set_int(m->booster, "nthread", nthread, err);
	/* Setting a parameter unconfigures the booster: configure it again here. */
	return rc ? rc : xgb_warm_up(m, err);
}

/* "f12" -> 12, the names XGBoost gives features when none were set. */
static bool xgb_feature_index(const char *name, size_t ncol, size_t *out)
{
	if (name[0] != 'f' || !isdigit((unsigned char)name[1]))
		return false;
	char *end;
	unsigned long long v = strtoull(name + 1, &end, 10);
	if (*end || v >= ncol)
		return false;
	*out = (size_t)v;
	return true;
}

mc_code mc_xgb_feature_importance(const mc_xgb_model *m, double *out, size_t ncol, mc_error *err)
{
	if (ncol != m->ncol)
		return mc_fail(err, MC_ERR_INVALID,
			       "cannot compute importance: %zu columns, the model has %zu", ncol,
			       m->ncol);
	xgb_quiet();
	bst_ulong nfeat = 0, dim = 0;
	const char **names = NULL;
	const bst_ulong *shape = NULL;
	const float *scores = NULL;
	if (XGBoosterFeatureScore(m->booster, "{\"importance_type\":\"gain\"}", &nfeat, &names,
				  &dim, &shape, &scores) != 0)
		return xgb_fail(err, MC_ERR_INVALID, "cannot compute feature importance");
	for (size_t j = 0; j < ncol; j++)
		out[j] = 0;
	for (bst_ulong k = 0; k < nfeat; k++) {
		size_t j;
		if (!xgb_feature_index(names[k], ncol, &j))
			return mc_fail(err, MC_ERR_FORMAT,
				       "cannot compute feature importance: feature '%s'", names[k]);
		out[j] = scores[k];
	}
	return MC_OK;
}

mc_code mc_xgb_dump(const mc_xgb_model *m, const char *format, mc_buf *out, mc_error *err)
{
	bool json = strcmp(format, "json") == 0;
	if (!json && strcmp(format, "text") != 0)
		return mc_fail(err, MC_ERR_INVALID, "cannot dump the model as '%s'", format);
	xgb_quiet();
	bst_ulong ntrees = 0;
	const char **trees = NULL;
	if (XGBoosterDumpModelEx(m->booster, "", 1, format, &ntrees, &trees) != 0)
		return xgb_fail(err, MC_ERR_INVALID, "cannot dump the model");
	mc_code rc = mc_buf_printf(out, "%s", json ? "[\n" : "");
	for (bst_ulong i = 0; !rc && i < ntrees; i++) {
		if (json)
			rc = mc_buf_printf(out, "%s%s", i ? ",\n" : "", trees[i]);
		else
			rc = mc_buf_printf(out, "booster[%" PRIu64 "]:\n%s", (uint64_t)i, trees[i]);
	}
	if (!rc && json)
		rc = mc_buf_printf(out, "\n]\n");
	if (rc)
		return mc_fail(err, rc, "cannot dump the model: out of memory");
	return MC_OK;
}

static char version_text[32];
static pthread_once_t version_once = PTHREAD_ONCE_INIT;

static void xgb_version_init(void)
{
	int major = 0, minor = 0, patch = 0;
	XGBoostVersion(&major, &minor, &patch);
	snprintf(version_text, sizeof version_text, "%d.%d.%d", major, minor, patch);
}

const char *mc_xgb_version(void)
{
	pthread_once(&version_once, xgb_version_init);
	return version_text;
}
