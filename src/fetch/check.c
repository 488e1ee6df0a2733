/* Pure helpers for fetching: names, URLs, backoff, and checks that a body is a whole xlsx. */
#include "milkcast/fetch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "milkcast/date.h"
#include "milkcast/httpc.h"

enum {
	EOCD_SIZE = 22,		  /* end-of-central-directory record without its comment */
	EOCD_MAX_COMMENT = 65535, /* the comment length is a 16-bit field */
	MEDIA_TYPE_MAX = 128,
};

void mc_fetch_file_name(int32_t date, char out[24])
{
	int y, m, d;
	mc_date_to_ymd(date, &y, &m, &d);
	snprintf(out, 24, "Leche%02d%02d%04d.xlsx", d, m, y);
}

char *mc_fetch_url(const char *base, int32_t date)
{
	char name[24];
	mc_fetch_file_name(date, name);
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	size_t cap = n + 1 + strlen(name) + 1;
	char *url = malloc(cap);
	if (url)
		snprintf(url, cap, "%.*s/%s", (int)n, base, name);
	return url;
}

long mc_fetch_backoff_ms(const mc_fetch_opts *o, int retry, uint32_t rnd)
{
	return mc_httpc_backoff_ms(o->backoff_ms, o->backoff_max_ms, retry, rnd);
}

/* The media type of a Content-Type value, lowercased, without parameters or blanks. */
static void media_type(const char *ct, char out[MEDIA_TYPE_MAX])
{
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = 0;
	for (; ct[n] && ct[n] != ';' && n + 1 < MEDIA_TYPE_MAX; n++)
		out[n] = (char)tolower((unsigned char)ct[n]);
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
}

static bool is_xlsx_media_type(const char *mt)
{
	static const char *const ok[] = {
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/octet-stream",
		"application/zip",
		"application/x-zip-compressed",
		"application/vnd.ms-excel",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(mt, ok[i]) == 0)
			return true;
	return false;
}

mc_code mc_fetch_check_content_type(const char *content_type, mc_error *err)
{
	if (!content_type)
		return MC_OK;
	char mt[MEDIA_TYPE_MAX];
	media_type(content_type, mt);
	if (!mt[0] || is_xlsx_media_type(mt))
		return MC_OK;
	if (strcmp(mt, "text/html") == 0 || strcmp(mt, "application/xhtml+xml") == 0)
		return mc_fail(err, MC_ERR_FORMAT,
			       "not an xlsx: the server sent an HTML page (Content-Type %s)", mt);
	return mc_fail(err, MC_ERR_FORMAT, "not an xlsx: unexpected Content-Type '%s'", mt);
}

/* After an optional UTF-8 BOM and white space, the body opens with '<'. */
static bool looks_like_html(const uint8_t *p, size_t n)
{
	size_t i = 0;
	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
		i = 3;
	while (i < n && isspace(p[i]))
		i++;
	return i < n && p[i] == '<';
}

static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | le16(p + 2) << 16;
}

/* Offset of the end-of-central-directory record whose comment ends the data, or -1. */
static long find_eocd(const uint8_t *p, size_t n)
{
	if (n < EOCD_SIZE)
		return -1;
	size_t last = n - EOCD_SIZE;
	size_t first = last > EOCD_MAX_COMMENT ? last - EOCD_MAX_COMMENT : 0;
	for (size_t i = last + 1; i-- > first;) {
		if (memcmp(p + i, "PK\x05\x06", 4) == 0 && i + EOCD_SIZE + le16(p + i + 20) == n)
			return (long)i;
	}
	return -1;
}

/* The record's central directory (offset 16, size 12) lies before it, unless Zip64 says more. */
static bool central_directory_fits(const uint8_t *p, size_t eocd)
{
	uint32_t size = le32(p + eocd + 12), offset = le32(p + eocd + 16);
	if (size == 0xFFFFFFFFu || offset == 0xFFFFFFFFu)
		return true;
	return (uint64_t)offset + size <= eocd;
}

/* Open the zip with libzip's consistency checks and look for the workbook part. */
static mc_code check_workbook_part(const uint8_t *p, size_t n, mc_error *err)
{
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(p, n, 0, &ze);
	zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
	if (!za) {
		mc_fail(err, MC_ERR_FORMAT, "not an xlsx: corrupt zip (%s)",
			zip_error_strerror(&ze));
		zip_source_free(src);
		zip_error_fini(&ze);
		return MC_ERR_FORMAT;
	}
	zip_error_fini(&ze);
	bool found = zip_name_locate(za, "xl/workbook.xml", 0) >= 0;
	zip_discard(za);
	if (!found)
		return mc_fail(err, MC_ERR_FORMAT,
			       "not an xlsx: a zip without xl/workbook.xml (not a workbook)");
	return MC_OK;
}

mc_code mc_fetch_check_xlsx(const uint8_t *p, size_t n, mc_error *err)
{
	if (n == 0)
		return mc_fail(err, MC_ERR_FORMAT, "not an xlsx: the body is empty");
	if (n < 4 || memcmp(p, "PK\x03\x04", 4) != 0) {
		if (looks_like_html(p, n))
			return mc_fail(err, MC_ERR_FORMAT, "not an xlsx: the body is an HTML page");
		return mc_fail(err, MC_ERR_FORMAT, "not an xlsx: no zip signature at the start");
	}
	long eocd = find_eocd(p, n);
	if (eocd < 0)
		return mc_fail(
			err, MC_ERR_FORMAT,
			"truncated xlsx: no zip end-of-central-directory record in %zu bytes", n);
	if (!central_directory_fits(p, (size_t)eocd))
		return mc_fail(err, MC_ERR_FORMAT,
			       "truncated xlsx: the zip central directory lies outside %zu bytes",
			       n);
	return check_workbook_part(p, n, err);
}
