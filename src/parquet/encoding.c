/* Parquet value encodings: the RLE/bit-packed hybrid (levels, dictionary indices, booleans) and
 * PLAIN booleans. */
#include "parquet/parquet_int.h"

#include <string.h>

int pq_bit_width(uint32_t max_value)
{
	int bw = 0;
	while (max_value) {
		bw++;
		max_value >>= 1;
	}
	return bw;
}

/* ---- Decoder ---- */

typedef struct rle_out {
	void *p;
	int width; /* 1 or 4 */
	size_t i;
} rle_out;

static void out_put(rle_out *o, uint32_t v)
{
	if (o->width == 1)
		((uint8_t *)o->p)[o->i++] = (uint8_t)v;
	else
		((uint32_t *)o->p)[o->i++] = v;
}

static void out_fill(rle_out *o, uint32_t v, size_t n)
{
	if (o->width == 1) {
		memset((uint8_t *)o->p + o->i, (int)(uint8_t)v, n);
	} else {
		uint32_t *d = (uint32_t *)o->p + o->i;
		for (size_t k = 0; k < n; k++)
			d[k] = v;
	}
	o->i += n;
}

/* Read a ULEB128 varint of at most 5 bytes (run headers fit in 32 bits). */
static const char *read_header(const uint8_t **p, const uint8_t *end, uint32_t *h)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 35; shift += 7) {
		if (*p >= end)
			return "truncated run header";
		uint8_t b = *(*p)++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (x > UINT32_MAX)
				return "run header out of range";
			*h = (uint32_t)x;
			return NULL;
		}
	}
	return "run header too long";
}

/* Unpack `take` values of `bw` bits (LSB first) from p, which holds `avail` bytes. */
static void unpack_bits(const uint8_t *p, int bw, size_t take, rle_out *o)
{
	uint64_t acc = 0;
	int have = 0;
	uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
	for (size_t k = 0; k < take; k++) {
		while (have < bw) {
			acc |= (uint64_t)*p++ << have;
			have += 8;
		}
		out_put(o, (uint32_t)acc & mask);
		acc >>= bw;
		have -= bw;
	}
}

const char *pq_rle_decode(const uint8_t *p, size_t n, int bw, size_t count, void *out,
			  int out_width)
{
	if (bw < 0 || bw > 32)
		return "bit width above 32";
	if (out_width == 1 && bw > 8)
		return "bit width above 8 for levels";
	const uint8_t *end = p + n;
	rle_out o = {out, out_width, 0};
	size_t vbytes = (size_t)(bw + 7) / 8;
	while (o.i < count) {
		uint32_t h;
		const char *e = read_header(&p, end, &h);
		if (e)
			return e;
		size_t want = count - o.i;
		if (h & 1) { /* bit-packed: (h >> 1) groups of 8 values */
			size_t nvals = (size_t)(h >> 1) * 8;
			size_t take = nvals < want ? nvals : want;
			size_t need = (take * (size_t)bw + 7) / 8;
			if (need > (size_t)(end - p))
				return "truncated bit-packed run";
			unpack_bits(p, bw, take, &o);
			size_t full = (nvals * (size_t)bw) / 8;
			/* Skip the whole run; a final run may be cut short after what we need. */
			p += full <= (size_t)(end - p) ? full : (size_t)(end - p);
		} else { /* RLE: h >> 1 repeats of one value */
			if (vbytes > (size_t)(end - p))
				return "truncated RLE run";
			uint32_t v = 0;
			for (size_t k = 0; k < vbytes; k++)
				v |= (uint32_t)p[k] << (8 * k);
			p += vbytes;
			if (bw < 32 && v >> bw)
				return "RLE value wider than the bit width";
			size_t run = h >> 1;
			out_fill(&o, v, run < want ? run : want);
		}
	}
	return NULL;
}

/* ---- Encoder ---- */

static mc_code put_varint(mc_buf *out, uint32_t v)
{
	uint8_t tmp[5];
	size_t n = 0;
	do {
		uint8_t b = v & 0x7f;
		v >>= 7;
		tmp[n++] = (uint8_t)(b | (v ? 0x80 : 0));
	} while (v);
	return mc_buf_append(out, tmp, n);
}

/* Bit-pack vals[0..n) (n a multiple of 8 after zero padding) as one literal run. */
static mc_code put_literal(const uint32_t *vals, size_t n, int bw, mc_buf *out)
{
	size_t groups = (n + 7) / 8;
	mc_code rc = put_varint(out, (uint32_t)(groups << 1 | 1));
	if (rc)
		return rc;
	size_t nbytes = groups * (size_t)bw;
	if ((rc = mc_buf_reserve(out, nbytes)))
		return rc;
	uint8_t *d = out->data + out->len;
	memset(d, 0, nbytes);
	uint64_t acc = 0;
	int have = 0;
	size_t j = 0;
	for (size_t k = 0; k < groups * 8; k++) {
		uint64_t v = k < n ? vals[k] : 0;
		acc |= v << have;
		have += bw;
		while (have >= 8) {
			d[j++] = (uint8_t)acc;
			acc >>= 8;
			have -= 8;
		}
	}
	out->len += nbytes;
	out->data[out->len] = '\0';
	return MC_OK;
}

static mc_code put_repeat(uint32_t v, size_t run, int bw, mc_buf *out)
{
	mc_code rc = put_varint(out, (uint32_t)(run << 1));
	for (int k = 0; !rc && k < (bw + 7) / 8; k++)
		rc = mc_buf_putc(out, (uint8_t)(v >> (8 * k)));
	return rc;
}

/* Longest literal run we emit in one header (groups of 8). */
#define LIT_MAX (64 * 8)
/* Repeats of at least this length become RLE runs. */
#define RUN_MIN 8
/* Cap a run so its header stays within 32 bits. */
#define RUN_MAX ((size_t)1 << 30)

mc_code pq_rle_encode(const uint32_t *vals, size_t n, int bw, mc_buf *out)
{
	size_t i = 0, lit = 0; /* literals are vals[i - lit .. i) */
	mc_code rc = MC_OK;
	while (i < n && !rc) {
		size_t run = 1;
		while (i + run < n && vals[i + run] == vals[i] && run < RUN_MAX)
			run++;
		if (run >= RUN_MIN) {
			/* Complete the pending literal group with values of this run. */
			size_t pad = lit % 8 ? 8 - lit % 8 : 0;
			if (pad && run - pad >= RUN_MIN) {
				lit += pad;
				i += pad;
				run -= pad;
			}
			if (lit % 8 == 0) {
				if (lit)
					rc = put_literal(vals + i - lit, lit, bw, out);
				lit = 0;
				if (!rc)
					rc = put_repeat(vals[i], run, bw, out);
				i += run;
				continue;
			}
		}
		lit += run;
		i += run;
		while (lit >= LIT_MAX && !rc) {
			rc = put_literal(vals + i - lit, LIT_MAX, bw, out);
			lit -= LIT_MAX;
		}
	}
	if (!rc && lit)
		rc = put_literal(vals + i - lit, lit, bw, out);
	return rc;
}

mc_code pq_rle_encode_u8(const uint8_t *vals, size_t n, int bw, mc_buf *out)
{
	/* Levels are short runs over 0/1: widen in blocks to reuse the encoder per run. */
	size_t i = 0;
	mc_code rc = MC_OK;
	uint32_t tmp[LIT_MAX];
	size_t lit = 0;
	while (i < n && !rc) {
		size_t run = 1;
		while (i + run < n && vals[i + run] == vals[i] && run < RUN_MAX)
			run++;
		if (run >= RUN_MIN && lit % 8 == 0) {
			if (lit)
				rc = put_literal(tmp, lit, bw, out);
			lit = 0;
			if (!rc)
				rc = put_repeat(vals[i], run, bw, out);
			i += run;
			continue;
		}
		/* Take values one by one into the literal block until it is full. */
		size_t take = run;
		if (run >= RUN_MIN) /* only enough to reach a group boundary */
			take = 8 - lit % 8;
		for (size_t k = 0; k < take; k++) {
			tmp[lit++] = vals[i++];
			if (lit == LIT_MAX) {
				rc = put_literal(tmp, lit, bw, out);
				lit = 0;
				if (rc)
					break;
			}
		}
	}
	if (!rc && lit)
		rc = put_literal(tmp, lit, bw, out);
	return rc;
}

/* ---- PLAIN booleans ---- */

void pq_unpack_bools(const uint8_t *p, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (p[i >> 3] >> (i & 7)) & 1;
}

mc_code pq_pack_bools(const uint8_t *vals, size_t n, mc_buf *out)
{
	size_t nbytes = (n + 7) / 8;
	mc_code rc = mc_buf_reserve(out, nbytes);
	if (rc)
		return rc;
	uint8_t *d = out->data + out->len;
	memset(d, 0, nbytes);
	for (size_t i = 0; i < n; i++)
		if (vals[i])
			d[i >> 3] |= (uint8_t)(1u << (i & 7));
	out->len += nbytes;
	out->data[out->len] = '\0';
	return MC_OK;
}
