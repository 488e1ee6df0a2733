/* Parquet column chunk writer: statistics, optional dictionary page, and v1 data pages of about
 * page_bytes. */
#include "parquet/parquet_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A dictionary grows to at most this many PLAIN bytes; past it the chunk is PLAIN. */
#define DICT_MAX_BYTES ((size_t)1 << 20)
/* Rows in one data page at most, whatever their size. */
#define PAGE_MAX_ROWS ((size_t)1 << 24)
/* String bounds longer than this are left out of the statistics. */
#define STAT_MAX_STRING 4096

int pq_physical_of(mc_type t)
{
	switch (t) {
	case MC_T_BOOL: return PQ_BOOLEAN;
	case MC_T_INT32:
	case MC_T_DATE: return PQ_INT32;
	case MC_T_INT64:
	case MC_T_TIMESTAMP: return PQ_INT64;
	case MC_T_FLOAT: return PQ_FLOAT;
	case MC_T_DOUBLE: return PQ_DOUBLE;
	case MC_T_STRING: return PQ_BYTE_ARRAY;
	}
	return -1;
}

static bool present(const mc_column *c, size_t r)
{
	return !c->valid || c->valid[r];
}

static const char *str_at(const mc_column *c, size_t r, size_t *n)
{
	*n = (size_t)(c->offsets[r + 1] - c->offsets[r]);
	return c->bytes ? c->bytes + c->offsets[r] : "";
}

/* ---- Statistics ---- */

static int str_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int d = memcmp(a, b, an < bn ? an : bn);
	return d ? d : (an > bn) - (an < bn);
}

static void stats_strings(const mc_column *c, size_t r0, size_t r1, wr_stats *st)
{
	for (size_t r = r0; r < r1; r++) {
		if (!present(c, r))
			continue;
		size_t n;
		const char *s = str_at(c, r, &n);
		if (!st->has_bounds || str_cmp(s, n, st->smin, st->smin_n) < 0) {
			st->smin = s;
			st->smin_n = n;
		}
		if (!st->has_bounds || str_cmp(s, n, st->smax, st->smax_n) > 0) {
			st->smax = s;
			st->smax_n = n;
		}
		st->has_bounds = true;
	}
	if (st->smin_n > STAT_MAX_STRING || st->smax_n > STAT_MAX_STRING)
		st->has_bounds = false;
}

/* Min/max of a signed integer column; `get` reads row r as int64. */
#define STATS_INT(ctype, c, r0, r1, st)                      \
	do {                                                 \
		const ctype *v = (const ctype *)(c)->values; \
		ctype lo = 0, hi = 0;                        \
		for (size_t r = (r0); r < (r1); r++) {       \
			if (!present((c), r))                \
				continue;                    \
			if (!(st)->has_bounds || v[r] < lo)  \
				lo = v[r];                   \
			if (!(st)->has_bounds || v[r] > hi)  \
				hi = v[r];                   \
			(st)->has_bounds = true;             \
		}                                            \
		memcpy((st)->min, &lo, sizeof lo);           \
		memcpy((st)->max, &hi, sizeof hi);           \
		(st)->width = sizeof lo;                     \
	} while (0)

/* Floats: NaN is skipped (and counted); a zero minimum is -0, a zero maximum +0. */
#define STATS_FLOAT(ctype, c, r0, r1, st)                    \
	do {                                                 \
		const ctype *v = (const ctype *)(c)->values; \
		ctype lo = 0, hi = 0;                        \
		for (size_t r = (r0); r < (r1); r++) {       \
			if (!present((c), r))                \
				continue;                    \
			if (isnan(v[r])) {                   \
				(st)->nan_count++;           \
				continue;                    \
			}                                    \
			if (!(st)->has_bounds || v[r] < lo)  \
				lo = v[r];                   \
			if (!(st)->has_bounds || v[r] > hi)  \
				hi = v[r];                   \
			(st)->has_bounds = true;             \
		}                                            \
		if (lo == 0)                                 \
			lo = -(ctype)0.0;                    \
		if (hi == 0)                                 \
			hi = (ctype)0.0;                     \
		memcpy((st)->min, &lo, sizeof lo);           \
		memcpy((st)->max, &hi, sizeof hi);           \
		(st)->width = sizeof lo;                     \
	} while (0)

static void stats_bools(const mc_column *c, size_t r0, size_t r1, wr_stats *st)
{
	bool any_false = false, any_true = false;
	for (size_t r = r0; r < r1; r++) {
		if (!present(c, r))
			continue;
		if (MC_COL_BOOL(c)[r])
			any_true = true;
		else
			any_false = true;
	}
	st->has_bounds = any_true || any_false;
	st->min[0] = !any_false;
	st->max[0] = any_true;
	st->width = 1;
}

static void compute_stats(const mc_column *c, size_t r0, size_t r1, size_t nn, wr_stats *st)
{
	memset(st, 0, sizeof *st);
	st->null_count = (int64_t)(r1 - r0 - nn);
	switch (c->type) {
	case MC_T_BOOL: stats_bools(c, r0, r1, st); break;
	case MC_T_INT32:
	case MC_T_DATE: STATS_INT(int32_t, c, r0, r1, st); break;
	case MC_T_INT64:
	case MC_T_TIMESTAMP: STATS_INT(int64_t, c, r0, r1, st); break;
	case MC_T_FLOAT: STATS_FLOAT(float, c, r0, r1, st); break;
	case MC_T_DOUBLE: STATS_FLOAT(double, c, r0, r1, st); break;
	case MC_T_STRING: stats_strings(c, r0, r1, st); break;
	}
}

/* ---- Dictionary ---- */

typedef struct wr_dict {
	size_t n;
	size_t *rep; /* representative row of each entry */
	size_t rep_cap;
	uint32_t *slots; /* hash table of entry id + 1; 0 = empty */
	size_t nslots;
	size_t bytes; /* PLAIN size of the dictionary page */
} wr_dict;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t v;
		memcpy(&v, b, 8);
		h = mix64(h ^ v) * 31;
	}
	uint64_t v = 0;
	if (n)
		memcpy(&v, b, n);
	return mix64(h ^ v);
}

static uint64_t hash_row(const mc_column *c, size_t r, size_t w)
{
	size_t n;
	if (!w) {
		const char *s = str_at(c, r, &n);
		return hash_bytes(s, n);
	}
	return hash_bytes((const uint8_t *)c->values + r * w, w);
}

static bool same_row(const mc_column *c, size_t a, size_t b, size_t w)
{
	if (w)
		return memcmp((const uint8_t *)c->values + a * w,
			      (const uint8_t *)c->values + b * w, w) == 0;
	size_t an, bn;
	const char *sa = str_at(c, a, &an), *sb = str_at(c, b, &bn);
	return an == bn && (an == 0 || memcmp(sa, sb, an) == 0);
}

static bool dict_rehash(wr_dict *d, const mc_column *c, size_t w)
{
	size_t ns = d->nslots ? d->nslots * 2 : 1024;
	uint32_t *slots = calloc(ns, sizeof *slots);
	if (!slots)
		return false;
	for (size_t id = 0; id < d->n; id++) {
		size_t s = hash_row(c, d->rep[id], w) & (ns - 1);
		while (slots[s])
			s = (s + 1) & (ns - 1);
		slots[s] = (uint32_t)id + 1;
	}
	free(d->slots);
	d->slots = slots;
	d->nslots = ns;
	return true;
}

/* Entry id of row r, adding it when new; -1 when out of memory, -2 when the dictionary is full. */
static int64_t dict_id(wr_dict *d, const mc_column *c, size_t r, size_t w)
{
	if ((d->n + 1) * 2 > d->nslots && !dict_rehash(d, c, w))
		return -1;
	size_t s = hash_row(c, r, w) & (d->nslots - 1);
	for (; d->slots[s]; s = (s + 1) & (d->nslots - 1))
		if (same_row(c, d->rep[d->slots[s] - 1], r, w))
			return d->slots[s] - 1;
	size_t n;
	size_t cost = w ? w : (str_at(c, r, &n), 4 + n);
	if (d->bytes + cost > DICT_MAX_BYTES)
		return -2;
	if (d->n == d->rep_cap) {
		size_t cap = d->rep_cap ? d->rep_cap * 2 : 256;
		size_t *rep = realloc(d->rep, cap * sizeof *rep);
		if (!rep)
			return -1;
		d->rep = rep;
		d->rep_cap = cap;
	}
	d->rep[d->n] = r;
	d->slots[s] = (uint32_t)d->n + 1;
	d->bytes += cost;
	return (int64_t)d->n++;
}

static void dict_free(wr_dict *d)
{
	free(d->rep);
	free(d->slots);
	memset(d, 0, sizeof *d);
}

/* Try a dictionary for the chunk; fills w->idx and returns true when it pays. */
static mc_code build_dict(wr_ctx *w, const mc_column *c, size_t r0, size_t r1, size_t nn,
			  wr_dict *d, bool *use)
{
	*use = false;
	if (!w->o->dictionary || c->type == MC_T_BOOL || nn == 0)
		return MC_OK;
	size_t wd = mc_type_width(c->type);
	if (nn > w->idx_cap) {
		uint32_t *idx = realloc(w->idx, nn * sizeof *idx);
		if (!idx)
			return MC_ERR_NOMEM;
		w->idx = idx;
		w->idx_cap = nn;
	}
	size_t k = 0, plain = 0, n;
	for (size_t r = r0; r < r1; r++) {
		if (!present(c, r))
			continue;
		int64_t id = dict_id(d, c, r, wd);
		if (id == -1)
			return MC_ERR_NOMEM;
		if (id == -2)
			return MC_OK;
		w->idx[k++] = (uint32_t)id;
		plain += wd ? wd : (str_at(c, r, &n), 4 + n);
	}
	int bw = pq_bit_width((uint32_t)(d->n - 1));
	size_t est = d->bytes + (nn * (size_t)(bw ? bw : 1) + 7) / 8;
	*use = est * 4 < plain * 3;
	return MC_OK;
}

/* ---- Pages ---- */

/* Compress w->body and append header + data to the output; account sizes in ch. */
static mc_code emit_page(wr_ctx *w, int page_type, size_t num_values, int encoding, wr_chunk *ch)
{
	const mc_parquet_write_opts *o = w->o;
	if (w->body.len > INT32_MAX)
		return mc_fail(w->err, MC_ERR_LIMIT, "a page of %zu bytes exceeds the 2 GiB limit",
			       w->body.len);
	mc_buf_reset(&w->comp);
	mc_code rc = pq_compress(o->codec, o->zstd_level, w->body.data, w->body.len, &w->comp);
	if (rc)
		return mc_fail(w->err, rc, "compression failed");
	if (w->comp.len > INT32_MAX)
		return mc_fail(w->err, MC_ERR_LIMIT, "a compressed page exceeds the 2 GiB limit");
	mc_buf_reset(&w->hdr);
	tc_writer tw;
	tc_writer_init(&tw, &w->hdr);
	tw_struct_begin(&tw);
	tw_field_i32(&tw, 1, page_type);
	tw_field_i32(&tw, 2, (int32_t)w->body.len);
	tw_field_i32(&tw, 3, (int32_t)w->comp.len);
	if (page_type == PQ_PAGE_DICTIONARY) {
		tw_field_struct(&tw, 7);
		tw_field_i32(&tw, 1, (int32_t)num_values);
		tw_field_i32(&tw, 2, encoding);
		tw_struct_end(&tw);
	} else {
		tw_field_struct(&tw, 5);
		tw_field_i32(&tw, 1, (int32_t)num_values);
		tw_field_i32(&tw, 2, encoding);
		tw_field_i32(&tw, 3, PQ_ENC_RLE);
		tw_field_i32(&tw, 4, PQ_ENC_RLE);
		tw_struct_end(&tw);
	}
	tw_struct_end(&tw);
	if ((rc = tw.rc))
		return mc_fail(w->err, rc, "out of memory");
	if ((rc = mc_buf_append(w->out, w->hdr.data, w->hdr.len)) ||
	    (rc = mc_buf_append(w->out, w->comp.data, w->comp.len)))
		return mc_fail(w->err, rc, "the output exceeds its size limit");
	ch->uncompressed += (int64_t)(w->hdr.len + w->body.len);
	ch->compressed += (int64_t)(w->hdr.len + w->comp.len);
	ch->encodings |= 1u << encoding;
	return MC_OK;
}

/* PLAIN bytes of the present values of rows [a, b) into w->body. */
static mc_code plain_values(wr_ctx *w, const mc_column *c, size_t a, size_t b)
{
	size_t wd = mc_type_width(c->type);
	mc_buf *o = &w->body;
	mc_code rc = MC_OK;
	if (c->type == MC_T_BOOL) {
		size_t k = 0;
		for (size_t r = a; r < b; r++)
			if (present(c, r))
				w->levels[k++] = MC_COL_BOOL(c)[r];
		return pq_pack_bools(w->levels, k, o);
	}
	for (size_t r = a; r < b && !rc; r++) {
		if (!present(c, r))
			continue;
		if (wd) {
			rc = mc_buf_append(o, (const uint8_t *)c->values + r * wd, wd);
		} else {
			size_t n;
			const char *s = str_at(c, r, &n);
			uint8_t len[4];
			pq_put_le32(len, (uint32_t)n);
			rc = mc_buf_append(o, len, 4);
			if (!rc)
				rc = mc_buf_append(o, s, n);
		}
	}
	return rc;
}

/* Definition levels of rows [a, b) as a length-prefixed RLE run into w->body. */
static mc_code def_levels(wr_ctx *w, const mc_column *c, size_t a, size_t b)
{
	for (size_t r = a; r < b; r++)
		w->levels[r - a] = present(c, r);
	size_t at = w->body.len;
	uint8_t zero[4] = {0};
	mc_code rc = mc_buf_append(&w->body, zero, 4);
	if (!rc)
		rc = pq_rle_encode_u8(w->levels, b - a, 1, &w->body);
	if (!rc)
		pq_put_le32(w->body.data + at, (uint32_t)(w->body.len - at - 4));
	return rc;
}

static mc_code write_dict_page(wr_ctx *w, const mc_column *c, const wr_dict *d, wr_chunk *ch)
{
	size_t wd = mc_type_width(c->type);
	mc_code rc = MC_OK;
	mc_buf_reset(&w->body);
	for (size_t id = 0; id < d->n && !rc; id++) {
		size_t r = d->rep[id];
		if (wd) {
			rc = mc_buf_append(&w->body, (const uint8_t *)c->values + r * wd, wd);
		} else {
			size_t n;
			const char *s = str_at(c, r, &n);
			uint8_t len[4];
			pq_put_le32(len, (uint32_t)n);
			rc = mc_buf_append(&w->body, len, 4);
			if (!rc)
				rc = mc_buf_append(&w->body, s, n);
		}
	}
	if (rc)
		return mc_fail(w->err, rc, "out of memory");
	ch->dict_offset = (int64_t)(w->out->len - w->base);
	return emit_page(w, PQ_PAGE_DICTIONARY, d->n, PQ_ENC_PLAIN, ch);
}

/* Estimated encoded bits of row r, used to cut pages. */
static size_t row_bits(const mc_column *c, size_t r, int dict_bw)
{
	size_t bits = c->nullable ? 1 : 0;
	if (!present(c, r))
		return bits;
	if (dict_bw >= 0)
		return bits + (size_t)(dict_bw ? dict_bw : 1);
	if (c->type == MC_T_BOOL)
		return bits + 1;
	size_t wd = mc_type_width(c->type), n;
	if (wd)
		return bits + 8 * wd;
	str_at(c, r, &n);
	return bits + 8 * (4 + n);
}

static mc_code write_data_pages(wr_ctx *w, const mc_column *c, size_t r0, size_t r1, int dict_bw,
				wr_chunk *ch)
{
	size_t limit = w->o->page_bytes * 8, k = 0; /* k: index of the page's first present value */
	ch->data_offset = (int64_t)(w->out->len - w->base);
	for (size_t a = r0; a < r1;) {
		size_t b = a, bits = 0, nn = 0;
		while (b < r1 && (bits < limit || b == a) && b - a < PAGE_MAX_ROWS) {
			bits += row_bits(c, b, dict_bw);
			nn += present(c, b);
			b++;
		}
		mc_buf_reset(&w->body);
		mc_code rc = c->nullable ? def_levels(w, c, a, b) : MC_OK;
		if (!rc && dict_bw >= 0) {
			rc = mc_buf_putc(&w->body, (uint8_t)dict_bw);
			if (!rc)
				rc = pq_rle_encode(w->idx + k, nn, dict_bw, &w->body);
		} else if (!rc) {
			rc = plain_values(w, c, a, b);
		}
		if (rc)
			return mc_fail(w->err, rc, "out of memory");
		rc = emit_page(w, PQ_PAGE_DATA, b - a,
			       dict_bw >= 0 ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN, ch);
		if (rc)
			return rc;
		k += nn;
		a = b;
	}
	return MC_OK;
}

mc_code pq_write_chunk(wr_ctx *w, const mc_column *c, size_t r0, size_t r1, wr_chunk *ch)
{
	memset(ch, 0, sizeof *ch);
	ch->dict_offset = -1;
	ch->num_values = (int64_t)(r1 - r0);
	ch->encodings = 1u << PQ_ENC_RLE; /* the level encoding named in every page header */
	size_t rows = r1 - r0, nn = 0;
	for (size_t r = r0; r < r1; r++)
		nn += present(c, r);
	size_t lv = rows < PAGE_MAX_ROWS ? rows : PAGE_MAX_ROWS;
	if (lv > w->levels_cap) {
		uint8_t *l = realloc(w->levels, lv);
		if (!l)
			return mc_fail(w->err, MC_ERR_NOMEM, "out of memory");
		w->levels = l;
		w->levels_cap = lv;
	}
	if (w->o->statistics)
		compute_stats(c, r0, r1, nn, &ch->st);
	wr_dict d = {0};
	bool use = false;
	mc_code rc = build_dict(w, c, r0, r1, nn, &d, &use);
	if (rc) {
		dict_free(&d);
		return mc_fail(w->err, rc, "out of memory");
	}
	int bw = -1;
	if (use) {
		bw = pq_bit_width((uint32_t)(d.n - 1));
		if (bw == 0)
			bw = 1;
		rc = write_dict_page(w, c, &d, ch);
	}
	dict_free(&d);
	if (!rc)
		rc = write_data_pages(w, c, r0, r1, bw, ch);
	return rc;
}
