/*
 * The alert rules, judged on a finished result, and their delivery.
 *
 *   dataset_drift     the share of drifted columns reached the drift share
 *   rmse_degraded     a horizon's RMSE (at least min_rows forecasts) above the
 *                     version's own test RMSE by more than rmse_tolerance
 *   worse_than_naive  over the last K publications (at least min_rows
 *                     forecasts) the model's RMSE above the last value's
 *   data_stale        more than stale_days days since the last publication
 *   quarantine_spike  the current window's quarantined share of rows above
 *                     quarantine_share and quarantine_ratio times the
 *                     reference window's
 *
 * The two performance rules judge one version's forecasts: --model-version,
 * else the champion's; every forecast pooled only when there is neither.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "monitor/monitor_int.h"

static const char *const rule_names[MC_RULE_COUNT] = {
	"dataset_drift", "rmse_degraded", "worse_than_naive", "data_stale", "quarantine_spike"};

const char *mc_monitor_rule_name(mc_monitor_rule_id id)
{
	return id < MC_RULE_COUNT ? rule_names[id] : "unknown";
}

static void title(mc_monitor_rule *rule, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void title(mc_monitor_rule *rule, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rule->title, sizeof rule->title, fmt, ap);
	va_end(ap);
}

static mc_code fire(mc_monitor_rule *rule, mc_buf *details, mc_error *err)
{
	rule->fired = true;
	rule->details = details->data ? (char *)mc_buf_detach(details, NULL) : strdup("");
	return rule->details ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

static void window_line(mc_buf *b, const char *what, const mc_monitor_window *w)
{
	char a[11], z[11];
	mc_date_format_iso(w->from, a);
	mc_date_format_iso(w->to, z);
	mc_buf_printf(b, "%s window %s .. %s (%zu rows, %zu publications)\n", what, a, z, w->rows,
		      w->dates);
}

static mc_code rule_drift(mc_monitor_result *r, mc_monitor_rule *rule, mc_error *err)
{
	rule->evaluated = r->n_tested > 0;
	rule->severity = MC_ALERT_WARNING;
	if (!rule->evaluated || !r->dataset_drift)
		return MC_OK;
	title(rule, "Data drift: %zu of %zu columns drifted (share %.2f >= %.2f)", r->n_drifted,
	      r->n_tested, r->share, r->drift_share);
	mc_buf b = MC_BUF_INIT;
	window_line(&b, "reference", &r->ref);
	window_line(&b, "current", &r->cur);
	mc_buf_printf(&b, "drifted:");
	for (size_t c = 0; c < r->ncols; c++) {
		const mc_monitor_column *col = &r->cols[c];
		if (!col->skipped && col->r.drift)
			mc_buf_printf(&b, "\n- %s (%s %.4g, threshold %g)", col->name, col->r.test,
				      col->r.score, col->r.threshold);
	}
	mc_code rc = fire(rule, &b, err);
	mc_buf_release(&b);
	return rc;
}

mon_judged mon_judged_perf(const mc_monitor_result *r)
{
	if (r->judged < 0)
		return (mon_judged){NULL, r->perf, r->nperf, &r->last_k};
	const mc_monitor_version *v = &r->versions[r->judged];
	return (mon_judged){v, v->perf, v->nperf, &v->last_k};
}

/* "model version 2 (the champion)", or "every model version (no champion)". */
static void judged_text(const mc_monitor_result *r, const mon_judged *j, char *out, size_t cap)
{
	if (!j->v)
		snprintf(out, cap, "every model version pooled (no champion)");
	else
		snprintf(out, cap, "model version %s (%s)", j->v->version,
			 r->version_filter[0] ? "--model-version" : "the champion");
}

static bool degraded(const mc_monitor_perf *p, const mc_monitor_opts *o)
{
	return p->n >= o->min_rows && isfinite(p->train_rmse) && p->train_rmse > 0 &&
	       p->rmse > p->train_rmse * (1 + o->rmse_tolerance);
}

static mc_code rule_rmse(mc_monitor_result *r, mc_monitor_rule *rule, mc_error *err)
{
	const mc_monitor_opts *o = &r->opts;
	mon_judged j = mon_judged_perf(r);
	rule->severity = MC_ALERT_WARNING;
	size_t worst = 0, n = 0;
	for (size_t h = 1; h < j.nperf; h++) {
		const mc_monitor_perf *p = &j.perf[h];
		rule->evaluated |=
			p->n >= o->min_rows && isfinite(p->train_rmse) && p->train_rmse > 0;
		if (!degraded(p, o))
			continue;
		n++;
		if (!worst ||
		    p->rmse / p->train_rmse > j.perf[worst].rmse / j.perf[worst].train_rmse)
			worst = h;
	}
	if (!n)
		return MC_OK;
	const mc_monitor_perf *w = &j.perf[worst];
	char who[128];
	judged_text(r, &j, who, sizeof who);
	title(rule,
	      "Forecast RMSE of version %s degraded on %zu horizon%s: h%d %.4f vs %.4f in "
	      "training (%+.0f%%)",
	      j.v ? j.v->version : "?", n, n == 1 ? "" : "s", w->h, w->rmse, w->train_rmse,
	      100 * (w->rmse / w->train_rmse - 1));
	mc_buf b = MC_BUF_INIT;
	window_line(&b, "current", &r->cur);
	mc_buf_printf(&b, "judged: the forecasts of %s; tolerance %+.0f%% over its own test RMSE",
		      who, 100 * o->rmse_tolerance);
	for (size_t h = 1; h < j.nperf; h++)
		if (degraded(&j.perf[h], o))
			mc_buf_printf(&b, "\n- h%zu: RMSE %.4f on %zu forecasts, training %.4f", h,
				      j.perf[h].rmse, j.perf[h].n, j.perf[h].train_rmse);
	mc_code rc = fire(rule, &b, err);
	mc_buf_release(&b);
	return rc;
}

static mc_code rule_naive(mc_monitor_result *r, mc_monitor_rule *rule, mc_error *err)
{
	mon_judged j = mon_judged_perf(r);
	const mc_monitor_perf *p = j.last_k;
	rule->severity = MC_ALERT_WARNING;
	rule->evaluated = p->n >= r->opts.min_rows && isfinite(p->naive_rmse);
	if (!rule->evaluated || !(p->rmse > p->naive_rmse))
		return MC_OK;
	char from[11], who[128];
	mc_date_format_iso(r->last_k_from, from);
	judged_text(r, &j, who, sizeof who);
	title(rule,
	      "The model is worse than the last value over the last %d publications: RMSE %.4f vs "
	      "%.4f",
	      r->opts.naive_publications, p->rmse, p->naive_rmse);
	mc_buf b = MC_BUF_INIT;
	mc_buf_printf(&b,
		      "%zu forecasts of %s with targets from %s: MAE %.4f vs %.4f for the last "
		      "value",
		      p->n, who, from, p->mae, p->naive_mae);
	mc_code rc = fire(rule, &b, err);
	mc_buf_release(&b);
	return rc;
}

static mc_code rule_stale(mc_monitor_result *r, mc_monitor_rule *rule, mc_error *err)
{
	rule->severity = MC_ALERT_CRITICAL;
	rule->evaluated = true;
	if (r->days_since <= r->opts.stale_days)
		return MC_OK;
	char last[11], today[11];
	mc_date_format_iso(r->last_date, last);
	mc_date_format_iso(r->today, today);
	title(rule, "No new SNIIM data for %d days (last publication %s)", r->days_since, last);
	mc_buf b = MC_BUF_INIT;
	mc_buf_printf(&b, "checked on %s; the limit is %d days", today, r->opts.stale_days);
	mc_code rc = fire(rule, &b, err);
	mc_buf_release(&b);
	return rc;
}

static mc_code rule_quarantine(mc_monitor_result *r, mc_monitor_rule *rule, mc_error *err)
{
	const mc_monitor_opts *o = &r->opts;
	double cur = r->quarantine_share_cur, ref = r->quarantine_share_ref;
	rule->severity = MC_ALERT_WARNING;
	rule->evaluated = r->quarantined_cur >= 0 && isfinite(cur) && isfinite(ref);
	if (!rule->evaluated || !(cur > o->quarantine_share && cur > o->quarantine_ratio * ref))
		return MC_OK;
	title(rule,
	      "Quarantine spike: %.2f%% of the current window's rows quarantined (%lld of %zu), "
	      "%.2f%% in the reference",
	      100 * cur, (long long)r->quarantined_cur,
	      (size_t)r->quarantined_cur + r->lake_rows_cur, 100 * ref);
	mc_buf b = MC_BUF_INIT;
	window_line(&b, "reference", &r->ref);
	window_line(&b, "current", &r->cur);
	mc_buf_printf(&b,
		      "the limit: above %.2f%% and above %g times the reference share (%lld of "
		      "%zu rows)\nfiles with the most quarantined rows in the current window "
		      "('milkcast lake quarantine' lists them):",
		      100 * o->quarantine_share, o->quarantine_ratio, (long long)r->quarantined_ref,
		      (size_t)r->quarantined_ref + r->lake_rows_ref);
	for (size_t i = 0; i < r->nsources; i++)
		mc_buf_printf(&b, "\n- %s: %lld rows", r->sources[i].source,
			      (long long)r->sources[i].rows);
	mc_code rc = fire(rule, &b, err);
	mc_buf_release(&b);
	return rc;
}

typedef mc_code (*judge_fn)(mc_monitor_result *, mc_monitor_rule *, mc_error *);
static const judge_fn judges[MC_RULE_COUNT] = {rule_drift, rule_rmse, rule_naive, rule_stale,
					       rule_quarantine};

mc_code mon_rules(mc_monitor_result *r, mc_error *err)
{
	mc_code rc = MC_OK;
	r->fired = 0;
	for (int i = 0; i < MC_RULE_COUNT && !rc; i++) {
		r->rules[i].id = (mc_monitor_rule_id)i;
		rc = judges[i](r, &r->rules[i], err);
		r->fired += r->rules[i].fired;
	}
	return rc;
}

mc_code mc_monitor_send_alerts(mc_monitor_result *r, mc_alerter *a, mc_error *err)
{
	for (int i = 0; i < MC_RULE_COUNT; i++) {
		mc_monitor_rule *rule = &r->rules[i];
		if (!rule->fired)
			continue;
		mc_alert alert = {rule_names[i],
				  rule->severity,
				  rule->title,
				  rule->details,
				  r->html_path[0] ? r->html_path : NULL,
				  NULL};
		mc_error e = MC_ERROR_INIT;
		rule->send_code = mc_alert_send(a, &alert, &rule->outcome, &e);
		rule->sent = true;
		snprintf(rule->send_error, sizeof rule->send_error, "%s", e.msg);
		if (rule->send_code == MC_ERR_INVALID)
			return mc_fail(err, MC_ERR_INVALID, "alert '%s': %s", rule_names[i], e.msg);
	}
	return MC_OK;
}
