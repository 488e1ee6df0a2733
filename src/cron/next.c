/*
 * Fire times of a cron expression in a zone.
 *
 * The search walks the zone's constant-offset spans forward from the
 * instant after `after`.  Within a span local time is the instant plus one
 * offset, so the first matching wall-clock minute in the span's local range
 * gives the instant directly (civil_next).  An expression that follows the
 * clock takes every such minute; a fixed-time one skips local times already
 * seen before the span (a fall-back's repeat) and, when the span starts with
 * a gap, fires at its start for a match inside the gap.
 */
#include <stdio.h>

#include "cron/cron_int.h"
#include "milkcast/date.h"

/* Lowest set bit of mask at or above v (below `bits`), or -1. */
static int next_bit(uint64_t mask, int v, int bits)
{
	if (v >= bits)
		return -1;
	uint64_t m = mask >> v << v;
	if (bits < 64)
		m &= (1ull << bits) - 1;
	return m ? __builtin_ctzll(m) : -1;
}

typedef struct civil {
	int32_t days;
	int y, m, d, h, mi;
} civil;

static void civil_set_day(civil *cv, int32_t days)
{
	cv->days = days;
	mc_date_to_ymd(days, &cv->y, &cv->m, &cv->d);
	cv->h = 0;
	cv->mi = 0;
}

/* To the first day of the next month in the expression (maybe next year). */
static void civil_next_month(const mc_cron *c, civil *cv)
{
	int m = next_bit(c->months, cv->m + 1, 13);
	int y = cv->y;
	if (m < 0) {
		y++;
		m = next_bit(c->months, 1, 13);
	}
	if (y > 9999) {
		cv->y = y;
		return;
	}
	civil_set_day(cv, mc_date_from_ymd(y, m, 1));
}

#define LOCAL_END (MC_TZ_TIME_MAX + 1) /* 10000-01-01T00:00 as local seconds */

/*
 * The first wall-clock minute L (local seconds) with lo <= L < hi that the
 * expression matches; false when there is none (or it would be in year
 * 10000).  Each step moves to the next candidate month, day, hour or
 * minute, so the cost is a few steps per day skipped.
 */
static bool civil_next(const mc_cron *c, int64_t lo, int64_t hi, int64_t *out)
{
	if (lo < MC_TZ_TIME_MIN)
		lo = MC_TZ_TIME_MIN;
	int64_t L = tz_floor_div(lo + 59, 60) * 60;
	if (hi > LOCAL_END)
		hi = LOCAL_END;
	if (L >= hi)
		return false;
	civil cv;
	civil_set_day(&cv, (int32_t)tz_floor_div(L, 86400));
	int64_t sod = L - (int64_t)cv.days * 86400;
	cv.h = (int)(sod / 3600);
	cv.mi = (int)(sod % 3600 / 60);
	for (;;) {
		if (cv.y > 9999 || (int64_t)cv.days * 86400 >= hi)
			return false;
		if (!(c->months >> cv.m & 1)) {
			civil_next_month(c, &cv);
			continue;
		}
		if (!cron_day_matches(c, cv.d, tz_wday(cv.days))) {
			civil_set_day(&cv, cv.days + 1);
			continue;
		}
		int h = next_bit(c->hours, cv.h, 24);
		if (h < 0) {
			civil_set_day(&cv, cv.days + 1);
			continue;
		}
		if (h != cv.h) {
			cv.h = h;
			cv.mi = 0;
		}
		int mi = next_bit(c->minutes, cv.mi, 60);
		if (mi < 0) {
			cv.h++;
			cv.mi = 0;
			if (cv.h == 24)
				civil_set_day(&cv, cv.days + 1);
			continue;
		}
		L = (int64_t)cv.days * 86400 + cv.h * 3600 + mi * 60;
		if (L >= hi)
			return false;
		*out = L;
		return true;
	}
}

/*
 * Why an expression can never fire, or NULL.  Only cronie's AND rule (a
 * day field beginning with '*') can make that happen: a day of month that
 * no chosen month has.  Under the OR rule every month has every weekday.
 */
static const char *never_fires(const mc_cron *c, char *buf, size_t size)
{
	if (!c->dom_star && !c->dow_star)
		return NULL;
	for (int m = 1; m <= 12; m++)
		for (int d = 1; d <= 31; d++)
			if ((c->months >> m & 1) && (c->doms >> d & 1) &&
			    d <= tz_month_days(2000, m)) /* a leap year: Feb 29 exists */
				return NULL;
	char doms[120], mons[60];
	cron_list(c->doms, 1, 31, NULL, doms, sizeof doms);
	cron_list(c->months, 1, 12, cron_month_names, mons, sizeof mons);
	snprintf(buf, size, "day of month %s never occurs in %s", doms, mons);
	return buf;
}

/* The highest local time seen before span sp starts (fixed-time expressions
 * fire only at a local time's first occurrence). */
static int64_t seen_before(const mc_tz *tz, const tz_span *sp)
{
	if (sp->start == TZ_NEVER_BEFORE)
		return INT64_MIN;
	int64_t high = sp->start + sp->utoff_before;
	int64_t p = sp->start;
	for (int k = 0; k < 8; k++) { /* a few spans back, for folds in quick succession */
		tz_span q;
		tz_span_at(tz, p - 1, &q);
		if (p + q.utoff > high)
			high = p + q.utoff;
		if (q.start == TZ_NEVER_BEFORE || q.start < sp->start - 3 * 86400)
			break;
		p = q.start;
	}
	return high;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The first fire time within span sp at or after s; false if none there. */
static bool in_span(const mc_cron *c, const tz_span *sp, int64_t s, int64_t seen, bool fixed,
		    int64_t *next)
{
	int64_t L;
	if (fixed && sp->start >= s && sp->utoff > sp->utoff_before) {
		int64_t gap_lo = max64(seen, sp->start + sp->utoff_before);
		if (civil_next(c, gap_lo, sp->start + sp->utoff, &L)) {
			*next = sp->start;
			return true;
		}
	}
	int64_t lo = max64(s, sp->start) + sp->utoff;
	if (fixed)
		lo = max64(lo, seen);
	int64_t hi = sp->end == TZ_NEVER_AFTER ? INT64_MAX : sp->end + sp->utoff;
	if (civil_next(c, lo, hi, &L)) {
		*next = L - sp->utoff;
		return true;
	}
	return false;
}

static mc_code check_args(const mc_cron *c, const mc_tz *tz, int64_t after, mc_error *err)
{
	char why[256];
	if (never_fires(c, why, sizeof why))
		return mc_fail(err, MC_ERR_NOT_FOUND, "cron '%s' never fires: %s", c->source, why);
	if (after < MC_TZ_TIME_MIN || after > MC_TZ_TIME_MAX)
		return mc_fail(err, MC_ERR_INVALID,
			       "cron '%s' in '%s': instant %lld is outside years 1-9999", c->source,
			       mc_tz_name(tz), (long long)after);
	return MC_OK;
}

static mc_code search(const mc_cron *c, const mc_tz *tz, int64_t after, int64_t *next,
		      mc_error *err)
{
	bool fixed = !mc_cron_follows_clock(c);
	int64_t s = after + 1;
	tz_span sp;
	tz_span_at(tz, s, &sp);
	int64_t seen = fixed ? seen_before(tz, &sp) : INT64_MIN;
	for (;;) {
		if (in_span(c, &sp, s, seen, fixed, next))
			return MC_OK;
		if (sp.end == TZ_NEVER_AFTER || sp.end > MC_TZ_TIME_MAX)
			break;
		seen = max64(seen, sp.end + sp.utoff);
		tz_span_at(tz, sp.end, &sp);
	}
	return mc_fail(err, MC_ERR_NOT_FOUND, "cron '%s' in '%s' does not fire before year 10000",
		       c->source, mc_tz_name(tz));
}

mc_code mc_cron_next(const mc_cron *c, const mc_tz *tz, int64_t after, int64_t *next, mc_error *err)
{
	mc_code rc = check_args(c, tz, after, err);
	return rc ? rc : search(c, tz, after, next, err);
}

mc_code mc_cron_between(const mc_cron *c, const mc_tz *tz, int64_t after, int64_t until,
			int64_t *out, size_t cap, size_t *n, bool *more, mc_error *err)
{
	*n = 0;
	if (more)
		*more = false;
	mc_code rc = check_args(c, tz, after, err);
	if (rc)
		return rc;
	int64_t t = after, x;
	while (t < until && search(c, tz, t, &x, NULL) == MC_OK && x <= until) {
		if (*n == cap) {
			if (more)
				*more = true;
			break;
		}
		out[(*n)++] = x;
		t = x;
	}
	return MC_OK;
}
