/*
 * One HTTP request over libcurl (see milkcast/httpc.h): the options, the
 * body and header callbacks, and the outcome in an mc_httpc_resp.  Header
 * lines are copied into a curl list per request and wiped when it is freed,
 * since they may carry credentials.  The CA file may come from the
 * environment (ca_file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "http/http_int.h"
#include "milkcast/httpc.h"

struct mc_httpc {
	const http_curl *api;
	CURL *curl;
	uint64_t rng;
	char errbuf[CURL_ERROR_SIZE];
};

/* What the callbacks of one transfer write into. */
typedef struct transfer {
	const mc_httpc_req *q;
	mc_httpc_resp *r;
	bool over_cap, no_memory;
} transfer;

mc_code mc_httpc_new(mc_httpc **out, mc_error *err)
{
	*out = NULL;
	mc_code rc = mc_httpc_load(err);
	if (rc)
		return rc;
	mc_httpc *c = calloc(1, sizeof *c);
	if (!c)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	c->api = http_curl_get(NULL);
	if (!(c->curl = c->api->easy_init())) {
		free(c);
		return mc_fail(err, MC_ERR_NOMEM, "cannot create a libcurl handle");
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->rng = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40 ^
		 (uint64_t)(uintptr_t)c;
	*out = c;
	return MC_OK;
}

void mc_httpc_free(mc_httpc *c)
{
	if (!c)
		return;
	c->api->easy_cleanup(c->curl);
	free(c);
}

/* splitmix64: jitter only needs to differ between clients, not to be secret. */
uint32_t mc_httpc_random(mc_httpc *c)
{
	uint64_t z = (c->rng += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

void mc_httpc_resp_init(mc_httpc_resp *r)
{
	*r = (mc_httpc_resp){.content_length = -1};
	mc_buf_init(&r->body, 0);
	mc_buf_init(&r->headers, 0);
}

void mc_httpc_resp_release(mc_httpc_resp *r)
{
	mc_buf_release(&r->body);
	mc_buf_release(&r->headers);
	free(r->final_url);
	r->final_url = NULL;
}

/* Headers are kept as "name\0value\0" pairs; a repeated name: the last one. */
const char *mc_httpc_header(const mc_httpc_resp *r, const char *name)
{
	const char *p = (const char *)r->headers.data, *found = NULL;
	const char *end = p ? p + r->headers.len : NULL;
	while (p && p < end) {
		const char *v = p + strlen(p) + 1;
		if (strcasecmp(p, name) == 0)
			found = v;
		p = v + strlen(v) + 1;
	}
	return found;
}

/* --- callbacks ------------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	transfer *t = user;
	size_t n = size * nmemb, take = n;
	mc_buf *b = &t->r->body;
	if (t->q->cut_body && t->q->max_body) {
		size_t room = b->len < t->q->max_body ? t->q->max_body - b->len : 0;
		take = n < room ? n : room;
	}
	mc_code rc = mc_buf_append(b, data, take);
	if (rc == MC_OK)
		return n;
	if (rc == MC_ERR_LIMIT)
		t->over_cap = true;
	else
		t->no_memory = true;
	return 0; /* aborts the transfer */
}

/* Every response (redirects, 1xx) starts over with its status line; the last one stays. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	transfer *t = user;
	size_t n = size * nmemb;
	mc_buf *h = &t->r->headers;
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		mc_buf_reset(h);
		return n;
	}
	const char *colon = memchr(data, ':', n), *end = data + n;
	if (!colon || colon == data)
		return n;
	const char *v = colon + 1;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (mc_buf_append(h, data, (size_t)(colon - data)) || mc_buf_putc(h, '\0') ||
	    mc_buf_append(h, v, (size_t)(end - v)) || mc_buf_putc(h, '\0')) {
		t->no_memory = true;
		return 0;
	}
	return n;
}

/* --- options ----------------------------------------------------------------------- */

/* Typed, since the function pointer does not get curl.h's setopt type checks. */
static void set_long(mc_httpc *c, CURLoption o, long v)
{
	c->api->easy_setopt(c->curl, o, v);
}

static void set_ptr(mc_httpc *c, CURLoption o, const void *v)
{
	c->api->easy_setopt(c->curl, o, v);
}

static void set_off(mc_httpc *c, CURLoption o, curl_off_t v)
{
	c->api->easy_setopt(c->curl, o, v);
}

static void wipe_list(mc_httpc *c, struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		for (volatile char *p = i->data; *p; p++)
			*p = '\0';
	c->api->slist_free_all(l);
}

/* The caller's lines and "Expect:"; NULL when out of memory. */
static struct curl_slist *header_list(mc_httpc *c, const mc_httpc_req *q)
{
	struct curl_slist *l = NULL;
	for (size_t i = 0; i <= q->n_headers; i++) {
		struct curl_slist *t =
			c->api->slist_append(l, i < q->n_headers ? q->headers[i] : "Expect:");
		if (!t) {
			wipe_list(c, l);
			return NULL;
		}
		l = t;
	}
	return l;
}

static void set_method(mc_httpc *c, const mc_httpc_req *q)
{
	const char *m = q->method ? q->method : "GET";
	if (strcmp(m, "GET") == 0) {
		set_long(c, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcmp(m, "HEAD") == 0) {
		set_long(c, CURLOPT_NOBODY, 1L);
		return;
	}
	bool post = strcmp(m, "POST") == 0;
	if (!post)
		set_ptr(c, CURLOPT_CUSTOMREQUEST, m);
	if (q->body || post) {
		set_ptr(c, CURLOPT_POSTFIELDS, q->body ? q->body : "");
		set_off(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	}
}

static void set_limits(mc_httpc *c, const mc_httpc_req *q)
{
	if (q->connect_timeout_ms > 0)
		set_long(c, CURLOPT_CONNECTTIMEOUT_MS, q->connect_timeout_ms);
	if (q->timeout_ms > 0)
		set_long(c, CURLOPT_TIMEOUT_MS, q->timeout_ms);
	if (q->max_redirects > 0) {
		set_long(c, CURLOPT_FOLLOWLOCATION, 1L);
		set_long(c, CURLOPT_MAXREDIRS, q->max_redirects);
	}
	/* An announced larger body (a HEAD's too) fails before it is read. */
	if (q->max_body && !q->cut_body)
		set_off(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)q->max_body);
	if (q->username) {
		set_long(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		set_ptr(c, CURLOPT_USERNAME, q->username);
		set_ptr(c, CURLOPT_PASSWORD, q->password ? q->password : "");
	}
}

/*
 * The CA file, as the curl tool picks it: $CURL_CA_BUNDLE, else $SSL_CERT_FILE; neither set (or
 * empty): libcurl's built-in default, which is the build system's path (Debian's libcurl:
 * /etc/ssl/certs/ca-certificates.crt, a file Amazon Linux lacks).
 */
static const char *ca_file(void)
{
	static const char *const vars[] = {"CURL_CA_BUNDLE", "SSL_CERT_FILE"};
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
		const char *v = secure_getenv(vars[i]);
		if (v && *v)
			return v;
	}
	return NULL;
}

static void set_options(mc_httpc *c, const mc_httpc_req *q, struct curl_slist *headers, transfer *t)
{
	c->api->easy_reset(c->curl); /* keeps the connection cache */
	set_ptr(c, CURLOPT_URL, q->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	set_ptr(c, CURLOPT_PROTOCOLS_STR, "http,https");
	set_ptr(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	set_long(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	set_long(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	set_ptr(c, CURLOPT_HTTPHEADER, headers);
	set_ptr(c, CURLOPT_USERAGENT, "milkcast/" MC_VERSION);
	set_long(c, CURLOPT_NOSIGNAL, 1L);
	const char *ca = ca_file();
	if (ca)
		set_ptr(c, CURLOPT_CAINFO, ca);
	set_ptr(c, CURLOPT_ERRORBUFFER, c->errbuf);
	c->api->easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	set_ptr(c, CURLOPT_WRITEDATA, t);
	c->api->easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	set_ptr(c, CURLOPT_HEADERDATA, t);
	set_method(c, q);
	set_limits(c, q);
}

/* --- one request ------------------------------------------------------------------- */

static void reset(mc_httpc_resp *r, const mc_httpc_req *q)
{
	r->status = 0;
	r->failure = MC_HTTPC_NONE;
	r->detail[0] = '\0';
	mc_buf_reset(&r->body);
	r->body.max = q->max_body;
	r->content_length = -1;
	r->retry_after_s = 0;
	r->redirects = 0;
	free(r->final_url);
	r->final_url = NULL;
	r->attempts = 1;
	mc_buf_reset(&r->headers);
}

static void read_info(mc_httpc *c, mc_httpc_resp *r)
{
	curl_off_t length = -1, retry_after = 0;
	char *url = NULL;
	c->api->easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	c->api->easy_getinfo(c->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
	c->api->easy_getinfo(c->curl, CURLINFO_RETRY_AFTER, &retry_after);
	c->api->easy_getinfo(c->curl, CURLINFO_REDIRECT_COUNT, &r->redirects);
	if (r->redirects > 0 &&
	    c->api->easy_getinfo(c->curl, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url)
		r->final_url = strdup(url);
	r->content_length = length;
	r->retry_after_s = retry_after > 0 ? (long)retry_after : 0;
}

static mc_httpc_failure classify(CURLcode cc, const transfer *t)
{
	if (t->over_cap || cc == CURLE_FILESIZE_EXCEEDED)
		return MC_HTTPC_TOO_LARGE;
	switch (cc) {
	case CURLE_OK: return t->no_memory ? MC_HTTPC_FAILED : MC_HTTPC_NONE;
	case CURLE_OPERATION_TIMEDOUT: return MC_HTTPC_TIMEOUT;
	case CURLE_PARTIAL_FILE: return MC_HTTPC_TRUNCATED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM: return MC_HTTPC_TRANSIENT;
	default: return MC_HTTPC_FAILED;
	}
}

static mc_code failed(const mc_httpc_req *q, const mc_httpc_resp *r, bool no_memory, mc_error *err)
{
	const char *method = q->method ? q->method : "GET", *who = q->name ? q->name : q->url;
	if (r->failure == MC_HTTPC_TOO_LARGE)
		return mc_fail(err, MC_ERR_LIMIT, "%s %s: the response exceeds %zu bytes", method,
			       who, q->max_body);
	return mc_fail(err, no_memory ? MC_ERR_NOMEM : MC_ERR_NETWORK, "%s %s: %s", method, who,
		       r->detail);
}

mc_code mc_httpc_perform(mc_httpc *c, const mc_httpc_req *q, mc_httpc_resp *r, mc_error *err)
{
	reset(r, q);
	transfer t = {.q = q, .r = r};
	struct curl_slist *headers = header_list(c, q);
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	c->errbuf[0] = '\0';
	if (headers) {
		set_options(c, q, headers, &t);
		cc = c->api->easy_perform(c->curl);
		wipe_list(c, headers);
		read_info(c, r);
	} else {
		t.no_memory = true;
	}
	r->failure = classify(cc, &t);
	if (r->failure == MC_HTTPC_NONE)
		return MC_OK;
	snprintf(r->detail, sizeof r->detail, "%s",
		 t.no_memory	? "out of memory"
		 : c->errbuf[0] ? c->errbuf
				: c->api->easy_strerror(cc));
	return failed(q, r, t.no_memory, err);
}

/* --- URLs ---------------------------------------------------------------------------- */

mc_code mc_httpc_escape(mc_buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			     (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
			     *p == '~';
		char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
		mc_code rc = plain ? mc_buf_putc(out, *p) : mc_buf_append(out, enc, 3);
		if (rc)
			return rc;
	}
	return MC_OK;
}
