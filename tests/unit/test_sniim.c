/* Unit tests of the SNIIM reader: the shipped workbook against DuckDB's answers, layout errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/sniim.h"

#define FIX "tests/data/xlsx/"
#define REAL "data/sniim/raw/Leche31032025.xlsx"

/* Column s of row r as a NUL-terminated copy in out. */
static const char *str_at(const mc_table *t, int col, size_t r, char *out, size_t cap)
{
	size_t n;
	const char *s = mc_column_str(&t->cols[col], r, &n);
	snprintf(out, cap, "%.*s", (int)n, s);
	return out;
}

/* Copy without leading and trailing spaces. */
static const char *trimmed(const char *s, char *out, size_t cap)
{
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	while (n && s[n - 1] == ' ')
		n--;
	snprintf(out, cap, "%.*s", (int)n, s);
	return out;
}

static mc_table *read_ok(const char *path, mc_sniim_info *info)
{
	mc_table *t = NULL;
	mc_error err = MC_ERROR_INIT;
	if (mc_sniim_read(path, &t, info, &err))
		fail_msg("%s", err.msg);
	return t;
}

static void check_schema(const mc_table *t)
{
	static const char *const names[] = {"date",  "state", "city", "milk_type", "channel",
					    "price", "raw",   "row",  "cell"};
	static const mc_type types[] = {MC_T_DATE,   MC_T_STRING, MC_T_STRING,
					MC_T_STRING, MC_T_STRING, MC_T_DOUBLE,
					MC_T_STRING, MC_T_INT32,  MC_T_STRING};
	assert_int_equal(t->ncols, MC_SNIIM_NCOLS);
	for (int i = 0; i < MC_SNIIM_NCOLS; i++) {
		assert_string_equal(t->cols[i].name, names[i]);
		assert_int_equal(t->cols[i].type, types[i]);
		assert_int_equal(t->cols[i].nullable, i == MC_SNIIM_PRICE);
	}
}

/* Per-date aggregates of our rows, indexed by day - first day. */
typedef struct day_sum {
	long rows, nonnull, zeros;
	double sum;
} day_sum;

/* One "S" line of the expected file. */
typedef struct sample {
	int32_t date;
	char state[64], city[64], type[32], channel[32];
	bool has_price;
	double price;
	bool found;
} sample;

/* Split a tab-separated line in place into at most max fields. */
static int split_tabs(char *line, char **f, int max)
{
	int n = 0;
	line[strcspn(line, "\n")] = '\0';
	for (char *p = line; n < max;) {
		f[n++] = p;
		char *tab = strchr(p, '\t');
		if (!tab)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	return n;
}

/* Compare one expected D line with our aggregates. */
static void check_day(const day_sum *days, int32_t first, char **f)
{
	int32_t d;
	assert_true(mc_date_parse_iso(f[1], &d));
	const day_sum *s = &days[d - first];
	if (s->rows != atol(f[2]) || s->nonnull != atol(f[3]) || s->zeros != atol(f[4]) ||
	    fabs(s->sum - atof(f[5])) > 1e-6)
		fail_msg("%s: rows %ld nonnull %ld zeros %ld sum %.6f; expected %s %s %s %s", f[1],
			 s->rows, s->nonnull, s->zeros, s->sum, f[2], f[3], f[4], f[5]);
}

static void parse_sample(char **f, sample *s)
{
	memset(s, 0, sizeof *s);
	assert_true(mc_date_parse_iso(f[1], &s->date));
	snprintf(s->state, sizeof s->state, "%s", f[2]);
	snprintf(s->city, sizeof s->city, "%s", f[3]);
	snprintf(s->type, sizeof s->type, "%s", f[4]);
	snprintf(s->channel, sizeof s->channel, "%s", f[5]);
	s->has_price = f[6][0] != '\0';
	s->price = s->has_price ? strtod(f[6], NULL) : 0;
}

/* Find the sample's row in our table and compare state and price. */
static void check_sample(const mc_table *t, sample *s)
{
	char city[64], type[32], ch[32], state[64], a[64], b[64];
	for (size_t r = 0; r < t->nrows; r++) {
		if (MC_COL_I32(&t->cols[MC_SNIIM_DATE])[r] != s->date ||
		    strcmp(str_at(t, MC_SNIIM_CITY, r, city, sizeof city), s->city) ||
		    strcmp(str_at(t, MC_SNIIM_MILK_TYPE, r, type, sizeof type), s->type) ||
		    strcmp(str_at(t, MC_SNIIM_CHANNEL, r, ch, sizeof ch), s->channel))
			continue;
		s->found = true;
		str_at(t, MC_SNIIM_STATE, r, state, sizeof state);
		assert_string_equal(trimmed(state, a, sizeof a), trimmed(s->state, b, sizeof b));
		const mc_column *p = &t->cols[MC_SNIIM_PRICE];
		assert_int_equal(!mc_column_is_null(p, r), s->has_price);
		double v = MC_COL_F64(p)[r];
		/* City prices exactly; averages (16 digits in the workbook) within 1e-15. */
		if (s->has_price && strncmp(s->city, "Promedio", 8) == 0)
			assert_true(fabs(v - s->price) <= 1e-15 * fabs(s->price));
		else if (s->has_price && v != s->price)
			fail_msg("%s: %.17g != %.17g", s->city, v, s->price);
	}
}

/* Aggregate our rows per date. */
static day_sum *sum_days(const mc_table *t, int32_t first, int32_t last)
{
	day_sum *days = calloc((size_t)(last - first + 1), sizeof *days);
	assert_non_null(days);
	const mc_column *p = &t->cols[MC_SNIIM_PRICE];
	for (size_t r = 0; r < t->nrows; r++) {
		day_sum *s = &days[MC_COL_I32(&t->cols[MC_SNIIM_DATE])[r] - first];
		s->rows++;
		if (mc_column_is_null(p, r))
			continue;
		s->nonnull++;
		s->zeros += MC_COL_F64(p)[r] == 0;
		s->sum += MC_COL_F64(p)[r];
	}
	return days;
}

/* The shipped workbook against tests/data/xlsx/sniim_expected.tsv (made with DuckDB). */
static void test_real_against_parquet(void **state)
{
	mc_sniim_info info;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	mc_table *t = read_ok(REAL, &info);
	clock_gettime(CLOCK_MONOTONIC, &b);
	print_message("read %s in %.1f ms\n", REAL,
		      (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
	check_schema(t);
	assert_string_equal(info.sheet, "Leche");
	assert_int_equal(info.blocks, 184);
	assert_int_equal(info.rows, 184 * 56 * 4);
	assert_int_equal(t->nrows, 41216);
	assert_int_equal(info.first_date, mc_date_from_ymd(2024, 1, 3));
	assert_int_equal(info.last_date, mc_date_from_ymd(2025, 3, 31));
	day_sum *days = sum_days(t, info.first_date, info.last_date);
	FILE *f = fopen(FIX "sniim_expected.tsv", "r");
	assert_non_null(f);
	char line[512];
	int ndays = 0, nsamples = 0;
	while (fgets(line, sizeof line, f)) {
		char *fld[8];
		int n = split_tabs(line, fld, 8);
		if (line[0] == 'D' && n == 6) {
			check_day(days, info.first_date, fld);
			ndays++;
		} else if (line[0] == 'S' && n == 7) {
			sample s;
			parse_sample(fld, &s);
			check_sample(t, &s);
			if (!s.found)
				fail_msg("no row for %s %s %s %s", fld[1], s.city, s.type,
					 s.channel);
			nsamples++;
		}
	}
	fclose(f);
	assert_int_equal(ndays, 184);
	assert_true(nsamples >= 50);
	free(days);
	mc_table_free(t);
}

/* Row r of the table as "date|state|city|type|channel|price|raw|row|cell". */
static const char *row_text(const mc_table *t, size_t r, char *out, size_t cap)
{
	char iso[11], s[5][96], price[32] = "null";
	mc_date_format_iso(MC_COL_I32(&t->cols[MC_SNIIM_DATE])[r], iso);
	if (!mc_column_is_null(&t->cols[MC_SNIIM_PRICE], r))
		snprintf(price, sizeof price, "%.17g", MC_COL_F64(&t->cols[MC_SNIIM_PRICE])[r]);
	int cols[5] = {MC_SNIIM_STATE, MC_SNIIM_CITY, MC_SNIIM_MILK_TYPE, MC_SNIIM_CHANNEL,
		       MC_SNIIM_RAW};
	for (int k = 0; k < 5; k++)
		str_at(t, cols[k], r, s[k], sizeof s[k]);
	char cell[16];
	snprintf(out, cap, "%s|%s|%s|%s|%s|%s|%s|%d|%s", iso, s[0], s[1], s[2], s[3], price, s[4],
		 MC_COL_I32(&t->cols[MC_SNIIM_ROW])[r],
		 str_at(t, MC_SNIIM_CELL, r, cell, sizeof cell));
	return out;
}

static void assert_row(const mc_table *t, size_t r, const char *want)
{
	char got[1024];
	assert_string_equal(row_text(t, r, got, sizeof got), want);
}

/* The small openpyxl workbook: quirks as written, and headers that decide the columns. */
static void test_small(void **state)
{
	mc_sniim_info info;
	mc_table *t = read_ok(FIX "sniim_small.xlsx", &info);
	check_schema(t);
	assert_int_equal(info.blocks, 2);
	assert_int_equal(t->nrows, (7 + 4) * 4);
	assert_int_equal(info.first_date, mc_date_from_ymd(2025, 3, 28));
	assert_int_equal(info.last_date, mc_date_from_ymd(2025, 3, 31));
	assert_row(t, 0,
		   "2025-03-31|Aguascalientes |Aguascalientes|Pasteurizada|Tiendas|"
		   "26.149999999999999|26.15|5|C5");
	/* State forward-filled; N.d. is null with its text kept. */
	assert_row(t, 8, "2025-03-31|Baja California|Tijuana|Pasteurizada|Tiendas|null|N.d.|7|C7");
	/* 0 stays 0. */
	assert_row(t, 12, "2025-03-31|Sonora|San Luis Río Colorado|Pasteurizada|Tiendas|0|0|8|C8");
	/* Blank cell, then a price written as text. */
	assert_row(t, 16, "2025-03-31|Veracruz|Veracruz |Pasteurizada|Tiendas|null||9|C9");
	assert_row(t, 17,
		   "2025-03-31|Veracruz|Veracruz |Pasteurizada|Autoservicios|"
		   "23.850000000000001|23.85|9|D9");
	/* Average rows: no state. */
	assert_row(t, 21,
		   "2025-03-31||Promedio aritmético|Pasteurizada|Autoservicios|"
		   "27.54975609756098|27.54975609756098|10|D10");
	/* Second block: a blank row before the headers, types and channels in another order. */
	assert_row(t, 28,
		   "2025-03-28|Aguascalientes |Aguascalientes|Ultrapasteurizada|"
		   "Autoservicios|26|26|19|C19");
	assert_row(t, 31,
		   "2025-03-28|Aguascalientes |Aguascalientes|Pasteurizada|Tiendas|32|32|19|"
		   "F19");
	assert_row(t, 34,
		   "2025-03-28|Aguascalientes |Cd.Juárez|Pasteurizada|Autoservicios|null|"
		   "N.D.|20|E20");
	assert_row(t, 43,
		   "2025-03-28||Promedio Ponderado por Población|Pasteurizada|Tiendas|"
		   "32.799999999999997|32.8|22|F22");
	mc_table_free(t);
}

static void test_second_sheet(void **state)
{
	mc_sniim_info info;
	mc_table *t = read_ok(FIX "sniim_second_sheet.xlsx", &info);
	assert_string_equal(info.sheet, "Leche");
	assert_int_equal(info.blocks, 1);
	assert_int_equal(info.rows, 28);
	assert_row(t, 0,
		   "2025-03-31|Aguascalientes |Aguascalientes|Pasteurizada|Tiendas|"
		   "26.149999999999999|26.15|7|C7");
	mc_table_free(t);
}

static void test_from_memory(void **state)
{
	mc_buf b = MC_BUF_INIT;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_buf_read_file(&b, REAL, &err), MC_OK);
	mc_table *t = NULL;
	mc_sniim_info info;
	assert_int_equal(mc_sniim_read_mem(b.data, b.len, "Leche31032025.xlsx", &t, &info, &err),
			 MC_OK);
	assert_int_equal(t->nrows, 41216);
	assert_int_equal(info.blocks, 184);
	/* Newest block first, as in the sheet. */
	assert_row(t, 0,
		   "2025-03-31|Aguascalientes |Aguascalientes|Pasteurizada|Tiendas|"
		   "26.149999999999999|26.15|5|C5");
	mc_table_free(t);
	/* A truncated copy is a clean error. */
	assert_int_equal(mc_sniim_read_mem(b.data, b.len / 2, "cut.xlsx", &t, NULL, &err),
			 MC_ERR_FORMAT);
	assert_null(t);
	mc_buf_release(&b);
}

static void test_layout_errors(void **state)
{
	static const struct {
		const char *file;
		mc_code code;
		const char *msg;
	} cases[] = {
		{"sniim_bad_date.xlsx", MC_ERR_FORMAT,
		 "cannot read 'sniim_bad_date.xlsx': sheet 'Hoja1' row 2 cell A2: expected a date "
		 "like '31 de marzo de 2025', found 'foo'"},
		{"sniim_bad_header.xlsx", MC_ERR_FORMAT,
		 "cannot read 'sniim_bad_header.xlsx': sheet 'Hoja1' row 3 cell C3: expected a "
		 "header "
		 "'Estado', 'Ciudad', 'Leche pasteurizada' or 'Leche ultrapasteurizada', found "
		 "'Leche entera'"},
		{"sniim_bad_price.xlsx", MC_ERR_FORMAT,
		 "cannot read 'sniim_bad_price.xlsx': sheet 'Hoja1' row 6 cell D6: expected a "
		 "price "
		 "or 'N.d.', found 'abc'"},
		{"sniim_bad_channels.xlsx", MC_ERR_FORMAT,
		 "cannot read 'sniim_bad_channels.xlsx': sheet 'Hoja1' row 4 cell D4: a second "
		 "'Tiendas' column under 'Leche pasteurizada'"},
		{"sniim_no_blocks.xlsx", MC_ERR_FORMAT,
		 "cannot read 'sniim_no_blocks.xlsx': no SNIIM date block (a title containing "
		 "'Precio promedio al consumidor por litro') in sheets 'Hoja1', 'Notas'"},
		{"basic.xlsx", MC_ERR_FORMAT, "in sheets 'Datos', 'Otra hoja'"},
		{"bad_notzip.xlsx", MC_ERR_FORMAT, "not a zip file"},
		{"missing.xlsx", MC_ERR_NOT_FOUND, "cannot read 'missing.xlsx': No such file"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char path[256];
		snprintf(path, sizeof path, FIX "%s", cases[i].file);
		mc_table *t = (mc_table *)1;
		mc_error err = MC_ERROR_INIT;
		mc_code rc = mc_sniim_read(path, &t, NULL, &err);
		if (rc != cases[i].code || !strstr(err.msg, cases[i].msg))
			fail_msg("%s: got %s '%s'", cases[i].file, mc_strerror(rc), err.msg);
		assert_null(t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_against_parquet), cmocka_unit_test(test_small),
		cmocka_unit_test(test_second_sheet),	     cmocka_unit_test(test_from_memory),
		cmocka_unit_test(test_layout_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
