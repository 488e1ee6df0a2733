/* Deterministic test tables and a table comparison, shared by the Parquet tests and bench/pqtool.
 */
#ifndef MILKCAST_TEST_PARQUET_DATA_H
#define MILKCAST_TEST_PARQUET_DATA_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "milkcast/table.h"

static inline uint64_t pqt_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static const char *const pqt_cities[] = {
	"Cd. Juárez",  "Querétaro",   "Aguascalientes ",       "",
	"Mérida",      "Cd.Juárez",   "San Luis Río Colorado", "tab\there",
	"line\nbreak", "back\\slash", "Ñuñoa ü ß 漢字",
};

static const double pqt_special_doubles[] = {
	0.0,   -0.0,	INFINITY, -INFINITY, 5e-324,
	1e300, -1e-300, 33.66,	  19.5,	     2.2250738585072014e-308,
};

/*
 * A table of `n` rows with every column type: nulls, NaN/±inf/-0, accents,
 * empty strings, low-cardinality columns (dictionary) and unique strings
 * (PLAIN fallback).  Returns NULL when out of memory.
 */
static inline mc_table *pqt_make_table(size_t n, uint64_t seed)
{
	mc_table *t = mc_table_new();
	if (!t)
		return NULL;
	int ok = mc_table_add_column(t, "b", MC_T_BOOL, true) >= 0 &&
		 mc_table_add_column(t, "i32", MC_T_INT32, false) >= 0 &&
		 mc_table_add_column(t, "i64", MC_T_INT64, true) >= 0 &&
		 mc_table_add_column(t, "f32", MC_T_FLOAT, true) >= 0 &&
		 mc_table_add_column(t, "f64", MC_T_DOUBLE, true) >= 0 &&
		 mc_table_add_column(t, "Ciudad", MC_T_STRING, true) >= 0 &&
		 mc_table_add_column(t, "uniq", MC_T_STRING, false) >= 0 &&
		 mc_table_add_column(t, "fecha", MC_T_DATE, false) >= 0 &&
		 mc_table_add_column(t, "ts_ms", MC_T_TIMESTAMP, true) >= 0 &&
		 mc_table_add_column(t, "ts_us", MC_T_TIMESTAMP, false) >= 0 &&
		 mc_table_add_column(t, "ts_ns", MC_T_TIMESTAMP, true) >= 0 &&
		 mc_table_add_column(t, "Precio", MC_T_DOUBLE, true) >= 0 &&
		 mc_table_add_column(t, "flag", MC_T_BOOL, false) >= 0;
	if (!ok) {
		mc_table_free(t);
		return NULL;
	}
	t->cols[8].unit = MC_MILLIS;
	t->cols[9].unit = MC_MICROS;
	t->cols[10].unit = MC_NANOS;
	uint64_t s = seed;
	mc_code rc = MC_OK;
	char buf[400];
	const size_t ncity = sizeof pqt_cities / sizeof *pqt_cities;
	const size_t nspecial = sizeof pqt_special_doubles / sizeof *pqt_special_doubles;
	for (size_t i = 0; i < n && !rc; i++) {
		uint64_t r = pqt_rand(&s);
		mc_column *c = t->cols;
		rc |= r % 7 == 0 ? mc_column_push_null(&c[0]) : mc_column_push_bool(&c[0], r & 8);
		int32_t i32 = i % 97 == 0 ? (i % 2 ? INT32_MIN : INT32_MAX) : (int32_t)(r >> 20);
		rc |= mc_column_push_i32(&c[1], i32);
		int64_t i64 = i % 89 == 0 ? (i % 2 ? INT64_MIN : INT64_MAX) : (int64_t)(r * 3);
		rc |= r % 5 == 1 ? mc_column_push_null(&c[2]) : mc_column_push_i64(&c[2], i64);
		float f = i % 13 == 0 ? -0.0f : i % 31 == 0 ? NAN : (float)(int32_t)r / 1024.0f;
		rc |= r % 11 == 3 ? mc_column_push_null(&c[3]) : mc_column_push_f32(&c[3], f);
		double d = i % 17 == 0	 ? pqt_special_doubles[(i / 17) % nspecial]
			   : i % 37 == 0 ? NAN
					 : (double)(int64_t)r / 1e6;
		rc |= r % 9 == 4 ? mc_column_push_null(&c[4]) : mc_column_push_f64(&c[4], d);
		const char *city = pqt_cities[(r >> 8) % ncity];
		rc |= r % 6 == 5 ? mc_column_push_null(&c[5])
				 : mc_column_push_str(&c[5], city, strlen(city));
		int len = snprintf(buf, sizeof buf, "row %zu %llx", i, (unsigned long long)r);
		if (i % 101 == 0) { /* a long value now and then */
			memset(buf + len, 'x', 300);
			len += 300;
		}
		rc |= mc_column_push_str(&c[6], buf, (size_t)len);
		rc |= mc_column_push_i32(&c[7], (int32_t)(i % 40000) - 25567); /* 1900-01-01 on */
		int64_t ms = 1704240000000LL + (int64_t)(i % 5000) * 86400000LL;
		rc |= i % 3 == 0 ? mc_column_push_null(&c[8]) : mc_column_push_i64(&c[8], ms);
		rc |= mc_column_push_i64(&c[9], ms * 1000 + (int64_t)(r % 1000));
		rc |= r % 4 == 2
			      ? mc_column_push_null(&c[10])
			      : mc_column_push_i64(&c[10], ms * 1000000 + (int64_t)(r % 1000000));
		double price = (double)(1800 + (r >> 40) % 300) / 100.0;
		rc |= r % 8 == 7 ? mc_column_push_null(&c[11]) : mc_column_push_f64(&c[11], price);
		rc |= mc_column_push_bool(&c[12], i % 3 != 0);
	}
	mc_error err = MC_ERROR_INIT;
	if (rc || mc_table_seal(t, &err)) {
		mc_table_free(t);
		return NULL;
	}
	return t;
}

/* Compare two tables value by value (floats bit for bit); writes the first difference to why. */
static inline int pqt_tables_equal(const mc_table *a, const mc_table *b, char *why, size_t n)
{
	if (a->ncols != b->ncols || a->nrows != b->nrows) {
		snprintf(why, n, "shape %zux%zu vs %zux%zu", a->nrows, a->ncols, b->nrows,
			 b->ncols);
		return 0;
	}
	for (size_t j = 0; j < a->ncols; j++) {
		const mc_column *x = &a->cols[j], *y = &b->cols[j];
		if (strcmp(x->name, y->name) || x->type != y->type || x->nullable != y->nullable ||
		    (x->type == MC_T_TIMESTAMP && x->unit != y->unit) || x->len != y->len) {
			snprintf(why, n,
				 "column %zu ('%s' vs '%s') differs in name/type/nullability", j,
				 x->name, y->name);
			return 0;
		}
		size_t w = mc_type_width(x->type);
		for (size_t i = 0; i < x->len; i++) {
			bool xn = mc_column_is_null(x, i), yn = mc_column_is_null(y, i);
			bool same = xn == yn;
			if (same && !xn && w) {
				same = memcmp((const uint8_t *)x->values + i * w,
					      (const uint8_t *)y->values + i * w, w) == 0;
			} else if (same && !xn) {
				size_t xl, yl;
				const char *xs = mc_column_str(x, i, &xl),
					   *ys = mc_column_str(y, i, &yl);
				same = xl == yl && (xl == 0 || memcmp(xs, ys, xl) == 0);
			}
			if (!same) {
				snprintf(why, n, "column '%s' row %zu differs", x->name, i);
				return 0;
			}
		}
	}
	return 1;
}

#endif
