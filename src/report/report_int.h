/*
 * Private to src/report/: a writer with a sticky error over an mc_buf, so
 * page and chart code appends without checking every call, and the
 * drawing functions behind the public mc_svg_* wrappers.
 */
#ifndef MILKCAST_REPORT_INT_H
#define MILKCAST_REPORT_INT_H

#include <stddef.h>

#include "milkcast/buf.h"
#include "milkcast/report.h"

/* Once rc is set every later write is a no-op; start remembers where to roll back. */
typedef struct rp_w {
	mc_buf *b;
	size_t start;
	mc_code rc;
} rp_w;

rp_w rp_w_begin(mc_buf *b);
/* MC_OK, or fail with "cannot write WHAT: ..." after truncating back to start. */
mc_code rp_w_end(rp_w *w, const char *what, mc_error *err);

void rp_raw(rp_w *w, const char *s);
void rp_printf(rp_w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s XML-escaped (NULL = ""). */
void rp_text(rp_w *w, const char *s);
/* An ISO date "YYYY-MM-DD". */
void rp_date(rp_w *w, int32_t days);

/* Rough rendered width of s at font size px (code points x 0.6 px); for layout only. */
double rp_text_width(const char *s, double px);

/* Drawing into an open <svg>; see the mc_svg_* counterparts in report.h. */
void rp_svg_begin(rp_w *w, double width, double height, const char *title);
void rp_svg_end(rp_w *w);
void rp_line_plot(rp_w *w, const mc_svg_plot *p, const mc_svg_line *lines, size_t n);
void rp_bar_plot(rp_w *w, const mc_svg_plot *p, const mc_svg_bars *bars);
void rp_legend(rp_w *w, double x, double y, double width, const mc_svg_legend_item *items,
	       size_t n);

#endif
