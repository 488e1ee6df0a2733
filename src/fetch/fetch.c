/* The HTTP side of fetching: requests with retries through src/http, then the body is checked
 * and stored. */
#include "milkcast/fetch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/httpc.h"

struct mc_fetcher {
	mc_fetch_opts opts;
	char *base_url;
	mc_httpc *http;
};

/* What the judge of one request (HEAD or GET, with its retries) needs. */
typedef struct fetch_try {
	mc_fetcher *f;
	const char *method, *url;
	mc_fetch_result *res;
} fetch_try;

static int global_refs;

mc_code mc_fetch_global_init(mc_error *err)
{
	if (global_refs == 0) {
		mc_code rc = mc_httpc_load(err);
		if (rc)
			return rc;
	}
	global_refs++;
	return MC_OK;
}

/* libcurl itself stays loaded until the process ends (src/http). */
void mc_fetch_global_cleanup(void)
{
	if (global_refs > 0)
		global_refs--;
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
	if (!f->base_url) {
		mc_fetcher_free(f);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	if ((rc = mc_httpc_new(&f->http, err))) {
		mc_fetcher_free(f);
		return rc;
	}
	*out = f;
	return MC_OK;
}

void mc_fetcher_free(mc_fetcher *f)
{
	if (!f)
		return;
	mc_httpc_free(f->http);
	free(f->base_url);
	free(f);
}

/* --- one request, with retries ---------------------------------------------- */

/* A transport failure in words, for logs and the error message. */
static void describe_failure(const mc_fetcher *f, const mc_httpc_resp *r, char *out, size_t cap)
{
	bool too_large = r->failure == MC_HTTPC_TOO_LARGE;
	if (too_large && f->opts.max_bytes % ((size_t)1 << 20) == 0)
		snprintf(out, cap, "the body exceeds the %zu MiB size cap",
			 f->opts.max_bytes >> 20);
	else if (too_large)
		snprintf(out, cap, "the body exceeds the %zu-byte size cap", f->opts.max_bytes);
	else if (r->failure == MC_HTTPC_TIMEOUT)
		snprintf(out, cap, "timed out after %ld s (%s)", f->opts.timeout_s, r->detail);
	else if (r->failure == MC_HTTPC_TRUNCATED)
		snprintf(out, cap, "truncated download, the connection closed early (%s)",
			 r->detail);
	else
		snprintf(out, cap, "%s", r->detail);
}

static void log_outcome(const fetch_try *t, const mc_httpc_resp *r, const char *what)
{
	const mc_fetcher *f = t->f;
	const char *type = mc_httpc_header(r, "Content-Type");
	if (r->failure != MC_HTTPC_NONE || t->method[0] == 'H')
		logf_(f, "%s %s: %s (attempt %d of %d)", t->method, t->url, what, r->attempts,
		      f->opts.retries + 1);
	else
		logf_(f, "%s %s: %s, %zu bytes, Content-Type %s (attempt %d of %d)", t->method,
		      t->url, what, r->body.len, type ? type : "absent", r->attempts,
		      f->opts.retries + 1);
}

/*
 * After each attempt: count and log it; a retry waits at least what
 * Retry-After asks, unless it asks for more than retry_after_max_s, which
 * ends the fetch; the last failed attempt's error.
 */
static mc_code judge(void *user, const mc_httpc_resp *r, long *delay_ms, mc_error *err)
{
	fetch_try *t = user;
	mc_fetcher *f = t->f;
	t->res->requests++;
	char what[sizeof r->detail + 128];
	if (r->failure == MC_HTTPC_NONE) {
		t->res->http_status = r->status;
		snprintf(what, sizeof what, "HTTP %ld", r->status);
	} else {
		describe_failure(f, r, what, sizeof what);
	}
	bool asks = *delay_ms >= 0 && r->failure == MC_HTTPC_NONE && r->retry_after_s > 0;
	if (asks && r->retry_after_s > f->opts.retry_after_max_s) {
		log_outcome(t, r, what);
		return mc_fail(err, MC_ERR_NETWORK,
			       "%s with Retry-After %ld s (more than %ld s); giving up", what,
			       r->retry_after_s, f->opts.retry_after_max_s);
	}
	if (asks && r->retry_after_s * 1000 > *delay_ms)
		*delay_ms = r->retry_after_s * 1000;
	if (*delay_ms >= 0) {
		logf_(f, "%s %s: %s (attempt %d of %d); retrying in %.1f s%s", t->method, t->url,
		      what, r->attempts, f->opts.retries + 1, (double)*delay_ms / 1000,
		      asks ? " as Retry-After asks" : "");
		return MC_OK;
	}
	log_outcome(t, r, what);
	if (r->failure == MC_HTTPC_NONE)
		return MC_OK;
	if (r->attempts > 1)
		return mc_fail(err, MC_ERR_NETWORK, "%s (%d attempts)", what, r->attempts);
	return mc_fail(err, r->failure == MC_HTTPC_TOO_LARGE ? MC_ERR_LIMIT : MC_ERR_NETWORK, "%s",
		       what);
}

/*
 * One request, retried on transport failures, 5xx and 429.  MC_OK when an
 * HTTP status came back (any status: the caller judges it), else an error.
 */
static mc_code request(mc_fetcher *f, const char *method, const char *url, mc_httpc_resp *r,
		       mc_fetch_result *res, mc_error *err)
{
	const mc_fetch_opts *o = &f->opts;
	long connect_s = o->connect_timeout_s < o->timeout_s ? o->connect_timeout_s : o->timeout_s;
	mc_httpc_req q = {
		.method = method,
		.url = url,
		.connect_timeout_ms = connect_s * 1000,
		.timeout_ms = o->timeout_s * 1000,
		.max_redirects = o->max_redirects,
		.max_body = o->max_bytes,
	};
	fetch_try t = {f, method, url, res};
	mc_httpc_retry p = {.retries = o->retries,
			    .backoff_ms = o->backoff_ms,
			    .backoff_max_ms = o->backoff_max_ms,
			    .judge = judge,
			    .user = &t};
	return mc_httpc_send(f->http, &q, &p, r, err);
}

/* --- a publication ---------------------------------------------------------- */

static bool unpublished(long status)
{
	return status == 404 || status == 403 || status == 410;
}

static mc_code bad_status(const mc_httpc_resp *r, mc_error *err)
{
	if (r->status == 429 || r->status >= 500)
		return mc_fail(err, MC_ERR_NETWORK, "server error HTTP %ld after %d attempt%s",
			       r->status, r->attempts, r->attempts == 1 ? "" : "s");
	return mc_fail(err, MC_ERR_NETWORK, "unexpected HTTP status %ld", r->status);
}

static void log_redirect(mc_fetcher *f, const mc_httpc_resp *r, const char *url)
{
	long n = r->redirects;
	const char *effective = r->final_url;
	if (n > 0 && effective && strcmp(effective, url) != 0)
		logf_(f, "followed %ld redirect%s to %s", n, n == 1 ? "" : "s", effective);
}

/* HEAD (or GET when HEAD is refused) then GET; leaves the body of a 200 in r. */
static mc_code download(mc_fetcher *f, mc_fetch_result *res, mc_httpc_resp *r, mc_error *err)
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
	log_redirect(f, r, res->url);
	if (unpublished(r->status)) {
		res->status = MC_FETCH_NOT_PUBLISHED;
		return MC_OK;
	}
	return r->status == 200 ? MC_OK : bad_status(r, err);
}

static mc_code check_and_store(mc_fetcher *f, const char *raw_dir, const mc_httpc_resp *r,
			       mc_fetch_result *res, mc_error *err)
{
	if (r->content_length >= 0 && (uint64_t)r->content_length != (uint64_t)r->body.len)
		return mc_fail(err, MC_ERR_NETWORK,
			       "truncated download: received %zu of %lld announced bytes",
			       r->body.len, (long long)r->content_length);
	mc_code rc = mc_fetch_check_content_type(mc_httpc_header(r, "Content-Type"), err);
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
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	rc = download(f, res, &r, err);
	if (!rc && res->status != MC_FETCH_NOT_PUBLISHED)
		rc = check_and_store(f, raw_dir, &r, res, err);
	mc_httpc_resp_release(&r);
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
