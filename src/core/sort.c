/* LSD radix sort of 64-bit keys; see milkcast/sort.h. */
#include "milkcast/sort.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool already_sorted(const mc_sort_pair *a, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (a[i - 1].key > a[i].key)
			return false;
	return true;
}

mc_code mc_sort_pairs(mc_sort_pair *items, size_t n)
{
	if (n < 2 || already_sorted(items, n))
		return MC_OK;
	mc_sort_pair *tmp = malloc(n * sizeof *tmp);
	if (!tmp)
		return MC_ERR_NOMEM;
	/* One histogram per byte, all filled in a single pass over the keys. */
	size_t(*count)[256] = calloc(8, sizeof *count);
	if (!count) {
		free(tmp);
		return MC_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++)
			count[b][(items[i].key >> (8 * b)) & 0xff]++;
	mc_sort_pair *src = items, *dst = tmp;
	for (int b = 0; b < 8; b++) {
		size_t *c = count[b];
		if (c[(src[0].key >> (8 * b)) & 0xff] == n)
			continue; /* every key has the same byte here */
		size_t pos = 0;
		for (int d = 0; d < 256; d++) {
			size_t k = c[d];
			c[d] = pos;
			pos += k;
		}
		for (size_t i = 0; i < n; i++)
			dst[c[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
		mc_sort_pair *s = src;
		src = dst;
		dst = s;
	}
	if (src != items)
		memcpy(items, src, n * sizeof *items);
	free(count);
	free(tmp);
	return MC_OK;
}
