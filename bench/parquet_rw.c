/* Parquet read/write throughput (MB/s of in-memory table data) per codec on a SNIIM-like table. */
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

int main(int argc, char **argv)
{
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
