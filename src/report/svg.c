/*
 * SVG drawing for reports: plot frames (axes, grid, labels), line series
 * with gaps, dashed forecasts and interval bands, overlaid histograms and
 * legends.  Coordinates are printed with "%.1f" (LC_NUMERIC is never
 * changed from "C", see report.h).
 */
#include "report/report_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FONT_PX 12.0
#define SMALL_PX 10.0
#define GREY "#6b6b6b"
#define GRID "#e4e4e4"
#define AXIS "#8a8a8a"
#define CLIP_PAD 4.0 /* the clip region reaches this far past the plot area */
#define LEGEND_ROW 18.0
#define LEGEND_SWATCH 22.0
#define COS45 0.70710678 /* rotated labels take this share of their length across and down */

static const char *const palette[MC_SVG_NCOLORS] = {
	"#0072B2", /* blue */
	"#E69F00", /* orange */
	"#009E73", /* bluish green */
	"#D55E00", /* vermillion */
	"#CC79A7", /* reddish purple */
	"#56B4E9", /* sky blue */
	"#F0E442", /* yellow */
	"#000000", /* black */
};

const char *mc_svg_color(int index)
{
	return index < 0 ? GREY : palette[index % MC_SVG_NCOLORS];
}

/* ---- Frames: the geometry and axes of one plot --------------------------- */

typedef struct frame {
	mc_svg_box area;       /* the plot area, in the SVG's coordinates */
	double x0, x1, y0, y1; /* data ranges mapped onto the area */
	mc_svg_ticks yt;
	size_t nx;
	double xat[MC_SVG_MAX_TICKS];
	char xlabel[MC_SVG_MAX_TICKS][32];
} frame;

/* Keep printed coordinates short even for absurd data (it is clipped anyway). */
static double clampc(double v)
{
	return v < -1e5 ? -1e5 : v > 1e5 ? 1e5 : v;
}

/* x and y relative to the clip region's origin (CLIP_PAD above and left of the area). */
static double sx(const frame *f, double x)
{
	return clampc(CLIP_PAD + (x - f->x0) / (f->x1 - f->x0) * f->area.w);
}

static double sy(const frame *f, double y)
{
	return clampc(CLIP_PAD + f->area.h - (y - f->y0) / (f->y1 - f->y0) * f->area.h);
}

typedef struct range {
	double lo, hi; /* NaN, NaN when empty */
} range;

static void range_add(range *r, double v)
{
	if (!isfinite(v))
		return;
	if (isnan(r->lo) || v < r->lo)
		r->lo = v;
	if (isnan(r->hi) || v > r->hi)
		r->hi = v;
}

static int auto_ticks(int given, double length, double per_tick)
{
	return given > 0 ? given : (int)(length / per_tick) + 1;
}

/* y ticks, range and the vertical extent of the area. */
static void frame_y(frame *f, const mc_svg_plot *p, range data, double pad_bottom)
{
	double top = p->title ? 24 : 10, bottom = 22 + (p->x_label ? 16 : 0) + pad_bottom;
	f->area.y = p->box.y + top;
	f->area.h = fmax(10, p->box.h - top - bottom);
	double lo = isnan(p->y_min) ? data.lo : p->y_min, hi = isnan(p->y_max) ? data.hi : p->y_max;
	mc_svg_nice_ticks(lo, hi, auto_ticks(p->max_y_ticks, f->area.h, 36), &f->yt);
	f->y0 = isnan(p->y_min) ? f->yt.lo : p->y_min;
	f->y1 = isnan(p->y_max) ? f->yt.hi : p->y_max;
	if (!(f->y1 > f->y0)) {
		f->y0 = f->yt.lo;
		f->y1 = f->yt.hi;
	}
}

/* Widest y tick label, to size the left margin. */
static double y_label_width(const frame *f)
{
	double wmax = 0;
	for (size_t i = 0; i < f->yt.n; i++) {
		char s[32];
		mc_svg_tick_label(&f->yt, f->yt.at[i], s);
		wmax = fmax(wmax, rp_text_width(s, FONT_PX));
	}
	return wmax;
}

static void frame_x_ticks(frame *f, const mc_svg_plot *p)
{
	int max = auto_ticks(p->max_x_ticks, f->area.w, p->x_kind == MC_SVG_X_DATE ? 72 : 56);
	f->nx = 0;
	if (p->x_kind == MC_SVG_X_DATE) {
		mc_svg_date_ticks dt;
		/* Calendar ticks only within years 1..9999 (days -719162 .. 2932896). */
		double lo = fmax(ceil(f->x0), -719162), hi = fmin(floor(f->x1), 2932896);
		mc_svg_date_ticks_make((int32_t)lo, (int32_t)hi, max, &dt);
		for (size_t i = 0; i < dt.n; i++) {
			f->xat[f->nx] = dt.at[i];
			memcpy(f->xlabel[f->nx++], dt.label[i], sizeof dt.label[i]);
		}
		return;
	}
	mc_svg_ticks t;
	mc_svg_nice_ticks(f->x0, f->x1, max, &t);
	for (size_t i = 0; i < t.n; i++) {
		if (t.at[i] < f->x0 - 1e-9 * t.step || t.at[i] > f->x1 + 1e-9 * t.step)
			continue;
		f->xat[f->nx] = t.at[i];
		mc_svg_tick_label(&t, t.at[i], f->xlabel[f->nx++]);
	}
}

/* pad_left, pad_bottom: extra room, e.g. for rotated category names. */
static void frame_init(frame *f, const mc_svg_plot *p, range xs, range ys, double pad_left,
		       double pad_bottom)
{
	memset(f, 0, sizeof *f);
	frame_y(f, p, ys, pad_bottom);
	double left = y_label_width(f) + 10 + (p->y_label ? 18 : 0) + pad_left, right = 24;
	f->area.x = p->box.x + left;
	f->area.w = fmax(10, p->box.w - left - right);
	f->x0 = isnan(p->x_min) ? xs.lo : p->x_min;
	f->x1 = isnan(p->x_max) ? xs.hi : p->x_max;
	if (!isfinite(f->x0) || !isfinite(f->x1) || !(f->x1 > f->x0)) {
		double c = isfinite(f->x0) ? f->x0 : isfinite(f->x1) ? f->x1 : 0;
		f->x0 = c - 1;
		f->x1 = c + 1;
	}
	frame_x_ticks(f, p);
}

/* A text label; anchor "start", "middle" or "end". */
static void text_at(rp_w *w, double x, double y, const char *anchor, double px, const char *fill,
		    const char *s)
{
	rp_printf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"", x, y, anchor);
	if (px != FONT_PX)
		rp_printf(w, " font-size=\"%.0f\"", px);
	if (fill)
		rp_printf(w, " fill=\"%s\"", fill);
	rp_raw(w, ">");
	rp_text(w, s);
	rp_raw(w, "</text>\n");
}

static void draw_y_axis(rp_w *w, const frame *f)
{
	const mc_svg_box *a = &f->area;
	for (size_t i = 0; i < f->yt.n; i++) {
		double v = f->yt.at[i];
		if (v < f->y0 - 1e-9 * f->yt.step || v > f->y1 + 1e-9 * f->yt.step)
			continue;
		double y = a->y + sy(f, v) - CLIP_PAD;
		char s[32];
		mc_svg_tick_label(&f->yt, v, s);
		rp_printf(w,
			  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			  a->x, y, a->x + a->w, y, GRID);
		text_at(w, a->x - 6, y + 4, "end", FONT_PX, NULL, s);
	}
}

static void draw_x_axis(rp_w *w, const frame *f, const mc_svg_plot *p)
{
	const mc_svg_box *a = &f->area;
	double bottom = a->y + a->h;
	for (size_t i = 0; i < f->nx; i++) {
		double x = a->x + sx(f, f->xat[i]) - CLIP_PAD;
		double half = rp_text_width(f->xlabel[i], FONT_PX) / 2;
		const char *anchor = x - half < p->box.x	      ? "start"
				     : x + half > p->box.x + p->box.w ? "end"
								      : "middle";
		rp_printf(w,
			  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
			  x, a->y, x, bottom + 4, GRID);
		text_at(w, x, bottom + 16, anchor, FONT_PX, NULL, f->xlabel[i]);
	}
	rp_printf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
		  a->x, bottom, a->x + a->w, bottom, AXIS);
}

static void draw_labels(rp_w *w, const frame *f, const mc_svg_plot *p)
{
	const mc_svg_box *a = &f->area;
	if (p->title) {
		rp_printf(w, "<text x=\"%.1f\" y=\"%.1f\" font-weight=\"600\">", a->x,
			  p->box.y + 15);
		rp_text(w, p->title);
		rp_raw(w, "</text>\n");
	}
	if (p->x_label)
		text_at(w, a->x + a->w / 2, p->box.y + p->box.h - 4, "middle", FONT_PX, GREY,
			p->x_label);
	if (p->y_label) {
		double x = p->box.x + 12, y = a->y + a->h / 2;
		rp_printf(w,
			  "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
			  "text-anchor=\"middle\" fill=\"%s\">",
			  x, y, GREY);
		rp_text(w, p->y_label);
		rp_raw(w, "</text>\n");
	}
}

static void draw_marker(rp_w *w, const frame *f, const mc_svg_plot *p)
{
	if (!isfinite(p->marker_x) || p->marker_x < f->x0 || p->marker_x > f->x1)
		return;
	const mc_svg_box *a = &f->area;
	double x = a->x + sx(f, p->marker_x) - CLIP_PAD;
	rp_printf(w,
		  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		  "stroke-dasharray=\"2 3\"/>\n",
		  x, a->y, x, a->y + a->h, GREY);
	if (p->marker_label)
		text_at(w, x + 3, a->y + 10, "start", SMALL_PX, GREY, p->marker_label);
}

static void draw_frame(rp_w *w, const frame *f, const mc_svg_plot *p)
{
	draw_labels(w, f, p);
	draw_y_axis(w, f);
	draw_x_axis(w, f, p);
}

/* Open the clipping viewport of the plot area (a nested <svg> clips without ids). */
static void clip_begin(rp_w *w, const frame *f)
{
	rp_printf(
		w,
		"<svg x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" overflow=\"hidden\">\n",
		f->area.x - CLIP_PAD, f->area.y - CLIP_PAD, f->area.w + 2 * CLIP_PAD,
		f->area.h + 2 * CLIP_PAD);
}

static void empty_note(rp_w *w, const frame *f, const mc_svg_plot *p)
{
	text_at(w, f->area.x + f->area.w / 2, f->area.y + f->area.h / 2, "middle", FONT_PX, GREY,
		p->empty_text ? p->empty_text : "no data");
}

/* ---- Line plots ---------------------------------------------------------- */

/* A series part as points: optionally a leading point (the join), then x[i], y[i]. */
typedef struct pts {
	const double *x, *y;
	size_t n;
	bool lead;
	double lx, ly;
} pts;

static size_t pts_count(const pts *s)
{
	return s->n + s->lead;
}

/* Point i; false when it is a gap. */
static bool pts_get(const pts *s, size_t i, double *x, double *y)
{
	if (s->lead && i == 0) {
		*x = s->lx;
		*y = s->ly;
	} else {
		*x = s->x[i - s->lead];
		*y = s->y[i - s->lead];
	}
	return isfinite(*x) && isfinite(*y);
}

/* Whether point i is finite with a finite neighbour (so it belongs in the path). */
static bool pts_joined(const pts *s, size_t i)
{
	double x, y;
	if (!pts_get(s, i, &x, &y))
		return false;
	return (i > 0 && pts_get(s, i - 1, &x, &y)) ||
	       (i + 1 < pts_count(s) && pts_get(s, i + 1, &x, &y));
}

/* A path through the points, broken at gaps; isolated points become dots. */
static void draw_polyline(rp_w *w, const frame *f, const pts *s, const char *color, bool dashed)
{
	size_t n = pts_count(s);
	bool any = false, pen = false;
	for (size_t i = 0; i < n; i++) {
		double x, y;
		if (!pts_joined(s, i)) {
			pen = false;
			continue;
		}
		pts_get(s, i, &x, &y);
		if (!any)
			rp_raw(w, "<path d=\"");
		rp_printf(w, "%s%.1f %.1f", pen ? "L" : "M", sx(f, x), sy(f, y));
		any = pen = true;
	}
	if (any)
		rp_printf(w,
			  "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
			  "stroke-linejoin=\"round\" "
			  "stroke-linecap=\"round\"%s/>\n",
			  color, dashed ? " stroke-dasharray=\"5 4\"" : "");
	for (size_t i = 0; i < n; i++) {
		double x, y;
		if (pts_get(s, i, &x, &y) && !pts_joined(s, i))
			rp_printf(w, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
				  sx(f, x), sy(f, y), color);
	}
}

/* The last solid point, when finite: where a connected forecast starts. */
static bool join_point(const mc_svg_line *l, double *x, double *y)
{
	if (!l->connect || l->n == 0)
		return false;
	*x = l->x[l->n - 1];
	*y = l->y[l->n - 1];
	return isfinite(*x) && isfinite(*y);
}

static bool band_ok(const mc_svg_line *l, size_t j)
{
	return isfinite(l->fx[j]) && isfinite(l->flo[j]) && isfinite(l->fhi[j]);
}

/* One polygon per run of finite bounds: the upper edge forward, the lower edge back. */
static void draw_band(rp_w *w, const frame *f, const mc_svg_line *l)
{
	const char *color = mc_svg_color(l->color);
	double jx = 0, jy = 0;
	bool lead = join_point(l, &jx, &jy);
	for (size_t j = 0; j < l->nf;) {
		if (!band_ok(l, j)) {
			j++;
			continue;
		}
		size_t end = j;
		while (end < l->nf && band_ok(l, end))
			end++;
		bool joined = lead && j == 0;
		if (end - j + joined >= 2) {
			rp_raw(w, "<path d=\"");
			if (joined)
				rp_printf(w, "M%.1f %.1f", sx(f, jx), sy(f, jy));
			for (size_t k = j; k < end; k++)
				rp_printf(w, "%s%.1f %.1f", k == j && !joined ? "M" : "L",
					  sx(f, l->fx[k]), sy(f, l->fhi[k]));
			for (size_t k = end; k-- > j;)
				rp_printf(w, "L%.1f %.1f", sx(f, l->fx[k]), sy(f, l->flo[k]));
			rp_printf(w, "Z\" fill=\"%s\" fill-opacity=\"0.18\" stroke=\"none\"/>\n",
				  color);
		}
		j = end;
	}
}

static void draw_line(rp_w *w, const frame *f, const mc_svg_line *l)
{
	const char *color = mc_svg_color(l->color);
	rp_raw(w, "<g>");
	if (l->label) {
		rp_raw(w, "<title>");
		rp_text(w, l->label);
		rp_raw(w, "</title>");
	}
	rp_raw(w, "\n");
	pts hist = {l->x, l->y, l->n, false, 0, 0};
	draw_polyline(w, f, &hist, color, false);
	if (l->nf && l->fx && l->fy) {
		pts fc = {l->fx, l->fy, l->nf, false, 0, 0};
		fc.lead = join_point(l, &fc.lx, &fc.ly);
		draw_polyline(w, f, &fc, color, true);
	}
	rp_raw(w, "</g>\n");
}

static void line_ranges(const mc_svg_line *lines, size_t n, range *xs, range *ys)
{
	for (size_t i = 0; i < n; i++) {
		const mc_svg_line *l = &lines[i];
		for (size_t k = 0; k < l->n; k++) {
			range_add(xs, l->x[k]);
			if (isfinite(l->x[k]))
				range_add(ys, l->y[k]);
		}
		for (size_t k = 0; k < l->nf && l->fx; k++) {
			range_add(xs, l->fx[k]);
			if (!isfinite(l->fx[k]))
				continue;
			if (l->fy)
				range_add(ys, l->fy[k]);
			if (l->flo && l->fhi && isfinite(l->flo[k]) && isfinite(l->fhi[k])) {
				range_add(ys, l->flo[k]);
				range_add(ys, l->fhi[k]);
			}
		}
	}
}

void rp_line_plot(rp_w *w, const mc_svg_plot *p, const mc_svg_line *lines, size_t n)
{
	range xs = {NAN, NAN}, ys = {NAN, NAN};
	line_ranges(lines, n, &xs, &ys);
	frame f;
	frame_init(&f, p, xs, ys, 0, 0);
	rp_raw(w, "<g>\n");
	draw_frame(w, &f, p);
	clip_begin(w, &f);
	for (size_t i = 0; i < n; i++)
		if (lines[i].nf && lines[i].fx && lines[i].flo && lines[i].fhi)
			draw_band(w, &f, &lines[i]);
	for (size_t i = 0; i < n; i++)
		draw_line(w, &f, &lines[i]);
	rp_raw(w, "</svg>\n");
	draw_marker(w, &f, p);
	if (isnan(ys.lo))
		empty_note(w, &f, p);
	rp_raw(w, "</g>\n");
}

/* ---- Bar plots ----------------------------------------------------------- */

static double bin_lo(const mc_svg_bars *b, size_t i)
{
	return b->edges ? b->edges[i] : (double)i + 0.1;
}

static double bin_hi(const mc_svg_bars *b, size_t i)
{
	return b->edges ? b->edges[i + 1] : (double)i + 0.9;
}

static void bar_ranges(const mc_svg_bars *b, range *xs, range *ys)
{
	range_add(xs, b->edges ? b->edges[0] : 0);
	range_add(xs, b->edges ? b->edges[b->nbins] : (double)b->nbins);
	range_add(ys, 0);
	for (size_t i = 0; i < b->nbins; i++) {
		if (b->ref)
			range_add(ys, b->ref[i]);
		if (b->cur)
			range_add(ys, b->cur[i]);
	}
}

static void bar_title(rp_w *w, const mc_svg_bars *b, size_t i, const char *who, double v)
{
	rp_raw(w, "<title>");
	rp_text(w, who);
	rp_raw(w, ": ");
	if (b->edges) {
		rp_printf(w, "[%.4g, %.4g)", b->edges[i], b->edges[i + 1]);
	} else {
		rp_text(w, b->labels ? b->labels[i] : "");
	}
	rp_printf(w, " = %.4g</title>", v);
}

/* One distribution: a rectangle per finite, positive bin. */
static void draw_bars(rp_w *w, const frame *f, const mc_svg_bars *b, const double *v,
		      const char *who, int color, bool outline)
{
	const char *c = mc_svg_color(color);
	for (size_t i = 0; i < b->nbins; i++) {
		if (!isfinite(v[i]) || v[i] <= 0)
			continue;
		double x0 = sx(f, bin_lo(b, i)), x1 = sx(f, bin_hi(b, i));
		double y0 = sy(f, v[i]), y1 = sy(f, fmax(0, f->y0));
		rp_printf(w,
			  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
			  "fill-opacity=\"%s\"",
			  x0, y0, fmax(0, x1 - x0), fmax(0, y1 - y0), c, outline ? "0.25" : "0.45");
		if (outline)
			rp_printf(w, " stroke=\"%s\" stroke-width=\"1.5\"", c);
		rp_raw(w, ">");
		bar_title(w, b, i, who, v[i]);
		rp_raw(w, "</rect>\n");
	}
}

/* How category names fit under their bars: level, or turned 45 degrees with extra room. */
typedef struct cat_layout {
	bool rotate;
	double below, left; /* extra margins */
} cat_layout;

static cat_layout category_layout(const mc_svg_plot *p, const mc_svg_bars *b)
{
	cat_layout c = {false, 0, 0};
	if (!b->labels || !b->nbins)
		return c;
	double slot = (p->box.w - 70) / (double)b->nbins, wmax = 0;
	for (size_t i = 0; i < b->nbins; i++)
		wmax = fmax(wmax, rp_text_width(b->labels[i], FONT_PX));
	if (wmax <= slot - 4)
		return c;
	c.rotate = true;
	c.below = fmin(wmax * SMALL_PX / FONT_PX * COS45, p->box.h * 0.35);
	c.left = fmax(0, rp_text_width(b->labels[0], SMALL_PX) * COS45 - slot / 2 - 40);
	return c;
}

static void category_labels(rp_w *w, const frame *f, const mc_svg_bars *b, cat_layout c)
{
	double y = f->area.y + f->area.h + 16;
	for (size_t i = 0; i < b->nbins; i++) {
		double x = f->area.x + sx(f, (double)i + 0.5) - CLIP_PAD;
		if (!c.rotate) {
			text_at(w, x, y, "middle", FONT_PX, NULL, b->labels[i]);
			continue;
		}
		rp_printf(
			w,
			"<text transform=\"translate(%.1f %.1f) rotate(-45)\" text-anchor=\"end\" "
			"font-size=\"%.0f\">",
			x + 3, y - 6, SMALL_PX);
		rp_text(w, b->labels[i]);
		rp_raw(w, "</text>\n");
	}
}

void rp_bar_plot(rp_w *w, const mc_svg_plot *p, const mc_svg_bars *b)
{
	range xs = {NAN, NAN}, ys = {NAN, NAN};
	bar_ranges(b, &xs, &ys);
	mc_svg_plot q = *p;
	if (isnan(q.y_min))
		q.y_min = 0;
	cat_layout cat = b->edges ? (cat_layout){false, 0, 0} : category_layout(&q, b);
	frame f;
	frame_init(&f, &q, xs, ys, cat.left, cat.below);
	if (!b->edges)
		f.nx = 0; /* categories: names instead of numeric ticks */
	rp_raw(w, "<g>\n");
	draw_frame(w, &f, &q);
	if (!b->edges && b->labels)
		category_labels(w, &f, b, cat);
	clip_begin(w, &f);
	if (b->ref)
		draw_bars(w, &f, b, b->ref, b->ref_label ? b->ref_label : "reference", 0, false);
	if (b->cur)
		draw_bars(w, &f, b, b->cur, b->cur_label ? b->cur_label : "current", 3, true);
	rp_raw(w, "</svg>\n");
	draw_marker(w, &f, &q);
	if (!(ys.hi > 0))
		empty_note(w, &f, &q);
	rp_raw(w, "</g>\n");
}

/* ---- Legends ------------------------------------------------------------- */

static double legend_item_width(const mc_svg_legend_item *it)
{
	double swatch = it->mark == MC_SVG_MARK_NONE ? 0 : LEGEND_SWATCH + 6;
	return swatch + rp_text_width(it->label, FONT_PX) + 16;
}

/* Whether item i starts a new row, given the row's width so far. */
static bool legend_breaks(const mc_svg_legend_item *it, double x, double width)
{
	return x > 0 && (it->row_start || x + legend_item_width(it) > width);
}

double mc_svg_legend_height(double width, const mc_svg_legend_item *items, size_t n)
{
	if (n == 0)
		return 0;
	size_t rows = 1;
	double x = 0;
	for (size_t i = 0; i < n; i++) {
		if (legend_breaks(&items[i], x, width)) {
			rows++;
			x = 0;
		}
		x += legend_item_width(&items[i]);
	}
	return (double)rows * LEGEND_ROW;
}

static void swatch(rp_w *w, double x, double y, const mc_svg_legend_item *it)
{
	const char *c = mc_svg_color(it->color);
	double mid = y + LEGEND_ROW / 2;
	switch (it->mark) {
	case MC_SVG_MARK_LINE:
	case MC_SVG_MARK_DASH:
		rp_printf(w,
			  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			  "stroke-width=\"2\"%s/>\n",
			  x, mid, x + LEGEND_SWATCH, mid, c,
			  it->mark == MC_SVG_MARK_DASH ? " stroke-dasharray=\"5 4\"" : "");
		break;
	case MC_SVG_MARK_BAND:
	case MC_SVG_MARK_BAR:
		rp_printf(w,
			  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"10\" fill=\"%s\" "
			  "fill-opacity=\"%s\" stroke=\"%s\"/>\n",
			  x, mid - 5, LEGEND_SWATCH, c,
			  it->mark == MC_SVG_MARK_BAND ? "0.25" : "0.45",
			  it->mark == MC_SVG_MARK_BAND ? "none" : c);
		break;
	case MC_SVG_MARK_RULE:
		rp_printf(w,
			  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			  "stroke-dasharray=\"2 3\"/>\n",
			  x + LEGEND_SWATCH / 2, mid - 7, x + LEGEND_SWATCH / 2, mid + 7, c);
		break;
	case MC_SVG_MARK_NONE: break;
	}
}

void rp_legend(rp_w *w, double x, double y, double width, const mc_svg_legend_item *items, size_t n)
{
	double cx = 0, cy = y;
	rp_raw(w, "<g>\n");
	for (size_t i = 0; i < n; i++) {
		const mc_svg_legend_item *it = &items[i];
		if (legend_breaks(it, cx, width)) {
			cy += LEGEND_ROW;
			cx = 0;
		}
		bool bare = it->mark == MC_SVG_MARK_NONE;
		swatch(w, x + cx, cy, it);
		text_at(w, x + cx + (bare ? 0 : LEGEND_SWATCH + 6), cy + LEGEND_ROW / 2 + 4,
			"start", FONT_PX, bare ? GREY : NULL, it->label);
		cx += legend_item_width(it);
	}
	rp_raw(w, "</g>\n");
}

/* ---- Documents ----------------------------------------------------------- */

void rp_svg_begin(rp_w *w, double width, double height, const char *title)
{
	rp_printf(w,
		  "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
		  "width=\"%.0f\" height=\"%.0f\" role=\"img\" font-size=\"%.0f\" "
		  "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, Arial, "
		  "sans-serif\">\n",
		  width, height, width, height, FONT_PX);
	if (title) {
		rp_raw(w, "<title>");
		rp_text(w, title);
		rp_raw(w, "</title>\n");
	}
}

void rp_svg_end(rp_w *w)
{
	rp_raw(w, "</svg>\n");
}

void mc_svg_plot_init(mc_svg_plot *p, double x, double y, double w, double h)
{
	memset(p, 0, sizeof *p);
	p->box = (mc_svg_box){x, y, w, h};
	p->x_min = p->x_max = p->y_min = p->y_max = p->marker_x = NAN;
}

mc_code mc_svg_begin(mc_buf *out, double width, double height, const char *title, mc_error *err)
{
	rp_w w = rp_w_begin(out);
	rp_svg_begin(&w, width, height, title);
	return rp_w_end(&w, "an SVG header", err);
}

mc_code mc_svg_end(mc_buf *out, mc_error *err)
{
	rp_w w = rp_w_begin(out);
	rp_svg_end(&w);
	return rp_w_end(&w, "an SVG end", err);
}

mc_code mc_svg_line_plot(mc_buf *out, const mc_svg_plot *p, const mc_svg_line *lines, size_t n,
			 mc_error *err)
{
	rp_w w = rp_w_begin(out);
	rp_line_plot(&w, p, lines, n);
	return rp_w_end(&w, "a line plot", err);
}

mc_code mc_svg_bar_plot(mc_buf *out, const mc_svg_plot *p, const mc_svg_bars *bars, mc_error *err)
{
	rp_w w = rp_w_begin(out);
	rp_bar_plot(&w, p, bars);
	return rp_w_end(&w, "a bar plot", err);
}

mc_code mc_svg_legend(mc_buf *out, double x, double y, double width,
		      const mc_svg_legend_item *items, size_t n, mc_error *err)
{
	rp_w w = rp_w_begin(out);
	rp_legend(&w, x, y, width, items, n);
	return rp_w_end(&w, "a legend", err);
}

/* A chart: the plot above its legend, in one <svg> of the plot's box size. */
static void chart(rp_w *w, const mc_svg_plot *p, const mc_svg_line *lines, size_t n,
		  const mc_svg_bars *bars, const mc_svg_legend_item *items, size_t nitems)
{
	double lw = p->box.w - 16, lh = mc_svg_legend_height(lw, items, nitems);
	mc_svg_plot q = *p;
	q.box = (mc_svg_box){0, 0, p->box.w, p->box.h - (lh > 0 ? lh + 8 : 0)};
	rp_svg_begin(w, p->box.w, p->box.h, p->title);
	if (bars)
		rp_bar_plot(w, &q, bars);
	else
		rp_line_plot(w, &q, lines, n);
	rp_legend(w, 8, q.box.h + 4, lw, items, nitems);
	rp_svg_end(w);
}

mc_code mc_svg_line_chart(mc_buf *out, const mc_svg_plot *p, const mc_svg_line *lines, size_t n,
			  mc_error *err)
{
	mc_svg_legend_item *items = calloc(n + 2, sizeof *items);
	if (!items)
		return mc_fail(err, MC_ERR_NOMEM, "cannot write a line chart: out of memory");
	size_t k = 0;
	bool dashed = false, band = false;
	for (size_t i = 0; i < n; i++) {
		if (lines[i].label)
			items[k++] = (mc_svg_legend_item){lines[i].label, lines[i].color,
							  MC_SVG_MARK_LINE, false};
		dashed |= lines[i].nf > 0 && lines[i].fy;
		band |= lines[i].nf > 0 && lines[i].flo && lines[i].fhi;
	}
	if (dashed)
		items[k++] = (mc_svg_legend_item){"forecast", -1, MC_SVG_MARK_DASH, false};
	if (band)
		items[k++] = (mc_svg_legend_item){"interval", -1, MC_SVG_MARK_BAND, false};
	rp_w w = rp_w_begin(out);
	chart(&w, p, lines, n, NULL, items, k);
	free(items);
	return rp_w_end(&w, "a line chart", err);
}

mc_code mc_svg_histogram(mc_buf *out, const mc_svg_plot *p, const mc_svg_bars *bars, mc_error *err)
{
	mc_svg_legend_item items[2];
	size_t k = 0;
	if (bars->ref)
		items[k++] = (mc_svg_legend_item){bars->ref_label ? bars->ref_label : "reference",
						  0, MC_SVG_MARK_BAR, false};
	if (bars->cur)
		items[k++] = (mc_svg_legend_item){bars->cur_label ? bars->cur_label : "current", 3,
						  MC_SVG_MARK_BAR, false};
	rp_w w = rp_w_begin(out);
	chart(&w, p, NULL, 0, bars, items, k);
	return rp_w_end(&w, "a histogram", err);
}
