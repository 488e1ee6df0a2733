/*
 * The alert channels' HTTP client: one JSON POST through src/http, retried on
 * transport errors, 5xx and 429 with Telegram's retry_after honoured.  The
 * URL may hold a secret (the bot token is part of Telegram's path), so logs
 * and errors name the request by the caller's `name`, never by its URL;
 * the bearer token only goes into the request's header line, wiped after.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"
#include "milkcast/httpc.h"

#define REPLY_MAX ((size_t)64 << 10)
#define CONNECT_TIMEOUT_MAX_S 10L

struct alert_http {
	alert_http_opts o;
	mc_httpc *http;
};

/* What the judge of one POST needs. */
typedef struct post {
	alert_http *h;
	const char *name;
} post;

static void logf_(const alert_http *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(const alert_http *h, const char *fmt, ...)
{
	if (!h->o.log)
		return;
	char line[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	h->o.log(h->o.log_user, line);
}

mc_code alert_http_new(const alert_http_opts *o, alert_http **out, mc_error *err)
{
	*out = NULL;
	alert_http *h = calloc(1, sizeof *h);
	if (!h)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	h->o = *o;
	mc_code rc = mc_httpc_new(&h->http, err);
	if (rc) {
		free(h);
		return rc;
	}
	*out = h;
	return MC_OK;
}

void alert_http_free(alert_http *h)
{
	if (!h)
		return;
	mc_httpc_free(h->http);
	free(h);
}

void alert_reply_init(alert_reply *r)
{
	*r = (alert_reply){0};
	mc_buf_init(&r->body, REPLY_MAX);
}

void alert_reply_release(alert_reply *r)
{
	mc_buf_release(&r->body);
}

/* --- the retry policy ---------------------------------------------------------------- */

/* Telegram says how long to wait in the body: {"parameters": {"retry_after": N}}. */
static long body_retry_after_ms(const mc_buf *body)
{
	if (body->len == 0)
		return 0;
	json_t *j = json_loadb((const char *)body->data, body->len, 0, NULL);
	json_t *v = json_object_get(json_object_get(j, "parameters"), "retry_after");
	double s = json_is_number(v) ? json_number_value(v) : 0;
	json_decref(j);
	return s > 0 && s < 86400 ? (long)ceil(s * 1000) : 0;
}

/* How long the server asks to wait (ms, 0 = no wish): Telegram's retry_after in a 429's
 * body, else Retry-After (seconds or an HTTP date, under a day). */
static long retry_after_ms(const mc_httpc_resp *r)
{
	if (r->failure != MC_HTTPC_NONE)
		return 0;
	long from_body = r->status == 429 ? body_retry_after_ms(&r->body) : 0;
	if (from_body > 0)
		return from_body;
	return r->retry_after_s > 0 && r->retry_after_s < 86400 ? r->retry_after_s * 1000 : 0;
}

/* The attempt's result in words, for logs and errors (never the URL). */
static void describe(const alert_http *h, const mc_httpc_resp *r, char *out, size_t cap)
{
	if (r->failure == MC_HTTPC_NONE)
		snprintf(out, cap, "HTTP %ld", r->status);
	else if (r->failure == MC_HTTPC_TIMEOUT)
		snprintf(out, cap, "timed out after %ld s", h->o.timeout_s);
	else
		snprintf(out, cap, "%s", r->detail);
}

/*
 * After each attempt: a 429 asking for more than retry_after_max_s ends the
 * request; a retry waits what the server asks (else the backoff), at most
 * retry_after_max_s; a transport failure on the last attempt is an error.
 */
static mc_code judge(void *user, const mc_httpc_resp *r, long *delay_ms, mc_error *err)
{
	const post *p = user;
	alert_http *h = p->h;
	int total = h->o.retries + 1;
	char what[sizeof r->detail + 64];
	describe(h, r, what, sizeof what);
	long asked = retry_after_ms(r), max_ms = h->o.retry_after_max_s * 1000;
	if (mc_httpc_retryable(r) && r->status == 429 && asked > max_ms) {
		logf_(h, "%s: %s asking to retry after %.0f s (attempt %d of %d)", p->name, what,
		      (double)asked / 1000, r->attempts, total);
		return mc_fail(err, MC_ERR_NETWORK,
			       "%s asking to retry after %.0f s, more than the %ld s allowed", what,
			       (double)asked / 1000, h->o.retry_after_max_s);
	}
	if (*delay_ms < 0) {
		logf_(h, "%s: %s (attempt %d of %d)", p->name, what, r->attempts, total);
		if (r->failure != MC_HTTPC_NONE)
			return mc_fail(err, MC_ERR_NETWORK, "%s (%d attempt%s)", what, r->attempts,
				       r->attempts == 1 ? "" : "s");
		return MC_OK;
	}
	if (asked > 0)
		*delay_ms = asked;
	if (*delay_ms > max_ms) /* a 503's Retry-After */
		*delay_ms = max_ms;
	logf_(h, "%s: %s (attempt %d of %d); retrying in %.1f s%s", p->name, what, r->attempts,
	      total, (double)*delay_ms / 1000, asked > 0 ? " as the server asks" : "");
	return MC_OK;
}

mc_code alert_http_post(alert_http *h, const char *url, const char *bearer, const char *name,
			const char *json, alert_reply *r, mc_error *err)
{
	const char *headers[3] = {"Content-Type: application/json", "Accept: application/json"};
	size_t n_headers = 2, auth_len = bearer && *bearer ? strlen(bearer) + 32 : 0;
	char *auth = auth_len ? malloc(auth_len) : NULL;
	if (auth_len && !auth)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (auth) {
		snprintf(auth, auth_len, "Authorization: Bearer %s", bearer);
		headers[n_headers++] = auth;
	}
	mc_httpc_req q = {
		.method = "POST",
		.url = url,
		.name = name,
		.headers = headers,
		.n_headers = n_headers,
		.body = json,
		.body_len = strlen(json),
		.connect_timeout_ms =
			(h->o.timeout_s < CONNECT_TIMEOUT_MAX_S ? h->o.timeout_s
								: CONNECT_TIMEOUT_MAX_S) *
			1000,
		.timeout_ms = h->o.timeout_s * 1000,
		/* A reply past the cap is cut, not failed: only its start is ever read. */
		.max_body = REPLY_MAX,
		.cut_body = true,
	};
	post p = {h, name};
	mc_httpc_retry policy = {.retries = h->o.retries,
				 .backoff_ms = h->o.backoff_ms,
				 .backoff_max_ms = h->o.backoff_max_ms,
				 .judge = judge,
				 .user = &p};
	mc_httpc_resp x;
	mc_httpc_resp_init(&x);
	mc_code rc = mc_httpc_send(h->http, &q, &policy, &x, err);
	r->attempts = x.attempts;
	r->status = x.failure == MC_HTTPC_NONE ? x.status : 0;
	mc_buf_release(&r->body);
	r->body = x.body;
	r->body.max = REPLY_MAX;
	mc_buf_init(&x.body, 0);
	mc_httpc_resp_release(&x);
	if (auth)
		explicit_bzero(auth, auth_len);
	free(auth);
	return rc;
}
