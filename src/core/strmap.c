/* String → int64 hash map with open addressing (word-at-a-time hash, linear probing). */
#include "milkcast/strmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct slot {
	char *key; /* NULL = empty */
	size_t len;
	uint64_t hash;
	int64_t value;
} slot;

/* Keys live in a chain of large blocks, freed together: no malloc per key. */
typedef struct key_block {
	struct key_block *next;
	size_t used, cap;
	char bytes[];
} key_block;

struct mc_strmap {
	slot *slots;
	size_t cap; /* power of two */
	size_t count;
	key_block *keys;
};

static char *key_copy(mc_strmap *m, const char *key, size_t n)
{
	key_block *b = m->keys;
	if (!b || b->cap - b->used < n + 1) {
		size_t cap = n + 1 > 65536 ? n + 1 : 65536;
		key_block *nb = malloc(sizeof *nb + cap);
		if (!nb)
			return NULL;
		nb->next = b;
		nb->used = 0;
		nb->cap = cap;
		m->keys = b = nb;
	}
	char *p = b->bytes + b->used;
	memcpy(p, key, n);
	p[n] = '\0';
	b->used += n + 1;
	return p;
}

/* Hash eight bytes at a time (multiply-xorshift mixing), then the tail. */
static uint64_t hash_bytes(const char *s, size_t n)
{
	const uint64_t k = 0x9E3779B97F4A7C15ull;
	uint64_t h = 0x2545F4914F6CDD1Dull ^ (n * k);
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * k;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	uint64_t tail = 0;
	memcpy(&tail, s, n);
	h = (h ^ tail) * k;
	h ^= h >> 32;
	return h;
}

mc_strmap *mc_strmap_new(size_t expected)
{
	mc_strmap *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->cap = 16;
	while (m->cap < expected * 2)
		m->cap *= 2;
	m->slots = calloc(m->cap, sizeof(slot));
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void mc_strmap_free(mc_strmap *m)
{
	if (!m)
		return;
	for (key_block *b = m->keys, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(m->slots);
	free(m);
}

static slot *probe(const mc_strmap *m, const char *key, size_t n, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);
	for (;;) {
		slot *s = &m->slots[i];
		if (!s->key || (s->hash == h && s->len == n && memcmp(s->key, key, n) == 0))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

static mc_code grow(mc_strmap *m)
{
	size_t old_cap = m->cap;
	slot *old = m->slots;
	slot *fresh = calloc(old_cap * 2, sizeof(slot));
	if (!fresh)
		return MC_ERR_NOMEM;
	m->slots = fresh;
	m->cap = old_cap * 2;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key)
			*probe(m, old[i].key, old[i].len, old[i].hash) = old[i];
	free(old);
	return MC_OK;
}

mc_code mc_strmap_put(mc_strmap *m, const char *key, size_t n, int64_t value)
{
	if ((m->count + 1) * 4 > m->cap * 3 && grow(m))
		return MC_ERR_NOMEM;
	uint64_t h = hash_bytes(key, n);
	slot *s = probe(m, key, n, h);
	if (!s->key) {
		s->key = key_copy(m, key, n);
		if (!s->key)
			return MC_ERR_NOMEM;
		s->len = n;
		s->hash = h;
		m->count++;
	}
	s->value = value;
	return MC_OK;
}

bool mc_strmap_get(const mc_strmap *m, const char *key, size_t n, int64_t *value)
{
	slot *s = probe(m, key, n, hash_bytes(key, n));
	if (!s->key)
		return false;
	if (value)
		*value = s->value;
	return true;
}

size_t mc_key_join(char *out, const char *const *parts, const size_t *lens, int n, size_t max_part)
{
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		size_t take = lens[i] < max_part ? lens[i] : max_part;
		memcpy(out + k, parts[i], take);
		k += take;
		out[k++] = '\x1f';
	}
	return k;
}

size_t mc_strmap_count(const mc_strmap *m)
{
	return m->count;
}
