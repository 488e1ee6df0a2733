/*
 * Unit tests for the artifact store: key checks, MD5/base64, the file
 * backend, S3 configuration errors; and, when MC_TEST_S3_URI is set (by
 * tests/cli/t50-s3-moto.sh, with MILKCAST_S3_ENDPOINT), the S3 backend
 * against a live server.  With arguments it is a one-shot driver for the
 * CLI tests (see usage()).  Configuration resolution: test_s3_config.c.
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

#include "artifact/artifact_int.h"
#include "milkcast/artifact.h"
#include "milkcast/fsutil.h"

static void test_key_check(void **state)
{
	mc_error err = MC_ERROR_INIT;
	const char *good[] = {"a", "runs/42/model.ubj", "a.b/c..d/.e", "x y/ñ"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_int_equal(mc_artifact_key_check(good[i], &err), MC_OK);
	const char *bad[] = {"",    "/abs", "a//b", "a/",   "../x", "a/../b",
			     "./a", "a/.",  "a\\b", "a\nb", "a\x7f"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(mc_artifact_key_check(bad[i], &err), MC_ERR_INVALID);
		assert_non_null(strstr(err.msg, "invalid artifact key"));
	}
	mc_artifact_key_check("runs/../etc", &err);
	assert_non_null(strstr(err.msg, "'runs/../etc'"));
	mc_artifact_key_check("a\nb", &err);
	assert_non_null(strstr(err.msg, "'a?b'"));
	char long_key[1100];
	memset(long_key, 'k', sizeof long_key - 1);
	long_key[sizeof long_key - 1] = '\0';
	assert_int_equal(mc_artifact_key_check(long_key, &err), MC_ERR_INVALID);
}

static void test_md5_base64(void **state)
{
	uint8_t d[16];
	char b64[25];
	artifact_md5("", 0, d);
	artifact_base64(d, 16, b64);
	assert_string_equal(b64, "1B2M2Y8AsgTpgAmY7PhCfg==");
	artifact_md5("abc", 3, d);
	assert_int_equal(d[0], 0x90);
	assert_int_equal(d[15], 0x72);
	/* 56..64 bytes: the length spills into a second padding block */
	const char *m =
		"12345678901234567890123456789012345678901234567890123456789012345678901234567890";
	artifact_md5(m, 80, d);
	artifact_base64(d, 16, b64);
	assert_string_equal(b64, "V+30oivjyVWsSdouIQe2eg=="); /* 57edf4a22be3c955ac49da2e2107b67a */
	artifact_base64((const uint8_t *)"ab", 2, b64);
	assert_string_equal(b64, "YWI=");
}

static char *scratch(void)
{
	char tmpl[] = "/tmp/mc-artifact-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_file_store(void **state)
{
	char *dir = scratch();
	char uri[600];
	snprintf(uri, sizeof uri, "file://%s/store", dir);
	mc_error err = MC_ERROR_INIT;
	mc_artifact_store *s;
	assert_int_equal(mc_artifact_open(uri, NULL, &s, &err), MC_OK);
	assert_string_equal(mc_artifact_uri(s), uri);
	assert_int_equal(mc_artifact_put(s, "runs/1/model.ubj", "MODEL", 5, &err), MC_OK);
	assert_int_equal(mc_artifact_put(s, "runs/2/bundle.json", "{}", 2, &err), MC_OK);
	assert_int_equal(mc_artifact_put(s, "report.html", "", 0, &err), MC_OK);
	assert_int_equal(mc_artifact_put(s, "runs/1/model.ubj", "MODEL2", 6, &err), MC_OK);
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(mc_artifact_get(s, "runs/1/model.ubj", &b, &err), MC_OK);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "MODEL2", 6);
	assert_int_equal(mc_artifact_get(s, "report.html", &b, &err), MC_OK);
	assert_int_equal(b.len, 0);
	assert_int_equal(mc_artifact_get(s, "runs/9", &b, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "'runs/9'"));
	assert_int_equal(mc_artifact_get(s, "runs", &b, &err), MC_ERR_NOT_FOUND);
	assert_int_equal(mc_artifact_put(s, "../escape", "x", 1, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "'../escape'"));

	/* a writer's leftover temp file is not an artifact */
	char tmp[700];
	snprintf(tmp, sizeof tmp, "%s/store/runs/1/x.tmp.123.4", dir);
	assert_int_equal(mc_write_file_atomic(tmp, "t", 1, &err), MC_OK);

	mc_artifact_keys l;
	assert_int_equal(mc_artifact_list(s, "", &l, &err), MC_OK);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.keys[0], "report.html");
	assert_string_equal(l.keys[1], "runs/1/model.ubj");
	assert_string_equal(l.keys[2], "runs/2/bundle.json");
	mc_artifact_keys_release(&l);
	assert_int_equal(mc_artifact_list(s, "runs/2", &l, &err), MC_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.keys[0], "runs/2/bundle.json");
	mc_artifact_keys_release(&l);
	assert_int_equal(mc_artifact_list(s, "nothing/", &l, &err), MC_OK);
	assert_int_equal(l.n, 0);
	mc_artifact_keys_release(&l);

	bool ex;
	assert_int_equal(mc_artifact_exists(s, "runs/2/bundle.json", &ex, &err), MC_OK);
	assert_true(ex);
	assert_int_equal(mc_artifact_delete(s, "runs/2/bundle.json", &err), MC_OK);
	assert_int_equal(mc_artifact_exists(s, "runs/2/bundle.json", &ex, &err), MC_OK);
	assert_false(ex);
	assert_int_equal(mc_artifact_delete(s, "runs/2/bundle.json", &err), MC_OK);
	mc_buf_release(&b);
	mc_artifact_free(s);

	/* a plain path is relative to the workspace */
	mc_artifact_opts o;
	mc_artifact_opts_init(&o);
	o.workspace = dir;
	assert_int_equal(mc_artifact_open("store", &o, &s, &err), MC_OK);
	assert_int_equal(mc_artifact_exists(s, "runs/1/model.ubj", &ex, &err), MC_OK);
	assert_true(ex);
	mc_artifact_free(s);
	assert_int_equal(mc_artifact_open("file://relative", NULL, &s, &err), MC_ERR_INVALID);
	assert_int_equal(mc_artifact_open("gs://b/p", NULL, &s, &err), MC_ERR_UNSUPPORTED);
	rm_rf(dir);
	free(dir);
}

/* Environment for S3 configuration tests, restored by the caller's teardown. */
static void clear_aws_env(void)
{
	const char *names[] = {"AWS_ACCESS_KEY_ID",
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
			       "MILKCAST_S3_BACKOFF_MS"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		unsetenv(names[i]);
	setenv("AWS_CONFIG_FILE", "/nonexistent/milkcast-test/config", 1);
}

static void test_s3_config(void **state)
{
	if (getenv("MC_TEST_S3_URI"))
		skip(); /* the live run owns the environment */
	clear_aws_env();
	char *dir = scratch();
	char creds[600];
	snprintf(creds, sizeof creds, "%s/credentials", dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);
	mc_error err = MC_ERROR_INIT;
	mc_artifact_store *s;
	assert_int_equal(mc_artifact_open("s3://bucket/p", NULL, &s, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "no AWS credentials for 's3://bucket/p'"));
	const char *text = "[default]\naws_access_key_id = AKIDDEFAULT\n"
			   "aws_secret_access_key = defaultsecret\n"
			   "[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=cisecret\n";
	assert_int_equal(mc_write_file_atomic(creds, text, strlen(text), &err), MC_OK);
	setenv("AWS_PROFILE", "ci", 1);
	setenv("MILKCAST_S3_ENDPOINT", "http://127.0.0.1:1", 1);
	mc_artifact_opts o;
	mc_artifact_opts_init(&o);
	o.retries = 1;
	o.backoff_ms = 1;
	assert_int_equal(mc_artifact_open("s3://bucket/p/", &o, &s, &err), MC_OK);
	assert_string_equal(mc_artifact_uri(s), "s3://bucket/p/");
	/* nothing listens on port 1: a transport error naming the key, not the secret */
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(mc_artifact_get(s, "k", &b, &err), MC_ERR_NETWORK);
	assert_non_null(strstr(err.msg, "'k'"));
	assert_non_null(strstr(err.msg, "2 attempts"));
	assert_null(strstr(err.msg, "cisecret"));
	mc_buf_release(&b);
	mc_artifact_free(s);
	assert_int_equal(mc_artifact_open("s3://Bad_Bucket/p", &o, &s, &err), MC_ERR_INVALID);
	assert_int_equal(mc_artifact_open("s3://bucket/a/../b", &o, &s, &err), MC_ERR_INVALID);
	setenv("MILKCAST_S3_ENDPOINT", "ftp://x", 1);
	assert_int_equal(mc_artifact_open("s3://bucket", &o, &s, &err), MC_ERR_INVALID);
	clear_aws_env();
	rm_rf(dir);
	free(dir);
}

/* --- live S3 (moto) ---------------------------------------------------------- */

/* The store at MC_TEST_S3_URI; NULL (err set) when it cannot be opened. */
static mc_artifact_store *store_open(mc_error *err)
{
	mc_artifact_opts o;
	mc_artifact_opts_init(&o);
	if (!getenv("MILKCAST_S3_BACKOFF_MS"))
		o.backoff_ms = 50;
	const char *part = getenv("MC_TEST_S3_PART_SIZE");
	if (part)
		o.part_size = (size_t)strtoull(part, NULL, 10);
	mc_artifact_store *s = NULL;
	return mc_artifact_open(getenv("MC_TEST_S3_URI"), &o, &s, err) ? NULL : s;
}

static mc_artifact_store *live_open(void)
{
	mc_error err = MC_ERROR_INIT;
	mc_artifact_store *s = store_open(&err);
	if (!s)
		fail_msg("%s", err.msg);
	return s;
}

static void test_s3_live_basic(void **state)
{
	if (!getenv("MC_TEST_S3_URI"))
		skip();
	mc_artifact_store *s = live_open();
	mc_error err = MC_ERROR_INIT;
	const char *body = "price,state\n21.5,Jalisco\n";
	if (mc_artifact_put(s, "runs/1/data set.csv", body, strlen(body), &err))
		fail_msg("%s", err.msg);
	assert_int_equal(mc_artifact_put(s, "runs/2/empty", "", 0, &err), MC_OK);
	mc_buf b = MC_BUF_INIT;
	if (mc_artifact_get(s, "runs/1/data set.csv", &b, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(b.len, strlen(body));
	assert_memory_equal(b.data, body, b.len);
	assert_int_equal(mc_artifact_get(s, "runs/404", &b, &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "'runs/404'"));
	bool ex;
	assert_int_equal(mc_artifact_exists(s, "runs/2/empty", &ex, &err), MC_OK);
	assert_true(ex);
	assert_int_equal(mc_artifact_exists(s, "runs/3", &ex, &err), MC_OK);
	assert_false(ex);

	/* listing across pages: S3 pages at 1000 keys, so write 1005 */
	char key[64];
	for (int i = 0; i < 1005; i++) {
		snprintf(key, sizeof key, "many/%04d", i);
		if (mc_artifact_put(s, key, key, strlen(key), &err))
			fail_msg("%s", err.msg);
	}
	mc_artifact_keys l;
	/* prefixes without '/': moto 5.2 decodes %2F in the query before checking the
	 * signature, so botocore's own listing with "a/" fails there the same way */
	if (mc_artifact_list(s, "many", &l, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(l.n, 1005);
	assert_string_equal(l.keys[1004], "many/1004");
	mc_artifact_keys_release(&l);
	assert_int_equal(mc_artifact_list(s, "runs", &l, &err), MC_OK);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.keys[0], "runs/1/data set.csv");
	mc_artifact_keys_release(&l);

	assert_int_equal(mc_artifact_delete(s, "runs/2/empty", &err), MC_OK);
	assert_int_equal(mc_artifact_exists(s, "runs/2/empty", &ex, &err), MC_OK);
	assert_false(ex);
	assert_int_equal(mc_artifact_delete(s, "runs/2/empty", &err), MC_OK);
	mc_buf_release(&b);
	mc_artifact_free(s);
}

static void test_s3_live_multipart(void **state)
{
	if (!getenv("MC_TEST_S3_URI"))
		skip();
	mc_artifact_store *s = live_open();
	mc_error err = MC_ERROR_INIT;
	size_t n = (size_t)20 << 20;
	uint8_t *p = malloc(n);
	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 2654435761u >> 13);
	if (mc_artifact_put(s, "big/model.bin", p, n, &err))
		fail_msg("%s", err.msg);
	mc_buf b = MC_BUF_INIT;
	if (mc_artifact_get(s, "big/model.bin", &b, &err))
		fail_msg("%s", err.msg);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, p, n);
	mc_buf_release(&b);
	free(p);
	mc_artifact_free(s);
}

static void test_s3_live_wrong_secret(void **state)
{
	if (!getenv("MC_TEST_S3_URI"))
		skip();
	const char *real = getenv("AWS_SECRET_ACCESS_KEY");
	char *saved = real ? strdup(real) : NULL;
	const char *wrong = "WrongSecretDoNotPrintMe0123456789";
	setenv("AWS_SECRET_ACCESS_KEY", wrong, 1);
	mc_artifact_store *s = live_open();
	mc_error err = MC_ERROR_INIT;
	assert_int_not_equal(mc_artifact_put(s, "denied", "x", 1, &err), MC_OK);
	print_message("wrong secret: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "'denied'"));
	assert_non_null(strstr(err.msg, "HTTP 403"));
	assert_non_null(strstr(err.msg, "SignatureDoesNotMatch"));
	assert_null(strstr(err.msg, wrong));
	assert_null(strstr(err.msg, saved ? saved : wrong));
	mc_artifact_free(s);
	if (saved)
		setenv("AWS_SECRET_ACCESS_KEY", saved, 1);
	free(saved);
}

/* Driver for t50: MC_TEST_S3_PUT=key:text puts, MC_TEST_S3_GET=key prints to stdout. */
static int driver(void)
{
	mc_artifact_store *s = live_open();
	mc_error err = MC_ERROR_INIT;
	mc_code rc = MC_OK;
	const char *put = getenv("MC_TEST_S3_PUT"), *get = getenv("MC_TEST_S3_GET");
	if (put) {
		char *k = strdup(put);
		char *colon = strchr(k, ':');
		*colon = '\0';
		rc = mc_artifact_put(s, k, colon + 1, strlen(colon + 1), &err);
		free(k);
	} else {
		mc_buf b = MC_BUF_INIT;
		rc = mc_artifact_get(s, get, &b, &err);
		if (!rc)
			fwrite(b.data, 1, b.len, stdout);
		mc_buf_release(&b);
	}
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	mc_artifact_free(s);
	return rc ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: MC_TEST_S3_URI=s3://b/p test_artifact put KEY TEXT | put-file KEY "
			"PATH | get KEY | exists KEY | delete KEY | list PREFIX\n"
			"  (MC_TEST_S3_PART_SIZE=bytes sets the multipart part size)\n");
	return 2;
}

/* Driver for the CLI tests (t51): one operation, the error on stderr, exit 1 on failure. */
static int driver_args(int argc, char **argv)
{
	if (!getenv("MC_TEST_S3_URI") || argc < 3)
		return usage();
	const char *op = argv[1], *key = argv[2];
	mc_error err = MC_ERROR_INIT;
	mc_artifact_store *s = store_open(&err);
	if (!s) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	mc_code rc = MC_OK;
	mc_buf b = MC_BUF_INIT;
	if (strcmp(op, "put") == 0 && argc == 4) {
		rc = mc_artifact_put(s, key, argv[3], strlen(argv[3]), &err);
	} else if (strcmp(op, "put-file") == 0 && argc == 4) {
		rc = mc_buf_read_file(&b, argv[3], &err);
		if (!rc)
			rc = mc_artifact_put(s, key, b.data, b.len, &err);
	} else if (strcmp(op, "get") == 0 && argc == 3) {
		rc = mc_artifact_get(s, key, &b, &err);
		if (!rc)
			fwrite(b.data, 1, b.len, stdout);
	} else if (strcmp(op, "exists") == 0 && argc == 3) {
		bool ex = false;
		rc = mc_artifact_exists(s, key, &ex, &err);
		if (!rc)
			printf("%s\n", ex ? "yes" : "no");
	} else if (strcmp(op, "delete") == 0 && argc == 3) {
		rc = mc_artifact_delete(s, key, &err);
	} else if (strcmp(op, "list") == 0 && argc == 3) {
		mc_artifact_keys l;
		rc = mc_artifact_list(s, key, &l, &err);
		for (size_t i = 0; !rc && i < l.n; i++)
			printf("%s\n", l.keys[i]);
		if (!rc)
			mc_artifact_keys_release(&l);
	} else {
		mc_artifact_free(s);
		return usage();
	}
	if (rc)
		fprintf(stderr, "%s\n", err.msg);
	mc_buf_release(&b);
	mc_artifact_free(s);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return driver_args(argc, argv);
	if (getenv("MC_TEST_S3_URI") && (getenv("MC_TEST_S3_PUT") || getenv("MC_TEST_S3_GET")))
		return driver();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_check),
		cmocka_unit_test(test_md5_base64),
		cmocka_unit_test(test_file_store),
		cmocka_unit_test(test_s3_config),
		cmocka_unit_test(test_s3_live_basic),
		cmocka_unit_test(test_s3_live_multipart),
		cmocka_unit_test(test_s3_live_wrong_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
