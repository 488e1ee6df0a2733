/* Small parsers of text values shared by config files and parameters. */
#ifndef MILKCAST_TEXT_H
#define MILKCAST_TEXT_H

#include <stdbool.h>

/* true/yes/on/1 or false/no/off/0, any case; false (out untouched) otherwise. */
bool mc_parse_bool(const char *s, bool *out);

#endif
