/*
 * Series identity and name normalisation (the DESIGN's Series contract):
 * (state, city, milk_type, channel), names trimmed and single-spaced with
 * one canonical spelling per city, codes for milk type and channel, and the
 * two national averages as their own kind.
 */
#ifndef MILKCAST_SERIES_H
#define MILKCAST_SERIES_H

#include <stdbool.h>
#include <stddef.h>

typedef enum mc_series_kind { MC_KIND_CITY, MC_KIND_NATIONAL } mc_series_kind;

#define MC_NAME_MAX 96

typedef struct mc_series {
	mc_series_kind kind;
	char state[MC_NAME_MAX];
	char city[MC_NAME_MAX];
	const char *milk_type; /* "pasteurizada" | "ultrapasteurizada" */
	const char *channel;   /* "tiendas" | "autoservicios" */
} mc_series;

#define MC_NATIONAL_STATE "Nacional"

const char *mc_kind_name(mc_series_kind k); /* "city" | "national" */
bool mc_kind_parse(const char *s, mc_series_kind *k);

/* Trim, collapse inner white space, and put a space after "Cd." (out ≥ MC_NAME_MAX). */
void mc_name_clean(const char *in, size_t n, char *out, size_t cap);

/*
 * Resolve a published (state, city) to its canonical spelling.  A city named
 * like a national average gives kind NATIONAL whatever the state says.
 * Returns false with a reason when the state or city is unknown.
 */
bool mc_series_resolve(const char *state, size_t state_len, const char *city, size_t city_len,
		       mc_series *out, const char **reason);

/* Milk type and channel codes from any published spelling; NULL when unknown. */
const char *mc_milk_type_code(const char *s, size_t n);
const char *mc_channel_code(const char *s, size_t n);

/* The catalog: every known city series location, for listings and tests. */
size_t mc_catalog_size(void);
void mc_catalog_entry(size_t i, const char **state, const char **city);

#endif
