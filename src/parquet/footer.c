/* Locating and validating the Parquet footer, and mapping its flat schema to mc_table column types.
 */
#include "parquet/parquet_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t pq_budget(size_t file_len)
{
	size_t b = file_len > MC_PQ_MAX_ALLOC / MC_PQ_MAX_RATIO ? MC_PQ_MAX_ALLOC
								: file_len * MC_PQ_MAX_RATIO;
	if (b < MC_PQ_MIN_BUDGET)
		b = MC_PQ_MIN_BUDGET;
	return b > MC_PQ_MAX_ALLOC ? MC_PQ_MAX_ALLOC : b;
}

mc_code pq_footer_locate(const uint8_t *head, size_t head_len, const uint8_t *tail8,
			 size_t file_len, const char *name, uint32_t *footer_len, mc_error *err)
{
	if (file_len == 0)
		return mc_fail(err, MC_ERR_FORMAT, "cannot read '%s': empty file", name);
	if (head_len < 4 || memcmp(head, PQ_MAGIC, 4) != 0)
		return mc_fail(
			err, MC_ERR_FORMAT,
			"cannot read '%s': not a Parquet file (no 'PAR1' magic at the start)",
			name);
	if (file_len < 12)
		return mc_fail(
			err, MC_ERR_FORMAT,
			"cannot read '%s': truncated (%zu bytes, a Parquet file has 12 at least)",
			name, file_len);
	if (memcmp(tail8 + 4, PQ_MAGIC_ENCRYPTED, 4) == 0)
		return mc_fail(err, MC_ERR_UNSUPPORTED,
			       "cannot read '%s': encrypted footers are not supported", name);
	if (memcmp(tail8 + 4, PQ_MAGIC, 4) != 0)
		return mc_fail(
			err, MC_ERR_FORMAT,
			"cannot read '%s': truncated or not a Parquet file (no 'PAR1' magic at "
			"the end)",
			name);
	uint32_t len = pq_le32(tail8);
	if (len == 0 || len > file_len - 12)
		return mc_fail(
			err, MC_ERR_FORMAT,
			"cannot read '%s': truncated or corrupt (footer of %u bytes in a file "
			"of %zu)",
			name, len, file_len);
	*footer_len = len;
	return MC_OK;
}

void pq_logical_describe(const pq_logical *lt, char *buf, size_t n)
{
	static const char *const units[] = {"?", "MILLIS", "MICROS", "NANOS"};
	const char *unit = units[lt->unit >= 0 && lt->unit <= 3 ? lt->unit : 0];
	switch (lt->kind) {
	case PQ_LT_NONE: snprintf(buf, n, "%s", ""); break;
	case PQ_LT_STRING: snprintf(buf, n, "STRING"); break;
	case PQ_LT_MAP: snprintf(buf, n, "MAP"); break;
	case PQ_LT_LIST: snprintf(buf, n, "LIST"); break;
	case PQ_LT_ENUM: snprintf(buf, n, "ENUM"); break;
	case PQ_LT_DECIMAL: snprintf(buf, n, "DECIMAL(%d,%d)", lt->precision, lt->scale); break;
	case PQ_LT_DATE: snprintf(buf, n, "DATE"); break;
	case PQ_LT_TIME:
		snprintf(buf, n, "TIME(%s,utc=%s)", unit, lt->utc ? "true" : "false");
		break;
	case PQ_LT_TIMESTAMP:
		snprintf(buf, n, "TIMESTAMP(%s,utc=%s)", unit, lt->utc ? "true" : "false");
		break;
	case PQ_LT_INTEGER:
		snprintf(buf, n, "INTEGER(%d,%s)", lt->bits, lt->sign ? "signed" : "unsigned");
		break;
	case PQ_LT_UNKNOWN: snprintf(buf, n, "UNKNOWN"); break;
	case PQ_LT_JSON: snprintf(buf, n, "JSON"); break;
	case PQ_LT_BSON: snprintf(buf, n, "BSON"); break;
	case PQ_LT_UUID: snprintf(buf, n, "UUID"); break;
	case PQ_LT_FLOAT16: snprintf(buf, n, "FLOAT16"); break;
	default: snprintf(buf, n, "logical type #%d", lt->kind); break;
	}
}

static const char *converted_name(int ct)
{
	static const char *const names[] = {"UTF8",
					    "MAP",
					    "MAP_KEY_VALUE",
					    "LIST",
					    "ENUM",
					    "DECIMAL",
					    "DATE",
					    "TIME_MILLIS",
					    "TIME_MICROS",
					    "TIMESTAMP_MILLIS",
					    "TIMESTAMP_MICROS",
					    "UINT_8",
					    "UINT_16",
					    "UINT_32",
					    "UINT_64",
					    "INT_8",
					    "INT_16",
					    "INT_32",
					    "INT_64",
					    "JSON",
					    "BSON",
					    "INTERVAL"};
	return ct >= 0 && ct < (int)(sizeof names / sizeof *names) ? names[ct] : "unknown";
}

static bool leaf_set(pq_leaf *l, mc_type type, mc_time_unit unit)
{
	l->supported = true;
	l->type = type;
	l->unit = unit;
	return true;
}

static bool leaf_reject_physical(pq_leaf *l, const char *what)
{
	snprintf(l->why, sizeof l->why, "physical type %s is not supported", what);
	l->supported = false;
	return false;
}

static bool leaf_reject(pq_leaf *l, const char *what)
{
	const char *phys = mc_parquet_type_name(l->el->type);
	snprintf(l->why, sizeof l->why, "%s on %s is not supported", what, phys);
	l->supported = false;
	return false;
}

/* Map the physical type alone (no annotation, or the UNKNOWN/null logical type). */
static bool map_physical(pq_leaf *l)
{
	switch (l->el->type) {
	case PQ_BOOLEAN: return leaf_set(l, MC_T_BOOL, MC_MICROS);
	case PQ_INT32: return leaf_set(l, MC_T_INT32, MC_MICROS);
	case PQ_INT64: return leaf_set(l, MC_T_INT64, MC_MICROS);
	case PQ_FLOAT: return leaf_set(l, MC_T_FLOAT, MC_MICROS);
	case PQ_DOUBLE: return leaf_set(l, MC_T_DOUBLE, MC_MICROS);
	case PQ_BYTE_ARRAY: return leaf_set(l, MC_T_STRING, MC_MICROS);
	case PQ_INT96: return leaf_reject_physical(l, "INT96 (legacy timestamps)");
	case PQ_FIXED_LEN_BYTE_ARRAY: return leaf_reject_physical(l, "FIXED_LEN_BYTE_ARRAY");
	default: return leaf_reject_physical(l, "?");
	}
}

static bool map_logical(pq_leaf *l, const pq_logical *lt)
{
	char what[48];
	int t = l->el->type;
	pq_logical_describe(lt, what, sizeof what);
	switch (lt->kind) {
	case PQ_LT_STRING:
	case PQ_LT_ENUM:
	case PQ_LT_JSON:
	case PQ_LT_BSON:
		return t == PQ_BYTE_ARRAY ? leaf_set(l, MC_T_STRING, MC_MICROS)
					  : leaf_reject(l, what);
	case PQ_LT_DATE:
		return t == PQ_INT32 ? leaf_set(l, MC_T_DATE, MC_MICROS) : leaf_reject(l, what);
	case PQ_LT_TIMESTAMP:
		if (t != PQ_INT64 || lt->unit < PQ_TU_MILLIS || lt->unit > PQ_TU_NANOS)
			return leaf_reject(l, what);
		return leaf_set(l, MC_T_TIMESTAMP,
				lt->unit == PQ_TU_MILLIS   ? MC_MILLIS
				: lt->unit == PQ_TU_MICROS ? MC_MICROS
							   : MC_NANOS);
	case PQ_LT_INTEGER:
		if (t == PQ_INT32 &&
		    (lt->bits == 8 || lt->bits == 16 || (lt->bits == 32 && lt->sign)))
			return leaf_set(l, MC_T_INT32, MC_MICROS);
		if (t == PQ_INT64 && lt->bits == 64 && lt->sign)
			return leaf_set(l, MC_T_INT64, MC_MICROS);
		return leaf_reject(l, what);
	case PQ_LT_UNKNOWN: return map_physical(l);
	default: return leaf_reject(l, what);
	}
}

static bool map_converted(pq_leaf *l, int ct)
{
	int t = l->el->type;
	bool ok;
	mc_type type = MC_T_INT32;
	mc_time_unit unit = MC_MICROS;
	switch (ct) {
	case PQ_CT_UTF8:
	case PQ_CT_ENUM:
	case PQ_CT_JSON:
	case PQ_CT_BSON:
		ok = t == PQ_BYTE_ARRAY;
		type = MC_T_STRING;
		break;
	case PQ_CT_DATE:
		ok = t == PQ_INT32;
		type = MC_T_DATE;
		break;
	case PQ_CT_TIMESTAMP_MILLIS:
	case PQ_CT_TIMESTAMP_MICROS:
		ok = t == PQ_INT64;
		type = MC_T_TIMESTAMP;
		unit = ct == PQ_CT_TIMESTAMP_MILLIS ? MC_MILLIS : MC_MICROS;
		break;
	case PQ_CT_INT_8:
	case PQ_CT_INT_16:
	case PQ_CT_INT_32:
	case PQ_CT_UINT_8:
	case PQ_CT_UINT_16: ok = t == PQ_INT32; break;
	case PQ_CT_INT_64:
		ok = t == PQ_INT64;
		type = MC_T_INT64;
		break;
	default: ok = false;
	}
	if (!ok) {
		char what[48];
		snprintf(what, sizeof what, "converted type %s", converted_name(ct));
		return leaf_reject(l, what);
	}
	return leaf_set(l, type, unit);
}

static void map_leaf(pq_leaf *l)
{
	const pq_schema_elem *el = l->el;
	if (el->logical.kind != PQ_LT_NONE)
		map_logical(l, &el->logical);
	else if (el->has_converted)
		map_converted(l, el->converted);
	else
		map_physical(l);
}

static char *copy_name(pq_bytes b)
{
	char *s = malloc(b.n + 1);
	if (s) {
		if (b.n)
			memcpy(s, b.p, b.n);
		s[b.n] = '\0';
	}
	return s;
}

/* Check the schema is one root with flat leaves, and map each leaf. */
static mc_code build_leaves(pq_footer *f, mc_error *err)
{
	const pq_file_meta *m = &f->meta;
	if (m->nschema < 1)
		return mc_fail(err, MC_ERR_FORMAT, "cannot read '%s': the schema is empty",
			       f->name);
	f->leaves = calloc(m->nschema, sizeof *f->leaves);
	if (!f->leaves)
		return mc_fail(err, MC_ERR_NOMEM, "cannot read '%s': out of memory", f->name);
	for (size_t i = 1; i < m->nschema; i++) {
		const pq_schema_elem *el = &m->schema[i];
		pq_leaf *l = &f->leaves[f->nleaves++];
		l->el = el;
		l->name = copy_name(el->name);
		if (!l->name)
			return mc_fail(err, MC_ERR_NOMEM, "cannot read '%s': out of memory",
				       f->name);
		if (!el->has_type || (el->has_num_children && el->num_children > 0))
			return mc_fail(
				err, MC_ERR_UNSUPPORTED,
				"cannot read '%s': column '%s' is nested (struct, list or map); "
				"only flat columns are supported",
				f->name, l->name);
		int rep = el->has_repetition ? el->repetition : PQ_REQUIRED;
		if (rep == PQ_REPEATED)
			return mc_fail(
				err, MC_ERR_UNSUPPORTED,
				"cannot read '%s': column '%s' is repeated; only flat columns "
				"are supported",
				f->name, l->name);
		if (rep != PQ_REQUIRED && rep != PQ_OPTIONAL)
			return mc_fail(err, MC_ERR_UNSUPPORTED,
				       "cannot read '%s': column '%s' has repetition %d", f->name,
				       l->name, rep);
		l->optional = rep == PQ_OPTIONAL;
		map_leaf(l);
	}
	const pq_schema_elem *root = &m->schema[0];
	if (!root->has_num_children || (size_t)root->num_children != f->nleaves)
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot read '%s': the schema root has %d children but lists %zu "
			       "columns",
			       f->name, root->has_num_children ? root->num_children : -1,
			       f->nleaves);
	return MC_OK;
}

static mc_code check_chunk(const pq_footer *f, size_t g, size_t c, const pq_column_chunk *cc,
			   mc_error *err)
{
	const char *col = f->leaves[c].name;
	if (cc->encrypted)
		return mc_fail(err, MC_ERR_UNSUPPORTED,
			       "cannot read '%s': column '%s' row group %zu: encrypted columns are "
			       "not supported",
			       f->name, col, g);
	if (cc->has_file_path)
		return mc_fail(
			err, MC_ERR_UNSUPPORTED,
			"cannot read '%s': column '%s' row group %zu: column data in another "
			"file is not supported",
			f->name, col, g);
	if (!cc->has_meta)
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot read '%s': column '%s' row group %zu: no column metadata",
			       f->name, col, g);
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): c < nleaves, all mapped */
	if (cc->meta.type != f->leaves[c].el->type)
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot read '%s': column '%s' row group %zu: chunk type %s differs "
			       "from the schema's %s",
			       f->name, col, g, mc_parquet_type_name(cc->meta.type),
			       mc_parquet_type_name(f->leaves[c].el->type));
	if (cc->meta.num_values < 0 || cc->meta.total_compressed_size < 0 ||
	    cc->meta.data_page_offset < 0)
		return mc_fail(
			err, MC_ERR_FORMAT,
			"cannot read '%s': column '%s' row group %zu: negative size or offset",
			f->name, col, g);
	return MC_OK;
}

static mc_code check_row_groups(const pq_footer *f, mc_error *err)
{
	const pq_file_meta *m = &f->meta;
	if (m->num_rows < 0)
		return mc_fail(err, MC_ERR_FORMAT, "cannot read '%s': negative row count", f->name);
	int64_t total = 0;
	for (size_t g = 0; g < m->nrgs; g++) {
		const pq_row_group *rg = &m->rgs[g];
		if (rg->num_rows < 0 || rg->num_rows > m->num_rows - total)
			return mc_fail(
				err, MC_ERR_FORMAT,
				"cannot read '%s': row group %zu has %lld rows, more than the "
				"file's %lld",
				f->name, g, (long long)rg->num_rows, (long long)m->num_rows);
		total += rg->num_rows;
		if (rg->ncols != f->nleaves)
			return mc_fail(
				err, MC_ERR_FORMAT,
				"cannot read '%s': row group %zu has %zu column chunks for %zu "
				"columns",
				f->name, g, rg->ncols, f->nleaves);
		for (size_t c = 0; c < rg->ncols; c++) {
			mc_code rc = check_chunk(f, g, c, &rg->cols[c], err);
			if (rc)
				return rc;
		}
	}
	if (total != m->num_rows)
		return mc_fail(err, MC_ERR_FORMAT,
			       "cannot read '%s': row groups hold %lld rows, the footer says %lld",
			       f->name, (long long)total, (long long)m->num_rows);
	return MC_OK;
}

mc_code pq_footer_parse(pq_footer *f, const uint8_t *footer, size_t footer_len, size_t file_len,
			const char *name, mc_error *err)
{
	memset(f, 0, sizeof *f);
	f->name = name;
	f->file_len = file_len;
	f->data_end = file_len - 8 - footer_len;
	f->budget = pq_budget(file_len);
	tc_reader r;
	tc_reader_init(&r, footer, footer_len);
	if (!pq_decode_file_meta(&r, &f->meta)) {
		bool nomem = strcmp(r.msg, "out of memory") == 0;
		return mc_fail(err, nomem ? MC_ERR_NOMEM : MC_ERR_FORMAT,
			       "cannot read '%s': footer metadata: %s", name, r.msg);
	}
	if (f->meta.encrypted)
		return mc_fail(err, MC_ERR_UNSUPPORTED,
			       "cannot read '%s': encrypted files are not supported", name);
	mc_code rc = build_leaves(f, err);
	if (!rc)
		rc = check_row_groups(f, err);
	return rc;
}

void pq_footer_free(pq_footer *f)
{
	for (size_t i = 0; i < f->nleaves; i++)
		free(f->leaves[i].name);
	free(f->leaves);
	pq_file_meta_clear(&f->meta);
	f->leaves = NULL;
	f->nleaves = 0;
}

const char *mc_parquet_type_name(int t)
{
	static const char *const names[] = {
		"BOOLEAN", "INT32",  "INT64",	   "INT96",
		"FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
	return t >= 0 && t < (int)(sizeof names / sizeof *names) ? names[t] : "?";
}

const char *mc_parquet_codec_name(int c)
{
	static const char *const names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
					    "BROTLI",	    "LZ4",    "ZSTD", "LZ4_RAW"};
	return c >= 0 && c < (int)(sizeof names / sizeof *names) ? names[c] : "?";
}

const char *mc_parquet_encoding_name(int e)
{
	static const char *const names[] = {"PLAIN",
					    "GROUP_VAR_INT",
					    "PLAIN_DICTIONARY",
					    "RLE",
					    "BIT_PACKED",
					    "DELTA_BINARY_PACKED",
					    "DELTA_LENGTH_BYTE_ARRAY",
					    "DELTA_BYTE_ARRAY",
					    "RLE_DICTIONARY",
					    "BYTE_STREAM_SPLIT"};
	return e >= 0 && e < (int)(sizeof names / sizeof *names) ? names[e] : "?";
}
