/* Parquet column chunk writer: dictionary, statistics and v1 data pages of about page_bytes. */
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
/* Slots of a chunk's dictionary table at first; doubled whenever it is half full. */
#define DICT_MIN_SLOTS ((size_t)64)
/* Strings at least this long are compared with memcmp. */
#define EQ_INLINE_MAX 64

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

static inline uint64_t load64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t load32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Equality of two n-byte strings; short ones with a few overlapping word loads, no call. */
static inline bool bytes_eq(const void *pa, const void *pb, size_t n)
{
	const uint8_t *a = pa, *b = pb;
	if (n >= 8) {
		if (n <= 16)
			return ((load64(a) ^ load64(b)) |
				(load64(a + n - 8) ^ load64(b + n - 8))) == 0;
		if (n >= EQ_INLINE_MAX)
			return memcmp(a, b, n) == 0;
		for (size_t i = 0; i + 8 < n; i += 8)
			if (load64(a + i) != load64(b + i))
				return false;
		return load64(a + n - 8) == load64(b + n - 8);
	}
	if (n >= 4)
		return ((load32(a) ^ load32(b)) | (load32(a + n - 4) ^ load32(b + n - 4))) == 0;
	/* bytes 0, n/2 and n-1 cover strings of up to 3 bytes */
	return n == 0 || (a[0] == b[0] && a[n >> 1] == b[n >> 1] && a[n - 1] == b[n - 1]);
}

/* ---- Statistics ---- */

static int str_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int d = memcmp(a, b, an < bn ? an : bn);
	return d ? d : (an > bn) - (an < bn);
}

/* Widen the string bounds to include s. */
static void bound_string(wr_stats *st, const char *s, size_t n)
{
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

static void stats_strings(const mc_column *c, size_t r0, size_t r1, wr_stats *st)
{
	const char *prev = NULL;
	size_t prev_n = 0;
	for (size_t r = r0; r < r1; r++) {
		if (!present(c, r))
			continue;
		size_t n;
		const char *s = str_at(c, r, &n);
		if (prev && n == prev_n && bytes_eq(s, prev, n))
			continue; /* a repeat cannot move a bound */
		bound_string(st, s, n);
		prev = s;
		prev_n = n;
	}
}

/*
 * Bounds of n fixed-width values of C type `ctype` at p, `stride` bytes apart, skipping those
 * whose valid byte is 0 (valid may be NULL).  Floats skip NaN; a zero minimum is -0, a zero
 * maximum +0.
 */
#define BOUNDS(ctype, is_float, p, stride, valid, n, st)             \
	do {                                                         \
		ctype lo = 0, hi = 0;                                \
		for (size_t i_ = 0; i_ < (n); i_++) {                \
			if ((valid) && !(valid)[i_])                 \
				continue;                            \
			ctype v_;                                    \
			memcpy(&v_, (p) + i_ * (stride), sizeof v_); \
			if ((is_float) && isnan((double)v_))         \
				continue;                            \
			if (!(st)->has_bounds || v_ < lo)            \
				lo = v_;                             \
			if (!(st)->has_bounds || v_ > hi)            \
				hi = v_;                             \
			(st)->has_bounds = true;                     \
		}                                                    \
		if ((is_float) && lo == 0)                           \
			lo = -(ctype)0.0;                            \
		if ((is_float) && hi == 0)                           \
			hi = (ctype)0.0;                             \
		memcpy((st)->min, &lo, sizeof lo);                   \
		memcpy((st)->max, &hi, sizeof hi);                   \
		(st)->width = sizeof lo;                             \
	} while (0)

/* Bounds of fixed-width values (see BOUNDS) of table type `type`. */
static void bounds_fixed(mc_type type, const uint8_t *p, size_t stride, const uint8_t *valid,
			 size_t n, wr_stats *st)
{
	switch (type) {
	case MC_T_INT32:
	case MC_T_DATE: BOUNDS(int32_t, false, p, stride, valid, n, st); break;
	case MC_T_INT64:
	case MC_T_TIMESTAMP: BOUNDS(int64_t, false, p, stride, valid, n, st); break;
	case MC_T_FLOAT: BOUNDS(float, true, p, stride, valid, n, st); break;
	case MC_T_DOUBLE: BOUNDS(double, true, p, stride, valid, n, st); break;
	default: break;
	}
}

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

/* Statistics of rows [r0, r1), nn of them present. */
static void compute_stats(const mc_column *c, size_t r0, size_t r1, size_t nn, wr_stats *st)
{
	memset(st, 0, sizeof *st);
	st->null_count = (int64_t)(r1 - r0 - nn);
	size_t w = mc_type_width(c->type);
	if (c->type == MC_T_BOOL)
		stats_bools(c, r0, r1, st);
	else if (c->type == MC_T_STRING)
		stats_strings(c, r0, r1, st);
	else
		bounds_fixed(c->type, (const uint8_t *)c->values + r0 * w, w,
			     c->valid ? c->valid + r0 : NULL, r1 - r0, st);
	if (st->smin_n > STAT_MAX_STRING || st->smax_n > STAT_MAX_STRING)
		st->has_bounds = false;
}

/* Same, from a complete dictionary of the chunk (its entries are the distinct values). */
static void stats_from_dict(const mc_column *c, const wr_dict *d, size_t nulls, wr_stats *st)
{
	memset(st, 0, sizeof *st);
	st->null_count = (int64_t)nulls;
	if (c->type != MC_T_STRING) {
		/* keys hold each value in their low bytes (little-endian host) */
		bounds_fixed(c->type, (const uint8_t *)d->keys, sizeof *d->keys, NULL, d->n, st);
		return;
	}
	for (size_t id = 0; id < d->n; id++) {
		size_t n;
		const char *s = str_at(c, d->rep[id], &n);
		bound_string(st, s, n);
	}
	if (st->smin_n > STAT_MAX_STRING || st->smax_n > STAT_MAX_STRING)
		st->has_bounds = false;
}

/* ---- Dictionary ---- */

#define K1 0x9e3779b97f4a7c15ULL
#define K2 0xc2b2ae3d27d4eb4fULL

static inline uint64_t hash_final(uint64_t h)
{
	h ^= h >> 32;
	h *= K2;
	return h ^ (h >> 29);
}

static inline uint64_t hash_key(uint64_t v)
{
	return hash_final(v * K1);
}

/*
 * A string's key: two words that, with its length, identify a string of up to 16 bytes (its
 * first and last eight bytes, or four, or the bytes themselves); for longer strings they are
 * only a filter before comparing bytes.
 */
typedef struct str_key {
	uint64_t w0, w1;
} str_key;

static inline str_key key_of(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	if (n >= 8)
		return (str_key){load64(p), load64(p + n - 8)};
	if (n >= 4)
		return (str_key){(uint64_t)load32(p) << 32 | load32(p + n - 4), 0};
	if (n)
		return (str_key){(uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1], 0};
	return (str_key){0, 0};
}

/* Hash of a string: from its key up to 16 bytes, else eight bytes at a time. */
static inline uint64_t hash_str(const char *s, size_t n, str_key k)
{
	if (n > 16) {
		const uint8_t *p = (const uint8_t *)s;
		uint64_t h = (uint64_t)n * K2;
		for (; n > 8; p += 8, n -= 8) {
			h = (h ^ load64(p)) * K1;
			h ^= h >> 31;
		}
		k.w0 ^= h;
	}
	uint64_t h = (k.w0 * K1) ^ (k.w1 * K2) ^ n;
	return h ^ (h >> 32);
}

#define SLOT_TAG(h) ((h) & ~(uint64_t)UINT32_MAX)

/* An empty table of DICT_MIN_SLOTS slots. */
static bool dict_start(wr_dict *d)
{
	d->n = 0;
	d->bytes = 0;
	if (d->slots_cap < DICT_MIN_SLOTS) {
		uint64_t *s = realloc(d->slots, DICT_MIN_SLOTS * sizeof *s);
		if (!s)
			return false;
		d->slots = s;
		d->slots_cap = DICT_MIN_SLOTS;
	}
	d->nslots = DICT_MIN_SLOTS;
	memset(d->slots, 0, d->nslots * sizeof *d->slots);
	return true;
}

/* Double the table and re-insert the entries from their stored hashes. */
static bool dict_grow(wr_dict *d)
{
	size_t ns = d->nslots * 2;
	if (ns > d->slots_cap) {
		uint64_t *s = realloc(d->slots, ns * sizeof *s);
		if (!s)
			return false;
		d->slots = s;
		d->slots_cap = ns;
	}
	d->nslots = ns;
	memset(d->slots, 0, ns * sizeof *d->slots);
	for (size_t id = 0; id < d->n; id++) {
		size_t s = d->hashes[id] & (ns - 1);
		while (d->slots[s])
			s = (s + 1) & (ns - 1);
		d->slots[s] = SLOT_TAG(d->hashes[id]) | (id + 1);
	}
	return true;
}

/* Make room for one more entry. */
static bool dict_reserve(wr_dict *d)
{
	if (d->n < d->ent_cap)
		return true;
	size_t cap = d->ent_cap ? d->ent_cap * 2 : 256;
	size_t *rep = realloc(d->rep, cap * sizeof *rep);
	if (rep)
		d->rep = rep;
	uint64_t *keys = rep ? realloc(d->keys, cap * sizeof *keys) : NULL;
	if (keys)
		d->keys = keys;
	uint64_t *keys2 = keys ? realloc(d->keys2, cap * sizeof *keys2) : NULL;
	if (keys2)
		d->keys2 = keys2;
	uint32_t *lens = keys2 ? realloc(d->lens, cap * sizeof *lens) : NULL;
	if (lens)
		d->lens = lens;
	uint64_t *hashes = lens ? realloc(d->hashes, cap * sizeof *hashes) : NULL;
	if (!hashes)
		return false;
	d->hashes = hashes;
	d->ent_cap = cap;
	return true;
}

/*
 * Add an entry (row r, key words k0 and k1, length n, hash h) in empty slot s, if its PLAIN
 * size `cost` fits: its id, -1 out of memory, -2 full.
 */
PQ_NOINLINE static int64_t dict_add(wr_dict *d, size_t s, uint64_t h, uint64_t k0, uint64_t k1,
				    size_t n, size_t r, size_t cost)
{
	if (d->bytes + cost > DICT_MAX_BYTES)
		return -2;
	if (!dict_reserve(d))
		return -1;
	size_t id = d->n++;
	d->rep[id] = r;
	d->keys[id] = k0;
	d->keys2[id] = k1;
	d->lens[id] = (uint32_t)n;
	d->hashes[id] = h;
	d->slots[s] = SLOT_TAG(h) | (id + 1);
	d->bytes += cost;
	if (d->n * 2 > d->nslots && !dict_grow(d))
		return -1;
	return (int64_t)id;
}

/* Entry id of a fixed-width value (row r), adding it when new; see dict_add. */
static inline int64_t dict_find_key(wr_dict *d, uint64_t key, size_t r, size_t w)
{
	uint64_t h = hash_key(key), tag = SLOT_TAG(h);
	size_t mask = d->nslots - 1;
	for (size_t s = h & mask;; s = (s + 1) & mask) {
		uint64_t e = d->slots[s];
		if (!e)
			return dict_add(d, s, h, key, 0, 0, r, w);
		if (SLOT_TAG(e) == tag && d->keys[(uint32_t)e - 1] == key)
			return (uint32_t)e - 1;
	}
}

/* Entry id of string p[0..n) (key k, row r of c), adding it when new; see dict_add. */
static inline int64_t dict_find_str(wr_dict *d, const mc_column *c, const char *p, size_t n,
				    str_key k, size_t r)
{
	uint64_t h = hash_str(p, n, k), tag = SLOT_TAG(h);
	size_t mask = d->nslots - 1;
	for (size_t s = h & mask;; s = (s + 1) & mask) {
		uint64_t e = d->slots[s];
		if (!e)
			return dict_add(d, s, h, k.w0, k.w1, n, r, 4 + n);
		size_t id = (uint32_t)e - 1;
		if (SLOT_TAG(e) != tag || d->keys[id] != k.w0 || d->keys2[id] != k.w1 ||
		    d->lens[id] != n)
			continue;
		if (n <= 16)
			return (int64_t)id;
		size_t en;
		const char *ep = str_at(c, d->rep[id], &en);
		if (bytes_eq(ep, p, n))
			return (int64_t)id;
	}
}

/* Dictionary id of fixed-width value v of row r, when it differs from the previous value. */
PQ_NOINLINE static int64_t fixed_miss(wr_dict *d, uint64_t v, size_t r, size_t wd)
{
	return dict_find_key(d, v, r, wd);
}

/*
 * Dictionary ids of the present values of rows [r0, r1) into w->idx.  A run of equal values
 * is looked up once.  Returns 0, -1 (out of memory) or -2 (dictionary full).  (The loops are
 * kept small and separate so that their variables stay in registers.)
 */
PQ_NOINLINE static int dict_fixed(wr_ctx *w, const mc_column *c, size_t r0, size_t r1, size_t wd)
{
	const uint8_t *vals = c->values, *valid = c->valid;
	uint32_t *out = w->idx, id = 0;
	uint64_t prev = 0;
	int64_t got;
	if (r0 == r1)
		return 0;
	if (!valid && wd == 4) {
		for (size_t r = r0; r < r1; r++) {
			uint64_t v = load32(vals + 4 * r);
			if (v != prev || r == r0) {
				if ((got = fixed_miss(&w->dict, v, r, 4)) < 0)
					return (int)got;
				id = (uint32_t)got;
				prev = v;
			}
			*out++ = id;
		}
	} else if (!valid) {
		for (size_t r = r0; r < r1; r++) {
			uint64_t v = load64(vals + 8 * r);
			if (v != prev || r == r0) {
				if ((got = fixed_miss(&w->dict, v, r, 8)) < 0)
					return (int)got;
				id = (uint32_t)got;
				prev = v;
			}
			*out++ = id;
		}
	} else {
		/* with nulls, values seldom repeat (as prices): the table is probed in line */
		wr_dict *d = &w->dict;
		for (size_t r = r0; r < r1; r++) {
			if (!valid[r])
				continue;
			uint64_t v = wd == 4 ? load32(vals + 4 * r) : load64(vals + 8 * r);
			if ((got = dict_find_key(d, v, r, wd)) < 0)
				return (int)got;
			*out++ = (uint32_t)got;
		}
	}
	return 0;
}

/* Whether strings a and b, both n > 16 bytes long with equal keys, are equal. */
static inline bool long_eq(const char *a, const char *b, size_t n)
{
	if (n <= 24) /* the keys covered all but bytes 8..16 */
		return load64(a + 8) == load64(b + 8);
	return bytes_eq(a, b, n);
}

/* Whether s[0..n) with key k is the string in cache slot e. */
static inline bool slot_eq(const wr_str_slot *e, const char *s, size_t n, str_key k)
{
	return e->n1 == n + 1 && e->w0 == k.w0 && e->w1 == k.w1 && (n <= 16 || long_eq(s, e->p, n));
}

/* Dictionary id of string s[0..n) (key k, row r of c) missing from its cache slot e. */
PQ_NOINLINE static int64_t str_miss(wr_ctx *w, const mc_column *c, const char *s, size_t n,
				    str_key k, size_t r, wr_str_slot *e)
{
	int64_t got = dict_find_str(&w->dict, c, s, n, k, r);
	if (got >= 0)
		*e = (wr_str_slot){k.w0, k.w1, s, (uint32_t)(n + 1), (uint32_t)got};
	return got;
}

/*
 * Dictionary ids of the present values of rows [r0, r1) of a string column into w->idx; *plain
 * gets the PLAIN size of the values.  Before the table, a small cache indexed by the string's
 * length is tried: it holds the last value seen of each length (modulo WR_STR_CACHE), which in
 * low-cardinality columns is usually the one wanted.
 */
PQ_NOINLINE static int dict_strings(wr_ctx *w, const mc_column *c, size_t r0, size_t r1,
				    size_t *plain)
{
	const uint8_t *valid = c->valid;
	const int64_t *off = c->offsets;
	const char *base = c->bytes ? c->bytes : "";
	uint32_t *out = w->idx;
	memset(w->str_cache, 0, sizeof w->str_cache);
	size_t sum = 0;
	if (!valid) {
		for (size_t r = r0; r < r1; r++) {
			size_t n = (size_t)(off[r + 1] - off[r]);
			const char *s = base + off[r];
			str_key key = key_of(s, n);
			wr_str_slot *e = &w->str_cache[n % WR_STR_CACHE];
			if (!slot_eq(e, s, n, key)) {
				int64_t got = str_miss(w, c, s, n, key, r, e);
				if (got < 0)
					return (int)got;
			}
			*out++ = e->id;
		}
		sum = (size_t)(off[r1] - off[r0]);
	} else {
		for (size_t r = r0; r < r1; r++) {
			if (!valid[r])
				continue;
			size_t n = (size_t)(off[r + 1] - off[r]);
			const char *s = base + off[r];
			str_key key = key_of(s, n);
			wr_str_slot *e = &w->str_cache[n % WR_STR_CACHE];
			if (!slot_eq(e, s, n, key)) {
				int64_t got = str_miss(w, c, s, n, key, r, e);
				if (got < 0)
					return (int)got;
			}
			*out++ = e->id;
			sum += n;
		}
	}
	*plain = sum + 4 * (size_t)(out - w->idx);
	return 0;
}

/*
 * Whether rows [r0, r1) (r0 < r1) of a column without nulls all hold the same value: the
 * values are periodic with the first one's size as period (strings also need equal lengths).
 * A column that is not stops the comparison early.
 */
static bool is_constant(const mc_column *c, size_t r0, size_t r1)
{
	size_t w = mc_type_width(c->type), rows = r1 - r0;
	if (w) {
		const uint8_t *v = (const uint8_t *)c->values + r0 * w;
		return memcmp(v + w, v, (rows - 1) * w) == 0;
	}
	const int64_t *o = c->offsets;
	uint64_t n = (uint64_t)(o[r0 + 1] - o[r0]), total = (uint64_t)(o[r1] - o[r0]);
	if (n == 0 || total % n != 0 || total / n != rows)
		return false;
	const char *s = c->bytes + o[r0];
	if (memcmp(s + n, s, (rows - 1) * n) != 0)
		return false;
	uint64_t bad = 0;
	size_t r = r0 + 1;
	for (; r + 4 <= r1; r += 4)
		bad |= (((uint64_t)o[r + 1] - (uint64_t)o[r]) ^ n) |
		       (((uint64_t)o[r + 2] - (uint64_t)o[r + 1]) ^ n) |
		       (((uint64_t)o[r + 3] - (uint64_t)o[r + 2]) ^ n) |
		       (((uint64_t)o[r + 4] - (uint64_t)o[r + 3]) ^ n);
	for (; r < r1; r++)
		bad |= ((uint64_t)o[r + 1] - (uint64_t)o[r]) ^ n;
	return bad == 0;
}

/*
 * Try a dictionary for the chunk (nn present values): fills w->dict and w->idx.  *complete is
 * true when every value made it into the dictionary, *use when the dictionary also pays.
 */
static mc_code build_dict(wr_ctx *w, const mc_column *c, size_t r0, size_t r1, size_t nn,
			  bool *complete, bool *use)
{
	*complete = *use = false;
	w->dict.n = 0;
	w->idx_zero = false;
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
	if (!dict_start(&w->dict))
		return MC_ERR_NOMEM;
	size_t plain = nn * wd;
	int got;
	if (!c->valid && is_constant(c, r0, r1)) {
		/* one entry, every index 0 */
		const uint8_t *v = (const uint8_t *)c->values + r0 * wd;
		size_t n = 0;
		const char *s = wd ? NULL : str_at(c, r0, &n);
		int64_t id = wd ? dict_find_key(&w->dict, wd == 4 ? load32(v) : load64(v), r0, wd)
				: dict_find_str(&w->dict, c, s, n, key_of(s, n), r0);
		got = id < 0 ? (int)id : 0;
		w->idx_zero = true;
		if (!wd)
			plain = nn * (4 + n);
	} else {
		got = wd ? dict_fixed(w, c, r0, r1, wd) : dict_strings(w, c, r0, r1, &plain);
	}
	if (got == -1)
		return MC_ERR_NOMEM;
	if (got == -2)
		return MC_OK;
	const wr_dict *d = &w->dict;
	int bw = pq_bit_width((uint32_t)(d->n - 1));
	size_t est = d->bytes + (nn * (size_t)(bw ? bw : 1) + 7) / 8;
	*complete = true;
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
	const mc_buf *data = &w->body;
	mc_code rc;
	if (o->codec != MC_PQ_UNCOMPRESSED) {
		mc_buf_reset(&w->comp);
		rc = pq_compress(&w->codecs, o->codec, o->zstd_level, w->body.data, w->body.len,
				 &w->comp);
		if (rc)
			return mc_fail(w->err, rc, "compression failed");
		if (w->comp.len > INT32_MAX)
			return mc_fail(w->err, MC_ERR_LIMIT,
				       "a compressed page exceeds the 2 GiB limit");
		data = &w->comp;
	}
	/* The header goes straight to the output. */
	size_t at = w->out->len;
	tc_writer tw;
	tc_writer_init(&tw, w->out);
	tw_struct_begin(&tw);
	tw_field_i32(&tw, 1, page_type);
	tw_field_i32(&tw, 2, (int32_t)w->body.len);
	tw_field_i32(&tw, 3, (int32_t)data->len);
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
	if ((rc = tw.rc) || (rc = mc_buf_append(w->out, data->data, data->len)))
		return mc_fail(w->err, rc,
			       rc == MC_ERR_NOMEM ? "out of memory"
						  : "the output exceeds its size limit");
	size_t hdr = w->out->len - at - data->len;
	ch->uncompressed += (int64_t)(hdr + w->body.len);
	ch->compressed += (int64_t)(hdr + data->len);
	ch->encodings |= 1u << encoding;
	return MC_OK;
}

/* PLAIN bytes of the nn present values of rows [a, b) into w->body. */
static mc_code plain_values(wr_ctx *w, const mc_column *c, size_t a, size_t b, size_t nn)
{
	size_t wd = mc_type_width(c->type);
	mc_buf *o = &w->body;
	const uint8_t *valid = c->valid;
	if (c->type == MC_T_BOOL) {
		size_t k = 0;
		for (size_t r = a; r < b; r++)
			if (present(c, r))
				w->levels[k++] = MC_COL_BOOL(c)[r];
		return pq_pack_bools(w->levels, k, o);
	}
	if (wd) {
		const uint8_t *v = c->values;
		if (!valid)
			return mc_buf_append(o, v + a * wd, (b - a) * wd);
		mc_code rc = mc_buf_reserve(o, nn * wd);
		if (rc)
			return rc;
		uint8_t *d = o->data + o->len;
		for (size_t r = a; r < b; r++)
			if (valid[r]) {
				memcpy(d, v + r * wd, wd);
				d += wd;
			}
		o->len = (size_t)(d - o->data);
		o->data[o->len] = '\0';
		return MC_OK;
	}
	size_t total = 0, n;
	for (size_t r = a; r < b; r++)
		if (present(c, r))
			total += 4 + (str_at(c, r, &n), n);
	mc_code rc = mc_buf_reserve(o, total);
	if (rc)
		return rc;
	uint8_t *d = o->data + o->len;
	for (size_t r = a; r < b; r++) {
		if (!present(c, r))
			continue;
		const char *s = str_at(c, r, &n);
		pq_put_le32(d, (uint32_t)n);
		pq_copy_short((char *)d + 4, (const uint8_t *)s, n);
		d += 4 + n;
	}
	o->len += total;
	o->data[o->len] = '\0';
	return MC_OK;
}

/* Definition levels of rows [a, b) as a length-prefixed RLE run into w->body. */
static mc_code def_levels(wr_ctx *w, const mc_column *c, size_t a, size_t b)
{
	if (c->valid)
		for (size_t r = a; r < b; r++)
			w->levels[r - a] = c->valid[r] != 0;
	else
		memset(w->levels, 1, b - a);
	size_t at = w->body.len;
	uint8_t zero[4] = {0};
	mc_code rc = mc_buf_append(&w->body, zero, 4);
	if (!rc)
		rc = pq_rle_encode_u8(w->levels, b - a, 1, &w->body);
	if (!rc)
		pq_put_le32(w->body.data + at, (uint32_t)(w->body.len - at - 4));
	return rc;
}

/* The dictionary page: each entry's PLAIN value. */
static mc_code write_dict_page(wr_ctx *w, const mc_column *c, wr_chunk *ch)
{
	const wr_dict *d = &w->dict;
	size_t wd = mc_type_width(c->type);
	mc_buf_reset(&w->body);
	mc_code rc = mc_buf_reserve(&w->body, d->bytes);
	if (rc)
		return mc_fail(w->err, rc, "out of memory");
	uint8_t *p = w->body.data;
	for (size_t id = 0; id < d->n; id++) {
		if (wd) {
			memcpy(p, &d->keys[id], wd); /* the value's low bytes (little-endian) */
			p += wd;
		} else {
			size_t n;
			const char *s = str_at(c, d->rep[id], &n);
			pq_put_le32(p, (uint32_t)n);
			if (n)
				memcpy(p + 4, s, n);
			p += 4 + n;
		}
	}
	w->body.len = d->bytes;
	w->body.data[w->body.len] = '\0';
	ch->dict_offset = (int64_t)(w->out->len - w->base);
	return emit_page(w, PQ_PAGE_DICTIONARY, d->n, PQ_ENC_PLAIN, ch);
}

/* Present rows in [a, b). */
static size_t count_present(const mc_column *c, size_t a, size_t b)
{
	if (!c->valid)
		return b - a;
	size_t nn = 0;
	for (size_t r = a; r < b; r++)
		nn += c->valid[r] != 0;
	return nn;
}

/*
 * End of the page starting at row a: rows are added while the estimated encoded bits of the
 * rows before are under `limit` (at least one row, at most PAGE_MAX_ROWS).  vbits is the size
 * of a present value, or 0 for PLAIN strings (4 + length bytes).  *nn gets the present rows.
 */
static size_t page_end(const mc_column *c, size_t a, size_t r1, size_t limit, size_t vbits,
		       size_t *nn)
{
	size_t nbits = c->nullable ? 1 : 0, max_rows = PAGE_MAX_ROWS;
	if (vbits && r1 - a <= max_rows && (r1 - a - 1) * (nbits + vbits) < limit) {
		*nn = count_present(c, a, r1); /* everything left fits */
		return r1;
	}
	size_t b = a, bits = 0, k = 0;
	while (b < r1 && (bits < limit || b == a) && b - a < max_rows) {
		bits += nbits;
		if (present(c, b)) {
			size_t n = 0;
			if (!vbits)
				str_at(c, b, &n);
			bits += vbits ? vbits : 8 * (4 + n);
			k++;
		}
		b++;
	}
	*nn = k;
	return b;
}

static mc_code write_data_pages(wr_ctx *w, const mc_column *c, size_t r0, size_t r1, size_t nn,
				int dict_bw, wr_chunk *ch)
{
	size_t limit = w->o->page_bytes * 8, k = 0; /* k: index of the page's first present value */
	size_t wd = mc_type_width(c->type);
	size_t vbits = dict_bw >= 0	      ? (size_t)(dict_bw ? dict_bw : 1)
		       : c->type == MC_T_BOOL ? 1
					      : 8 * wd;
	ch->data_offset = (int64_t)(w->out->len - w->base);
	for (size_t a = r0; a < r1;) {
		size_t pn, b;
		if (a == r0 && vbits && r1 - a <= PAGE_MAX_ROWS &&
		    (r1 - a - 1) * ((c->nullable ? 1 : 0) + vbits) < limit) {
			b = r1; /* the usual case: the whole chunk in one page */
			pn = nn;
		} else {
			b = page_end(c, a, r1, limit, vbits, &pn);
		}
		mc_buf_reset(&w->body);
		mc_code rc = c->nullable ? def_levels(w, c, a, b) : MC_OK;
		if (!rc && dict_bw >= 0) {
			rc = mc_buf_putc(&w->body, (uint8_t)dict_bw);
			if (!rc)
				rc = w->idx_zero ? pq_rle_encode_zeros(pn, dict_bw, &w->body)
						 : pq_rle_encode(w->idx + k, pn, dict_bw, &w->body);
		} else if (!rc) {
			rc = plain_values(w, c, a, b, pn);
		}
		if (rc)
			return mc_fail(w->err, rc, "out of memory");
		rc = emit_page(w, PQ_PAGE_DATA, b - a,
			       dict_bw >= 0 ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN, ch);
		if (rc)
			return rc;
		k += pn;
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
	size_t rows = r1 - r0, nn = count_present(c, r0, r1);
	size_t lv = rows < PAGE_MAX_ROWS ? rows : PAGE_MAX_ROWS;
	if (lv > w->levels_cap) {
		uint8_t *l = realloc(w->levels, lv);
		if (!l)
			return mc_fail(w->err, MC_ERR_NOMEM, "out of memory");
		w->levels = l;
		w->levels_cap = lv;
	}
	bool complete, use;
	mc_code rc = build_dict(w, c, r0, r1, nn, &complete, &use);
	if (rc)
		return mc_fail(w->err, rc, "out of memory");
	if (w->o->statistics && complete)
		stats_from_dict(c, &w->dict, rows - nn, &ch->st);
	else if (w->o->statistics)
		compute_stats(c, r0, r1, nn, &ch->st);
	int bw = -1;
	if (use) {
		bw = pq_bit_width((uint32_t)(w->dict.n - 1));
		if (bw == 0)
			bw = 1;
		rc = write_dict_page(w, c, ch);
	}
	if (!rc)
		rc = write_data_pages(w, c, r0, r1, nn, bw, ch);
	return rc;
}

void pq_wr_ctx_free(wr_ctx *w)
{
	mc_buf_release(&w->body);
	mc_buf_release(&w->comp);
	free(w->idx);
	free(w->levels);
	free(w->dict.rep);
	free(w->dict.keys);
	free(w->dict.keys2);
	free(w->dict.lens);
	free(w->dict.hashes);
	free(w->dict.slots);
	pq_codecs_free(&w->codecs);
	memset(w, 0, sizeof *w);
}
