/*
 * What an alert says: the Telegram HTML text (escaped, cut to Telegram's
 * limit counted as Telegram counts it) and the JSON bodies of both channels.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert_int.h"

#define ELLIPSIS "\xE2\x80\xA6" /* U+2026, one UTF-16 unit */
/* A cut prefers a word boundary within this many units of the limit. */
#define WORD_SLACK 64

/* --- UTF-8 ---------------------------------------------------------------------- */

/* Decode one code point of the NUL-terminated s; returns the bytes used (≥ 1); U+FFFD when invalid.
 */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	size_t n;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1, v = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2, v = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3, v = c & 0x07, min = 0x10000;
	} else {
		*cp = 0xFFFD;
		return 1;
	}
	for (size_t i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80) { /* also stops at the NUL */
			*cp = 0xFFFD;
			return i;
		}
		v = v << 6 | (s[i] & 0x3Fu);
	}
	*cp = v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) ? 0xFFFD : v;
	return n + 1;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* UTF-16 code units of a code point: Telegram's measure of length. */
static size_t units_of(uint32_t cp)
{
	return cp > 0xFFFF ? 2 : 1;
}

char *alert_clean_text(const char *s, bool multiline)
{
	size_t n = strlen(s);
	/* An invalid byte (1) becomes U+FFFD (3 bytes): at most three times as long. */
	char *out = malloc(3 * n + 1), *o = out;
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		size_t k = utf8_next(p, &cp);
		if (cp == '\r' && p[1] == '\n') {
			p++;
			continue;
		}
		bool newline = cp == '\n' || cp == '\r';
		if (newline && multiline)
			cp = '\n';
		else if (cp < 0x20 && !(cp == '\t' && multiline))
			cp = ' ';
		else if (cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
			cp = ' ';
		o += utf8_put(o, cp);
		p += k;
	}
	*o = '\0';
	return out;
}

static bool is_space(uint32_t cp)
{
	return cp == ' ' || cp == '\n' || cp == '\t';
}

/*
 * The longest prefix of clean UTF-8 s within `budget` units: its byte length,
 * its units in *units; *cut when s did not fit.  A cut ends at a word boundary
 * when one is near, and never with white space.
 */
static size_t fit(const char *s, size_t budget, size_t *units, bool *cut)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t pos = 0, u = 0, ws_pos = 0, ws_units = 0;
	*cut = false;
	while (p[pos]) {
		uint32_t cp;
		size_t k = utf8_next(p + pos, &cp);
		if (u + units_of(cp) > budget) {
			*cut = true;
			break;
		}
		if (is_space(cp)) {
			ws_pos = pos;
			ws_units = u;
		}
		u += units_of(cp);
		pos += k;
	}
	if (*cut) {
		if (ws_pos > 0 && u - ws_units <= WORD_SLACK) {
			pos = ws_pos;
			u = ws_units;
		}
		while (pos > 0 && (p[pos - 1] == ' ' || p[pos - 1] == '\n' || p[pos - 1] == '\t')) {
			pos--;
			u--;
		}
	}
	*units = u;
	return pos;
}

static size_t units_in(const char *s)
{
	size_t u;
	bool cut;
	fit(s, (size_t)-1, &u, &cut);
	return u;
}

/* Append s[0..n) with &, <, > (and " in an attribute) as entities. */
static mc_code put_escaped(mc_buf *b, const char *s, size_t n, bool attr)
{
	mc_code rc = MC_OK;
	size_t start = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		const char *e = s[i] == '&'	      ? "&amp;"
				: s[i] == '<'	      ? "&lt;"
				: s[i] == '>'	      ? "&gt;"
				: s[i] == '"' && attr ? "&quot;"
						      : NULL;
		if (!e)
			continue;
		rc = mc_buf_append(b, s + start, i - start);
		if (!rc)
			rc = mc_buf_append(b, e, strlen(e));
		start = i + 1;
	}
	return rc ? rc : mc_buf_append(b, s + start, n - start);
}

/* Append s cut to `budget` units (an ellipsis included); returns the units written. */
static mc_code put_fitted(mc_buf *b, const char *s, size_t budget, size_t *units, bool *cut)
{
	size_t u, n = fit(s, budget, &u, cut);
	if (*cut)
		n = fit(s, budget - 1, &u, cut);
	mc_code rc = put_escaped(b, s, n, false);
	if (!rc && *cut) {
		rc = mc_buf_append(b, ELLIPSIS, strlen(ELLIPSIS));
		u++;
	}
	*units = u;
	return rc;
}

/* --- the Telegram text --------------------------------------------------------------- */

static const char *mark(mc_alert_severity s)
{
	switch (s) {
	case MC_ALERT_CRITICAL: return "\xF0\x9F\x94\xB4"; /* U+1F534 red circle */
	case MC_ALERT_WARNING: return "\xF0\x9F\x9F\xA0";  /* U+1F7E0 orange circle */
	case MC_ALERT_INFO: break;
	}
	return "\xF0\x9F\x94\xB5"; /* U+1F535 blue circle */
}

/* A link Telegram can open: http(s), no white space or control character, not huge. */
static bool linkable(const char *s)
{
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return false;
	size_t n = strlen(s);
	if (n > 2048)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7F)
			return false;
	return true;
}

typedef struct pieces {
	char *title, *details, *link;
} pieces;

static void pieces_free(pieces *p)
{
	free(p->title);
	free(p->details);
	free(p->link);
}

static mc_code pieces_clean(const mc_alert *a, pieces *p)
{
	*p = (pieces){0};
	p->title = alert_clean_text(a->title ? a->title : "", false);
	p->details = alert_clean_text(a->details ? a->details : "", true);
	p->link = alert_clean_text(a->link ? a->link : "", false);
	return p->title && p->details && p->link ? MC_OK : MC_ERR_NOMEM;
}

/* Title line, severity and rule: "<b>● title</b>\nwarning · rule". */
static mc_code put_head(mc_buf *b, const mc_alert *a, const char *title, size_t cap, size_t *units,
			bool *cut)
{
	const char *m = mark(a->severity);
	size_t tu = 0;
	mc_code rc = mc_buf_printf(b, "<b>%s ", m);
	if (!rc)
		rc = put_fitted(b, title, cap, &tu, cut);
	if (!rc)
		rc = mc_buf_printf(b, "</b>\n%s \xC2\xB7 ", mc_alert_severity_name(a->severity));
	if (!rc)
		rc = put_escaped(b, a->rule, strlen(a->rule), false);
	/* mark (2) + space + title + newline + severity + " · " + rule */
	*units = units_in(m) + 1 + tu + 1 + strlen(mc_alert_severity_name(a->severity)) + 3 +
		 units_in(a->rule);
	return rc;
}

/* "\n\nReport: <a href=…>…</a>" or "\n\nReport: <code>path</code>". */
static mc_code put_link(mc_buf *b, const char *link, size_t cap, size_t *units, bool *cut)
{
	static const char label[] = "\n\nReport: ";
	size_t lu = 0;
	mc_code rc = mc_buf_append(b, label, strlen(label));
	bool url = linkable(link);
	if (!rc && url) {
		rc = mc_buf_append(b, "<a href=\"", 9);
		if (!rc)
			rc = put_escaped(b, link, strlen(link), true);
		if (!rc)
			rc = mc_buf_append(b, "\">", 2);
	} else if (!rc) {
		rc = mc_buf_append(b, "<code>", 6);
	}
	if (!rc)
		rc = put_fitted(b, link, cap, &lu, cut);
	if (!rc)
		rc = url ? mc_buf_append(b, "</a>", 4) : mc_buf_append(b, "</code>", 7);
	*units = strlen(label) + lu;
	return rc;
}

mc_code alert_telegram_text(const mc_alert *a, size_t limit, mc_buf *out, bool *truncated,
			    mc_error *err)
{
	*truncated = false;
	if (limit < 256)
		return mc_fail(err, MC_ERR_INVALID, "a Telegram text limit of %zu is too small",
			       limit);
	pieces p;
	mc_buf head = MC_BUF_INIT, tail = MC_BUF_INIT;
	size_t hu = 0, lu = 0, du = 0;
	bool cut_title = false, cut_link = false, cut_details = false;
	mc_code rc = pieces_clean(a, &p);
	if (!rc)
		rc = put_head(&head, a, p.title, limit / 4, &hu, &cut_title);
	if (!rc && p.link[0])
		rc = put_link(&tail, p.link, limit / 4, &lu, &cut_link);
	mc_buf_reset(out);
	if (!rc)
		rc = mc_buf_append(out, head.data, head.len);
	/* The details get what the head and the link leave: "\n\n" + text. */
	size_t used = hu + lu + 2;
	if (!rc && p.details[0] && used + 2 <= limit) {
		rc = mc_buf_append(out, "\n\n", 2);
		if (!rc)
			rc = put_fitted(out, p.details, limit - used, &du, &cut_details);
	}
	if (!rc && tail.len)
		rc = mc_buf_append(out, tail.data, tail.len);
	mc_buf_release(&head);
	mc_buf_release(&tail);
	pieces_free(&p);
	if (rc)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	*truncated = cut_title || cut_link || cut_details;
	return MC_OK;
}

size_t alert_telegram_units(const char *html)
{
	const unsigned char *p = (const unsigned char *)html;
	size_t u = 0;
	while (*p) {
		if (*p == '<') {
			const unsigned char *q =
				(const unsigned char *)strchr((const char *)p, '>');
			p = q ? q + 1 : p + strlen((const char *)p);
			continue;
		}
		if (*p == '&') {
			const unsigned char *q =
				(const unsigned char *)strchr((const char *)p, ';');
			if (q) {
				u++;
				p = q + 1;
				continue;
			}
		}
		uint32_t cp;
		p += utf8_next(p, &cp);
		u += units_of(cp);
	}
	return u;
}

/* --- request bodies ---------------------------------------------------------------- */

static mc_code dump(json_t *o, mc_buf *out, mc_error *err)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	mc_buf_reset(out);
	mc_code rc = s ? mc_buf_append(out, s, strlen(s)) : MC_ERR_NOMEM;
	free(s);
	return rc ? mc_fail(err, rc, "cannot build an alert request body") : MC_OK;
}

/* A chat id that is an integer goes as a JSON number, as Telegram documents it. */
static json_t *chat_id_json(const char *id)
{
	const char *p = id + (id[0] == '-');
	size_t n = strspn(p, "0123456789");
	if (n > 0 && n <= 18 && p[n] == '\0')
		return json_integer(strtoll(id, NULL, 10));
	return json_string(id);
}

mc_code alert_telegram_body(const char *chat_id, const char *text, mc_buf *out, mc_error *err)
{
	json_t *o = json_object();
	if (o) {
		json_object_set_new(o, "chat_id", chat_id_json(chat_id));
		json_object_set_new(o, "text", json_string(text));
		json_object_set_new(o, "parse_mode", json_string("HTML"));
		json_object_set_new(o, "disable_web_page_preview", json_true());
		json_object_set_new(o, "link_preview_options",
				    json_pack("{s:b}", "is_disabled", 1));
		if (json_object_size(o) != 5) {
			json_decref(o);
			o = NULL;
		}
	}
	return dump(o, out, err);
}

void alert_format_time(int64_t ms, char *out, size_t n)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "1970-01-01T00:00:00Z");
}

mc_code alert_webhook_body(const mc_alert *a, const char *key, int64_t now_ms, mc_buf *out,
			   mc_error *err)
{
	pieces p;
	if (pieces_clean(a, &p)) {
		pieces_free(&p);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	char *k = alert_clean_text(key, false);
	char when[32];
	alert_format_time(now_ms, when, sizeof when);
	json_t *o = json_object();
	if (o && k) {
		json_object_set_new(o, "rule", json_string(a->rule));
		json_object_set_new(o, "severity",
				    json_string(mc_alert_severity_name(a->severity)));
		json_object_set_new(o, "title", json_string(p.title));
		json_object_set_new(o, "details", json_string(p.details));
		json_object_set_new(o, "link", p.link[0] ? json_string(p.link) : json_null());
		json_object_set_new(o, "time", json_string(when));
		json_object_set_new(o, "source", json_string("milkcast"));
		json_object_set_new(o, "dedup_key", json_string(k));
		if (json_object_size(o) != 8) {
			json_decref(o);
			o = NULL;
		}
	}
	if (!k) {
		json_decref(o);
		o = NULL;
	}
	free(k);
	pieces_free(&p);
	return dump(o, out, err);
}

void alert_redact(char *s, size_t cap, const char *secret)
{
	static const char mask[] = "<redacted>";
	size_t sn = secret ? strlen(secret) : 0;
	if (sn == 0 || cap == 0)
		return;
	char *hit;
	size_t from = 0;
	while ((hit = strstr(s + from, secret)) != NULL) {
		size_t at = (size_t)(hit - s), len = strlen(s);
		size_t rest = len - at - sn, mn = strlen(mask);
		/* Room for the mask and what follows, cutting the end when the buffer is full. */
		if (at + mn >= cap) {
			snprintf(s + at, cap - at, "%s", mask);
			return;
		}
		size_t keep = rest;
		if (at + mn + keep >= cap)
			keep = cap - 1 - at - mn;
		memmove(s + at + mn, hit + sn, keep);
		memcpy(s + at, mask, mn);
		s[at + mn + keep] = '\0';
		from = at + mn;
	}
	/* A message cut short may end in the secret's first characters. */
	size_t len = strlen(s);
	for (size_t k = sn - 1 < len ? sn - 1 : len; k >= 4; k--) {
		if (memcmp(s + len - k, secret, k) == 0) {
			snprintf(s + len - k, cap - (len - k), "%s", mask);
			return;
		}
	}
}
