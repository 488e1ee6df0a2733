/* The series an ingest meets, numbered so rows join on (date, series id) integers, not strings. */
#include <stdlib.h>
#include <string.h>

#include "lake/ingest_int.h"

mc_code mc_ingest_series_id(mc_ingest_state *st, const char *const part[5], const size_t len[5],
			    uint32_t *id)
{
	char key[5 * (MC_NAME_MAX + 1)];
	size_t k = mc_key_join(key, part, len, 5, MC_NAME_MAX);
	int64_t found;
	if (mc_strmap_get(st->series_index, key, k, &found)) {
		*id = (uint32_t)found;
		return MC_OK;
	}
	mc_series_entry *grown = realloc(st->series, (st->nseries + 1) * sizeof *grown);
	if (!grown)
		return MC_ERR_NOMEM;
	st->series = grown;
	mc_series_entry *e = &grown[st->nseries];
	e->text = malloc(k);
	if (!e->text)
		return MC_ERR_NOMEM;
	memcpy(e->text, key, k);
	for (size_t i = 0, at = 0; i < 5; i++) {
		e->part[i] = e->text + at;
		e->len[i] = len[i] < MC_NAME_MAX ? len[i] : MC_NAME_MAX;
		at += e->len[i] + 1;
	}
	e->rank = 0;
	if (mc_strmap_put(st->series_index, key, k, (int64_t)st->nseries)) {
		free(e->text);
		return MC_ERR_NOMEM;
	}
	*id = (uint32_t)st->nseries++;
	return MC_OK;
}

static int part_cmp(const mc_series_entry *a, const mc_series_entry *b, int i)
{
	size_t n = a->len[i] < b->len[i] ? a->len[i] : b->len[i];
	int r = memcmp(a->part[i], b->part[i], n);
	return r ? r : (a->len[i] > b->len[i]) - (a->len[i] < b->len[i]);
}

static int entry_cmp(const void *pa, const void *pb)
{
	const mc_series_entry *a = *(const mc_series_entry *const *)pa;
	const mc_series_entry *b = *(const mc_series_entry *const *)pb;
	for (int i = 0; i < 5; i++) {
		int r = part_cmp(a, b, i);
		if (r)
			return r;
	}
	return 0;
}

mc_code mc_ingest_rank_series(mc_ingest_state *st)
{
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	mc_series_entry **order = malloc((st->nseries ? st->nseries : 1) * sizeof *order);
	if (!order)
		return MC_ERR_NOMEM;
	for (size_t i = 0; i < st->nseries; i++)
		order[i] = &st->series[i];
	if (st->nseries > 1)
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		qsort(order, st->nseries, sizeof *order, entry_cmp);
	for (size_t r = 0; r < st->nseries; r++)
		order[r]->rank = (uint32_t)r;
	free(order);
	return MC_OK;
}

void mc_ingest_series_release(mc_ingest_state *st)
{
	for (size_t i = 0; i < st->nseries; i++)
		free(st->series[i].text);
	free(st->series);
	mc_strmap_free(st->series_index);
	st->series = NULL;
	st->nseries = 0;
	st->series_index = NULL;
}
