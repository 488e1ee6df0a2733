/* The report writer: sticky-error appends to an mc_buf and XML escaping of caller text. */
#include "report/report_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "milkcast/date.h"

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the valid UTF-8 sequence allowed in XML at s, or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return c >= 0x20 || c == '\t' || c == '\n' || c == '\r' ? 1 : 0;
	size_t n = c >= 0xC2 && c <= 0xDF   ? 2
		   : c >= 0xE0 && c <= 0xEF ? 3
		   : c >= 0xF0 && c <= 0xF4 ? 4
					    : 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) ||
	    (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] > 0x8F))
		return 0; /* overlong, surrogate or beyond U+10FFFF */
	if (c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
		return 0; /* U+FFFE, U+FFFF: not XML characters */
	return n;
}

static const char *entity(unsigned char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	}
	return NULL;
}

mc_code mc_xml_escape(mc_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t start = out->len;
	mc_code rc = MC_OK;
	while (*p && !rc) {
		size_t run = 0, k;
		while (p[run] && !entity(p[run]) && (k = utf8_len(p + run)) > 0)
			run += k;
		rc = mc_buf_append(out, p, run);
		p += run;
		if (!*p || rc)
			break;
		const char *e = entity(*p);
		rc = e ? mc_buf_append(out, e, strlen(e)) : mc_buf_append(out, replacement, 3);
		p++;
	}
	if (rc) {
		out->len = start;
		if (out->data)
			out->data[start] = '\0';
	}
	return rc;
}

rp_w rp_w_begin(mc_buf *b)
{
	rp_w w = {b, b->len, MC_OK};
	return w;
}

mc_code rp_w_end(rp_w *w, const char *what, mc_error *err)
{
	if (!w->rc)
		return MC_OK;
	w->b->len = w->start;
	if (w->b->data)
		w->b->data[w->start] = '\0';
	return mc_fail(err, w->rc, "cannot write %s: %s", what,
		       w->rc == MC_ERR_LIMIT ? "output exceeds the size limit" : "out of memory");
}

void rp_raw(rp_w *w, const char *s)
{
	if (!w->rc)
		w->rc = mc_buf_append(w->b, s, strlen(s));
}

void rp_printf(rp_w *w, const char *fmt, ...)
{
	if (w->rc)
		return;
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->rc = MC_ERR_INVALID;
	} else if ((size_t)n < sizeof small) {
		w->rc = mc_buf_append(w->b, small, (size_t)n);
	} else {
		w->rc = mc_buf_reserve(w->b, (size_t)n);
		if (w->rc)
			return;
		va_start(ap, fmt);
		vsnprintf((char *)w->b->data + w->b->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
		w->b->len += (size_t)n;
	}
}

void rp_text(rp_w *w, const char *s)
{
	if (!w->rc)
		w->rc = mc_xml_escape(w->b, s);
}

void rp_date(rp_w *w, int32_t days)
{
	char iso[11];
	mc_date_format_iso(days, iso);
	rp_raw(w, iso);
}

double rp_text_width(const char *s, double px)
{
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
		chars += (*p & 0xC0) != 0x80;
	return (double)chars * px * 0.6;
}
