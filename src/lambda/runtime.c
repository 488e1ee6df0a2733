/* The Lambda Runtime API client and loop; see milkcast/lambda.h. */
#include "milkcast/lambda.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/httpc.h"

#define API_PREFIX "/2018-06-01/runtime"
/* The event can be as large as the request payload limit (6 MB) plus headroom. */
#define MAX_EVENT ((size_t)7 * 1024 * 1024)
#define MAX_REPLY ((size_t)64 * 1024)

struct mc_lambda_runtime {
	mc_httpc *http;	     /* one connection, reused */
	char base[300];	     /* http://host:port/2018-06-01/runtime */
	mc_httpc_resp event; /* the last `next`: its body is the event the handler reads */
};

mc_code mc_lambda_runtime_open(const char *api, mc_lambda_runtime **out, mc_error *err)
{
	*out = NULL;
	if (!api || !*api)
		return mc_fail(err, MC_ERR_INVALID,
			       "AWS_LAMBDA_RUNTIME_API is not set: run inside Lambda, or point it "
			       "at a runtime API (host:port)");
	if (strlen(api) > 200 || strpbrk(api, "/ \t\r\n"))
		return mc_fail(err, MC_ERR_INVALID,
			       "AWS_LAMBDA_RUNTIME_API must be host:port, got '%.200s'", api);
	mc_lambda_runtime *rt = calloc(1, sizeof *rt);
	if (!rt)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = mc_httpc_new(&rt->http, err);
	if (rc) {
		free(rt);
		return rc;
	}
	mc_httpc_resp_init(&rt->event);
	snprintf(rt->base, sizeof rt->base, "http://%s" API_PREFIX, api);
	*out = rt;
	return MC_OK;
}

void mc_lambda_runtime_free(mc_lambda_runtime *rt)
{
	if (!rt)
		return;
	mc_httpc_free(rt->http);
	mc_httpc_resp_release(&rt->event);
	free(rt);
}

/* One request to the API (a POST when there is a body); r->status gets the HTTP status. */
static mc_code request(mc_lambda_runtime *rt, const char *path, const void *body, size_t n,
		       const char *error_type, mc_httpc_resp *r, mc_error *err)
{
	char url[600], type_header[200];
	snprintf(url, sizeof url, "%s%s", rt->base, path);
	snprintf(type_header, sizeof type_header, "Lambda-Runtime-Function-Error-Type: %s",
		 error_type ? error_type : "");
	const char *headers[] = {"Content-Type: application/json", type_header};
	mc_httpc_req q = {
		.method = body ? "POST" : "GET",
		.url = url,
		.headers = headers,
		.n_headers = body ? (error_type ? 2 : 1) : 0,
		.body = body,
		.body_len = n,
		.connect_timeout_ms = 2000,
		/* No timeout on `next`: the process may be frozen between events. */
		.timeout_ms = body ? 30000 : 0,
		.max_body = body ? MAX_REPLY : MAX_EVENT,
	};
	if (mc_httpc_perform(rt->http, &q, r, NULL))
		return mc_fail(err, MC_ERR_NETWORK, "runtime API %s: %s", path,
			       r->failure == MC_HTTPC_TOO_LARGE ? "event too large" : r->detail);
	return MC_OK;
}

/* A reply header into a fixed field (empty when absent). */
static void copy_header(const mc_httpc_resp *r, const char *name, char *out, size_t cap)
{
	const char *v = mc_httpc_header(r, name);
	snprintf(out, cap, "%s", v ? v : "");
}

/* The error document Lambda expects: errorMessage, errorType, stackTrace. */
static char *error_doc(const char *type, const char *message)
{
	json_t *o = json_pack("{s:s, s:s, s:[]}", "errorMessage", message, "errorType", type,
			      "stackTrace");
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

static mc_code post_error(mc_lambda_runtime *rt, const char *path, const char *type,
			  const char *message, mc_error *err)
{
	char *doc = error_doc(type, message);
	if (!doc)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = request(rt, path, doc, strlen(doc), type, &r, err);
	free(doc);
	if (!rc && r.status != 202)
		rc = mc_fail(err, MC_ERR_NETWORK, "runtime API %s answered %ld: %.200s", path,
			     r.status, r.body.data ? (const char *)r.body.data : "");
	mc_httpc_resp_release(&r);
	return rc;
}

/* "PREFIX.name" with the code's name in one word ("milkcast.not_found"). */
static void error_type(char *out, size_t cap, const char *prefix, mc_code code)
{
	snprintf(out, cap, "%s.%s", prefix, mc_strerror(code));
	for (char *p = out; *p; p++)
		if (*p == ' ')
			*p = '_';
}

mc_code mc_lambda_init_error(mc_lambda_runtime *rt, const mc_error *failure, mc_error *err)
{
	char type[64];
	error_type(type, sizeof type, "milkcast.Init", failure->code);
	return post_error(rt, "/init/error", type, failure->msg, err);
}

/* GET next: the event in rt->event's body, its headers in *inv. */
static mc_code next(mc_lambda_runtime *rt, mc_lambda_invocation *inv, mc_error *err)
{
	memset(inv, 0, sizeof *inv);
	mc_httpc_resp *r = &rt->event;
	mc_code rc = request(rt, "/invocation/next", NULL, 0, NULL, r, err);
	if (rc)
		return rc;
	long status = r->status;
	if (status != 200)
		return mc_fail(err, MC_ERR_NETWORK, "runtime API /invocation/next answered %ld%s",
			       status,
			       status == 500 ? " (container error: the runtime must exit)" : "");
	char deadline[32];
	copy_header(r, "Lambda-Runtime-Aws-Request-Id", inv->request_id, sizeof inv->request_id);
	copy_header(r, "Lambda-Runtime-Invoked-Function-Arn", inv->function_arn,
		    sizeof inv->function_arn);
	copy_header(r, "Lambda-Runtime-Trace-Id", inv->trace_id, sizeof inv->trace_id);
	copy_header(r, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline);
	if (*deadline)
		inv->deadline_ms = strtoll(deadline, NULL, 10);
	if (!*inv->request_id)
		return mc_fail(err, MC_ERR_FORMAT,
			       "runtime API /invocation/next: no Lambda-Runtime-Aws-Request-Id");
	inv->event = r->body.data ? r->body.data : (const uint8_t *)"";
	inv->event_len = r->body.len;
	return MC_OK;
}

/* Post the handler's response; a 413 from the API becomes the invocation's error. */
static mc_code respond(mc_lambda_runtime *rt, const char *id, const mc_buf *response, mc_error *err)
{
	char path[200];
	snprintf(path, sizeof path, "/invocation/%s/response", id);
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = request(rt, path, response->data ? (const void *)response->data : "",
			     response->len, NULL, &r, err);
	long status = r.status;
	mc_httpc_resp_release(&r);
	if (rc)
		return rc;
	if (status == 413) {
		snprintf(path, sizeof path, "/invocation/%s/error", id);
		return post_error(rt, path, "Function.ResponseSizeTooLong",
				  "the response is larger than Lambda accepts", err);
	}
	if (status != 202)
		return mc_fail(err, MC_ERR_NETWORK, "runtime API %s answered %ld", path, status);
	return MC_OK;
}

static mc_code handle_one(mc_lambda_runtime *rt, mc_lambda_handler handler, void *ud,
			  mc_lambda_invocation *inv, mc_buf *response, mc_error *err)
{
	mc_error failure = MC_ERROR_INIT;
	mc_buf_reset(response);
	char path[200], type[64];
	snprintf(path, sizeof path, "/invocation/%s/error", inv->request_id);
	if (handler(ud, inv, response, &failure)) {
		if (inv->error_type[0])
			snprintf(type, sizeof type, "%s", inv->error_type);
		else
			error_type(type, sizeof type, "milkcast", failure.code);
		return post_error(rt, path, type, failure.msg, err);
	}
	if (response->len > MC_LAMBDA_MAX_RESPONSE) {
		char msg[160];
		snprintf(msg, sizeof msg, "the response of %zu bytes is over Lambda's limit of %zu",
			 response->len, MC_LAMBDA_MAX_RESPONSE);
		return post_error(rt, path, "Function.ResponseSizeTooLong", msg, err);
	}
	return respond(rt, inv->request_id, response, err);
}

mc_code mc_lambda_loop(mc_lambda_runtime *rt, mc_lambda_handler handler, void *ud,
		       long max_invocations, mc_error *err)
{
	mc_lambda_invocation inv;
	mc_buf response = MC_BUF_INIT;
	mc_code rc = MC_OK;
	for (long done = 0; !rc && (max_invocations <= 0 || done < max_invocations); done++) {
		rc = next(rt, &inv, err);
		if (!rc)
			rc = handle_one(rt, handler, ud, &inv, &response, err);
	}
	mc_buf_release(&response);
	return rc;
}
