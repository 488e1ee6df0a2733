/*
 * The model bundle: model.ubj (XGBoost UBJSON), bundle.json (everything
 * needed to use and judge the model) and snapshot.parquet (the recent lake
 * rows, so a forecast needs no lake).  Written into a fresh directory that is
 * renamed into place whole; `latest` is a symlink swapped atomically.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h> /* renameat2, RENAME_NOREPLACE (glibc 2.28) */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "forecast/forecast_int.h"
#include "forecast/search_run.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/lake.h"
#include "milkcast/parquet.h"
#include "milkcast/sha256.h"

#define BUNDLE_FORMAT "milkcast-bundle/1"

/* ---- bundle.json ---- */

static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static json_t *date_json(int32_t d)
{
	char iso[11];
	mc_date_format_iso(d, iso);
	return json_string(iso);
}

json_t *mc_fc_metrics_json(const mc_metrics *m)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)m->n, "mae",
			 num(m->mae), "rmse", num(m->rmse), "mape", num(m->mape), "smape",
			 num(m->smape), "mase", num(m->mase), "coverage", num(m->coverage), "width",
			 num(m->width));
}

static json_t *features_json(void)
{
	json_t *a = json_array();
	const mc_feature_def *d = mc_features_defs();
	for (size_t i = 0; a && i < mc_features_count(); i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "name", d[i].name, "description",
						   d[i].description));
	return a;
}

static json_t *vocabs_json(const mc_vocabs *v)
{
	json_t *o = json_object();
	for (int i = 0; o && i < MC_VOCAB_COUNT; i++) {
		json_t *a = json_array();
		for (size_t j = 0; a && j < v->v[i].n; j++)
			json_array_append_new(a, json_string(v->v[i].names[j]));
		json_object_set_new(o, mc_vocab_names[i], a);
	}
	return o;
}

static json_t *horizons_json(const mc_train_result *r)
{
	json_t *a = json_array();
	for (int h = 1; a && h <= r->horizons; h++) {
		const mc_horizon_report *hz = &r->hz[h - 1];
		json_t *t = json_pack("{s:o, s:o, s:o, s:o, s:o}", "bundle",
				      mc_fc_metrics_json(&hz->test_bundle), "model",
				      mc_fc_metrics_json(&hz->test_model), "last_value",
				      mc_fc_metrics_json(&hz->test_naive), "moving_average_4",
				      mc_fc_metrics_json(&hz->test_ma4), "moving_average_12",
				      mc_fc_metrics_json(&hz->test_ma12));
		json_array_append_new(
			a,
			json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "h", h,
				  "use", hz->use_model ? "model" : "last_value", "reason",
				  hz->use_model ? "the weighted model's validation RMSE is below "
						  "the last value's"
						: "the model did not beat the last value on "
						  "validation: falling back to it",
				  "weight", num(hz->use_model ? hz->weight : 0), "valid_rmse_model",
				  num(hz->valid_rmse_model), "valid_rmse_weighted",
				  num(hz->valid_rmse_blend), "valid_rmse_last_value",
				  num(hz->valid_rmse_naive), "q_lower", num(hz->q_lower), "q_upper",
				  num(hz->q_upper), "test", t));
	}
	return a;
}

static json_t *groups_json(const mc_train_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->ngroups; i++) {
		const mc_group_report *g = &r->groups[i];
		json_array_append_new(a, json_pack("{s:s, s:s, s:o, s:o}", "milk_type",
						   g->milk_type, "channel", g->channel, "bundle",
						   mc_fc_metrics_json(&g->bundle), "last_value",
						   mc_fc_metrics_json(&g->naive)));
	}
	return a;
}

static json_t *trials_json(const mc_train_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->ntrials; i++) {
		const mc_trial *t = &r->trials[i];
		json_t *params = t->params_json ? json_loads(t->params_json, 0, NULL) : NULL;
		json_array_append_new(a,
				      json_pack("{s:i, s:o, s:o, s:i, s:f}", "id", t->id, "params",
						params ? params : json_null(), "valid_rmse",
						num(t->valid_rmse), "best_iteration",
						t->best_iteration, "seconds", t->seconds));
	}
	return a;
}

static json_t *xgb_params_json(const mc_xgb_params *p, int rounds)
{
	return json_pack("{s:s, s:s, s:i, s:f, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:i}",
			 "objective", "reg:squarederror", "tree_method", "hist", "max_depth",
			 p->max_depth, "learning_rate", p->learning_rate, "num_round", rounds,
			 "min_child_weight", p->min_child_weight, "gamma", p->gamma, "subsample",
			 p->subsample, "colsample_bytree", p->colsample_bytree, "reg_alpha",
			 p->reg_alpha, "reg_lambda", p->reg_lambda, "max_bin", p->max_bin);
}

static json_t *training_json(const mc_train_result *r, const mc_train_opts *o)
{
	return json_pack(
		"{s:o, s:{s:o}, s:{s:o, s:o}, s:{s:o, s:o}, s:{s:I, s:I, s:I}, s:s, s:i, s:s, "
		"s:I, s:i, s:f, s:f, s:o, s:o}",
		"until", date_json(r->test_to), "train", "targets_to", date_json(r->train_to),
		"validation", "targets_from", date_json(r->valid_from), "targets_to",
		date_json(r->valid_to), "test", "targets_from", date_json(r->test_from),
		"targets_to", date_json(r->test_to), "rows", "train", (json_int_t)r->rows_train,
		"validation", (json_int_t)r->rows_valid, "test", (json_int_t)r->rows_test,
		"data_sha256", r->data_sha256, "trials", (int)r->ntrials, "search",
		o->search == MC_SEARCH_TPE ? "tpe" : "random", "seed", (json_int_t)o->seed,
		"early_stopping_rounds", o->early_stopping_rounds, "seconds", r->seconds,
		"xgboost_seconds", r->xgb_seconds, "xgboost_share", num(r->xgb_share), "mase_scale",
		num(r->mase_scale));
}

json_t *mc_fc_bundle_json(const mc_train_result *r, const mc_train_opts *o, const mc_panel *p,
			  const mc_vocabs *v, const mc_space *space, const mc_xgb_params *xp,
			  int num_rounds)
{
	bool recursive = o->strategy == MC_STRATEGY_RECURSIVE;
	mc_xgb_params best = *xp;
	mc_fc_params_from_x(space, r->trials[r->best].x, &best);
	char created[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
	mc_buf sb = MC_BUF_INIT;
	mc_error e = MC_ERROR_INIT;
	json_t *space_j = NULL;
	if (!mc_space_to_json(space, &sb, &e) && sb.data)
		space_j = json_loads((const char *)sb.data, 0, NULL);
	mc_buf_release(&sb);
	json_t *j = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:o}, s:o, s:o, s:i, s:o, s:{s:s, s:f}, "
		"s:o, "
		"s:{s:o, s:o}, s:o, s:o, s:{s:s, s:s}, s:{s:s, s:i, s:o, s:o}}",
		"format", BUNDLE_FORMAT, "created_at", created, "model", "file", "model.ubj",
		"library", "xgboost", "strategy", recursive ? "recursive" : "direct",
		"strategy_note",
		recursive ? "a one-step model run forward: each step's forecasts are appended "
			    "to the history as if published, and the model runs again"
			  : "one model for every horizon, the horizon is a feature",
		"target",
		"price at the next publication (recursive) or the target date (direct) minus the "
		"last observed price; the forecast is the last price plus horizon_policy[h].weight "
		"times the model's change",
		"params", xgb_params_json(&best, num_rounds), "features", features_json(),
		"vocabularies", vocabs_json(v), "horizons", r->horizons, "horizon_policy",
		horizons_json(r), "intervals", "method",
		"split conformal: quantiles of signed validation residuals per horizon, "
		"finite-sample corrected",
		"level", o->interval_level, "training", training_json(r, o), "metrics", "note",
		json_string("test metrics come from the model trained on the training window "
			    "only; the shipped model was then refit on every row up to 'until' "
			    "with the same parameters and rounds"),
		"by_milk_type_channel", groups_json(r), "search_space",
		space_j ? space_j : json_null(), "trials", trials_json(r), "versions", "milkcast",
		MC_VERSION, "xgboost", mc_xgb_version(), "snapshot", "file", "snapshot.parquet",
		"publications",
		(int)(p->ndates < MC_FEATURES_HISTORY ? p->ndates : MC_FEATURES_HISTORY), "from",
		date_json(p->dates[p->ndates - (p->ndates < MC_FEATURES_HISTORY
							? p->ndates
							: MC_FEATURES_HISTORY)]),
		"to", date_json(p->dates[p->ndates - 1]));
	return j;
}

void mc_fc_panel_hash(const mc_panel *p, char out[65])
{
	mc_sha256 h;
	mc_sha256_init(&h);
	mc_sha256_update(&h, p->dates, p->ndates * sizeof *p->dates);
	for (size_t s = 0; s < p->nseries; s++) {
		const mc_panel_series *ps = &p->series[s];
		const char *parts[5] = {ps->kind, ps->state, ps->city, ps->milk_type, ps->channel};
		for (int i = 0; i < 5; i++)
			mc_sha256_update(&h, parts[i], strlen(parts[i]) + 1);
		mc_sha256_update(&h, p->price + s * p->ndates, p->ndates * sizeof *p->price);
	}
	uint8_t d[32];
	mc_sha256_final(&h, d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- writing ---- */

/* A file's entry in bundle.json's "files": its SHA-256 and size, checked on every load. */
static mc_code list_file(json_t *files, const char *name, const mc_buf *b, mc_error *err)
{
	char sha[65];
	mc_sha256_hex(b->data ? b->data : (const uint8_t *)"", b->len, sha);
	json_t *e = json_pack("{s:s, s:I}", "sha256", sha, "bytes", (json_int_t)b->len);
	if (!e || json_object_set_new(files, name, e))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	return MC_OK;
}

static mc_code write_snapshot(const char *path, const mc_table *lake_rows, const mc_panel *p,
			      json_t *files, mc_error *err)
{
	size_t keep_from = p->ndates > MC_FEATURES_HISTORY ? p->ndates - MC_FEATURES_HISTORY : 0;
	int32_t from = p->dates[keep_from], to = p->dates[p->ndates - 1];
	const int32_t *date = MC_COL_I32(&lake_rows->cols[MC_LAKE_DATE]);
	size_t *idx = malloc((lake_rows->nrows ? lake_rows->nrows : 1) * sizeof *idx), n = 0;
	if (!idx)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < lake_rows->nrows; i++)
		if (date[i] >= from && date[i] <= to)
			idx[n++] = i;
	mc_table *t = mc_table_take(lake_rows, idx, n);
	free(idx);
	if (!t)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	o.timestamps_utc = true;
	mc_buf b = MC_BUF_INIT;
	mc_code rc = mc_parquet_write_mem(t, &o, &b, err);
	mc_table_free(t);
	if (!rc)
		rc = mc_write_file_atomic(path, b.data, b.len, err);
	if (!rc)
		rc = list_file(files, "snapshot.parquet", &b, err);
	mc_buf_release(&b);
	return rc;
}

static mc_code write_files(const char *dir, const mc_xgb_model *m, json_t *meta,
			   const mc_table *lake_rows, const mc_panel *p, mc_error *err)
{
	mc_buf b = MC_BUF_INIT;
	char *model = mc_path_join(dir, "model.ubj"), *snap = mc_path_join(dir, "snapshot.parquet"),
	     *json = mc_path_join(dir, "bundle.json");
	json_t *files = json_object();
	char *text = NULL;
	mc_code rc = model && snap && json && files ? mc_xgb_save(m, &b, err)
						    : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = mc_write_file_atomic(model, b.data, b.len, err);
	if (!rc)
		rc = list_file(files, "model.ubj", &b, err);
	if (!rc)
		rc = write_snapshot(snap, lake_rows, p, files, err);
	/* bundle.json last, with the hashes of the files it describes. */
	if (!rc && json_object_set(meta, "files", files))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc && !(text = json_dumps(meta, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc)
		rc = mc_write_file_atomic(json, text, strlen(text), err);
	json_decref(files);
	mc_buf_release(&b);
	free(text);
	free(model);
	free(snap);
	free(json);
	return rc;
}

/* A failed write leaves nothing behind: the temp directory and what it holds go. */
static void remove_partial(const char *dir)
{
	static const char *const files[] = {"model.ubj", "snapshot.parquet", "bundle.json"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char *path = mc_path_join(dir, files[i]);
		if (path)
			unlink(path);
		free(path);
	}
	rmdir(dir);
}

/* Point models_dir/latest at name: a new symlink renamed over the old one. */
static mc_code link_latest(const char *models_dir, const char *name, mc_error *err)
{
	char tmp[4200], latest[4200];
	snprintf(tmp, sizeof tmp, "%s/.latest.%ld", models_dir, (long)getpid());
	snprintf(latest, sizeof latest, "%s/latest", models_dir);
	unlink(tmp);
	if (symlink(name, tmp) != 0 || rename(tmp, latest) != 0) {
		unlink(tmp);
		return mc_fail(err, MC_ERR_IO, "cannot point '%s' at '%s': %s", latest, name,
			       strerror(errno));
	}
	return mc_fsync_dir(models_dir, err);
}

mc_code mc_fc_write_bundle(const char *models_dir, const mc_xgb_model *m, json_t *meta,
			   const mc_table *lake_rows, const mc_panel *p, char *dir_out, size_t cap,
			   mc_error *err)
{
	mc_code rc = mc_mkdirs(models_dir, err);
	if (rc)
		return rc;
	char name[64], stamp[32], tmp[4200], final[4200];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	/* The temporary directory is private to this process; the final name is
	 * claimed by a rename that fails when it exists, so two trains finishing in
	 * the same second take -0 and -1. */
	snprintf(tmp, sizeof tmp, "%s/.tmp-bundle-%s-%ld", models_dir, stamp, (long)getpid());
	if (mkdir(tmp, 0755) != 0)
		return mc_fail(err, MC_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
	rc = write_files(tmp, m, meta, lake_rows, p, err);
	for (int i = 0; !rc; i++) {
		snprintf(name, sizeof name, "bundle-%s-%d", stamp, i);
		snprintf(final, sizeof final, "%s/%s", models_dir, name);
		if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
			break;
		if (errno != EEXIST || i >= 999)
			rc = mc_fail(err, MC_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, final,
				     strerror(errno));
	}
	if (rc)
		remove_partial(tmp);
	if (!rc)
		rc = mc_fsync_dir(models_dir, err);
	if (!rc)
		rc = link_latest(models_dir, name, err);
	if (!rc)
		snprintf(dir_out, cap, "%s", final);
	return rc;
}
