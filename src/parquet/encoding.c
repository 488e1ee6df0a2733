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

/* Read a ULEB128 varint of at most 5 bytes (run headers fit in 32 bits). */
static const char *read_header(const uint8_t **p, const uint8_t *end, uint32_t *h)
{
	if (*p < end && !(**p & 0x80)) { /* one byte: the usual case */
		*h = *(*p)++;
		return NULL;
	}
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

/*
 * Unpack `take` values of `bw` bits (LSB first) from p into out (of C type T), where [p, end)
 * holds at least the bytes they need: groups of 8 narrow values from one word each, else four
 * bytes at a time while the buffer has them (bits read ahead are never used), then byte by
 * byte.  *max is raised to the largest value.
 */
/* NOLINTBEGIN(bugprone-macro-parentheses): T is a type, it cannot take parentheses */
#define DEFINE_UNPACK(name, T)                                                              \
	static void name(const uint8_t *p, const uint8_t *end, int bw, size_t take, T *out, \
			 uint32_t *max)                                                     \
	{                                                                                   \
		uint64_t acc = 0, mask = ((uint64_t)1 << bw) - 1, top = *max;               \
		int have = 0;                                                               \
		size_t k = 0;                                                               \
		if (bw > 0 && bw <= 8) /* whole groups of 8 from one word each */           \
			for (; k + 8 <= take && end - p >= 8; k += 8, p += bw) {            \
				uint64_t w;                                                 \
				memcpy(&w, p, 8);                                           \
				for (int j = 0; j < 8; j++) {                               \
					uint64_t v = (w >> (j * bw)) & mask;                \
					out[k + (size_t)j] = (T)v;                          \
					top = v > top ? v : top;                            \
				}                                                           \
			}                                                                   \
		for (; k < take; k++) {                                                     \
			if (have < bw) {                                                    \
				if (end - p >= 4) {                                         \
					acc |= (uint64_t)pq_le32(p) << have;                \
					p += 4;                                             \
					have += 32;                                         \
				} else {                                                    \
					for (; have < bw; have += 8)                        \
						acc |= (uint64_t)*p++ << have;              \
				}                                                           \
			}                                                                   \
			uint64_t v = acc & mask;                                            \
			out[k] = (T)v;                                                      \
			top = v > top ? v : top;                                            \
			acc >>= bw;                                                         \
			have -= bw;                                                         \
		}                                                                           \
		*max = (uint32_t)top;                                                       \
	}

/* NOLINTEND(bugprone-macro-parentheses) */
DEFINE_UNPACK(unpack_u8, uint8_t)
DEFINE_UNPACK(unpack_u32, uint32_t)

static void fill_u8(uint8_t *d, uint32_t v, size_t n)
{
	memset(d, (int)v, n);
}

static void fill_u32(uint32_t *d, uint32_t v, size_t n)
{
	for (size_t k = 0; k < n; k++)
		d[k] = v;
}

/* The hybrid decoder into C type T (see pq_rle_decode); *max gets the largest value. */
/* NOLINTBEGIN(bugprone-macro-parentheses): T is a type, it cannot take parentheses */
#define DEFINE_RLE_DECODE(name, T, unpack, fill)                                           \
	static const char *name(const uint8_t *p, size_t n, int bw, size_t count, T *out,  \
				uint32_t *max)                                             \
	{                                                                                  \
		const uint8_t *end = p + n;                                                \
		size_t vbytes = (size_t)(bw + 7) / 8, i = 0;                               \
		*max = 0;                                                                  \
		while (i < count) {                                                        \
			uint32_t h;                                                        \
			const char *e = read_header(&p, end, &h);                          \
			if (e)                                                             \
				return e;                                                  \
			size_t want = count - i;                                           \
			if (h & 1) { /* bit-packed: (h >> 1) groups of 8 values */         \
				size_t nvals = (size_t)(h >> 1) * 8;                       \
				size_t take = nvals < want ? nvals : want;                 \
				size_t need = (take * (size_t)bw + 7) / 8;                 \
				if (need > (size_t)(end - p))                              \
					return "truncated bit-packed run";                 \
				unpack(p, end, bw, take, out + i, max);                    \
				i += take;                                                 \
				size_t full = (nvals * (size_t)bw) / 8;                    \
				/* Skip the whole run; a final run may be cut short. */    \
				p += full <= (size_t)(end - p) ? full : (size_t)(end - p); \
			} else { /* RLE: h >> 1 repeats of one value */                    \
				if (vbytes > (size_t)(end - p))                            \
					return "truncated RLE run";                        \
				uint32_t v = 0;                                            \
				for (size_t k = 0; k < vbytes; k++)                        \
					v |= (uint32_t)p[k] << (8 * k);                    \
				p += vbytes;                                               \
				if (bw < 32 && v >> bw)                                    \
					return "RLE value wider than the bit width";       \
				size_t run = h >> 1;                                       \
				run = run < want ? run : want;                             \
				fill(out + i, v, run);                                     \
				if (run && v > *max)                                       \
					*max = v;                                          \
				i += run;                                                  \
			}                                                                  \
		}                                                                          \
		return NULL;                                                               \
	}

/* NOLINTEND(bugprone-macro-parentheses) */
DEFINE_RLE_DECODE(decode_u8, uint8_t, unpack_u8, fill_u8)
DEFINE_RLE_DECODE(decode_u32, uint32_t, unpack_u32, fill_u32)

const char *pq_rle_decode(const uint8_t *p, size_t n, int bw, size_t count, void *out,
			  int out_width)
{
	uint32_t max;
	if (bw < 0 || bw > 32)
		return "bit width above 32";
	if (out_width == 1 && bw > 8)
		return "bit width above 8 for levels";
	return out_width == 1 ? decode_u8(p, n, bw, count, out, &max)
			      : decode_u32(p, n, bw, count, out, &max);
}

const char *pq_rle_decode_max(const uint8_t *p, size_t n, int bw, size_t count, uint32_t *out,
			      uint32_t *max)
{
	*max = 0;
	if (bw < 0 || bw > 32)
		return "bit width above 32";
	return decode_u32(p, n, bw, count, out, max);
}

/* ---- Encoder ---- */

/* Append a run header (ULEB128). */
static mc_code put_varint(mc_buf *out, uint32_t v)
{
	mc_code rc = mc_buf_reserve(out, 5);
	if (rc)
		return rc;
	uint8_t *d = out->data + out->len;
	size_t n = 0;
	while (v >= 0x80) {
		d[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	d[n++] = (uint8_t)v;
	out->len += n;
	out->data[out->len] = '\0';
	return MC_OK;
}

/* Bit-pack 8 values of bw <= 8 bits at d: bw bytes, then up to 8 - bw bytes of garbage. */
static inline void pack8_small(const uint32_t *v, int bw, uint8_t *d)
{
	uint64_t acc = (uint64_t)v[0] | (uint64_t)v[1] << bw | (uint64_t)v[2] << 2 * bw |
		       (uint64_t)v[3] << 3 * bw | (uint64_t)v[4] << 4 * bw |
		       (uint64_t)v[5] << 5 * bw | (uint64_t)v[6] << 6 * bw |
		       (uint64_t)v[7] << 7 * bw;
	memcpy(d, &acc, 8); /* little-endian: the low bw bytes are the packed group */
}

/* Bit-pack vals[0..n) as one literal run of whole groups of 8 (the last padded with zeros). */
static mc_code put_literal(const uint32_t *vals, size_t n, int bw, mc_buf *out)
{
	size_t groups = (n + 7) / 8;
	mc_code rc = put_varint(out, (uint32_t)(groups << 1 | 1));
	if (rc)
		return rc;
	size_t nbytes = groups * (size_t)bw;
	if ((rc = mc_buf_reserve(out, nbytes + 8))) /* slack for whole-word stores */
		return rc;
	uint8_t *d = out->data + out->len;
	uint32_t last[8] = {0};
	size_t full = n / 8;
	if (n % 8)
		memcpy(last, vals + 8 * full, (n % 8) * sizeof *last);
	if (bw <= 8) {
		for (size_t g = 0; g < full; g++)
			pack8_small(vals + 8 * g, bw, d + g * (size_t)bw);
		if (n % 8)
			pack8_small(last, bw, d + full * (size_t)bw);
	} else {
		uint64_t acc = 0;
		int have = 0;
		size_t j = 0;
		for (size_t k = 0; k < groups * 8; k++) {
			uint64_t v = k < 8 * full ? vals[k] : last[k - 8 * full];
			acc |= v << have;
			have += bw;
			if (have >= 32) {
				uint32_t word = (uint32_t)acc;
				memcpy(d + j, &word, 4);
				j += 4;
				acc >>= 32;
				have -= 32;
			}
		}
		for (; have > 0; have -= 8, acc >>= 8)
			d[j++] = (uint8_t)acc;
	}
	out->len += nbytes;
	out->data[out->len] = '\0';
	return MC_OK;
}

static mc_code put_repeat(uint32_t v, size_t run, int bw, mc_buf *out)
{
	mc_code rc = put_varint(out, (uint32_t)(run << 1));
	if (!rc)
		rc = mc_buf_reserve(out, 4);
	if (rc)
		return rc;
	int nb = (bw + 7) / 8;
	for (int k = 0; k < nb; k++)
		out->data[out->len + (size_t)k] = (uint8_t)(v >> (8 * k));
	out->len += (size_t)nb;
	out->data[out->len] = '\0';
	return MC_OK;
}

/* Longest literal run we emit in one header (groups of 8). */
#define LIT_MAX (64 * 8)
/* Repeats of at least this length become RLE runs. */
#define RUN_MIN 8
/* Cap a run so its header stays within 32 bits. */
#define RUN_MAX ((size_t)1 << 30)

/*
 * Length of the run of vals[i] starting at i (at most RUN_MAX): four values a step, then,
 * past 32, blocks of 64 compared with memcmp against the block one value earlier.
 */
static size_t run_length(const uint32_t *vals, size_t i, size_t n)
{
	uint32_t v = vals[i];
	size_t end = n - i < RUN_MAX ? n : i + RUN_MAX, j = i + 1;
	while (j + 4 <= end &&
	       ((vals[j] ^ v) | (vals[j + 1] ^ v) | (vals[j + 2] ^ v) | (vals[j + 3] ^ v)) == 0) {
		j += 4;
		if (j - i > 32)
			while (j + 64 <= end &&
			       memcmp(vals + j, vals + j - 1, 64 * sizeof *vals) == 0)
				j += 64;
	}
	while (j < end && vals[j] == v)
		j++;
	return j - i;
}

/*
 * next = the smallest p >= i with vals[p..p+RUN_MIN) all equal, or n.  Such a window holds
 * two of the points i, i+4, i+8, ... four apart, so only points whose value equals the one
 * four further on are examined, and around them the window's possible starts.
 */
#define NEXT_LONG_RUN(vals, i, n)                                                           \
	do {                                                                                \
		next = (n);                                                                 \
		for (size_t q_ = (i); q_ + 4 < (n); q_ += 4) {                              \
			if ((vals)[q_] != (vals)[q_ + 4] || (vals)[q_] != (vals)[q_ + 1] || \
			    (vals)[q_] != (vals)[q_ + 2] || (vals)[q_] != (vals)[q_ + 3])   \
				continue;                                                   \
			size_t p_ = q_, lo_ = q_ - (i) < 3 ? (i) : q_ - 3, e_ = q_ + 5;     \
			while (p_ > lo_ && (vals)[p_ - 1] == (vals)[q_])                    \
				p_--;                                                       \
			while (e_ < p_ + RUN_MIN && e_ < (n) && (vals)[e_] == (vals)[q_])   \
				e_++;                                                       \
			if (e_ >= p_ + RUN_MIN) {                                           \
				next = p_;                                                  \
				break;                                                      \
			}                                                                   \
		}                                                                           \
	} while (0)

mc_code pq_rle_encode(const uint32_t *vals, size_t n, int bw, mc_buf *out)
{
	size_t i = 0, lit = 0; /* literals are vals[i - lit .. i) */
	mc_code rc = MC_OK;
	while (i < n && !rc) {
		/* Runs shorter than RUN_MIN up to the next long run join the literals. */
		size_t next;
		NEXT_LONG_RUN(vals, i, n);
		lit += next - i;
		i = next;
		while (lit >= LIT_MAX && !rc) {
			rc = put_literal(vals + i - lit, LIT_MAX, bw, out);
			lit -= LIT_MAX;
		}
		if (i == n || rc)
			break;
		size_t run = run_length(vals, i, n);
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
		lit += run; /* too short to pad: the run becomes literals too */
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

mc_code pq_rle_encode_zeros(size_t n, int bw, mc_buf *out)
{
	static const uint32_t zeros[RUN_MIN];
	mc_code rc = MC_OK;
	while (n >= RUN_MIN && !rc) {
		size_t run = n < RUN_MAX ? n : RUN_MAX;
		rc = put_repeat(0, run, bw, out);
		n -= run;
	}
	if (!rc && n)
		rc = put_literal(zeros, n, bw, out);
	return rc;
}

/* Length of the run of vals[i] starting at i (at most RUN_MAX), eight values a step. */
static size_t run_length_u8(const uint8_t *vals, size_t i, size_t n)
{
	uint64_t pat = vals[i] * 0x0101010101010101ULL;
	size_t end = n - i < RUN_MAX ? n : i + RUN_MAX, j = i + 1;
	for (;;) {
		uint64_t w;
		if (j + 8 > end)
			break;
		memcpy(&w, vals + j, 8);
		if (w != pat)
			break;
		j += 8;
	}
	while (j < end && vals[j] == vals[i])
		j++;
	return j - i;
}

mc_code pq_rle_encode_u8(const uint8_t *vals, size_t n, int bw, mc_buf *out)
{
	/* Literals are widened into tmp, a block of at most LIT_MAX values. */
	size_t i = 0, lit = 0;
	mc_code rc = MC_OK;
	uint32_t tmp[LIT_MAX];
	while (i < n && !rc) {
		size_t next, take;
		NEXT_LONG_RUN(vals, i, n);
		if (next == i) {
			size_t run = run_length_u8(vals, i, n);
			if (lit % 8 == 0) {
				if (lit)
					rc = put_literal(tmp, lit, bw, out);
				lit = 0;
				if (!rc)
					rc = put_repeat(vals[i], run, bw, out);
				i += run;
				continue;
			}
			take = 8 - lit % 8; /* only enough of the run to reach a group boundary */
		} else {
			take = next - i; /* short runs: all literals */
		}
		while (take > 0 && !rc) {
			size_t step = take < LIT_MAX - lit ? take : LIT_MAX - lit;
			for (size_t k = 0; k < step; k++)
				tmp[lit + k] = vals[i + k];
			lit += step;
			i += step;
			take -= step;
			if (lit == LIT_MAX) {
				rc = put_literal(tmp, lit, bw, out);
				lit = 0;
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
