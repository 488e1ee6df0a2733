/*
 * The monitoring page, reports/monitoring/AS_OF.html: one self-contained
 * file (inline CSS and SVG, no script, no URL) with the alerts, the drift
 * table, each column's reference and current distributions, forecast error
 * over time against the last value, and data health.  Inline SVG in HTML
 * needs no namespace declaration, so the toolkit's xmlns attribute is
 * dropped and the page holds no URL at all.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/report.h"
#include "monitor/monitor_int.h"

/* A writer with a sticky error, as src/report/ has. */
typedef struct hw {
	mc_buf *b;
	mc_code rc;
	mc_error err;
} hw;

static void raw(hw *w, const char *s)
{
	if (!w->rc)
		w->rc = mc_buf_append(w->b, s, strlen(s));
}

static void out(hw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(hw *w, const char *fmt, ...)
{
	if (w->rc)
		return;
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof small) {
		raw(w, small);
		return;
	}
	char *big = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (!big) {
		w->rc = MC_ERR_NOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	raw(w, big);
	free(big);
}

static void text(hw *w, const char *s)
{
	if (!w->rc)
		w->rc = mc_xml_escape(w->b, s);
}

static void date(hw *w, int32_t d)
{
	char s[11];
	mc_date_format_iso(d, s);
	raw(w, s);
}

static void num(hw *w, double v, int decimals)
{
	if (isfinite(v))
		out(w, "%.*f", decimals, v);
	else
		raw(w, "n/a");
}

/* Append an SVG chart drawn into tmp, without its namespace attribute. */
static void svg(hw *w, mc_buf *tmp)
{
	static const char ns[] = " xmlns=\"http://www.w3.org/2000/svg\"";
	char *s = tmp->data ? (char *)tmp->data : "";
	for (char *at; (at = strstr(s, ns)) != NULL; s = at + sizeof ns - 1) {
		*at = '\0';
		raw(w, s);
	}
	raw(w, s);
	mc_buf_reset(tmp);
}

/* ---- head ---- */

static const char page_css[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
	"color:#222;background:#fff;max-width:64rem;margin:0 auto;padding:1rem 1.25rem 3rem}\n"
	"h1{font-size:1.6rem;margin:.5rem 0}\n"
	"h2{font-size:1.25rem;margin:2.2rem 0 .4rem;padding-bottom:.2rem;border-bottom:1px "
	"solid #ccc}\n"
	"h3{font-size:1rem;margin:1.2rem 0 .3rem}\n"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1.2rem;margin:.6rem "
	"0}\n"
	"dl.meta dt{color:#555}\n"
	"dl.meta dd{margin:0}\n"
	".status{font-weight:600;padding:.4rem .7rem;border-radius:4px;display:inline-block}\n"
	".ok{background:#e3f4ea;color:#135c2e}\n"
	".alert{background:#fbe5e1;color:#8a1f11}\n"
	".drift{color:#8a1f11;font-weight:600}\n"
	".muted{color:#5f5f5f}\n"
	"pre{white-space:pre-wrap;background:#f6f6f6;padding:.4rem .6rem;font-size:.85rem}\n"
	"figure{margin:.4rem 0 1rem}\n"
	"figure svg{display:block;width:100%;max-width:680px;height:auto}\n"
	"figcaption{font-size:.85rem;color:#555;max-width:680px}\n"
	".tw{overflow-x:auto}\n"
	"table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}\n"
	"th,td{padding:.2rem .55rem;border-bottom:1px solid #e3e3e3;text-align:left;"
	"white-space:nowrap}\n"
	"th{background:#f3f3f3;font-weight:600}\n"
	"td.n{text-align:right}\n"
	"ol.toc{columns:2 14rem;padding-left:1.6rem}\n"
	"@media print{figure{break-inside:avoid}}\n";

static void head(hw *w, const mc_monitor_result *r)
{
	raw(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
	       "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	       "style-src 'unsafe-inline'\"/>\n"
	       "<meta name=\"generator\" content=\"milkcast " MC_VERSION "\"/>\n"
	       "<title>Monitoring as of ");
	date(w, r->as_of);
	raw(w, "</title>\n<style>\n");
	raw(w, page_css);
	raw(w, "</style>\n</head>\n<body>\n");
}

static void window_text(hw *w, const mc_monitor_window *win)
{
	date(w, win->from);
	raw(w, " .. ");
	date(w, win->to);
	out(w, " <span class=\"muted\">(%zu rows, %zu publications)</span>", win->rows, win->dates);
}

static void header(hw *w, const mc_monitor_result *r)
{
	raw(w, "<h1>Milk price monitoring as of ");
	date(w, r->as_of);
	raw(w, "</h1>\n");
	if (r->fired)
		out(w, "<p class=\"status alert\">%zu alert rule%s fired</p>\n", r->fired,
		    r->fired == 1 ? "" : "s");
	else
		raw(w, "<p class=\"status ok\">Healthy: no alert rule fired</p>\n");
	raw(w, "<dl class=\"meta\">\n<dt>reference window</dt><dd>");
	window_text(w, &r->ref);
	raw(w, "</dd>\n<dt>current window</dt><dd>");
	window_text(w, &r->cur);
	raw(w, "</dd>\n<dt>model</dt><dd>");
	if (r->model_version[0]) {
		text(w, r->model_name);
		raw(w, " version ");
		text(w, r->model_version);
		raw(w, " (champion), run ");
		text(w, r->run_id);
	} else {
		raw(w, "no champion in the registry");
	}
	raw(w, "</dd>\n<dt>generated</dt><dd>");
	text(w, r->generated_at);
	raw(w, "</dd>\n</dl>\n<ol class=\"toc\"><li><a href=\"#alerts\">Alerts</a></li>"
	       "<li><a href=\"#drift\">Data drift</a></li><li><a href=\"#distributions\">"
	       "Distributions</a></li><li><a href=\"#performance\">Forecast performance</a></li>"
	       "<li><a href=\"#health\">Data health</a></li></ol>\n");
}

/* ---- alerts ---- */

static void delivery(hw *w, const mc_monitor_rule *rule)
{
	if (!rule->sent) {
		raw(w, "not sent (--no-alerts)");
		return;
	}
	if (rule->outcome.logged_only) {
		raw(w, "no channel configured: logged only");
		return;
	}
	for (int ch = 0; ch < MC_ALERT_NCHANNELS; ch++) {
		const mc_alert_delivery *d = &rule->outcome.channel[ch];
		if (d->status == MC_ALERT_NOT_CONFIGURED)
			continue;
		out(w, "%s: %s", mc_alert_channel_name((mc_alert_channel)ch),
		    mc_alert_status_name(d->status));
		if (d->status == MC_ALERT_FAILED) {
			raw(w, " (");
			text(w, d->error);
			raw(w, ")");
		}
		raw(w, "; ");
	}
}

static void alerts(hw *w, const mc_monitor_result *r)
{
	raw(w, "<h2 id=\"alerts\">Alerts</h2>\n");
	if (!r->fired)
		raw(w, "<p>No rule fired.</p>\n");
	for (int i = 0; i < MC_RULE_COUNT; i++) {
		const mc_monitor_rule *rule = &r->rules[i];
		if (!rule->fired)
			continue;
		out(w, "<h3 class=\"drift\">%s: ", mc_alert_severity_name(rule->severity));
		text(w, rule->title);
		raw(w, "</h3>\n<pre>");
		text(w, rule->details);
		raw(w, "</pre>\n<p class=\"muted\">rule ");
		raw(w, mc_monitor_rule_name(rule->id));
		raw(w, "; delivery: ");
		delivery(w, rule);
		raw(w, "</p>\n");
	}
	raw(w, "<div class=\"tw\"><table><thead><tr><th>rule</th><th>judged</th><th>fired</th>"
	       "</tr></thead><tbody>\n");
	for (int i = 0; i < MC_RULE_COUNT; i++)
		out(w, "<tr><td>%s</td><td>%s</td><td%s>%s</td></tr>\n",
		    mc_monitor_rule_name(r->rules[i].id),
		    r->rules[i].evaluated ? "yes" : "no (too little data)",
		    r->rules[i].fired ? " class=\"drift\"" : "", r->rules[i].fired ? "yes" : "no");
	raw(w, "</tbody></table></div>\n");
}

/* ---- drift ---- */

static void drift_row(hw *w, const mc_monitor_column *c)
{
	raw(w, "<tr><td>");
	text(w, c->name);
	out(w, "</td><td>%s</td>", c->feature ? "feature" : "data");
	if (c->skipped) {
		raw(w, "<td colspan=\"7\" class=\"muted\">not tested: a window has no "
		       "value</td></tr>\n");
		return;
	}
	out(w, "<td>%s</td><td>", c->r.kind == MC_DRIFT_NUMERIC ? "numeric" : "categorical");
	text(w, c->r.test);
	raw(w, "</td><td class=\"n\">");
	num(w, c->r.statistic, 4);
	raw(w, "</td><td class=\"n\">");
	if (isfinite(c->r.p_value))
		out(w, "%.3g", c->r.p_value);
	else
		raw(w, "&#8211;");
	raw(w, "</td><td class=\"n\">");
	num(w, c->r.score, 4);
	raw(w, "</td><td class=\"n\">");
	out(w, "%g", c->r.threshold);
	out(w, "</td><td%s>%s</td></tr>\n", c->r.drift ? " class=\"drift\"" : "",
	    c->r.drift ? "drift" : "no drift");
}

static void drift_table(hw *w, const mc_monitor_result *r)
{
	raw(w, "<h2 id=\"drift\">Data drift</h2>\n<p>");
	if (r->n_tested)
		out(w, "%zu of %zu columns drifted (share %.2f; dataset drift at %.2f): ",
		    r->n_drifted, r->n_tested, r->share, r->drift_share);
	out(w, "<strong%s>%s</strong>.</p>\n", r->dataset_drift ? " class=\"drift\"" : "",
	    r->dataset_drift ? "dataset drift" : "no dataset drift");
	raw(w, "<div class=\"tw\"><table><thead><tr><th>column</th><th>source</th><th>kind</th>"
	       "<th>test</th><th>statistic</th><th>p-value</th><th>score</th><th>threshold</th>"
	       "<th>verdict</th></tr></thead><tbody>\n");
	for (size_t c = 0; c < r->ncols; c++)
		drift_row(w, &r->cols[c]);
	raw(w, "</tbody></table></div>\n");
}

/* ---- distributions ---- */

typedef struct bars_data {
	size_t n;
	double *ref, *cur;
	char **labels;
} bars_data;

static void bars_release(bars_data *d)
{
	for (size_t i = 0; d->labels && i < d->n; i++)
		free(d->labels[i]);
	free(d->labels);
	free(d->ref);
	free(d->cur);
	memset(d, 0, sizeof *d);
}

static double share(uint64_t k, size_t n)
{
	return n ? (double)k / (double)n : 0;
}

static const mc_drift_histogram *sort_hist;

static int by_weight(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const mc_drift_histogram *h = sort_hist;
	double wi = share(h->ref[i], h->n_ref) + share(h->cur[i], h->n_cur);
	double wj = share(h->ref[j], h->n_ref) + share(h->cur[j], h->n_cur);
	return wi < wj ? 1 : wi > wj ? -1 : (i > j) - (i < j);
}

/*
 * Categories (or distinct values): the top ones by share.  The rest are not
 * drawn (a bar as tall as all of them would flatten the others); the caption
 * gives their share.
 */
static mc_code top_bars(const mc_drift_histogram *h, bars_data *d, double *rest_ref,
			double *rest_cur)
{
	size_t k = h->nbins, top = k > MC_MONITOR_TOP_CATEGORIES ? MC_MONITOR_TOP_CATEGORIES : k;
	size_t *order = malloc((k ? k : 1) * sizeof *order);
	d->n = top;
	d->ref = calloc(top ? top : 1, sizeof *d->ref);
	d->cur = calloc(top ? top : 1, sizeof *d->cur);
	d->labels = calloc(top ? top : 1, sizeof *d->labels);
	if (!order || !d->ref || !d->cur || !d->labels) {
		free(order);
		return MC_ERR_NOMEM;
	}
	for (size_t i = 0; i < k; i++)
		order[i] = i;
	sort_hist = h;
	if (k > top)
		qsort(order, k, sizeof *order, by_weight);
	*rest_ref = *rest_cur = 0;
	for (size_t i = 0; i < k; i++) {
		size_t b = order[i];
		if (i >= top) {
			*rest_ref += share(h->ref[b], h->n_ref);
			*rest_cur += share(h->cur[b], h->n_cur);
			continue;
		}
		d->ref[i] = share(h->ref[b], h->n_ref);
		d->cur[i] = share(h->cur[b], h->n_cur);
		char v[40] = "";
		if (!h->labels)
			snprintf(v, sizeof v, "%.4g", h->values[b]);
		if (!(d->labels[i] = strdup(h->labels ? h->labels[b] : v))) {
			free(order);
			return MC_ERR_NOMEM;
		}
	}
	free(order);
	return MC_OK;
}

static mc_code edge_bars(const mc_drift_histogram *h, bars_data *d)
{
	d->n = h->nbins;
	d->ref = malloc((d->n ? d->n : 1) * sizeof *d->ref);
	d->cur = malloc((d->n ? d->n : 1) * sizeof *d->cur);
	if (!d->ref || !d->cur)
		return MC_ERR_NOMEM;
	for (size_t i = 0; i < d->n; i++) {
		d->ref[i] = share(h->ref[i], h->n_ref);
		d->cur[i] = share(h->cur[i], h->n_cur);
	}
	return MC_OK;
}

static void column_chart(hw *w, const mc_monitor_column *c, mc_buf *tmp)
{
	const mc_drift_histogram *h = &c->hist;
	bars_data d = {0};
	double rest_ref = 0, rest_cur = 0;
	mc_code rc = h->edges ? edge_bars(h, &d) : top_bars(h, &d, &rest_ref, &rest_cur);
	mc_svg_plot p;
	mc_svg_plot_init(&p, 0, 0, 680, d.labels ? 300 : 240);
	p.title = c->name;
	p.y_label = "share of rows";
	p.x_label = h->edges ? "value" : NULL;
	mc_svg_bars bars = {d.n,	 h->edges, (const char *const *)d.labels, d.ref, d.cur,
			    "reference", "current"};
	if (!rc)
		rc = mc_svg_histogram(tmp, &p, &bars, &w->err);
	if (rc && !w->rc)
		w->rc = rc;
	bars_release(&d);
	raw(w, "<figure>");
	svg(w, tmp);
	raw(w, "<figcaption>");
	text(w, c->name);
	out(w, ": %zu reference and %zu current values", h->n_ref, h->n_cur);
	if (!h->edges && h->nbins > MC_MONITOR_TOP_CATEGORIES)
		out(w,
		    "; the %d largest of %zu categories; the other %zu hold %.1f%% of the "
		    "reference and %.1f%% of the current values",
		    MC_MONITOR_TOP_CATEGORIES, h->nbins, h->nbins - MC_MONITOR_TOP_CATEGORIES,
		    100 * rest_ref, 100 * rest_cur);
	raw(w, ".</figcaption></figure>\n");
}

static void distributions(hw *w, const mc_monitor_result *r, mc_buf *tmp)
{
	raw(w, "<h2 id=\"distributions\">Distributions</h2>\n<p class=\"muted\">Shares of each "
	       "window's rows, binned as the drift tests bin them; filled bars: reference, "
	       "outlined: current.</p>\n");
	for (size_t c = 0; c < r->ncols; c++) {
		const mc_monitor_column *col = &r->cols[c];
		if (col->skipped || !col->hist.nbins)
			continue;
		out(w, "<h3>");
		text(w, col->name);
		out(w, " <span class=\"%s\">%s</span></h3>\n", col->r.drift ? "drift" : "muted",
		    col->r.drift ? "drift" : "no drift");
		column_chart(w, col, tmp);
	}
}

/* ---- performance ---- */

static void perf_row(hw *w, const mc_monitor_perf *p, const char *label, bool training)
{
	out(w, "<tr><td>%s</td><td class=\"n\">%zu</td>", label, p->n);
	const double v[] = {p->mae,
			    p->rmse,
			    p->mape,
			    p->bias,
			    p->naive_mae,
			    p->naive_rmse,
			    p->naive_mape,
			    p->naive_bias,
			    p->train_mae,
			    p->train_rmse,
			    p->train_naive_rmse};
	size_t n = sizeof v / sizeof *v - (training ? 0 : 3);
	for (size_t i = 0; i < n; i++) {
		raw(w, "<td class=\"n\">");
		num(w, v[i], i == 2 || i == 6 ? 2 : 4);
		raw(w, "</td>");
	}
	raw(w, "</tr>\n");
}

/* Per horizon, then pooled; with the version's training metrics when `training`. */
static void perf_table(hw *w, const mc_monitor_perf *perf, size_t nperf, bool training)
{
	raw(w, "<div class=\"tw\"><table><thead><tr><th>horizon</th><th>n</th><th>MAE</th>"
	       "<th>RMSE</th><th>MAPE %</th><th>bias</th><th>last value MAE</th><th>last value "
	       "RMSE</th><th>last value MAPE %</th><th>last value bias</th>");
	if (training)
		raw(w, "<th>training test MAE</th><th>training test RMSE</th><th>training last "
		       "value RMSE</th>");
	raw(w, "</tr></thead><tbody>\n");
	for (size_t h = 1; h < nperf; h++) {
		char label[24];
		snprintf(label, sizeof label, "h%zu", h);
		perf_row(w, &perf[h], label, training);
	}
	perf_row(w, &perf[0], "all", training);
	raw(w, "</tbody></table></div>\n");
}

static void last_k_line(hw *w, const mc_monitor_result *r, const mc_monitor_perf *p)
{
	out(w, "<p>Last %d publications (targets from ", r->opts.naive_publications);
	date(w, r->last_k_from);
	out(w, "): %zu forecasts, RMSE ", p->n);
	num(w, p->rmse, 4);
	raw(w, " against ");
	num(w, p->naive_rmse, 4);
	raw(w, " for the last value.</p>\n");
}

/* The points, with a gap (NaN) where more than a week passes without one. */
static size_t chart_points(const mc_monitor_result *r, double *x, double *m, double *nv)
{
	size_t k = 0;
	for (size_t i = 0; i < r->npoints; i++) {
		const mc_monitor_point *p = &r->points[i];
		if (i && p->date - r->points[i - 1].date > 7) {
			x[k] = p->date - 1;
			m[k] = nv[k] = NAN;
			k++;
		}
		x[k] = p->date;
		m[k] = p->mae;
		nv[k] = p->naive_mae;
		k++;
	}
	return k;
}

static void error_chart(hw *w, const mc_monitor_result *r, mc_buf *tmp)
{
	size_t cap = 2 * r->npoints + 1;
	double *x = malloc(cap * sizeof *x), *m = malloc(cap * sizeof *m),
	       *nv = malloc(cap * sizeof *nv);
	mc_code rc = x && m && nv ? MC_OK : MC_ERR_NOMEM;
	size_t n = rc ? 0 : chart_points(r, x, m, nv);
	mc_svg_plot p;
	mc_svg_plot_init(&p, 0, 0, 680, 280);
	p.title = "Mean absolute error by target date";
	p.y_label = "MXN per litre";
	p.x_kind = MC_SVG_X_DATE;
	p.empty_text = "no logged forecast has a published price in the current window";
	mc_svg_line lines[2] = {{"model", 0, n, x, m, 0, NULL, NULL, NULL, NULL, false},
				{"last value", 1, n, x, nv, 0, NULL, NULL, NULL, NULL, false}};
	if (!rc)
		rc = mc_svg_line_chart(tmp, &p, lines, 2, &w->err);
	if (rc && !w->rc)
		w->rc = rc;
	free(x);
	free(m);
	free(nv);
	raw(w, "<figure>");
	svg(w, tmp);
	raw(w, "<figcaption>Every horizon pooled; each distinct forecast counted once; a gap "
	       "where a week passes without a scored forecast.</figcaption></figure>\n");
}

static void version_section(hw *w, const mc_monitor_result *r, const mc_monitor_version *v)
{
	raw(w, "<h3>Model version ");
	text(w, v->version[0] ? v->version : "(none logged)");
	if (v->champion || v->judged)
		out(w, " <span class=\"muted\">(%s%s%s)</span>", v->champion ? "champion" : "",
		    v->champion && v->judged ? "; " : "", v->judged ? "judged by the rules" : "");
	out(w, "</h3>\n<p>%zu distinct forecasts logged, %zu scored; training run ", v->forecasts,
	    v->perf[0].n);
	if (v->run_id[0])
		text(w, v->run_id);
	else
		raw(w, "unknown (not a version of the registered model)");
	raw(w, ".</p>\n");
	perf_table(w, v->perf, v->nperf, true);
	last_k_line(w, r, &v->last_k);
}

static void judged_line(hw *w, const mc_monitor_result *r)
{
	raw(w, "<p>The rules <code>rmse_degraded</code> and <code>worse_than_naive</code> judge ");
	if (r->judged < 0) {
		raw(w, "every forecast pooled: the registry has no champion.</p>\n");
		return;
	}
	raw(w, "only the forecasts of model version ");
	text(w, r->versions[r->judged].version);
	out(w, " (%s), against its own test metrics.</p>\n",
	    r->version_filter[0] ? "--model-version" : "the champion");
}

static void performance(hw *w, const mc_monitor_result *r, mc_buf *tmp)
{
	raw(w, "<h2 id=\"performance\">Forecast performance</h2>\n");
	out(w,
	    "<p>%zu prediction log file%s, %zu lines (%zu unreadable), %zu distinct forecasts "
	    "(%zu repeats ignored); %zu with a published price in the current window.</p>\n",
	    r->pred_files, r->pred_files == 1 ? "" : "s", r->pred_lines, r->pred_bad,
	    r->pred_unique, r->pred_duplicates, r->pred_joined);
	if (r->version_filter[0]) {
		raw(w, "<p>Restricted to model version ");
		text(w, r->version_filter);
		out(w, " (--model-version): %zu forecasts of other versions left out.</p>\n",
		    r->pred_other_versions);
	}
	judged_line(w, r);
	raw(w, r->version_filter[0] ? "<h3>Model version " : "<h3>Every model version");
	text(w, r->version_filter);
	raw(w, "</h3>\n");
	perf_table(w, r->perf, r->nperf, false);
	last_k_line(w, r, &r->last_k);
	error_chart(w, r, tmp);
	for (size_t i = 0; i < r->nversions; i++)
		version_section(w, r, &r->versions[i]);
}

/* ---- health ---- */

static void quarantine_sources(hw *w, const mc_monitor_result *r)
{
	if (!r->nsources)
		return;
	raw(w, "<div class=\"tw\"><table><thead><tr><th>file</th><th>rows quarantined in the "
	       "current window</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < r->nsources; i++) {
		raw(w, "<tr><td>");
		text(w, r->sources[i].source);
		out(w, "</td><td class=\"n\">%lld</td></tr>\n", (long long)r->sources[i].rows);
	}
	raw(w, "</tbody></table></div>\n");
}

static void health(hw *w, const mc_monitor_result *r)
{
	raw(w, "<h2 id=\"health\">Data health</h2>\n<dl class=\"meta\">\n<dt>last "
	       "publication</dt><dd>");
	date(w, r->last_date);
	out(w, " (%d days before ", r->days_since);
	date(w, r->today);
	out(w, "; the limit is %d)</dd>\n<dt>quarantined rows</dt><dd>", r->opts.stale_days);
	if (r->quarantined_cur >= 0)
		out(w,
		    "%lld in the current window (%.2f%% of its rows), %lld in the reference "
		    "window (%.2f%%)",
		    (long long)r->quarantined_cur, 100 * r->quarantine_share_cur,
		    (long long)r->quarantined_ref, 100 * r->quarantine_share_ref);
	else
		raw(w, "n/a (no database)");
	out(w,
	    "</dd>\n<dt>silent series</dt><dd>%zu of the %zu series with prices in the "
	    "reference window have none in the last %d publications</dd>\n</dl>\n",
	    r->nsilent, r->series_ref, r->opts.silent_publications);
	quarantine_sources(w, r);
	if (!r->nsilent)
		return;
	raw(w, "<div class=\"tw\"><table><thead><tr><th>state</th><th>city</th><th>milk type</th>"
	       "<th>channel</th><th>last price</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < r->nsilent; i++) {
		const mc_monitor_silent *s = &r->silent[i];
		const char *v[4] = {s->state, s->city, s->milk_type, s->channel};
		raw(w, "<tr>");
		for (int k = 0; k < 4; k++) {
			raw(w, "<td>");
			text(w, v[k]);
			raw(w, "</td>");
		}
		raw(w, "<td>");
		if (s->last_price_date)
			date(w, s->last_price_date);
		raw(w, "</td></tr>\n");
	}
	raw(w, "</tbody></table></div>\n");
}

mc_code mc_monitor_html(const mc_monitor_result *r, mc_buf *b, mc_error *err)
{
	size_t start = b->len;
	hw w = {b, MC_OK, MC_ERROR_INIT};
	mc_buf tmp = MC_BUF_INIT;
	head(&w, r);
	header(&w, r);
	alerts(&w, r);
	drift_table(&w, r);
	distributions(&w, r, &tmp);
	performance(&w, r, &tmp);
	health(&w, r);
	raw(&w, "</body>\n</html>\n");
	mc_buf_release(&tmp);
	if (!w.rc)
		return MC_OK;
	b->len = start;
	if (b->data)
		b->data[start] = '\0';
	if (w.err.code)
		return mc_fail(err, w.err.code, "cannot write the monitoring page: %s", w.err.msg);
	return mc_fail(err, w.rc, "cannot write the monitoring page: %s", mc_strerror(w.rc));
}
