/*
 * Alerts: tell people when the data or the model goes wrong, through the
 * Telegram Bot API (sendMessage) and a generic JSON webhook, sending the same
 * alert at most once per window and channel.  What was sent, failed or
 * suppressed is recorded in milkcast.db (table alerts_sent) when a store is
 * given, so separate runs honour the window.
 *
 * mc_alert_config_init() / mc_alert_config_from_env() fill a caller-owned
 * config; mc_alerter_open() / mc_alerter_free().  Secrets (the bot token,
 * the webhook's bearer token and the webhook URL's path) never appear in a
 * message, a log line or the database.
 */
#ifndef MILKCAST_ALERT_H
#define MILKCAST_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "milkcast/error.h"
#include "milkcast/store.h"

#define MC_ALERT_DEFAULT_TELEGRAM_API "https://api.telegram.org"
#define MC_ALERT_DEFAULT_WINDOW_MS ((int64_t)24 * 3600 * 1000)
/* Telegram's limit on a message's text once its entities are parsed, in UTF-16 code units. */
#define MC_ALERT_TELEGRAM_LIMIT 4096

typedef enum mc_alert_severity {
	MC_ALERT_INFO = 0,
	MC_ALERT_WARNING = 1,
	MC_ALERT_CRITICAL = 2,
} mc_alert_severity;

/*
 * One alert.  Strings are UTF-8 (invalid bytes are sent as U+FFFD) and are
 * only read during mc_alert_send().
 */
typedef struct mc_alert {
	const char *rule; /* "dataset_drift", "rmse_degraded", "flow_failed": [a-z0-9_.:-], ≤ 64 */
	mc_alert_severity severity;
	const char *title;     /* one line, required */
	const char *details;   /* plain text, NULL = none; cut to fit Telegram's limit */
	const char *link;      /* report path or http(s) URL, NULL = none */
	const char *dedup_key; /* what "the same alert" means; NULL = the rule */
} mc_alert;

typedef enum mc_alert_channel {
	MC_ALERT_TELEGRAM = 0,
	MC_ALERT_WEBHOOK = 1,
	MC_ALERT_NCHANNELS = 2,
} mc_alert_channel;

typedef enum mc_alert_status {
	MC_ALERT_NOT_CONFIGURED = 0, /* the channel's environment is not set */
	MC_ALERT_SENT = 1,
	MC_ALERT_SUPPRESSED = 2, /* sent (or being sent) within the window already */
	MC_ALERT_FAILED = 3,
} mc_alert_status;

/* What happened on one channel. */
typedef struct mc_alert_delivery {
	mc_alert_status status;
	int attempts;		   /* HTTP requests made */
	long http_status;	   /* the last reply's status, 0 = none */
	int64_t sent_at_ms;	   /* SENT: now; SUPPRESSED: when the earlier one was sent */
	mc_code code;		   /* FAILED: the error's code */
	char error[MC_ERRMSG_MAX]; /* FAILED: why, without secrets */
} mc_alert_delivery;

typedef struct mc_alert_outcome {
	mc_alert_delivery channel[MC_ALERT_NCHANNELS];
	int configured, sent, suppressed, failed;
	bool logged_only; /* no channel is configured: the alert only went to the log */
	bool truncated;	  /* the Telegram text was cut to fit the limit */
} mc_alert_outcome;

/* Milliseconds since the epoch (UTC). */
typedef int64_t (*mc_alert_clock_fn)(void *user);
typedef void (*mc_alert_log_fn)(void *user, const char *line);

/*
 * Channels are configured by their strings: Telegram when telegram_token is
 * set (then telegram_chat_id is required), the webhook when webhook_url is.
 * Strings are copied by mc_alerter_open().
 */
typedef struct mc_alert_config {
	const char *telegram_api;     /* base URL, NULL = MC_ALERT_DEFAULT_TELEGRAM_API */
	const char *telegram_token;   /* secret; part of the request's path */
	const char *telegram_chat_id; /* -100123…, 123… or @channelname */
	const char *webhook_url;      /* http(s); its path and query count as secret */
	const char *webhook_token;    /* secret, sent as "Authorization: Bearer" */
	int64_t window_ms;	      /* dedup window; 0 = send every time */
	int retries;		      /* after the first attempt, on 429, 5xx, transport errors */
	long backoff_ms;	      /* first backoff; doubles, with jitter */
	long backoff_max_ms;
	long retry_after_max_s;	 /* a 429 asking longer fails; a 5xx's Retry-After is capped */
	long timeout_s;		 /* per request */
	mc_alert_clock_fn clock; /* NULL = the real clock; used for the window and "time" */
	void *clock_user;
	mc_alert_log_fn log; /* NULL = silent; lines carry no secret */
	void *log_user;
} mc_alert_config;

/* No channel, a 24 h window, 3 retries backing off from 500 ms to 8 s, waits up to 60 s, 15 s
 * per request. */
void mc_alert_config_init(mc_alert_config *c);

/*
 * mc_alert_config_init() then the environment: MILKCAST_TELEGRAM_API,
 * MILKCAST_TELEGRAM_TOKEN (or TELEGRAM_BOT_TOKEN), MILKCAST_TELEGRAM_CHAT_ID,
 * MILKCAST_ALERT_WEBHOOK, MILKCAST_ALERT_WEBHOOK_TOKEN,
 * MILKCAST_ALERT_WINDOW ("24h", "90m", "3600s", "2d", seconds; 0 = off),
 * MILKCAST_ALERT_RETRIES.  The strings point into the environment.  A bad
 * value is MC_ERR_INVALID naming the variable (never quoting a secret).
 */
mc_code mc_alert_config_from_env(mc_alert_config *c, mc_error *err);

typedef struct mc_alerter mc_alerter;

/*
 * Check the config (a token without a chat id, a token that cannot be part
 * of a URL path, a URL that is not http(s) are MC_ERR_INVALID) and prepare
 * the channels.  `store` (nullable, borrowed) records every alert and keeps
 * the window across runs; without it the window holds for this alerter only.
 * Do not send while the caller holds a transaction on the store.  One
 * alerter is for one thread at a time.
 */
mc_code mc_alerter_open(const mc_alert_config *cfg, mc_store *store, mc_alerter **out,
			mc_error *err);
void mc_alerter_free(mc_alerter *al);
bool mc_alerter_has_channel(const mc_alerter *al, mc_alert_channel ch);

/*
 * Send an alert on every configured channel not suppressed by the window.
 * `out` says what happened per channel.  MC_OK when no configured channel
 * failed (including when none is configured: out->logged_only); else
 * MC_ERR_NETWORK, `err` naming each failed channel, and each delivery's
 * `code` saying more (MC_ERR_INVALID: refused, e.g. a wrong token or chat;
 * MC_ERR_NETWORK: transport, 5xx, 429).  A bad alert (no rule or title, a
 * bad rule id) is MC_ERR_INVALID before anything is sent.
 * A database failure does not stop delivery: it is logged and the alert sent.
 */
mc_code mc_alert_send(mc_alerter *al, const mc_alert *a, mc_alert_outcome *out, mc_error *err);

const char *mc_alert_severity_name(mc_alert_severity s);
/* "info", "warning", "critical"; MC_ERR_INVALID otherwise. */
mc_code mc_alert_severity_parse(const char *s, mc_alert_severity *out, mc_error *err);
const char *mc_alert_status_name(mc_alert_status s);
const char *mc_alert_channel_name(mc_alert_channel ch);

/* A duration: "24h", "90m", "3600s", "2d" or plain seconds → ms; MC_ERR_INVALID otherwise. */
mc_code mc_alert_parse_window(const char *s, int64_t *ms, mc_error *err);

#endif
