/* Private to src/monitor/: the steps of a run and helpers shared by the report writers. */
#ifndef MILKCAST_MONITOR_INT_H
#define MILKCAST_MONITOR_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/metrics.h"
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

/* The model and the last value (the naive forecast) accumulated on the same rows. */
typedef struct mon_pair {
	mc_metrics_acc model, naive;
} mon_pair;

void mon_pair_init(mon_pair *p);
void mon_pair_add(mon_pair *p, double actual, double pred, double naive);
/* out's errors, h set, training metrics NAN. */
void mon_pair_finish(const mon_pair *p, int h, mc_monitor_perf *out);

/* The scored forecasts of one group: per horizon (by_h[0] pooled), and on the last K. */
typedef struct mon_scores {
	mon_pair by_h[MC_MAX_HORIZONS + 1], last_k;
	size_t nperf;	  /* 1 + the largest horizon scored */
	size_t forecasts; /* distinct forecasts (scored or not) */
} mon_scores;

void mon_scores_init(mon_scores *s);

/* versions.c: a mon_scores per model version, in first-seen order. */
typedef struct mon_versions mon_versions;

mon_versions *mon_versions_new(void);
void mon_versions_free(mon_versions *v);
/* The scores of `version` (created empty when new); NULL when out of memory. */
mon_scores *mon_versions_get(mon_versions *v, const char *version);
/*
 * r->versions from the accumulators (r->model_version, the champion, known):
 * sorted, the judged version added when it has no forecast, r->judged set.
 */
mc_code mon_versions_finish(const mon_versions *v, mc_monitor_result *r, mc_error *err);

/*
 * perf.c: the prediction logs joined with the lake's prices, pooled and per
 * model version; r->versions and r->judged set (after mon_champion).
 */
mc_code mon_performance(const mc_table *lake, const mc_monitor_opts *o, mc_monitor_result *r,
			mc_error *err);

/* health.c: the champion, quarantine, silent series. */
mc_code mon_champion(mc_store *store, const mc_monitor_opts *o, mc_monitor_result *r,
		     mc_error *err);
/* versions.c: each version's run and its test_hN_* metrics from the registry. */
mc_code mon_version_metrics(mc_store *store, const mc_monitor_opts *o, mc_monitor_result *r,
			    mc_error *err);
mc_code mon_health(const mc_table *lake, const mon_rows *rows, mc_store *store,
		   const mc_monitor_opts *o, mc_monitor_result *r, mc_error *err);

/* rules.c */
mc_code mon_rules(mc_monitor_result *r, mc_error *err);
/*
 * What rmse_degraded and worse_than_naive judge: the judged version's
 * groups, or the pooled ones when there is none.
 */
typedef struct mon_judged {
	const mc_monitor_version *v; /* NULL: every forecast pooled */
	const mc_monitor_perf *perf;
	size_t nperf;
	const mc_monitor_perf *last_k;
} mon_judged;
mon_judged mon_judged_perf(const mc_monitor_result *r);

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
