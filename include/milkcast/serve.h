/*
 * Online inference: a request → response router that knows nothing of
 * sockets, and an HTTP transport (libmicrohttpd) in front of it.  The
 * router is what any transport calls: `milkcast serve` through
 * mc_http_server_start(), an AWS Lambda runtime by filling an
 * mc_http_request from the event and turning the mc_http_response into the
 * reply.
 *
 * The router serves one model at a time: the registry's champion (or a
 * bundle directory), with the price panel built from the bundle's snapshot,
 * or from the workspace's lake when that holds data at least as new.  The
 * forecasts of every series for the next publications after the latest
 * data are computed when the model is loaded; other as-of dates are
 * computed on demand (and kept in a small cache).  mc_router_reload() loads
 * a new model fully, then swaps it in atomically; requests in flight finish
 * on the model they started with (reference counts).  A model that fails to
 * load is refused and the old one keeps serving.
 *
 * Threads: mc_router_handle() may be called from any number of threads at
 * once; mc_router_reload() from one thread at a time (it serialises itself).
 * docs/internals/serve.md describes the routes, errors and metrics.
 */
#ifndef MILKCAST_SERVE_H
#define MILKCAST_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "milkcast/error.h"

/* ---- transport-independent requests and responses ---- */

typedef struct mc_http_header {
	const char *name;
	const char *value;
} mc_http_header;

typedef struct mc_http_request {
	const char *method; /* "GET", "POST", ... (case-sensitive, as HTTP) */
	const char *path;   /* "/v1/predict": no query string, not percent-decoded */
	const char *query;  /* raw query string without '?', percent-encoded; NULL = none */
	const mc_http_header *headers; /* at least Authorization when sent; names any case */
	size_t nheaders;
	const void *body; /* NULL when empty */
	size_t body_len;
	/* The transport stopped reading a body larger than mc_router_max_body(). */
	bool body_too_large;
} mc_http_request;

#define MC_HTTP_MAX_HEADERS 4

typedef struct mc_http_response {
	int status;
	const char *content_type; /* static string */
	char *body;		  /* malloc'd, NUL-terminated; owned by the response */
	size_t body_len;
	mc_http_header
		headers[MC_HTTP_MAX_HEADERS]; /* extra headers (Allow, ...): static strings */
	size_t nheaders;
	const char *route; /* the route's label in metrics ("unmatched" when none): static */
} mc_http_response;

/* Free the body; the response can be reused. */
void mc_http_response_release(mc_http_response *resp);
/* A request header by name, case-insensitively; NULL when absent. */
const char *mc_http_request_header(const mc_http_request *req, const char *name);

/* ---- the router ---- */

typedef struct mc_router mc_router;

typedef struct mc_router_opts {
	const char *home;	 /* workspace: registry, lake, prediction log; NULL = none */
	const char *model_dir;	 /* serve this bundle; NULL = the registry's champion */
	const char *model_name;	 /* registered model (MC_MODEL_NAME) */
	const char *admin_token; /* bearer token of /admin/ routes; NULL or "" = disabled */
	const char *lake_uri;	 /* a remote lake (MILKCAST_LAKE) pulled into home's before
				    each load and poll; NULL = the local lake only */
	size_t max_body;	 /* request body limit in bytes (1 MiB) */
	size_t max_instances;	 /* instances per /v1/predict request (1000) */
	bool use_lake;		 /* read the workspace's lake when it has newer data (true) */
	bool prediction_log;	 /* log predictions to HOME/predictions/ (true; needs home) */
	size_t log_queue;	 /* prediction log queue capacity in entries (4096) */
} mc_router_opts;

void mc_router_opts_init(mc_router_opts *o);

/* Create the router and load its model; an error names what could not be loaded. */
mc_code mc_router_new(const mc_router_opts *o, mc_router **out, mc_error *err);
/* Stops the prediction log writer after it has written what is queued. */
void mc_router_free(mc_router *r);

/*
 * Answer one request.  Never fails: every outcome, bad input included, is a
 * response (JSON errors {"error":{"code":...,"message":...}}).  Counts the
 * request in the metrics.  The caller releases resp.
 */
void mc_router_handle(mc_router *r, const mc_http_request *req, mc_http_response *resp);

/*
 * Check the model source (champion alias, bundle directory, lake) and load
 * the model again when it changed, or always when `force`.  *swapped tells
 * whether a new model now serves.  On error the old model keeps serving, the
 * failure is counted (milkcast_model_reloads_total{result="failure"}) and
 * the same source is not retried until it changes or `force`.
 */
mc_code mc_router_reload(mc_router *r, bool force, bool *swapped, mc_error *err);

size_t mc_router_max_body(const mc_router *r);
/* While draining, /readyz answers 503 (a graceful stop is under way). */
void mc_router_set_draining(mc_router *r, bool draining);
/* "milkcast-forecast version 3, 193 series as of 2025-03-31" for logs. */
void mc_router_describe(mc_router *r, char *out, size_t cap);

/* ---- the HTTP transport ---- */

typedef struct mc_http_server mc_http_server;

typedef struct mc_http_opts {
	const char *listen; /* "HOST:PORT", "[V6]:PORT" or "PORT" (127.0.0.1:8080); port 0 = any */
	int threads;	    /* polling threads, each with its own epoll (1 = no pool) */
	int timeout_s;	    /* idle or slow connections are closed after this (10) */
	int access_log_fd;  /* one JSON line per request; -1 = none */
	unsigned max_conns; /* concurrent connections (1024) */
} mc_http_opts;

void mc_http_opts_init(mc_http_opts *o);

/* Listen and serve r from background threads; r must outlive the server. */
mc_code mc_http_server_start(mc_router *r, const mc_http_opts *o, mc_http_server **out,
			     mc_error *err);
/* The port listened on (the one chosen when 0 was asked). */
unsigned mc_http_server_port(const mc_http_server *s);
/*
 * Graceful stop: stop accepting, let requests in flight finish (at most
 * grace_s seconds), close every connection, free the server.
 */
void mc_http_server_stop(mc_http_server *s, double grace_s);

#endif
