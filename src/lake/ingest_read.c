/* Ingest inputs: read a workbook or Parquet file, normalise each row, quarantine the bad ones. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lake/ingest_int.h"
#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/parquet.h"
#include "milkcast/sha256.h"
#include "milkcast/sniim.h"

#define MAX_INPUT_BYTES ((size_t)512 << 20)

/* The columns of an input, whichever format it came in. */
typedef struct input_view {
	const mc_column *date, *state, *city, *milk_type, *channel, *price;
	const mc_column *raw, *row, *cell; /* workbook only */
} input_view;

/* Find a column by any of its accepted names (case-insensitive). */
static const mc_column *find_col(const mc_table *t, const char *const *names)
{
	for (; *names; names++)
		for (size_t i = 0; i < t->ncols; i++)
			if (strcasecmp(t->cols[i].name, *names) == 0)
				return &t->cols[i];
	return NULL;
}

static mc_code view_parquet(const mc_table *t, const char *name, input_view *v, mc_error *err)
{
	static const char *const date[] = {"date", "Fecha", NULL},
				 *const state[] = {"state", "Estado", NULL},
				 *const city[] = {"city", "Ciudad", NULL},
				 *const type[] = {"milk_type", "Tipo", NULL},
				 *const channel[] = {"channel", "Canal", NULL},
				 *const price[] = {"price", "Precio", NULL};
	memset(v, 0, sizeof *v);
	v->date = find_col(t, date);
	v->state = find_col(t, state);
	v->city = find_col(t, city);
	v->milk_type = find_col(t, type);
	v->channel = find_col(t, channel);
	v->price = find_col(t, price);
	const char *missing = !v->date	      ? "Fecha (or date)"
			      : !v->state     ? "Estado (or state)"
			      : !v->city      ? "Ciudad (or city)"
			      : !v->milk_type ? "Tipo (or milk_type)"
			      : !v->channel   ? "Canal (or channel)"
			      : !v->price     ? "Precio (or price)"
					      : NULL;
	if (missing)
		return mc_fail(err, MC_ERR_FORMAT, "cannot ingest '%s': no column %s", name,
			       missing);
	if (v->date->type != MC_T_DATE && v->date->type != MC_T_TIMESTAMP)
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot ingest '%s': column '%s' is %s, expected a "
			       "date or timestamp",
			       name, v->date->name, mc_type_name(v->date->type));
	const mc_column *strs[] = {v->state, v->city, v->milk_type, v->channel};
	for (int i = 0; i < 4; i++)
		if (strs[i]->type != MC_T_STRING)
			return mc_fail(err, MC_ERR_FORMAT,
				       "cannot ingest '%s': column '%s' is %s, "
				       "expected a string",
				       name, strs[i]->name, mc_type_name(strs[i]->type));
	mc_type pt = v->price->type;
	if (pt != MC_T_DOUBLE && pt != MC_T_FLOAT && pt != MC_T_INT32 && pt != MC_T_INT64)
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot ingest '%s': column '%s' is %s, expected a "
			       "number",
			       name, v->price->name, mc_type_name(pt));
	return MC_OK;
}

static void view_workbook(const mc_table *t, input_view *v)
{
	v->date = &t->cols[MC_SNIIM_DATE];
	v->state = &t->cols[MC_SNIIM_STATE];
	v->city = &t->cols[MC_SNIIM_CITY];
	v->milk_type = &t->cols[MC_SNIIM_MILK_TYPE];
	v->channel = &t->cols[MC_SNIIM_CHANNEL];
	v->price = &t->cols[MC_SNIIM_PRICE];
	v->raw = &t->cols[MC_SNIIM_RAW];
	v->row = &t->cols[MC_SNIIM_ROW];
	v->cell = &t->cols[MC_SNIIM_CELL];
}

static bool cell_date(const mc_column *c, size_t i, int32_t *days)
{
	if (mc_column_is_null(c, i))
		return false;
	if (c->type == MC_T_DATE) {
		*days = MC_COL_I32(c)[i];
		return true;
	}
	static const int64_t per_day[] = {[MC_MILLIS] = 86400000LL,
					  [MC_MICROS] = 86400000000LL,
					  [MC_NANOS] = 86400000000000LL};
	int64_t v = MC_COL_I64(c)[i], d = per_day[c->unit];
	int64_t q = v / d - (v % d < 0);
	if (q < INT32_MIN || q > INT32_MAX)
		return false;
	*days = (int32_t)q;
	return true;
}

static bool cell_price(const mc_column *c, size_t i, double *v)
{
	if (mc_column_is_null(c, i))
		return false;
	switch (c->type) {
	case MC_T_DOUBLE: *v = MC_COL_F64(c)[i]; break;
	case MC_T_FLOAT: *v = MC_COL_F32(c)[i]; break;
	case MC_T_INT32: *v = MC_COL_I32(c)[i]; break;
	case MC_T_INT64: *v = (double)MC_COL_I64(c)[i]; break;
	default: return false;
	}
	return !isnan(*v);
}

static const char *cell_str(const mc_column *c, size_t i, size_t *n)
{
	if (mc_column_is_null(c, i)) {
		*n = 0;
		return "";
	}
	return mc_column_str(c, i, n);
}

/* --- quarantine --------------------------------------------------------- */

static char *dup_cell(const mc_column *c, size_t i)
{
	if (!c)
		return NULL;
	size_t n;
	const char *s = cell_str(c, i, &n);
	return strndup(s, n);
}

static mc_code quarantine(mc_ingest_state *st, size_t file, const input_view *v, size_t i,
			  const char *position, const char *reason, mc_error *err)
{
	mc_quarantined *q = realloc(st->quarantine, (st->nquarantine + 1) * sizeof *q);
	if (!q)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	st->quarantine = q;
	q += st->nquarantine++;
	memset(q, 0, sizeof *q);
	q->file = file;
	q->position = strdup(position);
	q->reason = strdup(reason);
	int32_t d;
	if (cell_date(v->date, i, &d)) {
		q->date = malloc(11);
		if (q->date)
			mc_date_format_iso(d, q->date);
	}
	q->state = dup_cell(v->state, i);
	q->city = dup_cell(v->city, i);
	q->milk_type = dup_cell(v->milk_type, i);
	q->channel = dup_cell(v->channel, i);
	if (v->raw) {
		q->raw_value = dup_cell(v->raw, i);
	} else if (!mc_column_is_null(v->price, i)) {
		double p;
		char buf[64] = "NaN";
		if (cell_price(v->price, i, &p))
			snprintf(buf, sizeof buf, "%.17g", p);
		q->raw_value = strdup(buf);
	}
	st->sum->rows_quarantined++;
	st->files[file].rows_quarantined++;
	return q->position && q->reason ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
}

void mc_quarantine_release(mc_ingest_state *st)
{
	for (size_t i = 0; i < st->nquarantine; i++) {
		mc_quarantined *q = &st->quarantine[i];
		free(q->position);
		free(q->date);
		free(q->state);
		free(q->city);
		free(q->milk_type);
		free(q->channel);
		free(q->raw_value);
		free(q->reason);
	}
	free(st->quarantine);
	st->quarantine = NULL;
	st->nquarantine = 0;
}

/* --- normalisation and validation of one row ----------------------------- */

static void describe_position(const input_view *v, size_t i, char *out, size_t cap)
{
	if (v->row && v->cell) {
		size_t n;
		const char *cell = cell_str(v->cell, i, &n);
		snprintf(out, cap, "row %d cell %.*s", (int)MC_COL_I32(v->row)[i], (int)n, cell);
	} else {
		snprintf(out, cap, "row %zu", i + 1);
	}
}

static bool check_date(const mc_ingest_opts *o, int32_t d, char *why, size_t cap)
{
	static const char *const days[] = {"Monday", "Tuesday",	 "Wednesday", "Thursday",
					   "Friday", "Saturday", "Sunday"};
	int wd = mc_date_weekday(d);
	bool early = d<mc_date_from_ymd(2000, 1, 1), future = d> o->today + 1;
	if (!early && !future && wd < 5)
		return true;
	char iso[11];
	mc_date_format_iso(d, iso);
	if (early)
		snprintf(why, cap, "date %s is before 2000", iso);
	else if (future)
		snprintf(why, cap, "date %s is in the future", iso);
	else
		snprintf(why, cap, "date %s is a %s, not a publication day", iso, days[wd]);
	return false;
}

/*
 * Prices are kept to 1e-6 MXN.  The published workbooks hold the national
 * averages to Excel's 15-16 significant digits while pandas kept full
 * doubles, so the same average read from the two differs in the last bit;
 * at a micro-peso both agree.  round(p·1e6) is an exact integer and 1e6 is
 * exact, so the division yields the double nearest the 6-decimal value, the
 * same double strtod gives for that decimal (two-decimal prices are unchanged).
 */
static double round_micro(double p)
{
	return fabs(p) < 1e9 ? round(p * 1e6) / 1e6 : p;
}

/*
 * Names repeat on every row (a file has a few hundred distinct (state, city,
 * type, channel) spellings), so each spelling is resolved once and memoised.
 */
typedef struct resolved {
	bool ok;
	mc_series series;
	uint32_t series_id;
	char why[200];
} resolved;

typedef struct name_memo {
	mc_strmap *index; /* raw spelling → entries[] */
	resolved *entries;
	size_t n;
} name_memo;

static void resolve_names(const char *state, size_t ns, const char *city, size_t nc,
			  const char *type, size_t nt, const char *chan, size_t nch, resolved *r)
{
	const char *reason;
	r->ok = false;
	if (!mc_series_resolve(state, ns, city, nc, &r->series, &reason))
		snprintf(r->why, sizeof r->why, "%s: state '%.*s', city '%.*s'", reason, (int)ns,
			 state, (int)nc, city);
	else if (!(r->series.milk_type = mc_milk_type_code(type, nt)))
		snprintf(r->why, sizeof r->why, "unknown milk type '%.*s'", (int)nt, type);
	else if (!(r->series.channel = mc_channel_code(chan, nch)))
		snprintf(r->why, sizeof r->why, "unknown channel '%.*s'", (int)nch, chan);
	else
		r->ok = true;
}

/* Number a resolved series in the ingest's series table. */
static mc_code number_series(mc_ingest_state *st, resolved *r)
{
	const char *kind = mc_kind_name(r->series.kind);
	const char *part[5] = {kind, r->series.state, r->series.city, r->series.milk_type,
			       r->series.channel};
	size_t len[5];
	for (int i = 0; i < 5; i++)
		len[i] = strlen(part[i]);
	return mc_ingest_series_id(st, part, len, &r->series_id);
}

static const resolved *memo_resolve(mc_ingest_state *st, name_memo *m, const input_view *v,
				    size_t i)
{
	size_t n[4];
	const char *s[4] = {cell_str(v->state, i, &n[0]), cell_str(v->city, i, &n[1]),
			    cell_str(v->milk_type, i, &n[2]), cell_str(v->channel, i, &n[3])};
	char key[4 * (MC_NAME_MAX + 1)];
	size_t k = mc_key_join(key, s, n, 4, MC_NAME_MAX);
	int64_t at;
	if (mc_strmap_get(m->index, key, k, &at))
		return &m->entries[at];
	resolved *e = realloc(m->entries, (m->n + 1) * sizeof *e);
	if (!e)
		return NULL;
	m->entries = e;
	resolve_names(s[0], n[0], s[1], n[1], s[2], n[2], s[3], n[3], &e[m->n]);
	if (e[m->n].ok && number_series(st, &e[m->n]))
		return NULL;
	if (mc_strmap_put(m->index, key, k, (int64_t)m->n))
		return NULL;
	return &e[m->n++];
}

/* Fill *c from row i, or write the reason it is rejected into why. */
static bool normalise_row(const mc_ingest_opts *o, const input_view *v, size_t i,
			  const resolved *names, mc_candidate *c, char *why, size_t cap)
{
	memset(c, 0, sizeof *c);
	if (!cell_date(v->date, i, &c->date)) {
		snprintf(why, cap, "missing or unreadable date");
		return false;
	}
	if (!names->ok) {
		snprintf(why, cap, "%s", names->why);
		return false;
	}
	c->series = names->series;
	c->series_id = names->series_id;
	if (!check_date(o, c->date, why, cap))
		return false;
	double p;
	c->missing = !cell_price(v->price, i, &p) || p == 0.0; /* 0 means not published */
	if (c->missing)
		return true;
	if (p < o->min_price || p > o->max_price) {
		snprintf(why, cap, "implausible price %.2f (expected %.0f to %.0f MXN per litre)",
			 p, o->min_price, o->max_price);
		return false;
	}
	c->price = round_micro(p);
	return true;
}

/* --- one file ------------------------------------------------------------ */

static void track_dates(mc_ingest_summary *sum, mc_ingest_file *f, int32_t d)
{
	if (!f->first_date || d < f->first_date)
		f->first_date = d;
	if (d > f->last_date)
		f->last_date = d;
	if (!sum->first_date || d < sum->first_date)
		sum->first_date = d;
	if (d > sum->last_date)
		sum->last_date = d;
}

/* Normalise, validate and merge one row; bad rows are quarantined. */
static mc_code ingest_row(mc_ingest_state *st, size_t fi, const input_view *v, size_t i,
			  name_memo *memo, mc_error *err)
{
	mc_ingest_file *f = &st->files[fi];
	char pos[64], why[256];
	mc_candidate c;
	f->rows_read++;
	st->sum->rows_read++;
	const resolved *names = memo_resolve(st, memo, v, i);
	if (!names)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!normalise_row(st->opts, v, i, names, &c, why, sizeof why)) {
		describe_position(v, i, pos, sizeof pos);
		return quarantine(st, fi, v, i, pos, why, err);
	}
	track_dates(st->sum, f, c.date);
	size_t added = st->sum->rows_added, changed = st->sum->rows_changed, dup_of;
	mc_code rc = mc_ingest_merge(st, &c, fi, i, &dup_of, err);
	f->rows_added += st->sum->rows_added - added;
	f->rows_changed += st->sum->rows_changed - changed;
	if (rc || dup_of == SIZE_MAX)
		return rc;
	char first[64];
	describe_position(v, dup_of, first, sizeof first);
	describe_position(v, i, pos, sizeof pos);
	snprintf(why, sizeof why, "duplicate of %s", first);
	return quarantine(st, fi, v, i, pos, why, err);
}

static mc_code ingest_rows(mc_ingest_state *st, size_t fi, const input_view *v, size_t nrows,
			   mc_error *err)
{
	name_memo memo = {mc_strmap_new(256), NULL, 0};
	mc_code rc = memo.index ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < nrows && !rc; i++)
		rc = ingest_row(st, fi, v, i, &memo, err);
	mc_strmap_free(memo.index);
	free(memo.entries);
	return rc;
}

static mc_code parse_input(const mc_buf *b, mc_ingest_file *f, mc_table **t, input_view *v,
			   mc_error *err)
{
	/* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker): len > 0 means data */
	if (b->len >= 4 && memcmp(b->data, "PK\x03\x04", 4) == 0) {
		f->format = "xlsx";
		mc_sniim_info info;
		mc_code rc = mc_sniim_read_mem(b->data, b->len, f->name, t, &info, err);
		if (!rc)
			view_workbook(*t, v);
		return rc;
	}
	if (b->len >= 4 && memcmp(b->data, "PAR1", 4) == 0) {
		f->format = "parquet";
		mc_code rc = mc_parquet_read_mem(b->data, b->len, f->name, t, err);
		if (!rc && (rc = view_parquet(*t, f->name, v, err))) {
			mc_table_free(*t);
			*t = NULL;
		}
		return rc;
	}
	if (b->len == 0)
		return mc_fail(err, MC_ERR_FORMAT, "cannot ingest '%s': the file is empty",
			       f->path);
	return mc_fail(err, MC_ERR_FORMAT,
		       "cannot ingest '%s': not an xlsx workbook or a Parquet file (bad magic)",
		       f->path);
}

mc_code mc_ingest_read_file(mc_ingest_state *st, mc_ingest_file *f, mc_error *err)
{
	mc_buf b;
	mc_buf_init(&b, MAX_INPUT_BYTES);
	mc_code rc = mc_buf_read_file(&b, f->path, err);
	if (rc) {
		mc_buf_release(&b);
		return rc;
	}
	f->bytes = b.len;
	mc_sha256_hex(b.data ? b.data : (const uint8_t *)"", b.len, f->sha256);
	mc_table *t = NULL;
	input_view v;
	rc = parse_input(&b, f, &t, &v, err);
	mc_buf_release(&b);
	if (!rc)
		rc = ingest_rows(st, (size_t)(f - st->files), &v, t->nrows, err);
	mc_table_free(t);
	return rc;
}
