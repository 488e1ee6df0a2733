/*
 * A bounds-checked UBJSON reader for XGBoost model bytes.  XGBoost 1.7's own
 * UBJReader copies lengths and counts from the input and reads that many
 * bytes without checking the end of the buffer, and loops forever on an
 * unterminated array, so mc_xgb_load() parses the bytes here first (and
 * checks the model, xgb_check.c) and hands XGBoost only what passed.
 *
 * The grammar is the reader's (src/common/json.cc in XGBoost): markers
 * Z T F (no payload), i U C (1 byte), I (2), l d (4), L (8), S (string);
 * strings and object keys are 'L' + big-endian int64 length + bytes; arrays
 * are '[' '$' type '#' 'L' int64 count + packed items (types d U l L),
 * '[' '#' 'L' int64 count + values, or '[' values ']'; objects are
 * '{' (key value)* '}'.  Numbers are big-endian.
 */
#include "model/xgb_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct ubj_cursor {
	mc_ubj_doc *doc;
	size_t pos;
	mc_error *err;
} ubj_cursor;

static mc_code ubj_value(ubj_cursor *c, int depth, size_t *out);

static mc_code ubj_truncated(ubj_cursor *c)
{
	return mc_fail(c->err, MC_ERR_FORMAT, "UBJSON truncated at byte %zu of %zu", c->pos,
		       c->doc->n);
}

static size_t ubj_left(const ubj_cursor *c)
{
	return c->doc->n - c->pos;
}

static mc_code ubj_skip(ubj_cursor *c, size_t k)
{
	if (ubj_left(c) < k)
		return ubj_truncated(c);
	c->pos += k;
	return MC_OK;
}

static mc_code ubj_expect(ubj_cursor *c, uint8_t want)
{
	if (!ubj_left(c))
		return ubj_truncated(c);
	if (c->doc->p[c->pos] != want)
		return mc_fail(c->err, MC_ERR_FORMAT, "UBJSON: expected '%c' at byte %zu", want,
			       c->pos);
	c->pos++;
	return MC_OK;
}

static uint64_t ubj_be(const uint8_t *p, size_t width)
{
	uint64_t v = 0;
	for (size_t i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/* 'L' then a big-endian int64 that must be a count in [0, limit]. */
static mc_code ubj_count(ubj_cursor *c, uint64_t limit, size_t *out)
{
	mc_code rc = ubj_expect(c, 'L');
	if (rc)
		return rc;
	size_t at = c->pos;
	if (ubj_left(c) < 8)
		return ubj_truncated(c);
	uint64_t v = ubj_be(c->doc->p + c->pos, 8);
	c->pos += 8;
	if (v > (uint64_t)INT64_MAX || v > limit)
		return mc_fail(c->err, MC_ERR_FORMAT,
			       "UBJSON: count at byte %zu exceeds the remaining %zu bytes", at,
			       ubj_left(c));
	*out = (size_t)v;
	return MC_OK;
}

/* A string body or object key: 'L' length, bytes; *at and *len locate the bytes. */
static mc_code ubj_string(ubj_cursor *c, size_t *at, size_t *len)
{
	mc_code rc = ubj_count(c, ubj_left(c), len);
	if (rc)
		return rc;
	/* ubj_count consumed the 9 length bytes, so recheck against what is left now */
	if (*len > ubj_left(c))
		return ubj_truncated(c);
	*at = c->pos;
	c->pos += *len;
	return MC_OK;
}

static size_t ubj_scalar_size(uint8_t marker)
{
	switch (marker) {
	case 'Z':
	case 'T':
	case 'F': return 0;
	case 'i':
	case 'U':
	case 'C': return 1;
	case 'I': return 2;
	case 'l':
	case 'd': return 4;
	case 'L': return 8;
	}
	return SIZE_MAX;
}

static mc_code ubj_new_node(ubj_cursor *c, uint8_t kind, size_t *out)
{
	mc_ubj_doc *d = c->doc;
	if (d->nnodes == MC_UBJ_MAX_NODES)
		return mc_fail(c->err, MC_ERR_LIMIT, "UBJSON: more than %d values at byte %zu",
			       MC_UBJ_MAX_NODES, c->pos);
	if (d->nnodes == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 256;
		mc_ubj_node *node = realloc(d->node, cap * sizeof *node);
		if (!node)
			return mc_fail(c->err, MC_ERR_NOMEM, "UBJSON: out of memory");
		d->node = node;
		d->cap = cap;
	}
	mc_ubj_node *nd = &d->node[d->nnodes];
	memset(nd, 0, sizeof *nd);
	nd->kind = kind;
	*out = d->nnodes++;
	return MC_OK;
}

/* A scalar's value from its payload. */
static void ubj_scalar(mc_ubj_node *nd, uint8_t marker, const uint8_t *p)
{
	switch (marker) {
	case 'i': nd->integer = (int8_t)p[0]; break;
	case 'U':
	case 'C': nd->integer = p[0]; break;
	case 'I': nd->integer = (int16_t)ubj_be(p, 2); break;
	case 'l': nd->integer = (int32_t)ubj_be(p, 4); break;
	case 'L': nd->integer = (int64_t)ubj_be(p, 8); break;
	case 'd': {
		uint32_t bits = (uint32_t)ubj_be(p, 4);
		float f;
		memcpy(&f, &bits, sizeof f);
		nd->number = f;
		break;
	}
	}
}

static mc_code ubj_typed_array(ubj_cursor *c, size_t self)
{
	if (!ubj_left(c))
		return ubj_truncated(c);
	size_t at = c->pos;
	uint8_t type = c->doc->p[c->pos++];
	if (type != 'd' && type != 'U' && type != 'l' && type != 'L')
		return mc_fail(c->err, MC_ERR_FORMAT, "UBJSON: unsupported typed array at byte %zu",
			       at);
	mc_code rc = ubj_expect(c, '#');
	if (rc)
		return rc;
	size_t width = ubj_scalar_size(type), count;
	if ((rc = ubj_count(c, SIZE_MAX / width, &count)))
		return rc;
	size_t data = c->pos;
	if ((rc = ubj_skip(c, count * width)))
		return rc;
	mc_ubj_node *nd = &c->doc->node[self];
	nd->kind = '$';
	nd->type = type;
	nd->data = data;
	nd->count = count;
	return MC_OK;
}

/* Link member `child` after `*last` in container `self`. */
static void ubj_link(mc_ubj_doc *d, size_t self, size_t *last, size_t child)
{
	if (*last)
		d->node[*last].next = child;
	else
		d->node[self].child = child;
	*last = child;
	d->node[self].count++;
}

static mc_code ubj_array(ubj_cursor *c, int depth, size_t self)
{
	if (!ubj_left(c))
		return ubj_truncated(c);
	uint8_t next = c->doc->p[c->pos];
	if (next == '$') {
		c->pos++;
		return ubj_typed_array(c, self);
	}
	mc_code rc;
	size_t last = 0, child;
	if (next == '#') {
		c->pos++;
		size_t count;
		/* every value takes at least its marker byte */
		if ((rc = ubj_count(c, ubj_left(c), &count)))
			return rc;
		for (size_t i = 0; i < count; i++) {
			if ((rc = ubj_value(c, depth + 1, &child)))
				return rc;
			ubj_link(c->doc, self, &last, child);
		}
		return MC_OK;
	}
	while (1) {
		if (!ubj_left(c))
			return ubj_truncated(c);
		if (c->doc->p[c->pos] == ']') {
			c->pos++;
			return MC_OK;
		}
		if ((rc = ubj_value(c, depth + 1, &child)))
			return rc;
		ubj_link(c->doc, self, &last, child);
	}
}

static mc_code ubj_object(ubj_cursor *c, int depth, size_t self)
{
	mc_code rc;
	size_t last = 0, child, key = 0, key_len = 0;
	while (1) {
		if (!ubj_left(c))
			return ubj_truncated(c);
		if (c->doc->p[c->pos] == '}') {
			c->pos++;
			return MC_OK;
		}
		if ((rc = ubj_string(c, &key, &key_len)) || (rc = ubj_value(c, depth + 1, &child)))
			return rc;
		c->doc->node[child].key = key;
		c->doc->node[child].key_len = key_len;
		ubj_link(c->doc, self, &last, child);
	}
}

static mc_code ubj_value(ubj_cursor *c, int depth, size_t *out)
{
	if (depth > MC_UBJ_MAX_DEPTH)
		return mc_fail(c->err, MC_ERR_FORMAT, "UBJSON nested deeper than %d at byte %zu",
			       MC_UBJ_MAX_DEPTH, c->pos);
	if (!ubj_left(c))
		return ubj_truncated(c);
	size_t at = c->pos;
	uint8_t marker = c->doc->p[c->pos++];
	size_t size = ubj_scalar_size(marker);
	if (size == SIZE_MAX && marker != '{' && marker != '[' && marker != 'S')
		return mc_fail(c->err, MC_ERR_FORMAT, "UBJSON: unknown marker 0x%02x at byte %zu",
			       marker, at);
	uint8_t kind = marker == 'd' || marker == 'Z' || marker == 'T' || marker == 'F' ||
				       marker == '{' || marker == '[' || marker == 'S'
			       ? marker
			       : 'i';
	mc_code rc = ubj_new_node(c, kind, out);
	if (rc)
		return rc;
	switch (marker) {
	case '{': return ubj_object(c, depth, *out);
	case '[': return ubj_array(c, depth, *out);
	case 'S': {
		size_t data = 0, len = 0;
		if ((rc = ubj_string(c, &data, &len)))
			return rc;
		c->doc->node[*out].data = data;
		c->doc->node[*out].count = len;
		return MC_OK;
	}
	}
	if (ubj_left(c) < size)
		return ubj_truncated(c);
	ubj_scalar(&c->doc->node[*out], marker, c->doc->p + c->pos);
	c->pos += size;
	return MC_OK;
}

mc_code mc_ubj_parse(mc_ubj_doc *doc, const uint8_t *p, size_t n, mc_error *err)
{
	memset(doc, 0, sizeof *doc);
	doc->p = p;
	doc->n = n;
	ubj_cursor c = {doc, 0, err};
	size_t root;
	mc_code rc = ubj_value(&c, 0, &root);
	if (!rc && c.pos != n)
		rc = mc_fail(err, MC_ERR_FORMAT, "UBJSON: %zu unexpected bytes after the value",
			     n - c.pos);
	if (rc)
		mc_ubj_release(doc);
	return rc;
}

void mc_ubj_release(mc_ubj_doc *doc)
{
	free(doc->node);
	doc->node = NULL;
	doc->nnodes = doc->cap = 0;
}

size_t mc_ubj_get(const mc_ubj_doc *doc, size_t obj, const char *key)
{
	if (doc->node[obj].kind != '{')
		return 0;
	size_t len = strlen(key);
	for (size_t i = doc->node[obj].child; i; i = doc->node[i].next)
		if (doc->node[i].key_len == len && memcmp(doc->p + doc->node[i].key, key, len) == 0)
			return i;
	return 0;
}

int32_t mc_ubj_i32(const mc_ubj_doc *doc, size_t arr, size_t i)
{
	return (int32_t)ubj_be(doc->p + doc->node[arr].data + 4 * i, 4);
}

uint8_t mc_ubj_u8(const mc_ubj_doc *doc, size_t arr, size_t i)
{
	return doc->p[doc->node[arr].data + i];
}
