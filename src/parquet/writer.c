/* Parquet writer: validates the table, lays out row groups of column chunks, and writes the footer.
 */
#include "parquet/parquet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/fsutil.h"

#define DEFAULT_ROW_GROUP_ROWS ((size_t)1 << 20)
#define DEFAULT_PAGE_BYTES ((size_t)1 << 20)

void mc_parquet_write_opts_init(mc_parquet_write_opts *o)
{
	memset(o, 0, sizeof *o);
	o->codec = MC_PQ_ZSTD;
	o->zstd_level = 3;
	o->row_group_rows = DEFAULT_ROW_GROUP_ROWS;
	o->dictionary = true;
	o->statistics = true;
	o->created_by = NULL;
	o->page_bytes = DEFAULT_PAGE_BYTES;
	o->timestamps_utc = false;
}

/* ---- Input validation ---- */

/*
 * Whether the string offsets (offsets[0] >= 0) are sound: every length within 0..INT32_MAX, so
 * they never decrease, and the last within the bytes.  One branch-free pass; the caller finds
 * the bad row when they are not.
 */
static bool offsets_ok(const mc_column *c)
{
	const int64_t *o = c->offsets;
	uint64_t bad = 0; /* OR of the lengths, as unsigned: a negative one sets bit 63 */
	size_t r = 0;
	for (; r + 4 <= c->len; r += 4)
		bad |= ((uint64_t)o[r + 1] - (uint64_t)o[r]) |
		       ((uint64_t)o[r + 2] - (uint64_t)o[r + 1]) |
		       ((uint64_t)o[r + 3] - (uint64_t)o[r + 2]) |
		       ((uint64_t)o[r + 4] - (uint64_t)o[r + 3]);
	for (; r < c->len; r++)
		bad |= (uint64_t)o[r + 1] - (uint64_t)o[r];
	return bad <= INT32_MAX && (size_t)o[c->len] <= c->bytes_len;
}

static mc_code check_column(const mc_table *t, size_t i, mc_error *err)
{
	const mc_column *c = &t->cols[i];
	if (!c->name || !c->name[0])
		return mc_fail(err, MC_ERR_INVALID, "column %zu has no name", i);
	for (size_t j = 0; j < i; j++)
		if (strcmp(t->cols[j].name, c->name) == 0)
			return mc_fail(err, MC_ERR_INVALID, "column name '%s' appears twice",
				       c->name);
	if (pq_physical_of(c->type) < 0)
		return mc_fail(err, MC_ERR_INVALID, "column '%s' has an unknown type", c->name);
	if (c->type == MC_T_TIMESTAMP && (c->unit < MC_MILLIS || c->unit > MC_NANOS))
		return mc_fail(err, MC_ERR_INVALID, "column '%s' has an unknown time unit",
			       c->name);
	if (c->len != t->nrows)
		return mc_fail(err, MC_ERR_INVALID, "column '%s' has %zu rows, the table %zu",
			       c->name, c->len, t->nrows);
	if (!c->nullable && c->valid)
		for (size_t r = 0; r < c->len; r++)
			if (!c->valid[r])
				return mc_fail(err, MC_ERR_INVALID,
					       "column '%s' is not nullable but row %zu is null",
					       c->name, r);
	if (c->type == MC_T_STRING) {
		if (!c->offsets || c->offsets[0] < 0)
			return mc_fail(err, MC_ERR_INVALID, "column '%s' has bad string offsets",
				       c->name);
		if (!offsets_ok(c))
			for (size_t r = 0; r < c->len; r++)
				if (c->offsets[r + 1] < c->offsets[r] ||
				    (size_t)c->offsets[r + 1] > c->bytes_len ||
				    c->offsets[r + 1] - c->offsets[r] > INT32_MAX)
					return mc_fail(err, MC_ERR_INVALID,
						       "column '%s' row %zu has bad string offsets",
						       c->name, r);
	}
	return MC_OK;
}

static mc_code check_table(const mc_table *t, mc_error *err)
{
	if (!t || t->ncols == 0)
		return mc_fail(err, MC_ERR_INVALID, "the table has no columns");
	for (size_t i = 0; i < t->ncols; i++) {
		mc_code rc = check_column(t, i, err);
		if (rc)
			return rc;
	}
	return MC_OK;
}

static mc_code resolve_opts(const mc_parquet_write_opts *in, mc_parquet_write_opts *o,
			    mc_error *err)
{
	if (in)
		*o = *in;
	else
		mc_parquet_write_opts_init(o);
	if (!pq_codec_supported((int)o->codec))
		return mc_fail(err, MC_ERR_INVALID, "unsupported compression codec %d",
			       (int)o->codec);
	if (!o->row_group_rows)
		o->row_group_rows = DEFAULT_ROW_GROUP_ROWS;
	if (!o->page_bytes)
		o->page_bytes = DEFAULT_PAGE_BYTES;
	if (o->page_bytes > (size_t)1 << 28)
		o->page_bytes = (size_t)1 << 28;
	return MC_OK;
}

/* ---- Footer ---- */

static void put_logical(tc_writer *tw, const mc_column *c, bool utc)
{
	static const int16_t unit_ids[] = {1, 2, 3}; /* MILLIS, MICROS, NANOS */
	switch (c->type) {
	case MC_T_STRING:
		tw_field_i32(tw, 6, PQ_CT_UTF8);
		tw_field_struct(tw, 10);
		tw_field_struct(tw, PQ_LT_STRING);
		tw_struct_end(tw);
		tw_struct_end(tw);
		break;
	case MC_T_DATE:
		tw_field_i32(tw, 6, PQ_CT_DATE);
		tw_field_struct(tw, 10);
		tw_field_struct(tw, PQ_LT_DATE);
		tw_struct_end(tw);
		tw_struct_end(tw);
		break;
	case MC_T_TIMESTAMP:
		if (c->unit != MC_NANOS)
			tw_field_i32(tw, 6,
				     c->unit == MC_MILLIS ? PQ_CT_TIMESTAMP_MILLIS
							  : PQ_CT_TIMESTAMP_MICROS);
		tw_field_struct(tw, 10);
		tw_field_struct(tw, PQ_LT_TIMESTAMP);
		tw_field_bool(tw, 1, utc);
		tw_field_struct(tw, 2);
		tw_field_struct(tw, unit_ids[c->unit]);
		tw_struct_end(tw);
		tw_struct_end(tw);
		tw_struct_end(tw);
		tw_struct_end(tw);
		break;
	default: break;
	}
}

static void put_schema(tc_writer *tw, const mc_table *t, bool utc)
{
	static const char root[] = "schema";
	tw_field_list(tw, 2, TC_STRUCT, t->ncols + 1);
	tw_struct_begin(tw);
	tw_field_binary(tw, 4, root, sizeof root - 1);
	tw_field_i32(tw, 5, (int32_t)t->ncols);
	tw_struct_end(tw);
	for (size_t i = 0; i < t->ncols; i++) {
		const mc_column *c = &t->cols[i];
		tw_struct_begin(tw);
		tw_field_i32(tw, 1, pq_physical_of(c->type));
		tw_field_i32(tw, 3, c->nullable ? PQ_OPTIONAL : PQ_REQUIRED);
		tw_field_binary(tw, 4, c->name, strlen(c->name));
		put_logical(tw, c, utc);
		tw_struct_end(tw);
	}
}

static void put_stats(tc_writer *tw, const wr_stats *st, bool legacy)
{
	tw_field_struct(tw, 12);
	if (st->has_bounds && legacy) {
		tw_field_binary(tw, 1, st->max, st->width);
		tw_field_binary(tw, 2, st->min, st->width);
	}
	tw_field_i64(tw, 3, st->null_count);
	if (st->has_bounds) {
		if (st->width) {
			tw_field_binary(tw, 5, st->max, st->width);
			tw_field_binary(tw, 6, st->min, st->width);
		} else {
			tw_field_binary(tw, 5, st->smax, st->smax_n);
			tw_field_binary(tw, 6, st->smin, st->smin_n);
		}
		tw_field_bool(tw, 7, true);
		tw_field_bool(tw, 8, true);
	}
	tw_struct_end(tw);
}

static void put_column_chunk(tc_writer *tw, const mc_column *c, const wr_chunk *ch, int codec,
			     bool stats)
{
	tw_struct_begin(tw);
	tw_field_i64(tw, 2, 0);
	tw_field_struct(tw, 3);
	tw_field_i32(tw, 1, pq_physical_of(c->type));
	size_t nenc = 0;
	for (int e = 0; e < 32; e++)
		nenc += (ch->encodings >> e) & 1;
	tw_field_list(tw, 2, TC_I32, nenc);
	for (int e = 0; e < 32; e++)
		if ((ch->encodings >> e) & 1)
			tw_i32(tw, e);
	tw_field_list(tw, 3, TC_BINARY, 1);
	tw_binary(tw, c->name, strlen(c->name));
	tw_field_i32(tw, 4, codec);
	tw_field_i64(tw, 5, ch->num_values);
	tw_field_i64(tw, 6, ch->uncompressed);
	tw_field_i64(tw, 7, ch->compressed);
	tw_field_i64(tw, 9, ch->data_offset);
	if (ch->dict_offset >= 0)
		tw_field_i64(tw, 11, ch->dict_offset);
	if (stats)
		put_stats(tw, &ch->st, c->type != MC_T_STRING);
	tw_struct_end(tw);
	tw_struct_end(tw);
}

static void put_row_groups(tc_writer *tw, const mc_table *t, const wr_chunk *chunks, size_t nrg,
			   const mc_parquet_write_opts *o)
{
	tw_field_list(tw, 4, TC_STRUCT, nrg);
	for (size_t g = 0; g < nrg; g++) {
		const wr_chunk *row = chunks + g * t->ncols;
		int64_t unc = 0, comp = 0;
		tw_struct_begin(tw);
		tw_field_list(tw, 1, TC_STRUCT, t->ncols);
		for (size_t c = 0; c < t->ncols; c++) {
			put_column_chunk(tw, &t->cols[c], &row[c], (int)o->codec, o->statistics);
			unc += row[c].uncompressed;
			comp += row[c].compressed;
		}
		tw_field_i64(tw, 2, unc);
		tw_field_i64(tw, 3, row[0].num_values);
		tw_field_i64(tw, 5,
			     row[0].dict_offset >= 0 ? row[0].dict_offset : row[0].data_offset);
		tw_field_i64(tw, 6, comp);
		if (g <= INT16_MAX) {
			tw_field_begin(tw, 7, TC_I16);
			tw_i32(tw, (int32_t)g);
		}
		tw_struct_end(tw);
	}
}

static mc_code put_footer(wr_ctx *w, const mc_table *t, const wr_chunk *chunks, size_t nrg)
{
	const mc_parquet_write_opts *o = w->o;
	size_t start = w->out->len;
	tc_writer tw;
	tc_writer_init(&tw, w->out);
	tw_struct_begin(&tw);
	tw_field_i32(&tw, 1, 1);
	put_schema(&tw, t, o->timestamps_utc);
	tw_field_i64(&tw, 3, (int64_t)t->nrows);
	put_row_groups(&tw, t, chunks, nrg, o);
	const char *by = o->created_by ? o->created_by : "milkcast version " MC_VERSION;
	tw_field_binary(&tw, 6, by, strlen(by));
	tw_field_list(&tw, 7, TC_STRUCT, t->ncols); /* column_orders: TYPE_ORDER each */
	for (size_t i = 0; i < t->ncols; i++) {
		tw_struct_begin(&tw);
		tw_field_struct(&tw, 1);
		tw_struct_end(&tw);
		tw_struct_end(&tw);
	}
	tw_struct_end(&tw);
	if (tw.rc)
		return mc_fail(w->err, tw.rc, "cannot write the footer: %s", mc_strerror(tw.rc));
	size_t len = w->out->len - start;
	if (len > UINT32_MAX)
		return mc_fail(w->err, MC_ERR_LIMIT, "the footer exceeds 4 GiB");
	uint8_t tail[8];
	pq_put_le32(tail, (uint32_t)len);
	memcpy(tail + 4, PQ_MAGIC, 4);
	mc_code rc = mc_buf_append(w->out, tail, 8);
	return rc ? mc_fail(w->err, rc, "the output exceeds its size limit") : MC_OK;
}

/* ---- Entry points ---- */

static mc_code write_body(wr_ctx *w, const mc_table *t, wr_chunk *chunks, size_t nrg)
{
	size_t step = w->o->row_group_rows;
	mc_code rc = mc_buf_append(w->out, PQ_MAGIC, 4);
	if (rc)
		return mc_fail(w->err, rc, "the output exceeds its size limit");
	for (size_t g = 0; g < nrg; g++) {
		size_t r0 = g * step, r1 = t->nrows - r0 < step ? t->nrows : r0 + step;
		for (size_t c = 0; c < t->ncols; c++) {
			rc = pq_write_chunk(w, &t->cols[c], r0, r1, &chunks[g * t->ncols + c]);
			if (rc) {
				mc_error_prefix(w->err,
						"column '%s' row group %zu: ", t->cols[c].name, g);
				return rc;
			}
		}
	}
	return put_footer(w, t, chunks, nrg);
}

/* Write to out; messages start "cannot write <what>: ". */
static mc_code write_named(const mc_table *t, const mc_parquet_write_opts *opts, mc_buf *out,
			   const char *what, mc_error *err)
{
	mc_parquet_write_opts o;
	mc_code rc = check_table(t, err);
	if (!rc)
		rc = resolve_opts(opts, &o, err);
	if (rc) {
		mc_error_prefix(err, "cannot write %s: ", what);
		return rc;
	}
	size_t nrg = t->nrows / o.row_group_rows + (t->nrows % o.row_group_rows != 0);
	wr_chunk *chunks = calloc(nrg * t->ncols + 1, sizeof *chunks);
	if (!chunks)
		return mc_fail(err, MC_ERR_NOMEM, "cannot write %s: out of memory", what);
	wr_ctx w = {.o = &o, .out = out, .base = out->len, .err = err};
	mc_buf_init(&w.body, 0);
	mc_buf_init(&w.comp, 0);
	rc = write_body(&w, t, chunks, nrg);
	if (rc) {
		mc_error_prefix(err, "cannot write %s: ", what);
		out->len = w.base;
		if (out->data)
			out->data[out->len] = '\0';
	}
	pq_wr_ctx_free(&w);
	free(chunks);
	return rc;
}

mc_code mc_parquet_write_mem(const mc_table *t, const mc_parquet_write_opts *o, mc_buf *out,
			     mc_error *err)
{
	return write_named(t, o, out, "Parquet", err);
}

mc_code mc_parquet_write_file(const char *path, const mc_table *t, const mc_parquet_write_opts *o,
			      mc_error *err)
{
	mc_buf b;
	mc_buf_init(&b, 0);
	char what[512];
	snprintf(what, sizeof what, "'%s'", path);
	mc_code rc = write_named(t, o, &b, what, err);
	if (!rc)
		rc = mc_write_file_atomic(path, b.data, b.len, err);
	mc_buf_release(&b);
	return rc;
}
