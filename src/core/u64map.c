/* uint64 → int64 hash map with open addressing; an occupancy byte per slot. */
#include "milkcast/u64map.h"

#include <stdlib.h>

typedef struct slot {
	uint64_t key;
	int64_t value;
} slot;

struct mc_u64map {
	slot *slots;
	uint8_t *used;
	size_t cap; /* power of two */
	size_t count;
};

static size_t mix(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

static bool alloc_slots(mc_u64map *m, size_t cap)
{
	m->slots = malloc(cap * sizeof *m->slots);
	m->used = calloc(cap, 1);
	m->cap = cap;
	return m->slots && m->used;
}

mc_u64map *mc_u64map_new(size_t expected)
{
	mc_u64map *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	size_t cap = 16;
	while (cap < expected * 2)
		cap *= 2;
	if (!alloc_slots(m, cap)) {
		mc_u64map_free(m);
		return NULL;
	}
	return m;
}

void mc_u64map_free(mc_u64map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->used);
	free(m);
}

static size_t find(const mc_u64map *m, uint64_t key)
{
	size_t i = mix(key, m->cap);
	while (m->used[i] && m->slots[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static mc_code grow(mc_u64map *m)
{
	mc_u64map old = *m;
	if (!alloc_slots(m, old.cap * 2)) {
		free(m->slots);
		free(m->used);
		*m = old;
		return MC_ERR_NOMEM;
	}
	for (size_t i = 0; i < old.cap; i++) {
		if (!old.used[i])
			continue;
		size_t j = find(m, old.slots[i].key);
		m->used[j] = 1;
		m->slots[j] = old.slots[i];
	}
	free(old.slots);
	free(old.used);
	return MC_OK;
}

mc_code mc_u64map_put(mc_u64map *m, uint64_t key, int64_t value)
{
	if ((m->count + 1) * 4 > m->cap * 3 && grow(m))
		return MC_ERR_NOMEM;
	size_t i = find(m, key);
	if (!m->used[i]) {
		m->used[i] = 1;
		m->slots[i].key = key;
		m->count++;
	}
	m->slots[i].value = value;
	return MC_OK;
}

bool mc_u64map_get(const mc_u64map *m, uint64_t key, int64_t *value)
{
	size_t i = find(m, key);
	if (!m->used[i])
		return false;
	if (value)
		*value = m->slots[i].value;
	return true;
}

size_t mc_u64map_count(const mc_u64map *m)
{
	return m->count;
}
