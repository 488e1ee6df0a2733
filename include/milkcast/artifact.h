/*
 * The artifact store: named blobs (models, bundles, reports) under a
 * directory or an S3 prefix, opened from a URI.  Keys are relative paths
 * ("runs/42/model.ubj"); every call checks them and names them in errors.
 *
 *   file:///abs/dir   a local directory; writes are atomic (temp + rename)
 *   some/dir          the same, relative to opts.workspace (or the cwd)
 *   s3://bucket/pfx   S3 or an S3-compatible server (SigV4 over libcurl)
 *
 * S3 configuration comes from the standard environment and the shared AWS
 * files, resolved as the AWS CLI (botocore) does: credentials from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the
 * profile (AWS_PROFILE or "default") of the credentials file
 * (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), else of the config
 * file (AWS_CONFIG_FILE or ~/.aws/config); the region from AWS_REGION >
 * AWS_DEFAULT_REGION > the profile's region > us-east-1; an endpoint from
 * opts.endpoint > MILKCAST_S3_ENDPOINT > AWS_ENDPOINT_URL_S3 >
 * AWS_ENDPOINT_URL > the profile's endpoint_url (which forces path-style
 * addressing).  Secrets never appear in error messages.
 */
#ifndef MILKCAST_ARTIFACT_H
#define MILKCAST_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"

typedef struct mc_artifact_store mc_artifact_store;

typedef struct mc_artifact_opts {
	const char *workspace; /* base of relative paths; NULL = cwd */
	const char *endpoint;  /* S3 endpoint URL; NULL = environment or AWS */
	bool path_style;       /* S3 path-style addressing (forced with an endpoint) */
	/*
	 * retries: extra attempts on 5xx, throttling and transport errors and failed
	 * integrity checks; < 0 (the default): MILKCAST_S3_RETRIES, AWS_MAX_ATTEMPTS - 1,
	 * the profile's max_attempts - 1, else 3.  backoff_ms: the first retry delay,
	 * doubling, with jitter; < 0 (the default): MILKCAST_S3_BACKOFF_MS, else 200.
	 */
	int retries;
	long backoff_ms;
	long timeout_s;	      /* per request */
	size_t part_size;     /* multipart above this size, in parts of this size */
	size_t max_get_bytes; /* cap on a get */
} mc_artifact_opts;

#define MC_ARTIFACT_PART_SIZE ((size_t)8 << 20)

void mc_artifact_opts_init(mc_artifact_opts *o);

/* Open a store; opts may be NULL for the defaults. */
mc_code mc_artifact_open(const char *uri, const mc_artifact_opts *opts, mc_artifact_store **out,
			 mc_error *err);
void mc_artifact_free(mc_artifact_store *s);

/* The URI the store was opened with, normalised ("file:///abs", "s3://b/p"). */
const char *mc_artifact_uri(const mc_artifact_store *s);

mc_code mc_artifact_put(mc_artifact_store *s, const char *key, const void *p, size_t n,
			mc_error *err);
/* Appends the object to out (reset first); MC_ERR_NOT_FOUND when absent. */
mc_code mc_artifact_get(mc_artifact_store *s, const char *key, mc_buf *out, mc_error *err);
mc_code mc_artifact_exists(mc_artifact_store *s, const char *key, bool *exists, mc_error *err);
/* Deleting an absent key succeeds (as in S3). */
mc_code mc_artifact_delete(mc_artifact_store *s, const char *key, mc_error *err);

/* Keys (relative to the store), sorted; release with mc_artifact_keys_release. */
typedef struct mc_artifact_keys {
	char **keys;
	size_t n;
} mc_artifact_keys;

/* Every key starting with prefix ("" = all); prefix is a string prefix, not a directory. */
mc_code mc_artifact_list(mc_artifact_store *s, const char *prefix, mc_artifact_keys *out,
			 mc_error *err);
void mc_artifact_keys_release(mc_artifact_keys *l);

/*
 * A key is valid when it is a relative path of non-empty segments, none
 * "." or "..", without control bytes or backslashes, at most 1024 bytes.
 */
mc_code mc_artifact_key_check(const char *key, mc_error *err);

#endif
