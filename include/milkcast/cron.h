/*
 * Time zones and cron expressions for the scheduler.
 *
 * Time zones are read from TZif files (RFC 8536, versions 1-4) under $TZDIR
 * or /usr/share/zoneinfo, with the footer's POSIX TZ string for instants
 * after the last transition; the process's TZ and the C library's localtime
 * are never touched, so any number of zones can be used at once from any
 * thread.  "UTC" is built in (works without tzdata).
 *
 * Cron expressions are the 5 fields of Vixie cron / cronie (minute, hour,
 * day of month, month, day of week) with their rules: '*', numbers, a-b,
 * '*' or a-b with /step, lists, month and weekday names, 0 and 7 = Sunday,
 * the day-of-month OR day-of-week rule when both are restricted (neither
 * field begins with '*'), and @hourly @daily @midnight @weekly @monthly
 * @yearly @annually.
 *
 * Daylight saving time, as cronie: an expression whose minute or hour field
 * begins with '*' ("follows the clock": "0 * * * *", @hourly, a minute
 * field of '*' with a step) fires at every instant whose wall clock matches: it skips the
 * minutes a spring-forward gap removes and fires again in the hour a
 * fall-back repeats.  Any other expression ("fixed time", e.g. "30 2 * * *")
 * fires once per matching local time: a local time in a gap fires at the
 * first instant after the gap (the transition), a repeated local time at
 * its first occurrence only.  docs/internals/cron.md has the details.
 */
#ifndef MILKCAST_CRON_H
#define MILKCAST_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

/* The scheduler's zone when a schedule names none. */
#define MC_CRON_DEFAULT_TZ "America/Mexico_City"

/* Instants handled (Unix seconds): 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z. */
#define MC_TZ_TIME_MIN (-62135596800LL)
#define MC_TZ_TIME_MAX 253402300799LL

/* ---- time zones ---- */

typedef struct mc_tz mc_tz;

/* A wall-clock time in some zone. */
typedef struct mc_local_time {
	int year, month, day;	  /* 1..9999, 1..12, 1..31 */
	int hour, minute, second; /* 0..23, 0..59, 0..59 */
	int wday; /* 0 = Sunday .. 6 = Saturday; set by mc_tz_to_local, ignored as input */
} mc_local_time;

/* What a wall-clock time is in a zone. */
typedef enum mc_tz_kind {
	MC_TZ_NORMAL,	 /* exactly one instant has it */
	MC_TZ_GAP,	 /* none: the clocks jumped over it (spring forward) */
	MC_TZ_AMBIGUOUS, /* two instants: the clocks went back over it (fall back) */
} mc_tz_kind;

/* How mc_tz_from_local resolves a gap or an ambiguous time. */
typedef enum mc_tz_policy {
	MC_TZ_FIRST,  /* ambiguous: the first occurrence; gap: the instant the gap ends */
	MC_TZ_SECOND, /* ambiguous: the second occurrence; gap: the instant the gap ends */
	MC_TZ_FOLD0,  /* as Python's fold=0: ambiguous: the first; gap: read with the offset
			 before the change (02:30 in New York's gap -> 03:30 EDT) */
	MC_TZ_FOLD1,  /* as fold=1: ambiguous: the second; gap: read with the offset after it
			 (02:30 -> 01:30 EST) */
	MC_TZ_STRICT, /* a gap or an ambiguous time is an error (MC_ERR_INVALID) */
} mc_tz_policy;

/*
 * Load a zone by its IANA name ("America/Mexico_City") from $TZDIR, or
 * /usr/share/zoneinfo when TZDIR is unset or empty.  "UTC" and "Etc/UTC"
 * are built in.  Names are checked first: no absolute paths, no "." or ".."
 * components, only letters, digits and "/_-+." (MC_ERR_INVALID).  A missing
 * file is MC_ERR_NOT_FOUND; a bad one MC_ERR_FORMAT (or MC_ERR_UNSUPPORTED
 * for leap-second "right/" files); messages name the zone, the file and
 * what is wrong.
 */
mc_code mc_tz_load(const char *name, mc_tz **out, mc_error *err);
/* Load a TZif file by path; the zone's name is the path. */
mc_code mc_tz_load_file(const char *path, mc_tz **out, mc_error *err);
/* Parse TZif bytes; name (may be NULL) is used in messages and mc_tz_name. */
mc_code mc_tz_parse(const void *data, size_t len, const char *name, mc_tz **out, mc_error *err);
/* A zone from a POSIX TZ string alone, e.g. "EST5EDT,M3.2.0,M11.1.0" or "<-03>3". */
mc_code mc_tz_posix(const char *spec, mc_tz **out, mc_error *err);
void mc_tz_free(mc_tz *tz);
const char *mc_tz_name(const mc_tz *tz);

/*
 * The wall-clock time at instant t (Unix seconds) and, when utc_offset is
 * not NULL, the zone's offset from UTC in seconds (east positive).
 * MC_ERR_INVALID when t or its local time is outside years 1..9999.
 */
mc_code mc_tz_to_local(const mc_tz *tz, int64_t t, mc_local_time *lt, int32_t *utc_offset,
		       mc_error *err);
/* The abbreviation in use at t ("CST", "-03"; owned by tz) and, if is_dst is
 * not NULL, whether it is daylight saving time. */
const char *mc_tz_abbr(const mc_tz *tz, int64_t t, bool *is_dst);

/*
 * The instant of a wall-clock time.  kind (may be NULL) says whether it was
 * normal, in a gap or ambiguous; policy chooses the instant for the last two.
 * MC_ERR_INVALID for fields out of range (Feb 30, 24:00, second 60) and,
 * under MC_TZ_STRICT, for a gap or an ambiguous time.
 */
mc_code mc_tz_from_local(const mc_tz *tz, const mc_local_time *lt, mc_tz_policy policy, int64_t *t,
			 mc_tz_kind *kind, mc_error *err);

/* "2025-03-09T03:00:00-04:00 EDT" (size >= 48 is always enough). */
void mc_tz_format(const mc_tz *tz, int64_t t, char *buf, size_t size);

/* ---- cron expressions ---- */

typedef struct mc_cron mc_cron;

/*
 * Parse an expression: 5 fields separated by blanks, or a macro.  Errors
 * (MC_ERR_INVALID) name the field and the 1-based column, e.g. "field 2
 * (hour): 25 is out of range 0-23 at column 4".  An expression that can
 * never fire ("0 0 30 2 *") parses, as in cronie; mc_cron_next reports it.
 */
mc_code mc_cron_parse(const char *expr, mc_cron **out, mc_error *err);
void mc_cron_free(mc_cron *c);
/* The expression as given, without surrounding blanks. */
const char *mc_cron_source(const mc_cron *c);
/* True when the minute or hour field begins with '*' (the DST rules above). */
bool mc_cron_follows_clock(const mc_cron *c);
/* True when the wall-clock minute of lt matches (seconds are ignored). */
bool mc_cron_matches(const mc_cron *c, const mc_local_time *lt);
/* A short English description for messages, e.g. "at 13:00 on Mon,Wed,Fri". */
void mc_cron_describe(const mc_cron *c, char *buf, size_t size);

/*
 * The first fire time strictly after `after` in zone tz.  MC_ERR_NOT_FOUND
 * when the expression can never fire (the message says why) or does not fire
 * again before year 10000; MC_ERR_INVALID when after is out of range.
 */
mc_code mc_cron_next(const mc_cron *c, const mc_tz *tz, int64_t after, int64_t *next,
		     mc_error *err);

/*
 * The fire times t with after < t <= until, in order (a scheduler's catch-up:
 * everything missed between the last run and now).  Up to cap of them go to
 * out (which may be NULL when cap is 0); *n is how many were stored and
 * *more (may be NULL) says whether there were more.  An expression that
 * can never fire is the same error as for mc_cron_next.
 */
mc_code mc_cron_between(const mc_cron *c, const mc_tz *tz, int64_t after, int64_t until,
			int64_t *out, size_t cap, size_t *n, bool *more, mc_error *err);

#endif
