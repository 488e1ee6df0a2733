/* Parquet reader robustness: crafted bad files, truncations and a deterministic mutation fuzz loop
 * (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/buf.h"
#include "milkcast/parquet.h"
#include "parquet/parquet_int.h"
#include "test_parquet_data.h"

#define NAME "crafted.parquet"

/* Read from an exactly sized heap copy, so ASan catches any over-read. */
static mc_code read_copy(const uint8_t *p, size_t n, mc_error *err)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	mc_table *t = NULL;
	mc_code rc = mc_parquet_read_mem(copy, n, NAME, &t, err);
	if (rc == MC_OK) {
		assert_non_null(t);
		mc_table_free(t);
	} else {
		assert_null(t);
		assert_true(err->msg[0] != '\0');
	}
	mc_parquet_meta *m = NULL;
	mc_error merr = MC_ERROR_INIT;
	if (mc_parquet_meta_read_mem(copy, n, NAME, &m, &merr) == MC_OK)
		mc_parquet_meta_free(m);
	else
		assert_null(m);
	free(copy);
	return rc;
}

static void expect_error(const uint8_t *p, size_t n, mc_code code, const char *what)
{
	mc_error err = MC_ERROR_INIT;
	mc_code rc = read_copy(p, n, &err);
	if (rc != code || !strstr(err.msg, what))
		fail_msg("got code %d '%s', want code %d with '%s'", rc, err.msg, code, what);
}

static void read_file(const char *path, mc_buf *b)
{
	mc_error err = MC_ERROR_INIT;
	mc_buf_init(b, 0);
	if (mc_buf_read_file(b, path, &err))
		fail_msg("%s", err.msg);
}

/* ---- A builder of one-column files with hand-made pages ---- */

typedef struct fb {
	mc_buf out;
	int type, repetition, codec;
	int64_t dict_offset, data_offset;
	bool unknown_fields; /* sprinkle unknown fields of every Thrift type */
} fb;

static void fb_init(fb *f, int type, int repetition)
{
	memset(f, 0, sizeof *f);
	mc_buf_init(&f->out, 0);
	f->type = type;
	f->repetition = repetition;
	f->dict_offset = -1;
	f->data_offset = -1;
	assert_int_equal(mc_buf_append(&f->out, PQ_MAGIC, 4), MC_OK);
}

/* Unknown fields (ids 20..) of every type, as a newer writer could add. */
static void put_unknown(fb *f, tc_writer *w)
{
	if (!f->unknown_fields)
		return;
	tw_field_bool(w, 20, true);
	tw_field_begin(w, 21, TC_BYTE);
	mc_buf_putc(w->out, 9);
	tw_field_begin(w, 22, TC_I16);
	tw_i32(w, -5);
	tw_field_i32(w, 23, 1 << 30);
	tw_field_i64(w, 24, -1);
	tw_field_begin(w, 25, TC_DOUBLE);
	mc_buf_append(w->out, "\0\0\0\0\0\0\0\0", 8);
	tw_field_binary(w, 26, "future", 6);
	tw_field_list(w, 27, TC_STRUCT, 2);
	tw_struct_begin(w);
	tw_field_list(w, 1, TC_BINARY, 1);
	tw_binary(w, "x", 1);
	tw_struct_end(w);
	tw_struct_begin(w);
	tw_struct_end(w);
	tw_field_begin(w, 28, TC_MAP);
	tw_varint(w, 1);
	mc_buf_putc(w->out, TC_I32 << 4 | TC_STRUCT);
	tw_i32(w, 1);
	tw_struct_begin(w);
	tw_field_bool(w, 1, false);
	tw_struct_end(w);
	tw_field_begin(w, 29, TC_SET);
	mc_buf_putc(w->out, 2 << 4 | TC_I64);
	tw_varint(w, 1);
	tw_varint(w, 2);
	tw_field_struct(w, 300);
	tw_field_struct(w, 1);
	tw_struct_end(w);
	tw_struct_end(w);
}

typedef struct fpage {
	int type;
	int32_t num_values, encoding, def_encoding;
	int32_t unc, comp;			       /* -1: the body length */
	int32_t num_nulls, num_rows, def_len, rep_len; /* v2 */
	bool not_compressed;			       /* v2 is_compressed = false */
} fpage;

static void fb_page(fb *f, const fpage *pg, const void *body, size_t n)
{
	int64_t at = (int64_t)f->out.len;
	if (pg->type == PQ_PAGE_DICTIONARY && f->dict_offset < 0)
		f->dict_offset = at;
	if (pg->type != PQ_PAGE_DICTIONARY && f->data_offset < 0)
		f->data_offset = at;
	tc_writer w;
	tc_writer_init(&w, &f->out);
	tw_struct_begin(&w);
	tw_field_i32(&w, 1, pg->type);
	tw_field_i32(&w, 2, pg->unc != -1 ? pg->unc : (int32_t)n);
	tw_field_i32(&w, 3, pg->comp != -1 ? pg->comp : (int32_t)n);
	put_unknown(f, &w);
	if (pg->type == PQ_PAGE_DICTIONARY) {
		tw_field_struct(&w, 7);
		tw_field_i32(&w, 1, pg->num_values);
		tw_field_i32(&w, 2, pg->encoding);
		tw_struct_end(&w);
	} else if (pg->type == PQ_PAGE_DATA) {
		tw_field_struct(&w, 5);
		tw_field_i32(&w, 1, pg->num_values);
		tw_field_i32(&w, 2, pg->encoding);
		tw_field_i32(&w, 3, pg->def_encoding);
		tw_field_i32(&w, 4, PQ_ENC_RLE);
		put_unknown(f, &w);
		tw_struct_end(&w);
	} else if (pg->type == PQ_PAGE_DATA_V2) {
		tw_field_struct(&w, 8);
		tw_field_i32(&w, 1, pg->num_values);
		tw_field_i32(&w, 2, pg->num_nulls);
		tw_field_i32(&w, 3, pg->num_rows);
		tw_field_i32(&w, 4, pg->encoding);
		tw_field_i32(&w, 5, pg->def_len);
		tw_field_i32(&w, 6, pg->rep_len);
		if (pg->not_compressed)
			tw_field_bool(&w, 7, false);
		tw_struct_end(&w);
	}
	tw_struct_end(&w);
	assert_int_equal(w.rc, MC_OK);
	if (n)
		assert_int_equal(mc_buf_append(&f->out, body, n), MC_OK);
}

static void fb_finish(fb *f, int64_t num_rows, int64_t chunk_values)
{
	int64_t chunk_start = f->dict_offset >= 0 ? f->dict_offset : f->data_offset;
	int64_t size = (int64_t)f->out.len - chunk_start;
	size_t start = f->out.len;
	tc_writer w;
	tc_writer_init(&w, &f->out);
	tw_struct_begin(&w);
	tw_field_i32(&w, 1, 1);
	tw_field_list(&w, 2, TC_STRUCT, 2);
	tw_struct_begin(&w);
	tw_field_binary(&w, 4, "schema", 6);
	tw_field_i32(&w, 5, 1);
	put_unknown(f, &w);
	tw_struct_end(&w);
	tw_struct_begin(&w);
	tw_field_i32(&w, 1, f->type);
	tw_field_i32(&w, 3, f->repetition);
	tw_field_binary(&w, 4, "col", 3);
	put_unknown(f, &w);
	tw_struct_end(&w);
	tw_field_i64(&w, 3, num_rows);
	tw_field_list(&w, 4, TC_STRUCT, 1);
	tw_struct_begin(&w);
	tw_field_list(&w, 1, TC_STRUCT, 1);
	tw_struct_begin(&w);
	tw_field_i64(&w, 2, 0);
	tw_field_struct(&w, 3);
	tw_field_i32(&w, 1, f->type);
	tw_field_list(&w, 2, TC_I32, 2);
	tw_i32(&w, PQ_ENC_PLAIN);
	tw_i32(&w, PQ_ENC_RLE);
	tw_field_list(&w, 3, TC_BINARY, 1);
	tw_binary(&w, "col", 3);
	tw_field_i32(&w, 4, f->codec);
	tw_field_i64(&w, 5, chunk_values);
	tw_field_i64(&w, 6, size);
	tw_field_i64(&w, 7, size);
	tw_field_i64(&w, 9, f->data_offset >= 0 ? f->data_offset : chunk_start);
	if (f->dict_offset >= 0)
		tw_field_i64(&w, 11, f->dict_offset);
	put_unknown(f, &w);
	tw_struct_end(&w);
	put_unknown(f, &w);
	tw_struct_end(&w);
	tw_field_i64(&w, 2, size);
	tw_field_i64(&w, 3, num_rows);
	put_unknown(f, &w);
	tw_struct_end(&w);
	put_unknown(f, &w);
	tw_struct_end(&w);
	assert_int_equal(w.rc, MC_OK);
	uint8_t tail[8];
	pq_put_le32(tail, (uint32_t)(f->out.len - start));
	memcpy(tail + 4, PQ_MAGIC, 4);
	assert_int_equal(mc_buf_append(&f->out, tail, 8), MC_OK);
}

static const fpage V1 = {PQ_PAGE_DATA, 4, PQ_ENC_PLAIN, PQ_ENC_RLE, -1, -1, 0, 0, 0, 0, false};
static const fpage DICT = {PQ_PAGE_DICTIONARY, 3, PQ_ENC_PLAIN, 0, -1, -1, 0, 0, 0, 0, false};

static const uint8_t four_ints[] = {1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0};
/* PLAIN dictionary of "a", "bb", "ccc" */
static const uint8_t abc[] = {1, 0, 0, 0, 'a', 2, 0, 0, 0, 'b', 'b', 3, 0, 0, 0, 'c', 'c', 'c'};

/* A correct file, with and without unknown fields everywhere (forward compatibility). */
static void test_builder_valid(void **state)
{
	for (int unknown = 0; unknown < 2; unknown++) {
		fb f;
		fb_init(&f, PQ_INT32, PQ_REQUIRED);
		f.unknown_fields = unknown;
		fb_page(&f, &V1, four_ints, sizeof four_ints);
		fb_finish(&f, 4, 4);
		mc_error err = MC_ERROR_INIT;
		mc_table *t = NULL;
		if (mc_parquet_read_mem(f.out.data, f.out.len, NAME, &t, &err))
			fail_msg("%s", err.msg);
		assert_int_equal(t->nrows, 4);
		assert_int_equal(MC_COL_I32(&t->cols[0])[3], 4);
		mc_table_free(t);
		mc_buf_release(&f.out);
	}
	/* Optional strings through a dictionary: def levels 1,0,1,1 and indices 2,0,1. */
	fb f;
	fb_init(&f, PQ_BYTE_ARRAY, PQ_OPTIONAL);
	f.unknown_fields = true;
	fb_page(&f, &DICT, abc, sizeof abc);
	fpage pg = V1;
	pg.encoding = PQ_ENC_RLE_DICTIONARY;
	/* levels: 4-byte length 2, bit-packed group header 3, byte 0b1101 */
	const uint8_t body[] = {2, 0, 0, 0, 0x03, 0x0d, 2, 0x03, 0x12, 0x00};
	fb_page(&f, &pg, body, sizeof body);
	fb_finish(&f, 4, 4);
	mc_error err = MC_ERROR_INIT;
	mc_table *t = NULL;
	if (mc_parquet_read_mem(f.out.data, f.out.len, NAME, &t, &err))
		fail_msg("%s", err.msg);
	size_t n;
	const mc_column *c = &t->cols[0];
	assert_true(mc_column_is_null(c, 1));
	assert_memory_equal(mc_column_str(c, 0, &n), "ccc", 3);
	assert_memory_equal(mc_column_str(c, 2, &n), "a", 1);
	assert_memory_equal(mc_column_str(c, 3, &n), "bb", 2);
	assert_int_equal(n, 2);
	mc_table_free(t);
	mc_buf_release(&f.out);
}

/* Build a one-page INT32 or string file and expect an error. */
static void crafted(int type, int rep, bool dict, const fpage *pg, const void *body, size_t n,
		    int64_t rows, mc_code code, const char *what)
{
	fb f;
	fb_init(&f, type, rep);
	if (dict)
		fb_page(&f, &DICT, abc, sizeof abc);
	fb_page(&f, pg, body, n);
	fb_finish(&f, rows, rows);
	expect_error(f.out.data, f.out.len, code, what);
	mc_buf_release(&f.out);
}

static void test_crafted_pages(void **state)
{
	fpage pg = V1;
	pg.encoding = PQ_ENC_RLE_DICTIONARY;
	const uint8_t idx5[] = {3, 0x08, 0x05};
	crafted(PQ_BYTE_ARRAY, PQ_REQUIRED, true, &pg, idx5, sizeof idx5, 4, MC_ERR_FORMAT,
		"cannot read '" NAME "': column 'col' row group 0 page 1: dictionary index 5 out "
		"of range (3 entries)");
	const uint8_t bw40[] = {40, 0x08, 0x05};
	crafted(PQ_BYTE_ARRAY, PQ_REQUIRED, true, &pg, bw40, sizeof bw40, 4, MC_ERR_FORMAT,
		"bit width 40 above 32");
	crafted(PQ_BYTE_ARRAY, PQ_REQUIRED, false, &pg, idx5, sizeof idx5, 4, MC_ERR_FORMAT,
		"without a dictionary");
	const uint8_t cut_run[] = {3, 0x09};
	crafted(PQ_BYTE_ARRAY, PQ_REQUIRED, true, &pg, cut_run, sizeof cut_run, 4, MC_ERR_FORMAT,
		"truncated");

	pg = V1;
	crafted(PQ_INT32, PQ_REQUIRED, false, &pg, four_ints, 12, 4, MC_ERR_FORMAT, "truncated");
	pg.num_values = 5;
	crafted(PQ_INT32, PQ_REQUIRED, false, &pg, four_ints, 16, 4, MC_ERR_FORMAT,
		"page has 5 values, 4 rows are left");
	pg = V1;
	pg.unc = 17;
	crafted(PQ_INT32, PQ_REQUIRED, false, &pg, four_ints, 16, 4, MC_ERR_FORMAT,
		"uncompressed page");
	pg = V1;
	pg.comp = 1000;
	crafted(PQ_INT32, PQ_REQUIRED, false, &pg, four_ints, 16, 4, MC_ERR_FORMAT,
		"truncated: page of 1000 bytes");
	pg = V1;
	pg.comp = -3;
	pg.unc = -3;
	crafted(PQ_INT32, PQ_REQUIRED, false, &pg, four_ints, 16, 4, MC_ERR_FORMAT, "negative");
	pg = V1;
	pg.encoding = PQ_ENC_DELTA_BINARY_PACKED;
	crafted(PQ_INT32, PQ_REQUIRED, false, &pg, four_ints, 16, 4, MC_ERR_UNSUPPORTED,
		"DELTA_BINARY_PACKED");
	pg.encoding = 77;
	crafted(PQ_INT32, PQ_REQUIRED, false, &pg, four_ints, 16, 4, MC_ERR_UNSUPPORTED,
		"encoding ? (77)");
	pg = V1;
	pg.def_encoding = PQ_ENC_BIT_PACKED;
	crafted(PQ_INT32, PQ_OPTIONAL, false, &pg, four_ints, 16, 4, MC_ERR_UNSUPPORTED,
		"BIT_PACKED");
	pg = V1; /* levels length past the page */
	const uint8_t long_levels[] = {200, 0, 0, 0, 0x08, 0x01};
	crafted(PQ_INT32, PQ_OPTIONAL, false, &pg, long_levels, sizeof long_levels, 4,
		MC_ERR_FORMAT, "truncated definition levels");
	const uint8_t level2[] = {2, 0, 0, 0, 0x08, 0x02};
	crafted(PQ_INT32, PQ_OPTIONAL, false, &pg, level2, sizeof level2, 4, MC_ERR_FORMAT,
		"definition levels");
	/* strings: a length past the page */
	const uint8_t long_str[] = {1, 0, 0, 0, 'a', 0xff, 0xff, 0, 0, 'b'};
	pg.num_values = 2;
	crafted(PQ_BYTE_ARRAY, PQ_REQUIRED, false, &pg, long_str, sizeof long_str, 2, MC_ERR_FORMAT,
		"string of 65535 bytes");
	pg.num_values = 4;
	/* booleans: RLE with a length past the page */
	pg.encoding = PQ_ENC_RLE;
	const uint8_t rle_bools[] = {9, 0, 0, 0, 0x08, 0x01};
	crafted(PQ_BOOLEAN, PQ_REQUIRED, false, &pg, rle_bools, sizeof rle_bools, 4, MC_ERR_FORMAT,
		"truncated RLE booleans");
	/* declared sizes past the budget */
	pg = V1;
	pg.unc = INT32_MAX;
	pg.comp = 16;
	fb f;
	fb_init(&f, PQ_INT32, PQ_REQUIRED);
	f.codec = MC_PQ_ZSTD;
	fb_page(&f, &pg, four_ints, 16);
	fb_finish(&f, 4, 4);
	expect_error(f.out.data, f.out.len, MC_ERR_LIMIT, "exceeds the");
	mc_buf_release(&f.out);
}

static void test_crafted_codecs(void **state)
{
	const int codecs[] = {MC_PQ_SNAPPY, MC_PQ_ZSTD};
	for (int k = 0; k < 2; k++) {
		mc_buf z = MC_BUF_INIT;
		assert_int_equal(pq_compress(NULL, codecs[k], 1, four_ints, 16, &z), MC_OK);
		/* compressed page that inflates to 16 bytes but declares 12 or 20 */
		int32_t sizes[] = {12, 20};
		for (int s = 0; s < 2; s++) {
			fpage pg = V1;
			pg.unc = sizes[s];
			fb f;
			fb_init(&f, PQ_INT32, PQ_REQUIRED);
			f.codec = codecs[k];
			fb_page(&f, &pg, z.data, z.len);
			fb_finish(&f, 4, 4);
			expect_error(f.out.data, f.out.len, MC_ERR_FORMAT, k ? "zstd" : "snappy");
			mc_buf_release(&f.out);
		}
		/* garbage instead of compressed data */
		fpage pg = V1;
		pg.unc = 16;
		fb f;
		fb_init(&f, PQ_INT32, PQ_REQUIRED);
		f.codec = codecs[k];
		fb_page(&f, &pg, "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", 8);
		fb_finish(&f, 4, 4);
		expect_error(f.out.data, f.out.len, MC_ERR_FORMAT, "corrupt");
		mc_buf_release(&f.out);
		mc_buf_release(&z);
	}
}

static void test_crafted_v2(void **state)
{
	/* 4 values, 1 null: levels 1,0,1,1 (bit-packed), then 3 PLAIN ints */
	const uint8_t body[] = {0x03, 0x0d, 7, 0, 0, 0, 8, 0, 0, 0, 9, 0, 0, 0};
	fpage pg = {PQ_PAGE_DATA_V2, 4, PQ_ENC_PLAIN, 0, -1, -1, 1, 4, 2, 0, false};
	fb f;
	fb_init(&f, PQ_INT32, PQ_OPTIONAL);
	fb_page(&f, &pg, body, sizeof body);
	fb_finish(&f, 4, 4);
	mc_error err = MC_ERROR_INIT;
	mc_table *t = NULL;
	if (mc_parquet_read_mem(f.out.data, f.out.len, NAME, &t, &err))
		fail_msg("%s", err.msg);
	assert_true(mc_column_is_null(&t->cols[0], 1));
	assert_int_equal(MC_COL_I32(&t->cols[0])[0], 7);
	assert_int_equal(MC_COL_I32(&t->cols[0])[3], 9);
	mc_table_free(t);
	mc_buf_release(&f.out);

	/* all nulls: an empty values section is not handed to the codec */
	const uint8_t nulls[] = {0x08, 0x00};
	fpage all_null = {PQ_PAGE_DATA_V2, 4, PQ_ENC_PLAIN, 0, -1, -1, 4, 4, 2, 0, false};
	fb_init(&f, PQ_INT32, PQ_OPTIONAL);
	f.codec = MC_PQ_SNAPPY;
	fb_page(&f, &all_null, nulls, sizeof nulls);
	fb_finish(&f, 4, 4);
	if (mc_parquet_read_mem(f.out.data, f.out.len, NAME, &t, &err))
		fail_msg("%s", err.msg);
	for (size_t i = 0; i < 4; i++)
		assert_true(mc_column_is_null(&t->cols[0], i));
	mc_table_free(t);
	mc_buf_release(&f.out);

	pg.num_nulls = 2;
	crafted(PQ_INT32, PQ_OPTIONAL, false, &pg, body, sizeof body, 4, MC_ERR_FORMAT,
		"levels show 3 values, header says 2");
	pg.num_nulls = 5;
	crafted(PQ_INT32, PQ_OPTIONAL, false, &pg, body, sizeof body, 4, MC_ERR_FORMAT,
		"inconsistent counts");
	pg.num_nulls = 1;
	pg.def_len = 100;
	crafted(PQ_INT32, PQ_OPTIONAL, false, &pg, body, sizeof body, 4, MC_ERR_FORMAT,
		"level lengths exceed the page");
	pg.def_len = 0;
	crafted(PQ_INT32, PQ_OPTIONAL, false, &pg, body, sizeof body, 4, MC_ERR_FORMAT,
		"1 nulls without definition levels");
}

static void test_crafted_structure(void **state)
{
	fb f;
	/* dictionary after data, and two dictionaries */
	fb_init(&f, PQ_BYTE_ARRAY, PQ_REQUIRED);
	fpage pg = V1;
	pg.num_values = 1;
	fb_page(&f, &pg, "\1\0\0\0a", 5);
	fb_page(&f, &DICT, abc, sizeof abc);
	fb_finish(&f, 4, 4);
	expect_error(f.out.data, f.out.len, MC_ERR_FORMAT, "dictionary page after data pages");
	mc_buf_release(&f.out);
	fb_init(&f, PQ_BYTE_ARRAY, PQ_REQUIRED);
	fb_page(&f, &DICT, abc, sizeof abc);
	fb_page(&f, &DICT, abc, sizeof abc);
	fb_finish(&f, 4, 4);
	expect_error(f.out.data, f.out.len, MC_ERR_FORMAT, "a second dictionary page");
	mc_buf_release(&f.out);
	/* a dictionary of 3 strings in too few bytes */
	fb_init(&f, PQ_BYTE_ARRAY, PQ_REQUIRED);
	fb_page(&f, &DICT, abc, 12);
	fb_finish(&f, 4, 4);
	expect_error(f.out.data, f.out.len, MC_ERR_FORMAT, "truncated dictionary string 2");
	mc_buf_release(&f.out);
	/* chunk values differ from the row group's rows */
	fb_init(&f, PQ_INT32, PQ_REQUIRED);
	fb_page(&f, &V1, four_ints, 16);
	fb_finish(&f, 4, 3);
	expect_error(f.out.data, f.out.len, MC_ERR_FORMAT, "chunk has 3 values for 4 rows");
	mc_buf_release(&f.out);
	/* pages end before the rows do */
	fb_init(&f, PQ_INT32, PQ_REQUIRED);
	pg = V1;
	pg.num_values = 2;
	fb_page(&f, &pg, four_ints, 8);
	fb_finish(&f, 4, 4);
	expect_error(f.out.data, f.out.len, MC_ERR_FORMAT, "the chunk ends after 2 of 4 values");
	mc_buf_release(&f.out);
	/* absurd row count: refused before any allocation */
	fb_init(&f, PQ_INT32, PQ_REQUIRED);
	fb_page(&f, &V1, four_ints, 16);
	fb_finish(&f, (int64_t)1 << 40, (int64_t)1 << 40);
	expect_error(f.out.data, f.out.len, MC_ERR_LIMIT, "exceed the");
	mc_buf_release(&f.out);
	/* a string bomb: one 1000-byte entry repeated 100,000 times by one RLE run */
	static uint8_t big[1004];
	pq_put_le32(big, 1000);
	memset(big + 4, 'x', 1000);
	fb_init(&f, PQ_BYTE_ARRAY, PQ_REQUIRED);
	fpage one = DICT;
	one.num_values = 1;
	fb_page(&f, &one, big, sizeof big);
	pg = V1;
	pg.num_values = 100000;
	pg.encoding = PQ_ENC_RLE_DICTIONARY;
	const uint8_t run[] = {1, 0xc0, 0x9a, 0x0c, 0x00}; /* varint 200000: 100000 x id 0 */
	fb_page(&f, &pg, run, sizeof run);
	fb_finish(&f, 100000, 100000);
	assert_true(f.out.len < 2000);
	expect_error(f.out.data, f.out.len, MC_ERR_LIMIT, "exceeds the 67108864-byte limit");
	mc_buf_release(&f.out);
	/* repeated and unknown physical types */
	fb_init(&f, PQ_INT32, PQ_REPEATED);
	fb_page(&f, &V1, four_ints, 16);
	fb_finish(&f, 4, 4);
	expect_error(f.out.data, f.out.len, MC_ERR_UNSUPPORTED, "column 'col' is repeated");
	mc_buf_release(&f.out);
	fb_init(&f, PQ_INT96, PQ_REQUIRED);
	fb_page(&f, &V1, four_ints, 16);
	fb_finish(&f, 4, 4);
	expect_error(f.out.data, f.out.len, MC_ERR_UNSUPPORTED,
		     "column 'col': physical type INT96");
	mc_buf_release(&f.out);
}

/* A footer listing the schema (or the row groups) twice is refused without leaking. */
static void test_duplicate_fields(void **state)
{
	for (int which = 0; which < 2; which++) {
		mc_buf b = MC_BUF_INIT;
		assert_int_equal(mc_buf_append(&b, PQ_MAGIC, 4), MC_OK);
		size_t start = b.len;
		tc_writer w;
		tc_writer_init(&w, &b);
		tw_struct_begin(&w);
		tw_field_i32(&w, 1, 1);
		for (int k = 0; k < 2; k++) {
			tw_field_list(&w, which ? 4 : 2, TC_STRUCT, 1);
			tw_struct_begin(&w);
			if (which) { /* an empty row group */
				tw_field_list(&w, 1, TC_STRUCT, 0);
				tw_field_i64(&w, 2, 0);
				tw_field_i64(&w, 3, 0);
			} else {
				tw_field_binary(&w, 4, "schema", 6);
			}
			tw_struct_end(&w);
		}
		tw_field_i64(&w, 3, 0);
		tw_struct_end(&w);
		uint8_t tail[8];
		pq_put_le32(tail, (uint32_t)(b.len - start));
		memcpy(tail + 4, PQ_MAGIC, 4);
		assert_int_equal(mc_buf_append(&b, tail, 8), MC_OK);
		expect_error(b.data, b.len, MC_ERR_FORMAT, "appears twice");
		mc_buf_release(&b);
	}
}

static void test_magic_and_sizes(void **state)
{
	expect_error(NULL, 0, MC_ERR_FORMAT, "empty file");
	expect_error((const uint8_t *)"PAR1", 4, MC_ERR_FORMAT, "truncated");
	expect_error((const uint8_t *)"PAR1PAR1", 8, MC_ERR_FORMAT, "truncated");
	expect_error((const uint8_t *)"PAR", 3, MC_ERR_FORMAT, "not a Parquet file");
	expect_error((const uint8_t *)"PAR1\0\0\0\0\0\0\0\0PAR1", 16, MC_ERR_FORMAT,
		     "footer of 0 bytes");
	expect_error((const uint8_t *)"PAR1\0\0\0\0\xff\0\0\0PAR1", 16, MC_ERR_FORMAT,
		     "footer of 255 bytes");
	expect_error((const uint8_t *)"PAR1\0\0\0\0\4\0\0\0PARE", 16, MC_ERR_UNSUPPORTED,
		     "encrypted");
	expect_error((const uint8_t *)"PAR1\0\0\0\0\4\0\0\0PAR1", 16, MC_ERR_FORMAT,
		     "footer metadata");
	mc_buf b;
	read_file("data/sniim/2024-01-data.parquet", &b);
	b.data[0] = 'X';
	expect_error(b.data, b.len, MC_ERR_FORMAT, "no 'PAR1' magic at the start");
	b.data[0] = 'P';
	b.data[b.len - 1] = 'X';
	expect_error(b.data, b.len, MC_ERR_FORMAT, "no 'PAR1' magic at the end");
	mc_buf_release(&b);
}

/* Every cut in the footer region and a sample through the file fails cleanly. */
static void test_truncation(void **state)
{
	const char *files[] = {"data/sniim/2024-01-data.parquet",
			       "tests/data/parquet/arrow_v2_dict_snappy.parquet"};
	for (int k = 0; k < 2; k++) {
		mc_buf b;
		read_file(files[k], &b);
		size_t flen = pq_le32(b.data + b.len - 8), footer = b.len - 8 - flen;
		for (size_t n = 0; n < b.len; n += n + 64 >= footer ? 1 : 37) {
			mc_error err = MC_ERROR_INIT;
			mc_code rc = read_copy(b.data, n, &err);
			if (rc != MC_ERR_FORMAT)
				fail_msg("%s cut at %zu: code %d (%s)", files[k], n, rc, err.msg);
			if (n >= 12 && !strstr(err.msg, "truncated"))
				fail_msg("%s cut at %zu: '%s'", files[k], n, err.msg);
		}
		/* Drop bytes from the data but keep the footer: offsets point to the wrong places.
		 */
		for (size_t at = 4; at < footer / 2; at += footer / 40 + 1) {
			size_t len = 1 + at % 29, n = b.len - len;
			uint8_t *p = malloc(n);
			memcpy(p, b.data, at);
			memcpy(p + at, b.data + at + len, b.len - at - len);
			mc_error err = MC_ERROR_INIT;
			assert_int_not_equal(read_copy(p, n, &err), MC_OK);
			free(p);
		}
		mc_buf_release(&b);
	}
}

/* ---- Mutation fuzzing ---- */

/* Offsets of page headers and the footer, where mutations find the most code. */
typedef struct hot {
	size_t n;
	size_t at[4096];
} hot;

static void find_hot(const mc_buf *b, hot *h)
{
	mc_error err = MC_ERROR_INIT;
	uint32_t flen;
	pq_footer f;
	h->n = 0;
	assert_int_equal(
		pq_footer_locate(b->data, b->len, b->data + b->len - 8, b->len, "x", &flen, &err),
		MC_OK);
	assert_int_equal(pq_footer_parse(&f, b->data + b->len - 8 - flen, flen, b->len, "x", &err),
			 MC_OK);
	for (size_t g = 0; g < f.meta.nrgs; g++)
		for (size_t c = 0; c < f.nleaves; c++) {
			const pq_column_meta *m = &f.meta.rgs[g].cols[c].meta;
			size_t pos = (size_t)(m->has_dictionary_page_offset &&
							      m->dictionary_page_offset > 0
						      ? m->dictionary_page_offset
						      : m->data_page_offset);
			size_t end = pos + (size_t)m->total_compressed_size;
			while (pos < end && h->n < 4000) {
				tc_reader r;
				pq_page_header ph;
				h->at[h->n++] = pos;
				tc_reader_init(&r, b->data + pos, end - pos);
				if (!pq_decode_page_header(&r, &ph))
					break;
				size_t body = (size_t)(r.p - b->data);
				h->at[h->n++] = body; /* levels and the first values */
				pos = body + (size_t)ph.compressed_size;
			}
		}
	pq_footer_free(&f);
	for (size_t p = b->len - 8 - flen; p < b->len && h->n < 4096; p += 3)
		h->at[h->n++] = p;
}

static void mutate(uint8_t *p, size_t *n, const hot *h, uint64_t *s)
{
	int edits = 1 + (int)(pqt_rand(s) % 3);
	for (int e = 0; e < edits; e++) {
		uint64_t r = pqt_rand(s);
		size_t at = r % 2 ? h->at[(r >> 8) % h->n] + (r >> 40) % 24 : (r >> 8) % *n;
		if (at >= *n)
			at = *n - 1;
		switch ((r >> 4) % 6) {
		case 0: p[at] ^= (uint8_t)(1u << ((r >> 32) % 8)); break;
		case 1: p[at] = (uint8_t)(r >> 48); break;
		case 2: {
			static const uint8_t special[] = {0x00, 0xff, 0x7f, 0x80,
							  0x15, 0x19, 0x1c, 0x0f};
			p[at] = special[(r >> 48) % 8];
			break;
		}
		case 3:
			for (size_t k = 0; k < 4 && at + k < *n; k++)
				p[at + k] = (uint8_t)(pqt_rand(s));
			break;
		case 4: { /* copy a slice over another */
			size_t from = (size_t)(pqt_rand(s) % *n), len = (size_t)(r >> 50) % 16;
			if (from + len <= *n && at + len <= *n)
				memmove(p + at, p + from, len);
			break;
		}
		default: /* drop a middle range, keeping the tail */
			if (at > 4 && at + 16 < *n - 8) {
				size_t len = 1 + (size_t)(r >> 52) % 16;
				memmove(p + at, p + at + len, *n - at - len);
				*n -= len;
			}
		}
	}
}

/* MC_PQ_FUZZ_SCALE=N multiplies the iterations (deeper runs by hand). */
static int fuzz_scale(void)
{
	const char *e = getenv("MC_PQ_FUZZ_SCALE");
	int k = e ? atoi(e) : 1;
	return k > 0 ? k : 1;
}

static void fuzz_file(const mc_buf *base, int iterations, uint64_t seed)
{
	static hot h;
	iterations *= fuzz_scale();
	find_hot(base, &h);
	uint64_t s = seed;
	int ok = 0;
	for (int i = 0; i < iterations; i++) {
		size_t n = base->len;
		uint8_t *p = malloc(n);
		memcpy(p, base->data, n);
		mutate(p, &n, &h, &s);
		mc_error err = MC_ERROR_INIT;
		ok += read_copy(p, n, &err) == MC_OK;
		free(p);
	}
	/* Most mutations are caught; some hit values and still decode. */
	assert_true(ok < iterations);
}

static void test_fuzz(void **state)
{
	mc_buf b;
	read_file("data/sniim/2024-01-data.parquet", &b);
	fuzz_file(&b, 1500, 1);
	mc_buf_release(&b);
	read_file("tests/data/parquet/arrow_v2_dict_snappy.parquet", &b);
	fuzz_file(&b, 400, 2);
	mc_buf_release(&b);
	read_file("tests/data/parquet/duck_v2_snappy.parquet", &b);
	fuzz_file(&b, 800, 3);
	mc_buf_release(&b);
	/* Our own uncompressed files: mutations reach levels, indices and strings directly. */
	mc_table *t = pqt_make_table(400, 5);
	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	o.codec = MC_PQ_UNCOMPRESSED;
	o.page_bytes = 512;
	o.row_group_rows = 150;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_parquet_write_mem(t, &o, &b, &err), MC_OK);
	fuzz_file(&b, 2000, 4);
	mc_buf_release(&b);
	o.codec = MC_PQ_ZSTD;
	mc_buf_init(&b, 0);
	assert_int_equal(mc_parquet_write_mem(t, &o, &b, &err), MC_OK);
	fuzz_file(&b, 600, 5);
	mc_buf_release(&b);
	mc_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builder_valid),
		cmocka_unit_test(test_crafted_pages),
		cmocka_unit_test(test_crafted_codecs),
		cmocka_unit_test(test_crafted_v2),
		cmocka_unit_test(test_crafted_structure),
		cmocka_unit_test(test_duplicate_fields),
		cmocka_unit_test(test_magic_and_sizes),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
