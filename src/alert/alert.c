/*
 * The alerter: configuration from the environment, the two channels
 * (Telegram's sendMessage and a JSON webhook) and the dedup window around
 * them.  Every message and log line passes through redact() first, so no
 * secret of the configuration leaves this file.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert/alert_int.h"

#define RULE_MAX 64
#define KEY_MAX 512

struct mc_alerter {
	mc_alert_config cfg; /* strings below are our copies */
	char *tg_url;	     /* base/bot<token>/sendMessage: secret */
	char *tg_token, *tg_chat;
	char *hook_url, *hook_token;
	char *hook_name; /* "webhook https://host:port", for messages */
	bool has[MC_ALERT_NCHANNELS];
	alert_http *http;
	alert_ledger *ledger;
};

/* --- names -------------------------------------------------------------------------- */

const char *mc_alert_severity_name(mc_alert_severity s)
{
	switch (s) {
	case MC_ALERT_INFO: return "info";
	case MC_ALERT_WARNING: return "warning";
	case MC_ALERT_CRITICAL: return "critical";
	}
	return "unknown";
}

mc_code mc_alert_severity_parse(const char *s, mc_alert_severity *out, mc_error *err)
{
	for (int i = MC_ALERT_INFO; i <= MC_ALERT_CRITICAL; i++)
		if (s && !strcmp(s, mc_alert_severity_name((mc_alert_severity)i))) {
			*out = (mc_alert_severity)i;
			return MC_OK;
		}
	return mc_fail(err, MC_ERR_INVALID,
		       "unknown alert severity '%s' (info, warning or critical)", s ? s : "");
}

const char *mc_alert_status_name(mc_alert_status s)
{
	switch (s) {
	case MC_ALERT_NOT_CONFIGURED: return "not_configured";
	case MC_ALERT_SENT: return "sent";
	case MC_ALERT_SUPPRESSED: return "suppressed";
	case MC_ALERT_FAILED: return "failed";
	}
	return "unknown";
}

const char *mc_alert_channel_name(mc_alert_channel ch)
{
	return ch == MC_ALERT_TELEGRAM	? "telegram"
	       : ch == MC_ALERT_WEBHOOK ? "webhook"
					: "unknown";
}

/* --- configuration ------------------------------------------------------------------ */

void mc_alert_config_init(mc_alert_config *c)
{
	*c = (mc_alert_config){
		.window_ms = MC_ALERT_DEFAULT_WINDOW_MS,
		.retries = 3,
		.backoff_ms = 500,
		.backoff_max_ms = 8000,
		.retry_after_max_s = 60,
		.timeout_s = 15,
	};
}

mc_code mc_alert_parse_window(const char *s, int64_t *ms, mc_error *err)
{
	char *end;
	errno = 0;
	long long v = s ? strtoll(s, &end, 10) : -1;
	int64_t unit = 1000;
	if (s && end != s && errno == 0 && v >= 0) {
		if (!strcmp(end, "d"))
			unit = 86400000;
		else if (!strcmp(end, "h"))
			unit = 3600000;
		else if (!strcmp(end, "m"))
			unit = 60000;
		else if (strcmp(end, "s") && *end)
			unit = 0;
		if (unit && v <= INT64_MAX / unit / 2) {
			*ms = (int64_t)v * unit;
			return MC_OK;
		}
	}
	return mc_fail(err, MC_ERR_INVALID,
		       "bad alert window '%s' (a number with d, h, m or s, e.g. 24h; 0 = off)",
		       s ? s : "");
}

static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && v[0] ? v : NULL;
}

mc_code mc_alert_config_from_env(mc_alert_config *c, mc_error *err)
{
	mc_alert_config_init(c);
	c->telegram_api = env("MILKCAST_TELEGRAM_API");
	c->telegram_token = env("MILKCAST_TELEGRAM_TOKEN");
	if (!c->telegram_token)
		c->telegram_token = env("TELEGRAM_BOT_TOKEN");
	c->telegram_chat_id = env("MILKCAST_TELEGRAM_CHAT_ID");
	c->webhook_url = env("MILKCAST_ALERT_WEBHOOK");
	c->webhook_token = env("MILKCAST_ALERT_WEBHOOK_TOKEN");
	const char *w = env("MILKCAST_ALERT_WINDOW");
	if (w && mc_alert_parse_window(w, &c->window_ms, err))
		return mc_error_prefix(err, "MILKCAST_ALERT_WINDOW: ");
	const char *r = env("MILKCAST_ALERT_RETRIES");
	if (r) {
		char *end;
		long n = strtol(r, &end, 10);
		if (end == r || *end || n < 0 || n > 20)
			return mc_fail(err, MC_ERR_INVALID,
				       "MILKCAST_ALERT_RETRIES: '%s' is not a number from 0 to 20",
				       r);
		c->retries = (int)n;
	}
	return MC_OK;
}

/* A base URL we accept: http(s), nothing that could not be in a URL. */
static bool http_url(const char *s)
{
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7F)
			return false;
	return strlen(s) > 8;
}

/* "https://user:pw@host:8443/path?q" → "https://host:8443". */
static char *origin_of(const char *url)
{
	const char *host = strstr(url, "://") + 3;
	size_t n = strcspn(host, "/?#");
	const char *at = memchr(host, '@', n);
	while (at) { /* the last '@' before the path ends the userinfo */
		n -= (size_t)(at + 1 - host);
		host = at + 1;
		at = memchr(host, '@', n);
	}
	size_t scheme = (size_t)(strstr(url, "://") + 3 - url);
	char *o = malloc(scheme + n + 16);
	if (o)
		snprintf(o, scheme + n + 16, "webhook %.*s%.*s", (int)scheme, url, (int)n, host);
	return o;
}

static mc_code check_config(const mc_alert_config *c, mc_error *err)
{
	if (c->telegram_token) {
		size_t n = strlen(c->telegram_token);
		if (n == 0 || n > 256 ||
		    strspn(c->telegram_token,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-") !=
			    n)
			return mc_fail(
				err, MC_ERR_INVALID,
				"the Telegram bot token (MILKCAST_TELEGRAM_TOKEN) has characters "
				"a bot token cannot have");
		if (!c->telegram_chat_id || !c->telegram_chat_id[0])
			return mc_fail(
				err, MC_ERR_INVALID,
				"a Telegram bot token is set but MILKCAST_TELEGRAM_CHAT_ID is not");
		if (strlen(c->telegram_chat_id) > 128)
			return mc_fail(err, MC_ERR_INVALID,
				       "MILKCAST_TELEGRAM_CHAT_ID is too long");
	}
	if (c->telegram_api && !http_url(c->telegram_api))
		return mc_fail(err, MC_ERR_INVALID,
			       "MILKCAST_TELEGRAM_API '%s' is not an http(s) URL", c->telegram_api);
	if (c->webhook_url && !http_url(c->webhook_url))
		return mc_fail(err, MC_ERR_INVALID, "MILKCAST_ALERT_WEBHOOK is not an http(s) URL");
	if (c->retries < 0 || c->retries > 20 || c->backoff_ms < 1 ||
	    c->backoff_max_ms < c->backoff_ms || c->retry_after_max_s < 0 || c->timeout_s < 1 ||
	    c->window_ms < 0)
		return mc_fail(err, MC_ERR_INVALID,
			       "bad alert settings: retries 0-20, positive backoff and timeout, "
			       "window not negative");
	return MC_OK;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	for (volatile char *p = s; *p; p++)
		*p = '\0';
	free(s);
}

void mc_alerter_free(mc_alerter *al)
{
	if (!al)
		return;
	alert_http_free(al->http);
	alert_ledger_free(al->ledger);
	wipe_free(al->tg_url);
	wipe_free(al->tg_token);
	wipe_free(al->hook_url);
	wipe_free(al->hook_token);
	free(al->tg_chat);
	free(al->hook_name);
	free(al);
}

static void redact(const mc_alerter *al, char *s, size_t cap)
{
	alert_redact(s, cap, al->tg_token);
	alert_redact(s, cap, al->hook_url);
	alert_redact(s, cap, al->hook_token);
}

/* Every log line of the alerter and its HTTP client comes through here. */
static void log_line(void *user, const char *line)
{
	const mc_alerter *al = user;
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", line);
	redact(al, buf, sizeof buf);
	al->cfg.log(al->cfg.log_user, buf);
}

static void logf_(const mc_alerter *al, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(const mc_alerter *al, const char *fmt, ...)
{
	if (!al->cfg.log)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_line((void *)al, line);
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = true;
	return d;
}

static mc_code copy_config(mc_alerter *al, const mc_alert_config *c)
{
	bool oom = false;
	al->cfg = *c;
	if (c->telegram_token) {
		const char *base =
			c->telegram_api ? c->telegram_api : MC_ALERT_DEFAULT_TELEGRAM_API;
		size_t bn = strlen(base);
		while (bn > 0 && base[bn - 1] == '/')
			bn--;
		size_t n = bn + strlen(c->telegram_token) + 32;
		if ((al->tg_url = malloc(n)) != NULL)
			snprintf(al->tg_url, n, "%.*s/bot%s/sendMessage", (int)bn, base,
				 c->telegram_token);
		oom |= !al->tg_url;
		al->tg_token = dup_or_null(c->telegram_token, &oom);
		al->tg_chat = dup_or_null(c->telegram_chat_id, &oom);
		al->has[MC_ALERT_TELEGRAM] = true;
	}
	if (c->webhook_url) {
		al->hook_url = dup_or_null(c->webhook_url, &oom);
		al->hook_token = dup_or_null(c->webhook_token, &oom);
		oom |= !(al->hook_name = origin_of(c->webhook_url));
		al->has[MC_ALERT_WEBHOOK] = true;
	}
	/* Only our copies are kept: the caller's strings may go away. */
	al->cfg.telegram_api = al->cfg.telegram_token = al->cfg.telegram_chat_id = NULL;
	al->cfg.webhook_url = al->cfg.webhook_token = NULL;
	return oom ? MC_ERR_NOMEM : MC_OK;
}

mc_code mc_alerter_open(const mc_alert_config *cfg, mc_store *store, mc_alerter **out,
			mc_error *err)
{
	*out = NULL;
	mc_code rc = check_config(cfg, err);
	if (rc)
		return rc;
	mc_alerter *al = calloc(1, sizeof *al);
	if (!al)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (copy_config(al, cfg)) {
		mc_alerter_free(al);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	rc = alert_ledger_new(store, &al->ledger, err);
	if (!rc && (al->has[MC_ALERT_TELEGRAM] || al->has[MC_ALERT_WEBHOOK])) {
		alert_http_opts o = {
			.retries = cfg->retries,
			.backoff_ms = cfg->backoff_ms,
			.backoff_max_ms = cfg->backoff_max_ms,
			.retry_after_max_s = cfg->retry_after_max_s,
			.timeout_s = cfg->timeout_s,
			.log = cfg->log ? log_line : NULL,
			.log_user = al,
		};
		rc = alert_http_new(&o, &al->http, err);
	}
	if (rc) {
		mc_alerter_free(al);
		return rc;
	}
	*out = al;
	return MC_OK;
}

bool mc_alerter_has_channel(const mc_alerter *al, mc_alert_channel ch)
{
	return (int)ch >= 0 && (int)ch < MC_ALERT_NCHANNELS && al->has[ch];
}

/* --- sending ---------------------------------------------------------------------- */

static int64_t now_ms(const mc_alerter *al)
{
	if (al->cfg.clock)
		return al->cfg.clock(al->cfg.clock_user);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static mc_code check_alert(const mc_alert *a, mc_error *err)
{
	if (!a || !a->rule || !a->rule[0])
		return mc_fail(err, MC_ERR_INVALID, "an alert needs a rule id");
	size_t n = strlen(a->rule);
	if (n > RULE_MAX || strspn(a->rule, "abcdefghijklmnopqrstuvwxyz0123456789_.:-") != n)
		return mc_fail(err, MC_ERR_INVALID,
			       "bad alert rule id '%.64s' (lower-case letters, digits, _ . : -; at "
			       "most %d)",
			       a->rule, RULE_MAX);
	const char *t = a->title;
	while (t && isspace((unsigned char)*t))
		t++;
	if (!t || !*t)
		return mc_fail(err, MC_ERR_INVALID, "alert '%s' has no title", a->rule);
	if ((int)a->severity < MC_ALERT_INFO || (int)a->severity > MC_ALERT_CRITICAL)
		return mc_fail(err, MC_ERR_INVALID, "alert '%s' has an unknown severity", a->rule);
	if (a->dedup_key && strlen(a->dedup_key) > KEY_MAX)
		return mc_fail(err, MC_ERR_INVALID, "alert '%s': the dedup key is over %d bytes",
			       a->rule, KEY_MAX);
	return MC_OK;
}

/* Up to n - 1 bytes of p as one printable line, not ending inside a UTF-8 sequence. */
static void snippet(const void *p, size_t len, char *out, size_t n)
{
	const unsigned char *s = p;
	size_t k = 0;
	for (size_t i = 0; i < len && k + 1 < n; i++)
		out[k++] = s[i] < ' ' || s[i] == 0x7F ? ' ' : (char)s[i];
	out[k] = '\0';
	if (k < len) {
		while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
			out[--k] = '\0';
		if (k > 0 && (unsigned char)out[k - 1] >= 0xC0)
			out[--k] = '\0';
	}
}

/* What Telegram said when it refused, with a hint at the setting to check. */
static mc_code telegram_refused(const alert_reply *r, mc_error *err)
{
	json_t *j =
		r->body.len ? json_loadb((const char *)r->body.data, r->body.len, 0, NULL) : NULL;
	const char *desc = json_string_value(json_object_get(j, "description"));
	json_t *params = json_object_get(j, "parameters");
	json_int_t migrate = json_integer_value(json_object_get(params, "migrate_to_chat_id"));
	char d[240] = "";
	if (desc)
		snippet(desc, strlen(desc), d, 200);
	char hint[160] = "";
	if (migrate)
		snprintf(hint, sizeof hint,
			 " (the group is now the supergroup %lld: set MILKCAST_TELEGRAM_CHAT_ID to "
			 "it)",
			 (long long)migrate);
	else if (r->status == 401)
		snprintf(hint, sizeof hint,
			 " (check MILKCAST_TELEGRAM_TOKEN or TELEGRAM_BOT_TOKEN)");
	else if (r->status == 404)
		snprintf(hint, sizeof hint, " (check the bot token and MILKCAST_TELEGRAM_API)");
	else if (r->status == 403)
		snprintf(hint, sizeof hint,
			 " (the bot cannot write to MILKCAST_TELEGRAM_CHAT_ID: add it to the chat "
			 "or "
			 "unblock it)");
	else if (r->status == 400 && desc && strstr(desc, "chat not found"))
		snprintf(hint, sizeof hint, " (check MILKCAST_TELEGRAM_CHAT_ID)");
	char tries[48] = "";
	if (r->attempts > 1)
		snprintf(tries, sizeof tries, " after %d attempts", r->attempts);
	mc_code code = r->status == 401 || r->status == 403 || r->status == 404 || r->status == 400
			       ? MC_ERR_INVALID
			       : MC_ERR_NETWORK;
	if (r->status >= 200 && r->status < 300)
		mc_fail(err, MC_ERR_FORMAT, "HTTP %ld without {\"ok\": true} in the reply%s",
			r->status, tries);
	else
		mc_fail(err, code, "HTTP %ld%s%s%s%s%s", r->status, desc ? " \"" : "", d,
			desc ? "\"" : "", hint, tries);
	json_decref(j);
	return err->code;
}

static bool telegram_ok(const alert_reply *r)
{
	if (r->status != 200)
		return false;
	json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
	bool ok = json_is_true(json_object_get(j, "ok"));
	json_decref(j);
	return ok;
}

static mc_code send_telegram(mc_alerter *al, const mc_alert *a, mc_alert_delivery *d,
			     bool *truncated, mc_error *err)
{
	mc_buf text = MC_BUF_INIT, body = MC_BUF_INIT;
	alert_reply r;
	alert_reply_init(&r);
	mc_code rc = alert_telegram_text(a, MC_ALERT_TELEGRAM_LIMIT, &text, truncated, err);
	if (!rc && alert_telegram_units((const char *)text.data) > MC_ALERT_TELEGRAM_LIMIT)
		rc = mc_fail(err, MC_ERR_LIMIT, "the message is over Telegram's limit");
	if (!rc)
		rc = alert_telegram_body(al->tg_chat, (const char *)text.data, &body, err);
	if (!rc)
		rc = alert_http_post(al->http, al->tg_url, NULL, "telegram sendMessage",
				     (const char *)body.data, &r, err);
	d->attempts = r.attempts;
	d->http_status = r.status;
	if (!rc && !telegram_ok(&r))
		rc = telegram_refused(&r, err);
	if (rc)
		mc_error_prefix(err, "Telegram: ");
	alert_reply_release(&r);
	mc_buf_release(&text);
	mc_buf_release(&body);
	return rc;
}

static mc_code send_webhook(mc_alerter *al, const mc_alert *a, const char *key, int64_t now,
			    mc_alert_delivery *d, mc_error *err)
{
	mc_buf body = MC_BUF_INIT;
	alert_reply r;
	alert_reply_init(&r);
	mc_code rc = alert_webhook_body(a, key, now, &body, err);
	if (!rc)
		rc = alert_http_post(al->http, al->hook_url, al->hook_token, al->hook_name,
				     (const char *)body.data, &r, err);
	d->attempts = r.attempts;
	d->http_status = r.status;
	if (!rc && (r.status < 200 || r.status > 299)) {
		char s[160];
		snippet(r.body.data, r.body.len, s, 120);
		char tries[48] = "";
		if (r.attempts > 1)
			snprintf(tries, sizeof tries, " after %d attempts", r.attempts);
		rc = mc_fail(err,
			     r.status >= 400 && r.status < 500 ? MC_ERR_INVALID : MC_ERR_NETWORK,
			     "HTTP %ld%s%s%s%s", r.status,
			     r.status >= 300 && r.status < 400 ? " (a redirect: give the final URL)"
							       : "",
			     tries, s[0] ? ": " : "", s);
	}
	if (rc)
		mc_error_prefix(err, "%s: ", al->hook_name);
	alert_reply_release(&r);
	mc_buf_release(&body);
	return rc;
}

static void format_window(int64_t ms, char *out, size_t n)
{
	if (ms % 3600000 == 0)
		snprintf(out, n, "%lld h", (long long)(ms / 3600000));
	else if (ms % 60000 == 0)
		snprintf(out, n, "%lld min", (long long)(ms / 60000));
	else
		snprintf(out, n, "%.3g s", (double)ms / 1000);
}

static void deliver(mc_alerter *al, mc_alert_channel ch, const mc_alert *a, const char *key,
		    int64_t now, mc_alert_delivery *d, bool *truncated)
{
	const char *name = mc_alert_channel_name(ch);
	alert_claim c;
	mc_error e = MC_ERROR_INIT;
	if (alert_ledger_claim(al->ledger, name, a, key, now, al->cfg.window_ms, &c, &e))
		logf_(al, "alert %s: %s; sending without the dedup check", a->rule, e.msg);
	if (c.suppressed) {
		char when[32], win[32];
		alert_format_time(c.earlier_at, when, sizeof when);
		format_window(al->cfg.window_ms, win, sizeof win);
		d->status = MC_ALERT_SUPPRESSED;
		d->sent_at_ms = c.earlier_at;
		logf_(al, "alert %s (%s): not sent to %s again, it was at %s (window %s)", a->rule,
		      key, name, when, win);
		return;
	}
	mc_error_clear(&e);
	mc_code rc = ch == MC_ALERT_TELEGRAM ? send_telegram(al, a, d, truncated, &e)
					     : send_webhook(al, a, key, now, d, &e);
	if (rc) {
		redact(al, e.msg, sizeof e.msg);
		d->status = MC_ALERT_FAILED;
		d->code = rc;
		snprintf(d->error, sizeof d->error, "%s", e.msg);
		logf_(al, "alert %s: not sent: %s", a->rule, e.msg);
	} else {
		d->status = MC_ALERT_SENT;
		d->sent_at_ms = now;
		logf_(al, "alert %s: sent to %s (%d attempt%s)", a->rule, name, d->attempts,
		      d->attempts == 1 ? "" : "s");
	}
	mc_error_clear(&e);
	if (alert_ledger_finish(al->ledger, name, key, &c, d, now_ms(al), &e))
		logf_(al, "alert %s: %s", a->rule, e.msg);
}

mc_code mc_alert_send(mc_alerter *al, const mc_alert *a, mc_alert_outcome *out, mc_error *err)
{
	*out = (mc_alert_outcome){0};
	mc_code rc = check_alert(a, err);
	if (rc)
		return rc;
	const char *key = a->dedup_key && a->dedup_key[0] ? a->dedup_key : a->rule;
	int64_t now = now_ms(al);
	if (!al->has[MC_ALERT_TELEGRAM] && !al->has[MC_ALERT_WEBHOOK]) {
		out->logged_only = true;
		char *title = alert_clean_text(a->title, false);
		logf_(al, "alert %s [%s]: %s (no alert channel is configured: logged only)",
		      a->rule, mc_alert_severity_name(a->severity), title ? title : a->title);
		free(title);
		mc_error e = MC_ERROR_INIT;
		if (alert_ledger_logged(al->ledger, a, key, now, &e))
			logf_(al, "alert %s: %s", a->rule, e.msg);
		return MC_OK;
	}
	for (int ch = 0; ch < MC_ALERT_NCHANNELS; ch++) {
		if (!al->has[ch])
			continue;
		mc_alert_delivery *d = &out->channel[ch];
		out->configured++;
		deliver(al, (mc_alert_channel)ch, a, key, now, d, &out->truncated);
		out->sent += d->status == MC_ALERT_SENT;
		out->suppressed += d->status == MC_ALERT_SUPPRESSED;
		out->failed += d->status == MC_ALERT_FAILED;
	}
	if (!out->failed)
		return MC_OK;
	/* "cannot send alert 'rule': Telegram: HTTP 401 …; webhook https://h: HTTP 500 …" */
	char msg[MC_ERRMSG_MAX] = "";
	for (int ch = 0; ch < MC_ALERT_NCHANNELS; ch++) {
		const mc_alert_delivery *d = &out->channel[ch];
		if (d->status != MC_ALERT_FAILED)
			continue;
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof msg - n, "%s%s", n ? "; " : "", d->error);
	}
	/* Always MC_ERR_NETWORK, so that MC_ERR_INVALID means a bad alert; d->code says more. */
	return mc_fail(err, MC_ERR_NETWORK, "cannot send alert '%s': %s", a->rule, msg);
}
