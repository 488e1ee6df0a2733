/*
 * Unit tests for the S3 settings (src/artifact/s3_config.c): the shared AWS
 * config and credentials files (profiles, nested "s3 =" settings, parse
 * errors naming file and line), and the precedence of the environment over
 * them, as botocore resolves it.  Every test runs with HOME and both file
 * variables pointing into a scratch directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifact/s3_int.h"
#include "milkcast/fsutil.h"

typedef struct fixture {
	char dir[64];
	char config[128];
	char creds[128];
	char *saved_home;
} fixture;

static const char *const env_names[] = {
	"AWS_ACCESS_KEY_ID",
	"AWS_SECRET_ACCESS_KEY",
	"AWS_SESSION_TOKEN",
	"AWS_SECURITY_TOKEN",
	"AWS_PROFILE",
	"AWS_SHARED_CREDENTIALS_FILE",
	"AWS_CONFIG_FILE",
	"MILKCAST_S3_ENDPOINT",
	"AWS_ENDPOINT_URL",
	"AWS_ENDPOINT_URL_S3",
	"AWS_REGION",
	"AWS_DEFAULT_REGION",
	"AWS_MAX_ATTEMPTS",
	"MILKCAST_S3_RETRIES",
	"MILKCAST_S3_BACKOFF_MS",
};

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mc-s3cfg-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->config, sizeof f->config, "%s/config", f->dir);
	snprintf(f->creds, sizeof f->creds, "%s/credentials", f->dir);
	const char *home = getenv("HOME");
	f->saved_home = home ? strdup(home) : NULL;
	for (size_t i = 0; i < sizeof env_names / sizeof *env_names; i++)
		unsetenv(env_names[i]);
	setenv("HOME", f->dir, 1);
	setenv("AWS_CONFIG_FILE", f->config, 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", f->creds, 1);
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
	if (f->saved_home)
		setenv("HOME", f->saved_home, 1);
	free(f->saved_home);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	mc_error err = MC_ERROR_INIT;
	if (mc_write_file_atomic(path, text, strlen(text), &err))
		fail_msg("%s", err.msg);
}

/* Load "bucket/p" with default opts; the config is released unless out is given. */
static mc_code load_opts(const mc_artifact_opts *o, s3_config *out, mc_error *err)
{
	s3_config c;
	mc_code rc = s3_config_load(&c, "bucket/p", o, err);
	if (out && !rc)
		*out = c;
	else
		s3_config_release(&c);
	return rc;
}

static mc_code load(s3_config *out, mc_error *err)
{
	mc_artifact_opts o;
	mc_artifact_opts_init(&o);
	return load_opts(&o, out, err);
}

static void env_keys(void)
{
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
}

static void test_missing_files(void **state)
{
	(void)state;
	mc_error err = MC_ERROR_INIT;
	s3_config c;
	/* neither file exists: no credentials, and the message says where we looked */
	assert_int_equal(load(&c, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "no AWS credentials for 's3://bucket/p'"));
	assert_non_null(strstr(err.msg, "profile 'default'"));
	assert_non_null(strstr(err.msg, "/credentials"));
	env_keys();
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.region, "us-east-1");
	assert_string_equal(c.origin, "https://bucket.s3.us-east-1.amazonaws.com");
	assert_string_equal(c.base_path, "");
	assert_string_equal(c.access_key, "AKIDENV");
	assert_null(c.session_token);
	assert_int_equal(c.retries, 3);
	assert_int_equal(c.backoff_ms, 200);
	s3_config_release(&c);
	/* without HOME and without the variables there is no file at all */
	unsetenv("HOME");
	unsetenv("AWS_CONFIG_FILE");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	assert_int_equal(load(NULL, &err), MC_OK);
}

static void test_region_precedence(void **state)
{
	fixture *f = *state;
	mc_error err = MC_ERROR_INIT;
	s3_config c;
	env_keys();
	write_file(f->config, "[default]\nregion = eu-west-1\n[profile ci]\nregion = sa-east-1\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.region, "eu-west-1");
	assert_string_equal(c.origin, "https://bucket.s3.eu-west-1.amazonaws.com");
	s3_config_release(&c);
	setenv("AWS_PROFILE", "ci", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.region, "sa-east-1");
	s3_config_release(&c);
	setenv("AWS_DEFAULT_REGION", "us-west-2", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.region, "us-west-2");
	s3_config_release(&c);
	setenv("AWS_REGION", "ap-south-1", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.region, "ap-south-1");
	s3_config_release(&c);
	/* a region that could not go into a host name is an error naming its source */
	setenv("AWS_REGION", "eu west/1", 1);
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid AWS region 'eu west/1' in AWS_REGION"));
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	write_file(f->config,
		   "[profile ci]\nregion = us-east-1 # a comment is part of the value\n");
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "in profile 'ci' of '"));
	assert_non_null(strstr(err.msg, "/config' line 2"));
}

static void test_profile_selection(void **state)
{
	fixture *f = *state;
	mc_error err = MC_ERROR_INIT;
	s3_config c;
	/* in the config file "[ci]" is not a profile ("[profile ci]" is); in the credentials
	 * file it is; keys are case-insensitive, ':' works as '=' */
	write_file(f->config, "; settings\n"
			      "[default]\n"
			      "aws_access_key_id = AKIDDEFAULT\n"
			      "aws_secret_access_key = defaultsecret\n"
			      "[ci]\n"
			      "region = eu-north-1\n"
			      "[profile  ci ]\n"
			      "  # indented comment\n"
			      "Region: eu-central-1\n"
			      "AWS_Access_Key_Id = AKIDCONFIGCI\n"
			      "aws_secret_access_key=configcisecret\n"
			      "aws_security_token = legacytoken\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.access_key, "AKIDDEFAULT");
	assert_string_equal(c.secret_key, "defaultsecret");
	assert_string_equal(c.region, "us-east-1");
	s3_config_release(&c);
	setenv("AWS_PROFILE", "ci", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.access_key, "AKIDCONFIGCI");
	assert_string_equal(c.secret_key, "configcisecret");
	assert_string_equal(c.session_token, "legacytoken");
	assert_string_equal(c.region, "eu-central-1");
	s3_config_release(&c);
	/* the credentials file's profile wins over the config file's, token and all */
	write_file(f->creds, "[default]\naws_access_key_id = AKIDX\naws_secret_access_key = x\n"
			     "[ci]\r\naws_access_key_id = AKIDCREDSCI\r\n"
			     "aws_secret_access_key = credscisecret\r\n"
			     "aws_session_token = sessiontoken\r\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.access_key, "AKIDCREDSCI");
	assert_string_equal(c.secret_key, "credscisecret");
	assert_string_equal(c.session_token, "sessiontoken");
	assert_string_equal(c.region, "eu-central-1");
	s3_config_release(&c);
	/* and the environment over both */
	env_keys();
	setenv("AWS_SECURITY_TOKEN", "envtoken", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.access_key, "AKIDENV");
	assert_string_equal(c.session_token, "envtoken");
	s3_config_release(&c);
	/* a profile asked for by name must exist somewhere, even with keys in the environment */
	setenv("AWS_PROFILE", "nobody", 1);
	assert_int_equal(load(NULL, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "AWS profile 'nobody' (AWS_PROFILE) is in neither"));
	/* the credentials file alone may hold it */
	setenv("AWS_PROFILE", "ci", 1);
	write_file(f->config, "[default]\n");
	assert_int_equal(load(NULL, &err), MC_OK);
}

static void test_partial_credentials(void **state)
{
	fixture *f = *state;
	mc_error err = MC_ERROR_INIT;
	setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY is not"));
	unsetenv("AWS_ACCESS_KEY_ID");
	/* a secret alone in the environment is ignored (as botocore) */
	setenv("AWS_SECRET_ACCESS_KEY", "lonesecret", 1);
	write_file(f->creds, "[default]\n\naws_access_key_id = AKIDNOSECRET\n");
	write_file(f->config, "[default]\naws_access_key_id = AKIDC\naws_secret_access_key = c\n");
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "profile 'default' of '"));
	assert_non_null(strstr(err.msg, "/credentials' has aws_access_key_id (line 3) but no "
					"aws_secret_access_key"));
	assert_null(strstr(err.msg, "lonesecret"));
	/* an empty value is no value */
	write_file(f->creds, "[default]\naws_access_key_id =\n");
	s3_config c;
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.access_key, "AKIDC");
	s3_config_release(&c);
}

/* Each malformed file fails with the file and line, never the line's text. */
static void test_malformed(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *text;
		int line;
		const char *what;
	} cases[] = {
		{"[default]\nregion = eu-west-1\nsupersecretwithoutequals\n", 3,
		 "expected 'name = value'"},
		{"region = eu-west-1\n[default]\n", 1, "a setting before any [section]"},
		{"[default]\n[profile x]\n[default]\n", 3, "duplicate section [default]"},
		{"[default]\nregion = a\nREGION = b\n", 3, "duplicate setting 'region'"},
		{"[default]\n = supersecret\n", 2, "a setting without a name"},
		{"[default]\n[ ]\n", 2, "empty section name"},
		{"[default\n", 1, "expected '[section]'"},
		{"[profile other]\ns3 =\n  addressing_style = path\n  supersecret\n", 4,
		 "expected 'name = value' in a nested block"},
	};
	env_keys();
	mc_error err = MC_ERROR_INIT;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		write_file(f->config, cases[i].text);
		assert_int_equal(load(NULL, &err), MC_ERR_FORMAT);
		char want[256];
		snprintf(want, sizeof want, "cannot parse AWS config file '%s' line %d: %s",
			 f->config, cases[i].line, cases[i].what);
		if (!strstr(err.msg, want))
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg, want);
		assert_null(strstr(err.msg, "supersecret"));
	}
	/* the credentials file is parsed the same way, even when the environment has keys */
	write_file(f->config, "[default]\n");
	write_file(f->creds, "[default]\naws_secret_access_key wJalrXUtnFEMI\n");
	assert_int_equal(load(NULL, &err), MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "credentials file"));
	assert_non_null(strstr(err.msg, "line 2"));
	assert_null(strstr(err.msg, "wJalr"));
	/* a path that is not a readable file */
	unlink(f->creds);
	setenv("AWS_CONFIG_FILE", f->dir, 1);
	assert_int_equal(load(NULL, &err), MC_ERR_IO);
	assert_non_null(strstr(err.msg, "cannot read AWS config file"));
}

static void test_tolerated(void **state)
{
	fixture *f = *state;
	env_keys();
	mc_error err = MC_ERROR_INIT;
	s3_config c;
	/* continuation lines of values we do not read, other sections' nested blocks,
	 * blank lines inside a value, tabs, trailing spaces */
	write_file(f->config, "[default]\n"
			      "\tregion = eu-south-1  \n"
			      "note = a long\n"
			      "   text over\n"
			      "\n"
			      "   several lines: fine\n"
			      "[services mine]\n"
			      "s3 =\n"
			      "  endpoint_url = http://elsewhere\n"
			      "[sso-session x]\n"
			      "sso_region = us-east-1\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.region, "eu-south-1");
	s3_config_release(&c);
	/* "~/" in a path given by variable */
	write_file(f->config, "[default]\nregion = ca-central-1\n");
	setenv("AWS_CONFIG_FILE", "~/config", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.region, "ca-central-1");
	s3_config_release(&c);
}

static void test_endpoint_and_addressing(void **state)
{
	fixture *f = *state;
	env_keys();
	mc_error err = MC_ERROR_INIT;
	s3_config c;
	write_file(f->config, "[default]\nregion = eu-west-2\ns3 =\n"
			      "    addressing_style = path\n"
			      "    signature_version = s3v4\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.origin, "https://s3.eu-west-2.amazonaws.com");
	assert_string_equal(c.base_path, "/bucket");
	s3_config_release(&c);
	write_file(f->config, "[default]\ns3 =\n  addressing_style = virtual\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.origin, "https://bucket.s3.us-east-1.amazonaws.com");
	s3_config_release(&c);
	write_file(f->config, "[default]\ns3 =\n  addressing_style = sideways\n");
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid s3 addressing_style 'sideways' in profile "
					"'default' of '"));
	assert_non_null(strstr(err.msg, "line 3"));
	/* "s3 = value" is not a nested block */
	write_file(f->config, "[default]\ns3 = addressing_style = path\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.base_path, "");
	s3_config_release(&c);

	/* endpoints: config < AWS_ENDPOINT_URL < AWS_ENDPOINT_URL_S3 < MILKCAST_S3_ENDPOINT <
	 * opts */
	write_file(f->config, "[default]\nendpoint_url = http://127.0.0.1:9000/\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.origin, "http://127.0.0.1:9000");
	assert_string_equal(c.host, "127.0.0.1:9000");
	assert_string_equal(c.base_path, "/bucket");
	s3_config_release(&c);
	setenv("AWS_ENDPOINT_URL", "http://general:1", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.host, "general:1");
	s3_config_release(&c);
	setenv("AWS_ENDPOINT_URL_S3", "http://s3only:2", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.host, "s3only:2");
	s3_config_release(&c);
	setenv("MILKCAST_S3_ENDPOINT", "https://ours:3", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_string_equal(c.origin, "https://ours:3");
	s3_config_release(&c);
	mc_artifact_opts o;
	mc_artifact_opts_init(&o);
	o.endpoint = "http://opts:4";
	assert_int_equal(load_opts(&o, &c, &err), MC_OK);
	assert_string_equal(c.host, "opts:4");
	s3_config_release(&c);
	unsetenv("MILKCAST_S3_ENDPOINT");
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_ENDPOINT_URL");
	write_file(f->config, "[default]\n\nendpoint_url = ftp://x\n");
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid S3 endpoint 'ftp://x' in profile 'default' of"));
	assert_non_null(strstr(err.msg, "line 3"));
}

static void test_retries(void **state)
{
	fixture *f = *state;
	env_keys();
	mc_error err = MC_ERROR_INIT;
	s3_config c;
	write_file(f->config, "[default]\nmax_attempts = 6\n");
	assert_int_equal(load(&c, &err), MC_OK);
	assert_int_equal(c.retries, 5);
	s3_config_release(&c);
	setenv("AWS_MAX_ATTEMPTS", "2", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_int_equal(c.retries, 1);
	s3_config_release(&c);
	setenv("MILKCAST_S3_RETRIES", "0", 1);
	setenv("MILKCAST_S3_BACKOFF_MS", "15", 1);
	assert_int_equal(load(&c, &err), MC_OK);
	assert_int_equal(c.retries, 0);
	assert_int_equal(c.backoff_ms, 15);
	s3_config_release(&c);
	/* explicit opts win over everything */
	mc_artifact_opts o;
	mc_artifact_opts_init(&o);
	o.retries = 7;
	o.backoff_ms = 0;
	assert_int_equal(load_opts(&o, &c, &err), MC_OK);
	assert_int_equal(c.retries, 7);
	assert_int_equal(c.backoff_ms, 0);
	s3_config_release(&c);
	/* bad values name their source */
	setenv("MILKCAST_S3_RETRIES", "3x", 1);
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid retry count '3x' in MILKCAST_S3_RETRIES"));
	setenv("MILKCAST_S3_RETRIES", "21", 1);
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	unsetenv("MILKCAST_S3_RETRIES");
	setenv("MILKCAST_S3_BACKOFF_MS", "-1", 1);
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "MILKCAST_S3_BACKOFF_MS"));
	unsetenv("MILKCAST_S3_BACKOFF_MS");
	setenv("AWS_MAX_ATTEMPTS", "0", 1);
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid max_attempts '0' in AWS_MAX_ATTEMPTS"));
	unsetenv("AWS_MAX_ATTEMPTS");
	write_file(f->config, "[default]\n# x\nmax_attempts = many\n");
	assert_int_equal(load(NULL, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "invalid max_attempts 'many' in profile 'default' of"));
	assert_non_null(strstr(err.msg, "line 3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_missing_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tolerated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_and_addressing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
