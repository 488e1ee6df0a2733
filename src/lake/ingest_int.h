/* Private state shared by the ingest files: ingest.c (merge), ingest_read.c (inputs), manifest.c
 * (db). */
#ifndef MILKCAST_LAKE_INGEST_INT_H
#define MILKCAST_LAKE_INGEST_INT_H

#include "milkcast/ingest.h"
#include "milkcast/series.h"
#include "milkcast/strmap.h"

/* A normalised, validated row on its way into the lake. */
typedef struct mc_candidate {
	int32_t date;
	mc_series series;
	uint32_t series_id; /* index into mc_ingest_state.series */
	double price;
	bool missing;
} mc_candidate;

/* One series seen by this ingest, its lake strings and their lengths. */
typedef struct mc_series_entry {
	const char *part[5]; /* kind, state, city, milk_type, channel (into `text`) */
	size_t len[5];
	char *text;
	uint32_t rank; /* position in lake order, set before writing */
} mc_series_entry;

typedef struct mc_quarantined {
	size_t file;	/* index into files */
	char *position; /* "row 57 cell C57", "row 1234" */
	char *date;	/* as read, ISO when parsed */
	char *state, *city, *milk_type, *channel, *raw_value;
	char *reason;
} mc_quarantined;

typedef struct mc_revision {
	mc_candidate candidate;
	const char *source;
	double old_price;
	bool old_missing;
	bool applied;
} mc_revision;

typedef struct mc_ingest_file {
	char *path, *name;
	char sha256[65];
	size_t bytes;
	const char *format; /* "xlsx" | "parquet" */
	size_t rows_read, rows_added, rows_quarantined, rows_changed;
	int32_t first_date, last_date;
} mc_ingest_file;

typedef struct mc_ingest_state {
	mc_lake *lake;
	const mc_ingest_opts *opts;
	mc_ingest_summary *sum;
	int64_t now_us;
	int64_t run_id;

	struct month_state *months;
	size_t nmonths;
	mc_strmap *series_index; /* "kind|state|city|milk_type|channel" → series[] */
	mc_series_entry *series;
	size_t nseries;
	mc_strmap *month_index; /* "YYYY-MM" → months[] */
	size_t last_month;	/* months[] index used last: rows come in date runs */

	mc_ingest_file *files;
	size_t nfiles;
	mc_quarantined *quarantine;
	size_t nquarantine;
	mc_revision *revisions;
	size_t nrevisions;
} mc_ingest_state;

/* Read, normalise and merge one input file (ingest_read.c). */
mc_code mc_ingest_read_file(mc_ingest_state *st, mc_ingest_file *f, mc_error *err);
void mc_quarantine_release(mc_ingest_state *st);
/*
 * The id of a series given its five lake strings (kind, state, city,
 * milk_type, channel), added on first sight (ingest_series.c).
 */
mc_code mc_ingest_series_id(mc_ingest_state *st, const char *const part[5], const size_t len[5],
			    uint32_t *id);
/* Set every series' rank in lake order (kind, state, city, milk_type, channel). */
mc_code mc_ingest_rank_series(mc_ingest_state *st);
void mc_ingest_series_release(mc_ingest_state *st);

/*
 * Merge one candidate, read from row `input_row` of file `file`, into its
 * month (ingest.c).  When the same file already gave this series and date,
 * nothing is merged and *dup_of is that earlier input row; else SIZE_MAX.
 */
mc_code mc_ingest_merge(mc_ingest_state *st, const mc_candidate *c, size_t file, size_t input_row,
			size_t *dup_of, mc_error *err);

/* What month i of the working state holds (ingest.c). */
void mc_ingest_month_info(const mc_ingest_state *st, size_t i, int *year, int *month,
			  const mc_table **t, bool *dirty, const char **sha256);

/* The manifest in milkcast.db (manifest.c). */
mc_code mc_manifest_begin(mc_store *s, mc_ingest_state *st, mc_error *err);
mc_code mc_manifest_commit(mc_store *s, mc_ingest_state *st, mc_error *err);
void mc_manifest_fail(mc_store *s, mc_ingest_state *st, const char *message);

#endif
