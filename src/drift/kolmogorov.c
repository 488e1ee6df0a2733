/*
 * The Kolmogorov–Smirnov distributions behind ks_2samp's p-value, as SciPy
 * computes them: the exact two-sample distribution (Hodges' lattice-path
 * lattice paths: for unequal sizes the path count where p >= 1e-3 and
 * Viehmann's recursion for 1 - p below, the closed alternating sum for
 * equal sizes) and, for large samples, the
 * one-sample two-sided distribution kstwo.sf(d, round(n·m / (n + m))) with
 * the algorithm choice of Simard and L'Ecuyer (2011): Ruben–Gambino closed
 * forms, the Durbin matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion,
 * Pelz–Good's expansion and Miller's 2·smirnov.  References are listed in
 * docs/internals/drift.md.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define BAND_AVX2 1 /* an AVX2 copy of the cell loop, chosen at run time */
#endif

#include "drift/drift_int.h"

#define SCALE_EXP 128
#define MIN_LOG_EXP (-708.0)			  /* SciPy's _MIN_LOG in Pelz–Good */
#define CEPHES_MINLOG (-7.08396418532264106224E2) /* log(DBL_MIN) */
#define SMIRNOV_MAX_N 1000000			  /* above: Smirnov's approximation */

static double clip01(double p)
{
	return p < 0 ? 0 : p > 1 ? 1 : p;
}

/* ---- exact two-sample distribution ---- */

static int64_t floor_div(int64_t a, int64_t b) /* b > 0 */
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t ceil_div(int64_t a, int64_t b) /* b > 0 */
{
	int64_t q = a / b;
	return (a % b != 0 && a > 0) ? q + 1 : q;
}

/*
 * P(D_{n,n} >= h/n) = 2 (C(2n, n-h) - C(2n, n-2h) + ...) / C(2n, n), each
 * ratio a product of h factors, nested Horner-like so nothing cancels:
 * P = 2 A0 (1 - A1 (1 - A2 (...))).  O(n + h).
 */
static double prob_outside_square(int64_t n, int64_t h)
{
	double p = 0;
	for (int64_t k = n / h; k >= 0; k--) {
		double a = 1;
		for (int64_t j = 0; j < h; j++)
			a = (double)(n - k * h - j) * a / (double)(n + k * h + j + 1);
		p = a * (1 - p);
	}
	return 2 * p;
}

/* Entries of the band recursion below this are set to 0 (see below). */
#define BAND_FLUSH 0x1p-100
#define BAND_FLUSH_BITS UINT64_C(0x39b0000000000000) /* the bits of 2^-100 */
/* An anti-diagonal whose entries are all at least 1 - this ends at 1. */
#define BAND_ONE_EPS 1e-15

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* SciPy returns 1 at once when some column of the lattice has no cell
 * inside the band: every path leaves it.  With 2h > m/g every column has
 * one (the nearest j to i·n/m is within m/2g of it). */
static bool band_cut(int64_t m, int64_t n, int64_t mg, int64_t ng, int64_t h)
{
	if (2 * h > mg)
		return false;
	for (int64_t i = 1; i <= m; i++) {
		int64_t lo = min64(max64(floor_div(ng * i - h, mg) + 1, 0), n);
		int64_t hi = min64(ceil_div(ng * i + h, mg), n + 1);
		if (hi <= lo)
			return true;
	}
	return false;
}

/*
 * The lattice cells inside the band on each anti-diagonal d = i + j: the
 * band is floor((mg d - h) / s) < i < ceil((mg d + h) / s) with s = mg + ng,
 * both quotients kept up to date as d grows (mg < s: at most one carry),
 * and the lattice 0 <= i <= m, 0 <= j <= n.  Both ends only grow, by at
 * most one a step.
 */
typedef struct band_walk {
	int64_t m, n, mg, s;
	int64_t lq, lr, hq, hr; /* the two quotients and their remainders */
} band_walk;

static void band_walk_init(band_walk *w, int64_t m, int64_t n, int64_t mg, int64_t ng, int64_t h)
{
	w->m = m;
	w->n = n;
	w->mg = mg;
	w->s = mg + ng;
	w->lq = floor_div(-h, w->s);
	w->lr = -h - w->lq * w->s;
	w->hq = ceil_div(h, w->s);
	w->hr = h - w->hq * w->s;
}

/* Steps to anti-diagonal d (the one after the last): cells ilo .. ihi. */
static void band_walk_next(band_walk *w, int64_t d, int64_t *ilo, int64_t *ihi)
{
	w->lr += w->mg;
	if (w->lr >= w->s) {
		w->lr -= w->s;
		w->lq++;
	}
	w->hr += w->mg;
	if (w->hr > 0) {
		w->hr -= w->s;
		w->hq++;
	}
	*ilo = max64(w->lq + 1, max64(0, d - w->n));
	*ihi = min64(w->hq - 1, min64(w->m, d));
}

/*
 * One cell: (i v(i-1, j) + j v(i, j-1)) / d, clamped to 1, flushed to 0,
 * without branches (near the band's edges the values sit at 1 give or take
 * an ulp, so a branch there is a coin toss): the clamp is one min
 * instruction, the flush a mask on the bits of a value known to be >= 0.
 */
static double band_cell(double i, double left, double right, double d, double inv)
{
	double v = (i * left + (d - i) * right) * inv;
	v = v < 1.0 ? v : 1.0;
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	bits &= -(uint64_t)(bits >= BAND_FLUSH_BITS);
	memcpy(&v, &bits, sizeof v);
	return v;
}

#ifdef __SSE2__
/* Cells i and i - 1 at once: the same arithmetic as band_cell in two lanes. */
static __m128d band_pair(const double *a, int64_t i, __m128d fi, __m128d d, __m128d inv)
{
	__m128d left = _mm_loadu_pd(a + i - 2), right = _mm_loadu_pd(a + i - 1);
	__m128d v = _mm_mul_pd(
		_mm_add_pd(_mm_mul_pd(fi, left), _mm_mul_pd(_mm_sub_pd(d, fi), right)), inv);
	v = _mm_min_pd(v, _mm_set1_pd(1.0));
	return _mm_and_pd(v, _mm_cmpge_pd(v, _mm_set1_pd(BAND_FLUSH)));
}
#endif

#ifdef BAND_AVX2
/* band_cells for four cells at a time; the same arithmetic, no FMA. */
__attribute__((target("avx2"))) static int64_t band_cells_avx2(double *a, int64_t i, int64_t to,
							       double d, double inv, double *mn)
{
	__m256d vd = _mm256_set1_pd(d), vinv = _mm256_set1_pd(inv), one = _mm256_set1_pd(1.0);
	__m256d flush = _mm256_set1_pd(BAND_FLUSH), four = _mm256_set1_pd(4.0);
	__m256d vmn = _mm256_set1_pd(*mn);
	__m256d fi = _mm256_set_pd((double)i, (double)(i - 1), (double)(i - 2), (double)(i - 3));
	for (; i - 3 >= to; i -= 4) {
		__m256d left = _mm256_loadu_pd(a + i - 4), right = _mm256_loadu_pd(a + i - 3);
		__m256d v =
			_mm256_mul_pd(_mm256_add_pd(_mm256_mul_pd(fi, left),
						    _mm256_mul_pd(_mm256_sub_pd(vd, fi), right)),
				      vinv);
		v = _mm256_min_pd(v, one);
		v = _mm256_and_pd(v, _mm256_cmp_pd(v, flush, _CMP_GE_OQ));
		_mm256_storeu_pd(a + i - 3, v);
		vmn = _mm256_min_pd(vmn, v);
		fi = _mm256_sub_pd(fi, four);
	}
	double lanes[4];
	_mm256_storeu_pd(lanes, vmn);
	for (int k = 0; k < 4; k++)
		*mn = lanes[k] < *mn ? lanes[k] : *mn;
	return i;
}
#endif

/* Cells i = from down to to of an anti-diagonal, in place (a[i] holds the
 * previous anti-diagonal's v(i, j-1), a[i-1] its v(i-1, j)); *mn gets the
 * smallest new entry.  Returns to - 1.  Descending order keeps the inputs
 * of the cells still to do unwritten. */
static int64_t band_cells(double *a, int64_t from, int64_t to, double d, double inv, double *mn)
{
	double m = *mn;
	int64_t i = from;
#ifdef BAND_AVX2
	if (__builtin_cpu_supports("avx2"))
		i = band_cells_avx2(a, i, to, d, inv, &m);
#endif
#ifdef __SSE2__
	__m128d vd = _mm_set1_pd(d), vinv = _mm_set1_pd(inv), vmn = _mm_set1_pd(m);
	__m128d fi = _mm_set_pd((double)i, (double)(i - 1)), two = _mm_set1_pd(2.0);
	for (; i - 1 >= to; i -= 2) {
		__m128d v = band_pair(a, i, fi, vd, vinv);
		_mm_storeu_pd(a + i - 1, v);
		vmn = _mm_min_pd(vmn, v);
		fi = _mm_sub_pd(fi, two);
	}
	double lanes[2];
	_mm_storeu_pd(lanes, vmn);
	m = lanes[0] < lanes[1] ? lanes[0] : lanes[1];
#endif
	for (; i >= to; i--) {
		double v = band_cell((double)i, a[i - 1], a[i], d, inv);
		a[i] = v;
		m = v < m ? v : m;
	}
	*mn = m;
	return i;
}

/* The longest run of zeros among a[lo..hi], as [*zlo, *zhi). */
static void band_find_zeros(const double *a, int64_t lo, int64_t hi, int64_t *zlo, int64_t *zhi)
{
	int64_t best = 0, run = 0;
	*zlo = *zhi = 0;
	for (int64_t k = lo; k <= hi; k++) {
		run = a[k] == 0 ? run + 1 : 0;
		if (run > best) {
			best = run;
			*zhi = k + 1;
			*zlo = k + 1 - run;
		}
	}
}

/*
 * 1 - P(paths from (0,0) to (m,n) stay strictly inside |x/m - y/n| < h/lcm),
 * Hodges' lattice count with Viehmann's recursion for 1 - p as SciPy runs
 * it: v(i, j) = (i v(i-1, j) + j v(i, j-1)) / (i + j) inside the band, 1
 * outside, v(0, 0) = 0, the answer v(m, n); every entry is a probability,
 * so nothing overflows.  SciPy sweeps column by column, each entry waiting
 * for the one below it; we sweep anti-diagonals d = i + j instead, whose
 * cells depend only on the previous anti-diagonal and share the divisor d,
 * so there is no chain of dependent divisions (half the time, one array of
 * m + 1 doubles updated in place).  Two departures, both with bounded
 * effect: each entry is a convex combination of its inputs, so setting
 * entries below BAND_FLUSH to 0 moves the result by less than (m +
 * n)·BAND_FLUSH < 1e-25; and an anti-diagonal all within BAND_ONE_EPS of 1
 * means the result is too, so we stop there.  The zeros flushing leaves in
 * the middle of wide bands (large D, tiny p) stay zero without being
 * recomputed, so the cost is O(cells near the band's edges) there instead
 * of O(n·m·D).  m >= n.
 */
static double prob_outside_band_viehmann(int64_t m, int64_t n, int64_t mg, int64_t ng, int64_t h)
{
	double *buf = malloc((size_t)(m + 3) * sizeof *buf);
	if (!buf)
		return NAN;
	double *a = buf + 1; /* a[-1] and a[m+1] are guards */
	for (int64_t i = -1; i <= m + 1; i++)
		a[i] = 1.0;
	a[0] = 0.0; /* v(0, 0) */
	int64_t zlo = 0, zhi = 0;
	double result = NAN;
	band_walk w;
	band_walk_init(&w, m, n, mg, ng, h);
	for (int64_t d = 1; d <= m + n && isnan(result); d++) {
		int64_t ilo, ihi;
		band_walk_next(&w, d, &ilo, &ihi);
		/* both inputs in the previous run of zeros: the cell stays 0 */
		int64_t klo = max64(zlo + 1, ilo), khi = min64(zhi, ihi + 1);
		double inv = 1.0 / (double)d, mn = 1.0;
		if (klo < khi) {
			band_cells(a, ihi, khi, (double)d, inv, &mn);
			band_cells(a, klo - 1, ilo, (double)d, inv, &mn);
			mn = 0;
			zlo = klo;
			zhi = khi;
			while (zhi <= ihi && a[zhi] == 0)
				zhi++;
			while (zlo > ilo && a[zlo - 1] == 0)
				zlo--;
		} else {
			band_cells(a, ihi, ilo, (double)d, inv, &mn);
			zlo = zhi = 0;
			if (mn == 0)
				band_find_zeros(a, ilo, ihi, &zlo, &zhi);
		}
		if (ilo >= 1)
			a[ilo - 1] = 1.0; /* outside the band from now on */
		if (mn >= 1 - BAND_ONE_EPS)
			result = 1.0;
	}
	if (isnan(result))
		result = a[m];
	free(buf);
	return result;
}

/* ---- the band by counting paths ---- */

/* Counts are rescaled this often (they at most double an anti-diagonal). */
#define COUNT_RESCALE_EVERY 512
/* After a rescale, counts this far below the largest are dropped. */
#define COUNT_DROP 0x1p-900
/* Below this p-value the counts' absolute error (about (m + n) ulp) would
 * be a visible relative one: Viehmann's recursion gives 1 - P directly. */
#define COUNT_MIN_P 1e-3

#ifdef BAND_AVX2
__attribute__((target("avx2"))) static int64_t count_cells_avx2(double *a, int64_t i, int64_t to)
{
	for (; i - 7 >= to; i -= 8) {
		__m256d hi = _mm256_add_pd(_mm256_loadu_pd(a + i - 3), _mm256_loadu_pd(a + i - 4));
		__m256d lo = _mm256_add_pd(_mm256_loadu_pd(a + i - 7), _mm256_loadu_pd(a + i - 8));
		_mm256_storeu_pd(a + i - 3, hi);
		_mm256_storeu_pd(a + i - 7, lo);
	}
	for (; i - 3 >= to; i -= 4)
		_mm256_storeu_pd(a + i - 3, _mm256_add_pd(_mm256_loadu_pd(a + i - 3),
							  _mm256_loadu_pd(a + i - 4)));
	return i;
}
#endif

/* a[i] += a[i-1] for i = from down to to: the paths into cell (i, j) come
 * from (i-1, j) and (i, j-1).  Descending, so each reads old values.  The
 * array is 0 outside the band. */
static void count_cells(double *a, int64_t from, int64_t to)
{
	int64_t i = from;
#ifdef BAND_AVX2
	if (__builtin_cpu_supports("avx2")) /* a load and a test, as in band_cells */
		i = count_cells_avx2(a, i, to);
#endif
#ifdef __SSE2__
	for (; i - 1 >= to; i -= 2)
		_mm_storeu_pd(a + i - 1,
			      _mm_add_pd(_mm_loadu_pd(a + i - 1), _mm_loadu_pd(a + i - 2)));
#endif
	for (; i >= to; i--)
		a[i] += a[i - 1];
}

/* a[lo..hi] times 2^-e, e the exponent of the largest, added to *scale;
 * what falls below COUNT_DROP is dropped (it cannot show in the result). */
static void count_rescale(double *a, int64_t lo, int64_t hi, int *scale)
{
	double mx = 0;
	for (int64_t i = lo; i <= hi; i++)
		mx = a[i] > mx ? a[i] : mx;
	int e;
	frexp(mx, &e);
	for (int64_t i = lo; i <= hi; i++) {
		double v = ldexp(a[i], -e);
		a[i] = v < COUNT_DROP ? 0 : v;
	}
	*scale += e;
}

/* C(m + n, n) as c 2^e, in extended precision where there is one. */
static double binomial_scaled(int64_t m, int64_t n, int *e)
{
	long double num = 1, den = 1;
	*e = 0;
	for (int64_t k = 1; k <= n; k++) {
		num *= (long double)(m + k);
		den *= (long double)k;
		if ((k & 63) == 0) { /* each factor is below 2^63 */
			int en, ed;
			num = frexpl(num, &en);
			den = frexpl(den, &ed);
			*e += en - ed;
		}
	}
	int ex;
	double c = frexp((double)(num / den), &ex);
	*e += ex;
	return c;
}

/*
 * P(paths stay strictly inside the band) by Hodges' count: N(i, j) =
 * N(i-1, j) + N(i, j-1) inside, 0 outside, over C(m + n, n).  One addition
 * a cell where Viehmann's recursion needs five operations and a clamp, and
 * every count is a sum of positive terms, so its relative error is at most
 * (m + n) ulp.  The counts are kept as a · 2^scale, rescaled by powers of
 * two, which are exact.  NAN when out of memory.
 */
static double prob_inside_band_count(int64_t m, int64_t n, int64_t mg, int64_t ng, int64_t h)
{
	/* a[-4 .. -1] and a[m+1 ..] are guards; a[0] starts an aligned block */
	size_t len = ((size_t)m + 12) & ~(size_t)3;
	double *buf = aligned_alloc(32, len * sizeof *buf);
	if (!buf)
		return NAN;
	memset(buf, 0, len * sizeof *buf);
	double *a = buf + 4;
	a[0] = 1.0; /* N(0, 0) */
	int scale = 0;
	band_walk w;
	band_walk_init(&w, m, n, mg, ng, h);
	for (int64_t d = 1; d <= m + n; d++) {
		int64_t ilo, ihi;
		band_walk_next(&w, d, &ilo, &ihi);
		count_cells(a, ihi, ilo);
		if (ilo >= 1)
			a[ilo - 1] = 0.0; /* outside the band from now on */
		if (d % COUNT_RESCALE_EVERY == 0 && ilo <= ihi)
			count_rescale(a, ilo, ihi, &scale);
	}
	int e;
	double c = binomial_scaled(m, n, &e);
	double p = ldexp(a[m] / c, scale - e);
	free(buf);
	return p;
}

/* Kolmogorov's limit P(K > x) = 2 sum (-1)^(k-1) exp(-2 k^2 x^2): only a
 * guess of the exact p-value here, to pick the method. */
static double kolmogorov_limit_sf(double x)
{
	if (x < 0.3)
		return 1.0;
	double sum = 0;
	for (int k = 1; k <= 100; k++) {
		double t = exp(-2.0 * k * k * x * x);
		sum += (k & 1) ? t : -t;
		if (t < 1e-300)
			break;
	}
	return clip01(2 * sum);
}

/*
 * 1 - P(inside) for m >= n: by counting, or where that would lose relative
 * precision (small p-values), by Viehmann's recursion, which also skips
 * the zeros that fill wide bands.  The limit distribution guesses which;
 * a wrong guess costs time, never precision.
 */
static double prob_outside_band(int64_t m, int64_t n, int64_t g, int64_t h)
{
	int64_t mg = m / g, ng = n / g;
	if (band_cut(m, n, mg, ng, h))
		return 1.0;
	double dstat = (double)h / ((double)mg * (double)n);
	double guess = kolmogorov_limit_sf(dstat * sqrt((double)m * (double)n / (double)(m + n)));
	if (guess >= COUNT_MIN_P / 100) {
		double p = 1.0 - prob_inside_band_count(m, n, mg, ng, h);
		if (p >= COUNT_MIN_P)
			return p;
	}
	return prob_outside_band_viehmann(m, n, mg, ng, h);
}

double mc_ks_exact_p(int64_t n1, int64_t n2, int64_t h)
{
	if (n1 <= 0 || n2 <= 0 || h < 0)
		return NAN;
	if (h == 0)
		return 1.0;
	int64_t a = n1, b = n2;
	while (b) {
		int64_t t = a % b;
		a = b;
		b = t;
	}
	double p = n1 == n2 ? prob_outside_square(n1, h)
			    : prob_outside_band(n1 > n2 ? n1 : n2, n1 > n2 ? n2 : n1, a, h);
	return p >= 0 && p <= 1 ? p : NAN; /* SciPy then falls back to the asymptotic p */
}

/* ---- one-sided Smirnov distribution (SciPy's special.smirnov) ---- */

/* floor(n·x) and the fraction n·x - floor, from the exact product. */
static double mod_nx(int64_t n, double x, int64_t *fl)
{
	double nd = (double)n, p = nd * x, e = fma(nd, x, -p);
	double f = floor(p), alpha = (p - f) + e;
	if (alpha < 0) {
		f -= 1;
		alpha += 1;
	}
	if (alpha >= 1) {
		f += 1;
		alpha -= 1;
	}
	*fl = (int64_t)f;
	return alpha;
}

/*
 * Birnbaum–Tingey: P(D+ >= x) = x Σ_{j=0}^{floor(n(1-x))} C(n,j) (x + j/n)^(j-1)
 * (1 - x - j/n)^(n-j), every term positive, each in logarithms.  Stops, as
 * cephes does, once the terms left cannot reach the last bit of the sum.
 */
static double smirnov_sum(int64_t n, double x, int64_t nxfl, double alpha)
{
	int64_t last = n - nxfl - (alpha == 0 ? 0 : 1);
	if (alpha == 0)
		last -= 1;
	double nd = (double)n, logx = log(x), logc = 0, sum = 0;
	for (int64_t j = 0; j <= last; j++) {
		double lo = ((double)(nxfl + j) + alpha) / nd;	   /* x + j/n */
		double hi = ((double)(n - nxfl - j) - alpha) / nd; /* 1 - x - j/n */
		double lt = logc + (double)(n - j) * log(hi) + logx;
		lt += j == 0 ? -logx : (double)(j - 1) * log(lo);
		double t = exp(lt);
		sum += t;
		if (t > 0 ? 4 * (double)(last + 1 - j) * t < DBL_EPSILON * sum && j != last
			  : j > n / 2)
			break;
		logc += log((double)(n - j) / (double)(j + 1));
	}
	return sum;
}

double mc_smirnov_sf(int64_t n, double x)
{
	if (!(n > 0 && x >= 0 && x <= 1))
		return NAN;
	if (n == 1)
		return 1 - x;
	if (x == 0)
		return 1;
	if (x == 1)
		return 0;
	int64_t nxfl;
	double alpha = mod_nx(n, x, &nxfl), nd = (double)n;
	if (nxfl == 0 || (nxfl == 1 && alpha == 0)) /* x <= 1/n */
		return clip01(1 - x * exp((nd - 1) * log1p(x)));
	if (-2 * nd * x * x < CEPHES_MINLOG)
		return 0;
	if (nxfl >= n - 1)
		return clip01(exp(nd * log1p(-x)));
	if (n > SMIRNOV_MAX_N) { /* p ~ exp(-(6nx + 1)^2 / 18n) */
		double logp = -pow(6.0 * nd * x + 1, 2) / 18.0 / nd;
		return clip01(logp < -M_LN2 ? exp(logp) : 1 - (-expm1(logp)));
	}
	return clip01(smirnov_sum(n, x, nxfl, alpha));
}

/* ---- one-sample two-sided distribution (SciPy's kstwo) ---- */

/* log(n! / n^n) by Stirling's series with n log n taken out up front. */
static double log_nfact_div_npow(double n)
{
	/* B_2j / (2j (2j - 1)) for j = 8 .. 1 */
	static const double c[] = {-2.955065359477124183e-2,  6.4102564102564102564e-3,
				   -1.9175269175269175269e-3, 8.4175084175084175084e-4,
				   -5.952380952380952381e-4,  7.9365079365079365079e-4,
				   -2.7777777777777777778e-3, 8.3333333333333333333e-2};
	double rn = 1 / n, t = rn / n, p = 0;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
		p = p * t + c[i];
	return log(n) / 2 - n + log(2 * M_PI) / 2 + rn * p;
}

/* c = a · b for m × m row-major matrices (c distinct from a and b). */
static void matmul(const double *a, const double *b, double *c, int m)
{
	for (int i = 0; i < m; i++) {
		double *ci = c + (size_t)i * m;
		for (int j = 0; j < m; j++)
			ci[j] = 0;
		for (int k = 0; k < m; k++) {
			double aik = a[(size_t)i * m + k];
			const double *bk = b + (size_t)k * m;
			for (int j = 0; j < m; j++)
				ci[j] += aik * bk[j];
		}
	}
}

static double max_abs(const double *a, size_t n)
{
	double mx = 0;
	for (size_t i = 0; i < n; i++)
		mx = fmax(mx, fabs(a[i]));
	return mx;
}

/* Durbin's matrix H of size m = 2k - 1 for d = (k - h) / n. */
static void durbin_matrix(double *hm, int m, double h)
{
	double *v = hm + (size_t)m * m, *w = v + m; /* scratch after the matrix */
	double fac = 1;
	for (int j = 1; j <= m; j++) {
		w[j - 1] = fac;
		fac /= j;
		v[j - 1] = (1 - pow(h, j)) * fac;
	}
	double tt = pow(fmax(2 * h - 1, 0), m) - 2 * pow(h, m);
	v[m - 1] = (1 + tt) * fac;
	memset(hm, 0, (size_t)m * m * sizeof *hm);
	for (int i = 1; i < m; i++)
		for (int r = i - 1; r < m; r++)
			hm[(size_t)r * m + i] = w[r - (i - 1)];
	for (int r = 0; r < m; r++)
		hm[(size_t)r * m] = v[r];
	for (int c = 0; c < m; c++)
		hm[(size_t)(m - 1) * m + c] = v[m - 1 - c];
}

/*
 * P(D_n <= d) by the Durbin matrix: (n! / n^n) (H^n)[k-1][k-1], H^n by
 * squaring, both the power and the running square rescaled by 2^-128 with
 * the exponents kept aside.  O(m^3 log n) with m = 2 ceil(nd) - 1.
 */
static double kolmogn_dmtw(int64_t n, double d)
{
	if (d >= 1)
		return 1;
	double nd = (double)n * d;
	if (nd <= 0.5)
		return 0;
	int k = (int)ceil(nd), m = 2 * k - 1;
	size_t mm = (size_t)m * m;
	double *buf = malloc((3 * mm + 2 * (size_t)m) * sizeof *buf);
	if (!buf)
		return NAN;
	double *hp = buf, *pw = buf + mm, *tmp = buf + 2 * mm;
	/* durbin_matrix uses 2m doubles after the matrix as scratch: put H last */
	double *hm = tmp, *hmat = hp;
	durbin_matrix(hm, m, k - nd);
	memcpy(hmat, hm, mm * sizeof *hm);
	memset(pw, 0, mm * sizeof *pw);
	for (int i = 0; i < m; i++)
		pw[(size_t)i * m + i] = 1;
	const double up = ldexp(1, SCALE_EXP), down = ldexp(1, -SCALE_EXP);
	long pexp = 0, hexp = 0;
	for (int64_t e = n; e > 0; e >>= 1) {
		if (e & 1) {
			matmul(pw, hmat, tmp, m);
			memcpy(pw, tmp, mm * sizeof *pw);
			pexp += hexp;
			if (max_abs(pw, mm) > up) {
				for (size_t i = 0; i < mm; i++)
					pw[i] *= down;
				pexp += SCALE_EXP;
			}
		}
		if (e == 1)
			break;
		matmul(hmat, hmat, tmp, m);
		memcpy(hmat, tmp, mm * sizeof *hmat);
		hexp *= 2;
		if (fabs(hmat[(size_t)(k - 1) * m + k - 1]) > up) {
			for (size_t i = 0; i < mm; i++)
				hmat[i] *= down;
			hexp += SCALE_EXP;
		}
	}
	double p = pw[(size_t)(k - 1) * m + k - 1];
	free(buf);
	for (int64_t i = 1; i <= n; i++) {
		p = (double)i * p / (double)n;
		if (fabs(p) < down) {
			p *= up;
			pexp -= SCALE_EXP;
		}
	}
	return clip01(ldexp(p, (int)pexp));
}

/* Ends of the non-zero stretch of row i of Pomeranz's recursion. */
static void pomeranz_range(int64_t i, int64_t n, int64_t ll, int ceilf, int roundf, int64_t *j1,
			   int64_t *j2)
{
	int64_t a, b;
	if (i == 0) {
		a = -ll - ceilf - 1;
		b = ll + ceilf - 1;
	} else {
		int64_t half = (i + 1) / 2;
		if ((i + 1) % 2 == 0) { /* i odd */
			if (half == n + 1) {
				a = n - ll - ceilf - 1;
				b = n + ll + ceilf - 1;
			} else {
				a = half - 1 - ll - roundf - 1;
				b = half + ll - 1 + ceilf - 1;
			}
		} else {
			a = half - 1 - ll - 1;
			b = half + ll + roundf - 1;
		}
	}
	*j1 = a + 2 > 0 ? a + 2 : 0;
	*j2 = b < n ? b : n;
}

/* Scaled Poisson-like weights (s/n)^k / k! for k < np. */
static void pomeranz_powers(double s, int64_t n, double *out, int64_t np)
{
	out[0] = 1;
	for (int64_t k = 1; k < np; k++)
		out[k] = out[k - 1] * (s / (double)n) / (double)k;
}

/*
 * P(D_n <= x) by Pomeranz's recursion (1974): 2n + 1 rows, each the
 * convolution of a short stretch of the previous one with one of three
 * weight sequences; n! times the last entry.  For n <= 140.
 */
static double kolmogn_pomeranz(int64_t n, double x)
{
	double t = (double)n * x;
	int64_t ll = (int64_t)floor(t);
	double f = t - (double)ll, g = fmin(f, 1 - f);
	int ceilf = f > 0, roundf = f > 0.5;
	int64_t np = 2 * (ll + 1);
	double *buf = calloc((size_t)np * 5, sizeof *buf);
	if (!buf)
		return NAN;
	double *gp = buf, *g2 = buf + np, *g12 = buf + 2 * np, *v0 = buf + 3 * np,
	       *v1 = buf + 4 * np;
	pomeranz_powers(g, n, gp, np);
	pomeranz_powers(2 * g, n, g2, np);
	pomeranz_powers(1 - 2 * g, n, g12, np);
	const double up = ldexp(1, SCALE_EXP), down = ldexp(1, -SCALE_EXP);
	long expnt = 0;
	int64_t v0s = 0, v1s = 0, j1, j2;
	v1[0] = 1;
	pomeranz_range(0, n, ll, ceilf, roundf, &j1, &j2);
	for (int64_t i = 1; i <= 2 * n + 1; i++) {
		int64_t k1 = j1;
		double *sw = v0;
		v0 = v1;
		v1 = sw;
		int64_t s = v0s;
		v0s = v1s;
		v1s = s;
		memset(v1, 0, (size_t)np * sizeof *v1);
		pomeranz_range(i, n, ll, ceilf, roundf, &j1, &j2);
		const double *pw = (i == 1 || i == 2 * n + 1) ? gp : (i % 2 ? g2 : g12);
		int64_t ln2 = j2 - k1 + 1;
		if (ln2 <= 0)
			continue;
		int64_t off = k1 - v0s, cstart = j1 - k1, clen = j2 - j1 + 1;
		for (int64_t c = 0; c < clen && c < np; c++) {
			int64_t idx = cstart + c;
			double sum = 0;
			for (int64_t a = idx - (ln2 - 1) > 0 ? idx - (ln2 - 1) : 0;
			     a <= idx && a < ln2; a++)
				if (off + a >= 0 && off + a < np && idx - a < np)
					sum += v0[off + a] * pw[idx - a];
			v1[c] = sum;
		}
		double mx = max_abs(v1, (size_t)np);
		if (mx > 0 && mx < down) {
			for (int64_t c = 0; c < np; c++)
				v1[c] *= up;
			expnt -= SCALE_EXP;
		}
		v1s = v0s + j1 - k1;
	}
	int64_t at = n - v1s;
	double ans = at >= 0 && at < np ? v1[at] : 0;
	free(buf);
	for (int64_t k = 1; k <= n; k++) {
		if (fabs(ans) > up) {
			ans *= down;
			expnt += SCALE_EXP;
		}
		ans *= (double)k;
	}
	return clip01(ldexp(ans, (int)expnt));
}

/*
 * Pelz–Good (1976): P(D_n <= x) ~ K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n^1.5
 * with z = x sqrt(n), each K in the Jacobi-theta form that suits small z.
 */
static double kolmogn_pelz_good(int64_t n, double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	const double pi2 = M_PI * M_PI, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
	const double sqrt2pi = sqrt(2 * M_PI);
	double z = sqrt((double)n) * x, z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
	double qlog = -pi2 / 8 / z2;
	if (qlog < MIN_LOG_EXP)
		return 0;
	double q = exp(qlog);
	double k1a = -z2, k1b = pi2 / 4;
	double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4,
	       k2c = pi4 * (1 - 2 * z2) / 16;
	double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16,
	       k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * pow(z, 8);
	double kk[4] = {0, 0, 0, 0};
	int maxk = (int)ceil(16 * z / M_PI);
	/* Σ c(m) q^(m^2) over odd m = 2k - 1, Horner in q^(8k) */
	for (int k = maxk; k > 0; k--) {
		double m = 2 * k - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
		double qp = pow(q, 8 * k);
		double c[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
			       k3a + k3b * m2 + k3c * m4 + k3d * m6};
		for (int i = 0; i < 4; i++)
			kk[i] = kk[i] * qp + c[i];
	}
	double div[4] = {z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)};
	for (int i = 0; i < 4; i++)
		kk[i] = kk[i] * q * sqrt2pi / div[i];
	/* the terms over every integer k: K2 gets π²k² q^(k²), K3 (3π²k²z² - π⁴k⁴) q^(k²) */
	double qq = exp(-pi2 / 2 / z2), s2 = 0, s3 = 0, sqrt3z = sqrt(3.0) * z;
	for (int k = maxk; k > 0; k--) {
		double ks = (double)k * k, qp = pow(qq, ks), kpi = M_PI * k;
		s2 += ks * qp;
		s3 += (sqrt3z + kpi) * (sqrt3z - kpi) * ks * qp;
	}
	kk[2] += s2 * (pi2 * sqrt2pi / (-36 * z3));
	kk[3] += s3 * (pi2 * sqrt2pi / (216 * z6));
	double sum = 0;
	for (int i = 0; i < 4; i++)
		sum += kk[i] / pow((double)n, i / 2.0);
	return sum;
}

double mc_kstwo_sf(int64_t n, double x)
{
	if (n <= 0 || isnan(x))
		return NAN;
	if (x >= 1)
		return 0;
	if (x <= 0)
		return 1;
	double nd = (double)n, t = nd * x;
	if (t <= 1) { /* Ruben–Gambino: 1/2n <= x <= 1/n */
		if (t <= 0.5)
			return 1;
		double prob;
		if (n <= 140) {
			prob = 1;
			for (int64_t i = 1; i <= n; i++)
				prob *= (double)i * (1.0 / nd) * (2 * t - 1);
		} else {
			prob = exp(log_nfact_div_npow(nd) + nd * log(2 * t - 1));
		}
		return clip01(1 - prob);
	}
	if (t >= nd - 1) /* Ruben–Gambino */
		return clip01(2 * pow(1 - x, nd));
	if (x >= 0.5)
		return clip01(2 * mc_smirnov_sf(n, x));
	double nx2 = t * x;
	if (n <= 140) {
		if (nx2 <= 0.754693)
			return clip01(1 - kolmogn_dmtw(n, x));
		if (nx2 <= 4)
			return clip01(1 - kolmogn_pomeranz(n, x));
		return clip01(2 * mc_smirnov_sf(n, x)); /* Miller */
	}
	if (nx2 >= 370.0)
		return 0;
	if (nx2 >= 2.2)
		return clip01(2 * mc_smirnov_sf(n, x));
	double cdf = (n <= 100000 && nd * pow(x, 1.5) <= 1.4) ? kolmogn_dmtw(n, x)
							      : kolmogn_pelz_good(n, x);
	return clip01(1 - cdf);
}
