/* Private to the S3 backend: where to send requests and with which credentials. */
#ifndef MILKCAST_S3_INT_H
#define MILKCAST_S3_INT_H

#include "artifact/artifact_int.h"

typedef struct s3_config {
	char *bucket;
	char *prefix; /* "" or ending in '/' */
	char *region;
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL when none */
	char *origin;	     /* "https://host[:port]" */
	char *host;	     /* the Host header */
	char *base_path;     /* "/bucket" (path-style) or "" (virtual host) */
	int retries;	     /* resolved: opts, MILKCAST_S3_RETRIES, AWS_MAX_ATTEMPTS, profile */
	long backoff_ms;     /* resolved: opts, MILKCAST_S3_BACKOFF_MS, else 200 */
} s3_config;

/*
 * From the URI rest ("bucket/prefix"), opts, the environment and the
 * shared AWS files (AWS_CONFIG_FILE or ~/.aws/config, and
 * AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials), profile AWS_PROFILE
 * or "default".  A file that cannot be parsed is an error naming the file
 * and the line, never the line's text.
 */
mc_code s3_config_load(s3_config *c, const char *bucket_and_prefix, const mc_artifact_opts *o,
		       mc_error *err);
void s3_config_release(s3_config *c);

#endif
