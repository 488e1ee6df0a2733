/*
 * Counting categories: distinct byte strings of both samples in one
 * open-addressing hash table (the keys point into the caller's data, no
 * copies), counts per sample, then the categories sorted by key so the
 * tests and reports see them in a fixed order (Python's sorted() on str is
 * code-point order, which is UTF-8 byte order).
 */
#include <stdlib.h>
#include <string.h>

#include "drift/drift_int.h"

#define EMPTY_SLOT UINT32_MAX

static uint64_t load64(const char *s)
{
	uint64_t w;
	memcpy(&w, s, sizeof w);
	return w;
}

static uint64_t load32(const char *s)
{
	uint32_t w;
	memcpy(&w, s, sizeof w);
	return w;
}

/* The last 8 bytes of s (n >= 8), or all of them packed into one word (n <
 * 8): two overlapping loads, never a byte loop. */
static uint64_t tail_word(const char *s, size_t n)
{
	if (n >= 8)
		return load64(s + n - 8);
	if (n >= 4)
		return load32(s) | load32(s + n - 4) << 32;
	if (n > 0)
		return (uint64_t)(unsigned char)s[0] | (uint64_t)(unsigned char)s[n / 2] << 8 |
		       (uint64_t)(unsigned char)s[n - 1] << 16;
	return 0;
}

/* 64-bit hash of a short string: whole words, the tail as one more word
 * (overlapping the last), multiply-xorshift mixing; the length is mixed in. */
static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15u ^ n;
	for (size_t i = 0; i + 8 < n; i += 8) {
		h = (h ^ load64(s + i)) * 0xff51afd7ed558ccdu;
		h ^= h >> 32;
	}
	h = (h ^ tail_word(s, n)) * 0xc4ceb9fe1a85ec53u;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdu;
	return h ^ (h >> 32);
}

/* a[0..n) == b[0..n): up to 16 bytes by two overlapping words each. */
static bool same_bytes(const char *a, const char *b, size_t n)
{
	if (n > 16)
		return memcmp(a, b, n) == 0;
	if (n > 8)
		return load64(a) == load64(b) && load64(a + n - 8) == load64(b + n - 8);
	return tail_word(a, n) == tail_word(b, n);
}

void mc_catcount_init(mc_catcount *c)
{
	memset(c, 0, sizeof *c);
}

void mc_catcount_release(mc_catcount *c)
{
	free(c->cat);
	free(c->slots);
	mc_catcount_init(c);
}

/* Rebuilds the slot table at twice the size (load kept under 1/2). */
static mc_code grow_slots(mc_catcount *c)
{
	size_t nslots = c->nslots ? 2 * c->nslots : 64;
	uint32_t *slots = malloc(nslots * sizeof *slots);
	if (!slots)
		return MC_ERR_NOMEM;
	memset(slots, 0xff, nslots * sizeof *slots);
	for (size_t e = 0; e < c->k; e++) {
		size_t s = c->cat[e].hash & (nslots - 1);
		while (slots[s] != EMPTY_SLOT)
			s = (s + 1) & (nslots - 1);
		slots[s] = (uint32_t)e;
	}
	free(c->slots);
	c->slots = slots;
	c->nslots = nslots;
	return MC_OK;
}

static mc_code new_category(mc_catcount *c, size_t slot, const char *s, size_t len, uint64_t h)
{
	if (c->k >= EMPTY_SLOT)
		return MC_ERR_LIMIT;
	if (c->k == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		mc_category *cat = realloc(c->cat, cap * sizeof *cat);
		if (!cat)
			return MC_ERR_NOMEM;
		c->cat = cat;
		c->cap = cap;
	}
	c->cat[c->k] = (mc_category){.key = s, .len = len, .hash = h};
	c->slots[slot] = (uint32_t)c->k++;
	return MC_OK;
}

mc_code mc_catcount_add(mc_catcount *c, int side, const char *s, size_t len)
{
	if (2 * (c->k + 1) > c->nslots && grow_slots(c) != MC_OK)
		return MC_ERR_NOMEM;
	uint64_t h = hash_bytes(s, len);
	size_t mask = c->nslots - 1, slot = h & mask;
	mc_category *e = NULL;
	for (uint32_t i; (i = c->slots[slot]) != EMPTY_SLOT; slot = (slot + 1) & mask) {
		mc_category *t = &c->cat[i];
		if (t->hash == h && t->len == len && same_bytes(t->key, s, len)) {
			e = t;
			break;
		}
	}
	if (!e) {
		mc_code rc = new_category(c, slot, s, len, h);
		if (rc != MC_OK)
			return rc;
		e = &c->cat[c->k - 1];
	}
	if (side) {
		e->cc++;
		c->n_cur++;
	} else {
		e->rc++;
		c->n_ref++;
	}
	return MC_OK;
}

static int cmp_category(const void *pa, const void *pb)
{
	const mc_category *a = pa, *b = pb;
	int c = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

mc_code mc_catcount_finish(mc_catcount *c, uint64_t **rc, uint64_t **cc)
{
	if (c->k > 1)
		qsort(c->cat, c->k, sizeof *c->cat, cmp_category);
	free(c->slots); /* the slots index the old order */
	c->slots = NULL;
	c->nslots = 0;
	*rc = malloc((c->k ? c->k : 1) * sizeof **rc);
	*cc = malloc((c->k ? c->k : 1) * sizeof **cc);
	if (!*rc || !*cc) {
		free(*rc);
		free(*cc);
		*rc = *cc = NULL;
		return MC_ERR_NOMEM;
	}
	for (size_t i = 0; i < c->k; i++) {
		(*rc)[i] = c->cat[i].rc;
		(*cc)[i] = c->cat[i].cc;
	}
	return MC_OK;
}
