/* Streams a worksheet's <sheetData> to one callback per row and collects its <mergeCells>. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlsx/xlsx_int.h"

/* Marks a cell whose text pointer is final (shared string, TRUE/FALSE), not in the row arena. */
#define TEXT_RESOLVED SIZE_MAX

/* What the t attribute of a cell says. */
typedef enum { K_NUMBER, K_SHARED, K_STRING, K_BOOL, K_ERROR, K_UNKNOWN } cell_kind;

typedef struct sheet_reader {
	mc_xlsx *x;
	xl_sheet *sh;
	char what[200]; /* "sheet 'Hoja1'" */
	mc_xlsx_row_fn fn;
	void *ud;
	mc_error *err;
	bool merges_only; /* ignore <sheetData>, only collect merges */
	bool stopped;	  /* the callback asked to stop */
	/* rows given to fn; after a restart, how many of the next rows fn already has */
	size_t delivered, skip;
	/* where we are */
	bool in_data, in_row, in_cell, in_is, collect;
	int rph;
	uint32_t row, prev_row;
	char digits[12]; /* the row number as written in canonical references */
	size_t ndigits;
	int64_t prev_col;
	/* the cell in progress */
	uint32_t col, style;
	char t[16];
	cell_kind kind;
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

/* Write v in decimal to out (NUL-terminated); returns the digits written. */
static size_t format_uint(uint32_t v, char out[12])
{
	char tmp[12];
	size_t n = 0, o = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		out[o++] = tmp[--n];
	out[o] = '\0';
	return o;
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
	sr->ndigits = format_uint(row, sr->digits);
	mc_buf_reset(&sr->text);
	return MC_OK;
}

/* An attribute value: bytes, not NUL-terminated; s is NULL when the attribute is absent. */
typedef struct span {
	const char *s;
	size_t n;
} span;

/* A copy of v for messages, truncated to cap - 1 bytes like xl_attr_copy. */
static const char *span_str(span v, char *out, size_t cap)
{
	size_t n = v.n < cap - 1 ? v.n : cap - 1;
	if (n)
		memcpy(out, v.s, n);
	out[n] = '\0';
	return out;
}

/* The first r, s and t attributes of a <c>, in one pass. */
static void cell_attrs(const xmlChar **attrs, int nattrs, span *r, span *s, span *t)
{
	r->s = s->s = t->s = NULL;
	r->n = s->n = t->n = 0;
	for (int i = 0; i < nattrs; i++, attrs += 5) {
		const char *name = (const char *)attrs[0];
		span *v = name[0] == '\0' || name[1] != '\0' ? NULL
			  : name[0] == 'r'		     ? r
			  : name[0] == 's'		     ? s
			  : name[0] == 't'		     ? t
							     : NULL;
		if (v && !v->s) {
			v->s = (const char *)attrs[3];
			v->n = (size_t)(attrs[4] - attrs[3]);
		}
	}
}

/* parse_uint() on n bytes: 1 to 12 digits making a value in [lo, hi]. */
static bool parse_uint_n(const char *s, size_t n, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 12)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool span_is(span v, const char *lit, size_t n)
{
	return v.n == n && memcmp(v.s, lit, n) == 0;
}

/* What t says; types longer than 15 bytes are unknown (xl_attr_copy truncated them). */
static cell_kind kind_of(span t)
{
	if (t.n == 0)
		return K_NUMBER;
	if (t.n == 1)
		switch (t.s[0]) {
		case 'n': return K_NUMBER;
		case 's': return K_SHARED;
		case 'd': return K_STRING;
		case 'b': return K_BOOL;
		case 'e': return K_ERROR;
		default: return K_UNKNOWN;
		}
	return span_is(t, "inlineStr", 9) || span_is(t, "str", 3) ? K_STRING : K_UNKNOWN;
}

/* The column of a reference to the current row written canonically ("C57" in row 57),
 * without a full parse; false for anything else, which xl_parse_ref_n() then judges. */
static bool ref_in_row(const sheet_reader *sr, span r, uint32_t *col)
{
	size_t k = r.n - sr->ndigits;
	if (r.n <= sr->ndigits || k > 3)
		return false;
	for (size_t i = 0; i < sr->ndigits; i++)
		if (r.s[k + i] != sr->digits[i])
			return false;
	uint32_t c = 0;
	for (size_t i = 0; i < k; i++) {
		char ch = r.s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')))
			return false;
		c = c * 26 + (uint32_t)((ch | 0x20) - 'a' + 1);
	}
	*col = c - 1;
	return c <= MC_XLSX_MAX_COLS;
}

/* Read r, t and s of a <c> and check the reference against the row and the previous cell. */
static mc_code begin_cell(sheet_reader *sr, const xmlChar **attrs, int nattrs)
{
	span r, s, t;
	char buf[24];
	cell_attrs(attrs, nattrs, &r, &s, &t);
	uint32_t row = sr->row, col = (uint32_t)(sr->prev_col + 1);
	if (r.n && !ref_in_row(sr, r, &col) && !xl_parse_ref_n(r.s, r.n, &row, &col))
		return row_fail(sr, false, MC_ERR_FORMAT,
				"invalid cell reference '%s' (columns A..XFD, rows 1..%u)",
				span_str(r, buf, sizeof buf), MC_XLSX_MAX_ROWS);
	if (col >= MC_XLSX_MAX_COLS)
		return row_fail(sr, false, MC_ERR_FORMAT, "more than %u cells", MC_XLSX_MAX_COLS);
	if (row != sr->row)
		return row_fail(sr, false, MC_ERR_FORMAT, "cell reference '%s' is not in this row",
				span_str(r, buf, sizeof buf));
	sr->col = col;
	if ((int64_t)col <= sr->prev_col) {
		char prev[12];
		mc_xlsx_cell_ref(row, (uint32_t)sr->prev_col, prev);
		return row_fail(sr, true, MC_ERR_FORMAT, "comes after cell %s (cells out of order)",
				prev);
	}
	sr->style = 0;
	if (s.n && !parse_uint_n(s.s, s.n, 0, UINT32_MAX, &sr->style))
		return row_fail(sr, true, MC_ERR_FORMAT, "invalid style index '%s'",
				span_str(s, buf, sizeof buf));
	sr->kind = kind_of(t);
	if (sr->kind == K_UNKNOWN)
		span_str(t, sr->t, sizeof sr->t);
	sr->in_cell = true;
	sr->has_value = false;
	sr->off = sr->text.len;
	return MC_OK;
}

/* Append n bytes to the row's text arena; the common case stays inline. */
static mc_code arena_put(sheet_reader *sr, const char *v, size_t n)
{
	mc_buf *b = &sr->text;
	if (!b->data || b->len + n + 1 > b->cap || (b->max && b->len + n > b->max))
		return mc_buf_append(b, v, n);
	memcpy(b->data + b->len, v, n);
	b->len += n;
	b->data[b->len] = '\0';
	return MC_OK;
}

/* Append text to the cell's text. */
static mc_code collect_text(sheet_reader *sr, const char *v, size_t n)
{
	if (sr->text.len - sr->off + n > MC_XLSX_MAX_TEXT)
		return row_fail(sr, true, MC_ERR_LIMIT, "cell text longer than %zu bytes",
				MC_XLSX_MAX_TEXT);
	mc_code rc = arena_put(sr, v, n);
	return rc ? row_fail(sr, true, rc, "out of memory for the row's text") : MC_OK;
}

/* Forget the cell's collected text (its value lives elsewhere), keeping mc_buf's NUL. */
static void drop_text(sheet_reader *sr)
{
	sr->text.len = sr->off;
	if (sr->text.data)
		sr->text.data[sr->off] = '\0';
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
	drop_text(sr);
	return MC_OK;
}

/* True when text is empty or only XML whitespace. */
static bool all_space(const char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
		text++;
	return *text == '\0';
}

/* Give the cell its type and value from t and the collected text (empty numbers are blank). */
static mc_code type_cell(sheet_reader *sr, mc_xlsx_cell *c, char *text, size_t *len)
{
	cell_kind k = sr->kind;
	if (!sr->has_value || ((k == K_NUMBER || k == K_SHARED) && all_space(text))) {
		c->type = MC_XLSX_BLANK;
		*len = 0;
		return MC_OK;
	}
	switch (k) {
	case K_NUMBER:
		c->type = MC_XLSX_NUMBER;
		if (!xl_parse_number(sr->x, text, &c->number))
			return row_fail(sr, true, MC_ERR_FORMAT, "invalid number '%.40s'", text);
		return MC_OK;
	case K_SHARED: return shared_string(sr, c, text);
	case K_STRING:
		c->type = MC_XLSX_STRING;
		*len = xl_unescape(text, *len);
		return MC_OK;
	case K_BOOL:
		c->type = MC_XLSX_BOOL;
		if (strcmp(text, "1") && strcmp(text, "0") && strcmp(text, "true") &&
		    strcmp(text, "false"))
			return row_fail(sr, true, MC_ERR_FORMAT, "invalid boolean '%.40s'", text);
		c->number = text[0] == '1' || text[0] == 't';
		drop_text(sr);
		c->text = c->number ? "TRUE" : "FALSE";
		c->len = c->number ? 4 : 5;
		return MC_OK;
	case K_ERROR: c->type = MC_XLSX_ERROR; return MC_OK;
	case K_UNKNOWN: break;
	}
	return row_fail(sr, true, MC_ERR_FORMAT, "unknown cell type '%s'", sr->t);
}

/* Room for one more cell in the row. */
static mc_code grow_cells(sheet_reader *sr)
{
	size_t cap = sr->cap ? sr->cap * 2 : 16;
	mc_xlsx_cell *cells = realloc(sr->cells, cap * sizeof *cells);
	if (cells)
		sr->cells = cells;
	size_t *offs = cells ? realloc(sr->offs, cap * sizeof *offs) : NULL;
	if (!offs)
		return row_fail(sr, true, MC_ERR_NOMEM, "out of memory");
	sr->offs = offs;
	sr->cap = cap;
	return MC_OK;
}

/* Finish the cell in progress and add it to the row. */
static mc_code end_cell(sheet_reader *sr)
{
	sr->in_cell = sr->in_is = sr->collect = false;
	sr->rph = 0;
	if (sr->ncells == sr->cap && grow_cells(sr))
		return sr->err ? sr->err->code : MC_ERR_NOMEM;
	/* mc_buf keeps a NUL after its bytes, so the text can be parsed in place. */
	static char none[1];
	size_t len = sr->text.len - sr->off;
	char *text = sr->text.data ? (char *)sr->text.data + sr->off : none;
	mc_xlsx_cell *c = &sr->cells[sr->ncells];
	*c = (mc_xlsx_cell){.col = sr->col, .style = sr->style, .text = NULL};
	mc_code rc = type_cell(sr, c, text, &len);
	if (rc)
		return rc;
	if (c->text) {
		sr->offs[sr->ncells] = TEXT_RESOLVED;
	} else {
		sr->offs[sr->ncells] = sr->off;
		c->len = len;
		sr->text.len = sr->off + len;
		/* The NUL after the text stays in the arena: the next cell's text starts past it.
		 */
		if (sr->text.len + 1 < sr->text.cap)
			/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): cap > 0: data */
			sr->text.data[++sr->text.len] = '\0';
		else if (mc_buf_putc(&sr->text, 0))
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
	if (sr->skip) {
		/* The fast pass gave this row to fn before it bailed out. */
		sr->skip--;
		return 0;
	}
	const char *base = sr->text.data ? (const char *)sr->text.data : "";
	for (size_t i = 0; i < sr->ncells; i++)
		if (sr->offs[i] != TEXT_RESOLVED)
			sr->cells[i].text = base + sr->offs[i];
	mc_xlsx_row row = {sr->sh->name, sr->row, sr->ncells, sr->cells};
	sr->delivered++;
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

/* Record one <mergeCell ref="A1:B2"> (a single cell "A1" is a range too). */
static mc_code add_merge(sheet_reader *sr, const xmlChar **attrs, int nattrs)
{
	char ref[48];
	xl_attr_copy(attrs, nattrs, "ref", ref, sizeof ref);
	size_t n = strlen(ref);
	const char *colon = memchr(ref, ':', n);
	size_t a = colon ? (size_t)(colon - ref) : n;
	const char *b = colon ? colon + 1 : ref;
	mc_xlsx_range m;
	if (!xl_parse_ref_n(ref, a, &m.row1, &m.col1) ||
	    !xl_parse_ref_n(b, n - (size_t)(b - ref), &m.row2, &m.col2) || m.row2 < m.row1 ||
	    m.col2 < m.col1)
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

static int elem_of(const char *s)
{
	switch (s[0]) {
	case 'c': return s[1] ? E_OTHER : E_C;
	case 'v': return s[1] ? E_OTHER : E_V;
	case 't': return s[1] ? E_OTHER : E_T;
	case 'i': return s[1] == 's' && !s[2] ? E_IS : E_OTHER;
	case 'r':
		return s[1] == 'o' && s[2] == 'w' && !s[3]   ? E_ROW
		       : s[1] == 'P' && s[2] == 'h' && !s[3] ? E_RPH
							     : E_OTHER;
	case 's': return strcmp(s, "sheetData") ? E_OTHER : E_SHEETDATA;
	case 'm': return strcmp(s, "mergeCell") ? E_OTHER : E_MERGECELL;
	default: return E_OTHER;
	}
}

/* An opening tag (empty elements get an opening and a closing event). */
static int on_open(void *user, int kind, const char *local, const xmlChar **attrs, int nattrs)
{
	sheet_reader *sr = user;
	switch ((elem)kind) {
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
static int on_close(void *user, int kind, const char *local)
{
	sheet_reader *sr = user;
	switch ((elem)kind) {
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

/* An element holding only text: a cell's <v> or an inline string's <t> goes straight to the
 * cell text; anything else as its start, text and end events. */
static int on_leaf(void *user, int kind, const char *local, const xmlChar **attrs, int nattrs,
		   const char *s, size_t n)
{
	sheet_reader *sr = user;
	if (kind == E_V && sr->in_cell) {
		sr->has_value = true;
		return n ? collect_text(sr, s, n) : 0;
	}
	if (kind == E_T && sr->in_is && sr->rph == 0)
		return n ? collect_text(sr, s, n) : 0;
	int rc = on_open(sr, kind, local, attrs, nattrs);
	if (rc == 0 && n)
		rc = on_text(sr, s, n);
	return rc ? rc : on_close(sr, kind, local);
}

static int no_rows(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	return 0;
}

/* libxml2 reads the sheet again from its start: forget the position and the merges, and
 * skip the rows the fast pass already gave to fn (libxml2 finds the same ones). */
static void on_restart(void *user)
{
	sheet_reader *sr = user;
	sr->skip = sr->delivered;
	sr->delivered = 0;
	sr->in_data = sr->in_row = sr->in_cell = sr->in_is = sr->collect = false;
	sr->rph = 0;
	sr->row = sr->prev_row = 0;
	sr->prev_col = -1;
	sr->ncells = 0;
	mc_buf_reset(&sr->text);
	sr->sh->nmerges = 0;
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
	static const xl_handlers h = {elem_of, on_open, on_close, on_text, on_leaf, on_restart};
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
