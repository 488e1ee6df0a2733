/*
 * The alert channels' HTTP client: one JSON POST over libcurl, retried on
 * transport errors, 5xx and 429 with Telegram's retry_after honoured.  The
 * URL may hold a secret (the bot token is part of Telegram's path), so logs
 * and errors name the request by the caller's `name`, never by its URL;
 * the bearer token only goes into curl's header list, wiped when freed.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "alert/alert_int.h"

#define REPLY_MAX ((size_t)64 << 10)

struct alert_http {
	alert_http_opts o;
	CURL *curl;
	uint64_t rng;
	char errbuf[CURL_ERROR_SIZE];
};

/* What one attempt produced besides the body. */
typedef struct attempt {
	CURLcode cc;
	long retry_after_ms; /* from the header or the body; 0 = none */
	alert_reply *r;
} attempt;

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
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(h);
		return mc_fail(err, MC_ERR_NETWORK, "cannot initialise libcurl");
	}
	if (!(h->curl = curl_easy_init())) {
		curl_global_cleanup();
		free(h);
		return mc_fail(err, MC_ERR_NOMEM, "cannot create a libcurl handle");
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	h->rng = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40;
	*out = h;
	return MC_OK;
}

void alert_http_free(alert_http *h)
{
	if (!h)
		return;
	curl_easy_cleanup(h->curl);
	curl_global_cleanup();
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

/* --- one attempt ------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	attempt *x = user;
	size_t n = size * nmemb;
	/* A reply past the cap is cut, not failed: only its start is ever read. */
	if (x->r->body.len + n > REPLY_MAX)
		return n;
	return mc_buf_append(&x->r->body, data, n) ? 0 : n;
}

/* Retry-After in seconds (an HTTP date is left to the backoff). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	attempt *x = user;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0) {
		char v[32];
		snprintf(v, sizeof v, "%.*s", (int)(n - (sizeof name - 1)), data + sizeof name - 1);
		char *end;
		long s = strtol(v, &end, 10);
		if (end != v && s > 0 && s < 86400)
			x->retry_after_ms = s * 1000;
	}
	return n;
}

/* Telegram says how long to wait in the body: {"parameters": {"retry_after": N}}. */
static long body_retry_after_ms(const alert_reply *r)
{
	if (r->body.len == 0)
		return 0;
	json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
	json_t *v = json_object_get(json_object_get(j, "parameters"), "retry_after");
	double s = json_is_number(v) ? json_number_value(v) : 0;
	json_decref(j);
	return s > 0 && s < 86400 ? (long)ceil(s * 1000) : 0;
}

static void perform(alert_http *h, const char *url, struct curl_slist *headers, const char *json,
		    attempt *x)
{
	CURL *c = h->curl;
	mc_buf_reset(&x->r->body);
	x->retry_after_ms = 0;
	h->errbuf[0] = '\0';
	curl_easy_reset(c); /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirected POST is not resent */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "milkcast/" MC_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, h->o.timeout_s < 10 ? h->o.timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, h->o.timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
	x->cc = curl_easy_perform(c);
	x->r->status = 0;
	if (x->cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->r->status);
	long from_body = x->cc == CURLE_OK && x->r->status == 429 ? body_retry_after_ms(x->r) : 0;
	if (from_body > 0)
		x->retry_after_ms = from_body;
}

/* Failures worth another attempt: the network or the server may do better later. */
static bool transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return true;
	default: return false;
	}
}

/* splitmix64: jitter only needs to differ between processes, not to be secret. */
static uint32_t next_random(alert_http *h)
{
	uint64_t z = (h->rng += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Half to all of backoff · 2^retry, capped. */
static long backoff(alert_http *h, int retry)
{
	long cap = h->o.backoff_ms;
	for (int i = 0; i < retry && cap < h->o.backoff_max_ms; i++)
		cap *= 2;
	if (cap > h->o.backoff_max_ms)
		cap = h->o.backoff_max_ms;
	if (cap < 2)
		return cap;
	return cap / 2 + (long)(next_random(h) % (uint32_t)(cap / 2 + 1));
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The attempt's result in words, for logs and errors (never the URL). */
static void describe(const alert_http *h, const attempt *x, char *out, size_t cap)
{
	if (x->cc == CURLE_OK)
		snprintf(out, cap, "HTTP %ld", x->r->status);
	else if (x->cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(out, cap, "timed out after %ld s", h->o.timeout_s);
	else
		snprintf(out, cap, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(x->cc));
}

static struct curl_slist *make_headers(const char *bearer)
{
	struct curl_slist *l = NULL, *t;
	const char *fixed[] = {"Content-Type: application/json", "Accept: application/json",
			       "Expect:"};
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
		if (!(t = curl_slist_append(l, fixed[i])))
			goto fail;
		l = t;
	}
	if (bearer && *bearer) {
		size_t n = strlen(bearer) + 32;
		char *line = malloc(n);
		if (!line)
			goto fail;
		snprintf(line, n, "Authorization: Bearer %s", bearer);
		t = curl_slist_append(l, line);
		memset(line, 0, n);
		free(line);
		if (!t)
			goto fail;
		l = t;
	}
	return l;
fail:
	curl_slist_free_all(l);
	return NULL;
}

static void free_headers(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		for (volatile char *p = i->data; *p; p++)
			*p = '\0';
	curl_slist_free_all(l);
}

mc_code alert_http_post(alert_http *h, const char *url, const char *bearer, const char *name,
			const char *json, alert_reply *r, mc_error *err)
{
	struct curl_slist *headers = make_headers(bearer);
	if (!headers)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	attempt x = {.r = r};
	int total = h->o.retries + 1;
	mc_code rc = MC_OK;
	for (r->attempts = 1;; r->attempts++) {
		perform(h, url, headers, json, &x);
		char what[CURL_ERROR_SIZE + 64];
		describe(h, &x, what, sizeof what);
		bool again =
			x.cc == CURLE_OK ? r->status == 429 || r->status >= 500 : transient(x.cc);
		if (again && r->status == 429 && x.retry_after_ms > h->o.retry_after_max_s * 1000) {
			logf_(h, "%s: %s asking to retry after %.0f s (attempt %d of %d)", name,
			      what, (double)x.retry_after_ms / 1000, r->attempts, total);
			rc = mc_fail(err, MC_ERR_NETWORK,
				     "%s asking to retry after %.0f s, more than the %ld s allowed",
				     what, (double)x.retry_after_ms / 1000, h->o.retry_after_max_s);
			break;
		}
		if (!again || r->attempts >= total) {
			logf_(h, "%s: %s (attempt %d of %d)", name, what, r->attempts, total);
			if (x.cc != CURLE_OK)
				rc = mc_fail(err, MC_ERR_NETWORK, "%s (%d attempt%s)", what,
					     r->attempts, r->attempts == 1 ? "" : "s");
			break;
		}
		long delay = x.retry_after_ms > 0 ? x.retry_after_ms : backoff(h, r->attempts - 1);
		if (delay > h->o.retry_after_max_s * 1000) /* a 503's Retry-After */
			delay = h->o.retry_after_max_s * 1000;
		logf_(h, "%s: %s (attempt %d of %d); retrying in %.1f s%s", name, what, r->attempts,
		      total, (double)delay / 1000,
		      x.retry_after_ms > 0 ? " as the server asks" : "");
		sleep_ms(delay);
	}
	free_headers(headers);
	return rc;
}
