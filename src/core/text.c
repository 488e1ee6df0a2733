/* Small parsers of text values; see milkcast/text.h. */
#include "milkcast/text.h"

#include <stddef.h>
#include <strings.h>

bool mc_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (!strcasecmp(s, yes[i]))
			return (*out = true);
		if (!strcasecmp(s, no[i]))
			return !(*out = false);
	}
	return false;
}
