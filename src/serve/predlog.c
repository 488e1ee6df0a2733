/*
 * The prediction log: every served forecast as one JSON line in
 * DIR/serve-YYYY-MM-DD.jsonl, for monitoring to compare with the prices
 * published later.  Request threads put entries into a bounded ring under a
 * mutex held only for one copy; a writer thread takes them out in batches
 * and does the formatting and the I/O.  A full ring drops the entry and
 * counts it: a request never waits for the disk.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "serve/serve_int.h"

#define BATCH 256

struct mc_predlog {
	char *dir;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t writer;
	mc_predlog_entry *ring; /* capacity slots; head = oldest */
	size_t capacity, head, count;
	bool stopping;
	_Atomic uint64_t written, dropped, failed;
	/* writer-only state */
	FILE *file;
	int32_t file_day;
};

bool mc_predlog_push(mc_predlog *l, const mc_predlog_entry *e)
{
	pthread_mutex_lock(&l->lock);
	bool ok = l->count < l->capacity && !l->stopping;
	if (ok) {
		l->ring[(l->head + l->count) % l->capacity] = *e;
		l->count++;
	}
	pthread_mutex_unlock(&l->lock);
	if (ok)
		pthread_cond_signal(&l->wake);
	else
		atomic_fetch_add(&l->dropped, 1);
	return ok;
}

void mc_predlog_counts(mc_predlog *l, uint64_t *written, uint64_t *dropped, uint64_t *failed)
{
	*written = atomic_load(&l->written);
	*dropped = atomic_load(&l->dropped);
	*failed = atomic_load(&l->failed);
}

/* The day's file, opened for appending (a new one after midnight UTC). */
static FILE *day_file(mc_predlog *l, int32_t day)
{
	if (l->file && l->file_day == day)
		return l->file;
	if (l->file)
		fclose(l->file);
	char name[40], *path;
	char d[11];
	mc_date_format_iso(day, d);
	snprintf(name, sizeof name, "serve-%s.jsonl", d);
	path = mc_path_join(l->dir, name);
	l->file = path ? fopen(path, "a") : NULL;
	l->file_day = day;
	free(path);
	return l->file;
}

static json_t *entry_json(const mc_predlog_entry *e)
{
	char t[32], as_of[11], origin[11], target[11];
	time_t secs = (time_t)(e->time_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + n, sizeof t - n, ".%03dZ", (int)(e->time_ms % 1000));
	mc_date_format_iso(e->as_of, as_of);
	mc_date_format_iso(e->origin, origin);
	mc_date_format_iso(e->target, target);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:i, s:s, s:f, s:f, s:f, "
			 "s:f, s:s}",
			 "time", t, "route", mc_route_paths[e->route], "series", "state", e->state,
			 "city", e->city, "milk_type", e->milk_type, "channel", e->channel, "as_of",
			 as_of, "origin", origin, "horizon", e->h, "target_date", target, "price",
			 e->price, "lower", e->lower, "upper", e->upper, "last_price", e->last,
			 "model_version", e->version);
}

static void write_entry(mc_predlog *l, const mc_predlog_entry *e)
{
	FILE *f = day_file(l, (int32_t)(e->time_ms / 86400000));
	json_t *j = entry_json(e);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (f && line && fprintf(f, "%s\n", line) > 0)
		atomic_fetch_add(&l->written, 1);
	else
		atomic_fetch_add(&l->failed, 1);
	free(line);
}

static void *writer_main(void *arg)
{
	mc_predlog *l = arg;
	mc_predlog_entry *batch = malloc(BATCH * sizeof *batch);
	for (;;) {
		pthread_mutex_lock(&l->lock);
		while (!l->count && !l->stopping)
			pthread_cond_wait(&l->wake, &l->lock);
		size_t n = 0;
		while (batch && n < BATCH && l->count) {
			batch[n++] = l->ring[l->head];
			l->head = (l->head + 1) % l->capacity;
			l->count--;
		}
		bool done = l->stopping && !l->count;
		pthread_mutex_unlock(&l->lock);
		for (size_t i = 0; i < n; i++)
			write_entry(l, &batch[i]);
		if (l->file && fflush(l->file) != 0)
			atomic_fetch_add(&l->failed, 1);
		if (done || !batch)
			break;
	}
	free(batch);
	return NULL;
}

mc_code mc_predlog_new(const char *dir, size_t capacity, mc_predlog **out, mc_error *err)
{
	*out = NULL;
	mc_code rc = mc_mkdirs(dir, err);
	if (rc)
		return rc;
	mc_predlog *l = calloc(1, sizeof *l);
	if (!l || !(l->dir = strdup(dir)) ||
	    !(l->ring = calloc(capacity ? capacity : 1, sizeof *l->ring))) {
		if (l)
			free(l->dir);
		free(l);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	l->capacity = capacity ? capacity : 1;
	l->file_day = INT32_MIN;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	int e = pthread_create(&l->writer, NULL, writer_main, l);
	if (e) {
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->wake);
		free(l->ring);
		free(l->dir);
		free(l);
		return mc_fail(err, MC_ERR_IO, "cannot start the prediction log writer: %s",
			       strerror(e));
	}
	*out = l;
	return MC_OK;
}

void mc_predlog_free(mc_predlog *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_mutex_unlock(&l->lock);
	pthread_cond_signal(&l->wake);
	pthread_join(l->writer, NULL);
	if (l->file)
		fclose(l->file);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->wake);
	free(l->ring);
	free(l->dir);
	free(l);
}
