/* AWS Signature Version 4: each step of the AWS recipe as one function, no secrets in errors. */
#include "milkcast/sigv4.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/sha256.h"

void mc_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
		    uint8_t out[32])
{
	uint8_t k[64] = {0}, pad[64], inner[32];
	if (key_len > sizeof k) {
		mc_sha256 s;
		mc_sha256_init(&s);
		mc_sha256_update(&s, key, key_len);
		mc_sha256_final(&s, k);
	} else {
		memcpy(k, key, key_len);
	}
	mc_sha256 s;
	for (size_t i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x36;
	mc_sha256_init(&s);
	mc_sha256_update(&s, pad, 64);
	mc_sha256_update(&s, msg, msg_len);
	mc_sha256_final(&s, inner);
	for (size_t i = 0; i < 64; i++)
		pad[i] = k[i] ^ 0x5c;
	mc_sha256_init(&s);
	mc_sha256_update(&s, pad, 64);
	mc_sha256_update(&s, inner, 32);
	mc_sha256_final(&s, out);
	memset(k, 0, sizeof k);
	memset(pad, 0, sizeof pad);
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void mc_sigv4_out_release(mc_sigv4_out *o)
{
	mc_buf_release(&o->canonical_request);
	mc_buf_release(&o->string_to_sign);
	mc_buf_release(&o->signed_headers);
	mc_buf_release(&o->authorization);
}

void mc_sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

mc_code mc_sigv4_uri_encode(mc_buf *b, const char *s, bool keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		mc_code rc;
		if (unreserved(*p) || (keep_slash && *p == '/')) {
			rc = mc_buf_putc(b, *p);
		} else {
			char esc[3] = {'%', digits[*p >> 4], digits[*p & 15]};
			rc = mc_buf_append(b, esc, 3);
		}
		if (rc)
			return rc;
	}
	return MC_OK;
}

/* An encoded query parameter, sortable. */
typedef struct enc_pair {
	char *name;
	char *value;
} enc_pair;

static int cmp_pair(const void *a, const void *b)
{
	const enc_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
	mc_buf b = MC_BUF_INIT;
	if (mc_sigv4_uri_encode(&b, s, false)) {
		mc_buf_release(&b);
		return NULL;
	}
	return (char *)mc_buf_detach(&b, NULL);
}

mc_code mc_sigv4_canonical_query(mc_buf *b, const mc_sigv4_pair *q, size_t n)
{
	if (n == 0)
		return mc_buf_append(b, "", 0);
	enc_pair *e = calloc(n, sizeof *e);
	mc_code rc = e ? MC_OK : MC_ERR_NOMEM;
	for (size_t i = 0; !rc && i < n; i++) {
		e[i].name = encode_dup(q[i].name);
		e[i].value = encode_dup(q[i].value ? q[i].value : "");
		if (!e[i].name || !e[i].value)
			rc = MC_ERR_NOMEM;
	}
	if (!rc)
		qsort(e, n, sizeof *e, cmp_pair);
	for (size_t i = 0; !rc && i < n; i++)
		rc = mc_buf_printf(b, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
	for (size_t i = 0; e && i < n; i++) {
		free(e[i].name);
		free(e[i].value);
	}
	free(e);
	return rc;
}

/* A header in canonical form: lower-case name, value trimmed with inner runs of spaces as one. */
typedef struct canon_header {
	char *name;
	char *value;
} canon_header;

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *p = d; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return d;
}

static char *trim_dup(const char *s)
{
	char *d = malloc(strlen(s) + 1);
	if (!d)
		return NULL;
	size_t n = 0;
	bool space = false;
	for (const char *p = s; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			space = n > 0;
			continue;
		}
		if (space)
			d[n++] = ' ';
		space = false;
		d[n++] = *p;
	}
	d[n] = '\0';
	return d;
}

static int cmp_header(const void *a, const void *b)
{
	return strcmp(((const canon_header *)a)->name, ((const canon_header *)b)->name);
}

static void free_headers(canon_header *h, size_t n)
{
	for (size_t i = 0; h && i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

static mc_code canonical_headers(const mc_sigv4_request *req, canon_header **out)
{
	canon_header *h = calloc(req->n_headers ? req->n_headers : 1, sizeof *h);
	if (!h)
		return MC_ERR_NOMEM;
	for (size_t i = 0; i < req->n_headers; i++) {
		h[i].name = lower_dup(req->headers[i].name);
		h[i].value = trim_dup(req->headers[i].value);
		if (!h[i].name || !h[i].value) {
			free_headers(h, req->n_headers);
			return MC_ERR_NOMEM;
		}
	}
	qsort(h, req->n_headers, sizeof *h, cmp_header);
	*out = h;
	return MC_OK;
}

static mc_code build_canonical(const mc_sigv4_request *req, const canon_header *h,
			       mc_sigv4_out *out)
{
	mc_buf *c = &out->canonical_request;
	mc_code rc = mc_buf_printf(c, "%s\n", req->method);
	if (!rc)
		rc = mc_sigv4_uri_encode(c, req->path && req->path[0] ? req->path : "/", true);
	if (!rc)
		rc = mc_buf_putc(c, '\n');
	if (!rc)
		rc = mc_sigv4_canonical_query(c, req->query, req->n_query);
	if (!rc)
		rc = mc_buf_putc(c, '\n');
	for (size_t i = 0; !rc && i < req->n_headers; i++) {
		rc = mc_buf_printf(c, "%s:%s\n", h[i].name, h[i].value);
		if (!rc)
			rc = mc_buf_printf(&out->signed_headers, "%s%s", i ? ";" : "", h[i].name);
	}
	if (!rc)
		rc = mc_buf_printf(c, "\n%s\n%s", (const char *)out->signed_headers.data,
				   req->payload_hash);
	return rc;
}

void mc_sigv4_signing_key(const char *secret, const char *date8, const char *region,
			  const char *service, uint8_t out[32])
{
	size_t n = strlen(secret) + 5;
	char *k = malloc(n);
	uint8_t a[32], b[32];
	if (!k) {
		memset(out, 0, 32);
		return;
	}
	snprintf(k, n, "AWS4%s", secret);
	mc_hmac_sha256(k, n - 1, date8, strlen(date8), a);
	mc_hmac_sha256(a, 32, region, strlen(region), b);
	mc_hmac_sha256(b, 32, service, strlen(service), a);
	mc_hmac_sha256(a, 32, "aws4_request", 12, out);
	memset(k, 0, n);
	memset(a, 0, sizeof a);
	memset(b, 0, sizeof b);
	free(k);
}

static mc_code check_sign_args(const mc_sigv4_request *req, const mc_sigv4_key *key,
			       const char *amz_date, mc_error *err)
{
	if (!req->method || !req->payload_hash || !key->access_key || !key->secret_key ||
	    !key->region || !key->service)
		return mc_fail(err, MC_ERR_INVALID, "cannot sign: a request field is missing");
	if (!amz_date || strlen(amz_date) != 16 || amz_date[8] != 'T' || amz_date[15] != 'Z')
		return mc_fail(err, MC_ERR_INVALID, "cannot sign: bad x-amz-date '%s'",
			       amz_date ? amz_date : "");
	return MC_OK;
}

static mc_code build_string_to_sign(const char *amz_date, const char *scope, mc_sigv4_out *out)
{
	char hash[65];
	mc_sha256_hex(out->canonical_request.data, out->canonical_request.len, hash);
	return mc_buf_printf(&out->string_to_sign, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope,
			     hash);
}

mc_code mc_sigv4_sign(const mc_sigv4_request *req, const mc_sigv4_key *key, const char *amz_date,
		      mc_sigv4_out *out, mc_error *err)
{
	memset(out, 0, sizeof *out);
	mc_code rc = check_sign_args(req, key, amz_date, err);
	if (rc)
		return rc;
	char date8[9];
	memcpy(date8, amz_date, 8);
	date8[8] = '\0';
	canon_header *h = NULL;
	rc = canonical_headers(req, &h);
	if (!rc)
		rc = mc_buf_append(&out->signed_headers, "", 0);
	if (!rc)
		rc = build_canonical(req, h, out);
	free_headers(h, req->n_headers);
	mc_buf scope = MC_BUF_INIT;
	if (!rc)
		rc = mc_buf_printf(&scope, "%s/%s/%s/aws4_request", date8, key->region,
				   key->service);
	if (!rc)
		rc = build_string_to_sign(amz_date, (const char *)scope.data, out);
	if (!rc) {
		uint8_t k[32], sig[32];
		mc_sigv4_signing_key(key->secret_key, date8, key->region, key->service, k);
		mc_hmac_sha256(k, 32, out->string_to_sign.data, out->string_to_sign.len, sig);
		memset(k, 0, sizeof k);
		hex(sig, 32, out->signature);
		rc = mc_buf_printf(
			&out->authorization,
			"AWS4-HMAC-SHA256 Credential=%s/%s,SignedHeaders=%s,Signature=%s",
			key->access_key, (const char *)scope.data,
			(const char *)out->signed_headers.data, out->signature);
	}
	mc_buf_release(&scope);
	if (rc) {
		mc_sigv4_out_release(out);
		return mc_fail(err, rc, "cannot sign %s request: out of memory", req->method);
	}
	return MC_OK;
}
