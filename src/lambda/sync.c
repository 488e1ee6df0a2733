/*
 * Keeping what the daily flow writes under HOME (in Lambda's /tmp) beyond the
 * execution environment: reports copied as they change, milkcast.db as a
 * snapshot, restored at the next cold start.  See milkcast/lambda.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "milkcast/artifact.h"
#include "milkcast/fsutil.h"
#include "milkcast/lambda.h"
#include "milkcast/sha256.h"
#include "milkcast/store.h"
#include "milkcast/strmap.h"

#define STATE_KEY "milkcast.db"
#define MAX_DEPTH 16			     /* directories under HOME/reports */
#define MAX_FILE ((size_t)256 * 1024 * 1024) /* a report or a snapshot */

struct mc_lambda_sync {
	char *home;
	char *reports_dir; /* HOME/reports */
	char *db_path;	   /* HOME/milkcast.db */
	mc_artifact_store *reports, *state;
	mc_artifact_store *local_reports; /* HOME/reports, listed as a file store */
	mc_strmap *seen;		  /* relative path -> stat signature when last looked at */
	mc_strmap *copied; /* relative path -> content hash of the copy in the store */
	uint8_t state_sha[32];
	bool state_known; /* state_sha is the store's copy */
};

static mc_code open_store(const char *uri, mc_artifact_store **out, mc_error *err)
{
	*out = NULL;
	if (!uri || !*uri)
		return MC_OK;
	return mc_artifact_open(uri, NULL, out, err);
}

mc_code mc_lambda_sync_new(const char *home, const char *reports_uri, const char *state_uri,
			   mc_lambda_sync **out, mc_error *err)
{
	*out = NULL;
	mc_lambda_sync *s = calloc(1, sizeof *s);
	if (!s)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	s->home = strdup(home);
	s->reports_dir = mc_path_join(home, "reports");
	s->db_path = mc_path_join(home, "milkcast.db");
	s->seen = mc_strmap_new(64);
	s->copied = mc_strmap_new(64);
	mc_code rc = s->home && s->reports_dir && s->db_path && s->seen && s->copied
			     ? MC_OK
			     : mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (!rc && (rc = open_store(reports_uri, &s->reports, err)))
		mc_error_prefix(err, "MILKCAST_REPORTS");
	if (!rc && s->reports)
		rc = mc_artifact_open(s->reports_dir, NULL, &s->local_reports, err);
	if (!rc && (rc = open_store(state_uri, &s->state, err)))
		mc_error_prefix(err, "MILKCAST_STATE");
	if (rc) {
		mc_lambda_sync_free(s);
		return rc;
	}
	*out = s;
	return MC_OK;
}

void mc_lambda_sync_free(mc_lambda_sync *s)
{
	if (!s)
		return;
	mc_artifact_free(s->reports);
	mc_artifact_free(s->local_reports);
	mc_artifact_free(s->state);
	mc_strmap_free(s->seen);
	mc_strmap_free(s->copied);
	free(s->home);
	free(s->reports_dir);
	free(s->db_path);
	free(s);
}

static void digest(const mc_buf *b, uint8_t out[32])
{
	mc_sha256 h;
	mc_sha256_init(&h);
	mc_sha256_update(&h, b->data, b->len);
	mc_sha256_final(&h, out);
}

/* --- the state: milkcast.db ------------------------------------------------ */

static mc_code state_present(mc_artifact_store *st, bool *present, mc_error *err)
{
	mc_artifact_keys keys = {0};
	mc_code rc = mc_artifact_list(st, STATE_KEY, &keys, err);
	*present = false;
	for (size_t i = 0; !rc && i < keys.n; i++)
		*present = *present || !strcmp(keys.keys[i], STATE_KEY);
	mc_artifact_keys_release(&keys);
	return rc;
}

mc_code mc_lambda_sync_restore(mc_lambda_sync *s, bool *restored, mc_error *err)
{
	*restored = false;
	if (!s->state || mc_exists(s->db_path))
		return MC_OK;
	/* Listed first: a role may list the state prefix (S3 then answers 404 for a missing
	 * key) or not (403); either way "no copy yet" is the first run, not an error. */
	bool present;
	mc_code rc = state_present(s->state, &present, err);
	if (rc || !present)
		return rc;
	mc_buf b;
	mc_buf_init(&b, MAX_FILE);
	rc = mc_artifact_get(s->state, STATE_KEY, &b, err);
	if (!rc)
		rc = mc_mkdirs(s->home, err);
	/* checked in its temporary file, committed into place only when sound */
	mc_atomic_file af;
	bool open = !rc && !(rc = mc_atomic_open(&af, s->db_path, err));
	if (!rc)
		rc = mc_atomic_write(&af, b.data, b.len, err);
	if (!rc && (rc = mc_store_check_file(af.tmp_path, err)))
		mc_error_prefix(err, "the flow history %s/%s", mc_artifact_uri(s->state),
				STATE_KEY);
	if (!rc)
		rc = mc_atomic_commit(&af, err);
	else if (open)
		mc_atomic_abort(&af);
	if (!rc) {
		digest(&b, s->state_sha);
		s->state_known = *restored = true;
	}
	mc_buf_release(&b);
	return rc;
}

/* A consistent copy of the database, WAL included, into out. */
static mc_code snapshot_db(const mc_lambda_sync *s, mc_buf *out, mc_error *err)
{
	char name[64];
	snprintf(name, sizeof name, ".milkcast.db.snapshot.%ld", (long)getpid());
	char *tmp = mc_path_join(s->home, name);
	if (!tmp)
		return mc_fail(err, MC_ERR_NOMEM, "out of memory");
	unlink(tmp); /* VACUUM INTO wants a new file */
	mc_code rc = mc_store_snapshot(s->db_path, tmp, err);
	if (!rc)
		rc = mc_buf_read_file(out, tmp, err);
	unlink(tmp);
	free(tmp);
	return rc;
}

static mc_code push_state(mc_lambda_sync *s, bool *uploaded, mc_error *err)
{
	*uploaded = false;
	if (!s->state || !mc_exists(s->db_path))
		return MC_OK;
	mc_buf b;
	mc_buf_init(&b, MAX_FILE);
	mc_code rc = snapshot_db(s, &b, err);
	uint8_t sha[32];
	if (!rc)
		digest(&b, sha);
	if (!rc && !(s->state_known && !memcmp(sha, s->state_sha, sizeof sha))) {
		rc = mc_artifact_put(s->state, STATE_KEY, b.data, b.len, err);
		if (!rc) {
			memcpy(s->state_sha, sha, sizeof sha);
			s->state_known = *uploaded = true;
		}
	}
	mc_buf_release(&b);
	return rc;
}

/* --- the reports ---------------------------------------------------------- */

/* Not copied: hidden files and directories, and the temporaries of atomic writes
 * (any segment starting with '.' or holding ".tmp."); a key nested MAX_DEPTH
 * directories deep or more is an error. */
static mc_code skipped_key(const char *key, bool *skip, const char *dir, mc_error *err)
{
	int depth = 0;
	*skip = false;
	for (const char *seg = key; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
		size_t n = strcspn(seg, "/");
		*skip = *skip || seg[0] == '.' || memmem(seg, n, ".tmp.", 5) != NULL;
		depth += seg[n] == '/';
	}
	return depth >= MAX_DEPTH ? mc_fail(err, MC_ERR_LIMIT,
					    "'%s/%s': directories nested too deep", dir, key)
				  : MC_OK;
}

/* What identifies a version of a file without reading it. */
static int64_t file_signature(const struct stat *st)
{
	uint64_t h = (uint64_t)st->st_size * 0x9E3779B97F4A7C15u;
	h ^= (uint64_t)st->st_mtim.tv_sec * 0xBF58476D1CE4E5B9u;
	h ^= (uint64_t)st->st_mtim.tv_nsec * 0x94D049BB133111EBu;
	h ^= (uint64_t)st->st_ino;
	return (int64_t)h;
}

static int64_t content_hash(const mc_buf *b)
{
	uint8_t sha[32];
	digest(b, sha);
	int64_t v;
	memcpy(&v, sha, sizeof v);
	return v;
}

/* Copy one report if it changed: unchanged metadata means unchanged; else the
 * content decides (a flow run that rewrites the same report copies nothing). */
static mc_code push_report(mc_lambda_sync *s, const char *rel, bool *copied, mc_error *err)
{
	*copied = false;
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", s->reports_dir, rel);
	struct stat st;
	if (stat(path, &st) != 0)
		return MC_OK; /* gone since the walk */
	size_t n = strlen(rel);
	int64_t sig = file_signature(&st), was;
	if (mc_strmap_get(s->seen, rel, n, &was) && was == sig)
		return MC_OK;
	mc_code rc = mc_artifact_key_check(rel, err);
	mc_buf b;
	mc_buf_init(&b, MAX_FILE);
	if (!rc)
		rc = mc_buf_read_file(&b, path, err);
	int64_t hash = rc ? 0 : content_hash(&b);
	if (!rc && !(mc_strmap_get(s->copied, rel, n, &was) && was == hash)) {
		rc = mc_artifact_put(s->reports, rel, b.data, b.len, err);
		*copied = !rc;
	}
	if (!rc && (mc_strmap_put(s->copied, rel, n, hash) || mc_strmap_put(s->seen, rel, n, sig)))
		rc = mc_fail(err, MC_ERR_NOMEM, "out of memory");
	if (rc)
		mc_error_prefix(err, "report '%s'", path);
	mc_buf_release(&b);
	return rc;
}

static mc_code push_reports(mc_lambda_sync *s, mc_lambda_sync_stats *st, mc_error *err)
{
	if (!s->reports)
		return MC_OK;
	mc_artifact_keys files = {0};
	mc_code rc = mc_artifact_list(s->local_reports, "", &files, err); /* sorted */
	for (size_t i = 0; !rc && i < files.n; i++) {
		bool skip, copied = false;
		rc = skipped_key(files.keys[i], &skip, s->reports_dir, err);
		if (!rc && !skip)
			rc = push_report(s, files.keys[i], &copied, err);
		if (copied)
			st->reports_uploaded++;
		else if (!rc && !skip)
			st->reports_unchanged++;
	}
	mc_artifact_keys_release(&files);
	return rc;
}

mc_code mc_lambda_sync_push(mc_lambda_sync *s, mc_lambda_sync_stats *st, mc_error *err)
{
	memset(st, 0, sizeof *st);
	mc_code rc = push_reports(s, st, err);
	/* the state even when a report failed: it is what the next run needs */
	mc_error e2 = MC_ERROR_INIT;
	mc_code rc2 = push_state(s, &st->state_uploaded, rc ? &e2 : err);
	return rc ? rc : rc2;
}
