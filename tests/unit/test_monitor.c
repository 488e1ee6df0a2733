/* Monitoring on a hand-made lake: windows, the prediction-log join, health and rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milkcast/date.h"
#include "milkcast/lake.h"
#include "milkcast/monitor.h"
#include "milkcast/store.h"

static void push_row(mc_table *t, int32_t date, const char *city, double price)
{
	mc_column *c = t->cols;
	assert_int_equal(mc_column_push_i32(&c[MC_LAKE_DATE], date), MC_OK);
	const char *s[5] = {"city", "Jalisco", city, "pasteurizada", "tiendas"};
	for (int i = 0; i < 5; i++)
		assert_int_equal(mc_column_push_str(&c[MC_LAKE_KIND + i], s[i], strlen(s[i])),
				 MC_OK);
	if (isnan(price))
		assert_int_equal(mc_column_push_null(&c[MC_LAKE_PRICE]), MC_OK);
	else
		assert_int_equal(mc_column_push_f64(&c[MC_LAKE_PRICE], price), MC_OK);
	assert_int_equal(mc_column_push_str(&c[MC_LAKE_SOURCE], "t", 1), MC_OK);
	assert_int_equal(mc_column_push_i64(&c[MC_LAKE_INGESTED_AT], 0), MC_OK);
	t->nrows++;
}

#define NDATES 30
static int32_t dates[NDATES]; /* Mon, Wed, Fri from 2025-01-06 */

/* Guadalajara at 20 then 26 from date 20 on; Tepic at 30; Colima silent after date 24. */
static mc_table *lake(void)
{
	mc_table *t = mc_lake_table_new();
	int32_t d0 = mc_date_from_ymd(2025, 1, 6);
	for (int i = 0; i < NDATES; i++) {
		dates[i] = d0 + (i / 3) * 7 + (i % 3) * 2;
		push_row(t, dates[i], "Colima", i <= 24 ? 25.0 + (i % 2) : NAN);
		push_row(t, dates[i], "Guadalajara", i < 20 ? 20.0 : 26.0);
		push_row(t, dates[i], "Tepic", 30.0);
	}
	return t;
}

static void log_line(FILE *f, const char *city, int32_t origin, int h, int32_t target, double price,
		     double last, const char *version)
{
	char o[11], tg[11];
	mc_date_format_iso(origin, o);
	mc_date_format_iso(target, tg);
	fprintf(f,
		"{\"time\":\"2025-01-01T00:00:00.000Z\",\"route\":\"/v1/predict\",\"series\":"
		"{\"state\":\"Jalisco\",\"city\":\"%s\",\"milk_type\":\"pasteurizada\","
		"\"channel\":\"tiendas\"},\"as_of\":\"%s\",\"origin\":\"%s\",\"horizon\":%d,"
		"\"target_date\":\"%s\",\"price\":%.17g,\"lower\":0,\"upper\":99,"
		"\"last_price\":%.17g,\"model_version\":\"%s\"}\n",
		city, o, o, h, tg, price, last, version);
}

static char dir[] = "/tmp/mc-monitor-XXXXXX";

static void write_logs(void)
{
	memcpy(dir + sizeof dir - 7, "XXXXXX", 6);
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof path, "%s/serve-2025-02-01.jsonl", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	/* h1 on date 21: Guadalajara published 26; forecast 25, last 20 */
	log_line(f, "Guadalajara", dates[20], 1, dates[21], 25, 20, "1");
	log_line(f, "Guadalajara", dates[20], 1, dates[21], 25, 20, "1"); /* repeat */
	log_line(f, "Tepic", dates[20], 1, dates[21], 31, 30, "1");
	log_line(f, "Tepic", dates[20], 2, dates[22], 29, 30, "1");
	log_line(f, "Tepic", dates[20], 1, dates[21], 32, 30, "2");	/* another model */
	log_line(f, "Tepic", dates[2], 1, dates[3], 99, 30, "1");	/* before the window */
	log_line(f, "Tepic", dates[28], 1, dates[29] + 2, 30, 30, "1"); /* not published yet */
	fputs("{\"series\": 5}\nnot json\n\n", f);
	fclose(f);
}

static void remove_logs(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_columns(void **state)
{
	(void)state;
	size_t n;
	const char *const *c = mc_monitor_default_columns(&n);
	assert_true(n > 10);
	assert_string_equal(c[0], "price");
	assert_string_equal(c[5], "f_last");
	for (size_t i = 0; i < n; i++) {
		assert_true(mc_monitor_column_known(c[i]));
		assert_string_not_equal(c[i], "f_target_month");
		assert_string_not_equal(c[i], "f_state");
	}
	assert_true(mc_monitor_column_known("f_target_month"));
	assert_false(mc_monitor_column_known("f_nope"));
	assert_false(mc_monitor_column_known("kind"));
}

static void test_run(void **state)
{
	(void)state;
	mc_table *t = lake();
	write_logs();
	mc_monitor_opts o;
	mc_monitor_opts_init(&o);
	o.current_days = 21;
	o.reference_days = 28;
	o.min_rows = 1;
	o.naive_publications = 9;
	o.silent_publications = 3;
	o.today = dates[NDATES - 1] + 10;
	o.predictions_dir = dir;
	static const char *const cols[] = {"price", "city", "f_last"};
	o.columns = cols;
	o.ncolumns = 3;
	mc_monitor_result *r = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_monitor_run(t, NULL, &o, &r, &err), MC_OK);
	/* windows: as_of = the last date; current 21 days, reference the 28 before */
	assert_int_equal(r->as_of, dates[NDATES - 1]);
	assert_int_equal(r->cur.to, dates[NDATES - 1]);
	assert_int_equal(r->cur.from, dates[NDATES - 1] - 20);
	assert_int_equal(r->ref.to, r->cur.from - 1);
	assert_int_equal(r->ref.from, r->cur.from - 28);
	assert_int_equal(r->cur.dates, 9);
	assert_int_equal(r->cur.rows, 27);
	/* drift: price moved (Guadalajara 20 → 26), cities did not */
	assert_int_equal(r->ncols, 3);
	assert_true(r->cols[0].r.drift);
	assert_false(r->cols[1].r.drift);
	assert_true(r->cols[0].hist.nbins > 0);
	/* performance: the repeat once, version 2 apart, bad lines counted */
	assert_int_equal(r->pred_lines, 9);
	assert_int_equal(r->pred_bad, 2);
	assert_int_equal(r->pred_duplicates, 1);
	assert_int_equal(r->pred_unique, 6);
	assert_int_equal(r->pred_joined, 4);
	assert_int_equal(r->nperf, 3);
	const mc_monitor_perf *h1 = &r->perf[1];
	assert_int_equal(h1->n, 3);
	/* errors 26-25, 30-31, 30-32; naive 26-20, 0, 0 */
	assert_float_equal(h1->mae, (1.0 + 1 + 2) / 3, 1e-12);
	assert_float_equal(h1->rmse, sqrt((1.0 + 1 + 4) / 3), 1e-12);
	assert_float_equal(h1->bias, (-1.0 + 1 + 2) / 3, 1e-12);
	assert_float_equal(h1->naive_mae, 6.0 / 3, 1e-12);
	assert_int_equal(r->perf[2].n, 1);
	assert_float_equal(r->perf[2].mae, 1, 1e-12);
	assert_int_equal(r->perf[0].n, 4);
	assert_true(isnan(h1->train_rmse));
	assert_int_equal(r->npoints, 2);
	assert_int_equal(r->points[0].date, dates[21]);
	assert_int_equal(r->points[0].n, 3);
	/* health: Colima silent; 10 days without data */
	assert_int_equal(r->nsilent, 1);
	assert_string_equal(r->silent[0].city, "Colima");
	assert_int_equal(r->silent[0].last_price_date, dates[24]);
	assert_int_equal(r->days_since, 10);
	assert_int_equal(r->quarantined_cur, -1);
	assert_true(isnan(r->quarantine_share_cur));
	/* per version: no champion, so the rules judge every forecast */
	assert_int_equal(r->nversions, 2);
	assert_int_equal(r->judged, -1);
	assert_string_equal(r->versions[0].version, "1");
	assert_int_equal(r->versions[0].forecasts, 5);
	assert_int_equal(r->versions[0].perf[1].n, 2);
	assert_float_equal(r->versions[0].perf[1].rmse, 1, 1e-12);
	assert_float_equal(r->versions[0].perf[1].naive_mae, 3, 1e-12);
	assert_string_equal(r->versions[1].version, "2");
	assert_int_equal(r->versions[1].forecasts, 1);
	assert_int_equal(r->versions[1].perf[1].n, 1);
	assert_float_equal(r->versions[1].perf[1].mae, 2, 1e-12);
	assert_false(r->versions[0].champion || r->versions[1].judged);
	/* rules */
	assert_true(r->rules[MC_RULE_DATA_STALE].fired);
	assert_true(r->rules[MC_RULE_DATASET_DRIFT].fired);
	assert_false(r->rules[MC_RULE_RMSE_DEGRADED].evaluated); /* no training metrics */
	assert_true(r->rules[MC_RULE_WORSE_THAN_NAIVE].evaluated);
	assert_false(r->rules[MC_RULE_WORSE_THAN_NAIVE].fired);	    /* RMSE 1.32 vs 3 */
	assert_false(r->rules[MC_RULE_QUARANTINE_SPIKE].evaluated); /* no database */
	assert_non_null(strstr(r->rules[MC_RULE_DATASET_DRIFT].details, "- price ("));
	/* outputs */
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(mc_monitor_html(r, &b, &err), MC_OK);
	assert_null(strstr((char *)b.data, "http://"));
	assert_non_null(strstr((char *)b.data, "Colima"));
	mc_buf_reset(&b);
	assert_int_equal(mc_monitor_prom(r, &b, &err), MC_OK);
	assert_non_null(strstr((char *)b.data, "milkcast_alerts_fired{rule=\"data_stale\"} 1\n"));
	assert_non_null(strstr((char *)b.data, "milkcast_rolling_mae{horizon=\"2\"} 1\n"));
	mc_buf_reset(&b);
	assert_int_equal(mc_monitor_json(r, &b, &err), MC_OK);
	assert_non_null(strstr((char *)b.data, "\"duplicates\": 1"));
	assert_non_null(strstr((char *)b.data, "\"by\": \"every version (no champion)\""));
	mc_buf_release(&b);
	mc_monitor_result_free(r);
	remove_logs();
	mc_table_free(t);
}

/* The options every run below shares: 21 current days, 28 reference days. */
static void small_opts(mc_monitor_opts *o)
{
	mc_monitor_opts_init(o);
	o->current_days = 21;
	o->reference_days = 28;
	o->min_rows = 1;
	o->naive_publications = 9;
	o->today = dates[NDATES - 1];
	o->predictions_dir = dir;
	static const char *const cols[] = {"price"};
	o->columns = cols;
	o->ncolumns = 1;
}

/* --model-version: only that version is scored, and judged. */
static void test_model_version(void **state)
{
	(void)state;
	mc_table *t = lake();
	write_logs();
	mc_monitor_opts o;
	small_opts(&o);
	o.model_version = "2";
	mc_monitor_result *r = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_monitor_run(t, NULL, &o, &r, &err), MC_OK);
	assert_int_equal(r->pred_unique, 6);
	assert_int_equal(r->pred_other_versions, 5);
	assert_int_equal(r->pred_joined, 1);
	assert_int_equal(r->perf[0].n, 1);
	assert_float_equal(r->perf[0].rmse, 2, 1e-12);
	assert_int_equal(r->nversions, 1);
	assert_int_equal(r->judged, 0);
	assert_true(r->versions[0].judged);
	/* Tepic: 32 against 30, the last value 30: worse than naive on version 2 alone */
	assert_true(r->rules[MC_RULE_WORSE_THAN_NAIVE].fired);
	assert_non_null(strstr(r->rules[MC_RULE_WORSE_THAN_NAIVE].details,
			       "model version 2 (--model-version)"));
	mc_monitor_result_free(r);
	/* a version nobody logged: listed, empty, nothing judged */
	o.model_version = "7";
	assert_int_equal(mc_monitor_run(t, NULL, &o, &r, &err), MC_OK);
	assert_int_equal(r->nversions, 1);
	assert_string_equal(r->versions[0].version, "7");
	assert_int_equal(r->versions[0].forecasts, 0);
	assert_int_equal(r->perf[0].n, 0);
	assert_false(r->rules[MC_RULE_WORSE_THAN_NAIVE].evaluated);
	mc_monitor_result_free(r);
	o.model_version = "";
	assert_int_equal(mc_monitor_run(t, NULL, &o, &r, &err), MC_ERR_INVALID);
	remove_logs();
	mc_table_free(t);
}

static void exec(mc_store *s, const char *sql)
{
	mc_error err = MC_ERROR_INIT;
	if (mc_store_exec(s, sql, &err))
		fail_msg("%s: %s", sql, err.msg);
}

/* Versions 1 and 2 of milkcast-forecast, trained by runs r1 and r2; `champion` the alias. */
static void registry(mc_store *s, int champion)
{
	exec(s, "INSERT INTO experiments(experiment_id, name, creation_time, last_update_time)"
		" VALUES (7, 'e', 0, 0);"
		"INSERT INTO runs(run_uuid, experiment_id, status, start_time) VALUES"
		" ('r1', 7, 'FINISHED', 0), ('r2', 7, 'FINISHED', 0);"
		"INSERT INTO metrics(run_uuid, key, value, timestamp) VALUES"
		" ('r1', 'test_h1_rmse', 0.5, 0), ('r1', 'test_h1_mae', 0.4, 0),"
		" ('r1', 'test_last_value_h1_rmse', 0.7, 0), ('r2', 'test_h1_rmse', 3.0, 0),"
		" ('r2', 'test_h3_rmse', 9.0, 0);"
		"INSERT INTO registered_models(name, creation_time, last_updated_time)"
		" VALUES ('milkcast-forecast', 0, 0);"
		"INSERT INTO model_versions(name, version, creation_time, last_updated_time,"
		" source, run_id) VALUES ('milkcast-forecast', 1, 0, 0, '/m/1', 'r1'),"
		" ('milkcast-forecast', 2, 0, 0, '/m/2', 'r2');");
	char sql[200];
	snprintf(sql, sizeof sql,
		 "INSERT OR REPLACE INTO registered_model_aliases(name, alias, version)"
		 " VALUES ('milkcast-forecast', 'champion', %d)",
		 champion);
	exec(s, sql);
}

/* Quarantined rows: three distinct in the current window (one read twice), one before. */
static void quarantine(mc_store *s)
{
	char a[11], b[11], c[11], sql[1024];
	mc_date_format_iso(dates[22], a);
	mc_date_format_iso(dates[25], b);
	mc_date_format_iso(dates[12], c);
	snprintf(sql, sizeof sql,
		 "INSERT INTO ingest_runs(id, started_at, status) VALUES (1, 'x', 'completed');"
		 "INSERT INTO quarantine(run_id, source, position, date, state, city, milk_type,"
		 " channel, raw_value, reason) VALUES"
		 " (1, 'new.xlsx', 'row 1', '%s', 'Jalisco', 'Atlantis', 'p', 't', '20', 'city'),"
		 " (1, 'new.xlsx', 'row 2', '%s', 'Jalisco', 'Tepic', 'p', 't', '250', 'price'),"
		 " (1, 'new.xlsx', 'row 3', '%s', 'Jalisco', 'Tepic', 'p', 't', '250', 'price'),"
		 " (1, 'again.xlsx', 'row 9', '%s', 'Jalisco', 'Tepic', 'p', 't', '250', 'price'),"
		 " (1, 'old.xlsx', 'row 4', '%s', 'Jalisco', 'Tepic', 'p', 't', '0', 'price')",
		 a, a, b, b, c);
	exec(s, sql);
}

/* With a database: each version next to its own test metrics, the champion judged. */
static void test_store(void **state)
{
	(void)state;
	mc_table *t = lake();
	write_logs();
	char home[] = "/tmp/mc-monitor-home-XXXXXX";
	assert_non_null(mkdtemp(home));
	mc_store *s = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	registry(s, 1);
	quarantine(s);
	mc_monitor_opts o;
	small_opts(&o);
	mc_monitor_result *r = NULL;
	assert_int_equal(mc_monitor_run(t, s, &o, &r, &err), MC_OK);
	assert_string_equal(r->model_version, "1");
	assert_int_equal(r->nversions, 2);
	assert_int_equal(r->judged, 0);
	const mc_monitor_version *v1 = &r->versions[0], *v2 = &r->versions[1];
	assert_true(v1->champion && v1->judged && !v2->champion && !v2->judged);
	assert_string_equal(v1->run_id, "r1");
	assert_float_equal(v1->perf[1].train_rmse, 0.5, 0);
	assert_float_equal(v1->perf[1].train_mae, 0.4, 0);
	assert_float_equal(v1->perf[1].train_naive_rmse, 0.7, 0);
	assert_float_equal(v2->perf[1].train_rmse, 3.0, 0);
	assert_int_equal(v2->nperf, 4);		   /* h3 from the training metrics */
	assert_true(isnan(r->perf[1].train_rmse)); /* pooled: no training metrics */
	/* version 1's h1 RMSE 1 > 0.5 * 1.25 */
	assert_true(r->rules[MC_RULE_RMSE_DEGRADED].fired);
	assert_non_null(strstr(r->rules[MC_RULE_RMSE_DEGRADED].title, "version 1 degraded"));
	assert_non_null(
		strstr(r->rules[MC_RULE_RMSE_DEGRADED].details, "model version 1 (the champion)"));
	/* quarantine: 3 distinct of 27 + 3 rows, reference 1 of 36 + 1 */
	assert_int_equal(r->quarantined_cur, 3);
	assert_int_equal(r->lake_rows_cur, 27);
	assert_int_equal(r->quarantined_ref, 1);
	assert_int_equal(r->lake_rows_ref, 36);
	assert_float_equal(r->quarantine_share_cur, 0.1, 1e-15);
	assert_float_equal(r->quarantine_share_ref, 1.0 / 37, 1e-15);
	assert_int_equal(r->nsources, 2);
	assert_string_equal(r->sources[0].source, "new.xlsx");
	assert_int_equal(r->sources[0].rows, 3);
	assert_true(r->rules[MC_RULE_QUARANTINE_SPIKE].fired); /* 0.1 > 3 / 37 */
	assert_non_null(strstr(r->rules[MC_RULE_QUARANTINE_SPIKE].details, "- again.xlsx: 1 rows"));
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(mc_monitor_prom(r, &b, &err), MC_OK);
	assert_non_null(
		strstr((char *)b.data, "milkcast_alerts_fired{rule=\"quarantine_spike\"} 1\n"));
	assert_non_null(
		strstr((char *)b.data,
		       "milkcast_training_test_rmse{model_version=\"2\",horizon=\"3\"} 9\n"));
	assert_non_null(strstr((char *)b.data, "milkcast_version_judged{model_version=\"1\"} 1\n"));
	mc_buf_reset(&b);
	assert_int_equal(mc_monitor_html(r, &b, &err), MC_OK);
	assert_non_null(strstr((char *)b.data, "Quarantine spike"));
	assert_non_null(strstr((char *)b.data, "Model version 2</h3>"));
	mc_buf_release(&b);
	mc_monitor_result_free(r);
	/* four times the reference share is not reached; the absolute floor neither */
	o.quarantine_ratio = 4; /* 4 / 37 > 0.1 */
	assert_int_equal(mc_monitor_run(t, s, &o, &r, &err), MC_OK);
	assert_true(r->rules[MC_RULE_QUARANTINE_SPIKE].evaluated);
	assert_false(r->rules[MC_RULE_QUARANTINE_SPIKE].fired);
	mc_monitor_result_free(r);
	o.quarantine_ratio = 0;
	o.quarantine_share = 0.1; /* not above */
	assert_int_equal(mc_monitor_run(t, s, &o, &r, &err), MC_OK);
	assert_false(r->rules[MC_RULE_QUARANTINE_SPIKE].fired);
	mc_monitor_result_free(r);
	/* version 2 the champion: its RMSE 2 is within 3 * 1.25 */
	exec(s, "UPDATE registered_model_aliases SET version = 2");
	small_opts(&o);
	assert_int_equal(mc_monitor_run(t, s, &o, &r, &err), MC_OK);
	assert_int_equal(r->judged, 1);
	assert_true(r->rules[MC_RULE_RMSE_DEGRADED].evaluated);
	assert_false(r->rules[MC_RULE_RMSE_DEGRADED].fired);
	mc_monitor_result_free(r);
	mc_store_free(s);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", home);
	assert_int_equal(system(cmd), 0);
	remove_logs();
	mc_table_free(t);
}

static void test_bad_windows(void **state)
{
	(void)state;
	mc_table *t = lake();
	mc_monitor_opts o;
	mc_monitor_opts_init(&o);
	mc_monitor_result *r = NULL;
	mc_error err = MC_ERROR_INIT;
	o.ref_from = mc_date_from_ymd(2020, 1, 1);
	o.ref_to = mc_date_from_ymd(2020, 2, 1);
	assert_int_equal(mc_monitor_run(t, NULL, &o, &r, &err), MC_ERR_EMPTY);
	assert_non_null(strstr(err.msg, "reference window 2020-01-01 .. 2020-02-01"));
	assert_null(r);
	mc_monitor_opts_init(&o);
	o.cur_from = dates[10];
	o.cur_to = dates[5];
	assert_int_equal(mc_monitor_run(t, NULL, &o, &r, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "current window is inverted"));
	mc_monitor_opts_init(&o);
	static const char *const cols[] = {"price", "nope"};
	o.columns = cols;
	o.ncolumns = 2;
	assert_int_equal(mc_monitor_run(t, NULL, &o, &r, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "unknown column 'nope'"));
	mc_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns),	      cmocka_unit_test(test_run),
		cmocka_unit_test(test_model_version), cmocka_unit_test(test_store),
		cmocka_unit_test(test_bad_windows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
