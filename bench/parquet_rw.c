/* Parquet read/write speed: per codec on a SNIIM-like table, and on the lake's partitions. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milkcast/buf.h"
#include "milkcast/parquet.h"
#include "milkcast/table.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const states[] = {"Aguascalientes ", "Baja California", "CDMX",
				     "Edo. México",	"Jalisco",	   "Nuevo León",
				     "Querétaro",	"Yucatán",	   "Zacatecas"};
static const char *const cities[] = {"Aguascalientes", "Tijuana",     "Mexicali",
				     "Cd. Juárez",     "Guadalajara", "Monterrey",
				     "Querétaro",      "Mérida",      "San Luis Río Colorado",
				     "Veracruz "};

/* Rows like data/sniim: date, 4 low-cardinality strings, a sticky nullable price. */
static mc_table *make_table(size_t n)
{
	mc_table *t = mc_table_new();
	mc_table_add_column(t, "Fecha", MC_T_TIMESTAMP, true);
	mc_table_add_column(t, "Estado", MC_T_STRING, true);
	mc_table_add_column(t, "Ciudad", MC_T_STRING, true);
	mc_table_add_column(t, "Tipo", MC_T_STRING, true);
	mc_table_add_column(t, "Canal", MC_T_STRING, true);
	mc_table_add_column(t, "Precio", MC_T_DOUBLE, true);
	t->cols[0].unit = MC_NANOS;
	uint64_t s = 1;
	double price = 24.5;
	for (size_t i = 0; i < n; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		const char *st = states[(i / 4) % 9], *ci = cities[(i / 4) % 10];
		const char *tipo = i % 2 ? "Ultrapasteurizada" : "Pasteurizada";
		const char *canal = (i / 2) % 2 ? "Autoservicios" : "Tiendas";
		mc_column_push_i64(&t->cols[0],
				   1704240000000000000LL + (int64_t)(i / 216) * 86400000000000LL);
		mc_column_push_str(&t->cols[1], st, strlen(st));
		mc_column_push_str(&t->cols[2], ci, strlen(ci));
		mc_column_push_str(&t->cols[3], tipo, strlen(tipo));
		mc_column_push_str(&t->cols[4], canal, strlen(canal));
		if ((s >> 33) % 100 < 12)
			mc_column_push_null(&t->cols[5]);
		else {
			if ((s >> 40) % 100 < 17)
				price = 18.0 + (double)((s >> 20) % 1600) / 100.0;
			mc_column_push_f64(&t->cols[5], price);
		}
	}
	mc_error err = MC_ERROR_INIT;
	if (mc_table_seal(t, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	return t;
}

static size_t table_bytes(const mc_table *t)
{
	size_t b = 0;
	for (size_t j = 0; j < t->ncols; j++) {
		const mc_column *c = &t->cols[j];
		size_t w = mc_type_width(c->type);
		b += w ? w * c->len : c->bytes_len + 8 * c->len;
	}
	return b;
}

/* ---- Lake-shaped monthly partitions from data/sniim ---- */

/* Rows of a shipped file, for sorting like the lake: date, then state, city, type, channel. */
static const mc_table *sort_src;

static int str_cmp_col(const mc_column *c, size_t a, size_t b)
{
	size_t na, nb;
	const char *sa = mc_column_str(c, a, &na), *sb = mc_column_str(c, b, &nb);
	int r = memcmp(sa, sb, na < nb ? na : nb);
	return r ? r : (na > nb) - (na < nb);
}

static int row_cmp(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	const int64_t *d = MC_COL_I64(&sort_src->cols[0]);
	if (d[a] != d[b])
		return (d[a] > d[b]) - (d[a] < d[b]);
	for (size_t j = 1; j <= 4; j++) {
		int r = str_cmp_col(&sort_src->cols[j], a, b);
		if (r)
			return r;
	}
	return (a > b) - (a < b);
}

static void push_col_str(mc_column *dst, const mc_column *src, size_t i)
{
	size_t n;
	const char *s = mc_column_str(src, i, &n);
	mc_column_push_str(dst, s, n);
}

/* The 9-column partition `milkcast ingest` writes for the rows of one shipped file. */
static mc_table *lake_table(const mc_table *s)
{
	static const char source[] = "Leche31032025.xlsx";
	mc_table *t = mc_table_new();
	mc_table_add_column(t, "date", MC_T_DATE, false);
	mc_table_add_column(t, "kind", MC_T_STRING, false);
	mc_table_add_column(t, "state", MC_T_STRING, false);
	mc_table_add_column(t, "city", MC_T_STRING, false);
	mc_table_add_column(t, "milk_type", MC_T_STRING, false);
	mc_table_add_column(t, "channel", MC_T_STRING, false);
	mc_table_add_column(t, "price", MC_T_DOUBLE, true);
	mc_table_add_column(t, "source", MC_T_STRING, false);
	mc_table_add_column(t, "ingested_at", MC_T_TIMESTAMP, false);
	t->cols[8].unit = MC_MICROS;
	size_t n = s->nrows, *idx = malloc((n ? n : 1) * sizeof *idx);
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	sort_src = s;
	qsort(idx, n, sizeof *idx, row_cmp);
	for (size_t k = 0; k < n; k++) {
		size_t i = idx[k];
		int64_t ns = MC_COL_I64(&s->cols[0])[i];
		size_t cn;
		mc_column_str(&s->cols[1], i, &cn);
		const char *kind = cn ? "city" : "national";
		mc_column_push_i32(&t->cols[0], (int32_t)(ns / 86400000000000LL));
		mc_column_push_str(&t->cols[1], kind, strlen(kind));
		push_col_str(&t->cols[2], &s->cols[1], i);
		push_col_str(&t->cols[3], &s->cols[2], i);
		push_col_str(&t->cols[4], &s->cols[3], i);
		push_col_str(&t->cols[5], &s->cols[4], i);
		if (mc_column_is_null(&s->cols[5], i))
			mc_column_push_null(&t->cols[6]);
		else
			mc_column_push_f64(&t->cols[6], MC_COL_F64(&s->cols[5])[i]);
		mc_column_push_str(&t->cols[7], source, sizeof source - 1);
		mc_column_push_i64(&t->cols[8], 1743465600000000LL);
	}
	free(idx);
	mc_error err = MC_ERROR_INIT;
	if (mc_table_seal(t, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		exit(1);
	}
	return t;
}

/*
 * One pass over the 15 files.  Separate functions, kept out of line, so that callgrind can
 * count just them: --toggle-collect=write_pass (or read_pass, readback_pass).
 */
__attribute__((noinline)) static int write_pass(mc_table **tables, size_t nf,
						const mc_parquet_write_opts *o)
{
	mc_error err = MC_ERROR_INIT;
	for (size_t f = 0; f < nf; f++) {
		mc_buf b = MC_BUF_INIT;
		if (mc_parquet_write_mem(tables[f], o, &b, &err)) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		mc_buf_release(&b);
	}
	return 0;
}

__attribute__((noinline)) static int read_pass(const mc_buf *src, char **names, size_t nf)
{
	mc_error err = MC_ERROR_INIT;
	for (size_t f = 0; f < nf; f++) {
		mc_table *t;
		if (mc_parquet_read_mem(src[f].data, src[f].len, names[f], &t, &err)) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		mc_table_free(t);
	}
	return 0;
}

__attribute__((noinline)) static int readback_pass(const mc_buf *src, char **names, size_t nf)
{
	return read_pass(src, names, nf);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * `sniim DIR LOOPS WHAT [OUT]`: read the .parquet files of DIR (the shipped ones), build each
 * file's lake partition, then LOOPS times write every partition with the default options (WHAT
 * "write"), read every shipped file ("read"), or read back every written partition
 * ("readback"); "all" does the three.  OUT, when given, receives the written partitions.
 * Suited to valgrind --tool=callgrind (see docs/internals/parquet.md).
 */
static int bench_sniim(const char *dir, int loops, const char *what, const char *save_dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		perror(dir);
		return 1;
	}
	char *names[64] = {0};
	size_t nf = 0;
	struct dirent *e;
	while ((e = readdir(d)) && nf < 64) {
		size_t l = strlen(e->d_name);
		if (l > 8 && !strcmp(e->d_name + l - 8, ".parquet")) {
			char *p = malloc(strlen(dir) + l + 2);
			sprintf(p, "%s/%s", dir, e->d_name);
			names[nf++] = p;
		}
	}
	closedir(d);
	qsort(names, nf, sizeof *names, name_cmp);
	mc_buf files[64], parts[64];
	mc_table *tables[64];
	size_t rows = 0, in_bytes = 0, tab_bytes = 0;
	mc_error err = MC_ERROR_INIT;
	mc_parquet_write_opts o;
	mc_parquet_write_opts_init(&o);
	o.timestamps_utc = true;
	for (size_t f = 0; f < nf; f++) {
		mc_buf_init(&files[f], 0);
		mc_buf_init(&parts[f], 0);
		mc_table *s;
		if (mc_buf_read_file(&files[f], names[f], &err) ||
		    mc_parquet_read_mem(files[f].data, files[f].len, names[f], &s, &err)) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		tables[f] = lake_table(s);
		mc_table_free(s);
		rows += tables[f]->nrows;
		in_bytes += files[f].len;
		tab_bytes += table_bytes(tables[f]);
		if (!strcmp(what, "write") && !save_dir)
			continue; /* only the timed writes */
		if (mc_parquet_write_mem(tables[f], &o, &parts[f], &err)) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
	}
	if (save_dir)
		for (size_t f = 0; f < nf; f++) {
			char path[1024];
			const char *base = strrchr(names[f], '/');
			snprintf(path, sizeof path, "%s/%s", save_dir, base ? base + 1 : names[f]);
			FILE *fp = fopen(path, "wb");
			if (!fp || fwrite(parts[f].data, 1, parts[f].len, fp) != parts[f].len) {
				perror(path);
				return 1;
			}
			fclose(fp);
		}
	bool all = !strcmp(what, "all");
	double tw = 0, tr = 0, tb = 0;
	size_t out_bytes = 0;
	for (size_t f = 0; f < nf; f++)
		out_bytes += parts[f].len;
	if (all || !strcmp(what, "write")) {
		double t0 = now();
		for (int k = 0; k < loops; k++)
			if (write_pass(tables, nf, &o))
				return 1;
		tw = (now() - t0) / loops;
	}
	for (int phase = 0; phase < 2; phase++) {
		const char *name = phase ? "readback" : "read";
		if (!all && strcmp(what, name))
			continue;
		double t0 = now();
		for (int k = 0; k < loops; k++)
			if ((phase ? readback_pass : read_pass)(phase ? parts : files, names, nf))
				return 1;
		*(phase ? &tb : &tr) = (now() - t0) / loops;
	}
	printf("%zu files, %zu rows, lake tables %.2f MB, shipped %.2f MB, written %.2f MB\n", nf,
	       rows, (double)tab_bytes / 1e6, (double)in_bytes / 1e6, (double)out_bytes / 1e6);
	if (tw > 0)
		printf("write    %7.2f ms per pass  %7.1f MB/s\n", tw * 1e3, tab_bytes / 1e6 / tw);
	if (tr > 0)
		printf("read     %7.2f ms per pass (shipped files)\n", tr * 1e3);
	if (tb > 0)
		printf("readback %7.2f ms per pass  %7.1f MB/s\n", tb * 1e3, tab_bytes / 1e6 / tb);
	for (size_t f = 0; f < nf; f++) {
		mc_table_free(tables[f]);
		mc_buf_release(&files[f]);
		mc_buf_release(&parts[f]);
		free(names[f]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "sniim"))
		return bench_sniim(argv[2], argc > 3 ? atoi(argv[3]) : 20,
				   argc > 4 ? argv[4] : "all", argc > 5 ? argv[5] : NULL);
	size_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	mc_table *t = make_table(rows);
	double mb = (double)table_bytes(t) / 1e6;
	printf("rows %zu, table %.1f MB\n", rows, mb);
	const mc_pq_codec codecs[] = {MC_PQ_UNCOMPRESSED, MC_PQ_SNAPPY, MC_PQ_ZSTD};
	const char *names[] = {"uncompressed", "snappy", "zstd"};
	for (int k = 0; k < 3; k++) {
		for (int dict = 1; dict >= 0; dict--) {
			mc_parquet_write_opts o;
			mc_parquet_write_opts_init(&o);
			o.codec = codecs[k];
			o.dictionary = dict;
			mc_buf b = MC_BUF_INIT;
			mc_error err = MC_ERROR_INIT;
			double t0 = now();
			if (mc_parquet_write_mem(t, &o, &b, &err)) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			double t1 = now();
			mc_table *back = NULL;
			if (mc_parquet_read_mem(b.data, b.len, "bench", &back, &err)) {
				fprintf(stderr, "%s\n", err.msg);
				return 1;
			}
			double t2 = now();
			printf("%-12s dict=%d  file %8.2f MB  write %7.1f MB/s  read %7.1f MB/s\n",
			       names[k], dict, (double)b.len / 1e6, mb / (t1 - t0), mb / (t2 - t1));
			mc_table_free(back);
			mc_buf_release(&b);
		}
	}
	mc_table_free(t);
	return 0;
}
