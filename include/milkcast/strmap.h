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

/*
 * A composite key: the n parts, each cut to max_part bytes and followed by
 * a 0x1F (unit separator).  out must hold n * (max_part + 1) bytes.
 * Returns the key's length.
 */
size_t mc_key_join(char *out, const char *const *parts, const size_t *lens, int n, size_t max_part);

#endif
