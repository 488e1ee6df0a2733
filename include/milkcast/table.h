/*
 * An in-memory columnar table: the currency between the Parquet reader and
 * writer, the lake and the CLI.  Each column is one typed array plus a
 * validity byte map (NULL = all valid).  Strings are stored Arrow-style as
 * n+1 offsets into one byte blob, so a column is three allocations, not n.
 *
 * Ownership: mc_table_new() / mc_table_free(); the table owns its columns
 * and every array in them.
 */
#ifndef MILKCAST_TABLE_H
#define MILKCAST_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

typedef enum mc_type {
	MC_T_BOOL,	/* uint8_t (0/1) */
	MC_T_INT32,	/* int32_t */
	MC_T_INT64,	/* int64_t */
	MC_T_FLOAT,	/* float */
	MC_T_DOUBLE,	/* double */
	MC_T_STRING,	/* UTF-8: offsets (int64_t, n+1) into bytes */
	MC_T_DATE,	/* int32_t days since 1970-01-01 */
	MC_T_TIMESTAMP, /* int64_t in `unit` since the epoch, UTC */
} mc_type;

typedef enum mc_time_unit { MC_MILLIS, MC_MICROS, MC_NANOS } mc_time_unit;

typedef struct mc_column {
	char *name;
	mc_type type;
	mc_time_unit unit; /* MC_T_TIMESTAMP only */
	bool nullable;
	size_t len;	  /* rows held */
	size_t cap;	  /* rows allocated */
	void *values;	  /* typed array, cap elements (STRING: unused) */
	uint8_t *valid;	  /* 1 = present; NULL = every row present */
	int64_t *offsets; /* STRING: cap+1 offsets */
	char *bytes;	  /* STRING: concatenated UTF-8 */
	size_t bytes_len, bytes_cap;
} mc_column;

typedef struct mc_table {
	size_t ncols;
	mc_column *cols;
	size_t nrows;
} mc_table;

mc_table *mc_table_new(void);
void mc_table_free(mc_table *t);

/* Add an empty column; returns its index or -1 when out of memory. */
int mc_table_add_column(mc_table *t, const char *name, mc_type type, bool nullable);
int mc_table_find(const mc_table *t, const char *name);

/* Appenders grow the column; the caller keeps all columns the same length. */
mc_code mc_column_push_null(mc_column *c);
mc_code mc_column_push_bool(mc_column *c, bool v);
mc_code mc_column_push_i32(mc_column *c, int32_t v); /* INT32, DATE */
mc_code mc_column_push_i64(mc_column *c, int64_t v); /* INT64, TIMESTAMP */
mc_code mc_column_push_f32(mc_column *c, float v);
mc_code mc_column_push_f64(mc_column *c, double v);
mc_code mc_column_push_str(mc_column *c, const char *s, size_t n);
mc_code mc_column_reserve(mc_column *c, size_t rows);

/* Accessors (i < len). */
static inline bool mc_column_is_null(const mc_column *c, size_t i)
{
	return c->valid && !c->valid[i];
}
static inline const char *mc_column_str(const mc_column *c, size_t i, size_t *n)
{
	*n = (size_t)(c->offsets[i + 1] - c->offsets[i]);
	return c->bytes + c->offsets[i];
}
#define MC_COL_I32(c) ((int32_t *)(c)->values)
#define MC_COL_I64(c) ((int64_t *)(c)->values)
#define MC_COL_F32(c) ((float *)(c)->values)
#define MC_COL_F64(c) ((double *)(c)->values)
#define MC_COL_BOOL(c) ((uint8_t *)(c)->values)

/* Set nrows from the columns; fails (MC_ERR_INVALID) if lengths differ. */
mc_code mc_table_seal(mc_table *t, mc_error *err);

/* A new empty table with the same columns (names, types, units) as t. */
mc_table *mc_table_clone_schema(const mc_table *t);
/* Append row i of src to dst, which has src's schema. */
mc_code mc_table_append_row(mc_table *dst, const mc_table *src, size_t i);
/* Append rows [from, from + n) of src to dst (src's schema), column by column. */
mc_code mc_table_append_rows(mc_table *dst, const mc_table *src, size_t from, size_t n);
/* A new table of the rows idx[0..n) of t, in that order (sorting, filtering). */
mc_table *mc_table_take(const mc_table *t, const size_t *idx, size_t n);

/* Size in bytes of one element of a fixed-width type (0 for STRING). */
size_t mc_type_width(mc_type type);
const char *mc_type_name(mc_type type);

#endif
