/*
 * A remote lake (MILKCAST_LAKE): the month partitions and a manifest in an
 * artifact store (s3://bucket/prefix, file:///dir or a path), with the local
 * lake (<home>/lake/prices) as the working copy.
 *
 * Remote layout, relative to the store:
 *
 *   manifest.json                                 the index, written last
 *   prices/YYYY-MM/<sha256>.parquet               partitions, content-addressed
 *
 * Partition objects are named by their SHA-256, so they are never
 * overwritten with other bytes: a reader holding any manifest finds every
 * partition it names, complete.  A push uploads the changed partitions
 * first and the manifest last.  A pull reads the manifest and downloads the
 * partitions whose hash differs from the local copy, checks each download's
 * size and SHA-256 against the manifest and replaces the local files only
 * when every download checked out.
 *
 * The workspace remembers, per month, which remote version its copy came
 * from (<home>/lake/remote-sync.json): a push uploads only the months that
 * changed locally since, and refuses a month that another writer changed in
 * the meantime instead of overwriting it with a stale copy.
 * docs/internals/lake.md has the details.
 */
#ifndef MILKCAST_LAKE_REMOTE_H
#define MILKCAST_LAKE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/lake.h"

/*
 * Attach the remote lake at `uri` to l (the lake owns it from then on and
 * frees it with mc_lake_free).  Nothing is transferred yet.  A file store
 * inside the workspace's own lake directory is refused.
 */
mc_code mc_lake_attach_remote(mc_lake *l, const char *uri, mc_error *err);
/* The attached remote's URI, normalised ("s3://b/p", "file:///dir"); NULL when none. */
const char *mc_lake_remote_uri(const mc_lake *l);

/* Bring the local copy up to the remote manifest (no-op without a remote). Takes the lake lock. */
mc_code mc_lake_pull(mc_lake *l, mc_error *err);
/* Upload the months changed locally, then the manifest (no-op without a remote). Takes the lock. */
mc_code mc_lake_push(mc_lake *l, mc_error *err);
/* The same for a caller that already holds mc_lake_lock (ingest). */
mc_code mc_lake_pull_held(mc_lake *l, mc_error *err);
mc_code mc_lake_push_held(mc_lake *l, mc_error *err);

/* What the attached remote has done so far (zeros without a remote). */
typedef struct mc_lake_sync_stats {
	size_t pulls, pushes;	  /* completed */
	size_t downloaded;	  /* partitions fetched */
	size_t uploaded;	  /* partitions sent */
	size_t remote_partitions; /* in the manifest last read or written */
	int64_t generation;	  /* of that manifest; 0 = the remote lake is empty */
	bool manifest_written;	  /* a push wrote a new manifest */
} mc_lake_sync_stats;

void mc_lake_sync_stats_get(const mc_lake *l, mc_lake_sync_stats *out);

#endif
