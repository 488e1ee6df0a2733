/* Workbook structure: relationships, the sheet list, date1904 and the shared strings. */
#include <stdlib.h>
#include <string.h>

#include "xlsx/xlsx_int.h"

/* One <Relationship>, its target resolved to a zip entry name. */
typedef struct xl_rel {
	char *id;
	char *type;
	char *target;
} xl_rel;

typedef struct xl_rels {
	xl_rel *v;
	size_t n, cap;
} xl_rels;

static void rels_free(xl_rels *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].id);
		free(rs->v[i].type);
		free(rs->v[i].target);
	}
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

/* True when a relationship type URI ends with "/suffix". */
static bool type_is(const char *type, const char *suffix)
{
	size_t t = strlen(type), k = strlen(suffix);
	return t > k && type[t - k - 1] == '/' && strcmp(type + t - k, suffix) == 0;
}

/* The first relationship of that type, or NULL. */
static const xl_rel *rels_by_type(const xl_rels *rs, const char *suffix)
{
	for (size_t i = 0; i < rs->n; i++)
		if (type_is(rs->v[i].type, suffix))
			return &rs->v[i];
	return NULL;
}

static const xl_rel *rels_by_id(const xl_rels *rs, const char *id)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].id, id) == 0)
			return &rs->v[i];
	return NULL;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode %XX escapes of a URI in place. */
static void percent_decode(char *s)
{
	char *o = s;
	for (const char *p = s; *p; p++) {
		int hi = *p == '%' ? hex_value(p[1]) : -1;
		int lo = hi >= 0 ? hex_value(p[2]) : -1;
		if (lo >= 0 && (hi || lo)) {
			*o++ = (char)(hi * 16 + lo);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

/* Append one path segment to out (len o), applying "." and ".."; returns the new length. */
static size_t push_segment(char *out, size_t o, const char *seg, size_t n)
{
	if (n == 0 || (n == 1 && seg[0] == '.'))
		return o;
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
		while (o > 0 && out[o - 1] != '/')
			o--;
		return o > 0 ? o - 1 : 0;
	}
	if (o > 0)
		out[o++] = '/';
	memcpy(out + o, seg, n);
	return o + n;
}

/* Resolve a relationship target against the source part's directory (base ends in '/' or is ""). */
static char *resolve_target(const char *base, const char *target)
{
	size_t cap = strlen(base) + strlen(target) + 2;
	char *joined = malloc(cap), *out = malloc(cap);
	if (!joined || !out) {
		free(joined);
		free(out);
		return NULL;
	}
	if (target[0] == '/')
		strcpy(joined, target);
	else
		strcat(strcpy(joined, base), target);
	percent_decode(joined);
	size_t o = 0;
	for (const char *p = joined; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		o = push_segment(out, o, p, n);
		p += n + (slash != NULL);
	}
	out[o] = '\0';
	free(joined);
	return out;
}

/* Parser state of a .rels part. */
typedef struct rels_state {
	mc_xlsx *x;
	const char *part, *base;
	xl_rels *rs;
	mc_error *err;
} rels_state;

/* Read one <Relationship> element into rs; external targets are skipped. */
static mc_code add_rel(rels_state *st, const xmlChar **attrs, int nattrs)
{
	char *id = NULL, *type = NULL, *target = NULL, *mode = NULL;
	mc_code rc = xl_attr_dup(attrs, nattrs, "Id", &id);
	rc = rc ? rc : xl_attr_dup(attrs, nattrs, "Type", &type);
	rc = rc ? rc : xl_attr_dup(attrs, nattrs, "Target", &target);
	rc = rc ? rc : xl_attr_dup(attrs, nattrs, "TargetMode", &mode);
	if (rc) {
		free(id), free(type), free(target), free(mode);
		return rc;
	}
	/* Incomplete and external relationships name no part of ours: skip them. */
	bool keep = id && type && target && !(mode && strcmp(mode, "External") == 0);
	free(mode);
	char *resolved = keep ? resolve_target(st->base, target) : NULL;
	free(target);
	if (!keep) {
		free(id), free(type);
		return MC_OK;
	}
	xl_rels *rs = st->rs;
	if (resolved && rs->n == rs->cap) {
		xl_rel *v = realloc(rs->v, (rs->cap * 2 + 8) * sizeof *v);
		if (v) {
			rs->v = v;
			rs->cap = rs->cap * 2 + 8;
		}
	}
	if (!resolved || rs->n == rs->cap) {
		free(id), free(type), free(resolved);
		return MC_ERR_NOMEM;
	}
	rs->v[rs->n++] = (xl_rel){id, type, resolved};
	return MC_OK;
}

static int rels_start(void *user, int kind, const char *local, const xmlChar **attrs, int nattrs)
{
	rels_state *st = user;
	if (strcmp(local, "Relationship") != 0 || add_rel(st, attrs, nattrs) == MC_OK)
		return 0;
	return xl_fail(st->x, st->err, MC_ERR_NOMEM, "%s: out of memory", st->part);
}

static int ignore_end(void *user, int kind, const char *local)
{
	return 0;
}

/* Parse a .rels part; a missing part gives an empty list. */
static mc_code read_rels(mc_xlsx *x, const char *part, const char *base, xl_rels *rs, mc_error *err)
{
	if (!xl_part_exists(x, part))
		return MC_OK;
	static const xl_handlers h = {NULL, rels_start, ignore_end, NULL, NULL, NULL};
	rels_state st = {x, part, base, rs, err};
	return xl_parse_part(x, part, NULL, &h, &st, err);
}

void xl_sheets_free(mc_xlsx *x)
{
	for (size_t i = 0; i < x->nsheets; i++) {
		free(x->sheets[i].name);
		free(x->sheets[i].part);
		free(x->sheets[i].merges);
	}
	free(x->sheets);
	x->sheets = NULL;
	x->nsheets = 0;
}

/* Parser state of the workbook part. */
typedef struct book_state {
	mc_xlsx *x;
	const char *part;
	const xl_rels *rels;
	mc_error *err;
} book_state;

/* A <sheet name=… r:id=…> element: resolve its part through the workbook relationships. */
static mc_code add_sheet(book_state *st, const xmlChar **attrs, int nattrs)
{
	mc_xlsx *x = st->x;
	char *name = NULL, *rid = NULL;
	mc_code rc = xl_attr_dup(attrs, nattrs, "name", &name);
	rc = rc ? rc : xl_attr_dup(attrs, nattrs, "id", &rid);
	if (rc) {
		free(name);
		return xl_fail(x, st->err, rc, "%s: out of memory", st->part);
	}
	const xl_rel *rel = rid ? rels_by_id(st->rels, rid) : NULL;
	if (!name || !rel) {
		rc = xl_fail(
			x, st->err, MC_ERR_FORMAT,
			"%s: sheet '%s' has no relationship '%s' in the workbook relationships",
			st->part, name ? name : "(unnamed)", rid ? rid : "r:id");
		free(name), free(rid);
		return rc;
	}
	free(rid);
	xl_sheet *v = realloc(x->sheets, (x->nsheets + 1) * sizeof *v);
	if (v)
		x->sheets = v;
	char *part = v ? strdup(rel->target) : NULL;
	if (!part) {
		free(name);
		return xl_fail(x, st->err, MC_ERR_NOMEM, "out of memory");
	}
	v[x->nsheets++] = (xl_sheet){
		.name = name, .part = part, .worksheet = type_is(rel->type, "worksheet")};
	return MC_OK;
}

static int book_start(void *user, int kind, const char *local, const xmlChar **attrs, int nattrs)
{
	book_state *st = user;
	if (strcmp(local, "sheet") == 0)
		return add_sheet(st, attrs, nattrs);
	if (strcmp(local, "workbookPr") == 0) {
		char v[8];
		xl_attr_copy(attrs, nattrs, "date1904", v, sizeof v);
		st->x->date1904 = strcmp(v, "1") == 0 || strcmp(v, "true") == 0;
	}
	return 0;
}

/* Parse the workbook part: date1904 and the sheet list. */
static mc_code read_workbook(mc_xlsx *x, const char *part, const xl_rels *rels, mc_error *err)
{
	static const xl_handlers h = {NULL, book_start, ignore_end, NULL, NULL, NULL};
	book_state st = {x, part, rels, err};
	mc_code rc = xl_parse_part(x, part, NULL, &h, &st, err);
	if (rc == MC_OK && x->nsheets == 0)
		rc = xl_fail(x, err, MC_ERR_FORMAT, "%s: the workbook lists no sheets", part);
	return rc;
}

/* Shared-string parser state: which <t> text belongs to the current <si>. */
typedef struct sst_state {
	mc_xlsx *x;
	const char *part;
	mc_error *err;
	size_t cap;   /* sst_off capacity */
	size_t start; /* offset of the current string in x->sst */
	int rph;      /* depth inside <rPh> (phonetic runs are not part of the text) */
	bool in_si, in_t;
} sst_state;

static int sst_nomem(sst_state *s)
{
	return xl_fail(s->x, s->err, MC_ERR_NOMEM, "%s: out of memory", s->part);
}

/* Close the current string: unescape, NUL-terminate, record its end offset. */
static int sst_end_string(sst_state *s)
{
	mc_xlsx *x = s->x;
	size_t n = x->sst.len - s->start;
	if (n)
		x->sst.len = s->start + xl_unescape((char *)x->sst.data + s->start, n);
	if (mc_buf_putc(&x->sst, 0))
		return sst_nomem(s);
	if (x->nsst + 2 > s->cap) {
		size_t cap = s->cap * 2;
		size_t *off = realloc(x->sst_off, cap * sizeof *off);
		if (!off)
			return sst_nomem(s);
		x->sst_off = off;
		s->cap = cap;
	}
	x->sst_off[++x->nsst] = x->sst.len;
	s->in_si = s->in_t = false;
	return 0;
}

static int sst_start(void *user, int kind, const char *local, const xmlChar **attrs, int nattrs)
{
	sst_state *s = user;
	if (strcmp(local, "si") == 0) {
		s->in_si = true;
		s->rph = 0;
		s->start = s->x->sst.len;
	} else if (strcmp(local, "rPh") == 0) {
		s->rph++;
	} else if (strcmp(local, "t") == 0) {
		s->in_t = s->in_si && s->rph == 0;
	}
	return 0;
}

static int sst_end(void *user, int kind, const char *local)
{
	sst_state *s = user;
	if (strcmp(local, "si") == 0 && s->in_si)
		return sst_end_string(s);
	if (strcmp(local, "rPh") == 0 && s->rph > 0)
		s->rph--;
	else if (strcmp(local, "t") == 0)
		s->in_t = false;
	return 0;
}

static int sst_text(void *user, const char *v, size_t n)
{
	sst_state *s = user;
	if (!s->in_t)
		return 0;
	if (s->x->sst.len - s->start + n > MC_XLSX_MAX_TEXT)
		return xl_fail(s->x, s->err, MC_ERR_LIMIT,
			       "%s: shared string %zu is longer than %zu bytes", s->part,
			       s->x->nsst, MC_XLSX_MAX_TEXT);
	return mc_buf_append(&s->x->sst, v, n) ? sst_nomem(s) : 0;
}

/* libxml2 reads the part again from its start: drop the strings the fast pass kept. */
static void sst_restart(void *user)
{
	sst_state *s = user;
	mc_buf_reset(&s->x->sst);
	s->x->nsst = 0;
	s->start = 0;
	s->rph = 0;
	s->in_si = s->in_t = false;
}

/* Load every shared string into x->sst / x->sst_off. */
static mc_code read_shared_strings(mc_xlsx *x, const char *part, mc_error *err)
{
	static const xl_handlers h = {NULL, sst_start, sst_end, sst_text, NULL, sst_restart};
	sst_state s = {.x = x, .part = part, .err = err, .cap = 1024};
	x->sst_off = calloc(s.cap, sizeof *x->sst_off);
	if (!x->sst_off)
		return xl_fail(x, err, MC_ERR_NOMEM, "out of memory");
	x->sst.max = x->max_part;
	return xl_parse_part(x, part, NULL, &h, &s, err);
}

/* Directory of a part name including the trailing '/', or "" at the root. */
static char *part_dir(const char *part)
{
	const char *slash = strrchr(part, '/');
	size_t n = slash ? (size_t)(slash - part) + 1 : 0;
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, part, n);
		d[n] = '\0';
	}
	return d;
}

/* The relationships part of a part: "xl/workbook.xml" -> "xl/_rels/workbook.xml.rels". */
static char *rels_part_of(const char *part)
{
	const char *slash = strrchr(part, '/');
	size_t dir = slash ? (size_t)(slash - part) + 1 : 0;
	size_t n = strlen(part) + sizeof "_rels/.rels";
	char *r = malloc(n);
	if (r) {
		memcpy(r, part, dir);
		strcpy(r + dir, "_rels/");
		strcat(strcat(r, part + dir), ".rels");
	}
	return r;
}

/* Find the main workbook part through _rels/.rels, defaulting to xl/workbook.xml. */
static mc_code find_workbook(mc_xlsx *x, char **out, mc_error *err)
{
	xl_rels pkg = {0};
	mc_code rc = read_rels(x, "_rels/.rels", "", &pkg, err);
	if (rc) {
		rels_free(&pkg);
		return rc;
	}
	const xl_rel *main = rels_by_type(&pkg, "officeDocument");
	*out = strdup(main && xl_part_exists(x, main->target) ? main->target : "xl/workbook.xml");
	rels_free(&pkg);
	if (!*out)
		return xl_fail(x, err, MC_ERR_NOMEM, "out of memory");
	if (!xl_part_exists(x, *out))
		return xl_fail(x, err, MC_ERR_FORMAT, "not an xlsx workbook: no part '%s'", *out);
	return MC_OK;
}

mc_code xl_load_workbook(mc_xlsx *x, mc_error *err)
{
	char *wb = NULL, *dir = NULL, *relpart = NULL;
	xl_rels rels = {0};
	mc_code rc = find_workbook(x, &wb, err);
	if (rc == MC_OK) {
		dir = part_dir(wb);
		relpart = rels_part_of(wb);
		if (!dir || !relpart)
			rc = xl_fail(x, err, MC_ERR_NOMEM, "out of memory");
	}
	if (rc == MC_OK)
		rc = read_rels(x, relpart, dir, &rels, err);
	if (rc == MC_OK)
		rc = read_workbook(x, wb, &rels, err);
	const xl_rel *sst = rels_by_type(&rels, "sharedStrings");
	const char *sst_part = sst ? sst->target : "xl/sharedStrings.xml";
	if (rc == MC_OK && xl_part_exists(x, sst_part))
		rc = read_shared_strings(x, sst_part, err);
	rels_free(&rels);
	free(wb), free(dir), free(relpart);
	return rc;
}
