/*
 * Supervised rows for the forecaster: one per (series, origin, horizon) whose
 * target price is known.  X holds mc_features_row() values; y is the change
 * to learn, actual − last.  Ownership: mc_dataset_build() / mc_dataset_free().
 */
#ifndef MILKCAST_DATASET_H
#define MILKCAST_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/features.h"
#include "milkcast/panel.h"

typedef struct mc_ds_row {
	uint32_t series; /* panel series index */
	uint32_t origin; /* panel date index of the origin */
	int h;		 /* publications ahead */
	int32_t target;	 /* target date */
	double last;	 /* last observed price at the origin (the naive forecast) */
	double actual;	 /* the published price on the target date */
} mc_ds_row;

typedef struct mc_dataset {
	size_t n, ncol;
	float *X;	/* n × ncol, row-major */
	float *y;	/* actual − last */
	mc_ds_row *row; /* n */
} mc_dataset;

/* Which rows to take: horizons 1..horizons, target date indexes in [target_from, target_to). */
typedef struct mc_ds_spec {
	int horizons;
	size_t target_from, target_to;
	bool rows_only; /* fill row and y only, X stays NULL (for scoring recursive forecasts) */
} mc_ds_spec;

mc_code mc_dataset_build(const mc_panel *p, const mc_vocabs *v, const mc_ds_spec *spec,
			 mc_dataset **out, mc_error *err);
void mc_dataset_free(mc_dataset *d);

/* Mean of the prices observed in the last w publications up to origin k (NaN when none). */
double mc_dataset_moving_average(const mc_panel *p, size_t s, size_t k, size_t w);

/*
 * MASE's scale: the mean absolute change between consecutive observed prices
 * of each series over the panel's dates [0, end) (mc_naive_scale).
 */
double mc_dataset_naive_scale(const mc_panel *p, size_t end);

#endif
