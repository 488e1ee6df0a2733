/* What a JSON value is, in words for error messages ("an object", "a number"…). */
#ifndef MILKCAST_JSON_KIND_H
#define MILKCAST_JSON_KIND_H

#include <jansson.h>

/* "an object", "an array", "a string", "a number", "a boolean" or "null". */
const char *mc_json_kind(const json_t *v);

#endif
