/* Parquet reader: decodes every page of a flat file into an mc_table, checking all sizes and
 * indices. */
#include "parquet/parquet_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decoded dictionary page: fixed-width values, or string entries (start, length) in `buf`. */
typedef struct rd_dict {
	bool present;
	size_t n;
	uint8_t *buf; /* decompressed page; fixed-width values live here (booleans: unpacked) */
	uint32_t *start, *len;
} rd_dict;

/* Reading state of one column chunk, plus scratch buffers reused across chunks. */
typedef struct rd_ctx {
	const pq_footer *f;
	mc_error *err;
	size_t rg, col, page;
	const pq_leaf *leaf;
	mc_column *c;
	int codec;
	rd_dict dict;
	uint8_t *scratch;
	size_t scratch_cap;
	uint8_t *levels;
	size_t levels_cap;
	uint32_t *idx;
	size_t idx_cap;
	size_t used; /* bytes of the table so far, kept within f->budget */
	pq_codecs codecs;
} rd_ctx;

static mc_code rd_fail(rd_ctx *x, mc_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* No page yet: errors about the whole column chunk. */
#define NO_PAGE SIZE_MAX

/* "cannot read 'f': column 'c' row group 0 page 2: <detail>" */
static mc_code rd_fail(rd_ctx *x, mc_code code, const char *fmt, ...)
{
	char detail[320], page[32] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (x->page != NO_PAGE)
		snprintf(page, sizeof page, " page %zu", x->page);
	return mc_fail(x->err, code, "cannot read '%s': column '%s' row group %zu%s: %s",
		       x->f->name, x->leaf->name, x->rg, page, detail);
}
#ifdef __clang_analyzer__
/* For clang-tidy's analyzer, which does not look inside variadic functions. */
#define rd_fail(x, code, ...) (rd_fail((x), (code), __VA_ARGS__), (code))
#endif

static mc_code rd_nomem(rd_ctx *x)
{
	return rd_fail(x, MC_ERR_NOMEM, "out of memory");
}

/* Grow a scratch array to hold n elements of `size` bytes. */
static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n <= *cap)
		return true;
	size_t want = n < 4096 ? 4096 : n;
	void *q = realloc(*p, want * size);
	if (!q)
		return false;
	*p = q;
	*cap = want;
	return true;
}

static void dict_clear(rd_dict *d)
{
	free(d->buf);
	free(d->start);
	free(d->len);
	memset(d, 0, sizeof *d);
}

/* ---- Column storage ---- */

/* Room for `extra` more string bytes; all columns share the budget with the fixed arrays. */
static mc_code col_reserve_bytes(rd_ctx *x, size_t extra)
{
	mc_column *c = x->c;
	size_t left = x->f->budget - x->used;
	size_t need = c->bytes_len + extra + 1; /* extra and bytes_len are within the budget */
	if (need <= c->bytes_cap)
		return MC_OK;
	size_t cap = c->bytes_cap ? c->bytes_cap : 256;
	while (cap < need)
		cap *= 2;
	if (cap - c->bytes_cap > left)
		cap = need; /* exact size near the limit */
	if (cap - c->bytes_cap > left)
		return rd_fail(x, MC_ERR_LIMIT, "the table exceeds the %zu-byte limit",
			       x->f->budget);
	char *b = realloc(c->bytes, cap);
	if (!b)
		return rd_nomem(x);
	x->used += cap - c->bytes_cap;
	c->bytes = b;
	c->bytes_cap = cap;
	return MC_OK;
}

/* Record validity of `count` new rows at c->len (levels NULL = all present). */
static mc_code col_set_valid(rd_ctx *x, const uint8_t *levels, size_t count, size_t nn)
{
	mc_column *c = x->c;
	if (!c->valid && nn == count)
		return MC_OK;
	if (!c->valid) {
		c->valid = malloc(c->cap ? c->cap : 1);
		if (!c->valid)
			return rd_nomem(x);
		memset(c->valid, 1, c->len);
	}
	if (levels)
		memcpy(c->valid + c->len, levels, count);
	else
		memset(c->valid + c->len, 1, count);
	return MC_OK;
}

/*
 * Move nn compact values at the start of `v` to their row slots; null slots become 0.  W is
 * the constant value size, so that the copies are plain moves.
 */
#define SCATTER(W, v, levels, count, nn)                                        \
	do {                                                                    \
		size_t k_ = (nn);                                               \
		for (size_t i_ = (count); i_-- > 0;) {                          \
			if ((levels)[i_])                                       \
				memmove((v) + i_ * (W), (v) + --k_ * (W), (W)); \
			else                                                    \
				memset((v) + i_ * (W), 0, (W));                 \
		}                                                               \
	} while (0)

static void scatter(uint8_t *v, size_t w, const uint8_t *levels, size_t count, size_t nn)
{
	switch (w) {
	case 1: SCATTER(1, v, levels, count, nn); break;
	case 4: SCATTER(4, v, levels, count, nn); break;
	default: SCATTER(8, v, levels, count, nn); break;
	}
}

/* ---- Value decoding ---- */

static mc_code decode_indices(rd_ctx *x, const uint8_t *p, size_t n, size_t nn)
{
	if (!x->dict.present)
		return rd_fail(x, MC_ERR_FORMAT, "dictionary-encoded page without a dictionary");
	if (nn == 0)
		return MC_OK;
	if (n < 1)
		return rd_fail(x, MC_ERR_FORMAT, "truncated dictionary indices");
	int bw = p[0];
	if (bw > 32)
		return rd_fail(x, MC_ERR_FORMAT, "bit width %d above 32", bw);
	if (!grow((void **)&x->idx, &x->idx_cap, nn, sizeof *x->idx))
		return rd_nomem(x);
	uint32_t max;
	const char *e = pq_rle_decode_max(p + 1, n - 1, bw, nn, x->idx, &max);
	if (e)
		return rd_fail(x, MC_ERR_FORMAT, "dictionary indices: %s", e);
	if (max < x->dict.n)
		return MC_OK;
	for (size_t i = 0; i < nn; i++)
		if (x->idx[i] >= x->dict.n)
			return rd_fail(x, MC_ERR_FORMAT,
				       "dictionary index %u out of range (%zu entries)", x->idx[i],
				       x->dict.n);
	return MC_OK;
}

/* Fixed-width values (BOOLEAN as bytes) into the column's typed array. */
static mc_code decode_fixed(rd_ctx *x, int enc, const uint8_t *p, size_t n, size_t nn,
			    const uint8_t *levels, size_t count)
{
	mc_column *c = x->c;
	size_t w = mc_type_width(c->type);
	uint8_t *dst = (uint8_t *)c->values + c->len * w;
	bool is_bool = x->leaf->el->type == PQ_BOOLEAN;
	mc_code rc;
	if (enc == PQ_ENC_PLAIN && is_bool) {
		if ((nn + 7) / 8 > n)
			return rd_fail(x, MC_ERR_FORMAT, "truncated: %zu booleans in %zu bytes", nn,
				       n);
		pq_unpack_bools(p, nn, dst);
	} else if (enc == PQ_ENC_PLAIN) {
		if (nn > n / w)
			return rd_fail(x, MC_ERR_FORMAT,
				       "truncated: %zu values of %zu bytes in %zu bytes", nn, w, n);
		if (nn)
			memcpy(dst, p, nn * w);
	} else if (enc == PQ_ENC_RLE && is_bool) {
		if (n < 4 || pq_le32(p) > n - 4)
			return rd_fail(x, MC_ERR_FORMAT, "truncated RLE booleans");
		const char *e = pq_rle_decode(p + 4, pq_le32(p), 1, nn, dst, 1);
		if (e)
			return rd_fail(x, MC_ERR_FORMAT, "RLE booleans: %s", e);
	} else {
		if ((rc = decode_indices(x, p, n, nn)))
			return rc;
		const uint8_t *dv = x->dict.buf;
		switch (w) {
		case 1:
			for (size_t i = 0; i < nn; i++)
				dst[i] = dv[x->idx[i]];
			break;
		case 4:
			for (size_t i = 0; i < nn; i++)
				memcpy(dst + 4 * i, dv + 4 * (size_t)x->idx[i], 4);
			break;
		default:
			for (size_t i = 0; i < nn; i++)
				memcpy(dst + 8 * i, dv + 8 * (size_t)x->idx[i], 8);
		}
	}
	if (levels && nn < count)
		scatter(dst, w, levels, count, nn);
	return MC_OK;
}

static void str_put(mc_column *c, size_t row, const uint8_t *s, size_t n)
{
	pq_copy_short(c->bytes + c->bytes_len, s, n);
	c->bytes_len += n;
	c->offsets[row + 1] = (int64_t)c->bytes_len;
}

static mc_code decode_plain_strings(rd_ctx *x, const uint8_t *p, size_t n, const uint8_t *levels,
				    size_t count)
{
	mc_column *c = x->c;
	mc_code rc = col_reserve_bytes(x, n);
	if (rc)
		return rc;
	const uint8_t *end = p + n;
	for (size_t i = 0; i < count; i++) {
		size_t row = c->len + i;
		if (levels && !levels[i]) {
			c->offsets[row + 1] = c->offsets[row];
			continue;
		}
		if (end - p < 4)
			return rd_fail(x, MC_ERR_FORMAT, "truncated string length at value %zu", i);
		uint32_t len = pq_le32(p);
		p += 4;
		if (len > (size_t)(end - p))
			return rd_fail(x, MC_ERR_FORMAT,
				       "truncated: string of %u bytes at value %zu, %zu bytes left",
				       len, i, (size_t)(end - p));
		str_put(c, row, p, len);
		p += len;
	}
	c->bytes[c->bytes_len] = '\0';
	return MC_OK;
}

static mc_code decode_dict_strings(rd_ctx *x, const uint8_t *p, size_t n, size_t nn,
				   const uint8_t *levels, size_t count)
{
	mc_column *c = x->c;
	mc_code rc = decode_indices(x, p, n, nn);
	if (rc)
		return rc;
	const uint32_t *idx = x->idx, *len = x->dict.len, *start = x->dict.start;
	uint64_t total = 0; /* nn < 2^31 lengths < 2^32: no overflow */
	for (size_t i = 0; i < nn; i++)
		total += len[idx[i]];
	if (total > x->f->budget)
		return rd_fail(x, MC_ERR_LIMIT, "the table exceeds the %zu-byte limit",
			       x->f->budget);
	if ((rc = col_reserve_bytes(x, (size_t)total)))
		return rc;
	const uint8_t *dict = x->dict.buf;
	char *dst = c->bytes;
	int64_t *off = c->offsets + c->len + 1, at = (int64_t)c->bytes_len;
	if (!levels) {
		for (size_t i = 0; i < count; i++) {
			uint32_t id = idx[i], sn = len[id];
			pq_copy_short(dst + at, dict + start[id], sn);
			at += sn;
			off[i] = at;
		}
	} else {
		size_t k = 0;
		for (size_t i = 0; i < count; i++) {
			if (levels[i]) {
				uint32_t id = idx[k++], sn = len[id];
				pq_copy_short(dst + at, dict + start[id], sn);
				at += sn;
			}
			off[i] = at;
		}
	}
	c->bytes_len = (size_t)at;
	c->bytes[c->bytes_len] = '\0';
	return MC_OK;
}

static bool encoding_known(int enc)
{
	return enc == PQ_ENC_PLAIN || enc == PQ_ENC_PLAIN_DICTIONARY ||
	       enc == PQ_ENC_RLE_DICTIONARY || enc == PQ_ENC_RLE;
}

/* Decode the values section of a data page: nn present values over `count` rows. */
static mc_code decode_values(rd_ctx *x, int enc, const uint8_t *p, size_t n, size_t nn,
			     const uint8_t *levels, size_t count)
{
	bool is_str = x->leaf->el->type == PQ_BYTE_ARRAY;
	if (!encoding_known(enc) || (enc == PQ_ENC_RLE && x->leaf->el->type != PQ_BOOLEAN))
		return rd_fail(x, MC_ERR_UNSUPPORTED, "encoding %s (%d) is not supported",
			       mc_parquet_encoding_name(enc), enc);
	mc_code rc;
	if (!is_str)
		rc = decode_fixed(x, enc, p, n, nn, levels, count);
	else if (enc == PQ_ENC_PLAIN)
		rc = decode_plain_strings(x, p, n, levels, count);
	else
		rc = decode_dict_strings(x, p, n, nn, levels, count);
	if (!rc)
		rc = col_set_valid(x, levels, count, nn);
	if (!rc)
		x->c->len += count;
	return rc;
}

/* ---- Pages ---- */

/* Decompress a page body into scratch (or point at it when stored raw). */
static mc_code page_data(rd_ctx *x, const uint8_t *src, size_t src_len, size_t raw_len,
			 bool compressed, const uint8_t **out)
{
	static const uint8_t empty[1];
	if (raw_len > x->f->budget)
		return rd_fail(x, MC_ERR_LIMIT, "page of %zu bytes exceeds the %zu-byte limit",
			       raw_len, x->f->budget);
	if (raw_len == 0 && (src_len == 0 || !compressed || x->codec == MC_PQ_UNCOMPRESSED)) {
		if (src_len != 0)
			return rd_fail(x, MC_ERR_FORMAT, "empty page stored in %zu bytes", src_len);
		*out = empty; /* nothing to decompress (a v2 page of nulls) */
		return MC_OK;
	}
	if (!compressed || x->codec == MC_PQ_UNCOMPRESSED) {
		if (src_len != raw_len)
			return rd_fail(x, MC_ERR_FORMAT,
				       "uncompressed page of %zu bytes declares %zu", src_len,
				       raw_len);
		*out = src;
		return MC_OK;
	}
	if (!grow((void **)&x->scratch, &x->scratch_cap, raw_len ? raw_len : 1, 1))
		return rd_nomem(x);
	const char *e = pq_decompress(&x->codecs, x->codec, src, src_len, x->scratch, raw_len);
	if (e)
		return rd_fail(x, MC_ERR_FORMAT, "%s", e);
	*out = x->scratch;
	return MC_OK;
}

static mc_code read_dictionary(rd_ctx *x, const pq_page_header *h, const uint8_t *body)
{
	if (!h->has_dict)
		return rd_fail(x, MC_ERR_FORMAT, "dictionary page without its header");
	if (x->dict.present)
		return rd_fail(x, MC_ERR_FORMAT, "a second dictionary page");
	if (h->encoding != PQ_ENC_PLAIN && h->encoding != PQ_ENC_PLAIN_DICTIONARY)
		return rd_fail(x, MC_ERR_UNSUPPORTED,
			       "dictionary encoding %s (%d) is not supported",
			       mc_parquet_encoding_name(h->encoding), h->encoding);
	if (h->num_values < 0)
		return rd_fail(x, MC_ERR_FORMAT, "negative dictionary size");
	const uint8_t *data;
	size_t len = (size_t)h->uncompressed_size, n = (size_t)h->num_values;
	mc_code rc = page_data(x, body, (size_t)h->compressed_size, len, true, &data);
	if (rc)
		return rc;
	rd_dict *d = &x->dict;
	int type = x->leaf->el->type;
	size_t w = mc_type_width(x->c->type);
	if (type == PQ_BOOLEAN && n > x->f->budget)
		return rd_fail(x, MC_ERR_LIMIT, "a dictionary of %zu booleans exceeds the limit",
			       n);
	if (type == PQ_BOOLEAN ? (n + 7) / 8 > len : type != PQ_BYTE_ARRAY && n > len / w)
		return rd_fail(x, MC_ERR_FORMAT, "truncated: %zu dictionary values in %zu bytes", n,
			       len);
	d->buf = malloc(type == PQ_BOOLEAN ? n + 1 : len + 1);
	if (!d->buf)
		return rd_nomem(x);
	if (type == PQ_BOOLEAN)
		pq_unpack_bools(data, n, d->buf);
	else if (len)
		memcpy(d->buf, data, len);
	d->n = n;
	d->present = true;
	if (type != PQ_BYTE_ARRAY)
		return MC_OK;
	if (n > len / 4)
		return rd_fail(x, MC_ERR_FORMAT, "truncated: %zu dictionary strings in %zu bytes",
			       n, len);
	d->start = malloc((n ? n : 1) * sizeof *d->start);
	d->len = malloc((n ? n : 1) * sizeof *d->len);
	if (!d->start || !d->len)
		return rd_nomem(x);
	size_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		if (len - pos < 4 || pq_le32(d->buf + pos) > len - pos - 4)
			return rd_fail(x, MC_ERR_FORMAT, "truncated dictionary string %zu", i);
		d->len[i] = pq_le32(d->buf + pos);
		d->start[i] = (uint32_t)(pos + 4);
		pos += 4 + d->len[i];
	}
	return MC_OK;
}

static mc_code check_count(rd_ctx *x, int32_t num_values, size_t left)
{
	if (num_values < 0 || (size_t)num_values > left)
		return rd_fail(x, MC_ERR_FORMAT,
			       "page has %d values, %zu rows are left in the group", num_values,
			       left);
	return MC_OK;
}

/* Decode `count` definition levels (bit width 1); returns the present count in *nn. */
static mc_code read_levels(rd_ctx *x, const uint8_t *p, size_t n, size_t count, size_t *nn)
{
	if (!grow((void **)&x->levels, &x->levels_cap, count, 1))
		return rd_nomem(x);
	const char *e = pq_rle_decode(p, n, 1, count, x->levels, 1);
	if (e)
		return rd_fail(x, MC_ERR_FORMAT, "definition levels: %s", e);
	/* Levels are 0 or 1: the bytes of a word add up with one multiplication. */
	const uint8_t *lv = x->levels;
	size_t k = 0, i = 0;
	for (; i + 8 <= count; i += 8) {
		uint64_t w;
		memcpy(&w, lv + i, 8);
		k += (w * 0x0101010101010101ULL) >> 56;
	}
	for (; i < count; i++)
		k += lv[i];
	*nn = k;
	return MC_OK;
}

static mc_code read_data_v1(rd_ctx *x, const pq_page_header *h, const uint8_t *body, size_t left,
			    size_t *done)
{
	if (!h->has_data)
		return rd_fail(x, MC_ERR_FORMAT, "data page without its header");
	mc_code rc = check_count(x, h->num_values, left);
	const uint8_t *p;
	size_t n = (size_t)h->uncompressed_size, count = (size_t)h->num_values, nn = count;
	if (!rc)
		rc = page_data(x, body, (size_t)h->compressed_size, n, true, &p);
	if (rc)
		return rc;
	const uint8_t *levels = NULL;
	if (x->leaf->optional) {
		if (h->def_encoding != PQ_ENC_RLE)
			return rd_fail(x, MC_ERR_UNSUPPORTED,
				       "definition level encoding %s (%d) is not supported",
				       mc_parquet_encoding_name(h->def_encoding), h->def_encoding);
		if (n < 4 || pq_le32(p) > n - 4)
			return rd_fail(x, MC_ERR_FORMAT, "truncated definition levels");
		size_t len = pq_le32(p);
		if ((rc = read_levels(x, p + 4, len, count, &nn)))
			return rc;
		levels = x->levels;
		p += 4 + len;
		n -= 4 + len;
	}
	*done = count;
	return decode_values(x, h->encoding, p, n, nn, levels, count);
}

static mc_code read_data_v2(rd_ctx *x, const pq_page_header *h, const uint8_t *body, size_t left,
			    size_t *done)
{
	if (!h->has_data_v2)
		return rd_fail(x, MC_ERR_FORMAT, "data page v2 without its header");
	mc_code rc = check_count(x, h->num_values, left);
	if (rc)
		return rc;
	size_t count = (size_t)h->num_values;
	if (h->num_nulls < 0 || h->num_nulls > h->num_values || h->num_rows != h->num_values)
		return rd_fail(x, MC_ERR_FORMAT,
			       "inconsistent counts (%d values, %d nulls, %d rows)", h->num_values,
			       h->num_nulls, h->num_rows);
	if (h->def_len < 0 || h->rep_len < 0 ||
	    (int64_t)h->def_len + h->rep_len > h->compressed_size ||
	    (int64_t)h->def_len + h->rep_len > h->uncompressed_size)
		return rd_fail(x, MC_ERR_FORMAT, "level lengths exceed the page");
	size_t lv = (size_t)h->def_len + (size_t)h->rep_len;
	const uint8_t *defs = body + h->rep_len, *p;
	size_t nn = count - (size_t)h->num_nulls;
	const uint8_t *levels = NULL;
	if (x->leaf->optional && h->def_len > 0) {
		size_t got;
		if ((rc = read_levels(x, defs, (size_t)h->def_len, count, &got)))
			return rc;
		if (got != nn)
			return rd_fail(x, MC_ERR_FORMAT, "levels show %zu values, header says %zu",
				       got, nn);
		levels = x->levels;
	} else if (nn != count) {
		return rd_fail(x, MC_ERR_FORMAT, "%d nulls without definition levels",
			       h->num_nulls);
	}
	rc = page_data(x, body + lv, (size_t)h->compressed_size - lv,
		       (size_t)h->uncompressed_size - lv, h->is_compressed, &p);
	if (rc)
		return rc;
	*done = count;
	return decode_values(x, h->encoding, p, (size_t)h->uncompressed_size - lv, nn, levels,
			     count);
}

/* Walk the pages of one column chunk until `rows` values are decoded. */
static mc_code read_chunk(rd_ctx *x, const pq_column_meta *m, size_t rows)
{
	const pq_footer *f = x->f;
	x->page = NO_PAGE;
	if (!pq_codec_supported(m->codec))
		return rd_fail(x, MC_ERR_UNSUPPORTED, "compression %s (%d) is not supported",
			       mc_parquet_codec_name(m->codec), m->codec);
	if ((uint64_t)m->num_values != rows)
		return rd_fail(x, MC_ERR_FORMAT, "chunk has %lld values for %zu rows",
			       (long long)m->num_values, rows);
	if (rows == 0)
		return MC_OK;
	int64_t start = m->data_page_offset;
	if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 &&
	    m->dictionary_page_offset < start)
		start = m->dictionary_page_offset;
	if (start < 4 || (uint64_t)start >= f->data_end)
		return rd_fail(x, MC_ERR_FORMAT, "chunk offset %lld outside the data (4..%zu)",
			       (long long)start, f->data_end);
	x->codec = m->codec;
	size_t pos = (size_t)start, done = 0;
	bool data_seen = false;
	for (x->page = 0; done < rows; x->page++) {
		if (pos >= f->data_end)
			return rd_fail(x, MC_ERR_FORMAT,
				       "truncated: the chunk ends after %zu of %zu values", done,
				       rows);
		tc_reader r;
		pq_page_header h;
		tc_reader_init(&r, f->file + pos, f->data_end - pos);
		if (!pq_decode_page_header(&r, &h))
			return rd_fail(x, MC_ERR_FORMAT, "page header: %s", r.msg);
		size_t body = (size_t)(r.p - f->file);
		if ((size_t)h.compressed_size > f->data_end - body)
			return rd_fail(x, MC_ERR_FORMAT,
				       "truncated: page of %d bytes runs past the column data",
				       h.compressed_size);
		size_t got = 0;
		mc_code rc = MC_OK;
		if (h.type == PQ_PAGE_DICTIONARY) {
			if (data_seen)
				return rd_fail(x, MC_ERR_FORMAT,
					       "dictionary page after data pages");
			rc = read_dictionary(x, &h, f->file + body);
		} else if (h.type == PQ_PAGE_DATA) {
			data_seen = true;
			rc = read_data_v1(x, &h, f->file + body, rows - done, &got);
		} else if (h.type == PQ_PAGE_DATA_V2) {
			data_seen = true;
			rc = read_data_v2(x, &h, f->file + body, rows - done, &got);
		} /* index pages and unknown page types are skipped */
		if (rc)
			return rc;
		done += got;
		pos = body + (size_t)h.compressed_size;
	}
	return MC_OK;
}

/* ---- Table ---- */

/* Create the columns and reserve all rows, within the allocation budget. */
static mc_code make_table(const pq_footer *f, mc_table *t, size_t *fixed, mc_error *err)
{
	size_t row_bytes = 0, rows = (size_t)f->meta.num_rows;
	for (size_t i = 0; i < f->nleaves; i++) {
		const pq_leaf *l = &f->leaves[i];
		if (!l->supported)
			return mc_fail(err, MC_ERR_UNSUPPORTED, "cannot read '%s': column '%s': %s",
				       f->name, l->name, l->why);
		size_t w = mc_type_width(l->type);
		row_bytes += (w ? w : sizeof(int64_t)) + (l->optional ? 1 : 0);
	}
	if (row_bytes && rows > f->budget / row_bytes)
		return mc_fail(err, MC_ERR_LIMIT,
			       "cannot read '%s': %zu rows of %zu bytes exceed the %zu-byte limit",
			       f->name, rows, row_bytes, f->budget);
	*fixed = rows * row_bytes;
	for (size_t i = 0; i < f->nleaves; i++) {
		const pq_leaf *l = &f->leaves[i];
		int k = mc_table_add_column(t, l->name, l->type, l->optional);
		if (k < 0)
			return mc_fail(err, MC_ERR_NOMEM, "cannot read '%s': out of memory",
				       f->name);
		mc_column *c = &t->cols[k];
		c->unit = l->unit;
		if (mc_column_reserve(c, rows))
			return mc_fail(err, MC_ERR_NOMEM, "cannot read '%s': out of memory",
				       f->name);
		if (l->type == MC_T_STRING && !c->bytes) {
			c->bytes = calloc(1, 1);
			c->bytes_cap = c->bytes ? 1 : 0;
			if (!c->bytes)
				return mc_fail(err, MC_ERR_NOMEM, "cannot read '%s': out of memory",
					       f->name);
		}
	}
	return MC_OK;
}

static mc_code read_all(const pq_footer *f, mc_table *t, size_t fixed, mc_error *err)
{
	rd_ctx x = {.f = f, .err = err, .used = fixed};
	mc_code rc = MC_OK;
	for (size_t g = 0; g < f->meta.nrgs && !rc; g++) {
		const pq_row_group *rg = &f->meta.rgs[g];
		for (size_t c = 0; c < f->nleaves && !rc; c++) {
			x.rg = g;
			x.col = c;
			x.leaf = &f->leaves[c];
			x.c = &t->cols[c];
			rc = read_chunk(&x, &rg->cols[c].meta, (size_t)rg->num_rows);
			dict_clear(&x.dict);
		}
	}
	free(x.scratch);
	free(x.levels);
	free(x.idx);
	pq_codecs_free(&x.codecs);
	return rc;
}

mc_code mc_parquet_read_mem(const uint8_t *p, size_t n, const char *name, mc_table **out,
			    mc_error *err)
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
	f.file = p;
	mc_table *t = NULL;
	size_t fixed = 0;
	if (!rc) {
		t = mc_table_new();
		rc = t ? make_table(&f, t, &fixed, err)
		       : mc_fail(err, MC_ERR_NOMEM, "cannot read '%s': out of memory", name);
	}
	if (!rc)
		rc = read_all(&f, t, fixed, err);
	if (!rc)
		rc = mc_table_seal(t, err);
	pq_footer_free(&f);
	if (rc) {
		mc_table_free(t);
		return rc;
	}
	*out = t;
	return MC_OK;
}

mc_code mc_parquet_read_file(const char *path, mc_table **out, mc_error *err)
{
	mc_buf b;
	mc_buf_init(&b, MC_PQ_MAX_ALLOC);
	*out = NULL;
	mc_code rc = mc_buf_read_file(&b, path, err);
	if (!rc)
		rc = mc_parquet_read_mem(b.data, b.len, path, out, err);
	mc_buf_release(&b);
	return rc;
}
