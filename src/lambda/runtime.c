/* The Lambda Runtime API client and loop; see milkcast/lambda.h. */
#include "milkcast/lambda.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define API_PREFIX "/2018-06-01/runtime"
/* The event can be as large as the request payload limit (6 MB) plus headroom. */
#define MAX_EVENT ((size_t)7 * 1024 * 1024)

struct mc_lambda_runtime {
	CURL *curl;
	char base[300]; /* http://host:port/2018-06-01/runtime */
};

typedef struct exchange {
	mc_buf body;
	mc_lambda_invocation *inv; /* headers land here on `next` */
} exchange;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	exchange *x = ud;
	return mc_buf_append(&x->body, p, size * n) ? 0 : size * n;
}

/* Copy a header's value (trimmed) when its name matches. */
static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
	size_t k = strlen(name);
	if (n <= k + 1 || strncasecmp(line, name, k) || line[k] != ':')
		return;
	const char *v = line + k + 1, *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	snprintf(out, cap, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	exchange *x = ud;
	size_t len = size * n;
	if (!x->inv)
		return len;
	char deadline[32] = "";
	header_value(p, len, "Lambda-Runtime-Aws-Request-Id", x->inv->request_id,
		     sizeof x->inv->request_id);
	header_value(p, len, "Lambda-Runtime-Invoked-Function-Arn", x->inv->function_arn,
		     sizeof x->inv->function_arn);
	header_value(p, len, "Lambda-Runtime-Trace-Id", x->inv->trace_id, sizeof x->inv->trace_id);
	header_value(p, len, "Lambda-Runtime-Deadline-Ms", deadline, sizeof deadline);
	if (*deadline)
		x->inv->deadline_ms = strtoll(deadline, NULL, 10);
	return len;
}

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
	if (!(rt->curl = curl_easy_init())) {
		free(rt);
		return mc_fail(err, MC_ERR_NOMEM, "cannot start libcurl");
	}
	snprintf(rt->base, sizeof rt->base, "http://%s" API_PREFIX, api);
	*out = rt;
	return MC_OK;
}

void mc_lambda_runtime_free(mc_lambda_runtime *rt)
{
	if (!rt)
		return;
	curl_easy_cleanup(rt->curl);
	free(rt);
}

/* One request to the API; *status gets the HTTP status. */
static mc_code request(mc_lambda_runtime *rt, const char *path, const void *body, size_t n,
		       const char *error_type, exchange *x, long *status, mc_error *err)
{
	CURL *c = rt->curl;
	char url[600], type_header[200];
	snprintf(url, sizeof url, "%s%s", rt->base, path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	struct curl_slist *h = NULL;
	if (body) {
		/* No timeout on `next`: the process may be frozen between events. */
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Expect:");
		if (error_type) {
			snprintf(type_header, sizeof type_header,
				 "Lambda-Runtime-Function-Error-Type: %s", error_type);
			h = curl_slist_append(h, type_header);
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (cc != CURLE_OK)
		return mc_fail(err, MC_ERR_NETWORK, "runtime API %s: %s", path,
			       x->body.len >= x->body.max && x->body.max ? "event too large"
									 : curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return MC_OK;
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
	exchange x = {MC_BUF_INIT, NULL};
	mc_buf_init(&x.body, 64 * 1024);
	long status = 0;
	mc_code rc = request(rt, path, doc, strlen(doc), type, &x, &status, err);
	free(doc);
	if (!rc && status != 202)
		rc = mc_fail(err, MC_ERR_NETWORK, "runtime API %s answered %ld: %.200s", path,
			     status, x.body.data ? (const char *)x.body.data : "");
	mc_buf_release(&x.body);
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

/* GET next: the event in x->body, its headers in *inv. */
static mc_code next(mc_lambda_runtime *rt, exchange *x, mc_error *err)
{
	long status = 0;
	mc_buf_reset(&x->body);
	memset(x->inv, 0, sizeof *x->inv);
	mc_code rc = request(rt, "/invocation/next", NULL, 0, NULL, x, &status, err);
	if (rc)
		return rc;
	if (status != 200)
		return mc_fail(err, MC_ERR_NETWORK, "runtime API /invocation/next answered %ld%s",
			       status,
			       status == 500 ? " (container error: the runtime must exit)" : "");
	if (!*x->inv->request_id)
		return mc_fail(err, MC_ERR_FORMAT,
			       "runtime API /invocation/next: no Lambda-Runtime-Aws-Request-Id");
	x->inv->event = x->body.data ? x->body.data : (const uint8_t *)"";
	x->inv->event_len = x->body.len;
	return MC_OK;
}

/* Post the handler's response; a 413 from the API becomes the invocation's error. */
static mc_code respond(mc_lambda_runtime *rt, const char *id, const mc_buf *response, mc_error *err)
{
	char path[200];
	snprintf(path, sizeof path, "/invocation/%s/response", id);
	exchange x = {MC_BUF_INIT, NULL};
	mc_buf_init(&x.body, 64 * 1024);
	long status = 0;
	mc_code rc = request(rt, path, response->data ? (const void *)response->data : "",
			     response->len, NULL, &x, &status, err);
	mc_buf_release(&x.body);
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
			  const mc_lambda_invocation *inv, mc_buf *response, mc_error *err)
{
	mc_error failure = MC_ERROR_INIT;
	mc_buf_reset(response);
	char path[200], type[64];
	snprintf(path, sizeof path, "/invocation/%s/error", inv->request_id);
	if (handler(ud, inv, response, &failure)) {
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
	exchange x = {MC_BUF_INIT, &inv};
	mc_buf_init(&x.body, MAX_EVENT);
	mc_buf response = MC_BUF_INIT;
	mc_code rc = MC_OK;
	for (long done = 0; !rc && (max_invocations <= 0 || done < max_invocations); done++) {
		rc = next(rt, &x, err);
		if (!rc)
			rc = handle_one(rt, handler, ud, &inv, &response, err);
	}
	mc_buf_release(&response);
	mc_buf_release(&x.body);
	return rc;
}
