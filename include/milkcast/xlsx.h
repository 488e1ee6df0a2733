/*
 * A streaming reader of .xlsx workbooks: lists the sheets and delivers a
 * sheet's cells row by row to a callback, never building a tree of the sheet.
 *
 * Open a workbook from a path or from memory, then read any sheet by index
 * (0-based, workbook order).  Cells arrive in row order, each row with its
 * present cells in column order; absent rows and cells are not delivered
 * (a sparse row of "A1, D1" gives two cells).  Dates stay numbers: convert
 * them with mc_xlsx_serial_to_days().  Merged ranges are kept after a sheet
 * has been read to its end, or computed on demand by mc_xlsx_merged().
 *
 * Every error message starts with "cannot read 'NAME': " where NAME is the
 * file's base name (or the name given to mc_xlsx_open_mem), then says where:
 * "sheet 'Hoja1' row 57 cell C57: shared string index 9 out of range".
 * The reader never prints and never exits.  An mc_xlsx is not thread-safe;
 * distinct handles may be used from distinct threads.
 */
#ifndef MILKCAST_XLSX_H
#define MILKCAST_XLSX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

/* Sheet bounds of Excel 2007+: columns A..XFD, rows 1..1048576. */
#define MC_XLSX_MAX_COLS 16384u
#define MC_XLSX_MAX_ROWS 1048576u
/* Default cap on the uncompressed size of one zip part (zip bomb guard). */
#define MC_XLSX_MAX_PART_DEFAULT ((size_t)256 << 20)
/* Cap on the text of one cell or one shared string. */
#define MC_XLSX_MAX_TEXT ((size_t)1 << 20)

typedef struct mc_xlsx mc_xlsx;

typedef enum mc_xlsx_type {
	MC_XLSX_BLANK,	/* a <c> without a value: style only, empty <v>, formula not computed */
	MC_XLSX_NUMBER, /* numeric cell (t="n" or no t); dates are numbers too */
	MC_XLSX_STRING, /* shared string, inline string, formula string or t="d" text */
	MC_XLSX_BOOL,	/* t="b": text "TRUE"/"FALSE", number 1/0 */
	MC_XLSX_ERROR,	/* t="e": text such as "#N/A" */
} mc_xlsx_type;

typedef struct mc_xlsx_cell {
	uint32_t col; /* 0-based column: A = 0 … XFD = 16383 */
	mc_xlsx_type type;
	const char *text; /* never NULL, NUL-terminated; numbers as written ("23.85") */
	size_t len;	  /* bytes in text */
	double number;	  /* NUMBER: the value; BOOL: 0 or 1; otherwise 0 */
	uint32_t style;	  /* the s attribute (cellXfs index), 0 when absent */
} mc_xlsx_cell;

/* One row as delivered to the callback; valid only during the call. */
typedef struct mc_xlsx_row {
	const char *sheet;	   /* the sheet's name, for messages */
	uint32_t row;		   /* 1-based row number */
	size_t ncells;		   /* may be 0 for a present but empty row */
	const mc_xlsx_cell *cells; /* strictly increasing col */
} mc_xlsx_row;

/* Callback return: 0 continues; MC_XLSX_STOP ends the read with MC_OK. */
#define MC_XLSX_STOP (-1)

/*
 * Called once per row.  Return 0 to go on, MC_XLSX_STOP to stop cleanly, or
 * a positive mc_code after filling err (for example "sheet 'Hoja1' row 3
 * cell A3: expected a date"): the read stops and returns that code with
 * "cannot read 'NAME': " put in front of the message.
 */
typedef int (*mc_xlsx_row_fn)(const mc_xlsx_row *row, void *userdata, mc_error *err);

/* A merged range, inclusive, 1-based rows and 0-based columns like cells. */
typedef struct mc_xlsx_range {
	uint32_t row1, col1, row2, col2;
} mc_xlsx_range;

/*
 * Open a workbook: reads the package relationships, the workbook part, its
 * relationships and the shared strings.  NULL on failure with err set:
 * MC_ERR_NOT_FOUND (no such file), MC_ERR_IO, MC_ERR_FORMAT (not a zip, not
 * a workbook, malformed XML), MC_ERR_UNSUPPORTED (legacy .xls, encrypted),
 * MC_ERR_LIMIT (a part beyond the size cap), MC_ERR_NOMEM.
 */
mc_xlsx *mc_xlsx_open(const char *path, mc_error *err);
/* The same from bytes the caller keeps alive and unchanged until mc_xlsx_free(). */
mc_xlsx *mc_xlsx_open_mem(const void *data, size_t len, const char *name, mc_error *err);
void mc_xlsx_free(mc_xlsx *x);
/* Change the uncompressed-size cap for parts read from now on (0 = default). */
void mc_xlsx_set_max_part(mc_xlsx *x, size_t bytes);

/* The name used in messages ("Leche31032025.xlsx"). */
const char *mc_xlsx_name(const mc_xlsx *x);
size_t mc_xlsx_sheet_count(const mc_xlsx *x);
/* NULL when index is out of range. */
const char *mc_xlsx_sheet_name(const mc_xlsx *x, size_t index);
/* Index of the sheet with that exact name, or -1. */
int mc_xlsx_sheet_find(const mc_xlsx *x, const char *name);
/* True when the workbook uses the 1904 date system (workbookPr date1904). */
bool mc_xlsx_date1904(const mc_xlsx *x);

/*
 * Stream sheet `index` to fn.  Returns MC_OK at the end of the sheet or
 * when fn returned MC_XLSX_STOP.  Chart sheets give MC_ERR_UNSUPPORTED.  A
 * failure found late (corrupt entry, malformed XML) comes after the rows
 * before it were delivered: discard what was built from them.
 */
mc_code mc_xlsx_read_sheet(mc_xlsx *x, size_t index, mc_xlsx_row_fn fn, void *userdata,
			   mc_error *err);

/*
 * The merged ranges of sheet `index`, in document order.  Known without new
 * work after mc_xlsx_read_sheet() read that sheet to its end; otherwise this
 * call parses the sheet once more, skipping its cells.  The array belongs to
 * the workbook and lives until mc_xlsx_free().
 */
mc_code mc_xlsx_merged(mc_xlsx *x, size_t index, const mc_xlsx_range **ranges, size_t *n,
		       mc_error *err);

/* Format a cell reference, e.g. (57, 2) -> "C57"; out needs 12 bytes. */
void mc_xlsx_cell_ref(uint32_t row, uint32_t col, char out[12]);
/* Parse "C57" (letters then digits, within the sheet bounds); false otherwise. */
bool mc_xlsx_parse_ref(const char *s, uint32_t *row, uint32_t *col);

/*
 * Convert an Excel date serial to days since 1970-01-01, dropping the time of
 * day.  1900 system: serial 1 is 1900-01-01 and Excel's phantom 1900-02-29
 * (serial 60) is rejected; 1904 system: serial 0 is 1904-01-01.  False for
 * serials outside 1900/1904-01-01 … 9999-12-31 or not finite.
 */
bool mc_xlsx_serial_to_days(double serial, bool date1904, int32_t *days);

#endif
