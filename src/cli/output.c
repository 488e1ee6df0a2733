/* Messages, errors and progress bars: the only place that writes to stderr. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

int mc_die_error(const mc_error *err)
{
	fprintf(stderr, "milkcast: error: %s\n", err->msg[0] ? err->msg : mc_strerror(err->code));
	return MC_EXIT_FAIL;
}

int(mc_usage_error)(const char *usage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("milkcast: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n(see --help)\n",
		usage ? usage : "milkcast COMMAND [options]");
	return MC_EXIT_USAGE;
}

void mc_info(const mc_ctx *ctx, const char *fmt, ...)
{
	if (ctx->verbosity < 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	/* With --json, stdout is reserved for the data. */
	vfprintf(ctx->json ? stderr : stdout, fmt, ap);
	va_end(ap);
}

void mc_verbose(const mc_ctx *ctx, const char *fmt, ...)
{
	if (ctx->verbosity < 2)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void mc_progress_start(mc_progress *p, const mc_ctx *ctx, const char *label, double total)
{
	p->ctx = ctx;
	p->label = label;
	p->total = total > 0 ? total : 1;
	p->last_drawn = -1;
	p->active = ctx->tty && ctx->verbosity >= 1 && !ctx->json;
}

void mc_progress_update(mc_progress *p, double done)
{
	if (!p->active)
		return;
	double frac = done / p->total;
	if (frac > 1)
		frac = 1;
	if (frac - p->last_drawn < 0.01 && frac < 1)
		return;
	p->last_drawn = frac;
	enum { WIDTH = 30 };
	int filled = (int)(frac * WIDTH);
	char bar[WIDTH + 1];
	memset(bar, '#', (size_t)filled);
	memset(bar + filled, '-', (size_t)(WIDTH - filled));
	bar[WIDTH] = '\0';
	fprintf(stderr, "\r%-12s [%s] %3d%%", p->label, bar, (int)(frac * 100));
	fflush(stderr);
}

void mc_progress_finish(mc_progress *p)
{
	if (!p->active)
		return;
	if (p->last_drawn < 1)
		mc_progress_update(p, p->total);
	fputc('\n', stderr);
	p->active = false;
}

void mc_print_json(json_t *v)
{
	if (!v)
		return;
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII * 0 | JSON_REAL_PRECISION(17));
	if (s) {
		puts(s);
		free(s);
	}
	json_decref(v);
}
