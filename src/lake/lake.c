/* The month-partitioned Parquet price lake: layout, schema, sorted atomic rewrites. */
#include "milkcast/lake.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lake/lake_int.h"
#include "milkcast/buf.h"
#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "milkcast/parquet.h"
#include "milkcast/sha256.h"
#include "milkcast/sort.h"
#include "milkcast/strmap.h"

struct mc_lake {
	char *root;		/* <home>/lake/prices */
	mc_lake_remote *remote; /* MILKCAST_LAKE, owned; NULL = local only */
};

static const struct {
	const char *name;
	mc_type type;
	bool nullable;
} lake_schema[MC_LAKE_NCOLS] = {
	[MC_LAKE_DATE] = {"date", MC_T_DATE, false},
	[MC_LAKE_KIND] = {"kind", MC_T_STRING, false},
	[MC_LAKE_STATE] = {"state", MC_T_STRING, false},
	[MC_LAKE_CITY] = {"city", MC_T_STRING, false},
	[MC_LAKE_MILK_TYPE] = {"milk_type", MC_T_STRING, false},
	[MC_LAKE_CHANNEL] = {"channel", MC_T_STRING, false},
	[MC_LAKE_PRICE] = {"price", MC_T_DOUBLE, true},
	[MC_LAKE_SOURCE] = {"source", MC_T_STRING, false},
	[MC_LAKE_INGESTED_AT] = {"ingested_at", MC_T_TIMESTAMP, false},
};

mc_code mc_lake_open(const char *home, mc_lake **out, mc_error *err)
{
	*out = NULL;
	mc_lake *l = calloc(1, sizeof *l);
	char *lake = mc_path_join(home, "lake");
	if (!l || !lake || !(l->root = mc_path_join(lake, "prices"))) {
		free(lake);
		mc_lake_free(l);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	free(lake);
	mc_code rc = mc_mkdirs(l->root, err);
	if (rc) {
		mc_lake_free(l);
		return rc;
	}
	*out = l;
	return MC_OK;
}

void mc_lake_free(mc_lake *l)
{
	if (!l)
		return;
	mc_lake_remote_free(l->remote);
	free(l->root);
	free(l);
}

const char *mc_lake_root(const mc_lake *l)
{
	return l->root;
}

mc_lake_remote *mc_lake_remote_of(const mc_lake *l)
{
	return l->remote;
}

void mc_lake_remote_set(mc_lake *l, mc_lake_remote *r)
{
	if (l->remote != r)
		mc_lake_remote_free(l->remote);
	l->remote = r;
}

mc_code mc_lake_lock(const mc_lake *l, int *fd, mc_error *err)
{
	*fd = -1;
	char *path = mc_path_join(l->root, ".ingest.lock");
	if (!path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	mc_code rc = MC_OK;
	if (f < 0 || flock(f, LOCK_EX) != 0) {
		rc = mc_fail(err, MC_ERR_IO, "cannot lock '%s'", path);
		if (f >= 0)
			close(f);
		f = -1;
	}
	free(path);
	*fd = f;
	return rc;
}

void mc_lake_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

mc_table *mc_lake_table_new(void)
{
	mc_table *t = mc_table_new();
	if (!t)
		return NULL;
	for (int i = 0; i < MC_LAKE_NCOLS; i++) {
		if (mc_table_add_column(t, lake_schema[i].name, lake_schema[i].type,
					lake_schema[i].nullable) < 0) {
			mc_table_free(t);
			return NULL;
		}
	}
	t->cols[MC_LAKE_INGESTED_AT].unit = MC_MICROS;
	return t;
}

mc_code mc_lake_check_schema(const mc_table *t, const char *what, mc_error *err)
{
	if (t->ncols != MC_LAKE_NCOLS)
		return mc_fail(err, MC_ERR_FORMAT, "'%s' has %zu columns, the lake schema has %d",
			       what, t->ncols, MC_LAKE_NCOLS);
	for (int i = 0; i < MC_LAKE_NCOLS; i++) {
		const mc_column *c = &t->cols[i];
		if (strcmp(c->name, lake_schema[i].name) || c->type != lake_schema[i].type)
			return mc_fail(
				err, MC_ERR_FORMAT,
				"'%s' column %d is '%s' (%s), the lake schema wants '%s' (%s)",
				what, i + 1, c->name, mc_type_name(c->type), lake_schema[i].name,
				mc_type_name(lake_schema[i].type));
	}
	return MC_OK;
}

char *mc_lake_partition_path(const mc_lake *l, int year, int month)
{
	size_t n = strlen(l->root) + 64;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/year=%04d/month=%02d/data.parquet", l->root, year % 10000,
			 month % 100);
	return p;
}

static int partition_cmp(const void *a, const void *b)
{
	const mc_lake_partition *x = a, *y = b;
	return x->year != y->year ? (x->year > y->year) - (x->year < y->year)
				  : (x->month > y->month) - (x->month < y->month);
}

/* Collect year=YYYY/month=MM directories that hold a data.parquet. */
static mc_code scan_year(const mc_lake *l, int year, const char *ydir, mc_lake_partition **out,
			 size_t *n, mc_error *err)
{
	DIR *d = opendir(ydir);
	if (!d)
		return MC_OK;
	struct dirent *e;
	mc_code rc = MC_OK;
	while (!rc && (e = readdir(d))) {
		int month;
		char tail;
		if (sscanf(e->d_name, "month=%2d%c", &month, &tail) != 1 || month < 1 || month > 12)
			continue;
		char *path = mc_lake_partition_path(l, year, month);
		if (!path) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		if (!mc_exists(path)) {
			free(path);
			continue;
		}
		mc_lake_partition *p = realloc(*out, (*n + 1) * sizeof *p);
		if (!p) {
			free(path);
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		*out = p;
		p[*n] = (mc_lake_partition){year, month, path};
		(*n)++;
	}
	closedir(d);
	return rc;
}

mc_code mc_lake_partitions(const mc_lake *l, mc_lake_partition **out, size_t *n, mc_error *err)
{
	*out = NULL;
	*n = 0;
	DIR *d = opendir(l->root);
	if (!d)
		return mc_fail(err, MC_ERR_IO, "cannot list lake '%s'", l->root);
	struct dirent *e;
	mc_code rc = MC_OK;
	while (!rc && (e = readdir(d))) {
		int year;
		char tail;
		if (sscanf(e->d_name, "year=%4d%c", &year, &tail) != 1)
			continue;
		char *ydir = mc_path_join(l->root, e->d_name);
		if (!ydir) {
			rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			break;
		}
		rc = scan_year(l, year, ydir, out, n, err);
		free(ydir);
	}
	closedir(d);
	if (rc) {
		mc_lake_partitions_free(*out, *n);
		*out = NULL;
		*n = 0;
		return rc;
	}
	if (*n > 1)
		qsort(*out, *n, sizeof **out, partition_cmp);
	return MC_OK;
}

void mc_lake_partitions_free(mc_lake_partition *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].path);
	free(p);
}

/* Remove data.parquet.tmp.* in one month directory. */
static size_t clean_month_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t removed = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "data.parquet.tmp.", 17) != 0)
			continue;
		char *p = mc_path_join(dir, e->d_name);
		if (p && unlink(p) == 0)
			removed++;
		free(p);
	}
	closedir(d);
	return removed;
}

size_t mc_lake_remove_stale_temps(mc_lake *l)
{
	size_t removed = 0;
	DIR *years = opendir(l->root);
	if (!years)
		return 0;
	struct dirent *y;
	while ((y = readdir(years))) {
		if (strncmp(y->d_name, "year=", 5) != 0)
			continue;
		char *ydir = mc_path_join(l->root, y->d_name);
		DIR *months = ydir ? opendir(ydir) : NULL;
		struct dirent *m;
		while (months && (m = readdir(months))) {
			if (strncmp(m->d_name, "month=", 6) != 0)
				continue;
			char *mdir = mc_path_join(ydir, m->d_name);
			if (mdir)
				removed += clean_month_dir(mdir);
			free(mdir);
		}
		if (months)
			closedir(months);
		free(ydir);
	}
	closedir(years);
	return removed;
}

static mc_code read_partition(const char *path, mc_table **out, mc_error *err)
{
	mc_code rc = mc_parquet_read_file(path, out, err);
	if (rc)
		return rc;
	rc = mc_lake_check_schema(*out, path, err);
	if (rc) {
		mc_table_free(*out);
		*out = NULL;
	}
	return rc;
}

mc_code mc_lake_read_month(const mc_lake *l, int year, int month, mc_table **out, mc_error *err)
{
	*out = NULL;
	char *path = mc_lake_partition_path(l, year, month);
	if (!path)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = mc_exists(path) ? read_partition(path, out, err) : MC_OK;
	free(path);
	return rc;
}

/* Append the rows of src dated in [from, to], run by run of consecutive rows. */
static mc_code append_range(mc_table *dst, const mc_table *src, int32_t from, int32_t to)
{
	const int32_t *date = MC_COL_I32(&src->cols[MC_LAKE_DATE]);
	size_t i = 0;
	while (i < src->nrows) {
		while (i < src->nrows && (date[i] < from || date[i] > to))
			i++;
		size_t start = i;
		while (i < src->nrows && date[i] >= from && date[i] <= to)
			i++;
		mc_code rc = mc_table_append_rows(dst, src, start, i - start);
		if (rc)
			return rc;
	}
	return MC_OK;
}

/* Whether the month can hold days in [from, to]. */
static bool month_in_range(int year, int month, int32_t from, int32_t to)
{
	int32_t first = mc_date_from_ymd(year, month, 1);
	int32_t next = month == 12 ? mc_date_from_ymd(year + 1, 1, 1)
				   : mc_date_from_ymd(year, month + 1, 1);
	return next > from && first <= to;
}

mc_code mc_lake_read(const mc_lake *l, int32_t from, int32_t to, mc_table **out, mc_error *err)
{
	*out = NULL;
	mc_lake_partition *parts;
	size_t n;
	mc_code rc = mc_lake_partitions(l, &parts, &n, err);
	if (rc)
		return rc;
	mc_table *all = mc_lake_table_new();
	if (!all)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		if (!month_in_range(parts[i].year, parts[i].month, from, to))
			continue;
		mc_table *t;
		rc = read_partition(parts[i].path, &t, err);
		if (!rc) {
			if (append_range(all, t, from, to))
				rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
			mc_table_free(t);
		}
	}
	mc_lake_partitions_free(parts, n);
	if (rc) {
		mc_table_free(all);
		return rc;
	}
	*out = all;
	return MC_OK;
}

/*
 * Sorting.  Rows are ordered by date, then by series (kind, state, city,
 * milk_type, channel).  A table has few distinct series (224 in the SNIIM
 * data) and many rows, so the series are ranked once and each row sorts on
 * one 64-bit key: date in the high half, series rank and row index below.
 */
typedef struct series_ref {
	const mc_table *t;
	size_t row; /* first row holding the series */
} series_ref;

static int cmp_str(const mc_column *c, size_t a, size_t b)
{
	size_t na, nb;
	const char *sa = mc_column_str(c, a, &na), *sb = mc_column_str(c, b, &nb);
	int r = memcmp(sa, sb, na < nb ? na : nb);
	return r ? r : (na > nb) - (na < nb);
}

static int series_cmp(const void *pa, const void *pb)
{
	const series_ref *a = pa, *b = pb;
	for (int c = MC_LAKE_KIND; c <= MC_LAKE_CHANNEL; c++) {
		int r = cmp_str(&a->t->cols[c], a->row, b->row);
		if (r)
			return r;
	}
	return 0;
}

/* The row's (kind, state, city, milk_type, channel) as one key; key holds SERIES_KEY_MAX. */
#define SERIES_PART_MAX 1024
#define SERIES_KEY_MAX (5 * (SERIES_PART_MAX + 1))
static size_t series_key(const mc_table *t, size_t i, char *key)
{
	const char *parts[5];
	size_t lens[5];
	for (int c = 0; c < 5; c++)
		parts[c] = mc_column_str(&t->cols[MC_LAKE_KIND + c], i, &lens[c]);
	return mc_key_join(key, parts, lens, 5, SERIES_PART_MAX);
}

/* Rank of each row's series in sorted series order (rank[i] for row i). */
static mc_code rank_series(const mc_table *t, uint32_t *rank, mc_error *err)
{
	mc_strmap *ids = mc_strmap_new(512);
	series_ref *refs = NULL;
	size_t nref = 0;
	mc_code rc = ids ? MC_OK : MC_ERR_NOMEM;
	for (size_t i = 0; i < t->nrows && !rc; i++) {
		char key[SERIES_KEY_MAX];
		size_t n = series_key(t, i, key);
		int64_t id;
		if (!mc_strmap_get(ids, key, n, &id)) {
			series_ref *r = realloc(refs, (nref + 1) * sizeof *r);
			if (!r || mc_strmap_put(ids, key, n, (int64_t)nref)) {
				refs = r ? r : refs;
				rc = MC_ERR_NOMEM;
				break;
			}
			refs = r;
			refs[nref] = (series_ref){t, i};
			id = (int64_t)nref++;
		}
		rank[i] = (uint32_t)id; /* an id for now; turned into a rank below */
	}
	uint32_t *order = rc ? NULL : malloc((nref ? nref : 1) * sizeof *order);
	if (!rc && !order)
		rc = MC_ERR_NOMEM;
	if (!rc) {
		/* Sort the distinct series, then map id → rank. */
		series_ref *sorted = malloc((nref ? nref : 1) * sizeof *sorted);
		if (!sorted) {
			rc = MC_ERR_NOMEM;
		} else {
			if (nref)
				memcpy(sorted, refs, nref * sizeof *sorted);
			qsort(sorted, nref, sizeof *sorted, series_cmp);
			for (size_t r = 0; r < nref; r++) {
				int64_t id;
				char key[SERIES_KEY_MAX];
				size_t n = series_key(t, sorted[r].row, key);
				mc_strmap_get(ids, key, n, &id);
				order[id] = (uint32_t)r;
			}
			for (size_t i = 0; i < t->nrows; i++)
				rank[i] = order[rank[i]];
		}
		free(sorted);
	}
	free(order);
	free(refs);
	mc_strmap_free(ids);
	return rc ? mc_fail(err, rc, "out of memory") : MC_OK;
}

mc_code mc_lake_sort_ranked(mc_table *t, const uint32_t *rank, mc_error *err)
{
	size_t n = t->nrows;
	mc_sort_pair *items = malloc((n ? n : 1) * sizeof *items);
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	if (!items || !idx) {
		free(items);
		free(idx);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	const int32_t *date = MC_COL_I32(&t->cols[MC_LAKE_DATE]);
	for (size_t i = 0; i < n; i++) {
		uint64_t d = (uint64_t)((int64_t)date[i] - INT32_MIN);
		/* date (offset to be non-negative) << 32 | series rank; stable on ties */
		items[i] = (mc_sort_pair){d << 32 | rank[i], i};
	}
	mc_table *sorted = NULL;
	if (!mc_sort_pairs(items, n)) {
		for (size_t i = 0; i < n; i++)
			idx[i] = (size_t)items[i].value;
		sorted = mc_table_take(t, idx, n);
	}
	free(items);
	free(idx);
	if (!sorted)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	/* Swap contents so the caller's pointer now holds the sorted rows. */
	mc_table tmp = *t;
	*t = *sorted;
	*sorted = tmp;
	mc_table_free(sorted);
	return MC_OK;
}

mc_code mc_lake_sort(mc_table *t, mc_error *err)
{
	uint32_t *rank = malloc((t->nrows ? t->nrows : 1) * sizeof *rank);
	if (!rank)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	mc_code rc = rank_series(t, rank, err);
	if (!rc)
		rc = mc_lake_sort_ranked(t, rank, err);
	free(rank);
	return rc;
}

/* Encode one month and write it to a not-yet-committed atomic file. */
static mc_code stage_month(mc_lake *l, mc_lake_month *m, mc_atomic_file *af, mc_error *err)
{
	mc_code rc = mc_lake_check_schema(m->table, "lake partition", err);
	if (!rc)
		rc = m->series_rank ? mc_lake_sort_ranked(m->table, m->series_rank, err)
				    : mc_lake_sort(m->table, err);
	if (rc)
		return rc;
	char *path = mc_lake_partition_path(l, m->year, m->month);
	char *dir = path ? strdup(path) : NULL;
	if (!dir) {
		free(path);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	*strrchr(dir, '/') = '\0';
	rc = mc_mkdirs(dir, err);
	free(dir);
	mc_buf b;
	mc_buf_init(&b, 0);
	if (!rc) {
		mc_parquet_write_opts opts;
		mc_parquet_write_opts_init(&opts);
		opts.timestamps_utc = true; /* ingested_at is an instant in UTC */
		rc = mc_parquet_write_mem(m->table, &opts, &b, err);
	}
	if (!rc) {
		mc_sha256_hex(b.data, b.len, m->sha256);
		m->bytes = b.len;
		rc = mc_atomic_open(af, path, err);
	}
	if (!rc && (rc = mc_atomic_write(af, b.data, b.len, err)))
		mc_atomic_abort(af);
	mc_buf_release(&b);
	free(path);
	return rc;
}

/* Months are encoded by a small pool of threads: each takes the next month. */
typedef struct stage_pool {
	mc_lake *lake;
	mc_lake_month *months;
	mc_atomic_file *files;
	mc_error *errs; /* one per month */
	mc_code *rcs;
	size_t n;
	atomic_size_t next;
} stage_pool;

static void stage_loop(stage_pool *p)
{
	for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;)
		p->rcs[i] = stage_month(p->lake, &p->months[i], &p->files[i], &p->errs[i]);
}

static void *stage_thread(void *arg)
{
	stage_loop(arg);
	mc_parquet_thread_done();
	return NULL;
}

/* Two workers: the machines we target have two cores or more, and a month
 * takes about a millisecond, so more threads would mostly wait. */
#define STAGE_THREADS 2

static void stage_all(stage_pool *p)
{
	pthread_t extra[STAGE_THREADS - 1];
	size_t started = 0;
	for (; started < STAGE_THREADS - 1 && started + 1 < p->n; started++)
		if (pthread_create(&extra[started], NULL, stage_thread, p) != 0)
			break; /* fewer threads is still correct */
	stage_loop(p);
	for (size_t i = 0; i < started; i++)
		pthread_join(extra[i], NULL);
}

mc_code mc_lake_write_months(mc_lake *l, mc_lake_month *months, size_t n, mc_error *err)
{
	stage_pool p = {.lake = l, .months = months, .n = n};
	atomic_init(&p.next, 0);
	p.files = calloc(n ? n : 1, sizeof *p.files);
	p.errs = calloc(n ? n : 1, sizeof *p.errs);
	p.rcs = calloc(n ? n : 1, sizeof *p.rcs);
	mc_code rc =
		p.files && p.errs && p.rcs ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc) {
		for (size_t i = 0; i < n; i++)
			p.files[i].fd = -1;
		stage_all(&p);
		for (size_t i = 0; i < n && !rc; i++)
			if ((rc = p.rcs[i]))
				*err = p.errs[i]; /* the first failing month, in order */
	}
	if (rc) {
		for (size_t i = 0; p.files && i < n; i++)
			mc_atomic_abort(&p.files[i]); /* a no-op on a month that failed */
	} else {
		rc = mc_atomic_commit_all(p.files, n, err);
	}
	free(p.files);
	free(p.errs);
	free(p.rcs);
	return rc;
}

mc_code mc_lake_write_month(mc_lake *l, int year, int month, mc_table *t, mc_error *err)
{
	mc_lake_month m = {.year = year, .month = month, .table = t};
	return mc_lake_write_months(l, &m, 1, err);
}
