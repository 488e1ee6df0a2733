/* Loading a bundle and forecasting with it; see milkcast/forecast.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forecast/forecast_int.h"
#include "milkcast/date.h"
#include "milkcast/lake.h"
#include "milkcast/parquet.h"

void mc_bundle_free(mc_bundle *b)
{
	if (!b)
		return;
	free(b->dir);
	json_decref(b->meta);
	mc_xgb_free(b->model);
	mc_vocabs_free(&b->vocabs);
	mc_table_free(b->snapshot);
	free(b);
}

int mc_bundle_horizons(const mc_bundle *b)
{
	return b->horizons;
}

double mc_bundle_level(const mc_bundle *b)
{
	return b->level;
}

const char *mc_bundle_dir(const mc_bundle *b)
{
	return b->dir;
}

int32_t mc_bundle_until(const mc_bundle *b)
{
	return b->until;
}

const mc_table *mc_bundle_snapshot(const mc_bundle *b)
{
	return b->snapshot;
}

static mc_code bad(mc_error *err, const char *dir, const char *what)
{
	return mc_fail(err, MC_ERR_FORMAT, "bundle '%s': bundle.json: %s", dir, what);
}

/* The feature list must be exactly this build's: names in order. */
static mc_code check_features(const mc_bundle *b, mc_error *err)
{
	json_t *f = json_object_get(b->meta, "features");
	if (!json_is_array(f))
		return bad(err, b->dir, "'features' is missing or not an array");
	if (json_array_size(f) != mc_features_count())
		return mc_fail(err, MC_ERR_FORMAT,
			       "bundle '%s': it has %zu features, this milkcast computes %zu: "
			       "retrain with this version",
			       b->dir, json_array_size(f), mc_features_count());
	for (size_t i = 0; i < mc_features_count(); i++) {
		const char *name = json_string_value(json_object_get(json_array_get(f, i), "name"));
		if (!name || strcmp(name, mc_features_defs()[i].name) != 0)
			return mc_fail(err, MC_ERR_FORMAT,
				       "bundle '%s': feature %zu is '%s', this milkcast computes "
				       "'%s': retrain with this version",
				       b->dir, i + 1, name ? name : "(none)",
				       mc_features_defs()[i].name);
	}
	return MC_OK;
}

static mc_code load_vocabs(mc_bundle *b, mc_error *err)
{
	json_t *v = json_object_get(b->meta, "vocabularies");
	if (!json_is_object(v))
		return bad(err, b->dir, "'vocabularies' is missing or not an object");
	for (int i = 0; i < MC_VOCAB_COUNT; i++) {
		json_t *a = json_object_get(v, mc_vocab_names[i]);
		if (!json_is_array(a))
			return mc_fail(err, MC_ERR_FORMAT,
				       "bundle '%s': bundle.json: vocabularies.%s is missing or "
				       "not an array",
				       b->dir, mc_vocab_names[i]);
		for (size_t j = 0; j < json_array_size(a); j++) {
			const char *s = json_string_value(json_array_get(a, j));
			if (!s)
				return mc_fail(err, MC_ERR_FORMAT,
					       "bundle '%s': bundle.json: vocabularies.%s[%zu] is "
					       "not a string",
					       b->dir, mc_vocab_names[i], j);
			if (mc_vocab_add(&b->vocabs.v[i], s))
				return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		}
	}
	return MC_OK;
}

static bool get_number(json_t *o, const char *key, double *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

static mc_code load_policy(mc_bundle *b, mc_error *err)
{
	json_int_t h = json_integer_value(json_object_get(b->meta, "horizons"));
	if (h < 1 || h > MC_MAX_HORIZONS)
		return bad(err, b->dir, "'horizons' must be an integer from 1 to 12");
	b->horizons = (int)h;
	json_t *iv = json_object_get(b->meta, "intervals");
	if (!get_number(iv, "level", &b->level) || !(b->level > 0 && b->level < 1))
		return bad(err, b->dir, "intervals.level must be a number in (0, 1)");
	json_t *pol = json_object_get(b->meta, "horizon_policy");
	if (!json_is_array(pol) || json_array_size(pol) != (size_t)h)
		return bad(err, b->dir, "'horizon_policy' must list every horizon");
	for (size_t i = 0; i < (size_t)h; i++) {
		json_t *e = json_array_get(pol, i);
		const char *use = json_string_value(json_object_get(e, "use"));
		double lo, hi, w;
		if (!use || (strcmp(use, "model") && strcmp(use, "last_value")) ||
		    !get_number(e, "q_lower", &lo) || !get_number(e, "q_upper", &hi) ||
		    !get_number(e, "weight", &w) || w < 0 || w > 1)
			return mc_fail(err, MC_ERR_FORMAT,
				       "bundle '%s': bundle.json: horizon_policy[%zu] needs 'use' "
				       "(model or last_value), a weight in [0, 1] and numbers "
				       "q_lower, q_upper",
				       b->dir, i);
		b->use_model[i + 1] = !strcmp(use, "model");
		b->weight[i + 1] = w;
		b->q_lower[i + 1] = lo;
		b->q_upper[i + 1] = hi;
	}
	const char *until =
		json_string_value(json_object_get(json_object_get(b->meta, "training"), "until"));
	if (!until || !mc_date_parse_iso(until, &b->until))
		return bad(err, b->dir, "training.until must be a date YYYY-MM-DD");
	return MC_OK;
}

static mc_code load_meta(mc_bundle *b, mc_error *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/bundle.json", b->dir);
	json_error_t je;
	b->meta = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!b->meta)
		return mc_fail(err, MC_ERR_FORMAT, "cannot read '%s': line %d column %d: %s", path,
			       je.line, je.column, je.text);
	const char *fmt = json_string_value(json_object_get(b->meta, "format"));
	if (!fmt || strcmp(fmt, "milkcast-bundle/1") != 0)
		return bad(err, b->dir, "'format' is not milkcast-bundle/1");
	const char *strategy =
		json_string_value(json_object_get(json_object_get(b->meta, "model"), "strategy"));
	if (!strategy || (strcmp(strategy, "recursive") && strcmp(strategy, "direct")))
		return bad(err, b->dir, "model.strategy must be \"recursive\" or \"direct\"");
	b->recursive = !strcmp(strategy, "recursive");
	mc_code rc = check_features(b, err);
	if (!rc)
		rc = load_vocabs(b, err);
	if (!rc)
		rc = load_policy(b, err);
	return rc;
}

static mc_code load_model(mc_bundle *b, mc_error *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/model.ubj", b->dir);
	mc_buf buf = MC_BUF_INIT;
	mc_code rc = mc_buf_read_file(&buf, path, err);
	if (!rc && (rc = mc_xgb_load(buf.data, buf.len, &b->model, err)))
		mc_error_prefix(err, "'%s': ", path);
	mc_buf_release(&buf);
	if (!rc && mc_xgb_num_features(b->model) != mc_features_count())
		rc = mc_fail(err, MC_ERR_FORMAT, "'%s': the model expects %zu features, not %zu",
			     path, mc_xgb_num_features(b->model), mc_features_count());
	return rc;
}

static mc_code load_snapshot(mc_bundle *b, mc_error *err)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/snapshot.parquet", b->dir);
	mc_code rc = mc_parquet_read_file(path, &b->snapshot, err);
	if (!rc)
		rc = mc_lake_check_schema(b->snapshot, path, err);
	return rc;
}

mc_code mc_bundle_load(const char *dir, mc_bundle **out, mc_error *err)
{
	*out = NULL;
	mc_bundle *b = calloc(1, sizeof *b);
	if (!b || !(b->dir = strdup(dir))) {
		free(b);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	mc_code rc = load_meta(b, err);
	if (!rc)
		rc = load_model(b, err);
	if (!rc)
		rc = load_snapshot(b, err);
	if (rc) {
		mc_bundle_free(b);
		return rc;
	}
	*out = b;
	return MC_OK;
}

/* ---- forecasting ---- */

/* Publications (Mon/Wed/Fri) in (from, to]: the horizon feature for a calendar target. */
static int publications_between(int32_t from, int32_t to)
{
	int n = 0;
	for (int32_t d = from + 1; d <= to; d++) {
		int wd = mc_date_weekday(d);
		n += wd == 0 || wd == 2 || wd == 4;
	}
	return n;
}

/* Target dates and their horizon features for origin k. */
static int plan_targets(const mc_panel *p, size_t k, int32_t as_of, int horizons, bool use_panel,
			int32_t *target, int *hfeat)
{
	int n = 0;
	if (use_panel) {
		for (int h = 1; h <= horizons && k + (size_t)h < p->ndates; h++) {
			target[n] = p->dates[k + (size_t)h];
			hfeat[n++] = h;
		}
		return n;
	}
	mc_features_next_publications(as_of, horizons, target);
	for (int h = 0; h < horizons; h++) {
		hfeat[h] = publications_between(p->dates[k], target[h]);
		if (hfeat[h] > MC_MAX_HORIZONS)
			hfeat[h] = MC_MAX_HORIZONS;
	}
	return horizons;
}

/* The bundle's forecast and interval from the model's price, by its policy for h. */
static void apply_policy(const mc_bundle *b, mc_forecast *f)
{
	int h = f->steps <= b->horizons ? f->steps : b->horizons;
	f->from_model = b->use_model[h];
	f->price = f->from_model ? f->last + b->weight[h] * (f->model_price - f->last) : f->last;
	f->lower = f->price - b->q_lower[h];
	f->upper = f->price + b->q_upper[h];
}

/* Direct: one feature row per (series, horizon) from the origin, one batch prediction. */
static mc_code forecast_direct(const mc_bundle *b, const mc_panel *p, size_t k,
			       const int32_t *target, const int *hfeat, int nt, mc_forecast *f,
			       size_t n, float *X, mc_error *err)
{
	size_t nf = mc_features_count();
	for (size_t i = 0; i < n; i++) {
		size_t s = f[i].series;
		int j = f[i].h - 1;
		if (j == 0) {
			mc_features_row(p, &b->vocabs, s, k, hfeat[j], target[j], X + i * nf);
		} else { /* same origin: copy the row and change the calendar part */
			memcpy(X + i * nf, X + (i - 1) * nf, nf * sizeof *X);
			mc_features_retarget(p, k, hfeat[j], target[j], X + i * nf);
		}
	}
	(void)nt;
	float *out = malloc((n ? n : 1) * sizeof *out);
	if (!out)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = n ? mc_xgb_predict(b->model, X, n, nf, out, err) : MC_OK;
	for (size_t i = 0; !rc && i < n; i++) {
		f[i].model_output = (double)out[i];
		f[i].model_price = f[i].last + (double)out[i];
	}
	free(out);
	return rc;
}

/* Recursive: the one-step model run forward; feature rows come back step-major. */
static mc_code forecast_recursive(const mc_bundle *b, const mc_panel *p, size_t k,
				  const int32_t *target, int nt, mc_forecast *f, size_t n, float *X,
				  mc_error *err)
{
	size_t nus = nt ? n / (size_t)nt : 0, nf = mc_features_count();
	size_t *series = malloc((nus ? nus : 1) * sizeof *series);
	double *pred = malloc((n ? n : 1) * sizeof *pred);
	double *changes = malloc((n ? n : 1) * sizeof *changes);
	float *steps = X ? malloc((n ? n : 1) * nf * sizeof *steps) : NULL;
	mc_code rc = series && pred && changes && (!X || steps)
			     ? MC_OK
			     : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < nus; i++)
		series[i] = f[i * (size_t)nt].series;
	if (!rc)
		rc = mc_fc_recursive(b->model, &b->vocabs, p, k, target, nt, series, nus, pred,
				     changes, steps, err);
	for (size_t i = 0; !rc && i < nus; i++)
		for (int j = 0; j < nt; j++) {
			size_t r = i * (size_t)nt + (size_t)j;
			f[r].model_price = pred[r];
			f[r].model_output = changes[r];
			if (X) /* series-major, like the forecasts */
				memcpy(X + r * nf, steps + ((size_t)j * nus + i) * nf,
				       nf * sizeof *X);
		}
	free(series);
	free(pred);
	free(changes);
	free(steps);
	return rc;
}

mc_code mc_bundle_forecast(const mc_bundle *b, const mc_panel *p, int32_t as_of, int horizons,
			   bool use_panel_targets, mc_forecast **out, size_t *nout, mc_error *err)
{
	return mc_bundle_forecast_rows(b, p, as_of, horizons, use_panel_targets, out, nout, NULL,
				       err);
}

mc_code mc_bundle_forecast_rows(const mc_bundle *b, const mc_panel *p, int32_t as_of, int horizons,
				bool use_panel_targets, mc_forecast **out, size_t *nout,
				float **features, mc_error *err)
{
	*out = NULL;
	*nout = 0;
	if (features)
		*features = NULL;
	if (horizons < 1 || horizons > b->horizons)
		return mc_fail(err, MC_ERR_INVALID,
			       "the model forecasts 1 to %d publications ahead, "
			       "not %d",
			       b->horizons, horizons);
	long kk = mc_panel_date_index(p, as_of);
	if (kk < 0) {
		char d[11];
		mc_date_format_iso(as_of, d);
		return mc_fail(err, MC_ERR_EMPTY, "no prices on or before %s", d);
	}
	size_t k = (size_t)kk, nf = mc_features_count();
	int32_t target[MC_MAX_HORIZONS];
	int hfeat[MC_MAX_HORIZONS];
	int nt = plan_targets(p, k, as_of, horizons, use_panel_targets, target, hfeat);
	if (b->recursive) /* each step is one publication */
		for (int j = 0; j < nt; j++)
			hfeat[j] = j + 1;
	size_t cap = p->nseries * (size_t)(nt ? nt : 1);
	mc_forecast *f = calloc(cap, sizeof *f);
	float *X = !b->recursive || features ? malloc(cap * nf * sizeof *X) : NULL;
	if (!f || (!X && (!b->recursive || features))) {
		free(f);
		free(X);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	size_t n = 0;
	for (size_t s = 0; s < p->nseries; s++) {
		if (!mc_features_usable(p, s, k))
			continue;
		for (int i = 0; i < nt; i++)
			f[n++] = (mc_forecast){.series = s,
					       .h = i + 1,
					       .steps = hfeat[i],
					       .as_of = as_of,
					       .origin = p->dates[k],
					       .target = target[i],
					       .last = mc_features_last(p, s, k)};
	}
	mc_code rc = b->recursive ? forecast_recursive(b, p, k, target, nt, f, n, X, err)
				  : forecast_direct(b, p, k, target, hfeat, nt, f, n, X, err);
	for (size_t i = 0; !rc && i < n; i++)
		apply_policy(b, &f[i]);
	if (!rc && features)
		*features = X;
	else
		free(X);
	if (rc) {
		free(f);
		return rc;
	}
	*out = f;
	*nout = n;
	return MC_OK;
}
