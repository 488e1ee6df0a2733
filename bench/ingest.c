/*
 * Benchmark: SNIIM workbook → lake (rows/s), and Parquet read and write (MB/s).
 * usage: bench_ingest WORKBOOK PARQUET_DIR [REPEATS]
 * Prints one "name value unit" line per measure, for scripts/bench.sh.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "milkcast/buf.h"
#include "milkcast/fsutil.h"
#include "milkcast/ingest.h"
#include "milkcast/lake.h"
#include "milkcast/parquet.h"
#include "milkcast/store.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time of the best run: the part of the ingest that is not waiting for the disk. */
static double best_cpu = 1e9;

static int die(const mc_error *err)
{
	fprintf(stderr, "bench_ingest: %s\n", err->msg);
	return 1;
}

/*
 * One ingest into a fresh workspace; returns seconds, rows in *rows.  The
 * workspace (directories, milkcast.db) is created before the clock starts,
 * as for a daily run; everything mc_ingest does is timed: reading and
 * hashing the file, parsing, normalising, validating, writing the 15
 * partitions durably (syncfs) and committing the manifest.
 */
static double ingest_once(const char *parent, int run, const char *workbook, size_t *rows,
			  mc_error *err)
{
	char home[4200];
	snprintf(home, sizeof home, "%s/run%d", parent, run);
	mc_store *s = NULL;
	mc_lake *l = NULL;
	double dt = -1;
	mc_ingest_opts o;
	mc_ingest_opts_init(&o);
	mc_ingest_summary sum;
	if (!mc_store_open(home, &s, err) && !mc_lake_open(home, &l, err)) {
		double t0 = now_s(), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		if (!mc_ingest(s, l, &workbook, 1, &o, &sum, err)) {
			dt = now_s() - t0;
			double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
			best_cpu = cpu < best_cpu ? cpu : best_cpu;
			*rows = sum.rows_read;
		}
	}
	mc_lake_free(l);
	mc_store_free(s);
	return dt;
}

static int bench_parquet(const char *dir, int repeats)
{
	DIR *d = opendir(dir);
	if (!d)
		return 1;
	mc_buf files[64];
	size_t nfiles = 0, total = 0;
	struct dirent *e;
	mc_error err = MC_ERROR_INIT;
	while ((e = readdir(d)) && nfiles < 64) {
		size_t n = strlen(e->d_name);
		if (n < 8 || strcmp(e->d_name + n - 8, ".parquet"))
			continue;
		char *p = mc_path_join(dir, e->d_name);
		mc_buf_init(&files[nfiles], 0);
		if (mc_buf_read_file(&files[nfiles], p, &err))
			return die(&err);
		total += files[nfiles++].len;
		free(p);
	}
	closedir(d);
	double best_read = 1e9, best_write = 1e9;
	size_t written = 0;
	for (int r = 0; r < repeats; r++) {
		double tr = 0, tw = 0;
		written = 0;
		for (size_t i = 0; i < nfiles; i++) {
			mc_table *t;
			double t0 = now_s();
			if (mc_parquet_read_mem(files[i].data, files[i].len, "bench", &t, &err))
				return die(&err);
			tr += now_s() - t0;
			mc_buf out;
			mc_buf_init(&out, 0);
			mc_parquet_write_opts o;
			mc_parquet_write_opts_init(&o);
			t0 = now_s();
			if (mc_parquet_write_mem(t, &o, &out, &err))
				return die(&err);
			tw += now_s() - t0;
			written += out.len;
			mc_buf_release(&out);
			mc_table_free(t);
		}
		best_read = tr < best_read ? tr : best_read;
		best_write = tw < best_write ? tw : best_write;
	}
	printf("parquet_read %.1f MB/s (%zu files, %.2f MB, best of %d)\n",
	       (double)total / best_read / 1e6, nfiles, (double)total / 1e6, repeats);
	printf("parquet_write %.1f MB/s (zstd, %.2f MB written, best of %d)\n",
	       (double)written / best_write / 1e6, (double)written / 1e6, repeats);
	for (size_t i = 0; i < nfiles; i++)
		mc_buf_release(&files[i]);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_ingest WORKBOOK PARQUET_DIR [REPEATS]\n");
		return 2;
	}
	int repeats = argc > 3 ? atoi(argv[3]) : 5;
	if (repeats < 1)
		repeats = 1;
	mc_error err = MC_ERROR_INIT;
	double best = 1e9;
	size_t rows = 0;
	/* Workspaces are removed after the last run (by the caller when it
	 * passes MC_BENCH_DIR), not between runs: ext4 scans past inodes freed
	 * in the last seconds when it allocates new ones, which would charge
	 * the benchmark's own clean-up to the next run's mkdir and create. */
	const char *keep = getenv("MC_BENCH_DIR");
	char parent[4096];
	snprintf(parent, sizeof parent, "%s/mc-bench-XXXXXX", keep ? keep : "/tmp");
	if (!mkdtemp(parent))
		return 1;
	for (int r = 0; r < repeats; r++) {
		double dt = ingest_once(parent, r, argv[1], &rows, &err);
		if (dt < 0)
			return die(&err);
		best = dt < best ? dt : best;
	}
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", parent);
	if (!keep && system(cmd) != 0)
		fprintf(stderr, "bench_ingest: could not remove %s\n", parent);
	printf("ingest_seconds %.4f s (best of %d)\n", best, repeats);
	printf("ingest_cpu_seconds %.4f s (best of %d; the rest is waiting for fsync)\n", best_cpu,
	       repeats);
	printf("ingest_rows_per_s %.0f rows/s (%zu rows, workbook to lake incl. durable writes and "
	       "manifest)\n",
	       (double)rows / best, rows);
	return bench_parquet(argv[2], repeats * 4);
}
