/* The SNIIM layout over the xlsx stream: date blocks, headers and city rows become table rows. */
#include "milkcast/sniim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/date.h"
#include "xlsx/xlsx_int.h"

enum { PASTEURIZADA, ULTRA, NTYPES };
enum { TIENDAS, AUTOSERVICIOS, NCHANNELS };
static const char *const type_names[NTYPES] = {"Pasteurizada", "Ultrapasteurizada"};
static const char *const channel_names[NCHANNELS] = {"Tiendas", "Autoservicios"};
static const char *const type_headers[NTYPES] = {"Leche pasteurizada", "Leche ultrapasteurizada"};

#define NPRICES (NTYPES * NCHANNELS)
#define FOLD_MAX 256

/* Where a row is in the block grammar. */
typedef enum { SEEK_TITLE, WANT_DATE, WANT_TYPES, WANT_CHANNELS, IN_CITIES } sn_state;

/* One price column of a block: its sheet column and what the headers say it holds. */
typedef struct price_col {
	uint32_t col;
	int type, channel;
	char letters[4]; /* the column's letters, for the cell column ("C" of "C57") */
	size_t nletters, type_len, channel_len;
} price_col;

typedef struct sniim_ctx {
	mc_xlsx *x;
	mc_table *t;
	mc_column *cols[MC_SNIIM_NCOLS];
	sn_state st;
	/* the block being read */
	uint32_t title_row;
	int32_t date;
	int64_t state_col, city_col, type_col[NTYPES];
	price_col prices[NPRICES];
	int nprices;
	char state[256];
	size_t state_len;
	bool have_state;
	int cities;
	/* totals */
	int blocks;
	int32_t first, last;
} sniim_ctx;

/*
 * Fold text for matching: lower case, Spanish accents dropped, whitespace runs
 * as one space, trimmed; at most cap - 1 bytes (cap <= FOLD_MAX) are written.
 */
static void fold(const char *s, size_t n, char *out, size_t cap)
{
	static const char from[] = "\xA1\xA9\xAD\xB3\xBA\xBC\xB1\x81\x89\x8D\x93\x9A\x9C\x91";
	static const char to[] = "aeiouunaeiouun";
	size_t o = 0;
	bool space = true; /* drops leading whitespace */
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		const char *f =
			ch == 0xC3 && i + 1 < n ? memchr(from, s[i + 1], sizeof from - 1) : NULL;
		bool ws = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
			  (ch == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] == 0xA0);
		if (ws) {
			i += ch == 0xC2;
			if (!space)
				out[o++] = ' ';
			space = true;
			continue;
		}
		space = false;
		out[o++] = f ? to[f - from] : (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		i += f != NULL;
	}
	if (o && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static bool cell_blank(const mc_xlsx_cell *c)
{
	if (c->type == MC_XLSX_BLANK)
		return true;
	if (c->type != MC_XLSX_STRING)
		return false;
	for (size_t i = 0; i < c->len; i++)
		if (c->text[i] != ' ' && c->text[i] != '\t' && c->text[i] != '\n' &&
		    c->text[i] != '\r')
			return false;
	return true;
}

static const mc_xlsx_cell *first_cell(const mc_xlsx_row *row)
{
	for (size_t i = 0; i < row->ncells; i++)
		if (!cell_blank(&row->cells[i]))
			return &row->cells[i];
	return NULL;
}

static const mc_xlsx_cell *cell_at(const mc_xlsx_row *row, int64_t col)
{
	for (size_t i = 0; i < row->ncells; i++)
		if (row->cells[i].col == col)
			return cell_blank(&row->cells[i]) ? NULL : &row->cells[i];
	return NULL;
}

/* The folded text of a string cell, "" for anything else. */
static void fold_cell(const mc_xlsx_cell *c, char *out)
{
	if (c && c->type == MC_XLSX_STRING)
		fold(c->text, c->len, out, FOLD_MAX);
	else
		out[0] = '\0';
}

/* True when a string cell's folded text starts with prefix (shorter than 16 bytes). */
static bool cell_starts_with(const mc_xlsx_cell *c, const char *prefix)
{
	char f[16];
	size_t n = strlen(prefix);
	if (!c || c->type != MC_XLSX_STRING)
		return false;
	/* Quick exact reject: an ASCII first non-blank byte folds to its lower case. */
	size_t i = strspn(c->text, " \t\n\r");
	unsigned char first = (unsigned char)c->text[i];
	if (first < 0x80 && (char)(first >= 'A' && first <= 'Z' ? first + 32 : first) != prefix[0])
		return false;
	fold(c->text, c->len, f, n + 1);
	return strcmp(f, prefix) == 0;
}

/* "sheet 'S' row R cell REF: detail" (the xlsx layer adds "cannot read 'F': "). */
static int cell_fail(mc_error *err, const mc_xlsx_row *row, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cell_fail(mc_error *err, const mc_xlsx_row *row, uint32_t col, const char *fmt, ...)
{
	char detail[MC_ERRMSG_MAX], ref[12];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	mc_xlsx_cell_ref(row->row, col, ref);
	return mc_fail(err, MC_ERR_FORMAT, "sheet '%s' row %u cell %s: %s", row->sheet, row->row,
		       ref, detail);
}

/* "found 'text'" or "found a blank cell" for messages. */
static const char *found(const mc_xlsx_cell *c, char *buf, size_t cap)
{
	if (!c)
		return "a blank cell";
	snprintf(buf, cap, "'%.60s%s'", c->text, c->len > 60 ? "…" : "");
	return buf;
}

static bool is_title(const mc_xlsx_cell *c)
{
	static const char key[] = "precio promedio al consumidor por litro";
	char f[FOLD_MAX];
	if (c->type != MC_XLSX_STRING || c->len < sizeof key - 1)
		return false;
	fold_cell(c, f);
	return strstr(f, key) != NULL;
}

static void start_block(sniim_ctx *c, uint32_t row)
{
	c->st = WANT_DATE;
	c->title_row = row;
	c->state_col = c->city_col = -1;
	c->type_col[0] = c->type_col[1] = -1;
	c->nprices = 0;
	c->have_state = false;
	c->cities = 0;
}

static int end_block(sniim_ctx *c, const mc_xlsx_row *row, mc_error *err)
{
	if (c->cities == 0)
		return cell_fail(err, row, 0, "the block whose title is in row %u has no city rows",
				 c->title_row);
	if (c->blocks == 0 || c->date < c->first)
		c->first = c->date;
	if (c->blocks == 0 || c->date > c->last)
		c->last = c->date;
	c->blocks++;
	c->st = SEEK_TITLE;
	return 0;
}

/* The date row: "31 de marzo de 2025" as text, or a real date cell. */
static int date_row(sniim_ctx *c, const mc_xlsx_row *row, const mc_xlsx_cell *cell, mc_error *err)
{
	bool ok = false;
	/* mc_date_parse_spanish folds at most 127 bytes: longer text is not a date. */
	if (cell->type == MC_XLSX_STRING) {
		ok = cell->len < 120 && mc_date_parse_spanish(cell->text, &c->date);
	} else if (cell->type == MC_XLSX_NUMBER) {
		ok = mc_xlsx_serial_to_days(cell->number, mc_xlsx_date1904(c->x), &c->date);
	}
	if (!ok) {
		char buf[80];
		return cell_fail(err, row, cell->col,
				 "expected a date like '31 de marzo de 2025', found %s",
				 found(cell, buf, sizeof buf));
	}
	c->st = WANT_TYPES;
	return 0;
}

/* Which of Estado, Ciudad or a milk type a header cell names: 0, 1, 2 + type; -1 if none. */
static int header_kind(const char *f)
{
	if (strcmp(f, "estado") == 0)
		return 0;
	if (strcmp(f, "ciudad") == 0)
		return 1;
	if (strcmp(f, "leche ultrapasteurizada") == 0 || strcmp(f, "leche ultra pasteurizada") == 0)
		return 2 + ULTRA;
	if (strcmp(f, "leche pasteurizada") == 0)
		return 2 + PASTEURIZADA;
	return -1;
}

/* The header row "Estado | Ciudad | Leche pasteurizada | Leche ultrapasteurizada". */
static int types_row(sniim_ctx *c, const mc_xlsx_row *row, mc_error *err)
{
	int64_t *slot[2 + NTYPES] = {&c->state_col, &c->city_col, &c->type_col[0], &c->type_col[1]};
	static const char *const names[2 + NTYPES] = {"Estado", "Ciudad", "Leche pasteurizada",
						      "Leche ultrapasteurizada"};
	for (size_t i = 0; i < row->ncells; i++) {
		const mc_xlsx_cell *cell = &row->cells[i];
		if (cell_blank(cell))
			continue;
		char f[FOLD_MAX], buf[80];
		fold_cell(cell, f);
		int k = header_kind(f);
		if (k < 0 || *slot[k] >= 0)
			return cell_fail(err, row, cell->col,
					 "expected a header 'Estado', 'Ciudad', '%s' or '%s'%s, "
					 "found %s",
					 type_headers[0], type_headers[1], k < 0 ? "" : " once",
					 found(cell, buf, sizeof buf));
		*slot[k] = cell->col;
	}
	for (int k = 0; k < 2 + NTYPES; k++)
		if (*slot[k] < 0)
			return cell_fail(err, row, 0, "the header row has no '%s' column",
					 names[k]);
	c->st = WANT_CHANNELS;
	return 0;
}

/* The milk type whose (merged) header covers column col: the nearest type header at or left of it.
 */
static int type_over(const sniim_ctx *c, uint32_t col)
{
	int best = -1;
	for (int k = 0; k < NTYPES; k++)
		if (c->type_col[k] <= col && (best < 0 || c->type_col[k] > c->type_col[best]))
			best = k;
	return best;
}

/* Record one "Tiendas"/"Autoservicios" header cell as a price column. */
static int add_price_col(sniim_ctx *c, const mc_xlsx_row *row, const mc_xlsx_cell *cell,
			 int channel, mc_error *err)
{
	int type = cell->col == c->state_col || cell->col == c->city_col ? -1
									 : type_over(c, cell->col);
	if (type < 0)
		return cell_fail(err, row, cell->col,
				 "channel '%s' is not under a milk type header",
				 channel_names[channel]);
	for (int i = 0; i < c->nprices; i++)
		if (c->prices[i].type == type && c->prices[i].channel == channel)
			return cell_fail(err, row, cell->col, "a second '%s' column under '%s'",
					 channel_names[channel], type_headers[type]);
	price_col *p = &c->prices[c->nprices++];
	*p = (price_col){.col = cell->col, .type = type, .channel = channel};
	char ref[12];
	mc_xlsx_cell_ref(1, cell->col, ref);
	p->nletters = strlen(ref) - 1; /* drop the row "1"; at most 3 letters */
	memcpy(p->letters, ref, p->nletters);
	p->type_len = strlen(type_names[type]);
	p->channel_len = strlen(channel_names[channel]);
	return 0;
}

/* The channel row "Tiendas | Autoservicios | Tiendas | Autoservicios" under the types. */
static int channels_row(sniim_ctx *c, const mc_xlsx_row *row, mc_error *err)
{
	for (size_t i = 0; i < row->ncells; i++) {
		const mc_xlsx_cell *cell = &row->cells[i];
		char f[FOLD_MAX], buf[80];
		fold_cell(cell, f);
		if (cell_blank(cell) || (cell->col == c->state_col && !strcmp(f, "estado")) ||
		    (cell->col == c->city_col && !strcmp(f, "ciudad")))
			continue;
		int ch = !strcmp(f, "tiendas")	       ? TIENDAS
			 : !strcmp(f, "autoservicios") ? AUTOSERVICIOS
						       : -1;
		if (ch < 0)
			return cell_fail(
				err, row, cell->col,
				"expected a channel 'Tiendas' or 'Autoservicios', found %s",
				found(cell, buf, sizeof buf));
		int rc = add_price_col(c, row, cell, ch, err);
		if (rc)
			return rc;
	}
	if (c->nprices != NPRICES)
		return cell_fail(err, row, 0,
				 "expected 'Tiendas' and 'Autoservicios' under each milk type, "
				 "found %d of the 4 columns",
				 c->nprices);
	c->st = IN_CITIES;
	return 0;
}

/* Accept "N.d." and its spellings (N.D., n.d, ND, N/D). */
static bool is_nd(const char *f)
{
	char k[8];
	size_t o = 0;
	for (; *f && o < sizeof k - 1; f++)
		if (*f != '.' && *f != ' ')
			k[o++] = *f;
	k[o] = '\0';
	return !*f && (strcmp(k, "nd") == 0 || strcmp(k, "n/d") == 0);
}

/* The decimal digits of a row number (at most 7); returns how many. */
static size_t format_row(uint32_t row, char out[12])
{
	char tmp[12];
	size_t n = 0, o = 0;
	do
		tmp[n++] = (char)('0' + row % 10);
	while ((row /= 10) != 0);
	while (n)
		out[o++] = tmp[--n];
	out[o] = '\0';
	return o;
}

/* Room for n more rows in every column. */
static mc_code reserve_rows(sniim_ctx *c, size_t n)
{
	mc_code rc = MC_OK;
	for (int k = 0; rc == MC_OK && k < MC_SNIIM_NCOLS; k++)
		if (c->cols[k]->len + n > c->cols[k]->cap)
			rc = mc_column_reserve(c->cols[k], c->cols[k]->len + n);
	return rc;
}

/* Room for n more bytes (and the NUL after them) in a string column. */
static mc_code reserve_bytes(mc_column *col, size_t n)
{
	if (col->bytes_len + n + 1 <= col->bytes_cap)
		return MC_OK;
	size_t cap = col->bytes_cap ? col->bytes_cap : 256;
	while (cap < col->bytes_len + n + 1)
		cap *= 2;
	char *b = realloc(col->bytes, cap);
	if (!b)
		return MC_ERR_NOMEM;
	col->bytes = b;
	col->bytes_cap = cap;
	return MC_OK;
}

/*
 * Append a string to a column with room for it (reserve_rows, reserve_bytes), as
 * mc_column_push_str() would; table.h describes the layout.  Only the price column ever gets
 * a null, so the string columns have no validity map.
 */
static void add_str(mc_column *col, const char *s, size_t n)
{
	memcpy(col->bytes + col->bytes_len, s, n);
	col->bytes_len += n;
	col->bytes[col->bytes_len] = '\0';
	col->offsets[++col->len] = (int64_t)col->bytes_len;
}

/* The same for an int32 column. */
static void add_i32(mc_column *col, int32_t v)
{
	MC_COL_I32(col)[col->len++] = v;
}

/* What a city row gives: its state and city, and per price column the cell and its price. */
typedef struct city_prices {
	const char *state;
	size_t state_len;
	const mc_xlsx_cell *city;
	const mc_xlsx_cell *cell[NPRICES];
	bool has[NPRICES];
	double price[NPRICES];
} city_prices;

/* Room for the table rows of one city row: rows in every column, bytes in the string columns. */
static mc_code reserve_city(sniim_ctx *c, const city_prices *cp, size_t nd)
{
	size_t n = (size_t)c->nprices, types = 0, channels = 0, raw = 0, refs = 0;
	for (size_t i = 0; i < n; i++) {
		types += c->prices[i].type_len;
		channels += c->prices[i].channel_len;
		raw += cp->cell[i] ? cp->cell[i]->len : 0;
		refs += c->prices[i].nletters + nd;
	}
	mc_column **k = c->cols;
	mc_code rc = reserve_rows(c, n);
	rc = rc ? rc : reserve_bytes(k[MC_SNIIM_STATE], n * cp->state_len);
	rc = rc ? rc : reserve_bytes(k[MC_SNIIM_CITY], n * cp->city->len);
	rc = rc ? rc : reserve_bytes(k[MC_SNIIM_MILK_TYPE], types);
	rc = rc ? rc : reserve_bytes(k[MC_SNIIM_CHANNEL], channels);
	rc = rc ? rc : reserve_bytes(k[MC_SNIIM_RAW], raw);
	return rc ? rc : reserve_bytes(k[MC_SNIIM_CELL], refs);
}

/* Push the table rows of one city row, one per price column; nonzero only when out of
 * memory. */
static mc_code push_city(sniim_ctx *c, const city_prices *cp, uint32_t row)
{
	char digits[12], ref[12];
	size_t nd = format_row(row, digits);
	mc_column **k = c->cols, *price = k[MC_SNIIM_PRICE];
	mc_code rc = reserve_city(c, cp, nd);
	for (int i = 0; rc == MC_OK && i < c->nprices; i++) {
		const price_col *p = &c->prices[i];
		const mc_xlsx_cell *cell = cp->cell[i];
		add_i32(k[MC_SNIIM_DATE], c->date);
		add_str(k[MC_SNIIM_STATE], cp->state, cp->state_len);
		add_str(k[MC_SNIIM_CITY], cp->city->text, cp->city->len);
		add_str(k[MC_SNIIM_MILK_TYPE], type_names[p->type], p->type_len);
		add_str(k[MC_SNIIM_CHANNEL], channel_names[p->channel], p->channel_len);
		add_str(k[MC_SNIIM_RAW], cell ? cell->text : "", cell ? cell->len : 0);
		add_i32(k[MC_SNIIM_ROW], (int32_t)row);
		memcpy(ref, p->letters, p->nletters);
		memcpy(ref + p->nletters, digits, nd);
		add_str(k[MC_SNIIM_CELL], ref, p->nletters + nd);
		if (!cp->has[i]) {
			rc = mc_column_push_null(price);
			continue;
		}
		if (price->valid)
			price->valid[price->len] = 1;
		MC_COL_F64(price)[price->len++] = cp->price[i];
	}
	return rc;
}

/* The price of a cell: number, numeric text, or null for blank / N.d. / an Excel error. */
static int cell_price(sniim_ctx *c, const mc_xlsx_row *row, const mc_xlsx_cell *cell, uint32_t col,
		      bool *has, double *v, mc_error *err)
{
	*has = false;
	if (!cell || cell->type == MC_XLSX_ERROR)
		return 0;
	if (cell->type == MC_XLSX_NUMBER) {
		*has = true;
		*v = cell->number;
		return 0;
	}
	char f[FOLD_MAX], buf[80];
	if (cell->type == MC_XLSX_STRING && cell->len == 4 && memcmp(cell->text, "N.d.", 4) == 0)
		return 0; /* the usual spelling, without folding */
	fold_cell(cell, f);
	if (cell->type == MC_XLSX_STRING && is_nd(f))
		return 0;
	if (cell->type == MC_XLSX_STRING && xl_parse_number(c->x, cell->text, v)) {
		*has = true;
		return 0;
	}
	return cell_fail(err, row, col, "expected a price or 'N.d.', found %s",
			 found(cell, buf, sizeof buf));
}

/* The state to write on a city row (st: its state cell): as written, forward-filled, "" on
 * the average rows. */
static int row_state(sniim_ctx *c, const mc_xlsx_row *row, const mc_xlsx_cell *st,
		     const mc_xlsx_cell *city, bool average, mc_error *err)
{
	if (average)
		return 0;
	if (st) {
		if (st->type != MC_XLSX_STRING || st->len >= sizeof c->state) {
			char buf[80];
			return cell_fail(err, row, st->col, "expected a state name, found %s",
					 found(st, buf, sizeof buf));
		}
		memcpy(c->state, st->text, st->len);
		c->state_len = st->len;
		c->have_state = true;
	}
	if (!c->have_state)
		return cell_fail(err, row, (uint32_t)c->state_col,
				 "the block's first city '%.60s' has no state", city->text);
	return 0;
}

/* The non-blank cells of a row by column, for the first BYCOL columns (cell_at beyond). */
#define BYCOL 32
typedef struct row_map {
	const mc_xlsx_row *row;
	const mc_xlsx_cell *at[BYCOL];
} row_map;

static void map_row(row_map *m, const mc_xlsx_row *row)
{
	m->row = row;
	memset(m->at, 0, sizeof m->at);
	for (size_t i = 0; i < row->ncells && row->cells[i].col < BYCOL; i++)
		m->at[row->cells[i].col] = cell_blank(&row->cells[i]) ? NULL : &row->cells[i];
}

/* cell_at() through the map. */
static const mc_xlsx_cell *map_at(const row_map *m, int64_t col)
{
	return col >= 0 && col < BYCOL ? m->at[col] : cell_at(m->row, col);
}

/* A city (or average) row: four table rows, pushed once every price in it is read. */
static int city_row(sniim_ctx *c, const mc_xlsx_row *row, mc_error *err)
{
	row_map m;
	map_row(&m, row);
	city_prices cp = {.city = map_at(&m, c->city_col)};
	char buf[80];
	if (!cp.city || cp.city->type != MC_XLSX_STRING)
		return cell_fail(err, row, (uint32_t)c->city_col,
				 "expected a city name or a 'Fuente' row, found %s",
				 found(cp.city, buf, sizeof buf));
	bool average = cell_starts_with(cp.city, "promedio");
	int rc = row_state(c, row, map_at(&m, c->state_col), cp.city, average, err);
	cp.state = average ? "" : c->state;
	cp.state_len = average ? 0 : c->state_len;
	for (int i = 0; rc == 0 && i < c->nprices; i++) {
		const price_col *p = &c->prices[i];
		cp.cell[i] = map_at(&m, p->col);
		cp.price[i] = 0;
		rc = cell_price(c, row, cp.cell[i], p->col, &cp.has[i], &cp.price[i], err);
	}
	if (rc == 0 && push_city(c, &cp, row->row))
		rc = mc_fail(err, MC_ERR_NOMEM, "sheet '%s' row %u: out of memory", row->sheet,
			     row->row);
	c->cities += rc == 0;
	return rc;
}

/* The row callback: drive the block grammar. */
static int on_row(const mc_xlsx_row *row, void *ud, mc_error *err)
{
	sniim_ctx *c = ud;
	const mc_xlsx_cell *first = first_cell(row);
	if (!first)
		return 0;
	if (is_title(first)) {
		if (c->st != SEEK_TITLE && c->st != IN_CITIES)
			return cell_fail(err, row, first->col,
					 "a new title before the block whose title is in row %u "
					 "has its date and headers",
					 c->title_row);
		int rc = c->st == IN_CITIES ? end_block(c, row, err) : 0;
		if (rc == 0)
			start_block(c, row->row);
		return rc;
	}
	switch (c->st) {
	case SEEK_TITLE: return 0;
	case WANT_DATE: return date_row(c, row, first, err);
	case WANT_TYPES: return types_row(c, row, err);
	case WANT_CHANNELS: return channels_row(c, row, err);
	case IN_CITIES:
		return cell_starts_with(first, "fuente") ? end_block(c, row, err)
							 : city_row(c, row, err);
	}
	return 0;
}

/* An empty table with the SNIIM columns. */
static mc_table *new_table(sniim_ctx *c)
{
	static const struct {
		const char *name;
		mc_type type;
		bool nullable;
	} spec[MC_SNIIM_NCOLS] = {
		{"date", MC_T_DATE, false},	 {"state", MC_T_STRING, false},
		{"city", MC_T_STRING, false},	 {"milk_type", MC_T_STRING, false},
		{"channel", MC_T_STRING, false}, {"price", MC_T_DOUBLE, true},
		{"raw", MC_T_STRING, false},	 {"row", MC_T_INT32, false},
		{"cell", MC_T_STRING, false},
	};
	mc_table *t = mc_table_new();
	for (int i = 0; t && i < MC_SNIIM_NCOLS; i++)
		if (mc_table_add_column(t, spec[i].name, spec[i].type, spec[i].nullable) != i) {
			mc_table_free(t);
			t = NULL;
		}
	for (int i = 0; t && i < MC_SNIIM_NCOLS; i++)
		c->cols[i] = &t->cols[i];
	return t;
}

/* Give the table room for the rows a sheet part of `size` bytes is likely to hold (SNIIM
 * sheets take about 70 bytes of XML per table row), at most PRESIZE_MAX rows, so it is not
 * copied as it grows; string columns get PRESIZE_BYTES bytes a row.  The declared size is
 * only a hint: a lying header costs at most that much memory. */
#define PRESIZE_MAX 65536
#define PRESIZE_BYTES 16
static mc_code presize(sniim_ctx *c, uint64_t size)
{
	size_t rows = size / 64 < PRESIZE_MAX ? (size_t)(size / 64) : PRESIZE_MAX;
	mc_code rc = MC_OK;
	for (int k = 0; rc == MC_OK && rows && k < MC_SNIIM_NCOLS; k++) {
		mc_column *col = c->cols[k];
		rc = mc_column_reserve(col, rows);
		if (rc == MC_OK && col->type == MC_T_STRING &&
		    col->bytes_cap < rows * PRESIZE_BYTES) {
			char *b = realloc(col->bytes, rows * PRESIZE_BYTES);
			if (!b)
				return MC_ERR_NOMEM;
			col->bytes = b;
			col->bytes_cap = rows * PRESIZE_BYTES;
		}
	}
	return rc;
}

/* Read one sheet; *blocks = 0 (and no table) when it has no SNIIM block. */
static mc_code read_one_sheet(mc_xlsx *x, size_t index, sniim_ctx *c, mc_error *err)
{
	memset(c, 0, sizeof *c);
	c->x = x;
	c->t = new_table(c);
	if (!c->t || presize(c, xl_sheet_size(x, index)))
		return xl_fail(x, err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = mc_xlsx_read_sheet(x, index, on_row, c, err);
	if (rc == MC_OK && c->st == IN_CITIES) {
		mc_xlsx_row end = {mc_xlsx_sheet_name(x, index), c->title_row, 0, NULL};
		if (end_block(c, &end, err))
			rc = mc_error_prefix(err, "cannot read '%s': ", mc_xlsx_name(x));
	} else if (rc == MC_OK && c->st != SEEK_TITLE) {
		rc = xl_fail(x, err, MC_ERR_FORMAT,
			     "sheet '%s': the sheet ends inside the block whose title is in row %u",
			     mc_xlsx_sheet_name(x, index), c->title_row);
	}
	if (rc == MC_OK && c->blocks)
		rc = mc_table_seal(c->t, err);
	if (rc || c->blocks == 0) {
		mc_table_free(c->t);
		c->t = NULL;
	}
	return rc;
}

/* Append "'name'" to a list of tried sheets for the no-block message. */
static void note_tried(char *list, size_t cap, const char *name)
{
	size_t n = strlen(list);
	snprintf(list + n, cap - n, "%s'%s'", n ? ", " : "", name);
}

mc_code mc_sniim_read_xlsx(mc_xlsx *x, mc_table **out, mc_sniim_info *info, mc_error *err)
{
	*out = NULL;
	char tried[256] = "";
	for (size_t i = 0; i < mc_xlsx_sheet_count(x); i++) {
		sniim_ctx c;
		if (!x->sheets[i].worksheet)
			continue;
		mc_code rc = read_one_sheet(x, i, &c, err);
		if (rc)
			return rc;
		if (!c.t) {
			note_tried(tried, sizeof tried, mc_xlsx_sheet_name(x, i));
			continue;
		}
		if (info) {
			snprintf(info->sheet, sizeof info->sheet, "%s", mc_xlsx_sheet_name(x, i));
			info->blocks = c.blocks;
			info->first_date = c.first;
			info->last_date = c.last;
			info->rows = c.t->nrows;
		}
		*out = c.t;
		return MC_OK;
	}
	return xl_fail(x, err, MC_ERR_FORMAT,
		       "no SNIIM date block (a title containing 'Precio promedio al consumidor "
		       "por litro') in sheet%s %s",
		       strchr(tried, ',') ? "s" : "", tried[0] ? tried : "(no worksheet)");
}

mc_code mc_sniim_read(const char *path, mc_table **out, mc_sniim_info *info, mc_error *err)
{
	mc_error local = MC_ERROR_INIT;
	err = err ? err : &local;
	*out = NULL;
	mc_xlsx *x = mc_xlsx_open(path, err);
	if (!x)
		return err->code;
	mc_code rc = mc_sniim_read_xlsx(x, out, info, err);
	mc_xlsx_free(x);
	return rc;
}

mc_code mc_sniim_read_mem(const uint8_t *p, size_t n, const char *name, mc_table **out,
			  mc_sniim_info *info, mc_error *err)
{
	mc_error local = MC_ERROR_INIT;
	err = err ? err : &local;
	*out = NULL;
	mc_xlsx *x = mc_xlsx_open_mem(p, n, name, err);
	if (!x)
		return err->code;
	mc_code rc = mc_sniim_read_xlsx(x, out, info, err);
	mc_xlsx_free(x);
	return rc;
}
