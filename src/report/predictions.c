/*
 * The predictions page: one self-contained HTML file (inline CSS, inline
 * SVG, one small inline script for a table filter that the page does not
 * need) with a section per state: a chart with a panel per city, the series
 * without a forecast and the forecast table.
 */
#include "report/report_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/sha256.h"

#define CHART_WIDTH 720.0
#define PAGE_LIMIT ((size_t)256 << 20) /* bytes; far above ~10 states x 16 series */
#define UNIT "MXN per litre"

/* A series and its position in the caller's array (the sort's tie-break). */
typedef struct item {
	const mc_report_series *s;
	size_t index;
} item;

/* A (milk_type, channel) pair and its colour, the same on every chart of the page. */
typedef struct combo {
	const char *milk_type, *channel;
	int color;
	char *label; /* "pasteurizada · tiendas" */
} combo;

typedef struct page {
	const mc_report_meta *meta;
	item *items; /* sorted by (state, city, milk_type, channel) */
	size_t n;
	combo *combos;
	size_t ncombos;
	int32_t x0, x1; /* the charts' date window */
	char level[16]; /* "90%" or "n/a" */
} page;

/* items[first .. first + count) */
typedef struct run {
	size_t first, count;
} run;

/* ---- Checks and set-up --------------------------------------------------- */

static bool ascending(const int32_t *d, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (d[i] <= d[i - 1])
			return false;
	return true;
}

static const char *series_problem(const mc_report_series *s)
{
	if (!s->state || !s->city || !s->milk_type || !s->channel)
		return "a name is NULL";
	if (s->nhist && (!s->hist_dates || !s->hist_prices))
		return "history arrays are NULL";
	if (s->nfc && (!s->fc_dates || !s->fc_price))
		return "forecast arrays are NULL";
	if (s->nhist && !ascending(s->hist_dates, s->nhist))
		return "history dates do not ascend";
	if (s->nfc && !ascending(s->fc_dates, s->nfc))
		return "forecast dates do not ascend";
	return NULL;
}

static mc_code check_input(const mc_report_meta *meta, const mc_report_series *series, size_t n,
			   mc_error *err)
{
	if (!meta || (n && !series))
		return mc_fail(err, MC_ERR_INVALID, "cannot write the predictions report: %s",
			       meta ? "no series array" : "no metadata");
	for (size_t i = 0; i < n; i++) {
		const char *why = series_problem(&series[i]);
		if (why)
			return mc_fail(err, MC_ERR_INVALID,
				       "cannot write the predictions report: series %zu: %s", i,
				       why);
	}
	return MC_OK;
}

static int cmp_item(const void *a, const void *b)
{
	const mc_report_series *x = ((const item *)a)->s, *y = ((const item *)b)->s;
	int c = strcmp(x->state, y->state);
	if (!c)
		c = strcmp(x->city, y->city);
	if (!c)
		c = strcmp(x->milk_type, y->milk_type);
	if (!c)
		c = strcmp(x->channel, y->channel);
	if (!c) {
		size_t i = ((const item *)a)->index, j = ((const item *)b)->index;
		c = (i > j) - (i < j);
	}
	return c;
}

/* The fixed colours of the four SNIIM combinations: hue = milk type, shade = channel. */
static int known_color(const char *milk_type, const char *channel)
{
	bool past = !strcmp(milk_type, "pasteurizada"),
	     ultra = !strcmp(milk_type, "ultrapasteurizada");
	bool shop = !strcmp(channel, "tiendas"), super = !strcmp(channel, "autoservicios");
	if ((!past && !ultra) || (!shop && !super))
		return -1;
	return past ? (shop ? 0 : 5) : (shop ? 3 : 1); /* blue, sky blue, vermillion, orange */
}

static const combo *find_combo(const page *pg, const char *milk_type, const char *channel)
{
	for (size_t i = 0; i < pg->ncombos; i++)
		/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): all set below ncombos */
		if (!strcmp(pg->combos[i].milk_type, milk_type) &&
		    !strcmp(pg->combos[i].channel, channel))
			return &pg->combos[i];
	return NULL;
}

static char *combo_label(const char *milk_type, const char *channel)
{
	size_t a = strlen(milk_type), b = strlen(channel);
	char *s = malloc(a + b + 6);
	if (s) {
		memcpy(s, milk_type, a);
		memcpy(s + a, " \xC2\xB7 ", 4); /* " · " */
		memcpy(s + a + 4, channel, b + 1);
	}
	return s;
}

static int cmp_combo(const void *a, const void *b)
{
	const combo *x = a, *y = b;
	int c = strcmp(x->milk_type, y->milk_type);
	return c ? c : strcmp(x->channel, y->channel);
}

/* Distinct (milk_type, channel) pairs, sorted; unknown ones take the spare colours in order. */
static mc_code collect_combos(page *pg)
{
	static const int spare[] = {2, 4, 7, 6}; /* green, purple, black, yellow */
	size_t nspare = 0;
	pg->combos = calloc(pg->n ? pg->n : 1, sizeof *pg->combos);
	if (!pg->combos)
		return MC_ERR_NOMEM;
	for (size_t i = 0; i < pg->n; i++) {
		const mc_report_series *s = pg->items[i].s;
		if (!find_combo(pg, s->milk_type, s->channel))
			pg->combos[pg->ncombos++] = (combo){s->milk_type, s->channel, 0, NULL};
	}
	qsort(pg->combos, pg->ncombos, sizeof *pg->combos, cmp_combo);
	for (size_t i = 0; i < pg->ncombos; i++) {
		combo *c = &pg->combos[i];
		c->color = known_color(c->milk_type, c->channel);
		if (c->color < 0)
			c->color = spare[nspare++ % 4];
		c->label = combo_label(c->milk_type, c->channel);
		if (!c->label)
			return MC_ERR_NOMEM;
	}
	return MC_OK;
}

static void page_release(page *pg)
{
	for (size_t i = 0; i < pg->ncombos; i++)
		free(pg->combos[i].label);
	free(pg->combos);
	free(pg->items);
}

/* The window: MC_REPORT_HISTORY_DAYS before the as-of date to the last forecast date. */
static void set_window(page *pg)
{
	int32_t as_of = pg->meta->as_of, end = as_of + 7;
	for (size_t i = 0; i < pg->n; i++) {
		const mc_report_series *s = pg->items[i].s;
		if (s->nfc && s->fc_dates[s->nfc - 1] > end)
			end = s->fc_dates[s->nfc - 1];
	}
	pg->x0 = as_of - MC_REPORT_HISTORY_DAYS;
	pg->x1 = end + 1;
}

static void set_level(page *pg)
{
	double pct = pg->meta->interval_level * 100;
	if (!(pct > 0 && pct < 100))
		snprintf(pg->level, sizeof pg->level, "n/a");
	else if (fabs(pct - round(pct)) < 1e-9)
		snprintf(pg->level, sizeof pg->level, "%.0f%%", pct);
	else
		snprintf(pg->level, sizeof pg->level, "%.1f%%", pct);
}

static mc_code page_init(page *pg, const mc_report_meta *meta, const mc_report_series *series,
			 size_t n)
{
	memset(pg, 0, sizeof *pg);
	pg->meta = meta;
	pg->n = n;
	pg->items = malloc((n ? n : 1) * sizeof *pg->items);
	if (!pg->items)
		return MC_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		pg->items[i] = (item){&series[i], i};
	qsort(pg->items, n, sizeof *pg->items, cmp_item);
	set_window(pg);
	set_level(pg);
	return collect_combos(pg);
}

/* The run of items from `first` with the same state (and city when by_city). */
static run next_run(const page *pg, size_t first, bool by_city)
{
	const mc_report_series *a = pg->items[first].s;
	size_t end = first + 1;
	while (end < pg->n) {
		const mc_report_series *b = pg->items[end].s;
		if (strcmp(a->state, b->state) || (by_city && strcmp(a->city, b->city)))
			break;
		end++;
	}
	return (run){first, end - first};
}

static size_t count_runs(const page *pg, run r, bool by_city)
{
	size_t k = 0;
	for (size_t i = r.first; i < r.first + r.count; i += next_run(pg, i, by_city).count)
		k++;
	return k;
}

/* Named cities (national averages have none). */
static size_t count_cities(const page *pg, run r)
{
	size_t k = 0;
	for (size_t i = r.first; i < r.first + r.count; i += next_run(pg, i, true).count)
		k += pg->items[i].s->city[0] != '\0';
	return k;
}

static size_t count_forecasts(const page *pg, run r, size_t *rows)
{
	size_t k = 0;
	*rows = 0;
	for (size_t i = r.first; i < r.first + r.count; i++) {
		k += pg->items[i].s->nfc > 0;
		*rows += pg->items[i].s->nfc;
	}
	return k;
}

/* ---- Head, header, contents ---------------------------------------------- */

static const char page_css[] =
	"body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
	"color:#222;background:#fff;max-width:62rem;margin:0 auto;padding:1rem 1.25rem 3rem}\n"
	"h1{font-size:1.6rem;margin:.5rem 0}\n"
	"h2{font-size:1.25rem;margin:2.2rem 0 .4rem;padding-bottom:.2rem;border-bottom:1px solid "
	"#ccc}\n"
	"h3{font-size:1rem;margin:1rem 0 .3rem}\n"
	"a{color:#005a9c}\n"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1.2rem;margin:.6rem "
	"0}\n"
	"dl.meta dt{color:#555}\n"
	"dl.meta dd{margin:0}\n"
	".muted{color:#5f5f5f}\n"
	"ol.toc{columns:3 13rem;padding-left:1.6rem}\n"
	"figure{margin:.6rem 0 1rem}\n"
	"figure svg{display:block;width:100%;max-width:720px;height:auto}\n"
	"figcaption{font-size:.85rem;color:#555;max-width:720px}\n"
	".tw{overflow-x:auto}\n"
	"table{border-collapse:collapse;font-size:.85rem;font-variant-numeric:tabular-nums}\n"
	"th,td{padding:.2rem .55rem;border-bottom:1px solid #e3e3e3;text-align:left;"
	"white-space:nowrap}\n"
	"th{background:#f3f3f3;font-weight:600}\n"
	"td.n{text-align:right}\n"
	"tbody tr:hover{background:#f7f7f2}\n"
	"#filter input{font:inherit;padding:.2rem .4rem;min-width:16rem}\n"
	"@media print{figure{break-inside:avoid}#filter{display:none}}\n";

/* Hides the forecast rows that do not contain the typed text (accents ignored). No '<' or
 * '&' inside, so the page stays well-formed XML without a CDATA section. */
static const char page_js[] =
	"(function () {\n"
	"\tvar box = document.getElementById('filter');\n"
	"\tif (!box) return;\n"
	"\tbox.hidden = false;\n"
	"\tvar input = box.getElementsByTagName('input')[0];\n"
	"\tfunction norm(s) {\n"
	"\t\treturn s.normalize('NFD').replace(/[\\u0300-\\u036f]/g, '').toLowerCase();\n"
	"\t}\n"
	"\tinput.addEventListener('input', function () {\n"
	"\t\tvar q = norm(input.value.trim());\n"
	"\t\tvar rows = document.querySelectorAll('table.fc tbody tr');\n"
	"\t\tfor (var i = 0; i !== rows.length; i++)\n"
	"\t\t\trows[i].hidden = q ? norm(rows[i].textContent).indexOf(q) === -1 : false;\n"
	"\t});\n"
	"})();\n";

/* Base64 of the script's SHA-256, for the Content-Security-Policy. */
static void script_hash(char out[45])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t h[33] = {0};
	mc_sha256 s;
	mc_sha256_init(&s);
	mc_sha256_update(&s, page_js, sizeof page_js - 1);
	mc_sha256_final(&s, h);
	for (size_t i = 0, o = 0; i < 33; i += 3) {
		uint32_t v = (uint32_t)h[i] << 16 | (uint32_t)h[i + 1] << 8 | h[i + 2];
		for (int k = 3; k >= 0; k--)
			out[o++] = b64[(v >> (6 * k)) & 63];
	}
	out[43] = '=';
	out[44] = '\0';
}

static void write_head(rp_w *w, const page *pg)
{
	char hash[45];
	script_hash(hash);
	rp_raw(w, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
		  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
	/* Nothing may load or run except this page's own style and script. */
	rp_printf(w,
		  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		  "style-src 'unsafe-inline'; script-src 'sha256-%s'\"/>\n",
		  hash);
	rp_raw(w, "<meta name=\"generator\" content=\"milkcast " MC_VERSION "\"/>\n<title>");
	rp_raw(w, "Milk price forecasts as of ");
	rp_date(w, pg->meta->as_of);
	rp_raw(w, "</title>\n<style>\n");
	rp_raw(w, page_css);
	rp_raw(w, "</style>\n</head>\n<body>\n");
}

static void meta_row(rp_w *w, const char *term, const char *value)
{
	rp_printf(w, "<dt>%s</dt><dd>", term);
	rp_text(w, value);
	rp_raw(w, "</dd>\n");
}

static void write_header(rp_w *w, const page *pg)
{
	static const char *const wd[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
					 "Friday", "Saturday", "Sunday"};
	run all = {0, pg->n};
	size_t rows, with = count_forecasts(pg, all, &rows);
	size_t states = pg->n ? count_runs(pg, all, false) : 0;
	size_t cities = count_cities(pg, all);
	rp_raw(w,
	       "<header>\n<h1>Milk price forecasts</h1>\n<dl class=\"meta\">\n<dt>As of</dt><dd>");
	rp_date(w, pg->meta->as_of);
	rp_printf(w, " (%s)</dd>\n", wd[mc_date_weekday(pg->meta->as_of)]);
	meta_row(w, "Model", pg->meta->model ? pg->meta->model : "unknown");
	rp_printf(w, "<dt>Interval</dt><dd>%s prediction interval</dd>\n", pg->level);
	meta_row(w, "Generated", pg->meta->generated_at ? pg->meta->generated_at : "unknown");
	rp_printf(w,
		  "<dt>Series</dt><dd>%zu in %zu states and %zu cities: %zu with a forecast, "
		  "%zu without</dd>\n",
		  pg->n, states, cities, with, pg->n - with);
	rp_printf(w, "<dt>Forecast rows</dt><dd>%zu</dd>\n</dl>\n", rows);
	rp_printf(
		w,
		"<p class=\"muted\">Each state has a chart with one panel per city on a shared "
		"price axis (" UNIT "): solid lines are the published prices of the last %d "
		"weeks (a break is a date without a price), dashed lines the forecast after the "
		"dotted as-of line, shaded bands the %s prediction interval. Hue is the milk type "
		"(blue pasteurizada, orange/vermillion ultrapasteurizada), the lighter shade the "
		"autoservicios channel. The tables below each chart have the numbers.</p>\n"
		"</header>\n",
		MC_REPORT_HISTORY_DAYS / 7, pg->level);
}

static void write_toc(rp_w *w, const page *pg)
{
	rp_raw(w, "<nav>\n<h2>States</h2>\n");
	if (!pg->n) {
		rp_raw(w, "<p>No series to report.</p>\n</nav>\n");
		return;
	}
	rp_raw(w, "<ol class=\"toc\">\n");
	size_t k = 0;
	for (size_t i = 0; i < pg->n; k++) {
		run r = next_run(pg, i, false);
		size_t rows, with = count_forecasts(pg, r, &rows);
		rp_printf(w, "<li><a href=\"#state-%zu\">", k + 1);
		rp_text(w, pg->items[i].s->state);
		rp_printf(w, "</a> <span class=\"muted\">%zu series", r.count);
		if (with < r.count)
			rp_printf(w, ", %zu without forecast", r.count - with);
		rp_raw(w, "</span></li>\n");
		i += r.count;
	}
	rp_raw(w, "</ol>\n<p id=\"filter\" hidden=\"hidden\"><label>Filter forecast rows: <input "
		  "type=\"search\" placeholder=\"state, city, milk type, channel\"/></label></p>\n"
		  "</nav>\n");
}

/* ---- A state's chart ----------------------------------------------------- */

/* The history indices [*a, *b) inside the window. */
static void hist_window(const page *pg, const mc_report_series *s, size_t *a, size_t *b)
{
	size_t i = 0;
	while (i < s->nhist && s->hist_dates[i] < pg->x0)
		i++;
	*a = i;
	while (i < s->nhist && s->hist_dates[i] <= pg->x1)
		i++;
	*b = i;
}

static void add_value(double *lo, double *hi, double v)
{
	if (!isfinite(v))
		return;
	*lo = isnan(*lo) || v < *lo ? v : *lo;
	*hi = isnan(*hi) || v > *hi ? v : *hi;
}

/* Every price, bound and forecast drawn in the state; NaN, NaN when none. */
static void state_price_range(const page *pg, run r, double *lo, double *hi)
{
	*lo = *hi = NAN;
	for (size_t i = r.first; i < r.first + r.count; i++) {
		const mc_report_series *s = pg->items[i].s;
		size_t a, b;
		hist_window(pg, s, &a, &b);
		for (size_t k = a; k < b; k++)
			add_value(lo, hi, s->hist_prices[k]);
		for (size_t k = 0; k < s->nfc; k++) {
			add_value(lo, hi, s->fc_price[k]);
			if (s->fc_lower && s->fc_upper && isfinite(s->fc_lower[k]) &&
			    isfinite(s->fc_upper[k])) {
				add_value(lo, hi, s->fc_lower[k]);
				add_value(lo, hi, s->fc_upper[k]);
			}
		}
	}
}

/* Fill line (its x arrays carved from *xbuf, which advances) for one series. */
static void series_line(const page *pg, const mc_report_series *s, double **xbuf, mc_svg_line *l)
{
	size_t a, b;
	hist_window(pg, s, &a, &b);
	memset(l, 0, sizeof *l);
	const combo *c = find_combo(pg, s->milk_type, s->channel);
	l->label = c->label;
	l->color = c->color;
	l->n = b - a;
	l->x = *xbuf;
	l->y = s->hist_prices + a;
	for (size_t k = a; k < b; k++)
		*(*xbuf)++ = s->hist_dates[k];
	l->nf = s->nfc;
	l->fx = *xbuf;
	l->fy = s->fc_price;
	l->flo = s->fc_lower && s->fc_upper ? s->fc_lower : NULL;
	l->fhi = l->flo ? s->fc_upper : NULL;
	for (size_t k = 0; k < s->nfc; k++)
		*(*xbuf)++ = s->fc_dates[k];
	l->connect = true;
}

static bool state_has_combo(const page *pg, run r, const combo *c)
{
	for (size_t i = r.first; i < r.first + r.count; i++)
		if (find_combo(pg, pg->items[i].s->milk_type, pg->items[i].s->channel) == c)
			return true;
	return false;
}

static void style_items(mc_svg_legend_item *items, size_t *k, const char *band_label)
{
	items[(*k)++] = (mc_svg_legend_item){"forecast", -1, MC_SVG_MARK_DASH, false};
	items[(*k)++] = (mc_svg_legend_item){band_label, -1, MC_SVG_MARK_BAND, false};
}

/*
 * The legend of a state: a row per milk type (its name, then a line per
 * channel), the line styles at the end of the first row.  The combinations
 * are sorted, so one milk type's are adjacent.  items holds 2 * ncombos + 2.
 */
static size_t state_legend(const page *pg, run r, mc_svg_legend_item *items, char band_label[32])
{
	size_t k = 0;
	const char *prev = NULL;
	bool styled = false;
	snprintf(band_label, 32, "%s interval", pg->level);
	for (size_t c = 0; c < pg->ncombos; c++) {
		const combo *cb = &pg->combos[c];
		if (!state_has_combo(pg, r, cb))
			continue;
		if (!prev || strcmp(prev, cb->milk_type)) {
			if (prev && !styled) {
				style_items(items, &k, band_label);
				styled = true;
			}
			items[k++] =
				(mc_svg_legend_item){cb->milk_type, -1, MC_SVG_MARK_NONE, true};
			prev = cb->milk_type;
		}
		items[k++] = (mc_svg_legend_item){cb->channel, cb->color, MC_SVG_MARK_LINE, false};
	}
	if (!styled)
		style_items(items, &k, band_label);
	return k;
}

typedef struct grid {
	size_t cols;
	double top, pw, ph; /* where panels start; panel size */
	double ylo, yhi;    /* the shared price axis, NaN = none (no data) */
	int y_ticks;	    /* at most, in every panel */
} grid;

static void draw_city(rp_w *w, const page *pg, const grid *g, size_t slot, run city, double *xbuf,
		      mc_svg_line *lines)
{
	for (size_t i = 0; i < city.count; i++)
		series_line(pg, pg->items[city.first + i].s, &xbuf, &lines[i]);
	mc_svg_plot p;
	/* NOLINTBEGIN(bugprone-integer-division): slot / cols is the grid row */
	mc_svg_plot_init(&p, (double)(slot % g->cols) * g->pw,
			 g->top + (double)(slot / g->cols) * g->ph, g->pw, g->ph);
	/* NOLINTEND(bugprone-integer-division) */
	const char *city_name = pg->items[city.first].s->city;
	p.title = city_name[0] ? city_name : "national average";
	p.y_label = UNIT;
	p.x_kind = MC_SVG_X_DATE;
	p.x_min = pg->x0;
	p.x_max = pg->x1;
	p.y_min = g->ylo;
	p.y_max = g->yhi;
	p.max_y_ticks = g->y_ticks;
	p.marker_x = pg->meta->as_of;
	p.marker_label = "as of";
	p.empty_text = "no prices in the window";
	rp_line_plot(w, &p, lines, city.count);
}

/* The x values a state's lines need: history in the window plus forecasts. */
static size_t state_points(const page *pg, run r)
{
	size_t k = 0;
	for (size_t i = r.first; i < r.first + r.count; i++) {
		size_t a, b;
		hist_window(pg, pg->items[i].s, &a, &b);
		k += b - a + pg->items[i].s->nfc;
	}
	return k;
}

/* Panel sizes and the shared price axis of a state's chart. */
static grid state_grid(const page *pg, run r, size_t ncity, double legend_h)
{
	grid g = {ncity > 1 ? 2 : 1, legend_h + 10, 0, 0, NAN, NAN, 0};
	g.pw = CHART_WIDTH / (double)g.cols;
	g.ph = g.cols == 1 ? 260 : 220;
	g.y_ticks = (int)(g.ph / 36);
	double lo, hi;
	state_price_range(pg, r, &lo, &hi);
	if (!isnan(lo)) {
		mc_svg_ticks t;
		mc_svg_nice_ticks(lo, hi, g.y_ticks, &t);
		g.ylo = t.lo;
		g.yhi = t.hi;
	}
	return g;
}

/* The legend on top, then the city panels two to a row (one when the state has one city). */
static void draw_state(rp_w *w, const page *pg, run r, mc_svg_legend_item *items, double *xbuf,
		       mc_svg_line *lines)
{
	char band_label[32];
	size_t nitems = state_legend(pg, r, items, band_label);
	size_t ncity = count_runs(pg, r, true);
	grid g = state_grid(pg, r, ncity, mc_svg_legend_height(CHART_WIDTH - 16, items, nitems));
	size_t rows = (ncity + g.cols - 1) / g.cols;
	rp_svg_begin(w, CHART_WIDTH, g.top + (double)rows * g.ph + 4, pg->items[r.first].s->state);
	rp_legend(w, 8, 4, CHART_WIDTH - 16, items, nitems);
	size_t slot = 0;
	for (size_t i = r.first; i < r.first + r.count; slot++) {
		run city = next_run(pg, i, true);
		draw_city(w, pg, &g, slot, city, xbuf, lines);
		i += city.count;
	}
	rp_svg_end(w);
}

static void state_chart(rp_w *w, const page *pg, run r)
{
	mc_svg_legend_item *items = malloc((2 * pg->ncombos + 2) * sizeof *items);
	mc_svg_line *lines = malloc(r.count * sizeof *lines);
	double *xbuf = malloc((state_points(pg, r) + 1) * sizeof *xbuf);
	if (items && lines && xbuf) {
		rp_raw(w, "<figure>\n");
		draw_state(w, pg, r, items, xbuf, lines);
		rp_printf(w,
			  "<figcaption>Prices in " UNIT ", last %d weeks and forecast; one panel "
			  "per city, same price axis.</figcaption>\n</figure>\n",
			  MC_REPORT_HISTORY_DAYS / 7);
	} else if (!w->rc) {
		w->rc = MC_ERR_NOMEM;
	}
	free(items);
	free(lines);
	free(xbuf);
}

/* ---- A state's lists and table ------------------------------------------- */

static void series_name(rp_w *w, const mc_report_series *s)
{
	rp_text(w, s->city[0] ? s->city : "national average");
	rp_raw(w, " \xC2\xB7 ");
	rp_text(w, s->milk_type);
	rp_raw(w, " \xC2\xB7 ");
	rp_text(w, s->channel);
}

static void missing_item(rp_w *w, const mc_report_series *s)
{
	size_t seen = 0;
	int32_t last = 0;
	for (size_t k = 0; k < s->nhist; k++) {
		if (isfinite(s->hist_prices[k])) {
			seen++;
			last = s->hist_dates[k];
		}
	}
	rp_raw(w, "<li>");
	series_name(w, s);
	if (seen) {
		rp_printf(w, " <span class=\"muted\">(%zu price%s on record, last ", seen,
			  seen == 1 ? "" : "s");
		rp_date(w, last);
		rp_raw(w, ")</span></li>\n");
	} else {
		rp_raw(w, " <span class=\"muted\">(no price on record)</span></li>\n");
	}
}

static void write_missing(rp_w *w, const page *pg, run r)
{
	size_t rows, with = count_forecasts(pg, r, &rows);
	if (with == r.count)
		return;
	rp_printf(w,
		  "<h3>Without a forecast (%zu)</h3>\n<p class=\"muted\">No forecast was made "
		  "for these series, usually for too little recent history:</p>\n"
		  "<ul class=\"nofc\">\n",
		  r.count - with);
	for (size_t i = r.first; i < r.first + r.count; i++)
		if (!pg->items[i].s->nfc)
			missing_item(w, pg->items[i].s);
	rp_raw(w, "</ul>\n");
}

static void price_cell(rp_w *w, const double *v, size_t k)
{
	if (v && isfinite(v[k]))
		rp_printf(w, "<td class=\"n\">%.2f</td>", v[k]);
	else
		rp_raw(w, "<td class=\"n\"></td>");
}

static void table_rows(rp_w *w, const page *pg, const mc_report_series *s)
{
	for (size_t k = 0; k < s->nfc; k++) {
		const char *names[] = {s->state, s->city, s->milk_type, s->channel};
		rp_raw(w, "<tr>");
		for (size_t j = 0; j < 4; j++) {
			rp_raw(w, "<td>");
			rp_text(w, names[j]);
			rp_raw(w, "</td>");
		}
		rp_raw(w, "<td>");
		rp_date(w, pg->meta->as_of);
		rp_raw(w, "</td><td>");
		rp_date(w, s->fc_dates[k]);
		rp_printf(w, "</td><td class=\"n\">%zu</td>", k + 1);
		price_cell(w, s->fc_price, k);
		price_cell(w, s->fc_lower, k);
		price_cell(w, s->fc_upper, k);
		rp_raw(w, "</tr>\n");
	}
}

static void write_table(rp_w *w, const page *pg, run r)
{
	size_t rows;
	count_forecasts(pg, r, &rows);
	rp_raw(w, "<h3>Forecasts</h3>\n");
	if (!rows) {
		rp_raw(w, "<p class=\"muted\">No forecasts in this state.</p>\n");
		return;
	}
	rp_raw(w, "<div class=\"tw\"><table class=\"fc\">\n<thead><tr><th>state</th><th>city</th>"
		  "<th>milk_type</th><th>channel</th><th>as_of</th><th>target_date</th><th>h</th>"
		  "<th>price</th><th>lower</th><th>upper</th></tr></thead>\n<tbody>\n");
	for (size_t i = r.first; i < r.first + r.count; i++)
		table_rows(w, pg, pg->items[i].s);
	rp_raw(w, "</tbody>\n</table></div>\n");
}

static void write_state(rp_w *w, const page *pg, run r, size_t k)
{
	size_t rows, with = count_forecasts(pg, r, &rows);
	size_t ncity = count_cities(pg, r);
	rp_printf(w, "<section id=\"state-%zu\">\n<h2>", k + 1);
	rp_text(w, pg->items[r.first].s->state);
	rp_printf(w, "</h2>\n<p class=\"muted\">%zu series", r.count);
	if (ncity)
		rp_printf(w, " in %zu cit%s", ncity, ncity == 1 ? "y" : "ies");
	rp_printf(w, ", %zu with a forecast (%zu rows).</p>\n", with, rows);
	state_chart(w, pg, r);
	write_missing(w, pg, r);
	write_table(w, pg, r);
	rp_raw(w, "</section>\n");
}

static void write_page(rp_w *w, const page *pg)
{
	write_head(w, pg);
	write_header(w, pg);
	write_toc(w, pg);
	rp_raw(w, "<main>\n");
	size_t k = 0;
	for (size_t i = 0; i < pg->n && !w->rc; k++) {
		run r = next_run(pg, i, false);
		write_state(w, pg, r, k);
		i += r.count;
	}
	rp_raw(w, "</main>\n<footer><p class=\"muted\">Written by milkcast " MC_VERSION
		  "; this page is self-contained and works offline.</p></footer>\n");
	/* The CSP hash covers exactly the text between the tags. */
	rp_raw(w, "<script>");
	rp_raw(w, page_js);
	rp_raw(w, "</script>\n</body>\n</html>\n");
}

/* ---- Entry points -------------------------------------------------------- */

mc_code mc_report_predictions_html_buf(mc_buf *out, const mc_report_meta *meta,
				       const mc_report_series *series, size_t n, mc_error *err)
{
	mc_code rc = check_input(meta, series, n, err);
	if (rc)
		return rc;
	page pg;
	rc = page_init(&pg, meta, series, n);
	if (rc) {
		page_release(&pg);
		return mc_fail(err, rc, "cannot write the predictions report: out of memory");
	}
	rp_w w = rp_w_begin(out);
	write_page(&w, &pg);
	page_release(&pg);
	return rp_w_end(&w, "the predictions report", err);
}

mc_code mc_report_predictions_html(const char *path, const mc_report_meta *meta,
				   const mc_report_series *series, size_t n, mc_error *err)
{
	mc_buf b;
	mc_buf_init(&b, PAGE_LIMIT);
	mc_code rc = mc_report_predictions_html_buf(&b, meta, series, n, err);
	if (!rc)
		rc = mc_write_file_atomic(path, b.data, b.len, err);
	mc_buf_release(&b);
	return rc;
}
