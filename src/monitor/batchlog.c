/*
 * The batch prediction log: `milkcast predict` appends its forecasts to
 * HOME/predictions/batch-AS_OF.jsonl in the serving log's line format, so
 * monitoring reads both the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "milkcast/date.h"
#include "milkcast/fsutil.h"
#include "monitor/monitor_int.h"

static void now_iso(char *out, size_t cap)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

static json_t *line_json(const char *time, const mc_panel_series *s, const mc_forecast *f,
			 const char *version)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:o, s:o, s:i, s:o, s:o, s:o, s:o, "
			 "s:o, s:s}",
			 "time", time, "route", "batch", "series", "state", s->state, "city",
			 s->city, "milk_type", s->milk_type, "channel", s->channel, "as_of",
			 mon_date(f->as_of), "origin", mon_date(f->origin), "horizon", f->h,
			 "target_date", mon_date(f->target), "price", mon_num(f->price), "lower",
			 mon_num(f->lower), "upper", mon_num(f->upper), "last_price",
			 mon_num(f->last), "model_version", version);
}

static mc_code lines(const mc_panel *p, const mc_forecast *f, size_t n, const char *version,
		     mc_buf *b, mc_error *err)
{
	char t[32];
	now_iso(t, sizeof t);
	for (size_t i = 0; i < n; i++) {
		json_t *j = line_json(t, &p->series[f[i].series], &f[i], version);
		char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		json_decref(j);
		mc_code rc = s ? mc_buf_printf(b, "%s\n", s) : MC_ERR_NOMEM;
		free(s);
		if (rc)
			return mc_fail(err, rc, "cannot format the batch prediction log: %s",
				       mc_strerror(rc));
	}
	return MC_OK;
}

mc_code mc_monitor_log_batch(const char *dir, const mc_panel *p, const mc_forecast *f, size_t n,
			     int32_t as_of, const char *model_version, mc_error *err)
{
	mc_buf b = MC_BUF_INIT;
	mc_code rc = mc_mkdirs(dir, err);
	if (!rc)
		rc = lines(p, f, n, model_version ? model_version : "", &b, err);
	char name[40], d[11];
	mc_date_format_iso(as_of, d);
	snprintf(name, sizeof name, "batch-%s.jsonl", d);
	char *path = mc_path_join(dir, name);
	if (!rc && !path)
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	int fd = rc ? -1 : open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (!rc && fd < 0)
		rc = mc_fail(err, MC_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
	for (size_t off = 0; !rc && off < b.len;) {
		ssize_t w = write(fd, b.data + off, b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			rc = mc_fail(err, MC_ERR_IO, "cannot write '%s': %s", path,
				     strerror(errno));
		else
			off += (size_t)w;
	}
	if (fd >= 0 && close(fd) && !rc)
		rc = mc_fail(err, MC_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
	free(path);
	mc_buf_release(&b);
	return rc;
}

void mc_monitor_model_version(mc_store *store, const char *model_name, const char *dir, char *out,
			      size_t cap)
{
	char real[PATH_MAX], src[PATH_MAX];
	bool have_real = dir && realpath(dir, real);
	snprintf(out, cap, "%s", have_real ? mc_basename(real) : dir ? mc_basename(dir) : "");
	mc_stmt *st = NULL;
	mc_error err = MC_ERROR_INIT;
	bool row = false;
	if (!store || !dir ||
	    mc_stmt_prepare(store,
			    "SELECT version, source FROM model_versions WHERE name = ? ORDER BY"
			    " version DESC",
			    &st, &err))
		return;
	mc_stmt_bind_text(st, 1, model_name);
	while (!mc_stmt_step(st, &row, &err) && row) {
		const char *s = mc_stmt_text(st, 1);
		if (s &&
		    (!strcmp(s, dir) || (have_real && realpath(s, src) && !strcmp(src, real)))) {
			snprintf(out, cap, "%lld", (long long)mc_stmt_int(st, 0));
			break;
		}
	}
	mc_stmt_free(st);
}
