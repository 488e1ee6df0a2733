/* Running the hyperparameter search over XGBoost trials (src/forecast internal). */
#ifndef MILKCAST_FORECAST_SEARCH_RUN_H
#define MILKCAST_FORECAST_SEARCH_RUN_H

#include "milkcast/dataset.h"
#include "milkcast/forecast.h"
#include "milkcast/search.h"
#include "milkcast/xgb.h"

typedef struct mc_fc_search {
	const mc_dataset *train, *valid;
	const mc_space *space;
	const mc_xgb_params *base; /* nthread, seed, early stopping; the space sets the rest */
	mc_search_algo algo;
	uint64_t seed;
	int trials;
	int workers; /* trials at a time */
	void (*on_trial)(void *ud, int done, int total, double loss, double best);
	void *ud;
} mc_fc_search;

typedef struct mc_fc_search_result {
	mc_trial *trials; /* every trial, by id */
	size_t ntrials;
	size_t best;
	mc_xgb_model *model; /* the best trial's model (trained on the train rows) */
	double xgb_seconds;  /* summed over trials */
	double wall_seconds; /* of the whole search */
	int workers;
} mc_fc_search_result;

/* Check every parameter of the space names an XGBoost setting we can set. */
mc_code mc_fc_check_space(const mc_space *s, const char *what, mc_error *err);
/* Set the XGBoost parameters the space's point x names. */
void mc_fc_params_from_x(const mc_space *s, const double *x, mc_xgb_params *p);

mc_code mc_fc_search_run(const mc_fc_search *job, mc_fc_search_result *res, mc_error *err);
void mc_fc_search_result_release(mc_fc_search_result *res);

#endif
