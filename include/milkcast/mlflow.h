/*
 * Exporting what milkcast.db's tracking and registry hold to an MLflow
 * tracking server through its REST API 2.0: experiments, runs (children with
 * the tag mlflow.parentRunId), params, full metric histories and tags in
 * runs/log-batch requests within MLflow's limits, final statuses, registered
 * models, their versions and aliases.
 *
 * Idempotent per server: every run, model, version and alias sent is recorded
 * in the table mlflow_exports (schema migration 3) as soon as the server
 * accepted it, with the number of log-batch requests of a run already
 * accepted, so a second export sends only what is new and an export that
 * failed half way continues where it stopped.  RUNNING runs are left for a
 * later export (their history is not complete yet).
 *
 * Non-finite metric values are sent as the strings "NaN", "Infinity" and
 * "-Infinity", as the protobuf JSON mapping that MLflow's server parses
 * requests with defines for double fields.  Credentials never appear in
 * errors, logs or the database.  The library never prints: requests are
 * reported through the optional callback.
 */
#ifndef MILKCAST_MLFLOW_H
#define MILKCAST_MLFLOW_H

#include <stdbool.h>
#include <stddef.h>

#include "milkcast/error.h"
#include "milkcast/store.h"

/* Per runs/log-batch request, as MLflow documents them. */
#define MC_MLFLOW_MAX_METRICS 1000
#define MC_MLFLOW_MAX_PARAMS 100
#define MC_MLFLOW_MAX_TAGS 100
#define MC_MLFLOW_MAX_ITEMS 1000
/* A request body is at most 1 MB; batches stay under this estimate. */
#define MC_MLFLOW_MAX_BATCH_BYTES 900000

/* One request: method, path (with its query), body (NULL for GET); sent or, dry, not. */
typedef void (*mc_mlflow_request_fn)(void *user, const char *method, const char *path,
				     const char *body, bool dry_run);

typedef struct mc_mlflow_opts {
	const char *url; /* http(s)://host[:port][/prefix]; the API is under /api/2.0/mlflow */
	const char *experiment; /* only this experiment's runs; NULL = all */
	bool dry_run;		/* report every request, send none, record nothing */
	/* Model version sources: a bundle under the workspace becomes this URI + its path in
	 * the workspace (e.g. s3://bucket/milkcast/models/...); NULL: a file:// URI. */
	const char *source_base;
	/* Basic auth when username and password are set (MLflow's precedence), else a bearer
	 * token; NULL = none. */
	const char *token;
	const char *username;
	const char *password;
	int retries;	 /* extra attempts on transport errors, 5xx and 429 (default 3) */
	long backoff_ms; /* delay before the first retry, doubled each time (default 500) */
	long timeout_s;	 /* per attempt (default 60) */
	mc_mlflow_request_fn on_request; /* optional */
	void *user;
} mc_mlflow_opts;

/* Defaults; credentials from MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN. */
void mc_mlflow_opts_init(mc_mlflow_opts *o);

typedef struct mc_mlflow_summary {
	size_t experiments_created; /* experiments the server did not have */
	size_t runs;		    /* runs sent (created or resumed) */
	size_t runs_resumed;	    /* of which an earlier export had started */
	size_t runs_before;	    /* already complete on that server */
	size_t runs_pending;	    /* RUNNING, or the parent not exported: left for later */
	size_t params, tags, metrics;
	size_t non_finite; /* metric values sent as "NaN", "Infinity" or "-Infinity" */
	size_t batches;	   /* runs/log-batch requests */
	size_t models_created;
	size_t versions;	 /* model versions created */
	size_t versions_before;	 /* already on that server */
	size_t versions_pending; /* their run is not exported (yet) */
	size_t aliases;		 /* aliases set or moved */
	size_t requests;	 /* HTTP requests, retries included (dry run: would be sent) */
	size_t retries;
} mc_mlflow_summary;

/*
 * Export to o->url.  On failure the parts the server accepted stay recorded
 * and s (the summary) counts what was sent; run it again to continue.
 */
mc_code mc_mlflow_export(mc_store *s, const mc_mlflow_opts *o, mc_mlflow_summary *sum,
			 mc_error *err);

/* The server key recorded in milkcast.db: the URL without trailing '/' (malloc'd). */
char *mc_mlflow_server_key(const char *url, mc_error *err);

#endif
