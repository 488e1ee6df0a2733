/*
 * The JSON text the serving hot paths write by hand (src/serve/jsonw.c, the
 * prediction log's lines): byte for byte what jansson's json_dumps writes
 * for the same values, parsed back by jansson to the same values, and
 * refused where jansson refuses (invalid UTF-8, non-finite numbers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milkcast/date.h"
#include "serve/serve_int.h"

/* jansson's text of one value (compact, as the prediction log used to be written). */
static char *jansson_text(json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(v);
	assert_non_null(s);
	return s;
}

static mc_real_memo memo; /* shared by every check: hits, misses and evictions */

/* jansson's text, directly and through the memo (a miss, then a hit). */
static void check_real(double x)
{
	char *want = jansson_text(json_real(x));
	for (int i = 0; i < 3; i++) {
		mc_buf b = MC_BUF_INIT;
		assert_true(i ? mc_jw_real_memo(&b, x, &memo) : mc_jw_real(&b, x));
		if (strcmp((char *)b.data, want))
			fprintf(stderr, "%.17g: %s, jansson %s\n", x, (char *)b.data, want);
		assert_string_equal((char *)b.data, want);
		mc_buf_release(&b);
	}
	free(want);
}

static void test_reals(void **state)
{
	(void)state;
	const double cases[] = {0.0,	     -0.0,
				1.0,	     26.0,
				26.25,	     0.1,
				1.0 / 3,     -2.5,
				1e-5,	     1.5e-7,
				1e16,	     1e17,
				1.25e17,     1e20,
				1e100,	     1e-100,
				5e-324,	     DBL_MAX,
				DBL_MIN,     -1e-310,
				123456789.0, 26.017748946741644};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_real(cases[i]);
	/* random finite doubles of every magnitude */
	srand(5);
	for (int i = 0; i < 20000; i++) {
		uint64_t bits = 0;
		for (int k = 0; k < 4; k++)
			bits = (bits << 16) ^ (uint64_t)(rand() & 0xffff);
		double x;
		memcpy(&x, &bits, sizeof x);
		if (isfinite(x))
			check_real(x);
	}
	mc_buf b = MC_BUF_INIT;
	assert_false(mc_jw_real(&b, NAN));
	assert_false(mc_jw_real(&b, INFINITY));
	assert_false(mc_jw_real_memo(&b, -INFINITY, &memo));
	assert_int_equal(b.len, 0);
	mc_buf_release(&b);
}

static void check_string(const char *s)
{
	mc_buf b = MC_BUF_INIT;
	assert_true(mc_jw_string(&b, s));
	char *want = jansson_text(json_string(s));
	assert_string_equal((char *)b.data, want);
	free(want);
	json_t *back = json_loads((char *)b.data, JSON_DECODE_ANY, NULL);
	assert_non_null(back);
	assert_string_equal(json_string_value(back), s);
	json_decref(back);
	mc_buf_release(&b);
}

static void test_strings(void **state)
{
	(void)state;
	check_string("");
	check_string("Jalisco");
	check_string("Nuevo Le\xc3\xb3n");		/* León */
	check_string("San Luis Potos\xc3\xad \"SLP\""); /* í and quotes */
	check_string("back\\slash/slash");
	check_string("tab\there\nnew\rline\b\f");
	check_string("\x01\x1f\x7f end");
	check_string("\xe2\x82\xac \xf0\x9f\xa5\x9b"); /* € and a glass of milk */
	for (int c = 1; c < 128; c++) {
		char s[2] = {(char)c, 0};
		check_string(s);
	}
	mc_buf b = MC_BUF_INIT;
	assert_false(mc_jw_string(&b, "Jal\xffsco"));
	assert_false(mc_jw_string(&b, "Le\xc3"));
	assert_int_equal(b.len, 0);
	assert_true(mc_jw_int(&b, -1234567890123LL) && mc_jw_raw(&b, ",", 1) && mc_jw_int(&b, 0) &&
		    mc_jw_raw(&b, ",", 1) && mc_jw_date(&b, mc_date_from_ymd(2025, 4, 2)));
	assert_string_equal((char *)b.data, "-1234567890123,0,\"2025-04-02\"");
	mc_buf_release(&b);
}

/* The line as the prediction log wrote it with jansson before it formatted by hand. */
static char *jansson_line(const mc_predlog_entry *e)
{
	char t[32], as_of[11], origin[11], target[11];
	time_t secs = (time_t)(e->time_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + n, sizeof t - n, ".%03dZ", (int)(e->time_ms % 1000));
	mc_date_format_iso(e->as_of, as_of);
	mc_date_format_iso(e->origin, origin);
	mc_date_format_iso(e->target, target);
	json_t *j = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:i, s:s, s:f, s:f, "
			      "s:f, s:f, s:s}",
			      "time", t, "route", mc_route_paths[e->route], "series", "state",
			      e->state, "city", e->city, "milk_type", e->milk_type, "channel",
			      e->channel, "as_of", as_of, "origin", origin, "horizon", e->h,
			      "target_date", target, "price", e->price, "lower", e->lower, "upper",
			      e->upper, "last_price", e->last, "model_version", e->version);
	assert_non_null(j);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static mc_predlog_entry entry(int64_t time_ms, const char *state, const char *city)
{
	mc_predlog_entry e = {.time_ms = time_ms,
			      .as_of = mc_date_from_ymd(2025, 3, 31),
			      .origin = mc_date_from_ymd(2025, 3, 31),
			      .target = mc_date_from_ymd(2025, 4, 2),
			      .h = 1,
			      .price = 26.017748946741644,
			      .lower = 25.798134357719665,
			      .upper = 26.270776018693166,
			      .last = 26.0,
			      .route = MC_ROUTE_PREDICT};
	snprintf(e.state, sizeof e.state, "%s", state);
	snprintf(e.city, sizeof e.city, "%s", city);
	snprintf(e.milk_type, sizeof e.milk_type, "pasteurizada");
	snprintf(e.channel, sizeof e.channel, "autoservicios");
	snprintf(e.version, sizeof e.version, "12");
	return e;
}

static void check_line(const mc_predlog_entry *e)
{
	mc_buf b = MC_BUF_INIT;
	assert_true(mc_predlog_format(e, &memo, &b));
	char *want = jansson_line(e);
	assert_int_equal(b.data[b.len - 1], '\n');
	b.data[--b.len] = 0;
	assert_string_equal((char *)b.data, want);
	free(want);
	json_error_t je;
	json_t *j = json_loads((char *)b.data, 0, &je);
	assert_non_null(j);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "series"), "city")), e->city);
	assert_true(json_real_value(json_object_get(j, "upper")) == e->upper);
	assert_int_equal(json_integer_value(json_object_get(j, "horizon")), e->h);
	json_decref(j);
	mc_buf_release(&b);
}

static void test_predlog_lines(void **state)
{
	(void)state;
	int64_t t = (int64_t)mc_date_from_ymd(2026, 11, 26) * 86400000 + 15 * 3600000 + 7 * 60000 +
		    9 * 1000 + 45;
	mc_predlog_entry e = entry(t, "Nuevo Le\xc3\xb3n", "Monterrey");
	check_line(&e);
	e = entry(t + 86399999, "Quo\"te", "Back\\slash \xc3\xb1o\n\x01");
	e.h = 12;
	e.price = 1e20;
	e.lower = -0.0;
	e.upper = 5e-324;
	e.last = 100.0;
	e.route = MC_ROUTE_FORECAST;
	check_line(&e);
	e = entry(0, "Estado de M\xc3\xa9xico", "Toluca");
	check_line(&e);
	/* refused whole, as jansson refused them: nothing is appended */
	mc_buf b = MC_BUF_INIT;
	e = entry(t, "Jal\xe9sco", "Guadalajara"); /* Latin-1, not UTF-8 */
	assert_false(mc_predlog_format(&e, NULL, &b));
	e = entry(t, "Jalisco", "Guadalajara");
	e.last = NAN;
	assert_false(mc_predlog_format(&e, NULL, &b));
	assert_int_equal(b.len, 0);
	e.last = 26.5;
	assert_true(mc_predlog_format(&e, NULL, &b));
	assert_true(mc_predlog_format(&e, NULL, &b));
	assert_int_equal(strchr((char *)b.data, '\n') + 1 - (char *)b.data, b.len / 2);
	mc_buf_release(&b);
}

/* ---- the flat request tokenizer: only what jansson reads the same ---- */

/* When mc_flat_parse takes the text, jansson reads the same members (and no more). */
static bool flat_agrees(const char *text, size_t n)
{
	char scratch[512];
	mc_flat_member m[MC_FLAT_MAX];
	size_t count;
	if (n > sizeof scratch || !mc_flat_parse(text, n, scratch, sizeof scratch, m, &count))
		return false;
	json_error_t je;
	json_t *doc = json_loadb(text, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!doc)
		fprintf(stderr, "taken, but jansson says %s: %.*s\n", je.text, (int)n, text);
	assert_non_null(doc);
	assert_true(json_is_object(doc));
	assert_int_equal(json_object_size(doc), count);
	for (size_t i = 0; i < count; i++) {
		json_t *v = json_object_get(doc, m[i].key);
		assert_non_null(v);
		if (m[i].type == MC_FLAT_STRING) {
			assert_true(json_is_string(v));
			assert_int_equal(json_string_length(v), m[i].len);
			assert_string_equal(json_string_value(v), m[i].str);
		} else if (m[i].type == MC_FLAT_INT) {
			assert_true(json_is_integer(v));
			assert_true(json_integer_value(v) == m[i].ival);
		} else {
			assert_true(json_is_real(v));
			assert_true(json_real_value(v) == strtod(m[i].str, NULL));
		}
	}
	json_decref(doc);
	return true;
}

static void test_flat_parse(void **state)
{
	(void)state;
	const char *taken[] = {
		"{}",
		" {\"a\":\"b\"} ",
		"{\"state\":\"Nuevo Le\xc3\xb3n\",\"horizon\":2,\"x\":-0,\"y\":-12.50}",
		"{\n\t\"d\xc3\xad"
		"a\" : 2 ,\r\"p\":26.0}",
		"{\"big\":999999999999999999,\"neg\":-999999999999999999}",
	};
	for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
		assert_true(flat_agrees(taken[i], strlen(taken[i])));
	const char *refused[] = {
		"",
		"[]",
		"{",
		"{\"a\":1",
		"{\"a\":1,}",
		"{\"a\":1}x",
		"{\"a\":1}{}",
		"{\"a\":\"b\\\"c\"}",
		"{\"a\\u0041\":1}",
		"{\"a\":\"b\nc\"}",
		"{\"a\":null}",
		"{\"a\":true}",
		"{\"a\":[1]}",
		"{\"a\":{}}",
		"{\"a\":1e5}",
		"{\"a\":1E5}",
		"{\"a\":01}",
		"{\"a\":1.}",
		"{\"a\":.5}",
		"{\"a\":+1}",
		"{\"a\":--1}",
		"{\"a\":1,\"a\":2}",
		"{\"a\":\"\xff\"}",
		"{\"\xc3\":1}",
		"{a:1}",
		"{\"a\" 1}",
		"{\"a\":1234567890123456789}",
		"\xef\xbb\xbf{\"a\":1}",
		"{\"a\":-}",
		"{\"a\":1 2}",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		assert_false(flat_agrees(refused[i], strlen(refused[i])));
	assert_false(flat_agrees("{\"a\":\"b\0c\"}", 10)); /* a NUL inside */
	/* mangled requests: whatever is taken, jansson reads the same */
	const char *body = "{\"Estado\":\"Jalisco\",\"Ciudad\":\"Guadalajara\",\"Tipo\":"
			   "\"Pasteurizada\",\"d\xc3\xad"
			   "a\":2,\"mes\":4,\"a\xc3\xb1o\":2025,"
			   "\"Precio_lag1\":26.05,\"Precio_mean7\":-1}";
	const char alphabet[] = "{}[]\":,.-+eE0123456789 \t\n\\/\xc3\xb1\xff"
				"atrunl";
	char text[256];
	size_t len = strlen(body), taken_count = 0;
	srand(11);
	for (int i = 0; i < 50000; i++) {
		memcpy(text, body, len);
		size_t n = len;
		for (int k = 0, edits = 1 + rand() % 3; k < edits; k++) {
			size_t at = (size_t)rand() % n;
			char c = alphabet[rand() % (int)(sizeof alphabet - 1)];
			int op = rand() % 3;
			if (op == 0) {
				text[at] = c;
			} else if (op == 1 && n > 1) {
				memmove(text + at, text + at + 1, n - at - 1);
				n--;
			} else if (n + 1 < sizeof text) {
				memmove(text + at + 1, text + at, n - at);
				text[at] = c;
				n++;
			}
		}
		taken_count += flat_agrees(text, n);
	}
	assert_true(taken_count > 1000); /* the mangling leaves many valid bodies */
}

/* ---- the access log's writer: every line, whole ---- */

#define LINES 3000

typedef struct writer_arg {
	mc_access_log *log; /* NULL: write(2) to fd directly, as another writer of stderr */
	int fd, id;
	bool long_lines; /* some longer than PIPE_BUF */
	bool failed;	 /* (threads do not assert) */
} writer_arg;

/* Line `seq` of writer `id`: "L<id> <seq> <len> xxx...\n", len bytes in all. */
static size_t make_line(int id, int seq, bool long_lines, char *out)
{
	size_t len = long_lines && seq % 97 == 0 ? 5000 : (size_t)(60 + (seq * 37) % 300);
	int n = snprintf(out, len, "L%d %d %zu ", id, seq, len);
	memset(out + n, 'a' + id, len - (size_t)n - 1);
	out[len - 1] = '\n';
	return len;
}

static void *writer_main(void *p)
{
	writer_arg *a = p;
	char line[5001];
	for (int i = 0; i < LINES; i++) {
		size_t n = make_line(a->id, i, a->long_lines, line);
		if (a->log)
			mc_access_log_append(a->log, line, n);
		else if (write(a->fd, line, n) != (ssize_t)n)
			a->failed = true;
	}
	return NULL;
}

typedef struct reader_arg {
	int fd;
	mc_buf got;
	bool failed;
} reader_arg;

static void *reader_main(void *p)
{
	reader_arg *a = p;
	char chunk[65536];
	ssize_t n;
	while ((n = read(a->fd, chunk, sizeof chunk)) > 0)
		if (mc_buf_append(&a->got, chunk, (size_t)n) != MC_OK)
			a->failed = true;
	return NULL;
}

/* Every line of writers 0..nw-1 exactly once and whole. */
static void check_lines(const mc_buf *got, int nw, bool long_lines)
{
	int *seen = calloc((size_t)(nw * LINES), sizeof *seen);
	size_t lines = 0;
	char want[5001];
	for (const char *p = (const char *)got->data, *end = p + got->len; p < end; lines++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		assert_non_null(nl);
		int id, seq;
		assert_int_equal(sscanf(p, "L%d %d", &id, &seq), 2);
		assert_true(id >= 0 && id < nw && seq >= 0 && seq < LINES);
		size_t len = make_line(id, seq, long_lines && id < 2, want);
		assert_int_equal((size_t)(nl + 1 - p), len);
		assert_memory_equal(p, want, len);
		seen[id * LINES + seq]++;
		p = nl + 1;
	}
	assert_int_equal(lines, (size_t)(nw * LINES));
	for (int i = 0; i < nw * LINES; i++)
		assert_int_equal(seen[i], 1);
	free(seen);
}

/* Two request threads through the log and, on a pipe, a third writer of its own lines. */
static void run_writers(int fd, bool long_lines, bool other)
{
	mc_access_log *log;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_access_log_new(fd, &log, &err), MC_OK);
	writer_arg w[3] = {{log, fd, 0, long_lines, false},
			   {log, fd, 1, long_lines, false},
			   {NULL, fd, 2, false, false}};
	pthread_t t[3];
	int nw = other ? 3 : 2;
	for (int i = 0; i < nw; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	for (int i = 0; i < nw; i++) {
		pthread_join(t[i], NULL);
		assert_false(w[i].failed);
	}
	mc_access_log_free(log); /* writes what is left */
}

static void test_access_log_pipe(void **state)
{
	(void)state;
	for (int round = 0; round < 2; round++) {
		bool long_lines = round == 1; /* alone: a line over PIPE_BUF is one write */
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		reader_arg r = {fds[0], MC_BUF_INIT, false};
		pthread_t rt;
		assert_int_equal(pthread_create(&rt, NULL, reader_main, &r), 0);
		run_writers(fds[1], long_lines, !long_lines);
		close(fds[1]);
		pthread_join(rt, NULL);
		close(fds[0]);
		assert_false(r.failed);
		check_lines(&r.got, long_lines ? 2 : 3, long_lines);
		mc_buf_release(&r.got);
	}
}

static void test_access_log_file(void **state)
{
	(void)state;
	char path[] = "/tmp/mc-access-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	run_writers(fd, true, false);
	close(fd);
	mc_buf got = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_buf_read_file(&got, path, &err), MC_OK);
	unlink(path);
	check_lines(&got, 2, true);
	mc_buf_release(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reals),		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_predlog_lines),	cmocka_unit_test(test_flat_parse),
		cmocka_unit_test(test_access_log_pipe), cmocka_unit_test(test_access_log_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
