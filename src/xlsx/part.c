/* Zip parts as capped XML event streams: libzip inflates; the fast tokenizer or libxml2 reads. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlsx/xlsx_int.h"

/* Bytes inflated and handed to a parser at a time, unless a test asks for less. */
#define CHUNK 65536

/* One part being parsed by libxml2. */
typedef struct xl_xml {
	xl_part *pt;
	const xl_handlers *h;
	void *user;
	xmlParserCtxtPtr ctxt;
	int rc;	       /* first nonzero handler result */
	bool doctype;  /* a DOCTYPE was met: refused */
	int xml_level; /* severity of the kept libxml2 error, 0 if none */
	int xml_line;
	char xml_msg[200];
} xl_xml;

mc_code xl_fail(const mc_xlsx *x, mc_error *err, mc_code code, const char *fmt, ...)
{
	char detail[MC_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	return mc_fail(err, code, "cannot read '%s': %s", x->name, detail);
}

bool xl_part_exists(const mc_xlsx *x, const char *part)
{
	return zip_name_locate(x->zip, part, ZIP_FL_NOCASE) >= 0;
}

const char *xl_attr(const xmlChar **attrs, int nattrs, const char *local, size_t *len)
{
	/* libxml2 gives 5 pointers per attribute: localname, prefix, URI, value, end. */
	for (int i = 0; i < nattrs; i++, attrs += 5)
		if (strcmp((const char *)attrs[0], local) == 0) {
			*len = (size_t)(attrs[4] - attrs[3]);
			return (const char *)attrs[3];
		}
	return NULL;
}

bool xl_attr_copy(const xmlChar **attrs, int nattrs, const char *local, char *out, size_t cap)
{
	size_t n;
	const char *v = xl_attr(attrs, nattrs, local, &n);
	if (!v) {
		out[0] = '\0';
		return false;
	}
	n = n < cap - 1 ? n : cap - 1;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

mc_code xl_attr_dup(const xmlChar **attrs, int nattrs, const char *local, char **out)
{
	size_t n;
	const char *v = xl_attr(attrs, nattrs, local, &n);
	*out = v ? strndup(v, n) : NULL;
	return v && !*out ? MC_ERR_NOMEM : MC_OK;
}

/* Record a handler's nonzero result and stop the parser. */
static void handled(xl_xml *xm, int rc)
{
	if (rc && !xm->rc) {
		xm->rc = rc;
		xmlStopParser(xm->ctxt);
	}
}

static void on_start(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri,
		     int nns, const xmlChar **ns, int nattrs, int ndefaulted, const xmlChar **attrs)
{
	xl_xml *xm = ctx;
	const char *name = (const char *)local;
	if (!xm->rc)
		handled(xm, xm->h->start(xm->user, xm->h->kind ? xm->h->kind(name) : 0, name, attrs,
					 nattrs));
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	xl_xml *xm = ctx;
	const char *name = (const char *)local;
	if (!xm->rc)
		handled(xm, xm->h->end(xm->user, xm->h->kind ? xm->h->kind(name) : 0, name));
}

static void on_text(void *ctx, const xmlChar *s, int n)
{
	xl_xml *xm = ctx;
	if (!xm->rc && xm->h->text)
		handled(xm, xm->h->text(xm->user, (const char *)s, (size_t)n));
}

/* xlsx parts never have a DTD; refusing it before its internal subset is parsed
 * also rules out entity expansion attacks. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
	xl_xml *xm = ctx;
	xm->doctype = true;
	handled(xm, MC_ERR_FORMAT);
}

#if LIBXML_VERSION >= 21200
#define XL_CONST_ERROR const xmlError *
#else
#define XL_CONST_ERROR xmlErrorPtr
#endif

/* Keep the most severe libxml2 error (the first of that severity); warnings are dropped. */
static void on_xml_error(void *ctx, XL_CONST_ERROR e)
{
	xl_xml *xm = ctx;
	int level = (int)e->level;
	if (level < XML_ERR_ERROR || level <= xm->xml_level)
		return;
	xm->xml_level = level;
	xm->xml_line = e->line;
	snprintf(xm->xml_msg, sizeof xm->xml_msg, "%s", e->message ? e->message : "parse error");
	/* One line: libxml2 ends messages with '\n' and sometimes adds a second line. */
	size_t n = strlen(xm->xml_msg);
	while (n && (xm->xml_msg[n - 1] == '\n' || xm->xml_msg[n - 1] == ' '))
		xm->xml_msg[--n] = '\0';
	for (char *p = strchr(xm->xml_msg, '\n'); p; p = strchr(p, '\n'))
		*p = ' ';
}

/* Map a libzip error code to ours. */
static mc_code zip_code_to_mc(int ze)
{
	switch (ze) {
	case ZIP_ER_MEMORY: return MC_ERR_NOMEM;
	case ZIP_ER_READ:
	case ZIP_ER_SEEK:
	case ZIP_ER_OPEN:
	case ZIP_ER_TELL: return MC_ERR_IO;
	case ZIP_ER_COMPNOTSUPP:
	case ZIP_ER_ENCRNOTSUPP:
	case ZIP_ER_NOPASSWD:
	case ZIP_ER_MULTIDISK: return MC_ERR_UNSUPPORTED;
	default: return MC_ERR_FORMAT;
	}
}

/* Check the declared size and open the zip entry. */
static mc_code open_entry(xl_part *pt)
{
	mc_xlsx *x = pt->x;
	zip_int64_t idx = zip_name_locate(x->zip, pt->name, ZIP_FL_NOCASE);
	if (idx < 0)
		return xl_fail(x, pt->err, MC_ERR_FORMAT, "%smissing part '%s'", pt->where,
			       pt->name);
	zip_stat_t st;
	zip_stat_init(&st);
	if (zip_stat_index(x->zip, (zip_uint64_t)idx, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
	    st.size > x->max_part)
		return xl_fail(
			x, pt->err, MC_ERR_LIMIT,
			"%spart '%s' declares %llu bytes uncompressed, over the %zu-byte limit",
			pt->where, pt->name, (unsigned long long)st.size, x->max_part);
	pt->total = 0;
	pt->zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
	if (!pt->zf) {
		zip_error_t *ze = zip_get_error(x->zip);
		return xl_fail(x, pt->err, zip_code_to_mc(zip_error_code_zip(ze)),
			       "%scannot open part '%s': %s", pt->where, pt->name,
			       zip_error_strerror(ze));
	}
	return MC_OK;
}

/* Close the part's zip entry, if it is open. */
static void close_entry(xl_part *pt)
{
	if (pt->zf)
		zip_fclose(pt->zf);
	pt->zf = NULL;
}

uint64_t xl_sheet_size(const mc_xlsx *x, size_t index)
{
	zip_stat_t st;
	zip_stat_init(&st);
	if (index >= x->nsheets || zip_stat(x->zip, x->sheets[index].part, ZIP_FL_NOCASE, &st) ||
	    !(st.valid & ZIP_STAT_SIZE))
		return 0;
	return st.size;
}

mc_code xl_part_read(xl_part *pt, char *buf, size_t cap, size_t *n)
{
	zip_int64_t got = zip_fread(pt->zf, buf, cap);
	*n = 0;
	if (got < 0) {
		zip_error_t *ze = zip_file_get_error(pt->zf);
		return xl_fail(pt->x, pt->err, zip_code_to_mc(zip_error_code_zip(ze)),
			       "%scorrupt zip entry '%s': %s", pt->where, pt->name,
			       zip_error_strerror(ze));
	}
	pt->total += (uint64_t)got;
	if (pt->total > pt->x->max_part)
		return xl_fail(pt->x, pt->err, MC_ERR_LIMIT,
			       "%spart '%s' inflates past the %zu-byte limit", pt->where, pt->name,
			       pt->x->max_part);
	*n = (size_t)got;
	return MC_OK;
}

/* Describe why the parse ended badly (not a handler's error, which is already in err). */
static mc_code parse_fail(xl_xml *xm)
{
	xl_part *pt = xm->pt;
	if (xm->doctype)
		return xl_fail(pt->x, pt->err, MC_ERR_FORMAT,
			       "%spart '%s' has a DOCTYPE, which xlsx parts never have", pt->where,
			       pt->name);
	if (xm->xml_level)
		return xl_fail(pt->x, pt->err, MC_ERR_FORMAT, "%smalformed XML in '%s' line %d: %s",
			       pt->where, pt->name, xm->xml_line, xm->xml_msg);
	return xl_fail(pt->x, pt->err, MC_ERR_FORMAT, "%smalformed XML in '%s'", pt->where,
		       pt->name);
}

/* The SAX2 callbacks we use; everything else (tree building, entities, DTDs) stays off. */
static void init_sax(xmlSAXHandler *sax)
{
	memset(sax, 0, sizeof *sax);
	sax->initialized = XML_SAX2_MAGIC;
	sax->startElementNs = on_start;
	sax->endElementNs = on_end;
	sax->characters = on_text;
	sax->cdataBlock = on_text;
	sax->ignorableWhitespace = on_text;
	sax->internalSubset = on_doctype;
	sax->serror = on_xml_error;
}

/* Feed the inflated part to the push parser chunk by chunk. */
static mc_code feed(xl_xml *xm, char *buf)
{
	size_t n = 0;
	mc_code rc = MC_OK;
	while (!xm->rc && (rc = xl_part_read(xm->pt, buf, xm->pt->x->chunk, &n)) == MC_OK && n)
		xmlParseChunk(xm->ctxt, buf, (int)n, 0);
	if (!xm->rc && rc)
		return rc;
	if (!xm->rc)
		xmlParseChunk(xm->ctxt, NULL, 0, 1);
	if (xm->rc == XL_STOP)
		return MC_OK;
	if (xm->rc && !xm->doctype)
		return (mc_code)xm->rc;
	return xm->ctxt->wellFormed && !xm->doctype ? MC_OK : parse_fail(xm);
}

/* Parse the open part with libxml2's SAX2 push parser. */
static mc_code parse_libxml2(xl_part *pt, const xl_handlers *h, void *user)
{
	xl_xml xm = {.pt = pt, .h = h, .user = user};
	xmlSAXHandler sax;
	init_sax(&sax);
	mc_code rc;
	char *buf = malloc(pt->x->chunk);
	xm.ctxt = buf ? xmlCreatePushParserCtxt(&sax, &xm, NULL, 0, pt->name) : NULL;
	if (!xm.ctxt) {
		rc = xl_fail(pt->x, pt->err, MC_ERR_NOMEM, "%scannot start an XML parser",
			     pt->where);
	} else {
		/* No NOENT (entities stay unexpanded), no DTDLOAD, no network. */
		xmlCtxtUseOptions(xm.ctxt, XML_PARSE_NONET);
		rc = feed(&xm, buf);
		xmlFreeParserCtxt(xm.ctxt);
	}
	free(buf);
	return rc;
}

mc_code xl_parse_part(mc_xlsx *x, const char *part, const char *what, const xl_handlers *h,
		      void *user, mc_error *err)
{
	char where[240] = "";
	if (what)
		snprintf(where, sizeof where, "%s: ", what);
	xl_part pt = {.x = x, .name = part, .where = where, .err = err};
	bool fast = h->restart && !x->slow;
	if (fast)
		x->fallback[0] = '\0';
	mc_code rc = open_entry(&pt);
	if (rc == MC_OK && fast) {
		int r = xl_fast_parse(&pt, h, user);
		if (r != XL_BAIL) {
			close_entry(&pt);
			return (mc_code)r;
		}
		/* Start over with libxml2: the same events, its messages for malformed XML. */
		close_entry(&pt);
		h->restart(user);
		rc = open_entry(&pt);
	}
	if (rc == MC_OK)
		rc = parse_libxml2(&pt, h, user);
	close_entry(&pt);
	return rc;
}

void xl_set_slow(mc_xlsx *x, bool slow)
{
	x->slow = slow;
}

void xl_set_chunk(mc_xlsx *x, size_t bytes)
{
	x->chunk = bytes ? bytes : CHUNK;
}

const char *xl_fallback_reason(const mc_xlsx *x)
{
	return x->fallback;
}
