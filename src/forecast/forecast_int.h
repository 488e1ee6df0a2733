/* Shared inside src/forecast: the bundle's in-memory form and helpers. */
#ifndef MILKCAST_FORECAST_INT_H
#define MILKCAST_FORECAST_INT_H

#include <jansson.h>

#include "milkcast/buf.h"
#include "milkcast/dataset.h"
#include "milkcast/forecast.h"
#include "milkcast/xgb.h"

struct mc_bundle {
	char *dir;
	json_t *meta; /* bundle.json */
	mc_xgb_model *model;
	mc_vocabs vocabs;
	int horizons;
	double level;
	int32_t until;
	bool recursive;			     /* the model is one-step, run forward */
	bool use_model[MC_MAX_HORIZONS + 1]; /* by h */
	double weight[MC_MAX_HORIZONS + 1];  /* of the model's change, by h */
	double q_lower[MC_MAX_HORIZONS + 1], q_upper[MC_MAX_HORIZONS + 1];
	mc_table *snapshot;
};

/*
 * Recursive forecasts from origin k of p for `nus` series (usable at k):
 * pred[i * steps + j] is series[i]'s price at targets[j], each step
 * appending the previous step's prices to a copy of the panel; changes
 * (nullable, same layout) gets the model's raw output.  X (nullable)
 * gets the feature rows, step-major (steps × nus rows).
 */
mc_code mc_fc_recursive(const mc_xgb_model *m, const mc_vocabs *v, const mc_panel *p, size_t k,
			const int32_t *targets, int steps, const size_t *series, size_t nus,
			double *pred, double *changes, float *X, mc_error *err);

/* Seconds the calling thread has spent in XGBoost inside mc_fc_recursive(). */
double mc_fc_recursive_xgb_seconds(void);

/* Predicted prices (last + model change) for every row of d. */
mc_code mc_fc_predict_rows(const mc_xgb_model *m, const mc_dataset *d, double *price,
			   mc_error *err);

/* bundle.json for a finished training run. */
json_t *mc_fc_bundle_json(const mc_train_result *r, const mc_train_opts *o, const mc_panel *p,
			  const mc_vocabs *v, const mc_space *space, const mc_xgb_params *xp,
			  int num_rounds);

/* Write model, bundle.json and the snapshot atomically as a new directory of models_dir. */
mc_code mc_fc_write_bundle(const char *models_dir, const mc_xgb_model *m, json_t *meta,
			   const mc_table *lake_rows, const mc_panel *p, char *dir_out, size_t cap,
			   mc_error *err);

/* A metrics JSON object. */
json_t *mc_fc_metrics_json(const mc_metrics *m);

/* SHA-256 over the panel (dates, series names, prices): the data snapshot hash. */
void mc_fc_panel_hash(const mc_panel *p, char out[65]);

#endif
