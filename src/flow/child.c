/*
 * Task processes: each attempt runs in a forked child, in its own process
 * group, killed with its parent (PR_SET_PDEATHSIG).  The child sends frames
 * through a pipe: type (1 byte), length (4 bytes, little-endian), payload.
 * 'L' a log line (level byte + text), 'R' the result (JSON text),
 * 'E' a failure (code as 4 bytes + message).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flow/flow_int.h"
#include "milkcast/child.h"

#define FRAME_MAX ((size_t)256 << 20) /* a result larger than this is refused */
#define LOG_LINE_MAX 8192

struct mc_task_ctx {
	int fd;
	const flow_attempt *a;
};

/* --- the child's side ------------------------------------------------------------- */

static pthread_mutex_t frame_lock = PTHREAD_MUTEX_INITIALIZER;

static bool write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c += w;
		n -= (size_t)w;
	}
	return true;
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One frame whose payload is head (hn bytes) then body (bn bytes). */
static bool send_frame(int fd, char type, const void *head, size_t hn, const void *body, size_t bn)
{
	unsigned char h[5];
	h[0] = (unsigned char)type;
	put_u32(h + 1, (uint32_t)(hn + bn));
	pthread_mutex_lock(&frame_lock);
	bool ok = write_all(fd, h, 5) && write_all(fd, head, hn) && write_all(fd, body, bn);
	pthread_mutex_unlock(&frame_lock);
	return ok;
}

void mc_task_log(mc_task_ctx *ctx, mc_log_level level, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	unsigned char lv = (unsigned char)level;
	send_frame(ctx->fd, 'L', &lv, 1, line, len);
}

const json_t *mc_task_upstream(const mc_task_ctx *ctx, const char *label)
{
	return json_object_get(ctx->a->upstreams, label);
}

const json_t *mc_task_upstreams(const mc_task_ctx *ctx)
{
	return ctx->a->upstreams;
}

const json_t *mc_task_params(const mc_task_ctx *ctx)
{
	return ctx->a->params;
}

void *mc_task_user(const mc_task_ctx *ctx)
{
	return ctx->a->def->user;
}

int mc_task_attempt(const mc_task_ctx *ctx)
{
	return ctx->a->attempt;
}

const char *mc_task_label(const mc_task_ctx *ctx)
{
	return ctx->a->label;
}

const char *mc_task_run_id(const mc_task_ctx *ctx)
{
	return ctx->a->task_run;
}

const char *mc_task_flow_run_id(const mc_task_ctx *ctx)
{
	return ctx->a->flow_run;
}

const char *mc_task_home(const mc_task_ctx *ctx)
{
	return ctx->a->home;
}

static void send_error(int fd, mc_code code, const char *msg)
{
	unsigned char c[4];
	put_u32(c, (uint32_t)code);
	send_frame(fd, 'E', c, 4, msg, strlen(msg));
}

static _Noreturn void child_main(const flow_attempt *a, int fd, pid_t parent)
{
	mc_child_setup(parent, 3); /* 3: the engine died before we got here */
	mc_task_ctx ctx = {fd, a};
	json_t *res = NULL;
	mc_error e = MC_ERROR_INIT;
	mc_code rc = a->def->fn(&ctx, a->inputs, &res, &e);
	if (rc == MC_OK) {
		char *text = json_dumps(res ? res : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
		if (!text) {
			send_error(fd, MC_ERR_NOMEM, "cannot serialise the task's result as JSON");
			_exit(1);
		}
		_exit(send_frame(fd, 'R', "", 0, text, strlen(text)) ? 0 : 2);
	}
	if (!e.msg[0])
		snprintf(e.msg, sizeof e.msg, "the task failed (%s)", mc_strerror(rc));
	send_error(fd, rc, e.msg);
	_exit(1);
}

/* --- the engine's side ------------------------------------------------------------ */

mc_code flow_child_spawn(const flow_attempt *a, flow_child *c, mc_error *err)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
	mc_buf_init(&c->in, FRAME_MAX + 5);
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return mc_fail(err, MC_ERR_IO, "task '%s': cannot create a pipe: %s", a->label,
			       strerror(errno));
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return mc_fail(err, MC_ERR_IO, "task '%s': cannot fork: %s", a->label,
			       strerror(errno));
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(a, fds[1], parent);
	}
	close(fds[1]);
	setpgid(pid, pid); /* as the child does, so a signal cannot miss the group */
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
	c->pid = pid;
	c->fd = fds[0];
	return MC_OK;
}

static void frame_result(flow_child *c, const unsigned char *p, size_t n)
{
	json_error_t je;
	json_decref(c->result);
	c->result = json_loadb((const char *)p, n, JSON_DECODE_ANY, &je);
	c->has_result = c->result != NULL;
	if (!c->result) {
		c->bad_frame = true;
		snprintf(c->error, sizeof c->error, "the task's result is not JSON: %s", je.text);
	}
}

static void frame_error(flow_child *c, const unsigned char *p, size_t n)
{
	if (n < 4) {
		c->bad_frame = true;
		snprintf(c->error, sizeof c->error, "a malformed error message from the task");
		return;
	}
	c->has_error = true;
	c->error_code = (mc_code)get_u32(p);
	size_t m = n - 4 < sizeof c->error - 1 ? n - 4 : sizeof c->error - 1;
	memcpy(c->error, p + 4, m);
	c->error[m] = '\0';
}

static void frame_log(const unsigned char *p, size_t n, flow_line_fn fn, void *user)
{
	if (n < 1)
		return;
	char *line = malloc(n);
	if (!line)
		return;
	memcpy(line, p + 1, n - 1);
	line[n - 1] = '\0';
	fn(user, (mc_log_level)p[0], line);
	free(line);
}

static void parse_frames(flow_child *c, flow_line_fn fn, void *user)
{
	size_t off = 0;
	while (!c->bad_frame && c->in.len - off >= 5) {
		const unsigned char *h = c->in.data + off;
		size_t n = get_u32(h + 1);
		if (n > FRAME_MAX) {
			c->bad_frame = true;
			snprintf(c->error, sizeof c->error,
				 "the task sent a message of %zu bytes (at most %zu)", n,
				 FRAME_MAX);
			break;
		}
		if (c->in.len - off - 5 < n)
			break;
		if (h[0] == 'L')
			frame_log(h + 5, n, fn, user);
		else if (h[0] == 'R')
			frame_result(c, h + 5, n);
		else if (h[0] == 'E')
			frame_error(c, h + 5, n);
		else {
			c->bad_frame = true;
			snprintf(c->error, sizeof c->error, "the task sent an unknown message");
		}
		off += 5 + n;
	}
	memmove(c->in.data, c->in.data + off, c->in.len - off);
	c->in.len -= off;
	if (c->in.data)
		c->in.data[c->in.len] = '\0';
}

void flow_child_read(flow_child *c, flow_line_fn fn, void *user)
{
	unsigned char tmp[65536];
	while (c->fd >= 0) {
		ssize_t r = read(c->fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		bool full = r > 0 && mc_buf_append(&c->in, tmp, (size_t)r) != MC_OK;
		if (full && !c->bad_frame) {
			c->bad_frame = true;
			snprintf(c->error, sizeof c->error, "the task sent more than %zu bytes",
				 FRAME_MAX);
		}
		if (r <= 0 || full) {
			close(c->fd); /* EOF, an error, or more than a frame can hold */
			c->fd = -1;
			break;
		}
		parse_frames(c, fn, user);
	}
}

bool flow_child_reap(flow_child *c, flow_line_fn fn, void *user)
{
	if (c->reaped)
		return true;
	pid_t r;
	while ((r = waitpid(c->pid, &c->status, WNOHANG)) < 0 && errno == EINTR)
		;
	if (r == 0)
		return false;
	if (r < 0) /* ECHILD: SIGCHLD is ignored and the system reaped it; judge by its frames */
		c->status = W_EXITCODE(c->has_result ? 0 : c->has_error ? 1 : 255, 0);
	c->reaped = true;
	flow_child_read(c, fn, user); /* what it wrote before exiting */
	if (c->fd >= 0) {
		close(c->fd); /* a grandchild may hold the write end: stop here */
		c->fd = -1;
	}
	return true;
}

void flow_child_signal(flow_child *c, int sig)
{
	if (c->reaped || c->pid <= 0)
		return;
	kill(-c->pid, sig);
	kill(c->pid, sig);
}

void flow_child_release(flow_child *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	json_decref(c->result);
	c->result = NULL;
	mc_buf_release(&c->in);
}

mc_state flow_child_outcome(const flow_child *c, char *msg, size_t n)
{
	int st = c->status;
	msg[0] = '\0';
	if (c->has_result && !c->bad_frame && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return MC_STATE_COMPLETED;
	if (c->cancelled) {
		snprintf(msg, n, "cancelled: the task process was stopped");
		return MC_STATE_CANCELLED;
	}
	if (c->timed_out)
		return MC_STATE_TIMED_OUT;
	if (c->bad_frame || (c->has_error && WIFEXITED(st) && WEXITSTATUS(st) == 1)) {
		snprintf(msg, n, "%s", c->error);
		return MC_STATE_FAILED;
	}
	if (WIFSIGNALED(st))
		snprintf(msg, n, "the task process was killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(msg, n, "the task process exited with status %d without a result",
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return MC_STATE_CRASHED;
}
