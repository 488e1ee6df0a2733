/*
 * The HTTP client (src/http) against a loopback server this test runs in a
 * thread: GET, HEAD, POST, PUT and DELETE; header lines out and response
 * headers in; basic auth; large bodies both ways, the body cap (announced,
 * streamed, cut); redirects; a timeout and a refused connection, each error
 * naming the URL (or the name standing for it); the CA file named by
 * CURL_CA_BUNDLE or SSL_CERT_FILE; the retry loop and its
 * judge; the backoff and what is retryable; percent-encoding.  Children of
 * this program (run again with "child SCENARIO") check what a fresh process
 * sees: libcurl mapped only after the first use, a missing or wrong libcurl
 * reported, and threads racing to the first use.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "milkcast/httpc.h"

extern char **environ;

/* --- the loopback server ------------------------------------------------------------- */

typedef struct server {
	int fd, port;
	pthread_t thread;
	atomic_int flaky_left; /* /flaky answers 503 while this is positive */
	atomic_bool stopping;
} server;

static server srv;

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i % 251 + i / 251);
}

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static bool send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		c += k;
		n -= (size_t)k;
	}
	return true;
}

/* A header's value in the request head (after "\r\n"), "" when absent. */
static void request_header(const char *head, const char *name, char *out, size_t cap)
{
	out[0] = '\0';
	size_t len = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, len) != 0 || p[2 + len] != ':')
			continue;
		const char *v = p + 3 + len, *end = strstr(v, "\r\n");
		while (*v == ' ')
			v++;
		snprintf(out, cap, "%.*s", (int)(end - v), v);
		return;
	}
}

/* The head (up to the blank line) and the body announced by Content-Length. */
static bool read_request(int fd, char *head, size_t cap, uint8_t **body, size_t *body_len)
{
	size_t n = 0;
	char *end = NULL;
	while (!end && n + 1 < cap) {
		ssize_t k = recv(fd, head + n, cap - 1 - n, 0);
		if (k <= 0)
			return false;
		n += (size_t)k;
		head[n] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	if (!end)
		return false;
	char length[32];
	request_header(head, "Content-Length", length, sizeof length);
	*body_len = strtoul(length, NULL, 10);
	*body = malloc(*body_len + 1);
	size_t have = n - (size_t)(end + 4 - head);
	if (have > *body_len)
		have = *body_len;
	memcpy(*body, end + 4, have);
	end[2] = '\0'; /* the head keeps its last "\r\n" */
	while (have < *body_len) {
		ssize_t k = recv(fd, *body + have, *body_len - have, 0);
		if (k <= 0)
			return false;
		have += (size_t)k;
	}
	return true;
}

static void reply(int fd, int status, const char *headers, const void *body, size_t n,
		  bool send_body)
{
	char head[1024];
	int k = snprintf(head, sizeof head,
			 "HTTP/1.1 %d X\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n",
			 status, n, headers);
	if (send_all(fd, head, (size_t)k) && send_body)
		send_all(fd, body, n);
}

/* What the request looked like, as lines the tests look for. */
static void echo(int fd, const char *method, const char *path, const char *head,
		 const uint8_t *body, size_t n)
{
	static const char *const names[] = {"X-Test", "Authorization", "Content-Type", "Expect",
					    "User-Agent"};
	char text[4096], v[512], extra[256];
	int k = snprintf(text, sizeof text, "method=%s\npath=%s\nbody=%zu\nsum=%08x\n", method,
			 path, n, fnv1a(body, n));
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		request_header(head, names[i], v, sizeof v);
		k += snprintf(text + k, sizeof text - (size_t)k, "%s=%s\n", names[i], v);
	}
	snprintf(extra, sizeof extra,
		 "Content-Type: text/plain\r\nX-Echo-Method: %s\r\nX-Spaced:   padded value  \r\n",
		 method);
	reply(fd, 200, extra, text, (size_t)k, strcmp(method, "HEAD") != 0);
}

/* n pattern bytes; without Content-Length when streamed (the end is the close). */
static void big(int fd, const char *method, size_t n, bool stream)
{
	char head[256];
	int k = stream ? snprintf(head, sizeof head, "HTTP/1.1 200 X\r\nConnection: close\r\n\r\n")
		       : snprintf(head, sizeof head,
				  "HTTP/1.1 200 X\r\nConnection: close\r\nContent-Length: "
				  "%zu\r\n\r\n",
				  n);
	if (!send_all(fd, head, (size_t)k) || strcmp(method, "HEAD") == 0)
		return;
	uint8_t chunk[65536];
	for (size_t off = 0; off < n;) {
		size_t m = n - off < sizeof chunk ? n - off : sizeof chunk;
		for (size_t i = 0; i < m; i++)
			chunk[i] = pattern(off + i);
		if (!send_all(fd, chunk, m))
			return;
		off += m;
	}
}

/* Say nothing until the client gives up (or 5 s). */
static void silent(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	char c;
	if (poll(&p, 1, 5000) > 0)
		(void)recv(fd, &c, 1, 0);
}

static void handle(int fd)
{
	char head[16384], method[16] = "", path[512] = "";
	uint8_t *body = NULL;
	size_t n = 0;
	if (read_request(fd, head, sizeof head, &body, &n) &&
	    sscanf(head, "%15s %511s", method, path) == 2) {
		bool head_only = strcmp(method, "HEAD") == 0;
		if (strcmp(path, "/echo") == 0)
			echo(fd, method, path, head, body, n);
		else if (strncmp(path, "/big/", 5) == 0)
			big(fd, method, strtoul(path + 5, NULL, 10), false);
		else if (strncmp(path, "/stream/", 8) == 0)
			big(fd, method, strtoul(path + 8, NULL, 10), true);
		else if (strncmp(path, "/status/", 8) == 0)
			reply(fd, atoi(path + 8), "Retry-After: 2\r\n", "status", 6, !head_only);
		else if (strcmp(path, "/redirect") == 0)
			reply(fd, 302, "Location: /echo\r\n", "", 0, false);
		else if (strcmp(path, "/slow") == 0)
			silent(fd);
		else if (strcmp(path, "/flaky") == 0 && atomic_fetch_sub(&srv.flaky_left, 1) > 0)
			reply(fd, 503, "", "busy", 4, true);
		else if (strcmp(path, "/flaky") == 0)
			reply(fd, 200, "", "ok", 2, true);
		else
			reply(fd, 404, "", "no", 2, !head_only);
	}
	free(body);
	close(fd);
}

static void *serve(void *arg)
{
	(void)arg;
	while (!atomic_load(&srv.stopping)) {
		int fd = accept(srv.fd, NULL, NULL);
		if (fd >= 0)
			handle(fd);
	}
	return NULL;
}

/* A loopback socket bound to a free port; listening or not. */
static int bind_loopback(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static int server_start(void **state)
{
	(void)state;
	const char *proxies[] = {"http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"};
	for (size_t i = 0; i < sizeof proxies / sizeof *proxies; i++)
		unsetenv(proxies[i]); /* loopback only */
	srv.fd = bind_loopback(&srv.port);
	if (srv.fd < 0 || listen(srv.fd, 16) != 0)
		return -1;
	return pthread_create(&srv.thread, NULL, serve, NULL);
}

static int server_stop(void **state)
{
	(void)state;
	atomic_store(&srv.stopping, true);
	shutdown(srv.fd, SHUT_RDWR); /* wakes accept() */
	pthread_join(srv.thread, NULL);
	close(srv.fd);
	return 0;
}

/* --- helpers ----------------------------------------------------------------------------- */

static char *url_of(const char *path)
{
	static char url[8][128];
	static int next;
	char *u = url[next++ % 8];
	snprintf(u, sizeof url[0], "http://127.0.0.1:%d%s", srv.port, path);
	return u;
}

static mc_httpc *client(void)
{
	mc_httpc *c = NULL;
	mc_error err = MC_ERROR_INIT;
	assert_int_equal(mc_httpc_new(&c, &err), MC_OK);
	return c;
}

static const char *body_text(const mc_httpc_resp *r)
{
	return r->body.data ? (const char *)r->body.data : "";
}

static void assert_has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("'%s' lacks '%s'", text, want);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- requests ------------------------------------------------------------------------------ */

static void test_get_headers_out_and_in(void **state)
{
	(void)state;
	mc_httpc *c = client();
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	const char *headers[] = {"X-Test: hello world", "Authorization: Bearer tok-1"};
	mc_httpc_req q = {.url = url_of("/echo"), .headers = headers, .n_headers = 2};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.failure, MC_HTTPC_NONE);
	assert_string_equal(r.detail, "");
	assert_has(body_text(&r), "method=GET\npath=/echo\nbody=0\n");
	assert_has(body_text(&r), "X-Test=hello world\n");
	assert_has(body_text(&r), "Authorization=Bearer tok-1\n");
	assert_has(body_text(&r), "Expect=\n");
	assert_has(body_text(&r), "User-Agent=milkcast/" MC_VERSION "\n");
	assert_int_equal(r.content_length, (int64_t)r.body.len);
	assert_string_equal(mc_httpc_header(&r, "x-echo-method"), "GET");
	assert_string_equal(mc_httpc_header(&r, "X-SPACED"), "padded value");
	assert_string_equal(mc_httpc_header(&r, "content-type"), "text/plain");
	assert_null(mc_httpc_header(&r, "X-Absent"));
	assert_null(mc_httpc_header(&r, "X-Echo"));
	assert_int_equal(r.redirects, 0);
	assert_null(r.final_url);
	assert_int_equal(r.attempts, 1);
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

static void expect_echo(mc_httpc *c, const char *method, const char *body, size_t n,
			const char *want)
{
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	const char *headers[] = {"Content-Type: application/json"};
	mc_httpc_req q = {.method = method,
			  .url = url_of("/echo"),
			  .headers = headers,
			  .n_headers = body ? 1 : 0,
			  .body = body,
			  .body_len = n};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_int_equal(r.status, 200);
	assert_has(body_text(&r), want);
	char sum[32];
	snprintf(sum, sizeof sum, "sum=%08x\n", fnv1a((const uint8_t *)(body ? body : ""), n));
	assert_has(body_text(&r), sum);
	assert_string_equal(mc_httpc_header(&r, "X-Echo-Method"), method);
	mc_httpc_resp_release(&r);
}

static void test_methods_and_bodies(void **state)
{
	(void)state;
	mc_httpc *c = client();
	const char *json = "{\"a\":[1,2,3]}";
	expect_echo(c, "POST", json, strlen(json), "method=POST\npath=/echo\nbody=13\n");
	expect_echo(c, "POST", json, strlen(json), "Content-Type=application/json\n");
	expect_echo(c, "POST", NULL, 0, "method=POST\npath=/echo\nbody=0\n");
	expect_echo(c, "PUT", "abc", 3, "method=PUT\npath=/echo\nbody=3\n");
	expect_echo(c, "PUT", "", 0, "method=PUT\npath=/echo\nbody=0\n");
	expect_echo(c, "DELETE", NULL, 0, "method=DELETE\npath=/echo\nbody=0\n");
	expect_echo(c, "PATCH", "x", 1, "method=PATCH\npath=/echo\nbody=1\n");
	/* after a POST the same handle sends a plain GET again */
	expect_echo(c, "GET", NULL, 0, "method=GET\npath=/echo\nbody=0\n");

	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	mc_httpc_req q = {.method = "HEAD", .url = url_of("/echo")};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	assert_true(r.content_length > 50);
	assert_string_equal(mc_httpc_header(&r, "X-Echo-Method"), "HEAD");
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

static void test_basic_auth(void **state)
{
	(void)state;
	mc_httpc *c = client();
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	mc_httpc_req q = {.url = url_of("/echo"), .username = "user", .password = "pa:ss"};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_has(body_text(&r), "Authorization=Basic dXNlcjpwYTpzcw==\n"); /* user:pa:ss */
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

static void test_large_bodies(void **state)
{
	(void)state;
	mc_httpc *c = client();
	size_t n = (size_t)5 << 20;
	uint8_t *up = malloc(n);
	assert_non_null(up);
	for (size_t i = 0; i < n; i++)
		up[i] = pattern(i * 7);
	char want[64];
	snprintf(want, sizeof want, "body=%zu\nsum=%08x\n", n, fnv1a(up, n));
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	mc_httpc_req q = {.method = "PUT", .url = url_of("/echo"), .body = up, .body_len = n};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_has(body_text(&r), want);
	assert_has(body_text(&r), "Expect=\n"); /* no 100-continue wait for a large body */
	free(up);

	size_t down = (size_t)8 << 20;
	char path[64];
	snprintf(path, sizeof path, "/big/%zu", down);
	q = (mc_httpc_req){.url = url_of(path), .max_body = down};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_int_equal(r.body.len, down);
	assert_int_equal(r.content_length, (int64_t)down);
	size_t bad = 0;
	for (size_t i = 0; i < down; i++)
		bad += r.body.data[i] != pattern(i);
	assert_int_equal(bad, 0);
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

static void expect_too_large(mc_httpc *c, const char *method, const char *path, size_t cap)
{
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	const char *url = url_of(path);
	mc_httpc_req q = {.method = method, .url = url, .max_body = cap};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_ERR_LIMIT);
	assert_int_equal(err.code, MC_ERR_LIMIT);
	assert_int_equal(r.failure, MC_HTTPC_TOO_LARGE);
	assert_false(mc_httpc_retryable(&r));
	assert_has(err.msg, url);
	assert_has(err.msg, "exceeds 1048576 bytes");
	assert_true(r.body.len <= cap);
	mc_httpc_resp_release(&r);
}

/* Over the cap: announced (HEAD too) or streamed, it fails; cut_body keeps the start. */
static void test_body_cap(void **state)
{
	(void)state;
	mc_httpc *c = client();
	size_t cap = (size_t)1 << 20;
	expect_too_large(c, "GET", "/big/3000000", cap);
	expect_too_large(c, "HEAD", "/big/3000000", cap);
	expect_too_large(c, "GET", "/stream/3000000", cap);

	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	mc_httpc_req q = {.url = url_of("/stream/3000000"), .max_body = 1000, .cut_body = true};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 1000);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(r.body.data[i], pattern(i));
	/* the cap is the request's: the next one may read more */
	q = (mc_httpc_req){.url = url_of("/stream/3000000")};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_int_equal(r.body.len, 3000000);
	assert_int_equal(r.content_length, -1);
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

static void test_redirects(void **state)
{
	(void)state;
	mc_httpc *c = client();
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	mc_httpc_req q = {.url = url_of("/redirect")};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_int_equal(r.status, 302);
	assert_string_equal(mc_httpc_header(&r, "Location"), "/echo");
	q.max_redirects = 3;
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_OK);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.redirects, 1);
	assert_string_equal(r.final_url, url_of("/echo"));
	/* the headers are the final response's */
	assert_null(mc_httpc_header(&r, "Location"));
	assert_string_equal(mc_httpc_header(&r, "X-Echo-Method"), "GET");
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

/* --- failures ------------------------------------------------------------------------------- */

static void test_timeout_names_the_url(void **state)
{
	(void)state;
	mc_httpc *c = client();
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	const char *url = url_of("/slow");
	mc_httpc_req q = {.url = url, .timeout_ms = 300};
	double t0 = now_s();
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_ERR_NETWORK);
	assert_true(now_s() - t0 < 3.0);
	assert_int_equal(r.failure, MC_HTTPC_TIMEOUT);
	assert_int_equal(r.status, 0);
	assert_true(mc_httpc_retryable(&r));
	assert_has(err.msg, "GET ");
	assert_has(err.msg, url);
	assert_has(err.msg, r.detail);
	assert_true(strlen(r.detail) > 0);

	/* a name stands for a URL that holds a secret */
	q.name = "the alert webhook";
	q.method = "POST";
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_ERR_NETWORK);
	assert_has(err.msg, "POST the alert webhook: ");
	assert_null(strstr(err.msg, url));
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

static void test_connection_refused(void **state)
{
	(void)state;
	int port = 0;
	int fd = bind_loopback(&port); /* bound, not listening: connections are refused */
	assert_true(fd >= 0);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/x", port);
	mc_httpc *c = client();
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	mc_httpc_req q = {.method = "PUT", .url = url, .body = "x", .body_len = 1};
	assert_int_equal(mc_httpc_perform(c, &q, &r, &err), MC_ERR_NETWORK);
	assert_int_equal(err.code, MC_ERR_NETWORK);
	assert_int_equal(r.failure, MC_HTTPC_TRANSIENT);
	assert_true(mc_httpc_retryable(&r));
	assert_int_equal(r.status, 0);
	assert_has(err.msg, "PUT ");
	assert_has(err.msg, url);

	/* retried: each attempt counted, the message says how many */
	mc_httpc_retry p = {.retries = 2, .backoff_ms = 1, .backoff_max_ms = 2};
	assert_int_equal(mc_httpc_send(c, &q, &p, &r, &err), MC_ERR_NETWORK);
	assert_int_equal(r.attempts, 3);
	assert_has(err.msg, url);
	assert_has(err.msg, "(3 attempts)");
	close(fd);
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

/*
 * The CA file from the environment: $CURL_CA_BUNDLE, else $SSL_CERT_FILE.  libcurl loads it
 * after the TCP connection and before the TLS handshake, so an https:// request to the plain
 * loopback server fails at once naming the missing file; the server never gets a byte.
 */
static mc_code https_to_loopback(mc_httpc *c, mc_httpc_resp *r, char *url, size_t cap,
				 mc_error *err)
{
	snprintf(url, cap, "https://127.0.0.1:%d/echo", srv.port);
	mc_httpc_req q = {.url = url, .timeout_ms = 500};
	return mc_httpc_perform(c, &q, r, err);
}

static void test_ca_file_from_environment(void **state)
{
	(void)state;
	mc_httpc *c = client();
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	char url[64];

	unsetenv("CURL_CA_BUNDLE"); /* the caller's, if any (restored by the teardown) */
	setenv("SSL_CERT_FILE", "/nonexistent/ssl-cert-file.pem", 1);
	assert_int_equal(https_to_loopback(c, &r, url, sizeof url, &err), MC_ERR_NETWORK);
	assert_int_equal(r.failure, MC_HTTPC_FAILED); /* not retried: a setup error */
	assert_false(mc_httpc_retryable(&r));
	assert_has(err.msg, url);
	assert_has(err.msg, "/nonexistent/ssl-cert-file.pem");

	setenv("CURL_CA_BUNDLE", "/nonexistent/curl-ca-bundle.pem", 1); /* it wins */
	assert_int_equal(https_to_loopback(c, &r, url, sizeof url, &err), MC_ERR_NETWORK);
	assert_has(err.msg, "/nonexistent/curl-ca-bundle.pem");
	assert_null(strstr(err.msg, "ssl-cert-file"));

	setenv("CURL_CA_BUNDLE", "", 1); /* empty: as if unset */
	assert_int_equal(https_to_loopback(c, &r, url, sizeof url, &err), MC_ERR_NETWORK);
	assert_has(err.msg, "/nonexistent/ssl-cert-file.pem");

	/* neither: libcurl's built-in default, on the same handle (the option does not stick) */
	unsetenv("CURL_CA_BUNDLE");
	unsetenv("SSL_CERT_FILE");
	assert_int_equal(https_to_loopback(c, &r, url, sizeof url, &err), MC_ERR_NETWORK);
	assert_null(strstr(err.msg, "/nonexistent/"));
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

/* The CA variables as the test found them. */
static char *saved_ca_vars[2];
static const char *const ca_vars[2] = {"CURL_CA_BUNDLE", "SSL_CERT_FILE"};

static int save_ca_vars(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		const char *v = getenv(ca_vars[i]);
		saved_ca_vars[i] = v ? strdup(v) : NULL;
	}
	return 0;
}

static int restore_ca_vars(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		if (saved_ca_vars[i])
			setenv(ca_vars[i], saved_ca_vars[i], 1);
		else
			unsetenv(ca_vars[i]);
		free(saved_ca_vars[i]);
		saved_ca_vars[i] = NULL;
	}
	return 0;
}

/* --- retries ---------------------------------------------------------------------------- */

typedef struct judged {
	int calls;
	long delays[8];
	long force;  /* != 0: the delay to impose */
	int fail_at; /* the attempt at which to return an error, 0 = never */
} judged;

static mc_code judge(void *user, const mc_httpc_resp *r, long *delay_ms, mc_error *err)
{
	judged *j = user;
	j->delays[j->calls++ % 8] = *delay_ms;
	if (j->fail_at == r->attempts)
		return mc_fail(err, MC_ERR_INVALID, "judged HTTP %ld", r->status);
	if (j->force)
		*delay_ms = j->force;
	return MC_OK;
}

static void test_send_retries(void **state)
{
	(void)state;
	mc_httpc *c = client();
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_error err = MC_ERROR_INIT;
	mc_httpc_req q = {.url = url_of("/flaky")};
	judged j = {0};
	mc_httpc_retry p = {
		.retries = 3, .backoff_ms = 1, .backoff_max_ms = 4, .judge = judge, .user = &j};

	atomic_store(&srv.flaky_left, 2); /* 503, 503, 200 */
	assert_int_equal(mc_httpc_send(c, &q, &p, &r, &err), MC_OK);
	assert_int_equal(r.status, 200);
	assert_string_equal(body_text(&r), "ok");
	assert_int_equal(r.attempts, 3);
	assert_int_equal(j.calls, 3);
	assert_true(j.delays[0] >= 0 && j.delays[0] <= 1);
	assert_true(j.delays[1] >= 1 && j.delays[1] <= 2);
	assert_int_equal(j.delays[2], -1);

	/* retries run out: the last status is the answer */
	atomic_store(&srv.flaky_left, 10);
	p.retries = 1;
	assert_int_equal(mc_httpc_send(c, &q, &p, &r, &err), MC_OK);
	assert_int_equal(r.status, 503);
	assert_int_equal(r.attempts, 2);

	/* the judge stops the retries ... */
	j = (judged){.force = -1};
	p.retries = 5;
	assert_int_equal(mc_httpc_send(c, &q, &p, &r, &err), MC_OK);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(j.calls, 1);

	/* ... or ends the request with its error */
	j = (judged){.fail_at = 2};
	assert_int_equal(mc_httpc_send(c, &q, &p, &r, &err), MC_ERR_INVALID);
	assert_string_equal(err.msg, "judged HTTP 503");
	assert_int_equal(r.attempts, 2);

	/* a 404 is not retried; Retry-After is read */
	j = (judged){0};
	q.url = url_of("/status/404");
	assert_int_equal(mc_httpc_send(c, &q, &p, &r, &err), MC_OK);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(j.delays[0], -1);
	assert_int_equal(r.retry_after_s, 2);
	atomic_store(&srv.flaky_left, 0);
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
}

static void test_backoff_and_retryable(void **state)
{
	(void)state;
	for (uint32_t rnd = 0; rnd < 5000; rnd += 7) {
		long d0 = mc_httpc_backoff_ms(100, 1000, 0, rnd);
		long d2 = mc_httpc_backoff_ms(100, 1000, 2, rnd);
		long d9 = mc_httpc_backoff_ms(100, 1000, 9, rnd);
		assert_true(d0 >= 50 && d0 <= 100);
		assert_true(d2 >= 200 && d2 <= 400);
		assert_true(d9 >= 500 && d9 <= 1000);
		assert_true(mc_httpc_backoff_ms(100, 10, 3, rnd) <= 100); /* max below base */
	}
	assert_int_equal(mc_httpc_backoff_ms(100, 1000, 0, 0), 50);
	assert_int_equal(mc_httpc_backoff_ms(100, 1000, 0, 50), 100);
	assert_int_equal(mc_httpc_backoff_ms(0, 1000, 3, 12345), 0);
	assert_int_equal(mc_httpc_backoff_ms(100, 1000, 100000, 0), 500);

	mc_httpc_resp r = {.failure = MC_HTTPC_NONE};
	const long yes[] = {429, 500, 502, 503, 504, 599}, no[] = {200, 204, 301, 400, 404, 600};
	for (size_t i = 0; i < 6; i++) {
		r.status = yes[i];
		assert_true(mc_httpc_retryable(&r));
		r.status = no[i];
		assert_false(mc_httpc_retryable(&r));
	}
	r.status = 0;
	const mc_httpc_failure again[] = {MC_HTTPC_TRANSIENT, MC_HTTPC_TIMEOUT, MC_HTTPC_TRUNCATED};
	for (size_t i = 0; i < 3; i++) {
		r.failure = again[i];
		assert_true(mc_httpc_retryable(&r));
	}
	r.failure = MC_HTTPC_TOO_LARGE;
	assert_false(mc_httpc_retryable(&r));
	r.failure = MC_HTTPC_FAILED;
	assert_false(mc_httpc_retryable(&r));
}

static void test_escape(void **state)
{
	(void)state;
	mc_buf b = MC_BUF_INIT;
	assert_int_equal(mc_httpc_escape(&b, "milk forecast/v1?a=b&c~d_e-f.g\xc3\xa9"), MC_OK);
	assert_string_equal((const char *)b.data, "milk%20forecast%2Fv1%3Fa%3Db%26c~d_e-f.g%C3%A9");
	mc_buf_reset(&b);
	assert_int_equal(mc_httpc_escape(&b, "AZaz09"), MC_OK);
	assert_string_equal((const char *)b.data, "AZaz09");
	mc_buf_release(&b);
}

static void test_curl_version(void **state)
{
	(void)state;
	const char *v = mc_httpc_curl_version();
	assert_true(v[0] >= '7' && v[0] <= '9');
	assert_non_null(strchr(v, '.'));
}

/* --- fresh processes ------------------------------------------------------------------- */

static bool libcurl_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	bool found = false;
	while (f && fgets(line, sizeof line, f))
		found = found || strstr(line, "libcurl") != NULL;
	if (f)
		fclose(f);
	return found;
}

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			return 1;                                                         \
		}                                                                         \
	} while (0)

/* libcurl is mapped by the first use, not before. */
static int child_lazy(void)
{
	CHECK(!libcurl_mapped());
	mc_error err = MC_ERROR_INIT;
	CHECK(mc_httpc_load(&err) == MC_OK);
	CHECK(libcurl_mapped());
	return 0;
}

/* MILKCAST_LIBCURL names a missing file or a library without curl's functions. */
static int child_unloadable(const char *want)
{
	mc_httpc *c = NULL;
	mc_error err = MC_ERROR_INIT;
	CHECK(mc_httpc_new(&c, &err) == MC_ERR_UNSUPPORTED);
	CHECK(c == NULL);
	CHECK(err.code == MC_ERR_UNSUPPORTED);
	CHECK(strstr(err.msg, want) != NULL);
	CHECK(strstr(err.msg, getenv("MILKCAST_LIBCURL")) != NULL);
	mc_error again = MC_ERROR_INIT; /* the first outcome stays */
	CHECK(mc_httpc_load(&again) == MC_ERR_UNSUPPORTED);
	CHECK(strcmp(again.msg, err.msg) == 0);
	CHECK(strcmp(mc_httpc_curl_version(), "unavailable") == 0);
	return 0;
}

typedef struct racer {
	const char *url;
	long status;
} racer;

static void *race(void *arg)
{
	racer *x = arg;
	mc_httpc *c = NULL;
	mc_error err = MC_ERROR_INIT;
	if (mc_httpc_new(&c, &err))
		return NULL;
	mc_httpc_resp r;
	mc_httpc_resp_init(&r);
	mc_httpc_req q = {.url = x->url};
	if (mc_httpc_perform(c, &q, &r, &err) == MC_OK)
		x->status = r.status;
	mc_httpc_resp_release(&r);
	mc_httpc_free(c);
	return NULL;
}

/* Threads racing to the first use all get a working client. */
static int child_threads(const char *port)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%s/echo", port);
	racer x[6];
	pthread_t t[6];
	for (int i = 0; i < 6; i++) {
		x[i] = (racer){url, 0};
		CHECK(pthread_create(&t[i], NULL, race, &x[i]) == 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		CHECK(x[i].status == 200);
	}
	return 0;
}

static int run_child(const char *scenario, const char *arg)
{
	if (strcmp(scenario, "lazy") == 0)
		return child_lazy();
	if (strcmp(scenario, "unloadable") == 0)
		return child_unloadable(arg);
	if (strcmp(scenario, "threads") == 0)
		return child_threads(arg);
	return 2;
}

/* This program again as "child SCENARIO ARG", with MILKCAST_LIBCURL=libcurl when given. */
static int spawn_child(const char *scenario, const char *arg, const char *libcurl)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	assert_true(n > 0);
	self[n] = '\0';
	size_t count = 0;
	while (environ[count])
		count++;
	char **env = calloc(count + 2, sizeof *env), var[512];
	assert_non_null(env);
	size_t k = 0;
	for (size_t i = 0; i < count; i++)
		if (strncmp(environ[i], "MILKCAST_LIBCURL=", 17) != 0)
			env[k++] = environ[i];
	if (libcurl) {
		snprintf(var, sizeof var, "MILKCAST_LIBCURL=%s", libcurl);
		env[k++] = var;
	}
	char *argv[] = {self, "child", (char *)scenario, (char *)arg, NULL};
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, self, NULL, NULL, argv, env), 0);
	free(env);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_libcurl_loaded_on_first_use(void **state)
{
	(void)state;
	assert_int_equal(spawn_child("lazy", "", NULL), 0);
}

static void test_libcurl_missing(void **state)
{
	(void)state;
	assert_int_equal(
		spawn_child("unloadable", "cannot load libcurl", "/nonexistent/libcurl.so.4"), 0);
	assert_int_equal(spawn_child("unloadable", "it has no curl_global_init", "libz.so.1"), 0);
}

static void test_threads_race_to_first_use(void **state)
{
	(void)state;
	char port[16];
	snprintf(port, sizeof port, "%d", srv.port);
	assert_int_equal(spawn_child("threads", port, NULL), 0);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "child") == 0)
		return run_child(argv[2], argc > 3 ? argv[3] : "");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libcurl_loaded_on_first_use),
		cmocka_unit_test(test_libcurl_missing),
		cmocka_unit_test(test_threads_race_to_first_use),
		cmocka_unit_test(test_get_headers_out_and_in),
		cmocka_unit_test(test_methods_and_bodies),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_large_bodies),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_timeout_names_the_url),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test_setup_teardown(test_ca_file_from_environment, save_ca_vars,
						restore_ca_vars),
		cmocka_unit_test(test_send_retries),
		cmocka_unit_test(test_backoff_and_retryable),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_curl_version),
	};
	return cmocka_run_group_tests(tests, server_start, server_stop);
}
