/* Packing a run's params, tags and metrics into runs/log-batch requests within MLflow's limits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "track/mlflow_int.h"

/* JSON punctuation and field names around one item, on top of its strings. */
#define ITEM_OVERHEAD 96
/* run_id and the three array names. */
#define BATCH_OVERHEAD 160

json_t *mlflow_metric_value(double v)
{
	if (isnan(v))
		return json_string("NaN");
	if (isinf(v))
		return json_string(v > 0 ? "Infinity" : "-Infinity");
	return json_real(v);
}

void mlflow_run_data_release(mlflow_run_data *d)
{
	json_decref(d->params);
	json_decref(d->tags);
	json_decref(d->metrics);
	*d = (mlflow_run_data){0};
}

/* An upper estimate of an item's JSON size: its strings may be escaped (at most 6 bytes each). */
static size_t item_bytes(json_t *item)
{
	size_t n = ITEM_OVERHEAD;
	const char *k;
	json_t *v;
	json_object_foreach(item, k, v)
	{
		n += strlen(k);
		if (json_is_string(v))
			n += json_string_length(v) * 6;
	}
	return n;
}

/* Take up to `limit` more items of `a` from *next while they fit in the byte budget. */
static size_t take(json_t *a, size_t *next, size_t limit, size_t *bytes)
{
	size_t n = 0;
	while (n < limit && *next + n < json_array_size(a)) {
		size_t b = item_bytes(json_array_get(a, *next + n));
		/* One item always goes, so a huge one cannot stall the export (the server judges
		 * it). */
		if (*bytes + b > MC_MLFLOW_MAX_BATCH_BYTES && (n > 0 || *bytes > BATCH_OVERHEAD))
			break;
		*bytes += b;
		n++;
	}
	*next += n;
	return n;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

mc_code mlflow_plan_batches(const mlflow_run_data *d, mlflow_batch **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	size_t cap = 0, p = 0, t = 0, m = 0;
	size_t np = json_array_size(d->params), nt = json_array_size(d->tags),
	       nm = json_array_size(d->metrics);
	mlflow_batch *list = NULL;
	while (p < np || t < nt || m < nm) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 4;
			mlflow_batch *grown = realloc(list, cap * sizeof *grown);
			if (!grown) {
				free(list);
				return MC_ERR_NOMEM;
			}
			list = grown;
		}
		mlflow_batch *b = &list[(*n)++];
		size_t bytes = BATCH_OVERHEAD;
		b->p0 = p;
		b->np = take(d->params, &p, MC_MLFLOW_MAX_PARAMS, &bytes);
		b->t0 = t;
		b->nt = take(d->tags, &t, MC_MLFLOW_MAX_TAGS, &bytes);
		b->m0 = m;
		b->nm = take(d->metrics, &m,
			     min_size(MC_MLFLOW_MAX_METRICS, MC_MLFLOW_MAX_ITEMS - b->np - b->nt),
			     &bytes);
	}
	*out = list;
	return MC_OK;
}

static json_t *slice(json_t *a, size_t from, size_t n)
{
	json_t *s = json_array();
	for (size_t i = 0; s && i < n; i++)
		if (json_array_append(s, json_array_get(a, from + i))) {
			json_decref(s);
			return NULL;
		}
	return s;
}

json_t *mlflow_batch_json(const char *run_id, const mlflow_run_data *d, const mlflow_batch *b)
{
	return json_pack("{s:s, s:o, s:o, s:o}", "run_id", run_id, "metrics",
			 slice(d->metrics, b->m0, b->nm), "params", slice(d->params, b->p0, b->np),
			 "tags", slice(d->tags, b->t0, b->nt));
}
