/*
 * A growable byte buffer with a size cap, for anything read from a file or
 * the network.
 *
 * Invariants: `data` is NULL or points to `cap` bytes; `len <= cap`; when
 * data is non-NULL, data[len] == '\0' (one byte is always reserved), so text
 * can be used as a C string.  `max` (0 = unlimited) bounds `len`: an append
 * past it fails with MC_ERR_LIMIT and leaves the buffer unchanged.
 * mc_buf_detach() hands the bytes to the caller, who frees them with free().
 */
#ifndef MILKCAST_BUF_H
#define MILKCAST_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "milkcast/error.h"

typedef struct mc_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
} mc_buf;

#define MC_BUF_INIT           \
	{                     \
		NULL, 0, 0, 0 \
	}

void mc_buf_init(mc_buf *b, size_t max);
void mc_buf_release(mc_buf *b);
/* Make room for `extra` more bytes. */
mc_code mc_buf_reserve(mc_buf *b, size_t extra);
mc_code mc_buf_append(mc_buf *b, const void *p, size_t n);
mc_code mc_buf_putc(mc_buf *b, uint8_t c);
mc_code mc_buf_printf(mc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mc_buf_reset(mc_buf *b);
/* Take ownership of the bytes (NUL-terminated); the buffer is left empty. */
uint8_t *mc_buf_detach(mc_buf *b, size_t *len);

/*
 * Append printf-style text to a fixed buffer of `size` bytes holding *len
 * bytes, always NUL-terminated; text that does not fit is cut, and *len then
 * reaches `size` so later appends do nothing.
 */
void mc_appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Read a whole file into b (respecting b->max). Errors name the path. */
mc_code mc_buf_read_file(mc_buf *b, const char *path, mc_error *err);

#endif
