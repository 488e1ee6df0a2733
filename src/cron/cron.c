/*
 * Cron expressions: the parser (Vixie cron / cronie syntax and flags),
 * matching a wall-clock time, descriptions for messages.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cron/cron_int.h"
#include "milkcast/buf.h"

const char *const cron_month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
					"Aug", "Sep", "Oct", "Nov", "Dec", NULL};
static const char *const dow_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", NULL};

typedef struct field_def {
	const char *name;
	int lo, hi;
	const char *const *names; /* names[i] is lo + i */
} field_def;

static const field_def fields[5] = {
	{"minute", 0, 59, NULL},	  {"hour", 0, 23, NULL},
	{"day of month", 1, 31, NULL},	  {"month", 1, 12, cron_month_names},
	{"day of week", 0, 7, dow_names},
};

static const struct {
	const char *name, *fields;
} macros[] = {
	{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

/* ---- parsing ---- */

typedef struct lexer {
	const char *s; /* the whole expression, for columns */
	size_t i;      /* position in s */
	int field;     /* 0..4 */
	size_t base;   /* column offset of s within what the user wrote */
	mc_error *err;
} lexer;

__attribute__((format(printf, 3, 4))) static mc_code lex_fail(const lexer *lx, size_t at,
							      const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return mc_fail(lx->err, MC_ERR_INVALID, "field %d (%s): %s at column %zu", lx->field + 1,
		       fields[lx->field].name, what, lx->base + at + 1);
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool at_item_end(const lexer *lx)
{
	char ch = lx->s[lx->i];
	return ch == '\0' || ch == ',' || is_blank(ch);
}

/* A number, or a name where the field has names; range-checked. */
static mc_code read_value(lexer *lx, int *v)
{
	const field_def *f = &fields[lx->field];
	size_t at = lx->i;
	const char *s = lx->s;
	if (isdigit((unsigned char)s[at])) {
		long x = 0;
		while (isdigit((unsigned char)s[lx->i])) {
			if (lx->i - at >= 6)
				return lex_fail(lx, at, "number too long");
			x = x * 10 + (s[lx->i++] - '0');
		}
		if (x < f->lo || x > f->hi)
			return lex_fail(lx, at, "%ld is out of range %d-%d", x, f->lo, f->hi);
		*v = (int)x;
		return MC_OK;
	}
	if (!isalpha((unsigned char)s[at]))
		return s[at] == '\0' || is_blank(s[at]) || s[at] == ','
			       ? lex_fail(lx, at, "expected a value")
			       : lex_fail(lx, at, "unexpected '%c'", s[at]);
	while (isalpha((unsigned char)s[lx->i]))
		lx->i++;
	int len = (int)(lx->i - at);
	if (!f->names)
		return lex_fail(lx, at, "'%.*s': names are allowed only for months and weekdays",
				len, s + at);
	for (int k = 0; f->names[k]; k++)
		if (len == 3 && strncasecmp(s + at, f->names[k], 3) == 0) {
			*v = f->lo + k;
			return MC_OK;
		}
	return lex_fail(lx, at, "unknown name '%.*s' (expected %s..%s)", len, s + at, f->names[0],
			lx->field == 3 ? "Dec" : "Sat");
}

/* One list item: '*', v or v-w, then an optional /step for '*' and ranges. */
static mc_code read_item(lexer *lx, uint64_t *mask)
{
	const field_def *f = &fields[lx->field];
	size_t at = lx->i;
	int a, b, step = 1;
	bool span = true;
	mc_code rc;
	if (lx->s[lx->i] == '*') {
		lx->i++;
		a = f->lo;
		b = f->hi;
	} else {
		if ((rc = read_value(lx, &a)))
			return rc;
		b = a;
		span = lx->s[lx->i] == '-';
		if (span) {
			lx->i++;
			if ((rc = read_value(lx, &b)))
				return rc;
			if (b < a)
				return lex_fail(lx, at, "range %d-%d goes backwards", a, b);
		}
	}
	if (lx->s[lx->i] == '/') {
		size_t sat = ++lx->i;
		if (!span)
			return lex_fail(lx, at,
					"a step needs '*' or a range before it ('%d-%d/..')", a,
					f->hi);
		if (!isdigit((unsigned char)lx->s[sat]))
			return lex_fail(lx, sat, "a step must be a number");
		long x = 0;
		while (isdigit((unsigned char)lx->s[lx->i])) {
			if (lx->i - sat >= 6)
				return lex_fail(lx, sat, "step too long");
			x = x * 10 + (lx->s[lx->i++] - '0');
		}
		if (x == 0)
			return lex_fail(lx, sat, "a step must be at least 1");
		step = (int)x;
	}
	if (!at_item_end(lx))
		return lex_fail(lx, lx->i, "unexpected '%c'", lx->s[lx->i]);
	for (int v = a; v <= b; v += step)
		*mask |= 1ull << v;
	return MC_OK;
}

/* One field (a list) at lx->i; the mask has bit v for value v. */
static mc_code read_field(lexer *lx, uint64_t *mask, bool *star)
{
	*mask = 0;
	*star = lx->s[lx->i] == '*';
	for (;;) {
		mc_code rc = read_item(lx, mask);
		if (rc)
			return rc;
		if (lx->s[lx->i] != ',')
			return MC_OK;
		lx->i++;
	}
}

static void store(mc_cron *c, int field, uint64_t mask)
{
	switch (field) {
	case 0: c->minutes = mask; break;
	case 1: c->hours = (uint32_t)mask; break;
	case 2: c->doms = (uint32_t)mask; break;
	case 3: c->months = (uint16_t)mask; break;
	default: c->dows = (uint8_t)((mask | mask >> 7) & 0x7f); break; /* 7 = Sunday */
	}
}

static size_t count_fields(const char *s)
{
	size_t n = 0;
	for (size_t i = 0; s[i];) {
		while (is_blank(s[i]))
			i++;
		if (!s[i])
			break;
		n++;
		while (s[i] && !is_blank(s[i]))
			i++;
	}
	return n;
}

static mc_code parse_fields(mc_cron *c, const char *s, size_t base, mc_error *err)
{
	size_t n = count_fields(s);
	if (n != 5)
		return mc_fail(err, MC_ERR_INVALID,
			       "expected 5 fields (minute hour day-of-month month day-of-week), "
			       "got %zu",
			       n);
	lexer lx = {s, 0, 0, base, err};
	bool star[5] = {false};
	for (lx.field = 0; lx.field < 5; lx.field++) {
		while (is_blank(s[lx.i]))
			lx.i++;
		uint64_t mask;
		mc_code rc = read_field(&lx, &mask, &star[lx.field]);
		if (rc)
			return rc;
		store(c, lx.field, mask);
	}
	c->min_star = star[0];
	c->hour_star = star[1];
	c->dom_star = star[2];
	c->dow_star = star[4];
	return MC_OK;
}

static mc_code parse_macro(mc_cron *c, const char *s, size_t len, mc_error *err)
{
	if (s[len] != '\0')
		return mc_fail(err, MC_ERR_INVALID, "'%.*s' takes no fields after it", (int)len, s);
	for (size_t k = 0; k < sizeof macros / sizeof macros[0]; k++)
		if (strlen(macros[k].name) == len && strncmp(s, macros[k].name, len) == 0)
			return parse_fields(c, macros[k].fields, 0, err);
	return mc_fail(err, MC_ERR_INVALID,
		       "unknown macro '%.*s' (expected @hourly, @daily, @midnight, @weekly, "
		       "@monthly, @yearly or @annually)",
		       (int)len, s);
}

mc_code mc_cron_parse(const char *expr, mc_cron **out, mc_error *err)
{
	*out = NULL;
	size_t b = 0, e = strlen(expr);
	while (is_blank(expr[b]))
		b++;
	while (e > b && (is_blank(expr[e - 1]) || expr[e - 1] == '\n' || expr[e - 1] == '\r'))
		e--;
	if (b == e)
		return mc_fail(err, MC_ERR_INVALID, "empty cron expression");
	mc_cron *c = calloc(1, sizeof *c);
	if (c)
		c->source = strndup(expr + b, e - b);
	if (!c || !c->source) {
		mc_cron_free(c);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	const char *s = c->source;
	mc_code rc;
	if (s[0] == '@')
		rc = parse_macro(c, s, strcspn(s, " \t"), err);
	else
		rc = parse_fields(c, s, b, err);
	if (rc) {
		mc_error_prefix(err, "cron '%s': ", s);
		mc_cron_free(c);
		return rc;
	}
	*out = c;
	return MC_OK;
}

void mc_cron_free(mc_cron *c)
{
	if (!c)
		return;
	free(c->source);
	free(c);
}

const char *mc_cron_source(const mc_cron *c)
{
	return c->source;
}

bool mc_cron_follows_clock(const mc_cron *c)
{
	return c->min_star || c->hour_star;
}

/* ---- matching ---- */

bool cron_day_matches(const mc_cron *c, int day, int wday)
{
	bool dom = c->doms >> day & 1, dow = c->dows >> wday & 1;
	return (c->dom_star || c->dow_star) ? dom && dow : dom || dow;
}

bool mc_cron_matches(const mc_cron *c, const mc_local_time *lt)
{
	if (lt->month < 1 || lt->month > 12 || lt->day < 1 || lt->day > 31 || lt->hour < 0 ||
	    lt->hour > 23 || lt->minute < 0 || lt->minute > 59)
		return false;
	int32_t days = (int32_t)tz_floor_div(
		tz_civil_seconds(lt->year, lt->month, lt->day, 0, 0, 0), 86400);
	return (c->minutes >> lt->minute & 1) && (c->hours >> lt->hour & 1) &&
	       (c->months >> lt->month & 1) && cron_day_matches(c, lt->day, tz_wday(days));
}

/* ---- descriptions ---- */

void cron_list(uint64_t mask, int lo, int hi, const char *const *names, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (int v = lo; v <= hi; v++) {
		if (!(mask >> v & 1))
			continue;
		int w = v;
		while (w < hi && (mask >> (w + 1) & 1))
			w++;
		const char *sep = len ? "," : "";
		if (names) {
			mc_appendf(buf, size, &len, "%s%s", sep, names[v - lo]);
			if (w > v)
				mc_appendf(buf, size, &len, "%s%s", w > v + 1 ? "-" : ",",
					   names[w - lo]);
		} else {
			mc_appendf(buf, size, &len, "%s%d", sep, v);
			if (w > v)
				mc_appendf(buf, size, &len, "%s%d", w > v + 1 ? "-" : ",", w);
		}
		v = w;
	}
}

static int popcount(uint64_t m)
{
	return __builtin_popcountll(m);
}

static void describe_time(const mc_cron *c, char *buf, size_t size, size_t *len)
{
	char mins[200], hours[100];
	bool all_min = popcount(c->minutes) == 60, all_hour = popcount(c->hours) == 24;
	cron_list(c->minutes, 0, 59, NULL, mins, sizeof mins);
	cron_list(c->hours, 0, 23, NULL, hours, sizeof hours);
	if (popcount(c->minutes) == 1 && popcount(c->hours) == 1)
		mc_appendf(buf, size, len, "at %02d:%02d", __builtin_ctzll(c->hours),
			   __builtin_ctzll(c->minutes));
	else if (all_min)
		mc_appendf(buf, size, len, all_hour ? "every minute" : "every minute of hour %s",
			   all_hour ? "" : hours);
	else
		mc_appendf(buf, size, len, "at minute %s of %s%s", mins,
			   all_hour ? "every hour" : "hour ", all_hour ? "" : hours);
}

static void describe_days(const mc_cron *c, char *buf, size_t size, size_t *len)
{
	char doms[120], dows[40], months[60];
	bool all_dom = popcount(c->doms) == 31, all_dow = popcount(c->dows) == 7;
	cron_list(c->doms, 1, 31, NULL, doms, sizeof doms);
	cron_list((uint64_t)c->dows, 0, 6, dow_names, dows, sizeof dows);
	bool and_rule = c->dom_star || c->dow_star;
	if (and_rule ? all_dom && all_dow : all_dom || all_dow)
		mc_appendf(buf, size, len, " every day");
	else if (and_rule && all_dow)
		mc_appendf(buf, size, len, " on day %s of the month", doms);
	else if (and_rule && all_dom)
		mc_appendf(buf, size, len, " on %s", dows);
	else if (and_rule)
		mc_appendf(buf, size, len, " on day %s of the month if it is a %s", doms, dows);
	else
		mc_appendf(buf, size, len, " on day %s of the month or on %s", doms, dows);
	if (popcount(c->months) != 12) {
		cron_list((uint64_t)c->months, 1, 12, cron_month_names, months, sizeof months);
		mc_appendf(buf, size, len, " in %s", months);
	}
}

void mc_cron_describe(const mc_cron *c, char *buf, size_t size)
{
	size_t len = 0;
	if (size == 0)
		return;
	buf[0] = '\0';
	describe_time(c, buf, size, &len);
	describe_days(c, buf, size, &len);
}
