/*
 * POSIX TZ strings, as in a TZif footer: "std offset [dst [offset] ,start[/time],end[/time]]"
 * with names alphabetic or quoted ("<-03>"), signed hh[:mm[:ss]] offsets
 * (west of Greenwich positive), days Jn, n or Mm.w.d and RFC 8536's
 * extended times (-167 h .. 167 h).  The changes of a year are computed as
 * instants; a span is found among those of nearby years, sorted, so rules
 * that reach into the next year or keep DST all year are handled alike.
 */
#include <ctype.h>
#include <string.h>

#include "cron/cron_int.h"
#include "milkcast/date.h"

/* ---- parsing ---- */

typedef struct cursor {
	const char *s;
	size_t i;
	const char *why;
} cursor;

static bool fail(cursor *c, const char *why)
{
	c->why = why;
	return false;
}

static bool name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '+' || ch == '-';
}

static bool parse_name(cursor *c, char out[TZ_ABBR_MAX])
{
	size_t b = c->i, e;
	if (c->s[b] == '<') {
		e = ++b;
		while (name_char(c->s[e]))
			e++;
		if (c->s[e] != '>') {
			c->i = e;
			return fail(
				c,
				"a quoted name must be letters, digits, '+' or '-' closed by '>'");
		}
		c->i = e + 1;
	} else {
		e = b;
		while (isalpha((unsigned char)c->s[e]))
			e++;
		c->i = e;
	}
	if (e - b < 3) {
		c->i = b;
		return fail(c, "a zone name needs at least 3 characters");
	}
	if (e - b >= TZ_ABBR_MAX) {
		c->i = b;
		return fail(c, "zone name too long");
	}
	memcpy(out, c->s + b, e - b);
	out[e - b] = '\0';
	return true;
}

/* Up to `digits` decimal digits (at least one) into *v. */
static bool parse_uint(cursor *c, int digits, int *v)
{
	if (!isdigit((unsigned char)c->s[c->i]))
		return fail(c, "expected a number");
	int x = 0, k = 0;
	while (isdigit((unsigned char)c->s[c->i]) && k < digits) {
		x = x * 10 + (c->s[c->i++] - '0');
		k++;
	}
	if (isdigit((unsigned char)c->s[c->i]))
		return fail(c, "number too long");
	*v = x;
	return true;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; seconds into *out. */
static bool parse_hms(cursor *c, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;
	if (c->s[c->i] == '+' || c->s[c->i] == '-')
		sign = c->s[c->i++] == '-' ? -1 : 1;
	size_t at = c->i;
	if (!parse_uint(c, 3, &h))
		return false;
	if (h > max_h) {
		c->i = at;
		return fail(c, max_h == 24 ? "hours above 24" : "hours above 167");
	}
	if (c->s[c->i] == ':') {
		c->i++;
		at = c->i;
		if (!parse_uint(c, 2, &m) || c->i - at != 2 || m > 59)
			return (c->i = at), fail(c, "minutes must be 00-59");
		if (c->s[c->i] == ':') {
			c->i++;
			at = c->i;
			if (!parse_uint(c, 2, &s) || c->i - at != 2 || s > 59)
				return (c->i = at), fail(c, "seconds must be 00-59");
		}
	}
	*out = sign * (h * 3600 + m * 60 + s);
	return true;
}

static bool parse_day(cursor *c, tz_rule_day *d)
{
	size_t at = c->i;
	memset(d, 0, sizeof *d);
	if (c->s[c->i] == 'M') {
		d->kind = 'M';
		c->i++;
		if (!parse_uint(c, 2, &d->m) || d->m < 1 || d->m > 12)
			return (c->i = at), fail(c, "Mm.w.d needs a month 1-12");
		if (c->s[c->i++] != '.' || !parse_uint(c, 1, &d->w) || d->w < 1 || d->w > 5)
			return (c->i = at), fail(c, "Mm.w.d needs a week 1-5");
		if (c->s[c->i++] != '.' || !parse_uint(c, 1, &d->d) || d->d > 6)
			return (c->i = at), fail(c, "Mm.w.d needs a weekday 0-6");
	} else if (c->s[c->i] == 'J') {
		d->kind = 'J';
		c->i++;
		if (!parse_uint(c, 3, &d->n) || d->n < 1 || d->n > 365)
			return (c->i = at), fail(c, "Jn needs a day 1-365");
	} else {
		d->kind = 'n';
		if (!parse_uint(c, 3, &d->n) || d->n > 365)
			return (c->i = at), fail(c, "expected a day: Jn, n or Mm.w.d");
	}
	d->secs = 2 * 3600;
	if (c->s[c->i] == '/') {
		c->i++;
		return parse_hms(c, 167, &d->secs);
	}
	return true;
}

static bool parse_offset(cursor *c, int32_t *utoff)
{
	int32_t west;
	if (!parse_hms(c, 24, &west))
		return false;
	*utoff = -west;
	return true;
}

bool tz_rule_parse(const char *s, tz_rule *r, const char **why, size_t *at)
{
	cursor c = {s, 0, NULL};
	memset(r, 0, sizeof *r);
	bool ok = parse_name(&c, r->std_abbr) && parse_offset(&c, &r->std_off);
	if (ok && s[c.i] != '\0') {
		r->has_dst = true;
		ok = parse_name(&c, r->dst_abbr);
		r->dst_off = r->std_off + 3600;
		if (ok && s[c.i] != ',' && s[c.i] != '\0')
			ok = parse_offset(&c, &r->dst_off);
		if (ok && s[c.i] != ',')
			ok = fail(&c, "DST needs ',start,end' rules");
		if (ok) {
			c.i++;
			ok = parse_day(&c, &r->start);
		}
		if (ok && s[c.i] != ',')
			ok = fail(&c, "expected ',' and the end of DST");
		if (ok) {
			c.i++;
			ok = parse_day(&c, &r->end);
		}
	}
	if (ok && s[c.i] != '\0')
		ok = fail(&c, "unexpected text");
	*why = c.why;
	*at = c.i;
	return ok;
}

/* ---- evaluation ---- */

/* Days since the epoch of a rule's day in year y. */
static int32_t rule_date(const tz_rule_day *d, int y)
{
	int32_t jan1 = mc_date_from_ymd(y, 1, 1);
	if (d->kind == 'J')
		return jan1 + d->n - 1 + (tz_leap(y) && d->n >= 60);
	if (d->kind == 'n')
		return jan1 + d->n;
	int32_t first = mc_date_from_ymd(y, d->m, 1);
	int day = 1 + (d->d - tz_wday(first) + 7) % 7 + (d->w - 1) * 7;
	if (day > tz_month_days(y, d->m))
		day -= 7;
	return first + day - 1;
}

typedef struct change {
	int64_t t;
	bool dst; /* state from t on */
} change;

#define SPAN_YEARS_BACK 2
#define SPAN_YEARS_AHEAD 9 /* a rule with no change over this many years never changes */
#define MAX_CHANGES (2 * (SPAN_YEARS_BACK + SPAN_YEARS_AHEAD + 1))

/* The changes of years y0..y1 in time order; of two at one instant the later one stays. */
static size_t rule_changes(const tz_rule *r, int y0, int y1, change *out)
{
	size_t n = 0;
	for (int y = y0; y <= y1; y++) {
		change s = {(int64_t)rule_date(&r->start, y) * 86400 + r->start.secs - r->std_off,
			    true};
		change e = {(int64_t)rule_date(&r->end, y) * 86400 + r->end.secs - r->dst_off,
			    false};
		change two[2] = {s,
				 e}; /* the southern hemisphere's end comes first: sorted below */
		for (int k = 0; k < 2; k++) { /* insertion: stable, so later years win ties */
			size_t j = n++;
			while (j > 0 && out[j - 1].t > two[k].t) {
				out[j] = out[j - 1];
				j--;
			}
			out[j] = two[k];
		}
	}
	size_t m = 0; /* collapse equal instants, keeping the last */
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && out[m - 1].t == out[i].t)
			out[m - 1] = out[i];
		else
			out[m++] = out[i];
	}
	return m;
}

static void set_state(const tz_rule *r, bool dst, tz_span *sp)
{
	sp->isdst = dst;
	sp->utoff = dst ? r->dst_off : r->std_off;
	sp->abbr = dst ? r->dst_abbr : r->std_abbr;
}

void tz_rule_span(const tz_rule *r, int64_t t, tz_span *sp)
{
	sp->start = TZ_NEVER_BEFORE;
	sp->end = TZ_NEVER_AFTER;
	set_state(r, false, sp);
	sp->utoff_before = sp->utoff;
	if (!r->has_dst)
		return;
	int y, m, d; /* the caller keeps t within days of years 1..9999 */
	mc_date_to_ymd((int32_t)tz_floor_div(t + r->std_off, 86400), &y, &m, &d);
	change ch[MAX_CHANGES] = {{0, false}};
	size_t n = rule_changes(r, y - SPAN_YEARS_BACK, y + SPAN_YEARS_AHEAD, ch);
	if (n == 0 || ch[0].t > t) { /* cannot happen: the changes start years before t */
		set_state(r, n > 0 && !ch[0].dst, sp);
		sp->utoff_before = sp->utoff;
		sp->end = n > 0 ? ch[0].t : TZ_NEVER_AFTER;
		return;
	}
	size_t i = 0;
	while (i + 1 < n && ch[i + 1].t <= t)
		i++;
	bool dst = ch[i].dst;
	set_state(r, dst, sp);
	sp->utoff_before = sp->utoff;
	size_t b = i; /* back to the change that began this state */
	while (b > 0 && ch[b - 1].dst == dst)
		b--;
	if (b > 0) {
		sp->start = ch[b].t;
		sp->utoff_before = dst ? r->std_off : r->dst_off;
	}
	size_t e = i + 1;
	while (e < n && ch[e].dst == dst)
		e++;
	if (e < n)
		sp->end = ch[e].t;
}
