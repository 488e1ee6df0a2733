/* Summaries and exports of lake tables: date ranges, per-series statistics, CSV. */
#ifndef MILKCAST_LAKE_STATS_H
#define MILKCAST_LAKE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/table.h"

typedef struct mc_lake_date_range {
	int32_t first, last;
	size_t ndates; /* distinct dates */
} mc_lake_date_range;

/* Over a lake-schema table (any order). */
mc_lake_date_range mc_lake_dates(const mc_table *t);

typedef struct mc_lake_series_stat {
	char *kind, *state, *city, *milk_type, *channel;
	int32_t first, last; /* over all rows, missing included */
	size_t count;	     /* rows (publication dates) */
	size_t observed;     /* rows with a price */
	int32_t last_observed;
	double last_price;
} mc_lake_series_stat;

/* One entry per series, sorted by (kind, state, city, milk_type, channel). */
mc_code mc_lake_series_stats(const mc_table *t, mc_lake_series_stat **out, size_t *n,
			     mc_error *err);
void mc_lake_series_stats_free(mc_lake_series_stat *s, size_t n);

/* RFC 4180 CSV with a header; path NULL = stdout, else written atomically. */
mc_code mc_lake_write_csv(const mc_table *t, const char *path, mc_error *err);

#endif
