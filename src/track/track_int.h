/* Shared between the track module's loggers. */
#ifndef MC_TRACK_INT_H
#define MC_TRACK_INT_H

#include "milkcast/metrics.h"
#include "milkcast/tracking.h"

/* PREFIX_rmse, PREFIX_mae, ... (every field of m) at step 0. */
mc_code mc_log_metric_set(mc_store *s, const char *run, const char *prefix, const mc_metrics *m,
			  int64_t now, mc_error *err);

#endif
