/*
 * Secrets by name from AWS Systems Manager Parameter Store: GetParameter
 * with decryption over the AWS JSON 1.1 protocol (POST / with X-Amz-Target
 * AmazonSSM.GetParameter), signed with our SigV4 (service "ssm") and sent
 * through src/http; and, at start-up, every NAME_PARAMETER environment
 * variable turned into NAME.
 *
 * Settings come from the environment and the shared AWS files as for the S3
 * artifact store (see milkcast/artifact.h): credentials from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the
 * profile (AWS_PROFILE or "default") of the credentials file, else of the
 * config file; the region from AWS_REGION > AWS_DEFAULT_REGION > the
 * profile's region > us-east-1; the endpoint from AWS_ENDPOINT_URL_SSM >
 * AWS_ENDPOINT_URL > the profile's endpoint_url > https://ssm.REGION.amazonaws.com
 * (the AWS SDKs' order).  Retries (transport errors, 429, 5xx, throttling):
 * MILKCAST_SSM_RETRIES, else AWS_MAX_ATTEMPTS - 1, else the profile's
 * max_attempts - 1, else 3; the first wait MILKCAST_SSM_BACKOFF_MS (default
 * 200), doubling, with jitter; every attempt is signed afresh.
 *
 * Errors name the parameter, the HTTP status and the AWS error type and
 * message; never a value or a credential.
 */
#ifndef MILKCAST_SSM_H
#define MILKCAST_SSM_H

#include <stddef.h>
#include <time.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"
#include "milkcast/sigv4.h"

/* A reply larger than this is an error (MC_ERR_LIMIT). */
#define MC_SSM_REPLY_MAX ((size_t)1 << 20)
/* mc_ssm_resolve_env refuses longer values (SSM's own limit is 8 KiB). */
#define MC_SSM_VALUE_MAX ((size_t)64 << 10)

/* A client: the resolved settings and, once a request is made, an HTTP client. */
typedef struct mc_ssm mc_ssm;

/*
 * Resolve the settings (no network: libcurl is loaded by the first
 * request).  Errors name the setting at fault (a variable, or a file and
 * line), never a secret.
 */
mc_code mc_ssm_new(mc_ssm **out, mc_error *err);
void mc_ssm_free(mc_ssm *c);

/* "https://ssm.us-east-1.amazonaws.com" or the endpoint given; the region in use. */
const char *mc_ssm_endpoint(const mc_ssm *c);
const char *mc_ssm_region(const mc_ssm *c);

/*
 * The value of parameter `name` (a name or an ARN, "/milkcast/prod/token"),
 * decrypted, into value (reset first; it may hold NUL bytes, value->len
 * says how many).  MC_ERR_NOT_FOUND for ParameterNotFound and
 * ParameterVersionNotFound; MC_ERR_INVALID for a bad name, a
 * ValidationException, InvalidKeyId and authentication or permission
 * errors (AccessDenied*, UnrecognizedClient, InvalidSignature, expired
 * tokens, HTTP 401/403: error.h has no code of its own for them);
 * MC_ERR_FORMAT for a reply without a string Parameter.Value; MC_ERR_LIMIT
 * for a reply over MC_SSM_REPLY_MAX; MC_ERR_NETWORK for anything else.
 */
mc_code mc_ssm_get_parameter(mc_ssm *c, const char *name, mc_buf *value, mc_error *err);

/*
 * For every environment variable NAME_PARAMETER with a non-empty value,
 * where NAME matches ^[A-Z][A-Z0-9_]*$ (others are ignored): unless NAME is
 * already set to a non-empty value (an explicit value wins, and its
 * parameter is not fetched), fetch the parameter the value names and set
 * NAME to its decrypted value.  All parameters are fetched first, then all
 * variables are set, so a failure changes nothing; the error names the
 * variable and the parameter.  A value with a NUL byte or over
 * MC_SSM_VALUE_MAX bytes is an error.  *resolved (may be NULL) is how many
 * variables were set.  Without such variables it makes no request, loads
 * neither libcurl nor the AWS settings, and returns MC_OK.  Changes the
 * environment: call it at start-up, before any thread starts.
 */
mc_code mc_ssm_resolve_env(int *resolved, mc_error *err);

/* --- the steps, public so tests can check them -------------------------------------- */

/* One signed GetParameter request. */
typedef struct mc_ssm_request {
	mc_buf url;	      /* origin + "/" */
	mc_buf body;	      /* {"Name":"...","WithDecryption":true} */
	mc_sigv4_out sig;     /* canonical request, string to sign, Authorization */
	mc_buf header_text;   /* the header lines, each NUL-terminated (wiped on release) */
	const char *lines[8]; /* "Name: value", pointing into header_text */
	size_t n_lines;
} mc_ssm_request;

/* The request for `name`, signed as at time `now`; released even on failure. */
mc_code mc_ssm_request_build(const mc_ssm *c, const char *name, time_t now, mc_ssm_request *out,
			     mc_error *err);
void mc_ssm_request_release(mc_ssm_request *r);

/*
 * Judge a reply to GetParameter for `name`: a 2xx carrying
 * {"Parameter": {"Value": "..."}} puts the value into value (reset first);
 * otherwise the error as mc_ssm_get_parameter describes it, from the body's
 * "__type" ("com.amazonaws...#ParameterNotFound" is ParameterNotFound) and
 * "message" (or "Message"), else from error_type (the x-amzn-ErrorType
 * header, may be NULL).
 */
mc_code mc_ssm_reply_parse(const char *name, long status, const char *error_type, const void *body,
			   size_t len, mc_buf *value, mc_error *err);

#endif
