/* Debugging and timing tool: list sheets, dump a sheet's cells or the SNIIM rows as TSV. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milkcast/date.h"
#include "milkcast/sniim.h"
#include "milkcast/xlsx.h"
#include "xlsx/xlsx_int.h"

static const char *const usage =
	"usage: bench_xlsxdump FILE                 list the sheets\n"
	"       bench_xlsxdump FILE SHEET           cells of SHEET (name or 0-based index) as TSV\n"
	"       bench_xlsxdump --merged FILE SHEET  merged ranges of SHEET\n"
	"       bench_xlsxdump --sniim FILE         SNIIM rows as TSV\n"
	"       bench_xlsxdump --time N FILE        read the SNIIM rows N times, print timings\n"
	"       bench_xlsxdump --slow ...           any of the above with libxml2 only (no fast "
	"path)\n";

/* --slow: every part through libxml2, to compare with the fast tokenizer. */
static bool slow;

static mc_xlsx *open_book(const char *path, mc_error *err)
{
	return slow ? xl_open_slow(path, err) : mc_xlsx_open(path, err);
}

static const char *const type_names[] = {"blank", "number", "string", "bool", "error"};

/* Print text with tabs, newlines and backslashes escaped so each record stays one line. */
static void put_field(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\t' || c == '\n' || c == '\r' || c == '\\')
			printf("\\%c", c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\');
		else
			putchar(c);
	}
}

static int print_row(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	for (size_t i = 0; i < row->ncells; i++) {
		const mc_xlsx_cell *c = &row->cells[i];
		char ref[12];
		mc_xlsx_cell_ref(row->row, c->col, ref);
		printf("%u\t%s\t%s\t", row->row, ref, type_names[c->type]);
		put_field(c->text, c->len);
		putchar('\n');
	}
	return 0;
}

static int find_sheet(const mc_xlsx *x, const char *arg)
{
	int i = mc_xlsx_sheet_find(x, arg);
	if (i >= 0)
		return i;
	char *end;
	long v = strtol(arg, &end, 10);
	return *end == '\0' && v >= 0 && (size_t)v < mc_xlsx_sheet_count(x) ? (int)v : -1;
}

static int dump_sheet(const char *path, const char *sheet, bool merged)
{
	mc_error err = MC_ERROR_INIT;
	mc_xlsx *x = open_book(path, &err);
	if (!x) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	int i = sheet ? find_sheet(x, sheet) : -1;
	if (!sheet) {
		for (size_t k = 0; k < mc_xlsx_sheet_count(x); k++)
			printf("%zu\t%s\n", k, mc_xlsx_sheet_name(x, k));
	} else if (i < 0) {
		fprintf(stderr, "no sheet '%s'\n", sheet);
	} else if (merged) {
		const mc_xlsx_range *r;
		size_t n;
		if (mc_xlsx_merged(x, (size_t)i, &r, &n, &err) == MC_OK)
			for (size_t k = 0; k < n; k++) {
				char a[12], b[12];
				mc_xlsx_cell_ref(r[k].row1, r[k].col1, a);
				mc_xlsx_cell_ref(r[k].row2, r[k].col2, b);
				printf("%s:%s\n", a, b);
			}
	} else {
		mc_xlsx_read_sheet(x, (size_t)i, print_row, NULL, &err);
	}
	mc_xlsx_free(x);
	if (err.code)
		fprintf(stderr, "%s\n", err.msg);
	return err.code || (sheet && i < 0) ? 1 : 0;
}

static void print_sniim(const mc_table *t)
{
	printf("date\tstate\tcity\tmilk_type\tchannel\tprice\traw\trow\tcell\n");
	for (size_t r = 0; r < t->nrows; r++) {
		for (int k = 0; k < MC_SNIIM_NCOLS; k++) {
			const mc_column *c = &t->cols[k];
			char iso[11];
			size_t n;
			if (k)
				putchar('\t');
			if (mc_column_is_null(c, r))
				continue;
			if (c->type == MC_T_DATE) {
				mc_date_format_iso(MC_COL_I32(c)[r], iso);
				fputs(iso, stdout);
			} else if (c->type == MC_T_INT32) {
				printf("%d", MC_COL_I32(c)[r]);
			} else if (c->type == MC_T_DOUBLE) {
				printf("%.17g", MC_COL_F64(c)[r]);
			} else {
				const char *s = mc_column_str(c, r, &n);
				put_field(s, n);
			}
		}
		putchar('\n');
	}
}

/* mc_sniim_read(), honouring --slow; *why gets the fast path's fallback reason, if any. */
static mc_code read_sniim(const char *path, mc_table **t, mc_sniim_info *info, char *why,
			  size_t cap, mc_error *err)
{
	mc_xlsx *x = open_book(path, err);
	if (!x)
		return err->code;
	mc_code rc = mc_sniim_read_xlsx(x, t, info, err);
	snprintf(why, cap, "%s", xl_fallback_reason(x));
	mc_xlsx_free(x);
	return rc;
}

static int dump_sniim(const char *path, int repeat)
{
	double best = 1e9, total = 0;
	char why[128] = "";
	for (int i = 0; i < (repeat > 0 ? repeat : 1); i++) {
		mc_error err = MC_ERROR_INIT;
		mc_table *t;
		mc_sniim_info info;
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		mc_code rc = read_sniim(path, &t, &info, why, sizeof why, &err);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (rc) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		double ms =
			(double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		best = ms < best ? ms : best;
		total += ms;
		if (repeat <= 0)
			print_sniim(t);
		else if (i == repeat - 1)
			printf("sheet '%s': %d blocks, %zu rows; %d reads (%s): best %.2f ms, mean "
			       "%.2f ms\n",
			       info.sheet, info.blocks, info.rows, repeat,
			       slow	? "libxml2"
			       : why[0] ? why
					: "fast path",
			       best, total / repeat);
		mc_table_free(t);
	}
	return 0;
}

static int count_cells(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	*(size_t *)ud += row->ncells;
	return 0;
}

static double ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* Open the workbook (shared strings included) and stream one sheet, repeat times. */
static int time_cells(const char *path, const char *sheet, int repeat)
{
	double best = 1e9, total = 0;
	size_t cells = 0;
	char why[128] = "";
	for (int i = 0; i < repeat; i++) {
		mc_error err = MC_ERROR_INIT;
		struct timespec a;
		clock_gettime(CLOCK_MONOTONIC, &a);
		mc_xlsx *x = open_book(path, &err);
		int k = x ? find_sheet(x, sheet) : -1;
		cells = 0;
		mc_code rc = k < 0 ? MC_ERR_NOT_FOUND
				   : mc_xlsx_read_sheet(x, (size_t)k, count_cells, &cells, &err);
		snprintf(why, sizeof why, "%s", x ? xl_fallback_reason(x) : "");
		mc_xlsx_free(x);
		double ms = ms_since(&a);
		if (rc) {
			fprintf(stderr, "%s\n", err.code ? err.msg : "no such sheet");
			return 1;
		}
		best = ms < best ? ms : best;
		total += ms;
	}
	printf("%zu cells; %d reads (%s): best %.2f ms, mean %.2f ms\n", cells, repeat,
	       slow	? "libxml2"
	       : why[0] ? why
			: "fast path",
	       best, total / repeat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--slow") == 0) {
		slow = true;
		argv++;
		argc--;
	}
	if (argc == 3 && strcmp(argv[1], "--sniim") == 0)
		return dump_sniim(argv[2], 0);
	if (argc == 4 && strcmp(argv[1], "--time") == 0)
		return dump_sniim(argv[3], atoi(argv[2]) > 0 ? atoi(argv[2]) : 1);
	if (argc == 5 && strcmp(argv[1], "--cells") == 0)
		return time_cells(argv[3], argv[4], atoi(argv[2]) > 0 ? atoi(argv[2]) : 1);
	if (argc == 4 && strcmp(argv[1], "--merged") == 0)
		return dump_sheet(argv[2], argv[3], true);
	if ((argc == 2 || argc == 3) && argv[1][0] != '-')
		return dump_sheet(argv[1], argc == 3 ? argv[2] : NULL, false);
	fputs(usage, stderr);
	return 2;
}
