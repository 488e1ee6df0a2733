/*
 * The service's metrics: relaxed atomic counters that request threads bump
 * without a lock, rendered on demand in Prometheus's text exposition format
 * 0.0.4 (HELP and TYPE lines, one sample per line, histograms with
 * cumulative `le` buckets ending in +Inf, then _sum and _count).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve/serve_int.h"

static const int status_codes[MC_STATUS_SLOTS - 1] = {200, 204, 400, 401, 403, 404, 405, 408,
						      409, 413, 415, 422, 429, 500, 503};
static const char *const method_names[MC_METHOD_COUNT] = {"GET", "HEAD", "POST", "other"};
/* Upper bounds of the latency buckets, seconds. */
static const double latency_le[MC_LATENCY_BUCKETS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

static double monotonic_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* When this process started, from /proc (boot time + start ticks); now when unknown. */
static double process_start_time(void)
{
	double now = (double)time(NULL), start = now;
	FILE *f = fopen("/proc/self/stat", "r");
	char line[1024];
	if (!f)
		return now;
	char *got = fgets(line, sizeof line, f);
	fclose(f);
	char *p = got ? strrchr(line, ')') : NULL; /* the command name may hold spaces */
	unsigned long long ticks = 0;
	for (int field = 2; p && *p && field < 22; p++)
		if (*p == ' ' && ++field == 22)
			ticks = strtoull(p + 1, NULL, 10);
	f = fopen("/proc/stat", "r");
	while (f && fgets(line, sizeof line, f)) {
		unsigned long long btime;
		if (sscanf(line, "btime %llu", &btime) == 1 && ticks)
			start = (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
	}
	if (f)
		fclose(f);
	return start;
}

void mc_serve_metrics_init(mc_serve_metrics *m)
{
	memset(m, 0, sizeof *m);
	m->start_time = process_start_time();
	m->created = monotonic_s();
}

int mc_serve_method_index(const char *method)
{
	for (int i = 0; i < MC_METHOD_OTHER; i++)
		if (!strcmp(method, method_names[i]))
			return i;
	return MC_METHOD_OTHER;
}

static int status_slot(int status)
{
	for (int i = 0; i < MC_STATUS_SLOTS - 1; i++)
		if (status_codes[i] == status)
			return i;
	return MC_STATUS_SLOTS - 1;
}

void mc_serve_metrics_observe(mc_serve_metrics *m, int route, int method, int status,
			      double seconds)
{
	atomic_fetch_add_explicit(&m->requests[route][method][status_slot(status)], 1,
				  memory_order_relaxed);
	int b = 0;
	while (b < MC_LATENCY_BUCKETS && seconds > latency_le[b])
		b++;
	atomic_fetch_add_explicit(&m->latency[route][b], 1, memory_order_relaxed);
	uint64_t ns = seconds > 0 ? (uint64_t)(seconds * 1e9) : 0;
	atomic_fetch_add_explicit(&m->latency_ns[route], ns, memory_order_relaxed);
}

static uint64_t load(const _Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void family(mc_buf *b, const char *name, const char *type, const char *help)
{
	mc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newlines escaped, as the format asks. */
static void label_value(mc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			mc_buf_putc(b, '\\');
		if (*s == '\n')
			mc_buf_append(b, "\\n", 2);
		else
			mc_buf_putc(b, (uint8_t)*s);
	}
}

static void render_requests(const mc_serve_metrics *m, mc_buf *b)
{
	family(b, "http_requests_total", "counter",
	       "HTTP requests answered, by route, method and status code.");
	for (int r = 0; r < MC_ROUTE_COUNT; r++)
		for (int k = 0; k < MC_METHOD_COUNT; k++)
			for (int s = 0; s < MC_STATUS_SLOTS; s++) {
				uint64_t n = load(&m->requests[r][k][s]);
				if (!n)
					continue;
				char code[8];
				if (s < MC_STATUS_SLOTS - 1)
					snprintf(code, sizeof code, "%d", status_codes[s]);
				else
					snprintf(code, sizeof code, "other");
				mc_buf_printf(b,
					      "http_requests_total{route=\"%s\",method=\"%s\","
					      "code=\"%s\"} %llu\n",
					      mc_route_paths[r], method_names[k], code,
					      (unsigned long long)n);
			}
}

static void render_latency(const mc_serve_metrics *m, mc_buf *b)
{
	family(b, "http_request_duration_seconds", "histogram",
	       "Time from routing a request to its response, by route.");
	for (int r = 0; r < MC_ROUTE_COUNT; r++) {
		uint64_t counts[MC_LATENCY_BUCKETS + 1], total = 0;
		for (int i = 0; i <= MC_LATENCY_BUCKETS; i++)
			total += counts[i] = load(&m->latency[r][i]);
		if (!total)
			continue;
		const char *route = mc_route_paths[r];
		uint64_t cum = 0;
		for (int i = 0; i < MC_LATENCY_BUCKETS; i++) {
			cum += counts[i];
			mc_buf_printf(
				b,
				"http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} "
				"%llu\n",
				route, latency_le[i], (unsigned long long)cum);
		}
		mc_buf_printf(
			b,
			"http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
			"http_request_duration_seconds_sum{route=\"%s\"} %.9f\n"
			"http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			route, (unsigned long long)total, route,
			(double)load(&m->latency_ns[r]) * 1e-9, route, (unsigned long long)total);
	}
}

static void render_model(const mc_serve_metrics *m, const mc_metrics_view *v, mc_buf *b)
{
	family(b, "milkcast_predictions_total", "counter", "Forecasts served.");
	mc_buf_printf(b, "milkcast_predictions_total %llu\n",
		      (unsigned long long)load(&m->predictions));
	family(b, "milkcast_model_info", "gauge", "The model being served (always 1).");
	if (v->model_name) {
		mc_buf_printf(b, "milkcast_model_info{name=\"");
		label_value(b, v->model_name);
		mc_buf_printf(b, "\",version=\"");
		label_value(b, v->model_version ? v->model_version : "");
		mc_buf_printf(b, "\"} 1\n");
	}
	family(b, "milkcast_model_reloads_total", "counter",
	       "Model reloads after start, by result (a failed one leaves the old model serving).");
	mc_buf_printf(b,
		      "milkcast_model_reloads_total{result=\"success\"} %llu\n"
		      "milkcast_model_reloads_total{result=\"failure\"} %llu\n",
		      (unsigned long long)load(&m->reloads_ok),
		      (unsigned long long)load(&m->reloads_failed));
	family(b, "milkcast_served_series", "gauge", "Series the served model has forecasts for.");
	mc_buf_printf(b, "milkcast_served_series %zu\n", v->series);
	family(b, "milkcast_data_last_date_seconds", "gauge",
	       "The served data's last publication date, seconds since the epoch.");
	mc_buf_printf(b, "milkcast_data_last_date_seconds %.0f\n", v->data_as_of_unix);
}

static void render_log(const mc_metrics_view *v, mc_buf *b)
{
	family(b, "milkcast_prediction_log_written_total", "counter",
	       "Prediction log entries written.");
	mc_buf_printf(b, "milkcast_prediction_log_written_total %llu\n",
		      (unsigned long long)v->log_written);
	family(b, "milkcast_prediction_log_dropped_total", "counter",
	       "Prediction log entries dropped because the queue was full.");
	mc_buf_printf(b, "milkcast_prediction_log_dropped_total %llu\n",
		      (unsigned long long)v->log_dropped);
	family(b, "milkcast_prediction_log_errors_total", "counter",
	       "Prediction log entries lost to write errors.");
	mc_buf_printf(b, "milkcast_prediction_log_errors_total %llu\n",
		      (unsigned long long)v->log_failed);
}

/* Resident set size from /proc/self/statm (0 when unavailable). */
static double resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%llu %llu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static void render_process(const mc_serve_metrics *m, mc_buf *b)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
		     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
	family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	mc_buf_printf(b, "process_resident_memory_bytes %.0f\n", resident_bytes());
	family(b, "process_cpu_seconds_total", "counter", "User and system CPU time, seconds.");
	mc_buf_printf(b, "process_cpu_seconds_total %.6f\n", cpu);
	family(b, "process_start_time_seconds", "gauge",
	       "Start time of the process since the epoch, seconds.");
	mc_buf_printf(b, "process_start_time_seconds %.3f\n", m->start_time);
	family(b, "milkcast_uptime_seconds", "gauge", "Seconds since the service started.");
	mc_buf_printf(b, "milkcast_uptime_seconds %.3f\n", monotonic_s() - m->created);
}

/* ---- the monitor's textfile ---- */

struct mc_textfile {
	char *path;
	pthread_mutex_t lock;
	struct stat seen; /* of the file last read (st_ino 0 = none) */
	char *text;	  /* its accepted content, or NULL */
};

mc_code mc_serve_metrics_textfile(mc_serve_metrics *m, const char *path, mc_error *err)
{
	struct mc_textfile *t = calloc(1, sizeof *t);
	if (!t || !(t->path = strdup(path))) {
		free(t);
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&t->lock, NULL);
	m->textfile = t;
	return MC_OK;
}

void mc_serve_metrics_release(mc_serve_metrics *m)
{
	struct mc_textfile *t = m->textfile;
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->path);
	free(t->text);
	free(t);
	m->textfile = NULL;
}

/* Only complete milkcast_* samples and their HELP/TYPE lines: nothing can clash with ours. */
static bool textfile_ok(const mc_buf *b)
{
	if (!b->len || b->data[b->len - 1] != '\n')
		return false;
	for (const char *l = (const char *)b->data; *l;) {
		if (strncmp(l, "milkcast_", 9) && strncmp(l, "# HELP milkcast_", 16) &&
		    strncmp(l, "# TYPE milkcast_", 16))
			return false;
		l = strchr(l, '\n') + 1;
	}
	return true;
}

static void textfile_refresh(struct mc_textfile *t)
{
	struct stat st;
	if (stat(t->path, &st) != 0) {
		free(t->text);
		t->text = NULL;
		t->seen.st_ino = 0;
		return;
	}
	if (st.st_ino == t->seen.st_ino && st.st_size == t->seen.st_size &&
	    st.st_mtim.tv_sec == t->seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == t->seen.st_mtim.tv_nsec)
		return;
	mc_buf b;
	mc_buf_init(&b, 4u << 20);
	mc_error err = MC_ERROR_INIT;
	bool ok = !mc_buf_read_file(&b, t->path, &err) && textfile_ok(&b);
	free(t->text);
	t->text = ok ? (char *)mc_buf_detach(&b, NULL) : NULL;
	t->seen = st;
	mc_buf_release(&b);
}

static void render_textfile(struct mc_textfile *t, mc_buf *b)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	textfile_refresh(t);
	if (t->text)
		mc_buf_append(b, t->text, strlen(t->text));
	pthread_mutex_unlock(&t->lock);
}

mc_code mc_serve_metrics_render(const mc_serve_metrics *m, const mc_metrics_view *v, mc_buf *out)
{
	render_requests(m, out);
	render_latency(m, out);
	render_model(m, v, out);
	render_log(v, out);
	render_process(m, out);
	render_textfile(m->textfile, out);
	return out->data ? MC_OK : MC_ERR_NOMEM;
}
