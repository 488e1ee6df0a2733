/* Private to src/monitor/: the steps of a run and helpers shared by the report writers. */
#ifndef MILKCAST_MONITOR_INT_H
#define MILKCAST_MONITOR_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/monitor.h"

/* Lake rows of kind "city" dated inside each window, by row index. */
typedef struct mon_rows {
	size_t *ref, *cur;
	size_t nref, ncur;
} mon_rows;

void mon_rows_release(mon_rows *w);

/* windows.c: resolve as_of, today and both windows; collect their city rows. */
mc_code mon_windows(const mc_table *lake, const mc_monitor_opts *o, mc_monitor_result *r,
		    mon_rows *rows, mc_error *err);

/* columns.c: drift of each column between the windows, with histograms. */
mc_code mon_drift(const mc_table *lake, const mon_rows *rows, const mc_monitor_opts *o,
		  mc_monitor_result *r, mc_error *err);

/* perf.c: the prediction logs joined with the lake's prices. */
mc_code mon_performance(const mc_table *lake, const mc_monitor_opts *o, mc_monitor_result *r,
			mc_error *err);

/* health.c: the champion and its test metrics, quarantine counts, silent series. */
mc_code mon_champion(mc_store *store, const mc_monitor_opts *o, mc_monitor_result *r,
		     mc_error *err);
mc_code mon_health(const mc_table *lake, const mon_rows *rows, mc_store *store,
		   const mc_monitor_opts *o, mc_monitor_result *r, mc_error *err);

/* rules.c */
mc_code mon_rules(mc_monitor_result *r, mc_error *err);

/* ---- helpers (util.c) ---- */

/* A NUL-terminated copy of a string cell ("" when null); NULL when out of memory. */
char *mon_cell_dup(const mc_column *c, size_t i);
/* Whether a string cell equals s. */
bool mon_cell_is(const mc_column *c, size_t i, const char *s);
/* The series key of a lake row: state, city, milk_type, channel joined (out: 4 * 97 bytes). */
size_t mon_row_key(const mc_table *lake, size_t i, char *out);
size_t mon_names_key(const char *state, const char *city, const char *milk_type,
		     const char *channel, char *out);
#define MON_KEY_MAX (4 * 97)
/* A JSON number, or null when not finite. */
json_t *mon_num(double v);
/* "YYYY-MM-DD", or JSON null for 0 / INT32_MIN. */
json_t *mon_date(int32_t d);

#endif
