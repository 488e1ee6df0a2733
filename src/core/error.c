/* Error reporting: fill an mc_error with a code and a formatted message. */
#include "milkcast/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

mc_code(mc_fail)(mc_error *err, mc_code code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

mc_code mc_error_prefix(mc_error *err, const char *fmt, ...)
{
	if (!err)
		return MC_OK;
	char old[MC_ERRMSG_MAX];
	memcpy(old, err->msg, sizeof old);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, "%s", old);
	return err->code;
}

void mc_error_clear(mc_error *err)
{
	if (err) {
		err->code = MC_OK;
		err->msg[0] = '\0';
	}
}

const char *mc_strerror(mc_code code)
{
	switch (code) {
	case MC_OK: return "ok";
	case MC_ERR_NOMEM: return "out of memory";
	case MC_ERR_IO: return "io";
	case MC_ERR_FORMAT: return "format";
	case MC_ERR_UNSUPPORTED: return "unsupported";
	case MC_ERR_INVALID: return "invalid";
	case MC_ERR_NOT_FOUND: return "not found";
	case MC_ERR_NETWORK: return "network";
	case MC_ERR_DB: return "database";
	case MC_ERR_LIMIT: return "limit";
	case MC_ERR_EMPTY: return "empty";
	}
	return "unknown";
}
