/*
 * SSM Parameter Store's GetParameter, our own: the AWS JSON 1.1 request built
 * with jansson, signed with our SigV4, sent through src/http with retries,
 * the reply's value or error read back; and NAME_PARAMETER environment
 * variables resolved into NAME.  Values and credentials never reach a
 * message; our buffers that held them are wiped (jansson's and libcurl's
 * internal ones are not ours to wipe).
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "artifact/s3_int.h"
#include "milkcast/httpc.h"
#include "milkcast/sha256.h"
#include "milkcast/ssm.h"

#define CONTENT_TYPE "application/x-amz-json-1.1"
#define TARGET "AmazonSSM.GetParameter"
#define NAME_MAX_LEN 2048 /* an ARN with a full path */
#define CONNECT_TIMEOUT_MS 5000L
#define ATTEMPT_TIMEOUT_MS 15000L
#define BACKOFF_MAX_MS 20000L
#define SUFFIX "_PARAMETER"
#define SUFFIX_LEN (sizeof SUFFIX - 1)

struct mc_ssm {
	char *region;
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when none */
	char *origin;	     /* "https://ssm.us-east-1.amazonaws.com" */
	char *host;	     /* the Host header */
	int retries;
	long backoff_ms;
	mc_httpc *http; /* made by the first request */
};

static void wipe(mc_buf *b)
{
	if (b->data)
		explicit_bzero(b->data, b->cap);
}

/*
 * Text from outside (a parameter name from the environment, an AWS message)
 * fit for a message: at most cap - 1 bytes, cut on a UTF-8 boundary, control
 * bytes as '?'.
 */
static const char *shown(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);
	if (n >= cap) {
		n = cap - 1;
		while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[n] = '\0';
	return out;
}

/* --- the client ------------------------------------------------------------------ */

/* AWS_ENDPOINT_URL_SSM > AWS_ENDPOINT_URL > the profile's endpoint_url > AWS. */
static mc_code resolve_endpoint(mc_ssm *c, const aws_profile *a, mc_error *err)
{
	static const char *const vars[] = {"AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL"};
	char buf[600], url[128];
	const char *src = "the AWS endpoint";
	const char *ep =
		aws_endpoint_setting(a, vars, sizeof vars / sizeof *vars, &src, buf, sizeof buf);
	if (!ep) {
		snprintf(url, sizeof url, "https://ssm.%s.amazonaws.com", c->region);
		ep = url;
	}
	return aws_endpoint_parse(ep, "SSM", src, &c->origin, &c->host, err);
}

mc_code mc_ssm_new(mc_ssm **out, mc_error *err)
{
	*out = NULL;
	mc_ssm *c = calloc(1, sizeof *c);
	if (!c)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	c->retries = -1;
	c->backoff_ms = -1;
	aws_profile *a = NULL;
	mc_code rc = aws_profile_load(&a, err);
	if (!rc)
		rc = aws_region(a, &c->region, err);
	if (!rc)
		rc = aws_retries(a, "MILKCAST_SSM_RETRIES", "MILKCAST_SSM_BACKOFF_MS", &c->retries,
				 &c->backoff_ms, err);
	if (!rc)
		rc = resolve_endpoint(c, a, err);
	if (!rc)
		rc = aws_credentials(a, "SSM", &c->access_key, &c->secret_key, &c->session_token,
				     err);
	aws_profile_free(a);
	if (rc) {
		mc_ssm_free(c);
		return rc;
	}
	*out = c;
	return MC_OK;
}

void mc_ssm_free(mc_ssm *c)
{
	if (!c)
		return;
	mc_httpc_free(c->http);
	aws_wipe_free(c->secret_key);
	aws_wipe_free(c->session_token);
	free(c->access_key);
	free(c->region);
	free(c->origin);
	free(c->host);
	free(c);
}

const char *mc_ssm_endpoint(const mc_ssm *c)
{
	return c->origin;
}

const char *mc_ssm_region(const mc_ssm *c)
{
	return c->region;
}

/* --- the request ------------------------------------------------------------------ */

void mc_ssm_request_release(mc_ssm_request *r)
{
	wipe(&r->header_text); /* the signature and the session token */
	mc_buf_release(&r->header_text);
	mc_buf_release(&r->url);
	mc_buf_release(&r->body);
	mc_sigv4_out_release(&r->sig);
	memset(r, 0, sizeof *r);
}

static mc_code check_name(const char *name, mc_error *err)
{
	char s[80];
	if (!name || !name[0])
		return mc_fail(err, MC_ERR_INVALID, "invalid SSM parameter name: it is empty");
	if (strlen(name) > NAME_MAX_LEN)
		return mc_fail(err, MC_ERR_INVALID,
			       "invalid SSM parameter name '%s...': over %d bytes",
			       shown(name, s, sizeof s), NAME_MAX_LEN);
	return MC_OK;
}

/* {"Name":"...","WithDecryption":true} (jansson keeps the keys in this order). */
static mc_code build_body(const char *name, mc_buf *body, mc_error *err)
{
	char s[208];
	json_t *doc = json_pack("{s:s, s:b}", "Name", name, "WithDecryption", 1);
	if (!doc) /* the only other cause, no memory, is reported as this too */
		return mc_fail(err, MC_ERR_INVALID, "invalid SSM parameter name '%s': not UTF-8",
			       shown(name, s, sizeof s));
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	mc_code rc = text ? mc_buf_append(body, text, strlen(text)) : MC_ERR_NOMEM;
	free(text);
	return rc ? mc_fail(err, MC_ERR_NOMEM, "out of memory") : MC_OK;
}

static mc_code add_line(mc_ssm_request *r, size_t *offsets, const char *name, const char *value)
{
	offsets[r->n_lines++] = r->header_text.len;
	mc_code rc = mc_buf_printf(&r->header_text, "%s: %s", name, value);
	return rc ? rc : mc_buf_putc(&r->header_text, '\0');
}

mc_code mc_ssm_request_build(const mc_ssm *c, const char *name, time_t now, mc_ssm_request *out,
			     mc_error *err)
{
	memset(out, 0, sizeof *out);
	mc_code rc = check_name(name, err);
	if (!rc)
		rc = build_body(name, &out->body, err);
	if (rc) {
		mc_ssm_request_release(out);
		return rc;
	}
	char date[17], hash[65];
	mc_sigv4_amz_date(now, date);
	mc_sha256_hex(out->body.data, out->body.len, hash);
	mc_sigv4_pair h[5] = {
		{"Host", c->host},
		{"Content-Type", CONTENT_TYPE},
		{"X-Amz-Date", date},
		{"X-Amz-Target", TARGET},
	};
	size_t n = 4;
	if (c->session_token)
		h[n++] = (mc_sigv4_pair){"X-Amz-Security-Token", c->session_token};
	mc_sigv4_request req = {
		.method = "POST", .path = "/", .headers = h, .n_headers = n, .payload_hash = hash};
	mc_sigv4_key key = {c->access_key, c->secret_key, c->region, "ssm"};
	rc = mc_sigv4_sign(&req, &key, date, &out->sig, err);
	if (rc) {
		mc_ssm_request_release(out);
		return rc;
	}
	size_t offsets[8];
	for (size_t i = 0; !rc && i < n; i++)
		rc = add_line(out, offsets, h[i].name, h[i].value);
	if (!rc)
		rc = add_line(out, offsets, "Authorization",
			      (const char *)out->sig.authorization.data);
	if (!rc)
		rc = mc_buf_printf(&out->url, "%s/", c->origin);
	if (rc) {
		mc_ssm_request_release(out);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	for (size_t i = 0; i < out->n_lines; i++)
		out->lines[i] = (const char *)out->header_text.data + offsets[i];
	return MC_OK;
}

/* --- the reply -------------------------------------------------------------------- */

/* "com.amazonaws.ssm#ParameterNotFound:http://..." -> "ParameterNotFound", as botocore. */
static void short_type(const char *t, char *out, size_t cap)
{
	const char *hash = strrchr(t, '#');
	if (hash)
		t = hash + 1;
	char full[256];
	snprintf(full, sizeof full, "%.*s", (int)strcspn(t, ":"), t);
	shown(full, out, cap);
}

/*
 * The text of the first <tag>...</tag> in an XML error body (the query
 * protocol's, which moto and some proxies answer with), "" when none.
 */
static void xml_field(const char *body, size_t len, const char *tag, char *out, size_t cap)
{
	char open[32], close[32], text[256];
	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	out[0] = '\0';
	const char *a = body && len ? memmem(body, len, open, strlen(open)) : NULL;
	if (!a)
		return;
	a += strlen(open);
	const char *b = memmem(a, len - (size_t)(a - body), close, strlen(close));
	if (!b || memchr(a, '<', (size_t)(b - a)) || memchr(a, '\0', (size_t)(b - a)))
		return;
	snprintf(text, sizeof text, "%.*s", (int)(b - a), a);
	shown(text, out, cap);
}

/*
 * The error type of a reply: the body's "__type", else the x-amzn-ErrorType
 * header, else an XML body's <Code>.
 */
static void error_type(const json_t *doc, const char *header, const char *body, size_t len,
		       char *out, size_t cap)
{
	const char *t = json_string_value(json_object_get(doc, "__type"));
	if (!t || !t[0])
		t = header;
	if (t && t[0])
		short_type(t, out, cap);
	else if (doc)
		out[0] = '\0';
	else
		xml_field(body, len, "Code", out, cap);
}

static bool is_one_of(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* Errors of the credentials, the signature or the permissions. */
static bool auth_error(const char *type, long status)
{
	static const char *const types[] = {
		"UnrecognizedClientException",
		"InvalidSignatureException",
		"IncompleteSignature",
		"IncompleteSignatureException",
		"MissingAuthenticationToken",
		"MissingAuthenticationTokenException",
		"InvalidClientTokenId",
		"InvalidAccessKeyId",
		"SignatureDoesNotMatch",
		"ExpiredToken",
		"ExpiredTokenException",
		"RequestExpired",
		"NotAuthorized",
		"AuthFailure",
	};
	return strncmp(type, "AccessDenied", 12) == 0 ||
	       is_one_of(type, types, sizeof types / sizeof *types) ||
	       (!type[0] && (status == 401 || status == 403));
}

static mc_code code_for(const char *type, long status)
{
	if (strcmp(type, "ParameterNotFound") == 0 || strcmp(type, "ParameterVersionNotFound") == 0)
		return MC_ERR_NOT_FOUND;
	if (auth_error(type, status) || strcmp(type, "ValidationException") == 0 ||
	    strcmp(type, "InvalidKeyId") == 0)
		return MC_ERR_INVALID;
	return MC_ERR_NETWORK;
}

static mc_code reply_error(const char *name, long status, const char *header, const json_t *doc,
			   const char *body, size_t len, mc_error *err)
{
	char type[128], msg[240] = "", s[208];
	error_type(doc, header, body, len, type, sizeof type);
	const char *m = json_string_value(json_object_get(doc, "message"));
	if (!m)
		m = json_string_value(json_object_get(doc, "Message"));
	if (m)
		shown(m, msg, sizeof msg);
	else if (!doc)
		xml_field(body, len, "Message", msg, sizeof msg);
	const char *hint = "";
	if (auth_error(type, status))
		hint = " (check the AWS credentials, and that they may ssm:GetParameter it and "
		       "kms:Decrypt its key)";
	mc_code code = code_for(type, status);
	return mc_fail(err, code, "cannot get SSM parameter '%s': HTTP %ld%s%s%s%s%s",
		       shown(name, s, sizeof s), status, type[0] ? " " : "", type,
		       msg[0] ? ": " : "", msg, hint);
}

/* Parameter.Value of a 2xx reply into value; its copy in doc is wiped. */
static mc_code take_value(const char *name, long status, json_t *doc, size_t len, mc_buf *value,
			  mc_error *err)
{
	char s[208];
	if (!doc) /* never quote the parser: the text may be part of a secret */
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot get SSM parameter '%s': HTTP %ld with a reply that is not a "
			       "JSON object (%zu bytes)",
			       shown(name, s, sizeof s), status, len);
	json_t *v = json_object_get(json_object_get(doc, "Parameter"), "Value");
	if (!json_is_string(v))
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot get SSM parameter '%s': HTTP %ld without a string "
			       "Parameter.Value in the reply",
			       shown(name, s, sizeof s), status);
	size_t n = json_string_length(v);
	char *text = (char *)json_string_value(v); /* jansson's own copy: wiped below */
	mc_buf_reset(value);
	mc_code rc = mc_buf_append(value, text, n);
	explicit_bzero(text, n);
	if (rc == MC_ERR_LIMIT)
		return mc_fail(err, rc, "the value of SSM parameter '%s' is over %zu bytes",
			       shown(name, s, sizeof s), value->max);
	return rc ? mc_fail(err, rc, "out of memory") : MC_OK;
}

mc_code mc_ssm_reply_parse(const char *name, long status, const char *error_type_header,
			   const void *body, size_t len, mc_buf *value, mc_error *err)
{
	json_t *doc = len ? json_loadb(body, len, JSON_ALLOW_NUL, NULL) : NULL;
	if (doc && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	mc_code rc = status >= 200 && status < 300 ? take_value(name, status, doc, len, value, err)
						   : reply_error(name, status, error_type_header,
								 doc, (const char *)body, len, err);
	json_decref(doc);
	return rc;
}

/* --- one call, with retries --------------------------------------------------------- */

/* A transport failure worth another attempt, 429, 5xx, or a throttling error type. */
static bool worth_retrying(const mc_httpc_resp *r)
{
	if (r->failure != MC_HTTPC_NONE || r->status == 429 || r->status >= 500)
		return mc_httpc_retryable(r);
	if (r->status < 400)
		return false;
	json_t *doc = r->body.len ? json_loadb((const char *)r->body.data, r->body.len,
					       JSON_ALLOW_NUL, NULL)
				  : NULL;
	char type[128];
	error_type(json_is_object(doc) ? doc : NULL, mc_httpc_header(r, "x-amzn-ErrorType"),
		   (const char *)r->body.data, r->body.len, type, sizeof type);
	json_decref(doc);
	return aws_retryable_code(type);
}

static void add_attempts(mc_error *err, int n)
{
	size_t len = err ? strlen(err->msg) : 0;
	if (err && n > 1)
		snprintf(err->msg + len, sizeof err->msg - len, " (%d attempts)", n);
}

mc_code mc_ssm_get_parameter(mc_ssm *c, const char *name, mc_buf *value, mc_error *err)
{
	mc_code rc = check_name(name, err);
	if (rc)
		return rc;
	if (!c->http && (rc = mc_httpc_new(&c->http, err)))
		return rc;
	char s[208];
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	for (int n = 1;; n++) {
		mc_ssm_request q;
		if ((rc = mc_ssm_request_build(c, name, time(NULL), &q, err)))
			break;
		mc_httpc_req req = {
			.method = "POST",
			.url = (const char *)q.url.data,
			.headers = q.lines,
			.n_headers = q.n_lines,
			.body = q.body.data,
			.body_len = q.body.len,
			.connect_timeout_ms = CONNECT_TIMEOUT_MS,
			.timeout_ms = ATTEMPT_TIMEOUT_MS,
			.max_body = MC_SSM_REPLY_MAX,
		};
		mc_httpc_perform(c->http, &req, &r, NULL);
		mc_ssm_request_release(&q);
		if (worth_retrying(&r) && n <= c->retries) {
			wipe(&r.body);
			mc_httpc_sleep_ms(mc_httpc_backoff_ms(c->backoff_ms, BACKOFF_MAX_MS, n - 1,
							      mc_httpc_random(c->http)));
			continue;
		}
		if (r.failure == MC_HTTPC_TOO_LARGE)
			rc = mc_fail(err, MC_ERR_LIMIT,
				     "cannot get SSM parameter '%s': the reply is over %zu bytes",
				     shown(name, s, sizeof s), (size_t)MC_SSM_REPLY_MAX);
		else if (r.failure != MC_HTTPC_NONE)
			rc = mc_fail(err, MC_ERR_NETWORK,
				     "cannot get SSM parameter '%s' from '%s': %s (%d attempt%s)",
				     shown(name, s, sizeof s), c->origin, r.detail, n,
				     n == 1 ? "" : "s");
		else if ((rc = mc_ssm_reply_parse(name, r.status,
						  mc_httpc_header(&r, "x-amzn-ErrorType"),
						  r.body.data, r.body.len, value, err)))
			add_attempts(err, n);
		break;
	}
	wipe(&r.body);
	mc_httpc_resp_release(&r);
	return rc;
}

/* --- NAME_PARAMETER -> NAME ---------------------------------------------------------- */

/* One variable to resolve (environ: unistd.h, with _GNU_SOURCE). */
typedef struct pending {
	char *var;   /* "NAME_PARAMETER" */
	char *name;  /* "NAME" */
	char *param; /* the parameter's name: the variable's value */
	mc_buf value;
	char *old; /* NAME's value before (empty), to put back */
	bool had_old;
} pending;

typedef struct pending_list {
	pending *p;
	size_t n, cap;
} pending_list;

/* ^[A-Z][A-Z0-9_]*$, in ASCII whatever the locale. */
static bool valid_env_name(const char *s, size_t n)
{
	if (n == 0 || s[0] < 'A' || s[0] > 'Z')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static mc_code pending_add(pending_list *l, const char *entry, size_t key_len, const char *value)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 8;
		pending *np = realloc(l->p, ncap * sizeof *np);
		if (!np)
			return MC_ERR_NOMEM;
		l->p = np;
		l->cap = ncap;
	}
	pending *p = &l->p[l->n];
	memset(p, 0, sizeof *p);
	p->var = strndup(entry, key_len);
	p->name = strndup(entry, key_len - SUFFIX_LEN);
	p->param = strdup(value);
	l->n++; /* released with the list even when a copy failed */
	return p->var && p->name && p->param ? MC_OK : MC_ERR_NOMEM;
}

static void pending_release(pending_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		pending *p = &l->p[i];
		wipe(&p->value);
		mc_buf_release(&p->value);
		aws_wipe_free(p->old);
		free(p->var);
		free(p->name);
		free(p->param);
	}
	free(l->p);
	memset(l, 0, sizeof *l);
}

static int by_var(const void *a, const void *b)
{
	return strcmp(((const pending *)a)->var, ((const pending *)b)->var);
}

/*
 * The NAME_PARAMETER variables to resolve, sorted: copied out of environ
 * before anything changes it; those whose NAME is set (non-empty) are left.
 */
static mc_code collect(pending_list *l, mc_error *err)
{
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || !eq[1])
			continue;
		size_t key_len = (size_t)(eq - *e);
		if (key_len <= SUFFIX_LEN || memcmp(eq - SUFFIX_LEN, SUFFIX, SUFFIX_LEN) != 0 ||
		    !valid_env_name(*e, key_len - SUFFIX_LEN))
			continue;
		if (pending_add(l, *e, key_len, eq + 1))
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	size_t keep = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *now = getenv(l->p[i].name);
		if (now && now[0]) { /* an explicit value wins */
			free(l->p[i].var);
			free(l->p[i].name);
			free(l->p[i].param);
			continue;
		}
		l->p[keep++] = l->p[i];
	}
	l->n = keep;
	if (l->n > 1)
		qsort(l->p, l->n, sizeof *l->p, by_var);
	return MC_OK;
}

static mc_code fetch(mc_ssm *c, pending *p, mc_error *err)
{
	char s[208];
	mc_code rc = mc_ssm_get_parameter(c, p->param, &p->value, err);
	if (!rc && p->value.len && memchr(p->value.data, '\0', p->value.len))
		rc = mc_fail(err, MC_ERR_FORMAT, "SSM parameter '%s' has a NUL byte in its value",
			     shown(p->param, s, sizeof s));
	else if (!rc && p->value.len > MC_SSM_VALUE_MAX)
		rc = mc_fail(err, MC_ERR_LIMIT,
			     "the value of SSM parameter '%s' is %zu bytes, over the %zu allowed",
			     shown(p->param, s, sizeof s), p->value.len, (size_t)MC_SSM_VALUE_MAX);
	if (!rc && !p->value.data && mc_buf_append(&p->value, "", 0))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (rc)
		mc_error_prefix(err, "cannot resolve %s: ", p->var);
	return rc;
}

/* Set every NAME; on a failure put back those already set. */
static mc_code apply(pending_list *l, int *resolved, mc_error *err)
{
	mc_code rc = MC_OK;
	size_t i;
	for (i = 0; i < l->n; i++) {
		pending *p = &l->p[i];
		const char *before = getenv(p->name);
		p->had_old = before != NULL;
		if (before && !(p->old = strdup(before))) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		if (setenv(p->name, (const char *)p->value.data, 1) != 0) {
			rc = mc_fail(err, MC_ERR_NOMEM, "cannot resolve %s: cannot set %s: %s",
				     p->var, p->name, strerror(errno));
			break;
		}
	}
	if (rc) {
		while (i-- > 0) {
			pending *p = &l->p[i];
			if (p->had_old)
				setenv(p->name, p->old, 1);
			else
				unsetenv(p->name);
		}
		return rc;
	}
	if (resolved)
		*resolved = (int)l->n;
	return MC_OK;
}

mc_code mc_ssm_resolve_env(int *resolved, mc_error *err)
{
	if (resolved)
		*resolved = 0;
	pending_list l = {0};
	mc_code rc = collect(&l, err);
	if (rc || l.n == 0) {
		pending_release(&l);
		return rc;
	}
	mc_ssm *c = NULL;
	char s[208];
	if ((rc = mc_ssm_new(&c, err)))
		mc_error_prefix(err, "cannot resolve %s ('%s'): ", l.p[0].var,
				shown(l.p[0].param, s, sizeof s));
	for (size_t i = 0; !rc && i < l.n; i++)
		rc = fetch(c, &l.p[i], err);
	if (!rc)
		rc = apply(&l, resolved, err);
	mc_ssm_free(c);
	pending_release(&l);
	return rc;
}
