/* Tests of the Parquet fast paths against plain reference versions: RLE hybrid, dictionaries,
 * statistics from dictionaries, constant columns and string shapes. */
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
#include "test_parquet_data.h"

/* ---- Reference RLE hybrid: one value at a time, the format's rules spelled out ---- */

#define REF_LIT_MAX 512
#define REF_RUN_MIN 8

static void ref_varint(mc_buf *out, uint32_t v)
{
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		assert_int_equal(mc_buf_putc(out, (uint8_t)(b | (v ? 0x80 : 0))), MC_OK);
	} while (v);
}

static void ref_literal(const uint32_t *vals, size_t n, int bw, mc_buf *out)
{
	size_t groups = (n + 7) / 8;
	ref_varint(out, (uint32_t)(groups << 1 | 1));
	uint64_t acc = 0;
	int have = 0;
	for (size_t k = 0; k < groups * 8; k++) {
		acc |= (uint64_t)(k < n ? vals[k] : 0) << have;
		for (have += bw; have >= 8; have -= 8, acc >>= 8)
			assert_int_equal(mc_buf_putc(out, (uint8_t)acc), MC_OK);
	}
}

static void ref_repeat(uint32_t v, size_t run, int bw, mc_buf *out)
{
	ref_varint(out, (uint32_t)(run << 1));
	for (int k = 0; k < (bw + 7) / 8; k++)
		assert_int_equal(mc_buf_putc(out, (uint8_t)(v >> (8 * k))), MC_OK);
}

/* Runs of at least 8 are repeats when the pending literals end on a group of 8 (a run may
 * lend them up to 7 values when 8 remain); literals go out in blocks of 512. */
static void ref_encode(const uint32_t *vals, size_t n, int bw, mc_buf *out)
{
	size_t i = 0, lit = 0;
	while (i < n) {
		size_t run = 1;
		while (i + run < n && vals[i + run] == vals[i])
			run++;
		if (run >= REF_RUN_MIN) {
			size_t pad = lit % 8 ? 8 - lit % 8 : 0;
			if (pad && run - pad >= REF_RUN_MIN) {
				lit += pad;
				i += pad;
				run -= pad;
			}
			if (lit % 8 == 0) {
				if (lit)
					ref_literal(vals + i - lit, lit, bw, out);
				lit = 0;
				ref_repeat(vals[i], run, bw, out);
				i += run;
				continue;
			}
		}
		lit += run;
		i += run;
		for (; lit >= REF_LIT_MAX; lit -= REF_LIT_MAX)
			ref_literal(vals + i - lit, REF_LIT_MAX, bw, out);
	}
	if (lit)
		ref_literal(vals + i - lit, lit, bw, out);
}

/* Levels: a run of 8 or more is a repeat when the literals end on a group boundary; otherwise
 * literals take values up to that boundary and the rest of the run is looked at again. */
static void ref_encode_u8(const uint8_t *vals, size_t n, int bw, mc_buf *out)
{
	uint32_t tmp[REF_LIT_MAX];
	size_t i = 0, lit = 0;
	while (i < n) {
		size_t run = 1;
		while (i + run < n && vals[i + run] == vals[i])
			run++;
		if (run >= REF_RUN_MIN && lit % 8 == 0) {
			if (lit)
				ref_literal(tmp, lit, bw, out);
			lit = 0;
			ref_repeat(vals[i], run, bw, out);
			i += run;
			continue;
		}
		size_t take = run >= REF_RUN_MIN ? 8 - lit % 8 : run;
		for (size_t k = 0; k < take; k++) {
			tmp[lit++] = vals[i++];
			if (lit == REF_LIT_MAX) {
				ref_literal(tmp, lit, bw, out);
				lit = 0;
			}
		}
	}
	if (lit)
		ref_literal(tmp, lit, bw, out);
}

/* The decoder bit by bit; NULL or an error (compared by text). */
static const char *ref_decode(const uint8_t *p, size_t n, int bw, size_t count, uint32_t *out)
{
	if (bw < 0 || bw > 32)
		return "bit width above 32";
	const uint8_t *end = p + n;
	size_t i = 0, vbytes = (size_t)(bw + 7) / 8;
	while (i < count) {
		uint64_t h = 0;
		int shift = 0;
		for (;; shift += 7) {
			if (shift >= 35)
				return "run header too long";
			if (p >= end)
				return "truncated run header";
			uint8_t b = *p++;
			h |= (uint64_t)(b & 0x7f) << shift;
			if (!(b & 0x80))
				break;
		}
		if (h > UINT32_MAX)
			return "run header out of range";
		size_t want = count - i;
		if (h & 1) {
			size_t nvals = (size_t)(h >> 1) * 8, take = nvals < want ? nvals : want;
			if ((take * (size_t)bw + 7) / 8 > (size_t)(end - p))
				return "truncated bit-packed run";
			for (size_t k = 0; k < take; k++) {
				uint32_t v = 0;
				for (int b = 0; b < bw; b++) {
					size_t bit = k * (size_t)bw + (size_t)b;
					v |= (uint32_t)((p[bit / 8] >> (bit % 8)) & 1) << b;
				}
				out[i++] = v;
			}
			size_t full = nvals * (size_t)bw / 8;
			p += full <= (size_t)(end - p) ? full : (size_t)(end - p);
		} else {
			if (vbytes > (size_t)(end - p))
				return "truncated RLE run";
			uint32_t v = 0;
			for (size_t k = 0; k < vbytes; k++)
				v |= (uint32_t)p[k] << (8 * k);
			p += vbytes;
			if (bw < 32 && v >> bw)
				return "RLE value wider than the bit width";
			size_t run = h >> 1;
			for (size_t k = 0; k < run && k < want; k++)
				out[i++] = v;
		}
	}
	return NULL;
}

/* Values of many run shapes: random, long runs, short runs, alternations, runs near 8. */
static size_t make_values(uint32_t *v, size_t cap, int bw, int shape, uint64_t *s)
{
	uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
	size_t n = 1 + pqt_rand(s) % cap;
	for (size_t i = 0; i < n;) {
		size_t len = 1;
		uint32_t r = (uint32_t)pqt_rand(s);
		switch (shape) {
		case 0: break;
		case 1: len = 1 + pqt_rand(s) % 3000; break;
		case 2: len = 1 + pqt_rand(s) % 20; break;
		case 3: len = 5 + pqt_rand(s) % 7; break; /* 5..11: around RUN_MIN */
		case 4: r = (uint32_t)(i % 2); break;	  /* alternating */
		case 5: r = (uint32_t)(i % 3 == 0); break;
		case 6: /* period 8 in runs of 4 */
			len = 4;
			r = (uint32_t)(i / 4 % 2);
			break;
		default: len = 1 + pqt_rand(s) % 600; break;
		}
		for (size_t k = 0; k < len && i < n; k++)
			v[i++] = r & mask;
	}
	return n;
}

static void test_rle_against_reference(void **state)
{
	enum { CAP = 9000 };
	uint32_t *v = malloc(CAP * sizeof *v), *back = malloc(CAP * sizeof *back);
	uint32_t *ref = malloc(CAP * sizeof *ref);
	uint8_t *v8 = malloc(CAP), *b8 = malloc(CAP);
	uint64_t s = 2024;
	for (int bw = 0; bw <= 32; bw++)
		for (int shape = 0; shape < 8; shape++)
			for (int rep = 0; rep < 3; rep++) {
				size_t n = make_values(v, CAP, bw, shape, &s);
				mc_buf a = MC_BUF_INIT, b = MC_BUF_INIT;
				assert_int_equal(pq_rle_encode(v, n, bw, &a), MC_OK);
				ref_encode(v, n, bw, &b);
				if (a.len != b.len || memcmp(a.data, b.data, a.len))
					fail_msg("encode bw %d shape %d n %zu differs", bw, shape,
						 n);
				assert_null(pq_rle_decode(a.data, a.len, bw, n, back, 4));
				assert_memory_equal(v, back, n * sizeof *v);
				uint32_t max = 0, max_ref = 0;
				assert_null(pq_rle_decode_max(a.data, a.len, bw, n, back, &max));
				for (size_t i = 0; i < n; i++)
					max_ref = v[i] > max_ref ? v[i] : max_ref;
				assert_int_equal(max, max_ref);
				if (bw >= 1 && bw <= 8) {
					for (size_t i = 0; i < n; i++)
						v8[i] = (uint8_t)v[i];
					mc_buf_reset(&a);
					mc_buf_reset(&b);
					assert_int_equal(pq_rle_encode_u8(v8, n, bw, &a), MC_OK);
					ref_encode_u8(v8, n, bw, &b);
					if (a.len != b.len || memcmp(a.data, b.data, a.len))
						fail_msg("u8 encode bw %d shape %d n %zu differs",
							 bw, shape, n);
					assert_null(pq_rle_decode(a.data, a.len, bw, n, b8, 1));
					assert_memory_equal(v8, b8, n);
				}
				mc_buf_release(&a);
				mc_buf_release(&b);
			}
	/* Runs of zeros without the zeros. */
	memset(v, 0, CAP * sizeof *v);
	for (size_t n = 0; n < CAP; n += n < 40 ? 1 : 997)
		for (int bw = 0; bw <= 32; bw += 3) {
			mc_buf a = MC_BUF_INIT, b = MC_BUF_INIT;
			assert_int_equal(pq_rle_encode_zeros(n, bw, &a), MC_OK);
			assert_int_equal(pq_rle_encode(v, n, bw, &b), MC_OK);
			assert_int_equal(a.len, b.len);
			if (a.len)
				assert_memory_equal(a.data, b.data, a.len);
			mc_buf_release(&a);
			mc_buf_release(&b);
		}
	/* Decoding arbitrary bytes: same values or the same error as the reference. */
	uint8_t junk[96];
	for (int k = 0; k < 20000; k++) {
		size_t len = pqt_rand(&s) % sizeof junk, count = pqt_rand(&s) % 300;
		int bw = (int)(pqt_rand(&s) % 34);
		for (size_t i = 0; i < len; i++) {
			uint64_t r = pqt_rand(&s);
			/* mostly short headers so that runs decode */
			junk[i] = (uint8_t)(r % 4 == 0 ? r >> 8 : (r >> 8) % 24);
		}
		const char *e1 = pq_rle_decode(junk, len, bw, count, back, 4);
		const char *e2 = ref_decode(junk, len, bw, count, ref);
		if ((e1 == NULL) != (e2 == NULL) || (e1 && strcmp(e1, e2)))
			fail_msg("decode %d: '%s' vs '%s'", k, e1 ? e1 : "ok", e2 ? e2 : "ok");
		if (!e1)
			assert_memory_equal(back, ref, count * sizeof *back);
		if (bw <= 8) {
			e1 = pq_rle_decode(junk, len, bw, count, b8, 1);
			if ((e1 == NULL) != (e2 == NULL) || (e1 && strcmp(e1, e2)))
				fail_msg("decode u8 %d: '%s' vs '%s'", k, e1 ? e1 : "ok",
					 e2 ? e2 : "ok");
			for (size_t i = 0; !e1 && i < count; i++)
				assert_int_equal(b8[i], ref[i]);
		}
	}
	free(v);
	free(back);
	free(ref);
	free(v8);
	free(b8);
}

/* ---- Writer: dictionaries, constant columns, statistics ---- */

static void write_ok(const mc_table *t, const mc_parquet_write_opts *o, mc_buf *out)
{
	mc_error err = MC_ERROR_INIT;
	if (mc_parquet_write_mem(t, o, out, &err))
		fail_msg("write: %s", err.msg);
}

static mc_table *read_ok(const mc_buf *b)
{
	mc_error err = MC_ERROR_INIT;
	mc_table *t = NULL;
	if (mc_parquet_read_mem(b->data, b->len, "fast.parquet", &t, &err))
		fail_msg("read: %s", err.msg);
	return t;
}

static mc_parquet_meta *meta_ok(const mc_buf *b)
{
	mc_error err = MC_ERROR_INIT;
	mc_parquet_meta *m = NULL;
	if (mc_parquet_meta_read_mem(b->data, b->len, "fast.parquet", &m, &err))
		fail_msg("meta: %s", err.msg);
	return m;
}

static bool same_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* Statistics of two files of the same table agree (bounds, exact bounds, null counts). */
static void assert_same_stats(const mc_parquet_meta *a, const mc_parquet_meta *b)
{
	assert_int_equal(a->nrow_groups, b->nrow_groups);
	for (size_t g = 0; g < a->nrow_groups; g++)
		for (size_t j = 0; j < a->ncols; j++) {
			const mc_parquet_stats *x = &a->row_groups[g].chunks[j].stats;
			const mc_parquet_stats *y = &b->row_groups[g].chunks[j].stats;
			assert_int_equal(x->has_min_max, y->has_min_max);
			assert_int_equal(x->null_count, y->null_count);
			if (!x->has_min_max)
				continue;
			if (x->is_bytes) {
				assert_true(
					same_bytes(x->min_str, x->min_len, y->min_str, y->min_len));
				assert_true(
					same_bytes(x->max_str, x->max_len, y->max_str, y->max_len));
			} else {
				assert_memory_equal(&x->min, &y->min, sizeof x->min);
				assert_memory_equal(&x->max, &y->max, sizeof x->max);
				assert_int_equal(x->min_i, y->min_i);
				assert_int_equal(x->max_i, y->max_i);
			}
		}
}

/* Encodings used by column j of row group 0. */
static uint32_t encodings(const mc_parquet_meta *m, size_t j)
{
	return m->row_groups[0].chunks[j].encodings;
}

/*
 * Write t with and without dictionaries (and with small row groups and pages), read each back
 * unchanged and check that statistics taken from dictionaries match those from the rows.
 */
static void check_table(const mc_table *t)
{
	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	mc_buf with = MC_BUF_INIT, without = MC_BUF_INIT, small = MC_BUF_INIT;
	write_ok(t, &o, &with);
	o.dictionary = false;
	write_ok(t, &o, &without);
	o.dictionary = true;
	o.row_group_rows = 97;
	o.page_bytes = 64;
	write_ok(t, &o, &small);
	const mc_buf *files[] = {&with, &without, &small};
	char why[256];
	for (int k = 0; k < 3; k++) {
		mc_table *back = read_ok(files[k]);
		if (!pqt_tables_equal(t, back, why, sizeof why))
			fail_msg("file %d: %s", k, why);
		mc_table_free(back);
	}
	mc_parquet_meta *a = meta_ok(&with), *b = meta_ok(&without);
	assert_same_stats(a, b);
	mc_parquet_meta_free(a);
	mc_parquet_meta_free(b);
	mc_buf_release(&with);
	mc_buf_release(&without);
	mc_buf_release(&small);
}

static mc_table *sealed(mc_table *t)
{
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_table_seal(t, &err), MC_OK);
	return t;
}

/* Strings of every length up to 80 sharing prefixes and suffixes, so that the length cache,
 * the keys of short strings and the byte comparisons of long ones all meet equal keys. */
static void test_string_keys(void **state)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz";
	char buf[128];
	uint64_t s = 7;
	for (int nullable = 0; nullable < 2; nullable++) {
		mc_table *t = mc_table_new();
		mc_table_add_column(t, "s", MC_T_STRING, nullable);
		mc_table_add_column(t, "runs", MC_T_STRING, nullable);
		for (size_t i = 0; i < 6000; i++) {
			uint64_t r = pqt_rand(&s);
			size_t n = r % 81;
			memcpy(buf, alpha, n);
			if (n && r % 3 == 0) /* same length, one byte differs in the middle */
				buf[n / 2] = (char)('!' + (r >> 8) % 4);
			if (nullable && r % 11 == 0)
				mc_column_push_null(&t->cols[0]);
			else
				mc_column_push_str(&t->cols[0], buf, n);
			n = (i / 5) % 40;
			memset(buf, 'x', n);
			if (n)
				buf[n - 1] = (char)('a' + i / 200 % 3);
			if (nullable && i % 13 == 0)
				mc_column_push_null(&t->cols[1]);
			else
				mc_column_push_str(&t->cols[1], buf, n);
		}
		check_table(sealed(t));
		mc_table_free(t);
	}
}

/* Constant columns take a shortcut; near misses must not. */
static void test_constant_columns(void **state)
{
	mc_table *t = mc_table_new();
	mc_table_add_column(t, "kind", MC_T_STRING, false);
	mc_table_add_column(t, "empty", MC_T_STRING, false);
	mc_table_add_column(t, "periodic", MC_T_STRING, false); /* "aa", "a", "aaa", ... */
	mc_table_add_column(t, "last", MC_T_STRING, false);	/* constant but the last row */
	mc_table_add_column(t, "i32", MC_T_INT32, false);
	mc_table_add_column(t, "ts", MC_T_TIMESTAMP, false);
	mc_table_add_column(t, "d", MC_T_DOUBLE, false);
	mc_table_add_column(t, "nz", MC_T_DOUBLE, false); /* -0.0 then +0.0 */
	mc_table_add_column(t, "f", MC_T_FLOAT, false);
	const size_t n = 3000;
	for (size_t i = 0; i < n; i++) {
		mc_column *c = t->cols;
		mc_column_push_str(&c[0], "city", 4);
		mc_column_push_str(&c[1], "", 0);
		static const size_t plen[] = {2, 1, 3};
		mc_column_push_str(&c[2], "aaa", plen[i % 3]);
		mc_column_push_str(&c[3], i + 1 == n ? "citz" : "city", 4);
		mc_column_push_i32(&c[4], -7);
		mc_column_push_i64(&c[5], 1743465600000000LL);
		mc_column_push_f64(&c[6], 24.5);
		mc_column_push_f64(&c[7], i < n / 2 ? -0.0 : 0.0);
		mc_column_push_f32(&c[8], NAN);
	}
	sealed(t);
	check_table(t);
	mc_buf b = MC_BUF_INIT;
	write_ok(t, NULL, &b);
	mc_parquet_meta *m = meta_ok(&b);
	for (size_t j = 0; j < t->ncols; j++)
		assert_true(encodings(m, j) >> PQ_ENC_RLE_DICTIONARY & 1);
	assert_string_equal(m->row_groups[0].chunks[3].stats.max_str, "citz");
	assert_false(m->row_groups[0].chunks[8].stats.has_min_max); /* only NaN */
	mc_parquet_meta_free(m);
	mc_buf_release(&b);
	mc_table_free(t);

	/* One value too big for a dictionary: PLAIN. */
	t = mc_table_new();
	mc_table_add_column(t, "big", MC_T_STRING, false);
	size_t big = ((size_t)1 << 20) + 1;
	char *s = malloc(big);
	memset(s, 'q', big);
	for (int i = 0; i < 3; i++)
		mc_column_push_str(&t->cols[0], s, big);
	free(s);
	sealed(t);
	check_table(t);
	write_ok(t, NULL, &b);
	m = meta_ok(&b);
	assert_false(encodings(m, 0) >> PQ_ENC_RLE_DICTIONARY & 1);
	assert_false(m->row_groups[0].chunks[0].stats.has_min_max); /* longer than 4096 */
	mc_parquet_meta_free(m);
	mc_buf_release(&b);
	mc_table_free(t);
}

/* Many distinct values (the table grows), values that differ only in NaN payloads or zero
 * signs, and a dictionary that overflows half way. */
static void test_fixed_dictionaries(void **state)
{
	mc_table *t = mc_table_new();
	mc_table_add_column(t, "price", MC_T_DOUBLE, true);
	mc_table_add_column(t, "many", MC_T_INT64, false);
	mc_table_add_column(t, "f", MC_T_FLOAT, true);
	mc_table_add_column(t, "date", MC_T_DATE, false);
	mc_table_add_column(t, "wide", MC_T_INT64, false); /* > 1 MiB of distinct values */
	uint64_t s = 11;
	for (size_t i = 0; i < 150000; i++) {
		uint64_t r = pqt_rand(&s);
		mc_column *c = t->cols;
		if (r % 9 == 0)
			mc_column_push_null(&c[0]);
		else
			mc_column_push_f64(&c[0], 18.0 + (double)(r % 1600) / 100.0);
		mc_column_push_i64(&c[1], (int64_t)(r % 20000) - 10000);
		uint32_t bits = r % 4 == 0   ? 0x7fc00000u | (uint32_t)(r >> 40) % 5 /* NaNs */
				: r % 4 == 1 ? 0x80000000u			     /* -0 */
				: r % 4 == 2 ? 0u				     /* +0 */
					     : 0x3f800000u;			     /* 1 */
		float f;
		memcpy(&f, &bits, 4);
		if (r % 17 == 0)
			mc_column_push_null(&c[2]);
		else
			mc_column_push_f32(&c[2], f);
		mc_column_push_i32(&c[3], 19725 + (int32_t)(i / 300));
		mc_column_push_i64(&c[4], (int64_t)i * 7919);
	}
	sealed(t);
	check_table(t);
	mc_buf b = MC_BUF_INIT;
	write_ok(t, NULL, &b);
	mc_parquet_meta *m = meta_ok(&b);
	assert_true(encodings(m, 0) >> PQ_ENC_RLE_DICTIONARY & 1);
	assert_true(encodings(m, 1) >> PQ_ENC_RLE_DICTIONARY & 1);
	assert_false(encodings(m, 4) >> PQ_ENC_RLE_DICTIONARY & 1);
	const mc_parquet_stats *f = &m->row_groups[0].chunks[2].stats;
	assert_true(f->has_min_max && f->min == 0 && signbit(f->min) && f->max == 1);
	mc_parquet_meta_free(m);
	mc_buf_release(&b);
	mc_table_free(t);
}

/* The shapes of the lake's monthly partitions, and the shipped files re-written. */
static void test_sniim_shapes(void **state)
{
	mc_error err = MC_ERROR_INIT;
	for (int month = 1; month <= 12; month += 11) {
		char path[64];
		snprintf(path, sizeof path, "data/sniim/2024-%02d-data.parquet", month);
		mc_table *t = NULL;
		assert_int_equal(mc_parquet_read_file(path, &t, &err), MC_OK);
		check_table(t);
		mc_table_free(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rle_against_reference),
		cmocka_unit_test(test_string_keys),
		cmocka_unit_test(test_constant_columns),
		cmocka_unit_test(test_fixed_dictionaries),
		cmocka_unit_test(test_sniim_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
