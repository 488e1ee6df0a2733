/* Axis ticks: 1-2-5 steps for numbers, calendar steps (days, weeks, months, years) for dates. */
#include "milkcast/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "milkcast/date.h"

static int clamp_ticks(int max_ticks)
{
	return max_ticks < 2 ? 2 : max_ticks > MC_SVG_MAX_TICKS ? MC_SVG_MAX_TICKS : max_ticks;
}

/* Make [lo, hi] finite and non-empty. */
static void widen(double *lo, double *hi)
{
	if (!isfinite(*lo) && !isfinite(*hi)) {
		*lo = 0;
		*hi = 1;
	} else if (!isfinite(*lo)) {
		*lo = *hi;
	} else if (!isfinite(*hi)) {
		*hi = *lo;
	}
	if (*lo > *hi) {
		double t = *lo;
		*lo = *hi;
		*hi = t;
	}
	if (!isfinite(*hi - *lo)) {
		*lo = fmax(*lo, -1e300);
		*hi = fmin(*hi, 1e300);
	}
	if (*hi - *lo <= 1e-9 * fmax(1, fabs(*lo))) {
		double pad = fmax(0.5, fabs(*lo) * 0.02);
		*lo -= pad;
		*hi += pad;
	}
}

/* Number of ticks once [lo, hi] is widened to whole steps. */
static double tick_count(double lo, double hi, double step)
{
	return ceil(hi / step - 1e-9) - floor(lo / step + 1e-9) + 1;
}

void mc_svg_nice_ticks(double lo, double hi, int max_ticks, mc_svg_ticks *t)
{
	static const double mult[] = {1, 2, 5};
	/* A range across zero needs three ticks (-s, 0, s) whatever the step. */
	int max = clamp_ticks(max_ticks < 3 ? 3 : max_ticks);
	widen(&lo, &hi);
	/* Start one decade below the rough step and take the first that fits. */
	int k = (int)floor(log10((hi - lo) / max)) - 1;
	double step = 0;
	int decimals = 0;
	for (int found = 0; !found; k++) {
		for (int i = 0; i < 3 && !found; i++) {
			step = mult[i] * pow(10, k);
			decimals = k < 0 ? -k : 0;
			found = tick_count(lo, hi, step) <= max;
		}
	}
	double first = floor(lo / step + 1e-9), last = ceil(hi / step - 1e-9);
	t->step = step;
	t->decimals = decimals;
	/* The epsilon above keeps 0.3 / 0.1 from adding a tick at 0.2; never cut the data off. */
	t->lo = fmin(first * step, lo);
	t->hi = fmax(last * step, hi);
	t->n = 0;
	/* NOLINTNEXTLINE(cert-flp30-c): first, last whole; at most MC_SVG_MAX_TICKS steps */
	for (double i = first; i <= last && t->n < MC_SVG_MAX_TICKS; i++)
		t->at[t->n++] = i * step;
}

void mc_svg_tick_label(const mc_svg_ticks *t, double v, char out[32])
{
	if (fabs(v) < t->step * 1e-6)
		v = 0; /* no "-0.0" */
	snprintf(out, 32, "%.*f", t->decimals, v);
}

static const char *const month_abbr[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Smallest multiple of step (plus origin) >= v, on int64 so nothing overflows. */
static int64_t align_up(int64_t v, int64_t step, int64_t origin)
{
	int64_t r = (v - origin) % step;
	if (r < 0)
		r += step;
	return r ? v + step - r : v;
}

/* Fill at[0..cap) with first, first + step, ... up to last; return the full count. */
static size_t fill_steps(int64_t first, int64_t last, int64_t step, int64_t *at, size_t cap)
{
	if (first > last)
		return 0;
	size_t n = (size_t)((last - first) / step) + 1;
	for (size_t i = 0; i < n && i < cap; i++)
		at[i] = first + (int64_t)i * step;
	return n;
}

/* Every day, every 2 days (from the epoch), Mondays, every other Monday. */
static size_t day_ticks(int32_t lo, int32_t hi, int step, int64_t *at, size_t cap)
{
	int64_t origin = step >= 7 ? 4 : 0; /* 1970-01-05 was a Monday */
	return fill_steps(align_up(lo, step, origin), hi, step, at, cap);
}

/* Month starts whose month index (year * 12 + month - 1) is a multiple of step. */
static size_t month_ticks(int32_t lo, int32_t hi, int step, int64_t *at, size_t cap)
{
	int y, m, d;
	mc_date_to_ymd(lo, &y, &m, &d);
	int64_t first = (int64_t)y * 12 + (m - 1) + (d > 1); /* first month start >= lo */
	mc_date_to_ymd(hi, &y, &m, &d);
	int64_t last = (int64_t)y * 12 + (m - 1); /* last month start <= hi */
	first = align_up(first, step, 0);
	return fill_steps(first, last, step, at, cap);
}

/* The month steps in order: 1, 2, 3, 6 months, then 1, 2, 5, 10, 20, 50, ... years. */
static int month_step(size_t i)
{
	static const int months[] = {1, 2, 3, 6}, years[] = {1, 2, 5};
	if (i < 4)
		return months[i];
	int step = 12 * years[(i - 4) % 3];
	for (size_t k = (i - 4) / 3; k > 0; k--)
		step *= 10;
	return step;
}

static void label_ticks(mc_svg_date_ticks *t)
{
	for (size_t i = 0; i < t->n; i++) {
		int y, m, d;
		mc_date_to_ymd(t->at[i], &y, &m, &d);
		if (t->step_days)
			snprintf(t->label[i], sizeof t->label[i], "%d %s", d, month_abbr[m - 1]);
		else if (t->step_months < 12)
			snprintf(t->label[i], sizeof t->label[i], "%s %d", month_abbr[m - 1], y);
		else
			snprintf(t->label[i], sizeof t->label[i], "%d", y);
	}
}

/* Turn month indices (year * 12 + month - 1) into the days of those month starts. */
static void month_days(mc_svg_date_ticks *t, const int64_t *idx)
{
	for (size_t i = 0; i < t->n; i++) {
		int64_t y = idx[i] >= 0 ? idx[i] / 12 : -((-idx[i] + 11) / 12);
		t->at[i] = mc_date_from_ymd((int)y, (int)(idx[i] - y * 12) + 1, 1);
	}
}

void mc_svg_date_ticks_make(int32_t lo, int32_t hi, int max_ticks, mc_svg_date_ticks *t)
{
	static const int days[] = {1, 2, 7, 14};
	size_t max = (size_t)clamp_ticks(max_ticks);
	int64_t at[MC_SVG_MAX_TICKS] = {0};
	memset(t, 0, sizeof *t);
	if (lo > hi)
		return;
	for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
		if (day_ticks(lo, hi, days[i], NULL, 0) <= max) {
			t->step_days = days[i];
			t->n = day_ticks(lo, hi, days[i], at, max);
			for (size_t j = 0; j < t->n; j++)
				t->at[j] = (int32_t)at[j];
			label_ticks(t);
			return;
		}
	}
	for (size_t i = 0;; i++) {
		int step = month_step(i);
		if (month_ticks(lo, hi, step, NULL, 0) <= max) {
			t->step_months = step;
			t->n = month_ticks(lo, hi, step, at, max);
			month_days(t, at);
			label_ticks(t);
			return;
		}
	}
}
