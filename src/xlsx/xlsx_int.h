/* Private layout of mc_xlsx and the helpers shared by the xlsx reader's files. */
#ifndef MILKCAST_XLSX_INT_H
#define MILKCAST_XLSX_INT_H

#include <locale.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/parser.h>
#include <zip.h>

#include "milkcast/buf.h"
#include "milkcast/xlsx.h"

/* One entry of the workbook's <sheets>, resolved through its relationship. */
typedef struct xl_sheet {
	char *name;
	char *part;     /* zip entry name, e.g. "xl/worksheets/sheet1.xml" */
	bool worksheet; /* false for chart, dialog and macro sheets */
	bool merges_known;
	mc_xlsx_range *merges;
	size_t nmerges, merges_cap;
} xl_sheet;

struct mc_xlsx {
	zip_t *zip;
	char *name; /* base name used in messages */
	size_t max_part;
	bool date1904;
	locale_t c_locale; /* for strtod_l: numbers use '.' whatever the process locale */
	xl_sheet *sheets;
	size_t nsheets;
	mc_buf sst;      /* shared strings, each NUL-terminated, back to back */
	size_t *sst_off; /* nsst + 1 offsets into sst */
	size_t nsst;
};

/* Format a message after "cannot read 'NAME': " and return code. */
mc_code xl_fail(const mc_xlsx *x, mc_error *err, mc_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True when the archive holds that entry (names compared case-insensitively). */
bool xl_part_exists(const mc_xlsx *x, const char *part);

/* Handler return values: 0 goes on, XL_STOP ends the parse cleanly, a positive mc_code
 * ends it with that error (the handler has filled err). */
#define XL_STOP (-1)

/* SAX-style events of one part; names are local (namespace prefix dropped). */
typedef struct xl_handlers {
	int (*start)(void *user, const char *local, const xmlChar **attrs, int nattrs);
	int (*end)(void *user, const char *local);
	int (*text)(void *user, const char *s, size_t n); /* may be NULL */
} xl_handlers;

/* Parse zip part `part` with libxml2's push parser, feeding events to h.  `what`, when not
 * NULL, goes before messages ("sheet 'Hoja1'"); they name the part anyway.  A missing part
 * is MC_ERR_FORMAT "missing part 'P'". */
mc_code xl_parse_part(mc_xlsx *x, const char *part, const char *what, const xl_handlers *h,
                      void *user, mc_error *err);

/* The value of the attribute with that local name (not NUL-terminated, *len bytes), or NULL.
 * attrs/nattrs are as given to a start handler. */
const char *xl_attr(const xmlChar **attrs, int nattrs, const char *local, size_t *len);
/* The same copied into out (truncated to cap - 1 bytes, NUL-terminated); false if absent. */
bool xl_attr_copy(const xmlChar **attrs, int nattrs, const char *local, char *out, size_t cap);
/* The same as a malloc'd string in *out (NULL when absent); MC_ERR_NOMEM on failure. */
mc_code xl_attr_dup(const xmlChar **attrs, int nattrs, const char *local, char **out);

/* Read the workbook structure and shared strings (workbook.c). */
mc_code xl_load_workbook(mc_xlsx *x, mc_error *err);
void xl_sheets_free(mc_xlsx *x);

/* Decode the _xHHHH_ escapes of an OOXML string in place; returns the new length. */
size_t xl_unescape(char *s, size_t n);
/* Parse a whole decimal number with the C locale; false on anything else. */
bool xl_parse_number(const mc_xlsx *x, const char *s, double *out);

#endif
