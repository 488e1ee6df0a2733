/*
 * Internals of the MLflow export: the HTTP client (mlflow_http.c, over
 * src/http) and the packing of a run's params, tags
 * and metrics into runs/log-batch requests (mlflow_batch.c).
 */
#ifndef MC_TRACK_MLFLOW_INT_H
#define MC_TRACK_MLFLOW_INT_H

#include <jansson.h>
#include <stddef.h>

#include "milkcast/mlflow.h"

#define MLFLOW_API_PATH "/api/2.0/mlflow/"

/* --- HTTP ------------------------------------------------------------------ */

typedef struct mlflow_client mlflow_client;

typedef struct mlflow_reply {
	long status;	     /* HTTP status, 0 when none came back */
	char error_code[64]; /* MLflow's error_code of a failed call, "" when none */
	json_t *body;	     /* the JSON object of a 2xx reply (owned) */
} mlflow_reply;

/* base: the server key (no trailing '/'); credentials from o. */
mc_code mlflow_client_new(const mc_mlflow_opts *o, const char *base, mlflow_client **out,
			  mc_error *err);
void mlflow_client_free(mlflow_client *c);

/*
 * One API call, retried on transport errors, 5xx and 429.  endpoint is
 * relative to /api/2.0/mlflow/ ("runs/create"); query is appended as is (already
 * encoded) or NULL; body is JSON text for POST, NULL for GET.  MC_OK only for a
 * 2xx with a JSON object; otherwise the error names the endpoint and the
 * server's error_code and message, and r->status / r->error_code say what came
 * back.  *attempts gets the number of requests made.
 */
mc_code mlflow_call(mlflow_client *c, const char *method, const char *endpoint, const char *query,
		    const char *body, mlflow_reply *r, int *attempts, mc_error *err);
void mlflow_reply_release(mlflow_reply *r);

/* experiment_name=... URL-encoded (malloc'd; NULL on no memory). */
char *mlflow_query_param(const char *name, const char *value);

/* --- log-batch packing ------------------------------------------------------ */

/* What a run logged, as MLflow's JSON objects: {key, value} and {key, value, timestamp, step}. */
typedef struct mlflow_run_data {
	json_t *params;
	json_t *tags;
	json_t *metrics;
} mlflow_run_data;

/* One request: slices [p0, p0+np) of params, of tags and of metrics. */
typedef struct mlflow_batch {
	size_t p0, np, t0, nt, m0, nm;
} mlflow_batch;

void mlflow_run_data_release(mlflow_run_data *d);

/*
 * Split d into requests within MC_MLFLOW_MAX_* and MC_MLFLOW_MAX_BATCH_BYTES,
 * in order (params, tags and metrics each keep theirs).  The split depends only
 * on d, so a resumed export skips the batches already sent.  *out is malloc'd.
 */
mc_code mlflow_plan_batches(const mlflow_run_data *d, mlflow_batch **out, size_t *n);

/* The runs/log-batch body of batch b for the remote run_id (new reference). */
json_t *mlflow_batch_json(const char *run_id, const mlflow_run_data *d, const mlflow_batch *b);

/* A metric value as MLflow's JSON: a number, or "NaN", "Infinity", "-Infinity". */
json_t *mlflow_metric_value(double v);

/* --- one export (mlflow_export.c, mlflow_registry.c, mlflow_db.c) ---------- */

typedef struct mlflow_exporter {
	mc_store *s;
	const mc_mlflow_opts *o;
	mlflow_client *client; /* NULL in a dry run */
	char *server;	       /* the key of the server's rows in mlflow_exports */
	json_t *runs;	       /* local run id -> remote run id */
	json_t *experiments;   /* experiment name -> remote experiment id */
	json_t *versions;      /* "model\nversion" -> remote version */
	mc_mlflow_summary *sum;
} mlflow_exporter;

/*
 * A request (a dry run only reports it).  body is borrowed.  MC_OK: r->body
 * holds the reply (NULL in a dry run); on an HTTP error r->error_code says
 * which, so the caller may accept it.
 */
mc_code mlflow_send(mlflow_exporter *ex, const char *method, const char *endpoint,
		    const char *query, json_t *body, mlflow_reply *r, mc_error *err);
/* {"key": k, "value": v} appended to a (NULL values are skipped). */
mc_code mlflow_append_tag(json_t *a, const char *k, const char *v);

/* Rows as JSON objects keyed by column name; types per column: 't' text, 'i' integer. */
mc_code mlflow_rows(mc_store *s, const char *sql, const char *const *args, int nargs,
		    const char *types, json_t **out, mc_error *err);
/* Record (replace) a row of mlflow_exports; nothing in a dry run. */
mc_code mlflow_map_put(mlflow_exporter *ex, const char *kind, const char *local_id,
		       const char *local_key, const char *remote_id, mc_error *err);
/* A run's progress: log-batch requests accepted, and whether it is complete. */
mc_code mlflow_map_progress(mlflow_exporter *ex, const char *run, size_t batches, bool done,
			    mc_error *err);
/* Params, tags and metric history of a local run. */
mc_code mlflow_load_run(mc_store *s, const char *run, mlflow_run_data *d, mc_error *err);

/* Registered models, their versions and aliases (after the runs). */
mc_code mlflow_export_registry(mlflow_exporter *ex, mc_error *err);

#endif
