/*
 * The router without sockets: every route, both request forms, the
 * numbers against the library's own forecasts, every kind of bad input,
 * reloads (a new champion, a broken one refused), reloads under concurrent
 * requests, and the prediction log.  One workspace is built for the whole
 * file: the shipped workbook ingested and a small model trained on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/forecast.h"
#include "milkcast/ingest.h"
#include "milkcast/lake.h"
#include "milkcast/registry.h"
#include "milkcast/serve.h"
#include "milkcast/store.h"
#include "serve/serve_int.h"

#define WORKBOOK "data/sniim/raw/Leche31032025.xlsx"
#define TOKEN "s3cret-token"

static char home[64];
static mc_table *lake_rows;
static mc_router *router;
static char bundle1[4096];

/* ---- the workspace ---- */

/* A bundle trained on the lake up to `until`, not registered. */
static void train_bundle(uint64_t seed, int32_t until, char *dir, size_t cap, char *sha,
			 size_t sha_cap)
{
	mc_error err = MC_ERROR_INIT;
	mc_train_opts o;
	mc_train_opts_init(&o);
	o.trials = 2;
	o.horizons = 2;
	o.threads = 2;
	o.seed = seed;
	o.until = until;
	char models[128];
	snprintf(models, sizeof models, "%s/models", home);
	mc_train_result *r = NULL;
	assert_int_equal(mc_train(lake_rows, &o, models, &r, &err), MC_OK);
	snprintf(dir, cap, "%s", r->bundle_dir);
	snprintf(sha, sha_cap, "%s", r->data_sha256);
	mc_train_result_free(r);
}

static void train_and_register(uint64_t seed, char *dir, size_t cap, int *version)
{
	mc_error err = MC_ERROR_INIT;
	char sha[65];
	train_bundle(seed, INT32_MAX, dir, cap, sha, sizeof sha);
	mc_store *s;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	mc_version_info info = {dir, NULL, sha, MC_VERSION, NULL};
	assert_int_equal(mc_registry_register(s, MC_MODEL_NAME, &info, version, &err), MC_OK);
	mc_store_free(s);
}

static void set_champion(int version)
{
	mc_error err = MC_ERROR_INIT;
	mc_store *s;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	assert_int_equal(
		mc_registry_set_alias(s, MC_MODEL_NAME, MC_ALIAS_CHAMPION, version, "test", &err),
		MC_OK);
	mc_store_free(s);
}

static mc_router *new_router(const char *token, const char *model_dir, const char *at)
{
	mc_router_opts o;
	mc_router_opts_init(&o);
	o.home = at;
	o.model_dir = model_dir;
	o.admin_token = token;
	o.max_body = 64 * 1024;
	o.max_instances = 50;
	mc_router *r = NULL;
	mc_error err = MC_ERROR_INIT;
	if (mc_router_new(&o, &r, &err))
		fprintf(stderr, "router: %s\n", err.msg);
	return r;
}

static int setup(void **state)
{
	(void)state;
	snprintf(home, sizeof home, "/tmp/mc-serve-XXXXXX");
	if (!mkdtemp(home))
		return -1;
	mc_error err = MC_ERROR_INIT;
	mc_store *s = NULL;
	mc_lake *l = NULL;
	mc_ingest_opts io;
	mc_ingest_opts_init(&io);
	mc_ingest_summary sum;
	const char *wb = WORKBOOK;
	if (mc_store_open(home, &s, &err) || mc_lake_open(home, &l, &err) ||
	    mc_ingest(s, l, &wb, 1, &io, &sum, &err) ||
	    mc_lake_read(l, INT32_MIN, INT32_MAX, &lake_rows, &err)) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	mc_lake_free(l);
	mc_store_free(s);
	int v;
	train_and_register(7, bundle1, sizeof bundle1, &v);
	set_champion(v);
	router = new_router(TOKEN, NULL, home);
	return router ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mc_router_free(router);
	mc_table_free(lake_rows);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", home);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- calling the router ---- */

typedef struct reply {
	int status;
	json_t *json; /* NULL when the body is not JSON */
	char *body;
	const char *allow, *www_auth;
} reply;

static reply call_in(mc_router *r, const char *method, const char *path, const char *query,
		     const char *auth, const void *body, size_t len)
{
	mc_http_header h[1] = {{"authorization", auth}};
	mc_http_request req = {method, path, query, h, auth ? 1 : 0, body, len, false};
	mc_http_response resp;
	mc_router_handle(r, &req, &resp);
	reply out = {resp.status, NULL, resp.body, NULL, NULL};
	assert_non_null(resp.body);
	assert_int_equal(strlen(resp.body), resp.body_len);
	assert_non_null(resp.route);
	for (size_t i = 0; i < resp.nheaders; i++) {
		if (!strcmp(resp.headers[i].name, "Allow"))
			out.allow = resp.headers[i].value;
		if (!strcmp(resp.headers[i].name, "WWW-Authenticate"))
			out.www_auth = resp.headers[i].value;
	}
	if (!strcmp(resp.content_type, "application/json")) {
		out.json = json_loads(resp.body, 0, NULL);
		assert_non_null(out.json); /* every JSON answer parses */
	}
	return out;
}

static reply call(const char *method, const char *path, const char *query, const char *body)
{
	return call_in(router, method, path, query, NULL, body, body ? strlen(body) : 0);
}

static void reply_free(reply *r)
{
	json_decref(r->json);
	free(r->body);
}

static const char *jstr(json_t *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%s", path);
	json_t *v = o;
	for (char *tok = strtok(buf, "."); tok && v; tok = strtok(NULL, "."))
		v = json_object_get(v, tok);
	return json_string_value(v);
}

/* Status and error code of a call. */
static void expect_error(reply r, int status, const char *code, const char *field)
{
	if (r.status != status)
		fprintf(stderr, "got %d: %s\n", r.status, r.body);
	assert_int_equal(r.status, status);
	assert_string_equal(jstr(r.json, "error.code"), code);
	assert_non_null(jstr(r.json, "error.message"));
	if (field)
		assert_string_equal(jstr(r.json, "error.field"), field);
	reply_free(&r);
}

/* A bundle's forecast for a series as `milkcast predict` makes it (lake up to as_of). */
static mc_forecast bundle_forecast(const char *bundle, const char *state, const char *city,
				   const char *milk, const char *channel, int32_t as_of, int h)
{
	mc_error err = MC_ERROR_INIT;
	mc_bundle *b;
	mc_panel *p;
	mc_forecast *f, out = {0};
	size_t n;
	assert_int_equal(mc_bundle_load(bundle, &b, &err), MC_OK);
	assert_int_equal(mc_panel_from_table(lake_rows, as_of, &p, &err), MC_OK);
	assert_int_equal(
		mc_bundle_forecast(b, p, as_of, mc_bundle_horizons(b), false, &f, &n, &err), MC_OK);
	long s = mc_panel_find(p, state, city, milk, channel);
	assert_true(s >= 0);
	for (size_t i = 0; i < n; i++)
		if (f[i].series == (size_t)s && f[i].h == h)
			out = f[i];
	free(f);
	mc_panel_free(p);
	mc_bundle_free(b);
	assert_int_equal(out.h, h);
	return out;
}

/* The champion's (bundle1's). */
static mc_forecast library_forecast(const char *state, const char *city, const char *milk,
				    const char *channel, int32_t as_of, int h)
{
	return bundle_forecast(bundle1, state, city, milk, channel, as_of, h);
}

#define GDL "\"state\":\"Jalisco\",\"city\":\"Guadalajara\""

/* ---- routes ---- */

static void test_health(void **state)
{
	(void)state;
	reply r = call("GET", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "status"), "ok");
	reply_free(&r);
	r = call("GET", "/readyz", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "model.version"), "1");
	assert_string_equal(jstr(r.json, "as_of"), "2025-03-31");
	reply_free(&r);
	r = call("HEAD", "/healthz", NULL, NULL);
	assert_int_equal(r.status, 200);
	reply_free(&r);
}

static void test_series(void **state)
{
	(void)state;
	reply r = call("GET", "/v1/series", NULL, NULL);
	assert_int_equal(r.status, 200);
	json_t *a = json_object_get(r.json, "series");
	assert_true(json_array_size(a) > 100);
	assert_int_equal(json_integer_value(json_object_get(r.json, "count")), json_array_size(a));
	assert_string_equal(jstr(r.json, "data"), "lake");
	json_t *s0 = json_array_get(a, 0);
	assert_non_null(jstr(s0, "state"));
	assert_non_null(jstr(s0, "last_date"));
	assert_true(json_is_real(json_object_get(s0, "last_price")));
	reply_free(&r);
}

static void test_predict_one(void **state)
{
	(void)state;
	reply r = call("POST", "/v1/predict", NULL,
		       "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}");
	assert_int_equal(r.status, 200);
	mc_forecast f = library_forecast("Jalisco", "Guadalajara", "pasteurizada", "tiendas",
					 mc_date_from_ymd(2025, 3, 31), 1);
	/* the same library calls: the same numbers, bit for bit */
	assert_true(json_real_value(json_object_get(r.json, "price")) == f.price);
	assert_true(json_real_value(json_object_get(r.json, "lower")) == f.lower);
	assert_true(json_real_value(json_object_get(r.json, "upper")) == f.upper);
	assert_true(json_real_value(json_object_get(r.json, "last_price")) == f.last);
	assert_string_equal(jstr(r.json, "target_date"), "2025-04-02");
	assert_string_equal(jstr(r.json, "last_date"), "2025-03-31");
	assert_string_equal(jstr(r.json, "as_of"), "2025-03-31");
	assert_string_equal(jstr(r.json, "model.name"), MC_MODEL_NAME);
	assert_string_equal(jstr(r.json, "model.version"), "1");
	assert_int_equal(json_integer_value(json_object_get(r.json, "horizon")), 1);
	reply_free(&r);
	/* names as SNIIM writes them resolve to the same series */
	r = call("POST", "/v1/predict", NULL,
		 "{\"state\":\"JALISCO \",\"city\":\"guadalajara\",\"milk_type\":\"Leche "
		 "Pasteurizada\",\"channel\":\"Tienda\"}");
	assert_int_equal(r.status, 200);
	assert_true(json_real_value(json_object_get(r.json, "price")) == f.price);
	reply_free(&r);
}

static void test_predict_many(void **state)
{
	(void)state;
	reply r = call("POST", "/v1/predict", NULL,
		       "{\"instances\":[{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":"
		       "\"tiendas\",\"horizon\":2},{" GDL ",\"milk_type\":\"ultrapasteurizada\","
		       "\"channel\":\"autoservicios\",\"date\":\"2025-04-04\"},{\"state\":"
		       "\"Nuevo Le\\u00f3n\",\"city\":\"Monterrey\",\"milk_type\":\"pasteurizada\","
		       "\"channel\":\"autoservicios\"}]}");
	assert_int_equal(r.status, 200);
	json_t *p = json_object_get(r.json, "predictions");
	assert_int_equal(json_array_size(p), 3);
	assert_string_equal(jstr(json_array_get(p, 0), "target_date"), "2025-04-04");
	assert_string_equal(jstr(json_array_get(p, 1), "target_date"), "2025-04-04");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(p, 1), "horizon")), 2);
	assert_string_equal(jstr(r.json, "model.version"), "1");
	mc_forecast f = library_forecast("Jalisco", "Guadalajara", "pasteurizada", "tiendas",
					 mc_date_from_ymd(2025, 3, 31), 2);
	assert_true(json_real_value(json_object_get(json_array_get(p, 0), "price")) == f.price);
	reply_free(&r);
	/* a bare array of instances too */
	r = call("POST", "/v1/predict", NULL,
		 "[{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}]");
	assert_int_equal(r.status, 200);
	assert_int_equal(json_array_size(json_object_get(r.json, "predictions")), 1);
	reply_free(&r);
}

static void test_predict_past(void **state)
{
	(void)state;
	/* a date inside the data: forecast from the publication before it, with the actual */
	reply r = call("POST", "/v1/predict", NULL,
		       "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
		       "\"date\":\"2025-02-14\"}");
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "as_of"), "2025-02-12");
	assert_string_equal(jstr(r.json, "target_date"), "2025-02-14");
	assert_true(json_is_real(json_object_get(r.json, "actual")));
	mc_forecast f = library_forecast("Jalisco", "Guadalajara", "pasteurizada", "tiendas",
					 mc_date_from_ymd(2025, 2, 12), 1);
	assert_true(json_real_value(json_object_get(r.json, "price")) == f.price);
	reply_free(&r);
	/* an explicit as_of (a Saturday): the targets follow it, as in predict --as-of */
	r = call("POST", "/v1/predict", NULL,
		 "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
		 "\"as_of\":\"2025-01-18\",\"horizon\":2}");
	assert_int_equal(r.status, 200);
	f = library_forecast("Jalisco", "Guadalajara", "pasteurizada", "tiendas",
			     mc_date_from_ymd(2025, 1, 18), 2);
	assert_true(json_real_value(json_object_get(r.json, "price")) == f.price);
	assert_string_equal(jstr(r.json, "origin"), "2025-01-17");
	reply_free(&r);
}

static void test_original_form(void **state)
{
	(void)state;
	reply a = call("POST", "/v1/predict", NULL,
		       "{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":"
		       "\"Pasteurizada\",\"Canal\":\"Autoservicio\",\"d\\u00eda\":2,\"mes\":4,"
		       "\"a\\u00f1o\":2025,\"dia_semana\":\"2\",\"Precio_lag1\":26.0,"
		       "\"Precio_mean7\":26.1}");
	reply b = call("POST", "/v1/predict", NULL,
		       "{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":"
		       "\"pasteurizada\",\"Canal\":\"Autoservicios\",\"dia\":\"2\",\"mes\":\"4\","
		       "\"anio\":2025,\"Precio_lag1\":\"26\"}");
	reply c = call("POST", "/v1/predict", NULL,
		       "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"autoservicios\"}");
	assert_int_equal(a.status, 200);
	assert_int_equal(b.status, 200);
	assert_int_equal(json_object_size(a.json), 1); /* exactly {"predicted_price": x} */
	double pa = json_real_value(json_object_get(a.json, "predicted_price"));
	assert_true(pa == json_real_value(json_object_get(b.json, "predicted_price")));
	assert_true(pa == json_real_value(json_object_get(c.json, "price")));
	reply_free(&a);
	reply_free(&b);
	reply_free(&c);
	/* a list, as the original handler accepted; a Saturday maps to the next publication */
	a = call("POST", "/v1/predict", NULL,
		 "[{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":\"Pasteurizada\","
		 "\"Canal\":\"Tiendas\",\"dia\":5,\"mes\":4,\"a\\u00f1o\":2025},{\"Estado\":"
		 "\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":\"Pasteurizada\",\"Canal\":"
		 "\"Tiendas\",\"dia\":2,\"mes\":4,\"a\\u00f1o\":2025}]");
	assert_int_equal(a.status, 422); /* 2025-04-05 → 04-07, beyond the model's 2 horizons */
	assert_string_equal(jstr(a.json, "error.field"), "[0].dia");
	reply_free(&a);
	a = call("POST", "/v1/predict", NULL,
		 "[{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":\"Pasteurizada\","
		 "\"Canal\":\"Tiendas\",\"dia\":3,\"mes\":4,\"a\\u00f1o\":2025},{\"Estado\":"
		 "\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":\"Pasteurizada\",\"Canal\":"
		 "\"Tiendas\",\"dia\":2,\"mes\":4,\"a\\u00f1o\":2025}]");
	assert_int_equal(a.status, 200);
	json_t *all = json_object_get(a.json, "predicted_prices");
	assert_int_equal(json_array_size(all), 2);
	mc_forecast f4 = library_forecast("Jalisco", "Guadalajara", "pasteurizada", "tiendas",
					  mc_date_from_ymd(2025, 3, 31), 2);
	assert_true(json_real_value(json_array_get(all, 0)) == f4.price); /* Thursday → Friday */
	reply_free(&a);
}

/* ---- the fast path: the same bytes as the general path, or the general path itself ---- */

/* POST body with the fast path on, then off: the same status and bytes; whether it was fast. */
static bool same_both_ways(const char *body, size_t len)
{
	reply r[2];
	uint64_t before = atomic_load(&router->fast_answers);
	for (int i = 0; i < 2; i++) {
		router->fast_path = i == 0;
		r[i] = call_in(router, "POST", "/v1/predict", NULL, NULL, body, len);
	}
	router->fast_path = true;
	if (r[0].status != r[1].status || strcmp(r[0].body, r[1].body))
		fprintf(stderr, "%s\n  fast: %d %s\n  general: %d %s\n", body, r[0].status,
			r[0].body, r[1].status, r[1].body);
	assert_int_equal(r[0].status, r[1].status);
	assert_string_equal(r[0].body, r[1].body);
	reply_free(&r[0]);
	reply_free(&r[1]);
	return atomic_load(&router->fast_answers) - before == 1;
}

static void fast(const char *body)
{
	if (!same_both_ways(body, strlen(body)))
		fprintf(stderr, "not taken: %s\n", body);
	assert_true(same_both_ways(body, strlen(body)));
}

static void general(const char *body)
{
	assert_false(same_both_ways(body, strlen(body)));
}

#define ORIG_GDL "\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":\"Pasteurizada\","

static void test_fast_path(void **state)
{
	(void)state;
	/* every served series, every horizon, in both forms */
	mc_served *m = mc_router_acquire(router);
	size_t taken = 0;
	for (size_t s = 0; s < m->panel->nseries; s++) {
		const mc_panel_series *ps = &m->panel->series[s];
		for (int h = 1; h <= m->horizons; h++) {
			char body[600];
			snprintf(body, sizeof body,
				 "{\"state\":\"%s\",\"city\":\"%s\",\"milk_type\":\"%s\","
				 "\"channel\":"
				 "\"%s\",\"horizon\":%d}",
				 ps->state, ps->city, ps->milk_type, ps->channel, h);
			taken += same_both_ways(body, strlen(body));
		}
		char body[600];
		snprintf(body, sizeof body,
			 "{\"Estado\":\"%s\",\"Ciudad\":\"%s\",\"Tipo\":\"%s\",\"Canal\":\"%s\","
			 "\"dia\":2,\"mes\":4,\"anio\":2025,\"Precio_lag1\":26.0}",
			 ps->state, ps->city, ps->milk_type, ps->channel);
		taken += same_both_ways(body, strlen(body));
	}
	/* every series with a forecast is answered fast; the others get the general 404 */
	assert_int_equal(taken, (m->latest->n / (size_t)m->horizons) * ((size_t)m->horizons + 1));
	mc_served_release(m);
	/* the flat form: names as SNIIM writes them, dates, as_of, the actual price, spacing */
	fast("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}");
	fast(" {\n\t\"state\" : \"JALISCO \", \"city\":\"guadalajara\",\r\n\"milk_type\":\"Leche "
	     "Pasteurizada\",\"channel\":\"Tienda\"} \n");
	fast("{\"state\":\"Nuevo Le\xc3\xb3n\",\"city\":\"Monterrey\",\"milk_type\":"
	     "\"pasteurizada\",\"channel\":\"autoservicios\",\"horizon\":2}");
	fast("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
	     "\"date\":\"2025-02-14\"}");
	fast("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
	     "\"as_of\":\"2025-01-18\",\"horizon\":2}");
	fast("{" GDL
	     ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"date\":\"2025-04-04\"}");
	/* the original form: día/dia, año/anio, the weekday and prices, extra keys ignored */
	fast("{" ORIG_GDL "\"Canal\":\"Autoservicio\",\"d\xc3\xad"
	     "a\":2,\"mes\":4,\"a\xc3\xb1o\":2025,\"dia_semana\":2,\"Precio_lag1\":26.0,"
	     "\"Precio_mean7\":26.1}");
	fast("{" ORIG_GDL "\"Canal\":\"Tiendas\",\"dia\":3,\"mes\":4,\"anio\":2025,"
	     "\"extra\":\"x\",\"otro\":-12.5,\"Precio_mean7\":-0}");
	fast("{" ORIG_GDL "\"Canal\":\"Tiendas\",\"dia\":14,\"mes\":2,\"a\xc3\xb1o\":2025}");
	/* anything unusual goes the general way, with the same answer */
	general("{\"state\":\"Jal\\u0069sco\",\"city\":\"Guadalajara\",\"milk_type\":"
		"\"pasteurizada\",\"channel\":\"tiendas\"}"); /* escape */
	general("{" GDL
		",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"horizon\":1.0}"); /* real
											      */
	general("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"horizon\":1e0}");
	general("{" GDL
		",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"horizon\":null}");
	general("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"horizon\":3}");
	general("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"horizon\":01}");
	general("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"x\":1}");
	general("{" GDL
		",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"city\":\"Colima\"}");
	general("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"} x");
	general("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",}");
	general("{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":[\"tiendas\"]}");
	general("{" GDL ",\"milk_type\":\"entera\",\"channel\":\"tiendas\"}");
	general("{\"state\":\"Jaliscoo\",\"city\":\"Guadalajara\",\"milk_type\":\"pasteurizada\","
		"\"channel\":\"tiendas\"}");
	general("{" GDL
		",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"date\":\"2024-01-01\"}");
	general("{" GDL
		",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"date\":\"2025-13-01\"}");
	general("{" GDL
		",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"date\":\"2025-04-10\"}");
	general("{\"instances\":[{" GDL
		",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}]}");
	general("{" ORIG_GDL "\"Canal\":\"Tiendas\",\"dia\":\"2\",\"mes\":4,\"anio\":2025}");
	general("{" ORIG_GDL "\"Canal\":\"Tiendas\",\"dia\":2,\"mes\":4,\"anio\":2025,"
		"\"Precio_lag1\":\"26\"}");
	general("{" ORIG_GDL "\"Canal\":\"Tiendas\",\"dia\":31,\"mes\":4,\"anio\":2025}");
	general("{" ORIG_GDL "\"Canal\":\"Tiendas\",\"dia\":2,\"mes\":4,\"anio\":2025,"
		"\"dia_semana\":7}");
	general("{" ORIG_GDL "\"Canal\":\"Tiendas\",\"dia\":2,\"mes\":4,\"anio\":2025,"
		"\"extra\":true}");
	general("{" ORIG_GDL "\"Canal\":\"Tiendas\",\"dia\":2,\"mes\":4}");
	general("{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"dia\":2,\"mes\":4,\"anio\":"
		"2025}");
	general("{}");
	general("{\"state\":\"Jal\xffsco\",\"city\":\"Guadalajara\",\"milk_type\":"
		"\"pasteurizada\",\"channel\":\"tiendas\"}");
	assert_false(same_both_ways("{\"state\":\"Jal\0isco\"}", 20));
}

static void test_forecast(void **state)
{
	(void)state;
	reply r =
		call("GET", "/v1/forecast",
		     "state=Jalisco&city=Guadalajara&milk_type=pasteurizada&channel=tiendas", NULL);
	assert_int_equal(r.status, 200);
	json_t *rows = json_object_get(r.json, "forecasts");
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(rows, 1), "h")), 2);
	reply_free(&r);
	r = call("GET", "/v1/forecast", "state=jalisco&horizon=1", NULL);
	assert_int_equal(r.status, 200);
	rows = json_object_get(r.json, "forecasts");
	assert_true(json_array_size(rows) >= 8); /* several cities × types × channels */
	for (size_t i = 0; i < json_array_size(rows); i++)
		assert_string_equal(jstr(json_array_get(rows, i), "state"), "Jalisco");
	reply_free(&r);
	/* percent-encoding and '+' for spaces */
	r = call("GET", "/v1/forecast", "state=Chihuahua&city=Cd.%20Ju%C3%A1rez&channel=tiendas",
		 NULL);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	r = call("GET", "/v1/forecast", "state=Nuevo+Le%C3%B3n&city=Monterrey&as_of=2025-02-14",
		 NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "as_of"), "2025-02-14");
	reply_free(&r);
	/* everything: the same rows as predict for the latest data */
	r = call("GET", "/v1/forecast", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_true(json_array_size(json_object_get(r.json, "forecasts")) > 300);
	reply_free(&r);
}

/* ---- what the lake adds to the snapshot ---- */

static const char *serving_data(mc_router *r)
{
	static char data[16];
	reply x = call_in(r, "GET", "/v1/models", NULL, NULL, NULL, 0);
	snprintf(data, sizeof data, "%s", jstr(x.json, "serving.data"));
	reply_free(&x);
	return data;
}

/* The same request to two routers: the same status and bytes. */
static void same_answer(mc_router *a, mc_router *b, const char *method, const char *path,
			const char *query, const char *body)
{
	size_t len = body ? strlen(body) : 0;
	reply x = call_in(a, method, path, query, NULL, body, len);
	reply y = call_in(b, method, path, query, NULL, body, len);
	assert_int_equal(x.status, y.status);
	assert_string_equal(x.body, y.body);
	reply_free(&x);
	reply_free(&y);
}

/*
 * The lake's last date is the snapshot's: the snapshot serves the latest
 * forecasts (the same bytes as from the whole lake), and the first request
 * that needs older history (or fails) swaps in the model read from the lake.
 */
static void test_lake_deferred(void **state)
{
	(void)state;
	reply x = call("GET", "/v1/series", NULL, NULL); /* `router` reads the whole lake now */
	reply_free(&x);
	assert_string_equal(serving_data(router), "lake");
	mc_router *d = new_router(NULL, NULL, home);
	assert_string_equal(serving_data(d), "snapshot");
	const char *one = "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}";
	same_answer(d, router, "POST", "/v1/predict", NULL, one);
	same_answer(
		d, router, "POST", "/v1/predict", NULL,
		"[{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
		"\"horizon\":2},{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":"
		"\"Pasteurizada\",\"Canal\":\"Autoservicio\",\"dia\":2,\"mes\":4,\"anio\":2025}]");
	same_answer(d, router, "GET", "/v1/forecast", NULL, NULL);
	same_answer(d, router, "GET", "/v1/forecast", "state=jalisco&as_of=2025-03-31", NULL);
	same_answer(d, router, "GET", "/readyz", NULL, NULL);
	assert_string_equal(serving_data(d), "snapshot"); /* none of that needed older data */
	/* a past as-of date reads the lake: the numbers of `milkcast predict` */
	const char *past = "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			   "\"as_of\":\"2025-01-18\",\"horizon\":2}";
	same_answer(d, router, "POST", "/v1/predict", NULL, past);
	assert_string_equal(serving_data(d), "lake");
	same_answer(d, router, "GET", "/v1/forecast", "as_of=2025-02-14", NULL);
	mc_router_free(d);
	/* so do the series list, and an error (which may depend on the older data) */
	d = new_router(NULL, NULL, home);
	same_answer(d, router, "GET", "/v1/series", NULL, NULL);
	assert_string_equal(serving_data(d), "lake");
	mc_router_free(d);
	d = new_router(NULL, NULL, home);
	same_answer(d, router, "POST", "/v1/predict", NULL,
		    "{\"state\":\"Jaliscoo\",\"city\":\"Guadalajara\",\"milk_type\":"
		    "\"pasteurizada\",\"channel\":\"tiendas\"}");
	assert_string_equal(serving_data(d), "lake");
	mc_router_free(d);
	d = new_router(NULL, NULL, home);
	same_answer(d, router, "GET", "/v1/forecast", "as_of=2023-01-01", NULL);
	assert_string_equal(serving_data(d), "lake");
	mc_router_free(d);
}

/* A copy of the workspace's lake with the months up to year-month only. */
static void lake_until(int year, int month, char *out, size_t cap)
{
	snprintf(out, cap, "%s/lake-until-%d-%02d", home, year, month);
	char cmd[1200];
	assert_true(
		(size_t)snprintf(
			cmd, sizeof cmd,
			"mkdir -p %s/lake/prices && cp -r %s/lake/prices/year=* %s/lake/prices/",
			out, home, out) < sizeof cmd);
	assert_int_equal(system(cmd), 0);
	for (int y = year, m = month + 1; y <= 2025; m = 1, y++)
		for (; m <= 12; m++) {
			snprintf(cmd, sizeof cmd, "rm -rf %s/lake/prices/year=%d/month=%02d", out,
				 y, m);
			assert_int_equal(system(cmd), 0);
		}
}

static void expect_served(mc_router *r, const char *data, const char *as_of)
{
	assert_non_null(r);
	assert_string_equal(serving_data(r), data);
	reply x = call_in(r, "GET", "/readyz", NULL, NULL, NULL, 0);
	assert_string_equal(jstr(x.json, "as_of"), as_of);
	reply_free(&x);
}

/* A lake newer than the snapshot (a later month, or later in its month) serves; an older one does
 * not. */
static void test_lake_newer_older(void **state)
{
	(void)state;
	char feb[4096], sha[65], upto_feb[300], upto_jan[300];
	train_bundle(3, mc_date_from_ymd(2025, 2, 14), feb, sizeof feb, sha, sizeof sha);
	lake_until(2025, 2, upto_feb, sizeof upto_feb);
	lake_until(2025, 1, upto_jan, sizeof upto_jan);
	/* newer by month: the whole lake, to its last date, as predict forecasts */
	mc_router *r = new_router(NULL, feb, home);
	expect_served(r, "lake", "2025-03-31");
	const char *one = "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}";
	reply x = call_in(r, "POST", "/v1/predict", NULL, NULL, one, strlen(one));
	assert_int_equal(x.status, 200);
	mc_forecast f = bundle_forecast(feb, "Jalisco", "Guadalajara", "pasteurizada", "tiendas",
					mc_date_from_ymd(2025, 3, 31), 1);
	assert_true(json_real_value(json_object_get(x.json, "price")) == f.price);
	reply_free(&x);
	mc_router_free(r);
	/* newer within the snapshot's month (2025-02-28 after 2025-02-14) */
	r = new_router(NULL, feb, upto_feb);
	expect_served(r, "lake", "2025-02-28");
	mc_router_free(r);
	/* older: the snapshot, also for past dates (as before: no lake to add) */
	r = new_router(NULL, feb, upto_jan);
	expect_served(r, "snapshot", "2025-02-14");
	x = call_in(r, "GET", "/v1/forecast", "as_of=2025-01-20&state=Jalisco", NULL, NULL, 0);
	assert_int_equal(x.status, 200);
	reply_free(&x);
	assert_string_equal(serving_data(r), "snapshot");
	mc_router_free(r);
	/* the lake changes: a reload reads it again, the same way */
	r = new_router(NULL, bundle1, upto_feb);
	expect_served(r, "snapshot", "2025-03-31");
	mc_router *g = new_router(NULL, feb, upto_jan);
	expect_served(g, "snapshot", "2025-02-14");
	char cmd[1400];
	snprintf(cmd, sizeof cmd,
		 "cp -r %s/lake/prices/year=2025/month=03 %s/lake/prices/year=2025/ && "
		 "cp -r %s/lake/prices/year=2025/month=02 %s/lake/prices/year=2025/",
		 home, upto_feb, upto_feb, upto_jan);
	assert_int_equal(system(cmd), 0);
	bool swapped = false;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_router_reload(r, false, &swapped, &err), MC_OK);
	assert_true(swapped);
	expect_served(r, "snapshot", "2025-03-31"); /* the same last date: deferred */
	x = call_in(r, "GET", "/v1/forecast", "as_of=2025-01-20&state=Jalisco", NULL, NULL, 0);
	assert_int_equal(x.status, 200);
	reply_free(&x);
	assert_string_equal(serving_data(r), "lake");
	assert_int_equal(mc_router_reload(r, false, &swapped, &err), MC_OK);
	assert_false(swapped); /* the lake read for the history is the one serving */
	assert_int_equal(mc_router_reload(g, false, &swapped, &err), MC_OK);
	assert_true(swapped);
	expect_served(g, "lake", "2025-02-28"); /* newer than the snapshot now */
	mc_router_free(g);
	mc_router_free(r);
}

static void test_models(void **state)
{
	(void)state;
	reply r = call("GET", "/v1/models", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(r.json, "serving.version"), "1");
	assert_string_equal(jstr(r.json, "serving.source"), bundle1);
	assert_string_equal(jstr(r.json, "registry.name"), MC_MODEL_NAME);
	assert_true(json_array_size(
			    json_object_get(json_object_get(r.json, "registry"), "versions")) >= 1);
	reply_free(&r);
}

static void test_metrics(void **state)
{
	(void)state;
	reply r = call("POST", "/v1/predict", NULL,
		       "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}");
	reply_free(&r);
	r = call("GET", "/metrics", NULL, NULL);
	assert_int_equal(r.status, 200);
	assert_null(r.json);
	static const char *const want[] = {
		"# TYPE http_requests_total counter",
		"http_requests_total{route=\"/v1/predict\",method=\"POST\",code=\"200\"} ",
		"# TYPE http_request_duration_seconds histogram",
		"http_request_duration_seconds_bucket{route=\"/v1/predict\",le=\"+Inf\"} ",
		"http_request_duration_seconds_sum{route=\"/v1/predict\"} ",
		"http_request_duration_seconds_count{route=\"/v1/predict\"} ",
		"milkcast_predictions_total ",
		"milkcast_model_info{name=\"milkcast-forecast\",version=\"1\"} 1",
		"milkcast_model_reloads_total{result=\"failure\"} ",
		"milkcast_prediction_log_dropped_total ",
		"process_resident_memory_bytes ",
		"process_start_time_seconds ",
		"milkcast_uptime_seconds ",
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		if (!strstr(r.body, want[i]))
			fail_msg("no '%s' in the metrics", want[i]);
	reply_free(&r);
}

static void test_admin(void **state)
{
	(void)state;
	reply r = call_in(router, "POST", "/admin/reload", NULL, NULL, NULL, 0);
	assert_string_equal(r.www_auth, "Bearer");
	expect_error(r, 401, "unauthorized", NULL);
	expect_error(call_in(router, "POST", "/admin/reload", NULL, "Bearer nope", NULL, 0), 403,
		     "forbidden", NULL);
	expect_error(call_in(router, "POST", "/admin/reload", NULL, "Basic " TOKEN, NULL, 0), 401,
		     "unauthorized", NULL);
	r = call_in(router, "POST", "/admin/reload", NULL, "Bearer " TOKEN, NULL, 0);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "reloaded")));
	reply_free(&r);
	mc_router *open = new_router(NULL, NULL, home);
	assert_non_null(open);
	expect_error(call_in(open, "POST", "/admin/reload", NULL, "Bearer " TOKEN, NULL, 0), 403,
		     "admin_disabled", NULL);
	mc_router_free(open);
}

/* ---- bad input ---- */

static void test_routes_and_methods(void **state)
{
	(void)state;
	expect_error(call("GET", "/nope", NULL, NULL), 404, "not_found", NULL);
	expect_error(call("GET", "/v1/predict/", NULL, NULL), 404, "not_found", NULL);
	reply r = call("GET", "/v1/predict", NULL, NULL);
	assert_string_equal(r.allow, "POST");
	expect_error(r, 405, "method_not_allowed", NULL);
	r = call("DELETE", "/v1/series", NULL, NULL);
	assert_string_equal(r.allow, "GET, HEAD");
	expect_error(r, 405, "method_not_allowed", NULL);
	expect_error(call_in(router, NULL, NULL, NULL, NULL, NULL, 0), 404, "not_found", NULL);
	expect_error(call("GET", "/\xff\xfe", NULL, NULL), 404, "not_found", NULL);
}

static void test_body_limits(void **state)
{
	(void)state;
	size_t n = 64 * 1024 + 1;
	char *big = malloc(n);
	memset(big, ' ', n);
	expect_error(call_in(router, "POST", "/v1/predict", NULL, NULL, big, n), 413,
		     "payload_too_large", NULL);
	free(big);
	mc_http_request req = {"POST", "/v1/predict", NULL, NULL, 0, "{}", 2, true};
	mc_http_response resp;
	mc_router_handle(router, &req, &resp); /* the transport stopped reading */
	assert_int_equal(resp.status, 413);
	mc_http_response_release(&resp);
	expect_error(call("POST", "/v1/predict", NULL, NULL), 400, "empty_body", NULL);
	expect_error(call("POST", "/v1/predict", NULL, ""), 400, "empty_body", NULL);
	/* 51 instances, one more than this router takes */
	mc_buf b = MC_BUF_INIT;
	mc_buf_printf(&b, "{\"instances\":[");
	for (int i = 0; i < 51; i++)
		mc_buf_printf(&b,
			      "%s{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}",
			      i ? "," : "");
	mc_buf_printf(&b, "]}");
	expect_error(call("POST", "/v1/predict", NULL, (char *)b.data), 413, "too_many_instances",
		     "instances");
	mc_buf_release(&b);
}

static void test_invalid_json(void **state)
{
	(void)state;
	reply r = call("POST", "/v1/predict", NULL, "{\"state\": \"Jalisco\",\n \"city\": }");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(r.json, "error"), "line")), 2);
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(r.json, "error"), "column")),
		10);
	assert_true(json_integer_value(
			    json_object_get(json_object_get(r.json, "error"), "position")) > 20);
	assert_non_null(strstr(jstr(r.json, "error.message"), "line 2 column 10"));
	expect_error(r, 400, "invalid_json", NULL);
	expect_error(call("POST", "/v1/predict", NULL, "{\"state\": \"Jal\xffsco\"}"), 400,
		     "invalid_json", NULL); /* not UTF-8 */
	expect_error(call("POST", "/v1/predict", NULL, "{\"a\":1,\"a\":2}"), 400, "invalid_json",
		     NULL);
	expect_error(call("POST", "/v1/predict", NULL, "{} trailing"), 400, "invalid_json", NULL);
	expect_error(call("POST", "/v1/predict", NULL, "{\"state\":\"a\\u0000b\"}"), 400,
		     "invalid_json", NULL);
	size_t depth = 20000;
	char *deep = malloc(2 * depth + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = 0;
	expect_error(call("POST", "/v1/predict", NULL, deep), 400, "invalid_json", NULL);
	free(deep);
	expect_error(
		call("POST", "/v1/predict", NULL, "{\"state\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}"),
		422, "invalid_field", "state");
}

static void test_wrong_fields(void **state)
{
	(void)state;
	expect_error(call("POST", "/v1/predict", NULL, "{\"state\":\"Jalisco\"}"), 422,
		     "missing_field", "city");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			  "\"horizon\":\"2\"}"),
		     422, "invalid_field", "horizon");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			  "\"horizon\":9}"),
		     422, "invalid_field", "horizon");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			  "\"horizon\":1.5}"),
		     422, "invalid_field", "horizon");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{\"instances\":[{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":"
			  "\"tiendas\"},{\"state\":\"Jalisco\",\"city\":7}]}"),
		     422, "invalid_field", "instances[1].city");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"entera\",\"channel\":\"tiendas\"}"),
		     422, "invalid_field", "milk_type");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			  "\"citty\":1}"),
		     422, "unknown_field", "citty");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			  "\"date\":\"4/2/2025\"}"),
		     422, "invalid_field", "date");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			  "\"date\":\"2025-04-03\"}"),
		     422, "invalid_field", "date"); /* a Thursday: not a target */
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			  "\"date\":\"2025-04-04\",\"horizon\":1}"),
		     422, "invalid_field", "horizon");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\","
			  "\"as_of\":\"2030-01-01\"}"),
		     422, "invalid_field", "as_of");
	expect_error(call("POST", "/v1/predict", NULL, "{\"instances\":{}}"), 422, "invalid_field",
		     "instances");
	expect_error(call("POST", "/v1/predict", NULL, "{\"instances\":[]}"), 422, "invalid_field",
		     "instances");
	expect_error(call("POST", "/v1/predict", NULL, "[1]"), 422, "invalid_field", "[0]");
	expect_error(call("POST", "/v1/predict", NULL, "\"Jalisco\""), 422, "invalid_body", NULL);
	expect_error(call("POST", "/v1/predict", NULL,
			  "{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":"
			  "\"Pasteurizada\",\"Canal\":\"Tiendas\",\"dia\":32,\"mes\":4,"
			  "\"a\\u00f1o\":2025}"),
		     422, "invalid_field", "dia");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":"
			  "\"Pasteurizada\",\"Canal\":\"Tiendas\",\"dia\":31,\"mes\":4,"
			  "\"a\\u00f1o\":2025}"),
		     422, "invalid_field", "dia"); /* April has 30 days */
	expect_error(call("POST", "/v1/predict", NULL,
			  "{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":"
			  "\"Pasteurizada\",\"Canal\":\"Mayoreo\",\"dia\":2,\"mes\":4,"
			  "\"a\\u00f1o\":2025}"),
		     422, "invalid_field", "Canal");
	expect_error(call("POST", "/v1/predict", NULL,
			  "{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":"
			  "\"Pasteurizada\",\"Canal\":\"Tiendas\",\"dia\":2,\"mes\":4,"
			  "\"a\\u00f1o\":2025,\"Precio_lag1\":[]}"),
		     422, "invalid_field", "Precio_lag1");
}

static void test_unknown_series(void **state)
{
	(void)state;
	reply r = call("POST", "/v1/predict", NULL,
		       "{\"state\":\"Jaliscoo\",\"city\":\"Guadalajarra\",\"milk_type\":"
		       "\"pasteurizada\",\"channel\":\"tiendas\"}");
	json_t *s = json_object_get(json_object_get(r.json, "error"), "suggestions");
	assert_true(json_array_size(s) >= 1);
	assert_string_equal(jstr(json_array_get(s, 0), "state"), "Jalisco");
	assert_string_equal(jstr(json_array_get(s, 0), "city"), "Guadalajara");
	assert_non_null(strstr(jstr(r.json, "error.message"), "Jalisco/Guadalajara"));
	expect_error(r, 404, "unknown_series", NULL);
	r = call("GET", "/v1/forecast", "state=Sonorra", NULL);
	assert_string_equal(
		jstr(json_array_get(
			     json_object_get(json_object_get(r.json, "error"), "suggestions"), 0),
		     "state"),
		"Sonora");
	expect_error(r, 404, "unknown_series", NULL);
	expect_error(call("POST", "/v1/predict", NULL,
			  "{\"state\":\"zzzzzzzzzzzz\",\"city\":\"qqqqqqqqqqq\",\"milk_type\":"
			  "\"pasteurizada\",\"channel\":\"tiendas\"}"),
		     404, "unknown_series", NULL);
}

static void test_bad_queries(void **state)
{
	(void)state;
	expect_error(call("GET", "/v1/forecast", "staet=Jalisco", NULL), 400, "unknown_parameter",
		     NULL);
	expect_error(call("GET", "/v1/forecast", "state=Jalisco&state=Sonora", NULL), 400,
		     "invalid_query", "state");
	expect_error(call("GET", "/v1/forecast", "state=%4", NULL), 400, "invalid_query", "state");
	expect_error(call("GET", "/v1/forecast", "state=%ff%fe", NULL), 400, "invalid_query",
		     "state");
	expect_error(call("GET", "/v1/forecast", "state=a%00b", NULL), 400, "invalid_query",
		     "state");
	expect_error(call("GET", "/v1/forecast", "horizon=0", NULL), 422, "invalid_field",
		     "horizon");
	expect_error(call("GET", "/v1/forecast", "horizon=2x", NULL), 422, "invalid_field",
		     "horizon");
	expect_error(call("GET", "/v1/forecast", "as_of=yesterday", NULL), 422, "invalid_field",
		     "as_of");
	expect_error(call("GET", "/v1/forecast", "channel=mayoreo", NULL), 422, "invalid_field",
		     "channel");
	reply r = call("GET", "/v1/forecast", "&&state=Jalisco&&horizon=1&", NULL);
	assert_int_equal(r.status, 200);
	reply_free(&r);
	char q[5000];
	memset(q, 'a', sizeof q - 1);
	q[sizeof q - 1] = 0;
	expect_error(call("GET", "/v1/forecast", q, NULL), 400, "invalid_query", NULL);
}

/* Random bytes and mangled requests: always an answer, always JSON, never a crash. */
static void test_fuzz(void **state)
{
	(void)state;
	const char *seed = "{\"instances\":[{\"state\":\"Jalisco\",\"city\":\"Guadalajara\","
			   "\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\",\"date\":"
			   "\"2025-04-04\",\"horizon\":2}],\"Estado\":\"x\",\"d\\u00eda\":3}";
	size_t n = strlen(seed);
	char buf[512];
	srand(12345);
	for (int i = 0; i < 3000; i++) {
		memcpy(buf, seed, n);
		size_t len = n - (size_t)(rand() % 8 == 0 ? rand() % (int)n : 0);
		for (int k = rand() % 4; k >= 0; k--)
			buf[rand() % (int)len] = (char)(rand() % 256);
		reply r = call_in(router, "POST", "/v1/predict", NULL, NULL, buf, len);
		assert_true(r.status == 200 || (r.status >= 400 && r.status < 500));
		reply_free(&r);
		char q[64];
		for (size_t k = 0; k < sizeof q - 1; k++)
			q[k] = (char)(1 + rand() % 255);
		q[sizeof q - 1] = 0;
		r = call("GET", "/v1/forecast", q, NULL);
		assert_true(r.status == 200 || (r.status >= 400 && r.status < 500));
		reply_free(&r);
	}
}

/* ---- reloads ---- */

static const char *serving_version(mc_router *r)
{
	static char v[32];
	reply x = call_in(r, "GET", "/readyz", NULL, NULL, NULL, 0);
	snprintf(v, sizeof v, "%s", jstr(x.json, "model.version"));
	reply_free(&x);
	return v;
}

static void copy_broken_bundle(const char *from, char *to, size_t cap)
{
	snprintf(to, cap, "%s/models/broken", home);
	char cmd[13000];
	snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && truncate -s 100 '%s/model.ubj'", from, to,
		 to);
	assert_int_equal(system(cmd), 0);
}

static void test_reload(void **state)
{
	(void)state;
	char dir2[4096], broken[4200];
	int v2, v3;
	bool swapped = true;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_router_reload(router, false, &swapped, &err), MC_OK);
	assert_false(swapped); /* nothing changed */
	train_and_register(11, dir2, sizeof dir2, &v2);
	set_champion(v2);
	assert_int_equal(mc_router_reload(router, false, &swapped, &err), MC_OK);
	assert_true(swapped);
	assert_string_equal(serving_version(router), "2");
	/* a broken champion is refused; the old model keeps serving */
	copy_broken_bundle(dir2, broken, sizeof broken);
	mc_store *s;
	assert_int_equal(mc_store_open(home, &s, &err), MC_OK);
	mc_version_info info = {broken, NULL, NULL, MC_VERSION, NULL};
	assert_int_equal(mc_registry_register(s, MC_MODEL_NAME, &info, &v3, &err), MC_OK);
	mc_store_free(s);
	set_champion(v3);
	assert_int_not_equal(mc_router_reload(router, false, &swapped, &err), MC_OK);
	assert_false(swapped);
	assert_non_null(strstr(err.msg, "model.ubj"));
	assert_string_equal(serving_version(router), "2");
	mc_error_clear(&err);
	assert_int_equal(mc_router_reload(router, false, &swapped, &err), MC_OK); /* not retried */
	assert_int_not_equal(mc_router_reload(router, true, &swapped, &err), MC_OK); /* forced */
	reply r = call("GET", "/metrics", NULL, NULL);
	assert_non_null(strstr(r.body, "milkcast_model_reloads_total{result=\"failure\"} 2"));
	assert_non_null(
		strstr(r.body, "milkcast_model_info{name=\"milkcast-forecast\",version=\"2\"}"));
	reply_free(&r);
	r = call_in(router, "POST", "/admin/reload", NULL, "Bearer " TOKEN, NULL, 0);
	assert_string_equal(jstr(r.json, "error.serving.version"), "2");
	expect_error(r, 500, "reload_failed", NULL);
	set_champion(v2);
	assert_int_equal(mc_router_reload(router, false, &swapped, &err), MC_OK);
	assert_false(swapped); /* already serving it */
}

typedef struct hammer {
	int ok, failed;
} hammer;

static void *hammer_main(void *arg)
{
	hammer *h = arg;
	const char *body = "{\"instances\":[{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":"
			   "\"tiendas\"},{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":"
			   "\"tiendas\",\"as_of\":\"2025-01-20\"}]}";
	for (int i = 0; i < 300; i++) {
		mc_http_request req = {"POST", "/v1/predict", NULL,	    NULL,
				       0,      body,	      strlen(body), false};
		mc_http_response resp;
		mc_router_handle(router, &req, &resp);
		if (resp.status == 200)
			h->ok++;
		else
			h->failed++;
		mc_http_response_release(&resp);
	}
	return NULL;
}

static void test_reload_under_load(void **state)
{
	(void)state;
	pthread_t t[4];
	hammer h[4] = {{0}};
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	for (int i = 0; i < 6; i++) {
		mc_error err = MC_ERROR_INIT;
		bool swapped;
		assert_int_equal(mc_router_reload(router, true, &swapped, &err), MC_OK);
		assert_true(swapped);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(h[i].failed, 0);
		assert_int_equal(h[i].ok, 300);
	}
}

/* ---- serving a bundle directory, from its snapshot; the prediction log ---- */

/* JSON lines in the day's prediction log of dir (each must parse). */
static size_t count_lines(const char *dir)
{
	char path[300], d[11], line[2048];
	mc_date_format_iso(mc_date_today(), d);
	snprintf(path, sizeof path, "%s/serve-%s.jsonl", dir, d);
	FILE *f = fopen(path, "r");
	size_t n = 0;
	while (f && fgets(line, sizeof line, f)) {
		json_t *j = json_loads(line, 0, NULL);
		assert_non_null(j);
		assert_non_null(json_object_get(j, "price"));
		json_decref(j);
		n++;
	}
	if (f)
		fclose(f);
	return n;
}

static void test_bundle_dir_and_log(void **state)
{
	(void)state;
	char other[128], dir[200];
	snprintf(other, sizeof other, "%s/other-home", home);
	mc_router *r = new_router(NULL, bundle1, other);
	assert_non_null(r);
	reply x = call_in(r, "GET", "/v1/series", NULL, NULL, NULL, 0);
	assert_string_equal(jstr(x.json, "data"), "snapshot");
	reply_free(&x);
	x = call_in(r, "GET", "/readyz", NULL, NULL, NULL, 0);
	assert_string_equal(jstr(x.json, "model.version"), strrchr(bundle1, '/') + 1);
	reply_free(&x);
	/* the snapshot holds the history a forecast reads: the same numbers as the lake */
	const char *body = "{" GDL ",\"milk_type\":\"pasteurizada\",\"channel\":\"tiendas\"}";
	x = call_in(r, "POST", "/v1/predict", NULL, NULL, body, strlen(body));
	mc_forecast f = library_forecast("Jalisco", "Guadalajara", "pasteurizada", "tiendas",
					 mc_date_from_ymd(2025, 3, 31), 1);
	assert_true(json_real_value(json_object_get(x.json, "price")) == f.price);
	reply_free(&x);
	x = call_in(r, "GET", "/v1/forecast", "state=Jalisco", NULL, NULL, 0);
	size_t rows = json_array_size(json_object_get(x.json, "forecasts"));
	reply_free(&x);
	mc_router_free(r); /* writes what is queued */
	snprintf(dir, sizeof dir, "%s/predictions", other);
	assert_int_equal(count_lines(dir), 1 + rows);
}

static void test_predlog_queue(void **state)
{
	(void)state;
	char dir[200];
	snprintf(dir, sizeof dir, "%s/qlog", home);
	mc_error err = MC_ERROR_INIT;
	mc_predlog *l;
	assert_int_equal(mc_predlog_new(dir, 4, &l, &err), MC_OK);
	mc_predlog_entry e = {.time_ms = mc_now_unix_ms(), .as_of = 20000, .h = 1, .price = 25};
	snprintf(e.state, sizeof e.state, "Jalisco");
	size_t accepted = 0;
	for (int i = 0; i < 2000; i++)
		accepted += mc_predlog_push(l, &e);
	uint64_t written, dropped, failed;
	mc_predlog_counts(l, &written, &dropped, &failed);
	assert_int_equal(accepted + dropped, 2000);
	mc_predlog_free(l);
	assert_int_equal(count_lines(dir), accepted);
}

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(mc_name_distance("Nuevo León", "nuevo leon"), 0);
	assert_int_equal(mc_name_distance("Cd.Juárez", "Cd. Juarez"), 0);
	assert_int_equal(mc_name_distance("Jaliscoo", "Jalisco"), 1);
	assert_int_equal(mc_name_distance("", "abc"), 3);
	assert_true(mc_utf8_valid("Le\xc3\xb3n", 5));
	assert_false(mc_utf8_valid("Le\xc3", 3));
	assert_false(mc_utf8_valid("\xed\xa0\x80", 3)); /* a surrogate */
	assert_false(mc_utf8_valid("\xc0\xaf", 2));	/* overlong */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_series),
		cmocka_unit_test(test_predict_one),
		cmocka_unit_test(test_predict_many),
		cmocka_unit_test(test_predict_past),
		cmocka_unit_test(test_original_form),
		cmocka_unit_test(test_fast_path),
		cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_lake_deferred),
		cmocka_unit_test(test_lake_newer_older),
		cmocka_unit_test(test_models),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_routes_and_methods),
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_invalid_json),
		cmocka_unit_test(test_wrong_fields),
		cmocka_unit_test(test_unknown_series),
		cmocka_unit_test(test_bad_queries),
		cmocka_unit_test(test_fuzz),
		cmocka_unit_test(test_bundle_dir_and_log),
		cmocka_unit_test(test_predlog_queue),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_reload_under_load),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
