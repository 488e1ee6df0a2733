/*
 * The S3 backend of the artifact store: SigV4-signed requests through src/http,
 * retried on transport errors, 5xx, throttling and failed integrity checks;
 * single PUTs with Content-MD5, multipart uploads above the part size
 * (aborted on failure), GET bodies checked against their MD5 ETag,
 * ListObjectsV2 pages parsed with libxml2.  Errors name the key, the s3://
 * URI, the HTTP status and S3 error code, never a credential.
 */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "artifact/s3_int.h"
#include "milkcast/httpc.h"
#include "milkcast/sha256.h"
#include "milkcast/sigv4.h"

#define BACKOFF_MAX_MS 20000
#define REPLY_MAX ((size_t)16 << 20)

typedef struct s3_store {
	s3_config cfg;
	mc_httpc *http;
} s3_store;

/* The signed header lines of one attempt (they hold the signature: wiped after). */
typedef struct s3_headers {
	mc_buf text; /* the lines, each ending in NUL */
	const char *lines[8];
	size_t n;
} s3_headers;

/*
 * One request: the object key is the full S3 key (prefix included), NULL for
 * the bucket.  A 2xx reply is checked as asked (at most one of want_etag,
 * verify_body, want_root); a failed check is retried like a 5xx.
 */
typedef struct s3_req {
	const char *method;
	const char *key;
	const mc_sigv4_pair *query;
	size_t n_query;
	const void *body;
	size_t body_len;
	bool send_md5;
	size_t max_bytes;
	const char *want_etag; /* the ETag must be this MD5 (hex) */
	bool verify_body;      /* the body must match Content-Length and an MD5 ETag */
	const char *want_root; /* the body must be XML with this root element ("*": any) */
} s3_req;

/* --- one signed exchange -------------------------------------------------- */

static mc_code url_for(s3_store *s, const s3_req *q, mc_buf *path, mc_buf *url)
{
	mc_code rc = mc_buf_printf(path, "%s/%s", s->cfg.base_path, q->key ? q->key : "");
	if (!rc && !q->key && s->cfg.base_path[0])
		path->data[--path->len] = '\0'; /* "/bucket", not "/bucket/" */
	if (!rc)
		rc = mc_buf_append(url, s->cfg.origin, strlen(s->cfg.origin));
	if (!rc)
		rc = mc_sigv4_uri_encode(url, (const char *)path->data, true);
	if (!rc && q->n_query) {
		rc = mc_buf_putc(url, '?');
		if (!rc)
			rc = mc_sigv4_canonical_query(url, q->query, q->n_query);
	}
	return rc;
}

static mc_code add_line(s3_headers *out, size_t *offsets, const char *name, const char *value)
{
	offsets[out->n++] = out->text.len;
	mc_code rc = mc_buf_printf(&out->text, "%s: %s", name, value);
	return rc ? rc : mc_buf_putc(&out->text, '\0');
}

static void headers_release(s3_headers *h)
{
	if (h->text.data)
		explicit_bzero(h->text.data, h->text.len);
	mc_buf_release(&h->text);
}

/* The signed header lines; the secret only enters the HMAC. */
static mc_code sign_headers(s3_store *s, const s3_req *q, const char *path, s3_headers *out,
			    mc_error *err)
{
	char date[17], hash[65], md5b64[25] = "";
	mc_sigv4_amz_date(time(NULL), date);
	mc_sha256_hex(q->body ? q->body : "", q->body_len, hash);
	mc_sigv4_pair h[5] = {
		{"host", s->cfg.host}, {"x-amz-content-sha256", hash}, {"x-amz-date", date}};
	size_t n = 3;
	if (q->send_md5) {
		uint8_t md5[16];
		artifact_md5(q->body ? q->body : "", q->body_len, md5);
		artifact_base64(md5, 16, md5b64);
		h[n++] = (mc_sigv4_pair){"content-md5", md5b64};
	}
	if (s->cfg.session_token)
		h[n++] = (mc_sigv4_pair){"x-amz-security-token", s->cfg.session_token};
	mc_sigv4_request req = {q->method, path, q->query, q->n_query, h, n, hash};
	mc_sigv4_key key = {s->cfg.access_key, s->cfg.secret_key, s->cfg.region, "s3"};
	mc_sigv4_out so;
	mc_code rc = mc_sigv4_sign(&req, &key, date, &so, err);
	if (rc)
		return rc;
	size_t offsets[8];
	for (size_t i = 0; !rc && i < n; i++)
		rc = add_line(out, offsets, h[i].name, h[i].value);
	if (!rc)
		rc = add_line(out, offsets, "Authorization", (const char *)so.authorization.data);
	if (!rc && q->body)
		rc = add_line(out, offsets, "Content-Type", "application/octet-stream");
	mc_sigv4_out_release(&so);
	if (rc)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < out->n; i++)
		out->lines[i] = (const char *)out->text.data + offsets[i];
	return MC_OK;
}

/* --- XML ------------------------------------------------------------------ */

static xmlDoc *parse_xml(const mc_buf *b)
{
	if (!b->len || b->len > (size_t)1 << 30)
		return NULL;
	return xmlReadMemory((const char *)b->data, (int)b->len, "s3.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static xmlNode *child(xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
			return c;
	return NULL;
}

/* The text of a child element, copied into out (empty when absent). */
static void child_text(xmlNode *n, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	xmlNode *c = child(n, name);
	xmlChar *t = c ? xmlNodeGetContent(c) : NULL;
	if (t)
		snprintf(out, cap, "%s", (const char *)t);
	xmlFree(t);
}

/* <Code> and <Message> of an S3 <Error> document (empty when the body is not one). */
static void error_fields(const mc_buf *body, char code[128], char msg[256])
{
	code[0] = msg[0] = '\0';
	xmlDoc *doc = parse_xml(body);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (root && strcmp((const char *)root->name, "Error") == 0) {
		child_text(root, "Code", code, 128);
		child_text(root, "Message", msg, 256);
	}
	xmlFreeDoc(doc);
}

static void add_attempts(mc_error *err, int attempts)
{
	size_t n = err ? strlen(err->msg) : 0;
	if (err && attempts > 1)
		snprintf(err->msg + n, sizeof err->msg - n, " (%d attempts)", attempts);
}

/* "HTTP 403 SignatureDoesNotMatch: The request signature ..." from an S3 error reply. */
static mc_code http_error(const mc_httpc_resp *r, mc_error *err)
{
	char code[128], msg[256];
	error_fields(&r->body, code, msg);
	mc_code c = r->status == 404 ? MC_ERR_NOT_FOUND : MC_ERR_NETWORK;
	if (!code[0] && r->status == 403)
		snprintf(code, sizeof code, "Forbidden (bad credentials or no permission)");
	mc_fail(err, c, "HTTP %ld%s%s%s%s", r->status, code[0] ? " " : "", code, msg[0] ? ": " : "",
		msg);
	add_attempts(err, r->attempts);
	return c;
}

/* What botocore's standard retry mode retries: 429, 500, 502, 503, 504, and the
 * throttling and transient error codes whatever the status. */
static bool retryable_status(const mc_httpc_resp *r)
{
	long st = r->status;
	if (st == 429 || st == 500 || st == 502 || st == 503 || st == 504)
		return true;
	if (st < 400)
		return false;
	char code[128], msg[256];
	error_fields(&r->body, code, msg);
	return aws_retryable_code(code);
}

/* --- integrity checks on a 2xx reply --------------------------------------- */

static void unquote(const char *etag, char *out, size_t cap)
{
	size_t n = strlen(etag);
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"')
		snprintf(out, cap, "%.*s", (int)(n - 2), etag + 1);
	else
		snprintf(out, cap, "%s", etag);
}

static void md5_hex(const void *p, size_t n, char out[33])
{
	uint8_t d[16];
	artifact_md5(p, n, d);
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static bool is_md5_hex(const char *s)
{
	return strlen(s) == 32 && strspn(s, "0123456789abcdefABCDEF") == 32;
}

/* The reply's ETag, unquoted ("" when none). */
static void reply_etag(const mc_httpc_resp *r, char *out, size_t cap)
{
	const char *etag = mc_httpc_header(r, "ETag");
	unquote(etag ? etag : "", out, cap);
}

/* Under SSE-KMS or SSE-C the ETag is not the MD5 of the bytes. */
static bool etag_not_md5(const mc_httpc_resp *r)
{
	const char *sse = mc_httpc_header(r, "x-amz-server-side-encryption");
	const char *sse_c = mc_httpc_header(r, "x-amz-server-side-encryption-customer-algorithm");
	return (sse && strncmp(sse, "aws:kms", 7) == 0) || (sse_c && *sse_c);
}

/* The ETag of a plain upload is the MD5 of the bytes (not under SSE-KMS or SSE-C). */
static mc_code check_etag(const mc_httpc_resp *r, const char *want, mc_error *err)
{
	char got[80];
	reply_etag(r, got, sizeof got);
	if (etag_not_md5(r))
		return MC_OK;
	if (!got[0])
		return mc_fail(err, MC_ERR_NETWORK, "the server returned no ETag");
	if (strcasecmp(got, want) != 0)
		return mc_fail(err, MC_ERR_NETWORK, "ETag %s does not match the MD5 %s", got, want);
	return MC_OK;
}

/*
 * A GET body: as long as Content-Length says, and, when the ETag is an MD5
 * (a single-part upload, not SSE-KMS or SSE-C), with that MD5.  A multipart
 * object's ETag ("md5-N") cannot be checked without the part sizes.
 */
static mc_code check_body(const mc_httpc_resp *r, mc_error *err)
{
	if (r->content_length >= 0 && (uint64_t)r->content_length != r->body.len)
		return mc_fail(err, MC_ERR_NETWORK, "truncated: received %zu of %lld bytes",
			       r->body.len, (long long)r->content_length);
	char etag[80], md5[33];
	reply_etag(r, etag, sizeof etag);
	if (etag_not_md5(r) || !is_md5_hex(etag))
		return MC_OK;
	md5_hex(r->body.data ? (const void *)r->body.data : "", r->body.len, md5);
	if (strcasecmp(md5, etag) != 0)
		return mc_fail(err, MC_ERR_NETWORK,
			       "corrupt body: %zu bytes with MD5 %s, but the ETag is %s",
			       r->body.len, md5, etag);
	return MC_OK;
}

/*
 * An XML reply with the expected root ("*": any but <Error>); a 200 carrying
 * <Error> is a failure (and so retried).
 */
static mc_code check_root(const mc_httpc_resp *r, const char *want, mc_error *err)
{
	xmlDoc *doc = parse_xml(&r->body);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	char got[64];
	snprintf(got, sizeof got, "%s", root ? (const char *)root->name : "");
	xmlFreeDoc(doc);
	if (strcmp(got, "Error") == 0) {
		char code[128], msg[256];
		error_fields(&r->body, code, msg);
		return mc_fail(err, MC_ERR_NETWORK, "HTTP %ld with an error: %s%s%s", r->status,
			       code[0] ? code : "(no code)", msg[0] ? ": " : "", msg);
	}
	if (strcmp(got, want) == 0 || (got[0] && strcmp(want, "*") == 0))
		return MC_OK;
	return mc_fail(err, MC_ERR_FORMAT, "expected an XML <%s> reply of %zu bytes, got %s%s%s",
		       want, r->body.len, got[0] ? "<" : "unparsable XML", got, got[0] ? ">" : "");
}

static mc_code check_reply(const s3_req *q, const mc_httpc_resp *r, mc_error *err)
{
	if (q->want_etag)
		return check_etag(r, q->want_etag, err);
	if (q->verify_body)
		return check_body(r, err);
	if (q->want_root)
		return check_root(r, q->want_root, err);
	return MC_OK;
}

/* --- one request, with retries ---------------------------------------------- */

static mc_code attempt(s3_store *s, const mc_artifact_opts *o, const s3_req *q, mc_httpc_resp *r,
		       mc_error *err)
{
	mc_buf path = MC_BUF_INIT, url = MC_BUF_INIT;
	s3_headers hd = {.text = MC_BUF_INIT};
	mc_code rc = url_for(s, q, &path, &url);
	if (rc) {
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	} else if (!(rc = sign_headers(s, q, (const char *)path.data, &hd, err))) {
		bool head = strcmp(q->method, "HEAD") == 0;
		mc_httpc_req req = {
			.method = q->method,
			.url = (const char *)url.data,
			.headers = hd.lines,
			.n_headers = hd.n,
			.body = q->body,
			.body_len = q->body_len,
			.connect_timeout_ms = 15000,
			.timeout_ms = o->timeout_s * 1000,
			.max_body = head	   ? 0
				    : q->max_bytes ? q->max_bytes
						   : REPLY_MAX,
		};
		mc_httpc_perform(s->http, &req, r, NULL);
	}
	headers_release(&hd);
	mc_buf_release(&path);
	mc_buf_release(&url);
	return rc;
}

/*
 * A request, retried (re-signed, after a growing random wait) on transport
 * errors, retryable statuses and failed checks of a 2xx reply, up to
 * opts.retries more times.  MC_OK when an HTTP status came back (and a 2xx
 * passed its check); the caller judges the status.
 */
static mc_code perform(mc_artifact_store *st, const s3_req *q, mc_httpc_resp *r, mc_error *err)
{
	s3_store *s = st->backend;
	for (int n = 1;; n++) {
		mc_code rc = attempt(s, &st->opts, q, r, err);
		r->attempts = n;
		if (rc)
			return rc;
		if (r->failure == MC_HTTPC_TOO_LARGE)
			return mc_fail(err, MC_ERR_LIMIT, "the response exceeds %zu bytes",
				       r->body.max);
		bool again;
		if (r->failure != MC_HTTPC_NONE) {
			rc = mc_fail(err, MC_ERR_NETWORK, "%s", r->detail);
			again = mc_httpc_retryable(r);
		} else if (r->status >= 200 && r->status < 300) {
			rc = check_reply(q, r, err);
			again = rc != MC_OK && rc != MC_ERR_NOMEM;
		} else {
			again = retryable_status(r);
		}
		if (again && n <= st->opts.retries) {
			mc_httpc_sleep_ms(mc_httpc_backoff_ms(st->opts.backoff_ms, BACKOFF_MAX_MS,
							      n - 1, mc_httpc_random(s->http)));
			continue;
		}
		if (rc && r->failure != MC_HTTPC_NONE && err) {
			size_t len = strlen(err->msg);
			snprintf(err->msg + len, sizeof err->msg - len, " (%d attempt%s)", n,
				 n == 1 ? "" : "s");
		} else if (rc) {
			add_attempts(err, n);
		}
		return rc;
	}
}

/* --- operations ------------------------------------------------------------ */

static char *full_key(mc_artifact_store *st, const char *key)
{
	s3_store *s = st->backend;
	size_t n = strlen(s->cfg.prefix) + strlen(key) + 1;
	char *k = malloc(n);
	if (k)
		snprintf(k, n, "%s%s", s->cfg.prefix, key);
	return k;
}

static mc_code put_single(mc_artifact_store *st, const char *k, const void *p, size_t n,
			  mc_error *err)
{
	char md5[33];
	md5_hex(p ? p : "", n, md5);
	s3_req q = {.method = "PUT",
		    .key = k,
		    .body = p ? p : "",
		    .body_len = n,
		    .send_md5 = true,
		    .want_etag = md5};
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = perform(st, &q, &r, err);
	if (!rc && r.status != 200)
		rc = http_error(&r, err);
	mc_httpc_resp_release(&r);
	return rc;
}

typedef struct multipart {
	char upload_id[1024];
	char (*etags)[33];
	size_t n_parts;
} multipart;

static mc_code mp_create(mc_artifact_store *st, const char *k, multipart *m, mc_error *err)
{
	mc_sigv4_pair qp[] = {{"uploads", ""}};
	s3_req q = {.method = "POST",
		    .key = k,
		    .query = qp,
		    .n_query = 1,
		    .want_root = "InitiateMultipartUploadResult"};
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = perform(st, &q, &r, err);
	if (!rc && r.status != 200)
		rc = http_error(&r, err);
	if (!rc) {
		xmlDoc *doc = parse_xml(&r.body);
		child_text(doc ? xmlDocGetRootElement(doc) : NULL, "UploadId", m->upload_id,
			   sizeof m->upload_id);
		xmlFreeDoc(doc);
		if (!m->upload_id[0])
			rc = mc_fail(err, MC_ERR_FORMAT,
				     "CreateMultipartUpload returned no UploadId");
	}
	if (rc)
		mc_error_prefix(err, "CreateMultipartUpload: ");
	mc_httpc_resp_release(&r);
	return rc;
}

static mc_code mp_part(mc_artifact_store *st, const char *k, multipart *m, size_t i,
		       const uint8_t *p, size_t n, mc_error *err)
{
	char num[24];
	snprintf(num, sizeof num, "%zu", i + 1);
	md5_hex(p, n, m->etags[i]);
	mc_sigv4_pair qp[] = {{"partNumber", num}, {"uploadId", m->upload_id}};
	s3_req q = {.method = "PUT",
		    .key = k,
		    .query = qp,
		    .n_query = 2,
		    .body = p,
		    .body_len = n,
		    .send_md5 = true,
		    .want_etag = m->etags[i]};
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = perform(st, &q, &r, err);
	if (!rc && r.status != 200)
		rc = http_error(&r, err);
	if (rc)
		mc_error_prefix(err, "part %zu of %zu: ", i + 1, m->n_parts);
	mc_httpc_resp_release(&r);
	return rc;
}

/* The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s, "-" and the count. */
static void mp_expected_etag(const multipart *m, char *out, size_t cap)
{
	uint8_t *raw = malloc(m->n_parts * 16 + 1);
	if (!raw) {
		out[0] = '\0';
		return;
	}
	for (size_t i = 0; i < m->n_parts; i++)
		for (size_t j = 0; j < 16; j++) {
			unsigned v;
			sscanf(m->etags[i] + 2 * j, "%2x", &v);
			raw[16 * i + j] = (uint8_t)v;
		}
	char h[33];
	md5_hex(raw, m->n_parts * 16, h);
	free(raw);
	snprintf(out, cap, "%s-%zu", h, m->n_parts);
}

static mc_code mp_complete(mc_artifact_store *st, const char *k, multipart *m, mc_error *err)
{
	mc_buf xml = MC_BUF_INIT;
	mc_code rc = mc_buf_printf(&xml, "<CompleteMultipartUpload>");
	for (size_t i = 0; !rc && i < m->n_parts; i++)
		rc = mc_buf_printf(&xml,
				   "<Part><PartNumber>%zu</PartNumber><ETag>\"%s\"</ETag></Part>",
				   i + 1, m->etags[i]);
	if (!rc)
		rc = mc_buf_printf(&xml, "</CompleteMultipartUpload>");
	if (rc) {
		mc_buf_release(&xml);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	mc_sigv4_pair qp[] = {{"uploadId", m->upload_id}};
	/* a 200 carrying <Error> fails the root check, so it is retried (as botocore does);
	 * S3 answers <CompleteMultipartUploadResult>, moto <...Response> */
	s3_req q = {.method = "POST",
		    .key = k,
		    .query = qp,
		    .n_query = 1,
		    .body = xml.data,
		    .body_len = xml.len,
		    .want_root = "*"};
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	rc = perform(st, &q, &r, err);
	if (!rc && r.status != 200)
		rc = http_error(&r, err);
	if (!rc) {
		xmlDoc *doc = parse_xml(&r.body);
		char got[80] = "", etag[80], want[80];
		child_text(doc ? xmlDocGetRootElement(doc) : NULL, "ETag", got, sizeof got);
		xmlFreeDoc(doc);
		unquote(got, etag, sizeof etag);
		mp_expected_etag(m, want, sizeof want);
		if (etag[0] && strcasecmp(etag, want) != 0)
			rc = mc_fail(err, MC_ERR_NETWORK, "ETag %s does not match the parts' %s",
				     etag, want);
	}
	if (rc)
		mc_error_prefix(err, "CompleteMultipartUpload: ");
	mc_httpc_resp_release(&r);
	mc_buf_release(&xml);
	return rc;
}

/* AbortMultipartUpload (with retries), so the parts stop costing storage; 404: already gone. */
static mc_code mp_abort(mc_artifact_store *st, const char *k, multipart *m, mc_error *err)
{
	mc_sigv4_pair qp[] = {{"uploadId", m->upload_id}};
	s3_req q = {.method = "DELETE", .key = k, .query = qp, .n_query = 1};
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = perform(st, &q, &r, err);
	if (!rc && r.status != 204 && r.status != 200 && r.status != 404)
		rc = http_error(&r, err);
	mc_httpc_resp_release(&r);
	return rc;
}

static mc_code put_multipart(mc_artifact_store *st, const char *k, const uint8_t *p, size_t n,
			     mc_error *err)
{
	size_t part = st->opts.part_size;
	multipart m = {.n_parts = (n + part - 1) / part};
	m.etags = calloc(m.n_parts, sizeof *m.etags);
	if (!m.etags)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = mp_create(st, k, &m, err);
	for (size_t i = 0; !rc && i < m.n_parts; i++) {
		size_t off = i * part;
		rc = mp_part(st, k, &m, i, p + off, n - off < part ? n - off : part, err);
	}
	if (!rc)
		rc = mp_complete(st, k, &m, err);
	if (rc && m.upload_id[0]) {
		mc_error abort_err = MC_ERROR_INIT;
		mc_error dummy = MC_ERROR_INIT;
		if (!err)
			err = &dummy;
		size_t len = strlen(err->msg);
		if (mp_abort(st, k, &m, &abort_err))
			snprintf(err->msg + len, sizeof err->msg - len,
				 "; AbortMultipartUpload failed too, upload %s is left: %s",
				 m.upload_id, abort_err.msg);
		else
			snprintf(err->msg + len, sizeof err->msg - len,
				 "; the multipart upload was aborted");
	}
	free(m.etags);
	return rc;
}

static mc_code s3_put(mc_artifact_store *st, const char *key, const void *p, size_t n,
		      mc_error *err)
{
	char *k = full_key(st, key);
	if (!k)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = n > st->opts.part_size ? put_multipart(st, k, p, n, err)
					    : put_single(st, k, p, n, err);
	if (rc)
		mc_error_prefix(err, "cannot put '%s' in '%s': ", key, st->uri);
	free(k);
	return rc;
}

static mc_code s3_get(mc_artifact_store *st, const char *key, mc_buf *out, mc_error *err)
{
	char *k = full_key(st, key);
	if (!k)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	s3_req q = {.method = "GET",
		    .key = k,
		    .max_bytes = st->opts.max_get_bytes,
		    .verify_body = true};
	if (out->max && out->max < q.max_bytes)
		q.max_bytes = out->max;
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = perform(st, &q, &r, err);
	if (!rc && r.status != 200)
		rc = http_error(&r, err);
	if (!rc) {
		size_t keep_max = out->max;
		mc_buf_release(out);
		*out = r.body;
		out->max = keep_max;
		mc_buf_init(&r.body, 0);
	}
	mc_httpc_resp_release(&r);
	if (rc == MC_ERR_NOT_FOUND)
		mc_fail(err, rc, "no artifact '%s' in '%s'", key, st->uri);
	else if (rc)
		mc_error_prefix(err, "cannot get '%s' from '%s': ", key, st->uri);
	free(k);
	return rc;
}

static mc_code s3_exists(mc_artifact_store *st, const char *key, bool *exists, mc_error *err)
{
	char *k = full_key(st, key);
	if (!k)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	s3_req q = {.method = "HEAD", .key = k};
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = perform(st, &q, &r, err);
	if (!rc && r.status != 200 && r.status != 404)
		rc = http_error(&r, err);
	*exists = !rc && r.status == 200;
	if (rc)
		mc_error_prefix(err, "cannot check '%s' in '%s': ", key, st->uri);
	mc_httpc_resp_release(&r);
	free(k);
	return rc;
}

static mc_code s3_del(mc_artifact_store *st, const char *key, mc_error *err)
{
	char *k = full_key(st, key);
	if (!k)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	s3_req q = {.method = "DELETE", .key = k};
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_code rc = perform(st, &q, &r, err);
	if (!rc && r.status != 204 && r.status != 200 && r.status != 404)
		rc = http_error(&r, err);
	if (rc)
		mc_error_prefix(err, "cannot delete '%s' from '%s': ", key, st->uri);
	mc_httpc_resp_release(&r);
	free(k);
	return rc;
}

/* One ListObjectsV2 page: keys added, token set to the next one ("" at the end). */
static mc_code list_page(mc_artifact_store *st, const mc_buf *body, mc_artifact_keys *out,
			 size_t *cap, char *token, size_t token_cap, mc_error *err)
{
	s3_store *s = st->backend;
	size_t plen = strlen(s->cfg.prefix);
	xmlDoc *doc = parse_xml(body);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "ListBucketResult") != 0) {
		xmlFreeDoc(doc);
		return mc_fail(err, MC_ERR_FORMAT, "ListObjectsV2 returned no ListBucketResult");
	}
	mc_code rc = MC_OK;
	for (xmlNode *c = root->children; !rc && c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "Contents") != 0)
			continue;
		char key[2048];
		child_text(c, "Key", key, sizeof key);
		if (strlen(key) > plen && strncmp(key, s->cfg.prefix, plen) == 0 &&
		    artifact_list_add(out, key + plen, cap))
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	char truncated[8];
	child_text(root, "IsTruncated", truncated, sizeof truncated);
	child_text(root, "NextContinuationToken", token, token_cap);
	if (strcmp(truncated, "true") != 0)
		token[0] = '\0';
	else if (!rc && !token[0])
		rc = mc_fail(err, MC_ERR_FORMAT,
			     "a truncated listing without a continuation token");
	xmlFreeDoc(doc);
	return rc;
}

static mc_code s3_list(mc_artifact_store *st, const char *prefix, mc_artifact_keys *out,
		       mc_error *err)
{
	char *p = full_key(st, prefix);
	char token[2048] = "";
	size_t cap = 0;
	mc_code rc = p ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	for (int page = 0; !rc; page++) {
		mc_sigv4_pair qp[] = {
			{"list-type", "2"}, {"prefix", p}, {"continuation-token", token}};
		s3_req q = {.method = "GET",
			    .query = qp,
			    .n_query = token[0] ? 3 : 2,
			    .want_root = "ListBucketResult"};
		rc = perform(st, &q, &r, err);
		if (!rc && r.status != 200)
			rc = http_error(&r, err);
		if (!rc)
			rc = list_page(st, &r.body, out, &cap, token, sizeof token, err);
		if (!rc && !token[0])
			break;
	}
	if (rc)
		mc_error_prefix(err, "cannot list '%s' in '%s': ", prefix, st->uri);
	mc_httpc_resp_release(&r);
	free(p);
	return rc;
}

static void s3_free(mc_artifact_store *st)
{
	s3_store *s = st->backend;
	if (!s)
		return;
	mc_httpc_free(s->http);
	s3_config_release(&s->cfg);
	free(s);
}

static const artifact_ops s3_ops = {
	.put = s3_put,
	.get = s3_get,
	.exists = s3_exists,
	.del = s3_del,
	.list = s3_list,
	.free = s3_free,
};

mc_code artifact_s3_open(mc_artifact_store *st, const char *rest, mc_error *err)
{
	s3_store *s = calloc(1, sizeof *s);
	if (!s)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	st->backend = s;
	st->ops = &s3_ops;
	size_t n = strlen(rest) + 6;
	if (!(st->uri = malloc(n)))
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	snprintf(st->uri, n, "s3://%s", rest);
	mc_code rc = s3_config_load(&s->cfg, rest, &st->opts, err);
	if (rc)
		return rc;
	st->opts.retries = s->cfg.retries;
	st->opts.backoff_ms = s->cfg.backoff_ms;
	return mc_httpc_new(&s->http, err);
}
