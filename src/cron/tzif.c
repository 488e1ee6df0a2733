/*
 * The TZif reader (RFC 8536, versions 1-4) and loading zones by name.
 *
 * Version 1 files are read from their 32-bit data; later versions from the
 * 64-bit data after it, whose footer (a POSIX TZ string between newlines)
 * rules every instant after the last transition.  Leap-second ("right/")
 * files are refused.  Every count and index is checked against the bytes
 * present before it is used.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cron/cron_int.h"
#include "milkcast/buf.h"

#define TZIF_HEADER 44
#define TZIF_FILE_MAX (1u << 20) /* real files are a few KiB */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

typedef struct tzif_counts {
	uint32_t isut, isstd, leap, time, type, chars;
} tzif_counts;

typedef struct reader {
	const uint8_t *p;
	size_t len;
	const char *name; /* zone */
	const char *path; /* file or NULL */
	mc_error *err;
} reader;

__attribute__((format(printf, 3, 4))) static mc_code bad(const reader *rd, mc_code code,
							 const char *fmt, ...)
{
	char what[MC_ERRMSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (rd->path)
		return mc_fail(rd->err, code, "time zone '%s' (%s): %s", rd->name, rd->path, what);
	return mc_fail(rd->err, code, "time zone '%s': %s", rd->name, what);
}
#ifdef __clang_analyzer__
/* For clang-tidy's analyzer, which does not look inside variadic functions. */
#define bad(rd, code, ...) (bad((rd), (code), __VA_ARGS__), (code))
#endif

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static mc_code need(const reader *rd, size_t off, uint64_t n, const char *what)
{
	if (off > rd->len || rd->len - off < n)
		return bad(rd, MC_ERR_FORMAT,
			   "truncated: the %s needs %llu bytes at offset %zu, the file has %zu",
			   what, (unsigned long long)n, off, rd->len);
	return MC_OK;
}

static mc_code read_header(const reader *rd, size_t off, int *version, tzif_counts *c)
{
	mc_code rc = need(rd, off, TZIF_HEADER, off ? "second header" : "header");
	if (rc)
		return rc;
	const uint8_t *h = rd->p + off;
	if (memcmp(h, "TZif", 4) != 0)
		return bad(rd, MC_ERR_FORMAT, "bad magic at offset %zu (not a TZif file)", off);
	if (h[4] != 0 && (h[4] < '2' || h[4] > '4'))
		return bad(rd, MC_ERR_UNSUPPORTED, "unsupported TZif version byte 0x%02x", h[4]);
	*version = h[4] ? h[4] - '0' : 1;
	c->isut = be32(h + 20);
	c->isstd = be32(h + 24);
	c->leap = be32(h + 28);
	c->time = be32(h + 32);
	c->type = be32(h + 36);
	c->chars = be32(h + 40);
	if (c->type == 0 || c->type > 256)
		return bad(rd, MC_ERR_FORMAT, "%u local time types (must be 1-256)", c->type);
	if (c->chars == 0)
		return bad(rd, MC_ERR_FORMAT, "no abbreviation bytes");
	if ((c->isut && c->isut != c->type) || (c->isstd && c->isstd != c->type))
		return bad(rd, MC_ERR_FORMAT, "indicator counts %u and %u are neither 0 nor %u",
			   c->isstd, c->isut, c->type);
	return MC_OK;
}

static uint64_t block_size(const tzif_counts *c, unsigned tsize)
{
	return (uint64_t)c->time * (tsize + 1) + (uint64_t)c->type * 6 + c->chars +
	       (uint64_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

static mc_code read_types(const reader *rd, const uint8_t *p, const tzif_counts *c, mc_tz *tz)
{
	const uint8_t *chars = p + 6 * (size_t)c->type;
	for (uint32_t i = 0; i < c->type; i++, p += 6) {
		int32_t utoff = (int32_t)be32(p);
		if (utoff < -TZ_OFFSET_MAX || utoff > TZ_OFFSET_MAX)
			return bad(rd, MC_ERR_FORMAT,
				   "type %u has UT offset %ld s, beyond 26 hours", i, (long)utoff);
		if (p[4] > 1)
			return bad(rd, MC_ERR_FORMAT, "type %u has isdst %u (must be 0 or 1)", i,
				   p[4]);
		if (p[5] >= c->chars)
			return bad(rd, MC_ERR_FORMAT,
				   "type %u: abbreviation index %u is beyond the %u abbreviation "
				   "bytes",
				   i, p[5], c->chars);
		if (!memchr(chars + p[5], '\0', c->chars - p[5]))
			return bad(rd, MC_ERR_FORMAT, "type %u: abbreviation is not NUL-terminated",
				   i);
		tz->types[i] = (tz_type){utoff, p[4] == 1, p[5]};
	}
	return MC_OK;
}

/* The data block at off with tsize-byte times into tz. */
static mc_code read_block(const reader *rd, size_t off, const tzif_counts *c, unsigned tsize,
			  mc_tz *tz)
{
	const uint8_t *p = rd->p + off;
	tz->ntrans = c->time;
	tz->ntypes = c->type;
	tz->nchars = c->chars;
	tz->trans = malloc((c->time ? c->time : 1) * sizeof *tz->trans);
	tz->trans_idx = malloc(c->time ? c->time : 1);
	tz->types = malloc(c->type * sizeof *tz->types);
	tz->chars = malloc(c->chars);
	if (!tz->trans || !tz->trans_idx || !tz->types || !tz->chars)
		return bad(rd, MC_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < c->time; i++, p += tsize) {
		tz->trans[i] = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
		if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
			return bad(rd, MC_ERR_FORMAT,
				   "transition %u (%lld) is not after the one before", i,
				   (long long)tz->trans[i]);
	}
	for (uint32_t i = 0; i < c->time; i++, p++) {
		if (*p >= c->type)
			return bad(rd, MC_ERR_FORMAT,
				   "transition %u uses type %u, beyond the %u types", i, *p,
				   c->type);
		tz->trans_idx[i] = *p;
	}
	mc_code rc = read_types(rd, p, c, tz);
	if (rc)
		return rc;
	memcpy(tz->chars, p + 6 * c->type, c->chars);
	if (c->leap)
		return bad(rd, MC_ERR_UNSUPPORTED,
			   "%u leap-second records (a \"right/\" zone); only POSIX-time zones are "
			   "supported",
			   c->leap);
	return MC_OK;
}

/* The footer at off: "\n" TZ-string "\n", then the end of the file. */
static mc_code read_footer(const reader *rd, size_t off, mc_tz *tz)
{
	if (off >= rd->len)
		return bad(rd, MC_ERR_FORMAT, "truncated: no footer after the 64-bit data");
	if (rd->p[off] != '\n')
		return bad(rd, MC_ERR_FORMAT, "bad footer: expected a newline at offset %zu", off);
	const uint8_t *s = rd->p + off + 1;
	const uint8_t *nl = memchr(s, '\n', rd->len - off - 1);
	if (!nl)
		return bad(rd, MC_ERR_FORMAT, "truncated: the footer has no closing newline");
	size_t n = (size_t)(nl - s);
	if ((size_t)(rd->p + rd->len - nl) != 1)
		return bad(rd, MC_ERR_FORMAT, "%zu unexpected bytes after the footer",
			   (size_t)(rd->p + rd->len - nl) - 1);
	if (n == 0)
		return MC_OK;
	char text[256];
	if (n >= sizeof text || memchr(s, '\0', n))
		return bad(rd, MC_ERR_FORMAT, "bad footer: not a TZ string of at most 255 bytes");
	memcpy(text, s, n);
	text[n] = '\0';
	const char *why;
	size_t at;
	if (!tz_rule_parse(text, &tz->rule, &why, &at))
		return bad(rd, MC_ERR_FORMAT, "bad footer '%s': %s at column %zu", text, why,
			   at + 1);
	tz->has_rule = true;
	return MC_OK;
}

static mc_code parse(const reader *rd, mc_tz *tz)
{
	tzif_counts c;
	int version;
	mc_code rc = read_header(rd, 0, &version, &c);
	if (rc)
		return rc;
	uint64_t v1 = block_size(&c, 4);
	rc = need(rd, TZIF_HEADER, v1, "version 1 data");
	if (rc)
		return rc;
	if (version == 1) {
		if (rd->len != TZIF_HEADER + v1)
			return bad(rd, MC_ERR_FORMAT,
				   "%zu unexpected bytes after the version 1 data",
				   rd->len - (size_t)(TZIF_HEADER + v1));
		return read_block(rd, TZIF_HEADER, &c, 4, tz);
	}
	size_t off = TZIF_HEADER + (size_t)v1;
	int version2;
	rc = read_header(rd, off, &version2, &c);
	if (rc)
		return rc;
	if (version2 != version)
		return bad(rd, MC_ERR_FORMAT, "the two headers say versions %d and %d", version,
			   version2);
	off += TZIF_HEADER;
	uint64_t v2 = block_size(&c, 8);
	rc = need(rd, off, v2, "64-bit data");
	if (!rc)
		rc = read_block(rd, off, &c, 8, tz);
	return rc ? rc : read_footer(rd, off + (size_t)v2, tz);
}

static mc_code parse_named(const void *data, size_t len, const char *name, const char *path,
			   mc_tz **out, mc_error *err)
{
	*out = NULL;
	reader rd = {data, len, name ? name : "?", path, err};
	mc_tz *tz = tz_new(name);
	if (!tz)
		return bad(&rd, MC_ERR_NOMEM, "out of memory");
	mc_code rc = parse(&rd, tz);
	if (rc) {
		mc_tz_free(tz);
		return rc;
	}
	*out = tz;
	return MC_OK;
}

mc_code mc_tz_parse(const void *data, size_t len, const char *name, mc_tz **out, mc_error *err)
{
	return parse_named(data, len, name, NULL, out, err);
}

static mc_code load_path(const char *name, const char *path, mc_tz **out, mc_error *err)
{
	*out = NULL;
	struct stat st;
	if (stat(path, &st) != 0)
		return mc_fail(err, errno == ENOENT ? MC_ERR_NOT_FOUND : MC_ERR_IO,
			       "time zone '%s': cannot open '%s': %s", name, path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return mc_fail(err, MC_ERR_NOT_FOUND,
			       "time zone '%s': '%s' is a directory of zones, not a zone", name,
			       path);
	mc_buf b;
	mc_buf_init(&b, TZIF_FILE_MAX);
	mc_code rc = mc_buf_read_file(&b, path, err);
	if (rc) {
		mc_buf_release(&b);
		return mc_error_prefix(err, "time zone '%s': ", name);
	}
	rc = parse_named(b.data, b.len, name, strcmp(name, path) ? path : NULL, out, err);
	mc_buf_release(&b);
	return rc;
}

mc_code mc_tz_load_file(const char *path, mc_tz **out, mc_error *err)
{
	return load_path(path, path, out, err);
}

/* IANA-style names only: relative, no "." or ".." components, a small alphabet. */
static const char *name_problem(const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return "the name is empty";
	if (n > 255)
		return "the name is longer than 255 bytes";
	if (name[0] == '/')
		return "absolute paths are not zone names";
	for (const char *p = name; *p; p++) {
		char ch = *p;
		bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			  (ch >= '0' && ch <= '9') || strchr("/_-+.", ch);
		if (!ok)
			return "only letters, digits and \"/_-+.\" may appear";
	}
	for (const char *p = name; *p;) {
		size_t len = strcspn(p, "/");
		if (len == 0)
			return "empty path component";
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return "'.' and '..' components are not allowed";
		p += len;
		if (*p == '/' && *++p == '\0')
			return "empty path component";
	}
	return NULL;
}

static mc_code builtin_utc(const char *name, mc_tz **out, mc_error *err)
{
	mc_tz *tz = tz_new(name);
	if (tz) {
		tz->types = calloc(1, sizeof *tz->types);
		tz->chars = strdup("UTC");
	}
	if (!tz || !tz->types || !tz->chars) {
		mc_tz_free(tz);
		return mc_fail(err, MC_ERR_NOMEM, "time zone '%s': out of memory", name);
	}
	tz->ntypes = 1;
	tz->nchars = 4;
	*out = tz;
	return MC_OK;
}

mc_code mc_tz_load(const char *name, mc_tz **out, mc_error *err)
{
	*out = NULL;
	const char *why = name_problem(name);
	if (why)
		return mc_fail(err, MC_ERR_INVALID, "time zone '%s': invalid name: %s", name, why);
	if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
		return builtin_utc(name, out, err);
	const char *dir = getenv("TZDIR");
	if (!dir || !*dir)
		dir = TZ_DEFAULT_DIR;
	size_t n = strlen(dir) + strlen(name) + 2;
	char *path = malloc(n);
	if (!path)
		return mc_fail(err, MC_ERR_NOMEM, "time zone '%s': out of memory", name);
	snprintf(path, n, "%s/%s", dir, name);
	mc_code rc = load_path(name, path, out, err);
	free(path);
	return rc;
}
