/* Columnar in-memory table; see table.h for layout and ownership. */
#include "milkcast/table.h"

#include <stdlib.h>
#include <string.h>

mc_table *mc_table_new(void)
{
	return calloc(1, sizeof(mc_table));
}

static void column_release(mc_column *c)
{
	free(c->name);
	free(c->values);
	free(c->valid);
	free(c->offsets);
	free(c->bytes);
}

void mc_table_free(mc_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		column_release(&t->cols[i]);
	free(t->cols);
	free(t);
}

int mc_table_add_column(mc_table *t, const char *name, mc_type type, bool nullable)
{
	mc_column *cols = realloc(t->cols, (t->ncols + 1) * sizeof *cols);
	if (!cols)
		return -1;
	t->cols = cols;
	mc_column *c = &cols[t->ncols];
	memset(c, 0, sizeof *c);
	c->name = strdup(name);
	if (!c->name)
		return -1;
	c->type = type;
	c->unit = MC_MICROS;
	c->nullable = nullable;
	if (type == MC_T_STRING) {
		/* Never NULL, so mc_column_str() on an empty string is defined. */
		c->offsets = calloc(1, sizeof(int64_t));
		c->bytes = calloc(1, 16);
		c->bytes_cap = 16;
		if (!c->offsets || !c->bytes) {
			free(c->offsets);
			free(c->bytes);
			free(c->name);
			return -1;
		}
	}
	return (int)t->ncols++;
}

int mc_table_find(const mc_table *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

size_t mc_type_width(mc_type type)
{
	switch (type) {
	case MC_T_BOOL: return 1;
	case MC_T_INT32:
	case MC_T_DATE:
	case MC_T_FLOAT: return 4;
	case MC_T_INT64:
	case MC_T_TIMESTAMP:
	case MC_T_DOUBLE: return 8;
	case MC_T_STRING: return 0;
	}
	return 0;
}

const char *mc_type_name(mc_type type)
{
	static const char *const names[] = {"bool",   "int32",	"int64", "float",
					    "double", "string", "date",	 "timestamp"};
	return (unsigned)type < sizeof names / sizeof *names ? names[type] : "?";
}

mc_code mc_column_reserve(mc_column *c, size_t rows)
{
	if (rows <= c->cap)
		return MC_OK;
	size_t cap = c->cap ? c->cap : 16;
	while (cap < rows)
		cap *= 2;
	size_t w = mc_type_width(c->type);
	if (w) {
		void *v = realloc(c->values, cap * w);
		if (!v)
			return MC_ERR_NOMEM;
		c->values = v;
	} else {
		int64_t *o = realloc(c->offsets, (cap + 1) * sizeof *o);
		if (!o)
			return MC_ERR_NOMEM;
		c->offsets = o;
	}
	if (c->valid) {
		uint8_t *v = realloc(c->valid, cap);
		if (!v)
			return MC_ERR_NOMEM;
		c->valid = v;
	}
	c->cap = cap;
	return MC_OK;
}

/* Grow by one row and mark its validity; returns the row index via *row. */
static mc_code column_grow(mc_column *c, bool present, size_t *row)
{
	mc_code rc = mc_column_reserve(c, c->len + 1);
	if (rc)
		return rc;
	if (!present && !c->valid) {
		c->valid = malloc(c->cap);
		if (!c->valid)
			return MC_ERR_NOMEM;
		memset(c->valid, 1, c->len);
	}
	if (c->valid)
		c->valid[c->len] = present;
	*row = c->len++;
	return MC_OK;
}

mc_code mc_column_push_null(mc_column *c)
{
	size_t i;
	mc_code rc = column_grow(c, false, &i);
	if (rc)
		return rc;
	size_t w = mc_type_width(c->type);
	if (w)
		memset((uint8_t *)c->values + i * w, 0, w);
	else
		c->offsets[i + 1] = c->offsets[i];
	return MC_OK;
}

#define DEFINE_PUSH(fn, ctype)                         \
	mc_code fn(mc_column *c, ctype v)              \
	{                                              \
		size_t i;                              \
		mc_code rc = column_grow(c, true, &i); \
		if (rc)                                \
			return rc;                     \
		((ctype *)c->values)[i] = v;           \
		return MC_OK;                          \
	}

DEFINE_PUSH(mc_column_push_i32, int32_t)
DEFINE_PUSH(mc_column_push_i64, int64_t)
DEFINE_PUSH(mc_column_push_f32, float)
DEFINE_PUSH(mc_column_push_f64, double)

mc_code mc_column_push_bool(mc_column *c, bool v)
{
	size_t i;
	mc_code rc = column_grow(c, true, &i);
	if (rc)
		return rc;
	((uint8_t *)c->values)[i] = v ? 1 : 0;
	return MC_OK;
}

mc_code mc_column_push_str(mc_column *c, const char *s, size_t n)
{
	if (c->bytes_len + n + 1 > c->bytes_cap) {
		size_t cap = c->bytes_cap ? c->bytes_cap : 256;
		while (cap < c->bytes_len + n + 1)
			cap *= 2;
		char *b = realloc(c->bytes, cap);
		if (!b)
			return MC_ERR_NOMEM;
		c->bytes = b;
		c->bytes_cap = cap;
	}
	size_t i;
	mc_code rc = column_grow(c, true, &i);
	if (rc)
		return rc;
	memcpy(c->bytes + c->bytes_len, s, n);
	c->bytes_len += n;
	c->bytes[c->bytes_len] = '\0';
	c->offsets[i + 1] = (int64_t)c->bytes_len;
	return MC_OK;
}

mc_code mc_table_seal(mc_table *t, mc_error *err)
{
	size_t n = t->ncols ? t->cols[0].len : 0;
	for (size_t i = 1; i < t->ncols; i++)
		if (t->cols[i].len != n)
			return mc_fail(err, MC_ERR_INVALID,
				       "column '%s' has %zu rows, column '%s' has %zu",
				       t->cols[i].name, t->cols[i].len, t->cols[0].name, n);
	t->nrows = n;
	return MC_OK;
}

mc_table *mc_table_clone_schema(const mc_table *t)
{
	mc_table *out = mc_table_new();
	if (!out)
		return NULL;
	for (size_t i = 0; i < t->ncols; i++) {
		int c = mc_table_add_column(out, t->cols[i].name, t->cols[i].type,
					    t->cols[i].nullable);
		if (c < 0) {
			mc_table_free(out);
			return NULL;
		}
		out->cols[c].unit = t->cols[i].unit;
	}
	return out;
}

static mc_code column_copy_value(mc_column *dst, const mc_column *src, size_t i)
{
	if (mc_column_is_null(src, i))
		return mc_column_push_null(dst);
	switch (src->type) {
	case MC_T_BOOL: return mc_column_push_bool(dst, MC_COL_BOOL(src)[i]);
	case MC_T_INT32:
	case MC_T_DATE: return mc_column_push_i32(dst, MC_COL_I32(src)[i]);
	case MC_T_INT64:
	case MC_T_TIMESTAMP: return mc_column_push_i64(dst, MC_COL_I64(src)[i]);
	case MC_T_FLOAT: return mc_column_push_f32(dst, MC_COL_F32(src)[i]);
	case MC_T_DOUBLE: return mc_column_push_f64(dst, MC_COL_F64(src)[i]);
	case MC_T_STRING: {
		size_t n;
		const char *s = mc_column_str(src, i, &n);
		return mc_column_push_str(dst, s, n);
	}
	}
	return MC_ERR_INVALID;
}

mc_code mc_table_append_row(mc_table *dst, const mc_table *src, size_t i)
{
	for (size_t c = 0; c < src->ncols; c++) {
		mc_code rc = column_copy_value(&dst->cols[c], &src->cols[c], i);
		if (rc)
			return rc;
	}
	dst->nrows++;
	return MC_OK;
}

/* Append rows [from, from + n) of src to dst, column-wise. */
static mc_code column_append_range(mc_column *dst, const mc_column *src, size_t from, size_t n)
{
	size_t at = dst->len;
	mc_code rc = mc_column_reserve(dst, at + n);
	if (rc)
		return rc;
	if (src->valid && !dst->valid) {
		if (!(dst->valid = malloc(dst->cap)))
			return MC_ERR_NOMEM;
		memset(dst->valid, 1, at);
	}
	if (dst->valid) {
		if (src->valid)
			memcpy(dst->valid + at, src->valid + from, n);
		else
			memset(dst->valid + at, 1, n);
	}
	size_t w = mc_type_width(src->type);
	if (w) {
		memcpy((uint8_t *)dst->values + at * w, (const uint8_t *)src->values + from * w,
		       n * w);
		dst->len = at + n;
		return MC_OK;
	}
	int64_t first = src->offsets[from], bytes = src->offsets[from + n] - first;
	if (dst->bytes_len + (size_t)bytes + 1 > dst->bytes_cap) {
		size_t cap = dst->bytes_cap ? dst->bytes_cap : 64;
		while (cap < dst->bytes_len + (size_t)bytes + 1)
			cap *= 2;
		char *b = realloc(dst->bytes, cap);
		if (!b)
			return MC_ERR_NOMEM;
		dst->bytes = b;
		dst->bytes_cap = cap;
	}
	if (at == 0)
		dst->offsets[0] = 0;
	memcpy(dst->bytes + dst->bytes_len, src->bytes + first, (size_t)bytes);
	int64_t shift = (int64_t)dst->bytes_len - first;
	for (size_t r = 1; r <= n; r++)
		dst->offsets[at + r] = src->offsets[from + r] + shift;
	dst->bytes_len += (size_t)bytes;
	dst->bytes[dst->bytes_len] = '\0';
	dst->len = at + n;
	return MC_OK;
}

mc_code mc_table_append_rows(mc_table *dst, const mc_table *src, size_t from, size_t n)
{
	if (from > src->nrows || n > src->nrows - from)
		return MC_ERR_INVALID;
	for (size_t c = 0; c < src->ncols && n; c++) {
		mc_code rc = column_append_range(&dst->cols[c], &src->cols[c], from, n);
		if (rc)
			return rc;
	}
	dst->nrows += n;
	return MC_OK;
}

/* Gather rows idx[0..n) of src into the empty column dst, column-wise. */
static mc_code gather_column(mc_column *dst, const mc_column *src, const size_t *idx, size_t n)
{
	mc_code rc = mc_column_reserve(dst, n);
	if (rc)
		return rc;
	if (src->valid) {
		dst->valid = malloc(dst->cap ? dst->cap : 1);
		if (!dst->valid)
			return MC_ERR_NOMEM;
		for (size_t r = 0; r < n; r++)
			dst->valid[r] = src->valid[idx[r]];
	}
	size_t w = mc_type_width(src->type);
	if (w) {
		uint8_t *to = dst->values;
		const uint8_t *from = src->values;
		for (size_t r = 0; r < n; r++)
			memcpy(to + r * w, from + idx[r] * w, w);
		dst->len = n;
		return MC_OK;
	}
	size_t total = 0;
	for (size_t r = 0; r < n; r++)
		total += (size_t)(src->offsets[idx[r] + 1] - src->offsets[idx[r]]);
	char *bytes = realloc(dst->bytes, total + 1);
	if (!bytes)
		return MC_ERR_NOMEM;
	dst->bytes = bytes;
	dst->bytes_cap = total + 1;
	int64_t at = 0;
	dst->offsets[0] = 0;
	for (size_t r = 0; r < n; r++) {
		int64_t len = src->offsets[idx[r] + 1] - src->offsets[idx[r]];
		memcpy(bytes + at, src->bytes + src->offsets[idx[r]], (size_t)len);
		at += len;
		dst->offsets[r + 1] = at;
	}
	bytes[at] = '\0';
	dst->bytes_len = (size_t)at;
	dst->len = n;
	return MC_OK;
}

mc_table *mc_table_take(const mc_table *t, const size_t *idx, size_t n)
{
	mc_table *out = mc_table_clone_schema(t);
	if (!out)
		return NULL;
	for (size_t c = 0; c < t->ncols; c++)
		if (gather_column(&out->cols[c], &t->cols[c], idx, n)) {
			mc_table_free(out);
			return NULL;
		}
	out->nrows = n;
	return out;
}
