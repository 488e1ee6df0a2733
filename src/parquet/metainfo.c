/* Public metadata API: decodes only the footer of a Parquet file into an mc_parquet_meta. */
#include "parquet/parquet_int.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *dup_bytes(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	if (s) {
		if (n)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* Decode one PLAIN-encoded bound of a fixed-width type; false when it has the wrong size. */
static bool bound_number(int type, pq_bytes b, double *d, int64_t *i, bool *is_int)
{
	union {
		float f;
		double d;
		int32_t i32;
		int64_t i64;
	} u;
	*is_int = type == PQ_BOOLEAN || type == PQ_INT32 || type == PQ_INT64;
	switch (type) {
	case PQ_BOOLEAN:
		if (b.n != 1)
			return false;
		*i = b.p[0] != 0;
		break;
	case PQ_INT32:
	case PQ_FLOAT:
		if (b.n != 4)
			return false;
		memcpy(&u, b.p, 4);
		*i = u.i32;
		if (type == PQ_FLOAT)
			*d = u.f;
		break;
	case PQ_INT64:
	case PQ_DOUBLE:
		if (b.n != 8)
			return false;
		memcpy(&u, b.p, 8);
		*i = u.i64;
		if (type == PQ_DOUBLE)
			*d = u.d;
		break;
	default: return false;
	}
	if (*is_int)
		*d = (double)*i;
	return !isnan(*d);
}

/* Pick the bounds: min_value/max_value, else the legacy signed min/max where they are valid. */
static mc_code fill_stats(const pq_column_meta *cm, const pq_leaf *leaf, mc_parquet_stats *s)
{
	const pq_stats *st = &cm->stats;
	if (!cm->has_stats)
		return MC_OK;
	s->has_null_count = st->has_null_count;
	s->null_count = st->null_count;
	pq_bytes lo, hi;
	int ct = leaf->el->has_converted ? leaf->el->converted : -1;
	const pq_logical *lt = &leaf->el->logical;
	bool unsigned_order = cm->type == PQ_BYTE_ARRAY || ct == PQ_CT_UINT_8 ||
			      ct == PQ_CT_UINT_16 || (lt->kind == PQ_LT_INTEGER && !lt->sign);
	if (st->has_min_value && st->has_max_value) {
		lo = st->min_value;
		hi = st->max_value;
	} else if (st->has_min && st->has_max && !unsigned_order) {
		lo = st->min;
		hi = st->max;
	} else {
		return MC_OK;
	}
	if (cm->type == PQ_BYTE_ARRAY) {
		s->min_str = dup_bytes(lo.p, lo.n);
		s->max_str = dup_bytes(hi.p, hi.n);
		if (!s->min_str || !s->max_str)
			return MC_ERR_NOMEM;
		s->min_len = lo.n;
		s->max_len = hi.n;
		s->is_bytes = s->has_min_max = true;
		return MC_OK;
	}
	bool int_lo, int_hi;
	if (bound_number(cm->type, lo, &s->min, &s->min_i, &int_lo) &&
	    bound_number(cm->type, hi, &s->max, &s->max_i, &int_hi)) {
		s->has_min_max = true;
		s->is_int = int_lo;
	}
	return MC_OK;
}

static mc_code fill_columns(const pq_footer *f, mc_parquet_meta *m)
{
	m->cols = calloc(f->nleaves ? f->nleaves : 1, sizeof *m->cols);
	if (!m->cols)
		return MC_ERR_NOMEM;
	m->ncols = f->nleaves;
	for (size_t i = 0; i < f->nleaves; i++) {
		const pq_leaf *l = &f->leaves[i];
		mc_parquet_column_info *c = &m->cols[i];
		c->name = strdup(l->name);
		if (!c->name)
			return MC_ERR_NOMEM;
		c->physical_type = l->el->type;
		c->converted_type = l->el->has_converted ? l->el->converted : -1;
		pq_logical_describe(&l->el->logical, c->logical, sizeof c->logical);
		c->optional = l->optional;
		c->supported = l->supported;
		c->type = l->type;
		c->unit = l->unit;
		snprintf(c->why, sizeof c->why, "%s", l->why);
	}
	return MC_OK;
}

static mc_code fill_row_groups(const pq_footer *f, mc_parquet_meta *m)
{
	const pq_file_meta *fm = &f->meta;
	m->row_groups = calloc(fm->nrgs ? fm->nrgs : 1, sizeof *m->row_groups);
	if (!m->row_groups)
		return MC_ERR_NOMEM;
	m->nrow_groups = fm->nrgs;
	for (size_t g = 0; g < fm->nrgs; g++) {
		const pq_row_group *rg = &fm->rgs[g];
		mc_parquet_row_group_info *ri = &m->row_groups[g];
		ri->num_rows = rg->num_rows;
		ri->total_byte_size = rg->total_byte_size;
		ri->total_compressed_size =
			rg->has_total_compressed_size ? rg->total_compressed_size : -1;
		ri->chunks = calloc(rg->ncols ? rg->ncols : 1, sizeof *ri->chunks);
		if (!ri->chunks)
			return MC_ERR_NOMEM;
		for (size_t c = 0; c < rg->ncols; c++) {
			const pq_column_meta *cm = &rg->cols[c].meta;
			mc_parquet_chunk_info *ci = &ri->chunks[c];
			ci->codec = cm->codec;
			ci->encodings = cm->encodings;
			ci->num_values = cm->num_values;
			ci->compressed_size = cm->total_compressed_size;
			ci->uncompressed_size = cm->total_uncompressed_size;
			if (fill_stats(cm, &f->leaves[c], &ci->stats))
				return MC_ERR_NOMEM;
		}
	}
	return MC_OK;
}

static mc_code meta_from_footer(const pq_footer *f, mc_parquet_meta **out, mc_error *err)
{
	mc_parquet_meta *m = calloc(1, sizeof *m);
	mc_code rc = m ? MC_OK : MC_ERR_NOMEM;
	if (!rc) {
		m->version = f->meta.version;
		m->num_rows = f->meta.num_rows;
		if (f->meta.has_created_by) {
			m->created_by = dup_bytes(f->meta.created_by.p, f->meta.created_by.n);
			rc = m->created_by ? MC_OK : MC_ERR_NOMEM;
		}
	}
	if (!rc)
		rc = fill_columns(f, m);
	if (!rc)
		rc = fill_row_groups(f, m);
	if (rc) {
		mc_parquet_meta_free(m);
		return mc_fail(err, rc, "cannot read '%s': out of memory", f->name);
	}
	*out = m;
	return MC_OK;
}

mc_code mc_parquet_meta_read_mem(const uint8_t *p, size_t n, const char *name,
				 mc_parquet_meta **out, mc_error *err)
{
	*out = NULL;
	if (!name)
		name = "(memory)";
	uint32_t flen;
	mc_code rc = pq_footer_locate(p, n, n >= 8 ? p + n - 8 : p, n, name, &flen, err);
	if (rc)
		return rc;
	pq_footer f;
	rc = pq_footer_parse(&f, p + n - 8 - flen, flen, n, name, err);
	if (!rc)
		rc = meta_from_footer(&f, out, err);
	pq_footer_free(&f);
	return rc;
}

/* Read `n` bytes at `off`; short reads are a truncated file. */
static mc_code read_at(FILE *fp, long off, uint8_t *dst, size_t n, const char *path, mc_error *err)
{
	if (fseek(fp, off, SEEK_SET) != 0 || fread(dst, 1, n, fp) != n)
		return mc_fail(err, ferror(fp) ? MC_ERR_IO : MC_ERR_FORMAT, "cannot read '%s': %s",
			       path, ferror(fp) ? strerror(errno) : "truncated");
	return MC_OK;
}

mc_code mc_parquet_meta_read_file(const char *path, mc_parquet_meta **out, mc_error *err)
{
	*out = NULL;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return mc_fail(err, errno == ENOENT ? MC_ERR_NOT_FOUND : MC_ERR_IO,
			       "cannot open '%s': %s", path, strerror(errno));
	struct stat st;
	mc_code rc = MC_OK;
	uint8_t head[4] = {0}, tail[8] = {0};
	size_t size = 0;
	uint8_t *footer = NULL;
	uint32_t flen = 0;
	if (fstat(fileno(fp), &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > LONG_MAX)
		rc = mc_fail(err, MC_ERR_IO, "cannot stat '%s': %s", path, strerror(errno));
	else
		size = (size_t)st.st_size;
	if (!rc && size >= 4)
		rc = read_at(fp, 0, head, 4, path, err);
	if (!rc && size >= 12)
		rc = read_at(fp, (long)(size - 8), tail, 8, path, err);
	if (!rc)
		rc = pq_footer_locate(head, size < 4 ? size : 4, tail, size, path, &flen, err);
	if (!rc && !(footer = malloc(flen)))
		rc = mc_fail(err, MC_ERR_NOMEM, "cannot read '%s': out of memory", path);
	if (!rc)
		rc = read_at(fp, (long)(size - 8 - flen), footer, flen, path, err);
	fclose(fp);
	pq_footer f;
	if (!rc) {
		rc = pq_footer_parse(&f, footer, flen, size, path, err);
		if (!rc)
			rc = meta_from_footer(&f, out, err);
		pq_footer_free(&f);
	}
	free(footer);
	return rc;
}

void mc_parquet_meta_free(mc_parquet_meta *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->cols && i < m->ncols; i++)
		free(m->cols[i].name);
	free(m->cols);
	for (size_t g = 0; m->row_groups && g < m->nrow_groups; g++) {
		mc_parquet_row_group_info *ri = &m->row_groups[g];
		for (size_t c = 0; ri->chunks && c < m->ncols; c++) {
			free(ri->chunks[c].stats.min_str);
			free(ri->chunks[c].stats.max_str);
		}
		free(ri->chunks);
	}
	free(m->row_groups);
	free(m->created_by);
	free(m);
}
