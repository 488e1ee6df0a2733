/* Helpers shared inside src/monitor/: string cells, series keys, JSON numbers and dates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "milkcast/lake.h"
#include "milkcast/strmap.h"
#include "monitor/monitor_int.h"

char *mon_cell_dup(const mc_column *c, size_t i)
{
	size_t n = 0;
	const char *s = mc_column_is_null(c, i) ? "" : mc_column_str(c, i, &n);
	char *out = malloc(n + 1);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

bool mon_cell_is(const mc_column *c, size_t i, const char *s)
{
	if (mc_column_is_null(c, i))
		return false;
	size_t n;
	const char *v = mc_column_str(c, i, &n);
	return n == strlen(s) && !memcmp(v, s, n);
}

size_t mon_row_key(const mc_table *lake, size_t i, char *out)
{
	const char *parts[4];
	size_t lens[4];
	static const int cols[4] = {MC_LAKE_STATE, MC_LAKE_CITY, MC_LAKE_MILK_TYPE,
				    MC_LAKE_CHANNEL};
	for (int k = 0; k < 4; k++) {
		const mc_column *c = &lake->cols[cols[k]];
		if (mc_column_is_null(c, i)) {
			parts[k] = "";
			lens[k] = 0;
		} else {
			parts[k] = mc_column_str(c, i, &lens[k]);
		}
	}
	return mc_key_join(out, parts, lens, 4, 96);
}

size_t mon_names_key(const char *state, const char *city, const char *milk_type,
		     const char *channel, char *out)
{
	const char *parts[4] = {state, city, milk_type, channel};
	size_t lens[4];
	for (int k = 0; k < 4; k++)
		lens[k] = strlen(parts[k]);
	return mc_key_join(out, parts, lens, 4, 96);
}

json_t *mon_num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *mon_date(int32_t d)
{
	if (d == 0 || d == INT32_MIN)
		return json_null();
	char s[11];
	mc_date_format_iso(d, s);
	return json_string(s);
}
