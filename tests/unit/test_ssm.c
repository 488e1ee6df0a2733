/*
 * Unit tests for SSM Parameter Store (src/artifact/ssm.c): the settings,
 * the signed GetParameter request at a fixed time (checked against
 * botocore's SigV4Auth on the same input), replies and errors, retries of
 * transport errors, and NAME_PARAMETER resolution without any variable (no
 * settings, no libcurl) and when it fails (nothing set).  With arguments it
 * is a driver for tests/cli/t54-ssm-moto.sh (see usage()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "milkcast/fsutil.h"
#include "milkcast/ssm.h"

static const char *const env_names[] = {
	"AWS_ACCESS_KEY_ID",	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",	"AWS_SECURITY_TOKEN",
	"AWS_PROFILE",		"AWS_SHARED_CREDENTIALS_FILE",
	"AWS_CONFIG_FILE",	"AWS_ENDPOINT_URL",
	"AWS_ENDPOINT_URL_SSM", "AWS_REGION",
	"AWS_DEFAULT_REGION",	"AWS_MAX_ATTEMPTS",
	"MILKCAST_SSM_RETRIES", "MILKCAST_SSM_BACKOFF_MS",
};

typedef struct fixture {
	char dir[64];
	char config[128];
} fixture;

/* Unset every *_PARAMETER variable (names copied first: unsetenv changes environ). */
static void unset_parameter_vars(void)
{
	char *names[256];
	size_t n = 0;
	for (char **e = environ; *e && n < 256; e++) {
		const char *eq = strchr(*e, '=');
		size_t k = eq ? (size_t)(eq - *e) : strlen(*e);
		if (k >= 10 && memcmp(*e + k - 10, "_PARAMETER", 10) == 0)
			names[n++] = strndup(*e, k);
	}
	for (size_t i = 0; i < n; i++) {
		unsetenv(names[i]);
		free(names[i]);
	}
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mc-ssm-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->config, sizeof f->config, "%s/config", f->dir);
	for (size_t i = 0; i < sizeof env_names / sizeof *env_names; i++)
		unsetenv(env_names[i]);
	unset_parameter_vars();
	setenv("AWS_CONFIG_FILE", f->config, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	setenv("AWS_REGION", "us-east-1", 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	for (size_t i = 0; i < sizeof env_names / sizeof *env_names; i++)
		unsetenv(env_names[i]);
	unset_parameter_vars();
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	mc_error err = MC_ERROR_INIT;
	if (mc_write_file_atomic(path, text, strlen(text), &err))
		fail_msg("%s", err.msg);
}

static bool libcurl_mapped(void)
{
	mc_buf maps = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_buf_read_file(&maps, "/proc/self/maps", &err), MC_OK);
	bool mapped = maps.data && strstr((const char *)maps.data, "libcurl") != NULL;
	mc_buf_release(&maps);
	return mapped;
}

/* First: without NAME_PARAMETER variables to resolve, no settings are read, libcurl is not
 * loaded, nothing changes. */
static void test_resolve_nothing(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	int n = -1;
	/* settings that would fail if they were read */
	setenv("AWS_PROFILE", "nobody-at-all", 1);
	unsetenv("AWS_ACCESS_KEY_ID");
	assert_int_equal(mc_ssm_resolve_env(&n, &err), MC_OK);
	assert_int_equal(n, 0);
	/* not NAME_PARAMETER with NAME ^[A-Z][A-Z0-9_]*$ and a value, or NAME already set */
	setenv("lower_PARAMETER", "/x", 1);
	setenv("_PARAMETER", "/x", 1);
	setenv("9LIVES_PARAMETER", "/x", 1);
	setenv("MIXED_case_PARAMETER", "/x", 1);
	setenv("EMPTY_PARAMETER", "", 1);
	setenv("PARAMETER", "/x", 1);
	setenv("EXPLICIT", "given", 1);
	setenv("EXPLICIT_PARAMETER", "/milkcast/prod/explicit", 1);
	n = -1;
	assert_int_equal(mc_ssm_resolve_env(&n, &err), MC_OK);
	assert_int_equal(n, 0);
	assert_string_equal(getenv("EXPLICIT"), "given");
	assert_null(getenv("lower"));
	assert_null(getenv("EMPTY"));
	assert_int_equal(mc_ssm_resolve_env(NULL, &err), MC_OK);
	assert_false(libcurl_mapped());
	unsetenv("EXPLICIT");
	unsetenv("PARAMETER");
	unsetenv("lower_PARAMETER");
	unsetenv("9LIVES_PARAMETER");
	unsetenv("MIXED_case_PARAMETER");
}

static void test_settings(void **state)
{
	fixture *f = *state;
	mc_error err = MC_ERROR_INIT;
	mc_ssm *c = NULL;
	setenv("AWS_REGION", "eu-west-1", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_OK);
	assert_string_equal(mc_ssm_endpoint(c), "https://ssm.eu-west-1.amazonaws.com");
	assert_string_equal(mc_ssm_region(c), "eu-west-1");
	mc_ssm_free(c);

	/* AWS_ENDPOINT_URL_SSM > AWS_ENDPOINT_URL > the profile's endpoint_url */
	write_file(f->config, "[default]\nregion = sa-east-1\nendpoint_url = http://profile:3/\n");
	unsetenv("AWS_REGION");
	assert_int_equal(mc_ssm_new(&c, &err), MC_OK);
	assert_string_equal(mc_ssm_endpoint(c), "http://profile:3");
	assert_string_equal(mc_ssm_region(c), "sa-east-1");
	mc_ssm_free(c);
	setenv("AWS_ENDPOINT_URL", "http://general:1", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_OK);
	assert_string_equal(mc_ssm_endpoint(c), "http://general:1");
	mc_ssm_free(c);
	setenv("AWS_ENDPOINT_URL_SSM", "https://ssmonly:2/", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_OK);
	assert_string_equal(mc_ssm_endpoint(c), "https://ssmonly:2");
	mc_ssm_free(c);

	setenv("AWS_ENDPOINT_URL_SSM", "ftp://x", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_ERR_INVALID);
	assert_null(c);
	assert_non_null(strstr(err.msg, "invalid SSM endpoint 'ftp://x' in AWS_ENDPOINT_URL_SSM"));
	unsetenv("AWS_ENDPOINT_URL_SSM");
	unsetenv("AWS_ENDPOINT_URL");

	setenv("MILKCAST_SSM_RETRIES", "many", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid retry count 'many' in MILKCAST_SSM_RETRIES"));
	unsetenv("MILKCAST_SSM_RETRIES");

	/* no credentials: the error says where we looked, never a secret */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(mc_ssm_new(&c, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "no AWS credentials for SSM"));
	/* from the profile, with a session token */
	write_file(f->config, "[profile ci]\nregion = eu-central-1\naws_access_key_id = AKIDCI\n"
			      "aws_secret_access_key = cisecret\naws_session_token = citoken\n");
	setenv("AWS_PROFILE", "ci", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_OK);
	assert_string_equal(mc_ssm_region(c), "eu-central-1");
	mc_ssm_request r;
	assert_int_equal(mc_ssm_request_build(c, "/p", 0, &r, &err), MC_OK);
	assert_non_null(strstr((const char *)r.sig.authorization.data,
			       "Credential=AKIDCI/19700101/eu-central-1/ssm/aws4_request"));
	assert_string_equal(r.lines[4], "X-Amz-Security-Token: citoken");
	mc_ssm_request_release(&r);
	mc_ssm_free(c);
	setenv("AWS_PROFILE", "nobody", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "AWS profile 'nobody' (AWS_PROFILE) is in neither"));
}

/*
 * GetParameter at 2015-08-30T12:36:00Z with AWS's example keys.  The canonical
 * request is as the SigV4 docs spell it; the signatures are botocore's
 * (SigV4Auth "ssm" on the same request, body and timestamp).
 */
static void test_request_signed(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_ssm *c = NULL;
	assert_int_equal(mc_ssm_new(&c, &err), MC_OK);
	mc_ssm_request r;
	assert_int_equal(
		mc_ssm_request_build(c, "/milkcast/prod/telegram-token", 1440938160, &r, &err),
		MC_OK);
	assert_string_equal((const char *)r.url.data, "https://ssm.us-east-1.amazonaws.com/");
	assert_string_equal((const char *)r.body.data,
			    "{\"Name\":\"/milkcast/prod/telegram-token\",\"WithDecryption\":true}");
	assert_string_equal((const char *)r.sig.canonical_request.data,
			    "POST\n/\n\n"
			    "content-type:application/x-amz-json-1.1\n"
			    "host:ssm.us-east-1.amazonaws.com\n"
			    "x-amz-date:20150830T123600Z\n"
			    "x-amz-target:AmazonSSM.GetParameter\n\n"
			    "content-type;host;x-amz-date;x-amz-target\n"
			    "9351b5225ed0d879136b52a125012e8130efd7839908c558e102742116ca67b6");
	assert_string_equal((const char *)r.sig.string_to_sign.data,
			    "AWS4-HMAC-SHA256\n20150830T123600Z\n"
			    "20150830/us-east-1/ssm/aws4_request\n"
			    "eb61feed4bf5ca34f5bbab43c42591efd99ec2eaa3e6ff2e24ad28b083be443b");
	assert_string_equal(r.sig.signature,
			    "fa06844072e3eaea735aa4a5d70010ce8964faa0c6638d078ff60d101ad9489d");
	assert_int_equal(r.n_lines, 5);
	assert_string_equal(r.lines[0], "Host: ssm.us-east-1.amazonaws.com");
	assert_string_equal(r.lines[1], "Content-Type: application/x-amz-json-1.1");
	assert_string_equal(r.lines[2], "X-Amz-Date: 20150830T123600Z");
	assert_string_equal(r.lines[3], "X-Amz-Target: AmazonSSM.GetParameter");
	assert_string_equal(
		r.lines[4],
		"Authorization: AWS4-HMAC-SHA256 "
		"Credential=AKIDEXAMPLE/20150830/us-east-1/ssm/aws4_request,"
		"SignedHeaders=content-type;host;x-amz-date;x-amz-target,"
		"Signature=fa06844072e3eaea735aa4a5d70010ce8964faa0c6638d078ff60d101ad9489d");
	mc_ssm_request_release(&r);
	mc_ssm_free(c);

	/* a session token is sent and signed */
	setenv("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLETOKEN", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_OK);
	assert_int_equal(
		mc_ssm_request_build(c, "/milkcast/prod/telegram-token", 1440938160, &r, &err),
		MC_OK);
	assert_non_null(strstr((const char *)r.sig.canonical_request.data,
			       "x-amz-date:20150830T123600Z\n"
			       "x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLETOKEN\n"
			       "x-amz-target:AmazonSSM.GetParameter\n\n"
			       "content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n"));
	assert_string_equal(r.sig.signature,
			    "d7a7227aa70f05e0afc9c2799aa86932ac181f176593be9543e2096337f5dcea");
	assert_int_equal(r.n_lines, 6);
	assert_string_equal(r.lines[4], "X-Amz-Security-Token: IQoJb3JpZ2luX2VjEXAMPLETOKEN");
	mc_ssm_request_release(&r);

	/* a name with quotes, a backslash and UTF-8 is escaped by jansson */
	assert_int_equal(mc_ssm_request_build(c, "/a\"b\\c/ñ", 0, &r, &err), MC_OK);
	assert_string_equal((const char *)r.body.data,
			    "{\"Name\":\"/a\\\"b\\\\c/ñ\",\"WithDecryption\":true}");
	mc_ssm_request_release(&r);

	/* bad names */
	char long_name[2100];
	memset(long_name, 'n', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	assert_int_equal(mc_ssm_request_build(c, "", 0, &r, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "empty"));
	assert_int_equal(mc_ssm_request_build(c, long_name, 0, &r, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "over 2048 bytes"));
	assert_int_equal(mc_ssm_request_build(c, "/bad\xff\n", 0, &r, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'/bad\xff?': not UTF-8"));
	mc_ssm_free(c);
}

static mc_code parse(long status, const char *header, const char *body, mc_buf *value,
		     mc_error *err)
{
	return mc_ssm_reply_parse("/milkcast/prod/token", status, header, body, strlen(body), value,
				  err);
}

static void test_reply_value(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_buf v = MC_BUF_INIT;
	assert_int_equal(
		parse(200, NULL,
		      "{\"Parameter\":{\"ARN\":\"arn:aws:ssm:us-east-1:1:parameter/milkcast/prod/"
		      "token\",\"Name\":\"/milkcast/prod/token\",\"Type\":\"SecureString\","
		      "\"Value\":\"123456789:AA\\\"q'\\\\ \\u00f1 \\ud83e\\udd5b\",\"Version\":3}}",
		      &v, &err),
		MC_OK);
	assert_string_equal((const char *)v.data, "123456789:AA\"q'\\ ñ 🥛");
	/* a NUL byte is kept (the caller decides): value.len counts it */
	assert_int_equal(parse(200, NULL, "{\"Parameter\":{\"Value\":\"a\\u0000b\"}}", &v, &err),
			 MC_OK);
	assert_int_equal(v.len, 3);
	assert_memory_equal(v.data, "a\0b", 3);
	/* the cap of the caller's buffer */
	mc_buf small = MC_BUF_INIT;
	small.max = 4;
	assert_int_equal(parse(200, NULL, "{\"Parameter\":{\"Value\":\"12345\"}}", &small, &err),
			 MC_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "'/milkcast/prod/token' is over 4 bytes"));
	mc_buf_release(&small);
	mc_buf_release(&v);
}

static void test_reply_malformed(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_buf v = MC_BUF_INIT;
	/* cut JSON: never quoted (it may be part of the secret) */
	assert_int_equal(parse(200, NULL, "{\"Parameter\":{\"Value\":\"hunter2", &v, &err),
			 MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "cannot get SSM parameter '/milkcast/prod/token': "
					"HTTP 200 with a reply that is not a JSON object"));
	assert_null(strstr(err.msg, "hunter2"));
	assert_int_equal(parse(200, NULL, "", &v, &err), MC_ERR_FORMAT);
	assert_int_equal(parse(200, NULL, "[1]", &v, &err), MC_ERR_FORMAT);
	assert_int_equal(parse(200, NULL, "{}", &v, &err), MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "without a string Parameter.Value"));
	assert_int_equal(parse(200, NULL, "{\"Parameter\":{\"Name\":\"/x\"}}", &v, &err),
			 MC_ERR_FORMAT);
	assert_int_equal(parse(200, NULL, "{\"Parameter\":{\"Value\":42}}", &v, &err),
			 MC_ERR_FORMAT);
	assert_int_equal(parse(200, NULL, "{\"Parameter\":\"x\"}", &v, &err), MC_ERR_FORMAT);
	assert_int_equal(v.len, 0);
	mc_buf_release(&v);
}

static void test_reply_errors(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_buf v = MC_BUF_INIT;
	assert_int_equal(parse(400, NULL,
			       "{\"__type\":\"com.amazonaws.ssm.model#ParameterNotFound\","
			       "\"message\":\"Parameter /milkcast/prod/token not found.\"}",
			       &v, &err),
			 MC_ERR_NOT_FOUND);
	assert_string_equal(err.msg,
			    "cannot get SSM parameter '/milkcast/prod/token': HTTP 400 "
			    "ParameterNotFound: Parameter /milkcast/prod/token not found.");
	assert_int_equal(parse(400, NULL, "{\"__type\":\"ParameterNotFound\"}", &v, &err),
			 MC_ERR_NOT_FOUND);
	assert_int_equal(parse(400, NULL, "{\"__type\":\"ParameterVersionNotFound\"}", &v, &err),
			 MC_ERR_NOT_FOUND);
	/* the type from x-amzn-ErrorType when the body has none */
	assert_int_equal(parse(400, "ParameterNotFound:http://internal.amazon.com/coral/x/",
			       "not json", &v, &err),
			 MC_ERR_NOT_FOUND);
	assert_string_equal(err.msg, "cannot get SSM parameter '/milkcast/prod/token': HTTP 400 "
				     "ParameterNotFound");

	/* credentials and permissions: MC_ERR_INVALID with a hint */
	assert_int_equal(parse(400, NULL,
			       "{\"__type\":\"AccessDeniedException\",\"Message\":\"User: "
			       "arn:aws:sts::1:assumed-role/daily is not authorized\"}",
			       &v, &err),
			 MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "HTTP 400 AccessDeniedException: User: arn:aws:sts::1:"
					"assumed-role/daily is not authorized (check the AWS "
					"credentials"));
	assert_int_equal(parse(400, NULL, "{\"__type\":\"UnrecognizedClientException\"}", &v, &err),
			 MC_ERR_INVALID);
	assert_int_equal(parse(400, NULL, "{\"__type\":\"InvalidSignatureException\"}", &v, &err),
			 MC_ERR_INVALID);
	assert_int_equal(parse(403, NULL, "<ErrorResponse><Error/></ErrorResponse>", &v, &err),
			 MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "HTTP 403 (check the AWS credentials"));
	/* an XML error body (the query protocol's: moto's signature check, some proxies) */
	assert_int_equal(parse(403, NULL,
			       "<?xml version=\"1.0\"?><ErrorResponse><Errors><Error>"
			       "<Code>SignatureDoesNotMatch</Code><Message>The request signature "
			       "we calculated does not match</Message></Error></Errors>"
			       "</ErrorResponse>",
			       &v, &err),
			 MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "HTTP 403 SignatureDoesNotMatch: The request signature we "
					"calculated does not match (check the AWS credentials"));
	assert_int_equal(parse(400, NULL, "<Code>ParameterNotFound</Code>", &v, &err),
			 MC_ERR_NOT_FOUND);
	assert_int_equal(parse(400, NULL, "<Code>Param<b>eterNotFound</Code>", &v, &err),
			 MC_ERR_NETWORK);
	assert_int_equal(parse(400, NULL, "<Code>ParameterNotFound", &v, &err), MC_ERR_NETWORK);
	assert_int_equal(parse(400, NULL, "{\"__type\":\"ValidationException\"}", &v, &err),
			 MC_ERR_INVALID);

	/* anything else is the service's or the network's */
	assert_int_equal(parse(400, NULL, "{\"__type\":\"ThrottlingException\"}", &v, &err),
			 MC_ERR_NETWORK);
	assert_int_equal(parse(500, NULL, "{\"__type\":\"InternalServerError\"}", &v, &err),
			 MC_ERR_NETWORK);
	assert_non_null(strstr(err.msg, "HTTP 500 InternalServerError"));
	assert_int_equal(parse(502, NULL, "<html>bad gateway</html>", &v, &err), MC_ERR_NETWORK);
	assert_string_equal(err.msg, "cannot get SSM parameter '/milkcast/prod/token': HTTP 502");
	assert_int_equal(parse(404, NULL, "", &v, &err), MC_ERR_NETWORK);
	/* control bytes in a message are not passed on */
	assert_int_equal(
		parse(400, NULL, "{\"__type\":\"X\",\"message\":\"a\\nb\\u001b[0m\"}", &v, &err),
		MC_ERR_NETWORK);
	assert_non_null(strstr(err.msg, "X: a?b?[0m"));
	mc_buf_release(&v);
}

/* Nothing listens on port 1: a transport error after the retries, naming the parameter and the
 * endpoint. */
static void test_transport_error(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	mc_ssm *c = NULL;
	setenv("AWS_ENDPOINT_URL_SSM", "http://127.0.0.1:1", 1);
	setenv("MILKCAST_SSM_RETRIES", "2", 1);
	setenv("MILKCAST_SSM_BACKOFF_MS", "1", 1);
	assert_int_equal(mc_ssm_new(&c, &err), MC_OK);
	mc_buf v = MC_BUF_INIT;
	assert_int_equal(mc_ssm_get_parameter(c, "/milkcast/x", &v, &err), MC_ERR_NETWORK);
	assert_non_null(strstr(err.msg,
			       "cannot get SSM parameter '/milkcast/x' from 'http://127.0.0.1:1'"));
	assert_non_null(strstr(err.msg, "(3 attempts)"));
	assert_null(strstr(err.msg, "EXAMPLEKEY"));
	assert_true(libcurl_mapped()); /* the check of test_resolve_nothing can see it */
	mc_buf_release(&v);
	mc_ssm_free(c);
}

/* A failure sets nothing and names the variable and the parameter. */
static void test_resolve_failure(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	int n = -1;
	setenv("MILKCAST_A_PARAMETER", "/milkcast/a", 1);
	setenv("MILKCAST_B_PARAMETER", "/milkcast/b", 1);
	setenv("MILKCAST_B", "", 1); /* empty is not explicit */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_int_equal(mc_ssm_resolve_env(&n, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "cannot resolve MILKCAST_A_PARAMETER ('/milkcast/a'): "
					"no AWS credentials for SSM"));
	assert_int_equal(n, 0);

	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1", 1);
	setenv("MILKCAST_SSM_RETRIES", "0", 1);
	assert_int_equal(mc_ssm_resolve_env(&n, &err), MC_ERR_NETWORK);
	assert_non_null(strstr(err.msg, "cannot resolve MILKCAST_A_PARAMETER: cannot get SSM "
					"parameter '/milkcast/a' from 'http://127.0.0.1:1'"));
	assert_null(getenv("MILKCAST_A"));
	assert_string_equal(getenv("MILKCAST_B"), "");
	assert_int_equal(n, 0);
	unsetenv("MILKCAST_B");
}

/* --- the driver of tests/cli/t54-ssm-moto.sh --------------------------------------------- */

static int usage(void)
{
	fprintf(stderr, "usage: test_ssm get NAME       print the parameter's value\n"
			"       test_ssm resolve VAR... mc_ssm_resolve_env, then print "
			"\"resolved N\" and each VAR=value (or VAR unset)\n");
	return 2;
}

static int driver(int argc, char **argv)
{
	mc_error err = MC_ERROR_INIT;
	mc_code rc;
	if (argc == 3 && strcmp(argv[1], "get") == 0) {
		mc_ssm *c = NULL;
		mc_buf v = MC_BUF_INIT;
		rc = mc_ssm_new(&c, &err);
		if (!rc)
			rc = mc_ssm_get_parameter(c, argv[2], &v, &err);
		if (!rc)
			fwrite(v.data, 1, v.len, stdout);
		mc_buf_release(&v);
		mc_ssm_free(c);
	} else if (argc >= 2 && strcmp(argv[1], "resolve") == 0) {
		int n = 0;
		rc = mc_ssm_resolve_env(&n, &err);
		printf("resolved %d\n", n);
		for (int i = 2; i < argc; i++) {
			const char *v = getenv(argv[i]);
			if (v)
				printf("%s=%s\n", argv[i], v);
			else
				printf("%s unset\n", argv[i]);
		}
	} else {
		return usage();
	}
	if (rc)
		fprintf(stderr, "test_ssm: %s: %s\n", mc_strerror(rc), err.msg);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return driver(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resolve_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_signed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_failure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
