/* Experiment tracking in milkcast.db; see milkcast/tracking.h. */
#include "milkcast/tracking.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t mc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool mc_tracking_key_valid(const char *key)
{
	size_t n = strlen(key);
	if (n == 0 || n > MC_KEY_MAX)
		return false;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		if (!isalnum(*p) && !strchr("_-./ ", *p))
			return false;
	return true;
}

static mc_code check_key(const char *what, const char *key, mc_error *err)
{
	if (mc_tracking_key_valid(key))
		return MC_OK;
	return mc_fail(err, MC_ERR_INVALID,
		       "invalid %s key '%.60s': keys are 1 to %d letters, digits and _ - . / or "
		       "spaces",
		       what, key, MC_KEY_MAX);
}

/* Prepare, bind text/int parameters given as a format ("t" text, "i" int), run. */
static mc_code exec1(mc_store *s, const char *sql, const char *types, const char *const *texts,
		     const int64_t *ints, mc_error *err)
{
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s, sql, &st, err);
	if (rc)
		return rc;
	int ti = 0, ii = 0;
	for (int i = 0; types[i] && !rc; i++)
		rc = types[i] == 't' ? mc_stmt_bind_text(st, i + 1, texts[ti++])
				     : mc_stmt_bind_int(st, i + 1, ints[ii++]);
	if (!rc)
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	return rc;
}

mc_code mc_experiment_ensure(mc_store *s, const char *name, int64_t *id, mc_error *err)
{
	if (!*name || strlen(name) > 500)
		return mc_fail(err, MC_ERR_INVALID, "an experiment name is 1 to 500 characters");
	int64_t now = mc_now_ms();
	const char *t[] = {name};
	int64_t i[] = {now, now};
	mc_code rc =
		exec1(s,
		      "INSERT OR IGNORE INTO experiments(name, creation_time, last_update_time)"
		      " VALUES (?, ?, ?)",
		      "tii", t, i, err);
	mc_stmt *st;
	if (!rc)
		rc = mc_stmt_prepare(s, "SELECT experiment_id FROM experiments WHERE name = ?", &st,
				     err);
	if (rc)
		return rc;
	bool row = false;
	rc = mc_stmt_bind_text(st, 1, name);
	if (!rc)
		rc = mc_stmt_step(st, &row, err);
	if (!rc && row)
		*id = mc_stmt_int(st, 0);
	mc_stmt_free(st);
	return rc ? rc : row ? MC_OK : mc_fail(err, MC_ERR_DB, "experiment '%s' vanished", name);
}

/* 128 random bits as 32 hex characters. */
static mc_code random_id(char out[MC_RUN_ID_LEN + 1], mc_error *err)
{
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, b, sizeof b) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof b)
		return mc_fail(err, MC_ERR_IO, "cannot read /dev/urandom: %s", strerror(errno));
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return MC_OK;
}

mc_code mc_run_start(mc_store *s, int64_t experiment, const char *parent, const char *name,
		     char id[MC_RUN_ID_LEN + 1], mc_error *err)
{
	mc_code rc = random_id(id, err);
	if (rc)
		return rc;
	mc_stmt *st;
	rc = mc_stmt_prepare(
		s,
		"INSERT INTO runs(run_uuid, experiment_id, parent_run_uuid, name, status,"
		" start_time) VALUES (?, ?, ?, ?, 'RUNNING', ?)",
		&st, err);
	if (rc)
		return rc;
	rc = mc_stmt_bind_text(st, 1, id);
	if (!rc)
		rc = mc_stmt_bind_int(st, 2, experiment);
	if (!rc)
		rc = mc_stmt_bind_text(st, 3, parent);
	if (!rc)
		rc = mc_stmt_bind_text(st, 4, name);
	if (!rc)
		rc = mc_stmt_bind_int(st, 5, mc_now_ms());
	if (!rc)
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	char pid[32];
	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	if (!rc)
		rc = mc_run_set_tag(s, id, "milkcast.pid", pid, err);
	return rc;
}

mc_code mc_run_end(mc_store *s, const char *run, const char *status, mc_error *err)
{
	if (strcmp(status, MC_RUN_FINISHED) && strcmp(status, MC_RUN_FAILED) &&
	    strcmp(status, MC_RUN_KILLED))
		return mc_fail(err, MC_ERR_INVALID, "a run ends FINISHED, FAILED or KILLED, not %s",
			       status);
	const char *t[] = {status, run};
	int64_t i[] = {mc_now_ms()};
	return exec1(s, "UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?", "tit", t, i,
		     err);
}

mc_code mc_run_set_artifact_uri(mc_store *s, const char *run, const char *uri, mc_error *err)
{
	const char *t[] = {uri, run};
	return exec1(s, "UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", "tt", t, NULL, err);
}

mc_code mc_run_log_param(mc_store *s, const char *run, const char *key, const char *value,
			 mc_error *err)
{
	mc_code rc = check_key("param", key, err);
	if (rc)
		return rc;
	if (strlen(value) > 6000)
		return mc_fail(err, MC_ERR_INVALID,
			       "param '%s': values are at most 6000 characters", key);
	mc_stmt *st;
	rc = mc_stmt_prepare(s, "SELECT value FROM params WHERE run_uuid = ? AND key = ?", &st,
			     err);
	if (rc)
		return rc;
	bool row = false;
	rc = mc_stmt_bind_text(st, 1, run);
	if (!rc)
		rc = mc_stmt_bind_text(st, 2, key);
	if (!rc)
		rc = mc_stmt_step(st, &row, err);
	if (!rc && row && strcmp(mc_stmt_text(st, 0), value) != 0)
		rc = mc_fail(err, MC_ERR_INVALID,
			     "param '%s' of run %s was logged as '%.80s'; params cannot change "
			     "(log a new run)",
			     key, run, mc_stmt_text(st, 0));
	mc_stmt_free(st);
	if (rc || row)
		return rc;
	const char *t[] = {run, key, value};
	return exec1(s, "INSERT INTO params(run_uuid, key, value) VALUES (?, ?, ?)", "ttt", t, NULL,
		     err);
}

mc_code mc_run_log_metric(mc_store *s, const char *run, const char *key, double value, int64_t step,
			  int64_t timestamp_ms, mc_error *err)
{
	mc_code rc = check_key("metric", key, err);
	if (rc)
		return rc;
	mc_stmt *st;
	rc = mc_stmt_prepare(s,
			     "INSERT INTO metrics(run_uuid, key, value, timestamp, step, is_nan)"
			     " VALUES (?, ?, ?, ?, ?, ?)",
			     &st, err);
	if (rc)
		return rc;
	rc = mc_stmt_bind_text(st, 1, run);
	if (!rc)
		rc = mc_stmt_bind_text(st, 2, key);
	/* SQLite has no NaN: MLflow keeps is_nan and a 0 value; infinities go as they are. */
	if (!rc)
		rc = isnan(value) ? mc_stmt_bind_double(st, 3, 0)
				  : mc_stmt_bind_double(st, 3, value);
	if (!rc)
		rc = mc_stmt_bind_int(st, 4, timestamp_ms);
	if (!rc)
		rc = mc_stmt_bind_int(st, 5, step);
	if (!rc)
		rc = mc_stmt_bind_int(st, 6, isnan(value) ? 1 : 0);
	if (!rc)
		rc = mc_stmt_run(st, err);
	mc_stmt_free(st);
	return rc;
}

mc_code mc_run_set_tag(mc_store *s, const char *run, const char *key, const char *value,
		       mc_error *err)
{
	mc_code rc = check_key("tag", key, err);
	if (rc)
		return rc;
	const char *t[] = {run, key, value};
	return exec1(s, "INSERT OR REPLACE INTO tags(run_uuid, key, value) VALUES (?, ?, ?)", "ttt",
		     t, NULL, err);
}

mc_code mc_runs_mark_interrupted(mc_store *s, size_t *n, mc_error *err)
{
	*n = 0;
	mc_stmt *st;
	mc_code rc = mc_stmt_prepare(s,
				     "SELECT r.run_uuid, t.value FROM runs r LEFT JOIN tags t"
				     " ON t.run_uuid = r.run_uuid AND t.key = 'milkcast.pid'"
				     " WHERE r.status = 'RUNNING'",
				     &st, err);
	if (rc)
		return rc;
	char ids[64][MC_RUN_ID_LEN + 1];
	size_t k = 0;
	bool row = false;
	while (!(rc = mc_stmt_step(st, &row, err)) && row && k < 64) {
		const char *pid = mc_stmt_text(st, 1);
		long p = pid ? strtol(pid, NULL, 10) : 0;
		/* A live process of that id may still own the run; only a gone one is interrupted.
		 */
		if (p > 0 && (kill((pid_t)p, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(ids[k++], sizeof ids[0], "%s", mc_stmt_text(st, 0));
	}
	mc_stmt_free(st);
	for (size_t i = 0; i < k && !rc; i++) {
		rc = mc_run_end(s, ids[i], MC_RUN_FAILED, err);
		if (!rc)
			rc = mc_run_set_tag(s, ids[i], "milkcast.error", "interrupted", err);
	}
	if (!rc)
		*n = k;
	return rc;
}
