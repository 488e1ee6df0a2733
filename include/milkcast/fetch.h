/*
 * Downloading SNIIM milk workbooks over HTTP(S) into a raw/ directory.
 *
 * One publication is `{base}/Leche{DDMMYYYY}.xlsx`.  A fetch asks with HEAD
 * whether it exists (falling back to GET when HEAD is refused), downloads it
 * with timeouts, bounded redirects, a size cap and retries with exponential
 * backoff, checks that the body really is a complete xlsx (not an HTML error
 * page, not truncated) and only then saves it atomically.  The library never
 * prints: attempts are reported through the optional log callback.
 *
 * Threads: call mc_fetch_global_init() once before starting threads and
 * mc_fetch_global_cleanup() after they end (it loads libcurl, see httpc.h).  An
 * mc_fetcher belongs to one thread at a time; separate fetchers may run in
 * parallel.  The building blocks at the end are pure and thread-safe.
 */
#ifndef MILKCAST_FETCH_H
#define MILKCAST_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

#define MC_FETCH_DEFAULT_BASE_URL \
	"https://www.economia-sniim.gob.mx/SNIIM-Archivosfuente/Comentarios/Otros"
/* Body size cap: real workbooks are well under 1 MiB. */
#define MC_FETCH_DEFAULT_MAX_BYTES ((size_t)64 << 20)

/* What a fetch ended with; the names (mc_fetch_status_name) appear in JSON. */
typedef enum mc_fetch_status {
	MC_FETCH_FAILED = 0,	/* "failed": an error; see the mc_error */
	MC_FETCH_FETCHED,	/* "fetched": saved, there was no file before */
	MC_FETCH_UNCHANGED,	/* "unchanged": the saved file has identical bytes */
	MC_FETCH_REPLACED,	/* "replaced": the saved file differed; force replaced it */
	MC_FETCH_CONFLICT,	/* "conflict": the saved file differs; kept it (no force) */
	MC_FETCH_NOT_PUBLISHED, /* "not_published": HTTP 404, 403 or 410 */
} mc_fetch_status;

/* Receives one line (no newline) per request, retry and decision. */
typedef void (*mc_fetch_log_fn)(void *user, const char *msg);

typedef struct mc_fetch_opts {
	const char *base_url;	/* NULL = MC_FETCH_DEFAULT_BASE_URL; a trailing '/' is ok */
	long timeout_s;		/* whole request, per attempt (default 60) */
	long connect_timeout_s; /* connection set-up, per attempt (default 15) */
	int retries;		/* extra attempts per request after the first (default 3) */
	long backoff_ms;	/* delay before the first retry, doubled each time (500) */
	long backoff_max_ms;	/* ceiling for the doubled delay (8000) */
	long retry_after_max_s; /* honour Retry-After up to this, else give up (30) */
	size_t max_bytes;	/* body cap (MC_FETCH_DEFAULT_MAX_BYTES) */
	long max_redirects;	/* redirects followed (5) */
	bool force;		/* replace a saved file whose bytes differ */
	mc_fetch_log_fn log;	/* optional */
	void *log_user;
} mc_fetch_opts;

void mc_fetch_opts_init(mc_fetch_opts *o);

typedef struct mc_fetch_result {
	mc_fetch_status status;
	int32_t date;
	char *url;	    /* what was requested (malloc'd) */
	char *path;	    /* raw_dir/LecheDDMMYYYY.xlsx, saved or not (malloc'd) */
	size_t bytes;	    /* bytes downloaded (0 if no body was kept) */
	size_t saved_bytes; /* for CONFLICT: the size of the file that was kept */
	long http_status;   /* last HTTP status seen, 0 if none */
	int requests;	    /* HTTP requests made, retries included */
} mc_fetch_result;

void mc_fetch_result_release(mc_fetch_result *r);
const char *mc_fetch_status_name(mc_fetch_status s);

/* True when r->path holds the publication (fetched, unchanged or replaced). */
static inline bool mc_fetch_have_file(const mc_fetch_result *r)
{
	return r->status == MC_FETCH_FETCHED || r->status == MC_FETCH_UNCHANGED ||
	       r->status == MC_FETCH_REPLACED;
}

/* Load libcurl (errors say when it cannot be) and count the users; not thread-safe. */
mc_code mc_fetch_global_init(mc_error *err);
void mc_fetch_global_cleanup(void);

/* A fetcher keeps one connection cache, so a range of dates reuses connections. */
typedef struct mc_fetcher mc_fetcher;

mc_code mc_fetcher_new(const mc_fetch_opts *opts, mc_fetcher **out, mc_error *err);
void mc_fetcher_free(mc_fetcher *f);

/*
 * Fetch the publication of `date` into raw_dir (created when a file is
 * saved).  Returns MC_OK when the server gave a definite answer, and
 * res->status says which (FETCHED, UNCHANGED, REPLACED, CONFLICT,
 * NOT_PUBLISHED); any other return is an error with res->status FAILED and
 * an existing file left untouched.  res is always filled; release it.
 */
mc_code mc_fetcher_get(mc_fetcher *f, int32_t date, const char *raw_dir, mc_fetch_result *res,
		       mc_error *err);

/* mc_fetcher_new + mc_fetcher_get + mc_fetcher_free (needs mc_fetch_global_init). */
mc_code mc_fetch_publication(const mc_fetch_opts *opts, int32_t date, const char *raw_dir,
			     mc_fetch_result *res, mc_error *err);

/* --- building blocks (pure; exposed for tests and other callers) -------- */

/* "LecheDDMMYYYY.xlsx" into out. */
void mc_fetch_file_name(int32_t date, char out[24]);
/* "{base}/LecheDDMMYYYY.xlsx" (malloc'd; NULL on no memory). */
char *mc_fetch_url(const char *base, int32_t date);
/* Accept a Content-Type header value (NULL = absent) for an xlsx body; errors say why not. */
mc_code mc_fetch_check_content_type(const char *content_type, mc_error *err);
/* The bytes are a complete zip holding xl/workbook.xml; errors say what is wrong. */
mc_code mc_fetch_check_xlsx(const uint8_t *p, size_t n, mc_error *err);
/*
 * Save a checked body as raw_dir/LecheDDMMYYYY.xlsx: FETCHED when new,
 * UNCHANGED when identical, else REPLACED (force) or CONFLICT (file kept).
 * Sets res->status, res->bytes and res->saved_bytes; res->path must be set.
 */
mc_code mc_fetch_store(const char *raw_dir, const char *path, const uint8_t *p, size_t n,
		       bool force, mc_fetch_result *res, mc_error *err);
/* Delay before retry number `retry` (0-based): the capped doubling, half of it jittered by rnd. */
long mc_fetch_backoff_ms(const mc_fetch_opts *o, int retry, uint32_t rnd);

#endif
