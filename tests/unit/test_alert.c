/*
 * Alerts against the loopback fake Telegram Bot API and webhook
 * (tests/oracle/fake_telegram.py, started here): sent once then suppressed
 * within the window (across alerters sharing milkcast.db) and sent again
 * after it; 429 with retry_after honoured; 500 retried; 401 not retried with
 * the token kept out of every message; hostile text escaped; long text cut
 * to Telegram's limit as valid HTML; the webhook's body; one channel failing
 * while the other delivers; no channel; configuration from the environment.
 */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alert/alert_int.h"
#include "milkcast/alert.h"
#include "milkcast/store.h"

#define TOKEN "123456789:AAHsecretTOKEN-xyz_42"
#define CHAT "-1001234567890"
#define HOOK_TOKEN "hook-bearer-s3cret"
#define HOOK_PATH "/hook/T0001/B0002/pathsecret"

typedef struct fake {
	pid_t pid;
	char dir[64], api[64], hook[128], record[128];
} fake;

static void fake_start(fake *f, const char *script)
{
	snprintf(f->dir, sizeof f->dir, "/tmp/mc-alert-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char path[128], port[128];
	snprintf(path, sizeof path, "%s/script.json", f->dir);
	snprintf(port, sizeof port, "%s/port", f->dir);
	snprintf(f->record, sizeof f->record, "%s/record.json", f->dir);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(script, fp);
	fclose(fp);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		execl("/usr/bin/python3", "python3", "tests/oracle/fake_telegram.py", path,
		      f->record, port, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400; i++) {
		FILE *p = fopen(port, "r");
		int n = 0;
		if (p && fscanf(p, "%d", &n) == 1 && n > 0) {
			fclose(p);
			snprintf(f->api, sizeof f->api, "http://127.0.0.1:%d", n);
			snprintf(f->hook, sizeof f->hook, "http://127.0.0.1:%d" HOOK_PATH, n);
			return;
		}
		if (p)
			fclose(p);
		usleep(25000);
	}
	fail_msg("the fake Telegram API did not start");
}

/* What the fake saw so far; the test owns the reference. */
static json_t *fake_record(const fake *f)
{
	json_t *rec = json_load_file(f->record, 0, NULL);
	assert_non_null(rec);
	return rec;
}

static void fake_stop(fake *f)
{
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
}

static size_t requests_to(json_t *rec, const char *endpoint)
{
	size_t n = 0, i;
	json_t *r;
	json_array_foreach(json_object_get(rec, "requests"), i, r)
	{
		n += strcmp(json_string_value(json_object_get(r, "endpoint")), endpoint) == 0;
	}
	return n;
}

static json_t *request_n(json_t *rec, size_t i)
{
	json_t *r = json_array_get(json_object_get(rec, "requests"), i);
	assert_non_null(r);
	return r;
}

static void no_protocol_errors(json_t *rec)
{
	json_t *pe = json_object_get(rec, "protocol_errors");
	if (json_array_size(pe) > 0) {
		char *s = json_dumps(pe, 0);
		fail_msg("the fake saw invalid requests: %s", s);
	}
}

/* --- the test's clock and log ----------------------------------------------------- */

static int64_t clock_ms = 1743508800000LL; /* 2025-04-01T12:00:00Z */

static int64_t test_clock(void *user)
{
	(void)user;
	return clock_ms;
}

static char log_text[1 << 16];

static void capture(void *user, const char *line)
{
	(void)user;
	size_t n = strlen(log_text);
	snprintf(log_text + n, sizeof log_text - n, "%s\n", line);
}

static void config(mc_alert_config *c, const fake *f, const char *token, bool telegram,
		   bool webhook)
{
	mc_alert_config_init(c);
	if (telegram) {
		c->telegram_api = f->api;
		c->telegram_token = token;
		c->telegram_chat_id = CHAT;
	}
	if (webhook) {
		c->webhook_url = f->hook;
		c->webhook_token = HOOK_TOKEN;
	}
	c->backoff_ms = 20;
	c->backoff_max_ms = 100;
	c->timeout_s = 10;
	c->clock = test_clock;
	c->log = capture;
	log_text[0] = '\0';
}

static const mc_alert drift = {
	.rule = "dataset_drift",
	.severity = MC_ALERT_WARNING,
	.title = "Dataset drift: 4 of 6 columns drifted",
	.details = "price: wasserstein 0.31 > 0.1\nstate: jensenshannon 0.12 > 0.1",
	.link = "reports/monitoring/2025-03-31.html",
	.dedup_key = "dataset_drift:2025-03-31",
};

static void home_dir(char *dir, size_t n)
{
	snprintf(dir, n, "/tmp/mc-alert-home-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void rm_rf(const char *dir)
{
	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* The alerts_sent rows as "channel:status" lines, oldest first. */
static void ledger_rows(mc_store *s, char *out, size_t n)
{
	mc_stmt *st;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_stmt_prepare(s,
					 "SELECT channel, status, coalesce(error, '') FROM "
					 "alerts_sent ORDER BY id",
					 &st, &err),
			 MC_OK);
	out[0] = '\0';
	bool row;
	while (mc_stmt_step(st, &row, &err) == MC_OK && row) {
		size_t k = strlen(out);
		snprintf(out + k, n - k, "%s:%s;", mc_stmt_text(st, 0), mc_stmt_text(st, 1));
		assert_null(strstr(mc_stmt_text(st, 2), "AAHsecret"));
	}
	mc_stmt_free(st);
}

static bool valid_utf8(const char *s)
{
	char *c = alert_clean_text(s, true);
	bool same = c && strcmp(c, s) == 0;
	free(c);
	return same;
}

/* --- message text, no server ----------------------------------------------------- */

static void test_escaping(void **state)
{
	(void)state;
	mc_alert a = {
		.rule = "flow_failed",
		.severity = MC_ALERT_CRITICAL,
		.title = "<script>alert(\"x\")</script> & co",
		.details = "a < b && c > d \"quoted\" 'single' &amp; <b>not bold</b>",
		.link = "https://example.com/r?a=1&b=\"2\"<x>",
	};
	mc_buf b = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	bool cut;
	assert_int_equal(alert_telegram_text(&a, MC_ALERT_TELEGRAM_LIMIT, &b, &cut, &err), MC_OK);
	const char *t = (const char *)b.data;
	assert_false(cut);
	assert_non_null(strstr(t, "<b>\xF0\x9F\x94\xB4 &lt;script&gt;alert(\"x\")&lt;/script&gt; "
				  "&amp; co</b>"));
	assert_non_null(strstr(t, "\ncritical \xC2\xB7 flow_failed\n"));
	assert_non_null(strstr(t, "a &lt; b &amp;&amp; c &gt; d \"quoted\" 'single' &amp;amp; "
				  "&lt;b&gt;not bold&lt;/b&gt;"));
	assert_non_null(strstr(t, "<a href=\"https://example.com/r?a=1&amp;b=&quot;2&quot;&lt;x&gt;"
				  "\">https://example.com/r?a=1&amp;b=\"2\"&lt;x&gt;</a>"));
	assert_null(strstr(t, "<script"));
	/* A path, or a URL that is not one Telegram can link, is shown as code. */
	a.link = "reports/monitoring/2025-03-31.html";
	assert_int_equal(alert_telegram_text(&a, MC_ALERT_TELEGRAM_LIMIT, &b, &cut, &err), MC_OK);
	assert_non_null(strstr((const char *)b.data,
			       "\n\nReport: <code>reports/monitoring/2025-03-31.html</code>"));
	a.link = "javascript:alert(1)";
	assert_int_equal(alert_telegram_text(&a, MC_ALERT_TELEGRAM_LIMIT, &b, &cut, &err), MC_OK);
	assert_null(strstr((const char *)b.data, "href"));
	/* Invalid UTF-8 and control characters are replaced, newlines kept in the details. */
	a.title = "bad \xC3\x28 byte\x01";
	a.details = "line 1\r\nline 2\x7F";
	assert_int_equal(alert_telegram_text(&a, MC_ALERT_TELEGRAM_LIMIT, &b, &cut, &err), MC_OK);
	assert_non_null(strstr((const char *)b.data, "bad \xEF\xBF\xBD( byte </b>"));
	assert_non_null(strstr((const char *)b.data, "line 1\nline 2 "));
	assert_true(valid_utf8((const char *)b.data));
	mc_buf_release(&b);
}

/* Every '&' starts one of our entities and every '<' one of our tags. */
static void assert_well_formed(const char *t)
{
	static const char *const ok[] = {"&amp;", "&lt;", "&gt;", "&quot;"};
	static const char *const tags[] = {"<b>",     "</b>",	    "<code>",
					   "</code>", "<a href=\"", "</a>"};
	for (const char *p = t; *p; p++) {
		if (*p == '&') {
			bool good = false;
			for (size_t i = 0; i < 4; i++)
				good |= strncmp(p, ok[i], strlen(ok[i])) == 0;
			assert_true(good);
		} else if (*p == '<') {
			bool good = false;
			for (size_t i = 0; i < 6; i++)
				good |= strncmp(p, tags[i], strlen(tags[i])) == 0;
			assert_true(good);
		}
	}
	assert_true(valid_utf8(t));
}

static char *long_details(size_t chars)
{
	/* 34 code points, 35 UTF-16 units (the cow is two), 41 bytes. */
	static const char piece[] = "Michoac\xC3\xA1n \xF0\x9F\x90\x84 leche & <precio> \"sube\" ";
	size_t n = sizeof piece - 1;
	char *s = malloc(chars / 34 * n + n + 1);
	assert_non_null(s);
	s[0] = '\0';
	for (size_t i = 0; i < chars / 34 + 1; i++)
		strcat(s, piece);
	return s;
}

static void test_truncation(void **state)
{
	(void)state;
	char *details = long_details(10000);
	mc_alert a = drift;
	a.details = details;
	a.link = "https://reports.example.mx/monitoring/2025-03-31.html";
	mc_buf b = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	bool cut;
	assert_int_equal(alert_telegram_text(&a, MC_ALERT_TELEGRAM_LIMIT, &b, &cut, &err), MC_OK);
	const char *t = (const char *)b.data;
	size_t units = alert_telegram_units(t);
	assert_true(cut);
	assert_true(units <= MC_ALERT_TELEGRAM_LIMIT);
	assert_true(units > MC_ALERT_TELEGRAM_LIMIT - 80);		/* the room is used */
	assert_non_null(strstr(t, "\xE2\x80\xA6\n\nReport: <a href=")); /* "…" then the link */
	assert_well_formed(t);

	/* Around the limit, every cut stays within it and well formed (emoji never split). */
	for (size_t limit = 256; limit < 420; limit++) {
		a.link = limit % 2 ? NULL : "reports/x.html";
		assert_int_equal(alert_telegram_text(&a, limit, &b, &cut, &err), MC_OK);
		assert_true(alert_telegram_units((const char *)b.data) <= limit);
		assert_well_formed((const char *)b.data);
	}
	/* A huge title and link are cut to a quarter each, the details still get room. */
	char *title = long_details(5000);
	a.title = title;
	a.link = title;
	assert_int_equal(alert_telegram_text(&a, MC_ALERT_TELEGRAM_LIMIT, &b, &cut, &err), MC_OK);
	assert_true(alert_telegram_units((const char *)b.data) <= MC_ALERT_TELEGRAM_LIMIT);
	assert_well_formed((const char *)b.data);
	/* Exactly fitting details are not cut. */
	a = drift;
	a.link = NULL;
	a.details = "";
	assert_int_equal(alert_telegram_text(&a, 300, &b, &cut, &err), MC_OK);
	size_t head = alert_telegram_units((const char *)b.data);
	char exact[400];
	memset(exact, 'x', 300 - head - 2);
	exact[300 - head - 2] = '\0';
	a.details = exact;
	assert_int_equal(alert_telegram_text(&a, 300, &b, &cut, &err), MC_OK);
	assert_false(cut);
	assert_int_equal(alert_telegram_units((const char *)b.data), 300);
	exact[300 - head - 2] = 'y';
	exact[300 - head - 1] = '\0';
	assert_int_equal(alert_telegram_text(&a, 300, &b, &cut, &err), MC_OK);
	assert_true(cut);
	assert_int_equal(alert_telegram_units((const char *)b.data), 300);
	free(title);
	free(details);
	mc_buf_release(&b);
}

static void test_redact(void **state)
{
	(void)state;
	char s[64] = "GET /botSECRET123/sendMessage SECRET123";
	alert_redact(s, sizeof s, "SECRET123");
	assert_string_equal(s, "GET /bot<redacted>/sendMessage <redacted>");
	char cut[32] = "a message cut at SECRE";
	alert_redact(cut, sizeof cut, "SECRET123");
	assert_string_equal(cut, "a message cut at <redacted>");
	char small[16] = "xx SECRET123 yy";
	alert_redact(small, sizeof small, "SECRET123");
	assert_null(strstr(small, "SECRET"));
}

/* --- against the fake ------------------------------------------------------------ */

#define SCRIPT_OK "{\"token\": \"" TOKEN "\", \"chat_id\": \"" CHAT "\"}"

static void test_sent_once_then_window(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, SCRIPT_OK);
	char home[64];
	home_dir(home, sizeof home);
	mc_error err = MC_ERROR_INIT;
	mc_store *store;
	assert_int_equal(mc_store_open(home, &store, &err), MC_OK);
	mc_alert_config c;
	config(&c, &f, TOKEN, true, false);
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, store, &al, &err), MC_OK);
	assert_true(mc_alerter_has_channel(al, MC_ALERT_TELEGRAM));
	assert_false(mc_alerter_has_channel(al, MC_ALERT_WEBHOOK));
	mc_alert_outcome o;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SENT);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].attempts, 1);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].http_status, 200);
	assert_int_equal(o.channel[MC_ALERT_WEBHOOK].status, MC_ALERT_NOT_CONFIGURED);
	assert_int_equal(o.sent, 1);
	/* The same alert an hour later: suppressed. */
	clock_ms += 3600 * 1000;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SUPPRESSED);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].sent_at_ms, clock_ms - 3600 * 1000);
	assert_int_equal(o.suppressed, 1);
	assert_non_null(strstr(log_text, "not sent to telegram again"));
	mc_alerter_free(al);
	mc_store_free(store);

	/* A separate run on the same workspace honours the window. */
	assert_int_equal(mc_store_open(home, &store, &err), MC_OK);
	assert_int_equal(mc_alerter_open(&c, store, &al, &err), MC_OK);
	clock_ms += 20 * 3600 * 1000;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SUPPRESSED);
	/* Another key is another alert. */
	mc_alert other = drift;
	other.dedup_key = "dataset_drift:2025-04-07";
	assert_int_equal(mc_alert_send(al, &other, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SENT);
	/* After the window (24 h from the first), sent again. */
	clock_ms += 3 * 3600 * 1000 + 1;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SENT);
	char rows[512];
	ledger_rows(store, rows, sizeof rows);
	assert_string_equal(rows, "telegram:sent;telegram:suppressed;telegram:suppressed;"
				  "telegram:sent;telegram:sent;");
	mc_alerter_free(al);
	mc_store_free(store);

	json_t *rec = fake_record(&f);
	no_protocol_errors(rec);
	assert_int_equal(requests_to(rec, "telegram"), 3);
	json_t *body = json_object_get(request_n(rec, 0), "body");
	assert_int_equal(json_integer_value(json_object_get(body, "chat_id")), -1001234567890LL);
	assert_string_equal(json_string_value(json_object_get(body, "parse_mode")), "HTML");
	assert_true(json_is_true(json_object_get(body, "disable_web_page_preview")));
	const char *plain = json_string_value(json_object_get(request_n(rec, 0), "plain"));
	assert_non_null(strstr(plain, "Dataset drift: 4 of 6 columns drifted\nwarning"));
	assert_non_null(strstr(plain, "Report: reports/monitoring/2025-03-31.html"));
	json_decref(rec);
	fake_stop(&f);
	rm_rf(home);
}

static double request_time(json_t *rec, size_t i)
{
	return json_real_value(json_object_get(request_n(rec, i), "time"));
}

static void test_429_retry_after(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, "{\"token\": \"" TOKEN "\", \"chat_id\": \"" CHAT "\", "
		       "\"telegram\": [{\"status\": 429, \"retry_after\": 1}]}");
	mc_error err = MC_ERROR_INIT;
	mc_alert_config c;
	config(&c, &f, TOKEN, true, false);
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	mc_alert_outcome o;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SENT);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].attempts, 2);
	assert_non_null(strstr(log_text, "retrying in 1.0 s as the server asks"));
	/* Without a store the window still holds within the alerter. */
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SUPPRESSED);
	mc_alerter_free(al);
	json_t *rec = fake_record(&f);
	no_protocol_errors(rec);
	assert_int_equal(requests_to(rec, "telegram"), 2);
	assert_int_equal(json_integer_value(json_object_get(request_n(rec, 0), "status")), 429);
	assert_true(request_time(rec, 1) - request_time(rec, 0) >= 1.0);
	json_decref(rec);
	fake_stop(&f);
}

static void test_429_too_long(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, "{\"token\": \"" TOKEN "\", \"chat_id\": \"" CHAT "\", "
		       "\"telegram\": [{\"status\": 429, \"retry_after\": 120}]}");
	mc_error err = MC_ERROR_INIT;
	mc_alert_config c;
	config(&c, &f, TOKEN, true, false);
	c.retry_after_max_s = 5;
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	mc_alert_outcome o;
	time_t t0 = time(NULL);
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_ERR_NETWORK);
	assert_true(time(NULL) - t0 < 4);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_FAILED);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].attempts, 1);
	assert_non_null(strstr(err.msg, "retry after 120 s, more than the 5 s allowed"));
	/* A failure does not suppress the next try. */
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SENT);
	mc_alerter_free(al);
	fake_stop(&f);
}

static void test_500_retried(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, "{\"token\": \"" TOKEN "\", \"chat_id\": \"" CHAT "\", "
		       "\"telegram\": [{\"status\": 500}, {\"status\": 502}]}");
	mc_error err = MC_ERROR_INIT;
	mc_alert_config c;
	config(&c, &f, TOKEN, true, false);
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	mc_alert_outcome o;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SENT);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].attempts, 3);
	mc_alerter_free(al);
	json_t *rec = fake_record(&f);
	no_protocol_errors(rec);
	assert_int_equal(requests_to(rec, "telegram"), 3);
	json_decref(rec);
	fake_stop(&f);

	/* Retries exhausted: a failure naming the status and the attempts. */
	fake_start(&f, "{\"token\": \"" TOKEN "\", \"chat_id\": \"" CHAT "\", "
		       "\"telegram\": [{\"status\": 500}, {\"status\": 500}, {\"status\": 500}]}");
	config(&c, &f, TOKEN, true, false);
	c.retries = 2;
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_ERR_NETWORK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].attempts, 3);
	assert_non_null(strstr(err.msg, "cannot send alert 'dataset_drift': Telegram: HTTP 500 "
					"\"Internal Server Error\" after 3 attempts"));
	mc_alerter_free(al);
	fake_stop(&f);
}

static void test_401_not_retried(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, SCRIPT_OK);
	char home[64];
	home_dir(home, sizeof home);
	mc_error err = MC_ERROR_INIT;
	mc_store *store;
	assert_int_equal(mc_store_open(home, &store, &err), MC_OK);
	mc_alert_config c;
	config(&c, &f, "987654321:AAHsecretWRONG-token", true, false);
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, store, &al, &err), MC_OK);
	mc_alert_outcome o;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_ERR_NETWORK);
	const mc_alert_delivery *d = &o.channel[MC_ALERT_TELEGRAM];
	assert_int_equal(d->status, MC_ALERT_FAILED);
	assert_int_equal(d->attempts, 1);
	assert_int_equal(d->http_status, 401);
	assert_int_equal(d->code, MC_ERR_INVALID);
	assert_string_equal(err.msg, "cannot send alert 'dataset_drift': Telegram: HTTP 401 "
				     "\"Unauthorized\" (check MILKCAST_TELEGRAM_TOKEN or "
				     "TELEGRAM_BOT_TOKEN)");
	assert_null(strstr(d->error, "AAHsecret"));
	assert_null(strstr(log_text, "AAHsecret"));
	assert_null(strstr(log_text, "987654321"));
	char rows[256];
	ledger_rows(store, rows, sizeof rows);
	assert_string_equal(rows, "telegram:failed;");
	mc_alerter_free(al);
	mc_store_free(store);
	json_t *rec = fake_record(&f);
	assert_int_equal(requests_to(rec, "telegram"), 1);
	json_decref(rec);
	fake_stop(&f);
	rm_rf(home);

	/* Nothing listening: transport errors are retried, the message has no token. */
	config(&c, &f, TOKEN, true, false);
	c.telegram_api = "http://127.0.0.1:1";
	c.retries = 2;
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_ERR_NETWORK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].attempts, 3);
	assert_non_null(strstr(err.msg, "(3 attempts)"));
	assert_null(strstr(err.msg, "AAHsecret"));
	assert_null(strstr(log_text, "AAHsecret"));
	mc_alerter_free(al);
}

static void test_hostile_and_long_through_fake(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, SCRIPT_OK);
	mc_error err = MC_ERROR_INIT;
	mc_alert_config c;
	config(&c, &f, TOKEN, true, false);
	c.window_ms = 0; /* every send goes */
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	mc_alert hostile = {
		.rule = "worse_than_naive",
		.severity = MC_ALERT_CRITICAL,
		.title = "<script>alert('x')</script> & \"quotes\"",
		.details = "</b><i>unbalanced & <a href=\"javascript:x\">click</a>",
		.link = "https://example.com/r?a=1&b=\"2\"",
	};
	mc_alert_outcome o;
	assert_int_equal(mc_alert_send(al, &hostile, &o, &err), MC_OK);
	assert_false(o.truncated);
	char *details = long_details(10000);
	mc_alert big = drift;
	big.details = details;
	assert_int_equal(mc_alert_send(al, &big, &o, &err), MC_OK);
	assert_true(o.truncated);
	assert_int_equal(mc_alert_send(al, &big, &o, &err), MC_OK); /* window 0: sent again */
	mc_alerter_free(al);
	json_t *rec = fake_record(&f);
	no_protocol_errors(rec);
	assert_int_equal(requests_to(rec, "telegram"), 3);
	const char *plain = json_string_value(json_object_get(request_n(rec, 0), "plain"));
	assert_non_null(strstr(plain, "<script>alert('x')</script> & \"quotes\""));
	assert_non_null(strstr(plain, "</b><i>unbalanced & <a href=\"javascript:x\">click</a>"));
	json_t *r1 = request_n(rec, 1);
	assert_true(json_integer_value(json_object_get(r1, "units")) <= 4096);
	assert_true(json_integer_value(json_object_get(r1, "units")) > 4000);
	plain = json_string_value(json_object_get(r1, "plain"));
	assert_non_null(strstr(plain, "Michoac\xC3\xA1n \xF0\x9F\x90\x84 leche & <precio>"));
	assert_non_null(strstr(plain, "\xE2\x80\xA6\n\nReport: reports/monitoring/"));
	json_decref(rec);
	free(details);
	fake_stop(&f);
}

static void test_webhook_body(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, "{\"token\": \"" TOKEN "\", \"chat_id\": \"" CHAT "\", "
		       "\"webhook_token\": \"" HOOK_TOKEN "\", "
		       "\"webhook\": [{\"status\": 503}, {\"status\": 429, \"retry_after\": 1}]}");
	mc_error err = MC_ERROR_INIT;
	mc_alert_config c;
	config(&c, &f, NULL, false, true);
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	mc_alert a = drift;
	a.details = "Michoac\xC3\xA1n <b> & \"q\"";
	mc_alert_outcome o;
	assert_int_equal(mc_alert_send(al, &a, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_WEBHOOK].status, MC_ALERT_SENT);
	assert_int_equal(o.channel[MC_ALERT_WEBHOOK].attempts, 3);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_NOT_CONFIGURED);
	assert_null(strstr(log_text, "pathsecret"));
	mc_alerter_free(al);
	json_t *rec = fake_record(&f);
	no_protocol_errors(rec);
	assert_int_equal(requests_to(rec, "webhook"), 3);
	assert_true(request_time(rec, 2) - request_time(rec, 1) >= 1.0); /* Retry-After: 1 */
	json_t *r = request_n(rec, 2);
	assert_string_equal(json_string_value(json_object_get(r, "path")), HOOK_PATH);
	assert_string_equal(json_string_value(json_object_get(r, "authorization")),
			    "Bearer " HOOK_TOKEN);
	assert_non_null(
		strstr(json_string_value(json_object_get(r, "content_type")), "application/json"));
	json_t *b = json_object_get(r, "body");
	assert_string_equal(json_string_value(json_object_get(b, "rule")), "dataset_drift");
	assert_string_equal(json_string_value(json_object_get(b, "severity")), "warning");
	assert_string_equal(json_string_value(json_object_get(b, "title")), drift.title);
	assert_string_equal(json_string_value(json_object_get(b, "details")), a.details);
	assert_string_equal(json_string_value(json_object_get(b, "link")), drift.link);
	assert_string_equal(json_string_value(json_object_get(b, "source")), "milkcast");
	assert_string_equal(json_string_value(json_object_get(b, "dedup_key")), drift.dedup_key);
	char when[32];
	alert_format_time(clock_ms, when, sizeof when);
	assert_string_equal(json_string_value(json_object_get(b, "time")), when);
	json_decref(rec);
	fake_stop(&f);

	/* No link: null. */
	mc_buf body = MC_BUF_INIT;
	a.link = NULL;
	assert_int_equal(alert_webhook_body(&a, "k", 0, &body, &err), MC_OK);
	assert_non_null(strstr((const char *)body.data, "\"link\":null"));
	assert_non_null(strstr((const char *)body.data, "\"time\":\"1970-01-01T00:00:00Z\""));
	mc_buf_release(&body);
}

static void test_one_channel_failing(void **state)
{
	(void)state;
	fake f = {0};
	fake_start(&f, "{\"token\": \"" TOKEN "\", \"chat_id\": \"" CHAT "\", "
		       "\"webhook\": [{\"status\": 500}, {\"status\": 500}]}");
	char home[64];
	home_dir(home, sizeof home);
	mc_error err = MC_ERROR_INIT;
	mc_store *store;
	assert_int_equal(mc_store_open(home, &store, &err), MC_OK);
	mc_alert_config c;
	config(&c, &f, TOKEN, true, true);
	c.retries = 1;
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, store, &al, &err), MC_OK);
	mc_alert_outcome o;
	/* The webhook fails twice (retries exhausted), Telegram delivers. */
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_ERR_NETWORK);
	assert_int_equal(o.configured, 2);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SENT);
	assert_int_equal(o.channel[MC_ALERT_WEBHOOK].status, MC_ALERT_FAILED);
	assert_int_equal(o.sent, 1);
	assert_int_equal(o.failed, 1);
	char want[256];
	snprintf(want, sizeof want,
		 "cannot send alert 'dataset_drift': webhook %s: HTTP 500 after 2 attempts: "
		 "{\"error\": \"scripted failure\"}",
		 f.api);
	assert_string_equal(err.msg, want);
	assert_null(strstr(err.msg, "pathsecret"));
	/* Next run: Telegram suppressed, the webhook tried again and delivered. */
	clock_ms += 60 * 1000;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_SUPPRESSED);
	assert_int_equal(o.channel[MC_ALERT_WEBHOOK].status, MC_ALERT_SENT);
	char rows[256];
	ledger_rows(store, rows, sizeof rows);
	assert_string_equal(rows, "telegram:sent;webhook:failed;telegram:suppressed;webhook:sent;");
	mc_alerter_free(al);

	/* A wrong token: Telegram fails without retry, the webhook still delivers. */
	config(&c, &f, "111:AAHsecretBAD", true, true);
	c.window_ms = 0;
	assert_int_equal(mc_alerter_open(&c, store, &al, &err), MC_OK);
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_ERR_NETWORK);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_FAILED);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].code, MC_ERR_INVALID);
	assert_int_equal(o.channel[MC_ALERT_WEBHOOK].status, MC_ALERT_SENT);
	assert_non_null(strstr(err.msg, "Telegram: HTTP 401"));
	assert_null(strstr(err.msg, "AAHsecret"));
	mc_alerter_free(al);
	mc_store_free(store);
	json_t *rec = fake_record(&f);
	no_protocol_errors(rec);
	assert_int_equal(requests_to(rec, "telegram"), 2);
	assert_int_equal(requests_to(rec, "webhook"), 4);
	json_decref(rec);
	fake_stop(&f);
	rm_rf(home);
}

static void test_no_channel(void **state)
{
	(void)state;
	char home[64];
	home_dir(home, sizeof home);
	mc_error err = MC_ERROR_INIT;
	mc_store *store;
	assert_int_equal(mc_store_open(home, &store, &err), MC_OK);
	assert_true(mc_store_schema_version(store) >= 5);
	fake f = {0};
	mc_alert_config c;
	config(&c, &f, NULL, false, false);
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, store, &al, &err), MC_OK);
	mc_alert_outcome o;
	assert_int_equal(mc_alert_send(al, &drift, &o, &err), MC_OK);
	assert_true(o.logged_only);
	assert_int_equal(o.configured, 0);
	assert_int_equal(o.channel[MC_ALERT_TELEGRAM].status, MC_ALERT_NOT_CONFIGURED);
	assert_non_null(strstr(log_text, "alert dataset_drift [warning]: Dataset drift"));
	assert_non_null(strstr(log_text, "logged only"));
	char rows[128];
	ledger_rows(store, rows, sizeof rows);
	assert_string_equal(rows, "log:logged;");
	/* Bad alerts are refused before anything happens. */
	mc_alert bad = drift;
	bad.rule = "Dataset Drift";
	assert_int_equal(mc_alert_send(al, &bad, &o, &err), MC_ERR_INVALID);
	bad = drift;
	bad.title = "  ";
	assert_int_equal(mc_alert_send(al, &bad, &o, &err), MC_ERR_INVALID);
	bad = drift;
	bad.severity = (mc_alert_severity)7;
	assert_int_equal(mc_alert_send(al, &bad, &o, &err), MC_ERR_INVALID);
	mc_alerter_free(al);
	mc_store_free(store);
	rm_rf(home);
}

static void test_config_env(void **state)
{
	(void)state;
	const char *vars[] = {"MILKCAST_TELEGRAM_API",	"MILKCAST_TELEGRAM_TOKEN",
			      "TELEGRAM_BOT_TOKEN",	"MILKCAST_TELEGRAM_CHAT_ID",
			      "MILKCAST_ALERT_WEBHOOK", "MILKCAST_ALERT_WEBHOOK_TOKEN",
			      "MILKCAST_ALERT_WINDOW",	"MILKCAST_ALERT_RETRIES"};
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		unsetenv(vars[i]);
	mc_error err = MC_ERROR_INIT;
	mc_alert_config c;
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_OK);
	assert_null(c.telegram_token);
	assert_null(c.webhook_url);
	assert_int_equal(c.window_ms, MC_ALERT_DEFAULT_WINDOW_MS);

	setenv("TELEGRAM_BOT_TOKEN", TOKEN, 1);
	setenv("MILKCAST_TELEGRAM_CHAT_ID", "@milk_alerts", 1);
	setenv("MILKCAST_ALERT_WINDOW", "90m", 1);
	setenv("MILKCAST_ALERT_RETRIES", "5", 1);
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_OK);
	assert_string_equal(c.telegram_token, TOKEN);
	assert_string_equal(c.telegram_chat_id, "@milk_alerts");
	assert_int_equal(c.window_ms, 90 * 60 * 1000);
	assert_int_equal(c.retries, 5);
	setenv("MILKCAST_TELEGRAM_TOKEN", "1:preferred", 1);
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_OK);
	assert_string_equal(c.telegram_token, "1:preferred");
	mc_alerter *al;
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	mc_alerter_free(al);

	setenv("MILKCAST_ALERT_WINDOW", "soon", 1);
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "MILKCAST_ALERT_WINDOW"));
	setenv("MILKCAST_ALERT_WINDOW", "0", 1);
	setenv("MILKCAST_ALERT_RETRIES", "-1", 1);
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_ERR_INVALID);
	unsetenv("MILKCAST_ALERT_RETRIES");
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_OK);
	assert_int_equal(c.window_ms, 0);

	/* A token with characters that could change the URL; no chat id; bad URLs. */
	setenv("MILKCAST_TELEGRAM_TOKEN", "123:abc/../x?SECRETPART", 1);
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_OK);
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_ERR_INVALID);
	assert_null(al);
	assert_null(strstr(err.msg, "SECRETPART"));
	setenv("MILKCAST_TELEGRAM_TOKEN", TOKEN, 1);
	unsetenv("MILKCAST_TELEGRAM_CHAT_ID");
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_OK);
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "MILKCAST_TELEGRAM_CHAT_ID is not"));
	setenv("MILKCAST_TELEGRAM_CHAT_ID", CHAT, 1);
	setenv("MILKCAST_ALERT_WEBHOOK", "ftp://example.com/x", 1);
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_OK);
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_ERR_INVALID);
	setenv("MILKCAST_ALERT_WEBHOOK", "https://user:pw@hooks.example.com:8443/T/B/secret", 1);
	setenv("MILKCAST_TELEGRAM_API", "https://tg.example.com/", 1);
	assert_int_equal(mc_alert_config_from_env(&c, &err), MC_OK);
	assert_int_equal(mc_alerter_open(&c, NULL, &al, &err), MC_OK);
	assert_true(mc_alerter_has_channel(al, MC_ALERT_TELEGRAM));
	assert_true(mc_alerter_has_channel(al, MC_ALERT_WEBHOOK));
	mc_alerter_free(al);
	for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
		unsetenv(vars[i]);

	int64_t ms;
	assert_int_equal(mc_alert_parse_window("2d", &ms, &err), MC_OK);
	assert_int_equal(ms, 2 * 86400000LL);
	assert_int_equal(mc_alert_parse_window("3600", &ms, &err), MC_OK);
	assert_int_equal(ms, 3600000);
	assert_int_equal(mc_alert_parse_window("30s", &ms, &err), MC_OK);
	assert_int_equal(ms, 30000);
	assert_int_equal(mc_alert_parse_window("-1h", &ms, &err), MC_ERR_INVALID);
	assert_int_equal(mc_alert_parse_window("1w", &ms, &err), MC_ERR_INVALID);
	mc_alert_severity sev;
	assert_int_equal(mc_alert_severity_parse("critical", &sev, &err), MC_OK);
	assert_int_equal(sev, MC_ALERT_CRITICAL);
	assert_int_equal(mc_alert_severity_parse("fatal", &sev, &err), MC_ERR_INVALID);
	assert_string_equal(mc_alert_status_name(MC_ALERT_SUPPRESSED), "suppressed");
	assert_string_equal(mc_alert_channel_name(MC_ALERT_WEBHOOK), "webhook");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_sent_once_then_window),
		cmocka_unit_test(test_429_retry_after),
		cmocka_unit_test(test_429_too_long),
		cmocka_unit_test(test_500_retried),
		cmocka_unit_test(test_401_not_retried),
		cmocka_unit_test(test_hostile_and_long_through_fake),
		cmocka_unit_test(test_webhook_body),
		cmocka_unit_test(test_one_channel_failing),
		cmocka_unit_test(test_no_channel),
		cmocka_unit_test(test_config_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
