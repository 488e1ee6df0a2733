/*
 * Ingest: SNIIM workbooks and Parquet files → normalised, validated lake
 * rows.  All inputs are read and checked before anything is written, so a
 * bad input leaves the lake as it was.  Rejected rows go to the quarantine
 * table with a reason; a changed past value becomes a revision record.
 */
#ifndef MILKCAST_INGEST_H
#define MILKCAST_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/lake.h"
#include "milkcast/store.h"

typedef enum mc_revision_policy {
	MC_REVISIONS_KEEP,  /* keep the lake's value, record the new one as pending */
	MC_REVISIONS_APPLY, /* replace the lake's value, record the old one */
} mc_revision_policy;

typedef struct mc_ingest_opts {
	mc_revision_policy revisions;
	double min_price, max_price; /* plausible MXN per litre */
	int32_t today;		     /* days; dates after today+1 are quarantined */
	bool dry_run;		     /* validate and count, write nothing */
	/* Called as work progresses (may be NULL). */
	void (*progress)(void *ud, const char *stage, double done, double total);
	void *progress_ud;
} mc_ingest_opts;

void mc_ingest_opts_init(mc_ingest_opts *o);

typedef struct mc_ingest_summary {
	int64_t run_id;
	size_t inputs;
	size_t rows_read;
	size_t dates_added;
	size_t rows_added;
	size_t rows_missing; /* added with price missing (0, blank, N.d.) */
	size_t rows_unchanged;
	size_t rows_quarantined;
	size_t rows_changed; /* revisions of past values */
	size_t partitions_written;
	int32_t first_date, last_date; /* over the rows read; 0 when none */
} mc_ingest_summary;

/* Expand files and directories (their .xlsx and .parquet files) and ingest them in order. */
mc_code mc_ingest(mc_store *s, mc_lake *l, const char *const *paths, size_t npaths,
		  const mc_ingest_opts *o, mc_ingest_summary *sum, mc_error *err);

#endif
