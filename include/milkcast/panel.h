/*
 * The price panel: every series × every publication date, the shape the
 * forecasting features read.  Built from lake rows dated on or before a cut-off
 * date, so nothing after the cut-off can reach a feature.
 *
 * Dates are the distinct publication dates present in the rows (SNIIM
 * publishes one national calendar; a series absent on a date is missing
 * there).  Series are ordered as the lake orders them: (kind, state, city,
 * milk_type, channel).  Ownership: mc_panel_from_table() / mc_panel_free().
 */
#ifndef MILKCAST_PANEL_H
#define MILKCAST_PANEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/table.h"

typedef struct mc_panel_series {
	char *kind, *state, *city, *milk_type, *channel;
	size_t group;	  /* (state, milk_type, channel) group of city series */
	size_t nat_group; /* (milk_type, channel) group of city series */
	size_t first_obs; /* first date index with a price (ndates if none) */
	size_t nobs;	  /* prices present */
} mc_panel_series;

typedef struct mc_panel {
	size_t nseries, ndates;
	int32_t *dates;		 /* ascending, distinct */
	mc_panel_series *series; /* nseries */
	double *price;		 /* [s * ndates + d]; NaN = missing */
	double *ffill;		 /* last price at or before d; NaN before the first */
	size_t ngroups, nnat_groups;
	double *group_mean; /* [g * ndates + d]: mean ffill of the group's series */
	double *nat_mean;   /* [g * ndates + d]: the same over all cities */
} mc_panel;

/*
 * Rows of a lake-schema table with date ≤ until (INT32_MAX: all).  Series
 * without a single price up to `until` are left out.  MC_ERR_EMPTY when no
 * row qualifies.
 */
mc_code mc_panel_from_table(const mc_table *lake_rows, int32_t until, mc_panel **out,
			    mc_error *err);
void mc_panel_free(mc_panel *p);

/*
 * A copy holding dates 0..k only (every series kept, fills and group means
 * recomputed): the panel as it stood at date index k.
 */
mc_code mc_panel_head(const mc_panel *p, size_t k, mc_panel **out, mc_error *err);

/*
 * Append a date after the last with one price per series (NaN = missing);
 * fills and group means follow.  Recursive forecasts append their own
 * predictions this way.  On error p is unchanged.
 */
mc_code mc_panel_append(mc_panel *p, int32_t date, const double *prices, mc_error *err);

/* Index of the last date ≤ day, or -1 when every date is later. */
long mc_panel_date_index(const mc_panel *p, int32_t day);
/* Series index by names (the kind follows from them), or -1. */
long mc_panel_find(const mc_panel *p, const char *state, const char *city, const char *milk_type,
		   const char *channel);

static inline double mc_panel_price(const mc_panel *p, size_t s, size_t d)
{
	return p->price[s * p->ndates + d];
}
static inline double mc_panel_ffill(const mc_panel *p, size_t s, size_t d)
{
	return p->ffill[s * p->ndates + d];
}

#endif
