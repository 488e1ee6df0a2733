/* Parquet reader tests: the real SNIIM files against DuckDB's expectations, DuckDB fixtures,
 * unsupported input, metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/buf.h"
#include "milkcast/parquet.h"
#include "parquet/parquet_int.h"

#define FIXTURES "tests/data/parquet/"

static mc_table *read_ok(const char *path)
{
	mc_error err = MC_ERROR_INIT;
	mc_table *t = NULL;
	mc_code rc = mc_parquet_read_file(path, &t, &err);
	if (rc)
		fail_msg("%s: %s", path, err.msg);
	assert_non_null(t);
	return t;
}

static const mc_column *col(const mc_table *t, const char *name)
{
	int k = mc_table_find(t, name);
	if (k < 0)
		fail_msg("no column '%s'", name);
	return &t->cols[k];
}

static void assert_str(const mc_column *c, size_t i, const char *want)
{
	size_t n;
	const char *s = mc_column_str(c, i, &n);
	if (n != strlen(want) || memcmp(s, want, n) != 0)
		fail_msg("column '%s' row %zu: got '%.*s', want '%s'", c->name, i, (int)n, s, want);
}

/* ---- SNIIM files vs tests/data/parquet/sniim_expected.tsv (from DuckDB) ---- */

/* Split a line at tabs in place; returns the field count. */
static int split_tabs(char *line, char **f, int max)
{
	int n = 0;
	line[strcspn(line, "\n")] = '\0';
	for (char *p = line; n < max;) {
		f[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	return n;
}

static size_t count_distinct_strings(const mc_column *c)
{
	size_t n = 0;
	for (size_t i = 0; i < c->len; i++) {
		size_t li, lj;
		const char *si = mc_column_str(c, i, &li);
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++) {
			const char *sj = mc_column_str(c, j, &lj);
			seen = li == lj && memcmp(si, sj, li) == 0;
		}
		n += !seen && !mc_column_is_null(c, i);
	}
	return n;
}

static void check_file_line(char **f)
{
	char path[256];
	snprintf(path, sizeof path, "data/sniim/%s", f[1]);
	mc_table *t = read_ok(path);
	assert_int_equal(t->ncols, 6);
	const mc_column *fecha = col(t, "Fecha"), *precio = col(t, "Precio");
	assert_int_equal(fecha->type, MC_T_TIMESTAMP);
	assert_int_equal(fecha->unit, MC_NANOS);
	assert_int_equal(precio->type, MC_T_DOUBLE);
	assert_true(precio->nullable);
	assert_int_equal(col(t, "Estado")->type, MC_T_STRING);
	assert_int_equal(t->nrows, strtoull(f[2], NULL, 10));
	size_t nulls = 0, zeros = 0;
	double sum = 0;
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	for (size_t i = 0; i < t->nrows; i++) {
		assert_false(mc_column_is_null(fecha, i));
		int64_t v = MC_COL_I64(fecha)[i];
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
		if (mc_column_is_null(precio, i)) {
			nulls++;
			continue;
		}
		zeros += MC_COL_F64(precio)[i] == 0;
		sum += MC_COL_F64(precio)[i];
	}
	assert_int_equal(nulls, strtoull(f[3], NULL, 10));
	assert_int_equal(zeros, strtoull(f[4], NULL, 10));
	double want = strtod(f[5], NULL);
	if (fabs(sum - want) > 1e-9 * fabs(want))
		fail_msg("%s: sum of Precio %.17g, DuckDB %.17g", f[1], sum, want);
	assert_int_equal(lo, strtoll(f[6], NULL, 10));
	assert_int_equal(hi, strtoll(f[7], NULL, 10));
	assert_int_equal(count_distinct_strings(col(t, "Ciudad")), strtoull(f[8], NULL, 10));
	mc_table_free(t);
}

static void check_row_line(char **f, mc_table **cache, char *cached_name, size_t cap)
{
	if (strcmp(cached_name, f[1]) != 0) {
		char path[256];
		snprintf(path, sizeof path, "data/sniim/%s", f[1]);
		mc_table_free(*cache);
		*cache = read_ok(path);
		snprintf(cached_name, cap, "%s", f[1]);
	}
	const mc_table *t = *cache;
	size_t row = strtoull(f[2], NULL, 10);
	assert_true(row < t->nrows);
	assert_int_equal(MC_COL_I64(col(t, "Fecha"))[row], strtoll(f[3], NULL, 10));
	assert_str(col(t, "Estado"), row, f[4]);
	assert_str(col(t, "Ciudad"), row, f[5]);
	assert_str(col(t, "Tipo"), row, f[6]);
	assert_str(col(t, "Canal"), row, f[7]);
	const mc_column *p = col(t, "Precio");
	if (strcmp(f[8], "\\N") == 0) {
		assert_true(mc_column_is_null(p, row));
	} else {
		assert_false(mc_column_is_null(p, row));
		double want = strtod(f[8], NULL);
		assert_memory_equal(&MC_COL_F64(p)[row], &want, sizeof want);
	}
}

static void test_sniim_expected(void **state)
{
	FILE *fp = fopen(FIXTURES "sniim_expected.tsv", "r");
	assert_non_null(fp);
	char line[1024], cached[128] = "";
	char *f[16];
	mc_table *cache = NULL;
	int files = 0, rows = 0;
	while (fgets(line, sizeof line, fp)) {
		int n = split_tabs(line, f, 16);
		if (n == 9 && strcmp(f[0], "F") == 0) {
			check_file_line(f);
			files++;
		} else if (n == 9 && strcmp(f[0], "R") == 0) {
			check_row_line(f, &cache, cached, sizeof cached);
			rows++;
		} else {
			fail_msg("bad expected line with %d fields", n);
		}
	}
	fclose(fp);
	mc_table_free(cache);
	assert_int_equal(files, 15);
	assert_int_equal(rows, 75);
}

/* Whole-dataset facts from data/sniim/README.md: 41,216 rows, 184 dates. */
static void test_sniim_totals(void **state)
{
	size_t rows = 0, ndates = 0;
	int64_t dates[512];
	for (int y = 2024; y <= 2025; y++) {
		for (int m = 1; m <= 12 && !(y == 2025 && m > 3); m++) {
			char path[64];
			snprintf(path, sizeof path, "data/sniim/%d-%02d-data.parquet", y, m);
			mc_table *t = read_ok(path);
			rows += t->nrows;
			const mc_column *c = col(t, "Fecha");
			for (size_t i = 0; i < c->len; i++) {
				bool seen = false;
				for (size_t k = 0; k < ndates && !seen; k++)
					seen = dates[k] == MC_COL_I64(c)[i];
				if (!seen) {
					assert_true(ndates < 512);
					dates[ndates++] = MC_COL_I64(c)[i];
				}
			}
			mc_table_free(t);
		}
	}
	assert_int_equal(rows, 41216);
	assert_int_equal(ndates, 184);
}

/* ---- DuckDB-written fixtures (tests/data/parquet/make_fixtures.sh) ---- */

static const char *const cities4[] = {"Cd. Juárez", "Querétaro", "", "Aguascalientes "};

static void check_null_or(const mc_column *c, size_t i, bool null)
{
	if (mc_column_is_null(c, i) != null)
		fail_msg("column '%s' row %zu: null is %d, want %d", c->name, i,
			 mc_column_is_null(c, i), null);
}

/* Columns of duck_v1_*.parquet and arrow_v2_*.parquet: formulas of the row number i. */
static void check_all_types(const mc_table *t, size_t rows)
{
	assert_int_equal(t->nrows, rows);
	assert_int_equal(t->ncols, 14);
	const mc_column *a = col(t, "a"), *big = col(t, "big"), *b = col(t, "b"), *s = col(t, "s"),
			*d = col(t, "d"), *f = col(t, "f"), *dt = col(t, "dt"),
			*us = col(t, "ts_us"), *ns = col(t, "ts_ns"), *ms = col(t, "ts_ms");
	assert_int_equal(us->unit, MC_MICROS);
	assert_int_equal(ns->unit, MC_NANOS);
	assert_int_equal(ms->unit, MC_MILLIS);
	assert_int_equal(dt->type, MC_T_DATE);
	assert_int_equal(f->type, MC_T_FLOAT);
	const char *small[] = {"t8", "u8", "s16", "u16"};
	for (int k = 0; k < 4; k++)
		assert_int_equal(col(t, small[k])->type, MC_T_INT32);
	for (size_t i = 0; i < t->nrows; i++) {
		int64_t n = (int64_t)i;
		check_null_or(a, i, i % 10 == 0);
		if (i % 10)
			assert_int_equal(MC_COL_I32(a)[i], n * 7 - 1000);
		assert_int_equal(MC_COL_I64(big)[i], n * 1000003 - 5000000000LL);
		assert_int_equal(MC_COL_BOOL(b)[i], i % 3 == 0);
		check_null_or(s, i, i % 11 == 0);
		if (i % 11)
			assert_str(s, i, cities4[i % 4]);
		assert_true(MC_COL_F64(d)[i] == (double)i / 8.0);
		check_null_or(f, i, i % 7 == 0);
		if (i % 7)
			assert_true(MC_COL_F32(f)[i] == (float)(i % 100) / 4.0f);
		assert_int_equal(MC_COL_I32(dt)[i], 18262 + (int)(i % 400));
		assert_int_equal(MC_COL_I64(us)[i], 1704067200000000LL + n * 1000003);
		assert_int_equal(MC_COL_I64(ms)[i], 1704067200000LL + n * 1003);
		check_null_or(ns, i, i % 5 == 0);
		if (i % 5)
			assert_int_equal(MC_COL_I64(ns)[i], 1704067200000000000LL + n * 1000000007);
		assert_int_equal(MC_COL_I32(col(t, "t8"))[i], (int)(i % 100) - 50);
		assert_int_equal(MC_COL_I32(col(t, "u8"))[i], (int)(i % 200));
		assert_int_equal(MC_COL_I32(col(t, "s16"))[i], (int)i * 3 - 4000);
		assert_int_equal(MC_COL_I32(col(t, "u16"))[i], (int)(i % 60000));
	}
}

static void test_duckdb_v1_codecs(void **state)
{
	const char *files[] = {FIXTURES "duck_v1_zstd.parquet", FIXTURES "duck_v1_snappy.parquet",
			       FIXTURES "duck_v1_uncompressed.parquet"};
	for (int k = 0; k < 3; k++) {
		mc_table *t = read_ok(files[k]);
		check_all_types(t, 2100);
		mc_table_free(t);
	}
}

/* Type of the first data page of row group 0, column 0 (via the private footer parser). */
static int first_data_page_type(const char *path)
{
	mc_buf b = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_buf_read_file(&b, path, &err), MC_OK);
	uint32_t flen;
	assert_int_equal(
		pq_footer_locate(b.data, b.len, b.data + b.len - 8, b.len, path, &flen, &err),
		MC_OK);
	pq_footer f;
	assert_int_equal(pq_footer_parse(&f, b.data + b.len - 8 - flen, flen, b.len, path, &err),
			 MC_OK);
	const pq_column_meta *m = &f.meta.rgs[0].cols[0].meta;
	size_t pos = (size_t)(m->has_dictionary_page_offset && m->dictionary_page_offset > 0
				      ? m->dictionary_page_offset
				      : m->data_page_offset);
	int type = -1;
	while (type < 0 && pos < f.data_end) {
		tc_reader r;
		pq_page_header h;
		tc_reader_init(&r, b.data + pos, f.data_end - pos);
		assert_true(pq_decode_page_header(&r, &h));
		if (h.type != PQ_PAGE_DICTIONARY)
			type = h.type;
		pos = (size_t)(r.p - b.data) + (size_t)h.compressed_size;
	}
	pq_footer_free(&f);
	mc_buf_release(&b);
	return type;
}

/* arrow-rs data page v2: dictionary + RLE booleans, PLAIN, compressed and not, many pages. */
static void test_arrow_v2_pages(void **state)
{
	const char *files[] = {FIXTURES "arrow_v2_dict_snappy.parquet",
			       FIXTURES "arrow_v2_plain_zstd.parquet",
			       FIXTURES "arrow_v2_plain_none.parquet"};
	for (int k = 0; k < 3; k++) {
		assert_int_equal(first_data_page_type(files[k]), PQ_PAGE_DATA_V2);
		mc_table *t = read_ok(files[k]);
		check_all_types(t, 1200);
		mc_table_free(t);
	}
}

/* DuckDB's PARQUET_VERSION V2 (v1 pages, dictionary encodings only for these columns). */
static void test_duckdb_v2_format(void **state)
{
	const char *files[] = {FIXTURES "duck_v2_snappy.parquet", FIXTURES "duck_v2_zstd.parquet"};
	for (int k = 0; k < 2; k++) {
		mc_table *t = read_ok(files[k]);
		assert_int_equal(t->nrows, 3000);
		const mc_column *a = col(t, "a"), *big = col(t, "big"), *b = col(t, "b"),
				*s = col(t, "s"), *d = col(t, "d"), *dt = col(t, "dt"),
				*ns = col(t, "ts_ns");
		for (size_t i = 0; i < t->nrows; i++) {
			int64_t n = (int64_t)i;
			check_null_or(a, i, i % 10 == 0);
			if (i % 10)
				assert_int_equal(MC_COL_I32(a)[i], n % 7 - 3);
			assert_int_equal(MC_COL_I64(big)[i], (n % 5) * 1000000007);
			assert_int_equal(MC_COL_BOOL(b)[i], i % 3 == 0);
			check_null_or(s, i, i % 11 == 0);
			if (i % 11)
				assert_str(s, i, cities4[i % 4]);
			assert_true(MC_COL_F64(d)[i] == (double)(i % 9) / 8.0);
			assert_int_equal(MC_COL_I32(dt)[i], 18262 + (int)(i % 6));
			assert_int_equal(MC_COL_I64(ns)[i],
					 1704067200000000000LL + (n % 4) * 1000000007);
		}
		mc_table_free(t);
	}
	assert_int_equal(first_data_page_type(FIXTURES "duck_v1_zstd.parquet"), PQ_PAGE_DATA);
}

/* ---- Unsupported features name the file, the column and the feature ---- */

static void expect_unsupported(const char *file, const char *column, const char *what)
{
	char path[256];
	snprintf(path, sizeof path, FIXTURES "%s", file);
	mc_error err = MC_ERROR_INIT;
	mc_table *t = (mc_table *)1;
	mc_code rc = mc_parquet_read_file(path, &t, &err);
	if (rc != MC_ERR_UNSUPPORTED)
		fail_msg("%s: code %d (%s), want unsupported", file, rc, err.msg);
	assert_null(t);
	char quoted[64];
	snprintf(quoted, sizeof quoted, "column '%s'", column);
	if (!strstr(err.msg, quoted) || !strstr(err.msg, what) || !strstr(err.msg, file))
		fail_msg("%s: message '%s' lacks '%s' or '%s'", file, err.msg, quoted, what);
}

static void test_unsupported(void **state)
{
	expect_unsupported("unsup_decimal.parquet", "price", "DECIMAL(10,2)");
	expect_unsupported("unsup_list.parquet", "prices", "nested");
	expect_unsupported("unsup_struct.parquet", "rec", "nested");
	expect_unsupported("unsup_interval.parquet", "span", "INTERVAL");
	expect_unsupported("unsup_uint32.parquet", "big_u", "UINT_32");
	expect_unsupported("unsup_gzip.parquet", "ok", "GZIP");
	expect_unsupported("unsup_brotli.parquet", "ok", "BROTLI");
	expect_unsupported("unsup_lz4.parquet", "ok", "LZ4_RAW");
	expect_unsupported("duck_v2_delta.parquet", "id", "DELTA_BINARY_PACKED");
}

/* ---- Metadata ---- */

static void test_meta_sniim(void **state)
{
	mc_error err = MC_ERROR_INIT;
	mc_parquet_meta *m = NULL;
	assert_int_equal(mc_parquet_meta_read_file("data/sniim/2024-01-data.parquet", &m, &err),
			 MC_OK);
	assert_int_equal(m->num_rows, 2912);
	assert_int_equal(m->ncols, 6);
	assert_int_equal(m->nrow_groups, 1);
	assert_non_null(m->created_by);
	assert_non_null(strstr(m->created_by, "parquet-cpp-arrow"));
	const mc_parquet_column_info *fecha = &m->cols[0], *precio = &m->cols[5];
	assert_string_equal(fecha->name, "Fecha");
	assert_int_equal(fecha->physical_type, PQ_INT64);
	assert_string_equal(fecha->logical, "TIMESTAMP(NANOS,utc=false)");
	assert_true(fecha->supported && fecha->type == MC_T_TIMESTAMP && fecha->unit == MC_NANOS);
	assert_string_equal(m->cols[1].logical, "STRING");
	assert_int_equal(m->cols[1].converted_type, PQ_CT_UTF8);
	assert_string_equal(mc_parquet_type_name(precio->physical_type), "DOUBLE");
	const mc_parquet_chunk_info *pc = &m->row_groups[0].chunks[5];
	assert_string_equal(mc_parquet_codec_name(pc->codec), "SNAPPY");
	assert_true(pc->encodings & (1u << PQ_ENC_RLE_DICTIONARY));
	assert_true(pc->stats.has_null_count);
	assert_int_equal(pc->stats.null_count, 351);
	assert_true(pc->stats.has_min_max && !pc->stats.is_bytes && !pc->stats.is_int);
	assert_true(pc->stats.min == 0 && signbit(pc->stats.min));
	assert_true(pc->stats.max == 33.66);
	const mc_parquet_stats *es = &m->row_groups[0].chunks[1].stats;
	assert_true(es->has_min_max && es->is_bytes);
	assert_string_equal(es->min_str, "Aguascalientes ");
	assert_string_equal(es->max_str, "Zacatecas");
	const mc_parquet_stats *fs = &m->row_groups[0].chunks[0].stats;
	assert_true(fs->is_int);
	assert_int_equal(fs->min_i, 1704240000000000000LL);
	assert_int_equal(fs->max_i, 1706659200000000000LL);
	mc_parquet_meta_free(m);
}

static void test_meta_unsupported_column(void **state)
{
	mc_error err = MC_ERROR_INIT;
	mc_parquet_meta *m = NULL;
	assert_int_equal(mc_parquet_meta_read_file(FIXTURES "unsup_decimal.parquet", &m, &err),
			 MC_OK);
	assert_int_equal(m->ncols, 2);
	assert_true(m->cols[0].supported);
	assert_false(m->cols[1].supported);
	assert_non_null(strstr(m->cols[1].why, "DECIMAL"));
	mc_parquet_meta_free(m);
	assert_int_equal(mc_parquet_meta_read_file(FIXTURES "unsup_list.parquet", &m, &err),
			 MC_ERR_UNSUPPORTED);
	assert_null(m);
	assert_int_equal(mc_parquet_meta_read_file(FIXTURES "no-such.parquet", &m, &err),
			 MC_ERR_NOT_FOUND);
	assert_int_equal(mc_parquet_read_file(FIXTURES "no-such.parquet", (mc_table **)&m, &err),
			 MC_ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sniim_expected),
		cmocka_unit_test(test_sniim_totals),
		cmocka_unit_test(test_duckdb_v1_codecs),
		cmocka_unit_test(test_arrow_v2_pages),
		cmocka_unit_test(test_duckdb_v2_format),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_meta_sniim),
		cmocka_unit_test(test_meta_unsupported_column),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
