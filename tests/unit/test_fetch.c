/* Unit tests for the fetch module's pure parts, its store policy, and a failing transfer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zip.h>

#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/fetch.h"
#include "milkcast/fsutil.h"

#define WORKBOOK "data/sniim/raw/Leche31032025.xlsx"

static mc_buf workbook;

static int load_workbook(void **state)
{
	mc_error err = MC_ERROR_INIT;
	mc_buf_init(&workbook, 0);
	return mc_buf_read_file(&workbook, WORKBOOK, &err) == MC_OK ? 0 : -1;
}

static int free_workbook(void **state)
{
	mc_buf_release(&workbook);
	return 0;
}

static int32_t ymd(int y, int m, int d)
{
	return mc_date_from_ymd(y, m, d);
}

static void test_names_and_urls(void **state)
{
	char name[24];
	mc_fetch_file_name(ymd(2025, 3, 31), name);
	assert_string_equal(name, "Leche31032025.xlsx");
	mc_fetch_file_name(ymd(2024, 1, 5), name);
	assert_string_equal(name, "Leche05012024.xlsx");
	char *url = mc_fetch_url("http://h/x//", ymd(2025, 3, 31));
	assert_string_equal(url, "http://h/x/Leche31032025.xlsx");
	free(url);
	url = mc_fetch_url(MC_FETCH_DEFAULT_BASE_URL, ymd(2025, 4, 2));
	assert_string_equal(url, "https://www.economia-sniim.gob.mx/SNIIM-Archivosfuente/"
				 "Comentarios/Otros/Leche02042025.xlsx");
	free(url);
}

static void test_content_types(void **state)
{
	mc_error err = MC_ERROR_INIT;
	const char *ok[] = {
		NULL,
		"",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"Application/Octet-Stream",
		"application/zip; name=x.xlsx",
		" application/vnd.ms-excel ",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_int_equal(mc_fetch_check_content_type(ok[i], &err), MC_OK);
	assert_int_equal(mc_fetch_check_content_type("text/html; charset=UTF-8", &err),
			 MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "HTML"));
	assert_int_equal(mc_fetch_check_content_type("text/plain", &err), MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "text/plain"));
}

static void test_xlsx_whole_workbook(void **state)
{
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_fetch_check_xlsx(workbook.data, workbook.len, &err), MC_OK);
}

static void test_xlsx_truncated(void **state)
{
	size_t cuts[] = {0, 3, 4, 100, workbook.len / 2, workbook.len - 23, workbook.len - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		mc_error err = MC_ERROR_INIT;
		assert_int_equal(mc_fetch_check_xlsx(workbook.data, cuts[i], &err), MC_ERR_FORMAT);
		assert_true(err.msg[0] != '\0');
	}
}

static void test_xlsx_not_a_zip(void **state)
{
	mc_error err = MC_ERROR_INIT;
	const char *html = "\xEF\xBB\xBF\n  <!DOCTYPE html><html><body>Error</body></html>";
	assert_int_equal(mc_fetch_check_xlsx((const uint8_t *)html, strlen(html), &err),
			 MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "HTML"));
	const char *junk = "hello, world";
	assert_int_equal(mc_fetch_check_xlsx((const uint8_t *)junk, strlen(junk), &err),
			 MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "zip signature"));
}

/* A zip comment appended after the end record: still a whole zip. */
static void test_xlsx_with_comment(void **state)
{
	const char comment[] = "republished";
	size_t n = workbook.len + sizeof comment - 1;
	uint8_t *p = malloc(n);
	assert_non_null(p);
	memcpy(p, workbook.data, workbook.len);
	memcpy(p + workbook.len, comment, sizeof comment - 1);
	assert_int_equal(p[workbook.len - 2] | p[workbook.len - 1], 0); /* no comment before */
	p[workbook.len - 2] = (uint8_t)(sizeof comment - 1);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_fetch_check_xlsx(p, n, &err), MC_OK);
	/* ...but trailing bytes the record does not account for mean a damaged file. */
	assert_int_equal(mc_fetch_check_xlsx(p, n - 1, &err), MC_ERR_FORMAT);
	free(p);
}

/* A valid zip that is not a workbook, built with libzip in a temporary file. */
static void test_xlsx_zip_without_workbook(void **state)
{
	char path[] = "/tmp/mc-test-fetch-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	int zerr;
	zip_t *za = zip_open(path, ZIP_TRUNCATE, &zerr);
	assert_non_null(za);
	zip_source_t *src = zip_source_buffer(za, "hello", 5, 0);
	assert_true(zip_file_add(za, "readme.txt", src, 0) >= 0);
	assert_int_equal(zip_close(za), 0);
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_buf_read_file(&b, path, &err), MC_OK);
	unlink(path);
	assert_int_equal(mc_fetch_check_xlsx(b.data, b.len, &err), MC_ERR_FORMAT);
	assert_non_null(strstr(err.msg, "xl/workbook.xml"));
	mc_buf_release(&b);
}

static void test_backoff(void **state)
{
	mc_fetch_opts o;
	mc_fetch_opts_init(&o);
	long lo[] = {250, 500, 1000, 2000, 4000, 4000, 4000};
	for (int retry = 0; retry < 7; retry++) {
		for (uint32_t rnd = 0; rnd < 5000; rnd += 7) {
			long d = mc_fetch_backoff_ms(&o, retry, rnd * 2654435761u);
			assert_in_range(d, lo[retry], 2 * lo[retry]);
		}
	}
	assert_int_equal(mc_fetch_backoff_ms(&o, 1000, 12345),
			 mc_fetch_backoff_ms(&o, 1000, 12345));
	assert_in_range(mc_fetch_backoff_ms(&o, 1000, 0xFFFFFFFFu), 4000, 8000);
	o.backoff_ms = 0;
	assert_int_equal(mc_fetch_backoff_ms(&o, 3, 99), 0);
}

static void test_status_names(void **state)
{
	assert_string_equal(mc_fetch_status_name(MC_FETCH_FETCHED), "fetched");
	assert_string_equal(mc_fetch_status_name(MC_FETCH_UNCHANGED), "unchanged");
	assert_string_equal(mc_fetch_status_name(MC_FETCH_NOT_PUBLISHED), "not_published");
	assert_string_equal(mc_fetch_status_name(MC_FETCH_CONFLICT), "conflict");
	assert_string_equal(mc_fetch_status_name(MC_FETCH_REPLACED), "replaced");
	assert_string_equal(mc_fetch_status_name(MC_FETCH_FAILED), "failed");
}

static void store(const char *raw, const char *path, const char *text, bool force,
		  mc_fetch_status want)
{
	mc_fetch_result res = {0};
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(
		mc_fetch_store(raw, path, (const uint8_t *)text, strlen(text), force, &res, &err),
		MC_OK);
	assert_int_equal(res.status, want);
	assert_int_equal(res.bytes, strlen(text));
}

static void assert_file_is(const char *path, const char *text)
{
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_buf_read_file(&b, path, &err), MC_OK);
	assert_int_equal(b.len, strlen(text));
	assert_memory_equal(b.data, text, b.len);
	mc_buf_release(&b);
}

static void test_store_policy(void **state)
{
	char dir[] = "/tmp/mc-test-fetch-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *raw = mc_path_join(dir, "raw");
	char *path = mc_path_join(raw, "Leche31032025.xlsx");
	store(raw, path, "first", false, MC_FETCH_FETCHED); /* creates raw/ */
	store(raw, path, "first", false, MC_FETCH_UNCHANGED);
	store(raw, path, "firsT", false, MC_FETCH_CONFLICT); /* same size, other bytes */
	store(raw, path, "second", false, MC_FETCH_CONFLICT);
	assert_file_is(path, "first");
	store(raw, path, "second", true, MC_FETCH_REPLACED);
	assert_file_is(path, "second");
	store(raw, path, "second", true, MC_FETCH_UNCHANGED);
	unlink(path);
	rmdir(raw);
	rmdir(dir);
	free(path);
	free(raw);
}

static void collect_log(void *user, const char *msg)
{
	(*(int *)user)++;
	assert_non_null(strstr(msg, "127.0.0.1:1"));
}

static void test_fetcher_needs_global_init(void **state)
{
	mc_fetch_opts o;
	mc_fetch_opts_init(&o);
	mc_fetcher *f = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_fetcher_new(&o, &f, &err), MC_ERR_INVALID);
	assert_null(f);
}

static void test_bad_opts(void **state)
{
	mc_fetch_opts o;
	mc_fetch_opts_init(&o);
	o.timeout_s = 0;
	mc_fetcher *f;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_fetch_global_init(&err), MC_OK);
	assert_int_equal(mc_fetcher_new(&o, &f, &err), MC_ERR_INVALID);
	mc_fetch_global_cleanup();
}

/* Nothing listens on 127.0.0.1:1: every attempt is refused, each is logged, nothing saved. */
static void test_connection_refused(void **state)
{
	mc_fetch_opts o;
	mc_fetch_opts_init(&o);
	int lines = 0;
	o.base_url = "http://127.0.0.1:1/sniim";
	o.retries = 2;
	o.backoff_ms = 1;
	o.timeout_s = 5;
	o.log = collect_log;
	o.log_user = &lines;
	mc_error err = MC_ERROR_INIT;
	mc_fetch_result res;
	const char *proxies[] = {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"};
	for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
		unsetenv(proxies[i]); /* loopback only */
	assert_int_equal(mc_fetch_global_init(&err), MC_OK);
	mc_code rc = mc_fetch_publication(&o, ymd(2025, 3, 31), "/nonexistent/raw", &res, &err);
	mc_fetch_global_cleanup();
	assert_int_equal(rc, MC_ERR_NETWORK);
	assert_int_equal(res.status, MC_FETCH_FAILED);
	assert_int_equal(res.requests, 3);
	assert_int_equal(lines, 3);
	assert_string_equal(res.url, "http://127.0.0.1:1/sniim/Leche31032025.xlsx");
	assert_string_equal(res.path, "/nonexistent/raw/Leche31032025.xlsx");
	assert_non_null(strstr(err.msg, "cannot fetch 2025-03-31"));
	assert_non_null(strstr(err.msg, "3 attempts"));
	mc_fetch_result_release(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_urls),
		cmocka_unit_test(test_content_types),
		cmocka_unit_test(test_xlsx_whole_workbook),
		cmocka_unit_test(test_xlsx_truncated),
		cmocka_unit_test(test_xlsx_not_a_zip),
		cmocka_unit_test(test_xlsx_with_comment),
		cmocka_unit_test(test_xlsx_zip_without_workbook),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_store_policy),
		cmocka_unit_test(test_fetcher_needs_global_init),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_connection_refused),
	};
	return cmocka_run_group_tests(tests, load_workbook, free_workbook);
}
