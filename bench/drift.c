/*
 * bench/drift: per-column time of the drift tests at growing sizes, next to
 * bench/drift_peer.py (Evidently's steps with SciPy and pandas) on the same
 * data; bench/run-drift.sh runs both and prints the ratios.
 *
 * usage: bench_drift DIR N...
 * For each N it writes DIR/N.ref.f64 and DIR/N.cur.f64 (prices: N reference
 * values ~ N(20, 2), 3N/4 current values ~ N(20.1, 2), 1% missing) and
 * DIR/N.ref.cat and DIR/N.cur.cat (one byte a row: an index into the city
 * names below, 255 = missing), then times, best of several runs:
 *   ks, wasserstein     mc_drift_numeric() on the price arrays (copy without
 *                       missing values, radix sort, statistic, p-value)
 *   jensenshannon,      mc_drift_column() on a STRING column of city names
 *   chisquare           (hashing, counting, the statistic)
 * One line per measure: "drift N TEST SECONDS STATISTIC P_VALUE".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milkcast/drift.h"
#include "milkcast/table.h"

#define MIN_SECONDS 0.5
#define MAX_RUNS 20
#define MISSING_CODE 255

/* The same list in bench/drift_peer.py. */
static const char *const CITIES[] = {
	"Acapulco",	    "Aguascalientes", "Campeche",
	"Cancún",	    "Chihuahua",      "Cd. Juárez",
	"Colima",	    "Cuernavaca",     "Culiacán",
	"Durango",	    "Guadalajara",    "Hermosillo",
	"La Paz",	    "León",	      "Mérida",
	"Mexicali",	    "Monterrey",      "Morelia",
	"Oaxaca",	    "Pachuca",	      "Puebla",
	"Querétaro",	    "Saltillo",	      "San Luis Potosí",
	"Tampico",	    "Tapachula",      "Tepic",
	"Tijuana",	    "Tlaxcala",	      "Toluca",
	"Tuxtla Gutiérrez", "Veracruz",
};
#define NCITIES (sizeof CITIES / sizeof CITIES[0])

static uint64_t rng = 42;

static double uniform(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void prices(double *x, size_t n, double mean)
{
	for (size_t i = 0; i < n; i++) {
		double u = uniform(), v = uniform();
		x[i] = uniform() < 0.01
			       ? NAN
			       : mean + 2 * sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
	}
}

/* City codes with skewed weights; `tilt` moves weight between cities. */
static void cities(uint8_t *c, size_t n, double tilt)
{
	for (size_t i = 0; i < n; i++) {
		if (uniform() < 0.01) {
			c[i] = MISSING_CODE;
			continue;
		}
		double u = uniform();
		size_t k = (size_t)(NCITIES * pow(u, 1.5 + tilt));
		c[i] = (uint8_t)(k < NCITIES ? k : NCITIES - 1);
	}
}

static void write_file(const char *dir, size_t n, const char *what, const void *p, size_t bytes)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%zu.%s", dir, n, what);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0) {
		fprintf(stderr, "bench_drift: cannot write %s\n", path);
		exit(1);
	}
}

static mc_table *city_table(const uint8_t *c, size_t n)
{
	mc_table *t = mc_table_new();
	int col = mc_table_add_column(t, "city", MC_T_STRING, true);
	mc_column *cc = &t->cols[col];
	mc_column_reserve(cc, n);
	for (size_t i = 0; i < n; i++) {
		if (c[i] == MISSING_CODE)
			mc_column_push_null(cc);
		else
			mc_column_push_str(cc, CITIES[c[i]], strlen(CITIES[c[i]]));
	}
	mc_error err = MC_ERROR_INIT;
	if (mc_table_seal(t, &err) != MC_OK) {
		fprintf(stderr, "bench_drift: %s\n", err.msg);
		exit(1);
	}
	return t;
}

typedef struct input {
	size_t n, m;
	const double *ref, *cur;
	const mc_table *tref, *tcur;
} input;

static mc_code run_once(const input *in, const char *test, mc_drift_result *r, mc_error *err)
{
	if (strcmp(test, "ks") == 0 || strcmp(test, "wasserstein") == 0)
		return mc_drift_numeric(in->ref, in->n, in->cur, in->m, test, NAN, r, err);
	return mc_drift_column(in->tref, in->tcur, "city", test, NAN, r, err);
}

static void measure(const input *in, const char *test)
{
	double best = INFINITY, spent = 0;
	mc_drift_result r = {0};
	for (int run = 0; run < MAX_RUNS && (run < 3 || spent < MIN_SECONDS); run++) {
		mc_error err = MC_ERROR_INIT;
		double t0 = now();
		if (run_once(in, test, &r, &err) != MC_OK) {
			fprintf(stderr, "bench_drift: %s: %s\n", test, err.msg);
			exit(1);
		}
		double t = now() - t0;
		best = fmin(best, t);
		spent += t;
	}
	printf("drift %zu %s %.6f %.17g %.17g\n", in->n, test, best, r.statistic, r.p_value);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench_drift DIR N...\n");
		return 2;
	}
	for (int a = 2; a < argc; a++) {
		size_t n = strtoull(argv[a], NULL, 10), m = n * 3 / 4;
		double *ref = malloc(n * sizeof *ref), *cur = malloc(m * sizeof *cur);
		uint8_t *cref = malloc(n), *ccur = malloc(m);
		if (!ref || !cur || !cref || !ccur)
			return 1;
		prices(ref, n, 20.0);
		prices(cur, m, 20.1);
		cities(cref, n, 0);
		cities(ccur, m, 0.05);
		write_file(argv[1], n, "ref.f64", ref, n * sizeof *ref);
		write_file(argv[1], n, "cur.f64", cur, m * sizeof *cur);
		write_file(argv[1], n, "ref.cat", cref, n);
		write_file(argv[1], n, "cur.cat", ccur, m);
		mc_table *tref = city_table(cref, n), *tcur = city_table(ccur, m);
		input in = {n, m, ref, cur, tref, tcur};
		measure(&in, "ks");
		measure(&in, "wasserstein");
		measure(&in, "jensenshannon");
		measure(&in, "chisquare");
		mc_table_free(tref);
		mc_table_free(tcur);
		free(ref);
		free(cur);
		free(cref);
		free(ccur);
	}
	return 0;
}
