/*
 * The MLflow REST client of the export: JSON requests through src/http with
 * bearer or basic auth, retries with backoff on transport errors, 5xx and 429,
 * and errors naming the endpoint with the server's error_code and message.
 * Credentials go only into the request's headers and auth fields; they are
 * never formatted into a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/buf.h"
#include "milkcast/httpc.h"
#include "track/mlflow_int.h"

#define REPLY_MAX ((size_t)16 << 20)
#define RETRY_AFTER_MAX_S 30
#define BACKOFF_MAX_MS 10000

struct mlflow_client {
	mc_httpc *http;
	char *base;
	const char *headers[4]; /* the last one holds the bearer token, if any */
	size_t n_headers;
	char *bearer;
	char *username, *password;
	int retries;
	long backoff_ms, timeout_s;
};

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
	mc_httpc_free(c->http);
	wipe_free(c->bearer);
	wipe_free(c->username);
	wipe_free(c->password);
	free(c->base);
	free(c);
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
	if (!(c->bearer = malloc(n)))
		return MC_ERR_NOMEM;
	snprintf(c->bearer, n, "Authorization: Bearer %s", o->token);
	c->headers[c->n_headers++] = c->bearer;
	return MC_OK;
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
	c->headers[c->n_headers++] = "Content-Type: application/json";
	c->headers[c->n_headers++] = "Accept: application/json";
	if (set_auth(c, o)) {
		mlflow_client_free(c);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	mc_code rc = mc_httpc_new(&c->http, err);
	if (rc) {
		mlflow_client_free(c);
		return rc;
	}
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
	mc_buf q = MC_BUF_INIT;
	if (mc_buf_printf(&q, "%s=", name) || mc_httpc_escape(&q, value)) {
		mc_buf_release(&q);
		return NULL;
	}
	return (char *)mc_buf_detach(&q, NULL);
}

/* Retry-After when the server gave one (capped), else the backoff. */
static mc_code judge(void *user, const mc_httpc_resp *r, long *delay_ms, mc_error *err)
{
	if (*delay_ms >= 0 && r->failure == MC_HTTPC_NONE && r->retry_after_s > 0)
		*delay_ms = (r->retry_after_s < RETRY_AFTER_MAX_S ? r->retry_after_s
								  : RETRY_AFTER_MAX_S) *
			    1000;
	return MC_OK;
}

/* --- replies ------------------------------------------------------------------ */

/* A failed call: "POST http://h/api/2.0/mlflow/runs/create: HTTP 400 INVALID_PARAMETER_VALUE: ...".
 */
static mc_code http_error(const char *method, const char *path, const mc_httpc_resp *x,
			  mlflow_reply *r, int attempts, mc_error *err)
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

static mc_code take_reply(const char *method, const char *path, const mc_httpc_resp *x,
			  mlflow_reply *r, int attempts, mc_error *err)
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
	bool get = strcmp(method, "GET") == 0;
	mc_httpc_req q = {
		.method = method,
		.url = u,
		.headers = c->headers,
		.n_headers = c->n_headers,
		.body = get    ? NULL
			: body ? body
			       : "{}",
		.body_len = get ? 0 : strlen(body ? body : "{}"),
		.username = c->username,
		.password = c->password,
		.connect_timeout_ms = (c->timeout_s < 15 ? c->timeout_s : 15) * 1000,
		.timeout_ms = c->timeout_s * 1000,
		.max_body = REPLY_MAX,
	};
	mc_httpc_retry p = {.retries = c->retries,
			    .backoff_ms = c->backoff_ms,
			    .backoff_max_ms = BACKOFF_MAX_MS,
			    .judge = judge};
	mc_httpc_resp x;
	mc_httpc_resp_init(&x);
	mc_code rc = mc_httpc_send(c->http, &q, &p, &x, err);
	*attempts = x.attempts;
	r->status = x.status;
	if (!rc)
		rc = take_reply(method, u, &x, r, x.attempts, err);
	mc_httpc_resp_release(&x);
	mc_buf_release(&url);
	return rc;
}
