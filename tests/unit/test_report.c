/* Unit tests of the report module: ticks, escaping, SVG gaps and bands, the predictions page. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/report.h"

#define PYTHON "/usr/bin/python3"

/* ---- Helpers ------------------------------------------------------------- */

static size_t count_of(const char *hay, const char *needle)
{
	size_t k = 0, n = strlen(needle);
	for (const char *p = strstr(hay, needle); p; p = strstr(p + n, needle))
		k++;
	return k;
}

/* Case-insensitive: whether needle occurs in hay. */
static bool contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (const char *p = hay; *p; p++)
		if (!strncasecmp(p, needle, n))
			return true;
	return false;
}

/* The only URL allowed anywhere is the SVG namespace. */
static void assert_no_urls(const char *doc)
{
	static const char ns[] = "http://www.w3.org/2000/svg\"";
	assert_null(strstr(doc, "https://"));
	for (const char *p = strstr(doc, "http://"); p; p = strstr(p + 1, "http://"))
		assert_int_equal(strncmp(p, ns, sizeof ns - 1), 0);
	assert_false(contains_ci(doc, "nan"));
	assert_false(contains_ci(doc, "inf\""));
}

/* The whole page and every top-level <svg> block, parsed by Python's XML parser. Prints
 * "svg=N tables=T rows=R cols=ok|bad csp=ok|bad". */
static const char xml_check_py[] =
	"import re, sys, xml.etree.ElementTree as ET\n"
	"doc = open(sys.argv[1], encoding=\"utf-8\").read()\n"
	"depth, start, n = 0, 0, 0\n"
	"for m in re.finditer(r\"<svg\\b|</svg>\", doc):\n"
	"    if m.group(0) == \"</svg>\":\n"
	"        depth -= 1\n"
	"        if depth == 0:\n"
	"            root = ET.fromstring(doc[start:m.end()])\n"
	"            assert root.tag == \"{http://www.w3.org/2000/svg}svg\", root.tag\n"
	"            assert root.get(\"viewBox\"), \"no viewBox\"\n"
	"            n += 1\n"
	"    else:\n"
	"        if depth == 0:\n"
	"            start = m.start()\n"
	"        depth += 1\n"
	"assert depth == 0\n"
	"page = ET.fromstring(doc)\n"
	"want = \"state city milk_type channel as_of target_date h price lower upper\".split()\n"
	"tables = [t for t in page.iter(\"table\")]\n"
	"ok = all([th.text for th in t.iter(\"th\")] == want for t in tables)\n"
	"rows = sum(len(list(t.iter(\"tbody\"))[0].findall(\"tr\")) for t in tables)\n"
	"import base64, hashlib\n"
	"csp = [m.get(\"content\") for m in page.iter(\"meta\") if m.get(\"http-equiv\")]\n"
	"js = [x.text for x in page.iter(\"script\")]\n"
	"sha = [\"'sha256-%s'\" % base64.b64encode(hashlib.sha256(t.encode()).digest()).decode()\n"
	"       for t in js]\n"
	"csp_ok = len(csp) == 1 and len(js) == 1 and sha[0] in csp[0]\n"
	"print(\"svg=%d tables=%d rows=%d cols=%s csp=%s\" % (n, len(tables), rows,\n"
	"      \"ok\" if ok else \"bad\", \"ok\" if csp_ok else \"bad\"))\n";

typedef struct xml_result {
	int svg, tables, rows;
	bool cols_ok, csp_ok; /* csp_ok: the page's one script matches its CSP hash */
} xml_result;

/* Parse doc with Python's ElementTree; false (and a skip) when Python is missing. */
static bool check_xml(const char *doc, size_t len, xml_result *r)
{
	if (access(PYTHON, X_OK) != 0)
		return false;
	char dir[] = "/tmp/mc-report-xml-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *page = mc_path_join(dir, "page.html"), *py = mc_path_join(dir, "check.py");
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_write_file_atomic(page, doc, len, &err), MC_OK);
	assert_int_equal(mc_write_file_atomic(py, xml_check_py, strlen(xml_check_py), &err), MC_OK);
	char cmd[512], line[256] = "", cols[8] = "", csp[8] = "";
	snprintf(cmd, sizeof cmd, PYTHON " %s %s 2>&1", py, page);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	if (!fgets(line, sizeof line, f))
		line[0] = '\0';
	int status = pclose(f);
	if (status != 0 || sscanf(line, "svg=%d tables=%d rows=%d cols=%7s csp=%7s", &r->svg,
				  &r->tables, &r->rows, cols, csp) != 5)
		fail_msg("XML check failed: %s", line);
	r->cols_ok = !strcmp(cols, "ok");
	r->csp_ok = !strcmp(csp, "ok");
	unlink(page);
	unlink(py);
	rmdir(dir);
	free(page);
	free(py);
	return true;
}

/* ---- Ticks --------------------------------------------------------------- */

static bool is_125(double step)
{
	double m = step / pow(10, floor(log10(step)));
	return fabs(m - 1) < 1e-9 || fabs(m - 2) < 1e-9 || fabs(m - 5) < 1e-9;
}

static void test_nice_ticks(void **state)
{
	(void)state;
	mc_svg_ticks t;
	char s[32];
	mc_svg_nice_ticks(0, 10, 6, &t);
	assert_true(t.step == 2 && t.n == 6 && t.lo == 0 && t.hi == 10 && t.decimals == 0);
	mc_svg_nice_ticks(23.4, 28.9, 6, &t);
	assert_true(t.step == 2 && t.lo == 22 && t.hi == 30 && t.n == 5);
	mc_svg_nice_ticks(0.013, 0.087, 5, &t);
	assert_true(fabs(t.step - 0.05) < 1e-12 && t.n == 3 && t.decimals == 2);
	mc_svg_tick_label(&t, t.at[1], s);
	assert_string_equal(s, "0.05");
	mc_svg_nice_ticks(-1, 1, 3, &t);
	assert_int_equal(t.n, 3);
	mc_svg_tick_label(&t, -0.0, s);
	assert_string_equal(s, "0");
	mc_svg_nice_ticks(0.1, 0.9, 3, &t); /* step 0.5: one decimal */
	mc_svg_tick_label(&t, -1e-17, s);
	assert_string_equal(s, "0.0");
	/* Empty and non-finite ranges are widened, never fail. */
	mc_svg_nice_ticks(25, 25, 5, &t);
	assert_true(t.lo < 25 && t.hi > 25 && t.n >= 2);
	mc_svg_nice_ticks(NAN, NAN, 5, &t);
	assert_true(t.lo <= 0 && t.hi >= 1);
	/* Random ranges: a 1-2-5 step, at most max ticks, covering the data, evenly spaced. */
	srand(7);
	for (int i = 0; i < 2000; i++) {
		double scale = pow(10, rand() % 12 - 6);
		double lo = (rand() / (double)RAND_MAX - 0.5) * 100 * scale;
		double hi = lo + rand() / (double)RAND_MAX * 50 * scale + 1e-3 * scale;
		int max = 3 + rand() % 10;
		mc_svg_nice_ticks(lo, hi, max, &t);
		assert_true(is_125(t.step));
		assert_true(t.n >= 2 && t.n <= (size_t)max);
		assert_true(t.lo <= lo && t.hi >= hi);
		for (size_t k = 1; k < t.n; k++)
			assert_true(fabs(t.at[k] - t.at[k - 1] - t.step) < 1e-6 * t.step);
	}
}

static void assert_ticks(const mc_svg_date_ticks *t, const char *const *labels, size_t n)
{
	assert_int_equal(t->n, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(t->label[i], labels[i]);
}

static void test_date_ticks(void **state)
{
	(void)state;
	mc_svg_date_ticks t;
	/* Four weeks: Mondays. */
	mc_svg_date_ticks_make(mc_date_from_ymd(2025, 1, 6), mc_date_from_ymd(2025, 2, 3), 6, &t);
	assert_int_equal(t.step_days, 7);
	const char *const weeks[] = {"6 Jan", "13 Jan", "20 Jan", "27 Jan", "3 Feb"};
	assert_ticks(&t, weeks, 5);
	for (size_t i = 0; i < t.n; i++)
		assert_int_equal(mc_date_weekday(t.at[i]), 0);
	/* Fourteen weeks in a narrow panel: month starts. */
	mc_svg_date_ticks_make(mc_date_from_ymd(2025, 1, 6), mc_date_from_ymd(2025, 4, 14), 4, &t);
	assert_int_equal(t.step_months, 1);
	const char *const months[] = {"Feb 2025", "Mar 2025", "Apr 2025"};
	assert_ticks(&t, months, 3);
	assert_int_equal(t.at[0], mc_date_from_ymd(2025, 2, 1));
	/* The same span in a wide panel: every other Monday. */
	mc_svg_date_ticks_make(mc_date_from_ymd(2025, 1, 6), mc_date_from_ymd(2025, 4, 14), 10, &t);
	assert_int_equal(t.step_days, 14);
	assert_string_equal(t.label[0], "6 Jan");
	/* Three years: half years aligned to January and July. */
	mc_svg_date_ticks_make(mc_date_from_ymd(2022, 1, 1), mc_date_from_ymd(2024, 12, 31), 7, &t);
	assert_int_equal(t.step_months, 6);
	const char *const halves[] = {"Jan 2022", "Jul 2022", "Jan 2023",
				      "Jul 2023", "Jan 2024", "Jul 2024"};
	assert_ticks(&t, halves, 6);
	/* Decades: years. */
	mc_svg_date_ticks_make(mc_date_from_ymd(1990, 1, 1), mc_date_from_ymd(2020, 6, 1), 5, &t);
	assert_int_equal(t.step_months, 120);
	const char *const decades[] = {"1990", "2000", "2010", "2020"};
	assert_ticks(&t, decades, 4);
	/* Before the epoch. */
	mc_svg_date_ticks_make(mc_date_from_ymd(1969, 11, 15), mc_date_from_ymd(1970, 3, 10), 5,
			       &t);
	const char *const epoch[] = {"Dec 1969", "Jan 1970", "Feb 1970", "Mar 1970"};
	assert_ticks(&t, epoch, 4);
	/* Days, and an empty range. */
	mc_svg_date_ticks_make(mc_date_from_ymd(2025, 3, 30), mc_date_from_ymd(2025, 4, 2), 6, &t);
	const char *const days[] = {"30 Mar", "31 Mar", "1 Apr", "2 Apr"};
	assert_ticks(&t, days, 4);
	mc_svg_date_ticks_make(10, 9, 6, &t);
	assert_int_equal(t.n, 0);
}

/* ---- Escaping ------------------------------------------------------------ */

static void test_escape(void **state)
{
	(void)state;
	mc_buf b;
	mc_buf_init(&b, 0);
	assert_int_equal(mc_xml_escape(&b, "<script>alert(\"x\")</script> & 'q'"), MC_OK);
	assert_string_equal((char *)b.data, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
					    "&amp; &#39;q&#39;");
	mc_buf_reset(&b);
	assert_int_equal(mc_xml_escape(&b, "Querétaro · Cd. Juárez"), MC_OK);
	assert_string_equal((char *)b.data, "Querétaro · Cd. Juárez");
	/* Invalid UTF-8, control bytes and surrogates become U+FFFD. */
	mc_buf_reset(&b);
	assert_int_equal(mc_xml_escape(&b, "a\xff"
					   "b\x01"
					   "c\xc3"),
			 MC_OK);
	assert_string_equal((char *)b.data, "a\xEF\xBF\xBD"
					    "b\xEF\xBF\xBD"
					    "c\xEF\xBF\xBD");
	mc_buf_reset(&b);
	assert_int_equal(mc_xml_escape(&b, "\xED\xA0\x80|\xC0\xAF|\xEF\xBF\xBE|\xF0\x9F\x90\x84"),
			 MC_OK);
	assert_null(strstr((char *)b.data, "\xED\xA0"));
	assert_non_null(strstr((char *)b.data, "\xF0\x9F\x90\x84")); /* a real 4-byte char stays */
	mc_buf_reset(&b);
	assert_int_equal(mc_xml_escape(&b, NULL), MC_OK);
	assert_int_equal(b.len, 0);
	/* A full buffer is left as it was. */
	mc_buf_release(&b);
	mc_buf_init(&b, 8);
	assert_int_equal(mc_buf_append(&b, "abc", 3), MC_OK);
	assert_int_equal(mc_xml_escape(&b, "<<<<"), MC_ERR_LIMIT);
	assert_string_equal((char *)b.data, "abc");
	mc_buf_release(&b);
}

/* ---- Line plots ---------------------------------------------------------- */

/* The d attribute of the n-th <path> (0-based) in doc, copied into out. */
static bool nth_path(const char *doc, size_t n, char *out, size_t cap)
{
	const char *p = doc;
	for (size_t i = 0; i <= n; i++) {
		p = strstr(p, "<path d=\"");
		if (!p)
			return false;
		p += 9;
	}
	const char *e = strchr(p, '"');
	size_t len = (size_t)(e - p) < cap - 1 ? (size_t)(e - p) : cap - 1;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

static void test_line_gaps(void **state)
{
	(void)state;
	const double x[] = {1, 2, 3, 4, 5, 6, 7, 8};
	const double y[] = {1, 2, NAN, 4, 5, NAN, 7, NAN};
	const double fx[] = {9, 10, 11, 12}, fy[] = {8, 9, 10, 11};
	const double flo[] = {7, NAN, 8, 8.5}, fhi[] = {9, NAN, 12, 13};
	mc_svg_line l = {"a <b> & \"c\"", 0, 8, x, y, 4, fx, fy, flo, fhi, true};
	mc_svg_plot p;
	mc_svg_plot_init(&p, 0, 0, 400, 240);
	p.title = "gaps";
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_svg_line_chart(&b, &p, &l, 1, &err), MC_OK);
	const char *doc = (const char *)b.data;
	/* The NaN bound splits the band; its first part is a single point without area. */
	char d[1024];
	assert_int_equal(count_of(doc, "fill-opacity=\"0.18\""), 1);
	/* History: two segments (1-2, 4-5); the point at 7 is a dot. */
	assert_true(nth_path(doc, 1, d, sizeof d));
	assert_int_equal(count_of(d, "M"), 2);
	assert_int_equal(count_of(d, "L"), 2);
	assert_int_equal(count_of(doc, "<circle"), 1);
	/* The last solid point is NaN, so the forecast is not joined: one segment of 4. */
	assert_true(nth_path(doc, 2, d, sizeof d));
	assert_int_equal(count_of(d, "M"), 1);
	assert_int_equal(count_of(d, "L"), 3);
	assert_non_null(strstr(doc, "stroke-dasharray=\"5 4\""));
	assert_non_null(strstr(doc, "&lt;b&gt; &amp; &quot;c&quot;"));
	assert_no_urls(doc);

	/* Joined: the dashed path starts at the last solid point. */
	const double y2[] = {1, 2, NAN, 4, 5, NAN, 7, 7.5};
	l.y = y2;
	mc_buf_reset(&b);
	assert_int_equal(mc_svg_line_chart(&b, &p, &l, 1, &err), MC_OK);
	doc = (const char *)b.data;
	assert_int_equal(count_of(doc, "<circle"), 0);
	assert_int_equal(count_of(doc, "fill-opacity=\"0.18\""), 2);
	assert_true(nth_path(doc, 3, d, sizeof d)); /* bands 0-1, history 2, forecast 3 */
	assert_int_equal(count_of(d, "M"), 1);
	assert_int_equal(count_of(d, "L"), 4);
	char hist[1024];
	assert_true(nth_path(doc, 2, hist, sizeof hist));
	const char *last = strrchr(hist, 'L') + 1;
	assert_int_equal(strncmp(d + 1, last, strlen(last)), 0);

	/* Nothing finite: a "no data" note, still well-formed. */
	const double none[] = {NAN, NAN};
	mc_svg_line empty = {"empty", 1, 2, x, none, 0, NULL, NULL, NULL, NULL, true};
	mc_buf_reset(&b);
	assert_int_equal(mc_svg_line_chart(&b, &p, &empty, 1, &err), MC_OK);
	assert_non_null(strstr((char *)b.data, ">no data</text>"));
	assert_null(strstr((char *)b.data, "<path"));
	assert_no_urls((char *)b.data);
	mc_buf_release(&b);
}

static void test_histogram(void **state)
{
	(void)state;
	const double edges[] = {0, 0.5, 1, 1.5, 2};
	const double ref[] = {0.1, 0.4, 0.4, 0.1}, cur[] = {0.05, 0.2, 0.5, 0.25};
	mc_svg_bars bars = {4, edges, NULL, ref, cur, "reference (Jan)", "current <week>"};
	mc_svg_plot p;
	mc_svg_plot_init(&p, 0, 0, 360, 220);
	p.title = "price drift";
	p.x_label = "price";
	p.y_label = "share";
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_svg_histogram(&b, &p, &bars, &err), MC_OK);
	const char *doc = (const char *)b.data;
	assert_int_equal(count_of(doc, "<rect"), 8 + 2); /* 4 + 4 bins, 2 legend swatches */
	assert_non_null(strstr(doc, "current &lt;week&gt;"));
	assert_no_urls(doc);
	/* Categories. */
	const char *const labels[] = {"pasteurizada", "ultrapasteurizada", "<otra>"};
	mc_svg_bars cat = {3, NULL, labels, ref, cur, NULL, NULL};
	mc_buf_reset(&b);
	assert_int_equal(mc_svg_histogram(&b, &p, &cat, &err), MC_OK);
	doc = (const char *)b.data;
	assert_non_null(strstr(doc, "&lt;otra&gt;"));
	assert_int_equal(count_of(doc, "<rect"), 6 + 2);
	xml_result r;
	if (check_xml(doc, b.len, &r))
		assert_int_equal(r.svg, 1);
	mc_buf_release(&b);
}

/* ---- Synthetic predictions ----------------------------------------------- */

typedef struct synth {
	mc_report_series *s;
	size_t n, cap;
	uint64_t rng;
} synth;

static double uniform(synth *sy)
{
	sy->rng ^= sy->rng << 13;
	sy->rng ^= sy->rng >> 7;
	sy->rng ^= sy->rng << 17;
	return (double)(sy->rng >> 11) / 9007199254740992.0;
}

/* Publication dates (Mon, Wed, Fri) in [from, to]. */
static size_t pub_dates(int32_t from, int32_t to, int32_t *out)
{
	size_t n = 0;
	for (int32_t d = from; d <= to; d++) {
		int wd = mc_date_weekday(d);
		if (wd == 0 || wd == 2 || wd == 4)
			out[n++] = d;
	}
	return n;
}

/* A series with nhist_days of history before as_of (prices from base), missing at rate
 * miss, and a 6-step forecast when fc. */
static void add_series(synth *sy, const char *state, const char *city, const char *mt,
		       const char *ch, int32_t as_of, int hist_days, double base, double miss,
		       bool fc)
{
	if (sy->n == sy->cap) {
		sy->cap = sy->cap ? 2 * sy->cap : 16;
		sy->s = realloc(sy->s, sy->cap * sizeof *sy->s);
		assert_non_null(sy->s);
	}
	mc_report_series *s = &sy->s[sy->n++];
	memset(s, 0, sizeof *s);
	s->state = state;
	s->city = city;
	s->milk_type = mt;
	s->channel = ch;
	int32_t *hd = malloc(200 * sizeof *hd);
	double *hp = malloc(200 * sizeof *hp);
	s->nhist = pub_dates(as_of - hist_days, as_of, hd);
	double level = base;
	for (size_t i = 0; i < s->nhist; i++) {
		level += 0.01 + (uniform(sy) - 0.5) * 0.25;
		hp[i] = uniform(sy) < miss ? NAN
					   : round(level * 2) / 2; /* SNIIM quotes 50 centavos */
	}
	s->hist_dates = hd;
	s->hist_prices = hp;
	if (!fc)
		return;
	int32_t *fd = malloc(32 * sizeof *fd);
	double *fp = malloc(6 * sizeof *fp), *lo = malloc(6 * sizeof *lo),
	       *hi = malloc(6 * sizeof *hi);
	s->nfc = pub_dates(as_of + 1, as_of + 14, fd);
	s->nfc = s->nfc > 6 ? 6 : s->nfc;
	for (size_t h = 0; h < s->nfc; h++) {
		fp[h] = level + 0.03 * (double)(h + 1);
		lo[h] = fp[h] - 0.35 * sqrt((double)h + 1);
		hi[h] = fp[h] + 0.4 * sqrt((double)h + 1);
	}
	s->fc_dates = fd;
	s->fc_price = fp;
	s->fc_lower = lo;
	s->fc_upper = hi;
}

static void synth_free(synth *sy)
{
	for (size_t i = 0; i < sy->n; i++) {
		free((void *)sy->s[i].hist_dates);
		free((void *)sy->s[i].hist_prices);
		free((void *)sy->s[i].fc_dates);
		free((void *)sy->s[i].fc_price);
		free((void *)sy->s[i].fc_lower);
		free((void *)sy->s[i].fc_upper);
	}
	free(sy->s);
}

/* Ten states and the national average, 1 to 5 cities each, given in reverse order. */
static void make_sample(synth *sy, int32_t as_of)
{
	static const struct {
		const char *state;
		const char *cities[5];
		double base;
	} geo[] = {
		{"Nacional", {""}, 25.5},
		{"Aguascalientes", {"Aguascalientes"}, 24.8},
		{"Baja California", {"Mexicali", "Tijuana"}, 27.2},
		{"Chihuahua", {"Chihuahua", "Cd. Juárez"}, 26.4},
		{"Ciudad de México", {"Ciudad de México"}, 25.9},
		{"Jalisco", {"Guadalajara", "Puerto Vallarta"}, 24.6},
		{"Michoacán", {"Morelia", "Uruapan"}, 24.1},
		{"Nuevo León", {"Monterrey"}, 26.8},
		{"Querétaro", {"Querétaro"}, 25.2},
		{"Veracruz", {"Coatzacoalcos", "Córdoba", "Poza Rica", "Veracruz", "Xalapa"}, 24.4},
		{"Yucatán", {"Mérida"}, 26.1},
	};
	static const char *const types[] = {"pasteurizada", "ultrapasteurizada"};
	static const char *const channels[] = {"tiendas", "autoservicios"};
	sy->rng = 0x9E3779B97F4A7C15u;
	for (size_t g = sizeof geo / sizeof geo[0]; g-- > 0;) {
		for (size_t c = 0; c < 5 && geo[g].cities[c]; c++) {
			for (size_t t = 0; t < 2; t++) {
				for (size_t k = 0; k < 2; k++) {
					double base = geo[g].base + 3.2 * (double)t -
						      0.6 * (double)k + 0.4 * (double)c;
					/* Puerto Vallarta's ultrapasteurizada in tiendas started
					 * being quoted two weeks ago: too little to forecast. */
					bool young = !strcmp(geo[g].cities[c], "Puerto Vallarta") &&
						     t && !k;
					double miss =
						!strcmp(geo[g].cities[c], "Uruapan") ? 0.45 : 0.08;
					add_series(sy, geo[g].state, geo[g].cities[c], types[t],
						   channels[k], as_of, young ? 14 : 180, base, miss,
						   !young);
				}
			}
		}
	}
}

static void test_sample_page(void **state)
{
	(void)state;
	int32_t as_of = mc_date_from_ymd(2025, 3, 31);
	synth sy = {0};
	make_sample(&sy, as_of);
	mc_report_meta meta = {as_of, "milkcast-xgb v3 (champion)", 0.9, "2025-03-31T07:05:12Z"};
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_report_predictions_html_buf(&b, &meta, sy.s, sy.n, &err), MC_OK);
	const char *doc = (const char *)b.data;
	assert_no_urls(doc);
	assert_int_equal(count_of(doc, "<section id=\"state-"), 11);
	assert_non_null(strstr(doc, "<dd>90% prediction interval</dd>"));
	assert_non_null(strstr(doc, "<dd>milkcast-xgb v3 (champion)</dd>"));
	assert_non_null(strstr(doc, "2025-03-31 (Monday)"));
	/* Sorted by state: Aguascalientes first, Yucatán last; Nacional in between. */
	const char *ags = strstr(doc, "<h2>Aguascalientes</h2>"),
		   *yuc = strstr(doc, "<h2>Yucatán</h2>");
	assert_true(ags && yuc && ags < yuc);
	/* One series without a forecast, listed by name. */
	assert_non_null(strstr(doc, "<h3>Without a forecast (1)</h3>"));
	assert_non_null(strstr(doc, "<li>Puerto Vallarta · ultrapasteurizada · tiendas"));
	assert_non_null(strstr(doc, "national average"));
	assert_int_equal(count_of(doc, "<script"), 1);
	xml_result r;
	size_t rows = 0;
	for (size_t i = 0; i < sy.n; i++)
		rows += sy.s[i].nfc;
	if (check_xml(doc, b.len, &r)) {
		assert_int_equal(r.svg, 11);
		assert_int_equal(r.tables, 11);
		assert_int_equal(r.rows, (int)rows);
		assert_true(r.cols_ok);
		assert_true(r.csp_ok);
	}
	/* A copy to look at: MC_REPORT_SAMPLE=path ./build/test_report */
	const char *keep = getenv("MC_REPORT_SAMPLE");
	if (keep)
		assert_int_equal(mc_report_predictions_html(keep, &meta, sy.s, sy.n, &err), MC_OK);
	mc_buf_release(&b);
	synth_free(&sy);
}

/* ---- Hostile names and edge cases ---------------------------------------- */

static void test_hostile_names(void **state)
{
	(void)state;
	int32_t as_of = mc_date_from_ymd(2025, 3, 31);
	synth sy = {0};
	sy.rng = 42;
	add_series(&sy, "<script>alert(1)</script>", "Tom & Jerry's \"place\"", "<b>bold</b>",
		   "a'b", as_of, 60, 25, 0.1, true);
	add_series(&sy, "<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "pasteurizada",
		   "tiendas", as_of, 60, 25, 0.1, false);
	mc_report_meta meta = {as_of, "m\" onload=\"x <script>", 0.95,
			       "</title><script>x()</script>"};
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_report_predictions_html_buf(&b, &meta, sy.s, sy.n, &err), MC_OK);
	const char *doc = (const char *)b.data;
	/* The only <script is the page's own, at the end. */
	assert_int_equal(count_of(doc, "<script"), 1);
	assert_true(strstr(doc, "<script") > strstr(doc, "</main>"));
	assert_null(strstr(doc, "<img"));
	assert_null(strstr(doc, "<b>"));
	assert_non_null(strstr(doc, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(doc, "Tom &amp; Jerry&#39;s &quot;place&quot;"));
	assert_non_null(strstr(doc, "<dd>95% prediction interval</dd>"));
	assert_no_urls(doc);
	xml_result r;
	if (check_xml(doc, b.len, &r)) {
		assert_int_equal(r.svg, 1);
		assert_int_equal(r.rows, 6);
		assert_true(r.csp_ok);
	}
	mc_buf_release(&b);
	synth_free(&sy);
}

static void test_empty_pages(void **state)
{
	(void)state;
	int32_t as_of = mc_date_from_ymd(2025, 3, 31);
	mc_report_meta meta = {as_of, NULL, NAN, NULL};
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	xml_result r;
	/* No series at all. */
	assert_int_equal(mc_report_predictions_html_buf(&b, &meta, NULL, 0, &err), MC_OK);
	assert_non_null(strstr((char *)b.data, "No series to report."));
	assert_non_null(strstr((char *)b.data, "n/a prediction interval"));
	assert_no_urls((char *)b.data);
	if (check_xml((char *)b.data, b.len, &r))
		assert_true(r.svg == 0 && r.tables == 0);
	/* One series whose history is all missing, without a forecast; another with a forecast
	 * but no history. */
	int32_t d[] = {as_of - 4, as_of - 2, as_of};
	double nan3[] = {NAN, NAN, NAN}, p[] = {25.5, 25.6, 25.7};
	mc_report_series s[2] = {
		{"Sonora", "Hermosillo", "pasteurizada", "tiendas", d, nan3, 3, NULL, NULL, NULL,
		 NULL, 0},
		{"Sonora", "Nogales", "pasteurizada", "tiendas", NULL, NULL, 0, d, p, NULL, NULL,
		 3},
	};
	mc_buf_reset(&b);
	assert_int_equal(mc_report_predictions_html_buf(&b, &meta, s, 1, &err), MC_OK);
	const char *doc = (const char *)b.data;
	assert_non_null(strstr(doc, "no prices in the window"));
	assert_non_null(strstr(doc, "(no price on record)"));
	assert_non_null(strstr(doc, "No forecasts in this state."));
	assert_no_urls(doc);
	if (check_xml(doc, b.len, &r))
		assert_true(r.svg == 1 && r.tables == 0);
	mc_buf_reset(&b);
	assert_int_equal(mc_report_predictions_html_buf(&b, &meta, s, 2, &err), MC_OK);
	doc = (const char *)b.data;
	/* Without an interval the bounds are empty cells. */
	assert_non_null(strstr(doc, "<td class=\"n\">25.50</td><td class=\"n\"></td>"));
	assert_no_urls(doc);
	if (check_xml(doc, b.len, &r))
		assert_true(r.svg == 1 && r.tables == 1 && r.rows == 3);
	mc_buf_release(&b);
}

static void test_invalid_input(void **state)
{
	(void)state;
	mc_buf b;
	mc_buf_init(&b, 0);
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_report_predictions_html_buf(&b, NULL, NULL, 0, &err), MC_ERR_INVALID);
	int32_t d[] = {10, 9};
	double p[] = {1, 2};
	mc_report_series s = {"S", "C", "m", "c", d, p, 2, NULL, NULL, NULL, NULL, 0};
	mc_report_meta meta = {20, "m", 0.9, "t"};
	assert_int_equal(mc_report_predictions_html_buf(&b, &meta, &s, 1, &err), MC_ERR_INVALID);
	assert_non_null(strstr(err.msg, "series 0: history dates do not ascend"));
	s.hist_dates = NULL;
	assert_int_equal(mc_report_predictions_html_buf(&b, &meta, &s, 1, &err), MC_ERR_INVALID);
	assert_int_equal(b.len, 0);
	/* A size cap: the buffer is left as it was. */
	mc_buf_release(&b);
	mc_buf_init(&b, 1000);
	assert_int_equal(mc_buf_append(&b, "x", 1), MC_OK);
	assert_int_equal(mc_report_predictions_html_buf(&b, &meta, NULL, 0, &err), MC_ERR_LIMIT);
	assert_int_equal(b.len, 1);
	assert_non_null(strstr(err.msg, "cannot write the predictions report"));
	mc_buf_release(&b);
}

static size_t dir_entries(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", dir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = 0;
	assert_int_equal(fscanf(f, "%zu", &n), 1);
	pclose(f);
	return n;
}

static void test_atomic_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/mc-report-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *path = mc_path_join(dir, "predictions.html");
	int32_t as_of = mc_date_from_ymd(2025, 3, 31);
	synth sy = {0};
	sy.rng = 1;
	add_series(&sy, "Jalisco", "Guadalajara", "pasteurizada", "tiendas", as_of, 90, 25, 0.1,
		   true);
	mc_report_meta meta = {as_of, "m", 0.9, "t"};
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_report_predictions_html(path, &meta, sy.s, sy.n, &err), MC_OK);
	assert_int_equal(mc_report_predictions_html(path, &meta, sy.s, sy.n, &err), MC_OK);
	assert_int_equal(dir_entries(dir), 1);
	mc_buf b;
	mc_buf_init(&b, 0);
	assert_int_equal(mc_buf_read_file(&b, path, &err), MC_OK);
	assert_int_equal(strncmp((char *)b.data, "<!DOCTYPE html>", 15), 0);
	mc_buf_release(&b);
	/* A failed rename (the target is a directory) leaves no temp file. */
	char *sub = mc_path_join(dir, "sub");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(mc_report_predictions_html(sub, &meta, sy.s, sy.n, &err), MC_ERR_IO);
	assert_int_equal(dir_entries(dir), 2);
	/* A missing directory is an I/O error naming the path. */
	assert_int_equal(
		mc_report_predictions_html("/nonexistent/dir/p.html", &meta, sy.s, sy.n, &err),
		MC_ERR_IO);
	assert_non_null(strstr(err.msg, "/nonexistent/dir/p.html"));
	rmdir(sub);
	unlink(path);
	rmdir(dir);
	free(sub);
	free(path);
	synth_free(&sy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nice_ticks),    cmocka_unit_test(test_date_ticks),
		cmocka_unit_test(test_escape),	      cmocka_unit_test(test_line_gaps),
		cmocka_unit_test(test_histogram),     cmocka_unit_test(test_sample_page),
		cmocka_unit_test(test_hostile_names), cmocka_unit_test(test_empty_pages),
		cmocka_unit_test(test_invalid_input), cmocka_unit_test(test_atomic_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
