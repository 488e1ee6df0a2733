/*
 * Forecast accuracy: point errors (MAE, RMSE, MAPE, sMAPE, MASE), interval
 * coverage and width, and split-conformal interval calibration.  Pure
 * functions on arrays of doubles; a pair where either value is NAN is
 * skipped, and each function reports how many pairs it used (`used`,
 * nullable).  A metric over no pairs is NAN.  docs/internals/model.md has the
 * formulas and the conformal guarantee.
 */
#ifndef MILKCAST_METRICS_H
#define MILKCAST_METRICS_H

#include <stddef.h>

#include "milkcast/error.h"

/* mean |a - f| */
double mc_mae(const double *actual, const double *pred, size_t n, size_t *used);
/* sqrt(mean (a - f)^2) */
double mc_rmse(const double *actual, const double *pred, size_t n, size_t *used);
/* 100 * mean |a - f| / |a|, in percent; pairs with a == 0 are skipped too */
double mc_mape(const double *actual, const double *pred, size_t n, size_t *used);
/* M4's sMAPE: 100 * mean 2|f - a| / (|a| + |f|), in percent (0..200); a pair with a == f == 0
 * counts as 0 */
double mc_smape(const double *actual, const double *pred, size_t n, size_t *used);
/* MAE / scale; NAN when the scale is not > 0 (see mc_naive_scale) */
double mc_mase(const double *actual, const double *pred, size_t n, double scale, size_t *used);

/*
 * MASE's scale: the mean absolute error of the one-step naive forecast
 * (the last observed value) over the training histories, pooled over every
 * series.  series[s] has len[s] values in time order, NAN for a missing
 * date; a difference is taken between each observed value and the previous
 * observed value of the same series (across missing dates, as the last-value
 * forecast would have been made), never across series.  *ndiff (nullable)
 * gets the number of differences; NAN when there are none.
 */
double mc_naive_scale(const double *const *series, const size_t *len, size_t nseries,
		      size_t *ndiff);

/*
 * Share of actuals inside [lower, upper] (bounds included), over the rows
 * where actual, lower and upper are all present; *mean_width (nullable) gets
 * the mean of upper - lower over the same rows.
 */
double mc_interval_coverage(const double *actual, const double *lower, const double *upper,
			    size_t n, double *mean_width, size_t *used);

/*
 * Split-conformal calibration.  The rank of the quantile for n calibration
 * residuals at `level`: ceil((n + 1) * level), where (n + 1) * level within
 * 1e-9 of an integer counts as that integer (so 0.7 * 10 is 7, not 8).  A
 * rank above n means the interval is unbounded.
 */
size_t mc_conformal_rank(size_t n, double level);

/*
 * Symmetric interval [f - q, f + q]: q is the mc_conformal_rank()-th
 * smallest of the absolute residuals |y - f| (NANs skipped), +INFINITY when
 * the rank exceeds their count.  If the calibration and future residuals are
 * exchangeable, P(|y - f| <= q) >= level.  MC_ERR_INVALID unless
 * 0 < level < 1, MC_ERR_NOMEM; *q is NAN then.
 */
mc_code mc_conformal_quantile(const double *abs_resid, size_t n, double level, double *q);

/*
 * Asymmetric interval [f + lo, f + hi] from signed residuals y - f (NANs
 * skipped): hi is the k-th smallest and lo the k-th largest residual, with
 * k = mc_conformal_rank(n, (1 + level) / 2); hi = +INFINITY and
 * lo = -INFINITY when k exceeds their count.  Each tail then misses with
 * probability at most (1 - level) / 2, so coverage is >= level.
 * Errors as mc_conformal_quantile(); *lo and *hi are NAN then.
 */
mc_code mc_conformal_signed(const double *resid, size_t n, double level, double *lo, double *hi);

/* Every metric of one group of forecasts; counts say how many rows each used. */
typedef struct mc_metrics {
	size_t n; /* rows with actual and prediction: mae, rmse, smape, mase */
	double mae, rmse;
	double bias;	   /* mean (f - a): > 0 is over-forecasting */
	size_t n_mape;	   /* of those, with a nonzero actual */
	double mape;	   /* percent */
	double smape;	   /* percent, 0..200 */
	double mase;	   /* mae / scale */
	size_t n_interval; /* rows with actual, lower and upper */
	double coverage;   /* share in [0, 1] */
	double width;	   /* mean upper - lower */
	size_t n_naive;	   /* rows with actual, prediction and naive prediction */
	double naive_mae, naive_rmse;
	double model_mae_naive_rows; /* the model's MAE on those same rows */
} mc_metrics;

/* Running sums for mc_metrics; add rows one at a time, then finish. */
typedef struct mc_metrics_acc {
	size_t n, n_mape, n_interval, n_naive;
	double abs, sq, err, ape, sape;
	double covered, width;
	double naive_abs, naive_sq, model_abs_naive_rows;
} mc_metrics_acc;

void mc_metrics_acc_init(mc_metrics_acc *a);
/* One row; any of the five may be NAN (the metrics needing it skip the row). */
void mc_metrics_acc_add(mc_metrics_acc *a, double actual, double pred, double lower, double upper,
			double naive_pred);
/* The metrics of the rows added so far; mase_scale from mc_naive_scale(). */
void mc_metrics_acc_finish(const mc_metrics_acc *a, double mase_scale, mc_metrics *out);

/* Accumulators by a text key (a horizon, "milk_type|channel", ...), in first-seen order. */
typedef struct mc_metrics_groups mc_metrics_groups;

mc_metrics_groups *mc_metrics_groups_new(void);
void mc_metrics_groups_free(mc_metrics_groups *g);
mc_code mc_metrics_groups_add(mc_metrics_groups *g, const char *key, double actual, double pred,
			      double lower, double upper, double naive_pred, mc_error *err);
size_t mc_metrics_groups_count(const mc_metrics_groups *g);
const char *mc_metrics_groups_key(const mc_metrics_groups *g, size_t i);
void mc_metrics_groups_finish(const mc_metrics_groups *g, size_t i, double mase_scale,
			      mc_metrics *out);

#endif
