/* Private declarations of the Parquet module: Thrift compact protocol, footer structs, encodings,
 * codecs. */
#ifndef MILKCAST_PARQUET_INT_H
#define MILKCAST_PARQUET_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"
#include "milkcast/parquet.h"
#include "milkcast/table.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Parquet module assumes a little-endian host"
#endif

/*
 * Keep a hot loop out of its caller: inlined into a large function, its variables end up on
 * the stack.
 */
#if defined(__GNUC__)
#define PQ_NOINLINE __attribute__((noinline))
#else
#define PQ_NOINLINE
#endif

#define PQ_MAGIC "PAR1"
#define PQ_MAGIC_ENCRYPTED "PARE"

/* ---- Thrift enums of parquet.thrift ---- */

enum pq_type {
	PQ_BOOLEAN = 0,
	PQ_INT32 = 1,
	PQ_INT64 = 2,
	PQ_INT96 = 3,
	PQ_FLOAT = 4,
	PQ_DOUBLE = 5,
	PQ_BYTE_ARRAY = 6,
	PQ_FIXED_LEN_BYTE_ARRAY = 7,
};

enum pq_converted {
	PQ_CT_UTF8 = 0,
	PQ_CT_MAP = 1,
	PQ_CT_MAP_KEY_VALUE = 2,
	PQ_CT_LIST = 3,
	PQ_CT_ENUM = 4,
	PQ_CT_DECIMAL = 5,
	PQ_CT_DATE = 6,
	PQ_CT_TIME_MILLIS = 7,
	PQ_CT_TIME_MICROS = 8,
	PQ_CT_TIMESTAMP_MILLIS = 9,
	PQ_CT_TIMESTAMP_MICROS = 10,
	PQ_CT_UINT_8 = 11,
	PQ_CT_UINT_16 = 12,
	PQ_CT_UINT_32 = 13,
	PQ_CT_UINT_64 = 14,
	PQ_CT_INT_8 = 15,
	PQ_CT_INT_16 = 16,
	PQ_CT_INT_32 = 17,
	PQ_CT_INT_64 = 18,
	PQ_CT_JSON = 19,
	PQ_CT_BSON = 20,
	PQ_CT_INTERVAL = 21,
};

enum pq_repetition { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 };

enum pq_encoding {
	PQ_ENC_PLAIN = 0,
	PQ_ENC_PLAIN_DICTIONARY = 2,
	PQ_ENC_RLE = 3,
	PQ_ENC_BIT_PACKED = 4,
	PQ_ENC_DELTA_BINARY_PACKED = 5,
	PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
	PQ_ENC_DELTA_BYTE_ARRAY = 7,
	PQ_ENC_RLE_DICTIONARY = 8,
	PQ_ENC_BYTE_STREAM_SPLIT = 9,
};

enum pq_page_type {
	PQ_PAGE_DATA = 0,
	PQ_PAGE_INDEX = 1,
	PQ_PAGE_DICTIONARY = 2,
	PQ_PAGE_DATA_V2 = 3
};

/* LogicalType union member ids. */
enum pq_logical_kind {
	PQ_LT_NONE = 0,
	PQ_LT_STRING = 1,
	PQ_LT_MAP = 2,
	PQ_LT_LIST = 3,
	PQ_LT_ENUM = 4,
	PQ_LT_DECIMAL = 5,
	PQ_LT_DATE = 6,
	PQ_LT_TIME = 7,
	PQ_LT_TIMESTAMP = 8,
	PQ_LT_INTEGER = 10,
	PQ_LT_UNKNOWN = 11,
	PQ_LT_JSON = 12,
	PQ_LT_BSON = 13,
	PQ_LT_UUID = 14,
	PQ_LT_FLOAT16 = 15,
};

/* TimeUnit union member ids. */
enum pq_time_unit { PQ_TU_NONE = 0, PQ_TU_MILLIS = 1, PQ_TU_MICROS = 2, PQ_TU_NANOS = 3 };

/* ---- Thrift compact protocol ---- */

enum tc_type {
	TC_STOP = 0,
	TC_TRUE = 1,
	TC_FALSE = 2,
	TC_BYTE = 3,
	TC_I16 = 4,
	TC_I32 = 5,
	TC_I64 = 6,
	TC_DOUBLE = 7,
	TC_BINARY = 8,
	TC_LIST = 9,
	TC_SET = 10,
	TC_MAP = 11,
	TC_STRUCT = 12,
};

#define TC_MAX_DEPTH 32

/* A bounded cursor; the first error sticks in `msg` and every later read fails. */
typedef struct tc_reader {
	const uint8_t *p, *end;
	int depth;
	bool failed;
	char msg[128];
} tc_reader;

/* One field header: id and compact type (TC_TRUE/TC_FALSE carry a bool's value). */
typedef struct tc_field {
	int16_t id;
	uint8_t type;
} tc_field;

void tc_reader_init(tc_reader *r, const uint8_t *p, size_t n);
bool tc_fail(tc_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#ifdef __clang_analyzer__
/* For clang-tidy's analyzer, which does not look inside variadic functions. */
#define tc_fail(r, ...) (tc_fail((r), __VA_ARGS__), false)
#endif
bool tc_read_varint(tc_reader *r, uint64_t *v);
bool tc_read_i64(tc_reader *r, int64_t *v);
bool tc_read_i32(tc_reader *r, int32_t *v);
bool tc_read_binary(tc_reader *r, const uint8_t **p, size_t *n);
/* Enter a struct (depth check); tc_next_field returns false at STOP or error. */
bool tc_struct_begin(tc_reader *r, int16_t *last_id);
bool tc_next_field(tc_reader *r, int16_t *last_id, tc_field *f);
bool tc_struct_end(tc_reader *r);
/* List or set header; n is checked against the bytes left. */
bool tc_read_list(tc_reader *r, uint8_t *elem_type, uint32_t *n);
bool tc_skip(tc_reader *r, uint8_t type);
/* Typed field readers: check the field's type, then read its value. */
bool tc_field_i32(tc_reader *r, const tc_field *f, int32_t *v);
bool tc_field_i64(tc_reader *r, const tc_field *f, int64_t *v);
bool tc_field_bool(tc_reader *r, const tc_field *f, bool *v);
bool tc_field_binary(tc_reader *r, const tc_field *f, const uint8_t **p, size_t *n);
bool tc_field_expect(tc_reader *r, const tc_field *f, uint8_t type);

/* A writer into an mc_buf; the first failure sticks in `rc`. */
typedef struct tc_writer {
	mc_buf *out;
	int16_t last[TC_MAX_DEPTH];
	int depth;
	mc_code rc;
} tc_writer;

void tc_writer_init(tc_writer *w, mc_buf *out);
void tw_field_begin(tc_writer *w, int16_t id, uint8_t type);
void tw_varint(tc_writer *w, uint64_t v);
void tw_i32(tc_writer *w, int32_t v); /* bare zigzag value (list element) */
void tw_binary(tc_writer *w, const void *p, size_t n);
void tw_field_i32(tc_writer *w, int16_t id, int32_t v);
void tw_field_i64(tc_writer *w, int16_t id, int64_t v);
void tw_field_bool(tc_writer *w, int16_t id, bool v);
void tw_field_binary(tc_writer *w, int16_t id, const void *p, size_t n);
/* A struct-valued field, or a struct element of a list (tw_struct_begin). */
void tw_field_struct(tc_writer *w, int16_t id);
void tw_struct_begin(tc_writer *w);
void tw_struct_end(tc_writer *w);
void tw_field_list(tc_writer *w, int16_t id, uint8_t elem_type, size_t n);

/* ---- Decoded footer (byte ranges point into the footer buffer) ---- */

typedef struct pq_bytes {
	const uint8_t *p;
	size_t n;
} pq_bytes;

typedef struct pq_stats {
	bool has_max, has_min, has_max_value, has_min_value, has_null_count;
	pq_bytes max, min, max_value, min_value;
	int64_t null_count;
} pq_stats;

typedef struct pq_logical {
	int kind;  /* enum pq_logical_kind; 0 = absent */
	int unit;  /* TIMESTAMP/TIME: enum pq_time_unit */
	bool utc;  /* TIMESTAMP/TIME: isAdjustedToUTC */
	int bits;  /* INTEGER: bitWidth */
	bool sign; /* INTEGER: isSigned */
	int32_t scale, precision;
} pq_logical;

typedef struct pq_schema_elem {
	bool has_type, has_repetition, has_num_children, has_converted;
	int32_t type, type_length, repetition, num_children, converted;
	pq_bytes name;
	pq_logical logical;
} pq_schema_elem;

typedef struct pq_column_meta {
	int32_t type;
	uint32_t encodings; /* mask of listed encodings < 32 */
	bool odd_encoding;  /* an encoding number >= 32 was listed */
	size_t path_len;
	pq_bytes path0; /* first path element */
	int32_t codec;
	int64_t num_values, total_uncompressed_size, total_compressed_size;
	int64_t data_page_offset, dictionary_page_offset;
	bool has_dictionary_page_offset, has_stats;
	pq_stats stats;
} pq_column_meta;

typedef struct pq_column_chunk {
	bool has_file_path, has_meta, encrypted;
	pq_column_meta meta;
} pq_column_chunk;

typedef struct pq_row_group {
	size_t ncols;
	pq_column_chunk *cols;
	int64_t total_byte_size, num_rows, total_compressed_size;
	bool has_total_compressed_size;
} pq_row_group;

typedef struct pq_file_meta {
	int32_t version;
	size_t nschema;
	pq_schema_elem *schema;
	int64_t num_rows;
	size_t nrgs;
	pq_row_group *rgs;
	bool has_created_by, encrypted;
	pq_bytes created_by;
} pq_file_meta;

typedef struct pq_page_header {
	int32_t type, uncompressed_size, compressed_size;
	bool has_data, has_dict, has_data_v2;
	/* DATA_PAGE */
	int32_t num_values, encoding, def_encoding, rep_encoding;
	/* DATA_PAGE_V2 (num_values and encoding shared) */
	int32_t num_nulls, num_rows, def_len, rep_len;
	bool is_compressed;
	/* DICTIONARY_PAGE: num_values and encoding shared */
} pq_page_header;

/* Decoders set r->msg on failure; pq_file_meta_clear frees the arrays. */
bool pq_decode_file_meta(tc_reader *r, pq_file_meta *m);
void pq_file_meta_clear(pq_file_meta *m);
bool pq_decode_page_header(tc_reader *r, pq_page_header *h);

/* ---- Footer location and schema mapping (shared by reader and metadata) ---- */

/* One flat leaf column of the schema, as the reader sees it. */
typedef struct pq_leaf {
	const pq_schema_elem *el;
	char *name; /* NUL-terminated copy */
	bool optional;
	bool supported;
	mc_type type;
	mc_time_unit unit;
	char why[96];
} pq_leaf;

typedef struct pq_footer {
	const char *name; /* for messages */
	const uint8_t *file;
	size_t file_len;
	size_t data_end; /* offset where the footer starts: pages lie in [4, data_end) */
	size_t budget;	 /* cap on any declared size */
	pq_file_meta meta;
	size_t nleaves;
	pq_leaf *leaves;
} pq_footer;

/*
 * Check the magic at both ends (head: the first head_len bytes; tail8: the
 * last 8) and return the footer length, which fits in the file.
 */
mc_code pq_footer_locate(const uint8_t *head, size_t head_len, const uint8_t *tail8,
			 size_t file_len, const char *name, uint32_t *footer_len, mc_error *err);
/* Decode and validate the footer bytes (the footer_len bytes before the last 8). */
mc_code pq_footer_parse(pq_footer *f, const uint8_t *footer, size_t footer_len, size_t file_len,
			const char *name, mc_error *err);
void pq_footer_free(pq_footer *f);
size_t pq_budget(size_t file_len);
/* Describe a logical type in `buf` ("" when absent). */
void pq_logical_describe(const pq_logical *lt, char *buf, size_t n);

/* ---- Encodings ---- */

/* Bits needed for values 0..max_value. */
int pq_bit_width(uint32_t max_value);
/*
 * Decode `count` values of the RLE/bit-packed hybrid with bit width `bw`
 * (0..32) from [p, p+n) into out (uint8_t when out_width is 1, else
 * uint32_t).  Returns NULL on success or a static message.
 */
const char *pq_rle_decode(const uint8_t *p, size_t n, int bw, size_t count, void *out,
			  int out_width);
/* Same into uint32_t; *max gets the largest decoded value (0 when count is 0). */
const char *pq_rle_decode_max(const uint8_t *p, size_t n, int bw, size_t count, uint32_t *out,
			      uint32_t *max);
/*
 * Append the hybrid encoding of vals[0..n) with bit width bw.  `out` must have no size cap
 * (max 0): the encoders reserve a few bytes of slack for whole-word stores.
 */
mc_code pq_rle_encode(const uint32_t *vals, size_t n, int bw, mc_buf *out);
mc_code pq_rle_encode_u8(const uint8_t *vals, size_t n, int bw, mc_buf *out);
/* Same as pq_rle_encode of n zeros, without them. */
mc_code pq_rle_encode_zeros(size_t n, int bw, mc_buf *out);
/* Unpack n PLAIN booleans (LSB first) into bytes 0/1. */
void pq_unpack_bools(const uint8_t *p, size_t n, uint8_t *out);
mc_code pq_pack_bools(const uint8_t *vals, size_t n, mc_buf *out);
static inline uint32_t pq_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void pq_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Copy n bytes (string values); up to 32 with overlapping word moves instead of a call. */
static inline void pq_copy_short(char *d, const uint8_t *s, size_t n)
{
	uint64_t a, b;
	uint32_t c, e;
	if (n > 32) {
		memcpy(d, s, n);
	} else if (n > 16) {
		uint64_t a2, b2;
		memcpy(&a, s, 8);
		memcpy(&a2, s + 8, 8);
		memcpy(&b, s + n - 16, 8);
		memcpy(&b2, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + 8, &a2, 8);
		memcpy(d + n - 16, &b, 8);
		memcpy(d + n - 8, &b2, 8);
	} else if (n >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		memcpy(&c, s, 4);
		memcpy(&e, s + n - 4, 4);
		memcpy(d, &c, 4);
		memcpy(d + n - 4, &e, 4);
	} else if (n) {
		d[0] = (char)s[0];
		d[n >> 1] = (char)s[n >> 1];
		d[n - 1] = (char)s[n - 1];
	}
}

/* ---- Codecs ---- */

/*
 * Codec state reused across the pages of one read or write (libzstd contexts, made on first
 * use).  Zero-initialise; release with pq_codecs_free, which keeps a context of each kind for
 * the thread's next read or write (see codec.c).
 */
typedef struct pq_codecs {
	void *zc; /* ZSTD_CCtx */
	void *zd; /* ZSTD_DCtx */
} pq_codecs;

void pq_codecs_free(pq_codecs *cs);
bool pq_codec_supported(int codec);
/* Decompress exactly `dst_len` bytes; returns NULL or a static message.  cs may be NULL. */
const char *pq_decompress(pq_codecs *cs, int codec, const uint8_t *src, size_t src_len,
			  uint8_t *dst, size_t dst_len);
/* Append the compressed form of src to out.  cs may be NULL. */
mc_code pq_compress(pq_codecs *cs, int codec, int level, const uint8_t *src, size_t n, mc_buf *out);

/* ---- Writer ---- */

/* Column chunk statistics gathered while writing (bounds as PLAIN bytes). */
typedef struct wr_stats {
	bool has_bounds;
	uint8_t min[8], max[8];	 /* fixed-width bounds */
	size_t width;		 /* bytes used in min/max; 0 for strings */
	const char *smin, *smax; /* string bounds point into the table */
	size_t smin_n, smax_n;
	int64_t null_count;
} wr_stats;

/* What the footer needs to know about one written column chunk. */
typedef struct wr_chunk {
	int64_t num_values, uncompressed, compressed;
	int64_t data_offset, dict_offset; /* file offsets; dict_offset < 0 when absent */
	uint32_t encodings;		  /* mask of enum pq_encoding */
	wr_stats st;
} wr_chunk;

/*
 * A chunk's dictionary: an open-addressing table over entries numbered in order of first
 * appearance.  Its arrays are scratch kept in wr_ctx and reused by every chunk of a write.
 */
typedef struct wr_dict {
	size_t n;	  /* entries */
	size_t *rep;	  /* representative (first) row of each entry */
	uint64_t *keys;	  /* each entry's value, zero-extended; strings: first key word */
	uint64_t *keys2;  /* strings: second key word */
	uint32_t *lens;	  /* strings: length */
	uint64_t *hashes; /* each entry's hash */
	size_t ent_cap;	  /* capacity of the entry arrays */
	uint64_t *slots;  /* 0 = empty, else hash >> 32 << 32 | (entry + 1) */
	size_t nslots;	  /* power of two, at least twice n */
	size_t slots_cap; /* allocated slots */
	size_t bytes;	  /* PLAIN size of the dictionary page */
} wr_dict;

/* Entries of the writer's string cache (see dict_strings in colwriter.c). */
#define WR_STR_CACHE 64

/* A string value in that cache: its key words, where it is, its length + 1 (0 = empty), id. */
typedef struct wr_str_slot {
	uint64_t w0, w1;
	const char *p;
	uint32_t n1, id;
} wr_str_slot;

/* Scratch state shared by all chunks of one write. */
typedef struct wr_ctx {
	const mc_parquet_write_opts *o;
	mc_buf *out;
	size_t base; /* out->len where the file starts */
	mc_buf body, comp;
	uint32_t *idx; /* dictionary ids of the chunk's present values */
	size_t idx_cap;
	bool idx_zero; /* the chunk holds one value: every id is 0 and idx is not filled */
	uint8_t *levels;
	size_t levels_cap;
	wr_dict dict;
	wr_str_slot str_cache[WR_STR_CACHE];
	pq_codecs codecs;
	mc_error *err;
} wr_ctx;

/* Release the scratch of a write. */
void pq_wr_ctx_free(wr_ctx *w);

/* Physical type written for a table type. */
int pq_physical_of(mc_type t);
/* Append the pages of column c, rows [r0, r1), and fill *ch. */
mc_code pq_write_chunk(wr_ctx *w, const mc_column *c, size_t r0, size_t r1, wr_chunk *ch);

#endif
