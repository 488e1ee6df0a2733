/*
 * `milkcast lambda --run`: each invocation runs a milkcast command in a
 * forked child; see milkcast/lambda.h.  The child has its own process group
 * and dies with the runtime (PR_SET_PDEATHSIG); its stdout comes back
 * through a pipe (kept up to a cap), its stderr through another (handed on
 * as it arrives, the last line kept for the error message).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "milkcast/child.h"
#include "milkcast/json_kind.h"
#include "milkcast/lambda.h"

#define CHUNK 65536
#define LINE_MAX_KEPT 1024
#define DRAIN_READS 1024 /* after the child is gone, read at most this many chunks */

void mc_lambda_command_init(mc_lambda_command *c)
{
	memset(c, 0, sizeof *c);
	c->max_output = MC_LAMBDA_MAX_OUTPUT;
	c->grace_ms = 2000;
	c->reserve_ms = 500;
}

mc_code mc_lambda_ok_exits_parse(mc_lambda_command *c, const char *list, mc_error *err)
{
	c->n_ok_exits = 0;
	const char *p = list ? list : "";
	for (;;) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (end == p || errno || v < 0 || v > 255 || (*end && *end != ','))
			return mc_fail(
				err, MC_ERR_INVALID,
				"--ok-exit '%.100s': expected exit statuses 0-255 separated by "
				"commas, like 0,3",
				list ? list : "");
		if (c->n_ok_exits == MC_LAMBDA_MAX_OK_EXITS)
			return mc_fail(err, MC_ERR_INVALID, "--ok-exit: at most %d statuses",
				       MC_LAMBDA_MAX_OK_EXITS);
		c->ok_exits[c->n_ok_exits++] = (int)v;
		if (!*end)
			return MC_OK;
		p = end + 1;
	}
}

static bool exit_ok(const mc_lambda_command *c, int code)
{
	for (int i = 0; i < c->n_ok_exits; i++)
		if (c->ok_exits[i] == code)
			return true;
	return code == 0;
}

/* --- the event's arguments ------------------------------------------------------ */

void mc_lambda_args_free(char **args)
{
	if (!args)
		return;
	for (char **a = args; *a; a++)
		free(*a);
	free(args);
}

/* The strings of the event's "args" array, checked. */
static mc_code copy_args(const json_t *args, char ***out, int *count, mc_error *err)
{
	size_t n = json_array_size(args);
	if (!json_is_array(args))
		return mc_fail(err, MC_ERR_INVALID,
			       "event field 'args': expected an array of strings, got %s",
			       mc_json_kind(args));
	if (n > MC_LAMBDA_MAX_ARGS)
		return mc_fail(err, MC_ERR_INVALID, "event field 'args': %zu items, at most %d", n,
			       MC_LAMBDA_MAX_ARGS);
	for (size_t i = 0; i < n; i++) {
		const json_t *a = json_array_get(args, i);
		if (!json_is_string(a))
			return mc_fail(err, MC_ERR_INVALID,
				       "event field 'args[%zu]': expected a string, got %s", i,
				       mc_json_kind(a));
		if (json_string_length(a) > MC_LAMBDA_MAX_ARG_LEN)
			return mc_fail(err, MC_ERR_INVALID,
				       "event field 'args[%zu]': %zu bytes, at most %d", i,
				       json_string_length(a), MC_LAMBDA_MAX_ARG_LEN);
	}
	char **v = calloc(n + 1, sizeof *v);
	for (size_t i = 0; v && i < n; i++) {
		v[i] = strdup(json_string_value(json_array_get(args, i)));
		if (!v[i]) {
			mc_lambda_args_free(v);
			v = NULL;
		}
	}
	if (!v)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	*out = v;
	*count = (int)n;
	return MC_OK;
}

mc_code mc_lambda_event_args(const uint8_t *event, size_t n, char ***out, int *count, mc_error *err)
{
	*out = NULL;
	*count = 0;
	size_t i = 0;
	while (i < n && isspace(event[i]))
		i++;
	json_t *ev = NULL;
	if (i < n) {
		json_error_t je;
		ev = json_loadb((const char *)event, n, JSON_DECODE_ANY, &je);
		if (!ev)
			return mc_fail(err, MC_ERR_INVALID,
				       "the event is not JSON: %s (line %d, column %d)", je.text,
				       je.line, je.column);
	}
	mc_code rc = MC_OK;
	const json_t *args = json_object_get(ev, "args");
	if (ev && !json_is_object(ev) && !json_is_null(ev))
		rc = mc_fail(err, MC_ERR_INVALID,
			     "the event must be a JSON object like {\"args\": [\"--param\", "
			     "\"date=2025-03-31\"]}, got %s",
			     mc_json_kind(ev));
	else if (args)
		rc = copy_args(args, out, count, err);
	else if (!(*out = calloc(1, sizeof **out)))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	json_decref(ev);
	return rc;
}

/* --- text ----------------------------------------------------------------------- */

/* The length a UTF-8 sequence starting with byte b has, or 0 for a byte that cannot start one. */
static size_t utf8_lead(unsigned char b)
{
	if (b < 0x80)
		return 1;
	if (b >= 0xc2 && b <= 0xdf)
		return 2;
	if ((b & 0xf0) == 0xe0)
		return 3;
	if (b >= 0xf0 && b <= 0xf4)
		return 4;
	return 0;
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = utf8_lead(s[0]);
	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* overlong forms, surrogates, beyond U+10FFFF */
	unsigned char b0 = s[0], b1 = len > 1 ? s[1] : 0;
	if ((b0 == 0xe0 && b1 < 0xa0) || (b0 == 0xed && b1 > 0x9f) || (b0 == 0xf0 && b1 < 0x90) ||
	    (b0 == 0xf4 && b1 > 0x8f))
		return 0;
	return len;
}

/* A JSON string of the bytes, each byte that is not UTF-8 (or a NUL) as '?'. */
static json_t *text_value(const char *s, size_t n)
{
	char *t = malloc(n + 1);
	if (!t)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = s[i] ? utf8_seq((const unsigned char *)s + i, n - i) : 0;
		if (!k) {
			t[i++] = '?';
			continue;
		}
		memcpy(t + i, s + i, k);
		i += k;
	}
	json_t *v = json_stringn(t, n);
	free(t);
	return v;
}

/* ARG as a shell would need it: bare when plain, else in single quotes. */
static mc_code append_arg(mc_buf *b, const char *a)
{
	bool plain = *a != '\0';
	for (const char *p = a; *p && plain; p++)
		plain = isalnum((unsigned char)*p) || strchr("_-./=:,@%+", *p);
	if (plain)
		return mc_buf_printf(b, " %s", a);
	mc_code rc = mc_buf_append(b, " '", 2);
	for (const char *p = a; !rc && *p; p++)
		rc = *p == '\'' ? mc_buf_append(b, "'\\''", 4) : mc_buf_putc(b, (uint8_t)*p);
	return rc ? rc : mc_buf_putc(b, '\'');
}

/* "milkcast ARG..." */
static mc_code command_line(char **argv, mc_buf *b)
{
	mc_code rc = mc_buf_append(b, "milkcast", 8);
	for (char **a = argv; !rc && *a; a++)
		rc = append_arg(b, *a);
	return rc;
}

/* --- the child ------------------------------------------------------------------ */

static _Noreturn void child_main(const mc_lambda_command *c, int argc, char **argv,
				 const int out[2], const int errp[2], pid_t parent)
{
	mc_child_setup(parent, 127); /* 127: the runtime died before we got here */
	signal(SIGPIPE, SIG_DFL);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0 && null != STDIN_FILENO) {
		dup2(null, STDIN_FILENO);
		close(null);
	}
	if (dup2(out[1], STDOUT_FILENO) < 0 || dup2(errp[1], STDERR_FILENO) < 0)
		_exit(127);
	close(out[0]);
	close(out[1]);
	close(errp[0]);
	close(errp[1]);
	int code = c->run(c->run_ud, argc, argv);
	fflush(stdout);
	fflush(stderr);
	_exit(code < 0 || code > 255 ? 255 : code);
}

/* --- the runtime's side --------------------------------------------------------- */

typedef struct proc {
	const mc_lambda_command *c;
	pid_t pid;
	int fd[2]; /* stdout, stderr: the read ends, -1 once closed */
	mc_buf out;
	size_t out_total;
	char line[LINE_MAX_KEPT]; /* the stderr line being read */
	size_t line_len;
	char last[LINE_MAX_KEPT]; /* the last non-empty stderr line */
	char said[LINE_MAX_KEPT]; /* the last one starting "milkcast: " (an error, a usage error) */
	int status;
	bool lost;   /* the status could not be had (someone else reaped the child) */
	int stopped; /* the last signal sent at the deadline (0 = none) */
} proc;

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The line read so far is complete (or the stream ended): keep it. */
static void end_line(proc *p)
{
	if (!p->line_len)
		return;
	memcpy(p->last, p->line, p->line_len);
	p->last[p->line_len] = '\0';
	p->line_len = 0;
	if (!strncmp(p->last, "milkcast: ", 10))
		memcpy(p->said, p->last, sizeof p->said);
}

/* Keep the last lines of what the command writes to stderr. */
static void scan_stderr(proc *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' || s[i] == '\r')
			end_line(p);
		else if (p->line_len < sizeof p->line - 1)
			p->line[p->line_len++] = s[i];
	}
}

static void take(proc *p, int which, const char *s, size_t n)
{
	if (which == 0) {
		size_t room = p->c->max_output - p->out.len;
		if (room)
			mc_buf_append(&p->out, s, n < room ? n : room);
		p->out_total += n;
		return;
	}
	if (p->c->on_stderr)
		p->c->on_stderr(p->c->stderr_ud, s, n);
	scan_stderr(p, s, n);
}

/* Read what one pipe has; false once it is at its end (and closed). */
static bool read_pipe(proc *p, int which)
{
	char chunk[CHUNK];
	ssize_t r = read(p->fd[which], chunk, sizeof chunk);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return true;
	if (r <= 0) {
		close(p->fd[which]);
		p->fd[which] = -1;
		return false;
	}
	take(p, which, chunk, (size_t)r);
	return true;
}

/* Wait up to ms for output and read it. */
static void pump(proc *p, int ms)
{
	struct pollfd pf[2];
	int n = 0, which[2];
	for (int i = 0; i < 2; i++)
		if (p->fd[i] >= 0) {
			pf[n] = (struct pollfd){.fd = p->fd[i], .events = POLLIN};
			which[n++] = i;
		}
	if (poll(n ? pf : NULL, (nfds_t)n, n ? ms : (ms < 5 ? ms : 5)) <= 0)
		return;
	for (int i = 0; i < n; i++)
		if (pf[i].revents)
			read_pipe(p, which[i]);
}

static void signal_group(const proc *p, int sig)
{
	kill(-p->pid, sig);
	kill(p->pid, sig);
}

/* The child has exited (it is a zombie, so its group id cannot be reused), or
 * cannot be waited for. */
static bool exited(const proc *p)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
		return errno != EINTR;
	return si.si_pid == p->pid;
}

/* SIGTERM at term_at (monotonic ms, < 0: never), SIGKILL grace_ms later. */
static void deadline_step(proc *p, int64_t term_at, int64_t now)
{
	if (term_at < 0)
		return;
	if (!p->stopped && now >= term_at) {
		signal_group(p, SIGTERM);
		p->stopped = SIGTERM;
	}
	if (p->stopped == SIGTERM && now >= term_at + p->c->grace_ms) {
		signal_group(p, SIGKILL);
		p->stopped = SIGKILL;
	}
}

/* Until the child is gone: its output read, the deadline kept; then what is left in the
 * pipes, and any process still in its group killed. */
static void supervise(proc *p, int64_t term_at)
{
	while (!exited(p)) {
		int64_t now = clock_ms(CLOCK_MONOTONIC);
		deadline_step(p, term_at, now);
		int64_t next = !p->stopped ? term_at : term_at + p->c->grace_ms;
		int ms = 100;
		if (term_at >= 0 && p->stopped != SIGKILL && next - now < ms)
			ms = next - now < 1 ? 1 : (int)(next - now);
		pump(p, ms);
	}
	signal_group(p, SIGKILL);
	pid_t w;
	while ((w = waitpid(p->pid, &p->status, 0)) < 0 && errno == EINTR)
		;
	p->lost = w != p->pid;
	for (int i = 0; i < 2; i++)
		for (int k = 0; p->fd[i] >= 0 && k < DRAIN_READS; k++) {
			struct pollfd pf = {.fd = p->fd[i], .events = POLLIN};
			if (poll(&pf, 1, 0) <= 0 || !read_pipe(p, i))
				break;
		}
	for (int i = 0; i < 2; i++)
		if (p->fd[i] >= 0)
			close(p->fd[i]);
	end_line(p);
}

static mc_code spawn(proc *p, int argc, char **argv, mc_error *err)
{
	int out[2], errp[2];
	if (pipe2(out, O_CLOEXEC) != 0)
		return mc_fail(err, MC_ERR_IO, "cannot create a pipe: %s", strerror(errno));
	if (pipe2(errp, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return mc_fail(err, MC_ERR_IO, "cannot create a pipe: %s", strerror(errno));
	}
	pid_t parent = getpid();
	fflush(NULL);
	p->pid = fork();
	if (p->pid == 0)
		child_main(p->c, argc, argv, out, errp, parent);
	close(out[1]);
	close(errp[1]);
	if (p->pid < 0) {
		close(out[0]);
		close(errp[0]);
		return mc_fail(err, MC_ERR_IO, "cannot fork: %s", strerror(errno));
	}
	setpgid(p->pid, p->pid); /* as the child does, so a signal cannot miss the group */
	p->fd[0] = out[0];
	p->fd[1] = errp[0];
	for (int i = 0; i < 2; i++)
		fcntl(p->fd[i], F_SETFL, fcntl(p->fd[i], F_GETFL) | O_NONBLOCK);
	return MC_OK;
}

/* --- the outcome ---------------------------------------------------------------- */

/* The command's stdout: its JSON, else its text (truncated with a note), else null. */
static json_t *output_value(const proc *p)
{
	const char *s = p->out.data ? (const char *)p->out.data : "";
	if (p->out_total > p->out.len) {
		char note[160];
		int k = snprintf(
			note, sizeof note,
			"\n[milkcast lambda: output truncated: the first %zu of %zu bytes]",
			p->out.len, p->out_total);
		mc_buf text = MC_BUF_INIT;
		json_t *v = NULL;
		if (!mc_buf_append(&text, s, p->out.len) && !mc_buf_append(&text, note, (size_t)k))
			v = text_value((const char *)text.data, text.len);
		mc_buf_release(&text);
		return v;
	}
	if (!p->out.len)
		return json_null();
	json_t *v = json_loadb(s, p->out.len, JSON_DECODE_ANY, NULL);
	return v ? v : text_value(s, p->out.len);
}

static mc_code respond(const proc *p, const char *line, int code, mc_buf *response, mc_error *err)
{
	json_t *cmd = text_value(line, strlen(line));
	json_t *doc = json_pack("{s:o*, s:i, s:o*}", "command", cmd, "exit", code, "output",
				output_value(p));
	if (doc && p->out_total > p->out.len) {
		json_object_set_new(doc, "truncated", json_true());
		json_object_set_new(doc, "output_bytes", json_integer((json_int_t)p->out_total));
	}
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	mc_code rc = text ? mc_buf_append(response, text, strlen(text)) : MC_ERR_NOMEM;
	free(text);
	return rc ? mc_fail(err, rc, "cannot build the response of '%.200s'", line) : MC_OK;
}

/* What the command said last: its last "milkcast: [error: ]" line without the
 * prefix (a usage error ends with more lines), else its last line. */
static const char *last_line(const proc *p)
{
	if (p->said[0])
		return p->said + (strncmp(p->said, "milkcast: error: ", 17) ? 10 : 17);
	return p->last[0] ? p->last : "(nothing on stderr)";
}

static mc_code outcome(const proc *p, const char *line, mc_lambda_invocation *inv, mc_buf *response,
		       mc_error *err)
{
	int st = p->status;
	if (p->stopped) {
		snprintf(inv->error_type, sizeof inv->error_type, "Timeout");
		return mc_fail(
			err, MC_ERR_LIMIT,
			"'%.160s' was still running %ld ms before the invocation's deadline: "
			"stopped with %s: %.300s",
			line, p->c->grace_ms + p->c->reserve_ms,
			p->stopped == SIGKILL ? "SIGTERM, then SIGKILL" : "SIGTERM", last_line(p));
	}
	if (p->lost) {
		snprintf(inv->error_type, sizeof inv->error_type, "Crashed");
		return mc_fail(err, MC_ERR_IO,
			       "'%.160s' ended and its exit status was lost: %.300s", line,
			       last_line(p));
	}
	if (WIFSIGNALED(st)) {
		snprintf(inv->error_type, sizeof inv->error_type, "Crashed");
		return mc_fail(err, MC_ERR_IO, "'%.160s' was killed by signal %d (%s): %.300s",
			       line, WTERMSIG(st), strsignal(WTERMSIG(st)), last_line(p));
	}
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
	if (exit_ok(p->c, code))
		return respond(p, line, code, response, err);
	snprintf(inv->error_type, sizeof inv->error_type, "CommandFailed");
	return mc_fail(err, code == 2 ? MC_ERR_INVALID : MC_ERR_IO,
		       "'%.160s' exited with %d: %.300s", line, code, last_line(p));
}

/* The command's argv: the fixed part, then the event's args. */
static char **join_args(const mc_lambda_command *c, char **extra, int n_extra, int *argc)
{
	int n = 0;
	while (c->argv[n])
		n++;
	char **v = calloc((size_t)n + (size_t)n_extra + 1, sizeof *v);
	if (!v)
		return NULL;
	for (int i = 0; i < n; i++)
		v[i] = (char *)c->argv[i];
	for (int i = 0; i < n_extra; i++)
		v[n + i] = extra[i];
	*argc = n + n_extra;
	return v;
}

/* Run argv with the deadline's budget; the result into response or err. */
static mc_code run_argv(const mc_lambda_command *c, int argc, char **argv, const char *line,
			mc_lambda_invocation *inv, mc_buf *response, mc_error *err)
{
	int64_t term_at = -1;
	if (inv->deadline_ms > 0) {
		int64_t left = inv->deadline_ms - clock_ms(CLOCK_REALTIME);
		if (left <= c->grace_ms + c->reserve_ms) {
			snprintf(inv->error_type, sizeof inv->error_type, "Timeout");
			return mc_fail(err, MC_ERR_LIMIT,
				       "'%.200s' not started: the invocation's deadline is %lld ms "
				       "away, %ld ms are kept to stop it",
				       line, (long long)left, c->grace_ms + c->reserve_ms);
		}
		term_at = clock_ms(CLOCK_MONOTONIC) + left - c->grace_ms - c->reserve_ms;
	}
	proc p = {.c = c, .fd = {-1, -1}};
	mc_buf_init(&p.out, 0);
	mc_code rc = spawn(&p, argc, argv, err);
	if (!rc) {
		supervise(&p, term_at);
		rc = outcome(&p, line, inv, response, err);
	}
	mc_buf_release(&p.out);
	return rc;
}

mc_code mc_lambda_command_run(const mc_lambda_command *c, mc_lambda_invocation *inv,
			      mc_buf *response, mc_error *err)
{
	char **extra = NULL;
	int n_extra = 0, argc = 0;
	mc_code rc = mc_lambda_event_args(inv->event, inv->event_len, &extra, &n_extra, err);
	if (rc)
		return rc;
	char **argv = join_args(c, extra, n_extra, &argc);
	mc_buf line = MC_BUF_INIT;
	if (!argv || command_line(argv, &line))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	else
		rc = run_argv(c, argc, argv, (const char *)line.data, inv, response, err);
	mc_buf_release(&line);
	free(argv);
	mc_lambda_args_free(extra);
	return rc;
}
