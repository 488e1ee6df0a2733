/* Error codes and the one-line detail message every library call reports through. */
#ifndef MILKCAST_ERROR_H
#define MILKCAST_ERROR_H

#include <stddef.h>

/* Stable numbers: they appear in logs and JSON output; never renumber. */
typedef enum mc_code {
	MC_OK = 0,
	MC_ERR_NOMEM = 1,	/* allocation failed */
	MC_ERR_IO = 2,		/* read, write, rename, fsync failed */
	MC_ERR_FORMAT = 3,	/* input is malformed, corrupt or truncated */
	MC_ERR_UNSUPPORTED = 4, /* valid input using a feature we do not implement */
	MC_ERR_INVALID = 5,	/* bad argument or value from the caller */
	MC_ERR_NOT_FOUND = 6,	/* file, key, series or URL does not exist */
	MC_ERR_NETWORK = 7,	/* transport failure, timeout, bad HTTP status */
	MC_ERR_DB = 8,		/* SQLite failure */
	MC_ERR_LIMIT = 9,	/* input exceeds a size cap */
	MC_ERR_EMPTY = 10,	/* there was nothing to process */
} mc_code;

#define MC_ERRMSG_MAX 512

/*
 * Carried by the caller and filled by the first failing call.  The message
 * names the subject: "cannot read 'x.xlsx': sheet1.xml row 57: expected a date".
 */
typedef struct mc_error {
	mc_code code;
	char msg[MC_ERRMSG_MAX];
} mc_error;

#define MC_ERROR_INIT     \
	{                 \
		MC_OK,    \
		{         \
			0 \
		}         \
	}

/* Set code and printf-style message; returns code so callers can `return mc_fail(...)`. */
mc_code mc_fail(mc_error *err, mc_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#ifdef __clang_analyzer__
/* clang-tidy's analyzer sees one file at a time and cannot know that mc_fail returns its
 * code: spell that out, or every `rc = p ? MC_OK : mc_fail(...)` is a null dereference. */
#define mc_fail(err, code, ...) (mc_fail((err), (code), __VA_ARGS__), (code))
#endif

/* Prefix an existing message with more context ("cannot ingest 'f': " + old). */
mc_code mc_error_prefix(mc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void mc_error_clear(mc_error *err);

/* A short stable name for a code, e.g. "format". */
const char *mc_strerror(mc_code code);

#endif
