/*
 * Parquet reader and writer for flat tables (mc_table), with a metadata
 * reader that decodes only the footer.
 *
 * Supported: physical types BOOLEAN, INT32, INT64, FLOAT, DOUBLE, BYTE_ARRAY;
 * logical/converted types STRING/UTF8/ENUM/JSON/BSON, DATE, TIMESTAMP (MILLIS,
 * MICROS, NANOS), INT(8/16/32/64 signed, 8/16 unsigned); REQUIRED and
 * OPTIONAL columns at depth 1; encodings PLAIN, PLAIN_DICTIONARY,
 * RLE_DICTIONARY and RLE (booleans); data pages v1 and v2; codecs
 * UNCOMPRESSED, SNAPPY and ZSTD.  Anything else fails with
 * MC_ERR_UNSUPPORTED and a message naming the file, the column and the
 * feature.  Malformed input fails with MC_ERR_FORMAT; the reader never reads
 * outside its input, and sizes past the read limits below fail with
 * MC_ERR_LIMIT.
 * See docs/internals/parquet.md.
 */
#ifndef MILKCAST_PARQUET_H
#define MILKCAST_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"
#include "milkcast/table.h"

/* Thrift CompressionCodec numbers of the codecs we read and write. */
typedef enum mc_pq_codec {
	MC_PQ_UNCOMPRESSED = 0,
	MC_PQ_SNAPPY = 1,
	MC_PQ_ZSTD = 6,
} mc_pq_codec;

/*
 * Read limits.  Everything a file makes the reader allocate (the table's
 * arrays and string bytes together, and each decompressed page) must stay
 * below its budget: min(MC_PQ_MAX_ALLOC, max(MC_PQ_MAX_RATIO x the file size,
 * MC_PQ_MIN_BUDGET)).  Dictionary and RLE encodings of low-cardinality
 * columns legitimately expand over 100x, hence the ratio of 1000.
 */
#define MC_PQ_MAX_ALLOC ((size_t)1 << 30)
#define MC_PQ_MAX_RATIO 1000
#define MC_PQ_MIN_BUDGET ((size_t)64 << 20)

typedef struct mc_parquet_write_opts {
	mc_pq_codec codec;     /* default MC_PQ_ZSTD */
	int zstd_level;	       /* default 3 */
	size_t row_group_rows; /* default 1<<20; 0 = default */
	bool dictionary; /* RLE_DICTIONARY when it pays (always tried for strings); default true */
	bool statistics; /* min/max/null_count per column chunk; default true */
	const char *created_by; /* default "milkcast version <MC_VERSION>" */
	size_t page_bytes;	/* target uncompressed data page size; default (and 0) 1 MiB */
	bool timestamps_utc;	/* TIMESTAMP isAdjustedToUTC; default false (naive, like pandas) */
} mc_parquet_write_opts;

void mc_parquet_write_opts_init(mc_parquet_write_opts *o);

/*
 * Serialise `t` (sealed: every column t->nrows long) as a Parquet file
 * appended to `out`.  `o` may be NULL for the defaults.  Non-nullable
 * columns become REQUIRED, nullable ones OPTIONAL.  A table with 0 rows gives
 * a file with the schema and no row groups.
 */
mc_code mc_parquet_write_mem(const mc_table *t, const mc_parquet_write_opts *o, mc_buf *out,
			     mc_error *err);
/* Same, written atomically (temp file, fsync, rename). */
mc_code mc_parquet_write_file(const char *path, const mc_table *t, const mc_parquet_write_opts *o,
			      mc_error *err);

/*
 * Decode a whole Parquet file into a new table (*out, free with
 * mc_table_free).  `name` is used in error messages.  OPTIONAL columns are
 * nullable; their validity map stays NULL when no value is null.
 */
mc_code mc_parquet_read_mem(const uint8_t *p, size_t n, const char *name, mc_table **out,
			    mc_error *err);
mc_code mc_parquet_read_file(const char *path, mc_table **out, mc_error *err);

/* Each thread keeps its last zstd contexts for the next file; a thread that
 * read or wrote Parquet calls this before it exits to free them. */
void mc_parquet_thread_done(void);

/* ---- Metadata (footer only) ---- */

/* Column chunk statistics as stored; absent parts have their has_ flag false. */
typedef struct mc_parquet_stats {
	bool has_min_max; /* both bounds present and decodable */
	bool is_bytes;	  /* BYTE_ARRAY: bounds in min_str/max_str */
	bool is_int;	  /* BOOLEAN/INT32/INT64: exact bounds in min_i/max_i */
	double min, max;  /* numeric view of the bounds (not for BYTE_ARRAY) */
	int64_t min_i, max_i;
	char *min_str, *max_str; /* NUL-terminated copies; may hold NULs */
	size_t min_len, max_len;
	bool has_null_count;
	int64_t null_count;
} mc_parquet_stats;

typedef struct mc_parquet_chunk_info {
	int codec;	    /* Thrift CompressionCodec (mc_parquet_codec_name) */
	uint32_t encodings; /* bit (1u << e) for each Thrift Encoding e listed (e < 32) */
	int64_t num_values;
	int64_t compressed_size;   /* total_compressed_size, page headers included */
	int64_t uncompressed_size; /* total_uncompressed_size */
	mc_parquet_stats stats;
} mc_parquet_chunk_info;

typedef struct mc_parquet_column_info {
	char *name;
	int physical_type;  /* Thrift Type (mc_parquet_type_name) */
	int converted_type; /* Thrift ConvertedType, -1 when absent */
	char logical[64];   /* e.g. "STRING", "TIMESTAMP(NANOS,utc=false)"; "" when absent */
	bool optional;
	bool supported; /* the reader maps it to `type` (and `unit`) */
	mc_type type;
	mc_time_unit unit;
	char why[96]; /* when !supported: what is unsupported */
} mc_parquet_column_info;

typedef struct mc_parquet_row_group_info {
	int64_t num_rows;
	int64_t total_byte_size;
	int64_t total_compressed_size; /* -1 when absent */
	mc_parquet_chunk_info *chunks; /* one per column */
} mc_parquet_row_group_info;

typedef struct mc_parquet_meta {
	int32_t version;
	int64_t num_rows;
	char *created_by; /* NULL when absent */
	size_t ncols;
	mc_parquet_column_info *cols;
	size_t nrow_groups;
	mc_parquet_row_group_info *row_groups;
} mc_parquet_meta;

/* Read only the footer; nested schemas and encrypted files are MC_ERR_UNSUPPORTED. */
mc_code mc_parquet_meta_read_file(const char *path, mc_parquet_meta **out, mc_error *err);
mc_code mc_parquet_meta_read_mem(const uint8_t *p, size_t n, const char *name,
				 mc_parquet_meta **out, mc_error *err);
void mc_parquet_meta_free(mc_parquet_meta *m);

/* Names of Thrift enum values ("INT64", "ZSTD", "RLE_DICTIONARY"); "?" when unknown. */
const char *mc_parquet_type_name(int physical_type);
const char *mc_parquet_codec_name(int codec);
const char *mc_parquet_encoding_name(int encoding);

#endif
