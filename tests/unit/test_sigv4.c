/* Unit tests for SigV4: HMAC-SHA256 (RFC 4231), AWS's published examples step by step, a botocore
 * vector. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "milkcast/sha256.h"
#include "milkcast/sigv4.h"

static void hexs(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_hmac_rfc4231(void **state)
{
	uint8_t mac[32], key[20], key131[131];
	char h[65];
	memset(key, 0x0b, sizeof key);
	mc_hmac_sha256(key, sizeof key, "Hi There", 8, mac);
	hexs(mac, 32, h);
	assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	mc_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
	hexs(mac, 32, h);
	assert_string_equal(h, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* Test case 6: a key longer than the block is hashed first. */
	memset(key131, 0xaa, sizeof key131);
	const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
	mc_hmac_sha256(key131, sizeof key131, m, strlen(m), mac);
	hexs(mac, 32, h);
	assert_string_equal(h, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_uri_encode(void **state)
{
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(mc_sigv4_uri_encode(&b, "a b/c~d_e.f-g+h=é%", true), MC_OK);
	assert_string_equal((char *)b.data, "a%20b/c~d_e.f-g%2Bh%3D%C3%A9%25");
	mc_buf_reset(&b);
	assert_int_equal(mc_sigv4_uri_encode(&b, "a/b", false), MC_OK);
	assert_string_equal((char *)b.data, "a%2Fb");
	mc_buf_reset(&b);
	mc_sigv4_pair q[] = {{"prefix", "runs/a b"}, {"list-type", "2"}, {"b", ""}, {"a", "z"}};
	assert_int_equal(mc_sigv4_canonical_query(&b, q, 4), MC_OK);
	assert_string_equal((char *)b.data, "a=z&b=&list-type=2&prefix=runs%2Fa%20b");
	mc_buf_release(&b);
}

/*
 * The S3 "GET Object" example of "Authenticating Requests: Using the
 * Authorization Header (AWS Signature Version 4)", Amazon S3 API reference.
 */
static void test_aws_s3_get_object(void **state)
{
	mc_sigv4_pair h[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"Range", "bytes=0-9"},
		{"x-amz-content-sha256", MC_SIGV4_EMPTY_SHA256},
		{"x-amz-date", "20130524T000000Z"},
	};
	mc_sigv4_request req = {.method = "GET",
				.path = "/test.txt",
				.headers = h,
				.n_headers = 4,
				.payload_hash = MC_SIGV4_EMPTY_SHA256};
	mc_sigv4_key key = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			    "us-east-1", "s3"};
	mc_sigv4_out out;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_sigv4_sign(&req, &key, "20130524T000000Z", &out, &err), MC_OK);
	assert_string_equal((char *)out.canonical_request.data,
			    "GET\n/test.txt\n\n"
			    "host:examplebucket.s3.amazonaws.com\n"
			    "range:bytes=0-9\n"
			    "x-amz-content-sha256:" MC_SIGV4_EMPTY_SHA256 "\n"
			    "x-amz-date:20130524T000000Z\n\n"
			    "host;range;x-amz-content-sha256;x-amz-date\n" MC_SIGV4_EMPTY_SHA256);
	assert_string_equal(
		(char *)out.string_to_sign.data,
		"AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
		"7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
	assert_string_equal(out.signature,
			    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	assert_string_equal(
		(char *)out.authorization.data,
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
		"aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	mc_sigv4_out_release(&out);
}

/* The IAM ListUsers example of the general SigV4 documentation ("Create a signed AWS API request").
 */
static void test_aws_iam_list_users(void **state)
{
	mc_sigv4_pair h[] = {
		{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
		{"Host", "iam.amazonaws.com"},
		{"X-Amz-Date", "20150830T123600Z"},
	};
	mc_sigv4_pair q[] = {{"Version", "2010-05-08"}, {"Action", "ListUsers"}};
	mc_sigv4_request req = {.method = "GET",
				.path = "/",
				.query = q,
				.n_query = 2,
				.headers = h,
				.n_headers = 3,
				.payload_hash = MC_SIGV4_EMPTY_SHA256};
	mc_sigv4_key key = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
			    "iam"};
	uint8_t k[32];
	char kh[65];
	mc_sigv4_signing_key(key.secret_key, "20150830", "us-east-1", "iam", k);
	hexs(k, 32, kh);
	assert_string_equal(kh, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
	mc_sigv4_out out;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_sigv4_sign(&req, &key, "20150830T123600Z", &out, &err), MC_OK);
	assert_string_equal((char *)out.canonical_request.data,
			    "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
			    "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
			    "host:iam.amazonaws.com\n"
			    "x-amz-date:20150830T123600Z\n\n"
			    "content-type;host;x-amz-date\n" MC_SIGV4_EMPTY_SHA256);
	char ch[65];
	mc_sha256_hex(out.canonical_request.data, out.canonical_request.len, ch);
	assert_string_equal(ch, "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	assert_string_equal(
		(char *)out.string_to_sign.data,
		"AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
		"f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	assert_string_equal(out.signature,
			    "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
	mc_sigv4_out_release(&out);
}

/*
 * A vector from botocore 1.43 (S3SigV4Auth.canonical_request, string_to_sign,
 * signature on an AWSRequest; pyenv python3): PUT of the body "milk prices\n"
 * to https://s3.us-west-2.amazonaws.com/my-bucket/models/run%201/b%C3%BCndle.json
 * ?uploadId=a%2Fb%2Bc&partNumber=2 with a session token, signed at
 * 20240315T101112Z.  Checks path encoding, query sorting and the token header.
 */
static void test_botocore_put_part(void **state)
{
	const char *body_hash = "8a44261ff2f399e29c42a9f85032f1744c0b90e2264c5b50941c1ab7e6620571";
	char got_hash[65];
	mc_sha256_hex("milk prices\n", 12, got_hash);
	assert_string_equal(got_hash, body_hash);
	mc_sigv4_pair h[] = {
		{"Host", "s3.us-west-2.amazonaws.com"},
		{"x-amz-content-sha256", body_hash},
		{"Content-MD5", "Q2hlY2sgSW50ZWdyaXR5IQ=="},
		{"X-Amz-Date", "20240315T101112Z"},
		{"X-Amz-Security-Token", "FQoGZXIvYXdzEXAMPLETOKEN"},
	};
	mc_sigv4_pair q[] = {{"uploadId", "a/b+c"}, {"partNumber", "2"}};
	mc_sigv4_request req = {.method = "PUT",
				.path = "/my-bucket/models/run 1/b\xc3\xbcndle.json",
				.query = q,
				.n_query = 2,
				.headers = h,
				.n_headers = 5,
				.payload_hash = body_hash};
	mc_sigv4_key key = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-west-2",
			    "s3"};
	mc_sigv4_out out;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_sigv4_sign(&req, &key, "20240315T101112Z", &out, &err), MC_OK);
	assert_string_equal(
		(char *)out.canonical_request.data,
		"PUT\n/my-bucket/models/run%201/b%C3%BCndle.json\n"
		"partNumber=2&uploadId=a%2Fb%2Bc\n"
		"content-md5:Q2hlY2sgSW50ZWdyaXR5IQ==\n"
		"host:s3.us-west-2.amazonaws.com\n"
		"x-amz-content-sha256:"
		"8a44261ff2f399e29c42a9f85032f1744c0b90e2264c5b50941c1ab7e6620571\n"
		"x-amz-date:20240315T101112Z\n"
		"x-amz-security-token:FQoGZXIvYXdzEXAMPLETOKEN\n\n"
		"content-md5;host;x-amz-content-sha256;x-amz-date;x-amz-security-token\n"
		"8a44261ff2f399e29c42a9f85032f1744c0b90e2264c5b50941c1ab7e6620571");
	assert_string_equal(
		(char *)out.string_to_sign.data,
		"AWS4-HMAC-SHA256\n20240315T101112Z\n20240315/us-west-2/s3/aws4_request\n"
		"73aa2b442a997e791af6a2a6df2497a8addcebf69b8965cfbd9aa70506f2eb0d");
	assert_string_equal(out.signature,
			    "e6a837a9552435ac7e6754581bed0da1a85fc7dbde7230c094d0433c718a48bd");
	mc_sigv4_out_release(&out);
}

static void test_header_trim_and_date(void **state)
{
	mc_sigv4_pair h[] = {{"X-Amz-Date", "20240101T000000Z"},
			     {"Host", "h"},
			     {"X-Amz-Meta-A", "  two   spaces \t here  "}};
	mc_sigv4_request req = {.method = "GET",
				.path = "",
				.headers = h,
				.n_headers = 3,
				.payload_hash = MC_SIGV4_UNSIGNED};
	mc_sigv4_key key = {"AK", "SECRETSECRET", "eu-west-1", "s3"};
	mc_sigv4_out out;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_sigv4_sign(&req, &key, "20240101T000000Z", &out, &err), MC_OK);
	assert_string_equal((char *)out.canonical_request.data,
			    "GET\n/\n\nhost:h\nx-amz-date:20240101T000000Z\n"
			    "x-amz-meta-a:two spaces here\n\n"
			    "host;x-amz-date;x-amz-meta-a\nUNSIGNED-PAYLOAD");
	assert_null(strstr((char *)out.authorization.data, "SECRETSECRET"));
	mc_sigv4_out_release(&out);
	assert_int_equal(mc_sigv4_sign(&req, &key, "2024-01-01", &out, &err), MC_ERR_INVALID);
	char d[17];
	mc_sigv4_amz_date(1369353600, d);
	assert_string_equal(d, "20130524T000000Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_uri_encode),
		cmocka_unit_test(test_aws_s3_get_object),
		cmocka_unit_test(test_aws_iam_list_users),
		cmocka_unit_test(test_botocore_put_part),
		cmocka_unit_test(test_header_trim_and_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
