/*
 * The ask/tell optimiser: keeps every trial (pending, done or failed) in the
 * order it was asked, draws random points from the priors, and hands the
 * told ones to TPE split into the good (below) and the rest (above), as
 * hyperopt's tpe.suggest and ap_split_trials do.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/search_int.h"

enum trial_state { TRIAL_PENDING, TRIAL_DONE, TRIAL_FAILED };

struct mc_search {
	mc_space *space;
	mc_search_algo algo;
	mc_tpe_opts opts;
	mc_rng rng;
	size_t dim;
	/* Trials in the order they were asked (hyperopt's tid order). */
	size_t n, cap;
	double *x;	/* n * dim */
	double *loss;	/* NaN while pending */
	uint8_t *state; /* enum trial_state */
	size_t n_pending;
};

void mc_tpe_opts_default(mc_tpe_opts *o)
{
	/* hyperopt 0.2.7 tpe.py: _default_* and DEFAULT_LF */
	*o = (mc_tpe_opts){
		.n_startup_jobs = 20,
		.n_ei_candidates = 24,
		.gamma = 0.25,
		.gamma_cap = 25,
		.prior_weight = 1.0,
		.linear_forgetting = 25,
		.failed_as_worst = true,
	};
}

static mc_code check_opts(const mc_tpe_opts *o, mc_error *err)
{
	if (o->n_ei_candidates < 1)
		return mc_fail(err, MC_ERR_INVALID,
			       "TPE option 'n_ei_candidates' must be at least 1");
	if (!(o->gamma > 0 && o->gamma <= 1))
		return mc_fail(err, MC_ERR_INVALID, "TPE option 'gamma' (%g) must be in (0, 1]",
			       o->gamma);
	if (o->gamma_cap < 1)
		return mc_fail(err, MC_ERR_INVALID, "TPE option 'gamma_cap' must be at least 1");
	if (!(o->prior_weight > 0 && isfinite(o->prior_weight)))
		return mc_fail(err, MC_ERR_INVALID,
			       "TPE option 'prior_weight' (%g) must be greater than 0",
			       o->prior_weight);
	return MC_OK;
}

mc_code mc_search_new(const mc_space *space, mc_search_algo algo, uint64_t seed,
		      const mc_tpe_opts *opts, mc_search **out, mc_error *err)
{
	*out = NULL;
	if (algo != MC_SEARCH_TPE && algo != MC_SEARCH_RANDOM)
		return mc_fail(err, MC_ERR_INVALID, "unknown search algorithm %d", (int)algo);
	mc_tpe_opts o;
	if (opts)
		o = *opts;
	else
		mc_tpe_opts_default(&o);
	mc_code rc = check_opts(&o, err);
	if (rc)
		return rc;
	mc_search *s = calloc(1, sizeof *s);
	if (!s || !(s->space = mc_space_clone(space))) {
		free(s);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	s->algo = algo;
	s->opts = o;
	s->dim = space->n;
	mc_rng_seed(&s->rng, seed);
	*out = s;
	return MC_OK;
}

void mc_search_free(mc_search *s)
{
	if (!s)
		return;
	mc_space_free(s->space);
	free(s->x);
	free(s->loss);
	free(s->state);
	free(s);
}

size_t mc_search_n_told(const mc_search *s)
{
	return s->n - s->n_pending;
}

size_t mc_search_n_pending(const mc_search *s)
{
	return s->n_pending;
}

/* ---- the trial list ---- */

static mc_code reserve_trial(mc_search *s, mc_error *err)
{
	if (s->n < s->cap)
		return MC_OK;
	size_t cap = s->cap ? 2 * s->cap : 64;
	/* NOLINTNEXTLINE(clang-analyzer-optin.portability.UnixAPI): spaces have 1+ params */
	double *x = realloc(s->x, cap * s->dim * sizeof *x);
	if (x)
		s->x = x;
	double *loss = x ? realloc(s->loss, cap * sizeof *loss) : NULL;
	if (loss)
		s->loss = loss;
	uint8_t *state = loss ? realloc(s->state, cap) : NULL;
	if (!state)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	s->state = state;
	s->cap = cap;
	return MC_OK;
}

static void append_trial(mc_search *s, const double *x, enum trial_state st, double loss)
{
	memcpy(s->x + s->n * s->dim, x, s->dim * sizeof *x);
	s->loss[s->n] = loss;
	s->state[s->n] = (uint8_t)st;
	s->n++;
	s->n_pending += st == TRIAL_PENDING;
}

/* Whether TPE sees trial i, and the loss it sees (a failed trial's is +inf). */
static bool considered(const mc_search *s, size_t i, double *loss)
{
	if (s->state[i] == TRIAL_DONE) {
		*loss = s->loss[i];
		return true;
	}
	if (s->state[i] == TRIAL_FAILED && s->opts.failed_as_worst) {
		*loss = INFINITY;
		return true;
	}
	return false;
}

/* ---- suggestions ---- */

static void sample_prior(mc_search *s, double *x)
{
	/* rand.suggest: every parameter from its prior */
	for (size_t j = 0; j < s->dim; j++)
		x[j] = mc_param_sample_prior(&s->space->p[j], &s->rng);
}

typedef struct ranked_trial {
	double loss;
	size_t pos; /* among the considered trials, in trial order */
} ranked_trial;

static int cmp_trial(const void *a, const void *b)
{
	const ranked_trial *x = a, *y = b;
	if (x->loss != y->loss)
		return x->loss < y->loss ? -1 : 1;
	return (x->pos > y->pos) - (x->pos < y->pos);
}

/*
 * ap_split_trials: the n_below trials with the lowest losses (ties: the
 * older first) are "below"; flags[pos] marks them.
 */
static void split_trials(ranked_trial *r, size_t n, size_t n_below, uint8_t *below)
{
	qsort(r, n, sizeof *r, cmp_trial);
	memset(below, 0, n);
	for (size_t k = 0; k < n_below; k++)
		below[r[k].pos] = 1;
}

typedef struct tpe_work {
	size_t *idx;	  /* considered trial indices, in trial order */
	ranked_trial *rk; /* their losses */
	uint8_t *below;	  /* 1 = in the good group */
	double *vals;	  /* one parameter's below values, then above values */
} tpe_work;

static void tpe_work_free(tpe_work *w)
{
	free(w->idx);
	free(w->rk);
	free(w->below);
	free(w->vals);
}

static mc_code suggest_params(mc_search *s, const tpe_work *w, size_t n, size_t nb, double *x,
			      mc_error *err)
{
	for (size_t j = 0; j < s->dim; j++) {
		double *vb = w->vals, *va = w->vals + nb;
		size_t kb = 0, ka = 0;
		for (size_t k = 0; k < n; k++) {
			double v = s->x[w->idx[k] * s->dim + j];
			if (w->below[k])
				vb[kb++] = v;
			else
				va[ka++] = v;
		}
		mc_code rc = mc_tpe_suggest_param(&s->space->p[j], vb, kb, va, ka, &s->opts,
						  &s->rng, &x[j]);
		if (rc)
			return mc_fail(err, rc, "TPE: parameter '%s': %s", s->space->p[j].name,
				       mc_strerror(rc));
	}
	return MC_OK;
}

static mc_code tpe_suggest(mc_search *s, double *x, mc_error *err)
{
	tpe_work w = {0};
	size_t n = 0, cap = s->n ? s->n : 1;
	w.idx = malloc(cap * sizeof *w.idx);
	w.rk = malloc(cap * sizeof *w.rk);
	w.below = malloc(cap);
	w.vals = malloc(cap * sizeof *w.vals);
	if (!w.idx || !w.rk || !w.below || !w.vals) {
		tpe_work_free(&w);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < s->n; i++) {
		double loss;
		if (considered(s, i, &loss)) {
			w.idx[n] = i;
			w.rk[n] = (ranked_trial){loss, n};
			n++;
		}
	}
	mc_code rc = MC_OK;
	if (n < s->opts.n_startup_jobs) {
		sample_prior(s, x);
	} else {
		size_t nb = mc_tpe_n_below(n, s->opts.gamma, s->opts.gamma_cap);
		nb = nb < n ? nb : n;
		split_trials(w.rk, n, nb, w.below);
		rc = suggest_params(s, &w, n, nb, x, err);
	}
	tpe_work_free(&w);
	return rc;
}

mc_code mc_search_ask(mc_search *s, double *x, mc_error *err)
{
	mc_code rc = reserve_trial(s, err);
	if (rc)
		return rc;
	if (s->algo == MC_SEARCH_RANDOM)
		sample_prior(s, x);
	else if ((rc = tpe_suggest(s, x, err)))
		return rc;
	append_trial(s, x, TRIAL_PENDING, NAN);
	return MC_OK;
}

/* ---- results ---- */

static bool same_point(const double *a, const double *b, size_t dim)
{
	for (size_t j = 0; j < dim; j++)
		if (a[j] != b[j])
			return false;
	return true;
}

mc_code mc_search_tell(mc_search *s, const double *x, double loss, mc_error *err)
{
	for (size_t j = 0; j < s->dim; j++)
		if (!mc_param_value_ok(&s->space->p[j], x[j]))
			return mc_fail(
				err, MC_ERR_INVALID,
				"cannot record a trial: parameter '%s': %g is not a %s value",
				s->space->p[j].name, x[j], mc_param_type_name(s->space->p[j].type));
	enum trial_state st = isfinite(loss) ? TRIAL_DONE : TRIAL_FAILED;
	for (size_t i = 0; i < s->n; i++)
		if (s->state[i] == TRIAL_PENDING && same_point(s->x + i * s->dim, x, s->dim)) {
			s->state[i] = (uint8_t)st;
			s->loss[i] = loss;
			s->n_pending--;
			return MC_OK;
		}
	mc_code rc = reserve_trial(s, err);
	if (rc)
		return rc;
	append_trial(s, x, st, loss);
	return MC_OK;
}

mc_code mc_search_best(const mc_search *s, double *x, double *loss, mc_error *err)
{
	size_t best = SIZE_MAX;
	for (size_t i = 0; i < s->n; i++)
		if (s->state[i] == TRIAL_DONE && (best == SIZE_MAX || s->loss[i] < s->loss[best]))
			best = i;
	if (best == SIZE_MAX)
		return mc_fail(err, MC_ERR_EMPTY, "no trial has a loss yet");
	if (x)
		memcpy(x, s->x + best * s->dim, s->dim * sizeof *x);
	if (loss)
		*loss = s->loss[best];
	return MC_OK;
}

mc_code mc_search_minimize(const mc_space *space, mc_search_algo algo, uint64_t seed, size_t budget,
			   mc_objective_fn fn, void *user, double *best_x, double *best_loss,
			   mc_error *err)
{
	if (budget == 0)
		return mc_fail(err, MC_ERR_INVALID, "the search budget must be at least 1 trial");
	mc_search *s;
	mc_code rc = mc_search_new(space, algo, seed, NULL, &s, err);
	if (rc)
		return rc;
	double *x = malloc(space->n * sizeof *x);
	if (!x)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t t = 0; t < budget && !rc; t++) {
		double loss = NAN;
		rc = mc_search_ask(s, x, err);
		if (!rc)
			rc = fn(x, user, &loss, err);
		if (!rc)
			rc = mc_search_tell(s, x, loss, err);
	}
	if (!rc)
		rc = mc_search_best(s, best_x, best_loss, err);
	free(x);
	mc_search_free(s);
	return rc;
}
