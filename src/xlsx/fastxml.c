/* A strict streaming tokenizer for the XML spreadsheet writers emit; the rest goes to libxml2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xlsx/xlsx_int.h"

/* Longest unfinished tag carried from one chunk to the next; a longer one goes to libxml2. */
#define FX_TAG_MAX 65536
/* Deepest nesting read here (deeper goes to libxml2) and longest element name, NUL included. */
#define FX_DEPTH_MAX 128
#define FX_NAME_MAX 64
#define FX_ATTRS_MAX 64
/* Distinct element names interned, and the slots of their hash table (a power of two). */
#define FX_ELEMS_MAX 256
#define FX_SLOTS 512
/* Longest reference decoded: "&#x" or "&#", up to 8 or 9 digits, ";". */
#define FX_REF_MAX 12
/* Longest XML declaration looked for before giving up. */
#define FX_DECL_MAX 256

/* The input ends inside a token: keep its bytes and wait for the next chunk. */
#define FX_MORE (-3)

/* Byte classes, as bit flags. */
enum {
	C_TEXT = 1,   /* stops a plain run of character data */
	C_VALUE = 2,  /* stops a plain run of an attribute value */
	C_NAME = 4,   /* inside a name: ASCII letters, digits, '_', '-', '.' */
	C_START = 8,  /* starts a name: ASCII letters, '_' */
	C_SPACE = 16, /* XML whitespace */
};

/* An element name met in the part: qualified name, where its local part starts, its kind. */
typedef struct fx_elem {
	char name[FX_NAME_MAX];
	size_t n, local;
	int kind;
} fx_elem;

/* A name in the buffer (an attribute's local part, for the duplicate check). */
typedef struct fx_span {
	const char *s;
	size_t n;
} fx_span;

/* The tokenizer reading one part. */
typedef struct fx {
	const xl_handlers *h;
	void *user;
	mc_xlsx *x;
	unsigned char cls[256];
	char *buf; /* unconsumed bytes, then the chunk just read, then a NUL sentinel */
	size_t len, cap;
	unsigned long long base; /* offset in the part of buf[0], for messages */
	char *scratch;		 /* decoded attribute values of the tag being read */
	size_t slen;
	const xmlChar *attrs[FX_ATTRS_MAX * 5];
	char *name_end[FX_ATTRS_MAX]; /* where each kept attribute's name ends in buf */
	int nattrs;
	fx_span seen[FX_ATTRS_MAX]; /* local names of this tag's attributes and xmlns */
	int nseen;
	fx_elem *elems; /* FX_ELEMS_MAX interned names */
	int nelems;
	unsigned short slot[FX_SLOTS];	 /* hash of a name -> 1 + its index in elems, 0 = free */
	fx_elem *stack[FX_DEPTH_MAX];	 /* the open elements */
	fx_elem *last[FX_DEPTH_MAX + 1]; /* the element last opened at each depth */
	int depth;
	bool bom_ok;  /* nothing read yet: a byte order mark may come */
	bool decl_ok; /* no token read yet: an XML declaration may come */
	bool root_done;
	int rc;		  /* why scanning stopped: FX_MORE, XL_BAIL or a handler's result */
	const char *more; /* FX_MORE: the unfinished token, kept for the next chunk */
} fx;

static void fx_classes(unsigned char *cls)
{
	for (int c = 0; c < 256; c++) {
		unsigned char k = 0;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (c < 0x20 || c >= 0x80 || c == '<' || c == '&')
			k |= C_TEXT | C_VALUE;
		if (c == '>')
			k |= C_TEXT;
		if (c == '"' || c == '\'')
			k |= C_VALUE;
		if (alpha || c == '_')
			k |= C_START | C_NAME;
		if ((c >= '0' && c <= '9') || c == '-' || c == '.')
			k |= C_NAME;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			k |= C_SPACE;
		cls[c] = k;
	}
	/* Tabs and line feeds are plain character data; a CR is normalised. */
	cls['\t'] &= (unsigned char)~C_TEXT;
	cls['\n'] &= (unsigned char)~C_TEXT;
}

/* Scanning functions take the position of their token and return the position after it, or
 * NULL when scanning must stop, with the reason in f->rc. */

/* Give up on the fast path, saying why and where (p points into buf). */
static const char *fx_fail(fx *f, const char *p, const char *why)
{
	snprintf(f->x->fallback, sizeof f->x->fallback, "%s at byte %llu", why,
		 f->base + (unsigned long long)(p - f->buf));
	f->rc = XL_BAIL;
	return NULL;
}

/* The input ends inside the token that starts at token: wait for the next chunk. */
static const char *fx_more(fx *f, const char *token)
{
	f->rc = FX_MORE;
	f->more = token;
	return NULL;
}

/* A handler's result: go on at next, or stop. */
static const char *fx_handled(fx *f, int rc, const char *next)
{
	if (rc == 0)
		return next;
	f->rc = rc;
	return NULL;
}

/* Skip whitespace; the NUL after the buffered bytes stops it (and every other scan). */
static const char *fx_skip_space(const fx *f, const char *p)
{
	while (f->cls[(unsigned char)*p] & C_SPACE)
		p++;
	return p;
}

/* Byte-wise equality of short strings (names are a few bytes: cheaper than memcmp). */
static bool fx_same(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Bytes of the UTF-8 XML character at p (lead byte >= 0x80): 2 to 4; 0 when malformed,
 * overlong, a surrogate, U+FFFE/U+FFFF or beyond U+10FFFF; FX_MORE when the input ends in it. */
static int fx_utf8(const unsigned char *p, const unsigned char *end)
{
	static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
	unsigned c = p[0];
	if (c < 0xC2 || c > 0xF4)
		return 0;
	int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
	if (end - p < n)
		return FX_MORE;
	uint32_t cp = c & (0x7Fu >> n);
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3Fu);
	}
	if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE ||
	    cp == 0xFFFF)
		return 0;
	return n;
}

/* True for the code points XML 1.0 allows in a document. */
static bool fx_xml_char(uint32_t v)
{
	return v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) ||
	       (v >= 0xE000 && v <= 0xFFFD) || (v >= 0x10000 && v <= 0x10FFFF);
}

/* Write code point v as UTF-8; returns the bytes written. */
static int fx_put_utf8(char *out, uint32_t v)
{
	if (v < 0x80) {
		out[0] = (char)v;
		return 1;
	}
	if (v < 0x800) {
		out[0] = (char)(0xC0 | v >> 6);
		out[1] = (char)(0x80 | (v & 0x3F));
		return 2;
	}
	if (v < 0x10000) {
		out[0] = (char)(0xE0 | v >> 12);
		out[1] = (char)(0x80 | (v >> 6 & 0x3F));
		out[2] = (char)(0x80 | (v & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | v >> 18);
	out[1] = (char)(0x80 | (v >> 12 & 0x3F));
	out[2] = (char)(0x80 | (v >> 6 & 0x3F));
	out[3] = (char)(0x80 | (v & 0x3F));
	return 4;
}

/* Decode "&#DDD;" or "&#xHHH;" (s..semi is what lies between '&' and ';'); 0 when invalid. */
static int fx_char_ref(const char *s, const char *semi, char out[4])
{
	bool hex = s + 1 < semi && s[1] == 'x';
	const char *d = s + 1 + hex;
	uint32_t v = 0;
	if (d == semi)
		return 0;
	for (; d < semi; d++) {
		int k = *d >= '0' && *d <= '9'				  ? *d - '0'
			: hex && (*d | 0x20) >= 'a' && (*d | 0x20) <= 'f' ? (*d | 0x20) - 'a' + 10
									  : -1;
		if (k < 0)
			return 0;
		v = v * (hex ? 16u : 10u) + (uint32_t)k;
	}
	return fx_xml_char(v) ? fx_put_utf8(out, v) : 0;
}

/* Decode the reference at p ('&') into out, *outn bytes.  Returns its length; 0 when it is
 * neither one of the five predefined entities nor a valid character reference; FX_MORE when
 * the input ends before its ';'. */
static int fx_ref(const char *p, const char *end, char out[4], int *outn)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"apos", '\''}, {"quot", '"'}};
	size_t avail = (size_t)(end - p);
	const char *semi = memchr(p, ';', avail < FX_REF_MAX ? avail : FX_REF_MAX);
	if (!semi)
		return avail < FX_REF_MAX ? FX_MORE : 0;
	const char *s = p + 1;
	size_t k = (size_t)(semi - s);
	*outn = 0;
	if (k > 1 && s[0] == '#')
		*outn = fx_char_ref(s, semi, out);
	for (size_t i = 0; i < sizeof named / sizeof *named && !*outn; i++)
		if (strlen(named[i].name) == k && memcmp(s, named[i].name, k) == 0) {
			out[0] = named[i].c;
			*outn = 1;
		}
	return *outn ? (int)(semi - p) + 1 : 0;
}

static int fx_emit(fx *f, const char *s, size_t n)
{
	return n && f->h->text ? f->h->text(f->user, s, n) : 0;
}

/* What stopped a run of character data at p, other than '<': a non-ASCII character (checked),
 * a reference or a CR (emitted as what they stand for); anything else is outside the subset. */
static const char *fx_text_special(fx *f, const char *p, const char *end)
{
	char out[4];
	int n = 0, len = 0;
	if ((unsigned char)*p >= 0x80) {
		len = fx_utf8((const unsigned char *)p, (const unsigned char *)end);
		return len > 0		? p + len
		       : len == FX_MORE ? fx_more(f, p)
					: fx_fail(f, p, "invalid UTF-8");
	}
	if (*p == '\r') {
		/* XML reads CR LF and a lone CR as one line feed; a CR that ends the buffer waits
		 * for the next byte. */
		if (p + 1 == end)
			return fx_more(f, p);
		return fx_handled(f, fx_emit(f, "\n", 1), p + 1 + (p[1] == '\n'));
	}
	if (*p != '&')
		return fx_fail(f, p, *p == '>' ? "'>' in character data" : "a control character");
	len = fx_ref(p, end, out, &n);
	if (len == FX_MORE)
		return fx_more(f, p);
	if (len == 0)
		return fx_fail(f, p, "an unknown entity or invalid character reference");
	return fx_handled(f, fx_emit(f, out, (size_t)n), p + len);
}

/* Between the top-level tokens only whitespace may come. */
static const char *fx_outside(fx *f, const char *p, const char *end)
{
	p = fx_skip_space(f, p);
	return p < end && *p != '<' ? fx_fail(f, p, "text outside the root element") : p;
}

/* Character data from p up to the next '<', emitted in pieces. */
static const char *fx_text(fx *f, const char *p, const char *end)
{
	if (f->depth == 0)
		return fx_outside(f, p, end);
	for (;;) {
		const char *run = p;
		while (!(f->cls[(unsigned char)*p] & C_TEXT))
			p++;
		/* Non-ASCII characters stay in the run once checked. */
		while ((unsigned char)*p >= 0x80) {
			const char *q = fx_text_special(f, p, end);
			if (!q) {
				/* Cut inside a character: hand over the run before it, then wait.
				 */
				int rc = f->rc == FX_MORE ? fx_emit(f, run, (size_t)(p - run)) : 0;
				f->rc = rc ? rc : f->rc;
				return NULL;
			}
			p = q;
			while (!(f->cls[(unsigned char)*p] & C_TEXT))
				p++;
		}
		int rc = fx_emit(f, run, (size_t)(p - run));
		if (rc || p == end || *p == '<')
			return fx_handled(f, rc, p);
		if (!(p = fx_text_special(f, p, end)))
			return NULL;
	}
}

/* The rest of a name after a ':' at p (s is where the name began): one colon at most, with
 * name characters on both sides.  *local is where the local part starts. */
static const char *fx_prefixed(fx *f, const char *token, const char *s, const char *p,
			       const char *end, size_t *local)
{
	if (!(f->cls[(unsigned char)p[1]] & C_START))
		return p + 1 == end ? fx_more(f, token)
				    : fx_fail(f, s, "a malformed qualified name");
	*local = (size_t)(p + 1 - s);
	for (p += 2; f->cls[(unsigned char)*p] & C_NAME;)
		p++;
	return *p == ':' ? fx_fail(f, s, "a malformed qualified name") : p;
}

/* The interned entry of element name s (n bytes, local part at local), looked up in the
 * element last opened at this depth first; new names are classified once by the handlers. */
static fx_elem *fx_lookup(fx *f, const char *s, size_t n, size_t local)
{
	fx_elem *e = f->last[f->depth];
	if (e && e->n == n && fx_same(e->name, s, n))
		return e;
	unsigned h = ((unsigned)n * 31u + (unsigned char)s[0] * 7u + (unsigned char)s[n - 1]);
	int i;
	for (; (i = f->slot[h & (FX_SLOTS - 1)]) != 0; h++) {
		e = &f->elems[i - 1];
		if (e->n == n && fx_same(e->name, s, n))
			return f->last[f->depth] = e;
	}
	const char *why = n >= FX_NAME_MAX	      ? "an element name over 63 bytes"
			  : f->nelems == FX_ELEMS_MAX ? "more than 256 distinct element names"
			  : local == 6 && memcmp(s, "xmlns:", 6) == 0
				  ? "an element with the reserved prefix xmlns"
				  : NULL;
	if (why) {
		fx_fail(f, s, why);
		return NULL;
	}
	e = &f->elems[f->nelems++];
	memcpy(e->name, s, n);
	e->name[n] = '\0';
	e->n = n;
	e->local = local;
	e->kind = f->h->kind ? f->h->kind(e->name + local) : 0;
	f->slot[h & (FX_SLOTS - 1)] = (unsigned short)f->nelems;
	return f->last[f->depth] = e;
}

/* An attribute value with references, whitespace to normalise, non-ASCII text or the other
 * quote inside, from its opening quote at p: decoded into scratch as libxml2 would pass it. */
static const char *fx_value_slow(fx *f, const char *token, const char *p, const char *end,
				 const char **v, const char **ve)
{
	char q = *p++, *out = f->scratch + f->slen, *o = out;
	for (;;) {
		if (p == end)
			return fx_more(f, token);
		unsigned char c = (unsigned char)*p;
		int n = 1;
		if (c == (unsigned char)q)
			break;
		if (c >= 0x80) {
			n = fx_utf8((const unsigned char *)p, (const unsigned char *)end);
			if (n <= 0)
				return n == FX_MORE ? fx_more(f, token)
						    : fx_fail(f, p, "invalid UTF-8");
			memcpy(o, p, (size_t)n);
			o += n;
		} else if (c == '&') {
			int k;
			n = fx_ref(p, end, o, &k);
			if (n <= 0)
				return n == FX_MORE ? fx_more(f, token)
						    : fx_fail(f, p,
							      "an unknown entity or invalid "
							      "character reference");
			o += k;
		} else if (c == '\t' || c == '\n' || c == '\r') {
			/* Attribute-value normalisation: each whitespace character (CR LF as one)
			 * becomes a space. */
			if (c == '\r' && p + 1 == end)
				return fx_more(f, token);
			n += c == '\r' && p[1] == '\n';
			*o++ = ' ';
		} else if (c == '<' || c < 0x20) {
			return fx_fail(f, p, "'<' or a control character in an attribute value");
		} else {
			*o++ = (char)c;
		}
		p += n;
	}
	*v = out;
	*ve = o;
	f->slen += (size_t)(o - out);
	return p + 1;
}

/* Keep an attribute (xmlns declarations are checked, not kept); the same local name twice
 * goes to libxml2, which decides whether namespaces tell them apart.  The name is
 * NUL-terminated in place once the whole tag has been read (fx_open). */
static bool fx_keep_attr(fx *f, const char *s, size_t n, size_t local, const char *v,
			 const char *ve)
{
	const char *ls = s + local;
	size_t ln = n - local;
	bool xmlns = s[0] == 'x' && ((local == 0 && n == 5 && memcmp(s, "xmlns", 5) == 0) ||
				     (local == 6 && memcmp(s, "xmlns:", 6) == 0));
	for (int i = 0; i < f->nseen; i++)
		if (f->seen[i].n == ln && fx_same(f->seen[i].s, ls, ln))
			return fx_fail(f, s, "an attribute given twice");
	if (f->nseen == FX_ATTRS_MAX)
		return fx_fail(f, s, "more than 64 attributes");
	f->seen[f->nseen++] = (fx_span){ls, ln};
	if (xmlns)
		return true;
	f->name_end[f->nattrs] = (char *)ls + ln;
	const xmlChar **a = f->attrs + 5 * f->nattrs++;
	a[0] = (const xmlChar *)ls;
	a[1] = a[2] = NULL;
	a[3] = (const xmlChar *)v;
	a[4] = (const xmlChar *)ve;
	return true;
}

/* One attribute at p (of the tag at token): name, '=', quoted value. */
static const char *fx_attr(fx *f, const char *token, const char *p, const char *end)
{
	const unsigned char *cls = f->cls;
	const char *s = p, *v, *ve;
	size_t local = 0;
	if (!(cls[(unsigned char)*p] & C_START))
		return fx_fail(f, p,
			       "an attribute name outside ASCII letters, digits, '_', '-', '.'");
	do
		p++;
	while (cls[(unsigned char)*p] & C_NAME);
	if (*p == ':' && !(p = fx_prefixed(f, token, s, p, end, &local)))
		return NULL;
	size_t n = (size_t)(p - s);
	if (*p != '=' && *(p = fx_skip_space(f, p)) != '=')
		return p == end ? fx_more(f, token) : fx_fail(f, p, "an attribute without '='");
	p++;
	if (*p != '"' && *p != '\'' && *(p = fx_skip_space(f, p)) != '"' && *p != '\'')
		return p == end ? fx_more(f, token) : fx_fail(f, p, "an unquoted attribute value");
	char q = *p;
	v = ++p;
	while (!(cls[(unsigned char)*p] & C_VALUE))
		p++;
	if (*p == q)
		ve = p++;
	else if (p == end)
		return fx_more(f, token);
	else if (!(p = fx_value_slow(f, token, v - 1, end, &v, &ve)))
		return NULL;
	return fx_keep_attr(f, s, n, local, v, ve) ? p : NULL;
}

/* An element has started (and, when empty, ended): tell the handlers, stack it. */
static const char *fx_open(fx *f, fx_elem *e, bool empty, const char *next)
{
	if (f->root_done || f->depth == FX_DEPTH_MAX)
		return fx_fail(f, next,
			       f->root_done ? "a second root element"
					    : "elements nested deeper than 128");
	for (int i = 0; i < f->nattrs; i++)
		*f->name_end[i] = '\0';
	const char *local = e->name + e->local;
	int rc = f->h->start(f->user, e->kind, local, f->attrs, f->nattrs);
	if (rc || !empty) {
		f->stack[f->depth] = e;
		f->depth += !rc;
		return fx_handled(f, rc, next);
	}
	f->root_done = f->depth == 0;
	return fx_handled(f, f->h->end(f->user, e->kind, local), next);
}

/* The end of an element's plain-text content from p (the end of its start tag): where its
 * end tag "</name>" starts when only text without references, CR or non-ASCII bytes comes
 * before it; NULL for any other content. */
static const char *fx_leaf_text(const fx *f, const fx_elem *e, const char *p, const char *end)
{
	while (!(f->cls[(unsigned char)*p] & C_TEXT))
		p++;
	if (*p != '<' || p[1] != '/' || (size_t)(end - p) < e->n + 3 ||
	    !fx_same(p + 2, e->name, e->n) || p[2 + e->n] != '>')
		return NULL;
	return p;
}

/* An element holding only text from text to te: one leaf event instead of three. */
static const char *fx_leaf(fx *f, fx_elem *e, const char *text, const char *te)
{
	const char *next = te + 3 + e->n;
	if (f->root_done || f->depth == FX_DEPTH_MAX)
		return fx_fail(f, text,
			       f->root_done ? "a second root element"
					    : "elements nested deeper than 128");
	for (int i = 0; i < f->nattrs; i++)
		*f->name_end[i] = '\0';
	const char *local = e->name + e->local;
	size_t n = (size_t)(te - text);
	f->root_done = f->depth == 0;
	if (f->h->leaf)
		return fx_handled(
			f, f->h->leaf(f->user, e->kind, local, f->attrs, f->nattrs, text, n), next);
	int rc = f->h->start(f->user, e->kind, local, f->attrs, f->nattrs);
	if (rc == 0)
		rc = fx_emit(f, text, n);
	return fx_handled(f, rc ? rc : f->h->end(f->user, e->kind, local), next);
}

/* "<name attr='v' ...>" or "<name .../>" at tag (the caller saw a name start after the "<"). */
static const char *fx_start_tag(fx *f, const char *tag, const char *end)
{
	const unsigned char *cls = f->cls;
	const char *p = tag + 1, *s = p;
	size_t local = 0;
	do
		p++;
	while (cls[(unsigned char)*p] & C_NAME);
	if (*p == ':' && !(p = fx_prefixed(f, tag, s, p, end, &local)))
		return NULL;
	size_t n = (size_t)(p - s);
	f->slen = 0;
	f->nattrs = f->nseen = 0;
	for (;;) {
		const char *w = p;
		while (cls[(unsigned char)*p] & C_SPACE)
			p++;
		if (*p == '>' || *p == '/')
			break;
		if (p == w || p == end)
			return p == end ? fx_more(f, tag) : fx_fail(f, p, "a malformed tag");
		if (!(p = fx_attr(f, tag, p, end)))
			return NULL;
	}
	bool empty = *p == '/';
	if (empty && p[1] != '>')
		return p + 1 == end ? fx_more(f, tag) : fx_fail(f, p, "a malformed tag");
	fx_elem *e = fx_lookup(f, s, n, local);
	if (!e)
		return NULL;
	const char *next = p + 1 + empty, *te;
	if (!empty && (te = fx_leaf_text(f, e, next, end)) != NULL)
		return fx_leaf(f, e, next, te);
	return fx_open(f, e, empty, next);
}

/* "</name>" at tag: it must close the innermost open element, so compare with its name. */
static const char *fx_end_tag(fx *f, const char *tag, const char *end)
{
	const char *p = tag + 2;
	if (f->depth == 0)
		return fx_fail(f, tag, "an end tag without a start tag");
	fx_elem *e = f->stack[f->depth - 1];
	size_t n = e->n, avail = (size_t)(end - p);
	if (avail <= n)
		return fx_same(p, e->name, avail) ? fx_more(f, tag)
						  : fx_fail(f, tag, "a mismatched end tag");
	if (!fx_same(p, e->name, n))
		return fx_fail(f, tag, "a mismatched end tag");
	p += n;
	if (*p != '>') {
		if ((f->cls[(unsigned char)*p] & C_NAME) || *p == ':')
			return fx_fail(f, tag, "a mismatched end tag");
		p = fx_skip_space(f, p);
		if (*p != '>')
			return p == end ? fx_more(f, tag) : fx_fail(f, p, "a malformed end tag");
	}
	f->depth--;
	f->root_done = f->depth == 0;
	return fx_handled(f, f->h->end(f->user, e->kind, e->name + e->local), p + 1);
}

/* One pseudo-attribute of the XML declaration: its index in keys (>= first), its value. */
static const char *fx_decl_pair(fx *f, const char *p, const char *end, int first, int *key,
				const char **val, size_t *vlen)
{
	static const char *const keys[] = {"version", "encoding", "standalone"};
	const char *s = p;
	while (p < end && *p >= 'a' && *p <= 'z')
		p++;
	*key = -1;
	for (int k = first; k < 3; k++)
		if (strlen(keys[k]) == (size_t)(p - s) && memcmp(s, keys[k], (size_t)(p - s)) == 0)
			*key = k;
	while (p < end && (f->cls[(unsigned char)*p] & C_SPACE))
		p++;
	if (*key < 0 || p == end || *p != '=')
		return NULL;
	for (p++; p < end && (f->cls[(unsigned char)*p] & C_SPACE);)
		p++;
	const char *q = p < end && (*p == '"' || *p == '\'')
				? memchr(p + 1, *p, (size_t)(end - p - 1))
				: NULL;
	if (!q)
		return NULL;
	*val = p + 1;
	*vlen = (size_t)(q - p - 1);
	return q + 1;
}

/* True when the declared value is one we read natively. */
static bool fx_decl_value_ok(int key, const char *v, size_t n)
{
	if (key == 0)
		return n == 3 && memcmp(v, "1.0", 3) == 0;
	if (key == 1)
		return (n == 5 && strncasecmp(v, "UTF-8", 5) == 0) ||
		       (n == 4 && strncasecmp(v, "UTF8", 4) == 0);
	return (n == 3 && memcmp(v, "yes", 3) == 0) || (n == 2 && memcmp(v, "no", 2) == 0);
}

/* The XML declaration at the very start: version 1.0, encoding UTF-8 if any, standalone. */
static const char *fx_decl(fx *f, const char *p, const char *end)
{
	const char *q = memmem(p, (size_t)(end - p), "?>", 2);
	if (!q)
		return end - p < FX_DECL_MAX ? fx_more(f, p)
					     : fx_fail(f, p, "a long XML declaration");
	if (q - p < 6 || memcmp(p, "<?xml", 5) != 0 || !(f->cls[(unsigned char)p[5]] & C_SPACE))
		return fx_fail(f, p, "a processing instruction");
	p += 5;
	for (int next = 0;;) {
		const char *s = p, *val;
		size_t vlen;
		int key;
		while (p < q && (f->cls[(unsigned char)*p] & C_SPACE))
			p++;
		if (p == q && next > 0)
			break;
		if (p == s || p == q || !(p = fx_decl_pair(f, p, q, next, &key, &val, &vlen)))
			return fx_fail(f, s, "a malformed XML declaration");
		if ((next == 0 && key != 0) || !fx_decl_value_ok(key, val, vlen))
			return fx_fail(f, s, "an XML declaration other than version 1.0 in UTF-8");
		next = key + 1;
	}
	return q + 2;
}

/* The start of the part: a byte order mark, then perhaps the XML declaration. */
static const char *fx_prolog(fx *f, const char *p, const char *end, bool last)
{
	size_t k = (size_t)(end - p) < 3 ? (size_t)(end - p) : 3;
	if (f->bom_ok && memcmp(p, "\xEF\xBB\xBF", k) == 0) {
		if (k == 3)
			p += 3;
		else if (!last)
			return fx_more(f, p);
	}
	f->bom_ok = false;
	if (end - p < 2 && !last)
		return fx_more(f, p);
	if (end - p >= 2 && p[0] == '<' && p[1] == '?' && !(p = fx_decl(f, p, end)))
		return NULL; /* unfinished (decl_ok stays) or refused */
	f->decl_ok = false;
	return p;
}

/* Markup that is neither a start nor an end tag. */
static const char *fx_odd_markup(fx *f, const char *p, const char *end)
{
	if (p + 1 == end)
		return fx_more(f, p);
	if (p[1] == '?')
		return fx_fail(f, p, "a processing instruction");
	if (p[1] == '!')
		return fx_fail(f, p, "a comment, CDATA section or DOCTYPE");
	return fx_fail(f, p, "an element name outside ASCII letters, digits, '_', '-', '.'");
}

/* Tokens from p to end; NULL when something stopped the scan (f->rc). */
static const char *fx_scan(fx *f, const char *p, const char *end)
{
	while (p && p < end) {
		if (*p != '<')
			p = fx_text(f, p, end);
		else if (p[1] == '/')
			p = fx_end_tag(f, p, end);
		else if (f->cls[(unsigned char)p[1]] & C_START)
			p = fx_start_tag(f, p, end);
		else
			p = fx_odd_markup(f, p, end);
	}
	return p;
}

/* fx_fail() for the callers that return a code. */
static int fx_give_up(fx *f, const char *p, const char *why)
{
	fx_fail(f, p, why);
	return XL_BAIL;
}

/* Tokenise what the buffer holds; an unfinished token stays for the next chunk. */
static int fx_feed(fx *f, bool last)
{
	const char *p = f->buf, *end = f->buf + f->len;
	f->buf[f->len] = '\0';
	f->rc = 0;
	if (f->decl_ok)
		p = fx_prolog(f, p, end, last);
	p = p ? fx_scan(f, p, end) : NULL;
	int rc = p ? 0 : f->rc;
	if (rc == FX_MORE) {
		p = f->more;
		rc = last ? fx_give_up(f, p, "the part ends inside a token") : 0;
	} else if (rc == 0 && last && !f->root_done) {
		rc = fx_give_up(f, p, "the part ends before its root element does");
	}
	if (!p)
		return rc;
	size_t used = (size_t)(p - f->buf);
	f->base += used;
	f->len -= used;
	memmove(f->buf, p, f->len);
	if (rc == 0 && f->len > FX_TAG_MAX)
		rc = fx_give_up(f, f->buf, "a tag longer than 64 KiB");
	return rc;
}

static void fx_free(fx *f)
{
	if (f) {
		free(f->buf);
		free(f->scratch);
		free(f->elems);
		free(f);
	}
}

static fx *fx_new(mc_xlsx *x, const xl_handlers *h, void *user)
{
	fx *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->x = x;
	f->h = h;
	f->user = user;
	f->cap = FX_TAG_MAX + x->chunk;
	/* A NUL sentinel follows the buffered bytes. */
	f->buf = malloc(f->cap + 1);
	/* Decoded values are never longer than the tag they come from. */
	f->scratch = malloc(f->cap);
	f->elems = malloc(FX_ELEMS_MAX * sizeof *f->elems);
	if (!f->buf || !f->scratch || !f->elems) {
		fx_free(f);
		return NULL;
	}
	fx_classes(f->cls);
	f->bom_ok = f->decl_ok = true;
	return f;
}

int xl_fast_parse(xl_part *pt, const xl_handlers *h, void *user)
{
	fx *f = fx_new(pt->x, h, user);
	if (!f)
		return xl_fail(pt->x, pt->err, MC_ERR_NOMEM, "%sout of memory", pt->where);
	int rc = 0;
	for (bool last = false; rc == 0 && !last;) {
		size_t n;
		rc = xl_part_read(pt, f->buf + f->len, pt->x->chunk, &n);
		f->len += n;
		last = n == 0;
		if (rc == 0)
			rc = fx_feed(f, last);
	}
	fx_free(f);
	return rc == XL_STOP ? MC_OK : rc;
}
