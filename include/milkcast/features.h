/*
 * Forecasting features: one code path for training, batch and online
 * prediction.  A feature row describes series s as known at origin date
 * index k (the last publication the forecaster has seen) and asks for the
 * price h publications later, on target_date.  Every value is computed from
 * panel cells at date indexes ≤ k only; the target date enters only through
 * the calendar features (weekday, month, days ahead), which are known in
 * advance.  tests/unit/test_features.c checks this by rebuilding the panel
 * without anything after the origin.
 *
 * The model learns the change from the last observed price: target =
 * price(target_date) − last.  Missing inputs are NaN and reach XGBoost as
 * missing, never as 0.
 */
#ifndef MILKCAST_FEATURES_H
#define MILKCAST_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/panel.h"

typedef struct mc_feature_def {
	const char *name;
	const char *description;
} mc_feature_def;

/* The feature list, in column order. */
size_t mc_features_count(void);
const mc_feature_def *mc_features_defs(void);
/* Column of the feature named `name`, or -1. */
int mc_features_index(const char *name);

/*
 * Category vocabularies (sorted names → codes), fixed at training and kept
 * in the bundle so prediction uses the same codes; an unknown name codes as
 * missing.  The city vocabulary holds "state/city".
 */
typedef struct mc_vocab {
	size_t n;
	char **names;
} mc_vocab;

enum {
	MC_VOCAB_KIND,
	MC_VOCAB_STATE,
	MC_VOCAB_CITY,
	MC_VOCAB_MILK_TYPE,
	MC_VOCAB_CHANNEL,
	MC_VOCAB_COUNT
};

typedef struct mc_vocabs {
	mc_vocab v[MC_VOCAB_COUNT];
} mc_vocabs;

extern const char *const mc_vocab_names[MC_VOCAB_COUNT]; /* "kind", "state", ... */

mc_code mc_vocabs_from_panel(const mc_panel *p, mc_vocabs *out, mc_error *err);
/* Add one name (kept sorted; no duplicate); for loading a bundle. */
mc_code mc_vocab_add(mc_vocab *v, const char *name);
void mc_vocabs_free(mc_vocabs *v);
/* Code of a name, or -1. */
long mc_vocab_code(const mc_vocab *v, const char *name);

/* The shortest history a series needs at the origin: observations up to k. */
#define MC_FEATURES_MIN_OBS 4

/*
 * No feature looks further back than this many publications before the
 * origin, so a snapshot of the last MC_FEATURES_HISTORY publications gives
 * the same rows as the whole lake (what a Lambda predicts from).
 */
#define MC_FEATURES_LOOKBACK 52
#define MC_FEATURES_HISTORY (MC_FEATURES_LOOKBACK + 8)

/* Whether series s can be forecast from origin k (enough observations). */
int mc_features_usable(const mc_panel *p, size_t s, size_t k);

/* The last observed price of s at or before k (NaN when none). */
double mc_features_last(const mc_panel *p, size_t s, size_t k);

/*
 * Fill out[mc_features_count()] for series s at origin k, horizon h (1-based)
 * and target_date (days since 1970-01-01).
 */
void mc_features_row(const mc_panel *p, const mc_vocabs *v, size_t s, size_t k, int h,
		     int32_t target_date, float *out);

/*
 * Re-aim a row filled by mc_features_row() at another horizon and target date
 * of the same origin: only the calendar features change (cheaper than a new
 * row when the same origin is asked for several horizons).
 */
void mc_features_retarget(const mc_panel *p, size_t k, int h, int32_t target_date, float *row);

/*
 * The next `n` publication dates after `day` when the panel does not hold
 * them: SNIIM publishes on Mondays, Wednesdays and Fridays.
 */
void mc_features_next_publications(int32_t day, int n, int32_t *out);

#endif
