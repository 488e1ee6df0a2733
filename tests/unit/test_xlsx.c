/* Unit tests of the xlsx reader: refs, serial dates, openpyxl and hand-made fixtures, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/xlsx.h"

#define FIX "tests/data/xlsx/"
#define REAL "data/sniim/raw/Leche31032025.xlsx"

/* Every cell of a sheet, flattened: "row|ref|type|text" lines, numbers kept aside. */
typedef struct sheet_dump {
	mc_buf lines;
	double numbers[64];
	size_t ncells, nrows, empty_rows;
	uint32_t rows[64];
	int stop_after; /* stop after this many rows (0 = never) */
} sheet_dump;

static const char *const type_letter = "_NSBE";

static int dump_row(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	sheet_dump *d = ud;
	if (d->nrows < 64)
		d->rows[d->nrows] = row->row;
	d->nrows++;
	d->empty_rows += row->ncells == 0;
	for (size_t i = 0; i < row->ncells; i++) {
		const mc_xlsx_cell *c = &row->cells[i];
		char ref[12];
		mc_xlsx_cell_ref(row->row, c->col, ref);
		assert_int_equal(strlen(c->text), c->len);
		if (i)
			assert_true(c->col > row->cells[i - 1].col);
		mc_buf_printf(&d->lines, "%s|%c|%s\n", ref, type_letter[c->type], c->text);
		if (d->ncells < 64)
			d->numbers[d->ncells] = c->number;
		d->ncells++;
	}
	return d->stop_after && (int)d->nrows >= d->stop_after ? MC_XLSX_STOP : 0;
}

/* True when the dump has exactly this "REF|T|text" line. */
static bool has_line(const sheet_dump *d, const char *line)
{
	char want[256];
	snprintf(want, sizeof want, "%s\n", line);
	const char *text = (const char *)d->lines.data;
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, want, strlen(want)) == 0)
			return true;
	return false;
}

static void read_dump(mc_xlsx *x, size_t sheet, sheet_dump *d)
{
	mc_error err = MC_ERROR_INIT;
	memset(d, 0, sizeof *d);
	mc_buf_init(&d->lines, 0);
	mc_code rc = mc_xlsx_read_sheet(x, sheet, dump_row, d, &err);
	if (rc)
		fail_msg("%s", err.msg);
}

static void assert_has(const sheet_dump *d, const char *line)
{
	if (!has_line(d, line))
		fail_msg("missing '%s' in:\n%s", line, d->lines.data ? (char *)d->lines.data : "");
}

static mc_xlsx *open_ok(const char *path)
{
	mc_error err = MC_ERROR_INIT;
	mc_xlsx *x = mc_xlsx_open(path, &err);
	if (!x)
		fail_msg("%s", err.msg);
	return x;
}

static void test_refs(void **state)
{
	static const struct {
		uint32_t row, col;
		const char *ref;
	} cases[] = {{1, 0, "A1"},
		     {57, 2, "C57"},
		     {1, 25, "Z1"},
		     {1, 26, "AA1"},
		     {9, 701, "ZZ9"},
		     {9, 702, "AAA9"},
		     {1048576, 16383, "XFD1048576"}};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char out[12];
		uint32_t r, c;
		mc_xlsx_cell_ref(cases[i].row, cases[i].col, out);
		assert_string_equal(out, cases[i].ref);
		assert_true(mc_xlsx_parse_ref(cases[i].ref, &r, &c));
		assert_int_equal(r, cases[i].row);
		assert_int_equal(c, cases[i].col);
	}
	static const char *const bad[] = {"",	"A",	 "1",	"A0",	    "A01",	 "XFE1",
					  "1A", "AAAA1", "A1:", "A1048577", "A99999999", "A-1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		uint32_t r, c;
		if (mc_xlsx_parse_ref(bad[i], &r, &c))
			fail_msg("'%s' accepted", bad[i]);
	}
	uint32_t r, c;
	assert_true(mc_xlsx_parse_ref("c57", &r, &c));
	assert_int_equal(c, 2);
}

static void test_serial_dates(void **state)
{
	int32_t d;
	assert_true(mc_xlsx_serial_to_days(1, false, &d));
	assert_int_equal(d, mc_date_from_ymd(1900, 1, 1));
	assert_true(mc_xlsx_serial_to_days(59, false, &d));
	assert_int_equal(d, mc_date_from_ymd(1900, 2, 28));
	assert_false(mc_xlsx_serial_to_days(60, false, &d)); /* Excel's 1900-02-29 */
	assert_true(mc_xlsx_serial_to_days(61, false, &d));
	assert_int_equal(d, mc_date_from_ymd(1900, 3, 1));
	assert_true(mc_xlsx_serial_to_days(45747.75, false, &d));
	assert_int_equal(d, mc_date_from_ymd(2025, 3, 31));
	assert_true(mc_xlsx_serial_to_days(25569, false, &d));
	assert_int_equal(d, 0);
	assert_true(mc_xlsx_serial_to_days(2958465, false, &d));
	assert_int_equal(d, mc_date_from_ymd(9999, 12, 31));
	assert_false(mc_xlsx_serial_to_days(2958466, false, &d));
	assert_false(mc_xlsx_serial_to_days(0, false, &d));
	assert_false(mc_xlsx_serial_to_days(-5, false, &d));
	assert_false(mc_xlsx_serial_to_days(NAN, false, &d));
	assert_true(mc_xlsx_serial_to_days(0, true, &d));
	assert_int_equal(d, mc_date_from_ymd(1904, 1, 1));
	assert_true(mc_xlsx_serial_to_days(44285, true, &d));
	assert_int_equal(d, mc_date_from_ymd(2025, 3, 31));
	assert_true(mc_xlsx_serial_to_days(2957003, true, &d));
	assert_int_equal(d, mc_date_from_ymd(9999, 12, 31));
	assert_false(mc_xlsx_serial_to_days(-1, true, &d));
}

/* The openpyxl workbook: inline strings, numbers, booleans, a date, a formula, sparse rows, merges.
 */
static void check_basic(mc_xlsx *x)
{
	assert_int_equal(mc_xlsx_sheet_count(x), 2);
	assert_string_equal(mc_xlsx_sheet_name(x, 0), "Datos");
	assert_string_equal(mc_xlsx_sheet_name(x, 1), "Otra hoja");
	assert_null(mc_xlsx_sheet_name(x, 2));
	assert_int_equal(mc_xlsx_sheet_find(x, "Otra hoja"), 1);
	assert_int_equal(mc_xlsx_sheet_find(x, "otra hoja"), -1);
	assert_false(mc_xlsx_date1904(x));
	sheet_dump d;
	read_dump(x, 0, &d);
	assert_has(&d, "A1|S|Texto");
	assert_has(&d, "B1|N|42");
	assert_has(&d, "C1|N|3.5");
	assert_has(&d, "D1|B|TRUE");
	assert_has(&d, "E1|N|45747");
	assert_has(&d, "F1|_|");
	assert_has(&d, "A2|S|  espacios  ");
	assert_has(&d, "B2|B|FALSE");
	assert_has(&d, "A3|S|Ñandú ümlaut");
	assert_has(&d, "C3|N|-0.25");
	assert_has(&d, "D5|N|0.001");
	assert_has(&d, "A7|S|merged");
	assert_has(&d, "B9|S|Texto");
	assert_int_equal(d.ncells, 14);
	assert_true(d.numbers[1] == 42 && d.numbers[2] == 3.5 && d.numbers[3] == 1);
	int32_t day;
	assert_true(mc_xlsx_serial_to_days(d.numbers[4], false, &day));
	assert_int_equal(day, mc_date_from_ymd(2025, 3, 31));
	/* Rows 4 and 6 are absent, not delivered; openpyxl writes 8 and 10 empty (merge area). */
	assert_int_equal(d.nrows, 8);
	assert_int_equal(d.empty_rows, 2);
	assert_int_equal(d.rows[3], 5);
	assert_int_equal(d.rows[5], 8);
	mc_buf_release(&d.lines);

	const mc_xlsx_range *m;
	size_t n;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xlsx_merged(x, 0, &m, &n, &err), MC_OK);
	assert_int_equal(n, 2);
	assert_true(m[0].row1 == 7 && m[0].col1 == 0 && m[0].row2 == 7 && m[0].col2 == 2);
	assert_true(m[1].row1 == 8 && m[1].col1 == 4 && m[1].row2 == 10 && m[1].col2 == 4);
	/* Sheet 1 was never read: merged() does its own pass. */
	assert_int_equal(mc_xlsx_merged(x, 1, &m, &n, &err), MC_OK);
	assert_int_equal(n, 0);
	assert_int_equal(mc_xlsx_merged(x, 7, &m, &n, &err), MC_ERR_INVALID);
}

static void test_basic(void **state)
{
	mc_xlsx *x = open_ok(FIX "basic.xlsx");
	assert_string_equal(mc_xlsx_name(x), "basic.xlsx");
	check_basic(x);
	mc_xlsx_free(x);
}

static void test_open_mem(void **state)
{
	mc_buf b = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_buf_read_file(&b, FIX "basic.xlsx", &err), MC_OK);
	mc_xlsx *x = mc_xlsx_open_mem(b.data, b.len, "upload.xlsx", &err);
	assert_non_null(x);
	assert_string_equal(mc_xlsx_name(x), "upload.xlsx");
	check_basic(x);
	mc_xlsx_free(x);
	mc_buf_release(&b);
}

static void test_date1904(void **state)
{
	mc_xlsx *x = open_ok(FIX "date1904.xlsx");
	assert_true(mc_xlsx_date1904(x));
	sheet_dump d;
	read_dump(x, 0, &d);
	int32_t day;
	assert_true(mc_xlsx_serial_to_days(d.numbers[0], true, &day));
	assert_int_equal(day, mc_date_from_ymd(2025, 3, 31));
	assert_true(mc_xlsx_serial_to_days(d.numbers[1], true, &day));
	assert_int_equal(day, mc_date_from_ymd(1904, 1, 1));
	mc_buf_release(&d.lines);
	mc_xlsx_free(x);
}

/* Hand-made package: inline and rich strings, escapes, prefixed XML, odd relationship targets. */
static void test_handmade(void **state)
{
	mc_xlsx *x = open_ok(FIX "handmade.xlsx");
	assert_int_equal(mc_xlsx_sheet_count(x), 4);
	assert_string_equal(mc_xlsx_sheet_name(x, 2), "Sub dir");
	assert_string_equal(mc_xlsx_sheet_name(x, 3), "Gráfico");
	sheet_dump d;
	read_dump(x, 0, &d);
	assert_has(&d, "A1|S|prefixed");
	assert_has(&d, "A2|S|rich inline");
	assert_has(&d, "B2|S|ab");
	assert_has(&d, "C2|B|TRUE");
	assert_has(&d, "D2|B|FALSE");
	assert_has(&d, "E2|E|#N/A");
	assert_has(&d, "F2|N|1E-3");
	assert_has(&d, "G2|N|-12.5");
	assert_has(&d, "H2|_|");
	assert_has(&d, "I2|S|Rich text");
	assert_has(&d, "J2|S|line\r");
	assert_has(&d, "break_x0041_");
	assert_has(&d, "K2|S|");
	assert_has(&d, "L2|S|  Veracruz  ");
	assert_has(&d, "M2|S|<cdata & more>");
	assert_has(&d, "N2|S|A & B é€");
	assert_true(d.numbers[6] == 1e-3 && d.numbers[7] == -12.5);
	mc_buf_release(&d.lines);

	/* Rows and cells without r; an empty row; the last column and row. */
	read_dump(x, 1, &d);
	assert_has(&d, "A1|N|1");
	assert_has(&d, "B1|N|2");
	assert_has(&d, "C5|N|3");
	assert_has(&d, "D5|N|4");
	assert_has(&d, "XFD8|S|last column");
	assert_has(&d, "A1048576|N|9");
	assert_int_equal(d.nrows, 5);
	assert_int_equal(d.empty_rows, 1);
	assert_int_equal(d.rows[2], 7);
	assert_int_equal(d.rows[3], 8);
	mc_buf_release(&d.lines);

	/* "../xl/other/s%203.xml" resolved; merges by their own pass. */
	const mc_xlsx_range *m;
	size_t n;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xlsx_merged(x, 2, &m, &n, &err), MC_OK);
	assert_int_equal(n, 2);
	assert_true(m[1].row1 == 2 && m[1].col1 == 1 && m[1].row2 == 4 && m[1].col2 == 1);
	read_dump(x, 2, &d);
	assert_has(&d, "B2|S|plain");
	mc_buf_release(&d.lines);

	assert_int_equal(mc_xlsx_read_sheet(x, 3, dump_row, &d, &err), MC_ERR_UNSUPPORTED);
	assert_non_null(strstr(err.msg, "sheet 'Gráfico' is not a worksheet"));
	mc_xlsx_free(x);
}

static void test_stop_and_callback_error(void **state)
{
	mc_xlsx *x = open_ok(FIX "basic.xlsx");
	sheet_dump d;
	memset(&d, 0, sizeof d);
	d.stop_after = 2;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xlsx_read_sheet(x, 0, dump_row, &d, &err), MC_OK);
	assert_int_equal(d.nrows, 2);
	mc_buf_release(&d.lines);
	/* A stopped read does not know the merges: merged() reads them itself. */
	const mc_xlsx_range *m;
	size_t n;
	assert_int_equal(mc_xlsx_merged(x, 0, &m, &n, &err), MC_OK);
	assert_int_equal(n, 2);
	mc_xlsx_free(x);
}

static int refuse_row3(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	if (row->row < 3)
		return 0;
	return mc_fail(err, MC_ERR_FORMAT, "sheet '%s' row %u: not wanted", row->sheet, row->row);
}

static void test_callback_error(void **state)
{
	mc_xlsx *x = open_ok(FIX "basic.xlsx");
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xlsx_read_sheet(x, 0, refuse_row3, NULL, &err), MC_ERR_FORMAT);
	assert_string_equal(err.msg, "cannot read 'basic.xlsx': sheet 'Datos' row 3: not wanted");
	mc_xlsx_free(x);
}

/* The shipped SNIIM workbook read as plain cells. */
static int count_cells(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	size_t *n = ud;
	n[0] += row->ncells;
	n[1]++;
	return 0;
}

static void test_real_workbook(void **state)
{
	mc_xlsx *x = open_ok(REAL);
	assert_int_equal(mc_xlsx_sheet_count(x), 1);
	assert_string_equal(mc_xlsx_sheet_name(x, 0), "Leche");
	size_t n[2] = {0, 0};
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_xlsx_read_sheet(x, 0, count_cells, n, &err), MC_OK);
	assert_int_equal(n[0], 59432);
	/* 184 blocks of 62 rows, less the blank separator rows the writer left out. */
	assert_int_equal(n[1], 184 * 61);
	const mc_xlsx_range *m;
	size_t nm;
	assert_int_equal(mc_xlsx_merged(x, 0, &m, &nm, &err), MC_OK);
	assert_int_equal(nm, 3864);
	/* A cap below the sheet's size refuses it. */
	mc_xlsx_set_max_part(x, 100000);
	assert_int_equal(mc_xlsx_read_sheet(x, 0, count_cells, n, &err), MC_ERR_LIMIT);
	assert_non_null(strstr(err.msg, "over the 100000-byte limit"));
	mc_xlsx_free(x);

	/* A header that lies about the size is caught while inflating. */
	x = open_ok(FIX "bad_liar.xlsx");
	mc_xlsx_set_max_part(x, 100000);
	n[0] = n[1] = 0;
	assert_int_equal(mc_xlsx_read_sheet(x, 0, count_cells, n, &err), MC_ERR_LIMIT);
	assert_string_equal(err.msg,
			    "cannot read 'bad_liar.xlsx': sheet 'Hoja1': part "
			    "'xl/worksheets/sheet1.xml' inflates past the 100000-byte limit");
	assert_true(n[1] < 5000);
	mc_xlsx_set_max_part(x, 0);
	n[0] = n[1] = 0;
	assert_int_equal(mc_xlsx_read_sheet(x, 0, count_cells, n, &err), MC_OK);
	assert_int_equal(n[1], 5000);
	mc_xlsx_free(x);
}

/* Expected failure of opening (sheet < 0) or of reading one sheet. */
typedef struct bad_case {
	const char *file;
	int sheet;
	mc_code code;
	const char *msg;
} bad_case;

static const bad_case bad_cases[] = {
	{"bad_notzip.xlsx", -1, MC_ERR_FORMAT,
	 "cannot read 'bad_notzip.xlsx': not a zip file (truncated, or not an xlsx workbook)"},
	{"bad_empty.xlsx", -1, MC_ERR_FORMAT, "empty file, not an xlsx workbook"},
	{"bad_ole.xlsx", -1, MC_ERR_UNSUPPORTED, "legacy .xls or password-protected"},
	{"bad_no_workbook.xlsx", -1, MC_ERR_FORMAT,
	 "not an xlsx workbook: no part 'xl/workbook.xml'"},
	{"bad_workbook_xml.xlsx", -1, MC_ERR_FORMAT,
	 "cannot read 'bad_workbook_xml.xlsx': malformed XML in 'xl/workbook.xml' line 2:"},
	{"bad_sst_xml.xlsx", -1, MC_ERR_FORMAT,
	 "malformed XML in 'xl/sharedStrings.xml' line 1: Opening and ending tag mismatch"},
	{"no_such_file.xlsx", -1, MC_ERR_NOT_FOUND,
	 "cannot read 'no_such_file.xlsx': No such file"},
	{"", -1, MC_ERR_IO, "is a directory"},
	{"bad_missing_sheet.xlsx", 0, MC_ERR_FORMAT,
	 "sheet 'Hoja1': missing part 'xl/worksheets/sheet1.xml'"},
	{"bad_xml.xlsx", 0, MC_ERR_FORMAT,
	 "sheet 'Hoja1': malformed XML in 'xl/worksheets/sheet1.xml' line 2: Opening and ending "
	 "tag "
	 "mismatch: c line 2 and row"},
	{"bad_bomb.xlsx", 0, MC_ERR_LIMIT,
	 "part 'xl/worksheets/sheet1.xml' declares 314572800 bytes uncompressed, over the "
	 "268435456-byte limit"},
	{"bad_doctype.xlsx", 0, MC_ERR_FORMAT, "has a DOCTYPE, which xlsx parts never have"},
	{"bad_crc.xlsx", 0, MC_ERR_FORMAT,
	 "corrupt zip entry 'xl/worksheets/sheet1.xml': CRC error"},
	{"bad_cells.xlsx", 0, MC_ERR_FORMAT,
	 "cannot read 'bad_cells.xlsx': sheet 'sst' row 1 cell A1: shared string index 2 out of "
	 "range (the workbook has 2)"},
	{"bad_cells.xlsx", 1, MC_ERR_FORMAT, "sheet 'col' row 1: invalid cell reference 'XFE1'"},
	{"bad_cells.xlsx", 2, MC_ERR_FORMAT, "sheet 'row': invalid row number '1048577'"},
	{"bad_cells.xlsx", 3, MC_ERR_FORMAT,
	 "sheet 'order' row 1 cell A1: comes after cell B1 (cells out of order)"},
	{"bad_cells.xlsx", 4, MC_ERR_FORMAT, "sheet 'other row' row 1: cell reference 'A2' is not"},
	{"bad_cells.xlsx", 5, MC_ERR_FORMAT, "sheet 'number' row 1 cell C1: invalid number 'abc'"},
	{"bad_cells.xlsx", 6, MC_ERR_FORMAT, "sheet 'bool' row 1 cell A1: invalid boolean '2'"},
	{"bad_cells.xlsx", 7, MC_ERR_FORMAT, "sheet 'type' row 1 cell A1: unknown cell type 'zz'"},
	{"bad_cells.xlsx", 8, MC_ERR_LIMIT, "sheet 'huge' row 1 cell A1: cell text longer than"},
	{"bad_cells.xlsx", 9, MC_ERR_FORMAT, "sheet 'rows' row 2: comes after row 3"},
};

/* Run one bad case; returns the code. */
static mc_code run_bad(const bad_case *c, mc_error *err)
{
	char path[256];
	snprintf(path, sizeof path, FIX "%s", c->file);
	mc_xlsx *x = mc_xlsx_open(path, err);
	if (!x)
		return err->code;
	sheet_dump d;
	memset(&d, 0, sizeof d);
	mc_code rc = mc_xlsx_read_sheet(x, (size_t)c->sheet, dump_row, &d, err);
	mc_buf_release(&d.lines);
	mc_xlsx_free(x);
	return rc;
}

static void test_bad_inputs(void **state)
{
	/* Watch stderr: libxml2 must not print anything. */
	char tmpl[] = "/tmp/mc_xlsx_stderr.XXXXXX";
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		const bad_case *c = &bad_cases[i];
		mc_error err = MC_ERROR_INIT;
		mc_code rc = run_bad(c, &err);
		if (rc != c->code || !strstr(err.msg, c->msg)) {
			dup2(saved, 2);
			fail_msg("%s sheet %d: got %s '%s', want %s '%s'", c->file, c->sheet,
				 mc_strerror(rc), err.msg, mc_strerror(c->code), c->msg);
		}
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	off_t size = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(tmpl);
	assert_int_equal(size, 0);
}

/* Open and read every sheet of bytes; the result must be OK or a clean error. */
static mc_code try_bytes(const uint8_t *p, size_t n, mc_error *err)
{
	mc_xlsx *x = mc_xlsx_open_mem(p, n, "cut.xlsx", err);
	if (!x)
		return err->code;
	mc_code rc = MC_OK;
	for (size_t i = 0; rc == MC_OK && i < mc_xlsx_sheet_count(x); i++) {
		size_t cells[2] = {0, 0};
		rc = mc_xlsx_read_sheet(x, i, count_cells, cells, err);
	}
	mc_xlsx_free(x);
	return rc;
}

static void test_truncated_and_corrupt(void **state)
{
	mc_buf b = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_buf_read_file(&b, REAL, &err), MC_OK);
	size_t lens[] = {0,    1,	  4,	     21,	  22,	      100,
			 1000, b.len / 3, b.len / 2, b.len - 100, b.len - 22, b.len - 1};
	for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
		mc_error e = MC_ERROR_INIT;
		mc_code rc = try_bytes(b.data, lens[i], &e);
		if (rc != MC_ERR_FORMAT || strncmp(e.msg, "cannot read 'cut.xlsx': ", 24) != 0)
			fail_msg("length %zu: %s '%s'", lens[i], mc_strerror(rc), e.msg);
	}
	/* Flip bytes across the archive: never a crash, never an unexplained error. */
	uint8_t *copy = malloc(b.len);
	assert_non_null(copy);
	for (size_t k = 1; k < 40; k++) {
		memcpy(copy, b.data, b.len);
		size_t at = b.len * k / 40;
		copy[at] ^= 0x5A;
		mc_error e = MC_ERROR_INIT;
		mc_code rc = try_bytes(copy, b.len, &e);
		if (rc != MC_OK &&
		    (rc == MC_ERR_NOMEM || strncmp(e.msg, "cannot read 'cut.xlsx': ", 24)))
			fail_msg("flip at %zu: %s '%s'", at, mc_strerror(rc), e.msg);
	}
	free(copy);
	mc_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_serial_dates),
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_open_mem),
		cmocka_unit_test(test_date1904),
		cmocka_unit_test(test_handmade),
		cmocka_unit_test(test_stop_and_callback_error),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_real_workbook),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_truncated_and_corrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
