/* Parquet writer tests: write/read round trips over codecs and layouts, statistics, bad tables, RLE
 * and Thrift primitives. */
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
#include "milkcast/parquet.h"
#include "parquet/parquet_int.h"
#include "test_parquet_data.h"

static void write_ok(const mc_table *t, const mc_parquet_write_opts *o, mc_buf *out)
{
	mc_error err = MC_ERROR_INIT;
	mc_code rc = mc_parquet_write_mem(t, o, out, &err);
	if (rc)
		fail_msg("write: %s", err.msg);
}

static mc_table *read_ok(const uint8_t *p, size_t n)
{
	mc_error err = MC_ERROR_INIT;
	mc_table *t = NULL;
	mc_code rc = mc_parquet_read_mem(p, n, "roundtrip.parquet", &t, &err);
	if (rc)
		fail_msg("read: %s", err.msg);
	return t;
}

static void assert_same(const mc_table *a, const mc_table *b)
{
	char why[256];
	if (!pqt_tables_equal(a, b, why, sizeof why))
		fail_msg("tables differ: %s", why);
}

static mc_parquet_meta *meta_ok(const mc_buf *b)
{
	mc_error err = MC_ERROR_INIT;
	mc_parquet_meta *m = NULL;
	if (mc_parquet_meta_read_mem(b->data, b->len, "roundtrip.parquet", &m, &err))
		fail_msg("meta: %s", err.msg);
	return m;
}

/* Pages in row group 0, column `col` (dictionary page included). */
static int count_pages(const mc_buf *b, size_t col)
{
	mc_error err = MC_ERROR_INIT;
	uint32_t flen;
	assert_int_equal(
		pq_footer_locate(b->data, b->len, b->data + b->len - 8, b->len, "x", &flen, &err),
		MC_OK);
	pq_footer f;
	assert_int_equal(pq_footer_parse(&f, b->data + b->len - 8 - flen, flen, b->len, "x", &err),
			 MC_OK);
	const pq_column_meta *m = &f.meta.rgs[0].cols[col].meta;
	size_t pos = (size_t)(m->dictionary_page_offset > 0 ? m->dictionary_page_offset
							    : m->data_page_offset);
	size_t end = pos + (size_t)m->total_compressed_size;
	int pages = 0;
	while (pos < end) {
		tc_reader r;
		pq_page_header h;
		tc_reader_init(&r, b->data + pos, end - pos);
		assert_true(pq_decode_page_header(&r, &h));
		pos = (size_t)(r.p - b->data) + (size_t)h.compressed_size;
		pages++;
	}
	assert_int_equal(pos, end);
	pq_footer_free(&f);
	return pages;
}

/* ---- Round trips ---- */

static void roundtrip(const mc_table *t, const mc_parquet_write_opts *o, mc_buf *b);

static void test_roundtrip_matrix(void **state)
{
	mc_table *t = pqt_make_table(5000, 42);
	assert_non_null(t);
	const mc_pq_codec codecs[] = {MC_PQ_UNCOMPRESSED, MC_PQ_SNAPPY, MC_PQ_ZSTD};
	for (int c = 0; c < 3; c++)
		for (int dict = 0; dict < 2; dict++)
			for (int layout = 0; layout < 3; layout++) {
				mc_parquet_write_opts o;
				mc_parquet_write_opts_init(&o);
				o.codec = codecs[c];
				o.dictionary = dict;
				if (layout >= 1)
					o.row_group_rows = 1700;
				if (layout == 2)
					o.page_bytes = 2048;
				mc_buf b = MC_BUF_INIT;
				write_ok(t, &o, &b);
				mc_table *back = read_ok(b.data, b.len);
				assert_same(t, back);
				mc_parquet_meta *m = meta_ok(&b);
				assert_int_equal(m->nrow_groups, layout ? 3 : 1);
				assert_int_equal(m->row_groups[0].chunks[0].codec, (int)codecs[c]);
				bool dict_used = m->row_groups[0].chunks[5].encodings &
						 (1u << PQ_ENC_RLE_DICTIONARY);
				assert_int_equal(dict_used, dict);
				if (layout == 2)
					assert_true(count_pages(&b, 6) > 10);
				mc_parquet_meta_free(m);
				mc_table_free(back);
				mc_buf_release(&b);
			}
	mc_table_free(t);
}

/* A row group size past the row count (even SIZE_MAX) gives one row group. */
static void test_huge_row_group_size(void **state)
{
	mc_table *t = pqt_make_table(10, 8);
	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	o.row_group_rows = SIZE_MAX;
	o.page_bytes = SIZE_MAX;
	mc_buf b = MC_BUF_INIT;
	roundtrip(t, &o, &b);
	mc_parquet_meta *m = meta_ok(&b);
	assert_int_equal(m->nrow_groups, 1);
	mc_parquet_meta_free(m);
	mc_buf_release(&b);
	mc_table_free(t);
}

static void test_zero_rows(void **state)
{
	mc_table *t = pqt_make_table(0, 1);
	assert_non_null(t);
	assert_int_equal(t->nrows, 0);
	mc_buf b = MC_BUF_INIT;
	write_ok(t, NULL, &b);
	mc_table *back = read_ok(b.data, b.len);
	assert_same(t, back);
	assert_int_equal(back->ncols, 13);
	mc_parquet_meta *m = meta_ok(&b);
	assert_int_equal(m->nrow_groups, 0);
	assert_int_equal(m->num_rows, 0);
	mc_parquet_meta_free(m);
	mc_table_free(back);
	mc_buf_release(&b);
	mc_table_free(t);
}

static mc_table *string_table(size_t n, const char *(*value)(size_t i, char *buf))
{
	mc_table *t = mc_table_new();
	assert_int_equal(mc_table_add_column(t, "s", MC_T_STRING, true), 0);
	char buf[128];
	for (size_t i = 0; i < n; i++) {
		const char *v = value(i, buf);
		assert_int_equal(v ? mc_column_push_str(&t->cols[0], v, strlen(v))
				   : mc_column_push_null(&t->cols[0]),
				 MC_OK);
	}
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_table_seal(t, &err), MC_OK);
	return t;
}

static const char *all_null(size_t i, char *buf)
{
	return NULL;
}
static const char *all_empty(size_t i, char *buf)
{
	return "";
}
static const char *one_value(size_t i, char *buf)
{
	return "Querétaro";
}
static const char *unique_64(size_t i, char *buf)
{
	snprintf(buf, 128, "%064zu", i * 2654435761u);
	return buf;
}

static void roundtrip(const mc_table *t, const mc_parquet_write_opts *o, mc_buf *b)
{
	write_ok(t, o, b);
	mc_table *back = read_ok(b->data, b->len);
	assert_same(t, back);
	mc_table_free(back);
}

static void test_string_shapes(void **state)
{
	const char *(*shapes[])(size_t, char *) = {all_null, all_empty, one_value, unique_64};
	for (int k = 0; k < 4; k++) {
		mc_table *t = string_table(k == 3 ? 20000 : 3000, shapes[k]);
		mc_buf b = MC_BUF_INIT;
		roundtrip(t, NULL, &b);
		mc_parquet_meta *m = meta_ok(&b);
		uint32_t enc = m->row_groups[0].chunks[0].encodings;
		/* one value: dictionary; 20000 x 68 bytes: the dictionary passes 1 MiB, so PLAIN */
		if (k == 2)
			assert_true(enc & (1u << PQ_ENC_RLE_DICTIONARY));
		if (k == 3)
			assert_false(enc & (1u << PQ_ENC_RLE_DICTIONARY));
		mc_parquet_meta_free(m);
		mc_buf_release(&b);
		mc_table_free(t);
	}
}

/* A non-nullable column stays REQUIRED; a nullable one without nulls has no validity map. */
static void test_nullability(void **state)
{
	mc_table *t = mc_table_new();
	assert_int_equal(mc_table_add_column(t, "req", MC_T_INT32, false), 0);
	assert_int_equal(mc_table_add_column(t, "opt", MC_T_INT32, true), 1);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(mc_column_push_i32(&t->cols[0], i), MC_OK);
		assert_int_equal(mc_column_push_i32(&t->cols[1], -i), MC_OK);
	}
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_table_seal(t, &err), MC_OK);
	mc_buf b = MC_BUF_INIT;
	write_ok(t, NULL, &b);
	mc_table *back = read_ok(b.data, b.len);
	assert_same(t, back);
	assert_false(back->cols[0].nullable);
	assert_true(back->cols[1].nullable);
	assert_null(back->cols[1].valid);
	mc_parquet_meta *m = meta_ok(&b);
	assert_false(m->cols[0].optional);
	assert_true(m->cols[1].optional);
	mc_parquet_meta_free(m);
	mc_table_free(back);
	mc_buf_release(&b);
	mc_table_free(t);
}

static void test_append_and_file(void **state)
{
	mc_table *t = pqt_make_table(300, 7);
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(mc_buf_append(&b, "XYZ", 3), MC_OK);
	write_ok(t, NULL, &b);
	assert_memory_equal(b.data, "XYZPAR1", 7);
	mc_table *back = read_ok(b.data + 3, b.len - 3);
	assert_same(t, back);
	mc_table_free(back);

	char path[] = "/tmp/mc_pq_test_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_parquet_write_file(path, t, NULL, &err), MC_OK);
	assert_int_equal(mc_parquet_read_file(path, &back, &err), MC_OK);
	assert_same(t, back);
	mc_table_free(back);
	mc_parquet_meta *m = NULL;
	assert_int_equal(mc_parquet_meta_read_file(path, &m, &err), MC_OK);
	assert_int_equal(m->num_rows, 300);
	assert_string_equal(m->created_by, "milkcast version " MC_VERSION);
	mc_parquet_meta_free(m);
	unlink(path);
	mc_code rc = mc_parquet_write_file("/nonexistent-dir/x.parquet", t, NULL, &err);
	assert_true(rc != MC_OK);
	assert_non_null(strstr(err.msg, "/nonexistent-dir/x.parquet"));
	mc_buf_release(&b);
	mc_table_free(t);
}

/* ---- Statistics ---- */

static mc_table *stats_table(void)
{
	mc_table *t = mc_table_new();
	mc_table_add_column(t, "d", MC_T_DOUBLE, true);
	mc_table_add_column(t, "z", MC_T_DOUBLE, false);
	mc_table_add_column(t, "nan", MC_T_FLOAT, true);
	mc_table_add_column(t, "s", MC_T_STRING, true);
	mc_table_add_column(t, "i", MC_T_INT64, false);
	mc_table_add_column(t, "b", MC_T_BOOL, false);
	mc_table_add_column(t, "allnull", MC_T_INT32, true);
	const double d[] = {NAN, 2.5, -1.25, NAN, 7.0};
	const double z[] = {0.0, -0.0, 0.0, 0.0, -0.0};
	const char *s[] = {"Zacatecas", "Ángel", NULL, "", "Querétaro"};
	const int64_t iv[] = {5, -9, INT64_MAX, 0, 3};
	mc_column *c = t->cols;
	for (int i = 0; i < 5; i++) {
		mc_column_push_f64(&c[0], d[i]);
		mc_column_push_f64(&c[1], z[i]);
		if (i == 2)
			mc_column_push_null(&c[2]);
		else
			mc_column_push_f32(&c[2], NAN);
		if (s[i])
			mc_column_push_str(&c[3], s[i], strlen(s[i]));
		else
			mc_column_push_null(&c[3]);
		mc_column_push_i64(&c[4], iv[i]);
		mc_column_push_bool(&c[5], true);
		mc_column_push_null(&c[6]);
	}
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_table_seal(t, &err), MC_OK);
	return t;
}

static void test_statistics(void **state)
{
	mc_table *t = stats_table();
	mc_buf b = MC_BUF_INIT;
	roundtrip(t, NULL, &b);
	mc_parquet_meta *m = meta_ok(&b);
	const mc_parquet_chunk_info *ch = m->row_groups[0].chunks;
	/* NaN is not a bound */
	assert_true(ch[0].stats.has_min_max);
	assert_true(ch[0].stats.min == -1.25 && ch[0].stats.max == 7.0);
	assert_int_equal(ch[0].stats.null_count, 0);
	/* zero bounds: -0 as the minimum, +0 as the maximum */
	assert_true(ch[1].stats.min == 0 && signbit(ch[1].stats.min));
	assert_true(ch[1].stats.max == 0 && !signbit(ch[1].stats.max));
	/* all NaN: no bounds */
	assert_false(ch[2].stats.has_min_max);
	assert_int_equal(ch[2].stats.null_count, 1);
	/* strings in UTF-8 byte order: "" < ... < "Zacatecas" < "Ángel" (0xC3) */
	assert_true(ch[3].stats.is_bytes);
	assert_string_equal(ch[3].stats.min_str, "");
	assert_string_equal(ch[3].stats.max_str, "Ángel");
	assert_int_equal(ch[3].stats.null_count, 1);
	assert_true(ch[4].stats.is_int);
	assert_int_equal(ch[4].stats.min_i, -9);
	assert_int_equal(ch[4].stats.max_i, INT64_MAX);
	assert_true(ch[5].stats.is_int && ch[5].stats.min_i == 1 && ch[5].stats.max_i == 1);
	assert_false(ch[6].stats.has_min_max);
	assert_int_equal(ch[6].stats.null_count, 5);
	mc_parquet_meta_free(m);
	mc_buf_release(&b);

	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	o.statistics = false;
	roundtrip(t, &o, &b);
	m = meta_ok(&b);
	assert_false(m->row_groups[0].chunks[0].stats.has_null_count);
	assert_false(m->row_groups[0].chunks[0].stats.has_min_max);
	mc_parquet_meta_free(m);
	mc_buf_release(&b);
	mc_table_free(t);
}

static void test_timestamp_annotations(void **state)
{
	mc_table *t = pqt_make_table(50, 3);
	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	o.timestamps_utc = true;
	mc_buf b = MC_BUF_INIT;
	roundtrip(t, &o, &b);
	mc_parquet_meta *m = meta_ok(&b);
	assert_string_equal(m->cols[8].logical, "TIMESTAMP(MILLIS,utc=true)");
	assert_int_equal(m->cols[8].converted_type, PQ_CT_TIMESTAMP_MILLIS);
	assert_int_equal(m->cols[9].converted_type, PQ_CT_TIMESTAMP_MICROS);
	assert_int_equal(m->cols[10].converted_type, -1); /* no legacy type for NANOS */
	assert_string_equal(m->cols[7].logical, "DATE");
	assert_int_equal(m->cols[7].converted_type, PQ_CT_DATE);
	assert_int_equal(m->cols[5].converted_type, PQ_CT_UTF8);
	mc_parquet_meta_free(m);
	mc_buf_release(&b);
	mc_table_free(t);
}

/* ---- Invalid tables and options ---- */

static void expect_invalid(const mc_table *t, const mc_parquet_write_opts *o, const char *what)
{
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(mc_buf_append(&b, "keep", 4), MC_OK);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_parquet_write_mem(t, o, &b, &err), MC_ERR_INVALID);
	if (!strstr(err.msg, what))
		fail_msg("message '%s' lacks '%s'", err.msg, what);
	assert_int_equal(b.len, 4);
	mc_buf_release(&b);
}

static void test_invalid_tables(void **state)
{
	mc_table *t = mc_table_new();
	expect_invalid(t, NULL, "no columns");
	mc_table_add_column(t, "a", MC_T_INT32, false);
	mc_column_push_null(&t->cols[0]);
	t->nrows = 1;
	expect_invalid(t, NULL, "not nullable");
	mc_table_free(t);

	t = mc_table_new();
	mc_table_add_column(t, "a", MC_T_INT32, true);
	mc_table_add_column(t, "a", MC_T_INT32, true);
	expect_invalid(t, NULL, "twice");
	mc_table_free(t);

	t = mc_table_new();
	mc_table_add_column(t, "a", MC_T_INT32, true);
	mc_table_add_column(t, "b", MC_T_INT32, true);
	mc_column_push_i32(&t->cols[0], 1);
	t->nrows = 1;
	expect_invalid(t, NULL, "has 0 rows");
	mc_column_push_i32(&t->cols[1], 1);
	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	o.codec = (mc_pq_codec)2;
	expect_invalid(t, &o, "codec");
	mc_table_free(t);
}

/* ---- RLE / bit-packing hybrid ---- */

static void rle_roundtrip(const uint32_t *v, size_t n, int bw)
{
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(pq_rle_encode(v, n, bw, &b), MC_OK);
	uint32_t *back = calloc(n + 1, sizeof *back);
	const char *e = pq_rle_decode(b.data, b.len, bw, n, back, 4);
	if (e)
		fail_msg("bw %d n %zu: %s", bw, n, e);
	assert_memory_equal(v, back, n * sizeof *v);
	if (bw <= 8) {
		uint8_t *v8 = malloc(n + 1), *b8 = calloc(n + 1, 1);
		for (size_t i = 0; i < n; i++)
			v8[i] = (uint8_t)v[i];
		mc_buf_reset(&b);
		assert_int_equal(pq_rle_encode_u8(v8, n, bw, &b), MC_OK);
		assert_null(pq_rle_decode(b.data, b.len, bw, n, b8, 1));
		assert_memory_equal(v8, b8, n);
		free(v8);
		free(b8);
	}
	free(back);
	mc_buf_release(&b);
}

static void test_rle_hybrid(void **state)
{
	uint64_t s = 99;
	uint32_t v[3000];
	for (int bw = 0; bw <= 32; bw++) {
		uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
		for (int shape = 0; shape < 4; shape++) {
			size_t n = 1 + pqt_rand(&s) % 3000;
			for (size_t i = 0; i < n; i++) {
				uint32_t r = (uint32_t)pqt_rand(&s);
				if (shape == 1) /* long runs */
					r = (uint32_t)(i / 100) * 2654435761u;
				else if (shape == 2) /* runs of 1..20 */
					r = (uint32_t)(pqt_rand(&s) % 20 < 2 ? r
									     : (i ? v[i - 1] : r));
				else if (shape == 3) /* runs just under and over 8 */
					r = (uint32_t)(i / (7 + i % 3));
				v[i] = r & mask;
			}
			rle_roundtrip(v, n, bw);
		}
	}
	/* Known bytes: run of 5 x value 3 (bw 2), then one bit-packed group 0..7 (bw 3). */
	const uint8_t rle[] = {0x0a, 0x03};
	uint32_t out[8];
	assert_null(pq_rle_decode(rle, sizeof rle, 2, 5, out, 4));
	for (int i = 0; i < 5; i++)
		assert_int_equal(out[i], 3);
	const uint8_t bp[] = {0x03, 0x88, 0xc6, 0xfa};
	assert_null(pq_rle_decode(bp, sizeof bp, 3, 8, out, 4));
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(out[i], i);
	/* A bit-packed run may be cut after the values needed; not before. */
	assert_null(pq_rle_decode(bp, 3, 3, 5, out, 4));
	assert_non_null(pq_rle_decode(bp, 3, 3, 8, out, 4));
	assert_non_null(pq_rle_decode(rle, 1, 2, 5, out, 4));
	assert_non_null(pq_rle_decode(rle, 2, 33, 5, out, 4));
	const uint8_t wide[] = {0x0a, 0x07};
	assert_non_null(pq_rle_decode(wide, 2, 2, 5, out, 4)); /* 7 needs 3 bits */
}

/* ---- Thrift compact protocol ---- */

static void test_thrift_skip_all_types(void **state)
{
	mc_buf b = MC_BUF_INIT;
	tc_writer w;
	tc_writer_init(&w, &b);
	tw_struct_begin(&w);
	tw_field_bool(&w, 1, true);
	tw_field_bool(&w, 2, false);
	tw_field_begin(&w, 3, TC_BYTE);
	assert_int_equal(mc_buf_putc(&b, 0x7f), MC_OK);
	tw_field_begin(&w, 4, TC_I16);
	tw_i32(&w, -300);
	tw_field_i32(&w, 40, -123456); /* long-form field id */
	tw_field_i64(&w, 5, INT64_MIN);
	tw_field_begin(&w, 6, TC_DOUBLE);
	assert_int_equal(mc_buf_append(&b, "\0\0\0\0\0\0\xf0\x3f", 8), MC_OK);
	tw_field_binary(&w, 7, "hola", 4);
	tw_field_list(&w, 8, TC_I32, 20);
	for (int i = 0; i < 20; i++)
		tw_i32(&w, i);
	tw_field_list(&w, 9, TC_TRUE, 3);
	mc_buf_append(&b, "\x01\x02\x01", 3);
	tw_field_begin(&w, 10, TC_MAP);
	tw_varint(&w, 2);
	assert_int_equal(mc_buf_putc(&b, (uint8_t)(TC_BINARY << 4 | TC_I32)), MC_OK);
	tw_binary(&w, "k", 1);
	tw_i32(&w, 1);
	tw_binary(&w, "l", 1);
	tw_i32(&w, 2);
	tw_field_begin(&w, 11, TC_MAP);
	tw_varint(&w, 0);
	tw_field_struct(&w, 12);
	tw_field_struct(&w, 1);
	tw_field_binary(&w, 2, "deep", 4);
	tw_struct_end(&w);
	tw_struct_end(&w);
	tw_field_list(&w, 13, TC_STRUCT, 2);
	tw_struct_begin(&w);
	tw_field_i32(&w, 1, 1);
	tw_struct_end(&w);
	tw_struct_begin(&w);
	tw_struct_end(&w);
	tw_field_begin(&w, 14, TC_SET);
	assert_int_equal(mc_buf_putc(&b, (uint8_t)(1 << 4 | TC_BINARY)), MC_OK);
	tw_binary(&w, "x", 1);
	tw_field_i32(&w, 3, 77); /* a lower id after higher ones */
	tw_struct_end(&w);
	assert_int_equal(w.rc, MC_OK);
	assert_int_equal(mc_buf_putc(&b, 0xAA), MC_OK); /* sentinel after the struct */

	tc_reader r;
	tc_reader_init(&r, b.data, b.len);
	assert_true(tc_skip(&r, TC_STRUCT));
	assert_int_equal(r.p - b.data, b.len - 1);

	/* Field by field: the ids and the values we can read back. */
	tc_reader_init(&r, b.data, b.len);
	int16_t last;
	tc_field f;
	assert_true(tc_struct_begin(&r, &last));
	int seen = 0;
	while (tc_next_field(&r, &last, &f)) {
		int32_t v32;
		int64_t v64;
		if (f.id == 40) {
			assert_true(tc_field_i32(&r, &f, &v32));
			assert_int_equal(v32, -123456);
		} else if (f.id == 5) {
			assert_true(tc_field_i64(&r, &f, &v64));
			assert_true(v64 == INT64_MIN);
		} else if (f.id == 3 && f.type == TC_I32) {
			assert_true(tc_field_i32(&r, &f, &v32));
			assert_int_equal(v32, 77);
		} else {
			assert_true(tc_skip(&r, f.type));
		}
		seen++;
	}
	assert_true(tc_struct_end(&r));
	assert_int_equal(seen, 16);
	mc_buf_release(&b);
}

static void test_thrift_hostile(void **state)
{
	tc_reader r;
	/* list claiming 2^31 elements in 6 bytes */
	const uint8_t big_list[] = {0xf5, 0x80, 0x80, 0x80, 0x80, 0x08};
	tc_reader_init(&r, big_list, sizeof big_list);
	assert_false(tc_skip(&r, TC_LIST));
	assert_non_null(strstr(r.msg, "truncated"));
	/* varint of 11 bytes */
	const uint8_t long_varint[] = {0x15, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	tc_reader_init(&r, long_varint, sizeof long_varint);
	assert_false(tc_skip(&r, TC_STRUCT));
	/* 100 nested structs */
	uint8_t deep[200];
	for (int i = 0; i < 100; i++)
		deep[i] = 0x1c;
	memset(deep + 100, 0, 100);
	tc_reader_init(&r, deep, sizeof deep);
	assert_false(tc_skip(&r, TC_STRUCT));
	assert_non_null(strstr(r.msg, "nested"));
	/* string longer than the input; unknown type nibble; map with bad types */
	const uint8_t long_str[] = {0x18, 0x7f, 'a'};
	tc_reader_init(&r, long_str, sizeof long_str);
	assert_false(tc_skip(&r, TC_STRUCT));
	const uint8_t bad_type[] = {0x1d, 0x00};
	tc_reader_init(&r, bad_type, sizeof bad_type);
	assert_false(tc_skip(&r, TC_STRUCT));
	const uint8_t bad_map[] = {0x1b, 0x02, 0xdd};
	tc_reader_init(&r, bad_map, sizeof bad_map);
	assert_false(tc_skip(&r, TC_STRUCT));
	/* i32 out of range */
	const uint8_t big_i32[] = {0xff, 0xff, 0xff, 0xff, 0x7f};
	int32_t v;
	tc_reader_init(&r, big_i32, sizeof big_i32);
	assert_false(tc_read_i32(&r, &v));
	/* empty input */
	tc_reader_init(&r, big_i32, 0);
	assert_false(tc_skip(&r, TC_I64));
	assert_non_null(strstr(r.msg, "truncated"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_matrix),
		cmocka_unit_test(test_huge_row_group_size),
		cmocka_unit_test(test_zero_rows),
		cmocka_unit_test(test_string_shapes),
		cmocka_unit_test(test_nullability),
		cmocka_unit_test(test_append_and_file),
		cmocka_unit_test(test_statistics),
		cmocka_unit_test(test_timestamp_annotations),
		cmocka_unit_test(test_invalid_tables),
		cmocka_unit_test(test_rle_hybrid),
		cmocka_unit_test(test_thrift_skip_all_types),
		cmocka_unit_test(test_thrift_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
