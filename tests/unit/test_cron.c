/*
 * Unit tests of src/cron: cron syntax and its errors, cronie's day rule,
 * month ends and leap years, fire times across DST changes (Mexico City's
 * last change in 2022, New York, Berlin, Lord Howe's 30-minute DST, the
 * footer rule in 2100), catch-up lists, wall clock -> instant with gaps and
 * folds, the TZif reader's errors (truncated, garbage, bad footer, leap
 * seconds) and zone names.  Conversions over many instants and wall-clock
 * times in 20 zones and in TZif files built here (version 1, footer-only
 * version 2/3 files with J, n and M rules, quoted names, extended times,
 * all-year DST) are compared with Python's zoneinfo (tests/oracle/
 * tz_oracle.py), skipped when /usr/bin/python3 lacks it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cron/cron_int.h"
#include "milkcast/cron.h"

#define PYTHON "/usr/bin/python3"
#define ORACLE "tests/oracle/tz_oracle.py"

/* ---- helpers ---- */

/* "YYYY-MM-DDTHH:MM:SS" read as UTC, by the C library (independent of src/cron). */
static int64_t utc(const char *iso)
{
	struct tm tm = {0};
	assert_int_equal(sscanf(iso, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
				&tm.tm_hour, &tm.tm_min, &tm.tm_sec),
			 6);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

static mc_tz *zone(const char *name)
{
	mc_error err = MC_ERROR_INIT;
	mc_tz *tz = NULL;
	if (mc_tz_load(name, &tz, &err) != MC_OK)
		fail_msg("loading %s: %s", name, err.msg);
	return tz;
}

static mc_cron *cron(const char *expr)
{
	mc_error err = MC_ERROR_INIT;
	mc_cron *c = NULL;
	if (mc_cron_parse(expr, &c, &err) != MC_OK)
		fail_msg("parsing '%s': %s", expr, err.msg);
	return c;
}

/* The next fire times of expr in zone after `after` (UTC), formatted, equal `want`. */
static void expect_fires(const char *expr, const char *zname, const char *after,
			 const char *const *want, size_t n)
{
	mc_tz *tz = zone(zname);
	mc_cron *c = cron(expr);
	mc_error err = MC_ERROR_INIT;
	int64_t t = utc(after);
	for (size_t i = 0; i < n; i++) {
		int64_t x;
		if (mc_cron_next(c, tz, t, &x, &err) != MC_OK)
			fail_msg("'%s' in %s: %s", expr, zname, err.msg);
		char got[64];
		mc_tz_format(tz, x, got, sizeof got);
		if (strcmp(got, want[i]) != 0)
			fail_msg("'%s' in %s, fire %zu after %s: got %s, want %s", expr, zname,
				 i + 1, after, got, want[i]);
		assert_true(x > t);
		t = x;
	}
	mc_cron_free(c);
	mc_tz_free(tz);
}

#define FIRES(expr, zname, after, ...)                                                   \
	do {                                                                             \
		static const char *const want_[] = {__VA_ARGS__};                        \
		expect_fires(expr, zname, after, want_, sizeof want_ / sizeof want_[0]); \
	} while (0)

static void expect_parse_error(const char *expr, const char *msg)
{
	mc_error err = MC_ERROR_INIT;
	mc_cron *c = (mc_cron *)1;
	assert_int_equal(mc_cron_parse(expr, &c, &err), MC_ERR_INVALID);
	assert_null(c);
	if (strcmp(err.msg, msg) != 0)
		fail_msg("'%s': got \"%s\", want \"%s\"", expr, err.msg, msg);
}

static void expect_describe(const char *expr, const char *want)
{
	mc_cron *c = cron(expr);
	char got[256];
	mc_cron_describe(c, got, sizeof got);
	if (strcmp(got, want) != 0)
		fail_msg("'%s': described as \"%s\", want \"%s\"", expr, got, want);
	mc_cron_free(c);
}

static mc_local_time local(int y, int mo, int d, int h, int mi, int s)
{
	mc_local_time lt = {y, mo, d, h, mi, s, 0};
	return lt;
}

/* ---- cron syntax ---- */

static void test_parse_errors(void **state)
{
	(void)state;
	expect_parse_error(
		"0 25 * * *",
		"cron '0 25 * * *': field 2 (hour): 25 is out of range 0-23 at column 3");
	expect_parse_error("  0 */2,25 * * *", "cron '0 */2,25 * * *': field 2 (hour): 25 is out "
					       "of range 0-23 at column 9");
	expect_parse_error(
		"60 * * * *",
		"cron '60 * * * *': field 1 (minute): 60 is out of range 0-59 at column 1");
	expect_parse_error("0 0 0 * *", "cron '0 0 0 * *': field 3 (day of month): 0 is out of "
					"range 1-31 at column 5");
	expect_parse_error("0 0 32 * *", "cron '0 0 32 * *': field 3 (day of month): 32 is out of "
					 "range 1-31 at column 5");
	expect_parse_error("0 0 * 13 *", "cron '0 0 * 13 *': field 4 (month): 13 is out of range "
					 "1-12 at column 7");
	expect_parse_error("0 0 * * 8", "cron '0 0 * * 8': field 5 (day of week): 8 is out of "
					"range 0-7 at column 9");
	expect_parse_error("0 0 * foo *", "cron '0 0 * foo *': field 4 (month): unknown name "
					  "'foo' (expected Jan..Dec) at column 7");
	expect_parse_error("0 0 * * monday",
			   "cron '0 0 * * monday': field 5 (day of week): "
			   "unknown name 'monday' (expected Sun..Sat) at column 9");
	expect_parse_error("0 mon * * *", "cron '0 mon * * *': field 2 (hour): 'mon': names are "
					  "allowed only for months and weekdays at column 3");
	expect_parse_error(
		"5-3 * * * *",
		"cron '5-3 * * * *': field 1 (minute): range 5-3 goes backwards at column 1");
	expect_parse_error(
		"*/0 * * * *",
		"cron '*/0 * * * *': field 1 (minute): a step must be at least 1 at column 3");
	expect_parse_error("5/15 * * * *", "cron '5/15 * * * *': field 1 (minute): a step needs "
					   "'*' or a range before it ('5-59/..') at column 1");
	expect_parse_error(
		"*/x * * * *",
		"cron '*/x * * * *': field 1 (minute): a step must be a number at column 3");
	expect_parse_error("0 0 * * fri-sun", "cron '0 0 * * fri-sun': field 5 (day of week): "
					      "range 5-0 goes backwards at column 9");
	expect_parse_error("1,,2 * * * *",
			   "cron '1,,2 * * * *': field 1 (minute): expected a value at column 3");
	expect_parse_error("1, * * * *",
			   "cron '1, * * * *': field 1 (minute): expected a value at column 3");
	expect_parse_error("1-* * * * *",
			   "cron '1-* * * * *': field 1 (minute): unexpected '*' at column 3");
	expect_parse_error("** * * * *",
			   "cron '** * * * *': field 1 (minute): unexpected '*' at column 2");
	expect_parse_error("0 0 1# * *",
			   "cron '0 0 1# * *': field 3 (day of month): unexpected '#' at column 6");
	expect_parse_error("0 0 L * *", "cron '0 0 L * *': field 3 (day of month): 'L': names are "
					"allowed only for months and weekdays at column 5");
	expect_parse_error("1234567 * * * *",
			   "cron '1234567 * * * *': field 1 (minute): number too long at column 1");
	expect_parse_error("0 0 * *", "cron '0 0 * *': expected 5 fields (minute hour "
				      "day-of-month month day-of-week), got 4");
	expect_parse_error("0 0 * * * /bin/true", "cron '0 0 * * * /bin/true': expected 5 fields "
						  "(minute hour day-of-month month day-of-week), "
						  "got 6");
	expect_parse_error("   ", "empty cron expression");
	expect_parse_error("@reboot",
			   "cron '@reboot': unknown macro '@reboot' (expected @hourly, "
			   "@daily, @midnight, @weekly, @monthly, @yearly or @annually)");
	expect_parse_error("@daily 5", "cron '@daily 5': '@daily' takes no fields after it");
	expect_parse_error("@Daily", "cron '@Daily': unknown macro '@Daily' (expected @hourly, "
				     "@daily, @midnight, @weekly, @monthly, @yearly or @annually)");
}

static void test_syntax_forms(void **state)
{
	(void)state;
	expect_describe("* * * * *", "every minute every day");
	expect_describe("5 4 * * *", "at 04:05 every day");
	expect_describe("\t0  13 * *   1,3,5 \n", "at 13:00 on Mon,Wed,Fri");
	expect_describe("*/15 * * * *", "at minute 0,15,30,45 of every hour every day");
	expect_describe("10-40/10 */6 * * *", "at minute 10,20,30,40 of hour 0,6,12,18 every day");
	expect_describe("0-4,58 9-17 * * *", "at minute 0-4,58 of hour 9-17 every day");
	expect_describe("*/25 1-23/11 * * *", "at minute 0,25,50 of hour 1,12,23 every day");
	expect_describe("* 3 * * *", "every minute of hour 3 every day");
	expect_describe("0 0 1,15 * *", "at 00:00 on day 1,15 of the month");
	expect_describe("0 0 */10 * *", "at 00:00 on day 1,11,21,31 of the month");
	expect_describe("0 0 * JAN,jul-Sep *", "at 00:00 every day in Jan,Jul-Sep");
	expect_describe("0 0 * */3 *", "at 00:00 every day in Jan,Apr,Jul,Oct");
	expect_describe("0 0 * 2-12/5 *", "at 00:00 every day in Feb,Jul,Dec");
	expect_describe("0 0 * * MON-fri", "at 00:00 on Mon-Fri");
	expect_describe("0 0 * * 7", "at 00:00 on Sun");
	expect_describe("0 0 * * 0", "at 00:00 on Sun");
	expect_describe("0 0 * * 5-7", "at 00:00 on Sun,Fri,Sat");
	expect_describe("0 0 * * 1-7/2", "at 00:00 on Sun,Mon,Wed,Fri");
	expect_describe("0 0 * * sun,sat", "at 00:00 on Sun,Sat");
	expect_describe("0 0 * * */2", "at 00:00 on Sun,Tue,Thu,Sat");
	expect_describe("0 0 13 * fri", "at 00:00 on day 13 of the month or on Fri");
	expect_describe("0 0 */2 * mon", "at 00:00 on day 1,3,5,7,9,11,13,15,17,19,21,23,25,27,"
					 "29,31 of the month if it is a Mon");
	expect_describe("0 0 1-31 * mon", "at 00:00 every day");
	expect_describe("0 0 * * 0-6", "at 00:00 every day");
	expect_describe("0 0 */1 * mon", "at 00:00 on Mon");
	expect_describe("@hourly", "at minute 0 of every hour every day");
	expect_describe("@daily", "at 00:00 every day");
	expect_describe("@midnight", "at 00:00 every day");
	expect_describe("@weekly", "at 00:00 on Sun");
	expect_describe("@monthly", "at 00:00 on day 1 of the month");
	expect_describe("@yearly", "at 00:00 on day 1 of the month in Jan");
	expect_describe("@annually", "at 00:00 on day 1 of the month in Jan");

	mc_cron *c = cron("  */15 * * * *  ");
	assert_string_equal(mc_cron_source(c), "*/15 * * * *");
	assert_true(mc_cron_follows_clock(c));
	mc_cron_free(c);
	const char *fixed[] = {"30 2 * * *", "0 0-23 * * *", "@daily", "@weekly", "0,30 1 * * *"};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		c = cron(fixed[i]);
		assert_false(mc_cron_follows_clock(c));
		mc_cron_free(c);
	}
	const char *clock[] = {"0 * * * *", "@hourly", "* 2 * * *", "0 */2 * * *", "*/1 3 * * *"};
	for (size_t i = 0; i < sizeof clock / sizeof clock[0]; i++) {
		c = cron(clock[i]);
		assert_true(mc_cron_follows_clock(c));
		mc_cron_free(c);
	}
}

/* cronie's rule: OR when both day fields are restricted, AND when one begins with '*'. */
static void test_day_rule(void **state)
{
	(void)state;
	mc_cron *c = cron("0 0 13 * fri");
	mc_local_time fri6 = local(2025, 6, 6, 0, 0, 0), fri13 = local(2025, 6, 13, 0, 0, 0),
		      sun13 = local(2025, 7, 13, 0, 0, 0), sat14 = local(2025, 6, 14, 0, 0, 0);
	assert_true(mc_cron_matches(c, &fri6));
	assert_true(mc_cron_matches(c, &fri13));
	assert_true(mc_cron_matches(c, &sun13));
	assert_false(mc_cron_matches(c, &sat14));
	mc_local_time fri6_1 = local(2025, 6, 6, 0, 1, 0);
	assert_false(mc_cron_matches(c, &fri6_1));
	mc_cron_free(c);
	FIRES("0 0 13 * fri", "UTC", "2025-06-01T00:00:00", "2025-06-06T00:00:00+00:00 UTC",
	      "2025-06-13T00:00:00+00:00 UTC", "2025-06-20T00:00:00+00:00 UTC",
	      "2025-06-27T00:00:00+00:00 UTC", "2025-07-04T00:00:00+00:00 UTC",
	      "2025-07-11T00:00:00+00:00 UTC", "2025-07-13T00:00:00+00:00 UTC");
	/* '*' first in day of month: AND (odd days that are Mondays) */
	FIRES("0 0 */2 * mon", "UTC", "2025-06-01T00:00:00", "2025-06-09T00:00:00+00:00 UTC",
	      "2025-06-23T00:00:00+00:00 UTC", "2025-07-07T00:00:00+00:00 UTC",
	      "2025-07-21T00:00:00+00:00 UTC", "2025-08-11T00:00:00+00:00 UTC");
	/* both restricted, one of them full: OR, so every day */
	FIRES("0 0 1-31 * mon", "UTC", "2025-06-01T00:00:00", "2025-06-02T00:00:00+00:00 UTC",
	      "2025-06-03T00:00:00+00:00 UTC");
	/* 7 is Sunday too */
	FIRES("0 9 * * 7", "UTC", "2025-06-01T09:00:00", "2025-06-08T09:00:00+00:00 UTC");
	FIRES("@weekly", "UTC", "2025-06-01T00:00:00", "2025-06-08T00:00:00+00:00 UTC");
	FIRES("@monthly", "UTC", "2025-06-01T00:00:00", "2025-07-01T00:00:00+00:00 UTC");
	FIRES("@yearly", "UTC", "2025-06-01T00:00:00", "2026-01-01T00:00:00+00:00 UTC");
	FIRES("@hourly", "UTC", "2025-06-01T00:00:00", "2025-06-01T01:00:00+00:00 UTC");
	FIRES("*/20 * * * *", "UTC", "2025-06-01T23:45:10", "2025-06-02T00:00:00+00:00 UTC",
	      "2025-06-02T00:20:00+00:00 UTC");
	/* strictly after: a fire time equal to `after` is not returned again */
	FIRES("0 12 * * *", "UTC", "2025-06-01T12:00:00", "2025-06-02T12:00:00+00:00 UTC");
	FIRES("0 12 * * *", "UTC", "2025-06-01T11:59:59", "2025-06-01T12:00:00+00:00 UTC");
	FIRES("59 23 31 12 *", "UTC", "2025-06-01T00:00:00", "2025-12-31T23:59:00+00:00 UTC",
	      "2026-12-31T23:59:00+00:00 UTC");
}

static void test_month_ends(void **state)
{
	(void)state;
	FIRES("0 0 31 * *", "UTC", "2025-01-01T00:00:00", "2025-01-31T00:00:00+00:00 UTC",
	      "2025-03-31T00:00:00+00:00 UTC", "2025-05-31T00:00:00+00:00 UTC",
	      "2025-07-31T00:00:00+00:00 UTC", "2025-08-31T00:00:00+00:00 UTC",
	      "2025-10-31T00:00:00+00:00 UTC", "2025-12-31T00:00:00+00:00 UTC",
	      "2026-01-31T00:00:00+00:00 UTC");
	FIRES("0 0 30 * *", "UTC", "2025-01-30T00:00:00", "2025-03-30T00:00:00+00:00 UTC");
	FIRES("0 0 29 2 *", "UTC", "2023-01-01T00:00:00", "2024-02-29T00:00:00+00:00 UTC",
	      "2028-02-29T00:00:00+00:00 UTC");
	/* 2100 is not a leap year, 2000 was */
	FIRES("0 0 29 2 *", "UTC", "2096-03-01T00:00:00", "2104-02-29T00:00:00+00:00 UTC");
	FIRES("0 0 29 2 *", "UTC", "1999-01-01T00:00:00", "2000-02-29T00:00:00+00:00 UTC");
	FIRES("0 12 28-31 2 *", "UTC", "2023-02-01T00:00:00", "2023-02-28T12:00:00+00:00 UTC",
	      "2024-02-28T12:00:00+00:00 UTC", "2024-02-29T12:00:00+00:00 UTC",
	      "2025-02-28T12:00:00+00:00 UTC");
	FIRES("0 0 31 4,5 *", "UTC", "2025-01-01T00:00:00", "2025-05-31T00:00:00+00:00 UTC");
	/* in a zone: the last day of the month in local time */
	FIRES("0 23 31 * *", "America/Mexico_City", "2025-01-01T06:00:00",
	      "2025-01-31T23:00:00-06:00 CST", "2025-03-31T23:00:00-06:00 CST");

	/* impossible expressions end with a clear error, never a long search */
	const char *never[][2] = {
		{"0 0 30 2 *",
		 "cron '0 0 30 2 *' never fires: day of month 30 never occurs in Feb"},
		{"0 0 31 4,6,9,11 *",
		 "cron '0 0 31 4,6,9,11 *' never fires: day of month 31 never occurs in "
		 "Apr,Jun,Sep,Nov"},
		{"0 0 30,31 feb mon", NULL}, /* OR rule: every Monday in February */
		{"* * 30-31 2 *",
		 "cron '* * 30-31 2 *' never fires: day of month 30,31 never occurs "
		 "in Feb"},
	};
	mc_tz *tz = zone("America/Mexico_City");
	for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
		mc_cron *c = cron(never[i][0]);
		mc_error err = MC_ERROR_INIT;
		int64_t x = 0;
		mc_code rc = mc_cron_next(c, tz, utc("2025-01-01T00:00:00"), &x, &err);
		if (never[i][1]) {
			assert_int_equal(rc, MC_ERR_NOT_FOUND);
			assert_string_equal(err.msg, never[i][1]);
			size_t n = 9;
			assert_int_equal(mc_cron_between(c, tz, 0, utc("2030-01-01T00:00:00"), NULL,
							 0, &n, NULL, &err),
					 MC_ERR_NOT_FOUND);
			assert_int_equal(n, 0);
		} else {
			assert_int_equal(rc, MC_OK);
			assert_int_equal(x, utc("2025-02-03T06:00:00"));
		}
		mc_cron_free(c);
	}
	/* no fire time left before year 10000 */
	mc_cron *c = cron("0 0 1 1 *");
	mc_error err = MC_ERROR_INIT;
	int64_t x;
	assert_int_equal(mc_cron_next(c, tz, utc("9999-06-01T00:00:00"), &x, &err),
			 MC_ERR_NOT_FOUND);
	assert_string_equal(err.msg, "cron '0 0 1 1 *' in 'America/Mexico_City' does not fire "
				     "before year 10000");
	assert_int_equal(mc_cron_next(c, tz, MC_TZ_TIME_MAX + 1, &x, &err), MC_ERR_INVALID);
	mc_cron_free(c);
	mc_tz_free(tz);
}

/* ---- DST ---- */

static void test_mexico_city(void **state)
{
	(void)state;
	/* The last change: 2022-10-30 02:00 CDT -> 01:00 CST; none since (footer "CST6"). */
	FIRES("30 1 * * *", "America/Mexico_City", "2022-10-29T12:00:00",
	      "2022-10-30T01:30:00-05:00 CDT", "2022-10-31T01:30:00-06:00 CST");
	FIRES("0 * * * *", "America/Mexico_City", "2022-10-30T05:30:00",
	      "2022-10-30T01:00:00-05:00 CDT", "2022-10-30T01:00:00-06:00 CST",
	      "2022-10-30T02:00:00-06:00 CST");
	/* the default: daily at 13:00 Mon/Wed/Fri; no change in April 2023 */
	FIRES("0 13 * * 1,3,5", "America/Mexico_City", "2023-03-30T00:00:00",
	      "2023-03-31T13:00:00-06:00 CST", "2023-04-03T13:00:00-06:00 CST",
	      "2023-04-05T13:00:00-06:00 CST", "2023-04-07T13:00:00-06:00 CST");
	FIRES("0 2 * * *", "America/Mexico_City", "2023-04-01T12:00:00",
	      "2023-04-02T02:00:00-06:00 CST", "2023-04-03T02:00:00-06:00 CST");
	/* before: April 2022 still sprang forward */
	FIRES("30 2 * * *", "America/Mexico_City", "2022-04-02T12:00:00",
	      "2022-04-03T03:00:00-05:00 CDT", "2022-04-04T02:30:00-05:00 CDT");

	mc_tz *tz = zone("America/Mexico_City");
	mc_local_time lt;
	int32_t off = 0;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_tz_to_local(tz, utc("2023-07-01T18:00:00"), &lt, &off, &err), MC_OK);
	assert_int_equal(off, -6 * 3600);
	assert_int_equal(lt.hour, 12);
	bool dst = true;
	assert_string_equal(mc_tz_abbr(tz, utc("2023-07-01T18:00:00"), &dst), "CST");
	assert_false(dst);
	assert_string_equal(mc_tz_abbr(tz, utc("2022-07-01T18:00:00"), &dst), "CDT");
	assert_true(dst);
	mc_local_time l = local(2022, 10, 30, 1, 30, 0);
	int64_t t;
	mc_tz_kind kind;
	assert_int_equal(mc_tz_from_local(tz, &l, MC_TZ_FIRST, &t, &kind, &err), MC_OK);
	assert_int_equal(kind, MC_TZ_AMBIGUOUS);
	l = local(2023, 4, 2, 2, 30, 0);
	assert_int_equal(mc_tz_from_local(tz, &l, MC_TZ_STRICT, &t, &kind, &err), MC_OK);
	assert_int_equal(kind, MC_TZ_NORMAL);
	assert_int_equal(t, utc("2023-04-02T08:30:00"));
	mc_tz_free(tz);
}

static void test_new_york(void **state)
{
	(void)state;
	/* 2025-03-09: 02:00 EST -> 03:00 EDT.  A fixed time in the gap fires at its end. */
	FIRES("30 2 * * *", "America/New_York", "2025-03-08T12:00:00",
	      "2025-03-09T03:00:00-04:00 EDT", "2025-03-10T02:30:00-04:00 EDT");
	FIRES("0 * * * *", "America/New_York", "2025-03-09T05:30:00",
	      "2025-03-09T01:00:00-05:00 EST", "2025-03-09T03:00:00-04:00 EDT",
	      "2025-03-09T04:00:00-04:00 EDT");
	FIRES("*/15 * * * *", "America/New_York", "2025-03-09T06:40:00",
	      "2025-03-09T01:45:00-05:00 EST", "2025-03-09T03:00:00-04:00 EDT",
	      "2025-03-09T03:15:00-04:00 EDT");
	/* several fixed times in the gap fire once, at its end */
	FIRES("0,20,40 2 * * *", "America/New_York", "2025-03-09T06:00:00",
	      "2025-03-09T03:00:00-04:00 EDT", "2025-03-10T02:00:00-04:00 EDT");
	/* 2025-11-02: 02:00 EDT -> 01:00 EST.  A fixed time fires at its first occurrence only. */
	FIRES("30 1 * * *", "America/New_York", "2025-11-01T12:00:00",
	      "2025-11-02T01:30:00-04:00 EDT", "2025-11-03T01:30:00-05:00 EST");
	FIRES("30 2 * * *", "America/New_York", "2025-11-01T12:00:00",
	      "2025-11-02T02:30:00-05:00 EST", "2025-11-03T02:30:00-05:00 EST");
	FIRES("0 * * * *", "America/New_York", "2025-11-02T04:30:00",
	      "2025-11-02T01:00:00-04:00 EDT", "2025-11-02T01:00:00-05:00 EST",
	      "2025-11-02T02:00:00-05:00 EST");
	FIRES("*/15 * * * *", "America/New_York", "2025-11-02T05:40:00",
	      "2025-11-02T01:45:00-04:00 EDT", "2025-11-02T01:00:00-05:00 EST",
	      "2025-11-02T01:15:00-05:00 EST");
	/* asked from inside the repeated hour: the fixed time already fired */
	FIRES("45 1 * * *", "America/New_York", "2025-11-02T06:10:00",
	      "2025-11-03T01:45:00-05:00 EST");
	FIRES("45 * * * *", "America/New_York", "2025-11-02T06:10:00",
	      "2025-11-02T01:45:00-05:00 EST");
	/* asked exactly at the transitions */
	FIRES("30 2 * * *", "America/New_York", "2025-03-09T06:59:59",
	      "2025-03-09T03:00:00-04:00 EDT");
	FIRES("30 2 * * *", "America/New_York", "2025-03-09T07:00:00",
	      "2025-03-10T02:30:00-04:00 EDT");
}

static void test_berlin(void **state)
{
	(void)state;
	/* 2025-03-30: 02:00 CET -> 03:00 CEST; 2025-10-26: 03:00 CEST -> 02:00 CET */
	FIRES("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00",
	      "2025-03-30T03:00:00+02:00 CEST", "2025-03-31T02:30:00+02:00 CEST");
	FIRES("0 * * * *", "Europe/Berlin", "2025-03-29T23:30:00", "2025-03-30T01:00:00+01:00 CET",
	      "2025-03-30T03:00:00+02:00 CEST");
	FIRES("*/15 * * * *", "Europe/Berlin", "2025-03-30T00:40:00",
	      "2025-03-30T01:45:00+01:00 CET", "2025-03-30T03:00:00+02:00 CEST");
	FIRES("30 2 * * *", "Europe/Berlin", "2025-10-25T12:00:00",
	      "2025-10-26T02:30:00+02:00 CEST", "2025-10-27T02:30:00+01:00 CET");
	FIRES("0 * * * *", "Europe/Berlin", "2025-10-25T23:30:00", "2025-10-26T02:00:00+02:00 CEST",
	      "2025-10-26T02:00:00+01:00 CET", "2025-10-26T03:00:00+01:00 CET");
	FIRES("*/15 * * * *", "Europe/Berlin", "2025-10-26T00:40:00",
	      "2025-10-26T02:45:00+02:00 CEST", "2025-10-26T02:00:00+01:00 CET");
}

static void test_lord_howe(void **state)
{
	(void)state;
	/* +11 -> +10:30 on 2025-04-06 at 02:00 (back to 01:30); +10:30 -> +11 on 2025-10-05 at
	 * 02:00 (on to 02:30) */
	FIRES("45 1 * * *", "Australia/Lord_Howe", "2025-04-05T12:00:00",
	      "2025-04-06T01:45:00+11:00 +11", "2025-04-07T01:45:00+10:30 +1030");
	FIRES("*/15 * * * *", "Australia/Lord_Howe", "2025-04-05T14:40:00",
	      "2025-04-06T01:45:00+11:00 +11", "2025-04-06T01:30:00+10:30 +1030",
	      "2025-04-06T01:45:00+10:30 +1030", "2025-04-06T02:00:00+10:30 +1030");
	FIRES("15 2 * * *", "Australia/Lord_Howe", "2025-10-04T12:00:00",
	      "2025-10-05T02:30:00+11:00 +11", "2025-10-06T02:15:00+11:00 +11");
	FIRES("30 2 * * *", "Australia/Lord_Howe", "2025-10-04T12:00:00",
	      "2025-10-05T02:30:00+11:00 +11", "2025-10-06T02:30:00+11:00 +11");
	FIRES("*/15 * * * *", "Australia/Lord_Howe", "2025-10-04T15:10:00",
	      "2025-10-05T01:45:00+10:30 +1030", "2025-10-05T02:30:00+11:00 +11");
	/* southern hemisphere: DST over the new year */
	FIRES("0 12 1 1 *", "Australia/Lord_Howe", "2025-06-01T00:00:00",
	      "2026-01-01T12:00:00+11:00 +11");
}

/* Far beyond the files' transition tables, only the footer rule is left. */
static void test_footer_future(void **state)
{
	(void)state;
	mc_tz *tz = zone("America/New_York");
	assert_true(tz->has_rule);
	assert_true(tz->ntrans == 0 || tz->trans[tz->ntrans - 1] < utc("2100-01-01T00:00:00"));
	mc_tz_free(tz);
	/* 2100-03-14 (second Sunday of March) and 2100-11-07 (first Sunday of November) */
	FIRES("30 2 * * *", "America/New_York", "2100-03-13T12:00:00",
	      "2100-03-14T03:00:00-04:00 EDT", "2100-03-15T02:30:00-04:00 EDT");
	FIRES("0 * * * *", "America/New_York", "2100-11-07T04:30:00",
	      "2100-11-07T01:00:00-04:00 EDT", "2100-11-07T01:00:00-05:00 EST",
	      "2100-11-07T02:00:00-05:00 EST");
	FIRES("0 13 * * 1,3,5", "America/Mexico_City", "2100-03-31T00:00:00",
	      "2100-03-31T13:00:00-06:00 CST", "2100-04-02T13:00:00-06:00 CST");
	/* Europe's last Sunday rule, 2400 (a leap year with Feb 29) */
	FIRES("30 2 * * *", "Europe/Berlin", "2400-03-25T12:00:00",
	      "2400-03-26T03:00:00+02:00 CEST", "2400-03-27T02:30:00+02:00 CEST");
}

static void test_between(void **state)
{
	(void)state;
	mc_tz *tz = zone("America/Mexico_City");
	mc_cron *c = cron("0 13 * * 1,3,5");
	mc_error err = MC_ERROR_INIT;
	int64_t out[8];
	size_t n = 99;
	bool more = true;
	/* Monday 2025-06-02 13:00 CST through Monday 2025-06-09 13:00: after is excluded, until
	 * included */
	int64_t mon = utc("2025-06-02T19:00:00"), next_mon = utc("2025-06-09T19:00:00");
	assert_int_equal(mc_cron_between(c, tz, mon, next_mon, out, 8, &n, &more, &err), MC_OK);
	assert_int_equal(n, 3);
	assert_false(more);
	assert_int_equal(out[0], utc("2025-06-04T19:00:00"));
	assert_int_equal(out[1], utc("2025-06-06T19:00:00"));
	assert_int_equal(out[2], next_mon);
	assert_int_equal(mc_cron_between(c, tz, mon, next_mon, out, 2, &n, &more, &err), MC_OK);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_int_equal(mc_cron_between(c, tz, mon, next_mon, NULL, 0, &n, &more, &err), MC_OK);
	assert_int_equal(n, 0);
	assert_true(more);
	assert_int_equal(mc_cron_between(c, tz, mon, mon, out, 8, &n, &more, &err), MC_OK);
	assert_int_equal(n, 0);
	assert_false(more);
	assert_int_equal(mc_cron_between(c, tz, next_mon, mon, out, 8, &n, NULL, &err), MC_OK);
	assert_int_equal(n, 0);
	mc_cron_free(c);
	mc_tz_free(tz);

	/* a clock-following expression over New York's fall-back night: 26 hours, 26 fires */
	tz = zone("America/New_York");
	c = cron("0 * * * *");
	int64_t all[40];
	assert_int_equal(mc_cron_between(c, tz, utc("2025-11-02T04:00:00"),
					 utc("2025-11-03T06:00:00"), all, 40, &n, &more, &err),
			 MC_OK);
	assert_int_equal(n, 26);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(all[i], utc("2025-11-02T05:00:00") + (int64_t)i * 3600);
	mc_cron_free(c);
	/* a fixed hourly list fires 25 times that night: 01:00 only once */
	c = cron("0 0-23 * * *");
	assert_int_equal(mc_cron_between(c, tz, utc("2025-11-02T04:00:00"),
					 utc("2025-11-03T06:00:00"), all, 40, &n, &more, &err),
			 MC_OK);
	assert_int_equal(n, 25);
	assert_int_equal(all[0], utc("2025-11-02T05:00:00"));
	assert_int_equal(all[1], utc("2025-11-02T07:00:00"));
	mc_cron_free(c);
	mc_tz_free(tz);
}

static void test_from_local(void **state)
{
	(void)state;
	mc_tz *tz = zone("America/New_York");
	mc_error err = MC_ERROR_INIT;
	mc_tz_kind kind;
	int64_t t;
	mc_local_time gap = local(2025, 3, 9, 2, 30, 0), fold = local(2025, 11, 2, 1, 30, 0);
	const struct {
		mc_tz_policy p;
		const char *gap, *fold;
	} cases[] = {
		{MC_TZ_FIRST, "2025-03-09T07:00:00", "2025-11-02T05:30:00"},
		{MC_TZ_SECOND, "2025-03-09T07:00:00", "2025-11-02T06:30:00"},
		{MC_TZ_FOLD0, "2025-03-09T07:30:00", "2025-11-02T05:30:00"},
		{MC_TZ_FOLD1, "2025-03-09T06:30:00", "2025-11-02T06:30:00"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(mc_tz_from_local(tz, &gap, cases[i].p, &t, &kind, &err), MC_OK);
		assert_int_equal(kind, MC_TZ_GAP);
		assert_int_equal(t, utc(cases[i].gap));
		assert_int_equal(mc_tz_from_local(tz, &fold, cases[i].p, &t, &kind, &err), MC_OK);
		assert_int_equal(kind, MC_TZ_AMBIGUOUS);
		assert_int_equal(t, utc(cases[i].fold));
	}
	assert_int_equal(mc_tz_from_local(tz, &gap, MC_TZ_STRICT, &t, NULL, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg, "time zone 'America/New_York': local time 2025-03-09 "
				     "02:30:00 does not exist (the clocks skip it)");
	assert_int_equal(mc_tz_from_local(tz, &fold, MC_TZ_STRICT, &t, NULL, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg, "time zone 'America/New_York': local time 2025-11-02 "
				     "01:30:00 is ambiguous (the clocks go back over it)");
	{
		mc_local_time bad[] = {local(2025, 2, 29, 0, 0, 0), local(2024, 2, 30, 0, 0, 0),
				       local(2025, 13, 1, 0, 0, 0), local(2025, 1, 1, 24, 0, 0),
				       local(2025, 1, 1, 0, 60, 0), local(2025, 1, 1, 0, 0, 60),
				       local(0, 1, 1, 0, 0, 0),	    local(10000, 1, 1, 0, 0, 0)};
		for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
			assert_int_equal(mc_tz_from_local(tz, &bad[i], MC_TZ_FIRST, &t, NULL, &err),
					 MC_ERR_INVALID);
		assert_string_equal(err.msg, "time zone 'America/New_York': invalid local time "
					     "10000-01-01 00:00:00");
	}
	mc_local_time leap = local(2024, 2, 29, 12, 0, 0);
	assert_int_equal(mc_tz_from_local(tz, &leap, MC_TZ_STRICT, &t, &kind, &err), MC_OK);
	assert_int_equal(t, utc("2024-02-29T17:00:00"));
	mc_local_time lt;
	int32_t off;
	assert_int_equal(mc_tz_to_local(tz, t, &lt, &off, &err), MC_OK);
	assert_int_equal(lt.wday, 4); /* a Thursday */
	assert_int_equal(mc_tz_to_local(tz, MC_TZ_TIME_MIN - 1, &lt, &off, &err), MC_ERR_INVALID);
	/* the first instant is before local year 1 in New York */
	assert_int_equal(mc_tz_to_local(tz, MC_TZ_TIME_MIN, &lt, &off, &err), MC_ERR_INVALID);
	char buf[64];
	mc_tz_format(tz, utc("1883-11-18T16:00:00"), buf, sizeof buf);
	assert_string_equal(buf, "1883-11-18T11:03:58-04:56:02 LMT");
	mc_tz_free(tz);

	/* the ends of the range */
	tz = zone("UTC");
	mc_local_time first = local(1, 1, 1, 0, 0, 0), last = local(9999, 12, 31, 23, 59, 59);
	assert_int_equal(mc_tz_from_local(tz, &first, MC_TZ_STRICT, &t, NULL, &err), MC_OK);
	assert_int_equal(t, MC_TZ_TIME_MIN);
	assert_int_equal(mc_tz_from_local(tz, &last, MC_TZ_STRICT, &t, NULL, &err), MC_OK);
	assert_int_equal(t, MC_TZ_TIME_MAX);
	assert_int_equal(mc_tz_to_local(tz, MC_TZ_TIME_MAX, &lt, &off, &err), MC_OK);
	assert_int_equal(lt.year * 10000 + lt.month * 100 + lt.day, 99991231);
	assert_int_equal(lt.wday, 5); /* a Friday */
	mc_cron *c = cron("* * * * *");
	assert_int_equal(mc_cron_next(c, tz, MC_TZ_TIME_MAX - 60, &t, &err), MC_OK);
	assert_int_equal(t, MC_TZ_TIME_MAX - 59);
	assert_int_equal(mc_cron_next(c, tz, MC_TZ_TIME_MAX - 59, &t, &err), MC_ERR_NOT_FOUND);
	assert_int_equal(mc_cron_next(c, tz, MC_TZ_TIME_MIN - 1, &t, &err), MC_ERR_INVALID);
	assert_int_equal(mc_cron_next(c, tz, MC_TZ_TIME_MIN, &t, &err), MC_OK);
	assert_int_equal(t, MC_TZ_TIME_MIN + 60);
	mc_cron_free(c);
	mc_tz_free(tz);
	tz = zone("Europe/Berlin");
	assert_int_equal(mc_tz_from_local(tz, &last, MC_TZ_STRICT, &t, NULL, &err), MC_OK);
	assert_int_equal(t, MC_TZ_TIME_MAX - 3600);
	assert_int_equal(mc_tz_from_local(tz, &first, MC_TZ_STRICT, &t, NULL, &err), MC_OK);
	assert_int_equal(t, MC_TZ_TIME_MIN - 3208); /* Berlin's LMT, +0:53:28 */
	mc_tz_free(tz);
}

/* ---- zone loading ---- */

typedef struct syn_type {
	int32_t utoff;
	int isdst;
	const char *abbr;
} syn_type;

typedef struct syn_zone {
	int version; /* 1..4 */
	const int64_t *trans;
	const uint8_t *idx;
	size_t ntrans;
	const syn_type *types;
	size_t ntypes;
	const char *footer; /* NULL: none (version 1) */
	uint32_t leaps;
} syn_zone;

static void put32(uint8_t **p, uint32_t v)
{
	(*p)[0] = (uint8_t)(v >> 24);
	(*p)[1] = (uint8_t)(v >> 16);
	(*p)[2] = (uint8_t)(v >> 8);
	(*p)[3] = (uint8_t)v;
	*p += 4;
}

/* One header and data block with tsize-byte times. */
static void syn_block(const syn_zone *z, int tsize, uint8_t **p)
{
	char chars[128];
	size_t nchars = 0, at[16] = {0};
	for (size_t i = 0; i < z->ntypes; i++) {
		at[i] = nchars;
		size_t n = strlen(z->types[i].abbr) + 1;
		memcpy(chars + nchars, z->types[i].abbr, n);
		nchars += n;
	}
	memcpy(*p, "TZif", 4);
	(*p)[4] = z->version == 1 ? 0 : (uint8_t)('0' + z->version);
	memset(*p + 5, 0, 15);
	*p += 20;
	put32(p, (uint32_t)z->ntypes); /* isut */
	put32(p, (uint32_t)z->ntypes); /* isstd */
	put32(p, z->leaps);
	put32(p, (uint32_t)z->ntrans);
	put32(p, (uint32_t)z->ntypes);
	put32(p, (uint32_t)nchars);
	for (size_t i = 0; i < z->ntrans; i++) {
		if (tsize == 8)
			put32(p, (uint32_t)((uint64_t)z->trans[i] >> 32));
		put32(p, (uint32_t)z->trans[i]);
	}
	for (size_t i = 0; i < z->ntrans; i++)
		*(*p)++ = z->idx[i];
	for (size_t i = 0; i < z->ntypes; i++) {
		put32(p, (uint32_t)z->types[i].utoff);
		*(*p)++ = (uint8_t)z->types[i].isdst;
		*(*p)++ = (uint8_t)at[i];
	}
	memcpy(*p, chars, nchars);
	*p += nchars;
	memset(*p, 0, z->leaps * (size_t)(tsize + 4));
	*p += z->leaps * (size_t)(tsize + 4);
	memset(*p, 0, 2 * z->ntypes);
	*p += 2 * z->ntypes;
}

static size_t syn_build(const syn_zone *z, uint8_t *buf)
{
	uint8_t *p = buf;
	syn_block(z, 4, &p);
	if (z->version > 1) {
		syn_block(z, 8, &p);
		p += sprintf((char *)p, "\n%s\n", z->footer ? z->footer : "");
	}
	return (size_t)(p - buf);
}

static void write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t buf[1 << 16];
	*n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	void *copy = malloc(*n);
	memcpy(copy, buf, *n);
	return copy;
}

static void expect_bad(const void *data, size_t n, mc_code code, const char *want)
{
	mc_error err = MC_ERROR_INIT;
	mc_tz *tz = (mc_tz *)1;
	assert_int_equal(mc_tz_parse(data, n, "Test/Zone", &tz, &err), code);
	assert_null(tz);
	if (!strstr(err.msg, want))
		fail_msg("got \"%s\", want it to contain \"%s\"", err.msg, want);
}

static const syn_type std_dst[] = {{-18000, 0, "EST"}, {-14400, 1, "EDT"}};
static const int64_t two_trans[] = {1000000, 2000000};
static const uint8_t two_idx[] = {1, 0};

static void test_tzif_errors(void **state)
{
	(void)state;
	size_t n;
	uint8_t *ny = read_all("/usr/share/zoneinfo/America/New_York", &n);
	mc_error err = MC_ERROR_INIT;
	mc_tz *tz;
	assert_int_equal(mc_tz_parse(ny, n, "NY", &tz, &err), MC_OK);
	assert_string_equal(mc_tz_name(tz), "NY");
	mc_tz_free(tz);
	/* every prefix of a good file is refused as truncated */
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(mc_tz_parse(ny, k, "NY", &tz, &err), MC_ERR_FORMAT);
		if (!strstr(err.msg, "truncated"))
			fail_msg("prefix of %zu bytes: %s", k, err.msg);
	}
	assert_int_equal(mc_tz_parse(ny, 100, "NY", &tz, &err), MC_ERR_FORMAT);
	assert_string_equal(err.msg, "time zone 'NY': truncated: the version 1 data needs 1248 "
				     "bytes at offset 44, the file has 100");
	uint8_t *copy = malloc(n + 8);
	memcpy(copy, ny, n);
	memcpy(copy + n, "garbage", 7);
	expect_bad(copy, n + 7, MC_ERR_FORMAT, "7 unexpected bytes after the footer");
	memcpy(copy, ny, n);
	copy[0] = 'X';
	expect_bad(copy, n, MC_ERR_FORMAT, "bad magic at offset 0 (not a TZif file)");
	memcpy(copy, ny, n);
	copy[4] = '9';
	expect_bad(copy, n, MC_ERR_UNSUPPORTED, "unsupported TZif version byte 0x39");
	memcpy(copy, ny, n);
	memcpy(copy + n - 8, "M11.1.x", 7); /* the footer ends "M11.1.0\n" */
	expect_bad(copy, n, MC_ERR_FORMAT,
		   "bad footer 'EST5EDT,M3.2.0,M11.1.x': Mm.w.d needs a weekday 0-6 at column 16");
	memcpy(copy, ny, n);
	copy[n - 1] = 'X';
	expect_bad(copy, n, MC_ERR_FORMAT, "truncated: the footer has no closing newline");
	free(copy);
	free(ny);

	uint8_t garbage[4096];
	uint64_t x = 88172645463325252u;
	for (size_t i = 0; i < sizeof garbage; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		garbage[i] = (uint8_t)x;
	}
	expect_bad(garbage, sizeof garbage, MC_ERR_FORMAT, "bad magic");
	memcpy(garbage, "TZif2", 5); /* random counts: too large for the bytes, or invalid */
	assert_int_not_equal(mc_tz_parse(garbage, sizeof garbage, "G", &tz, &err), MC_OK);
	expect_bad("", 0, MC_ERR_FORMAT, "truncated: the header needs 44 bytes");

	uint8_t buf[4096];
	syn_zone z = {2, two_trans, two_idx, 2, std_dst, 2, "EST5EDT,M3.2.0,M11.1.0", 0};
	n = syn_build(&z, buf);
	assert_int_equal(mc_tz_parse(buf, n, "S", &tz, &err), MC_OK);
	mc_tz_free(tz);
	z.leaps = 1;
	n = syn_build(&z, buf);
	expect_bad(buf, n, MC_ERR_UNSUPPORTED, "1 leap-second records (a \"right/\" zone)");
	z.leaps = 0;
	const uint8_t bad_idx[] = {1, 2};
	z.idx = bad_idx;
	n = syn_build(&z, buf);
	expect_bad(buf, n, MC_ERR_FORMAT, "transition 1 uses type 2, beyond the 2 types");
	z.idx = two_idx;
	const int64_t backwards[] = {2000000, 1000000};
	z.trans = backwards;
	n = syn_build(&z, buf);
	expect_bad(buf, n, MC_ERR_FORMAT, "transition 1 (1000000) is not after the one before");
	z.trans = two_trans;
	const syn_type wild[] = {{-18000, 0, "EST"}, {100000, 1, "EDT"}};
	z.types = wild;
	n = syn_build(&z, buf);
	expect_bad(buf, n, MC_ERR_FORMAT, "type 1 has UT offset 100000 s, beyond 26 hours");
	const syn_type dst2[] = {{-18000, 0, "EST"}, {-14400, 2, "EDT"}};
	z.types = dst2;
	n = syn_build(&z, buf);
	expect_bad(buf, n, MC_ERR_FORMAT, "type 1 has isdst 2 (must be 0 or 1)");
	z.types = std_dst;
	z.footer = "EST5EDT";
	n = syn_build(&z, buf);
	expect_bad(buf, n, MC_ERR_FORMAT,
		   "bad footer 'EST5EDT': DST needs ',start,end' rules at "
		   "column 8");
	z.footer = "EST";
	n = syn_build(&z, buf);
	expect_bad(buf, n, MC_ERR_FORMAT, "bad footer 'EST': expected a number at column 4");
	z.footer = "";
	n = syn_build(&z, buf);
	assert_int_equal(mc_tz_parse(buf, n, "S", &tz, &err), MC_OK); /* empty footer: allowed */
	assert_int_equal(mc_tz_to_local(tz, 3000000, &(mc_local_time){0}, &(int32_t){0}, &err),
			 MC_OK);
	assert_string_equal(mc_tz_abbr(tz, 3000000, NULL), "EST");
	assert_string_equal(mc_tz_abbr(tz, 1500000, NULL), "EDT");
	assert_string_equal(mc_tz_abbr(tz, 0, NULL), "EST");
	mc_tz_free(tz);
	/* the same data as version 1: no footer at all */
	z.version = 1;
	n = syn_build(&z, buf);
	assert_int_equal(mc_tz_parse(buf, n, "S", &tz, &err), MC_OK);
	assert_string_equal(mc_tz_abbr(tz, 1500000, NULL), "EDT");
	mc_tz_free(tz);
}

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/mc-cron-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

static void test_names_and_dirs(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_tz *tz = (mc_tz *)1;
	const char *invalid[][2] = {
		{"../etc/passwd", "'.' and '..' components are not allowed"},
		{"America/../../etc/passwd", "'.' and '..' components are not allowed"},
		{"./UTC", "'.' and '..' components are not allowed"},
		{"/etc/localtime", "absolute paths are not zone names"},
		{"", "the name is empty"},
		{"America//New_York", "empty path component"},
		{"America/", "empty path component"},
		{"America/New York", "only letters, digits and \"/_-+.\" may appear"},
		{"America/New_York\n", "only letters, digits and \"/_-+.\" may appear"},
	};
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
		assert_int_equal(mc_tz_load(invalid[i][0], &tz, &err), MC_ERR_INVALID);
		assert_null(tz);
		if (!strstr(err.msg, invalid[i][1]))
			fail_msg("'%s': %s", invalid[i][0], err.msg);
	}
	assert_int_equal(mc_tz_load("America/Atlantis", &tz, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "time zone 'America/Atlantis': cannot open "));
	assert_int_equal(mc_tz_load("America", &tz, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "is a directory of zones, not a zone"));
	/* a good zone name with '+' and '-' */
	tz = zone("Etc/GMT+5");
	assert_string_equal(mc_tz_abbr(tz, 0, NULL), "-05");
	mc_tz_free(tz);

	/* $TZDIR: our own files; UTC needs none */
	make_tmpdir();
	const char *old = getenv("TZDIR");
	char *saved = old ? strdup(old) : NULL;
	setenv("TZDIR", tmpdir, 1);
	assert_int_equal(mc_tz_load("America/New_York", &tz, &err), MC_ERR_NOT_FOUND);
	char want[256];
	snprintf(want, sizeof want, "cannot open '%s/America/New_York'", tmpdir);
	assert_non_null(strstr(err.msg, want));
	tz = zone("UTC");
	mc_local_time lt;
	int32_t off = 1;
	assert_int_equal(mc_tz_to_local(tz, 1700000000, &lt, &off, &err), MC_OK);
	assert_int_equal(off, 0);
	assert_int_equal(lt.year, 2023);
	assert_int_equal(lt.hour, 22);
	assert_string_equal(mc_tz_abbr(tz, 0, NULL), "UTC");
	mc_tz_free(tz);
	tz = zone("Etc/UTC");
	mc_tz_free(tz);
	uint8_t buf[4096];
	syn_zone z = {3, two_trans, two_idx, 2, std_dst, 2, "EST5EDT,M3.2.0,M11.1.0", 0};
	size_t n = syn_build(&z, buf);
	char path[160];
	snprintf(path, sizeof path, "%s/Test", tmpdir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/Test/Zone", tmpdir);
	write_file(path, buf, n);
	tz = zone("Test/Zone");
	assert_string_equal(mc_tz_name(tz), "Test/Zone");
	assert_string_equal(mc_tz_abbr(tz, utc("2030-07-01T00:00:00"), NULL), "EDT");
	mc_tz_free(tz);
	assert_int_equal(mc_tz_load_file(path, &tz, &err), MC_OK);
	assert_string_equal(mc_tz_name(tz), path);
	mc_tz_free(tz);
	write_file(path, buf, 50);
	assert_int_equal(mc_tz_load("Test/Zone", &tz, &err), MC_ERR_FORMAT);
	snprintf(want, sizeof want, "time zone 'Test/Zone' (%s): truncated: ", path);
	if (strncmp(err.msg, want, strlen(want)) != 0)
		fail_msg("%s", err.msg);
	if (saved) {
		setenv("TZDIR", saved, 1);
		free(saved);
	} else {
		unsetenv("TZDIR");
	}
	remove_tmpdir();
}

static void test_posix_strings(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_tz *tz;
	char buf[64];
	/* as New York's footer */
	assert_int_equal(mc_tz_posix("EST5EDT,M3.2.0,M11.1.0", &tz, &err), MC_OK);
	mc_tz_format(tz, utc("2100-03-14T07:00:00"), buf, sizeof buf);
	assert_string_equal(buf, "2100-03-14T03:00:00-04:00 EDT");
	mc_tz_format(tz, utc("2100-03-14T06:59:59"), buf, sizeof buf);
	assert_string_equal(buf, "2100-03-14T01:59:59-05:00 EST");
	mc_tz_free(tz);
	/* quoted names, hh:mm offsets, east of Greenwich */
	assert_int_equal(mc_tz_posix("<+0330>-3:30", &tz, &err), MC_OK);
	mc_tz_format(tz, 0, buf, sizeof buf);
	assert_string_equal(buf, "1970-01-01T03:30:00+03:30 +0330");
	mc_tz_free(tz);
	assert_int_equal(mc_tz_posix("<-03>3", &tz, &err), MC_OK);
	mc_tz_format(tz, 0, buf, sizeof buf);
	assert_string_equal(buf, "1969-12-31T21:00:00-03:00 -03");
	mc_tz_free(tz);
	/* Jn (Feb 29 not counted) and n (counted), explicit DST offset, times with seconds */
	assert_int_equal(mc_tz_posix("AAA-1:00:30BBB-3,J60/1:02:03,300/-1", &tz, &err), MC_OK);
	mc_tz_format(tz, utc("2024-03-01T00:00:00"), buf, sizeof buf); /* J60 = Mar 1 */
	assert_string_equal(buf, "2024-03-01T01:00:30+01:00:30 AAA");
	mc_tz_format(tz, utc("2024-03-01T00:01:33"), buf, sizeof buf); /* 01:02:03 AAA */
	assert_string_equal(buf, "2024-03-01T03:01:33+03:00 BBB");
	/* day 300 of 2024 (zero-based, Feb 29 counted) is Oct 27; at -1:00 BBB = Oct 26 20:00Z */
	mc_tz_format(tz, utc("2024-10-26T19:59:59"), buf, sizeof buf);
	assert_string_equal(buf, "2024-10-26T22:59:59+03:00 BBB");
	mc_tz_format(tz, utc("2024-10-26T20:00:00"), buf, sizeof buf);
	assert_string_equal(buf, "2024-10-26T21:00:30+01:00:30 AAA");
	mc_tz_free(tz);
	/* J59 is Feb 28 and n0 is Jan 1 in every year (zoneinfo 3.11 gets both a day off) */
	assert_int_equal(mc_tz_posix("AAA0BBB,J59/0,0/0", &tz, &err), MC_OK);
	assert_string_equal(mc_tz_abbr(tz, utc("2024-02-27T23:59:59"), NULL), "AAA");
	assert_string_equal(mc_tz_abbr(tz, utc("2024-02-28T00:00:00"), NULL), "BBB");
	assert_string_equal(mc_tz_abbr(tz, utc("2024-12-31T22:59:59"), NULL), "BBB");
	assert_string_equal(mc_tz_abbr(tz, utc("2024-12-31T23:00:00"), NULL), "AAA");
	mc_tz_free(tz);
	/* DST all year (RFC 8536 section 3.3.1's example) */
	assert_int_equal(mc_tz_posix("EST5EDT,0/0,J365/25", &tz, &err), MC_OK);
	for (int y = 2020; y < 2030; y++) {
		char iso[32];
		snprintf(iso, sizeof iso, "%d-01-01T04:30:00", y);
		bool dst = false;
		assert_string_equal(mc_tz_abbr(tz, utc(iso), &dst), "EDT");
		assert_true(dst);
	}
	mc_local_time lt = local(2025, 1, 1, 0, 30, 0);
	int64_t t;
	mc_tz_kind kind;
	assert_int_equal(mc_tz_from_local(tz, &lt, MC_TZ_STRICT, &t, &kind, &err), MC_OK);
	assert_int_equal(kind, MC_TZ_NORMAL);
	mc_tz_free(tz);
	/* southern hemisphere: DST from October to March */
	assert_int_equal(mc_tz_posix("<-04>4<-03>,M9.1.6/24,M4.1.6/24", &tz, &err), MC_OK);
	assert_string_equal(mc_tz_abbr(tz, utc("2030-01-15T00:00:00"), NULL), "-03");
	assert_string_equal(mc_tz_abbr(tz, utc("2030-06-15T00:00:00"), NULL), "-04");
	mc_tz_free(tz);

	const char *bad[][2] = {
		{"", "a zone name needs at least 3 characters at column 1"},
		{"E5", "a zone name needs at least 3 characters at column 1"},
		{"EST", "expected a number at column 4"},
		{"EST25", "hours above 24 at column 4"},
		{"EST5:7", "minutes must be 00-59 at column 6"},
		{"EST5:60", "minutes must be 00-59 at column 6"},
		{"<EST5", "a quoted name must be letters, digits, '+' or '-' closed by '>' at "
			  "column 6"},
		{"EST5EDT,M3.2.0", "expected ',' and the end of DST at column 15"},
		{"EST5EDT,M13.2.0,M11.1.0", "Mm.w.d needs a month 1-12 at column 9"},
		{"EST5EDT,M3.6.0,M11.1.0", "Mm.w.d needs a week 1-5 at column 9"},
		{"EST5EDT,J0,J365", "Jn needs a day 1-365 at column 9"},
		{"EST5EDT,366,0", "expected a day: Jn, n or Mm.w.d at column 9"},
		{"EST5EDT,M3.2.0/168,M11.1.0", "hours above 167 at column 16"},
		{"EST5EDT,M3.2.0,M11.1.0x", "unexpected text at column 23"},
		{"EST5 EDT", "a zone name needs at least 3 characters at column 5"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		tz = (mc_tz *)1;
		assert_int_equal(mc_tz_posix(bad[i][0], &tz, &err), MC_ERR_INVALID);
		assert_null(tz);
		char want[200];
		snprintf(want, sizeof want, "bad POSIX TZ string '%s': %s", bad[i][0], bad[i][1]);
		if (strcmp(err.msg, want) != 0)
			fail_msg("got \"%s\", want \"%s\"", err.msg, want);
	}
}

/* ---- against Python's zoneinfo ---- */

static bool oracle_available(void)
{
	return system(PYTHON " -c 'import zoneinfo; zoneinfo.ZoneInfo(\"America/New_York\")' "
			     ">/dev/null 2>&1") == 0;
}

static uint64_t rng = 0x2545f4914f6cdd1du;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t rnd_between(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo));
}

typedef struct oracle_run {
	FILE *cases;
	char (*want)[160]; /* ours, in the oracle's format */
	char (*label)[96];
	size_t n, cap;
} oracle_run;

static size_t run_add(oracle_run *o)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 4096;
		o->want = realloc(o->want, o->cap * sizeof *o->want);
		o->label = realloc(o->label, o->cap * sizeof *o->label);
		assert_non_null(o->want);
		assert_non_null(o->label);
	}
	return o->n++;
}

static void case_to_local(oracle_run *o, const mc_tz *tz, const char *key, int64_t t)
{
	mc_local_time lt;
	int32_t off;
	mc_error err = MC_ERROR_INIT;
	if (mc_tz_to_local(tz, t, &lt, &off, &err) != MC_OK)
		fail_msg("%s: %s", key, err.msg);
	bool dst;
	const char *abbr = mc_tz_abbr(tz, t, &dst);
	size_t i = run_add(o);
	fprintf(o->cases, "L %s %lld\n", key, (long long)t);
	snprintf(o->want[i], sizeof o->want[i], "%d %d %d %d %d %d %d %d %d %s", lt.year, lt.month,
		 lt.day, lt.hour, lt.minute, lt.second, lt.wday, off, dst, abbr);
	snprintf(o->label[i], sizeof o->label[i], "%s at %lld", key, (long long)t);
}

static void case_from_local(oracle_run *o, const mc_tz *tz, const char *key, int64_t L)
{
	mc_local_time lt;
	mc_error err = MC_ERROR_INIT;
	assert_true(tz_civil_fields(L, &lt));
	int64_t t0, t1;
	mc_tz_kind k;
	if (mc_tz_from_local(tz, &lt, MC_TZ_FOLD0, &t0, &k, &err) != MC_OK ||
	    mc_tz_from_local(tz, &lt, MC_TZ_FOLD1, &t1, NULL, &err) != MC_OK)
		fail_msg("%s: %s", key, err.msg);
	size_t i = run_add(o);
	fprintf(o->cases, "U %s %d %d %d %d %d %d\n", key, lt.year, lt.month, lt.day, lt.hour,
		lt.minute, lt.second);
	snprintf(o->want[i], sizeof o->want[i], "%lld %lld %c", (long long)t0, (long long)t1,
		 k == MC_TZ_NORMAL ? 'N'
		 : k == MC_TZ_GAP  ? 'G'
				   : 'A');
	snprintf(o->label[i], sizeof o->label[i], "%s local %04d-%02d-%02d %02d:%02d:%02d", key,
		 lt.year, lt.month, lt.day, lt.hour, lt.minute, lt.second);
}

/* Random instants and wall-clock times, and the neighbourhood of every change from lo to hi. */
static void zone_cases(oracle_run *o, const mc_tz *tz, const char *key, int64_t lo, int64_t hi,
		       int nrandom)
{
	for (int i = 0; i < nrandom; i++) {
		case_to_local(o, tz, key, rnd_between(lo, hi));
		case_from_local(o, tz, key, rnd_between(lo, hi));
	}
	tz_span sp;
	tz_span_at(tz, lo, &sp);
	while (sp.end != TZ_NEVER_AFTER && sp.end < hi) {
		int64_t T = sp.end;
		tz_span_at(tz, T, &sp);
		for (int64_t d = -1; d <= 1; d++)
			case_to_local(o, tz, key, T + d);
		int64_t a = T + sp.utoff_before, b = T + sp.utoff;
		int64_t pts[] = {a - 1, a, a + 1, (a + b) / 2, b - 1, b, b + 1, a - 3600, b + 3600};
		for (size_t k = 0; k < sizeof pts / sizeof pts[0]; k++)
			case_from_local(o, tz, key, pts[k]);
	}
}

static void run_check(oracle_run *o, const char *dir)
{
	assert_int_equal(fclose(o->cases), 0);
	char cmd[256];
	snprintf(cmd, sizeof cmd, PYTHON " " ORACLE " %s/cases.txt", dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[256];
	size_t bad = 0;
	for (size_t i = 0; i < o->n; i++) {
		if (!fgets(line, sizeof line, p))
			fail_msg("oracle stopped after %zu of %zu lines", i, o->n);
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, o->want[i]) != 0 && bad++ < 10)
			print_error("%s: ours '%s', zoneinfo '%s'\n", o->label[i], o->want[i],
				    line);
	}
	assert_int_equal(pclose(p), 0);
	if (bad)
		fail_msg("%zu of %zu conversions differ from zoneinfo", bad, o->n);
	print_message("%zu conversions agree with zoneinfo\n", o->n);
	free(o->want);
	free(o->label);
}

static void test_zones_vs_zoneinfo(void **state)
{
	(void)state;
	if (!oracle_available())
		skip();
	static const char *const zones[] = {
		"America/Mexico_City", "America/New_York",   "Europe/Berlin",
		"Australia/Lord_Howe", "America/Santiago",   "Europe/Dublin",
		"Africa/Casablanca",   "Pacific/Apia",	     "Asia/Kolkata",
		"Asia/Kathmandu",      "America/St_Johns",   "Pacific/Chatham",
		"Antarctica/Troll",    "Europe/London",	     "America/Sao_Paulo",
		"Asia/Tehran",	       "America/Havana",     "Asia/Gaza",
		"America/Nuuk",	       "Pacific/Kiritimati", "America/Tijuana",
		"America/Cancun",      "America/Chihuahua",  "Etc/GMT-14",
	};
	make_tmpdir();
	oracle_run o = {0};
	char path[128];
	snprintf(path, sizeof path, "%s/cases.txt", tmpdir);
	o.cases = fopen(path, "w");
	assert_non_null(o.cases);
	int64_t lo = utc("1850-01-01T00:00:00"), hi = utc("2450-01-01T00:00:00");
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		mc_tz *tz = zone(zones[i]);
		zone_cases(&o, tz, zones[i], lo, hi, 300);
		mc_tz_free(tz);
	}
	run_check(&o, tmpdir);
	remove_tmpdir();
}

/* TZif files built here: version 1, and footers zoneinfo reads its own way. */
static void test_files_vs_zoneinfo(void **state)
{
	(void)state;
	if (!oracle_available())
		skip();
	static const syn_type one[] = {{-25200, 0, "MST"}};
	static const syn_type rules[] = {{-17762, 0, "LMT"}, {-18000, 0, "EST"}};
	static const int64_t lmt_end[] = {-2717650800};
	static const uint8_t to_est[] = {1};
	static const syn_type hms[] = {{3600, 0, "AAA"}, {12600, 1, "BBB"}};
	static const struct {
		syn_zone z;
	} files[] = {
		/* version 1: the table only */
		{{1, two_trans, two_idx, 2, std_dst, 2, NULL, 0}},
		/* version 2, no transitions: the footer from the start */
		{{2, NULL, NULL, 0, one, 1, "MST7MDT,M3.2.0,M11.1.0", 0}},
		{{2, NULL, NULL, 0, one, 1, "MST7", 0}},
		{{2, NULL, NULL, 0, one, 1, "<+0330>-3:30<+0430>,J79/24,J263/24", 0}},
		{{3, NULL, NULL, 0, one, 1, "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", 0}},
		{{3, NULL, NULL, 0, one, 1, "IST-2IDT,M3.4.4/26,M10.5.0", 0}},
		{{3, NULL, NULL, 0, one, 1, "XXX-10YYY-11,J281/2:30:15,J95/3", 0}},
		{{3, NULL, NULL, 0, one, 1, "EST5EDT,0/0,J365/25", 0}},
		{{4, NULL, NULL, 0, one, 1, "<+13>-13<+14>,M9.5.0/3,M4.1.0/4", 0}},
		/* a table, then the footer */
		{{2, lmt_end, to_est, 1, rules, 2, "EST5EDT,M4.1.0,M10.5.0", 0}},
		{{2, two_trans, two_idx, 2, hms, 2, "AAA-1BBB-3:30,M3.5.0/1,M10.5.0/2:30", 0}},
	};
	make_tmpdir();
	oracle_run o = {0};
	char path[128];
	snprintf(path, sizeof path, "%s/cases.txt", tmpdir);
	o.cases = fopen(path, "w");
	assert_non_null(o.cases);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		uint8_t buf[4096];
		size_t n = syn_build(&files[i].z, buf);
		snprintf(path, sizeof path, "%s/zone%zu", tmpdir, i);
		write_file(path, buf, n);
		mc_tz *tz;
		mc_error err = MC_ERROR_INIT;
		if (mc_tz_load_file(path, &tz, &err) != MC_OK)
			fail_msg("file %zu: %s", i, err.msg);
		zone_cases(&o, tz, path, utc("1900-01-01T00:00:00"), utc("2200-01-01T00:00:00"),
			   200);
		mc_tz_free(tz);
	}
	run_check(&o, tmpdir);
	remove_tmpdir();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_syntax_forms),
		cmocka_unit_test(test_day_rule),
		cmocka_unit_test(test_month_ends),
		cmocka_unit_test(test_mexico_city),
		cmocka_unit_test(test_new_york),
		cmocka_unit_test(test_berlin),
		cmocka_unit_test(test_lord_howe),
		cmocka_unit_test(test_footer_future),
		cmocka_unit_test(test_between),
		cmocka_unit_test(test_from_local),
		cmocka_unit_test(test_tzif_errors),
		cmocka_unit_test(test_names_and_dirs),
		cmocka_unit_test(test_posix_strings),
		cmocka_unit_test(test_zones_vs_zoneinfo),
		cmocka_unit_test(test_files_vs_zoneinfo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
