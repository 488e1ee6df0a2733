/*
 * A string-keyed hash map (open addressing, linear probing) from byte
 * strings to int64 values, for de-duplication and catalogs.  Keys are
 * copied into the map; mc_strmap_new() / mc_strmap_free().
 */
#ifndef MILKCAST_STRMAP_H
#define MILKCAST_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

typedef struct mc_strmap mc_strmap;

mc_strmap *mc_strmap_new(size_t expected);
void mc_strmap_free(mc_strmap *m);
/* Insert or replace. */
mc_code mc_strmap_put(mc_strmap *m, const char *key, size_t n, int64_t value);
/* True and *value set when present. */
bool mc_strmap_get(const mc_strmap *m, const char *key, size_t n, int64_t *value);
size_t mc_strmap_count(const mc_strmap *m);

#endif
