/*
 * Hyperparameter search: a search space read from JSON, and an ask/tell
 * optimiser that is either random search or TPE as hyperopt 0.2.7's
 * tpe.suggest does it (docs/internals/search.md maps every formula).
 *
 * A parameter vector is a double per parameter, in the space's order.  A
 * choice parameter's value is the option's index (0, 1, ...); the others hold
 * the value itself (for loguniform: exp of the log-space draw, as
 * hp.loguniform returns).
 *
 * Thread-safety: an mc_space is immutable once made and may be read from any
 * number of threads.  An mc_search is not thread-safe: serialise every call on
 * one object (ask, tell, best) with a mutex; objective evaluations run outside
 * the lock, in parallel.  There is no global state; distinct objects are
 * independent.
 */
#ifndef MILKCAST_SEARCH_H
#define MILKCAST_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"

/* Stable numbers (they may be logged). */
typedef enum mc_param_type {
	MC_PARAM_UNIFORM = 0,	  /* low + (high - low) * U */
	MC_PARAM_LOGUNIFORM = 1,  /* exp(uniform(low, high)): low, high in log space */
	MC_PARAM_QUNIFORM = 2,	  /* round(uniform(low, high) / q) * q */
	MC_PARAM_QLOGUNIFORM = 3, /* round(exp(uniform(low, high)) / q) * q */
	MC_PARAM_NORMAL = 4,	  /* mu + sigma * N(0, 1) */
	MC_PARAM_CHOICE = 5,	  /* an index into "options", uniform prior */
} mc_param_type;

/* The most parameters a space may have. */
#define MC_SPACE_MAX_PARAMS 64

typedef struct mc_space mc_space;

/* What one parameter is; pointers stay valid while the space lives. */
typedef struct mc_param_info {
	const char *name;
	mc_param_type type;
	double low, high; /* the uniform kinds; log space for (q)loguniform */
	double q;	  /* quantum of quniform / qloguniform, else 0 */
	double mu, sigma; /* normal */
	size_t n_options; /* choice */
	bool integer;	  /* values are whole numbers: choice, or a q-type with integral q */
} mc_param_info;

/*
 * Parse a space from JSON text (format in docs/internals/search.md).  `name`
 * (e.g. the file name; NULL = "space") starts every error message:
 * "space.json: parameter 'max_depth': 'high' (2) must be greater than 'low' (3)".
 * Malformed JSON is MC_ERR_FORMAT with line and column; a wrong or missing
 * field MC_ERR_FORMAT; an impossible value MC_ERR_INVALID; more than
 * MC_SPACE_MAX_PARAMS parameters MC_ERR_LIMIT.
 */
mc_code mc_space_parse_json(const char *text, size_t n, const char *name, mc_space **out,
			    mc_error *err);
/* Read and parse a file (at most 1 MiB); errors name the path. */
mc_code mc_space_load_file(const char *path, mc_space **out, mc_error *err);
/*
 * The original system's XGBoost space (also shipped as data/search-space.json):
 * max_depth, learning_rate, n_estimators, min_child_weight, gamma, subsample,
 * colsample_bytree, reg_alpha, reg_lambda.  NULL when out of memory.
 */
mc_space *mc_space_default(void);
void mc_space_free(mc_space *s);

/* Parameter i, i < mc_space_size (mc_space_name gives NULL beyond; the others assume it). */
size_t mc_space_size(const mc_space *s);
const char *mc_space_name(const mc_space *s, size_t i);
mc_param_type mc_space_type(const mc_space *s, size_t i);
bool mc_space_is_integer(const mc_space *s, size_t i);
void mc_space_param(const mc_space *s, size_t i, mc_param_info *out);
/* The index of the parameter called `name`, or SIZE_MAX. */
size_t mc_space_find(const mc_space *s, const char *name);
/* Option k of choice parameter i as text (a string option as is, a number as
 * written in shortest form); NULL when i is not a choice or k is out of range. */
const char *mc_space_option(const mc_space *s, size_t i, size_t k);
/* Whether option k of choice parameter i was a JSON number. */
bool mc_space_option_is_number(const mc_space *s, size_t i, size_t k);
/* Same parameters, same order, same types and bounds (exact doubles). */
bool mc_space_equal(const mc_space *a, const mc_space *b);
/* "loguniform" etc.; "unknown" for a bad value. */
const char *mc_param_type_name(mc_param_type t);

/*
 * Append x (mc_space_size values) to `out` as one JSON object line for logs:
 * {"max_depth": 7, "learning_rate": 0.0123, "booster": "gbtree"}.  Choices
 * print their option, numbers their shortest round-trip form, a non-finite
 * value null.
 */
mc_code mc_space_format_json(const mc_space *s, const double *x, mc_buf *out, mc_error *err);
/* Append the space itself as JSON in the file format (object form). */
mc_code mc_space_to_json(const mc_space *s, mc_buf *out, mc_error *err);

typedef enum mc_search_algo {
	MC_SEARCH_TPE = 0,
	MC_SEARCH_RANDOM = 1,
} mc_search_algo;

/* TPE settings; mc_tpe_opts_default gives hyperopt 0.2.7's. */
typedef struct mc_tpe_opts {
	size_t n_startup_jobs;	  /* 20: random trials before TPE starts */
	size_t n_ei_candidates;	  /* 24: draws from l(x) scored per parameter */
	double gamma;		  /* 0.25: n_below = ceil(gamma * sqrt(N)) ... */
	size_t gamma_cap;	  /* 25: ... capped at this */
	double prior_weight;	  /* 1.0: weight of the prior component / pseudocount */
	size_t linear_forgetting; /* 25: newest trials kept at full weight */
	/*
	 * true (hyperopt): a failed trial (NaN or infinite loss) is an
	 * observation with loss +inf, so it counts towards n_startup_jobs and N
	 * and lands in g(x) like hyperopt's STATUS_FAIL trials (loss None → inf);
	 * false: failed trials are recorded but TPE ignores them.
	 */
	bool failed_as_worst;
} mc_tpe_opts;

void mc_tpe_opts_default(mc_tpe_opts *o);

typedef struct mc_search mc_search;

/*
 * A search over a copy of `space` (the caller may free its own).  `opts` NULL
 * = mc_tpe_opts_default (ignored by random search).  Given the seed and the
 * same sequence of ask/tell calls, the suggestions are the same.
 */
mc_code mc_search_new(const mc_space *space, mc_search_algo algo, uint64_t seed,
		      const mc_tpe_opts *opts, mc_search **out, mc_error *err);
void mc_search_free(mc_search *s);

/*
 * Suggest the next point into x (mc_space_size values) and record it as a
 * pending trial.  TPE looks only at told trials (and, by opts, failed ones);
 * pending ones are ignored, so asking again before telling is allowed (that
 * is how trials run in parallel).
 */
mc_code mc_search_ask(mc_search *s, double *x, mc_error *err);
/*
 * Report the loss of x.  x is matched to the oldest pending trial with equal
 * values; a point that was never asked is added as a new trial (to warm-start
 * from earlier results) after checking it fits the space's types.  A NaN or
 * infinite loss is a failed trial.
 */
mc_code mc_search_tell(mc_search *s, const double *x, double loss, mc_error *err);
/* The best told trial (lowest finite loss, the oldest on ties); MC_ERR_EMPTY if none. */
mc_code mc_search_best(const mc_search *s, double *x, double *loss, mc_error *err);
/* Trials told so far (failed ones included) and trials still pending. */
size_t mc_search_n_told(const mc_search *s);
size_t mc_search_n_pending(const mc_search *s);

/*
 * An objective: set *loss (NaN = failed trial, the search goes on); return
 * non-MC_OK with err filled to stop the search with that error.
 */
typedef mc_code (*mc_objective_fn)(const double *x, void *user, double *loss, mc_error *err);

/*
 * Run `budget` trials one after another with default TPE options and report
 * the best point (best_x: mc_space_size values) and its loss.  MC_ERR_EMPTY
 * when every trial failed.
 */
mc_code mc_search_minimize(const mc_space *space, mc_search_algo algo, uint64_t seed, size_t budget,
			   mc_objective_fn fn, void *user, double *best_x, double *best_loss,
			   mc_error *err);

#endif
