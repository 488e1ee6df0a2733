/* Growable byte buffer with a cap; see buf.h for the invariants. */
#include "milkcast/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mc_buf_init(mc_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void mc_buf_release(mc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

mc_code mc_buf_reserve(mc_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		return MC_ERR_LIMIT;
	size_t need = b->len + extra + 1;
	if (b->max && b->len + extra > b->max)
		return MC_ERR_LIMIT;
	if (need <= b->cap)
		return MC_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = realloc(b->data, cap);
	if (!p)
		return MC_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
	return MC_OK;
}

mc_code mc_buf_append(mc_buf *b, const void *p, size_t n)
{
	mc_code rc = mc_buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return MC_OK;
}

mc_code mc_buf_putc(mc_buf *b, uint8_t c)
{
	return mc_buf_append(b, &c, 1);
}

mc_code mc_buf_printf(mc_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MC_ERR_INVALID;
	mc_code rc = mc_buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return MC_OK;
}

void mc_buf_reset(mc_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

uint8_t *mc_buf_detach(mc_buf *b, size_t *len)
{
	if (!b->data && mc_buf_reserve(b, 0))
		return NULL;
	uint8_t *p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

mc_code mc_buf_read_file(mc_buf *b, const char *path, mc_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return mc_fail(err, errno == ENOENT ? MC_ERR_NOT_FOUND : MC_ERR_IO,
			       "cannot open '%s': %s", path, strerror(errno));
	uint8_t chunk[65536];
	size_t n;
	mc_code rc = MC_OK;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		rc = mc_buf_append(b, chunk, n);
		if (rc) {
			mc_fail(err, rc, "cannot read '%s': %s", path,
				rc == MC_ERR_LIMIT ? "file exceeds the size limit"
						   : "out of memory");
			break;
		}
	}
	if (!rc && ferror(f))
		rc = mc_fail(err, MC_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
	fclose(f);
	return rc;
}

void mc_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	if (*len >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	*len = n < 0 || (size_t)n >= size - *len ? size : *len + (size_t)n;
}
