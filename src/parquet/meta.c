/* Decoding of the Parquet footer (FileMetaData and its parts) and of page headers from Thrift. */
#include "parquet/parquet_int.h"

#include <stdlib.h>
#include <string.h>

static bool missing(tc_reader *r, const char *what, const char *field)
{
	return tc_fail(r, "%s lacks required field '%s'", what, field);
}

static bool decode_stats(tc_reader *r, pq_stats *s)
{
	int16_t last;
	tc_field f;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		switch (f.id) {
		case 1: s->has_max = tc_field_binary(r, &f, &s->max.p, &s->max.n); break;
		case 2: s->has_min = tc_field_binary(r, &f, &s->min.p, &s->min.n); break;
		case 3: s->has_null_count = tc_field_i64(r, &f, &s->null_count); break;
		case 5:
			s->has_max_value = tc_field_binary(r, &f, &s->max_value.p, &s->max_value.n);
			break;
		case 6:
			s->has_min_value = tc_field_binary(r, &f, &s->min_value.p, &s->min_value.n);
			break;
		default: tc_skip(r, f.type);
		}
	}
	return tc_struct_end(r);
}

/* TimeUnit union: the member id is the unit. */
static bool decode_time_unit(tc_reader *r, int *unit)
{
	int16_t last;
	tc_field f;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		if (f.type == TC_STRUCT && f.id >= 1 && f.id <= 3)
			*unit = f.id;
		tc_skip(r, f.type);
	}
	return tc_struct_end(r);
}

/* TimestampType / TimeType {1: isAdjustedToUTC, 2: unit}. */
static bool decode_time_type(tc_reader *r, pq_logical *lt)
{
	int16_t last;
	tc_field f;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		if (f.id == 1)
			tc_field_bool(r, &f, &lt->utc);
		else if (f.id == 2 && tc_field_expect(r, &f, TC_STRUCT))
			decode_time_unit(r, &lt->unit);
		else
			tc_skip(r, f.type);
	}
	return tc_struct_end(r);
}

/* IntType {1: bitWidth, 2: isSigned} and DecimalType {1: scale, 2: precision}. */
static bool decode_pair(tc_reader *r, pq_logical *lt)
{
	int16_t last;
	tc_field f;
	int32_t v;
	bool b;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		if (lt->kind == PQ_LT_INTEGER && f.id == 1 && tc_field_i32(r, &f, &v))
			lt->bits = v;
		else if (lt->kind == PQ_LT_INTEGER && f.id == 2 && tc_field_bool(r, &f, &b))
			lt->sign = b;
		else if (lt->kind == PQ_LT_DECIMAL && f.id == 1 && tc_field_i32(r, &f, &v))
			lt->scale = v;
		else if (lt->kind == PQ_LT_DECIMAL && f.id == 2 && tc_field_i32(r, &f, &v))
			lt->precision = v;
		else
			tc_skip(r, f.type);
	}
	return tc_struct_end(r);
}

/* LogicalType union: remember which member is set and its parameters. */
static bool decode_logical(tc_reader *r, pq_logical *lt)
{
	int16_t last;
	tc_field f;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		if (f.type != TC_STRUCT) {
			tc_skip(r, f.type);
			continue;
		}
		lt->kind = f.id;
		if (f.id == PQ_LT_TIMESTAMP || f.id == PQ_LT_TIME)
			decode_time_type(r, lt);
		else if (f.id == PQ_LT_INTEGER || f.id == PQ_LT_DECIMAL)
			decode_pair(r, lt);
		else
			tc_skip(r, f.type);
	}
	return tc_struct_end(r);
}

static bool decode_schema_elem(tc_reader *r, pq_schema_elem *e)
{
	int16_t last;
	tc_field f;
	bool has_name = false;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		switch (f.id) {
		case 1: e->has_type = tc_field_i32(r, &f, &e->type); break;
		case 2: tc_field_i32(r, &f, &e->type_length); break;
		case 3: e->has_repetition = tc_field_i32(r, &f, &e->repetition); break;
		case 4: has_name = tc_field_binary(r, &f, &e->name.p, &e->name.n); break;
		case 5: e->has_num_children = tc_field_i32(r, &f, &e->num_children); break;
		case 6: e->has_converted = tc_field_i32(r, &f, &e->converted); break;
		case 7: tc_field_i32(r, &f, &e->logical.scale); break;
		case 8: tc_field_i32(r, &f, &e->logical.precision); break;
		case 10:
			if (tc_field_expect(r, &f, TC_STRUCT))
				decode_logical(r, &e->logical);
			break;
		default: tc_skip(r, f.type);
		}
	}
	if (!r->failed && !has_name)
		missing(r, "SchemaElement", "name");
	return tc_struct_end(r);
}

static bool decode_encodings(tc_reader *r, pq_column_meta *m)
{
	uint8_t et;
	uint32_t n;
	if (!tc_read_list(r, &et, &n))
		return false;
	if (et != TC_I32)
		return tc_fail(r, "encodings is not a list of i32");
	for (uint32_t i = 0; i < n; i++) {
		int32_t e;
		if (!tc_read_i32(r, &e))
			return false;
		if (e >= 0 && e < 32)
			m->encodings |= 1u << e;
		else
			m->odd_encoding = true;
	}
	return true;
}

static bool decode_path(tc_reader *r, pq_column_meta *m)
{
	uint8_t et;
	uint32_t n;
	if (!tc_read_list(r, &et, &n))
		return false;
	if (et != TC_BINARY)
		return tc_fail(r, "path_in_schema is not a list of strings");
	m->path_len = n;
	for (uint32_t i = 0; i < n; i++) {
		pq_bytes b;
		if (!tc_read_binary(r, &b.p, &b.n))
			return false;
		if (i == 0)
			m->path0 = b;
	}
	return true;
}

static bool decode_column_meta(tc_reader *r, pq_column_meta *m)
{
	int16_t last;
	tc_field f;
	unsigned seen = 0;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		bool ok = true;
		switch (f.id) {
		case 1: ok = tc_field_i32(r, &f, &m->type); break;
		case 2: ok = tc_field_expect(r, &f, TC_LIST) && decode_encodings(r, m); break;
		case 3: ok = tc_field_expect(r, &f, TC_LIST) && decode_path(r, m); break;
		case 4: ok = tc_field_i32(r, &f, &m->codec); break;
		case 5: ok = tc_field_i64(r, &f, &m->num_values); break;
		case 6: ok = tc_field_i64(r, &f, &m->total_uncompressed_size); break;
		case 7: ok = tc_field_i64(r, &f, &m->total_compressed_size); break;
		case 9: ok = tc_field_i64(r, &f, &m->data_page_offset); break;
		case 11:
			m->has_dictionary_page_offset =
				tc_field_i64(r, &f, &m->dictionary_page_offset);
			break;
		case 12:
			m->has_stats =
				tc_field_expect(r, &f, TC_STRUCT) && decode_stats(r, &m->stats);
			break;
		default: tc_skip(r, f.type);
		}
		if (ok && f.id >= 1 && f.id <= 9)
			seen |= 1u << f.id;
	}
	static const char *const req[] = {NULL,
					  "type",
					  "encodings",
					  "path_in_schema",
					  "codec",
					  "num_values",
					  "total_uncompressed_size",
					  "total_compressed_size",
					  NULL,
					  "data_page_offset"};
	for (int i = 1; i <= 9 && !r->failed; i++)
		if (req[i] && !(seen & (1u << i)))
			missing(r, "ColumnMetaData", req[i]);
	return tc_struct_end(r);
}

static bool decode_column_chunk(tc_reader *r, pq_column_chunk *c)
{
	int16_t last;
	tc_field f;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		switch (f.id) {
		case 1:
			c->has_file_path = true;
			tc_skip(r, f.type);
			break;
		case 3:
			c->has_meta = tc_field_expect(r, &f, TC_STRUCT) &&
				      decode_column_meta(r, &c->meta);
			break;
		case 8:
		case 9:
			c->encrypted = true;
			tc_skip(r, f.type);
			break;
		default: tc_skip(r, f.type);
		}
	}
	return tc_struct_end(r);
}

static bool decode_row_group(tc_reader *r, pq_row_group *g)
{
	int16_t last;
	tc_field f;
	bool has_cols = false, has_size = false, has_rows = false;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		switch (f.id) {
		case 1: {
			uint8_t et;
			uint32_t n;
			if (!tc_field_expect(r, &f, TC_LIST) || !tc_read_list(r, &et, &n))
				break;
			if (et != TC_STRUCT || g->cols) {
				tc_fail(r, "RowGroup.columns is malformed");
				break;
			}
			g->cols = calloc(n ? n : 1, sizeof *g->cols);
			if (!g->cols) {
				tc_fail(r, "out of memory");
				break;
			}
			g->ncols = n;
			for (uint32_t i = 0; i < n && !r->failed; i++)
				decode_column_chunk(r, &g->cols[i]);
			has_cols = true;
			break;
		}
		case 2: has_size = tc_field_i64(r, &f, &g->total_byte_size); break;
		case 3: has_rows = tc_field_i64(r, &f, &g->num_rows); break;
		case 6:
			g->has_total_compressed_size =
				tc_field_i64(r, &f, &g->total_compressed_size);
			break;
		default: tc_skip(r, f.type);
		}
	}
	if (!r->failed && !has_cols)
		missing(r, "RowGroup", "columns");
	if (!r->failed && !has_size)
		missing(r, "RowGroup", "total_byte_size");
	if (!r->failed && !has_rows)
		missing(r, "RowGroup", "num_rows");
	return tc_struct_end(r);
}

/* Read a list<struct> header and allocate n zeroed elements of `size` bytes. */
static void *struct_list(tc_reader *r, const tc_field *f, size_t size, size_t *n)
{
	uint8_t et;
	uint32_t count;
	if (!tc_field_expect(r, f, TC_LIST) || !tc_read_list(r, &et, &count))
		return NULL;
	if (et != TC_STRUCT) {
		tc_fail(r, "field %d is not a list of structs", f->id);
		return NULL;
	}
	void *a = calloc(count ? count : 1, size);
	if (!a) {
		tc_fail(r, "out of memory");
		return NULL;
	}
	*n = count;
	return a;
}

bool pq_decode_file_meta(tc_reader *r, pq_file_meta *m)
{
	int16_t last;
	tc_field f;
	bool has_version = false, has_schema = false, has_rows = false, has_rgs = false;
	memset(m, 0, sizeof *m);
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		switch (f.id) {
		case 1: has_version = tc_field_i32(r, &f, &m->version); break;
		case 2:
			if (has_schema) {
				tc_fail(r, "FileMetaData.schema appears twice");
				break;
			}
			m->schema = struct_list(r, &f, sizeof *m->schema, &m->nschema);
			for (size_t i = 0; m->schema && i < m->nschema && !r->failed; i++)
				decode_schema_elem(r, &m->schema[i]);
			has_schema = m->schema != NULL;
			break;
		case 3: has_rows = tc_field_i64(r, &f, &m->num_rows); break;
		case 4:
			if (has_rgs) {
				tc_fail(r, "FileMetaData.row_groups appears twice");
				break;
			}
			m->rgs = struct_list(r, &f, sizeof *m->rgs, &m->nrgs);
			for (size_t i = 0; m->rgs && i < m->nrgs && !r->failed; i++)
				decode_row_group(r, &m->rgs[i]);
			has_rgs = m->rgs != NULL;
			break;
		case 6:
			m->has_created_by =
				tc_field_binary(r, &f, &m->created_by.p, &m->created_by.n);
			break;
		case 8:
			m->encrypted = true;
			tc_skip(r, f.type);
			break;
		default: tc_skip(r, f.type);
		}
	}
	if (!r->failed && !has_version)
		missing(r, "FileMetaData", "version");
	if (!r->failed && !has_schema)
		missing(r, "FileMetaData", "schema");
	if (!r->failed && !has_rows)
		missing(r, "FileMetaData", "num_rows");
	if (!r->failed && !has_rgs)
		missing(r, "FileMetaData", "row_groups");
	return tc_struct_end(r);
}

void pq_file_meta_clear(pq_file_meta *m)
{
	for (size_t i = 0; m->rgs && i < m->nrgs; i++)
		free(m->rgs[i].cols);
	free(m->rgs);
	free(m->schema);
	memset(m, 0, sizeof *m);
}

/* DataPageHeader {1 num_values, 2 encoding, 3 def enc, 4 rep enc}. */
static bool decode_data_header(tc_reader *r, pq_page_header *h)
{
	int16_t last;
	tc_field f;
	unsigned seen = 0;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		int32_t *dst[] = {NULL, &h->num_values, &h->encoding, &h->def_encoding,
				  &h->rep_encoding};
		if (f.id >= 1 && f.id <= 4) {
			if (tc_field_i32(r, &f, dst[f.id]))
				seen |= 1u << f.id;
		} else {
			tc_skip(r, f.type);
		}
	}
	if (!r->failed && seen != 0x1e)
		missing(r, "DataPageHeader", "num_values/encoding");
	return tc_struct_end(r);
}

static bool decode_dict_header(tc_reader *r, pq_page_header *h)
{
	int16_t last;
	tc_field f;
	unsigned seen = 0;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		if (f.id == 1 && tc_field_i32(r, &f, &h->num_values))
			seen |= 1;
		else if (f.id == 2 && tc_field_i32(r, &f, &h->encoding))
			seen |= 2;
		else if (f.id != 1 && f.id != 2)
			tc_skip(r, f.type);
	}
	if (!r->failed && seen != 3)
		missing(r, "DictionaryPageHeader", "num_values/encoding");
	return tc_struct_end(r);
}

static bool decode_data_v2_header(tc_reader *r, pq_page_header *h)
{
	int16_t last;
	tc_field f;
	unsigned seen = 0;
	h->is_compressed = true;
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		int32_t *dst[] = {NULL,		&h->num_values, &h->num_nulls, &h->num_rows,
				  &h->encoding, &h->def_len,	&h->rep_len};
		if (f.id >= 1 && f.id <= 6) {
			if (tc_field_i32(r, &f, dst[f.id]))
				seen |= 1u << f.id;
		} else if (f.id == 7) {
			tc_field_bool(r, &f, &h->is_compressed);
		} else {
			tc_skip(r, f.type);
		}
	}
	if (!r->failed && seen != 0x7e)
		missing(r, "DataPageHeaderV2", "num_values/num_nulls/num_rows/encoding/lengths");
	return tc_struct_end(r);
}

bool pq_decode_page_header(tc_reader *r, pq_page_header *h)
{
	int16_t last;
	tc_field f;
	unsigned seen = 0;
	memset(h, 0, sizeof *h);
	if (!tc_struct_begin(r, &last))
		return false;
	while (tc_next_field(r, &last, &f)) {
		switch (f.id) {
		case 1: seen |= tc_field_i32(r, &f, &h->type) ? 1 : 0; break;
		case 2: seen |= tc_field_i32(r, &f, &h->uncompressed_size) ? 2 : 0; break;
		case 3: seen |= tc_field_i32(r, &f, &h->compressed_size) ? 4 : 0; break;
		case 5:
			h->has_data = tc_field_expect(r, &f, TC_STRUCT) && decode_data_header(r, h);
			break;
		case 7:
			h->has_dict = tc_field_expect(r, &f, TC_STRUCT) && decode_dict_header(r, h);
			break;
		case 8:
			h->has_data_v2 =
				tc_field_expect(r, &f, TC_STRUCT) && decode_data_v2_header(r, h);
			break;
		default: tc_skip(r, f.type);
		}
	}
	if (!r->failed && seen != 7)
		missing(r, "PageHeader", "type/uncompressed_page_size/compressed_page_size");
	if (!r->failed && (h->uncompressed_size < 0 || h->compressed_size < 0))
		tc_fail(r, "negative page size");
	return tc_struct_end(r);
}
