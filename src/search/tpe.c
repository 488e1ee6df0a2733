/*
 * The Tree-structured Parzen Estimator, one parameter at a time, as
 * hyperopt 0.2.7's tpe.py computes it: the adaptive Parzen estimator, the
 * truncated and quantised (log-)Gaussian mixture densities and samplers, the
 * categorical posterior, and the choice of the candidate that maximises
 * log l(x) - log g(x).  Each function names the hyperopt function it mirrors;
 * docs/internals/search.md has the formulas.
 */
#include <math.h>
#include <stdlib.h>

#include "search/search_int.h"

/* Rejection sampling gives up after this many draws (hyperopt loops forever). */
#define MAX_REJECTIONS 1000000

/* ---- trial split and weights ---- */

size_t mc_tpe_n_below(size_t n, double gamma, size_t cap)
{
	/* ap_split_trials: int(np.ceil(gamma * np.sqrt(len(l_vals)))), then min with gamma_cap. */
	double v = ceil(gamma * sqrt((double)n));
	size_t nb = v > 0 ? (size_t)v : 0;
	return nb < cap ? nb : cap;
}

/*
 * linear_forgetting_weights(n, lf)[k]: the newest lf trials weigh 1, the
 * older n - lf rise linearly from 1/n to 1 (np.linspace(1/n, 1, n - lf):
 * k * step + start, the last exactly 1).  lf = 0 here means no forgetting.
 */
static double lf_weight(size_t k, size_t n, size_t lf)
{
	if (lf == 0 || n <= lf || k >= n - lf)
		return 1.0;
	double start = 1.0 / (double)n;
	size_t m = n - lf;
	if (m == 1)
		return start; /* np.linspace with num=1 gives just the start */
	if (k == m - 1)
		return 1.0;
	double step = (1.0 - start) / (double)(m - 1);
	return (double)k * step + start;
}

void mc_tpe_lf_weights(size_t n, size_t lf, double *w)
{
	for (size_t k = 0; k < n; k++)
		w[k] = lf_weight(k, n, lf);
}

/* ---- adaptive Parzen estimator ---- */

typedef struct ranked {
	double v;
	size_t i;
} ranked;

/* By value, then by position: a stable order (NumPy's argsort does not promise one). */
static int cmp_ranked(const void *a, const void *b)
{
	const ranked *x = a, *y = b;
	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

/* Neighbour-distance bandwidths of sorted mus[n], n >= 2. */
static void neighbour_sigmas(const double *mu, size_t n, double *sigma)
{
	for (size_t k = 1; k + 1 < n; k++)
		sigma[k] = fmax(mu[k] - mu[k - 1], mu[k + 1] - mu[k]);
	sigma[0] = mu[1] - mu[0];
	sigma[n - 1] = mu[n - 1] - mu[n - 2];
}

/*
 * Sort obs with the prior mean inserted; returns the prior's position and
 * fills g->mu, g->sigma (unclipped) and g->w (unnormalised).
 */
static size_t parzen_layout(const ranked *srt, size_t n, double prior_weight, double prior_mu,
			    double prior_sigma, size_t lf, mc_gmm *g)
{
	size_t pos;
	if (n == 1) {
		/* len(mus) == 1: the prior goes first only when strictly below. */
		pos = prior_mu < srt[0].v ? 0 : 1;
		g->mu[pos] = prior_mu;
		g->mu[1 - pos] = srt[0].v;
		g->sigma[pos] = prior_sigma;
		g->sigma[1 - pos] = prior_sigma * 0.5;
	} else {
		/* np.searchsorted(sorted, prior_mu), side='left': before equal values. */
		pos = 0;
		while (pos < n && srt[pos].v < prior_mu)
			pos++;
		for (size_t k = 0; k < n; k++)
			g->mu[k < pos ? k : k + 1] = srt[k].v;
		g->mu[pos] = prior_mu;
		neighbour_sigmas(g->mu, n + 1, g->sigma);
	}
	for (size_t k = 0; k < n; k++)
		g->w[k < pos ? k : k + 1] = lf_weight(srt[k].i, n, lf);
	g->w[pos] = prior_weight;
	return pos;
}

mc_code mc_tpe_parzen(const double *obs, size_t n, double prior_weight, double prior_mu,
		      double prior_sigma, size_t lf, mc_gmm *g)
{
	g->n = n + 1;
	size_t pos = 0;
	if (n == 0) {
		g->mu[0] = prior_mu;
		g->sigma[0] = prior_sigma;
		g->w[0] = prior_weight;
	} else {
		ranked *srt = malloc(n * sizeof *srt);
		if (!srt)
			return MC_ERR_NOMEM;
		for (size_t k = 0; k < n; k++)
			srt[k] = (ranked){obs[k], k};
		qsort(srt, n, sizeof *srt, cmp_ranked);
		/* Forgetting weights follow trial order (srt[k].i), not sorted order. */
		pos = parzen_layout(srt, n, prior_weight, prior_mu, prior_sigma, lf, g);
		free(srt);
	}
	/* The "magic formula": clip to [prior_sigma / min(100, 1 + len(srtd_mus)), prior_sigma]. */
	double maxsigma = prior_sigma;
	double minsigma = prior_sigma / fmin(100.0, 1.0 + (double)g->n);
	double total = 0;
	for (size_t k = 0; k < g->n; k++) {
		g->sigma[k] = fmin(fmax(g->sigma[k], minsigma), maxsigma);
		total += g->w[k];
	}
	g->sigma[pos] = prior_sigma;
	for (size_t k = 0; k < g->n; k++)
		g->w[k] /= total;
	return MC_OK;
}

/* ---- mixture densities ---- */

double mc_tpe_normal_cdf(double x, double mu, double sigma)
{
	double top = x - mu;
	double bottom = fmax(M_SQRT2 * sigma, MC_TPE_EPS);
	return 0.5 * (1 + erf(top / bottom));
}

double mc_tpe_lognormal_cdf(double x, double mu, double sigma)
{
	/* max(x, EPS) keeps log(0) out; such points add almost nothing. */
	double top = log(fmax(x, MC_TPE_EPS)) - mu;
	double bottom = fmax(M_SQRT2 * sigma, MC_TPE_EPS);
	return 0.5 + 0.5 * erf(top / bottom);
}

double mc_tpe_p_accept(const mc_gmm *g, const mc_support *s)
{
	if (!s->bounded)
		return 1;
	double p = 0;
	for (size_t k = 0; k < g->n; k++)
		p += g->w[k] * (mc_tpe_normal_cdf(s->high, g->mu[k], g->sigma[k]) -
				mc_tpe_normal_cdf(s->low, g->mu[k], g->sigma[k]));
	return p;
}

/* One component's term of the unquantised log-density (inside logsum_rows). */
typedef double (*term_fn)(double x, const mc_gmm *g, size_t k, double p_accept);

/* logsum_rows for one row: log(sum(exp(t - max))) + max, the terms computed twice. */
static double log_sum_exp(term_fn term, double x, const mc_gmm *g, double p_accept)
{
	double m = term(x, g, 0, p_accept);
	for (size_t k = 1; k < g->n; k++)
		m = fmax(m, term(x, g, k, p_accept));
	double sum = exp(term(x, g, 0, p_accept) - m);
	for (size_t k = 1; k < g->n; k++)
		sum += exp(term(x, g, k, p_accept) - m);
	return log(sum) + m;
}

/* Mixture mass of [x - q/2, x + q/2] cut to the bounds, in the linear or log domain. */
static double quantised_mass(double x, const mc_gmm *g, const mc_support *s, bool log_kind)
{
	double ub = x + s->q / 2.0, lb = x - s->q / 2.0;
	if (s->bounded) {
		ub = fmin(ub, log_kind ? exp(s->high) : s->high);
		lb = fmax(lb, log_kind ? exp(s->low) : s->low);
	}
	if (log_kind)
		lb = fmax(0, lb);
	double prob = 0;
	for (size_t k = 0; k < g->n; k++) {
		double (*cdf)(double, double, double) =
			log_kind ? mc_tpe_lognormal_cdf : mc_tpe_normal_cdf;
		/* hyperopt's "two-stage addition" of w * cdf(ub) - w * cdf(lb) */
		double inc = g->w[k] * cdf(ub, g->mu[k], g->sigma[k]);
		inc -= g->w[k] * cdf(lb, g->mu[k], g->sigma[k]);
		prob += inc;
	}
	return prob;
}

/* GMM1_lpdf: -0.5 mahal + log(w / Z / p_accept), Z = sqrt(2 pi sigma^2). */
static double gmm_term(double x, const mc_gmm *g, size_t k, double p_accept)
{
	double d = (x - g->mu[k]) / fmax(g->sigma[k], MC_TPE_EPS);
	double z = sqrt(2 * M_PI * (g->sigma[k] * g->sigma[k]));
	return -0.5 * (d * d) + log(g->w[k] / z / p_accept);
}

/* lognormal_lpdf + log(w); unquantised LGMM1_lpdf does not divide by p_accept. */
static double lgmm_term(double x, const mc_gmm *g, size_t k, double p_accept)
{
	(void)p_accept;
	double sigma = fmax(g->sigma[k], MC_TPE_EPS);
	double z = sigma * x * sqrt(2 * M_PI);
	double d = (log(x) - g->mu[k]) / sigma;
	return -(0.5 * (d * d)) - log(z) + log(g->w[k]);
}

double mc_tpe_gmm_lpdf(double x, const mc_gmm *g, const mc_support *s, double p_accept)
{
	if (s->q > 0)
		return log(quantised_mass(x, g, s, false)) - log(p_accept);
	return log_sum_exp(gmm_term, x, g, p_accept);
}

double mc_tpe_lgmm_lpdf(double x, const mc_gmm *g, const mc_support *s, double p_accept)
{
	if (s->q > 0)
		return log(quantised_mass(x, g, s, true)) - log(p_accept);
	/* Hyperopt's quirk, kept: no truncation correction here. */
	return log_sum_exp(lgmm_term, x, g, p_accept);
}

/* ---- mixture samplers ---- */

/* A draw from the mixture, cut to [low, high) by rejection when bounded. */
static double mixture_draw(const mc_gmm *g, const mc_support *s, mc_rng *r)
{
	for (long tries = 0; tries < MAX_REJECTIONS; tries++) {
		size_t k = mc_rng_categorical(r, g->w, g->n);
		double draw = g->mu[k] + g->sigma[k] * mc_rng_normal(r);
		if (!s->bounded || (s->low <= draw && draw < s->high))
			return draw;
	}
	/* Only reachable when every component sits far outside the bounds. */
	return s->low + (s->high - s->low) * mc_rng_uniform(r);
}

static double quantise(double v, double q)
{
	return q > 0 ? rint(v / q) * q : v;
}

double mc_tpe_gmm_sample(const mc_gmm *g, const mc_support *s, mc_rng *r)
{
	return quantise(mixture_draw(g, s, r), s->q);
}

double mc_tpe_lgmm_sample(const mc_gmm *g, const mc_support *s, mc_rng *r)
{
	return quantise(exp(mixture_draw(g, s, r)), s->q);
}

/* ---- categorical ---- */

void mc_tpe_categorical(const double *obs, size_t n, size_t n_options, double prior_weight,
			size_t lf, double *p)
{
	/* ap_randint_sampler: bincount(obs, weights=linear_forgetting_weights) + prior_weight. */
	for (size_t k = 0; k < n_options; k++)
		p[k] = 0;
	for (size_t j = 0; j < n; j++)
		p[(size_t)obs[j]] += lf_weight(j, n, lf);
	double total = 0;
	for (size_t k = 0; k < n_options; k++) {
		p[k] += prior_weight;
		total += p[k];
	}
	for (size_t k = 0; k < n_options; k++)
		p[k] /= total;
}

/* ---- one parameter's suggestion ---- */

/* broadcast_best uses np.argmax: the first maximum, and a NaN counts as the maximum. */
static bool better(double score, double best, bool first)
{
	if (first)
		return true;
	if (isnan(best))
		return false;
	return isnan(score) || score > best;
}

static mc_code suggest_choice(const mc_param *p, const double *below, size_t nb,
			      const double *above, size_t na, const mc_tpe_opts *o, mc_rng *r,
			      double *out)
{
	double *pb = malloc(2 * p->n_options * sizeof *pb);
	if (!pb)
		return MC_ERR_NOMEM;
	double *pa = pb + p->n_options;
	mc_tpe_categorical(below, nb, p->n_options, o->prior_weight, o->linear_forgetting, pb);
	mc_tpe_categorical(above, na, p->n_options, o->prior_weight, o->linear_forgetting, pa);
	double best = 0;
	for (size_t c = 0; c < o->n_ei_candidates; c++) {
		size_t k = mc_rng_categorical(r, pb, p->n_options);
		/* categorical_lpdf: log(p[sample]) */
		double score = log(pb[k]) - log(pa[k]);
		if (better(score, best, c == 0)) {
			best = score;
			*out = (double)k;
		}
	}
	free(pb);
	return MC_OK;
}

/* The observation as the Parzen estimator sees it (ap_*_sampler's transform). */
static double parzen_obs(const mc_param *p, double v)
{
	switch (p->type) {
	case MC_PARAM_LOGUNIFORM: return log(v);
	/* Values quantised down to 0 are lifted to exp(low) (and EPS) before the log. */
	case MC_PARAM_QLOGUNIFORM: return log(fmax(v, fmax(MC_TPE_EPS, exp(p->low))));
	default: return v;
	}
}

typedef struct posterior {
	mc_gmm g;
	double p_accept;
} posterior;

static mc_code fit(const mc_param *p, const double *obs, size_t n, const mc_tpe_opts *o,
		   const mc_support *s, double *mem, posterior *post)
{
	double *t = mem;
	post->g = (mc_gmm){n + 1, mem + n, mem + 2 * n + 1, mem + 3 * n + 2};
	for (size_t k = 0; k < n; k++)
		t[k] = parzen_obs(p, obs[k]);
	bool normal = p->type == MC_PARAM_NORMAL;
	double prior_mu = normal ? p->mu : 0.5 * (p->high + p->low);
	double prior_sigma = normal ? p->sigma : 1.0 * (p->high - p->low);
	mc_code rc = mc_tpe_parzen(t, n, o->prior_weight, prior_mu, prior_sigma,
				   o->linear_forgetting, &post->g);
	if (!rc)
		post->p_accept = mc_tpe_p_accept(&post->g, s);
	return rc;
}

static mc_code suggest_continuous(const mc_param *p, const double *below, size_t nb,
				  const double *above, size_t na, const mc_tpe_opts *o, mc_rng *r,
				  double *out)
{
	/* obs[n], then w, mu, sigma[n + 1], for each side */
	double *mem = malloc((4 * (nb + na) + 6) * sizeof *mem);
	if (!mem)
		return MC_ERR_NOMEM;
	bool log_kind = p->type == MC_PARAM_LOGUNIFORM || p->type == MC_PARAM_QLOGUNIFORM;
	mc_support s = {p->type != MC_PARAM_NORMAL, p->low, p->high, p->q};
	posterior l, g;
	mc_code rc = fit(p, below, nb, o, &s, mem, &l);
	if (!rc)
		rc = fit(p, above, na, o, &s, mem + 4 * nb + 3, &g);
	double best = 0;
	for (size_t c = 0; c < o->n_ei_candidates && !rc; c++) {
		double x, score;
		if (log_kind) {
			x = mc_tpe_lgmm_sample(&l.g, &s, r);
			score = mc_tpe_lgmm_lpdf(x, &l.g, &s, l.p_accept) -
				mc_tpe_lgmm_lpdf(x, &g.g, &s, g.p_accept);
		} else {
			x = mc_tpe_gmm_sample(&l.g, &s, r);
			score = mc_tpe_gmm_lpdf(x, &l.g, &s, l.p_accept) -
				mc_tpe_gmm_lpdf(x, &g.g, &s, g.p_accept);
		}
		if (better(score, best, c == 0)) {
			best = score;
			*out = x;
		}
	}
	free(mem);
	return rc;
}

mc_code mc_tpe_suggest_param(const mc_param *p, const double *below, size_t n_below,
			     const double *above, size_t n_above, const mc_tpe_opts *o, mc_rng *r,
			     double *out)
{
	if (p->type == MC_PARAM_CHOICE)
		return suggest_choice(p, below, n_below, above, n_above, o, r, out);
	return suggest_continuous(p, below, n_below, above, n_above, o, r, out);
}
