/*
 * Unit tests of the XGBoost wrapper: early-stopping rule, missing values,
 * determinism, save/load (and refusal of damaged bytes), concurrent
 * prediction, and XGBoost's Python package as the oracle for predictions of
 * a saved model and for the training loop with early stopping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "milkcast/xgb.h"

#define PYTHON "/usr/bin/python3"

/* ---- data ------------------------------------------------------------ */

typedef struct rng {
	uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double rng_unif(rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double rng_normal(rng *r)
{
	double u = rng_unif(r), v = rng_unif(r);
	return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

/* A regression data set: X [n x ncol] with a share of NaNs, y from a few features. */
typedef struct dataset {
	size_t n, ncol;
	float *X, *y;
} dataset;

static double feature_or(float v, double dflt)
{
	return isnan(v) ? dflt : (double)v;
}

static dataset make_data(size_t n, size_t ncol, double nan_share, double noise, uint64_t seed)
{
	dataset d = {n, ncol, malloc(n * ncol * sizeof(float)), malloc(n * sizeof(float))};
	assert_non_null(d.X);
	assert_non_null(d.y);
	rng r = {seed};
	for (size_t i = 0; i < n; i++) {
		float *x = d.X + i * ncol;
		for (size_t j = 0; j < ncol; j++)
			x[j] = rng_unif(&r) < nan_share ? NAN : (float)rng_normal(&r);
		/* ncol >= 3; x[3] and x[4] only when present */
		double y = 3 * feature_or(x[0], 1.5) + sin(2 * feature_or(x[1], 0)) +
			   0.5 * feature_or(x[2], -1) * (ncol > 3 ? feature_or(x[3], 0.3) : 1) +
			   (ncol > 4 && x[4] > 0.5f ? 1 : 0) + noise * rng_normal(&r);
		d.y[i] = (float)y;
	}
	return d;
}

static void free_data(dataset *d)
{
	free(d->X);
	free(d->y);
}

static mc_xgb_model *train_ok(const dataset *tr, const dataset *va, const mc_xgb_params *p,
			      mc_xgb_curve *curve)
{
	mc_xgb_model *m = NULL;
	mc_error err = MC_ERROR_INIT;
	mc_code rc = mc_xgb_train(tr->X, tr->y, tr->n, va ? va->X : NULL, va ? va->y : NULL,
				  va ? va->n : 0, tr->ncol, NULL, p, &m, curve, &err);
	if (rc)
		fail_msg("train: %s", err.msg);
	return m;
}

static float *predict_ok(const mc_xgb_model *m, const float *X, size_t n, size_t ncol)
{
	float *out = malloc((n ? n : 1) * sizeof *out);
	assert_non_null(out);
	mc_error err = MC_ERROR_INIT;
	if (mc_xgb_predict(m, X, n, ncol, out, &err))
		fail_msg("predict: %s", err.msg);
	return out;
}

/* ---- files and the Python oracle -------------------------------------- */

static void temp_dir(char *dir, size_t cap)
{
	snprintf(dir, cap, "/tmp/mc-xgb-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static bool have_python_xgboost(void)
{
	return access(PYTHON, X_OK) == 0 &&
	       system(PYTHON " -c 'import xgboost' >/dev/null 2>&1") == 0;
}

/* ---- the early-stopping rule, by hand --------------------------------- */

/* Feed scores; return the 0-based round at which the stopper says stop (-1: never). */
static int stop_round(const double *scores, int n, int rounds, mc_xgb_stopper *s)
{
	mc_xgb_stopper_init(s, rounds);
	for (int i = 0; i < n; i++)
		if (mc_xgb_stopper_update(s, scores[i]))
			return i;
	return -1;
}

static void test_stopper_rule(void **state)
{
	(void)state;
	mc_xgb_stopper s;
	/* A tie is not an improvement: best stays at round 1, stop after 2 more. */
	const double ties[] = {5, 4, 4, 4, 3};
	assert_int_equal(stop_round(ties, 5, 2, &s), 3);
	assert_int_equal(s.best_iteration, 1);
	assert_true(s.best_score == 4);
	/* Improvements reset the count. */
	const double down[] = {5, 6, 4, 6, 3, 7, 7, 7};
	assert_int_equal(stop_round(down, 8, 3, &s), 7);
	assert_int_equal(s.best_iteration, 4);
	/* Patience 1 stops at the first round without improvement. */
	const double flat[] = {3, 3};
	assert_int_equal(stop_round(flat, 2, 1, &s), 1);
	assert_int_equal(s.best_iteration, 0);
	/* A NAN first score is the best and can never be beaten (numpy.greater is false). */
	const double nan_first[] = {NAN, 1, 0.5};
	assert_int_equal(stop_round(nan_first, 3, 2, &s), 2);
	assert_int_equal(s.best_iteration, 0);
	assert_true(isnan(s.best_score));
	/* A NAN later is no improvement. */
	const double nan_later[] = {3, NAN, 2, NAN, NAN};
	assert_int_equal(stop_round(nan_later, 5, 2, &s), 4);
	assert_int_equal(s.best_iteration, 2);
	/* Never stopping: the best is the minimum's first occurrence. */
	const double never[] = {3, 2, 2.5, 1, 1};
	assert_int_equal(stop_round(never, 5, 5, &s), -1);
	assert_int_equal(s.best_iteration, 3);
}

/* ---- basics ------------------------------------------------------------ */

static void test_params_and_version(void **state)
{
	(void)state;
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	assert_int_equal(p.max_depth, 6);
	assert_true(p.learning_rate == 0.3);
	assert_int_equal(p.max_bin, 256);
	assert_int_equal(p.early_stopping_rounds, 0);
	assert_true(p.reg_lambda == 1 && p.reg_alpha == 0 && p.subsample == 1);
	assert_string_equal(mc_xgb_version(), "1.7.4");
}

static void test_train_save_load(void **state)
{
	(void)state;
	dataset tr = make_data(500, 6, 0.1, 0.3, 1), va = make_data(200, 6, 0.1, 0.3, 2);
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 40;
	p.max_depth = 3;
	mc_xgb_curve c;
	mc_xgb_curve_init(&c);
	mc_xgb_model *m = train_ok(&tr, &va, &p, &c);
	/* Without early stopping every round is kept. */
	assert_int_equal(c.n, 40);
	assert_int_equal(mc_xgb_num_rounds(m), 40);
	assert_int_equal(mc_xgb_best_iteration(m), 39);
	assert_true(isnan(mc_xgb_best_score(m)));
	assert_int_equal(c.best_iteration, 39);
	assert_true(c.best_score == c.valid_rmse[39]);
	assert_false(c.stopped_early);
	assert_true(c.train_rmse[39] < c.train_rmse[0]);
	assert_int_equal(mc_xgb_num_features(m), 6);

	float *pred = predict_ok(m, va.X, va.n, va.ncol);
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xgb_save(m, &b, &err), MC_OK);
	assert_true(b.len > 100 && b.data[0] == '{');
	mc_xgb_model *back = NULL;
	assert_int_equal(mc_xgb_load(b.data, b.len, &back, &err), MC_OK);
	assert_int_equal(mc_xgb_num_rounds(back), 40);
	float *again = predict_ok(back, va.X, va.n, va.ncol);
	assert_memory_equal(pred, again, va.n * sizeof *pred);
	/* Saving the loaded model gives the same bytes. */
	mc_buf b2;
	mc_buf_init(&b2, 0);
	assert_int_equal(mc_xgb_save(back, &b2, &err), MC_OK);
	assert_int_equal(b2.len, b.len);
	assert_memory_equal(b2.data, b.data, b.len);

	/* Importance: feature 0 carries most of the signal. */
	double gain[6];
	assert_int_equal(mc_xgb_feature_importance(m, gain, 6, &err), MC_OK);
	for (int j = 1; j < 6; j++)
		assert_true(gain[0] > gain[j]);
	assert_int_equal(mc_xgb_feature_importance(m, gain, 5, &err), MC_ERR_INVALID);

	/* Zero rows is fine; a wrong column count is not. */
	assert_int_equal(mc_xgb_predict(m, NULL, 0, 6, NULL, &err), MC_OK);
	assert_int_equal(mc_xgb_predict(m, va.X, 3, 5, again, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "expects 6"));

	mc_buf_release(&b);
	mc_buf_release(&b2);
	free(pred);
	free(again);
	mc_xgb_free(m);
	mc_xgb_free(back);
	mc_xgb_curve_release(&c);
	free_data(&tr);
	free_data(&va);
}

static void test_bad_input(void **state)
{
	(void)state;
	dataset tr = make_data(50, 3, 0, 0.1, 3);
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 3;
	mc_xgb_model *m = NULL;
	mc_error err = MC_ERROR_INIT;

	p.early_stopping_rounds = 5; /* without a validation set */
	assert_int_equal(mc_xgb_train(tr.X, tr.y, tr.n, NULL, NULL, 0, 3, NULL, &p, &m, NULL, &err),
			 MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "validation set"));
	p.early_stopping_rounds = 0;

	p.subsample = 0;
	assert_int_equal(mc_xgb_train(tr.X, tr.y, tr.n, NULL, NULL, 0, 3, NULL, &p, &m, NULL, &err),
			 MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "subsample"));
	p.subsample = 1;

	p.seed = UINT64_MAX;
	assert_int_equal(mc_xgb_train(tr.X, tr.y, tr.n, NULL, NULL, 0, 3, NULL, &p, &m, NULL, &err),
			 MC_ERR_INVALID);
	p.seed = 0;

	tr.y[7] = NAN;
	assert_int_equal(mc_xgb_train(tr.X, tr.y, tr.n, NULL, NULL, 0, 3, NULL, &p, &m, NULL, &err),
			 MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "training row 7: label"));
	tr.y[7] = 1;

	tr.X[4 * 3 + 2] = INFINITY;
	assert_int_equal(mc_xgb_train(tr.X, tr.y, tr.n, NULL, NULL, 0, 3, NULL, &p, &m, NULL, &err),
			 MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "training row 4 column 2: infinite"));
	tr.X[4 * 3 + 2] = 0;

	float w[50];
	for (int i = 0; i < 50; i++)
		w[i] = 1;
	w[9] = -1;
	assert_int_equal(mc_xgb_train(tr.X, tr.y, tr.n, NULL, NULL, 0, 3, w, &p, &m, NULL, &err),
			 MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "weight"));

	assert_int_equal(mc_xgb_train(tr.X, tr.y, 0, NULL, NULL, 0, 3, NULL, &p, &m, NULL, &err),
			 MC_ERR_EMPTY);
	assert_null(m);

	free_data(&tr);
}

/* ---- missing values ---------------------------------------------------- */

/*
 * y = 5 where x0 is missing, -1 where x0 < 0, +1 where x0 > 0 (|x0| >= 0.1).
 * Trained with NaN, the model must send missing values down a learned default
 * direction; trained with the NaNs replaced by 0 it is another model.
 */
static void test_missing_is_not_zero(void **state)
{
	(void)state;
	enum { N = 600, C = 3 };
	float *X = malloc(N * C * sizeof *X), *X0 = malloc(N * C * sizeof *X), y[N];
	assert_non_null(X);
	assert_non_null(X0);
	rng r = {11};
	for (int i = 0; i < N; i++) {
		double u = rng_unif(&r);
		float x0 =
			i % 3 == 0 ? NAN : (float)((u < 0.5 ? -1 : 1) * (0.1 + 0.9 * rng_unif(&r)));
		X[i * C] = x0;
		X[i * C + 1] = (float)rng_normal(&r);
		X[i * C + 2] = (float)rng_normal(&r);
		y[i] = isnan(x0) ? 5.0f : x0 < 0 ? -1.0f : 1.0f;
		memcpy(X0 + i * C, X + i * C, C * sizeof *X);
		if (isnan(x0))
			X0[i * C] = 0;
	}
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 30;
	p.max_depth = 2;
	p.nthread = 1;
	mc_xgb_model *m = NULL, *m0 = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xgb_train(X, y, N, NULL, NULL, 0, C, NULL, &p, &m, NULL, &err), MC_OK);
	assert_int_equal(mc_xgb_train(X0, y, N, NULL, NULL, 0, C, NULL, &p, &m0, NULL, &err),
			 MC_OK);

	const float rows[4 * C] = {NAN, 0, 0, 0, 0, 0, 0.5f, 0, 0, -0.5f, 0, 0};
	float out[4], out0[4];
	assert_int_equal(mc_xgb_predict(m, rows, 4, C, out, &err), MC_OK);
	assert_int_equal(mc_xgb_predict(m0, rows, 4, C, out0, &err), MC_OK);
	assert_float_equal(out[0], 5, 0.05); /* missing: the learned default direction */
	assert_true(fabsf(out[1] - 5) > 3);  /* an actual 0 is not missing */
	assert_float_equal(out[2], 1, 0.05);
	assert_float_equal(out[3], -1, 0.05);
	assert_float_equal(out0[1], 5, 0.05); /* the 0-filled model learned 0 -> 5 */
	assert_true(out[0] != out0[0] || out[1] != out0[1]);

	/* The dump: the first tree's root splits on f0 and sends missing values
	 * the other way from where 0 goes. */
	mc_buf dump;
	mc_buf_init(&dump, 0);
	assert_int_equal(mc_xgb_dump(m, "text", &dump, &err), MC_OK);
	const char *root = strstr((char *)dump.data, "booster[0]:\n");
	assert_non_null(root);
	int feat, yes, no, missing;
	double cut;
	assert_int_equal(sscanf(root, "booster[0]:\n0:[f%d<%lf] yes=%d,no=%d,missing=%d", &feat,
				&cut, &yes, &no, &missing),
			 5);
	assert_int_equal(feat, 0);
	int zero_goes = 0 < cut ? yes : no;
	assert_int_not_equal(missing, zero_goes);
	mc_buf_reset(&dump);
	assert_int_equal(mc_xgb_dump(m, "json", &dump, &err), MC_OK);
	assert_non_null(strstr((char *)dump.data, "\"missing\":"));
	mc_buf_release(&dump);

	mc_xgb_free(m);
	mc_xgb_free(m0);
	free(X);
	free(X0);
}

/* ---- determinism --------------------------------------------------------- */

static void save_bytes(const mc_xgb_model *m, mc_buf *b)
{
	mc_error err = MC_ERROR_INIT;
	mc_buf_init(b, 0);
	assert_int_equal(mc_xgb_save(m, b, &err), MC_OK);
}

static void test_deterministic(void **state)
{
	(void)state;
	dataset tr = make_data(1000, 20, 0.1, 1, 21), va = make_data(300, 20, 0.1, 1, 22);
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 120;
	p.learning_rate = 0.15;
	p.subsample = 0.8;
	p.colsample_bytree = 0.7;
	p.early_stopping_rounds = 10;
	p.seed = 42;
	mc_xgb_model *m[4];
	float *pred[4];
	mc_buf bytes[4];
	const int threads[4] = {1, 1, 2, 2};
	for (int k = 0; k < 4; k++) {
		p.nthread = threads[k];
		p.seed = k == 3 ? 43 : 42;
		m[k] = train_ok(&tr, &va, &p, NULL);
		pred[k] = predict_ok(m[k], va.X, va.n, va.ncol);
		save_bytes(m[k], &bytes[k]);
	}
	for (int k = 1; k < 3; k++) {
		assert_memory_equal(pred[0], pred[k], va.n * sizeof(float));
		assert_int_equal(bytes[0].len, bytes[k].len);
		assert_memory_equal(bytes[0].data, bytes[k].data, bytes[0].len);
	}
	/* The seed matters when rows and columns are sampled. */
	assert_true(memcmp(pred[0], pred[3], va.n * sizeof(float)) != 0);
	for (int k = 0; k < 4; k++) {
		mc_xgb_free(m[k]);
		free(pred[k]);
		mc_buf_release(&bytes[k]);
	}
	free_data(&tr);
	free_data(&va);
}

/*
 * Matrices built once and reused (mc_xgb_data), as a search's trials do:
 * each training gives the model mc_xgb_train() gives, byte for byte, even
 * after other trainings with other parameters on the same matrices.
 */
static void test_reused_matrices(void **state)
{
	(void)state;
	dataset tr = make_data(800, 12, 0.1, 1, 31), va = make_data(200, 12, 0.1, 1, 32);
	mc_error err = MC_ERROR_INIT;
	mc_xgb_data *dt, *dv;
	assert_int_equal(mc_xgb_data_new("training", tr.X, tr.y, NULL, tr.n, tr.ncol, &dt, &err),
			 MC_OK);
	assert_int_equal(mc_xgb_data_new("validation", va.X, va.y, NULL, va.n, va.ncol, &dv, &err),
			 MC_OK);
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 60;
	p.subsample = 0.8;
	p.early_stopping_rounds = 5;
	p.nthread = 1;
	for (int k = 0; k < 3; k++) {
		p.max_depth = 3 + 2 * k;
		p.seed = (uint64_t)(7 + k);
		mc_xgb_model *fresh = train_ok(&tr, &va, &p, NULL), *reused = NULL;
		assert_int_equal(mc_xgb_train_data(dt, dv, &p, &reused, NULL, &err), MC_OK);
		mc_buf a, b;
		save_bytes(fresh, &a);
		save_bytes(reused, &b);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.data, b.data, a.len);
		mc_buf_release(&a);
		mc_buf_release(&b);
		mc_xgb_free(fresh);
		mc_xgb_free(reused);
	}
	mc_xgb_data *bad;
	assert_int_equal(mc_xgb_data_new("training", tr.X, tr.y, NULL, 0, tr.ncol, &bad, &err),
			 MC_ERR_EMPTY);
	assert_non_null(strstr(err.msg, "training"));
	mc_xgb_data_free(dt);
	mc_xgb_data_free(dv);
	free_data(&tr);
	free_data(&va);
}

/* Two trainings at once in two threads give what they give one after the
 * other (XGBoost's random engine is per thread). */
typedef struct train_job {
	const dataset *tr, *va;
	mc_xgb_params p;
	float *pred;
} train_job;

static void *train_thread(void *arg)
{
	train_job *j = arg;
	mc_xgb_model *m = NULL;
	mc_error err = MC_ERROR_INIT;
	if (mc_xgb_train(j->tr->X, j->tr->y, j->tr->n, j->va->X, j->va->y, j->va->n, j->tr->ncol,
			 NULL, &j->p, &m, NULL, &err) == MC_OK) {
		j->pred = malloc(j->va->n * sizeof(float));
		if (j->pred && mc_xgb_predict(m, j->va->X, j->va->n, j->va->ncol, j->pred, &err)) {
			free(j->pred);
			j->pred = NULL;
		}
	}
	mc_xgb_free(m);
	return NULL;
}

static void test_concurrent_training(void **state)
{
	(void)state;
	dataset tr = make_data(800, 10, 0.1, 1, 31), va = make_data(300, 10, 0.1, 1, 32);
	train_job jobs[2];
	for (int k = 0; k < 2; k++) {
		jobs[k] = (train_job){&tr, &va, {0}, NULL};
		mc_xgb_params_init(&jobs[k].p);
		jobs[k].p.num_round = 60;
		jobs[k].p.subsample = 0.7;
		jobs[k].p.colsample_bytree = 0.6;
		jobs[k].p.nthread = 1;
		jobs[k].p.seed = (uint64_t)(100 + k);
	}
	float *alone[2];
	for (int k = 0; k < 2; k++) {
		train_thread(&jobs[k]);
		assert_non_null(jobs[k].pred);
		alone[k] = jobs[k].pred;
		jobs[k].pred = NULL;
	}
	pthread_t t[2];
	for (int k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&t[k], NULL, train_thread, &jobs[k]), 0);
	for (int k = 0; k < 2; k++) {
		pthread_join(t[k], NULL);
		assert_non_null(jobs[k].pred);
		assert_memory_equal(alone[k], jobs[k].pred, va.n * sizeof(float));
		free(alone[k]);
		free(jobs[k].pred);
	}
	free_data(&tr);
	free_data(&va);
}

/* ---- concurrent prediction --------------------------------------------- */

typedef struct predict_job {
	const mc_xgb_model *m;
	const dataset *d;
	const float *expect;
	int failures;
} predict_job;

static void *predict_thread(void *arg)
{
	predict_job *j = arg;
	float *out = malloc(j->d->n * sizeof *out);
	mc_error err = MC_ERROR_INIT;
	for (int round = 0; out && round < 30; round++) {
		/* Different slices each round, down to single rows. */
		size_t from = (size_t)round * 7 % j->d->n, n = round % 3 ? j->d->n - from : 1;
		if (mc_xgb_predict(j->m, j->d->X + from * j->d->ncol, n, j->d->ncol, out, &err) ||
		    memcmp(out, j->expect + from, n * sizeof *out) != 0)
			j->failures++;
	}
	free(out);
	return NULL;
}

static void test_concurrent_predict(void **state)
{
	(void)state;
	dataset tr = make_data(1000, 12, 0.1, 0.5, 41), te = make_data(400, 12, 0.2, 0.5, 42);
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 80;
	mc_xgb_model *m = train_ok(&tr, NULL, &p, NULL);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xgb_set_nthread(m, 1, &err), MC_OK);
	float *expect = predict_ok(m, te.X, te.n, te.ncol);
	enum { T = 8 };
	pthread_t t[T];
	predict_job jobs[T];
	for (int k = 0; k < T; k++) {
		jobs[k] = (predict_job){m, &te, expect, 0};
		assert_int_equal(pthread_create(&t[k], NULL, predict_thread, &jobs[k]), 0);
	}
	for (int k = 0; k < T; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(jobs[k].failures, 0);
	}
	free(expect);
	mc_xgb_free(m);
	free_data(&tr);
	free_data(&te);
}

/* ---- damaged model bytes ------------------------------------------------ */

static void expect_load_fails(const void *p, size_t n)
{
	mc_xgb_model *m = (mc_xgb_model *)1;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xgb_load(p, n, &m, &err), MC_ERR_FORMAT);
	assert_null(m);
	assert_non_null(strstr(err.msg, "cannot load the model"));
}

#define EXPECT_LOAD_FAILS(literal) expect_load_fails(literal, sizeof literal - 1)

static void test_load_garbage(void **state)
{
	(void)state;
	dataset tr = make_data(200, 4, 0.1, 0.3, 51);
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 5;
	p.max_depth = 3;
	mc_xgb_model *m = train_ok(&tr, NULL, &p, NULL);
	mc_buf b;
	save_bytes(m, &b);

	EXPECT_LOAD_FAILS("");
	EXPECT_LOAD_FAILS("{");
	EXPECT_LOAD_FAILS("{L");
	EXPECT_LOAD_FAILS("binf\0\0\0\0");
	EXPECT_LOAD_FAILS("{\"learner\": {}}"); /* JSON text: we read UBJSON only */
	/* A huge string length, a huge typed-array count, a negative count. */
	EXPECT_LOAD_FAILS("{L\x7f\xff\xff\xff\xff\xff\xff\xff"
			  "abc");
	EXPECT_LOAD_FAILS("{L\0\0\0\0\0\0\0\x01"
			  "a[$d#L\x10\0\0\0\0\0\0\0}");
	EXPECT_LOAD_FAILS("{L\0\0\0\0\0\0\0\x01"
			  "a[#L\xff\xff\xff\xff\xff\xff\xff\xff}");
	/* Unterminated array (XGBoost's reader would loop forever). */
	EXPECT_LOAD_FAILS("{L\0\0\0\0\0\0\0\x01"
			  "a[iZ");
	/* Deep nesting. */
	char deep[2000] = "{L\0\0\0\0\0\0\0\x01"
			  "a";
	memset(deep + 11, '[', sizeof deep - 11);
	expect_load_fails(deep, sizeof deep);
	/* Random bytes, and random bytes behind a valid start. */
	rng r = {52};
	uint8_t junk[4096];
	for (int k = 0; k < 200; k++) {
		size_t n = 1 + rng_next(&r) % sizeof junk;
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)rng_next(&r);
		if (k % 2) {
			junk[0] = '{';
			junk[1] = 'L';
		}
		expect_load_fails(junk, n);
	}
	/* Every truncation of a real model, and one byte too many. */
	for (size_t n = 0; n < b.len; n++)
		expect_load_fails(b.data, n);
	uint8_t *longer = malloc(b.len + 1);
	assert_non_null(longer);
	memcpy(longer, b.data, b.len);
	longer[b.len] = 'Z';
	expect_load_fails(longer, b.len + 1);
	free(longer);

	/* Well-formed UBJSON that is not a model. */
	mc_xgb_model *bad = NULL;
	mc_error err = MC_ERROR_INIT;
	const char not_model[] = "{L\0\0\0\0\0\0\0\x07"
				 "versionSL\0\0\0\0\0\0\0\x01"
				 "x}";
	assert_int_equal(mc_xgb_load(not_model, sizeof not_model - 1, &bad, &err), MC_ERR_FORMAT);
	assert_null(bad);
	assert_non_null(strstr(err.msg, "model version"));

	/* A model whose trees would send prediction outside its arrays. */
	uint8_t *copy = malloc(b.len);
	assert_non_null(copy);
	memcpy(copy, b.data, b.len);
	uint8_t *left = memmem(copy, b.len, "left_children[$l#L", 18);
	assert_non_null(left);
	memcpy(left + 18 + 8, "\0\0\0\x7f", 4); /* root's left child: 127 */
	assert_int_equal(mc_xgb_load(copy, b.len, &bad, &err), MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "trees[0].left_children: node 0 has children 127"));

	/* An error only XGBoost finds comes back with its text on one line. */
	memcpy(copy, b.data, b.len);
	uint8_t *obj = memmem(copy, b.len, "reg:squarederror", 16);
	assert_non_null(obj);
	obj[4] = 'Q';
	assert_int_equal(mc_xgb_load(copy, b.len, &bad, &err), MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "cannot load the model: xgboost: Unknown objective"));
	assert_null(strchr(err.msg, '\n'));

	/* Random bit flips: loaded or refused, never a crash; what loads predicts. */
	size_t loaded = 0;
	float out[4];
	for (int k = 0; k < 300; k++) {
		memcpy(copy, b.data, b.len);
		for (int f = 0; f < 1 + k % 3; f++)
			copy[rng_next(&r) % b.len] ^= (uint8_t)(1u << (rng_next(&r) % 8));
		if (mc_xgb_load(copy, b.len, &bad, &err) == MC_OK) {
			loaded++;
			if (mc_xgb_num_features(bad) == 4)
				assert_int_equal(mc_xgb_predict(bad, tr.X, 4, 4, out, &err), MC_OK);
			mc_xgb_free(bad);
		}
	}
	print_message("bit flips: %zu of 300 damaged models still loaded\n", loaded);
	free(copy);

	mc_buf_release(&b);
	mc_xgb_free(m);
	free_data(&tr);
}

/* ---- the Python oracle ---------------------------------------------------- */

/* Python's xgboost loads our model.ubj and predicts the same rows: the same floats. */
static void test_python_predicts_the_same(void **state)
{
	(void)state;
	if (!have_python_xgboost())
		skip();
	dataset d = make_data(2000, 20, 0.1, 1, 61);
	dataset tr = {1500, 20, d.X, d.y}, va = {500, 20, d.X + 1500 * 20, d.y + 1500};
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 500;
	p.learning_rate = 0.1;
	p.subsample = 0.8;
	p.colsample_bytree = 0.8;
	p.early_stopping_rounds = 15;
	p.seed = 7;
	mc_xgb_curve c;
	mc_xgb_curve_init(&c);
	mc_xgb_model *m = train_ok(&tr, &va, &p, &c);
	assert_true(c.stopped_early);
	assert_int_equal(mc_xgb_num_rounds(m), c.best_iteration + 1);
	assert_int_equal(c.n, (size_t)c.best_iteration + 16);

	/* All 2000 rows plus rows with every feature missing or one present. */
	size_t n = 2000 + 21;
	float *rows = malloc(n * 20 * sizeof *rows);
	assert_non_null(rows);
	memcpy(rows, d.X, 2000 * 20 * sizeof *rows);
	for (size_t i = 2000; i < n; i++)
		for (size_t j = 0; j < 20; j++)
			rows[i * 20 + j] = i - 2000 == j + 1 ? 0.25f : NAN;
	float *pred = predict_ok(m, rows, n, 20);

	char dir[64];
	temp_dir(dir, sizeof dir);
	mc_buf b;
	save_bytes(m, &b);
	write_file(dir, "model.ubj", b.data, b.len);
	write_file(dir, "rows.f32", rows, n * 20 * sizeof *rows);
	char cmd[512];
	snprintf(cmd, sizeof cmd, PYTHON " tests/oracle/xgb_predict.py %s/model.ubj %s/rows.f32 20",
		 dir, dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	int rounds = -1, best = -1;
	char best_score[64];
	assert_int_equal(fscanf(f, "rounds %d best_iteration %d best_score %63s", &rounds, &best,
				best_score),
			 3);
	assert_int_equal(rounds, mc_xgb_num_rounds(m));
	assert_int_equal(best, c.best_iteration);
	assert_true(strtod(best_score, NULL) == c.best_score);
	size_t exact = 0;
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		float v;
		assert_int_equal(fscanf(f, "%g", &v), 1);
		double rel = fabs((double)v - pred[i]) / fmax(fabs((double)pred[i]), 1e-30);
		worst = fmax(worst, rel);
		exact += v == pred[i];
	}
	assert_int_equal(pclose(f), 0);
	print_message("python oracle: %zu of %zu predictions identical, max rel diff %g, "
		      "%d rounds kept of %zu\n",
		      exact, n, worst, rounds, c.n);
	assert_true(worst <= 1e-6);
	assert_int_equal(exact, n);

	remove_dir(dir);
	mc_buf_release(&b);
	free(rows);
	free(pred);
	mc_xgb_free(m);
	mc_xgb_curve_release(&c);
	free_data(&d);
}

static void write_params(const char *dir, const mc_xgb_params *p, size_t ncol)
{
	char text[1024];
	int len =
		snprintf(text, sizeof text,
			 "objective reg:squarederror\neval_metric rmse\ntree_method hist\n"
			 "max_bin %d\nmax_depth %d\neta %.17g\nmin_child_weight %.17g\n"
			 "gamma %.17g\nsubsample %.17g\ncolsample_bytree %.17g\nalpha %.17g\n"
			 "lambda %.17g\nnthread %d\nseed %llu\nverbosity 0\nncol %zu\n"
			 "num_boost_round %d\nearly_stopping_rounds %d\n",
			 p->max_bin, p->max_depth, p->learning_rate, p->min_child_weight, p->gamma,
			 p->subsample, p->colsample_bytree, p->reg_alpha, p->reg_lambda, p->nthread,
			 (unsigned long long)p->seed, ncol, p->num_round, p->early_stopping_rounds);
	write_file(dir, "params.txt", text, (size_t)len);
}

/*
 * The same data, parameters and seed through xgb.train(early_stopping_rounds)
 * in Python: the same rounds, the same curve, the same best iteration and
 * score, the same predictions.  The data overfit quickly so early stopping
 * triggers well before the round limit.
 */
static void test_python_early_stopping(void **state)
{
	(void)state;
	if (!have_python_xgboost())
		skip();
	dataset tr = make_data(300, 10, 0.15, 1.5, 71), va = make_data(200, 10, 0.15, 1.5, 72);
	mc_xgb_params p;
	mc_xgb_params_init(&p);
	p.num_round = 300;
	p.learning_rate = 0.3;
	p.max_depth = 6;
	p.subsample = 0.8;
	p.colsample_bytree = 0.8;
	p.reg_lambda = 0.5;
	p.nthread = 1;
	p.seed = 1234;
	p.early_stopping_rounds = 7;
	mc_xgb_curve c;
	mc_xgb_curve_init(&c);
	mc_xgb_model *m = train_ok(&tr, &va, &p, &c);
	float *pred = predict_ok(m, va.X, va.n, va.ncol);
	assert_true(c.stopped_early);

	char dir[64];
	temp_dir(dir, sizeof dir);
	write_file(dir, "Xtrain.f32", tr.X, tr.n * tr.ncol * sizeof(float));
	write_file(dir, "ytrain.f32", tr.y, tr.n * sizeof(float));
	write_file(dir, "Xvalid.f32", va.X, va.n * va.ncol * sizeof(float));
	write_file(dir, "yvalid.f32", va.y, va.n * sizeof(float));
	write_params(dir, &p, tr.ncol);
	char cmd[256];
	snprintf(cmd, sizeof cmd, PYTHON " tests/oracle/xgb_train.py %s", dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	int best = -1, rounds = -1;
	double best_score = NAN;
	assert_int_equal(fscanf(f, " best_iteration %d best_score %lf rounds %d", &best,
				&best_score, &rounds),
			 3);
	assert_int_equal(best, c.best_iteration);
	assert_int_equal(best, mc_xgb_best_iteration(m));
	assert_true(best_score == c.best_score);
	assert_true(best_score == mc_xgb_best_score(m));
	assert_int_equal(rounds, (int)c.n);
	double worst = 0;
	for (int i = 0; i < rounds; i++) {
		int k;
		double t, v;
		assert_int_equal(fscanf(f, " curve %d %lf %lf", &k, &t, &v), 3);
		assert_int_equal(k, i);
		worst = fmax(worst, fabs(t - c.train_rmse[i]) / t);
		worst = fmax(worst, fabs(v - c.valid_rmse[i]) / v);
	}
	size_t same = 0;
	for (size_t i = 0; i < va.n; i++) {
		float v;
		assert_int_equal(fscanf(f, " pred %g", &v), 1);
		same += v == pred[i];
	}
	assert_int_equal(pclose(f), 0);
	print_message("python xgb.train: best_iteration %d of %d rounds, best_score %.17g, "
		      "curve max rel diff %g, %zu of %zu predictions identical\n",
		      best, rounds, best_score, worst, same, va.n);
	assert_true(worst <= 1e-6);
	assert_int_equal(same, va.n);

	remove_dir(dir);
	free(pred);
	mc_xgb_free(m);
	mc_xgb_curve_release(&c);
	free_data(&tr);
	free_data(&va);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stopper_rule),
		cmocka_unit_test(test_params_and_version),
		cmocka_unit_test(test_train_save_load),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_missing_is_not_zero),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_reused_matrices),
		cmocka_unit_test(test_concurrent_training),
		cmocka_unit_test(test_concurrent_predict),
		cmocka_unit_test(test_load_garbage),
		cmocka_unit_test(test_python_predicts_the_same),
		cmocka_unit_test(test_python_early_stopping),
	};
	/* MC_TEST_FILTER=pattern runs only the matching tests. */
	if (getenv("MC_TEST_FILTER"))
		cmocka_set_test_filter(getenv("MC_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
