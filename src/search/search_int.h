/*
 * Internals of the search module: the PRNG, the parameter layout, and the
 * TPE pieces (Parzen estimator, mixture densities, samplers) exposed so the
 * unit tests can check them against hand-computed and SciPy values.
 */
#ifndef MILKCAST_SEARCH_INT_H
#define MILKCAST_SEARCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/search.h"

/* ---- PRNG: xoshiro256** seeded through splitmix64 (rng.c) ---- */

typedef struct mc_rng {
	uint64_t s[4];
} mc_rng;

void mc_rng_seed(mc_rng *r, uint64_t seed);
uint64_t mc_rng_next(mc_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double mc_rng_uniform(mc_rng *r);
/* Standard normal (Box–Muller, one value per call). */
double mc_rng_normal(mc_rng *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t mc_rng_below(mc_rng *r, uint64_t n);
/* Index k with probability p[k] / sum(p) (inverse CDF; p[k] >= 0, sum > 0). */
size_t mc_rng_categorical(mc_rng *r, const double *p, size_t n);

/* ---- the space (space.c) ---- */

typedef struct mc_option {
	char *text;	/* the string, or the number in shortest form */
	bool is_number; /* written as a JSON number */
} mc_option;

typedef struct mc_param {
	char *name;
	mc_param_type type;
	double low, high, q, mu, sigma;
	size_t n_options;
	mc_option *options;
} mc_param;

struct mc_space {
	size_t n;
	mc_param *p;
};

mc_space *mc_space_clone(const mc_space *s);
/* A draw from the parameter's prior (hyperopt.pyll.stochastic). */
double mc_param_sample_prior(const mc_param *p, mc_rng *r);
/* Whether v is a value the parameter can be told (choice: a valid index; log types: > 0). */
bool mc_param_value_ok(const mc_param *p, double v);

/* ---- TPE (tpe.c) ---- */

/* hyperopt.tpe.EPS */
#define MC_TPE_EPS 1e-12

/* ap_split_trials: min(ceil(gamma * sqrt(n)), cap). */
size_t mc_tpe_n_below(size_t n, double gamma, size_t cap);

/* linear_forgetting_weights(n, lf) into w[n]. */
void mc_tpe_lf_weights(size_t n, size_t lf, double *w);

/*
 * A one-dimensional Gaussian mixture: n components, weights summing to 1.
 * For the log kinds (LGMM1) mu and sigma are in log space.
 */
typedef struct mc_gmm {
	size_t n;
	double *w, *mu, *sigma;
} mc_gmm;

/*
 * adaptive_parzen_normal: the mixture fitted to obs[n] (in trial order) with
 * the prior component inserted; g->w, mu, sigma must hold n + 1 values.
 */
mc_code mc_tpe_parzen(const double *obs, size_t n, double prior_weight, double prior_mu,
		      double prior_sigma, size_t lf, mc_gmm *g);

/*
 * The support of a mixture: truncated to [low, high] when `bounded`
 * (in log space for the log kinds) and quantised by q when q > 0.
 */
typedef struct mc_support {
	bool bounded;
	double low, high, q;
} mc_support;

/* normal_cdf */
double mc_tpe_normal_cdf(double x, double mu, double sigma);
/* lognormal_cdf */
double mc_tpe_lognormal_cdf(double x, double mu, double sigma);
/* sum_k w_k (Phi_k(high) - Phi_k(low)), or 1 when unbounded. */
double mc_tpe_p_accept(const mc_gmm *g, const mc_support *s);
/* GMM1_lpdf at x; p_accept from mc_tpe_p_accept. */
double mc_tpe_gmm_lpdf(double x, const mc_gmm *g, const mc_support *s, double p_accept);
/* LGMM1_lpdf at x (x > 0; x >= 0 when quantised). */
double mc_tpe_lgmm_lpdf(double x, const mc_gmm *g, const mc_support *s, double p_accept);
/* GMM1 / LGMM1: one draw (truncated by rejection, then quantised). */
double mc_tpe_gmm_sample(const mc_gmm *g, const mc_support *s, mc_rng *r);
double mc_tpe_lgmm_sample(const mc_gmm *g, const mc_support *s, mc_rng *r);

/*
 * ap_randint_sampler: p[n_options] = (weighted counts of obs + prior_weight),
 * normalised; obs[n] are option indices in trial order.
 */
void mc_tpe_categorical(const double *obs, size_t n, size_t n_options, double prior_weight,
			size_t lf, double *p);

/*
 * One TPE suggestion for parameter p from the below (good) and above
 * observations, each in trial order.  Candidates come from l(x); the one
 * with the largest log l(x) - log g(x) wins.
 */
mc_code mc_tpe_suggest_param(const mc_param *p, const double *below, size_t n_below,
			     const double *above, size_t n_above, const mc_tpe_opts *o, mc_rng *r,
			     double *out);

#endif
