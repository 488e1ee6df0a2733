/*
 * A hash map from 64-bit keys to 64-bit values (open addressing, linear
 * probing), for joins on integer identities such as (date, series id).
 * mc_u64map_new() / mc_u64map_free().
 */
#ifndef MILKCAST_U64MAP_H
#define MILKCAST_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

typedef struct mc_u64map mc_u64map;

mc_u64map *mc_u64map_new(size_t expected);
void mc_u64map_free(mc_u64map *m);
/* Insert or replace. */
mc_code mc_u64map_put(mc_u64map *m, uint64_t key, int64_t value);
bool mc_u64map_get(const mc_u64map *m, uint64_t key, int64_t *value);
size_t mc_u64map_count(const mc_u64map *m);

#endif
