/*
 * The dedup ledger: which alert went to which channel when, in milkcast.db's
 * alerts_sent (schema migration 5) so that separate runs honour the window,
 * or in memory when there is no store.  A claim row ('sending') taken in an
 * immediate transaction keeps two processes from sending the same alert.
 */
#include <stdlib.h>
#include <string.h>

#include "alert/alert_int.h"

/* A 'sending' row older than this was left by a process that died while sending. */
#define CLAIM_MS ((int64_t)10 * 60 * 1000)

typedef struct sent_entry {
	char *channel, *key;
	int64_t at;
} sent_entry;

struct alert_ledger {
	mc_store *store;
	sent_entry *mem; /* without a store */
	size_t n, cap;
};

mc_code alert_ledger_new(mc_store *store, alert_ledger **out, mc_error *err)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	(*out)->store = store;
	return MC_OK;
}

void alert_ledger_free(alert_ledger *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->mem[i].channel);
		free(l->mem[i].key);
	}
	free(l->mem);
	free(l);
}

/* --- without a store ------------------------------------------------------------------ */

static void mem_claim(const alert_ledger *l, const char *channel, const char *key, int64_t now,
		      int64_t window, alert_claim *c)
{
	for (size_t i = l->n; window > 0 && i-- > 0;) {
		const sent_entry *e = &l->mem[i];
		if (!strcmp(e->channel, channel) && !strcmp(e->key, key) && e->at > now - window) {
			c->suppressed = true;
			c->earlier_at = e->at;
			return;
		}
	}
}

static mc_code mem_sent(alert_ledger *l, const char *channel, const char *key, int64_t at,
			mc_error *err)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		sent_entry *m = realloc(l->mem, cap * sizeof *m);
		if (!m)
			return mc_fail(err, MC_ERR_NOMEM, "out of memory");
		l->mem = m;
		l->cap = cap;
	}
	sent_entry e = {strdup(channel), strdup(key), at};
	if (!e.channel || !e.key) {
		free(e.channel);
		free(e.key);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	l->mem[l->n++] = e;
	return MC_OK;
}

/* --- in milkcast.db ------------------------------------------------------------------- */

/* Run one statement: parameter i is text ('t', NULL binds NULL), an int64_t ('i') or NULL ('n'). */
static mc_code run(mc_store *s, const char *sql, const char *types, const void *const *args,
		   mc_error *err)
{
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s, sql, &st, err);
	for (int i = 0; !rc && types[i]; i++) {
		if (types[i] == 't')
			rc = mc_stmt_bind_text(st, i + 1, args[i]);
		else if (types[i] == 'i')
			rc = mc_stmt_bind_int(st, i + 1, *(const int64_t *)args[i]);
		else
			rc = mc_stmt_bind_null(st, i + 1);
		if (rc)
			rc = mc_fail(err, rc, "cannot bind an alerts_sent parameter");
	}
	if (!rc)
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	return rc;
}

/* The latest alert of this channel and key sent (or being sent) after `since`. */
static mc_code find_earlier(mc_store *s, const char *channel, const char *key, int64_t since,
			    alert_claim *c, mc_error *err)
{
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s,
				     "SELECT id, sent_at FROM alerts_sent WHERE channel = ?1 AND "
				     "dedup_key = ?2 AND status IN ('sent','sending') AND "
				     "sent_at > ?3 ORDER BY sent_at DESC, id DESC LIMIT 1",
				     &st, err);
	if (rc)
		return rc;
	bool row = false;
	if (mc_stmt_bind_text(st, 1, channel) || mc_stmt_bind_text(st, 2, key) ||
	    mc_stmt_bind_int(st, 3, since))
		rc = mc_fail(err, MC_ERR_DB, "cannot bind an alerts_sent parameter");
	if (!rc)
		rc = mc_stmt_step(st, &row, err);
	if (!rc && row) {
		c->suppressed = true;
		c->row = mc_stmt_int(st, 0); /* the earlier row, for suppressed_by */
		c->earlier_at = mc_stmt_int(st, 1);
	}
	mc_stmt_free(st);
	return rc;
}

static mc_code db_claim(mc_store *s, const char *channel, const mc_alert *a, const char *key,
			int64_t now, int64_t window, alert_claim *c, mc_error *err)
{
	char *title = alert_clean_text(a->title, false);
	char *link = a->link ? alert_clean_text(a->link, false) : NULL;
	if (!title || (a->link && !link)) {
		free(title);
		free(link);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	int64_t stale = now - CLAIM_MS;
	const char *sev = mc_alert_severity_name(a->severity);
	mc_code rc = mc_store_begin(s, err);
	if (!rc) {
		const void *args[] = {&now, channel, key, &stale};
		rc = run(s,
			 "UPDATE alerts_sent SET status = 'failed', finished_at = ?1, error = "
			 "'interrupted before its outcome was recorded' WHERE channel = ?2 AND "
			 "dedup_key = ?3 AND status = 'sending' AND sent_at <= ?4",
			 "itti", args, err);
	}
	if (!rc && window > 0)
		rc = find_earlier(s, channel, key, now - window, c, err);
	if (!rc) {
		int64_t earlier = c->row;
		const void *args[] = {channel,
				      key,
				      a->rule,
				      sev,
				      title,
				      link,
				      c->suppressed ? "suppressed" : "sending",
				      &now,
				      &earlier};
		rc = run(
			s,
			"INSERT INTO alerts_sent (channel, dedup_key, rule, severity, title, link, "
			"status, sent_at, suppressed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			c->suppressed ? "tttttttii" : "tttttttin", args, err);
		c->row = c->suppressed ? 0 : mc_store_last_id(s);
	}
	if (!rc)
		rc = mc_store_commit(s, err);
	if (rc) {
		mc_store_rollback(s);
		c->row = 0;
	}
	free(title);
	free(link);
	return rc;
}

mc_code alert_ledger_claim(alert_ledger *l, const char *channel, const mc_alert *a, const char *key,
			   int64_t now_ms, int64_t window_ms, alert_claim *c, mc_error *err)
{
	*c = (alert_claim){0};
	if (!l->store) {
		mem_claim(l, channel, key, now_ms, window_ms, c);
		return MC_OK;
	}
	mc_code rc = db_claim(l->store, channel, a, key, now_ms, window_ms, c, err);
	if (rc) {
		*c = (alert_claim){0};
		mc_error_prefix(err, "cannot check the alert ledger: ");
	}
	return rc;
}

mc_code alert_ledger_finish(alert_ledger *l, const char *channel, const char *key,
			    const alert_claim *c, const mc_alert_delivery *d, int64_t now_ms,
			    mc_error *err)
{
	bool sent = d->status == MC_ALERT_SENT;
	if (!l->store)
		return sent ? mem_sent(l, channel, key, now_ms, err) : MC_OK;
	if (c->row == 0)
		return MC_OK;
	int64_t attempts = d->attempts, status = d->http_status;
	const void *args[] = {sent ? "sent" : "failed", &now_ms, &attempts, &status,
			      sent ? NULL : d->error,	&c->row};
	mc_code rc = run(l->store,
			 "UPDATE alerts_sent SET status = ?, finished_at = ?, attempts = ?, "
			 "http_status = NULLIF(?, 0), error = ? WHERE id = ?",
			 "tiiiti", args, err);
	return rc ? mc_error_prefix(err, "cannot record the alert: ") : MC_OK;
}

mc_code alert_ledger_logged(alert_ledger *l, const mc_alert *a, const char *key, int64_t now_ms,
			    mc_error *err)
{
	if (!l->store)
		return MC_OK;
	char *title = alert_clean_text(a->title, false);
	char *link = a->link ? alert_clean_text(a->link, false) : NULL;
	mc_code rc = MC_OK;
	if (!title || (a->link && !link)) {
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	} else {
		const void *args[] = {key,   a->rule, mc_alert_severity_name(a->severity),
				      title, link,    &now_ms};
		rc = run(l->store,
			 "INSERT INTO alerts_sent (channel, dedup_key, rule, severity, title, "
			 "link, status, sent_at, finished_at) VALUES ('log', ?1, ?2, ?3, ?4, ?5, "
			 "'logged', ?6, ?6)",
			 "ttttti", args, err);
		if (rc)
			mc_error_prefix(err, "cannot record the alert: ");
	}
	free(title);
	free(link);
	return rc;
}
