/* Lake summaries (date ranges, per-series statistics) and CSV export. */
#include "milkcast/lake_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/lake.h"
#include "milkcast/strmap.h"

mc_lake_date_range mc_lake_dates(const mc_table *t)
{
	mc_lake_date_range r = {0, 0, 0};
	if (!t->nrows)
		return r;
	const int32_t *d = MC_COL_I32(&t->cols[MC_LAKE_DATE]);
	r.first = r.last = d[0];
	mc_strmap *seen = mc_strmap_new(256);
	for (size_t i = 0; i < t->nrows; i++) {
		if (d[i] < r.first)
			r.first = d[i];
		if (d[i] > r.last)
			r.last = d[i];
		if (seen && !mc_strmap_get(seen, (const char *)&d[i], sizeof d[i], NULL))
			mc_strmap_put(seen, (const char *)&d[i], sizeof d[i], 1);
	}
	r.ndates = seen ? mc_strmap_count(seen) : 0;
	mc_strmap_free(seen);
	return r;
}

static char *col_dup(const mc_table *t, int c, size_t i)
{
	size_t n;
	const char *s = mc_column_str(&t->cols[c], i, &n);
	return strndup(s, n);
}

static mc_code new_stat(const mc_table *t, size_t i, mc_lake_series_stat *s)
{
	memset(s, 0, sizeof *s);
	s->kind = col_dup(t, MC_LAKE_KIND, i);
	s->state = col_dup(t, MC_LAKE_STATE, i);
	s->city = col_dup(t, MC_LAKE_CITY, i);
	s->milk_type = col_dup(t, MC_LAKE_MILK_TYPE, i);
	s->channel = col_dup(t, MC_LAKE_CHANNEL, i);
	s->first = s->last = MC_COL_I32(&t->cols[MC_LAKE_DATE])[i];
	return s->kind && s->state && s->city && s->milk_type && s->channel ? MC_OK : MC_ERR_NOMEM;
}

static void add_row(mc_lake_series_stat *s, const mc_table *t, size_t i)
{
	int32_t d = MC_COL_I32(&t->cols[MC_LAKE_DATE])[i];
	const mc_column *p = &t->cols[MC_LAKE_PRICE];
	s->count++;
	if (d < s->first)
		s->first = d;
	if (d > s->last)
		s->last = d;
	if (!mc_column_is_null(p, i) && (!s->observed || d >= s->last_observed)) {
		s->last_observed = d;
		s->last_price = MC_COL_F64(p)[i];
	}
	s->observed += !mc_column_is_null(p, i);
}

static int stat_cmp(const void *a, const void *b)
{
	const mc_lake_series_stat *x = a, *y = b;
	int r = strcmp(x->kind, y->kind);
	r = r ? r : strcmp(x->state, y->state);
	r = r ? r : strcmp(x->city, y->city);
	r = r ? r : strcmp(x->milk_type, y->milk_type);
	return r ? r : strcmp(x->channel, y->channel);
}

mc_code mc_lake_series_stats(const mc_table *t, mc_lake_series_stat **out, size_t *n, mc_error *err)
{
	*out = NULL;
	*n = 0;
	mc_strmap *index = mc_strmap_new(512);
	if (!index)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = MC_OK;
	for (size_t i = 0; i < t->nrows && !rc; i++) {
		char key[512];
		size_t len = 0;
		for (int c = MC_LAKE_KIND; c <= MC_LAKE_CHANNEL; c++) {
			size_t k;
			const char *s = mc_column_str(&t->cols[c], i, &k);
			int w = snprintf(key + len, sizeof key - len, "%.*s|", (int)k, s);
			len += w > 0 && (size_t)w < sizeof key - len ? (size_t)w : 0;
		}
		int64_t at;
		if (!mc_strmap_get(index, key, len, &at)) {
			mc_lake_series_stat *grown = realloc(*out, (*n + 1) * sizeof *grown);
			if (!grown) {
				rc = MC_ERR_NOMEM;
				break;
			}
			*out = grown;
			at = (int64_t)*n;
			rc = new_stat(t, i, &grown[(*n)++]);
			if (!rc)
				rc = mc_strmap_put(index, key, len, at);
		}
		if (!rc)
			add_row(&(*out)[at], t, i);
	}
	mc_strmap_free(index);
	if (rc) {
		mc_lake_series_stats_free(*out, *n);
		*out = NULL;
		*n = 0;
		return mc_fail(err, rc, "out of memory");
	}
	if (*n > 1)
		qsort(*out, *n, sizeof **out, stat_cmp);
	return MC_OK;
}

void mc_lake_series_stats_free(mc_lake_series_stat *s, size_t n)
{
	for (size_t i = 0; s && i < n; i++) {
		free(s[i].kind);
		free(s[i].state);
		free(s[i].city);
		free(s[i].milk_type);
		free(s[i].channel);
	}
	free(s);
}

/* Quote a CSV field when it holds a comma, quote or line break. */
static mc_code csv_field(mc_buf *b, const char *s, size_t n)
{
	bool quote =
		memchr(s, ',', n) || memchr(s, '"', n) || memchr(s, '\n', n) || memchr(s, '\r', n);
	if (!quote)
		return mc_buf_append(b, s, n);
	mc_code rc = mc_buf_putc(b, '"');
	for (size_t i = 0; i < n && !rc; i++)
		rc = s[i] == '"' ? mc_buf_append(b, "\"\"", 2) : mc_buf_putc(b, (uint8_t)s[i]);
	return rc ? rc : mc_buf_putc(b, '"');
}

static mc_code csv_value(mc_buf *b, const mc_column *c, size_t i)
{
	if (mc_column_is_null(c, i))
		return MC_OK;
	switch (c->type) {
	case MC_T_DATE: {
		char d[11];
		mc_date_format_iso(MC_COL_I32(c)[i], d);
		return mc_buf_append(b, d, 10);
	}
	case MC_T_TIMESTAMP: {
		int64_t us = MC_COL_I64(c)[i];
		int64_t secs = us / 1000000 - (us % 1000000 < 0);
		int64_t day = secs / 86400 - (secs % 86400 < 0), sod = secs - day * 86400;
		char d[11];
		mc_date_format_iso((int32_t)day, d);
		return mc_buf_printf(b, "%sT%02d:%02d:%02d.%06dZ", d, (int)(sod / 3600),
				     (int)(sod / 60 % 60), (int)(sod % 60),
				     (int)(us - secs * 1000000));
	}
	case MC_T_DOUBLE: return mc_buf_printf(b, "%.17g", MC_COL_F64(c)[i]);
	case MC_T_STRING: {
		size_t n;
		const char *s = mc_column_str(c, i, &n);
		return csv_field(b, s, n);
	}
	case MC_T_INT32: return mc_buf_printf(b, "%d", (int)MC_COL_I32(c)[i]);
	case MC_T_INT64: return mc_buf_printf(b, "%lld", (long long)MC_COL_I64(c)[i]);
	case MC_T_FLOAT: return mc_buf_printf(b, "%.9g", (double)MC_COL_F32(c)[i]);
	case MC_T_BOOL: return mc_buf_printf(b, "%s", MC_COL_BOOL(c)[i] ? "true" : "false");
	}
	return MC_ERR_INVALID;
}

mc_code mc_lake_write_csv(const mc_table *t, const char *path, mc_error *err)
{
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_code rc = MC_OK;
	for (size_t c = 0; c < t->ncols && !rc; c++)
		rc = mc_buf_printf(&b, "%s%s", c ? "," : "", t->cols[c].name);
	rc = rc ? rc : mc_buf_putc(&b, '\n');
	for (size_t i = 0; i < t->nrows && !rc; i++) {
		for (size_t c = 0; c < t->ncols && !rc; c++) {
			if (c)
				rc = mc_buf_putc(&b, ',');
			rc = rc ? rc : csv_value(&b, &t->cols[c], i);
		}
		rc = rc ? rc : mc_buf_putc(&b, '\n');
	}
	if (rc) {
		mc_buf_release(&b);
		return mc_fail(err, rc, "cannot build CSV: out of memory");
	}
	if (path) {
		rc = mc_write_file_atomic(path, b.data, b.len, err);
	} else if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout)) {
		rc = mc_fail(err, MC_ERR_IO, "cannot write CSV to standard output");
	}
	mc_buf_release(&b);
	return rc;
}
