/*
 * A tokenizer for the common request body: one flat JSON object whose
 * values are plain strings and numbers.  It accepts only text that jansson
 * (json_loadb with JSON_REJECT_DUPLICATES) reads to the same members, and
 * says no to everything else — escapes, nested values, literals, numbers
 * with an exponent or too many digits, duplicate keys, invalid UTF-8,
 * anything after the object — so that the caller can fall back to jansson,
 * which then gives the answer or the error with its position.
 */
#include <string.h>

#include "serve/serve_int.h"

typedef struct cursor {
	const char *p, *end;
	char *scratch, *scratch_end; /* where strings are copied, NUL-terminated */
} cursor;

static void skip_space(cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

/* A string without escapes or control characters, copied to the scratch space. */
static bool read_string(cursor *c, const char **out, size_t *len)
{
	if (c->p >= c->end || *c->p != '"')
		return false;
	const char *s = ++c->p;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch < 0x20 || ch == '\\')
			return false;
		c->p++;
	}
	size_t n = (size_t)(c->p - s);
	if (c->p >= c->end || n + 1 > (size_t)(c->scratch_end - c->scratch) || !mc_utf8_valid(s, n))
		return false;
	c->p++;
	memcpy(c->scratch, s, n);
	c->scratch[n] = 0;
	*out = c->scratch;
	*len = n;
	c->scratch += n + 1;
	return true;
}

static size_t digits(cursor *c)
{
	const char *s = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return (size_t)(c->p - s);
}

/*
 * A number as JSON writes it, without an exponent: an integer of at most 18
 * digits (its value in ival) or a decimal of at most 40 digits, so jansson
 * can neither overflow nor refuse it.
 */
static bool read_number(cursor *c, mc_flat_member *m)
{
	const char *s = c->p;
	bool neg = c->p < c->end && *c->p == '-';
	c->p += neg;
	const char *int_start = c->p;
	size_t ni = digits(c), nf = 0;
	if (ni == 0 || (ni > 1 && *int_start == '0') || ni > 18)
		return false;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if ((nf = digits(c)) == 0 || ni + nf > 40)
			return false;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E'))
		return false;
	m->type = nf ? MC_FLAT_NUMBER : MC_FLAT_INT;
	m->str = s;
	m->len = (size_t)(c->p - s);
	long long v = 0;
	for (const char *d = int_start; d < int_start + ni; d++)
		v = v * 10 + (*d - '0');
	m->ival = neg ? -v : v;
	return true;
}

static bool read_member(cursor *c, mc_flat_member *m)
{
	size_t klen;
	skip_space(c);
	if (!read_string(c, &m->key, &klen))
		return false;
	skip_space(c);
	if (c->p >= c->end || *c->p != ':')
		return false;
	c->p++;
	skip_space(c);
	if (c->p < c->end && *c->p == '"') {
		m->type = MC_FLAT_STRING;
		return read_string(c, &m->str, &m->len);
	}
	return read_number(c, m);
}

static bool duplicate(const mc_flat_member *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].key, m[n].key))
			return true;
	return false;
}

bool mc_flat_parse(const char *text, size_t n, char *scratch, size_t scratch_cap,
		   mc_flat_member *members, size_t *count)
{
	cursor c = {text, text + n, scratch, scratch + scratch_cap};
	*count = 0;
	skip_space(&c);
	if (c.p >= c.end || *c.p++ != '{')
		return false;
	skip_space(&c);
	bool empty = c.p < c.end && *c.p == '}';
	while (!empty) {
		if (*count == MC_FLAT_MAX || !read_member(&c, &members[*count]) ||
		    duplicate(members, *count))
			return false;
		++*count;
		skip_space(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		break;
	}
	if (c.p >= c.end || *c.p++ != '}')
		return false;
	skip_space(&c);
	return c.p == c.end;
}

const mc_flat_member *mc_flat_get(const mc_flat_member *m, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(m[i].key, key))
			return &m[i];
	return NULL;
}
