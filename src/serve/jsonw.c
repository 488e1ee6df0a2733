/*
 * JSON text written straight into a buffer, byte for byte as jansson's
 * json_dumps(JSON_COMPACT) writes the same values: for the hot paths (the
 * prediction log, the answer to a single prediction) that used to build a
 * jansson object only to print it.  Strings are escaped as jansson escapes
 * them (\" \\ \b \f \n \r \t, other control characters as \u00XX in upper
 * case, everything else as it is); reals are "%.17g" with ".0" added when
 * the text has neither a point nor an exponent, and the exponent without
 * '+' and leading zeros.  Like jansson, a string that is not UTF-8 and a
 * real that is not finite are refused.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "milkcast/date.h"
#include "serve/serve_int.h"

static const char hex_digits[] = "0123456789ABCDEF";

/* The escape of one byte below 0x20 or a quote or backslash, into out; its length. */
static size_t escape_byte(unsigned char c, char out[6])
{
	static const char short_form[] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r',
					  ['\t'] = 't', ['"'] = '"',  ['\\'] = '\\'};
	out[0] = '\\';
	if (c < sizeof short_form && short_form[c]) {
		out[1] = short_form[c];
		return 2;
	}
	memcpy(out + 1, "u00", 3);
	out[4] = hex_digits[c >> 4];
	out[5] = hex_digits[c & 15];
	return 6;
}

bool mc_jw_string_n(mc_buf *b, const char *s, size_t n)
{
	if (!mc_utf8_valid(s, n) || mc_buf_reserve(b, n + 2) != MC_OK)
		return false;
	b->data[b->len++] = '"';
	size_t done = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		char esc[6];
		size_t k = escape_byte(c, esc);
		if (!mc_jw_raw(b, s + done, i - done) || !mc_jw_raw(b, esc, k))
			return false;
		done = i + 1;
	}
	return mc_jw_raw(b, s + done, n - done) && mc_jw_raw(b, "\"", 1);
}

bool mc_jw_string(mc_buf *b, const char *s)
{
	return mc_jw_string_n(b, s, strlen(s));
}

size_t mc_jw_format_real(double x, char out[32])
{
	int n = snprintf(out, 32, "%.17g", x);
	if (n <= 0 || n >= 26)
		return 0;
	char *e = strchr(out, 'e');
	if (!e && !strchr(out, '.')) {
		memcpy(out + n, ".0", 3);
		return (size_t)n + 2;
	}
	if (!e)
		return (size_t)n;
	char *p = e + 1, *w = e + 1;
	if (*p == '-')
		*w++ = *p;
	if (*p == '-' || *p == '+')
		p++;
	while (*p == '0' && p[1])
		p++;
	while (*p)
		*w++ = *p++;
	*w = 0;
	return (size_t)(w - out);
}

bool mc_jw_real(mc_buf *b, double x)
{
	char t[32];
	size_t n = isfinite(x) ? mc_jw_format_real(x, t) : 0;
	return n && mc_jw_raw(b, t, n);
}

bool mc_jw_real_memo(mc_buf *b, double x, mc_real_memo *memo)
{
	if (!memo)
		return mc_jw_real(b, x);
	uint64_t bits;
	memcpy(&bits, &x, sizeof bits);
	mc_real_text *t = &memo->slot[(bits * 0x9e3779b97f4a7c15ULL) >> (64 - MC_REAL_MEMO_BITS)];
	if (!t->len || t->bits != bits) {
		size_t n = isfinite(x) ? mc_jw_format_real(x, t->text) : 0;
		if (!n)
			return false;
		t->bits = bits;
		t->len = (uint8_t)n;
	}
	return mc_jw_raw(b, t->text, t->len);
}

bool mc_jw_int(mc_buf *b, long long v)
{
	char t[24], *p = t + sizeof t;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return mc_jw_raw(b, p, (size_t)(t + sizeof t - p));
}

bool mc_jw_date(mc_buf *b, int32_t day)
{
	char d[13];
	d[0] = '"';
	mc_date_format_iso(day, d + 1);
	d[11] = '"';
	return mc_jw_raw(b, d, 12);
}
