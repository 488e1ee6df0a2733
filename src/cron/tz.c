/*
 * Zones in use: the constant-offset span around an instant (transition
 * table, then the footer rule), instant -> wall clock, wall clock -> instant
 * with gaps and folds, formatting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron/cron_int.h"
#include "milkcast/date.h"

/* ---- civil time ---- */

int64_t tz_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool tz_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int tz_month_days(int y, int m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return mdays[m - 1] + (m == 2 && tz_leap(y));
}

int tz_wday(int32_t days)
{
	return (mc_date_weekday(days) + 1) % 7; /* ISO Monday = 0 -> Sunday = 0 */
}

int64_t tz_civil_seconds(int y, int mo, int d, int h, int mi, int s)
{
	return (int64_t)mc_date_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* Local seconds of 0001-01-01T00:00 and of 10000-01-01T00:00. */
#define CIVIL_MIN MC_TZ_TIME_MIN
#define CIVIL_END (MC_TZ_TIME_MAX + 1)

bool tz_civil_fields(int64_t secs, mc_local_time *lt)
{
	if (secs < CIVIL_MIN || secs >= CIVIL_END)
		return false;
	int64_t days = tz_floor_div(secs, 86400);
	int64_t sod = secs - days * 86400;
	mc_date_to_ymd((int32_t)days, &lt->year, &lt->month, &lt->day);
	lt->hour = (int)(sod / 3600);
	lt->minute = (int)(sod % 3600 / 60);
	lt->second = (int)(sod % 60);
	lt->wday = tz_wday((int32_t)days);
	return true;
}

/* ---- zones ---- */

mc_tz *tz_new(const char *name)
{
	mc_tz *tz = calloc(1, sizeof *tz);
	if (!tz)
		return NULL;
	tz->name = strdup(name ? name : "");
	if (!tz->name) {
		free(tz);
		return NULL;
	}
	return tz;
}

void mc_tz_free(mc_tz *tz)
{
	if (!tz)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->trans_idx);
	free(tz->types);
	free(tz->chars);
	free(tz);
}

const char *mc_tz_name(const mc_tz *tz)
{
	return tz->name;
}

mc_code mc_tz_posix(const char *spec, mc_tz **out, mc_error *err)
{
	*out = NULL;
	tz_rule r;
	const char *why;
	size_t at;
	if (!tz_rule_parse(spec, &r, &why, &at))
		return mc_fail(err, MC_ERR_INVALID, "bad POSIX TZ string '%s': %s at column %zu",
			       spec, why, at + 1);
	mc_tz *tz = tz_new(spec);
	if (!tz)
		return mc_fail(err, MC_ERR_NOMEM, "time zone '%s': out of memory", spec);
	tz->has_rule = true;
	tz->rule = r;
	*out = tz;
	return MC_OK;
}

/* ---- spans ---- */

static void type_span(const mc_tz *tz, size_t type, tz_span *sp)
{
	const tz_type *ty = &tz->types[type];
	sp->utoff = ty->utoff;
	sp->isdst = ty->isdst;
	sp->abbr = tz->chars + ty->abbr;
}

/* Number of transitions at or before t. */
static size_t trans_upto(const mc_tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->ntrans;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int32_t offset_before_trans(const mc_tz *tz, size_t i)
{
	return tz->types[i > 0 ? tz->trans_idx[i - 1] : 0].utoff;
}

/* After the last transition: the footer's span, starting no earlier than that transition. */
static void footer_span(const mc_tz *tz, int64_t t, tz_span *sp)
{
	size_t n = tz->ntrans;
	if (!tz->has_rule) {
		type_span(tz, tz->trans_idx[n - 1], sp);
		sp->start = tz->trans[n - 1];
		sp->end = TZ_NEVER_AFTER;
		sp->utoff_before = offset_before_trans(tz, n - 1);
		return;
	}
	tz_rule_span(&tz->rule, t, sp);
	if (sp->start < tz->trans[n - 1]) {
		sp->start = tz->trans[n - 1];
		sp->utoff_before = offset_before_trans(tz, n - 1);
	}
}

void tz_span_at(const mc_tz *tz, int64_t t, tz_span *sp)
{
	/* Keep the footer's year arithmetic within range; zones are constant out there. */
	if (t < CIVIL_MIN - 4 * 86400)
		t = CIVIL_MIN - 4 * 86400;
	if (t > CIVIL_END + 4 * 86400)
		t = CIVIL_END + 4 * 86400;
	size_t n = tz->ntrans;
	if (n == 0) {
		if (tz->has_rule) {
			tz_rule_span(&tz->rule, t, sp);
		} else {
			type_span(tz, 0, sp);
			sp->start = TZ_NEVER_BEFORE;
			sp->end = TZ_NEVER_AFTER;
			sp->utoff_before = sp->utoff;
		}
		return;
	}
	size_t k = trans_upto(tz, t);
	if (k == n) {
		footer_span(tz, t, sp);
		return;
	}
	if (k == 0) {
		type_span(tz, 0, sp);
		sp->start = TZ_NEVER_BEFORE;
		sp->utoff_before = sp->utoff;
	} else {
		type_span(tz, tz->trans_idx[k - 1], sp);
		sp->start = tz->trans[k - 1];
		sp->utoff_before = offset_before_trans(tz, k - 1);
	}
	sp->end = tz->trans[k];
}

/* ---- conversions ---- */

mc_code mc_tz_to_local(const mc_tz *tz, int64_t t, mc_local_time *lt, int32_t *utc_offset,
		       mc_error *err)
{
	if (t < MC_TZ_TIME_MIN || t > MC_TZ_TIME_MAX)
		return mc_fail(err, MC_ERR_INVALID,
			       "time zone '%s': instant %lld is outside years 1-9999", tz->name,
			       (long long)t);
	tz_span sp;
	tz_span_at(tz, t, &sp);
	if (!tz_civil_fields(t + sp.utoff, lt))
		return mc_fail(
			err, MC_ERR_INVALID,
			"time zone '%s': the local time of instant %lld is outside years 1-9999",
			tz->name, (long long)t);
	if (utc_offset)
		*utc_offset = sp.utoff;
	return MC_OK;
}

const char *mc_tz_abbr(const mc_tz *tz, int64_t t, bool *is_dst)
{
	tz_span sp;
	tz_span_at(tz, t, &sp);
	if (is_dst)
		*is_dst = sp.isdst;
	return sp.abbr;
}

static bool fields_valid(const mc_local_time *lt)
{
	return lt->year >= 1 && lt->year <= 9999 && lt->month >= 1 && lt->month <= 12 &&
	       lt->day >= 1 && lt->day <= tz_month_days(lt->year, lt->month) && lt->hour >= 0 &&
	       lt->hour <= 23 && lt->minute >= 0 && lt->minute <= 59 && lt->second >= 0 &&
	       lt->second <= 59;
}

/* What a wall-clock time maps to: its instants (in order) or the gap it falls in. */
typedef struct resolution {
	int64_t at[4];
	size_t n;
	bool gap;
	int64_t gap_end; /* the transition */
	int32_t off_before, off_after;
} resolution;

#define RESOLVE_WINDOW (2 * 86400) /* > any UT offset, so every instant of L is found */

static void resolve(const mc_tz *tz, int64_t L, resolution *r)
{
	memset(r, 0, sizeof *r);
	tz_span sp;
	tz_span_at(tz, L - RESOLVE_WINDOW, &sp);
	for (;;) {
		int64_t cand = L - sp.utoff;
		if (cand >= sp.start && cand < sp.end && r->n < 4)
			r->at[r->n++] = cand;
		if (sp.end == TZ_NEVER_AFTER || sp.end > L + RESOLVE_WINDOW)
			return;
		tz_span next;
		tz_span_at(tz, sp.end, &next);
		if (next.utoff > sp.utoff && L >= sp.end + sp.utoff && L < sp.end + next.utoff) {
			r->gap = true;
			r->gap_end = sp.end;
			r->off_before = sp.utoff;
			r->off_after = next.utoff;
		}
		sp = next;
	}
}

static void format_local(const mc_local_time *lt, char out[80])
{
	snprintf(out, 80, "%04d-%02d-%02d %02d:%02d:%02d", lt->year, lt->month, lt->day, lt->hour,
		 lt->minute, lt->second);
}

static mc_code pick(const mc_tz *tz, const mc_local_time *lt, const resolution *r,
		    mc_tz_policy policy, int64_t *t, mc_error *err)
{
	char when[80];
	format_local(lt, when);
	if (r->n == 0 && !r->gap)
		return mc_fail(err, MC_ERR_INVALID, "time zone '%s': no instant has local time %s",
			       tz->name, when);
	if (policy == MC_TZ_STRICT && r->n != 1)
		return mc_fail(
			err, MC_ERR_INVALID,
			r->n == 0 ? "time zone '%s': local time %s does not exist (the clocks "
				    "skip it)"
				  : "time zone '%s': local time %s is ambiguous (the clocks go "
				    "back over it)",
			tz->name, when);
	if (r->n > 0) {
		bool second = policy == MC_TZ_SECOND || policy == MC_TZ_FOLD1;
		*t = second ? r->at[r->n - 1] : r->at[0];
	} else if (policy == MC_TZ_FOLD0) {
		*t = tz_civil_seconds(lt->year, lt->month, lt->day, lt->hour, lt->minute,
				      lt->second) -
		     r->off_before;
	} else if (policy == MC_TZ_FOLD1) {
		*t = tz_civil_seconds(lt->year, lt->month, lt->day, lt->hour, lt->minute,
				      lt->second) -
		     r->off_after;
	} else {
		*t = r->gap_end;
	}
	return MC_OK;
}

mc_code mc_tz_from_local(const mc_tz *tz, const mc_local_time *lt, mc_tz_policy policy, int64_t *t,
			 mc_tz_kind *kind, mc_error *err)
{
	if (!fields_valid(lt))
		return mc_fail(err, MC_ERR_INVALID,
			       "time zone '%s': invalid local time %04d-%02d-%02d %02d:%02d:%02d",
			       tz->name, lt->year, lt->month, lt->day, lt->hour, lt->minute,
			       lt->second);
	int64_t L =
		tz_civil_seconds(lt->year, lt->month, lt->day, lt->hour, lt->minute, lt->second);
	resolution r;
	resolve(tz, L, &r);
	if (kind)
		*kind = r.n > 1 ? MC_TZ_AMBIGUOUS : r.n == 1 ? MC_TZ_NORMAL : MC_TZ_GAP;
	return pick(tz, lt, &r, policy, t, err);
}

static int offset_text(int32_t off, char out[16])
{
	char sign = off < 0 ? '-' : '+';
	int32_t a = off < 0 ? -off : off;
	if (a % 60)
		return snprintf(out, 16, "%c%02d:%02d:%02d", sign, a / 3600, a / 60 % 60, a % 60);
	return snprintf(out, 16, "%c%02d:%02d", sign, a / 3600, a / 60 % 60);
}

void mc_tz_format(const mc_tz *tz, int64_t t, char *buf, size_t size)
{
	mc_local_time lt;
	int32_t off = 0;
	if (mc_tz_to_local(tz, t, &lt, &off, NULL) != MC_OK) {
		snprintf(buf, size, "@%lld", (long long)t);
		return;
	}
	char o[16];
	offset_text(off, o);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%s %s", lt.year, lt.month, lt.day,
		 lt.hour, lt.minute, lt.second, o, mc_tz_abbr(tz, t, NULL));
}
