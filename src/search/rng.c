/*
 * The search's pseudo-random numbers: xoshiro256** (Blackman and Vigna) with
 * its state filled by splitmix64, so any 64-bit seed gives a good stream.
 * Streams differ from NumPy's PCG64, so draws never match hyperopt's one
 * for one; only the distributions do.
 */
#include <math.h>

#include "search/search_int.h"

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void mc_rng_seed(mc_rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t mc_rng_next(mc_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double mc_rng_uniform(mc_rng *r)
{
	return (double)(mc_rng_next(r) >> 11) * 0x1.0p-53;
}

double mc_rng_normal(mc_rng *r)
{
	/* 1 - U is in (0, 1], so the log is finite. */
	double u1 = 1.0 - mc_rng_uniform(r);
	double u2 = mc_rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

uint64_t mc_rng_below(mc_rng *r, uint64_t n)
{
	/* Reject the top partial block so every residue is equally likely. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n;
	uint64_t v;
	do
		v = mc_rng_next(r);
	while (v >= limit);
	return v % n;
}

size_t mc_rng_categorical(mc_rng *r, const double *p, size_t n)
{
	double total = 0;
	for (size_t k = 0; k < n; k++)
		total += p[k];
	double u = mc_rng_uniform(r) * total, acc = 0;
	for (size_t k = 0; k < n; k++) {
		acc += p[k];
		if (u < acc)
			return k;
	}
	/* Rounding left u at the very top: the last option with weight. */
	for (size_t k = n; k-- > 0;)
		if (p[k] > 0)
			return k;
	return n - 1;
}
