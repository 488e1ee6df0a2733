/*
 * The MLflow REST client of the export: JSON requests over libcurl with
 * bearer or basic auth, retries with backoff on transport errors, 5xx and 429,
 * and errors naming the endpoint with the server's error_code and message.
 * Credentials go only into curl's options; they are never formatted into a
 * message.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "track/mlflow_int.h"

#define REPLY_MAX ((size_t)16 << 20)
#define RETRY_AFTER_MAX_S 30

struct mlflow_client {
	CURL *curl;
	char *base;
	struct curl_slist *headers; /* holds the bearer token, if any */
	char *username, *password;
	int retries;
	long backoff_ms, timeout_s;
	uint64_t rng;
	char errbuf[CURL_ERROR_SIZE];
};

typedef struct exchange {
	mc_buf body;
	long retry_after_s;
} exchange;

static void wipe_free(char *s)
{
	if (!s)
		return;
	volatile char *p = s;
	while (*p)
		*p++ = '\0';
	free(s);
}

void mlflow_client_free(mlflow_client *c)
{
	if (!c)
		return;
	if (c->curl) {
		curl_easy_cleanup(c->curl);
		curl_global_cleanup();
	}
	/* The Authorization line is wiped before it is freed. */
	for (struct curl_slist *l = c->headers; l; l = l->next)
		for (volatile char *p = l->data; *p; p++)
			*p = '\0';
	curl_slist_free_all(c->headers);
	wipe_free(c->username);
	wipe_free(c->password);
	free(c->base);
	free(c);
}

static mc_code add_header(mlflow_client *c, const char *line)
{
	struct curl_slist *l = curl_slist_append(c->headers, line);
	if (!l)
		return MC_ERR_NOMEM;
	c->headers = l;
	return MC_OK;
}

/* As MLflow's own client: basic auth when a username and a password are set, else a token. */
static mc_code set_auth(mlflow_client *c, const mc_mlflow_opts *o)
{
	if (o->username && *o->username && o->password && *o->password) {
		c->username = strdup(o->username);
		c->password = strdup(o->password);
		return c->username && c->password ? MC_OK : MC_ERR_NOMEM;
	}
	if (!o->token || !*o->token)
		return MC_OK;
	size_t n = strlen(o->token) + 32;
	char *line = malloc(n);
	if (!line)
		return MC_ERR_NOMEM;
	snprintf(line, n, "Authorization: Bearer %s", o->token);
	mc_code rc = add_header(c, line);
	wipe_free(line);
	return rc;
}

mc_code mlflow_client_new(const mc_mlflow_opts *o, const char *base, mlflow_client **out,
			  mc_error *err)
{
	*out = NULL;
	mlflow_client *c = calloc(1, sizeof *c);
	if (!c || !(c->base = strdup(base))) {
		free(c);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	c->retries = o->retries < 0 ? 0 : o->retries;
	c->backoff_ms = o->backoff_ms > 0 ? o->backoff_ms : 1;
	c->timeout_s = o->timeout_s > 0 ? o->timeout_s : 60;
	mc_code rc = add_header(c, "Content-Type: application/json");
	if (!rc)
		rc = add_header(c, "Accept: application/json");
	if (!rc)
		rc = add_header(c, "Expect:");
	if (!rc)
		rc = set_auth(c, o);
	if (rc) {
		mlflow_client_free(c);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		mlflow_client_free(c);
		return mc_fail(err, MC_ERR_NETWORK, "cannot initialise libcurl");
	}
	if (!(c->curl = curl_easy_init())) {
		curl_global_cleanup();
		mlflow_client_free(c);
		return mc_fail(err, MC_ERR_NOMEM, "cannot create a libcurl handle");
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->rng = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40;
	*out = c;
	return MC_OK;
}

void mlflow_reply_release(mlflow_reply *r)
{
	json_decref(r->body);
	*r = (mlflow_reply){0};
}

char *mlflow_query_param(const char *name, const char *value)
{
	char *enc = curl_easy_escape(NULL, value, 0);
	if (!enc)
		return NULL;
	size_t n = strlen(name) + strlen(enc) + 2;
	char *q = malloc(n);
	if (q)
		snprintf(q, n, "%s=%s", name, enc);
	curl_free(enc);
	return q;
}

/* --- one exchange ------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	exchange *x = user;
	return mc_buf_append(&x->body, data, size * nmemb) ? 0 : size * nmemb;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	exchange *x = user;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";
	if (n > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0) {
		char v[32];
		snprintf(v, sizeof v, "%.*s", (int)(n - (sizeof name - 1)), data + sizeof name - 1);
		x->retry_after_s = strtol(v, NULL, 10);
	}
	return n;
}

static void set_options(mlflow_client *c, const char *url, const char *method, const char *body,
			exchange *x)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "milkcast/" MC_VERSION);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout_s < 15 ? c->timeout_s : 15L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	if (c->username) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
	}
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "{}");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(body ? body : "{}"));
	}
}

static uint32_t next_random(mlflow_client *c)
{
	uint64_t z = (c->rng += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

/* Retry-After when the server gave one (capped), else half to all of base * 2^retry (10 s cap). */
static void wait_before_retry(mlflow_client *c, int retry, long retry_after_s)
{
	long ms;
	if (retry_after_s > 0) {
		ms = (retry_after_s < RETRY_AFTER_MAX_S ? retry_after_s : RETRY_AFTER_MAX_S) * 1000;
	} else {
		long cap = c->backoff_ms << (retry < 12 ? retry : 12);
		if (cap > 10000)
			cap = 10000;
		ms = cap / 2 + (long)(next_random(c) % (uint32_t)(cap / 2 + 1));
	}
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

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
	case CURLE_SSL_CONNECT_ERROR: return true;
	default: return false;
	}
}

/* --- replies ------------------------------------------------------------------ */

/* A failed call: "POST http://h/api/2.0/mlflow/runs/create: HTTP 400 INVALID_PARAMETER_VALUE: ...".
 */
static mc_code http_error(const char *method, const char *path, const exchange *x, mlflow_reply *r,
			  int attempts, mc_error *err)
{
	json_t *j =
		x->body.len ? json_loadb((const char *)x->body.data, x->body.len, 0, NULL) : NULL;
	const char *code = json_string_value(json_object_get(j, "error_code"));
	const char *msg = json_string_value(json_object_get(j, "message"));
	if (code)
		snprintf(r->error_code, sizeof r->error_code, "%s", code);
	char detail[320] = "", hint[96] = "";
	if (code || msg)
		snprintf(detail, sizeof detail, " %s%s%.260s", code ? code : "", msg ? ": " : "",
			 msg ? msg : "");
	else if (r->status < 300 || r->status >= 400)
		snprintf(detail, sizeof detail, " (not an MLflow error reply)");
	if (r->status >= 300 && r->status < 400)
		snprintf(hint, sizeof hint, " (a redirect: give the final URL)");
	else if (r->status == 401 || r->status == 403)
		snprintf(hint, sizeof hint,
			 " (check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD)");
	else if (r->status == 404 && (!code || strcmp(code, "RESOURCE_DOES_NOT_EXIST")))
		snprintf(hint, sizeof hint, " (is the URL the tracking server's base?)");
	json_decref(j);
	mc_code c = r->status == 404   ? MC_ERR_NOT_FOUND
		    : r->status == 400 ? MC_ERR_INVALID
				       : MC_ERR_NETWORK;
	return mc_fail(err, c, "%s %s: HTTP %ld%s%s%s", method, path, r->status, detail, hint,
		       attempts > 1 ? " (after retries)" : "");
}

static mc_code take_reply(const char *method, const char *path, exchange *x, mlflow_reply *r,
			  int attempts, mc_error *err)
{
	if (r->status < 200 || r->status >= 300)
		return http_error(method, path, x, r, attempts, err);
	json_error_t je;
	r->body = x->body.len ? json_loadb((const char *)x->body.data, x->body.len, 0, &je)
			      : json_object();
	if (!json_is_object(r->body)) {
		json_decref(r->body);
		r->body = NULL;
		return mc_fail(err, MC_ERR_FORMAT,
			       "%s %s: HTTP %ld with a reply that is not a JSON "
			       "object",
			       method, path, r->status);
	}
	return MC_OK;
}

static void perform_once(mlflow_client *c, const char *url, const char *method, const char *body,
			 exchange *x, mlflow_reply *r, CURLcode *cc)
{
	mc_buf_reset(&x->body);
	x->retry_after_s = 0;
	c->errbuf[0] = '\0';
	set_options(c, url, method, body, x);
	*cc = curl_easy_perform(c->curl);
	r->status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
}

mc_code mlflow_call(mlflow_client *c, const char *method, const char *endpoint, const char *query,
		    const char *body, mlflow_reply *r, int *attempts, mc_error *err)
{
	*r = (mlflow_reply){0};
	*attempts = 0;
	mc_buf url = MC_BUF_INIT;
	if (mc_buf_printf(&url, "%s" MLFLOW_API_PATH "%s%s%s", c->base, endpoint, query ? "?" : "",
			  query ? query : "")) {
		mc_buf_release(&url);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	const char *u = (const char *)url.data;
	exchange x = {.retry_after_s = 0};
	mc_buf_init(&x.body, REPLY_MAX);
	CURLcode cc = CURLE_OK;
	int n = 0;
	for (;;) {
		n++;
		perform_once(c, u, method, body, &x, r, &cc);
		bool again = cc == CURLE_OK ? r->status == 429 || r->status >= 500 : transient(cc);
		if (!again || n > c->retries)
			break;
		wait_before_retry(c, n - 1, x.retry_after_s);
	}
	*attempts = n;
	mc_code rc;
	if (cc == CURLE_WRITE_ERROR)
		rc = mc_fail(err, MC_ERR_LIMIT, "%s %s: the reply exceeds %zu bytes", method, u,
			     REPLY_MAX);
	else if (cc != CURLE_OK)
		rc = mc_fail(err, MC_ERR_NETWORK, "%s %s: %s (%d attempt%s)", method, u,
			     c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc), n,
			     n == 1 ? "" : "s");
	else
		rc = take_reply(method, u, &x, r, n, err);
	mc_buf_release(&x.body);
	mc_buf_release(&url);
	return rc;
}
