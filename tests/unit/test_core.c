/* Unit tests of the core helpers: dates, buffers, hash map, SHA-256, tables, atomic files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/sha256.h"
#include "milkcast/sort.h"
#include "milkcast/strmap.h"
#include "milkcast/table.h"
#include "milkcast/text.h"
#include "milkcast/u64map.h"

static void test_date_roundtrip(void **state)
{
	(void)state;
	assert_int_equal(mc_date_from_ymd(1970, 1, 1), 0);
	assert_int_equal(mc_date_from_ymd(2000, 3, 1), 11017);
	assert_int_equal(mc_date_from_ymd(1969, 12, 31), -1);
	/* Every day from 1900 to 2100 round-trips and weekdays advance by one. */
	int32_t start = mc_date_from_ymd(1900, 1, 1), end = mc_date_from_ymd(2100, 12, 31);
	for (int32_t d = start; d <= end; d++) {
		int y, m, dd;
		mc_date_to_ymd(d, &y, &m, &dd);
		assert_true(mc_date_valid_ymd(y, m, dd));
		assert_int_equal(mc_date_from_ymd(y, m, dd), d);
		assert_int_equal(mc_date_weekday(d + 1), (mc_date_weekday(d) + 1) % 7);
	}
	assert_int_equal(mc_date_weekday(mc_date_from_ymd(2025, 3, 31)), 0); /* Monday */
}

static void test_date_parse(void **state)
{
	(void)state;
	int32_t d;
	char out[11];
	assert_true(mc_date_parse_iso("2024-02-29", &d));
	mc_date_format_iso(d, out);
	assert_string_equal(out, "2024-02-29");
	assert_false(mc_date_parse_iso("2023-02-29", &d));
	assert_false(mc_date_parse_iso("2024-2-01", &d));
	assert_false(mc_date_parse_iso("2024-02-01x", &d));
	assert_false(mc_date_parse_iso("", &d));
	assert_true(mc_date_parse_spanish("31 de marzo de 2025", &d));
	assert_int_equal(d, mc_date_from_ymd(2025, 3, 31));
	assert_true(mc_date_parse_spanish("  3 de Enero de 2024 ", &d));
	assert_int_equal(d, mc_date_from_ymd(2024, 1, 3));
	assert_true(mc_date_parse_spanish("1 DE SEPTIEMBRE DE 2024", &d));
	assert_false(mc_date_parse_spanish("31 de febrero de 2025", &d));
	assert_false(mc_date_parse_spanish("31 marzo 2025", &d));
	assert_false(mc_date_parse_spanish("31 de marzo de 2025 extra", &d));
}

static void test_parse_bool(void **state)
{
	(void)state;
	bool b = false;
	assert_true(mc_parse_bool("YES", &b) && b);
	assert_true(mc_parse_bool("on", &b) && b);
	assert_true(mc_parse_bool("0", &b) && !b);
	assert_true(mc_parse_bool("False", &b) && !b);
	b = true;
	assert_false(mc_parse_bool("maybe", &b));
	assert_false(mc_parse_bool("", &b));
	assert_true(b); /* untouched */
}

static void test_appendf(void **state)
{
	(void)state;
	char buf[8];
	size_t len = 0;
	mc_appendf(buf, sizeof buf, &len, "%s", "abc");
	mc_appendf(buf, sizeof buf, &len, "-%d", 12);
	assert_string_equal(buf, "abc-12");
	assert_int_equal(len, 6);
	mc_appendf(buf, sizeof buf, &len, "%s", "xyz"); /* cut: 7 bytes and the NUL */
	assert_string_equal(buf, "abc-12x");
	assert_int_equal(len, sizeof buf);
	mc_appendf(buf, sizeof buf, &len, "%s", "more"); /* full: nothing happens */
	assert_string_equal(buf, "abc-12x");
}

static void test_buf_cap(void **state)
{
	(void)state;
	mc_buf b;
	mc_buf_init(&b, 8);
	assert_int_equal(mc_buf_append(&b, "12345678", 8), MC_OK);
	assert_int_equal(mc_buf_putc(&b, 'x'), MC_ERR_LIMIT);
	assert_int_equal(b.len, 8);
	assert_string_equal((char *)b.data, "12345678");
	mc_buf_reset(&b);
	assert_int_equal(mc_buf_printf(&b, "%d-%s", 42, "ab"), MC_OK);
	assert_string_equal((char *)b.data, "42-ab");
	size_t n;
	char *p = (char *)mc_buf_detach(&b, &n);
	assert_int_equal(n, 5);
	assert_null(b.data);
	free(p);
	mc_buf_release(&b);
}

static void test_strmap(void **state)
{
	(void)state;
	mc_strmap *m = mc_strmap_new(1);
	char key[32];
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(mc_strmap_put(m, key, (size_t)n, i), MC_OK);
	}
	assert_int_equal(mc_strmap_count(m), 10000);
	for (int i = 0; i < 10000; i++) {
		int64_t v;
		int n = snprintf(key, sizeof key, "k%d", i);
		assert_true(mc_strmap_get(m, key, (size_t)n, &v));
		assert_int_equal(v, i);
	}
	assert_false(mc_strmap_get(m, "k10000", 6, NULL));
	mc_strmap_put(m, "k1", 2, -5);
	int64_t v;
	assert_true(mc_strmap_get(m, "k1", 2, &v));
	assert_int_equal(v, -5);
	assert_int_equal(mc_strmap_count(m), 10000);
	mc_strmap_free(m);

	/* Composite keys: parts cut to max_part, each followed by 0x1F. */
	const char *parts[] = {"ab", "", "xyz"};
	size_t lens[] = {2, 0, 3};
	char joined[16];
	size_t n = mc_key_join(joined, parts, lens, 3, 2);
	assert_int_equal(n, 7);
	assert_memory_equal(joined, "ab\x1f\x1fxy\x1f", 7);
}

static void test_u64map(void **state)
{
	(void)state;
	mc_u64map *m = mc_u64map_new(1);
	/* Keys that collide in the low bits, plus 0 and UINT64_MAX. */
	for (uint64_t i = 0; i < 20000; i++)
		assert_int_equal(mc_u64map_put(m, i << 32, (int64_t)i), MC_OK);
	assert_int_equal(mc_u64map_put(m, UINT64_MAX, -1), MC_OK);
	assert_int_equal(mc_u64map_count(m), 20001);
	for (uint64_t i = 0; i < 20000; i++) {
		int64_t v;
		assert_true(mc_u64map_get(m, i << 32, &v));
		assert_int_equal(v, (int64_t)i);
	}
	int64_t v;
	assert_true(mc_u64map_get(m, UINT64_MAX, &v));
	assert_int_equal(v, -1);
	assert_false(mc_u64map_get(m, 1, NULL));
	mc_u64map_put(m, 0, 7);
	assert_true(mc_u64map_get(m, 0, &v));
	assert_int_equal(v, 7);
	assert_int_equal(mc_u64map_count(m), 20001);
	mc_u64map_free(m);
}

static void test_sha256_vectors(void **state)
{
	(void)state;
	char hex[65];
	mc_sha256_hex("", 0, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	mc_sha256_hex("abc", 3, hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	mc_sha256_hex(two, strlen(two), hex);
	assert_string_equal(hex,
			    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* One million 'a' fed in odd-sized pieces. */
	mc_sha256 s;
	uint8_t d[32];
	char chunk[997];
	memset(chunk, 'a', sizeof chunk);
	mc_sha256_init(&s);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof chunk ? left : sizeof chunk;
		mc_sha256_update(&s, chunk, n);
		left -= n;
	}
	mc_sha256_final(&s, d);
	assert_int_equal(d[0], 0xcd);
	assert_int_equal(d[1], 0xc7);
	assert_int_equal(d[31], 0xd0);
}

static void test_table_take(void **state)
{
	(void)state;
	mc_table *t = mc_table_new();
	int s = mc_table_add_column(t, "s", MC_T_STRING, true);
	int x = mc_table_add_column(t, "x", MC_T_DOUBLE, true);
	const char *words[] = {"uno", "", "Querétaro", NULL};
	for (int i = 0; i < 4; i++) {
		if (words[i])
			mc_column_push_str(&t->cols[s], words[i], strlen(words[i]));
		else
			mc_column_push_null(&t->cols[s]);
		if (i == 1)
			mc_column_push_null(&t->cols[x]);
		else
			mc_column_push_f64(&t->cols[x], i * 1.5);
	}
	assert_int_equal(mc_table_seal(t, NULL), MC_OK);
	assert_int_equal(t->nrows, 4);
	size_t idx[] = {3, 2, 0};
	mc_table *u = mc_table_take(t, idx, 3);
	assert_int_equal(u->nrows, 3);
	size_t n;
	assert_true(mc_column_is_null(&u->cols[0], 0));
	const char *q = mc_column_str(&u->cols[0], 1, &n);
	assert_int_equal(n, strlen("Querétaro"));
	assert_memory_equal(q, "Querétaro", n);
	assert_true(fabs(MC_COL_F64(&u->cols[1])[0] - 4.5) < 1e-12);
	mc_column_push_null(&t->cols[s]);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_table_seal(t, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "column 'x'"));
	mc_table_free(u);
	mc_table_free(t);
}

/* Appending a range column-wise gives the same rows as appending them one by one. */
static void test_table_append_rows(void **state)
{
	(void)state;
	mc_table *t = mc_table_new();
	int s = mc_table_add_column(t, "s", MC_T_STRING, true);
	int d = mc_table_add_column(t, "d", MC_T_DATE, false);
	const char *words[] = {"uno", NULL, "", "Michoacán", "cinco"};
	for (int i = 0; i < 5; i++) {
		if (words[i])
			mc_column_push_str(&t->cols[s], words[i], strlen(words[i]));
		else
			mc_column_push_null(&t->cols[s]);
		mc_column_push_i32(&t->cols[d], 100 + i);
	}
	assert_int_equal(mc_table_seal(t, NULL), MC_OK);
	mc_table *bulk = mc_table_clone_schema(t), *rows = mc_table_clone_schema(t);
	/* Twice [2, 5), then [0, 2): the destination grows from empty, then from non-empty. */
	const size_t ranges[][2] = {{2, 3}, {2, 3}, {0, 2}, {4, 0}};
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(mc_table_append_rows(bulk, t, ranges[k][0], ranges[k][1]), MC_OK);
		for (size_t i = ranges[k][0]; i < ranges[k][0] + ranges[k][1]; i++)
			assert_int_equal(mc_table_append_row(rows, t, i), MC_OK);
	}
	assert_int_equal(mc_table_append_rows(bulk, t, 4, 2), MC_ERR_INVALID);
	assert_int_equal(bulk->nrows, 8);
	assert_int_equal(rows->nrows, 8);
	for (size_t i = 0; i < 8; i++) {
		size_t na, nb;
		assert_int_equal(mc_column_is_null(&bulk->cols[s], i),
				 mc_column_is_null(&rows->cols[s], i));
		const char *a = mc_column_str(&bulk->cols[s], i, &na);
		const char *b = mc_column_str(&rows->cols[s], i, &nb);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na);
		assert_int_equal(MC_COL_I32(&bulk->cols[d])[i], MC_COL_I32(&rows->cols[d])[i]);
	}
	mc_table_free(bulk);
	mc_table_free(rows);
	mc_table_free(t);
}

/* The SHA-extension path and the portable one agree on every length around
 * the block boundaries, fed whole and in pieces. */
static void test_sha256_paths_agree(void **state)
{
	(void)state;
	if (!mc_sha256_accelerated()) {
		mc_sha256_set_accelerated(true);
		if (!mc_sha256_accelerated())
			skip(); /* this CPU has no SHA extensions */
	}
	uint8_t data[1100];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 131 + 7);
	for (size_t n = 0; n <= sizeof data; n += (n < 200 ? 1 : 37)) {
		char fast[65], slow[65];
		mc_sha256_set_accelerated(true);
		mc_sha256 s;
		uint8_t d[32];
		mc_sha256_init(&s);
		mc_sha256_update(&s, data, n / 3);
		mc_sha256_update(&s, data + n / 3, n - n / 3);
		mc_sha256_final(&s, d);
		mc_sha256_hex(data, n, fast);
		mc_sha256_set_accelerated(false);
		mc_sha256_hex(data, n, slow);
		assert_string_equal(fast, slow);
		char pieces[65];
		for (int i = 0; i < 32; i++)
			snprintf(pieces + 2 * i, 3, "%02x", d[i]);
		assert_string_equal(pieces, slow);
	}
	mc_sha256_set_accelerated(true);
}

static int pair_cmp(const void *pa, const void *pb)
{
	const mc_sort_pair *a = pa, *b = pb;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return (a->value > b->value) - (a->value < b->value);
}

/* Radix sort against qsort with the value as tie-break (the radix sort is
 * stable and values are the original positions, so the orders must match). */
static void test_sort_pairs(void **state)
{
	(void)state;
	const size_t n = 5000;
	mc_sort_pair *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
	assert_non_null(a);
	assert_non_null(b);
	srand(7);
	for (int shape = 0; shape < 4; shape++) {
		for (size_t i = 0; i < n; i++) {
			uint64_t r =
				(uint64_t)rand() << 33 ^ (uint64_t)rand() << 11 ^ (uint64_t)rand();
			uint64_t k = shape == 0	  ? r
				     : shape == 1 ? (r % 40) << 32 | (r % 7) /* many ties */
				     : shape == 2 ? i			     /* already sorted */
						  : n - i;		     /* reversed */
			a[i] = b[i] = (mc_sort_pair){k, i};
		}
		assert_int_equal(mc_sort_pairs(a, n), MC_OK);
		qsort(b, n, sizeof *b, pair_cmp);
		assert_memory_equal(a, b, n * sizeof *a);
	}
	assert_int_equal(mc_sort_pairs(a, 0), MC_OK);
	free(a);
	free(b);
}

static void test_atomic_write(void **state)
{
	(void)state;
	char dir[] = "/tmp/mc-core-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = mc_path_join(dir, "f.txt");
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_write_file_atomic(path, "old", 3, &err), MC_OK);
	/* An aborted write leaves the old content and no temp file behind. */
	mc_atomic_file af;
	assert_int_equal(mc_atomic_open(&af, path, &err), MC_OK);
	assert_int_equal(mc_atomic_write(&af, "new!", 4, &err), MC_OK);
	mc_atomic_abort(&af);
	mc_buf b;
	mc_buf_init(&b, 0);
	assert_int_equal(mc_buf_read_file(&b, path, &err), MC_OK);
	assert_string_equal((char *)b.data, "old");
	mc_buf_release(&b);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "test $(ls %s | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0);
	/* A missing file names the path. */
	assert_int_equal(mc_buf_read_file(&b, "/nonexistent/x", &err), MC_ERR_NOT_FOUND);
	assert_non_null(strstr(err.msg, "'/nonexistent/x'"));
	unlink(path);
	rmdir(dir);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date_roundtrip),
		cmocka_unit_test(test_date_parse),
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_appendf),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_strmap),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_table_take),
		cmocka_unit_test(test_table_append_rows),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_u64map),
		cmocka_unit_test(test_sort_pairs),
		cmocka_unit_test(test_sha256_paths_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
