/* Zip parts as capped XML event streams: libzip inflates, libxml2's SAX2 push parser tokenises. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xlsx/xlsx_int.h"

/* Bytes handed to the parser at a time. */
#define CHUNK 65536

/* One part being parsed. */
typedef struct xl_xml {
	mc_xlsx *x;
	const char *part;
	char where[240]; /* "sheet 'Hoja1': " before messages, or "" */
	const xl_handlers *h;
	void *user;
	mc_error *err;
	xmlParserCtxtPtr ctxt;
	int rc;        /* first nonzero handler result */
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
	if (!xm->rc)
		handled(xm, xm->h->start(xm->user, (const char *)local, attrs, nattrs));
}

static void on_end(void *ctx, const xmlChar *local, const xmlChar *prefix, const xmlChar *uri)
{
	xl_xml *xm = ctx;
	if (!xm->rc)
		handled(xm, xm->h->end(xm->user, (const char *)local));
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
static mc_code open_entry(xl_xml *xm, zip_file_t **zf)
{
	mc_xlsx *x = xm->x;
	zip_int64_t idx = zip_name_locate(x->zip, xm->part, ZIP_FL_NOCASE);
	if (idx < 0)
		return xl_fail(x, xm->err, MC_ERR_FORMAT, "%smissing part '%s'", xm->where,
		               xm->part);
	zip_stat_t st;
	zip_stat_init(&st);
	if (zip_stat_index(x->zip, (zip_uint64_t)idx, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
	    st.size > x->max_part)
		return xl_fail(
		    x, xm->err, MC_ERR_LIMIT,
		    "%spart '%s' declares %llu bytes uncompressed, over the %zu-byte limit",
		    xm->where, xm->part, (unsigned long long)st.size, x->max_part);
	*zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
	if (!*zf) {
		zip_error_t *ze = zip_get_error(x->zip);
		return xl_fail(x, xm->err, zip_code_to_mc(zip_error_code_zip(ze)),
		               "%scannot open part '%s': %s", xm->where, xm->part,
		               zip_error_strerror(ze));
	}
	return MC_OK;
}

/* Read the next chunk, counting it against the cap; -1 with err set on failure. */
static zip_int64_t read_chunk(xl_xml *xm, zip_file_t *zf, char *buf, uint64_t *total)
{
	zip_int64_t n = zip_fread(zf, buf, CHUNK);
	if (n < 0) {
		zip_error_t *ze = zip_file_get_error(zf);
		xl_fail(xm->x, xm->err, zip_code_to_mc(zip_error_code_zip(ze)),
		        "%scorrupt zip entry '%s': %s", xm->where, xm->part,
		        zip_error_strerror(ze));
		return -1;
	}
	*total += (uint64_t)n;
	if (*total > xm->x->max_part) {
		xl_fail(xm->x, xm->err, MC_ERR_LIMIT,
		        "%spart '%s' inflates past the %zu-byte limit", xm->where, xm->part,
		        xm->x->max_part);
		return -1;
	}
	return n;
}

/* Describe why the parse ended badly (not a handler's error, which is already in err). */
static mc_code parse_fail(xl_xml *xm)
{
	if (xm->doctype)
		return xl_fail(xm->x, xm->err, MC_ERR_FORMAT,
		               "%spart '%s' has a DOCTYPE, which xlsx parts never have", xm->where,
		               xm->part);
	if (xm->xml_level)
		return xl_fail(xm->x, xm->err, MC_ERR_FORMAT, "%smalformed XML in '%s' line %d: %s",
		               xm->where, xm->part, xm->xml_line, xm->xml_msg);
	return xl_fail(xm->x, xm->err, MC_ERR_FORMAT, "%smalformed XML in '%s'", xm->where,
	               xm->part);
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
static mc_code feed(xl_xml *xm, zip_file_t *zf, char *buf)
{
	uint64_t total = 0;
	zip_int64_t n = 0;
	while (!xm->rc && (n = read_chunk(xm, zf, buf, &total)) > 0)
		xmlParseChunk(xm->ctxt, buf, (int)n, 0);
	if (!xm->rc && n < 0)
		return xm->err ? xm->err->code : MC_ERR_FORMAT;
	if (!xm->rc)
		xmlParseChunk(xm->ctxt, NULL, 0, 1);
	if (xm->rc == XL_STOP)
		return MC_OK;
	if (xm->rc && !xm->doctype)
		return (mc_code)xm->rc;
	return xm->ctxt->wellFormed && !xm->doctype ? MC_OK : parse_fail(xm);
}

mc_code xl_parse_part(mc_xlsx *x, const char *part, const char *what, const xl_handlers *h,
                      void *user, mc_error *err)
{
	xl_xml xm = {.x = x, .part = part, .h = h, .user = user, .err = err};
	if (what)
		snprintf(xm.where, sizeof xm.where, "%s: ", what);
	zip_file_t *zf = NULL;
	mc_code rc = open_entry(&xm, &zf);
	if (rc)
		return rc;
	xmlSAXHandler sax;
	init_sax(&sax);
	char *buf = malloc(CHUNK);
	xm.ctxt = buf ? xmlCreatePushParserCtxt(&sax, &xm, NULL, 0, part) : NULL;
	if (!xm.ctxt) {
		rc = xl_fail(x, err, MC_ERR_NOMEM, "%scannot start an XML parser", xm.where);
	} else {
		/* No NOENT (entities stay unexpanded), no DTDLOAD, no network. */
		xmlCtxtUseOptions(xm.ctxt, XML_PARSE_NONET);
		rc = feed(&xm, zf, buf);
		xmlFreeParserCtxt(xm.ctxt);
	}
	free(buf);
	zip_fclose(zf);
	return rc;
}
