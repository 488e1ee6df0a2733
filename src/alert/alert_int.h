/* Shared by the files of src/alert: message building, the HTTP client and the dedup ledger. */
#ifndef MILKCAST_ALERT_INT_H
#define MILKCAST_ALERT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/alert.h"
#include "milkcast/buf.h"

/* --- message.c: text, escaping, truncation, bodies ------------------------------- */

/*
 * A malloc'd copy of s that is valid UTF-8: invalid sequences become U+FFFD,
 * control characters a space (newlines and tabs kept when `multiline`,
 * "\r\n" becomes "\n").  NULL on allocation failure.
 */
char *alert_clean_text(const char *s, bool multiline);

/*
 * The Telegram HTML text of an alert: bold title with the severity's mark,
 * severity and rule, the details, the link.  Every piece is escaped; the
 * parsed text fits `limit` UTF-16 code units (at least 256): the title and
 * the link are cut first to a quarter of it, the details to what remains,
 * never inside a character, an entity or a tag, and end in "…" when cut.
 */
mc_code alert_telegram_text(const mc_alert *a, size_t limit, mc_buf *out, bool *truncated,
			    mc_error *err);

/*
 * The length Telegram counts for HTML as we write it: UTF-16 code units of
 * the text outside tags, each entity one unit.
 */
size_t alert_telegram_units(const char *html);

/* The sendMessage request body (chat_id a number when it is one). */
mc_code alert_telegram_body(const char *chat_id, const char *text, mc_buf *out, mc_error *err);

/* The webhook's JSON body: rule, severity, title, details, link, time, source, dedup_key. */
mc_code alert_webhook_body(const mc_alert *a, const char *key, int64_t now_ms, mc_buf *out,
			   mc_error *err);

/* "2025-04-01T12:00:00Z" (out: at least 32 bytes). */
void alert_format_time(int64_t ms, char *out, size_t n);

/* Replace every occurrence of `secret` (if non-empty) in the string s (capacity cap) by
 * "<redacted>". */
void alert_redact(char *s, size_t cap, const char *secret);

/* --- http.c: one JSON POST with the retry policy (over src/http) ----------------- */

typedef struct alert_http alert_http;

typedef struct alert_http_opts {
	int retries;
	long backoff_ms, backoff_max_ms, retry_after_max_s, timeout_s;
	mc_alert_log_fn log;
	void *log_user;
} alert_http_opts;

/* The final reply of a request. */
typedef struct alert_reply {
	long status;
	int attempts;
	mc_buf body; /* capped */
} alert_reply;

mc_code alert_http_new(const alert_http_opts *o, alert_http **out, mc_error *err);
void alert_http_free(alert_http *h);
void alert_reply_init(alert_reply *r);
void alert_reply_release(alert_reply *r);

/*
 * POST `json` to `url` with an optional bearer token, retried on transport
 * errors, 5xx and 429 (waiting for Telegram's parameters.retry_after or the
 * Retry-After header, else exponential backoff with jitter).  MC_OK when an
 * HTTP status came back (any: the caller judges it); MC_ERR_NETWORK when the
 * transport failed or a 429 asked for more than retry_after_max_s.  `name`
 * stands for the URL in logs and errors (the URL may hold secrets).
 */
mc_code alert_http_post(alert_http *h, const char *url, const char *bearer, const char *name,
			const char *json, alert_reply *r, mc_error *err);

/* --- ledger.c: what was sent, in milkcast.db or in memory ------------------------- */

typedef struct alert_ledger alert_ledger;

mc_code alert_ledger_new(mc_store *store, alert_ledger **out, mc_error *err);
void alert_ledger_free(alert_ledger *l);

/* A channel's turn for an alert: suppressed by an earlier one, or a claim to send. */
typedef struct alert_claim {
	bool suppressed;
	int64_t earlier_at; /* suppressed: when the earlier one was sent (or claimed) */
	int64_t row;	    /* the row to finish, 0 = none */
} alert_claim;

/*
 * In one transaction: an alert of this channel and key sent within the
 * window (or being sent by another process) suppresses this one, which is
 * recorded as such; else a 'sending' row claims it.  window_ms 0 claims
 * always.
 */
mc_code alert_ledger_claim(alert_ledger *l, const char *channel, const mc_alert *a, const char *key,
			   int64_t now_ms, int64_t window_ms, alert_claim *c, mc_error *err);
/* Record the outcome of a claim (sent or failed). */
mc_code alert_ledger_finish(alert_ledger *l, const char *channel, const char *key,
			    const alert_claim *c, const mc_alert_delivery *d, int64_t now_ms,
			    mc_error *err);
/* Record an alert that only went to the log (no channel configured). */
mc_code alert_ledger_logged(alert_ledger *l, const mc_alert *a, const char *key, int64_t now_ms,
			    mc_error *err);

#endif
