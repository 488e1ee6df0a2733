/*
 * Private to the AWS clients of src/artifact (the S3 backend and SSM): where to
 * send requests and with which credentials, from the environment and the
 * shared AWS files.
 */
#ifndef MILKCAST_S3_INT_H
#define MILKCAST_S3_INT_H

#include <stddef.h>

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

/* --- shared by the AWS clients (s3_config.c) ---------------------------------- */

/* The settings of one profile (AWS_PROFILE or "default") in the shared AWS files. */
typedef struct aws_profile aws_profile;

/*
 * Read both files as botocore does (a missing file has no settings); a
 * profile named by AWS_PROFILE must be in one of them, even when the
 * credentials come from the environment.
 */
mc_code aws_profile_load(aws_profile **out, mc_error *err);
void aws_profile_free(aws_profile *p);

/* AWS_REGION > AWS_DEFAULT_REGION > the profile's region > us-east-1, checked; malloc'd. */
mc_code aws_region(const aws_profile *p, char **region, mc_error *err);

/*
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (or
 * AWS_SECURITY_TOKEN), else the credentials file's profile, else the config
 * file's.  `subject` says in messages what they are for ("'s3://b/p'").
 * malloc'd; *session_token is NULL when there is none.  Free the secrets
 * with aws_wipe_free.
 */
mc_code aws_credentials(const aws_profile *p, const char *subject, char **access_key,
			char **secret_key, char **session_token, mc_error *err);

/*
 * Retries and the first backoff, each resolved only when negative on entry:
 * retries from retries_var (MILKCAST_S3_RETRIES), else AWS_MAX_ATTEMPTS - 1,
 * else the profile's max_attempts - 1, else 3; backoff from backoff_var,
 * else 200 ms.
 */
mc_code aws_retries(const aws_profile *p, const char *retries_var, const char *backoff_var,
		    int *retries, long *backoff_ms, mc_error *err);

/*
 * The first of the environment variables vars[0..n) that is set, else the
 * profile's endpoint_url; NULL when none.  *src names where it came from
 * (the variable, or "profile 'p' of 'file' line N" written into buf).
 */
const char *aws_endpoint_setting(const aws_profile *p, const char *const *vars, size_t n,
				 const char **src, char *buf, size_t cap);

/*
 * "http://127.0.0.1:5000/" -> origin "http://127.0.0.1:5000", host
 * "127.0.0.1:5000" (malloc'd); anything but scheme://host[:port] is an error
 * naming the service ("S3"), the URL and src.
 */
mc_code aws_endpoint_parse(const char *url, const char *service, const char *src, char **origin,
			   char **host, mc_error *err);

/* Zero a secret string, then free it (NULL is fine). */
void aws_wipe_free(char *s);

/* An AWS error code that botocore's standard retry mode retries whatever the
 * HTTP status (throttling and transient errors: "SlowDown", "ThrottlingException"…). */
bool aws_retryable_code(const char *code);

#endif
