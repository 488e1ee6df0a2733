/* Shared inside src/serve: routes, metrics, the prediction log, the served model. */
#ifndef MILKCAST_SERVE_INT_H
#define MILKCAST_SERVE_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "milkcast/buf.h"
#include "milkcast/forecast.h"
#include "milkcast/serve.h"
#include "milkcast/strmap.h"

/* ---- routes (labels of the metrics) ---- */

enum {
	MC_ROUTE_PREDICT,
	MC_ROUTE_FORECAST,
	MC_ROUTE_SERIES,
	MC_ROUTE_MODELS,
	MC_ROUTE_HEALTHZ,
	MC_ROUTE_READYZ,
	MC_ROUTE_METRICS,
	MC_ROUTE_ADMIN_RELOAD,
	MC_ROUTE_UNMATCHED,
	MC_ROUTE_COUNT
};
extern const char *const mc_route_paths[MC_ROUTE_COUNT];

/* ---- metrics (metrics.c): atomic counters, rendered as Prometheus text 0.0.4 ---- */

enum { MC_METHOD_GET, MC_METHOD_HEAD, MC_METHOD_POST, MC_METHOD_OTHER, MC_METHOD_COUNT };
#define MC_STATUS_SLOTS 16 /* the status codes the router answers, and "other" */
#define MC_LATENCY_BUCKETS 14

typedef struct mc_serve_metrics {
	_Atomic uint64_t requests[MC_ROUTE_COUNT][MC_METHOD_COUNT][MC_STATUS_SLOTS];
	_Atomic uint64_t latency[MC_ROUTE_COUNT][MC_LATENCY_BUCKETS + 1]; /* last: above all */
	_Atomic uint64_t latency_ns[MC_ROUTE_COUNT];			  /* sum */
	_Atomic uint64_t predictions;
	_Atomic uint64_t reloads_ok, reloads_failed;
	double start_time;	      /* the process's, seconds since the epoch */
	double created;		      /* CLOCK_MONOTONIC at creation, for the uptime */
	struct mc_textfile *textfile; /* `milkcast monitor`'s gauges, or NULL */
} mc_serve_metrics;

/* What the exposition needs besides the counters. */
typedef struct mc_metrics_view {
	const char *model_name, *model_version; /* NULL: no model */
	uint64_t log_written, log_dropped, log_failed;
	size_t series;		/* served series with forecasts */
	double data_as_of_unix; /* the served data's last date, seconds (0 = none) */
} mc_metrics_view;

void mc_serve_metrics_init(mc_serve_metrics *m);
int mc_serve_method_index(const char *method);
void mc_serve_metrics_observe(mc_serve_metrics *m, int route, int method, int status,
			      double seconds);
mc_code mc_serve_metrics_render(const mc_serve_metrics *m, const mc_metrics_view *v, mc_buf *out);
/*
 * Also expose the gauges of a Prometheus textfile (HOME/metrics/
 * milkcast_monitor.prom, written by `milkcast monitor`), read again when it
 * changes; a file that is missing or holds anything but milkcast_* lines is
 * left out.  Release with mc_serve_metrics_release.
 */
mc_code mc_serve_metrics_textfile(mc_serve_metrics *m, const char *path, mc_error *err);
void mc_serve_metrics_release(mc_serve_metrics *m);

/* ---- the prediction log (predlog.c): a bounded queue and a writer thread ---- */

typedef struct mc_predlog mc_predlog;

typedef struct mc_predlog_entry {
	int64_t time_ms; /* when the request was answered (Unix ms) */
	char state[96], city[96], milk_type[24], channel[24];
	int32_t as_of, origin, target;
	int h;
	double price, lower, upper, last;
	char version[48]; /* the model's */
	uint8_t route;	  /* MC_ROUTE_* */
} mc_predlog_entry;

/* Start a writer appending to DIR/serve-YYYY-MM-DD.jsonl (UTC date of each entry). */
mc_code mc_predlog_new(const char *dir, size_t capacity, mc_predlog **out, mc_error *err);
/* Queue one entry; never waits for the writer.  False when the queue was full (dropped). */
bool mc_predlog_push(mc_predlog *l, const mc_predlog_entry *e);
/* Write what is queued, stop the writer and free. */
void mc_predlog_free(mc_predlog *l);
void mc_predlog_counts(mc_predlog *l, uint64_t *written, uint64_t *dropped, uint64_t *failed);
/*
 * Append the entry's JSON line (with its newline) to b; false (b unchanged)
 * when it cannot be.  memo (NULL = none) keeps the texts of its numbers.
 */
struct mc_real_memo;
bool mc_predlog_format(const mc_predlog_entry *e, struct mc_real_memo *memo, mc_buf *b);

/* ---- the common request body: a flat JSON object (flatjson.c) ---- */

enum { MC_FLAT_STRING, MC_FLAT_INT, MC_FLAT_NUMBER };
#define MC_FLAT_MAX 16 /* members */

typedef struct mc_flat_member {
	const char *key; /* NUL-terminated copies in the caller's scratch space */
	int type;	 /* MC_FLAT_* */
	const char *str; /* a string's value (NUL-terminated copy), or a number's text */
	size_t len;
	long long ival; /* MC_FLAT_INT */
} mc_flat_member;

/*
 * The members of a body that is one flat JSON object of plain strings and
 * numbers, as jansson would read them; false for any other text (which
 * jansson must then read).  Strings are copied, NUL-terminated, into
 * scratch (scratch_cap >= n is always enough).
 */
bool mc_flat_parse(const char *text, size_t n, char *scratch, size_t scratch_cap,
		   mc_flat_member *members, size_t *count);
const mc_flat_member *mc_flat_get(const mc_flat_member *m, size_t n, const char *key);

/* ---- the access log's writer (accesslog.c): whole lines, batched writes ---- */

typedef struct mc_access_log mc_access_log;

/* Start a writer of lines to fd (not closed by it). */
mc_code mc_access_log_new(int fd, mc_access_log **out, mc_error *err);
/* Queue one or more whole lines (each ending in '\n'); never fails, may write. */
void mc_access_log_append(mc_access_log *a, const char *line, size_t n);
/* Write what is queued and stop the writer. */
void mc_access_log_free(mc_access_log *a);

/* ---- JSON text as jansson's json_dumps(JSON_COMPACT) writes it (jsonw.c) ---- */

/* Each appends to b and returns false when out of memory or the value is refused. */
static inline bool mc_jw_raw(mc_buf *b, const char *s, size_t n)
{
	if (b->data && n < b->cap - b->len && (!b->max || b->len + n <= b->max)) {
		memcpy(b->data + b->len, s, n); /* the common case: room already there */
		b->len += n;
		b->data[b->len] = 0;
		return true;
	}
	return mc_buf_append(b, s, n) == MC_OK;
}
/* A string (UTF-8 without NUL, else refused), quoted and escaped. */
bool mc_jw_string(mc_buf *b, const char *s);
bool mc_jw_string_n(mc_buf *b, const char *s, size_t n);
/* A finite double (else refused), with ".0" when it prints as an integer. */
bool mc_jw_real(mc_buf *b, double x);
size_t mc_jw_format_real(double x, char out[32]); /* 0 when it does not fit */
/* The texts of reals written lately, by their bits (one thread's): a model's forecasts repeat. */
#define MC_REAL_MEMO_BITS 9
typedef struct mc_real_text {
	uint64_t bits;
	uint8_t len; /* 0 = empty */
	char text[32];
} mc_real_text;
typedef struct mc_real_memo {
	mc_real_text slot[1 << MC_REAL_MEMO_BITS];
} mc_real_memo;
/* mc_jw_real through memo (NULL: none), the same text. */
bool mc_jw_real_memo(mc_buf *b, double x, mc_real_memo *memo);
bool mc_jw_int(mc_buf *b, long long v);
/* A date as a string "YYYY-MM-DD". */
bool mc_jw_date(mc_buf *b, int32_t day);

/* ---- the served model (model.c) ---- */

/* Forecasts of every usable series as of one date, shared by reference count. */
typedef struct mc_fcset {
	atomic_int refs;
	int32_t as_of;
	mc_forecast *fc; /* series-major: `horizons` rows per usable series */
	size_t n;
	long *first; /* by panel series: its first row in fc, or -1 (too little history) */
} mc_fcset;

#define MC_FCSET_CACHE 8

/* Request names (as sent) resolved before, to their panel series. */
#define MC_NAME_MEMO 256
typedef struct mc_name_memo {
	long series;
	size_t len;
	char key[]; /* the four names, each ending in NUL */
} mc_name_memo;

typedef struct mc_served {
	atomic_int refs;
	mc_bundle *bundle;
	char name[64], version[48]; /* registry name and version, or the bundle's name */
	char source[4096];	    /* the bundle's directory or URI */
	char loaded_at[32];
	uint64_t lake_stamp; /* the lake's files when read (0 = not read) */
	bool from_lake;	     /* the panel came from the lake, not the snapshot */
	/* The lake's last date is the snapshot's: the snapshot serves the same forecasts,
	 * and a request that needs older history swaps in the lake's (mc_router_history). */
	bool lake_deferred;
	atomic_bool history_failed; /* reading the lake for it failed: not tried again */
	mc_panel *panel;	    /* every date */
	int horizons;
	mc_fcset *latest;   /* as of the panel's last date: the default */
	int32_t *last_date; /* by series: date of the last price (0 = none) */
	mc_strmap *index;   /* series key (mc_served_key) → panel series */
	pthread_mutex_t series_lock;
	char *series_json; /* GET /v1/series, built on its first request */
	pthread_mutex_t cache_lock;
	mc_fcset *cache[MC_FCSET_CACHE]; /* other as-of dates, ring */
	size_t cache_next;
	_Atomic(mc_name_memo *) names[MC_NAME_MEMO]; /* set once each, read without locks */
} mc_served;

typedef struct mc_served_source {
	const char *dir;       /* the bundle: a directory or an artifact-store URI */
	const char *cache_dir; /* where a URI's bundle is fetched to */
	const char *name;      /* registered name, or "" */
	const char *version;   /* registry version, or "" */
	const char *home;      /* workspace with a lake to read, or NULL */
	uint64_t lake_stamp;
	bool whole_lake; /* read the lake even when it holds nothing newer than the snapshot */
} mc_served_source;

/* Load the bundle, build the panel, compute the default forecasts and the index. */
mc_code mc_served_load(const mc_served_source *src, mc_served **out, mc_error *err);
void mc_served_release(mc_served *m); /* drop a reference; the last frees */
/* The /v1/series document (built on first use, then kept), or NULL when out of memory. */
const char *mc_served_series_json(mc_served *m);
/* A fingerprint of HOME's lake files (names, sizes, times); 0 when there is no lake. */
uint64_t mc_served_lake_stamp(const char *home);

/* Series key of canonical names (out: 4 * 97 bytes); returns its length. */
size_t mc_served_key(const char *state, const char *city, const char *milk_type,
		     const char *channel, char *out);
/* Panel series by canonical names, or -1. */
long mc_served_find(const mc_served *m, const char *state, const char *city, const char *milk_type,
		    const char *channel);
/*
 * The panel series of request names (state, city, milk type, channel as
 * sent) that resolved before, or -1; and remembering one (a slot already
 * taken by other names is left to them).
 */
long mc_served_names_get(mc_served *m, const char *const names[4]);
void mc_served_names_put(mc_served *m, const char *const names[4], long series);
/* Forecasts as of `as_of` (the default set, the cache, or computed); release when done. */
mc_code mc_served_forecasts(mc_served *m, int32_t as_of, mc_fcset **out, mc_error *err);
void mc_fcset_release(mc_fcset *s);

/* ---- names (names.c): resolving request names, and suggestions ---- */

typedef struct mc_series_query {
	char state[96], city[96];
	const char *milk_type, *channel; /* canonical codes */
} mc_series_query;

/*
 * Canonical names for a request's (state, city, milk type, channel): SNIIM's
 * spellings resolved as ingest does, any case and accents.  On failure
 * *field names the bad one ("milk_type", "channel") when it is not a name of
 * a known kind; state and city problems come back as MC_ERR_NOT_FOUND.
 */
mc_code mc_series_query_resolve(const char *state, const char *city, const char *milk_type,
				const char *channel, mc_series_query *q, const char **field,
				mc_error *err);
/*
 * Places (state, city) of the panel close to the query's, best first: up to
 * `max` panel series indexes, the first series of each place.  A NULL state
 * or city matches any.
 */
size_t mc_series_suggest(const mc_panel *p, const char *state, const char *city, size_t *out,
			 size_t max);
/* Edit distance of two names folded to lower-case ASCII letters and digits, at most 64 each. */
size_t mc_name_distance(const char *a, const char *b);
/* The same names once folded ("Cd.Juárez" and "cd. juarez"). */
bool mc_name_equal(const char *a, const char *b);

/* ---- the router (router.c, reload.c, api.c) ---- */

struct mc_store;

struct mc_router {
	char *home, *model_dir, *model_name, *admin_token, *lake_uri;
	char cache_dir[4200]; /* bundles fetched from URIs */
	size_t max_body, max_instances;
	bool use_lake;
	pthread_mutex_t swap_lock; /* guards `current` only: held for a pointer copy */
	mc_served *current;
	pthread_mutex_t reload_lock; /* one reload at a time; guards store and failed */
	struct mc_store *store;	     /* the workspace's registry, or NULL */
	char failed[4500];	     /* the source that failed to load last ("" = none) */
	pthread_mutex_t registry_lock;
	char *registry_json; /* registry part of /v1/models, refreshed by reloads */
	mc_serve_metrics metrics;
	mc_predlog *log; /* NULL = no prediction log */
	atomic_bool draining;
	bool fast_path;		       /* answer flat single requests without jansson (true) */
	_Atomic uint64_t fast_answers; /* requests the fast path answered (for tests) */
};

/* The model serving now, with a reference (release with mc_served_release), or NULL. */
mc_served *mc_router_acquire(mc_router *r);
/*
 * For a request that needs more history than a deferred model's snapshot
 * (m->lake_deferred): takes the caller's reference to m and returns one to
 * the model to use instead, loaded from the whole lake and swapped in (once;
 * when that fails, m itself).
 */
mc_served *mc_router_history(mc_router *r, mc_served *m);
/* The first load, at creation. */
mc_code mc_router_load_first(mc_router *r, mc_error *err);
/* Refresh the registry part of /v1/models (under reload_lock). */
void mc_router_refresh_registry(mc_router *r);

/* Responses: a JSON document (stolen; NULL = 500), an error {"error":{code, message, ...}}. */
void mc_resp_json(mc_http_response *resp, int status, json_t *doc);
void mc_resp_error(mc_http_response *resp, int status, const char *code, json_t *extra,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
json_t *mc_model_json(const mc_served *m);
json_t *mc_date_json(int32_t day);
int64_t mc_now_unix_ms(void);

/* Routes implemented in api.c. */
void mc_api_predict(mc_router *r, const mc_http_request *req, mc_http_response *resp);
void mc_api_forecast(mc_router *r, const mc_http_request *req, mc_http_response *resp);

bool mc_utf8_valid(const char *s, size_t n);

#endif
