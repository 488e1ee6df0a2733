/*
 * Unit tests of the scheduler's pure logic (src/cli/schedule.c): the config
 * file and each kind of mistake in it, fire keys, catch-up plans (none,
 * latest, all with its cap, due versus missed fires, thousands of fires,
 * a DST change), a fire's parameters, --now times and the per-flow queue
 * with its collapsing.
 *
 * schedule.c belongs to the milkcast program, not to the library the unit
 * tests link, so it is compiled into this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sched/schedule.h"

/* 2025-03-03 (a Monday) 13:00 UTC and friends. */
#define MON_0303 1741006800LL
#define DAY 86400LL
#define FRI_0314 (MON_0303 + 11 * DAY)

static mc_sched_config *parse_ok(const char *text)
{
	mc_sched_config *c = NULL;
	mc_error err = MC_ERROR_INIT;
	mc_code rc = mc_sched_config_parse(text, "s.conf", &c, &err);
	if (rc)
		fail_msg("parse failed: %s", err.msg);
	return c;
}

/* ---- the config ---- */

static void test_default_config(void **state)
{
	(void)state;
	mc_sched_config *c = parse_ok(mc_sched_default_config);
	assert_int_equal(c->n, 2);
	assert_string_equal(c->tz_name, "America/Mexico_City");
	assert_int_equal(c->catch_up, MC_CATCH_UP_LATEST);
	assert_int_equal(c->max_catch_up, 10);
	const mc_schedule *d = &c->items[0], *t = &c->items[1];
	assert_string_equal(d->name, "daily");
	assert_string_equal(d->flow, "daily");
	assert_string_equal(mc_cron_source(d->cron), "0 13 * * 1,3,5");
	assert_string_equal(mc_tz_name(d->tz), "America/Mexico_City");
	assert_string_equal(t->name, "train");
	assert_string_equal(mc_cron_source(t->cron), "0 6 * * 0");
	assert_true(d->enabled && t->enabled);
	assert_int_equal(t->catch_up, MC_CATCH_UP_LATEST);
	mc_sched_config_free(c);
}

static void test_full_config(void **state)
{
	(void)state;
	mc_sched_config *c = parse_ok("# comment\r\n"
				      "timezone = UTC\r\n"
				      "catch_up = none\n"
				      "max_catch_up = 3\n"
				      "\n"
				      "; another comment\n"
				      "[morning]\n"
				      "  flow   =   daily  \n"
				      "cron = 0 13 * * 1-5\n"
				      "params = fetch=false alerts=false base_url=http://x/a=b\n"
				      "timezone = America/New_York\n"
				      "catch_up = all\n"
				      "\n"
				      "[train]\n"
				      "cron = @weekly\n"
				      "enabled = no\n"
				      "params =\n");
	assert_int_equal(c->n, 2);
	const mc_schedule *m = &c->items[0], *t = &c->items[1];
	assert_string_equal(m->flow, "daily");
	assert_int_equal(m->line, 7);
	assert_int_equal(m->flow_line, 8);
	assert_int_equal(m->params_line, 10);
	assert_string_equal(json_string_value(json_object_get(m->params, "base_url")),
			    "http://x/a=b");
	assert_string_equal(json_string_value(json_object_get(m->params, "fetch")), "false");
	assert_int_equal(json_object_size(m->params), 3);
	assert_string_equal(m->tz_name, "America/New_York");
	assert_int_equal(m->catch_up, MC_CATCH_UP_ALL);
	assert_int_equal(m->max_catch_up, 3);  /* inherited */
	assert_string_equal(t->flow, "train"); /* the section's name */
	assert_int_equal(t->flow_line, 0);
	assert_false(t->enabled);
	assert_string_equal(t->tz_name, "UTC");
	assert_int_equal(t->catch_up, MC_CATCH_UP_NONE);
	assert_int_equal(json_object_size(t->params), 0);
	mc_sched_config_free(c);
}

static void test_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"[d]\ncron = 0 13 * * *\ncolour = red\n", "s.conf:3: unknown key 'colour' in [d]"},
		{"colour = red\n", "s.conf:1: unknown key 'colour' before the first [schedule]"},
		{"flow = daily\n", "s.conf:1: unknown key 'flow' before the first"},
		{"[d]\ncron = 0 25 * * *\n",
		 "s.conf:2: key 'cron' in [d]: cron '0 25 * * *': field 2 (hour): 25 is out of "
		 "range 0-23 at column 3"},
		{"[d]\ncron = 0 0 30 2 *\n",
		 "s.conf:2: key 'cron' in [d]: cron '0 0 30 2 *' never"},
		{"[d]\ncron = @daily\ntimezone = Mars/Olympus\n",
		 "s.conf:3: key 'timezone' in [d]: time zone 'Mars/Olympus'"},
		{"timezone = ../etc/passwd\n[d]\ncron = @daily\n", "s.conf:1: key 'timezone': "},
		{"[d]\ncron = @daily\ncron = @hourly\n",
		 "s.conf:3: key 'cron' in [d]: given twice (first on line 2)"},
		{"[d]\ncron = @daily\n[d]\ncron = @daily\n",
		 "s.conf:3: schedule [d] is defined twice (first on line 1)"},
		{"[d]\nflow = daily\n", "s.conf:1: schedule [d] has no 'cron'"},
		{"[Big Name]\n", "s.conf:1: schedule name 'Big Name' must be"},
		{"[d\n", "s.conf:1: a section is '[NAME]'"},
		{"[d]\ncron 0 13 * * *\n", "s.conf:2: expected 'key = value' or '[schedule]'"},
		{"[d]\ncron = @daily\ncatch_up = sometimes\n",
		 "s.conf:3: key 'catch_up' in [d]: 'sometimes' is not none, latest or all"},
		{"max_catch_up = 1001\n[d]\ncron = @daily\n",
		 "s.conf:1: key 'max_catch_up': '1001' is not a whole number from 0 to 1000"},
		{"[d]\ncron = @daily\nenabled = perhaps\n",
		 "s.conf:3: key 'enabled' in [d]: 'perhaps' is not true or false"},
		{"[d]\ncron = @daily\nparams = fetch\n",
		 "s.conf:3: key 'params' in [d]: 'fetch' is "
		 "not KEY=VALUE"},
		{"[d]\ncron = @daily\nparams = a=1 a=2\n",
		 "s.conf:3: key 'params' in [d]: parameter 'a' is given twice"},
		{"[d]\ncron = @daily\nflow =\n", "s.conf:3: key 'flow' in [d]: no value"},
		{"# only a comment\n", "s.conf: no schedule"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		mc_sched_config *c = (mc_sched_config *)1;
		mc_error err = MC_ERROR_INIT;
		mc_code rc = mc_sched_config_parse(cases[i].text, "s.conf", &c, &err);
		if (!rc || !strstr(err.msg, cases[i].want))
			fail_msg("case %zu: rc %d, message '%s', expected '%s'", i, rc, err.msg,
				 cases[i].want);
		assert_null(c);
	}
}

static void test_config_load(void **state)
{
	(void)state;
	mc_sched_config *c = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_sched_config_load("/nonexistent/s.conf", &c, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "/nonexistent/s.conf"));
	char path[] = "/tmp/mc-sched-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[d]\ncron = @daily\0x\n", 20), 20);
	close(fd);
	assert_int_equal(mc_sched_config_load(path, &c, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "NUL"));
	FILE *f = fopen(path, "w");
	fputs("[d]\nflow = train\ncron = @daily\n", f);
	fclose(f);
	assert_int_equal(mc_sched_config_load(path, &c, &err), MC_OK);
	assert_string_equal(c->path, path);
	assert_string_equal(c->items[0].flow, "train");
	mc_sched_config_free(c);
	unlink(path);
}

/* ---- keys ---- */

static void test_keys(void **state)
{
	(void)state;
	char key[MC_SCHED_KEY_MAX];
	mc_sched_key("daily", 1741028400, key, sizeof key);
	assert_string_equal(key, "scheduler:daily:1741028400");
	int64_t fire = 0;
	assert_true(mc_sched_key_fire(key, "daily", &fire));
	assert_int_equal(fire, 1741028400);
	assert_false(mc_sched_key_fire(key, "dail", &fire));
	assert_false(mc_sched_key_fire("scheduler:daily2:5", "daily", &fire));
	assert_false(mc_sched_key_fire("scheduler:daily:", "daily", &fire));
	assert_false(mc_sched_key_fire("scheduler:daily:12x", "daily", &fire));
	assert_false(mc_sched_key_fire("other:daily:12", "daily", &fire));
	assert_false(mc_sched_key_fire(NULL, "daily", &fire));
}

/* ---- plans ---- */

typedef struct plan_env {
	mc_cron *cron;
	mc_tz *tz;
} plan_env;

static plan_env env(const char *expr, const char *zone)
{
	plan_env e = {0};
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_cron_parse(expr, &e.cron, &err), MC_OK);
	if (mc_tz_load(zone, &e.tz, &err)) {
		mc_cron_free(e.cron);
		e.cron = NULL;
	}
	return e;
}

static void env_free(plan_env *e)
{
	mc_cron_free(e->cron);
	mc_tz_free(e->tz);
}

static mc_sched_plan plan(const plan_env *e, mc_catch_up policy, int max, int64_t last, int64_t now)
{
	mc_sched_plan p;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_sched_plan_fires(e->cron, e->tz, policy, max, last, now, &p, &err),
			 MC_OK);
	return p;
}

/* The fires of p as "+D" days after MON_0303 (c: catch-up), for comparisons. */
static void runs_text(const mc_sched_plan *p, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < p->nrun && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%+lld%s", i ? " " : "",
				      (long long)((p->run[i].fire - MON_0303) / DAY),
				      p->run[i].catch_up ? "c" : "");
}

static void test_plan_downtime(void **state)
{
	(void)state;
	/* Last handled Mon 03-03 13:00, now Fri 03-14 14:00: missed 03-05 … 03-14. */
	plan_env e = env("0 13 * * 1,3,5", "UTC");
	int64_t now = FRI_0314 + 3600;
	char text[256];
	mc_sched_plan p = plan(&e, MC_CATCH_UP_NONE, 10, MON_0303, now);
	assert_int_equal(p.nrun, 0);
	assert_int_equal(p.nmissed, 5);
	assert_int_equal(p.nskipped, 5);
	assert_int_equal(p.first_skipped, MON_0303 + 2 * DAY);
	assert_int_equal(p.last_skipped, FRI_0314);
	assert_int_equal(p.latest, FRI_0314);
	mc_sched_plan_release(&p);

	p = plan(&e, MC_CATCH_UP_LATEST, 10, MON_0303, now);
	runs_text(&p, text, sizeof text);
	assert_string_equal(text, "+11c");
	assert_int_equal(p.nskipped, 4);
	assert_int_equal(p.last_skipped, MON_0303 + 9 * DAY);
	assert_int_equal(p.latest, FRI_0314);
	mc_sched_plan_release(&p);

	p = plan(&e, MC_CATCH_UP_ALL, 10, MON_0303, now);
	runs_text(&p, text, sizeof text);
	assert_string_equal(text, "+2c +4c +7c +9c +11c");
	assert_int_equal(p.nskipped, 0);
	mc_sched_plan_release(&p);

	p = plan(&e, MC_CATCH_UP_ALL, 2, MON_0303, now);
	runs_text(&p, text, sizeof text);
	assert_string_equal(text, "+9c +11c");
	assert_int_equal(p.nskipped, 3);
	assert_int_equal(p.first_skipped, MON_0303 + 2 * DAY);
	assert_int_equal(p.last_skipped, MON_0303 + 7 * DAY);
	mc_sched_plan_release(&p);

	p = plan(&e, MC_CATCH_UP_ALL, 0, MON_0303, now);
	assert_int_equal(p.nrun, 0);
	assert_int_equal(p.nskipped, 5);
	mc_sched_plan_release(&p);
	env_free(&e);
}

static void test_plan_due(void **state)
{
	(void)state;
	plan_env e = env("0 13 * * 1,3,5", "UTC");
	char text[256];
	/* 30 s after Friday's fire: it is due (not a catch-up); the older ones were missed. */
	int64_t now = FRI_0314 + 30;
	mc_sched_plan p = plan(&e, MC_CATCH_UP_LATEST, 10, MON_0303, now);
	runs_text(&p, text, sizeof text);
	assert_string_equal(text, "+11");
	assert_int_equal(p.nmissed, 4);
	assert_int_equal(p.nskipped, 4);
	assert_int_equal(p.last_skipped, MON_0303 + 9 * DAY);
	mc_sched_plan_release(&p);
	p = plan(&e, MC_CATCH_UP_NONE, 10, MON_0303, now);
	runs_text(&p, text, sizeof text);
	assert_string_equal(text, "+11");
	mc_sched_plan_release(&p);
	p = plan(&e, MC_CATCH_UP_ALL, 10, MON_0303, now);
	runs_text(&p, text, sizeof text);
	assert_string_equal(text, "+2c +4c +7c +9c +11");
	mc_sched_plan_release(&p);
	/* First start exactly at a fire: the due window before now, nothing missed. */
	p = plan(&e, MC_CATCH_UP_ALL, 10, MON_0303 - MC_SCHED_DUE_WINDOW_S, MON_0303);
	runs_text(&p, text, sizeof text);
	assert_string_equal(text, "+0");
	assert_int_equal(p.nmissed, 0);
	mc_sched_plan_release(&p);
	/* 61 s late: missed, so only a catch-up policy runs it. */
	p = plan(&e, MC_CATCH_UP_NONE, 10, MON_0303 - 1, MON_0303 + 61);
	assert_int_equal(p.nrun, 0);
	assert_int_equal(p.nskipped, 1);
	mc_sched_plan_release(&p);
	/* Nothing new: now at or before the last fire handled. */
	p = plan(&e, MC_CATCH_UP_ALL, 10, MON_0303, MON_0303);
	assert_int_equal(p.nrun + p.nmissed, 0);
	assert_int_equal(p.latest, MON_0303);
	mc_sched_plan_release(&p);
	env_free(&e);
}

static void test_plan_many(void **state)
{
	(void)state;
	/* Every minute for 10 days: 14399 missed and one due, scanned in chunks. */
	plan_env e = env("* * * * *", "UTC");
	int64_t now = MON_0303 + 10 * DAY;
	mc_sched_plan p = plan(&e, MC_CATCH_UP_LATEST, 10, MON_0303, now);
	assert_int_equal(p.nmissed, 14399);
	assert_int_equal(p.nskipped, 14399);
	assert_int_equal(p.first_skipped, MON_0303 + 60);
	assert_int_equal(p.last_skipped, now - 60);
	assert_int_equal(p.nrun, 1);
	assert_int_equal(p.run[0].fire, now);
	assert_false(p.run[0].catch_up);
	mc_sched_plan_release(&p);
	p = plan(&e, MC_CATCH_UP_ALL, 1000, MON_0303, now);
	assert_int_equal(p.nrun, 1001);
	assert_int_equal(p.nskipped, 13399);
	for (size_t i = 0; i < 1000; i++) {
		assert_int_equal(p.run[i].fire, now - 60 * (int64_t)(1000 - i));
		assert_true(p.run[i].catch_up);
	}
	assert_int_equal(p.last_skipped, now - 60 * 1001);
	mc_sched_plan_release(&p);
	env_free(&e);
}

static void test_plan_dst(void **state)
{
	(void)state;
	/* 02:30 does not exist in New York on 2025-03-09: that day fires once, at 03:00 EDT. */
	plan_env e = env("30 2 * * *", "America/New_York");
	if (!e.cron)
		skip();
	int64_t sat = 1741419000; /* 2025-03-08T02:30-05:00 */
	mc_sched_plan p = plan(&e, MC_CATCH_UP_ALL, 10, sat, 1741608000 /* 03-10 12:00Z */);
	assert_int_equal(p.nrun, 2);
	assert_int_equal(p.run[0].fire, 1741503600); /* 2025-03-09T07:00Z = 03:00 EDT */
	assert_int_equal(p.run[1].fire, 1741588200); /* 2025-03-10T06:30Z = 02:30 EDT */
	mc_sched_plan_release(&p);
	env_free(&e);
}

/* ---- a fire's parameters, --now ---- */

static void test_fire_params(void **state)
{
	(void)state;
	mc_sched_config *c = parse_ok("[daily]\ncron = @daily\nparams = fetch=false\n"
				      "timezone = America/Mexico_City\n"
				      "[utc]\nflow = daily\ncron = @daily\ntimezone = UTC\n"
				      "[train]\ncron = @daily\nparams = trials=3\n");
	json_t *p = NULL;
	mc_error err = MC_ERROR_INIT;
	int64_t late = 1741064400; /* 2025-03-04T05:00Z = 03-03 23:00 CST */
	assert_int_equal(mc_sched_fire_params(&c->items[0], late, &p, &err), MC_OK);
	assert_string_equal(json_string_value(json_object_get(p, "date")), "2025-03-03");
	assert_string_equal(json_string_value(json_object_get(p, "fetch")), "false");
	assert_null(json_object_get(c->items[0].params, "date")); /* a copy */
	json_decref(p);
	assert_int_equal(mc_sched_fire_params(&c->items[1], late, &p, &err), MC_OK);
	assert_string_equal(json_string_value(json_object_get(p, "date")), "2025-03-04");
	json_decref(p);
	assert_int_equal(mc_sched_fire_params(&c->items[2], late, &p, &err), MC_OK);
	assert_null(json_object_get(p, "date"));
	assert_string_equal(json_string_value(json_object_get(p, "trials")), "3");
	json_decref(p);
	mc_sched_config_free(c);
}

static void test_parse_time(void **state)
{
	(void)state;
	mc_tz *utc = NULL, *mx = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_tz_load("UTC", &utc, &err), MC_OK);
	int64_t t = 0, fri = 1741960800; /* 2025-03-14T14:00Z */
	static const char *const same[] = {"2025-03-14T14:00",
					   "2025-03-14 14:00:00",
					   "2025-03-14T14:00Z",
					   "2025-03-14T08:00-06:00",
					   "2025-03-14T19:30+0530",
					   "2025-03-14T16:00+02",
					   "@1741960800"};
	for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
		if (mc_sched_parse_time(same[i], utc, &t, &err))
			fail_msg("'%s': %s", same[i], err.msg);
		assert_int_equal(t, fri);
	}
	assert_int_equal(mc_sched_parse_time("2025-03-14T14:00:59", utc, &t, &err), MC_OK);
	assert_int_equal(t, fri + 59);
	static const char *const bad[] = {"2025-03-14",
					  "2025-02-30T00:00",
					  "2025-03-14T24:00",
					  "2025-03-14T14:60",
					  "2025-03-14T14:00+25:00",
					  "2025-03-14T14:00junk",
					  "@",
					  "@12x",
					  "14:00",
					  ""};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		if (mc_sched_parse_time(bad[i], utc, &t, &err) != MC_ERR_INVALID)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(strstr(err.msg, "is not a time"));
	}
	if (!mc_tz_load("America/Mexico_City", &mx, &err)) {
		assert_int_equal(mc_sched_parse_time("2025-03-14T08:00", mx, &t, &err), MC_OK);
		assert_int_equal(t, fri);
	}
	mc_tz_free(mx);
	mc_tz_free(utc);
}

/* ---- the queue ---- */

static void push(mc_sched_queue *q, const char *schedule, const char *flow, int64_t fire, bool keep,
		 size_t want_collapsed)
{
	mc_sched_fire f = {strdup(schedule), strdup(flow), json_object(), fire, keep, keep, false};
	size_t n = 99;
	int64_t dropped = -1;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_sched_queue_push(q, &f, &n, &dropped, &err), MC_OK);
	assert_null(f.schedule); /* taken */
	assert_int_equal(n, want_collapsed);
}

static void queue_text(const mc_sched_queue *q, char *out, size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < q->n && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s%lld", i ? " " : "",
				      q->items[i].schedule, (long long)q->items[i].fire);
}

static bool daily_busy(void *user, const char *flow)
{
	(void)user;
	return !strcmp(flow, "daily");
}

static void test_queue(void **state)
{
	(void)state;
	mc_sched_queue q = {0};
	char text[256];
	push(&q, "a", "daily", 1, false, 0);
	push(&q, "b", "daily", 1, false, 0);
	push(&q, "a", "daily", 2, false, 1); /* a@1 collapses into a@2, in its place */
	queue_text(&q, text, sizeof text);
	assert_string_equal(text, "a2 b1");
	push(&q, "c", "daily", 3, true, 0);
	push(&q, "c", "daily", 4, true, 0); /* catch-up `all`: both kept */
	push(&q, "c", "daily", 5, false, 0);
	push(&q, "c", "daily", 6, false, 1);
	push(&q, "t", "train", 7, false, 0);
	queue_text(&q, text, sizeof text);
	assert_string_equal(text, "a2 b1 c3 c4 c6 t7");

	mc_sched_fire f = {0};
	assert_true(mc_sched_queue_take(&q, daily_busy, NULL, &f)); /* daily busy: train's */
	assert_string_equal(f.schedule, "t");
	mc_sched_fire_release(&f);
	assert_false(mc_sched_queue_take(&q, daily_busy, NULL, &f));
	assert_true(mc_sched_queue_take(&q, NULL, NULL, &f));
	assert_string_equal(f.schedule, "a");
	assert_int_equal(f.fire, 2);
	mc_sched_fire_release(&f);
	queue_text(&q, text, sizeof text);
	assert_string_equal(text, "b1 c3 c4 c6");
	mc_sched_queue_release(&q);
	assert_int_equal(q.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_config), cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_config_errors),  cmocka_unit_test(test_config_load),
		cmocka_unit_test(test_keys),	       cmocka_unit_test(test_plan_downtime),
		cmocka_unit_test(test_plan_due),       cmocka_unit_test(test_plan_many),
		cmocka_unit_test(test_plan_dst),       cmocka_unit_test(test_fire_params),
		cmocka_unit_test(test_parse_time),     cmocka_unit_test(test_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
