/* Thrift compact protocol: a bounds-checked reader that can skip any value, and a writer. */
#include "parquet/parquet_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- Reader ---- */

void tc_reader_init(tc_reader *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->end = p + n;
	r->depth = 0;
	r->failed = false;
	r->msg[0] = '\0';
}

bool(tc_fail)(tc_reader *r, const char *fmt, ...)
{
	if (!r->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->msg, sizeof r->msg, fmt, ap);
		va_end(ap);
		r->failed = true;
	}
	r->p = r->end;
	return false;
}

static size_t tc_left(const tc_reader *r)
{
	return (size_t)(r->end - r->p);
}

static bool tc_read_byte(tc_reader *r, uint8_t *b)
{
	if (r->failed)
		return false;
	if (r->p >= r->end)
		return tc_fail(r, "truncated");
	*b = *r->p++;
	return true;
}

bool tc_read_varint(tc_reader *r, uint64_t *v)
{
	uint64_t x = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b = 0;
		if (!tc_read_byte(r, &b))
			return false;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return tc_fail(r, "varint longer than 10 bytes");
}

static int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

bool tc_read_i64(tc_reader *r, int64_t *v)
{
	uint64_t u = 0;
	if (!tc_read_varint(r, &u))
		return false;
	*v = unzigzag(u);
	return true;
}

bool tc_read_i32(tc_reader *r, int32_t *v)
{
	int64_t x;
	if (!tc_read_i64(r, &x))
		return false;
	if (x < INT32_MIN || x > INT32_MAX)
		return tc_fail(r, "i32 value %lld out of range", (long long)x);
	*v = (int32_t)x;
	return true;
}

bool tc_read_binary(tc_reader *r, const uint8_t **p, size_t *n)
{
	uint64_t len = 0;
	if (!tc_read_varint(r, &len))
		return false;
	if (len > tc_left(r))
		return tc_fail(r, "truncated (string of %llu bytes)", (unsigned long long)len);
	*p = r->p;
	*n = (size_t)len;
	r->p += len;
	return true;
}

bool tc_struct_begin(tc_reader *r, int16_t *last_id)
{
	if (r->failed)
		return false;
	if (++r->depth > TC_MAX_DEPTH)
		return tc_fail(r, "structures nested deeper than %d", TC_MAX_DEPTH);
	*last_id = 0;
	return true;
}

bool tc_struct_end(tc_reader *r)
{
	r->depth--;
	return !r->failed;
}

bool tc_next_field(tc_reader *r, int16_t *last_id, tc_field *f)
{
	uint8_t b = 0;
	if (!tc_read_byte(r, &b))
		return false;
	if (b == TC_STOP)
		return false;
	f->type = b & 0x0f;
	if (f->type == TC_STOP || f->type > TC_STRUCT)
		return tc_fail(r, "unknown field type %u", f->type);
	int delta = b >> 4;
	if (delta) {
		int id = *last_id + delta;
		if (id > INT16_MAX)
			return tc_fail(r, "field id out of range");
		f->id = (int16_t)id;
	} else {
		int32_t id;
		if (!tc_read_i32(r, &id))
			return false;
		if (id < INT16_MIN || id > INT16_MAX)
			return tc_fail(r, "field id %d out of range", id);
		f->id = (int16_t)id;
	}
	*last_id = f->id;
	return true;
}

/* Smallest encoded size of one element of a compact type, for list size checks. */
static size_t tc_min_size(uint8_t type)
{
	switch (type) {
	case TC_DOUBLE: return 8;
	default: return 1;
	}
}

bool tc_read_list(tc_reader *r, uint8_t *elem_type, uint32_t *n)
{
	uint8_t b = 0;
	if (!tc_read_byte(r, &b))
		return false;
	uint64_t size = b >> 4;
	*elem_type = b & 0x0f;
	if (size == 15 && !tc_read_varint(r, &size))
		return false;
	if (*elem_type == TC_STOP || *elem_type > TC_STRUCT)
		return tc_fail(r, "unknown list element type %u", *elem_type);
	if (size > tc_left(r) / tc_min_size(*elem_type))
		return tc_fail(r, "truncated (list of %llu elements)", (unsigned long long)size);
	*n = (uint32_t)size;
	return true;
}

static bool tc_skip_bytes(tc_reader *r, size_t n)
{
	if (n > tc_left(r))
		return tc_fail(r, "truncated");
	r->p += n;
	return true;
}

static bool tc_skip_struct(tc_reader *r)
{
	int16_t last;
	tc_field f;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f))
		if (!tc_skip(r, f.type))
			break;
	return tc_struct_end(r);
}

static bool tc_skip_list(tc_reader *r)
{
	uint8_t et;
	uint32_t n;
	if (!tc_read_list(r, &et, &n))
		return false;
	if (++r->depth > TC_MAX_DEPTH)
		return tc_fail(r, "structures nested deeper than %d", TC_MAX_DEPTH);
	for (uint32_t i = 0; i < n && !r->failed; i++) {
		if (et == TC_TRUE || et == TC_FALSE)
			tc_skip_bytes(r, 1); /* list booleans take one byte each */
		else
			tc_skip(r, et);
	}
	r->depth--;
	return !r->failed;
}

static bool tc_skip_map(tc_reader *r)
{
	uint64_t n = 0;
	uint8_t kv = 0;
	if (!tc_read_varint(r, &n))
		return false;
	if (n == 0)
		return true;
	if (!tc_read_byte(r, &kv))
		return false;
	uint8_t kt = kv >> 4, vt = kv & 0x0f;
	if (kt == TC_STOP || kt > TC_STRUCT || vt == TC_STOP || vt > TC_STRUCT)
		return tc_fail(r, "unknown map element type");
	if (n > tc_left(r) / 2)
		return tc_fail(r, "truncated (map of %llu entries)", (unsigned long long)n);
	if (++r->depth > TC_MAX_DEPTH)
		return tc_fail(r, "structures nested deeper than %d", TC_MAX_DEPTH);
	for (uint64_t i = 0; i < n && !r->failed; i++) {
		if (kt == TC_TRUE || kt == TC_FALSE)
			tc_skip_bytes(r, 1);
		else
			tc_skip(r, kt);
		if (vt == TC_TRUE || vt == TC_FALSE)
			tc_skip_bytes(r, 1);
		else
			tc_skip(r, vt);
	}
	r->depth--;
	return !r->failed;
}

bool tc_skip(tc_reader *r, uint8_t type)
{
	uint64_t v;
	const uint8_t *p;
	size_t n;
	if (r->failed)
		return false;
	switch (type) {
	case TC_TRUE:
	case TC_FALSE: return true; /* a field's bool lives in its header */
	case TC_BYTE: return tc_skip_bytes(r, 1);
	case TC_I16:
	case TC_I32:
	case TC_I64: return tc_read_varint(r, &v);
	case TC_DOUBLE: return tc_skip_bytes(r, 8);
	case TC_BINARY: return tc_read_binary(r, &p, &n);
	case TC_LIST:
	case TC_SET: return tc_skip_list(r);
	case TC_MAP: return tc_skip_map(r);
	case TC_STRUCT: return tc_skip_struct(r);
	default: return tc_fail(r, "unknown type %u", type);
	}
}

static const char *tc_type_name(uint8_t t)
{
	static const char *const names[] = {"stop", "bool", "bool",   "byte",	"i16",
					    "i32",  "i64",  "double", "binary", "list",
					    "set",  "map",  "struct"};
	return t < sizeof names / sizeof *names ? names[t] : "?";
}

bool tc_field_expect(tc_reader *r, const tc_field *f, uint8_t type)
{
	bool ok = f->type == type || ((type == TC_TRUE || type == TC_FALSE) &&
				      (f->type == TC_TRUE || f->type == TC_FALSE));
	if (type == TC_LIST && f->type == TC_SET)
		ok = true;
	if (!ok)
		return tc_fail(r, "field %d is a %s, expected a %s", f->id, tc_type_name(f->type),
			       tc_type_name(type));
	return true;
}

bool tc_field_i32(tc_reader *r, const tc_field *f, int32_t *v)
{
	if (f->type == TC_BYTE) { /* i8 fields (IntType.bitWidth) */
		uint8_t b = 0;
		if (!tc_read_byte(r, &b))
			return false;
		*v = (int8_t)b;
		return true;
	}
	if (f->type == TC_I16)
		return tc_read_i32(r, v);
	return tc_field_expect(r, f, TC_I32) && tc_read_i32(r, v);
}

bool tc_field_i64(tc_reader *r, const tc_field *f, int64_t *v)
{
	if (f->type == TC_I32 || f->type == TC_I16)
		return tc_read_i64(r, v);
	return tc_field_expect(r, f, TC_I64) && tc_read_i64(r, v);
}

bool tc_field_bool(tc_reader *r, const tc_field *f, bool *v)
{
	if (!tc_field_expect(r, f, TC_TRUE))
		return false;
	*v = f->type == TC_TRUE;
	return true;
}

bool tc_field_binary(tc_reader *r, const tc_field *f, const uint8_t **p, size_t *n)
{
	return tc_field_expect(r, f, TC_BINARY) && tc_read_binary(r, p, n);
}

/* ---- Writer ---- */

void tc_writer_init(tc_writer *w, mc_buf *out)
{
	w->out = out;
	w->depth = 0;
	w->last[0] = 0;
	w->rc = MC_OK;
}

/* Room for n more bytes (headers are small: the buffer grows rarely). */
static bool tw_room(tc_writer *w, size_t n)
{
	if (w->rc)
		return false;
	mc_buf *o = w->out;
	if (o->len + n < o->cap && (!o->max || o->len + n <= o->max))
		return true;
	return !(w->rc = mc_buf_reserve(o, n));
}

static void tw_byte(tc_writer *w, uint8_t b)
{
	if (!tw_room(w, 1))
		return;
	mc_buf *o = w->out;
	o->data[o->len++] = b;
	o->data[o->len] = '\0';
}

void tw_varint(tc_writer *w, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;
	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	if (!tw_room(w, n))
		return;
	mc_buf *o = w->out;
	for (size_t i = 0; i < n; i++)
		o->data[o->len + i] = tmp[i];
	o->len += n;
	o->data[o->len] = '\0';
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void tw_i32(tc_writer *w, int32_t v)
{
	tw_varint(w, zigzag(v));
}

void tw_binary(tc_writer *w, const void *p, size_t n)
{
	tw_varint(w, n);
	if (!w->rc && n)
		w->rc = mc_buf_append(w->out, p, n);
}

void tw_field_begin(tc_writer *w, int16_t id, uint8_t type)
{
	int delta = id - w->last[w->depth];
	if (delta > 0 && delta <= 15) {
		tw_byte(w, (uint8_t)(delta << 4 | type));
	} else {
		tw_byte(w, type);
		tw_varint(w, zigzag(id));
	}
	w->last[w->depth] = id;
}

void tw_field_i32(tc_writer *w, int16_t id, int32_t v)
{
	tw_field_begin(w, id, TC_I32);
	tw_varint(w, zigzag(v));
}

void tw_field_i64(tc_writer *w, int16_t id, int64_t v)
{
	tw_field_begin(w, id, TC_I64);
	tw_varint(w, zigzag(v));
}

void tw_field_bool(tc_writer *w, int16_t id, bool v)
{
	tw_field_begin(w, id, v ? TC_TRUE : TC_FALSE);
}

void tw_field_binary(tc_writer *w, int16_t id, const void *p, size_t n)
{
	tw_field_begin(w, id, TC_BINARY);
	tw_binary(w, p, n);
}

void tw_struct_begin(tc_writer *w)
{
	if (w->depth + 1 >= TC_MAX_DEPTH) {
		w->rc = MC_ERR_INVALID;
		return;
	}
	w->last[++w->depth] = 0;
}

void tw_field_struct(tc_writer *w, int16_t id)
{
	tw_field_begin(w, id, TC_STRUCT);
	tw_struct_begin(w);
}

void tw_struct_end(tc_writer *w)
{
	tw_byte(w, TC_STOP);
	if (w->depth > 0)
		w->depth--;
}

void tw_field_list(tc_writer *w, int16_t id, uint8_t elem_type, size_t n)
{
	tw_field_begin(w, id, TC_LIST);
	if (n < 15) {
		tw_byte(w, (uint8_t)(n << 4 | elem_type));
	} else {
		tw_byte(w, (uint8_t)(0xf0 | elem_type));
		tw_varint(w, n);
	}
}
