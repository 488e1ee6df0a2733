/*
 * The HTTP client of every module (src/http): the only code that calls
 * libcurl.  Fetching SNIIM, S3, the MLflow export, the alert channels and the
 * Lambda Runtime API all send their requests through it.
 *
 * libcurl is not linked: the first mc_httpc_new() (or mc_httpc_load()) loads
 * libcurl.so.4 with dlopen, once per process (pthread_once), resolves the
 * functions it needs and runs curl_global_init.  A process that makes no
 * request never maps libcurl and the 17 libraries it pulls in.  When libcurl
 * cannot be loaded every request fails with MC_ERR_UNSUPPORTED and a message
 * saying so; MILKCAST_LIBCURL names another file to load instead.
 *
 * A client is one libcurl easy handle (connections are kept between its
 * requests), used by one thread at a time; clients may run in parallel.
 * Every request: http and https only (redirects too), User-Agent
 * milkcast/VERSION, no "Expect: 100-continue", no signals; proxies and TLS
 * verification as libcurl's defaults.
 */
#ifndef MILKCAST_HTTPC_H
#define MILKCAST_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"

typedef struct mc_httpc mc_httpc;

/* Why no HTTP status came back. */
typedef enum mc_httpc_failure {
	MC_HTTPC_NONE = 0,  /* a status came back (any: the caller judges it) */
	MC_HTTPC_TRANSIENT, /* cannot resolve or connect, send/receive error, nothing received,
			       TLS handshake, HTTP/2 stream error: worth another attempt */
	MC_HTTPC_TIMEOUT,   /* the attempt ran out of time (worth another attempt) */
	MC_HTTPC_TRUNCATED, /* closed before Content-Length bytes came (worth another attempt) */
	MC_HTTPC_TOO_LARGE, /* the body is, or is announced, over max_body (MC_ERR_LIMIT) */
	MC_HTTPC_FAILED,    /* anything else: too many redirects, certificates, no memory… */
} mc_httpc_failure;

typedef struct mc_httpc_req {
	const char *method;	    /* "GET" (also NULL), "HEAD", "POST", "PUT", "DELETE"… */
	const char *url;	    /* http:// or https:// */
	const char *name;	    /* stands for the URL in messages (it may hold a secret) */
	const char *const *headers; /* n_headers "Name: value" lines, wiped after use */
	size_t n_headers;
	const void *body; /* borrowed, body_len bytes; NULL = none (a POST sends an empty one) */
	size_t body_len;
	const char *username, *password; /* HTTP basic auth when username is set */
	long connect_timeout_ms;	 /* 0 = libcurl's default */
	long timeout_ms;		 /* the whole attempt; 0 = no limit */
	long max_redirects;		 /* followed; 0 = a 3xx is the answer */
	size_t max_body;		 /* response body cap, 0 = none (see cut_body) */
	bool cut_body;			 /* keep the first max_body bytes instead of failing */
} mc_httpc_req;

typedef struct mc_httpc_resp {
	long status;		  /* the final response's; 0 when none came back */
	mc_httpc_failure failure; /* MC_HTTPC_NONE when a status came back */
	char detail[256];	  /* libcurl's words for a failure, "" when none */
	mc_buf body;
	int64_t content_length; /* announced by the final response, -1 when not */
	long retry_after_s;	/* its Retry-After (seconds or an HTTP date), 0 = none */
	long redirects;		/* followed */
	char *final_url;	/* where the redirects led (malloc'd), NULL when none */
	int attempts;		/* requests made by mc_httpc_send (perform: 1) */
	mc_buf headers;		/* the final response's headers (see mc_httpc_header) */
} mc_httpc_resp;

/* Load libcurl now (once per process; later calls return the first outcome). */
mc_code mc_httpc_load(mc_error *err);
/* libcurl's version ("7.88.1"), loading it if needed; "unavailable" when it cannot be. */
const char *mc_httpc_curl_version(void);

mc_code mc_httpc_new(mc_httpc **out, mc_error *err);
void mc_httpc_free(mc_httpc *c);

void mc_httpc_resp_init(mc_httpc_resp *r);
void mc_httpc_resp_release(mc_httpc_resp *r);
/* A header of the final response (name in any case), trimmed; NULL when absent. */
const char *mc_httpc_header(const mc_httpc_resp *r, const char *name);

/*
 * One request; r is reset first.  MC_OK when a status came back, whatever it
 * is.  Otherwise r->failure says why and err names the method and the URL
 * (or q->name): MC_ERR_LIMIT for MC_HTTPC_TOO_LARGE, MC_ERR_NETWORK else.
 */
mc_code mc_httpc_perform(mc_httpc *c, const mc_httpc_req *q, mc_httpc_resp *r, mc_error *err);

/* --- retries ----------------------------------------------------------------------- */

/* A transport failure worth another attempt, or HTTP 429 or 5xx. */
bool mc_httpc_retryable(const mc_httpc_resp *r);
/* The wait before retry number `retry` (0-based): d = min(base·2^retry, max), jittered
 * into [d/2, d] by rnd; 0 when base_ms <= 0. */
long mc_httpc_backoff_ms(long base_ms, long max_ms, int retry, uint32_t rnd);
/* The client's jitter: splitmix64 seeded from time, pid and address (not a secret). */
uint32_t mc_httpc_random(mc_httpc *c);
void mc_httpc_sleep_ms(long ms);

/*
 * Called after every attempt of mc_httpc_send with the wait proposed before
 * the next one (-1: no next attempt).  It may change the wait (-1 stops),
 * log, or return an error (with err filled) that ends the request with it.
 */
typedef mc_code (*mc_httpc_judge_fn)(void *user, const mc_httpc_resp *r, long *delay_ms,
				     mc_error *err);

typedef struct mc_httpc_retry {
	int retries;			 /* attempts after the first */
	long backoff_ms, backoff_max_ms; /* see mc_httpc_backoff_ms */
	mc_httpc_judge_fn judge;	 /* optional */
	void *user;
} mc_httpc_retry;

/*
 * mc_httpc_perform, repeated while the outcome is mc_httpc_retryable and
 * retries remain, after the backoff (or what the judge makes of it).  MC_OK
 * when a status came back; a transport failure's message ends with
 * "(N attempts)".
 */
mc_code mc_httpc_send(mc_httpc *c, const mc_httpc_req *q, const mc_httpc_retry *p, mc_httpc_resp *r,
		      mc_error *err);

/* Percent-encode s (RFC 3986: all but A-Z a-z 0-9 - . _ ~) onto out. */
mc_code mc_httpc_escape(mc_buf *out, const char *s);

#endif
