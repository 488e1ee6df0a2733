/* The series × publication-date price panel; see milkcast/panel.h. */
#include "milkcast/panel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/features.h"
#include "milkcast/lake.h"
#include "milkcast/series.h"
#include "milkcast/strmap.h"

#define NAME_PARTS 5 /* kind, state, city, milk_type, channel */

static void series_free(mc_panel_series *s)
{
	free(s->kind);
	free(s->state);
	free(s->city);
	free(s->milk_type);
	free(s->channel);
}

/* Free what the panel holds, not the panel itself. */
static void panel_release(mc_panel *p)
{
	for (size_t i = 0; i < p->nseries; i++)
		series_free(&p->series[i]);
	free(p->series);
	free(p->dates);
	free(p->price);
	free(p->ffill);
	free(p->group_mean);
	free(p->nat_mean);
}

void mc_panel_free(mc_panel *p)
{
	if (!p)
		return;
	panel_release(p);
	free(p);
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int int32_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int series_cmp(const void *pa, const void *pb)
{
	const mc_panel_series *a = pa, *b = pb;
	const char *x[NAME_PARTS] = {a->kind, a->state, a->city, a->milk_type, a->channel};
	const char *y[NAME_PARTS] = {b->kind, b->state, b->city, b->milk_type, b->channel};
	for (int i = 0; i < NAME_PARTS; i++) {
		int r = strcmp(x[i], y[i]);
		if (r)
			return r;
	}
	return 0;
}

/* Distinct dates ≤ until, ascending. */
static mc_code collect_dates(const mc_table *t, int32_t until, mc_panel *p)
{
	const int32_t *date = MC_COL_I32(&t->cols[MC_LAKE_DATE]);
	int32_t *d = malloc((t->nrows ? t->nrows : 1) * sizeof *d);
	if (!d)
		return MC_ERR_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < t->nrows; i++)
		if (date[i] <= until)
			d[n++] = date[i];
	if (n > 1)
		qsort(d, n, sizeof *d, int32_cmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (u == 0 || d[u - 1] != d[i])
			d[u++] = d[i];
	p->dates = d;
	p->ndates = u;
	return MC_OK;
}

static void row_parts(const mc_table *t, size_t i, const char **part, size_t *len)
{
	for (int c = 0; c < NAME_PARTS; c++)
		part[c] = mc_column_str(&t->cols[MC_LAKE_KIND + c], i, &len[c]);
}

/* Distinct series of the rows ≤ until, in lake order; *row_series gets each row's index. */
static mc_code collect_series(const mc_table *t, int32_t until, mc_panel *p, long *row_series)
{
	const int32_t *date = MC_COL_I32(&t->cols[MC_LAKE_DATE]);
	mc_strmap *index = mc_strmap_new(512);
	size_t cap = 0;
	mc_code rc = index ? MC_OK : MC_ERR_NOMEM;
	for (size_t i = 0; i < t->nrows && !rc; i++) {
		row_series[i] = -1;
		if (date[i] > until)
			continue;
		const char *part[NAME_PARTS];
		size_t len[NAME_PARTS];
		row_parts(t, i, part, len);
		char key[NAME_PARTS * (MC_NAME_MAX + 1)];
		size_t k = mc_key_join(key, part, len, NAME_PARTS, MC_NAME_MAX);
		int64_t at;
		if (mc_strmap_get(index, key, k, &at)) {
			row_series[i] = (long)at;
			continue;
		}
		if (p->nseries == cap) {
			cap = cap ? 2 * cap : 256;
			mc_panel_series *s = realloc(p->series, cap * sizeof *s);
			if (!s) {
				rc = MC_ERR_NOMEM;
				break;
			}
			p->series = s;
		}
		mc_panel_series *s = &p->series[p->nseries];
		memset(s, 0, sizeof *s);
		s->kind = dup_n(part[0], len[0]);
		s->state = dup_n(part[1], len[1]);
		s->city = dup_n(part[2], len[2]);
		s->milk_type = dup_n(part[3], len[3]);
		s->channel = dup_n(part[4], len[4]);
		p->nseries++;
		if (!s->kind || !s->state || !s->city || !s->milk_type || !s->channel ||
		    mc_strmap_put(index, key, k, (int64_t)(p->nseries - 1)))
			rc = MC_ERR_NOMEM;
		row_series[i] = (long)(p->nseries - 1);
	}
	mc_strmap_free(index);
	return rc;
}

/* Sort the series into lake order and renumber row_series to match. */
static mc_code sort_series(mc_panel *p, long *row_series, size_t nrows)
{
	size_t n = p->nseries;
	size_t *order = malloc((n ? n : 1) * sizeof *order);
	mc_panel_series *tagged = malloc((n ? n : 1) * sizeof *tagged);
	if (!order || !tagged) {
		free(order);
		free(tagged);
		return MC_ERR_NOMEM;
	}
	/* Sort copies that remember their old index in `group`, then map old → new. */
	for (size_t i = 0; i < n; i++) {
		tagged[i] = p->series[i];
		tagged[i].group = i;
	}
	if (n > 1)
		qsort(tagged, n, sizeof *tagged, series_cmp);
	for (size_t i = 0; i < n; i++)
		order[tagged[i].group] = i;
	if (n)
		memcpy(p->series, tagged, n * sizeof *tagged);
	for (size_t i = 0; i < nrows; i++)
		if (row_series[i] >= 0)
			row_series[i] = (long)order[row_series[i]];
	free(order);
	free(tagged);
	return MC_OK;
}

static size_t date_pos(const mc_panel *p, int32_t day)
{
	size_t lo = 0, hi = p->ndates;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (p->dates[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static mc_code fill_prices(const mc_table *t, mc_panel *p, const long *row_series)
{
	size_t cells = p->nseries * p->ndates;
	p->price = malloc((cells ? cells : 1) * sizeof *p->price);
	if (!p->price)
		return MC_ERR_NOMEM;
	for (size_t i = 0; i < cells; i++)
		p->price[i] = NAN;
	const int32_t *date = MC_COL_I32(&t->cols[MC_LAKE_DATE]);
	const mc_column *price = &t->cols[MC_LAKE_PRICE];
	for (size_t i = 0; i < t->nrows; i++) {
		if (row_series[i] < 0 || mc_column_is_null(price, i))
			continue;
		size_t d = date_pos(p, date[i]);
		p->price[(size_t)row_series[i] * p->ndates + d] =
			((const double *)price->values)[i];
	}
	return MC_OK;
}

/* Drop series with no price at all; count observations of the others. */
static void drop_empty(mc_panel *p)
{
	size_t kept = 0;
	for (size_t s = 0; s < p->nseries; s++) {
		mc_panel_series *ps = &p->series[s];
		const double *row = p->price + s * p->ndates;
		ps->nobs = 0;
		ps->first_obs = p->ndates;
		for (size_t d = 0; d < p->ndates; d++)
			if (!isnan(row[d])) {
				if (!ps->nobs)
					ps->first_obs = d;
				ps->nobs++;
			}
		if (!ps->nobs) {
			series_free(ps);
			continue;
		}
		if (kept != s) {
			p->series[kept] = *ps;
			memmove(p->price + kept * p->ndates, row, p->ndates * sizeof *row);
		}
		kept++;
	}
	p->nseries = kept;
}

/* A price carries forward for at most MC_FEATURES_LOOKBACK publications, the
 * furthest any feature looks back, so a recent snapshot fills the same. */
static void forward_fill(mc_panel *p)
{
	for (size_t s = 0; s < p->nseries; s++) {
		double last = NAN;
		size_t seen = 0;
		for (size_t d = 0; d < p->ndates; d++) {
			double v = p->price[s * p->ndates + d];
			if (!isnan(v)) {
				last = v;
				seen = d;
			} else if (d - seen > MC_FEATURES_LOOKBACK) {
				last = NAN;
			}
			p->ffill[s * p->ndates + d] = last;
		}
	}
}

/* Number the (state, type, channel) and (type, channel) groups of city series. */
static mc_code assign_groups(mc_panel *p)
{
	mc_strmap *g = mc_strmap_new(256), *ng = mc_strmap_new(16);
	mc_code rc = g && ng ? MC_OK : MC_ERR_NOMEM;
	for (size_t s = 0; s < p->nseries && !rc; s++) {
		mc_panel_series *ps = &p->series[s];
		ps->group = ps->nat_group = SIZE_MAX;
		if (strcmp(ps->kind, "city") != 0)
			continue; /* the national averages are not members of any group */
		const char *part[3] = {ps->state, ps->milk_type, ps->channel};
		size_t len[3] = {strlen(part[0]), strlen(part[1]), strlen(part[2])};
		char key[3 * (MC_NAME_MAX + 1)];
		size_t k = mc_key_join(key, part, len, 3, MC_NAME_MAX);
		int64_t at;
		if (!mc_strmap_get(g, key, k, &at)) {
			at = (int64_t)p->ngroups++;
			rc = mc_strmap_put(g, key, k, at);
		}
		ps->group = (size_t)at;
		k = mc_key_join(key, part + 1, len + 1, 2, MC_NAME_MAX);
		if (!rc && !mc_strmap_get(ng, key, k, &at)) {
			at = (int64_t)p->nnat_groups++;
			rc = mc_strmap_put(ng, key, k, at);
		}
		ps->nat_group = (size_t)at;
	}
	mc_strmap_free(g);
	mc_strmap_free(ng);
	return rc;
}

/* means[g * ndates + d] = mean of the members' ffill at d (NaN when none has one). */
static mc_code group_means(const mc_panel *p, size_t ngroups, bool national, double **out)
{
	size_t cells = ngroups * p->ndates;
	double *sum = calloc(cells ? cells : 1, sizeof *sum);
	unsigned *count = calloc(cells ? cells : 1, sizeof *count);
	if (!sum || !count) {
		free(sum);
		free(count);
		return MC_ERR_NOMEM;
	}
	for (size_t s = 0; s < p->nseries; s++) {
		size_t g = national ? p->series[s].nat_group : p->series[s].group;
		if (g == SIZE_MAX)
			continue;
		for (size_t d = 0; d < p->ndates; d++) {
			double v = p->ffill[s * p->ndates + d];
			if (!isnan(v)) {
				sum[g * p->ndates + d] += v;
				count[g * p->ndates + d]++;
			}
		}
	}
	for (size_t i = 0; i < cells; i++)
		sum[i] = count[i] ? sum[i] / count[i] : NAN;
	free(count);
	*out = sum;
	return MC_OK;
}

static mc_code build(const mc_table *t, int32_t until, mc_panel *p)
{
	long *row_series = malloc((t->nrows ? t->nrows : 1) * sizeof *row_series);
	if (!row_series)
		return MC_ERR_NOMEM;
	mc_code rc = collect_dates(t, until, p);
	if (!rc)
		rc = collect_series(t, until, p, row_series);
	if (!rc)
		rc = sort_series(p, row_series, t->nrows);
	if (!rc)
		rc = fill_prices(t, p, row_series);
	free(row_series);
	if (rc)
		return rc;
	drop_empty(p);
	size_t cells = p->nseries * p->ndates;
	p->ffill = malloc((cells ? cells : 1) * sizeof *p->ffill);
	if (!p->ffill)
		return MC_ERR_NOMEM;
	forward_fill(p);
	rc = assign_groups(p);
	if (!rc)
		rc = group_means(p, p->ngroups, false, &p->group_mean);
	if (!rc)
		rc = group_means(p, p->nnat_groups, true, &p->nat_mean);
	return rc;
}

/* Forward fills, first observations and group means from the prices. */
static mc_code derive(mc_panel *p)
{
	size_t cells = p->nseries * p->ndates;
	free(p->ffill);
	free(p->group_mean);
	free(p->nat_mean);
	p->group_mean = p->nat_mean = NULL;
	p->ffill = malloc((cells ? cells : 1) * sizeof *p->ffill);
	if (!p->ffill)
		return MC_ERR_NOMEM;
	forward_fill(p);
	for (size_t s = 0; s < p->nseries; s++) {
		mc_panel_series *ps = &p->series[s];
		ps->nobs = 0;
		ps->first_obs = p->ndates;
		for (size_t d = 0; d < p->ndates; d++)
			if (!isnan(p->price[s * p->ndates + d]) && !ps->nobs++)
				ps->first_obs = d;
	}
	mc_code rc = group_means(p, p->ngroups, false, &p->group_mean);
	if (!rc)
		rc = group_means(p, p->nnat_groups, true, &p->nat_mean);
	return rc;
}

static mc_code copy_series(const mc_panel_series *from, mc_panel_series *to)
{
	*to = *from;
	to->kind = strdup(from->kind);
	to->state = strdup(from->state);
	to->city = strdup(from->city);
	to->milk_type = strdup(from->milk_type);
	to->channel = strdup(from->channel);
	return to->kind && to->state && to->city && to->milk_type && to->channel ? MC_OK
										 : MC_ERR_NOMEM;
}

/* A panel with the first `ndates` dates of p, room for `extra` more. */
static mc_code head_copy(const mc_panel *p, size_t ndates, size_t extra, mc_panel *q)
{
	q->ndates = ndates;
	q->ngroups = p->ngroups;
	q->nnat_groups = p->nnat_groups;
	q->dates = malloc((ndates + extra + 1) * sizeof *q->dates);
	q->series = calloc(p->nseries ? p->nseries : 1, sizeof *q->series);
	q->price = malloc((p->nseries * (ndates + extra) + 1) * sizeof *q->price);
	if (!q->dates || !q->series || !q->price)
		return MC_ERR_NOMEM;
	memcpy(q->dates, p->dates, ndates * sizeof *q->dates);
	for (size_t s = 0; s < p->nseries; s++) {
		q->nseries = s + 1;
		if (copy_series(&p->series[s], &q->series[s]))
			return MC_ERR_NOMEM;
		for (size_t d = 0; d < ndates; d++)
			q->price[s * (ndates + extra) + d] = p->price[s * p->ndates + d];
	}
	return MC_OK;
}

mc_code mc_panel_head(const mc_panel *p, size_t k, mc_panel **out, mc_error *err)
{
	*out = NULL;
	if (k >= p->ndates)
		return mc_fail(err, MC_ERR_INVALID, "panel date index %zu is past its %zu dates", k,
			       p->ndates);
	mc_panel *q = calloc(1, sizeof *q);
	mc_code rc = q ? head_copy(p, k + 1, 0, q) : MC_ERR_NOMEM;
	if (!rc)
		rc = derive(q);
	if (rc) {
		mc_panel_free(q);
		return mc_fail(err, rc, "out of memory copying the price panel");
	}
	*out = q;
	return MC_OK;
}

mc_code mc_panel_append(mc_panel *p, int32_t date, const double *prices, mc_error *err)
{
	if (p->ndates && date <= p->dates[p->ndates - 1])
		return mc_fail(err, MC_ERR_INVALID,
			       "an appended date must follow the panel's last");
	mc_panel grown = {0};
	mc_code rc = head_copy(p, p->ndates, 1, &grown);
	if (!rc) {
		size_t n = grown.ndates + 1;
		grown.dates[grown.ndates] = date;
		for (size_t s = 0; s < p->nseries; s++)
			grown.price[s * n + grown.ndates] = prices[s];
		grown.ndates = n;
		rc = derive(&grown);
	}
	if (rc) {
		panel_release(&grown);
		return mc_fail(err, rc, "out of memory extending the price panel");
	}
	panel_release(p);
	*p = grown;
	return MC_OK;
}

mc_code mc_panel_from_table(const mc_table *t, int32_t until, mc_panel **out, mc_error *err)
{
	*out = NULL;
	mc_code rc = mc_lake_check_schema(t, "price panel input", err);
	if (rc)
		return rc;
	mc_panel *p = calloc(1, sizeof *p);
	if (!p)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	rc = build(t, until, p);
	if (rc) {
		mc_panel_free(p);
		return mc_fail(err, rc, "out of memory building the price panel");
	}
	if (p->ndates == 0 || p->nseries == 0) {
		mc_panel_free(p);
		return mc_fail(err, MC_ERR_EMPTY, "no prices in the lake on or before the cut-off");
	}
	*out = p;
	return MC_OK;
}

long mc_panel_date_index(const mc_panel *p, int32_t day)
{
	size_t pos = date_pos(p, day);
	if (pos < p->ndates && p->dates[pos] == day)
		return (long)pos;
	return (long)pos - 1;
}

long mc_panel_find(const mc_panel *p, const char *state, const char *city, const char *milk_type,
		   const char *channel)
{
	for (size_t s = 0; s < p->nseries; s++) {
		const mc_panel_series *ps = &p->series[s];
		if (!strcmp(ps->state, state) && !strcmp(ps->city, city) &&
		    !strcmp(ps->milk_type, milk_type) && !strcmp(ps->channel, channel))
			return (long)s;
	}
	return -1;
}
