/* Retries: what is worth another attempt, how long to wait, and the loop of mc_httpc_send. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "milkcast/httpc.h"

bool mc_httpc_retryable(const mc_httpc_resp *r)
{
	switch (r->failure) {
	case MC_HTTPC_NONE: return r->status == 429 || (r->status >= 500 && r->status <= 599);
	case MC_HTTPC_TRANSIENT:
	case MC_HTTPC_TIMEOUT:
	case MC_HTTPC_TRUNCATED: return true;
	case MC_HTTPC_TOO_LARGE:
	case MC_HTTPC_FAILED: return false;
	}
	return false;
}

long mc_httpc_backoff_ms(long base_ms, long max_ms, int retry, uint32_t rnd)
{
	if (base_ms <= 0)
		return 0;
	long cap = max_ms > base_ms ? max_ms : base_ms;
	long d = base_ms;
	for (int i = 0; i < retry && d < cap; i++)
		d = d > cap / 2 ? cap : d * 2;
	long half = d / 2;
	return half + (long)(rnd % (uint32_t)(d - half + 1));
}

void mc_httpc_sleep_ms(long ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

mc_code mc_httpc_send(mc_httpc *c, const mc_httpc_req *q, const mc_httpc_retry *p, mc_httpc_resp *r,
		      mc_error *err)
{
	for (int attempt = 1;; attempt++) {
		mc_error failure = MC_ERROR_INIT; /* err only gets the last attempt's */
		mc_code rc = mc_httpc_perform(c, q, r, &failure);
		r->attempts = attempt;
		long delay = -1;
		if (mc_httpc_retryable(r) && attempt <= p->retries)
			delay = mc_httpc_backoff_ms(p->backoff_ms, p->backoff_max_ms, attempt - 1,
						    mc_httpc_random(c));
		mc_code judged = p->judge ? p->judge(p->user, r, &delay, err) : MC_OK;
		if (judged)
			return judged;
		if (delay >= 0) {
			mc_httpc_sleep_ms(delay);
			continue;
		}
		if (rc && err) {
			*err = failure;
			size_t n = strlen(err->msg);
			snprintf(err->msg + n, sizeof err->msg - n, " (%d attempt%s)", attempt,
				 attempt == 1 ? "" : "s");
		}
		return rc;
	}
}
