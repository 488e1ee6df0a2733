/*
 * Internals of the cron module: the zone representation shared by the TZif
 * reader, the POSIX TZ rules and the conversions, the constant-offset spans
 * the cron search walks, and the parsed cron fields.  Not installed.
 */
#ifndef MILKCAST_CRON_INT_H
#define MILKCAST_CRON_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "milkcast/cron.h"

#define TZ_ABBR_MAX 32		      /* longest abbreviation kept, with its NUL */
#define TZ_OFFSET_MAX (26 * 3600 - 1) /* |UT offset| accepted from a file (RFC 8536: < 26 h) */
#define TZ_NEVER_BEFORE INT64_MIN     /* span start when no change precedes it */
#define TZ_NEVER_AFTER INT64_MAX      /* span end when no change follows it */

/* ---- civil time ---- */

int64_t tz_floor_div(int64_t a, int64_t b);
/* Seconds since 1970-01-01T00:00 of a civil time (no zone). */
int64_t tz_civil_seconds(int y, int mo, int d, int h, int mi, int s);
/* The inverse; false when the year is outside 1..9999. */
bool tz_civil_fields(int64_t secs, mc_local_time *lt);
bool tz_leap(int y);
int tz_month_days(int y, int m);
/* 0 = Sunday .. 6 = Saturday. */
int tz_wday(int32_t days);

/* ---- POSIX TZ strings (posix_tz.c) ---- */

/* A rule's day: Jn (1..365, Feb 29 never counted), n (0..365), Mm.w.d. */
typedef struct tz_rule_day {
	char kind; /* 'J', 'n' or 'M' */
	int n;	   /* J and n forms */
	int m, w, d;
	int32_t secs; /* local time of day of the change, -167 h .. 167 h */
} tz_rule_day;

typedef struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UT */
	char std_abbr[TZ_ABBR_MAX], dst_abbr[TZ_ABBR_MAX];
	bool has_dst;
	tz_rule_day start, end; /* DST starts (read in standard time), ends (read in DST) */
} tz_rule;

/* Parse a POSIX TZ string; on error *why (static text) and *at (byte offset) say what and where. */
bool tz_rule_parse(const char *s, tz_rule *r, const char **why, size_t *at);

/* ---- zones ---- */

typedef struct tz_type {
	int32_t utoff;
	bool isdst;
	uint32_t abbr; /* index into mc_tz.chars */
} tz_type;

struct mc_tz {
	char *name;
	size_t ntrans;
	int64_t *trans;	    /* ascending UT instants */
	uint8_t *trans_idx; /* type in effect from trans[i] */
	size_t ntypes;
	tz_type *types; /* types[0] also rules before the first transition */
	size_t nchars;
	char *chars; /* NUL-terminated abbreviations */
	bool has_rule;
	tz_rule rule; /* after the last transition (the footer) */
};

/* The longest interval around an instant with one UT offset (and abbreviation). */
typedef struct tz_span {
	int64_t start; /* first instant, or TZ_NEVER_BEFORE */
	int64_t end;   /* first instant after, or TZ_NEVER_AFTER */
	int32_t utoff;
	int32_t utoff_before; /* offset just before start (= utoff when start is TZ_NEVER_BEFORE) */
	bool isdst;
	const char *abbr;
} tz_span;

void tz_span_at(const mc_tz *tz, int64_t t, tz_span *sp);
/* The span of the POSIX rule alone (posix_tz.c). */
void tz_rule_span(const tz_rule *r, int64_t t, tz_span *sp);

/* A zone holding only what it is given; takes ownership of nothing. */
mc_tz *tz_new(const char *name);

/* ---- cron fields ---- */

struct mc_cron {
	uint64_t minutes; /* bit 0..59 */
	uint32_t hours;	  /* bit 0..23 */
	uint32_t doms;	  /* bit 1..31 */
	uint16_t months;  /* bit 1..12 */
	uint8_t dows;	  /* bit 0..6, Sunday = 0 (7 folded into 0) */
	bool dom_star, dow_star, min_star, hour_star;
	char *source;
};

/* Day matching (month already checked), with cronie's day-of-month/day-of-week rule. */
bool cron_day_matches(const mc_cron *c, int day, int wday);
extern const char *const cron_month_names[]; /* "Jan" .. "Dec", NULL */
/* Comma-separated values of a mask with ranges ("1-5,7"); names for months and weekdays. */
void cron_list(uint64_t mask, int lo, int hi, const char *const *names, char *buf, size_t size);

#endif
