/*
 * Stable sort of (key, value) pairs by a 64-bit key: LSD radix sort, one
 * byte per pass, skipping bytes that are equal in every key. Used where rows
 * are ordered by a packed integer key (date << 32 | series rank).
 */
#ifndef MILKCAST_SORT_H
#define MILKCAST_SORT_H

#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

typedef struct mc_sort_pair {
	uint64_t key;
	uint64_t value;
} mc_sort_pair;

/* Sorts items[0..n) by key; equal keys keep their order. MC_ERR_NOMEM when
 * the scratch buffer cannot be allocated (items unchanged then). */
mc_code mc_sort_pairs(mc_sort_pair *items, size_t n);

#endif
