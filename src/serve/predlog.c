/*
 * The prediction log: every served forecast as one JSON line in
 * DIR/serve-YYYY-MM-DD.jsonl, for monitoring to compare with the prices
 * published later.  Request threads put entries into a bounded ring under a
 * mutex held only for one copy; a writer thread takes them out in batches,
 * formats them by hand into one buffer (jsonw.c: the same bytes as jansson
 * would write) and appends each batch with one write(2).  The writer is
 * woken only when the ring goes from empty to non-empty, and pauses 1 ms
 * after a batch so that entries gather under load.  A full ring drops the entry and
 * counts it: a request never waits for the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "serve/serve_int.h"

#define BATCH 256
#define COALESCE_NS 1000000L /* the writer's pause after a batch: later entries queue up */

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
	int fd; /* the day's file, or -1 */
	int32_t file_day;
	mc_buf out;	    /* the lines of one day of a batch */
	mc_real_memo *memo; /* the texts of the numbers written lately */
};

bool mc_predlog_push(mc_predlog *l, const mc_predlog_entry *e)
{
	pthread_mutex_lock(&l->lock);
	bool ok = l->count < l->capacity && !l->stopping;
	bool was_empty = l->count == 0;
	if (ok) {
		l->ring[(l->head + l->count) % l->capacity] = *e;
		l->count++;
	}
	pthread_mutex_unlock(&l->lock);
	if (ok && was_empty) /* a writer with work queued does not sleep: no need to wake it */
		pthread_cond_signal(&l->wake);
	else if (!ok)
		atomic_fetch_add(&l->dropped, 1);
	return ok;
}

void mc_predlog_counts(mc_predlog *l, uint64_t *written, uint64_t *dropped, uint64_t *failed)
{
	*written = atomic_load(&l->written);
	*dropped = atomic_load(&l->dropped);
	*failed = atomic_load(&l->failed);
}

/* ---- one line ---- */

static char *two_digits(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) of Unix milliseconds; ms >= 0. */
static void format_time(int64_t ms, char out[25])
{
	int64_t day = ms / 86400000, in_day = ms % 86400000;
	int secs = (int)(in_day / 1000);
	mc_date_format_iso((int32_t)day, out);
	char *p = out + 10;
	*p++ = 'T';
	p = two_digits(p, secs / 3600);
	*p++ = ':';
	p = two_digits(p, secs / 60 % 60);
	*p++ = ':';
	p = two_digits(p, secs % 60);
	*p++ = '.';
	int milli = (int)(in_day % 1000);
	*p++ = (char)('0' + milli / 100);
	p = two_digits(p, milli % 100);
	*p++ = 'Z';
	*p = 0;
}

/* `"key":` (keys are plain ASCII: no escapes). */
static bool key(mc_buf *b, const char *k)
{
	return mc_jw_raw(b, "\"", 1) && mc_jw_raw(b, k, strlen(k)) && mc_jw_raw(b, "\":", 2);
}

static bool format_series(mc_buf *b, const mc_predlog_entry *e)
{
	return key(b, "series") && mc_jw_raw(b, "{", 1) && key(b, "state") &&
	       mc_jw_string(b, e->state) && mc_jw_raw(b, ",", 1) && key(b, "city") &&
	       mc_jw_string(b, e->city) && mc_jw_raw(b, ",", 1) && key(b, "milk_type") &&
	       mc_jw_string(b, e->milk_type) && mc_jw_raw(b, ",", 1) && key(b, "channel") &&
	       mc_jw_string(b, e->channel) && mc_jw_raw(b, "},", 2);
}

static bool format_numbers(mc_buf *b, const mc_predlog_entry *e, mc_real_memo *memo)
{
	return key(b, "as_of") && mc_jw_date(b, e->as_of) && mc_jw_raw(b, ",", 1) &&
	       key(b, "origin") && mc_jw_date(b, e->origin) && mc_jw_raw(b, ",", 1) &&
	       key(b, "horizon") && mc_jw_int(b, e->h) && mc_jw_raw(b, ",", 1) &&
	       key(b, "target_date") && mc_jw_date(b, e->target) && mc_jw_raw(b, ",", 1) &&
	       key(b, "price") && mc_jw_real_memo(b, e->price, memo) && mc_jw_raw(b, ",", 1) &&
	       key(b, "lower") && mc_jw_real_memo(b, e->lower, memo) && mc_jw_raw(b, ",", 1) &&
	       key(b, "upper") && mc_jw_real_memo(b, e->upper, memo) && mc_jw_raw(b, ",", 1) &&
	       key(b, "last_price") && mc_jw_real_memo(b, e->last, memo) && mc_jw_raw(b, ",", 1);
}

bool mc_predlog_format(const mc_predlog_entry *e, mc_real_memo *memo, mc_buf *b)
{
	size_t start = b->len;
	char t[25];
	format_time(e->time_ms, t);
	bool ok = e->time_ms >= 0 && e->route < MC_ROUTE_COUNT && mc_jw_raw(b, "{", 1) &&
		  key(b, "time") && mc_jw_string(b, t) && mc_jw_raw(b, ",", 1) && key(b, "route") &&
		  mc_jw_string(b, mc_route_paths[e->route]) && mc_jw_raw(b, ",", 1) &&
		  format_series(b, e) && format_numbers(b, e, memo) && key(b, "model_version") &&
		  mc_jw_string(b, e->version) && mc_jw_raw(b, "}\n", 2);
	if (!ok && b->data) { /* nothing of a line that cannot be written whole */
		b->len = start;
		b->data[start] = 0;
	}
	return ok;
}

/* ---- the files ---- */

/* The day's file, opened for appending (a new one after midnight UTC); -1 when it cannot be. */
static int day_file(mc_predlog *l, int32_t day)
{
	if (l->fd >= 0 && l->file_day == day)
		return l->fd;
	if (l->fd >= 0)
		close(l->fd);
	char name[40], d[11];
	mc_date_format_iso(day, d);
	snprintf(name, sizeof name, "serve-%s.jsonl", d);
	char *path = mc_path_join(l->dir, name);
	l->fd = path ? open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
	l->file_day = day;
	free(path);
	return l->fd;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

/* Entries [0, n) of one UTC day: formatted into one buffer, then one write. */
static void write_day(mc_predlog *l, const mc_predlog_entry *e, size_t n)
{
	uint64_t lines = 0, bad = 0;
	mc_buf_reset(&l->out);
	for (size_t i = 0; i < n; i++) {
		if (mc_predlog_format(&e[i], l->memo, &l->out))
			lines++;
		else
			bad++;
	}
	int fd = day_file(l, (int32_t)(e[0].time_ms / 86400000));
	if (lines && (fd < 0 || !write_all(fd, l->out.data, l->out.len))) {
		bad += lines;
		lines = 0;
	}
	atomic_fetch_add(&l->written, lines);
	atomic_fetch_add(&l->failed, bad);
}

static void write_batch(mc_predlog *l, const mc_predlog_entry *batch, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		int64_t day = batch[i].time_ms / 86400000;
		while (j < n && batch[j].time_ms / 86400000 == day)
			j++;
		write_day(l, batch + i, j - i);
		i = j;
	}
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
		write_batch(l, batch, n);
		if (done || !batch)
			break;
		if (n < BATCH) { /* let entries gather: fewer wake-ups and writes under load */
			struct timespec ts = {0, COALESCE_NS};
			nanosleep(&ts, NULL);
		}
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
	if (!l || !(l->dir = strdup(dir)) || !(l->memo = calloc(1, sizeof *l->memo)) ||
	    !(l->ring = calloc(capacity ? capacity : 1, sizeof *l->ring))) {
		if (l) {
			free(l->dir);
			free(l->memo);
		}
		free(l);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	l->capacity = capacity ? capacity : 1;
	l->fd = -1;
	l->file_day = INT32_MIN;
	mc_buf_init(&l->out, 0);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	int e = pthread_create(&l->writer, NULL, writer_main, l);
	if (e) {
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->wake);
		free(l->ring);
		free(l->memo);
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
	if (l->fd >= 0)
		close(l->fd);
	mc_buf_release(&l->out);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->wake);
	free(l->ring);
	free(l->memo);
	free(l->dir);
	free(l);
}
