/* Opening and closing a workbook, its accessors, and value helpers (refs, serials, numbers). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "milkcast/fsutil.h"
#include "xlsx/xlsx_int.h"

/* Leading bytes of an OLE2 compound file: legacy .xls and encrypted .xlsx. */
static const unsigned char ole_magic[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};

static mc_xlsx *xlsx_alloc(const char *name, mc_error *err)
{
	mc_xlsx *x = calloc(1, sizeof *x);
	if (x)
		x->name = strdup(name);
	if (x)
		x->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (!x || !x->name || !x->c_locale) {
		mc_fail(err, MC_ERR_NOMEM, "cannot read '%s': out of memory", name);
		mc_xlsx_free(x);
		return NULL;
	}
	x->max_part = MC_XLSX_MAX_PART_DEFAULT;
	xl_set_chunk(x, 0);
	mc_buf_init(&x->sst, 0);
	return x;
}

void mc_xlsx_free(mc_xlsx *x)
{
	if (!x)
		return;
	if (x->zip)
		zip_discard(x->zip);
	xl_sheets_free(x);
	mc_buf_release(&x->sst);
	free(x->sst_off);
	if (x->c_locale)
		freelocale(x->c_locale);
	free(x->name);
	free(x);
}

/* Refuse what is plainly not a zip before libzip sees it. */
static mc_code check_magic(mc_xlsx *x, const unsigned char *p, size_t n, mc_error *err)
{
	if (n == 0)
		return xl_fail(x, err, MC_ERR_FORMAT, "empty file, not an xlsx workbook");
	if (n >= sizeof ole_magic && memcmp(p, ole_magic, sizeof ole_magic) == 0)
		return xl_fail(x, err, MC_ERR_UNSUPPORTED,
			       "an OLE2 compound file (legacy .xls or password-protected "
			       "workbook), not an xlsx workbook");
	return MC_OK;
}

/* Open the archive over src (which this call owns), then read the workbook structure. */
static mc_code open_source(mc_xlsx *x, zip_source_t *src, mc_error *err)
{
	zip_error_t ze;
	zip_error_init(&ze);
	x->zip = zip_open_from_source(src, ZIP_RDONLY, &ze);
	if (!x->zip) {
		int code = zip_error_code_zip(&ze);
		mc_code rc;
		if (code == ZIP_ER_NOZIP)
			rc = xl_fail(x, err, MC_ERR_FORMAT,
				     "not a zip file (truncated, or not an xlsx workbook)");
		else if (code == ZIP_ER_MEMORY)
			rc = xl_fail(x, err, MC_ERR_NOMEM, "out of memory opening the zip");
		else if (code == ZIP_ER_READ || code == ZIP_ER_SEEK || code == ZIP_ER_OPEN)
			rc = xl_fail(x, err, MC_ERR_IO, "%s", zip_error_strerror(&ze));
		else if (code == ZIP_ER_MULTIDISK)
			rc = xl_fail(x, err, MC_ERR_UNSUPPORTED, "multi-disk zip archive");
		else
			rc = xl_fail(x, err, MC_ERR_FORMAT, "corrupt zip: %s",
				     zip_error_strerror(&ze));
		zip_error_fini(&ze);
		zip_source_free(src);
		return rc;
	}
	zip_error_fini(&ze);
	return xl_load_workbook(x, err);
}

/* stat and sniff a path; errors name it as NOT_FOUND, IO or FORMAT. */
static mc_code check_path(mc_xlsx *x, const char *path, mc_error *err)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return xl_fail(x, err,
			       errno == ENOENT || errno == ENOTDIR ? MC_ERR_NOT_FOUND : MC_ERR_IO,
			       "%s", strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return xl_fail(x, err, MC_ERR_IO, "is a directory");
	unsigned char head[8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return xl_fail(x, err, MC_ERR_IO, "%s", strerror(errno));
	ssize_t n = read(fd, head, sizeof head);
	int saved = errno;
	close(fd);
	if (n < 0)
		return xl_fail(x, err, MC_ERR_IO, "%s", strerror(saved));
	return check_magic(x, head, (size_t)n, err);
}

/* mc_xlsx_open(), every part read by libxml2 when slow. */
static mc_xlsx *open_path(const char *path, bool slow, mc_error *err)
{
	mc_xlsx *x = xlsx_alloc(mc_basename(path), err);
	if (!x)
		return NULL;
	x->slow = slow;
	if (check_path(x, path, err)) {
		mc_xlsx_free(x);
		return NULL;
	}
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_file_create(path, 0, -1, &ze);
	if (!src) {
		xl_fail(x, err, MC_ERR_IO, "%s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		mc_xlsx_free(x);
		return NULL;
	}
	zip_error_fini(&ze);
	if (open_source(x, src, err)) {
		mc_xlsx_free(x);
		return NULL;
	}
	return x;
}

mc_xlsx *mc_xlsx_open(const char *path, mc_error *err)
{
	return open_path(path, false, err);
}

mc_xlsx *xl_open_slow(const char *path, mc_error *err)
{
	return open_path(path, true, err);
}

mc_xlsx *mc_xlsx_open_mem(const void *data, size_t len, const char *name, mc_error *err)
{
	mc_xlsx *x = xlsx_alloc(name ? name : "(memory)", err);
	if (!x)
		return NULL;
	if (check_magic(x, data, len, err)) {
		mc_xlsx_free(x);
		return NULL;
	}
	zip_error_t ze;
	zip_error_init(&ze);
	zip_source_t *src = zip_source_buffer_create(data, len, 0, &ze);
	zip_error_fini(&ze);
	if (!src) {
		xl_fail(x, err, MC_ERR_NOMEM, "out of memory opening the zip");
		mc_xlsx_free(x);
		return NULL;
	}
	if (open_source(x, src, err)) {
		mc_xlsx_free(x);
		return NULL;
	}
	return x;
}

void mc_xlsx_set_max_part(mc_xlsx *x, size_t bytes)
{
	x->max_part = bytes ? bytes : MC_XLSX_MAX_PART_DEFAULT;
}

const char *mc_xlsx_name(const mc_xlsx *x)
{
	return x->name;
}

size_t mc_xlsx_sheet_count(const mc_xlsx *x)
{
	return x->nsheets;
}

const char *mc_xlsx_sheet_name(const mc_xlsx *x, size_t index)
{
	return index < x->nsheets ? x->sheets[index].name : NULL;
}

int mc_xlsx_sheet_find(const mc_xlsx *x, const char *name)
{
	for (size_t i = 0; i < x->nsheets; i++)
		if (strcmp(x->sheets[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool mc_xlsx_date1904(const mc_xlsx *x)
{
	return x->date1904;
}

void mc_xlsx_cell_ref(uint32_t row, uint32_t col, char out[12])
{
	char tmp[12];
	int n = 0;
	/* Column letters, least significant first: bijective base 26. */
	for (uint32_t c = col % MC_XLSX_MAX_COLS + 1; c; c = (c - 1) / 26)
		tmp[n++] = (char)('A' + (c - 1) % 26);
	int o = 0;
	while (n)
		out[o++] = tmp[--n];
	uint32_t r = row % 10000000u;
	do
		tmp[n++] = (char)('0' + r % 10);
	while ((r /= 10) != 0);
	while (n)
		out[o++] = tmp[--n];
	out[o] = '\0';
}

bool xl_parse_ref_n(const char *s, size_t n, uint32_t *row, uint32_t *col)
{
	uint32_t c = 0, r = 0;
	size_t i = 0;
	for (; i < n && i < 3 && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'));
	     i++)
		c = c * 26 + (uint32_t)((s[i] | 0x20) - 'a' + 1);
	/* Then 1 to 7 digits, the first not a zero. */
	if (i == 0 || c > MC_XLSX_MAX_COLS || i == n || s[i] < '1' || s[i] > '9' || n - i > 7)
		return false;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		r = r * 10 + (uint32_t)(s[i] - '0');
	}
	if (r > MC_XLSX_MAX_ROWS)
		return false;
	*row = r;
	*col = c - 1;
	return true;
}

bool mc_xlsx_parse_ref(const char *s, uint32_t *row, uint32_t *col)
{
	return xl_parse_ref_n(s, strlen(s), row, col);
}

bool mc_xlsx_serial_to_days(double serial, bool date1904, int32_t *days)
{
	if (!isfinite(serial))
		return false;
	double whole = floor(serial);
	/* 1904: serial 0 = 1904-01-01, 24107 days before 1970; 9999-12-31 is 2957003. */
	if (date1904) {
		if (whole < 0 || whole > 2957003)
			return false;
		*days = (int32_t)whole - 24107;
		return true;
	}
	/* 1900: serial 1 = 1900-01-01; 60 is the phantom 1900-02-29; 2958465 = 9999-12-31. */
	if (whole < 1 || whole == 60 || whole > 2958465)
		return false;
	*days = (int32_t)whole - (whole < 60 ? 25568 : 25569);
	return true;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode "_xHHHH_" at s[i] (needs 7 bytes); -1 when it is not an escape. */
static long escape_at(const char *s, size_t i, size_t n)
{
	if (i + 7 > n || s[i] != '_' || s[i + 1] != 'x' || s[i + 6] != '_')
		return -1;
	long v = 0;
	for (size_t k = i + 2; k < i + 6; k++) {
		int h = hex_digit(s[k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v >= 0xD800 && v <= 0xDFFF ? -1 : v;
}

/* Write code point v (< 0x10000) as UTF-8 at out; returns the bytes written. */
static size_t put_utf8(char *out, long v)
{
	if (v < 0x80) {
		out[0] = (char)v;
		return 1;
	}
	if (v < 0x800) {
		out[0] = (char)(0xC0 | (v >> 6));
		out[1] = (char)(0x80 | (v & 0x3F));
		return 2;
	}
	out[0] = (char)(0xE0 | (v >> 12));
	out[1] = (char)(0x80 | ((v >> 6) & 0x3F));
	out[2] = (char)(0x80 | (v & 0x3F));
	return 3;
}

size_t xl_unescape(char *s, size_t n)
{
	if (!memchr(s, '_', n))
		return n;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		long v = s[i] == '_' ? escape_at(s, i, n) : -1;
		if (v < 0) {
			s[o++] = s[i++];
			continue;
		}
		o += put_utf8(s + o, v);
		i += 7;
	}
	s[o] = '\0';
	return o;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Powers of ten a double holds exactly. */
static const double exact_pow10[23] = {1e0,  1e1,  1e2,	 1e3,  1e4,  1e5,  1e6,	 1e7,
				       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Decimal digits at *p, appended to *m; returns how many (*m wraps past 19, callers check). */
static size_t take_digits(const char **p, uint64_t *m)
{
	const char *q = *p;
	uint64_t v = *m;
	for (; (unsigned)(*q - '0') < 10; q++)
		v = v * 10 + (uint64_t)(*q - '0');
	*m = v;
	size_t n = (size_t)(q - *p);
	*p = q;
	return n;
}

/*
 * Clinger's fast path: a decimal of at most 19 digits whose integer value m is <= 2^53 and
 * whose scale e is within +-22 is m * 10^e or m / 10^-e, one correctly rounded operation on
 * two exact doubles, hence exactly what strtod returns.  False (use strtod) for anything
 * else, including malformed text; *end is where the number stopped.
 */
static bool fast_decimal(const char *s, const char **end, double *out)
{
	const char *p = s;
	bool neg = *p == '-';
	p += *p == '-' || *p == '+';
	uint64_t m = 0;
	size_t whole = take_digits(&p, &m), frac = 0;
	if (*p == '.') {
		p++;
		frac = take_digits(&p, &m);
	}
	int scale = -(int)frac;
	if (whole + frac == 0 || whole + frac > 19)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		bool eneg = *p == '-';
		p += *p == '-' || *p == '+';
		if ((unsigned)(*p - '0') >= 10)
			return false;
		int e = 0;
		for (; (unsigned)(*p - '0') < 10; p++)
			e = e < 10000 ? e * 10 + (*p - '0') : e;
		scale += eneg ? -e : e;
	}
	*end = p;
	if (m > (uint64_t)1 << 53 || (m && (scale < -22 || scale > 22)))
		return false;
	double v = (double)m;
	if (m && scale < 0)
		v /= exact_pow10[-scale];
	else if (m)
		v *= exact_pow10[scale];
	*out = neg ? -v : v;
	return true;
}

bool xl_parse_number(const mc_xlsx *x, const char *s, double *out)
{
	while (is_space(*s))
		s++;
	/* The usual case in one pass: a plain decimal, then nothing but whitespace. */
	const char *fend;
	double v;
	if (fast_decimal(s, &fend, &v)) {
		while (is_space(*fend))
			fend++;
		if (*fend == '\0') {
			*out = v;
			return true;
		}
	}
	/* Only decimal notation: no hex, inf or nan, which strtod would take. */
	const char *p = s;
	bool digit = false;
	for (; (*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
	       *p == '-';
	     p++)
		digit |= *p >= '0' && *p <= '9';
	for (const char *q = p; *q; q++)
		if (!is_space(*q))
			return false;
	char *end;
	v = strtod_l(s, &end, x->c_locale);
	if (!digit || end != p || !isfinite(v))
		return false;
	*out = v;
	return true;
}
