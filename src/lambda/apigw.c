/*
 * Lambda events to router requests and back: API Gateway HTTP API payload
 * format 2.0 in, the 2.0 response out; any other JSON is a direct invocation,
 * routed as POST /v1/predict with the event as the body.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/lambda.h"
#include "milkcast/serve.h"

#define MAX_EVENT_HEADERS 64

/* Standard base64 (padding optional, no whitespace); -1 when malformed. */
static long base64_decode(const char *in, size_t n, uint8_t *out)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	while (n > 0 && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	long len = 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = in[i] ? strchr(alphabet, in[i]) : NULL;
		if (!p)
			return -1;
		acc = acc << 6 | (uint32_t)(p - alphabet);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (uint8_t)(acc >> bits);
		}
	}
	return len;
}

typedef struct event_request {
	mc_http_request req;
	mc_http_header headers[MAX_EVENT_HEADERS];
	char *path;	  /* owned: rawPath without the stage prefix */
	uint8_t *decoded; /* owned: a base64 body */
} event_request;

static void event_request_release(event_request *e)
{
	free(e->path);
	free(e->decoded);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* rawPath, without "/STAGE" when the stage is a named one (not $default). */
static mc_code event_path(json_t *ev, event_request *e, mc_error *err)
{
	const char *raw = str(ev, "rawPath");
	json_t *ctx = json_object_get(ev, "requestContext");
	if (!raw)
		raw = str(json_object_get(ctx, "http"), "path");
	if (!raw || raw[0] != '/')
		return mc_fail(err, MC_ERR_FORMAT, "event: rawPath is missing or not a path");
	const char *stage = str(ctx, "stage");
	size_t k = stage ? strlen(stage) : 0;
	if (stage && strcmp(stage, "$default") && !strncmp(raw + 1, stage, k) &&
	    (raw[k + 1] == '/' || raw[k + 1] == '\0'))
		raw += k + 1;
	e->path = strdup(*raw ? raw : "/");
	return e->path ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

static mc_code event_body(json_t *ev, event_request *e, mc_error *err)
{
	json_t *body = json_object_get(ev, "body");
	if (!body || json_is_null(body))
		return MC_OK;
	if (!json_is_string(body))
		return mc_fail(err, MC_ERR_FORMAT, "event: body is not a string");
	const char *text = json_string_value(body);
	size_t n = json_string_length(body);
	if (!json_is_true(json_object_get(ev, "isBase64Encoded"))) {
		e->req.body = text;
		e->req.body_len = n;
		return MC_OK;
	}
	if (!(e->decoded = malloc(n / 4 * 3 + 3)))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	long len = base64_decode(text, n, e->decoded);
	if (len < 0)
		return mc_fail(err, MC_ERR_FORMAT, "event: body is not valid base64");
	e->req.body = e->decoded;
	e->req.body_len = (size_t)len;
	return MC_OK;
}

/* An API Gateway v2.0 event as a router request; strings point into ev. */
static mc_code from_http_event(json_t *ev, event_request *e, mc_error *err)
{
	e->req.method =
		str(json_object_get(json_object_get(ev, "requestContext"), "http"), "method");
	if (!e->req.method)
		return mc_fail(err, MC_ERR_FORMAT, "event: requestContext.http.method is missing");
	mc_code rc = event_path(ev, e, err);
	if (rc)
		return rc;
	e->req.path = e->path;
	const char *q = str(ev, "rawQueryString");
	e->req.query = q && *q ? q : NULL;
	const char *name;
	json_t *v;
	json_object_foreach(json_object_get(ev, "headers"), name, v)
	{
		if (json_is_string(v) && e->req.nheaders < MAX_EVENT_HEADERS)
			e->headers[e->req.nheaders++] =
				(mc_http_header){name, json_string_value(v)};
	}
	e->req.headers = e->headers;
	return event_body(ev, e, err);
}

/* The 2.0 response: statusCode, headers, body (text), isBase64Encoded. */
static mc_code http_response(const mc_http_response *resp, mc_buf *out, mc_error *err)
{
	json_t *h = json_pack("{s:s}", "content-type",
			      resp->content_type ? resp->content_type : "application/json");
	for (size_t i = 0; h && i < resp->nheaders; i++)
		json_object_set_new(h, resp->headers[i].name, json_string(resp->headers[i].value));
	json_t *o = h ? json_pack("{s:i, s:o, s:s%, s:b}", "statusCode", resp->status, "headers", h,
				  "body", resp->body ? resp->body : "", resp->body_len,
				  "isBase64Encoded", 0)
		      : NULL;
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return mc_fail(err, MC_ERR_NOMEM, "cannot encode the response");
	mc_code rc = mc_buf_append(out, text, strlen(text));
	free(text);
	return rc ? mc_fail(err, rc, "response too large") : MC_OK;
}

/* A direct invocation answers the body itself; an HTTP error becomes the invocation's error. */
static mc_code direct_response(const mc_http_response *resp, mc_buf *out, mc_error *err)
{
	if (resp->status >= 400) {
		json_t *o = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
		const char *msg = str(json_object_get(o, "error"), "message");
		mc_fail(err, resp->status >= 500 ? MC_ERR_IO : MC_ERR_INVALID, "%d: %s",
			resp->status, msg ? msg : "request failed");
		json_decref(o);
		return err->code;
	}
	mc_code rc = mc_buf_append(out, resp->body ? resp->body : "", resp->body_len);
	return rc ? mc_fail(err, rc, "response too large") : MC_OK;
}

static bool is_http_event(json_t *ev)
{
	return json_is_object(json_object_get(ev, "requestContext")) &&
	       json_is_object(json_object_get(json_object_get(ev, "requestContext"), "http"));
}

mc_code mc_lambda_route(mc_router *r, const uint8_t *event, size_t n, mc_buf *out, mc_error *err)
{
	json_error_t je;
	json_t *ev = json_loadb((const char *)event, n, JSON_DECODE_ANY, &je);
	if (!ev)
		return mc_fail(err, MC_ERR_FORMAT, "event is not JSON: %s at line %d column %d",
			       je.text, je.line, je.column);
	event_request e;
	memset(&e, 0, sizeof e);
	bool http = is_http_event(ev);
	mc_code rc = MC_OK;
	if (http) {
		const char *version = str(ev, "version");
		rc = version && strcmp(version, "2.0") ? mc_fail(err, MC_ERR_UNSUPPORTED,
								 "event payload version '%.20s': "
								 "only 2.0 (HTTP API) is supported",
								 version)
						       : from_http_event(ev, &e, err);
	} else {
		e.req = (mc_http_request){
			.method = "POST", .path = "/v1/predict", .body = event, .body_len = n};
	}
	e.req.body_too_large = e.req.body_len > mc_router_max_body(r);
	mc_http_response resp;
	memset(&resp, 0, sizeof resp);
	if (!rc) {
		mc_router_handle(r, &e.req, &resp);
		rc = http ? http_response(&resp, out, err) : direct_response(&resp, out, err);
	}
	mc_http_response_release(&resp);
	event_request_release(&e);
	json_decref(ev);
	return rc;
}
