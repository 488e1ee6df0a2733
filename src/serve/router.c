/*
 * The router: one function from a request to a response, whatever carried
 * the request (HTTP here, a Lambda event elsewhere).  The route table,
 * method and size checks, the small routes (health, readiness, series,
 * models, metrics, admin reload) and the JSON response helpers; the
 * forecasting routes are in api.c, model reloads in reload.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/registry.h"
#include "milkcast/store.h"
#include "serve/serve_int.h"

const char *const mc_route_paths[MC_ROUTE_COUNT] = {
	"/v1/predict", "/v1/forecast", "/v1/series",	"/v1/models", "/healthz",
	"/readyz",     "/metrics",     "/admin/reload", "unmatched",
};

/* ---- helpers ---- */

void mc_http_response_release(mc_http_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

const char *mc_http_request_header(const mc_http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (req->headers[i].name && !strcasecmp(req->headers[i].name, name))
			return req->headers[i].value;
	return NULL;
}

int64_t mc_now_unix_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Length of the UTF-8 sequence at s (1-4), or 0 when it is not valid (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (!len || len > n || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0; /* overlong, surrogate, above U+10FFFF */
	return len;
}

bool mc_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq(p + i, n - i);
		if (!len || (p[i] == 0))
			return false;
		i += len;
	}
	return true;
}

/* Replace bytes that are not UTF-8 by '?' so the text can go into JSON. */
static void utf8_sanitize(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t len = utf8_seq((unsigned char *)s + i, n - i);
		if (!len) {
			s[i] = '?';
			len = 1;
		}
		i += len;
	}
}

json_t *mc_date_json(int32_t day)
{
	char s[11];
	mc_date_format_iso(day, s);
	return json_string(s);
}

json_t *mc_model_json(const mc_served *m)
{
	return json_pack("{s:s, s:s}", "name", m->name, "version", m->version);
}

void mc_resp_json(mc_http_response *resp, int status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	resp->content_type = "application/json";
	if (!text) {
		status = 500;
		text = strdup("{\"error\":{\"code\":\"internal\",\"message\":\"cannot build the "
			      "response\"}}");
	}
	resp->status = status;
	resp->body = text;
	resp->body_len = text ? strlen(text) : 0;
}

void mc_resp_error(mc_http_response *resp, int status, const char *code, json_t *extra,
		   const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	utf8_sanitize(msg);
	json_t *e = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (e && extra)
		json_object_update(e, extra);
	json_decref(extra);
	mc_resp_json(resp, status, e ? json_pack("{s:o}", "error", e) : NULL);
}

mc_served *mc_router_acquire(mc_router *r)
{
	pthread_mutex_lock(&r->swap_lock);
	mc_served *m = r->current;
	if (m)
		atomic_fetch_add(&m->refs, 1);
	pthread_mutex_unlock(&r->swap_lock);
	return m;
}

/* ---- small routes ---- */

static void route_healthz(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	mc_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static void route_readyz(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	mc_served *m = mc_router_acquire(r);
	if (atomic_load(&r->draining))
		mc_resp_error(resp, 503, "draining", NULL, "the service is stopping");
	else if (!m)
		mc_resp_error(resp, 503, "not_ready", NULL, "no model is loaded");
	else
		mc_resp_json(resp, 200,
			     json_pack("{s:s, s:o, s:o}", "status", "ready", "model",
				       mc_model_json(m), "as_of", mc_date_json(m->latest->as_of)));
	mc_served_release(m);
}

static void route_series(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	mc_served *m = mc_router_acquire(r);
	if (!m) {
		mc_resp_error(resp, 503, "not_ready", NULL, "no model is loaded");
		return;
	}
	m = mc_router_history(r, m); /* first dates and counts of the whole history */
	const char *text = mc_served_series_json(m);
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body = text ? strdup(text) : NULL;
	resp->body_len = resp->body ? strlen(resp->body) : 0;
	if (!resp->body)
		mc_resp_error(resp, 500, "internal", NULL, "out of memory");
	mc_served_release(m);
}

static json_t *serving_json(const mc_served *m)
{
	char until[11];
	mc_date_format_iso(mc_bundle_until(m->bundle), until);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:s, s:s, s:o, s:I}", "name", m->name,
			 "version", m->version, "source", m->source, "loaded_at", m->loaded_at,
			 "horizons", m->horizons, "level", mc_bundle_level(m->bundle),
			 "trained_until", until, "data", m->from_lake ? "lake" : "snapshot",
			 "data_as_of", mc_date_json(m->latest->as_of), "series",
			 (json_int_t)(m->latest->n / (size_t)m->horizons));
}

static void route_models(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	mc_served *m = mc_router_acquire(r);
	json_t *registry = NULL;
	pthread_mutex_lock(&r->registry_lock);
	if (r->registry_json)
		registry = json_loads(r->registry_json, 0, NULL);
	pthread_mutex_unlock(&r->registry_lock);
	mc_resp_json(resp, 200,
		     json_pack("{s:o, s:o}", "serving", m ? serving_json(m) : json_null(),
			       "registry", registry ? registry : json_null()));
	mc_served_release(m);
}

static void route_metrics(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	mc_served *m = mc_router_acquire(r);
	mc_metrics_view v = {0};
	if (m) {
		v.model_name = m->name;
		v.model_version = m->version;
		v.series = m->latest->n / (size_t)m->horizons;
		v.data_as_of_unix = (double)m->latest->as_of * 86400.0;
	}
	if (r->log)
		mc_predlog_counts(r->log, &v.log_written, &v.log_dropped, &v.log_failed);
	mc_buf b = MC_BUF_INIT;
	mc_code rc = mc_serve_metrics_render(&r->metrics, &v, &b);
	mc_served_release(m);
	if (rc) {
		mc_buf_release(&b);
		mc_resp_error(resp, 500, "internal", NULL, "out of memory");
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	resp->body = (char *)mc_buf_detach(&b, &resp->body_len);
}

/* Equal tokens, in time that does not depend on where they differ. */
static bool token_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	unsigned char diff = na != nb;
	for (size_t i = 0; i < nb; i++)
		diff |= (unsigned char)(a[i < na ? i : 0] ^ b[i]);
	return !diff;
}

/* Whether the request may use an admin route; answers 401/403 itself when not. */
static bool admin_allowed(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	if (!r->admin_token) {
		mc_resp_error(resp, 403, "admin_disabled", NULL,
			      "admin routes are disabled: start the service with "
			      "MILKCAST_ADMIN_TOKEN set");
		return false;
	}
	const char *auth = mc_http_request_header(req, "Authorization");
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
		mc_resp_error(resp, 401, "unauthorized", NULL,
			      "admin routes need 'Authorization: Bearer TOKEN'");
		resp->headers[resp->nheaders++] = (mc_http_header){"WWW-Authenticate", "Bearer"};
		return false;
	}
	if (!token_equal(auth + 7, r->admin_token)) {
		mc_resp_error(resp, 403, "forbidden", NULL,
			      "the bearer token is not the admin token");
		return false;
	}
	return true;
}

static void route_admin_reload(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	if (!admin_allowed(r, req, resp))
		return;
	mc_error err = MC_ERROR_INIT;
	bool swapped = false;
	mc_code rc = mc_router_reload(r, true, &swapped, &err);
	mc_served *m = mc_router_acquire(r);
	json_t *model = m ? mc_model_json(m) : json_null();
	mc_served_release(m);
	if (rc)
		mc_resp_error(resp, 500, "reload_failed", json_pack("{s:o}", "serving", model),
			      "%s", err.msg);
	else
		mc_resp_json(resp, 200,
			     json_pack("{s:b, s:o}", "reloaded", swapped, "serving", model));
}

/* ---- dispatch ---- */

typedef void (*route_fn)(mc_router *r, const mc_http_request *req, mc_http_response *resp);

static const struct route {
	const char *method; /* GET routes answer HEAD too */
	const char *allow;
	route_fn fn;
} routes[MC_ROUTE_UNMATCHED] = {
	[MC_ROUTE_PREDICT] = {"POST", "POST", mc_api_predict},
	[MC_ROUTE_FORECAST] = {"GET", "GET, HEAD", mc_api_forecast},
	[MC_ROUTE_SERIES] = {"GET", "GET, HEAD", route_series},
	[MC_ROUTE_MODELS] = {"GET", "GET, HEAD", route_models},
	[MC_ROUTE_HEALTHZ] = {"GET", "GET, HEAD", route_healthz},
	[MC_ROUTE_READYZ] = {"GET", "GET, HEAD", route_readyz},
	[MC_ROUTE_METRICS] = {"GET", "GET, HEAD", route_metrics},
	[MC_ROUTE_ADMIN_RELOAD] = {"POST", "POST", route_admin_reload},
};

static int find_route(const char *path)
{
	for (int i = 0; path && i < MC_ROUTE_UNMATCHED; i++)
		if (!strcmp(path, mc_route_paths[i]))
			return i;
	return MC_ROUTE_UNMATCHED;
}

static bool method_allowed(const struct route *rt, const char *method)
{
	return !strcmp(method, rt->method) ||
	       (!strcmp(rt->method, "GET") && !strcmp(method, "HEAD"));
}

static void dispatch(mc_router *r, int route, const mc_http_request *req, mc_http_response *resp)
{
	const char *method = req->method ? req->method : "";
	if (route == MC_ROUTE_UNMATCHED) {
		mc_resp_error(resp, 404, "not_found", NULL, "no route '%.200s'",
			      req->path ? req->path : "");
	} else if (!method_allowed(&routes[route], method)) {
		mc_resp_error(resp, 405, "method_not_allowed", NULL, "%s takes %s, not %.20s",
			      mc_route_paths[route], routes[route].allow, method);
		resp->headers[resp->nheaders++] = (mc_http_header){"Allow", routes[route].allow};
	} else if (req->body_too_large || req->body_len > r->max_body) {
		mc_resp_error(resp, 413, "payload_too_large", NULL,
			      "the request body is larger than %zu bytes", r->max_body);
	} else {
		routes[route].fn(r, req, resp);
	}
}

void mc_router_handle(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	double t0 = monotonic_s();
	memset(resp, 0, sizeof *resp);
	int route = find_route(req->path);
	resp->route = mc_route_paths[route];
	dispatch(r, route, req, resp);
	mc_serve_metrics_observe(&r->metrics, route,
				 mc_serve_method_index(req->method ? req->method : ""),
				 resp->status, monotonic_s() - t0);
}

/* ---- lifecycle ---- */

void mc_router_opts_init(mc_router_opts *o)
{
	memset(o, 0, sizeof *o);
	o->model_name = MC_MODEL_NAME;
	o->max_body = 1 << 20;
	o->max_instances = 1000;
	o->use_lake = true;
	o->prediction_log = true;
	o->log_queue = 4096;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* Whether the workspace has a milkcast.db (a --model router does not create one). */
static bool has_registry(const char *home)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/milkcast.db", home);
	return mc_exists(path);
}

static mc_code router_open(mc_router *r, const mc_router_opts *o, mc_error *err)
{
	r->home = dup_or_null(o->home);
	r->model_dir = dup_or_null(o->model_dir);
	r->model_name = strdup(o->model_name ? o->model_name : MC_MODEL_NAME);
	r->admin_token = dup_or_null(o->admin_token);
	r->lake_uri = dup_or_null(o->lake_uri);
	if ((o->home && *o->home && !r->home) || (o->model_dir && *o->model_dir && !r->model_dir) ||
	    !r->model_name || (o->admin_token && *o->admin_token && !r->admin_token) ||
	    (o->lake_uri && *o->lake_uri && !r->lake_uri))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	r->max_body = o->max_body;
	r->max_instances = o->max_instances;
	r->use_lake = o->use_lake;
	const char *tmp = getenv("TMPDIR");
	if (r->home)
		snprintf(r->cache_dir, sizeof r->cache_dir, "%s/cache/bundles", r->home);
	else
		snprintf(r->cache_dir, sizeof r->cache_dir, "%s/milkcast-bundles",
			 tmp && *tmp ? tmp : "/tmp");
	mc_code rc = MC_OK;
	if (r->home && (!r->model_dir || has_registry(r->home)))
		rc = mc_store_open(r->home, &r->store, err);
	if (!rc && r->home && o->prediction_log) {
		char path[4200];
		snprintf(path, sizeof path, "%s/predictions", r->home);
		rc = mc_predlog_new(path, o->log_queue, &r->log, err);
	}
	if (!rc && r->home) {
		char path[4200];
		snprintf(path, sizeof path, "%s/metrics/milkcast_monitor.prom", r->home);
		rc = mc_serve_metrics_textfile(&r->metrics, path, err);
	}
	if (!rc && !r->store && !r->model_dir)
		rc = mc_fail(err, MC_ERR_INVALID, "nothing to serve: give a workspace or a bundle");
	return rc;
}

mc_code mc_router_new(const mc_router_opts *o, mc_router **out, mc_error *err)
{
	*out = NULL;
	json_object_seed(0); /* before any thread parses JSON */
	mc_router *r = calloc(1, sizeof *r);
	if (!r)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&r->swap_lock, NULL);
	pthread_mutex_init(&r->reload_lock, NULL);
	pthread_mutex_init(&r->registry_lock, NULL);
	mc_serve_metrics_init(&r->metrics);
	atomic_init(&r->draining, false);
	r->fast_path = true;
	mc_code rc = router_open(r, o, err);
	if (!rc)
		rc = mc_router_load_first(r, err);
	if (rc) {
		mc_router_free(r);
		return rc;
	}
	*out = r;
	return MC_OK;
}

void mc_router_free(mc_router *r)
{
	if (!r)
		return;
	mc_predlog_free(r->log);
	mc_served_release(r->current);
	mc_store_free(r->store);
	mc_serve_metrics_release(&r->metrics);
	pthread_mutex_destroy(&r->swap_lock);
	pthread_mutex_destroy(&r->reload_lock);
	pthread_mutex_destroy(&r->registry_lock);
	free(r->registry_json);
	free(r->home);
	free(r->model_dir);
	free(r->model_name);
	free(r->admin_token);
	free(r->lake_uri);
	free(r);
}

size_t mc_router_max_body(const mc_router *r)
{
	return r->max_body;
}

void mc_router_set_draining(mc_router *r, bool draining)
{
	atomic_store(&r->draining, draining);
}

void mc_router_describe(mc_router *r, char *out, size_t cap)
{
	mc_served *m = mc_router_acquire(r);
	if (!m) {
		snprintf(out, cap, "no model");
		return;
	}
	char d[11];
	mc_date_format_iso(m->latest->as_of, d);
	snprintf(out, cap, "%s version %s, %zu series as of %s (%s)", m->name, m->version,
		 m->latest->n / (size_t)m->horizons, d, m->from_lake ? "lake" : "snapshot");
	mc_served_release(m);
}
