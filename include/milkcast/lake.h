/*
 * The price lake: Parquet files partitioned by month under
 * <home>/lake/prices/year=YYYY/month=MM/data.parquet, each rewritten whole
 * and atomically when it changes.  Every partition has the lake schema:
 *
 *   date DATE, kind STRING ("city" | "national"), state, city, milk_type,
 *   channel STRING, price DOUBLE (null = missing), source STRING,
 *   ingested_at TIMESTAMP (µs, UTC)
 *
 * sorted by (date, kind, state, city, milk_type, channel).
 */
#ifndef MILKCAST_LAKE_H
#define MILKCAST_LAKE_H

#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/table.h"

enum {
	MC_LAKE_DATE,
	MC_LAKE_KIND,
	MC_LAKE_STATE,
	MC_LAKE_CITY,
	MC_LAKE_MILK_TYPE,
	MC_LAKE_CHANNEL,
	MC_LAKE_PRICE,
	MC_LAKE_SOURCE,
	MC_LAKE_INGESTED_AT,
	MC_LAKE_NCOLS
};

typedef struct mc_lake_partition {
	int year, month;
	char *path;
} mc_lake_partition;

typedef struct mc_lake mc_lake;

/* Open the lake below <home>/lake/prices (created when missing). */
mc_code mc_lake_open(const char *home, mc_lake **out, mc_error *err);
void mc_lake_free(mc_lake *l);
const char *mc_lake_root(const mc_lake *l);

/* An empty table with the lake schema. */
mc_table *mc_lake_table_new(void);
/* Check a table has the lake schema (names and types); errors name the column. */
mc_code mc_lake_check_schema(const mc_table *t, const char *what, mc_error *err);

/* Partitions present, sorted by (year, month). Free with mc_lake_partitions_free. */
mc_code mc_lake_partitions(const mc_lake *l, mc_lake_partition **out, size_t *n, mc_error *err);
void mc_lake_partitions_free(mc_lake_partition *p, size_t n);
char *mc_lake_partition_path(const mc_lake *l, int year, int month);

/* Read one month; *out = NULL (not an error) when the partition does not exist. */
mc_code mc_lake_read_month(const mc_lake *l, int year, int month, mc_table **out, mc_error *err);
/* Read the whole lake, optionally restricted to [from, to] (days; INT32_MIN/MAX = open). */
mc_code mc_lake_read(const mc_lake *l, int32_t from, int32_t to, mc_table **out, mc_error *err);
/* Sort in place by the lake order and write one month atomically. */
mc_code mc_lake_write_month(mc_lake *l, int year, int month, mc_table *t, mc_error *err);

typedef struct mc_lake_month {
	int year, month;
	mc_table *table;	     /* sorted in place */
	const uint32_t *series_rank; /* optional: each row's series rank in lake order */
	char sha256[65];	     /* out: hash of the file written */
	size_t bytes;		     /* out: its size */
} mc_lake_month;

/*
 * Write several months: each file is complete before any is renamed into
 * place, with one durability barrier for the batch (mc_atomic_commit_all).
 */
mc_code mc_lake_write_months(mc_lake *l, mc_lake_month *months, size_t n, mc_error *err);

/*
 * The lake's writer lock (<root>/.ingest.lock, flock): ingest and pulls from
 * a remote lake hold it while they change partitions.  *fd is for
 * mc_lake_unlock; a second lock from the same process would wait forever.
 */
mc_code mc_lake_lock(const mc_lake *l, int *fd, mc_error *err);
void mc_lake_unlock(int fd);

/*
 * Remove temporary files a crashed writer left in partition directories
 * ("data.parquet.tmp.*").  Call only while holding the ingest lock.
 * Returns how many were removed.
 */
size_t mc_lake_remove_stale_temps(mc_lake *l);

/* Sort a lake-schema table by (date, kind, state, city, milk_type, channel). */
mc_code mc_lake_sort(mc_table *t, mc_error *err);
/* The same when the caller knows each row's series rank (rank[i] for row i). */
mc_code mc_lake_sort_ranked(mc_table *t, const uint32_t *rank, mc_error *err);

#endif
