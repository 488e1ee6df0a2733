/*
 * Clean, sorted copies of numeric samples for the drift tests.  Each double
 * is mapped to a 64-bit key with the same order (sign bit flipped for
 * positives, every bit for negatives).  A most-significant-digit radix sort:
 * one pass scatters the keys into up to 4096 buckets by the 12 bits below
 * the prefix all keys share (the only pass over memory the caches do not
 * hold); each bucket, a few thousand keys, is then sorted in cache by a
 * second scatter on its next bits and an insertion pass over the nearly
 * sorted result (a sub-bucket too big for that is sorted the same way, in
 * turn), and written back as doubles.  Heavy ties cost nothing: a bucket of
 * equal keys is left as is.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "drift/drift_int.h"

#define TOP_BITS 12	  /* at most 4096 buckets in the pass over memory */
#define TOP_BUCKET_LOG2 8 /* aiming at 256 keys a bucket */
#define MAX_BUCKETS (1u << TOP_BITS)
#define INSERTION_MAX 32  /* sort this few keys by insertion at once */
#define SUB_BUCKET_MAX 64 /* a larger sub-bucket is sorted on its own */
#define MAX_DEPTH 8
/* Blocks this big get transparent huge pages: on the VMs we run on,
 * faulting in 4 KiB pages costs more than sorting them. */
#define HUGE_BLOCK (512u << 10)
#define HUGE_PAGE (2u << 20)

static uint64_t double_key(double x)
{
	uint64_t u;
	memcpy(&u, &x, sizeof u);
	return u ^ ((uint64_t) - (int64_t)(u >> 63) | UINT64_C(0x8000000000000000));
}

static double key_double(uint64_t k)
{
	uint64_t u = k ^ (((k >> 63) - 1) | UINT64_C(0x8000000000000000));
	double x;
	memcpy(&x, &u, sizeof x);
	return x;
}

static void insertion_sort(uint64_t *k, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint64_t v = k[i];
		size_t j = i;
		for (; j > 0 && k[j - 1] > v; j--)
			k[j] = k[j - 1];
		k[j] = v;
	}
}

/* Digits for n keys: about one key per bucket, at most TOP_BITS. */
static int digit_bits(size_t n)
{
	int b = 1;
	while (b < TOP_BITS && ((size_t)1 << (b + 1)) <= n)
		b++;
	return b;
}

/* Digits for the pass over memory: buckets of a few hundred keys, at most
 * 4096 of them. */
static int top_bits(size_t n)
{
	return digit_bits(n >> TOP_BUCKET_LOG2);
}

/* The bucket of each key: (key >> shift) - base, for keys in [mn, mx]. */
typedef struct digit {
	int shift;
	uint64_t base;
	size_t nb;
} digit;

static digit digit_for(uint64_t mn, uint64_t mx, int bits)
{
	int p = 64 - __builtin_clzll(mn ^ mx); /* bits below the shared prefix */
	digit d = {.shift = p > bits ? p - bits : 0};
	d.base = mn >> d.shift;
	d.nb = (size_t)((mx >> d.shift) - d.base) + 1;
	return d;
}

/* Scatters k into t by digit; end[b] gets the end of bucket b. */
static void scatter(const uint64_t *k, uint64_t *t, size_t n, digit d, uint32_t *end)
{
	memset(end, 0, (d.nb + 1) * sizeof *end);
	for (size_t i = 0; i < n; i++)
		end[(k[i] >> d.shift) - d.base + 1]++;
	for (size_t b = 1; b <= d.nb; b++)
		end[b] += end[b - 1];
	for (size_t i = 0; i < n; i++)
		t[end[(k[i] >> d.shift) - d.base]++] = k[i];
}

/* Sorts k[0..n) in place with t[0..n) as scratch. */
static void bucket_sort(uint64_t *k, uint64_t *t, size_t n, int depth)
{
	if (n <= INSERTION_MAX) {
		insertion_sort(k, n);
		return;
	}
	uint64_t mn = k[0], mx = k[0];
	for (size_t i = 1; i < n; i++) {
		mn = k[i] < mn ? k[i] : mn;
		mx = k[i] > mx ? k[i] : mx;
	}
	if (mn == mx)
		return;
	uint32_t end[MAX_BUCKETS + 1];
	digit d = digit_for(mn, mx, digit_bits(n));
	scatter(k, t, n, d, end);
	for (size_t b = 0, start = 0; b < d.nb && depth < MAX_DEPTH; start = end[b++])
		if (end[b] - start > SUB_BUCKET_MAX)
			bucket_sort(t + start, k + start, end[b] - start, depth + 1);
	memcpy(k, t, n * sizeof *k);
	insertion_sort(k, n); /* nearly sorted: linear */
}

/* malloc, or for big blocks 2 MiB-aligned memory advised for huge pages;
 * either is released with free(). */
static void *block_alloc(size_t bytes)
{
	if (bytes < HUGE_BLOCK)
		return malloc(bytes);
	size_t size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	void *p = aligned_alloc(HUGE_PAGE, size);
#ifdef MADV_HUGEPAGE
	if (p)
		madvise(p, size, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
	return p;
}

/*
 * One top-level bucket: t[0..n) sorted into k[0..n) by one more scatter
 * (then t is free to serve as scratch for the sub-buckets that are too big)
 * and an insertion pass; the keys are turned into doubles in place.
 */
static void sort_bucket_into(uint64_t *t, uint64_t *k, size_t n)
{
	uint64_t mn = t[0], mx = t[0];
	for (size_t i = 1; i < n; i++) {
		mn = t[i] < mn ? t[i] : mn;
		mx = t[i] > mx ? t[i] : mx;
	}
	if (n <= INSERTION_MAX || mn == mx) {
		memcpy(k, t, n * sizeof *k);
		insertion_sort(k, n);
	} else {
		uint32_t end[MAX_BUCKETS + 1];
		digit d = digit_for(mn, mx, digit_bits(n));
		scatter(t, k, n, d, end);
		for (size_t b = 0, start = 0; b < d.nb; start = end[b++])
			if (end[b] - start > SUB_BUCKET_MAX)
				bucket_sort(k + start, t + start, end[b] - start, 2);
		insertion_sort(k, n); /* nearly sorted: linear */
	}
	for (size_t i = 0; i < n; i++) { /* memcpy: the bytes change type */
		double v = key_double(k[i]);
		memcpy(&k[i], &v, sizeof v);
	}
}

mc_code mc_drift_sorted_copy(const double *x, size_t n, uint64_t *scratch, double **out,
			     size_t *kept)
{
	*out = NULL;
	*kept = 0;
	if (n > UINT32_MAX)
		return MC_ERR_LIMIT;
	/* the output block takes the keys, then (bucket by bucket) the sorted
	 * doubles, and a sentinel; the scratch takes the scattered keys */
	void *block = block_alloc((n + 1) * sizeof(uint64_t));
	uint64_t *own = scratch ? NULL : block_alloc((n ? n : 1) * sizeof *own);
	uint32_t *end = malloc((MAX_BUCKETS + 1) * sizeof *end);
	uint64_t *k = block, *t = scratch ? scratch : own, mn = UINT64_MAX, mx = 0;
	if (!k || !t || !end) {
		free(block);
		free(own);
		free(end);
		return MC_ERR_NOMEM;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		uint64_t key = double_key(x[i] + 0.0); /* -0.0 as 0.0 */
		k[m++] = key;
		mn = key < mn ? key : mn;
		mx = key > mx ? key : mx;
	}
	if (m <= INSERTION_MAX || mn == mx) {
		memcpy(t, k, m * sizeof *k);
		if (m)
			sort_bucket_into(t, k, m);
	} else {
		digit d = digit_for(mn, mx, top_bits(m));
		scatter(k, t, m, d, end);
		for (size_t b = 0, start = 0; b < d.nb; start = end[b++])
			if (end[b] > start)
				sort_bucket_into(t + start, k + start, end[b] - start);
	}
	double inf = INFINITY;
	memcpy(&k[m], &inf, sizeof inf);
	free(end);
	free(own);
	*out = block;
	*kept = m;
	return MC_OK;
}

void *mc_drift_block_alloc(size_t bytes)
{
	return block_alloc(bytes);
}
