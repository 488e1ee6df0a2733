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
} s3_config;

/* From the URI rest ("bucket/prefix"), opts and the environment. */
mc_code s3_config_load(s3_config *c, const char *bucket_and_prefix, const mc_artifact_opts *o,
		       mc_error *err);
void s3_config_release(s3_config *c);

#endif
