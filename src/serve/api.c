/*
 * The forecasting routes: POST /v1/predict (one instance, many, or the
 * original system's request) and GET /v1/forecast.  Every input is checked
 * before it is used; errors name the field (`instances[3].horizon`) and,
 * for series that do not exist, the closest ones that do.  Forecasts come
 * from the served model's sets (mc_served_forecasts), the same
 * mc_bundle_forecast() rows `milkcast predict` writes.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/json_kind.h"
#include "milkcast/series.h"
#include "serve/serve_int.h"

/* An error on its way to the response. */
typedef struct api_err {
	int status;
	const char *code;
	char field[96];
	char msg[480];
	json_t *extra; /* more members of the error object (suggestions) */
} api_err;

static bool fail(api_err *e, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static bool fail(api_err *e, int status, const char *code, const char *field, const char *fmt, ...)
{
	e->status = status;
	e->code = code;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return false;
}
#ifdef __clang_analyzer__
/* For clang-tidy's analyzer, which does not look inside variadic functions. */
#define fail(e, status, ...) (fail((e), (status), __VA_ARGS__), false)
#endif

static void respond_error(mc_http_response *resp, api_err *e)
{
	json_t *extra = e->extra ? e->extra : json_object();
	if (e->field[0])
		json_object_set_new(extra, "field", json_string(e->field));
	e->extra = NULL;
	mc_resp_error(resp, e->status, e->code, extra, "%s", e->msg);
}

/* ---- reading fields ---- */

/* A request's instance, as read: names as sent, dates in days (INT32_MIN = not given). */
typedef struct instance {
	const char *state, *city, *milk_type, *channel;
	int32_t date, as_of;
	int horizon; /* 0 = not given */
	bool original;
	const char *day_key; /* the original form's day field: "día" or "dia" */
	char prefix[32];     /* "instances[3]." for messages */
} instance;

static void field_name(const instance *in, const char *key, char *out, size_t cap)
{
	snprintf(out, cap, "%s%.60s", in->prefix, key);
}

static bool get_string(json_t *o, const instance *in, const char *key, bool required,
		       const char **out, api_err *e)
{
	char f[96];
	field_name(in, key, f, sizeof f);
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return !required || fail(e, 422, "missing_field", f, "missing field '%s'", f);
	if (!json_is_string(v))
		return fail(e, 422, "invalid_field", f, "'%s' must be a string, not %s", f,
			    mc_json_kind(v));
	if (json_string_length(v) > 200)
		return fail(e, 422, "invalid_field", f, "'%s' is longer than 200 bytes", f);
	*out = json_string_value(v);
	return true;
}

static bool get_date(json_t *o, const instance *in, const char *key, int32_t *out, api_err *e)
{
	const char *s;
	*out = INT32_MIN;
	if (!get_string(o, in, key, false, &s, e))
		return false;
	if (s && !mc_date_parse_iso(s, out)) {
		char f[96];
		field_name(in, key, f, sizeof f);
		return fail(e, 422, "invalid_field", f,
			    "'%s' must be a date YYYY-MM-DD, not '%.40s'", f, s);
	}
	return true;
}

/* An integer in [lo, hi]: a JSON integer, a number with no fraction, or (lenient) digits. */
static bool get_int(json_t *o, const instance *in, const char *key, long lo, long hi, bool strings,
		    long *out, api_err *e)
{
	char f[96];
	field_name(in, key, f, sizeof f);
	json_t *v = json_object_get(o, key);
	double x = NAN;
	if (json_is_integer(v))
		x = (double)json_integer_value(v);
	else if (json_is_real(v))
		x = json_real_value(v);
	else if (strings && json_is_string(v) && json_string_length(v) < 12) {
		char *end;
		x = strtod(json_string_value(v), &end);
		if (end == json_string_value(v) || *end)
			x = NAN;
	}
	if (!(x >= (double)lo && x <= (double)hi && x == floor(x)))
		return fail(e, 422, "invalid_field", f,
			    "'%s' must be an integer from %ld to %ld%s%s", f, lo, hi,
			    v ? ", not " : "", v ? mc_json_kind(v) : "");
	*out = (long)x;
	return true;
}

/* A number, a numeric string, or null (the original form's prices); its value is not used. */
static bool check_number(json_t *o, const instance *in, const char *key, api_err *e)
{
	json_t *v = json_object_get(o, key);
	char *end = NULL;
	if (!v || json_is_null(v) || json_is_number(v))
		return true;
	if (json_is_string(v)) {
		double x = strtod(json_string_value(v), &end);
		if (end != json_string_value(v) && !*end && isfinite(x))
			return true;
	}
	char f[96];
	field_name(in, key, f, sizeof f);
	return fail(e, 422, "invalid_field", f, "'%s' must be a number, not %s", f,
		    mc_json_kind(v));
}

/* ---- the two request forms ---- */

static const char *const instance_keys[] = {"state", "city",	"milk_type", "channel",
					    "date",  "horizon", "as_of",     NULL};

static bool known_key(const char *key)
{
	for (const char *const *k = instance_keys; *k; k++)
		if (!strcmp(key, *k))
			return true;
	return false;
}

static bool parse_instance(json_t *o, int horizons, instance *in, api_err *e)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (!known_key(key)) {
			char f[96];
			field_name(in, key, f, sizeof f);
			return fail(e, 422, "unknown_field", f,
				    "unknown field '%s' (an instance has state, city, milk_type, "
				    "channel, and optionally date, horizon, as_of)",
				    f);
		}
	}
	long h = 0;
	if (!get_string(o, in, "state", true, &in->state, e) ||
	    !get_string(o, in, "city", true, &in->city, e) ||
	    !get_string(o, in, "milk_type", true, &in->milk_type, e) ||
	    !get_string(o, in, "channel", true, &in->channel, e) ||
	    !get_date(o, in, "date", &in->date, e) || !get_date(o, in, "as_of", &in->as_of, e))
		return false;
	v = json_object_get(o, "horizon");
	if (v && !json_is_null(v) && !get_int(o, in, "horizon", 1, horizons, false, &h, e))
		return false;
	in->horizon = (int)h;
	return true;
}

static bool is_original(const json_t *o)
{
	return json_is_object(o) && (json_object_get(o, "Estado") || json_object_get(o, "Ciudad") ||
				     json_object_get(o, "Tipo") || json_object_get(o, "Canal"));
}

/* The first of the keys the object has (día is also written dia). */
static const char *which_key(json_t *o, const char *a, const char *b)
{
	return json_object_get(o, a) || !json_object_get(o, b) ? a : b;
}

/*
 * The original system's request: Estado, Ciudad, Tipo, Canal, the target day
 * as día (or dia), mes, año, and dia_semana, Precio_lag1, Precio_mean7, which
 * its model took as inputs; here the prices are checked but the model's own
 * features come from the data, and the weekday follows from the date.
 */
static bool parse_original(json_t *o, instance *in, api_err *e)
{
	long d, mo, y, wd;
	const char *dk = which_key(o,
				   "d\xc3\xad"
				   "a",
				   "dia"),
		   *yk = which_key(o, "a\xc3\xb1o", "anio");
	in->original = true;
	in->day_key = dk;
	in->as_of = INT32_MIN;
	if (!get_string(o, in, "Estado", true, &in->state, e) ||
	    !get_string(o, in, "Ciudad", true, &in->city, e) ||
	    !get_string(o, in, "Tipo", true, &in->milk_type, e) ||
	    !get_string(o, in, "Canal", true, &in->channel, e) ||
	    !get_int(o, in, dk, 1, 31, true, &d, e) ||
	    !get_int(o, in, "mes", 1, 12, true, &mo, e) ||
	    !get_int(o, in, yk, 2000, 2100, true, &y, e) ||
	    (json_object_get(o, "dia_semana") &&
	     !get_int(o, in, "dia_semana", 0, 6, true, &wd, e)) ||
	    !check_number(o, in, "Precio_lag1", e) || !check_number(o, in, "Precio_mean7", e))
		return false;
	if (!mc_date_valid_ymd((int)y, (int)mo, (int)d)) {
		char f[96];
		field_name(in, dk, f, sizeof f);
		return fail(e, 422, "invalid_field", f, "%ld-%02ld-%02ld is not a date", y, mo, d);
	}
	in->date = mc_date_from_ymd((int)y, (int)mo, (int)d);
	return true;
}

static bool parse_item(json_t *o, int horizons, instance *in, api_err *e)
{
	if (!json_is_object(o)) {
		char f[40];
		snprintf(f, sizeof f, "%.*s", (int)strlen(in->prefix) - 1, in->prefix);
		return fail(e, 422, "invalid_field", f, "'%s' must be an object, not %s",
			    f[0] ? f : "the body", mc_json_kind(o));
	}
	return is_original(o) ? parse_original(o, in, e) : parse_instance(o, horizons, in, e);
}

/* ---- answering ---- */

typedef struct answer {
	mc_forecast f;
	int32_t last_date; /* of the last price at or before the origin */
	double actual;	   /* the published price at the target, NaN when not known */
} answer;

/* The forecast sets one request uses: the last one is kept (instances often share it). */
typedef struct set_cache {
	mc_fcset *set;
} set_cache;

static bool get_set(mc_served *m, int32_t as_of, set_cache *c, api_err *e)
{
	if (c->set && c->set->as_of == as_of)
		return true;
	mc_fcset_release(c->set);
	c->set = NULL;
	mc_error err = MC_ERROR_INIT;
	if (mc_served_forecasts(m, as_of, &c->set, &err))
		return fail(e, 500, "internal", NULL, "cannot forecast: %s", err.msg);
	return true;
}

static json_t *suggestions(const mc_served *m, const char *state, const char *city)
{
	size_t idx[5];
	size_t n = mc_series_suggest(m->panel, state, city, idx, 5);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "state",
						   m->panel->series[idx[i]].state, "city",
						   m->panel->series[idx[i]].city));
	return a;
}

/* 404 for a series that is not served, with the closest places. */
static bool unknown_series(const mc_served *m, const char *state, const char *city, const char *why,
			   api_err *e)
{
	json_t *close = suggestions(m, state, city);
	char names[300] = "";
	size_t i;
	json_t *s;
	json_array_foreach(close, i, s)
	{
		size_t len = strlen(names);
		snprintf(names + len, sizeof names - len, "%s%s/%s", i ? ", " : "",
			 json_string_value(json_object_get(s, "state")),
			 json_string_value(json_object_get(s, "city")));
	}
	e->extra = json_pack("{s:o}", "suggestions", close);
	return fail(e, 404, "unknown_series", NULL, "%s%s%s", why,
		    names[0] ? "; close: " : " (GET /v1/series lists the series)", names);
}

/* The served series the instance names, or an error (422 for bad kinds, 404 unknown). */
static bool find_series(mc_served *m, const instance *in, size_t *s, api_err *e)
{
	const char *const names[4] = {in->state, in->city, in->milk_type, in->channel};
	long known = mc_served_names_get(m, names);
	if (known >= 0) {
		*s = (size_t)known;
		return true;
	}
	mc_series_query q;
	const char *field;
	mc_error err = MC_ERROR_INIT;
	char f[96];
	if (mc_series_query_resolve(in->state, in->city, in->milk_type, in->channel, &q, &field,
				    &err)) {
		if (!field) {
			char why[400];
			snprintf(why, sizeof why, "%.200s: '%.80s'/'%.80s'", err.msg, in->state,
				 in->city);
			return unknown_series(m, in->state, in->city, why, e);
		}
		field_name(in, in->original ? (*field == 'm' ? "Tipo" : "Canal") : field, f,
			   sizeof f);
		return fail(e, 422, "invalid_field", f, "%s", err.msg);
	}
	long i = mc_served_find(m, q.state, q.city, q.milk_type, q.channel);
	if (i < 0) {
		char why[300];
		snprintf(why, sizeof why, "no %s %s prices are served for %s/%s", q.milk_type,
			 q.channel, q.state, q.city);
		return unknown_series(m, q.state, q.city, why, e);
	}
	mc_served_names_put(m, names, i);
	*s = (size_t)i;
	return true;
}

/* As-of date of an instance: given, the last data before its date, or the latest. */
static bool instance_as_of(const mc_served *m, const instance *in, int32_t *as_of, api_err *e)
{
	const mc_panel *p = m->panel;
	char f[96], first[11], last[11];
	long k = in->date != INT32_MIN ? mc_panel_date_index(p, in->date - 1) : 0;
	bool given = in->as_of != INT32_MIN;
	if ((given && (in->as_of < p->dates[0] || in->as_of > p->dates[p->ndates - 1])) ||
	    (!given && k < 0)) { /* the names and dates of the message only now */
		mc_date_format_iso(p->dates[0], first);
		mc_date_format_iso(p->dates[p->ndates - 1], last);
		field_name(in, given ? "as_of" : in->original ? in->day_key : "date", f, sizeof f);
		return given ? fail(e, 422, "invalid_field", f,
				    "'%s' must be from %s (the first data) to %s (the latest)", f,
				    first, last)
			     : fail(e, 422, "invalid_field", f,
				    "the date must be after %s, the first data", first);
	}
	*as_of = given ? in->as_of : in->date != INT32_MIN ? p->dates[k] : m->latest->as_of;
	return true;
}

/*
 * A deferred model (its snapshot serves, the lake holds the same data and
 * older) answers only as of its latest data; other dates need the lake's
 * history (the caller then asks mc_router_history and tries again).
 */
static bool latest_only(const mc_served *m, int32_t as_of, api_err *e)
{
	return !m->lake_deferred || as_of == m->latest->as_of ||
	       fail(e, 503, "history_unavailable", NULL,
		    "the lake's history before the model's snapshot cannot be read now");
}

/* Which of the series' forecast rows the instance asks for (0-based horizon). */
static bool pick_row(const mc_served *m, const mc_forecast *f, const instance *in, int *j,
		     api_err *e)
{
	int H = m->horizons;
	*j = in->horizon ? in->horizon - 1 : 0;
	if (in->date == INT32_MIN)
		return true;
	int found = -1;
	for (int i = 0; i < H && found < 0; i++)
		if (in->original ? f[i].target >= in->date : f[i].target == in->date)
			found = i;
	char fld[96], targets[160] = "", from[11], want[11];
	if (found >= 0 && (!in->horizon || in->horizon - 1 == found)) {
		*j = found;
		return true;
	}
	field_name(in,
		   found >= 0	  ? "horizon"
		   : in->original ? in->day_key
				  : "date",
		   fld, sizeof fld);
	for (int i = 0; i < H; i++) {
		char t[11];
		mc_date_format_iso(f[i].target, t);
		size_t len = strlen(targets);
		snprintf(targets + len, sizeof targets - len, "%s%s", i ? ", " : "", t);
	}
	mc_date_format_iso(f[0].as_of, from);
	mc_date_format_iso(in->date, want);
	if (found >= 0)
		return fail(e, 422, "invalid_field", fld, "'%s' is %d but %s is horizon %d from %s",
			    fld, in->horizon, want, found + 1, from);
	return fail(e, 422, "invalid_field", fld,
		    "%s is not a forecast target: from data of %s the model forecasts %s", want,
		    from, targets);
}

/* Date of the last price of series s at or before date index k (0 = none). */
static int32_t last_price_date(const mc_panel *p, size_t s, long k)
{
	for (; k >= 0; k--)
		if (!isnan(mc_panel_price(p, s, (size_t)k)))
			return p->dates[k];
	return 0;
}

static void fill_answer(const mc_served *m, const mc_forecast *f, answer *a)
{
	const mc_panel *p = m->panel;
	a->f = *f;
	a->last_date = last_price_date(p, f->series, mc_panel_date_index(p, f->origin));
	long t = mc_panel_date_index(p, f->target);
	a->actual =
		t >= 0 && p->dates[t] == f->target ? mc_panel_price(p, f->series, (size_t)t) : NAN;
}

static bool answer_instance(mc_served *m, const instance *in, set_cache *c, answer *a, api_err *e)
{
	size_t s = 0;
	int32_t as_of = 0;
	int j = 0;
	if (!find_series(m, in, &s, e) || !instance_as_of(m, in, &as_of, e) ||
	    !latest_only(m, as_of, e) || !get_set(m, as_of, c, e))
		return false;
	long row = c->set->first[s];
	if (row < 0) {
		char d[11];
		mc_date_format_iso(as_of, d);
		return fail(e, 404, "no_forecast", NULL,
			    "%s/%s %s %s has too little history on %s: a forecast needs %d prices "
			    "in the last %d publications",
			    m->panel->series[s].state, m->panel->series[s].city,
			    m->panel->series[s].milk_type, m->panel->series[s].channel, d,
			    MC_FEATURES_MIN_OBS, MC_FEATURES_LOOKBACK);
	}
	if (!pick_row(m, c->set->fc + row, in, &j, e))
		return false;
	fill_answer(m, &c->set->fc[row + j], a);
	return true;
}

/* ---- responses ---- */

static json_t *real_or_null(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *answer_json(const mc_served *m, const answer *a)
{
	const mc_panel_series *ps = &m->panel->series[a->f.series];
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:i, s:f, s:f, s:f, s:f, s:b, s:o, s:o}",
		"state", ps->state, "city", ps->city, "milk_type", ps->milk_type, "channel",
		ps->channel, "as_of", mc_date_json(a->f.as_of), "origin", mc_date_json(a->f.origin),
		"target_date", mc_date_json(a->f.target), "horizon", a->f.h, "price", a->f.price,
		"lower", a->f.lower, "upper", a->f.upper, "level", mc_bundle_level(m->bundle),
		"from_model", a->f.from_model, "last_price", real_or_null(a->f.last), "last_date",
		a->last_date ? mc_date_json(a->last_date) : json_null());
	if (o && isfinite(a->actual))
		json_object_set_new(o, "actual", json_real(a->actual));
	return o;
}

/* s into dst[cap], cut to cap - 1 bytes as snprintf would. */
static void copy_text(char *dst, size_t cap, const char *s)
{
	size_t n = strnlen(s, cap - 1);
	memcpy(dst, s, n);
	dst[n] = 0;
}

/* Count the forecasts served and queue them for the prediction log. */
static void record(mc_router *r, const mc_served *m, const mc_forecast *f, int route,
		   int64_t now_ms)
{
	atomic_fetch_add_explicit(&r->metrics.predictions, 1, memory_order_relaxed);
	if (!r->log)
		return;
	const mc_panel_series *ps = &m->panel->series[f->series];
	mc_predlog_entry e = {.time_ms = now_ms,
			      .as_of = f->as_of,
			      .origin = f->origin,
			      .target = f->target,
			      .h = f->h,
			      .price = f->price,
			      .lower = f->lower,
			      .upper = f->upper,
			      .last = f->last,
			      .route = (uint8_t)route};
	copy_text(e.state, sizeof e.state, ps->state);
	copy_text(e.city, sizeof e.city, ps->city);
	copy_text(e.milk_type, sizeof e.milk_type, ps->milk_type);
	copy_text(e.channel, sizeof e.channel, ps->channel);
	copy_text(e.version, sizeof e.version, m->version);
	mc_predlog_push(r->log, &e);
}

/* The original form's answer: {"predicted_price": x}, and every price for a list. */
static json_t *original_json(const answer *a, size_t n, bool list)
{
	json_t *o = json_pack("{s:f}", "predicted_price", a[0].f.price);
	if (o && list && n > 1) {
		json_t *all = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(all, json_real(a[i].f.price));
		json_object_set_new(o, "predicted_prices", all);
	}
	return o;
}

static json_t *answers_json(const mc_served *m, const answer *a, size_t n, bool multi,
			    bool original)
{
	if (original)
		return original_json(a, n, multi);
	if (!multi) {
		json_t *o = answer_json(m, &a[0]);
		if (o)
			json_object_set_new(o, "model", mc_model_json(m));
		return o;
	}
	json_t *list = json_array();
	for (size_t i = 0; list && i < n; i++)
		json_array_append_new(list, answer_json(m, &a[i]));
	return json_pack("{s:o, s:o}", "model", mc_model_json(m), "predictions", list);
}

/* ---- the fast path: one flat object answered without jansson ---- */

#define FAST_MAX_BODY 2048

static bool flat_name(const mc_flat_member *m, size_t n, const char *key, const char **out)
{
	const mc_flat_member *v = mc_flat_get(m, n, key);
	*out = v ? v->str : NULL;
	return v && v->type == MC_FLAT_STRING && v->len <= 200;
}

static bool flat_int(const mc_flat_member *m, size_t n, const char *key, long lo, long hi,
		     long *out)
{
	const mc_flat_member *v = mc_flat_get(m, n, key);
	*out = v ? (long)v->ival : 0;
	return v && v->type == MC_FLAT_INT && v->ival >= lo && v->ival <= hi;
}

static bool flat_date(const mc_flat_member *m, size_t n, const char *key, int32_t *out)
{
	const mc_flat_member *v = mc_flat_get(m, n, key);
	*out = INT32_MIN;
	return !v || (v->type == MC_FLAT_STRING && v->len <= 200 && mc_date_parse_iso(v->str, out));
}

/* What parse_instance() reads from the same object, when it would read it without an error. */
static bool flat_instance(const mc_flat_member *m, size_t n, int horizons, instance *in)
{
	long h = 0;
	for (size_t i = 0; i < n; i++)
		if (!known_key(m[i].key))
			return false;
	if (!flat_name(m, n, "state", &in->state) || !flat_name(m, n, "city", &in->city) ||
	    !flat_name(m, n, "milk_type", &in->milk_type) ||
	    !flat_name(m, n, "channel", &in->channel) || !flat_date(m, n, "date", &in->date) ||
	    !flat_date(m, n, "as_of", &in->as_of) ||
	    (mc_flat_get(m, n, "horizon") && !flat_int(m, n, "horizon", 1, horizons, &h)))
		return false;
	in->horizon = (int)h;
	return true;
}

static bool flat_price(const mc_flat_member *m, size_t n, const char *key)
{
	const mc_flat_member *v = mc_flat_get(m, n, key);
	return !v || v->type != MC_FLAT_STRING;
}

/* What parse_original() reads from the same object, when it would read it without an error. */
static bool flat_original(const mc_flat_member *m, size_t n, instance *in)
{
	static const char dia[] = "d\xc3\xad"
				  "a",
			  ano[] = "a\xc3\xb1o";
	const char *dk = mc_flat_get(m, n, dia) || !mc_flat_get(m, n, "dia") ? dia : "dia",
		   *yk = mc_flat_get(m, n, ano) || !mc_flat_get(m, n, "anio") ? ano : "anio";
	long d, mo, y, wd;
	if (!flat_name(m, n, "Estado", &in->state) || !flat_name(m, n, "Ciudad", &in->city) ||
	    !flat_name(m, n, "Tipo", &in->milk_type) || !flat_name(m, n, "Canal", &in->channel) ||
	    !flat_int(m, n, dk, 1, 31, &d) || !flat_int(m, n, "mes", 1, 12, &mo) ||
	    !flat_int(m, n, yk, 2000, 2100, &y) ||
	    (mc_flat_get(m, n, "dia_semana") && !flat_int(m, n, "dia_semana", 0, 6, &wd)) ||
	    !flat_price(m, n, "Precio_lag1") || !flat_price(m, n, "Precio_mean7") ||
	    !mc_date_valid_ymd((int)y, (int)mo, (int)d))
		return false;
	in->original = true;
	in->day_key = dk;
	in->date = mc_date_from_ymd((int)y, (int)mo, (int)d);
	return true;
}

static bool member(mc_buf *b, const char *key)
{
	return mc_jw_raw(b, ",", 1) && mc_jw_string(b, key) && mc_jw_raw(b, ":", 1);
}

static bool member_date(mc_buf *b, const char *key, int32_t day)
{
	return member(b, key) && (day ? mc_jw_date(b, day) : mc_jw_raw(b, "null", 4));
}

/* The texts of this thread's recent numbers: the answers of a model repeat. */
static _Thread_local mc_real_memo real_memo;

static bool member_real(mc_buf *b, const char *key, double x, bool or_null)
{
	return member(b, key) && (isfinite(x) || !or_null ? mc_jw_real_memo(b, x, &real_memo)
							  : mc_jw_raw(b, "null", 4));
}

/* answer_json() and its "model", as jansson prints them. */
static bool answer_text(const mc_served *m, const answer *a, mc_buf *b)
{
	const mc_panel_series *ps = &m->panel->series[a->f.series];
	return mc_jw_raw(b, "{\"state\":", 9) && mc_jw_string(b, ps->state) && member(b, "city") &&
	       mc_jw_string(b, ps->city) && member(b, "milk_type") &&
	       mc_jw_string(b, ps->milk_type) && member(b, "channel") &&
	       mc_jw_string(b, ps->channel) && member_date(b, "as_of", a->f.as_of) &&
	       member_date(b, "origin", a->f.origin) &&
	       member_date(b, "target_date", a->f.target) && member(b, "horizon") &&
	       mc_jw_int(b, a->f.h) && member_real(b, "price", a->f.price, false) &&
	       member_real(b, "lower", a->f.lower, false) &&
	       member_real(b, "upper", a->f.upper, false) &&
	       member_real(b, "level", mc_bundle_level(m->bundle), false) &&
	       member(b, "from_model") &&
	       mc_jw_raw(b, a->f.from_model ? "true" : "false", a->f.from_model ? 4 : 5) &&
	       member_real(b, "last_price", a->f.last, true) &&
	       member_date(b, "last_date", a->last_date) &&
	       (!isfinite(a->actual) || member_real(b, "actual", a->actual, false)) &&
	       member(b, "model") && mc_jw_raw(b, "{\"name\":", 8) && mc_jw_string(b, m->name) &&
	       member(b, "version") && mc_jw_string(b, m->version) && mc_jw_raw(b, "}}", 2);
}

static bool original_text(const answer *a, mc_buf *b)
{
	return mc_jw_raw(b, "{\"predicted_price\":", 19) &&
	       mc_jw_real_memo(b, a->f.price, &real_memo) && mc_jw_raw(b, "}", 1);
}

/* The instance of a flat single-object body, when it has nothing unusual (names in scratch). */
static bool fast_instance(const mc_served *m, const mc_http_request *req, char *scratch,
			  instance *in, bool *original)
{
	mc_flat_member mem[MC_FLAT_MAX];
	size_t n;
	if (!req->body || !req->body_len || req->body_len > FAST_MAX_BODY ||
	    !mc_flat_parse(req->body, req->body_len, scratch, FAST_MAX_BODY, mem, &n) ||
	    mc_flat_get(mem, n, "instances"))
		return false;
	*original = mc_flat_get(mem, n, "Estado") || mc_flat_get(mem, n, "Ciudad") ||
		    mc_flat_get(mem, n, "Tipo") || mc_flat_get(mem, n, "Canal");
	return *original ? flat_original(mem, n, in) : flat_instance(mem, n, m->horizons, in);
}

/*
 * The common request — one flat object, answered — without jansson: the
 * same instance, the same answer_instance() and the same bytes as the
 * general path.  False, with nothing done, for anything else (errors
 * included), which the general path then answers.
 */
static bool predict_fast(mc_router *r, mc_served *m, const mc_http_request *req,
			 mc_http_response *resp)
{
	char scratch[FAST_MAX_BODY];
	instance in = {.date = INT32_MIN, .as_of = INT32_MIN};
	bool original = false;
	if (!r->fast_path || !fast_instance(m, req, scratch, &in, &original))
		return false;
	set_cache c = {NULL};
	answer a;
	api_err e = {0};
	mc_buf b = MC_BUF_INIT;
	bool ok = answer_instance(m, &in, &c, &a, &e) &&
		  (original ? original_text(&a, &b) : answer_text(m, &a, &b));
	mc_fcset_release(c.set);
	json_decref(e.extra);
	if (!ok) {
		mc_buf_release(&b);
		return false;
	}
	record(r, m, &a.f, MC_ROUTE_PREDICT, mc_now_unix_ms());
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body = (char *)mc_buf_detach(&b, &resp->body_len);
	atomic_fetch_add_explicit(&r->fast_answers, 1, memory_order_relaxed);
	return true;
}

/* ---- POST /v1/predict ---- */

/* The instances of a body: one object, {"instances": [...]}, or an array. */
typedef struct batch {
	json_t *items; /* an array (a reference) */
	const char *name;
	bool multi, original;
} batch;

static bool classify(json_t *doc, size_t max, batch *b, api_err *e)
{
	memset(b, 0, sizeof *b);
	json_t *list = json_is_object(doc) ? json_object_get(doc, "instances") : doc;
	if (json_is_object(doc) && !list) {
		b->items = json_array();
		json_array_append(b->items, doc);
		b->original = is_original(doc);
		return true;
	}
	b->multi = true;
	b->name = list == doc ? "" : "instances";
	if (!json_is_array(list))
		return json_is_object(doc)
			       ? fail(e, 422, "invalid_field", "instances",
				      "'instances' must be an array, not %s", mc_json_kind(list))
			       : fail(e, 422, "invalid_body", NULL,
				      "the body must be a JSON object (one instance) or an array, "
				      "not %s",
				      mc_json_kind(doc));
	if (json_array_size(list) == 0)
		return fail(e, 422, "invalid_field", b->name, "no instances to forecast");
	if (json_array_size(list) > max)
		return fail(e, 413, "too_many_instances", b->name,
			    "%zu instances: at most %zu per request", json_array_size(list), max);
	b->items = json_incref(list);
	b->original = is_original(json_array_get(list, 0));
	return true;
}

static bool answer_all(mc_served *m, const batch *b, answer *out, api_err *e)
{
	set_cache c = {NULL};
	bool ok = true;
	for (size_t i = 0; ok && i < json_array_size(b->items); i++) {
		instance in = {.date = INT32_MIN, .as_of = INT32_MIN};
		if (b->multi)
			snprintf(in.prefix, sizeof in.prefix, "%s[%zu].", b->name, i);
		ok = parse_item(json_array_get(b->items, i), m->horizons, &in, e) &&
		     answer_instance(m, &in, &c, &out[i], e);
	}
	mc_fcset_release(c.set);
	return ok;
}

static bool parse_body(const mc_http_request *req, json_t **doc, api_err *e)
{
	if (!req->body || req->body_len == 0)
		return fail(e, 400, "empty_body", NULL,
			    "the request body is empty: send a JSON object");
	json_error_t je;
	*doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (*doc)
		return true;
	e->extra = json_pack("{s:i, s:i, s:i}", "line", je.line, "column", je.column, "position",
			     je.position);
	return fail(e, 400, "invalid_json", NULL, "invalid JSON at line %d column %d (byte %d): %s",
		    je.line, je.column, je.position, je.text);
}

/* The general path: any body, through jansson; false with e set when it is refused. */
static bool predict_general(mc_router *r, mc_served *m, const mc_http_request *req,
			    mc_http_response *resp, api_err *e)
{
	json_t *doc = NULL;
	batch b = {0};
	answer *a = NULL;
	bool ok = parse_body(req, &doc, e) && classify(doc, r->max_instances, &b, e);
	size_t n = ok ? json_array_size(b.items) : 0;
	if (ok && !(a = calloc(n, sizeof *a)))
		ok = fail(e, 500, "internal", NULL, "out of memory");
	if (ok)
		ok = answer_all(m, &b, a, e);
	if (ok) {
		int64_t now = mc_now_unix_ms();
		for (size_t i = 0; i < n; i++)
			record(r, m, &a[i].f, MC_ROUTE_PREDICT, now);
		mc_resp_json(resp, 200, answers_json(m, a, n, b.multi, b.original));
	}
	free(a);
	json_decref(b.items);
	json_decref(doc);
	return ok;
}

void mc_api_predict(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	api_err e = {0};
	mc_served *m = mc_router_acquire(r);
	bool ok = m ? predict_fast(r, m, req, resp) || predict_general(r, m, req, resp, &e)
		    : fail(&e, 503, "not_ready", NULL, "no model is loaded");
	if (!ok && m && m->lake_deferred) { /* older history, or an error to tell from it */
		json_decref(e.extra);
		memset(&e, 0, sizeof e);
		m = mc_router_history(r, m);
		ok = predict_fast(r, m, req, resp) || predict_general(r, m, req, resp, &e);
	}
	if (!ok)
		respond_error(resp, &e);
	mc_served_release(m);
}

/* ---- GET /v1/forecast ---- */

enum { Q_STATE, Q_CITY, Q_MILK_TYPE, Q_CHANNEL, Q_HORIZON, Q_AS_OF, Q_COUNT };
static const char *const query_keys[Q_COUNT] = {"state",   "city",    "milk_type",
						"channel", "horizon", "as_of"};

static int hex(int c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Percent-decode s[0..n) into out (NUL-terminated); false on a bad escape or a NUL. */
static bool url_decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return false;
			int hi = hex((unsigned char)s[i + 1]), lo = hex((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || hi + lo == 0)
				return false;
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	out[o] = 0;
	return true;
}

/* The query parameters (decoded into buf, which must hold strlen(query) + Q_COUNT bytes). */
static bool parse_query(const char *query, char *buf, const char **val, api_err *e)
{
	for (int i = 0; i < Q_COUNT; i++)
		val[i] = NULL;
	for (const char *p = query; p && *p;) {
		size_t len = strcspn(p, "&"), klen = strcspn(p, "=&");
		char key[32];
		if (len == 0) {
			p++;
			continue;
		}
		if (klen >= sizeof key || !url_decode(p, klen, key))
			return fail(e, 400, "invalid_query", NULL, "bad query parameter name");
		int k = 0;
		while (k < Q_COUNT && strcmp(key, query_keys[k]))
			k++;
		if (k == Q_COUNT)
			return fail(e, 400, "unknown_parameter", NULL,
				    "unknown query parameter '%.30s' (state, city, milk_type, "
				    "channel, horizon, as_of)",
				    mc_utf8_valid(key, strlen(key)) ? key : "?");
		if (val[k])
			return fail(e, 400, "invalid_query", query_keys[k],
				    "query parameter '%s' is given twice", key);
		const char *v = klen < len ? p + klen + 1 : p + len;
		if (!url_decode(v, (size_t)(p + len - v), buf) || !mc_utf8_valid(buf, strlen(buf)))
			return fail(e, 400, "invalid_query", query_keys[k],
				    "query parameter '%s' is not percent-encoded UTF-8", key);
		val[k] = buf;
		buf += strlen(buf) + 1;
		p += len + (p[len] == '&');
	}
	return true;
}

/* The filters of a forecast query, resolved: NULL = any. */
typedef struct filters {
	const char *state, *city, *milk_type, *channel;
	int horizons;
	int32_t as_of;
	long only; /* all four names given: that series, or -2 when none is served; -1 scan */
} filters;

/* With every name given, the series is a hash lookup rather than a scan. */
static void exact_series(const mc_served *m, filters *f)
{
	mc_series_query q;
	const char *field;
	mc_error err = MC_ERROR_INIT;
	f->only = -1;
	if (!f->state || !f->city || !f->milk_type || !f->channel)
		return;
	f->only = mc_series_query_resolve(f->state, f->city, f->milk_type, f->channel, &q, &field,
					  &err)
			  ? -2
			  : mc_served_find(m, q.state, q.city, q.milk_type, q.channel);
	if (f->only == -1)
		f->only = -2;
}

static bool query_filters(const mc_served *m, const char *const *val, filters *f, api_err *e)
{
	instance in = {.date = INT32_MIN, .as_of = INT32_MIN};
	f->state = val[Q_STATE];
	f->city = val[Q_CITY];
	f->milk_type = val[Q_MILK_TYPE];
	f->channel = val[Q_CHANNEL];
	if (f->milk_type && !(f->milk_type = mc_milk_type_code(f->milk_type, strlen(f->milk_type))))
		return fail(e, 422, "invalid_field", "milk_type",
			    "milk_type '%.40s' is not pasteurizada or ultrapasteurizada",
			    val[Q_MILK_TYPE]);
	if (f->channel && !(f->channel = mc_channel_code(f->channel, strlen(f->channel))))
		return fail(e, 422, "invalid_field", "channel",
			    "channel '%.40s' is not tiendas or autoservicios", val[Q_CHANNEL]);
	f->horizons = m->horizons;
	if (val[Q_HORIZON]) {
		char *end;
		long h = strtol(val[Q_HORIZON], &end, 10);
		if (end == val[Q_HORIZON] || *end || h < 1 || h > m->horizons)
			return fail(e, 422, "invalid_field", "horizon",
				    "'horizon' must be an integer from 1 to %d", m->horizons);
		f->horizons = (int)h;
	}
	if (val[Q_AS_OF] && !mc_date_parse_iso(val[Q_AS_OF], &in.as_of))
		return fail(e, 422, "invalid_field", "as_of", "'as_of' must be a date YYYY-MM-DD");
	exact_series(m, f);
	return instance_as_of(m, &in, &f->as_of, e);
}

static bool series_matches(const filters *f, size_t i, const mc_panel_series *s)
{
	if (f->only != -1)
		return f->only == (long)i;
	return (!f->state || mc_name_equal(f->state, s->state)) &&
	       (!f->city || mc_name_equal(f->city, s->city)) &&
	       (!f->milk_type || !strcmp(f->milk_type, s->milk_type)) &&
	       (!f->channel || !strcmp(f->channel, s->channel));
}

static json_t *forecast_row(const mc_served *m, const mc_forecast *f)
{
	answer a;
	fill_answer(m, f, &a);
	const mc_panel_series *ps = &m->panel->series[f->series];
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:i, s:f, s:f, s:f, s:b, s:o, s:o}",
			 "state", ps->state, "city", ps->city, "milk_type", ps->milk_type,
			 "channel", ps->channel, "as_of", mc_date_json(f->as_of), "target_date",
			 mc_date_json(f->target), "h", f->h, "price", f->price, "lower", f->lower,
			 "upper", f->upper, "from_model", f->from_model, "last_price",
			 real_or_null(f->last), "last_date",
			 a.last_date ? mc_date_json(a.last_date) : json_null());
}

/* Rows of every matching series; *matched counts the series that match, forecast or not. */
static json_t *forecast_rows(mc_router *r, const mc_served *m, const mc_fcset *set,
			     const filters *f, size_t *matched)
{
	json_t *rows = json_array();
	int64_t now = mc_now_unix_ms();
	*matched = 0;
	for (size_t s = 0; rows && s < m->panel->nseries; s++) {
		if (!series_matches(f, s, &m->panel->series[s]))
			continue;
		++*matched;
		for (int j = 0; set->first[s] >= 0 && j < f->horizons; j++) {
			const mc_forecast *fc = &set->fc[set->first[s] + j];
			json_array_append_new(rows, forecast_row(m, fc));
			record(r, m, fc, MC_ROUTE_FORECAST, now);
		}
	}
	return rows;
}

static bool forecast_query(mc_router *r, mc_served *m, const mc_http_request *req, json_t **out,
			   api_err *e)
{
	size_t qlen = req->query ? strlen(req->query) : 0;
	if (qlen > 4096)
		return fail(e, 400, "invalid_query", NULL, "the query string is too long");
	char buf[4096 + Q_COUNT + 1];
	const char *val[Q_COUNT];
	filters f;
	set_cache c = {NULL};
	if (!parse_query(req->query, buf, val, e) || !query_filters(m, val, &f, e) ||
	    !latest_only(m, f.as_of, e) || !get_set(m, f.as_of, &c, e))
		return false;
	size_t matched;
	json_t *rows = forecast_rows(r, m, c.set, &f, &matched);
	mc_fcset_release(c.set);
	char d[11];
	mc_date_format_iso(f.as_of, d);
	if (!matched) {
		json_decref(rows);
		return unknown_series(m, f.state, f.city, "no served series matches the query", e);
	}
	if (json_array_size(rows) == 0) {
		json_decref(rows);
		return fail(e, 404, "no_forecast", NULL,
			    "the %zu matching series have too little history on %s", matched, d);
	}
	*out = json_pack("{s:o, s:s, s:f, s:I, s:o}", "model", mc_model_json(m), "as_of", d,
			 "level", mc_bundle_level(m->bundle), "count",
			 (json_int_t)json_array_size(rows), "forecasts", rows);
	return true;
}

void mc_api_forecast(mc_router *r, const mc_http_request *req, mc_http_response *resp)
{
	api_err e = {0};
	json_t *doc = NULL;
	mc_served *m = mc_router_acquire(r);
	bool ok = m ? forecast_query(r, m, req, &doc, &e)
		    : fail(&e, 503, "not_ready", NULL, "no model is loaded");
	if (!ok && m && m->lake_deferred) { /* older history, or an error to tell from it */
		json_decref(e.extra);
		memset(&e, 0, sizeof e);
		m = mc_router_history(r, m);
		ok = forecast_query(r, m, req, &doc, &e);
	}
	if (ok)
		mc_resp_json(resp, 200, doc);
	else
		respond_error(resp, &e);
	mc_served_release(m);
}
