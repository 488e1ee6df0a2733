/* Who runs a flow run (pid, process start time, host) and whether it still does; clocks. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow/flow_int.h"

/* Fields of /proc/PID/stat after the command's closing parenthesis: state is the first,
 * starttime (field 22 of the file) the 20th. */
static bool read_stat(pid_t pid, char *state, int64_t *start)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	size_t n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	char *p = strrchr(line, ')');
	if (!p)
		return false;
	p++;
	for (int field = 1; field <= 20; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return false;
		if (field == 1)
			*state = *p;
		if (field == 20) {
			*start = strtoll(p, NULL, 10);
			return true;
		}
		while (*p && *p != ' ')
			p++;
	}
	return false;
}

int64_t flow_proc_start_time(pid_t pid)
{
	char state = 0;
	int64_t start = -1;
	if (!read_stat(pid, &state, &start) || state == 'Z' || state == 'X')
		return -1;
	return start;
}

mc_code flow_proc_self(flow_proc *p, mc_error *err)
{
	p->pid = getpid();
	p->start = flow_proc_start_time(getpid());
	if (gethostname(p->host, sizeof p->host) != 0)
		return mc_fail(err, MC_ERR_IO, "cannot read the host name: %s", strerror(errno));
	p->host[sizeof p->host - 1] = '\0';
	return MC_OK;
}

bool flow_proc_owns(const flow_proc *self, int64_t pid, int64_t start, const char *host,
		    int64_t heartbeat, int64_t now, int64_t stale_ms)
{
	if (!host || strcmp(host, self->host) != 0)
		return now - heartbeat < stale_ms;
	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
		return false;
	int64_t actual = flow_proc_start_time((pid_t)pid);
	/* Without /proc the start time is unknown (-1 both ways): trust the pid. */
	return actual == start;
}

int64_t flow_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t flow_clock_now(const mc_flow_opts *o)
{
	if (o->clock.now_ms)
		return o->clock.now_ms(o->clock.user);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void flow_clock_sleep(const mc_flow_opts *o, int64_t ms)
{
	if (ms <= 0)
		return;
	if (o->clock.sleep_ms) {
		o->clock.sleep_ms(o->clock.user, ms);
		return;
	}
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
