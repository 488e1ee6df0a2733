/*
 * The HTTP transport: libmicrohttpd (the only includer of microhttpd.h)
 * with epoll polling threads in a pool, in front of the router.  It reads
 * the request target as sent, the headers the router needs and a body up to
 * the router's limit, hands them to mc_router_handle(), and writes the
 * response and one JSON line of access log.  Slow or idle clients are cut
 * off after the connection timeout; nothing a client sends reaches the
 * router unchecked for size.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "milkcast/date.h"
#include "serve/serve_int.h"

#define MAX_TARGET 8192		/* bytes of request target kept */
#define MAX_DISCARD (64u << 20) /* bytes of a too-large body read before closing */

struct mc_http_server {
	struct MHD_Daemon *daemon;
	mc_router *router;
	int listen_fd;
	unsigned port;
	mc_access_log *log;  /* NULL = no access log */
	atomic_int inflight; /* requests between their request line and their end */
};

/* One connection's current request (HTTP/1.1 requests on a connection come one at a time). */
typedef struct conn {
	mc_http_server *srv;
	char remote[INET6_ADDRSTRLEN];
	char *target; /* the request target as sent: path and query */
	mc_buf body;
	size_t discarded;
	bool active, started, too_large;
	double t0;
	int status; /* 0 until answered */
	size_t bytes;
	char method[16];
	mc_buf line; /* the access log line, reused by the connection's requests */
} conn;

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the access log ---- */

/* The escape of one byte that is not plain ASCII text at p; how many bytes it stands for. */
static size_t escape_at(mc_buf *b, const unsigned char *p)
{
	if (*p == '"' || *p == '\\') {
		char esc[2] = {'\\', (char)*p};
		mc_jw_raw(b, esc, 2);
		return 1;
	}
	if (*p < 0x20) {
		char esc[7];
		snprintf(esc, sizeof esc, "\\u%04x", *p);
		mc_jw_raw(b, esc, 6);
		return 1;
	}
	size_t n = 1;
	while (n < 4 && (p[n] & 0xc0) == 0x80)
		n++;
	if (mc_utf8_valid((const char *)p, n)) {
		mc_jw_raw(b, (const char *)p, n);
		return n;
	}
	mc_jw_raw(b, "\\ufffd", 6);
	return 1;
}

/* A JSON string of arbitrary bytes: escapes, and U+FFFD for bytes that are not UTF-8. */
static void json_bytes(mc_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	mc_jw_raw(b, "\"", 1);
	while (*p) {
		if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
			p++; /* plain ASCII: copied with the run it belongs to */
			continue;
		}
		mc_jw_raw(b, (const char *)run, (size_t)(p - run));
		p += escape_at(b, p);
		run = p;
	}
	mc_jw_raw(b, (const char *)run, (size_t)(p - run));
	mc_jw_raw(b, "\"", 1);
}

static char *two_digits(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of the wall clock now. */
static void format_now(char out[25])
{
	static _Thread_local struct {
		int64_t secs;
		char text[20]; /* "YYYY-MM-DDTHH:MM:SS" of that second */
	} last = {-1, ""};
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t secs = (int64_t)now.tv_sec;
	if (secs != last.secs) { /* once a second per thread */
		int in_day = (int)(secs % 86400);
		mc_date_format_iso((int32_t)(secs / 86400), last.text);
		char *p = last.text + 10;
		*p++ = 'T';
		p = two_digits(p, in_day / 3600);
		*p++ = ':';
		p = two_digits(p, in_day / 60 % 60);
		*p++ = ':';
		two_digits(p, in_day % 60);
		last.secs = secs;
	}
	int milli = (int)(now.tv_nsec / 1000000);
	memcpy(out, last.text, 19);
	out[19] = '.';
	out[20] = (char)('0' + milli / 100);
	two_digits(out + 21, milli % 100);
	out[23] = 'Z';
	out[24] = 0;
}

static void put_str(mc_buf *b, const char *s)
{
	mc_jw_raw(b, s, strlen(s));
}

static void put_uint(mc_buf *b, unsigned long long v)
{
	char t[24], *p = t + sizeof t;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mc_jw_raw(b, p, (size_t)(t + sizeof t - p));
}

/* One line in the connection's buffer, handed whole to the log's writer. */
static void access_log(conn *c, const char *end)
{
	if (!c->srv->log)
		return;
	char t[25];
	format_now(t);
	double us = nearbyint((monotonic_s() - c->t0) * 1e6); /* as "%.0f" rounds */
	mc_buf *b = &c->line;
	mc_buf_reset(b);
	put_str(b, "{\"time\":\"");
	put_str(b, t);
	put_str(b, "\",\"remote\":\"");
	put_str(b, c->remote);
	put_str(b, "\",\"method\":");
	json_bytes(b, c->method);
	put_str(b, ",\"path\":");
	char *q = c->target ? strchr(c->target, '?') : NULL;
	if (q)
		*q = 0;
	json_bytes(b, c->target ? c->target : "");
	put_str(b, ",\"status\":");
	put_uint(b, (unsigned)c->status);
	put_str(b, ",\"duration_us\":");
	put_uint(b, us > 0 ? (unsigned long long)us : 0);
	put_str(b, ",\"bytes\":");
	put_uint(b, c->bytes);
	put_str(b, ",\"request_bytes\":");
	put_uint(b, c->body.len + c->discarded);
	put_str(b, ",\"end\":\"");
	put_str(b, end);
	put_str(b, "\"}\n");
	if (b->data && b->data[b->len - 1] == '\n') /* only whole lines */
		mc_access_log_append(c->srv->log, (const char *)b->data, b->len);
}

/* ---- per-request state ---- */

static void request_end(conn *c, const char *end)
{
	if (!c->active)
		return;
	access_log(c, end);
	atomic_fetch_sub(&c->srv->inflight, 1);
	free(c->target);
	c->target = NULL;
	mc_buf_release(&c->body);
	c->active = false;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode what)
{
	conn *c = *socket_context;
	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		c = calloc(1, sizeof *c);
		if (!c)
			return;
		c->srv = cls;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		const struct sockaddr *sa = ci ? ci->client_addr : NULL;
		if (sa && sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->remote,
				  sizeof c->remote);
		else if (sa && sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
				  c->remote, sizeof c->remote);
		*socket_context = c;
	} else if (c) {
		request_end(c, "closed"); /* cut off before its end: timeout or hang-up */
		mc_buf_release(&c->line);
		free(c);
		*socket_context = NULL;
	}
}

/* Called with the request line, before the headers: keeps the target as sent. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	conn *c = ci ? ci->socket_context : NULL;
	if (!c)
		return NULL;
	request_end(c, "closed");
	c->target = strndup(uri, MAX_TARGET);
	mc_buf_init(&c->body, mc_router_max_body(c->srv->router));
	c->discarded = 0;
	c->active = true;
	c->started = c->too_large = false;
	c->status = 0;
	c->bytes = 0;
	c->method[0] = 0;
	c->t0 = monotonic_s();
	atomic_fetch_add(&c->srv->inflight, 1);
	return c;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	conn *c = *con_cls;
	static const char *const ends[] = {"ok",       "error",	     "timeout",
					   "shutdown", "read_error", "client_abort"};
	if (c)
		request_end(c, (unsigned)toe < 6 ? ends[toe] : "error");
}

/* ---- answering ---- */

static enum MHD_Result respond(conn *c, struct MHD_Connection *mc, const char *method)
{
	char *target = c->target ? c->target : "";
	char *q = strchr(target, '?');
	if (q)
		*q = 0;
	mc_http_header h[2] = {
		{"Authorization",
		 MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization")},
		{"Content-Type", MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type")}};
	mc_http_request req = {method, target,	     q ? q + 1 : NULL, h,
			       2,      c->body.data, c->body.len,      c->too_large};
	mc_http_response resp;
	mc_router_handle(c->srv->router, &req, &resp);
	if (q)
		*q = '?';
	struct MHD_Response *r =
		resp.body ? MHD_create_response_from_buffer(resp.body_len, resp.body,
							    MHD_RESPMEM_MUST_FREE)
			  : MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (!r) {
		mc_http_response_release(&resp);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
	for (size_t i = 0; i < resp.nheaders; i++)
		MHD_add_response_header(r, resp.headers[i].name, resp.headers[i].value);
	if (c->too_large) /* the rest of the body is not read: the connection cannot go on */
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ok = MHD_queue_response(mc, (unsigned)resp.status, r);
	MHD_destroy_response(r);
	c->status = resp.status;
	c->bytes = resp.body_len;
	return ok;
}

/* Keep the body up to the limit; past it, read and drop (up to a bound) and answer 413. */
static enum MHD_Result take_body(conn *c, const char *data, size_t *size)
{
	if (!c->too_large && mc_buf_append(&c->body, data, *size) != MC_OK) {
		c->too_large = true;
		c->discarded = c->body.len;
		mc_buf_release(&c->body);
	}
	if (c->too_large)
		c->discarded += *size;
	*size = 0;
	return c->discarded > MAX_DISCARD ? MHD_NO : MHD_YES;
}

static bool declared_too_large(conn *c, struct MHD_Connection *mc)
{
	const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
	return cl && strtoull(cl, NULL, 10) > mc_router_max_body(c->srv->router);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	conn *c = *con_cls;
	if (!c)
		return MHD_NO; /* no state could be made for it */
	if (!c->started) {
		c->started = true;
		snprintf(c->method, sizeof c->method, "%s", method);
		if (!declared_too_large(c, mc))
			return MHD_YES; /* the body, if any, comes next */
		c->too_large = true;	/* answer before reading a body we would refuse */
		return respond(c, mc, method);
	}
	if (*upload_data_size)
		return take_body(c, upload_data, upload_data_size);
	return respond(c, mc, method);
}

/* ---- listening ---- */

void mc_http_opts_init(mc_http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->listen = "127.0.0.1:8080";
	o->threads = 2;
	o->timeout_s = 10;
	o->access_log_fd = -1;
	o->max_conns = 1024;
}

/* Split "HOST:PORT", "[V6]:PORT" or "PORT" into host and port. */
static mc_code split_listen(const char *listen, char *host, size_t hcap, char *port, size_t pcap,
			    mc_error *err)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen, *p = colon ? colon + 1 : listen;
	size_t hn = colon ? (size_t)(colon - listen) : 0;
	if (hn >= 2 && h[0] == '[' && h[hn - 1] == ']') {
		h++;
		hn -= 2;
	}
	if (!*p || strspn(p, "0123456789") != strlen(p) || hn >= hcap || strlen(p) >= pcap)
		return mc_fail(err, MC_ERR_INVALID,
			       "cannot listen on '%s': expected HOST:PORT, [IPV6]:PORT or PORT",
			       listen);
	snprintf(host, hcap, "%.*s", (int)hn, h);
	if (!host[0])
		snprintf(host, hcap, "127.0.0.1");
	snprintf(port, pcap, "%s", p);
	return MC_OK;
}

static int bind_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
	int one = 1;
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 512) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static mc_code open_listener(const char *listen, int *fd, unsigned *port, mc_error *err)
{
	char host[256], serv[16];
	mc_code rc = split_listen(listen, host, sizeof host, serv, sizeof serv, err);
	if (rc)
		return rc;
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int e = getaddrinfo(host, serv, &hints, &res);
	if (e)
		return mc_fail(err, MC_ERR_INVALID, "cannot listen on '%s': %s", listen,
			       gai_strerror(e));
	*fd = -1;
	for (struct addrinfo *ai = res; ai && *fd < 0; ai = ai->ai_next)
		*fd = bind_one(ai);
	int saved = errno;
	freeaddrinfo(res);
	if (*fd < 0)
		return mc_fail(err, MC_ERR_IO, "cannot listen on '%s': %s", listen,
			       strerror(saved));
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if (getsockname(*fd, (struct sockaddr *)&ss, &len) != 0) {
		rc = mc_fail(err, MC_ERR_IO, "cannot listen on '%s': %s", listen, strerror(errno));
		close(*fd);
		*fd = -1;
		return rc;
	}
	/* NOLINTBEGIN(clang-analyzer-core.*): getsockname filled ss, read as its family */
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	/* NOLINTEND(clang-analyzer-core.*) */
	return MC_OK;
}

mc_code mc_http_server_start(mc_router *r, const mc_http_opts *o, mc_http_server **out,
			     mc_error *err)
{
	*out = NULL;
	mc_http_server *s = calloc(1, sizeof *s);
	if (!s)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	s->router = r;
	atomic_init(&s->inflight, 0);
	mc_code rc =
		o->access_log_fd >= 0 ? mc_access_log_new(o->access_log_fd, &s->log, err) : MC_OK;
	if (!rc)
		rc = open_listener(o->listen, &s->listen_fd, &s->port, err);
	if (rc) {
		mc_access_log_free(s->log);
		free(s);
		return rc;
	}
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC;
	unsigned threads = o->threads > 1 ? (unsigned)o->threads : 0;
	s->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->timeout_s > 0 ? o->timeout_s : 10),
		MHD_OPTION_CONNECTION_LIMIT, o->max_conns ? o->max_conns : 1024u,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
		s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_THREAD_POOL_SIZE,
		threads, MHD_OPTION_END);
	if (!s->daemon) {
		close(s->listen_fd);
		mc_access_log_free(s->log);
		free(s);
		return mc_fail(err, MC_ERR_IO, "cannot start the HTTP server on '%s'", o->listen);
	}
	*out = s;
	return MC_OK;
}

unsigned mc_http_server_port(const mc_http_server *s)
{
	return s->port;
}

void mc_http_server_stop(mc_http_server *s, double grace_s)
{
	if (!s)
		return;
	MHD_socket fd = MHD_quiesce_daemon(s->daemon); /* no new connections */
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	double until = monotonic_s() + grace_s;
	while (atomic_load(&s->inflight) > 0 && monotonic_s() < until) {
		struct timespec ts = {0, 5 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(s->daemon);
	mc_access_log_free(s->log); /* after the daemon's last lines: writes them */
	free(s);
}
