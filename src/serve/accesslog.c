/*
 * The access log's output: request threads append whole lines to a shared
 * buffer under a mutex held for one copy; a flusher thread, woken when the
 * buffer goes from empty to non-empty, waits a few milliseconds for more
 * lines to gather and writes them with one write(2).  Lines are never cut:
 * to a regular file the batch goes in one write (O_APPEND or not, the
 * kernel keeps concurrent writes apart); to a pipe or a terminal in pieces
 * of at most PIPE_BUF bytes ending at a line's end, so that other writers
 * of the same stderr (the service's own log) cannot land inside a line.
 * When the flusher falls far behind, the request thread that finds the
 * buffer over its cap writes it itself.  A lost line never disturbs a
 * request.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve/serve_int.h"

#define GATHER_NS (10L * 1000 * 1000) /* how long the flusher lets lines gather */
#define CAP (1u << 20)		      /* pending bytes that make a request thread write */

struct mc_access_log {
	int fd;
	bool whole; /* a regular file: one write per batch */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	mc_buf pending; /* guarded by lock */
	bool stopping;
	pthread_mutex_t write_lock; /* one writer at a time, so pieces never interleave */
	pthread_t flusher;
};

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			errno = 0; /* the rest is lost, as a failed log line always was */
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

/* The end of the longest run of whole lines from p that fits in PIPE_BUF (or the first line). */
static size_t piece(const uint8_t *p, size_t n)
{
	if (n <= PIPE_BUF)
		return n;
	for (size_t i = PIPE_BUF; i > 0; i--)
		if (p[i - 1] == '\n')
			return i;
	const uint8_t *nl = memchr(p, '\n', n);
	return nl ? (size_t)(nl - p) + 1 : n;
}

static void write_lines(mc_access_log *a, const mc_buf *b)
{
	pthread_mutex_lock(&a->write_lock);
	for (size_t off = 0; off < b->len;) {
		size_t n = a->whole ? b->len - off : piece(b->data + off, b->len - off);
		write_all(a->fd, b->data + off, n);
		off += n;
	}
	pthread_mutex_unlock(&a->write_lock);
}

void mc_access_log_append(mc_access_log *a, const char *line, size_t n)
{
	mc_buf full = MC_BUF_INIT;
	pthread_mutex_lock(&a->lock);
	bool was_empty = a->pending.len == 0;
	if (mc_buf_append(&a->pending, line, n) == MC_OK && a->pending.len >= CAP) {
		full = a->pending;
		mc_buf_init(&a->pending, 0);
	}
	pthread_mutex_unlock(&a->lock);
	if (was_empty)
		pthread_cond_signal(&a->wake);
	if (full.len) {
		write_lines(a, &full);
		mc_buf_release(&full);
	}
}

static void *flusher_main(void *arg)
{
	mc_access_log *a = arg;
	mc_buf out = MC_BUF_INIT;
	for (bool done = false; !done;) {
		pthread_mutex_lock(&a->lock);
		while (!a->pending.len && !a->stopping)
			pthread_cond_wait(&a->wake, &a->lock);
		bool stopping = a->stopping;
		pthread_mutex_unlock(&a->lock);
		if (!stopping) {
			struct timespec ts = {0, GATHER_NS};
			nanosleep(&ts, NULL);
		}
		pthread_mutex_lock(&a->lock);
		mc_buf t = a->pending; /* swap: the emptied buffer keeps its room */
		a->pending = out;
		out = t;
		done = a->stopping && !a->pending.len;
		pthread_mutex_unlock(&a->lock);
		write_lines(a, &out);
		mc_buf_reset(&out);
	}
	mc_buf_release(&out);
	return NULL;
}

mc_code mc_access_log_new(int fd, mc_access_log **out, mc_error *err)
{
	*out = NULL;
	mc_access_log *a = calloc(1, sizeof *a);
	if (!a)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	struct stat st;
	a->fd = fd;
	a->whole = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	mc_buf_init(&a->pending, 0);
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->write_lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	int e = pthread_create(&a->flusher, NULL, flusher_main, a);
	if (e) {
		pthread_mutex_destroy(&a->lock);
		pthread_mutex_destroy(&a->write_lock);
		pthread_cond_destroy(&a->wake);
		free(a);
		return mc_fail(err, MC_ERR_IO, "cannot start the access log writer: %s",
			       strerror(e));
	}
	*out = a;
	return MC_OK;
}

void mc_access_log_free(mc_access_log *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_mutex_unlock(&a->lock);
	pthread_cond_signal(&a->wake);
	pthread_join(a->flusher, NULL); /* it writes what is pending first */
	mc_buf_release(&a->pending);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->write_lock);
	pthread_cond_destroy(&a->wake);
	free(a);
}
