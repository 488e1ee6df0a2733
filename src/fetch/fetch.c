/* The HTTP side of fetching: libcurl requests with retries, then the body is checked and stored. */
#include "milkcast/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"

struct mc_fetcher {
	mc_fetch_opts opts;
	char *base_url;
	CURL *curl;
	uint64_t rng;
	char errbuf[CURL_ERROR_SIZE];
};

/* What one HTTP exchange produced. */
typedef struct reply {
	CURLcode cc;
	long status;
	curl_off_t content_length; /* -1 = not announced */
	curl_off_t retry_after;	   /* seconds, 0 = none */
	char content_type[128];
	bool has_content_type;
	bool over_cap;
	int attempts;
	mc_buf body;
} reply;

static int global_refs;

mc_code mc_fetch_global_init(mc_error *err)
{
	if (global_refs == 0) {
		CURLcode cc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (cc != CURLE_OK)
			return mc_fail(err, MC_ERR_NETWORK, "cannot initialise libcurl: %s",
				       curl_easy_strerror(cc));
	}
	global_refs++;
	return MC_OK;
}

void mc_fetch_global_cleanup(void)
{
	if (global_refs > 0 && --global_refs == 0)
		curl_global_cleanup();
}

void mc_fetch_opts_init(mc_fetch_opts *o)
{
	*o = (mc_fetch_opts){
		.base_url = NULL,
		.timeout_s = 60,
		.connect_timeout_s = 15,
		.retries = 3,
		.backoff_ms = 500,
		.backoff_max_ms = 8000,
		.retry_after_max_s = 30,
		.max_bytes = MC_FETCH_DEFAULT_MAX_BYTES,
		.max_redirects = 5,
	};
}

const char *mc_fetch_status_name(mc_fetch_status s)
{
	switch (s) {
	case MC_FETCH_FAILED: return "failed";
	case MC_FETCH_FETCHED: return "fetched";
	case MC_FETCH_UNCHANGED: return "unchanged";
	case MC_FETCH_REPLACED: return "replaced";
	case MC_FETCH_CONFLICT: return "conflict";
	case MC_FETCH_NOT_PUBLISHED: return "not_published";
	}
	return "failed";
}

void mc_fetch_result_release(mc_fetch_result *r)
{
	free(r->url);
	free(r->path);
	r->url = r->path = NULL;
}

static void logf_(const mc_fetcher *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void logf_(const mc_fetcher *f, const char *fmt, ...)
{
	if (!f->opts.log)
		return;
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	f->opts.log(f->opts.log_user, line);
}

/* splitmix64: jitter only needs to differ between processes, not to be secret. */
static uint32_t next_random(mc_fetcher *f)
{
	uint64_t z = (f->rng += 0x9E3779B97F4A7C15u);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static mc_code check_opts(const mc_fetch_opts *o, mc_error *err)
{
	if (o->timeout_s <= 0 || o->connect_timeout_s <= 0)
		return mc_fail(err, MC_ERR_INVALID, "fetch timeouts must be positive");
	if (o->retries < 0 || o->backoff_ms < 0 || o->max_redirects < 0)
		return mc_fail(err, MC_ERR_INVALID, "fetch retries and backoff cannot be negative");
	if (o->max_bytes == 0)
		return mc_fail(err, MC_ERR_INVALID, "the fetch size cap must be positive");
	return MC_OK;
}

mc_code mc_fetcher_new(const mc_fetch_opts *opts, mc_fetcher **out, mc_error *err)
{
	*out = NULL;
	if (global_refs == 0)
		return mc_fail(err, MC_ERR_INVALID, "mc_fetch_global_init() was not called");
	mc_code rc = check_opts(opts, err);
	if (rc)
		return rc;
	mc_fetcher *f = calloc(1, sizeof *f);
	if (!f)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	f->opts = *opts;
	f->base_url = strdup(opts->base_url ? opts->base_url : MC_FETCH_DEFAULT_BASE_URL);
	f->curl = curl_easy_init();
	if (!f->base_url || !f->curl) {
		mc_fetcher_free(f);
		return mc_fail(err, MC_ERR_NOMEM, "cannot create a libcurl handle");
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	f->rng = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 20 ^ (uint64_t)getpid() << 40;
	*out = f;
	return MC_OK;
}

void mc_fetcher_free(mc_fetcher *f)
{
	if (!f)
		return;
	if (f->curl)
		curl_easy_cleanup(f->curl);
	free(f->base_url);
	free(f);
}

/* --- one HTTP exchange ---------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	reply *r = user;
	size_t n = size * nmemb;
	if (mc_buf_append(&r->body, data, n) != MC_OK) {
		r->over_cap = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	return n;
}

static void set_options(mc_fetcher *f, const char *url, bool head, reply *r)
{
	CURL *c = f->curl;
	long connect_s = f->opts.connect_timeout_s < f->opts.timeout_s ? f->opts.connect_timeout_s
								       : f->opts.timeout_s;
	curl_easy_reset(c); /* keeps the connection cache */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, head ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, f->opts.max_redirects);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_USERAGENT, "milkcast/" MC_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, f->opts.timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, f->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->opts.max_bytes);
}

static void read_info(mc_fetcher *f, reply *r)
{
	r->status = 0;
	r->content_length = -1;
	r->retry_after = 0;
	r->has_content_type = false;
	curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_getinfo(f->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &r->content_length);
	curl_easy_getinfo(f->curl, CURLINFO_RETRY_AFTER, &r->retry_after);
	char *ct = NULL;
	if (curl_easy_getinfo(f->curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct) {
		snprintf(r->content_type, sizeof r->content_type, "%s", ct);
		r->has_content_type = true;
	}
}

static void perform(mc_fetcher *f, const char *url, bool head, reply *r)
{
	mc_buf_reset(&r->body);
	r->over_cap = false;
	f->errbuf[0] = '\0';
	set_options(f, url, head, r);
	r->cc = curl_easy_perform(f->curl);
	read_info(f, r);
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

static bool over_cap(const reply *r)
{
	return r->over_cap || r->cc == CURLE_FILESIZE_EXCEEDED;
}

/* A transport failure in words, for logs and the error message. */
static void describe_failure(const mc_fetcher *f, const reply *r, char *out, size_t cap)
{
	const char *detail = f->errbuf[0] ? f->errbuf : curl_easy_strerror(r->cc);
	if (over_cap(r) && f->opts.max_bytes % ((size_t)1 << 20) == 0)
		snprintf(out, cap, "the body exceeds the %zu MiB size cap",
			 f->opts.max_bytes >> 20);
	else if (over_cap(r))
		snprintf(out, cap, "the body exceeds the %zu-byte size cap", f->opts.max_bytes);
	else if (r->cc == CURLE_OPERATION_TIMEDOUT)
		snprintf(out, cap, "timed out after %ld s (%s)", f->opts.timeout_s, detail);
	else if (r->cc == CURLE_PARTIAL_FILE)
		snprintf(out, cap, "truncated download, the connection closed early (%s)", detail);
	else
		snprintf(out, cap, "%s", detail);
}

/* The wait before the next attempt, or -1 when Retry-After asks for too long. */
static long retry_delay(mc_fetcher *f, const reply *r, int attempt)
{
	long delay = mc_fetch_backoff_ms(&f->opts, attempt - 1, next_random(f));
	if (r->cc != CURLE_OK || r->retry_after <= 0)
		return delay;
	if (r->retry_after > f->opts.retry_after_max_s)
		return -1;
	long asked = (long)r->retry_after * 1000;
	return asked > delay ? asked : delay;
}

static void log_outcome(const mc_fetcher *f, const char *method, const char *url, const reply *r,
			const char *what)
{
	if (r->cc != CURLE_OK || method[0] == 'H')
		logf_(f, "%s %s: %s (attempt %d of %d)", method, url, what, r->attempts,
		      f->opts.retries + 1);
	else
		logf_(f, "%s %s: %s, %zu bytes, Content-Type %s (attempt %d of %d)", method, url,
		      what, r->body.len, r->has_content_type ? r->content_type : "absent",
		      r->attempts, f->opts.retries + 1);
}

/*
 * One request, retried on transport failures, 5xx and 429.  MC_OK when an
 * HTTP status came back (any status: the caller judges it), else an error.
 */
static mc_code request(mc_fetcher *f, const char *method, const char *url, reply *r,
		       mc_fetch_result *res, mc_error *err)
{
	bool head = strcmp(method, "HEAD") == 0;
	for (r->attempts = 1;; r->attempts++) {
		perform(f, url, head, r);
		res->requests++;
		char what[CURL_ERROR_SIZE + 128];
		bool again;
		if (r->cc == CURLE_OK) {
			res->http_status = r->status;
			snprintf(what, sizeof what, "HTTP %ld", r->status);
			again = r->status == 429 || (r->status >= 500 && r->status <= 599);
		} else {
			describe_failure(f, r, what, sizeof what);
			again = transient(r->cc);
		}
		bool retry = again && r->attempts <= f->opts.retries;
		long delay = retry ? retry_delay(f, r, r->attempts) : 0;
		if (!retry || delay < 0) {
			log_outcome(f, method, url, r, what);
			if (retry)
				return mc_fail(
					err, MC_ERR_NETWORK,
					"%s with Retry-After %ld s (more than %ld s); giving up",
					what, (long)r->retry_after, f->opts.retry_after_max_s);
			if (r->cc == CURLE_OK)
				return MC_OK;
			if (r->attempts > 1)
				return mc_fail(err, MC_ERR_NETWORK, "%s (%d attempts)", what,
					       r->attempts);
			return mc_fail(err, over_cap(r) ? MC_ERR_LIMIT : MC_ERR_NETWORK, "%s",
				       what);
		}
		logf_(f, "%s %s: %s (attempt %d of %d); retrying in %.1f s%s", method, url, what,
		      r->attempts, f->opts.retries + 1, (double)delay / 1000,
		      r->cc == CURLE_OK && r->retry_after > 0 ? " as Retry-After asks" : "");
		sleep_ms(delay);
	}
}

/* --- a publication ---------------------------------------------------------- */

static bool unpublished(long status)
{
	return status == 404 || status == 403 || status == 410;
}

static mc_code bad_status(const reply *r, mc_error *err)
{
	if (r->status == 429 || r->status >= 500)
		return mc_fail(err, MC_ERR_NETWORK, "server error HTTP %ld after %d attempt%s",
			       r->status, r->attempts, r->attempts == 1 ? "" : "s");
	return mc_fail(err, MC_ERR_NETWORK, "unexpected HTTP status %ld", r->status);
}

static void log_redirect(mc_fetcher *f, const char *url)
{
	long n = 0;
	char *effective = NULL;
	curl_easy_getinfo(f->curl, CURLINFO_REDIRECT_COUNT, &n);
	curl_easy_getinfo(f->curl, CURLINFO_EFFECTIVE_URL, &effective);
	if (n > 0 && effective && strcmp(effective, url) != 0)
		logf_(f, "followed %ld redirect%s to %s", n, n == 1 ? "" : "s", effective);
}

/* HEAD (or GET when HEAD is refused) then GET; leaves the body of a 200 in r. */
static mc_code download(mc_fetcher *f, mc_fetch_result *res, reply *r, mc_error *err)
{
	mc_code rc = request(f, "HEAD", res->url, r, res, err);
	if (rc)
		return rc;
	if (unpublished(r->status)) {
		res->status = MC_FETCH_NOT_PUBLISHED;
		return MC_OK;
	}
	if (r->status == 405 || r->status == 501)
		logf_(f, "HEAD is not supported (HTTP %ld); asking with GET", r->status);
	else if (r->status < 200 || r->status > 299)
		return bad_status(r, err);
	rc = request(f, "GET", res->url, r, res, err);
	if (rc)
		return rc;
	log_redirect(f, res->url);
	if (unpublished(r->status)) {
		res->status = MC_FETCH_NOT_PUBLISHED;
		return MC_OK;
	}
	return r->status == 200 ? MC_OK : bad_status(r, err);
}

static mc_code check_and_store(mc_fetcher *f, const char *raw_dir, const reply *r,
			       mc_fetch_result *res, mc_error *err)
{
	if (r->content_length >= 0 && (uint64_t)r->content_length != (uint64_t)r->body.len)
		return mc_fail(err, MC_ERR_NETWORK,
			       "truncated download: received %zu of %lld announced bytes",
			       r->body.len, (long long)r->content_length);
	mc_code rc = mc_fetch_check_content_type(r->has_content_type ? r->content_type : NULL, err);
	if (!rc)
		rc = mc_fetch_check_xlsx(r->body.data, r->body.len, err);
	if (!rc)
		rc = mc_fetch_store(raw_dir, res->path, r->body.data, r->body.len, f->opts.force,
				    res, err);
	return rc;
}

static mc_code result_init(mc_fetcher *f, int32_t date, const char *raw_dir, mc_fetch_result *res,
			   mc_error *err)
{
	char name[24];
	mc_fetch_file_name(date, name);
	*res = (mc_fetch_result){.status = MC_FETCH_FAILED, .date = date};
	res->url = mc_fetch_url(f->base_url, date);
	res->path = mc_path_join(raw_dir, name);
	if (!res->url || !res->path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	return MC_OK;
}

mc_code mc_fetcher_get(mc_fetcher *f, int32_t date, const char *raw_dir, mc_fetch_result *res,
		       mc_error *err)
{
	mc_code rc = result_init(f, date, raw_dir, res, err);
	if (rc)
		return rc;
	reply r = {0};
	mc_buf_init(&r.body, f->opts.max_bytes);
	rc = download(f, res, &r, err);
	if (!rc && res->status != MC_FETCH_NOT_PUBLISHED)
		rc = check_and_store(f, raw_dir, &r, res, err);
	mc_buf_release(&r.body);
	if (rc) {
		char iso[11];
		mc_date_format_iso(date, iso);
		res->status = MC_FETCH_FAILED;
		mc_error_prefix(err, "cannot fetch %s from %s: ", iso, res->url);
	}
	return rc;
}

mc_code mc_fetch_publication(const mc_fetch_opts *opts, int32_t date, const char *raw_dir,
			     mc_fetch_result *res, mc_error *err)
{
	*res = (mc_fetch_result){.status = MC_FETCH_FAILED, .date = date};
	mc_fetcher *f;
	mc_code rc = mc_fetcher_new(opts, &f, err);
	if (rc)
		return rc;
	rc = mc_fetcher_get(f, date, raw_dir, res, err);
	mc_fetcher_free(f);
	return rc;
}
