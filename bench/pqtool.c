/* pqtool: dump, inspect, copy and generate Parquet files with milkcast's reader and writer (test
 * helper). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milkcast/buf.h"
#include "milkcast/parquet.h"
#include "milkcast/table.h"

#include "../tests/unit/test_parquet_data.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: pqtool dump FILE          rows in canonical text (header name:type)\n"
		"       pqtool meta FILE          footer metadata\n"
		"       pqtool copy IN OUT [opts] read IN, write OUT\n"
		"       pqtool gen ROWS OUT [opts] write the test table of ROWS rows\n"
		"opts: --codec none|snappy|zstd  --level N  --no-dict  --no-stats  --rg ROWS\n"
		"      --page BYTES  --utc  --seed N\n");
	return 2;
}

static const char *type_label(const mc_column *c)
{
	if (c->type != MC_T_TIMESTAMP)
		return mc_type_name(c->type);
	return c->unit == MC_MILLIS   ? "timestamp[ms]"
	       : c->unit == MC_MICROS ? "timestamp[us]"
				      : "timestamp[ns]";
}

static void put_string(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\': fputs("\\\\", stdout); break;
		case '\t': fputs("\\t", stdout); break;
		case '\n': fputs("\\n", stdout); break;
		case '\r': fputs("\\r", stdout); break;
		default: putchar(s[i]);
		}
	}
}

static void put_double(double d, int digits)
{
	if (isnan(d))
		fputs("nan", stdout);
	else if (isinf(d))
		fputs(d < 0 ? "-inf" : "inf", stdout);
	else
		printf("%.*g", digits, d);
}

static void put_value(const mc_column *c, size_t i)
{
	if (mc_column_is_null(c, i)) {
		fputs("\\N", stdout);
		return;
	}
	size_t n;
	switch (c->type) {
	case MC_T_BOOL: fputs(MC_COL_BOOL(c)[i] ? "true" : "false", stdout); break;
	case MC_T_INT32:
	case MC_T_DATE: printf("%d", MC_COL_I32(c)[i]); break;
	case MC_T_INT64:
	case MC_T_TIMESTAMP: printf("%lld", (long long)MC_COL_I64(c)[i]); break;
	case MC_T_FLOAT: put_double(MC_COL_F32(c)[i], 9); break;
	case MC_T_DOUBLE: put_double(MC_COL_F64(c)[i], 17); break;
	case MC_T_STRING: {
		const char *s = mc_column_str(c, i, &n);
		put_string(s, n);
		break;
	}
	}
}

static int cmd_dump(const char *path)
{
	mc_error err = MC_ERROR_INIT;
	mc_table *t;
	if (mc_parquet_read_file(path, &t, &err)) {
		fprintf(stderr, "pqtool: %s\n", err.msg);
		return 1;
	}
	for (size_t j = 0; j < t->ncols; j++)
		printf("%s%s:%s", j ? "\t" : "", t->cols[j].name, type_label(&t->cols[j]));
	putchar('\n');
	for (size_t i = 0; i < t->nrows; i++) {
		for (size_t j = 0; j < t->ncols; j++) {
			if (j)
				putchar('\t');
			put_value(&t->cols[j], i);
		}
		putchar('\n');
	}
	mc_table_free(t);
	return 0;
}

static void put_stats(const mc_parquet_stats *s)
{
	if (s->has_null_count)
		printf(" nulls=%lld", (long long)s->null_count);
	if (!s->has_min_max)
		return;
	if (s->is_bytes) {
		fputs(" min=", stdout);
		put_string(s->min_str, s->min_len);
		fputs(" max=", stdout);
		put_string(s->max_str, s->max_len);
	} else if (s->is_int) {
		printf(" min=%lld max=%lld", (long long)s->min_i, (long long)s->max_i);
	} else {
		printf(" min=%.17g max=%.17g", s->min, s->max);
	}
}

static int cmd_meta(const char *path)
{
	mc_error err = MC_ERROR_INIT;
	mc_parquet_meta *m;
	if (mc_parquet_meta_read_file(path, &m, &err)) {
		fprintf(stderr, "pqtool: %s\n", err.msg);
		return 1;
	}
	printf("version %d rows %lld row_groups %zu created_by %s\n", m->version,
	       (long long)m->num_rows, m->nrow_groups, m->created_by ? m->created_by : "-");
	for (size_t j = 0; j < m->ncols; j++) {
		const mc_parquet_column_info *c = &m->cols[j];
		printf("column %s %s %s %s %s\n", c->name, mc_parquet_type_name(c->physical_type),
		       c->logical[0] ? c->logical : "-", c->optional ? "optional" : "required",
		       c->supported ? type_label(&(mc_column){.type = c->type, .unit = c->unit})
				    : c->why);
	}
	for (size_t g = 0; g < m->nrow_groups; g++) {
		const mc_parquet_row_group_info *rg = &m->row_groups[g];
		printf("row_group %zu rows %lld bytes %lld\n", g, (long long)rg->num_rows,
		       (long long)rg->total_byte_size);
		for (size_t j = 0; j < m->ncols; j++) {
			const mc_parquet_chunk_info *ch = &rg->chunks[j];
			printf("  %s %s values=%lld size=%lld/%lld enc=", m->cols[j].name,
			       mc_parquet_codec_name(ch->codec), (long long)ch->num_values,
			       (long long)ch->compressed_size, (long long)ch->uncompressed_size);
			const char *sep = "";
			for (int e = 0; e < 32; e++)
				if (ch->encodings >> e & 1) {
					printf("%s%s", sep, mc_parquet_encoding_name(e));
					sep = ",";
				}
			put_stats(&ch->stats);
			putchar('\n');
		}
	}
	mc_parquet_meta_free(m);
	return 0;
}

/* Parse write options from argv[i..]; returns -1 on a bad option. */
static int parse_opts(int argc, char **argv, int i, mc_parquet_write_opts *o, uint64_t *seed)
{
	for (; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--no-dict")) {
			o->dictionary = false;
		} else if (!strcmp(a, "--no-stats")) {
			o->statistics = false;
		} else if (!strcmp(a, "--utc")) {
			o->timestamps_utc = true;
		} else if (v && !strcmp(a, "--codec")) {
			o->codec = !strcmp(v, "none")	  ? MC_PQ_UNCOMPRESSED
				   : !strcmp(v, "snappy") ? MC_PQ_SNAPPY
							  : MC_PQ_ZSTD;
			i++;
		} else if (v && !strcmp(a, "--level")) {
			o->zstd_level = atoi(v);
			i++;
		} else if (v && !strcmp(a, "--rg")) {
			o->row_group_rows = strtoull(v, NULL, 10);
			i++;
		} else if (v && !strcmp(a, "--page")) {
			o->page_bytes = strtoull(v, NULL, 10);
			i++;
		} else if (v && !strcmp(a, "--seed")) {
			*seed = strtoull(v, NULL, 10);
			i++;
		} else {
			return -1;
		}
	}
	return 0;
}

static int write_out(const char *path, const mc_table *t, const mc_parquet_write_opts *o)
{
	mc_error err = MC_ERROR_INIT;
	if (mc_parquet_write_file(path, t, o, &err)) {
		fprintf(stderr, "pqtool: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "meta"))
		return cmd_meta(argv[2]);
	if (argc < 4)
		return usage();
	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	uint64_t seed = 1;
	if (parse_opts(argc, argv, 4, &o, &seed))
		return usage();
	mc_table *t = NULL;
	mc_error err = MC_ERROR_INIT;
	if (!strcmp(argv[1], "copy")) {
		if (mc_parquet_read_file(argv[2], &t, &err)) {
			fprintf(stderr, "pqtool: %s\n", err.msg);
			return 1;
		}
	} else if (!strcmp(argv[1], "gen")) {
		t = pqt_make_table(strtoull(argv[2], NULL, 10), seed);
		if (!t) {
			fprintf(stderr, "pqtool: out of memory\n");
			return 1;
		}
	} else {
		return usage();
	}
	int rc = write_out(argv[3], t, &o);
	mc_table_free(t);
	return rc;
}
