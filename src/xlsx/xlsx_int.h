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
	char *part;	/* zip entry name, e.g. "xl/worksheets/sheet1.xml" */
	bool worksheet; /* false for chart, dialog and macro sheets */
	bool merges_known;
	mc_xlsx_range *merges;
	size_t nmerges, merges_cap;
} xl_sheet;

struct mc_xlsx {
	zip_t *zip;
	char *name; /* base name used in messages */
	size_t max_part;
	size_t chunk;	   /* bytes inflated per read (tests make it tiny) */
	bool slow;	   /* every part through libxml2 (tests, benchmarks) */
	char fallback[96]; /* why the last fast-path part went to libxml2, "" if it did not */
	bool date1904;
	locale_t c_locale; /* for strtod_l: numbers use '.' whatever the process locale */
	xl_sheet *sheets;
	size_t nsheets;
	mc_buf sst;	 /* shared strings, each NUL-terminated, back to back */
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

/* A fast pass gave up: the part uses XML outside the subset it reads (fastxml.c). */
#define XL_BAIL (-2)

/* SAX-style events of one part; names are local (namespace prefix dropped).  Attributes
 * come as libxml2 lays them out: five pointers each (local name, prefix, URI, value, value
 * end), the value not NUL-terminated; xmlns declarations are not attributes. */
typedef struct xl_handlers {
	/* Classify a local element name into a small number handed to start and end (may be
	 * NULL: kind 0 for every name).  The fast tokenizer asks once per distinct name. */
	int (*kind)(const char *local);
	int (*start)(void *user, int kind, const char *local, const xmlChar **attrs, int nattrs);
	int (*end)(void *user, int kind, const char *local);
	int (*text)(void *user, const char *s, size_t n); /* may be NULL */
	/* An element holding only plain text ("<v>26.15</v>"), which the fast tokenizer may
	 * hand over in one call; it must do what start, text (when n > 0) and end would.  May be
	 * NULL: the tokenizer then makes those three calls. */
	int (*leaf)(void *user, int kind, const char *local, const xmlChar **attrs, int nattrs,
		    const char *s, size_t n);
	/* Non-NULL: the part may be read by the fast tokenizer first; when that gives up,
	 * restart() is called and libxml2 reads the part again from its first byte, so the
	 * handlers must go back to their initial state and not repeat what the caller already
	 * got (see sheet.c). */
	void (*restart)(void *user);
} xl_handlers;

/* Parse zip part `part`, feeding events to h: with the fast tokenizer when h->restart is
 * set, else (or when it gives up) with libxml2's push parser.  `what`, when not NULL, goes
 * before messages ("sheet 'Hoja1'"); they name the part anyway.  A missing part is
 * MC_ERR_FORMAT "missing part 'P'". */
mc_code xl_parse_part(mc_xlsx *x, const char *part, const char *what, const xl_handlers *h,
		      void *user, mc_error *err);

/* An open zip part being read: bytes are counted against the cap, errors name the part. */
typedef struct xl_part {
	mc_xlsx *x;
	const char *name;
	const char *where; /* "sheet 'Hoja1': " or "" */
	mc_error *err;
	zip_file_t *zf;
	uint64_t total;
} xl_part;

/* Read up to cap bytes of the part into buf (*n = 0 at its end); an error fills err. */
mc_code xl_part_read(xl_part *pt, char *buf, size_t cap, size_t *n);

/* Read the open part with the fast tokenizer (fastxml.c): MC_OK (also when a handler
 * stopped), a handler's or the zip's error code, or XL_BAIL with the reason in
 * x->fallback, after which the caller restarts the part with libxml2. */
int xl_fast_parse(xl_part *pt, const xl_handlers *h, void *user);

/* Test and benchmark knobs, not in the public API: open a workbook whose parts all go to
 * libxml2 (shared strings included); switch that on or off for the parts read from now on;
 * inflate `bytes` at a time (0 = the default 64 KiB). */
mc_xlsx *xl_open_slow(const char *path, mc_error *err);
void xl_set_slow(mc_xlsx *x, bool slow);
void xl_set_chunk(mc_xlsx *x, size_t bytes);
/* Why the last part that could take the fast path went to libxml2; "" when it did not. */
const char *xl_fallback_reason(const mc_xlsx *x);

/* The value of the attribute with that local name (not NUL-terminated, *len bytes), or NULL.
 * attrs/nattrs are as given to a start handler. */
const char *xl_attr(const xmlChar **attrs, int nattrs, const char *local, size_t *len);
/* The same copied into out (truncated to cap - 1 bytes, NUL-terminated); false if absent. */
bool xl_attr_copy(const xmlChar **attrs, int nattrs, const char *local, char *out, size_t cap);
/* The same as a malloc'd string in *out (NULL when absent); MC_ERR_NOMEM on failure. */
mc_code xl_attr_dup(const xmlChar **attrs, int nattrs, const char *local, char **out);

/* The uncompressed size the archive declares for sheet `index`'s part; 0 when unknown. */
uint64_t xl_sheet_size(const mc_xlsx *x, size_t index);

/* Read the workbook structure and shared strings (workbook.c). */
mc_code xl_load_workbook(mc_xlsx *x, mc_error *err);
void xl_sheets_free(mc_xlsx *x);

/* mc_xlsx_parse_ref() on n bytes that need not be NUL-terminated. */
bool xl_parse_ref_n(const char *s, size_t n, uint32_t *row, uint32_t *col);

/* Decode the _xHHHH_ escapes of an OOXML string in place; returns the new length. */
size_t xl_unescape(char *s, size_t n);
/* Parse a whole decimal number with the C locale; false on anything else. */
bool xl_parse_number(const mc_xlsx *x, const char *s, double *out);

#endif
