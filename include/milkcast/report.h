/*
 * Self-contained HTML reports with inline SVG charts: a small SVG toolkit
 * (ticks, line plots with forecast bands, overlaid histograms, legends) and
 * the predictions page.  Output never refers to anything outside itself: no
 * scripts, fonts or style sheets from the network, so pages open offline.
 *
 * All writers append to an mc_buf.  On error they return the code, fill err
 * and leave the buffer as it was before the call.  Every string from the
 * caller is XML-escaped (and invalid UTF-8 or control bytes replaced), so
 * names may contain '<', '&' or quotes.  Numbers are printed with fixed
 * precision through printf ("%.1f", "%.2f"): the program never calls
 * setlocale(), so LC_NUMERIC stays "C" and the decimal point is always '.'.
 */
#ifndef MILKCAST_REPORT_H
#define MILKCAST_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"

/* ---- Text ------------------------------------------------------------- */

/*
 * Append s (UTF-8, NULL = "") escaped for XML/HTML text and attribute
 * values: & < > " ' become entities; bytes that are not valid UTF-8 and
 * control characters other than tab, newline and carriage return become U+FFFD.
 */
mc_code mc_xml_escape(mc_buf *out, const char *s);

/* ---- Ticks ------------------------------------------------------------ */

#define MC_SVG_MAX_TICKS 32

/* Ticks of a numeric axis: steps of 1, 2 or 5 times a power of ten. */
typedef struct mc_svg_ticks {
	double lo, hi; /* the axis range: the data range widened to whole steps */
	double step;   /* between ticks, > 0 */
	int decimals;  /* digits after the point that label every tick exactly */
	size_t n;      /* ticks at lo, lo + step, ..., hi */
	double at[MC_SVG_MAX_TICKS];
} mc_svg_ticks;

/*
 * The smallest 1-2-5 step giving at most max_ticks ticks (clamped to
 * 3..MC_SVG_MAX_TICKS: a range across zero needs three) over [lo, hi].  An empty or non-finite
 * range is widened first (lo == hi = 25 becomes about [24.5, 25.5]; NaN becomes [0, 1]).
 */
void mc_svg_nice_ticks(double lo, double hi, int max_ticks, mc_svg_ticks *t);

/* Format a tick value with t->decimals digits ("%.*f", "-0" printed as "0"). */
void mc_svg_tick_label(const mc_svg_ticks *t, double v, char out[32]);

/* Ticks of a date axis (days since 1970-01-01), inside [lo, hi]. */
typedef struct mc_svg_date_ticks {
	int step_days;	 /* 1, 2, 7 or 14 when ticks are days or weeks, else 0 */
	int step_months; /* 1, 2, 3, 6, 12, 24, 60, ... when ticks are month starts, else 0 */
	size_t n;
	int32_t at[MC_SVG_MAX_TICKS];
	char label[MC_SVG_MAX_TICKS][16]; /* "15 Mar" (days, weeks), "Jan 2025", "2025" (years) */
} mc_svg_date_ticks;

/*
 * The finest of these steps giving at most max_ticks ticks (clamped to
 * 2..MC_SVG_MAX_TICKS) inside [lo, hi]: every day, every 2 days, Mondays,
 * every other Monday, month starts every 1, 2, 3 or 6 months, then
 * 1 January every 1, 2, 5, 10, ... years.  Month steps are aligned to the
 * calendar (quarters start in January, April, ...).  lo > hi gives no ticks.
 */
void mc_svg_date_ticks_make(int32_t lo, int32_t hi, int max_ticks, mc_svg_date_ticks *t);

/* ---- Drawing ---------------------------------------------------------- */

/*
 * The Okabe-Ito palette, safe for the common colour-vision deficiencies, in
 * the order used for series: blue, orange, bluish green, vermillion,
 * reddish purple, sky blue, yellow, black.  Colour indices wrap around.
 */
#define MC_SVG_NCOLORS 8
const char *mc_svg_color(int index);

/* A rectangle in SVG user units (1 unit = 1 CSS pixel at the natural size). */
typedef struct mc_svg_box {
	double x, y, w, h;
} mc_svg_box;

typedef enum mc_svg_xkind {
	MC_SVG_X_NUMBER = 0, /* nice numeric ticks */
	MC_SVG_X_DATE = 1,   /* x values are days since 1970-01-01; calendar ticks */
} mc_svg_xkind;

/*
 * One panel: title, axes, grid and the data drawn inside `box`.  Ranges left
 * NaN come from the data (y widened to nice ticks); set them to share axes
 * between small multiples.  Data outside the plot area is clipped.
 */
typedef struct mc_svg_plot {
	mc_svg_box box;
	const char *title;	       /* above the plot area; NULL = none */
	const char *x_label, *y_label; /* NULL = none */
	mc_svg_xkind x_kind;
	double x_min, x_max;	      /* NaN = from the data */
	double y_min, y_max;	      /* NaN = from the data; y_min = 0 for bars */
	int max_x_ticks, max_y_ticks; /* 0 = from the box size */
	double marker_x;	      /* a dotted vertical rule (e.g. the as-of date); NaN = none */
	const char *marker_label;     /* written at the top of the rule; NULL = none */
	const char *empty_text;	      /* shown when there is no finite data; NULL = "no data" */
} mc_svg_plot;

/* A plot filling box with every range automatic and no labels. */
void mc_svg_plot_init(mc_svg_plot *p, double x, double y, double w, double h);

/*
 * A series: a solid line over (x[i], y[i]), then a dashed continuation over
 * (fx[j], fy[j]) with a translucent band between flo[j] and fhi[j].  x and
 * fx ascend.  A NaN y (or a NaN band bound) is a gap: the line breaks there
 * and an isolated point between gaps is drawn as a dot.  With `connect`,
 * the dashed part (and the band, at zero width) starts from the last solid
 * point when that point is finite.
 */
typedef struct mc_svg_line {
	const char *label; /* tooltip (<title>) of the series; NULL = none */
	int color;	   /* palette index */
	size_t n;
	const double *x, *y;
	size_t nf;
	const double *fx, *fy;
	const double *flo, *fhi; /* NULL = no band */
	bool connect;
} mc_svg_line;

/* Histogram or bar chart bins: two overlaid distributions, e.g. reference and current. */
typedef struct mc_svg_bars {
	size_t nbins;
	const double *edges;	   /* nbins + 1 ascending bin edges (numeric x axis), or NULL */
	const char *const *labels; /* nbins category names, used when edges is NULL */
	const double *ref, *cur;   /* nbins heights each (counts, shares); either may be NULL */
	const char *ref_label, *cur_label; /* tooltips; NULL = "reference", "current" */
} mc_svg_bars;

typedef enum mc_svg_mark {
	MC_SVG_MARK_LINE = 0, /* solid line: a history */
	MC_SVG_MARK_DASH = 1, /* dashed line: a forecast */
	MC_SVG_MARK_BAND = 2, /* translucent band: an interval */
	MC_SVG_MARK_BAR = 3,  /* filled box: a bar series */
	MC_SVG_MARK_RULE = 4, /* dotted grey vertical rule: the marker */
	MC_SVG_MARK_NONE = 5, /* no swatch: the label alone, e.g. a group heading */
} mc_svg_mark;

typedef struct mc_svg_legend_item {
	const char *label;
	int color; /* palette index; -1 = neutral grey */
	mc_svg_mark mark;
	bool row_start; /* begin a new row (a group) */
} mc_svg_legend_item;

/* Open an <svg> of the given size with a viewBox (it scales with CSS) and an
 * accessible <title>; NULL title = none. */
mc_code mc_svg_begin(mc_buf *out, double width, double height, const char *title, mc_error *err);
mc_code mc_svg_end(mc_buf *out, mc_error *err);

mc_code mc_svg_line_plot(mc_buf *out, const mc_svg_plot *p, const mc_svg_line *lines, size_t n,
			 mc_error *err);
mc_code mc_svg_bar_plot(mc_buf *out, const mc_svg_plot *p, const mc_svg_bars *bars, mc_error *err);

/* Items flow left to right in rows that fit `width`; the height the legend
 * takes is mc_svg_legend_height() (to size the surrounding <svg> first). */
double mc_svg_legend_height(double width, const mc_svg_legend_item *items, size_t n);
mc_code mc_svg_legend(mc_buf *out, double x, double y, double width,
		      const mc_svg_legend_item *items, size_t n, mc_error *err);

/*
 * Whole charts: an <svg> of p->box.w x p->box.h (box.x, box.y ignored) with
 * the plot and, below it, a legend (one item per labelled line, plus
 * "forecast" and "interval" when some line has them; reference and current
 * for bars).
 */
mc_code mc_svg_line_chart(mc_buf *out, const mc_svg_plot *p, const mc_svg_line *lines, size_t n,
			  mc_error *err);
mc_code mc_svg_histogram(mc_buf *out, const mc_svg_plot *p, const mc_svg_bars *bars, mc_error *err);

/* ---- Predictions page ------------------------------------------------- */

/* One series and its forecast.  Dates ascend; NaN = missing. */
typedef struct mc_report_series {
	const char *state, *city, *milk_type, *channel; /* UTF-8; city "" for national averages */
	const int32_t *hist_dates;
	const double *hist_prices; /* NaN = missing */
	size_t nhist;
	const int32_t *fc_dates;
	const double *fc_price, *fc_lower, *fc_upper; /* lower/upper may be NULL: no interval */
	size_t nfc;				      /* 0 = no forecast (too little history) */
} mc_report_series;

typedef struct mc_report_meta {
	int32_t as_of;
	const char *model;	  /* e.g. "milkcast-xgb v3 (champion)" */
	double interval_level;	  /* 0.9; outside (0, 1) is shown as "n/a" */
	const char *generated_at; /* ISO timestamp text */
} mc_report_meta;

/* Days of history drawn before the as-of date (the charts' window). */
#define MC_REPORT_HISTORY_DAYS 84

/*
 * The predictions page: header (as-of date, model, interval, counts), a
 * table of contents by state, then per state one SVG (a panel per city,
 * colour by milk type x channel), the series without a forecast, and a
 * table with the columns state, city, milk_type, channel, as_of,
 * target_date, h, price, lower, upper.  Series may come in any order; they
 * are grouped and sorted by (state, city, milk_type, channel) byte order.
 * The page is also well-formed XML.  _html writes the file atomically.
 */
mc_code mc_report_predictions_html(const char *path, const mc_report_meta *meta,
				   const mc_report_series *series, size_t n, mc_error *err);
mc_code mc_report_predictions_html_buf(mc_buf *out, const mc_report_meta *meta,
				       const mc_report_series *series, size_t n, mc_error *err);

#endif
