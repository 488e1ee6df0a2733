/* Supervised rows from the panel; see milkcast/dataset.h. */
#include "milkcast/dataset.h"
#include "milkcast/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mc_dataset_free(mc_dataset *d)
{
	if (!d)
		return;
	free(d->X);
	free(d->y);
	free(d->row);
	free(d);
}

static mc_code grow(mc_dataset *d, size_t *cap)
{
	if (d->n < *cap)
		return MC_OK;
	size_t c = *cap ? 2 * *cap : 4096;
	float *X = d->ncol ? realloc(d->X, c * d->ncol * sizeof *X) : NULL;
	if (X)
		d->X = X;
	float *y = X || !d->ncol ? realloc(d->y, c * sizeof *y) : NULL;
	if (y)
		d->y = y;
	mc_ds_row *r = y ? realloc(d->row, c * sizeof *r) : NULL;
	if (!r)
		return MC_ERR_NOMEM;
	d->row = r;
	*cap = c;
	return MC_OK;
}

/* Rows of one series; the history features are the same for every h, so compute once. */
static mc_code series_rows(const mc_panel *p, const mc_vocabs *v, const mc_ds_spec *spec, size_t s,
			   mc_dataset *d, size_t *cap)
{
	for (size_t k = 0; k + 1 < p->ndates; k++) {
		if (k + 1 + (size_t)spec->horizons <= spec->target_from)
			continue; /* every target of this origin is before the window */
		if (k + 1 >= spec->target_to)
			break;
		if (!mc_features_usable(p, s, k))
			continue;
		double last = mc_features_last(p, s, k);
		size_t first = SIZE_MAX; /* this origin's first row: copied and re-aimed */
		for (int h = 1; h <= spec->horizons; h++) {
			size_t t = k + (size_t)h;
			if (t < spec->target_from || t >= spec->target_to || t >= p->ndates)
				continue;
			double actual = mc_panel_price(p, s, t);
			if (isnan(actual))
				continue;
			if (grow(d, cap))
				return MC_ERR_NOMEM;
			float *x = d->ncol ? d->X + d->n * d->ncol : NULL;
			if (!x) {
				/* rows only */
			} else if (first != SIZE_MAX) {
				memcpy(x, d->X + first * d->ncol, d->ncol * sizeof *x);
				mc_features_retarget(p, k, h, p->dates[t], x);
			} else {
				mc_features_row(p, v, s, k, h, p->dates[t], x);
			}
			d->y[d->n] = (float)(actual - last);
			d->row[d->n] =
				(mc_ds_row){(uint32_t)s, (uint32_t)k, h, p->dates[t], last, actual};
			first = d->n;
			d->n++;
		}
	}
	return MC_OK;
}

mc_code mc_dataset_build(const mc_panel *p, const mc_vocabs *v, const mc_ds_spec *spec,
			 mc_dataset **out, mc_error *err)
{
	*out = NULL;
	if (spec->horizons < 1)
		return mc_fail(err, MC_ERR_INVALID, "horizons must be at least 1 (got %d)",
			       spec->horizons);
	mc_dataset *d = calloc(1, sizeof *d);
	if (!d)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	d->ncol = spec->rows_only ? 0 : mc_features_count();
	size_t cap = 0;
	for (size_t s = 0; s < p->nseries; s++)
		if (series_rows(p, v, spec, s, d, &cap)) {
			mc_dataset_free(d);
			return mc_fail(err, MC_ERR_NOMEM, "out of memory building training rows");
		}
	*out = d;
	return MC_OK;
}

double mc_dataset_naive_scale(const mc_panel *p, size_t end)
{
	const double **rows = malloc((p->nseries ? p->nseries : 1) * sizeof *rows);
	size_t *len = malloc((p->nseries ? p->nseries : 1) * sizeof *len);
	double scale = NAN;
	if (rows && len) {
		for (size_t s = 0; s < p->nseries; s++) {
			rows[s] = p->price + s * p->ndates;
			len[s] = end < p->ndates ? end : p->ndates;
		}
		scale = mc_naive_scale(rows, len, p->nseries, NULL);
	}
	free(rows);
	free(len);
	return scale;
}

double mc_dataset_moving_average(const mc_panel *p, size_t s, size_t k, size_t w)
{
	size_t from = k + 1 >= w ? k + 1 - w : 0, n = 0;
	double sum = 0;
	for (size_t d = from; d <= k; d++) {
		double x = mc_panel_price(p, s, d);
		if (!isnan(x)) {
			sum += x;
			n++;
		}
	}
	return n ? sum / (double)n : NAN;
}
