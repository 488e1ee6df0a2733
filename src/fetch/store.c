/* Saving a checked workbook under raw/: new, identical, replaced, or kept on a conflict. */
#include "milkcast/fetch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "milkcast/fsutil.h"

enum { COMPARE_CHUNK = 16 * 1024 };

/* Compare a file of known size with p[0..n) chunk by chunk. */
static mc_code same_bytes(const char *path, off_t size, const uint8_t *p, size_t n, bool *same,
			  mc_error *err)
{
	*same = false;
	if (size < 0 || (uint64_t)size != (uint64_t)n)
		return MC_OK;
	FILE *f = fopen(path, "rb");
	if (!f)
		return mc_fail(err, MC_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	uint8_t chunk[COMPARE_CHUNK];
	size_t off = 0;
	bool differ = false;
	while (off < n && !differ) {
		size_t want = n - off < COMPARE_CHUNK ? n - off : COMPARE_CHUNK;
		size_t got = fread(chunk, 1, want, f);
		differ = got != want || memcmp(chunk, p + off, got) != 0;
		off += got;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad)
		return mc_fail(err, MC_ERR_IO, "cannot read '%s'", path);
	*same = !differ;
	return MC_OK;
}

static mc_code save(const char *raw_dir, const char *path, const uint8_t *p, size_t n,
		    mc_error *err)
{
	mc_code rc = mc_mkdirs(raw_dir, err);
	return rc ? rc : mc_write_file_atomic(path, p, n, err);
}

mc_code mc_fetch_store(const char *raw_dir, const char *path, const uint8_t *p, size_t n,
		       bool force, mc_fetch_result *res, mc_error *err)
{
	res->bytes = n;
	res->saved_bytes = 0;
	res->status = MC_FETCH_FAILED;
	struct stat st;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT)
			return mc_fail(err, MC_ERR_IO, "cannot stat '%s': %s", path,
				       strerror(errno));
		mc_code rc = save(raw_dir, path, p, n, err);
		if (!rc)
			res->status = MC_FETCH_FETCHED;
		return rc;
	}
	if (!S_ISREG(st.st_mode))
		return mc_fail(err, MC_ERR_IO, "'%s' exists and is not a regular file", path);
	res->saved_bytes = (size_t)st.st_size;
	bool same;
	mc_code rc = same_bytes(path, st.st_size, p, n, &same, err);
	if (rc)
		return rc;
	if (same) {
		res->status = MC_FETCH_UNCHANGED;
		return MC_OK;
	}
	if (!force) {
		res->status = MC_FETCH_CONFLICT;
		return MC_OK;
	}
	rc = save(raw_dir, path, p, n, err);
	if (!rc)
		res->status = MC_FETCH_REPLACED;
	return rc;
}
