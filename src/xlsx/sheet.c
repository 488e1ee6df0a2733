/* Streams a worksheet's <sheetData> to one callback per row and collects its <mergeCells>. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlsx/xlsx_int.h"

/* Marks a cell whose text pointer is final (shared string, TRUE/FALSE), not in the row arena. */
#define TEXT_RESOLVED SIZE_MAX

typedef struct sheet_reader {
	mc_xlsx *x;
	xl_sheet *sh;
	char what[200]; /* "sheet 'Hoja1'" */
	mc_xlsx_row_fn fn;
	void *ud;
	mc_error *err;
	bool merges_only; /* ignore <sheetData>, only collect merges */
	bool stopped;     /* the callback asked to stop */
	/* where we are */
	bool in_data, in_row, in_cell, in_is, collect;
	int rph;
	uint32_t row, prev_row;
	int64_t prev_col;
	/* the cell in progress */
	uint32_t col, style;
	char t[16];
	bool has_value;
	size_t off;
	/* the row in progress: cells, their text offsets, and the text arena */
	mc_xlsx_cell *cells;
	size_t *offs;
	size_t ncells, cap;
	mc_buf text;
} sheet_reader;

/* "cannot read 'f.xlsx': sheet 'S' row R[ cell REF]: detail". */
static mc_code row_fail(sheet_reader *sr, bool with_cell, mc_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static mc_code row_fail(sheet_reader *sr, bool with_cell, mc_code code, const char *fmt, ...)
{
	char detail[MC_ERRMSG_MAX], ref[12] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (with_cell)
		mc_xlsx_cell_ref(sr->row, sr->col, ref);
	return xl_fail(sr->x, sr->err, code, "%s row %u%s%s: %s", sr->what, sr->row,
	               with_cell ? " cell " : "", ref, detail);
}

/* Parse an unsigned decimal in [lo, hi]; false otherwise. */
static bool parse_uint(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9' && i < 12; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (i == 0 || s[i] != '\0' || v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

static mc_code begin_row(sheet_reader *sr, const xmlChar **attrs, int nattrs)
{
	char r[24];
	xl_attr_copy(attrs, nattrs, "r", r, sizeof r);
	uint32_t row = sr->prev_row + 1;
	if (r[0] && !parse_uint(r, 1, MC_XLSX_MAX_ROWS, &row))
		return xl_fail(sr->x, sr->err, MC_ERR_FORMAT,
		               "%s: invalid row number '%s' after row %u (rows are 1..%u)",
		               sr->what, r, sr->prev_row, MC_XLSX_MAX_ROWS);
	if (row > MC_XLSX_MAX_ROWS)
		return xl_fail(sr->x, sr->err, MC_ERR_FORMAT, "%s: more than %u rows", sr->what,
		               MC_XLSX_MAX_ROWS);
	sr->row = row;
	if (row <= sr->prev_row)
		return row_fail(sr, false, MC_ERR_FORMAT, "comes after row %u (rows out of order)",
		                sr->prev_row);
	sr->in_row = true;
	sr->prev_col = -1;
	sr->ncells = 0;
	mc_buf_reset(&sr->text);
	return MC_OK;
}

/* Read r, t and s of a <c> and check the reference against the row and the previous cell. */
static mc_code begin_cell(sheet_reader *sr, const xmlChar **attrs, int nattrs)
{
	char ref[24], s[24];
	xl_attr_copy(attrs, nattrs, "r", ref, sizeof ref);
	xl_attr_copy(attrs, nattrs, "t", sr->t, sizeof sr->t);
	xl_attr_copy(attrs, nattrs, "s", s, sizeof s);
	uint32_t row = sr->row, col = (uint32_t)(sr->prev_col + 1);
	if (ref[0] && !mc_xlsx_parse_ref(ref, &row, &col))
		return row_fail(sr, false, MC_ERR_FORMAT,
		                "invalid cell reference '%s' (columns A..XFD, rows 1..%u)", ref,
		                MC_XLSX_MAX_ROWS);
	if (col >= MC_XLSX_MAX_COLS)
		return row_fail(sr, false, MC_ERR_FORMAT, "more than %u cells", MC_XLSX_MAX_COLS);
	if (row != sr->row)
		return row_fail(sr, false, MC_ERR_FORMAT, "cell reference '%s' is not in this row",
		                ref);
	sr->col = col;
	if ((int64_t)col <= sr->prev_col) {
		char prev[12];
		mc_xlsx_cell_ref(row, (uint32_t)sr->prev_col, prev);
		return row_fail(sr, true, MC_ERR_FORMAT, "comes after cell %s (cells out of order)",
		                prev);
	}
	sr->style = 0;
	if (s[0] && !parse_uint(s, 0, UINT32_MAX, &sr->style))
		return row_fail(sr, true, MC_ERR_FORMAT, "invalid style index '%s'", s);
	sr->in_cell = true;
	sr->has_value = false;
	sr->off = sr->text.len;
	return MC_OK;
}

/* Append text to the cell's text. */
static mc_code collect_text(sheet_reader *sr, const char *v, size_t n)
{
	if (sr->text.len - sr->off + n > MC_XLSX_MAX_TEXT)
		return row_fail(sr, true, MC_ERR_LIMIT, "cell text longer than %zu bytes",
		                MC_XLSX_MAX_TEXT);
	mc_code rc = mc_buf_append(&sr->text, v, n);
	return rc ? row_fail(sr, true, rc, "out of memory for the row's text") : MC_OK;
}

/* Resolve t="s": the collected text is an index into the shared strings. */
static mc_code shared_string(sheet_reader *sr, mc_xlsx_cell *c, const char *idx)
{
	uint32_t i;
	if (!parse_uint(idx, 0, UINT32_MAX - 1, &i))
		return row_fail(sr, true, MC_ERR_FORMAT, "invalid shared string index '%s'", idx);
	if (i >= sr->x->nsst)
		return row_fail(sr, true, MC_ERR_FORMAT,
		                "shared string index %u out of range (the workbook has %zu)", i,
		                sr->x->nsst);
	c->type = MC_XLSX_STRING;
	c->text = (const char *)sr->x->sst.data + sr->x->sst_off[i];
	c->len = sr->x->sst_off[i + 1] - sr->x->sst_off[i] - 1;
	sr->text.len = sr->off;
	return MC_OK;
}

/* Give the cell its type and value from t and the collected text (empty numbers are blank). */
static mc_code type_cell(sheet_reader *sr, mc_xlsx_cell *c, char *text, size_t *len)
{
	const char *t = sr->t;
	bool numeric = t[0] == '\0' || !strcmp(t, "n") || !strcmp(t, "s");
	if (!sr->has_value || (numeric && text[strspn(text, " \t\r\n")] == '\0')) {
		c->type = MC_XLSX_BLANK;
		*len = 0;
	} else if (t[0] == '\0' || strcmp(t, "n") == 0) {
		c->type = MC_XLSX_NUMBER;
		if (!xl_parse_number(sr->x, text, &c->number))
			return row_fail(sr, true, MC_ERR_FORMAT, "invalid number '%.40s'", text);
	} else if (strcmp(t, "s") == 0) {
		return shared_string(sr, c, text);
	} else if (!strcmp(t, "inlineStr") || !strcmp(t, "str") || !strcmp(t, "d")) {
		c->type = MC_XLSX_STRING;
		*len = xl_unescape(text, *len);
	} else if (strcmp(t, "b") == 0) {
		c->type = MC_XLSX_BOOL;
		if (strcmp(text, "1") && strcmp(text, "0") && strcmp(text, "true") &&
		    strcmp(text, "false"))
			return row_fail(sr, true, MC_ERR_FORMAT, "invalid boolean '%.40s'", text);
		c->number = text[0] == '1' || text[0] == 't';
		sr->text.len = sr->off;
		c->text = c->number ? "TRUE" : "FALSE";
		c->len = c->number ? 4 : 5;
	} else if (strcmp(t, "e") == 0) {
		c->type = MC_XLSX_ERROR;
	} else {
		return row_fail(sr, true, MC_ERR_FORMAT, "unknown cell type '%s'", t);
	}
	return MC_OK;
}

/* Finish the cell in progress and add it to the row. */
static mc_code end_cell(sheet_reader *sr)
{
	sr->in_cell = sr->in_is = sr->collect = false;
	sr->rph = 0;
	if (sr->ncells == sr->cap) {
		size_t cap = sr->cap ? sr->cap * 2 : 16;
		mc_xlsx_cell *cells = realloc(sr->cells, cap * sizeof *cells);
		if (cells)
			sr->cells = cells;
		size_t *offs = cells ? realloc(sr->offs, cap * sizeof *offs) : NULL;
		if (!offs)
			return row_fail(sr, true, MC_ERR_NOMEM, "out of memory");
		sr->offs = offs;
		sr->cap = cap;
	}
	/* NUL-terminate in the arena so the text can be parsed in place. */
	size_t len = sr->text.len - sr->off;
	if (mc_buf_putc(&sr->text, 0))
		return row_fail(sr, true, MC_ERR_NOMEM, "out of memory");
	sr->text.len--;
	mc_xlsx_cell *c = &sr->cells[sr->ncells];
	*c = (mc_xlsx_cell){.col = sr->col, .style = sr->style, .text = NULL};
	mc_code rc = type_cell(sr, c, (char *)sr->text.data + sr->off, &len);
	if (rc)
		return rc;
	if (c->text) {
		sr->offs[sr->ncells] = TEXT_RESOLVED;
	} else {
		sr->offs[sr->ncells] = sr->off;
		c->len = len;
		sr->text.len = sr->off + len;
		if (mc_buf_putc(&sr->text, 0))
			return row_fail(sr, true, MC_ERR_NOMEM, "out of memory");
	}
	sr->prev_col = sr->col;
	sr->ncells++;
	return MC_OK;
}

/* Hand the finished row to the callback; returns 0, XL_STOP or an error code. */
static int end_row(sheet_reader *sr)
{
	sr->in_row = false;
	sr->prev_row = sr->row;
	for (size_t i = 0; i < sr->ncells; i++)
		if (sr->offs[i] != TEXT_RESOLVED)
			sr->cells[i].text = (const char *)sr->text.data + sr->offs[i];
	mc_xlsx_row row = {sr->sh->name, sr->row, sr->ncells, sr->cells};
	int r = sr->fn(&row, sr->ud, sr->err);
	if (r == MC_XLSX_STOP) {
		sr->stopped = true;
		return XL_STOP;
	}
	if (r == 0)
		return 0;
	mc_code rc = r > 0 ? (mc_code)r : MC_ERR_INVALID;
	if (sr->err && sr->err->code != rc)
		mc_fail(sr->err, rc, "%s row %u: row callback failed with code %d", sr->what,
		        sr->row, r);
	mc_error_prefix(sr->err, "cannot read '%s': ", sr->x->name);
	return rc;
}

/* Record one <mergeCell ref="A1:B2">. */
static mc_code add_merge(sheet_reader *sr, const xmlChar **attrs, int nattrs)
{
	char ref[48];
	xl_attr_copy(attrs, nattrs, "ref", ref, sizeof ref);
	char a[48] = "", b[48] = "";
	char *colon = strchr(ref, ':');
	snprintf(a, sizeof a, "%.*s", colon ? (int)(colon - ref) : (int)strlen(ref), ref);
	snprintf(b, sizeof b, "%s", colon ? colon + 1 : ref);
	mc_xlsx_range m;
	if (!mc_xlsx_parse_ref(a, &m.row1, &m.col1) || !mc_xlsx_parse_ref(b, &m.row2, &m.col2) ||
	    m.row2 < m.row1 || m.col2 < m.col1)
		return xl_fail(sr->x, sr->err, MC_ERR_FORMAT, "%s: invalid merged range '%s'",
		               sr->what, ref);
	xl_sheet *sh = sr->sh;
	if (sh->nmerges == sh->merges_cap) {
		size_t cap = sh->merges_cap ? sh->merges_cap * 2 : 64;
		mc_xlsx_range *v = realloc(sh->merges, cap * sizeof *v);
		if (!v)
			return xl_fail(sr->x, sr->err, MC_ERR_NOMEM, "out of memory");
		sh->merges = v;
		sh->merges_cap = cap;
	}
	sh->merges[sh->nmerges++] = m;
	return MC_OK;
}

/* The elements of a worksheet we act on. */
typedef enum { E_OTHER, E_C, E_V, E_T, E_IS, E_RPH, E_ROW, E_SHEETDATA, E_MERGECELL } elem;

static elem elem_of(const char *s)
{
	switch (s[0]) {
	case 'c': return s[1] ? E_OTHER : E_C;
	case 'v': return s[1] ? E_OTHER : E_V;
	case 't': return s[1] ? E_OTHER : E_T;
	case 'i': return strcmp(s, "is") ? E_OTHER : E_IS;
	case 'r': return !strcmp(s, "row") ? E_ROW : !strcmp(s, "rPh") ? E_RPH : E_OTHER;
	case 's': return strcmp(s, "sheetData") ? E_OTHER : E_SHEETDATA;
	case 'm': return strcmp(s, "mergeCell") ? E_OTHER : E_MERGECELL;
	default: return E_OTHER;
	}
}

/* An opening tag (empty elements get an opening and a closing event). */
static int on_open(void *user, const char *local, const xmlChar **attrs, int nattrs)
{
	sheet_reader *sr = user;
	switch (elem_of(local)) {
	case E_C: return sr->in_row ? begin_cell(sr, attrs, nattrs) : 0;
	case E_V: sr->has_value = sr->collect = sr->in_cell; break;
	case E_IS: sr->has_value = sr->in_is = sr->in_cell; break;
	case E_T: sr->collect = sr->in_is && sr->rph == 0; break;
	case E_RPH: sr->rph += sr->in_is; break;
	case E_ROW: return sr->in_data ? begin_row(sr, attrs, nattrs) : 0;
	case E_SHEETDATA: sr->in_data = !sr->merges_only; break;
	case E_MERGECELL: return sr->in_data ? 0 : add_merge(sr, attrs, nattrs);
	case E_OTHER: break;
	}
	return 0;
}

/* A closing tag. */
static int on_close(void *user, const char *local)
{
	sheet_reader *sr = user;
	switch (elem_of(local)) {
	case E_C: return sr->in_cell ? end_cell(sr) : 0;
	case E_V:
	case E_T: sr->collect = false; break;
	case E_RPH: sr->rph -= sr->rph > 0; break;
	case E_IS: sr->in_is = false; break;
	case E_ROW: return sr->in_row ? end_row(sr) : 0;
	case E_SHEETDATA: sr->in_data = false; break;
	case E_MERGECELL:
	case E_OTHER: break;
	}
	return 0;
}

static int on_text(void *user, const char *s, size_t n)
{
	sheet_reader *sr = user;
	return sr->collect ? collect_text(sr, s, n) : 0;
}

static int no_rows(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	return 0;
}

/* Open sheet `index` and stream it; merges_only skips the cells. */
static mc_code run(mc_xlsx *x, size_t index, bool merges_only, mc_xlsx_row_fn fn, void *ud,
                   mc_error *err)
{
	if (index >= x->nsheets)
		return xl_fail(x, err, MC_ERR_INVALID, "no sheet %zu (the workbook has %zu)", index,
		               x->nsheets);
	xl_sheet *sh = &x->sheets[index];
	sheet_reader sr = {.x = x,
	                   .sh = sh,
	                   .fn = fn ? fn : no_rows,
	                   .ud = ud,
	                   .err = err,
	                   .merges_only = merges_only};
	snprintf(sr.what, sizeof sr.what, "sheet '%s'", sh->name);
	if (!sh->worksheet)
		return xl_fail(x, err, MC_ERR_UNSUPPORTED, "%s is not a worksheet (a chart sheet?)",
		               sr.what);
	mc_buf_init(&sr.text, x->max_part);
	sh->nmerges = 0;
	sh->merges_known = false;
	static const xl_handlers h = {on_open, on_close, on_text};
	mc_code rc = xl_parse_part(x, sh->part, sr.what, &h, &sr, err);
	sh->merges_known = rc == MC_OK && !sr.stopped;
	mc_buf_release(&sr.text);
	free(sr.cells);
	free(sr.offs);
	return rc;
}

mc_code mc_xlsx_read_sheet(mc_xlsx *x, size_t index, mc_xlsx_row_fn fn, void *userdata,
                           mc_error *err)
{
	return run(x, index, false, fn, userdata, err);
}

mc_code mc_xlsx_merged(mc_xlsx *x, size_t index, const mc_xlsx_range **ranges, size_t *n,
                       mc_error *err)
{
	*ranges = NULL;
	*n = 0;
	if (index >= x->nsheets || !x->sheets[index].merges_known) {
		mc_code rc = run(x, index, true, NULL, NULL, err);
		if (rc)
			return rc;
	}
	*ranges = x->sheets[index].merges;
	*n = x->sheets[index].nmerges;
	return MC_OK;
}
