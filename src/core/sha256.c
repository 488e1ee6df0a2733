/* SHA-256 written from FIPS 180-4: 64-byte blocks, 64 rounds, big-endian words. */
#include "milkcast/sha256.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define MC_SHA_NI 1
#endif

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2};

static inline uint32_t rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void compress(uint32_t h[8], const uint8_t b[64])
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
		       (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
			      K[i] + w[i];
		uint32_t t2 =
			(rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = bb;
		bb = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += bb;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

#ifdef MC_SHA_NI
/*
 * The same compression with the x86 SHA extensions. The state lives in two
 * registers as the instructions expect it, (A,B,E,F) and (C,D,G,H); each
 * SHA256RNDS2 does two rounds and leaves the new (A,B,E,F), the old one
 * being the new (C,D,G,H). The message schedule is four words at a time:
 * W[t..t+3] = msg2(msg1(W[t-16..], W[t-12..]) + W[t-7..t-4], W[t-4..t-1]).
 */
__attribute__((target("sha,sse4.1"))) static void compress_ni(uint32_t h[8], const uint8_t *b,
							      size_t blocks)
{
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
	__m128i abef = _mm_set_epi32((int)h[0], (int)h[1], (int)h[4], (int)h[5]);
	__m128i cdgh = _mm_set_epi32((int)h[2], (int)h[3], (int)h[6], (int)h[7]);
	for (; blocks; blocks--, b += 64) {
		__m128i abef0 = abef, cdgh0 = cdgh, w[4];
		for (int g = 0; g < 16; g++) {
			__m128i *m = &w[g & 3];
			if (g < 4) {
				*m = _mm_shuffle_epi8(
					_mm_loadu_si128((const __m128i *)(b + 16 * g)), bswap);
			} else {
				__m128i prev = w[(g + 3) & 3],
					t7 = _mm_alignr_epi8(prev, w[(g + 2) & 3], 4);
				*m = _mm_sha256msg2_epu32(
					_mm_add_epi32(_mm_sha256msg1_epu32(*m, w[(g + 1) & 3]), t7),
					prev);
			}
			__m128i wk =
				_mm_add_epi32(*m, _mm_loadu_si128((const __m128i *)(K + 4 * g)));
			/* cdgh takes the new (A,B,E,F); abef, unchanged, is the new (C,D,G,H) */
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
			wk = _mm_shuffle_epi32(wk, 0x0e);
			/* and back: four rounds leave each register in its role */
			abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	uint32_t x[4], y[4];
	_mm_storeu_si128((__m128i *)x, abef);
	_mm_storeu_si128((__m128i *)y, cdgh);
	h[0] = x[3], h[1] = x[2], h[4] = x[1], h[5] = x[0];
	h[2] = y[3], h[3] = y[2], h[6] = y[1], h[7] = y[0];
}

static bool cpu_has_sha(void)
{
	unsigned a, bx, c, d;
	if (!__get_cpuid(1, &a, &bx, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return false;
	return __get_cpuid_count(7, 0, &a, &bx, &c, &d) && (bx & bit_SHA);
}
#endif

/* -1 unknown, 0 portable, 1 SHA extensions; atomic as threads hash in parallel. */
static _Atomic int use_ni = -1;

bool mc_sha256_accelerated(void)
{
#ifdef MC_SHA_NI
	if (use_ni < 0)
		use_ni = cpu_has_sha();
#else
	use_ni = 0;
#endif
	return use_ni == 1;
}

void mc_sha256_set_accelerated(bool on)
{
	use_ni = 0;
	if (on) {
		use_ni = -1;
		(void)mc_sha256_accelerated();
	}
}

static void compress_blocks(uint32_t h[8], const uint8_t *b, size_t blocks)
{
#ifdef MC_SHA_NI
	if (mc_sha256_accelerated()) {
		compress_ni(h, b, blocks);
		return;
	}
#endif
	for (; blocks; blocks--, b += 64)
		compress(h, b);
}

void mc_sha256_init(mc_sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof iv);
	s->total = 0;
	s->used = 0;
}

void mc_sha256_update(mc_sha256 *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	s->total += n;
	if (s->used == 0 && n >= 64) { /* whole blocks straight from the input */
		compress_blocks(s->h, b, n / 64);
		b += n / 64 * 64;
		n %= 64;
	}
	while (n) {
		size_t take = 64 - s->used < n ? 64 - s->used : n;
		memcpy(s->block + s->used, b, take);
		s->used += take;
		b += take;
		n -= take;
		if (s->used == 64) {
			compress_blocks(s->h, s->block, 1);
			s->used = 0;
			if (n >= 64) {
				compress_blocks(s->h, b, n / 64);
				b += n / 64 * 64;
				n %= 64;
			}
		}
	}
}

void mc_sha256_final(mc_sha256 *s, uint8_t out[32])
{
	uint64_t bits = s->total * 8;
	uint8_t pad = 0x80;
	mc_sha256_update(s, &pad, 1);
	uint8_t zero = 0;
	while (s->used != 56)
		mc_sha256_update(s, &zero, 1);
	uint8_t len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	mc_sha256_update(s, len, 8);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
}

void mc_sha256_hex(const void *p, size_t n, char out[65])
{
	mc_sha256 s;
	uint8_t d[32];
	mc_sha256_init(&s);
	mc_sha256_update(&s, p, n);
	mc_sha256_final(&s, d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}
