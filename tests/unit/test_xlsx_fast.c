/* Unit tests of the fast worksheet tokenizer: same results as libxml2, fallback, hostile XML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "milkcast/xlsx.h"
#include "xlsx/xlsx_int.h"

#define FIX "tests/data/xlsx/"
#define REAL "data/sniim/raw/Leche31032025.xlsx"
#define NS "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NSR "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

static char tmpdir[] = "/tmp/mc_xlsx_fast.XXXXXX";

/* ---- building workbooks at test time ---- */

static void add_part(zip_t *z, const char *name, const char *data, size_t n)
{
	zip_source_t *src = zip_source_buffer(z, data, n, 0);
	assert_non_null(src);
	assert_true(zip_file_add(z, name, src, ZIP_FL_OVERWRITE) >= 0);
}

/* Write a one-sheet workbook (sheet named "S") whose sheet part holds sheet (n bytes) and,
 * when sst is not NULL, with that shared-strings part.  Returns the path (static buffer). */
static const char *write_book_n(const char *sheet, size_t n, const char *sst)
{
	static char path[256];
	static int seq;
	snprintf(path, sizeof path, "%s/b%d.xlsx", tmpdir, seq++);
	static const char rels[] =
		"<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/"
		"package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"" NSR
		"/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>";
	static const char book[] = "<workbook xmlns=\"" NS "\" xmlns:r=\"" NSR "\"><sheets>"
				   "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets>"
				   "</workbook>";
	static const char brels[] =
		"<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/"
		"relationships\"><Relationship Id=\"rId1\" Type=\"" NSR
		"/worksheet\" Target=\"worksheets/sheet1.xml\"/><Relationship Id=\"rId2\" "
		"Type=\"" NSR "/sharedStrings\" Target=\"sharedStrings.xml\"/></Relationships>";
	int e;
	zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &e);
	assert_non_null(z);
	add_part(z, "_rels/.rels", rels, strlen(rels));
	add_part(z, "xl/workbook.xml", book, strlen(book));
	add_part(z, "xl/_rels/workbook.xml.rels", brels, strlen(brels));
	add_part(z, "xl/worksheets/sheet1.xml", sheet, n);
	if (sst)
		add_part(z, "xl/sharedStrings.xml", sst, strlen(sst));
	assert_int_equal(zip_close(z), 0);
	return path;
}

static const char *write_book(const char *sheet, const char *sst)
{
	return write_book_n(sheet, strlen(sheet), sst);
}

/* ---- reading a sheet into one comparable text ---- */

typedef struct dump {
	mc_buf out;
	size_t rows;
	size_t stop_after; /* stop after this many rows (0 = never) */
} dump;

static int dump_row(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	dump *d = ud;
	mc_buf_printf(&d->out, "row %u (%zu)\n", row->row, row->ncells);
	for (size_t i = 0; i < row->ncells; i++) {
		const mc_xlsx_cell *c = &row->cells[i];
		uint64_t bits;
		memcpy(&bits, &c->number, sizeof bits);
		assert_int_equal(strlen(c->text), c->len);
		mc_buf_printf(&d->out, "  %u t%d s%u %016llx [", c->col, (int)c->type, c->style,
			      (unsigned long long)bits);
		mc_buf_append(&d->out, c->text, c->len);
		mc_buf_printf(&d->out, "]\n");
	}
	d->rows++;
	return d->stop_after && d->rows >= d->stop_after ? MC_XLSX_STOP : 0;
}

/* Everything a read of sheet `index` gives: rows, code, message, merges.  Caller frees. */
static char *read_all(mc_xlsx *x, size_t index, size_t stop_after)
{
	dump d = {.stop_after = stop_after};
	mc_buf_init(&d.out, 0);
	mc_error err = MC_ERROR_INIT;
	mc_code rc = mc_xlsx_read_sheet(x, index, dump_row, &d, &err);
	mc_buf_printf(&d.out, "rc %d: %s\n", (int)rc, rc ? err.msg : "");
	const mc_xlsx_range *m;
	size_t n;
	if (rc == MC_OK && mc_xlsx_merged(x, index, &m, &n, &err) == MC_OK)
		for (size_t i = 0; i < n; i++)
			mc_buf_printf(&d.out, "merge %u %u %u %u\n", m[i].row1, m[i].col1,
				      m[i].row2, m[i].col2);
	mc_buf_printf(&d.out, "end\n");
	return (char *)d.out.data;
}

/* Open path with the fast path on or off; NULL with the message in *msg when opening fails. */
static mc_xlsx *open_book(const char *path, bool slow, char **msg)
{
	mc_error err = MC_ERROR_INIT;
	mc_xlsx *x = slow ? xl_open_slow(path, &err) : mc_xlsx_open(path, &err);
	*msg = x ? NULL : strdup(err.msg);
	return x;
}

/* The whole book as text: every sheet read (fast or slow, in chunks of `chunk` bytes). */
static char *read_book(const char *path, bool slow, size_t chunk, size_t stop_after)
{
	char *msg;
	mc_xlsx *x = open_book(path, slow, &msg);
	if (!x)
		return msg;
	mc_buf out = MC_BUF_INIT;
	xl_set_chunk(x, chunk);
	for (size_t i = 0; i < mc_xlsx_sheet_count(x); i++) {
		char *s = read_all(x, i, stop_after);
		mc_buf_printf(&out, "sheet %zu\n%s", i, s);
		free(s);
	}
	mc_xlsx_free(x);
	return (char *)out.data;
}

/* The fast and the libxml2 reads of path agree; returns the fast path's fallback reason. */
static void assert_same(const char *path, size_t chunk, size_t stop_after)
{
	char *slow = read_book(path, true, 0, stop_after);
	char *fast = read_book(path, false, chunk, stop_after);
	if (strcmp(slow, fast) != 0)
		fail_msg("%s (chunk %zu): fast path differs\n--- libxml2:\n%.3000s\n--- "
			 "fast:\n%.3000s",
			 path, chunk, slow, fast);
	free(slow);
	free(fast);
}

/* Why the fast path gave up on the sheet of path, read in chunks of `chunk` bytes ("" when it
 * did not). */
static char *fallback_at(const char *path, size_t chunk)
{
	mc_error err = MC_ERROR_INIT;
	mc_xlsx *x = mc_xlsx_open(path, &err);
	if (!x)
		return strdup("(open failed)");
	xl_set_chunk(x, chunk);
	dump d = {0};
	mc_buf_init(&d.out, 0);
	mc_xlsx_read_sheet(x, 0, dump_row, &d, &err);
	mc_buf_release(&d.out);
	char *why = strdup(xl_fallback_reason(x));
	mc_xlsx_free(x);
	return why;
}

static char *fallback_of(const char *path)
{
	return fallback_at(path, 0);
}

/* The fast path reads the sheet of path to its end in chunks of `chunk` bytes. */
static void assert_native(const char *path, size_t chunk)
{
	char *why = fallback_at(path, chunk);
	if (why[0])
		fail_msg("%s (chunk %zu) went to libxml2: %s", path, chunk, why);
	free(why);
}

/* A sheet part around rows (and what comes after sheetData). */
static char *sheet_xml(const char *decl, const char *rows, const char *after)
{
	mc_buf b = MC_BUF_INIT;
	mc_buf_printf(&b,
		      "%s<worksheet xmlns=\"" NS "\" xmlns:r=\"" NSR
		      "\"><sheetData>%s</sheetData>%s</worksheet>",
		      decl, rows, after);
	return (char *)b.data;
}

/* ---- tests ---- */

/* Every committed fixture, every sheet, and the shipped workbook: identical results. */
static void test_fixtures_same(void **state)
{
	DIR *d = opendir(FIX);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 5, ".xlsx") != 0)
			continue;
		char path[512];
		snprintf(path, sizeof path, FIX "%s", e->d_name);
		assert_same(path, 0, 0);
		assert_same(path, 0, 2); /* stopped early */
		n++;
	}
	closedir(d);
	assert_true(n >= 20);
	assert_same(REAL, 0, 0);
	char *why = fallback_of(REAL);
	assert_string_equal(why, ""); /* the shipped sheet never needs libxml2 */
	free(why);
}

/* Everything the fast path reads natively, cut into chunks of every size from 1 to 64. */
static const char native_rows[] =
	"<row r=\"1\" spans=\"1:9\" x14ac:dyDescent=\"0.25\"><c r=\"A1\" s=\"3\" t=\"inlineStr\">"
	"<is><t xml:space=\"preserve\"> caf\xc3\xa9 &amp; &lt;t&gt; &quot;q&quot; &apos;a&apos; "
	"&#65;&#x42;&#233;&#x20AC;&#x1F600; </t></is></c>"
	"<c r='B1' t='s'><v>1</v></c><c r=\"C1\"><v>26.15</v></c>"
	"<c r=\"D1\" t=\"n\"><v> 1E-3 </v></c><c r=\"E1\" t=\"b\"><v>1</v></c>"
	"<c r=\"F1\" t=\"e\"><v>#N/A</v></c><c r=\"G1\" t=\"str\"><f>A1&amp;\"x\"</f><v>ab</v></c>"
	"<c r=\"H1\" s=\"7\"/><c r = \"I1\"  t = \"inlineStr\" ><is><r><rPr><b/></rPr><t>ri</t></r>"
	"<r><t>ch</t></r><rPh sb=\"0\"><t>NO</t></rPh></is></c></row>\n"
	"<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>line\r\nfeed\rcr\ttab\n</t></is></c>"
	"<c r=\"B2\"><v>0.1</v></c><c r=\"C2\"><v>-0</v></c><c "
	"r=\"D2\"><v>123456789012345678</v></c>"
	"<c r=\"E2\"><v>1e300</v></c><c r=\"F2\"><v>4.9406564584124654e-324</v></c>"
	"<c r=\"G2\"><v>.5</v></c><c r=\"H2\"><v>+7.</v></c><c "
	"r=\"I2\"><v>45747.999988425923</v></c>"
	"</row>\r\n  <row r=\"4\"/><row><c><v>1</v></c><c><v>2</v></c></row>"
	"<row r=\"9\"><c r=\"XFD9\" t=\"inlineStr\"><is><t>_x0041_ end</t></is></c></row>";

static const char native_after[] =
	"<mergeCells count=\"2\"><mergeCell ref=\"A1:B2\"/><mergeCell ref='C5:C9'/></mergeCells>"
	"<pageMargins left=\"0.7\" right=\"0.7\"/><extLst><ext uri=\"{X}\" "
	"xmlns:x14=\"urn:x14\"><x14:foo a=\"1\"><x14:bar/></x14:foo></ext></extLst>";

static const char small_sst[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<sst xmlns=\"" NS
	"\" count=\"2\" uniqueCount=\"2\"><si><t>zero</t></si><si><r><t>o</t></r><r><t "
	"xml:space=\"preserve\">ne &#233;</t></r><rPh><t>x</t></rPh></si></sst>";

static void test_chunk_boundaries(void **state)
{
	char *xml = sheet_xml(
		"\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\" standalone='yes' ?>\r\n",
		native_rows, native_after);
	/* The root also declares the prefixes Excel uses. */
	char *root = strstr(xml, "<worksheet ");
	assert_non_null(root);
	const char *path = write_book(xml, small_sst);
	char *why = fallback_of(path);
	assert_string_equal(why, "");
	free(why);
	for (size_t chunk = 1; chunk <= 64; chunk++) {
		assert_native(path, chunk);
		assert_same(path, chunk, 0);
	}
	assert_same(path, 1000, 0);
	free(xml);
}

/* Constructs outside the subset: libxml2 reads them, with the same results. */
static void test_fallback(void **state)
{
	static const struct {
		const char *decl, *rows, *after;
	} cases[] = {
		/* comment early, comment after many rows, CDATA, PI, DOCTYPE */
		{"", "<!-- hi --><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>", ""},
		{"",
		 "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row><row r=\"2\"><c r=\"A2\"><v>2</v></c>"
		 "</row><row r=\"3\"><c r=\"A3\" t=\"inlineStr\"><is><t>x<!-- c -->y</t></is></c>"
		 "</row><row r=\"4\"><c r=\"B4\"><v>4</v></c></row>",
		 "<mergeCells><mergeCell ref=\"A1:A2\"/></mergeCells>"},
		{"",
		 "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t><![CDATA[<a & b>]]></t></is></c>"
		 "</row>",
		 ""},
		{"", "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row><?pi stuff?>", ""},
		{"<?xml version=\"1.0\"?><!DOCTYPE worksheet>", "<row r=\"1\"/>", ""},
		/* a non-UTF-8 encoding, an XML 1.1 declaration */
		{"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>",
		 "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>caf\xe9</t></is></c></row>", ""},
		{"<?xml version=\"1.1\"?>", "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>", ""},
		/* names outside ASCII, '>' in text, a duplicate attribute under two prefixes */
		{"",
		 "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a&gt;b > c</t></is></c></row>",
		 ""},
		{"", "<row r=\"1\"><c\xc3\xa9 r=\"A1\"/><c r=\"B1\"><v>2</v></c></row>", ""},
		{"",
		 "<row r=\"1\"><c r=\"A1\" xmlns:a=\"urn:a\" a:t=\"s\" t=\"n\"><v>1</v></c></row>",
		 ""},
		/* whitespace before the declaration */
		{" <?xml version=\"1.0\"?>", "<row r=\"1\"/>", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *xml = sheet_xml(cases[i].decl, cases[i].rows, cases[i].after);
		const char *path = write_book(xml, NULL);
		char *why = fallback_of(path);
		if (why[0] == '\0')
			fail_msg("case %zu did not fall back", i);
		free(why);
		assert_same(path, 0, 0);
		assert_same(path, 7, 0);
		assert_same(path, 0, 2);
		free(xml);
	}
}

/* Namespace prefixes are read natively, by local name, as the libxml2 path does. */
static void test_prefixes(void **state)
{
	static const char xml[] =
		"<x:worksheet xmlns:x=\"" NS "\"><x:sheetData><x:row r=\"1\"><x:c r=\"A1\" "
		"t=\"inlineStr\"><x:is><x:t>p</x:t></x:is></x:c><y:c r=\"B1\"><y:v>2</y:v></y:c>"
		"</x:row></x:sheetData><x:mergeCells><x:mergeCell ref=\"A1:B1\"/></x:mergeCells>"
		"</x:worksheet>";
	const char *path = write_book(xml, NULL);
	char *why = fallback_of(path);
	assert_string_equal(why, "");
	free(why);
	assert_same(path, 0, 0);
	for (size_t chunk = 1; chunk <= 16; chunk++) {
		assert_native(path, chunk);
		assert_same(path, chunk, 0);
	}
}

/* Malformed and hostile input: never a crash, the same code and message as libxml2 gives. */
static void test_hostile(void **state)
{
	static const char *const rows[] = {
		"<row r=\"1\"><c r=\"A1\"><v>1</v></c></row><row r=\"2\"><c r=\"A2\"",	 /* cut in a
											    tag */
		"<row r=\"1\"><c r=\"A1\"><v>1</v></c></row><row r=\"2\"><c r=\"A2><v>", /* open
											    quote */
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&bogus;</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&amp</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>AT&T</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&#xD800;</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&#0;</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&#x110000;</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&#99999999999;</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&#X41;</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>\xc3\x28</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>\xed\xa0\x80</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>\xc0\xaf</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>\xef\xbf\xbe</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>a\x01</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>]]></t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" r=\"B1\"><v>1</v></c></row>", /* duplicate attribute */
		"<row r=\"1\"><c r=A1><v>1</v></c></row>",		/* unquoted */
		"<row r=\"1\"><c r=\"A1\"t=\"n\"><v>1</v></c></row>",	/* no space */
		"<row r=\"1\"><c r=\"A<1\"><v>1</v></c></row>",		/* '<' in a value */
		"<row r=\"1\"><c r=\"A1\" t=\"&#0;\"><v>1</v></c></row>",
		"<row r=\"1\"><c r=\"A1\"><v>1</c></v></row>", /* crossed */
		"<row r=\"1\"><c r=\"A1\"><v>1</v></cc></row>",
		"<row r=\"1\"><c r=\"A1\"><v>1</v></c ></row></sheetData></worksheet><worksheet/>",
		"<row r=\"1\"><c r=\"A1\"><v>1</v></c></row></sheetData></worksheet>trailing",
		"<row r=\"1\"><a:b:c/></row>",
		"<row r=\"1\"><:c/></row>",
		"<row r=\"1\"><c r=\"A1\" :t=\"n\"/></row>",
		"<row r=\"1\"><c r=\"A1\" xmlns:=\"u\"/></row>",
		"<row r=\"1\"><xmlns:c/></row>",
		"<row r=\"1\"><c r=\"A1\" "
		"t=\"inlineStr\"><is><t>\xf4\x90\x80\x80</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>x\xe2\x82</t></is></c></row>",
		"<row r=\"1\"><c r=\"A1\"><v>abc</v></c></row>", /* a sheet-level error */
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		char *xml = sheet_xml("", rows[i], "");
		/* Cut the root's end off for the first two cases: the part ends inside them. */
		size_t n = strlen(xml);
		if (i < 2)
			n = (size_t)(strstr(xml, rows[i]) - xml) + strlen(rows[i]);
		const char *path = write_book_n(xml, n, NULL);
		assert_same(path, 0, 0);
		assert_same(path, 3, 0);
		char *out = read_book(path, false, 0, 0);
		if (i + 1 < sizeof rows / sizeof *rows &&
		    (strstr(out, "rc 3: ") == NULL && strstr(out, "rc 0: ") == NULL))
			fail_msg("case %zu: %s", i, out);
		free(out);
		free(xml);
	}
}

/* Sizes past the fast path's own limits go to libxml2, which decides. */
static void test_limits(void **state)
{
	/* A 300 KB attribute value: a tag longer than the 64 KiB the fast path carries over. */
	size_t big = 300000;
	mc_buf b = MC_BUF_INIT;
	mc_buf_printf(&b, "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\" x=\"");
	for (size_t i = 0; i < big; i++)
		mc_buf_putc(&b, 'a');
	mc_buf_printf(&b, "\"><is><t>after a big attribute</t></is></c></row>");
	char *xml = sheet_xml("", (char *)b.data, "");
	const char *path = write_book(xml, NULL);
	char *why = fallback_of(path);
	assert_non_null(strstr(why, "longer than 64 KiB"));
	free(why);
	assert_same(path, 0, 0);
	free(xml);
	mc_buf_release(&b);

	/* Nesting 1000 deep: the fast path stops at 128 and hands over; libxml2's push parser
	 * without a tree does not count depth, so both read it. */
	mc_buf_printf(&b, "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>");
	for (int i = 0; i < 1000; i++)
		mc_buf_printf(&b, "<x>");
	for (int i = 0; i < 1000; i++)
		mc_buf_printf(&b, "</x>");
	xml = sheet_xml("", (char *)b.data, "");
	path = write_book(xml, NULL);
	assert_same(path, 0, 0);
	why = fallback_of(path);
	assert_non_null(strstr(why, "nested deeper than 128"));
	free(why);
	free(xml);
	mc_buf_release(&b);

	/* 100 attributes and 300 distinct element names. */
	mc_buf_printf(&b, "<row r=\"1\"><c r=\"A1\"");
	for (int i = 0; i < 100; i++)
		mc_buf_printf(&b, " a%d=\"%d\"", i, i);
	mc_buf_printf(&b, "><v>1</v></c></row>");
	for (int i = 0; i < 300; i++)
		mc_buf_printf(&b, "<e%d/>", i);
	xml = sheet_xml("", (char *)b.data, "");
	path = write_book(xml, NULL);
	assert_same(path, 0, 0);
	free(xml);
	mc_buf_release(&b);
}

/* A fallback late in a long sheet: rows reach the callback once, in order, then libxml2's
 * message when the XML breaks. */
static int count_rows(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	uint32_t *last = ud;
	assert_true(row->row == *last + 1);
	*last = row->row;
	return 0;
}

static void test_restart(void **state)
{
	mc_buf b = MC_BUF_INIT;
	for (int r = 1; r <= 5000; r++)
		mc_buf_printf(&b, "<row r=\"%d\"><c r=\"A%d\"><v>%d.5</v></c></row>", r, r, r);
	mc_buf_printf(&b, "<!-- a comment near the end -->");
	for (int r = 5001; r <= 5010; r++)
		mc_buf_printf(&b, "<row r=\"%d\"><c r=\"A%d\"><v>%d</v></c></row>", r, r, r);
	char *xml = sheet_xml("", (char *)b.data,
			      "<mergeCells><mergeCell ref=\"A1:A3\"/></mergeCells>");
	const char *path = write_book(xml, NULL);
	mc_error err = MC_ERROR_INIT;
	mc_xlsx *x = mc_xlsx_open(path, &err);
	assert_non_null(x);
	uint32_t last = 0;
	assert_int_equal(mc_xlsx_read_sheet(x, 0, count_rows, &last, &err), MC_OK);
	assert_int_equal(last, 5010);
	assert_non_null(strstr(xl_fallback_reason(x), "comment"));
	const mc_xlsx_range *m;
	size_t n;
	assert_int_equal(mc_xlsx_merged(x, 0, &m, &n, &err), MC_OK);
	assert_int_equal(n, 1);
	mc_xlsx_free(x);
	assert_same(path, 0, 0);
	assert_same(path, 0, 4999);
	assert_same(path, 0, 5005);
	free(xml);

	/* Broken at the end: same rows, then libxml2's message with its line number. */
	b.len = 0;
	for (int r = 1; r <= 3000; r++)
		mc_buf_printf(&b, "<row r=\"%d\"><c r=\"A%d\"><v>%d</v></c></row>\n", r, r, r);
	mc_buf_printf(&b, "<row r=\"3001\"><c r=\"A3001\"><v>1</v></row>");
	xml = sheet_xml("", (char *)b.data, "");
	path = write_book(xml, NULL);
	assert_same(path, 0, 0);
	char *out = read_book(path, false, 0, 0);
	assert_non_null(strstr(out, "malformed XML in 'xl/worksheets/sheet1.xml' line 3001: "
				    "Opening and ending tag mismatch"));
	free(out);
	free(xml);
	mc_buf_release(&b);
}

/* A big shared-strings workbook, as Excel writes them: read natively, same results. */
static void test_shared_strings(void **state)
{
	mc_buf sst = MC_BUF_INIT, rows = MC_BUF_INIT;
	mc_buf_printf(&sst, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n"
			    "<sst xmlns=\"" NS "\" count=\"3000\" uniqueCount=\"3000\">");
	for (int i = 0; i < 3000; i++)
		mc_buf_printf(&sst,
			      i % 7 ? "<si><t>city %d &amp; co</t></si>"
				    : "<si><r><rPr><b/></rPr><t xml:space=\"preserve\">r%d </t></r>"
				      "<r><t>_x000D_\xc3\xb1</t></r><rPh><t>p</t></rPh></si>",
			      i);
	mc_buf_printf(&sst, "</sst>");
	for (int r = 1; r <= 1000; r++)
		mc_buf_printf(
			&rows,
			"<row r=\"%d\" spans=\"1:3\" x14ac:dyDescent=\"0.25\"><c r=\"A%d\" "
			"t=\"s\"><v>%d</v></c><c r=\"B%d\" s=\"2\"><v>%d.25</v></c><c r=\"C%d\" "
			"t=\"s\"><v>%d</v></c></row>",
			r, r, r % 3000, r, r, r, (r * 7) % 3000);
	char *xml = sheet_xml("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\r\n",
			      (char *)rows.data, "");
	const char *path = write_book(xml, (char *)sst.data);
	mc_error err = MC_ERROR_INIT;
	mc_xlsx *x = mc_xlsx_open(path, &err);
	assert_non_null(x);
	assert_string_equal(xl_fallback_reason(x), "");
	mc_xlsx_free(x);
	assert_same(path, 0, 0);
	assert_same(path, 13, 0);
	free(xml);

	/* A comment in the shared strings: libxml2 reads them, the same strings come out. */
	mc_buf_printf(&sst, "<!-- end -->");
	xml = sheet_xml("", (char *)rows.data, "");
	path = write_book(xml, (char *)sst.data);
	x = mc_xlsx_open(path, &err);
	assert_non_null(x);
	assert_non_null(strstr(xl_fallback_reason(x), "comment"));
	mc_xlsx_free(x);
	assert_same(path, 0, 0);
	free(xml);
	mc_buf_release(&sst);
	mc_buf_release(&rows);
}

/* The fast decimal path gives exactly strtod's double, and refuses what strtod refuses. */
static void test_numbers(void **state)
{
	mc_error err = MC_ERROR_INIT;
	mc_xlsx *x = mc_xlsx_open(FIX "basic.xlsx", &err);
	assert_non_null(x);
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	srand(12345);
	char s[64];
	for (int i = 0; i < 200000; i++) {
		int shape = i % 6;
		long a = rand() % 100000, b = rand() % 1000000;
		switch (shape) {
		case 0: snprintf(s, sizeof s, "%ld.%ld", a, b); break;
		case 1: snprintf(s, sizeof s, "-%ld.%06ld", a, b); break;
		case 2: snprintf(s, sizeof s, "%ld", a * 100000L + b); break;
		case 3: snprintf(s, sizeof s, "%.17g", (double)rand() / RAND_MAX * 1e6); break;
		case 4: snprintf(s, sizeof s, "%ld.%ldE%d", a % 10, b, rand() % 40 - 20); break;
		default: snprintf(s, sizeof s, "0.%09ld%ld", b, a); break;
		}
		double got = NAN, want = strtod_l(s, NULL, c);
		assert_true(xl_parse_number(x, s, &got));
		if (memcmp(&got, &want, sizeof got) != 0)
			fail_msg("'%s': %.17g, strtod %.17g", s, got, want);
	}
	static const char *const bad[] = {"",	 " ",	  ".",	     "-",   "1e",
					  "1e+", "1.2.3", "0x10",    "inf", "nan",
					  "1 2", "--1",	  "1e99999", "+-1", "1,5"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		double v;
		if (xl_parse_number(x, bad[i], &v))
			fail_msg("'%s' accepted", bad[i]);
	}
	double v;
	assert_true(xl_parse_number(x, " \t-0 \n", &v));
	assert_true(v == 0 && signbit(v));
	assert_true(xl_parse_number(x, "12345678901234567890123", &v));
	assert_true(v == strtod_l("12345678901234567890123", NULL, c));
	freelocale(c);
	mc_xlsx_free(x);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures_same), cmocka_unit_test(test_chunk_boundaries),
		cmocka_unit_test(test_fallback),      cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_hostile),	      cmocka_unit_test(test_limits),
		cmocka_unit_test(test_restart),	      cmocka_unit_test(test_shared_strings),
		cmocka_unit_test(test_numbers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
