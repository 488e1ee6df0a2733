/* Forecasting features from the price panel; see milkcast/features.h. */
#include "milkcast/features.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"

/* Column order is the model's contract: append, never reorder. */
enum {
	F_H,
	F_DAYS_AHEAD,
	F_TARGET_WEEKDAY,
	F_TARGET_MONTH,
	F_LAST,
	F_AGE_LAST,
	F_CHG_1,
	F_CHG_2,
	F_CHG_4,
	F_CHG_8,
	F_CHG_12,
	F_MEAN_4,
	F_MEAN_12,
	F_MEAN_26,
	F_STD_4,
	F_STD_12,
	F_STD_26,
	F_SINCE_CHANGE,
	F_LAST_CHANGE,
	F_CHANGE_RATE_26,
	F_CHANGE_RATE_52,
	F_MISSING_26,
	F_DEV_STATE,
	F_DEV_NATIONAL,
	F_STATE_CHG_4,
	F_NATIONAL_CHG_4,
	F_KIND,
	F_STATE,
	F_CITY,
	F_MILK_TYPE,
	F_CHANNEL,
	F_COUNT
};

static const mc_feature_def defs[F_COUNT] = {
	[F_H] = {"h", "horizon: how many publications ahead the target is (1 = the next one)"},
	[F_DAYS_AHEAD] = {"days_ahead",
			  "days from the origin (last publication seen) to the target "
			  "date"},
	[F_TARGET_WEEKDAY] = {"target_weekday", "weekday of the target date, 0 = Monday"},
	[F_TARGET_MONTH] = {"target_month", "month of the target date, 1-12"},
	[F_LAST] = {"last", "last observed price at or before the origin (MXN per litre)"},
	[F_AGE_LAST] = {"age_last", "publications since that observation (0 = seen at the origin)"},
	[F_CHG_1] = {"chg_1", "last minus the forward-filled price 1 publication before the "
			      "origin"},
	[F_CHG_2] = {"chg_2", "last minus the forward-filled price 2 publications before"},
	[F_CHG_4] = {"chg_4", "last minus the forward-filled price 4 publications before"},
	[F_CHG_8] = {"chg_8", "last minus the forward-filled price 8 publications before"},
	[F_CHG_12] = {"chg_12", "last minus the forward-filled price 12 publications before"},
	[F_MEAN_4] = {"mean_4_dev", "mean of the prices observed in the last 4 publications "
				    "(origin included) minus last"},
	[F_MEAN_12] = {"mean_12_dev", "the same over the last 12 publications"},
	[F_MEAN_26] = {"mean_26_dev", "the same over the last 26 publications"},
	[F_STD_4] = {"std_4", "population standard deviation of the prices observed in the last "
			      "4 publications (missing with fewer than 2)"},
	[F_STD_12] = {"std_12", "the same over the last 12 publications"},
	[F_STD_26] = {"std_26", "the same over the last 26 publications"},
	[F_SINCE_CHANGE] = {"since_change", "publications since the forward-filled price last "
					    "changed, at most 52"},
	[F_LAST_CHANGE] = {"last_change", "size of that last change, signed (missing if none)"},
	[F_CHANGE_RATE_26] = {"change_rate_26", "share of consecutive observations that differ, "
						"last 26 publications"},
	[F_CHANGE_RATE_52] = {"change_rate_52", "the same over the last 52 publications"},
	[F_MISSING_26] = {"missing_26", "share of the last 26 publications without a price"},
	[F_DEV_STATE] = {"dev_state", "last minus the mean last price of the cities of the same "
				      "state, milk type and channel (missing for national "
				      "averages)"},
	[F_DEV_NATIONAL] = {"dev_national", "last minus the mean last price of all cities of the "
					    "same milk type and channel"},
	[F_STATE_CHG_4] = {"state_chg_4", "change of that state mean over 4 publications"},
	[F_NATIONAL_CHG_4] = {"national_chg_4", "change of that national mean over 4 "
						"publications"},
	[F_KIND] = {"kind", "category code: city or national average"},
	[F_STATE] = {"state", "category code of the state"},
	[F_CITY] = {"city", "category code of the city (state/city)"},
	[F_MILK_TYPE] = {"milk_type", "category code: pasteurizada or ultrapasteurizada"},
	[F_CHANNEL] = {"channel", "category code: tiendas or autoservicios"},
};

size_t mc_features_count(void)
{
	return F_COUNT;
}

const mc_feature_def *mc_features_defs(void)
{
	return defs;
}

int mc_features_index(const char *name)
{
	for (int i = 0; i < F_COUNT; i++)
		if (!strcmp(defs[i].name, name))
			return i;
	return -1;
}

/* ---- vocabularies ---- */

const char *const mc_vocab_names[MC_VOCAB_COUNT] = {"kind", "state", "city", "milk_type",
						    "channel"};

static long vocab_search(const mc_vocab *v, const char *name, size_t *insert_at)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int r = strcmp(v->names[mid], name);
		if (r == 0)
			return (long)mid;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*insert_at = lo;
	return -1;
}

long mc_vocab_code(const mc_vocab *v, const char *name)
{
	size_t at;
	return vocab_search(v, name, &at);
}

mc_code mc_vocab_add(mc_vocab *v, const char *name)
{
	size_t at;
	if (vocab_search(v, name, &at) >= 0)
		return MC_OK;
	char **names = realloc(v->names, (v->n + 1) * sizeof *names);
	if (!names)
		return MC_ERR_NOMEM;
	v->names = names;
	char *copy = strdup(name);
	if (!copy)
		return MC_ERR_NOMEM;
	memmove(names + at + 1, names + at, (v->n - at) * sizeof *names);
	names[at] = copy;
	v->n++;
	return MC_OK;
}

void mc_vocabs_free(mc_vocabs *vs)
{
	for (int i = 0; i < MC_VOCAB_COUNT; i++) {
		for (size_t j = 0; j < vs->v[i].n; j++)
			free(vs->v[i].names[j]);
		free(vs->v[i].names);
		vs->v[i].names = NULL;
		vs->v[i].n = 0;
	}
}

/* "state/city": city names alone are not unique across states in principle. */
static void city_key(const mc_panel_series *ps, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", ps->state, ps->city);
}

mc_code mc_vocabs_from_panel(const mc_panel *p, mc_vocabs *out, mc_error *err)
{
	memset(out, 0, sizeof *out);
	mc_code rc = MC_OK;
	for (size_t s = 0; s < p->nseries && !rc; s++) {
		const mc_panel_series *ps = &p->series[s];
		char city[512];
		city_key(ps, city, sizeof city);
		const char *names[MC_VOCAB_COUNT] = {ps->kind, ps->state, city, ps->milk_type,
						     ps->channel};
		for (int i = 0; i < MC_VOCAB_COUNT && !rc; i++)
			rc = mc_vocab_add(&out->v[i], names[i]);
	}
	if (rc) {
		mc_vocabs_free(out);
		return mc_fail(err, rc, "out of memory building category vocabularies");
	}
	return MC_OK;
}

static float code_of(const mc_vocab *v, const char *name)
{
	long c = mc_vocab_code(v, name);
	return c < 0 ? NAN : (float)c;
}

/* ---- the row ---- */

static const double *row_of(const double *m, const mc_panel *p, size_t s)
{
	return m + s * p->ndates;
}

double mc_features_last(const mc_panel *p, size_t s, size_t k)
{
	return mc_panel_ffill(p, s, k);
}

/* Observations in the look-back window ending at k. */
static size_t observations_to(const mc_panel *p, size_t s, size_t k)
{
	const double *x = row_of(p->price, p, s);
	size_t n = 0;
	for (size_t d = k >= MC_FEATURES_LOOKBACK ? k - MC_FEATURES_LOOKBACK : 0; d <= k; d++)
		n += !isnan(x[d]);
	return n;
}

int mc_features_usable(const mc_panel *p, size_t s, size_t k)
{
	return k < p->ndates && !isnan(mc_panel_ffill(p, s, k)) &&
	       observations_to(p, s, k) >= MC_FEATURES_MIN_OBS;
}

/* ffill[k] − ffill[k − n], NaN when k − n is before the panel or unknown. */
static double change_over(const double *ff, size_t k, size_t n)
{
	return k >= n ? ff[k] - ff[k - n] : NAN;
}

/* Mean and population std of the observed values in (k − n, k]. */
static void window_stats(const double *x, size_t k, size_t n, double *mean, double *sd)
{
	size_t from = k + 1 >= n ? k + 1 - n : 0, cnt = 0;
	double sum = 0, sq = 0;
	for (size_t d = from; d <= k; d++)
		if (!isnan(x[d])) {
			sum += x[d];
			cnt++;
		}
	*mean = cnt ? sum / (double)cnt : NAN;
	for (size_t d = from; d <= k; d++)
		if (!isnan(x[d]))
			sq += (x[d] - *mean) * (x[d] - *mean);
	*sd = cnt >= 2 ? sqrt(sq / (double)cnt) : NAN;
}

/* Share of consecutive observed pairs in [from, k] that differ (NaN without a pair). */
static double change_rate(const double *x, size_t from, size_t k)
{
	double prev = NAN;
	size_t pairs = 0, changes = 0;
	for (size_t d = from; d <= k; d++) {
		if (isnan(x[d]))
			continue;
		if (!isnan(prev)) {
			pairs++;
			changes += x[d] != prev;
		}
		prev = x[d];
	}
	return pairs ? (double)changes / (double)pairs : NAN;
}

/* Publications since ff last changed (looking back at most MC_FEATURES_LOOKBACK), and the
 * size of that change. */
static void last_change(const double *ff, size_t first, size_t k, double *since, double *size)
{
	size_t d = k, stop = k >= MC_FEATURES_LOOKBACK ? k - MC_FEATURES_LOOKBACK : 0;
	if (stop < first)
		stop = first;
	while (d > stop && ff[d - 1] == ff[d])
		d--;
	*since = (double)(k - d);
	*size = d > stop ? ff[d] - ff[d - 1] : NAN;
}

static double group_dev(const double *means, const mc_panel *p, size_t g, size_t k, double last,
			double *chg4)
{
	if (g == SIZE_MAX) {
		*chg4 = NAN;
		return NAN;
	}
	const double *m = means + g * p->ndates;
	*chg4 = change_over(m, k, 4);
	return last - m[k];
}

static void history_features(const mc_panel *p, size_t s, size_t k, float *out)
{
	const double *x = row_of(p->price, p, s), *ff = row_of(p->ffill, p, s);
	const mc_panel_series *ps = &p->series[s];
	double last = ff[k];
	size_t age = 0;
	while (age < k && isnan(x[k - age]))
		age++;
	out[F_LAST] = (float)last;
	out[F_AGE_LAST] = (float)age;
	static const size_t lags[] = {1, 2, 4, 8, 12};
	for (int i = 0; i < 5; i++)
		out[F_CHG_1 + i] = (float)change_over(ff, k, lags[i]);
	static const size_t windows[] = {4, 12, 26};
	for (int i = 0; i < 3; i++) {
		double mean, sd;
		window_stats(x, k, windows[i], &mean, &sd);
		out[F_MEAN_4 + i] = (float)(mean - last);
		out[F_STD_4 + i] = (float)sd;
	}
	double since, size;
	last_change(ff, ps->first_obs, k, &since, &size);
	out[F_SINCE_CHANGE] = (float)since;
	out[F_LAST_CHANGE] = (float)size;
	size_t from26 = k + 1 >= 26 ? k + 1 - 26 : 0, missing = 0;
	out[F_CHANGE_RATE_26] = (float)change_rate(x, from26, k);
	size_t from52 = k >= MC_FEATURES_LOOKBACK ? k - MC_FEATURES_LOOKBACK : 0;
	out[F_CHANGE_RATE_52] = (float)change_rate(x, from52, k);
	for (size_t d = from26; d <= k; d++)
		missing += isnan(x[d]);
	out[F_MISSING_26] = (float)((double)missing / (double)(k + 1 - from26));
	double chg;
	out[F_DEV_STATE] = (float)group_dev(p->group_mean, p, ps->group, k, last, &chg);
	out[F_STATE_CHG_4] = (float)chg;
	out[F_DEV_NATIONAL] = (float)group_dev(p->nat_mean, p, ps->nat_group, k, last, &chg);
	out[F_NATIONAL_CHG_4] = (float)chg;
}

void mc_features_retarget(const mc_panel *p, size_t k, int h, int32_t target_date, float *out)
{
	int y, m, d;
	mc_date_to_ymd(target_date, &y, &m, &d);
	out[F_H] = (float)h;
	out[F_DAYS_AHEAD] = (float)(target_date - p->dates[k]);
	out[F_TARGET_WEEKDAY] = (float)mc_date_weekday(target_date);
	out[F_TARGET_MONTH] = (float)m;
}

void mc_features_row(const mc_panel *p, const mc_vocabs *v, size_t s, size_t k, int h,
		     int32_t target_date, float *out)
{
	const mc_panel_series *ps = &p->series[s];
	mc_features_retarget(p, k, h, target_date, out);
	history_features(p, s, k, out);
	char city[512];
	city_key(ps, city, sizeof city);
	out[F_KIND] = code_of(&v->v[MC_VOCAB_KIND], ps->kind);
	out[F_STATE] = code_of(&v->v[MC_VOCAB_STATE], ps->state);
	out[F_CITY] = code_of(&v->v[MC_VOCAB_CITY], city);
	out[F_MILK_TYPE] = code_of(&v->v[MC_VOCAB_MILK_TYPE], ps->milk_type);
	out[F_CHANNEL] = code_of(&v->v[MC_VOCAB_CHANNEL], ps->channel);
}

void mc_features_next_publications(int32_t day, int n, int32_t *out)
{
	int found = 0;
	for (int32_t d = day + 1; found < n; d++) {
		int wd = mc_date_weekday(d);
		if (wd == 0 || wd == 2 || wd == 4)
			out[found++] = d;
	}
}
