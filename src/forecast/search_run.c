/*
 * The hyperparameter search: trials run on worker threads (two by default),
 * each training XGBoost on the train rows with early stopping on the
 * validation rows.  The search object is shared under a mutex.
 *
 * Deterministic whatever the timing: results are told to the search in trial
 * order, and trial k is asked only once trials 0 .. k − LAG have been told,
 * so the search sees the same history at every ask in every run.
 */
#include "forecast/search_run.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The XGBoost settings a space parameter may set, by name. */
typedef enum { P_DEPTH, P_ETA, P_ROUNDS, P_MCW, P_GAMMA, P_SUB, P_COL, P_ALPHA, P_LAMBDA } knob;

static const struct {
	const char *name;
	knob k;
} knobs[] = {
	{"max_depth", P_DEPTH},	     {"learning_rate", P_ETA},	  {"eta", P_ETA},
	{"n_estimators", P_ROUNDS},  {"num_round", P_ROUNDS},	  {"min_child_weight", P_MCW},
	{"gamma", P_GAMMA},	     {"min_split_loss", P_GAMMA}, {"subsample", P_SUB},
	{"colsample_bytree", P_COL}, {"reg_alpha", P_ALPHA},	  {"alpha", P_ALPHA},
	{"reg_lambda", P_LAMBDA},    {"lambda", P_LAMBDA},
};

static int knob_of(const char *name)
{
	for (size_t i = 0; i < sizeof knobs / sizeof *knobs; i++)
		if (!strcmp(knobs[i].name, name))
			return (int)knobs[i].k;
	return -1;
}

mc_code mc_fc_check_space(const mc_space *s, const char *what, mc_error *err)
{
	for (size_t i = 0; i < mc_space_size(s); i++) {
		const char *name = mc_space_name(s, i);
		if (knob_of(name) < 0)
			return mc_fail(
				err, MC_ERR_INVALID,
				"%s: parameter '%s' is not an XGBoost setting milkcast tunes "
				"(max_depth, learning_rate, n_estimators, min_child_weight, "
				"gamma, subsample, colsample_bytree, reg_alpha, reg_lambda)",
				what, name);
		if (mc_space_type(s, i) != MC_PARAM_CHOICE)
			continue;
		mc_param_info info;
		mc_space_param(s, i, &info);
		for (size_t k = 0; k < info.n_options; k++)
			if (!mc_space_option_is_number(s, i, k))
				return mc_fail(err, MC_ERR_INVALID,
					       "%s: parameter '%s': option %zu is not a number",
					       what, name, k + 1);
	}
	return MC_OK;
}

/* The numeric value of parameter i in x (a choice gives its option). */
static double param_value(const mc_space *s, size_t i, const double *x)
{
	if (mc_space_type(s, i) != MC_PARAM_CHOICE)
		return x[i];
	const char *opt = mc_space_option(s, i, (size_t)x[i]);
	return opt ? strtod(opt, NULL) : NAN;
}

void mc_fc_params_from_x(const mc_space *s, const double *x, mc_xgb_params *p)
{
	for (size_t i = 0; i < mc_space_size(s); i++) {
		double v = param_value(s, i, x);
		switch ((knob)knob_of(mc_space_name(s, i))) {
		case P_DEPTH: p->max_depth = (int)lround(v); break;
		case P_ETA: p->learning_rate = v; break;
		case P_ROUNDS: p->num_round = (int)lround(v); break;
		case P_MCW: p->min_child_weight = v; break;
		case P_GAMMA: p->gamma = v; break;
		case P_SUB: p->subsample = v; break;
		case P_COL: p->colsample_bytree = v; break;
		case P_ALPHA: p->reg_alpha = v; break;
		case P_LAMBDA: p->reg_lambda = v; break;
		}
	}
}

typedef struct runner {
	const mc_fc_search *job;
	pthread_mutex_t lock;
	pthread_cond_t told; /* a result arrived or was told */
	mc_search *search;
	int next, done;
	int applied; /* results told to the search, in trial order */
	bool *ready; /* by trial id: its result is in res->trials */
	mc_fc_search_result *res;
	mc_code rc;
	mc_error err;
	mc_error last_fail; /* why the last failed trial failed */
} runner;

/*
 * Trial k is suggested knowing trials 0 .. k − LAG.  LAG = workers would be
 * enough for determinism, but then a worker that finishes a short trial waits
 * for the other's long one; twice the workers keeps both busy, at the price of
 * TPE not yet seeing the few most recent trials (hyperopt's parallel backends
 * ignore running trials the same way).
 */
#define LAG(r) (2 * (r)->job->workers)

/* Under the lock: tell the search every finished trial below `upto`, in order. */
static void apply_results(runner *r, int upto)
{
	while (r->applied < upto && r->ready[r->applied]) {
		const mc_trial *t = &r->res->trials[r->applied];
		mc_error e = MC_ERROR_INIT;
		if (t->x && mc_search_tell(r->search, t->x, t->valid_rmse, &e) && !r->rc) {
			r->rc = e.code;
			r->err = e;
		}
		r->applied++;
	}
}

/* The next trial's id and point, or -1 when the search is over. */
static int take_trial(runner *r, double *x)
{
	int id = -1;
	pthread_mutex_lock(&r->lock);
	int want = r->next - LAG(r) + 1; /* results this ask must see */
	for (;;) {
		apply_results(r, want);
		if (r->rc || r->applied >= want || r->next >= r->job->trials)
			break;
		pthread_cond_wait(&r->told, &r->lock);
		want = r->next - LAG(r) + 1;
	}
	if (!r->rc && r->next < r->job->trials) {
		mc_error e = MC_ERROR_INIT;
		if (mc_search_ask(r->search, x, &e)) {
			r->rc = e.code;
			r->err = e;
		} else {
			id = r->next++;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return id;
}

static void record_trial(runner *r, int id, const double *x, mc_xgb_model *m, const mc_xgb_curve *c,
			 double loss, double seconds, double xgb_seconds)
{
	const mc_fc_search *job = r->job;
	size_t dims = mc_space_size(job->space);
	pthread_mutex_lock(&r->lock);
	mc_trial *t = &r->res->trials[id];
	t->id = id;
	t->x = malloc(dims * sizeof *t->x);
	if (t->x)
		memcpy(t->x, x, dims * sizeof *t->x);
	mc_buf b = MC_BUF_INIT;
	mc_error e = MC_ERROR_INIT;
	if (!mc_space_format_json(job->space, x, &b, &e) && b.data)
		t->params_json = strdup((const char *)b.data);
	mc_buf_release(&b);
	t->valid_rmse = loss;
	t->best_iteration = c->best_iteration;
	t->seconds = seconds;
	t->xgb_seconds = xgb_seconds;
	t->curve = c->n ? malloc(c->n * sizeof *t->curve) : NULL;
	if (t->curve) {
		memcpy(t->curve, c->valid_rmse, c->n * sizeof *t->curve);
		t->curve_n = c->n;
	}
	r->res->xgb_seconds += xgb_seconds;
	r->ready[id] = true;
	pthread_cond_broadcast(&r->told);
	/* The best is the lowest loss, the lowest id on ties: the same in every run. */
	double best = r->res->model ? r->res->trials[r->res->best].valid_rmse : INFINITY;
	if (!isnan(loss) && (loss < best || (loss == best && (size_t)id < r->res->best))) {
		mc_xgb_free(r->res->model);
		r->res->model = m;
		r->res->best = (size_t)id;
		m = NULL;
	}
	r->done++;
	if (job->on_trial)
		job->on_trial(job->ud, r->done, job->trials, loss,
			      r->res->model ? r->res->trials[r->res->best].valid_rmse : NAN);
	pthread_mutex_unlock(&r->lock);
	mc_xgb_free(m);
}

static void fail(runner *r, const mc_error *e)
{
	pthread_mutex_lock(&r->lock);
	if (!r->rc) {
		r->rc = e->code;
		r->err = *e;
	}
	pthread_cond_broadcast(&r->told);
	pthread_mutex_unlock(&r->lock);
}

/* A worker's own copies of the training and validation matrices (see mc_xgb_data). */
typedef struct worker_data {
	mc_xgb_data *train, *valid;
	double seconds; /* building them: XGBoost's time too */
} worker_data;

static void run_trial(runner *r, worker_data *wd, int id, const double *x)
{
	const mc_fc_search *job = r->job;
	mc_xgb_params p = *job->base;
	mc_fc_params_from_x(job->space, x, &p);
	mc_xgb_curve curve;
	mc_xgb_curve_init(&curve);
	mc_xgb_model *m = NULL;
	mc_error e = MC_ERROR_INIT;
	double t0 = now_s() - wd->seconds; /* the first trial carries the matrices' cost */
	wd->seconds = 0;
	mc_code rc = mc_xgb_train_data(wd->train, wd->valid, &p, &m, &curve, &e);
	double t1 = now_s();
	if (rc == MC_ERR_NOMEM || rc == MC_ERR_IO) {
		fail(r, &e); /* the machine, not the point: stop the search */
	} else {
		/* A point XGBoost refuses is a failed trial, as in hyperopt. */
		double loss = rc ? NAN : curve.best_score;
		if (rc) {
			pthread_mutex_lock(&r->lock);
			r->last_fail = e;
			pthread_mutex_unlock(&r->lock);
		}
		record_trial(r, id, x, rc ? NULL : m, &curve, loss, t1 - t0, t1 - t0);
		m = NULL;
	}
	mc_xgb_free(m);
	mc_xgb_curve_release(&curve);
}

static void *worker(void *arg)
{
	runner *r = arg;
	const mc_fc_search *job = r->job;
	worker_data wd = {0};
	mc_error e = MC_ERROR_INIT;
	double t0 = now_s();
	mc_code rc = mc_xgb_data_new("training", job->train->X, job->train->y, NULL, job->train->n,
				     job->train->ncol, &wd.train, &e);
	if (!rc)
		rc = mc_xgb_data_new("validation", job->valid->X, job->valid->y, NULL,
				     job->valid->n, job->valid->ncol, &wd.valid, &e);
	wd.seconds = now_s() - t0;
	if (rc)
		fail(r, &e);
	double x[MC_SPACE_MAX_PARAMS];
	for (int id; !rc && (id = take_trial(r, x)) >= 0;)
		run_trial(r, &wd, id, x);
	mc_xgb_data_free(wd.train);
	mc_xgb_data_free(wd.valid);
	return NULL;
}

void mc_fc_search_result_release(mc_fc_search_result *res)
{
	for (size_t i = 0; res->trials && i < res->ntrials; i++) {
		free(res->trials[i].x);
		free(res->trials[i].params_json);
		free(res->trials[i].curve);
	}
	free(res->trials);
	mc_xgb_free(res->model);
	memset(res, 0, sizeof *res);
}

mc_code mc_fc_search_run(const mc_fc_search *job, mc_fc_search_result *res, mc_error *err)
{
	memset(res, 0, sizeof *res);
	runner r = {.job = job, .res = res};
	res->trials = calloc((size_t)job->trials, sizeof *res->trials);
	if (!res->trials)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	res->ntrials = (size_t)job->trials;
	for (size_t i = 0; i < res->ntrials; i++)
		res->trials[i].valid_rmse = NAN;
	r.ready = calloc((size_t)job->trials, sizeof *r.ready);
	if (!r.ready)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = mc_search_new(job->space, job->algo, job->seed, NULL, &r.search, err);
	if (rc) {
		free(r.ready);
		return rc;
	}
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.told, NULL);
	double t0 = now_s();
	pthread_t extra[7];
	int started = 0;
	for (; started < job->workers - 1 && started < 7; started++)
		if (pthread_create(&extra[started], NULL, worker, &r) != 0)
			break;
	worker(&r);
	for (int i = 0; i < started; i++)
		pthread_join(extra[i], NULL);
	res->wall_seconds = now_s() - t0;
	res->workers = started + 1;
	pthread_mutex_destroy(&r.lock);
	pthread_cond_destroy(&r.told);
	mc_search_free(r.search);
	free(r.ready);
	if (r.rc) {
		*err = r.err;
		return r.rc;
	}
	if (!res->model)
		return mc_fail(err, MC_ERR_EMPTY, "every one of the %d trials failed; the last: %s",
			       job->trials, r.last_fail.msg);
	return MC_OK;
}
