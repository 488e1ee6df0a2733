/*
 * Open-loop HTTP load generator and cold-start timer for bench/run-serve.sh.
 *
 *   bench_serve_load rate HOST:PORT PATH BODY_FILE RATE SECONDS [CONNS [WARMUP_S]]
 *
 * POSTs BODY_FILE to PATH at a fixed schedule of RATE requests a second for
 * WARMUP_S (default 1, not recorded) and then SECONDS seconds, over at most
 * CONNS (default 16) keep-alive connections, from one thread.  Request i is
 * due at t0 + i / RATE whether or not earlier answers came back (open loop);
 * it goes out on an idle open connection, else on a new one (connected for
 * it: the connect is then part of its latency), else it waits for one; its
 * latency is measured from its scheduled time to its last response byte, so
 * a stalled server is charged for every request that had to wait (no
 * coordinated omission).  Connections are opened only for a request to send
 * (a sync gunicorn worker that accepted an idle connection would block on
 * it), and one the server closes (Connection: close) is opened again by the
 * next request it takes.  Prints the percentiles p50/p90/p99/p99.9/max of
 * that latency, and of the service time (from taking the request up) for
 * comparison.  With SERVE_LOAD_TRACE=FILE, each recorded
 * request's due time (s from the start), latency and service time (ms) go
 * to FILE, one line each.
 *
 *   bench_serve_load cold HOST:PORT PATH BODY_FILE RUNS CMD [ARGS...]
 *
 * RUNS times: fork and exec CMD (its stdout and stderr to /dev/null), then
 * connect and POST in a tight loop (every 100 µs) until a 200 answer comes;
 * the time from before the fork to that answer is the cold start.  The
 * server is then stopped with SIGTERM (SIGKILL to its process group after
 * 20 s) and waited for; it gets SIGTERM too if this program dies first.
 * Prints each run and the median.
 *
 * Output lines start with a key ("load_...", "cold_...") for the script.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

static const char *const usage =
	"usage: bench_serve_load rate HOST:PORT PATH BODY_FILE RATE SECONDS [CONNS [WARMUP_S]]\n"
	"       bench_serve_load cold HOST:PORT PATH BODY_FILE RUNS CMD [ARGS...]\n";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- the request and its answer ---- */

static struct sockaddr_in addr;
static char *request;
static size_t request_len;

static int setup(const char *hostport, const char *path, const char *body_file)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	if (!colon || (size_t)(colon - hostport) >= sizeof host) {
		fprintf(stderr, "bench_serve_load: expected HOST:PORT, not '%s'\n", hostport);
		return -1;
	}
	snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "bench_serve_load: '%s' is not an IPv4 address\n", host);
		return -1;
	}
	FILE *f = fopen(body_file, "rb");
	if (!f) {
		perror(body_file);
		return -1;
	}
	char body[65536];
	size_t n = fread(body, 1, sizeof body, f);
	fclose(f);
	size_t cap = n + 512 + strlen(path) + strlen(hostport);
	request = malloc(cap);
	if (!request)
		return -1;
	int h = snprintf(request, cap,
			 "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 path, hostport, n);
	memcpy(request + h, body, n);
	request_len = (size_t)h + n;
	return 0;
}

/* A response read so far: complete when the headers and Content-Length bytes are in. */
typedef struct response {
	char buf[16384];
	size_t len;
	int status;
	bool close; /* Connection: close */
} response;

/* 1 complete, 0 more to read, -1 malformed. */
static int response_complete(response *r)
{
	r->buf[r->len < sizeof r->buf ? r->len : sizeof r->buf - 1] = 0;
	char *end = strstr(r->buf, "\r\n\r\n");
	if (!end)
		return r->len >= sizeof r->buf - 1 ? -1 : 0;
	if (strncmp(r->buf, "HTTP/1.", 7) != 0 || r->len < 12)
		return -1;
	r->status = atoi(r->buf + 9);
	long clen = -1;
	r->close = false;
	for (char *line = strstr(r->buf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
		if (!strncasecmp(line, "Content-Length:", 15))
			clen = strtol(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Connection:", 11)) {
			char *close = strcasestr(line, "close");
			r->close = close && close < strstr(line, "\r\n");
		}
	}
	if (clen < 0)
		return -1; /* both servers send Content-Length */
	size_t need = (size_t)(end + 4 - r->buf) + (size_t)clen;
	if (need >= sizeof r->buf)
		return -1;
	return r->len >= need ? 1 : 0;
}

/* ---- rate mode ---- */

/* C_CLOSED: no socket, one is opened when a request is assigned; C_FAILED: refused. */
enum { C_CLOSED, C_CONNECTING, C_OPEN, C_FAILED };

typedef struct conn {
	int fd, state;
	bool busy;	/* a request is assigned (maybe not yet written) */
	long req;	/* its index */
	double sent;	/* when it was taken up (connect included) */
	size_t written; /* bytes of the request written */
	response resp;
} conn;

typedef struct load {
	int ep;
	conn *conns;
	int nconns;
	double t0, interval;
	long total, warm; /* requests scheduled; the first `warm` are not recorded */
	long next;	  /* next request to assign */
	long inflight, ok, bad_status, failed;
	double *lat, *svc, *at; /* by recorded request; at: due time from t0 */
	long nlat;
} load;

static double due(const load *l, long i)
{
	return l->t0 + (double)i * l->interval;
}

static int conn_open(load *l, conn *c)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int rc = connect(c->fd, (struct sockaddr *)&addr, sizeof addr);
	if (rc != 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->state = rc == 0 ? C_OPEN : C_CONNECTING;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};
	epoll_ctl(l->ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void conn_close(conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = C_CLOSED;
}

static void finish(load *l, conn *c, bool ok, int status)
{
	double t = now_s();
	if (ok && status == 200) {
		l->ok++;
		if (c->req >= l->warm) {
			l->at[l->nlat] = due(l, c->req) - l->t0;
			l->lat[l->nlat] = t - due(l, c->req);
			l->svc[l->nlat++] = t - c->sent;
		}
	} else if (ok) {
		l->bad_status++;
	} else {
		l->failed++;
	}
	c->busy = false;
	l->inflight--;
}

/* Write what is left of the request; false when the connection broke. */
static bool conn_write(conn *c)
{
	while (c->written < request_len) {
		ssize_t n =
			send(c->fd, request + c->written, request_len - c->written, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN;
		c->written += (size_t)n;
	}
	return true;
}

static void conn_fail(load *l, conn *c)
{
	if (c->busy)
		finish(l, c, false, 0);
	conn_close(c);
}

static void conn_event(load *l, conn *c, unsigned events)
{
	if (c->fd < 0)
		return; /* closed earlier in the same batch of events */
	if (c->state == C_CONNECTING) {
		int e = 0;
		socklen_t len = sizeof e;
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len);
		if (e) {
			fprintf(stderr, "bench_serve_load: connect: %s\n", strerror(e));
			if (c->busy)
				finish(l, c, false, 0);
			conn_close(c);
			c->state = C_FAILED; /* not used again: the server is not there */
			return;
		}
		c->state = C_OPEN;
	}
	if (c->busy && !conn_write(c)) {
		conn_fail(l, c);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		response *r = &c->resp;
		ssize_t n = recv(c->fd, r->buf + r->len, sizeof r->buf - 1 - r->len, 0);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0 || !c->busy) { /* closed, broken, or bytes nobody asked for */
			conn_fail(l, c);
			return;
		}
		r->len += (size_t)n;
		int done = response_complete(r);
		if (done < 0) {
			conn_fail(l, c);
			return;
		}
		if (done == 0)
			continue;
		bool close_after = r->close;
		finish(l, c, true, r->status);
		if (close_after) {
			conn_close(c); /* opened again by the next request it takes */
			return;
		}
	}
}

static void assign(load *l, conn *c, long i)
{
	c->busy = true;
	c->req = i;
	c->sent = now_s();
	c->written = 0;
	c->resp.len = 0;
	l->inflight++;
	if (c->state == C_CLOSED && conn_open(l, c) != 0) {
		perror("bench_serve_load: connect");
		finish(l, c, false, 0);
		c->state = C_FAILED;
	} else if (c->state == C_OPEN && !conn_write(c)) {
		conn_fail(l, c);
	}
}

/* An idle open connection, else one to open, else NULL (all busy or failed). */
static conn *free_conn(load *l)
{
	conn *closed = NULL;
	for (int i = 0; i < l->nconns; i++) {
		conn *c = &l->conns[i];
		if (!c->busy && c->state == C_OPEN)
			return c;
		if (!c->busy && c->state == C_CLOSED && !closed)
			closed = c;
	}
	return closed;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const double *v, long n, double q)
{
	long k = (long)ceil(q * (double)n) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static void print_dist(const char *key, double *v, long n)
{
	if (n == 0) {
		printf("%s none\n", key);
		return;
	}
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	printf("%s p50 %.3f p90 %.3f p99 %.3f p99.9 %.3f max %.3f ms (%ld requests)\n", key,
	       1e3 * pct(v, n, 0.5), 1e3 * pct(v, n, 0.9), 1e3 * pct(v, n, 0.99),
	       1e3 * pct(v, n, 0.999), 1e3 * v[n - 1], n);
}

/* Send on schedule and read the answers until every request is answered (or 5 s past
 * the schedule); print the results.  0 when every request was answered with 200. */
static int drive(load *l, int tfd, double rate, double seconds, double warmup)
{
	l->t0 = now_s() + 0.05;
	double end = due(l, l->total), drain_until = end + 5.0;
	struct epoll_event evs[64];
	for (;;) {
		double t = now_s();
		/* Assign every due request to a free connection, in order. */
		conn *c;
		while (l->next < l->total && due(l, l->next) <= t && (c = free_conn(l)))
			assign(l, c, l->next++);
		bool usable = false;
		for (int i = 0; i < l->nconns; i++)
			usable |= l->conns[i].state != C_FAILED;
		if (!usable) {
			fprintf(stderr, "bench_serve_load: every connection failed\n");
			break;
		}
		if (l->next >= l->total && l->inflight == 0)
			break;
		if (t > drain_until)
			break;
		/* Sleep until the next request is due (if a connection can take it) or an event. */
		int timeout = -1;
		if (l->next < l->total && free_conn(l)) {
			double d = due(l, l->next);
			struct itimerspec its = {
				.it_value = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)}};
			if (d <= t)
				timeout = 0;
			else
				timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		} else if (l->next >= l->total) {
			timeout = 100;
		}
		int n = epoll_wait(l->ep, evs, 64, timeout);
		for (int k = 0; k < n; k++) {
			if (!evs[k].data.ptr) {
				uint64_t x;
				if (read(tfd, &x, sizeof x) < 0)
					errno = 0;
				continue;
			}
			conn_event(l, evs[k].data.ptr, evs[k].events);
		}
	}
	long unsent = l->total - l->next;
	double took = now_s() - l->t0;
	printf("load_schedule %.0f req/s for %.1f s after %.1f s of warm-up, %d connections\n",
	       rate, seconds, warmup, l->nconns);
	printf("load_result sent %ld ok %ld non200 %ld failed %ld unanswered %ld unsent %ld "
	       "(%.1f s in all)\n",
	       l->next, l->ok, l->bad_status, l->failed, l->inflight, unsent, took);
	const char *trace = getenv("SERVE_LOAD_TRACE");
	FILE *f = trace ? fopen(trace, "w") : NULL;
	for (long i = 0; f && i < l->nlat; i++)
		fprintf(f, "%.6f %.6f %.6f\n", l->at[i], 1e3 * l->lat[i], 1e3 * l->svc[i]);
	if (f)
		fclose(f);
	print_dist("load_latency_ms", l->lat, l->nlat);
	print_dist("load_service_ms", l->svc, l->nlat);
	return l->bad_status || l->failed || l->inflight || unsent ? 1 : 0;
}

static int run_rate(double rate, double seconds, int nconns, double warmup)
{
	load l = {.nconns = nconns, .interval = 1.0 / rate, .ep = -1};
	l.warm = (long)(warmup * rate);
	l.total = l.warm + (long)(seconds * rate);
	l.lat = malloc(sizeof(double) * (size_t)l.total);
	l.svc = malloc(sizeof(double) * (size_t)l.total);
	l.at = malloc(sizeof(double) * (size_t)l.total);
	l.conns = calloc((size_t)nconns, sizeof *l.conns);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC), rc = 1;
	if (l.lat && l.svc && l.at && l.conns && tfd >= 0)
		l.ep = epoll_create1(EPOLL_CLOEXEC);
	if (l.ep >= 0) {
		struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
		epoll_ctl(l.ep, EPOLL_CTL_ADD, tfd, &tev);
		for (int i = 0; i < nconns; i++)
			l.conns[i].fd = -1;
		rc = drive(&l, tfd, rate, seconds, warmup);
		for (int i = 0; i < nconns; i++)
			conn_close(&l.conns[i]);
		close(l.ep);
	}
	if (tfd >= 0)
		close(tfd);
	free(l.lat);
	free(l.svc);
	free(l.at);
	free(l.conns);
	return rc;
}

/* ---- cold mode ---- */

/* One blocking POST on a fresh connection: the status, or -1 (not listening yet, reset). */
static int post_once(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct timeval tv = {30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int status = -1;
	response *r = calloc(1, sizeof *r);
	if (r && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
	    send(fd, request, request_len, MSG_NOSIGNAL) == (ssize_t)request_len) {
		for (;;) {
			ssize_t n = recv(fd, r->buf + r->len, sizeof r->buf - 1 - r->len, 0);
			if (n <= 0)
				break;
			r->len += (size_t)n;
			int done = response_complete(r);
			if (done) {
				status = done > 0 ? r->status : -1;
				break;
			}
		}
	}
	free(r);
	close(fd);
	return status;
}

static void stop_child(pid_t pid)
{
	kill(pid, SIGTERM);
	double until = now_s() + 20;
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (now_s() > until) {
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		sleep_s(0.005);
	}
}

static int run_cold(int runs, char **cmd)
{
	double *ms = calloc((size_t)runs, sizeof *ms);
	if (!ms)
		return 1;
	for (int i = 0; i < runs; i++) {
		if (post_once() >= 0) {
			fprintf(stderr,
				"bench_serve_load: something already answers on the port\n");
			return 1;
		}
		double t0 = now_s();
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			setpgid(0, 0);
			/* Stopped with us if we are interrupted: not left listening. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			int null = open("/dev/null", O_RDWR);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			execvp(cmd[0], cmd);
			_exit(127);
		}
		int status;
		while ((status = post_once()) != 200) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				fprintf(stderr, "bench_serve_load: '%s' exited before answering\n",
					cmd[0]);
				return 1;
			}
			if (status > 0) {
				fprintf(stderr, "bench_serve_load: the server answered %d\n",
					status);
				stop_child(pid);
				return 1;
			}
			sleep_s(0.0001);
		}
		ms[i] = 1e3 * (now_s() - t0);
		printf("cold_start_ms run %d %.2f\n", i + 1, ms[i]);
		fflush(stdout);
		stop_child(pid);
		sleep_s(0.1);
	}
	qsort(ms, (size_t)runs, sizeof *ms, cmp_double);
	double median = runs % 2 ? ms[runs / 2] : (ms[runs / 2 - 1] + ms[runs / 2]) / 2;
	printf("cold_start_ms median %.2f min %.2f max %.2f (%d starts)\n", median, ms[0],
	       ms[runs - 1], runs);
	free(ms);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 7 && argc <= 9 && !strcmp(argv[1], "rate")) {
		double rate = atof(argv[5]), seconds = atof(argv[6]);
		int conns = argc > 7 ? atoi(argv[7]) : 16;
		double warmup = argc > 8 ? atof(argv[8]) : 1.0;
		if (rate <= 0 || seconds <= 0 || conns < 1 || conns > 4096 || warmup < 0) {
			fputs(usage, stderr);
			return 2;
		}
		return setup(argv[2], argv[3], argv[4]) ? 1
							: run_rate(rate, seconds, conns, warmup);
	}
	if (argc >= 7 && !strcmp(argv[1], "cold")) {
		int runs = atoi(argv[5]);
		if (runs < 1) {
			fputs(usage, stderr);
			return 2;
		}
		return setup(argv[2], argv[3], argv[4]) ? 1 : run_cold(runs, argv + 6);
	}
	fputs(usage, stderr);
	return 2;
}
