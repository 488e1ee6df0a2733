/* The machine-readable summary: reports/monitoring/AS_OF.json (and latest.json). */
#include <stdlib.h>
#include <string.h>

#include "monitor/monitor_int.h"

static json_t *window_json(const mc_monitor_window *w)
{
	return json_pack("{s:o, s:o, s:I, s:I}", "from", mon_date(w->from), "to", mon_date(w->to),
			 "rows", (json_int_t)w->rows, "publications", (json_int_t)w->dates);
}

static const char *kind_name(mc_drift_kind k)
{
	return k == MC_DRIFT_NUMERIC ? "numeric" : "categorical";
}

static json_t *column_json(const mc_monitor_column *c)
{
	if (c->skipped)
		return json_pack("{s:s, s:s, s:b, s:s}", "column", c->name, "source",
				 c->feature ? "feature" : "data", "skipped", 1, "reason",
				 "a window has no value of this column");
	return json_pack("{s:s, s:s, s:b, s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:I, s:I}", "column",
			 c->name, "source", c->feature ? "feature" : "data", "skipped", 0, "kind",
			 kind_name(c->r.kind), "test", c->r.test, "statistic",
			 mon_num(c->r.statistic), "p_value", mon_num(c->r.p_value), "score",
			 mon_num(c->r.score), "threshold", mon_num(c->r.threshold), "drift",
			 c->r.drift, "n_reference", (json_int_t)c->r.n_ref, "n_current",
			 (json_int_t)c->r.n_cur);
}

static json_t *drift_json(const mc_monitor_result *r)
{
	json_t *cols = json_array();
	for (size_t c = 0; cols && c < r->ncols; c++)
		json_array_append_new(cols, column_json(&r->cols[c]));
	return json_pack("{s:o, s:I, s:I, s:o, s:o, s:b}", "columns", cols, "tested",
			 (json_int_t)r->n_tested, "drifted", (json_int_t)r->n_drifted, "share",
			 mon_num(r->share), "drift_share", mon_num(r->drift_share), "dataset_drift",
			 r->dataset_drift);
}

/* One group; `training`: with the version's test metrics (a horizon of one version). */
static json_t *perf_json(const mc_monitor_perf *p, bool training)
{
	json_t *o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:{s:o, s:o, s:o, s:o}}", "n",
			      (json_int_t)p->n, "mae", mon_num(p->mae), "rmse", mon_num(p->rmse),
			      "mape", mon_num(p->mape), "bias", mon_num(p->bias), "naive", "mae",
			      mon_num(p->naive_mae), "rmse", mon_num(p->naive_rmse), "mape",
			      mon_num(p->naive_mape), "bias", mon_num(p->naive_bias));
	if (o && p->h > 0)
		json_object_set_new(o, "horizon", json_integer(p->h));
	if (o && p->h > 0 && training)
		json_object_set_new(o, "training",
				    json_pack("{s:o, s:o, s:o}", "mae", mon_num(p->train_mae),
					      "rmse", mon_num(p->train_rmse), "naive_rmse",
					      mon_num(p->train_naive_rmse)));
	return o;
}

static json_t *points_json(const mc_monitor_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->npoints; i++) {
		const mc_monitor_point *p = &r->points[i];
		json_array_append_new(a,
				      json_pack("{s:o, s:I, s:o, s:o}", "date", mon_date(p->date),
						"n", (json_int_t)p->n, "mae", mon_num(p->mae),
						"naive_mae", mon_num(p->naive_mae)));
	}
	return a;
}

static json_t *last_k_json(const mc_monitor_result *r, const mc_monitor_perf *p)
{
	json_t *last = perf_json(p, false);
	if (last) {
		json_object_set_new(last, "publications", json_integer(r->opts.naive_publications));
		json_object_set_new(last, "from", mon_date(r->last_k_from));
	}
	return last;
}

static json_t *horizons_json(const mc_monitor_perf *perf, size_t nperf, bool training)
{
	json_t *hz = json_array();
	for (size_t h = 1; hz && h < nperf; h++)
		json_array_append_new(hz, perf_json(&perf[h], training));
	return hz;
}

static json_t *version_json(const mc_monitor_result *r, const mc_monitor_version *v)
{
	return json_pack("{s:s, s:b, s:b, s:o, s:I, s:o, s:o, s:o}", "version", v->version,
			 "champion", v->champion, "judged", v->judged, "run_id",
			 v->run_id[0] ? json_string(v->run_id) : json_null(), "forecasts",
			 (json_int_t)v->forecasts, "all", perf_json(&v->perf[0], false), "horizons",
			 horizons_json(v->perf, v->nperf, true), "last_publications",
			 last_k_json(r, &v->last_k));
}

static json_t *versions_json(const mc_monitor_result *r)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < r->nversions; i++)
		json_array_append_new(a, version_json(r, &r->versions[i]));
	return a;
}

/* Which forecasts rmse_degraded and worse_than_naive judge. */
static json_t *judged_json(const mc_monitor_result *r)
{
	if (r->judged < 0)
		return json_pack("{s:n, s:s}", "version", "by", "every version (no champion)");
	return json_pack("{s:s, s:s}", "version", r->versions[r->judged].version, "by",
			 r->version_filter[0] ? "--model-version" : "champion");
}

static json_t *performance_json(const mc_monitor_result *r)
{
	json_t *p = json_pack(
		"{s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}, s:o, s:o, s:o, s:o, s:o, s:o}",
		"predictions", "files", (json_int_t)r->pred_files, "lines",
		(json_int_t)r->pred_lines, "bad_lines", (json_int_t)r->pred_bad, "unique",
		(json_int_t)r->pred_unique, "duplicates", (json_int_t)r->pred_duplicates,
		"other_versions", (json_int_t)r->pred_other_versions, "joined",
		(json_int_t)r->pred_joined, "first_bad_line",
		r->pred_bad_first[0] ? json_string(r->pred_bad_first) : json_null(),
		"model_version",
		r->version_filter[0] ? json_string(r->version_filter) : json_null(), "judged",
		judged_json(r), "all", perf_json(&r->perf[0], false), "horizons",
		horizons_json(r->perf, r->nperf, false), "last_publications",
		last_k_json(r, &r->last_k), "versions", versions_json(r));
	if (p)
		json_object_set_new(p, "over_time", points_json(r));
	return p;
}

static json_t *count_json(int64_t n)
{
	return n < 0 ? json_null() : json_integer(n);
}

static json_t *quarantine_json(const mc_monitor_result *r)
{
	json_t *src = json_array();
	for (size_t i = 0; src && i < r->nsources; i++)
		json_array_append_new(src, json_pack("{s:s, s:I}", "source", r->sources[i].source,
						     "rows", (json_int_t)r->sources[i].rows));
	return json_pack(
		"{s:o, s:o, s:I, s:I, s:o, s:o, s:o}", "current", count_json(r->quarantined_cur),
		"reference", count_json(r->quarantined_ref), "lake_rows_current",
		(json_int_t)r->lake_rows_cur, "lake_rows_reference", (json_int_t)r->lake_rows_ref,
		"share_current", mon_num(r->quarantine_share_cur), "share_reference",
		mon_num(r->quarantine_share_ref), "current_sources", src);
}

static json_t *health_json(const mc_monitor_result *r)
{
	json_t *silent = json_array();
	for (size_t i = 0; silent && i < r->nsilent; i++) {
		const mc_monitor_silent *s = &r->silent[i];
		json_array_append_new(
			silent, json_pack("{s:s, s:s, s:s, s:s, s:o}", "state", s->state, "city",
					  s->city, "milk_type", s->milk_type, "channel", s->channel,
					  "last_price_date", mon_date(s->last_price_date)));
	}
	return json_pack("{s:o, s:o, s:o, s:i, s:i, s:o, s:I, s:i, s:o}", "first_publication",
			 mon_date(r->first_date), "last_publication", mon_date(r->last_date),
			 "checked_on", mon_date(r->today), "days_since", r->days_since,
			 "stale_days", r->opts.stale_days, "quarantined", quarantine_json(r),
			 "series_in_reference", (json_int_t)r->series_ref, "silent_publications",
			 r->opts.silent_publications, "silent_series", silent);
}

static json_t *delivery_json(const mc_alert_delivery *d)
{
	json_t *o = json_pack("{s:s, s:i, s:I}", "status", mc_alert_status_name(d->status),
			      "attempts", d->attempts, "http_status", (json_int_t)d->http_status);
	if (o && d->status == MC_ALERT_FAILED)
		json_object_set_new(o, "error", json_string(d->error));
	return o;
}

static json_t *rule_json(const mc_monitor_rule *rule)
{
	json_t *o = json_pack("{s:s, s:b, s:b, s:s}", "rule", mc_monitor_rule_name(rule->id),
			      "evaluated", rule->evaluated, "fired", rule->fired, "severity",
			      mc_alert_severity_name(rule->severity));
	if (!o || !rule->fired)
		return o;
	json_object_set_new(o, "title", json_string(rule->title));
	json_object_set_new(o, "details", json_string(rule->details ? rule->details : ""));
	if (!rule->sent) {
		json_object_set_new(o, "delivery", json_null());
		return o;
	}
	json_t *d = json_object();
	for (int ch = 0; d && ch < MC_ALERT_NCHANNELS; ch++)
		json_object_set_new(d, mc_alert_channel_name((mc_alert_channel)ch),
				    delivery_json(&rule->outcome.channel[ch]));
	json_object_set_new(d, "logged_only", json_boolean(rule->outcome.logged_only));
	json_object_set_new(o, "delivery", d);
	return o;
}

static json_t *rules_json(const mc_monitor_result *r)
{
	json_t *a = json_array();
	for (int i = 0; a && i < MC_RULE_COUNT; i++)
		json_array_append_new(a, rule_json(&r->rules[i]));
	return a;
}

static json_t *settings_json(const mc_monitor_result *r)
{
	const mc_monitor_opts *o = &r->opts;
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:i, s:I, s:i, s:i, s:o, s:o, s:o}", "num_test",
		o->drift.num_test ? json_string(o->drift.num_test) : json_null(), "cat_test",
		o->drift.cat_test ? json_string(o->drift.cat_test) : json_null(), "threshold",
		mon_num(o->drift.threshold), "rmse_tolerance", mon_num(o->rmse_tolerance),
		"naive_publications", o->naive_publications, "min_rows", (json_int_t)o->min_rows,
		"stale_days", o->stale_days, "silent_publications", o->silent_publications,
		"quarantine_share", mon_num(o->quarantine_share), "quarantine_ratio",
		mon_num(o->quarantine_ratio), "model_version",
		r->version_filter[0] ? json_string(r->version_filter) : json_null());
}

static json_t *model_json(const mc_monitor_result *r)
{
	if (!r->model_version[0])
		return json_null();
	return json_pack("{s:s, s:s, s:s, s:s}", "name", r->model_name, "version", r->model_version,
			 "run_id", r->run_id, "source", r->model_source);
}

mc_code mc_monitor_json(const mc_monitor_result *r, mc_buf *out, mc_error *err)
{
	json_t *doc = json_pack(
		"{s:i, s:s, s:o, s:o, s:{s:o, s:o}, s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:o, "
		"s:{s:s, s:s, s:o}}",
		"schema", 1, "generated_at", r->generated_at, "as_of", mon_date(r->as_of), "model",
		model_json(r), "windows", "reference", window_json(&r->ref), "current",
		window_json(&r->cur), "settings", settings_json(r), "drift", drift_json(r),
		"performance", performance_json(r), "health", health_json(r), "rules",
		rules_json(r), "alerts_fired", (json_int_t)r->fired, "healthy", r->fired == 0,
		"status", json_string(r->fired ? "alert" : "healthy"), "reports", "json",
		r->json_path, "html", r->html_path, "metrics",
		r->prom_path[0] ? json_string(r->prom_path) : json_null());
	char *text = doc ? json_dumps(doc, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!text)
		return mc_fail(err, MC_ERR_NOMEM,
			       "cannot build the monitoring JSON: out of memory");
	mc_code rc = mc_buf_printf(out, "%s\n", text);
	free(text);
	return rc ? mc_fail(err, rc, "cannot build the monitoring JSON: out of memory") : MC_OK;
}
