/*
 * AWS Signature Version 4 (header-based), our own: HMAC-SHA256, the
 * canonical request, the string to sign, the signing key and the
 * Authorization header.  Used by the S3 artifact backend; each step is
 * public so tests can check it against AWS's published examples.
 */
#ifndef MILKCAST_SIGV4_H
#define MILKCAST_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"

#define MC_SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MC_SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"

/* HMAC-SHA256 (RFC 2104) over mc_sha256. */
void mc_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
		    uint8_t out[32]);

/* A name and value pair: a header, or a query parameter (both unencoded). */
typedef struct mc_sigv4_pair {
	const char *name;
	const char *value;
} mc_sigv4_pair;

/*
 * What is signed.  `path` is the unencoded absolute path ("/bucket/a b.txt");
 * it is URI-encoded once (S3 rules: '/' kept, no double encoding).  `query`
 * holds unencoded parameters in any order.  `headers` must include host and
 * x-amz-date (and, for S3, x-amz-content-sha256); every header given is
 * signed.  `payload_hash` is the lower-case hex SHA-256 of the body, or
 * MC_SIGV4_UNSIGNED.
 */
typedef struct mc_sigv4_request {
	const char *method;
	const char *path;
	const mc_sigv4_pair *query;
	size_t n_query;
	const mc_sigv4_pair *headers;
	size_t n_headers;
	const char *payload_hash;
} mc_sigv4_request;

/* Who signs, where: the credential scope and the secret. */
typedef struct mc_sigv4_key {
	const char *access_key;
	const char *secret_key;
	const char *region;
	const char *service;
} mc_sigv4_key;

/* Everything signing produced; owned, released with mc_sigv4_out_release. */
typedef struct mc_sigv4_out {
	mc_buf canonical_request;
	mc_buf string_to_sign;
	mc_buf signed_headers;
	mc_buf authorization; /* the Authorization header value */
	char signature[65];
} mc_sigv4_out;

void mc_sigv4_out_release(mc_sigv4_out *o);

/* "YYYYMMDDTHHMMSSZ" (UTC) into out[17]. */
void mc_sigv4_amz_date(time_t t, char out[17]);

/*
 * Percent-encode per AWS: unreserved bytes (A-Z a-z 0-9 - . _ ~) as they
 * are, everything else %XX upper-case; '/' kept when keep_slash.
 */
mc_code mc_sigv4_uri_encode(mc_buf *b, const char *s, bool keep_slash);

/* The canonical query string: encoded, sorted by name then value, joined with '&'. */
mc_code mc_sigv4_canonical_query(mc_buf *b, const mc_sigv4_pair *q, size_t n);

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date8), region), service), "aws4_request"). */
void mc_sigv4_signing_key(const char *secret, const char *date8, const char *region,
			  const char *service, uint8_t out[32]);

/* Sign at amz_date ("YYYYMMDDTHHMMSSZ"); fills out (initialised here). */
mc_code mc_sigv4_sign(const mc_sigv4_request *req, const mc_sigv4_key *key, const char *amz_date,
		      mc_sigv4_out *out, mc_error *err);

#endif
