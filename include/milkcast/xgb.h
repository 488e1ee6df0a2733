/*
 * Gradient-boosted regression trees: a thin, safe layer over XGBoost's C API
 * (src/model/xgb.c is the only includer of xgboost/c_api.h).
 *
 * Data are dense row-major float matrices, rows x ncol, with NAN for a
 * missing value (XGBoost learns a default direction for it at each split; a
 * missing value is never read as 0).  Infinite feature values and non-finite
 * labels or weights are refused.  The objective is reg:squarederror, the
 * evaluation metric rmse, the tree method hist.
 *
 * Training stops early with the rule of XGBoost's Python package 1.7 (see
 * docs/internals/model.md) and keeps only rounds 0..best_iteration, so a saved
 * model predicts, in any XGBoost client with default arguments, exactly what
 * mc_xgb_predict() returns.
 *
 * Threads: mc_xgb_predict() may be called concurrently on one model (XGBoost's
 * in-place prediction is thread safe for tree models).  Everything else that
 * takes a model must not run concurrently with any call on the same model.
 * Trainings in different threads are independent and each is deterministic
 * for its seed (XGBoost's random engine is per thread).
 */
#ifndef MILKCAST_XGB_H
#define MILKCAST_XGB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"

/* Training parameters; mc_xgb_params_init() sets XGBoost 1.7's defaults. */
typedef struct mc_xgb_params {
	int max_depth;		   /* 6 */
	double learning_rate;	   /* eta, 0.3 */
	int num_round;		   /* round limit (hyperopt's n_estimators), 100 */
	double min_child_weight;   /* 1 */
	double gamma;		   /* min_split_loss, 0 */
	double subsample;	   /* row share per tree, (0, 1], 1 */
	double colsample_bytree;   /* column share per tree, (0, 1], 1 */
	double reg_alpha;	   /* L1 on leaf weights, 0 */
	double reg_lambda;	   /* L2 on leaf weights, 1 */
	int nthread;		   /* 0 = XGBoost's choice (all cores) */
	uint64_t seed;		   /* 0; at most INT64_MAX (XGBoost's seed is int64) */
	int early_stopping_rounds; /* 0 = off; needs a validation set */
	int max_bin;		   /* hist bins per feature, 256 */
	int verbosity;		   /* XGBoost's own log level while training, 0 = silent */
} mc_xgb_params;

void mc_xgb_params_init(mc_xgb_params *p);

/*
 * The learning curve: per-round RMSE as XGBoost reported it (the text of
 * XGBoosterEvalOneIter parsed back, as the Python package does).  One entry
 * per round trained, including the rounds after the best that early stopping
 * waited through.  valid_rmse is NAN when there was no validation set.
 */
typedef struct mc_xgb_curve {
	size_t n;	    /* rounds trained */
	double *train_rmse; /* [n] */
	double *valid_rmse; /* [n] */
	int best_iteration; /* 0-based round kept last (n - 1 without early stopping) */
	double best_score;  /* the deciding RMSE (validation, else training) at best_iteration */
	bool stopped_early; /* true when the patience ran out before num_round */
} mc_xgb_curve;

void mc_xgb_curve_init(mc_xgb_curve *c);
void mc_xgb_curve_release(mc_xgb_curve *c);

/*
 * Early stopping, the rule of xgboost.callback.EarlyStopping (1.7) with
 * minimise and min_delta 0: the first score is the best; a later score
 * improves only if strictly smaller than the best (NAN never improves, and a
 * NAN first score is never beaten); stop when the rounds since the last
 * improvement reach `rounds`.  Exposed for tuning code and tests.
 */
typedef struct mc_xgb_stopper {
	int rounds;	    /* patience, >= 1 */
	int seen;	    /* scores fed so far */
	int since_best;	    /* rounds without improvement */
	int best_iteration; /* 0-based, -1 before the first score */
	double best_score;
} mc_xgb_stopper;

void mc_xgb_stopper_init(mc_xgb_stopper *s, int rounds);
/* Feed the score of the next round (0, 1, ...); true when training should stop. */
bool mc_xgb_stopper_update(mc_xgb_stopper *s, double score);

typedef struct mc_xgb_model mc_xgb_model;

/*
 * Train on Xtrain [ntrain x ncol] / ytrain [ntrain], evaluating each round on
 * the training set and, when nvalid > 0, on Xvalid [nvalid x ncol] / yvalid
 * (the last evaluation set decides early stopping).  wtrain (nullable) holds
 * per-row weights >= 0.  On success curve (nullable) is released and
 * refilled, and *out owns a model holding rounds 0..best_iteration; its attributes
 * best_iteration, best_ntree_limit and (with early stopping) best_score are
 * set as the Python package sets them.
 */
mc_code mc_xgb_train(const float *Xtrain, const float *ytrain, size_t ntrain, const float *Xvalid,
		     const float *yvalid, size_t nvalid, size_t ncol, const float *wtrain,
		     const mc_xgb_params *p, mc_xgb_model **out, mc_xgb_curve *curve,
		     mc_error *err);

/*
 * A training or validation matrix built once and reused by several
 * trainings (a search's trials): building it, with its quantile bins, is a
 * sizeable part of a short training.  Not thread safe: one thread at a time
 * may train with a handle; give each worker its own.
 */
typedef struct mc_xgb_data mc_xgb_data;

/* `set` names the matrix in errors ("training", "validation"). */
mc_code mc_xgb_data_new(const char *set, const float *X, const float *y, const float *w,
			size_t nrow, size_t ncol, mc_xgb_data **out, mc_error *err);
void mc_xgb_data_free(mc_xgb_data *d);

/* mc_xgb_train() on prebuilt matrices (valid nullable); the same model, bit for bit. */
mc_code mc_xgb_train_data(mc_xgb_data *train, mc_xgb_data *valid, const mc_xgb_params *p,
			  mc_xgb_model **out, mc_xgb_curve *curve, mc_error *err);

/* Predict nrow rows of X [nrow x ncol] into out [nrow].  Thread safe (see above). */
mc_code mc_xgb_predict(const mc_xgb_model *m, const float *X, size_t nrow, size_t ncol, float *out,
		       mc_error *err);

/* Append the model as UBJSON (XGBoost's .ubj format) to out. */
mc_code mc_xgb_save(const mc_xgb_model *m, mc_buf *out, mc_error *err);

/*
 * Load a UBJSON model.  The bytes are parsed and the trees checked first
 * (XGBoost's own reader and predictor trust lengths and indices in the
 * input), so garbage, truncated or damaged input fails with MC_ERR_FORMAT
 * instead of reading outside a buffer; a model kind we do not run
 * (categorical splits, several outputs, not gbtree) is MC_ERR_UNSUPPORTED.
 * The model is configured (one warm-up prediction) before it is returned.
 */
mc_code mc_xgb_load(const void *p, size_t n, mc_xgb_model **out, mc_error *err);

void mc_xgb_free(mc_xgb_model *m);

/* Rounds (trees) in the model. */
int mc_xgb_num_rounds(const mc_xgb_model *m);
/* Features the model expects per row. */
size_t mc_xgb_num_features(const mc_xgb_model *m);
/* The best_iteration attribute (num_rounds - 1 when absent). */
int mc_xgb_best_iteration(const mc_xgb_model *m);
/* The best_score attribute, NAN when absent. */
double mc_xgb_best_score(const mc_xgb_model *m);

/*
 * Importance by gain (XGBoost's "gain": mean loss reduction of the splits on
 * the feature) into out [ncol]; 0 for features never split on.
 */
mc_code mc_xgb_feature_importance(const mc_xgb_model *m, double *out, size_t ncol, mc_error *err);

/*
 * Threads XGBoost uses inside each call on this model (0 = all cores).  A
 * server predicting from a thread pool sets 1.  Not thread safe: call before
 * sharing the model.
 */
mc_code mc_xgb_set_nthread(mc_xgb_model *m, int nthread, mc_error *err);

/* The JSON or text dump of the trees ("json" or "text"), with split statistics. */
mc_code mc_xgb_dump(const mc_xgb_model *m, const char *format, mc_buf *out, mc_error *err);

/* XGBoost's log level for the process: 0 silent (default), 1 warnings, 2 info, 3 debug. */
void mc_xgb_set_verbosity(int level);

/* The linked XGBoost library's version, e.g. "1.7.4". */
const char *mc_xgb_version(void);

#endif
